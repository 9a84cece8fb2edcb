//! `import`: files and directories into `/files/`, each document keeping
//! its path relative to the argument's parent. A file whose `/files/` path
//! already holds a document is never imported twice: the same content is
//! skipped, other content becomes that document's next revision; the
//! summary says how many of each.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use docgrid_client::tree::{Listing, Tree};
use docgrid_client::{NewDoc, UploadStats};
use docgrid_core::DocId;
use docgrid_core::api::{EntryKind, TreeEntry};
use docgrid_core::model::{Metadata, Op};

use super::{Run, print_json};
use crate::args::key_value;
use crate::ctx::Ctx;

/// Import files and directories (recursively) as documents under
/// /files/; each keeps its path relative to the argument's parent.
/// Re-importing skips files whose content is unchanged and updates those
/// that changed (same document, next revision).
///
/// Example: docgrid import ~/papers --tag research --set year=2026
#[derive(Args)]
pub struct Import {
    /// Files or directories.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// A tag for every document (repeat).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// KEY=VALUE metadata for every document (repeat).
    #[arg(long = "set", value_parser = key_value)]
    sets: Vec<(String, String)>,
    /// Follow symbolic links (default: skip them, and say so).
    #[arg(long)]
    follow_symlinks: bool,
    /// The commit message.
    #[arg(short, long, default_value = "import")]
    message: String,
    /// Print each file's document and what happened to it as JSON.
    #[arg(long)]
    json: bool,
    /// Print nothing per file.
    #[arg(short, long)]
    quiet: bool,
    /// Say what would be imported (new, updated, unchanged) without
    /// sending or committing anything.
    #[arg(short = 'n', long)]
    dry_run: bool,
}

/// What happened to one file.
#[derive(serde::Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Action {
    New,
    Updated,
    Unchanged,
}

#[derive(serde::Serialize)]
struct Imported {
    path: String,
    /// The document (none yet for a new file of a dry run).
    id: Option<DocId>,
    action: Action,
}

impl Run for Import {
    fn run(self, ctx: &Ctx) -> Result<()> {
        let mut meta = Metadata::new();
        if !self.tags.is_empty() {
            meta.insert("tag".into(), self.tags.clone());
        }
        for (k, v) in &self.sets {
            meta.entry(k.clone()).or_default().push(v.clone());
        }
        // A path given that is not there is an error, as with svn import;
        // what cannot be read below it is skipped and named.
        for p in &self.paths {
            std::fs::symlink_metadata(p).with_context(|| format!("reading {}", p.display()))?;
        }
        let (walked, skipped) = docgrid_client::tree::walk(&self.paths, self.follow_symlinks);
        for (p, why) in &skipped {
            if *why == docgrid_client::tree::SkipReason::Symlink {
                let p = p.display();
                eprintln!("skipped symbolic link {p} (use --follow-symlinks to follow)");
            } else {
                eprintln!("skipped {}: {why}", p.display());
            }
        }
        let total: u64 = walked.iter().map(|f| f.size).sum();
        let files: Vec<(PathBuf, String)> = walked.into_iter().map(|f| (f.file, f.rel)).collect();
        let bar = indicatif::ProgressBar::new(total).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
            )
            .expect("a valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        let tree = ctx.tree()?;
        let mut run = Batch {
            tree,
            dry_run: self.dry_run,
            meta: &meta,
            message: &self.message,
            dirs: HashMap::new(),
            stats: UploadStats::default(),
            bar: &bar,
            done: Vec::new(),
        };
        // Commits of at most 1,000 files keep each commit bounded.
        for batch in files.chunks(1000) {
            run.batch(batch)?;
        }
        bar.finish_and_clear();
        self.report(&run.done, &run.stats, skipped.len())
    }
}

