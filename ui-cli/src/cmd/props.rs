//! Properties (metadata keys) and tags. On a tree path or id they commit
//! at once; on a working-copy file they are scheduled for the next
//! `commit` (and read offline, local changes included), as in svn.

use anyhow::{Context, Result, bail};
use clap::Args;
use docgrid_core::model::Metadata;
use docgrid_core::tree::{join_values, xattr_name};

use super::{Run, print_json};
use crate::args::Target;
use crate::ctx::Ctx;
use crate::wc::Wc;

/// The values of every key of a target: working-copy properties (with
/// local changes) offline, else the server's metadata.
fn props(ctx: &Ctx, target: &Target) -> Result<Metadata> {
    if let Target::Local(p) = target {
        let (wc, rel) = Wc::locate(p)?;
        return Ok(wc.entry(&rel)?.working_props());
    }
    let node = ctx.doc_node(target)?;
    let id = node.id().context("a document")?;
    Ok(ctx.tree()?.doc(&id)?.meta.clone())
}

/// Sets (`Some`) or removes (`None`) key `key` on each target.
fn set(ctx: &Ctx, targets: &[Target], key: &str, values: Option<Vec<String>>) -> Result<()> {
    for t in targets {
        match t {
            Target::Local(p) => {
                let (mut wc, rel) = Wc::locate(p)?;
                wc.propset(&rel, key, values.clone().unwrap_or_default())?;
                wc.save()?;
                match &values {
                    Some(_) => outln!("property '{key}' set on '{}'", p.display()),
                    None => outln!("property '{key}' deleted from '{}'.", p.display()),
                }
            }
            Target::Repo(_) => {
                let node = ctx.doc_node(t)?;
                let tree = ctx.tree()?;
                let rev = match &values {
                    Some(v) => {
                        tree.set_xattr(&node, &xattr_name(key), join_values(v).as_bytes())?
                    }
                    None => tree.remove_xattr(&node, &xattr_name(key))?,
                };
                outln!(
                    "Committed revision {rev}: property '{key}' on '{}'.",
                    node.path
                );
            }
        }
    }
    Ok(())
}

/// Set a property (a metadata key) to a value.
///
/// Example: docgrid propset year 1959 /all/kind-of-blue.flac
///
/// Example: docgrid ps year 1959 notes.txt   (working copy: until commit)
#[derive(Args)]
pub struct Propset {
    key: String,
    value: String,
    /// Tree paths, document ids or working-copy files.
    #[arg(required = true, value_parser = Target::parse)]
    targets: Vec<Target>,
}

impl Run for Propset {
    fn run(self, ctx: &Ctx) -> Result<()> {
        set(ctx, &self.targets, &self.key, Some(vec![self.value]))
    }
}

/// Remove a property (in a working copy: until commit).
///
/// Example: docgrid propdel year notes.txt
#[derive(Args)]
pub struct Propdel {
    key: String,
    #[arg(required = true, value_parser = Target::parse)]
    targets: Vec<Target>,
}

impl Run for Propdel {
    fn run(self, ctx: &Ctx) -> Result<()> {
        set(ctx, &self.targets, &self.key, None)
    }
}

/// Print a property's values, one per line.
///
/// Example: docgrid propget year /all/kind-of-blue.flac
#[derive(Args)]
pub struct Propget {
    key: String,
    #[arg(value_parser = Target::parse)]
    target: Target,
}

impl Run for Propget {
    fn run(self, ctx: &Ctx) -> Result<()> {
        let meta = props(ctx, &self.target)?;
        let Some(values) = meta.get(&self.key) else {
            bail!("'{}' has no property '{}'", self.target.shown(), self.key);
        };
        for v in values {
            outln!("{v}");
        }
        Ok(())
    }
}

/// List a document's properties (`-v`: with their values).
///
/// Example: docgrid proplist -v notes.txt
#[derive(Args)]
pub struct Proplist {
    #[arg(value_parser = Target::parse)]
    target: Target,
    /// With values.
    #[arg(short, long)]
    verbose: bool,
    /// As JSON (keys and values).
    #[arg(long)]
    json: bool,
}

impl Run for Proplist {
    fn run(self, ctx: &Ctx) -> Result<()> {
        let meta = props(ctx, &self.target)?;
        if self.json {
            return print_json(&meta);
        }
        outln!("Properties on '{}':", self.target.shown());
        for (k, vs) in &meta {
            outln!("  {k}");
            if self.verbose {
                for v in vs {
                    outln!("    {v}");
                }
            }
        }
        Ok(())
    }
}

/// Adds (`add`) or removes tags on each target.
fn retag(ctx: &Ctx, target: &Target, tags: &[String], add: bool) -> Result<()> {
    let mut values = props(ctx, target)?.get("tag").cloned().unwrap_or_default();
    if add {
        for t in tags {
            if !values.contains(t) {
                values.push(t.clone());
            }
        }
    } else {
        for t in tags.iter().filter(|t| !values.contains(t)) {
            eprintln!("'{}' is not tagged '{t}'", target.shown());
        }
        values.retain(|v| !tags.contains(v));
    }
    let values = (!values.is_empty()).then_some(values);
    set(ctx, std::slice::from_ref(target), "tag", values)
}

/// Add tags to a document (in a working copy: until commit).
///
/// Example: docgrid tag /all/report.pdf work urgent
#[derive(Args)]
pub struct Tag {
    #[arg(value_parser = Target::parse)]
    target: Target,
    #[arg(required = true)]
    tags: Vec<String>,
}

impl Run for Tag {
    fn run(self, ctx: &Ctx) -> Result<()> {
        retag(ctx, &self.target, &self.tags, true)
    }
}

/// Remove tags from a document (in a working copy: until commit).
///
/// Example: docgrid untag /all/report.pdf urgent
#[derive(Args)]
pub struct Untag {
    #[arg(value_parser = Target::parse)]
    target: Target,
    #[arg(required = true)]
    tags: Vec<String>,
}

impl Run for Untag {
    fn run(self, ctx: &Ctx) -> Result<()> {
        retag(ctx, &self.target, &self.tags, false)
    }
}
