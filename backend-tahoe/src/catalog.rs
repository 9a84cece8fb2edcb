//! The store's own list of the blobs it holds.
//!
//! Tahoe cannot enumerate a grid's files, so [`BlobStore::list`]
//! (docgrid_core::store::BlobStore::list) answers from this catalog: an
//! append-only file of `+LOCATOR` and `-LOCATOR` lines in the store's state
//! directory, synced once per batch, compacted when it opens with more
//! dead lines than live ones. Without a state directory it lives in memory.
//!
//! A locator is a whole Tahoe file (`URI:CHK:…`, `URI:LIT:…`: the
//! per-chunk layout of earlier builds, still read) or a chunk in a pack
//! (`pk:…`, see `pack.rs`). For packs the catalog also knows, in memory,
//! which chunk hashes are held (a second put of known bytes returns the
//! first locator) and how many live chunks each pack still has: a pack is
//! released when its last live chunk goes.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use docgrid_core::chunk::Digest;
use docgrid_core::store::{Locator, StoreError};

use crate::pack::PackLoc;

/// The file's name inside the state directory.
pub const CATALOG_FILE: &str = "tahoe-catalog";

pub struct Catalog {
    inner: Mutex<Inner>,
}

/// What the packs hold, for GC's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackUsage {
    /// Packs with at least one live chunk.
    pub packs: u64,
    /// Their sizes (CHK caps state it; tiny LIT packs count 0).
    pub pack_bytes: u64,
    /// Bytes of their live chunks.
    pub live_bytes: u64,
}

#[derive(Default)]
struct Inner {
    live: HashSet<String>,
    /// Live pack chunks by hash: their locator.
    chunks: HashMap<Digest, String>,
    /// Per pack cap: live chunks and their bytes.
    packs: HashMap<String, (u64, u64)>,
    file: Option<(PathBuf, File)>,
}

impl Catalog {
    /// Opens (or creates) the catalog in `dir`, or an in-memory one.
    pub fn open(dir: Option<&Path>) -> Result<Catalog, StoreError> {
        let Some(dir) = dir else {
            return Ok(Catalog {
                inner: Mutex::new(Inner::default()),
            });
        };
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io("creating", dir, e))?;
        let path = dir.join(CATALOG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(StoreError::io("reading", &path, e)),
        };
        let mut inner = Inner::default();
        // A crash mid-append leaves a last line without its newline: drop
        // it (its put had not returned) and rewrite the file without it.
        let torn = !text.is_empty() && !text.ends_with('\n');
        let mut lines = 0usize;
        for line in text.split_terminator('\n').take(text.matches('\n').count()) {
            lines += 1;
            if let Some(loc) = line.strip_prefix('+') {
                inner.insert(loc);
            } else if let Some(loc) = line.strip_prefix('-') {
                inner.forget(loc);
            }
        }
        if torn || lines > 2 * inner.live.len() + 1024 {
            compact(&path, &inner.live)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| StoreError::io("opening", &path, e))?;
        inner.file = Some((path, file));
        Ok(Catalog {
            inner: Mutex::new(inner),
        })
    }

    /// Records `locs` as held (those already held are skipped), durably.
    pub fn add(&self, locs: &[String]) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().expect("catalog poisoned");
        let mut text = String::new();
        for loc in locs {
            if inner.insert(loc) {
                text.push('+');
                text.push_str(loc);
                text.push('\n');
            }
        }
        inner.append(&text)
    }

    /// Records freshly uploaded pack chunks, durably, and returns the
    /// locator each chunk is held at: its own, or the one the catalog
    /// already held for the same bytes (a put that raced this one), so
    /// equal bytes keep one locator.
    pub fn add_packed(&self, locs: &[PackLoc]) -> Result<Vec<Locator>, StoreError> {
        let mut inner = self.inner.lock().expect("catalog poisoned");
        let mut text = String::new();
        let mut out = Vec::with_capacity(locs.len());
        for p in locs {
            if let Some(held) = inner.chunks.get(&p.hash) {
                out.push(Locator::new(held.clone()));
                continue;
            }
            let loc = p.to_locator();
            if inner.insert(loc.as_str()) {
                text.push('+');
                text.push_str(loc.as_str());
                text.push('\n');
            }
            out.push(loc);
        }
        inner.append(&text)?;
        Ok(out)
    }

    /// Records `loc` as released. Returns the pack it released with it,
    /// if it was that pack's last live chunk.
    pub fn remove(&self, loc: &str) -> Result<Option<String>, StoreError> {
        let mut inner = self.inner.lock().expect("catalog poisoned");
        if !inner.live.contains(loc) {
            return Ok(None);
        }
        inner.append(&format!("-{loc}\n"))?;
        Ok(inner.forget(loc))
    }

    /// Every locator held.
    pub fn list(&self) -> Vec<String> {
        let inner = self.inner.lock().expect("catalog poisoned");
        inner.live.iter().cloned().collect()
    }

    /// The locator of a held pack chunk with this hash.
    pub fn known(&self, hash: &Digest) -> Option<Locator> {
        let inner = self.inner.lock().expect("catalog poisoned");
        inner.chunks.get(hash).map(|l| Locator::new(l.clone()))
    }

    /// Whether `pack` still has a live chunk.
    #[cfg(test)]
    pub fn pack_is_live(&self, pack: &str) -> bool {
        let inner = self.inner.lock().expect("catalog poisoned");
        inner.packs.contains_key(pack)
    }

    /// What the live packs hold.
    pub fn usage(&self) -> PackUsage {
        let inner = self.inner.lock().expect("catalog poisoned");
        let mut u = PackUsage::default();
        for (cap, (_, live_bytes)) in &inner.packs {
            u.packs += 1;
            u.pack_bytes += cap_size(cap);
            u.live_bytes += live_bytes;
        }
        u
    }
}

