//! Files: `open`, `create`, `read`, `write`, `flush`, `release`, `fsync`,
//! `setattr`.
//!
//! Reads go through the tree layer's ranged reads (only the chunks a read
//! covers, from its caches), with the next chunks fetched ahead for
//! sequential readers. Writes go to a [`Draft`]; a dirty draft is
//! committed at `flush` (each `close`), `release` and `fsync` — one commit
//! per file, its `mtime` in the same commit. A commit that fails is `EIO`
//! with the reason logged and the draft kept.

use std::time::SystemTime;

use docgrid_client::tree::Content;
use docgrid_client::{ClientError, ErrorKind};
use docgrid_core::DocId;
use docgrid_core::api::MTIME_KEY;
use docgrid_core::model::Op;
use docgrid_core::tree::{self as rules};

use super::attr::Attr;
use super::draft::{Draft, Target};
use super::error::{FsError, FsResult};
use super::inodes::{Ino, Kind};
use super::names::NameClass;
use super::{Fs, Handle, join};

/// Bytes copied at a time into a draft of an existing document.
const COPY_STEP: usize = 4 << 20;

/// Chunks fetched ahead of a sequential reader.
const READ_AHEAD: usize = 8;

/// Of which several at once.
const AHEAD_PARALLEL: usize = 4;

impl Fs {
    /// `open`: a handle on `ino`; a writable one starts a draft (empty
    /// with `O_TRUNC`, else a copy of the content). Returns the handle and
    /// whether the kernel may keep its cached pages.
    pub fn open(&self, ino: Ino, flags: i32, pid: u32) -> FsResult<(u64, bool)> {
        let write = flags & libc::O_ACCMODE != libc::O_RDONLY;
        let trunc = flags & libc::O_TRUNC != 0;
        if write {
            self.writable()?;
        }
        match self.kind(ino)? {
            Kind::Dir(path) => return Err(FsError::IsDir(path)),
            Kind::Local => {
                let mut st = self.lock();
                let d = st.drafts.get_mut(&ino).ok_or(FsError::StaleInode(ino))?;
                if trunc && write {
                    d.truncate(0)?;
                }
            }
            Kind::Doc(id) if write => self.ensure_draft(ino, id, trunc)?,
            Kind::Doc(_) => {}
        }
        let fh = self.fh();
        let mut st = self.lock();
        st.pending.touch(pid);
        st.inodes.pin(ino);
        let drafted = match st.drafts.get_mut(&ino) {
            Some(d) => {
                d.open += u32::from(write);
                true
            }
            None => false,
        };
        st.handles.insert(
            fh,
            Handle {
                ino,
                write,
                next: 0,
            },
        );
        Ok((fh, !drafted))
    }

    /// `create`: a new file `name` in `parent`, open for writing. It
    /// becomes a document at its first commit (at `close`); scratch names
    /// never do; the old name of a document renamed to a scratch name
    /// (vim's save) takes the new content into that document.
    pub fn create(&self, parent: Ino, name: &str, pid: u32) -> FsResult<(Attr, u64)> {
        self.writable()?;
        let dir = self.dir_path(parent)?;
        let target = self.create_target(&dir, name)?;
        let mut draft = Draft::new(&self.opts.spool, target)?;
        draft.dirty = !draft.is_scratch();
        draft.open = 1;
        let fh = self.fh();
        let mut st = self.lock();
        let ino = match &draft.target {
            Target::Doc { id, .. } => st.inodes.doc(*id),
            _ => st.inodes.local(),
        };
        if let Some(old) = st.drafts.insert(ino, draft) {
            old.discard();
        }
        st.inodes.looked_up(ino);
        st.inodes.pin(ino);
        st.view.remember(&dir, name);
        st.pending.touch(pid);
        st.handles.insert(
            fh,
            Handle {
                ino,
                write: true,
                next: 0,
            },
        );
        let attr = super::attr::with_draft(None, ino, &st.drafts[&ino], self.opts.read_only);
        Ok((attr, fh))
    }

    /// What a new file `name` in `dir` becomes.
    fn create_target(&self, dir: &str, name: &str) -> FsResult<Target> {
        if self.opts.names.class(name) != NameClass::Real {
            return Ok(Target::Scratch {
                dir: dir.into(),
                name: name.into(),
                link: None,
            });
        }
        let original = self.lock().view.replace_original(dir, name);
        if let Some(id) = original {
            let doc = self.tree.doc(&id)?;
            return Ok(Target::Doc {
                id,
                path: join(dir, name),
                base: doc.rev,
                hash: doc.hash,
            });
        }
        let d = rules::parse_dir(dir).map_err(ClientError::from)?;
        rules::plan_create(&d, name).map_err(ClientError::from)?;
        Ok(Target::New {
            dir: dir.into(),
            name: name.into(),
        })
    }

