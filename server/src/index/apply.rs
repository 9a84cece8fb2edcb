//! Applying a changeset to the index. The same code serves a live commit,
//! start-up catch-up and `reindex`, so all three give the same index.

use docgrid_core::DocId;
use docgrid_core::model::{Changeset, Manifest, Metadata, Op};
use docgrid_core::store::Locator;
use rusqlite::{OptionalExtension, Transaction, params};

use crate::extract;

/// Reads document content for sniffing (text and metadata are extracted
/// after the commit, from the queue in the `extraction` table).
pub trait ContentSource {
    /// Up to `limit` bytes of the content `manifest` describes, `None` if
    /// unreadable (the index then sniffs by name alone, never fails the commit).
    fn read(&self, manifest: &Manifest, limit: usize) -> Option<Vec<u8>>;
}

/// A change the full-text index must follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FtUpdate {
    /// (Re)index a document.
    Upsert {
        /// Its id.
        id: String,
        /// Its name.
        name: String,
        /// Its metadata values, space-joined.
        meta: String,
        /// Its extracted text.
        body: String,
    },
    /// Drop a document.
    Delete {
        /// Its id.
        id: String,
    },
}

/// What a document row holds.
struct Row {
    key: i64,
    name: String,
}

/// Applies `cs` (stored at `locator`) in `tx`; returns the full-text updates.
pub fn apply(
    tx: &Transaction<'_>,
    cs: &Changeset,
    locator: &Locator,
    content: &dyn ContentSource,
) -> rusqlite::Result<Vec<FtUpdate>> {
    let mut touched: Vec<i64> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Documents created here and not touched again: everything about them
    // is known in memory, so the read-backs below are skipped.
    let mut fresh: std::collections::HashMap<i64, (String, FtUpdate)> =
        std::collections::HashMap::new();
    let mut ft = Vec::new();
    for op in &cs.ops {
        let key = match op {
            Op::Create {
                id,
                name,
                meta,
                content: m,
            } => {
                let (key, up) = create(tx, cs, *id, name, meta, m, content)?;
                fresh.insert(key, (id.to_string(), up));
                Some(key)
            }
            other => {
                let key = apply_op(tx, cs, other, content, &mut ft)?;
                if let Some(k) = key {
                    fresh.remove(&k);
                }
                key
            }
        };
        if let Some(key) = key
            && seen.insert(key)
        {
            touched.push(key);
        }
    }
    let mut ids = Vec::new();
    for &key in &touched {
        if let Some((id, up)) = fresh.remove(&key) {
            ft.push(up);
            ids.push(id);
            continue;
        }
        exec(
            tx,
            "UPDATE docs SET rev = ?2, user_rev = CASE WHEN ?3 THEN user_rev ELSE ?2 END
             WHERE key = ?1",
            params![key, cs.rev, cs.extracted],
        )?;
        exec(
            tx,
            "INSERT OR REPLACE INTO history(doc, rev, name, size, hash, manifest, deleted)
             SELECT key, ?2, name, size, hash, manifest, deleted FROM docs WHERE key = ?1",
            params![key, cs.rev],
        )?;
        let id: String = tx
            .prepare_cached("SELECT id FROM docs WHERE key = ?1")?
            .query_row([key], |r| r.get(0))?;
        if let Some(up) = ft_upsert(tx, key)? {
            ft.push(up);
        }
        ids.push(id);
    }
    exec(
        tx,
        "INSERT OR REPLACE INTO changesets(rev, locator, author, time, message, docs) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            cs.rev,
            locator.as_str(),
            cs.author,
            cs.time,
            cs.message,
            serde_json::to_string(&ids).expect("ids serialize")
        ],
    )?;
    super::set_applied_rev(tx, cs.rev)?;
    Ok(ft)
}

