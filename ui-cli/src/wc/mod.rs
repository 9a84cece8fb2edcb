//! Working copies: a directory of the tree checked out to local files, with
//! its state in `.docgrid/` (`wc.json` and `pristine/HASH` copies, so that
//! `status`, `diff`, `revert`, `cat` and `info` of a file work offline).
//!
//! A checkout of a `/files/` directory is recursive: its subdirectories are
//! directories of the working copy, as in svn. Any other directory of the
//! tree is a query (`/tags/jazz/`), whose subdirectories only refine it and
//! hold documents already listed at its top; its working copy is flat.
//!
//! The write rules are core's (`docgrid_core::tree`): a file added to a
//! checkout of `/tags/jazz` becomes a document tagged jazz; removing it
//! there untags it. State is written atomically (temp + rename) and only
//! after the server committed, so a killed `commit` leaves the working copy
//! as it was and the next `commit` does the work again (chunks already sent
//! are not sent twice).

mod checkout;
mod commit;
mod diff;
mod local;
mod merge;
mod remote;
mod status;
mod update;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use docgrid_core::DocId;
use docgrid_core::api::DocInfo;
use docgrid_core::chunk::Digest;
use docgrid_core::model::{Metadata, RESERVED_KEYS};
use docgrid_core::tree::{Dir, parse_dir};
use serde::{Deserialize, Serialize};

pub use local::Accept;
pub(crate) use remote::Remote;
pub use update::Updated;

/// The state format written now; version 1 (flat, no working-copy
/// revision) is read and upgraded on the next save.
pub const STATE_VERSION: u32 = 2;

/// `.docgrid/wc.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WcState {
    /// Format version.
    pub version: u32,
    /// The tree directory checked out (no trailing `/`).
    pub tree_path: String,
    /// The repository revision the working copy was last brought to
    /// (`checkout`, `update`); 0 when unknown.
    #[serde(default)]
    pub rev: u64,
    /// Files by path relative to the top (`sub/inner.txt`).
    pub entries: BTreeMap<String, Entry>,
    /// Versioned subdirectories by relative path (recursive checkouts).
    #[serde(default)]
    pub dirs: BTreeMap<String, DirEntry>,
}

/// One versioned subdirectory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DirEntry {
    /// Scheduled for addition (`add DIR`).
    #[serde(default)]
    pub added: bool,
    /// Scheduled for deletion (`rm DIR`).
    #[serde(default)]
    pub delete: bool,
}

/// One file of a working copy.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Entry {
    /// The document (`None`: scheduled for addition).
    pub id: Option<DocId>,
    /// The document revision this file is based on.
    pub rev: u64,
    /// BLAKE3 of the pristine content.
    pub hash: Option<Digest>,
    /// Size and mtime (ns) of the file when it matched the pristine copy:
    /// `status` hashes only files whose size or mtime moved.
    pub stat: Option<(u64, i128)>,
    /// The metadata at the base revision (properties, non-reserved).
    pub props: Metadata,
    /// Property changes not committed yet (key → new values; empty: delete).
    #[serde(default)]
    pub prop_changes: BTreeMap<String, Vec<String>>,
    /// Scheduled for deletion.
    #[serde(default)]
    pub delete: bool,
    /// The content is in conflict since an update (until `resolve`).
    #[serde(default)]
    pub conflict: bool,
    /// A property is in conflict since an update (until `resolve`).
    #[serde(default)]
    pub prop_conflict: bool,
    /// The files an update's conflict left beside it (`.mine`, `.rOLD`,
    /// `.rNEW`), removed by `resolve`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflict_files: Vec<String>,
    /// Scheduled move: the path at the base revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

impl Entry {
    /// A file matching `doc` as the server has it now.
    fn clean(doc: &DocInfo, file: &Path) -> Entry {
        Entry {
            id: Some(doc.id),
            rev: doc.rev,
            hash: Some(doc.hash),
            stat: stat_of(file),
            props: props_of(&doc.meta),
            ..Entry::default()
        }
    }

