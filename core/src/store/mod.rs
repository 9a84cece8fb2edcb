//! Blob stores: where chunk and changeset bytes live.
//!
//! [`BlobStore`] is the one boundary between docgrid and its storage. It is
//! small, object-safe and byte-oriented. Implementations:
//!
//! - [`MemoryStore`]: a map in memory, for tests and examples;
//! - [`native::NativeStore`]: Reed-Solomon `k + m` over disk directories,
//!   the embedded default;
//! - `docgrid-backend-tahoe`: a Tahoe-LAFS grid.
//!
//! Every implementation runs the same [`conformance::blob_store_suite`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::chunk::Digest;

pub mod conformance;
mod erasure;
mod memory;
pub mod native;

pub use erasure::{Codec, ErasureError};
pub use memory::MemoryStore;

/// Where a store keeps a blob: what [`BlobStore::put`] returns and
/// [`BlobStore::get`] takes. Opaque to callers, who record it in manifests
/// and changesets so the journal alone can find every byte.
///
/// Content-addressed stores (memory, native) use `b3:` and the blob's BLAKE3
/// digest in hex; Tahoe uses the CHK capability.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Locator(String);

impl Locator {
    /// A locator from its text (as recorded earlier).
    pub fn new(text: impl Into<String>) -> Self {
        Locator(text.into())
    }

    /// The content-derived locator of content-addressed stores: `b3:HEX`.
    pub fn for_digest(digest: &Digest) -> Self {
        Locator(format!("b3:{digest}"))
    }

    /// The digest a `b3:` locator names.
    pub fn digest(&self) -> Result<Digest, StoreError> {
        let hex = self
            .0
            .strip_prefix("b3:")
            .ok_or_else(|| StoreError::InvalidLocator {
                locator: self.clone(),
                why: "expected 'b3:' and a BLAKE3 digest".into(),
            })?;
        hex.parse().map_err(
            |e: crate::chunk::ParseDigestError| StoreError::InvalidLocator {
                locator: self.clone(),
                why: e.to_string(),
            },
        )
    }

    /// The locator's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Locator({})", self.0)
    }
}

/// What [`BlobStore::delete`] achieves on a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeleteGuarantee {
    /// The bytes are gone and their space is free: afterwards `has` is
    /// false, `get` fails with [`StoreError::NotFound`] and `list` omits it.
    Frees,
    /// The store stops keeping the blob alive (Tahoe: no more lease
    /// renewal) and `list` omits it, but the bytes may stay readable until
    /// the backend expires them.
    Releases,
}

/// The outcome of [`BlobStore::swap_root`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSwap {
    /// The root now holds the new value.
    Swapped,
    /// The root did not hold the expected value; nothing changed. Carries
    /// the value it does hold.
    Conflict {
        /// The current root (`None`: never set).
        current: Option<Vec<u8>>,
    },
}

/// Errors of a blob store. Messages say what failed, on what, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No blob at this locator.
    #[error("blob {locator} is not in the store")]
    NotFound {
        /// The locator asked for.
        locator: Locator,
    },
    /// Too few intact pieces remain to rebuild the blob.
    #[error(
        "chunk {chunk} is unrecoverable: {found} intact shard(s) of the {needed} needed; \
         missing on {}; corrupt on {}. Bring the missing disks back, then run scrub --repair",
        list_or_none(missing),
        list_or_none(corrupt)
    )]
    Unrecoverable {
        /// The chunk (its BLAKE3 digest, or a backend's name for it).
        chunk: String,
        /// Intact shards found.
        found: usize,
        /// Shards needed to decode.
        needed: usize,
        /// Disks (or nodes) where a shard was expected but absent.
        missing: Vec<String>,
        /// Disks (or nodes) holding a shard that failed its checksum.
        corrupt: Vec<String>,
    },
    /// Bytes came back that do not hash to what was stored.
    #[error("blob {locator} is corrupt: {why}")]
    Corrupt {
        /// The blob.
        locator: Locator,
        /// What did not match.
        why: String,
    },
    /// A locator this store cannot have issued.
    #[error("invalid locator {locator}: {why}")]
    InvalidLocator {
        /// The locator.
        locator: Locator,
        /// Why it was refused.
        why: String,
    },
    /// Too few disks (or servers) accepted a write for it to be durable.
    #[error(
        "could not store chunk {chunk}: only {written} of the {needed} shards needed were \
         written ({}); check the disks, then retry",
        failures.join("; ")
    )]
    NotDurable {
        /// The chunk.
        chunk: String,
        /// Shards written.
        written: usize,
        /// Shards required.
        needed: usize,
        /// What failed, disk by disk.
        failures: Vec<String>,
    },
    /// Too few disks (or servers) answered to read something safely (the
    /// root pointer needs a majority): nothing can be written until they
    /// are back.
    #[error(
        "cannot read the {what}: {answered} of the {needed} disks needed (a majority of {total}) \
         answered; unavailable: {}. Bring the missing disks back; until then writes are refused",
        list_or_none(unavailable)
    )]
    Unavailable {
        /// What was being read.
        what: String,
        /// Disks that answered.
        answered: usize,
        /// Disks needed.
        needed: usize,
        /// Disks in the store.
        total: usize,
        /// The disks that did not answer, each with why.
        unavailable: Vec<String>,
    },
    /// An I/O error on a named file or directory.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done ("writing shard", "reading root", …).
        op: &'static str,
        /// The file or directory.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The store's configuration or on-disk layout is unusable.
    #[error("store configuration: {0}")]
    Config(String),
    /// A backend-specific failure (network, gateway, …).
    #[error("{0}")]
    Backend(String),
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

