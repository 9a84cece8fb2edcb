//! Batched puts: append every shard of many chunks to the disks' packs,
//! then make them durable together with two filesystem syncs instead of
//! two fsyncs per shard.
//!
//! Order matters for crash safety: the records are appended, the
//! filesystems synced, and only then indexed (published) and synced again.
//! So an indexed shard always holds fully written data; a crash leaves at
//! most unindexed bytes at a pack's end, which the next open drops.

use std::collections::{BTreeMap, HashSet};

use super::disk::Disk;
use super::pack::Loc;
use super::{NativeStore, Ordering, read};
use crate::chunk::Digest;
use crate::store::{Locator, StoreError};

/// One shard appended to a pack, waiting to be indexed.
struct Staged<'a> {
    disk: &'a Disk,
    chunk: Digest,
    loc: Loc,
    blob: usize,
}

impl NativeStore {
    pub(super) fn put_many(&self, blobs: &[&[u8]]) -> Result<Vec<Locator>, StoreError> {
        for b in blobs {
            super::check_blob_len(b)?;
        }
        let layout = self.layout.read().expect("poisoned");
        let n = self.codec.n();
        let digests: Vec<Digest> = blobs.iter().map(|b| Digest::of(b)).collect();
        // Held until the second sync: nobody sees these chunks half-durable.
        let _chunks = self.lock_chunks(&digests);
        let mut written = vec![0usize; blobs.len()];
        let mut failures: Vec<Vec<String>> = vec![Vec::new(); blobs.len()];
        let mut staged: Vec<Staged<'_>> = Vec::new();
        let mut seen = HashSet::new();
        for (b, (data, digest)) in blobs.iter().zip(&digests).enumerate() {
            if !seen.insert(*digest) {
                written[b] = n; // a repeat within the batch: judged with its first copy
                continue;
            }
            let plan = read::plan_put(self, &layout, digest);
            written[b] = plan.valid;
            failures[b].extend(
                plan.unplaced
                    .iter()
                    .map(|i| format!("shard {i}: no free disk")),
            );
            if plan.writes.is_empty() {
                continue;
            }
            self.codec.encode_with(data, |shards| {
                for &(i, disk) in &plan.writes {
                    if !disk.is_online() {
                        failures[b].push(format!("{} is offline (no marker)", disk.describe()));
                        continue;
                    }
                    let header = self.header_for(digest, data.len(), i, shards[i]).encode();
                    match disk.packs().append(&[&header, shards[i]]) {
                        Ok(loc) => staged.push(Staged {
                            disk,
                            chunk: *digest,
                            loc,
                            blob: b,
                        }),
                        Err(e) => failures[b].push(format!("{}: {e}", disk.describe())),
                    }
                }
            });
        }
        let touched: Vec<&Disk> = staged.iter().map(|s| s.disk).collect();
        let bad_sync = sync_filesystems(&touched);
        publish(staged, &bad_sync, &mut written, &mut failures);
        let bad_sync = sync_filesystems(&touched);
        let needed = self.write_quorum.load(Ordering::Relaxed);
        for (b, digest) in digests.iter().enumerate() {
            if written[b] < needed || !bad_sync.is_empty() {
                let mut f = std::mem::take(&mut failures[b]);
                f.extend(bad_sync.values().cloned());
                return Err(StoreError::NotDurable {
                    chunk: digest.to_hex(),
                    written: written[b],
                    needed,
                    failures: f,
                });
            }
        }
        Ok(digests.iter().map(Locator::for_digest).collect())
    }
}

/// Indexes the staged shards of every disk whose filesystem synced;
/// counts each indexed shard as written for its blob.
fn publish(
    staged: Vec<Staged<'_>>,
    bad_sync: &BTreeMap<String, String>,
    written: &mut [usize],
    failures: &mut [Vec<String>],
) {
    let mut by_disk: BTreeMap<&str, (&Disk, Vec<Staged<'_>>)> = BTreeMap::new();
    for s in staged {
        by_disk
            .entry(&s.disk.id)
            .or_insert((s.disk, Vec::new()))
            .1
            .push(s);
    }
    for (id, (disk, group)) in by_disk {
        let locs: Vec<Loc> = group.iter().map(|s| s.loc).collect();
        if let Some(why) = bad_sync.get(id) {
            for s in &group {
                failures[s.blob].push(why.clone());
            }
            disk.packs().abandon(&locs);
            continue;
        }
        let records: Vec<(Digest, Loc)> = group.iter().map(|s| (s.chunk, s.loc)).collect();
        match disk.packs().publish(&records, false) {
            Ok(()) => group.iter().for_each(|s| written[s.blob] += 1),
            Err(e) => {
                disk.packs().abandon(&locs);
                group
                    .iter()
                    .for_each(|s| failures[s.blob].push(format!("{}: {e}", disk.describe())));
            }
        }
    }
}

/// `syncfs` once per distinct filesystem among `disks`; returns the disks
/// (by id) whose filesystem failed to sync, with why.
fn sync_filesystems(disks: &[&Disk]) -> BTreeMap<String, String> {
    let mut by_dev: BTreeMap<u64, Vec<&Disk>> = BTreeMap::new();
    let mut failed = BTreeMap::new();
    for d in disks {
        match d.device() {
            Ok(dev) => by_dev.entry(dev).or_default().push(d),
            Err(e) => {
                failed.insert(d.id.clone(), format!("{}: {e}", d.describe()));
            }
        }
    }
    for group in by_dev.values() {
        if let Err(e) = group[0].sync_filesystem() {
            for d in group {
                failed.insert(d.id.clone(), format!("{}: sync failed: {e}", d.describe()));
            }
        }
    }
    failed
}
