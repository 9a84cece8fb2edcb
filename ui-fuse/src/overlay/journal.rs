//! The overlay's durable per-file state journal: one SQLite database in
//! the state directory (`overlay.sqlite`, WAL, `synchronous=FULL`), the
//! one record of how far each file of the lower directory has moved into
//! the store.
//!
//! A file is **lower-only** when first seen, **migrating** while its
//! upload runs, **migrated** once its document is committed (with the
//! size, mtime and BLAKE3 hash of the bytes uploaded, and the document's
//! id and revision), **dirty** when it changed since (written through the
//! overlay, or behind its back in the lower directory: a size or mtime
//! that differs from the migrated one), and **failed** with the reason
//! and the number of attempts when an upload failed. Whiteouts record the
//! deletes and renames of lower-only files in write-back mode, so the
//! lower copy never reappears.
//!
//! Every change is one transaction: a crash leaves each file in the last
//! state recorded. On open, a file left **migrating** (its upload was cut
//! off before its commit was recorded) goes back to what it was before —
//! lower-only or dirty — and is migrated again; a migrated file is never
//! uploaded again unless it changes.

use std::path::Path;
use std::sync::Mutex;

use docgrid_core::DocId;
use docgrid_core::chunk::Digest;
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};

/// The database's file name in the state directory.
pub const JOURNAL_FILE: &str = "overlay.sqlite";

/// Every migration of the journal's schema, in order. Append only.
const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
CREATE TABLE files (
    path TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    -- what the state is about: the lower file as seen (lower-only,
    -- dirty), or the bytes uploaded (migrating, migrated)
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT,
    doc TEXT,
    rev INTEGER,
    -- the state before `migrating`, restored if the upload is cut off
    before TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX files_state ON files(state);
CREATE TABLE whiteouts (path TEXT PRIMARY KEY);
"#,
    ),
    // When a file last migrated or failed (Unix milliseconds): the rate
    // `status` reports and the backoff of failed files.
    M::up("ALTER TABLE files ADD COLUMN changed_ms INTEGER NOT NULL DEFAULT 0;"),
    // Write-back: 1 while the file's bytes are in the spool (the upper
    // directory in the state directory), 0 once the spool holds only a
    // placeholder and the bytes are in the store alone.
    M::up("ALTER TABLE files ADD COLUMN spooled INTEGER NOT NULL DEFAULT 0;"),
    // When `verify` last found the store's copy equal to the file (Unix
    // milliseconds; older than `changed_ms`: not verified since).
    M::up("ALTER TABLE files ADD COLUMN verified_ms INTEGER NOT NULL DEFAULT 0;"),
];

/// The columns a [`FileRecord`] is read from.
const COLUMNS: &str = "path, state, size, mtime_ns, hash, doc, rev, error, attempts, spooled";

/// A file's place in the migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncState {
    /// Only in the lower directory.
    LowerOnly,
    /// Its upload is under way.
    Migrating,
    /// In the store, as recorded.
    Migrated,
    /// Changed since it was migrated: to be migrated again.
    Dirty,
    /// Its last upload failed.
    Failed,
}

impl SyncState {
    /// The name stored and shown (`user.docgrid.sync_state`, `status`).
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::LowerOnly => "lower-only",
            SyncState::Migrating => "migrating",
            SyncState::Migrated => "migrated",
            SyncState::Dirty => "dirty",
            SyncState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<SyncState, JournalError> {
        Ok(match s {
            "lower-only" => SyncState::LowerOnly,
            "migrating" => SyncState::Migrating,
            "migrated" => SyncState::Migrated,
            "dirty" => SyncState::Dirty,
            "failed" => SyncState::Failed,
            other => return Err(JournalError::Corrupt(format!("unknown state {other:?}"))),
        })
    }
}

/// What a file looks like: its size and modification time (nanoseconds
/// since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
}

