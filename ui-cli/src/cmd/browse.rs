//! Browsing the repository: `ls`, `cat`, `info`, `search`. Targets are tree
//! paths, document ids or working-copy paths (their place in the tree).

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use docgrid_core::DocId;
use docgrid_core::api::{DocInfo, EntryKind, TreeListing};

use super::{Run, print_json};
use crate::args::{Rev, Target, parse_one_rev};
use crate::ctx::Ctx;
use crate::wc::Wc;

/// The query language, for `help search` and the man page.
pub const QUERY_HELP: &str = "\
Query language:
  tag:jazz              a key's exact value (case-sensitive); * globs: name:*.pdf
  year>=1960            comparisons = != < <= > >= (numbers, dates, else text)
  has:author            the key is set
  blue  \"kind of blue\"  words and phrases in the name, values and text
  a b   a AND b         both;  a OR b  either;  -a  NOT a  not a;  ( ) group

Examples:
  docgrid search 'tag:jazz year>=1959 -tag:live'
  docgrid search '(author:alice OR author:bob) \"quarterly report\"'
  docgrid search 'mime:application/pdf modified>=2026-01'
  docgrid search -- -tag:draft        (a query may start with '-')

A query that does not parse is an error naming the column. The same
queries are directories: docgrid ls '/search/tag:jazz year>=1959/'.";

/// Tree paths, for `help ls` and the man page.
pub const PATH_HELP: &str = "\
Tree paths:
  /all/  /tags/A/B/  /by/KEY/VALUE/  /files/DIR/  /search/QUERY/  /recent/  /ids/ID
A '/' inside a tag, value or query may be typed as it is
(/by/mime/text/plain/): known tags and values are matched; the listing
shows it as U+2215 ('∕'). ^/PATH is the same as /PATH, as in svn.";

/// List a directory of the tree (names; directories end with `/`).
///
/// Example: docgrid ls /tags/jazz
///
/// Example: docgrid ls -v /by/mime/text/plain/
#[derive(Args)]
#[command(after_long_help = PATH_HELP)]
pub struct Ls {
    /// A tree path, document id or working-copy path.
    #[arg(default_value = "/", value_parser = Target::parse)]
    target: Target,
    /// With revision, size and modification time.
    #[arg(short, long)]
    verbose: bool,
    /// As JSON.
    #[arg(long)]
    json: bool,
}

impl Run for Ls {
    fn run(self, ctx: &Ctx) -> Result<()> {
        let node = ctx.node(&self.target)?;
        if !node.is_dir() {
            // A document lists itself, as `svn ls FILE` does.
            let mut entry = node.entry.clone();
            if let (true, Some(id)) = (node.path.starts_with("/ids/"), node.id()) {
                entry.name = ctx.tree()?.doc(&id)?.name.clone();
            }
            if self.json {
                return print_json(&entry);
            }
            self.line(&entry);
            return Ok(());
        }
        let l = ctx.tree()?.list(&node.path)?;
        if self.json {
            return print_json(&TreeListing {
                path: l.path.clone(),
                entries: l.entries().to_vec(),
                total: l.entries().len() as u64,
                offset: 0,
                next_offset: None,
                rev: l.rev,
            });
        }
        for e in l.entries() {
            self.line(e);
        }
        Ok(())
    }
}

impl Ls {
    fn line(&self, e: &docgrid_core::api::TreeEntry) {
        let name = match e.kind {
            EntryKind::Dir => format!("{}/", e.name),
            EntryKind::Doc => e.name.clone(),
        };
        if !self.verbose {
            return outln!("{name}");
        }
        match e.kind {
            EntryKind::Dir => {
                let count = e.count.map_or(String::new(), |c| c.to_string());
                outln!("{:>7} {count:>12} {:20} {name}", "", "");
            }
            EntryKind::Doc => outln!(
                "{:>7} {:>12} {:20} {name}",
                e.rev.unwrap_or(0),
                e.size.unwrap_or(0),
                e.modified.as_deref().map_or("", |m| &m[..m.len().min(19)])
            ),
        }
    }
}

/// Write a document's content to stdout (a working-copy file: its base
/// revision, as `svn cat` does; `-r` another revision).
///
/// Example: docgrid cat /tags/jazz/so-what.flac > so-what.flac
///
/// Example: docgrid cat -r 3 notes.txt
#[derive(Args)]
pub struct Cat {
    /// A tree path, document id or working-copy file.
    #[arg(value_parser = Target::parse)]
    target: Target,
    /// The revision (a number, HEAD, BASE, COMMITTED, PREV).
    #[arg(short = 'r', long = "revision", value_parser = parse_one_rev)]
    rev: Option<Rev>,
}

impl Run for Cat {
    fn run(self, ctx: &Ctx) -> Result<()> {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        match (&self.target, self.rev) {
            (Target::Local(p), None | Some(Rev::Base | Rev::Committed)) => {
                let (wc, rel) = Wc::locate(p)?;
                let pristine = wc.pristine_of(&rel)?;
                std::io::copy(&mut std::fs::File::open(pristine)?, &mut out)?;
            }
            (_, None | Some(Rev::Head)) => {
                let id = doc_id(ctx, &self.target)?;
                ctx.client()?.content_to(&id, &mut out)?;
            }
            (_, Some(rev)) => {
                let n = ctx.rev_number(rev, Some(&self.target))?;
                let id = doc_id(ctx, &self.target)?;
                let client = ctx.client()?;
                let m = client
                    .manifest_at(&id, n)
                    .with_context(|| format!("'{}' at r{n}", self.target.shown()))?;
                client.manifest_content_to(&m, &mut out)?;
            }
        }
        out.flush()?;
        Ok(())
    }
}

