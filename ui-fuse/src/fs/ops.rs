//! Names changing: `unlink`, `rmdir`, `mkdir`, `rename`, `symlink`,
//! `link`, and the held removals of [`super::pending`] coming due.
//!
//! Each is the tree layer's operation of the same name — core's rules say
//! what it means in each directory — plus what only a mount needs: local
//! and scratch files, shadows (a document renamed to a scratch name), and
//! held removals in nested directories.

use std::collections::HashMap;

use docgrid_client::tree::Node;
use docgrid_client::{ClientError, ErrorKind};
use docgrid_core::DocId;
use docgrid_core::model::Op;
use docgrid_core::tree::{self as rules, DocEdit, RmdirPlan};

use super::attr::{self, Attr};
use super::draft::{Draft, Target};
use super::error::{FsError, FsResult};
use super::inodes::Ino;
use super::names::NameClass;
use super::pending::{self, Held};
use super::view::Shadow;
use super::{Fs, join};

/// `renameat2` flags.
pub const RENAME_NOREPLACE: u32 = 1;
/// `renameat2` flags.
pub const RENAME_EXCHANGE: u32 = 2;

impl Fs {
    /// `unlink`: a local file goes from the mount; a shadow goes (deleting
    /// its document unless a new file took the old name); a document
    /// loses the innermost metadata of the directory (in `/all/`,
    /// `/files/`, `/ids/` it is deleted) — held back in nested directories.
    pub fn unlink(&self, parent: Ino, name: &str, pid: u32) -> FsResult<()> {
        self.writable()?;
        let dir = self.dir_path(parent)?;
        if self.drop_local(&dir, name) {
            return Ok(());
        }
        let shadow = self.lock().view.unshadow(&dir, name);
        if let Some(s) = shadow {
            return self.drop_shadow(s);
        }
        if self.opts.names.class(name) == NameClass::Shunned {
            return Err(self.no_entry(&dir, name));
        }
        let parsed = rules::parse_dir(&dir).map_err(ClientError::from)?;
        if self.lock().pending.hides(&parsed, name) {
            return Err(self.no_entry(&dir, name));
        }
        let node = self.doc_node(&dir, name)?;
        let id = node.id().ok_or_else(|| FsError::IsDir(node.path.clone()))?;
        let mut st = self.lock();
        st.pending.absorb(&parsed, &id);
        if pending::is_nested(&parsed) {
            st.pending.hold(Held {
                dir: parsed,
                name: name.to_string(),
                id,
                pid,
            });
            return Ok(());
        }
        st.pending.touch(pid);
        drop(st);
        self.tree.remove(&dir, name)?;
        self.forget_entry(id);
        Ok(())
    }

    /// Removes the local file `name` of `dir`, if there is one.
    fn drop_local(&self, dir: &str, name: &str) -> bool {
        let mut st = self.lock();
        let ino = st
            .drafts
            .iter()
            .find(|(_, d)| d.target.local_place() == Some((dir, name)))
            .map(|(ino, _)| *ino);
        let Some(ino) = ino else {
            return false;
        };
        if st.handles.values().any(|h| h.ino == ino) {
            // Open: it lives on, nameless, until its last close.
            if let Some(d) = st.drafts.get_mut(&ino) {
                d.target = Target::Unlinked;
                d.dirty = false;
            }
        } else if let Some(d) = st.drafts.remove(&ino) {
            d.discard();
        }
        true
    }

    /// A shadow was removed: `mv x x~; rm x~` deletes the document, unless
    /// a new `x` took its content (vim's save), which kept it.
    fn drop_shadow(&self, s: Shadow) -> FsResult<()> {
        if s.replaced {
            return Ok(());
        }
        let doc = self.tree.doc(&s.id)?;
        let op = Op::Delete {
            id: s.id,
            base: doc.rev,
        };
        self.tree
            .commit(&format!("delete {}", doc.name), vec![op])?;
        self.forget_entry(s.id);
        Ok(())
    }

