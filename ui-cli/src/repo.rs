//! The repository-side verbs (`ls`, `cat`, `export`, `info`, `tag`,
//! `untag`, properties, `rm`, `mv`, `mkdir`): thin adapters of the tree
//! layer (`docgrid_client::tree`), which resolves paths and plans every
//! write by core's rules. Nothing here restates a rule of the tree.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use docgrid_client::tree::{Node, Tree};
use docgrid_core::DocId;
use docgrid_core::api::{EntryKind, TreeListing};
use docgrid_core::tree::{join_values, xattr_name};

/// The document a target names (an id or a tree path), with a hint where
/// to look when there is none.
pub fn resolve_doc(tree: &Tree, target: &str) -> Result<Node> {
    let node = tree.resolve(target).with_context(|| {
        let dir = parent_of(target);
        format!("{target}: not found (docgrid ls {dir} shows what is there)")
    })?;
    if node.is_dir() {
        bail!("{target} is a directory: give a document (docgrid ls {target} lists it)");
    }
    Ok(node)
}

/// `ls PATH [--json]`.
pub fn ls(tree: &Tree, path: &str, json: bool) -> Result<()> {
    // A directory that does not exist is an error, an empty one is not; a
    // document lists itself, as `svn ls FILE` does.
    let node = tree.resolve(path).with_context(|| {
        let parent = parent_of(path);
        format!("{path} does not exist (docgrid ls {parent} shows what does)")
    })?;
    if !node.is_dir() {
        let e = &node.entry;
        if json {
            return crate::print_json(e);
        }
        outln!("{:>12}  {}", e.size.unwrap_or(0), e.name);
        return Ok(());
    }
    let l = tree.list(&node.path)?;
    if json {
        return crate::print_json(&TreeListing {
            path: l.path.clone(),
            entries: l.entries().to_vec(),
            total: l.entries().len() as u64,
            offset: 0,
            next_offset: None,
            rev: l.rev,
        });
    }
    for e in l.entries() {
        match e.kind {
            EntryKind::Dir => outln!("{}/", e.name),
            EntryKind::Doc => outln!("{:>12}  {}", e.size.unwrap_or(0), e.name),
        }
    }
    Ok(())
}

/// `cat TARGET`.
pub fn cat(tree: &Tree, target: &str) -> Result<()> {
    let node = resolve_doc(tree, target)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    tree.client().content_to(&doc_id(&node)?, &mut out)?;
    out.flush()?;
    Ok(())
}

/// `info TARGET [--json]`.
pub fn info(tree: &Tree, target: &str, json: bool) -> Result<()> {
    let node = resolve_doc(tree, target)?;
    let d = tree.doc(&doc_id(&node)?)?;
    if json {
        return crate::print_json(&*d);
    }
    outln!(
        "path: {}\nid:   {}\nname: {}\nsize: {}\nrev:  {}\nhash: {}",
        node.path,
        d.id,
        d.name,
        d.size,
        d.rev,
        d.hash
    );
    for (k, vs) in &d.meta {
        outln!("{k}: {}", vs.join(", "));
    }
    Ok(())
}

/// `tag TARGET T…` (`add: true`) and `untag TARGET T…`.
pub fn tag(tree: &Tree, target: &str, tags: &[String], add: bool) -> Result<()> {
    let node = resolve_doc(tree, target)?;
    let mut values = tree
        .doc(&doc_id(&node)?)?
        .meta
        .get("tag")
        .cloned()
        .unwrap_or_default();
    if add {
        for t in tags {
            if !values.contains(t) {
                values.push(t.clone());
            }
        }
    } else {
        values.retain(|v| !tags.contains(v));
    }
    let rev = tree.set_xattr(&node, &xattr_name("tag"), join_values(&values).as_bytes())?;
    eprintln!("{} now at r{rev}", node.name());
    Ok(())
}

