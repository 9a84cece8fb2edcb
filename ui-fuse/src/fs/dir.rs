//! Names and directories: `lookup`, `getattr`, `forget`, and `readdir`
//! over a snapshot of the listing taken per open handle (so a listing
//! that changes while `ls` or `find` reads it is read consistently, and a
//! rewind to offset 0 takes a new one).

use std::sync::Arc;

use docgrid_client::ErrorKind;
use docgrid_client::tree::{Listing, Node, doc_entry};
use docgrid_core::DocId;
use docgrid_core::api::{EntryKind, TreeEntry};
use docgrid_core::tree::{self as rules, Dir};

use super::attr::{self, Attr, FileKind};
use super::error::{FsError, FsResult};
use super::inodes::{Ino, Kind};
use super::names::NameClass;
use super::{DirHandle, DirSnapshot, Fs, join};

/// Entries made into items per `readdir` call at most (a reply holds
/// fewer: the adapter asks again until the kernel's buffer is full).
pub const DIR_PAGE: usize = 128;

/// One entry of a directory as `readdir` gives it.
#[derive(Debug, Clone)]
pub struct DirItem {
    /// Its inode.
    pub ino: Ino,
    /// Its name.
    pub name: String,
    /// Its attributes (for `readdirplus`).
    pub attr: Attr,
    /// What its inode stands for.
    pub kind: Kind,
}

impl Fs {
    /// `lookup`: the entry `name` of directory `parent`, counted as one
    /// lookup of its inode.
    pub fn lookup(&self, parent: Ino, name: &str, pid: u32) -> FsResult<Attr> {
        let dir = self.dir_path(parent)?;
        loop {
            let attr = self.find(&dir, name)?;
            let mut st = self.lock();
            // A `forget` on another thread may have dropped the inode
            // between `find` and here: find it again (a new number).
            if st.inodes.get(attr.ino).is_none() {
                continue;
            }
            st.inodes.looked_up(attr.ino);
            st.view.remember(&dir, name);
            st.pending.touch(pid);
            return Ok(attr);
        }
    }

    /// The kernel keeps `item` (a `readdirplus` entry) as one lookup.
    pub fn looked_up(&self, item: &DirItem) {
        if !self.lock().inodes.keep(item.ino, &item.kind) {
            tracing::debug!("readdirplus: {} went while it was listed", item.name);
        }
    }

    /// `forget`: the kernel dropped `n` lookups of `ino`.
    pub fn forget(&self, ino: Ino, n: u64) {
        self.lock().inodes.forget(ino, n);
    }

    /// `getattr`.
    pub fn getattr(&self, ino: Ino) -> FsResult<Attr> {
        let ro = self.opts.read_only;
        let st = self.lock();
        let id = match st
            .inodes
            .get(ino)
            .cloned()
            .ok_or(FsError::StaleInode(ino))?
        {
            Kind::Dir(path) => return Ok(attr::dir_attr(ino, &path, self.mounted, ro)),
            Kind::Local => {
                let d = st.drafts.get(&ino).ok_or(FsError::StaleInode(ino))?;
                return Ok(attr::with_draft(None, ino, d, ro));
            }
            Kind::Doc(id) => id,
        };
        let base = st.entries.get(&ino).map(|e| attr::doc_attr(ino, e, ro));
        if let Some(d) = st.drafts.get(&ino) {
            return Ok(attr::with_draft(base, ino, d, ro));
        }
        if let Some(a) = base {
            return Ok(a);
        }
        drop(st);
        let doc = self.tree.doc(&id)?;
        let entry = doc_entry(doc.name.clone(), &doc);
        let a = attr::doc_attr(ino, &entry, ro);
        self.lock().entries.insert(ino, entry);
        Ok(a)
    }

