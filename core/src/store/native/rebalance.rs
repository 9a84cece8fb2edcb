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
            let disk = Disk::new(id.clone(), path);
            let newest_root = super::root::newest(&layout.members)?;
            layout.generation += 1;
            layout.members.push(disk.clone());
            let written =
                disk.write_marker(&layout.marker_for(&disk))
                    .and_then(|()| match &newest_root {
                        Some(r) => super::root::write(&disk, r)
                            .map_err(|e| StoreError::io("writing root", &disk.path, e)),
                        None => Ok(()),
                    });
            if let Err(e) = written {
                layout.members.pop();
                layout.generation -= 1;
                return Err(e);
            }
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
            let pos = layout.members.iter().position(|d| d.id == id);
            let Some(disk) = layout.all_disks().find(|d| d.id == id) else {
                return Err(StoreError::Config(format!("no disk {id} in this store")));
            };
            if !disk.is_online() {
                return Err(StoreError::Config(format!(
                    "{} is offline: its shards cannot be drained. Bring it back, or run \
                     scrub --repair to rebuild them elsewhere first",
                    disk.describe()
                )));
            }
            // Not a member any more: a drain interrupted earlier, resumed.
            if let Some(pos) = pos {
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
        let _chunk = self.lock_chunks(&[*chunk]);
        let targets = layout.placement(chunk, self.codec.n());
        let is_target = |d: &Disk| targets.iter().any(|t| t.id == d.id);
        // Every online disk's shard of the chunk, with its index when valid.
        let holders: Vec<(&Disk, Option<u8>)> = layout
            .all_disks()
            .filter(|d| d.is_online())
            .filter_map(|d| match d.read_header(chunk) {
                Ok(None) => None,
                Ok(Some(Ok(h))) if super::check_header(self.codec, chunk, &h).is_ok() => {
                    Some((d, Some(h.index)))
                }
                _ => Some((d, None)),
            })
            .collect();
        report.shards += holders.len() as u64;
        let mut on_target: Vec<u8> = holders
            .iter()
            .filter(|(d, _)| is_target(d))
            .filter_map(|(_, i)| *i)
            .collect();
        let mut free: Vec<&Disk> = targets
            .iter()
            .copied()
            .filter(|t| t.is_online() && !holders.iter().any(|(h, _)| h.id == t.id))
            .rev()
            .collect();
        for (src, index) in holders.iter().filter(|(d, _)| !is_target(d)) {
            let Some(index) = index else {
                report.stuck.push(format!(
                    "chunk {chunk} on {}: invalid shard, left for scrub --repair",
                    src.describe()
                ));
                continue;
            };
            if on_target.contains(index) {
                // A placed disk already holds this index: this copy is redundant.
                if src.remove_shard(chunk).is_ok() {
                    report.removed += 1;
                }
                continue;
            }
            let Some(dst) = free.pop() else {
                report.stuck.push(format!(
                    "chunk {chunk} on {}: no free placed disk",
                    src.describe()
                ));
                continue;
            };
            match move_shard(src, dst, chunk) {
                Ok(()) => {
                    report.moved += 1;
                    on_target.push(*index);
                }
                Err(e) => report.stuck.push(format!(
                    "chunk {chunk} from {} to {}: {e}",
                    src.describe(),
                    dst.describe()
                )),
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
    dst.write_shard(chunk, &[&bytes])
        .map_err(|e| e.to_string())?;
    src.remove_shard(chunk).map_err(|e| e.to_string())
}