impl StoreError {
    /// An [`StoreError::Io`] for `path`.
    pub fn io(op: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.display().to_string(),
            source,
        }
    }
}

/// A store of immutable blobs plus one small mutable root pointer.
///
/// Contract, which [`conformance::blob_store_suite`] checks:
///
/// - **put** stores `data` durably before returning its [`Locator`]: after a
///   crash, a blob whose `put` returned is readable. Putting bytes that are
///   already stored returns an equal locator and stores nothing new. A put
///   interrupted by a crash leaves no readable partial blob (native: at most
///   stray shards that `scrub` reports and GC removes).
/// - **get** returns exactly the bytes that were put, verified against their
///   hash, or an error: [`StoreError::NotFound`] for an unknown blob,
///   [`StoreError::Unrecoverable`] naming what is lost when too little of it
///   survives (Tahoe cannot tell an unknown cap from a lost one: both are
///   `Unrecoverable`). It never returns wrong bytes as success.
/// - **has** tells whether `get` would find the blob (it need not verify
///   every byte).
/// - **delete** is idempotent; what it guarantees is [`BlobStore::delete_guarantee`].
/// - **list** names every blob the store holds (in no order). Tahoe, which
///   cannot enumerate a grid: every blob this store uploaded and has not
///   deleted (its catalog).
/// - **root** / **swap_root**: a small (≤ 64 KiB) value, `None` until first
///   set, changed only by compare-and-swap, atomically: concurrent swaps
///   from many threads or processes never lose an update. (Tahoe: from the
///   threads of one process; its web API has no conditional write, so one
///   server, the primary, writes a root.)
///
/// All methods may be called from many threads at once.
pub trait BlobStore: Send + Sync {
    /// The backend's name, for messages: "memory", "native", "tahoe".
    fn kind(&self) -> &'static str;

    /// Stores `data`; returns where it is.
    fn put(&self, data: &[u8]) -> Result<Locator, StoreError>;

    /// Stores several blobs, with the same guarantee as `put` for each when
    /// it returns. Backends may batch their durability work (native: two
    /// filesystem syncs per batch instead of fsyncs per shard). On error,
    /// blobs of the batch may or may not be stored.
    fn put_batch(&self, blobs: &[&[u8]]) -> Result<Vec<Locator>, StoreError> {
        blobs.iter().map(|b| self.put(b)).collect()
    }

    /// [`BlobStore::put_batch`] of blobs whose BLAKE3 the caller computed
    /// (each `blobs[i].0` is `Digest::of(blobs[i].1)`): a store that keeps
    /// blobs by hash need not hash them again. The default ignores them.
    fn put_batch_hashed(&self, blobs: &[(Digest, &[u8])]) -> Result<Vec<Locator>, StoreError> {
        let bytes: Vec<&[u8]> = blobs.iter().map(|(_, b)| *b).collect();
        self.put_batch(&bytes)
    }

    /// The bytes stored at `locator`, verified.
    fn get(&self, locator: &Locator) -> Result<Vec<u8>, StoreError>;

    /// Whether the blob is stored.
    fn has(&self, locator: &Locator) -> Result<bool, StoreError>;

    /// Deletes (or releases) the blob; deleting an absent blob succeeds.
    fn delete(&self, locator: &Locator) -> Result<(), StoreError>;

    /// What `delete` guarantees on this backend.
    fn delete_guarantee(&self) -> DeleteGuarantee;

    /// Every blob stored.
    fn list(&self) -> Result<Vec<Locator>, StoreError>;

    /// The current root value, `None` if never set.
    fn root(&self) -> Result<Option<Vec<u8>>, StoreError>;

    /// Sets the root to `new` if it currently equals `expected`.
    fn swap_root(&self, expected: Option<&[u8]>, new: &[u8]) -> Result<RootSwap, StoreError>;
}

/// The largest root value a store must accept.
pub const MAX_ROOT_LEN: usize = 64 * 1024;
