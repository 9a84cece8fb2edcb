//! Editing the previewed document's metadata in place: add or remove a
//! tag, add or remove a `key=value`, rename. Each edit is one commit
//! against the revision the preview shows (core's `DocEdit`, carried out
//! by the tree layer); a document someone else changed since is a
//! conflict shown with a reload, never overwritten.

use docgrid_core::api::DocInfo;
use docgrid_core::tree::DocEdit;

use crate::preview::Preview;
use crate::state::{Browser, EditError, Effect};

/// An edit typed or clicked in the preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditMsg {
    /// The "add a tag" field changed.
    TagInput(String),
    /// Enter in the "add a tag" field.
    AddTag,
    /// The `key=value` field changed.
    PairInput(String),
    /// Enter in the `key=value` field.
    AddPair,
    /// The name field changed.
    NameInput(String),
    /// Enter in the name field.
    Rename,
    /// The × of one value of a key.
    Remove {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Fetch the document again (after a conflict).
    Reload,
}

/// What the preview's edit fields hold, and the outcome of the last edit.
#[derive(Debug, Clone, Default)]
pub struct EditState {
    /// The "add a tag" field.
    pub tag: String,
    /// The `key=value` field.
    pub pair: String,
    /// The name field (`None`: showing the document's name).
    pub name: Option<String>,
    /// A commit is under way.
    pub busy: bool,
    /// Someone else changed the document: the message, and a reload.
    pub conflict: Option<String>,
    /// Why the last edit failed otherwise (a bad key, no server).
    pub error: Option<String>,
    /// The commit under way deletes the document.
    pub deleting: bool,
}

impl Preview {
    /// Applies a typed or clicked edit; the edit to commit, if any.
    pub fn edit(&mut self, msg: EditMsg) -> Option<DocEdit> {
        let e = &mut self.editing;
        let edit = match msg {
            EditMsg::TagInput(t) => return set(&mut e.tag, t),
            EditMsg::PairInput(t) => return set(&mut e.pair, t),
            EditMsg::NameInput(t) => return set(e.name.get_or_insert_default(), t),
            EditMsg::Reload => return None,
            EditMsg::AddTag => {
                let tag = std::mem::take(&mut e.tag).trim().to_string();
                (!tag.is_empty()).then(|| add("tag", &tag))?
            }
            EditMsg::AddPair => match e.pair.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                    let edit = add(k.trim(), v.trim());
                    e.pair.clear();
                    edit
                }
                _ => {
                    e.error = Some(format!("{:?} is not key=value", e.pair));
                    return None;
                }
            },
            EditMsg::Rename => {
                let name = e.name.take()?.trim().to_string();
                let current = self.doc.as_ref().map(|d| d.name.as_str());
                if name.is_empty() || Some(name.as_str()) == current {
                    return None;
                }
                DocEdit {
                    rename: Some(name),
                    ..DocEdit::default()
                }
            }
            EditMsg::Remove { key, value } => DocEdit {
                remove: vec![(key, value)],
                ..DocEdit::default()
            },
        };
        // Whether it can be committed now (a revision seen, none under
        // way) is the browser's to say: `Browser::commit_edit`.
        Some(edit)
    }
}

impl Browser {
    /// An edit in the preview: the commit it makes, or a reload.
    pub(crate) fn edit(&mut self, m: EditMsg) -> Vec<Effect> {
        let Some(p) = self.preview.as_mut() else {
            return Vec::new();
        };
        if m == EditMsg::Reload {
            p.editing.conflict = None;
            let path = p.path.clone();
            return self.fetch_preview(&path, true);
        }
        match p.edit(m) {
            Some(edit) => self.commit_edit(edit),
            None => Vec::new(),
        }
    }

    /// The commit of `edit` to the previewed document against the
    /// revision shown, its inverse kept for Ctrl+Z; nothing while another
    /// is under way.
    pub(crate) fn commit_edit(&mut self, edit: DocEdit) -> Vec<Effect> {
        let Some(p) = self.preview.as_mut() else {
            return Vec::new();
        };
        let Some(before) = p.doc.clone().filter(|_| !p.editing.busy) else {
            return Vec::new();
        };
        p.editing.busy = true;
        p.editing.error = None;
        self.undoing = Some((p.id, inverse(&before, &edit)));
        vec![Effect::Edit {
            path: p.path.clone(),
            id: p.id,
            base: before.rev,
            edit,
        }]
    }

    /// Ctrl+Z: undoes the last edit, when its document is the one shown
    /// (against the revision shown; a conflict is shown as for any edit).
    pub fn undo(&mut self) -> Vec<Effect> {
        let Some(p) = self.preview.as_mut() else {
            return Vec::new();
        };
        let (Some(doc), Some((id, _))) = (&p.doc, self.undo.last()) else {
            return Vec::new();
        };
        if *id != p.id || p.editing.busy {
            return Vec::new();
        }
        let (id, edit) = self.undo.pop().expect("just seen");
        p.editing.busy = true;
        self.undoing = None;
        vec![Effect::Edit {
            path: p.path.clone(),
            id,
            base: doc.rev,
            edit,
        }]
    }

    /// An edit's outcome: the columns and the preview fetched again, or
    /// the conflict or error shown.
    pub(crate) fn edited(&mut self, path: &str, result: Result<u64, EditError>) -> Vec<Effect> {
        let Some(p) = self.preview.as_mut().filter(|p| p.path == path) else {
            return Vec::new();
        };
        p.editing.busy = false;
        let deleting = std::mem::take(&mut p.editing.deleting);
        let undoing = self.undoing.take();
        match result {
            Ok(_) => {
                if let Some(u) = undoing.filter(|(_, e)| !is_empty(e)) {
                    self.undo.push(u);
                }
                // A deleted document's preview gives way when its column
                // is listed again.
                // Only its metadata changed: the content shown stays.
                let mut effects = if deleting {
                    Vec::new()
                } else {
                    self.fetch_preview(path, false)
                };
                effects.extend(self.relist());
                effects
            }
            Err(EditError::Conflict(m)) => {
                p.editing.conflict = Some(m);
                Vec::new()
            }
            Err(EditError::Other(m)) => {
                p.editing.error = Some(m);
                Vec::new()
            }
        }
    }
}

fn set(field: &mut String, text: String) -> Option<DocEdit> {
    *field = text;
    None
}

fn add(key: &str, value: &str) -> DocEdit {
    DocEdit {
        add: vec![(key.to_string(), value.to_string())],
        ..DocEdit::default()
    }
}

/// The edit that undoes `edit` made to `before`: what it added that was
/// not there is removed, what it removed that was there comes back, a
/// rename goes back to the old name. (An edit that changed nothing has an
/// empty inverse.)
pub fn inverse(before: &DocInfo, edit: &DocEdit) -> DocEdit {
    let had = |k: &str, v: &str| {
        before
            .meta
            .get(k)
            .is_some_and(|vs| vs.iter().any(|x| x == v))
    };
    DocEdit {
        remove: edit
            .add
            .iter()
            .filter(|(k, v)| !had(k, v))
            .cloned()
            .collect(),
        add: edit
            .remove
            .iter()
            .filter(|(k, v)| had(k, v))
            .cloned()
            .collect(),
        rename: edit
            .rename
            .as_ref()
            .filter(|n| **n != before.name)
            .map(|_| before.name.clone()),
        ..DocEdit::default()
    }
}

/// Whether `edit` changes nothing.
pub fn is_empty(edit: &DocEdit) -> bool {
    edit.add.is_empty() && edit.remove.is_empty() && edit.rename.is_none() && !edit.delete
}
