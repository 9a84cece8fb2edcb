//! The overlay's upload worker: one thread, at idle I/O priority, that
//!
//! 1. migrates the files the mount hands it (read completely from the
//!    lower directory, written in read-through mode), at once and at full
//!    speed: their bytes were just read and are in the page cache;
//! 2. retries failed files when their backoff is over (2^attempts s, at
//!    most an hour);
//! 3. in write-back mode, uploads what the spool holds (found in the
//!    journal, so a restart picks up where the last run stopped) and lets
//!    uploaded bytes leave the spool;
//! 4. with `--background RATE`, scans the lower directory and migrates
//!    everything else, reading no more than RATE bytes per second, and
//!    rescans every [`RESCAN_EVERY`] for files changed behind the
//!    overlay's back.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::journal::SyncState;
use super::migrate::{Migrator, Throttle};
use super::ofs::{Mode, Overlay};

/// How often the background migration rescans the lower directory once
/// everything seen is migrated.
pub const RESCAN_EVERY: Duration = Duration::from_secs(30);

/// Files migrated together at most: one commit each (1,024 migrated
/// /usr/share/doc in 1.95–2.31 s, 256 in 2.41–2.99 s: fewer commits).
pub const BATCH_FILES: usize = 1024;

/// Files larger than this migrate one at a time in the background (1 MiB).
pub const BATCH_FILE_MAX: u64 = 1 << 20;

/// Files waiting to be uploaded, each once.
#[derive(Debug, Default)]
pub struct Queue {
    q: Mutex<(VecDeque<String>, HashSet<String>)>,
    cv: Condvar,
}

impl Queue {
    /// An empty queue.
    pub fn new() -> Queue {
        Queue::default()
    }

    /// Queues `rel` (unless it is queued already).
    pub fn push(&self, rel: &str) {
        let mut q = self.q.lock().expect("poisoned");
        if q.1.insert(rel.to_string()) {
            q.0.push_back(rel.to_string());
            self.cv.notify_one();
        }
    }

    /// Up to `max` files, waiting at most `wait` for the first.
    pub fn pop_many(&self, max: usize, wait: Duration) -> Vec<String> {
        let q = self.q.lock().expect("poisoned");
        let (mut q, _) = self
            .cv
            .wait_timeout_while(q, wait, |q| q.0.is_empty())
            .expect("poisoned");
        let n = q.0.len().min(max);
        let taken: Vec<String> = q.0.drain(..n).collect();
        for rel in &taken {
            q.1.remove(rel);
        }
        taken
    }

