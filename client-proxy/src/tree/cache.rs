//! What the tree layer keeps in memory — listings, documents, manifests,
//! chunks — and how commits keep it current: every commit seen (from the
//! change feed, or written through this tree) drops what it touched and
//! tells subscribers which paths changed; another client's also lists
//! anew the listings in use, to tell which names changed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use docgrid_core::DocId;
use docgrid_core::api::{ContentManifest, DocInfo};
use docgrid_core::chunk::Digest;

use super::{Listing, TreeOptions};
use crate::client::Client;
use crate::error::ClientError;
use crate::feed::FeedEvent;

/// What changed at a revision: sent to every [`Tree::subscribe`]r.
///
/// [`Tree::subscribe`]: super::Tree::subscribe
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The revision after the change.
    pub rev: u64,
    /// Canonical paths of the directories whose listing changed, among
    /// those this tree had listed (directories never listed are not
    /// tracked: list them to hear of them).
    pub paths: Vec<String>,
    /// Documents the commits touched (content, metadata, name, deletion).
    pub docs: Vec<DocId>,
    /// Too much changed to tell (a long disconnection): everything listed
    /// may have changed, and every path held is in `paths`.
    pub everything: bool,
    /// For each path of `paths` listed anew: the names whose entry came,
    /// went or now stands for something else (another document, a
    /// directory for a document). A path of `paths` not here may have
    /// changed any name. A document whose size or metadata changed under
    /// the same name is in `docs`, not here.
    pub names: BTreeMap<String, Vec<String>>,
    /// A commit made through this tree: nothing was listed anew (`names`
    /// is empty); the writer already knows what it changed.
    pub own: bool,
}

fn sorted(mut docs: Vec<DocId>) -> Vec<DocId> {
    docs.sort();
    docs.dedup();
    docs
}

struct Slot<T> {
    value: Arc<T>,
    /// When it was fetched.
    at: Instant,
    /// The tick of its last use (for eviction).
    used: u64,
    /// When it was last used.
    last: Instant,
    /// A commit made it out of date: answered only when no server does
    /// (marked stale), never trusted.
    outdated: bool,
}

/// A listing a commit made out of date, and when it was last used.
type Dropped = (Arc<Listing>, Instant);

/// Listings used this recently are listed anew after another client's
/// commit (up to [`TreeOptions::refresh`]); older ones are only dropped,
/// and reported as changed.
const RECENT: Duration = Duration::from_secs(2);

/// The shared state of a tree and its clones.
pub(crate) struct State {
    listings: Mutex<HashMap<String, Slot<Listing>>>,
    docs: Mutex<HashMap<DocId, Slot<DocInfo>>>,
    manifests: Mutex<HashMap<DocId, Slot<ContentManifest>>>,
    pub(crate) chunks: Mutex<ChunkMemo>,
    /// Chunks being fetched, each behind its own lock: a second reader of
    /// one (a sequential read catching up with its readahead) waits for
    /// the first fetch instead of making its own.
    pub(crate) fetching: Mutex<HashMap<Digest, Arc<Mutex<()>>>>,
    live: AtomicBool,
    tick: AtomicU64,
    subscribers: Mutex<Vec<Sender<Changed>>>,
    /// Revisions committed through this tree and already handled, which
    /// the feed need not handle again.
    own: Mutex<HashSet<u64>>,
    /// The newest revision whose changes were dropped: a listing older
    /// than it (fetched before, kept after) is answered but not cached.
    floor: AtomicU64,
    /// Drops of documents and manifests so far ([`State::generation`]).
    generation: AtomicU64,
    /// The revision of the last commit seen to touch each document: an
    /// answer about it from before (a lagging follower) is not kept.
    touched: Mutex<HashMap<DocId, u64>>,
}

