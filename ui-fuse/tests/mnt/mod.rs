//! A filesystem core over a real server, mounted for real: what the
//! real-mount tests share.
#![allow(dead_code)]

use std::path::PathBuf;

use docgrid_fuse::mount::{self, MountConfig, Mounted};

use super::common::{Rig, tags};
use super::system::{self, sh, sh_fails};

/// A rig mounted at `mp`.
pub struct Mnt {
    pub rig: Rig,
    pub mp: PathBuf,
    pub mounted: Option<Mounted>,
}

impl Mnt {
    /// `None` when system tests are skipped by hand.
    pub fn new() -> Option<Mnt> {
        if !system::available() {
            return None;
        }
        let rig = Rig::new();
        rig.fs.tree().follow_changes();
        let mp = rig.dir.path().join("mnt");
        std::fs::create_dir(&mp).unwrap();
        let mounted = mount::mount(rig.fs.clone(), &MountConfig::new(&mp)).expect("mounting");
        Some(Mnt {
            rig,
            mp,
            mounted: Some(mounted),
        })
    }

    /// `rel` inside the mount.
    pub fn at(&self, rel: &str) -> PathBuf {
        self.mp.join(rel.trim_start_matches('/'))
    }

    /// Runs `script` with `$M` the mount point and `$S` a scratch
    /// directory outside it.
    pub fn sh(&self, script: &str) -> String {
        sh(&self.env(), script)
    }

    pub fn sh_fails(&self, script: &str) -> String {
        sh_fails(&self.env(), script)
    }

    pub fn env(&self) -> [(&'static str, PathBuf); 2] {
        [
            ("M", self.mp.clone()),
            ("S", self.rig.dir.path().join("src")),
        ]
    }

    /// The tags of the document called `name`, fresh from the server.
    pub fn tags_of(&self, name: &str) -> Vec<String> {
        tags(&self.rig.doc(&format!("/all/{name}")))
    }
}

impl Drop for Mnt {
    fn drop(&mut self) {
        if let Some(m) = self.mounted.take() {
            m.unmount().expect("unmounting");
        }
        assert!(!mount::is_mounted(&self.mp), "unmounted");
    }
}
