//! Names through the overlay: creating, linking, renaming and deleting
//! apply to the lower directory and, for what is migrated, to the store
//! in the same step — store first, so a store that refuses leaves both
//! layers as they were (EIO). Renames work across both layers and within
//! the lower directory's filesystem, never EXDEV. Each change holds its
//! paths against migrations ([`super::migrate::Migrator::hold`]), so an
//! upload never records a file at a place it has left.

use std::os::unix::fs::DirBuilderExt;
use std::time::SystemTime;

use crate::fs::{FsError, FsResult, Ino, RENAME_EXCHANGE, RENAME_NOREPLACE};

use super::layers::{Found, Layer};

use super::ofs::{Mode, Overlay, Stat, lower_err};

impl Overlay {
    /// `mkdir`.
    pub fn mkdir(&self, parent: Ino, name: &str, mode: u32, who: (u32, u32)) -> FsResult<Stat> {
        let rel = self.child(parent, name)?;
        if self.find(&rel).is_ok() {
            return Err(FsError::Exists(rel));
        }
        std::fs::DirBuilder::new()
            .mode(mode & 0o7777)
            .create(self.new_entry(&rel)?)
            .map_err(lower_err(&rel))?;
        self.own(&rel, who)?;
        self.stat_at(&rel, true)
    }

    /// `symlink`: a symbolic link in the lower directory (links are not
    /// migrated: they stay what they are).
    pub fn symlink(
        &self,
        parent: Ino,
        name: &str,
        to: &std::path::Path,
        who: (u32, u32),
    ) -> FsResult<Stat> {
        let rel = self.child(parent, name)?;
        if self.find(&rel).is_ok() {
            return Err(FsError::Exists(rel));
        }
        std::os::unix::fs::symlink(to, self.new_entry(&rel)?).map_err(lower_err(&rel))?;
        self.own(&rel, who)?;
        self.stat_at(&rel, true)
    }

    /// `link`: a second name for the lower file (one inode in the mount);
    /// the new name becomes a document of its own when migrated.
    pub fn link(&self, ino: Ino, parent: Ino, name: &str) -> FsResult<Stat> {
        let (from, to) = (self.rel(ino)?, self.child(parent, name)?);
        if self.find(&to).is_ok() {
            return Err(FsError::Exists(to));
        }
        let layer = self.writable(&from)?;
        let target = self.new_entry(&to)?;
        std::fs::hard_link(self.layer(layer).path(&from), target).map_err(lower_err(&to))?;
        self.queue.push(&to);
        self.stat_at(&to, true)
    }

    /// `unlink`: the document goes from the store, the file from the lower
    /// directory.
    pub fn unlink(&self, parent: Ino, name: &str) -> FsResult<()> {
        let rel = self.child(parent, name)?;
        let _held = self.migrator.hold(&[&rel]);
        let f = self.find(&rel)?;
        self.migrator
            .store_remove(&rel)
            .map_err(|e| store_refused(&rel, e))?;
        if f.layer == Layer::Upper {
            let spooled = self.journal().get(&rel)?.is_some_and(|r| r.spooled);
            std::fs::remove_file(self.path_of(&f, &rel)).map_err(lower_err(&rel))?;
            if spooled {
                self.release_spool(f.meta.len());
            }
        }
        match self.opts.mode {
            Mode::WriteBack => self.white_out(&rel)?,
            _ => std::fs::remove_file(self.lower.path(&rel)).map_err(lower_err(&rel))?,
        }
        self.journal().removed(&rel)?;
        Ok(())
    }

    /// `rmdir` (of a directory the view shows empty).
    pub fn rmdir(&self, parent: Ino, name: &str) -> FsResult<()> {
        let rel = self.child(parent, name)?;
        if self.opts.mode != Mode::WriteBack {
            return std::fs::remove_dir(self.lower.path(&rel)).map_err(lower_err(&rel));
        }
        let f = self.find(&rel)?;
        if !f.meta.is_dir() {
            return Err(FsError::NotDir(rel));
        }
        if !self.entries(&rel)?.is_empty() {
            return Err(FsError::NotEmpty(rel));
        }
        if f.layer == Layer::Upper {
            std::fs::remove_dir(self.path_of(&f, &rel)).map_err(lower_err(&rel))?;
        }
        self.white_out(&rel)
    }

    /// Where a new entry `rel` is made: the lower directory, or in
    /// write-back the spool (its parents copied up first).
    fn new_entry(&self, rel: &str) -> FsResult<std::path::PathBuf> {
        if self.opts.mode != Mode::WriteBack {
            return Ok(self.lower.path(rel));
        }
        self.up_parents(rel)?;
        Ok(self.upper()?.path(rel))
    }

    /// `rename` with `renameat2` flags (`RENAME_NOREPLACE`;
    /// `RENAME_EXCHANGE` is refused: swapping two documents' places is
    /// not one store change).
    pub fn rename(&self, from: (Ino, &str), to: (Ino, &str), flags: u32) -> FsResult<()> {
        if flags & RENAME_EXCHANGE != 0 {
            return Err(FsError::Invalid(
                "RENAME_EXCHANGE is not supported by the overlay".into(),
            ));
        }
        let (src, dst) = (self.child(from.0, from.1)?, self.child(to.0, to.1)?);
        if src == dst {
            return Ok(());
        }
        let _held = self.migrator.hold(&[&src, &dst]);
        let from = self.find(&src)?;
        if self.opts.mode == Mode::WriteBack {
            self.check_replace(&from, &dst, flags)?;
            self.copy_up(&src, true)?;
            self.up_parents(&dst)?;
        }
        self.migrator
            .store_rename(&src, &dst)
            .map_err(|e| store_refused(&src, e))?;
        let layer = self.layer(if self.opts.mode == Mode::WriteBack {
            Layer::Upper
        } else {
            Layer::Lower
        });
        if let Err(e) = renameat2(&layer.path(&src), &layer.path(&dst), flags) {
            // Put the store back where the files still are.
            if let Err(back) = self.migrator.store_unrename(&src, &dst) {
                tracing::error!("moving {dst} back to {src} in the store: {back}");
            }
            return Err(lower_err(&src)(e));
        }
        if self.opts.mode == Mode::WriteBack {
            // The lower entries at both ends stay hidden: the old one is
            // the renamed one, the new one was replaced.
            self.white_out(&src)?;
            self.white_out(&dst)?;
        }
        self.journal().renamed(&src, &dst)?;
        self.nodes.renamed(&src, &dst);
        self.record_unknown(&dst)?;
        Ok(())
    }

