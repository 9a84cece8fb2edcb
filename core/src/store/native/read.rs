//! Reading a chunk: the fast path over data shards, and the careful path
//! that checks every shard and decodes.

use super::disk::Disk;
use super::layout::Layout;

use super::shard::{HEADER_LEN, ShardHeader};
use super::{NativeStore, check_header, parse_shard};
use crate::chunk::Digest;
use crate::store::{Locator, StoreError};

/// Every shard of a chunk found on a set of disks, each checked.
#[derive(Debug, Default)]
pub(super) struct Gathered {
    /// Valid payloads by shard index (`k + m` slots).
    pub slots: Vec<Option<Vec<u8>>>,
    /// The disk id holding each valid slot.
    pub holder: Vec<Option<String>>,
    /// The chunk length the valid headers state.
    pub chunk_len: Option<usize>,
    /// Disks whose shard failed a check, with why.
    pub corrupt: Vec<(Disk, String)>,
    /// Online disks without a shard file of this chunk.
    pub absent: Vec<Disk>,
    /// Disks that are offline.
    pub offline: Vec<Disk>,
    /// Valid shards duplicating an index already held elsewhere.
    pub duplicates: Vec<Disk>,
}

impl Gathered {
    /// Distinct valid shards.
    pub fn valid(&self) -> usize {
        self.slots.iter().flatten().count()
    }
}

/// Reads and checks (header and payload checksum) the shard of `chunk` on every disk given.
pub(super) fn gather<'a>(
    store: &NativeStore,
    disks: impl Iterator<Item = &'a Disk>,
    chunk: &Digest,
) -> Gathered {
    let n = store.codec.n();
    let mut g = Gathered {
        slots: vec![None; n],
        holder: vec![None; n],
        ..Default::default()
    };
    for disk in disks {
        if !disk.is_online() {
            g.offline.push(disk.clone());
            continue;
        }
        let bytes = match disk.read_shard(chunk) {
            Ok(Some(b)) => b,
            Ok(None) => {
                g.absent.push(disk.clone());
                continue;
            }
            Err(e) => {
                g.corrupt.push((disk.clone(), format!("unreadable: {e}")));
                continue;
            }
        };
        let checked = parse_shard(store.codec, chunk, &bytes).and_then(|(h, payload)| {
            if crc32c::crc32c(payload) == h.payload_crc {
                Ok(h)
            } else {
                Err("payload checksum mismatch".into())
            }
        });
        match checked {
            Ok(h) if g.slots[h.index as usize].is_some() => g.duplicates.push(disk.clone()),
            Ok(h) => {
                let i = h.index as usize;
                g.slots[i] = Some(bytes[HEADER_LEN..].to_vec());
                g.holder[i] = Some(disk.id.clone());
                g.chunk_len = Some(h.chunk_len as usize);
            }
            Err(why) => g.corrupt.push((disk.clone(), why)),
        }
    }
    g
}

/// The chunk from its data shards on the disks placement names, if they
/// are all there and the chunk's BLAKE3 matches. Payloads are read straight
/// into the chunk's buffer; no per-shard checksum is computed: the chunk
/// hash covers them all.
pub(super) fn fast_path(store: &NativeStore, layout: &Layout, chunk: &Digest) -> Option<Vec<u8>> {
    let k = store.codec.k();
    let mut filled = vec![false; k];
    let mut blob: Vec<u8> = Vec::new();
    let mut chunk_len = None;
    for disk in layout.placement(chunk, store.codec.n()) {
        if filled.iter().all(|&f| f) {
            break;
        }
        // A disk without its marker is lost, even while its deleted packs
        // are still open here.
        if !disk.is_online() {
            continue;
        }
        let _ = disk.with_shard(chunk, |rec| {
            let Ok(header) = ShardHeader::decode(rec) else {
                return;
            };
            let i = header.index as usize;
            let len = header.chunk_len as usize;
            if check_header(store.codec, chunk, &header).is_err()
                || i >= k
                || filled[i]
                || chunk_len.is_some_and(|l| l != len)
            {
                return;
            }
            let shard_len = store.codec.shard_len(len);
            if rec.len() != HEADER_LEN + shard_len {
                return;
            }
            if chunk_len.is_none() {
                chunk_len = Some(len);
                blob = vec![0u8; shard_len * k];
            }
            blob[i * shard_len..(i + 1) * shard_len].copy_from_slice(&rec[HEADER_LEN..]);
            filled[i] = true;
        });
    }
    if !filled.iter().all(|&f| f) {
        return None;
    }
    blob.truncate(chunk_len?);
    (Digest::of(&blob) == *chunk).then_some(blob)
}

