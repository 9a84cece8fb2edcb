//! Shard packs: a disk keeps its shards back to back in a few large pack
//! files, not one file per shard.
//!
//! ```text
//! DISK/packs/00000001.pack   shard records (each a shard: header + payload), appended
//! DISK/packs/index           the log of where each shard is: 64-byte entries
//! ```
//!
//! Creating, renaming and syncing a file per shard (six per chunk) was
//! where a put's time went: the kernel's per-file work dwarfed the bytes.
//! Appending to one open file per disk costs a write and, per batch, one
//! filesystem sync.
//!
//! An index entry (`put` or `del`, chunk, pack, offset, length, CRC32C of
//! the entry) is appended to the log only after the record's bytes are
//! durable (the caller syncs in between), so a shard the index names always
//! holds fully written bytes; a crash leaves at most unindexed bytes at a
//! pack's end, never an entry without its bytes. Opening replays the log
//! (stopping at the first torn entry), starts a new pack, and removes packs
//! no live entry points into. A deleted shard's bytes are freed at once
//! (`fallocate(PUNCH_HOLE)`), so deletion frees space without rewriting a
//! pack; a pack whose shards are all deleted is removed. A record whose
//! header reads as zeros (a hole) counts as absent.
//!
//! A store written by an earlier build (a file per shard under `shards/`)
//! is converted on open: each file is appended to a pack, indexed, synced,
//! and only then removed.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::chunk::Digest;

/// A pack is sealed and a new one started past this size (256 MiB).
pub const PACK_MAX: u64 = 256 << 20;
const ENTRY_LEN: usize = 64;
const ENTRY_MAGIC: &[u8; 4] = b"DGPX";
const PUT: u8 = 1;
const DEL: u8 = 2;

/// Where one shard record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    /// The pack's number.
    pub pack: u32,
    /// The record's first byte in the pack.
    pub offset: u64,
    /// The record's length (header + payload).
    pub len: u64,
}

/// Where a shard lives on disk: for tools and tests that damage it on
/// purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPlace {
    /// The pack file.
    pub file: PathBuf,
    /// The record's first byte.
    pub offset: u64,
    /// Its length.
    pub len: u64,
}

/// The packs of one disk. Loaded on first use; shared by clones of the
/// disk.
#[derive(Default)]
pub struct Packs {
    dir: PathBuf,
    inner: Mutex<Option<Inner>>,
}

impl std::fmt::Debug for Packs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Packs({})", self.dir.display())
    }
}

struct Inner {
    index: HashMap<Digest, Loc>,
    /// Live records per pack.
    live: HashMap<u32, u64>,
    log: File,
    /// The pack appended to, its file and its length (bytes reserved).
    current: (u32, Arc<File>, u64),
    readers: HashMap<u32, Arc<File>>,
}

impl Packs {
    /// The packs under `disk/packs`.
    pub fn new(disk: &Path) -> Packs {
        Packs {
            dir: disk.join("packs"),
            inner: Mutex::new(None),
        }
    }

    /// Forgets what was loaded (the disk was wiped and formatted again):
    /// the next use reads the directory afresh.
    pub fn reset(&self) {
        *self.inner.lock().expect("poisoned") = None;
    }

