//! Drafts: the bytes of a file being written, spooled to a file under the
//! spool directory until they are committed (at `flush`, `release` or
//! `fsync`). A draft is one of:
//!
//! - a **new** file: a name in a directory, which becomes a document at its
//!   first commit (created with the metadata the directory implies);
//! - a new content revision of a **document** (opened with `O_TRUNC`, or
//!   written in place, or truncated): the same id, tags and metadata;
//! - a **scratch** file: an editor's or downloader's bookkeeping, never
//!   committed (see [`super::names`]).
//!
//! A draft whose commit failed stays, dirty, with its spool file: the next
//! `close` or `fsync` tries again, and the log names the file that keeps
//! the bytes.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use docgrid_core::DocId;
use docgrid_core::chunk::Digest;

use super::error::{FsError, FsResult};

/// What a draft becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A new document called `name` in directory `dir` (a tree path).
    New {
        /// The directory.
        dir: String,
        /// The name.
        name: String,
    },
    /// New content for document `id`, written through `path`.
    Doc {
        /// The document.
        id: DocId,
        /// The path it was opened by (for messages).
        path: String,
        /// The revision the content was read at: the commit's base.
        base: u64,
        /// The content it had then (a conflict with a change that left
        /// the content alone is retried on the new revision).
        hash: Digest,
    },
    /// Bookkeeping kept in the mount only.
    Scratch {
        /// The directory.
        dir: String,
        /// The name.
        name: String,
        /// Where a scratch symlink points (emacs's `.#x` locks).
        link: Option<String>,
    },
    /// A file of the mount unlinked while still open: its handles keep
    /// reading and writing it, as POSIX says, and it goes at the last
    /// close, never committed.
    Unlinked,
}

impl Target {
    /// The directory and name of a file that exists only in the mount.
    pub fn local_place(&self) -> Option<(&str, &str)> {
        match self {
            Target::New { dir, name } | Target::Scratch { dir, name, .. } => Some((dir, name)),
            Target::Doc { .. } | Target::Unlinked => None,
        }
    }
}

/// A file being written.
#[derive(Debug)]
pub struct Draft {
    /// What it becomes.
    pub target: Target,
    /// Its spool file.
    pub path: PathBuf,
    file: File,
    /// Its length.
    pub len: u64,
    /// Written since its last commit.
    pub dirty: bool,
    /// Its modification time.
    pub mtime: SystemTime,
    /// Handles open on it.
    pub open: u32,
}

static SPOOLED: AtomicU64 = AtomicU64::new(0);

impl Draft {
    /// An empty draft spooled in `dir`.
    pub fn new(dir: &Path, target: Target) -> FsResult<Draft> {
        std::fs::create_dir_all(dir).map_err(|e| spool_err(dir, e))?;
        let n = SPOOLED.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{}-{n}", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| spool_err(&path, e))?;
        Ok(Draft {
            target,
            path,
            file,
            len: 0,
            dirty: false,
            mtime: SystemTime::now(),
            open: 0,
        })
    }

    /// Writes `data` at `offset` (extending the file as needed).
    pub fn write_at(&mut self, offset: u64, data: &[u8]) -> FsResult<()> {
        self.file
            .write_all_at(data, offset)
            .map_err(|e| spool_err(&self.path, e))?;
        self.len = self.len.max(offset + data.len() as u64);
        self.touch();
        Ok(())
    }

    /// Up to `len` bytes from `offset`.
    pub fn read_at(&self, offset: u64, len: usize) -> FsResult<Vec<u8>> {
        if offset >= self.len {
            return Ok(Vec::new());
        }
        let len = len.min((self.len - offset) as usize);
        let mut buf = vec![0; len];
        self.file
            .read_exact_at(&mut buf, offset)
            .map_err(|e| spool_err(&self.path, e))?;
        Ok(buf)
    }

    /// Cuts or extends (with zeros) to `len` bytes.
    pub fn truncate(&mut self, len: u64) -> FsResult<()> {
        self.file
            .set_len(len)
            .map_err(|e| spool_err(&self.path, e))?;
        self.len = len;
        self.touch();
        Ok(())
    }

    /// Whether it is never committed.
    pub fn is_scratch(&self) -> bool {
        matches!(self.target, Target::Scratch { .. } | Target::Unlinked)
    }

    /// Removes the spool file (after a commit, or of scratch).
    pub fn discard(&self) {
        let _ = std::fs::remove_file(&self.path);
    }

    fn touch(&mut self) {
        self.dirty = true;
        self.mtime = SystemTime::now();
    }
}

fn spool_err(path: &Path, source: std::io::Error) -> FsError {
    FsError::Spool {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_reads_what_was_written_and_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let target = Target::New {
            dir: "/all/".into(),
            name: "x".into(),
        };
        let mut d = Draft::new(dir.path(), target).unwrap();
        assert!(!d.dirty);
        d.write_at(0, b"hello world").unwrap();
        d.write_at(20, b"!").unwrap();
        assert_eq!(d.len, 21);
        assert_eq!(d.read_at(0, 5).unwrap(), b"hello");
        assert_eq!(
            d.read_at(11, 100).unwrap(),
            vec![0; 9].into_iter().chain([b'!']).collect::<Vec<_>>()
        );
        d.truncate(5).unwrap();
        assert_eq!(d.read_at(0, 100).unwrap(), b"hello");
        assert!(d.dirty);
        d.discard();
        assert!(!d.path.exists());
    }
}