    /// `rmdir`: a tag no document carries, an empty `/files/` directory;
    /// a co-tag or `/by/` directory commits nothing and goes once the
    /// mount shows it empty (its entries may be held removals, which then
    /// keep it hidden until they apply).
    pub fn rmdir(&self, parent: Ino, name: &str, pid: u32) -> FsResult<()> {
        self.writable()?;
        let dir = self.dir_path(parent)?;
        let child = self.child_path(&dir, name)?;
        let parsed = rules::parse_dir(&child).map_err(ClientError::from)?;
        let made = {
            let mut st = self.lock();
            st.pending.touch(pid);
            if !st.view.made_in(&child).is_empty() {
                return Err(FsError::NotEmpty(child));
            }
            st.view.is_made(&dir, name)
        };
        if !made {
            // The tree's rmdir of a tag nobody made is a no-op; rmdir(2)
            // of a missing directory is ENOENT.
            self.find(&dir, name)?;
        }
        if rules::plan_rmdir(&parsed).map_err(ClientError::from)? != RmdirPlan::Vanishes {
            // A directory only this mount made may be unknown to the tree.
            if let Err(e) = self.tree.rmdir(&child)
                && !(made && e.kind() == ErrorKind::NotFound)
            {
                return Err(e.into());
            }
            self.lock().view.unmake(&dir, name, &child);
            return Ok(());
        }
        let listing = match self.tree.list(&child) {
            Ok(l) => l,
            Err(e) if e.kind() == ErrorKind::NotFound && made => {
                self.lock().view.unmake(&dir, name, &child);
                return Ok(());
            }
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(self.no_entry(&dir, name)),
            Err(e) => return Err(e.into()),
        };
        let mut st = self.lock();
        let shown = listing
            .entries()
            .iter()
            .filter(|e| !st.pending.hides(&parsed, &e.name) && !st.view.is_masked(&child, &e.name))
            .count()
            + st.view.shadows_in(&child).len()
            + st.drafts
                .values()
                .filter(|d| d.target.local_place().is_some_and(|(d, _)| d == child))
                .count();
        if shown > 0 {
            return Err(FsError::NotEmpty(child));
        }
        if !listing.entries().is_empty() {
            st.view.mask(&dir, name);
        }
        st.view.unmake(&dir, name, &child);
        Ok(())
    }

    /// `mkdir`: a tag under `/tags/`, a directory under `/files/`.
    pub fn mkdir(&self, parent: Ino, name: &str, pid: u32) -> FsResult<Attr> {
        self.writable()?;
        let dir = self.dir_path(parent)?;
        if self.opts.names.class(name) != NameClass::Real {
            return Err(FsError::Refused(format!(
                "{dir}{name}: a scratch or file-manager name ({name}) is never a directory"
            )));
        }
        if self.find(&dir, name).is_ok() {
            return Err(FsError::Exists(join(&dir, name)));
        }
        let child = self.child_path(&dir, name)?;
        self.tree.mkdir(&child)?;
        let mut st = self.lock();
        st.pending.touch(pid);
        st.view.unmask(&dir, name);
        st.view.make(&dir, name);
        let ino = st.inodes.dir(&child);
        st.inodes.looked_up(ino);
        st.view.remember(&dir, name);
        Ok(attr::dir_attr(
            ino,
            &child,
            self.mounted,
            self.opts.read_only,
        ))
    }

