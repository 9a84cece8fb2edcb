//! The running server's state, opening it, and catching up with the journal.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use docgrid_backend_tahoe::TahoeStore;
use docgrid_core::journal::{Head, Journal};
use docgrid_core::model::{Changeset, Manifest};
use docgrid_core::store::native::NativeStore;
use docgrid_core::store::{BlobStore, Locator};

use crate::auth::Tokens;
use crate::config::{Backend, DataDir, ExtractConfig, ServerConfig};
use crate::error::ServerError;
use crate::extract;
use crate::fulltext::{FtDoc, FullText};
use crate::index::Index;
use crate::index::apply::{self, ContentSource, FtUpdate};

/// What a server does with the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerRole {
    /// Commits: the one writer of the store's root.
    Primary,
    /// Tails the journal a primary writes to the same store, serves every
    /// read and search, and refuses writes.
    Follower {
        /// The primary's URL, named in refusals and in `/v1/health`.
        primary: Option<String>,
        /// How often to look for new commits.
        poll: std::time::Duration,
    },
}

/// Where the server's bytes live: one handle, with the backend's own
/// operations (disks and scrub; leases and repair) where they exist.
pub enum Store {
    /// Reed-Solomon shards over local disk directories.
    Native(Arc<NativeStore>),
    /// A Tahoe-LAFS grid through its gateway.
    Tahoe(Arc<TahoeStore>),
}

impl Store {
    /// The store as a [`BlobStore`].
    pub fn blobs(&self) -> &dyn BlobStore {
        match self {
            Store::Native(s) => s.as_ref(),
            Store::Tahoe(s) => s.as_ref(),
        }
    }
}

/// Everything a request handler needs. Its fields are private: the rules
/// for using them (one commit at a time, reads refused while reindexing,
/// writes refused while degraded) are its methods.
pub struct App {
    data: DataDir,
    store: Store,
    role: ServerRole,
    index: Index,
    fulltext: FullText,
    tokens: Tokens,
    /// Serializes commits, catch-up, GC and reindex.
    commit_lock: Mutex<()>,
    /// The newest applied revision, for long polls.
    changes: tokio::sync::watch::Sender<u64>,
    /// Shards missing or corrupt at the last scrub (`u64::MAX`: never).
    last_scrub_problems: AtomicU64,
    /// Full-text updates failed after this revision: re-index at next sync.
    ft_gap: Mutex<Option<u64>>,
    /// Reindexes begun and ended: odd while one rebuilds the index in
    /// place (reads answer 503); a read that saw it change answers 503 too.
    reindexing: AtomicU64,
    /// Requests and bytes received since start, for `/v1/stats`.
    counters: Counters,
    /// Set when the server shuts down: long polls answer at once.
    stopping: tokio::sync::watch::Sender<bool>,
    /// Tree listings made, for paging.
    listings: crate::treeexec::Snapshots,
    /// Why the store cannot take writes now (disks or nodes missing), when
    /// it cannot: the index is served, writes answer 503 with this.
    degraded: Mutex<Option<String>>,
    /// Extraction after the commit: its limits, and what it shares with
    /// the full-text commits and the commits that wake it.
    extraction: Extraction,
}

/// What the background extraction shares with the rest of the server.
struct Extraction {
    config: ExtractConfig,
    /// Held while extraction records text (SQLite, then tantivy) and while
    /// the full-text index commits, so a row is marked indexed only once
    /// tantivy has its text.
    indexing: Mutex<()>,
    /// Rows were marked `indexing` since the last full-text commit.
    unsynced: std::sync::atomic::AtomicBool,
    /// Set by commits (and at stop): there may be work.
    work: Mutex<bool>,
    wake: std::sync::Condvar,
    /// When a writer last committed or sent chunks (ms after `epoch`).
    last_write_ms: AtomicU64,
    epoch: std::time::Instant,
}

/// What a server has answered and received since it started.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests answered.
    pub requests: AtomicU64,
    /// Content bytes received (uploads, chunk PUTs).
    pub bytes_received: AtomicU64,
}

/// Reads content through the store, for sniffing and extraction.
pub struct StoreContent<'a>(pub &'a dyn BlobStore);

