//! `docgrid-fuse`: mounts docgrid's metadata tree as a filesystem.
//!
//! ```text
//! docgrid-fuse MOUNTPOINT [--server URL …] [--token T] [--cache DIR
//!              --cache-size SIZE] [--read-only] [--foreground]
//! docgrid-fuse --unmount MOUNTPOINT
//! docgrid-fuse overlay --lower DIR MOUNTPOINT --mode read-through|write-through|write-back
//!              [--prefix /files/NAME] [--tag T …] [--background RATE] [--state DIR]
//!              [--spool-size SIZE]
//! docgrid-fuse overlay status [--state DIR | --lower DIR] [--json]
//! ```
//!
//! Settings as every docgrid binary reads them: flags, then `DOCGRID_*`,
//! then the config file. Without `--foreground` the mount runs in a
//! background process (logging to `CACHE/docgrid-fuse.log`, the cache
//! directory being `~/.cache/docgrid` unless configured) and the command
//! returns once the mount is up. SIGINT and SIGTERM unmount cleanly.

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use docgrid_client::config::{Overrides, client_for, parse_size, resolve};
use docgrid_client::tree::Tree;
use docgrid_core::config::ClientConfig;
use docgrid_fuse::fs::{Fs, FsOptions, NameRules, names};
use docgrid_fuse::mount::{self, MountConfig};

mod cli_overlay;

/// Mount docgrid's metadata tree: every folder a query.
#[derive(Debug, Parser)]
#[command(
    name = "docgrid-fuse",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    mount: Args,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// Mount over a live directory and migrate its files into the store
    /// as they are used and in the background.
    Overlay(cli_overlay::OverlayArgs),
}

/// How to reach the server, as every docgrid binary takes it.
#[derive(Debug, Clone, clap::Args)]
pub struct Conn {
    /// Server URL (repeatable: the first that answers serves).
    #[arg(long = "server", value_name = "URL")]
    servers: Vec<String>,
    /// Bearer token.
    #[arg(long)]
    token: Option<String>,
    /// Chunk cache directory (drafts are spooled under it too).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Chunk cache bound (`512M`, `2G`).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    cache_size: Option<u64>,
}

impl Conn {
    /// The resolved client settings and the cache directory.
    fn resolve(&self) -> Result<(ClientConfig, PathBuf)> {
        let over = Overrides {
            servers: self.servers.clone(),
            token: self.token.clone(),
            cache: self.cache.clone(),
            cache_size: self.cache_size,
        };
        let cfg = resolve(&over)?;
        let cache_dir = cfg
            .cache
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("docgrid-cache"));
        Ok((cfg, cache_dir))
    }
}

#[derive(Debug, clap::Args)]
struct Args {
    /// Where to mount (an empty directory).
    #[arg(required_unless_present = "unmount")]
    mountpoint: Option<PathBuf>,
    /// Unmount MOUNTPOINT (left by a daemon that was killed) and exit.
    #[arg(long, value_name = "MOUNTPOINT", conflicts_with = "mountpoint")]
    unmount: Option<PathBuf>,
    #[command(flatten)]
    conn: Conn,
    /// Refuse every write.
    #[arg(long)]
    read_only: bool,
    /// Stay in the foreground, logging to stderr.
    #[arg(long, short = 'f')]
    foreground: bool,
    /// Scratch-name globs kept in the mount only (replaces the defaults).
    #[arg(long = "scratch", value_name = "GLOB")]
    scratch: Vec<String>,
    /// Names answered ENOENT (replaces the defaults).
    #[arg(long = "shun", value_name = "GLOB")]
    shun: Vec<String>,
    /// Threads answering the kernel's requests.
    #[arg(long, value_name = "N", default_value_t = MountConfig::new("/").threads)]
    threads: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Some(Cmd::Overlay(o)) => cli_overlay::run(o),
        None => run(cli.mount),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docgrid-fuse: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    if let Some(mp) = &args.unmount {
        let done =
            mount::force_unmount(mp).with_context(|| format!("unmounting {}", mp.display()))?;
        if done {
            eprintln!("docgrid-fuse: unmounted {}", mp.display());
        } else {
            eprintln!(
                "docgrid-fuse: nothing is mounted at {} (already unmounted)",
                mp.display()
            );
        }
        return Ok(());
    }
    let mp = args.mountpoint.clone().expect("required by clap");
    if !mp.is_dir() {
        bail!("{} is not a directory (create it first)", mp.display());
    }
    let (cfg, cache_dir) = args.conn.resolve()?;
    if !args.foreground {
        return daemonize(&mp, &cache_dir.join("docgrid-fuse.log"));
    }
    logging();
    serve(&args, &cfg, &cache_dir, &mp)
}

