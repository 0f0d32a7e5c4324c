//! The staff console as a browser uses it over HTTP: staff accounts, login with the form's CSRF token, the
//! session cookie, and requests made with them.

use serde_json::{Value, json};

use super::{ADMIN_TOKEN, TestApp, form};

/// The password of every staff account the tests make.
pub const PASSWORD: &str = "kouhou-password-2026";

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The value of cookie `name` among a response's Set-Cookie headers, with the whole header line.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|line| line.starts_with(&format!("{name}=")))
        .map(|line| {
            let value = line[name.len() + 1..]
                .split(';')
                .next()
                .unwrap_or_default()
                .to_owned();
            (value, line.to_owned())
        })
}

pub fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the hidden field") + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A logged-in browser, as far as HTTP goes: its cookie and the page's CSRF token.
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
    pub set_cookie_line: String,
}

/// What a login attempt answered: status, body, and the session when it worked.
pub async fn try_login(
    app: &TestApp,
    username: &str,
    password: &str,
) -> (u16, String, Option<Browser>) {
    let (status, _, body, browser) = try_login_from(app, None, username, password).await;
    (status, body, browser)
}

/// A login attempt from client address `ip` (sent in `x-forwarded-for`, for a hub started with
/// `HUB_CLIENT_IP_HEADER`): status, `Retry-After`, body, and the session when it worked.
pub async fn try_login_from(
    app: &TestApp,
    ip: Option<&str>,
    username: &str,
    password: &str,
) -> (u16, Option<u64>, String, Option<Browser>) {
    let client = no_redirects();
    let page = client
        .get(app.url("/admin/login"))
        .send()
        .await
        .expect("login page");
    let (login_cookie, _) = set_cookie(&page, "hub_login").expect("the login form's cookie");
    let html = page.text().await.expect("body");
    let token = hidden_value(&html, "csrf");
    let mut request = client
        .post(app.url("/admin/login"))
        .header("cookie", format!("hub_login={login_cookie}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("username", username),
            ("password", password),
            ("csrf", &token),
        ]));
    if let Some(ip) = ip {
        request = request.header("x-forwarded-for", ip);
    }
    let response = request.send().await.expect("login");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let session = set_cookie(&response, "hub_session");
    let body = response.text().await.unwrap_or_default();
    let Some((value, line)) = session.filter(|_| status == 303) else {
        return (status, retry_after, body, None);
    };
    let cookie = format!("hub_session={value}");
    let dashboard = client
        .get(app.url("/admin"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("dashboard");
    let html = dashboard.text().await.expect("body");
    let csrf = hidden_value(&html, "csrf");
    (
        status,
        retry_after,
        body,
        Some(Browser {
            cookie,
            csrf,
            set_cookie_line: line,
        }),
    )
}

pub async fn login(app: &TestApp, username: &str) -> Browser {
    let (status, body, browser) = try_login(app, username, PASSWORD).await;
    assert_eq!(status, 303, "{body}");
    browser.expect("a session")
}

pub async fn add_staff(app: &TestApp, username: &str, role: &str) {
    let (status, body) = app
        .post_json(
            "/api/staff",
            Some(ADMIN_TOKEN),
            &json!({"username": username, "role": role, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

impl Browser {
    /// A GET with the session, the whole response (headers too).
    pub async fn send(&self, app: &TestApp, path: &str) -> reqwest::Response {
        no_redirects()
            .get(app.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, app: &TestApp, path: &str) -> (u16, String) {
        let response = no_redirects()
            .get(app.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// A JSON API call as the console's script makes it (cookie, and the CSRF header when `csrf`).
    pub async fn api(&self, app: &TestApp, path: &str, body: &Value, csrf: bool) -> (u16, Value) {
        let mut request = no_redirects()
            .post(app.url(path))
            .header("cookie", &self.cookie)
            .json(body);
        if csrf {
            request = request.header("x-csrf-token", &self.csrf);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post_form(
        &self,
        app: &TestApp,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> (u16, String, Option<String>) {
        let response = no_redirects()
            .post(app.url(path))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(pairs))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, response.text().await.unwrap_or_default(), location)
    }
}

pub async fn audit_actions(app: &TestApp) -> Vec<(String, String)> {
    let (status, body) = app.get("/api/audit?limit=1000", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or_default().to_owned(),
                e["action"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}
