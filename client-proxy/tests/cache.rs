//! The chunk cache through its public API, including several processes
//! sharing one directory: the test binary re-executes itself as a worker.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use docgrid_client::cache::ChunkCache;
use docgrid_core::chunk::Digest;

/// Set in a child process: the cache directory the worker hammers.
const WORKER_DIR: &str = "DOCGRID_CACHE_TEST_WORKER_DIR";
/// Set in a child process: the worker's number, which varies its access pattern.
const WORKER_ID: &str = "DOCGRID_CACHE_TEST_WORKER_ID";
/// The bound of the shared cache in the multi-process test.
const SHARED_MAX: u64 = 48 * 1024;

/// Deterministic bytes for chunk number `seed`, `len` long.
fn chunk(seed: u64, len: usize) -> (Digest, Vec<u8>) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    (Digest::of(&bytes), bytes)
}

/// Chunk `n` of the shared pool: 0.5 to 4.4 KiB.
fn pool_chunk(n: u64) -> (Digest, Vec<u8>) {
    chunk(n, 500 + (n as usize % 61) * 65)
}

/// All chunk files under `DIR/chunks`, walked on disk.
fn chunk_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in fs::read_dir(dir.join("chunks")).unwrap() {
        for file in fs::read_dir(sub.unwrap().path()).unwrap() {
            files.push(file.unwrap().path());
        }
    }
    files
}

fn disk_bytes(dir: &Path) -> u64 {
    chunk_files(dir)
        .iter()
        .map(|f| fs::metadata(f).unwrap().len())
        .sum()
}

#[test]
fn round_trip_miss_and_too_big() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ChunkCache::open(dir.path(), 10_000).unwrap();
    let (d, bytes) = chunk(1, 4000);
    assert_eq!(cache.get(&d).unwrap(), None);
    cache.put(&d, &bytes).unwrap();
    assert_eq!(cache.get(&d).unwrap(), Some(bytes));

    let (big, bytes) = chunk(2, 10_001);
    cache.put(&big, &bytes).unwrap();
    assert!(!cache.contains(&big));
    assert_eq!(cache.get(&big).unwrap(), None);
    assert_eq!(cache.used_bytes().unwrap(), 4000);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (1, 2));
}

#[test]
fn corrupted_file_is_detected_dropped_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ChunkCache::open(dir.path(), 1 << 20).unwrap();
    let (d, bytes) = chunk(1, 4000);
    cache.put(&d, &bytes).unwrap();
    let files = chunk_files(dir.path());
    assert_eq!(files.len(), 1);
    assert!(files[0].ends_with(format!("{}/{}", &d.to_hex()[..2], d.to_hex())));
    let mut damaged = fs::read(&files[0]).unwrap();
    damaged[2000] ^= 0xFF;
    fs::write(&files[0], &damaged).unwrap();

    assert_eq!(cache.get(&d).unwrap(), None);
    assert!(chunk_files(dir.path()).is_empty());
    assert_eq!(cache.stats().corrupt, 1);
    assert_eq!(cache.used_bytes().unwrap(), 0);

    cache.put(&d, &bytes).unwrap();
    assert_eq!(cache.get(&d).unwrap(), Some(bytes));
}

#[test]
fn bound_holds_after_every_put_on_ten_times_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let max = 100 * 1024;
    let cache = ChunkCache::open(dir.path(), max).unwrap();
    let mut put_bytes = 0;
    for i in 0u64.. {
        if put_bytes >= 10 * max {
            break;
        }
        let (d, bytes) = pool_chunk((i * 37) % 211);
        if let Some(got) = cache.get(&d).unwrap() {
            assert_eq!(got, bytes);
            continue;
        }
        cache.put(&d, &bytes).unwrap();
        put_bytes += bytes.len() as u64;
        let used = cache.used_bytes().unwrap();
        assert!(used <= max, "index: {used} > {max}");
        let disk = disk_bytes(dir.path());
        assert!(disk <= max, "disk: {disk} > {max}");
    }
    assert!(cache.stats().evictions > 0);
}

