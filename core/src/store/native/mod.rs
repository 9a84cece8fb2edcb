//! The native store: Reed-Solomon `k + m` (default 4 + 2) over disk
//! directories, the embedded default.
//!
//! Each chunk is cut into `k` data and `m` parity shards
//! ([`Codec`](crate::store::Codec)), each written to a different disk. Which
//! disks: the `k + m` with the highest rendezvous score
//! `BLAKE3(chunk ‖ disk id)`, so adding a disk moves only the shards the new
//! disk wins (about `1 / disks` of them) and removing one moves only its own.
//! A disk holds at most one shard of a chunk, in one of its pack files
//! (see [`pack`]); the shard's header says which index it is (see
//! [`shard`]).
//!
//! Reads take the data shards when they are healthy and check the chunk's
//! BLAKE3; otherwise every shard is checked against its own checksum, bad
//! ones are left out and the chunk is decoded from the rest. Any `m` disks
//! may be lost. [`NativeStore::scrub`] finds missing and corrupt shards and
//! rebuilds them; [`NativeStore::add_disk`] and [`NativeStore::remove_disk`]
//! rebalance. The root pointer is kept on every disk with a sequence
//! number; the highest valid copy wins.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

use super::{BlobStore, Codec, DeleteGuarantee, Locator, MAX_ROOT_LEN, RootSwap, StoreError};
use crate::chunk::Digest;

mod batch;
mod direct;
mod disk;
mod layout;
mod pack;
mod pack_log;
mod read;
mod rebalance;
mod root;
mod scrub;
pub mod shard;

pub use disk::{MARKER, Marker, Member};
pub use pack::{PACK_MAX, ShardPlace, forget_shard, shard_places};
pub use rebalance::RebalanceReport;
pub use scrub::{ScrubOptions, ScrubReport, ShardIssue};

use disk::Disk;
use layout::Layout;
use shard::{HEADER_LEN, ShardHeader};

/// The default number of data shards.
pub const DEFAULT_K: usize = 4;
/// The default number of parity shards.
pub const DEFAULT_M: usize = 2;

/// A disk as [`NativeStore::disks`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskStatus {
    /// The disk's id.
    pub id: String,
    /// Its directory.
    pub path: PathBuf,
    /// Whether its marker is present (a wiped disk is offline until `scrub
    /// --repair` formats it again).
    pub online: bool,
    /// Whether it is being drained by [`NativeStore::remove_disk`].
    pub retiring: bool,
}

/// Stripes of the per-chunk lock: put, delete, repair and rebalance of one
/// chunk never interleave.
const CHUNK_LOCK_STRIPES: usize = 64;

/// The largest blob the native store accepts (chunks are at most 4 MiB;
/// this bounds what a shard header may claim).
pub const MAX_BLOB_LEN: u64 = 1 << 32;

/// Reed-Solomon over disk directories. Safe to share between threads. One
/// process at a time opens a store: `open` and `create` take an exclusive
/// lock (`store.lock`) on every online disk and fail if another process
/// holds one.
#[derive(Debug)]
pub struct NativeStore {
    codec: Codec,
    layout: RwLock<Layout>,
    root_lock: Mutex<()>,
    chunk_locks: Vec<Mutex<()>>,
    write_quorum: AtomicUsize,
    _store_locks: Vec<std::fs::File>,
}

impl NativeStore {
    /// Makes a new store on `disks` (at least `k + m` directories, empty or
    /// absent) with a `k + m` code.
    pub fn create(disks: &[PathBuf], k: usize, m: usize) -> Result<Self, StoreError> {
        let codec = Codec::new(k, m).map_err(|e| StoreError::Config(e.to_string()))?;
        let layout = Layout::create(disks, k, m)?;
        Self::with(codec, layout)
    }

