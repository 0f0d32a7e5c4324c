//! `/api/staff`: console accounts made and unlocked by an admin (the console's Access page and `hub staff` use the
//! same functions). Every change is audited.

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::accounts::{self, NewPassword, Username, unlock_account};
use super::{Role, Staff};
use crate::audit;
use crate::db::Db;
use crate::error::{ApiError, ApiJson};

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Db: FromRef<S>,
{
    Router::new()
        .route("/api/staff", post(create_staff))
        .route("/api/staff/{username}/unlock", post(unlock_staff))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffRequest {
    pub username: String,
    pub role: Role,
    /// 10 to 256 characters; stored only as an argon2id hash.
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffCreated {
    pub username: String,
    pub role: Role,
}

/// Creates a console account for a staff member (admin only); the password is stored as an argon2id hash.
#[utoipa::path(post, path = "/api/staff", request_body = StaffRequest,
    responses((status = 201, body = StaffCreated), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn create_staff(
    State(db): State<Db>,
    staff: Staff,
    ApiJson(request): ApiJson<StaffRequest>,
) -> Result<(StatusCode, Json<StaffCreated>), ApiError> {
    staff.require(&[])?;
    let username = Username::parse(&request.username)?;
    let password = NewPassword::parse(&request.password)?;
    accounts::create_user(&db, &username, request.role, password).await?;
    audit::record(
        &db,
        &staff,
        "staff.create",
        username.as_str(),
        serde_json::json!({ "role": request.role }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(StaffCreated {
            username: username.as_str().to_owned(),
            role: request.role,
        }),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffUnlocked {
    pub username: String,
    /// How many clients were counting failures (or throttled) for this account.
    pub cleared_clients: u64,
}

/// Lifts the login throttle on a staff account from every client, so its owner can log in at once (admin only;
/// audited as `staff.unlock`). Failures counted so far are summarised in the audit log first.
#[utoipa::path(post, path = "/api/staff/{username}/unlock",
    params(("username" = String, Path, description = "the staff account")),
    responses((status = 200, body = StaffUnlocked), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn unlock_staff(
    State(db): State<Db>,
    staff: Staff,
    axum::extract::Path(username): axum::extract::Path<String>,
) -> Result<Json<StaffUnlocked>, ApiError> {
    staff.require(&[])?;
    let cleared = unlock_account(&db, &username, &staff.name, staff.role.as_str()).await?;
    Ok(Json(StaffUnlocked {
        username,
        cleared_clients: cleared,
    }))
}

/// The staff accounts' part of `GET /openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create_staff, unlock_staff),
    components(schemas(StaffRequest, StaffCreated, StaffUnlocked))
)]
pub struct StaffDoc;
