//! Importing local files into a directory of the tree: what a drop onto a
//! GUI column (or a copy into a mount) means. Each file becomes a
//! document with the metadata the directory implies (core's
//! `plan_create`: tags on the path, `K=V` pairs, `path` under `/files/`);
//! a dropped folder brings the files inside it, which under `/files/`
//! keep their place below the folder's name and elsewhere all take the
//! directory's metadata.
//!
//! Importing again creates nothing twice: a file whose name the
//! directory already lists (or lists disambiguated, `stem~ID.ext`) with
//! the same content is left alone. Under `/files/`, where a path names one
//! document, other content at that path becomes the document's next
//! revision, and two files of one import landing on one path are not both
//! imported (the second is skipped, named). Elsewhere a name says nothing
//! of identity: other content under a listed name is a new document,
//! never an overwrite of an unrelated one.
//!
//! What a file's fate is, is decided before anything is sent, from the
//! directory listings (one request per directory: entries carry each
//! document's size and content hash): a file whose size differs from its
//! document's is changed without being read; one of the same size is
//! hashed locally. Only new and changed files go through the upload
//! pipeline (only chunks the server lacks are sent, small files batched),
//! and at most [`BATCH`] files make one commit: a failure stops the import
//! with what earlier commits stored kept and reported
//! ([`ImportReport::error`]). What cannot be read is skipped and named,
//! never the end of the import.
//!
//! This is the one importer: `docgrid import` (into `/files/`, with
//! [`ImportOptions`] for its tags, values, message and `--dry-run`) and a
//! drop onto a GUI column both run it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use docgrid_core::DocId;
use docgrid_core::api::TreeEntry;
use docgrid_core::chunk::Digest;
use docgrid_core::error_chain;
use docgrid_core::model::{Metadata, Op};
use docgrid_core::tree::{self as rules, Dir};

use super::{Listing, Tree};
use crate::error::ClientError;
use crate::upload::UploadStats;

/// Files per commit.
pub const BATCH: usize = 1000;

/// How far an import is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportProgress {
    /// Files read so far.
    pub files: u64,
    /// Files to import.
    pub files_total: u64,
    /// Bytes read so far.
    pub bytes: u64,
    /// Bytes to import.
    pub bytes_total: u64,
    /// Bytes the server lacked, sent (the rest was there: deduplicated).
    pub bytes_sent: u64,
}

impl ImportProgress {
    /// Bytes not sent because the server had them.
    pub fn deduplicated(&self) -> u64 {
        self.bytes.saturating_sub(self.bytes_sent)
    }
}

/// How an import runs; the default is what a drop onto a column does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Metadata for every imported document besides what its directory
    /// implies (`--tag`, `--set`): new documents get it, existing ones
    /// get the values they lack.
    pub meta: Metadata,
    /// Follow symbolic links while walking (a directory reached twice is
    /// walked once).
    pub follow_symlinks: bool,
    /// Decide and report what would happen; send and commit nothing.
    pub dry_run: bool,
    /// The commits' message (default: "import N file(s) into DIR").
    pub message: Option<String>,
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportAction {
    /// A new document.
    New,
    /// Its document got new content or metadata.
    Updated,
    /// Its document already had its content (and metadata).
    Unchanged,
}

/// One file of an import, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedFile {
    /// The local file.
    pub file: PathBuf,
    /// Its path below the directory imported into.
    pub rel: String,
    /// Its document (none for a new file of a dry run).
    pub id: Option<DocId>,
    /// What happened.
    pub action: ImportAction,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// The directory imported into.
    pub dir: String,
    /// Every file decided, in walk order, with what became of it (new,
    /// updated, unchanged: [`ImportReport::count`]).
    pub files: Vec<ImportedFile>,
    /// What was not imported, and why (symbolic links, special files,
    /// names that are not UTF-8).
    pub skipped: Skipped,
    /// The last commit's revision, if anything was committed.
    pub rev: Option<u64>,
    /// Files and bytes moved.
    pub progress: ImportProgress,
    /// Why the import stopped before its end, if it did (what earlier
    /// commits stored stays, and is counted above).
    pub error: Option<String>,
}

