//! Runs the extraction queue in the background: takes due jobs in
//! batches, reads each document's content from the store, extracts it
//! (plain text here, every other type in a [`Worker`] process), commits
//! the metadata it read as one changeset marked `extracted` (a primary
//! only: followers get it through the journal), then records the text in
//! the index and full-text search.
//!
//! A value a user set is never overwritten: a key is set only when the
//! document lacks it or extraction set it before (`extracted_keys`).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use docgrid_core::DocId;
use docgrid_core::api::ErrorCode;
use docgrid_core::model::{self, Op};
use rusqlite::Connection;

use super::ocr::Ocr;
use super::queue::{self, Job, Outcome};
use super::worker::{Failure, Limits, Program, Worker};
use super::{Extracted, MAX_TEXT_BYTES};
use crate::app::{App, StoreContent};
use crate::error::ServerError;
use crate::index::apply;

/// Jobs taken from the queue at once.
const BATCH: usize = 64;
/// Values kept of one extracted key.
const MAX_VALUES: usize = 16;
/// Longest extracted value, in bytes.
const MAX_VALUE: usize = 512;
/// Extraction waits while writers are at work (a commit or chunks within
/// this long)…
const QUIET: Duration = Duration::from_millis(300);
/// …but no longer than this before it takes a batch anyway: an import is
/// not slowed by parsing and indexing competing for the cores, and text
/// still turns up within seconds.
const MAX_DEFER: Duration = Duration::from_secs(2);

