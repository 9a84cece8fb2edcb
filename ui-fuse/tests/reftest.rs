//! The reference-model test: random sequences of filesystem operations
//! and out-of-band edits by another client, applied to the filesystem core
//! over a real server and to a model built on core's rules and
//! `list_naive`, give the same directories, listings, documents and
//! contents after every step.

mod common;

use std::collections::BTreeMap;

use common::{Rig, pid};
use docgrid_client::tree::Content;
use docgrid_core::DocId;
use docgrid_core::model::Metadata;
use docgrid_core::tree::{self as rules, DocView, Extras, list_naive};
use proptest::prelude::*;

/// The directories steps act in.
const DIRS: &[&str] = &[
    "/all/",
    "/tags/a/",
    "/tags/b/",
    "/tags/a/b/",
    "/files/",
    "/files/x/",
];
/// The names they use (clashes between documents included).
const NAMES: &[&str] = &["a.txt", "b.txt", "n", "café.md"];
/// Tags made and removed as directories.
const NEW_TAGS: &[&str] = &["c", "d"];
/// Metadata keys set as extended attributes.
const KEYS: &[&str] = &["artist", "tag", "year"];

#[derive(Debug, Clone)]
enum Step {
    /// Create `name` in `dir`, or overwrite it if it is there.
    Write {
        dir: usize,
        name: usize,
        data: Vec<u8>,
    },
    /// `rm` the `pick`th document of `dir`.
    Unlink {
        dir: usize,
        pick: usize,
    },
    /// `mv` the `pick`th document of `from` into `to`, maybe renamed.
    Rename {
        from: usize,
        pick: usize,
        to: usize,
        name: Option<usize>,
    },
    Mkdir {
        tag: usize,
    },
    Rmdir {
        tag: usize,
    },
    /// `setfattr` on the `pick`th document of `/all/`.
    SetXattr {
        pick: usize,
        key: usize,
        value: usize,
    },
    /// Another client creates `name` in `dir`.
    OtherCreate {
        dir: usize,
        name: usize,
        data: Vec<u8>,
    },
    /// Another client deletes the `pick`th document of `/all/`.
    OtherDelete {
        pick: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let dir = 0..DIRS.len();
    let name = 0..NAMES.len();
    let data = proptest::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        3 => (dir.clone(), name.clone(), data.clone()).prop_map(|(dir, name, data)| Step::Write { dir, name, data }),
        2 => (dir.clone(), 0..8usize).prop_map(|(dir, pick)| Step::Unlink { dir, pick }),
        2 => (dir.clone(), 0..8usize, dir.clone(), proptest::option::of(name.clone()))
            .prop_map(|(from, pick, to, name)| Step::Rename { from, pick, to, name }),
        1 => (0..NEW_TAGS.len()).prop_map(|tag| Step::Mkdir { tag }),
        1 => (0..NEW_TAGS.len()).prop_map(|tag| Step::Rmdir { tag }),
        1 => (0..8usize, 0..KEYS.len(), 0..3usize).prop_map(|(pick, key, value)| Step::SetXattr { pick, key, value }),
        2 => (dir, name, data).prop_map(|(dir, name, data)| Step::OtherCreate { dir, name, data }),
        1 => (0..8usize).prop_map(|pick| Step::OtherDelete { pick }),
    ]
}

/// The model: documents and what exists without them.
#[derive(Debug, Default)]
struct Model {
    docs: BTreeMap<DocId, (String, Metadata, Vec<u8>)>,
    extras: Extras,
}

impl Model {
    fn views(&self) -> Vec<DocView> {
        self.docs
            .iter()
            .map(|(id, (name, meta, _))| DocView {
                id: *id,
                name: name.clone(),
                meta: meta.clone(),
                rev: 0,
            })
            .collect()
    }

    /// `path`'s entries, or `None` if it does not exist.
    fn list(&self, path: &str) -> Option<Vec<rules::Entry>> {
        let dir = rules::parse_dir(path).ok()?;
        if let Some(parent) = dir.parent() {
            let name = path.trim_end_matches('/').rsplit('/').next()?;
            let up = self.list(&parent.to_path())?;
            if !up.iter().any(|e| e.doc.is_none() && e.name == name) {
                return None;
            }
        }
        list_naive(&dir.listing(), &self.views(), &self.extras)
    }

    /// The `pick`th document entry of `path`.
    fn pick(&self, path: &str, pick: usize) -> Option<(String, DocId)> {
        let docs: Vec<_> = self
            .list(path)?
            .into_iter()
            .filter_map(|e| Some((e.name, e.doc?)))
            .collect();
        (!docs.is_empty()).then(|| docs[pick % docs.len()].clone())
    }

    fn named(&self, path: &str, name: &str) -> Option<rules::Entry> {
        self.list(path)?.into_iter().find(|e| e.name == name)
    }

