//! What the real-mount tests share: whether they may run, shell scripts,
//! and waiting for what the mount does in the background.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Whether real mounts are possible: `false` only when
/// `DOCGRID_SKIP_SYSTEM_TESTS=1` is set by hand; a missing `/dev/fuse` or
/// `fusermount3` otherwise fails the test, naming what to install.
pub fn available() -> bool {
    if std::env::var("DOCGRID_SKIP_SYSTEM_TESTS").as_deref() == Ok("1") {
        eprintln!("skipped: DOCGRID_SKIP_SYSTEM_TESTS=1");
        return false;
    }
    assert!(
        Path::new("/dev/fuse").exists(),
        "/dev/fuse is missing: these tests mount for real (DOCGRID_SKIP_SYSTEM_TESTS=1 skips them)"
    );
    assert!(
        on_path("fusermount3"),
        "fusermount3 is missing: run scripts/setup (Debian's fuse3)"
    );
    true
}

fn on_path(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
}

fn run(env: &[(&str, PathBuf)], script: &str) -> Output {
    Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .envs(env.iter().map(|(k, v)| (k, v.as_os_str())))
        .output()
        .expect("running bash")
}

/// Runs `script` under `bash -euo pipefail` with `env`; its stdout. Panics
/// with its stderr when it fails.
pub fn sh(env: &[(&str, PathBuf)], script: &str) -> String {
    let out = run(env, script);
    assert!(
        out.status.success(),
        "{script}\nfailed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Runs `script`, which must fail; its stderr.
pub fn sh_fails(env: &[(&str, PathBuf)], script: &str) -> String {
    let out = run(env, script);
    assert!(
        !out.status.success(),
        "{script}\nsucceeded but should not have"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits up to 10 s for `done`, checking every 50 ms; panics naming
/// `what` if it never holds.
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !done() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "never happened: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
