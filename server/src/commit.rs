//! Commits: validate every op against the index, write the changeset to the
//! journal (the commit point), then apply it. A stale base revision refuses
//! the whole commit with 409 naming the documents; nothing is applied.

use std::collections::{HashMap, HashSet};

use docgrid_core::api::{CommitResponse, Conflict};
use docgrid_core::journal::{Journal, JournalError};
use docgrid_core::model::{
    self, Changeset, FORMAT_VERSION, Manifest, Op, validate_name, validate_path,
};
use docgrid_core::store::Locator;
use docgrid_core::{Digest, DocId};
use rusqlite::Connection;

use crate::app::App;
use crate::error::{ApiError, ServerError};
use crate::index::read::{self, DocState};

/// Commits `ops` as `author`; returns the new revision. Every manifest's
/// whole-content BLAKE3 is checked against its chunks first.
pub fn commit(
    app: &App,
    author: &str,
    message: &str,
    ops: Vec<Op>,
) -> Result<CommitResponse, ApiError> {
    commit_ops(app, author, message, ops, Content::FromClient)
}

/// [`commit`] of the metadata extraction read from documents' content
/// (`SetMeta` ops only, against the revisions it saw): a changeset marked
/// [`Changeset::extracted`], so the keys it sets stay extraction's.
pub fn commit_extracted(app: &App, ops: Vec<Op>) -> Result<CommitResponse, ApiError> {
    let message = format!("extracted metadata of {} document(s)", count_docs(&ops));
    commit_ops(app, EXTRACTION_AUTHOR, &message, ops, Content::Extracted)
}

/// The author of the changesets extraction commits.
pub const EXTRACTION_AUTHOR: &str = "docgrid-extract";

fn count_docs(ops: &[Op]) -> usize {
    ops.iter().filter_map(Op::doc).collect::<HashSet<_>>().len()
}

/// [`commit`] of manifests this server chunked and hashed itself
/// (`POST /v1/docs`, `PUT /v1/docs/{id}/content`): not read back.
pub fn commit_built(
    app: &App,
    author: &str,
    message: &str,
    ops: Vec<Op>,
) -> Result<CommitResponse, ApiError> {
    commit_ops(app, author, message, ops, Content::Built)
}

/// Where the manifests of a commit come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Content {
    /// A client declared them: verify the whole-content hash.
    FromClient,
    /// This server built them from the bytes.
    Built,
    /// Extraction's metadata: no content at all.
    Extracted,
}

