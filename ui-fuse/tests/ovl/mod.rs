//! An overlay mounted for real over a lower directory, with a real server
//! on 127.0.0.1:0: what the overlay tests share.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use docgrid_client::tree::Tree;
use docgrid_fuse::mount::is_mounted;
use docgrid_fuse::overlay::journal::{Journal, SyncState};
use docgrid_fuse::overlay::mount::{self, OverlayConfig, OverlayMount};
use docgrid_fuse::overlay::ofs::Mode;

use super::common::{Server, client};
use super::system::{self, sh, sh_fails};

/// A server, a lower directory, a state directory and an overlay mount.
pub struct Ov {
    pub dir: tempfile::TempDir,
    pub server: Server,
    pub cfg: OverlayConfig,
    pub mounted: Option<OverlayMount>,
}

impl Ov {
    /// A lower directory filled by `fill`, not mounted yet; `None` when
    /// system tests are skipped by hand.
    pub fn new(mode: Mode, fill: impl FnOnce(&Path)) -> Option<Ov> {
        if !system::available() {
            return None;
        }
        // The overlay's warnings (every refused request) in the test's
        // output.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("DOCGRID_TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let server = Server::create(&dir.path().join("server"));
        let (lower, mp) = (dir.path().join("lower"), dir.path().join("mnt"));
        std::fs::create_dir_all(&lower).unwrap();
        std::fs::create_dir_all(&mp).unwrap();
        fill(&lower);
        let cfg = OverlayConfig {
            lower,
            mountpoint: mp,
            mode,
            prefix: "office".into(),
            tags: vec!["archive".into()],
            background: None,
            state: dir.path().join("state"),
            threads: 4,
            spool_limit: 1 << 30,
        };
        Some(Ov {
            dir,
            server,
            cfg,
            mounted: None,
        })
    }

    /// Mounts with the configuration as it is.
    pub fn mount(&mut self) {
        let tree = Tree::new(client(&self.server));
        tree.follow_changes();
        self.mounted = Some(mount::mount(tree, &self.cfg).expect("mounting the overlay"));
    }

    /// Unmounts.
    pub fn unmount(&mut self) {
        if let Some(m) = self.mounted.take() {
            m.unmount().expect("unmounting");
        }
        assert!(!is_mounted(&self.cfg.mountpoint), "unmounted");
    }

    /// The journal of the mounted overlay.
    pub fn journal(&self) -> &Arc<Journal> {
        self.mounted.as_ref().expect("mounted").fs().journal()
    }

    /// Whether the mounted overlay's workers are at rest (scanned once,
    /// nothing queued, nothing under way).
    pub fn mounted_settled(&self) -> bool {
        self.mounted.as_ref().expect("mounted").settled()
    }

    /// The state of `rel` in the journal.
    pub fn state(&self, rel: &str) -> Option<SyncState> {
        self.journal().get(rel).unwrap().map(|r| r.state)
    }

    /// A client of the server of its own (fresh caches).
    pub fn tree(&self) -> Tree {
        Tree::new(client(&self.server))
    }

    /// `rel` in the lower directory.
    pub fn lower(&self, rel: &str) -> PathBuf {
        self.cfg.lower.join(rel)
    }

    /// `rel` in the mount.
    pub fn at(&self, rel: &str) -> PathBuf {
        self.cfg.mountpoint.join(rel)
    }

    /// The bytes of the document at `/files/office/REL`, fresh from the
    /// server.
    pub fn stored(&self, rel: &str) -> Option<Vec<u8>> {
        let t = self.tree();
        let node = t.lookup(&format!("/files/office/{rel}")).ok()?;
        let id = node.id()?;
        Some(t.read_at(&id, 0, node.size() as usize + 1).unwrap())
    }

    /// `--server URL --token T --cache DIR` for a `docgrid-fuse overlay`
    /// process of its own, with a cache called `cache`.
    pub fn conn_args(&self, cache: &str) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = ["--server", &self.server.url, "--token"]
            .iter()
            .map(Into::into)
            .collect();
        args.push(self.server.token.clone().into());
        args.push("--cache".into());
        args.push(self.dir.path().join(cache).into());
        args
    }

    /// `$L` the lower directory, `$M` the mount, `$S` scratch space.
    pub fn env(&self) -> [(&'static str, PathBuf); 3] {
        let scratch = self.dir.path().join("scratch");
        std::fs::create_dir_all(&scratch).unwrap();
        [
            ("L", self.cfg.lower.clone()),
            ("M", self.cfg.mountpoint.clone()),
            ("S", scratch),
        ]
    }

    pub fn sh(&self, script: &str) -> String {
        sh(&self.env(), script)
    }

    pub fn sh_fails(&self, script: &str) -> String {
        sh_fails(&self.env(), script)
    }
}

impl Drop for Ov {
    fn drop(&mut self) {
        if let Some(m) = self.mounted.take() {
            let _ = m.unmount();
        }
    }
}

/// A lower tree with unicode names, an empty file, an empty directory,
/// modes, a symbolic link, a hard link and a file of several chunks.
pub fn lower_tree(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let files: &[(&str, &[u8])] = &[
        ("café.txt", "crème brûlée\n".as_bytes()),
        ("empty", b""),
        ("日本/メモ.md", "# メモ\n".as_bytes()),
        ("deep/a/b/c.txt", b"deep\n"),
        ("spaces in name.txt", b"s p a c e s\n"),
        ("bin/run.sh", b"#!/bin/sh\necho hi\n"),
    ];
    for (rel, data) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    std::fs::create_dir_all(root.join("empty-dir")).unwrap();
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(root.join("big.bin"), big).unwrap();
    let perm = |rel: &str, mode: u32| {
        std::fs::set_permissions(root.join(rel), std::fs::Permissions::from_mode(mode)).unwrap()
    };
    perm("bin/run.sh", 0o755);
    perm("café.txt", 0o600);
    std::os::unix::fs::symlink("café.txt", root.join("link-to-cafe")).unwrap();
    std::fs::hard_link(root.join("deep/a/b/c.txt"), root.join("hard-c.txt")).unwrap();
}

/// What `find` says of every entry below `dir`: path, type, size, mode,
/// mtime, link count, link target.
pub const FIND_VIEW: &str =
    "find \"$1\" -mindepth 1 -printf '%P|%y|%s|%m|%T@|%n|%l|%U|%G\\n' | sort";
