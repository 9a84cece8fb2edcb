//! The on-disk chunk cache: content-addressed, bounded in size, shared by
//! every docgrid process of the machine (CLI, FUSE daemon, proxy).
//!
//! [`ChunkCache`] keeps chunks as files named by their BLAKE3 [`Digest`] under
//! `DIR/chunks/XX/HEX` and indexes them in SQLite (`DIR/cache.db`: digest,
//! size, last use). When a [`ChunkCache::put`] would take the total past the
//! bound, the least recently used chunks are evicted down to 90% of it, so
//! that not every put evicts.
//!
//! Guarantees:
//! - A reader never sees a partial file: a chunk is written to `DIR/tmp/` and
//!   renamed into place.
//! - [`ChunkCache::get`] returns only bytes that hash to the digest asked for;
//!   a file damaged on disk (nothing is fsynced: it is a cache) is removed and
//!   reported as a miss.
//! - Every change of the index happens in a transaction, and a put's eviction,
//!   its rename and its row form one `IMMEDIATE` transaction. Files are
//!   renamed into place or removed only under the database's write lock, so
//!   the files and the rows of all processes agree, and two processes never
//!   both count the bytes they freed. After a put returns, the index total is
//!   within the bound; on disk, files of other processes' puts may exceed it
//!   only while those puts are in flight (a file is renamed just before its
//!   transaction commits), or after a crash between those two steps (a file
//!   without a row, which a later put of that chunk adopts).
//!
//! ```
//! use docgrid_client::cache::ChunkCache;
//! use docgrid_core::chunk::Digest;
//!
//! let dir = tempfile::tempdir()?;
//! let cache = ChunkCache::open(dir.path(), 1 << 20)?;
//! let chunk = b"some chunk".to_vec();
//! let digest = Digest::of(&chunk);
//! assert_eq!(cache.get(&digest)?, None);
//! cache.put(&digest, &chunk)?;
//! assert_eq!(cache.get(&digest)?, Some(chunk));
//! assert_eq!(cache.stats().hits, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use docgrid_core::chunk::Digest;
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params,
};
use rusqlite_migration::{M, Migrations};

/// The index schema, as data. Append only. Statements are idempotent
/// (`IF NOT EXISTS`) because two processes may create the cache at once.
const MIGRATIONS: &[M<'static>] = &[M::up(
    r#"
CREATE TABLE IF NOT EXISTS chunks (
    hash TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    atime INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_atime ON chunks(atime, hash);
CREATE TABLE IF NOT EXISTS total (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO total (id, bytes) VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS chunks_insert AFTER INSERT ON chunks BEGIN
    UPDATE total SET bytes = bytes + NEW.size;
END;
CREATE TRIGGER IF NOT EXISTS chunks_delete AFTER DELETE ON chunks BEGIN
    UPDATE total SET bytes = bytes - OLD.size;
END;
CREATE TRIGGER IF NOT EXISTS chunks_resize AFTER UPDATE OF size ON chunks BEGIN
    UPDATE total SET bytes = bytes - OLD.size + NEW.size;
END;
"#,
)];

/// How long a process waits for another's write lock on the index.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// A hit records its time only if the recorded one is older than this
/// (microseconds): LRU order is exact to within this, and a chunk read in a
/// loop costs one index write per second, not one per read.
const TOUCH_INTERVAL_US: i64 = 1_000_000;
/// Temporary files older than this are left over by a crashed process.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// Why the chunk cache failed. The cache holds only copies, so deleting its
/// directory is always a safe last resort.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A file or directory of the cache could not be read, written or removed.
    #[error(
        "chunk cache: cannot {action} {}: {source}; check its permissions and the free \
         space, or delete the cache directory (it holds only copies)",
        path.display()
    )]
    Io {
        /// What was being done ("read", "create", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The SQLite index failed.
    #[error(
        "chunk cache index {}: {source}; if this persists, delete the cache directory \
         (it holds only copies)",
        path.display()
    )]
    Index {
        /// The index database.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The index schema could not be brought up to date.
    #[error(
        "chunk cache index {}: cannot update its schema: {source}; it may come from a newer \
         docgrid: delete the cache directory (it holds only copies)",
        path.display()
    )]
    Migration {
        /// The index database.
        path: PathBuf,
        /// Why.
        source: rusqlite_migration::Error,
    },
}

