//! The dispatcher's worker loops: one worker per channel claims due delivery rows ([`super::store`]), composes
//! each provider's message ([`super::compose`]) and sends it through the `channels` crate.
//!
//! - **LINE** rows go out in stored multicasts of up to 500 recipients with the same content; a batch that must
//!   be retried (or was interrupted) is sent again with the same recipients and `X-Line-Retry-Key`, so LINE
//!   answers 409 for one it already accepted.
//! - **Email and push** go one row per request; the idempotency key (Message-ID, push Topic) is derived from the
//!   row id.
//! - Every worker runs continuously, up to `concurrency` requests (LINE: `line_concurrency` batches) in flight:
//!   a slow endpoint holds one slot until its timeout, never a whole round of other residents' rows.
//! - **Leases**: what a worker claimed is renewed every `heartbeat` by this process (see [`super::store`]).
//! - Each outcome is written as soon as it is known: sent (provider id), retry (due again later), failed
//!   (reason; a push subscription the service calls gone is marked inactive), recorded (record-only mode).
//! - **The emergency lane**: claims order by priority (an index in claim order, so a claim reads the first rows
//!   rather than sorting a large notice's), and LINE claims emergency batches and rows before any other.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use channels::email::{EmailConfig, EmailSink};
use channels::line::{LineClient, LineConfig, LineMessage, LineUserId};
use channels::push::{PushConfig, PushSink, Subscription};
use channels::{FailureKind, Outcome, RateLimit, Request, Sink};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;
use uuid::Uuid;

use super::compose::{self, Invitation, Invitations, Recipient};
use super::store::{Claimed, LineBatch, Recording, Store};
use super::{DeliveryStatus, SourceKind, WAKE_DISPATCHER};
use crate::config::Config;
use crate::db::Db;
use crate::links::Keys;
use crate::render::Rendered;
use crate::residents::{ChannelKind, PushKeys};

/// Namespace of the idempotency keys derived from delivery rows.
const KEY_NAMESPACE: Uuid = Uuid::from_u128(0x5f0c_4f4e_9a0e_4a57_8e1d_7b1a_59c3_d2e1);

/// The key of a one-recipient delivery (email Message-ID, push Topic): the same for every attempt.
pub fn delivery_key(delivery_id: i64) -> Uuid {
    Uuid::new_v5(&KEY_NAMESPACE, format!("delivery:{delivery_id}").as_bytes())
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("cannot set up the {channel} channel: {source}")]
    Channel {
        channel: &'static str,
        source: channels::ChannelError,
    },
}

/// How the workers pace themselves.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// How long a claim holds notice and sign-up rows unless renewed (`HUB_DISPATCH_LEASE_SECS`): the time
    /// a killed process's rows wait, and how long a living one may miss its heartbeat.
    pub lease: Duration,
    /// The same for emergency rows and batches: taken over within seconds after a crash.
    pub emergency_lease: Duration,
    /// How often the working process renews the leases of what it holds (well under `emergency_lease`).
    pub heartbeat: Duration,
    /// Attempts (claims) before a delivery that keeps being retried is marked failed.
    pub max_attempts: i64,
    /// How often an idle worker looks for due rows (it is also woken when rows are written).
    pub poll: Duration,
    /// Email/push requests in flight per worker.
    pub concurrency: usize,
    /// LINE batches in flight per worker.
    pub line_concurrency: usize,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        DispatchSettings {
            lease: Duration::from_secs(crate::config::DEFAULT_DISPATCH_LEASE_SECS),
            emergency_lease: Duration::from_secs(3),
            heartbeat: Duration::from_secs(1),
            max_attempts: 10,
            poll: Duration::from_millis(250),
            concurrency: 16,
            line_concurrency: 8,
        }
    }
}

/// The provider sinks, built from the configuration.
#[derive(Clone, Debug)]
pub struct Sinks {
    pub line: LineClient,
    pub email: EmailSink,
    pub push: PushSink,
}