    /// `rename` (`renameat2` `flags`): `RENAME_NOREPLACE` honoured,
    /// `RENAME_EXCHANGE` refused with `EINVAL`. See [`Self::rename_doc`]
    /// and [`Self::rename_local`].
    pub fn rename(&self, from: (Ino, &str), to: (Ino, &str), flags: u32, pid: u32) -> FsResult<()> {
        if flags & RENAME_EXCHANGE != 0 {
            return Err(FsError::Invalid(
                "RENAME_EXCHANGE is not supported: docgrid cannot swap two entries in one commit"
                    .into(),
            ));
        }
        self.writable()?;
        let (from_dir, to_dir) = (self.dir_path(from.0)?, self.dir_path(to.0)?);
        let (name, new_name) = (from.1, to.1);
        self.lock().pending.touch(pid);
        if flags & RENAME_NOREPLACE != 0 && self.find(&to_dir, new_name).is_ok() {
            return Err(FsError::Exists(join(&to_dir, new_name)));
        }
        if (from_dir.as_str(), name) == (to_dir.as_str(), new_name) {
            return Ok(());
        }
        if let Some(ino) = self.local_ino(&from_dir, name) {
            return self.rename_local(ino, &to_dir, new_name);
        }
        let shadow = self.lock().view.unshadow(&from_dir, name);
        if let Some(s) = shadow {
            return self.rename_shadow(s, (&from_dir, name), &to_dir, new_name);
        }
        self.rename_doc(&from_dir, name, &to_dir, new_name)
    }

    /// A document renamed: to a scratch name it becomes a shadow (nothing
    /// committed); to a real name it is the tree's `mv` (over an existing
    /// document, that document takes its content and keeps its id).
    fn rename_doc(&self, from_dir: &str, name: &str, to_dir: &str, new_name: &str) -> FsResult<()> {
        let node = self.doc_node(from_dir, name)?;
        let Some(id) = node.id() else {
            return Err(FsError::NotPermitted {
                what: format!("renaming the directory {}", node.path),
                why: "a tree directory is a query; rename its documents or use `docgrid tag`",
            });
        };
        if self.opts.names.class(new_name) != NameClass::Real {
            let mut st = self.lock();
            let shadow = Shadow {
                id,
                from_dir: from_dir.to_string(),
                from_name: name.to_string(),
                replaced: false,
            };
            st.view.shadow(to_dir, new_name, shadow);
            // What the shadow's attributes are read from.
            let ino = st.inodes.doc(id);
            st.entries.insert(ino, node.entry.clone());
            return Ok(());
        }
        let replaced = self.replaced_doc(to_dir, new_name, Some(id))?;
        let moved = self.tree.rename(from_dir, name, to_dir, new_name)?;
        let mut st = self.lock();
        if let (Some(target), Some(ino)) = (replaced, st.inodes.doc_ino(&id)) {
            // The kernel now knows this inode under the target's name.
            st.inodes.bind(ino, target);
        }
        for doc in [Some(id), replaced, moved.id()].into_iter().flatten() {
            if let Some(ino) = st.inodes.doc_ino(&doc) {
                st.entries.remove(&ino);
            }
        }
        st.view.unmask(to_dir, new_name);
        st.view.remember(to_dir, new_name);
        Ok(())
    }

