//! Inode numbers: one per document whatever path reaches it, one per
//! directory path (so `/tags/A/B/` and `/tags/B/A/` differ and `find`
//! never sees a loop), one per file that exists only in the mount (a new
//! file before its first commit, a scratch file).
//!
//! The kernel's lookup counts are kept: an inode the kernel has forgotten
//! (`forget` brought its count to zero) and nothing holds open is dropped,
//! and the same path or document gets a new number the next time.

use std::collections::HashMap;

use docgrid_core::DocId;

/// An inode number.
pub type Ino = u64;

/// The root directory's inode.
pub const ROOT: Ino = 1;

/// What an inode stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A directory of the tree, by canonical path (`/tags/a/`).
    Dir(String),
    /// A document.
    Doc(DocId),
    /// A file that exists only in this mount (see [`super::local`]).
    Local,
}

#[derive(Debug)]
struct Slot {
    kind: Kind,
    lookups: u64,
    pins: u64,
}

/// The inode table.
#[derive(Debug)]
pub struct Inodes {
    slots: HashMap<Ino, Slot>,
    dirs: HashMap<String, Ino>,
    docs: HashMap<DocId, Ino>,
    next: Ino,
}

impl Default for Inodes {
    fn default() -> Self {
        let mut t = Inodes {
            slots: HashMap::new(),
            dirs: HashMap::new(),
            docs: HashMap::new(),
            next: ROOT + 1,
        };
        t.slots.insert(
            ROOT,
            Slot {
                kind: Kind::Dir("/".into()),
                lookups: 1,
                pins: 1,
            },
        );
        t.dirs.insert("/".into(), ROOT);
        t
    }
}

impl Inodes {
    /// The inode of directory `path` (canonical), made if new.
    pub fn dir(&mut self, path: &str) -> Ino {
        if let Some(&ino) = self.dirs.get(path) {
            return ino;
        }
        let ino = self.alloc(Kind::Dir(path.to_string()));
        self.dirs.insert(path.to_string(), ino);
        ino
    }

    /// The inode of document `id`, made if new.
    pub fn doc(&mut self, id: DocId) -> Ino {
        if let Some(&ino) = self.docs.get(&id) {
            return ino;
        }
        let ino = self.alloc(Kind::Doc(id));
        self.docs.insert(id, ino);
        ino
    }

    /// A new inode for a file that exists only in the mount.
    pub fn local(&mut self) -> Ino {
        self.alloc(Kind::Local)
    }

    /// The inode document `id` has, if any.
    pub fn doc_ino(&self, id: &DocId) -> Option<Ino> {
        self.docs.get(id).copied()
    }

    /// The inode directory `path` has, if any.
    pub fn dir_ino(&self, path: &str) -> Option<Ino> {
        self.dirs.get(path).copied()
    }

    /// What `ino` stands for.
    pub fn get(&self, ino: Ino) -> Option<&Kind> {
        self.slots.get(&ino).map(|s| &s.kind)
    }

    /// The local file `ino` now is document `id` (its first commit), or a
    /// document's inode that the kernel now knows under another document's
    /// name (an atomic save): it answers as `id` from now on. `id` keeps
    /// the inode it had, if it had one.
    pub fn bind(&mut self, ino: Ino, id: DocId) {
        if let Some(slot) = self.slots.get_mut(&ino) {
            slot.kind = Kind::Doc(id);
            self.docs.entry(id).or_insert(ino);
        }
    }

    /// The kernel looked `ino` up once more (a lookup, a create, a
    /// readdirplus entry).
    pub fn looked_up(&mut self, ino: Ino) {
        if let Some(s) = self.slots.get_mut(&ino) {
            s.lookups += 1;
        }
    }

    /// The kernel was handed `ino` as `kind` and counts one lookup of it
    /// (a `readdirplus` entry): counted, or made again under the same
    /// number if a `forget` dropped it since the listing was taken — the
    /// kernel will use the number it was given. `false` for a local file
    /// that is gone (it cannot be made again).
    pub fn keep(&mut self, ino: Ino, kind: &Kind) -> bool {
        if let Some(s) = self.slots.get_mut(&ino) {
            s.lookups += 1;
            return true;
        }
        match kind {
            Kind::Local => return false,
            Kind::Dir(path) => {
                self.dirs.entry(path.clone()).or_insert(ino);
            }
            Kind::Doc(id) => {
                self.docs.entry(*id).or_insert(ino);
            }
        }
        let slot = Slot {
            kind: kind.clone(),
            lookups: 1,
            pins: 0,
        };
        self.slots.insert(ino, slot);
        true
    }

