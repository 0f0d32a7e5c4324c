//! Registration (issue 8): the LINE dialog followed through the bot's own quick replies, the web sign-up with
//! e-mail double opt-in over a real SMTP server, the preferences page, deletion, topics, quiet hours and
//! 配信停止 in notices, and the staff counts.

use std::time::{Duration, Instant};

use channels::line::webhook::sign;
use channels::testing::LineMock;
use serde_json::{Value, json};

use crate::notices::{SmtpServer, start_smtp};
use crate::support::{ADMIN_TOKEN, BACKENDS, Backend, TestApp, spawn_app_with};

const SECRET: &str = "test-line-channel-secret";

async fn line_app(backend: Backend, mock: &LineMock, extra: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![
        ("HUB_LINE_API_BASE", mock.base_url()),
        ("HUB_LINE_CHANNEL_SECRET", SECRET.to_owned()),
        ("HUB_LINE_CHANNEL_TOKEN", mock.token()),
    ];
    for (key, value) in extra {
        settings.push((key, value.to_string()));
    }
    let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_app_with(backend, &refs).await
}

/// One LINE user talking to the hub, with the replies the bot sent them.
struct LineUser<'a> {
    app: &'a TestApp,
    mock: &'a LineMock,
    id: String,
    events: usize,
}

impl<'a> LineUser<'a> {
    fn new(app: &'a TestApp, mock: &'a LineMock, id: &str) -> Self {
        LineUser {
            app,
            mock,
            id: id.to_owned(),
            events: 0,
        }
    }

    fn event(&mut self, extra: Value) -> (Value, String) {
        self.events += 1;
        let tail = &self.id[self.id.len() - 8..];
        let token = format!("reply-{tail}-{}", self.events);
        let mut event = json!({
            "mode": "active",
            "timestamp": 1_764_000_000_000_i64,
            "source": {"type": "user", "userId": self.id},
            "webhookEventId": format!("01HREG{tail}{:012}", self.events),
            "deliveryContext": {"isRedelivery": false},
            "replyToken": token,
        });
        if let (Some(event), Some(extra)) = (event.as_object_mut(), extra.as_object()) {
            for (key, value) in extra {
                event.insert(key.clone(), value.clone());
            }
        }
        (event, token)
    }

    /// Sends one event and returns the messages of the bot's reply (empty when it did not reply).
    async fn send(&mut self, extra: Value) -> Vec<Value> {
        let (event, token) = self.event(extra);
        let body = serde_json::to_vec(
            &json!({"destination": "U00000000000000000000000000000000", "events": [event]}),
        )
        .expect("json");
        let status = self
            .app
            .client
            .post(self.app.url("/line/webhook"))
            .header("content-type", "application/json")
            .header("x-line-signature", sign(SECRET, &body))
            .body(body)
            .send()
            .await
            .expect("webhook")
            .status();
        assert_eq!(status, 200);
        // The webhook acknowledges first and answers from a queue: once the event is handled, its reply (if
        // any) has been sent.
        crate::chat::settled(self.app).await;
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            if let Some(reply) = self
                .mock
                .accepted()
                .into_iter()
                .find(|r| r.reply_token.as_deref() == Some(token.as_str()))
            {
                return reply.messages.as_array().cloned().unwrap_or_default();
            }
            if Instant::now() > deadline {
                return Vec::new();
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    async fn follow(&mut self) -> Vec<Value> {
        self.send(json!({"type": "follow", "follow": {"isUnblocked": false}}))
            .await
    }

    async fn say(&mut self, text: &str) -> Vec<Value> {
        self.send(json!({"type": "message",
            "message": {"type": "text", "id": "468789577898262530", "quoteToken": "q", "text": text}}))
            .await
    }

    async fn postback(&mut self, data: &str) -> Vec<Value> {
        self.send(json!({"type": "postback", "postback": {"data": data}}))
            .await
    }

    /// Taps the quick reply labelled `label` on the last message of `reply`.
    async fn tap(&mut self, reply: &[Value], label: &str) -> Vec<Value> {
        let data = quick_reply(reply, label)["action"]["data"]
            .as_str()
            .unwrap_or_else(|| panic!("{label:?} is not a postback in {reply:?}"))
            .to_owned();
        self.postback(&data).await
    }
}

fn quick_reply<'v>(reply: &'v [Value], label: &str) -> &'v Value {
    reply
        .last()
        .and_then(|message| message["quickReply"]["items"].as_array())
        .and_then(|items| items.iter().find(|i| i["action"]["label"] == label))
        .unwrap_or_else(|| panic!("no quick reply {label:?} in {reply:?}"))
}