/// One file's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Its path relative to the lower directory (`a/b.txt`).
    pub path: String,
    /// Where it is.
    pub state: SyncState,
    /// The file as last seen, or the bytes uploaded (see the module).
    pub seen: Seen,
    /// The BLAKE3 hash of the bytes migrated.
    pub hash: Option<Digest>,
    /// Its document, once migrated.
    pub doc: Option<DocId>,
    /// The document's revision of the last migration.
    pub rev: Option<u64>,
    /// Why the last upload failed.
    pub error: Option<String>,
    /// Uploads failed in a row.
    pub attempts: u32,
    /// Write-back: its bytes are in the spool.
    pub spooled: bool,
}

/// What migrated: the document and the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    /// The bytes uploaded, as seen when the upload began.
    pub seen: Seen,
    /// Their BLAKE3 hash.
    pub hash: Digest,
    /// The document.
    pub doc: DocId,
    /// Its revision.
    pub rev: u64,
}

/// Files and bytes per state, and the failures with their reasons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// (state, files, bytes), every state present.
    pub states: Vec<(SyncState, u64, u64)>,
    /// Failed files: path, reason, attempts.
    pub failures: Vec<(String, String, u32)>,
    /// Whiteouts recorded.
    pub whiteouts: u64,
}

impl Summary {
    /// Files and bytes in `state`.
    pub fn of(&self, state: SyncState) -> (u64, u64) {
        self.states
            .iter()
            .find(|(s, _, _)| *s == state)
            .map_or((0, 0), |(_, f, b)| (*f, *b))
    }
}

/// What went wrong with the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLite refused.
    #[error("overlay state journal: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("overlay state journal: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// A value in it does not parse.
    #[error("overlay state journal is corrupt: {0}")]
    Corrupt(String),
}

