//! `log`: svn's forms. The repository's revisions, or one document's
//! (`log FILE`, `log /tags/x/notes.txt`), newest first; `-r N`, `-r N:M`
//! (either order), `HEAD`/`BASE`/`COMMITTED`/`PREV`; `-v` for changed
//! paths; `-l N`; `--json`.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::Args;
use docgrid_core::DocId;
use docgrid_core::model::Op;
use serde::Serialize;

use super::browse::{doc_id, place, place_of};
use super::{Run, print_json};
use crate::args::{Rev, RevRange, Target};
use crate::ctx::Ctx;

const RULE: &str = "------------------------------------------------------------------------";

/// The commit log, newest first.
///
/// Example: docgrid log -l 10
///
/// Example: docgrid log -v -r 40:42
///
/// Example: docgrid log notes.txt
#[derive(Args)]
pub struct Log {
    /// A document (tree path, id or working-copy file); default: every
    /// revision of the repository.
    #[arg(value_parser = Target::parse)]
    target: Option<Target>,
    /// A revision or range N:M (numbers, HEAD, BASE, COMMITTED, PREV).
    #[arg(short = 'r', long = "revision", value_parser = RevRange::parse)]
    rev: Option<RevRange>,
    /// At most this many entries.
    #[arg(short, long = "limit")]
    limit: Option<u64>,
    /// With each revision's changed paths.
    #[arg(short, long)]
    verbose: bool,
    /// As JSON.
    #[arg(long)]
    json: bool,
}

/// One entry of the log.
#[derive(Serialize)]
struct Entry {
    rev: u64,
    author: String,
    time: String,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    changed: Vec<Changed>,
}

/// One changed document of a revision, svn's letter and where it is.
#[derive(Serialize)]
struct Changed {
    action: char,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<DocId>,
}

impl Run for Log {
    fn run(self, ctx: &Ctx) -> Result<()> {
        let (start, end) = self.range(ctx)?;
        let (lo, hi) = (start.min(end), start.max(end));
        let mut entries = match &self.target {
            None => repo_log(ctx, lo, hi, self.limit, start >= end)?,
            Some(t) => doc_log(ctx, t, lo, hi)?,
        };
        if start < end {
            entries.reverse();
        }
        if let Some(l) = self.limit {
            entries.truncate(l as usize);
        }
        if self.verbose {
            for e in &mut entries {
                e.changed = changed(ctx, e.rev)?;
            }
        }
        if self.json {
            return print_json(&entries);
        }
        print(&entries);
        Ok(())
    }
}

impl Log {
    /// The revisions asked for, as given (newest first by default).
    fn range(&self, ctx: &Ctx) -> Result<(u64, u64)> {
        let target = self.target.as_ref();
        let Some(r) = self.rev else {
            let newest = match target {
                Some(t @ Target::Local(_)) => ctx.rev_number(Rev::Base, Some(t))?,
                _ => ctx.rev_number(Rev::Head, None)?,
            };
            return Ok((newest, 1));
        };
        let start = ctx.rev_number(r.start, target)?;
        let end = match r.end {
            Some(e) => ctx.rev_number(e, target)?,
            None => start,
        };
        Ok((start, end))
    }
}

/// Revisions `lo..=hi` of the repository, newest first (only the newest
/// `limit` fetched when newest-first).
fn repo_log(
    ctx: &Ctx,
    lo: u64,
    hi: u64,
    limit: Option<u64>,
    newest_first: bool,
) -> Result<Vec<Entry>> {
    let client = ctx.client()?;
    let lo = lo.max(1);
    let mut since = lo - 1;
    if let (Some(l), true) = (limit, newest_first) {
        since = since.max(hi.saturating_sub(l));
    }
    let mut out = Vec::new();
    while since < hi {
        let page = client.commits(since, (hi - since).min(10_000))?;
        let Some(last) = page.last() else { break };
        since = last.rev;
        out.extend(page.into_iter().filter(|c| c.rev <= hi).map(|c| Entry {
            rev: c.rev,
            author: c.author,
            time: c.time,
            message: c.message,
            changed: Vec::new(),
        }));
    }
    out.reverse();
    Ok(out)
}

/// The revisions of one document in `lo..=hi`, newest first.
fn doc_log(ctx: &Ctx, target: &Target, lo: u64, hi: u64) -> Result<Vec<Entry>> {
    let id = doc_id(ctx, target)?;
    let mut history = ctx.client()?.history(&id)?;
    history.sort_by_key(|h| std::cmp::Reverse(h.rev));
    Ok(history
        .into_iter()
        .filter(|h| (lo..=hi).contains(&h.rev))
        .map(|h| Entry {
            rev: h.rev,
            author: h.author,
            time: h.time,
            message: h.message,
            changed: Vec::new(),
        })
        .collect())
}

/// What revision `rev` changed, one line per document.
fn changed(ctx: &Ctx, rev: u64) -> Result<Vec<Changed>> {
    let cs = ctx.client()?.changeset(rev)?;
    let mut by_doc: BTreeMap<DocId, (char, Option<String>, Option<String>)> = BTreeMap::new();
    let mut out = Vec::new();
    for op in &cs.ops {
        let dir = |action, path| Changed {
            action,
            path,
            id: None,
        };
        let (id, action, created, renamed) = match op {
            Op::CreateTag { tag } => {
                out.push(dir('A', format!("/tags/{tag}/")));
                continue;
            }
            Op::DeleteTag { tag } => {
                out.push(dir('D', format!("/tags/{tag}/")));
                continue;
            }
            Op::CreateDir { path } => {
                out.push(dir('A', format!("/files/{path}/")));
                continue;
            }
            Op::DeleteDir { path } => {
                out.push(dir('D', format!("/files/{path}/")));
                continue;
            }
            Op::Create { id, name, meta, .. } => (*id, 'A', Some(place_of(name, meta)), None),
            Op::Delete { id, .. } | Op::Purge { id, .. } => (*id, 'D', None, None),
            Op::Rename { id, name, .. } => (*id, 'M', None, Some(name.clone())),
            Op::SetContent { id, .. } | Op::SetMeta { id, .. } => (*id, 'M', None, None),
        };
        let slot = by_doc.entry(id).or_insert((action, None, None));
        if action != 'M' {
            slot.0 = action;
        }
        slot.1 = created.or(slot.1.take());
        slot.2 = renamed.or(slot.2.take());
    }
    let tree = ctx.tree()?;
    for (id, (action, created, renamed)) in by_doc {
        let mut path = match created {
            Some(p) => p,
            None => tree
                .doc(&id)
                .map_or_else(|_| format!("/ids/{id}"), |d| place(&d)),
        };
        if let Some(n) = renamed {
            path.push_str(&format!(" (renamed to {n})"));
        }
        out.push(Changed {
            action,
            path,
            id: Some(id),
        });
    }
    Ok(out)
}

fn print(entries: &[Entry]) {
    outln!("{RULE}");
    for e in entries {
        let lines = e.message.lines().count().max(1);
        let time = e.time.replacen('T', " ", 1);
        outln!(
            "r{} | {} | {} | {lines} line{}",
            e.rev,
            e.author,
            time,
            if lines == 1 { "" } else { "s" }
        );
        if !e.changed.is_empty() {
            outln!("Changed paths:");
            for c in &e.changed {
                outln!("   {} {}", c.action, c.path);
            }
        }
        outln!("\n{}\n{RULE}", e.message);
    }
}
