//! Mounting the overlay: the lower directory is opened first (so the
//! mount may cover it), then the FUSE session and the upload worker
//! start; unmounting stops the worker after the file it is on.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use docgrid_client::tree::Tree;
use fuser::{BackgroundSession, Config, MountOption, SessionACL};

use crate::mount::{end, may_allow_other};

use super::finish::{Info, is_finished};
use super::fuse::OverlayFuse;
use super::journal::Journal;
use super::layers::Hidden;
use super::lower::Lower;
use super::migrate::Migrator;
use super::ofs::{Mode, Overlay, OverlayOptions};
use super::worker::{self, Queue};

/// What an overlay mount is made of.
#[derive(Debug, Clone)]
pub struct OverlayConfig {
    /// The directory migrated (may be the mount point itself).
    pub lower: PathBuf,
    /// Where the overlay is mounted.
    pub mountpoint: PathBuf,
    /// Where writes go.
    pub mode: Mode,
    /// The `/files/` folder the lower directory becomes (`archive`, for
    /// `/files/archive/`).
    pub prefix: String,
    /// Tags every migrated document gets.
    pub tags: Vec<String>,
    /// Background migration rate (bytes/s); `None`: only what is used.
    pub background: Option<u64>,
    /// The state directory (the journal).
    pub state: PathBuf,
    /// Threads answering the kernel.
    pub threads: usize,
    /// Write-back: the most bytes the spool holds (ENOSPC beyond).
    pub spool_limit: u64,
}

/// The spool's directory in the state directory (write-back).
pub const UPPER_DIR: &str = "upper";

/// After `finish`: the empty directory the overlay is mounted over.
pub const FINISHED_LOWER: &str = "finished-lower";

/// The spool's default bound: 4 GiB.
pub const DEFAULT_SPOOL_LIMIT: u64 = 4 << 30;

/// A mounted overlay; dropping it unmounts.
pub struct OverlayMount {
    session: Option<BackgroundSession>,
    fs: Arc<Overlay>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    mountpoint: PathBuf,
    /// The background migration's rate, if it runs.
    background: Option<u64>,
}

/// The overlay `cfg` describes, not mounted: the lower directory (after
/// `finish`, an empty one in the state directory, in write-back mode),
/// the journal (opened `shared` beside a running overlay, else as its
/// owner) and, in write-back mode, the spool.
pub fn overlay(tree: Tree, cfg: &OverlayConfig, shared: bool) -> io::Result<Overlay> {
    std::fs::create_dir_all(&cfg.state)?;
    let (lower_dir, mode) = if is_finished(&cfg.state) {
        let empty = cfg.state.join(FINISHED_LOWER);
        std::fs::create_dir_all(&empty)?;
        (empty, Mode::WriteBack)
    } else {
        (cfg.lower.clone(), cfg.mode)
    };
    let lower = Arc::new(Lower::open(&lower_dir)?);
    let journal = match shared {
        true => Journal::open_shared(&cfg.state),
        false => Journal::open(&cfg.state),
    };
    let journal = Arc::new(journal.map_err(io::Error::other)?);
    let mut migrator = Migrator::new(tree, journal, &lower.path(""), &cfg.prefix, &cfg.tags);
    let upper = match mode {
        Mode::WriteBack => {
            let dir = cfg.state.join(UPPER_DIR);
            std::fs::create_dir_all(&dir)?;
            let upper = Lower::open(&dir)?;
            let whiteouts = migrator.journal().whiteouts().map_err(io::Error::other)?;
            let hidden = Arc::new(Hidden::new(whiteouts, &upper.path("")));
            migrator = migrator.with_upper(&upper.path(""), hidden);
            Some(upper)
        }
        _ => None,
    };
    let opts = OverlayOptions {
        mode,
        ttl: Duration::from_secs(1),
        spool_limit: cfg.spool_limit,
    };
    Overlay::new(
        lower,
        upper,
        Arc::new(migrator),
        Arc::new(Queue::new()),
        opts,
    )
    .map_err(io::Error::other)
}

/// Opens the overlay ([`overlay`]), mounts it, records where it is
/// ([`Info`]) and starts the upload worker.
pub fn mount(tree: Tree, cfg: &OverlayConfig) -> io::Result<OverlayMount> {
    let fs = Arc::new(overlay(tree, cfg, false)?);
    let (dev, ino) = fs.lower_id();
    Info {
        lower: std::path::absolute(&cfg.lower)?,
        mountpoint: std::path::absolute(&cfg.mountpoint)?,
        pid: std::process::id(),
        fd: fs.lower_fd(),
        prefix: cfg.prefix.clone(),
        dev,
        ino,
    }
    .write(&cfg.state)?;
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("docgrid-overlay".into()),
        MountOption::Subtype("docgrid".into()),
        MountOption::DefaultPermissions,
    ];
    if may_allow_other() {
        // The application using the directory may be another user: the
        // lower files' own modes decide (default_permissions).
        config.mount_options.push(MountOption::AutoUnmount);
        config.acl = SessionACL::All;
    }
    config.n_threads = Some(cfg.threads.max(1));
    let session = fuser::spawn_mount(OverlayFuse::new(fs.clone()), &cfg.mountpoint, &config)?;
    let stop = Arc::new(AtomicBool::new(false));
    let workers = worker::spawn(fs.clone(), cfg.background, stop.clone());
    Ok(OverlayMount {
        session: Some(session),
        fs,
        stop,
        workers,
        mountpoint: cfg.mountpoint.clone(),
        background: cfg.background,
    })
}

impl OverlayMount {
    /// The filesystem.
    pub fn fs(&self) -> &Arc<Overlay> {
        &self.fs
    }

    /// Where it is mounted.
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Whether the workers are at rest: the first scan of the lower
    /// directory is done (with background migration), nothing waits in
    /// the upload queue and no migration, rename or delete is under way.
    /// With the journal's states, what says "everything is migrated".
    pub fn settled(&self) -> bool {
        let scanned = self.background.is_none() || self.fs.migrator.scans() > 0;
        scanned && self.fs.queued() == 0 && self.fs.migrator.is_idle()
    }

    /// Whether the kernel ended the session (`umount`, `fusermount3 -u`).
    pub fn is_finished(&self) -> bool {
        self.session.as_ref().is_none_or(|s| s.guard.is_finished())
    }

    /// Stops the worker (after the file it is on) and unmounts.
    pub fn unmount(mut self) -> io::Result<()> {
        self.stop_worker();
        end(&self.mountpoint, self.session.take())
    }

    fn stop_worker(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for OverlayMount {
    fn drop(&mut self) {
        self.stop_worker();
        let _ = end(&self.mountpoint, self.session.take());
    }
}
