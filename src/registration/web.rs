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

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use tracing::Instrument;

use super::texts::{Key, LANGUAGE_NAMES, t};
use super::{AgeBand, CONSENT_VERSION, LinkError, QuietHours, Settings};
use crate::AppState;
use crate::config::Config;
use crate::db::now_ms;
use crate::error::ApiError;
use crate::outbox::unsubscribe::Signer;
use crate::outbox::{self, NewDelivery, Source};
use crate::render::Rendered;
use crate::residents::{ChannelKind, District, EmailAddress, PushSubscription};

/// How long a confirmation link works.
pub const CONFIRM_DAYS: i64 = 7;
/// A second submission within this time sends no second mail.
const RESEND_AFTER_MS: i64 = 60_000;
/// Confirmation mails go before notices, after emergencies.
const PRIORITY_SIGNUP: i64 = 50;

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

#[derive(Debug, Deserialize)]
pub(crate) struct LangQuery {
    lang: Option<String>,
}

fn ui_language(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|code| LANGUAGE_NAMES.iter().find(|(c, _)| *c == code.trim()))
        .map(|(code, _)| *code)
        .unwrap_or("ja")
}

/// A form body: repeated names (interests, topics) keep every value.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Form {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .unwrap_or("")
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .collect()
    }
}

/// What the forms show and send back.
#[derive(Debug, Clone, Default)]
struct Values {
    email: String,
    push: String,
    district: String,
    age_band: String,
    birth_year: String,
    interests: Vec<String>,
    language: String,
    consent: bool,
    topics: Vec<String>,
    quiet_from: String,
    quiet_until: String,
    quiet_none: bool,
    paused: bool,
}

impl Values {
    fn from_form(form: &Form) -> Values {
        Values {
            email: form.get("email").to_owned(),
            push: form.get("push").to_owned(),
            district: form.get("district").to_owned(),
            age_band: form.get("age_band").to_owned(),
            birth_year: form.get("birth_year").to_owned(),
            interests: form.all("interests"),
            language: form.get("language").to_owned(),
            consent: form.get("consent") == "yes",
            topics: form.all("topics"),
            quiet_from: form.get("quiet_from").to_owned(),
            quiet_until: form.get("quiet_until").to_owned(),
            quiet_none: form.get("quiet_none") == "yes",
            paused: form.get("paused") == "yes",
        }
    }

    fn of_settings(settings: &Settings, config: &Config) -> Values {
        Values {
            district: settings.district.clone().unwrap_or_default(),
            age_band: settings
                .band()
                .map(|b| b.code().to_owned())
                .unwrap_or_default(),
            interests: settings.interests.clone(),
            language: settings.language.clone(),
            topics: config
                .interests
                .iter()
                .filter(|topic| !settings.muted_topics.contains(topic))
                .cloned()
                .collect(),
            quiet_from: QuietHours::format(settings.quiet.from_min),
            quiet_until: QuietHours::format(settings.quiet.until_min),
            quiet_none: settings.quiet.none(),
            paused: settings.paused,
            ..Values::default()
        }
    }
}

/// A field the form refused, and why (shown next to the choices again).
#[derive(Debug, Clone)]
struct FieldError {
    field: &'static str,
    message: String,
}

/// What a resident chose, checked: applied at once (preferences, Web Push) or when the e-mail is confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    district: String,
    birth_date: Option<String>,
    age_band: Option<String>,
    interests: Vec<String>,
    language: String,
}

