//! `docgrid-bench`: the measurements behind `bench/run`. Each subcommand
//! prints one JSON object per figure on stdout; `bench/run` runs the peers
//! (zfec, cp + sync) in the same run and prints the ratios; `tahoe` runs its
//! peer (curl against the same gateway) itself.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use docgrid_core::chunk::Chunker;
use docgrid_core::store::native::{NativeStore, default_disks};
use docgrid_core::store::{BlobStore, Codec, Locator};
use serde_json::json;

mod gui;
mod populate;
mod proxy;
mod server;
mod tahoe;
mod tree;
mod wan;

#[derive(Parser)]
#[command(about = "docgrid benchmark harness (run through bench/run)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Reed-Solomon encode and decode throughput on one core, over the
    /// 1 MiB chunks of FILE.
    Rs {
        /// The data: a multiple of the chunk size.
        file: PathBuf,
        #[arg(long, default_value_t = 4)]
        k: usize,
        #[arg(long, default_value_t = 2)]
        m: usize,
        #[arg(long, default_value_t = 1 << 20)]
        chunk: usize,
        /// Repeat until at least this many seconds have passed.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
    /// Native store put of FILE into a fresh store in DIR (six disk
    /// directories, 4+2), then get into OUT with a final fsync.
    Store {
        file: PathBuf,
        dir: PathBuf,
        out: PathBuf,
    },
    /// Index DOCS metadata-only documents in commits of BATCH into a fresh
    /// server in DIR; prints docs/s.
    Index {
        dir: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        docs: u64,
        #[arg(long, default_value_t = 100_000)]
        batch: u64,
    },
    /// Search (tag, range, full text) and /v1/tree/tags/common latency over DOCS documents.
    Search {
        dir: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        docs: u64,
    },
    /// Import every file under CORPUS, then time QUERY searches.
    Corpus {
        dir: PathBuf,
        corpus: PathBuf,
        #[arg(long = "query")]
        queries: Vec<String>,
    },
    /// Upload and download of a document of each --mib through docgrid on a
    /// Tahoe store, and curl PUT/GET of the same bytes to the same gateway.
    ///
    /// Starts a local grid (5 storage nodes, 3-of-5) in DIR/grid and a server
    /// on it in-process; fresh random bytes every run. Needs `tahoe` (the
    /// docgrid venv) and `curl`. Example:
    ///
    ///     docgrid-bench tahoe /tmp/tb --mib 64 --runs 3 --parallel-uploads 8
    /// Reads of FILE (uploaded once to a fresh server in DIR) straight from
    /// the server, through a proxy with an empty cache, and again warm.
    Proxy {
        file: PathBuf,
        dir: PathBuf,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Put the server behind a WAN relay (20 ms each way, 100 Mbit/s).
        #[arg(long)]
        wan: bool,
    },
    /// `list` + `lookup` of a directory of ENTRIES documents through the
    /// tree layer, cold and warm, vs the raw GET /v1/tree, in a fresh
    /// server in DIR.
    Tree {
        dir: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        entries: u64,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Put the server behind a WAN relay (20 ms each way, 100 Mbit/s).
        #[arg(long)]
        wan: bool,
    },
    /// docgrid-gui's frames, drawn headless: opening a column of ENTRIES
    /// documents and scrolling it (FRAMES frames) beside a 100-entry one,
    /// and select-to-preview of a cached 1 MiB text, in a fresh server in
    /// DIR.
    Gui {
        dir: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        entries: u64,
        #[arg(long, default_value_t = 300)]
        frames: usize,
    },
    /// Commits DOCS metadata-only documents to a running server, each with
    /// PER_DOC of TAGS tags (PREFIX0, PREFIX1…): the mount's benchmarks.
    Populate(populate::Spec),
    Tahoe {
        /// Scratch directory; must not hold a grid or server already.
        dir: PathBuf,
        /// Document size in MiB; repeat for several.
        #[arg(long = "mib", default_values_t = [64u64, 1024])]
        sizes_mib: Vec<u64>,
        /// Runs per size, each on fresh bytes; the figures are medians.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Chunk uploads in flight (default: the backend's).
        #[arg(long)]
        parallel_uploads: Option<usize>,
        /// docgrid only: skip the curl peer.
        #[arg(long)]
        no_curl: bool,
        /// The Tahoe store's pack_max in bytes (0: a Tahoe file per chunk,
        /// the layout before packs); default: the backend's.
        #[arg(long)]
        pack_max: Option<u64>,
        /// The Tahoe store's readahead window in bytes; default: the backend's.
        #[arg(long)]
        readahead: Option<u64>,
        /// Also import this many files of 4 KiB with `docgrid import`.
        #[arg(long, default_value_t = 0)]
        small_files: usize,
        /// The `docgrid` binary, for --small-files.
        #[arg(long)]
        docgrid: Option<PathBuf>,
    },
}