fn labels(reply: &[Value]) -> Vec<String> {
    reply
        .last()
        .and_then(|message| message["quickReply"]["items"].as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["action"]["label"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn text_of(reply: &[Value]) -> String {
    reply
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn preview(app: &TestApp, rule: &str) -> u64 {
    let (status, body) = app
        .post_json(
            "/api/segments/preview",
            Some(ADMIN_TOKEN),
            &json!({"rule": rule}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["count"].as_u64().expect("a count")
}

/// A count straight from the hub's database.
async fn count(app: &TestApp, sql: &str) -> i64 {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .expect("database");
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut connection)
        .await
        .expect("count")
        .try_get::<i64, _>(0)
        .expect("a number")
}

/// A statement straight on the hub's database (to move a sign-up back in time).
async fn execute(app: &TestApp, sql: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .expect("database");
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut connection)
        .await
        .expect("statement");
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/')
        .map_or("/".into(), |at| rest[at..].to_owned())
}

#[tokio::test]
async fn line_dialog_from_follow_to_a_registration_found_by_a_segment() {
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        let app = line_app(backend, &mock, &[]).await;
        let mut user = LineUser::new(&app, &mock, "U1234567890abcdef1234567890abcdef");

        // Follow: the greeting, then the language question.
        let reply = user.follow().await;
        assert_eq!(reply.len(), 2, "{reply:?}");
        assert!(text_of(&reply).contains("友だち追加ありがとうございます"));
        assert_eq!(
            labels(&reply),
            [
                "日本語",
                "English",
                "中文",
                "한국어",
                "Tiếng Việt",
                "やさしい日本語"
            ]
        );
        // Pending: not in a segment before consent.
        assert_eq!(preview(&app, "").await, 0, "{backend:?}");

        let reply = user.tap(&reply, "English").await;
        assert!(text_of(&reply).contains("Do you agree"), "{reply:?}");
        let reply = user.tap(&reply, "Agree").await;
        assert!(text_of(&reply).contains("Which district"), "{reply:?}");
        assert_eq!(labels(&reply).len(), 11, "every default district fits");

        // A forged tap (another district under the same MAC) is ignored: no reply, nothing changed.
        let real = quick_reply(&reply, "泉")["action"]["data"]
            .as_str()
            .expect("data")
            .to_owned();
        let forged = real.replacen(":泉:", ":蓑島:", 1);
        assert!(user.postback(&forged).await.is_empty());
        assert!(
            user.postback("rg:1:n:d:泉:AAAAAAAAAAAAAAAA")
                .await
                .is_empty()
        );

        let reply = user.tap(&reply, "今元").await;
        assert!(text_of(&reply).contains("age group"), "{reply:?}");
        let reply = user.tap(&reply, "60s").await;
        assert!(text_of(&reply).contains("topics"), "{reply:?}");
        let reply = user.tap(&reply, "防災").await;
        assert!(labels(&reply).contains(&"✓防災".to_owned()), "{reply:?}");
        let reply = user.tap(&reply, "介護").await;
        let reply = user.tap(&reply, "子育て").await;
        let reply = user.tap(&reply, "✓子育て").await;
        assert!(
            !labels(&reply).contains(&"✓子育て".to_owned()),
            "toggled off"
        );
        let reply = user.tap(&reply, "Done").await;
        let summary = text_of(&reply);
        assert!(summary.contains("You are registered"), "{summary}");
        assert!(
            summary.contains("District: 今元") && summary.contains("Age: 60s"),
            "{summary}"
        );
        assert!(summary.contains("防災、介護"), "{summary}");

        // The resident is found by a segment: age from the band's stored birth date, language, interests.
        let rule = r#"age >= 65 and age < 70 and district in ["今元"] and interests has "防災" and language = "en" and channels has "line""#;
        assert_eq!(preview(&app, rule).await, 1, "{backend:?}");
        assert_eq!(preview(&app, r#"interests has "子育て""#).await, 0);
        assert_eq!(
            preview(&app, r#"district = "泉""#).await,
            0,
            "forged tap ignored"
        );
        let (status, resident) = app
            .get(
                &format!("/api/residents/line:{}", user.id),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(status, 200, "{resident}");
        assert_eq!(resident["language"], "en");
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM residents WHERE consent_version = '2026-11-v1' AND consent_at_ms > 0"
            )
            .await,
            1
        );

        // 「設定」 shows the settings; changing the district from there takes effect at once.
        let reply = user.say("設定").await;
        assert!(text_of(&reply).contains("Your settings"), "{reply:?}");
        let link = quick_reply(&reply, "More settings")["action"].clone();
        assert_eq!(link["type"], "uri");
        assert!(
            link["uri"]
                .as_str()
                .unwrap_or_default()
                .contains("/preferences/")
        );
        let reply = user.tap(&reply, "District").await;
        let reply = user.tap(&reply, "仲津").await;
        assert!(text_of(&reply).contains("District: 仲津"), "{reply:?}");
        assert_eq!(preview(&app, r#"district = "仲津""#).await, 1);

        // 配信停止 / 配信再開.
        let reply = user.say("配信停止").await;
        assert!(text_of(&reply).contains("paused"), "{reply:?}");
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM residents WHERE notices_paused = 1"
            )
            .await,
            1
        );
        user.say("配信再開").await;
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM residents WHERE notices_paused = 1"
            )
            .await,
            0
        );

        // Staff counts: no personal data, the right roles.
        let viewer = app.token("viewer").await;
        let (status, stats) = app.get("/api/registrations/stats", Some(&viewer)).await;
        assert_eq!(status, 200, "{stats}");
        assert_eq!(stats["total"], 1);
        assert_eq!(stats["by_district"]["仲津"], 1);
        assert_eq!(stats["by_age_band"]["60s"], 1);
        assert_eq!(stats["by_interest"]["防災"], 1);
        assert_eq!(stats["by_language"]["en"], 1);
        assert_eq!(stats["by_channel"]["line"], 1);
        assert_eq!(stats["by_source"]["line"], 1);
        assert_eq!(stats["growth"][0]["total"], 1);
        assert!(!stats.to_string().contains(&user.id), "no LINE ids");
        let disaster = app.token("disaster").await;
        let (status, _) = app.get("/api/registrations/stats", Some(&disaster)).await;
        assert_eq!(status, 403);

        // Unfollow marks the LINE address inactive.
        user.send(json!({"type": "unfollow"})).await;
        assert_eq!(preview(&app, r#"channels has "line""#).await, 0);
        mock.assert_no_violations();
        app.hub.stop().await;
    }
}

// ---------- the web ----------

fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        serializer.append_pair(key, value);
    }
    serializer.finish()
}

async fn post_form(app: &TestApp, path: &str, body: String) -> (u16, String) {
    let response = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("form posted");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn get_page(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.client.get(app.url(path)).send().await.expect("page");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// Every stored mail's recipient, subject and decoded text (Python's e-mail parser undoes the encodings).
fn mails(smtp: &SmtpServer) -> Vec<(String, String, String)> {
    let python = std::env::var("HUB_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import email, email.policy, json, os, sys
out = []
for sub in ("new", "cur"):
    folder = os.path.join(sys.argv[1], sub)
    if not os.path.isdir(folder):
        continue
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            message = email.message_from_binary_file(f, policy=email.policy.default)
        texts = [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
        out.append([str(message["To"]), str(message["Subject"]), "\n".join(texts)])
print(json.dumps(out))
"#;
    let output = std::process::Command::new(python)
        .args(["-c", script])
        .arg(&smtp.maildir)
        .output()
        .expect("python reads the mails");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("json of mails")
}

async fn wait_for_mails(smtp: &SmtpServer, to: &str, n: usize) -> Vec<(String, String, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<_> = mails(smtp)
            .into_iter()
            .filter(|(recipient, _, _)| recipient.contains(to))
            .collect();
        if found.len() >= n || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The first link in `text` that contains `marker`, as a path.
fn link(text: &str, marker: &str) -> String {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} link in {text}"));
    let start = text[..at].rfind("http").expect("a URL");
    let end = text[start..]
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .map_or(text.len(), |e| start + e);
    path_of(&text[start..end])
}

async fn create_notice(app: &TestApp, body: &Value) -> i64 {
    let (status, created) = app.post_json("/api/notices", Some(ADMIN_TOKEN), body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().expect("id")
}

/// The notice once it has fired and `done` holds for it (or after 10 s).
async fn wait_notice(app: &TestApp, id: i64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, notice) = app
            .get(&format!("/api/notices/{id}"), Some(ADMIN_TOKEN))
            .await;
        if notice["status"] == "fired" && done(&notice) || Instant::now() > deadline {
            return notice;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends a notice now and waits until nothing of it is pending.
async fn notice_now(app: &TestApp, body: Value) -> Value {
    let id = create_notice(app, &body).await;
    wait_notice(app, id, |n| n["totals"]["pending"] == 0).await
}

const ANNE: &str = "anne@example.jp";

#[tokio::test]
async fn web_sign_up_counts_only_after_the_confirmation_link_and_preferences_work_at_once() {
    for backend in BACKENDS {
        let smtp = start_smtp();
        let smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);
        let app = spawn_app_with(
            backend,
            &[
                ("HUB_SMTP_URL", &smtp_url),
                ("HUB_MAIL_FROM", "Yukuhashi City <info@city.example>"),
                // A stand-in push service name (reserved `.example`, never resolved here: nothing is pushed).
                ("HUB_PUSH_ALLOWED_HOSTS", "push.example.net"),
            ],
        )
        .await;

        // The page and its files: Japanese first, six languages, no inline script or style.
        let (status, page) = get_page(&app, "/register").await;
        assert_eq!(status, 200);
        assert!(page.contains("<html lang=\"ja\"") && page.contains("行橋市からのお知らせ"));
        assert!(page.contains("?lang=vi") && page.contains("やさしい日本語"));
        assert!(!page.contains("style=") && !page.contains("<style") && !page.contains("<script>"));
        let (_, api) = app.get("/openapi.json", None).await;
        for path in [
            "/register",
            "/register/confirm/{token}",
            "/preferences/{token}",
            "/api/registrations/stats",
        ] {
            assert!(api["paths"][path].is_object(), "{path} documented");
        }
        let (_, english) = get_page(&app, "/register?lang=en").await;
        assert!(english.contains("Get notices from Yukuhashi City"));
        for (path, kind) in [
            ("/register.js", "text/javascript"),
            ("/sw.js", "text/javascript"),
            ("/register.css", "text/css"),
        ] {
            let response = app.client.get(app.url(path)).send().await.expect("asset");
            assert_eq!(response.status(), 200, "{path}");
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap_or_default()
                .to_owned();
            assert!(content_type.starts_with(kind), "{path}: {content_type}");
        }

        // A district not in the list: refused, the choices shown again, nothing stored.
        let signup = |district: &'static str| {
            form(&[
                ("lang", "ja"),
                ("email", ANNE),
                ("district", district),
                ("age_band", "30s"),
                ("interests", "子育て"),
                ("interests", "ごみ"),
                ("language", "ja"),
                ("consent", "yes"),
            ])
        };
        let (status, refused) = post_form(&app, "/register", signup("東京")).await;
        assert_eq!(status, 400, "{refused}");
        assert!(refused.contains("data-field=\"district\""), "{refused}");
        for district in ["行橋", "今元", "蓑島"] {
            assert!(refused.contains(&format!("<option value=\"{district}\">")));
        }
        assert!(
            refused.contains(&format!("value=\"{ANNE}\"")),
            "kept what was typed"
        );
        let (status, _) = post_form(
            &app,
            "/register",
            form(&[("email", ANNE), ("district", "今元")]),
        )
        .await;
        assert_eq!(status, 400, "no consent");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM residents").await, 0);

        // Signed up twice: one resident, one mail, and nobody counts before the link is opened.
        for _ in 0..2 {
            let (status, done) = post_form(&app, "/register", signup("今元")).await;
            assert_eq!(status, 200, "{done}");
            assert!(done.contains("確認メール"), "{done}");
        }
        assert_eq!(count(&app, "SELECT COUNT(*) FROM residents").await, 1);
        assert_eq!(preview(&app, r#"district = "今元""#).await, 0);
        let before = notice_now(
            &app,
            json!({"title": "前", "body": {"ja": "確認前のお知らせ"}, "segment": "", "channels": ["email"],
                   "ignore_quiet_hours": true}),
        )
        .await;
        assert_eq!(before["totals"]["targeted"], 0, "{before}");
        let (_, stats) = app.get("/api/registrations/stats", Some(ADMIN_TOKEN)).await;
        assert_eq!(
            (stats["total"].clone(), stats["pending"].clone()),
            (json!(0), json!(1))
        );

        let confirmations = wait_for_mails(&smtp, ANNE, 1).await;
        assert_eq!(confirmations.len(), 1, "one mail for two submissions");
        let confirm = link(&confirmations[0].2, "/register/confirm/");
        // A forged link: 404, nothing changed.
        let forged = format!("{}0", &confirm[..confirm.len() - 1]);
        let forged = if forged == confirm {
            format!("{confirm}x")
        } else {
            forged
        };
        assert_eq!(get_page(&app, &forged).await.0, 404);
        assert_eq!(preview(&app, "").await, 0);
        let (status, confirmed) = get_page(&app, &confirm).await;
        assert_eq!(status, 200, "{confirmed}");
        assert_eq!(
            preview(&app, r#"district = "今元" and interests has "子育て" and age >= 30 and age < 40 and channels has "email""#).await,
            1,
            "{backend:?}"
        );
        assert_eq!(
            get_page(&app, &confirm).await.0,
            200,
            "opening it again is fine"
        );

        // Now notices reach the address, with links to the preferences and to unsubscribe.
        let after = notice_now(
            &app,
            json!({"title": "後", "body": {"ja": "確認後のお知らせ"}, "segment": "", "channels": ["email"],
                   "ignore_quiet_hours": true}),
        )
        .await;
        assert_eq!(after["totals"]["sent"], 1, "{after}");
        let mails = wait_for_mails(&smtp, ANNE, 2).await;
        let notice_mail = mails
            .iter()
            .find(|(_, _, text)| text.contains("確認後のお知らせ"))
            .expect("the notice mail");
        let preferences = link(&notice_mail.2, "/preferences/");
        assert!(notice_mail.2.contains("/unsubscribe/"));

        // The preferences page shows the settings; a change is effective at once.
        let (status, page) = get_page(&app, &preferences).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("<option value=\"今元\" selected>"), "{page}");
        let change = form(&[
            ("district", "泉"),
            ("age_band", "30s"),
            ("interests", "防災"),
            ("language", "en"),
            ("topics", "防災"),
            ("quiet_from", "22:00"),
            ("quiet_until", "07:00"),
        ]);
        let (status, saved) = post_form(&app, &preferences, change.clone()).await;
        assert_eq!(status, 200, "{saved}");
        assert_eq!(
            preview(&app, r#"district = "泉" and language = "en""#).await,
            1
        );
        assert_eq!(preview(&app, r#"district = "今元""#).await, 0);
        // An unknown district there too: refused, nothing changed.
        let (status, _) = post_form(
            &app,
            &preferences,
            change.replace("%E6%B3%89", "%E6%9D%B1%E4%BA%AC"),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(preview(&app, r#"district = "泉""#).await, 1);
        // A forged preferences link: 404, nothing changed, nothing deleted.
        let forged = preferences.replacen("/preferences/", "/preferences/9", 1);
        assert_eq!(post_form(&app, &forged, change.clone()).await.0, 404);
        assert_eq!(
            post_form(&app, &format!("{forged}/delete"), String::new())
                .await
                .0,
            404
        );
        assert_eq!(preview(&app, "").await, 1);

        // A confirmation link older than 7 days: 410, nothing counted.
        let late = "late@example.jp";
        let (status, _) = post_form(
            &app,
            "/register",
            form(&[("email", late), ("district", "行事"), ("consent", "yes")]),
        )
        .await;
        assert_eq!(status, 200);
        let late_mail = wait_for_mails(&smtp, late, 1).await;
        assert_eq!(late_mail.len(), 1);
        execute(
            &app,
            "UPDATE email_signups SET created_at_ms = created_at_ms - 8 * 86400000 WHERE email = 'late@example.jp'",
        )
        .await;
        let expired = link(&late_mail[0].2, "/register/confirm/");
        assert_eq!(get_page(&app, &expired).await.0, 410);
        assert_eq!(preview(&app, r#"district = "行事""#).await, 0);

        // Delete my data: gone at once.
        let (status, deleted) =
            post_form(&app, &format!("{preferences}/delete"), String::new()).await;
        assert_eq!(status, 200, "{deleted}");
        assert_eq!(preview(&app, "").await, 0);
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM residents WHERE pending = 0").await,
            0
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM email_signups WHERE email = 'anne@example.jp'"
            )
            .await,
            0
        );
        assert_eq!(
            get_page(&app, &preferences).await.0,
            404,
            "the link died with the data"
        );

        // Web Push from this browser: registered at once; the same subscription again is the same resident.
        let push = json!({"endpoint": "https://push.example.net/send/abc123",
                          "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                                   "auth": "tBHItJI5svbpez7KI4CCXg"}})
        .to_string();
        for _ in 0..2 {
            let (status, done) = post_form(
                &app,
                "/register",
                form(&[
                    ("push", &push),
                    ("district", "蓑島"),
                    ("birth_year", "1950"),
                    ("language", "vi"),
                    ("consent", "yes"),
                ]),
            )
            .await;
            assert_eq!(status, 200, "{done}");
        }
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM residents WHERE external_id LIKE 'push:%'"
            )
            .await,
            1
        );
        assert_eq!(
            preview(
                &app,
                r#"district = "蓑島" and channels has "push" and age >= 70 and language = "vi""#
            )
            .await,
            1
        );
        // Push and e-mail together: one resident, the e-mail counting once confirmed.
        let both = json!({"endpoint": "https://push.example.net/send/both",
                          "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                                   "auth": "tBHItJI5svbpez7KI4CCXg"}})
        .to_string();
        let (status, _) = post_form(
            &app,
            "/register",
            form(&[
                ("push", &both),
                ("email", "both@example.jp"),
                ("district", "稗田"),
                ("consent", "yes"),
            ]),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            preview(&app, r#"district = "稗田" and channels has "push""#).await,
            1
        );
        assert_eq!(
            preview(&app, r#"district = "稗田" and channels has "email""#).await,
            0
        );
        let mail = wait_for_mails(&smtp, "both@example.jp", 1).await;
        assert_eq!(
            get_page(&app, &link(&mail[0].2, "/register/confirm/"))
                .await
                .0,
            200
        );
        assert_eq!(
            preview(
                &app,
                r#"district = "稗田" and channels has "email" and channels has "push""#
            )
            .await,
            1
        );
        app.hub.stop().await;
        drop(smtp);
    }
}

// ---------- topics, quiet hours and 配信停止 in notices ----------

/// Quiet hours that hold a notice sent now: from an hour ago until two hours from now (JST).
fn quiet_around_now() -> (String, String) {
    use chrono::Timelike;
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Tokyo);
    let from = (now - chrono::Duration::hours(1)).time();
    let until = (now + chrono::Duration::hours(2)).time();
    (
        format!("{:02}:{:02}", from.hour(), from.minute()),
        format!("{:02}:{:02}", until.hour(), until.minute()),
    )
}

#[tokio::test]
async fn notices_honour_topics_quiet_hours_and_pauses_per_resident() {
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        let app = line_app(backend, &mock, &[]).await;
        let users = [
            ("U00000000000000000000000000000a01", "held"),
            ("U00000000000000000000000000000a02", "muted"),
            ("U00000000000000000000000000000a03", "paused"),
            ("U00000000000000000000000000000a04", "open"),
        ];
        let (quiet_from, quiet_until) = quiet_around_now();
        for (line, role) in users {
            let (status, body) = app
                .post_json(
                    "/api/residents",
                    Some(ADMIN_TOKEN),
                    &json!({"external_id": format!("R-{role}"), "district": "今元", "channels": {"line": line}}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            // Each resident sets their own preferences through the link 「設定」 gives them on LINE.
            let mut user = LineUser::new(&app, &mock, line);
            let reply = user.say("設定").await;
            let url = quick_reply(&reply, "詳しい設定")["action"]["uri"]
                .as_str()
                .expect("a link")
                .to_owned();
            let topics: &[&str] = if role == "muted" {
                &["ごみ"]
            } else {
                &["防災", "ごみ"]
            };
            let mut fields = vec![("district", "今元"), ("language", "ja")];
            fields.extend(topics.iter().map(|t| ("topics", *t)));
            match role {
                "held" => {
                    fields.push(("quiet_from", &quiet_from));
                    fields.push(("quiet_until", &quiet_until));
                }
                "paused" => {
                    fields.push(("quiet_none", "yes"));
                    fields.push(("paused", "yes"));
                }
                _ => fields.push(("quiet_none", "yes")),
            }
            let (status, page) = post_form(&app, &path_of(&url), form(&fields)).await;
            assert_eq!(status, 200, "{role}: {page}");
        }

        let (status, refused) = app
            .post_json(
                "/api/notices",
                Some(ADMIN_TOKEN),
                &json!({"title": "x", "body": {"ja": "x"}, "channels": ["line"], "topic": "天気"}),
            )
            .await;
        assert_eq!((status, refused["field"].clone()), (400, json!("topic")));

        let id = create_notice(
            &app,
            &json!({"title": "訓練", "body": {"ja": "土曜日に防災訓練があります"}, "segment": "",
                    "channels": ["line"], "topic": "防災"}),
        )
        .await;
        let notice = wait_notice(&app, id, |n| n["totals"]["sent"] == 1).await;
        assert_eq!(notice["topic"], "防災");
        // The muted and the paused resident are not targeted; the one in quiet hours waits; one is sent.
        assert_eq!(notice["totals"]["targeted"], 2, "{backend:?} {notice}");
        assert_eq!(notice["totals"]["sent"], 1, "{notice}");
        assert_eq!(notice["totals"]["pending"], 1, "{notice}");
        let held_due = count(
            &app,
            "SELECT MAX(due_at_ms) FROM deliveries WHERE source_kind = 'notice' AND status = 'pending'",
        )
        .await;
        let wait = held_due - chrono::Utc::now().timestamp_millis();
        assert!(
            wait > 100 * 60_000 && wait < 125 * 60_000,
            "held until the end of the quiet hours, about two hours: {wait} ms"
        );
        let multicasts: Vec<_> = mock
            .accepted()
            .into_iter()
            .filter(|r| r.path == "/v2/bot/message/multicast" || r.path == "/v2/bot/message/push")
            .collect();
        let reached: Vec<String> = multicasts.iter().flat_map(|r| r.to.clone()).collect();
        assert_eq!(
            reached,
            vec![users[3].0.to_owned()],
            "only the open resident now"
        );

        // A notice that ignores quiet hours reaches the held resident now; the paused one still gets nothing.
        let notice = notice_now(
            &app,
            json!({"title": "今すぐ", "body": {"ja": "今すぐのお知らせ"}, "segment": "",
                   "channels": ["line"], "ignore_quiet_hours": true}),
        )
        .await;
        assert_eq!(notice["totals"]["targeted"], 3, "{notice}");
        assert_eq!(notice["totals"]["sent"], 3, "{notice}");
        mock.assert_no_violations();
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn a_long_district_list_is_paged_on_line() {
    let mock = LineMock::start().await.expect("LINE mock");
    let districts: Vec<String> = (1..=20).map(|i| format!("地区{i:02}")).collect();
    let app = line_app(
        Backend::Sqlite,
        &mock,
        &[("HUB_DISTRICTS", &districts.join(","))],
    )
    .await;
    let mut user = LineUser::new(&app, &mock, "U0000000000000000000000000000b001");
    let reply = user.follow().await;
    let reply = user.tap(&reply, "日本語").await;
    let reply = user.tap(&reply, "同意して登録").await;
    let first = labels(&reply);
    assert_eq!(first.len(), 13, "LINE's maximum: {first:?}");
    assert_eq!(first[..12], districts[..12]);
    assert_eq!(first[12], "次へ");
    let reply = user.tap(&reply, "次へ").await;
    let second = labels(&reply);
    assert_eq!(second[..8], districts[12..]);
    assert_eq!(
        second.last().map(String::as_str),
        Some("次へ"),
        "back to the first page"
    );
    let reply = user.tap(&reply, "地区15").await;
    assert!(text_of(&reply).contains("年代"), "{reply:?}");
    assert_eq!(preview(&app, r#"district = "地区15""#).await, 1);
    mock.assert_no_violations();
    app.hub.stop().await;
}
