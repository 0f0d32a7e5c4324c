//! The notices API: segment preview, notices (create, edit, cancel, read with counts), rendering previews, and
//! the VAPID public key for the city site's subscribe button.

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::audience::{choose_channel, choose_language};
use super::scheduler::WAKE_SCHEDULER;
use super::{CheckedNotice, NoticeError, NoticeInput, StoredNotice};
use crate::AppState;
use crate::audit;
use crate::auth::{Role, Staff};
use crate::error::{ApiError, ApiJson};
use crate::outbox::{self, DeliveryCounts};
use crate::render::{self, NoticeTemplates, Rendered, TemplateData, city_name};
use crate::residents::ChannelKind;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/segments/preview", post(preview_segment))
        .route("/api/notices", post(create_notice).get(list_notices))
        .route("/api/notices/preview", post(preview_draft))
        .route(
            "/api/notices/{id}",
            get(get_notice).put(edit_notice).delete(cancel_notice),
        )
        .route("/api/notices/{id}/cancel", post(cancel_notice))
        .route("/api/notices/{id}/preview", get(preview_notice))
        .route("/push/vapid-public-key", get(vapid_public_key))
}

const READERS: &[Role] = &[Role::Pr, Role::Viewer, Role::Disaster];
const WRITERS: &[Role] = &[Role::Pr];

/// 400 for a rule that does not parse: the message, the field and the 1-based column.
fn rule_error(field: &str, error: &segments::ParseError) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({
            "error": error.to_string(),
            "field": field,
            "column": error.column,
            "message": crate::messages::staff::rule_error(error.column, &error.message),
        })),
    )
        .into_response()
}

pub(crate) fn notice_error(error: NoticeError) -> Response {
    match error {
        NoticeError::Field { field, message } => {
            ApiError::bad_request(field, message).into_response()
        }
        NoticeError::Rule(error) => rule_error("segment", &error),
    }
}

fn api(error: impl Into<ApiError>) -> Response {
    error.into().into_response()
}

pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .to_rfc3339()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentPreviewRequest {
    pub rule: String,
    /// The date ages are computed for (YYYY-MM-DD); today in Asia/Tokyo by default.
    #[serde(default)]
    pub date: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SegmentPreview {
    pub count: u64,
    pub date: String,
    /// Counts by district, age band and language: no personal data.
    #[schema(value_type = Object)]
    pub summary: segments::SegmentSummary,
}

/// The size of a segment now, with counts by district, age band and language (pr, viewer, admin).
#[utoipa::path(post, path = "/api/segments/preview", request_body = SegmentPreviewRequest,
    responses((status = 200, body = SegmentPreview), (status = 400, description = "the rule does not parse: `column` says where")),
    security(("bearer" = [])))]
