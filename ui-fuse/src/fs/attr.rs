//! File attributes, all from what a listing says of an entry (no request
//! per entry): size, times, mode, links.
//!
//! - Documents are `0644` (`0444` on a read-only mount). One document is
//!   one inode whatever path reaches it, so its mode cannot depend on the
//!   directory: a directory that takes no writes says so with its own mode.
//! - `st_mtime` is the document's `mtime` key where set (`cp -p`, `rsync
//!   -a`, `tar x`, writes through the mount), else when it last changed;
//!   `st_ctime` is when it last changed; `st_crtime` when it was created.
//! - Directories are `0755`, or `0555` where the tree takes no new
//!   entries (`/`, `/recent/`, `/ids/`, `/by/K/`, a query that is not a
//!   conjunction). Their `st_nlink` is 1: a tree directory's subdirectory
//!   count is not known without listing it, and 1 tells `find` not to
//!   count links (its leaf optimisation is off), as on btrfs.

use std::time::SystemTime;

use docgrid_client::tree::system_time;
use docgrid_core::api::{EntryKind, TreeEntry};
use docgrid_core::tree::{self as rules, Dir};

use super::Ino;
use super::draft::Draft;

/// What kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Dir,
    /// A regular file (a document, a draft).
    File,
    /// A symbolic link (only scratch ones exist).
    Symlink,
}

/// The attributes `stat` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// The inode.
    pub ino: Ino,
    /// The kind.
    pub kind: FileKind,
    /// Bytes.
    pub size: u64,
    /// Content modification time.
    pub mtime: SystemTime,
    /// Change time.
    pub ctime: SystemTime,
    /// Creation time.
    pub crtime: SystemTime,
    /// Permission bits.
    pub perm: u16,
    /// Links.
    pub nlink: u32,
}

impl Attr {
    /// 512-byte blocks, as `du` counts them.
    pub fn blocks(&self) -> u64 {
        self.size.div_ceil(512)
    }
}

/// A directory's attributes.
pub fn dir_attr(ino: Ino, path: &str, at: SystemTime, read_only: bool) -> Attr {
    let takes = !read_only
        && rules::parse_dir(path).is_ok_and(|d| {
            matches!(d, Dir::TagsRoot | Dir::Files(_) | Dir::Tags(_))
                || rules::plan_create(&d, "x").is_ok()
        });
    Attr {
        ino,
        kind: FileKind::Dir,
        size: 0,
        mtime: at,
        ctime: at,
        crtime: at,
        perm: if takes { 0o755 } else { 0o555 },
        nlink: 1,
    }
}

/// A document's attributes from its listing entry.
pub fn doc_attr(ino: Ino, e: &TreeEntry, read_only: bool) -> Attr {
    let time = |s: &Option<String>| s.as_deref().and_then(system_time);
    let ctime = time(&e.modified).unwrap_or(SystemTime::UNIX_EPOCH);
    Attr {
        ino,
        kind: FileKind::File,
        size: e.size.unwrap_or(0),
        mtime: time(&e.mtime).unwrap_or(ctime),
        ctime,
        crtime: time(&e.created).unwrap_or(ctime),
        perm: if read_only { 0o444 } else { 0o644 },
        nlink: 1,
    }
}

/// An entry's attributes: a document's, or a directory's at `at`.
pub fn entry_attr(ino: Ino, path: &str, e: &TreeEntry, at: SystemTime, ro: bool) -> Attr {
    match e.kind {
        EntryKind::Dir => dir_attr(ino, path, at, ro),
        EntryKind::Doc => doc_attr(ino, e, ro),
    }
}

/// What a draft changes of a file's attributes (its size and mtime), or a
/// draft's own attributes when it is all there is (a new or scratch file).
pub fn with_draft(base: Option<Attr>, ino: Ino, d: &Draft, read_only: bool) -> Attr {
    let mut a = base.unwrap_or(Attr {
        ino,
        kind: FileKind::File,
        size: 0,
        mtime: d.mtime,
        ctime: d.mtime,
        crtime: d.mtime,
        perm: if read_only { 0o444 } else { 0o644 },
        nlink: 1,
    });
    if let super::draft::Target::Scratch { link: Some(to), .. } = &d.target {
        a.kind = FileKind::Symlink;
        a.size = to.len() as u64;
        a.perm = 0o777;
        return a;
    }
    a.size = d.len;
    if d.dirty {
        a.mtime = d.mtime;
        a.ctime = a.ctime.max(d.mtime);
    }
    a
}
