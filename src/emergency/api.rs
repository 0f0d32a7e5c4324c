//! The emergency API: the trigger, progress (JSON and a server-sent-events stream), the residents who need
//! help, and the list of recent emergencies.
//!
//! | method, path | who |
//! |---|---|
//! | `POST /api/emergencies` | disaster, admin |
//! | `GET /api/emergencies`, `GET /api/emergencies/{id}`, `GET /api/emergencies/{id}/events` | disaster, admin, viewer, pr |
//! | `GET /api/emergencies/{id}/need-help` | disaster, admin (never PR: it names residents) |

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::store::{self, StoredEmergency};
use super::{AlertKind, AlertStatus, Area, Severity, Urgency};
use crate::AppState;
use crate::audit;
use crate::auth::{Role, Staff};
use crate::db::Db;
use crate::error::ApiError;
use crate::messages::staff::StaffMsg;
use crate::outbox::{self, DeliveryCounts};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/emergencies", post(trigger).get(list))
        .route("/api/emergencies/{id}", get(progress))
        .route("/api/emergencies/{id}/need-help", get(need_help))
        .route("/api/emergencies/{id}/events", get(events))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(trigger, list, progress, need_help, events),
    components(schemas(
        Triggered,
        Progress,
        Summary,
        NeedHelpList,
        NeedHelpEntry,
        super::EmergencyInput,
        super::AlertKind,
        super::AlertStatus,
        super::Severity,
        super::Urgency
    ))
)]
pub struct EmergencyDoc;

const TRIGGER: &[Role] = &[Role::Disaster];
const READERS: &[Role] = &[Role::Disaster, Role::Viewer, Role::Pr];
const RESPONDERS: &[Role] = &[Role::Disaster];

/// The answer to a trigger.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Triggered {
    pub id: i64,
    pub kind: AlertKind,
    pub dry_run: bool,
    /// `true` when the same CAP document (sender and identifier) was received before: `id` is that emergency
    /// and nothing is sent again (answered 200 instead of 201).
    pub duplicate: bool,
}

