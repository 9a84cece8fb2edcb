//! Local schedules: `add`, `rm`, `mv`, properties, `revert`, `resolve`,
//! `cleanup`. Nothing here talks to the server; `commit` carries them out.

use anyhow::{Context, Result, bail};
use docgrid_core::model::{client_settable, validate_key, validate_name};
use docgrid_core::tree::plan_create;

use super::{DirEntry, Entry, Wc, rel_join, rel_name, rel_parent, stat_of, under};

/// What `resolve --accept` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Accept {
    /// The file as it is now (after editing out the markers).
    Working,
    /// Your version from before the update (`FILE.mine`).
    MineFull,
    /// The repository's version (`FILE.rNEW`).
    TheirsFull,
    /// The common ancestor (`FILE.rOLD`).
    Base,
}

impl Wc {
    /// `add PATH`: a file, or a directory with everything in it (in a
    /// recursive working copy). Returns what was scheduled, in order; a
    /// path already versioned is an error unless `force` (then what is
    /// unversioned inside it is added).
    pub fn add(&mut self, rel: &str, force: bool) -> Result<Vec<String>> {
        let path = self.file(rel);
        if !path.exists() {
            bail!("'{rel}' not found");
        }
        if self.versioned(rel) && !(force && path.is_dir()) {
            bail!("'{rel}' is already under version control");
        }
        let parent = rel_parent(rel);
        if !rel.is_empty() && !self.versioned(parent) {
            bail!("'{parent}' is not under version control: add it first (docgrid add {parent})");
        }
        let mut added = Vec::new();
        if path.is_dir() {
            self.add_dir(rel, &mut added)?;
        } else {
            self.add_file(rel)?;
            added.push(rel.to_string());
        }
        Ok(added)
    }

    fn add_file(&mut self, rel: &str) -> Result<()> {
        // Refused now, not at commit, if the directory takes no documents.
        plan_create(&self.dir_of(rel)?, rel_name(rel))?;
        self.state.entries.insert(rel.to_string(), Entry::added());
        Ok(())
    }

    fn add_dir(&mut self, rel: &str, added: &mut Vec<String>) -> Result<()> {
        if !self.recursive() && !rel.is_empty() {
            bail!(
                "'{rel}' is a directory, and a checkout of {} is flat: its subdirectories \
                 are refinements of the query, not folders (check out {}/{rel} to work there)",
                self.state.tree_path,
                self.state.tree_path
            );
        }
        if !self.versioned(rel) {
            validate_name(rel_name(rel))?;
            self.state.dirs.insert(
                rel.to_string(),
                DirEntry {
                    added: true,
                    delete: false,
                },
            );
            added.push(rel.to_string());
        }
        let mut children: Vec<String> = std::fs::read_dir(self.file(rel))?
            .map(|f| f.map(|f| f.file_name().to_string_lossy().to_string()))
            .collect::<Result<_, _>>()?;
        children.sort();
        for name in children {
            if rel.is_empty() && name == ".docgrid" {
                continue;
            }
            let child = rel_join(rel, &name);
            if self.file(&child).is_dir() {
                if self.recursive() {
                    self.add_dir(&child, added)?;
                }
            } else if !self.versioned(&child) {
                self.add_file(&child)?;
                added.push(child);
            }
        }
        Ok(())
    }

    /// `rm PATH`: scheduled; the file (or directory) goes now. A modified
    /// file is kept unless `force`.
    pub fn remove(&mut self, rel: &str, force: bool) -> Result<Vec<String>> {
        if self.state.dirs.contains_key(rel) {
            let inside: Vec<String> = self
                .state
                .entries
                .keys()
                .filter(|p| under(rel, p))
                .cloned()
                .collect();
            let mut gone = vec![rel.to_string()];
            for p in inside {
                gone.extend(self.remove(&p, force)?);
            }
            let d = self.state.dirs.get_mut(rel).expect("checked");
            if d.added {
                self.state.dirs.remove(rel);
            } else {
                d.delete = true;
            }
            let _ = std::fs::remove_dir_all(self.file(rel));
            return Ok(gone);
        }
        let modified = {
            let e = self.entry(rel)?;
            e.id.is_some() && self.modified(rel, e)?
        };
        if modified && !force {
            bail!(
                "'{rel}' has local modifications: use --force to remove it anyway (they are lost)"
            );
        }
        let e = self.entry_mut(rel)?;
        if e.id.is_none() {
            self.state.entries.remove(rel);
        } else {
            e.delete = true;
        }
        let _ = std::fs::remove_file(self.file(rel));
        Ok(vec![rel.to_string()])
    }

    /// `mv OLD NEW`: the file moves now, the document at commit (core's
    /// rename rule between the two directories). `new` may be a versioned
    /// directory (the name stays). Returns the new relative path.
    pub fn rename(&mut self, old: &str, new: &str) -> Result<String> {
        if self.state.dirs.contains_key(old) {
            bail!(
                "'{old}' is a directory: move its files (docgrid mv {old}/FILE DEST); a \
                 /files/ directory is the path its documents share"
            );
        }
        let new = if new.is_empty() {
            rel_name(old).to_string()
        } else if self.state.dirs.contains_key(new) {
            format!("{new}/{}", rel_name(old))
        } else {
            new.to_string()
        };
        if self.versioned(&new) || self.file(&new).exists() {
            bail!("'{new}' already exists");
        }
        validate_name(rel_name(&new))?;
        if !self.versioned(rel_parent(&new)) {
            bail!("'{}' is not a versioned directory", rel_parent(&new));
        }
        let mut e = self
            .state
            .entries
            .remove(old)
            .with_context(|| format!("'{old}' is not under version control"))?;
        if e.delete {
            self.state.entries.insert(old.to_string(), e);
            bail!("'{old}' is scheduled for deletion");
        }
        std::fs::rename(self.file(old), self.file(&new))
            .with_context(|| format!("moving {old} to {new}"))?;
        if e.id.is_some() && e.renamed_from.is_none() {
            e.renamed_from = Some(old.to_string());
        }
        if e.renamed_from.as_deref() == Some(new.as_str()) {
            e.renamed_from = None;
        }
        self.state.entries.insert(new.clone(), e);
        Ok(new)
    }

