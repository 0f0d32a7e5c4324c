//! LINE ids and message objects, checked on construction against the limits of the Messaging API.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A LINE user id: `U` followed by 32 lowercase hex digits (as given in webhook `source.userId`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct LineUserId(String);

/// A value that is not a LINE user id, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid LINE user id {value:?}: {problem} (expected `U` and 32 lowercase hex digits)")]
pub struct LineUserIdError {
    pub value: String,
    pub problem: &'static str,
}

impl LineUserId {
    pub fn parse(s: &str) -> Result<Self, LineUserIdError> {
        let err = |problem| LineUserIdError {
            value: s.chars().take(64).collect(),
            problem,
        };
        let rest = s
            .strip_prefix('U')
            .ok_or_else(|| err("does not start with `U`"))?;
        if rest.len() != 32 {
            return Err(err("wrong length"));
        }
        if !rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(err("not lowercase hex after `U`"));
        }
        Ok(LineUserId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for LineUserId {
    type Err = LineUserIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LineUserId::parse(s)
    }
}

impl TryFrom<String> for LineUserId {
    type Error = LineUserIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        LineUserId::parse(&s)
    }
}

impl<'de> Deserialize<'de> for LineUserId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        LineUserId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for LineUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for LineUserId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A message or quick reply that breaks LINE's limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid LINE message: {field}: {problem}")]
pub struct LineMessageError {
    pub field: &'static str,
    pub problem: String,
}

fn check_len(field: &'static str, s: &str, min: usize, max: usize) -> Result<(), LineMessageError> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(LineMessageError {
            field,
            problem: format!("{n} characters, allowed {min}..={max}"),
        });
    }
    Ok(())
}

/// Limits from the Messaging API reference.
pub mod limits {
    pub const TEXT_MAX_CHARS: usize = 5000;
    pub const ALT_TEXT_MAX_CHARS: usize = 1500;
    pub const QUICK_REPLY_MAX_ITEMS: usize = 13;
    pub const ACTION_LABEL_MAX_CHARS: usize = 20;
    pub const POSTBACK_DATA_MAX_CHARS: usize = 300;
    pub const MESSAGES_PER_REQUEST: usize = 5;
    pub const MULTICAST_MAX_RECIPIENTS: usize = 500;
}

/// A message object (`text` or `flex`), with an optional quick reply.
///
/// Serializes exactly as the Messaging API's `Message` schema (`TextMessage`, `FlexMessage`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum LineMessage {
    #[serde(rename = "text", rename_all = "camelCase")]
    Text {
        text: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        quick_reply: Option<QuickReply>,
    },
    #[serde(rename = "flex", rename_all = "camelCase")]
    Flex {
        alt_text: String,
        /// A Flex container (`{"type": "bubble", …}` or `{"type": "carousel", …}`).
        contents: serde_json::Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        quick_reply: Option<QuickReply>,
    },
}

impl LineMessage {
    /// A text message: 1 to 5,000 characters.
    pub fn text(text: impl Into<String>) -> Result<Self, LineMessageError> {
        let text = text.into();
        check_len("text", &text, 1, limits::TEXT_MAX_CHARS)?;
        Ok(LineMessage::Text {
            text,
            quick_reply: None,
        })
    }

    /// A Flex message: `alt_text` 1 to 1,500 characters, `contents` a bubble or carousel container.
    pub fn flex(
        alt_text: impl Into<String>,
        contents: serde_json::Value,
    ) -> Result<Self, LineMessageError> {
        let alt_text = alt_text.into();
        check_len("altText", &alt_text, 1, limits::ALT_TEXT_MAX_CHARS)?;
        match contents.get("type").and_then(|t| t.as_str()) {
            Some("bubble" | "carousel") => {}
            other => {
                return Err(LineMessageError {
                    field: "contents.type",
                    problem: format!("must be \"bubble\" or \"carousel\", got {other:?}"),
                });
            }
        }
        Ok(LineMessage::Flex {
            alt_text,
            contents,
            quick_reply: None,
        })
    }

    /// Attaches quick reply buttons (shown under the message).
    pub fn with_quick_reply(mut self, qr: QuickReply) -> Self {
        match &mut self {
            LineMessage::Text { quick_reply, .. } | LineMessage::Flex { quick_reply, .. } => {
                *quick_reply = Some(qr)
            }
        }
        self
    }
}

/// Quick reply buttons: at most 13.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuickReply {
    items: Vec<QuickReplyItem>,
}

impl QuickReply {
    pub fn new(items: Vec<QuickReplyItem>) -> Result<Self, LineMessageError> {
        if items.is_empty() || items.len() > limits::QUICK_REPLY_MAX_ITEMS {
            return Err(LineMessageError {
                field: "quickReply.items",
                problem: format!(
                    "{} items, allowed 1..={}",
                    items.len(),
                    limits::QUICK_REPLY_MAX_ITEMS
                ),
            });
        }
        Ok(QuickReply { items })
    }

    pub fn items(&self) -> &[QuickReplyItem] {
        &self.items
    }
}

/// One quick reply button (`{"type": "action", "action": {…}}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuickReplyItem {
    #[serde(rename = "type")]
    kind: &'static str,
    action: Action,
}

