//! Working-copy verbs as svn has them: `checkout`, `status`, `add`,
//! `revert`, `diff`, `update`, `resolve`, `cleanup` (`commit` has its own
//! module). Paths are shown as svn shows them: relative to where you are.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use super::{Run, print_json, shown, wc_targets};
use crate::args::{Rev, parse_one_rev};
use crate::ctx::{Ctx, not_found};
use crate::wc::{Accept, Updated, Wc};

/// Check out a directory of the tree into DIR (default: its last
/// component) as a working copy. A /files/ directory checks out with its
/// subdirectories; any other directory (a query such as /tags/jazz/) with
/// its documents only.
///
/// Example: docgrid checkout /tags/projects projects
///
/// Example: docgrid co /files/papers
#[derive(Args)]
pub struct Checkout {
    /// A directory of the tree.
    tree_path: String,
    /// Where (must not exist, or be empty).
    dir: Option<PathBuf>,
}

impl Run for Checkout {
    fn run(self, ctx: &Ctx) -> Result<()> {
        let tree = ctx.tree()?;
        let typed = tree.typed(&self.tree_path);
        let node = tree
            .lookup(&typed)
            .map_err(|e| not_found(e, &self.tree_path, &typed))?;
        if !node.is_dir() {
            bail!(
                "{} is a document: check out a directory that holds it (or docgrid export it)",
                self.tree_path
            );
        }
        let dir = self.dir.unwrap_or_else(|| {
            PathBuf::from(
                typed
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("wc"),
            )
        });
        let shown = dir.display().to_string();
        let (_, rev) = Wc::checkout(tree, &node.path, &dir, &shown)?;
        outln!("Checked out revision {rev}.");
        Ok(())
    }
}

/// What changed in the working copy, in svn's columns (the path starts at
/// column 9): A added, D deleted, M modified, C conflict, ? unversioned,
/// ! missing; second column M/C for properties; `A  +` and `> moved from`
/// for a move.
///
/// Example: docgrid status
///
/// Example: docgrid st --json notes.txt
#[derive(Args)]
pub struct Status {
    /// Working-copy paths (default: `.`).
    targets: Vec<PathBuf>,
    /// Leave out unversioned files.
    #[arg(short, long)]
    quiet: bool,
    /// As JSON.
    #[arg(long)]
    json: bool,
}

impl Run for Status {
    fn run(self, _ctx: &Ctx) -> Result<()> {
        let (wc, rels) = wc_targets(&self.targets)?;
        let mut lines = wc.status(&rels)?;
        if self.quiet {
            lines.retain(|l| l.item != '?');
        }
        if self.json {
            return print_json(&lines);
        }
        let prefix = prefix(&wc);
        for l in &lines {
            outln!("{}", l.svn(&prefix));
        }
        let text = lines.iter().filter(|l| l.item == 'C').count();
        let props = lines.iter().filter(|l| l.props == 'C').count();
        conflict_summary(text, props);
        Ok(())
    }
}

/// What goes before a path relative to the top for it to be relative to
/// the current directory.
fn prefix(wc: &Wc) -> String {
    match shown(wc, "") {
        dot if dot == "." => String::new(),
        p => format!("{p}/"),
    }
}

/// Schedule files for addition; a directory is added with everything in
/// it (a file added to a checkout of /tags/jazz becomes a document tagged
/// jazz).
///
/// Example: docgrid add so-what.txt
///
/// Example: docgrid add --force .   (what is unversioned under `.`)
#[derive(Args)]
pub struct Add {
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Add what is unversioned inside versioned directories too.
    #[arg(long)]
    force: bool,
}

impl Run for Add {
    fn run(self, _ctx: &Ctx) -> Result<()> {
        let (mut wc, rels) = wc_targets(&self.paths)?;
        let mut failed = 0;
        for (rel, p) in rels.iter().zip(&self.paths) {
            match wc.add(rel, self.force) {
                Ok(added) => {
                    for a in added {
                        outln!("A         {}", shown(&wc, &a));
                    }
                }
                Err(e) => {
                    eprintln!("docgrid: warning: '{}': {e:#}", p.display());
                    failed += 1;
                }
            }
        }
        wc.save()?;
        if failed > 0 {
            bail!("could not add all targets: {failed} of them failed");
        }
        Ok(())
    }
}

/// Undo local changes (offline, from the pristine copies): content,
/// schedules, property changes, moves. A directory needs -R, as in svn.
///
/// Example: docgrid revert notes.txt
///
/// Example: docgrid revert -R .
#[derive(Args)]
pub struct Revert {
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Everything under directories.
    #[arg(short = 'R', long)]
    recursive: bool,
}