    fn loaded(&self) -> io::Result<MutexGuard<'_, Option<Inner>>> {
        let mut g = self.inner.lock().expect("poisoned");
        if g.is_none() {
            let mut inner = Inner::load(&self.dir)?;
            let legacy = self.dir.with_file_name("shards");
            if legacy.is_dir() {
                inner.convert(&self.dir, &legacy)?;
            }
            *g = Some(inner);
        }
        Ok(g)
    }

    fn pack_path(&self, pack: u32) -> PathBuf {
        pack_path(&self.dir, pack)
    }

    /// Appends `parts` as one record to the current pack and returns where;
    /// not indexed (not visible) until [`Packs::publish`], and not durable
    /// until the caller syncs.
    pub fn append(&self, parts: &[&[u8]]) -> io::Result<Loc> {
        let len: u64 = parts.iter().map(|p| p.len() as u64).sum();
        let (file, loc) = {
            let mut g = self.loaded()?;
            let inner = g.as_mut().expect("loaded");
            if inner.current.2 > 0 && inner.current.2 + len > PACK_MAX {
                inner.roll(&self.dir)?;
            }
            let (pack, file, end) = &mut inner.current;
            let loc = Loc {
                pack: *pack,
                offset: *end,
                len,
            };
            *end += len;
            (file.clone(), loc)
        };
        let mut at = loc.offset;
        for p in parts {
            file.write_all_at(p, at)?;
            at += p.len() as u64;
        }
        Ok(loc)
    }

    /// Makes appended records visible: logs and indexes them (a shard
    /// replaced this way frees its old record). With `sync`, the log is
    /// synced before returning. The records' bytes must be durable first.
    pub fn publish(&self, records: &[(Digest, Loc)], sync: bool) -> io::Result<()> {
        let mut g = self.loaded()?;
        let inner = g.as_mut().expect("loaded");
        let mut buf = Vec::with_capacity(records.len() * ENTRY_LEN);
        for (d, loc) in records {
            buf.extend_from_slice(&entry(PUT, d, loc));
        }
        inner.log.write_all(&buf)?;
        if sync {
            inner.log.sync_data()?;
        }
        for (d, loc) in records {
            *inner.live.entry(loc.pack).or_default() += 1;
            if let Some(old) = inner.index.insert(*d, *loc) {
                inner.free(&self.dir, old);
            }
        }
        Ok(())
    }

    /// Writes one record durably and indexes it.
    pub fn write(&self, chunk: &Digest, parts: &[&[u8]]) -> io::Result<()> {
        let loc = self.append(parts)?;
        self.pack_file(loc.pack)?.sync_data()?;
        self.publish(&[(*chunk, loc)], true)
    }

    /// Removes `chunk`'s shard durably (absent is fine) and frees its bytes.
    pub fn remove(&self, chunk: &Digest) -> io::Result<()> {
        let mut g = self.loaded()?;
        let inner = g.as_mut().expect("loaded");
        let Some(loc) = inner.index.get(chunk).copied() else {
            return Ok(());
        };
        inner.log.write_all(&entry(DEL, chunk, &loc))?;
        inner.log.sync_data()?;
        inner.index.remove(chunk);
        inner.free(&self.dir, loc);
        Ok(())
    }

    /// Where `chunk`'s record is, if indexed.
    pub fn locate(&self, chunk: &Digest) -> io::Result<Option<Loc>> {
        Ok(self
            .loaded()?
            .as_ref()
            .and_then(|i| i.index.get(chunk).copied()))
    }

    /// Where `chunk`'s record is on disk, if indexed.
    pub fn place(&self, chunk: &Digest) -> io::Result<Option<ShardPlace>> {
        Ok(self.locate(chunk)?.map(|l| ShardPlace {
            file: self.pack_path(l.pack),
            offset: l.offset,
            len: l.len,
        }))
    }

    /// Every indexed chunk.
    pub fn list(&self) -> io::Result<Vec<Digest>> {
        Ok(self
            .loaded()?
            .as_ref()
            .map(|i| i.index.keys().copied().collect())
            .unwrap_or_default())
    }

    /// The open file of pack `pack` (kept open for later reads).
    fn pack_file(&self, pack: u32) -> io::Result<Arc<File>> {
        let mut g = self.loaded()?;
        let inner = g.as_mut().expect("loaded");
        if inner.current.0 == pack {
            return Ok(inner.current.1.clone());
        }
        if let Some(f) = inner.readers.get(&pack) {
            return Ok(f.clone());
        }
        let f = Arc::new(File::open(self.pack_path(pack))?);
        inner.readers.insert(pack, f.clone());
        Ok(f)
    }

    /// Reads `buf.len()` bytes of `chunk`'s record from `offset` into
    /// `buf`: `Ok(false)` when absent (not indexed, its pack gone, or the
    /// record shorter than asked).
    pub fn read_into(&self, chunk: &Digest, offset: u64, buf: &mut [u8]) -> io::Result<bool> {
        let Some(loc) = self.locate(chunk)? else {
            return Ok(false);
        };
        if offset + buf.len() as u64 > loc.len {
            return Ok(false);
        }
        let file = match self.pack_file(loc.pack) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        match file.read_exact_at(buf, loc.offset + offset) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `chunk`'s whole record, `None` when absent.
    pub fn read(&self, chunk: &Digest) -> io::Result<Option<Vec<u8>>> {
        let Some(loc) = self.locate(chunk)? else {
            return Ok(None);
        };
        let mut buf = vec![0u8; loc.len as usize];
        Ok(self.read_into(chunk, 0, &mut buf)?.then_some(buf))
    }
}

