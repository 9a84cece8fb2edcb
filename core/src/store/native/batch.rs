//! Batched puts: write every shard of many chunks, then make them durable
//! together with two filesystem syncs instead of two fsyncs per shard.
//!
//! Order matters for crash safety: temp files are written, the filesystems
//! synced, and only then renamed into place and synced again. So a shard
//! file under `shards/` always holds fully written data; a crash leaves at
//! most unsynced temp files, which scrub removes.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use super::disk::Disk;
use super::{NativeStore, Ordering, read};
use crate::chunk::Digest;
use crate::store::{Locator, StoreError};

/// One shard written to a temp file, waiting to be renamed into place.
struct Staged<'a> {
    disk: &'a Disk,
    tmp: PathBuf,
    dest: PathBuf,
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
                    match disk.write_temp(&[&header, shards[i]], false) {
                        Ok(tmp) => staged.push(Staged {
                            disk,
                            tmp,
                            dest: disk.shard_path(digest),
                            blob: b,
                        }),
                        Err(e) => failures[b].push(format!("{}: {e}", disk.describe())),
                    }
                }
            });
        }
        let touched: Vec<&Disk> = staged.iter().map(|s| s.disk).collect();
        let bad_sync = sync_filesystems(&touched);
        for s in staged {
            let synced = !bad_sync.contains_key(&s.disk.id);
            match synced.then(|| s.disk.commit_temp(&s.tmp, &s.dest, false)) {
                Some(Ok(())) => written[s.blob] += 1,
                Some(Err(e)) => failures[s.blob].push(format!("{}: {e}", s.disk.describe())),
                None => {
                    let _ = std::fs::remove_file(&s.tmp);
                    failures[s.blob].push(bad_sync[&s.disk.id].clone());
                }
            }
        }
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
