//! The tree layer: docgrid's metadata tree (`/all /tags /by /files
//! /search /recent /ids`) as typed operations over a [`Client`] — the one
//! place where a front-end's view of the tree lives. FUSE, the GUI and the
//! CLI adapt it to their world and restate no rule of it.
//!
//! - **Reads**: [`Tree::lookup`] answers one path with a [`Node`] carrying
//!   everything `stat` and a column need (kind, name, id, size, MIME,
//!   revision, times, counts); [`Tree::list`] lists a directory (fetched in
//!   pages, kept whole); [`Tree::read_at`] reads a byte range through the
//!   manifest, an in-memory chunk cache and the on-disk [`ChunkCache`],
//!   every chunk BLAKE3-verified — reading 4 KiB fetches one chunk, not the
//!   document.
//! - **Writes** ([`Tree::create`], [`Tree::replace_content`],
//!   [`Tree::remove`], [`Tree::rename`], [`Tree::mkdir`], [`Tree::rmdir`],
//!   [`Tree::set_xattr`], [`Tree::remove_xattr`]) are planned by core's
//!   `plan_*` rules, uploaded through the pipeline that sends only missing
//!   chunks, and committed against the revision of the document the caller
//!   saw: a stale base is [`ClientError::Conflict`] naming the documents,
//!   and nothing is applied. [`Tree::import`] brings local files and
//!   folders into a directory (a drop onto a column) the same way.
//! - **Caching**: listings, documents and manifests are kept in memory. With
//!   the change feed ([`Tree::follow_changes`]) connected they stay until a
//!   commit touches them; without it they live [`TreeOptions::ttl`]. Every
//!   commit seen drops the listings older than it; one from the feed also
//!   lists anew those used in the last seconds, to tell which names
//!   changed. [`Tree::subscribe`] tells which paths changed ([`Changed`]),
//!   so FUSE can invalidate the kernel's caches and the GUI can refresh its
//!   columns. With every server down, what is cached is still answered,
//!   marked [`Listing::stale`].
//!
//! The tree layer is blocking: FUSE and the CLI call it from their own
//! threads. Async front-ends use [`AsyncTree`], which runs each call on a
//! small worker pool.
//!
//! [`ChunkCache`]: crate::cache::ChunkCache

mod cache;
mod facade;
mod import;
mod read;
mod write;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use docgrid_core::DocId;
use docgrid_core::api::{DocInfo, EntryKind, TreeEntry};
use docgrid_core::tree::{self as rules, Dir};

use crate::client::Client;
use crate::error::ClientError;
use crate::feed::ChangeFeed;

pub use cache::Changed;
pub use facade::{AsyncTree, TreeFuture};
pub use import::{
    BATCH, ImportAction, ImportOptions, ImportProgress, ImportReport, ImportedFile, LocalFile,
    SkipReason, Skipped, walk,
};
pub use write::Content;

/// Tuning of a [`Tree`].
#[derive(Debug, Clone)]
pub struct TreeOptions {
    /// How long a cached listing, document or manifest is trusted while the
    /// change feed is not connected.
    pub ttl: Duration,
    /// Listings kept in memory.
    pub listings: usize,
    /// Bytes of chunks kept in memory (on top of the on-disk cache).
    pub chunk_memory: usize,
    /// Listings refreshed after another client's commit to tell
    /// subscribers precisely which names changed — at most this many, of
    /// those used in the last two seconds; the others are dropped and
    /// reported as changed (a subscriber lists again those it still
    /// shows). Commits made through this tree refresh nothing.
    pub refresh: usize,
}

impl Default for TreeOptions {
    fn default() -> Self {
        TreeOptions {
            ttl: Duration::from_secs(1),
            listings: 1024,
            chunk_memory: 64 << 20,
            refresh: 64,
        }
    }
}

/// One entry of the tree with its canonical path: what `lookup` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The canonical path: directories end with `/`, documents do not.
    pub path: String,
    /// What the listing of its directory says of it.
    pub entry: TreeEntry,
}

impl Node {
    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.entry.kind == EntryKind::Dir
    }

    /// The document, for a document.
    pub fn id(&self) -> Option<DocId> {
        self.entry.id
    }

    /// Its name in its directory.
    pub fn name(&self) -> &str {
        &self.entry.name
    }

    /// Content size (0 for a directory).
    pub fn size(&self) -> u64 {
        self.entry.size.unwrap_or(0)
    }

    /// The document's revision (the base of a write to it).
    pub fn rev(&self) -> Option<u64> {
        self.entry.rev
    }

    /// When it last changed, if known.
    pub fn modified(&self) -> Option<SystemTime> {
        self.entry.modified.as_deref().and_then(system_time)
    }

    /// Its file modification time: the `mtime` key where set, else when
    /// it last changed.
    pub fn mtime(&self) -> Option<SystemTime> {
        self.entry
            .mtime
            .as_deref()
            .and_then(system_time)
            .or_else(|| self.modified())
    }

    /// When it was created, if known.
    pub fn created(&self) -> Option<SystemTime> {
        self.entry.created.as_deref().and_then(system_time)
    }
}

