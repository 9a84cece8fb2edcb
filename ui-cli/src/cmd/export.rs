//! `export`: documents out of the repository into plain files, with no
//! working copy. Like svn's, recursive by default through `/files/`
//! directories (`--depth` limits it); other directories are queries whose
//! subdirectories only refine them, so their documents are exported flat.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use docgrid_client::tree::Tree;
use docgrid_core::DocId;
use docgrid_core::tree::{Dir, parse_dir};

use super::Run;
use crate::args::{Depth, Rev, Target, parse_one_rev};
use crate::ctx::Ctx;
use crate::wc::Remote;

/// Copy a document, or a directory's documents, into plain files.
///
/// A directory exports into DIR (default: its last component), which must
/// not exist or be empty unless --force; /files/ directories recursively.
/// One document exports to DIR/NAME when DIR is a directory, else to DIR.
/// An export that writes nothing is an error.
///
/// Example: docgrid export /files/papers ./papers
///
/// Example: docgrid export --depth files -r 12 /files/papers ./top
#[derive(Args)]
pub struct Export {
    /// A tree path or document id.
    #[arg(value_parser = Target::parse)]
    target: Target,
    /// Where to write.
    dir: Option<PathBuf>,
    /// How deep: empty, files, immediates, infinity (default).
    #[arg(long, value_enum, default_value = "infinity")]
    depth: Depth,
    /// Each document's content as of this revision (a number or HEAD).
    #[arg(short = 'r', long = "revision", value_parser = parse_one_rev)]
    rev: Option<Rev>,
    /// Write into a directory that is not empty (files there are replaced).
    #[arg(long)]
    force: bool,
}

impl Run for Export {
    fn run(self, ctx: &Ctx) -> Result<()> {
        if matches!(self.target, Target::Local(_)) {
            bail!(
                "export takes a tree path (/files/DIR) or a document id; to copy a working copy, use cp"
            );
        }
        let node = ctx.node(&self.target)?;
        let rev = match self.rev {
            None | Some(Rev::Head) => None,
            Some(r) => Some(ctx.rev_number(r, None)?),
        };
        let tree = ctx.tree()?;
        let dest = self
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(node.name()));
        if let Some(id) = node.id() {
            let path = if dest.is_dir() {
                dest.join(node.name())
            } else {
                dest
            };
            save(tree, &id, rev, &path)?;
            outln!("A    {}", path.display());
            return Ok(());
        }
        self.export_dir(tree, &node.path, &dest, rev)
    }
}

impl Export {
    fn export_dir(&self, tree: &Tree, path: &str, dest: &Path, rev: Option<u64>) -> Result<()> {
        if dest.is_dir() && std::fs::read_dir(dest)?.next().is_some() && !self.force {
            bail!(
                "'{}' exists and is not empty (--force writes into it)",
                dest.display()
            );
        }
        let files = matches!(parse_dir(path)?, Dir::Files(_));
        let deep = files && self.depth >= Depth::Immediates;
        let remote = Remote::list(tree, path.trim_end_matches('/'), deep)?;
        std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
        let top = |rel: &str| !rel.contains('/');
        let mut written = 0usize;
        for rel in &remote.dirs {
            if self.depth == Depth::Infinity || top(rel) {
                std::fs::create_dir_all(dest.join(rel))?;
                outln!("A    {}", dest.join(rel).display());
                written += 1;
            }
        }
        let wanted = remote.files.iter().filter(|(rel, _)| {
            self.depth >= Depth::Files && (self.depth == Depth::Infinity || top(rel))
        });
        let total = remote.files.len() as u64;
        let bar = indicatif::ProgressBar::new(total).with_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} files {per_sec}")
                .expect("a valid template"),
        );
        for (rel, e) in wanted {
            let Some(id) = e.id else { continue };
            let file = dest.join(rel);
            if save(tree, &id, rev, &file)? {
                outln!("A    {}", file.display());
                written += 1;
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        if written == 0 {
            bail!(
                "nothing to export: {path} holds no documents at depth {:?}",
                self.depth
            );
        }
        outln!("Exported revision {}.", rev.unwrap_or(remote.rev));
        Ok(())
    }
}

/// Writes document `id` (at `rev`, when given) to `path` through a
/// temporary file; false when it did not exist at `rev`.
fn save(tree: &Tree, id: &DocId, rev: Option<u64>, path: &Path) -> Result<bool> {
    let client = tree.client();
    let manifest = match rev {
        Some(r) => match client.manifest_at(id, r) {
            Ok(m) => Some(m),
            Err(docgrid_client::ClientError::Api { status: 404, .. }) => {
                eprintln!("skipped {}: it did not exist at r{r}", path.display());
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".docgrid-part");
    let tmp = PathBuf::from(tmp);
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    match &manifest {
        Some(m) => client.manifest_content_to(m, &mut f)?,
        None => client.content_to(id, &mut f).map(|_| ())?,
    }
    f.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(true)
}
