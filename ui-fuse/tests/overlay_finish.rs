//! `overlay verify` and `overlay finish` for real: after full migration
//! and verification the lower directory is renamed away, and the overlay,
//! mounted again, serves the same tree byte for byte from the store
//! (read-through and write-back); every file is a document under the
//! prefix with its path. `finish` refuses while a file is not migrated or
//! not verified, and `verify` finds a store copy that differs.
//!
//! These need `/dev/fuse` and `fusermount3`; skipped only when
//! `DOCGRID_SKIP_SYSTEM_TESTS=1` is set by hand.

mod common;
mod ovl;
mod system;

use std::process::{Command, Output};

use docgrid_fuse::overlay::journal::SyncState;
use docgrid_fuse::overlay::ofs::Mode;
use ovl::{Ov, lower_tree};
use system::eventually;

/// The view without link counts (a copy in the state directory is one
/// link), and every file's hash.
const VIEW: &str = "cd \"$M\" && find . -mindepth 1 -printf '%P|%y|%s|%m|%T@|%l\\n' | sort && \
                    find . -type f -print0 | sort -z | xargs -0 sha256sum";

fn cli(ov: &Ov, verb: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_docgrid-fuse"))
        .args(["overlay", verb, "--state"])
        .arg(&ov.cfg.state)
        .args([
            "--server",
            &ov.server.url,
            "--token",
            &ov.server.token,
            "--cache",
        ])
        .arg(ov.dir.path().join("cli-cache"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn migrated_all(ov: &Ov) {
    eventually("everything is migrated", || {
        let s = ov.journal().summary().unwrap();
        s.of(SyncState::LowerOnly).0 + s.of(SyncState::Dirty).0 + s.of(SyncState::Migrating).0 == 0
            && s.of(SyncState::Migrated).0 > 0
            && ov.journal().spool_bytes().unwrap() == 0
    });
}

fn finish_then_serve_without_the_lower_directory(mode: Mode) {
    let Some(mut ov) = Ov::new(mode, lower_tree) else {
        return;
    };
    ov.cfg.background = Some(100 << 20);
    ov.mount();
    if mode == Mode::WriteBack {
        ov.sh("echo more >> \"$M/deep/a/b/c.txt\"; rm \"$M/empty\"; printf new > \"$M/bin/new\"");
    }
    migrated_all(&ov);
    let refused = cli(&ov, "finish");
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        text(&refused).contains("not verified"),
        "{}",
        text(&refused)
    );
    let verified = cli(&ov, "verify");
    assert!(verified.status.success(), "{}", text(&verified));
    let done = cli(&ov, "finish");
    assert!(done.status.success(), "{}", text(&done));
    assert!(text(&done).contains("no longer needed"), "{}", text(&done));
    let before = ov.sh(VIEW);
    ov.unmount();
    // The lower directory goes away; what is left of it is garbage.
    let gone = ov.dir.path().join("lower.gone");
    std::fs::rename(&ov.cfg.lower, &gone).unwrap();
    ov.sh(&format!(
        "find '{}' -type f -exec sh -c 'echo garbage > \"$1\"' _ {{}} \\;",
        gone.display()
    ));
    ov.mount();
    assert_eq!(ov.sh(VIEW), before, "the same tree, byte for byte");
    let files = ov.sh("cd \"$M\" && find . -type f -printf '%P\\n'");
    let t = ov.tree();
    for rel in files.lines() {
        let node = t.lookup(&format!("/files/office/{rel}")).unwrap();
        let doc = t.doc(&node.id().unwrap()).unwrap();
        assert_eq!(doc.meta["path"], vec![format!("office/{rel}")], "{rel}");
    }
    // And it goes on taking writes.
    ov.sh("echo later > \"$M/later.txt\"");
    eventually("a write after finish reaches the store", || {
        ov.stored("later.txt").as_deref() == Some(&b"later\n"[..])
    });
}

#[test]
fn read_through_finish_then_serve_without_the_lower_directory() {
    finish_then_serve_without_the_lower_directory(Mode::ReadThrough);
}

#[test]
fn write_back_finish_then_serve_without_the_lower_directory() {
    finish_then_serve_without_the_lower_directory(Mode::WriteBack);
}

#[test]
fn verify_finds_a_store_copy_that_differs() {
    let Some(mut ov) = Ov::new(Mode::ReadThrough, lower_tree) else {
        return;
    };
    ov.cfg.background = Some(100 << 20);
    ov.mount();
    migrated_all(&ov);
    // Changed behind the overlay's back with its size and mtime kept:
    // only reading the bytes tells.
    ov.sh(
        "cd \"$L\" && t=$(stat -c %y café.txt) && printf 'CRÈME brûlée\\n' > café.txt && \
           touch -d \"$t\" café.txt",
    );
    let out = cli(&ov, "verify");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("different: café.txt"), "{}", text(&out));
    eventually("it is migrated again", || {
        ov.stored("café.txt").as_deref() == Some("CRÈME brûlée\n".as_bytes())
    });
}
