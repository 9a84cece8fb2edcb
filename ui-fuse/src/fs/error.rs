//! Why a filesystem operation failed, and the one place where each reason
//! becomes an errno ([`FsError::errno`]).

use docgrid_client::{ClientError, ErrorKind};

/// Why the filesystem refused or failed an operation. Every handler of
/// the FUSE adapter answers with [`FsError::errno`]; the message is what
/// the log says.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The tree layer or the server refused or failed (mapped by its kind).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// No entry of that name in the directory.
    #[error("no entry {name:?} in {dir}")]
    NoEntry {
        /// The directory, as a tree path.
        dir: String,
        /// The name looked up.
        name: String,
    },
    /// An inode number the kernel holds that this mount no longer knows.
    #[error("inode {0} is not known to this mount (forgotten)")]
    StaleInode(u64),
    /// A file handle that is not open.
    #[error("file handle {0} is not open")]
    BadHandle(u64),
    /// A name that is not UTF-8 (docgrid names are text).
    #[error("the name {0:?} is not UTF-8 text: docgrid names are text")]
    NotUtf8(String),
    /// A name longer than a document name may be (255 bytes).
    #[error("a name of {0} bytes: names are at most 255 bytes")]
    NameTooLong(usize),
    /// The name exists already (`RENAME_NOREPLACE`, `mkdir`).
    #[error("{0} exists already")]
    Exists(String),
    /// A directory that still lists entries.
    #[error("{0} is not empty")]
    NotEmpty(String),
    /// A document where a directory is needed.
    #[error("{0} is not a directory")]
    NotDir(String),
    /// A directory where a document is needed.
    #[error("{0} is a directory")]
    IsDir(String),
    /// Something the filesystem does not do, by design (hard links,
    /// symlinks outside scratch names, renaming directories).
    #[error("{what} is not supported: {why}")]
    NotPermitted {
        /// The operation and its target.
        what: String,
        /// Why, and what to do instead.
        why: &'static str,
    },
    /// A flag or argument the operation does not accept
    /// (`RENAME_EXCHANGE`).
    #[error("{0}")]
    Invalid(String),
    /// The mount is read-only (`--read-only`).
    #[error("the mount is read-only (mounted with --read-only)")]
    ReadOnlyMount,
    /// The directory accepts no such write (`/recent/`, `/ids/`, a
    /// non-conjunctive query).
    #[error("{0}")]
    Refused(String),
    /// No such extended attribute.
    #[error("no attribute {0:?}")]
    NoAttribute(String),
    /// An attribute outside `user.docgrid.*`, which docgrid does not keep.
    #[error("{0}: docgrid keeps only user.docgrid.* attributes")]
    NoXattrSupport(String),
    /// The caller's buffer is smaller than the value.
    #[error("a value of {0} bytes does not fit the buffer given")]
    Range(usize),
    /// A local spool file failed.
    #[error("spool file {path}: {source}")]
    Spool {
        /// The spool file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Content written through the mount could not be stored; it is kept.
    #[error("{what} could not be stored ({source}); the content is kept in {kept}")]
    NotStored {
        /// The file.
        what: String,
        /// The spool file keeping the content.
        kept: String,
        /// Why.
        source: Box<ClientError>,
    },
    /// The overlay's lower directory refused (its errno is the answer).
    #[error("{path}: {source}")]
    Lower {
        /// The path in the lower directory.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Write-back's spool is full: the write fails rather than being
    /// dropped, until uploads drain it.
    #[error(
        "the write-back spool is full ({used} of {limit} bytes in use) until uploads drain it: \
         is the server reachable?"
    )]
    SpoolFull {
        /// Bytes in use.
        used: u64,
        /// The bound (`--spool-size`).
        limit: u64,
    },
    /// The overlay's state journal failed.
    #[error(transparent)]
    Journal(#[from] crate::overlay::journal::JournalError),
    /// Content written through a write-through overlay could not be
    /// stored; the lower directory has it.
    #[error("{what} could not be stored ({why}); the lower directory keeps it")]
    NotMigrated {
        /// The file.
        what: String,
        /// Why.
        why: String,
    },
    /// A handler panicked (a bug): answered EIO, logged.
    #[error("internal error in {0} (a bug; see the log)")]
    Panicked(&'static str),
}

impl FsError {
    /// The errno this error is answered with: the one place where errors
    /// become errnos. Never `ENOSYS`, which the kernel remembers for the
    /// rest of the mount.
    pub fn errno(&self) -> i32 {
        match self {
            FsError::Client(e) => client_errno(e),
            FsError::NoEntry { .. } | FsError::StaleInode(_) => libc::ENOENT,
            FsError::BadHandle(_) => libc::EBADF,
            FsError::NotUtf8(_) => libc::EILSEQ,
            FsError::NameTooLong(_) => libc::ENAMETOOLONG,
            FsError::Exists(_) => libc::EEXIST,
            FsError::NotEmpty(_) => libc::ENOTEMPTY,
            FsError::NotDir(_) => libc::ENOTDIR,
            FsError::IsDir(_) => libc::EISDIR,
            FsError::NotPermitted { .. } => libc::EPERM,
            FsError::Invalid(_) => libc::EINVAL,
            FsError::ReadOnlyMount => libc::EROFS,
            FsError::Refused(_) => libc::EACCES,
            FsError::NoAttribute(_) => libc::ENODATA,
            FsError::Range(_) => libc::ERANGE,
            FsError::NoXattrSupport(_) => libc::ENOTSUP,
            FsError::Spool { source, .. } | FsError::Lower { source, .. } => {
                source.raw_os_error().unwrap_or(libc::EIO)
            }
            FsError::Journal(_) | FsError::NotMigrated { .. } => libc::EIO,
            FsError::SpoolFull { .. } => libc::ENOSPC,
            FsError::NotStored { .. } | FsError::Panicked(_) => libc::EIO,
        }
    }

    /// Whether it is an everyday answer (a missing name, an attribute not
    /// set) rather than a failure worth a warning in the log.
    pub fn is_quiet(&self) -> bool {
        matches!(
            self.errno(),
            libc::ENOENT
                | libc::ENODATA
                | libc::ERANGE
                | libc::EEXIST
                | libc::ENOTEMPTY
                | libc::ENOTSUP
        )
    }
}

/// The errno of a tree-layer error, by its kind.
fn client_errno(e: &ClientError) -> i32 {
    match e.kind() {
        ErrorKind::NotFound => libc::ENOENT,
        ErrorKind::Conflict => libc::EIO,
        ErrorKind::NotEmpty => libc::ENOTEMPTY,
        ErrorKind::Exists => libc::EEXIST,
        ErrorKind::ReadOnly | ErrorKind::Denied => libc::EACCES,
        ErrorKind::IsDir => libc::EISDIR,
        ErrorKind::NotDir => libc::ENOTDIR,
        ErrorKind::Invalid => libc::EINVAL,
        ErrorKind::TooLarge => libc::EFBIG,
        ErrorKind::Unavailable | ErrorKind::Corrupt | ErrorKind::Io | ErrorKind::Internal => {
            libc::EIO
        }
    }
}

/// The result of a filesystem operation.
pub type FsResult<T> = Result<T, FsError>;

#[cfg(test)]
mod tests {
    use super::*;
    use docgrid_core::tree::TreeError;

    #[test]
    fn no_error_is_enosys() {
        let errors = [
            FsError::NoAttribute("user.docgrid.x".into()),
            FsError::Range(10),
            FsError::Panicked("read"),
            FsError::Client(ClientError::Tree(TreeError::ReadOnly {
                dir: "/recent/".into(),
                why: "x".into(),
            })),
        ];
        for e in &errors {
            assert_ne!(e.errno(), libc::ENOSYS, "{e}");
        }
        assert_eq!(errors[0].errno(), libc::ENODATA);
        assert_eq!(errors[1].errno(), libc::ERANGE);
        assert_eq!(errors[3].errno(), libc::EACCES);
    }
}
