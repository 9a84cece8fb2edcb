//! `docgrid-proxy`: the server's `/v1` API served on this machine from a
//! [`Client`] and its caches, so the CLI, FUSE and the GUI share one chunk
//! cache and one set of connections.
//!
//! - `GET …/content` and `GET /v1/chunks/{hash}` are assembled from chunks
//!   through the [`ChunkCache`](crate::cache::ChunkCache): a second read
//!   does not reach a server.
//! - Other reads are forwarded (to a healthy server, failing over) and
//!   their answers kept in memory, keyed by the caller's token and the
//!   path. While the change feed ([`ChangeFeed`], the client library's long
//!   poll of `/v1/changes`) is connected, they are answered from memory; it
//!   drops them all when a commit lands (and every write through the proxy
//!   does). While it is not connected,
//!   every read goes to a server and the memory only serves when none
//!   answers.
//! - With every server down, what is cached is served with the header
//!   `x-docgrid-stale: 1`, to a token a server accepted earlier; anything
//!   else fails at once with 503 naming the unreachable servers.
//! - Writes go to the primary; the proxy answers what the server answered,
//!   or 503 "nothing was written" when it could not be reached.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use docgrid_core::DocId;
use docgrid_core::api::{ContentManifest, DocInfo, ErrorBody, ErrorCode, ErrorDetail};
use docgrid_core::chunk::Digest;
use docgrid_core::content::{etag_matches, parse_range, slices};
use futures_util::StreamExt;

use docgrid_client::feed::{ChangeFeed, FeedEvent};
use docgrid_client::{Client, ClientError, RawAnswer};

/// The header on answers served from the cache while no server answers.
pub const STALE_HEADER: &str = "x-docgrid-stale";

/// One remembered answer.
#[derive(Clone)]
struct Cached {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

/// The proxy's state.
pub struct Proxy {
    client: Client,
    meta: Mutex<HashMap<String, Cached>>,
    /// Invalidations so far: an answer fetched across one is not kept.
    generation: std::sync::atomic::AtomicU64,
    /// BLAKE3 of tokens a server accepted: only they get cached answers
    /// while no server can check them.
    accepted: Mutex<HashSet<Digest>>,
    /// The change feed, once started: remembered answers are current
    /// while it is live.
    feed: Mutex<Option<ChangeFeed>>,
}

impl Proxy {
    /// A proxy over `client` (its token feeds the change long poll).
    pub fn new(client: Client) -> Arc<Proxy> {
        Arc::new(Proxy {
            client,
            meta: Mutex::new(HashMap::new()),
            generation: std::sync::atomic::AtomicU64::new(0),
            accepted: Mutex::new(HashSet::new()),
            feed: Mutex::new(None),
        })
    }

    /// Drops every remembered answer.
    pub fn invalidate(&self) {
        let mut meta = self.meta.lock().expect("poisoned");
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        meta.clear();
    }

    /// Whether the change feed is connected (remembered answers current).
    pub fn is_live(&self) -> bool {
        self.feed
            .lock()
            .expect("poisoned")
            .as_ref()
            .is_some_and(ChangeFeed::is_live)
    }

    /// Follows `/v1/changes` in a background thread, dropping remembered
    /// answers whenever a commit lands, and all of them on (re)connection
    /// and loss. Idempotent.
    pub fn spawn_change_feed(self: &Arc<Proxy>) {
        let mut feed = self.feed.lock().expect("poisoned");
        if feed.is_some() {
            return;
        }
        let weak = Arc::downgrade(self);
        *feed = Some(ChangeFeed::start(self.client.clone(), move |event| {
            if let Some(proxy) = weak.upgrade() {
                match event {
                    FeedEvent::Connected { .. } | FeedEvent::Commits { .. } => proxy.invalidate(),
                    FeedEvent::Lost { .. } => {}
                }
            }
        }));
    }

    fn client_for(&self, token: &str) -> Client {
        self.client.with_token(token)
    }

