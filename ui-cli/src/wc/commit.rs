//! `commit [TARGETS]`: the local changes under the targets (the whole
//! working copy by default) as one revision, each document against its
//! base revision; nothing is recorded locally until the server committed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use docgrid_client::ClientError;
use docgrid_client::tree::Tree;
use docgrid_core::DocId;
use docgrid_core::model::{Manifest, Op};
use docgrid_core::tree::{
    DocEdit, edit_ops, parse_dir, plan_create, plan_mkdir, plan_remove, plan_rename,
};

use super::{Entry, Wc, apply_props, rel_name, under};

/// What a commit did.
#[derive(Debug)]
pub struct Committed {
    /// The new revision.
    pub rev: u64,
}

/// What a commit does to one path, svn's words.
enum Action {
    Adding,
    Deleting,
    Sending,
}

impl Action {
    fn word(&self) -> &'static str {
        match self {
            Action::Adding => "Adding",
            Action::Deleting => "Deleting",
            Action::Sending => "Sending",
        }
    }
}

/// The operations being built, what each path gets, and which files
/// change how once committed.
#[derive(Default)]
struct Plan {
    ops: Vec<Op>,
    shown: Vec<(String, Action)>,
    /// (relative path, the document afterwards; `None`: it leaves).
    touched: Vec<(String, Option<DocId>)>,
    uploads: usize,
    /// The content of each added or modified file, uploaded beforehand.
    contents: HashMap<String, Manifest>,
}

impl Wc {
    /// Commits what changed under `targets` (relative paths; `""` is
    /// everything). `Ok(None)` when nothing did.
    pub fn commit(
        &mut self,
        tree: &Tree,
        message: &str,
        targets: &[String],
    ) -> Result<Option<Committed>> {
        let wanted = |p: &str| targets.iter().any(|t| under(t, p));
        let mut plan = Plan::default();
        for (rel, d) in &self.state.dirs {
            if d.added && wanted(rel) {
                plan.ops.push(plan_mkdir(&parse_dir(&format!(
                    "{}/{rel}/",
                    self.state.tree_path
                ))?)?);
                plan.shown.push((rel.clone(), Action::Adding));
            }
        }
        let entries: Vec<(String, Entry)> = self
            .state
            .entries
            .iter()
            .filter(|(rel, e)| wanted(rel) || e.renamed_from.as_deref().is_some_and(&wanted))
            .map(|(r, e)| (r.clone(), e.clone()))
            .collect();
        if let Some((rel, _)) = entries.iter().find(|(_, e)| e.conflict || e.prop_conflict) {
            bail!(
                "Commit failed: '{rel}' remains in conflict (edit it, then docgrid resolve {rel})"
            );
        }
        plan.contents = self.upload_changed(tree, &entries)?;
        for (rel, e) in &entries {
            self.plan_entry(tree, rel, e, &mut plan)?;
        }
        if plan.ops.is_empty() {
            return Ok(None);
        }
        plan.shown.sort_by(|a, b| a.0.cmp(&b.0));
        for (rel, action) in &plan.shown {
            outln!("{:<15}{rel}", action.word());
        }
        if plan.uploads > 0 {
            outln!("Transmitting file data {}done", ".".repeat(plan.uploads));
        }
        outln!("Committing transaction...");
        let rev = match tree.commit(message, std::mem::take(&mut plan.ops)) {
            Ok(rev) => rev,
            Err(e @ ClientError::Conflict { .. }) => {
                return Err(anyhow::Error::new(e).context("Commit failed"));
            }
            Err(e) => return Err(e.into()),
        };
        self.record(tree, rev, plan.touched, &wanted)?;
        Ok(Some(Committed { rev }))
    }

