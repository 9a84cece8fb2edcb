//! The extraction worker: a child process that parses untrusted content
//! under hard limits, so that no input can crash, hang or exhaust the
//! server.
//!
//! The child is `docgrid-server extract-worker` ([`serve_stdio`]): it caps
//! its own address space and core size, then answers requests on stdin,
//! one at a time — a JSON header line (`name`, `mime`, `len`) followed by
//! `len` bytes — with one JSON line ([`Reply`]) on stdout. The parent
//! ([`Worker`]) waits for each answer at most the configured time; a worker
//! that overruns it is killed, one that dies (a stack overflow, an abort,
//! the memory limit) is reported with how it died, and either way the next
//! job gets a fresh process.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Extracted;
use super::ocr::Ocr;

/// The hidden subcommand that runs a worker.
pub const SUBCOMMAND: &str = "extract-worker";

/// Longest answer line read from a worker (text is capped at 4 MiB; its
/// JSON escaping may double it; metadata is small).
const MAX_REPLY: usize = 12 << 20;

/// One request's header line.
#[derive(Debug, Serialize, Deserialize)]
struct Request {
    name: String,
    mime: String,
    len: u64,
}

/// One answer line.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// What was read.
    Ok(Extracted),
    /// Why nothing could be (the parser's error, a caught panic).
    Err(String),
}

/// The limits a worker runs under.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest time for one file.
    pub timeout: Duration,
    /// Address space of the process, in bytes.
    pub memory: u64,
    /// OCR's settings, `None` for no OCR.
    pub ocr: Option<Ocr>,
}

/// How to start a worker.
#[derive(Debug, Clone)]
pub enum Program {
    /// Run this `docgrid-server` binary's `extract-worker` subcommand.
    Binary(PathBuf),
    /// No binary found (a library embedding the server): parse on a thread
    /// of this process, with the time limit only (a timed-out thread is
    /// abandoned; a stack overflow would end the process).
    InProcess,
}

impl Program {
    /// The worker to run: `$DOCGRID_EXTRACT_WORKER`, else this process's
    /// own binary when it is `docgrid-server`, else a `docgrid-server`
    /// beside it or one directory up (how cargo lays out test binaries),
    /// else [`Program::InProcess`].
    pub fn discover() -> Program {
        if let Some(p) = std::env::var_os("DOCGRID_EXTRACT_WORKER") {
            return Program::Binary(PathBuf::from(p));
        }
        let Ok(exe) = std::env::current_exe() else {
            return Program::InProcess;
        };
        if exe.file_name().is_some_and(|n| n == "docgrid-server") {
            return Program::Binary(exe);
        }
        exe.ancestors()
            .skip(1)
            .take(2)
            .map(|dir| dir.join("docgrid-server"))
            .find(|p| p.is_file())
            .map_or(Program::InProcess, Program::Binary)
    }
}

/// Why a job produced nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The parser refused the content (or panicked): final for this content.
    Refused(String),
    /// The worker broke a limit or died: final for this content.
    Killed(String),
    /// The worker could not be started: the job may be tried again.
    Unavailable(String),
}

/// A worker process (or thread, for [`Program::InProcess`]).
pub struct Worker {
    program: Program,
    limits: Limits,
    child: Option<Running>,
}

