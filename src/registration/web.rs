//! The web side of registration: `/register` (e-mail with double opt-in, or Web Push from this browser), the
//! confirmation link, the preferences page behind a signed link (change everything, or delete it all), and the
//! static files the pages use (`/register.css`, `/register.js`, `/sw.js`): no inline script or style, so the
//! pages work under a strict Content-Security-Policy.
//!
//! An e-mail sign-up becomes a pending resident with an inactive address and an `email_signups` row holding
//! what was chosen; the confirmation mail goes through the outbox (written in the same transaction, so it is
//! sent even after a crash, with retries). Opening the link applies the choices and activates the address:
//! only then does the resident count in previews and receive notices. A second submission of the same address
//! updates the same sign-up: one resident, and at most one mail a minute.
//!
//! This file holds the routes and handlers; the forms are read and checked in [`super::form`], the HTML is
//! [`super::pages`], the SQL [`super::store`].

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use tracing::Instrument;

use super::form::{
    FieldError, Form, LangQuery, Signup, Values, check_delivery, check_profile, check_signup,
    ui_language,
};
use super::pages::{mail_sent_page, message_page, preferences_form, register_form};
use super::store::{confirm_signup, register_push, start_email_signup, store_preferences};
use super::{AgeBand, LinkError, Settings};
use crate::AppState;
use crate::config::Config;
use crate::error::ApiError;
use crate::messages::{Language, Msg};

const CSS: &str = include_str!("register.css");
const JS: &str = include_str!("register.js");
const SERVICE_WORKER: &str = include_str!("sw.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/register", get(register_page).post(register))
        .route("/register/confirm/{token}", get(confirm))
        .route(
            "/preferences/{token}",
            get(preferences_page).post(save_preferences),
        )
        .route("/preferences/{token}/delete", post(delete_everything))
        .route(
            "/register.css",
            get(|| asset("text/css; charset=utf-8", CSS)),
        )
        .route(
            "/register.js",
            get(|| asset("text/javascript; charset=utf-8", JS)),
        )
        .route(
            "/sw.js",
            get(|| asset("text/javascript; charset=utf-8", SERVICE_WORKER)),
        )
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The sign-up page (HTML, Japanese first; `lang` switches among the six languages).
#[utoipa::path(get, path = "/register",
    params(("lang" = Option<String>, Query, description = "ja (default), en, zh, ko, vi or ja-easy")),
    responses((status = 200, content_type = "text/html", description = "the form")))]
pub(crate) async fn register_page(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
) -> Response {
    let lang = ui_language(query.lang.as_deref());
    // 「メールアドレスを直す」 on the confirmation page comes back here with the address filled in.
    let values = Values {
        language: lang.code().to_owned(),
        email: query.email.unwrap_or_default(),
        ..Values::default()
    };
    Html(register_form(&state.config, lang, &values, &[])).into_response()
}

fn refused(config: &Config, lang: Language, values: &Values, errors: &[FieldError]) -> Response {
    tracing::info!(fields = ?errors.iter().map(|e| e.field).collect::<Vec<_>>(), "registration refused");
    (
        StatusCode::BAD_REQUEST,
        Html(register_form(config, lang, values, errors)),
    )
        .into_response()
}

/// `POST /register`: checks everything, then either registers this browser for Web Push at once or starts
/// the e-mail double opt-in.
#[utoipa::path(post, path = "/register",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "lang, email and/or push (a PushSubscription as JSON), district, age_band (u20, 20s … 70s, 80+) or birth_year, interests (repeated), language, consent=yes"),
    responses(
        (status = 200, content_type = "text/html", description = "registered (push) or a confirmation mail is on its way (email)"),
        (status = 400, content_type = "text/html", description = "the form again with the choices, what was typed and each refused field (`data-field`)")))]