impl StoreContent<'_> {
    /// The first `limit` bytes of the content `manifest` describes (only
    /// the chunks they need are read).
    pub fn prefix(
        &self,
        manifest: &Manifest,
        limit: usize,
    ) -> Result<Vec<u8>, docgrid_core::store::StoreError> {
        let mut out = Vec::with_capacity(limit.min(manifest.size as usize));
        for c in &manifest.chunks {
            if out.len() >= limit {
                break;
            }
            out.extend_from_slice(&self.0.get(&c.locator)?);
        }
        out.truncate(limit);
        Ok(out)
    }
}

impl ContentSource for StoreContent<'_> {
    fn read(&self, manifest: &Manifest, limit: usize) -> Option<Vec<u8>> {
        self.prefix(manifest, limit)
            .map_err(|e| tracing::warn!("reading content for indexing: {e}"))
            .ok()
    }
}

impl App {
    /// Opens the store and indexes described by `cfg` in `data`, and
    /// replays what the journal holds beyond the index.
    pub fn open(data: DataDir, cfg: &ServerConfig) -> Result<Arc<App>> {
        App::open_as(data, cfg, ServerRole::Primary)
    }

    /// [`App::open`] as a primary or a follower. A follower needs a store
    /// other servers can reach: the Tahoe backend.
    pub fn open_as(data: DataDir, cfg: &ServerConfig, role: ServerRole) -> Result<Arc<App>> {
        let store = match &cfg.backend {
            Backend::Native { .. } if role != ServerRole::Primary => anyhow::bail!(
                "a follower reads the journal another server writes, which needs a shared \
                 store: the native store's disks belong to one server. Use the Tahoe backend \
                 (init --backend tahoe --gateway URL --root-cap CAP)"
            ),
            Backend::Native { disks, k, m } => Store::Native(Arc::new(
                NativeStore::open_or_create(disks, *k, *m).context("opening the native store")?,
            )),
            Backend::Tahoe { .. } => {
                Store::Tahoe(Arc::new(crate::config::tahoe_store(&data, &cfg.backend)?))
            }
        };
        let index = Index::open(&data.index_dir()).context("opening the index")?;
        let fulltext = FullText::open(&data.index_dir().join("fulltext"))
            .context("opening the full-text index")?;
        let tokens = Tokens::open(&data.tokens_db()).context("opening tokens.db")?;
        let rev = index.applied_rev()?;
        let app = Arc::new(App {
            data,
            store,
            role,
            index,
            fulltext,
            tokens,
            commit_lock: Mutex::new(()),
            changes: tokio::sync::watch::channel(rev).0,
            last_scrub_problems: AtomicU64::new(u64::MAX),
            ft_gap: Mutex::new(None),
            reindexing: AtomicU64::new(0),
            counters: Counters::default(),
            stopping: tokio::sync::watch::channel(false).0,
            listings: crate::treeexec::Snapshots::default(),
            degraded: Mutex::new(None),
            extraction: Extraction {
                config: cfg.extract.clone(),
                indexing: Mutex::new(()),
                unsynced: std::sync::atomic::AtomicBool::new(false),
                work: Mutex::new(true),
                wake: std::sync::Condvar::new(),
                last_write_ms: AtomicU64::new(0),
                epoch: std::time::Instant::now(),
            },
        });
        if app.fulltext.created() && rev > 0 {
            tracing::warn!(
                "the full-text index was empty or outdated: rebuilding the index from the journal"
            );
            app.reindex()?;
        }
        let replayed = match app.catch_up() {
            Ok(n) => n,
            Err(e) if e.is_store_unavailable() => {
                tracing::warn!(
                    "starting degraded: serving the index at revision {rev}, refusing writes: {}",
                    docgrid_core::error_chain(&e)
                );
                0
            }
            Err(e) => return Err(e.into()),
        };
        app.refresh_fulltext()?;
        app.reindex_extracted()?;
        if replayed > 0 {
            tracing::info!(replayed, "index caught up with the journal");
        }
        Ok(app)
    }

    /// Applies every journal changeset beyond the index; returns how many.
    pub fn catch_up(&self) -> Result<usize, ServerError> {
        Ok(self.catch_up_to_head()?.1)
    }