impl Sinks {
    /// LINE without `HUB_LINE_CHANNEL_TOKEN` and email without `HUB_SMTP_URL` + `HUB_MAIL_FROM` are record-only.
    pub fn from_config(config: &Config, keys: &Keys) -> Result<Self, DispatchError> {
        let timeout = Duration::from_secs(u64::from(config.provider_timeout_secs.max(1)));
        let http = channels::http::client(timeout).map_err(|source| DispatchError::Channel {
            channel: "http",
            source,
        })?;
        let line = LineClient::with_http(
            LineConfig::new(config.line_channel_token.clone())
                .with_api_base(config.line_api_base.clone()),
            http,
        )
        .map_err(|source| DispatchError::Channel {
            channel: "line",
            source,
        })?;
        let smtp_url = match (&config.smtp_url, &config.mail_from) {
            (Some(url), Some(_)) => Some(url.clone()),
            _ => None,
        };
        let from = config
            .mail_from
            .clone()
            .unwrap_or_else(|| "Yukuhashi City <noreply@localhost>".to_owned());
        let email = EmailSink::new(EmailConfig {
            rate: RateLimit::per_second(config.mail_rate_per_sec.max(1)),
            timeout: timeout * 3,
            // As many connections as the dispatcher sends at once (DispatchSettings::concurrency).
            connections: 16,
            ..EmailConfig::new(smtp_url, from)
        })
        .map_err(|source| DispatchError::Channel {
            channel: "email",
            source,
        })?;
        let subject = config
            .vapid_subject
            .clone()
            .unwrap_or_else(|| "mailto:webmaster@localhost".to_owned());
        // Push has its own client: endpoints come from anonymous browsers (no redirects, public addresses only).
        let push = PushSink::new(PushConfig {
            timeout,
            allowed_hosts: config.push_allowed_hosts.clone(),
            allow_loopback: config.push_allow_loopback_for_tests,
            ..PushConfig::new(&keys.vapid, subject)
        })
        .map_err(|source| DispatchError::Channel {
            channel: "push",
            source,
        })?;
        Ok(Sinks { line, email, push })
    }
}

/// The workers' shared state.
pub struct Dispatcher {
    store: Store,
    sinks: Sinks,
    keys: Keys,
    settings: DispatchSettings,
    invitations: Arc<dyn Invitations>,
    /// content id → its invitation (most contents: none).
    invited: Mutex<HashMap<i64, Option<Arc<Invitation>>>>,
}

fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Sent { .. } => "sent",
        Outcome::Recorded => "recorded",
        Outcome::Failed { .. } => "failed",
        Outcome::Retry { .. } => "retry",
    }
}

impl Dispatcher {
    /// `invitations` says which contents invite their recipients (see [`compose::Invitation`]).
    pub fn new(
        db: Db,
        config: &Config,
        keys: Keys,
        settings: DispatchSettings,
        invitations: Arc<dyn Invitations>,
    ) -> Result<Self, DispatchError> {
        let sinks = Sinks::from_config(config, &keys)?;
        Ok(Dispatcher {
            store: Store::new(
                db,
                settings.lease,
                settings.emergency_lease,
                settings.max_attempts,
            ),
            sinks,
            keys,
            settings,
            invitations,
            invited: Mutex::new(HashMap::new()),
        })
    }

    pub fn sinks(&self) -> &Sinks {
        &self.sinks
    }