/// An RFC 3339 time as a [`SystemTime`].
pub fn system_time(s: &str) -> Option<SystemTime> {
    let (secs, nanos) = docgrid_core::query::unix_time(s)?;
    let d = Duration::new(secs.unsigned_abs(), nanos);
    if secs >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(d)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(d)
    }
}

/// A whole directory listing, as the tree layer keeps it.
#[derive(Debug)]
pub struct Listing {
    /// The canonical path.
    pub path: String,
    /// The revision it was made at.
    pub rev: u64,
    entries: Vec<TreeEntry>,
    by_name: HashMap<String, usize>,
    /// Served from the cache because no server answered.
    pub stale: bool,
}

impl Listing {
    fn new(path: String, rev: u64, entries: Vec<TreeEntry>) -> Listing {
        let by_name = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.clone(), i))
            .collect();
        Listing {
            path,
            rev,
            entries,
            by_name,
            stale: false,
        }
    }

    /// Directories first, then documents.
    pub fn entries(&self) -> &[TreeEntry] {
        &self.entries
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&TreeEntry> {
        self.by_name.get(name).map(|&i| &self.entries[i])
    }

    /// The position of the entry called `name` in [`Listing::entries`].
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The entry of document `id`.
    pub fn by_id(&self, id: &DocId) -> Option<&TreeEntry> {
        self.entries.iter().find(|e| e.id.as_ref() == Some(id))
    }

    /// Whether the same entries as `other`.
    fn same_entries(&self, other: &Listing) -> bool {
        self.entries == other.entries
    }
}

/// The tree over one [`Client`]. Cheap to clone: clones share caches.
#[derive(Clone)]
pub struct Tree {
    client: Client,
    opts: TreeOptions,
    state: Arc<cache::State>,
    feed: Arc<Mutex<Option<ChangeFeed>>>,
}

impl Tree {
    /// A tree over `client` with default options.
    pub fn new(client: Client) -> Tree {
        Tree::with_options(client, TreeOptions::default())
    }

    /// A tree over `client`.
    pub fn with_options(client: Client, opts: TreeOptions) -> Tree {
        Tree {
            state: Arc::new(cache::State::new(&opts)),
            client,
            opts,
            feed: Arc::new(Mutex::new(None)),
        }
    }

    /// The client underneath.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Follows the server's change feed in a background thread: caches
    /// stay trusted until a commit touches them, and subscribers hear of
    /// every commit within a long poll's round trip. Idempotent.
    pub fn follow_changes(&self) {
        let mut feed = self.feed.lock().expect("poisoned");
        if feed.is_none() {
            let tree = Arc::downgrade(&self.state);
            let (client, opts) = (self.client.clone(), self.opts.clone());
            *feed = Some(ChangeFeed::start(self.client.clone(), move |event| {
                if let Some(state) = tree.upgrade() {
                    state.on_feed(&client, &opts, event);
                }
            }));
        }
    }

    /// Whether the change feed is connected (caches are current).
    pub fn is_live(&self) -> bool {
        self.state.is_live()
    }

    /// Tells of every change: which listed paths and documents changed, at
    /// which revision.
    pub fn subscribe(&self) -> std::sync::mpsc::Receiver<Changed> {
        self.state.subscribe()
    }

    /// The listing of directory `path` (any spelling: a trailing `/` is
    /// optional), from the cache when it is current.
    pub fn list(&self, path: &str) -> Result<Arc<Listing>, ClientError> {
        let dir = rules::parse_dir(path)?;
        self.list_dir(&dir)
    }