    /// [`App::catch_up`], also returning the journal head it read (a
    /// commit appends after it without reading the root again).
    ///
    /// Whether the store can take writes follows from it: a store that
    /// cannot give its journal (disks or nodes missing) makes the server
    /// degraded ([`App::degraded`]), one that can makes it whole again.
    pub fn catch_up_to_head(&self) -> Result<(Option<Head>, usize), ServerError> {
        let caught = self.replay_journal();
        match &caught {
            Ok(_) => self.set_degraded(None),
            Err(e) if e.is_store_unavailable() => {
                self.set_degraded(Some(docgrid_core::error_chain(e)));
            }
            Err(_) => {}
        }
        caught
    }

    fn replay_journal(&self) -> Result<(Option<Head>, usize), ServerError> {
        let applied = self.index.applied_rev()?;
        let since = Journal::new(self.store()).since(applied)?;
        for (locator, cs) in &since.changesets {
            self.apply(cs, locator).map_err(|e| ServerError::Revision {
                rev: cs.rev,
                source: Box::new(e),
            })?;
        }
        if let Some((_, last)) = since.changesets.last() {
            self.changes.send_replace(last.rev);
        }
        Ok((since.head, since.changesets.len()))
    }

    /// Applies one committed changeset to SQLite and the full-text index.
    pub fn apply(&self, cs: &Changeset, locator: &Locator) -> Result<(), ServerError> {
        let content = StoreContent(self.store());
        let started = std::time::Instant::now();
        let updates = self
            .index
            .write(|tx| apply::apply(tx, cs, locator, &content))?;
        let sqlite = started.elapsed();
        // The commit is durable and in SQLite: a full-text failure must not
        // fail it. The gap is re-indexed from SQLite at the next sync.
        if let Err(e) = self.write_fulltext(&updates) {
            tracing::error!(
                rev = cs.rev,
                "full-text update failed, re-indexing at next sync: {e:#}"
            );
            let mut gap = self.ft_gap.lock().expect("poisoned");
            *gap = Some(gap.map_or(cs.rev - 1, |g| g.min(cs.rev - 1)));
        }
        self.fulltext.mark_pending(cs.rev);
        tracing::debug!(rev = cs.rev, ?sqlite, fulltext = ?(started.elapsed() - sqlite), "applied");
        Ok(())
    }

    /// Makes every applied change visible to full-text search: commits what
    /// is pending (re-indexing from SQLite after a failed update). Called
    /// before reading the full-text index and once a second in the background.
    pub fn sync_fulltext(&self) -> Result<(), ServerError> {
        let _indexing = self.extraction.indexing.lock().expect("poisoned");
        let gap = *self.ft_gap.lock().expect("poisoned");
        if let Some(after) = gap {
            self.reindex_fulltext_after(after)?;
            *self.ft_gap.lock().expect("poisoned") = None;
        }
        self.fulltext.sync()?;
        if self.extraction.unsynced.swap(false, Ordering::SeqCst) {
            self.index.write(|tx| extract::queue::mark_indexed(tx))?;
        }
        Ok(())
    }

    fn write_fulltext(&self, updates: &[FtUpdate]) -> Result<(), ServerError> {
        for u in updates {
            match u {
                FtUpdate::Upsert {
                    id,
                    name,
                    meta,
                    body,
                } => self.fulltext.upsert(&FtDoc {
                    id,
                    name,
                    meta,
                    body,
                })?,
                FtUpdate::Delete { id } => self.fulltext.delete(id)?,
            }
        }
        Ok(())
    }

    /// After a crash, tantivy may lag SQLite (its commits are deferred):
    /// re-index what changed after its last commit.
    fn refresh_fulltext(&self) -> Result<(), ServerError> {
        let committed = self.fulltext.committed_rev()?;
        if committed >= self.index.applied_rev()? {
            return Ok(());
        }
        self.reindex_fulltext_after(committed)?;
        Ok(self.fulltext.sync()?)
    }

    /// Re-indexes, from SQLite (text is kept in `bodies`, nothing is
    /// re-extracted), every document the changesets after `after` touched.
    fn reindex_fulltext_after(&self, after: u64) -> Result<(), ServerError> {
        let applied = self.index.applied_rev()?;
        let updates = self.index.read(|c| {
            let mut ids = std::collections::BTreeSet::new();
            let mut stmt = c.prepare("SELECT docs FROM changesets WHERE rev > ?1")?;
            for docs in stmt.query_map([after], |r| r.get::<_, String>(0))? {
                ids.extend(serde_json::from_str::<Vec<String>>(&docs?).unwrap_or_default());
            }
            let mut key_of = c.prepare("SELECT key FROM docs WHERE id = ?1")?;
            let mut out = Vec::new();
            for id in ids {
                let key: i64 = key_of.query_row([&id], |r| r.get(0))?;
                out.push(apply::ft_upsert(c, key)?.unwrap_or(FtUpdate::Delete { id }));
            }
            Ok(out)
        })?;
        tracing::info!(
            after,
            to = applied,
            docs = updates.len(),
            "re-indexing full text from SQLite"
        );
        self.write_fulltext(&updates)?;
        self.fulltext.mark_pending(applied);
        Ok(())
    }

