//! Write-back's two layers. The lower directory is never modified: what
//! is written goes to the **upper** directory in the state directory
//! (`STATE/upper/`, the spool), and the view is the upper directory over
//! the lower one, as in overlayfs:
//!
//! - an entry in the upper directory wins over the lower one of the same
//!   path; directories present in both list the union of both;
//! - a **whiteout** (recorded in the journal) hides the lower entry at its
//!   path and everything below it, so a deleted or renamed lower file
//!   never reappears;
//! - writing a lower file first **copies it up** (its parents as
//!   directories with their modes, owners and times, then its bytes);
//!   renaming one copies it up and whites out its old path (a directory
//!   with its whole subtree), so renames never fail with EXDEV;
//! - a file uploaded to the store leaves the spool: its upper copy is
//!   replaced by a **placeholder** (a sparse file of the same size, mode,
//!   owner and times) and its bytes are read from the store. Writing a
//!   placeholder first brings its bytes back from the store.
//!
//! In read-through and write-through modes there is no upper directory
//! and every path is the lower directory's.

use std::collections::HashSet;
use std::fs::Metadata;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use crate::fs::{FsError, FsResult};

use super::lower::{Lower, join};
use super::migrate::seen_of;
use super::ofs::{Overlay, lower_err};

/// What hides lower paths in write-back: the whiteouts, and the spool's
/// own entries (a path in the spool is the spool's, whatever the lower
/// directory has there). Shared with the migrator, whose scan and
/// background migration leave hidden lower files alone.
#[derive(Debug)]
pub struct Hidden {
    whiteouts: Mutex<HashSet<String>>,
    upper: PathBuf,
}

impl Hidden {
    /// The whiteouts `w` over the spool at `upper`.
    pub fn new(w: impl IntoIterator<Item = String>, upper: &std::path::Path) -> Hidden {
        Hidden {
            whiteouts: Mutex::new(w.into_iter().collect()),
            upper: upper.to_path_buf(),
        }
    }

    /// Whether a whiteout hides the lower `rel` (at it or an ancestor).
    pub fn whited_out(&self, rel: &str) -> bool {
        let w = self.whiteouts.lock().expect("poisoned");
        if w.is_empty() {
            return false;
        }
        let mut at = rel;
        loop {
            if w.contains(at) {
                return true;
            }
            match at.rsplit_once('/') {
                Some((parent, _)) => at = parent,
                None => return false,
            }
        }
    }

    /// Whether the lower `rel` is not what the view shows there: whited
    /// out, or the spool has an entry of that path.
    pub fn shadows(&self, rel: &str) -> bool {
        self.whited_out(rel) || std::fs::symlink_metadata(self.upper.join(rel)).is_ok()
    }

    fn add(&self, rel: &str) {
        self.whiteouts
            .lock()
            .expect("poisoned")
            .insert(rel.to_string());
    }
}

/// Which layer an entry is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The spool (write-back).
    Upper,
    /// The lower directory.
    Lower,
}

/// An entry of the view.
#[derive(Debug)]
pub struct Found {
    /// Where it is.
    pub layer: Layer,
    /// Its `lstat`.
    pub meta: Metadata,
}

impl Overlay {
    /// The layer `l`.
    pub(super) fn layer(&self, l: Layer) -> &Lower {
        match (l, &self.upper) {
            (Layer::Upper, Some(u)) => u,
            _ => &self.lower,
        }
    }