/// Triggers an emergency: JSON or CAP 1.2 (`Content-Type: application/cap+xml`). The alert is stored first and
/// answered at once; the broadcast runs in the background on the emergency lane.
#[utoipa::path(post, path = "/api/emergencies",
    request_body(content = super::EmergencyInput, description = "JSON, or a CAP 1.2 document with Content-Type application/cap+xml"),
    responses(
        (status = 201, body = Triggered, description = "stored; the broadcast is under way"),
        (status = 200, body = Triggered, description = "the same CAP document was received before"),
        (status = 400, body = crate::error::ErrorBody, description = "names the field or CAP element"),
        (status = 403, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
        (status = 415, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn trigger(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    staff.require(TRIGGER)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let alert = super::parse_emergency_request(content_type, &body, &state.config.districts)?;
    // A drill from staff goes only to the test recipients: with none configured it would reach nobody and look
    // sent, so it is refused up front (a CAP exercise from a warning system is recorded as it comes).
    if alert.dry_run && alert.cap.is_none() && state.config.emergency_test_recipients.is_empty() {
        return Err(ApiError::bad_request(
            "dry_run",
            "a drill goes only to HUB_EMERGENCY_TEST_RECIPIENTS, and none are configured",
        )
        .in_japanese(StaffMsg::DrillWithoutTestRecipients.ja()));
    }
    let inserted = store::insert(&state.db, &alert, &staff.name).await?;
    // The fan-out starts now, in the background (this process's worker; any hub's worker would take it over).
    state.emergency_wake.notify_one();
    tracing::info!(
        emergency = inserted.id,
        duplicate = inserted.duplicate,
        kind = ?alert.kind,
        dry_run = alert.dry_run,
        "emergency triggered"
    );
    if !inserted.duplicate {
        let _ = audit::record(
            &state.db,
            &staff,
            "emergency.trigger",
            &inserted.id.to_string(),
            serde_json::json!({"kind": alert.kind, "dry_run": alert.dry_run,
                               "cap": alert.cap.as_ref().map(|c| &c.identifier)}),
        )
        .await
        .map_err(|error| tracing::warn!(%error, "audit entry not written"));
    }
    let status = if inserted.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(Triggered {
            id: inserted.id,
            kind: alert.kind,
            dry_run: alert.dry_run,
            duplicate: inserted.duplicate,
        }),
    )
        .into_response())
}

/// An emergency and how far it has got.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Progress {
    pub id: i64,
    pub kind: AlertKind,
    pub status: AlertStatus,
    pub dry_run: bool,
    /// The incident's first alert (itself for an alert); `safe` and `need_help` count for the incident.
    pub incident_id: i64,
    /// The emergencies this update or cancellation is about.
    pub references: Vec<i64>,
    /// The Japanese title as residents see it (marked 【更新】, 【取消】, 【訓練】).
    pub title: String,
    /// `{"ja": {"title", "body"}, "en": {…}, …}`
    #[schema(value_type = Object)]
    pub text: serde_json::Value,
    pub whole_city: bool,
    /// The districts named (empty for the whole city or for an update that names no area).
    pub districts: Vec<String>,
    pub severity: Severity,
    pub urgency: Urgency,
    pub cap_identifier: Option<String>,
    pub triggered_by: String,
    pub created_at: String,
    pub created_at_ms: i64,
    /// LINE goes as one broadcast to every friend of the account.
    pub line_broadcast: bool,
    /// Every delivery row is written.
    pub fanned_out: bool,
    /// Residents with at least one delivery (known once fanned out).
    pub targeted_residents: Option<i64>,
    /// Web chat pages the banner was shown on.
    pub webchat_pages: i64,
    /// The incident was cancelled.
    pub cancelled: bool,
    /// By channel (`line`, `email`, `push`): targeted, sent, failed, pending, recorded.
    pub counts: BTreeMap<String, DeliveryCounts>,
    pub totals: DeliveryCounts,
    /// Verified answers 「無事です」: from LINE (a targeted resident's account, or a friend a city-wide broadcast
    /// reached; LINE signs the webhook). Web chat answers are never counted here (see `unverified`).
    pub safe: i64,
    /// … and 「助けが必要」 (the need-help list staff act on holds exactly these).
    pub need_help: i64,
    /// Answers from web chat pages: anyone can open the chat, so these are anonymous and counted apart.
    pub unverified: UnverifiedAnswers,
    /// Milliseconds from the trigger to the first delivery a provider accepted (or recorded).
    pub first_sent_ms: Option<i64>,
    /// Milliseconds from the trigger until nothing was pending any more (`null` until then).
    pub all_sent_ms: Option<i64>,
    /// Fanned out and nothing pending.
    pub done: bool,
}

/// Anonymous safety answers (web chat), never mixed into the verified counts.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct UnverifiedAnswers {
    pub safe: i64,
    pub need_help: i64,
}

/// One line of the list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub id: i64,
    pub kind: AlertKind,
    pub dry_run: bool,
    pub incident_id: i64,
    pub title: String,
    pub whole_city: bool,
    pub districts: Vec<String>,
    pub severity: Severity,
    pub created_at: String,
    pub created_at_ms: i64,
    pub cancelled: bool,
    pub fanned_out: bool,
    pub targeted_residents: Option<i64>,
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .to_rfc3339()
}

fn area_parts(area: &Option<Area>) -> (bool, Vec<String>) {
    match area {
        Some(Area::WholeCity) => (true, Vec::new()),
        Some(Area::Districts(list)) => {
            (false, list.iter().map(|d| d.as_str().to_owned()).collect())
        }
        None => (false, Vec::new()),
    }
}

