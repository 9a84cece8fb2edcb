//! A local Tahoe-LAFS grid for tests, benchmarks and users trying docgrid:
//! an introducer, N storage nodes and a storage-less gateway, all on loopback.
//!
//! [`Grid::start`] creates the nodes with `tahoe create-*`, runs each with
//! `tahoe run` and returns once the gateway sees every storage node connected;
//! [`Grid::gateway_url`] is then the web API the Tahoe store talks to. Storage
//! nodes can be stopped, restarted or replaced by empty ones to test
//! durability. [`tahoe_bin`] finds (or installs) the `tahoe` executable.
//!
//! # No process left behind
//!
//! Every node runs with its stdin a pipe held by the [`Grid`]; `tahoe run`
//! exits as soon as its stdin closes. Dropping the grid closes the pipes and
//! waits for the nodes to exit, and if the process owning the grid dies, even
//! by SIGKILL, the kernel closes the pipes and the nodes exit by themselves
//! (0.2 s for a lone node, up to about 2 s for seven on two busy cores). A
//! node still running 10 s after its stdin closed is killed.
//!
//! # Liveness as the gateway sees it
//!
//! Tahoe 1.20 talks to storage nodes over HTTP and checks each one's liveness
//! every second (with a 5 s timeout), without backoff. So a stopped node shows
//! as disconnected about 1 s after it exits, and a restarted one as connected
//! about 1 s after it is up, however long it was down: there is no reconnection
//! delay to tune.
//!
//! Each node's output goes to `run.log` in its directory; errors about a node
//! that failed include the end of that log.
//!
//! ```no_run
//! use docgrid_backend_tahoe::grid::{Grid, GridSpec};
//!
//! let mut grid = Grid::start(GridSpec::default())?;
//! println!("gateway at {}", grid.gateway_url());
//! grid.stop_storage(0)?;
//! assert_eq!(grid.connected_storage()?.len(), 4);
//! # anyhow::Ok(())
//! ```

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

mod install;

pub use install::{tahoe_bin, tahoe_processes_under};

/// Whether tests that need a real grid are to be skipped: only when
/// `DOCGRID_SKIP_SYSTEM_TESTS=1` is set by hand (CI never sets it). Says so
/// on stderr.
pub fn system_tests_skipped() -> bool {
    let skip = std::env::var_os("DOCGRID_SKIP_SYSTEM_TESTS").is_some_and(|v| v == "1");
    if skip {
        eprintln!("skipped: DOCGRID_SKIP_SYSTEM_TESTS=1");
    }
    skip
}

/// The Tahoe-LAFS release [`tahoe_bin`] installs and the harness is tested with.
pub const TAHOE_VERSION: &str = "1.20.0";