impl Import {
    fn report(&self, done: &[Imported], stats: &UploadStats, skipped: usize) -> Result<()> {
        if self.json {
            print_json(&done)?;
        } else if !self.quiet {
            for d in done.iter().filter(|d| d.action != Action::Unchanged) {
                let word = match (d.action, self.dry_run) {
                    (Action::New, false) => "Adding",
                    (Action::New, true) => "Would add",
                    (_, false) => "Updating",
                    (_, true) => "Would update",
                };
                outln!("{word:<15}{}", d.path);
            }
        }
        let count = |a: Action| done.iter().filter(|d| d.action == a).count();
        let dedup = if stats.bytes == 0 {
            0.0
        } else {
            100.0 * (stats.bytes - stats.bytes_sent.min(stats.bytes)) as f64 / stats.bytes as f64
        };
        if self.dry_run {
            eprintln!(
                "would import {} file(s): {} new, {} updated, {} unchanged; skipped {skipped} file(s); nothing was sent",
                done.len(),
                count(Action::New),
                count(Action::Updated),
                count(Action::Unchanged),
            );
            return Ok(());
        }
        eprintln!(
            "imported {} file(s): {} new, {} updated, {} unchanged; {} bytes, {} new bytes sent (dedup {dedup:.0} %); skipped {skipped} file(s)",
            done.len(),
            count(Action::New),
            count(Action::Updated),
            count(Action::Unchanged),
            stats.bytes,
            stats.bytes_sent,
        );
        Ok(())
    }
}

/// The state of one import across its commits.
struct Batch<'a> {
    tree: &'a Tree,
    /// Decide, report, send and commit nothing.
    dry_run: bool,
    meta: &'a Metadata,
    message: &'a str,
    /// `/files/` listings by directory (`None`: it does not exist).
    dirs: HashMap<String, Option<Arc<Listing>>>,
    stats: UploadStats,
    bar: &'a indicatif::ProgressBar,
    done: Vec<Imported>,
}