impl State {
    pub(crate) fn new(opts: &TreeOptions) -> State {
        State {
            listings: Mutex::new(HashMap::new()),
            docs: Mutex::new(HashMap::new()),
            manifests: Mutex::new(HashMap::new()),
            chunks: Mutex::new(ChunkMemo::new(opts.chunk_memory)),
            fetching: Mutex::new(HashMap::new()),
            live: AtomicBool::new(false),
            tick: AtomicU64::new(0),
            subscribers: Mutex::new(Vec::new()),
            own: Mutex::new(HashSet::new()),
            floor: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            touched: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn is_live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }

    fn tick(&self) -> u64 {
        self.tick.fetch_add(1, Ordering::Relaxed)
    }

    /// Whether something cached at `at` may be answered without asking.
    fn trusted(&self, at: Instant, opts: &TreeOptions) -> bool {
        self.is_live() || at.elapsed() < opts.ttl
    }

    pub(crate) fn subscribe(&self) -> Receiver<Changed> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.subscribers.lock().expect("poisoned").push(tx);
        rx
    }

    // ---- listings --------------------------------------------------------

    /// The cached listing of `path`, if current.
    pub(crate) fn listing(&self, path: &str, opts: &TreeOptions) -> Option<Arc<Listing>> {
        self.trusted_in(&self.listings, path, opts)
    }

    /// The cached listing of `path` however old, marked stale: for when no
    /// server answers.
    pub(crate) fn stale_listing(&self, path: &str) -> Option<Arc<Listing>> {
        let map = self.listings.lock().expect("poisoned");
        let l = &map.get(path)?.value;
        Some(Arc::new(Listing {
            stale: true,
            ..Listing::new(l.path.clone(), l.rev, l.entries.clone())
        }))
    }

    /// Keeps a fetched listing (unless a newer one is held), evicting the
    /// least recently used beyond the bound.
    pub(crate) fn keep(&self, listing: Listing, opts: &TreeOptions) -> Arc<Listing> {
        self.keep_used(listing, opts, Instant::now())
    }

    /// [`State::keep`] of a listing last used at `last` (a refresh is not
    /// a use: what nobody looks at stops being refreshed).
    fn keep_used(&self, listing: Listing, opts: &TreeOptions, last: Instant) -> Arc<Listing> {
        let tick = self.tick();
        let mut map = self.listings.lock().expect("poisoned");
        if listing.rev < self.floor.load(Ordering::SeqCst) {
            return Arc::new(listing);
        }
        if let Some(held) = map.get_mut(&listing.path)
            && held.value.rev > listing.rev
        {
            held.used = tick;
            held.last = held.last.max(last);
            return held.value.clone();
        }
        let value = Arc::new(listing);
        map.insert(
            value.path.clone(),
            Slot {
                value: value.clone(),
                at: Instant::now(),
                used: tick,
                last,
                outdated: false,
            },
        );
        evict(&mut map, opts.listings.max(1));
        value
    }

    // ---- documents and manifests -------------------------------------------