/// The background extraction: stops (and ends its workers) when dropped.
pub struct Runner {
    stop: Arc<AtomicBool>,
    app: Arc<App>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Runner {
    /// Starts extracting `app`'s queue on a thread of its own.
    pub fn start(app: Arc<App>) -> std::io::Result<Runner> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (app, stop) = (app.clone(), stop.clone());
            std::thread::Builder::new()
                .name("extract".into())
                .spawn(move || run(&app, &stop))?
        };
        Ok(Runner {
            stop,
            app,
            thread: Some(thread),
        })
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.app.wake_extraction();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(app: &App, stop: &AtomicBool) {
    let cfg = app.extract_config().clone();
    let limits = Limits {
        timeout: Duration::from_secs(cfg.timeout_secs.max(1)),
        memory: cfg.memory_mib.max(64) << 20,
        ocr: cfg.ocr.then(|| Ocr {
            languages: cfg.ocr_languages.clone(),
        }),
    };
    let program = Program::discover();
    if matches!(program, Program::InProcess) {
        tracing::warn!(
            "no docgrid-server binary to run extraction workers: parsing in this process \
             (set DOCGRID_EXTRACT_WORKER to the binary)"
        );
    }
    let mut workers: Vec<Worker> = (0..cfg.worker_count())
        .map(|_| Worker::new(program.clone(), limits.clone()))
        .collect();
    let max_input = cfg.max_input_mib << 20;
    while !stop.load(Ordering::SeqCst) {
        yield_to_writers(app, stop);
        match step(app, &mut workers, max_input) {
            Ok(true) => {}
            Ok(false) => app.wait_for_extraction(Duration::from_secs(1)),
            Err(e) => {
                tracing::error!("extraction: {}", docgrid_core::error_chain(&e));
                app.wait_for_extraction(Duration::from_secs(5));
            }
        }
    }
}

/// Waits while writers are busy, at most [`MAX_DEFER`].
fn yield_to_writers(app: &App, stop: &AtomicBool) {
    let start = std::time::Instant::now();
    while !stop.load(Ordering::SeqCst)
        && start.elapsed() < MAX_DEFER
        && app.since_last_write().is_some_and(|d| d < QUIET)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs one batch; `false` when nothing was due.
fn step(app: &App, workers: &mut [Worker], max_input: u64) -> Result<bool, ServerError> {
    if app.is_reindexing() {
        return Ok(false);
    }
    let jobs = app
        .index()
        .read(|c| queue::due(c, crate::unix_now(), BATCH))?;
    if jobs.is_empty() {
        return Ok(false);
    }
    let started = std::time::Instant::now();
    let mut done = extract_all(app, workers, jobs, max_input);
    if !app.is_follower() {
        commit_meta(app, &mut done);
    }
    let extracted = app.record_extraction(&done)?;
    tracing::debug!(
        jobs = done.len(),
        extracted,
        took = ?started.elapsed(),
        "extraction batch"
    );
    Ok(true)
}

/// Extracts every job, the workers in parallel.
fn extract_all(
    app: &App,
    workers: &mut [Worker],
    jobs: Vec<Job>,
    max_input: u64,
) -> Vec<(Job, Outcome)> {
    let n = workers.len().max(1);
    let mut shares: Vec<Vec<Job>> = (0..n).map(|_| Vec::new()).collect();
    for (i, job) in jobs.into_iter().enumerate() {
        shares[i % n].push(job);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = workers
            .iter_mut()
            .zip(shares)
            .map(|(w, share)| {
                s.spawn(move || {
                    share
                        .into_iter()
                        .map(|job| {
                            let outcome = extract_one(app, w, &job, max_input);
                            (job, outcome)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Reads one job's content and extracts it.
fn extract_one(app: &App, worker: &mut Worker, job: &Job, max_input: u64) -> Outcome {
    if job.manifest.size > max_input {
        return Outcome::Extracted(Extracted::default());
    }
    let read = StoreContent(app.store()).prefix(&job.manifest, job.manifest.size as usize);
    let bytes = match read {
        Ok(b) => b,
        Err(e) => {
            return Outcome::Retry(format!(
                "reading its content: {}",
                docgrid_core::error_chain(&e)
            ));
        }
    };
    let result = if super::is_trusted(&job.mime) {
        super::extract(&job.name, &job.mime, &bytes, None)
            .map_err(|e| Failure::Refused(e.to_string()))
    } else {
        worker.run(&job.name, &job.mime, bytes)
    };
    match result {
        Ok(mut x) => {
            if x.text.as_ref().is_some_and(|t| t.len() > MAX_TEXT_BYTES) {
                x.text = None;
            }
            Outcome::Extracted(x)
        }
        Err(Failure::Refused(e) | Failure::Killed(e)) => {
            tracing::warn!(doc = %job.id, name = %job.name, "extraction failed: {e}");
            Outcome::Failed(e)
        }
        Err(Failure::Unavailable(e)) => Outcome::Retry(e),
    }
}

/// Commits the metadata of every extracted job as one changeset; a job
/// whose commit cannot be made now (the store away) is retried later.
fn commit_meta(app: &App, done: &mut [(Job, Outcome)]) {
    for attempt in 0..3 {
        let ops = match app.index().read(|c| {
            done.iter()
                .map(|(j, o)| meta_ops(c, j, o))
                .collect::<rusqlite::Result<Vec<_>>>()
        }) {
            Ok(per_job) => per_job,
            Err(e) => return tracing::error!("extraction: reading metadata: {e}"),
        };
        let all: Vec<Op> = ops.iter().flatten().cloned().collect();
        if all.is_empty() {
            return;
        }
        match crate::commit::commit_extracted(app, all) {
            Ok(_) => return,
            // A user changed one of the documents meanwhile: look again.
            Err(e) if e.code == ErrorCode::Conflict && attempt < 2 => continue,
            Err(e) => {
                tracing::warn!("extraction: committing metadata: {}", e.message);
                for ((_, outcome), ops) in done.iter_mut().zip(&ops) {
                    if !ops.is_empty() {
                        *outcome =
                            Outcome::Retry(format!("committing its metadata: {}", e.message));
                    }
                }
                return;
            }
        }
    }
}

/// The `SetMeta` ops that bring `job`'s document to what was extracted:
/// keys it lacks or extraction owns are set, keys extraction owned and no
/// longer finds are removed, keys a user set are left alone.
fn meta_ops(conn: &Connection, job: &Job, outcome: &Outcome) -> rusqlite::Result<Vec<Op>> {
    let Outcome::Extracted(x) = outcome else {
        return Ok(Vec::new());
    };
    let Ok(id) = job.id.parse::<DocId>() else {
        return Ok(Vec::new());
    };
    let current: Option<(u64, u64)> = conn
        .prepare_cached(
            "SELECT d.rev, e.rev FROM docs d JOIN extraction e ON e.doc = d.key
             WHERE d.key = ?1 AND d.id = ?2 AND d.deleted = 0 AND e.state = 'pending'",
        )?
        .query_row(rusqlite::params![job.key, job.id], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
        })
        .ok();
    let Some((base, _)) = current.filter(|&(_, content)| content == job.rev) else {
        return Ok(Vec::new());
    };
    let meta = apply::load_meta(conn, job.key)?;
    let owned: HashSet<String> = queue::owned_keys(conn, job.key)?.into_iter().collect();
    let mut ops = Vec::new();
    let mut set = |key: &str, values: Vec<String>| {
        ops.push(Op::SetMeta {
            id,
            base,
            key: key.to_string(),
            values,
        })
    };
    for (key, values) in &x.meta {
        let values = clean_values(values);
        if values.is_empty() || model::validate_client_meta(key, &values).is_err() {
            continue;
        }
        match meta.get(key) {
            None => set(key, values),
            Some(now) if owned.contains(key) && *now != values => set(key, values),
            Some(_) => {}
        }
    }
    for key in &owned {
        // A reserved key extraction owns (the default author) stays.
        if !x.meta.contains_key(key) && meta.contains_key(key) && !model::is_reserved(key) {
            set(key, Vec::new());
        }
    }
    Ok(ops)
}

/// Values as the index keeps them: one line each, trimmed, bounded,
/// without duplicates or empties.
fn clean_values(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        let line: String = v
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut line = line.trim().to_string();
        if line.len() > MAX_VALUE {
            let mut cut = MAX_VALUE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
        }
        if !line.is_empty() && !out.contains(&line) {
            out.push(line);
        }
        if out.len() == MAX_VALUES {
            break;
        }
    }
    out
}
