//! Open files of the overlay: where their bytes come from and where their
//! writes go.
//!
//! - Opened for reading, a file the journal has migrated, with the size
//!   and mtime the lower file still has, is read from the store; any
//!   other (not migrated yet, dirty, or changed behind the overlay's back,
//!   which the journal then records as dirty) from the lower directory.
//! - Opened for writing, the lower file is opened too and every write goes
//!   to it; the first write (or a truncation) marks the file dirty, so no
//!   open from then on reads the store's older copy.
//! - Read-through: a file read from its start to its end out of the lower
//!   directory, or written, is handed to the upload queue when it is
//!   closed: the reader never waits for the upload.
//! - Write-through: `close` (FUSE's flush) and `fsync` of a written file
//!   return once it is migrated; a store failure is EIO, the journal
//!   records it as failed (retried with backoff), the lower copy has it.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use docgrid_core::DocId;

use crate::fs::{FsError, FsResult, Ino};

use super::journal::{Seen, SyncState};
use super::layers::{Found, Layer};
use super::lower::Lower;
use super::migrate::seen_of;
use super::ofs::{Mode, Overlay, Stat, lower_err};

/// Where an open file's bytes come from.
#[derive(Debug)]
pub(super) enum Source {
    /// A file: the lower one, or in write-back the spool's.
    File(File),
    /// The migrated document.
    Store(DocId),
}

/// An open file.
#[derive(Debug)]
pub struct Handle {
    pub(super) ino: Ino,
    pub(super) source: Source,
    /// Open for writing.
    pub(super) writes: bool,
    /// Written (or truncated) since it was last migrated.
    written: AtomicBool,
    /// What was read of it (the kernel's reads come in any order).
    read: Coverage,
    /// The size when it was opened.
    size: u64,
    /// Write-back: the size the spool has reserved for it.
    end: AtomicU64,
}

impl Overlay {
    /// The file the kernel may read handle `fh` from by itself (FUSE
    /// passthrough): a file opened for reading only, from the lower
    /// directory or the spool — except in read-through mode, which must
    /// see the reads to know that a file was read completely.
    pub fn passthrough_file(&self, fh: u64) -> Option<File> {
        if self.opts.mode == Mode::ReadThrough {
            return None;
        }
        let h = self.handle(fh).ok()?;
        match &h.source {
            Source::File(f) if !h.writes => f.try_clone().ok(),
            _ => None,
        }
    }

    /// Opens file `ino` with `flags` (`open(2)`'s); returns the handle.
    pub fn open(&self, ino: Ino, flags: i32) -> FsResult<u64> {
        let rel = self.rel(ino)?;
        let f = self.find(&rel)?;
        let seen = seen_of(&f.meta);
        let writes = flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0;
        let truncated = flags & libc::O_TRUNC != 0;
        let new = |source| Handle {
            ino,
            source,
            writes,
            written: AtomicBool::new(truncated),
            read: Coverage::default(),
            size: if truncated { 0 } else { seen.size },
            end: AtomicU64::new(if truncated { 0 } else { seen.size }),
        };
        if !writes {
            // Under the handle table, like the worker's swap of a spooled
            // file for its placeholder: a reader never opens the
            // placeholder of a record it saw still spooled.
            return self.add_with(|| Ok(new(self.read_source(&rel, &f, seen)?)));
        }
        if self.opts.mode != Mode::WriteBack {
            let file = open_in(&self.lower, &rel, flags)?;
            if truncated {
                self.journal().dirty(&rel)?;
            }
            return Ok(self.add(new(Source::File(file))));
        }
        self.spool_for_write(&rel, &f, truncated)?;
        let up = self.upper()?;
        // Opened and registered together: the worker never swaps a file
        // for its placeholder while a writer has it open; one swapped
        // since the look above is brought back first.
        let fh = self.add_with(|| {
            if !truncated && self.is_placeholder(&rel)? {
                self.bring_back(&rel)?;
            }
            Ok(new(Source::File(open_in(up, &rel, flags)?)))
        })?;
        if truncated {
            self.spooled_now(&rel)?;
        }
        Ok(fh)
    }

    /// Where a file opened for reading reads from: the spool's copy, or
    /// the store for a placeholder or a migrated lower file, or the lower
    /// file.
    fn read_source(&self, rel: &str, f: &Found, seen: Seen) -> FsResult<Source> {
        if f.layer == Layer::Upper {
            return match self.journal().get(rel)? {
                Some(r) if r.state == SyncState::Migrated && !r.spooled => {
                    r.doc.map(Source::Store).ok_or_else(|| {
                        FsError::Invalid(format!("{rel}: a placeholder without its document"))
                    })
                }
                _ => Ok(Source::File(open_in(self.upper()?, rel, libc::O_RDONLY)?)),
            };
        }
        Ok(match self.store_copy(rel, seen)? {
            Some(doc) => Source::Store(doc),
            None => Source::File(open_in(&self.lower, rel, libc::O_RDONLY)?),
        })
    }

