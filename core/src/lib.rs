//! `docgrid-core`: the part of docgrid that knows nothing of HTTP, SQLite,
//! tantivy, windows or FUSE.
//!
//! - [`model`]: documents ([`DocId`], [`Metadata`], [`Manifest`]) and
//!   [`Changeset`]s with their [`Op`]s; every persisted format carries a
//!   `version` field.
//! - [`query`]: the query language, parsed into an AST with errors that name
//!   the position and what was expected.
//! - [`tree`]: the metadata tree shared by FUSE, the GUI and the CLI — what a
//!   path lists and what writing through it means — as pure functions.
//! - [`chunk`]: FastCDC chunking and BLAKE3 addressing ([`Digest`]).
//! - [`store`]: the [`BlobStore`] trait, its conformance suite, the in-memory
//!   store and the native Reed-Solomon store over disk directories.
//!
//! ```
//! use docgrid_core::{chunk::Chunker, store::{BlobStore, MemoryStore}};
//!
//! let store = MemoryStore::new();
//! let data = vec![7u8; 3 << 20];
//! let mut locators = Vec::new();
//! for chunk in Chunker::default().chunks(&data) {
//!     locators.push(store.put(&data[chunk.range()]).unwrap());
//! }
//! let back: Vec<u8> = locators.iter().flat_map(|l| store.get(l).unwrap()).collect();
//! assert_eq!(back, data);
//! ```
#![warn(missing_docs)]

pub mod api;
pub mod chunk;
pub mod config;
pub mod content;
pub mod id;
pub mod journal;
pub mod model;
pub mod query;
pub mod store;
pub mod tree;

pub use chunk::Digest;
pub use id::DocId;
pub use model::{Changeset, Document, Manifest, Metadata, Op};
pub use store::{BlobStore, Locator};

/// The version of the docgrid crates, printed by every binary.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `f` over `items` on up to `threads` threads, results in input order:
/// for work that waits on the network or the disk (uploads, checks,
/// chunk fetches), where a few requests in flight hide the latency.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    if threads <= 1 || items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    let out: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.min(items.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    *out[i].lock().expect("poisoned") = Some(r);
                }
            });
        }
    });
    out.into_iter()
        .map(|m| {
            m.into_inner()
                .expect("poisoned")
                .expect("every item is mapped once the threads are joined")
        })
        .collect()
}

/// An error and its causes on one line, each cause once: HTTP clients hide
/// the useful part ("connection refused") in the source chain.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}