async fn preview_segment(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(request): ApiJson<SegmentPreviewRequest>,
) -> Result<Json<SegmentPreview>, Response> {
    staff.require(READERS).map_err(api)?;
    let options = segments::ParseOptions {
        districts: Some(&state.config.districts),
        interests: Some(&state.config.interests),
    };
    let rule = segments::Rule::parse_with(&request.rule, &options)
        .map_err(|error| rule_error("rule", &error))?;
    let date = match request.date.as_deref() {
        Some(text) => NaiveDate::from_str(text.trim()).map_err(|_| {
            api(ApiError::bad_request(
                "date",
                "write the date as YYYY-MM-DD",
            ))
        })?,
        None => segments::tokyo_date(Utc::now()),
    };
    // On the live snapshot, brought up to every change committed before this request (issue 16).
    let summary = state
        .audience
        .preview(&rule, date)
        .await
        .map_err(|error| api(ApiError::internal(error)))?;
    Ok(Json(SegmentPreview {
        count: summary.count,
        date: date.to_string(),
        summary,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoticeCreated {
    pub id: i64,
    pub status: String,
    /// When it fires first, RFC 3339 in JST (each resident's delivery then waits for their quiet hours).
    pub next_fire_at: Option<String>,
}

/// Creates a notice (pr, admin). `send_at: null` and no cron: now.
#[utoipa::path(post, path = "/api/notices", request_body = NoticeInput,
    responses((status = 201, body = NoticeCreated), (status = 400, description = "names the field; a rule error has its column")),
    security(("bearer" = [])))]
async fn create_notice(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(input): ApiJson<NoticeInput>,
) -> Result<(StatusCode, Json<NoticeCreated>), Response> {
    staff.require(WRITERS).map_err(api)?;
    let now = Utc::now();
    let notice = input.check(&state.config, now).map_err(notice_error)?;
    let id = super::insert(&state.db, &notice, &staff.name, now)
        .await
        .map_err(api)?;
    audit::record(
        &state.db,
        &staff,
        "notice.create",
        &id.to_string(),
        serde_json::json!({"title": notice.title, "segment": notice.segment.to_string()}),
    )
    .await
    .map_err(api)?;
    WAKE_SCHEDULER.notify_waiters();
    let stored = super::find(&state.db, id)
        .await
        .map_err(api)?
        .ok_or_else(|| api(ApiError::internal("notice vanished after insert")))?;
    Ok((
        StatusCode::CREATED,
        Json(NoticeCreated {
            id,
            status: stored.status,
            next_fire_at: stored.next_fire_ms.map(rfc3339),
        }),
    ))
}

/// Replaces a notice that has not fired yet (pr, admin); 409 when it has.
#[utoipa::path(put, path = "/api/notices/{id}", request_body = NoticeInput,
    params(("id" = i64, Path, description = "the notice")),
    responses((status = 200, body = NoticeView), (status = 400), (status = 404), (status = 409, description = "already fired or cancelled")),
    security(("bearer" = [])))]
async fn edit_notice(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NoticeInput>,
) -> Result<Json<NoticeView>, Response> {
    staff.require(WRITERS).map_err(api)?;
    let now = Utc::now();
    let notice = input.check(&state.config, now).map_err(notice_error)?;
    if !super::update(&state.db, id, &notice, now)
        .await
        .map_err(api)?
    {
        return Err(too_late(&state, id).await);
    }
    audit::record(
        &state.db,
        &staff,
        "notice.edit",
        &id.to_string(),
        serde_json::json!({"title": notice.title}),
    )
    .await
    .map_err(api)?;
    WAKE_SCHEDULER.notify_waiters();
    view(&state, id).await.map(Json)
}

async fn too_late(state: &AppState, id: i64) -> Response {
    match super::find(&state.db, id).await {
        Ok(Some(notice)) => api(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "notice {id} is {} and can no longer be changed",
                notice.status
            ),
        )),
        Ok(None) => api(ApiError::not_found(format!("no notice {id}"))),
        Err(error) => api(error),
    }
}

/// Cancels a notice before it fires, or stops a recurring one (pr, admin); 409 when there is nothing to stop.
#[utoipa::path(post, path = "/api/notices/{id}/cancel", params(("id" = i64, Path, description = "the notice")),
    responses((status = 200, body = NoticeView), (status = 404), (status = 409)), security(("bearer" = [])))]
async fn cancel_notice(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<NoticeView>, Response> {
    staff.require(WRITERS).map_err(api)?;
    if !super::cancel(&state.db, id, Utc::now())
        .await
        .map_err(api)?
    {
        return Err(too_late(&state, id).await);
    }
    audit::record(
        &state.db,
        &staff,
        "notice.cancel",
        &id.to_string(),
        serde_json::Value::Null,
    )
    .await
    .map_err(api)?;
    view(&state, id).await.map(Json)
}

/// A notice and its deliveries counted by channel.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoticeView {
    pub id: i64,
    pub title: String,
    pub body: BTreeMap<String, String>,
    pub segment: String,
    pub channels: Vec<ChannelKind>,
    pub send_at: Option<String>,
    pub cron: Option<String>,
    pub ignore_quiet_hours: bool,
    /// The topic residents may opt out of (one of the interests), if any.
    pub topic: Option<String>,
    pub templates: NoticeTemplates,
    /// scheduled, fired, cancelled or failed
    pub status: String,
    pub next_fire_at: Option<String>,
    pub fire_count: i64,
    pub last_fired_at: Option<String>,
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// By channel: targeted, sent, failed, pending, recorded.
    pub counts: BTreeMap<String, DeliveryCounts>,
    pub totals: DeliveryCounts,
}