    /// The entry `name` of `dir` as the mount shows it (not counted).
    pub(super) fn find(&self, dir: &str, name: &str) -> FsResult<Attr> {
        let no_entry = || FsError::NoEntry {
            dir: dir.to_string(),
            name: name.to_string(),
        };
        let parsed = rules::parse_dir(dir).map_err(docgrid_client::ClientError::from)?;
        let shadowed = {
            let st = self.lock();
            if let Some(a) = self.local_attr(&st, dir, name) {
                return Ok(a);
            }
            let shadow = st.view.shadow_at(dir, name).map(|s| s.id);
            if shadow.is_none() && (st.view.is_masked(dir, name) || st.pending.hides(&parsed, name))
            {
                return Err(no_entry());
            }
            shadow
        };
        if let Some(id) = shadowed {
            return self.doc_attr_of(id);
        }
        if self.opts.names.class(name) == NameClass::Shunned {
            return Err(no_entry());
        }
        match self.tree.lookup(&join(dir, name)) {
            Ok(node) => Ok(self.node_attr(&node)),
            Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::Invalid => {
                self.made_attr(dir, name).ok_or_else(no_entry)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A directory `mkdir` made that the tree does not list (yet).
    fn made_attr(&self, dir: &str, name: &str) -> Option<Attr> {
        let mut st = self.lock();
        if !st.view.is_made(dir, name) {
            return None;
        }
        let path = self.child_path(dir, name).ok()?;
        let ino = st.inodes.dir(&path);
        Some(attr::dir_attr(
            ino,
            &path,
            self.mounted,
            self.opts.read_only,
        ))
    }

    /// A file that exists only in the mount, called `name` in `dir`.
    fn local_attr(&self, st: &super::State, dir: &str, name: &str) -> Option<Attr> {
        st.drafts
            .iter()
            .find(|(_, d)| d.target.local_place() == Some((dir, name)))
            .map(|(ino, d)| attr::with_draft(None, *ino, d, self.opts.read_only))
    }

    /// The local file called `name` in `dir`, if any.
    pub(super) fn local_ino(&self, dir: &str, name: &str) -> Option<Ino> {
        self.lock()
            .drafts
            .iter()
            .find(|(_, d)| d.target.local_place() == Some((dir, name)))
            .map(|(ino, _)| *ino)
    }

    /// The attributes of a node of the tree (its inode made if new).
    pub(super) fn node_attr(&self, node: &Node) -> Attr {
        let ro = self.opts.read_only;
        let mut st = self.lock();
        match node.id() {
            Some(id) => {
                let ino = st.inodes.doc(id);
                st.entries.insert(ino, node.entry.clone());
                let base = attr::doc_attr(ino, &node.entry, ro);
                match st.drafts.get(&ino) {
                    Some(d) => attr::with_draft(Some(base), ino, d, ro),
                    None => base,
                }
            }
            None => {
                let ino = st.inodes.dir(&node.path);
                attr::dir_attr(ino, &node.path, self.mounted, ro)
            }
        }
    }

    /// Document `id`'s attributes (its inode made if new).
    pub(super) fn doc_attr_of(&self, id: DocId) -> FsResult<Attr> {
        let ino = self.lock().inodes.doc(id);
        self.getattr(ino)
    }

    /// `opendir`.
    pub fn opendir(&self, ino: Ino, pid: u32) -> FsResult<u64> {
        self.dir_path(ino)?;
        let fh = self.fh();
        let mut st = self.lock();
        st.inodes.pin(ino);
        st.dir_handles.insert(
            fh,
            DirHandle {
                ino,
                snapshot: None,
            },
        );
        st.pending.touch(pid);
        Ok(fh)
    }

    /// `readdir`/`readdirplus`: up to [`DIR_PAGE`] entries after the
    /// cookie `offset` (0: from the start), each with its own cookie; none
    /// at the end. `.` and `..` come first. The handle's snapshot — the
    /// tree layer's listing, shared, not copied, plus what only the mount
    /// shows — is taken at the first read and again at each rewind to 0;
    /// entries become [`DirItem`]s (and inodes) a page at a time, as the
    /// kernel reads them, so a 100,000-entry directory is never turned
    /// into 100,000 items at once.
    pub fn readdir(&self, ino: Ino, fh: u64, offset: u64) -> FsResult<Vec<(u64, DirItem)>> {
        let held = {
            let st = self.lock();
            let h = st.dir_handles.get(&fh).ok_or(FsError::BadHandle(fh))?;
            if offset == 0 {
                None
            } else {
                h.snapshot.clone()
            }
        };
        let snap = match held {
            Some(s) => s,
            None => {
                let s = Arc::new(self.snapshot(ino)?);
                if let Some(h) = self.lock().dir_handles.get_mut(&fh) {
                    h.snapshot = Some(s.clone());
                }
                s
            }
        };
        Ok(self.page(&snap, offset))
    }

    /// `releasedir`.
    pub fn releasedir(&self, fh: u64) {
        let mut st = self.lock();
        if let Some(h) = st.dir_handles.remove(&fh) {
            st.inodes.unpin(h.ino);
        }
    }

    /// What directory `ino` shows now.
    fn snapshot(&self, ino: Ino) -> FsResult<DirSnapshot> {
        let path = self.dir_path(ino)?;
        let dir = rules::parse_dir(&path).map_err(docgrid_client::ClientError::from)?;
        let listing = match dir {
            Dir::SearchRoot | Dir::Ids => None,
            _ => Some(self.tree.list(&path)?),
        };
        let mut st = self.lock();
        let parent = dir.parent().map_or(ino, |p| st.inodes.dir(&p.to_path()));
        let mut extras = vec![self.dot(ino, ".", &path), self.dot(parent, "..", &path)];
        self.add_view_items(&mut st, &path, listing.as_deref(), &mut extras);
        Ok(DirSnapshot {
            path,
            dir,
            listing,
            extras,
        })
    }

    /// The entries of `snap` after cookie `offset`. Cookie `k + 1` follows
    /// entry `k` of: `.`, `..`, the listing, the mount's own entries.
    fn page(&self, snap: &DirSnapshot, offset: u64) -> Vec<(u64, DirItem)> {
        let entries = snap.listing.as_deref().map_or(&[][..], |l| l.entries());
        let (dots, own) = snap.extras.split_at(2);
        let total = (snap.extras.len() + entries.len()) as u64;
        let ro = self.opts.read_only;
        let mut st = self.lock();
        let mut out = Vec::new();
        let mut k = offset;
        while k < total && out.len() < DIR_PAGE {
            let i = k as usize;
            k += 1;
            let item = if i < 2 {
                dots[i].clone()
            } else if i - 2 < entries.len() {
                let e = &entries[i - 2];
                if st.view.is_masked(&snap.path, &e.name) || st.pending.hides(&snap.dir, &e.name) {
                    continue;
                }
                self.listed_item(&mut st, snap, e, ro)
            } else {
                own[i - 2 - entries.len()].clone()
            };
            out.push((k, item));
        }
        out
    }

    /// The item of listing entry `e` of `snap` (its inode made if new).
    fn listed_item(
        &self,
        st: &mut super::State,
        snap: &DirSnapshot,
        e: &TreeEntry,
        ro: bool,
    ) -> DirItem {
        let (ino, child, kind) = match (e.kind, e.id) {
            (EntryKind::Doc, Some(id)) => {
                let ino = st.inodes.doc(id);
                st.entries.insert(ino, e.clone());
                (ino, String::new(), Kind::Doc(id))
            }
            _ => {
                let child = snap
                    .dir
                    .clone()
                    .child(&e.name)
                    .map_or_else(|_| format!("{}{}/", snap.path, e.name), |d| d.to_path());
                let ino = st.inodes.dir(&child);
                (ino, child.clone(), Kind::Dir(child))
            }
        };
        let mut attr = attr::entry_attr(ino, &child, e, self.mounted, ro);
        if let Some(d) = st.drafts.get(&ino) {
            attr = attr::with_draft(Some(attr), ino, d, ro);
        }
        DirItem {
            ino,
            name: e.name.clone(),
            attr,
            kind,
        }
    }

    /// Shadows, local files and made directories of directory `path`.
    fn add_view_items(
        &self,
        st: &mut super::State,
        path: &str,
        listing: Option<&Listing>,
        items: &mut Vec<DirItem>,
    ) {
        let ro = self.opts.read_only;
        for name in st.view.made_in(path) {
            let listed = listing.is_some_and(|l| l.get(&name).is_some());
            if listed || st.view.is_masked(path, &name) {
                continue;
            }
            if let Ok(child) = self.child_path(path, &name) {
                let ino = st.inodes.dir(&child);
                let attr = attr::dir_attr(ino, &child, self.mounted, ro);
                let kind = Kind::Dir(child);
                items.push(DirItem {
                    ino,
                    name,
                    attr,
                    kind,
                });
            }
        }
        for (name, id) in st.view.shadows_in(path) {
            let ino = st.inodes.doc(id);
            if let Some(e) = st.entries.get(&ino) {
                let attr = attr::doc_attr(ino, e, ro);
                let kind = Kind::Doc(id);
                items.push(DirItem {
                    ino,
                    name,
                    attr,
                    kind,
                });
            }
        }
        for (ino, d) in &st.drafts {
            if let Some((dir, name)) = d.target.local_place()
                && dir == path
            {
                let attr = attr::with_draft(None, *ino, d, ro);
                items.push(DirItem {
                    ino: *ino,
                    name: name.to_string(),
                    attr,
                    kind: Kind::Local,
                });
            }
        }
    }

    fn dot(&self, ino: Ino, name: &str, path: &str) -> DirItem {
        DirItem {
            ino,
            name: name.into(),
            attr: attr::dir_attr(ino, path, self.mounted, self.opts.read_only),
            kind: Kind::Dir(path.to_string()),
        }
    }
}

impl FileKind {
    /// Whether a directory.
    pub fn is_dir(self) -> bool {
        self == FileKind::Dir
    }
}
