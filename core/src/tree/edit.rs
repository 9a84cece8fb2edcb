//! Document edits planned by the write rules, and the operations they become.

use std::collections::BTreeSet;

use crate::id::DocId;
use crate::model::{Metadata, Op};

/// What an edit does to a document's `path`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PathEdit {
    /// Leave it.
    #[default]
    Keep,
    /// Replace every value with this one (relative, valid).
    Set(String),
    /// Remove the key (the document leaves `/files/`).
    Clear,
}

/// A change to one existing document, planned by
/// [`plan_remove`](super::plan_remove) or [`plan_rename`](super::plan_rename).
///
/// Applied in this order: `remove`, then `add`, then `path`, then `rename`.
/// When `delete` is set the other fields are empty and the document is
/// deleted instead.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocEdit {
    /// `key = value` pairs to take away (absent ones are ignored).
    pub remove: Vec<(String, String)>,
    /// `key = value` pairs to add (present ones are kept once).
    pub add: Vec<(String, String)>,
    /// The new name, if it changes.
    pub rename: Option<String>,
    /// The change to `path`.
    pub path: PathEdit,
    /// Delete the document.
    pub delete: bool,
}

impl DocEdit {
    /// The edit deleting the document.
    pub fn delete() -> Self {
        DocEdit {
            delete: true,
            ..DocEdit::default()
        }
    }
}

/// The metadata after `edit` (unchanged for a deleting edit).
///
/// Removed values go first (a key left without values disappears), then
/// added ones are appended unless already there, then `path` is set or
/// cleared. A rename updates the `name` key when the metadata carries one
/// (the server keeps it in step with the document's name), and, when `path`
/// is kept, the last component of every `path` value: a document's name in
/// `/files/` is its name everywhere else, so a rename in any view renames
/// it in all of them.
pub fn apply_edit(meta: &Metadata, edit: &DocEdit) -> Metadata {
    let mut out = meta.clone();
    if edit.delete {
        return out;
    }
    for (key, value) in &edit.remove {
        if let Some(values) = out.get_mut(key) {
            values.retain(|v| v != value);
            if values.is_empty() {
                out.remove(key);
            }
        }
    }
    for (key, value) in &edit.add {
        let values = out.entry(key.clone()).or_default();
        if !values.contains(value) {
            values.push(value.clone());
        }
    }
    match &edit.path {
        PathEdit::Keep => {
            if let (Some(name), Some(paths)) = (&edit.rename, out.get_mut("path")) {
                for path in paths.iter_mut() {
                    *path = match path.rsplit_once('/') {
                        Some((dir, _)) => format!("{dir}/{name}"),
                        None => name.clone(),
                    };
                }
            }
        }
        PathEdit::Set(path) => {
            out.insert("path".to_string(), vec![path.clone()]);
        }
        PathEdit::Clear => {
            out.remove("path");
        }
    }
    if let (Some(name), Some(values)) = (&edit.rename, out.get_mut("name")) {
        *values = vec![name.clone()];
    }
    out
}

