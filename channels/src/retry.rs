//! The one retry policy every channel uses: exponential backoff with full jitter, `Retry-After` respected,
//! bounded by a number of attempts and a time budget per call.
//!
//! Every attempt of one provider request reuses the same idempotency key (LINE `X-Line-Retry-Key`, the
//! email `Message-ID`, the push `Topic`), so a retry after a timeout cannot double-send.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::Outcome;

/// Backoff and budget for one provider request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetryPolicy {
    /// Attempts within one `send` call, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time.
    #[serde(with = "crate::serde_duration::millis")]
    pub initial_backoff: Duration,
    /// Upper bound of one backoff, and of one wait inside a call: a longer `Retry-After` ends the call with
    /// [`Outcome::Retry`] carrying it, so the hub reschedules instead of holding a worker.
    #[serde(with = "crate::serde_duration::millis")]
    pub max_backoff: Duration,
    /// Total time one call may spend waiting between attempts. A wait (e.g. a `Retry-After`) that does not fit
    /// ends the call with [`Outcome::Retry`] and that wait as `after`.
    #[serde(with = "crate::serde_duration::millis")]
    pub budget: Duration,
    /// Full jitter: the wait is drawn uniformly from `[backoff * (1 - jitter), backoff]`. 0 disables it.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            budget: Duration::from_secs(60),
            jitter: 0.5,
        }
    }
}

/// What one attempt of a provider request ended with.
#[derive(Debug)]
pub enum Attempt {
    /// Final: sent, permanently failed, or recorded.
    Done(Outcome),
    /// Retryable: 429, 5xx, timeout, connection error, garbage answer.
    Again {
        reason: String,
        retry_after: Option<Duration>,
    },
}

impl RetryPolicy {
    /// No retries within a call: the first retryable failure becomes [`Outcome::Retry`].
    pub fn no_retry() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before attempt `failures + 1`, after `failures` failed attempts (1-based), honouring the
    /// provider's `Retry-After` when it asks for longer than the backoff.
    pub fn backoff(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let jitter = self.jitter.clamp(0.0, 1.0);
        let wait = if jitter > 0.0 && !base.is_zero() {
            let low = base.mul_f64(1.0 - jitter);
            let span = base.saturating_sub(low);
            low + span.mul_f64(rand::rng().random::<f64>())
        } else {
            base
        };
        match retry_after {
            Some(ra) if ra > wait => ra,
            _ => wait,
        }
    }

    /// Runs `attempt` until it is final, the attempts are used up, or the next wait does not fit the budget.
    /// `attempt` gets the 1-based attempt number and must reuse the same idempotency key every time.
    pub async fn run<F, Fut>(&self, mut attempt: F) -> Outcome
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Attempt>,
    {
        let started = Instant::now();
        let mut n = 0u32;
        loop {
            n += 1;
            match attempt(n).await {
                Attempt::Done(outcome) => return outcome,
                Attempt::Again {
                    reason,
                    retry_after,
                } => {
                    let wait = self.backoff(n, retry_after);
                    let waited = started.elapsed();
                    if n >= self.max_attempts.max(1)
                        || waited + wait > self.budget
                        || wait > self.max_backoff
                    {
                        tracing::debug!(attempts = n, %reason, ?wait, "retry budget used up");
                        return Outcome::Retry {
                            after: wait,
                            reason: format!("{reason} (after {n} attempt(s))"),
                        };
                    }
                    tracing::debug!(attempt = n, %reason, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// Parses a `Retry-After` header: delay-seconds or an HTTP-date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

pub(crate) fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_respects_retry_after() {
        let p = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff(1, None), Duration::from_millis(200));
        assert_eq!(p.backoff(2, None), Duration::from_millis(400));
        assert_eq!(p.backoff(20, None), Duration::from_secs(20));
        assert_eq!(
            p.backoff(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        let j = RetryPolicy::default();
        for _ in 0..100 {
            let w = j.backoff(3, None);
            assert!(w >= Duration::from_millis(400) && w <= Duration::from_millis(800));
        }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[tokio::test]
    async fn run_stops_at_budget_with_retry() {
        let p = RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(1),
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        let mut calls = 0;
        let out = p
            .run(|_| {
                calls += 1;
                async {
                    Attempt::Again {
                        reason: "500".into(),
                        retry_after: None,
                    }
                }
            })
            .await;
        assert_eq!(calls, 3);
        assert!(matches!(out, Outcome::Retry { .. }));
        let out = p
            .run(|_| async {
                Attempt::Again {
                    reason: "429".into(),
                    retry_after: Some(Duration::from_secs(3600)),
                }
            })
            .await;
        match out {
            Outcome::Retry { after, .. } => assert_eq!(after, Duration::from_secs(3600)),
            o => panic!("{o:?}"),
        }
    }
}