/// What a [`ChunkCache`] did since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// `get` calls that returned the chunk.
    pub hits: u64,
    /// `get` calls that did not (corrupt files included).
    pub misses: u64,
    /// Files whose content did not match their digest, removed.
    pub corrupt: u64,
    /// Chunks this instance evicted to stay within the bound.
    pub evictions: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    corrupt: AtomicU64,
    evictions: AtomicU64,
}

/// A bounded, content-addressed chunk cache in a directory that several
/// processes may open at once. See the [module docs](self) for its guarantees.
///
/// `Send + Sync`: share one instance between threads (in an `Arc`); its
/// index calls are serialized, file reads and hashing are not.
pub struct ChunkCache {
    dir: PathBuf,
    db_path: PathBuf,
    max_bytes: u64,
    conn: Mutex<Connection>,
    counters: Counters,
    touch_interval_us: i64,
}

impl fmt::Debug for ChunkCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkCache")
            .field("dir", &self.dir)
            .field("max_bytes", &self.max_bytes)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl ChunkCache {
    /// Opens (creating) the cache in `dir` with a bound of `max_bytes`.
    ///
    /// If the cache holds more than `max_bytes` (it was used with a larger
    /// bound), the least recently used chunks are evicted now. Temporary
    /// files left by crashed processes are removed.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<ChunkCache, CacheError> {
        for d in [dir.to_path_buf(), dir.join("chunks"), dir.join("tmp")] {
            fs::create_dir_all(&d).map_err(|e| io_err("create directory", &d, e))?;
        }
        let db_path = dir.join("cache.db");
        let conn = open_index(&db_path)?;
        remove_stale_tmp(&dir.join("tmp"));
        let cache = ChunkCache {
            dir: dir.to_path_buf(),
            db_path,
            max_bytes,
            conn: Mutex::new(conn),
            counters: Counters::default(),
            touch_interval_us: TOUCH_INTERVAL_US,
        };
        if cache.used_bytes()? > max_bytes {
            let mut conn = cache.lock();
            let tx = cache.immediate(&mut conn)?;
            cache.evict_for(&tx, 0)?;
            tx.commit().map_err(|e| cache.index_err(e))?;
        }
        Ok(cache)
    }

    /// The chunk's bytes if cached and they hash to `digest`.
    ///
    /// A file whose content does not match (damaged on disk) is removed,
    /// logged and reported as a miss. A chunk indexed but whose file is gone
    /// is a miss too, and its row is dropped. A hit marks the chunk as
    /// recently used.
    pub fn get(&self, digest: &Digest) -> Result<Option<Vec<u8>>, CacheError> {
        let hex = digest.to_hex();
        let path = self.chunk_path(&hex);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.forget_missing(&hex, &path)?;
                bump(&self.counters.misses, 1);
                return Ok(None);
            }
            Err(e) => return Err(io_err("read", &path, e)),
        };
        if Digest::of(&bytes) != *digest {
            tracing::warn!(
                file = %path.display(),
                "cached chunk does not match its digest (damaged on disk); removing it"
            );
            self.drop_corrupt(&hex, &path)?;
            bump(&self.counters.corrupt, 1);
            bump(&self.counters.misses, 1);
            return Ok(None);
        }
        self.touch(&hex)?;
        bump(&self.counters.hits, 1);
        Ok(Some(bytes))
    }

    /// Stores a chunk; `bytes` must hash to `digest`.
    ///
    /// Evicts least-recently-used chunks first so that the total stays within
    /// [`max_bytes`](Self::max_bytes) (down to 90% of it, so that the next
    /// puts need not evict). A chunk larger than the bound is not cached.
    /// The file is always rewritten, so a put also repairs a damaged copy and
    /// adopts a file left without a row by a crash.
    pub fn put(&self, digest: &Digest, bytes: &[u8]) -> Result<(), CacheError> {
        debug_assert_eq!(Digest::of(bytes), *digest, "put: bytes do not match digest");
        let size = bytes.len() as u64;
        if size > self.max_bytes {
            tracing::debug!(%digest, size, max = self.max_bytes, "chunk larger than the cache");
            return Ok(());
        }
        let hex = digest.to_hex();
        let tmp = self.write_tmp(&hex, bytes)?;
        let path = self.chunk_path(&hex);
        let mut conn = self.lock();
        let tx = self.immediate(&mut conn)?;
        let indexed: Option<i64> = tx
            .query_row("SELECT size FROM chunks WHERE hash = ?1", [&hex], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.index_err(e))?;
        let now = now_us();
        let row = if indexed.is_some() {
            "UPDATE chunks SET size = ?2, atime = ?3 WHERE hash = ?1"
        } else {
            self.evict_for(&tx, size)?;
            "INSERT INTO chunks (hash, size, atime) VALUES (?1, ?2, ?3)"
        };
        tx.execute(row, params![hex, size as i64, now])
            .map_err(|e| self.index_err(e))?;
        tmp.persist(&path)?;
        if let Err(e) = tx.commit() {
            // Leave no file without a row behind.
            let _ = fs::remove_file(&path);
            return Err(self.index_err(e));
        }
        Ok(())
    }

    /// Whether the chunk's file is present, without reading it (a `get` may
    /// still miss: the file may be damaged, or evicted meanwhile). Counts
    /// neither as a hit nor as a use.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.chunk_path(&digest.to_hex()).is_file()
    }

    /// Bytes currently cached: the sum of the cached chunks' sizes, per the
    /// index (all processes' puts included).
    pub fn used_bytes(&self) -> Result<u64, CacheError> {
        let conn = self.lock();
        let bytes: i64 = conn
            .query_row("SELECT bytes FROM total WHERE id = 0", [], |r| r.get(0))
            .map_err(|e| self.index_err(e))?;
        Ok(bytes.max(0) as u64)
    }

    /// The bound, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Counters since this instance was opened.
    pub fn stats(&self) -> CacheStats {
        let c = &self.counters;
        CacheStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            corrupt: c.corrupt.load(Ordering::Relaxed),
            evictions: c.evictions.load(Ordering::Relaxed),
        }
    }

    fn chunk_path(&self, hex: &str) -> PathBuf {
        self.dir.join("chunks").join(&hex[..2]).join(hex)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic mid-transaction rolled it back when the guard dropped.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn immediate<'c>(&self, conn: &'c mut Connection) -> Result<Transaction<'c>, CacheError> {
        conn.transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.index_err(e))
    }

    fn index_err(&self, source: rusqlite::Error) -> CacheError {
        CacheError::Index {
            path: self.db_path.clone(),
            source,
        }
    }

    /// Writes `bytes` to a fresh file in `DIR/tmp/`.
    fn write_tmp(&self, hex: &str, bytes: &[u8]) -> Result<TmpFile, CacheError> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        // The time keeps a reused pid from meeting a crashed process's file.
        let name = format!("{hex}.{}.{seq}.{}", std::process::id(), now_us());
        let tmp = TmpFile(Some(self.dir.join("tmp").join(name)));
        let path = tmp.path();
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| io_err("create", path, e))?;
        file.write_all(bytes)
            .map_err(|e| io_err("write", path, e))?;
        Ok(tmp)
    }

    /// Records a hit, at most once per touch interval.
    fn touch(&self, hex: &str) -> Result<(), CacheError> {
        let now = now_us();
        let conn = self.lock();
        let atime: Option<i64> = conn
            .query_row("SELECT atime FROM chunks WHERE hash = ?1", [hex], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.index_err(e))?;
        if let Some(atime) = atime
            && now - atime >= self.touch_interval_us
        {
            conn.execute(
                "UPDATE chunks SET atime = ?2 WHERE hash = ?1 AND atime < ?2",
                params![hex, now],
            )
            .map_err(|e| self.index_err(e))?;
        }
        Ok(())
    }

    /// Drops the row of a chunk whose file is gone, if it is still gone once
    /// the write lock is held (a put may have just renamed it into place).
    fn forget_missing(&self, hex: &str, path: &Path) -> Result<(), CacheError> {
        let mut conn = self.lock();
        let indexed = conn
            .query_row("SELECT 1 FROM chunks WHERE hash = ?1", [hex], |_| Ok(()))
            .optional()
            .map_err(|e| self.index_err(e))?
            .is_some();
        if !indexed {
            return Ok(());
        }
        let tx = self.immediate(&mut conn)?;
        if !path.exists() {
            tx.execute("DELETE FROM chunks WHERE hash = ?1", [hex])
                .map_err(|e| self.index_err(e))?;
        }
        tx.commit().map_err(|e| self.index_err(e))
    }

    /// Removes a damaged file and its row together.
    fn drop_corrupt(&self, hex: &str, path: &Path) -> Result<(), CacheError> {
        let mut conn = self.lock();
        let tx = self.immediate(&mut conn)?;
        remove_if_present(path)?;
        tx.execute("DELETE FROM chunks WHERE hash = ?1", [hex])
            .map_err(|e| self.index_err(e))?;
        tx.commit().map_err(|e| self.index_err(e))
    }

    /// Within `tx` (IMMEDIATE), evicts least-recently-used chunks if the
    /// total plus `incoming` bytes exceeds the bound, down to 90% of it (or
    /// to whatever leaves room for `incoming`, if more).
    fn evict_for(&self, tx: &Transaction<'_>, incoming: u64) -> Result<(), CacheError> {
        let total: i64 = tx
            .query_row("SELECT bytes FROM total WHERE id = 0", [], |r| r.get(0))
            .map_err(|e| self.index_err(e))?;
        let total = total.max(0) as u64;
        if total + incoming <= self.max_bytes {
            return Ok(());
        }
        let goal = (self.max_bytes - self.max_bytes / 10).max(incoming);
        let to_free = total + incoming - goal;
        let victims = self.oldest(tx, to_free)?;
        for (hex, _) in &victims {
            remove_if_present(&self.chunk_path(hex))?;
            tx.execute("DELETE FROM chunks WHERE hash = ?1", [hex])
                .map_err(|e| self.index_err(e))?;
        }
        tracing::debug!(
            chunks = victims.len(),
            to_free,
            "evicted from the chunk cache"
        );
        bump(&self.counters.evictions, victims.len() as u64);
        Ok(())
    }

    /// The least recently used chunks whose sizes add up to `to_free` bytes
    /// (or all of them).
    fn oldest(&self, tx: &Transaction<'_>, to_free: u64) -> Result<Vec<(String, u64)>, CacheError> {
        let mut stmt = tx
            .prepare("SELECT hash, size FROM chunks ORDER BY atime, hash")
            .map_err(|e| self.index_err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.index_err(e))?;
        let mut victims = Vec::new();
        let mut freed = 0u64;
        while freed < to_free {
            let Some(row) = rows.next().map_err(|e| self.index_err(e))? else {
                break;
            };
            let hex: String = row.get(0).map_err(|e| self.index_err(e))?;
            let size: i64 = row.get(1).map_err(|e| self.index_err(e))?;
            freed += size.max(0) as u64;
            victims.push((hex, size.max(0) as u64));
        }
        Ok(victims)
    }
}