    /// Rebuilds SQLite and tantivy from the journal in place; returns the
    /// changesets replayed. Reads answer 503 meanwhile; a journal that
    /// cannot be read is refused before anything is wiped.
    pub fn reindex(&self) -> Result<usize, ServerError> {
        struct Busy<'a>(&'a AtomicU64);
        impl Drop for Busy<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        Journal::new(self.store()).head()?;
        self.reindexing.fetch_add(1, Ordering::SeqCst);
        let _busy = Busy(&self.reindexing);
        let _serial = self.writer();
        self.index.write(|tx| {
            tx.execute_batch(
                "DELETE FROM meta; DELETE FROM history; DELETE FROM bodies;
                 DELETE FROM extraction; DELETE FROM extracted_keys; DELETE FROM docs;
                 DELETE FROM changesets; DELETE FROM chunks; DELETE FROM tags; DELETE FROM dirs;
                 DELETE FROM state;",
            )
        })?;
        self.fulltext.clear()?;
        let n = self.catch_up()?;
        self.sync_fulltext()?;
        Ok(n)
    }

    /// The one writer's turn: commits, catch-up, GC and reindex take it,
    /// one at a time.
    pub fn writer(&self) -> std::sync::MutexGuard<'_, ()> {
        self.commit_lock.lock().expect("poisoned")
    }

    /// Whether a reindex is rebuilding the index (reads answer 503).
    pub fn is_reindexing(&self) -> bool {
        self.reindex_epoch() % 2 == 1
    }

    /// Reindexes begun plus reindexes ended: a read that sees it change
    /// while it runs may have read a half-rebuilt index.
    pub fn reindex_epoch(&self) -> u64 {
        self.reindexing.load(Ordering::SeqCst)
    }

    /// The store as a [`BlobStore`].
    pub fn store(&self) -> &dyn BlobStore {
        self.store.blobs()
    }

    /// The native store, when that is the backend.
    pub fn native(&self) -> Option<&NativeStore> {
        match &self.store {
            Store::Native(s) => Some(s),
            Store::Tahoe(_) => None,
        }
    }

    /// The Tahoe store, when that is the backend.
    pub fn tahoe(&self) -> Option<&TahoeStore> {
        match &self.store {
            Store::Tahoe(s) => Some(s),
            Store::Native(_) => None,
        }
    }

    /// The data directory.
    pub fn data(&self) -> &DataDir {
        &self.data
    }

    /// Primary or follower.
    pub fn role(&self) -> &ServerRole {
        &self.role
    }

    /// The SQLite index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The full-text index.
    pub fn fulltext(&self) -> &FullText {
        &self.fulltext
    }

    /// Bearer tokens.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// Requests and bytes received since start.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Tree listings made, for paging.
    pub fn listings(&self) -> &crate::treeexec::Snapshots {
        &self.listings
    }

    /// Shards missing or corrupt at the last scrub, if one ran.
    pub fn last_scrub_problems(&self) -> Option<u64> {
        let n = self.last_scrub_problems.load(Ordering::Relaxed);
        (n != u64::MAX).then_some(n)
    }

    /// Tells of every applied revision (long polls wait on it).
    pub fn subscribe_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Tells when the server shuts down.
    pub fn subscribe_stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Marks the server as shutting down: long polls answer at once.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// The newest applied revision.
    pub fn rev(&self) -> u64 {
        *self.changes.borrow()
    }

    /// Notes that `rev` was applied, waking long polls and extraction.
    pub fn announce(&self, rev: u64) {
        self.changes.send_replace(rev);
        self.wake_extraction();
    }

    /// Counts `n` content bytes received.
    pub fn note_received(&self, n: usize) {
        self.counters
            .bytes_received
            .fetch_add(n as u64, Ordering::Relaxed);
        self.note_write();
    }

    /// Notes that a writer (not extraction) is at work now: a commit, or
    /// chunks received.
    pub fn note_write(&self) {
        let x = &self.extraction;
        let now = x.epoch.elapsed().as_millis() as u64;
        x.last_write_ms.store(now.max(1), Ordering::Relaxed);
    }

    /// How long ago a writer was last at work (`None`: never).
    pub fn since_last_write(&self) -> Option<std::time::Duration> {
        let x = &self.extraction;
        let at = x.last_write_ms.load(Ordering::Relaxed);
        (at > 0).then(|| {
            x.epoch
                .elapsed()
                .saturating_sub(std::time::Duration::from_millis(at))
        })
    }

    /// Whether this server only reads (a follower).
    pub fn is_follower(&self) -> bool {
        matches!(self.role, ServerRole::Follower { .. })
    }

    /// Why writes are refused now (the store lacks disks or nodes), if they are.
    pub fn degraded(&self) -> Option<String> {
        self.degraded.lock().expect("poisoned").clone()
    }

    /// Records whether the store can take writes (`None`: it can again).
    fn set_degraded(&self, why: Option<String>) {
        let mut d = self.degraded.lock().expect("poisoned");
        if d.is_some() && why.is_none() {
            tracing::info!("the store takes writes again");
        }
        *d = why;
    }

    /// Records a scrub's problem count for `/v1/stats`.
    pub fn note_scrub(&self, problems: u64) {
        self.last_scrub_problems.store(problems, Ordering::Relaxed);
    }
}

