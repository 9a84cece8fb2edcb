//! Scrub: find missing and corrupt shards, stale temp files and stale root
//! copies; with `repair`, rebuild and clean them.

use std::path::PathBuf;
use std::time::Duration;

use super::NativeStore;
use super::disk::Disk;
use super::layout::Layout;
use super::read::{Gathered, gather, unrecoverable};
use super::root;
use crate::chunk::Digest;
use crate::store::StoreError;

/// What a scrub does.
#[derive(Debug, Clone)]
pub struct ScrubOptions {
    /// Rebuild missing and corrupt shards, format wiped disks, remove stale
    /// temp files and bring root copies up to date.
    pub repair: bool,
    /// Temp files younger than this may belong to a write in progress and
    /// are left alone.
    pub temp_grace: Duration,
}

impl Default for ScrubOptions {
    fn default() -> Self {
        ScrubOptions {
            repair: false,
            temp_grace: Duration::from_secs(3600),
        }
    }
}

/// One problem with one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardIssue {
    /// The chunk.
    pub chunk: Digest,
    /// The disk ("d3 (/path)").
    pub disk: String,
    /// What is wrong.
    pub detail: String,
}

/// What a scrub found and did.
#[derive(Debug, Clone, Default)]
pub struct ScrubReport {
    /// Chunks examined.
    pub chunks: u64,
    /// Shards that passed every check.
    pub shards_ok: u64,
    /// Shards that should exist and do not.
    pub missing: Vec<ShardIssue>,
    /// Shards that fail their header or payload checksum.
    pub corrupt: Vec<ShardIssue>,
    /// Chunks with fewer than `k` good shards, with the error that says why.
    pub unrecoverable: Vec<String>,
    /// Chunks with fewer than `k` shards while every disk is online: left by
    /// a put interrupted before it was acknowledged; repair removes them.
    pub incomplete: Vec<String>,
    /// Shards rebuilt (and corrupt copies replaced or removed).
    pub repaired: u64,
    /// Disks without their marker (wiped or unmounted).
    pub offline_disks: Vec<String>,
    /// Disks formatted again by this repair.
    pub formatted_disks: Vec<String>,
    /// Temp files left by interrupted writes.
    pub stale_temp_files: Vec<PathBuf>,
    /// Of those, removed by this repair.
    pub removed_temp_files: u64,
    /// Disks whose root copy is missing or older than the newest.
    pub stale_root_copies: Vec<String>,
}

impl ScrubReport {
    /// Nothing wrong was found.
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty()
            && self.corrupt.is_empty()
            && self.unrecoverable.is_empty()
            && self.incomplete.is_empty()
            && self.offline_disks.is_empty()
            && self.stale_temp_files.is_empty()
            && self.stale_root_copies.is_empty()
    }
}

impl NativeStore {
    /// Checks every shard of every chunk; with `opts.repair`, fixes what can
    /// be fixed. A second scrub after a successful repair is clean.
    pub fn scrub(&self, opts: &ScrubOptions) -> Result<ScrubReport, StoreError> {
        let layout = self.layout.read().expect("poisoned");
        let mut report = ScrubReport::default();
        check_disks(&layout, opts, &mut report)?;
        for disk in layout.all_disks().filter(|d| d.is_online()) {
            let stale = disk
                .stale_temp_files(opts.temp_grace)
                .map_err(|e| StoreError::io("listing temp files", &disk.tmp_dir(), e))?;
            for f in stale {
                if opts.repair && std::fs::remove_file(&f).is_ok() {
                    report.removed_temp_files += 1;
                }
                report.stale_temp_files.push(f);
            }
        }
        for chunk in layout.all_chunks()? {
            report.chunks += 1;
            let _chunk = self.lock_chunks(&[chunk]);
            let g = gather(self, layout.all_disks(), &chunk);
            self.scrub_chunk(&layout, &chunk, &g, opts, &mut report);
        }
        self.with_root_locked(&layout, |online| {
            check_root(&layout, online, opts, &mut report)
        })?;
        Ok(report)
    }

