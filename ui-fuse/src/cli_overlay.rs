//! `docgrid-fuse overlay`: mounting an overlay over a live directory, and
//! its `status`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use docgrid_client::config::{client_for, parse_size};
use docgrid_client::tree::Tree;
use docgrid_fuse::mount::is_mounted;
use docgrid_fuse::overlay::mount::{self, OverlayConfig};
use docgrid_fuse::overlay::ofs::Mode;
use docgrid_fuse::overlay::status;

use crate::Conn;

/// `docgrid-fuse overlay`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct OverlayArgs {
    #[command(subcommand)]
    cmd: Option<OverlayCmd>,
    /// The directory to migrate (MOUNTPOINT itself works: it is opened
    /// before the mount covers it).
    #[arg(long, value_name = "DIR", required = true)]
    lower: Option<PathBuf>,
    /// Where to mount the overlay.
    #[arg(required = true)]
    mountpoint: Option<PathBuf>,
    /// Where writes go: read-through (to the lower directory; migrated
    /// files read from the store), write-through (to both; close and
    /// fsync wait for the store) or write-back (to the store only, through
    /// a spool in the state directory; the lower directory is never
    /// modified).
    #[arg(long, value_enum, required = true)]
    mode: Option<ModeArg>,
    /// The /files/ folder the lower directory becomes (default: /files/
    /// and the lower directory's name).
    #[arg(long, value_name = "/files/NAME")]
    prefix: Option<String>,
    /// A tag every migrated document gets (repeatable).
    #[arg(long = "tag", value_name = "T")]
    tags: Vec<String>,
    /// Migrate the rest in the background at this rate (bytes/s: `20M`).
    #[arg(long, value_name = "RATE", value_parser = parse_size)]
    background: Option<u64>,
    /// Write-back: the most the spool holds before writes fail with
    /// ENOSPC (until uploads drain it).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "4G")]
    spool_size: u64,
    /// The state directory (journal, spool, log); default: one per lower
    /// directory under docgrid's state directory.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Stay in the foreground, logging to stderr.
    #[arg(long, short = 'f')]
    foreground: bool,
    /// Threads answering the kernel's requests.
    #[arg(long, value_name = "N", default_value_t = 4)]
    threads: usize,
    #[command(flatten)]
    conn: Conn,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    ReadThrough,
    WriteThrough,
    WriteBack,
}

#[derive(Debug, clap::Subcommand)]
enum OverlayCmd {
    /// Files and bytes migrated, remaining, dirty and failed (with
    /// reasons), the rate and the time left.
    Status {
        /// The overlay's state directory.
        #[arg(long, value_name = "DIR", required_unless_present = "lower")]
        state: Option<PathBuf>,
        /// Or the lower directory, for the default state directory.
        #[arg(long, value_name = "DIR")]
        lower: Option<PathBuf>,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `docgrid-fuse overlay …`.
pub fn run(args: OverlayArgs) -> Result<()> {
    if let Some(OverlayCmd::Status { state, lower, json }) = &args.cmd {
        let dir = match (state, lower) {
            (Some(s), _) => s.clone(),
            (None, Some(l)) => default_state(l)?,
            (None, None) => unreachable!("required by clap"),
        };
        let r = status::report(&dir).with_context(|| format!("reading {}", dir.display()))?;
        if *json {
            println!("{}", serde_json::to_string_pretty(&r)?);
        } else {
            print!("{}", r.text());
        }
        return Ok(());
    }
    let cfg = overlay_config(&args)?;
    if !args.foreground {
        return crate::daemonize(&cfg.mountpoint, &cfg.state.join("overlay.log"));
    }
    crate::logging();
    serve(&args.conn, &cfg)
}

fn overlay_config(args: &OverlayArgs) -> Result<OverlayConfig> {
    let (lower, mp) = (
        args.lower.clone().expect("required by clap"),
        args.mountpoint.clone().expect("required by clap"),
    );
    for d in [&lower, &mp] {
        if !d.is_dir() {
            bail!("{} is not a directory", d.display());
        }
    }
    if is_mounted(&mp) {
        bail!(
            "something is mounted at {} already (docgrid-fuse --unmount {0} if it is a dead overlay)",
            mp.display()
        );
    }
    let name = std::path::absolute(&lower)?
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("overlay")
        .to_string();
    let prefix = args.prefix.clone().unwrap_or(name);
    let prefix = prefix.trim_start_matches("/files/").trim_matches('/');
    if prefix.is_empty() || prefix.starts_with('/') {
        bail!("--prefix must be a folder under /files/ (/files/NAME)");
    }
    Ok(OverlayConfig {
        state: match &args.state {
            Some(s) => s.clone(),
            None => default_state(&lower)?,
        },
        lower,
        mountpoint: mp,
        mode: match args.mode.expect("required by clap") {
            ModeArg::ReadThrough => Mode::ReadThrough,
            ModeArg::WriteThrough => Mode::WriteThrough,
            ModeArg::WriteBack => Mode::WriteBack,
        },
        prefix: prefix.to_string(),
        tags: args.tags.clone(),
        background: args.background,
        threads: args.threads,
        spool_limit: args.spool_size,
    })
}

/// `$XDG_STATE_HOME/docgrid/overlay/` and the lower directory's absolute
/// path with `/` as `%` (`%srv%archive`).
fn default_state(lower: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(lower)?;
    let base = directories::ProjectDirs::from("", "", "docgrid")
        .and_then(|d| d.state_dir().map(Path::to_path_buf))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/docgrid")))
        .context("no state directory (set XDG_STATE_HOME or pass --state DIR)")?;
    Ok(base
        .join("overlay")
        .join(abs.to_string_lossy().replace('/', "%")))
}

/// Mounts and serves until SIGINT or SIGTERM.
fn serve(conn: &Conn, cfg: &OverlayConfig) -> Result<()> {
    let (client_cfg, cache_dir) = conn.resolve()?;
    let tree = Tree::new(client_for(&client_cfg, Some(&cache_dir))?);
    tree.follow_changes();
    let mounted = mount::mount(tree, cfg)
        .with_context(|| format!("mounting the overlay at {}", cfg.mountpoint.display()))?;
    tracing::info!(
        "overlay of {} on {} ({}, /files/{}/, state {})",
        cfg.lower.display(),
        cfg.mountpoint.display(),
        cfg.mode.as_str(),
        cfg.prefix,
        cfg.state.display()
    );
    crate::wait_for_signal(mounted.mountpoint(), || mounted.is_finished())?;
    mounted.unmount().context("unmounting")?;
    Ok(())
}
