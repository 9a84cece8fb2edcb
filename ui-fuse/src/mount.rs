//! Mounting: the FUSE session, the thread that turns the change feed into
//! kernel cache invalidations, the thread that applies held removals, and
//! a clean unmount (held removals applied, drafts committed where they
//! can be).

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::thread::JoinHandle;
use std::time::Duration;

use fuser::{BackgroundSession, Config, INodeNo, MountOption, Notifier, SessionACL};

use crate::fs::Fs;
use crate::fuse::FuseFs;

/// How often held removals are checked.
const SWEEP_EVERY: Duration = Duration::from_millis(100);

/// Sweeps between retries of files whose commit failed (2 s).
const RETRY_EVERY: u64 = 20;

/// How the mount is made.
#[derive(Debug, Clone)]
pub struct MountConfig {
    /// Where.
    pub mountpoint: PathBuf,
    /// Ask the kernel to unmount when the daemon dies (needs
    /// `fusermount3`; the mount is then `allow_other`, restricted to root
    /// and the owner by the session).
    pub auto_unmount: bool,
    /// Threads serving requests.
    pub threads: usize,
}

impl MountConfig {
    /// Defaults for `mountpoint`: four threads, auto-unmount where FUSE
    /// allows it (as root, or with `user_allow_other` in /etc/fuse.conf).
    pub fn new(mountpoint: impl Into<PathBuf>) -> MountConfig {
        MountConfig {
            mountpoint: mountpoint.into(),
            auto_unmount: may_allow_other(),
            threads: 4,
        }
    }
}

/// A mounted filesystem; dropping it without [`Mounted::unmount`] unmounts
/// too (without waiting for held removals).
pub struct Mounted {
    session: Option<BackgroundSession>,
    fs: Arc<Fs>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    mountpoint: PathBuf,
}

/// Mounts `fs` at `cfg.mountpoint` and starts its helper threads.
pub fn mount(fs: Arc<Fs>, cfg: &MountConfig) -> io::Result<Mounted> {
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("docgrid".into()),
        MountOption::Subtype("docgrid".into()),
        MountOption::DefaultPermissions,
    ];
    if fs.options().read_only {
        config.mount_options.push(MountOption::RO);
    }
    if cfg.auto_unmount {
        config.mount_options.push(MountOption::AutoUnmount);
        config.acl = SessionACL::RootAndOwner;
    }
    config.n_threads = Some(cfg.threads.max(1));
    let session = fuser::spawn_mount(FuseFs::new(fs.clone()), &cfg.mountpoint, &config)?;
    let stop = Arc::new(AtomicBool::new(false));
    let threads = vec![
        spawn("docgrid-fuse-notify", {
            let (fs, stop, notifier) = (fs.clone(), stop.clone(), session.notifier());
            move || notify_loop(&fs, &notifier, &stop)
        }),
        spawn("docgrid-fuse-sweep", {
            let (fs, stop) = (fs.clone(), stop.clone());
            move || sweep_loop(&fs, &stop)
        }),
    ];
    Ok(Mounted {
        session: Some(session),
        fs,
        stop,
        threads,
        mountpoint: cfg.mountpoint.clone(),
    })
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .expect("spawning a thread")
}

/// Tells the kernel to forget what other clients' commits made stale.
fn notify_loop(fs: &Fs, notifier: &Notifier, stop: &AtomicBool) {
    let changes = fs.tree().subscribe();
    while !stop.load(Ordering::Relaxed) {
        let changed = match changes.recv_timeout(Duration::from_millis(200)) {
            Ok(c) => c,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let inval = fs.invalidations(&changed);
        for ino in inval.inodes {
            // ENOENT: the kernel had already dropped it.
            let _ = notifier.inval_inode(INodeNo(ino), 0, 0);
        }
        for (dir, name) in inval.entries {
            let _ = notifier.inval_entry(INodeNo(dir), name.as_ref());
        }
    }
}

/// Applies held removals as they come due, and retries failed stores.
fn sweep_loop(fs: &Fs, stop: &AtomicBool) {
    let mut ticks = 0u64;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(SWEEP_EVERY);
        // Failures are logged and retried by the sweep itself.
        let _ = fs.sweep();
        ticks += 1;
        if ticks.is_multiple_of(RETRY_EVERY) {
            fs.retry_unstored();
        }
    }
}

