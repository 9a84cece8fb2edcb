//! Importing local files into a directory of the tree: what a drop onto a
//! GUI column (or a copy into a mount) means. Each file becomes a
//! document with the metadata the directory implies (core's
//! `plan_create`: tags on the path, `K=V` pairs, `path` under `/files/`);
//! a dropped folder brings the files inside it, which under `/files/`
//! keep their place below the folder's name and elsewhere all take the
//! directory's metadata.
//!
//! A file whose name the directory already lists as a document is not
//! imported twice: identical content is left alone, other content becomes
//! that document's next revision. Content goes through the upload
//! pipeline (only chunks the server lacks are sent, small files batched),
//! and at most [`BATCH`] files make one commit.

use std::path::{Path, PathBuf};

use docgrid_core::DocId;
use docgrid_core::model::{Manifest, Op};
use docgrid_core::tree::{self as rules, Dir};

use super::Tree;
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

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// The directory imported into.
    pub dir: String,
    /// Documents created.
    pub created: Vec<DocId>,
    /// Documents given new content.
    pub updated: Vec<DocId>,
    /// Files whose document already had their content.
    pub unchanged: u64,
    /// What was not imported, and why (symbolic links, special files,
    /// names that are not UTF-8).
    pub skipped: Skipped,
    /// The last commit's revision, if anything was committed.
    pub rev: Option<u64>,
    /// Files and bytes moved.
    pub progress: ImportProgress,
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
}

/// What a walk left out: each path, and why.
pub type Skipped = Vec<(PathBuf, String)>;

/// The regular files of `sources` (files, and folders walked recursively
/// in name order), each with its path relative to its source's parent;
/// symbolic links are followed only with `follow`, and what is left out
/// is returned with the reason.
pub fn walk(sources: &[PathBuf], follow: bool) -> Result<(Vec<LocalFile>, Skipped), ClientError> {
    let (mut out, mut skipped) = (Vec::new(), Vec::new());
    for root in sources {
        let base = root.parent().unwrap_or(Path::new(""));
        let mut stack = vec![root.clone()];
        while let Some(p) = stack.pop() {
            let io = |source| ClientError::Io {
                path: p.display().to_string(),
                source,
            };
            let link = std::fs::symlink_metadata(&p).map_err(io)?;
            if link.file_type().is_symlink() && !follow {
                skipped.push((p, "a symbolic link".into()));
                continue;
            }
            let meta = std::fs::metadata(&p).map_err(io)?;
            if meta.is_dir() {
                let mut children: Vec<PathBuf> = std::fs::read_dir(&p)
                    .and_then(|d| d.map(|e| e.map(|e| e.path())).collect())
                    .map_err(io)?;
                children.sort();
                stack.extend(children.into_iter().rev());
            } else if !meta.is_file() {
                skipped.push((p, "not a regular file".into()));
            } else if let Some(rel) = p.strip_prefix(base).unwrap_or(&p).to_str() {
                let rel = rel.to_string();
                out.push(LocalFile {
                    file: p,
                    rel,
                    size: meta.len(),
                });
            } else {
                skipped.push((p, "its name is not UTF-8".into()));
            }
        }
    }
    Ok((out, skipped))
}

impl Tree {
    /// Imports `sources` (files and folders) into directory `dir`, as the
    /// module says; `progress` is told after every window of files.
    /// Symbolic links are skipped and reported. A failure stops the
    /// import: what earlier commits stored stays, the rest is not
    /// applied.
    pub fn import(
        &self,
        dir: &str,
        sources: &[PathBuf],
        progress: &dyn Fn(&ImportProgress),
    ) -> Result<ImportReport, ClientError> {
        let d = rules::parse_dir(dir)?;
        // Refuse a directory no document can be created in before reading.
        rules::plan_create(&d, "probe")?;
        let (files, skipped) = walk(sources, false)?;
        let mut report = ImportReport {
            dir: d.to_path(),
            skipped,
            ..ImportReport::default()
        };
        report.progress.files_total = files.len() as u64;
        report.progress.bytes_total = files.iter().map(|f| f.size).sum();
        for batch in files.chunks(BATCH) {
            self.import_batch(&d, batch, &mut report, progress)?;
        }
        Ok(report)
    }

    /// One commit of an import.
    fn import_batch(
        &self,
        dir: &Dir,
        batch: &[LocalFile],
        report: &mut ImportReport,
        progress: &dyn Fn(&ImportProgress),
    ) -> Result<(), ClientError> {
        let paths: Vec<&Path> = batch.iter().map(|f| f.file.as_path()).collect();
        let base = report.progress;
        let mut stats = UploadStats::default();
        let show = |s: &UploadStats| progress(&advanced(base, s));
        let manifests = self.client.upload_files(&paths, &mut stats, &show)?;
        report.progress = advanced(base, &stats);
        let mut ops = Vec::new();
        let (mut created, mut updated) = (Vec::new(), Vec::new());
        // Two files of one batch landing on one name: the second is new.
        let mut seen = std::collections::HashSet::new();
        for (f, manifest) in batch.iter().zip(manifests) {
            let (target, name) = self.target(dir, &f.rel)?;
            let first = seen.insert(format!("{}{name}", target.to_path()));
            let existing = if first {
                self.existing(&target, &name)?
            } else {
                None
            };
            match existing {
                Some((_, _, hash)) if hash == manifest.hash => report.unchanged += 1,
                Some((id, base, _)) => {
                    ops.push(replace(id, base, manifest));
                    updated.push(id);
                }
                None => {
                    let id = DocId::random();
                    ops.push(rules::plan_create(&target, &name)?.op(id, manifest));
                    created.push(id);
                }
            }
        }
        if !ops.is_empty() {
            let message = format!("import {} file(s) into {}", ops.len(), dir.to_path());
            report.rev = Some(self.commit(&message, ops)?);
        }
        report.created.extend(created);
        report.updated.extend(updated);
        Ok(())
    }

    /// The directory a file at `rel` (below `dir`) goes to, and its name:
    /// under `/files/` the folders of `rel` are kept, elsewhere dropped.
    fn target(&self, dir: &Dir, rel: &str) -> Result<(Dir, String), ClientError> {
        let (folders, name) = match rel.rsplit_once('/') {
            Some((folders, name)) => (folders, name),
            None => ("", rel),
        };
        match dir {
            Dir::Files(parts) if !folders.is_empty() => {
                let mut parts = parts.clone();
                parts.extend(folders.split('/').map(str::to_string));
                Ok((Dir::Files(parts), name.to_string()))
            }
            _ => Ok((dir.clone(), name.to_string())),
        }
    }

    /// The document `dir` lists as `name`: its id, revision and content
    /// hash (`None` for a directory that does not exist yet, or no such
    /// document).
    fn existing(
        &self,
        dir: &Dir,
        name: &str,
    ) -> Result<Option<(DocId, u64, docgrid_core::chunk::Digest)>, ClientError> {
        let listing = match self.list_dir(dir) {
            Ok(l) => l,
            Err(e) if e.kind() == crate::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(id) = listing.get(name).and_then(|e| e.id) else {
            return Ok(None);
        };
        let doc = self.doc(&id)?;
        Ok(Some((id, doc.rev, doc.hash)))
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

/// New content for document `id` seen at `base`.
fn replace(id: DocId, base: u64, content: Manifest) -> Op {
    Op::SetContent { id, base, content }
}
