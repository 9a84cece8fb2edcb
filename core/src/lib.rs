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

/// Items `produce` makes one after another, each handed to the first of
/// `workers` threads that is free (one more may wait): the producer reads
/// the next batch while earlier ones are stored or sent. The results in
/// the order produced, or the first error, the producer's or a worker's.
/// `produce` gets a `send` that returns false once a worker has failed:
/// then it should stop.
pub fn pipeline<T: Send, R: Send, E: Send>(
    workers: usize,
    produce: impl FnOnce(&mut dyn FnMut(T) -> bool) -> Result<(), E>,
    work: impl Fn(T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, T)>(1);
    let rx = Mutex::new(rx);
    let failed = AtomicBool::new(false);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers.max(1))
            .map(|_| {
                s.spawn(|| -> Result<Vec<(usize, R)>, E> {
                    let mut done = Vec::new();
                    loop {
                        let next = rx.lock().expect("poisoned").recv();
                        let Ok((n, item)) = next else { return Ok(done) };
                        match work(item) {
                            Ok(r) => done.push((n, r)),
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                })
            })
            .collect();
        let mut n = 0;
        let produced = produce(&mut |item| {
            let sent = !failed.load(Ordering::Relaxed) && tx.send((n, item)).is_ok();
            n += 1;
            sent
        });
        drop(tx);
        let mut out = Vec::new();
        let mut first_error = None;
        for h in handles {
            match h.join().expect("a pipeline worker panicked") {
                Ok(done) => out.extend(done),
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        produced?;
        if let Some(e) = first_error {
            return Err(e);
        }
        out.sort_by_key(|(n, _)| *n);
        Ok(out.into_iter().map(|(_, r)| r).collect())
    })
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

#[cfg(test)]
mod pipeline_tests {
    #[test]
    fn a_pipeline_keeps_the_order_and_stops_at_a_failed_worker() {
        let out = super::pipeline(
            3,
            |send| -> Result<(), String> {
                for i in 0..50u32 {
                    assert!(send(i), "no worker failed");
                }
                Ok(())
            },
            |i| {
                std::thread::sleep(std::time::Duration::from_micros(u64::from(50 - i) * 20));
                Ok::<_, String>(i * 2)
            },
        );
        assert_eq!(out.unwrap(), (0..50).map(|i| i * 2).collect::<Vec<_>>());

        let mut refused = false;
        let out = super::pipeline(
            2,
            |send| -> Result<(), String> {
                for i in 0..1000u32 {
                    if !send(i) {
                        refused = true;
                        return Ok(());
                    }
                }
                Ok(())
            },
            |i| {
                if i == 3 {
                    Err(format!("item {i} failed"))
                } else {
                    Ok(i)
                }
            },
        );
        assert_eq!(out.unwrap_err(), "item 3 failed");
        assert!(refused, "the producer was told to stop");
    }
}