    /// Creates `name` in `parent` (`O_CREAT | O_EXCL`) with `mode`, open
    /// for reading and writing.
    pub fn create(
        &self,
        parent: Ino,
        name: &str,
        mode: u32,
        who: (u32, u32),
    ) -> FsResult<(Stat, u64)> {
        let rel = self.child(parent, name)?;
        if self.find(&rel).is_ok() {
            return Err(FsError::Exists(rel));
        }
        let layer = if self.opts.mode == Mode::WriteBack {
            self.up_parents(&rel)?;
            self.upper()?
        } else {
            &self.lower
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(mode & 0o7777)
            .open(layer.path(&rel))
            .map_err(lower_err(&rel))?;
        self.own(&rel, who)?;
        let stat = self.stat_at(&rel, true)?;
        let fh = self.add(Handle {
            ino: stat.ino,
            source: Source::File(file),
            writes: true,
            // A new empty file is content the store must get too.
            written: AtomicBool::new(true),
            read: Coverage::default(),
            size: 0,
            end: AtomicU64::new(0),
        });
        Ok((stat, fh))
    }

    /// Up to `size` bytes of handle `fh` at `offset`.
    pub fn read(&self, fh: u64, offset: u64, size: usize) -> FsResult<Vec<u8>> {
        let h = self.handle(fh)?;
        let data = match &h.source {
            Source::Store(doc) => self.migrator.tree().read_at(doc, offset, size)?,
            Source::File(f) => {
                let rel = self.rel(h.ino)?;
                read_full(f, offset, size).map_err(lower_err(&rel))?
            }
        };
        h.read.add(offset, offset + data.len() as u64);
        Ok(data)
    }

    /// Writes `data` at `offset` of handle `fh` (to the lower file, or in
    /// write-back to the spool, within its bound: ENOSPC beyond it).
    pub fn write(&self, fh: u64, offset: u64, data: &[u8]) -> FsResult<u32> {
        let h = self.handle(fh)?;
        let rel = self.rel(h.ino)?;
        let Source::File(f) = &h.source else {
            return Err(FsError::BadHandle(fh));
        };
        let wb = self.opts.mode == Mode::WriteBack;
        if wb {
            let end = offset + data.len() as u64;
            let before = h.end.load(Ordering::Acquire);
            if end > before {
                self.reserve(end - before)?;
                h.end.fetch_max(end, Ordering::AcqRel);
            }
        }
        if !h.written.swap(true, Ordering::AcqRel) {
            if wb {
                self.spooled_now(&rel)?;
            } else {
                self.journal().dirty(&rel)?;
            }
        }
        f.write_all_at(data, offset).map_err(lower_err(&rel))?;
        Ok(data.len() as u32)
    }

    /// `close` of a descriptor of handle `fh`: in write-through mode, a
    /// written file is migrated before it returns; in write-back mode it
    /// is synced in the spool (and recorded to upload) before it returns.
    pub fn flush(&self, fh: u64) -> FsResult<()> {
        self.acknowledge(&*self.handle(fh)?)
    }

    /// `fsync` of handle `fh`: the file is synced; in write-through mode
    /// a written file is migrated too, in write-back recorded to upload.
    pub fn fsync(&self, fh: u64) -> FsResult<()> {
        let h = self.handle(fh)?;
        if let Source::File(f) = &h.source {
            let rel = self.rel(h.ino)?;
            f.sync_all().map_err(lower_err(&rel))?;
        }
        self.acknowledge(&h)
    }

    /// What `close` and `fsync` wait for, by mode: nothing (read-through),
    /// the store (write-through), the spool (write-back).
    fn acknowledge(&self, h: &Handle) -> FsResult<()> {
        match self.opts.mode {
            Mode::WriteThrough => self.store_written(h),
            Mode::WriteBack => self.spool_written(h),
            Mode::ReadThrough => Ok(()),
        }
    }

    /// Write-back: a written file of `h` is synced in the spool and
    /// recorded (size, mtime) for its upload: acknowledged.
    fn spool_written(&self, h: &Handle) -> FsResult<()> {
        if !h.written.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let rel = self.rel(h.ino)?;
        let synced = match &h.source {
            Source::File(f) => f.sync_all(),
            Source::Store(_) => Ok(()),
        };
        if let Err(e) = synced
            .map_err(lower_err(&rel))
            .and_then(|()| self.spooled_now(&rel))
        {
            h.written.store(true, Ordering::Release);
            return Err(e);
        }
        Ok(())
    }

    /// The last close of handle `fh`: a written file, or (read-through)
    /// one read completely from the lower directory, goes to the upload
    /// queue — in write-through mode only if its close did not store it
    /// (a file that failed is retried with backoff instead).
    pub fn release(&self, fh: u64) -> FsResult<()> {
        let Some(h) = self.handles.lock().expect("poisoned").remove(&fh) else {
            return Err(FsError::BadHandle(fh));
        };
        let rel = self.rel(h.ino)?;
        let written = h.written.load(Ordering::Acquire);
        let upload = match self.opts.mode {
            Mode::WriteThrough => written && self.sync_state(&rel)? != SyncState::Failed,
            Mode::WriteBack => h.writes,
            Mode::ReadThrough => {
                let read_all = matches!(h.source, Source::File(_)) && h.read.covers(h.size);
                written || (read_all && self.sync_state(&rel)? != SyncState::Migrated)
            }
        };
        if upload {
            self.queue.push(&rel);
        }
        Ok(())
    }

    /// Write-through: migrates the file of `h` if it was written since it
    /// was last migrated; EIO when the store cannot take it.
    fn store_written(&self, h: &Handle) -> FsResult<()> {
        if !h.written.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let rel = self.rel(h.ino)?;
        match self.migrator.migrate(&rel) {
            Ok(_) => Ok(()),
            Err(e) => {
                h.written.store(true, Ordering::Release);
                Err(FsError::NotMigrated {
                    what: rel,
                    why: e.to_string(),
                })
            }
        }
    }

    /// The store's copy of `rel`, when the journal has it migrated with
    /// the lower file still as `seen`; a migrated file that differs
    /// changed behind the overlay's back and is recorded dirty.
    pub(super) fn store_copy(&self, rel: &str, seen: Seen) -> FsResult<Option<DocId>> {
        let Some(r) = self.journal().get(rel)? else {
            return Ok(None);
        };
        if r.state != SyncState::Migrated {
            return Ok(None);
        }
        if r.seen != seen {
            self.journal().observe(rel, seen)?;
            self.queue.push(rel);
            return Ok(None);
        }
        Ok(r.doc)
    }

    fn add(&self, h: Handle) -> u64 {
        self.add_with(|| Ok(h)).expect("infallible")
    }

    /// Registers the handle `make` opens, holding the handle table while
    /// it does.
    fn add_with(&self, make: impl FnOnce() -> FsResult<Handle>) -> FsResult<u64> {
        let mut handles = self.handles.lock().expect("poisoned");
        let h = make()?;
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        handles.insert(fh, Arc::new(h));
        Ok(fh)
    }

    pub(super) fn handle(&self, fh: u64) -> FsResult<Arc<Handle>> {
        self.handles
            .lock()
            .expect("poisoned")
            .get(&fh)
            .cloned()
            .ok_or(FsError::BadHandle(fh))
    }

    /// Marks the open handle `fh` written (a truncation through it).
    pub(super) fn mark_written(&self, fh: u64) {
        if let Ok(h) = self.handle(fh) {
            h.written.store(true, Ordering::Release);
        }
    }

    /// The lower file of handle `fh`, if it has one open for writing.
    pub(super) fn with_lower_file<R>(
        &self,
        fh: u64,
        f: impl FnOnce(&File) -> std::io::Result<R>,
    ) -> Option<std::io::Result<R>> {
        let h = self.handle(fh).ok()?;
        match &h.source {
            Source::File(file) => Some(f(file)),
            Source::Store(_) => None,
        }
    }
}

/// The byte ranges read of a file, merged.
#[derive(Debug, Default)]
struct Coverage(Mutex<Vec<(u64, u64)>>);

impl Coverage {
    /// `start..end` was read.
    fn add(&self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let mut r = self.0.lock().expect("poisoned");
        r.push((start, end));
        r.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(r.len());
        for &(s, e) in r.iter() {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        *r = merged;
    }

    /// Whether `0..size` was read completely.
    fn covers(&self, size: u64) -> bool {
        let r = self.0.lock().expect("poisoned");
        size == 0 || r.first().is_some_and(|&(s, e)| s == 0 && e >= size)
    }
}

/// Opens `rel` in `layer` with `open(2)` flags.
fn open_in(layer: &Lower, rel: &str, flags: i32) -> FsResult<File> {
    let acc = flags & libc::O_ACCMODE;
    OpenOptions::new()
        .read(acc != libc::O_WRONLY)
        .write(acc != libc::O_RDONLY)
        .append(flags & libc::O_APPEND != 0)
        .truncate(flags & libc::O_TRUNC != 0 && acc != libc::O_RDONLY)
        .open(layer.path(rel))
        .map_err(lower_err(rel))
}

/// Reads up to `size` bytes at `offset`, short only at the end of file.
fn read_full(f: &File, offset: u64, size: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; size];
    let mut got = 0;
    while got < size {
        match f.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}
