//! [`ClientError`]: what a call or a tree operation failed with, and its
//! [`ErrorKind`], the one classification front-ends map from (FUSE to an
//! errno, the GUI to a message, the CLI to an exit code).

use docgrid_core::api::{Conflict, ErrorBody, ErrorCode};
use docgrid_core::chunk::Digest;
use docgrid_core::tree::TreeError;

/// What a call failed with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error (its body's code and message).
    #[error("{url}: {status} {code}: {message}")]
    Api {
        /// The server and path.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The stable error code.
        code: ErrorCode,
        /// What failed and what to do.
        message: String,
        /// The error body, for query offsets.
        detail: Box<Option<ErrorBody>>,
    },
    /// A write was out of date: these documents changed since the base
    /// revision it carried. Nothing was applied.
    #[error("{message}")]
    Conflict {
        /// The stale documents, with their base and current revisions.
        conflicts: Vec<Conflict>,
        /// The server's message.
        message: String,
    },
    /// The tree refused a path or a write (core's rules).
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// No such entry in a tree directory (or no such document).
    #[error("{what}")]
    NotFound {
        /// What was looked for, and where.
        what: String,
    },
    /// The operation needs a document and found a directory, or the other
    /// way round.
    #[error("{what}")]
    WrongKind {
        /// What was found where.
        what: String,
        /// Whether a directory was found (a document was needed).
        is_dir: bool,
    },
    /// No server could be reached (or every one answered 502/503/504).
    #[error("no docgrid server answered ({}): {why}", servers.join(", "))]
    Unreachable {
        /// The servers tried.
        servers: Vec<String>,
        /// The last failure.
        why: String,
    },
    /// The primary could not be reached for a write: nothing was written.
    #[error("the primary {server} could not be reached ({why}); nothing was written")]
    WriteFailed {
        /// The primary.
        server: String,
        /// Why.
        why: String,
    },
    /// Bytes came back that do not hash to what was asked for.
    #[error("{what} is corrupt: expected BLAKE3 {expected}, got {got}")]
    Corrupt {
        /// The chunk or document.
        what: String,
        /// The hash asked for.
        expected: Digest,
        /// The hash of what came.
        got: Digest,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// An answer that is not what the API promises.
    #[error("{url}: unreadable answer: {why}")]
    Decode {
        /// The server and path.
        url: String,
        /// What did not parse.
        why: String,
    },
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The chunk cache failed.
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
    /// A bug in the client (a worker panicked).
    #[error("internal error: {0}")]
    Internal(String),
}

/// The classes of failure a front-end tells apart: match on this
/// exhaustively, not on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No such document, entry, revision or endpoint.
    NotFound,
    /// Out of date: someone else committed first (update and retry).
    Conflict,
    /// A tag or directory to remove is still in use.
    NotEmpty,
    /// It exists already (a fixed directory, a tag).
    Exists,
    /// The directory does not accept this write (its rules say why), or a
    /// follower refuses writes.
    ReadOnly,
    /// A directory was given where a document is needed.
    IsDir,
    /// A document was given where a directory is needed.
    NotDir,
    /// Malformed input: a bad path, name, key, value, query or setting.
    Invalid,
    /// The token is missing, unknown, or its role does not allow this.
    Denied,
    /// The server or its storage cannot serve this now (unreachable, lost
    /// disks or nodes, being reindexed).
    Unavailable,
    /// Bytes that do not match their hash.
    Corrupt,
    /// Larger than the server accepts.
    TooLarge,
    /// A local file or the local cache failed.
    Io,
    /// Anything else: a bug on one side or the other.
    Internal,
}

impl ClientError {
    /// The HTTP status of an API error, if it is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            ClientError::Conflict { .. } => Some(409),
            _ => None,
        }
    }

    /// The API error code of an answered error, if it is one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api { code, .. } => Some(*code),
            ClientError::Conflict { .. } => Some(ErrorCode::Conflict),
            _ => None,
        }
    }

    /// Which class of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClientError::Api { code, .. } => code_kind(*code),
            ClientError::Conflict { .. } => ErrorKind::Conflict,
            ClientError::Tree(e) => tree_kind(e),
            ClientError::NotFound { .. } => ErrorKind::NotFound,
            ClientError::WrongKind { is_dir: true, .. } => ErrorKind::IsDir,
            ClientError::WrongKind { is_dir: false, .. } => ErrorKind::NotDir,
            ClientError::Unreachable { .. } | ClientError::WriteFailed { .. } => {
                ErrorKind::Unavailable
            }
            ClientError::Corrupt { .. } => ErrorKind::Corrupt,
            ClientError::Io { .. } | ClientError::Cache(_) => ErrorKind::Io,
            ClientError::Decode { .. } | ClientError::Internal(_) => ErrorKind::Internal,
            ClientError::Config(_) => ErrorKind::Invalid,
        }
    }

    /// The stale documents of a conflict (empty for other errors).
    pub fn conflicts(&self) -> &[Conflict] {
        match self {
            ClientError::Conflict { conflicts, .. } => conflicts,
            _ => &[],
        }
    }
}

/// The kind of an API error code.
fn code_kind(code: ErrorCode) -> ErrorKind {
    match code {
        ErrorCode::BadRequest | ErrorCode::BadQuery => ErrorKind::Invalid,
        ErrorCode::Unauthorized | ErrorCode::Forbidden => ErrorKind::Denied,
        ErrorCode::ReadOnlyFollower => ErrorKind::ReadOnly,
        ErrorCode::NotFound => ErrorKind::NotFound,
        ErrorCode::Conflict => ErrorKind::Conflict,
        ErrorCode::NotEmpty => ErrorKind::NotEmpty,
        ErrorCode::TooLarge => ErrorKind::TooLarge,
        ErrorCode::Unavailable | ErrorCode::BadGateway => ErrorKind::Unavailable,
        ErrorCode::Internal | ErrorCode::Unknown => ErrorKind::Internal,
    }
}

/// The kind of a refusal by core's tree rules.
fn tree_kind(e: &TreeError) -> ErrorKind {
    match e {
        TreeError::ReadOnly { .. } | TreeError::ReservedKey { .. } => ErrorKind::ReadOnly,
        TreeError::AlreadyExists { .. } => ErrorKind::Exists,
        TreeError::NotEmpty { .. } => ErrorKind::NotEmpty,
        TreeError::NoSubdirectories { .. } => ErrorKind::NotFound,
        TreeError::Relative { .. }
        | TreeError::EmptyComponent { .. }
        | TreeError::DotComponent { .. }
        | TreeError::UnknownRoot { .. }
        | TreeError::InvalidKey { .. }
        | TreeError::InvalidValue { .. }
        | TreeError::InvalidName(_)
        | TreeError::BadQuery { .. }
        | TreeError::NoEntryName { .. }
        | TreeError::NotDocgridXattr { .. }
        | TreeError::XattrNotUtf8 { .. } => ErrorKind::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_kind_and_conflicts_are_typed() {
        let e = ClientError::Conflict {
            conflicts: vec![],
            message: "m".into(),
        };
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(e.status(), Some(409));
        assert_eq!(code_kind(ErrorCode::NotEmpty), ErrorKind::NotEmpty);
        assert_eq!(code_kind(ErrorCode::Unavailable), ErrorKind::Unavailable);
        let t = ClientError::Tree(TreeError::AlreadyExists {
            dir: "/all/".into(),
        });
        assert_eq!(t.kind(), ErrorKind::Exists);
    }
}
