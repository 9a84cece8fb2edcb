//! Which disks make up the store, and where each chunk's shards go.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::disk::{Disk, MARKER_VERSION, Marker, Member};
use crate::chunk::Digest;
use crate::store::StoreError;

/// The store's disks: members receive shards; retiring disks are being
/// drained and are only read from.
#[derive(Debug)]
pub struct Layout {
    /// The store's id (all markers agree).
    pub store_id: String,
    /// Bumped on every membership change.
    pub generation: u64,
    /// Disks that receive shards, in creation order.
    pub members: Vec<Disk>,
    /// Disks being emptied by `remove_disk`.
    pub retiring: Vec<Disk>,
    /// Data shards.
    pub k: usize,
    /// Parity shards.
    pub m: usize,
}

impl Layout {
    /// A new layout on blank `paths`; writes every marker.
    pub fn create(paths: &[PathBuf], k: usize, m: usize) -> Result<Self, StoreError> {
        if paths.len() < k + m {
            return Err(StoreError::Config(format!(
                "a {k}+{m} store needs at least {} disks, {} given",
                k + m,
                paths.len()
            )));
        }
        let unique: BTreeSet<&PathBuf> = paths.iter().collect();
        if unique.len() != paths.len() {
            return Err(StoreError::Config(
                "the same disk directory is given twice".into(),
            ));
        }
        for p in paths {
            if Disk::read_marker(p)?.is_some() {
                return Err(StoreError::Config(format!(
                    "{} already belongs to a store; open it instead of creating one",
                    p.display()
                )));
            }
        }
        let members = paths
            .iter()
            .enumerate()
            .map(|(i, p)| Disk::new(format!("d{i}"), p.clone()))
            .collect();
        let layout = Layout {
            store_id: format!("{:032x}", rand::random::<u128>()),
            generation: 1,
            members,
            retiring: Vec::new(),
            k,
            m,
        };
        for d in &layout.members {
            d.write_marker(&layout.marker_for(d))?;
        }
        Ok(layout)
    }

    /// The layout recorded on `paths`: the newest generation among their
    /// markers. Returns it with `k` and `m`.
    pub fn open(paths: &[PathBuf]) -> Result<(Self, usize, usize), StoreError> {
        let mut found: Vec<(PathBuf, Marker)> = Vec::new();
        let mut blank: Vec<PathBuf> = Vec::new();
        for p in paths {
            match Disk::read_marker(p)? {
                Some(m) => found.push((p.clone(), m)),
                None => blank.push(p.clone()),
            }
        }
        let newest = found
            .iter()
            .map(|(_, m)| m)
            .max_by_key(|m| m.generation)
            .cloned()
            .ok_or_else(|| {
                StoreError::Config(format!(
                    "no docgrid store on {}: none has a {} marker; create one first",
                    paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    super::MARKER
                ))
            })?;
        if let Some((p, m)) = found.iter().find(|(_, m)| m.store_id != newest.store_id) {
            return Err(StoreError::Config(format!(
                "{} belongs to store {}, the others to {}",
                p.display(),
                m.store_id,
                newest.store_id
            )));
        }
        let members: Vec<Disk> = newest
            .members
            .iter()
            .map(|mem| {
                let path = found
                    .iter()
                    .find(|(_, m)| m.disk_id == mem.id)
                    .map_or(mem.path.clone(), |(p, _)| p.clone());
                Disk::new(mem.id.clone(), path)
            })
            .collect();
        for b in &blank {
            if !members.iter().any(|d| &d.path == b) {
                return Err(StoreError::Config(format!(
                    "{} has no marker and is not a disk of this store; add it with add-disk",
                    b.display()
                )));
            }
        }
        let retiring = found
            .iter()
            .filter(|(_, m)| !members.iter().any(|d| d.id == m.disk_id))
            .map(|(p, m)| Disk::new(m.disk_id.clone(), p.clone()))
            .collect();
        let layout = Layout {
            store_id: newest.store_id.clone(),
            generation: newest.generation,
            members,
            retiring,
            k: newest.k,
            m: newest.m,
        };
        Ok((layout, newest.k, newest.m))
    }

    /// The marker `disk` should carry.
    pub fn marker_for(&self, disk: &Disk) -> Marker {
        Marker {
            version: MARKER_VERSION,
            store_id: self.store_id.clone(),
            disk_id: disk.id.clone(),
            k: self.k,
            m: self.m,
            generation: self.generation,
            members: self
                .members
                .iter()
                .map(|d| Member {
                    id: d.id.clone(),
                    path: d.path.clone(),
                })
                .collect(),
        }
    }

    /// Rewrites the markers of every online member. Fails only if none could be written.
    pub fn write_markers(&self) -> Result<Vec<String>, StoreError> {
        let mut failures = Vec::new();
        for d in self.members.iter().filter(|d| d.is_online()) {
            if let Err(e) = d.write_marker(&self.marker_for(d)) {
                failures.push(e.to_string());
            }
        }
        Ok(failures)
    }

    /// The `n` members that hold `chunk`'s shards, best first: shard `i`
    /// goes to the `i`-th when first written.
    pub fn placement(&self, chunk: &Digest, n: usize) -> Vec<&Disk> {
        let mut scored: Vec<(u64, &Disk)> = self
            .members
            .iter()
            .map(|d| (score(chunk, &d.id), d))
            .collect();
        scored.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        scored.into_iter().take(n).map(|(_, d)| d).collect()
    }

    /// Members, then retiring disks.
    pub fn all_disks(&self) -> impl Iterator<Item = &Disk> {
        self.members.iter().chain(&self.retiring)
    }

    /// Every chunk any online disk holds a shard of, sorted.
    pub fn all_chunks(&self) -> Result<Vec<Digest>, StoreError> {
        Ok(self.shard_counts()?.into_keys().collect())
    }

    /// Every chunk with at least `min` shard files on online disks.
    pub fn chunks_with(&self, min: usize) -> Result<Vec<Digest>, StoreError> {
        let counts = self.shard_counts()?;
        Ok(counts
            .into_iter()
            .filter(|&(_, n)| n >= min)
            .map(|(c, _)| c)
            .collect())
    }

    fn shard_counts(&self) -> Result<BTreeMap<Digest, usize>, StoreError> {
        let mut all = BTreeMap::new();
        for d in self.all_disks().filter(|d| d.is_online()) {
            for c in d
                .list_shards()
                .map_err(|e| StoreError::io("listing shards", &d.path, e))?
            {
                *all.entry(c).or_insert(0) += 1;
            }
        }
        Ok(all)
    }
}

/// The rendezvous score of `disk` for `chunk`.
fn score(chunk: &Digest, disk: &str) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(&chunk.0);
    h.update(disk.as_bytes());
    u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"))
}