    fn create(&mut self, dir: &str, name: &str, id: DocId, data: &[u8]) -> bool {
        let Ok(plan) = rules::parse_dir(dir).and_then(|d| rules::plan_create(&d, name)) else {
            return false;
        };
        self.docs.insert(id, (plan.name, plan.meta, data.to_vec()));
        true
    }

    fn edit(&mut self, id: &DocId, edit: &rules::DocEdit) {
        if edit.delete {
            self.docs.remove(id);
            return;
        }
        let doc = self.docs.get_mut(id).expect("a model document");
        doc.1 = rules::apply_edit(&doc.1, edit);
        if let Some(n) = &edit.rename {
            doc.0 = n.clone();
        }
    }
}

/// The metadata that matters here: the `mtime` a filesystem write keeps
/// is left out.
/// The metadata the model follows: what clients set and `path`, not the
/// keys the server keeps (size, hash, dates…) nor the mount's `mtime`.
fn without_mtime(meta: &Metadata) -> Metadata {
    let mut m = meta.clone();
    m.remove(docgrid_core::api::MTIME_KEY);
    m.retain(|k, _| k == "path" || !docgrid_core::model::RESERVED_KEYS.contains(&k.as_str()));
    m
}

struct Run {
    rig: Rig,
    model: Model,
}

impl Run {
    fn new() -> Run {
        let rig = Rig::new();
        let mut model = Model::default();
        let other = rig.other();
        other.mkdir("/files/x/").unwrap();
        model.extras.dirs.insert("x".into());
        let seed = other
            .create("/tags/a/b/", "seed.txt", Content::Bytes(b"seed".to_vec()))
            .unwrap();
        model.create("/tags/a/b/", "seed.txt", seed.id().unwrap(), b"seed");
        Run { rig, model }
    }

    fn apply(&mut self, step: &Step) {
        match step {
            Step::Write { dir, name, data } => self.write(DIRS[*dir], NAMES[*name], data),
            Step::Unlink { dir, pick } => self.unlink(DIRS[*dir], *pick),
            Step::Rename {
                from,
                pick,
                to,
                name,
            } => self.rename(DIRS[*from], *pick, DIRS[*to], *name),
            Step::Mkdir { tag } => self.mkdir(NEW_TAGS[*tag]),
            Step::Rmdir { tag } => self.rmdir(NEW_TAGS[*tag]),
            Step::SetXattr { pick, key, value } => self.set_xattr(*pick, KEYS[*key], *value),
            Step::OtherCreate { dir, name, data } => {
                self.other_create(DIRS[*dir], NAMES[*name], data)
            }
            Step::OtherDelete { pick } => self.other_delete(*pick),
        }
        // Held removals apply; out-of-band commits are seen (as the change
        // feed would tell a mounted filesystem).
        self.rig.fs.settle().unwrap();
        self.rig.fs.tree().invalidate_all();
    }

    fn write(&mut self, dir: &str, name: &str, data: &[u8]) {
        if self.model.list(dir).is_none() {
            assert!(self.rig.lookup(dir).is_err(), "{dir} should not exist");
            return;
        }
        match self.model.named(dir, name) {
            Some(rules::Entry { doc: Some(id), .. }) => {
                self.rig.overwrite(&format!("{dir}{name}"), data);
                self.model.docs.get_mut(&id).unwrap().2 = data.to_vec();
            }
            Some(_) => {}
            None => {
                let ino = self.rig.dir(dir);
                let created = self.rig.fs.create(ino, name, pid());
                let Ok((a, fh)) = created else {
                    assert!(
                        !self.model_can_create(dir, name),
                        "create {dir}{name}: {created:?}"
                    );
                    return;
                };
                let before = self.live_ids();
                self.rig.fs.write(a.ino, fh, 0, data).unwrap();
                self.rig.fs.release(a.ino, fh).unwrap();
                // Its name may clash (`a~SHORTID.txt`): found by id.
                let new: Vec<DocId> = self.live_ids().difference(&before).copied().collect();
                assert_eq!(new.len(), 1, "create {dir}{name} made one document");
                let id = new[0];
                assert!(
                    self.model.create(dir, name, id, data),
                    "created {dir}{name} against the rules"
                );
            }
        }
    }

    /// The ids of every live document, from the server.
    fn live_ids(&self) -> std::collections::BTreeSet<DocId> {
        let all = self.rig.other().list("/all/").unwrap();
        all.entries().iter().filter_map(|e| e.id).collect()
    }

    fn model_can_create(&self, dir: &str, name: &str) -> bool {
        rules::parse_dir(dir)
            .and_then(|d| rules::plan_create(&d, name))
            .is_ok()
    }

    fn unlink(&mut self, dir: &str, pick: usize) {
        let Some((name, id)) = self.model.pick(dir, pick) else {
            return;
        };
        let got = self.rig.fs.unlink(self.rig.dir(dir), &name, pid());
        match rules::parse_dir(dir).and_then(|d| rules::plan_remove(&d)) {
            Ok(edit) => {
                got.unwrap();
                self.model.edit(&id, &edit);
            }
            Err(e) => assert!(got.is_err(), "rm {dir}{name} succeeded; the rules say {e}"),
        }
    }