/// The actions the hub uses in quick replies.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum Action {
    /// Sends `text` as the user's message when tapped.
    #[serde(rename = "message")]
    Message { label: String, text: String },
    /// Sends a postback event with `data`; `displayText` is shown as the user's message.
    #[serde(rename = "postback", rename_all = "camelCase")]
    Postback {
        label: String,
        data: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        display_text: Option<String>,
    },
    /// Opens `uri` (http, https, line or tel) when tapped.
    #[serde(rename = "uri")]
    Uri { label: String, uri: String },
}

impl QuickReplyItem {
    /// A message action: `label` 1 to 20 characters, `text` 1 to 300.
    pub fn message(
        label: impl Into<String>,
        text: impl Into<String>,
    ) -> Result<Self, LineMessageError> {
        let (label, text) = (label.into(), text.into());
        check_len("action.label", &label, 1, limits::ACTION_LABEL_MAX_CHARS)?;
        check_len("action.text", &text, 1, 300)?;
        Ok(QuickReplyItem {
            kind: "action",
            action: Action::Message { label, text },
        })
    }

    /// A postback action: `label` 1 to 20 characters, `data` up to 300, `display_text` 1 to 300.
    pub fn postback(
        label: impl Into<String>,
        data: impl Into<String>,
        display_text: Option<String>,
    ) -> Result<Self, LineMessageError> {
        let (label, data) = (label.into(), data.into());
        check_len("action.label", &label, 1, limits::ACTION_LABEL_MAX_CHARS)?;
        check_len("action.data", &data, 0, limits::POSTBACK_DATA_MAX_CHARS)?;
        if let Some(d) = &display_text {
            check_len("action.displayText", d, 1, 300)?;
        }
        Ok(QuickReplyItem {
            kind: "action",
            action: Action::Postback {
                label,
                data,
                display_text,
            },
        })
    }

    /// A URI action: `label` 1 to 20 characters, `uri` up to 1000 with an http(s), line or tel scheme.
    pub fn uri(label: impl Into<String>, uri: impl Into<String>) -> Result<Self, LineMessageError> {
        let (label, uri) = (label.into(), uri.into());
        check_len("action.label", &label, 1, limits::ACTION_LABEL_MAX_CHARS)?;
        check_len("action.uri", &uri, 1, 1000)?;
        if !["http://", "https://", "line://", "tel:"]
            .iter()
            .any(|scheme| uri.starts_with(scheme))
        {
            return Err(LineMessageError {
                field: "action.uri",
                problem: format!("{uri:?} must start with http://, https://, line:// or tel:"),
            });
        }
        Ok(QuickReplyItem {
            kind: "action",
            action: Action::Uri { label, uri },
        })
    }

    pub fn action(&self) -> &Action {
        &self.action
    }
}

/// Checks the message list of one request: 1 to 5 messages.
pub(crate) fn check_messages(messages: &[LineMessage]) -> Result<(), LineMessageError> {
    if messages.is_empty() || messages.len() > limits::MESSAGES_PER_REQUEST {
        return Err(LineMessageError {
            field: "messages",
            problem: format!(
                "{} messages, allowed 1..={}",
                messages.len(),
                limits::MESSAGES_PER_REQUEST
            ),
        });
    }
    Ok(())
}

/// `GET /v2/bot/message/quota`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageQuota {
    /// `none` (no limit) or `limited`.
    #[serde(rename = "type")]
    pub kind: QuotaType,
    /// The monthly target limit when `limited`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaType {
    None,
    Limited,
}

/// `GET /v2/bot/message/quota/consumption`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaConsumption {
    pub total_usage: i64,
}

/// One entry of `sentMessages` in push and reply responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentMessage {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_parses_on_construction() {
        assert!(LineUserId::parse("U0123456789abcdef0123456789abcdef").is_ok());
        let e = LineUserId::parse("U0123456789ABCDEF0123456789abcdef").unwrap_err();
        assert!(e.to_string().contains("lowercase hex"), "{e}");
        assert!(LineUserId::parse("C0123456789abcdef0123456789abcdef").is_err());
        assert!(LineUserId::parse("U0123").is_err());
        assert!(serde_json::from_str::<LineUserId>("\"Uxyz\"").is_err());
    }

    #[test]
    fn messages_serialize_like_the_spec() {
        let qr = QuickReply::new(vec![
            QuickReplyItem::message("無事です", "無事です").unwrap(),
            QuickReplyItem::postback("助けが必要", "safety=need_help", Some("助けが必要".into()))
                .unwrap(),
        ])
        .unwrap();
        let m = LineMessage::text("避難指示").unwrap().with_quick_reply(qr);
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(j["type"], "text");
        assert_eq!(j["quickReply"]["items"][0]["type"], "action");
        assert_eq!(j["quickReply"]["items"][1]["action"]["type"], "postback");
        assert_eq!(
            j["quickReply"]["items"][1]["action"]["displayText"],
            "助けが必要"
        );
        let f = LineMessage::flex("お知らせ", serde_json::json!({"type": "bubble"})).unwrap();
        assert_eq!(serde_json::to_value(&f).unwrap()["altText"], "お知らせ");
        assert!(LineMessage::flex("x", serde_json::json!({"type": "box"})).is_err());
        assert!(LineMessage::text("").is_err());
        let too_many = (0..14)
            .map(|i| QuickReplyItem::message(format!("{i}"), "x").unwrap())
            .collect();
        assert!(QuickReply::new(too_many).is_err());
    }
}