/// The server's allocator (see server/src/main.rs), so that the
/// in-process server is measured as it runs.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().cmd {
        Cmd::Rs {
            file,
            k,
            m,
            chunk,
            seconds,
        } => rs(&file, k, m, chunk, seconds),
        Cmd::Store { file, dir, out } => store(&file, &dir, &out),
        Cmd::Index { dir, docs, batch } => {
            let rate = server::index(&dir, docs, batch)?;
            println!(
                "{}",
                json!({"bench": "index", "docs": docs, "batch": batch, "docs_per_s": rate})
            );
            Ok(())
        }
        Cmd::Search { dir, docs } => {
            for r in server::search(&dir, docs)? {
                println!("{r}");
            }
            Ok(())
        }
        Cmd::Corpus {
            dir,
            corpus,
            queries,
        } => {
            for r in server::corpus(&dir, &corpus, &queries)? {
                println!("{r}");
            }
            Ok(())
        }
        Cmd::Proxy {
            file,
            dir,
            runs,
            wan,
        } => proxy::run(&file, &dir, runs, wan),
        Cmd::Tree {
            dir,
            entries,
            runs,
            wan,
        } => tree::run(&dir, entries, runs, wan),
        Cmd::Gui {
            dir,
            entries,
            frames,
        } => {
            for r in gui::run(&dir, entries, frames)? {
                println!("{r}");
            }
            Ok(())
        }
        Cmd::Populate(spec) => populate::run(&spec),
        Cmd::Tahoe {
            dir,
            sizes_mib,
            runs,
            parallel_uploads,
            no_curl,
            pack_max,
            readahead,
            small_files,
            docgrid,
        } => {
            let opts = tahoe::Options {
                dir,
                sizes_mib,
                runs,
                parallel_uploads,
                curl: !no_curl,
                pack_max,
                readahead,
                small_files,
                docgrid,
            };
            for r in tahoe::run(&opts)? {
                println!("{r}");
            }
            Ok(())
        }
    }
}

/// Runs `f` over and over until `seconds` pass; returns bytes per second.
fn throughput(bytes_per_round: usize, seconds: f64, mut f: impl FnMut()) -> f64 {
    f(); // warm up: work space allocation, page faults
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        f();
        rounds += 1;
    }
    (rounds as f64 * bytes_per_round as f64) / start.elapsed().as_secs_f64()
}

fn rs(file: &Path, k: usize, m: usize, chunk: usize, seconds: f64) -> Result<()> {
    let data = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    if data.is_empty() || data.len() % chunk != 0 {
        bail!(
            "{} must be a non-empty multiple of {chunk} bytes",
            file.display()
        );
    }
    let codec = Codec::new(k, m)?;
    let chunks: Vec<&[u8]> = data.chunks(chunk).collect();
    let encode = throughput(data.len(), seconds, || {
        for c in &chunks {
            codec.encode_with(c, |s| {
                std::hint::black_box(s);
            });
        }
    });
    // Decode the worst case: the first m data shards lost, rebuilt from parity.
    let encoded: Vec<Vec<Option<Vec<u8>>>> = chunks
        .iter()
        .map(|c| {
            let mut s: Vec<Option<Vec<u8>>> = codec.encode(c).into_iter().map(Some).collect();
            s.iter_mut().take(m).for_each(|x| *x = None);
            s
        })
        .collect();
    let decode = throughput(data.len(), seconds, || {
        for s in &encoded {
            std::hint::black_box(codec.decode(chunk, s).expect("decodable"));
        }
    });
    println!(
        "{}",
        json!({"bench": "rs_encode", "k": k, "m": m, "chunk": chunk, "bytes_per_s": encode})
    );
    println!(
        "{}",
        json!({"bench": "rs_decode", "k": k, "m": m, "chunk": chunk, "lost": m, "bytes_per_s": decode})
    );
    Ok(())
}