    /// Uploads the content of every added or modified file among
    /// `entries`, together (small files in a few batched requests).
    fn upload_changed(
        &self,
        tree: &Tree,
        entries: &[(String, Entry)],
    ) -> Result<HashMap<String, Manifest>> {
        let mut need = Vec::new();
        for (rel, e) in entries {
            if !e.delete && (e.id.is_none() || self.modified(rel, e)?) {
                need.push(rel.as_str());
            }
        }
        let files: Vec<PathBuf> = need.iter().map(|rel| self.file(rel)).collect();
        let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let manifests = tree.upload_files(&paths)?;
        Ok(need
            .into_iter()
            .map(str::to_string)
            .zip(manifests)
            .collect())
    }

    /// The operations for one file.
    fn plan_entry(&self, tree: &Tree, rel: &str, e: &Entry, plan: &mut Plan) -> Result<()> {
        let Some(id) = e.id else {
            let new = plan_create(&self.dir_of(rel)?, rel_name(rel))?;
            let content = plan.contents.remove(rel).context("uploaded")?;
            let id = DocId::random();
            let mut op = new.op(id, content);
            if let Op::Create { meta, .. } = &mut op {
                apply_props(meta, &e.prop_changes);
            }
            plan.ops.push(op);
            plan.uploads += 1;
            plan.shown.push((rel.to_string(), Action::Adding));
            plan.touched.push((rel.to_string(), Some(id)));
            return Ok(());
        };
        if e.delete {
            let edit: DocEdit = plan_remove(&self.dir_of(rel)?)?;
            plan.ops
                .extend(edit_ops(id, e.rev, rel_name(rel), &e.props, &edit));
            plan.shown.push((rel.to_string(), Action::Deleting));
            plan.touched.push((rel.to_string(), None));
            return Ok(());
        }
        let before = plan.ops.len();
        for (k, v) in &e.prop_changes {
            plan.ops.push(Op::SetMeta {
                id,
                base: e.rev,
                key: k.clone(),
                values: v.clone(),
            });
        }
        if let Some(from) = &e.renamed_from {
            // The full metadata (path included): a rename renames the
            // document's /files/ name too.
            let mut meta = tree.doc(&id)?.meta.clone();
            apply_props(&mut meta, &e.prop_changes);
            let edit = plan_rename(&self.dir_of(from)?, &self.dir_of(rel)?, rel_name(rel))?;
            plan.ops
                .extend(edit_ops(id, e.rev, rel_name(from), &meta, &edit));
            plan.shown.push((from.clone(), Action::Deleting));
            plan.shown.push((rel.to_string(), Action::Adding));
        }
        if let Some(content) = plan.contents.remove(rel) {
            plan.ops.push(Op::SetContent {
                id,
                base: e.rev,
                content,
            });
            plan.uploads += 1;
            if e.renamed_from.is_none() {
                plan.shown.push((rel.to_string(), Action::Sending));
            }
        } else if plan.ops.len() > before && e.renamed_from.is_none() {
            plan.shown.push((rel.to_string(), Action::Sending));
        }
        if plan.ops.len() > before {
            plan.touched.push((rel.to_string(), Some(id)));
        }
        Ok(())
    }

    /// Records the new bases of what `rev` committed.
    fn record(
        &mut self,
        tree: &Tree,
        rev: u64,
        touched: Vec<(String, Option<DocId>)>,
        wanted: &dyn Fn(&str) -> bool,
    ) -> Result<()> {
        for (rel, id) in touched {
            let Some(id) = id else {
                self.state.entries.remove(&rel);
                continue;
            };
            let doc = tree.client().doc(&id)?;
            let file = self.file(&rel);
            let pristine = self.pristine(&doc.hash);
            if !pristine.exists() {
                std::fs::copy(&file, &pristine)?;
            }
            self.state.entries.insert(rel, Entry::clean(&doc, &file));
        }
        self.state.dirs.retain(|d, e| !(e.delete && wanted(d)));
        for (d, e) in &mut self.state.dirs {
            if wanted(d) {
                e.added = false;
            }
        }
        // Nobody else committed in between: the whole copy is at `rev`.
        if rev == self.state.rev + 1 {
            self.state.rev = rev;
        }
        self.save()
    }
}
