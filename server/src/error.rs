//! The API's errors: one type, mapped to a status and the JSON error body
//! in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use docgrid_core::api::{Conflict, ErrorBody, ErrorCode, ErrorDetail};
use docgrid_core::journal::JournalError;
use docgrid_core::store::StoreError;

/// What the server's own logic (commits, catch-up, reads of the store and
/// the indexes) fails with. Mapped to an answer once, in
/// `From<ServerError> for ApiError`: a lost disk or node is 503 naming
/// what is missing, never a 500.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The SQLite index failed.
    #[error("index: {0}")]
    Index(#[from] rusqlite::Error),
    /// The full-text index failed.
    #[error("full-text index: {0}")]
    FullText(#[from] crate::fulltext::FullTextError),
    /// The store failed.
    #[error(transparent)]
    Store(Box<StoreError>),
    /// The journal could not be read or written.
    #[error(transparent)]
    Journal(Box<JournalError>),
    /// A document's bytes could not be read.
    #[error("document {name:?} ({id}): {source}")]
    Document {
        /// The document.
        id: docgrid_core::DocId,
        /// Its name.
        name: String,
        /// Why.
        #[source]
        source: Box<StoreError>,
    },
    /// A revision of the journal could not be read or applied.
    #[error("revision {rev}: {source}")]
    Revision {
        /// The revision.
        rev: u64,
        /// Why.
        #[source]
        source: Box<ServerError>,
    },
    /// Writes are refused: the store cannot take them now.
    #[error("{0}")]
    Degraded(String),
}

impl ServerError {
    /// Whether this is the store lacking disks or nodes (not a bug): the
    /// index may still be served, writes may not.
    pub fn is_store_unavailable(&self) -> bool {
        self.code() == ErrorCode::Unavailable
    }

    /// The API code this failure is answered with.
    pub fn code(&self) -> ErrorCode {
        match self {
            ServerError::Index(_) | ServerError::FullText(_) => ErrorCode::Internal,
            ServerError::Store(e) | ServerError::Document { source: e, .. } => store_code(e),
            ServerError::Journal(j) => match j.as_ref() {
                JournalError::Store(e) => store_code(e),
                JournalError::Unreadable { source, .. } => store_code(source),
                JournalError::Moved { .. } => ErrorCode::Conflict,
                _ => ErrorCode::Internal,
            },
            ServerError::Revision { source, .. } => source.code(),
            ServerError::Degraded(_) => ErrorCode::Unavailable,
        }
    }
}

impl From<StoreError> for ServerError {
    fn from(e: StoreError) -> Self {
        ServerError::Store(Box::new(e))
    }
}

impl From<JournalError> for ServerError {
    fn from(e: JournalError) -> Self {
        ServerError::Journal(Box::new(e))
    }
}

/// The code a store failure is answered with.
fn store_code(e: &StoreError) -> ErrorCode {
    match e {
        StoreError::NotFound { .. } => ErrorCode::NotFound,
        // What the disks or the grid cannot give now: 503 naming it.
        StoreError::Unrecoverable { .. }
        | StoreError::NotDurable { .. }
        | StoreError::Unavailable { .. }
        | StoreError::Corrupt { .. }
        | StoreError::Io { .. }
        | StoreError::Backend(_) => ErrorCode::Unavailable,
        StoreError::InvalidLocator { .. } | StoreError::Config(_) => ErrorCode::Internal,
    }
}

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        ApiError::new(e.code(), docgrid_core::error_chain(&e))
    }
}

/// An error answered to a client.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// The stable code; the HTTP status follows from it
    /// ([`ErrorCode::status`]).
    pub code: ErrorCode,
    /// What failed and what to do.
    pub message: String,
    /// For conflicts: the stale documents.
    pub conflicts: Vec<Conflict>,
    /// For bad queries: where.
    pub offset: Option<usize>,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            conflicts: Vec::new(),
            offset: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// 400: the query does not parse.
    pub fn bad_query(e: &docgrid_core::query::QueryError) -> Self {
        let mut err = Self::new(ErrorCode::BadQuery, e.to_string());
        err.offset = Some(e.offset);
        err
    }

    /// 401: no or an unknown token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    /// 403 `read_only_follower`: a write sent to a follower.
    pub fn read_only(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ReadOnlyFollower, message)
    }

    /// 403: the token's role does not allow this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// 409: stale base revisions; nothing was applied.
    pub fn conflict(conflicts: Vec<Conflict>) -> Self {
        let names: Vec<String> = conflicts
            .iter()
            .map(|c| format!("{} ({}: base {}, now {})", c.name, c.id, c.base, c.current))
            .collect();
        let mut err = Self::new(
            ErrorCode::Conflict,
            format!(
                "out of date: {} changed since your base revision; update and retry. Nothing was committed",
                names.join(", ")
            ),
        );
        err.conflicts = conflicts;
        err
    }

    /// 409 without documents (e.g. another writer moved the journal).
    pub fn conflict_msg(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// 409 `not_empty`: a tag or directory to remove is still in use.
    pub fn not_empty(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotEmpty, message)
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 413.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::TooLarge, message)
    }

    /// 503: the backend cannot serve this now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    /// The same error, its message prefixed with what it was about.
    pub fn about(mut self, what: impl std::fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = %self.code, "{}", self.message);
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                conflicts: self.conflicts,
                offset: self.offset,
            },
        };
        (status, axum::Json(body)).into_response()
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ServerError::Index(e).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ServerError::from(e).into()
    }
}

impl From<JournalError> for ApiError {
    fn from(e: JournalError) -> Self {
        ServerError::from(e).into()
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
