//! One disk directory of the native store: its marker, shard files, temp
//! files and atomic writes.
//!
//! ```text
//! DISK/docgrid-disk.json   marker: store id, this disk's id, k, m, members
//! DISK/packs/              shards, appended to pack files (see [`super::pack`])
//! DISK/tmp/                writes in progress
//! DISK/root                this disk's copy of the root pointer
//! DISK/root.lock           lock file for root compare-and-swap
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::pack::Packs;
use super::shard::{HEADER_LEN, ShardHeader};
use crate::chunk::Digest;
use crate::store::StoreError;
use std::sync::Arc;

/// The marker file that makes a directory a disk of a store.
pub const MARKER: &str = "docgrid-disk.json";
/// Version of the marker format.
pub const MARKER_VERSION: u32 = 1;

/// One member of the store, as every marker records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The disk's id (stable; placement hashes it).
    pub id: String,
    /// Where the disk was when the layout was last written.
    pub path: PathBuf,
}

/// The content of a disk's marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// Format version, [`MARKER_VERSION`].
    pub version: u32,
    /// The store this disk belongs to.
    pub store_id: String,
    /// This disk's id.
    pub disk_id: String,
    /// Data shards per chunk.
    pub k: usize,
    /// Parity shards per chunk.
    pub m: usize,
    /// Layout generation: bumped when disks are added or removed; the
    /// highest generation among the markers is the layout.
    pub generation: u64,
    /// Every disk of the store.
    pub members: Vec<Member>,
}

/// A disk directory of the store.
#[derive(Debug, Clone)]
pub struct Disk {
    /// Its id.
    pub id: String,
    /// Its directory.
    pub path: PathBuf,
    /// Its shards (shared by clones).
    packs: Arc<Packs>,
}

impl PartialEq for Disk {
    fn eq(&self, other: &Disk) -> bool {
        self.id == other.id && self.path == other.path
    }
}

impl Eq for Disk {}

/// Whether a record's first bytes are zeros: a punched hole, not a shard.
fn is_hole(bytes: &[u8]) -> bool {
    bytes.len() < 4 || bytes[..4] == [0; 4]
}

impl Disk {
    /// The disk `id` at `path`.
    pub fn new(id: impl Into<String>, path: impl Into<PathBuf>) -> Disk {
        let path = path.into();
        Disk {
            id: id.into(),
            packs: Arc::new(Packs::new(&path)),
            path,
        }
    }