    /// A count of the drops so far: a document or manifest fetched across
    /// one may be older than the commit that caused it, and is not kept.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub(crate) fn doc(&self, id: &DocId, opts: &TreeOptions) -> Option<Arc<DocInfo>> {
        self.trusted_in(&self.docs, id, opts)
    }

    /// Keeps `doc`, fetched when the generation was `fetched_at`.
    pub(crate) fn keep_doc(&self, doc: Arc<DocInfo>, fetched_at: u64) {
        if self.behind(&doc.id, doc.rev) {
            return;
        }
        self.keep_in(&self.docs, doc.id, doc, 100_000, fetched_at);
    }

    /// Whether an answer about `id` at revision `rev` predates a commit
    /// seen to touch it.
    fn behind(&self, id: &DocId, rev: u64) -> bool {
        let touched = self.touched.lock().expect("poisoned");
        touched.get(id).is_some_and(|&t| rev < t)
    }

    pub(crate) fn manifest(&self, id: &DocId, opts: &TreeOptions) -> Option<Arc<ContentManifest>> {
        self.trusted_in(&self.manifests, id, opts)
    }

    /// Keeps `m`, fetched when the generation was `fetched_at`.
    pub(crate) fn keep_manifest(&self, m: Arc<ContentManifest>, fetched_at: u64) {
        if self.behind(&m.id, m.rev) {
            return;
        }
        self.keep_in(&self.manifests, m.id, m, 10_000, fetched_at);
    }

    /// The value cached under `key` in `map`, if it may be trusted (and
    /// marked as used).
    fn trusted_in<K, Q, T>(
        &self,
        map: &Mutex<HashMap<K, Slot<T>>>,
        key: &Q,
        opts: &TreeOptions,
    ) -> Option<Arc<T>>
    where
        K: std::borrow::Borrow<Q> + Eq + std::hash::Hash,
        Q: Eq + std::hash::Hash + ?Sized,
    {
        let tick = self.tick();
        let mut map = map.lock().expect("poisoned");
        let slot = map
            .get_mut(key)
            .filter(|s| !s.outdated && self.trusted(s.at, opts))?;
        slot.used = tick;
        slot.last = Instant::now();
        Some(slot.value.clone())
    }

    /// Document `id` as last cached, however old (no server answers: the
    /// last known answer beats none).
    pub(crate) fn stale_doc(&self, id: &DocId) -> Option<Arc<DocInfo>> {
        self.docs
            .lock()
            .expect("poisoned")
            .get(id)
            .map(|s| s.value.clone())
    }

    /// Document `id`'s manifest as last cached, however old.
    pub(crate) fn stale_manifest(&self, id: &DocId) -> Option<Arc<ContentManifest>> {
        self.manifests
            .lock()
            .expect("poisoned")
            .get(id)
            .map(|s| s.value.clone())
    }

    fn keep_in<T>(
        &self,
        map: &Mutex<HashMap<DocId, Slot<T>>>,
        id: DocId,
        value: Arc<T>,
        bound: usize,
        fetched_at: u64,
    ) {
        let tick = self.tick();
        let mut map = map.lock().expect("poisoned");
        if self.generation() != fetched_at {
            return;
        }
        let at = Instant::now();
        map.insert(
            id,
            Slot {
                value,
                at,
                used: tick,
                last: at,
                outdated: false,
            },
        );
        evict(&mut map, bound);
    }

    /// Drops what is cached of each document of `docs` (and its manifest,
    /// all of them when `everything`), seen changed at the revision given
    /// with it: an answer about it from before is not kept afterwards.
    pub(crate) fn drop_docs(&self, docs: impl IntoIterator<Item = (DocId, u64)>, everything: bool) {
        let mut d = self.docs.lock().expect("poisoned");
        let mut m = self.manifests.lock().expect("poisoned");
        self.generation.fetch_add(1, Ordering::SeqCst);
        if everything {
            d.clear();
            m.clear();
        }
        let mut touched = self.touched.lock().expect("poisoned");
        if touched.len() > 100_000 {
            touched.clear();
        }
        for (id, rev) in docs {
            d.remove(&id);
            m.remove(&id);
            let t = touched.entry(id).or_default();
            *t = (*t).max(rev);
        }
    }

    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.listings.lock().expect("poisoned").clear();
        self.docs.lock().expect("poisoned").clear();
        self.manifests.lock().expect("poisoned").clear();
    }

    // ---- keeping current ---------------------------------------------------

    /// The change feed's events.
    pub(crate) fn on_feed(&self, client: &Client, opts: &TreeOptions, event: FeedEvent) {
        match event {
            // What was cached before the feed connected (or while it was
            // away) may predate commits it will never tell of.
            FeedEvent::Connected { rev } => {
                self.changed(client, opts, rev, Vec::new(), true);
                self.live.store(true, Ordering::SeqCst);
            }
            FeedEvent::Lost { .. } => self.live.store(false, Ordering::SeqCst),
            FeedEvent::Commits { rev, commits, gap } => {
                let mut own = self.own.lock().expect("poisoned");
                let foreign: Vec<_> = commits.iter().filter(|c| !own.remove(&c.rev)).collect();
                own.retain(|r| *r > rev);
                drop(own);
                if foreign.is_empty() && !gap {
                    return;
                }
                let docs = foreign
                    .iter()
                    .flat_map(|c| c.docs.iter().copied())
                    .collect();
                self.changed(client, opts, rev, docs, gap);
            }
        }
    }

    /// A commit made through this tree at `rev`, touching `docs`: drops
    /// what it made stale and tells subscribers, without listing anything
    /// anew (the writer knows what it did, and lists what it needs; a
    /// refresh of every held listing at each commit of a `cp -r` would
    /// cost more than the copy).
    pub(crate) fn committed(&self, rev: u64, docs: Vec<DocId>) {
        if self.is_live() {
            self.own.lock().expect("poisoned").insert(rev);
        }
        let old = self.drop_older(rev, &docs, false);
        let mut paths: Vec<String> = old.into_iter().map(|(l, _)| l.path.clone()).collect();
        paths.sort();
        self.tell(Changed {
            rev,
            paths,
            docs: sorted(docs),
            everything: false,
            names: BTreeMap::new(),
            own: true,
        });
    }

    /// Revision `rev` touched `docs` (or, `everything`, anything): drops
    /// what they touched, refreshes the listings held that are older than
    /// `rev` and tells subscribers which changed.
    fn changed(
        &self,
        client: &Client,
        opts: &TreeOptions,
        rev: u64,
        docs: Vec<DocId>,
        everything: bool,
    ) {
        let old = self.drop_older(rev, &docs, everything);
        self.refresh_and_tell(client, opts, rev, docs, everything, old);
    }

    /// Drops the documents and manifests of `docs` (all of them when
    /// `everything`) and marks the listings older than `rev` outdated —
    /// kept only as the answer when no server answers — returning them
    /// most recently used first: a concurrent lookup fetches its own
    /// rather than trust one of them.
    fn drop_older(&self, rev: u64, docs: &[DocId], everything: bool) -> Vec<Dropped> {
        self.drop_docs(docs.iter().map(|id| (*id, rev)), everything);
        let mut map = self.listings.lock().expect("poisoned");
        self.floor.fetch_max(rev, Ordering::SeqCst);
        let mut old: Vec<(u64, Dropped)> = map
            .values_mut()
            .filter(|s| !s.outdated && s.value.rev < rev)
            .map(|s| {
                s.outdated = true;
                (s.used, (s.value.clone(), s.last))
            })
            .collect();
        old.sort_by_key(|(used, _)| std::cmp::Reverse(*used));
        old.into_iter().map(|(_, l)| l).collect()
    }

    /// Lists anew the most recently used of `old` (the rest stay dropped)
    /// and tells subscribers which paths changed.
    fn refresh_and_tell(
        &self,
        client: &Client,
        opts: &TreeOptions,
        rev: u64,
        docs: Vec<DocId>,
        everything: bool,
        old: Vec<Dropped>,
    ) {
        let refresh = old
            .iter()
            .take(opts.refresh)
            .take_while(|(_, last)| last.elapsed() < RECENT)
            .count();
        let fresh = docgrid_core::parallel_map(&old[..refresh], 4, |(l, last)| {
            self.current(client, opts, &l.path, rev, *last)
        });
        let mut paths = Vec::new();
        let mut names = BTreeMap::new();
        for ((before, _), after) in old[..refresh].iter().zip(fresh) {
            match after {
                // A server behind the commit (a lagging follower, a proxy
                // not told yet): not current, so not kept, and reported.
                Ok(after) if after.rev < rev => paths.push(before.path.clone()),
                Ok(after) => {
                    if everything || !after.same_entries(before) {
                        paths.push(after.path.clone());
                        if !everything {
                            names.insert(after.path.clone(), renamed(before, &after));
                        }
                    }
                }
                Err(_) => paths.push(before.path.clone()),
            }
        }
        paths.extend(old[refresh..].iter().map(|(l, _)| l.path.clone()));
        paths.sort();
        self.tell(Changed {
            rev,
            paths,
            docs: sorted(docs),
            everything,
            names,
            own: false,
        });
    }

    fn tell(&self, change: Changed) {
        self.subscribers
            .lock()
            .expect("poisoned")
            .retain(|tx| tx.send(change.clone()).is_ok());
    }

    /// The listing of `path` as of `rev` or later: the one held, when a
    /// lookup has fetched it since the commit, else fetched (and kept
    /// when current, as last used at `last`).
    fn current(
        &self,
        client: &Client,
        opts: &TreeOptions,
        path: &str,
        rev: u64,
        last: Instant,
    ) -> Result<Arc<Listing>, ClientError> {
        let held = self
            .listings
            .lock()
            .expect("poisoned")
            .get(path)
            .map(|s| s.value.clone());
        if let Some(l) = held.filter(|l| l.rev >= rev) {
            return Ok(l);
        }
        let l = fetch(client, path)?;
        if l.rev < rev {
            return Ok(Arc::new(l));
        }
        Ok(self.keep_used(l, opts, last))
    }
}