/// The journal: a connection that writes, and one that only reads, so
/// that the mount's lookups never wait behind a transaction's sync (WAL
/// lets readers run beside the writer).
pub struct Journal {
    conn: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl Journal {
    /// Opens (or creates) the journal in `state_dir`, and puts back every
    /// file an interrupted upload left migrating.
    pub fn open(state_dir: &Path) -> Result<Journal, JournalError> {
        let mut conn = Connection::open(state_dir.join(JOURNAL_FILE))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Migrations::from_slice(MIGRATIONS).to_latest(&mut conn)?;
        conn.execute(
            "UPDATE files SET state = COALESCE(before, 'lower-only'), before = NULL
             WHERE state = 'migrating'",
            [],
        )?;
        Journal::with_reader(state_dir, conn)
    }

    /// The journal writing through `conn`, reading through a connection
    /// of its own.
    fn with_reader(state_dir: &Path, conn: Connection) -> Result<Journal, JournalError> {
        let reader = Connection::open_with_flags(
            state_dir.join(JOURNAL_FILE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(Journal {
            conn: Mutex::new(conn),
            reader: Mutex::new(reader),
        })
    }

    /// Opens the journal in `state_dir` beside a running overlay (what
    /// `verify` and `finish` do): uploads under way are left as they are.
    pub fn open_shared(state_dir: &Path) -> Result<Journal, JournalError> {
        let mut conn = Connection::open(state_dir.join(JOURNAL_FILE))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Migrations::from_slice(MIGRATIONS).to_latest(&mut conn)?;
        Journal::with_reader(state_dir, conn)
    }

    /// Opens the journal in `state_dir` to read it only (what `overlay
    /// status` does beside a running overlay: nothing is changed).
    pub fn open_read_only(state_dir: &Path) -> Result<Journal, JournalError> {
        let path = state_dir.join(JOURNAL_FILE);
        if !path.exists() {
            return Err(JournalError::Corrupt(format!(
                "{} does not exist: no overlay has used this state directory",
                path.display()
            )));
        }
        let open = || -> Result<Connection, JournalError> {
            let c = Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            c.busy_timeout(std::time::Duration::from_secs(10))?;
            Ok(c)
        };
        Ok(Journal {
            conn: Mutex::new(open()?),
            reader: Mutex::new(open()?),
        })
    }

    fn read<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, JournalError>,
    ) -> Result<R, JournalError> {
        f(&self.reader.lock().expect("poisoned"))
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, JournalError>,
    ) -> Result<R, JournalError> {
        f(&self.conn.lock().expect("poisoned"))
    }

    /// Records that `path` looks like `seen` in the lower directory: a new
    /// file is lower-only; a migrated one whose size or mtime differ from
    /// what was migrated changed behind the overlay's back and is dirty.
    /// Returns its state now.
    pub fn observe(&self, path: &str, seen: Seen) -> Result<SyncState, JournalError> {
        self.with(|c| {
            observe_in(c, path, seen)?;
            state_of(c, path)?.ok_or_else(|| JournalError::Corrupt(format!("{path} vanished")))
        })
    }

    /// [`Journal::observe`] of many files in one transaction (a scan);
    /// returns how many of them are dirty now.
    pub fn observe_all(&self, files: &[(String, Seen)]) -> Result<u64, JournalError> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let mut dirty = 0;
            for (path, seen) in files {
                observe_in(&tx, path, *seen)?;
                if state_of(&tx, path)? == Some(SyncState::Dirty) {
                    dirty += 1;
                }
            }
            tx.commit()?;
            Ok(dirty)
        })
    }

    /// Starts migrating `path` as it is seen now, from the spool if
    /// `spooled` (write-back) else from the lower directory: a lower-only,
    /// dirty or failed file becomes migrating (true); a file already
    /// migrating or migrated is left alone, and so is one whose bytes
    /// moved between the layers since it was looked at (a lower file
    /// copied up into the spool by a writer meanwhile) (false).
    pub fn begin(&self, path: &str, seen: Seen, spooled: bool) -> Result<bool, JournalError> {
        self.with(|c| begin_in(c, path, seen, spooled))
    }

    /// [`Journal::begin`] of many files in one transaction.
    pub fn begin_all(&self, files: &[(String, Seen, bool)]) -> Result<Vec<bool>, JournalError> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let began = files
                .iter()
                .map(|(p, s, spooled)| begin_in(&tx, p, *s, *spooled))
                .collect::<Result<Vec<bool>, _>>()?;
            tx.commit()?;
            Ok(began)
        })
    }

    /// Records `path` migrated as `m` — unless it changed while it was
    /// uploaded (it was marked dirty meanwhile): then it stays dirty, with
    /// the document recorded, and is migrated again. Returns its state.
    pub fn migrated(&self, path: &str, m: &Migrated) -> Result<SyncState, JournalError> {
        self.with(|c| migrated_in(c, path, m))
    }

    /// [`Journal::migrated`] of many files in one transaction.
    pub fn migrated_all(
        &self,
        files: &[(String, Migrated)],
    ) -> Result<Vec<SyncState>, JournalError> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let states = files
                .iter()
                .map(|(p, m)| migrated_in(&tx, p, m))
                .collect::<Result<Vec<_>, _>>()?;
            tx.commit()?;
            Ok(states)
        })
    }

    /// Records that the upload of `path` failed with `reason` (counted:
    /// the caller backs off by [`FileRecord::attempts`]).
    pub fn failed(&self, path: &str, reason: &str) -> Result<(), JournalError> {
        self.with(|c| {
            c.execute(
                "UPDATE files SET state = 'failed', before = NULL, error = ?2,
                   attempts = attempts + 1, changed_ms = ?3
                 WHERE path = ?1",
                params![path, reason, now_ms()],
            )?;
            Ok(())
        })
    }

    /// Records that `path` was written through the overlay: migrated or
    /// migrating, it is dirty now (a migration under way will not mark it
    /// migrated).
    pub fn dirty(&self, path: &str) -> Result<(), JournalError> {
        self.with(|c| {
            c.execute(
                "UPDATE files SET state = 'dirty', before = NULL
                 WHERE path = ?1 AND state IN ('migrated', 'migrating')",
                params![path],
            )?;
            Ok(())
        })
    }

    /// Moves the record of `from` (and of everything below it, for a
    /// directory) to `to`, replacing what `to` had.
    pub fn renamed(&self, from: &str, to: &str) -> Result<(), JournalError> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let below = |p: &str| format!("{}/", p.trim_end_matches('/'));
            tx.execute(
                "DELETE FROM files WHERE path = ?1 OR substr(path, 1, length(?2)) = ?2",
                params![to, below(to)],
            )?;
            tx.execute(
                "UPDATE files SET path = ?2 || substr(path, length(?1) + 1)
                 WHERE path = ?1 OR substr(path, 1, length(?3)) = ?3",
                params![from, to, below(from)],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Forgets `path` (deleted through the overlay).
    pub fn removed(&self, path: &str) -> Result<(), JournalError> {
        self.with(|c| {
            c.execute("DELETE FROM files WHERE path = ?1", params![path])?;
            Ok(())
        })
    }

    /// Records a whiteout at `path` (write-back: the lower file there is
    /// gone for the overlay), or, with `false`, takes it away (a file was
    /// created there).
    pub fn whiteout(&self, path: &str, on: bool) -> Result<(), JournalError> {
        self.with(|c| {
            if on {
                c.execute(
                    "INSERT OR IGNORE INTO whiteouts (path) VALUES (?1)",
                    params![path],
                )?;
            } else {
                c.execute("DELETE FROM whiteouts WHERE path = ?1", params![path])?;
            }
            Ok(())
        })
    }

    /// Every whiteout.
    pub fn whiteouts(&self) -> Result<Vec<String>, JournalError> {
        self.read(|c| {
            let mut q = c.prepare("SELECT path FROM whiteouts")?;
            let rows = q.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<String>, _>>()?)
        })
    }

    /// Whether `path` is whited out.
    pub fn is_whiteout(&self, path: &str) -> Result<bool, JournalError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT 1 FROM whiteouts WHERE path = ?1",
                params![path],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })
    }

    /// The record of `path`.
    pub fn get(&self, path: &str) -> Result<Option<FileRecord>, JournalError> {
        // Every open asks: `records` parses the statement once.
        self.read(|c| Ok(records(c, "WHERE path = ?1", params![path])?.pop()))
    }

    /// Up to `limit` files in `state`, in path order.
    pub fn in_state(&self, state: SyncState, limit: u64) -> Result<Vec<FileRecord>, JournalError> {
        self.read(|c| {
            records(
                c,
                "WHERE state = ?1 ORDER BY path LIMIT ?2",
                params![state.as_str(), limit as i64],
            )
        })
    }

    /// Up to `limit` failed files whose backoff is over: a file that
    /// failed `n` times waits 2^n seconds (at most an hour) after its last
    /// attempt.
    pub fn due_failed(&self, limit: u64) -> Result<Vec<FileRecord>, JournalError> {
        self.read(|c| {
            records(
                c,
                "WHERE state = 'failed'
                   AND changed_ms + 1000 * MIN(3600, 1 << MIN(attempts, 12)) <= ?1
                 ORDER BY changed_ms LIMIT ?2",
                params![now_ms(), limit as i64],
            )
        })
    }

    /// The records of `path` and of everything below it (a directory).
    pub fn under(&self, path: &str) -> Result<Vec<FileRecord>, JournalError> {
        self.read(|c| {
            let below = format!("{}/", path.trim_end_matches('/'));
            records(
                c,
                "WHERE path = ?1 OR substr(path, 1, length(?2)) = ?2 ORDER BY path",
                params![path, below],
            )
        })
    }

    /// Bytes migrated in the last `window` (for the rate `status` shows).
    pub fn migrated_since(&self, window: std::time::Duration) -> Result<u64, JournalError> {
        self.read(|c| {
            let since = now_ms() - window.as_millis() as i64;
            let b: Option<i64> = c.query_row(
                "SELECT SUM(size) FROM files WHERE state = 'migrated' AND changed_ms >= ?1",
                params![since],
                |r| r.get(0),
            )?;
            Ok(b.unwrap_or(0) as u64)
        })
    }

    /// Write-back: `path`'s bytes, as `seen`, are in the spool and are to
    /// be uploaded (it is dirty; an upload under way will not mark it
    /// migrated).
    pub fn spooled(&self, path: &str, seen: Seen) -> Result<(), JournalError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO files (path, state, size, mtime_ns, spooled)
                 VALUES (?1, 'dirty', ?2, ?3, 1)
                 ON CONFLICT(path) DO UPDATE SET state = 'dirty', size = ?2, mtime_ns = ?3,
                   spooled = 1, before = NULL",
                params![path, seen.size as i64, seen.mtime_ns],
            )?;
            Ok(())
        })
    }

    /// Write-back: the spool keeps only a placeholder of `path` now (it
    /// is migrated; its bytes are in the store).
    pub fn unspooled(&self, path: &str) -> Result<(), JournalError> {
        self.with(|c| {
            c.execute(
                "UPDATE files SET spooled = 0 WHERE path = ?1 AND state = 'migrated'",
                params![path],
            )?;
            Ok(())
        })
    }

    /// Bytes the spool holds (files whose bytes are there).
    pub fn spool_bytes(&self) -> Result<u64, JournalError> {
        self.read(|c| {
            let b: Option<i64> =
                c.query_row("SELECT SUM(size) FROM files WHERE spooled = 1", [], |r| {
                    r.get(0)
                })?;
            Ok(b.unwrap_or(0) as u64)
        })
    }

    /// Up to `limit` spooled files: to upload (`migrated` false: dirty
    /// or lower-only), or uploaded and ready to leave the spool (true).
    pub fn in_spool(&self, migrated: bool, limit: u64) -> Result<Vec<FileRecord>, JournalError> {
        self.read(|c| {
            let states = if migrated {
                "('migrated')"
            } else {
                "('dirty', 'lower-only')"
            };
            records(
                c,
                &format!(
                    "WHERE spooled = 1 AND state IN {states} ORDER BY changed_ms, path LIMIT ?1"
                ),
                params![limit as i64],
            )
        })
    }

    /// Records what `verify` found of the migrated `path`: equal (verified
    /// now), or different (dirty: migrated again).
    pub fn verified(&self, path: &str, equal: bool) -> Result<(), JournalError> {
        self.with(|c| {
            if equal {
                c.execute(
                    "UPDATE files SET verified_ms = ?2 WHERE path = ?1 AND state = 'migrated'",
                    params![path, now_ms()],
                )?;
            } else {
                c.execute(
                    "UPDATE files SET state = 'dirty', verified_ms = 0
                     WHERE path = ?1 AND state = 'migrated'",
                    params![path],
                )?;
            }
            Ok(())
        })
    }

    /// Migrated files not verified since they last migrated (up to
    /// `limit`), and how many there are.
    pub fn unverified(&self, limit: u64) -> Result<(Vec<String>, u64), JournalError> {
        self.read(|c| {
            let cond = "state = 'migrated' AND verified_ms < changed_ms";
            let n: i64 = c.query_row(
                &format!("SELECT COUNT(*) FROM files WHERE {cond}"),
                [],
                |r| r.get(0),
            )?;
            let mut q = c.prepare(&format!(
                "SELECT path FROM files WHERE {cond} ORDER BY path LIMIT ?1"
            ))?;
            let rows = q.query_map(params![limit as i64], |r| r.get(0))?;
            Ok((rows.collect::<Result<Vec<String>, _>>()?, n as u64))
        })
    }

    /// Files and bytes per state, failures and whiteouts.
    pub fn summary(&self) -> Result<Summary, JournalError> {
        self.read(|c| {
            let mut q = c.prepare(
                "SELECT state, COUNT(*), SUM(size) FROM files GROUP BY state ORDER BY state",
            )?;
            let states = q
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?
                .map(|r| {
                    let (s, n, b) = r?;
                    Ok((SyncState::parse(&s)?, n as u64, b as u64))
                })
                .collect::<Result<Vec<_>, JournalError>>()?;
            let mut q = c.prepare(
                "SELECT path, COALESCE(error, ''), attempts FROM files
                 WHERE state = 'failed' ORDER BY path",
            )?;
            let failures = q
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u32))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let whiteouts: i64 = c.query_row("SELECT COUNT(*) FROM whiteouts", [], |r| r.get(0))?;
            Ok(Summary {
                states,
                failures,
                whiteouts: whiteouts as u64,
            })
        })
    }
}

