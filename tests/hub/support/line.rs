//! The LINE side: webhook events signed as LINE signs them, sent to the hub, and the replies the hub sent to the
//! spec-validating LINE stand-in (`channels::testing::LineMock`).

use std::time::Duration;

use channels::line::webhook::sign;
use channels::testing::{AcceptedRequest, LineMock, OpenApi};
use serde_json::{Value, json};

use super::db::{Database, count};
use super::wait::eventually;
use super::{Api, Backend, TestApp, spawn_app_with};

/// The channel secret test hubs verify webhook signatures with.
pub const SECRET: &str = "test-line-channel-secret";
/// A LINE user id the chat tests write as.
pub const USER: &str = "U4af4980629abcdef4af4980629abcdef";

/// The settings that point a hub at `mock` and make it verify webhooks with [`SECRET`].
pub fn settings(mock: &LineMock) -> Vec<(&'static str, String)> {
    vec![
        ("HUB_LINE_API_BASE", mock.base_url()),
        ("HUB_LINE_CHANNEL_SECRET", SECRET.to_owned()),
        ("HUB_LINE_CHANNEL_TOKEN", mock.token()),
    ]
}

/// A hub wired to `mock` (see [`settings`]), with `extra` settings.
pub async fn line_app(backend: Backend, mock: &LineMock, extra: &[(&str, &str)]) -> TestApp {
    let settings = settings(mock);
    let mut all: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(extra);
    spawn_app_with(backend, &all).await
}

/// Copies `extra`'s keys into `base` (both JSON objects).
pub fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            base.insert(key.clone(), value.clone());
        }
    }
    base
}

/// An event from `user` (not a redelivery) of the kind `kind` describes (`{"type": …, …}`).
pub fn event(user: &str, event_id: &str, kind: Value) -> Value {
    with(
        json!({
            "mode": "active",
            "timestamp": 1_764_000_000_000_i64,
            "source": {"type": "user", "userId": user},
            "webhookEventId": event_id,
            "deliveryContext": {"isRedelivery": false},
        }),
        kind,
    )
}

/// A text message from [`USER`].
pub fn text_event(event_id: &str, reply_token: &str, text: &str, redelivery: bool) -> Value {
    let mut event = event(
        USER,
        event_id,
        json!({"type": "message", "replyToken": reply_token, "message": text_message(text)["message"]}),
    );
    event["deliveryContext"]["isRedelivery"] = json!(redelivery);
    event
}

/// A postback from [`USER`].
pub fn postback_event(event_id: &str, reply_token: &str, data: &str) -> Value {
    event(
        USER,
        event_id,
        json!({"type": "postback", "replyToken": reply_token, "postback": {"data": data}}),
    )
}

/// The kind of a text message event.
pub fn text_message(text: &str) -> Value {
    json!({"type": "message", "message": {"type": "text", "id": "468789577898262530", "quoteToken": "q", "text": text}})
}

/// The kind of a postback event.
pub fn postback(data: &str) -> Value {
    json!({"type": "postback", "postback": {"data": data}})
}

/// A webhook body carrying `events`, as LINE sends it: the body is checked against LINE's webhook spec
/// (`channels/spec/line-openapi/webhook.yml`, `CallbackRequest`) first, so a test cannot feed the hub an event
/// LINE would never send. (Bodies that are broken on purpose are written out as bytes by the tests that send
/// them.)
pub fn body(events: Vec<Value>) -> Vec<u8> {
    let body = json!({"destination": "U00000000000000000000000000000000", "events": events});
    let spec = OpenApi::line_webhook();
    let schema = spec
        .schema("CallbackRequest")
        .expect("CallbackRequest in the webhook spec");
    let violations = spec.validate(&body, schema);
    assert!(
        violations.is_empty(),
        "a test webhook body LINE would not send:\n{}\n{body}",
        violations.join("\n")
    );
    serde_json::to_vec(&body).expect("json")
}