/// A local file and where it goes, relative to the target directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// The file.
    pub file: PathBuf,
    /// Its path below the directory it is imported into: its name, after
    /// the names of the dropped folders it was found in.
    pub rel: String,
    /// Its size when walked.
    pub size: u64,
    /// Its modification time when walked.
    pub modified: Option<std::time::SystemTime>,
}

/// Why a file was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// A symbolic link (not followed).
    Symlink,
    /// Not a regular file or directory (a socket, a device, a FIFO).
    Special,
    /// Its name is not UTF-8.
    NotUtf8,
    /// Its name (or a folder's on its way) is one docgrid refuses: a
    /// control character, a bidirectional control, too long (the reason).
    BadName(String),
    /// A directory already walked (a symbolic link loop).
    Loop,
    /// It could not be read.
    Unreadable(String),
    /// Another file of this import lands on the same `/files/` path.
    SamePath,
    /// Several documents already have this `/files/` path.
    Ambiguous(usize),
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::Symlink => f.write_str("a symbolic link"),
            SkipReason::Special => f.write_str("not a regular file"),
            SkipReason::NotUtf8 => f.write_str("its name is not UTF-8"),
            SkipReason::BadName(why) => f.write_str(why),
            SkipReason::Loop => f.write_str("a directory already walked (a link loop)"),
            SkipReason::Unreadable(e) => write!(f, "unreadable: {e}"),
            SkipReason::SamePath => f.write_str("another file of this import has its path"),
            SkipReason::Ambiguous(n) => write!(f, "{n} documents already have its path"),
        }
    }
}

/// Why docgrid refuses a name on `rel`'s way (its folders and itself; a
/// `.` such as `/proc/self/fd/N/.` leaves is no name), if it does.
fn refused_name(rel: &str) -> Option<String> {
    Path::new(rel)
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => n.to_str(),
            _ => None,
        })
        .find_map(|n| docgrid_core::model::validate_name(n).err())
        .map(|e| e.to_string())
}

/// What a walk or an import left out: each path, and why.
pub type Skipped = Vec<(PathBuf, SkipReason)>;

/// The regular files of `sources` (files, and folders walked recursively
/// in name order), each with its path relative to its source's parent;
/// symbolic links are followed only with `follow` (a directory reached
/// twice is walked once), and what is left out is returned with the
/// reason — an unreadable file or folder included.
pub fn walk(sources: &[PathBuf], follow: bool) -> (Vec<LocalFile>, Skipped) {
    let (mut out, mut skipped) = (Vec::new(), Vec::new());
    let mut walked = HashSet::new();
    for root in sources {
        let base = root.parent().unwrap_or(Path::new(""));
        let mut stack = vec![root.clone()];
        while let Some(p) = stack.pop() {
            match visit(&p, follow, &mut walked) {
                Ok(Visit::Dir(children)) => stack.extend(children.into_iter().rev()),
                Ok(Visit::File(meta)) => match p.strip_prefix(base).unwrap_or(&p).to_str() {
                    Some(rel) if let Some(why) = refused_name(rel) => {
                        skipped.push((p.clone(), SkipReason::BadName(why)));
                    }
                    Some(rel) => {
                        let rel = rel.to_string();
                        let (size, modified) = (meta.len(), meta.modified().ok());
                        out.push(LocalFile {
                            file: p,
                            rel,
                            size,
                            modified,
                        });
                    }
                    None => skipped.push((p, SkipReason::NotUtf8)),
                },
                Err(why) => skipped.push((p, why)),
            }
        }
    }
    (out, skipped)
}

/// What one path of a walk is.
enum Visit {
    /// A directory's entries, sorted.
    Dir(Vec<PathBuf>),
    /// A regular file, as its metadata says.
    File(std::fs::Metadata),
}