/// What [`Journal::begin`] does, in `c`.
fn begin_in(c: &Connection, path: &str, seen: Seen, spooled: bool) -> Result<bool, JournalError> {
    let n = c.execute(
        "INSERT INTO files (path, state, size, mtime_ns, before)
         VALUES (?1, 'migrating', ?2, ?3, 'lower-only')
         ON CONFLICT(path) DO UPDATE SET
           before = CASE WHEN state = 'failed' THEN 'dirty' ELSE state END,
           state = 'migrating', size = ?2, mtime_ns = ?3
         WHERE state IN ('lower-only', 'dirty', 'failed') AND spooled = ?4",
        params![path, seen.size as i64, seen.mtime_ns, spooled],
    )?;
    Ok(n == 1)
}

/// What [`Journal::migrated`] does, in `c`.
fn migrated_in(c: &Connection, path: &str, m: &Migrated) -> Result<SyncState, JournalError> {
    c.execute(
        "UPDATE files SET
           state = CASE WHEN state = 'migrating' THEN 'migrated' ELSE state END,
           size = CASE WHEN state = 'migrating' THEN ?2 ELSE size END,
           mtime_ns = CASE WHEN state = 'migrating' THEN ?3 ELSE mtime_ns END,
           hash = ?4, doc = ?5, rev = ?6, before = NULL, error = NULL, attempts = 0,
           changed_ms = ?7
         WHERE path = ?1",
        params![
            path,
            m.seen.size as i64,
            m.seen.mtime_ns,
            m.hash.to_hex(),
            m.doc.to_string(),
            m.rev as i64,
            now_ms()
        ],
    )?;
    state_of(c, path)?.ok_or_else(|| JournalError::Corrupt(format!("{path} vanished")))
}

