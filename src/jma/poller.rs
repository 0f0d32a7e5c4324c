//! The loop that watches JMA: the long feed once at start (catching up after downtime), then the high-frequency
//! feed every `HUB_JMA_POLL_SECS` (60) with `If-None-Match` / `If-Modified-Since` as JMA asks, backing off
//! exponentially (up to 30 minutes) while the feed cannot be read — a hub without internet logs it and keeps
//! serving. New entries of the documents the hub reads are stored; the hub holding the lease fetches each
//! document once, parses it and acts ([`super::act`]). A malformed document is logged with what and where, and
//! skipped; the loop goes on.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use tokio::sync::watch;

use super::act::{ActError, Watch, act};
use super::document::{parse_document, parse_feed};
use super::store::{self, FeedState};

/// The longest wait between reads while the feed fails.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);
/// Documents tried this many times without being fetched are given up (logged, recorded as `failed`).
pub const MAX_ATTEMPTS: i64 = 10;
/// How long a hub holds the lease to act on documents without renewing it.
const LEASE_SECS: i64 = 120;

/// Why a feed or document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("jma: {url}: {source}")]
    Request { url: String, source: reqwest::Error },
    #[error("jma: {url}: HTTP {status}")]
    Status { url: String, status: u16 },
}

/// The wait before the next read after `failures` failed reads in a row.
pub fn backoff(poll: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return poll;
    }
    poll.saturating_mul(2u32.saturating_pow(failures.min(16)))
        .min(MAX_BACKOFF)
        .max(poll)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!(
            "yukuhashi-resident-hub/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .unwrap_or_default()
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Starts the watch (when `HUB_JMA_ENABLED`); stops with `shutdown`.
pub fn spawn(watch: Watch, mut shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let settings = watch.config.jma.clone();
        let holder = uuid::Uuid::new_v4().to_string();
        let http = client();
        let poll = Duration::from_secs(u64::from(settings.poll_secs));
        tracing::info!(feed = %settings.feed_url, poll_secs = settings.poll_secs,
            areas = ?settings.area_codes, "JMA watch started");
        let mut failures: u32 = 0;
        let mut catch_up = settings.long_feed_url.clone();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let mut ok = true;
            if let Some(long) = catch_up.take() {
                // A long feed that cannot be read is not retried: the high-frequency feed goes on.
                if let Err(error) = read_feed(&watch, &http, &long).await {
                    tracing::warn!(%error, "JMA: the long feed could not be read for the catch-up");
                }
            }
            if let Err(error) = read_feed(&watch, &http, &settings.feed_url).await {
                ok = false;
                failures = failures.saturating_add(1);
                let wait = backoff(poll, failures);
                tracing::warn!(%error, failures, retry_in_secs = wait.as_secs(),
                    "JMA: the feed could not be read; backing off");
            } else {
                failures = 0;
            }
            if let Err(error) = work(&watch, &http, &holder).await {
                tracing::warn!(%error, "JMA: acting on documents failed; retried next round");
            }
            let wait = if ok { poll } else { backoff(poll, failures) };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = store::release_lease(&watch.db, &holder).await;
    })
}

/// Reads one feed (conditionally) and stores the entries the hub acts on; how many were new.
pub async fn read_feed(
    watch: &Watch,
    http: &reqwest::Client,
    url: &str,
) -> Result<u64, anyhow::Error> {
    let state = store::feed_state(&watch.db, url).await?;
    let mut request = http.get(url);
    if let Some(etag) = &state.etag {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    if let Some(last_modified) = &state.last_modified {
        request = request.header(header::IF_MODIFIED_SINCE, last_modified);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(source) => {
            let error = FetchError::Request {
                url: url.to_owned(),
                source,
            };
            store::feed_failed(&watch.db, url, &error.to_string()).await?;
            return Err(error.into());
        }
    };
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED {
        store::feed_ok(&watch.db, url, None).await?;
        return Ok(0);
    }
    if !status.is_success() {
        let error = FetchError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
        };
        store::feed_failed(&watch.db, url, &error.to_string()).await?;
        return Err(error.into());
    }
    let validators = FeedState {
        etag: header_text(response.headers(), header::ETAG),
        last_modified: header_text(response.headers(), header::LAST_MODIFIED),
    };
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(source) => {
            let error = FetchError::Request {
                url: url.to_owned(),
                source,
            };
            store::feed_failed(&watch.db, url, &error.to_string()).await?;
            return Err(error.into());
        }
    };
    let entries = match parse_feed(&body) {
        Ok(entries) => entries,
        Err(error) => {
            let message = format!("the feed is malformed: {error}");
            store::feed_failed(&watch.db, url, &message).await?;
            return Err(anyhow::anyhow!("jma: {url}: {message}"));
        }
    };
    let wanted: Vec<_> = entries
        .into_iter()
        .filter(|entry| entry.document_type().is_some())
        .collect();
    let stale_before = crate::db::now_ms() - i64::from(watch.config.jma.max_age_minutes) * 60_000;
    let new = store::record_entries(&watch.db, &wanted, stale_before).await?;
    store::feed_ok(&watch.db, url, Some(&validators)).await?;
    if new > 0 {
        tracing::info!(url, new, "JMA: new documents in the feed");
    }
    Ok(new)
}