    /// Opens the store on `disks`. Disks may be missing or wiped (they are
    /// offline until repaired) as long as one marker survives.
    pub fn open(disks: &[PathBuf]) -> Result<Self, StoreError> {
        let (layout, k, m) = Layout::open(disks)?;
        let codec = Codec::new(k, m).map_err(|e| StoreError::Config(e.to_string()))?;
        Self::with(codec, layout)
    }

    /// Opens the store on `disks` if one is there, else creates it.
    pub fn open_or_create(disks: &[PathBuf], k: usize, m: usize) -> Result<Self, StoreError> {
        if disks.iter().any(|d| d.join(MARKER).exists()) {
            Self::open(disks)
        } else {
            Self::create(disks, k, m)
        }
    }

    fn with(codec: Codec, layout: Layout) -> Result<Self, StoreError> {
        let quorum = (codec.k() + 1).min(codec.n());
        let locks = layout
            .all_disks()
            .filter(|d| d.is_online())
            .map(Disk::lock_store)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NativeStore {
            codec,
            layout: RwLock::new(layout),
            root_lock: Mutex::new(()),
            chunk_locks: (0..CHUNK_LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            write_quorum: AtomicUsize::new(quorum),
            _store_locks: locks,
        })
    }

    /// Locks `chunks` (their stripes, in order, each once) for the guards' lifetime.
    fn lock_chunks(&self, chunks: &[Digest]) -> Vec<std::sync::MutexGuard<'_, ()>> {
        let mut stripes: Vec<usize> = chunks
            .iter()
            .map(|c| c.0[0] as usize % CHUNK_LOCK_STRIPES)
            .collect();
        stripes.sort_unstable();
        stripes.dedup();
        stripes
            .into_iter()
            .map(|i| self.chunk_locks[i].lock().expect("poisoned"))
            .collect()
    }

    /// The erasure code.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// How many shards of a chunk must be written for `put` to succeed
    /// (default `k + 1`: an acknowledged chunk survives one more lost disk).
    pub fn set_write_quorum(&self, shards: usize) {
        self.write_quorum.store(
            shards.clamp(self.codec.k(), self.codec.n()),
            Ordering::Relaxed,
        );
    }

    /// Every disk, online or not.
    pub fn disks(&self) -> Vec<DiskStatus> {
        let layout = self.layout.read().expect("poisoned");
        let status = |d: &Disk, retiring| DiskStatus {
            id: d.id.clone(),
            path: d.path.clone(),
            online: d.is_online(),
            retiring,
        };
        let mut out: Vec<DiskStatus> = layout.members.iter().map(|d| status(d, false)).collect();
        out.extend(layout.retiring.iter().map(|d| status(d, true)));
        out
    }

    fn header_for(
        &self,
        chunk: &Digest,
        chunk_len: usize,
        index: usize,
        payload: &[u8],
    ) -> ShardHeader {
        ShardHeader {
            k: self.codec.k() as u8,
            m: self.codec.m() as u8,
            index: index as u8,
            chunk: *chunk,
            chunk_len: chunk_len as u64,
            payload_len: payload.len() as u64,
            payload_crc: crc32c::crc32c(payload),
        }
    }

    /// Writes shard `index` of `chunk` to `disk`, atomically.
    fn write_shard(
        &self,
        disk: &Disk,
        chunk: &Digest,
        chunk_len: usize,
        index: usize,
        payload: &[u8],
    ) -> Result<(), String> {
        if !disk.is_online() {
            return Err(format!("{} is offline (no marker)", disk.describe()));
        }
        let header = self.header_for(chunk, chunk_len, index, payload).encode();
        disk.write_shard(chunk, &[&header, payload])
            .map_err(|e| format!("{}: {e}", disk.describe()))
    }
}

