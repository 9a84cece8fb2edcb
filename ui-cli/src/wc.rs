//! Working copies: a directory of the tree checked out to local files, with
//! its state in `.docgrid/` (`wc.json` and `pristine/HASH` copies, so that
//! `status`, `diff` and `revert` work offline).
//!
//! The write rules are core's (`docgrid_core::tree`): a file added to a
//! checkout of `/tags/jazz` becomes a document tagged jazz; removing it
//! there untags it. State is written atomically (temp + rename) and only
//! after the server committed, so a killed `commit` leaves the working copy
//! as it was and the next `commit` does the work again (chunks already
//! sent are not sent twice).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use docgrid_client::tree::{Content, Tree};
use docgrid_client::{Client, ClientError};
use docgrid_core::DocId;
use docgrid_core::api::{DocInfo, EntryKind};
use docgrid_core::chunk::Digest;
use docgrid_core::model::{Metadata, Op, RESERVED_KEYS};
use docgrid_core::tree::{DocEdit, edit_ops, parse_dir, plan_create, plan_remove};
use serde::{Deserialize, Serialize};

/// `.docgrid/wc.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WcState {
    /// Format version.
    pub version: u32,
    /// The tree directory checked out.
    pub tree_path: String,
    /// Files by name.
    pub entries: BTreeMap<String, Entry>,
}

/// One file of a working copy.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// In conflict since an update (until `resolve`).
    #[serde(default)]
    pub conflict: bool,
    /// Scheduled rename: the name at the base revision.
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
            prop_changes: BTreeMap::new(),
            delete: false,
            conflict: false,
            renamed_from: None,
        }
    }
}

/// A working copy on disk.
pub struct Wc {
    /// Its top directory.
    pub root: PathBuf,
    /// Its state.
    pub state: WcState,
}

fn stat_of(path: &Path) -> Option<(u64, i128)> {
    let m = std::fs::metadata(path).ok()?;
    let mtime = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos() as i128;
    Some((m.len(), mtime))
}

fn hash_file(path: &Path) -> Result<Digest> {
    let mut h = blake3::Hasher::new();
    h.update_reader(
        std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?,
    )?;
    Ok(Digest(*h.finalize().as_bytes()))
}

