//! The request and response types of the `/v1` HTTP API, defined once and
//! used by both the server and the client (`docs/design.md`, "The HTTP API").

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
    /// A stable machine-readable code (see [`ErrorCode`]).
    pub code: ErrorCode,
    /// What failed, on what, and what to do.
    pub message: String,
    /// For `conflict`: the documents whose base revision is stale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// For `bad_query`: the character offset of the error in the query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
}

/// The stable error codes of the API, each with its one HTTP status
/// ([`ErrorCode::status`]). Clients match on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the request is malformed (a bad name, key, body or parameter).
    BadRequest,
    /// 400: the query does not parse; `offset` says where.
    BadQuery,
    /// 401: no token, or an unknown or revoked one.
    Unauthorized,
    /// 403: the token's role does not allow this.
    Forbidden,
    /// 403: a write sent to a read-only follower; the `x-docgrid-primary`
    /// header names the primary.
    ReadOnlyFollower,
    /// 404: no such document, revision, chunk or endpoint.
    NotFound,
    /// 409: stale base revisions (`conflicts` names the documents), or
    /// another writer moved the journal. Nothing was applied.
    Conflict,
    /// 409: a directory or tag to remove is still in use.
    NotEmpty,
    /// 413: the body is larger than the server accepts.
    TooLarge,
    /// 503: the storage cannot serve this now (lost disks or nodes, the
    /// index being rebuilt); the message names what is missing.
    Unavailable,
    /// 502: a proxy got an answer from a server it cannot use.
    BadGateway,
    /// 500: a bug or an unexpected failure; the message says what.
    Internal,
    /// A code this client does not know (a newer server).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status answered with this code: the one mapping.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest | ErrorCode::BadQuery => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden | ErrorCode::ReadOnlyFollower => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict | ErrorCode::NotEmpty => 409,
            ErrorCode::TooLarge => 413,
            ErrorCode::Internal | ErrorCode::Unknown => 500,
            ErrorCode::BadGateway => 502,
            ErrorCode::Unavailable => 503,
        }
    }

    /// The code as it is written on the wire (`not_found`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::BadQuery => "bad_query",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::ReadOnlyFollower => "read_only_follower",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::NotEmpty => "not_empty",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::BadGateway => "bad_gateway",
            ErrorCode::Internal => "internal",
            ErrorCode::Unknown => "unknown",
        }
    }

    /// The code a bare HTTP status stands for, when a body has none.
    pub fn from_status(status: u16) -> ErrorCode {
        match status {
            400 => ErrorCode::BadRequest,
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            409 => ErrorCode::Conflict,
            413 => ErrorCode::TooLarge,
            502 => ErrorCode::BadGateway,
            503 | 504 => ErrorCode::Unavailable,
            500 => ErrorCode::Internal,
            _ => ErrorCode::Unknown,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// "ok", or "degraded" when the store cannot take writes now.
    pub status: String,
    /// Why writes are refused, when the status is "degraded" (the disks or
    /// nodes missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded: Option<String>,
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
    /// Text and metadata extraction: its queue and its failures.
    #[serde(default)]
    pub extraction: ExtractionStats,
}

/// Extraction runs after the commit, from a persistent queue: how far it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractionStats {
    /// Documents whose current content waits to be extracted (search lacks
    /// their text, `/by/` their extracted keys, until then).
    pub queued: u64,
    /// Documents done: their current content extracted, or holding
    /// nothing to extract (a type without text or keys, empty content).
    pub extracted: u64,
    /// Documents whose extraction failed for good (not retried until their
    /// content changes or a reindex).
    pub failed: u64,
    /// The newest failures (at most 100), newest first.
    #[serde(default)]
    pub failures: Vec<ExtractionFailure>,
}

/// One document whose extraction failed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractionFailure {
    /// The document.
    pub id: DocId,
    /// Its name.
    pub name: String,
    /// The revision of the content that failed.
    pub rev: u64,
    /// Why: the parser's error, "timed out after 30 s", "the extractor
    /// crashed (killed by signal 11)", "over the memory limit", ...
    pub reason: String,
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

/// The longest commit message `POST /v1/commits` takes, in bytes (64 KiB):
/// every `GET /v1/commits` repeats it.
pub const MAX_COMMIT_MESSAGE: usize = 64 << 10;
/// The most operations one `POST /v1/commits` takes: an import commits
/// 1,000 files at a time, the overlay 1,024.
pub const MAX_COMMIT_OPS: usize = 10_000;

/// `POST /v1/commits` request. Chunk locators in manifests may be empty:
/// the server fills them in from the chunks it holds. At most
/// [`MAX_COMMIT_MESSAGE`] bytes of message and [`MAX_COMMIT_OPS`]
/// operations (413 beyond).
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

/// `GET /v1/docs/{id}/text`: the text the server extracted from a
/// document's content for full-text search (its first MiB; empty for a
/// type it takes no text from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocText {
    /// The document.
    pub id: DocId,
    /// The text.
    pub text: String,
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

