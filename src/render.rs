//! Templates: what a notice looks like on each channel, in each language (handlebars 6).
//!
//! A notice may bring its own templates per channel; the defaults below apply otherwise. Every template is
//! rendered for every language of the notice when the notice is saved ([`check_all`]), so a template that does
//! not render is a 400 then and never a failure at send time. Templates see `title`, `body`, `city`, `language`
//! and `notice_id`; strict mode makes an unknown variable an error. HTML (the email's HTML part) is escaped;
//! text channels are not.

use std::collections::BTreeMap;

use handlebars::Handlebars;
use serde::{Deserialize, Serialize};

use crate::residents::ChannelKind;

/// Templates a notice may override, per channel. Missing parts use the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeTemplates {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<LineTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webchat: Option<WebchatTemplate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineTemplate {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplate {
    pub subject: String,
    pub text: String,
    /// Rendered with HTML escaping (`{{body}}` is escaped; `{{{body}}}` is not — avoid it).
    pub html: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushTemplate {
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebchatTemplate {
    pub text: String,
}

const DEFAULT_LINE_TEXT: &str = "【{{city}}】{{title}}\n\n{{body}}";
const DEFAULT_EMAIL_SUBJECT: &str = "【{{city}}】{{title}}";
const DEFAULT_EMAIL_TEXT: &str = "{{title}}\n\n{{body}}\n\n--\n{{city}}";
const DEFAULT_EMAIL_HTML: &str = "<!DOCTYPE html>\n<html lang=\"{{language}}\"><body>\n<h1>{{title}}</h1>\n\
<div style=\"white-space: pre-wrap\">{{body}}</div>\n<hr><p>{{city}}</p>\n</body></html>";
const DEFAULT_PUSH_TITLE: &str = "{{title}}";
const DEFAULT_PUSH_BODY: &str = "{{body}}";
const DEFAULT_WEBCHAT_TEXT: &str = "【{{city}}】{{title}}\n{{body}}";

/// The city's name as residents read it in their language.
pub fn city_name(language: &str) -> &'static str {
    match language {
        "en" => "Yukuhashi City",
        "zh" => "行桥市",
        "ko" => "유쿠하시시",
        "vi" => "Thành phố Yukuhashi",
        "ja-easy" => "ゆくはしし",
        _ => "行橋市",
    }
}

/// A message ready for one channel: what is stored in the outbox and sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "channel", rename_all = "lowercase")]
pub enum Rendered {
    Line {
        text: String,
    },
    Email {
        subject: String,
        text: String,
        html: String,
    },
    Push {
        title: String,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    Webchat {
        text: String,
    },
    /// An emergency on LINE: one text message per entry (a broadcast carries each language as its own message,
    /// at most 5) with postback quick replies on the last one (the safety confirmation).
    #[serde(rename = "line_alert")]
    LineAlert {
        messages: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        choices: Vec<LineChoice>,
    },
}

/// A postback quick reply: the button's label, the signed data LINE sends back, the text shown as the user's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineChoice {
    pub label: String,
    pub data: String,
    pub display_text: String,
}

impl Rendered {
    /// The LINE messages of a `Line` or `LineAlert` content, checked against LINE's limits.
    pub fn line_messages(
        &self,
    ) -> Result<Vec<channels::line::LineMessage>, channels::line::LineMessageError> {
        use channels::line::{LineMessage, QuickReply, QuickReplyItem};
        match self {
            Rendered::Line { text } => Ok(vec![LineMessage::text(text.clone())?]),
            Rendered::LineAlert { messages, choices } => {
                let mut out = messages
                    .iter()
                    .map(|text| LineMessage::text(text.clone()))
                    .collect::<Result<Vec<_>, _>>()?;
                if !choices.is_empty()
                    && let Some(last) = out.pop()
                {
                    let items = choices
                        .iter()
                        .map(|c| {
                            QuickReplyItem::postback(
                                c.label.clone(),
                                c.data.clone(),
                                Some(c.display_text.clone()),
                            )
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    out.push(last.with_quick_reply(QuickReply::new(items)?));
                }
                Ok(out)
            }
            _ => Err(channels::line::LineMessageError {
                field: "content",
                problem: "the stored content is not a LINE message".into(),
            }),
        }
    }
}

/// A template that does not render: which channel, language and part, and the template engine's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {channel} template `{part}` for language {language} does not render: {message}")]
pub struct RenderError {
    pub channel: ChannelKind,
    pub language: String,
    pub part: &'static str,
    pub message: String,
}

impl RenderError {
    /// The JSON path of the template part, for `{"field": …}` in a 400.
    pub fn field(&self) -> String {
        format!("templates.{}.{}", self.channel, self.part)
    }
}

/// What a template sees.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateData<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub city: &'a str,
    pub language: &'a str,
    pub notice_id: i64,
}

fn engine(escape_html: bool) -> Handlebars<'static> {
    let mut engine = Handlebars::new();
    engine.set_strict_mode(true);
    if !escape_html {
        engine.register_escape_fn(handlebars::no_escape);
    }
    engine
}

struct Part<'a> {
    name: &'static str,
    template: &'a str,
    html: bool,
}

fn render_part(
    channel: ChannelKind,
    part: &Part<'_>,
    data: &TemplateData<'_>,
) -> Result<String, RenderError> {
    engine(part.html)
        .render_template(part.template, data)
        .map(|text| text.trim().to_owned())
        .map_err(|error| RenderError {
            channel,
            language: data.language.to_owned(),
            part: part.name,
            message: error.to_string(),
        })
}

