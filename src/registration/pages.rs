//! The registration pages' HTML: the sign-up form, the preferences form, and the one-line message pages, in the
//! resident's language, framed by [`crate::html::Page`] with `/register.css` and `/register.js` (nothing inline).

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::AgeBand;
use super::form::{FieldError, Values};
use crate::config::Config;
use crate::html::{Page, escape};
use crate::messages::{CITY_SITE_URL, Language, Msg, fill, labels};

/// A registration page: the resident's language, the registration stylesheet and script, `body` in `<main>`.
fn page(lang: Language, title: &str, body: &str) -> String {
    Page::new(lang.code(), title)
        .stylesheet("/register.css")
        .script("/register.js")
        .render(&format!("<main>{body}</main>"))
}

/// Where a resident can go from a page that ends a step: the chat and the city's website.
fn ways_on(lang: Language) -> String {
    format!(
        "<li><a href=\"/chat?lang={code}\">{chat}</a></li>\
         <li><a href=\"{site}\">{city}</a></li>",
        code = lang.code(),
        chat = escape(lang.say(Msg::AskInChat)),
        site = escape(CITY_SITE_URL),
        city = escape(lang.say(Msg::ToCitySite)),
    )
}

/// A page of one message (`text`), what happens next (`next`, when there is something to say) and the ways on.
pub(super) fn message_page(
    status: StatusCode,
    lang: Language,
    text: &str,
    next: Option<&str>,
) -> Response {
    let next = next
        .map(|next| format!("<p>{}</p>", escape(next)))
        .unwrap_or_default();
    let body = format!(
        "<h1>{}</h1><p class=\"message\" role=\"status\">{}</p>{next}<ul class=\"ways-on\">{}</ul>",
        escape(lang.say(Msg::PageTitle)),
        escape(text),
        ways_on(lang),
    );
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(page(lang, lang.say(Msg::PageTitle), &body)),
    )
        .into_response()
}

/// The page after an e-mail sign-up: the address the mail went to, what happens next, and a way back to the form
/// (with the address filled in) to correct it.
pub(super) fn mail_sent_page(lang: Language, email: &str) -> Response {
    let change = format!(
        "/register?lang={}&email={}",
        lang.code(),
        form_urlencoded::byte_serialize(email.as_bytes()).collect::<String>()
    );
    let body = format!(
        "<h1>{title}</h1><p class=\"message\" role=\"status\">{sent}</p><p>{next}</p>\
         <ul class=\"ways-on\"><li><a href=\"{change}\">{change_label}</a></li>{ways}</ul>",
        title = escape(lang.say(Msg::PageTitle)),
        sent = fill(
            &escape(lang.say(Msg::SentTo)),
            &[(
                "email",
                &format!("<strong class=\"address\">{}</strong>", escape(email))
            )]
        ),
        next = escape(lang.say(Msg::SentToNext)),
        change = escape(&change),
        change_label = escape(lang.say(Msg::ChangeAddress)),
        ways = ways_on(lang),
    );
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Html(page(lang, lang.say(Msg::PageTitle), &body)),
    )
        .into_response()
}

fn language_links(path: &str, current: Language) -> String {
    let links: Vec<String> = Language::ALL
        .iter()
        .map(|language| {
            if *language == current {
                format!("<strong>{}</strong>", escape(language.own_name()))
            } else {
                format!(
                    "<a href=\"{}?lang={}\" hreflang=\"{}\">{}</a>",
                    escape(path),
                    language.code(),
                    language.html_lang(),
                    escape(language.own_name())
                )
            }
        })
        .collect();
    format!("<nav class=\"languages\">{}</nav>", links.join(" "))
}

fn errors_html(lang: Language, errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    // Each message names its field in the page's language: no label in front.
    let items: String = errors
        .iter()
        .map(|e| format!("<li data-field=\"{}\">{}</li>", e.field, escape(&e.message)))
        .collect();
    format!(
        "<div class=\"errors\" role=\"alert\"><p>{}</p><ul>{items}</ul></div>",
        escape(lang.say(Msg::FixErrors))
    )
}

fn invalid(errors: &[FieldError], field: &str) -> &'static str {
    if errors.iter().any(|e| e.field == field) {
        " aria-invalid=\"true\""
    } else {
        ""
    }
}

/// Check boxes whose values are the stored (Japanese) topics and whose labels are in the page's language.
fn checkbox_list(lang: Language, name: &str, choices: &[String], chosen: &[String]) -> String {
    choices
        .iter()
        .map(|choice| {
            let checked = if chosen.contains(choice) {
                " checked"
            } else {
                ""
            };
            format!(
                "<label class=\"choice\"><input type=\"checkbox\" name=\"{name}\" value=\"{}\"{checked}> {}</label>",
                escape(choice),
                escape(&labels::topic(lang, choice))
            )
        })
        .collect()
}