impl Inner {
    fn load(dir: &Path) -> io::Result<Inner> {
        fs::create_dir_all(dir)?;
        let log_path = dir.join("index");
        let (index, live, good_len, entries) = replay(&log_path)?;
        let log = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&log_path)?;
        log.set_len(good_len)?; // a torn last entry goes
        let mut log = log;
        use std::io::Seek;
        log.seek(io::SeekFrom::End(0))?;
        let existing = pack_numbers(dir)?;
        for &p in &existing {
            if !live.contains_key(&p) {
                fs::remove_file(pack_path(dir, p))?; // nothing indexed in it
            }
        }
        let next = existing.iter().max().map_or(1, |m| m + 1);
        let mut inner = Inner {
            index,
            live,
            log,
            current: (next, Arc::new(new_pack(dir, next)?), 0),
            readers: HashMap::new(),
        };
        if entries > 2 * inner.index.len() as u64 + 4096 {
            inner.compact_log(dir)?;
        }
        Ok(inner)
    }

    /// Starts a new pack.
    fn roll(&mut self, dir: &Path) -> io::Result<()> {
        let (old, file, _) = &self.current;
        let (old, file) = (*old, file.clone());
        let next = old + 1;
        self.current = (next, Arc::new(new_pack(dir, next)?), 0);
        if self.live.get(&old).copied().unwrap_or(0) > 0 {
            self.readers.insert(old, file);
        } else {
            let _ = fs::remove_file(pack_path(dir, old));
        }
        Ok(())
    }

    /// Frees a record no longer indexed: its bytes are punched out, and
    /// its pack removed once nothing in it is live.
    fn free(&mut self, dir: &Path, loc: Loc) {
        let left = {
            let n = self.live.entry(loc.pack).or_default();
            *n = n.saturating_sub(1);
            *n
        };
        if left == 0 && loc.pack != self.current.0 {
            self.live.remove(&loc.pack);
            self.readers.remove(&loc.pack);
            let _ = fs::remove_file(pack_path(dir, loc.pack));
            return;
        }
        let file = if loc.pack == self.current.0 {
            Some(self.current.1.clone())
        } else {
            self.readers.get(&loc.pack).cloned()
        };
        let file = file.or_else(|| {
            OpenOptions::new()
                .write(true)
                .open(pack_path(dir, loc.pack))
                .ok()
                .map(Arc::new)
        });
        if let Some(f) = file {
            punch(&f, loc.offset, loc.len);
        }
    }

    /// Moves the shard files of an earlier build's `shards/XX/HEX` layout
    /// into packs: appended, synced, indexed, synced, then removed.
    fn convert(&mut self, dir: &Path, legacy: &Path) -> io::Result<()> {
        let mut files: Vec<(Digest, PathBuf)> = Vec::new();
        for sub in fs::read_dir(legacy)? {
            let sub = sub?;
            if !sub.file_type()?.is_dir() {
                continue;
            }
            for f in fs::read_dir(sub.path())? {
                let f = f?;
                if let Some(d) = f.file_name().to_str().and_then(|n| n.parse().ok()) {
                    files.push((d, f.path()));
                }
            }
        }
        let mut group: Vec<(Digest, Loc, PathBuf)> = Vec::new();
        for (d, path) in files {
            let bytes = fs::read(&path)?;
            if self.current.2 > 0 && self.current.2 + bytes.len() as u64 > PACK_MAX {
                self.settle(dir, &mut group)?;
                self.roll(dir)?;
            }
            let (pack, file, end) = &mut self.current;
            file.write_all_at(&bytes, *end)?;
            let loc = Loc {
                pack: *pack,
                offset: *end,
                len: bytes.len() as u64,
            };
            *end += loc.len;
            group.push((d, loc, path));
        }
        self.settle(dir, &mut group)?;
        tracing::info!("{}: shard files moved into packs", legacy.display());
        let _ = fs::remove_dir_all(legacy);
        Ok(())
    }

    /// [`Inner::convert`]'s records of the current pack: synced, indexed,
    /// synced, their files removed.
    fn settle(&mut self, dir: &Path, group: &mut Vec<(Digest, Loc, PathBuf)>) -> io::Result<()> {
        if group.is_empty() {
            return Ok(());
        }
        self.current.1.sync_data()?;
        let mut buf = Vec::new();
        for (d, loc, _) in group.iter() {
            buf.extend_from_slice(&entry(PUT, d, loc));
            *self.live.entry(loc.pack).or_default() += 1;
            if let Some(old) = self.index.insert(*d, *loc) {
                self.free(dir, old);
            }
        }
        self.log.write_all(&buf)?;
        self.log.sync_data()?;
        for (_, _, path) in group.drain(..) {
            fs::remove_file(path)?;
        }
        Ok(())
    }

    /// Rewrites the log with only the live entries (atomically).
    fn compact_log(&mut self, dir: &Path) -> io::Result<()> {
        let tmp = dir.join("index.tmp");
        let mut f = File::create(&tmp)?;
        let mut buf = Vec::with_capacity(self.index.len() * ENTRY_LEN);
        for (d, loc) in &self.index {
            buf.extend_from_slice(&entry(PUT, d, loc));
        }
        f.write_all(&buf)?;
        f.sync_all()?;
        fs::rename(&tmp, dir.join("index"))?;
        File::open(dir)?.sync_all()?;
        let mut log = OpenOptions::new().append(true).open(dir.join("index"))?;
        log.flush()?;
        self.log = log;
        Ok(())
    }
}

