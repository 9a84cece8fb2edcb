//! What the server lists for a working copy: its directory (and, in a
//! recursive checkout, every subdirectory), by relative path.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Result;
use docgrid_client::tree::Tree;
use docgrid_core::DocId;
use docgrid_core::api::{EntryKind, TreeEntry};

use super::Wc;

/// The server's side of a working copy.
pub(crate) struct Remote {
    /// The oldest revision among the listings (they may straddle a commit).
    pub rev: u64,
    /// Documents by relative path.
    pub files: BTreeMap<String, TreeEntry>,
    /// Subdirectories by relative path.
    pub dirs: BTreeSet<String>,
}

impl Remote {
    /// Lists `tree_path` (one request per directory; subdirectories only
    /// when `recursive`).
    pub fn list(tree: &Tree, tree_path: &str, recursive: bool) -> Result<Remote> {
        let mut remote = Remote {
            rev: u64::MAX,
            files: BTreeMap::new(),
            dirs: BTreeSet::new(),
        };
        let mut queue = vec![String::new()];
        while let Some(rel) = queue.pop() {
            let path = if rel.is_empty() {
                format!("{tree_path}/")
            } else {
                format!("{tree_path}/{rel}/")
            };
            let listing = tree.list(&path)?;
            remote.rev = remote.rev.min(listing.rev);
            for e in listing.entries() {
                let child = if rel.is_empty() {
                    e.name.clone()
                } else {
                    format!("{rel}/{}", e.name)
                };
                match e.kind {
                    EntryKind::Doc => {
                        remote.files.insert(child, e.clone());
                    }
                    EntryKind::Dir if recursive => {
                        remote.dirs.insert(child.clone());
                        queue.push(child);
                    }
                    EntryKind::Dir => {}
                }
            }
        }
        if remote.rev == u64::MAX {
            remote.rev = 0;
        }
        Ok(remote)
    }

    /// The relative path of each listed document.
    pub fn by_id(&self) -> HashMap<DocId, String> {
        self.files
            .iter()
            .filter_map(|(rel, e)| e.id.map(|id| (id, rel.clone())))
            .collect()
    }
}

impl Wc {
    /// The server's side of this working copy.
    pub(crate) fn remote(&self, tree: &Tree) -> Result<Remote> {
        Remote::list(tree, &self.state.tree_path, self.recursive())
    }

    /// Relative path of each versioned document.
    pub(crate) fn local_ids(&self) -> HashMap<DocId, String> {
        self.state
            .entries
            .iter()
            .filter_map(|(rel, e)| e.id.map(|id| (id, rel.clone())))
            .collect()
    }
}