/// A live child process and the threads that feed and read it.
struct Running {
    child: Child,
    input: SyncSender<Vec<u8>>,
    output: Receiver<io::Result<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Worker {
    /// A worker that starts its process at its first job.
    pub fn new(program: Program, limits: Limits) -> Worker {
        Worker {
            program,
            limits,
            child: None,
        }
    }

    /// Extracts `bytes` of type `mime` named `name`.
    pub fn run(&mut self, name: &str, mime: &str, bytes: Vec<u8>) -> Result<Extracted, Failure> {
        match &self.program {
            Program::InProcess => in_thread(name, mime, bytes, &self.limits),
            Program::Binary(path) => {
                let path = path.clone();
                self.in_child(&path, name, mime, bytes)
            }
        }
    }

    fn in_child(
        &mut self,
        path: &std::path::Path,
        name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Result<Extracted, Failure> {
        if self.child.is_none() {
            let running = Running::start(path, &self.limits).map_err(|e| {
                Failure::Unavailable(format!(
                    "cannot start the extraction worker {}: {e}",
                    path.display()
                ))
            })?;
            self.child = Some(running);
        }
        let running = self.child.as_mut().expect("started above");
        let header = Request {
            name: name.to_string(),
            mime: mime.to_string(),
            len: bytes.len() as u64,
        };
        let mut frame = serde_json::to_vec(&header).expect("a request serializes");
        frame.push(b'\n');
        frame.extend_from_slice(&bytes);
        let answer = match running.input.send(frame) {
            Ok(()) => running.output.recv_timeout(self.limits.timeout),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        };
        match answer {
            Ok(Ok(line)) => match serde_json::from_str::<Reply>(&line) {
                Ok(Reply::Ok(x)) => Ok(x),
                Ok(Reply::Err(e)) => Err(Failure::Refused(e)),
                Err(e) => Err(self.kill(format!("the extractor answered nonsense ({e})"))),
            },
            Ok(Err(e)) => Err(self.kill(format!("reading the extractor's answer: {e}"))),
            Err(RecvTimeoutError::Timeout) => Err(self.kill(format!(
                "timed out after {} s",
                self.limits.timeout.as_secs_f64()
            ))),
            Err(RecvTimeoutError::Disconnected) => {
                let how = self.reap();
                Err(Failure::Killed(format!("the extractor {how}")))
            }
        }
    }

    /// Ends the child (the next job starts another) and says `why`.
    fn kill(&mut self, why: String) -> Failure {
        if let Some(mut r) = self.child.take() {
            r.end();
        }
        Failure::Killed(why)
    }

    /// Waits for a child that went away; says how it ended.
    fn reap(&mut self) -> String {
        let Some(mut r) = self.child.take() else {
            return "was not running".into();
        };
        // Whatever it was running (OCR) goes with it; until it is waited
        // for, its process (and group) id cannot be reused.
        r.kill_group();
        let status = match r.child.wait() {
            Ok(s) => s,
            Err(e) => return format!("could not be waited for: {e}"),
        };
        // The stderr thread ends with the process: give it a moment.
        std::thread::sleep(Duration::from_millis(20));
        let last = r.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        describe_exit(status, &last, self.limits.memory)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(mut r) = self.child.take() {
            r.end();
        }
    }
}

impl Running {
    /// Kills the worker and whatever it runs (its process group), and
    /// waits for it.
    fn end(&mut self) {
        self.kill_group();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the worker's process group (it and what it runs).
    fn kill_group(&self) {
        use rustix::process::{Pid, Signal, kill_process_group};
        let _ = kill_process_group(Pid::from_child(&self.child), Signal::KILL);
    }

    fn start(path: &std::path::Path, limits: &Limits) -> io::Result<Running> {
        let mut cmd = Command::new(path);
        cmd.arg(SUBCOMMAND)
            .arg("--memory")
            .arg(limits.memory.to_string());
        if let Some(ocr) = &limits.ocr {
            cmd.arg("--ocr").arg(&ocr.languages);
        }
        // Its own process group: killing it kills what it runs (OCR).
        let mut child = std::os::unix::process::CommandExt::process_group(&mut cmd, 0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("RUST_LOG")
            .spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let (input, inputs) = mpsc::sync_channel::<Vec<u8>>(1);
        std::thread::Builder::new()
            .name("extract-in".into())
            .spawn(move || feed(stdin, inputs))?;
        let (answers, output) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("extract-out".into())
            .spawn(move || read_answers(stdout, answers))?;
        let last = Arc::new(Mutex::new(String::new()));
        let keep = last.clone();
        std::thread::Builder::new()
            .name("extract-err".into())
            .spawn(move || keep_last_line(stderr, keep))?;
        Ok(Running {
            child,
            input,
            output,
            stderr: last,
        })
    }
}

/// Writes each frame to the child until it goes away.
fn feed(mut stdin: ChildStdin, frames: Receiver<Vec<u8>>) {
    for frame in frames {
        if stdin
            .write_all(&frame)
            .and_then(|()| stdin.flush())
            .is_err()
        {
            return;
        }
    }
}

/// Sends each answer line on; ends at end of file.
fn read_answers(stdout: std::process::ChildStdout, answers: SyncSender<io::Result<String>>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut line = Vec::new();
        let got = (&mut reader)
            .take(MAX_REPLY as u64)
            .read_until(b'\n', &mut line);
        let answer = match got {
            Ok(0) => return,
            Ok(_) if !line.ends_with(b"\n") => Err(io::Error::other(format!(
                "an answer over {} MiB",
                MAX_REPLY >> 20
            ))),
            Ok(_) => String::from_utf8(line).map_err(io::Error::other),
            Err(e) => Err(e),
        };
        let failed = answer.is_err();
        if answers.send(answer).is_err() || failed {
            return;
        }
    }
}

/// Keeps the child's last non-empty stderr line (what it said as it died).
fn keep_last_line(stderr: std::process::ChildStderr, last: Arc<Mutex<String>>) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { return };
        if !line.trim().is_empty()
            && let Ok(mut l) = last.lock()
        {
            *l = line.chars().take(300).collect();
        }
    }
}

/// How a worker ended, in words.
fn describe_exit(status: std::process::ExitStatus, last: &str, memory: u64) -> String {
    use std::os::unix::process::ExitStatusExt;
    let said = if last.is_empty() {
        String::new()
    } else {
        format!(": {last}")
    };
    if last.contains("memory allocation") {
        return format!("went over its memory limit of {} MiB{said}", memory >> 20);
    }
    if last.contains("stack overflow") {
        return format!("overflowed its stack (input nested too deeply){said}");
    }
    match (status.code(), status.signal()) {
        (_, Some(sig)) => format!("crashed (killed by signal {sig}){said}"),
        (Some(code), _) => format!("exited with status {code}{said}"),
        _ => format!("ended ({status}){said}"),
    }
}

/// [`Program::InProcess`]: parses on a thread, waiting at most the time limit.
fn in_thread(
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
    limits: &Limits,
) -> Result<Extracted, Failure> {
    let timeout = limits.timeout;
    let (tx, rx) = mpsc::sync_channel(1);
    let (name, mime, ocr) = (name.to_string(), mime.to_string(), limits.ocr.clone());
    std::thread::Builder::new()
        .name("extract".into())
        .spawn(move || {
            let _ = tx.send(super::extract(&name, &mime, &bytes, ocr.as_ref()));
        })
        .map_err(|e| Failure::Unavailable(format!("cannot start an extraction thread: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(x)) => Ok(x),
        Ok(Err(e)) => Err(Failure::Refused(e.to_string())),
        Err(RecvTimeoutError::Timeout) => Err(Failure::Killed(format!(
            "timed out after {} s",
            timeout.as_secs_f64()
        ))),
        Err(RecvTimeoutError::Disconnected) => {
            Err(Failure::Killed("the extraction thread died".into()))
        }
    }
}

/// The worker's side: limits itself to `memory` bytes of address space
/// and no core files, then answers requests on stdin until it closes,
/// reading pictures and scanned PDFs with `ocr` when given.
pub fn serve_stdio(memory: u64, ocr: Option<Ocr>) -> io::Result<()> {
    limit_self(memory)?;
    let mut input = BufReader::new(io::stdin().lock());
    let mut out = io::BufWriter::new(io::stdout().lock());
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let req: Request = serde_json::from_str(&line).map_err(io::Error::other)?;
        let mut bytes = vec![0; usize::try_from(req.len).map_err(io::Error::other)?];
        input.read_exact(&mut bytes)?;
        let reply = match super::extract(&req.name, &req.mime, &bytes, ocr.as_ref()) {
            Ok(x) => Reply::Ok(x),
            Err(e) => Reply::Err(e.to_string()),
        };
        drop(bytes);
        serde_json::to_writer(&mut out, &reply).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
}

/// Caps this process's address space and core files, and lowers its CPU
/// priority (nice 10) so that extraction yields to the server's requests.
fn limit_self(memory: u64) -> io::Result<()> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    rustix::process::setpriority_process(None, 10).map_err(io::Error::from)?;
    let cap = |n| Rlimit {
        current: Some(n),
        maximum: Some(n),
    };
    setrlimit(Resource::As, cap(memory)).map_err(io::Error::from)?;
    setrlimit(Resource::Core, cap(0)).map_err(io::Error::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The parent's error paths against stand-in workers (shell scripts);
    //! the real worker is tested end to end in `tests/extraction.rs`.
    use super::*;

    fn script(dir: &tempfile::TempDir, body: &str) -> Program {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join("worker");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Program::Binary(path)
    }

    fn limits(ms: u64) -> Limits {
        Limits {
            timeout: Duration::from_millis(ms),
            memory: 1 << 30,
            ocr: None,
        }
    }

    #[test]
    fn a_worker_that_hangs_is_killed_at_the_time_limit_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Worker::new(script(&dir, "exec sleep 30"), limits(300));
        let started = std::time::Instant::now();
        let err = w.run("a.pdf", "application/pdf", vec![1; 10]).unwrap_err();
        assert_eq!(err, Failure::Killed("timed out after 0.3 s".into()));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(w.child.is_none(), "the hung process is gone");
        // The next job gets a process of its own.
        let err = w.run("b.pdf", "application/pdf", vec![]).unwrap_err();
        assert!(matches!(err, Failure::Killed(_)));
    }

    #[test]
    fn a_worker_that_dies_is_reported_with_how() {
        let dir = tempfile::tempdir().unwrap();
        let body = "echo 'memory allocation of 4096 bytes failed' >&2; kill -ABRT $$";
        let mut w = Worker::new(script(&dir, body), limits(5000));
        let Failure::Killed(why) = w.run("a", "application/pdf", vec![0; 3]).unwrap_err() else {
            panic!("not killed")
        };
        assert!(
            why.contains("went over its memory limit of 1024 MiB"),
            "{why}"
        );
        let mut w = Worker::new(script(&dir, "exit 3"), limits(5000));
        let Failure::Killed(why) = w.run("a", "application/pdf", vec![]).unwrap_err() else {
            panic!("not killed")
        };
        assert_eq!(why, "the extractor exited with status 3");
    }

    #[test]
    fn a_worker_that_cannot_start_is_unavailable_not_a_verdict() {
        let mut w = Worker::new(
            Program::Binary("/nonexistent/docgrid-server".into()),
            limits(100),
        );
        let err = w.run("a", "application/pdf", vec![]).unwrap_err();
        assert!(
            matches!(err, Failure::Unavailable(ref m) if m.contains("/nonexistent")),
            "{err:?}"
        );
    }

    #[test]
    fn in_process_extraction_keeps_its_time_limit() {
        let mut w = Worker::new(Program::InProcess, limits(5000));
        let x = w
            .run("a.html", "text/html", b"<p>hi there</p>".to_vec())
            .unwrap();
        assert_eq!(x.text.as_deref(), Some("hi there"));
    }
}
