//! The store's own list of the caps it holds.
//!
//! Tahoe cannot enumerate a grid's files, so [`BlobStore::list`]
//! (docgrid_core::store::BlobStore::list) answers from this catalog: an
//! append-only file of `+CAP` and `-CAP` lines in the store's state
//! directory, synced once per batch, compacted when it opens with more
//! dead lines than live ones. Without a state directory it lives in memory.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use docgrid_core::store::StoreError;

/// The file's name inside the state directory.
pub const CATALOG_FILE: &str = "tahoe-catalog";

pub struct Catalog {
    inner: Mutex<Inner>,
}

struct Inner {
    live: HashSet<String>,
    file: Option<(PathBuf, File)>,
}

impl Catalog {
    /// Opens (or creates) the catalog in `dir`, or an in-memory one.
    pub fn open(dir: Option<&Path>) -> Result<Catalog, StoreError> {
        let Some(dir) = dir else {
            return Ok(Catalog {
                inner: Mutex::new(Inner {
                    live: HashSet::new(),
                    file: None,
                }),
            });
        };
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io("creating", dir, e))?;
        let path = dir.join(CATALOG_FILE);
        let mut live = HashSet::new();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(StoreError::io("reading", &path, e)),
        };
        // A crash mid-append leaves a last line without its newline: drop
        // it (its put had not returned) and rewrite the file without it.
        let torn = !text.is_empty() && !text.ends_with('\n');
        let mut lines = 0usize;
        for line in text.split_terminator('\n').take(text.matches('\n').count()) {
            lines += 1;
            if let Some(cap) = line.strip_prefix('+') {
                live.insert(cap.to_string());
            } else if let Some(cap) = line.strip_prefix('-') {
                live.remove(cap);
            }
        }
        if torn || lines > 2 * live.len() + 1024 {
            compact(&path, &live)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| StoreError::io("opening", &path, e))?;
        Ok(Catalog {
            inner: Mutex::new(Inner {
                live,
                file: Some((path, file)),
            }),
        })
    }

    /// Records `caps` as held (those already held are skipped), durably.
    pub fn add(&self, caps: &[String]) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().expect("catalog poisoned");
        let mut text = String::new();
        for cap in caps {
            if inner.live.insert(cap.clone()) {
                text.push('+');
                text.push_str(cap);
                text.push('\n');
            }
        }
        inner.append(&text)
    }

    /// Records `cap` as released.
    pub fn remove(&self, cap: &str) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().expect("catalog poisoned");
        if !inner.live.remove(cap) {
            return Ok(());
        }
        inner.append(&format!("-{cap}\n"))
    }

    /// Every cap held.
    pub fn list(&self) -> Vec<String> {
        let inner = self.inner.lock().expect("catalog poisoned");
        inner.live.iter().cloned().collect()
    }
}

impl Inner {
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
}
