//! Migrating files of the lower directory into the store, one at a time,
//! as the overlay's background migration and its read-through uploads do:
//! each file becomes a document under the overlay's `/files/` prefix with
//! `path` = its place there, its name, its `mtime`, and the overlay's
//! tags; the [`Journal`] records each step, so a crash at any point
//! neither loses a migration nor makes a second document.
//!
//! - The file is stat'ed before and after its upload: a file that changed
//!   meanwhile is left dirty (migrated again later), never recorded with
//!   bytes it no longer has.
//! - A file already migrated and since changed (dirty) gets new content
//!   in the same document (the store keeps the old revision).
//! - A document already at the file's path — an upload whose commit
//!   landed but whose journal entry did not — is adopted when it has the
//!   same bytes, and given the new bytes otherwise: never a duplicate.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::SystemTime;

use docgrid_client::ClientError;
use docgrid_client::tree::{Content, Tree, walk};
use docgrid_core::DocId;
use docgrid_core::api::MTIME_KEY;
use docgrid_core::model::Op;
use docgrid_core::tree::{self as rules, Dir};

use super::journal::{Journal, JournalError, Migrated, Seen, SyncState};
use super::layers::Hidden;

/// Why a file could not be migrated.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The journal refused.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The store refused (recorded as the file's failure).
    #[error("{0}")]
    Store(#[from] ClientError),
    /// The lower file could not be read.
    #[error("{path}: {source}")]
    Lower {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What [`Migrator::scan`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scan {
    /// Regular files seen.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Of them, migrated files found changed behind the overlay's back.
    pub changed: u64,
}

/// Moves files of one lower directory into the store.
pub struct Migrator {
    pub(super) tree: Tree,
    pub(super) journal: Arc<Journal>,
    pub(super) lower: PathBuf,
    /// The `/files/` directory the lower directory's top is (`/files/NAME/`).
    pub(super) prefix: Vec<String>,
    pub(super) tags: Vec<String>,
    /// Write-back's spool: where a spooled file's bytes are.
    pub(super) upper: Option<PathBuf>,
    /// Write-back: the lower paths the view does not show.
    pub(super) hidden: Option<Arc<Hidden>>,
    /// Paths being migrated: one migration of a path at a time.
    busy: Mutex<HashSet<String>>,
    freed: Condvar,
    /// Scans of the lower directory completed.
    scans: std::sync::atomic::AtomicU64,
}

/// Bounds the bytes per second read by whoever shares it (the background
/// migration's `--background RATE`).
pub struct Throttle {
    rate: u64,
    spent: Mutex<(std::time::Instant, u64)>,
}

impl Throttle {
    /// At most `rate` bytes per second (at least 1).
    pub fn new(rate: u64) -> Throttle {
        Throttle {
            rate: rate.max(1),
            spent: Mutex::new((std::time::Instant::now(), 0)),
        }
    }

    /// Accounts for `n` bytes, sleeping as long as the rate requires.
    /// The account restarts after a second of idleness, so a pause is not
    /// made up for by a burst.
    pub fn take(&self, n: u64) {
        let wait = {
            let mut s = self.spent.lock().expect("poisoned");
            let now = std::time::Instant::now();
            let due = s.0 + std::time::Duration::from_secs_f64(s.1 as f64 / self.rate as f64);
            if now > due + std::time::Duration::from_secs(1) {
                *s = (now, 0);
            }
            s.1 += n;
            let due = s.0 + std::time::Duration::from_secs_f64(s.1 as f64 / self.rate as f64);
            due.saturating_duration_since(now)
        };
        std::thread::sleep(wait);
    }
}

/// A reader whose reads are accounted to a [`Throttle`].
struct Throttled<R> {
    inner: R,
    throttle: Arc<Throttle>,
}

impl<R: Read> Read for Throttled<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Small steps, so the rate holds within a large file too.
        let len = buf.len().min(256 << 10);
        let n = self.inner.read(&mut buf[..len])?;
        self.throttle.take(n as u64);
        Ok(n)
    }
}

/// Paths held by [`Migrator::hold`]; freed when dropped.
pub struct Slot<'a> {
    m: &'a Migrator,
    paths: Vec<String>,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut busy = self.m.busy.lock().expect("poisoned");
        for p in &self.paths {
            busy.remove(p);
        }
        drop(busy);
        self.m.freed.notify_all();
    }
}

