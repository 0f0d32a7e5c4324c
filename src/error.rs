//! The API's one error shape: `{"error": "…", "field": "…", "message": "…"}` with the right status. `error` and
//! `field` are the machine form (stable, for programs and logs); `message` is the same in Japanese for the staff
//! who read it (`StaffMsg::for_status` unless the error says something more specific).

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::messages::staff::StaffMsg;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub field: Option<String>,
    /// What a person reads, in Japanese; the status's default when `None`.
    pub japanese: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in words a person can act on.
    pub error: String,
    /// The field (JSON path, CSV column, …) the error is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The same in Japanese, for the staff who read it.
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            field: None,
            japanese: None,
        }
    }

    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            field: Some(field.into()),
            japanese: None,
        }
    }

    /// The same error, said to staff in these Japanese words.
    pub fn in_japanese(mut self, japanese: impl Into<String>) -> Self {
        self.japanese = Some(japanese.into());
        self
    }

    /// What a person reads: the Japanese words given, or the status's default.
    pub fn japanese_message(&self) -> String {
        self.japanese
            .clone()
            .unwrap_or_else(|| StaffMsg::for_status(self.status.as_u16(), self.field.as_deref()))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "a valid staff token is required (Authorization: Bearer TOKEN)",
        )
    }

    pub fn forbidden(role: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("the role `{role}` may not do this"),
        )
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

/// `true` when the database refused a write for lack of space: SQLite's SQLITE_FULL (13, a full disk or
/// `max_page_count`), PostgreSQL's disk_full (53100).
pub fn is_storage_full(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code == "13" || code == "53100")
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        // hardening: a full disk is said plainly (and nothing was saved: the write's transaction rolled back).
        if is_storage_full(&error) {
            tracing::error!(%error, "the database is full");
            return ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "the database is full: nothing was saved",
            );
        }
        ApiError::internal(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.japanese_message();
        (
            self.status,
            Json(ErrorBody {
                error: self.message,
                field: self.field,
                message,
            }),
        )
            .into_response()
    }
}

/// A JSON body whose errors name the field: wrong types, unknown fields and bad syntax become 400 with the
/// JSON path of the offending value, instead of axum's plain-text rejection.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses JSON and turns a failure into a 400 naming the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::bad_request(field, inner.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        count: u32,
    }

    #[test]
    fn wrong_type_names_the_field() {
        let error = parse_json::<Sample>(br#"{"name": "a", "count": "x"}"#).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.field.as_deref(), Some("count"));
    }

    #[test]
    fn unknown_field_is_rejected() {
        let error = parse_json::<Sample>(br#"{"name": "a", "count": 1, "colour": 2}"#).unwrap_err();
        assert!(error.message.contains("colour"), "{}", error.message);
    }
}
