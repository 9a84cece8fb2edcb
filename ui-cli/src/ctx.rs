//! What every command runs with: the settings (flags, `DOCGRID_*`, the
//! config file), a client and tree layer made on first use (offline
//! commands never make one), and the resolution of targets.

use std::sync::OnceLock;

use anyhow::{Result, bail};
use docgrid_client::Client;
use docgrid_client::config::{Overrides, resolve};
use docgrid_client::tree::{Node, Tree};

use crate::args::{Rev, Target};
use crate::wc::Wc;

/// The run's settings and connections.
pub struct Ctx {
    over: Overrides,
    tree: OnceLock<Tree>,
}

impl Ctx {
    /// With the global flags.
    pub fn new(servers: Vec<String>, token: Option<String>) -> Ctx {
        Ctx {
            over: Overrides {
                servers,
                token,
                cache: None,
                cache_size: None,
            },
            tree: OnceLock::new(),
        }
    }

    /// The tree layer over a client of the configured servers.
    pub fn tree(&self) -> Result<&Tree> {
        if let Some(t) = self.tree.get() {
            return Ok(t);
        }
        let tree = Tree::new(self.connect()?);
        Ok(self.tree.get_or_init(|| tree))
    }

    /// The client.
    pub fn client(&self) -> Result<&Client> {
        Ok(self.tree()?.client())
    }

    /// The servers as configured (for `info`).
    pub fn servers(&self) -> Vec<String> {
        resolve(&self.over).map(|c| c.servers).unwrap_or_default()
    }

    fn connect(&self) -> Result<Client> {
        let cfg = resolve(&self.over)?;
        Ok(docgrid_client::config::client_for(&cfg, None)?)
    }

    /// The tree path a target names: a repository path in the tree's
    /// spelling (a typed `/` inside a tag or value joined), or a
    /// working-copy path's place in the tree.
    pub fn tree_path(&self, target: &Target) -> Result<String> {
        match target {
            Target::Repo(p) if p.starts_with('/') => Ok(self.tree()?.typed(p)),
            Target::Repo(id) => Ok(format!("/ids/{id}")),
            Target::Local(p) => {
                let (wc, rel) = Wc::locate(p)?;
                if !wc.versioned(&rel) {
                    bail!("'{}' is not under version control", p.display());
                }
                if let Some(id) = wc.state.entries.get(&rel).and_then(|e| e.id) {
                    return Ok(format!("/ids/{id}"));
                }
                if wc.state.entries.contains_key(&rel) {
                    bail!(
                        "'{}' is scheduled for addition: it is not in the repository yet",
                        p.display()
                    );
                }
                Ok(wc.tree_path_of(&rel))
            }
        }
    }

    /// The entry a target names, with a hint where to look when none.
    pub fn node(&self, target: &Target) -> Result<Node> {
        let path = self.tree_path(target)?;
        let tree = self.tree()?;
        let node = match target {
            Target::Repo(id) if !id.starts_with('/') => tree.resolve(id),
            _ => tree.resolve(&path),
        };
        node.map_err(|e| not_found(e, &target.shown(), &path))
    }

    /// The document a target names (a directory is an error).
    pub fn doc_node(&self, target: &Target) -> Result<Node> {
        let node = self.node(target)?;
        if node.is_dir() {
            bail!(
                "'{}' is a directory: give a document (docgrid ls {} lists it)",
                target.shown(),
                node.path
            );
        }
        Ok(node)
    }

    /// A revision as a number: HEAD asks the server; BASE, COMMITTED and
    /// PREV need a working-copy file.
    pub fn rev_number(&self, rev: Rev, target: Option<&Target>) -> Result<u64> {
        let base = || -> Result<u64> {
            let Some(Target::Local(p)) = target else {
                bail!("BASE, COMMITTED and PREV name a working-copy file's revisions: give one");
            };
            let (wc, rel) = Wc::locate(p)?;
            if rel.is_empty() {
                return Ok(wc.state.rev);
            }
            Ok(wc.entry(&rel)?.rev)
        };
        Ok(match rev {
            Rev::Num(n) => n,
            Rev::Head => self.client()?.health()?.rev,
            Rev::Base | Rev::Committed => base()?,
            Rev::Prev => base()?.saturating_sub(1),
        })
    }
}

/// `e`, and when it says that `path` (typed as `shown`) is not there, where
/// to look instead; other failures (an unreachable server) as they are.
pub fn not_found(e: docgrid_client::ClientError, shown: &str, path: &str) -> anyhow::Error {
    let missing = e.kind() == docgrid_client::ErrorKind::NotFound;
    let e = anyhow::Error::new(e);
    if !missing {
        return e;
    }
    e.context(format!(
        "'{shown}' does not exist (docgrid ls {} shows what does)",
        listable_parent(path)
    ))
}

/// The nearest directory above a tree path that lists something, for
/// hints: `/ids/` lists nothing, so a missing id points at `/all`.
pub fn listable_parent(path: &str) -> &str {
    match parent_of(path) {
        "/ids" => "/all",
        p => p,
    }
}

/// The directory above a tree path, for hints (`/` at the top).
pub fn parent_of(path: &str) -> &str {
    let dir = path
        .trim_end_matches('/')
        .rsplit_once('/')
        .map_or("/", |(d, _)| d);
    if dir.is_empty() { "/" } else { dir }
}
