//! Finding (or installing) the `tahoe` program, and finding the grid's
//! processes.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, ensure};

use super::TAHOE_VERSION;

/// The `tahoe` executable: `$DOCGRID_TAHOE` if set, else
/// `$DOCGRID_VENV/bin/tahoe` (default venv `~/.cache/docgrid-venv`, the one
/// `scripts/setup` makes).
///
/// If the venv has no `tahoe`, this creates the venv with `python3 -m venv`
/// and installs `tahoe-lafs==`[`TAHOE_VERSION`] into it (about 20 s, once;
/// progress on stderr). The install holds an exclusive lock on a file next to
/// the venv (`docgrid-venv.lock`), so test processes started in parallel
/// install once and the others wait for it.
pub fn tahoe_bin() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("DOCGRID_TAHOE") {
        let path = PathBuf::from(path);
        ensure!(
            path.is_file(),
            "DOCGRID_TAHOE={} does not exist; unset it to use (or install) the docgrid venv",
            path.display()
        );
        return Ok(path);
    }
    let venv = match std::env::var_os("DOCGRID_VENV") {
        Some(v) => PathBuf::from(v),
        None => {
            let home = std::env::var_os("HOME").context(
                "HOME is not set: set DOCGRID_VENV (a venv directory) or DOCGRID_TAHOE (a tahoe)",
            )?;
            Path::new(&home).join(".cache").join("docgrid-venv")
        }
    };
    let bin = venv.join("bin").join("tahoe");
    if !bin.is_file() {
        install_tahoe(&venv, &bin)?;
    }
    Ok(bin)
}

/// Creates `venv` if needed and pip-installs Tahoe-LAFS into it, under a lock.
fn install_tahoe(venv: &Path, bin: &Path) -> anyhow::Result<()> {
    let parent = venv
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = venv
        .file_name()
        .context("the venv path has no final component")?;
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let lock_path = parent.join(format!("{}.lock", name.to_string_lossy()));
    let lock = File::create(&lock_path)
        .with_context(|| format!("creating the install lock {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            eprintln!("docgrid: waiting for another process to finish installing tahoe-lafs…");
            lock.lock()
                .with_context(|| format!("locking {}", lock_path.display()))?;
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", lock_path.display()));
        }
    }
    if bin.is_file() {
        return Ok(()); // another process installed it while we waited
    }
    let started = Instant::now();
    eprintln!(
        "docgrid: installing tahoe-lafs=={TAHOE_VERSION} into {} (about 20 s, once)…",
        venv.display()
    );
    let python = venv.join("bin").join("python");
    if !python.is_file() {
        run_quiet(Command::new("python3").args(["-m", "venv"]).arg(venv)).context(
            "creating the venv (needs python3 and python3-venv; scripts/setup installs them)",
        )?;
    }
    run_quiet(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("tahoe-lafs=={TAHOE_VERSION}"),
    ]))
    .context("installing tahoe-lafs with pip")?;
    ensure!(
        bin.is_file(),
        "pip installed tahoe-lafs but {} is missing",
        bin.display()
    );
    eprintln!("docgrid: tahoe-lafs installed in {:.1?}", started.elapsed());
    Ok(())
}

/// Runs `cmd` to completion; on failure, the error carries its output.
fn run_quiet(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// The pids of live `tahoe` processes whose command line names `dir` or a
/// path under it, other than this process: lets tests check that no node of
/// a grid outlived it. Reads `/proc`, so always empty off Linux.
pub fn tahoe_processes_under(dir: &Path) -> Vec<u32> {
    let dir = dir.to_string_lossy().into_owned();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    let mut pids: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<String> = cmdline
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.iter()
                .any(|a| Path::new(a).file_name().is_some_and(|f| f == "tahoe"))
                && args.iter().any(|a| a.starts_with(&dir))
        })
        .collect();
    pids.sort_unstable();
    pids
}
