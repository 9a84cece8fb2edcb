//! The overlay's inode numbers: one per lower inode (device and inode
//! number), so two hard links to one lower file are one inode in the
//! mount too (`ls -i`, `find -samefile`, `tar`'s and `rsync -H`'s link
//! detection see the truth), and each remembers the path it was last
//! reached by. Numbers are never reused within a mount.

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
    next: Ino,
}

/// The inode table.
#[derive(Debug)]
pub struct Nodes {
    table: Mutex<Table>,
}

impl Nodes {
    /// A table whose root is the lower directory (device `dev`, inode
    /// `ino`).
    pub fn new(dev: u64, ino: u64) -> Nodes {
        let mut t = Table {
            next: ROOT + 1,
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
        if let Some(&ino) = t.by_key.get(&key) {
            let node = t.nodes.get_mut(&ino).expect("indexed");
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
        t.by_key.insert(key, ino);
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
            let key = node.key;
            t.nodes.remove(&ino);
            t.by_key.remove(&key);
        }
    }

    /// `from` (and everything below it) is at `to` now.
    pub fn renamed(&self, from: &str, to: &str) {
        let mut t = self.table.lock().expect("poisoned");
        let below = format!("{from}/");
        for node in t.nodes.values_mut() {
            if node.rel == from {
                node.rel = to.to_string();
            } else if let Some(rest) = node.rel.strip_prefix(&below) {
                node.rel = format!("{to}/{rest}");
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
        let n = Nodes::new(1, 2);
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
}