    fn scrub_chunk(
        &self,
        layout: &Layout,
        chunk: &Digest,
        g: &Gathered,
        opts: &ScrubOptions,
        report: &mut ScrubReport,
    ) {
        report.shards_ok += g.valid() as u64;
        let targets = layout.placement(chunk, self.codec.n());
        let missing_idx: Vec<usize> = (0..self.codec.n())
            .filter(|&i| g.slots[i].is_none())
            .collect();
        // Target disks that hold no good shard of this chunk: where the missing ones go.
        let free: Vec<&Disk> = targets
            .iter()
            .copied()
            .filter(|d| d.is_online() && !g.holder.iter().flatten().any(|id| *id == d.id))
            .collect();
        for (d, why) in &g.corrupt {
            report.corrupt.push(ShardIssue {
                chunk: *chunk,
                disk: d.describe(),
                detail: why.clone(),
            });
        }
        for (i, &idx) in missing_idx.iter().enumerate() {
            let disk = free
                .get(i)
                .map_or_else(|| "no disk".to_string(), |d| d.describe());
            report.missing.push(ShardIssue {
                chunk: *chunk,
                disk,
                detail: format!("shard {idx} missing"),
            });
        }
        if missing_idx.is_empty() && g.corrupt.is_empty() {
            return;
        }
        let Some(len) = g.chunk_len.filter(|_| g.valid() >= self.codec.k()) else {
            self.below_k(layout, chunk, g, opts, report);
            return;
        };
        if !opts.repair {
            return;
        }
        let blob = match self.codec.decode(len, &g.slots) {
            Ok(b) if Digest::of(&b) == *chunk => b,
            Ok(_) => {
                report
                    .unrecoverable
                    .push(format!("chunk {chunk}: shards decode to other bytes"));
                return;
            }
            Err(e) => {
                report.unrecoverable.push(format!("chunk {chunk}: {e}"));
                return;
            }
        };
        let shards = self.codec.encode(&blob);
        for (&idx, disk) in missing_idx.iter().zip(&free) {
            match self.write_shard(disk, chunk, len, idx, &shards[idx]) {
                Ok(()) => report.repaired += 1,
                Err(e) => tracing::warn!(%chunk, "repair of shard {idx} failed: {e}"),
            }
        }
        // Corrupt copies not overwritten above are removed.
        for (d, _) in &g.corrupt {
            if !free.iter().any(|f| f.id == d.id) && d.remove_shard(chunk).is_ok() {
                report.repaired += 1;
            }
        }
    }
}

impl NativeStore {
    /// A chunk with fewer than `k` good shards. With every disk online and
    /// no corrupt shard, it is what a put interrupted before `k` shards
    /// landed leaves (never acknowledged: the quorum is above `k`), and
    /// repair removes it; otherwise it is unrecoverable and kept.
    fn below_k(
        &self,
        layout: &Layout,
        chunk: &Digest,
        g: &Gathered,
        opts: &ScrubOptions,
        report: &mut ScrubReport,
    ) {
        // A disk found offline (or wiped) by this scrub may have held the rest.
        if !g.offline.is_empty() || !g.corrupt.is_empty() || !report.offline_disks.is_empty() {
            report
                .unrecoverable
                .push(unrecoverable(self, layout, chunk, g).to_string());
            return;
        }
        report.incomplete.push(format!(
            "chunk {chunk}: {} of {} shards, every disk online: left by an interrupted write",
            g.valid(),
            self.codec.n()
        ));
        if opts.repair {
            for d in layout.all_disks() {
                if d.remove_shard(chunk).is_ok() {
                    report.repaired += u64::from(g.holder.iter().flatten().any(|id| *id == d.id));
                }
            }
        }
    }
}

/// Reports offline disks; with repair, formats wiped ones and rewrites old markers.
fn check_disks(
    layout: &Layout,
    opts: &ScrubOptions,
    report: &mut ScrubReport,
) -> Result<(), StoreError> {
    for d in &layout.members {
        let marker = if d.is_online() {
            Disk::read_marker(&d.path)?
        } else {
            None
        };
        match marker {
            None => {
                report.offline_disks.push(d.describe());
                if opts.repair {
                    d.write_marker(&layout.marker_for(d))?;
                    report.formatted_disks.push(d.describe());
                }
            }
            Some(m) if m.generation < layout.generation && opts.repair => {
                d.write_marker(&layout.marker_for(d))?;
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Reports root copies older than the newest; with repair, rewrites them.
fn check_root(
    layout: &Layout,
    online: &[&Disk],
    opts: &ScrubOptions,
    report: &mut ScrubReport,
) -> Result<(), StoreError> {
    let Some(newest) = root::newest(&layout.members)? else {
        return Ok(());
    };
    for d in online {
        let copy = root::read(d).unwrap_or(None);
        if copy.is_none_or(|r| r.seq < newest.seq) {
            report.stale_root_copies.push(d.describe());
            if opts.repair {
                root::write(d, &newest).map_err(|e| StoreError::io("writing root", &d.path, e))?;
            }
        }
    }
    Ok(())
}
