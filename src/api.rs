//! The HTTP surface: operations endpoints, the staff API under `/api/`, and the OpenAPI document.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

use crate::AppState;
use crate::audit;
use crate::auth::{self, Role, Staff};
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::import::{self, Encoding};
use crate::residents::{self, ChannelKind, ResidentInput, ResidentView};
use crate::telemetry;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Yukuhashi resident hub",
        description = "FAQ chat, segmented notices and emergency broadcasts for the residents of Yukuhashi. \
                       Staff endpoints under /api/ need `Authorization: Bearer TOKEN`."
    ),
    paths(
        healthz,
        create_token,
        list_tokens,
        revoke_token,
        upsert_resident,
        get_resident,
        delete_resident,
        import_residents,
        audit_log,
        crate::line_events::webhook::webhook,
        crate::webchat_events::page,
        crate::webchat_events::socket,
        crate::chat::misses::misses,
        crate::chat::misses::status,
    ),
    components(schemas(
        ErrorBody,
        ResidentInput,
        ResidentView,
        residents::ChannelsInput,
        residents::PushSubscription,
        residents::PushKeys,
        ChannelKind,
        Role,
        TokenRequest,
        TokenResponse,
        auth::TokenInfo,
        ImportResult,
        audit::AuditEntry,
        crate::chat::misses::Miss,
        crate::chat::FaqStatus,
        crate::chat::ReplyKind,
        crate::chat::Candidate
    ))
)]
pub struct ApiDoc;

pub fn router(state: AppState) -> Router {
    // Touch the recorder so /metrics works from the first request.
    telemetry::metrics_handle();
    let config = state.config.clone();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/api/tokens", post(create_token).get(list_tokens))
        .route("/api/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/api/residents", post(upsert_resident))
        .route("/api/residents/import", post(import_residents))
        .route(
            "/api/residents/{external_id}",
            get(get_resident).delete(delete_resident),
        )
        .route("/api/audit", get(audit_log))
        // --- chat (issue 3)
        .route("/line/webhook", post(crate::line_events::webhook::webhook))
        .route("/chat", get(crate::webchat_events::page))
        .route("/chat/ws", get(crate::webchat_events::socket))
        .route("/chat/chat.js", get(crate::chat::webchat::script))
        .route("/chat/chat.css", get(crate::chat::webchat::style))
        .route("/api/faq/misses", get(crate::chat::misses::misses))
        .route("/api/faq/status", get(crate::chat::misses::status))
        // outbound: notices, segment preview, unsubscribe links, VAPID key
        .merge(crate::notices::api::routes())
        // emergencies: trigger, progress, events, need-help
        .merge(crate::emergency::api::routes())
        // JMA watch (issue 26): drafts from JMA's documents and their send button
        .merge(crate::jma::api::routes())
        .merge(crate::outbox::unsubscribe::routes())
        // console (issue 7): /admin pages, login, static files, POST /api/staff
        .merge(crate::console::routes())
        .merge(crate::auth::api::routes())
        // surveys: staff API and the residents' web form
        .merge(crate::surveys::api::routes())
        .merge(crate::surveys::web::routes())
        // registration (issue 8): /register, confirmation, preferences, service worker; staff counts
        .merge(crate::registration::web::routes())
        .route(
            "/api/registrations/stats",
            get(crate::registration::stats::stats),
        )
        // hardening: a resident's data export
        .merge(crate::protection::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(telemetry::track_requests))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    // hardening (issue 9): headers, body limits and rate limits on every route
    crate::surface::apply(router, &config)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

/// 200 when the database answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "the database answers"), (status = 503, description = "the database does not answer")))]
async fn healthz(State(state): State<AppState>) -> Response {
    // A database that is away makes the pool wait for a connection; the health check answers within 2 s.
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), state.db.ping()).await;
    match ping.unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut)) {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        telemetry::metrics_handle().render(),
    )
        .into_response()
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::notices::api::OutboundDoc::openapi());
    doc.merge(crate::auth::api::StaffDoc::openapi());
    doc.merge(crate::surveys::api::SurveysDoc::openapi());
    doc.merge(crate::emergency::api::EmergencyDoc::openapi());
    doc.merge(crate::registration::RegistrationDoc::openapi());
    doc.merge(crate::protection::ProtectionDoc::openapi());
    Json(doc)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Who or what the token is for, e.g. "広報 山田" or "records system".
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// Shown once; only its hash is stored.
    pub token: String,
    pub name: String,
    pub role: Role,
}

/// Creates a staff API token (admin only).
#[utoipa::path(post, path = "/api/tokens", request_body = TokenRequest,
    responses((status = 201, body = TokenResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_token(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<(StatusCode, Json<TokenResponse>), ApiError> {
    staff.require(&[])?;
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "name",
            "the name must be 1 to 100 characters",
        ));
    }
    let token = auth::create_token(&state.db, name, request.role).await?;
    audit::record(
        &state.db,
        &staff,
        "token.create",
        name,
        serde_json::json!({ "role": request.role }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            token,
            name: name.to_owned(),
            role: request.role,
        }),
    ))
}

