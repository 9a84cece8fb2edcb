//! [`Client`]: typed, blocking calls for every `/v1` endpoint, over one or
//! several servers.
//!
//! - **Reads** go to a healthy server: the first that answers, starting
//!   from the last that did. A server that cannot be reached, or answers
//!   502/503/504, is skipped for [`ClientOptions::down_for`]; when every
//!   server is down each is tried once more, quickly. Idempotent calls are
//!   retried with backoff ([`ClientOptions::retries`]).
//! - **Writes** go to the primary (the first URL) only, and are never
//!   retried unless idempotent (chunk uploads): a write reports success
//!   only when the server answered it did.
//! - **Content** comes as chunks (`GET /v1/docs/{id}/manifest`, then
//!   `GET /v1/chunks/{hash}`), each verified against its BLAKE3 and kept
//!   in the [`ChunkCache`] when there is one.
//! - **Uploads** chunk and hash locally, ask which chunks the server lacks,
//!   send only those (several at once), then commit: re-importing a tree
//!   moves only new bytes.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use docgrid_core::DocId;
use docgrid_core::api::{
    Changes, ChunkStored, CommitInfo, CommitRequest, CommitResponse, ContentManifest, Count,
    DocInfo, ErrorBody, GcReport, Health, HistoryEntry, MetaPatch, MissingChunksRequest,
    MissingChunksResponse, Role, ScrubSummary, SearchResponse, Stats, TokenInfo, TokenRequest,
    TreeListing,
};
use docgrid_core::chunk::{Chunker, Digest};
use docgrid_core::model::{Changeset, ChunkRef, FORMAT_VERSION, Manifest, Metadata, Op};
use docgrid_core::store::Locator;
use reqwest::Method;
use reqwest::blocking::{RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use docgrid_core::parallel_map as parallel;

use crate::cache::ChunkCache;

/// What a call failed with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error (its body's code and message).
    #[error("{url}: {status} {code}: {message}")]
    Api {
        /// The server and path.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The stable error code (`not_found`, `conflict`, …).
        code: String,
        /// What failed and what to do.
        message: String,
        /// The error body, for conflicts and query offsets.
        detail: Box<Option<ErrorBody>>,
    },
    /// No server could be reached (or every one answered 502/503/504).
    #[error("no docgrid server answered ({}): {why}", servers.join(", "))]
    Unreachable {
        /// The servers tried.
        servers: Vec<String>,
        /// The last failure.
        why: String,
    },
    /// The primary could not be reached for a write: nothing was written.
    #[error("the primary {server} could not be reached ({why}); nothing was written")]
    WriteFailed {
        /// The primary.
        server: String,
        /// Why.
        why: String,
    },
    /// Bytes came back that do not hash to what was asked for.
    #[error("{what} is corrupt: expected BLAKE3 {expected}, got {got}")]
    Corrupt {
        /// The chunk or document.
        what: String,
        /// The hash asked for.
        expected: Digest,
        /// The hash of what came.
        got: Digest,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// An answer that is not what the API promises.
    #[error("{url}: unreadable answer: {why}")]
    Decode {
        /// The server and path.
        url: String,
        /// What did not parse.
        why: String,
    },
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The chunk cache failed.
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
}

impl ClientError {
    /// The HTTP status of an API error, if it is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Tuning of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// How long to wait for a connection to a server.
    pub connect_timeout: Duration,
    /// How long a request may take (long polls add their wait).
    pub timeout: Duration,
    /// Extra tries of an idempotent call when no server answered.
    pub retries: u32,
    /// How long a server that failed is skipped.
    pub down_for: Duration,
    /// Chunks uploaded or downloaded at once.
    pub parallel: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(300),
            retries: 2,
            down_for: Duration::from_secs(5),
            parallel: 4,
        }
    }
}

/// One server and when it may be tried again.
#[derive(Debug)]
struct Endpoint {
    url: String,
    down_until: Mutex<Option<Instant>>,
}

impl Endpoint {
    fn is_down(&self) -> bool {
        self.down_until
            .lock()
            .expect("poisoned")
            .is_some_and(|t| Instant::now() < t)
    }

    fn mark(&self, down_for: Option<Duration>) {
        *self.down_until.lock().expect("poisoned") = down_for.map(|d| Instant::now() + d);
    }
}

