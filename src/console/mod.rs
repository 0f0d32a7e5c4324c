//! The staff console under `/admin`: server-rendered Japanese pages for PR and disaster staff, with one CSS and one
//! JS file served by the hub (no inline script or style, so the pages work under a strict CSP).
//!
//! Staff log in with an account ([`crate::auth::accounts`]); the session cookie also authenticates the JSON API
//! (see [`crate::auth::session`]) so the pages' scripts call the same `/api/` endpoints machines use, and every
//! change is audited there. This module is pages and their form handlers only: accounts, sessions, CSRF and the
//! login throttle are `auth`'s.

mod access;
mod admin;
mod charts;
mod emergency;
mod faq_edit;
mod frame;
mod jma;
mod pages;
mod queries;
mod surveys;
mod wording;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;

use crate::AppState;
use crate::audit;
use crate::auth::accounts::{self, LoginOutcome};
use crate::auth::session::{self, Session, csrf_error};
use crate::error::ApiError;
use crate::surface::ClientAddr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/login", get(login_page).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/static/console.css", get(stylesheet))
        .route("/admin/static/console.js", get(script))
        .merge(access::routes())
        .merge(pages::routes())
        .merge(emergency::routes())
        .merge(surveys::routes())
        .merge(jma::routes())
        .merge(admin::routes())
        .layer(axum::middleware::from_fn(admin::no_store))
        .route("/favicon.ico", get(admin::favicon))
}

/// Whether cookies must carry `Secure` (the hub is reached over https).
fn secure_cookies(state: &AppState) -> bool {
    state.config.public_url.starts_with("https://")
}

/// The console user of a page request; without a live session the visitor is sent to the login page.
pub struct ConsoleUser(pub Session);

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || Redirect::to("/admin/login").into_response();
        let Some(cookie) = session::session_cookie(&parts.headers) else {
            return Err(to_login());
        };
        match session::find_session(&state.db, cookie).await {
            Ok(Some(session)) => Ok(ConsoleUser(session)),
            Ok(None) => Err(to_login()),
            Err(error) => Err(ApiError::from(error).into_response()),
        }
    }
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("console.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("console.js"),
    )
        .into_response()
}

/// The pre-login CSRF cookie: the login form echoes it (double submit), so another site cannot log a browser
/// into an account of its choosing.
const LOGIN_COOKIE: &str = "hub_login";

fn login_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LOGIN_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

fn login_response(
    state: &AppState,
    status: StatusCode,
    error: Option<&str>,
    username: &str,
) -> Response {
    let token = crate::auth::new_token();
    let cookie = format!(
        "{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/admin/login; Max-Age=3600{}",
        if secure_cookies(state) {
            "; Secure"
        } else {
            ""
        }
    );
    let mut response = (status, frame::login_html(&token, error, username)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn login_page(State(state): State<AppState>) -> Response {
    login_response(&state, StatusCode::OK, None, "")
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/login`: 303 to the dashboard with a session cookie, or the form again with the reason.
async fn login(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = login_cookie(&headers);
    let csrf_ok = expected.as_deref().is_some_and(|expected| {
        use subtle::ConstantTimeEq;
        !form.csrf.is_empty() && bool::from(expected.as_bytes().ct_eq(form.csrf.as_bytes()))
    });
    if !csrf_ok {
        return login_response(
            &state,
            StatusCode::FORBIDDEN,
            Some("フォームの有効期限が切れました。もう一度ログインしてください。"),
            &form.username,
        );
    }
    // What a visitor typed goes into the audit log and the page: bounded, whatever it is.
    let username: String = form.username.trim().chars().take(64).collect();
    let client = client
        .map(|Extension(ClientAddr(ip))| ip.to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    let outcome = match accounts::login(
        &state.db,
        &state.login_gate,
        &client,
        &username,
        &form.password,
    )
    .await
    {
        Ok(outcome) => outcome,
        Err(error) => return ApiError::internal(error).into_response(),
    };
    // Failures reach the audit log as summaries per client and window (login_guard), not one row each.
    match outcome {
        LoginOutcome::Ok { session, staff } => {
            if let Err(error) = audit::record(
                &state.db,
                &staff,
                "login",
                &username,
                serde_json::json!({ "client": client }),
            )
            .await
            {
                return ApiError::from(error).into_response();
            }
            let mut response = Redirect::to("/admin").into_response();
            if let Ok(value) = HeaderValue::from_str(&session::session_set_cookie(
                &session,
                secure_cookies(&state),
            )) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        LoginOutcome::Wrong => login_response(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("ユーザー名またはパスワードが違います。"),
            &username,
        ),
        LoginOutcome::Throttled { until_ms } => {
            let wait_ms = (until_ms - crate::db::now_ms()).max(1_000);
            let mut response = login_response(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                Some("ログインの試行が多すぎます。しばらくしてからもう一度お試しください。"),
                &username,
            );
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from((wait_ms as u64).div_ceil(1000)),
            );
            response
        }
        LoginOutcome::Busy => {
            let mut response = login_response(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("ただいまログインが混み合っています。少し待ってからもう一度お試しください。"),
                &username,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            response
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/logout`: ends the session (CSRF-checked, so another site cannot log staff out).
async fn logout(
    State(state): State<AppState>,
    ConsoleUser(session): ConsoleUser,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.csrf_matches(Some(&form.csrf)) {
        return csrf_error().into_response();
    }
    if let Err(error) = session.end(&state.db).await {
        return ApiError::from(error).into_response();
    }
    if let Err(error) = audit::record(
        &state.db,
        &session.staff,
        "logout",
        &session.staff.name,
        serde_json::Value::Null,
    )
    .await
    {
        return ApiError::from(error).into_response();
    }
    let mut response = Redirect::to("/admin/login").into_response();
    if let Ok(value) = HeaderValue::from_str(&session::session_clear_cookie(secure_cookies(&state)))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