/// Properties a user edits: everything but the server's reserved keys.
fn props_of(meta: &Metadata) -> Metadata {
    meta.iter()
        .filter(|(k, _)| !RESERVED_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl Wc {
    /// The working copy containing `path` (searching upwards).
    pub fn find(path: &Path) -> Result<Wc> {
        let start = std::fs::canonicalize(path).with_context(|| format!("{}", path.display()))?;
        let mut dir = if start.is_dir() {
            start.clone()
        } else {
            start
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or(start.clone())
        };
        loop {
            let state = dir.join(".docgrid").join("wc.json");
            if state.exists() {
                let text = std::fs::read_to_string(&state)?;
                let state: WcState = serde_json::from_str(&text)
                    .with_context(|| format!("{} is damaged (docgrid cleanup)", state.display()))?;
                return Ok(Wc { root: dir, state });
            }
            if !dir.pop() {
                bail!(
                    "{} is not in a docgrid working copy (docgrid checkout TREEPATH DIR makes one)",
                    path.display()
                );
            }
        }
    }

    /// Writes the state atomically.
    pub fn save(&self) -> Result<()> {
        let dir = self.root.join(".docgrid");
        std::fs::create_dir_all(dir.join("pristine"))?;
        let tmp = dir.join("wc.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&self.state)?)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dir.join("wc.json"))?;
        Ok(())
    }

    fn pristine(&self, hash: &Digest) -> PathBuf {
        self.root
            .join(".docgrid")
            .join("pristine")
            .join(hash.to_hex())
    }

    /// Downloads `doc` into the pristine store and the file `name`.
    fn fetch(&self, client: &Client, doc: &DocInfo, name: &str) -> Result<Entry> {
        let pristine = self.pristine_of(client, doc)?;
        let file = self.root.join(name);
        std::fs::copy(&pristine, &file).with_context(|| format!("writing {}", file.display()))?;
        Ok(Entry::clean(doc, &file))
    }

    /// The pristine copy of content `hash`, written by `download` (to a
    /// `.part` file renamed into place) unless it is there already.
    fn pristine_from(
        &self,
        hash: &Digest,
        download: impl FnOnce(&mut dyn std::io::Write) -> Result<(), ClientError>,
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

    /// The pristine copy of `doc`'s current content.
    fn pristine_of(&self, client: &Client, doc: &DocInfo) -> Result<PathBuf> {
        self.pristine_from(&doc.hash, |w| client.content_to(&doc.id, w).map(|_| ()))
    }

    /// `checkout TREEPATH DIR`: the documents listed there, as files.
    /// Returns the working copy and the revision checked out.
    pub fn checkout(client: &Client, tree_path: &str, dir: &Path) -> Result<(Wc, u64)> {
        parse_dir(tree_path)?;
        if dir.join(".docgrid").exists() {
            bail!("{} is already a working copy", dir.display());
        }
        std::fs::create_dir_all(dir.join(".docgrid").join("pristine"))?;
        let mut wc = Wc {
            root: std::fs::canonicalize(dir)?,
            state: WcState {
                version: 1,
                tree_path: tree_path.trim_end_matches('/').to_string(),
                entries: BTreeMap::new(),
            },
        };
        let listing = client.tree(tree_path)?;
        for e in listing.entries {
            if let (EntryKind::Doc, Some(id)) = (e.kind, e.id) {
                let doc = client.doc(&id)?;
                let entry = wc.fetch(client, &doc, &e.name)?;
                outln!("A    {}", e.name);
                wc.state.entries.insert(e.name, entry);
            }
        }
        wc.save()?;
        Ok((wc, listing.rev))
    }

    /// Whether `name`'s file differs from its pristine copy.
    fn modified(&self, name: &str, e: &Entry) -> Result<bool> {
        let file = self.root.join(name);
        if e.stat.is_some() && stat_of(&file) == e.stat {
            return Ok(false);
        }
        Ok(Some(hash_file(&file)?) != e.hash)
    }

    /// `status`: (code, name) pairs, svn's letters: M, A, D, ?, !, C; a
    /// property change shows as M in the second column.
    pub fn status(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for (name, e) in &self.state.entries {
            let file = self.root.join(name);
            let first = if e.conflict {
                'C'
            } else if e.delete {
                'D'
            } else if e.renamed_from.is_some() {
                'R'
            } else if e.id.is_none() {
                'A'
            } else if !file.exists() {
                '!'
            } else if self.modified(name, e)? {
                'M'
            } else {
                ' '
            };
            let second = if e.prop_changes.is_empty() { ' ' } else { 'M' };
            if first != ' ' || second != ' ' {
                out.push((format!("{first}{second}"), name.clone()));
            }
        }
        for f in std::fs::read_dir(&self.root)? {
            let name = f?.file_name().to_string_lossy().to_string();
            if name != ".docgrid" && !self.state.entries.contains_key(&name) {
                out.push(("? ".into(), name));
            }
        }
        out.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(out)
    }

    fn entry_mut(&mut self, name: &str) -> Result<&mut Entry> {
        self.state
            .entries
            .get_mut(name)
            .with_context(|| format!("{name} is not under version control (docgrid add {name})"))
    }

    /// `add FILE`.
    pub fn add(&mut self, name: &str) -> Result<()> {
        if !self.root.join(name).is_file() {
            bail!("{name}: no such file in {}", self.root.display());
        }
        if self.state.entries.contains_key(name) {
            bail!("{name} is already under version control");
        }
        // Refused early if this directory accepts no new documents.
        plan_create(&parse_dir(&self.state.tree_path)?, name)?;
        self.state.entries.insert(
            name.to_string(),
            Entry {
                id: None,
                rev: 0,
                hash: None,
                stat: None,
                props: Metadata::new(),
                prop_changes: BTreeMap::new(),
                delete: false,
                conflict: false,
                renamed_from: None,
            },
        );
        Ok(())
    }

    /// `rm FILE`: scheduled; the file goes now.
    pub fn remove(&mut self, name: &str) -> Result<()> {
        let e = self.entry_mut(name)?;
        if e.id.is_none() {
            self.state.entries.remove(name);
            return Ok(());
        }
        e.delete = true;
        let _ = std::fs::remove_file(self.root.join(name));
        Ok(())
    }

    /// `mv OLD NEW` in a working copy: the file is renamed now, the
    /// document at commit (core's rename rule for this directory).
    pub fn rename(&mut self, old: &str, new: &str) -> Result<()> {
        if self.state.entries.contains_key(new) || self.root.join(new).exists() {
            bail!("{new} already exists in {}", self.root.display());
        }
        docgrid_core::model::validate_name(new)?;
        let mut e = self
            .state
            .entries
            .remove(old)
            .with_context(|| format!("{old} is not under version control"))?;
        std::fs::rename(self.root.join(old), self.root.join(new))
            .with_context(|| format!("renaming {old} to {new}"))?;
        if e.id.is_some() && e.renamed_from.is_none() {
            e.renamed_from = Some(old.to_string());
        }
        self.state.entries.insert(new.to_string(), e);
        Ok(())
    }

    /// `propset` / `propdel` on a file: recorded until commit.
    pub fn propset(&mut self, name: &str, key: &str, values: Vec<String>) -> Result<()> {
        docgrid_core::model::validate_key(key)?;
        if !docgrid_core::model::client_settable(key) {
            bail!("{key} is kept by the server; it cannot be set");
        }
        self.entry_mut(name)?
            .prop_changes
            .insert(key.into(), values);
        Ok(())
    }

    /// `revert FILE`: the pristine copy back, schedules and property
    /// changes dropped.
    pub fn revert(&mut self, name: &str) -> Result<()> {
        let root = self.root.clone();
        let e = self.entry_mut(name)?;
        if e.id.is_none() {
            self.state.entries.remove(name);
            return Ok(());
        }
        let hash = e.hash.context("no pristine copy")?;
        let pristine = root.join(".docgrid").join("pristine").join(hash.to_hex());
        let file = root.join(name);
        std::fs::copy(&pristine, &file)?;
        e.stat = stat_of(&file);
        e.prop_changes.clear();
        e.delete = false;
        e.conflict = false;
        if let Some(old) = e.renamed_from.take() {
            let e = self.state.entries.remove(name).expect("just found");
            std::fs::rename(root.join(name), root.join(&old))?;
            self.state.entries.insert(old, e);
        }
        Ok(())
    }

    /// `diff`: a unified diff per modified text file, a line for binary
    /// ones, and property changes.
    pub fn diff(&self) -> Result<String> {
        let mut out = String::new();
        for (name, e) in &self.state.entries {
            let file = self.root.join(name);
            if e.id.is_some() && file.exists() && self.modified(name, e)? {
                let old = std::fs::read(self.pristine(&e.hash.context("no pristine copy")?))?;
                let new = std::fs::read(&file)?;
                match (std::str::from_utf8(&old), std::str::from_utf8(&new)) {
                    (Ok(a), Ok(b)) => {
                        out.push_str(&format!("Index: {name}\n"));
                        out.push_str(
                            &diffy::create_patch(a, b)
                                .to_string()
                                .replacen("--- original", &format!("--- {name}\t(r{})", e.rev), 1)
                                .replacen("+++ modified", &format!("+++ {name}\t(working copy)"), 1),
                        );
                    }
                    _ => out.push_str(&format!(
                        "Binary files {name} (r{}, {} bytes) and {name} (working copy, {} bytes) differ\n",
                        e.rev,
                        old.len(),
                        new.len()
                    )),
                }
            }
            if !e.prop_changes.is_empty() {
                out.push_str(&format!("Property changes on: {name}\n"));
                for (k, v) in &e.prop_changes {
                    if let Some(old) = e.props.get(k) {
                        out.push_str(&format!("-{k}: {}\n", old.join(", ")));
                    }
                    if !v.is_empty() {
                        out.push_str(&format!("+{k}: {}\n", v.join(", ")));
                    }
                }
            }
        }
        Ok(out)
    }

    /// `commit -m MSG`: every change as one commit, against each file's
    /// base revision; refused (nothing changed) when one is out of date.
    pub fn commit(&mut self, tree: &Tree, message: &str) -> Result<Option<u64>> {
        let client = tree.client();
        let dir = parse_dir(&self.state.tree_path)?;
        let mut ops: Vec<Op> = Vec::new();
        let mut touched: Vec<(String, Option<DocId>)> = Vec::new();
        for (name, e) in &self.state.entries {
            if e.conflict {
                bail!("{name} is in conflict: edit it, then docgrid resolve {name}");
            }
            let file = self.root.join(name);
            match e.id {
                None => {
                    let plan = plan_create(&dir, name)?;
                    let content = tree.upload(Content::File(file.clone()))?;
                    let id = DocId::random();
                    let mut op = plan.op(id, content);
                    if let Op::Create { meta, .. } = &mut op {
                        apply_props(meta, &e.prop_changes);
                    }
                    ops.push(op);
                    touched.push((name.clone(), Some(id)));
                }
                Some(id) if e.delete => {
                    let edit: DocEdit = plan_remove(&dir)?;
                    ops.extend(edit_ops(id, e.rev, name, &e.props, &edit));
                    touched.push((name.clone(), None));
                }
                Some(id) => {
                    let mut changed = false;
                    if let Some(old) = &e.renamed_from {
                        let edit = docgrid_core::tree::plan_rename(&dir, &dir, name)?;
                        ops.extend(edit_ops(id, e.rev, old, &e.props, &edit));
                        changed = true;
                    }
                    if file.exists() && self.modified(name, e)? {
                        let content = tree.upload(Content::File(file.clone()))?;
                        ops.push(Op::SetContent {
                            id,
                            base: e.rev,
                            content,
                        });
                        changed = true;
                    }
                    for (k, v) in &e.prop_changes {
                        ops.push(Op::SetMeta {
                            id,
                            base: e.rev,
                            key: k.clone(),
                            values: v.clone(),
                        });
                        changed = true;
                    }
                    if changed {
                        touched.push((name.clone(), Some(id)));
                    }
                }
            }
        }
        if ops.is_empty() {
            return Ok(None);
        }
        let rev = match tree.commit(message, ops) {
            Ok(rev) => rev,
            Err(e @ ClientError::Conflict { .. }) => {
                return Err(anyhow::Error::new(e).context(
                    "Commit failed (nothing was committed; run docgrid update, then commit \
                     again)",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        // Record the new bases only now that the server committed.
        for (name, id) in touched {
            match id {
                None => {
                    self.state.entries.remove(&name);
                }
                Some(id) => {
                    let doc = client.doc(&id)?;
                    let file = self.root.join(&name);
                    let pristine = self.pristine(&doc.hash);
                    if !pristine.exists() {
                        std::fs::copy(&file, &pristine)?;
                    }
                    self.state.entries.insert(name, Entry::clean(&doc, &file));
                }
            }
        }
        self.save()?;
        Ok(Some(rev))
    }

    /// `update`: brings every file to the server's current revision,
    /// merging local text edits (3-way) and property changes; overlapping
    /// edits become conflicts (C) with both versions kept.
    pub fn update(&mut self, client: &Client) -> Result<Vec<(char, String)>> {
        let mut report = Vec::new();
        let listing = client.tree(&self.state.tree_path)?;
        let mut listed: BTreeMap<String, DocId> = BTreeMap::new();
        for e in listing.entries {
            if let (EntryKind::Doc, Some(id)) = (e.kind, e.id) {
                listed.insert(e.name, id);
            }
        }
        let names: Vec<String> = self.state.entries.keys().cloned().collect();
        for name in names {
            let e = self.state.entries[&name].clone();
            let Some(id) = e.id else { continue };
            if !listed.values().any(|l| *l == id) {
                if !self.modified(&name, &e).unwrap_or(false) {
                    let _ = std::fs::remove_file(self.root.join(&name));
                    self.state.entries.remove(&name);
                    report.push(('D', name));
                }
                continue;
            }
            let doc = client.doc(&id)?;
            if doc.rev == e.rev {
                continue;
            }
            let mut next = e.clone();
            next.rev = doc.rev;
            next.props = props_of(&doc.meta);
            let file = self.root.join(&name);
            let local_changed = file.exists() && self.modified(&name, &e)?;
            let mut code = 'U';
            if Some(doc.hash) != e.hash {
                if !local_changed {
                    next = Entry {
                        prop_changes: e.prop_changes.clone(),
                        ..self.fetch(client, &doc, &name)?
                    };
                } else {
                    let theirs = self.pristine_of(client, &doc)?;
                    code = self.merge_file(&name, &e, &theirs, doc.rev, &mut next)?;
                    next.hash = Some(doc.hash);
                    next.stat = None;
                }
            }
            // Properties: a local change to a key the server also changed
            // to something else is a conflict; others merge.
            for (k, mine) in &e.prop_changes {
                let base = e.props.get(k);
                let theirs = doc.meta.get(k);
                if theirs != base && theirs != Some(mine) && !(mine.is_empty() && theirs.is_none())
                {
                    next.conflict = true;
                    code = 'C';
                }
            }
            self.state.entries.insert(name.clone(), next);
            report.push((code, name));
        }
        for (name, id) in listed {
            if !self.state.entries.values().any(|e| e.id == Some(id))
                && !self.state.entries.contains_key(&name)
            {
                let doc = client.doc(&id)?;
                let entry = self.fetch(client, &doc, &name)?;
                self.state.entries.insert(name.clone(), entry);
                report.push(('A', name));
            }
        }
        self.save()?;
        Ok(report)
    }

    /// Merges the server's version `theirs` (revision `their_rev`) into
    /// the locally modified file `name` based on `e`: 'G' when the edits
    /// do not overlap, else 'C' with both versions kept.
    fn merge_file(
        &self,
        name: &str,
        e: &Entry,
        theirs: &Path,
        their_rev: u64,
        next: &mut Entry,
    ) -> Result<char> {
        let file = self.root.join(name);
        let base = std::fs::read(self.pristine(&e.hash.context("no pristine copy")?))?;
        let mine = std::fs::read(&file)?;
        let theirs = std::fs::read(theirs)?;
        let texts = (
            std::str::from_utf8(&base),
            std::str::from_utf8(&mine),
            std::str::from_utf8(&theirs),
        );
        if let (Ok(b), Ok(m), Ok(t)) = texts {
            match diffy::merge(b, m, t) {
                Ok(merged) => {
                    std::fs::write(&file, merged)?;
                    return Ok('G');
                }
                Err(with_markers) => {
                    std::fs::write(self.root.join(format!("{name}.mine")), &mine)?;
                    std::fs::write(self.root.join(format!("{name}.r{their_rev}")), &theirs)?;
                    std::fs::write(&file, with_markers)?;
                }
            }
        } else {
            std::fs::write(self.root.join(format!("{name}.r{their_rev}")), &theirs)?;
        }
        next.conflict = true;
        Ok('C')
    }

    /// `update -r REV`: every file as it was at repository revision `rev`
    /// (local edits merged as by `update`; files that did not exist then
    /// leave the working copy unless modified). Properties stay as they
    /// are now; a later `commit` is out of date for what changed since.
    pub fn update_to(&mut self, client: &Client, rev: u64) -> Result<Vec<(char, String)>> {
        let mut report = Vec::new();
        let names: Vec<String> = self.state.entries.keys().cloned().collect();
        for name in names {
            let e = self.state.entries[&name].clone();
            let Some(id) = e.id else { continue };
            let file = self.root.join(&name);
            let local_changed = file.exists() && self.modified(&name, &e)?;
            let m = match client.manifest_at(&id, rev) {
                Ok(m) => m,
                Err(ClientError::Api { status: 404, .. }) => {
                    if !local_changed {
                        let _ = std::fs::remove_file(&file);
                        self.state.entries.remove(&name);
                        report.push(('D', name));
                    }
                    continue;
                }
                Err(err) => return Err(err.into()),
            };
            if m.rev == e.rev && Some(m.hash) == e.hash {
                continue;
            }
            let pristine = self.pristine_from(&m.hash, |w| client.manifest_content_to(&m, w))?;
            let mut next = e.clone();
            next.rev = m.rev;
            let code = if local_changed {
                let c = self.merge_file(&name, &e, &pristine, m.rev, &mut next)?;
                next.stat = None;
                c
            } else {
                std::fs::copy(&pristine, &file)?;
                next.stat = stat_of(&file);
                'U'
            };
            next.hash = Some(m.hash);
            self.state.entries.insert(name.clone(), next);
            report.push((code, name));
        }
        self.save()?;
        Ok(report)
    }

    /// `cleanup`: removes partial pristine downloads and an unsaved state
    /// file; returns how many files went.
    pub fn cleanup(&self) -> Result<usize> {
        let dir = self.root.join(".docgrid");
        let mut n = 0;
        for f in std::fs::read_dir(dir.join("pristine"))? {
            let p = f?.path();
            if p.extension().is_some_and(|e| e == "part") {
                std::fs::remove_file(&p)?;
                n += 1;
            }
        }
        if std::fs::remove_file(dir.join("wc.json.tmp")).is_ok() {
            n += 1;
        }
        Ok(n)
    }

    /// `resolve FILE`: the file as it is now is the resolution.
    pub fn resolve(&mut self, name: &str) -> Result<()> {
        let rev = {
            let e = self.entry_mut(name)?;
            if !e.conflict {
                bail!("{name} is not in conflict");
            }
            e.conflict = false;
            e.rev
        };
        let _ = std::fs::remove_file(self.root.join(format!("{name}.mine")));
        let _ = std::fs::remove_file(self.root.join(format!("{name}.r{rev}")));
        Ok(())
    }
}

fn apply_props(meta: &mut Metadata, changes: &BTreeMap<String, Vec<String>>) {
    for (k, v) in changes {
        if v.is_empty() {
            meta.remove(k);
        } else {
            meta.insert(k.clone(), v.clone());
        }
    }
}