/// The size a CHK cap states (0 for anything else).
pub fn cap_size(cap: &str) -> u64 {
    if !cap.starts_with("URI:CHK:") {
        return 0;
    }
    cap.rsplit(':')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

impl Inner {
    /// Adds a live locator; whether it was new.
    fn insert(&mut self, loc: &str) -> bool {
        if !self.live.insert(loc.to_string()) {
            return false;
        }
        if let Ok(Some(p)) = PackLoc::parse(&Locator::new(loc)) {
            self.chunks.entry(p.hash).or_insert_with(|| loc.to_string());
            let e = self.packs.entry(p.pack).or_default();
            e.0 += 1;
            e.1 += p.len;
        }
        true
    }

    /// Drops a live locator; the pack it released, if any.
    fn forget(&mut self, loc: &str) -> Option<String> {
        if !self.live.remove(loc) {
            return None;
        }
        let Ok(Some(p)) = PackLoc::parse(&Locator::new(loc)) else {
            return None;
        };
        if self.chunks.get(&p.hash).is_some_and(|l| l == loc) {
            self.chunks.remove(&p.hash);
        }
        let e = self.packs.get_mut(&p.pack)?;
        e.0 -= 1;
        e.1 -= p.len;
        if e.0 > 0 {
            return None;
        }
        self.packs.remove(&p.pack);
        Some(p.pack)
    }

    fn append(&mut self, text: &str) -> Result<(), StoreError> {
        let Some((path, file)) = &mut self.file else {
            return Ok(());
        };
        if text.is_empty() {
            return Ok(());
        }
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| StoreError::io("appending to", path, e))
    }
}

/// Rewrites the catalog with only its live caps (temp file, fsync, rename).
fn compact(path: &Path, live: &HashSet<String>) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    let mut text = String::new();
    for cap in live {
        text.push('+');
        text.push_str(cap);
        text.push('\n');
    }
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| StoreError::io("compacting", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_compacts() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(Some(dir.path())).unwrap();
        c.add(&["URI:CHK:a".into(), "URI:CHK:b".into()]).unwrap();
        c.add(&["URI:CHK:a".into()]).unwrap();
        c.remove("URI:CHK:a").unwrap();
        drop(c);
        // A torn last line is ignored.
        let path = dir.path().join(CATALOG_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"+URI:CH").unwrap();
        let c = Catalog::open(Some(dir.path())).unwrap();
        assert_eq!(c.list(), vec!["URI:CHK:b".to_string()]);
        c.add(&["URI:CHK:c".into()]).unwrap();
        c.remove("URI:CHK:c").unwrap();
        for i in 0..3000 {
            let cap = format!("URI:CHK:x{i}");
            c.add(std::slice::from_ref(&cap)).unwrap();
            c.remove(&cap).unwrap();
        }
        drop(c);
        let c = Catalog::open(Some(dir.path())).unwrap();
        assert_eq!(c.list(), vec!["URI:CHK:b".to_string()]);
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines, 1, "reopening compacts the catalog");
    }

    #[test]
    fn a_pack_is_released_with_its_last_live_chunk_and_reopening_keeps_that() {
        let dir = tempfile::tempdir().unwrap();
        let pack = "URI:CHK:k:u:3:5:4000";
        let loc = |h: &[u8], off: u64| {
            PackLoc {
                hash: Digest::of(h),
                offset: off,
                len: 1000,
                pack: pack.into(),
            }
            .to_locator()
            .to_string()
        };
        let (a, b) = (loc(b"a", 0), loc(b"b", 1000));
        let c = Catalog::open(Some(dir.path())).unwrap();
        c.add(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(c.known(&Digest::of(b"a")).unwrap().as_str(), a);
        let u = c.usage();
        assert_eq!((u.packs, u.pack_bytes, u.live_bytes), (1, 4000, 2000));
        assert_eq!(c.remove(&a).unwrap(), None, "b still lives in the pack");
        assert!(c.known(&Digest::of(b"a")).is_none());
        drop(c);
        let c = Catalog::open(Some(dir.path())).unwrap();
        assert!(c.pack_is_live(pack));
        assert_eq!(c.usage().live_bytes, 1000);
        assert_eq!(c.remove(&b).unwrap().as_deref(), Some(pack));
        assert!(!c.pack_is_live(pack));
        assert_eq!(c.usage(), PackUsage::default());
    }
}