/// Extraction's side of the server ([`crate::extract::runner`]).
impl App {
    /// Extraction's limits (`[extract]` in `server.toml`).
    pub fn extract_config(&self) -> &ExtractConfig {
        &self.extraction.config
    }

    /// Tells the extraction there may be work.
    pub fn wake_extraction(&self) {
        *self.extraction.work.lock().expect("poisoned") = true;
        self.extraction.wake.notify_all();
    }

    /// Waits until woken or `timeout` passed (extraction's idle wait).
    pub fn wait_for_extraction(&self, timeout: std::time::Duration) {
        let work = self.extraction.work.lock().expect("poisoned");
        let (mut work, _) = self
            .extraction
            .wake
            .wait_timeout_while(work, timeout, |w| !*w)
            .expect("poisoned");
        *work = false;
    }

    /// Records how each job ended: text into SQLite and tantivy (searchable
    /// at the next full-text commit, within a second), failures with their
    /// reason. Returns how many documents got text.
    pub fn record_extraction(
        &self,
        done: &[(extract::queue::Job, extract::queue::Outcome)],
    ) -> Result<usize, ServerError> {
        let _indexing = self.extraction.indexing.lock().expect("poisoned");
        let now = crate::unix_now();
        let updates = self.index.write(|tx| {
            let mut updates = Vec::new();
            for (job, outcome) in done {
                let current = extract::queue::record(tx, job, outcome, now)?;
                if current && matches!(outcome, extract::queue::Outcome::Extracted(_)) {
                    updates.extend(apply::ft_upsert(tx, job.key)?);
                }
            }
            Ok::<_, rusqlite::Error>(updates)
        })?;
        if updates.is_empty() {
            return Ok(0);
        }
        if let Err(e) = self.write_fulltext(&updates) {
            // Not in tantivy: back to the queue, extracted again later.
            let keys: Vec<i64> = done.iter().map(|(job, _)| job.key).collect();
            self.index
                .write(|tx| extract::queue::requeue_indexing(tx, &keys))?;
            return Err(e);
        }
        self.extraction.unsynced.store(true, Ordering::SeqCst);
        self.fulltext.mark_pending(self.index.applied_rev()?);
        Ok(updates.len())
    }

    /// At start: text that was extracted but perhaps not committed to
    /// tantivy before a crash is indexed again from SQLite.
    fn reindex_extracted(&self) -> Result<(), ServerError> {
        let updates = self.index.read(|c| {
            let mut out = Vec::new();
            for key in extract::queue::indexing(c)? {
                out.extend(apply::ft_upsert(c, key)?);
            }
            Ok(out)
        })?;
        self.extraction.unsynced.store(true, Ordering::SeqCst);
        if !updates.is_empty() {
            self.write_fulltext(&updates)?;
            self.fulltext.mark_pending(self.index.applied_rev()?);
        }
        self.sync_fulltext()
    }
}