/// District, age, interests and language: the same fields on both pages.
fn profile_fields(
    config: &Config,
    lang: Language,
    values: &Values,
    errors: &[FieldError],
) -> String {
    let districts: String = config
        .districts
        .iter()
        .map(|d| {
            let selected = if *d == values.district {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{}\"{selected}>{}</option>",
                escape(d),
                escape(&labels::district(lang, d))
            )
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
                escape(band.label(lang))
            )
        })
        .collect();
    let language_value = if values.language.is_empty() {
        lang.code()
    } else {
        values.language.as_str()
    };
    let languages: String = Language::ALL
        .iter()
        .map(|language| {
            let selected = if language.code() == language_value {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{}\"{selected}>{}</option>",
                language.code(),
                escape(language.own_name())
            )
        })
        .collect();
    format!(
        "<label>{district}<select name=\"district\" required{d_invalid}><option value=\"\">{choose}</option>{districts}</select></label>\
         <label>{age}<select name=\"age_band\"{a_invalid}><option value=\"\">{no_answer}</option>{bands}</select></label>\
         <label>{birth_year}<input type=\"number\" name=\"birth_year\" inputmode=\"numeric\" min=\"1900\" max=\"2100\" value=\"{by}\"{b_invalid}></label>\
         <fieldset{i_invalid}><legend>{interests}</legend>{interest_boxes}</fieldset>\
         <label>{language}<select name=\"language\"{l_invalid}>{languages}</select></label>",
        district = escape(lang.say(Msg::DistrictLabel)),
        d_invalid = invalid(errors, "district"),
        choose = escape(lang.say(Msg::ChooseOne)),
        age = escape(lang.say(Msg::AgeLabel)),
        a_invalid = invalid(errors, "age_band"),
        no_answer = escape(lang.say(Msg::NoAnswer)),
        birth_year = escape(lang.say(Msg::BirthYearLabel)),
        by = escape(&values.birth_year),
        b_invalid = invalid(errors, "birth_year"),
        i_invalid = invalid(errors, "interests"),
        interests = escape(lang.say(Msg::InterestsLabel)),
        interest_boxes = checkbox_list(lang, "interests", &config.interests, &values.interests),
        language = escape(lang.say(Msg::LanguageLabel)),
        l_invalid = invalid(errors, "language"),
    )
}

pub(super) fn register_form(
    config: &Config,
    lang: Language,
    values: &Values,
    errors: &[FieldError],
) -> String {
    let push_ready = if values.push.is_empty() {
        " hidden"
    } else {
        ""
    };
    let consent = if values.consent { " checked" } else { "" };
    let body = format!(
        "{links}<h1>{title}</h1><p class=\"intro\">{intro}</p>{errors}\
         <form method=\"post\" action=\"/register\">\
         <input type=\"hidden\" name=\"lang\" value=\"{code}\">\
         <label>{email_label}<input type=\"email\" name=\"email\" autocomplete=\"email\" value=\"{email}\"{e_invalid}></label>\
         <fieldset class=\"push\"><legend>{push_label}</legend>\
         <button type=\"button\" id=\"push-button\" data-denied=\"{push_denied}\" data-unsupported=\"{push_unsupported}\" data-failed=\"{push_failed}\" data-ready=\"{push_ready_text}\">{push_button}</button>\
         <p id=\"push-status\" role=\"status\"{push_ready}>{push_ready_text}</p>\
         <input type=\"hidden\" name=\"push\" id=\"push\" value=\"{push}\"></fieldset>\
         {fields}\
         <label class=\"choice consent\"><input type=\"checkbox\" name=\"consent\" value=\"yes\" required{consent}{c_invalid}> {consent_label}</label>\
         <button type=\"submit\">{submit}</button></form>",
        code = lang.code(),
        links = language_links("/register", lang),
        title = escape(lang.say(Msg::PageTitle)),
        intro = escape(lang.say(Msg::WebIntro)),
        errors = errors_html(lang, errors),
        email_label = escape(lang.say(Msg::EmailLabel)),
        email = escape(&values.email),
        e_invalid = invalid(errors, "email"),
        push_label = escape(lang.say(Msg::PushLabel)),
        push_button = escape(lang.say(Msg::PushButton)),
        push_denied = escape(lang.say(Msg::PushDenied)),
        push_unsupported = escape(lang.say(Msg::PushUnsupported)),
        push_failed = escape(lang.say(Msg::PushFailed)),
        push_ready_text = escape(lang.say(Msg::PushReady)),
        push = escape(&values.push),
        fields = profile_fields(config, lang, values, errors),
        c_invalid = invalid(errors, "consent"),
        consent_label = escape(lang.say(Msg::ConsentLabel)),
        submit = escape(lang.say(Msg::SubmitButton)),
    );
    page(lang, lang.say(Msg::PageTitle), &body)
}

pub(super) fn preferences_form(
    config: &Config,
    token: &str,
    lang: Language,
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
        title = escape(lang.say(Msg::PrefsTitle)),
        errors = errors_html(lang, errors),
        fields = profile_fields(config, lang, values, errors),
        t_invalid = invalid(errors, "topics"),
        topics = escape(lang.say(Msg::Topics)),
        topic_boxes = checkbox_list(lang, "topics", &config.interests, &values.topics),
        q_invalid = invalid(errors, "quiet"),
        quiet = escape(lang.say(Msg::Quiet)),
        from = escape(&values.quiet_from),
        until = escape(&values.quiet_until),
        none = escape(lang.say(Msg::QuietNone)),
        paused_label = escape(lang.say(Msg::PausedLabel)),
        save = escape(lang.say(Msg::SaveButton)),
        delete = escape(lang.say(Msg::DeleteAll)),
    );
    page(lang, lang.say(Msg::PrefsTitle), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_have_no_inline_script_or_style() {
        let config = Config::from_parts(None, &Default::default()).expect("defaults");
        let html = register_form(&config, Language::Ja, &Values::default(), &[]);
        assert!(!html.contains("<style"));
        assert!(!html.contains("style="));
        assert!(!html.contains("<script>"));
        assert!(html.contains("<script src=\"/register.js\" defer></script>"));
        for district in &config.districts {
            assert!(html.contains(&format!("<option value=\"{district}\">")));
        }
    }
}