    /// The document a rename to `name` in `dir` replaces, if any (not the
    /// document `moving` itself).
    fn replaced_doc(
        &self,
        dir: &str,
        name: &str,
        moving: Option<DocId>,
    ) -> FsResult<Option<DocId>> {
        match self.tree.lookup(&join(dir, name)) {
            Ok(node) if node.is_dir() => Err(FsError::IsDir(node.path)),
            Ok(node) => Ok(node.id().filter(|t| Some(*t) != moving)),
            Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::Invalid => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A shadow renamed: to another scratch name it moves; to a real name
    /// the document is renamed from where it was (unless a new file took
    /// its old name, which then is the document).
    fn rename_shadow(
        &self,
        s: Shadow,
        from: (&str, &str),
        to_dir: &str,
        new_name: &str,
    ) -> FsResult<()> {
        if self.opts.names.class(new_name) != NameClass::Real {
            self.lock().view.shadow(to_dir, new_name, s);
            return Ok(());
        }
        if s.replaced {
            self.lock().view.shadow(from.0, from.1, s);
            return Err(FsError::NotPermitted {
                what: format!("renaming {}{} to {to_dir}{new_name}", from.0, from.1),
                why: "its old name was written anew and now holds the document",
            });
        }
        self.rename_doc(&s.from_dir, &s.from_name, to_dir, new_name)
    }

    /// A file that exists only in the mount renamed: a real name makes it
    /// a document (or new content of the document of that name — gedit's
    /// and LibreOffice's atomic save), committed now unless it is still
    /// open; a scratch name keeps it in the mount.
    fn rename_local(&self, ino: Ino, to_dir: &str, new_name: &str) -> FsResult<()> {
        let target = if self.opts.names.class(new_name) != NameClass::Real {
            Target::Scratch {
                dir: to_dir.to_string(),
                name: new_name.to_string(),
                link: None,
            }
        } else if let Some(id) = self.replaced_doc(to_dir, new_name, None)? {
            let doc = self.tree.doc(&id)?;
            Target::Doc {
                id,
                path: join(to_dir, new_name),
                base: doc.rev,
                hash: doc.hash,
            }
        } else {
            let d = rules::parse_dir(to_dir).map_err(ClientError::from)?;
            rules::plan_create(&d, new_name).map_err(ClientError::from)?;
            Target::New {
                dir: to_dir.to_string(),
                name: new_name.to_string(),
            }
        };
        let (old, idle) = {
            let mut st = self.lock();
            let d = st.drafts.get_mut(&ino).ok_or(FsError::StaleInode(ino))?;
            if matches!(d.target, Target::Scratch { link: Some(_), .. })
                && !target_is_scratch(&target)
            {
                return Err(symlink_refused(&join(to_dir, new_name)));
            }
            let old = std::mem::replace(&mut d.target, target);
            d.dirty = !d.is_scratch();
            st.view.remember(to_dir, new_name);
            (old, st.drafts[&ino].open == 0)
        };
        if !idle {
            return Ok(());
        }
        if let Err(e) = self.commit_draft(ino) {
            if let Some(d) = self.lock().drafts.get_mut(&ino) {
                d.target = old;
            }
            return Err(e);
        }
        self.drop_clean_draft(ino);
        Ok(())
    }

    /// `symlink`: only under a scratch name (emacs's `.#x` lock), kept in
    /// the mount; docgrid stores documents, not links.
    pub fn symlink(&self, parent: Ino, name: &str, to: &str) -> FsResult<Attr> {
        self.writable()?;
        let dir = self.dir_path(parent)?;
        if self.opts.names.class(name) == NameClass::Real {
            let e = symlink_refused(&join(&dir, name));
            tracing::warn!("{e}");
            return Err(e);
        }
        let target = Target::Scratch {
            dir: dir.clone(),
            name: name.to_string(),
            link: Some(to.to_string()),
        };
        let draft = Draft::new(&self.opts.spool, target)?;
        let mut st = self.lock();
        let ino = st.inodes.local();
        st.inodes.looked_up(ino);
        let a = attr::with_draft(None, ino, &draft, self.opts.read_only);
        st.drafts.insert(ino, draft);
        st.view.remember(&dir, name);
        Ok(a)
    }

    /// `readlink`.
    pub fn readlink(&self, ino: Ino) -> FsResult<String> {
        match self.lock().drafts.get(&ino).map(|d| &d.target) {
            Some(Target::Scratch { link: Some(to), .. }) => Ok(to.clone()),
            _ => Err(FsError::Invalid(format!(
                "inode {ino} is not a symbolic link"
            ))),
        }
    }

    /// `link`: hard links are refused.
    pub fn link(&self, ino: Ino, parent: Ino, name: &str) -> FsResult<Attr> {
        let dir = self.dir_path(parent)?;
        Err(FsError::NotPermitted {
            what: format!("a hard link {dir}{name} to inode {ino}"),
            why: "a document is one file; tag it to show it in another directory",
        })
    }

    /// Applies the held removals that are due (their process exited or
    /// idled): one commit for all. Called every 100 ms by the mount.
    pub fn sweep(&self) -> FsResult<()> {
        let due = {
            let mut st = self.lock();
            if st.pending.is_empty() {
                return Ok(());
            }
            st.pending.due(self.opts.grace, &pending::alive)
        };
        self.apply_held(due)
    }

    /// Applies every held removal now (at unmount; before a test reads
    /// the store).
    pub fn settle(&self) -> FsResult<()> {
        let all = self.lock().pending.all();
        self.apply_held(all)
    }

    /// Commits held removals: each document loses the metadata of every
    /// directory it was unlinked from, in one commit. On failure they are
    /// held again (tried at the next sweep) and the error returned.
    fn apply_held(&self, held: Vec<Held>) -> FsResult<()> {
        if held.is_empty() {
            return Ok(());
        }
        let result = self.commit_held(&held);
        if result.is_ok() {
            for h in &held {
                self.forget_entry(h.id);
            }
        }
        let mut st = self.lock();
        match &result {
            Ok(()) if st.pending.is_empty() => st.view.unmask_all(),
            Ok(()) => {}
            Err(e) => {
                tracing::error!(
                    "held removals of {} entries not applied (retried): {e}",
                    held.len()
                );
                for h in held {
                    st.pending.hold(Held { pid: 0, ..h });
                }
            }
        }
        result
    }

    fn commit_held(&self, held: &[Held]) -> FsResult<()> {
        let mut edits: HashMap<DocId, DocEdit> = HashMap::new();
        for h in held {
            let edit = rules::plan_remove(&h.dir).map_err(ClientError::from)?;
            edits.entry(h.id).or_default().remove.extend(edit.remove);
        }
        for attempt in 0..3 {
            let mut ops = Vec::new();
            for (id, edit) in &edits {
                let doc = match self.tree.client().doc(id) {
                    Ok(d) => d,
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(e.into()),
                };
                ops.extend(rules::edit_ops(*id, doc.rev, &doc.name, &doc.meta, edit));
            }
            if ops.is_empty() {
                return Ok(());
            }
            let message = format!("remove {} entries (rm in nested directories)", edits.len());
            match self.tree.commit(&message, ops) {
                Err(e) if e.kind() == ErrorKind::Conflict && attempt < 2 => continue,
                other => return other.map(|_| ()).map_err(Into::into),
            }
        }
        Ok(())
    }

    /// The document entry `name` of `dir` (ENOENT, EISDIR as such).
    fn doc_node(&self, dir: &str, name: &str) -> FsResult<Node> {
        match self.tree.lookup(&join(dir, name)) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::Invalid => {
                Err(self.no_entry(dir, name))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The canonical path of subdirectory `name` of `dir`.
    pub(super) fn child_path(&self, dir: &str, name: &str) -> FsResult<String> {
        let d = rules::parse_dir(dir).map_err(ClientError::from)?;
        Ok(d.child(name).map_err(ClientError::from)?.to_path())
    }

    fn no_entry(&self, dir: &str, name: &str) -> FsError {
        FsError::NoEntry {
            dir: dir.to_string(),
            name: name.to_string(),
        }
    }

    /// Forgets the listing entry kept for document `id`.
    pub(super) fn forget_entry(&self, id: DocId) {
        let mut st = self.lock();
        if let Some(ino) = st.inodes.doc_ino(&id) {
            st.entries.remove(&ino);
        }
    }
}

fn target_is_scratch(t: &Target) -> bool {
    matches!(t, Target::Scratch { .. })
}

fn symlink_refused(path: &str) -> FsError {
    FsError::NotPermitted {
        what: format!("a symbolic link {path}"),
        why: "docgrid stores documents, not links (scratch names such as .#x may be links)",
    }
}