fn check_profile(
    config: &Config,
    values: &Values,
    today: NaiveDate,
    errors: &mut Vec<FieldError>,
) -> Option<Profile> {
    let district = match District::parse(&values.district, &config.districts) {
        Ok(district) => Some(district.as_str().to_owned()),
        Err(message) => {
            errors.push(FieldError {
                field: "district",
                message,
            });
            None
        }
    };
    let mut age_band = None;
    let mut birth_date = None;
    if !values.birth_year.is_empty() {
        match values
            .birth_year
            .parse::<i32>()
            .map_err(|_| format!("`{}` is not a year", values.birth_year))
            .and_then(|year| super::birth_date_of_year(year, today))
        {
            Ok(date) => {
                birth_date = Some(date);
                age_band = Some(AgeBand::of_age(super::age_on(date, today)));
            }
            Err(message) => errors.push(FieldError {
                field: "birth_year",
                message,
            }),
        }
    } else if !values.age_band.is_empty() {
        match AgeBand::parse(&values.age_band) {
            Some(band) => {
                age_band = Some(band);
                birth_date = Some(band.birth_date(today));
            }
            None => errors.push(FieldError {
                field: "age_band",
                message: format!("`{}` is not an age group", values.age_band),
            }),
        }
    }
    let mut interests = Vec::new();
    for interest in &values.interests {
        let label = crate::text::normalize_label(interest);
        if !config.interests.contains(&label) {
            errors.push(FieldError {
                field: "interests",
                message: format!(
                    "`{interest}` is not one of the topics ({})",
                    config.interests.join(", ")
                ),
            });
        } else if !interests.contains(&label) {
            interests.push(label);
        }
    }
    let language = if values.language.is_empty() {
        Some("ja".to_owned())
    } else {
        match crate::residents::parse_language(&values.language) {
            Ok(language) => Some(language),
            Err(message) => {
                errors.push(FieldError {
                    field: "language",
                    message,
                });
                None
            }
        }
    };
    Some(Profile {
        district: district?,
        birth_date: birth_date.map(|d| d.to_string()),
        age_band: age_band.map(|b| b.code().to_owned()),
        interests,
        language: language?,
    })
}

/// Writes a checked profile onto a resident (inside the caller's transaction).
async fn write_profile(
    tx: &mut sqlx::AnyConnection,
    resident_id: i64,
    profile: &Profile,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE residents SET district = $1, birth_date = $2, age_band = $3, interests = $4, language = $5, \
         updated_at_ms = $6 WHERE id = $7",
    )
    .bind(profile.district.clone())
    .bind(profile.birth_date.clone())
    .bind(profile.age_band.clone())
    .bind(serde_json::to_string(&profile.interests).unwrap_or_else(|_| "[]".into()))
    .bind(profile.language.clone())
    .bind(now_ms())
    .bind(resident_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn record_consent(
    tx: &mut sqlx::AnyConnection,
    resident_id: i64,
    via: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE residents SET consent_at_ms = $1, consent_version = $2, pending = 0, \
         registered_via = COALESCE(registered_via, $3) WHERE id = $4",
    )
    .bind(now_ms())
    .bind(CONSENT_VERSION)
    .bind(via.to_owned())
    .bind(resident_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

// ---------- pages ----------

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_lang(lang: &str) -> &str {
    if lang == "ja-easy" { "ja" } else { lang }
}

fn page(lang: &str, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"stylesheet\" href=\"/register.css\">\
         <script src=\"/register.js\" defer></script></head><body><main>{body}</main></body></html>",
        html_lang(lang),
        escape(title)
    )
}

fn message_page(status: StatusCode, lang: &str, text: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p class=\"message\">{}</p>",
        escape(t(lang, Key::PageTitle)),
        escape(text)
    );
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(page(lang, t(lang, Key::PageTitle), &body)),
    )
        .into_response()
}

fn language_links(path: &str, current: &str) -> String {
    let links: Vec<String> = LANGUAGE_NAMES
        .iter()
        .map(|(code, name)| {
            if *code == current {
                format!("<strong>{}</strong>", escape(name))
            } else {
                format!(
                    "<a href=\"{}?lang={code}\" hreflang=\"{}\">{}</a>",
                    escape(path),
                    html_lang(code),
                    escape(name)
                )
            }
        })
        .collect();
    format!("<nav class=\"languages\">{}</nav>", links.join(" "))
}

fn errors_html(lang: &str, errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let items: String = errors
        .iter()
        .map(|e| {
            format!(
                "<li data-field=\"{}\">{}: {}</li>",
                e.field,
                escape(field_label(lang, e.field)),
                escape(&e.message)
            )
        })
        .collect();
    format!(
        "<div class=\"errors\" role=\"alert\"><p>{}</p><ul>{items}</ul></div>",
        escape(t(lang, Key::FixErrors))
    )
}

fn field_label(lang: &str, field: &str) -> &'static str {
    match field {
        "email" | "push" | "channel" => t(lang, Key::Email),
        "district" => t(lang, Key::District),
        "age_band" => t(lang, Key::Age),
        "birth_year" => t(lang, Key::BirthYear),
        "interests" | "topics" => t(lang, Key::Interests),
        "language" => t(lang, Key::Language),
        "quiet" => t(lang, Key::Quiet),
        _ => t(lang, Key::Consent),
    }
}