/// How long [`Grid::start`] waits for every node to be up and connected.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a node may take to exit once its stdin is closed before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long [`Grid::stop_storage`] waits for the gateway to notice.
const GONE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Grid::start_storage`] waits for the gateway to see the node.
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Interval between two looks at a node or at the gateway.
const POLL: Duration = Duration::from_millis(100);
/// Timeout of one request to the gateway's web API.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The shape of a grid: how many storage nodes, and the encoding parameters
/// the gateway uploads with (`needed`-of-`total` shares, placed on at least
/// `happy` distinct storage nodes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridSpec {
    /// Number of storage nodes, nicknamed `s0`, `s1`, …
    pub storage_nodes: usize,
    /// Shares needed to read a file back (Tahoe's `shares.needed`, k).
    pub needed: usize,
    /// Distinct storage nodes an upload must reach (Tahoe's `shares.happy`).
    pub happy: usize,
    /// Shares written per file (Tahoe's `shares.total`, n).
    pub total: usize,
}

impl Default for GridSpec {
    /// Five storage nodes, 3-of-5, happy 4: any two nodes can be lost.
    fn default() -> GridSpec {
        GridSpec {
            storage_nodes: 5,
            needed: 3,
            happy: 4,
            total: 5,
        }
    }
}

impl GridSpec {
    /// Checks `1 <= needed <= happy <= total <= 256` and that there are at
    /// least `happy` storage nodes (else every upload would fail).
    pub fn validate(&self) -> anyhow::Result<()> {
        let GridSpec {
            storage_nodes,
            needed,
            happy,
            total,
        } = *self;
        ensure!(
            1 <= needed && needed <= happy && happy <= total && total <= 256,
            "invalid share parameters needed={needed} happy={happy} total={total}: \
             they must satisfy 1 <= needed <= happy <= total <= 256"
        );
        ensure!(
            storage_nodes >= happy,
            "{storage_nodes} storage node(s) cannot hold shares on happy={happy} distinct \
             nodes: every upload would fail; use at least {happy} nodes"
        );
        Ok(())
    }
}

/// A running local grid. Dropping it stops every node and waits for them to
/// exit; a grid made by [`Grid::start`] also removes its directory.
pub struct Grid {
    spec: GridSpec,
    dir: PathBuf,
    tahoe: PathBuf,
    introducer: Node,
    storage: Vec<Node>,
    gateway: Node,
    /// Declared last: removed only after `Drop::drop` has stopped the nodes.
    temp: Option<tempfile::TempDir>,
}

impl Grid {
    /// Starts a grid in a fresh temporary directory (removed when the grid is
    /// dropped) and waits until the gateway sees every storage node connected.
    pub fn start(spec: GridSpec) -> anyhow::Result<Grid> {
        let temp = tempfile::Builder::new()
            .prefix("docgrid-grid-")
            .tempdir()
            .context("creating a temporary directory for the grid")?;
        let mut grid = Grid::start_in(temp.path(), spec)?;
        grid.temp = Some(temp);
        Ok(grid)
    }

    /// Starts a grid in `dir` (created; it must be empty or absent, and is
    /// left in place afterwards) and waits until the gateway sees every
    /// storage node connected. The nodes live in `dir/introducer`,
    /// `dir/gateway` and `dir/s0`, `dir/s1`, …
    ///
    /// Ports are picked free and released before the nodes bind them, so
    /// another process may take one in between; a start that fails with
    /// "Address already in use" is tried again (three times in all) on
    /// fresh ports in an emptied `dir`.
    pub fn start_in(dir: &Path, spec: GridSpec) -> anyhow::Result<Grid> {
        let mut tries = 1;
        loop {
            match Grid::start_once(dir, spec.clone()) {
                Err(e) if tries < 3 && format!("{e:#}").contains("Address already in use") => {
                    tracing::warn!("a grid port was taken meanwhile; starting again: {e:#}");
                    tries += 1;
                    std::fs::remove_dir_all(dir)
                        .with_context(|| format!("emptying {}", dir.display()))?;
                }
                other => return other,
            }
        }
    }

    fn start_once(dir: &Path, spec: GridSpec) -> anyhow::Result<Grid> {
        spec.validate()?;
        prepare_empty_dir(dir)?;
        let dir = dir
            .canonicalize()
            .with_context(|| format!("resolving {}", dir.display()))?;
        let tahoe = tahoe_bin()?;
        let ports = free_ports(2 + 2 * spec.storage_nodes)?;
        let storage = (0..spec.storage_nodes)
            .map(|i| Node::new(format!("s{i}"), &dir, ports[2 + 2 * i], ports[3 + 2 * i]))
            .collect();
        let mut grid = Grid {
            introducer: Node::new("introducer".into(), &dir, ports[0], 0),
            gateway: Node::new("gateway".into(), &dir, 0, ports[1]),
            storage,
            spec,
            dir,
            tahoe,
            temp: None,
        };
        // On error, dropping `grid` stops whatever was started.
        let started = Instant::now();
        grid.boot()?;
        tracing::info!(elapsed = ?started.elapsed(), dir = %grid.dir.display(), "tahoe grid up");
        Ok(grid)
    }

    /// The gateway's web API, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn gateway_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.gateway.web_port)
    }

    /// The shape the grid was started with.
    pub fn spec(&self) -> &GridSpec {
        &self.spec
    }

    /// The directory holding every node's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The storage nodes' nicknames, `s0`, `s1`, … in index order.
    pub fn storage_node_names(&self) -> Vec<String> {
        self.storage.iter().map(|n| n.name.clone()).collect()
    }

    /// The nicknames of the storage nodes the gateway currently sees
    /// connected, sorted (from `GET /?t=json`: `servers[]` whose
    /// `connection_status` is `"connected"`).
    pub fn connected_storage(&self) -> anyhow::Result<Vec<String>> {
        connected_storage(self.gateway.web_port)
    }

    /// Waits until the gateway sees at least `n` storage nodes connected.
    /// The error after `timeout` names the nodes that are connected.
    pub fn wait_connected(&self, n: usize, timeout: Duration) -> anyhow::Result<()> {
        let mut last = Ok(Vec::new());
        let done = poll(timeout, || {
            last = self.connected_storage();
            Ok(matches!(&last, Ok(c) if c.len() >= n).then_some(()))
        })?;
        ensure!(
            done.is_some(),
            "after {timeout:?} the gateway {}; wanted {n} storage node(s)",
            describe(&last)
        );
        Ok(())
    }

    /// Stops storage node `i` (nothing to do if it is stopped) and waits until
    /// its process has exited and the gateway no longer lists it connected
    /// (about 1 s in practice: the gateway checks each node every second).
    /// Should the gateway still list it after 30 s, which was never seen,
    /// this logs a warning and returns `Ok` anyway: the node is down.
    pub fn stop_storage(&mut self, i: usize) -> anyhow::Result<()> {
        self.storage_index(i)?;
        self.storage[i].stop()?;
        let name = &self.storage[i].name;
        let gone = poll(GONE_TIMEOUT, || {
            Ok((!self.connected_storage()?.contains(name)).then_some(()))
        })?;
        if gone.is_none() {
            tracing::warn!(
                node = %name,
                "the gateway still lists the stopped node as connected after {GONE_TIMEOUT:?}"
            );
        }
        Ok(())
    }

    /// Starts storage node `i` again, with the same directory, ports and
    /// identity, and waits until the gateway sees it connected (about 1 s
    /// after the process is up, however long it was down). If it is already
    /// running, only waits for that.
    pub fn start_storage(&mut self, i: usize) -> anyhow::Result<()> {
        self.storage_index(i)?;
        if !self.storage[i].is_running() {
            self.storage[i].spawn(&self.tahoe)?;
        }
        let gateway_port = self.gateway.web_port;
        let node = &mut self.storage[i];
        let mut connected = Vec::new();
        let up = poll(RECONNECT_TIMEOUT, || {
            node.ensure_alive()?;
            connected = connected_storage(gateway_port)?;
            Ok(connected.contains(&node.name).then_some(()))
        })?;
        ensure!(
            up.is_some(),
            "{} is running but after {RECONNECT_TIMEOUT:?} the gateway still does not see it \
             connected (connected: {connected:?}); see {}",
            node.name,
            node.log_path().display()
        );
        Ok(())
    }

    /// Replaces storage node `i` with an empty one: stops it, deletes every
    /// share it stored (its `storage/` directory) and starts it again. It keeps
    /// its identity, so it reappears as the same server, holding nothing.
    pub fn replace_storage_with_empty(&mut self, i: usize) -> anyhow::Result<()> {
        self.stop_storage(i)?;
        let shares = self.storage[i].dir.join("storage");
        match fs::remove_dir_all(&shares) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("deleting {}", shares.display()));
            }
            _ => {}
        }
        self.start_storage(i)
    }

    /// Stops every node and waits for them to exit (the same as dropping the
    /// grid).
    pub fn stop(self) {}

    fn storage_index(&self, i: usize) -> anyhow::Result<()> {
        ensure!(
            i < self.storage.len(),
            "no storage node {i}: the grid has {} (s0..s{})",
            self.storage.len(),
            self.storage.len().saturating_sub(1)
        );
        Ok(())
    }

    /// Creates and runs every node; returns once all storage is connected.
    fn boot(&mut self) -> anyhow::Result<()> {
        let introducer = &mut self.introducer;
        let args = listen_args(introducer.tub_port);
        let create = create_command(&self.tahoe, "create-introducer", args, &introducer.dir);
        run_creates(vec![(introducer.name.clone(), create)])?;
        introducer.spawn(&self.tahoe)?;
        let furl = introducer.wait_furl(START_TIMEOUT)?;

        let mut creates = Vec::new();
        for node in &self.storage {
            let mut args = listen_args(node.tub_port);
            args.push(format!("--nickname={}", node.name));
            args.extend(self.client_args(node.web_port, &furl));
            let create = create_command(&self.tahoe, "create-node", args, &node.dir);
            creates.push((node.name.clone(), create));
        }
        let gw = &self.gateway;
        let mut args = vec!["--nickname=gw".to_owned()];
        args.extend(self.client_args(gw.web_port, &furl));
        let create = create_command(&self.tahoe, "create-client", args, &gw.dir);
        creates.push((gw.name.clone(), create));
        run_creates(creates)?;

        for node in self.storage.iter_mut().chain([&mut self.gateway]) {
            node.spawn(&self.tahoe)?;
        }
        self.wait_all_connected()
    }

    /// The web port, introducer and share parameters of a `create-node` or
    /// `create-client` command.
    fn client_args(&self, web_port: u16, furl: &str) -> Vec<String> {
        let GridSpec {
            needed,
            happy,
            total,
            ..
        } = self.spec;
        vec![
            format!("--webport=tcp:{web_port}:interface=127.0.0.1"),
            format!("--introducer={furl}"),
            format!("--shares-needed={needed}"),
            format!("--shares-happy={happy}"),
            format!("--shares-total={total}"),
        ]
    }

    /// Waits until the gateway sees every storage node connected, failing
    /// early (with its log) if any node exits.
    fn wait_all_connected(&mut self) -> anyhow::Result<()> {
        let want = self.storage_node_names();
        let gateway_port = self.gateway.web_port;
        let mut last = Ok(Vec::new());
        let up = poll(START_TIMEOUT, || {
            for node in self.all_nodes_mut() {
                node.ensure_alive()?;
            }
            last = connected_storage(gateway_port);
            Ok(matches!(&last, Ok(c) if want.iter().all(|n| c.contains(n))).then_some(()))
        })?;
        ensure!(
            up.is_some(),
            "the grid in {} did not come up within {START_TIMEOUT:?}: the gateway {}, wanted \
             {want:?} (node logs: */run.log there)",
            self.dir.display(),
            describe(&last)
        );
        Ok(())
    }

    fn all_nodes_mut(&mut self) -> impl Iterator<Item = &mut Node> {
        [&mut self.gateway, &mut self.introducer]
            .into_iter()
            .chain(self.storage.iter_mut())
    }
}

impl Drop for Grid {
    /// Closes every node's stdin at once, then waits for each to exit (killing
    /// any that takes longer than 10 s). Never panics; failures are logged.
    fn drop(&mut self) {
        let mut nodes: Vec<&mut Node> = self.all_nodes_mut().collect();
        for node in &mut nodes {
            node.close_stdin();
        }
        for node in nodes {
            if let Err(e) = node.stop() {
                tracing::warn!(node = %node.name, "stopping a tahoe node: {e:#}");
            }
        }
    }
}

/// One node: its directory, its ports and, while it runs, its `tahoe run`
/// process, whose stdin pipe we hold.
struct Node {
    name: String,
    dir: PathBuf,
    /// Foolscap/HTTP storage port (0 for the gateway, which has none).
    tub_port: u16,
    /// Web API port (0 for the introducer, which has none).
    web_port: u16,
    child: Option<Child>,
}

impl Node {
    fn new(name: String, grid_dir: &Path, tub_port: u16, web_port: u16) -> Node {
        let dir = grid_dir.join(&name);
        Node {
            name,
            dir,
            tub_port,
            web_port,
            child: None,
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("run.log")
    }

    /// Runs `tahoe run DIR` with stdin piped (so it exits when we close it or
    /// die) and its output appended to `DIR/run.log`.
    fn spawn(&mut self, tahoe: &Path) -> anyhow::Result<()> {
        let log_path = self.log_path();
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        writeln!(log, "--- docgrid: tahoe run {} ---", self.dir.display())?;
        let child = Command::new(tahoe)
            .arg("run")
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("running {} run {}", tahoe.display(), self.dir.display()))?;
        self.child = Some(child);
        Ok(())
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// Fails, with the end of the node's log, if its process has exited.
    fn ensure_alive(&mut self) -> anyhow::Result<()> {
        let Some(child) = self.child.as_mut() else {
            bail!("tahoe node {} is not running", self.name);
        };
        if let Some(status) = child.try_wait()? {
            self.child = None;
            bail!(
                "tahoe node {} exited ({status}); end of {}:\n{}",
                self.name,
                self.log_path().display(),
                log_tail(&self.log_path(), 25)
            );
        }
        Ok(())
    }

    /// Waits for the introducer's FURL, written once it listens.
    fn wait_furl(&mut self, timeout: Duration) -> anyhow::Result<String> {
        let path = self.dir.join("private").join("introducer.furl");
        let furl = poll(timeout, || {
            self.ensure_alive()?;
            let furl = fs::read_to_string(&path).unwrap_or_default();
            Ok(furl
                .trim()
                .starts_with("pb://")
                .then(|| furl.trim().to_owned()))
        })?;
        furl.with_context(|| {
            format!(
                "the introducer wrote no FURL to {} within {timeout:?}; see {}",
                path.display(),
                self.log_path().display()
            )
        })
    }

    /// Closes the node's stdin, which asks `tahoe run` to exit.
    fn close_stdin(&mut self) {
        if let Some(child) = self.child.as_mut() {
            drop(child.stdin.take());
        }
    }

    /// Closes stdin, waits up to [`STOP_GRACE`] for the exit, then kills.
    /// Nothing to do if the node is not running.
    fn stop(&mut self) -> anyhow::Result<()> {
        self.close_stdin();
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            sleep(Duration::from_millis(20));
        }
        tracing::warn!(node = %self.name, "still running {STOP_GRACE:?} after stdin closed; killing");
        // Fails only if it exited meanwhile, which `wait` then reports.
        let _ = child.kill();
        child
            .wait()
            .with_context(|| format!("waiting for tahoe node {}", self.name))?;
        Ok(())
    }
}

/// `tahoe CREATE ARGS… DIR` with stdin closed (options must precede the
/// directory: Twisted's parser stops at the first positional argument).
fn create_command(tahoe: &Path, create: &str, args: Vec<String>, dir: &Path) -> Command {
    let mut cmd = Command::new(tahoe);
    cmd.arg(create).args(args).arg(dir).stdin(Stdio::null());
    cmd
}

/// Runs the `tahoe create-*` commands concurrently (each is a slow Python
/// start) and fails naming every one that failed, with its output.
fn run_creates(creates: Vec<(String, Command)>) -> anyhow::Result<()> {
    let running: Vec<_> = creates
        .into_iter()
        .map(|(name, mut cmd)| {
            let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
            (name, cmd, child)
        })
        .collect();
    let mut failures = Vec::new();
    for (name, cmd, child) in running {
        let what = format!("{cmd:?}");
        match child.and_then(Child::wait_with_output) {
            Ok(out) if out.status.success() => {}
            Ok(out) => failures.push(format!(
                "{name}: {what} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )),
            Err(e) => failures.push(format!("{name}: could not run {what}: {e}")),
        }
    }
    ensure!(
        failures.is_empty(),
        "creating tahoe nodes failed:\n{}",
        failures.join("\n")
    );
    Ok(())
}

/// Calls `check` every [`POLL`] until it returns `Some` (returned), fails
/// (the error is returned) or `timeout` has passed (`Ok(None)`).
fn poll<T>(
    timeout: Duration,
    mut check: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<Option<T>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = check()? {
            return Ok(Some(found));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        sleep(POLL);
    }
}

/// The storage nicknames connected to the gateway on `port`; see
/// [`Grid::connected_storage`].
fn connected_storage(gateway_port: u16) -> anyhow::Result<Vec<String>> {
    let body = http_get(gateway_port, "/?t=json").with_context(|| {
        format!("asking the gateway http://127.0.0.1:{gateway_port} for its servers")
    })?;
    parse_connected(&body)
}

/// What the gateway last said, for an error message.
fn describe(last: &anyhow::Result<Vec<String>>) -> String {
    match last {
        Ok(c) => format!("sees {} storage node(s) connected: {c:?}", c.len()),
        Err(e) => format!("does not answer: {e:#}"),
    }
}

/// Listen on, and advertise, `127.0.0.1:port` only.
fn listen_args(port: u16) -> Vec<String> {
    vec![
        "--listen=tcp".to_owned(),
        format!("--port=tcp:{port}:interface=127.0.0.1"),
        format!("--location=tcp:127.0.0.1:{port}"),
    ]
}

/// Creates `dir` if absent; fails if it exists and is not an empty directory.
fn prepare_empty_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("creating the grid directory {}", dir.display()))?;
    let mut entries = fs::read_dir(dir)
        .with_context(|| format!("reading the grid directory {}", dir.display()))?;
    ensure!(
        entries.next().is_none(),
        "the grid directory {} is not empty: give an empty or absent directory",
        dir.display()
    );
    Ok(())
}

/// `n` distinct free loopback ports: all are bound at once, then released.
/// Another process could take one before the node binds it; the node would
/// then fail to start, with the reason in its log.
fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<io::Result<Vec<_>>>()
        .context("binding 127.0.0.1:0 to pick free ports")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect::<io::Result<_>>()
        .context("reading a bound port")
}

/// `GET path` on `127.0.0.1:port`; the body of a 200 response.
///
/// A few lines of HTTP/1.0 over `std::net` rather than `reqwest::blocking`,
/// which panics when used or dropped inside an async runtime: this keeps
/// [`Grid`] usable from `#[tokio::test]`s.
fn http_get(port: u16, path: &str) -> anyhow::Result<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let (status, body) = split_response(&response)?;
    ensure!(
        status == 200,
        "GET {path} answered {status}: {}",
        body.trim()
    );
    Ok(body)
}

