//! The dispatcher: one worker per channel claims due delivery rows and sends them through the `channels` crate.
//!
//! - **Claiming** is one statement: `UPDATE deliveries SET lease… WHERE id IN (SELECT … ORDER BY priority DESC,
//!   due_at_ms LIMIT n FOR UPDATE SKIP LOCKED) RETURNING …` on PostgreSQL (several processes take disjoint rows);
//!   on SQLite the same `UPDATE … RETURNING` without the lock clause is atomic (one writer). A lease that runs out
//!   (a crashed worker) makes the row claimable again.
//! - **LINE** rows are grouped into multicasts of up to 500 recipients with the same rendered content (hence the
//!   same language). The batch, its recipients and its `X-Line-Retry-Key` are committed in the transaction that
//!   claims the rows, before any request; a batch that must be retried (or was interrupted) is sent again with the
//!   same recipients and key, so LINE answers 409 for one it already accepted.
//! - **Email and push** go one row per request; the idempotency key (Message-ID, push Topic) is derived from the
//!   row id. Their workers run continuously, up to `concurrency` requests in flight: a slow endpoint holds one
//!   slot until its timeout, never a whole batch of other residents' rows.
//! - Each outcome is written as soon as it is known: sent (provider id), retry (due again later), failed
//!   (reason; a push subscription the service calls gone is marked inactive), recorded (record-only mode). Email
//!   and push outcomes that finish together are written in one transaction (SQLite has one writer).
//! - **The emergency lane**: claims order by priority (an index in claim order, so a claim reads the first rows
//!   rather than sorting a large notice's), and LINE claims emergency batches and rows before any other.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use channels::email::{EmailConfig, EmailMessage, EmailSink};
use channels::line::{LineClient, LineConfig, LineMessage, LineUserId};
use channels::push::{PushConfig, PushMessage, PushSink, Subscription, VapidKey};
use channels::{FailureKind, Outcome, RateLimit, Request, Sink};
use futures_util::StreamExt;
use sqlx::{AssertSqlSafe, Row};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;
use uuid::Uuid;

use super::unsubscribe::Signer;
use super::{DeliveryStatus, WAKE_DISPATCHER, skip_locked};
use crate::config::Config;
use crate::db::{Db, now_ms, value_list};
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
    #[error("the VAPID key ({origin}) is not valid: {message}")]
    Vapid {
        origin: &'static str,
        message: String,
    },
    #[error("cannot read or store dispatcher settings: {0}")]
    Database(#[from] sqlx::Error),
}

/// How the workers pace themselves.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// How long a claim holds rows; longer than one provider call with all its retries.
    pub lease: Duration,
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
            lease: Duration::from_secs(300),
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

const VAPID_SETTING: &str = "vapid_private_key";

/// The VAPID key: from the configuration, else the one stored at the first start (generated then).
pub async fn vapid_key(db: &Db, config: &Config) -> Result<VapidKey, DispatchError> {
    if let Some(key) = &config.vapid_private_key {
        return VapidKey::from_base64url(key).map_err(|error| DispatchError::Vapid {
            origin: "HUB_VAPID_PRIVATE_KEY",
            message: error.to_string(),
        });
    }
    let stored =
        super::setting_or_create(db, VAPID_SETTING, || VapidKey::generate().to_base64url()).await?;
    VapidKey::from_base64url(&stored).map_err(|error| DispatchError::Vapid {
        origin: "the settings table",
        message: error.to_string(),
    })
}

