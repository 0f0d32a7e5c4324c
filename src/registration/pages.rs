//! The registration pages' HTML: the sign-up form, the preferences form, and the one-line message pages, in the
//! resident's language, framed by [`crate::html::Page`] with `/register.css` and `/register.js` (nothing inline).

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::AgeBand;
use super::form::{FieldError, Values};
use super::texts::{Key, LANGUAGE_NAMES, t};
use crate::config::Config;
use crate::html::{Page, escape, lang_attribute};

/// A registration page: the resident's language, the registration stylesheet and script, `body` in `<main>`.
fn page(lang: &str, title: &str, body: &str) -> String {
    Page::new(lang, title)
        .stylesheet("/register.css")
        .script("/register.js")
        .render(&format!("<main>{body}</main>"))
}

pub(super) fn message_page(status: StatusCode, lang: &str, text: &str) -> Response {
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
                    lang_attribute(code),
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

pub(super) fn register_form(
    config: &Config,
    lang: &str,
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

pub(super) fn preferences_form(
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

#[cfg(test)]
mod tests {
    use super::*;

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