fn visit(p: &Path, follow: bool, walked: &mut HashSet<(u64, u64)>) -> Result<Visit, SkipReason> {
    use std::os::unix::fs::MetadataExt;
    let unreadable = |e: std::io::Error| SkipReason::Unreadable(e.to_string());
    let link = std::fs::symlink_metadata(p).map_err(unreadable)?;
    if link.file_type().is_symlink() && !follow {
        return Err(SkipReason::Symlink);
    }
    let meta = std::fs::metadata(p).map_err(unreadable)?;
    if meta.is_file() {
        return Ok(Visit::File(meta));
    }
    if !meta.is_dir() {
        return Err(SkipReason::Special);
    }
    if !walked.insert((meta.dev(), meta.ino())) {
        return Err(SkipReason::Loop);
    }
    let mut children: Vec<PathBuf> = std::fs::read_dir(p)
        .and_then(|d| d.map(|e| e.map(|e| e.path())).collect())
        .map_err(unreadable)?;
    children.sort();
    Ok(Visit::Dir(children))
}

/// The state of one import across its commits.
struct Run<'a> {
    opts: &'a ImportOptions,
    /// Listings of the target directories (`None`: it does not exist
    /// yet), until the next commit changes them.
    listings: HashMap<String, Option<Arc<Listing>>>,
    /// `/files/` paths this import has written.
    seen: HashSet<String>,
}

/// What becomes of one file.
enum Fate {
    /// A document already has its name: its content is the file's
    /// (`same`) or becomes it; `meta` adds what the options add.
    Existing {
        id: DocId,
        base: u64,
        same: bool,
        meta: Vec<Op>,
    },
    Create,
    Skip(SkipReason),
}

impl Fate {
    fn uploads(&self) -> bool {
        matches!(self, Fate::Create | Fate::Existing { same: false, .. })
    }
}

impl Tree {
    /// Imports `sources` (files and folders) into directory `dir` with the
    /// default options ([`Tree::import_with`]).
    pub fn import(
        &self,
        dir: &str,
        sources: &[PathBuf],
        progress: &dyn Fn(&ImportProgress),
    ) -> Result<ImportReport, ClientError> {
        self.import_with(dir, sources, &ImportOptions::default(), progress)
    }

    /// Imports `sources` (files and folders) into directory `dir`, as the
    /// module says; `progress` is told after every window of files. A
    /// directory no document can be created in is refused before
    /// anything is read; a later failure ends the import with
    /// [`ImportReport::error`] set.
    pub fn import_with(
        &self,
        dir: &str,
        sources: &[PathBuf],
        opts: &ImportOptions,
        progress: &dyn Fn(&ImportProgress),
    ) -> Result<ImportReport, ClientError> {
        let d = rules::parse_dir(dir)?;
        rules::plan_create(&d, "probe")?;
        let (files, skipped) = walk(sources, opts.follow_symlinks);
        let mut report = ImportReport {
            dir: d.to_path(),
            skipped,
            ..ImportReport::default()
        };
        report.progress.files_total = files.len() as u64;
        report.progress.bytes_total = files.iter().map(|f| f.size).sum();
        let mut run = Run {
            opts,
            listings: HashMap::new(),
            seen: HashSet::new(),
        };
        for batch in files.chunks(BATCH) {
            if let Err(e) = self.import_batch(&d, batch, &mut run, &mut report, progress) {
                report.error = Some(error_chain(&e));
                break;
            }
        }
        Ok(report)
    }

    /// One commit of an import: every file's fate decided, the new and
    /// changed ones uploaded, one commit.
    fn import_batch(
        &self,
        dir: &Dir,
        batch: &[LocalFile],
        run: &mut Run<'_>,
        report: &mut ImportReport,
        progress: &dyn Fn(&ImportProgress),
    ) -> Result<(), ClientError> {
        let mut fates = Vec::with_capacity(batch.len());
        for f in batch {
            let (target, name) = target(dir, &f.rel);
            let fate = self.fate(&target, &name, f, run)?;
            fates.push((target, name, fate));
        }
        let base = report.progress;
        let mut stats = UploadStats::default();
        let uploads: Vec<&Path> = batch
            .iter()
            .zip(&fates)
            .filter(|(_, (_, _, fate))| fate.uploads())
            .map(|(f, _)| f.file.as_path())
            .collect();
        let mut manifests = if run.opts.dry_run {
            Vec::new()
        } else {
            let show = |s: &UploadStats| progress(&advanced(base, s));
            self.client.upload_files(&uploads, &mut stats, &show)?
        }
        .into_iter();
        let mut ops = Vec::new();
        let mut done = Vec::with_capacity(batch.len());
        for (f, (target, name, fate)) in batch.iter().zip(fates) {
            if !fate.uploads() || run.opts.dry_run {
                stats.files += 1;
                stats.bytes += f.size;
            }
            if let Fate::Skip(why) = fate {
                report.skipped.push((f.file.clone(), why));
                continue;
            }
            let mut content = || manifests.next().expect("one manifest per upload");
            let (id, action) = outcome(&target, &name, fate, run.opts, &mut content, &mut ops)?;
            done.push(ImportedFile {
                file: f.file.clone(),
                rel: f.rel.clone(),
                id,
                action,
            });
        }
        if !ops.is_empty() && !run.opts.dry_run {
            let message =
                run.opts.message.clone().unwrap_or_else(|| {
                    format!("import {} file(s) into {}", ops.len(), dir.to_path())
                });
            report.rev = Some(self.commit(&message, ops)?);
            run.listings.clear();
        }
        // Counted only once committed: a failed batch adds nothing.
        report.progress = advanced(base, &stats);
        progress(&report.progress);
        report.files.extend(done);
        Ok(())
    }

