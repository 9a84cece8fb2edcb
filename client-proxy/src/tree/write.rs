//! Writing through the tree. Each write is planned by core's rules
//! (`plan_create`, `plan_remove`, `plan_rename`, `plan_mkdir`,
//! `plan_rmdir`, `xattr_set_op`), committed as one changeset against the
//! revision of each document the caller saw, and then reflected in the
//! caches at once (this process reads its own writes).

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use docgrid_core::DocId;
use docgrid_core::api::{ContentManifest, DocInfo, EntryKind, MTIME_KEY};
use docgrid_core::model::{ChunkRef, FORMAT_VERSION, Manifest, Op};
use docgrid_core::store::Locator;
use docgrid_core::tree::{self as rules, Dir, TreeError};

use super::{Node, Tree, doc_entry, node_in};
use crate::error::ClientError;
use crate::upload::UploadStats;

/// The bytes of a document to write.
pub enum Content {
    /// In memory.
    Bytes(Vec<u8>),
    /// A local file, read as it is uploaded.
    File(PathBuf),
    /// Whatever a reader gives, to its end.
    Reader(Box<dyn Read + Send>),
}

impl From<Vec<u8>> for Content {
    fn from(v: Vec<u8>) -> Content {
        Content::Bytes(v)
    }
}

impl From<&[u8]> for Content {
    fn from(v: &[u8]) -> Content {
        Content::Bytes(v.to_vec())
    }
}

impl Tree {
    /// Uploads `content` (only the chunks the server lacks) and returns its
    /// manifest, ready for a `Create` or `SetContent`.
    pub fn upload(&self, content: Content) -> Result<Manifest, ClientError> {
        let mut stats = UploadStats::default();
        let quiet = |_: &UploadStats| {};
        match content {
            Content::Bytes(v) => {
                self.client
                    .upload_reader(&mut v.as_slice(), "the new content", &mut stats, &quiet)
            }
            Content::File(p) => self.client.upload_content(&p, &mut stats, &quiet),
            Content::Reader(mut r) => {
                self.client
                    .upload_reader(&mut r, "the new content", &mut stats, &quiet)
            }
        }
    }

    /// Uploads the content of `files` together (small files batched in few
    /// requests) and returns their manifests in order.
    pub fn upload_files(&self, files: &[&std::path::Path]) -> Result<Vec<Manifest>, ClientError> {
        let mut stats = UploadStats::default();
        self.client.upload_files(files, &mut stats, &|_| {})
    }

    /// Commits `ops` and reflects them in the caches before returning the
    /// new revision: what every write here ends with (and the CLI's
    /// working-copy commits).
    pub fn commit(&self, message: &str, ops: Vec<Op>) -> Result<u64, ClientError> {
        let docs: Vec<DocId> = ops.iter().filter_map(Op::doc).collect();
        let rev = match self.client.commit(message, ops) {
            Ok(r) => r.rev,
            Err(e) => {
                // What the conflict names changed since it was cached: the
                // next read (a reload) fetches it fresh.
                if let ClientError::Conflict { conflicts, .. } = &e {
                    let changed = conflicts.iter().map(|c| (c.id, c.current));
                    self.state.drop_docs(changed, false);
                }
                return Err(e);
            }
        };
        self.state.committed(rev, docs);
        Ok(rev)
    }

    /// Applies `edit` (core's [`rules::DocEdit`]) to document `id` as
    /// seen at revision `base`: one commit of the operations core's
    /// `edit_ops` plans (none, and `base` back, for an edit that changes
    /// nothing). A document changed since `base` is
    /// [`ClientError::Conflict`] and nothing is applied.
    pub fn edit(&self, id: DocId, base: u64, edit: &rules::DocEdit) -> Result<u64, ClientError> {
        let doc = self.doc_at(&id, base)?;
        let ops = rules::edit_ops(id, base, &doc.name, &doc.meta, edit);
        if ops.is_empty() {
            return Ok(base);
        }
        self.commit(&format!("edit {}", doc.name), ops)
    }

