//! The overlay filesystem's core: what each FUSE request means over the
//! lower directory and the store, tested through real mounts
//! (`tests/overlay_mount.rs`). The FUSE adapter ([`super::fuse`]) only
//! translates.
//!
//! The lower directory is the namespace: names, kinds, sizes, times,
//! modes, owners, link counts and attributes are the lower file's, read
//! through the descriptor opened before mounting ([`Lower`]). The store
//! is where migrated bytes are read from; writes go where the mode says
//! ([`Mode`]); renames and deletes apply to both layers
//! ([`super::names`]); opening, reading and writing are in
//! [`super::handles`].

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::fs::sized;
use crate::fs::{FsError, FsResult, Ino, XattrReply};

use super::handles::Handle;
use super::journal::{Journal, SyncState};
use super::layers::{Found, Hidden, Layer};
use super::lower::{Lower, join};
use super::migrate::Migrator;
use super::nodes::Nodes;
use super::worker::Queue;

/// The attribute that tells a file's migration state.
pub const SYNC_STATE_XATTR: &str = "user.docgrid.sync_state";

/// Where writes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Writes go to the lower directory and mark the file dirty; reads of
    /// migrated files come from the store; a file read completely from
    /// the lower directory is uploaded afterwards.
    ReadThrough,
    /// Writes go to both: `close` and `fsync` return once the store has
    /// the file too (EIO when it cannot be stored; the lower copy has it).
    WriteThrough,
    /// Writes go to the store only, through the spool: acknowledged once
    /// they are synced there, uploaded in the background; the lower
    /// directory is never modified ([`super::layers`]).
    WriteBack,
}

impl Mode {
    /// The mode's name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadThrough => "read-through",
            Mode::WriteThrough => "write-through",
            Mode::WriteBack => "write-back",
        }
    }
}

/// `stat` of an overlay file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The inode.
    pub ino: Ino,
    /// `st_mode`: type and permission bits.
    pub mode: u32,
    /// Bytes.
    pub size: u64,
    /// 512-byte blocks.
    pub blocks: u64,
    /// Hard links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device (for device files).
    pub rdev: u32,
    /// Access time.
    pub atime: SystemTime,
    /// Modification time.
    pub mtime: SystemTime,
    /// Change time.
    pub ctime: SystemTime,
}