/// The names of `before` and `after` (one directory's listing) whose
/// entries differ in what they stand for.
fn renamed(before: &Listing, after: &Listing) -> Vec<String> {
    let what = |l: &Listing| -> HashMap<String, (docgrid_core::api::EntryKind, Option<DocId>)> {
        l.entries
            .iter()
            .map(|e| (e.name.clone(), (e.kind, e.id)))
            .collect()
    };
    let (b, a) = (what(before), what(after));
    let mut names: Vec<String> = b
        .iter()
        .filter(|(n, w)| a.get(*n) != Some(*w))
        .map(|(n, _)| n.clone())
        .chain(a.keys().filter(|n| !b.contains_key(*n)).cloned())
        .collect();
    names.sort();
    names
}

/// Drops the least recently used entries beyond `bound`.
fn evict<K: Clone + Eq + std::hash::Hash, T>(map: &mut HashMap<K, Slot<T>>, bound: usize) {
    if map.len() <= bound {
        return;
    }
    let mut by_use: Vec<(u64, K)> = map.iter().map(|(k, s)| (s.used, k.clone())).collect();
    by_use.sort_by_key(|(used, _)| *used);
    let excess = map.len() - bound;
    for (_, k) in by_use
        .into_iter()
        .take(excess.max(bound / 8).min(map.len()))
    {
        map.remove(&k);
    }
}