/// A file in `DIR/tmp/`, removed on drop unless persisted.
struct TmpFile(Option<PathBuf>);

impl TmpFile {
    fn path(&self) -> &Path {
        self.0.as_deref().expect("not persisted yet")
    }

    /// Renames the file to `dest`, creating its parent directory.
    fn persist(mut self, dest: &Path) -> Result<(), CacheError> {
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| io_err("create directory", parent, e))?;
        }
        fs::rename(self.path(), dest).map_err(|e| io_err("rename a chunk into", dest, e))?;
        self.0 = None;
        Ok(())
    }
}

impl Drop for TmpFile {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = fs::remove_file(path);
        }
    }
}

/// Opens the index and brings its schema up to date, retrying while
/// another process holds a lock that SQLite does not wait for: switching a
/// new database to WAL, or the first WAL recovery, fail at once with
/// `SQLITE_BUSY` whatever the busy timeout.
fn open_index(db_path: &Path) -> Result<Connection, CacheError> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        let err = match try_open_index(db_path) {
            Ok(conn) => return Ok(conn),
            Err(err) => err,
        };
        let sqlite = match &err {
            CacheError::Index { source, .. } => Some(source),
            CacheError::Migration {
                source: rusqlite_migration::Error::RusqliteError { err, .. },
                ..
            } => Some(err),
            _ => None,
        };
        let busy = sqlite
            .and_then(rusqlite::Error::sqlite_error_code)
            .is_some_and(|code| {
                matches!(code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            });
        if !busy || Instant::now() >= deadline {
            return Err(err);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn try_open_index(db_path: &Path) -> Result<Connection, CacheError> {
    let index_err = |source| CacheError::Index {
        path: db_path.to_path_buf(),
        source,
    };
    let mut conn = Connection::open(db_path).map_err(index_err)?;
    configure(&conn).map_err(index_err)?;
    // Two processes creating the cache at once may both see version 0: the
    // IMMEDIATE transactions serialize them, and the second one's statements
    // are idempotent.
    conn.set_transaction_behavior(TransactionBehavior::Immediate);
    Migrations::from_slice(MIGRATIONS)
        .to_latest(&mut conn)
        .map_err(|source| CacheError::Migration {
            path: db_path.to_path_buf(),
            source,
        })?;
    conn.set_transaction_behavior(TransactionBehavior::Deferred);
    Ok(conn)
}

/// Sets the PRAGMAs every connection needs. The busy timeout comes first:
/// switching to WAL waits for other processes' locks.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // A cache needs no durability: NORMAL does not fsync on commit in WAL.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

/// Removes temporary files older than [`STALE_TMP`] (best effort: a younger
/// one may belong to another process's put in flight).
fn remove_stale_tmp(tmp_dir: &Path) {
    let Ok(entries) = fs::read_dir(tmp_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TMP);
        if stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn remove_if_present(path: &Path) -> Result<(), CacheError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("remove", path, e)),
        _ => Ok(()),
    }
}

