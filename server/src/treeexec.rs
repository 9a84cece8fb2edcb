//! Executing tree listings (`GET /v1/tree/{path}`): core's
//! [`Dir::listing`](docgrid_core::tree::Dir::listing) says what to list; this
//! runs it against the index.

use std::collections::BTreeMap;

use docgrid_core::api::{EntryKind, TreeEntry, TreeListing};
use docgrid_core::tree::{self, DocFilter, EntryIn, Subdirs, value_component};
use roaring::RoaringBitmap;
use rusqlite::Connection;

use crate::error::ApiError;
use crate::fulltext::FullText;
use crate::index::read;
use crate::search::Searcher;

/// Listings already made, by canonical path and revision: the pages of a
/// large directory are slices of one listing, not one listing each.
#[derive(Default)]
pub struct Snapshots {
    made: std::sync::Mutex<Vec<Snapshot>>,
}

/// One listing made: its path, revision and entries.
type Snapshot = (String, u64, std::sync::Arc<Vec<TreeEntry>>);

/// Listings kept for paging.
const SNAPSHOTS_KEPT: usize = 8;

impl Snapshots {
    fn get(&self, path: &str, rev: u64) -> Option<std::sync::Arc<Vec<TreeEntry>>> {
        let made = self.made.lock().expect("poisoned");
        made.iter()
            .find(|(p, r, _)| p == path && *r == rev)
            .map(|(_, _, e)| e.clone())
    }

    fn put(&self, path: String, rev: u64, entries: std::sync::Arc<Vec<TreeEntry>>) {
        let mut made = self.made.lock().expect("poisoned");
        made.retain(|(p, r, _)| !(p == &path && *r == rev));
        if made.len() >= SNAPSHOTS_KEPT {
            made.remove(0);
        }
        made.push((path, rev, entries));
    }
}

/// One page of `path` (a directory of the tree) at revision `rev`: the
/// entries from `offset`, at most `limit` (capped at
/// [`TREE_PAGE_MAX`](docgrid_core::api::TREE_PAGE_MAX)).
pub fn list_page(
    conn: &Connection,
    ft: &FullText,
    snapshots: &Snapshots,
    path: &str,
    rev: u64,
    offset: u64,
    limit: u64,
) -> Result<TreeListing, ApiError> {
    let dir = tree::parse_dir(path)?;
    let canonical = dir.to_path();
    let entries = match snapshots.get(&canonical, rev) {
        Some(e) => e,
        None => {
            let e = std::sync::Arc::new(list_entries(conn, ft, &dir)?);
            snapshots.put(canonical.clone(), rev, e.clone());
            e
        }
    };
    let total = entries.len() as u64;
    let limit = limit.clamp(1, docgrid_core::api::TREE_PAGE_MAX);
    let start = offset.min(total);
    let end = start.saturating_add(limit).min(total);
    Ok(TreeListing {
        path: canonical,
        entries: entries[start as usize..end as usize].to_vec(),
        total,
        offset: start,
        next_offset: (end < total).then_some(end),
        rev,
    })
}

/// Every entry of `dir`: directories first, then documents with what
/// `stat` needs.
fn list_entries(
    conn: &Connection,
    ft: &FullText,
    dir: &tree::Dir,
) -> Result<Vec<TreeEntry>, ApiError> {
    let listing = dir.listing();
    let docs = select_docs(conn, ft, &listing.docs)?;
    let mut entries: Vec<(EntryIn, TreeEntry)> = subdirs(conn, ft, &listing.subdirs, &docs)?
        .into_iter()
        .map(|(name, count)| (EntryIn::dir(name.clone()), TreeEntry::dir(name, count)))
        .collect();
    let mut docs_in: Vec<(String, DocRow)> = doc_rows(conn, &listing.docs, &docs)?
        .into_iter()
        .map(|row| (listing.docs.display_name(&row.name, &row.meta), row))
        .collect();
    // Documents by display name then id, as core's reference executor
    // lists them; /recent/ keeps newest first.
    if !matches!(listing.docs, DocFilter::Recent(_)) {
        docs_in.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
    }
    for (name, row) in docs_in {
        let entry = TreeEntry {
            kind: EntryKind::Doc,
            name: name.clone(),
            id: Some(row.id),
            size: Some(row.size),
            hash: row.hash.parse().ok(),
            count: None,
            rev: Some(row.rev),
            mime: Some(row.mime),
            created: row.created,
            modified: row.modified,
            mtime: row
                .meta
                .get(docgrid_core::api::MTIME_KEY)
                .and_then(|v| v.first())
                .cloned(),
        };
        entries.push((EntryIn::doc(name, row.id), entry));
    }
    let ins: Vec<EntryIn> = entries.iter().map(|(e, _)| e.clone()).collect();
    let names = tree::disambiguate(&ins);
    Ok(entries
        .into_iter()
        .zip(names)
        .map(|((_, entry), name)| TreeEntry { name, ..entry })
        .collect())
}

