//! What an emergency looks like on each channel, in each language: rendered once per emergency and stored in
//! `delivery_contents`, so a retry after a restart sends exactly what the first attempt sent.

use std::collections::BTreeMap;

use channels::line::limits;

use super::safety::{self, Answer};
use super::store::StoredEmergency;
use super::{AlertKind, Language};
use crate::chat::ChatService;
use crate::html::escape;
use crate::render::{LineChoice, Rendered, city_name};
use crate::residents::ChannelKind;

/// The language key of a city-wide LINE broadcast's content (every language in one request).
pub const ALL_LANGUAGES: &str = "all";

fn is_japanese(language: Language) -> bool {
    matches!(language, Language::Ja | Language::JaEasy)
}

/// `【緊急】` before a Japanese title, `[EMERGENCY] ` before others.
fn prefix(language: Language) -> &'static str {
    if is_japanese(language) {
        "【緊急】"
    } else {
        "[EMERGENCY] "
    }
}

/// The safety question under an alert or update (none under a cancellation).
fn prompt(language: Language) -> &'static str {
    match language {
        Language::Ja => "ご無事ですか。下の「無事です」「助けが必要」のボタンでお知らせください。",
        Language::JaEasy => {
            "だいじょうぶですか。したの「無事です」「助けが必要」の ボタンを おして ください。"
        }
        Language::En => "Are you safe? Please tell us with the buttons below.",
        Language::Zh => "您安全吗？请用下面的按钮告诉我们。",
        Language::Ko => "무사하십니까? 아래 버튼으로 알려 주세요.",
        Language::Vi => "Bạn có an toàn không? Hãy cho chúng tôi biết bằng các nút bên dưới.",
    }
}

