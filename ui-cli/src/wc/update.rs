//! `update`: the working copy brought to the repository's newest revision
//! (or, with `-r`, each file's content to an older one), svn's letters for
//! what arrived: `A` added, `D` deleted, `U` updated, `G` merged with local
//! edits, `C` conflict, `E` existed (an unversioned file was already
//! there); a second column for properties. A move made elsewhere arrives
//! as `D old` and `A new`, as in svn.
//!
//! A working copy at the newest revision costs one request (the server's
//! revision). A few revisions behind, it asks what each changed and fetches
//! only those documents; further behind (or when a revision changed tags or
//! directories) it lists each directory, then fetches what changed.

use std::collections::BTreeSet;

use anyhow::Result;
use docgrid_client::ClientError;
use docgrid_client::tree::Tree;
use docgrid_core::DocId;
use docgrid_core::api::DocInfo;

use super::remote::Remote;
use super::{DirEntry, Entry, Wc, hash_file, props_of, stat_of};

/// What an update did.
#[derive(Debug, Default)]
pub struct Updated {
    /// svn's two status columns and the relative path, in order.
    pub lines: Vec<(String, String)>,
    /// The revision the working copy is at now.
    pub rev: u64,
    /// Files left in text conflict.
    pub text_conflicts: usize,
    /// Files left in property conflict.
    pub prop_conflicts: usize,
    /// Locally changed files whose document left the directory: kept on
    /// disk, no longer versioned.
    pub kept: Vec<String>,
}

impl Updated {
    fn line(&mut self, item: char, props: char, rel: &str) {
        self.lines.push((format!("{item}{props}"), rel.to_string()));
    }
}

impl Wc {
    /// `update`: see the module documentation.
    pub fn update(&mut self, tree: &Tree) -> Result<Updated> {
        let head = tree.client().health()?.rev;
        if self.state.rev != 0 && head == self.state.rev {
            return Ok(Updated {
                rev: head,
                ..Updated::default()
            });
        }
        let remote = match self.remote_since(tree, head)? {
            Some(r) => r,
            None => self.remote(tree)?,
        };
        let mut done = Updated::default();
        self.leave_missing(&remote, &mut done)?;
        self.follow_moves(&remote, &mut done)?;
        self.update_changed(tree, &remote, &mut done)?;
        self.add_new(tree, &remote, &mut done)?;
        self.sync_dirs(&remote, &mut done)?;
        done.lines.sort_by(|a, b| a.1.cmp(&b.1));
        self.state.rev = remote.rev;
        done.rev = remote.rev;
        self.save()?;
        Ok(done)
    }

    /// Documents no longer listed: clean files go (`D`); changed ones stay
    /// on disk, unversioned.
    fn leave_missing(&mut self, remote: &Remote, done: &mut Updated) -> Result<()> {
        let listed = remote.by_id();
        let gone: Vec<(String, Entry)> = self
            .state
            .entries
            .iter()
            .filter(|(_, e)| e.id.is_some_and(|id| !listed.contains_key(&id)))
            .map(|(rel, e)| (rel.clone(), e.clone()))
            .collect();
        for (rel, e) in gone {
            self.state.entries.remove(&rel);
            let changed = !e.prop_changes.is_empty()
                || e.renamed_from.is_some()
                || (self.file(&rel).is_file() && self.modified(&rel, &e)?);
            if changed && !e.delete {
                done.kept.push(rel.clone());
            } else {
                let _ = std::fs::remove_file(self.file(&rel));
            }
            done.line('D', ' ', e.renamed_from.as_deref().unwrap_or(&rel));
        }
        Ok(())
    }

    /// Documents listed under another path than the working copy's: the
    /// file moves (`D old`, `A new`), unless it was moved here too or the
    /// new place is taken.
    fn follow_moves(&mut self, remote: &Remote, done: &mut Updated) -> Result<()> {
        let local = self.local_ids();
        let moves: Vec<(String, String)> = remote
            .files
            .iter()
            .filter_map(|(new, e)| {
                let old = local.get(&e.id?)?;
                (old != new).then(|| (old.clone(), new.clone()))
            })
            .collect();
        for (old, new) in moves {
            let e = self.state.entries[&old].clone();
            if e.renamed_from.is_some() || e.delete || self.file(&new).exists() {
                continue;
            }
            if self.state.entries.contains_key(&new) {
                continue;
            }
            if let Some(dir) = self.file(&new).parent() {
                std::fs::create_dir_all(dir)?;
            }
            if self.file(&old).exists() {
                std::fs::rename(self.file(&old), self.file(&new))?;
            }
            self.state.entries.remove(&old);
            self.state.entries.insert(new.clone(), e);
            done.line('D', ' ', &old);
            done.line('A', ' ', &new);
        }
        Ok(())
    }

    /// Documents whose revision moved: content fetched or merged,
    /// properties merged.
    fn update_changed(&mut self, tree: &Tree, remote: &Remote, done: &mut Updated) -> Result<()> {
        let changed: Vec<(String, DocId)> = remote
            .files
            .iter()
            .filter_map(|(rel, r)| {
                let e = self.state.entries.get(rel)?;
                let id = r.id?;
                (e.id == Some(id) && r.rev != Some(e.rev)).then(|| (rel.clone(), id))
            })
            .collect();
        for (rel, id) in changed {
            let doc = tree.client().doc(&id)?;
            self.update_file(tree, &rel, &doc, done)?;
        }
        Ok(())
    }