fn invalid(errors: &[FieldError], field: &str) -> &'static str {
    if errors.iter().any(|e| e.field == field) {
        " aria-invalid=\"true\""
    } else {
        ""
    }
}

fn checkbox_list(name: &str, choices: &[String], chosen: &[String]) -> String {
    choices
        .iter()
        .map(|choice| {
            let checked = if chosen.contains(choice) {
                " checked"
            } else {
                ""
            };
            format!(
                "<label class=\"choice\"><input type=\"checkbox\" name=\"{name}\" value=\"{0}\"{checked}> {0}</label>",
                escape(choice)
            )
        })
        .collect()
}

/// District, age, interests and language: the same fields on both pages.
fn profile_fields(config: &Config, lang: &str, values: &Values, errors: &[FieldError]) -> String {
    let districts: String = config
        .districts
        .iter()
        .map(|d| {
            let selected = if *d == values.district {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{0}\"{selected}>{0}</option>", escape(d))
        })
        .collect();
    let bands: String = AgeBand::ALL
        .iter()
        .map(|band| {
            let selected = if band.code() == values.age_band {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{}\"{selected}>{}</option>",
                band.code(),
                escape(&band.label(lang))
            )
        })
        .collect();
    let language_value = if values.language.is_empty() {
        lang
    } else {
        values.language.as_str()
    };
    let languages: String = LANGUAGE_NAMES
        .iter()
        .map(|(code, name)| {
            let selected = if *code == language_value {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{code}\"{selected}>{}</option>",
                escape(name)
            )
        })
        .collect();
    format!(
        "<label>{district}<select name=\"district\" required{d_invalid}><option value=\"\">{choose}</option>{districts}</select></label>\
         <label>{age}<select name=\"age_band\"{a_invalid}><option value=\"\">{no_answer}</option>{bands}</select></label>\
         <label>{birth_year}<input type=\"number\" name=\"birth_year\" inputmode=\"numeric\" min=\"1900\" max=\"2100\" value=\"{by}\"{b_invalid}></label>\
         <fieldset{i_invalid}><legend>{interests}</legend>{interest_boxes}</fieldset>\
         <label>{language}<select name=\"language\"{l_invalid}>{languages}</select></label>",
        district = escape(t(lang, Key::District)),
        d_invalid = invalid(errors, "district"),
        choose = escape(t(lang, Key::ChooseOne)),
        age = escape(t(lang, Key::Age)),
        a_invalid = invalid(errors, "age_band"),
        no_answer = escape(t(lang, Key::NoAnswer)),
        birth_year = escape(t(lang, Key::BirthYear)),
        by = escape(&values.birth_year),
        b_invalid = invalid(errors, "birth_year"),
        i_invalid = invalid(errors, "interests"),
        interests = escape(t(lang, Key::Interests)),
        interest_boxes = checkbox_list("interests", &config.interests, &values.interests),
        language = escape(t(lang, Key::Language)),
        l_invalid = invalid(errors, "language"),
    )
}

fn register_form(config: &Config, lang: &str, values: &Values, errors: &[FieldError]) -> String {
    let push_ready = if values.push.is_empty() {
        " hidden"
    } else {
        ""
    };
    let consent = if values.consent { " checked" } else { "" };
    let body = format!(
        "{links}<h1>{title}</h1><p class=\"intro\">{intro}</p>{errors}\
         <form method=\"post\" action=\"/register\">\
         <input type=\"hidden\" name=\"lang\" value=\"{lang}\">\
         <label>{email_label}<input type=\"email\" name=\"email\" autocomplete=\"email\" value=\"{email}\"{e_invalid}></label>\
         <fieldset class=\"push\"><legend>{push_label}</legend>\
         <button type=\"button\" id=\"push-button\">{push_button}</button>\
         <p id=\"push-status\"{push_ready}>{push_ready_text}</p>\
         <input type=\"hidden\" name=\"push\" id=\"push\" value=\"{push}\"></fieldset>\
         {fields}\
         <label class=\"choice consent\"><input type=\"checkbox\" name=\"consent\" value=\"yes\" required{consent}{c_invalid}> {consent_label}</label>\
         <button type=\"submit\">{submit}</button></form>",
        links = language_links("/register", lang),
        title = escape(t(lang, Key::PageTitle)),
        intro = escape(t(lang, Key::WebIntro)),
        errors = errors_html(lang, errors),
        email_label = escape(t(lang, Key::Email)),
        email = escape(&values.email),
        e_invalid = invalid(errors, "email"),
        push_label = escape(t(lang, Key::PushLabel)),
        push_button = escape(t(lang, Key::PushButton)),
        push_ready_text = escape(t(lang, Key::PushReady)),
        push = escape(&values.push),
        fields = profile_fields(config, lang, values, errors),
        c_invalid = invalid(errors, "consent"),
        consent_label = escape(t(lang, Key::Consent)),
        submit = escape(t(lang, Key::Submit)),
    );
    page(lang, t(lang, Key::PageTitle), &body)
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
    let values = Values {
        language: lang.to_owned(),
        ..Values::default()
    };
    Html(register_form(&state.config, lang, &values, &[])).into_response()
}