/// Every staff API token, newest first, revoked ones included: name, role, created, last used; never the secret
/// or its hash (admin only).
#[utoipa::path(get, path = "/api/tokens",
    responses((status = 200, body = [auth::TokenInfo]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_tokens(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Json<Vec<auth::TokenInfo>>, ApiError> {
    staff.require(&[])?;
    Ok(Json(auth::list_tokens(&state.db).await?))
}

/// Revokes a staff API token at once: the next request with it gets 401 (admin only; audited as
/// `token.revoke`). 404 when there is no live token with that id.
#[utoipa::path(delete, path = "/api/tokens/{id}",
    params(("id" = i64, Path, description = "the token's id from GET /api/tokens")),
    responses((status = 200, body = auth::TokenInfo), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn revoke_token(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<auth::TokenInfo>, ApiError> {
    staff.require(&[])?;
    auth::revoke_token(&state.db, id, &staff.name, staff.role.as_str())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no live token {id}")))
}

/// Creates or updates a resident by `external_id` (admin).
#[utoipa::path(post, path = "/api/residents", request_body = ResidentInput,
    responses((status = 200, body = ResidentView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn upsert_resident(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(input): ApiJson<ResidentInput>,
) -> Result<Json<ResidentView>, ApiError> {
    staff.require(&[])?;
    let resident = input.validate(&state.config.districts, residents::today_in_japan())?;
    if let Some(push) = &input.channels.push {
        push.check_endpoint(&state.config.push_policy())
            .map_err(|error| {
                ApiError::bad_request(
                    "channels.push.endpoint",
                    format!("the push endpoint cannot be used: {error}"),
                )
            })?;
    }
    residents::upsert_many(
        &state.db,
        std::slice::from_ref(&resident),
        &[ChannelKind::Line, ChannelKind::Email, ChannelKind::Push],
    )
    .await?;
    audit::record(
        &state.db,
        &staff,
        "resident.upsert",
        resident.external_id.as_str(),
        serde_json::Value::Null,
    )
    .await?;
    let view = residents::find(&state.db, resident.external_id.as_str())
        .await?
        .ok_or_else(|| ApiError::internal("resident vanished after upsert"))?;
    Ok(Json(view))
}

/// One resident (admin, pr, disaster, viewer).
#[utoipa::path(get, path = "/api/residents/{external_id}",
    params(("external_id" = String, Path, description = "the city's id for the resident")),
    responses((status = 200, body = ResidentView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_resident(
    State(state): State<AppState>,
    staff: Staff,
    Path(external_id): Path<String>,
) -> Result<Json<ResidentView>, ApiError> {
    staff.require(&[Role::Pr, Role::Disaster, Role::Viewer])?;
    residents::find(&state.db, &external_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no resident {external_id}")))
}

/// Forgets a resident: profile and addresses are removed at once (admin).
#[utoipa::path(delete, path = "/api/residents/{external_id}",
    params(("external_id" = String, Path, description = "the city's id for the resident")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_resident(
    State(state): State<AppState>,
    staff: Staff,
    Path(external_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    staff.require(&[])?;
    if !residents::forget(&state.db, &external_id).await? {
        return Err(ApiError::not_found(format!("no resident {external_id}")));
    }
    audit::record(
        &state.db,
        &staff,
        "resident.forget",
        &external_id,
        serde_json::Value::Null,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct ImportQuery {
    encoding: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportResult {
    pub imported: usize,
}

/// Imports residents from a CSV body (`?encoding=utf-8|shift_jis`); all rows or none (admin).
#[utoipa::path(post, path = "/api/residents/import", request_body(content = String, content_type = "text/csv"),
    params(("encoding" = Option<String>, Query, description = "utf-8 (default) or shift_jis")),
    responses((status = 200, body = ImportResult), (status = 400, body = ErrorBody, description = "names the line and column; nothing was applied")),
    security(("bearer" = [])))]
async fn import_residents(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<ImportQuery>,
    body: Bytes,
) -> Result<Json<ImportResult>, ApiError> {
    staff.require(&[])?;
    let encoding: Encoding = query
        .encoding
        .as_deref()
        .unwrap_or("utf-8")
        .parse()
        .map_err(|message: String| ApiError::bad_request("encoding", message))?;
    let districts = state.config.districts.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        import::parse(
            &body,
            encoding,
            &districts,
            residents::today_in_japan(),
            |_| {},
        )
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|error| ApiError {
        status: StatusCode::BAD_REQUEST,
        message: error.to_string(),
        field: Some(match &error.column {
            Some(column) => format!("line {}, {column}", error.line),
            None => format!("line {}", error.line),
        }),
        japanese: Some(crate::messages::staff::import_error(
            error.line,
            error.column.as_deref(),
            &error.message,
        )),
    })?;
    residents::upsert_many(&state.db, &parsed.residents, &parsed.channels).await?;
    audit::record(
        &state.db,
        &staff,
        "resident.import",
        "csv",
        serde_json::json!({ "rows": parsed.residents.len() }),
    )
    .await?;
    Ok(Json(ImportResult {
        imported: parsed.residents.len(),
    }))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    limit: Option<i64>,
}

/// The latest entries of the audit log (admin).
#[utoipa::path(get, path = "/api/audit", params(("limit" = Option<i64>, Query, description = "at most this many, newest first (default 100)")),
    responses((status = 200, body = [audit::AuditEntry])), security(("bearer" = [])))]
async fn audit_log(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<audit::AuditEntry>>, ApiError> {
    staff.require(&[])?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(audit::recent(&state.db, limit).await?))
}
