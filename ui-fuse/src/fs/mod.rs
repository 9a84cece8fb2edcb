//! The filesystem core: docgrid's tree as inodes, handles and drafts,
//! every operation returning [`FsResult`] — tested without a kernel. The
//! FUSE adapter (`crate::fuse`) only turns requests into calls here and
//! results into replies; errno is chosen in [`FsError::errno`].
//!
//! Everything the tree *means* comes from the tree layer
//! ([`docgrid_client::tree::Tree`]) and core's rules; this module adds
//! what only a filesystem needs:
//!
//! - [`inodes`]: one inode per document, one per directory path, lookup
//!   counts;
//! - [`draft`]: files being written, spooled until their commit at
//!   `close`/`fsync`;
//! - [`names`]: editor and file-manager scratch names, kept in the mount;
//! - [`pending`]: unlinks in nested directories held back so that `rm -r`
//!   removes only what it names;
//! - shadows: a document renamed to a scratch name (vim's `x` → `x~`),
//!   which a new `x` then writes into, keeping its id and metadata.

pub mod draft;
pub mod error;
pub mod inodes;
pub mod names;
pub mod pending;

mod attr;
mod changes;
mod dir;
mod file;
pub(crate) use file::rfc3339;
mod ops;
mod view;
mod xattr;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use docgrid_client::tree::Tree;
use docgrid_core::api::TreeEntry;
use docgrid_core::chunk::Digest;

pub use attr::{Attr, FileKind};
pub use changes::Invalidations;
pub use dir::{DIR_PAGE, DirItem};
pub use error::{FsError, FsResult};
pub use inodes::{Ino, ROOT};
pub use names::NameRules;
pub use ops::{RENAME_EXCHANGE, RENAME_NOREPLACE};
pub use xattr::XattrReply;
pub(crate) use xattr::sized;

use draft::Draft;
use inodes::{Inodes, Kind};
use pending::Pending;
use view::View;

/// How the filesystem behaves.
#[derive(Debug, Clone)]
pub struct FsOptions {
    /// Where drafts are spooled (under the cache directory).
    pub spool: PathBuf,
    /// Refuse every write (`--read-only`).
    pub read_only: bool,
    /// Scratch and shunned names.
    pub names: NameRules,
    /// How long the kernel may keep attributes and names.
    pub ttl: Duration,
    /// How long a process may be idle before its held removals apply.
    pub grace: Duration,
    /// The owner shown for every file.
    pub uid: u32,
    /// The group shown for every file.
    pub gid: u32,
}

impl FsOptions {
    /// Defaults, spooling under `spool`.
    pub fn new(spool: PathBuf) -> FsOptions {
        FsOptions {
            spool,
            read_only: false,
            names: NameRules::default(),
            ttl: Duration::from_secs(1),
            grace: Duration::from_secs(2),
            uid: owner(std::os::unix::fs::MetadataExt::uid),
            gid: owner(std::os::unix::fs::MetadataExt::gid),
        }
    }
}

/// The process's own user or group (the owner of `/proc/self`), shown as
/// every file's owner.
fn owner(of: fn(&std::fs::Metadata) -> u32) -> u32 {
    std::fs::metadata("/proc/self").map_or(0, |m| of(&m))
}

/// An open file.
#[derive(Debug)]
struct Handle {
    ino: Ino,
    /// Opened for writing (a draft exists while it is open).
    write: bool,
    /// Where the next sequential read starts (readahead).
    next: u64,
}

/// An open directory: what it showed at its first read (or last rewind).
#[derive(Debug)]
struct DirHandle {
    ino: Ino,
    snapshot: Option<Arc<DirSnapshot>>,
}

/// A directory as one handle reads it: the tree layer's listing (shared
/// with the tree's cache, never copied) and what only the mount shows.
#[derive(Debug)]
struct DirSnapshot {
    path: String,
    dir: docgrid_core::tree::Dir,
    listing: Option<Arc<docgrid_client::tree::Listing>>,
    /// `.`, `..`, then directories `mkdir` made, shadows and local files.
    extras: Vec<DirItem>,
}

/// The mutable state, behind one lock held only for memory work and
/// spool I/O, never across a request to a server.
#[derive(Debug, Default)]
struct State {
    inodes: Inodes,
    drafts: HashMap<Ino, Draft>,
    handles: HashMap<u64, Handle>,
    dir_handles: HashMap<u64, DirHandle>,
    /// The last listing entry seen of each document inode.
    entries: HashMap<Ino, TreeEntry>,
    view: View,
    pending: Pending,
}

/// The filesystem over a tree.
pub struct Fs {
    tree: Tree,
    opts: FsOptions,
    state: Mutex<State>,
    next_fh: AtomicU64,
    mounted: SystemTime,
    /// Chunks being fetched ahead of sequential readers.
    ahead: Arc<Mutex<HashSet<Digest>>>,
}

impl Fs {
    /// A filesystem over `tree`.
    pub fn new(tree: Tree, opts: FsOptions) -> Fs {
        Fs {
            tree,
            opts,
            state: Mutex::new(State::default()),
            next_fh: AtomicU64::new(1),
            mounted: SystemTime::now(),
            ahead: Arc::default(),
        }
    }

    /// The tree layer underneath.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The options.
    pub fn options(&self) -> &FsOptions {
        &self.opts
    }

    /// How many inodes are known (the kernel's working set).
    pub fn inode_count(&self) -> usize {
        self.lock().inodes.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking handler is answered EIO by the adapter; the state it
        // left is still the best there is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fh(&self) -> u64 {
        self.next_fh.fetch_add(1, Ordering::Relaxed)
    }

    /// What `ino` stands for.
    fn kind(&self, ino: Ino) -> FsResult<Kind> {
        self.lock()
            .inodes
            .get(ino)
            .cloned()
            .ok_or(FsError::StaleInode(ino))
    }

    /// The tree path of directory inode `ino`.
    fn dir_path(&self, ino: Ino) -> FsResult<String> {
        match self.kind(ino)? {
            Kind::Dir(path) => Ok(path),
            _ => Err(FsError::NotDir(format!("inode {ino}"))),
        }
    }

    fn writable(&self) -> FsResult<()> {
        if self.opts.read_only {
            Err(FsError::ReadOnlyMount)
        } else {
            Ok(())
        }
    }
}

/// `name`, a name the kernel gave, as UTF-8 and no longer than a
/// document name may be.
pub fn utf8(name: &std::ffi::OsStr) -> FsResult<&str> {
    if name.len() > docgrid_core::model::MAX_NAME_LEN {
        return Err(FsError::NameTooLong(name.len()));
    }
    name.to_str()
        .ok_or_else(|| FsError::NotUtf8(name.to_string_lossy().into_owned()))
}

/// The path of entry `name` in directory `dir` (a tree path ending `/`).
fn join(dir: &str, name: &str) -> String {
    format!("{dir}{name}")
}
