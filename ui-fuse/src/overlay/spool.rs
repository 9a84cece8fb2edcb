//! Write-back's spool: files opened for writing are copied up into it
//! (a placeholder first brings its bytes back from the store), every
//! written file is synced there and recorded before `close` or `fsync`
//! returns, and once the worker has uploaded one its bytes leave the
//! spool (a placeholder takes their place) unless a writer has it open.

use std::io::Write;

use crate::fs::{FsError, FsResult};

use super::handles::Source;
use super::journal::SyncState;
use super::layers::{Found, Layer, copy_attrs, swap_in};
use super::migrate::seen_of;
use super::ofs::{Overlay, lower_err};

/// How much of a document is fetched at a time to bring it back.
const FETCH: usize = 4 << 20;

impl Overlay {
    /// Makes the spool hold `rel`'s bytes before it is opened for
    /// writing: copied up from the lower directory, or (a placeholder)
    /// fetched from the store — neither when it is being truncated.
    pub(super) fn spool_for_write(&self, rel: &str, f: &Found, truncated: bool) -> FsResult<()> {
        if f.layer == Layer::Lower {
            self.copy_up(rel, truncated)?;
        }
        if !truncated && self.is_placeholder(rel)? {
            self.bring_back(rel)?;
        }
        Ok(())
    }

    /// Whether the spool's `rel` is a placeholder (bytes in the store).
    pub(super) fn is_placeholder(&self, rel: &str) -> FsResult<bool> {
        Ok(self
            .journal()
            .get(rel)?
            .is_some_and(|r| r.state == SyncState::Migrated && !r.spooled))
    }

    /// Replaces the placeholder `rel` by its bytes from the store.
    pub(super) fn bring_back(&self, rel: &str) -> FsResult<()> {
        let up = self.upper()?;
        let doc = self
            .journal()
            .get(rel)?
            .and_then(|r| r.doc)
            .ok_or_else(|| {
                FsError::Invalid(format!("{rel}: a placeholder without its document"))
            })?;
        let meta = up.stat(rel).map_err(lower_err(rel))?;
        self.reserve(meta.len())?;
        let fetched = swap_in(up, rel, |tmp_rel, tmp| {
            let mut out = std::fs::File::create(tmp).map_err(lower_err(rel))?;
            let mut at = 0u64;
            while at < meta.len() {
                let chunk = self.migrator.tree().read_at(&doc, at, FETCH)?;
                if chunk.is_empty() {
                    break;
                }
                out.write_all(&chunk).map_err(lower_err(rel))?;
                at += chunk.len() as u64;
            }
            out.sync_all().map_err(lower_err(rel))?;
            copy_attrs(up, tmp_rel, &meta)
        });
        if let Err(e) = fetched {
            self.release_spool(meta.len());
            return Err(e);
        }
        self.spooled_now(rel)
    }

    /// Records the spool's `rel` as it is now, to be uploaded.
    pub(super) fn spooled_now(&self, rel: &str) -> FsResult<()> {
        let meta = self.upper()?.stat(rel).map_err(lower_err(rel))?;
        self.journal().spooled(rel, seen_of(&meta))?;
        Ok(())
    }

    /// The worker's last step for an uploaded file: its bytes leave the
    /// spool (a placeholder of the same size and attributes stays),
    /// unless a writer has it open or it changed since. Returns whether
    /// it left.
    pub fn unspool(&self, rel: &str) -> FsResult<bool> {
        // Held: no rename, delete or migration of it meanwhile.
        let _held = self.migrator.hold(&[rel]);
        let up = self.upper()?;
        let Some(r) = self.journal().get(rel)? else {
            return Ok(false);
        };
        if r.state != SyncState::Migrated || !r.spooled {
            return Ok(false);
        }
        // The handle table is held: no writer opens it meanwhile.
        let handles = self.handles.lock().expect("poisoned");
        let open_for_writing = handles.values().any(|h| {
            h.writes
                && matches!(h.source, Source::File(_))
                && self.nodes.rel(h.ino).is_ok_and(|p| p == rel)
        });
        if open_for_writing {
            return Ok(false);
        }
        let meta = up.stat(rel).map_err(lower_err(rel))?;
        if seen_of(&meta) != r.seen {
            return Ok(false);
        }
        // The record first: whoever looks in between reads the store's
        // copy (the same bytes), never the placeholder as content.
        self.journal().unspooled(rel)?;
        if let Err(e) = self.placeholder(rel, &meta) {
            self.journal().spooled(rel, r.seen)?;
            return Err(e);
        }
        drop(handles);
        self.release_spool(meta.len());
        Ok(true)
    }
}
