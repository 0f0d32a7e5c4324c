//! The JMA watch over HTTP: the drafts waiting for a person and the button that sends one (disaster and admin),
//! and what the watch has seen (every staff role may read).
//!
//! | method, path | who |
//! |---|---|
//! | `GET /api/jma` | disaster, admin, viewer, pr: the policy, the feeds' last reads, the latest documents, drafts |
//! | `POST /api/jma/drafts/{id}/send` | disaster, admin: sends the draft as an emergency → 201 `{"emergency": ID}` |

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::act::{self, SendDraftError, Watch};
use super::store;
use crate::AppState;
use crate::auth::{Role, Staff};
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/jma", get(overview))
        .route("/api/jma/drafts/{id}/send", post(send))
}

const SENDERS: &[Role] = &[Role::Disaster];
const READERS: &[Role] = &[Role::Disaster, Role::Viewer, Role::Pr];

/// The watch of this hub (for handlers).
pub fn watch_of(state: &AppState) -> Watch {
    Watch {
        db: state.db.clone(),
        config: Arc::clone(&state.config),
        wake: Arc::clone(&state.emergency_wake),
    }
}

#[derive(Debug, Serialize)]
pub struct DraftView {
    pub id: i64,
    pub document: String,
    pub kinds: Vec<String>,
    pub title: String,
    pub body: String,
    pub office: String,
    pub report_time: String,
    pub status: String,
    pub created_at_ms: i64,
    pub decided_by: Option<String>,
    pub emergency_id: Option<i64>,
}

impl From<store::Draft> for DraftView {
    fn from(draft: store::Draft) -> Self {
        let text = act::parse_text(&draft.text);
        DraftView {
            id: draft.id,
            document: draft.entry_id,
            kinds: draft.kinds,
            title: text.japanese().title.clone(),
            body: text.japanese().body.clone(),
            office: draft.office,
            report_time: draft.report_time,
            status: draft.status,
            created_at_ms: draft.created_at_ms,
            decided_by: draft.decided_by,
            emergency_id: draft.emergency_id,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EntryView {
    pub document: String,
    pub title: String,
    pub seen_at_ms: i64,
    pub done_at_ms: Option<i64>,
    pub outcome: Option<String>,
    pub detail: Option<String>,
    pub emergency_id: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct Overview {
    pub enabled: bool,
    pub feed_url: String,
    pub poll_secs: u32,
    pub area_codes: Vec<String>,
    pub rivers: Vec<String>,
    /// `{"特別警報": "send", …}`
    pub policy: std::collections::BTreeMap<String, String>,
    pub drafts: Vec<DraftView>,
    pub documents: Vec<EntryView>,
}

/// What the watch is doing.
pub async fn overview(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Json<Overview>, ApiError> {
    staff.require(READERS)?;
    let settings = &state.config.jma;
    let drafts = store::drafts(&state.db, 50)
        .await?
        .into_iter()
        .map(DraftView::from)
        .collect();
    let documents = store::recent_entries(&state.db, 50)
        .await?
        .into_iter()
        .map(|e| EntryView {
            document: e.entry_id,
            title: e.title,
            seen_at_ms: e.seen_at_ms,
            done_at_ms: e.done_at_ms,
            outcome: e.outcome,
            detail: e.detail,
            emergency_id: e.emergency_id,
        })
        .collect();
    Ok(Json(Overview {
        enabled: settings.enabled,
        feed_url: settings.feed_url.clone(),
        poll_secs: settings.poll_secs,
        area_codes: settings.area_codes.clone(),
        rivers: settings.rivers.clone(),
        policy: act::policy_rows(&state.config)
            .into_iter()
            .map(|(category, action)| (category.key().to_owned(), action.as_str().to_owned()))
            .collect(),
        drafts,
        documents,
    }))
}

impl From<SendDraftError> for ApiError {
    fn from(error: SendDraftError) -> Self {
        match &error {
            SendDraftError::NotFound(_) => ApiError::not_found(error.to_string()),
            SendDraftError::NotPending { .. } => {
                ApiError::new(StatusCode::CONFLICT, error.to_string())
            }
            SendDraftError::Act(_) => ApiError::internal(error),
        }
    }
}

/// Sends a draft (disaster, admin): 201 `{"emergency": ID}`; 409 when it was sent (or withdrawn) already.
pub async fn send(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    staff.require(SENDERS)?;
    let emergency =
        act::send_draft(&watch_of(&state), id, &staff.name, staff.role.as_str()).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"emergency": emergency})),
    )
        .into_response())
}