    /// A draft of document `id` for inode `ino`, if there is none: empty
    /// for `O_TRUNC` (a change, unless it was empty), else its content.
    pub(super) fn ensure_draft(&self, ino: Ino, id: DocId, trunc: bool) -> FsResult<()> {
        if let Some(d) = self.lock().drafts.get_mut(&ino) {
            if trunc {
                d.truncate(0)?;
            }
            return Ok(());
        }
        let doc = self.tree.doc(&id)?;
        let path = format!("/ids/{id}");
        let target = Target::Doc {
            id,
            path,
            base: doc.rev,
            hash: doc.hash,
        };
        let mut d = Draft::new(&self.opts.spool, target)?;
        if !trunc {
            let mut at = 0;
            while at < doc.size {
                let bytes = self.tree.read_at(&id, at, COPY_STEP)?;
                if bytes.is_empty() {
                    break;
                }
                d.write_at(at, &bytes)?;
                at += bytes.len() as u64;
            }
        }
        d.dirty = trunc && doc.size > 0;
        if let Ok(a) = self.getattr(ino) {
            d.mtime = if d.dirty { SystemTime::now() } else { a.mtime };
        }
        let mut st = self.lock();
        match st.drafts.get(&ino) {
            Some(_) => d.discard(),
            None => {
                st.drafts.insert(ino, d);
            }
        }
        Ok(())
    }

    /// `read`: from the draft if the file is being written, else through
    /// the tree layer.
    pub fn read(&self, ino: Ino, fh: u64, offset: u64, size: usize) -> FsResult<Vec<u8>> {
        let (id, sequential) = {
            let mut st = self.lock();
            if let Some(d) = st.drafts.get(&ino) {
                return d.read_at(offset, size);
            }
            let kind = st.inodes.get(ino).cloned();
            let h = st.handles.get_mut(&fh).ok_or(FsError::BadHandle(fh))?;
            let sequential = h.next == offset;
            h.next = offset + size as u64;
            match kind {
                Some(Kind::Doc(id)) => (id, sequential),
                Some(Kind::Dir(p)) => return Err(FsError::IsDir(p)),
                _ => return Err(FsError::StaleInode(ino)),
            }
        };
        let data = self.tree.read_at(&id, offset, size)?;
        if sequential && data.len() == size {
            self.read_ahead(id, offset + size as u64);
        }
        Ok(data)
    }

    /// Fetches the chunks after `offset` of document `id` in the
    /// background, so a sequential reader finds them in memory.
    fn read_ahead(&self, id: DocId, offset: u64) {
        let Ok(m) = self.tree.manifest(&id) else {
            return;
        };
        let mut start = 0u64;
        let index = m.chunks.iter().position(|c| {
            start += c.len;
            start > offset
        });
        let Some(index) = index else {
            return;
        };
        let ahead: Vec<_> = m
            .chunks
            .iter()
            .skip(index + 1)
            .take(READ_AHEAD)
            .map(|c| c.hash)
            .collect();
        let mut busy = self.ahead.lock().unwrap_or_else(|p| p.into_inner());
        let fresh: Vec<_> = ahead.into_iter().filter(|h| busy.insert(*h)).collect();
        if fresh.is_empty() {
            return;
        }
        let (tree, done) = (self.tree.clone(), self.ahead.clone());
        std::thread::spawn(move || {
            docgrid_core::parallel_map(&fresh, AHEAD_PARALLEL, |h| {
                // A failure is met again, and reported, by the read itself.
                let _ = tree.chunk(h);
                done.lock().unwrap_or_else(|p| p.into_inner()).remove(h);
            });
        });
    }

    /// `write`.
    pub fn write(&self, ino: Ino, fh: u64, offset: u64, data: &[u8]) -> FsResult<u32> {
        let mut st = self.lock();
        if !st.handles.get(&fh).is_some_and(|h| h.write) {
            return Err(FsError::BadHandle(fh));
        }
        let d = st.drafts.get_mut(&ino).ok_or(FsError::BadHandle(fh))?;
        d.write_at(offset, data)?;
        Ok(data.len() as u32)
    }

    /// `flush` (every `close`): commits what was written.
    pub fn flush(&self, ino: Ino, fh: u64) -> FsResult<()> {
        let write = self.lock().handles.get(&fh).is_some_and(|h| h.write);
        if write {
            self.commit_draft(ino)
        } else {
            Ok(())
        }
    }

