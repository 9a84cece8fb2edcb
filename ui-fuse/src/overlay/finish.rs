//! `overlay verify` and `overlay finish`, and how they reach the lower
//! directory while an overlay covers it.
//!
//! - The mount records where it is in `STATE/overlay.json`: the lower
//!   directory, the daemon's process id and the descriptor it holds the
//!   lower directory by. `verify` and `finish` read the lower directory
//!   through `/proc/PID/fd/N` while the daemon lives (the overlay may be
//!   mounted over the directory itself), else by its path.
//! - `verify` reads every migrated file back from the store and compares
//!   it with its local copy (the lower file, or write-back's spooled
//!   copy; a placeholder, whose bytes are in the store alone, by its
//!   BLAKE3 hash). Equal: recorded verified; different: dirty, migrated
//!   again.
//! - `finish` checks that every file is migrated and verified since, then
//!   makes the state directory stand for the lower directory: every
//!   directory, symbolic link and file of the view is put in the spool
//!   (files as placeholders with their size, mode, owner and times), and
//!   `STATE/finished` is written. From then on the overlay is mounted
//!   over an empty lower directory, in write-back mode: the lower
//!   directory is no longer needed.

use std::io::Read;
use std::path::{Path, PathBuf};

use docgrid_client::tree::Tree;
use serde::{Deserialize, Serialize};

use super::journal::{Journal, SyncState};
use super::lower::join;
use super::ofs::Overlay;

/// Where the mount records itself in the state directory.
pub const INFO_FILE: &str = "overlay.json";
/// Written by `finish`.
pub const FINISHED_FILE: &str = "finished";

/// What the mount records.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Info {
    /// The lower directory, absolute.
    pub lower: PathBuf,
    /// The mount point.
    pub mountpoint: PathBuf,
    /// The daemon.
    pub pid: u32,
    /// Its descriptor of the lower directory.
    pub fd: i32,
    /// The `/files/` folder.
    pub prefix: String,
    /// The lower directory's device and inode, which tell the daemon's
    /// descriptor from whatever has its number now.
    pub dev: u64,
    /// See `dev`.
    pub ino: u64,
}

impl Info {
    /// Records `self` in `state`.
    pub fn write(&self, state: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(state.join(INFO_FILE), json)
    }

    /// What the mount recorded in `state`.
    pub fn read(state: &Path) -> std::io::Result<Info> {
        let json = std::fs::read(state.join(INFO_FILE))?;
        serde_json::from_slice(&json).map_err(std::io::Error::other)
    }

    /// A path that reaches the lower directory now: through the daemon's
    /// descriptor while it lives (the overlay may cover the directory),
    /// else the directory itself.
    pub fn lower_root(&self) -> PathBuf {
        use std::os::unix::fs::MetadataExt;
        let via_daemon = PathBuf::from(format!("/proc/{}/fd/{}/.", self.pid, self.fd));
        let is_lower = std::fs::metadata(&via_daemon)
            .is_ok_and(|m| m.is_dir() && m.dev() == self.dev && m.ino() == self.ino);
        if is_lower {
            via_daemon
        } else {
            self.lower.clone()
        }
    }
}

/// Whether `finish` was run on `state`.
pub fn is_finished(state: &Path) -> bool {
    state.join(FINISHED_FILE).exists()
}

/// What `verify` found.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Verified {
    /// Files compared.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files whose store copy differs (now dirty, to be migrated again).
    pub different: Vec<String>,
    /// Files that could not be read (path, why).
    pub unreadable: Vec<(String, String)>,
}

/// Compares every migrated file's store copy with its local copy.
pub fn verify(tree: &Tree, journal: &Journal, lower: &Path, upper: Option<&Path>) -> Verified {
    let mut out = Verified::default();
    let records = journal
        .in_state(SyncState::Migrated, u64::MAX >> 1)
        .unwrap_or_default();
    for r in records {
        let Some(doc) = r.doc else { continue };
        let local = match upper {
            Some(up) if r.spooled => Some(up.join(&r.path)),
            Some(up) if std::fs::symlink_metadata(up.join(&r.path)).is_ok() => None,
            _ => Some(lower.join(&r.path)),
        };
        match same_bytes(tree, &doc, r.seen.size, local.as_deref(), r.hash) {
            Ok(equal) => {
                out.files += 1;
                out.bytes += r.seen.size;
                if !equal {
                    out.different.push(r.path.clone());
                }
                if let Err(e) = journal.verified(&r.path, equal) {
                    out.unreadable.push((r.path.clone(), e.to_string()));
                }
            }
            Err(why) => out.unreadable.push((r.path.clone(), why)),
        }
    }
    out
}

/// Whether the document's bytes equal `local`'s (or, without a local
/// copy, hash to `hash`).
fn same_bytes(
    tree: &Tree,
    doc: &docgrid_core::DocId,
    size: u64,
    local: Option<&Path>,
    hash: Option<docgrid_core::chunk::Digest>,
) -> Result<bool, String> {
    const STEP: usize = 4 << 20;
    let mut file = match local {
        Some(p) => Some(std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };
    let mut hasher = blake3::Hasher::new();
    let (mut at, mut equal) = (0u64, true);
    loop {
        let stored = tree.read_at(doc, at, STEP).map_err(|e| e.to_string())?;
        if let Some(f) = &mut file {
            let mut mine = vec![0; stored.len()];
            f.read_exact(&mut mine).map_err(|e| e.to_string())?;
            equal &= mine == stored;
        }
        hasher.update(&stored);
        at += stored.len() as u64;
        if stored.len() < STEP {
            break;
        }
    }
    if let Some(f) = &mut file {
        // The local copy must end where the stored one does.
        equal &= f.read(&mut [0u8; 1]).map_err(|e| e.to_string())? == 0;
    }
    equal &= at == size;
    if file.is_none() {
        equal &= hash.is_none_or(|h| h.0 == *hasher.finalize().as_bytes());
    }
    Ok(equal)
}

/// Why `finish` refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotDone {
    /// Files not migrated yet (lower-only, dirty, migrating, failed).
    pub remaining: u64,
    /// Migrated files not verified since.
    pub unverified: u64,
    /// Some of them.
    pub examples: Vec<String>,
}

/// Whether everything is migrated and verified.
pub fn ready(journal: &Journal) -> Result<(), NotDone> {
    let sum = journal.summary().unwrap_or_default();
    let remaining = [
        SyncState::LowerOnly,
        SyncState::Dirty,
        SyncState::Migrating,
        SyncState::Failed,
    ]
    .iter()
    .map(|s| sum.of(*s).0)
    .sum();
    let (examples, unverified) = journal.unverified(5).unwrap_or_default();
    if remaining == 0 && unverified == 0 {
        Ok(())
    } else {
        Err(NotDone {
            remaining,
            unverified,
            examples,
        })
    }
}

impl Overlay {
    /// `finish`'s last step: every entry of the view below `rel` is put
    /// in the spool (files as placeholders: they are all migrated).
    pub fn materialize(&self, rel: &str) -> crate::fs::FsResult<u64> {
        let mut n = 0;
        for (name, meta) in self.entries(rel)? {
            let child = join(rel, &name);
            let f = self.find(&child)?;
            if f.layer == super::layers::Layer::Lower {
                self.copy_up(&child, true)?;
                n += 1;
            } else if meta.is_dir() {
                n += self.materialize(&child)?;
                // Filling it changed its times: they are what they were.
                super::layers::copy_attrs(self.upper()?, &child, &meta)?;
            }
        }
        Ok(n)
    }
}