fn refused(config: &Config, lang: &str, values: &Values, errors: &[FieldError]) -> Response {
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
    let mut errors = Vec::new();
    let profile = check_profile(&state.config, &values, today, &mut errors);
    let email = if values.email.is_empty() {
        None
    } else {
        match EmailAddress::parse(&values.email) {
            Ok(email) => Some(email.as_str().to_lowercase()),
            Err(message) => {
                errors.push(FieldError {
                    field: "email",
                    message,
                });
                None
            }
        }
    };
    let push = if values.push.is_empty() {
        None
    } else {
        match parse_push(&values.push, &state.config, lang) {
            Ok(push) => Some(push),
            Err(message) => {
                errors.push(FieldError {
                    field: "push",
                    message,
                });
                None
            }
        }
    };
    if email.is_none() && push.is_none() && values.email.is_empty() && values.push.is_empty() {
        errors.push(FieldError {
            field: "channel",
            message: t(lang, Key::ChannelNeeded).to_owned(),
        });
    }
    if !values.consent {
        errors.push(FieldError {
            field: "consent",
            message: t(lang, Key::Consent).to_owned(),
        });
    }
    let Some(profile) = profile.filter(|_| errors.is_empty()) else {
        return refused(&state.config, lang, &values, &errors);
    };
    let span = tracing::info_span!(
        "registration",
        email = email.is_some(),
        push = push.is_some()
    );
    complete_registration(&state, lang, email, push, profile)
        .instrument(span)
        .await
}

/// Registers a checked sign-up: the browser's subscription at once, the e-mail address after its link.
async fn complete_registration(
    state: &AppState,
    lang: &str,
    email: Option<String>,
    push: Option<PushSubscription>,
    profile: Profile,
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
            Ok(()) => message_page(StatusCode::OK, lang, t(lang, Key::CheckEmail)),
            Err(error) => internal(error),
        };
    }
    message_page(StatusCode::OK, lang, t(lang, Key::Registered))
}

fn internal(error: impl std::fmt::Display) -> Response {
    ApiError::internal(error).into_response()
}