pub(crate) async fn register(State(state): State<AppState>, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let lang = ui_language(Some(form.get("lang")));
    let values = Values::from_form(&form);
    let today = crate::residents::today_in_japan();
    let signup = match check_signup(&state.config, lang, &values, today) {
        Ok(signup) => signup,
        Err(errors) => return refused(&state.config, lang, &values, &errors),
    };
    let span = tracing::info_span!(
        "registration",
        email = signup.email.is_some(),
        push = signup.push.is_some()
    );
    complete_registration(&state, lang, signup)
        .instrument(span)
        .await
}

/// Registers a checked sign-up: the browser's subscription at once, the e-mail address after its link.
async fn complete_registration(
    state: &AppState,
    lang: Language,
    Signup {
        email,
        push,
        profile,
    }: Signup,
) -> Response {
    // Both given: one resident, the browser's, whose e-mail address waits for its confirmation.
    let mut browser_resident = None;
    if let Some(push) = push {
        match register_push(state, &push, &profile).await {
            Ok(id) => browser_resident = Some(id),
            Err(error) => return internal(error),
        }
    }
    if let Some(email) = email {
        return match start_email_signup(state, &email, &profile, browser_resident).await {
            Ok(()) => mail_sent_page(lang, &email),
            Err(error) => internal(error),
        };
    }
    message_page(
        StatusCode::OK,
        lang,
        lang.say(Msg::Registered),
        Some(lang.say(Msg::RegisteredNext)),
    )
}

fn internal(error: impl std::fmt::Display) -> Response {
    ApiError::internal(error).into_response()
}

/// `GET /register/confirm/{token}`: opening the link from the mail completes the registration.
#[utoipa::path(get, path = "/register/confirm/{token}",
    params(("token" = String, Path, description = "from the confirmation mail")),
    responses(
        (status = 200, content_type = "text/html", description = "confirmed (again: nothing more changes)"),
        (status = 404, content_type = "text/html", description = "not a valid link: nothing changed"),
        (status = 410, content_type = "text/html", description = "older than 7 days: nothing changed")))]
pub(crate) async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match confirm_signup(&state, &token).await {
        Ok(Ok(lang)) => {
            let lang = Language::or_japanese(Some(&lang));
            message_page(
                StatusCode::OK,
                lang,
                lang.say(Msg::Confirmed),
                Some(lang.say(Msg::ConfirmedNext)),
            )
        }
        Ok(Err(LinkError::Expired)) => message_page(
            StatusCode::GONE,
            Language::Ja,
            Language::Ja.say(Msg::ExpiredLink),
            None,
        ),
        Ok(Err(LinkError::Invalid)) => message_page(
            StatusCode::NOT_FOUND,
            Language::Ja,
            Language::Ja.say(Msg::InvalidLink),
            None,
        ),
        Err(error) => internal(error),
    }
}

// ---------- preferences ----------

/// The resident behind a preferences link, or the page that says why not.
async fn linked_settings(state: &AppState, token: &str) -> Result<Settings, Response> {
    let id = match state.links.check_preferences(token, Utc::now()) {
        Ok(id) => id,
        Err(LinkError::Expired) => {
            return Err(message_page(
                StatusCode::GONE,
                Language::Ja,
                Language::Ja.say(Msg::ExpiredLink),
                None,
            ));
        }
        Err(LinkError::Invalid) => {
            tracing::warn!("preferences link with a bad signature");
            return Err(message_page(
                StatusCode::NOT_FOUND,
                Language::Ja,
                Language::Ja.say(Msg::InvalidLink),
                None,
            ));
        }
    };
    match super::settings(&state.db, id).await.map_err(internal)? {
        Some(settings) => Ok(settings),
        None => Err(message_page(
            StatusCode::NOT_FOUND,
            Language::Ja,
            Language::Ja.say(Msg::InvalidLink),
            None,
        )),
    }
}

/// The preferences page behind a signed link.
#[utoipa::path(get, path = "/preferences/{token}",
    params(("token" = String, Path, description = "from a notice mail or LINE's 「設定」"),
           ("lang" = Option<String>, Query, description = "the page's language; the resident's by default")),
    responses(
        (status = 200, content_type = "text/html", description = "the settings"),
        (status = 404, content_type = "text/html", description = "not a valid link"),
        (status = 410, content_type = "text/html", description = "the link has expired")))]
