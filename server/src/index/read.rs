//! Reading the index: documents, history, commits, counts, chunks.

use docgrid_core::api::{CommitInfo, Count, DocInfo, HistoryEntry};
use docgrid_core::model::Manifest;
use docgrid_core::store::Locator;
use docgrid_core::{Digest, DocId};
use rusqlite::{Connection, OptionalExtension, params};

use super::apply::load_meta;

/// A document's state as commits check it.
#[derive(Debug, Clone)]
pub struct DocState {
    /// Row key.
    pub key: i64,
    /// Its id.
    pub id: DocId,
    /// Its name.
    pub name: String,
    /// Revision of its last change.
    pub rev: u64,
    /// Revision of its last change by anyone but extraction: a write based
    /// on a revision from here to `rev` is current.
    pub user_rev: u64,
    /// Deleted (history only).
    pub deleted: bool,
    /// Its content.
    pub manifest: Manifest,
}

fn parse_id(s: String) -> rusqlite::Result<DocId> {
    s.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn parse_digest(s: String) -> rusqlite::Result<Digest> {
    s.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The document `id`, deleted or not.
pub fn doc_state(conn: &Connection, id: &DocId) -> rusqlite::Result<Option<DocState>> {
    conn.query_row(
        "SELECT key, name, rev, deleted, manifest, user_rev FROM docs WHERE id = ?1",
        [id.to_string()],
        |r| {
            let manifest: String = r.get(4)?;
            Ok(DocState {
                key: r.get(0)?,
                id: *id,
                name: r.get(1)?,
                rev: r.get(2)?,
                user_rev: r.get(5)?,
                deleted: r.get(3)?,
                manifest: serde_json::from_str(&manifest).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        4,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?,
            })
        },
    )
    .optional()
}

/// A live document as the API shows it.
pub fn doc_info(conn: &Connection, id: &DocId) -> rusqlite::Result<Option<DocInfo>> {
    let key: Option<i64> = conn
        .query_row(
            "SELECT key FROM docs WHERE id = ?1 AND deleted = 0",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    key.map(|k| doc_info_by_key(conn, k)).transpose()
}

/// The document at row `key`.
pub fn doc_info_by_key(conn: &Connection, key: i64) -> rusqlite::Result<DocInfo> {
    let (id, name, size, hash, rev): (String, String, u64, String, u64) = conn.query_row(
        "SELECT id, name, size, hash, rev FROM docs WHERE key = ?1",
        [key],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    Ok(DocInfo {
        id: parse_id(id)?,
        name,
        meta: load_meta(conn, key)?,
        size,
        hash: parse_digest(hash)?,
        rev,
    })
}

/// A document's revisions, newest first.
pub fn history(conn: &Connection, key: i64) -> rusqlite::Result<Vec<HistoryEntry>> {
    let mut stmt = conn.prepare(
        "SELECT h.rev, c.author, c.time, c.message, h.name, h.size, h.hash, h.deleted
         FROM history h JOIN changesets c ON c.rev = h.rev WHERE h.doc = ?1 ORDER BY h.rev DESC",
    )?;
    let rows = stmt.query_map([key], |r| {
        Ok(HistoryEntry {
            rev: r.get(0)?,
            author: r.get(1)?,
            time: r.get(2)?,
            message: r.get(3)?,
            name: r.get(4)?,
            size: r.get(5)?,
            hash: parse_digest(r.get(6)?)?,
            deleted: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// Commits after `since`, oldest first, at most `limit`.
pub fn commits(conn: &Connection, since: u64, limit: u64) -> rusqlite::Result<Vec<CommitInfo>> {
    let mut stmt = conn.prepare(
        "SELECT rev, author, time, message, docs FROM changesets WHERE rev > ?1 ORDER BY rev LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![since, limit], |r| {
        let docs: String = r.get(4)?;
        Ok(CommitInfo {
            rev: r.get(0)?,
            author: r.get(1)?,
            time: r.get(2)?,
            message: r.get(3)?,
            docs: serde_json::from_str(&docs).unwrap_or_default(),
        })
    })?;
    rows.collect()
}

/// The locator of changeset `rev`.
pub fn changeset_locator(conn: &Connection, rev: u64) -> rusqlite::Result<Option<Locator>> {
    conn.query_row(
        "SELECT locator FROM changesets WHERE rev = ?1",
        [rev],
        |r| r.get::<_, String>(0),
    )
    .optional()
    .map(|o| o.map(Locator::new))
}

/// Values of `key` over live documents with their counts, most used first.
pub fn value_counts(conn: &Connection, key: &str) -> rusqlite::Result<Vec<Count>> {
    let mut stmt = conn.prepare_cached(
        "SELECT value, COUNT(DISTINCT doc) AS n FROM meta WHERE key = ?1 GROUP BY value ORDER BY n DESC, value",
    )?;
    let rows = stmt.query_map([key], |r| {
        Ok(Count {
            value: r.get(0)?,
            count: r.get(1)?,
        })
    })?;
    rows.collect()
}

/// Keys in use with the number of documents carrying each.
pub fn key_counts(conn: &Connection) -> rusqlite::Result<Vec<Count>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, COUNT(DISTINCT doc) AS n FROM meta GROUP BY key ORDER BY key",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Count {
            value: r.get(0)?,
            count: r.get(1)?,
        })
    })?;
    rows.collect()
}

/// Tags, including created ones nobody carries (count 0).
pub fn tag_counts(conn: &Connection) -> rusqlite::Result<Vec<Count>> {
    let mut out = value_counts(conn, "tag")?;
    let mut stmt = conn.prepare_cached("SELECT tag FROM tags ORDER BY tag")?;
    for tag in stmt.query_map([], |r| r.get::<_, String>(0))? {
        let tag = tag?;
        if !out.iter().any(|c| c.value == tag) {
            out.push(Count {
                value: tag,
                count: 0,
            });
        }
    }
    Ok(out)
}

/// Where the chunk `hash` is stored, and its length.
pub fn chunk(conn: &Connection, hash: &Digest) -> rusqlite::Result<Option<(Locator, u64)>> {
    conn.query_row(
        "SELECT locator, len FROM chunks WHERE hash = ?1",
        [hash.to_hex()],
        |r| Ok((Locator::new(r.get::<_, String>(0)?), r.get(1)?)),
    )
    .optional()
}

/// Live documents, their total size; distinct chunks referenced by live
/// documents and their total size.
pub fn totals(conn: &Connection) -> rusqlite::Result<(u64, u64, u64, u64)> {
    let (docs, bytes): (u64, u64) = conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM docs WHERE deleted = 0",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut stmt = conn.prepare("SELECT manifest FROM docs WHERE deleted = 0")?;
    let mut seen = std::collections::HashMap::new();
    for m in stmt.query_map([], |r| r.get::<_, String>(0))? {
        if let Ok(m) = serde_json::from_str::<Manifest>(&m?) {
            for c in m.chunks {
                seen.insert(c.hash, c.len);
            }
        }
    }
    Ok((docs, bytes, seen.len() as u64, seen.values().sum()))
}