    /// A file renamed into `dst` that the journal never saw (not scanned
    /// yet) is recorded lower-only, so that it is not left for the next
    /// scan to find.
    fn record_unknown(&self, dst: &str) -> FsResult<()> {
        if self.opts.mode == Mode::WriteBack || self.journal().get(dst)?.is_some() {
            return Ok(());
        }
        if let Ok(meta) = self.lower.stat(dst)
            && meta.is_file()
        {
            self.journal()
                .observe(dst, super::migrate::seen_of(&meta))?;
        }
        Ok(())
    }

    /// Write-back: what a rename of `from` over `dst` may replace (the
    /// view's rules, since the spool may not have `dst` at all).
    fn check_replace(&self, from: &Found, dst: &str, flags: u32) -> FsResult<()> {
        let Ok(to) = self.find(dst) else {
            return Ok(());
        };
        if flags & RENAME_NOREPLACE != 0 {
            return Err(FsError::Exists(dst.into()));
        }
        match (from.meta.is_dir(), to.meta.is_dir()) {
            (false, true) => Err(FsError::IsDir(dst.into())),
            (true, false) => Err(FsError::NotDir(dst.into())),
            (true, true) if !self.entries(dst)?.is_empty() => Err(FsError::NotEmpty(dst.into())),
            _ => {
                if to.layer == Layer::Lower && to.meta.is_dir() {
                    // An empty lower directory: the spool needs one to
                    // rename over.
                    self.copy_up(dst, true)?;
                }
                Ok(())
            }
        }
    }

    /// `setattr`: mode, owner, size and times of the lower file; a new
    /// size is a write (write-through: stored before it returns unless an
    /// open handle `fh` will store it at its close).
    #[allow(clippy::too_many_arguments)]
    pub fn setattr(
        &self,
        ino: Ino,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<SystemTime>,
        mtime: Option<SystemTime>,
        fh: Option<u64>,
    ) -> FsResult<Stat> {
        let rel = self.rel(ino)?;
        let layer = self.layer(self.writable(&rel)?);
        if let Some(m) = mode {
            layer.chmod(&rel, m).map_err(lower_err(&rel))?;
        }
        if uid.is_some() || gid.is_some() {
            layer.chown(&rel, uid, gid).map_err(lower_err(&rel))?;
        }
        if let Some(len) = size {
            self.truncate(&rel, len, fh)?;
        }
        if atime.is_some() || mtime.is_some() {
            layer
                .set_times(&rel, atime, mtime)
                .map_err(lower_err(&rel))?;
        }
        self.getattr(ino)
    }

    fn truncate(&self, rel: &str, len: u64, fh: Option<u64>) -> FsResult<()> {
        let wb = self.opts.mode == Mode::WriteBack;
        if wb {
            if len > 0 && self.is_placeholder(rel)? {
                self.bring_back(rel)?;
            }
            let now = self.upper()?.stat(rel).map_err(lower_err(rel))?.len();
            if len > now {
                self.reserve(len - now)?;
            }
        }
        let through_handle = fh.and_then(|fh| self.with_lower_file(fh, |f| f.set_len(len)));
        match through_handle {
            Some(r) => r.map_err(lower_err(rel))?,
            None => std::fs::OpenOptions::new()
                .write(true)
                .open(
                    self.layer(if wb { Layer::Upper } else { Layer::Lower })
                        .path(rel),
                )
                .and_then(|f| f.set_len(len))
                .map_err(lower_err(rel))?,
        }
        match (fh, self.opts.mode) {
            (_, Mode::WriteBack) => {
                self.spooled_now(rel)?;
                if let Some(fh) = fh {
                    self.mark_written(fh);
                }
            }
            (Some(fh), _) => {
                self.journal().dirty(rel)?;
                self.mark_written(fh);
            }
            (None, Mode::WriteThrough) => {
                self.journal().dirty(rel)?;
                self.migrator
                    .migrate(rel)
                    .map_err(|e| FsError::NotMigrated {
                        what: rel.into(),
                        why: e.to_string(),
                    })?;
            }
            (None, Mode::ReadThrough) => {
                self.journal().dirty(rel)?;
                self.queue.push(rel);
            }
        }
        Ok(())
    }
}

/// A rename or delete the store refused: nothing was changed.
fn store_refused(rel: &str, e: super::migrate::MigrateError) -> FsError {
    FsError::NotMigrated {
        what: rel.into(),
        why: format!("the store refused the change, so neither layer was changed: {e}"),
    }
}

/// `renameat2(2)` of two absolute paths.
fn renameat2(from: &std::path::Path, to: &std::path::Path, flags: u32) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    let flags = RenameFlags::from_bits_retain(flags);
    Ok(renameat_with(CWD, from, CWD, to, flags)?)
}