/// What [`Journal::observe`] does, in `c`.
fn observe_in(c: &Connection, path: &str, seen: Seen) -> Result<(), JournalError> {
    c.execute(
        "INSERT INTO files (path, state, size, mtime_ns) VALUES (?1, 'lower-only', ?2, ?3)
         ON CONFLICT(path) DO UPDATE SET
           state = CASE WHEN state = 'migrated' AND (size != ?2 OR mtime_ns != ?3)
                        THEN 'dirty' ELSE state END,
           size = CASE WHEN state IN ('lower-only', 'dirty', 'failed') THEN ?2 ELSE size END,
           mtime_ns = CASE WHEN state IN ('lower-only', 'dirty', 'failed')
                           THEN ?3 ELSE mtime_ns END",
        params![path, seen.size as i64, seen.mtime_ns],
    )?;
    Ok(())
}

/// Now, in Unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn state_of(c: &Connection, path: &str) -> Result<Option<SyncState>, JournalError> {
    let s: Option<String> = c
        .query_row(
            "SELECT state FROM files WHERE path = ?1",
            params![path],
            |r| r.get(0),
        )
        .optional()?;
    s.map(|s| SyncState::parse(&s)).transpose()
}

/// The records `rest` (`WHERE …`) selects, the statement parsed once per
/// connection.
fn records(
    c: &Connection,
    rest: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<FileRecord>, JournalError> {
    let mut q = c.prepare_cached(&format!("SELECT {COLUMNS} FROM files {rest}"))?;
    let rows = q.query_map(p, raw_record)?;
    rows.map(|r| record(r?)).collect()
}

/// A row as SQLite has it.
type RawRecord = (
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
    i64,
);

fn raw_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

fn record(raw: RawRecord) -> Result<FileRecord, JournalError> {
    let (path, state, size, mtime_ns, hash, doc, rev, error, attempts, spooled) = raw;
    let corrupt = |what: &str| JournalError::Corrupt(format!("{what} of {path}"));
    Ok(FileRecord {
        state: SyncState::parse(&state)?,
        seen: Seen {
            size: size as u64,
            mtime_ns,
        },
        hash: hash
            .map(|h| h.parse().map_err(|_| corrupt("the hash")))
            .transpose()?,
        doc: doc
            .map(|d| d.parse().map_err(|_| corrupt("the document id")))
            .transpose()?,
        rev: rev.map(|r| r as u64),
        error,
        attempts: attempts as u32,
        spooled: spooled != 0,
        path,
    })
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