/// The chunk from every shard that passes its checksum, decoding as needed;
/// an error that names what is missing and where when too few survive.
pub(super) fn slow_path(
    store: &NativeStore,
    layout: &Layout,
    chunk: &Digest,
    locator: &Locator,
) -> Result<Vec<u8>, StoreError> {
    let g = gather(store, layout.all_disks(), chunk);
    if g.valid() == 0 && g.corrupt.is_empty() {
        return Err(StoreError::NotFound {
            locator: locator.clone(),
        });
    }
    if let Some(len) = g.chunk_len
        && g.valid() >= store.codec.k()
    {
        let blob = store
            .codec
            .decode(len, &g.slots)
            .map_err(|e| StoreError::Corrupt {
                locator: locator.clone(),
                why: e.to_string(),
            })?;
        if Digest::of(&blob) == *chunk {
            if !g.corrupt.is_empty() || g.valid() < store.codec.n() {
                tracing::warn!(%chunk, "read degraded chunk; run scrub --repair");
            }
            return Ok(blob);
        }
        return Err(StoreError::Corrupt {
            locator: locator.clone(),
            why: "decoded bytes do not match the chunk's BLAKE3".into(),
        });
    }
    Err(unrecoverable(store, layout, chunk, &g))
}

/// The error for a chunk with fewer than `k` good shards.
pub(super) fn unrecoverable(
    store: &NativeStore,
    layout: &Layout,
    chunk: &Digest,
    g: &Gathered,
) -> StoreError {
    let targets = layout.placement(chunk, store.codec.n());
    let holds = |d: &Disk| g.holder.iter().flatten().any(|id| *id == d.id);
    let is_corrupt = |d: &Disk| g.corrupt.iter().any(|(c, _)| c.id == d.id);
    let missing = targets
        .iter()
        .filter(|d| !holds(d) && !is_corrupt(d))
        .map(|d| {
            let state = if d.is_online() {
                "no shard"
            } else {
                "disk offline"
            };
            format!("{} [{state}]", d.describe())
        })
        .collect();
    let corrupt = g
        .corrupt
        .iter()
        .map(|(d, why)| format!("{} [{why}]", d.describe()))
        .collect();
    StoreError::Unrecoverable {
        chunk: chunk.to_hex(),
        found: g.valid(),
        needed: store.codec.k(),
        missing,
        corrupt,
    }
}

/// What a put must write: the shard indices no placed disk holds validly,
/// each paired with a placed disk that lacks a valid shard (absent,
/// unreadable, invalid or a duplicate index: overwritten).
pub(super) struct PutPlan<'a> {
    /// Distinct valid shards already in place.
    pub valid: usize,
    /// (shard index, disk) to write.
    pub writes: Vec<(usize, &'a Disk)>,
    /// Missing indices with no disk to go to.
    pub unplaced: Vec<usize>,
}

/// Plans a put of `chunk` from the headers of the shards already placed.
pub(super) fn plan_put<'a>(store: &NativeStore, layout: &'a Layout, chunk: &Digest) -> PutPlan<'a> {
    let n = store.codec.n();
    let mut have = vec![false; n];
    let mut free = Vec::new();
    for disk in layout.placement(chunk, n) {
        if !disk.is_online() {
            // Wiped or unmounted: what it held does not count (the write
            // to it fails and says so).
            free.push(disk);
            continue;
        }
        match disk.read_header(chunk) {
            Ok(Some(Ok(h)))
                if check_header(store.codec, chunk, &h).is_ok() && !have[h.index as usize] =>
            {
                have[h.index as usize] = true
            }
            _ => free.push(disk),
        }
    }
    let missing: Vec<usize> = (0..n).filter(|&i| !have[i]).collect();
    let placed = missing.len().min(free.len());
    PutPlan {
        valid: n - missing.len(),
        writes: missing.iter().copied().zip(free).collect(),
        unplaced: missing[placed..].to_vec(),
    }
}