    /// Starts one worker per channel. They stop after their current round once `shutdown` turns true: what
    /// is in flight finishes and is recorded, what is not claimed stays pending.
    pub fn spawn(self: Arc<Self>, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let mut tasks: Vec<JoinHandle<()>> =
            [ChannelKind::Line, ChannelKind::Email, ChannelKind::Push]
                .into_iter()
                .map(|channel| {
                    let dispatcher = self.clone();
                    let shutdown = shutdown.clone();
                    tokio::spawn(async move { dispatcher.work(channel, shutdown).await })
                })
                .collect();
        // The heartbeat runs until every worker has stopped (what is in flight at shutdown is still renewed).
        let workers: Vec<_> = tasks.iter().map(JoinHandle::abort_handle).collect();
        tasks.push(tokio::spawn(async move {
            self.heartbeat(workers).await;
        }));
        tasks
    }

    /// Renews the leases of every row and batch this process holds, every `heartbeat`, until the workers stop.
    async fn heartbeat(&self, workers: Vec<tokio::task::AbortHandle>) {
        let mut tick = tokio::time::interval(self.settings.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while workers.iter().any(|worker| !worker.is_finished()) {
            tick.tick().await;
            if self.store.holding() == (0, 0) {
                continue;
            }
            if let Err(error) = self.store.renew().await {
                tracing::warn!(%error, "renewing the dispatcher's leases failed; trying again");
            }
        }
    }

    async fn work(self: Arc<Self>, channel: ChannelKind, shutdown: watch::Receiver<bool>) {
        tracing::info!(%channel, owner = %self.store.owner(), "dispatcher worker started");
        match channel {
            ChannelKind::Email | ChannelKind::Push => self.work_singles(channel, shutdown).await,
            ChannelKind::Line => self.work_line(shutdown).await,
            ChannelKind::Webchat => {}
        }
        tracing::info!(%channel, "dispatcher worker stopped");
    }

    /// The invitation of a content, if any: its email and push messages get the resident's own signed link,
    /// its LINE message a quick reply.
    async fn invitation(&self, content_id: i64) -> Result<Option<Arc<Invitation>>, sqlx::Error> {
        if let Some(found) = self
            .invited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&content_id)
        {
            return Ok(found.clone());
        }
        let invitation = self
            .invitations
            .of_content(self.store.db(), content_id)
            .await?
            .map(Arc::new);
        let mut cache = self.invited.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(content_id, invitation.clone());
        Ok(invitation)
    }

    // ---- email and push: one row, one request ----