    /// "d3 (/data/disks/3)", for messages.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.id, self.path.display())
    }

    /// Whether the disk is usable: its marker is present. A wiped or
    /// unmounted disk has none, and nothing is written to it until `scrub
    /// --repair` formats it again.
    pub fn is_online(&self) -> bool {
        self.path.join(MARKER).is_file()
    }

    /// Reads the marker, `None` if there is none.
    pub fn read_marker(path: &Path) -> Result<Option<Marker>, StoreError> {
        let file = path.join(MARKER);
        let bytes = match fs::read(&file) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("reading disk marker", &file, e)),
        };
        let marker: Marker = serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::Config(format!(
                "{} is not a valid disk marker: {e}",
                file.display()
            ))
        })?;
        if marker.version != MARKER_VERSION {
            return Err(StoreError::Config(format!(
                "{} has marker version {}, this build reads {MARKER_VERSION}",
                file.display(),
                marker.version
            )));
        }
        Ok(Some(marker))
    }

    /// Writes the marker atomically, creating the directory if needed. A
    /// disk formatted again (it had no marker: wiped) forgets the shards it
    /// knew.
    pub fn write_marker(&self, marker: &Marker) -> Result<(), StoreError> {
        if !self.is_online() {
            self.packs.reset();
        }
        for dir in [self.path.clone(), self.tmp_dir()] {
            fs::create_dir_all(&dir).map_err(|e| StoreError::io("creating directory", &dir, e))?;
        }
        let bytes = serde_json::to_vec_pretty(marker).expect("marker serializes");
        self.write_atomic(&self.path.join(MARKER), &[&bytes])
            .map_err(|e| StoreError::io("writing disk marker", &self.path.join(MARKER), e))
    }

    /// The directory of writes in progress.
    pub fn tmp_dir(&self) -> PathBuf {
        self.path.join("tmp")
    }

    /// Writes `parts` to `dest` atomically: a temp file in `tmp/`, fsync,
    /// rename over `dest`, fsync of `dest`'s directory. After a crash,
    /// `dest` holds either its old content or all of the new.
    pub fn write_atomic(&self, dest: &Path, parts: &[&[u8]]) -> io::Result<()> {
        let tmp = self.write_temp(parts)?;
        self.commit_temp(&tmp, dest)
    }

    /// Writes `parts` to a new temp file in `tmp/`, fsynced, and returns
    /// its path. Refuses (NotFound) when the disk has lost its marker:
    /// nothing is written to a wiped or unmounted disk.
    fn write_temp(&self, parts: &[&[u8]]) -> io::Result<PathBuf> {
        let tmp_dir = self.tmp_dir();
        let tmp = tmp_dir.join(format!(
            "{}-{:016x}.tmp",
            std::process::id(),
            rand::random::<u64>()
        ));
        let mut file = match File::create(&tmp) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.is_online() => {
                fs::create_dir_all(&tmp_dir)?;
                File::create(&tmp)?
            }
            Err(e) => return Err(e),
        };
        let written = (|| {
            for p in parts {
                file.write_all(p)?;
            }
            file.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(tmp)
    }

    /// Renames a temp file from [`Disk::write_temp`] over `dest`, creating
    /// `dest`'s directory if needed, and fsyncs that directory.
    fn commit_temp(&self, tmp: &Path, dest: &Path) -> io::Result<()> {
        let parent = dest.parent().expect("destinations are inside the disk");
        if let Err(e) = rename_creating_parent(tmp, dest, parent) {
            let _ = fs::remove_file(tmp);
            return Err(e);
        }
        File::open(parent)?.sync_all()
    }

    /// Flushes everything written to the filesystem holding this disk
    /// (`syncfs(2)`): one call instead of an fsync per file for a batch.
    pub fn sync_filesystem(&self) -> io::Result<()> {
        let dir = File::open(&self.path)?;
        rustix::fs::syncfs(&dir).map_err(io::Error::from)
    }

    /// The filesystem (device id) the disk lives on.
    pub fn device(&self) -> io::Result<u64> {
        use std::os::unix::fs::MetadataExt;
        Ok(fs::metadata(&self.path)?.dev())
    }

    /// Writes this disk's shard of `chunk` durably (replacing any).
    pub fn write_shard(&self, chunk: &Digest, parts: &[&[u8]]) -> io::Result<()> {
        self.packs.write(chunk, parts)
    }

    /// The shard store of this disk (appends, publishes).
    pub fn packs(&self) -> &Packs {
        &self.packs
    }

    /// Whether this disk has a shard of `chunk` (indexed; not checked).
    pub fn has_shard(&self, chunk: &Digest) -> bool {
        self.packs.locate(chunk).is_ok_and(|l| l.is_some())
    }

    /// Where this disk's shard of `chunk` can be read with `O_DIRECT`
    /// (see [`Packs::locate_direct`]).
    pub fn locate_direct(&self, chunk: &Digest) -> io::Result<Option<super::pack::DirectRecord>> {
        self.packs.locate_direct(chunk)
    }

    /// Reads this disk's whole shard of `chunk`; `Ok(None)` if absent (a
    /// record punched to zeros counts as absent).
    pub fn read_shard(&self, chunk: &Digest) -> io::Result<Option<Vec<u8>>> {
        Ok(self.packs.read(chunk)?.filter(|b| !is_hole(b)))
    }

    /// Runs `f` on this disk's whole shard of `chunk` (header and
    /// payload); `Ok(None)` if absent.
    pub fn with_shard<R>(
        &self,
        chunk: &Digest,
        f: impl FnOnce(&[u8]) -> R,
    ) -> io::Result<Option<R>> {
        let mut f = Some(f);
        let r = self.packs.with_record(chunk, |rec| {
            (!is_hole(rec)).then(|| f.take().expect("once")(rec))
        })?;
        Ok(r.flatten())
    }

    /// Reads only the header of this disk's shard of `chunk`: `Ok(None)` if
    /// absent, `Some(Err(why))` if unreadable as a header.
    pub fn read_header(&self, chunk: &Digest) -> io::Result<Option<Result<ShardHeader, String>>> {
        let mut h = [0u8; HEADER_LEN];
        match self.packs.read_into(chunk, 0, &mut h)? {
            false => match self.packs.locate(chunk)? {
                Some(_) => Ok(Some(Err("truncated header".into()))),
                None => Ok(None),
            },
            true if is_hole(&h) => Ok(None),
            true => Ok(Some(ShardHeader::decode(&h))),
        }
    }

    /// Removes this disk's shard of `chunk` durably (absent is fine, and
    /// so is an offline disk: there is nothing on it to remove).
    pub fn remove_shard(&self, chunk: &Digest) -> io::Result<()> {
        match self.packs.remove(chunk) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && !self.is_online() => Ok(()),
            other => other,
        }
    }

    /// Takes the exclusive store lock of this disk (`store.lock`): one
    /// process at a time uses a native store. The lock lasts as long as the
    /// returned file is open.
    pub fn lock_store(&self) -> Result<File, StoreError> {
        let path = self.path.join("store.lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io("opening store lock", &path, e))?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Config(format!(
                "{} is in use by another process (lock {}); stop it, or go through its API",
                self.describe(),
                path.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io("locking store", &path, e)),
        }
    }

    /// Every chunk this disk holds a shard of.
    pub fn list_shards(&self) -> io::Result<Vec<Digest>> {
        self.packs.list()
    }

    /// Temp files older than `grace`: leftovers of interrupted writes.
    pub fn stale_temp_files(&self, grace: Duration) -> io::Result<Vec<PathBuf>> {
        let entries = match fs::read_dir(self.tmp_dir()) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let now = SystemTime::now();
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry?;
            let age = entry
                .metadata()?
                .modified()
                .ok()
                .and_then(|t| now.duration_since(t).ok());
            if age.unwrap_or(Duration::MAX) >= grace {
                out.push(entry.path());
            }
        }
        Ok(out)
    }

    /// Opens (creating) the root lock file and takes an exclusive lock.
    pub fn lock_root(&self) -> io::Result<File> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path.join("root.lock"))?;
        f.lock()?;
        Ok(f)
    }
}

/// `rename(tmp, dest)`, creating `dest`'s directory (and syncing its parent)
/// when it does not exist yet.
fn rename_creating_parent(tmp: &Path, dest: &Path, parent: &Path) -> io::Result<()> {
    match fs::rename(tmp, dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound && !parent.exists() => {
            fs::create_dir_all(parent)?;
            if let Some(grand) = parent.parent() {
                File::open(grand)?.sync_all()?;
            }
            fs::rename(tmp, dest)
        }
        other => other,
    }
}