async fn view(state: &AppState, id: i64) -> Result<NoticeView, Response> {
    let notice = super::find(&state.db, id)
        .await
        .map_err(api)?
        .ok_or_else(|| api(ApiError::not_found(format!("no notice {id}"))))?;
    let mut counts = outbox::counts(&state.db, "notice", id).await.map_err(api)?;
    for channel in &notice.channels {
        if *channel != ChannelKind::Webchat {
            counts.entry(channel.as_str().to_owned()).or_default();
        }
    }
    let mut totals = DeliveryCounts::default();
    for c in counts.values() {
        totals.merge(c);
    }
    Ok(to_view(notice, counts, totals))
}

fn to_view(
    notice: StoredNotice,
    counts: BTreeMap<String, DeliveryCounts>,
    totals: DeliveryCounts,
) -> NoticeView {
    NoticeView {
        id: notice.id,
        title: notice.title,
        body: notice.body,
        segment: notice.segment,
        channels: notice.channels,
        send_at: notice.send_at_ms.map(rfc3339),
        cron: notice.cron,
        ignore_quiet_hours: notice.ignore_quiet_hours,
        topic: notice.topic,
        templates: notice.templates,
        status: notice.status,
        next_fire_at: notice.next_fire_ms.map(rfc3339),
        fire_count: notice.fire_count,
        last_fired_at: notice.last_fired_at_ms.map(rfc3339),
        error: notice.error,
        created_by: notice.created_by,
        created_at: rfc3339(notice.created_at_ms),
        updated_at: rfc3339(notice.updated_at_ms),
        counts,
        totals,
    }
}

/// One notice with its counts (pr, viewer, disaster, admin).
#[utoipa::path(get, path = "/api/notices/{id}", params(("id" = i64, Path, description = "the notice")),
    responses((status = 200, body = NoticeView), (status = 404)), security(("bearer" = [])))]
async fn get_notice(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<NoticeView>, Response> {
    staff.require(READERS).map_err(api)?;
    view(&state, id).await.map(Json)
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<i64>,
}

/// The latest notices, newest first, without counts (pr, viewer, disaster, admin).
#[utoipa::path(get, path = "/api/notices", params(("limit" = Option<i64>, Query, description = "at most this many (default 50)")),
    responses((status = 200, body = [NoticeView])), security(("bearer" = [])))]
async fn list_notices(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<NoticeView>>, Response> {
    staff.require(READERS).map_err(api)?;
    let sql = format!(
        "SELECT {} FROM notices ORDER BY id DESC LIMIT $1",
        super::NOTICE_COLUMNS
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(query.limit.unwrap_or(50).clamp(1, 500))
        .fetch_all(&state.db.pool)
        .await
        .map_err(api)?;
    let mut notices = Vec::with_capacity(rows.len());
    for row in &rows {
        let notice = StoredNotice::from_row(row).map_err(api)?;
        notices.push(to_view(notice, BTreeMap::new(), DeliveryCounts::default()));
    }
    Ok(Json(notices))
}

#[derive(Debug, Deserialize)]
struct PreviewQuery {
    resident: String,
    channel: Option<String>,
}

/// A notice rendered for one resident.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RenderedPreview {
    pub resident: String,
    /// Whether the resident is in the notice's segment today.
    pub in_segment: bool,
    /// The channel the notice would use for this resident (none: not reachable on the notice's channels).
    pub chosen_channel: Option<ChannelKind>,
    pub channel: ChannelKind,
    pub language: String,
    pub rendered: Rendered,
}

/// Renders a stored notice for one resident on one channel (default: the channel the resident would get).
#[utoipa::path(get, path = "/api/notices/{id}/preview",
    params(("id" = i64, Path, description = "the notice"), ("resident" = String, Query, description = "external id"),
           ("channel" = Option<String>, Query, description = "line, email, push or webchat")),
    responses((status = 200, body = RenderedPreview), (status = 404)), security(("bearer" = [])))]