    fn rename(&mut self, from: &str, pick: usize, to: &str, name: Option<usize>) {
        let Some((old, id)) = self.model.pick(from, pick) else {
            return;
        };
        if self.model.list(to).is_none() {
            return;
        }
        let new = name.map_or(self.model.docs[&id].0.clone(), |n| NAMES[n].to_string());
        if self.model.named(to, &new).is_some() {
            return; // rename over an entry: the editor tests cover it
        }
        let got = self.rig.fs.rename(
            (self.rig.dir(from), &old),
            (self.rig.dir(to), &new),
            0,
            pid(),
        );
        let plan = rules::parse_dir(from)
            .and_then(|f| rules::parse_dir(to).map(|t| (f, t)))
            .and_then(|(f, t)| rules::plan_rename(&f, &t, &new));
        match plan {
            Ok(edit) => {
                got.unwrap_or_else(|e| panic!("mv {from}{old} {to}{new}: {e}"));
                self.model.edit(&id, &edit);
            }
            Err(e) => assert!(
                got.is_err(),
                "mv {from}{old} {to}{new} succeeded; the rules say {e}"
            ),
        }
    }

    fn mkdir(&mut self, tag: &str) {
        let got = self.rig.fs.mkdir(self.rig.dir("/tags/"), tag, pid());
        if self.model.named("/tags/", tag).is_some() {
            assert_eq!(got.unwrap_err().errno(), libc::EEXIST);
        } else {
            got.unwrap();
            self.model.extras.tags.insert(tag.into());
        }
    }

    fn rmdir(&mut self, tag: &str) {
        let got = self.rig.fs.rmdir(self.rig.dir("/tags/"), tag, pid());
        let used = self
            .model
            .docs
            .values()
            .any(|(_, m, _)| m.get("tag").is_some_and(|t| t.iter().any(|v| v == tag)));
        match self.model.named("/tags/", tag) {
            None => assert_eq!(got.unwrap_err().errno(), libc::ENOENT),
            Some(_) if used => assert_eq!(got.unwrap_err().errno(), libc::ENOTEMPTY),
            Some(_) => {
                got.unwrap();
                self.model.extras.tags.remove(tag);
            }
        }
    }

    fn set_xattr(&mut self, pick: usize, key: &str, value: usize) {
        let Some((name, id)) = self.model.pick("/all/", pick) else {
            return;
        };
        let ino = self.rig.lookup(&format!("/all/{name}")).unwrap().ino;
        let text = ["a", "b", "1959,1960"][value];
        self.rig
            .fs
            .setxattr(ino, &format!("user.docgrid.{key}"), text.as_bytes())
            .unwrap();
        let doc = self.model.docs.get_mut(&id).unwrap();
        doc.1.insert(key.into(), rules::split_values(text));
    }

    fn other_create(&mut self, dir: &str, name: &str, data: &[u8]) {
        if self.model.list(dir).is_none() {
            return;
        }
        let got = self
            .rig
            .other()
            .create(dir, name, Content::Bytes(data.to_vec()));
        match got {
            Ok(node) => assert!(self.model.create(dir, name, node.id().unwrap(), data)),
            Err(e) => assert!(!self.model_can_create(dir, name), "{dir}{name}: {e}"),
        }
    }

    fn other_delete(&mut self, pick: usize) {
        let Some((name, id)) = self.model.pick("/all/", pick) else {
            return;
        };
        self.rig.other().remove("/all/", &name).unwrap();
        self.model.docs.remove(&id);
    }

    /// The filesystem and the model agree on every directory of the
    /// steps, on `/tags/`, and on each document's content and metadata.
    fn check(&self, after: &Step) {
        for dir in DIRS.iter().chain(&["/tags/", "/files/x/"]) {
            let want = self.model.list(dir).map(|es| {
                let mut n: Vec<String> = es.into_iter().map(|e| e.name).collect();
                n.sort();
                n
            });
            let got = self.rig.lookup(dir).ok().map(|_| self.rig.ls(dir));
            assert_eq!(got, want, "{dir} after {after:?}");
        }
        for (id, (name, meta, data)) in &self.model.docs {
            let doc = self.rig.doc_by_id(id).expect("a live document");
            assert_eq!(
                (&doc.name, &without_mtime(&doc.meta)),
                (name, &without_mtime(meta)),
                "after {after:?}"
            );
            assert_eq!(
                &self.rig.read(&format!("/ids/{id}")),
                data,
                "{name} after {after:?}"
            );
        }
        assert_eq!(self.rig.all_names().len(), self.model.docs.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_filesystem_agrees_with_the_model(steps in proptest::collection::vec(step(), 1..14)) {
        let mut run = Run::new();
        for s in &steps {
            run.apply(s);
            run.check(s);
        }
    }
}
