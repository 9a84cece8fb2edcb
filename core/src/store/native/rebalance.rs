//! Adding and removing disks: move only the shards whose placement changed.

use std::path::Path;

use super::NativeStore;
use super::disk::Disk;
use super::layout::Layout;
use crate::chunk::Digest;
use crate::store::StoreError;

/// What a rebalance did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebalanceReport {
    /// Chunks examined.
    pub chunks: u64,
    /// Shard files examined.
    pub shards: u64,
    /// Shards moved to the disk placement now names.
    pub moved: u64,
    /// Redundant copies removed (an index already held elsewhere).
    pub removed: u64,
    /// Shards that should move but could not (target offline, I/O error).
    pub stuck: Vec<String>,
}

impl NativeStore {
    /// Adds a blank disk directory to the store and moves to it the shards
    /// it now wins. Returns the new disk's id and what moved.
    pub fn add_disk(&self, path: &Path) -> Result<(String, RebalanceReport), StoreError> {
        let id = {
            let mut layout = self.layout.write().expect("poisoned");
            if layout.all_disks().any(|d| d.path == path) || Disk::read_marker(path)?.is_some() {
                return Err(StoreError::Config(format!(
                    "{} is already a disk of a store",
                    path.display()
                )));
            }
            let next = layout
                .all_disks()
                .filter_map(|d| d.id.strip_prefix('d')?.parse::<u64>().ok())
                .max();
            let id = format!("d{}", next.map_or(0, |n| n + 1));
            let disk = Disk {
                id: id.clone(),
                path: path.to_path_buf(),
            };
            layout.generation += 1;
            layout.members.push(disk.clone());
            disk.write_marker(&layout.marker_for(&disk))?;
            layout.write_markers()?;
            id
        };
        Ok((id, self.rebalance()?))
    }

    /// Drains disk `id`: moves its shards to the disks placement now names,
    /// then forgets it (its marker is removed). Refused if fewer than `k + m`
    /// disks would remain.
    pub fn remove_disk(&self, id: &str) -> Result<RebalanceReport, StoreError> {
        {
            let mut layout = self.layout.write().expect("poisoned");
            let pos = layout
                .members
                .iter()
                .position(|d| d.id == id)
                .ok_or_else(|| StoreError::Config(format!("no disk {id} in this store")))?;
            if layout.members.len() <= self.codec.n() {
                return Err(StoreError::Config(format!(
                    "cannot remove {id}: a {}+{} store needs {} disks and has {}",
                    self.codec.k(),
                    self.codec.m(),
                    self.codec.n(),
                    layout.members.len()
                )));
            }
            let disk = layout.members.remove(pos);
            layout.retiring.push(disk);
            layout.generation += 1;
            layout.write_markers()?;
        }
        let report = self.rebalance()?;
        if report.stuck.is_empty() {
            let mut layout = self.layout.write().expect("poisoned");
            if let Some(pos) = layout.retiring.iter().position(|d| d.id == id) {
                let disk = layout.retiring.remove(pos);
                let _ = std::fs::remove_file(disk.path.join(super::MARKER));
            }
        }
        Ok(report)
    }

    /// Moves every shard that is not where placement puts it.
    pub fn rebalance(&self) -> Result<RebalanceReport, StoreError> {
        let layout = self.layout.read().expect("poisoned");
        let mut report = RebalanceReport::default();
        for chunk in layout.all_chunks()? {
            report.chunks += 1;
            self.rebalance_chunk(&layout, &chunk, &mut report);
        }
        Ok(report)
    }

    fn rebalance_chunk(&self, layout: &Layout, chunk: &Digest, report: &mut RebalanceReport) {
        let targets = layout.placement(chunk, self.codec.n());
        let holders: Vec<&Disk> = layout
            .all_disks()
            .filter(|d| d.is_online() && d.shard_path(chunk).is_file())
            .collect();
        report.shards += holders.len() as u64;
        let mut free: Vec<&Disk> = targets
            .iter()
            .copied()
            .filter(|t| !holders.iter().any(|h| h.id == t.id))
            .collect();
        for src in holders
            .iter()
            .filter(|h| !targets.iter().any(|t| t.id == h.id))
        {
            let Some(dst) = free.pop() else {
                // Every target already has a shard: this copy is redundant.
                if src.remove_shard(chunk).is_ok() {
                    report.removed += 1;
                }
                continue;
            };
            match move_shard(src, dst, chunk) {
                Ok(()) => report.moved += 1,
                Err(e) => {
                    free.push(dst);
                    report
                        .stuck
                        .push(format!("chunk {chunk} on {}: {e}", src.describe()));
                }
            }
        }
    }
}

/// Copies the shard file atomically to `dst`, then removes it from `src`.
fn move_shard(src: &Disk, dst: &Disk, chunk: &Digest) -> Result<(), String> {
    if !dst.is_online() {
        return Err(format!("{} is offline", dst.describe()));
    }
    let bytes = src
        .read_shard(chunk)
        .map_err(|e| e.to_string())?
        .ok_or("shard vanished")?;
    dst.write_atomic(&dst.shard_path(chunk), &[&bytes])
        .map_err(|e| e.to_string())?;
    src.remove_shard(chunk).map_err(|e| e.to_string())
}
