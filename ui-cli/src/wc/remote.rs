//! What the server lists for a working copy: its directory (and, in a
//! recursive checkout, every subdirectory), by relative path.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Result;
use docgrid_client::ErrorKind;
use docgrid_client::tree::Tree;
use docgrid_core::DocId;
use docgrid_core::api::{DocInfo, EntryKind, TreeEntry};
use docgrid_core::tree::parse_dir;

use super::{Wc, rel_join, rel_parent};

/// Beyond this many revisions or documents since the working copy's
/// revision, `update` lists the directories instead of asking what each
/// revision changed.
const MAX_COMMITS: u64 = 20;
const MAX_DOCS: usize = 200;

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
                let child = rel_join(&rel, &e.name);
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
    /// The server's side at revision `head`, from what changed since the
    /// working copy's revision: the commits after it (one request), each
    /// changeset (one request each)
    /// and each document they touched (one request each), applied to the
    /// entries as the server had them. `None` when that cannot be told so
    /// (too many changes, tag or directory operations, a query directory,
    /// names that would clash): then list the directories.
    pub(crate) fn remote_since(&self, tree: &Tree, head: u64) -> Result<Option<Remote>> {
        let from = self.state.rev;
        if from == 0 || head <= from || head - from > MAX_COMMITS {
            return Ok(None);
        }
        // One small request first: how many documents changed.
        let commits = tree.client().commits(from, MAX_COMMITS)?;
        if commits.iter().map(|c| c.docs.len()).sum::<usize>() > MAX_DOCS {
            return Ok(None);
        }
        let mut touched = BTreeSet::new();
        for rev in from + 1..=head {
            for op in tree.client().changeset(rev)?.ops {
                match op.doc() {
                    Some(id) => touched.insert(id),
                    None => return Ok(None),
                };
            }
            if touched.len() > MAX_DOCS {
                return Ok(None);
            }
        }
        let mut files = self.base_files();
        for id in touched {
            files.retain(|_, e| e.id != Some(id));
            let doc = match tree.client().doc(&id) {
                Ok(d) => d,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            let Some(placed) = self.place_of(&doc)? else {
                return Ok(None);
            };
            let Some(rel) = placed else { continue };
            if files.contains_key(&rel) {
                return Ok(None);
            }
            files.insert(rel, entry_of(&doc));
        }
        let dirs = self.base_dirs(&files);
        Ok(Some(Remote {
            rev: head,
            files,
            dirs,
        }))
    }

    /// The versioned documents where the server had them at the working
    /// copy's revision (a local move's old path; additions left out).
    fn base_files(&self) -> BTreeMap<String, TreeEntry> {
        self.state
            .entries
            .iter()
            .filter_map(|(rel, e)| {
                let id = e.id?;
                let at = e.renamed_from.clone().unwrap_or_else(|| rel.clone());
                let mut entry = TreeEntry::dir(super::rel_name(&at), None);
                entry.kind = EntryKind::Doc;
                entry.id = Some(id);
                entry.rev = Some(e.rev);
                Some((at, entry))
            })
            .collect()
    }

    /// The subdirectories: those holding documents, and those that held
    /// none before either (made by mkdir; only a directory operation,
    /// which lists instead, removes them).
    fn base_dirs(&self, files: &BTreeMap<String, TreeEntry>) -> BTreeSet<String> {
        let mut dirs = BTreeSet::new();
        for rel in files.keys() {
            let mut d = rel_parent(rel);
            while !d.is_empty() && dirs.insert(d.to_string()) {
                d = rel_parent(d);
            }
        }
        let held: BTreeSet<&str> = self.state.entries.keys().map(|r| rel_parent(r)).collect();
        for (rel, d) in &self.state.dirs {
            if !d.added && !held.iter().any(|h| super::under(rel, h)) {
                dirs.insert(rel.clone());
            }
        }
        dirs
    }

    /// Where `doc` is listed in this working copy: `Some(None)` not at
    /// all, `None` when its metadata alone cannot tell.
    fn place_of(&self, doc: &DocInfo) -> Result<Option<Option<String>>> {
        let top = &self.state.tree_path;
        if self.recursive() {
            let prefix = top
                .strip_prefix("/files")
                .unwrap_or(top)
                .trim_start_matches('/');
            let rel = doc.meta.get("path").and_then(|paths| {
                paths.iter().find_map(|p| match prefix {
                    "" => Some(p.clone()),
                    _ => p
                        .strip_prefix(prefix)?
                        .strip_prefix('/')
                        .map(str::to_string),
                })
            });
            return Ok(Some(rel.filter(|r| !r.is_empty())));
        }
        let filter = parse_dir(&format!("{top}/"))?.listing().docs;
        Ok(match filter.matches(&doc.meta) {
            None => None,
            Some(false) => Some(None),
            Some(true) => Some(Some(filter.display_name(&doc.name, &doc.meta))),
        })
    }

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

/// A listing entry for `doc`.
fn entry_of(doc: &DocInfo) -> TreeEntry {
    let mut e = TreeEntry::dir(doc.name.clone(), None);
    e.kind = EntryKind::Doc;
    e.id = Some(doc.id);
    e.rev = Some(doc.rev);
    e.size = Some(doc.size);
    e.hash = Some(doc.hash);
    e
}