/// The operations carrying out `edit` on document `id`, written against
/// revision `base`, currently called `name` with metadata `old_meta`.
///
/// A deleting edit is one [`Op::Delete`]. Otherwise: one [`Op::SetMeta`]
/// per key whose values change (in key order; no values removes the key;
/// the `name` key is left to the server), then [`Op::Rename`] if the name
/// changes. An edit that changes nothing gives no operations.
pub fn edit_ops(id: DocId, base: u64, name: &str, old_meta: &Metadata, edit: &DocEdit) -> Vec<Op> {
    if edit.delete {
        return vec![Op::Delete { id, base }];
    }
    let new_meta = apply_edit(old_meta, edit);
    let keys: BTreeSet<&String> = old_meta.keys().chain(new_meta.keys()).collect();
    let mut ops: Vec<Op> = keys
        .into_iter()
        .filter(|key| key.as_str() != "name" && old_meta.get(*key) != new_meta.get(*key))
        .map(|key| Op::SetMeta {
            id,
            base,
            key: key.clone(),
            values: new_meta.get(key).cloned().unwrap_or_default(),
        })
        .collect();
    if let Some(new_name) = edit.rename.as_ref().filter(|n| n.as_str() != name) {
        ops.push(Op::Rename {
            id,
            base,
            name: new_name.clone(),
        });
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(p: &[(&str, &[&str])]) -> Metadata {
        p.iter()
            .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
            .collect()
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn a_rename_in_any_view_renames_the_files_leaf_too() {
        let old = meta(&[("tag", &["proj"]), ("path", &["proj/notes.txt", "a.txt"])]);
        let edit = DocEdit {
            rename: Some("notes-renamed.txt".into()),
            ..DocEdit::default()
        };
        let new = apply_edit(&old, &edit);
        assert_eq!(
            new["path"],
            vec![
                "proj/notes-renamed.txt".to_string(),
                "notes-renamed.txt".to_string()
            ]
        );
        // An explicit path change wins over the name.
        let set = DocEdit {
            path: PathEdit::Set("x/y.txt".into()),
            ..edit
        };
        assert_eq!(apply_edit(&old, &set)["path"], vec!["x/y.txt".to_string()]);
    }

    #[test]
    fn apply_edit_removes_then_adds() {
        let old = meta(&[("tag", &["a", "b"]), ("year", &["2020"])]);
        let edit = DocEdit {
            remove: vec![pair("tag", "b"), pair("year", "2020"), pair("tag", "zz")],
            add: vec![pair("tag", "a"), pair("tag", "b"), pair("tag", "c")],
            ..DocEdit::default()
        };
        assert_eq!(apply_edit(&old, &edit), meta(&[("tag", &["a", "b", "c"])]));
    }

    #[test]
    fn apply_edit_sets_and_clears_path_and_name() {
        let old = meta(&[("name", &["x"]), ("path", &["a/x"])]);
        let set = DocEdit {
            rename: Some("y".into()),
            path: PathEdit::Set("b/y".into()),
            ..DocEdit::default()
        };
        assert_eq!(
            apply_edit(&old, &set),
            meta(&[("name", &["y"]), ("path", &["b/y"])])
        );
        let clear = DocEdit {
            path: PathEdit::Clear,
            ..DocEdit::default()
        };
        assert_eq!(apply_edit(&old, &clear), meta(&[("name", &["x"])]));
        let rename = DocEdit {
            rename: Some("y".into()),
            ..DocEdit::default()
        };
        assert_eq!(apply_edit(&Metadata::new(), &rename), Metadata::new());
    }

    #[test]
    fn apply_edit_delete_leaves_metadata() {
        let old = meta(&[("tag", &["a"])]);
        assert_eq!(apply_edit(&old, &DocEdit::delete()), old);
    }

    #[test]
    fn edit_ops_set_meta_per_changed_key_then_rename() {
        let id = DocId::from_u128(7);
        let old = meta(&[("name", &["x"]), ("tag", &["a", "b"]), ("year", &["1"])]);
        let edit = DocEdit {
            remove: vec![pair("tag", "b")],
            add: vec![pair("year", "1"), pair("mood", "calm")],
            rename: Some("y".into()),
            ..DocEdit::default()
        };
        let ops = edit_ops(id, 3, "x", &old, &edit);
        assert_eq!(
            ops,
            vec![
                Op::SetMeta {
                    id,
                    base: 3,
                    key: "mood".into(),
                    values: vec!["calm".into()]
                },
                Op::SetMeta {
                    id,
                    base: 3,
                    key: "tag".into(),
                    values: vec!["a".into()]
                },
                Op::Rename {
                    id,
                    base: 3,
                    name: "y".into()
                },
            ]
        );
    }

    #[test]
    fn edit_ops_removed_key_has_no_values() {
        let id = DocId::from_u128(7);
        let old = meta(&[("path", &["a/x"])]);
        let edit = DocEdit {
            path: PathEdit::Clear,
            ..DocEdit::default()
        };
        assert_eq!(
            edit_ops(id, 1, "x", &old, &edit),
            vec![Op::SetMeta {
                id,
                base: 1,
                key: "path".into(),
                values: vec![]
            }]
        );
    }

    #[test]
    fn edit_ops_delete_is_one_op() {
        let id = DocId::from_u128(7);
        let ops = edit_ops(id, 9, "x", &Metadata::new(), &DocEdit::delete());
        assert_eq!(ops, vec![Op::Delete { id, base: 9 }]);
    }

    #[test]
    fn edit_ops_no_change_no_ops() {
        let id = DocId::from_u128(7);
        let old = meta(&[("tag", &["a"])]);
        let edit = DocEdit {
            add: vec![pair("tag", "a")],
            rename: Some("x".into()),
            ..DocEdit::default()
        };
        assert!(edit_ops(id, 1, "x", &old, &edit).is_empty());
    }
}