fn commit_ops(
    app: &App,
    author: &str,
    message: &str,
    mut ops: Vec<Op>,
    content: Content,
) -> Result<CommitResponse, ApiError> {
    if ops.is_empty() {
        return Err(ApiError::bad_request(
            "a commit needs at least one operation",
        ));
    }
    let _serial = app.writer();
    let started = std::time::Instant::now();
    let (head, _) = match app.catch_up_to_head() {
        Ok(h) => h,
        Err(e) if e.is_store_unavailable() => {
            return Err(ApiError::unavailable(format!(
                "the store cannot take writes now; nothing was committed: {}",
                docgrid_core::error_chain(&e)
            )));
        }
        Err(e) => return Err(e.into()),
    };
    app.index()
        .read(|conn| Ok(validate(app, conn, &mut ops, content)))??;
    let validated = started.elapsed();
    let journal = Journal::new(app.store());
    let mut cs = Changeset {
        version: FORMAT_VERSION,
        rev: 0,
        parent: None,
        author: author.to_string(),
        time: crate::now_rfc3339(),
        message: message.to_string(),
        ops,
        extracted: content == Content::Extracted,
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
        let code = e.code();
        ApiError::new(
            code,
            format!(
                "revision {} is committed but indexing it failed: {}; restart to retry",
                cs.rev,
                docgrid_core::error_chain(&e)
            ),
        )
    })?;
    if content != Content::Extracted {
        app.note_write();
    }
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
fn validate(app: &App, conn: &Connection, ops: &mut [Op], source: Content) -> Result<(), ApiError> {
    let mut docs: HashMap<DocId, Option<DocState>> = HashMap::new();
    let mut conflicts: Vec<Conflict> = Vec::new();
    let mut created: HashSet<DocId> = HashSet::new();
    for op in ops.iter_mut() {
        if let Some(id) = op.doc()
            && let std::collections::hash_map::Entry::Vacant(e) = docs.entry(id)
        {
            e.insert(read::doc_state(conn, &id)?);
        }
        match &mut *op {
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
                if source == Content::FromClient {
                    verify_content(app, conn, content, id, name)?;
                }
            }
            other => check_existing(app, conn, other, &docs, &created, &mut conflicts)?,
        }
        if let (Op::SetContent { id, content, .. }, Content::FromClient) = (&*op, source)
            && let Some(Some(state)) = docs.get(id)
        {
            verify_content(app, conn, content, id, &state.name)?;
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
        // Stale: based on a revision before the last change by anyone but
        // extraction (whose commits only set keys it owns), or deleted.
        if let Some(base) = op.base()
            && (base < state.user_rev || base > state.rev || state.deleted)
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
                return Err(ApiError::not_empty(format!(
                    "tag {tag:?} is still in use; untag its documents first"
                )));
            }
            Ok(())
        }
        Op::CreateDir { path } | Op::DeleteDir { path } => {
            validate_path(path)?;
            if deleting && dir_in_use(conn, path)? {
                return Err(ApiError::not_empty(format!(
                    "directory {path:?} is not empty"
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_key_values(key: &str, values: &[String]) -> Result<(), ApiError> {
    Ok(model::validate_client_meta(key, values)?)
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

/// Refuses a manifest whose declared whole-content BLAKE3 is not the hash
/// of its chunks: that hash becomes the document's `hash` key and ETag, and
/// every reader would call the document corrupt. One chunk: its hash was
/// verified when it was uploaded. Content the index already holds with the
/// same chunks: verified when it was committed. Otherwise the chunks are
/// read back and hashed (a chunk that cannot be read is a 503 naming the
/// document).
fn verify_content(
    app: &App,
    conn: &Connection,
    m: &Manifest,
    id: &DocId,
    name: &str,
) -> Result<(), ApiError> {
    let got = match m.chunks.as_slice() {
        [] => Digest::of(b""),
        [one] => one.hash,
        _ if known_content(conn, m)? => return Ok(()),
        chunks => {
            let mut whole = blake3::Hasher::new();
            for c in chunks {
                let bytes =
                    app.store()
                        .get(&c.locator)
                        .map_err(|source| ServerError::Document {
                            id: *id,
                            name: name.to_string(),
                            source: Box::new(source),
                        })?;
                whole.update(&bytes);
            }
            Digest(*whole.finalize().as_bytes())
        }
    };
    if got != m.hash {
        return Err(ApiError::bad_request(format!(
            "the content of {name:?} ({id}) declares BLAKE3 {} but its chunks hash to {got}; \
             nothing was committed",
            m.hash
        )));
    }
    Ok(())
}

/// Whether a committed revision already has this content, chunk for chunk.
fn known_content(conn: &Connection, m: &Manifest) -> Result<bool, ApiError> {
    let mut stmt = conn.prepare_cached("SELECT manifest FROM history WHERE hash = ?1 LIMIT 4")?;
    let rows = stmt.query_map([m.hash.to_string()], |r| r.get::<_, String>(0))?;
    for row in rows {
        let Ok(known) = serde_json::from_str::<Manifest>(&row?) else {
            continue;
        };
        let same = known.chunks.len() == m.chunks.len()
            && known
                .chunks
                .iter()
                .zip(&m.chunks)
                .all(|(a, b)| a.hash == b.hash && a.len == b.len);
        if same {
            return Ok(true);
        }
    }
    Ok(false)
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
    if app.store().has(&guess).unwrap_or(false) {
        let stored = app.store().get(&guess)?.len() as u64;
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
