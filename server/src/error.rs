//! The API's errors: one type, mapped to a status and the JSON error body
//! in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use docgrid_core::api::{Conflict, ErrorBody, ErrorDetail};

/// An error answered to a client.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code (see [`ErrorDetail::code`]).
    pub code: &'static str,
    /// What failed and what to do.
    pub message: String,
    /// For conflicts: the stale documents.
    pub conflicts: Vec<Conflict>,
    /// For bad queries: where.
    pub offset: Option<usize>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            conflicts: Vec::new(),
            offset: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 400: the query does not parse.
    pub fn bad_query(e: &docgrid_core::query::QueryError) -> Self {
        let mut err = Self::new(StatusCode::BAD_REQUEST, "bad_query", e.to_string());
        err.offset = Some(e.offset);
        err
    }

    /// 401: no or an unknown token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `read_only_follower`: a write sent to a follower.
    pub fn read_only(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "read_only_follower", message)
    }

    /// 403: the token's role does not allow this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: stale base revisions; nothing was applied.
    pub fn conflict(conflicts: Vec<Conflict>) -> Self {
        let names: Vec<String> = conflicts
            .iter()
            .map(|c| format!("{} ({}: base {}, now {})", c.name, c.id, c.base, c.current))
            .collect();
        let mut err = Self::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "out of date: {} changed since your base revision; update and retry. Nothing was committed",
                names.join(", ")
            ),
        );
        err.conflicts = conflicts;
        err
    }

    /// 409 without documents (e.g. rmdir of a used tag).
    pub fn conflict_msg(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 503: the backend cannot serve this now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// The same error, its message prefixed with what it was about.
    pub fn about(mut self, what: impl std::fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, "{}", self.message);
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                conflicts: self.conflicts,
                offset: self.offset,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal(format!("index: {e}"))
    }
}

impl From<docgrid_core::store::StoreError> for ApiError {
    fn from(e: docgrid_core::store::StoreError) -> Self {
        use docgrid_core::store::StoreError as S;
        match e {
            S::NotFound { .. } => ApiError::not_found(e.to_string()),
            S::Unrecoverable { .. } | S::NotDurable { .. } => ApiError::unavailable(e.to_string()),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<docgrid_core::journal::JournalError> for ApiError {
    fn from(e: docgrid_core::journal::JournalError) -> Self {
        match e {
            docgrid_core::journal::JournalError::Store(s) => s.into(),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<docgrid_core::tree::TreeError> for ApiError {
    fn from(e: docgrid_core::tree::TreeError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

impl From<docgrid_core::model::ModelError> for ApiError {
    fn from(e: docgrid_core::model::ModelError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

/// Runs blocking work (SQLite, the store) off the async threads.
pub async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, ApiError> + Send + 'static,
) -> Result<R, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
}
