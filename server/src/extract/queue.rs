//! The extraction queue: the `extraction` table of the index, one row per
//! live document with content.
//!
//! Applying a changeset writes the row in the same transaction as the
//! document (`pending` for content worth reading, `done` otherwise), so a
//! committed document is always either extracted or queued, across crashes
//! and restarts; a reindex queues every document again. A row then moves:
//!
//! ```text
//! pending ──extracted──▶ indexing ──full-text commit──▶ done
//!    │  └──store unreadable──▶ pending (attempts+1, backoff) ─5th──▶ failed
//!    └──parser error, timeout, crash, limit──▶ failed (with the reason)
//! ```
//!
//! `indexing` means the text is in `bodies` but tantivy may not have
//! committed it yet; start-up indexes such rows again.

use docgrid_core::api::{ExtractionFailure, ExtractionStats};
use docgrid_core::model::Manifest;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Extracted;

/// Attempts of a transient failure (content unreadable) before the
/// document is marked failed.
pub const MAX_ATTEMPTS: u32 = 5;

/// One document's content to extract.
#[derive(Debug, Clone)]
pub struct Job {
    /// Its row in `docs`.
    pub key: i64,
    /// Its id, printed.
    pub id: String,
    /// The revision of the content.
    pub rev: u64,
    /// Its name.
    pub name: String,
    /// Its sniffed MIME type.
    pub mime: String,
    /// Its content.
    pub manifest: Manifest,
    /// Transient failures so far.
    pub attempts: u32,
}

/// How one job ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Text and metadata read.
    Extracted(Extracted),
    /// For good: the parser refused it, or it broke a limit.
    Failed(String),
    /// For now: the content could not be read; tried again later.
    Retry(String),
}

/// Up to `limit` pending jobs due at `now` (unix seconds), oldest
/// revision first.
pub fn due(conn: &Connection, now: u64, limit: usize) -> rusqlite::Result<Vec<Job>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.doc, d.id, e.rev, d.name, d.mime, d.manifest, e.attempts
         FROM extraction e JOIN docs d ON d.key = e.doc
         WHERE e.state = 'pending' AND e.not_before <= ?1
         ORDER BY e.rev, e.doc LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now as i64, limit as i64], |r| {
        let manifest: String = r.get(5)?;
        Ok(Job {
            key: r.get(0)?,
            id: r.get(1)?,
            rev: r.get::<_, i64>(2)? as u64,
            name: r.get(3)?,
            mime: r.get(4)?,
            manifest: serde_json::from_str(&manifest).unwrap_or_else(|_| Manifest::empty()),
            attempts: r.get::<_, i64>(6)? as u32,
        })
    })?;
    rows.collect()
}

/// Whether something waits, and when the earliest of it is due (unix s).
pub fn next_due(conn: &Connection) -> rusqlite::Result<Option<u64>> {
    conn.prepare_cached("SELECT MIN(not_before) FROM extraction WHERE state = 'pending'")?
        .query_row([], |r| r.get::<_, Option<i64>>(0))
        .map(|n| n.map(|n| n.max(0) as u64))
}

/// Records how `job` ended, unless the document moved on meanwhile (its
/// content changed, it was deleted, or a reindex rebuilt it): then the
/// newer row stands and `false` is returned.
pub fn record(
    tx: &Transaction<'_>,
    job: &Job,
    outcome: &Outcome,
    now: u64,
) -> rusqlite::Result<bool> {
    let current: Option<i64> = tx
        .prepare_cached(
            "SELECT e.doc FROM extraction e JOIN docs d ON d.key = e.doc
             WHERE e.doc = ?1 AND d.id = ?2 AND e.rev = ?3 AND e.state = 'pending'",
        )?
        .query_row(params![job.key, job.id, job.rev as i64], |r| r.get(0))
        .optional()?;
    if current.is_none() {
        return Ok(false);
    }
    let set = |state: &str, attempts: u32, not_before: u64, reason: Option<&str>| {
        tx.prepare_cached(
            "UPDATE extraction SET state = ?2, attempts = ?3, not_before = ?4, reason = ?5, at = ?6
             WHERE doc = ?1",
        )?
        .execute(params![
            job.key,
            state,
            attempts,
            not_before as i64,
            reason,
            now as i64
        ])
    };
    match outcome {
        Outcome::Extracted(x) => {
            tx.prepare_cached("INSERT OR REPLACE INTO bodies(doc, text) VALUES (?1, ?2)")?
                .execute(params![job.key, x.text.as_deref().unwrap_or("")])?;
            set("indexing", job.attempts, 0, None)?;
        }
        Outcome::Failed(reason) => {
            set("failed", job.attempts, 0, Some(reason))?;
        }
        Outcome::Retry(reason) => {
            let attempts = job.attempts + 1;
            if attempts >= MAX_ATTEMPTS {
                let reason = format!("{reason} (gave up after {attempts} attempts)");
                set("failed", attempts, 0, Some(&reason))?;
            } else {
                set("pending", attempts, now + (1 << attempts), Some(reason))?;
            }
        }
    }
    Ok(true)
}

/// Documents whose text is in `bodies` but perhaps not yet in tantivy.
pub fn indexing(conn: &Connection) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached("SELECT doc FROM extraction WHERE state = 'indexing'")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Puts the `indexing` rows of `docs` back in the queue (their text did
/// not reach tantivy).
pub fn requeue_indexing(tx: &Transaction<'_>, docs: &[i64]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "UPDATE extraction SET state = 'pending' WHERE doc = ?1 AND state = 'indexing'",
    )?;
    for doc in docs {
        stmt.execute([doc])?;
    }
    Ok(())
}

/// Marks every `indexing` row `done`: called once tantivy committed them.
pub fn mark_indexed(conn: &Connection) -> rusqlite::Result<usize> {
    conn.prepare_cached("UPDATE extraction SET state = 'done' WHERE state = 'indexing'")?
        .execute([])
}

/// The queue's length, what is done, what failed and the newest failures.
pub fn stats(conn: &Connection) -> rusqlite::Result<ExtractionStats> {
    let mut out = ExtractionStats::default();
    let mut stmt = conn.prepare_cached("SELECT state, COUNT(*) FROM extraction GROUP BY state")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (state, n) = row?;
        let n = n as u64;
        match state.as_str() {
            "pending" | "indexing" => out.queued += n,
            "done" => out.extracted += n,
            _ => out.failed += n,
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, d.name, e.rev, e.reason FROM extraction e JOIN docs d ON d.key = e.doc
         WHERE e.state = 'failed' ORDER BY e.at DESC, e.rev DESC LIMIT 100",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    for row in rows {
        let (id, name, rev, reason) = row?;
        let Ok(id) = id.parse() else { continue };
        out.failures.push(ExtractionFailure {
            id,
            name,
            rev: rev as u64,
            reason: reason.unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The keys extraction set on document `key` and may change again.
pub fn owned_keys(conn: &Connection, key: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT key FROM extracted_keys WHERE doc = ?1")?;
    let rows = stmt.query_map([key], |r| r.get(0))?;
    rows.collect()
}
