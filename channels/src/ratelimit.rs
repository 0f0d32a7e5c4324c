//! One rate limiter per provider endpoint (governor's GCRA).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota};
use serde::{Deserialize, Serialize};

/// `count` requests per `per`, with bursts up to `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub count: u32,
    #[serde(with = "crate::serde_duration::secs_f64")]
    pub per: Duration,
}

impl RateLimit {
    pub const fn per_second(count: u32) -> Self {
        RateLimit {
            count,
            per: Duration::from_secs(1),
        }
    }

    pub const fn per_hour(count: u32) -> Self {
        RateLimit {
            count,
            per: Duration::from_secs(3600),
        }
    }

    /// No limit (benchmarks against loopback stand-ins).
    pub const fn unlimited() -> Self {
        RateLimit {
            count: 0,
            per: Duration::ZERO,
        }
    }
}

/// A limiter built from a [`RateLimit`]; `count == 0` or a zero period means unlimited.
#[derive(Debug)]
pub struct Limiter {
    inner: Option<DefaultDirectRateLimiter>,
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Self {
        let inner = NonZeroU32::new(limit.count)
            .filter(|_| !limit.per.is_zero())
            .and_then(|count| {
                let period = limit.per / count.get();
                Quota::with_period(period.max(Duration::from_nanos(1)))
                    .map(|q| DefaultDirectRateLimiter::direct(q.allow_burst(count)))
            });
        Limiter { inner }
    }

    /// Waits until one request may go out.
    pub async fn acquire(&self) {
        if let Some(l) = &self.inner {
            l.until_ready().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn limits_after_burst() {
        let l = Limiter::new(RateLimit::per_second(20));
        let t = Instant::now();
        for _ in 0..30 {
            l.acquire().await;
        }
        // 20 in the burst, 10 more at 50 ms each.
        assert!(
            t.elapsed() >= Duration::from_millis(400),
            "{:?}",
            t.elapsed()
        );
        let u = Limiter::new(RateLimit::unlimited());
        for _ in 0..10_000 {
            u.acquire().await;
        }
    }
}