impl Sinks {
    /// LINE without `HUB_LINE_CHANNEL_TOKEN` and email without `HUB_SMTP_URL` + `HUB_MAIL_FROM` are record-only.
    pub async fn from_config(db: &Db, config: &Config) -> Result<Self, DispatchError> {
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
        let vapid = vapid_key(db, config).await?;
        let subject = config
            .vapid_subject
            .clone()
            .unwrap_or_else(|| "mailto:webmaster@localhost".to_owned());
        // Push has its own client: endpoints come from anonymous browsers (no redirects, public addresses only).
        let push = PushSink::new(PushConfig {
            timeout,
            allowed_hosts: config.push_allowed_hosts.clone(),
            allow_loopback: config.push_allow_loopback_for_tests,
            ..PushConfig::new(&vapid, subject)
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
    db: Db,
    sinks: Sinks,
    signer: Signer,
    owner: String,
    settings: DispatchSettings,
    contents: Mutex<HashMap<i64, Arc<Rendered>>>,
    /// content id → the survey its notice invites to (most contents: none).
    surveys: Mutex<HashMap<i64, Option<i64>>>,
}

/// A claimed one-recipient row.
struct Claimed {
    id: i64,
    /// `notice` or `emergency`: an emergency email has no unsubscribe link (opt-outs do not apply to it).
    source_kind: String,
    resident_id: i64,
    address: String,
    address_detail: Option<String>,
    content_id: i64,
    attempts: i64,
}

/// A claimed LINE batch.
struct LineBatch {
    id: i64,
    /// `multicast` (the stored recipients) or `broadcast` (every friend of the account; no recipients named).
    endpoint: String,
    retry_key: Uuid,
    content_id: i64,
    attempts: i64,
    /// (delivery id, LINE user id), in id order: the same every time the batch is sent.
    recipients: Vec<(i64, String)>,
}

/// What to write for an outcome.
struct Recording {
    status: DeliveryStatus,
    provider_id: Option<String>,
    error: Option<String>,
    /// For a retry: when the row is due again.
    retry_at_ms: Option<i64>,
}

impl Recording {
    fn from_outcome(outcome: &Outcome, attempts: i64, max_attempts: i64) -> Recording {
        match outcome {
            Outcome::Sent { provider_id } => Recording {
                status: DeliveryStatus::Sent,
                provider_id: Some(provider_id.clone()),
                error: None,
                retry_at_ms: None,
            },
            Outcome::Recorded => Recording {
                status: DeliveryStatus::Recorded,
                provider_id: None,
                error: None,
                retry_at_ms: None,
            },
            Outcome::Failed { reason } => Recording {
                status: DeliveryStatus::Failed,
                provider_id: None,
                error: Some(reason.to_string()),
                retry_at_ms: None,
            },
            Outcome::Retry { reason, .. } if attempts >= max_attempts => Recording {
                status: DeliveryStatus::Failed,
                provider_id: None,
                error: Some(format!("gave up after {attempts} attempts: {reason}")),
                retry_at_ms: None,
            },
            Outcome::Retry { after, reason } => Recording {
                status: DeliveryStatus::Pending,
                provider_id: None,
                error: Some(reason.clone()),
                retry_at_ms: Some(
                    now_ms() + i64::try_from(after.as_millis()).unwrap_or(i64::MAX / 4),
                ),
            },
        }
    }

    fn failed(reason: impl Into<String>) -> Recording {
        Recording {
            status: DeliveryStatus::Failed,
            provider_id: None,
            error: Some(reason.into()),
            retry_at_ms: None,
        }
    }
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
    pub async fn new(
        db: Db,
        config: &Config,
        settings: DispatchSettings,
    ) -> Result<Self, DispatchError> {
        let sinks = Sinks::from_config(&db, config).await?;
        let signer = Signer::load(&db, &config.public_url).await?;
        Ok(Dispatcher {
            db,
            sinks,
            signer,
            owner: Uuid::new_v4().to_string(),
            settings,
            contents: Mutex::new(HashMap::new()),
            surveys: Mutex::new(HashMap::new()),
        })
    }

    pub fn sinks(&self) -> &Sinks {
        &self.sinks
    }

    /// Starts one worker per channel. They stop after their current round once `shutdown` turns true: what
    /// is in flight finishes and is recorded, what is not claimed stays pending.
    pub fn spawn(self: Arc<Self>, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        [ChannelKind::Line, ChannelKind::Email, ChannelKind::Push]
            .into_iter()
            .map(|channel| {
                let dispatcher = self.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move { dispatcher.work(channel, shutdown).await })
            })
            .collect()
    }

    async fn work(self: Arc<Self>, channel: ChannelKind, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(%channel, owner = %self.owner, "dispatcher worker started");
        if matches!(channel, ChannelKind::Email | ChannelKind::Push) {
            self.work_singles(channel, shutdown).await;
            tracing::info!(%channel, "dispatcher worker stopped");
            return;
        }
        loop {
            if *shutdown.borrow() {
                break;
            }
            let worked = match self.round(channel).await {
                Ok(n) => n,
                Err(error) => {
                    tracing::warn!(%channel, %error, "dispatcher round failed; trying again");
                    0
                }
            };
            if worked == 0 {
                tokio::select! {
                    () = WAKE_DISPATCHER.notified() => {}
                    () = tokio::time::sleep(self.settings.poll) => {}
                    changed = shutdown.changed() => if changed.is_err() { break },
                }
            }
        }
        tracing::info!(%channel, "dispatcher worker stopped");
    }

    /// One round of LINE: claim, send, record. Returns how many deliveries it handled. (Email and push run
    /// continuously, see [`Dispatcher::work_singles`].)
    pub async fn round(&self, channel: ChannelKind) -> Result<usize, sqlx::Error> {
        match channel {
            ChannelKind::Line => self.line_round().await,
            ChannelKind::Email | ChannelKind::Push | ChannelKind::Webchat => Ok(0),
        }
    }

    /// Whether an emergency is being sent: its fan-out is unfinished or some of its deliveries are due. Notices
    /// then wait on every channel, so the emergency has the processor, the database and the providers to itself.
    async fn emergency_in_progress(&self) -> Result<bool, sqlx::Error> {
        let due: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE channel IN ('line', 'email', 'push') \
             AND status = 'pending' AND priority >= $1 AND due_at_ms <= $2 LIMIT 1) due",
        )
        .bind(super::PRIORITY_EMERGENCY)
        .bind(now_ms())
        .fetch_one(&self.db.pool)
        .await?;
        if due > 0 {
            return Ok(true);
        }
        // A fan-out that has not finished within ten minutes is broken, not under way: notices do not wait for it.
        let unfinished: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM emergencies WHERE fanned_out_at_ms IS NULL \
             AND created_at_ms > $1 LIMIT 1) unfinished",
        )
        .bind(now_ms() - 10 * 60 * 1000)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(unfinished > 0)
    }

    fn lease_until(&self, now: i64) -> i64 {
        now + i64::try_from(self.settings.lease.as_millis()).unwrap_or(300_000)
    }

    async fn content(&self, content_id: i64) -> Result<Arc<Rendered>, sqlx::Error> {
        if let Some(found) = self
            .contents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&content_id)
        {
            return Ok(found.clone());
        }
        let text: String =
            sqlx::query_scalar("SELECT content FROM delivery_contents WHERE id = $1")
                .bind(content_id)
                .fetch_one(&self.db.pool)
                .await?;
        let rendered: Rendered =
            serde_json::from_str(&text).map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
        let rendered = Arc::new(rendered);
        let mut cache = self.contents.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(content_id, rendered.clone());
        Ok(rendered)
    }

    /// The survey a content invites to, when it is a survey's invitation: its email and push messages get the
    /// resident's own signed link, its LINE message a 「回答する」 quick reply.
    async fn survey_of(&self, content_id: i64) -> Result<Option<i64>, sqlx::Error> {
        if let Some(found) = self
            .surveys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&content_id)
        {
            return Ok(*found);
        }
        let survey: Option<i64> = sqlx::query_scalar(
            "SELECT s.id FROM delivery_contents c JOIN surveys s ON s.notice_id = c.source_id \
             WHERE c.id = $1 AND c.source_kind = 'notice'",
        )
        .bind(content_id)
        .fetch_optional(&self.db.pool)
        .await?;
        let mut cache = self.surveys.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(content_id, survey);
        Ok(survey)
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
                if let Err(error) = self.record_singles(channel, &group).await {
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
                    match self.claim_singles(channel, wanted).await {
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
                    self.release(queue.drain(..).map(|row| row.id).collect())
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
                                    this.release(vec![id]).await;
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

    /// Claims up to `limit` due email or push rows (emergencies only while one is being sent).
    async fn claim_singles(
        &self,
        channel: ChannelKind,
        limit: usize,
    ) -> Result<Vec<Claimed>, sqlx::Error> {
        let min_priority = if self.emergency_in_progress().await? {
            super::PRIORITY_EMERGENCY
        } else {
            i64::MIN
        };
        let now = now_ms();
        let sql = format!(
            "UPDATE deliveries SET lease_until_ms = $1, lease_owner = $2, attempts = attempts + 1, \
             updated_at_ms = $3 WHERE id IN (SELECT id FROM deliveries WHERE channel = $4 AND status = 'pending' \
             AND due_at_ms <= $3 AND lease_until_ms < $3 AND priority >= $6 \
             ORDER BY priority DESC, due_at_ms, id LIMIT $5{}) \
             RETURNING id, source_kind, resident_id, address, address_detail, content_id, attempts",
            skip_locked(&self.db)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(self.lease_until(now))
            .bind(&self.owner)
            .bind(now)
            .bind(channel.as_str())
            .bind(limit as i64)
            .bind(min_priority)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Claimed {
                    id: row.try_get("id")?,
                    source_kind: row.try_get("source_kind")?,
                    resident_id: row.try_get("resident_id")?,
                    address: row.try_get("address")?,
                    address_detail: row.try_get("address_detail")?,
                    content_id: row.try_get("content_id")?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
    }

    /// Gives claimed rows that were not started back (on shutdown): pending, claimable at once, the claim's
    /// attempt not counted.
    async fn release(&self, ids: Vec<i64>) {
        if ids.is_empty() {
            return;
        }
        let sql = format!(
            "UPDATE deliveries SET lease_until_ms = 0, attempts = attempts - 1 WHERE lease_owner = $1 \
             AND status = 'pending' AND id IN ({})",
            value_list(ids.len(), 2)
        );
        let released = self
            .retrying("release claimed rows", || {
                let mut query = sqlx::query(AssertSqlSafe(sql.clone())).bind(&self.owner);
                for id in &ids {
                    query = query.bind(*id);
                }
                query.execute(&self.db.pool)
            })
            .await;
        if let Err(error) = released {
            tracing::warn!(%error, rows = ids.len(), "claimed rows not released; they are sent when the lease runs out");
        }
    }

    /// Sends one row and returns what to record (the caller records outcomes in small groups).
    async fn attempt_single(
        &self,
        channel: ChannelKind,
        row: Claimed,
    ) -> Result<(Claimed, Recording), sqlx::Error> {
        let key = delivery_key(row.id);
        let content = self.content(row.content_id).await?;
        let outcome = match (channel, content.as_ref()) {
            (
                ChannelKind::Email,
                Rendered::Email {
                    subject,
                    text,
                    html,
                },
            ) => {
                let message = if row.source_kind == "emergency" {
                    // An emergency reaches everyone with an address: no unsubscribe link.
                    EmailMessage {
                        subject: subject.clone(),
                        text: text.clone(),
                        html: Some(html.clone()),
                        list_unsubscribe: None,
                    }
                } else {
                    let url = self.signer.url(row.resident_id, &row.address);
                    // registration: every mail also links to the resident's preferences page.
                    let preferences = crate::registration::preferences_url(
                        &self.signer,
                        row.resident_id,
                        chrono::Utc::now(),
                    );
                    let (mut text, mut html) = (text.clone(), html.clone());
                    if let Some(survey) = self.survey_of(row.content_id).await? {
                        let answer =
                            crate::surveys::answer_url(&self.signer, survey, row.resident_id);
                        text =
                            format!("{text}\n\nアンケートに回答する / Answer the survey: {answer}");
                        html = with_link_paragraph(
                            &html,
                            &format!(
                                "<a href=\"{answer}\">アンケートに回答する / Answer the survey</a>"
                            ),
                        );
                    }
                    EmailMessage {
                        subject: subject.clone(),
                        text: format!(
                            "{text}\n\n配信設定の変更 / Preferences: {preferences}\n配信停止 / Unsubscribe: {url}"
                        ),
                        html: Some(with_unsubscribe_link(
                            &crate::registration::with_preferences_link(&html, &preferences),
                            &url,
                        )),
                        list_unsubscribe: Some(url),
                    }
                };
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
                let answer = match self.survey_of(row.content_id).await? {
                    Some(survey) => Some(crate::surveys::answer_url(
                        &self.signer,
                        survey,
                        row.resident_id,
                    )),
                    None => None,
                };
                let url = answer.as_deref().or(url.as_deref());
                let message = PushMessage::notification(title, body, url);
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
            self.retrying("mark an unusable subscription inactive", || {
                sqlx::query(
                    "UPDATE resident_addresses SET active = 0 WHERE resident_id = $1 AND channel = 'push' \
                     AND address = $2",
                )
                .bind(row.resident_id)
                .bind(row.address.clone())
                .execute(&self.db.pool)
            })
            .await?;
        }
        let recording = Recording::from_outcome(&outcome, row.attempts, self.settings.max_attempts);
        Ok((row, recording))
    }

    /// Records the outcomes of several rows in one transaction (one commit instead of one per row: the
    /// single writer of SQLite is the bottleneck of email and push otherwise). Outcomes are handed over as they
    /// come, so a group holds what finished while the previous group was being written.
    async fn record_singles(
        &self,
        channel: ChannelKind,
        group: &[(Claimed, Recording)],
    ) -> Result<(), sqlx::Error> {
        for (row, recording) in group {
            tracing::debug!(%channel, delivery = row.id, status = recording.status.as_str(), "delivery outcome");
        }
        if self.db.backend == crate::db::Backend::Postgres {
            // One statement for the group (a round trip per row otherwise).
            return self
                .retrying("record delivery outcomes", || async {
                    let values = (0..group.len())
                        .map(|i| {
                            let p = 2 + i * 5;
                            format!(
                                "(${}::bigint, ${}::text, ${}::text, ${}::text, ${}::bigint)",
                                p,
                                p + 1,
                                p + 2,
                                p + 3,
                                p + 4
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!(
                        "UPDATE deliveries AS d SET status = v.status, \
                         provider_id = COALESCE(v.provider_id, d.provider_id), error = v.error, \
                         due_at_ms = COALESCE(v.retry_at, d.due_at_ms), lease_until_ms = 0, updated_at_ms = $1 \
                         FROM (VALUES {values}) AS v(id, status, provider_id, error, retry_at) WHERE d.id = v.id"
                    );
                    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(now_ms());
                    for (row, recording) in group {
                        query = query
                            .bind(row.id)
                            .bind(recording.status.as_str())
                            .bind(recording.provider_id.clone())
                            .bind(recording.error.clone())
                            .bind(recording.retry_at_ms);
                    }
                    query.execute(&self.db.pool).await.map(|_| ())
                })
                .await;
        }
        self.retrying("record delivery outcomes", || async {
            let now = now_ms();
            let mut tx = self.db.begin_write().await?;
            for (row, recording) in group {
                sqlx::query(
                    "UPDATE deliveries SET status = $1, provider_id = COALESCE($2, provider_id), error = $3, \
                     due_at_ms = COALESCE($4, due_at_ms), lease_until_ms = 0, updated_at_ms = $5 WHERE id = $6",
                )
                .bind(recording.status.as_str())
                .bind(recording.provider_id.clone())
                .bind(recording.error.clone())
                .bind(recording.retry_at_ms)
                .bind(now)
                .bind(row.id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })
        .await
    }

    /// Runs a write until it succeeds (a busy SQLite, a dropped connection, a database restarting): an outcome
    /// that is known must not be lost, or the row would be sent again when its lease runs out. It keeps trying
    /// for as long as the lease holds (a fixed number of quick attempts gave up during a 10 s database restart,
    /// and the rows were sent twice); after that another worker may take the row anyway.
    async fn retrying<F, Fut, T>(&self, what: &str, mut write: F) -> Result<T, sqlx::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
    {
        let started = std::time::Instant::now();
        let mut attempt = 0u32;
        loop {
            match write().await {
                Ok(value) => return Ok(value),
                Err(error) if started.elapsed() < self.settings.lease => {
                    attempt += 1;
                    tracing::warn!(%error, attempt, "{what} failed; retrying");
                    let wait = Duration::from_millis(250 * u64::from(attempt.min(4)));
                    tokio::time::sleep(wait).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    // ---- LINE: stored batches of up to 500 ----

    async fn line_round(&self) -> Result<usize, sqlx::Error> {
        // One wave of requests per round: an emergency waits for at most the round under way.
        let wanted = self.settings.line_concurrency.max(1);
        // The emergency lane first: its stored batches and rows, before anything of a notice is claimed, so a
        // large notice in flight delays an emergency by at most the round already under way.
        let mut batches = Vec::new();
        for min_priority in [super::PRIORITY_EMERGENCY, i64::MIN] {
            batches.extend(
                self.claim_line_batches(wanted - batches.len(), min_priority)
                    .await?,
            );
            if batches.len() < wanted {
                let rows = ((wanted - batches.len())
                    * channels::line::limits::MULTICAST_MAX_RECIPIENTS)
                    as i64;
                batches.extend(self.form_line_batches(rows, min_priority).await?);
            }
            // While an emergency is being sent, notices wait on every channel (their rounds would take the
            // processor and the database from it).
            if !batches.is_empty() || self.emergency_in_progress().await? {
                break;
            }
        }
        let count: usize = batches.iter().map(|b| b.recipients.len().max(1)).sum();
        if batches.is_empty() {
            return Ok(0);
        }
        let results: Vec<Result<(), sqlx::Error>> = futures_util::stream::iter(batches)
            .map(|batch| {
                let span = tracing::info_span!(
                    "delivery_batch",
                    channel = "line",
                    batch = batch.id,
                    size = batch.recipients.len()
                );
                self.send_line_batch(batch).instrument(span)
            })
            .buffer_unordered(self.settings.line_concurrency.max(1))
            .collect()
            .await;
        for result in results {
            result?;
        }
        Ok(count.max(1))
    }

    /// Batches stored earlier that are due (a retry, or one whose worker stopped): the same recipients, the
    /// same key.
    async fn claim_line_batches(
        &self,
        limit: usize,
        min_priority: i64,
    ) -> Result<Vec<LineBatch>, sqlx::Error> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let sql = format!(
            "UPDATE delivery_batches SET lease_until_ms = $1, lease_owner = $2, attempts = attempts + 1, \
             updated_at_ms = $3 WHERE id IN (SELECT id FROM delivery_batches WHERE channel = 'line' \
             AND status = 'open' AND due_at_ms <= $3 AND lease_until_ms < $3 AND priority >= $5 \
             ORDER BY priority DESC, due_at_ms, id LIMIT $4{}) \
             RETURNING id, endpoint, retry_key, content_id, attempts",
            skip_locked(&self.db)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(self.lease_until(now))
            .bind(&self.owner)
            .bind(now)
            .bind(limit as i64)
            .bind(min_priority)
            .fetch_all(&self.db.pool)
            .await?;
        let mut batches = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let key: String = row.try_get("retry_key")?;
            let retry_key =
                Uuid::parse_str(&key).map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
            let endpoint: String = row.try_get("endpoint")?;
            if endpoint == "broadcast" {
                // Every friend of the account: no recipients are named; the rows are only counted.
                batches.push(LineBatch {
                    id,
                    endpoint,
                    retry_key,
                    content_id: row.try_get("content_id")?,
                    attempts: row.try_get("attempts")?,
                    recipients: Vec::new(),
                });
                continue;
            }
            let recipients = sqlx::query(
                "SELECT id, address FROM deliveries WHERE batch_id = $1 AND status = 'pending' ORDER BY id",
            )
            .bind(id)
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("address")?)))
            .collect::<Result<Vec<(i64, String)>, sqlx::Error>>()?;
            batches.push(LineBatch {
                id,
                endpoint,
                retry_key,
                content_id: row.try_get("content_id")?,
                attempts: row.try_get("attempts")?,
                recipients,
            });
        }
        Ok(batches)
    }

    /// Claims due LINE rows that have no batch yet, groups them by content (one language, one message) into
    /// batches of up to 500, and stores each batch and its retry key, all in one transaction.
    async fn form_line_batches(
        &self,
        limit: i64,
        min_priority: i64,
    ) -> Result<Vec<LineBatch>, sqlx::Error> {
        let now = now_ms();
        let lease_until = self.lease_until(now);
        let mut tx = self.db.begin_write().await?;
        let sql = format!(
            "UPDATE deliveries SET lease_until_ms = $1, lease_owner = $2, updated_at_ms = $3 \
             WHERE id IN (SELECT id FROM deliveries WHERE channel = 'line' AND status = 'pending' \
             AND batch_id IS NULL AND due_at_ms <= $3 AND lease_until_ms < $3 AND priority >= $5 \
             ORDER BY priority DESC, due_at_ms, id LIMIT $4{}) RETURNING id, address, content_id, priority",
            skip_locked(&self.db)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(lease_until)
            .bind(&self.owner)
            .bind(now)
            .bind(limit)
            .bind(min_priority)
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let mut groups: BTreeMap<(i64, i64), Vec<(i64, String)>> = BTreeMap::new();
        for row in &rows {
            let priority: i64 = row.try_get("priority")?;
            let content_id: i64 = row.try_get("content_id")?;
            groups
                .entry((-priority, content_id))
                .or_default()
                .push((row.try_get("id")?, row.try_get("address")?));
        }
        let mut batches = Vec::new();
        for ((negative_priority, content_id), mut members) in groups {
            members.sort_unstable_by_key(|(id, _)| *id);
            for chunk in members.chunks(channels::line::limits::MULTICAST_MAX_RECIPIENTS) {
                let retry_key = Uuid::new_v4();
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO delivery_batches (channel, retry_key, content_id, priority, size, status, \
                     attempts, due_at_ms, lease_until_ms, lease_owner, created_at_ms, updated_at_ms) \
                     VALUES ('line', $1, $2, $3, $4, 'open', 1, $5, $6, $7, $5, $5) RETURNING id",
                )
                .bind(retry_key.to_string())
                .bind(content_id)
                .bind(-negative_priority)
                .bind(chunk.len() as i64)
                .bind(now)
                .bind(lease_until)
                .bind(&self.owner)
                .fetch_one(&mut *tx)
                .await?;
                // In order: anonymous placeholders on SQLite (see `db::anonymous_value_rows`).
                let sql = match self.db.backend {
                    crate::db::Backend::Sqlite => format!(
                        "UPDATE deliveries SET batch_id = ?, attempts = attempts + 1 WHERE id IN ({})",
                        vec!["?"; chunk.len()].join(", ")
                    ),
                    crate::db::Backend::Postgres => format!(
                        "UPDATE deliveries SET batch_id = $1, attempts = attempts + 1 WHERE id IN ({})",
                        value_list(chunk.len(), 2)
                    ),
                };
                let mut update = sqlx::query(AssertSqlSafe(sql)).bind(id);
                for (delivery, _) in chunk {
                    update = update.bind(*delivery);
                }
                update.execute(&mut *tx).await?;
                batches.push(LineBatch {
                    id,
                    endpoint: "multicast".to_owned(),
                    retry_key,
                    content_id,
                    attempts: 1,
                    recipients: chunk.to_vec(),
                });
            }
        }
        tx.commit().await?;
        Ok(batches)
    }

    async fn send_line_batch(&self, batch: LineBatch) -> Result<(), sqlx::Error> {
        let broadcast = batch.endpoint == "broadcast";
        if batch.recipients.is_empty() && !broadcast {
            return self
                .record_line_batch(&batch, Recording::failed("no recipients left"), true)
                .await;
        }
        let content = self.content(batch.content_id).await?;
        let quick_reply = match self.survey_of(batch.content_id).await? {
            Some(survey) => crate::surveys::line::invitation_quick_reply(&self.signer, survey).ok(),
            None => None,
        };
        let message: Vec<LineMessage> = match content.line_messages() {
            Ok(mut messages) => {
                // Pop only when there is a quick reply to attach: popping first dropped the last message.
                if let Some(quick_reply) = quick_reply
                    && let Some(last) = messages.pop()
                {
                    messages.push(last.with_quick_reply(quick_reply));
                }
                messages
            }
            Err(error) => {
                return self
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
                    self.retrying("record an invalid LINE recipient", || {
                        sqlx::query(
                            "UPDATE deliveries SET status = 'failed', error = $1, lease_until_ms = 0, \
                             updated_at_ms = $2 WHERE id = $3",
                        )
                        .bind(format!("invalid_recipient: {error}"))
                        .bind(now_ms())
                        .bind(*delivery)
                        .execute(&self.db.pool)
                    })
                    .await?;
                }
            }
        }
        if recipients.is_empty() {
            return self
                .record_line_batch(&batch, Recording::failed("no valid recipients"), true)
                .await;
        }
        let request = Request::new(batch.retry_key, recipients, message);
        let outcome = self.sinks.line.send(&request).await.into_iter().next();
        let Some(outcome) = outcome else {
            return self
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
        let recording =
            Recording::from_outcome(&outcome, batch.attempts, self.settings.max_attempts);
        let done = recording.status != DeliveryStatus::Pending;
        self.record_line_batch(&batch, recording, done).await
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
        let recording =
            Recording::from_outcome(&outcome, batch.attempts, self.settings.max_attempts);
        let done = recording.status != DeliveryStatus::Pending;
        self.record_line_batch(batch, recording, done).await
    }

    async fn record_line_batch(
        &self,
        batch: &LineBatch,
        recording: Recording,
        done: bool,
    ) -> Result<(), sqlx::Error> {
        self.retrying("record a LINE batch outcome", || async {
            let now = now_ms();
            let mut tx = self.db.begin_write().await?;
            // The batch row first: it is the lock an emergency fan-out takes before attaching rows to a
            // broadcast batch, so rows attached concurrently are either updated below or take the stored outcome.
            sqlx::query(
                "UPDATE delivery_batches SET status = $1, due_at_ms = COALESCE($2, due_at_ms), \
                 lease_until_ms = 0, updated_at_ms = $3, outcome = $5, provider_id = $6, error = $7 \
                 WHERE id = $4",
            )
            .bind(if done { "done" } else { "open" })
            .bind(recording.retry_at_ms)
            .bind(now)
            .bind(batch.id)
            .bind(done.then(|| recording.status.as_str()))
            .bind(recording.provider_id.clone())
            .bind(recording.error.clone())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE deliveries SET status = $1, provider_id = COALESCE($2, provider_id), error = $3, \
                 lease_until_ms = 0, updated_at_ms = $4 WHERE batch_id = $5 AND status = 'pending'",
            )
            .bind(recording.status.as_str())
            .bind(recording.provider_id.clone())
            .bind(recording.error.clone())
            .bind(now)
            .bind(batch.id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
        .await
    }
}

/// Adds the unsubscribe link at the end of an HTML body.
fn with_unsubscribe_link(html: &str, url: &str) -> String {
    with_link_paragraph(
        html,
        &format!("<a href=\"{url}\">配信停止 / Unsubscribe</a>"),
    )
}

/// `html` with `<p>{inner}</p>` added at the end of its body.
fn with_link_paragraph(html: &str, inner: &str) -> String {
    let link = format!("<p>{inner}</p>");
    match html.rfind("</body>") {
        Some(at) => format!("{}{link}{}", &html[..at], &html[at..]),
        None => format!("{html}{link}"),
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

    #[test]
    fn retry_becomes_failure_after_the_last_attempt() {
        let retry = Outcome::Retry {
            after: Duration::from_secs(2),
            reason: "LINE multicast: 500".into(),
        };
        let again = Recording::from_outcome(&retry, 3, 10);
        assert_eq!(again.status, DeliveryStatus::Pending);
        assert!(again.retry_at_ms.is_some_and(|at| at > now_ms()));
        let given_up = Recording::from_outcome(&retry, 10, 10);
        assert_eq!(given_up.status, DeliveryStatus::Failed);
        assert!(given_up.error.is_some_and(|e| e.contains("gave up")));
    }

    #[test]
    fn unsubscribe_link_goes_inside_the_body() {
        let html = with_unsubscribe_link("<html><body><p>x</p></body></html>", "http://h/u/1.ab");
        assert!(html.ends_with("配信停止 / Unsubscribe</a></p></body></html>"));
    }
}