    /// `fsync`: returns once what was written is committed.
    pub fn fsync(&self, ino: Ino) -> FsResult<()> {
        self.commit_draft(ino)
    }

    /// `release`: the last close of a handle. Commits what is left; a
    /// document's clean draft goes with its spool file.
    pub fn release(&self, ino: Ino, fh: u64) -> FsResult<()> {
        let (ino, write) = {
            let mut st = self.lock();
            let h = st.handles.remove(&fh).ok_or(FsError::BadHandle(fh))?;
            if h.ino != ino {
                tracing::warn!("release of handle {fh}: inode {ino}, opened as {}", h.ino);
            }
            if h.write
                && let Some(d) = st.drafts.get_mut(&h.ino)
            {
                d.open = d.open.saturating_sub(1);
            }
            (h.ino, h.write)
        };
        let result = if write {
            self.commit_draft(ino)
        } else {
            Ok(())
        };
        let mut st = self.lock();
        let still_open = st.handles.values().any(|h| h.ino == ino);
        let done = st.drafts.get(&ino).is_some_and(|d| match d.target {
            Target::Doc { .. } => d.open == 0 && !d.dirty,
            Target::Unlinked => !still_open,
            _ => false,
        });
        if done && let Some(d) = st.drafts.remove(&ino) {
            d.discard();
        }
        st.inodes.unpin(ino);
        result
    }

    /// `setattr`: a size truncates (and commits, when no handle is open),
    /// an mtime is kept as the `mtime` key; mode and owner changes are
    /// accepted and ignored (docgrid keeps neither), so `cp -p`, `rsync
    /// -a` and `tar x` succeed.
    pub fn setattr(
        &self,
        ino: Ino,
        size: Option<u64>,
        mtime: Option<SystemTime>,
    ) -> FsResult<Attr> {
        if size.is_some() || mtime.is_some() {
            self.writable()?;
        }
        if let Some(len) = size {
            self.truncate(ino, len)?;
        }
        if let Some(t) = mtime {
            self.set_mtime(ino, t)?;
        }
        self.getattr(ino)
    }

    fn truncate(&self, ino: Ino, len: u64) -> FsResult<()> {
        let id = match self.kind(ino)? {
            Kind::Dir(p) => return Err(FsError::IsDir(p)),
            Kind::Doc(id) => Some(id),
            Kind::Local => None,
        };
        if let Some(id) = id {
            self.ensure_draft(ino, id, len == 0)?;
        }
        let idle = {
            let mut st = self.lock();
            let d = st.drafts.get_mut(&ino).ok_or(FsError::StaleInode(ino))?;
            if d.len != len {
                d.truncate(len)?;
            }
            d.open == 0
        };
        if idle && id.is_some() {
            self.commit_draft(ino)?;
            self.drop_clean_draft(ino);
        }
        Ok(())
    }

    fn set_mtime(&self, ino: Ino, t: SystemTime) -> FsResult<()> {
        let id = {
            let mut st = self.lock();
            if let Some(d) = st.drafts.get_mut(&ino)
                && (d.dirty || d.open > 0 || !matches!(d.target, Target::Doc { .. }))
            {
                d.mtime = t;
                // Committed with the content: at the next close, or by the
                // retry of a closed file whose commit failed.
                d.dirty |= !d.is_scratch();
                return Ok(());
            }
            match st.inodes.get(ino) {
                Some(Kind::Doc(id)) => *id,
                _ => return Ok(()),
            }
        };
        let value = rfc3339(t);
        let doc = self.tree.doc(&id)?;
        if doc.meta.get(MTIME_KEY).and_then(|v| v.first()) == Some(&value) {
            return Ok(());
        }
        let op = |base| Op::SetMeta {
            id,
            base,
            key: MTIME_KEY.into(),
            values: vec![value.clone()],
        };
        let message = format!("set mtime of {}", doc.name);
        match self.tree.commit(&message, vec![op(doc.rev)]) {
            Err(e) if e.kind() == ErrorKind::Conflict => {
                let fresh = self.tree.client().doc(&id)?;
                self.tree.commit(&message, vec![op(fresh.rev)])?;
            }
            other => {
                other?;
            }
        }
        self.lock().entries.remove(&ino);
        Ok(())
    }

    pub(super) fn drop_clean_draft(&self, ino: Ino) {
        let mut st = self.lock();
        let clean = st
            .drafts
            .get(&ino)
            .is_some_and(|d| d.open == 0 && !d.dirty && matches!(d.target, Target::Doc { .. }));
        if clean && let Some(d) = st.drafts.remove(&ino) {
            d.discard();
        }
    }