/// A whole directory from the server.
pub(crate) fn fetch(client: &Client, path: &str) -> Result<Listing, ClientError> {
    let l = client.tree(path)?;
    Ok(Listing::new(l.path, l.rev, l.entries))
}

/// Chunks in memory, least recently used dropped beyond a byte bound: a
/// file read in small pieces fetches each chunk once.
pub(crate) struct ChunkMemo {
    map: HashMap<Digest, (Arc<Vec<u8>>, u64)>,
    bytes: usize,
    bound: usize,
    tick: u64,
}

impl ChunkMemo {
    fn new(bound: usize) -> ChunkMemo {
        ChunkMemo {
            map: HashMap::new(),
            bytes: 0,
            bound,
            tick: 0,
        }
    }

    pub(crate) fn get(&mut self, hash: &Digest) -> Option<Arc<Vec<u8>>> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(hash).map(|(b, used)| {
            *used = tick;
            b.clone()
        })
    }

    pub(crate) fn put(&mut self, hash: Digest, bytes: Arc<Vec<u8>>) {
        if bytes.len() > self.bound {
            return;
        }
        self.tick += 1;
        self.bytes += bytes.len();
        if let Some((old, _)) = self.map.insert(hash, (bytes, self.tick)) {
            self.bytes -= old.len();
        }
        while self.bytes > self.bound {
            let Some(oldest) = self
                .map
                .iter()
                .min_by_key(|(_, (_, u))| *u)
                .map(|(h, _)| *h)
            else {
                break;
            };
            if let Some((b, _)) = self.map.remove(&oldest) {
                self.bytes -= b.len();
            }
        }
    }
}
