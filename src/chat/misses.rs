//! Staff view of what the chat could not answer: `GET /api/faq/misses` and `GET /api/faq/status`.
//!
//! Questions are grouped by their normalised text, then groups that mean the same need are merged with the FAQ's
//! sentence encoder (「保育園に入りたい」 and 「子どもを預けたい」), so staff see one need with its count.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::AppState;
use crate::auth::{Role, Staff};
use crate::db::Db;
use crate::error::{ApiError, ErrorBody};

use super::FaqStatus;

/// One question residents asked that the chat did not answer, or whose answer did not help.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Miss {
    /// The question as a resident last wrote it.
    pub question: String,
    /// The normalised form the questions are grouped by.
    pub normalized: String,
    /// How often it was asked and missed or found unhelpful.
    pub count: i64,
    /// Of those, asked with no fitting answer.
    pub missed: i64,
    /// Of those, answered but marked "didn't help".
    pub unhelpful: i64,
    /// When it was last asked (Unix ms).
    pub last_asked_ms: i64,
    /// When it was last asked (RFC 3339, UTC).
    pub last_asked: String,
    /// Other questions merged into this need by meaning (the sentence encoder), most asked first.
    pub similar: Vec<String>,
}

/// Cosine from which two missed questions count as one need. Measured on short resident questions: 「保育園に入りたい」
/// and 「子どもを預けたい」 0.63, 「保育所に申し込みたい」 0.63–0.75; different needs of the same topic (保育料, 子育て相談)
/// 0.55–0.60, other topics below 0.5.
pub const SAME_NEED_COSINE: f32 = 0.62;

/// Merges groups whose example questions mean the same (each joins the most similar earlier group at or above
/// [`SAME_NEED_COSINE`] with its first question), then ranks again by count.
fn group_by_meaning(misses: Vec<Miss>, encoder: &faq::encoder::Encoder) -> Vec<Miss> {
    let mut needs: Vec<(Miss, std::sync::Arc<[f32]>)> = Vec::new();
    for miss in misses {
        let vector = encoder.encode_cached(&miss.question);
        let nearest = needs
            .iter_mut()
            .map(|need| (faq::encoder::cosine(&need.1, &vector), need))
            .filter(|(cosine, _)| *cosine >= SAME_NEED_COSINE)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match nearest {
            Some((_, (need, _))) => {
                need.count += miss.count;
                need.missed += miss.missed;
                need.unhelpful += miss.unhelpful;
                if miss.last_asked_ms > need.last_asked_ms {
                    need.last_asked_ms = miss.last_asked_ms;
                    need.last_asked = miss.last_asked;
                }
                need.similar.push(miss.question);
            }
            None => needs.push((miss, vector)),
        }
    }
    let mut needs: Vec<Miss> = needs.into_iter().map(|(need, _)| need).collect();
    needs.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.last_asked_ms.cmp(&a.last_asked_ms))
    });
    needs
}

/// The misses ranked by need: [`ranked_misses`] merged by meaning when the FAQ's encoder is ready (by text alone
/// until then).
pub async fn misses_by_meaning(
    db: &Db,
    faq: &super::FaqService,
    limit: i64,
) -> Result<Vec<Miss>, sqlx::Error> {
    // Merging shortens the list: read more text groups than will be shown.
    let mut misses = ranked_misses(db, (limit * 5).min(2_500)).await?;
    if faq.index().has_sentence_vectors()
        && let Ok(encoder) = faq::encoder::encoder()
    {
        misses = tokio::task::spawn_blocking(move || group_by_meaning(misses, encoder))
            .await
            .map_err(|error| sqlx::Error::Protocol(format!("grouping misses: {error}")))?;
    }
    misses.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(misses)
}

#[derive(Debug, Deserialize)]
pub struct MissesQuery {
    limit: Option<i64>,
}

/// The ranking: most frequent first, then most recent.
pub async fn ranked_misses(db: &Db, limit: i64) -> Result<Vec<Miss>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.normalized AS normalized, COUNT(*) AS total, \
                SUM(CASE WHEN c.outcome = 'missed' THEN 1 ELSE 0 END) AS missed, \
                SUM(CASE WHEN c.outcome <> 'missed' AND c.helpful = 0 THEN 1 ELSE 0 END) AS unhelpful, \
                MAX(c.at_ms) AS last_ms, \
                (SELECT l.question FROM chat_log l WHERE l.normalized = c.normalized \
                   ORDER BY l.at_ms DESC, l.id DESC LIMIT 1) AS example \
         FROM chat_log c \
         WHERE c.outcome = 'missed' OR c.helpful = 0 \
         GROUP BY c.normalized \
         ORDER BY total DESC, last_ms DESC \
         LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let last_asked_ms: i64 = row.try_get("last_ms")?;
            Ok(Miss {
                question: row.try_get("example")?,
                normalized: row.try_get("normalized")?,
                count: row.try_get("total")?,
                missed: row.try_get("missed")?,
                unhelpful: row.try_get("unhelpful")?,
                last_asked_ms,
                last_asked: chrono::DateTime::from_timestamp_millis(last_asked_ms)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                    .unwrap_or_default(),
                similar: Vec::new(),
            })
        })
        .collect()
}

/// Unanswered and unhelpful questions, grouped by their normalised text and then by meaning (questions that mean the
/// same need are merged into `similar`), most frequent first (admin, pr, viewer).
#[utoipa::path(get, path = "/api/faq/misses",
    params(("limit" = Option<i64>, Query, description = "at most this many groups (default 50, at most 500)")),
    responses((status = 200, body = [Miss]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn misses(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<MissesQuery>,
) -> Result<Json<Vec<Miss>>, ApiError> {
    staff.require(&[Role::Pr, Role::Viewer])?;
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    Ok(Json(
        misses_by_meaning(&state.db, &state.chat.faq, limit).await?,
    ))
}

/// The FAQ in use: its folder, entry count, when it was loaded, and the last failed reload (admin, pr, viewer).
#[utoipa::path(get, path = "/api/faq/status",
    responses((status = 200, body = FaqStatus), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn status(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Json<FaqStatus>, ApiError> {
    staff.require(&[Role::Pr, Role::Viewer])?;
    Ok(Json(state.chat.faq.status()))
}