/// One entry of `GET /v1/tree/{path}`: everything `stat`, `ls -l` and a
/// column view need, so a listing alone answers them.
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
    /// BLAKE3 of the document's content (its `hash`): whether a local file
    /// is the same, told without another request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<Digest>,
    /// A directory's document count, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The document's revision (of its last change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<u64>,
    /// The document's MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    /// When the document was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When it last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Its file modification time (the `mtime` key, RFC 3339), when one
    /// was set: what a filesystem shows as `st_mtime` (`cp -p`, `rsync -a`
    /// and `tar x` set it; writing content through the mount renews it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<String>,
}

/// The key holding a document's file modification time (see
/// [`TreeEntry::mtime`]).
pub const MTIME_KEY: &str = "mtime";

impl TreeEntry {
    /// A directory entry called `name`.
    pub fn dir(name: impl Into<String>, count: Option<u64>) -> TreeEntry {
        TreeEntry {
            kind: EntryKind::Dir,
            name: name.into(),
            id: None,
            size: None,
            hash: None,
            count,
            rev: None,
            mime: None,
            created: None,
            modified: None,
            mtime: None,
        }
    }
}

/// `GET /v1/tree/{path}?offset=&limit=`: one page of a directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeListing {
    /// The canonical path listed.
    pub path: String,
    /// Directories first, then documents: the entries from `offset` on.
    pub entries: Vec<TreeEntry>,
    /// Entries in the whole directory (every page).
    #[serde(default)]
    pub total: u64,
    /// Where this page starts.
    #[serde(default)]
    pub offset: u64,
    /// The offset of the next page; absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
    /// The revision the listing was made at: pages of one revision fit
    /// together.
    #[serde(default)]
    pub rev: u64,
}

/// The most entries one `GET /v1/tree` page holds (also the default).
pub const TREE_PAGE_MAX: u64 = 10_000;

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
    /// Tahoe: packs released, every chunk in them gone (their leases are
    /// no longer renewed).
    #[serde(default)]
    pub packs_released: u64,
    /// Tahoe: the bytes of those packs.
    #[serde(default)]
    pub bytes_released: u64,
    /// Tahoe: bytes still held by packs that keep a live chunk beside
    /// released ones (released with the pack's last live chunk).
    #[serde(default)]
    pub bytes_held: u64,
}

/// `POST /v1/chunks` response: a batch of chunks stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunksStored {
    /// How many chunks the body held (all verified and stored).
    pub chunks: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// The body of `POST /v1/chunks`: many chunks in one request, so a batch
/// of small files costs one request and one durable write on the server.
/// Each chunk is its 32-byte BLAKE3 hash, its length as 8 bytes
/// little-endian, then its bytes.
pub mod chunk_batch {
    use crate::chunk::Digest;

    /// The frame header: hash and length.
    pub const HEADER: usize = 40;

    /// `chunks` as one body.
    pub fn encode(chunks: &[(Digest, &[u8])]) -> Vec<u8> {
        let len = chunks.iter().map(|(_, b)| HEADER + b.len()).sum();
        let mut out = Vec::with_capacity(len);
        for (hash, bytes) in chunks {
            out.extend_from_slice(&hash.0);
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        out
    }

    /// The chunks of `body`, each at most `max_chunk` bytes; an error names
    /// the byte offset of the frame that is cut short or too long. Hashes
    /// are not checked here.
    pub fn decode(body: &[u8], max_chunk: u64) -> Result<Vec<(Digest, &[u8])>, String> {
        let mut out = Vec::new();
        let mut at = 0usize;
        while at < body.len() {
            let header = body
                .get(at..at + HEADER)
                .ok_or_else(|| format!("chunk at byte {at}: header cut short"))?;
            let hash = Digest(header[..32].try_into().expect("32 bytes"));
            let len = u64::from_le_bytes(header[32..].try_into().expect("8 bytes"));
            if len > max_chunk {
                return Err(format!(
                    "chunk at byte {at}: {len} bytes (at most {max_chunk})"
                ));
            }
            let start = at + HEADER;
            let bytes = body
                .get(start..start + len as usize)
                .ok_or_else(|| format!("chunk at byte {at}: body cut short"))?;
            out.push((hash, bytes));
            at = start + len as usize;
        }
        Ok(out)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_batch_round_trips_and_a_cut_body_names_its_offset() {
            let (a, b) = (b"first".as_slice(), b"".as_slice());
            let body = encode(&[(Digest::of(a), a), (Digest::of(b), b)]);
            let back = decode(&body, 10).unwrap();
            assert_eq!(back, vec![(Digest::of(a), a), (Digest::of(b), b)]);
            let err = decode(&body[..body.len() - 41], 10).unwrap_err();
            assert!(err.contains("byte 0: body cut short"), "{err}");
            assert!(decode(&body, 2).unwrap_err().contains("at most 2"));
        }
    }
}