async fn incident_cancelled(db: &Db, emergency: &StoredEmergency) -> Result<bool, sqlx::Error> {
    if emergency.cancelled_at_ms.is_some() {
        return Ok(true);
    }
    let root: Option<Option<i64>> =
        sqlx::query_scalar("SELECT cancelled_at_ms FROM emergencies WHERE id = $1")
            .bind(emergency.root_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(root.flatten().is_some())
}

/// Computes the progress, keeping `first_sent_ms` and `all_sent_ms` once they are known.
pub async fn compute(db: &Db, id: i64) -> Result<Option<Progress>, sqlx::Error> {
    let Some(emergency) = store::find(db, id).await? else {
        return Ok(None);
    };
    let mut counts = outbox::counts(db, "emergency", id).await?;
    for channel in ["line", "email", "push"] {
        counts.entry(channel.to_owned()).or_default();
    }
    let mut totals = DeliveryCounts::default();
    for c in counts.values() {
        totals.merge(c);
    }
    let mut first_sent_ms = emergency.first_sent_ms;
    if first_sent_ms.is_none() && totals.sent + totals.recorded > 0 {
        let first: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(updated_at_ms) FROM deliveries WHERE source_kind = 'emergency' AND source_id = $1 \
             AND status IN ('sent', 'recorded')",
        )
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
        if let Some(first) = first {
            let ms = (first - emergency.created_at_ms).max(0);
            sqlx::query(
                "UPDATE emergencies SET first_sent_ms = COALESCE(first_sent_ms, $1) WHERE id = $2",
            )
            .bind(ms)
            .bind(id)
            .execute(&db.pool)
            .await?;
            first_sent_ms = Some(ms);
        }
    }
    let fanned_out = emergency.fanned_out_at_ms.is_some();
    let done = fanned_out && totals.pending == 0;
    let mut all_sent_ms = emergency.all_sent_ms;
    if all_sent_ms.is_none() && done {
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(updated_at_ms) FROM deliveries WHERE source_kind = 'emergency' AND source_id = $1",
        )
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
        let at = last
            .unwrap_or_default()
            .max(emergency.fanned_out_at_ms.unwrap_or_default());
        let ms = (at - emergency.created_at_ms).max(0);
        sqlx::query("UPDATE emergencies SET all_sent_ms = COALESCE(all_sent_ms, $1) WHERE id = $2")
            .bind(ms)
            .bind(id)
            .execute(&db.pool)
            .await?;
        all_sent_ms = Some(ms);
    }
    let answers = sqlx::query(
        "SELECT answer, channel, COUNT(*) AS n FROM emergency_answers WHERE emergency_id = $1 \
         GROUP BY answer, channel",
    )
    .bind(emergency.root_id)
    .fetch_all(&db.pool)
    .await?;
    let (mut safe, mut need_help) = (0, 0);
    let mut unverified = UnverifiedAnswers::default();
    for row in answers {
        let answer: String = row.try_get("answer")?;
        let channel: String = row.try_get("channel")?;
        let n: i64 = row.try_get("n")?;
        let verified = channel != super::safety::UNVERIFIED_CHANNEL;
        match (answer.as_str(), verified) {
            ("safe", true) => safe += n,
            ("need_help", true) => need_help += n,
            ("safe", false) => unverified.safe += n,
            ("need_help", false) => unverified.need_help += n,
            _ => {}
        }
    }
    let webchat_pages: i64 =
        sqlx::query_scalar("SELECT webchat_pages FROM emergencies WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await?;
    let (whole_city, districts) = area_parts(&emergency.area);
    let cancelled = incident_cancelled(db, &emergency).await?;
    Ok(Some(Progress {
        id,
        kind: emergency.kind,
        status: emergency.status,
        dry_run: emergency.dry_run,
        incident_id: emergency.root_id,
        references: emergency.reference_ids.clone(),
        title: emergency.alert().marked_title("ja"),
        text: serde_json::to_value(&emergency.text).unwrap_or_default(),
        whole_city,
        districts,
        severity: emergency.severity,
        urgency: emergency.urgency,
        cap_identifier: emergency.cap_identifier.clone(),
        triggered_by: emergency.triggered_by.clone(),
        created_at: rfc3339(emergency.created_at_ms),
        created_at_ms: emergency.created_at_ms,
        line_broadcast: emergency.line_broadcast,
        fanned_out,
        targeted_residents: emergency.targeted,
        webchat_pages,
        cancelled,
        counts,
        totals,
        safe,
        need_help,
        unverified,
        first_sent_ms,
        all_sent_ms,
        done,
    }))
}

