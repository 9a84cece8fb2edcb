//! Migrating many files at once, as the background migration and the
//! upload queue do: the bytes of all of them go up together (small files
//! batched in few requests), one commit makes or updates all their
//! documents, and the journal records each step for all of them in one
//! transaction — the per-file round trips, commits and syncs were what
//! bounded the rate. A batch whose commit fails records every file of it
//! as failed; they are retried one at a time after their backoff.

use std::path::PathBuf;
use std::sync::Arc;

use docgrid_core::DocId;

use super::journal::{Migrated, Seen, SyncState};
use super::migrate::{MigrateError, Migrator, Throttle, mtime_of};

/// A file of a batch: its path, where its bytes are, and how it looked.
struct Item {
    rel: String,
    file: PathBuf,
    seen: Seen,
    /// Whether its bytes are the spool's.
    spooled: bool,
}

impl Migrator {
    /// Migrates the files at `rels` together; returns how many it
    /// migrated. What fails is recorded as the files' failure.
    pub fn migrate_batch(
        &self,
        rels: &[String],
        throttle: Option<&Arc<Throttle>>,
    ) -> Result<u64, MigrateError> {
        let paths: Vec<&str> = rels.iter().map(String::as_str).collect();
        let _held = self.hold(&paths);
        let items = self.begin_batch(rels)?;
        if items.is_empty() {
            return Ok(0);
        }
        if let Some(t) = throttle {
            t.take(items.iter().map(|i| i.seen.size).sum());
        }
        match self.upload_batch(&items) {
            Ok(done) => {
                let states = self.journal.migrated_all(&done)?;
                Ok(states.iter().filter(|s| **s == SyncState::Migrated).count() as u64)
            }
            Err(e) => {
                for i in &items {
                    self.journal.failed(&i.rel, &e.to_string())?;
                }
                Err(e)
            }
        }
    }

    /// Stats every file, records them migrating; those to upload.
    fn begin_batch(&self, rels: &[String]) -> Result<Vec<Item>, MigrateError> {
        let mut items = Vec::new();
        for rel in rels {
            match self.source(rel) {
                Ok(Some((file, seen, spooled))) => items.push(Item {
                    rel: rel.clone(),
                    file,
                    seen,
                    spooled,
                }),
                Ok(None) => {}
                Err(MigrateError::Journal(e)) => return Err(e.into()),
                Err(e) => self.journal.failed(rel, &e.to_string())?,
            }
        }
        let seen: Vec<(String, Seen, bool)> = items
            .iter()
            .map(|i| (i.rel.clone(), i.seen, i.spooled))
            .collect();
        let began = self.journal.begin_all(&seen)?;
        Ok(items
            .into_iter()
            .zip(began)
            .filter_map(|(i, b)| b.then_some(i))
            .collect())
    }

    /// Uploads the items' bytes and commits their documents; what to
    /// record for each.
    fn upload_batch(&self, items: &[Item]) -> Result<Vec<(String, Migrated)>, MigrateError> {
        let files: Vec<&std::path::Path> = items.iter().map(|i| i.file.as_path()).collect();
        let t0 = std::time::Instant::now();
        let manifests = self.tree.upload_files(&files)?;
        let uploaded = t0.elapsed();
        let mut ops = Vec::new();
        // Each item's document, and its revision when it had the bytes.
        let mut docs: Vec<(DocId, Option<u64>, docgrid_core::chunk::Digest)> = Vec::new();
        for (i, manifest) in items.iter().zip(manifests) {
            let (dir, name) = self.place(&i.rel);
            let hash = manifest.hash;
            let mtime = mtime_of(i.seen);
            match self.doc_of(&i.rel, &dir, &name)? {
                Some(id) => match self.update_ops(id, manifest, mtime)? {
                    Ok(rev) => docs.push((id, Some(rev), hash)),
                    Err(more) => {
                        ops.extend(more);
                        docs.push((id, None, hash));
                    }
                },
                None => {
                    let (id, op) = self.create_op(&dir, &name, manifest, mtime)?;
                    ops.push(op);
                    docs.push((id, None, hash));
                }
            }
        }
        let rev = if ops.is_empty() {
            0
        } else {
            let message = format!("overlay: migrate {} files", items.len());
            self.tree.commit(&message, ops)?
        };
        tracing::debug!(
            "overlay: {} files: uploaded in {uploaded:?}, committed in {:?}",
            items.len(),
            t0.elapsed() - uploaded
        );
        let mut done = Vec::with_capacity(items.len());
        for (i, (doc, had, hash)) in items.iter().zip(docs) {
            // Changed while it was read: what was uploaded is not what the
            // file holds now.
            if self.stat(&i.file, &i.rel).ok() != Some(i.seen) {
                self.journal.dirty(&i.rel)?;
            }
            let m = Migrated {
                seen: i.seen,
                hash,
                doc,
                rev: had.unwrap_or(rev),
            };
            done.push((i.rel.clone(), m));
        }
        Ok(done)
    }
}