/// What an upload moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadStats {
    /// Files committed.
    pub files: u64,
    /// Bytes of content committed.
    pub bytes: u64,
    /// Chunks referenced.
    pub chunks: u64,
    /// Chunks the server lacked, sent.
    pub chunks_sent: u64,
    /// Bytes sent (the rest was already there).
    pub bytes_sent: u64,
}

/// One file to upload: its name, metadata and content.
#[derive(Debug, Clone)]
pub struct NewDoc {
    /// The document's name.
    pub name: String,
    /// Its metadata (`path` included, if any).
    pub meta: Metadata,
    /// Where its bytes are.
    pub file: std::path::PathBuf,
}

/// A typed client of the docgrid API.
#[derive(Clone)]
pub struct Client {
    servers: Arc<Vec<Endpoint>>,
    /// The server that answered last (reads start there).
    preferred: Arc<AtomicUsize>,
    token: String,
    http: reqwest::blocking::Client,
    cache: Option<Arc<ChunkCache>>,
    opts: ClientOptions,
}

/// The server answered: status, headers and body.
pub struct Answer {
    /// Which server.
    pub server: String,
    /// The response.
    pub response: Response,
}

impl Client {
    /// A client of `servers` (the first is the primary) with `token`.
    pub fn new(
        servers: &[String],
        token: &str,
        opts: ClientOptions,
    ) -> Result<Client, ClientError> {
        if servers.is_empty() {
            return Err(ClientError::Config("no server URL given".into()));
        }
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::Config(e.to_string()))?;
        Ok(Client {
            servers: Arc::new(
                servers
                    .iter()
                    .map(|u| Endpoint {
                        url: u.trim_end_matches('/').to_string(),
                        down_until: Mutex::new(None),
                    })
                    .collect(),
            ),
            preferred: Arc::new(AtomicUsize::new(0)),
            token: token.to_string(),
            http,
            cache: None,
            opts,
        })
    }

    /// The same client, keeping fetched chunks in `cache`.
    pub fn with_cache(mut self, cache: Arc<ChunkCache>) -> Client {
        self.cache = Some(cache);
        self
    }

    /// The same client (servers, health, cache) calling with `token`.
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            token: token.to_string(),
            ..self.clone()
        }
    }

    /// The chunk cache, if any.
    pub fn cache(&self) -> Option<&Arc<ChunkCache>> {
        self.cache.as_ref()
    }

    /// The server URLs, primary first.
    pub fn servers(&self) -> Vec<String> {
        self.servers.iter().map(|e| e.url.clone()).collect()
    }

    /// The bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    // ---- transport -------------------------------------------------------

    fn request(&self, server: &str, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{server}{path}"))
            .bearer_auth(&self.token)
    }

    /// Sends a read (`GET`, or an idempotent `POST` such as
    /// `/v1/chunks/missing` when `primary_only`) to a healthy server,
    /// failing over and retrying. `build` adds headers and a body.
    pub fn send_read(
        &self,
        method: Method,
        path: &str,
        primary_only: bool,
        build: &dyn Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Answer, ClientError> {
        let n = if primary_only { 1 } else { self.servers.len() };
        let mut last = String::new();
        for attempt in 0..=self.opts.retries {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(100 << (attempt - 1).min(4)));
            }
            let start = if primary_only {
                0
            } else {
                self.preferred.load(Ordering::Relaxed) % n
            };
            let order: Vec<usize> = (0..n).map(|k| (start + k) % n).collect();
            // Healthy servers first; the ones marked down only if no other answered.
            let all_down = order.iter().all(|&i| self.servers[i].is_down());
            for &i in &order {
                let ep = &self.servers[i];
                if ep.is_down() && !all_down {
                    continue;
                }
                match build(self.request(&ep.url, method.clone(), path)).send() {
                    Ok(resp) if matches!(resp.status().as_u16(), 502..=504) => {
                        last = format!("{} answered {}", ep.url, resp.status());
                        ep.mark(Some(self.opts.down_for));
                    }
                    Ok(response) => {
                        ep.mark(None);
                        if !primary_only {
                            self.preferred.store(i, Ordering::Relaxed);
                        }
                        return Ok(Answer {
                            server: ep.url.clone(),
                            response,
                        });
                    }
                    Err(e) => {
                        last = format!("{}: {}", ep.url, docgrid_core::error_chain(&e));
                        ep.mark(Some(self.opts.down_for));
                    }
                }
            }
        }
        Err(ClientError::Unreachable {
            servers: order_names(&self.servers, n),
            why: last,
        })
    }

    /// Sends a write to the primary, once.
    pub fn send_write(
        &self,
        method: Method,
        path: &str,
        build: &dyn Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Answer, ClientError> {
        let ep = &self.servers[0];
        match build(self.request(&ep.url, method, path)).send() {
            Ok(response) => {
                ep.mark(None);
                Ok(Answer {
                    server: ep.url.clone(),
                    response,
                })
            }
            Err(e) => {
                ep.mark(Some(self.opts.down_for));
                Err(ClientError::WriteFailed {
                    server: ep.url.clone(),
                    why: docgrid_core::error_chain(&e),
                })
            }
        }
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        json(self.send_read(Method::GET, path, false, &|r| r)?, path)
    }

    fn write_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        json(self.send_write(method, path, &|r| r.json(body))?, path)
    }

    // ---- reads -----------------------------------------------------------

    /// `GET /v1/health` of the server reads go to.
    pub fn health(&self) -> Result<Health, ClientError> {
        self.get("/v1/health")
    }

    /// `GET /v1/stats`.
    pub fn stats(&self) -> Result<Stats, ClientError> {
        self.get("/v1/stats")
    }

    /// `GET /v1/search`.
    pub fn search(&self, q: &str, limit: u64, offset: u64) -> Result<SearchResponse, ClientError> {
        self.get(&format!(
            "/v1/search?q={}&limit={limit}&offset={offset}",
            encode(q)
        ))
    }

    /// `GET /v1/tree/PATH` (`""` or `"/"` for the root).
    pub fn tree(&self, path: &str) -> Result<TreeListing, ClientError> {
        let path = path.trim_start_matches('/');
        let encoded: Vec<String> = path.split('/').map(encode).collect();
        self.get(&format!("/v1/tree/{}", encoded.join("/")))
    }

    /// `GET /v1/docs/{id}`.
    pub fn doc(&self, id: &DocId) -> Result<DocInfo, ClientError> {
        self.get(&format!("/v1/docs/{id}"))
    }

    /// `GET /v1/docs/{id}/manifest`.
    pub fn manifest(&self, id: &DocId) -> Result<ContentManifest, ClientError> {
        self.get(&format!("/v1/docs/{id}/manifest"))
    }

    /// `GET /v1/docs/{id}/manifest?rev=R`: the content as it was at
    /// repository revision `rev` (404 if it did not exist then).
    pub fn manifest_at(&self, id: &DocId, rev: u64) -> Result<ContentManifest, ClientError> {
        self.get(&format!("/v1/docs/{id}/manifest?rev={rev}"))
    }

    /// `GET /v1/docs/{id}/history`.
    pub fn history(&self, id: &DocId) -> Result<Vec<HistoryEntry>, ClientError> {
        self.get(&format!("/v1/docs/{id}/history"))
    }

    /// `GET /v1/commits?since=&limit=`.
    pub fn commits(&self, since: u64, limit: u64) -> Result<Vec<CommitInfo>, ClientError> {
        self.get(&format!("/v1/commits?since={since}&limit={limit}"))
    }

    /// `GET /v1/commits/{rev}`: one changeset with its ops.
    pub fn changeset(&self, rev: u64) -> Result<Changeset, ClientError> {
        self.get(&format!("/v1/commits/{rev}"))
    }

    /// `GET /v1/changes?since=&wait=`: commits after `since`, waiting up to
    /// `wait` for one.
    pub fn changes(&self, since: u64, wait: Duration) -> Result<Changes, ClientError> {
        let path = format!("/v1/changes?since={since}&wait={}", wait.as_secs());
        let answer = self.send_read(Method::GET, &path, false, &|r| {
            r.timeout(self.opts.timeout + wait)
        })?;
        json(answer, &path)
    }

    /// `GET /v1/tags`.
    pub fn tags(&self) -> Result<Vec<Count>, ClientError> {
        self.get("/v1/tags")
    }

    /// `GET /v1/keys`.
    pub fn keys(&self) -> Result<Vec<Count>, ClientError> {
        self.get("/v1/keys")
    }

    /// `GET /v1/keys/{key}/values`.
    pub fn values(&self, key: &str) -> Result<Vec<Count>, ClientError> {
        self.get(&format!("/v1/keys/{}/values", encode(key)))
    }

    /// One chunk, verified; from the cache when it holds it.
    pub fn chunk(&self, hash: &Digest) -> Result<Vec<u8>, ClientError> {
        if let Some(cache) = &self.cache
            && let Some(bytes) = cache.get(hash)?
        {
            return Ok(bytes);
        }
        let path = format!("/v1/chunks/{hash}");
        let answer = ok(self.send_read(Method::GET, &path, false, &|r| r)?, &path)?;
        let bytes = answer
            .response
            .bytes()
            .map_err(|e| ClientError::Decode {
                url: format!("{}{path}", answer.server),
                why: docgrid_core::error_chain(&e),
            })?
            .to_vec();
        let got = Digest::of(&bytes);
        if got != *hash {
            return Err(ClientError::Corrupt {
                what: format!("chunk {hash} from {}", answer.server),
                expected: *hash,
                got,
            });
        }
        if let Some(cache) = &self.cache {
            cache.put(hash, &bytes)?;
        }
        Ok(bytes)
    }

    /// A document's content, written to `out` chunk by chunk (each
    /// verified, cached); the whole is checked against the manifest's hash.
    /// Returns the manifest.
    pub fn content_to(
        &self,
        id: &DocId,
        out: &mut dyn std::io::Write,
    ) -> Result<ContentManifest, ClientError> {
        let m = self.manifest(id)?;
        self.manifest_content_to(&m, out)?;
        Ok(m)
    }

    /// The content a manifest names, written to `out`.
    pub fn manifest_content_to(
        &self,
        m: &ContentManifest,
        out: &mut dyn std::io::Write,
    ) -> Result<(), ClientError> {
        let mut whole = blake3::Hasher::new();
        // A window of chunks fetched in parallel, written in order.
        for window in m.chunks.chunks(self.opts.parallel.max(1) * 2) {
            let fetched = parallel(window, self.opts.parallel, |c| self.chunk(&c.hash));
            for r in fetched {
                let bytes = r?;
                whole.update(&bytes);
                out.write_all(&bytes).map_err(|e| ClientError::Io {
                    path: format!("the content of {}", m.id),
                    source: e,
                })?;
            }
        }
        let got = Digest(*whole.finalize().as_bytes());
        if got != m.hash {
            return Err(ClientError::Corrupt {
                what: format!("document {}", m.id),
                expected: m.hash,
                got,
            });
        }
        Ok(())
    }

    /// A document's whole content in memory.
    pub fn content(&self, id: &DocId) -> Result<Vec<u8>, ClientError> {
        let mut out = Vec::new();
        self.content_to(id, &mut out)?;
        Ok(out)
    }

    // ---- writes ----------------------------------------------------------

    /// `POST /v1/commits`.
    pub fn commit(&self, message: &str, ops: Vec<Op>) -> Result<CommitResponse, ClientError> {
        self.write_json(
            Method::POST,
            "/v1/commits",
            &CommitRequest {
                message: message.into(),
                ops,
            },
        )
    }

    /// `PATCH /v1/docs/{id}`.
    pub fn patch(&self, id: &DocId, patch: &MetaPatch) -> Result<DocInfo, ClientError> {
        self.write_json(Method::PATCH, &format!("/v1/docs/{id}"), patch)
    }

    /// `DELETE /v1/docs/{id}?base=`.
    pub fn delete(&self, id: &DocId, base: u64) -> Result<CommitResponse, ClientError> {
        let path = format!("/v1/docs/{id}?base={base}");
        json(self.send_write(Method::DELETE, &path, &|r| r)?, &path)
    }

    /// `POST /v1/chunks/missing` (to the primary, where uploads go).
    pub fn missing(&self, hashes: &[Digest]) -> Result<Vec<Digest>, ClientError> {
        let mut out = Vec::new();
        for part in hashes.chunks(10_000) {
            let body = MissingChunksRequest {
                hashes: part.to_vec(),
            };
            let r: MissingChunksResponse = json(
                self.send_read(Method::POST, "/v1/chunks/missing", true, &|r| r.json(&body))?,
                "/v1/chunks/missing",
            )?;
            out.extend(r.missing);
        }
        Ok(out)
    }

    /// `PUT /v1/chunks/{hash}` (idempotent: retried).
    pub fn put_chunk(&self, hash: &Digest, bytes: &[u8]) -> Result<ChunkStored, ClientError> {
        let path = format!("/v1/chunks/{hash}");
        json(
            self.send_read(Method::PUT, &path, true, &|r| r.body(bytes.to_vec()))?,
            &path,
        )
    }

    /// Uploads `docs` as new documents in one commit: chunks and hashes
    /// each file, sends only the chunks the server lacks, then commits.
    /// `progress` is told of every byte read and every chunk sent.
    pub fn upload(
        &self,
        docs: &[NewDoc],
        message: &str,
        progress: &dyn Fn(&UploadStats),
    ) -> Result<(Vec<DocId>, CommitResponse, UploadStats), ClientError> {
        let mut stats = UploadStats::default();
        let mut ops = Vec::with_capacity(docs.len());
        let mut ids = Vec::with_capacity(docs.len());
        for d in docs {
            let content = self.upload_content(&d.file, &mut stats, progress)?;
            let id = DocId::random();
            ops.push(Op::Create {
                id,
                name: d.name.clone(),
                meta: d.meta.clone(),
                content,
            });
            ids.push(id);
            stats.files += 1;
            progress(&stats);
        }
        let resp = self.commit(message, ops)?;
        Ok((ids, resp, stats))
    }

    /// Chunks one file and uploads what the server lacks; returns its
    /// manifest (locators left for the server to fill in).
    pub fn upload_content(
        &self,
        file: &std::path::Path,
        stats: &mut UploadStats,
        progress: &dyn Fn(&UploadStats),
    ) -> Result<Manifest, ClientError> {
        let io = |e: std::io::Error| ClientError::Io {
            path: file.display().to_string(),
            source: e,
        };
        let f = std::fs::File::open(file).map_err(io)?;
        let mut whole = blake3::Hasher::new();
        let mut chunks = Vec::new();
        let mut size = 0u64;
        // Batches of chunks: ask which are missing, send those, go on.
        let mut batch: Vec<(Digest, Vec<u8>)> = Vec::new();
        let flush = |batch: &mut Vec<(Digest, Vec<u8>)>,
                     stats: &mut UploadStats|
         -> Result<(), ClientError> {
            if batch.is_empty() {
                return Ok(());
            }
            let hashes: Vec<Digest> = batch.iter().map(|(h, _)| *h).collect();
            let missing: std::collections::HashSet<Digest> =
                self.missing(&hashes)?.into_iter().collect();
            let to_send: Vec<&(Digest, Vec<u8>)> =
                batch.iter().filter(|(h, _)| missing.contains(h)).collect();
            for r in parallel(&to_send, self.opts.parallel, |(h, b)| self.put_chunk(h, b)) {
                r?;
            }
            stats.chunks_sent += to_send.len() as u64;
            stats.bytes_sent += to_send.iter().map(|(_, b)| b.len() as u64).sum::<u64>();
            progress(stats);
            batch.clear();
            Ok(())
        };
        for chunk in Chunker::default().stream(std::io::BufReader::new(f)) {
            let bytes = chunk.map_err(io)?;
            let hash = Digest::of(&bytes);
            whole.update(&bytes);
            size += bytes.len() as u64;
            stats.bytes += bytes.len() as u64;
            stats.chunks += 1;
            chunks.push(ChunkRef {
                hash,
                len: bytes.len() as u64,
                locator: Locator::new(""),
            });
            batch.push((hash, bytes));
            if batch.len() >= 16 {
                flush(&mut batch, stats)?;
            }
        }
        flush(&mut batch, stats)?;
        Ok(Manifest {
            version: FORMAT_VERSION,
            size,
            hash: Digest(*whole.finalize().as_bytes()),
            chunks,
        })
    }

    /// `POST /v1/docs?name=…&k=v…` with the raw body streamed from `body`.
    pub fn upload_raw(
        &self,
        name: &str,
        meta: &Metadata,
        body: impl Read + Send + 'static,
    ) -> Result<DocInfo, ClientError> {
        let mut q = format!("/v1/docs?name={}", encode(name));
        for (k, vs) in meta {
            for v in vs {
                q.push_str(&format!("&{}={}", encode(k), encode(v)));
            }
        }
        let body = Mutex::new(Some(reqwest::blocking::Body::new(body)));
        json(
            self.send_write(Method::POST, &q, &|r| {
                r.body(
                    body.lock()
                        .expect("poisoned")
                        .take()
                        .unwrap_or_else(|| Vec::<u8>::new().into()),
                )
            })?,
            &q,
        )
    }

    // ---- admin -----------------------------------------------------------

    /// `GET /v1/admin/tokens`.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, ClientError> {
        self.get("/v1/admin/tokens")
    }

    /// `POST /v1/admin/tokens`.
    pub fn create_token(&self, name: &str, role: Role) -> Result<TokenInfo, ClientError> {
        self.write_json(
            Method::POST,
            "/v1/admin/tokens",
            &TokenRequest {
                name: name.into(),
                role,
            },
        )
    }

    /// `DELETE /v1/admin/tokens/{name}`.
    pub fn revoke_token(&self, name: &str) -> Result<(), ClientError> {
        let path = format!("/v1/admin/tokens/{}", encode(name));
        let _: serde_json::Value = json(self.send_write(Method::DELETE, &path, &|r| r)?, &path)?;
        Ok(())
    }

    /// `POST /v1/admin/scrub?repair=`.
    pub fn scrub(&self, repair: bool) -> Result<ScrubSummary, ClientError> {
        let path = format!("/v1/admin/scrub?repair={repair}");
        json(
            self.send_write(Method::POST, &path, &|r| {
                r.timeout(Duration::from_secs(24 * 3600))
            })?,
            &path,
        )
    }

    /// `POST /v1/admin/gc?grace=`.
    pub fn gc(&self, grace: Duration) -> Result<GcReport, ClientError> {
        let path = format!("/v1/admin/gc?grace={}", grace.as_secs());
        json(self.send_write(Method::POST, &path, &|r| r)?, &path)
    }

    /// `POST /v1/admin/purge/{id}`.
    pub fn purge(&self, id: &DocId) -> Result<CommitResponse, ClientError> {
        let path = format!("/v1/admin/purge/{id}");
        json(self.send_write(Method::POST, &path, &|r| r)?, &path)
    }

    /// `POST /v1/admin/reindex`.
    pub fn reindex(&self) -> Result<serde_json::Value, ClientError> {
        let path = "/v1/admin/reindex";
        json(
            self.send_write(Method::POST, path, &|r| {
                r.timeout(Duration::from_secs(24 * 3600))
            })?,
            path,
        )
    }
}