/// Whether one of `a` and `b` is the other or below it (`""` is the top).
fn overlaps(a: &str, b: &str) -> bool {
    let below = |x: &str, y: &str| {
        y.is_empty() || x == y || (x.starts_with(y) && x.as_bytes()[y.len()] == b'/')
    };
    below(a, b) || below(b, a)
}

impl Migrator {
    /// A migrator of `lower` into `/files/PREFIX/` (PREFIX without the
    /// `/files/` part, `a/b`), tagging every document with `tags`.
    pub fn new(
        tree: Tree,
        journal: Arc<Journal>,
        lower: &Path,
        prefix: &str,
        tags: &[String],
    ) -> Migrator {
        Migrator {
            tree,
            journal,
            lower: lower.to_path_buf(),
            prefix: prefix
                .split('/')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            tags: tags.to_vec(),
            upper: None,
            hidden: None,
            busy: Mutex::new(HashSet::new()),
            freed: Condvar::new(),
            scans: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Write-back: reads spooled files from the spool at `upper`, and
    /// leaves the lower files `hidden` hides alone (a deleted or renamed
    /// lower file is never migrated, a copied-up one migrates from the
    /// spool).
    pub fn with_upper(mut self, upper: &Path, hidden: Arc<Hidden>) -> Migrator {
        self.upper = Some(upper.to_path_buf());
        self.hidden = Some(hidden);
        self
    }

    /// What hides lower files (write-back).
    pub fn hidden(&self) -> Option<&Arc<Hidden>> {
        self.hidden.as_ref()
    }

    /// The tree layer it commits through.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The journal it records in.
    pub fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }

    /// Whether a migration or change holds `rel` now (another worker's
    /// batch: not to be taken twice).
    pub fn is_held(&self, rel: &str) -> bool {
        self.busy.lock().expect("poisoned").contains(rel)
    }

    /// Whether no migration or namespace change holds any path now.
    pub fn is_idle(&self) -> bool {
        self.busy.lock().expect("poisoned").is_empty()
    }

    /// How many scans of the lower directory have completed.
    pub fn scans(&self) -> u64 {
        self.scans.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Waits until no migration or namespace change touches `paths` (a
    /// path, one of its ancestors or descendants), then holds them all:
    /// a migration holds its file, a rename both its ends, a delete its
    /// path, so none of them sees the others half done.
    pub fn hold(&self, paths: &[&str]) -> Slot<'_> {
        let mut busy = self.busy.lock().expect("poisoned");
        while busy.iter().any(|b| paths.iter().any(|p| overlaps(b, p))) {
            busy = self.freed.wait(busy).expect("poisoned");
        }
        busy.extend(paths.iter().map(|p| p.to_string()));
        Slot {
            m: self,
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// Walks the lower directory (the tree layer's `walk`) and tells the
    /// journal what every regular file looks like (new files become
    /// lower-only; migrated files that changed become dirty). Symbolic
    /// links are not files to migrate.
    pub fn scan(&self) -> Result<Scan, MigrateError> {
        // The lower directory itself must be there; below it, what cannot
        // be read is left for the next scan.
        std::fs::read_dir(&self.lower).map_err(|source| MigrateError::Lower {
            path: self.lower.display().to_string(),
            source,
        })?;
        let mut scan = Scan::default();
        let (files, _links_and_unreadable) = walk(std::slice::from_ref(&self.lower), false);
        let seen: Vec<(String, Seen)> = files
            .iter()
            .filter_map(|f| {
                let rel = f.file.strip_prefix(&self.lower).ok()?.to_str()?;
                if self.hidden.as_ref().is_some_and(|h| h.shadows(rel)) {
                    return None;
                }
                Some((rel.to_string(), seen_at(f.size, f.modified)))
            })
            .collect();
        for batch in seen.chunks(1000) {
            scan.changed += self.journal.observe_all(batch)?;
        }
        scan.files = seen.len() as u64;
        scan.bytes = seen.iter().map(|(_, s)| s.size).sum();
        self.scans.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Ok(scan)
    }

    /// Migrates the file at `rel` (relative to the lower directory) if the
    /// journal has it lower-only, dirty or failed; returns its state after.
    /// A store failure is recorded as the file's failure (with the reason)
    /// and returned.
    pub fn migrate(&self, rel: &str) -> Result<SyncState, MigrateError> {
        self.migrate_with(rel, None)
    }

    /// [`Migrator::migrate`], reading the lower file no faster than
    /// `throttle` allows. Waits for a migration of the same file under
    /// way, then migrates it again if it is still not migrated.
    pub fn migrate_with(
        &self,
        rel: &str,
        throttle: Option<&Arc<Throttle>>,
    ) -> Result<SyncState, MigrateError> {
        let _slot = self.hold(&[rel]);
        let Some((file, before, spooled)) = self.source(rel)? else {
            return Ok(self
                .journal
                .get(rel)?
                .map_or(SyncState::LowerOnly, |r| r.state));
        };
        if !self.journal.begin(rel, before, spooled)? {
            return Ok(self
                .journal
                .get(rel)?
                .map_or(SyncState::LowerOnly, |r| r.state));
        }
        match self.upload(rel, &file, before, throttle) {
            Ok(m) => {
                // Changed while it was read: what was uploaded is not what
                // the file holds now.
                if self.stat(&file, rel)? != before {
                    self.journal.dirty(rel)?;
                }
                Ok(self.journal.migrated(rel, &m)?)
            }
            Err(e) => {
                self.journal.failed(rel, &e.to_string())?;
                Err(e)
            }
        }
    }

    /// Where the bytes of `rel` are to be migrated from (the spool for a
    /// spooled file, else the lower directory), how the file looks there
    /// and whether it is the spool. `None` when there is nothing to
    /// migrate: already migrated (the record stays as it is), or deleted
    /// or renamed away in the view (whited out) or deleted behind the
    /// overlay's back (the record is forgotten). Must be called holding
    /// `rel`.
    pub(super) fn source(&self, rel: &str) -> Result<Option<(PathBuf, Seen, bool)>, MigrateError> {
        let record = self.journal.get(rel)?;
        if record
            .as_ref()
            .is_some_and(|r| matches!(r.state, SyncState::Migrated | SyncState::Migrating))
        {
            // A spooled file uploaded already (perhaps left the spool for
            // its placeholder): its bytes are not in the lower directory.
            return Ok(None);
        }
        let spooled = record.is_some_and(|r| r.spooled);
        if !spooled && self.hidden.as_ref().is_some_and(|h| h.whited_out(rel)) {
            self.journal.removed(rel)?;
            return Ok(None);
        }
        let file = match (&self.upper, spooled) {
            (Some(up), true) => up.join(rel),
            _ => self.lower.join(rel),
        };
        match self.stat(&file, rel) {
            Ok(seen) => Ok(Some((file, seen, spooled))),
            Err(MigrateError::Lower { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                self.journal.removed(rel)?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The document `rel` is migrated into: the one the journal records,
    /// else one already at its place (a commit whose journal entry was
    /// lost), else none (a new one).
    pub(super) fn doc_of(
        &self,
        rel: &str,
        dir: &Dir,
        name: &str,
    ) -> Result<Option<DocId>, MigrateError> {
        match self.journal.get(rel)?.and_then(|r| r.doc) {
            Some(id) => Ok(Some(id)),
            None => self.doc_at(dir, name),
        }
    }

    /// Migrates every file the journal has lower-only, dirty or failed, a
    /// batch at a time; returns how many it migrated and the failures.
    pub fn migrate_all(&self) -> Result<(u64, Vec<(String, String)>), MigrateError> {
        let (mut done, mut failed) = (0, Vec::new());
        for state in [SyncState::LowerOnly, SyncState::Dirty, SyncState::Failed] {
            for r in self.journal.in_state(state, u64::MAX >> 1)? {
                match self.migrate(&r.path) {
                    Ok(SyncState::Migrated) => done += 1,
                    Ok(_) => {}
                    Err(MigrateError::Journal(e)) => return Err(e.into()),
                    Err(e) => failed.push((r.path.clone(), e.to_string())),
                }
            }
        }
        Ok((done, failed))
    }

    pub(super) fn stat(&self, file: &Path, rel: &str) -> Result<Seen, MigrateError> {
        let meta = std::fs::metadata(file).map_err(|source| MigrateError::Lower {
            path: rel.to_string(),
            source,
        })?;
        Ok(seen_of(&meta))
    }

    /// Uploads `file` and commits it as the document at its path: new,
    /// adopted, or given new content.
    fn upload(
        &self,
        rel: &str,
        file: &Path,
        seen: Seen,
        throttle: Option<&Arc<Throttle>>,
    ) -> Result<Migrated, MigrateError> {
        let (dir, name) = self.place(rel);
        let content = match throttle {
            None => Content::File(file.to_path_buf()),
            Some(t) => {
                let f = std::fs::File::open(file).map_err(|source| MigrateError::Lower {
                    path: rel.to_string(),
                    source,
                })?;
                Content::Reader(Box::new(Throttled {
                    inner: f,
                    throttle: t.clone(),
                }))
            }
        };
        let manifest = self.tree.upload(content)?;
        let hash = manifest.hash;
        let mtime = mtime_of(seen);
        let (doc, rev) = match self.doc_of(rel, &dir, &name)? {
            Some(id) => (id, self.update(id, rel, manifest, mtime)?),
            None => self.create(rel, &dir, &name, manifest, mtime)?,
        };
        Ok(Migrated {
            seen,
            hash,
            doc,
            rev,
        })
    }

    /// Gives document `id` the uploaded `manifest` and `mtime` (unless
    /// it has those bytes already: adopted as it is); its revision.
    fn update(
        &self,
        id: DocId,
        rel: &str,
        manifest: docgrid_core::model::Manifest,
        mtime: String,
    ) -> Result<u64, MigrateError> {
        match self.update_ops(id, manifest, mtime)? {
            Ok(rev) => Ok(rev),
            Err(ops) => Ok(self.tree.commit(&format!("overlay: update {rel}"), ops)?),
        }
    }

    /// What giving document `id` the bytes of `manifest` takes: nothing
    /// when it has them (`Ok`: its revision), else the ops (new content
    /// and `mtime`).
    pub(super) fn update_ops(
        &self,
        id: DocId,
        manifest: docgrid_core::model::Manifest,
        mtime: String,
    ) -> Result<Result<u64, Vec<Op>>, MigrateError> {
        let current = self.tree.doc(&id)?;
        if current.hash == manifest.hash {
            return Ok(Ok(current.rev));
        }
        let base = current.rev;
        Ok(Err(vec![
            Op::SetContent {
                id,
                base,
                content: manifest,
            },
            Op::SetMeta {
                id,
                base,
                key: MTIME_KEY.into(),
                values: vec![mtime],
            },
        ]))
    }

    /// A new document `name` in `dir` for `rel`: its id and revision.
    fn create(
        &self,
        rel: &str,
        dir: &Dir,
        name: &str,
        manifest: docgrid_core::model::Manifest,
        mtime: String,
    ) -> Result<(DocId, u64), MigrateError> {
        let (id, op) = self.create_op(dir, name, manifest, mtime)?;
        let rev = self
            .tree
            .commit(&format!("overlay: migrate {rel}"), vec![op])?;
        Ok((id, rev))
    }

    /// The op creating document `name` in `dir` with `manifest`, its
    /// `mtime` and the overlay's tags, and the new document's id.
    pub(super) fn create_op(
        &self,
        dir: &Dir,
        name: &str,
        manifest: docgrid_core::model::Manifest,
        mtime: String,
    ) -> Result<(DocId, Op), MigrateError> {
        let id = DocId::random();
        let mut new = rules::plan_create(dir, name).map_err(ClientError::from)?;
        new.meta.insert(MTIME_KEY.into(), vec![mtime]);
        if !self.tags.is_empty() {
            new.meta.insert("tag".into(), self.tags.clone());
        }
        Ok((id, new.op(id, manifest)))
    }

    /// The `/files/` directory and name of the file at `rel`.
    pub fn place(&self, rel: &str) -> (Dir, String) {
        let mut parts = self.prefix.clone();
        let (folders, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        parts.extend(
            folders
                .split('/')
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        );
        (Dir::Files(parts), name.to_string())
    }

    /// The document `dir` lists as `name`, if any.
    fn doc_at(&self, dir: &Dir, name: &str) -> Result<Option<DocId>, MigrateError> {
        match self.tree.list(&dir.to_path()) {
            Ok(l) => Ok(l.get(name).and_then(|e| e.id)),
            Err(e) if e.kind() == docgrid_client::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// How the journal records a lower file with metadata `meta`.
pub fn seen_of(meta: &std::fs::Metadata) -> Seen {
    seen_at(meta.len(), meta.modified().ok())
}

/// A file of `size` bytes last modified at `modified`, as the journal
/// records it.
fn seen_at(size: u64, modified: Option<SystemTime>) -> Seen {
    let mtime_ns = modified
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    Seen { size, mtime_ns }
}

/// The `mtime` key's value for `seen`.
pub(super) fn mtime_of(seen: Seen) -> String {
    let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(seen.mtime_ns.max(0) as u64);
    crate::fs::rfc3339(t)
}
