//! One struct per subcommand, each with its own [`Run::run`]: clap parses
//! and checks the arguments (targets, revisions, depths, `KEY=VALUE`)
//! before any work starts; `run` does the work with a [`Ctx`].

mod browse;
mod commit;
mod export;
mod import;
mod log;
mod meta;
mod props;
mod wcverbs;
mod write;

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Subcommand;

use crate::ctx::Ctx;
use crate::wc::Wc;

/// A subcommand's work.
pub trait Run {
    /// Does it.
    fn run(self, ctx: &Ctx) -> Result<()>;
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Cmd {
    Import(import::Import),
    #[command(visible_alias = "list")]
    Ls(browse::Ls),
    Cat(browse::Cat),
    #[command(visible_alias = "get")]
    Export(export::Export),
    Info(browse::Info),
    Search(browse::Search),
    Log(log::Log),
    Tag(props::Tag),
    Untag(props::Untag),
    #[command(visible_alias = "ps")]
    Propset(props::Propset),
    #[command(visible_alias = "pg")]
    Propget(props::Propget),
    #[command(visible_alias = "pl")]
    Proplist(props::Proplist),
    #[command(visible_alias = "pd")]
    Propdel(props::Propdel),
    #[command(visible_aliases = ["remove", "del", "delete"])]
    Rm(write::Rm),
    #[command(visible_aliases = ["move", "rename", "ren"])]
    Mv(write::Mv),
    #[command(visible_alias = "copy")]
    Cp(write::Cp),
    Mkdir(write::Mkdir),
    #[command(visible_alias = "co")]
    Checkout(wcverbs::Checkout),
    #[command(visible_aliases = ["st", "stat"])]
    Status(wcverbs::Status),
    Add(wcverbs::Add),
    Revert(wcverbs::Revert),
    #[command(visible_alias = "di")]
    Diff(wcverbs::Diff),
    #[command(visible_alias = "up")]
    Update(wcverbs::Update),
    #[command(visible_alias = "ci")]
    Commit(commit::Commit),
    Resolve(wcverbs::Resolve),
    Cleanup(wcverbs::Cleanup),
    Completions(meta::Completions),
    Man(meta::Man),
}

impl Run for Cmd {
    fn run(self, ctx: &Ctx) -> Result<()> {
        match self {
            Cmd::Import(c) => c.run(ctx),
            Cmd::Ls(c) => c.run(ctx),
            Cmd::Cat(c) => c.run(ctx),
            Cmd::Export(c) => c.run(ctx),
            Cmd::Info(c) => c.run(ctx),
            Cmd::Search(c) => c.run(ctx),
            Cmd::Log(c) => c.run(ctx),
            Cmd::Tag(c) => c.run(ctx),
            Cmd::Untag(c) => c.run(ctx),
            Cmd::Propset(c) => c.run(ctx),
            Cmd::Propget(c) => c.run(ctx),
            Cmd::Proplist(c) => c.run(ctx),
            Cmd::Propdel(c) => c.run(ctx),
            Cmd::Rm(c) => c.run(ctx),
            Cmd::Mv(c) => c.run(ctx),
            Cmd::Cp(c) => c.run(ctx),
            Cmd::Mkdir(c) => c.run(ctx),
            Cmd::Checkout(c) => c.run(ctx),
            Cmd::Status(c) => c.run(ctx),
            Cmd::Add(c) => c.run(ctx),
            Cmd::Revert(c) => c.run(ctx),
            Cmd::Diff(c) => c.run(ctx),
            Cmd::Update(c) => c.run(ctx),
            Cmd::Commit(c) => c.run(ctx),
            Cmd::Resolve(c) => c.run(ctx),
            Cmd::Cleanup(c) => c.run(ctx),
            Cmd::Completions(c) => c.run(ctx),
            Cmd::Man(c) => c.run(ctx),
        }
    }
}

/// Pretty JSON on stdout.
pub fn print_json(v: &impl serde::Serialize) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Working-copy paths resolved to one working copy and their paths
/// relative to its top (`""` is the top); none given means `.`.
pub fn wc_targets(paths: &[PathBuf]) -> Result<(Wc, Vec<String>)> {
    let default = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let (wc, first) = Wc::locate(&paths[0])?;
    let mut rels = vec![first];
    for p in &paths[1..] {
        let (other, rel) = Wc::locate(p)?;
        if other.root != wc.root {
            bail!(
                "'{}' is in another working copy ({}): give targets of one working copy",
                p.display(),
                other.root.display()
            );
        }
        rels.push(rel);
    }
    Ok((wc, rels))
}

/// How a relative path is shown: as svn does, relative to where the user
/// is when that is inside the working copy.
pub fn shown(wc: &Wc, rel: &str) -> String {
    let abs = wc.file(rel);
    let here = std::env::current_dir().ok();
    match here.as_deref().and_then(|h| abs.strip_prefix(h).ok()) {
        Some(p) if p.as_os_str().is_empty() => ".".to_string(),
        Some(p) => p.display().to_string(),
        None => abs.display().to_string(),
    }
}