    /// Files waiting.
    pub fn len(&self) -> usize {
        self.q.lock().expect("poisoned").0.len()
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Upload threads: two, so that one batch's bytes go up while the
/// other's commit is made.
pub const WORKERS: usize = 2;

/// Starts the workers of `fs` (sharing one rate); they stop when `stop`
/// is set. Only the first scans.
pub fn spawn(
    fs: Arc<Overlay>,
    background: Option<u64>,
    stop: Arc<AtomicBool>,
) -> Vec<JoinHandle<()>> {
    let throttle = background.map(|r| Arc::new(Throttle::new(r)));
    (0..WORKERS)
        .map(|n| {
            let (fs, throttle, stop) = (fs.clone(), throttle.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("docgrid-overlay-upload-{n}"))
                .spawn(move || {
                    idle_io_priority();
                    let mut w = Worker {
                        migrator: fs.migrator.clone(),
                        queue: fs.queue.clone(),
                        fs,
                        throttle,
                        scans: n == 0,
                        last_scan: None,
                    };
                    while !stop.load(Ordering::Relaxed) {
                        w.step();
                    }
                })
                .expect("spawning a thread")
        })
        .collect()
}

struct Worker {
    fs: Arc<Overlay>,
    migrator: Arc<Migrator>,
    queue: Arc<Queue>,
    throttle: Option<Arc<Throttle>>,
    /// Whether this one scans the lower directory.
    scans: bool,
    last_scan: Option<Instant>,
}

impl Worker {
    /// One unit of work, or a short wait when there is none.
    fn step(&mut self) {
        // The first scan comes first: until it ran, the journal does not
        // know the files nobody touched, and nothing can say "all
        // migrated".
        if self.scans && self.throttle.is_some() && self.last_scan.is_none() {
            return self.scan();
        }
        let queued = self.queue.pop_many(BATCH_FILES, Duration::ZERO);
        if !queued.is_empty() {
            return self.batch(&queued, false);
        }
        if self.fs.options().mode == Mode::WriteBack && self.drain_spool() {
            return;
        }
        if let Some(rel) = self.next_failed() {
            return self.migrate(&rel, true);
        }
        if self.throttle.is_some() {
            if self.scans && self.last_scan.is_none_or(|t| t.elapsed() >= RESCAN_EVERY) {
                return self.scan();
            }
            let next = self.next_background();
            if !next.is_empty() {
                return self.background(next);
            }
        }
        let queued = self.queue.pop_many(BATCH_FILES, Duration::from_millis(200));
        if !queued.is_empty() {
            self.batch(&queued, false);
        }
    }

    /// Write-back: uploads spooled files, or lets uploaded ones leave
    /// the spool; whether there was anything to do.
    fn drain_spool(&self) -> bool {
        let j = self.migrator.journal();
        let spooled = j
            .in_spool(false, 4 * BATCH_FILES as u64)
            .unwrap_or_default();
        let rels = self.unheld(spooled);
        if !rels.is_empty() {
            self.batch(&rels, false);
            return true;
        }
        let mut any = false;
        for r in j.in_spool(true, 64).unwrap_or_default() {
            match self.fs.unspool(&r.path) {
                Ok(left) => any |= left,
                Err(e) => tracing::warn!("overlay: {}: leaving the spool: {e}", r.path),
            }
        }
        any
    }

    /// Background files: the small ones in one batch, the large one at a
    /// time, all within the rate.
    fn background(&self, records: Vec<super::journal::FileRecord>) {
        let (small, large): (Vec<_>, Vec<_>) = records
            .into_iter()
            .partition(|r| r.seen.size <= BATCH_FILE_MAX);
        if !small.is_empty() {
            let rels: Vec<String> = small.into_iter().map(|r| r.path).collect();
            self.batch(&rels, true);
        }
        for r in large {
            self.migrate(&r.path, true);
        }
    }

    fn scan(&mut self) {
        self.last_scan = Some(Instant::now());
        match self.migrator.scan() {
            Ok(s) => tracing::info!(
                "overlay: scanned {} files ({} bytes), {} changed or dirty",
                s.files,
                s.bytes,
                s.changed
            ),
            Err(e) => tracing::error!("overlay: scanning the lower directory: {e}"),
        }
    }

    fn next_failed(&self) -> Option<String> {
        let due = self.migrator.journal().due_failed(1);
        due.ok()?.into_iter().next().map(|r| r.path)
    }

    fn next_background(&self) -> Vec<super::journal::FileRecord> {
        let j = self.migrator.journal();
        [SyncState::Dirty, SyncState::LowerOnly]
            .into_iter()
            .map(|s| {
                let mut v = j.in_state(s, 4 * BATCH_FILES as u64).unwrap_or_default();
                v.retain(|r| !self.migrator.is_held(&r.path));
                v.truncate(BATCH_FILES);
                v
            })
            .find(|v| !v.is_empty())
            .unwrap_or_default()
    }

    /// The paths of `records` no other worker holds, at most a batch.
    fn unheld(&self, records: Vec<super::journal::FileRecord>) -> Vec<String> {
        records
            .into_iter()
            .map(|r| r.path)
            .filter(|p| !self.migrator.is_held(p))
            .take(BATCH_FILES)
            .collect()
    }

    fn batch(&self, rels: &[String], throttled: bool) {
        let throttle = self.throttle.as_ref().filter(|_| throttled);
        match self.migrator.migrate_batch(rels, throttle) {
            Ok(n) => tracing::debug!("overlay: migrated {n} of {} files", rels.len()),
            Err(e) => tracing::warn!(
                "overlay: migrating {} files: {e} (each retried later)",
                rels.len()
            ),
        }
    }

    fn migrate(&self, rel: &str, throttled: bool) {
        let throttle = self.throttle.as_ref().filter(|_| throttled);
        match self.migrator.migrate_with(rel, throttle) {
            Ok(state) => tracing::debug!("overlay: {rel}: {}", state.as_str()),
            Err(e) => tracing::warn!("overlay: migrating {rel}: {e} (retried later)"),
        }
    }
}

/// Puts the calling thread in the idle I/O class (`ionice -c 3` of its
/// thread id): the background migration's reads yield to the
/// application's, on the schedulers that keep classes (BFQ; `none` and
/// `mq-deadline` ignore it).
fn idle_io_priority() {
    let tid = rustix::thread::gettid().as_raw_nonzero().get();
    let done = std::process::Command::new("ionice")
        .args(["-c", "3", "-p", &tid.to_string()])
        .stderr(std::process::Stdio::null())
        .status();
    if !done.is_ok_and(|s| s.success()) {
        tracing::debug!("overlay: ionice -c 3 refused or missing: normal I/O priority");
    }
}