impl NativeStore {
    /// Runs `f` on the online members holding the in-process root mutex
    /// and every online disk's `root.lock`, taken in disk order.
    fn with_root_locked<R>(
        &self,
        layout: &Layout,
        f: impl FnOnce(&[&Disk]) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let _in_process = self.root_lock.lock().expect("poisoned");
        let online: Vec<&Disk> = layout.members.iter().filter(|d| d.is_online()).collect();
        let _locks = online
            .iter()
            .map(|d| {
                d.lock_root()
                    .map_err(|e| StoreError::io("locking root", &d.path, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        f(&online)
    }

    /// Ok if `written` shards meet the write quorum, else `NotDurable`.
    fn judge(
        &self,
        digest: &Digest,
        written: usize,
        failures: Vec<String>,
    ) -> Result<Locator, StoreError> {
        let needed = self.write_quorum.load(Ordering::Relaxed);
        if written < needed {
            return Err(StoreError::NotDurable {
                chunk: digest.to_hex(),
                written,
                needed,
                failures,
            });
        }
        if !failures.is_empty() {
            tracing::warn!(chunk = %digest, "stored degraded, run scrub --repair: {}", failures.join("; "));
        }
        Ok(Locator::for_digest(digest))
    }
}

/// Refuses blobs larger than [`MAX_BLOB_LEN`].
fn check_blob_len(data: &[u8]) -> Result<(), StoreError> {
    if data.len() as u64 > MAX_BLOB_LEN {
        return Err(StoreError::Config(format!(
            "a blob of {} bytes exceeds the native store's limit of {MAX_BLOB_LEN}",
            data.len()
        )));
    }
    Ok(())
}

impl BlobStore for NativeStore {
    fn kind(&self) -> &'static str {
        "native"
    }

    fn put(&self, data: &[u8]) -> Result<Locator, StoreError> {
        check_blob_len(data)?;
        let digest = Digest::of(data);
        let layout = self.layout.read().expect("poisoned");
        let _chunk = self.lock_chunks(&[digest]);
        let plan = read::plan_put(self, &layout, &digest);
        if plan.writes.is_empty() {
            return Ok(Locator::for_digest(&digest));
        }
        let results: Vec<Result<(), String>> = self.codec.encode_with(data, |shards| {
            std::thread::scope(|s| {
                let handles: Vec<_> = plan
                    .writes
                    .iter()
                    .map(|&(i, disk)| {
                        let shard = shards[i];
                        s.spawn(move || self.write_shard(disk, &digest, data.len(), i, shard))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("shard writer panicked"))
                    .collect()
            })
        });
        let written = plan.valid + results.iter().filter(|r| r.is_ok()).count();
        let mut failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
        failures.extend(
            plan.unplaced
                .iter()
                .map(|i| format!("shard {i}: no free disk")),
        );
        self.judge(&digest, written, failures)
    }

    fn put_batch(&self, blobs: &[&[u8]]) -> Result<Vec<Locator>, StoreError> {
        match blobs {
            [] => Ok(Vec::new()),
            [one] => Ok(vec![self.put(one)?]),
            _ => self.put_many(blobs),
        }
    }

    fn get(&self, locator: &Locator) -> Result<Vec<u8>, StoreError> {
        let digest = locator.digest()?;
        let layout = self.layout.read().expect("poisoned");
        if let Some(blob) = direct::direct_path(self, &layout, &digest) {
            return Ok(blob);
        }
        if let Some(blob) = read::fast_path(self, &layout, &digest) {
            return Ok(blob);
        }
        read::slow_path(self, &layout, &digest, locator)
    }

    fn has(&self, locator: &Locator) -> Result<bool, StoreError> {
        let Ok(digest) = locator.digest() else {
            return Ok(false);
        };
        let layout = self.layout.read().expect("poisoned");
        let found = layout
            .all_disks()
            .filter(|d| d.is_online() && d.has_shard(&digest))
            .count();
        Ok(found >= self.codec.k())
    }

    fn delete(&self, locator: &Locator) -> Result<(), StoreError> {
        let digest = locator.digest()?;
        let layout = self.layout.read().expect("poisoned");
        let _chunk = self.lock_chunks(&[digest]);
        for disk in layout.all_disks() {
            disk.remove_shard(&digest)
                .map_err(|e| StoreError::io("deleting shard", &disk.path, e))?;
        }
        Ok(())
    }

    fn delete_guarantee(&self) -> DeleteGuarantee {
        DeleteGuarantee::Frees
    }

    fn list(&self) -> Result<Vec<Locator>, StoreError> {
        let layout = self.layout.read().expect("poisoned");
        Ok(layout
            .chunks_with(self.codec.k())?
            .iter()
            .map(Locator::for_digest)
            .collect())
    }

    fn root(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let layout = self.layout.read().expect("poisoned");
        Ok(root::newest(&layout.members)?.map(|r| r.value))
    }

    fn swap_root(&self, expected: Option<&[u8]>, new: &[u8]) -> Result<RootSwap, StoreError> {
        if new.len() > MAX_ROOT_LEN {
            return Err(StoreError::Config(format!(
                "root value of {} bytes exceeds {MAX_ROOT_LEN}",
                new.len()
            )));
        }
        let layout = self.layout.read().expect("poisoned");
        self.with_root_locked(&layout, |online| {
            let current = root::newest(&layout.members)?;
            if current.as_ref().map(|r| r.value.as_slice()) != expected {
                return Ok(RootSwap::Conflict {
                    current: current.map(|r| r.value),
                });
            }
            let record = root::RootRecord {
                seq: current.map_or(1, |r| r.seq + 1),
                value: new.to_vec(),
            };
            let mut failures: Vec<String> = layout
                .members
                .iter()
                .filter(|d| !d.is_online())
                .map(|d| format!("{} [offline]", d.describe()))
                .collect();
            let mut written = 0;
            for d in online {
                match root::write(d, &record) {
                    Ok(()) => written += 1,
                    Err(e) => failures.push(format!("{}: {e}", d.describe())),
                }
            }
            let needed = root::majority(layout.members.len());
            if written < needed {
                return Err(StoreError::NotDurable {
                    chunk: "the root pointer".into(),
                    written,
                    needed,
                    failures,
                });
            }
            Ok(RootSwap::Swapped)
        })
    }
}

/// Checks that a header fits `chunk` and the store's code.
fn check_header(codec: Codec, chunk: &Digest, header: &ShardHeader) -> Result<(), String> {
    if header.chunk != *chunk {
        return Err(format!("header names chunk {}", header.chunk));
    }
    if (header.k as usize, header.m as usize) != (codec.k(), codec.m()) {
        return Err(format!(
            "header says {}+{}, the store is {}+{}",
            header.k,
            header.m,
            codec.k(),
            codec.m()
        ));
    }
    if header.index as usize >= codec.n() {
        return Err(format!("shard index {} out of range", header.index));
    }
    if header.chunk_len > MAX_BLOB_LEN {
        return Err(format!("header claims a {}-byte chunk", header.chunk_len));
    }
    let expected = codec.shard_len(header.chunk_len as usize) as u64;
    if header.payload_len != expected {
        return Err(format!(
            "header says {} payload bytes, expected {expected}",
            header.payload_len
        ));
    }
    Ok(())
}

/// The payload of a shard file whose header is valid for `chunk`, or why not.
fn parse_shard<'a>(
    codec: Codec,
    chunk: &Digest,
    bytes: &'a [u8],
) -> Result<(ShardHeader, &'a [u8]), String> {
    let header = ShardHeader::decode(bytes)?;
    check_header(codec, chunk, &header)?;
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != header.payload_len {
        return Err(format!(
            "payload is {} bytes, expected {}",
            payload.len(),
            header.payload_len
        ));
    }
    Ok((header, payload))
}

/// The disk directories `DIR/disks/0` … `DIR/disks/{n-1}`: the embedded default layout.
pub fn default_disks(dir: &Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| dir.join("disks").join(i.to_string()))
        .collect()
}
