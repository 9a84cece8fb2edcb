//! Removals held back so that a recursive delete cannot wreck the store.
//!
//! `rm -r /tags/A` (or a file manager deleting the folder `A`) descends
//! into the co-tag directories `/tags/A/B/`, `/tags/A/C/`… and unlinks
//! their entries before it unlinks `A`'s own. Applied at once, each of
//! those unlinks would strip `B`, `C`… from every document tagged `A`.
//!
//! So an unlink in a *nested* directory — one whose innermost metadata
//! is not its only one: `/tags/A/B/`, `/by/K/V/K2/V2/` — is held here
//! (the entry disappears from the mount at once) until the process that
//! made it has exited or has been idle for a grace period (2 s by
//! default). If, meanwhile, the same document is unlinked from an
//! ancestor directory (`/tags/A/`), the held removal is **absorbed**: the
//! process was walking the tree to delete the ancestor, and only the
//! ancestor's metadata goes. What is left is then applied, in one commit.
//!
//! `rm /tags/A/B/x` alone is applied as soon as `rm` exits; `rm -r
//! /tags/A` removes the tag `A` and nothing else; `rm -r /tags/A/B`
//! removes `B` from the documents tagged `A` and `B`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use docgrid_core::DocId;
use docgrid_core::tree::Dir;

/// One held removal: document `id`, shown as `name` in `dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The directory it was unlinked from.
    pub dir: Dir,
    /// The name it had there.
    pub name: String,
    /// The document.
    pub id: DocId,
    /// The process that unlinked it.
    pub pid: u32,
}

/// Whether an unlink from `dir` is held (see the module docs).
pub fn is_nested(dir: &Dir) -> bool {
    match dir {
        Dir::Tags(tags) => tags.len() > 1,
        Dir::ByValue { filters } => filters.len() > 1,
        _ => false,
    }
}

/// Whether `ancestor` is a proper ancestor of `dir`.
fn is_ancestor(ancestor: &Dir, dir: &Dir) -> bool {
    let mut d = dir.parent();
    while let Some(p) = d {
        if &p == ancestor {
            return true;
        }
        d = p.parent();
    }
    false
}

/// The held removals and the activity of the processes that made them.
#[derive(Debug, Default)]
pub struct Pending {
    held: Vec<Held>,
    active: HashMap<u32, Instant>,
}

impl Pending {
    /// Holds a removal.
    pub fn hold(&mut self, held: Held) {
        self.active.insert(held.pid, Instant::now());
        self.held.push(held);
    }

    /// Process `pid` did something in the mount.
    pub fn touch(&mut self, pid: u32) {
        if let Some(t) = self.active.get_mut(&pid) {
            *t = Instant::now();
        }
    }

    /// Document `id` was unlinked from `dir`: held removals of it from
    /// directories below `dir` are absorbed (dropped). Returns them.
    pub fn absorb(&mut self, dir: &Dir, id: &DocId) -> Vec<Held> {
        self.take(|h| h.id == *id && is_ancestor(dir, &h.dir))
    }

    /// Every held removal of document `id` (before another write to it).
    pub fn of_doc(&mut self, id: &DocId) -> Vec<Held> {
        self.take(|h| h.id == *id)
    }

    /// The held removals that are due: their process has exited
    /// (`alive` says no) or been idle for `grace`.
    pub fn due(&mut self, grace: Duration, alive: &dyn Fn(u32) -> bool) -> Vec<Held> {
        let now = Instant::now();
        let idle: Vec<u32> = self
            .active
            .iter()
            .filter(|(pid, t)| now.duration_since(**t) >= grace || !alive(**pid))
            .map(|(pid, _)| *pid)
            .collect();
        for pid in &idle {
            self.active.remove(pid);
        }
        self.take(|h| idle.contains(&h.pid))
    }

    /// Every held removal (at unmount, `fsync` of a directory).
    pub fn all(&mut self) -> Vec<Held> {
        self.active.clear();
        std::mem::take(&mut self.held)
    }

    /// Whether `name` in `dir` is held (hidden from the mount).
    pub fn hides(&self, dir: &Dir, name: &str) -> bool {
        self.held.iter().any(|h| &h.dir == dir && h.name == name)
    }

    /// Held removals in `dir`.
    pub fn in_dir(&self, dir: &Dir) -> usize {
        self.held.iter().filter(|h| &h.dir == dir).count()
    }

    /// Whether anything is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    fn take(&mut self, pred: impl Fn(&Held) -> bool) -> Vec<Held> {
        let (out, keep): (Vec<Held>, Vec<Held>) = self.held.drain(..).partition(|h| pred(h));
        self.held = keep;
        out
    }
}

/// Whether process `pid` still runs.
pub fn alive(pid: u32) -> bool {
    pid == 0 || std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use docgrid_core::tree::parse_dir;

    fn held(dir: &str, id: DocId, pid: u32) -> Held {
        Held {
            dir: parse_dir(dir).unwrap(),
            name: "x".into(),
            id,
            pid,
        }
    }

    #[test]
    fn nested_directories_are_those_with_more_than_one_innermost() {
        assert!(is_nested(&parse_dir("/tags/a/b/").unwrap()));
        assert!(is_nested(&parse_dir("/by/k/v/j/w/").unwrap()));
        assert!(!is_nested(&parse_dir("/tags/a/").unwrap()));
        assert!(!is_nested(&parse_dir("/by/k/v/").unwrap()));
        assert!(!is_nested(&parse_dir("/files/a/b/").unwrap()));
        assert!(!is_nested(&parse_dir("/all/").unwrap()));
    }

    #[test]
    fn an_unlink_from_an_ancestor_absorbs_the_held_ones() {
        let (x, y) = (DocId::random(), DocId::random());
        let mut p = Pending::default();
        p.hold(held("/tags/a/b/", x, 7));
        p.hold(held("/tags/a/b/c/", x, 7));
        p.hold(held("/tags/a/b/", y, 7));
        p.hold(held("/tags/z/b/", x, 7));
        let absorbed = p.absorb(&parse_dir("/tags/a/").unwrap(), &x);
        assert_eq!(absorbed.len(), 2);
        let left = p.all();
        assert_eq!(left.len(), 2, "y's, and x's under another tag, stay");
        assert!(left.iter().any(|h| h.id == y));
        assert!(
            left.iter()
                .any(|h| h.dir == parse_dir("/tags/z/b/").unwrap())
        );
    }

    #[test]
    fn removals_come_due_when_their_process_exits_or_idles() {
        let x = DocId::random();
        let mut p = Pending::default();
        p.hold(held("/tags/a/b/", x, 7));
        p.hold(held("/tags/a/c/", x, 8));
        assert!(p.due(Duration::from_secs(60), &|_| true).is_empty());
        let due = p.due(Duration::from_secs(60), &|pid| pid != 8);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].pid, 8);
        p.touch(7);
        assert_eq!(p.due(Duration::ZERO, &|_| true).len(), 1);
        assert!(p.is_empty());
    }
}
