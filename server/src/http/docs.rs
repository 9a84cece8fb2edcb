//! Documents and chunks: upload (raw body or chunks + commit), download
//! with Range and ETag, metadata edits, history.

use std::io::Read;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use docgrid_core::api::{
    ChunkInfo, ChunkStored, CommitResponse, ContentManifest, DocInfo, DocText, HistoryEntry,
    MetaPatch, MissingChunksRequest, MissingChunksResponse, Role,
};
use docgrid_core::chunk::{Chunker, MAX_CHUNK, STREAM_BATCH, STREAM_IN_FLIGHT};
use docgrid_core::content::{etag_matches, parse_range, slices};
use docgrid_core::model::{ChunkRef, FORMAT_VERSION, Manifest, Metadata, Op};
use docgrid_core::{Digest, DocId};
use futures_util::StreamExt;
use rusqlite::OptionalExtension;
use serde::Deserialize;

use super::Caller;
use crate::app::App;
use crate::error::{ApiError, blocking};
use crate::index::read;

/// Document and chunk routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/docs", post(upload))
        .route(
            "/v1/docs/{id}",
            get(info)
                .patch(patch)
                .delete(remove)
                .layer(DefaultBodyLimit::max(SMALL_BODY)),
        )
        .route("/v1/docs/{id}/content", get(content).put(replace_content))
        .route("/v1/docs/{id}/history", get(history))
        .route("/v1/docs/{id}/text", get(text))
        .route("/v1/docs/{id}/manifest", get(manifest))
        .route(
            "/v1/chunks/missing",
            post(missing).layer(DefaultBodyLimit::max(SMALL_BODY)),
        )
        .route(
            "/v1/chunks/{hash}",
            put(put_chunk)
                .get(get_chunk)
                .layer(DefaultBodyLimit::max(MAX_CHUNK_BODY)),
        )
}

/// Small JSON bodies (metadata patches, chunk hash lists).
const SMALL_BODY: usize = 16 << 20;
/// A chunk upload: FastCDC's largest chunk, with room to spare.
const MAX_CHUNK_BODY: usize = 4 * MAX_CHUNK as usize;

fn parse_id(id: &str) -> Result<DocId, ApiError> {
    id.parse()
        .map_err(|e: docgrid_core::id::ParseDocIdError| ApiError::bad_request(e.to_string()))
}

fn parse_hash(h: &str) -> Result<Digest, ApiError> {
    h.parse()
        .map_err(|e: docgrid_core::chunk::ParseDigestError| ApiError::bad_request(e.to_string()))
}