fn parse_push(text: &str, config: &Config, lang: &str) -> Result<PushSubscription, String> {
    let push: PushSubscription = serde_json::from_str(text)
        .map_err(|error| format!("the push subscription is not valid: {error}"))?;
    // The residents' own check (http(s) endpoint, base64url keys) through their input type.
    let input = crate::residents::ResidentInput {
        external_id: "push".into(),
        channels: crate::residents::ChannelsInput {
            push: Some(push.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    input
        .validate(&[], crate::residents::today_in_japan())
        .map_err(|error| error.message)?;
    // Only the browsers' push services, at public addresses: the hub calls this URL later.
    if let Err(error) = push.check_endpoint(&config.push_policy()) {
        tracing::warn!(%error, "push sign-up refused: endpoint not allowed");
        return Err(if lang == "ja" {
            error.japanese().to_owned()
        } else {
            format!("{} ({error})", error.japanese())
        });
    }
    Ok(push)
}

/// A browser's subscription is its own proof: the resident is registered at once, keyed by the endpoint, so
/// the same browser registering again updates the same resident.
async fn register_push(
    state: &AppState,
    push: &PushSubscription,
    profile: &Profile,
) -> Result<i64, sqlx::Error> {
    let digest = Sha256::digest(push.endpoint.as_bytes());
    let external_id = format!("push:{}", hex::encode(&digest[..12]));
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO residents (external_id, language, interests, preferred, pending, registered_via, \
         created_at_ms, updated_at_ms) VALUES ($1, 'ja', '[]', '[\"push\"]', 0, 'push', $2, $2) \
         ON CONFLICT (external_id) DO UPDATE SET updated_at_ms = excluded.updated_at_ms RETURNING id",
    )
    .bind(external_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM resident_addresses WHERE channel = 'push' AND address = $1")
        .bind(push.endpoint.clone())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM resident_addresses WHERE resident_id = $1 AND channel = 'push'")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO resident_addresses (resident_id, channel, address, detail, active) \
         VALUES ($1, 'push', $2, $3, 1)",
    )
    .bind(id)
    .bind(push.endpoint.clone())
    .bind(serde_json::to_string(&push.keys).unwrap_or_default())
    .execute(&mut *tx)
    .await?;
    write_profile(&mut tx, id, profile).await?;
    record_consent(&mut tx, id, "push").await?;
    tx.commit().await?;
    tracing::info!(resident = id, "registered for Web Push");
    Ok(id)
}

/// Starts (or repeats) the double opt-in for `email`: one sign-up row and one resident per address.
async fn start_email_signup(
    state: &AppState,
    email: &str,
    profile: &Profile,
    browser_resident: Option<i64>,
) -> Result<(), sqlx::Error> {
    let signer = Signer::load(&state.db, &state.config.public_url).await?;
    let now = now_ms();
    let profile_json = serde_json::to_string(profile).unwrap_or_else(|_| "{}".into());
    let mut tx = state.db.begin_write().await?;
    let existing = sqlx::query(
        "SELECT id, resident_id, nonce, created_at_ms, last_sent_at_ms, confirmed_at_ms \
         FROM email_signups WHERE email = $1",
    )
    .bind(email.to_owned())
    .fetch_optional(&mut *tx)
    .await?;
    let (signup_id, resident_id, nonce, send) = match existing {
        Some(row) => {
            let id: i64 = row.try_get("id")?;
            let resident_id: i64 = row.try_get("resident_id")?;
            let created: i64 = row.try_get("created_at_ms")?;
            let last_sent: i64 = row.try_get("last_sent_at_ms")?;
            let confirmed: Option<i64> = row.try_get("confirmed_at_ms")?;
            // A used or expired link is replaced; a live one keeps working beside the new mail.
            let renew = confirmed.is_some() || now - created > CONFIRM_DAYS * 86_400_000;
            let nonce = if renew {
                new_nonce()
            } else {
                row.try_get("nonce")?
            };
            let send = renew || now - last_sent >= RESEND_AFTER_MS;
            sqlx::query(
                "UPDATE email_signups SET profile = $1, nonce = $2, \
                 created_at_ms = CASE WHEN $3 = 1 THEN $4 ELSE created_at_ms END, \
                 confirmed_at_ms = CASE WHEN $3 = 1 THEN NULL ELSE confirmed_at_ms END, \
                 last_sent_at_ms = CASE WHEN $5 = 1 THEN $4 ELSE last_sent_at_ms END WHERE id = $6",
            )
            .bind(profile_json)
            .bind(nonce.clone())
            .bind(i64::from(renew))
            .bind(now)
            .bind(i64::from(send))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            (id, resident_id, nonce, send)
        }
        None => {
            let owner: Option<i64> = sqlx::query_scalar(
                "SELECT resident_id FROM resident_addresses WHERE channel = 'email' AND LOWER(address) = $1",
            )
            .bind(email.to_owned())
            .fetch_optional(&mut *tx)
            .await?;
            let resident_id = match (owner, browser_resident) {
                (Some(id), _) => id,
                (None, Some(id)) => {
                    // The browser's resident gets this address, inactive until confirmed.
                    sqlx::query(
                        "DELETE FROM resident_addresses WHERE resident_id = $1 AND channel = 'email'",
                    )
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO resident_addresses (resident_id, channel, address, active) \
                         VALUES ($1, 'email', $2, 0)",
                    )
                    .bind(id)
                    .bind(email.to_owned())
                    .execute(&mut *tx)
                    .await?;
                    id
                }
                (None, None) => {
                    let external_id = format!("email:{}", uuid::Uuid::new_v4().simple());
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO residents (external_id, language, interests, preferred, pending, \
                         registered_via, created_at_ms, updated_at_ms) \
                         VALUES ($1, $2, '[]', '[\"email\"]', 1, 'email', $3, $3) RETURNING id",
                    )
                    .bind(external_id)
                    .bind(profile.language.clone())
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    // Inactive until confirmed: not even an emergency goes to an unconfirmed address.
                    sqlx::query(
                        "INSERT INTO resident_addresses (resident_id, channel, address, active) \
                         VALUES ($1, 'email', $2, 0)",
                    )
                    .bind(id)
                    .bind(email.to_owned())
                    .execute(&mut *tx)
                    .await?;
                    id
                }
            };
            let nonce = new_nonce();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO email_signups (email, resident_id, profile, nonce, created_at_ms, last_sent_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(email.to_owned())
            .bind(resident_id)
            .bind(profile_json)
            .bind(nonce.clone())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            (id, resident_id, nonce, true)
        }
    };
    if send {
        let url = format!(
            "{}/register/confirm/{}",
            signer.public_url(),
            confirm_token(&signer, signup_id, email, &nonce)
        );
        queue_confirmation(
            &mut tx,
            signup_id,
            resident_id,
            email,
            &profile.language,
            &url,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    if send {
        outbox::WAKE_DISPATCHER.notify_waiters();
    }
    tracing::info!(
        signup = signup_id,
        resident = resident_id,
        sent = send,
        "e-mail sign-up"
    );
    Ok(())
}

fn new_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn confirm_token(signer: &Signer, signup_id: i64, email: &str, nonce: &str) -> String {
    let mac = signer.sign("confirm", &format!("{signup_id}:{email}:{nonce}"));
    format!("{signup_id}.{mac}")
}

/// The confirmation mail, written to the outbox in the sign-up's transaction.
async fn queue_confirmation(
    tx: &mut sqlx::AnyConnection,
    signup_id: i64,
    resident_id: i64,
    email: &str,
    language: &str,
    url: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let body = t(language, Key::ConfirmBody);
    let rendered = Rendered::Email {
        subject: t(language, Key::ConfirmSubject).to_owned(),
        text: format!("{body}\n\n{url}\n"),
        html: format!(
            "<html><body><p>{}</p><p><a href=\"{}\">{}</a></p></body></html>",
            escape(body),
            escape(url),
            escape(url)
        ),
    };
    let source = Source {
        kind: "signup",
        id: signup_id,
        firing: now,
        priority: PRIORITY_SIGNUP,
    };
    let contents = [((ChannelKind::Email, language.to_owned()), rendered)]
        .into_iter()
        .collect();
    let ids = outbox::store_contents(tx, source, &contents).await?;
    let row = NewDelivery {
        resident_id,
        channel: ChannelKind::Email,
        address: email.to_owned(),
        address_detail: None,
        language: language.to_owned(),
    };
    outbox::insert_deliveries(tx, source, &ids, std::slice::from_ref(&row), now).await?;
    Ok(())
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
        Ok(Ok(lang)) => message_page(StatusCode::OK, &lang, t(&lang, Key::Confirmed)),
        Ok(Err(LinkError::Expired)) => {
            message_page(StatusCode::GONE, "ja", t("ja", Key::ExpiredLink))
        }
        Ok(Err(LinkError::Invalid)) => {
            message_page(StatusCode::NOT_FOUND, "ja", t("ja", Key::InvalidLink))
        }
        Err(error) => internal(error),
    }
}

async fn confirm_signup(
    state: &AppState,
    token: &str,
) -> Result<Result<String, LinkError>, sqlx::Error> {
    let Some((id, mac)) = token.split_once('.') else {
        return Ok(Err(LinkError::Invalid));
    };
    let Ok(signup_id) = id.parse::<i64>() else {
        return Ok(Err(LinkError::Invalid));
    };
    let signer = Signer::load(&state.db, &state.config.public_url).await?;
    let mut tx = state.db.begin_write().await?;
    let Some(row) = sqlx::query(
        "SELECT email, resident_id, profile, nonce, created_at_ms, confirmed_at_ms FROM email_signups \
         WHERE id = $1",
    )
    .bind(signup_id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Err(LinkError::Invalid));
    };
    let email: String = row.try_get("email")?;
    let nonce: String = row.try_get("nonce")?;
    if !signer.check("confirm", &format!("{signup_id}:{email}:{nonce}"), mac) {
        tracing::warn!(signup = signup_id, "confirmation link with a bad signature");
        return Ok(Err(LinkError::Invalid));
    }
    let profile: Profile = match serde_json::from_str(&row.try_get::<String, _>("profile")?) {
        Ok(profile) => profile,
        Err(error) => return Err(sqlx::Error::Decode(Box::new(error))),
    };
    if row.try_get::<Option<i64>, _>("confirmed_at_ms")?.is_some() {
        // Opening the link again (or a mail scanner first) changes nothing more.
        return Ok(Ok(profile.language));
    }
    let created: i64 = row.try_get("created_at_ms")?;
    if now_ms() - created > CONFIRM_DAYS * 86_400_000 {
        return Ok(Err(LinkError::Expired));
    }
    let resident_id: i64 = row.try_get("resident_id")?;
    write_profile(&mut tx, resident_id, &profile).await?;
    record_consent(&mut tx, resident_id, "email").await?;
    sqlx::query(
        "UPDATE resident_addresses SET active = 1 WHERE resident_id = $1 AND channel = 'email'",
    )
    .bind(resident_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE email_signups SET confirmed_at_ms = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(signup_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(
        signup = signup_id,
        resident = resident_id,
        "e-mail confirmed"
    );
    Ok(Ok(profile.language))
}

// ---------- preferences ----------

/// The resident behind a preferences link, or the page that says why not.
async fn linked_settings(state: &AppState, token: &str) -> Result<Settings, Response> {
    let signer = Signer::load(&state.db, &state.config.public_url)
        .await
        .map_err(internal)?;
    let id = match super::check_preferences_token(&signer, token, Utc::now()) {
        Ok(id) => id,
        Err(LinkError::Expired) => {
            return Err(message_page(
                StatusCode::GONE,
                "ja",
                t("ja", Key::ExpiredLink),
            ));
        }
        Err(LinkError::Invalid) => {
            tracing::warn!("preferences link with a bad signature");
            return Err(message_page(
                StatusCode::NOT_FOUND,
                "ja",
                t("ja", Key::InvalidLink),
            ));
        }
    };
    match super::settings(&state.db, id).await.map_err(internal)? {
        Some(settings) => Ok(settings),
        None => Err(message_page(
            StatusCode::NOT_FOUND,
            "ja",
            t("ja", Key::InvalidLink),
        )),
    }
}

fn preferences_form(
    config: &Config,
    token: &str,
    lang: &str,
    values: &Values,
    errors: &[FieldError],
    note: Option<&str>,
) -> String {
    let action = format!("/preferences/{}", escape(token));
    let note = note
        .map(|n| format!("<p class=\"message\" role=\"status\">{}</p>", escape(n)))
        .unwrap_or_default();
    let quiet_none = if values.quiet_none { " checked" } else { "" };
    let paused = if values.paused { " checked" } else { "" };
    let body = format!(
        "{links}<h1>{title}</h1>{note}{errors}\
         <form method=\"post\" action=\"{action}\">\
         {fields}\
         <fieldset{t_invalid}><legend>{topics}</legend>{topic_boxes}</fieldset>\
         <fieldset{q_invalid}><legend>{quiet}</legend>\
         <label class=\"inline\"><input type=\"time\" name=\"quiet_from\" value=\"{from}\"></label> – \
         <label class=\"inline\"><input type=\"time\" name=\"quiet_until\" value=\"{until}\"></label>\
         <label class=\"choice\"><input type=\"checkbox\" name=\"quiet_none\" value=\"yes\"{quiet_none}> {none}</label></fieldset>\
         <label class=\"choice\"><input type=\"checkbox\" name=\"paused\" value=\"yes\"{paused}> {paused_label}</label>\
         <button type=\"submit\">{save}</button></form>\
         <form method=\"post\" action=\"{action}/delete\" class=\"danger\">\
         <button type=\"submit\">{delete}</button></form>",
        links = language_links(&action, lang),
        title = escape(t(lang, Key::PrefsTitle)),
        errors = errors_html(lang, errors),
        fields = profile_fields(config, lang, values, errors),
        t_invalid = invalid(errors, "topics"),
        topics = escape(t(lang, Key::Topics)),
        topic_boxes = checkbox_list("topics", &config.interests, &values.topics),
        q_invalid = invalid(errors, "quiet"),
        quiet = escape(t(lang, Key::Quiet)),
        from = escape(&values.quiet_from),
        until = escape(&values.quiet_until),
        none = escape(t(lang, Key::QuietNone)),
        paused_label = escape(t(lang, Key::PausedLabel)),
        save = escape(t(lang, Key::Save)),
        delete = escape(t(lang, Key::DeleteAll)),
    );
    page(lang, t(lang, Key::PrefsTitle), &body)
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

/// What the preferences form adds to the profile: topics, quiet hours, 配信停止.
#[derive(Debug, Clone, PartialEq)]
struct Delivery {
    muted_topics: Vec<String>,
    quiet: QuietHours,
    paused: bool,
}

fn check_delivery(config: &Config, values: &Values, errors: &mut Vec<FieldError>) -> Delivery {
    for topic in &values.topics {
        if !config.interests.contains(topic) {
            errors.push(FieldError {
                field: "topics",
                message: format!(
                    "`{topic}` is not one of the topics ({})",
                    config.interests.join(", ")
                ),
            });
        }
    }
    let muted_topics = config
        .interests
        .iter()
        .filter(|topic| !values.topics.contains(topic))
        .cloned()
        .collect();
    let quiet = if values.quiet_none {
        QuietHours {
            from_min: 0,
            until_min: 0,
        }
    } else {
        match (
            QuietHours::parse_time(&values.quiet_from),
            QuietHours::parse_time(&values.quiet_until),
        ) {
            (Ok(from_min), Ok(until_min)) => QuietHours {
                from_min,
                until_min,
            },
            (Err(message), _) | (_, Err(message)) => {
                errors.push(FieldError {
                    field: "quiet",
                    message,
                });
                QuietHours::default()
            }
        }
    };
    Delivery {
        muted_topics,
        quiet,
        paused: values.paused,
    }
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
        &values,
        crate::residents::today_in_japan(),
        &mut errors,
    );
    let delivery = check_delivery(&state.config, &values, &mut errors);
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
        Some(t(lang, Key::Saved)),
    ))
    .into_response()
}

async fn store_preferences(
    state: &AppState,
    resident_id: i64,
    profile: &Profile,
    delivery: &Delivery,
) -> Result<(), sqlx::Error> {
    let mut tx = state.db.begin_write().await?;
    write_profile(&mut tx, resident_id, profile).await?;
    sqlx::query(
        "UPDATE residents SET muted_topics = $1, quiet_from_min = $2, quiet_until_min = $3, \
         notices_paused = $4 WHERE id = $5",
    )
    .bind(serde_json::to_string(&delivery.muted_topics).unwrap_or_else(|_| "[]".into()))
    .bind(i64::from(delivery.quiet.from_min))
    .bind(i64::from(delivery.quiet.until_min))
    .bind(i64::from(delivery.paused))
    .bind(resident_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
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
                &settings.language,
                t(&settings.language, Key::Deleted),
            )
        }
        Err(error) => internal(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_keep_repeated_fields_and_escape_values() {
        let form = Form::parse(
            "interests=%E9%98%B2%E7%81%BD&interests=%E4%BB%8B%E8%AD%B7&email=a%40b.jp".as_bytes(),
        );
        assert_eq!(form.all("interests"), vec!["防災", "介護"]);
        assert_eq!(form.get("email"), "a@b.jp");
        assert_eq!(
            escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }

    #[test]
    fn pages_have_no_inline_script_or_style() {
        let config = Config::from_parts(None, &Default::default()).expect("defaults");
        let html = register_form(&config, "ja", &Values::default(), &[]);
        assert!(!html.contains("<style"));
        assert!(!html.contains("style="));
        assert!(!html.contains("<script>"));
        assert!(html.contains("<script src=\"/register.js\" defer></script>"));
        for district in &config.districts {
            assert!(html.contains(&format!("<option value=\"{district}\">")));
        }
    }
}