fn email_note(language: Language, chat_url: &str) -> String {
    match language {
        Language::Ja | Language::JaEasy => format!(
            "安否確認: LINEの「無事です」「助けが必要」のボタン、または {chat_url} からお知らせください。"
        ),
        _ => format!(
            "Safety check: please answer with the LINE buttons 「無事です」 (I'm safe) / 「助けが必要」 \
             (I need help), or at {chat_url}"
        ),
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// Whether residents are asked if they are safe (not under a cancellation).
pub fn asks_safety(emergency: &StoredEmergency) -> bool {
    emergency.kind != AlertKind::Cancel
}

/// The LINE text of one language.
pub fn line_text(emergency: &StoredEmergency, language: Language) -> String {
    let alert = emergency.alert();
    let text = emergency
        .text
        .get(language)
        .unwrap_or_else(|| emergency.text.japanese());
    let mut out = format!(
        "{}{}\n\n{}",
        prefix(language),
        alert.marked_title(language.code()),
        text.body
    );
    if asks_safety(emergency) {
        out.push_str("\n\n");
        out.push_str(prompt(language));
    }
    truncate(&out, limits::TEXT_MAX_CHARS)
}

/// The quick replies 「無事です」「助けが必要」 (in the resident's language), signed so they cannot be forged.
pub fn line_choices(
    chat: &ChatService,
    emergency: &StoredEmergency,
    language: Language,
) -> Vec<LineChoice> {
    if !asks_safety(emergency) {
        return Vec::new();
    }
    [Answer::Safe, Answer::NeedHelp]
        .into_iter()
        .map(|answer| {
            let label = answer.label(language).to_owned();
            LineChoice {
                display_text: label.clone(),
                label,
                data: safety::postback_data(chat, emergency.id, answer),
            }
        })
        .collect()
}

/// Every rendered content of an emergency by (channel, language): LINE, email and push in each language it has,
/// and for a city-wide LINE broadcast one content with every language (key [`ALL_LANGUAGES`]).
pub fn render_all(
    chat: &ChatService,
    emergency: &StoredEmergency,
    public_url: &str,
) -> BTreeMap<(ChannelKind, String), Rendered> {
    let chat_url = format!("{public_url}/chat");
    let alert = emergency.alert();
    let mut contents = BTreeMap::new();
    for (language, text) in emergency.text.iter() {
        let code = language.code().to_owned();
        let city = city_name(language.code());
        let title = alert.marked_title(language.code());
        contents.insert(
            (ChannelKind::Line, code.clone()),
            Rendered::LineAlert {
                messages: vec![line_text(emergency, language)],
                choices: line_choices(chat, emergency, language),
            },
        );
        let subject = if is_japanese(language) {
            format!("{}{title}（{city}）", prefix(language))
        } else {
            format!("{}{title} ({city})", prefix(language))
        };
        let note = asks_safety(emergency).then(|| email_note(language, &chat_url));
        let mut plain = format!("{title}\n\n{}", text.body);
        let mut html = format!(
            "<!DOCTYPE html>\n<html lang=\"{code}\"><body>\n<h1 style=\"color:#b00020\">{}</h1>\n\
             <div style=\"white-space: pre-wrap\">{}</div>\n",
            escape(&format!("{}{title}", prefix(language))),
            escape(&text.body)
        );
        if let Some(note) = &note {
            plain.push_str(&format!("\n\n{note}"));
            html.push_str(&format!("<p><strong>{}</strong></p>\n", escape(note)));
        }
        plain.push_str(&format!("\n\n--\n{city}"));
        html.push_str(&format!("<hr><p>{}</p>\n</body></html>", escape(city)));
        contents.insert(
            (ChannelKind::Email, code.clone()),
            Rendered::Email {
                subject: subject.replace(['\r', '\n'], " "),
                text: plain,
                html,
            },
        );
        contents.insert(
            (ChannelKind::Push, code),
            Rendered::Push {
                title: truncate(&format!("{}{title}", prefix(language)), 120),
                body: truncate(&text.body, 600),
                url: Some(chat_url.clone()),
            },
        );
    }
    if emergency.line_broadcast {
        contents.insert(
            (ChannelKind::Line, ALL_LANGUAGES.to_owned()),
            Rendered::LineAlert {
                messages: broadcast_messages(emergency),
                choices: line_choices(chat, emergency, Language::Ja),
            },
        );
    }
    contents
}

/// One request to every friend: each language as its own message (Japanese first), at most 5 (the rest are
/// joined into the last).
fn broadcast_messages(emergency: &StoredEmergency) -> Vec<String> {
    let mut texts: Vec<String> = emergency
        .text
        .languages()
        .into_iter()
        .map(|language| line_text(emergency, language))
        .collect();
    if texts.len() > limits::MESSAGES_PER_REQUEST {
        let rest = texts.split_off(limits::MESSAGES_PER_REQUEST - 1);
        texts.push(truncate(&rest.join("\n\n――――\n\n"), limits::TEXT_MAX_CHARS));
    }
    texts
}

/// The banner for open web chat pages (`{"type": "emergency", …}`), with the two safety buttons.
pub fn banner(emergency: &StoredEmergency) -> serde_json::Value {
    let alert = emergency.alert();
    let texts: BTreeMap<&str, serde_json::Value> = emergency
        .text
        .iter()
        .map(|(language, text)| {
            (
                language.code(),
                serde_json::json!({
                    "title": alert.marked_title(language.code()),
                    "body": text.body,
                }),
            )
        })
        .collect();
    let choices: Vec<serde_json::Value> = if asks_safety(emergency) {
        [Answer::Safe, Answer::NeedHelp]
            .into_iter()
            .map(|answer| {
                serde_json::json!({"answer": answer.as_str(), "label": answer.label(Language::Ja)})
            })
            .collect()
    } else {
        Vec::new()
    };
    serde_json::json!({
        "type": "emergency",
        "id": emergency.id,
        "kind": emergency.kind,
        "severity": emergency.severity,
        "title": alert.marked_title("ja"),
        "body": emergency.text.japanese().body,
        "texts": texts,
        "choices": choices,
    })
}