    fn key(token: &str, path: &str) -> String {
        format!("{}{path}", Digest::of(token.as_bytes()))
    }

    fn accepted(&self, token: &str) -> bool {
        self.accepted
            .lock()
            .expect("poisoned")
            .contains(&Digest::of(token.as_bytes()))
    }

    fn accept(&self, token: &str) {
        self.accepted
            .lock()
            .expect("poisoned")
            .insert(Digest::of(token.as_bytes()));
    }
}

/// The proxy's routes: the whole `/v1` API.
pub fn router(proxy: Arc<Proxy>) -> Router {
    Router::new().fallback(handle).with_state(proxy)
}

/// Serves `proxy` on `listener` until `shutdown`.
pub async fn serve(
    proxy: Arc<Proxy>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(proxy))
        .with_graceful_shutdown(shutdown)
        .await
}

fn error(code: ErrorCode, message: String) -> Response {
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message,
            conflicts: Vec::new(),
            offset: None,
        },
    };
    (status, axum::Json(body)).into_response()
}

fn client_error(e: &ClientError) -> Response {
    match e {
        ClientError::Api {
            status,
            code,
            message,
            detail,
            ..
        } => {
            let body = detail.as_ref().clone().unwrap_or(ErrorBody {
                error: ErrorDetail {
                    code: *code,
                    message: message.clone(),
                    conflicts: Vec::new(),
                    offset: None,
                },
            });
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, axum::Json(body)).into_response()
        }
        ClientError::Conflict { conflicts, message } => {
            let body = ErrorBody {
                error: ErrorDetail {
                    code: ErrorCode::Conflict,
                    message: message.clone(),
                    conflicts: conflicts.clone(),
                    offset: None,
                },
            };
            (StatusCode::CONFLICT, axum::Json(body)).into_response()
        }
        ClientError::Unreachable { .. } | ClientError::WriteFailed { .. } => {
            error(ErrorCode::Unavailable, format!("docgrid-proxy: {e}"))
        }
        other => error(ErrorCode::BadGateway, format!("docgrid-proxy: {other}")),
    }
}

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .unwrap_or_default()
}

async fn handle(State(proxy): State<Arc<Proxy>>, req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let token = bearer(req.headers());
    let bare = req.uri().path().to_string();
    let segments: Vec<&str> = bare.trim_start_matches('/').split('/').collect();
    if req.method() == Method::GET {
        match segments[..] {
            ["v1", "docs", id, "content"] => {
                return match id.parse::<DocId>() {
                    Ok(id) => content(proxy, token, id, req.headers().clone()).await,
                    Err(e) => error(ErrorCode::BadRequest, e.to_string()),
                };
            }
            ["v1", "chunks", hash] if hash != "missing" => {
                return match hash.parse::<Digest>() {
                    Ok(h) => chunk(proxy, token, h).await,
                    Err(e) => error(ErrorCode::BadRequest, e.to_string()),
                };
            }
            _ => return read(proxy, token, path, cacheable(&bare)).await,
        }
    }
    write(proxy, token, req, path).await
}

/// Answers worth remembering: listings, searches, documents — not the
/// change feed, health, stats or administration.
fn cacheable(path: &str) -> bool {
    !(path.starts_with("/v1/changes")
        || path.starts_with("/v1/health")
        || path.starts_with("/v1/stats")
        || path.starts_with("/v1/admin"))
}

/// A forwarded read, or its remembered answer when no server answers.
async fn read(proxy: Arc<Proxy>, token: String, path: String, remember: bool) -> Response {
    match fetch(&proxy, &token, &path, remember).await {
        Ok((c, stale)) => cached_response(c, stale),
        Err(e) => client_error(&e),
    }
}