    /// Where `rel` is in the view.
    pub(super) fn find(&self, rel: &str) -> FsResult<Found> {
        if let Some(up) = &self.upper {
            match up.stat(rel) {
                Ok(meta) => {
                    return Ok(Found {
                        layer: Layer::Upper,
                        meta,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(lower_err(rel)(e)),
            }
            if self.hidden(rel) {
                return Err(lower_err(rel)(io::ErrorKind::NotFound.into()));
            }
        }
        let meta = self.lower.stat(rel).map_err(lower_err(rel))?;
        Ok(Found {
            layer: Layer::Lower,
            meta,
        })
    }

    /// The path of `rel` in the layer it was found in.
    pub(super) fn path_of(&self, f: &Found, rel: &str) -> PathBuf {
        self.layer(f.layer).path(rel)
    }

    /// Whether a whiteout hides the lower `rel` (at it or an ancestor).
    pub(super) fn hidden(&self, rel: &str) -> bool {
        self.hidden.as_ref().is_some_and(|h| h.whited_out(rel))
    }

    /// Hides the lower `rel` from now on, if there is one to hide.
    pub(super) fn white_out(&self, rel: &str) -> FsResult<()> {
        let Some(h) = &self.hidden else {
            return Ok(());
        };
        if h.whited_out(rel) || self.lower.stat(rel).is_err() {
            return Ok(());
        }
        self.journal().whiteout(rel, true)?;
        h.add(rel);
        Ok(())
    }

    /// The entries of directory `rel` in the view: name and `lstat`.
    pub(super) fn entries(&self, rel: &str) -> FsResult<Vec<(String, Metadata)>> {
        let mut out: Vec<(String, Metadata)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let layers: &[Layer] = if self.upper.is_some() {
            &[Layer::Upper, Layer::Lower]
        } else {
            &[Layer::Lower]
        };
        let mut any = false;
        for &l in layers {
            if l == Layer::Lower && self.hidden(rel) {
                continue;
            }
            let read = match std::fs::read_dir(self.layer(l).path(rel)) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::NotFound && self.upper.is_some() => continue,
                Err(e) => return Err(lower_err(rel)(e)),
            };
            any = true;
            for e in read {
                let e = e.map_err(lower_err(rel))?;
                let Some(name) = e.file_name().to_str().map(str::to_string) else {
                    tracing::warn!(
                        "{rel}: skipping a name that is not UTF-8: {:?}",
                        e.file_name()
                    );
                    continue;
                };
                let child = join(rel, &name);
                if l == Layer::Upper && name.starts_with(SPOOL_TEMP) {
                    continue;
                }
                if l == Layer::Lower && (seen.contains(&name) || self.hidden(&child)) {
                    continue;
                }
                // Gone since it was listed: not shown.
                let Ok(meta) = e.metadata() else { continue };
                seen.insert(name.clone());
                out.push((name, meta));
            }
        }
        if !any {
            return Err(lower_err(rel)(io::ErrorKind::NotFound.into()));
        }
        Ok(out)
    }

    /// Makes sure the upper directory has `rel`'s parent directories,
    /// copied from the lower ones (mode, owner, times) where they exist.
    pub(super) fn up_parents(&self, rel: &str) -> FsResult<()> {
        let Some((parent, _)) = rel.rsplit_once('/') else {
            return Ok(());
        };
        let up = self.upper()?;
        let mut at = String::new();
        for part in parent.split('/') {
            at = join(&at, part);
            if up.stat(&at).is_ok() {
                continue;
            }
            let f = self.find(&at)?;
            quietly(up, &at, || {
                std::fs::DirBuilder::new()
                    .mode(f.meta.mode() & 0o7777)
                    .create(up.path(&at))
                    .or_else(|e| match e.kind() {
                        io::ErrorKind::AlreadyExists => Ok(()),
                        _ => Err(e),
                    })
                    .map_err(lower_err(&at))
            })?;
            copy_attrs(up, &at, &f.meta)?;
        }
        Ok(())
    }

    /// Copies the lower `rel` up (a file with its bytes, or as a
    /// placeholder when `placeholder_ok` and it is migrated unchanged; a
    /// symbolic link; a directory with everything below it). Nothing to
    /// do when it is in the upper directory already.
    pub(super) fn copy_up(&self, rel: &str, placeholder_ok: bool) -> FsResult<()> {
        let f = self.find(rel)?;
        if f.layer == Layer::Upper {
            return Ok(());
        }
        self.up_parents(rel)?;
        let up = self.upper()?;
        let kind = f.meta.file_type();
        if kind.is_dir() {
            quietly(up, rel, || {
                std::fs::DirBuilder::new()
                    .mode(f.meta.mode() & 0o7777)
                    .create(up.path(rel))
                    .map_err(lower_err(rel))
            })?;
            for (name, _) in self.entries(rel)? {
                self.copy_up(&join(rel, &name), placeholder_ok)?;
            }
        } else if kind.is_symlink() {
            let to = std::fs::read_link(self.lower.path(rel)).map_err(lower_err(rel))?;
            quietly(up, rel, || {
                std::os::unix::fs::symlink(to, up.path(rel)).map_err(lower_err(rel))
            })?;
        } else if placeholder_ok && self.store_copy(rel, seen_of(&f.meta))?.is_some() {
            self.placeholder(rel, &f.meta)?;
        } else {
            self.copy_bytes_up(rel, &f.meta)?;
        }
        copy_attrs(up, rel, &f.meta)
    }

    /// Copies the bytes of the lower file `rel` into the spool (synced),
    /// recording it spooled.
    fn copy_bytes_up(&self, rel: &str, meta: &Metadata) -> FsResult<()> {
        let up = self.upper()?;
        self.reserve(meta.len())?;
        let copied = swap_in(up, rel, |_, tmp| {
            std::fs::copy(self.lower.path(rel), tmp)
                .and_then(|_| std::fs::File::open(tmp)?.sync_all())
                .map_err(lower_err(rel))
        });
        if let Err(e) = copied {
            self.release_spool(meta.len());
            return Err(e);
        }
        self.journal().spooled(rel, seen_of(meta))?;
        Ok(())
    }

    /// Puts a placeholder of `meta`'s size at the upper `rel` (its bytes
    /// are in the store), atomically: readers of what was there keep it.
    pub(super) fn placeholder(&self, rel: &str, meta: &Metadata) -> FsResult<()> {
        let up = self.upper()?;
        swap_in(up, rel, |tmp_rel, tmp| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(meta.mode() & 0o7777)
                .open(tmp)
                .and_then(|f| f.set_len(meta.len()))
                .map_err(lower_err(rel))?;
            copy_attrs(up, tmp_rel, meta)
        })
    }

    /// The upper directory (write-back only).
    pub(super) fn upper(&self) -> FsResult<&Lower> {
        self.upper.as_ref().ok_or_else(|| {
            FsError::Invalid("only a write-back overlay has an upper directory".into())
        })
    }

    /// Takes `n` bytes of the spool's bound: ENOSPC beyond it (nothing
    /// is dropped: the write fails and says so).
    pub(super) fn reserve(&self, n: u64) -> FsResult<()> {
        let limit = self.opts.spool_limit;
        let r = self
            .spool_used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used + n <= limit).then_some(used + n)
            });
        r.map(|_| ())
            .map_err(|used| FsError::SpoolFull { used, limit })
    }

    /// Gives `n` bytes of the spool's bound back.
    pub(super) fn release_spool(&self, n: u64) {
        let _ = self
            .spool_used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                Some(u.saturating_sub(n))
            });
    }
}

