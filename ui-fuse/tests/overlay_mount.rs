//! The overlay mounted for real over a lower directory, with a real
//! server on 127.0.0.1:0: the same view as the lower directory; reads
//! upload what they read (read-through); writes reach the store before
//! `close` returns (write-through) or fail with EIO keeping the lower
//! copy; renames and deletes apply to both layers; files changed behind
//! the overlay's back are served fresh and migrated again; background
//! migration and `overlay status`.
//!
//! These need `/dev/fuse` and `fusermount3`; skipped only when
//! `DOCGRID_SKIP_SYSTEM_TESTS=1` is set by hand.

mod common;
mod ovl;
mod system;

use docgrid_fuse::overlay::journal::SyncState;
use docgrid_fuse::overlay::ofs::Mode;
use ovl::{FIND_VIEW, Ov, lower_tree};
use system::eventually;

#[test]
fn the_overlay_shows_the_lower_tree_as_it_is() {
    let Some(mut ov) = Ov::new(Mode::ReadThrough, lower_tree) else {
        return;
    };
    ov.mount();
    let lower = ov.sh(&format!("set -- \"$L\"; {FIND_VIEW}"));
    let mounted = ov.sh(&format!("set -- \"$M\"; {FIND_VIEW}"));
    assert_eq!(mounted, lower, "find sees the same tree");
    assert!(lower.contains("link-to-cafe|l|"), "{lower}");
    assert!(lower.contains("café.txt|f|16|600|"), "{lower}");
    // Every file reports its state; a link or a directory has none. Asked
    // before anything reads the file: a complete read migrates it.
    let state = ov.sh("getfattr --only-values -n user.docgrid.sync_state \"$M/empty\"");
    assert_eq!(state, "lower-only");
    ov.sh_fails("getfattr -n user.docgrid.sync_state \"$M/empty-dir\"");
    ov.sh("diff -r --no-dereference \"$L\" \"$M\"");
    // One lower inode, one inode in the mount.
    let inodes = ov.sh("stat -c %i \"$M/deep/a/b/c.txt\" \"$M/hard-c.txt\"");
    let inodes: Vec<&str> = inodes.lines().collect();
    assert_eq!(inodes[0], inodes[1], "hard links share an inode");
    assert_eq!(ov.sh("readlink \"$M/link-to-cafe\""), "café.txt\n");
    assert_eq!(ov.sh("\"$M/bin/run.sh\""), "hi\n", "modes hold: it runs");
}

#[test]
fn the_overlay_mounts_over_the_lower_directory_itself() {
    let Some(mut ov) = Ov::new(Mode::ReadThrough, lower_tree) else {
        return;
    };
    let before = ov.sh(&format!("set -- \"$L\"; {FIND_VIEW}"));
    ov.cfg.mountpoint = ov.cfg.lower.clone();
    ov.mount();
    let after = ov.sh(&format!("set -- \"$L\"; {FIND_VIEW}"));
    assert_eq!(after, before, "the same view through the mount");
    ov.sh("cat \"$L/big.bin\" > /dev/null; echo new > \"$L/new.txt\"");
    eventually("big.bin is migrated after it was read", || {
        ov.state("big.bin") == Some(SyncState::Migrated)
    });
    ov.unmount();
    assert_eq!(
        std::fs::read(ov.lower("new.txt")).unwrap(),
        b"new\n",
        "written into the directory under the mount"
    );
}

#[test]
fn read_through_uploads_what_was_read_and_serves_changes_fresh() {
    let Some(mut ov) = Ov::new(Mode::ReadThrough, lower_tree) else {
        return;
    };
    ov.mount();
    // A partial read uploads nothing.
    ov.sh("head -c 3 \"$M/big.bin\" > /dev/null");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_ne!(ov.state("big.bin"), Some(SyncState::Migrated));
    let big = std::fs::read(ov.lower("big.bin")).unwrap();
    assert_eq!(std::fs::read(ov.at("big.bin")).unwrap(), big);
    eventually("big.bin is migrated after a whole read", || {
        ov.state("big.bin") == Some(SyncState::Migrated)
    });
    assert_eq!(ov.stored("big.bin").as_deref(), Some(&big[..]));
    let doc = ov.tree().lookup("/files/office/big.bin").unwrap();
    let info = ov.tree().doc(&doc.id().unwrap()).unwrap();
    assert_eq!(info.meta["path"], vec!["office/big.bin".to_string()]);
    assert_eq!(info.meta["tag"], vec!["archive".to_string()]);
    // Read from the store now; then changed behind the overlay's back:
    // the new bytes are served, and migrated again into the same document.
    assert_eq!(std::fs::read(ov.at("big.bin")).unwrap(), big);
    std::fs::write(ov.lower("big.bin"), b"replaced behind its back").unwrap();
    assert_eq!(
        std::fs::read(ov.at("big.bin")).unwrap(),
        b"replaced behind its back",
        "never served stale"
    );
    eventually("the change is migrated", || {
        ov.stored("big.bin").as_deref() == Some(&b"replaced behind its back"[..])
    });
    let again = ov.tree().lookup("/files/office/big.bin").unwrap();
    assert_eq!(again.id(), doc.id(), "the same document, a new revision");
}