/// Every shard the pack index of the disk directory `disk` names, with
/// where it is. Reads the log and changes nothing: for tools and tests
/// that inspect or damage shards on purpose.
pub fn shard_places(disk: &Path) -> io::Result<Vec<(Digest, ShardPlace)>> {
    let dir = disk.join("packs");
    let (index, _, _, _) = replay(&dir.join("index"))?;
    let mut out: Vec<(Digest, ShardPlace)> = index
        .into_iter()
        .map(|(d, l)| {
            let place = ShardPlace {
                file: pack_path(&dir, l.pack),
                offset: l.offset,
                len: l.len,
            };
            (d, place)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Appends the deletion of `chunk`'s shard to the pack index of the disk
/// directory `disk`, as if its write had never been indexed; whether it
/// was there. Only while no store has the disk open: for tests that
/// simulate an interrupted write.
pub fn forget_shard(disk: &Path, chunk: &Digest) -> io::Result<bool> {
    let dir = disk.join("packs");
    let (index, _, good, _) = replay(&dir.join("index"))?;
    let Some(loc) = index.get(chunk) else {
        return Ok(false);
    };
    let log = OpenOptions::new().write(true).open(dir.join("index"))?;
    log.set_len(good)?;
    log.write_all_at(&entry(DEL, chunk, loc), good)?;
    log.sync_data()?;
    Ok(true)
}

/// Frees `len` bytes at `offset` (the file keeps its size).
fn punch(f: &File, offset: u64, len: u64) {
    use rustix::fs::{FallocateFlags, fallocate};
    let flags = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
    if let Err(e) = fallocate(f, flags, offset, len) {
        tracing::debug!("punching a hole in a pack: {e} (the bytes stay until the pack goes)");
    }
}

fn pack_path(dir: &Path, pack: u32) -> PathBuf {
    dir.join(format!("{pack:08}.pack"))
}

fn new_pack(dir: &Path, pack: u32) -> io::Result<File> {
    let f = OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(pack_path(dir, pack))?;
    File::open(dir)?.sync_all()?;
    Ok(f)
}

/// The numbers of the pack files in `dir`.
fn pack_numbers(dir: &Path) -> io::Result<Vec<u32>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let name = e?.file_name();
        let Some(n) = name.to_str().and_then(|n| n.strip_suffix(".pack")) else {
            continue;
        };
        if let Ok(n) = n.parse() {
            out.push(n);
        }
    }
    Ok(out)
}

/// One log entry.
fn entry(kind: u8, chunk: &Digest, loc: &Loc) -> [u8; ENTRY_LEN] {
    let mut e = [0u8; ENTRY_LEN];
    e[0..4].copy_from_slice(ENTRY_MAGIC);
    e[4] = kind;
    e[8..40].copy_from_slice(&chunk.0);
    e[40..44].copy_from_slice(&loc.pack.to_le_bytes());
    e[44..52].copy_from_slice(&loc.offset.to_le_bytes());
    e[52..60].copy_from_slice(&loc.len.to_le_bytes());
    let crc = crc32c::crc32c(&e[..60]);
    e[60..64].copy_from_slice(&crc.to_le_bytes());
    e
}

/// A log entry's kind, chunk and place; `None` if torn or not an entry.
fn parse_entry(e: &[u8]) -> Option<(u8, Digest, Loc)> {
    let crc = u32::from_le_bytes(e[60..64].try_into().ok()?);
    if &e[0..4] != ENTRY_MAGIC || crc32c::crc32c(&e[..60]) != crc {
        return None;
    }
    let u64_at = |at: usize| u64::from_le_bytes(e[at..at + 8].try_into().expect("8 bytes"));
    let loc = Loc {
        pack: u32::from_le_bytes(e[40..44].try_into().ok()?),
        offset: u64_at(44),
        len: u64_at(52),
    };
    Some((e[4], Digest(e[8..40].try_into().ok()?), loc))
}

type Replayed = (HashMap<Digest, Loc>, HashMap<u32, u64>, u64, u64);

/// The index the log at `path` describes, the live records per pack, the
/// length of its valid prefix and its entry count.
fn replay(path: &Path) -> io::Result<Replayed> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut index = HashMap::new();
    let mut good = 0u64;
    let mut entries = 0u64;
    for e in bytes.chunks_exact(ENTRY_LEN) {
        let Some((kind, d, loc)) = parse_entry(e) else {
            tracing::warn!(
                "{}: torn entry at {good}; the rest is dropped",
                path.display()
            );
            break;
        };
        match kind {
            PUT => {
                index.insert(d, loc);
            }
            DEL => {
                index.remove(&d);
            }
            _ => break,
        }
        good += ENTRY_LEN as u64;
        entries += 1;
    }
    let mut live: HashMap<u32, u64> = HashMap::new();
    for loc in index.values() {
        *live.entry(loc.pack).or_default() += 1;
    }
    Ok((index, live, good, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_a_reopen_deletes_free_and_torn_log_tails_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = Packs::new(dir.path());
        let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
        p.write(&a, &[b"head", b"er-a"]).unwrap();
        p.write(&b, &[b"bbbb"]).unwrap();
        assert_eq!(p.read(&a).unwrap().unwrap(), b"header-a");
        p.remove(&a).unwrap();
        assert_eq!(p.read(&a).unwrap(), None);
        // A torn entry at the log's end (a crash mid-append) is dropped.
        let log = dir.path().join("packs/index");
        let mut f = OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(&[7u8; 30]).unwrap();
        drop(f);
        let again = Packs::new(dir.path());
        assert_eq!(again.read(&a).unwrap(), None);
        assert_eq!(again.read(&b).unwrap().unwrap(), b"bbbb");
        assert_eq!(again.list().unwrap(), vec![b]);
        assert_eq!(fs::metadata(&log).unwrap().len() % ENTRY_LEN as u64, 0);
        // Appended but never published: invisible after a reopen, and its
        // pack (nothing indexed in it) removed.
        let c = Digest::of(b"c");
        again.append(&[b"cccc"]).unwrap();
        let third = Packs::new(dir.path());
        assert_eq!(third.read(&c).unwrap(), None);
        assert_eq!(pack_numbers(&dir.path().join("packs")).unwrap().len(), 2);
    }
}