/// The status code and body of a raw HTTP/1.x response without chunking.
fn split_response(response: &[u8]) -> anyhow::Result<(u16, String)> {
    let text = String::from_utf8_lossy(response);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("truncated HTTP response ({} bytes)", response.len());
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status in HTTP response {:?}", head.lines().next()))?;
    Ok((status, body.to_owned()))
}

/// Sorted nicknames of the connected servers in a `?t=json` welcome page
/// (read as the store reads it: [`crate::ServerStatus`]).
fn parse_connected(body: &str) -> anyhow::Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Welcome {
        servers: Vec<crate::ServerStatus>,
    }
    let welcome: Welcome =
        serde_json::from_str(body).context("reading the gateway's /?t=json page")?;
    let mut connected: Vec<String> = welcome
        .servers
        .iter()
        .filter(|s| s.connected())
        .map(crate::ServerStatus::name)
        .collect();
    connected.sort();
    Ok(connected)
}

/// The last `lines` lines of a log file, or why it could not be read.
fn log_tail(path: &Path, lines: usize) -> String {
    match fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_is_three_of_five_happy_four_and_valid() {
        let spec = GridSpec::default();
        assert_eq!(
            (spec.storage_nodes, spec.needed, spec.happy, spec.total),
            (5, 3, 4, 5)
        );
        spec.validate().unwrap();
    }

    #[test]
    fn spec_validation_rejects_impossible_parameters() {
        let spec = |storage_nodes, needed, happy, total| GridSpec {
            storage_nodes,
            needed,
            happy,
            total,
        };
        assert!(spec(3, 0, 2, 3).validate().is_err());
        assert!(spec(3, 3, 2, 3).validate().is_err());
        assert!(spec(3, 2, 4, 3).validate().is_err());
        assert!(spec(2, 2, 3, 3).validate().is_err());
        assert!(spec(300, 2, 3, 257).validate().is_err());
        spec(1, 1, 1, 1).validate().unwrap();
    }

    #[test]
    fn connected_servers_are_read_from_the_welcome_page() {
        let body = r#"{"introducers": {"statuses": []}, "servers": [
            {"nodeid": "v0-a", "connection_status": "connected", "nickname": "s1"},
            {"nodeid": "v0-b", "connection_status": "failure: refused", "nickname": "s0"},
            {"nodeid": "v0-c", "connection_status": "connected", "nickname": "s0"}]}"#;
        assert_eq!(parse_connected(body).unwrap(), ["s0", "s1"]);
        assert!(parse_connected("<html>").is_err());
    }

    #[test]
    fn http_responses_split_into_status_and_body() {
        let (status, body) = split_response(b"HTTP/1.0 200 OK\r\nA: b\r\n\r\n{}").unwrap();
        assert_eq!((status, body.as_str()), (200, "{}"));
        assert_eq!(
            split_response(b"HTTP/1.1 404 Not Found\r\n\r\n").unwrap().0,
            404
        );
        assert!(split_response(b"HTTP/1.0 200 OK\r\n").is_err());
    }

    #[test]
    fn free_ports_are_distinct() {
        let mut ports = free_ports(8).unwrap();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 8);
    }

    #[test]
    fn a_non_empty_grid_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        prepare_empty_dir(&dir.path().join("new")).unwrap();
        fs::write(dir.path().join("file"), b"x").unwrap();
        let err = prepare_empty_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("not empty"), "{err}");
    }
}