/// The document a target names.
pub fn doc_id(ctx: &Ctx, target: &Target) -> Result<DocId> {
    let node = ctx.doc_node(target)?;
    node.id()
        .with_context(|| format!("{} is not a document", node.path))
}

/// A document's or working copy's information. Bare `docgrid info` in a
/// working copy shows its tree path, server and revision.
///
/// Example: docgrid info /all/report.pdf --json
///
/// Example: docgrid info
#[derive(Args)]
pub struct Info {
    /// A tree path, document id or working-copy path (default: `.`).
    #[arg(value_parser = Target::parse)]
    target: Option<Target>,
    /// As JSON.
    #[arg(long)]
    json: bool,
}

impl Run for Info {
    fn run(self, ctx: &Ctx) -> Result<()> {
        let target = self
            .target
            .unwrap_or_else(|| Target::Local(std::path::PathBuf::from(".")));
        let fields = match &target {
            Target::Local(p) => local_info(ctx, p)?,
            Target::Repo(_) => {
                let node = ctx.node(&target)?;
                match node.id() {
                    Some(id) => doc_fields(&node.path, &*ctx.tree()?.doc(&id)?),
                    None => {
                        let mut f = Fields::default();
                        f.add("Path", node.path.clone());
                        f.add("Node Kind", "directory");
                        f
                    }
                }
            }
        };
        if self.json {
            let map: serde_json::Map<String, serde_json::Value> = fields
                .0
                .into_iter()
                .map(|(k, v)| (k.to_lowercase().replace(' ', "_"), v.into()))
                .collect();
            return print_json(&map);
        }
        for (k, v) in fields.0 {
            outln!("{k}: {v}");
        }
        Ok(())
    }
}

/// `Key: value` lines, in order.
#[derive(Default)]
struct Fields(Vec<(String, String)>);

impl Fields {
    fn add(&mut self, key: &str, value: impl Into<String>) {
        self.0.push((key.to_string(), value.into()));
    }
}

fn doc_fields(path: &str, d: &DocInfo) -> Fields {
    let mut f = Fields::default();
    f.add("Path", path);
    f.add("Name", d.name.clone());
    f.add("Id", d.id.to_string());
    f.add("Node Kind", "file");
    f.add("Size", d.size.to_string());
    f.add("Revision", d.rev.to_string());
    f.add("Checksum", d.hash.to_hex());
    for (k, vs) in &d.meta {
        f.add(k, vs.join(", "));
    }
    f
}

/// Offline: what the working copy knows of `p`.
fn local_info(ctx: &Ctx, p: &std::path::Path) -> Result<Fields> {
    let (wc, rel) = Wc::locate(p)?;
    let mut f = Fields::default();
    f.add("Path", p.display().to_string());
    f.add("Working Copy Root Path", wc.root.display().to_string());
    f.add("Tree Path", wc.tree_path_of(&rel));
    f.add("Server", ctx.servers().join(", "));
    if wc.state.dirs.contains_key(&rel) || rel.is_empty() {
        f.add("Node Kind", "directory");
        f.add("Revision", wc.state.rev.to_string());
        return Ok(f);
    }
    let e = wc.entry(&rel)?;
    f.add("Name", crate::wc::rel_name(&rel));
    if let Some(id) = e.id {
        f.add("Id", id.to_string());
    }
    f.add("Node Kind", "file");
    let schedule = match (e.id, e.delete) {
        (None, _) => "add",
        (_, true) => "delete",
        _ => "normal",
    };
    f.add("Schedule", schedule);
    f.add("Revision", e.rev.to_string());
    if let Some(h) = e.hash {
        f.add("Checksum", h.to_hex());
    }
    if e.conflict {
        f.add("Conflict", e.conflict_files.join(", "));
    }
    Ok(f)
}

/// Search with the query language: each hit's place in the tree, size,
/// tags and id, and a snippet of the text around a full-text match.
///
/// Example: docgrid search 'tag:jazz year>=1959 "blue in green"'
#[derive(Args)]
#[command(after_long_help = QUERY_HELP)]
pub struct Search {
    /// The query (one argument; quote it). A query starting with `-`
    /// (`-tag:draft`) works as it is, or after `--`.
    #[arg(allow_hyphen_values = true)]
    query: String,
    /// At most this many hits.
    #[arg(short, long, default_value_t = 50)]
    limit: u64,
    /// As JSON.
    #[arg(long)]
    json: bool,
}

impl Run for Search {
    fn run(self, ctx: &Ctx) -> Result<()> {
        let r = ctx.client()?.search(&self.query, self.limit, 0)?;
        if self.json {
            return print_json(&r);
        }
        for h in &r.hits {
            let d = &h.doc;
            let tags = d
                .meta
                .get("tag")
                .map_or(String::new(), |t| format!("  [{}]", t.join(", ")));
            outln!("{}  {} bytes{tags}  {}", place(d), d.size, d.id);
            if let Some(s) = &h.snippet {
                outln!("    {s}");
            }
        }
        eprintln!("{} of {} match(es)", r.hits.len(), r.total);
        Ok(())
    }
}

/// Where a document is found: its `/files/` path when it has one, else its
/// name under `/all/`.
pub fn place(d: &DocInfo) -> String {
    place_of(&d.name, &d.meta)
}

/// [`place`] of a document called `name` with metadata `meta`.
pub fn place_of(name: &str, meta: &docgrid_core::model::Metadata) -> String {
    match meta.get("path").and_then(|p| p.first()) {
        Some(p) => format!("/files/{p}"),
        None => format!("/all/{name}"),
    }
}