    /// Creates a document called `name` in directory `dir` with the
    /// metadata `dir` implies (tags on the path, `K=V` pairs, `path` under
    /// `/files/`). Returns it as `dir` lists it.
    pub fn create(&self, dir: &str, name: &str, content: Content) -> Result<Node, ClientError> {
        let d = rules::parse_dir(dir)?;
        let plan = rules::plan_create(&d, name)?;
        let manifest = self.upload(content)?;
        let id = DocId::random();
        let message = format!("create {name} in {}", d.to_path());
        self.commit(&message, vec![plan.op(id, manifest)])?;
        self.node_of(&d, id)
    }

    /// New content for the document `node` (its id, metadata and name
    /// stay), against the revision `node` was seen at. Returns it anew.
    pub fn replace_content(&self, node: &Node, content: Content) -> Result<Node, ClientError> {
        let id = node.id().ok_or_else(|| not_a_doc(&node.path))?;
        let base = self.base_of(node)?;
        let manifest = self.upload(content)?;
        let op = Op::SetContent {
            id,
            base,
            content: manifest,
        };
        self.commit(&format!("update {}", node.name()), vec![op])?;
        self.refreshed(node)
    }

    /// Removes the entry `name` from `dir` (`rm`): the innermost metadata
    /// `dir` implies goes (in `/tags/A/B/` the tag B), or, in `/all/`,
    /// `/files/` and `/ids/`, the document is deleted. Returns the
    /// revision.
    pub fn remove(&self, dir: &str, name: &str) -> Result<u64, ClientError> {
        let d = rules::parse_dir(dir)?;
        let node = self.doc_node(&d, name)?;
        let edit = rules::plan_remove(&d)?;
        let id = node.id().ok_or_else(|| not_a_doc(&node.path))?;
        let base = self.base_of(&node)?;
        let doc = self.doc_at(&id, base)?;
        let ops = rules::edit_ops(id, base, &doc.name, &doc.meta, &edit);
        if ops.is_empty() {
            return Ok(base);
        }
        self.commit(&format!("remove {name} from {}", d.to_path()), ops)
    }

    /// Moves the entry `name` of `from` to `to`, called `new_name` (`mv`):
    /// `from`'s innermost metadata goes, `to`'s comes, the name is set.
    /// Over an existing document of `to` (an editor's atomic save), that
    /// document gets this one's content and keeps its id and metadata, and
    /// this one is deleted. Returns the entry as `to` lists it.
    pub fn rename(
        &self,
        from: &str,
        name: &str,
        to: &str,
        new_name: &str,
    ) -> Result<Node, ClientError> {
        let (from_dir, to_dir) = (rules::parse_dir(from)?, rules::parse_dir(to)?);
        let node = self.doc_node(&from_dir, name)?;
        let id = node.id().ok_or_else(|| not_a_doc(&node.path))?;
        let base = self.base_of(&node)?;
        let target = self.list_dir(&to_dir)?.get(new_name).cloned();
        match target {
            Some(t) if t.kind == EntryKind::Dir => Err(ClientError::WrongKind {
                what: format!("{}{new_name}/ is a directory", to_dir.to_path()),
                is_dir: true,
            }),
            Some(t) if t.id != Some(id) => {
                let target = node_in(&to_dir, t);
                self.replace_by(&target, id, base)?;
                self.refreshed(&target)
            }
            _ => {
                let doc = self.doc_at(&id, base)?;
                // Moved under the name it was shown as (`stem~SHORTID.ext`
                // where it clashed): its name stays what it is.
                let new_name = if new_name == name {
                    doc.name.as_str()
                } else {
                    new_name
                };
                let edit = rules::plan_rename(&from_dir, &to_dir, new_name)?;
                let ops = rules::edit_ops(id, base, &doc.name, &doc.meta, &edit);
                if !ops.is_empty() {
                    let message = format!(
                        "move {}{name} to {}{new_name}",
                        from_dir.to_path(),
                        to_dir.to_path()
                    );
                    self.commit(&message, ops)?;
                }
                self.node_of(&to_dir, id)
            }
        }
    }