#[test]
fn read_through_writes_go_to_the_lower_directory_then_to_the_store() {
    let Some(mut ov) = Ov::new(Mode::ReadThrough, lower_tree) else {
        return;
    };
    ov.mount();
    ov.sh("echo more >> \"$M/deep/a/b/c.txt\"; printf fresh > \"$M/new.txt\"");
    assert_eq!(
        std::fs::read(ov.lower("deep/a/b/c.txt")).unwrap(),
        b"deep\nmore\n"
    );
    assert_eq!(std::fs::read(ov.lower("new.txt")).unwrap(), b"fresh");
    eventually("written files are migrated", || {
        ov.stored("new.txt").as_deref() == Some(&b"fresh"[..])
            && ov.stored("deep/a/b/c.txt").as_deref() == Some(&b"deep\nmore\n"[..])
    });
}

#[test]
fn write_through_close_returns_once_the_store_has_it_or_fails_keeping_the_lower_copy() {
    let Some(mut ov) = Ov::new(Mode::WriteThrough, lower_tree) else {
        return;
    };
    ov.mount();
    ov.sh("printf 'one two' > \"$M/new.txt\"; cp \"$M/big.bin\" \"$M/copy.bin\"");
    // No waiting: close returned, so the store has both.
    assert_eq!(ov.stored("new.txt").as_deref(), Some(&b"one two"[..]));
    let big = std::fs::read(ov.lower("big.bin")).unwrap();
    assert_eq!(ov.stored("copy.bin").as_deref(), Some(&big[..]));
    assert_eq!(std::fs::read(ov.lower("copy.bin")).unwrap(), big);
    ov.server.kill();
    // (cat, unlike the shell's own redirection, reports a failed close.)
    let err = ov.sh_fails("printf 'three' | cat >> \"$M/new.txt\"");
    assert!(err.contains("Input/output error"), "{err}");
    assert_eq!(
        std::fs::read(ov.lower("new.txt")).unwrap(),
        b"one twothree",
        "the lower copy has it"
    );
    eventually("the failure is recorded", || {
        ov.state("new.txt") == Some(SyncState::Failed)
    });
    let failures = ov.journal().summary().unwrap().failures;
    assert_eq!(failures.len(), 1, "{failures:?}");
    ov.server.revive();
    eventually("the failed file is retried when the server is back", || {
        ov.state("new.txt") == Some(SyncState::Migrated)
    });
    assert_eq!(ov.stored("new.txt").as_deref(), Some(&b"one twothree"[..]));
}

#[test]
fn renames_and_deletes_apply_to_both_layers() {
    let Some(mut ov) = Ov::new(Mode::WriteThrough, lower_tree) else {
        return;
    };
    ov.mount();
    ov.sh("cp \"$M/café.txt\" \"$M/deep/a/copy.txt\"; printf x > \"$M/gone.txt\"");
    let id = ov
        .tree()
        .lookup("/files/office/deep/a/copy.txt")
        .unwrap()
        .id();
    assert!(id.is_some());
    ov.sh(
        "mv \"$M/deep/a/copy.txt\" \"$M/日本/moved.txt\"; mv \"$M/deep\" \"$M/shallow\"; \
         rm \"$M/gone.txt\"",
    );
    assert!(ov.lower("日本/moved.txt").exists());
    assert!(ov.lower("shallow/a/b/c.txt").exists());
    assert!(!ov.lower("gone.txt").exists());
    let t = ov.tree();
    assert_eq!(
        t.lookup("/files/office/日本/moved.txt").unwrap().id(),
        id,
        "moved, not copied"
    );
    assert!(t.lookup("/files/office/deep/a/copy.txt").is_err());
    assert!(
        t.lookup("/files/office/gone.txt").is_err(),
        "deleted in the store too"
    );
    assert_eq!(ov.state("日本/moved.txt"), Some(SyncState::Migrated));
    assert_eq!(ov.state("gone.txt"), None);
    // Renaming over a migrated file replaces it in both layers (an
    // editor's save).
    ov.sh("printf v2 > \"$M/日本/.moved.txt.swp\"; mv \"$M/日本/.moved.txt.swp\" \"$M/日本/moved.txt\"");
    assert_eq!(ov.stored("日本/moved.txt").as_deref(), Some(&b"v2"[..]));
    let names: Vec<String> = t
        .list("/files/office/日本/")
        .unwrap()
        .entries()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains('~')),
        "no clash: {names:?}"
    );
}

#[test]
fn background_migration_moves_everything_and_status_reports_it() {
    let Some(mut ov) = Ov::new(Mode::ReadThrough, lower_tree) else {
        return;
    };
    ov.cfg.background = Some(100 << 20);
    ov.mount();
    eventually("every file is migrated in the background", || {
        let s = ov.journal().summary().unwrap();
        s.of(SyncState::Migrated).0 == 8 && s.of(SyncState::LowerOnly).0 == 0
    });
    let bin = env!("CARGO_BIN_EXE_docgrid-fuse");
    let out = std::process::Command::new(bin)
        .args(["overlay", "status", "--json", "--state"])
        .arg(&ov.cfg.state)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["migrated"]["files"], 8, "{json}");
    assert_eq!(json["remaining"]["files"], 0, "{json}");
    assert!(json["rate_bytes_per_s"].as_f64().unwrap() > 0.0, "{json}");
    let text = std::process::Command::new(bin)
        .args(["overlay", "status", "--state"])
        .arg(&ov.cfg.state)
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("nothing left"), "{text}");
    for rel in ["café.txt", "日本/メモ.md", "empty", "hard-c.txt", "big.bin"] {
        assert_eq!(
            ov.stored(rel),
            Some(std::fs::read(ov.lower(rel)).unwrap()),
            "{rel}"
        );
    }
}