/// `propset KEY VALUE TARGET` (`value: Some`) and `propdel KEY TARGET`.
pub fn propset(tree: &Tree, target: &str, key: &str, value: Option<&str>) -> Result<()> {
    let node = resolve_doc(tree, target)?;
    let rev = match value {
        Some(v) => tree.set_xattr(&node, &xattr_name(key), v.as_bytes())?,
        None => tree.remove_xattr(&node, &xattr_name(key))?,
    };
    eprintln!("{} now at r{rev}", node.name());
    Ok(())
}

/// `propget KEY TARGET`.
pub fn propget(tree: &Tree, target: &str, key: &str) -> Result<()> {
    let node = resolve_doc(tree, target)?;
    let d = tree.doc(&doc_id(&node)?)?;
    let values = d
        .meta
        .get(key)
        .with_context(|| format!("{target} has no property {key:?}"))?;
    for v in values {
        outln!("{v}");
    }
    Ok(())
}

/// `proplist TARGET [--json]`.
pub fn proplist(tree: &Tree, target: &str, json: bool) -> Result<()> {
    let node = resolve_doc(tree, target)?;
    let d = tree.doc(&doc_id(&node)?)?;
    if json {
        return crate::print_json(&d.meta);
    }
    for (k, vs) in &d.meta {
        outln!("{k}: {}", vs.join(", "));
    }
    Ok(())
}

/// `rm TARGET`: what removing the entry means where it is listed (in
/// `/tags/A/` the tag goes; in `/all/`, `/files/`, `/ids/` the document).
pub fn rm(tree: &Tree, target: &str) -> Result<()> {
    let node = resolve_doc(tree, target)?;
    let rev = tree.remove_at(&node.path)?;
    eprintln!("removed {} in r{rev}", node.path);
    Ok(())
}

/// `mv TARGET DEST`: DEST a new name, a directory, or a full tree path.
pub fn mv(tree: &Tree, target: &str, dest: &str) -> Result<()> {
    let node = resolve_doc(tree, target)?;
    let moved = tree.rename_at(&node.path, dest)?;
    eprintln!("moved {} to {}", node.path, moved.path);
    Ok(())
}

/// `mkdir PATH`: a tag under `/tags/`, a directory under `/files/`.
pub fn mkdir(tree: &Tree, path: &str) -> Result<()> {
    let rev = tree.mkdir(path)?;
    eprintln!("created {path} in r{rev}");
    Ok(())
}

/// `export TARGET DIR [-r]`: one document, or the documents of a
/// directory (recursively through `/files/` with `--recursive`).
pub fn export(tree: &Tree, target: &str, dir: &Path, recursive: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let node = tree.resolve(target)?;
    if !node.is_dir() {
        return save(tree, &doc_id(&node)?, &dir.join(node.name()));
    }
    if recursive && !node.path.starts_with("/files/") {
        bail!("--recursive follows /files directories only (other directories are queries)");
    }
    for e in tree.list(&node.path)?.entries() {
        match (e.kind, e.id) {
            (EntryKind::Doc, Some(id)) => save(tree, &id, &dir.join(&e.name))?,
            (EntryKind::Dir, _) if recursive => export(
                tree,
                &format!("{}{}/", node.path, e.name),
                &dir.join(&e.name),
                true,
            )?,
            _ => {}
        }
    }
    Ok(())
}

/// Writes document `id` to `path` through a temporary file.
fn save(tree: &Tree, id: &DocId, path: &Path) -> Result<()> {
    let tmp = path.with_extension("docgrid-part");
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    tree.client().content_to(id, &mut f)?;
    f.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The directory above a tree path, for hints (`/` at the top).
pub fn parent_of(path: &str) -> &str {
    let dir = path
        .trim_end_matches('/')
        .rsplit_once('/')
        .map_or("/", |(d, _)| d);
    if dir.is_empty() { "/" } else { dir }
}

fn doc_id(node: &Node) -> Result<DocId> {
    node.id()
        .with_context(|| format!("{} is not a document", node.path))
}