async fn preview_notice(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(query): Query<PreviewQuery>,
) -> Result<Json<RenderedPreview>, Response> {
    staff.require(READERS).map_err(api)?;
    let notice = super::find(&state.db, id)
        .await
        .map_err(api)?
        .ok_or_else(|| api(ApiError::not_found(format!("no notice {id}"))))?;
    let rule =
        segments::Rule::parse(&notice.segment).map_err(|error| rule_error("segment", &error))?;
    preview_for(
        &state,
        id,
        &notice.title,
        &notice.body,
        &rule,
        &notice.channels,
        &notice.templates,
        &query.resident,
        query.channel.as_deref(),
    )
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftPreviewRequest {
    pub notice: NoticeInput,
    /// The resident's external id; empty or left out: a sample resident of the notice's segment (the first by
    /// id, of `language` when given), so staff can preview without knowing anyone's id.
    #[serde(default)]
    pub resident: String,
    /// With no `resident`: pick the sample among residents of this language (`ja`, `en`, …).
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
}

/// Renders a notice that is not saved yet for one resident (checks it like a save would).
#[utoipa::path(post, path = "/api/notices/preview", request_body = DraftPreviewRequest,
    responses((status = 200, body = RenderedPreview), (status = 400), (status = 404)), security(("bearer" = [])))]
async fn preview_draft(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(request): ApiJson<DraftPreviewRequest>,
) -> Result<Json<RenderedPreview>, Response> {
    staff.require(WRITERS).map_err(api)?;
    let notice: CheckedNotice = request
        .notice
        .check(&state.config, Utc::now())
        .map_err(notice_error)?;
    let resident = match request.resident.trim() {
        "" => sample_resident(&state, &notice.segment, request.language.as_deref()).await?,
        given => given.to_owned(),
    };
    preview_for(
        &state,
        0,
        &notice.title,
        &notice.body,
        &notice.segment,
        &notice.channels,
        &notice.templates,
        &resident,
        request.channel.as_deref(),
    )
    .await
    .map(Json)
}

/// The first resident (by id) the segment reaches today, of `language` when given: 404 in Japanese when none.
async fn sample_resident(
    state: &AppState,
    segment: &segments::Rule,
    language: Option<&str>,
) -> Result<String, Response> {
    let rule = match language.map(str::trim).filter(|l| !l.is_empty()) {
        Some(language) => segments::Rule::And(vec![
            segment.clone(),
            segments::Rule::Condition(segments::Condition::Language(segments::TextTest::Equals(
                language.to_owned(),
            ))),
        ]),
        None => segment.clone(),
    };
    let matched = state
        .audience
        .evaluate(&rule, segments::tokyo_date(Utc::now()))
        .await
        .map_err(|error| api(ApiError::internal(error)))?;
    let none = || {
        api(
            ApiError::not_found("no resident in the segment to preview for").in_japanese(
                "この対象（と言語）に当てはまる住民がいないため、プレビューできません。",
            ),
        )
    };
    let id = matched.min().ok_or_else(none)?;
    sqlx::query_scalar::<_, String>("SELECT external_id FROM residents WHERE id = $1")
        .bind(i64::from(id))
        .fetch_optional(&state.db.pool)
        .await
        .map_err(api)?
        .ok_or_else(none)
}