impl Batch<'_> {
    /// One commit: new files created, changed ones updated.
    fn batch(&mut self, batch: &[(PathBuf, String)]) -> Result<()> {
        let (mut new, mut new_rels, mut changed) = (Vec::new(), Vec::new(), Vec::new());
        for (file, rel) in batch {
            match self.existing(rel)? {
                None => {
                    let mut m = self.meta.clone();
                    m.insert("path".into(), vec![rel.clone()]);
                    let name = rel.rsplit('/').next().unwrap_or(rel).to_string();
                    new.push(NewDoc {
                        name,
                        meta: m,
                        file: file.clone(),
                    });
                    new_rels.push(rel.clone());
                }
                Some(entry) => changed.extend(self.update(file, rel, &entry)?),
            }
        }
        if self.dry_run {
            for (rel, file) in new_rels.into_iter().zip(&new) {
                self.bar
                    .inc(std::fs::metadata(&file.file).map_or(0, |m| m.len()));
                self.done.push(Imported {
                    path: rel,
                    id: None,
                    action: Action::New,
                });
            }
            return Ok(());
        }
        let ops = self.changed_ops(changed)?;
        if !ops.is_empty() {
            self.tree.commit(self.message, ops)?;
        }
        if new.is_empty() {
            return Ok(());
        }
        let base = self.stats;
        let bar = self.bar;
        let show = |s: &UploadStats| {
            bar.set_position(base.bytes + s.bytes);
            bar.set_message(format!("{} files", base.files + s.files));
        };
        let (ids, _, stats) = self.tree.client().upload(&new, self.message, &show)?;
        self.stats += stats;
        for (id, path) in ids.into_iter().zip(new_rels) {
            self.done.push(Imported {
                path,
                id: Some(id),
                action: Action::New,
            });
        }
        Ok(())
    }

    /// The document already at `/files/REL`, if any: its listing entry.
    fn existing(&mut self, rel: &str) -> Result<Option<TreeEntry>> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        if !self.dirs.contains_key(dir) {
            let path = if dir.is_empty() {
                "/files/".to_string()
            } else {
                format!("/files/{dir}/")
            };
            let listing = match self.tree.list(&path) {
                Ok(l) => Some(l),
                Err(e) if e.kind() == docgrid_client::ErrorKind::NotFound => None,
                Err(e) => return Err(e.into()),
            };
            self.dirs.insert(dir.to_string(), listing);
        }
        let listing = self.dirs[dir].as_ref();
        Ok(listing
            .and_then(|l| l.get(name))
            .filter(|e| e.kind == EntryKind::Doc && e.id.is_some())
            .cloned())
    }

    /// A file whose path holds the document of `entry`: skipped when the
    /// content and metadata are there already, else what makes it the
    /// document's next revision (its content uploaded later, with the
    /// batch's others). The listing's size and hash decide whether the
    /// content is the same; the document is fetched only when metadata is
    /// to be added (or the server lists no hashes).
    fn update(&mut self, file: &Path, rel: &str, entry: &TreeEntry) -> Result<Option<Changed>> {
        let id = entry.id.expect("a document entry");
        let size = std::fs::metadata(file)
            .with_context(|| format!("reading {}", file.display()))?
            .len();
        let doc = match (entry.hash, entry.rev, entry.size) {
            (Some(hash), Some(rev), Some(listed)) if self.meta.is_empty() => {
                let same = size == listed && crate::wc::hash_file(file)? == hash;
                return Ok(self.decide(file, rel, id, rev, size, same, Vec::new()));
            }
            _ => self.tree.doc(&id)?,
        };
        let same = size == doc.size && crate::wc::hash_file(file)? == doc.hash;
        let mut meta_ops = Vec::new();
        for (k, vs) in self.meta {
            let mut values = doc.meta.get(k).cloned().unwrap_or_default();
            let missing: Vec<&String> = vs.iter().filter(|v| !values.contains(v)).collect();
            if !missing.is_empty() {
                values.extend(missing.into_iter().cloned());
                meta_ops.push(Op::SetMeta {
                    id,
                    base: doc.rev,
                    key: k.clone(),
                    values,
                });
            }
        }
        Ok(self.decide(file, rel, id, doc.rev, size, same, meta_ops))
    }

    /// Records what happens to an existing document; what changes it.
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &mut self,
        file: &Path,
        rel: &str,
        id: DocId,
        base: u64,
        size: u64,
        same: bool,
        meta_ops: Vec<Op>,
    ) -> Option<Changed> {
        self.bar.inc(size);
        let action = if !same || !meta_ops.is_empty() {
            Action::Updated
        } else {
            Action::Unchanged
        };
        self.done.push(Imported {
            path: rel.to_string(),
            id: Some(id),
            action,
        });
        if action == Action::Unchanged {
            return None;
        }
        if !same {
            self.stats.bytes += size;
        }
        Some(Changed {
            id,
            base,
            content: (!same).then(|| file.to_path_buf()),
            meta_ops,
        })
    }

    /// The operations of the changed files: their new contents uploaded
    /// together (small files batched), each document's `SetContent` before
    /// its `SetMeta`s.
    fn changed_ops(&self, changed: Vec<Changed>) -> Result<Vec<Op>> {
        let files: Vec<&Path> = changed
            .iter()
            .filter_map(|c| c.content.as_deref())
            .collect();
        let mut contents = self
            .tree
            .upload_files(&files)
            .map_err(|e| anyhow::Error::new(e).context("uploading the changed files"))?
            .into_iter();
        let mut ops = Vec::new();
        for c in changed {
            if c.content.is_some() {
                let content = contents.next().expect("one per changed file");
                ops.push(Op::SetContent {
                    id: c.id,
                    base: c.base,
                    content,
                });
            }
            ops.extend(c.meta_ops);
        }
        Ok(ops)
    }
}

/// A file already imported whose document gets a next revision.
struct Changed {
    id: DocId,
    base: u64,
    /// The file, when its content changed.
    content: Option<PathBuf>,
    meta_ops: Vec<Op>,
}