    /// A file scheduled for addition.
    fn added() -> Entry {
        Entry::default()
    }

    /// Its properties as they are in the working copy (base plus local
    /// changes).
    pub fn working_props(&self) -> Metadata {
        let mut meta = self.props.clone();
        apply_props(&mut meta, &self.prop_changes);
        meta
    }
}

/// A working copy on disk.
pub struct Wc {
    /// Its top directory.
    pub root: PathBuf,
    /// Its state.
    pub state: WcState,
}

/// The size and mtime (ns) of `path`.
pub(crate) fn stat_of(path: &Path) -> Option<(u64, i128)> {
    stat_of_meta(&std::fs::metadata(path).ok()?)
}

/// The size and mtime (ns) in `m`.
pub(crate) fn stat_of_meta(m: &std::fs::Metadata) -> Option<(u64, i128)> {
    let mtime = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos() as i128;
    Some((m.len(), mtime))
}

/// BLAKE3 of a file's content.
pub(crate) fn hash_file(path: &Path) -> Result<Digest> {
    Digest::of_file(path).with_context(|| format!("reading {}", path.display()))
}

/// Properties a user edits: everything but the server's reserved keys.
pub(crate) fn props_of(meta: &Metadata) -> Metadata {
    meta.iter()
        .filter(|(k, _)| !RESERVED_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `meta` with `changes` applied (no values: the key goes).
pub(crate) fn apply_props(meta: &mut Metadata, changes: &BTreeMap<String, Vec<String>>) {
    for (k, v) in changes {
        if v.is_empty() {
            meta.remove(k);
        } else {
            meta.insert(k.clone(), v.clone());
        }
    }
}

/// Whether relative path `path` is `target` or lies under it (`""` is the
/// whole working copy).
pub fn under(target: &str, path: &str) -> bool {
    target.is_empty()
        || path == target
        || path
            .strip_prefix(target)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The directory part of a relative path (`""` at the top).
pub(crate) fn rel_parent(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

/// `name` inside relative directory `dir` (`""`: the top).
pub(crate) fn rel_join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The last component of a relative path.
pub(crate) fn rel_name(rel: &str) -> &str {
    rel.rsplit_once('/').map_or(rel, |(_, n)| n)
}

impl Wc {
    /// The working copy containing `path` (searching upwards).
    pub fn find(path: &Path) -> Result<Wc> {
        Ok(Wc::locate(path)?.0)
    }

    /// The working copy containing `path`, and `path` relative to its top
    /// (`""` for the top itself). `path` need not exist (a deleted file).
    pub fn locate(path: &Path) -> Result<(Wc, String)> {
        let abs = absolute(path)?;
        let mut dir = abs.clone();
        loop {
            let state = dir.join(".docgrid").join("wc.json");
            if state.is_file() {
                let text = std::fs::read_to_string(&state)?;
                let state: WcState = serde_json::from_str(&text)
                    .with_context(|| format!("{} is damaged (docgrid cleanup)", state.display()))?;
                let rel = abs
                    .strip_prefix(&dir)
                    .expect("found above it")
                    .to_str()
                    .with_context(|| format!("{}: not UTF-8", path.display()))?
                    .to_string();
                return Ok((Wc { root: dir, state }, rel));
            }
            if !dir.pop() {
                bail!(
                    "'{}' is not a working copy (docgrid checkout TREEPATH DIR makes one)",
                    path.display()
                );
            }
        }
    }

    /// Writes the state atomically.
    pub fn save(&mut self) -> Result<()> {
        self.state.version = STATE_VERSION;
        let dir = self.root.join(".docgrid");
        std::fs::create_dir_all(dir.join("pristine"))?;
        let tmp = dir.join("wc.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&self.state)?)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dir.join("wc.json"))?;
        Ok(())
    }

    /// Whether subdirectories are part of the working copy (a `/files/`
    /// checkout).
    pub fn recursive(&self) -> bool {
        matches!(parse_dir(&self.state.tree_path), Ok(Dir::Files(_)))
    }

    /// The file of relative path `rel`.
    pub fn file(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// The tree directory holding relative path `rel`'s entry, with `/`.
    pub fn tree_dir_of(&self, rel: &str) -> String {
        let parent = rel_parent(rel);
        if parent.is_empty() {
            format!("{}/", self.state.tree_path)
        } else {
            format!("{}/{parent}/", self.state.tree_path)
        }
    }

    /// The tree path of relative path `rel` (`""`: the checked-out
    /// directory, with `/`).
    pub fn tree_path_of(&self, rel: &str) -> String {
        if rel.is_empty() {
            format!("{}/", self.state.tree_path)
        } else if self.state.dirs.contains_key(rel) {
            format!("{}/{rel}/", self.state.tree_path)
        } else {
            format!("{}/{rel}", self.state.tree_path)
        }
    }

    /// The parsed tree directory holding `rel`.
    pub(crate) fn dir_of(&self, rel: &str) -> Result<Dir> {
        Ok(parse_dir(&self.tree_dir_of(rel))?)
    }

    /// The versioned file `rel`, or an error naming it.
    pub fn entry(&self, rel: &str) -> Result<&Entry> {
        self.state
            .entries
            .get(rel)
            .with_context(|| format!("'{rel}' is not under version control"))
    }

    pub(crate) fn entry_mut(&mut self, rel: &str) -> Result<&mut Entry> {
        self.state
            .entries
            .get_mut(rel)
            .with_context(|| format!("'{rel}' is not under version control (docgrid add {rel})"))
    }

    /// Whether `rel` is versioned (a file, a subdirectory or the top).
    pub fn versioned(&self, rel: &str) -> bool {
        rel.is_empty() || self.state.entries.contains_key(rel) || self.state.dirs.contains_key(rel)
    }

    pub(crate) fn pristine(&self, hash: &Digest) -> PathBuf {
        self.root
            .join(".docgrid")
            .join("pristine")
            .join(hash.to_hex())
    }

    /// The pristine copy (the base revision's content) of file `rel`.
    pub fn pristine_of(&self, rel: &str) -> Result<PathBuf> {
        let e = self.entry(rel)?;
        let hash = e
            .hash
            .with_context(|| format!("'{rel}' is scheduled for addition: it has no base"))?;
        Ok(self.pristine(&hash))
    }

    /// The pristine copy of content `hash`, written by `download` (to a
    /// `.part` file renamed into place) unless it is there already.
    pub(crate) fn pristine_from(
        &self,
        hash: &Digest,
        download: impl FnOnce(&mut dyn std::io::Write) -> Result<(), docgrid_client::ClientError>,
    ) -> Result<PathBuf> {
        let pristine = self.pristine(hash);
        if !pristine.exists() {
            let tmp = pristine.with_extension("part");
            let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            download(&mut f)?;
            f.into_inner().map_err(|e| e.into_error())?;
            std::fs::rename(&tmp, &pristine)?;
        }
        Ok(pristine)
    }

    /// Whether file `rel` differs from its pristine copy.
    pub(crate) fn modified(&self, rel: &str, e: &Entry) -> Result<bool> {
        let file = self.file(rel);
        if e.stat.is_some() && stat_of(&file) == e.stat {
            return Ok(false);
        }
        if !file.is_file() {
            return Ok(false);
        }
        Ok(Some(hash_file(&file)?) != e.hash)
    }
}

/// `path` made absolute, symbolic links in its directory resolved; the
/// last component need not exist.
fn absolute(path: &Path) -> Result<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Ok(p);
    }
    let name = path
        .file_name()
        .with_context(|| format!("'{}': no such file or directory", path.display()))?;
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let parent = std::fs::canonicalize(parent)
        .with_context(|| format!("'{}': no such file or directory", parent.display()))?;
    Ok(parent.join(name))
}
