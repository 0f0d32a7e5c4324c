//! LINE Messaging API, exactly per `spec/line-openapi/messaging-api.yml` (a copy of LINE's official spec).
//!
//! - [`LineClient`]: push, multicast (≤ 500 ids), broadcast, narrowcast, reply, quota and consumption; every
//!   send carries the caller's `X-Line-Retry-Key` (reply has none in the spec); a 409 for a reused key counts
//!   as sent (`x-line-accepted-request-id`). Rate limits per endpoint ([`LineRateLimits`]).
//! - [`LineMessage`], [`QuickReply`], [`QuickReplyItem`], [`LineUserId`]: checked on construction.
//! - [`webhook`]: `verify_signature`, `parse_webhook` and the event types.

mod client;
mod types;
pub mod webhook;

pub use client::{DEFAULT_API_BASE, Endpoint, LineClient, LineConfig, LineError, LineRateLimits};
pub use types::{
    Action, LineMessage, LineMessageError, LineUserId, LineUserIdError, MessageQuota, QuickReply,
    QuickReplyItem, QuotaConsumption, QuotaType, SentMessage, limits,
};
pub use webhook::{parse_webhook, verify_signature};