impl Mounted {
    /// The filesystem.
    pub fn fs(&self) -> &Arc<Fs> {
        &self.fs
    }

    /// Where it is mounted.
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Whether the kernel ended the session (someone ran `umount` or
    /// `fusermount3 -u` on the mount point).
    pub fn is_finished(&self) -> bool {
        self.session.as_ref().is_none_or(|s| s.guard.is_finished())
    }

    /// Applies held removals, stops the helper threads and unmounts (if
    /// the mount is still there).
    pub fn unmount(mut self) -> io::Result<()> {
        if let Err(e) = self.fs.settle() {
            tracing::error!("before unmounting: {e}");
        }
        self.stop_threads();
        end(&self.mountpoint, self.session.take())
    }

    fn stop_threads(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.stop_threads();
        let _ = end(&self.mountpoint, self.session.take());
    }
}

/// Ends `session` (if there is one): joined when the kernel ended it
/// already, else unmounted ([`end_session`]) and joined.
pub(crate) fn end(mountpoint: &Path, session: Option<BackgroundSession>) -> io::Result<()> {
    match session {
        Some(s) if s.guard.is_finished() => s.join(),
        Some(s) => {
            end_session(mountpoint, &s);
            s.umount_and_join()
        }
        None => Ok(()),
    }
}

/// Unmounts a live session ourselves. With auto-unmount, fuser's own
/// unmount only closes the socket `fusermount3` watches, and Debian's
/// fusermount3 (3.14) then exits without unmounting while the session
/// still answers — the join would wait for ever.
fn end_session(mountpoint: &Path, s: &BackgroundSession) {
    if s.guard.is_finished() {
        return;
    }
    if let Err(e) = force_unmount(mountpoint) {
        tracing::error!("{e}");
    }
}

/// Whether this process may mount with `allow_other` (which auto-unmount
/// needs).
pub(crate) fn may_allow_other() -> bool {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    root || std::fs::read_to_string("/etc/fuse.conf")
        .is_ok_and(|c| c.lines().any(|l| l.trim() == "user_allow_other"))
}

/// Unmounts what a daemon left at `mountpoint` (it was killed, or hung):
/// `fusermount3 -u`, then a lazy unmount. `Ok(false)`: nothing was
/// mounted there (an auto-unmount already cleaned up).
pub fn force_unmount(mountpoint: &Path) -> io::Result<bool> {
    if !is_mounted(mountpoint) {
        return Ok(false);
    }
    let tried = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .arg(mountpoint)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if tried("fusermount3", &["-u"]) || tried("fusermount3", &["-uz"]) || tried("umount", &["-l"]) {
        return Ok(true);
    }
    // The auto-unmount helper of a killed daemon may have unmounted it
    // between the check and the attempts.
    if !is_mounted(mountpoint) {
        return Ok(false);
    }
    Err(io::Error::other(format!(
        "could not unmount {} (fusermount3 -u, fusermount3 -uz and umount -l failed)",
        mountpoint.display()
    )))
}

/// Whether something is mounted at `mountpoint` (from /proc/self/mounts).
pub fn is_mounted(mountpoint: &Path) -> bool {
    let Ok(abs) = std::path::absolute(mountpoint) else {
        return false;
    };
    let want = abs.to_string_lossy().replace(' ', "\\040");
    std::fs::read_to_string("/proc/self/mounts").is_ok_and(|m| {
        m.lines()
            .any(|l| l.split(' ').nth(1) == Some(want.as_str()))
    })
}
