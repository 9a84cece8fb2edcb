//! `docgrid-fuse overlay`: mounting an overlay over a live directory, and
//! its `status`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use docgrid_client::config::{client_for, parse_size};
use docgrid_client::tree::Tree;
use docgrid_fuse::mount::is_mounted;
use docgrid_fuse::overlay::journal::Journal;
use docgrid_fuse::overlay::mount::{self, OverlayConfig};
use docgrid_fuse::overlay::ofs::Mode;
use docgrid_fuse::overlay::{finish, status};

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
        #[command(flatten)]
        at: StateAt,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Read every migrated file back from the store and compare it with
    /// its local copy (exit status 1 when one differs).
    Verify {
        #[command(flatten)]
        at: StateAt,
        /// As JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        conn: Conn,
    },
    /// Say whether the lower directory is still needed; when everything
    /// is migrated and verified, make the state directory stand for it
    /// (from the next mount on, the overlay serves everything without it).
    Finish {
        #[command(flatten)]
        at: StateAt,
        #[command(flatten)]
        conn: Conn,
    },
}

/// Which overlay: its state directory, or its lower directory.
#[derive(Debug, clap::Args)]
struct StateAt {
    /// The overlay's state directory.
    #[arg(long, value_name = "DIR", required_unless_present = "lower")]
    state: Option<PathBuf>,
    /// Or the lower directory, for the default state directory.
    #[arg(long, value_name = "DIR")]
    lower: Option<PathBuf>,
}

impl StateAt {
    fn dir(&self) -> Result<PathBuf> {
        match (&self.state, &self.lower) {
            (Some(s), _) => Ok(s.clone()),
            (None, Some(l)) => default_state(l),
            (None, None) => bail!("pass --state DIR or --lower DIR"),
        }
    }
}

/// Runs `docgrid-fuse overlay …`.
pub fn run(args: OverlayArgs) -> Result<()> {
    match &args.cmd {
        Some(OverlayCmd::Status { at, json }) => return status(&at.dir()?, *json),
        Some(OverlayCmd::Verify { at, json, conn }) => return verify(&at.dir()?, *json, conn),
        Some(OverlayCmd::Finish { at, conn }) => return finish(&at.dir()?, conn),
        None => {}
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
    let state = match &args.state {
        Some(s) => s.clone(),
        None => default_state(&lower)?,
    };
    // After `finish`, the lower directory may be gone.
    if !lower.is_dir() && !finish::is_finished(&state) {
        bail!("{} is not a directory", lower.display());
    }
    if !mp.is_dir() {
        bail!("{} is not a directory", mp.display());
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
        state,
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

/// `overlay status`.
fn status(state: &Path, json: bool) -> Result<()> {
    let r = status::report(state).with_context(|| format!("reading {}", state.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", r.text());
    }
    Ok(())
}

/// What the mount recorded in `state`.
fn info(state: &Path) -> Result<finish::Info> {
    finish::Info::read(state)
        .with_context(|| format!("{}: no overlay has been mounted with it", state.display()))
}

/// `overlay verify`.
fn verify(state: &Path, json: bool, conn: &Conn) -> Result<()> {
    let info = info(state)?;
    let journal = Journal::open_shared(state)?;
    let tree = tree_of(conn)?;
    let upper = state.join(mount::UPPER_DIR);
    let upper = upper.is_dir().then_some(upper);
    let lower = info.lower_root();
    let v = finish::verify(&tree, &journal, &lower, upper.as_deref());
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("verified {} files ({} bytes)", v.files, v.bytes);
        for p in &v.different {
            println!("different: {p} (marked dirty: it migrates again)");
        }
        for (p, why) in &v.unreadable {
            println!("unreadable: {p}: {why}");
        }
    }
    if !v.different.is_empty() || !v.unreadable.is_empty() {
        bail!(
            "{} files differ from the store, {} could not be read",
            v.different.len(),
            v.unreadable.len()
        );
    }
    Ok(())
}

/// `overlay finish`.
fn finish(state: &Path, conn: &Conn) -> Result<()> {
    let info = info(state)?;
    if finish::is_finished(state) {
        println!(
            "finished already: {} is no longer needed",
            info.lower.display()
        );
        return Ok(());
    }
    let journal = Journal::open_shared(state)?;
    if let Err(n) = finish::ready(&journal) {
        bail!(
            "{} is still needed: {} files not migrated yet, {} migrated but not verified since \
             (run `docgrid-fuse overlay verify`){}",
            info.lower.display(),
            n.remaining,
            n.unverified,
            if n.examples.is_empty() {
                String::new()
            } else {
                format!("; for example {}", n.examples.join(", "))
            }
        );
    }
    drop(journal);
    let cfg = OverlayConfig {
        lower: info.lower_root(),
        mountpoint: info.mountpoint.clone(),
        mode: Mode::WriteBack,
        prefix: info.prefix.clone(),
        tags: Vec::new(),
        background: None,
        state: state.to_path_buf(),
        threads: 1,
        spool_limit: u64::MAX,
    };
    let fs = mount::overlay(tree_of(conn)?, &cfg, true)?;
    let n = fs
        .materialize("")
        .map_err(|e| anyhow::anyhow!("putting the tree in {}: {e}", state.display()))?;
    std::fs::write(state.join(finish::FINISHED_FILE), format!("{n} entries\n"))?;
    println!(
        "{} is no longer needed: every file is in the store and verified, and {} stands for \
         the rest of the tree; mount the overlay again to serve everything without it",
        info.lower.display(),
        state.display()
    );
    Ok(())
}

fn tree_of(conn: &Conn) -> Result<Tree> {
    let (client_cfg, cache_dir) = conn.resolve()?;
    Ok(Tree::new(client_for(&client_cfg, Some(&cache_dir))?))
}