/// A read through the client, remembered if 2xx and `remember`; when no
/// server answers, the remembered answer (`true`: stale).
async fn fetch(
    proxy: &Arc<Proxy>,
    token: &str,
    path: &str,
    remember: bool,
) -> Result<(Cached, bool), ClientError> {
    let key = Proxy::key(token, path);
    if remember && proxy.is_live() {
        let hit = proxy.meta.lock().expect("poisoned").get(&key).cloned();
        if let Some(c) = hit {
            return Ok((c, false));
        }
    }
    let p = proxy.clone();
    let (t, pa) = (token.to_string(), path.to_string());
    let generation = proxy.generation.load(std::sync::atomic::Ordering::SeqCst);
    let got = tokio::task::spawn_blocking(move || -> Result<Cached, ClientError> {
        Ok(cached(p.client_for(&t).forward_read(&pa)?))
    })
    .await
    .map_err(|e| ClientError::Internal(format!("proxy worker: {e}")))?;
    match got {
        Ok(c) => {
            if !matches!(c.status.as_u16(), 401 | 403) {
                proxy.accept(token);
            }
            if remember && c.status.is_success() {
                let mut meta = proxy.meta.lock().expect("poisoned");
                if proxy.generation.load(std::sync::atomic::Ordering::SeqCst) == generation {
                    meta.insert(key, c.clone());
                }
            }
            Ok((c, false))
        }
        Err(e @ ClientError::Unreachable { .. }) => {
            let hit = proxy.meta.lock().expect("poisoned").get(&key).cloned();
            match hit {
                Some(c) if proxy.accepted(token) => Ok((c, true)),
                _ => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// A forwarded answer as the proxy keeps and serves it.
fn cached(a: RawAnswer) -> Cached {
    Cached {
        status: StatusCode::from_u16(a.status).unwrap_or(StatusCode::BAD_GATEWAY),
        content_type: a
            .content_type
            .and_then(|ct| HeaderValue::from_str(&ct).ok()),
        body: Bytes::from(a.body),
    }
}

fn cached_response(c: Cached, stale: bool) -> Response {
    let mut resp = (c.status, c.body).into_response();
    if let Some(ct) = c.content_type {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    if stale {
        resp.headers_mut()
            .insert(STALE_HEADER, HeaderValue::from_static("1"));
    }
    resp
}

async fn json_of<T: serde::de::DeserializeOwned>(
    proxy: &Arc<Proxy>,
    token: &str,
    path: &str,
) -> Result<(T, bool), Response> {
    let (c, stale) = fetch(proxy, token, path, true)
        .await
        .map_err(|e| client_error(&e))?;
    if !c.status.is_success() {
        return Err(cached_response(c, stale));
    }
    serde_json::from_slice(&c.body)
        .map(|v| (v, stale))
        .map_err(|e| error(ErrorCode::BadGateway, e.to_string()))
}

async fn chunk(proxy: Arc<Proxy>, token: String, hash: Digest) -> Response {
    let p = proxy.clone();
    let got = tokio::task::spawn_blocking(move || {
        let client = p.client_for(&token);
        // A cache hit without a check of the token: only for tokens a
        // server accepted.
        if !p.accepted(&token) {
            client.stats().map(|_| p.accept(&token))?;
        }
        client.chunk(&hash)
    })
    .await;
    match got {
        Ok(Ok(bytes)) => {
            ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
        }
        Ok(Err(e)) => client_error(&e),
        Err(e) => error(ErrorCode::Internal, e.to_string()),
    }
}

/// `GET /v1/docs/{id}/content` from chunks (cached), with Range and ETag.
async fn content(proxy: Arc<Proxy>, token: String, id: DocId, headers: HeaderMap) -> Response {
    let (m, stale): (ContentManifest, bool) =
        match json_of(&proxy, &token, &format!("/v1/docs/{id}/manifest")).await {
            Ok(v) => v,
            Err(resp) => return resp,
        };
    let mime = match json_of::<DocInfo>(&proxy, &token, &format!("/v1/docs/{id}")).await {
        Ok((d, _)) => d.meta.get("mime").and_then(|v| v.first().cloned()),
        Err(_) => None,
    }
    .unwrap_or_else(|| "application/octet-stream".into());
    let etag = format!("\"{}\"", m.hash);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, &etag))
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let range = match headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| parse_range(h, m.size))
    {
        Some(Err(())) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{}", m.size))],
            )
                .into_response();
        }
        Some(Ok(r)) => Some(r),
        None => None,
    };
    let (start, end) = range.unwrap_or((0, m.size.saturating_sub(1)));
    let len = if m.size == 0 { 0 } else { end - start + 1 };
    let pieces: Vec<(Digest, usize, usize)> = slices(m.chunks.iter().map(|c| c.len), start, len)
        .into_iter()
        .map(|s| (m.chunks[s.index].hash, s.from, s.to))
        .collect();
    let fetch_piece = {
        let proxy = proxy.clone();
        move |(hash, from, to): (Digest, usize, usize)| {
            let proxy = proxy.clone();
            let token = token.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    proxy
                        .client_for(&token)
                        .chunk(&hash)
                        .map(|b| Bytes::from(b).slice(from..to))
                })
                .await
                .map_err(|e| ClientError::Internal(e.to_string()))?
            }
        }
    };
    let mut pieces = pieces.into_iter();
    let body = match pieces.next() {
        None => Body::empty(),
        Some(first) => {
            // The first chunk before the status line: an unreadable
            // document is an error, not a truncated body.
            let first = match fetch_piece(first).await {
                Ok(b) => b,
                Err(e) => return client_error(&e),
            };
            let rest = futures_util::stream::iter(pieces)
                .map(fetch_piece)
                .buffered(4)
                .map(move |r| {
                    r.map_err(|e| {
                        tracing::error!("reading document {id}: {e}; aborting the download");
                        std::io::Error::other(e.to_string())
                    })
                });
            Body::from_stream(
                futures_util::stream::once(async { Ok::<_, std::io::Error>(first) }).chain(rest),
            )
        }
    };
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
        resp = resp.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{end}/{}", m.size),
        );
    }
    if stale {
        resp = resp.header(STALE_HEADER, "1");
    }
    resp.body(body)
        .unwrap_or_else(|e| error(ErrorCode::Internal, e.to_string()))
}