/// `k=v&k=v` pairs, percent-decoded; invalid UTF-8 is refused, not replaced.
pub(crate) fn parse_query(q: &str) -> Result<Vec<(String, String)>, ApiError> {
    let decode = |part: &str| -> Result<String, ApiError> {
        let bytes = part.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = bytes
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    let byte = hex
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(|| {
                            ApiError::bad_request(format!(
                                "bad percent-escape in query parameter {part:?}"
                            ))
                        })?;
                    out.push(byte);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).map_err(|_| {
            ApiError::bad_request(format!(
                "query parameter {part:?} is not valid UTF-8 once decoded"
            ))
        })
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

/// A blocking reader over an HTTP body streamed from the async side.
struct BodyReader {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => {
                    return Err(std::io::Error::other(format!(
                        "reading the request body: {e}"
                    )));
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// Chunks a streamed body into the store ([`STREAM_BATCH`] chunks per
/// batch, [`STREAM_IN_FLIGHT`] stored while the next is read); returns its
/// manifest.
/// Chunks already stored are not stored again.
async fn ingest(app: Arc<App>, body: Body) -> Result<Manifest, ApiError> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, String>>(8);
    let mut stream = body.into_data_stream();
    let counted = app.clone();
    let pump = tokio::spawn(async move {
        while let Some(frame) = stream.next().await {
            if let Ok(bytes) = &frame {
                counted.note_received(bytes.len());
            }
            let item = frame.map_err(|e| e.to_string());
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    let manifest = blocking(move || {
        store_stream(
            &app,
            BodyReader {
                rx,
                current: Bytes::new(),
            },
        )
    })
    .await;
    pump.abort();
    manifest
}

fn store_stream(app: &App, reader: impl Read) -> Result<Manifest, ApiError> {
    let mut whole = blake3::Hasher::new();
    let store_batch = |batch: Vec<Vec<u8>>| -> Result<Vec<ChunkRef>, ApiError> {
        let refs: Vec<(Digest, &[u8])> = batch
            .iter()
            .map(|b| (Digest::of(b), b.as_slice()))
            .collect();
        let locs = app.store().put_batch_hashed(&refs)?;
        let mut stored = Vec::with_capacity(batch.len());
        app.index().write(|tx| -> Result<(), ApiError> {
            for (&(hash, data), loc) in refs.iter().zip(&locs) {
                crate::index::record_upload(tx, &hash, loc, data.len() as u64)?;
                stored.push(ChunkRef {
                    hash,
                    len: data.len() as u64,
                    locator: loc.clone(),
                });
            }
            Ok(())
        })?;
        Ok(stored)
    };
    // Batches are stored STREAM_IN_FLIGHT at a time while the next is read.
    let stored = docgrid_core::pipeline(
        STREAM_IN_FLIGHT,
        |send| {
            let mut batch = Vec::new();
            for chunk in Chunker::default().stream(reader) {
                let chunk = chunk.map_err(|e| ApiError::bad_request(e.to_string()))?;
                whole.update(&chunk);
                batch.push(chunk);
                if batch.len() == STREAM_BATCH && !send(std::mem::take(&mut batch)) {
                    return Ok(()); // a storer failed: it says why
                }
            }
            if !batch.is_empty() {
                send(batch);
            }
            Ok(())
        },
        store_batch,
    )?;
    let chunks: Vec<ChunkRef> = stored.into_iter().flatten().collect();
    let size = chunks.iter().map(|c| c.len).sum();
    Ok(Manifest {
        version: FORMAT_VERSION,
        size,
        hash: Digest(*whole.finalize().as_bytes()),
        chunks,
    })
}

/// `POST /v1/docs?name=N&tag=x&k=v…` with the raw content as body.
async fn upload(
    State(app): State<Arc<App>>,
    caller: Caller,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require(Role::Write)?;
    let params = parse_query(query.as_deref().unwrap_or(""))?;
    let mut name = None;
    let mut meta = Metadata::new();
    let mut message = None;
    for (k, v) in params {
        match k.as_str() {
            "name" => name = Some(v),
            "message" => message = Some(v),
            _ => meta.entry(k.to_ascii_lowercase()).or_default().push(v),
        }
    }
    let name = name
        .ok_or_else(|| ApiError::bad_request("name= is required: POST /v1/docs?name=report.pdf"))?;
    docgrid_core::model::validate_name(&name)?;
    for k in meta.keys() {
        docgrid_core::model::validate_key(k)?;
    }
    let content = ingest(app.clone(), body).await?;
    let id = DocId::random();
    let message = message.unwrap_or_else(|| format!("add {name}"));
    let op = Op::Create {
        id,
        name,
        meta,
        content,
    };
    let app2 = app.clone();
    blocking(move || crate::commit::commit_built(&app2, &caller.name, &message, vec![op])).await?;
    let doc = doc_info(&app, id).await?;
    let mut resp = (StatusCode::CREATED, Json(doc)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("/v1/docs/{id}")) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

async fn doc_info(app: &Arc<App>, id: DocId) -> Result<DocInfo, ApiError> {
    let app = app.clone();
    blocking(move || {
        app.index()
            .read(|c| read::doc_info(c, &id))?
            .ok_or_else(|| ApiError::not_found(format!("no live document {id}")))
    })
    .await
}

async fn info(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DocInfo>, ApiError> {
    caller.require(Role::Read)?;
    Ok(Json(doc_info(&app, parse_id(&id)?).await?))
}

#[derive(Deserialize)]
struct AtRev {
    /// The repository revision to describe the document at.
    rev: Option<u64>,
}

async fn manifest(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(at): Query<AtRev>,
) -> Result<Json<ContentManifest>, ApiError> {
    caller.require(Role::Read)?;
    let id = parse_id(&id)?;
    blocking(move || {
        let s = app
            .index()
            .read(|c| read::doc_state(c, &id))?
            .ok_or_else(|| ApiError::not_found(format!("no document {id}")))?;
        let (rev, m) = match at.rev {
            None if s.deleted => {
                return Err(ApiError::not_found(format!("no live document {id}")));
            }
            None => (s.rev, s.manifest),
            Some(r) => {
                let row: Option<(u64, String, bool)> = app.index().read(|c| {
                    c.query_row(
                        "SELECT rev, manifest, deleted FROM history WHERE doc = ?1 AND rev <= ?2 \
                         ORDER BY rev DESC LIMIT 1",
                        rusqlite::params![s.key, r],
                        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                    )
                    .optional()
                })?;
                match row {
                    Some((rev, m, false)) => (
                        rev,
                        serde_json::from_str::<Manifest>(&m)
                            .map_err(|e| ApiError::internal(format!("history of {id}: {e}")))?,
                    ),
                    _ => {
                        return Err(ApiError::not_found(format!(
                            "document {id} did not exist at revision {r}"
                        )));
                    }
                }
            }
        };
        Ok(Json(ContentManifest {
            id: s.id,
            rev,
            size: m.size,
            hash: m.hash,
            chunks: m
                .chunks
                .iter()
                .map(|c| ChunkInfo {
                    hash: c.hash,
                    len: c.len,
                })
                .collect(),
        }))
    })
    .await
}

#[derive(Deserialize)]
struct Base {
    base: Option<u64>,
    message: Option<String>,
}

async fn replace_content(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<Base>,
    body: Body,
) -> Result<Json<DocInfo>, ApiError> {
    caller.require(Role::Write)?;
    let id = parse_id(&id)?;
    let current = doc_info(&app, id).await?;
    let content = ingest(app.clone(), body).await?;
    let op = Op::SetContent {
        id,
        base: q.base.unwrap_or(current.rev),
        content,
    };
    let message = q
        .message
        .unwrap_or_else(|| format!("update {}", current.name));
    let app2 = app.clone();
    blocking(move || crate::commit::commit_built(&app2, &caller.name, &message, vec![op])).await?;
    Ok(Json(doc_info(&app, id).await?))
}

async fn patch(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<MetaPatch>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<DocInfo>, ApiError> {
    caller.require(Role::Write)?;
    let id = parse_id(&id)?;
    let Json(p) =
        body.map_err(|e| ApiError::bad_request(format!("patch body: {}", e.body_text())))?;
    let current = doc_info(&app, id).await?;
    let ops = patch_ops(id, &current, &p);
    if ops.is_empty() {
        return Ok(Json(current));
    }
    let message = format!("edit {}", current.name);
    let app2 = app.clone();
    blocking(move || crate::commit::commit(&app2, &caller.name, &message, ops)).await?;
    Ok(Json(doc_info(&app, id).await?))
}

/// The ops a metadata patch makes, against the current metadata.
fn patch_ops(id: DocId, current: &DocInfo, p: &MetaPatch) -> Vec<Op> {
    let mut next = current.meta.clone();
    for (k, v) in &p.set {
        next.insert(k.clone(), v.clone());
    }
    for (k, add) in &p.add {
        let values = next.entry(k.clone()).or_default();
        for v in add {
            if !values.contains(v) {
                values.push(v.clone());
            }
        }
    }
    for (k, rm) in &p.remove {
        if let Some(values) = next.get_mut(k) {
            values.retain(|v| !rm.contains(v));
        }
    }
    let mut ops: Vec<Op> = next
        .iter()
        .filter(|(k, v)| current.meta.get(*k) != Some(*v))
        .map(|(k, v)| Op::SetMeta {
            id,
            base: p.base,
            key: k.clone(),
            values: v.clone(),
        })
        .collect();
    if let Some(name) = &p.name {
        ops.push(Op::Rename {
            id,
            base: p.base,
            name: name.clone(),
        });
    }
    ops
}

async fn remove(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<Base>,
) -> Result<Json<CommitResponse>, ApiError> {
    caller.require(Role::Write)?;
    let id = parse_id(&id)?;
    let current = doc_info(&app, id).await?;
    let op = Op::Delete {
        id,
        base: q.base.unwrap_or(current.rev),
    };
    let message = q
        .message
        .unwrap_or_else(|| format!("delete {}", current.name));
    blocking(move || crate::commit::commit(&app, &caller.name, &message, vec![op]))
        .await
        .map(Json)
}

async fn history(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<HistoryEntry>>, ApiError> {
    caller.require(Role::Read)?;
    let id = parse_id(&id)?;
    blocking(move || {
        let state = app
            .index()
            .read(|c| read::doc_state(c, &id))?
            .ok_or_else(|| ApiError::not_found(format!("no document {id}")))?;
        Ok(Json(app.index().read(|c| read::history(c, state.key))?))
    })
    .await
}

/// The text extracted from a document, as full-text search has it (the
/// index brought up to date first, as a search does).
async fn text(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DocText>, ApiError> {
    caller.require(Role::Read)?;
    let id = parse_id(&id)?;
    blocking(move || {
        app.index()
            .read(|c| read::doc_state(c, &id))?
            .filter(|s| !s.deleted)
            .ok_or_else(|| ApiError::not_found(format!("no document {id}")))?;
        app.sync_fulltext()?;
        let text = app
            .fulltext()
            .text(&id.to_string())
            .map_err(crate::error::ServerError::from)?
            .unwrap_or_default();
        Ok(Json(DocText { id, text }))
    })
    .await
}

async fn missing(
    State(app): State<Arc<App>>,
    caller: Caller,
    body: Result<Json<MissingChunksRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<MissingChunksResponse>, ApiError> {
    caller.require(Role::Write)?;
    let Json(req) = body.map_err(|e| ApiError::bad_request(format!("body: {}", e.body_text())))?;
    blocking(move || {
        let known = app.index().read(|c| {
            req.hashes
                .iter()
                .map(|h| Ok(read::chunk(c, h)?.map(|(loc, _)| loc)))
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        // A row whose blob is gone (GC interrupted, store replaced, shares
        // lost) counts as missing. `has` is a network round trip on Tahoe:
        // several at once.
        let stored = crate::parallel_map(&known, 8, |loc| {
            loc.as_ref()
                .is_some_and(|l| app.store().has(l).unwrap_or(false))
        });
        let missing = req
            .hashes
            .iter()
            .zip(stored)
            .filter(|(_, stored)| !stored)
            .map(|(h, _)| *h)
            .collect();
        Ok(Json(MissingChunksResponse { missing }))
    })
    .await
}

async fn put_chunk(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(hash): Path<String>,
    body: Bytes,
) -> Result<Json<ChunkStored>, ApiError> {
    caller.require(Role::Write)?;
    app.note_received(body.len());
    let hash = parse_hash(&hash)?;
    if body.len() > 4 * MAX_CHUNK as usize {
        return Err(ApiError::too_large(format!(
            "a chunk is at most {} bytes",
            4 * MAX_CHUNK
        )));
    }
    if Digest::of(&body) != hash {
        return Err(ApiError::bad_request(format!(
            "the body does not hash to {hash}: corrupted upload, retry"
        )));
    }
    blocking(move || {
        let loc = app.store().put(&body)?;
        app.index()
            .write(|tx| crate::index::record_upload(tx, &hash, &loc, body.len() as u64))?;
        Ok(Json(ChunkStored {
            hash,
            len: body.len() as u64,
        }))
    })
    .await
}

async fn get_chunk(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Role::Read)?;
    let hash = parse_hash(&hash)?;
    blocking(move || {
        let (loc, _) = app
            .index()
            .read(|c| read::chunk(c, &hash))?
            .ok_or_else(|| ApiError::not_found(format!("no chunk {hash}")))?;
        let bytes = app.store().get(&loc)?;
        Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
    })
    .await
}

async fn content(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(Role::Read)?;
    let id = parse_id(&id)?;
    let app2 = app.clone();
    let (state, mime) = blocking(move || {
        let s = app2
            .index()
            .read(|c| read::doc_state(c, &id))?
            .filter(|s| !s.deleted)
            .ok_or_else(|| ApiError::not_found(format!("no live document {id}")))?;
        let mime: String = app2.index().read(|c| {
            c.query_row("SELECT mime FROM docs WHERE key = ?1", [s.key], |r| {
                r.get(0)
            })
        })?;
        Ok((s, mime))
    })
    .await?;
    let m = state.manifest;
    let etag = format!("\"{}\"", m.hash);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, &etag))
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let range = match headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| parse_range(h, m.size))
    {
        Some(Err(())) => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{}", m.size))],
            )
                .into_response());
        }
        Some(Ok(r)) => Some(r),
        None => None,
    };
    let (start, end) = range.unwrap_or((0, m.size.saturating_sub(1)));
    let len = if m.size == 0 { 0 } else { end - start + 1 };
    let size = m.size;
    let body = stream_content(
        app,
        format!("{:?} ({})", state.name, state.id),
        m,
        start,
        len,
    )
    .await
    .map_err(|e| {
        e.about(format_args!(
            "reading document {} ({})",
            state.id, state.name
        ))
    })?;
    let mut resp = Response::builder()
        .status(if range.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        })
        .header(header::CONTENT_TYPE, mime)
        .header(header::CONTENT_LENGTH, len)
        .header(header::ETAG, etag)
        .header(header::ACCEPT_RANGES, "bytes");
    if range.is_some() {
        resp = resp.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"));
    }
    resp.body(body)
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// One chunk to send: where, the byte range of it, its length per the manifest.
type Piece = (docgrid_core::store::Locator, usize, usize, u64);

/// Streams `len` bytes from `start` of the content; the first chunk is
/// read before answering, so an unreadable document is an error, not a
/// truncated body. A later failure aborts the connection.
async fn stream_content(
    app: Arc<App>,
    doc: String,
    m: Manifest,
    start: u64,
    len: u64,
) -> Result<Body, ApiError> {
    let pieces: Vec<Piece> = slices(m.chunks.iter().map(|c| c.len), start, len)
        .into_iter()
        .map(|s| {
            let c = &m.chunks[s.index];
            (c.locator.clone(), s.from, s.to, c.len)
        })
        .collect();
    let fetch = |app: Arc<App>, doc: String, (loc, from, to, len): Piece| async move {
        blocking(move || {
            // A lost chunk is 503 naming the document, not the chunk alone.
            let bytes = app
                .store()
                .get(&loc)
                .map_err(|e| ApiError::from(e).about(format!("document {doc}")))?;
            if bytes.len() as u64 != len {
                return Err(ApiError::internal(format!(
                    "chunk {loc} is {} bytes but the manifest says {len}; refusing to serve it",
                    bytes.len()
                )));
            }
            Ok(Bytes::from(bytes).slice(from..to))
        })
        .await
    };
    let mut pieces = pieces.into_iter();
    let Some(first) = pieces.next() else {
        return Ok(Body::empty());
    };
    let first = fetch(app.clone(), doc.clone(), first).await?;
    let named = doc.clone();
    let rest = futures_util::stream::iter(pieces)
        .map(move |p| fetch(app.clone(), named.clone(), p))
        .buffered(2)
        .map(move |r| {
            // The status line is sent: the client sees the connection cut
            // short; the log says which document and why.
            r.map_err(|e| {
                tracing::error!(
                    "reading document {doc}: {}; aborting the download",
                    e.message
                );
                std::io::Error::other(e.message)
            })
        });
    Ok(Body::from_stream(
        futures_util::stream::once(async { Ok::<_, std::io::Error>(first) }).chain(rest),
    ))
}