fn order_names(servers: &[Endpoint], n: usize) -> Vec<String> {
    servers.iter().take(n).map(|e| e.url.clone()).collect()
}

/// A 2xx answer, or the server's error as [`ClientError::Api`].
pub fn ok(answer: Answer, path: &str) -> Result<Answer, ClientError> {
    let status = answer.response.status();
    if status.is_success() {
        return Ok(answer);
    }
    let url = format!("{}{path}", answer.server);
    let text = answer.response.text().unwrap_or_default();
    let body: Option<ErrorBody> = serde_json::from_str(&text).ok();
    let (code, message) = match &body {
        Some(b) => (b.error.code.clone(), b.error.message.clone()),
        None => ("http".to_string(), text.trim().to_string()),
    };
    Err(ClientError::Api {
        url,
        status: status.as_u16(),
        code,
        message,
        detail: Box::new(body),
    })
}

fn json<T: DeserializeOwned>(answer: Answer, path: &str) -> Result<T, ClientError> {
    let answer = ok(answer, path)?;
    let url = format!("{}{path}", answer.server);
    let text = answer.response.text().map_err(|e| ClientError::Decode {
        url: url.clone(),
        why: docgrid_core::error_chain(&e),
    })?;
    serde_json::from_str(&text).map_err(|e| ClientError::Decode {
        url,
        why: e.to_string(),
    })
}

/// Percent-encodes a path segment or query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