    fn update_file(
        &mut self,
        tree: &Tree,
        rel: &str,
        doc: &DocInfo,
        done: &mut Updated,
    ) -> Result<()> {
        let e = self.state.entries[rel].clone();
        let mut next = e.clone();
        next.rev = doc.rev;
        next.props = props_of(&doc.meta);
        let file = self.file(rel);
        let mut item = ' ';
        if Some(doc.hash) != e.hash {
            let local_changed = file.is_file() && self.modified(rel, &e)?;
            if !local_changed || e.delete {
                let fetched = self.fetch_doc(tree, doc, rel)?;
                next.hash = fetched.hash;
                next.stat = fetched.stat;
                item = 'U';
                if e.delete {
                    let _ = std::fs::remove_file(&file);
                }
            } else {
                let theirs = self.pristine_from(&doc.hash, |w| {
                    tree.client().content_to(&doc.id, w).map(|_| ())
                })?;
                item = self.merge_file(rel, &e, &theirs, doc.rev, &mut next)?;
                next.hash = Some(doc.hash);
                next.stat = None;
                if item == 'C' {
                    done.text_conflicts += 1;
                }
            }
        }
        let props = self.merge_props(&e, &next.props.clone(), &mut next);
        if props == 'C' {
            done.prop_conflicts += 1;
        }
        self.state.entries.insert(rel.to_string(), next);
        if item != ' ' || props != ' ' {
            done.line(item, props, rel);
        }
        Ok(())
    }

    /// The second update column: `U` when the server changed properties,
    /// `G` when local changes merged with them, `C` when a key was changed
    /// both here and there to different values.
    fn merge_props(&self, e: &Entry, theirs: &docgrid_core::Metadata, next: &mut Entry) -> char {
        if *theirs == e.props {
            return ' ';
        }
        let mut code = 'U';
        for (k, mine) in &e.prop_changes {
            let base = e.props.get(k);
            let there = theirs.get(k);
            if there == base {
                code = 'G';
            } else if there == Some(mine) || (mine.is_empty() && there.is_none()) {
                next.prop_changes.remove(k);
            } else {
                next.prop_conflict = true;
                code = 'C';
            }
        }
        code
    }

    /// Documents listed but not in the working copy: downloaded (`A`), or
    /// adopted when an unversioned file is already there (`E`).
    fn add_new(&mut self, tree: &Tree, remote: &Remote, done: &mut Updated) -> Result<()> {
        let local = self.local_ids();
        let mut wanted: Vec<(String, DocId)> = Vec::new();
        for (rel, r) in &remote.files {
            let Some(id) = r.id else { continue };
            if local.contains_key(&id) || self.state.entries.contains_key(rel) {
                continue;
            }
            if self.file(rel).exists() {
                let doc = tree.client().doc(&id)?;
                let file = self.file(rel);
                let same = file.is_file() && hash_file(&file)? == doc.hash;
                self.pristine_from(&doc.hash, |w| tree.client().content_to(&id, w).map(|_| ()))?;
                let mut entry = Entry::clean(&doc, &file);
                if !same {
                    entry.stat = None;
                }
                self.state.entries.insert(rel.clone(), entry);
                done.line('E', ' ', rel);
                continue;
            }
            wanted.push((rel.clone(), id));
        }
        for (rel, entry) in self.fetch_many(tree, &wanted)? {
            done.line('A', ' ', &rel);
            self.state.entries.insert(rel, entry);
        }
        Ok(())
    }

    /// Subdirectories that appeared (`A`) or went and are empty here (`D`).
    fn sync_dirs(&mut self, remote: &Remote, done: &mut Updated) -> Result<()> {
        for rel in &remote.dirs {
            if !self.state.dirs.contains_key(rel) {
                std::fs::create_dir_all(self.file(rel))?;
                self.state.dirs.insert(rel.clone(), DirEntry::default());
                done.line('A', ' ', rel);
            }
        }
        let used: BTreeSet<String> = self
            .state
            .entries
            .keys()
            .map(|p| super::rel_parent(p).to_string())
            .collect();
        let gone: Vec<String> = self
            .state
            .dirs
            .iter()
            .filter(|(rel, d)| !d.added && !remote.dirs.contains(*rel))
            .filter(|(rel, _)| !used.iter().any(|u| super::under(rel, u)))
            .map(|(rel, _)| rel.clone())
            .collect();
        for rel in gone {
            self.state.dirs.remove(&rel);
            let _ = std::fs::remove_dir(self.file(&rel));
            done.line('D', ' ', &rel);
        }
        Ok(())
    }

    /// `update -r REV`: each file's content as it was at repository
    /// revision `rev` (local edits merged as by `update`; documents that
    /// did not exist then leave the working copy unless modified). Names,
    /// properties and which documents are listed stay as they are now.
    pub fn update_to(&mut self, tree: &Tree, rev: u64) -> Result<Updated> {
        let client = tree.client();
        let mut done = Updated {
            rev,
            ..Updated::default()
        };
        let rels: Vec<String> = self.state.entries.keys().cloned().collect();
        for rel in rels {
            let e = self.state.entries[&rel].clone();
            let Some(id) = e.id else { continue };
            let file = self.file(&rel);
            let local_changed = file.is_file() && self.modified(&rel, &e)?;
            let m = match client.manifest_at(&id, rev) {
                Ok(m) => m,
                Err(ClientError::Api { status: 404, .. }) => {
                    if !local_changed {
                        let _ = std::fs::remove_file(&file);
                        self.state.entries.remove(&rel);
                        done.line('D', ' ', &rel);
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
                next.stat = None;
                self.merge_file(&rel, &e, &pristine, m.rev, &mut next)?
            } else {
                std::fs::copy(&pristine, &file)?;
                next.stat = stat_of(&file);
                'U'
            };
            if code == 'C' {
                done.text_conflicts += 1;
            }
            next.hash = Some(m.hash);
            self.state.entries.insert(rel.clone(), next);
            done.line(code, ' ', &rel);
        }
        self.state.rev = rev;
        self.save()?;
        Ok(done)
    }
}
