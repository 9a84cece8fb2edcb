//! Write-back overlays mounted for real, with a real server on
//! 127.0.0.1:0: the lower directory is never modified while writes,
//! creates, renames and deletes show in the mount and reach the store;
//! whiteouts keep deleted lower files away across a remount; the spool
//! drains to placeholders and the mount then reads from the store; with
//! the server down writes are acknowledged from the spool up to its bound
//! and fail with ENOSPC beyond it; a daemon killed with SIGKILL loses
//! nothing it acknowledged, and uploads nothing twice.
//!
//! These need `/dev/fuse` and `fusermount3`; skipped only when
//! `DOCGRID_SKIP_SYSTEM_TESTS=1` is set by hand.

mod common;
mod ovl;
mod system;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use docgrid_fuse::mount::{force_unmount, is_mounted};
use docgrid_fuse::overlay::journal::{Journal, SyncState};
use docgrid_fuse::overlay::ofs::Mode;
use ovl::{FIND_VIEW, Ov, lower_tree};
use system::eventually;

/// Every entry of the lower directory and a hash of every file.
fn snapshot(ov: &Ov) -> String {
    ov.sh(&format!(
        "set -- \"$L\"; {FIND_VIEW}; cd \"$L\" && find . -type f -print0 | sort -z | xargs -0 sha256sum"
    ))
}

#[test]
fn write_back_changes_the_view_and_the_store_never_the_lower_directory() {
    let Some(mut ov) = Ov::new(Mode::WriteBack, lower_tree) else {
        return;
    };
    let before = snapshot(&ov);
    ov.mount();
    ov.sh(
        "echo more >> \"$M/deep/a/b/c.txt\"; printf fresh > \"$M/new.txt\"; \
         mkdir -p \"$M/made/deeper\"; mv \"$M/café.txt\" \"$M/made/café.txt\"; \
         rm \"$M/spaces in name.txt\"; mv \"$M/日本\" \"$M/nihon\"; rmdir \"$M/empty-dir\"; \
         chmod 700 \"$M/bin/run.sh\"",
    );
    let view = ov.sh("cd \"$M\" && find . | sort");
    for gone in [
        "./café.txt",
        "./spaces in name.txt",
        "./日本",
        "./empty-dir",
    ] {
        assert!(!view.lines().any(|l| l == gone), "{gone} is gone:\n{view}");
    }
    for there in [
        "./made/café.txt",
        "./nihon/メモ.md",
        "./new.txt",
        "./made/deeper",
    ] {
        assert!(view.lines().any(|l| l == there), "{there}:\n{view}");
    }
    assert_eq!(ov.sh("cat \"$M/deep/a/b/c.txt\""), "deep\nmore\n");
    assert_eq!(ov.sh("cat \"$M/nihon/メモ.md\""), "# メモ\n");
    assert_eq!(ov.sh("stat -c %a \"$M/bin/run.sh\""), "700\n");
    assert_eq!(snapshot(&ov), before, "the lower directory is untouched");
    eventually("the store has every change", || {
        ov.stored("new.txt").as_deref() == Some(&b"fresh"[..])
            && ov.stored("deep/a/b/c.txt").as_deref() == Some(&b"deep\nmore\n"[..])
            && ov.stored("made/café.txt").as_deref() == Some("crème brûlée\n".as_bytes())
            && ov.stored("nihon/メモ.md").is_some()
    });
    assert!(ov.stored("café.txt").is_none() && ov.stored("spaces in name.txt").is_none());
    eventually("the spool drains to placeholders", || {
        ov.journal().spool_bytes().unwrap() == 0
    });
    // Read back from the store through the placeholders.
    assert_eq!(ov.sh("cat \"$M/deep/a/b/c.txt\""), "deep\nmore\n");
    assert_eq!(ov.sh("cat \"$M/made/café.txt\""), "crème brûlée\n");
    let after_drain = ov.sh("cd \"$M\" && find . -printf '%P|%y|%s|%m\\n' | sort");
    ov.unmount();
    ov.mount();
    let remounted = ov.sh("cd \"$M\" && find . -printf '%P|%y|%s|%m\\n' | sort");
    assert_eq!(
        remounted, after_drain,
        "whiteouts and the spool survive a remount"
    );
    // A placeholder written again gets its bytes back first.
    ov.sh("echo again >> \"$M/new.txt\"");
    assert_eq!(ov.sh("cat \"$M/new.txt\""), "freshagain\n");
    assert_eq!(snapshot(&ov), before, "still untouched");
}