    /// The kernel forgot `n` lookups of `ino`: dropped when none remain
    /// and nothing holds it open.
    pub fn forget(&mut self, ino: Ino, n: u64) {
        if let Some(s) = self.slots.get_mut(&ino) {
            s.lookups = s.lookups.saturating_sub(n);
        }
        self.drop_if_unused(ino);
    }

    /// An open handle (or pending write) holds `ino`.
    pub fn pin(&mut self, ino: Ino) {
        if let Some(s) = self.slots.get_mut(&ino) {
            s.pins += 1;
        }
    }

    /// A handle on `ino` closed.
    pub fn unpin(&mut self, ino: Ino) {
        if let Some(s) = self.slots.get_mut(&ino) {
            s.pins = s.pins.saturating_sub(1);
        }
        self.drop_if_unused(ino);
    }

    /// Inodes known (for tests and `statfs`).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether only the root is known.
    pub fn is_empty(&self) -> bool {
        self.slots.len() <= 1
    }

    fn alloc(&mut self, kind: Kind) -> Ino {
        let ino = self.next;
        self.next += 1;
        self.slots.insert(
            ino,
            Slot {
                kind,
                lookups: 0,
                pins: 0,
            },
        );
        ino
    }

    fn drop_if_unused(&mut self, ino: Ino) {
        let unused = self
            .slots
            .get(&ino)
            .is_some_and(|s| s.lookups == 0 && s.pins == 0 && ino != ROOT);
        if !unused {
            return;
        }
        match self.slots.remove(&ino).map(|s| s.kind) {
            Some(Kind::Dir(path)) if self.dirs.get(&path) == Some(&ino) => {
                self.dirs.remove(&path);
            }
            Some(Kind::Doc(id)) if self.docs.get(&id) == Some(&ino) => {
                self.docs.remove(&id);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_inode_per_document_and_per_directory_path() {
        let mut t = Inodes::default();
        let id = DocId::random();
        let a = t.doc(id);
        assert_eq!(t.doc(id), a);
        let ab = t.dir("/tags/a/b/");
        let ba = t.dir("/tags/b/a/");
        assert_ne!(ab, ba);
        assert_eq!(t.dir("/tags/a/b/"), ab);
        assert_eq!(t.dir("/"), ROOT);
    }

    #[test]
    fn forgotten_inodes_are_dropped_unless_pinned() {
        let mut t = Inodes::default();
        let id = DocId::random();
        let ino = t.doc(id);
        t.looked_up(ino);
        t.looked_up(ino);
        t.pin(ino);
        t.forget(ino, 2);
        assert_eq!(t.get(ino), Some(&Kind::Doc(id)), "pinned by an open handle");
        t.unpin(ino);
        assert_eq!(t.get(ino), None);
        assert_ne!(t.doc(id), ino, "a new number after it was dropped");
        t.forget(ROOT, 10);
        assert!(t.get(ROOT).is_some(), "the root is never dropped");
    }

    #[test]
    fn a_local_file_binds_to_its_document() {
        let mut t = Inodes::default();
        let ino = t.local();
        let id = DocId::random();
        t.bind(ino, id);
        assert_eq!(t.get(ino), Some(&Kind::Doc(id)));
        assert_eq!(t.doc(id), ino);
    }

    #[test]
    fn an_entry_handed_out_after_its_forget_is_made_again_under_its_number() {
        let mut t = Inodes::default();
        let ino = t.dir("/files/a/");
        t.looked_up(ino);
        t.forget(ino, 1);
        assert!(t.get(ino).is_none(), "dropped");
        // A readdirplus reply built before the forget hands it out still.
        assert!(t.keep(ino, &Kind::Dir("/files/a/".into())));
        assert_eq!(t.dir("/files/a/"), ino);
        assert!(!t.keep(999, &Kind::Local));
    }
}