    /// Email and push, one row per request: up to `concurrency` requests are in flight at any time, and as each
    /// finishes its outcome is recorded and the next claimed row starts. There are no rounds to wait for: a
    /// push endpoint that never answers holds one slot until its timeout, never the other residents' rows
    /// (a round used to wait for its slowest row before claiming the next).
    async fn work_singles(
        self: &Arc<Self>,
        channel: ChannelKind,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let concurrency = self.settings.concurrency.max(1);
        let (done, mut outcomes) = tokio::sync::mpsc::unbounded_channel::<(Claimed, Recording)>();
        let recording = async {
            let mut group = Vec::new();
            while outcomes.recv_many(&mut group, 64).await > 0 {
                if let Err(error) = self.store.record_singles(channel, &group).await {
                    tracing::warn!(%channel, %error, rows = group.len(),
                        "delivery outcomes not recorded; the rows are sent again when their lease runs out");
                }
                group.clear();
            }
        };
        let sending = async move {
            let mut queue: VecDeque<Claimed> = VecDeque::new();
            // Each request is a task of its own: it keeps going (and gives its database connection back) while
            // this loop waits for a claim.
            let mut in_flight = tokio::task::JoinSet::new();
            // Whether due rows may be waiting (false after a claim that found fewer than it asked for, until a
            // wake-up or the poll interval).
            let mut look = true;
            loop {
                let stopping = *shutdown.borrow();
                if !stopping && look && queue.len() < concurrency {
                    let wanted = concurrency * 4 - queue.len();
                    match self.store.claim_singles(channel, wanted).await {
                        Ok(rows) => {
                            look = rows.len() == wanted;
                            queue.extend(rows);
                        }
                        Err(error) => {
                            look = false;
                            tracing::warn!(%channel, %error, "claiming deliveries failed; trying again");
                        }
                    }
                }
                if stopping && !queue.is_empty() {
                    self.store
                        .release(queue.drain(..).map(|row| row.id).collect())
                        .await;
                }
                while in_flight.len() < concurrency
                    && let Some(row) = queue.pop_front()
                {
                    let done = done.clone();
                    let this = self.clone();
                    let span = tracing::info_span!("delivery", %channel, delivery = row.id);
                    in_flight.spawn(
                        async move {
                            let id = row.id;
                            match this.attempt_single(channel, row).await {
                                Ok(attempted) => {
                                    let _ = done.send(attempted);
                                }
                                Err(error) => {
                                    // Nothing was sent (the database failed before the request): give the
                                    // row back so it is tried again soon, not when its lease runs out.
                                    tracing::warn!(%error, "delivery not attempted; released for another try");
                                    this.store.release(vec![id]).await;
                                }
                            }
                        }
                        .instrument(span),
                    );
                }
                if in_flight.is_empty() {
                    if stopping {
                        break;
                    }
                    tokio::select! {
                        () = WAKE_DISPATCHER.notified() => {}
                        () = tokio::time::sleep(self.settings.poll) => {}
                        changed = shutdown.changed() => if changed.is_err() { break },
                    }
                    look = true;
                } else if stopping || in_flight.len() >= concurrency {
                    in_flight.join_next().await;
                } else {
                    // A slot is free: the next row starts when one finishes or new rows are due.
                    tokio::select! {
                        _ = in_flight.join_next() => {}
                        () = WAKE_DISPATCHER.notified() => look = true,
                        () = tokio::time::sleep(self.settings.poll) => look = true,
                        _ = shutdown.changed() => {}
                    }
                }
            }
            // Every outcome is handed over: the recorder stops once it has written them.
            drop(done);
        };
        tokio::join!(sending, recording);
    }

    /// Sends one row and returns what to record (the caller records outcomes in small groups).
    async fn attempt_single(
        &self,
        channel: ChannelKind,
        row: Claimed,
    ) -> Result<(Claimed, Recording), sqlx::Error> {
        let source = match &row.source {
            Ok(source) => *source,
            Err(unknown) => {
                let reason = format!("invalid_message: unknown source kind {unknown:?}");
                return Ok((row, Recording::failed(reason)));
            }
        };
        let key = delivery_key(row.id);
        let content = self.store.content(row.content_id).await?;
        let links = &self.keys.links;
        let outcome = match (channel, content.as_ref()) {
            (
                ChannelKind::Email,
                Rendered::Email {
                    subject,
                    text,
                    html,
                },
            ) => {
                let invitation = self.invitation(row.content_id).await?;
                let recipient = Recipient {
                    resident_id: row.resident_id,
                    address: &row.address,
                };
                let message = compose::email(
                    subject,
                    text,
                    html,
                    source,
                    recipient,
                    invitation.as_deref(),
                    links,
                    chrono::Utc::now(),
                );
                self.sinks
                    .email
                    .send(&Request::single(key, row.address.clone(), message))
                    .await
            }
            (ChannelKind::Push, Rendered::Push { title, body, url }) => {
                let keys: Option<PushKeys> = row
                    .address_detail
                    .as_deref()
                    .and_then(|detail| serde_json::from_str(detail).ok());
                let Some(keys) = keys else {
                    return Ok((
                        row,
                        Recording::failed("invalid_recipient: the subscription has no keys"),
                    ));
                };
                let subscription = Subscription {
                    endpoint: row.address.clone(),
                    p256dh: keys.p256dh,
                    auth: keys.auth,
                };
                let invitation = self.invitation(row.content_id).await?;
                let message = compose::push(
                    title,
                    body,
                    url.as_deref(),
                    source,
                    row.resident_id,
                    invitation.as_deref(),
                    links,
                );
                self.sinks
                    .push
                    .send(&Request::single(key, subscription, message))
                    .await
            }
            _ => {
                return Ok((
                    row,
                    Recording::failed("invalid_message: the stored content is for another channel"),
                ));
            }
        };
        let Some(outcome) = outcome.into_iter().next() else {
            return Ok((
                row,
                Recording::failed("rejected: the channel gave no outcome"),
            ));
        };
        metrics::counter!("hub_deliveries_total", "channel" => channel.as_str(), "outcome" => outcome_label(&outcome))
            .increment(1);
        // A subscription the service calls gone, or one the hub refuses to call (an endpoint outside the
        // allow-list or at a non-public address, stored before the check existed; bad keys): not used again.
        if channel == ChannelKind::Push
            && matches!(
                outcome.failure_kind(),
                Some(FailureKind::Gone | FailureKind::InvalidRecipient)
            )
        {
            self.store
                .deactivate_subscription(row.resident_id, &row.address)
                .await?;
        }
        let recording = self.store.recording(&outcome, row.attempts);
        Ok((row, recording))
    }