/// Applies one op; returns the document it touched.
fn apply_op(
    tx: &Transaction<'_>,
    cs: &Changeset,
    op: &Op,
    content: &dyn ContentSource,
    ft: &mut Vec<FtUpdate>,
) -> rusqlite::Result<Option<i64>> {
    match op {
        Op::Create {
            id,
            name,
            meta,
            content: m,
        } => create(tx, cs, *id, name, meta, m, content).map(|(key, _)| Some(key)),
        Op::SetContent { id, content: m, .. } => {
            let Some(row) = row(tx, id)? else {
                return Ok(None);
            };
            set_content(tx, cs, &row, m, content)?;
            Ok(Some(row.key))
        }
        Op::SetMeta {
            id, key, values, ..
        } => {
            let Some(row) = row(tx, id)? else {
                return Ok(None);
            };
            let mut meta = load_meta(tx, row.key)?;
            if values.is_empty() {
                meta.remove(key);
            } else {
                meta.insert(key.clone(), values.clone());
            }
            if !cs.extracted {
                meta.insert("modified".into(), vec![cs.time.clone()]);
            }
            write_meta(tx, row.key, &meta)?;
            own_key(tx, row.key, key, cs.extracted && !values.is_empty())?;
            Ok(Some(row.key))
        }
        Op::Rename { id, name, .. } => {
            let Some(row) = row(tx, id)? else {
                return Ok(None);
            };
            exec(
                tx,
                "UPDATE docs SET name = ?2 WHERE key = ?1",
                params![row.key, name],
            )?;
            let mut meta = load_meta(tx, row.key)?;
            meta.insert("name".into(), vec![name.clone()]);
            meta.insert("modified".into(), vec![cs.time.clone()]);
            write_meta(tx, row.key, &meta)?;
            Ok(Some(row.key))
        }
        Op::Delete { id, .. } | Op::Purge { id } => {
            let Some(row) = row(tx, id)? else {
                return Ok(None);
            };
            let purge = matches!(op, Op::Purge { .. });
            exec(tx, "DELETE FROM extraction WHERE doc = ?1", [row.key])?;
            exec(tx, "DELETE FROM extracted_keys WHERE doc = ?1", [row.key])?;
            exec(
                tx,
                "UPDATE docs SET deleted = 1, purged = purged OR ?2 WHERE key = ?1",
                params![row.key, purge],
            )?;
            exec(tx, "DELETE FROM meta WHERE doc = ?1", [row.key])?;
            exec(tx, "DELETE FROM bodies WHERE doc = ?1", [row.key])?;
            if purge {
                let empty = serde_json::to_string(&Manifest::empty()).expect("serializes");
                exec(
                    tx,
                    "UPDATE history SET manifest = ?2 WHERE doc = ?1",
                    params![row.key, empty],
                )?;
                exec(
                    tx,
                    "UPDATE docs SET manifest = ?2 WHERE key = ?1",
                    params![row.key, empty],
                )?;
            }
            ft.push(FtUpdate::Delete { id: id.to_string() });
            Ok(Some(row.key))
        }
        Op::CreateTag { tag } => {
            exec(tx, "INSERT OR IGNORE INTO tags(tag) VALUES (?1)", [tag])?;
            Ok(None)
        }
        Op::DeleteTag { tag } => {
            exec(tx, "DELETE FROM tags WHERE tag = ?1", [tag])?;
            Ok(None)
        }
        Op::CreateDir { path } => {
            exec(tx, "INSERT OR IGNORE INTO dirs(path) VALUES (?1)", [path])?;
            Ok(None)
        }
        Op::DeleteDir { path } => {
            exec(tx, "DELETE FROM dirs WHERE path = ?1", [path])?;
            Ok(None)
        }
    }
}

/// Inserts a new document (row, metadata, text, history); returns its key
/// and its full-text document.
fn create(
    tx: &Transaction<'_>,
    cs: &Changeset,
    id: DocId,
    name: &str,
    meta: &Metadata,
    m: &Manifest,
    content: &dyn ContentSource,
) -> rusqlite::Result<(i64, FtUpdate)> {
    let mime = sniff(name, m, content);
    let manifest = serde_json::to_string(m).expect("manifest serializes");
    let (id_text, hash) = (id.to_string(), m.hash.to_hex());
    exec(
        tx,
        "INSERT INTO docs(id, name, rev, user_rev, size, hash, mime, manifest)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7)",
        params![id_text, name, cs.rev, m.size, hash, mime, manifest],
    )?;
    let key = tx.last_insert_rowid();
    exec(
        tx,
        "INSERT INTO history(doc, rev, name, size, hash, manifest, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
        params![key, cs.rev, name, m.size, hash, manifest],
    )?;
    record_chunks(tx, m)?;
    let mut full = meta.clone();
    for (k, v) in [
        ("name", name.to_string()),
        ("size", m.size.to_string()),
        ("hash", hash),
        ("mime", mime),
        ("created", cs.time.clone()),
        ("modified", cs.time.clone()),
    ] {
        full.insert(k.into(), vec![v]);
    }
    if !full.contains_key("author") {
        // The committer stands in for an author nobody gave: extraction
        // may replace it with the one the content names.
        full.insert("author".into(), vec![cs.author.clone()]);
        own_key(tx, key, "author", true)?;
    }
    insert_meta(tx, key, &full)?;
    enqueue(tx, key, cs.rev, m, &full["mime"][0])?;
    let up = FtUpdate::Upsert {
        id: id_text,
        name: name.to_string(),
        meta: meta_text(&full),
        body: String::new(),
    };
    Ok((key, up))
}

fn set_content(
    tx: &Transaction<'_>,
    cs: &Changeset,
    row: &Row,
    m: &Manifest,
    content: &dyn ContentSource,
) -> rusqlite::Result<()> {
    let mime = sniff(&row.name, m, content);
    let manifest = serde_json::to_string(m).expect("manifest serializes");
    exec(
        tx,
        "UPDATE docs SET size = ?2, hash = ?3, mime = ?4, manifest = ?5 WHERE key = ?1",
        params![row.key, m.size, m.hash.to_hex(), mime, manifest],
    )?;
    record_chunks(tx, m)?;
    let mut meta = load_meta(tx, row.key)?;
    meta.insert("size".into(), vec![m.size.to_string()]);
    meta.insert("hash".into(), vec![m.hash.to_hex()]);
    meta.insert("mime".into(), vec![mime.clone()]);
    meta.insert("modified".into(), vec![cs.time.clone()]);
    write_meta(tx, row.key, &meta)?;
    // The text of the earlier content stays searchable until the new
    // content's is extracted (an edit keeps most of its words).
    enqueue(tx, row.key, cs.rev, m, &mime)
}

