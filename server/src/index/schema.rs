//! The index schema, as data (rusqlite_migration), and per-connection PRAGMAs.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

/// Every migration, in order. Append only.
pub const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
CREATE TABLE state (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE docs (
    key INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    rev INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    purged INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,
    hash TEXT NOT NULL,
    mime TEXT NOT NULL,
    manifest TEXT NOT NULL
);
CREATE INDEX docs_rev ON docs(deleted, rev);
CREATE TABLE meta (
    doc INTEGER NOT NULL REFERENCES docs(key),
    key TEXT NOT NULL,
    pos INTEGER NOT NULL,
    value TEXT NOT NULL,
    num REAL,
    PRIMARY KEY (doc, key, pos)
) WITHOUT ROWID;
CREATE INDEX meta_kv ON meta(key, value, doc);
CREATE INDEX meta_knum ON meta(key, num) WHERE num IS NOT NULL;
CREATE INDEX meta_ktext ON meta(key, value) WHERE num IS NULL;
CREATE TABLE history (
    doc INTEGER NOT NULL REFERENCES docs(key),
    rev INTEGER NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    hash TEXT NOT NULL,
    manifest TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    PRIMARY KEY (doc, rev)
) WITHOUT ROWID;
CREATE TABLE changesets (
    rev INTEGER PRIMARY KEY,
    locator TEXT NOT NULL,
    author TEXT NOT NULL,
    time TEXT NOT NULL,
    message TEXT NOT NULL,
    docs TEXT NOT NULL
);
CREATE TABLE chunks (hash TEXT PRIMARY KEY, locator TEXT NOT NULL, len INTEGER NOT NULL, added INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE tags (tag TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE dirs (path TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE bodies (doc INTEGER PRIMARY KEY REFERENCES docs(key), text TEXT NOT NULL);
"#,
    ),
    // Commits look up content already committed by its hash (verified
    // once, not read back again).
    M::up("CREATE INDEX history_hash ON history(hash);"),
    // Extraction after the commit: one row per live document with content,
    // for the revision of its content (the queue is what is `pending`);
    // and the metadata keys extraction set, which it may change again.
    M::up(
        r#"
CREATE TABLE extraction (
    doc INTEGER PRIMARY KEY REFERENCES docs(key),
    rev INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'indexing', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX extraction_state ON extraction(state, rev);
CREATE TABLE extracted_keys (
    doc INTEGER NOT NULL REFERENCES docs(key),
    key TEXT NOT NULL,
    PRIMARY KEY (doc, key)
) WITHOUT ROWID;
INSERT INTO extraction(doc, rev, state)
    SELECT key, rev, 'done' FROM docs WHERE deleted = 0;
"#,
    ),
    // The revision of a document's last change by anyone but extraction:
    // a write based on any revision from there on is not stale, so
    // extraction's commits never turn a user's edit into a conflict.
    M::up(
        "ALTER TABLE docs ADD COLUMN user_rev INTEGER NOT NULL DEFAULT 0;
         UPDATE docs SET user_rev = rev;",
    ),
];

/// Sets the PRAGMAs every connection needs.
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "cache_size", -65536)?;
    Ok(())
}

/// Brings `conn`'s schema up to date.
pub fn migrate(conn: &mut Connection) -> Result<(), rusqlite_migration::Error> {
    Migrations::from_slice(MIGRATIONS).to_latest(conn)
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        rusqlite_migration::Migrations::from_slice(super::MIGRATIONS)
            .validate()
            .unwrap();
    }
}
