//! The `docgrid-fuse` binary: a background mount that returns once it is
//! up, a clean unmount on SIGTERM, and `--unmount` after SIGKILL with
//! nothing lost that `fsync` acknowledged.

mod common;
mod system;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{Server, client};
use docgrid_client::tree::Tree;
use docgrid_fuse::mount::is_mounted;
use system::eventually;

const BIN: &str = env!("CARGO_BIN_EXE_docgrid-fuse");

struct Daemon {
    _dir: tempfile::TempDir,
    server: Server,
    mp: PathBuf,
    cache: PathBuf,
}

impl Daemon {
    fn new() -> Option<Daemon> {
        if !system::available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let server = Server::create(&dir.path().join("store"));
        let (mp, cache) = (dir.path().join("mnt"), dir.path().join("cache"));
        std::fs::create_dir(&mp).unwrap();
        Some(Daemon {
            _dir: dir,
            server,
            mp,
            cache,
        })
    }

    fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.arg(&self.mp)
            .args(["--server", &self.server.url, "--token", &self.server.token])
            .arg("--cache")
            .arg(&self.cache)
            .env_remove("DOCGRID_URL")
            .env_remove("DOCGRID_TOKEN")
            .env_remove("DOCGRID_CACHE_SIZE");
        c
    }

    /// The binary in the foreground, once its mount is up.
    fn foreground(&self) -> Child {
        let child = self
            .command()
            .arg("--foreground")
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        eventually("the mount comes up", || is_mounted(&self.mp));
        child
    }

    /// Writes `name` into `/all/` and fsyncs it.
    fn write_synced(&self, name: &str, data: &[u8]) {
        let mut f = std::fs::File::create(self.mp.join("all").join(name)).unwrap();
        f.write_all(data).unwrap();
        f.sync_all().unwrap();
    }

    fn tree(&self) -> Tree {
        Tree::new(client(&self.server))
    }
}

/// Sends `sig` to `child` (with kill(1): unsafe code is forbidden here).
fn signal(child: &Child, sig: i32) {
    let status = Command::new("kill")
        .args([format!("-{sig}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{sig} {}", child.id());
}

fn unmount_cmd(mp: &Path) -> std::process::Output {
    Command::new(BIN).arg("--unmount").arg(mp).output().unwrap()
}

/// `--unmount` succeeds and leaves nothing mounted at `mp`.
fn unmounted_by_command(mp: &Path) {
    let out = unmount_cmd(mp);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!is_mounted(mp));
}

#[test]
fn sigterm_unmounts_cleanly_and_keeps_what_was_written() {
    let Some(d) = Daemon::new() else { return };
    let mut child = d.foreground();
    d.write_synced("a.txt", b"alpha");
    signal(&child, libc::SIGTERM);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(!is_mounted(&d.mp));
    assert!(d.tree().lookup("/all/a.txt").is_ok());
}

#[test]
fn after_sigkill_unmount_frees_the_mount_point_and_fsynced_data_is_there() {
    let Some(d) = Daemon::new() else { return };
    let mut child = d.foreground();
    d.write_synced("k.txt", b"kept by fsync");
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    unmounted_by_command(&d.mp);
    assert_eq!(
        std::fs::read_dir(&d.mp).unwrap().count(),
        0,
        "the mount point is an empty directory again"
    );
    let node = d.tree().lookup("/all/k.txt").unwrap();
    assert_eq!(node.size(), 13);
    // And it mounts again.
    let mut again = d.foreground();
    assert_eq!(
        std::fs::read(d.mp.join("all/k.txt")).unwrap(),
        b"kept by fsync"
    );
    signal(&again, libc::SIGTERM);
    assert!(again.wait().unwrap().success());
}

#[test]
fn the_background_mode_returns_once_mounted_and_ends_with_the_mount() {
    let Some(d) = Daemon::new() else { return };
    let out = d.command().output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(is_mounted(&d.mp), "mounted when the command returns");
    assert!(String::from_utf8_lossy(&out.stderr).contains("log:"));
    d.write_synced("b.txt", b"beta");
    unmounted_by_command(&d.mp);
    let out = unmount_cmd(&d.mp);
    assert!(out.status.success(), "a second --unmount is not an error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing is mounted"));
    let bad = Command::new(BIN)
        .arg(d.mp.join("missing"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a directory"));
}