/// The MIME type, from the first bytes and the name.
fn sniff(name: &str, m: &Manifest, content: &dyn ContentSource) -> String {
    let head = if m.size == 0 {
        Some(Vec::new())
    } else {
        content.read(m, 8192)
    };
    extract::sniff_mime(name, head.as_deref().unwrap_or(&[]))
}

/// Queues the extraction of document `key`'s content of revision `rev`
/// (replacing an older queued one), or records that there is nothing to
/// extract from it. The queue is part of the index: a commit applied is
/// a commit queued, and a reindex queues every document again.
fn enqueue(
    tx: &Transaction<'_>,
    key: i64,
    rev: u64,
    m: &Manifest,
    mime: &str,
) -> rusqlite::Result<()> {
    let state = if extract::wanted(mime, m.size) {
        "pending"
    } else {
        "done"
    };
    exec(
        tx,
        "INSERT OR REPLACE INTO extraction(doc, rev, state, attempts, not_before, reason, at)
         VALUES (?1, ?2, ?3, 0, 0, NULL, 0)",
        params![key, rev, state],
    )?;
    Ok(())
}

/// Records whether extraction owns `key` of document `doc`: it does after
/// an extraction changeset set it, and never again once a user set it.
fn own_key(tx: &Transaction<'_>, doc: i64, key: &str, extracted: bool) -> rusqlite::Result<()> {
    let sql = if extracted {
        "INSERT OR IGNORE INTO extracted_keys(doc, key) VALUES (?1, ?2)"
    } else {
        "DELETE FROM extracted_keys WHERE doc = ?1 AND key = ?2"
    };
    exec(tx, sql, params![doc, key])?;
    Ok(())
}

fn record_chunks(tx: &Transaction<'_>, m: &Manifest) -> rusqlite::Result<()> {
    let mut stmt =
        tx.prepare_cached("INSERT OR IGNORE INTO chunks(hash, locator, len) VALUES (?1, ?2, ?3)")?;
    for c in &m.chunks {
        stmt.execute(params![c.hash.to_hex(), c.locator.as_str(), c.len])?;
    }
    Ok(())
}

fn row(tx: &Transaction<'_>, id: &DocId) -> rusqlite::Result<Option<Row>> {
    tx.prepare_cached("SELECT key, name FROM docs WHERE id = ?1")?
        .query_row([id.to_string()], |r| {
            Ok(Row {
                key: r.get(0)?,
                name: r.get(1)?,
            })
        })
        .optional()
}

/// A document's metadata, reserved keys included, values in order.
pub fn load_meta(conn: &rusqlite::Connection, key: i64) -> rusqlite::Result<Metadata> {
    let mut stmt =
        conn.prepare_cached("SELECT key, value FROM meta WHERE doc = ?1 ORDER BY key, pos")?;
    let mut meta = Metadata::new();
    for row in stmt.query_map([key], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })? {
        let (k, v) = row?;
        meta.entry(k).or_default().push(v);
    }
    Ok(meta)
}

/// Replaces a document's metadata rows.
pub fn write_meta(tx: &Transaction<'_>, key: i64, meta: &Metadata) -> rusqlite::Result<()> {
    exec(tx, "DELETE FROM meta WHERE doc = ?1", [key])?;
    insert_meta(tx, key, meta)
}

/// Inserts metadata rows for a document that has none.
fn insert_meta(tx: &Transaction<'_>, key: i64, meta: &Metadata) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO meta(doc, key, pos, value, num) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (k, values) in meta {
        for (pos, v) in values.iter().enumerate() {
            let num = v.trim().parse::<f64>().ok().filter(|n| n.is_finite());
            stmt.execute(params![key, k, pos as i64, v, num])?;
        }
    }
    Ok(())
}

/// The full-text document for `key`, `None` if it is deleted.
pub fn ft_upsert(tx: &rusqlite::Connection, key: i64) -> rusqlite::Result<Option<FtUpdate>> {
    let (id, name, deleted): (String, String, bool) = tx
        .prepare_cached("SELECT id, name, deleted FROM docs WHERE key = ?1")?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    if deleted {
        return Ok(None);
    }
    let meta = load_meta(tx, key)?;
    let meta_text = meta_text(&meta);
    let body: String = tx
        .query_row("SELECT text FROM bodies WHERE doc = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or_default();
    Ok(Some(FtUpdate::Upsert {
        id,
        name,
        meta: meta_text,
        body,
    }))
}

/// Executes `sql` through the connection's statement cache.
fn exec(tx: &Transaction<'_>, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

/// The metadata values full text indexes: all but bookkeeping keys.
fn meta_text(meta: &Metadata) -> String {
    meta.iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "hash" | "size" | "created" | "modified" | "name"
            )
        })
        .flat_map(|(_, v)| v.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}
