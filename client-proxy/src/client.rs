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

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docgrid_core::DocId;
use docgrid_core::api::{
    Changes, ChunkStored, ChunksStored, CommitInfo, CommitRequest, CommitResponse, ContentManifest,
    Count, DocInfo, DocText, GcReport, Health, HistoryEntry, MetaPatch, MissingChunksRequest,
    MissingChunksResponse, Role, ScrubSummary, SearchResponse, Stats, TREE_PAGE_MAX, TokenInfo,
    TokenRequest, TreeListing,
};
use docgrid_core::chunk::Digest;
use docgrid_core::model::{Changeset, Metadata, Op};
use reqwest::Method;

use docgrid_core::parallel_map as parallel;

use crate::cache::ChunkCache;
use crate::error::ClientError;
use crate::transport::{Endpoint, body, encode, json, ok};

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

/// A typed client of the docgrid API.
#[derive(Clone)]
pub struct Client {
    pub(crate) servers: Arc<Vec<Endpoint>>,
    /// The server that answered last (reads start there).
    pub(crate) preferred: Arc<AtomicUsize>,
    pub(crate) token: String,
    pub(crate) http: reqwest::blocking::Client,
    pub(crate) cache: Option<Arc<ChunkCache>>,
    pub(crate) opts: ClientOptions,
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
            servers: Arc::new(servers.iter().map(|u| Endpoint::new(u)).collect()),
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

    /// The tuning it was made with.
    pub fn options(&self) -> &ClientOptions {
        &self.opts
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

    /// One page of `GET /v1/tree/PATH?offset=&limit=` (`""` or `"/"` for
    /// the root).
    pub fn tree_page(
        &self,
        path: &str,
        offset: u64,
        limit: u64,
    ) -> Result<TreeListing, ClientError> {
        let path = path.trim_start_matches('/');
        let encoded: Vec<String> = path.split('/').map(encode).collect();
        self.get(&format!(
            "/v1/tree/{}?offset={offset}&limit={limit}",
            encoded.join("/")
        ))
    }

    /// A whole directory: every page of `GET /v1/tree/PATH`, of one
    /// revision (a commit between pages starts the listing again, a few
    /// times at most).
    pub fn tree(&self, path: &str) -> Result<TreeListing, ClientError> {
        let mut tries = 0;
        'again: loop {
            tries += 1;
            let mut listing = self.tree_page(path, 0, TREE_PAGE_MAX)?;
            while let Some(next) = listing.next_offset {
                let page = self.tree_page(path, next, TREE_PAGE_MAX)?;
                if page.rev != listing.rev {
                    if tries < 4 {
                        continue 'again;
                    }
                    // Pages of several revisions: usable now, never current.
                    listing.rev = 0;
                }
                listing.entries.extend(page.entries);
                listing.next_offset = page.next_offset;
            }
            listing.offset = 0;
            return Ok(listing);
        }
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

    /// `GET /v1/docs/{id}/text`: the text the server extracted from it.
    pub fn text(&self, id: &DocId) -> Result<DocText, ClientError> {
        self.get(&format!("/v1/docs/{id}/text"))
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
        // A connection that went silent is noticed within seconds of the
        // wait, not after the whole request timeout.
        let answer = self.send_read(Method::GET, &path, false, &|r| {
            r.timeout(wait + Duration::from_secs(10))
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
        let (server, bytes) = body(answer, &path)?;
        let got = Digest::of(&bytes);
        if got != *hash {
            return Err(ClientError::Corrupt {
                what: format!("chunk {hash} from {}", server),
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

    // ---- uploads (the pipeline is in `upload`) -------------------------

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

    /// `POST /v1/chunks`: many chunks in one request (idempotent: retried).
    pub fn put_chunks(&self, chunks: &[(Digest, &[u8])]) -> Result<ChunksStored, ClientError> {
        let path = "/v1/chunks";
        let body = docgrid_core::api::chunk_batch::encode(chunks);
        json(
            self.send_read(Method::POST, path, true, &|r| r.body(body.clone()))?,
            path,
        )
    }

    /// `POST /v1/docs?name=…&k=v…` with the raw body streamed from `body`.
    pub fn upload_raw(
        &self,
        name: &str,
        meta: &Metadata,
        body: impl std::io::Read + Send + 'static,
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
