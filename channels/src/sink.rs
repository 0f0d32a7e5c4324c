//! The one sink shape every channel has.

use async_trait::async_trait;
use futures_util::StreamExt;
use uuid::Uuid;

use crate::Outcome;

/// One provider request: one rendered message for one or more recipients, with the idempotency key the hub
/// derived from its delivery rows (and stored before sending, so a restart rebuilds the same request).
#[derive(Debug, Clone, PartialEq)]
pub struct Request<R, M> {
    /// Idempotency key of this provider request. LINE: `X-Line-Retry-Key`; email: `Message-ID`
    /// (`<key@from-domain>`); Web Push: `Topic` (so a retry replaces an undelivered copy).
    pub key: Uuid,
    pub recipients: Vec<R>,
    pub message: M,
}

impl<R, M> Request<R, M> {
    pub fn new(key: Uuid, recipients: Vec<R>, message: M) -> Self {
        Request {
            key,
            recipients,
            message,
        }
    }

    pub fn single(key: Uuid, recipient: R, message: M) -> Self {
        Request::new(key, vec![recipient], message)
    }
}

/// A channel: takes requests, returns one [`Outcome`] per recipient, in recipient order.
///
/// Implementations rate-limit per provider endpoint, retry retryable failures within their
/// [`crate::RetryPolicy`] with the same idempotency key, and never panic on provider garbage.
#[async_trait]
pub trait Sink: Send + Sync {
    type Recipient: Send + Sync;
    type Message: Send + Sync;

    /// Short channel name: `line`, `email`, `push`.
    fn channel(&self) -> &'static str;

    /// How many recipients one request may carry (LINE multicast 500; email and push 1). A request with more
    /// gets `Failed { invalid_message }` for every recipient; split before sending.
    fn max_recipients(&self) -> usize;

    /// `true` when no credentials are configured: every send returns [`Outcome::Recorded`].
    fn record_only(&self) -> bool;

    /// Sends one request; one outcome per recipient.
    async fn send(&self, request: &Request<Self::Recipient, Self::Message>) -> Vec<Outcome>;

    /// Sends many requests with up to `concurrency` in flight; outcomes in request order.
    async fn send_all(
        &self,
        requests: &[Request<Self::Recipient, Self::Message>],
        concurrency: usize,
    ) -> Vec<Vec<Outcome>> {
        // Unordered, so a slow request does not hold back new ones; put back in request order at the end.
        let mut futures = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().enumerate() {
            futures.push(async move { (i, self.send(r).await) });
        }
        let mut done: Vec<(usize, Vec<Outcome>)> = futures_util::stream::iter(futures)
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        done.sort_unstable_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, o)| o).collect()
    }
}

/// Splits `recipients` into requests of at most `max` each; `key_for(i)` gives the key of the i-th chunk
/// (derive it from the delivery rows, e.g. a UUID v5 of the notice id and chunk number).
pub fn chunk<R: Clone, M: Clone>(
    recipients: &[R],
    max: usize,
    message: &M,
    mut key_for: impl FnMut(usize) -> Uuid,
) -> Vec<Request<R, M>> {
    recipients
        .chunks(max.max(1))
        .enumerate()
        .map(|(i, c)| Request::new(key_for(i), c.to_vec(), message.clone()))
        .collect()
}