fn store(file: &Path, dir: &Path, out: &Path) -> Result<()> {
    let size = std::fs::metadata(file)?.len();
    let store = NativeStore::create(&default_disks(dir, 6), 4, 2)?;

    let start = Instant::now();
    let input = File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let locators = put_stream(&store, input)?;
    let put_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut w = BufWriter::with_capacity(4 << 20, File::create(out)?);
    get_stream(&store, &locators, |blob| w.write_all(&blob))?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    let get_s = start.elapsed().as_secs_f64();

    println!(
        "{}",
        json!({"bench": "native_put", "bytes": size, "seconds": put_s})
    );
    println!(
        "{}",
        json!({"bench": "native_get", "bytes": size, "seconds": get_s})
    );
    Ok(())
}

/// Batches in flight while the next is cut.
const PUT_WORKERS: usize = 2;
/// Chunks per `put_batch`: one durability point per ~16 MiB.
const BATCH: usize = 16;

/// Chunks `input` and stores the chunks in batches, [`PUT_WORKERS`] at a time.
fn put_stream(store: &NativeStore, input: impl Read + Send) -> Result<Vec<Locator>> {
    type Batch = Vec<(usize, Vec<u8>)>;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(2);
    let rx = std::sync::Mutex::new(rx);
    std::thread::scope(|s| -> Result<Vec<Locator>> {
        let workers: Vec<_> = (0..PUT_WORKERS)
            .map(|_| {
                s.spawn(|| -> Result<Vec<(usize, Locator)>> {
                    let mut done = Vec::new();
                    loop {
                        let next = rx.lock().expect("poisoned").recv();
                        let Ok(batch) = next else { return Ok(done) };
                        let blobs: Vec<&[u8]> = batch.iter().map(|(_, c)| c.as_slice()).collect();
                        let locs = store.put_batch(&blobs)?;
                        done.extend(batch.iter().map(|(i, _)| *i).zip(locs));
                    }
                })
            })
            .collect();
        let mut batch = Vec::with_capacity(BATCH);
        for (i, chunk) in Chunker::default().stream(input).enumerate() {
            batch.push((i, chunk?));
            if batch.len() == BATCH {
                tx.send(std::mem::take(&mut batch))?;
            }
        }
        if !batch.is_empty() {
            tx.send(batch)?;
        }
        drop(tx);
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.join().expect("worker panicked")?);
        }
        all.sort_by_key(|(i, _)| *i);
        Ok(all.into_iter().map(|(_, l)| l).collect())
    })
}

/// Gets `locators` in order, two fetched ahead by worker threads while `sink`
/// writes the previous ones: the read-ahead a streaming reader does.
fn get_stream(
    store: &NativeStore,
    locators: &[Locator],
    mut sink: impl FnMut(Vec<u8>) -> std::io::Result<()>,
) -> Result<()> {
    const WORKERS: usize = 2;
    std::thread::scope(|s| -> Result<()> {
        let channels: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (tx, rx) = std::sync::mpsc::sync_channel(2);
                s.spawn(move || {
                    for loc in locators.iter().skip(w).step_by(WORKERS) {
                        if tx.send(store.get(loc)).is_err() {
                            return;
                        }
                    }
                });
                rx
            })
            .collect();
        for i in 0..locators.len() {
            sink(channels[i % WORKERS].recv()??)?;
        }
        Ok(())
    })
}
