//! The request and response types of the `/v1` HTTP API, defined once and
//! used by both the server and the client (DESIGN.md, "Server API").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::chunk::Digest;
use crate::id::DocId;
use crate::model::{Metadata, Op};

/// Every error: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable machine-readable code: `bad_request`, `bad_query`,
    /// `unauthorized`, `forbidden`, `not_found`, `conflict`, `too_large`,
    /// `unavailable`, `internal`, `read_only_follower` (a write sent to a
    /// follower; the `x-docgrid-primary` header names the primary).
    pub code: String,
    /// What failed, on what, and what to do.
    pub message: String,
    /// For `conflict`: the documents whose base revision is stale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// For `bad_query`: the character offset of the error in the query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
}

/// One document a commit was out of date on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The document.
    pub id: DocId,
    /// Its name.
    pub name: String,
    /// The base revision the commit carried.
    pub base: u64,
    /// The document's current revision.
    pub current: u64,
}

/// `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// "ok".
    pub status: String,
    /// The server's version.
    pub version: String,
    /// The newest revision it has applied.
    pub rev: u64,
    /// "primary" or "follower".
    pub role: String,
    /// A follower's primary, when configured: where writes go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
}

/// `GET /v1/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Live documents.
    pub documents: u64,
    /// The newest revision.
    pub rev: u64,
    /// Sum of live documents' sizes.
    pub bytes_logical: u64,
    /// Sum of distinct referenced chunk sizes (before erasure coding).
    pub bytes_stored: u64,
    /// Distinct chunks referenced.
    pub chunks: u64,
    /// `bytes_logical / bytes_stored` (1.0 when nothing is stored).
    pub dedup_ratio: f64,
    /// The storage backend's state.
    pub backend: BackendHealth,
    /// Requests this server answered since it started.
    #[serde(default)]
    pub requests: u64,
    /// Bytes of content this server received since it started (uploads
    /// and chunk PUTs): what a client's dedup saves shows here.
    #[serde(default)]
    pub bytes_received: u64,
}

/// The storage backend's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendHealth {
    /// "native", "tahoe", "memory".
    pub kind: String,
    /// Native: every disk and whether it is online. Tahoe: every storage
    /// server the gateway knows and whether it is connected.
    pub disks: Vec<DiskHealth>,
    /// Disks offline now.
    pub disks_missing: u64,
    /// Shards missing or corrupt at the last scrub (`None`: never scrubbed).
    pub shards_missing: Option<u64>,
}

/// One disk of a native store, or one storage server of a Tahoe grid
/// (`id`: its nickname, `path`: its node id, `online`: connected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskHealth {
    /// Its id.
    pub id: String,
    /// Its directory.
    pub path: String,
    /// Whether its marker is present.
    pub online: bool,
}

/// `GET /v1/docs/{id}/manifest`: a document's content as chunks, for
/// clients that fetch (and cache) chunks themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentManifest {
    /// The document.
    pub id: DocId,
    /// Revision of its last change.
    pub rev: u64,
    /// Content size.
    pub size: u64,
    /// BLAKE3 of the whole content.
    pub hash: Digest,
    /// The chunks in order (`GET /v1/chunks/{hash}` for each).
    pub chunks: Vec<ChunkInfo>,
}

/// One chunk of a [`ContentManifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkInfo {
    /// BLAKE3 of its bytes.
    pub hash: Digest,
    /// Its length.
    pub len: u64,
}

/// `POST /v1/chunks/missing` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingChunksRequest {
    /// Hashes of chunks the client wants to reference.
    pub hashes: Vec<Digest>,
}

/// `POST /v1/chunks/missing` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingChunksResponse {
    /// The ones the server lacks: upload them with `PUT /v1/chunks/{hash}`.
    pub missing: Vec<Digest>,
}

/// `PUT /v1/chunks/{hash}` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkStored {
    /// The chunk's hash (verified against the body).
    pub hash: Digest,
    /// Its length.
    pub len: u64,
}

/// `POST /v1/commits` request. Chunk locators in manifests may be empty:
/// the server fills them in from the chunks it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRequest {
    /// The commit message.
    pub message: String,
    /// The operations, applied together or not at all.
    pub ops: Vec<Op>,
}

/// `POST /v1/commits` response (also for single-document writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitResponse {
    /// The new revision.
    pub rev: u64,
}

/// A changeset without its ops: `GET /v1/commits`, `GET /v1/changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// The revision.
    pub rev: u64,
    /// Who.
    pub author: String,
    /// When (RFC 3339).
    pub time: String,
    /// Why.
    pub message: String,
    /// The documents it touched.
    pub docs: Vec<DocId>,
}

