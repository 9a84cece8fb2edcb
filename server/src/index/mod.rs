//! The SQLite index: documents, metadata, history, changesets, chunks,
//! tags and `/files` directories. Derived from the journal: `reindex`
//! rebuilds it from scratch, and at start-up the server replays whatever
//! the journal holds beyond [`Index::applied_rev`].

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

pub mod apply;
pub mod read;
pub mod schema;

/// Reader connections kept open between requests.
const MAX_IDLE_READERS: usize = 4;

/// The index database: one writer connection, a pool of readers (WAL).
pub struct Index {
    path: std::path::PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

/// Why the index could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// SQLite failed.
    #[error("index database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A migration failed.
    #[error("index migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The directory could not be created.
    #[error("creating {path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl Index {
    /// Opens (creating) the index in `dir`.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join("index.sqlite");
        let mut conn = Connection::open(&path)?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn)?;
        Ok(Index {
            path,
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` on a reader connection.
    pub fn read<R>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<R>,
    ) -> rusqlite::Result<R> {
        let conn = self.readers.lock().expect("poisoned").pop();
        let conn = match conn {
            Some(c) => c,
            None => {
                let c = Connection::open(&self.path)?;
                schema::configure(&c)?;
                c
            }
        };
        let result = f(&conn);
        let mut idle = self.readers.lock().expect("poisoned");
        // Keep a few connections for reuse; a burst of readers closes the rest.
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    /// Runs `f` in a write transaction, committed if `f` succeeds.
    pub fn write<R, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut conn = self.writer.lock().expect("poisoned");
        let tx = conn.transaction()?;
        let r = f(&tx)?;
        tx.commit()?;
        Ok(r)
    }

    /// The newest revision applied (0: none).
    pub fn applied_rev(&self) -> rusqlite::Result<u64> {
        self.read(applied_rev)
    }
}

/// The newest revision applied, read in `conn`.
pub fn applied_rev(conn: &Connection) -> rusqlite::Result<u64> {
    let v: Option<String> = conn
        .query_row("SELECT v FROM state WHERE k = 'applied_rev'", [], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Records `rev` as applied.
pub fn set_applied_rev(tx: &Transaction<'_>, rev: u64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO state(k, v) VALUES ('applied_rev', ?1) ON CONFLICT(k) DO UPDATE SET v = ?1",
        params![rev.to_string()],
    )?;
    Ok(())
}

/// Records a chunk just uploaded (before any commit references it); the
/// upload time lets GC spare it for a grace period.
pub fn record_upload(
    tx: &Transaction<'_>,
    hash: &docgrid_core::Digest,
    locator: &docgrid_core::Locator,
    len: u64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO chunks(hash, locator, len, added) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        hash.to_hex(),
        locator.as_str(),
        len,
        crate::unix_now()
    ])?;
    Ok(())
}