    /// What becomes of file `f` imported as `name` into `dir` (see the
    /// module).
    fn fate(
        &self,
        dir: &Dir,
        name: &str,
        f: &LocalFile,
        run: &mut Run<'_>,
    ) -> Result<Fate, ClientError> {
        let in_files = matches!(dir, Dir::Files(_));
        if in_files && !run.seen.insert(format!("{}{name}", dir.to_path())) {
            return Ok(Fate::Skip(SkipReason::SamePath));
        }
        let there = self.named(dir, name, run)?;
        let mut local: Option<Digest> = None;
        let mut others = Vec::with_capacity(there.len());
        for e in there {
            let id = e.id.expect("named entries are documents");
            let (hash, rev, size) = match (e.hash, e.rev, e.size) {
                (Some(h), Some(r), Some(s)) => (h, r, s),
                _ => {
                    let d = self.doc(&id)?;
                    (d.hash, d.rev, d.size)
                }
            };
            if size == f.size {
                let mine = match local {
                    Some(h) => h,
                    None => match Digest::of_file(&f.file) {
                        Ok(h) => *local.insert(h),
                        Err(e) => return Ok(Fate::Skip(SkipReason::Unreadable(e.to_string()))),
                    },
                };
                if mine == hash {
                    let meta = self.meta_ops(id, &run.opts.meta)?;
                    return Ok(Fate::Existing {
                        id,
                        base: rev,
                        same: true,
                        meta,
                    });
                }
            }
            others.push((id, rev));
        }
        Ok(match others.as_slice() {
            [] => Fate::Create,
            [(id, rev)] if in_files => Fate::Existing {
                id: *id,
                base: *rev,
                same: false,
                meta: self.meta_ops(*id, &run.opts.meta)?,
            },
            several if in_files => Fate::Skip(SkipReason::Ambiguous(several.len())),
            _ => Fate::Create,
        })
    }

    /// The `SetMeta` ops giving document `id` the values of `extra` it
    /// lacks (none, and no request, for no extra metadata).
    fn meta_ops(&self, id: DocId, extra: &Metadata) -> Result<Vec<Op>, ClientError> {
        if extra.is_empty() {
            return Ok(Vec::new());
        }
        let doc = self.doc(&id)?;
        let mut ops = Vec::new();
        for (k, vs) in extra {
            let mut values = doc.meta.get(k).cloned().unwrap_or_default();
            let before = values.len();
            for v in vs {
                if !values.contains(v) {
                    values.push(v.clone());
                }
            }
            if values.len() != before {
                ops.push(Op::SetMeta {
                    id,
                    base: doc.rev,
                    key: k.clone(),
                    values,
                });
            }
        }
        Ok(ops)
    }