/// The documents a filter selects.
fn select_docs(
    conn: &Connection,
    ft: &FullText,
    filter: &DocFilter,
) -> Result<RoaringBitmap, ApiError> {
    let s = Searcher::new(conn, ft);
    Ok(match filter {
        DocFilter::None => RoaringBitmap::new(),
        DocFilter::All | DocFilter::Recent(_) => s.live()?,
        DocFilter::Pairs(pairs) => pairs_docs(conn, ft, pairs)?,
        DocFilter::FilesDir(dir) => files_docs(conn, dir)?,
        DocFilter::Query(q) => {
            let parsed = docgrid_core::query::parse(q).map_err(|e| ApiError::bad_query(&e))?;
            Searcher::new(conn, ft).eval(&parsed)?
        }
    })
}

/// Documents carrying every `key = value` pair exactly (no globs: a `*`
/// in a tag is a character here); every live document for no pairs.
fn pairs_docs(
    conn: &Connection,
    ft: &FullText,
    pairs: &[(String, String)],
) -> Result<RoaringBitmap, ApiError> {
    let s = Searcher::new(conn, ft);
    let mut acc = s.live()?;
    for (k, v) in pairs {
        acc &= s.exact(k, v)?;
    }
    Ok(acc)
}

/// Calls `f` with (document, value) of every `path` value starting with
/// `prefix` (`""`, or ending `/`), through the `meta(key, value)` index: a
/// listing in `/files/a/b/` reads what is under `a/b/`, not every path of
/// the store. The range ends at `prefix` with its `/` made `0`, the next
/// byte.
fn paths_under(
    conn: &Connection,
    prefix: &str,
    mut f: impl FnMut(i64, &str),
) -> Result<(), ApiError> {
    let upper = prefix.strip_suffix('/').map(|p| format!("{p}0"));
    let mut stmt = conn.prepare_cached(if upper.is_some() {
        "SELECT doc, value FROM meta WHERE key = 'path' AND value >= ?1 AND value < ?2"
    } else {
        "SELECT doc, value FROM meta WHERE key = 'path'"
    })?;
    let mut rows = match &upper {
        Some(upper) => stmt.query([prefix, upper.as_str()])?,
        None => stmt.query([])?,
    };
    while let Some(r) = rows.next()? {
        f(
            r.get(0)?,
            r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?,
        );
    }
    Ok(())
}

/// Documents whose `path` lies directly in `dir`.
fn files_docs(conn: &Connection, dir: &str) -> Result<RoaringBitmap, ApiError> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut out = RoaringBitmap::new();
    paths_under(conn, &prefix, |doc, path| {
        let leaf = &path[prefix.len()..];
        if !leaf.is_empty() && !leaf.contains('/') {
            out.insert(doc as u32);
        }
    })?;
    Ok(out)
}

/// What a listing shows of one document.
struct DocRow {
    id: docgrid_core::DocId,
    name: String,
    size: u64,
    /// BLAKE3 of the content, hex.
    hash: String,
    rev: u64,
    mime: String,
    created: Option<String>,
    modified: Option<String>,
    /// In `/files/`: the `path` values display names need.
    meta: docgrid_core::Metadata,
}

/// The selected documents in listing order: recent ones by revision,
/// newest first, at most the limit; others by key. One scan of the
/// documents table and two keyed lookups per listed document, not a query
/// per document and key.
fn doc_rows(
    conn: &Connection,
    filter: &DocFilter,
    docs: &RoaringBitmap,
) -> Result<Vec<DocRow>, ApiError> {
    if docs.is_empty() {
        return Ok(Vec::new());
    }
    let (sql, limit) = match filter {
        DocFilter::Recent(n) => (
            "SELECT key, id, name, size, rev, mime, hash FROM docs WHERE deleted = 0 \
             ORDER BY rev DESC, key DESC",
            *n,
        ),
        _ => (
            "SELECT key, id, name, size, rev, mime, hash FROM docs WHERE deleted = 0 ORDER BY key",
            usize::MAX,
        ),
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query([])?;
    let mut path_stmt =
        conn.prepare_cached("SELECT value FROM meta WHERE doc = ?1 AND key = 'path' ORDER BY pos")?;
    let mut time_stmt =
        conn.prepare_cached("SELECT value FROM meta WHERE doc = ?1 AND key = ?2 AND pos = 0")?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        if out.len() >= limit {
            break;
        }
        let key: i64 = r.get(0)?;
        if !docs.contains(key as u32) {
            continue;
        }
        let id: String = r.get(1)?;
        let id = id
            .parse()
            .map_err(|e: docgrid_core::id::ParseDocIdError| ApiError::internal(e.to_string()))?;
        let mut meta = docgrid_core::Metadata::new();
        if matches!(filter, DocFilter::FilesDir(_)) {
            let paths = path_stmt.query_map([key], |r| r.get::<_, String>(0))?;
            meta.insert("path".into(), paths.collect::<Result<Vec<_>, _>>()?);
        }
        let mut time = |k: &str| -> rusqlite::Result<Option<String>> {
            use rusqlite::OptionalExtension;
            time_stmt
                .query_row(rusqlite::params![key, k], |r| r.get(0))
                .optional()
        };
        if let Some(t) = time(docgrid_core::api::MTIME_KEY)? {
            meta.insert(docgrid_core::api::MTIME_KEY.into(), vec![t]);
        }
        out.push(DocRow {
            id,
            name: r.get(2)?,
            size: r.get(3)?,
            rev: r.get(4)?,
            mime: r.get(5)?,
            hash: r.get(6)?,
            created: time("created")?,
            modified: time("modified")?,
            meta,
        });
    }
    Ok(out)
}