    // ---- LINE: stored batches of up to 500 ----

    /// LINE runs continuously: up to `line_concurrency` batches in flight, the next claimed as soon as a slot
    /// is free (a slow request holds one slot, never a whole round of other batches).
    async fn work_line(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let slots = self.settings.line_concurrency.max(1);
        let mut queue: VecDeque<LineBatch> = VecDeque::new();
        let mut in_flight = tokio::task::JoinSet::new();
        let mut look = true;
        loop {
            let stopping = *shutdown.borrow();
            if !stopping && look && queue.is_empty() && in_flight.len() < slots {
                match self.claim_line(slots - in_flight.len()).await {
                    Ok(batches) => {
                        look = !batches.is_empty();
                        queue.extend(batches);
                    }
                    Err(error) => {
                        look = false;
                        tracing::warn!(%error, "claiming LINE batches failed; trying again");
                    }
                }
            }
            if stopping {
                // Claimed but not started: their leases run out (they are stored with their keys).
                for batch in queue.drain(..) {
                    self.store.let_go_batch(batch.id);
                }
            }
            while in_flight.len() < slots
                && let Some(batch) = queue.pop_front()
            {
                let this = self.clone();
                let span = tracing::info_span!(
                    "delivery_batch",
                    channel = "line",
                    batch = batch.id,
                    size = batch.recipients.len()
                );
                in_flight.spawn(
                    async move {
                        let id = batch.id;
                        if let Err(error) = this.send_line_batch(batch).await {
                            // Not recorded: its lease runs out and it is claimed again (same key).
                            tracing::warn!(%error, "LINE batch not recorded; it is sent again with its key");
                            this.store.let_go_batch(id);
                        }
                    }
                    .instrument(span),
                );
            }
            if in_flight.is_empty() {
                if stopping {
                    break;
                }
                if !look {
                    tokio::select! {
                        () = WAKE_DISPATCHER.notified() => {}
                        () = tokio::time::sleep(self.settings.poll) => {}
                        changed = shutdown.changed() => if changed.is_err() { break },
                    }
                }
                look = true;
            } else if stopping || in_flight.len() >= slots {
                in_flight.join_next().await;
                look = true;
            } else {
                tokio::select! {
                    _ = in_flight.join_next() => look = true,
                    () = WAKE_DISPATCHER.notified() => look = true,
                    () = tokio::time::sleep(self.settings.poll) => look = true,
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// Claims up to `wanted` LINE batches: the emergency lane first (its stored batches, then new ones from its
    /// rows), and notices only when no emergency is being sent.
    async fn claim_line(&self, wanted: usize) -> Result<Vec<LineBatch>, sqlx::Error> {
        let mut batches = Vec::new();
        for min_priority in [SourceKind::Emergency.priority(), i64::MIN] {
            batches.extend(
                self.store
                    .claim_line_batches(wanted - batches.len(), min_priority)
                    .await?,
            );
            if batches.len() < wanted {
                let rows = ((wanted - batches.len())
                    * channels::line::limits::MULTICAST_MAX_RECIPIENTS)
                    as i64;
                batches.extend(self.store.form_line_batches(rows, min_priority).await?);
            }
            // While an emergency is being sent, notices wait on every channel (their requests would take the
            // processor and the database from it).
            if !batches.is_empty() || self.store.emergency_in_progress().await? {
                break;
            }
        }
        Ok(batches)
    }

    async fn send_line_batch(&self, batch: LineBatch) -> Result<(), sqlx::Error> {
        let broadcast = batch.endpoint == "broadcast";
        if batch.recipients.is_empty() && !broadcast {
            return self
                .store
                .record_line_batch(&batch, Recording::failed("no recipients left"), true)
                .await;
        }
        let content = self.store.content(batch.content_id).await?;
        let invitation = self.invitation(batch.content_id).await?;
        let message: Vec<LineMessage> = match compose::line(&content, invitation.as_deref()) {
            Ok(messages) => messages,
            Err(error) => {
                return self
                    .store
                    .record_line_batch(
                        &batch,
                        Recording::failed(format!("invalid_message: {error}")),
                        true,
                    )
                    .await;
            }
        };
        if broadcast {
            return self.send_line_broadcast(&batch, &message).await;
        }
        let mut recipients = Vec::with_capacity(batch.recipients.len());
        for (delivery, address) in &batch.recipients {
            match LineUserId::parse(address) {
                Ok(user) => recipients.push(user),
                Err(error) => {
                    self.store
                        .fail_line_recipient(*delivery, format!("invalid_recipient: {error}"))
                        .await?;
                }
            }
        }
        if recipients.is_empty() {
            return self
                .store
                .record_line_batch(&batch, Recording::failed("no valid recipients"), true)
                .await;
        }
        let request = Request::new(batch.retry_key, recipients, message);
        let outcome = self.sinks.line.send(&request).await.into_iter().next();
        let Some(outcome) = outcome else {
            return self
                .store
                .record_line_batch(
                    &batch,
                    Recording::failed("rejected: no outcome from LINE"),
                    true,
                )
                .await;
        };
        metrics::counter!("hub_deliveries_total", "channel" => "line", "outcome" => outcome_label(&outcome))
            .increment(request.recipients.len() as u64);
        tracing::info!(
            batch = batch.id,
            retry_key = %batch.retry_key,
            size = request.recipients.len(),
            outcome = outcome_label(&outcome),
            "LINE batch sent"
        );
        let recording = self.store.recording(&outcome, batch.attempts);
        let done = recording.status != DeliveryStatus::Pending;
        self.store.record_line_batch(&batch, recording, done).await
    }

    /// `POST /v2/bot/message/broadcast` for a city-wide emergency: one request reaches every friend of the
    /// account; the batch's rows (one per resident with LINE) take its outcome.
    async fn send_line_broadcast(
        &self,
        batch: &LineBatch,
        messages: &[LineMessage],
    ) -> Result<(), sqlx::Error> {
        let outcome = self.sinks.line.broadcast(messages, batch.retry_key).await;
        metrics::counter!("hub_deliveries_total", "channel" => "line", "outcome" => outcome_label(&outcome))
            .increment(1);
        tracing::info!(
            batch = batch.id,
            retry_key = %batch.retry_key,
            outcome = outcome_label(&outcome),
            "LINE broadcast sent"
        );
        let recording = self.store.recording(&outcome, batch.attempts);
        let done = recording.status != DeliveryStatus::Pending;
        self.store.record_line_batch(batch, recording, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_per_row() {
        assert_eq!(delivery_key(7), delivery_key(7));
        assert_ne!(delivery_key(7), delivery_key(8));
    }
}