/// The request body as a blocking reader (fed from the async side).
struct BodyReader {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// A write, forwarded to the primary with its body streamed.
async fn write(proxy: Arc<Proxy>, token: String, req: Request, path: String) -> Response {
    let method = req.method().as_str().to_string();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, String>>(8);
    let mut stream = req.into_body().into_data_stream();
    let pump = tokio::spawn(async move {
        while let Some(frame) = stream.next().await {
            let item = frame.map_err(|e| e.to_string());
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    let p = proxy.clone();
    let answered = tokio::task::spawn_blocking(move || -> Result<Cached, ClientError> {
        let body = Box::new(BodyReader {
            rx,
            current: Bytes::new(),
        });
        let answer =
            p.client_for(&token)
                .forward_write(&method, &path, content_type.as_deref(), body)?;
        Ok(cached(answer))
    })
    .await;
    pump.abort();
    // Whatever the outcome, what was remembered may be out of date.
    proxy.invalidate();
    match answered {
        Ok(Ok(c)) => cached_response(c, false),
        Ok(Err(e)) => client_error(&e),
        Err(e) => error(ErrorCode::Internal, e.to_string()),
    }
}

/// A proxy on 127.0.0.1:0 in a background thread with its own runtime, for
/// tests and benchmarks. Dropping it stops the proxy and waits.
pub struct Background {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Serves `proxy`; returns once the listener is bound.
    pub fn start(proxy: Arc<Proxy>) -> std::io::Result<Background> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = addr_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = addr_tx.send(Err(e));
                        return;
                    }
                };
                let _ = addr_tx.send(listener.local_addr());
                if let Err(e) = serve(proxy, listener, async {
                    let _ = stopped.await;
                })
                .await
                {
                    tracing::error!("proxy: {e}");
                }
            });
        });
        let addr = addr_rx
            .recv()
            .map_err(|_| std::io::Error::other("proxy thread died"))??;
        Ok(Background {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