impl Run for Revert {
    fn run(self, _ctx: &Ctx) -> Result<()> {
        let (mut wc, rels) = wc_targets(&self.paths)?;
        for rel in &rels {
            for r in wc.revert(rel, self.recursive)? {
                outln!("Reverted '{}'", shown(&wc, &r));
            }
        }
        wc.save()
    }
}

/// Local changes: unified diffs for text, a line for binary files,
/// property changes.
///
/// Example: docgrid diff
///
/// Example: docgrid di notes.txt
#[derive(Args)]
pub struct Diff {
    targets: Vec<PathBuf>,
}

impl Run for Diff {
    fn run(self, _ctx: &Ctx) -> Result<()> {
        let (wc, rels) = wc_targets(&self.targets)?;
        out!("{}", wc.diff(&rels)?);
        Ok(())
    }
}

/// Bring the working copy up to date: changes, renames, deletions and
/// additions made elsewhere arrive with svn's letters (A D U G C E; a
/// second column for properties); local edits are merged, overlaps left as
/// conflicts (FILE.mine, FILE.rOLD, FILE.rNEW). With -r, each file's
/// content as of that revision.
///
/// Example: docgrid update
///
/// Example: docgrid up -r 12
#[derive(Args)]
pub struct Update {
    /// The working copy (default: `.`).
    path: Option<PathBuf>,
    /// The revision (default: HEAD).
    #[arg(short = 'r', long = "revision", value_parser = parse_one_rev)]
    rev: Option<Rev>,
}

impl Run for Update {
    fn run(self, ctx: &Ctx) -> Result<()> {
        let path = self.path.unwrap_or_else(|| PathBuf::from("."));
        let mut wc = Wc::find(&path)?;
        let before = wc.state.rev;
        outln!("Updating '{}':", path.display());
        let tree = ctx.tree()?;
        let done = match self.rev {
            None | Some(Rev::Head) => wc.update(tree)?,
            Some(r) => {
                let n = ctx.rev_number(r, Some(&crate::args::Target::Local(path.clone())))?;
                wc.update_to(tree, n)?
            }
        };
        report(&wc, &done, before);
        Ok(())
    }
}

fn report(wc: &Wc, done: &Updated, before: u64) {
    for (codes, rel) in &done.lines {
        outln!("{codes}   {}", shown(wc, rel));
    }
    for k in &done.kept {
        eprintln!(
            "kept '{}': it has local changes and its document left this directory; it is no longer versioned",
            shown(wc, k)
        );
    }
    if done.lines.is_empty() && done.rev == before {
        outln!("At revision {}.", done.rev);
    } else {
        outln!("Updated to revision {}.", done.rev);
    }
    conflict_summary(done.text_conflicts, done.prop_conflicts);
}

/// svn's summary after `update` and `status` when anything is in conflict.
fn conflict_summary(text: usize, props: usize) {
    if text + props == 0 {
        return;
    }
    outln!("Summary of conflicts:");
    if text > 0 {
        outln!("  Text conflicts: {text}");
    }
    if props > 0 {
        outln!("  Property conflicts: {props}");
    }
}

/// Mark conflicts resolved, keeping the version chosen with --accept (by
/// default the file as it is now, after editing out the markers); the
/// conflict files go.
///
/// Example: docgrid resolve plan.txt
///
/// Example: docgrid resolve --accept theirs-full plan.txt
#[derive(Args)]
pub struct Resolve {
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Which version is the resolution.
    #[arg(long, value_enum, default_value = "working")]
    accept: Accept,
}

impl Run for Resolve {
    fn run(self, _ctx: &Ctx) -> Result<()> {
        let (mut wc, rels) = wc_targets(&self.paths)?;
        for rel in &rels {
            let text = wc.entry(rel)?.conflict;
            wc.resolve(rel, self.accept)?;
            let what = if text {
                "Merge conflicts"
            } else {
                "Property conflicts"
            };
            outln!("{what} in '{}' marked as resolved.", shown(&wc, rel));
        }
        wc.save()
    }
}

/// Remove what an interrupted command left in a working copy (partial
/// downloads, unsaved state).
///
/// Example: docgrid cleanup
#[derive(Args)]
pub struct Cleanup {
    path: Option<PathBuf>,
}

impl Run for Cleanup {
    fn run(self, _ctx: &Ctx) -> Result<()> {
        let w = Wc::find(&self.path.unwrap_or_else(|| PathBuf::from(".")))?;
        let removed = w.cleanup()?;
        eprintln!("cleaned up {removed} leftover file(s)");
        Ok(())
    }
}