/// An emergency's progress (disaster, admin, viewer, pr: no personal data).
#[utoipa::path(get, path = "/api/emergencies/{id}", params(("id" = i64, Path, description = "the emergency")),
    responses((status = 200, body = Progress), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn progress(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<Progress>, ApiError> {
    staff.require(READERS)?;
    compute(&state.db, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no emergency {id}")))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<i64>,
}

/// Recent emergencies, newest first (`?limit=N`, default 50).
#[utoipa::path(get, path = "/api/emergencies", params(("limit" = Option<i64>, Query, description = "at most this many (default 50)")),
    responses((status = 200, body = [Summary])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<Summary>>, ApiError> {
    staff.require(READERS)?;
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let mut out = Vec::new();
    for emergency in store::recent(&state.db, limit).await? {
        let (whole_city, districts) = area_parts(&emergency.area);
        out.push(Summary {
            id: emergency.id,
            kind: emergency.kind,
            dry_run: emergency.dry_run,
            incident_id: emergency.root_id,
            title: emergency.alert().marked_title("ja"),
            whole_city,
            districts,
            severity: emergency.severity,
            created_at: rfc3339(emergency.created_at_ms),
            created_at_ms: emergency.created_at_ms,
            cancelled: incident_cancelled(&state.db, &emergency).await?,
            fanned_out: emergency.fanned_out_at_ms.is_some(),
            targeted_residents: emergency.targeted,
        });
    }
    Ok(Json(out))
}

/// Who needs help.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NeedHelpList {
    pub emergency_id: i64,
    pub incident_id: i64,
    pub count: usize,
    /// Verified answers only (LINE); anonymous web chat answers are not listed (their number is
    /// `unverified_need_help`).
    pub residents: Vec<NeedHelpEntry>,
    /// 「助けが必要」 from web chat pages: anonymous, not listed.
    pub unverified_need_help: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NeedHelpEntry {
    /// The resident's id in the city's records; `null` for a LINE friend who is not registered or a web chat page.
    pub external_id: Option<String>,
    pub district: Option<String>,
    pub language: Option<String>,
    /// Where the answer came from: `line` (web chat answers are not listed).
    pub channel: String,
    /// Addresses to reach the resident on (LINE user id, email), for the disaster team.
    pub line: Option<String>,
    pub email: Option<String>,
    pub answered_at: String,
    /// The emergency (alert or update) whose message was answered.
    pub answered_from: i64,
}

/// Residents who answered 「助けが必要」 with their district (disaster, admin; never PR).
#[utoipa::path(get, path = "/api/emergencies/{id}/need-help", params(("id" = i64, Path, description = "the emergency (its incident's answers)")),
    responses((status = 200, body = NeedHelpList), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn need_help(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<NeedHelpList>, ApiError> {
    staff.require(RESPONDERS)?;
    let list = need_help_list(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no emergency {id}")))?;
    let _ = audit::record(
        &state.db,
        &staff,
        "emergency.need_help.read",
        &id.to_string(),
        serde_json::json!({"count": list.count}),
    )
    .await;
    Ok(Json(list))
}

/// The residents who answered 「助けが必要」 to an emergency's incident (verified answers only), for the API and the
/// console's progress page (each caller audits its reading). `None` for an unknown emergency.
pub async fn need_help_list(db: &Db, id: i64) -> Result<Option<NeedHelpList>, sqlx::Error> {
    let Some(emergency) = store::find(db, id).await? else {
        return Ok(None);
    };
    let rows = sqlx::query(
        "SELECT a.channel, a.answered_at_ms, a.answered_from, r.external_id, r.district, r.language, \
         (SELECT address FROM resident_addresses WHERE resident_id = r.id AND channel = 'line') AS line, \
         (SELECT address FROM resident_addresses WHERE resident_id = r.id AND channel = 'email') AS email \
         FROM emergency_answers a LEFT JOIN residents r ON r.id = a.resident_id \
         WHERE a.emergency_id = $1 AND a.answer = 'need_help' AND a.channel <> $2 \
         ORDER BY r.district, a.answered_at_ms",
    )
    .bind(emergency.root_id)
    .bind(super::safety::UNVERIFIED_CHANNEL)
    .fetch_all(&db.pool)
    .await?;
    let unverified_need_help: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM emergency_answers WHERE emergency_id = $1 AND answer = 'need_help' \
         AND channel = $2",
    )
    .bind(emergency.root_id)
    .bind(super::safety::UNVERIFIED_CHANNEL)
    .fetch_one(&db.pool)
    .await?;
    let mut residents = Vec::with_capacity(rows.len());
    for row in rows {
        residents.push(NeedHelpEntry {
            external_id: row.try_get("external_id")?,
            district: row.try_get("district")?,
            language: row.try_get("language")?,
            channel: row.try_get("channel")?,
            line: row.try_get("line")?,
            email: row.try_get("email")?,
            answered_at: rfc3339(row.try_get("answered_at_ms")?),
            answered_from: row.try_get("answered_from")?,
        });
    }
    Ok(Some(NeedHelpList {
        emergency_id: id,
        incident_id: emergency.root_id,
        count: residents.len(),
        residents,
        unverified_need_help,
    }))
}

/// How long one events stream lasts at most (the console reconnects).
const STREAM_FOR: Duration = Duration::from_secs(3600);

/// Server-sent events: `event: progress`, `data:` the same JSON as `GET /api/emergencies/{id}`, at once and then
/// whenever it changes (checked every 500 ms; every 2 s once done, for safety answers); a keep-alive comment
/// every 15 s; the stream ends after an hour.
#[utoipa::path(get, path = "/api/emergencies/{id}/events", params(("id" = i64, Path, description = "the emergency")),
    responses((status = 200, content_type = "text/event-stream", description = "`event: progress` with the progress JSON whenever it changes"),
        (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    staff.require(READERS)?;
    let first = compute(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no emergency {id}")))?;
    let started = Instant::now();
    let db = state.db.clone();
    let stream = futures_util::stream::unfold(
        (db, Some(first), None::<Progress>),
        move |(db, pending, mut last)| async move {
            if let Some(progress) = pending {
                let event = to_event(&progress);
                return Some((Ok::<Event, Infallible>(event), (db, None, Some(progress))));
            }
            loop {
                if started.elapsed() > STREAM_FOR {
                    return None;
                }
                let pause = if last.as_ref().is_some_and(|p| p.done) {
                    Duration::from_secs(2)
                } else {
                    Duration::from_millis(500)
                };
                tokio::time::sleep(pause).await;
                match compute(&db, id).await {
                    Ok(Some(progress)) if last.as_ref() != Some(&progress) => {
                        let event = to_event(&progress);
                        last = Some(progress);
                        return Some((Ok(event), (db, None, last)));
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => return None,
                    Err(error) => tracing::warn!(%error, "progress for the events stream failed"),
                }
            }
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

fn to_event(progress: &Progress) -> Event {
    Event::default()
        .event("progress")
        .json_data(progress)
        .unwrap_or_else(|_| Event::default().comment("unserialisable progress"))
}