impl Stat {
    /// The lower file's `meta` as inode `ino`.
    pub fn of(ino: Ino, meta: &std::fs::Metadata) -> Stat {
        let at = |s: i64, ns: i64| {
            if s >= 0 {
                UNIX_EPOCH + Duration::new(s as u64, ns as u32)
            } else {
                UNIX_EPOCH
            }
        };
        Stat {
            ino,
            mode: meta.mode(),
            size: meta.size(),
            blocks: meta.blocks(),
            nlink: meta.nlink() as u32,
            uid: meta.uid(),
            gid: meta.gid(),
            rdev: meta.rdev() as u32,
            atime: at(meta.atime(), meta.atime_nsec()),
            mtime: at(meta.mtime(), meta.mtime_nsec()),
            ctime: at(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its inode.
    pub ino: Ino,
    /// Its name.
    pub name: String,
    /// `st_mode` (only the type is used).
    pub mode: u32,
}

/// How the overlay is set up.
#[derive(Debug, Clone)]
pub struct OverlayOptions {
    /// Where writes go.
    pub mode: Mode,
    /// How long the kernel may cache names and attributes (short: the
    /// lower directory may change behind the overlay's back).
    pub ttl: Duration,
    /// Write-back: the most bytes the spool holds before writes fail with
    /// ENOSPC (until uploads drain it).
    pub spool_limit: u64,
}

/// The overlay filesystem.
pub struct Overlay {
    pub(super) lower: Arc<Lower>,
    /// Write-back's spool, the upper layer.
    pub(super) upper: Option<Lower>,
    /// Write-back: what hides lower entries (shared with the migrator).
    pub(super) hidden: Option<Arc<Hidden>>,
    pub(super) spool_used: AtomicU64,
    pub(super) nodes: Nodes,
    pub(super) migrator: Arc<Migrator>,
    pub(super) queue: Arc<Queue>,
    pub(super) opts: OverlayOptions,
    pub(super) handles: Mutex<HashMap<u64, Arc<Handle>>>,
    dirs: Mutex<HashMap<u64, Vec<Entry>>>,
    pub(super) next_fh: AtomicU64,
}

impl Overlay {
    /// The overlay of `lower`, migrating with `migrator` and handing
    /// files to upload to `queue`.
    pub fn new(
        lower: Arc<Lower>,
        upper: Option<Lower>,
        migrator: Arc<Migrator>,
        queue: Arc<Queue>,
        opts: OverlayOptions,
    ) -> FsResult<Overlay> {
        let root = lower.stat("").map_err(lower_err(""))?;
        let journal = migrator.journal();
        let spool_used = AtomicU64::new(journal.spool_bytes()?);
        Ok(Overlay {
            nodes: Nodes::new(root.dev(), root.ino(), opts.mode == Mode::WriteBack),
            lower,
            upper,
            hidden: migrator.hidden().cloned(),
            spool_used,
            migrator,
            queue,
            opts,
            handles: Mutex::new(HashMap::new()),
            dirs: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
        })
    }

    /// The options.
    pub fn options(&self) -> &OverlayOptions {
        &self.opts
    }

    /// The state journal.
    pub fn journal(&self) -> &Arc<Journal> {
        self.migrator.journal()
    }

    /// The path of `ino` relative to the lower directory.
    pub(super) fn rel(&self, ino: Ino) -> FsResult<String> {
        self.nodes.rel(ino)
    }

    /// The path of `name` in directory `parent`.
    pub(super) fn child(&self, parent: Ino, name: &str) -> FsResult<String> {
        Ok(join(&self.rel(parent)?, name))
    }

    /// `lstat` of `rel` as an inode (a kernel lookup when `lookup`).
    pub(super) fn stat_at(&self, rel: &str, lookup: bool) -> FsResult<Stat> {
        let f = self.find(rel)?;
        let ino = self.nodes.at((f.meta.dev(), f.meta.ino()), rel, lookup);
        Ok(stat_of(ino, &f))
    }

    /// Gives what a request made at `rel` to the caller `who` (uid, gid),
    /// as a filesystem does for its callers; the daemon runs as root.
    pub(super) fn own(&self, rel: &str, who: (u32, u32)) -> FsResult<()> {
        if !rustix::process::geteuid().is_root() || who == (0, 0) {
            return Ok(());
        }
        let f = self.find(rel)?;
        self.layer(f.layer)
            .chown(rel, Some(who.0), Some(who.1))
            .map_err(lower_err(rel))
    }

    /// `name` in `parent`.
    pub fn lookup(&self, parent: Ino, name: &str) -> FsResult<Stat> {
        let rel = self.child(parent, name)?;
        self.stat_at(&rel, true)
    }

    /// The kernel forgets `n` lookups of `ino`.
    pub fn forget(&self, ino: Ino, n: u64) {
        self.nodes.forget(ino, n);
    }

    /// `stat` of `ino`.
    pub fn getattr(&self, ino: Ino) -> FsResult<Stat> {
        let rel = self.rel(ino)?;
        let f = self.find(&rel)?;
        Ok(stat_of(ino, &f))
    }

    /// The target of symbolic link `ino`.
    pub fn readlink(&self, ino: Ino) -> FsResult<std::path::PathBuf> {
        let rel = self.rel(ino)?;
        let f = self.find(&rel)?;
        std::fs::read_link(self.path_of(&f, &rel)).map_err(lower_err(&rel))
    }

    /// Opens directory `ino`: its entries as they are now.
    pub fn opendir(&self, ino: Ino) -> FsResult<u64> {
        let rel = self.rel(ino)?;
        let listed = self.entries(&rel)?;
        let mut entries = vec![
            Entry {
                ino,
                name: ".".into(),
                mode: libc::S_IFDIR,
            },
            Entry {
                ino,
                name: "..".into(),
                mode: libc::S_IFDIR,
            },
        ];
        for (name, meta) in listed {
            let child = join(&rel, &name);
            let ino = self.nodes.at((meta.dev(), meta.ino()), &child, false);
            entries.push(Entry {
                ino,
                name,
                mode: meta.mode(),
            });
        }
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.dirs.lock().expect("poisoned").insert(fh, entries);
        Ok(fh)
    }

    /// Up to `max` entries of directory handle `fh` from index `offset`,
    /// each with the offset of the next.
    pub fn readdir(&self, fh: u64, offset: u64, max: usize) -> FsResult<Vec<(u64, Entry)>> {
        let dirs = self.dirs.lock().expect("poisoned");
        let entries = dirs.get(&fh).ok_or(FsError::BadHandle(fh))?;
        Ok(entries
            .iter()
            .enumerate()
            .skip(offset as usize)
            .take(max)
            .map(|(i, e)| (i as u64 + 1, e.clone()))
            .collect())
    }

    /// Closes directory handle `fh`.
    pub fn releasedir(&self, fh: u64) {
        self.dirs.lock().expect("poisoned").remove(&fh);
    }

    /// `statfs`: the lower directory's filesystem.
    pub fn statfs(&self) -> FsResult<rustix::fs::StatVfs> {
        self.lower.statvfs().map_err(lower_err(""))
    }

    /// The lower directory's device and inode.
    pub fn lower_id(&self) -> (u64, u64) {
        self.lower.stat("").map_or((0, 0), |m| (m.dev(), m.ino()))
    }

    /// The descriptor the lower directory is held by.
    pub fn lower_fd(&self) -> i32 {
        self.lower.fd()
    }

    /// Files waiting in the upload queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Inodes known.
    pub fn inode_count(&self) -> usize {
        self.nodes.len()
    }
}

/// Extended attributes: the lower file's, plus [`SYNC_STATE_XATTR`] on
/// regular files, which is read-only.
impl Overlay {
    /// The migration state of `rel` (a file never seen yet is lower-only).
    pub fn sync_state(&self, rel: &str) -> FsResult<SyncState> {
        Ok(self
            .journal()
            .get(rel)?
            .map_or(SyncState::LowerOnly, |r| r.state))
    }

    /// `getxattr`.
    pub fn getxattr(&self, ino: Ino, name: &str, size: u32) -> FsResult<XattrReply> {
        let rel = self.rel(ino)?;
        if name == SYNC_STATE_XATTR {
            if !self.getattr(ino)?.is_file() {
                return Err(FsError::NoAttribute(name.into()));
            }
            let state = self.sync_state(&rel)?;
            return sized(state.as_str().as_bytes().to_vec(), size);
        }
        let f = self.find(&rel)?;
        let v = self
            .layer(f.layer)
            .getxattr(&rel, name)
            .map_err(lower_err(&rel))?;
        sized(v, size)
    }

    /// `listxattr`.
    pub fn listxattr(&self, ino: Ino, size: u32) -> FsResult<XattrReply> {
        let rel = self.rel(ino)?;
        let f = self.find(&rel)?;
        let mut names = self
            .layer(f.layer)
            .listxattr(&rel)
            .map_err(lower_err(&rel))?;
        if f.meta.is_file() {
            names.extend_from_slice(SYNC_STATE_XATTR.as_bytes());
            names.push(0);
        }
        sized(names, size)
    }

    /// `setxattr` (of the lower file; the sync state cannot be set).
    pub fn setxattr(&self, ino: Ino, name: &str, value: &[u8], flags: i32) -> FsResult<()> {
        let rel = self.rel(ino)?;
        refuse_sync_state(name, "setting", &rel)?;
        let l = self.writable(&rel)?;
        self.layer(l)
            .setxattr(&rel, name, value, flags)
            .map_err(lower_err(&rel))
    }

    /// `removexattr`.
    pub fn removexattr(&self, ino: Ino, name: &str) -> FsResult<()> {
        let rel = self.rel(ino)?;
        refuse_sync_state(name, "removing", &rel)?;
        let l = self.writable(&rel)?;
        self.layer(l)
            .removexattr(&rel, name)
            .map_err(lower_err(&rel))
    }
}

impl Overlay {
    /// The layer where `rel`'s attributes may be changed: the lower
    /// directory, or in write-back the spool (copied up first, a file as
    /// a placeholder where it is migrated).
    pub(super) fn writable(&self, rel: &str) -> FsResult<Layer> {
        if self.opts.mode != Mode::WriteBack {
            return Ok(Layer::Lower);
        }
        if self.find(rel)?.layer == Layer::Lower {
            self.copy_up(rel, true)?;
        }
        Ok(Layer::Upper)
    }
}

impl Stat {
    /// Whether it is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }
}

/// [`SYNC_STATE_XATTR`] is the overlay's to set: `verb`ing it is refused.
fn refuse_sync_state(name: &str, verb: &str, rel: &str) -> FsResult<()> {
    if name != SYNC_STATE_XATTR {
        return Ok(());
    }
    Err(FsError::NotPermitted {
        what: format!("{verb} {name} of {rel}"),
        why: "the overlay sets it as the file migrates",
    })
}

/// `stat` of the entry `f` as inode `ino`: a placeholder in the spool
/// (sparse, no blocks) counts the blocks its bytes take.
fn stat_of(ino: Ino, f: &Found) -> Stat {
    let mut s = Stat::of(ino, &f.meta);
    if f.layer == Layer::Upper && s.is_file() && s.blocks == 0 && s.size > 0 {
        s.blocks = s.size.div_ceil(512);
    }
    s
}

/// Maps a lower-directory failure at `rel` to its error (and errno).
pub(super) fn lower_err(rel: &str) -> impl FnOnce(std::io::Error) -> FsError + '_ {
    move |source| FsError::Lower {
        path: if rel.is_empty() {
            ".".into()
        } else {
            rel.into()
        },
        source,
    }
}