pub(crate) async fn preferences_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<LangQuery>,
) -> Response {
    let settings = match linked_settings(&state, &token).await {
        Ok(settings) => settings,
        Err(response) => return response,
    };
    let lang = ui_language(query.lang.as_deref().or(Some(&settings.language)));
    let values = Values::of_settings(&settings, &state.config);
    (
        [(header::CACHE_CONTROL, "no-store")],
        Html(preferences_form(
            &state.config,
            &token,
            lang,
            &values,
            &[],
            None,
        )),
    )
        .into_response()
}

/// Saves the preferences form: effective at once.
#[utoipa::path(post, path = "/preferences/{token}",
    params(("token" = String, Path, description = "from a notice mail or LINE's 「設定」")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "as /register, plus topics (repeated: the ones to receive), quiet_from, quiet_until (HH:MM), quiet_none=yes, paused=yes"),
    responses(
        (status = 200, content_type = "text/html", description = "saved"),
        (status = 400, content_type = "text/html", description = "the form again with each refused field; nothing changed"),
        (status = 404, content_type = "text/html", description = "not a valid link: nothing changed"),
        (status = 410, content_type = "text/html", description = "the link has expired: nothing changed")))]
pub(crate) async fn save_preferences(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let settings = match linked_settings(&state, &token).await {
        Ok(settings) => settings,
        Err(response) => return response,
    };
    let form = Form::parse(&body);
    let values = Values::from_form(&form);
    let lang = ui_language(Some(if values.language.is_empty() {
        &settings.language
    } else {
        &values.language
    }));
    let mut errors = Vec::new();
    let profile = check_profile(
        &state.config,
        lang,
        &values,
        crate::residents::today_in_japan(),
        &mut errors,
    );
    let delivery = check_delivery(&state.config, lang, &values, &mut errors);
    let Some(mut profile) = profile.filter(|_| errors.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            Html(preferences_form(
                &state.config,
                &token,
                lang,
                &values,
                &errors,
                None,
            )),
        )
            .into_response();
    };
    // The page shows a known birth date as its band: left as it is, the exact date is kept.
    if settings.age_band.is_none()
        && values.birth_year.is_empty()
        && profile.age_band.as_deref() == settings.band().map(AgeBand::code)
    {
        profile.birth_date = settings.birth_date.map(|d| d.to_string());
        profile.age_band = None;
    }
    if let Err(error) = store_preferences(&state, settings.id, &profile, &delivery).await {
        return internal(error);
    }
    tracing::info!(resident = settings.id, "preferences saved");
    let saved = match super::settings(&state.db, settings.id).await {
        Ok(Some(saved)) => Values::of_settings(&saved, &state.config),
        Ok(None) => values,
        Err(error) => return internal(error),
    };
    Html(preferences_form(
        &state.config,
        &token,
        lang,
        &saved,
        &[],
        Some(lang.say(Msg::Saved)),
    ))
    .into_response()
}

/// 「登録情報をすべて削除する」: the profile and every address go at once (residents::forget).
#[utoipa::path(post, path = "/preferences/{token}/delete",
    params(("token" = String, Path, description = "from a notice mail or LINE's 「設定」")),
    responses(
        (status = 200, content_type = "text/html", description = "deleted"),
        (status = 404, content_type = "text/html", description = "not a valid link: nothing deleted"),
        (status = 410, content_type = "text/html", description = "the link has expired: nothing deleted")))]
pub(crate) async fn delete_everything(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Response {
    let settings = match linked_settings(&state, &token).await {
        Ok(settings) => settings,
        Err(response) => return response,
    };
    match crate::residents::forget(&state.db, &settings.external_id).await {
        Ok(_) => {
            tracing::info!(resident = settings.id, "resident deleted their data");
            message_page(
                StatusCode::OK,
                settings.lang(),
                settings.lang().say(Msg::Deleted),
                None,
            )
        }
        Err(error) => internal(error),
    }
}
