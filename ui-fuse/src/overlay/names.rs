//! Names through the overlay: creating, linking, renaming and deleting
//! apply to the lower directory and, for what is migrated, to the store
//! in the same step — store first, so a store that refuses leaves both
//! layers as they were (EIO). Renames work across both layers and within
//! the lower directory's filesystem, never EXDEV. Each change holds its
//! paths against migrations ([`super::migrate::Migrator::hold`]), so an
//! upload never records a file at a place it has left.

use std::os::unix::fs::DirBuilderExt;
use std::time::SystemTime;

use crate::fs::{FsError, FsResult, Ino, RENAME_EXCHANGE};

use super::ofs::{Mode, Overlay, Stat, lower_err};

impl Overlay {
    /// `mkdir`.
    pub fn mkdir(&self, parent: Ino, name: &str, mode: u32, who: (u32, u32)) -> FsResult<Stat> {
        let rel = self.child(parent, name)?;
        std::fs::DirBuilder::new()
            .mode(mode & 0o7777)
            .create(self.lower.path(&rel))
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
        std::os::unix::fs::symlink(to, self.lower.path(&rel)).map_err(lower_err(&rel))?;
        self.own(&rel, who)?;
        self.stat_at(&rel, true)
    }

    /// `link`: a second name for the lower file (one inode in the mount);
    /// the new name becomes a document of its own when migrated.
    pub fn link(&self, ino: Ino, parent: Ino, name: &str) -> FsResult<Stat> {
        let (from, to) = (self.rel(ino)?, self.child(parent, name)?);
        std::fs::hard_link(self.lower.path(&from), self.lower.path(&to)).map_err(lower_err(&to))?;
        self.queue.push(&to);
        self.stat_at(&to, true)
    }

    /// `unlink`: the document goes from the store, the file from the lower
    /// directory.
    pub fn unlink(&self, parent: Ino, name: &str) -> FsResult<()> {
        let rel = self.child(parent, name)?;
        let _held = self.migrator.hold(&[&rel]);
        self.lower.stat(&rel).map_err(lower_err(&rel))?;
        self.migrator
            .store_remove(&rel)
            .map_err(|e| store_refused(&rel, e))?;
        std::fs::remove_file(self.lower.path(&rel)).map_err(lower_err(&rel))?;
        self.journal().removed(&rel)?;
        Ok(())
    }

    /// `rmdir`.
    pub fn rmdir(&self, parent: Ino, name: &str) -> FsResult<()> {
        let rel = self.child(parent, name)?;
        std::fs::remove_dir(self.lower.path(&rel)).map_err(lower_err(&rel))
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
        self.lower.stat(&src).map_err(lower_err(&src))?;
        self.migrator
            .store_rename(&src, &dst)
            .map_err(|e| store_refused(&src, e))?;
        if let Err(e) = renameat2(&self.lower.path(&src), &self.lower.path(&dst), flags) {
            // Put the store back where the lower directory still is.
            if let Err(back) = self.migrator.store_rename(&dst, &src) {
                tracing::error!("moving {dst} back to {src} in the store: {back}");
            }
            return Err(lower_err(&src)(e));
        }
        self.journal().renamed(&src, &dst)?;
        self.nodes.renamed(&src, &dst);
        Ok(())
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
        if let Some(m) = mode {
            self.lower.chmod(&rel, m).map_err(lower_err(&rel))?;
        }
        if uid.is_some() || gid.is_some() {
            self.lower.chown(&rel, uid, gid).map_err(lower_err(&rel))?;
        }
        if let Some(len) = size {
            self.truncate(&rel, len, fh)?;
        }
        if atime.is_some() || mtime.is_some() {
            self.lower
                .set_times(&rel, atime, mtime)
                .map_err(lower_err(&rel))?;
        }
        self.getattr(ino)
    }

    fn truncate(&self, rel: &str, len: u64, fh: Option<u64>) -> FsResult<()> {
        let through_handle = fh.and_then(|fh| self.with_lower_file(fh, |f| f.set_len(len)));
        match through_handle {
            Some(r) => r.map_err(lower_err(rel))?,
            None => std::fs::OpenOptions::new()
                .write(true)
                .open(self.lower.path(rel))
                .and_then(|f| f.set_len(len))
                .map_err(lower_err(rel))?,
        }
        self.journal().dirty(rel)?;
        match (fh, self.opts.mode) {
            (Some(fh), _) => self.mark_written(fh),
            (None, Mode::WriteThrough) => {
                self.migrator
                    .migrate(rel)
                    .map_err(|e| FsError::NotMigrated {
                        what: rel.into(),
                        why: e.to_string(),
                    })?;
            }
            (None, Mode::ReadThrough) => self.queue.push(rel),
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