/// Runs the mount in a background copy of this process, logging to `log`,
/// and waits until it is up (or has failed, which it then reports).
pub(crate) fn daemonize(mp: &Path, log: &Path) -> Result<()> {
    use std::os::unix::process::CommandExt;
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(std::env::args_os().skip(1))
        .arg("--foreground")
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0)
        .spawn()
        .context("starting the mount process")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let last: Vec<&str> = text.lines().rev().take(5).collect();
            let last: Vec<&str> = last.into_iter().rev().collect();
            bail!("the mount process exited ({status}):\n{}", last.join("\n"));
        }
        if mount::is_mounted(mp) {
            eprintln!(
                "docgrid-fuse: mounted at {} (log: {})",
                mp.display(),
                log.display()
            );
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!(
        "the mount at {} did not come up within 30 s (log: {})",
        mp.display(),
        log.display()
    )
}

pub(crate) fn logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Mounts and serves until SIGINT or SIGTERM.
fn serve(args: &Args, cfg: &ClientConfig, cache_dir: &Path, mp: &Path) -> Result<()> {
    let tree = Tree::new(client_for(cfg, Some(cache_dir))?);
    tree.follow_changes();
    let mut opts = FsOptions::new(cache_dir.join("fuse-spool"));
    opts.read_only = args.read_only;
    opts.names = name_rules(args);
    report_kept_drafts(&opts.spool);
    let fs = Arc::new(Fs::new(tree, opts));
    let mount_cfg = MountConfig {
        threads: args.threads.max(1),
        ..MountConfig::new(mp)
    };
    let mounted =
        mount::mount(fs, &mount_cfg).with_context(|| format!("mounting at {}", mp.display()))?;
    tracing::info!("mounted {} on {}", cfg.servers.join(", "), mp.display());
    wait_for_end(&mounted)?;
    mounted.unmount().context("unmounting")?;
    Ok(())
}

fn name_rules(args: &Args) -> NameRules {
    let or_default = |given: &[String], default: &[&str]| {
        if given.is_empty() {
            default.iter().map(|s| s.to_string()).collect()
        } else {
            given.to_vec()
        }
    };
    NameRules::new(
        or_default(&args.scratch, names::DEFAULT_SCRATCH),
        or_default(&args.shun, names::DEFAULT_SHUN),
    )
}

/// Spool files left by an earlier mount hold content that was never
/// stored: say where they are.
fn report_kept_drafts(spool: &Path) {
    let kept = std::fs::read_dir(spool).map_or(0, |d| d.count());
    if kept > 0 {
        tracing::warn!(
            "{kept} file(s) in {} hold content an earlier mount could not store; copy them back in",
            spool.display()
        );
    }
}

/// Waits for SIGINT or SIGTERM, or for the mount to go away under us
/// (`umount`, `fusermount3 -u`).
fn wait_for_end(mounted: &mount::Mounted) -> Result<()> {
    wait_for_signal(mounted.mountpoint(), || mounted.is_finished())
}

/// Waits for SIGINT or SIGTERM, or until `finished` says the mount at
/// `mp` went away.
pub(crate) fn wait_for_signal(mp: &Path, finished: impl Fn() -> bool) -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    loop {
        if let Some(sig) = signals.pending().next() {
            tracing::info!("signal {sig}: unmounting {}", mp.display());
            return Ok(());
        }
        if finished() {
            tracing::info!("{} was unmounted", mp.display());
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