#[test]
fn recently_read_chunk_survives_eviction() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ChunkCache::open(dir.path(), 10_000).unwrap();
    let old: Vec<_> = (0..5).map(|i| chunk(i, 2000)).collect();
    for (d, bytes) in &old {
        cache.put(d, bytes).unwrap();
    }
    // Hits are recorded at a one-second granularity.
    std::thread::sleep(Duration::from_millis(1100));
    assert!(cache.get(&old[0].0).unwrap().is_some());
    let (d, bytes) = chunk(99, 2000);
    cache.put(&d, &bytes).unwrap();
    assert!(cache.contains(&old[0].0), "the chunk just read was evicted");
    assert!(cache.contains(&d));
    let survivors = old[1..].iter().filter(|(d, _)| cache.contains(d)).count();
    assert_eq!(survivors, 2, "two of the unread chunks should have gone");
    assert!(cache.used_bytes().unwrap() <= 9000);
}

#[test]
fn reopening_finds_what_was_there() {
    let dir = tempfile::tempdir().unwrap();
    let chunks: Vec<_> = (0..8).map(pool_chunk).collect();
    {
        let cache = ChunkCache::open(dir.path(), 1 << 20).unwrap();
        for (d, bytes) in &chunks {
            cache.put(d, bytes).unwrap();
        }
    }
    let cache = ChunkCache::open(dir.path(), 1 << 20).unwrap();
    let total: usize = chunks.iter().map(|(_, b)| b.len()).sum();
    assert_eq!(cache.used_bytes().unwrap(), total as u64);
    for (d, bytes) in &chunks {
        assert_eq!(cache.get(d).unwrap().as_ref(), Some(bytes));
    }
    assert_eq!(cache.stats().hits, chunks.len() as u64);
}

/// Gets and puts from the shared pool; every hit must be exact.
fn hammer(dir: &Path, id: u64, rounds: u64) {
    let cache = ChunkCache::open(dir, SHARED_MAX).unwrap();
    for i in 0..rounds {
        let (d, bytes) = pool_chunk((i * (7 + 2 * id) + id * 31) % 90);
        match cache.get(&d).unwrap() {
            Some(got) => assert_eq!(got, bytes, "worker {id}: wrong bytes for {d}"),
            None => cache.put(&d, &bytes).unwrap(),
        }
    }
    let stats = cache.stats();
    assert_eq!(stats.corrupt, 0, "worker {id}: {stats:?}");
    assert!(stats.hits > 0 && stats.misses > 0, "worker {id}: {stats:?}");
}

/// Not a test on its own: the body of a child process of
/// `two_processes_and_two_threads_share_a_cache`, which sets [`WORKER_DIR`].
#[test]
fn cache_worker_process() {
    let Some(dir) = std::env::var_os(WORKER_DIR) else {
        return;
    };
    let id = std::env::var(WORKER_ID).unwrap().parse().unwrap();
    hammer(Path::new(&dir), id, 1500);
}

#[test]
fn two_processes_and_two_threads_share_a_cache() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2u64)
        .map(|id| {
            Command::new(&exe)
                .args(["--exact", "cache_worker_process", "--nocapture"])
                .env(WORKER_DIR, dir.path())
                .env(WORKER_ID, id.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::scope(|s| {
        for id in 2..4u64 {
            let dir = dir.path();
            s.spawn(move || hammer(dir, id, 1500));
        }
    });
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "a worker process failed: {stdout}");
        assert!(
            stdout.contains("1 passed"),
            "the worker did not run: {stdout}"
        );
    }

    let cache = ChunkCache::open(dir.path(), SHARED_MAX).unwrap();
    let used = cache.used_bytes().unwrap();
    assert!(used > 0 && used <= SHARED_MAX, "{used} bytes used");
    assert_eq!(disk_bytes(dir.path()), used, "files and index disagree");
    assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    for file in chunk_files(dir.path()) {
        let hex = file.file_name().unwrap().to_str().unwrap();
        let digest: Digest = hex.parse().unwrap();
        assert_eq!(
            Digest::of(&fs::read(&file).unwrap()),
            digest,
            "{hex} is corrupt"
        );
    }
}
