//! `rm`, `mv`, `mkdir` (a tree path commits at once by core's tree rules;
//! a working-copy path is scheduled for `commit`), and `cp`, refused.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use super::{Run, shown};
use crate::args::Target;
use crate::ctx::Ctx;
use crate::exit::Refused;
use crate::wc::Wc;

/// Delete a document (its history stays) or schedule a working-copy file
/// for removal. What removing means depends on the directory: in
/// /tags/jazz/ it untags, in /all/, /files/ and /ids/ it deletes.
///
/// Example: docgrid rm /all/draft.txt
///
/// Example: docgrid rm notes.txt && docgrid commit -m "drop notes"
#[derive(Args)]
pub struct Rm {
    #[arg(required = true, value_parser = Target::parse)]
    targets: Vec<Target>,
    /// Remove locally modified files too (their changes are lost).
    #[arg(long)]
    force: bool,
}

impl Run for Rm {
    fn run(self, ctx: &Ctx) -> Result<()> {
        for t in &self.targets {
            match t {
                Target::Local(p) => {
                    let (mut wc, rel) = Wc::locate(p)?;
                    if rel.is_empty() {
                        bail!(
                            "'{}' is the working copy itself: remove files in it",
                            p.display()
                        );
                    }
                    for gone in wc.remove(&rel, self.force)? {
                        outln!("D         {}", shown(&wc, &gone));
                    }
                    wc.save()?;
                }
                Target::Repo(_) => {
                    let node = ctx.doc_node(t)?;
                    let rev = ctx.tree()?.remove_at(&node.path)?;
                    outln!("Committed revision {rev}: removed {}.", node.path);
                }
            }
        }
        Ok(())
    }
}

/// Rename or move a document. DEST is a new name (same directory), a
/// directory (the name stays) or a full path. Moving between directories
/// changes metadata as the tree defines it: out of /tags/A/ removes tag A,
/// into /tags/B/ adds tag B, within /files/ changes `path`. In a working
/// copy the move is scheduled for commit.
///
/// Example: docgrid mv /tags/inbox/x.pdf /tags/taxes/
///
/// Example: docgrid mv plan.txt plan-v2.txt
#[derive(Args)]
pub struct Mv {
    #[arg(value_parser = Target::parse)]
    source: Target,
    /// The new name, directory or path.
    dest: String,
}

impl Run for Mv {
    fn run(self, ctx: &Ctx) -> Result<()> {
        match &self.source {
            Target::Local(p) => {
                let (mut wc, old) = Wc::locate(p)?;
                let (other, new) = Wc::locate(&PathBuf::from(&self.dest))?;
                if other.root != wc.root {
                    bail!(
                        "'{}' is outside the working copy of '{}'",
                        self.dest,
                        p.display()
                    );
                }
                let new = wc.rename(&old, &new)?;
                wc.save()?;
                outln!("A         {}", shown(&wc, &new));
                outln!("D         {}", shown(&wc, &old));
            }
            Target::Repo(_) => {
                let node = ctx.doc_node(&self.source)?;
                let tree = ctx.tree()?;
                let dest = if self.dest.starts_with('/') {
                    tree.typed(&self.dest)
                } else {
                    self.dest.clone()
                };
                let moved = tree.rename_at(&node.path, &dest)?;
                outln!("Moved {} to {}.", node.path, moved.path);
            }
        }
        Ok(())
    }
}

/// Refused: docgrid has no copies. A document is one thing that may be
/// listed in many directories.
///
/// To list it in another directory too, tag it (docgrid tag X TAG) or set
/// a property; to move it, docgrid mv; to duplicate its bytes as a new
/// document, docgrid cat X > FILE, then docgrid import FILE.
#[derive(Args)]
pub struct Cp {
    #[arg(num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

impl Run for Cp {
    fn run(self, _ctx: &Ctx) -> Result<()> {
        Err(Refused(
            "docgrid has no copies: a document is one thing listed in many directories. \
             To list it elsewhere too, tag it (docgrid tag X TAG); to move it, docgrid mv; \
             to duplicate its bytes, docgrid cat X > FILE && docgrid import FILE"
                .into(),
        )
        .into())
    }
}

/// Create a directory: a tag under /tags/, a directory under /files/; in
/// a working copy of /files/, a directory scheduled for addition.
///
/// Example: docgrid mkdir /files/papers/2026
///
/// Example: docgrid mkdir /tags/taxes
#[derive(Args)]
pub struct Mkdir {
    #[arg(required = true, value_parser = Target::parse)]
    paths: Vec<Target>,
}

impl Run for Mkdir {
    fn run(self, ctx: &Ctx) -> Result<()> {
        for t in &self.paths {
            match t {
                Target::Local(p) => {
                    let (mut wc, rel) = Wc::locate(p)?;
                    std::fs::create_dir(p)
                        .map_err(|e| anyhow::anyhow!("creating '{}': {e}", p.display()))?;
                    for added in wc.add(&rel, false)? {
                        outln!("A         {}", shown(&wc, &added));
                    }
                    wc.save()?;
                }
                Target::Repo(path) => {
                    let tree = ctx.tree()?;
                    let rev = tree.mkdir(&tree.typed(path))?;
                    outln!("Committed revision {rev}: created {path}.");
                }
            }
        }
        Ok(())
    }
}