/// Under the lease: fetches, parses and acts on every pending document, oldest first.
pub async fn work(
    watch: &Watch,
    http: &reqwest::Client,
    holder: &str,
) -> Result<(), anyhow::Error> {
    if !store::acquire_lease(&watch.db, holder, LEASE_SECS).await? {
        return Ok(());
    }
    for entry in store::pending(&watch.db, 200).await? {
        // The lease is renewed per document, so a long catch-up keeps it.
        if !store::acquire_lease(&watch.db, holder, LEASE_SECS).await? {
            return Ok(());
        }
        let fetched = async {
            let response =
                http.get(&entry.url)
                    .send()
                    .await
                    .map_err(|source| FetchError::Request {
                        url: entry.url.clone(),
                        source,
                    })?;
            if !response.status().is_success() {
                return Err(FetchError::Status {
                    url: entry.url.clone(),
                    status: response.status().as_u16(),
                });
            }
            response
                .bytes()
                .await
                .map_err(|source| FetchError::Request {
                    url: entry.url.clone(),
                    source,
                })
        }
        .await;
        let body = match fetched {
            Ok(body) => body,
            Err(error) => {
                if entry.attempts + 1 >= MAX_ATTEMPTS {
                    tracing::error!(%error, document = %entry.entry_id,
                        "JMA: the document could not be fetched; given up");
                    store::finish(
                        &watch.db,
                        &entry.entry_id,
                        "failed",
                        &error.to_string(),
                        None,
                    )
                    .await?;
                } else {
                    tracing::warn!(%error, document = %entry.entry_id, "JMA: the document could not be fetched; retried");
                    let retry = 5_000 * 2i64.pow(entry.attempts.clamp(0, 8) as u32);
                    store::attempt_failed(&watch.db, &entry.entry_id, &error.to_string(), retry)
                        .await?;
                }
                continue;
            }
        };
        let document = match parse_document(&body) {
            Ok(document) => document,
            Err(error) => {
                tracing::error!(document = %entry.entry_id, url = %entry.url, title = %entry.title,
                    where_ = %error.where_, what = %error.what, "JMA: a malformed document was skipped");
                store::finish(
                    &watch.db,
                    &entry.entry_id,
                    "malformed",
                    &error.to_string(),
                    None,
                )
                .await?;
                continue;
            }
        };
        let outcome = match act(watch, &entry.entry_id, &document).await {
            Ok(outcome) => outcome,
            Err(ActError::Emergency(message)) => {
                tracing::error!(document = %entry.entry_id, %message, "JMA: the emergency was refused");
                store::finish(&watch.db, &entry.entry_id, "failed", &message, None).await?;
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        tracing::info!(document = %entry.entry_id, title = %document.title, outcome = outcome.outcome,
            detail = %outcome.detail, since_seen_ms = crate::db::now_ms() - entry.seen_at_ms,
            "JMA: document acted on");
        store::finish(
            &watch.db,
            &entry.entry_id,
            outcome.outcome,
            &outcome.detail,
            outcome.emergency_id,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_half_an_hour() {
        let poll = Duration::from_secs(60);
        assert_eq!(backoff(poll, 0), poll);
        assert_eq!(backoff(poll, 1), Duration::from_secs(120));
        assert_eq!(backoff(poll, 3), Duration::from_secs(480));
        assert_eq!(backoff(poll, 40), MAX_BACKOFF);
    }
}
