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
use crate::config::{Backend, DataDir, ServerConfig};
use crate::error::ServerError;
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

/// Everything a request handler needs.
pub struct App {
    /// The data directory.
    pub data: DataDir,
    /// Where bytes live.
    pub store: Arc<dyn BlobStore>,
    /// The same store when it is native (disks, scrub).
    pub native: Option<Arc<NativeStore>>,
    /// The same store when it is on Tahoe (lease renewal, repair).
    pub tahoe: Option<Arc<TahoeStore>>,
    /// Primary or follower.
    pub role: ServerRole,
    /// The SQLite index.
    pub index: Index,
    /// The full-text index.
    pub fulltext: FullText,
    /// Bearer tokens.
    pub tokens: Tokens,
    /// Serializes commits (validate, journal, apply).
    pub commit_lock: Mutex<()>,
    /// The newest applied revision, for long polls.
    pub changes: tokio::sync::watch::Sender<u64>,
    /// Shards missing or corrupt at the last scrub (`u64::MAX`: never).
    pub last_scrub_problems: AtomicU64,
    /// Full-text updates failed after this revision: re-index at next sync.
    ft_gap: Mutex<Option<u64>>,
    /// A reindex is rebuilding the index in place: reads answer 503.
    pub reindexing: std::sync::atomic::AtomicBool,
    /// Requests and bytes received since start, for `/v1/stats`.
    pub counters: Counters,
    /// Set when the server shuts down: long polls answer at once.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Tree listings made, for paging.
    pub listings: crate::treeexec::Snapshots,
    /// Why the store cannot take writes now (disks or nodes missing), when
    /// it cannot: the index is served, writes answer 503 with this.
    degraded: Mutex<Option<String>>,
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

impl ContentSource for StoreContent<'_> {
    fn read(&self, manifest: &Manifest, limit: usize) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for c in &manifest.chunks {
            if out.len() >= limit {
                break;
            }
            match self.0.get(&c.locator) {
                Ok(bytes) => out.extend_from_slice(&bytes),
                Err(e) => {
                    tracing::warn!("reading chunk {} for indexing: {e}", c.hash);
                    return None;
                }
            }
        }
        out.truncate(limit);
        Some(out)
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
        let (store, native, tahoe): (Arc<dyn BlobStore>, _, _) = match &cfg.backend {
            Backend::Native { .. } if role != ServerRole::Primary => anyhow::bail!(
                "a follower reads the journal another server writes, which needs a shared \
                 store: the native store's disks belong to one server. Use the Tahoe backend \
                 (init --backend tahoe --gateway URL --root-cap CAP)"
            ),
            Backend::Native { disks, k, m } => {
                let s = Arc::new(
                    NativeStore::open_or_create(disks, *k, *m)
                        .context("opening the native store")?,
                );
                (s.clone(), Some(s), None)
            }
            Backend::Tahoe { .. } => {
                let s = Arc::new(crate::config::tahoe_store(&data, &cfg.backend)?);
                (s.clone(), None, Some(s))
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
            native,
            tahoe,
            role,
            index,
            fulltext,
            tokens,
            commit_lock: Mutex::new(()),
            changes: tokio::sync::watch::channel(rev).0,
            last_scrub_problems: AtomicU64::new(u64::MAX),
            ft_gap: Mutex::new(None),
            reindexing: std::sync::atomic::AtomicBool::new(false),
            counters: Counters::default(),
            stopping: tokio::sync::watch::channel(false).0,
            listings: crate::treeexec::Snapshots::default(),
            degraded: Mutex::new(None),
        });
        if app.fulltext.created() && rev > 0 {
            tracing::warn!(
                "the full-text index was empty or outdated: rebuilding the index from the journal"
            );
            crate::maintenance::reindex(&app).map_err(|e| anyhow::anyhow!(e.message))?;
        }
        let replayed = match app.catch_up() {
            Ok(n) => n,
            Err(e) if e.is_store_unavailable() => {
                let why = docgrid_core::error_chain(&e);
                tracing::warn!(
                    "starting degraded: serving the index at revision {rev}, refusing writes: {why}"
                );
                app.set_degraded(Some(why));
                0
            }
            Err(e) => return Err(e.into()),
        };
        app.refresh_fulltext()?;
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
    pub fn catch_up_to_head(&self) -> Result<(Option<Head>, usize), ServerError> {
        let applied = self.index.applied_rev()?;
        let since = Journal::new(self.store.as_ref()).since(applied)?;
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
        let content = StoreContent(self.store.as_ref());
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
        let gap = *self.ft_gap.lock().expect("poisoned");
        if let Some(after) = gap {
            self.reindex_fulltext_after(after)?;
            *self.ft_gap.lock().expect("poisoned") = None;
        }
        Ok(self.fulltext.sync()?)
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

    /// The newest applied revision.
    pub fn rev(&self) -> u64 {
        *self.changes.borrow()
    }

    /// Notes that `rev` was applied, waking long polls.
    pub fn announce(&self, rev: u64) {
        self.changes.send_replace(rev);
    }

    /// Counts `n` content bytes received.
    pub fn note_received(&self, n: usize) {
        self.counters
            .bytes_received
            .fetch_add(n as u64, Ordering::Relaxed);
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
    pub fn set_degraded(&self, why: Option<String>) {
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