/// Renders a notice for one channel and language.
pub fn render(
    templates: &NoticeTemplates,
    channel: ChannelKind,
    data: &TemplateData<'_>,
    push_url: Option<&str>,
) -> Result<Rendered, RenderError> {
    let part = |name, template, html| Part {
        name,
        template,
        html,
    };
    let rendered = match channel {
        ChannelKind::Line => {
            let text = templates
                .line
                .as_ref()
                .map_or(DEFAULT_LINE_TEXT, |t| t.text.as_str());
            let text = render_part(channel, &part("text", text, false), data)?;
            if let Err(error) = channels::line::LineMessage::text(text.clone()) {
                return Err(RenderError {
                    channel,
                    language: data.language.to_owned(),
                    part: "text",
                    message: error.to_string(),
                });
            }
            Rendered::Line { text }
        }
        ChannelKind::Email => {
            let (subject, text, html) = match &templates.email {
                Some(t) => (t.subject.as_str(), t.text.as_str(), t.html.as_str()),
                None => (
                    DEFAULT_EMAIL_SUBJECT,
                    DEFAULT_EMAIL_TEXT,
                    DEFAULT_EMAIL_HTML,
                ),
            };
            let subject = render_part(channel, &part("subject", subject, false), data)?;
            if subject.contains(['\r', '\n']) {
                return Err(RenderError {
                    channel,
                    language: data.language.to_owned(),
                    part: "subject",
                    message: "the subject must be one line".into(),
                });
            }
            Rendered::Email {
                subject,
                text: render_part(channel, &part("text", text, false), data)?,
                html: render_part(channel, &part("html", html, true), data)?,
            }
        }
        ChannelKind::Push => {
            let (title, body) = match &templates.push {
                Some(t) => (t.title.as_str(), t.body.as_str()),
                None => (DEFAULT_PUSH_TITLE, DEFAULT_PUSH_BODY),
            };
            let title = render_part(channel, &part("title", title, false), data)?;
            let body = render_part(channel, &part("body", body, false), data)?;
            let message = channels::push::PushMessage::notification(&title, &body, push_url);
            if message.payload.len() > channels::push::MAX_PAYLOAD {
                return Err(RenderError {
                    channel,
                    language: data.language.to_owned(),
                    part: "body",
                    message: format!(
                        "the push payload is {} bytes; at most {} fit one message",
                        message.payload.len(),
                        channels::push::MAX_PAYLOAD
                    ),
                });
            }
            Rendered::Push {
                title,
                body,
                url: push_url.map(str::to_owned),
            }
        }
        ChannelKind::Webchat => {
            let text = templates
                .webchat
                .as_ref()
                .map_or(DEFAULT_WEBCHAT_TEXT, |t| t.text.as_str());
            Rendered::Webchat {
                text: render_part(channel, &part("text", text, false), data)?,
            }
        }
    };
    Ok(rendered)
}

/// Renders every channel in every language of `body`: the check when a notice is saved.
pub fn check_all(
    templates: &NoticeTemplates,
    channels: &[ChannelKind],
    title: &str,
    body: &BTreeMap<String, String>,
) -> Result<(), RenderError> {
    for (language, text) in body {
        let data = TemplateData {
            title,
            body: text,
            city: city_name(language),
            language,
            notice_id: 0,
        };
        for channel in channels {
            render(templates, *channel, &data, Some("https://example.invalid/"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data<'a>(body: &'a str) -> TemplateData<'a> {
        TemplateData {
            title: "防災訓練 <土曜>",
            body,
            city: city_name("ja"),
            language: "ja",
            notice_id: 7,
        }
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let rendered = render(
            &NoticeTemplates::default(),
            ChannelKind::Email,
            &data("9時 & 10時 <集合>"),
            None,
        )
        .expect("renders");
        let Rendered::Email {
            subject,
            text,
            html,
        } = rendered
        else {
            panic!("an email");
        };
        assert_eq!(subject, "【行橋市】防災訓練 <土曜>");
        assert!(text.contains("9時 & 10時 <集合>"));
        assert!(html.contains("9時 &amp; 10時 &lt;集合&gt;"), "{html}");
        assert!(!html.contains("<集合>"));
    }

    #[test]
    fn broken_and_unknown_variables_are_errors_with_their_place() {
        let templates = NoticeTemplates {
            email: Some(EmailTemplate {
                subject: "{{title}}".into(),
                text: "{{#if body}}unclosed".into(),
                html: "<p>{{body}}</p>".into(),
            }),
            ..NoticeTemplates::default()
        };
        let error = render(&templates, ChannelKind::Email, &data("x"), None).expect_err("broken");
        assert_eq!(error.field(), "templates.email.text");
        let templates = NoticeTemplates {
            line: Some(LineTemplate {
                text: "{{greeting}} {{title}}".into(),
            }),
            ..NoticeTemplates::default()
        };
        let error = render(&templates, ChannelKind::Line, &data("x"), None).expect_err("unknown");
        assert_eq!(error.field(), "templates.line.text");
        assert!(error.message.contains("greeting"), "{}", error.message);
    }

    #[test]
    fn line_text_over_the_limit_is_refused() {
        let long = "あ".repeat(5001);
        let error = render(
            &NoticeTemplates::default(),
            ChannelKind::Line,
            &data(&long),
            None,
        )
        .expect_err("too long");
        assert_eq!(error.channel, ChannelKind::Line);
    }
}