    /// The entries `dir` lists as `name`, or disambiguated from it
    /// (`stem~ID.ext`); none for a directory that does not exist yet.
    fn named(
        &self,
        dir: &Dir,
        name: &str,
        run: &mut Run<'_>,
    ) -> Result<Vec<TreeEntry>, ClientError> {
        let path = dir.to_path();
        let listing = match run.listings.get(&path) {
            Some(l) => l.clone(),
            None => {
                let l = match self.list_dir(dir) {
                    Ok(l) => Some(l),
                    Err(e) if e.kind() == crate::ErrorKind::NotFound => None,
                    Err(e) => return Err(e),
                };
                run.listings.insert(path, l.clone());
                l
            }
        };
        let Some(listing) = listing else {
            return Ok(Vec::new());
        };
        let is_it = |shown: &str, id: &DocId| {
            shown == name
                || rules::parse_disambiguated(shown)
                    .is_some_and(|(n, p)| n == name && rules::id_has_prefix(id, &p))
        };
        Ok(listing
            .entries()
            .iter()
            .filter(|e| e.id.is_some_and(|id| is_it(&e.name, &id)))
            .cloned()
            .collect())
    }
}

/// The ops that give a file its fate (none in a dry run but metadata),
/// its document (none for a new one of a dry run) and what happened.
/// `content` gives the next uploaded manifest.
fn outcome(
    target: &Dir,
    name: &str,
    fate: Fate,
    opts: &ImportOptions,
    content: &mut dyn FnMut() -> docgrid_core::model::Manifest,
    ops: &mut Vec<Op>,
) -> Result<(Option<DocId>, ImportAction), ClientError> {
    Ok(match fate {
        Fate::Skip(_) => unreachable!("skipped files have no outcome"),
        Fate::Create if opts.dry_run => (None, ImportAction::New),
        Fate::Create => {
            let id = DocId::random();
            let mut op = rules::plan_create(target, name)?.op(id, content());
            add_meta(&mut op, &opts.meta);
            ops.push(op);
            (Some(id), ImportAction::New)
        }
        Fate::Existing {
            id,
            base,
            same,
            meta,
        } => {
            if !same && !opts.dry_run {
                ops.push(Op::SetContent {
                    id,
                    base,
                    content: content(),
                });
            }
            let action = if same && meta.is_empty() {
                ImportAction::Unchanged
            } else {
                ImportAction::Updated
            };
            ops.extend(meta);
            (Some(id), action)
        }
    })
}

impl ImportReport {
    /// Files that came to `action`.
    pub fn count(&self, action: ImportAction) -> usize {
        self.files.iter().filter(|f| f.action == action).count()
    }
}

/// Adds `extra`'s values to a `Create` op's metadata.
fn add_meta(op: &mut Op, extra: &Metadata) {
    if let Op::Create { meta, .. } = op {
        for (k, vs) in extra {
            let values = meta.entry(k.clone()).or_default();
            for v in vs {
                if !values.contains(v) {
                    values.push(v.clone());
                }
            }
        }
    }
}

/// The directory a file at `rel` (below `dir`) goes to, and its name:
/// under `/files/` the folders of `rel` are kept, elsewhere dropped.
fn target(dir: &Dir, rel: &str) -> (Dir, String) {
    let (folders, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    match dir {
        Dir::Files(parts) if !folders.is_empty() => {
            let mut parts = parts.clone();
            parts.extend(folders.split('/').map(str::to_string));
            (Dir::Files(parts), name.to_string())
        }
        _ => (dir.clone(), name.to_string()),
    }
}

/// `base` after `stats` of the current batch.
fn advanced(base: ImportProgress, stats: &UploadStats) -> ImportProgress {
    ImportProgress {
        files: base.files + stats.files,
        bytes: base.bytes + stats.bytes,
        bytes_sent: base.bytes_sent + stats.bytes_sent,
        ..base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_whose_name_docgrid_refuses_is_skipped_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("fine.txt"), b"a").unwrap();
        std::fs::write(src.join("two\nlines.txt"), b"b").unwrap();
        let (files, skipped) = walk(std::slice::from_ref(&src), false);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].rel, "src/fine.txt");
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(matches!(&skipped[0].1, SkipReason::BadName(why) if why.contains("control")));
        // A root spelled with a trailing `.` (the overlay's /proc/self/fd/N/.).
        let (files, skipped) = walk(&[src.join(".")], false);
        assert_eq!((files.len(), skipped.len()), (1, 1), "{skipped:?}");
    }
}