    /// `propset` / `propdel` (no values) on a file: recorded until commit.
    pub fn propset(&mut self, rel: &str, key: &str, values: Vec<String>) -> Result<()> {
        validate_key(key)?;
        if !client_settable(key) {
            bail!("'{key}' is kept by the server; it cannot be set");
        }
        if self.state.dirs.contains_key(rel) || rel.is_empty() {
            bail!(
                "'{}' is a directory: properties belong to documents (a directory of the tree \
                 is what its documents share)",
                if rel.is_empty() { "." } else { rel }
            );
        }
        let e = self.entry_mut(rel)?;
        if e.props.get(key) == Some(&values) || (values.is_empty() && !e.props.contains_key(key)) {
            e.prop_changes.remove(key);
        } else {
            e.prop_changes.insert(key.into(), values);
        }
        Ok(())
    }

    /// `revert PATH [-R]`: the pristine content back, schedules and
    /// property changes dropped; an added file stays on disk unversioned;
    /// either side of a move moves it back. Returns what was reverted.
    pub fn revert(&mut self, rel: &str, recursive: bool) -> Result<Vec<String>> {
        if rel.is_empty() || self.state.dirs.contains_key(rel) {
            if !recursive {
                return Ok(Vec::new());
            }
            let mut done = Vec::new();
            let dirs: Vec<String> = self
                .state
                .dirs
                .keys()
                .filter(|d| under(rel, d))
                .cloned()
                .collect();
            for d in dirs {
                let entry = self.state.dirs.get_mut(&d).expect("listed");
                if entry.added {
                    self.state.dirs.remove(&d);
                    done.push(d);
                } else if entry.delete {
                    entry.delete = false;
                    std::fs::create_dir_all(self.file(&d))?;
                    done.push(d);
                }
            }
            let files: Vec<String> = self
                .state
                .entries
                .iter()
                .filter(|(p, e)| {
                    under(rel, p) || e.renamed_from.as_deref().is_some_and(|f| under(rel, f))
                })
                .map(|(p, _)| p.clone())
                .collect();
            for f in files {
                if self.revert_file(&f)? {
                    done.push(f);
                }
            }
            done.sort();
            return Ok(done);
        }
        let rel = self
            .state
            .entries
            .iter()
            .find(|(_, e)| e.renamed_from.as_deref() == Some(rel))
            .map_or(rel.to_string(), |(p, _)| p.clone());
        self.entry(&rel)?;
        Ok(if self.revert_file(&rel)? {
            vec![rel]
        } else {
            Vec::new()
        })
    }

    /// Reverts one file; whether there was anything to revert.
    fn revert_file(&mut self, rel: &str) -> Result<bool> {
        let e = self.entry(rel)?.clone();
        if e.id.is_none() {
            self.state.entries.remove(rel);
            return Ok(true);
        }
        let changed = e.delete
            || e.conflict
            || e.prop_conflict
            || e.renamed_from.is_some()
            || !e.prop_changes.is_empty()
            || !self.file(rel).is_file()
            || self.modified(rel, &e)?;
        if !changed {
            return Ok(false);
        }
        let target = e.renamed_from.clone().unwrap_or_else(|| rel.to_string());
        let pristine = self.pristine_of(rel)?;
        if e.renamed_from.is_some() {
            let _ = std::fs::remove_file(self.file(rel));
        }
        let file = self.file(&target);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::copy(&pristine, &file)?;
        for extra in &e.conflict_files {
            let _ = std::fs::remove_file(self.file(extra));
        }
        self.state.entries.remove(rel);
        self.state.entries.insert(
            target,
            Entry {
                stat: stat_of(&file),
                prop_changes: Default::default(),
                delete: false,
                conflict: false,
                prop_conflict: false,
                conflict_files: Vec::new(),
                renamed_from: None,
                ..e
            },
        );
        Ok(true)
    }

    /// `resolve --accept WHAT FILE`: the chosen version is the resolution;
    /// the conflict files go.
    pub fn resolve(&mut self, rel: &str, accept: Accept) -> Result<()> {
        let e = self.entry(rel)?.clone();
        if !e.conflict && !e.prop_conflict {
            bail!("'{rel}' is not in conflict");
        }
        let pick = |suffix: &str| {
            e.conflict_files
                .iter()
                .find(|f| f.ends_with(suffix))
                .cloned()
        };
        let chosen = match accept {
            Accept::Working => None,
            Accept::MineFull => pick(".mine"),
            Accept::TheirsFull => e.conflict_files.last().cloned(),
            Accept::Base => e.conflict_files.get(1).cloned(),
        };
        if accept != Accept::Working {
            let from = chosen.with_context(|| format!("'{rel}' has no such version to accept"))?;
            std::fs::copy(self.file(&from), self.file(rel))?;
        }
        for f in &e.conflict_files {
            let _ = std::fs::remove_file(self.file(f));
        }
        let e = self.entry_mut(rel)?;
        e.conflict = false;
        e.prop_conflict = false;
        e.conflict_files.clear();
        e.stat = None;
        Ok(())
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
}