/// `GET /v1/changes?since=REV&wait=S`: the commits after `since`, waiting
/// up to `wait` seconds for one if there are none yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// The newest revision.
    pub rev: u64,
    /// The commits after `since`, oldest first.
    pub commits: Vec<CommitInfo>,
}

/// A document as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocInfo {
    /// Its id.
    pub id: DocId,
    /// Its name.
    pub name: String,
    /// Its metadata, reserved keys included.
    pub meta: Metadata,
    /// Content size.
    pub size: u64,
    /// BLAKE3 of the content (the ETag).
    pub hash: Digest,
    /// Revision of its last change.
    pub rev: u64,
}

/// `PATCH /v1/docs/{id}`: metadata changes against a base revision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaPatch {
    /// The revision the writer saw.
    pub base: u64,
    /// Keys whose values are replaced (empty list: key removed).
    #[serde(default)]
    pub set: BTreeMap<String, Vec<String>>,
    /// Values added to keys.
    #[serde(default)]
    pub add: BTreeMap<String, Vec<String>>,
    /// Values removed from keys.
    #[serde(default)]
    pub remove: BTreeMap<String, Vec<String>>,
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
}

/// One revision of a document: `GET /v1/docs/{id}/history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The revision.
    pub rev: u64,
    /// Who.
    pub author: String,
    /// When.
    pub time: String,
    /// The commit message.
    pub message: String,
    /// The document's name then.
    pub name: String,
    /// Its size then.
    pub size: u64,
    /// Its content hash then.
    pub hash: Digest,
    /// Whether this revision deleted it.
    pub deleted: bool,
}

/// `GET /v1/search` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse {
    /// All matches (the hits are one page of them).
    pub total: u64,
    /// The page.
    pub hits: Vec<Hit>,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The document.
    pub doc: DocInfo,
    /// Full-text relevance (0 when the query has no full-text term).
    pub score: f32,
    /// Text around the first full-text match, matches in «».
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

/// What an entry of a tree listing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A document.
    Doc,
}

/// One entry of `GET /v1/tree/{path}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeEntry {
    /// Directory or document.
    pub kind: EntryKind,
    /// Its name in the listing, unique (clashes as `stem~SHORTID.ext`).
    pub name: String,
    /// The document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<DocId>,
    /// The document's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// A directory's document count, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// `GET /v1/tree/{path}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeListing {
    /// The canonical path listed.
    pub path: String,
    /// Directories first, then documents.
    pub entries: Vec<TreeEntry>,
}

/// A value with how many documents carry it: `/v1/tags`, `/v1/keys`, `/v1/keys/{k}/values`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// The tag, key or value.
    pub value: String,
    /// Live documents carrying it.
    pub count: u64,
}

/// An access role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read and search.
    Read,
    /// Also write.
    Write,
    /// Also administer (tokens, scrub, gc, purge, reindex).
    Admin,
}

/// `POST /v1/admin/tokens` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// A name for the token (unique).
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// A token as listed (the secret is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// When it was made.
    pub created: String,
    /// The secret: only in the creation response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `POST /v1/admin/scrub` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrubSummary {
    /// Whether repair was asked for.
    pub repair: bool,
    /// Chunks examined.
    pub chunks: u64,
    /// Shards missing.
    pub missing: u64,
    /// Shards corrupt.
    pub corrupt: u64,
    /// Shards rebuilt.
    pub repaired: u64,
    /// Chunks that cannot be rebuilt, with why.
    pub unrecoverable: Vec<String>,
    /// Offline disks found (Tahoe: storage servers the gateway does not
    /// see connected).
    pub offline_disks: Vec<String>,
    /// Whether nothing was wrong.
    pub clean: bool,
    /// Tahoe: blobs whose lease was renewed (chunks, changesets, the root).
    #[serde(default)]
    pub leases_renewed: u64,
    /// Tahoe: every document that had fewer than all its shares before or
    /// after, with the counts (a healthy document is not listed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<DocShares>,
}

/// One document's shares at a Tahoe scrub: the least of its chunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocShares {
    /// The document.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Good shares of its worst chunk before repair.
    pub shares_before: u32,
    /// Good shares of its worst chunk after repair (= before without repair).
    pub shares_after: u32,
    /// Shares needed to read a chunk (k).
    pub needed: u32,
    /// Shares of a healthy chunk (N).
    pub total: u32,
}

/// `POST /v1/admin/gc` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcReport {
    /// Blobs in the store before.
    pub blobs: u64,
    /// Blobs deleted: referenced by no revision that is kept.
    pub deleted: u64,
    /// Bytes of chunk data freed (before erasure coding), where known. On
    /// Tahoe the chunks are released: freed when the grid's lease expiry
    /// reclaims them.
    pub bytes_freed: u64,
}