/// Posts `body` to the webhook with `signature` (none: no header); the status.
pub async fn post_webhook(app: &Api, body: &[u8], signature: Option<&str>) -> u16 {
    let mut request = app
        .client
        .post(app.url("/line/webhook"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("x-line-signature", signature);
    }
    request
        .send()
        .await
        .expect("webhook sent")
        .status()
        .as_u16()
}

/// Posts signed events and waits until the hub's queue has handled them (the webhook acknowledges first).
pub async fn post_signed(app: &TestApp, events: Vec<Value>) -> u16 {
    let body = body(events);
    let status = post_webhook(app, &body, Some(&sign(SECRET, &body))).await;
    settled(app).await;
    status
}

/// Waits until no stored LINE event is left to handle, failing loudly after 20 s. The webhook stores events
/// before it answers and a worker sends an event's reply before marking it handled, so afterwards every reply
/// the events caused is at the stand-in, and one that is not there never comes.
pub async fn settled(app: &(impl Database + ?Sized)) {
    eventually(
        "every stored LINE event handled",
        Duration::from_secs(20),
        async || {
            count(
                app,
                "SELECT COUNT(*) FROM line_webhook_events WHERE handled_at_ms IS NULL AND payload IS NOT NULL",
            )
            .await
        },
        |unhandled| *unhandled == 0,
    )
    .await;
}

/// The reply requests the stand-in has accepted so far.
pub fn replies_now(mock: &LineMock) -> Vec<AcceptedRequest> {
    mock.accepted()
        .into_iter()
        .filter(|r| r.path == "/v2/bot/message/reply")
        .collect()
}

/// The reply requests the stand-in accepted once there are at least `count` (failing after 30 s).
pub async fn replies(mock: &LineMock, count: usize) -> Vec<AcceptedRequest> {
    eventually(
        format!("{count} replies at the LINE stand-in"),
        Duration::from_secs(30),
        async || replies_now(mock),
        |accepted| accepted.len() >= count,
    )
    .await
}

/// Every text of a LINE request's messages, one per line.
pub fn line_text(messages: &Value) -> String {
    messages.as_array().map_or_else(String::new, |m| text_of(m))
}

/// Every text of `messages`, one per line.
pub fn text_of(messages: &[Value]) -> String {
    messages
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The quick reply labelled `label` on the last of `messages`.
pub fn quick_reply<'v>(messages: &'v [Value], label: &str) -> &'v Value {
    messages
        .last()
        .and_then(|message| message["quickReply"]["items"].as_array())
        .and_then(|items| items.iter().find(|i| i["action"]["label"] == label))
        .unwrap_or_else(|| panic!("no quick reply {label:?} in {messages:?}"))
}

/// The postback data of the quick reply labelled `label` on the last of `messages`.
pub fn quick_reply_data(messages: &[Value], label: &str) -> String {
    quick_reply(messages, label)["action"]["data"]
        .as_str()
        .unwrap_or_else(|| panic!("{label:?} is not a postback in {messages:?}"))
        .to_owned()
}

/// The labels of the quick replies on the last of `messages`.
pub fn labels(messages: &[Value]) -> Vec<String> {
    messages
        .last()
        .and_then(|message| message["quickReply"]["items"].as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["action"]["label"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// One LINE user talking to the hub; each call returns the messages of the bot's reply to that event.
pub struct LineUser<'a> {
    app: &'a TestApp,
    mock: &'a LineMock,
    pub id: String,
}

impl<'a> LineUser<'a> {
    pub fn new(app: &'a TestApp, mock: &'a LineMock, id: &str) -> Self {
        LineUser {
            app,
            mock,
            id: id.to_owned(),
        }
    }

    /// Sends one event of `kind` and returns the messages of the bot's reply to it, empty when the hub handled
    /// the event without replying (it waits until the event is handled: see [`settled`]).
    pub async fn send(&self, kind: Value) -> Vec<Value> {
        let event_id = format!("01EV{}", uuid::Uuid::new_v4().simple()).to_uppercase();
        let token = format!("reply-{}", uuid::Uuid::new_v4().simple());
        // LINE gives a reply token to events that can be answered, never to an unfollow.
        let kind = if kind["type"] == "unfollow" {
            kind
        } else {
            with(kind, json!({"replyToken": token}))
        };
        let event = event(&self.id, &event_id, kind);
        assert_eq!(post_signed(self.app, vec![event]).await, 200, "{event_id}");
        self.mock
            .accepted()
            .into_iter()
            .find(|r| r.reply_token.as_deref() == Some(token.as_str()))
            .map(|reply| reply.messages.as_array().cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    /// [`LineUser::send`] for an event that must be answered.
    pub async fn ask(&self, kind: Value) -> Vec<Value> {
        let reply = self.send(kind.clone()).await;
        assert!(!reply.is_empty(), "{}: no reply to {kind}", self.id);
        reply
    }

    pub async fn follow(&self) -> Vec<Value> {
        self.send(json!({"type": "follow", "follow": {"isUnblocked": false}}))
            .await
    }

    pub async fn say(&self, text: &str) -> Vec<Value> {
        self.send(text_message(text)).await
    }

    pub async fn postback(&self, data: &str) -> Vec<Value> {
        self.send(postback(data)).await
    }

    /// Taps the quick reply labelled `label` on the last message of `reply`.
    pub async fn tap(&self, reply: &[Value], label: &str) -> Vec<Value> {
        self.postback(&quick_reply_data(reply, label)).await
    }
}
