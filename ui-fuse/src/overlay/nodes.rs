//! The overlay's inode numbers. Over the lower directory alone
//! (read-through, write-through) one per lower inode (device and inode
//! number), so two hard links to one lower file are one inode in the
//! mount too (`ls -i`, `find -samefile`, `tar`'s and `rsync -H`'s link
//! detection see the truth), each remembering the path it was last
//! reached by. In write-back one per path: a file's layer changes under
//! it (copied up into the spool, swapped for a placeholder) and its inode
//! must not, and a copy up leaves the lower file's other links behind, as
//! overlayfs does. Numbers are never reused within a mount.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::fs::{FsError, FsResult, Ino, ROOT};

/// One inode.
#[derive(Debug, Clone)]
struct Node {
    /// The path it was last reached by, relative to the lower directory.
    rel: String,
    /// The lower inode.
    key: (u64, u64),
    /// Lookups the kernel holds.
    lookups: u64,
}

#[derive(Debug, Default)]
struct Table {
    nodes: HashMap<Ino, Node>,
    by_key: HashMap<(u64, u64), Ino>,
    /// Write-back: inodes by path instead.
    by_path: Option<HashMap<String, Ino>>,
    next: Ino,
}

/// The inode table.
#[derive(Debug)]
pub struct Nodes {
    table: Mutex<Table>,
}

impl Nodes {
    /// A table whose root is the lower directory (device `dev`, inode
    /// `ino`), with an inode per lower inode, or per path when `by_path`.
    pub fn new(dev: u64, ino: u64, by_path: bool) -> Nodes {
        let mut t = Table {
            next: ROOT + 1,
            by_path: by_path.then(|| HashMap::from([(String::new(), ROOT)])),
            ..Table::default()
        };
        t.nodes.insert(
            ROOT,
            Node {
                rel: String::new(),
                key: (dev, ino),
                lookups: 1,
            },
        );
        t.by_key.insert((dev, ino), ROOT);
        Nodes {
            table: Mutex::new(t),
        }
    }

    /// The path of `ino`.
    pub fn rel(&self, ino: Ino) -> FsResult<String> {
        let t = self.table.lock().expect("poisoned");
        t.nodes
            .get(&ino)
            .map(|n| n.rel.clone())
            .ok_or(FsError::StaleInode(ino))
    }

    /// The inode of the lower file `key` reached at `rel`, counted as a
    /// kernel lookup when `lookup` (a readdir's entry is not one).
    pub fn at(&self, key: (u64, u64), rel: &str, lookup: bool) -> Ino {
        let mut t = self.table.lock().expect("poisoned");
        let n = u64::from(lookup);
        let known = match &t.by_path {
            Some(paths) => paths.get(rel).copied(),
            None => t.by_key.get(&key).copied(),
        };
        if let Some(ino) = known
            && let Some(node) = t.nodes.get_mut(&ino)
        {
            node.lookups += n;
            if node.rel != rel {
                node.rel = rel.to_string();
            }
            return ino;
        }
        let ino = t.next;
        t.next += 1;
        t.nodes.insert(
            ino,
            Node {
                rel: rel.to_string(),
                key,
                lookups: n,
            },
        );
        match &mut t.by_path {
            Some(paths) => {
                paths.insert(rel.to_string(), ino);
            }
            None => {
                t.by_key.insert(key, ino);
            }
        }
        ino
    }

    /// The kernel forgets `n` lookups of `ino`; an inode nobody holds is
    /// dropped (the next lookup makes a new one).
    pub fn forget(&self, ino: Ino, n: u64) {
        if ino == ROOT {
            return;
        }
        let mut t = self.table.lock().expect("poisoned");
        let Some(node) = t.nodes.get_mut(&ino) else {
            return;
        };
        node.lookups = node.lookups.saturating_sub(n);
        if node.lookups == 0 {
            let (key, rel) = (node.key, node.rel.clone());
            t.nodes.remove(&ino);
            match &mut t.by_path {
                Some(paths) => {
                    if paths.get(&rel) == Some(&ino) {
                        paths.remove(&rel);
                    }
                }
                None => {
                    if t.by_key.get(&key) == Some(&ino) {
                        t.by_key.remove(&key);
                    }
                }
            }
        }
    }

    /// `from` (and everything below it) is at `to` now.
    pub fn renamed(&self, from: &str, to: &str) {
        let mut t = self.table.lock().expect("poisoned");
        let below = format!("{from}/");
        let moved = |p: &str| {
            if p == from {
                Some(to.to_string())
            } else {
                p.strip_prefix(&below).map(|rest| format!("{to}/{rest}"))
            }
        };
        for node in t.nodes.values_mut() {
            if let Some(new) = moved(&node.rel) {
                node.rel = new;
            }
        }
        if let Some(paths) = &mut t.by_path {
            let to_below = format!("{to}/");
            paths.retain(|p, _| p != to && !p.starts_with(&to_below));
            let old: Vec<(String, Ino)> = paths
                .iter()
                .filter(|(p, _)| moved(p).is_some())
                .map(|(p, i)| (p.clone(), *i))
                .collect();
            for (p, ino) in old {
                paths.remove(&p);
                paths.insert(moved(&p).expect("filtered"), ino);
            }
        }
    }

    /// Inodes known (for `statfs`).
    pub fn len(&self) -> usize {
        self.table.lock().expect("poisoned").nodes.len()
    }

    /// Whether only the root is known.
    pub fn is_empty(&self) -> bool {
        self.len() <= 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_links_share_an_inode_and_renames_move_subtrees() {
        let n = Nodes::new(1, 2, false);
        let a = n.at((1, 10), "a", true);
        let b = n.at((1, 10), "dir/b", true);
        assert_eq!(a, b, "one lower inode, one inode");
        let c = n.at((1, 11), "dir/c", true);
        assert_ne!(a, c);
        n.renamed("dir", "new");
        assert_eq!(n.rel(c).unwrap(), "new/c");
        assert_eq!(n.rel(ROOT).unwrap(), "");
        n.forget(c, 1);
        assert!(n.rel(c).is_err(), "dropped when forgotten");
        let c2 = n.at((1, 11), "new/c", true);
        assert_ne!(c, c2, "numbers are not reused");
    }

    #[test]
    fn by_path_an_inode_stays_whatever_file_is_under_it() {
        let n = Nodes::new(1, 2, true);
        let a = n.at((1, 10), "dir/a", true);
        assert_eq!(n.at((9, 99), "dir/a", true), a, "copied up: the same inode");
        assert_ne!(
            n.at((1, 10), "b", true),
            a,
            "a second link: an inode of its own"
        );
        n.renamed("dir", "new");
        assert_eq!(n.at((5, 5), "new/a", true), a, "renamed with its path");
        assert_ne!(n.at((1, 10), "dir/a", true), a);
    }
}
