//! `docgrid-tahoe-grid`: runs a local Tahoe-LAFS grid (an introducer, storage
//! nodes and a storage-less gateway on loopback) until stopped, to try
//! docgrid's Tahoe backend by hand.
//!
//! The nodes exit whenever this process does, however it ends: their stdin
//! is a pipe it holds. The default temporary directory is removed by a small
//! helper process (this binary with the hidden `--reap-dir`), in its own
//! process group so Ctrl-C does not reach it, which waits for this process to
//! end and for the nodes to exit, then deletes the directory.

use std::io::{self, BufRead, IsTerminal};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use docgrid_backend_tahoe::grid::{self, Grid, GridSpec};

/// Runs a local Tahoe-LAFS grid until stopped.
#[derive(Parser, Debug)]
#[command(
    name = "docgrid-tahoe-grid",
    version,
    long_about = "Runs a local Tahoe-LAFS grid on 127.0.0.1: an introducer, --nodes storage \
                  nodes and a storage-less gateway, then prints the gateway URL and waits. \
                  Installs tahoe-lafs into ~/.cache/docgrid-venv first if it is missing.\n\n\
                  Stop it with Enter or Ctrl-C (or SIGTERM); every node exits with it.",
    after_help = "Example:\n  \
                  scripts/tahoe-grid --nodes 5 --needed 3 --happy 4 --total 5\n  \
                  docgrid-server init --data ./data --backend tahoe --gateway http://127.0.0.1:PORT"
)]
struct Args {
    /// Directory for the nodes (created; must be empty or absent), kept at
    /// exit for its logs. Default: a temporary directory, removed at exit.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Number of storage nodes (nicknamed s0, s1, …).
    #[arg(long, value_name = "N", default_value_t = 5)]
    nodes: usize,
    /// Shares needed to read a file back (k).
    #[arg(long, value_name = "K", default_value_t = 3)]
    needed: usize,
    /// Distinct storage nodes an upload must reach.
    #[arg(long, value_name = "H", default_value_t = 4)]
    happy: usize,
    /// Shares written per file (n).
    #[arg(long, value_name = "N", default_value_t = 5)]
    total: usize,
    /// Print one JSON object (gateway, dir, parameters) instead of text.
    #[arg(long)]
    json: bool,
    /// Internal: wait for stdin to close and the nodes under DIR to exit,
    /// then delete DIR.
    #[arg(long, value_name = "DIR", hide = true)]
    reap_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match &args.reap_dir {
        Some(dir) => reap(dir),
        None => run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docgrid-tahoe-grid: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let spec = GridSpec {
        storage_nodes: args.nodes,
        needed: args.needed,
        happy: args.happy,
        total: args.total,
    };
    spec.validate()?;
    // Without --dir: a temporary directory whose reaper lives until we exit.
    let (dir, reaper) = match &args.dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("docgrid-tahoe-grid-")
                .tempdir()
                .context("creating a temporary directory")?
                .keep();
            let reaper = spawn_reaper(&dir)?;
            (dir, Some(reaper))
        }
    };
    let started = Instant::now();
    let grid = Grid::start_in(&dir, spec)?;
    print_ready(args, &grid, started.elapsed(), reaper.is_some())?;
    wait_for_stop();
    drop(grid);
    if let Some(mut reaper) = reaper {
        drop(reaper.stdin.take());
        reaper.wait().context("waiting for the directory cleanup")?;
    }
    Ok(())
}

fn print_ready(args: &Args, grid: &Grid, took: Duration, temporary: bool) -> anyhow::Result<()> {
    let spec = grid.spec();
    let url = grid.gateway_url();
    if args.json {
        let summary = serde_json::json!({
            "gateway": url,
            "dir": grid.dir(),
            "storage_nodes": grid.storage_node_names(),
            "needed": spec.needed,
            "happy": spec.happy,
            "total": spec.total,
        });
        println!("{summary}");
        return Ok(());
    }
    let names = grid.storage_node_names();
    println!(
        "Tahoe-LAFS grid up in {:.1} s: {} storage node(s) ({}), {}-of-{}, happy {}",
        took.as_secs_f64(),
        names.len(),
        names.join(" "),
        spec.needed,
        spec.total,
        spec.happy
    );
    println!("  gateway    {url}");
    let fate = if temporary { "removed at exit" } else { "kept" };
    println!(
        "  directory  {} ({fate}; node logs in */run.log)",
        grid.dir().display()
    );
    println!("Use it with:");
    println!("  docgrid-server init --data ./data --backend tahoe --gateway {url}");
    Ok(())
}

/// Returns when the user presses Enter (or Ctrl-D) on a terminal. Without a
/// terminal (stdin a file, a pipe or /dev/null, as in `… &` in a script),
/// blocks until the process is killed: Ctrl-C, SIGTERM.
fn wait_for_stop() {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        println!("Press Enter or Ctrl-C to stop the grid.");
        let _ = stdin.lock().read_line(&mut String::new());
    } else {
        println!("Stop the grid with Ctrl-C or SIGTERM.");
        loop {
            std::thread::park();
        }
    }
}

/// Starts this binary as `--reap-dir DIR`, with its stdin a pipe we hold and
/// in its own process group, so that it outlives us by any death.
fn spawn_reaper(dir: &Path) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("finding this executable")?;
    Command::new(exe)
        .arg("--reap-dir")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .process_group(0)
        .spawn()
        .context("starting the helper that removes the temporary directory at exit")
}

/// The reaper: waits until its parent is gone (its stdin closes), then until
/// no `tahoe` process runs under `dir` (they exit about 0.2 s after their own
/// stdin closes; 20 s at most), then deletes `dir`.
fn reap(dir: &Path) -> anyhow::Result<()> {
    let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !grid::tahoe_processes_under(dir).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}