/// Subdirectory names with document counts.
fn subdirs(
    conn: &Connection,
    ft: &FullText,
    spec: &Subdirs,
    docs: &RoaringBitmap,
) -> Result<Vec<(String, Option<u64>)>, ApiError> {
    // By name, as every listing orders its directories (the counts come
    // most used first).
    let named = |counts: Vec<docgrid_core::api::Count>| -> Vec<(String, Option<u64>)> {
        let mut named: Vec<(String, Option<u64>)> = counts
            .into_iter()
            .filter_map(|c| Some((value_component(&c.value)?, Some(c.count))))
            .collect();
        named.sort();
        named
    };
    Ok(match spec {
        Subdirs::None => Vec::new(),
        Subdirs::Fixed(names) => names
            .iter()
            .map(|n| (n.trim_end_matches('/').to_string(), None))
            .collect(),
        Subdirs::AllTags => named(read::tag_counts(conn)?),
        Subdirs::Keys => named(read::key_counts(conn)?),
        Subdirs::CoTags { tags } => {
            let mut counts = values_among(conn, "tag", docs)?;
            counts.retain(|v, _| !tags.contains(v));
            counts
                .into_iter()
                .filter_map(|(v, n)| Some((value_component(&v)?, Some(n))))
                .collect()
        }
        Subdirs::Values { filters, key } => {
            // `/by/K/` shows no documents inline: its values are counted over
            // the documents the path's earlier pairs select.
            let among = pairs_docs(conn, ft, filters)?;
            let on_path: Vec<&String> = filters
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v)
                .collect();
            values_among(conn, key, &among)?
                .into_iter()
                .filter(|(v, _)| !on_path.contains(&v))
                .filter_map(|(v, n)| Some((value_component(&v)?, Some(n))))
                .collect()
        }
        Subdirs::OtherKeys { filters } => {
            let used: Vec<&String> = filters.iter().map(|(k, _)| k).collect();
            keys_among(conn, docs)?
                .into_iter()
                .filter(|(k, _)| !used.contains(&k))
                .map(|(k, n)| (k, Some(n)))
                .collect()
        }
        Subdirs::FilesDirs { dir } => files_subdirs(conn, dir)?,
    })
}

/// Values of `key` carried by `docs`, with counts.
fn values_among(
    conn: &Connection,
    key: &str,
    docs: &RoaringBitmap,
) -> Result<BTreeMap<String, u64>, ApiError> {
    let mut stmt = conn.prepare_cached("SELECT doc, value FROM meta WHERE key = ?1")?;
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    for row in stmt.query_map([key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
        let (doc, v) = row?;
        if docs.contains(doc as u32) {
            *out.entry(v).or_default() += 1;
        }
    }
    Ok(out)
}

/// Keys carried by `docs`, with counts.
fn keys_among(conn: &Connection, docs: &RoaringBitmap) -> Result<BTreeMap<String, u64>, ApiError> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT doc, key FROM meta")?;
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
        let (doc, k) = row?;
        if docs.contains(doc as u32) {
            *out.entry(k).or_default() += 1;
        }
    }
    Ok(out)
}

/// Child directories of `dir` in the `/files` namespace (from paths and created dirs).
fn files_subdirs(conn: &Connection, dir: &str) -> Result<Vec<(String, Option<u64>)>, ApiError> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    let mut add = |path: &str, count: bool| {
        if let Some(rest) = path.strip_prefix(&prefix) {
            if let Some((child, _)) = rest.split_once('/') {
                *out.entry(child.to_string()).or_default() += u64::from(count);
            } else if !count && !rest.is_empty() {
                out.entry(rest.to_string()).or_default();
            }
        }
    };
    paths_under(conn, &prefix, |_, p| add(p, true))?;
    let mut stmt = conn.prepare_cached("SELECT path FROM dirs WHERE path >= ?1 ORDER BY path")?;
    for p in stmt.query_map([&prefix], |r| r.get::<_, String>(0))? {
        let p = p?;
        if !p.starts_with(&prefix) {
            break;
        }
        add(&p, false);
    }
    Ok(out.into_iter().map(|(k, n)| (k, Some(n))).collect())
}