    /// [`Tree::remove`] of the entry at `path`.
    pub fn remove_at(&self, path: &str) -> Result<u64, ClientError> {
        let (dir, name) = rules::split_entry_name(path)?;
        self.remove(&dir.to_path(), &name)
    }

    /// [`Tree::rename`] from the entry at `from` to `to`: a full path; a
    /// directory (an existing one, or ending with `/`), where the entry
    /// keeps its name; or a bare name, for a new name in the same
    /// directory.
    pub fn rename_at(&self, from: &str, to: &str) -> Result<Node, ClientError> {
        let (from_dir, name) = rules::split_entry_name(from)?;
        let (to_dir, new_name) = if !to.contains('/') {
            (from_dir.clone(), to.to_string())
        } else if to.ends_with('/') || self.lookup(to).is_ok_and(|n| n.is_dir()) {
            (rules::parse_dir(to)?, name.clone())
        } else {
            let (d, n) = rules::split_entry_name(to)?;
            (d, n)
        };
        self.rename(&from_dir.to_path(), &name, &to_dir.to_path(), &new_name)
    }

    /// `target` takes the content of document `source` (seen at `base`),
    /// which is deleted: one commit. The content's modification time
    /// ([`MTIME_KEY`]) goes with it, as a file's does when it is renamed
    /// over another (rsync sets it on its temporary file, then renames).
    fn replace_by(&self, target: &Node, source: DocId, base: u64) -> Result<u64, ClientError> {
        let target_id = target.id().ok_or_else(|| not_a_doc(&target.path))?;
        let manifest = model_manifest(&self.client.manifest(&source)?);
        let target_base = self.base_of(target)?;
        // Fresh: a listing may still show the source before this client's
        // own last commit to it (rsync sets its temporary file's time just
        // before the rename).
        // Its content is read as it is now, so its base is now too.
        let src = self.fetch_doc(&source)?;
        let (base, mtime) = (src.rev.max(base), src.meta.get(MTIME_KEY).cloned());
        let had = self
            .doc_at(&target_id, target_base)?
            .meta
            .get(MTIME_KEY)
            .cloned();
        let mut ops = vec![Op::SetContent {
            id: target_id,
            base: target_base,
            content: manifest,
        }];
        if mtime != had {
            ops.push(Op::SetMeta {
                id: target_id,
                base: target_base,
                key: MTIME_KEY.into(),
                values: mtime.unwrap_or_default(),
            });
        }
        ops.push(Op::Delete { id: source, base });
        self.commit(&format!("replace {}", target.path), ops)
    }

    /// Creates the directory `path` (`mkdir`): a tag under `/tags/`, a
    /// directory under `/files/`.
    pub fn mkdir(&self, path: &str) -> Result<u64, ClientError> {
        let d = rules::parse_dir(path)?;
        let op = rules::plan_mkdir(&d)?;
        self.commit(&format!("mkdir {}", d.to_path()), vec![op])
    }

    /// Removes the directory `path` (`rmdir`): a tag no document carries, an
    /// empty `/files/` directory; an empty co-tag or `/by/` directory
    /// (which exists only through its documents) with no commit. A used one
    /// is refused with
    /// [`ErrorKind::NotEmpty`](crate::ErrorKind::NotEmpty).
    pub fn rmdir(&self, path: &str) -> Result<u64, ClientError> {
        let d = rules::parse_dir(path)?;
        let plan = rules::plan_rmdir(&d)?;
        match plan.op() {
            Some(op) => self.commit(&format!("rmdir {}", d.to_path()), vec![op]),
            None => {
                let listing = self.list_dir(&d)?;
                match listing.entries().len() {
                    0 => Ok(listing.rev),
                    entries => Err(TreeError::NotEmpty {
                        dir: d.to_path(),
                        entries,
                    }
                    .into()),
                }
            }
        }
    }