/// The prefix of the spool's temporary files (never shown).
pub const SPOOL_TEMP: &str = ".docgrid-spool-";

/// Runs `f`, then gives the spool's directory holding `rel` back the
/// times it had: the spool's own copies, temporary files and swaps are
/// not changes of the view.
pub(super) fn quietly<R>(up: &Lower, rel: &str, f: impl FnOnce() -> FsResult<R>) -> FsResult<R> {
    let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
    let before = up.stat(parent).ok();
    let r = f();
    if let Some(m) = before {
        let _ = up.set_times(parent, m.accessed().ok(), m.modified().ok());
    }
    r
}

/// Replaces the spool's `rel` by the file `fill` writes at a temporary
/// name beside it (given as relative name and path), atomically — readers
/// of what was there keep it — and leaving the directory's times alone;
/// on failure the temporary file goes.
pub(super) fn swap_in(
    up: &Lower,
    rel: &str,
    fill: impl FnOnce(&str, &Path) -> FsResult<()>,
) -> FsResult<()> {
    let (tmp_rel, tmp) = spool_temp(up, rel);
    let r = quietly(up, rel, || {
        fill(&tmp_rel, &tmp)?;
        std::fs::rename(&tmp, up.path(rel)).map_err(lower_err(rel))
    });
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// A temporary name beside the upper `rel`: relative, and its path.
fn spool_temp(up: &Lower, rel: &str) -> (String, PathBuf) {
    let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
    let tmp = join(parent, &format!("{SPOOL_TEMP}{:016x}", rand_u64()));
    let path = up.path(&tmp);
    (tmp, path)
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// Gives the upper `rel` the mode, owner and times of `meta`.
pub(super) fn copy_attrs(up: &Lower, rel: &str, meta: &Metadata) -> FsResult<()> {
    let path = up.path(rel);
    if !meta.file_type().is_symlink() {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(lower_err(rel))?;
    }
    if rustix::process::geteuid().is_root() {
        up.chown(rel, Some(meta.uid()), Some(meta.gid()))
            .map_err(lower_err(rel))?;
    }
    up.set_times(rel, meta.accessed().ok(), meta.modified().ok())
        .map_err(lower_err(rel))
}
