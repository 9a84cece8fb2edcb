//! A real server in-process and the real `docgrid` binary pointed at it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use docgrid_server::app::App;
use docgrid_server::config::{DataDir, init_store};
use docgrid_server::testing::Background;

/// A fresh server and a home directory for the CLI (its config, its cache).
pub struct Env {
    pub url: String,
    pub token: String,
    pub home: tempfile::TempDir,
    pub app: Arc<App>,
    _bg: Background,
}

impl Env {
    pub fn new() -> Env {
        Env::with(None)
    }

    /// A server on the store `cfg` describes (`None`: the embedded default).
    pub fn with(cfg: Option<&docgrid_server::config::ServerConfig>) -> Env {
        let home = tempfile::tempdir().unwrap();
        let data = DataDir::new(home.path().join("server"));
        let cfg = cfg.cloned().unwrap_or_else(|| data.default_config());
        let token = init_store(&data, &cfg).unwrap();
        let app = App::open(data, &cfg).unwrap();
        let bg = Background::start(app.clone()).unwrap();
        Env {
            url: format!("http://{}", bg.addr),
            token,
            home,
            app,
            _bg: bg,
        }
    }

    /// `docgrid ARGS` in `dir`, against this server only.
    pub fn cmd(&self, dir: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_docgrid"));
        c.args(args)
            .current_dir(dir)
            .env("DOCGRID_URL", &self.url)
            .env("DOCGRID_TOKEN", &self.token)
            .env("DOCGRID_CONFIG", self.home.path().join("no-config.toml"))
            .env("DOCGRID_CACHE", self.home.path().join("cache"));
        c
    }

    pub fn run_in(&self, dir: &Path, args: &[&str]) -> Output {
        self.cmd(dir, args).output().unwrap()
    }

    /// Its stdout; fails the test with its stderr unless it succeeded.
    pub fn ok_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.run_in(dir, args);
        assert!(
            out.status.success(),
            "docgrid {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// [`Env::run_in`] the home directory.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_in(self.home.path(), args)
    }

    /// [`Env::ok_in`] the home directory.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_in(self.home.path(), args)
    }
}

/// Writes `bytes` to `path`, creating its directories.
pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Fails unless `diff -r` finds the two trees equal.
pub fn same_tree(a: &Path, b: &Path) {
    let out = Command::new("diff")
        .arg("-r")
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "trees differ: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