#[allow(clippy::too_many_arguments)]
async fn preview_for(
    state: &AppState,
    notice_id: i64,
    title: &str,
    body: &BTreeMap<String, String>,
    rule: &segments::Rule,
    notice_channels: &[ChannelKind],
    templates: &NoticeTemplates,
    external_id: &str,
    channel: Option<&str>,
) -> Result<RenderedPreview, Response> {
    let row = sqlx::query(
        "SELECT id, birth_date, district, language, interests, preferred FROM residents WHERE external_id = $1",
    )
    .bind(external_id)
    .fetch_optional(&state.db.pool)
    .await
    .map_err(api)?
    .ok_or_else(|| {
        api(
            ApiError::not_found(format!("no resident {external_id}"))
                .in_japanese(format!("住民ID「{external_id}」の住民は登録されていません。")),
        )
    })?;
    let id: i64 = row.try_get("id").map_err(api)?;
    let language: String = row.try_get("language").map_err(api)?;
    let preferred: Vec<ChannelKind> =
        serde_json::from_str(&row.try_get::<String, _>("preferred").map_err(api)?)
            .unwrap_or_default();
    let active: Vec<ChannelKind> = sqlx::query_scalar::<_, String>(
        "SELECT channel FROM resident_addresses WHERE resident_id = $1 AND active = 1",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await
    .map_err(api)?
    .iter()
    .filter_map(|c| c.parse().ok())
    .collect();
    let profile = segments::Profile {
        birth_date: row
            .try_get::<Option<String>, _>("birth_date")
            .map_err(api)?
            .and_then(|d| NaiveDate::from_str(&d).ok()),
        district: row.try_get("district").map_err(api)?,
        language: language.clone(),
        interests: serde_json::from_str(&row.try_get::<String, _>("interests").map_err(api)?)
            .unwrap_or_default(),
        channels: active.iter().map(|c| c.as_str().to_owned()).collect(),
    };
    let in_segment = rule.matches(&profile, segments::tokyo_date(Utc::now()));
    let chosen = choose_channel(&preferred, notice_channels, |c| active.contains(&c));
    let channel = match channel {
        Some(text) => ChannelKind::from_str(text.trim())
            .map_err(|message| api(ApiError::bad_request("channel", message)))?,
        None => chosen.ok_or_else(|| {
            api(ApiError::bad_request(
                "channel",
                "the resident is not reachable on the notice's channels: name a channel",
            ))
        })?,
    };
    let language = choose_language(&language, body);
    let text = body.get(&language).map(String::as_str).unwrap_or_default();
    let data = TemplateData {
        title,
        body: text,
        city: city_name(&language),
        language: &language,
        notice_id,
    };
    let push_url = format!("{}/", state.config.public_url);
    let rendered = render::render(templates, channel, &data, Some(&push_url))
        .map_err(|error| api(ApiError::bad_request(error.field(), error.to_string())))?;
    Ok(RenderedPreview {
        resident: external_id.to_owned(),
        in_segment,
        chosen_channel: chosen,
        channel,
        language,
        rendered,
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VapidPublicKey {
    /// The `applicationServerKey` for `PushManager.subscribe` (base64url).
    pub public_key: String,
}

/// The VAPID public key the city site subscribes browsers with (anyone).
#[utoipa::path(get, path = "/push/vapid-public-key", responses((status = 200, body = VapidPublicKey)))]
async fn vapid_public_key(State(state): State<AppState>) -> Json<VapidPublicKey> {
    Json(VapidPublicKey {
        public_key: state.vapid.public_key_base64url(),
    })
}

/// The outbound part of `GET /openapi.json` (merged into the hub's document).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        preview_segment,
        create_notice,
        edit_notice,
        cancel_notice,
        get_notice,
        list_notices,
        preview_notice,
        preview_draft,
        vapid_public_key,
    ),
    components(schemas(
        SegmentPreviewRequest,
        SegmentPreview,
        NoticeInput,
        NoticeCreated,
        NoticeView,
        DeliveryCounts,
        RenderedPreview,
        DraftPreviewRequest,
        VapidPublicKey,
        Rendered,
        NoticeTemplates,
        render::LineTemplate,
        render::EmailTemplate,
        render::PushTemplate,
        render::WebchatTemplate,
    ))
)]
pub struct OutboundDoc;