#[test]
fn with_the_server_down_writes_are_spooled_up_to_the_bound_then_enospc() {
    let Some(mut ov) = Ov::new(Mode::WriteBack, |_| {}) else {
        return;
    };
    ov.cfg.spool_limit = 1 << 20;
    ov.mount();
    ov.server.kill();
    ov.sh("head -c 300000 /dev/urandom > \"$S/a\"; cp \"$S/a\" \"$M/a\"; cmp \"$S/a\" \"$M/a\"");
    let err = ov.sh_fails("head -c 900000 /dev/urandom > \"$S/b\"; cp \"$S/b\" \"$M/b\"");
    assert!(err.contains("No space left on device"), "{err}");
    ov.sh("cmp \"$S/a\" \"$M/a\"");
    ov.server.revive();
    eventually("the spool drains when the server is back", || {
        ov.stored("a").is_some_and(|b| b.len() == 300_000)
            && ov.journal().spool_bytes().unwrap() < 900_000
    });
    ov.sh("cp \"$S/b\" \"$M/b\"; cmp \"$S/b\" \"$M/b\"");
    eventually("b reaches the store", || {
        ov.stored("b").is_some_and(|b| b.len() == 900_000)
    });
}

/// A daemon process, killed and its mount cleared when dropped (also when
/// the test fails half way).
struct Daemon(Child, std::path::PathBuf);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = force_unmount(&self.1);
    }
}

/// The overlay daemon as its own process, in the foreground.
fn daemon(ov: &Ov) -> Daemon {
    let child = Command::new(env!("CARGO_BIN_EXE_docgrid-fuse"))
        .args(["overlay", "--mode", "write-back", "--foreground", "--lower"])
        .arg(&ov.cfg.lower)
        .arg(&ov.cfg.mountpoint)
        .arg("--state")
        .arg(&ov.cfg.state)
        .args(["--prefix", "office", "--tag", "archive"])
        .args(ov.conn_args("cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually("the daemon mounts", || is_mounted(&ov.cfg.mountpoint));
    Daemon(child, ov.cfg.mountpoint.clone())
}

#[test]
fn sigkill_mid_workload_loses_nothing_acknowledged_and_uploads_nothing_twice() {
    let Some(ov) = Ov::new(Mode::WriteBack, |_| {}) else {
        return;
    };
    let mut d = daemon(&ov);
    // A writer copies files in until the daemon dies, noting each one
    // whose close returned while the overlay was still mounted (once the
    // daemon is gone, the kernel unmounts it and a copy would land in the
    // bare directory).
    let writer = Command::new("bash")
        .args([
            "-c",
            "local_fs=$(stat -f -c %t \"$S\"); \
             for i in $(seq 1 400); do head -c $((i * 997)) /dev/urandom > \"$S/f$i\"; \
             cp \"$S/f$i\" \"$M/f$i\" 2>/dev/null || break; \
             [ \"$(stat -f -c %t \"$M\")\" != \"$local_fs\" ] || break; \
             echo \"f$i\" >> \"$S/done\"; done",
        ])
        .envs(ov.env().iter().map(|(k, v)| (*k, v.as_os_str())))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    d.0.kill().unwrap();
    d.0.wait().unwrap();
    let _ = writer.wait_with_output();
    force_unmount(&ov.cfg.mountpoint).unwrap();
    let done = std::fs::read_to_string(ov.env()[2].1.join("done")).unwrap_or_default();
    let acked: Vec<&str> = done.lines().collect();
    assert!(acked.len() > 5, "the writer got going: {}", acked.len());
    let d = daemon(&ov);
    for name in &acked {
        ov.sh(&format!("cmp \"$S/{name}\" \"$M/{name}\""));
    }
    let journal = Journal::open_read_only(&ov.cfg.state).unwrap();
    eventually("every acknowledged file is uploaded", || {
        acked.iter().all(|n| {
            journal
                .get(n)
                .unwrap()
                .is_some_and(|r| r.state == SyncState::Migrated)
        })
    });
    let total: u64 = acked
        .iter()
        .map(|n| std::fs::metadata(ov.env()[2].1.join(n)).unwrap().len())
        .sum();
    let received = ov.server.bytes_received();
    // Files cut off by the kill may have been half sent; nothing whole
    // twice.
    assert!(
        received <= total + 400 * 997 * 2,
        "received {received} for {total} bytes acknowledged"
    );
    for name in &acked {
        let want = std::fs::read(ov.env()[2].1.join(name)).unwrap();
        assert!(ov.stored(name) == Some(want), "{name} is stored as written");
    }
    drop(d);
    assert!(!is_mounted(&ov.cfg.mountpoint));
}
