//! Commits: validate every op against the index, write the changeset to the
//! journal (the commit point), then apply it. A stale base revision refuses
//! the whole commit with 409 naming the documents; nothing is applied.

use std::collections::{HashMap, HashSet};

use docgrid_core::api::{CommitResponse, Conflict};
use docgrid_core::journal::{Journal, JournalError};
use docgrid_core::model::{
    self, Changeset, FORMAT_VERSION, Manifest, Op, is_reserved, validate_key, validate_name,
    validate_path, validate_value,
};
use docgrid_core::store::Locator;
use docgrid_core::{Digest, DocId};
use rusqlite::Connection;

use crate::app::App;
use crate::error::ApiError;
use crate::index::read::{self, DocState};

/// Reserved keys a client may set: `path` (the `/files` namespace) and
/// `author` (a document's author, when not the committer).
const CLIENT_SETTABLE: &[&str] = &["path", "author"];

/// Commits `ops` as `author`; returns the new revision.
pub fn commit(
    app: &App,
    author: &str,
    message: &str,
    mut ops: Vec<Op>,
) -> Result<CommitResponse, ApiError> {
    if ops.is_empty() {
        return Err(ApiError::bad_request(
            "a commit needs at least one operation",
        ));
    }
    let _serial = app.commit_lock.lock().expect("poisoned");
    let started = std::time::Instant::now();
    let (head, _) = app
        .catch_up_to_head()
        .map_err(|e| ApiError::internal(format!("catching up with the journal: {e:#}")))?;
    app.index.read(|conn| Ok(validate(app, conn, &mut ops)))??;
    let validated = started.elapsed();
    let journal = Journal::new(app.store.as_ref());
    let mut cs = Changeset {
        version: FORMAT_VERSION,
        rev: 0,
        parent: None,
        author: author.to_string(),
        time: crate::now_rfc3339(),
        message: message.to_string(),
        ops,
    };
    let head = match journal.append(head.as_ref(), &mut cs) {
        Ok(h) => h,
        Err(JournalError::Moved { found, .. }) => {
            return Err(ApiError::conflict_msg(format!(
                "another writer committed revision {found} to this store; only one primary may write"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let journaled = started.elapsed();
    app.apply(&cs, &head.changeset).map_err(|e| {
        ApiError::internal(format!(
            "revision {} is committed but indexing it failed: {e:#}; restart to retry",
            cs.rev
        ))
    })?;
    app.announce(cs.rev);
    tracing::debug!(
        rev = cs.rev,
        ops = cs.ops.len(),
        ?validated,
        journal = ?(journaled - validated),
        apply = ?(started.elapsed() - journaled),
        "committed"
    );
    Ok(CommitResponse { rev: cs.rev })
}

/// Checks every op; fills chunk locators. Conflicts are gathered and
/// reported together.
fn validate(app: &App, conn: &Connection, ops: &mut [Op]) -> Result<(), ApiError> {
    let mut docs: HashMap<DocId, Option<DocState>> = HashMap::new();
    let mut conflicts: Vec<Conflict> = Vec::new();
    let mut created: HashSet<DocId> = HashSet::new();
    for op in ops.iter_mut() {
        if let Some(id) = op.doc()
            && let std::collections::hash_map::Entry::Vacant(e) = docs.entry(id)
        {
            e.insert(read::doc_state(conn, &id)?);
        }
        match op {
            Op::Create {
                id,
                name,
                meta,
                content,
            } => {
                if docs[id].is_some() || !created.insert(*id) {
                    return Err(ApiError::bad_request(format!(
                        "document {id} already exists"
                    )));
                }
                validate_name(name)?;
                for (k, values) in meta.iter() {
                    check_key_values(k, values)?;
                }
                fill_locators(app, conn, content)?;
            }
            other => check_existing(app, conn, other, &docs, &created, &mut conflicts)?,
        }
    }
    if !conflicts.is_empty() {
        return Err(ApiError::conflict(conflicts));
    }
    Ok(())
}

fn check_existing(
    app: &App,
    conn: &Connection,
    op: &mut Op,
    docs: &HashMap<DocId, Option<DocState>>,
    created: &HashSet<DocId>,
    conflicts: &mut Vec<Conflict>,
) -> Result<(), ApiError> {
    if let Some(id) = op.doc() {
        if created.contains(&id) {
            return Err(ApiError::bad_request(format!(
                "document {id} is created in this commit; set its content and metadata in the Create op"
            )));
        }
        let Some(state) = &docs[&id] else {
            return Err(ApiError::not_found(format!("no document {id}")));
        };
        if let Some(base) = op.base()
            && (base != state.rev || state.deleted)
            && !conflicts.iter().any(|c| c.id == id)
        {
            conflicts.push(Conflict {
                id,
                name: state.name.clone(),
                base,
                current: state.rev,
            });
        }
    }
    let deleting = matches!(op, Op::DeleteTag { .. } | Op::DeleteDir { .. });
    match op {
        Op::SetContent { content, .. } => fill_locators(app, conn, content),
        Op::SetMeta { key, values, .. } => check_key_values(key, values),
        Op::Rename { name, .. } => Ok(validate_name(name)?),
        Op::CreateTag { tag } | Op::DeleteTag { tag } => {
            check_key_values("tag", std::slice::from_ref(tag))?;
            if deleting && tag_in_use(conn, tag)? {
                return Err(ApiError::conflict_msg(format!(
                    "tag {tag:?} is still in use; untag its documents first"
                )));
            }
            Ok(())
        }
        Op::CreateDir { path } | Op::DeleteDir { path } => {
            validate_path(path)?;
            if deleting && dir_in_use(conn, path)? {
                return Err(ApiError::conflict_msg(format!(
                    "directory {path:?} is not empty"
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_key_values(key: &str, values: &[String]) -> Result<(), ApiError> {
    validate_key(key)?;
    if is_reserved(key) && !CLIENT_SETTABLE.contains(&key) {
        return Err(model::ModelError::ReservedKey(key.to_string()).into());
    }
    for v in values {
        validate_value(key, v)?;
        if v.is_empty() {
            return Err(ApiError::bad_request(format!(
                "empty value for key {key:?}"
            )));
        }
        if key == "path" {
            validate_path(v)?;
        }
    }
    Ok(())
}

/// Replaces each chunk's locator with the one the server holds.
fn fill_locators(app: &App, conn: &Connection, m: &mut Manifest) -> Result<(), ApiError> {
    if !m.is_consistent() {
        return Err(ApiError::bad_request(format!(
            "manifest says {} bytes but its chunks add up to {}",
            m.size,
            m.chunks.iter().map(|c| c.len).sum::<u64>()
        )));
    }
    m.version = FORMAT_VERSION;
    for c in &mut m.chunks {
        c.locator = locate(app, conn, &c.hash, c.len)?;
    }
    Ok(())
}

/// Where chunk `hash` is stored, or a 400 asking for its upload.
pub fn locate(app: &App, conn: &Connection, hash: &Digest, len: u64) -> Result<Locator, ApiError> {
    if let Some((loc, stored_len)) = read::chunk(conn, hash)? {
        if stored_len != len {
            return Err(ApiError::bad_request(format!(
                "chunk {hash} is {stored_len} bytes, not {len}"
            )));
        }
        return Ok(loc);
    }
    // Content-addressed stores: the chunk may be stored without a row
    // (index rebuilt); check its length, not just its presence.
    let guess = Locator::for_digest(hash);
    if app.store.has(&guess).unwrap_or(false) {
        let stored = app.store.get(&guess)?.len() as u64;
        if stored != len {
            return Err(ApiError::bad_request(format!(
                "chunk {hash} is {stored} bytes, not {len}"
            )));
        }
        return Ok(guess);
    }
    Err(ApiError::bad_request(format!(
        "chunk {hash} was not uploaded: PUT /v1/chunks/{hash} first"
    )))
}

fn tag_in_use(conn: &Connection, tag: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM meta WHERE key = 'tag' AND value = ?1)",
        [tag],
        |r| r.get(0),
    )
}

fn dir_in_use(conn: &Connection, path: &str) -> rusqlite::Result<bool> {
    let like = format!(
        "{}/%",
        path.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let docs: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM meta WHERE key = 'path' AND value LIKE ?1 ESCAPE '\\')",
        [&like],
        |r| r.get(0),
    )?;
    let dirs: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM dirs WHERE path LIKE ?1 ESCAPE '\\')",
        [&like],
        |r| r.get(0),
    )?;
    Ok(docs || dirs)
}
