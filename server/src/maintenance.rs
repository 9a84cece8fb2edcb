//! Scrub and repair of the backend, garbage collection, reindex.

use std::collections::HashSet;
use std::time::Duration;

use docgrid_core::api::{GcReport, ScrubSummary};
use docgrid_core::model::Manifest;
use docgrid_core::store::Locator;
use docgrid_core::store::native::ScrubOptions;

use crate::app::App;
use crate::error::ApiError;

/// Scrubs the backend (native: every shard of every chunk), repairing if asked.
pub fn scrub(app: &App, repair: bool) -> Result<ScrubSummary, ApiError> {
    let Some(native) = &app.native else {
        return Err(ApiError::bad_request(format!(
            "scrub is not available for the {} backend yet",
            app.store.kind()
        )));
    };
    let opts = ScrubOptions {
        repair,
        ..ScrubOptions::default()
    };
    let r = native.scrub(&opts)?;
    let problems = (r.missing.len() + r.corrupt.len()) as u64;
    app.note_scrub(if repair {
        problems.saturating_sub(r.repaired)
    } else {
        problems
    });
    Ok(ScrubSummary {
        repair,
        chunks: r.chunks,
        missing: r.missing.len() as u64,
        corrupt: r.corrupt.len() as u64,
        repaired: r.repaired,
        unrecoverable: r.unrecoverable.clone(),
        offline_disks: r.offline_disks.clone(),
        clean: r.is_clean(),
    })
}

/// Deletes chunks that no kept revision references and that were uploaded
/// more than `grace` ago (younger ones may belong to a commit in progress).
pub fn gc(app: &App, grace: Duration) -> Result<GcReport, ApiError> {
    let _serial = app.commit_lock.lock().expect("poisoned");
    let (referenced, candidates) = app.index.read(|c| {
        let mut referenced: HashSet<String> = HashSet::new();
        for sql in ["SELECT manifest FROM docs", "SELECT manifest FROM history"] {
            let mut stmt = c.prepare(sql)?;
            for m in stmt.query_map([], |r| r.get::<_, String>(0))? {
                if let Ok(m) = serde_json::from_str::<Manifest>(&m?) {
                    referenced.extend(m.chunks.iter().map(|ch| ch.hash.to_hex()));
                }
            }
        }
        let cutoff = crate::unix_now().saturating_sub(grace.as_secs()) as i64;
        let mut stmt = c.prepare("SELECT hash, locator, len FROM chunks WHERE added <= ?1")?;
        let candidates: Vec<(String, String, u64)> = stmt
            .query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok((referenced, candidates))
    })?;
    let blobs = app.store.list()?.len() as u64;
    let mut report = GcReport {
        blobs,
        deleted: 0,
        bytes_freed: 0,
    };
    for (hash, loc, len) in candidates
        .into_iter()
        .filter(|(h, _, _)| !referenced.contains(h))
    {
        // Row first: a crash in between leaves an unreferenced blob (the
        // next GC misses it, harmlessly), never a row naming a deleted blob.
        app.index
            .write(|tx| tx.execute("DELETE FROM chunks WHERE hash = ?1", [&hash]))?;
        app.store.delete(&Locator::new(loc))?;
        report.deleted += 1;
        report.bytes_freed += len;
    }
    Ok(report)
}

/// Rebuilds SQLite and tantivy from the journal; returns the changesets replayed.
pub fn reindex(app: &App) -> Result<usize, ApiError> {
    struct Busy<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Busy<'_> {
        fn drop(&mut self) {
            self.0.store(false, std::sync::atomic::Ordering::SeqCst);
        }
    }
    app.reindexing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let _busy = Busy(&app.reindexing);
    let _serial = app.commit_lock.lock().expect("poisoned");
    app.index.write(|tx| {
        tx.execute_batch(
            "DELETE FROM meta; DELETE FROM history; DELETE FROM bodies; DELETE FROM docs;
             DELETE FROM changesets; DELETE FROM chunks; DELETE FROM tags; DELETE FROM dirs; DELETE FROM state;",
        )
    })?;
    app.fulltext
        .clear()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let n = app
        .catch_up()
        .map_err(|e| ApiError::internal(format!("replaying the journal: {e:#}")))?;
    app.sync_fulltext()
        .map_err(|e| ApiError::internal(format!("full-text index: {e:#}")))?;
    Ok(n)
}