fn io_err(action: &'static str, path: &Path, source: io::Error) -> CacheError {
    CacheError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Microseconds since the Unix epoch: the LRU clock, shared by processes.
fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic bytes for chunk number `seed`, `len` long.
    fn chunk(seed: u64, len: usize) -> (Digest, Vec<u8>) {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        (Digest::of(&bytes), bytes)
    }

    /// Bytes of the files under `DIR/chunks`, walked on disk.
    fn disk_bytes(dir: &Path) -> u64 {
        let mut total = 0;
        for sub in fs::read_dir(dir.join("chunks")).unwrap() {
            for file in fs::read_dir(sub.unwrap().path()).unwrap() {
                total += file.unwrap().metadata().unwrap().len();
            }
        }
        total
    }

    fn row_sum(cache: &ChunkCache) -> u64 {
        let conn = cache.lock();
        let sum: i64 = conn
            .query_row("SELECT COALESCE(SUM(size), 0) FROM chunks", [], |r| {
                r.get(0)
            })
            .unwrap();
        sum as u64
    }

    const _: () = {
        const fn shared_between_threads<T: Send + Sync>() {}
        shared_between_threads::<ChunkCache>();
    };

    #[test]
    fn migrations_are_valid() {
        Migrations::from_slice(MIGRATIONS).validate().unwrap();
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 1 << 20).unwrap();
        let (d, bytes) = chunk(1, 1000);
        cache.put(&d, &bytes).unwrap();
        assert!(cache.contains(&d));
        assert_eq!(cache.get(&d).unwrap(), Some(bytes));
        assert_eq!(cache.used_bytes().unwrap(), 1000);
        assert_eq!(cache.stats().hits, 1);
        assert_eq!(cache.dir(), dir.path());
        assert_eq!(cache.max_bytes(), 1 << 20);
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn miss_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 1 << 20).unwrap();
        let (d, _) = chunk(1, 10);
        assert!(!cache.contains(&d));
        assert_eq!(cache.get(&d).unwrap(), None);
        assert_eq!(
            cache.stats(),
            CacheStats {
                misses: 1,
                ..CacheStats::default()
            }
        );
    }

    #[test]
    fn chunk_larger_than_bound_is_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 100).unwrap();
        let (big, bytes) = chunk(1, 101);
        cache.put(&big, &bytes).unwrap();
        assert!(!cache.contains(&big));
        assert_eq!(cache.used_bytes().unwrap(), 0);
        let (exact, bytes) = chunk(2, 100);
        cache.put(&exact, &bytes).unwrap();
        assert_eq!(cache.get(&exact).unwrap(), Some(bytes));
    }

    #[test]
    fn corrupted_file_is_dropped_counted_and_put_again_works() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 1 << 20).unwrap();
        let (d, bytes) = chunk(1, 500);
        cache.put(&d, &bytes).unwrap();
        let path = cache.chunk_path(&d.to_hex());
        let mut damaged = bytes.clone();
        damaged[100..110].fill(0xAA);
        fs::write(&path, &damaged).unwrap();

        assert_eq!(cache.get(&d).unwrap(), None);
        assert!(!path.exists());
        assert_eq!(cache.used_bytes().unwrap(), 0);
        let stats = cache.stats();
        assert_eq!((stats.corrupt, stats.misses, stats.hits), (1, 1, 0));

        cache.put(&d, &bytes).unwrap();
        assert_eq!(cache.get(&d).unwrap(), Some(bytes));
        assert_eq!(cache.used_bytes().unwrap(), 500);
    }

    #[test]
    fn put_repairs_a_damaged_copy() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 1 << 20).unwrap();
        let (d, bytes) = chunk(1, 500);
        cache.put(&d, &bytes).unwrap();
        fs::write(cache.chunk_path(&d.to_hex()), b"garbage").unwrap();
        cache.put(&d, &bytes).unwrap();
        assert_eq!(cache.get(&d).unwrap(), Some(bytes));
        assert_eq!(cache.used_bytes().unwrap(), 500);
    }

    #[test]
    fn missing_file_is_a_miss_and_drops_its_row() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 1 << 20).unwrap();
        let (d, bytes) = chunk(1, 500);
        cache.put(&d, &bytes).unwrap();
        fs::remove_file(cache.chunk_path(&d.to_hex())).unwrap();
        assert_eq!(cache.get(&d).unwrap(), None);
        assert_eq!(cache.used_bytes().unwrap(), 0);
        assert_eq!(cache.stats().misses, 1);
    }

    #[test]
    fn file_without_row_is_a_hit_and_put_adopts_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 1 << 20).unwrap();
        let (d, bytes) = chunk(1, 500);
        let path = cache.chunk_path(&d.to_hex());
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &bytes).unwrap();
        assert_eq!(cache.get(&d).unwrap(), Some(bytes.clone()));
        assert_eq!(cache.used_bytes().unwrap(), 0);
        cache.put(&d, &bytes).unwrap();
        assert_eq!(cache.used_bytes().unwrap(), 500);
    }

    #[test]
    fn bound_holds_under_a_stream_of_puts_and_gets() {
        let dir = tempfile::tempdir().unwrap();
        let max = 64 * 1024;
        let cache = ChunkCache::open(dir.path(), max).unwrap();
        let (mut put_bytes, mut puts, mut i) = (0u64, 0u64, 0u64);
        while put_bytes < 10 * max {
            let (d, bytes) = chunk(i % 97, 1000 + (i % 97) as usize * 67);
            match cache.get(&d).unwrap() {
                Some(got) => assert_eq!(got, bytes),
                None => {
                    cache.put(&d, &bytes).unwrap();
                    put_bytes += bytes.len() as u64;
                    puts += 1;
                    let used = cache.used_bytes().unwrap();
                    assert!(used <= max, "index holds {used} > {max} bytes");
                    assert_eq!(used, row_sum(&cache));
                    assert_eq!(disk_bytes(dir.path()), used);
                }
            }
            i = i.wrapping_mul(31).wrapping_add(7) % 1009;
        }
        let stats = cache.stats();
        assert!(stats.evictions > 0 && stats.hits > 0);
        // Hysteresis: an eviction frees room for several puts.
        assert!(stats.evictions < puts, "{stats:?} for {puts} puts");
    }

    #[test]
    fn lru_keeps_a_recently_read_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = ChunkCache::open(dir.path(), 10_000).unwrap();
        cache.touch_interval_us = 0;
        let chunks: Vec<_> = (0..5).map(|i| chunk(i, 2000)).collect();
        for (d, bytes) in &chunks {
            cache.put(d, bytes).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(cache.get(&chunks[0].0).unwrap().is_some());
        std::thread::sleep(Duration::from_millis(2));
        let (d, bytes) = chunk(99, 2000);
        cache.put(&d, &bytes).unwrap();
        // 12,000 > 10,000: down to 9,000 evicts the two oldest, 1 and 2.
        assert!(cache.contains(&chunks[0].0));
        assert!(!cache.contains(&chunks[1].0));
        assert!(!cache.contains(&chunks[2].0));
        assert!(cache.contains(&chunks[3].0) && cache.contains(&chunks[4].0));
        assert_eq!(cache.stats().evictions, 2);
        assert_eq!(cache.used_bytes().unwrap(), 8000);
    }

    #[test]
    fn reopening_finds_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let chunks: Vec<_> = (0..4).map(|i| chunk(i, 300)).collect();
        {
            let cache = ChunkCache::open(dir.path(), 1 << 20).unwrap();
            for (d, bytes) in &chunks {
                cache.put(d, bytes).unwrap();
            }
        }
        let cache = ChunkCache::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(cache.used_bytes().unwrap(), 1200);
        for (d, bytes) in &chunks {
            assert_eq!(cache.get(d).unwrap().as_ref(), Some(bytes));
        }
    }

    #[test]
    fn reopening_with_a_smaller_bound_evicts() {
        let dir = tempfile::tempdir().unwrap();
        {
            let cache = ChunkCache::open(dir.path(), 1 << 20).unwrap();
            for i in 0..10 {
                let (d, bytes) = chunk(i, 1000);
                cache.put(&d, &bytes).unwrap();
            }
        }
        let cache = ChunkCache::open(dir.path(), 5000).unwrap();
        assert!(cache.used_bytes().unwrap() <= 4500);
        assert_eq!(disk_bytes(dir.path()), cache.used_bytes().unwrap());
        assert_eq!(cache.stats().evictions, 6);
    }

    #[test]
    fn two_instances_in_two_threads() {
        let dir = tempfile::tempdir().unwrap();
        let max = 32 * 1024;
        std::thread::scope(|s| {
            for t in 0..2u64 {
                let dir = dir.path();
                s.spawn(move || {
                    let cache = ChunkCache::open(dir, max).unwrap();
                    for i in 0..400u64 {
                        let n = (i * 7 + t * 13) % 60;
                        let (d, bytes) = chunk(n, 500 + n as usize * 40);
                        match cache.get(&d).unwrap() {
                            Some(got) => assert_eq!(got, bytes),
                            None => cache.put(&d, &bytes).unwrap(),
                        }
                        assert!(cache.used_bytes().unwrap() <= max);
                    }
                    assert_eq!(cache.stats().corrupt, 0);
                });
            }
        });
        let cache = ChunkCache::open(dir.path(), max).unwrap();
        let used = cache.used_bytes().unwrap();
        assert!(used <= max);
        assert_eq!(used, row_sum(&cache));
        assert_eq!(disk_bytes(dir.path()), used);
    }

    #[test]
    fn errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        fs::write(&file, b"x").unwrap();
        let err = ChunkCache::open(&file, 100).unwrap_err().to_string();
        assert!(err.contains("not-a-dir"), "{err}");
        assert!(err.contains("delete the cache directory"), "{err}");
    }
}
