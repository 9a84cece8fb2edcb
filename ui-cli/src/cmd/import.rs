//! `import`: files and directories into `/files/`, each document keeping
//! its path relative to the argument's parent. A file whose `/files/` path
//! already holds a document is never imported twice: the same content is
//! skipped, other content becomes that document's next revision; the
//! summary says how many of each. The work is the client's one importer
//! (`Tree::import_with`), which the GUI's drops run too.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use docgrid_client::tree::{ImportAction, ImportOptions, ImportProgress, ImportReport, SkipReason};
use docgrid_core::DocId;
use docgrid_core::model::Metadata;

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
        let bar = indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
            )
            .expect("a valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        let opts = ImportOptions {
            meta,
            follow_symlinks: self.follow_symlinks,
            dry_run: self.dry_run,
            message: Some(self.message.clone()),
        };
        let show = |p: &ImportProgress| {
            bar.set_length(p.bytes_total);
            bar.set_position(p.bytes);
            bar.set_message(format!("{}/{} files", p.files, p.files_total));
        };
        let report = ctx
            .tree()?
            .import_with("/files/", &self.paths, &opts, &show)?;
        bar.finish_and_clear();
        for (p, why) in &report.skipped {
            if *why == SkipReason::Symlink {
                let p = p.display();
                eprintln!("skipped symbolic link {p} (use --follow-symlinks to follow)");
            } else {
                eprintln!("skipped {}: {why}", p.display());
            }
        }
        self.report(&report)?;
        match &report.error {
            Some(e) => Err(anyhow::anyhow!("{e}")),
            None => Ok(()),
        }
    }
}

/// One file, as `--json` prints it.
#[derive(serde::Serialize)]
struct Imported<'a> {
    path: &'a str,
    /// The document (none yet for a new file of a dry run).
    id: Option<DocId>,
    action: ImportAction,
}

impl Import {
    fn report(&self, r: &ImportReport) -> Result<()> {
        let done = &r.files;
        if self.json {
            let rows: Vec<Imported<'_>> = done
                .iter()
                .map(|f| Imported {
                    path: &f.rel,
                    id: f.id,
                    action: f.action,
                })
                .collect();
            print_json(&rows)?;
        } else if !self.quiet {
            for d in done.iter().filter(|d| d.action != ImportAction::Unchanged) {
                let word = match (d.action, self.dry_run) {
                    (ImportAction::New, false) => "Adding",
                    (ImportAction::New, true) => "Would add",
                    (_, false) => "Updating",
                    (_, true) => "Would update",
                };
                outln!("{word:<15}{}", d.rel);
            }
        }
        let (new, updated, unchanged) = (
            r.count(ImportAction::New),
            r.count(ImportAction::Updated),
            r.count(ImportAction::Unchanged),
        );
        let skipped = r.skipped.len();
        if self.dry_run {
            eprintln!(
                "would import {} file(s): {new} new, {updated} updated, {unchanged} unchanged; skipped {skipped} file(s); nothing was sent",
                done.len(),
            );
            return Ok(());
        }
        let p = &r.progress;
        let dedup = if p.bytes == 0 {
            0.0
        } else {
            100.0 * p.deduplicated() as f64 / p.bytes as f64
        };
        eprintln!(
            "imported {} file(s): {new} new, {updated} updated, {unchanged} unchanged; {} bytes, {} new bytes sent (dedup {dedup:.0} %); skipped {skipped} file(s)",
            done.len(),
            p.bytes,
            p.bytes_sent,
        );
        Ok(())
    }
}