    fn list_dir(&self, dir: &Dir) -> Result<Arc<Listing>, ClientError> {
        let path = dir.to_path();
        if let Some(l) = self.state.listing(&path, &self.opts) {
            return Ok(l);
        }
        match cache::fetch(&self.client, &path) {
            Ok(l) => Ok(self.state.keep(l, &self.opts)),
            Err(e) if e.kind() == crate::ErrorKind::Unavailable => {
                self.state.stale_listing(&path).ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    /// The entry at `path`: `/` and every directory and document below it.
    /// A name is looked up in its directory's listing (one request for a
    /// whole directory of lookups); `/search/QUERY` exists for every query
    /// that parses and `/ids/ID` for every live document.
    pub fn lookup(&self, path: &str) -> Result<Node, ClientError> {
        let (dir, name) = rules::split_entry(path)?;
        let Some(name) = name else {
            return Ok(Node {
                path: "/".into(),
                entry: TreeEntry::dir("", None),
            });
        };
        match &dir {
            Dir::SearchRoot => {
                let child = dir.clone().child(&name)?;
                return Ok(Node {
                    path: child.to_path(),
                    entry: TreeEntry::dir(name, None),
                });
            }
            Dir::Ids => return self.lookup_id(&name),
            _ => {}
        }
        let listing = self.list_dir(&dir)?;
        let entry = listing
            .get(&name)
            .or_else(|| by_disambiguated(&listing, &name))
            .cloned()
            .ok_or_else(|| ClientError::NotFound {
                what: format!("no entry {name:?} in {}", dir.to_path()),
            })?;
        Ok(node_in(&dir, entry))
    }

    /// A path as a person typed it, with an ASCII `/` inside a tag or
    /// `/by/` value (`/by/mime/text/plain/`), in the tree's spelling
    /// (`/by/mime/text∕plain/`): see [`rules::join_typed_slashes`]. Asks
    /// the server for the tags or values only where a join is possible; if
    /// it cannot answer, the path is taken as typed.
    pub fn typed(&self, path: &str) -> String {
        rules::join_typed_slashes(path, &mut |known| {
            let counts = match known {
                rules::Known::Tags => self.client.tags(),
                rules::Known::Values(key) => self.client.values(key),
            };
            counts
                .map(|c| c.into_iter().map(|c| c.value).collect())
                .unwrap_or_default()
        })
    }

    /// What a user names: a document id, or a tree path (see
    /// [`Tree::lookup`]).
    pub fn resolve(&self, target: &str) -> Result<Node, ClientError> {
        if !target.starts_with('/') && target.parse::<DocId>().is_ok() {
            return self.lookup_id(target);
        }
        self.lookup(target)
    }

    /// `/ids/ID`: the document with that id.
    pub(crate) fn lookup_id(&self, name: &str) -> Result<Node, ClientError> {
        let not_found = || ClientError::NotFound {
            what: format!("no document {name:?} in /ids/"),
        };
        let id: DocId = name.parse().map_err(|_| not_found())?;
        let doc = match self.doc(&id) {
            Err(e) if e.kind() == crate::ErrorKind::NotFound => return Err(not_found()),
            other => other?,
        };
        Ok(Node {
            path: format!("/ids/{id}"),
            entry: doc_entry(id.to_string(), &doc),
        })
    }

    /// A document's metadata, from the cache when it is current.
    pub fn doc(&self, id: &DocId) -> Result<Arc<DocInfo>, ClientError> {
        if let Some(d) = self.state.doc(id, &self.opts) {
            return Ok(d);
        }
        self.fetch_doc(id)
    }

    /// A document's metadata from a server, kept in the cache.
    fn fetch_doc(&self, id: &DocId) -> Result<Arc<DocInfo>, ClientError> {
        let generation = self.state.generation();
        let d = match self.client.doc(id) {
            Ok(d) => Arc::new(d),
            Err(e) if e.kind() == crate::ErrorKind::Unavailable => {
                let d = self.state.stale_doc(id).ok_or(e)?;
                tracing::warn!("document {id}: no server answers; its last known metadata");
                return Ok(d);
            }
            Err(e) => return Err(e),
        };
        self.state.keep_doc(d.clone(), generation);
        Ok(d)
    }

    /// The value of extended attribute `name` (`user.docgrid.KEY`) of
    /// document `id`: its values joined by newlines; `None` when unset.
    pub fn get_xattr(&self, id: &DocId, name: &str) -> Result<Option<String>, ClientError> {
        Ok(rules::xattr_get(&self.doc(id)?.meta, name))
    }

    /// The extended attributes document `id` has.
    pub fn list_xattrs(&self, id: &DocId) -> Result<Vec<String>, ClientError> {
        Ok(rules::xattr_names(&self.doc(id)?.meta))
    }

    /// Forgets everything cached (listings, documents, manifests).
    pub fn invalidate_all(&self) {
        self.state.clear();
    }
}

/// A document once shown as `stem~SHORTID.ext` (a clash), under the name
/// the listing gives it now: the entry whose id starts with SHORTID and
/// whose name is `stem.ext` or a disambiguation of it.
fn by_disambiguated<'a>(listing: &'a Listing, shown: &str) -> Option<&'a TreeEntry> {
    let (base, short) = rules::parse_disambiguated(shown)?;
    listing.entries().iter().find(|e| {
        e.kind == EntryKind::Doc
            && e.id.is_some_and(|id| rules::id_has_prefix(&id, &short))
            && (e.name == base
                || rules::parse_disambiguated(&e.name).is_some_and(|(b, _)| b == base))
    })
}

/// A listing's entry as a node of directory `dir`.
fn node_in(dir: &Dir, entry: TreeEntry) -> Node {
    let path = match entry.kind {
        EntryKind::Dir => dir.clone().child(&entry.name).map_or_else(
            |_| format!("{}{}/", dir.to_path(), entry.name),
            |d| d.to_path(),
        ),
        EntryKind::Doc => format!("{}{}", dir.to_path(), entry.name),
    };
    Node { path, entry }
}

/// A document's entry called `name`, from its metadata (what a listing
/// would say of it).
pub fn doc_entry(name: String, doc: &DocInfo) -> TreeEntry {
    let first = |k: &str| doc.meta.get(k).and_then(|v| v.first()).cloned();
    TreeEntry {
        kind: EntryKind::Doc,
        name,
        id: Some(doc.id),
        size: Some(doc.size),
        hash: Some(doc.hash),
        count: None,
        rev: Some(doc.rev),
        mime: first("mime"),
        created: first("created"),
        modified: first("modified"),
        mtime: first(docgrid_core::api::MTIME_KEY),
    }
}