    /// Sets extended attribute `name` (`user.docgrid.KEY`) of the document
    /// `node` to `value` (values one per line; empty removes the key).
    pub fn set_xattr(&self, node: &Node, name: &str, value: &[u8]) -> Result<u64, ClientError> {
        let id = node.id().ok_or_else(|| not_a_doc(&node.path))?;
        let op = rules::xattr_set_op(id, self.base_of(node)?, name, value)?;
        self.commit(&format!("set {name} on {}", node.name()), vec![op])
    }

    /// Removes extended attribute `name` of the document `node`.
    pub fn remove_xattr(&self, node: &Node, name: &str) -> Result<u64, ClientError> {
        let id = node.id().ok_or_else(|| not_a_doc(&node.path))?;
        let meta = &self.doc(&id)?.meta;
        if rules::xattr_get(meta, name).is_none() {
            return Err(ClientError::NotFound {
                what: format!("{} has no attribute {name:?}", node.path),
            });
        }
        let op = rules::xattr_remove_op(id, self.base_of(node)?, name)?;
        self.commit(&format!("remove {name} from {}", node.name()), vec![op])
    }

    // ---- helpers -------------------------------------------------------------

    /// The document entry `name` of `dir`.
    fn doc_node(&self, dir: &Dir, name: &str) -> Result<Node, ClientError> {
        let node = self.lookup(&format!("{}{name}", dir.to_path()))?;
        if node.is_dir() {
            return Err(ClientError::WrongKind {
                what: format!("{} is a directory", node.path),
                is_dir: true,
            });
        }
        Ok(node)
    }

    /// The revision a write to `node` is based on: the one it was seen at.
    fn base_of(&self, node: &Node) -> Result<u64, ClientError> {
        match (node.rev(), node.id()) {
            (Some(rev), _) => Ok(rev),
            (None, Some(id)) => Ok(self.doc(&id)?.rev),
            (None, None) => Err(not_a_doc(&node.path)),
        }
    }

    /// The document as it was at `base`, if that is what the server has;
    /// else the newest (the commit will then be refused as out of date).
    fn doc_at(&self, id: &DocId, base: u64) -> Result<Arc<DocInfo>, ClientError> {
        let doc = self.doc(id)?;
        if doc.rev == base {
            return Ok(doc);
        }
        self.fetch_doc(id)
    }

    /// Document `id` as directory `dir` lists it now, or from its metadata
    /// when `dir` does not list it (a query it no longer matches).
    fn node_of(&self, dir: &Dir, id: DocId) -> Result<Node, ClientError> {
        if *dir == Dir::Ids {
            return self.lookup_id(&id.to_string());
        }
        if let Some(e) = self.list_dir(dir)?.by_id(&id) {
            return Ok(node_in(dir, e.clone()));
        }
        let doc = self.doc(&id)?;
        Ok(node_in(dir, doc_entry(doc.name.clone(), &doc)))
    }

    /// `node` as its directory lists it after a write.
    fn refreshed(&self, node: &Node) -> Result<Node, ClientError> {
        let (dir, _) = rules::split_entry(&node.path)?;
        let id = node.id().ok_or_else(|| not_a_doc(&node.path))?;
        self.node_of(&dir, id)
    }
}

/// A manifest from the API as the model has it (the server fills in the
/// locators).
fn model_manifest(m: &ContentManifest) -> Manifest {
    Manifest {
        version: FORMAT_VERSION,
        size: m.size,
        hash: m.hash,
        chunks: m
            .chunks
            .iter()
            .map(|c| ChunkRef {
                hash: c.hash,
                len: c.len,
                locator: Locator::new(""),
            })
            .collect(),
    }
}

fn not_a_doc(path: &str) -> ClientError {
    ClientError::WrongKind {
        what: format!("{path} is not a document"),
        is_dir: true,
    }
}