    /// Tries again to store every closed file whose commit failed (the
    /// server was down): called every few seconds by the mount, so what was
    /// written reaches the store once the server is back.
    pub fn retry_unstored(&self) {
        let waiting: Vec<Ino> = self
            .lock()
            .drafts
            .iter()
            .filter(|(_, d)| d.dirty && d.open == 0 && !d.is_scratch())
            .map(|(ino, _)| *ino)
            .collect();
        for ino in waiting {
            if self.commit_draft(ino).is_err() {
                return;
            }
            self.drop_clean_draft(ino);
            tracing::info!("stored inode {ino} after an earlier failure");
        }
    }

    /// Commits the draft of `ino` if it is dirty (scratch never is). On
    /// failure the draft stays dirty, its spool file keeps the bytes, and
    /// the error names both.
    pub(super) fn commit_draft(&self, ino: Ino) -> FsResult<()> {
        let (target, path, mtime) = {
            let mut st = self.lock();
            let Some(d) = st.drafts.get_mut(&ino) else {
                return Ok(());
            };
            if !d.dirty || d.is_scratch() {
                return Ok(());
            }
            d.dirty = false;
            (d.target.clone(), d.path.clone(), d.mtime)
        };
        match self.store(&target, &path, mtime) {
            Ok(done) => {
                let mut st = self.lock();
                if let Target::Doc { id, .. } = &done {
                    st.inodes.bind(ino, *id);
                }
                st.entries.remove(&ino);
                if let Some(d) = st.drafts.get_mut(&ino) {
                    d.target = done;
                }
                Ok(())
            }
            Err(source) => {
                if let Some(d) = self.lock().drafts.get_mut(&ino) {
                    d.dirty = true;
                }
                let what = match &target {
                    Target::New { dir, name } | Target::Scratch { dir, name, .. } => {
                        join(dir, name)
                    }
                    Target::Doc { path, .. } => path.clone(),
                    Target::Unlinked => format!("an unlinked file (inode {ino})"),
                };
                let e = FsError::NotStored {
                    what,
                    kept: path.display().to_string(),
                    source: Box::new(source),
                };
                tracing::error!("{e}");
                Err(e)
            }
        }
    }

    /// Uploads a draft's bytes and commits them: a new document, or new
    /// content of one. Returns what the draft is now.
    fn store(
        &self,
        target: &Target,
        path: &std::path::Path,
        mtime: SystemTime,
    ) -> Result<Target, ClientError> {
        let manifest = self.tree.upload(Content::File(path.to_path_buf()))?;
        let stamp = vec![rfc3339(mtime)];
        match target {
            Target::New { dir, name } => {
                let d = rules::parse_dir(dir)?;
                let mut plan = rules::plan_create(&d, name)?;
                plan.meta.insert(MTIME_KEY.into(), stamp);
                let id = DocId::random();
                let hash = manifest.hash;
                let rev = self.tree.commit(
                    &format!("create {name} in {dir}"),
                    vec![plan.op(id, manifest)],
                )?;
                Ok(Target::Doc {
                    id,
                    path: join(dir, name),
                    base: rev,
                    hash,
                })
            }
            Target::Doc {
                id,
                path,
                base,
                hash,
            } => {
                let ops = |base: u64| {
                    vec![
                        Op::SetContent {
                            id: *id,
                            base,
                            content: manifest.clone(),
                        },
                        Op::SetMeta {
                            id: *id,
                            base,
                            key: MTIME_KEY.into(),
                            values: stamp.clone(),
                        },
                    ]
                };
                let message = format!("write {path}");
                let rev = match self.tree.commit(&message, ops(*base)) {
                    Err(e) if e.kind() == ErrorKind::Conflict => {
                        let fresh = self.tree.client().doc(id)?;
                        if fresh.hash != *hash {
                            tracing::error!(
                                "{path}: not written: {e} (its content changed since it was opened)"
                            );
                            return Err(e);
                        }
                        self.tree.commit(&message, ops(fresh.rev))?
                    }
                    other => other?,
                };
                Ok(Target::Doc {
                    id: *id,
                    path: path.clone(),
                    base: rev,
                    hash: manifest.hash,
                })
            }
            Target::Scratch { .. } | Target::Unlinked => Ok(target.clone()),
        }
    }
}

/// A time as RFC 3339 UTC with nanoseconds (the `mtime` key).
pub(crate) fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
