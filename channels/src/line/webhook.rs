//! Inbound LINE webhooks: signature verification and the event types the hub handles
//! (per `spec/line-openapi/webhook.yml`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::types::LineUserId;

/// Computes the `x-line-signature` of a body: base64(HMAC-SHA256(channel secret, raw body)).
pub fn sign(channel_secret: &str, raw_body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(channel_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(raw_body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks the `x-line-signature` header of a webhook against the raw body, in constant time.
/// Verify before parsing: a `false` means answer 401 and do nothing else.
pub fn verify_signature(channel_secret: &str, raw_body: &[u8], header: &str) -> bool {
    let Ok(given) = STANDARD.decode(header.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(channel_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(raw_body);
    let expected = mac.finalize().into_bytes();
    given.len() == expected.len() && bool::from(expected.as_slice().ct_eq(&given))
}

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("LINE webhook: the x-line-signature does not match the body")]
    BadSignature,
    #[error("LINE webhook: malformed body at line {line}, column {column}: {message}")]
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
}

/// Verifies the signature, then parses the body. The empty verification call (`"events": []`) parses fine.
pub fn parse_webhook(
    channel_secret: &str,
    raw_body: &[u8],
    signature_header: &str,
) -> Result<WebhookRequest, WebhookError> {
    if !verify_signature(channel_secret, raw_body, signature_header) {
        return Err(WebhookError::BadSignature);
    }
    serde_json::from_slice(raw_body).map_err(|e| WebhookError::Malformed {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// `CallbackRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookRequest {
    /// The bot's user id.
    pub destination: String,
    pub events: Vec<Event>,
}

/// A webhook event: the common fields and the kind-specific part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(flatten)]
    pub kind: EventKind,
    #[serde(default)]
    pub source: Option<Source>,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub mode: EventMode,
    /// Stable across redeliveries: answer an event id once.
    pub webhook_event_id: String,
    pub delivery_context: DeliveryContext,
}

impl Event {
    /// The reply token of message, follow and postback events.
    pub fn reply_token(&self) -> Option<&str> {
        match &self.kind {
            EventKind::Message { reply_token, .. }
            | EventKind::Follow { reply_token, .. }
            | EventKind::Postback { reply_token, .. } => reply_token.as_deref(),
            EventKind::Unfollow | EventKind::Other => None,
        }
    }

    /// The sender's user id, when present and well-formed.
    pub fn user_id(&self) -> Option<LineUserId> {
        self.source
            .as_ref()
            .and_then(Source::user_id)
            .and_then(|u| LineUserId::parse(u).ok())
    }

    /// `deliveryContext.isRedelivery`.
    pub fn is_redelivery(&self) -> bool {
        self.delivery_context.is_redelivery
    }
}

/// The event types the hub handles; any other type parses as `Other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum EventKind {
    #[serde(rename_all = "camelCase")]
    Message {
        #[serde(default)]
        reply_token: Option<String>,
        message: MessageContent,
    },
    #[serde(rename_all = "camelCase")]
    Follow {
        #[serde(default)]
        reply_token: Option<String>,
        #[serde(default)]
        follow: Option<FollowDetail>,
    },
    Unfollow,
    #[serde(rename_all = "camelCase")]
    Postback {
        #[serde(default)]
        reply_token: Option<String>,
        postback: PostbackContent,
    },
    #[serde(other)]
    Other,
}

/// `MessageContent`: text is parsed, other message types are `Other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum MessageContent {
    #[serde(rename_all = "camelCase")]
    Text {
        id: String,
        text: String,
        #[serde(default)]
        quote_token: Option<String>,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowDetail {
    pub is_unblocked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostbackContent {
    pub data: String,
    #[serde(default)]
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `Source`: user, group or room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Source {
    #[serde(rename_all = "camelCase")]
    User {
        #[serde(default)]
        user_id: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Group {
        group_id: String,
        #[serde(default)]
        user_id: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Room {
        room_id: String,
        #[serde(default)]
        user_id: Option<String>,
    },
    #[serde(other)]
    Other,
}

impl Source {
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Source::User { user_id }
            | Source::Group { user_id, .. }
            | Source::Room { user_id, .. } => user_id.as_deref(),
            Source::Other => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventMode {
    Active,
    Standby,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryContext {
    pub is_redelivery: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{
      "destination": "U00000000000000000000000000000000",
      "events": [
        {"type": "message", "message": {"type": "text", "id": "468789577898262530", "quoteToken": "q", "text": "じゅうみんひょうをとりたい"},
         "webhookEventId": "01H810YECXQQZ37VAXPF6H9E6T", "deliveryContext": {"isRedelivery": false},
         "timestamp": 1692251666727, "source": {"type": "user", "userId": "U4af4980629abcdef4af4980629abcdef"},
         "replyToken": "38ef843bde154d9b91c21320ffd17a0f", "mode": "active"},
        {"type": "follow", "replyToken": "r2", "follow": {"isUnblocked": false}, "mode": "active", "timestamp": 1,
         "source": {"type": "user", "userId": "U4af4980629abcdef4af4980629abcdef"}, "webhookEventId": "e2",
         "deliveryContext": {"isRedelivery": true}},
        {"type": "unfollow", "mode": "active", "timestamp": 2, "source": {"type": "user", "userId": "U4af4980629abcdef4af4980629abcdef"},
         "webhookEventId": "e3", "deliveryContext": {"isRedelivery": false}},
        {"type": "postback", "replyToken": "r4", "postback": {"data": "safety=ok"}, "mode": "active", "timestamp": 3,
         "source": {"type": "group", "groupId": "Cxx", "userId": "U4af4980629abcdef4af4980629abcdef"}, "webhookEventId": "e4",
         "deliveryContext": {"isRedelivery": false}},
        {"type": "beacon", "replyToken": "r5", "beacon": {"hwid": "d41d8cd98f", "type": "enter"}, "mode": "active",
         "timestamp": 4, "source": {"type": "user", "userId": "U4af4980629abcdef4af4980629abcdef"}, "webhookEventId": "e5",
         "deliveryContext": {"isRedelivery": false}},
        {"type": "message", "message": {"type": "sticker", "id": "1", "packageId": "1", "stickerId": "1"}, "mode": "active",
         "timestamp": 5, "replyToken": "r6", "webhookEventId": "e6", "deliveryContext": {"isRedelivery": false}}
      ]
    }"#;

    #[test]
    fn signature_roundtrip_and_forgery() {
        let sig = sign("secret", BODY.as_bytes());
        assert!(verify_signature("secret", BODY.as_bytes(), &sig));
        assert!(!verify_signature("other", BODY.as_bytes(), &sig));
        assert!(!verify_signature("secret", b"{}", &sig));
        assert!(!verify_signature("secret", BODY.as_bytes(), "not base64!"));
        assert!(!verify_signature("secret", BODY.as_bytes(), ""));
        assert!(matches!(
            parse_webhook("secret", BODY.as_bytes(), "AAAA"),
            Err(WebhookError::BadSignature)
        ));
    }

    #[test]
    fn parses_the_events_the_hub_handles() {
        let sig = sign("s", BODY.as_bytes());
        let req = parse_webhook("s", BODY.as_bytes(), &sig).unwrap();
        let ev = &req.events;
        assert_eq!(ev.len(), 6);
        match &ev[0].kind {
            EventKind::Message {
                message: MessageContent::Text { text, .. },
                ..
            } => assert_eq!(text, "じゅうみんひょうをとりたい"),
            k => panic!("{k:?}"),
        }
        assert_eq!(
            ev[0].reply_token(),
            Some("38ef843bde154d9b91c21320ffd17a0f")
        );
        assert_eq!(
            ev[0].user_id().unwrap().as_str(),
            "U4af4980629abcdef4af4980629abcdef"
        );
        assert!(matches!(ev[1].kind, EventKind::Follow { .. }) && ev[1].is_redelivery());
        assert!(matches!(ev[2].kind, EventKind::Unfollow) && ev[2].reply_token().is_none());
        assert!(
            matches!(&ev[3].kind, EventKind::Postback { postback, .. } if postback.data == "safety=ok")
        );
        assert!(ev[3].user_id().is_some());
        assert!(matches!(ev[4].kind, EventKind::Other));
        assert!(matches!(
            ev[5].kind,
            EventKind::Message {
                message: MessageContent::Other,
                ..
            }
        ));
        assert!(ev[5].user_id().is_none());
        let empty = br#"{"destination":"U00000000000000000000000000000000","events":[]}"#;
        let r = parse_webhook("s", empty, &sign("s", empty)).unwrap();
        assert!(r.events.is_empty());
        let bad = br#"{"destination":1}"#;
        let e = parse_webhook("s", bad, &sign("s", bad)).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }
}
