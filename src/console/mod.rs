//! The staff console under `/admin`: server-rendered Japanese pages for PR and disaster staff, with one CSS and one
//! JS file served by the hub (no inline script or style, so the pages work under a strict CSP).
//!
//! Staff log in with an account ([`accounts`]); the session cookie also authenticates the JSON API (see
//! [`staff_from_session`]) so the pages' scripts call the same `/api/` endpoints machines use, and every change
//! is audited there.

mod access;
pub mod accounts;
mod faq_edit;
pub mod login_guard;
mod pages;
mod surveys;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::audit;
use crate::auth::{Role, Staff};
use crate::error::{ApiError, ApiJson};
use crate::surface::ClientAddr;
use accounts::{AccountError, LoginOutcome, NewPassword, Session, Username};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/login", get(login_page).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/static/console.css", get(stylesheet))
        .route("/admin/static/console.js", get(script))
        .route("/api/staff", post(create_staff))
        .route("/api/staff/{username}/unlock", post(unlock_staff))
        .merge(access::routes())
        .merge(pages::routes())
        .merge(surveys::routes())
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
        let Some(cookie) = accounts::session_cookie(&parts.headers) else {
            return Err(to_login());
        };
        match accounts::find_session(&state.db, cookie).await {
            Ok(Some(session)) => Ok(ConsoleUser(session)),
            Ok(None) => Err(to_login()),
            Err(error) => Err(ApiError::from(error).into_response()),
        }
    }
}

/// The API's fallback when a request has no bearer token: a console session cookie. A request that changes
/// something must also carry the session's CSRF token in `X-CSRF-Token` (a cross-site form cannot set it).
pub async fn staff_from_session(parts: &Parts, state: &AppState) -> Result<Staff, ApiError> {
    let cookie = accounts::session_cookie(&parts.headers).ok_or_else(ApiError::unauthorized)?;
    let session = accounts::find_session(&state.db, cookie)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let token = parts
            .headers
            .get(accounts::CSRF_HEADER)
            .and_then(|value| value.to_str().ok());
        if !session.csrf_matches(token) {
            return Err(csrf_error());
        }
    }
    Ok(session.staff)
}

fn csrf_error() -> ApiError {
    ApiError {
        status: StatusCode::FORBIDDEN,
        message: "the CSRF token is missing or wrong: reload the page and try again".into(),
        field: Some(accounts::CSRF_HEADER.into()),
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
    let mut response = (status, pages::login_html(&token, error, username)).into_response();
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
            if let Ok(value) = HeaderValue::from_str(&accounts::session_set_cookie(
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
    if let Ok(value) =
        HeaderValue::from_str(&accounts::session_clear_cookie(secure_cookies(&state)))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffRequest {
    pub username: String,
    pub role: Role,
    /// 10 to 256 characters; stored only as an argon2id hash.
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffCreated {
    pub username: String,
    pub role: Role,
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Invalid { field, message } => ApiError::bad_request(field, message),
            AccountError::Taken(_) => ApiError {
                status: StatusCode::CONFLICT,
                message: error.to_string(),
                field: Some("username".into()),
            },
            AccountError::Hash(_) | AccountError::Db(_) => ApiError::internal(error),
        }
    }
}

/// Creates a console account for a staff member (admin only); the password is stored as an argon2id hash.
#[utoipa::path(post, path = "/api/staff", request_body = StaffRequest,
    responses((status = 201, body = StaffCreated), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn create_staff(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(request): ApiJson<StaffRequest>,
) -> Result<(StatusCode, Json<StaffCreated>), ApiError> {
    staff.require(&[])?;
    let username = Username::parse(&request.username)?;
    let password = NewPassword::parse(&request.password)?;
    accounts::create_user(&state.db, &username, request.role, password).await?;
    audit::record(
        &state.db,
        &staff,
        "staff.create",
        username.as_str(),
        serde_json::json!({ "role": request.role }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(StaffCreated {
            username: username.as_str().to_owned(),
            role: request.role,
        }),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffUnlocked {
    pub username: String,
    /// How many clients were counting failures (or throttled) for this account.
    pub cleared_clients: u64,
}

/// Lifts the login throttle on a staff account from every client, so its owner can log in at once (admin only;
/// audited as `staff.unlock`). Failures counted so far are summarised in the audit log first.
#[utoipa::path(post, path = "/api/staff/{username}/unlock",
    params(("username" = String, Path, description = "the staff account")),
    responses((status = 200, body = StaffUnlocked), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn unlock_staff(
    State(state): State<AppState>,
    staff: Staff,
    axum::extract::Path(username): axum::extract::Path<String>,
) -> Result<Json<StaffUnlocked>, ApiError> {
    staff.require(&[])?;
    let cleared = unlock_account(&state.db, &username, &staff.name, staff.role.as_str()).await?;
    Ok(Json(StaffUnlocked {
        username,
        cleared_clients: cleared,
    }))
}

/// The unlock behind the API, the console button and `hub staff unlock`: 404 for an unknown account, then the
/// throttle goes and an audit row says who lifted it.
pub async fn unlock_account(
    db: &crate::db::Db,
    username: &str,
    actor: &str,
    actor_role: &str,
) -> Result<u64, ApiError> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM staff_users WHERE username = $1")
        .bind(username)
        .fetch_optional(&db.pool)
        .await?;
    if exists.is_none() {
        return Err(ApiError::not_found(format!("no staff account {username}")));
    }
    let cleared = login_guard::unlock(db, username, crate::db::now_ms()).await?;
    audit::record_as(
        db,
        actor,
        actor_role,
        "staff.unlock",
        username,
        serde_json::json!({ "cleared_clients": cleared }),
    )
    .await?;
    Ok(cleared)
}

/// The console's part of `GET /openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create_staff, unlock_staff),
    components(schemas(StaffRequest, StaffCreated, StaffUnlocked))
)]
pub struct ConsoleDoc;
