//! What a channel reports for each recipient of a request.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The result of handing one message to a provider for one recipient.
///
/// Every channel returns exactly one `Outcome` per recipient of a [`crate::Request`], in the order of the
/// recipients. The hub stores it on the delivery row as soon as it is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The provider accepted the message. `provider_id` is the provider's id for the request or message
    /// (LINE: `x-line-request-id` or, after a 409 for a reused retry key, `x-line-accepted-request-id`;
    /// SMTP: the server's reply to DATA; Web Push: the `Location` of the created push message resource).
    Sent { provider_id: String },
    /// A retryable failure that outlived this call's retry budget: send the same request again (same
    /// idempotency key) no earlier than `after` from now.
    Retry {
        #[serde(with = "crate::serde_duration::millis", rename = "after_ms")]
        after: Duration,
        reason: String,
    },
    /// A permanent failure: do not retry.
    Failed { reason: Failure },
    /// Record-only mode (no credentials configured): nothing was sent; the hub keeps the rendered message.
    Recorded,
}

impl Outcome {
    /// `true` for `Sent` and `Recorded`: the delivery needs no further attempt.
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Sent { .. } | Outcome::Recorded)
    }

    /// The failure kind when this is `Failed`.
    pub fn failure_kind(&self) -> Option<FailureKind> {
        match self {
            Outcome::Failed { reason } => Some(reason.kind),
            _ => None,
        }
    }

    pub(crate) fn failed(kind: FailureKind, detail: impl Into<String>) -> Self {
        Outcome::Failed {
            reason: Failure {
                kind,
                detail: detail.into(),
            },
        }
    }
}

/// Why a delivery failed permanently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    /// Human-readable detail: the provider's message, the status, the place.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.detail)
    }
}

/// The class of a permanent failure; the hub acts on it (e.g. removes a `Gone` push subscription).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The address no longer exists (Web Push 404/410): remove the subscription.
    Gone,
    /// The recipient blocked us or refuses our messages.
    Blocked,
    /// The recipient unsubscribed.
    Unsubscribed,
    /// The address is malformed or unknown (bad LINE user id, mailbox refused with 5xx for the recipient).
    InvalidRecipient,
    /// The message itself was refused (LINE 400, SMTP 5xx on DATA, a payload too large).
    InvalidMessage,
    /// Our credentials were refused (401/403): fix the configuration.
    Unauthorized,
    /// Any other permanent refusal (other 4xx, 5xx from SMTP).
    Rejected,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Gone => "gone",
            FailureKind::Blocked => "blocked",
            FailureKind::Unsubscribed => "unsubscribed",
            FailureKind::InvalidRecipient => "invalid_recipient",
            FailureKind::InvalidMessage => "invalid_message",
            FailureKind::Unauthorized => "unauthorized",
            FailureKind::Rejected => "rejected",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_serializes_for_the_hub() {
        let o = Outcome::Retry {
            after: Duration::from_millis(1500),
            reason: "429".into(),
        };
        let j = serde_json::to_value(&o).unwrap();
        assert_eq!(j["outcome"], "retry");
        assert_eq!(j["after_ms"], 1500);
        let back: Outcome = serde_json::from_value(j).unwrap();
        assert_eq!(back, o);
        let f = Outcome::failed(FailureKind::Gone, "410");
        assert_eq!(f.failure_kind(), Some(FailureKind::Gone));
        assert_eq!(serde_json::to_value(&f).unwrap()["reason"]["kind"], "gone");
    }
}
