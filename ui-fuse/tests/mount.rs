//! Real mounts: real tools (cp, diff, rsync, tar, mv, rm, mkdir, rmdir,
//! setfattr, getfattr, vim, find) on a real FUSE mount over a real server
//! on 127.0.0.1:0; another client's commits; the server going away.
//!
//! These need `/dev/fuse` and `fusermount3` (scripts/setup installs
//! fuse3). They are skipped only when `DOCGRID_SKIP_SYSTEM_TESTS=1` is set
//! by hand; otherwise a missing piece fails them.

mod common;
mod mnt;
mod system;

use std::path::Path;
use std::time::{Duration, Instant};

use common::tags;
use docgrid_client::tree::Content;
use docgrid_core::DocId;
use docgrid_core::tree as rules;
use mnt::Mnt;
use system::eventually;

/// A tree with unicode names, empty files, an empty directory and a file
/// of several chunks, at `$S`.
fn source_tree(root: &Path) {
    let files: &[(&str, &[u8])] = &[
        ("café.txt", "crème brûlée\n".as_bytes()),
        ("empty", b""),
        ("日本/メモ.md", "# メモ\n".as_bytes()),
        ("deep/a/b/c.txt", b"deep\n"),
        ("deep/a/.hidden-config", b"k=v\n"),
        ("spaces in name.txt", b"s p a c e s\n"),
    ];
    for (rel, data) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    std::fs::create_dir_all(root.join("empty-dir")).unwrap();
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(root.join("big.bin"), big).unwrap();
}

#[test]
fn cp_r_then_diff_r_rsync_and_tar_see_an_ordinary_tree() {
    let Some(m) = Mnt::new() else { return };
    source_tree(&m.rig.dir.path().join("src"));
    m.sh(r#"mkdir -p "$M/files/x" && cp -r "$S/." "$M/files/x/" && diff -r "$S" "$M/files/x""#);
    assert_eq!(m.rig.doc("/all/café.txt").meta["path"], ["x/café.txt"]);
    assert_eq!(m.rig.all_names().len(), 7, "{:?}", m.rig.all_names());
    // rsync -a sets the times cp did not keep; the second run has nothing
    // to send.
    m.sh(r#"rsync -a "$S/" "$M/files/x/""#);
    let stats = m.sh(r#"rsync -a --stats "$S/" "$M/files/x/""#);
    assert!(
        stats.contains("Number of regular files transferred: 0"),
        "{stats}"
    );
    m.sh(r#"diff -r "$S" "$M/files/x" && find "$M/files/x" -newer "$S/big.bin" >/dev/null && du -s "$M/files/x" >/dev/null"#);
    assert_eq!(
        m.rig.all_names().len(),
        7,
        "rsync's temporary files left nothing behind"
    );
    // tar x sets modes, owners and times: all accepted.
    m.sh(r#"mkdir "$M/files/t" && tar -C "$S" -cf - . | tar -C "$M/files/t" -xpf - && diff -r "$S" "$M/files/t""#);
    assert_eq!(m.rig.all_names().len(), 14);
}

#[test]
fn mv_rm_mkdir_and_rmdir_in_tags_change_exactly_the_tags_they_name() {
    let Some(m) = Mnt::new() else { return };
    m.sh(
        r#"mkdir -p "$M/tags/inbox/keep" "$M/tags/taxes" && echo pdf > "$M/tags/inbox/keep/x.pdf""#,
    );
    m.sh(r#"mv "$M/tags/inbox/x.pdf" "$M/tags/taxes/""#);
    assert_eq!(m.tags_of("x.pdf"), ["keep", "taxes"]);
    m.sh(r#"mkdir -p "$M/tags/A/B/C" && echo ab > "$M/tags/A/B/ab.txt" && echo abc > "$M/tags/A/B/C/abc.txt""#);
    m.sh(r#"echo a > "$M/tags/A/a.txt" && rm "$M/tags/A/B/ab.txt" && test ! -e "$M/tags/A/B/ab.txt""#);
    eventually("rm in /tags/A/B/ removes only B", || {
        m.tags_of("ab.txt") == ["A"]
    });
    m.sh(r#"rm -r "$M/tags/A" && test ! -e "$M/tags/A""#);
    eventually("rm -r /tags/A removes only A", || {
        m.tags_of("abc.txt") == ["B", "C"]
            && m.tags_of("ab.txt").is_empty()
            && m.tags_of("a.txt").is_empty()
    });
    assert_eq!(
        m.rig.all_names(),
        ["a.txt", "ab.txt", "abc.txt", "x.pdf"],
        "nothing deleted"
    );
    m.sh(r#"mkdir "$M/tags/new" && test -d "$M/tags/new" && rmdir "$M/tags/new" && test ! -e "$M/tags/new""#);
    let err = m.sh_fails(r#"rmdir "$M/tags/taxes""#);
    assert!(err.contains("Directory not empty"), "{err}");
}

#[test]
fn setfattr_and_getfattr_edit_the_metadata() {
    let Some(m) = Mnt::new() else { return };
    m.sh(r#"mkdir -p "$M/tags/jazz" && echo music > "$M/tags/jazz/k.flac""#);
    m.sh(r#"setfattr -n user.docgrid.artist -v "Miles Davis" "$M/all/k.flac""#);
    let dump = m.sh(r#"getfattr -d "$M/tags/jazz/k.flac""#);
    assert!(
        dump.contains(r#"user.docgrid.artist="Miles Davis""#),
        "{dump}"
    );
    assert!(dump.contains(r#"user.docgrid.tag="jazz""#), "{dump}");
    assert_eq!(m.rig.doc("/all/k.flac").meta["artist"], ["Miles Davis"]);
    let err = m.sh_fails(r#"getfattr -n user.docgrid.nope "$M/all/k.flac""#);
    assert!(err.contains("No such attribute"), "{err}");
    m.sh(r#"setfattr -x user.docgrid.artist "$M/all/k.flac""#);
    assert!(!m.rig.doc("/all/k.flac").meta.contains_key("artist"));
}

#[test]
fn vim_and_a_gedit_style_save_keep_one_document_with_its_id_and_tags() {
    let Some(m) = Mnt::new() else { return };
    m.sh(r#"mkdir -p "$M/tags/notes" && printf 'old\n' > "$M/tags/notes/todo.txt""#);
    let id = m.rig.doc("/all/todo.txt").id;
    // vim's rename-and-rewrite save (backupcopy=no), then its in-place one.
    for (backupcopy, text) in [("no", "new content"), ("yes", "newer content")] {
        let script = format!(
            r#"cd "$M/tags/notes" && vim -u NONE -N -es -c 'set backup writebackup backupcopy={backupcopy}' -c '%d' -c 'call setline(1, "{text}")' -c 'wq' todo.txt"#
        );
        m.sh(&script);
        eventually("vim's save settles", || m.rig.all_names() == ["todo.txt"]);
        let doc = m.rig.doc("/tags/notes/todo.txt");
        assert_eq!(doc.id, id, "backupcopy={backupcopy}");
        assert_eq!(tags(&doc), ["notes"]);
        assert_eq!(
            std::fs::read_to_string(m.at("/tags/notes/todo.txt")).unwrap(),
            format!("{text}\n")
        );
    }
    // gedit: write a hidden temporary file, then rename it over the file.
    m.sh(r#"cd "$M/tags/notes" && printf 'gedit\n' > .goutputstream-QX81ZA && mv .goutputstream-QX81ZA todo.txt"#);
    assert_eq!(m.rig.all_names(), ["todo.txt"]);
    assert_eq!(m.rig.doc("/all/todo.txt").id, id);
    assert_eq!(m.sh(r#"cat "$M/all/todo.txt""#), "gedit\n");
    assert_eq!(m.sh(r#"ls -A "$M/tags/notes""#), "todo.txt\n");
}

#[test]
fn find_over_tags_terminates_without_loops() {
    let Some(m) = Mnt::new() else { return };
    let tree = m.rig.other();
    let manifest = tree.upload(Content::Bytes(b"x".to_vec())).unwrap();
    let ops = (0..300)
        .map(|i| {
            let t = [i % 20, (i * 7 + 3) % 20, (i * 13 + 11) % 20];
            let mut t: Vec<usize> = t.to_vec();
            t.sort();
            t.dedup();
            let dir = t
                .iter()
                .map(|n| format!("t{n:02}"))
                .collect::<Vec<_>>()
                .join("/");
            let d = rules::parse_dir(&format!("/tags/{dir}/")).unwrap();
            let plan = rules::plan_create(&d, &format!("d{i:03}.txt")).unwrap();
            (t.len(), plan.op(DocId::random(), manifest.clone()))
        })
        .collect::<Vec<_>>();
    // A document with k tags is at every ordering of every non-empty
    // subset of them.
    let paths_of =
        |k: usize| -> usize { (1..=k).map(|r| (k - r + 1..=k).product::<usize>()).sum() };
    let want: usize = ops.iter().map(|(k, _)| paths_of(*k)).sum();
    tree.commit("300 documents", ops.into_iter().map(|(_, op)| op).collect())
        .unwrap();
    let out = std::process::Command::new("find")
        .arg(m.at("/tags"))
        .args(["-type", "f"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("loop"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), want);
}

#[test]
fn another_clients_commit_shows_within_two_seconds() {
    let Some(m) = Mnt::new() else { return };
    m.sh(r#"mkdir -p "$M/tags/live" && echo one > "$M/tags/live/old.txt" && ls -l "$M/tags/live" >/dev/null && cat "$M/tags/live/old.txt""#);
    let other = m.rig.other();
    let t0 = Instant::now();
    other
        .create(
            "/tags/live/",
            "fresh.txt",
            Content::Bytes(b"fresh".to_vec()),
        )
        .unwrap();
    let node = other.lookup("/tags/live/old.txt").unwrap();
    other
        .replace_content(&node, Content::Bytes(b"two, longer\n".to_vec()))
        .unwrap();
    let ls = || m.sh(r#"ls "$M/tags/live""#);
    let cat = || std::fs::read_to_string(m.at("/tags/live/old.txt")).unwrap_or_default();
    while !(ls().contains("fresh.txt") && cat() == "two, longer\n") {
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "ls: {:?}, cat: {:?}",
            ls(),
            cat()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn with_the_server_down_cached_reads_work_and_writes_fail_keeping_their_bytes() {
    let Some(mut m) = Mnt::new() else { return };
    m.sh(r#"echo cached > "$M/all/c.txt" && cat "$M/all/c.txt" >/dev/null"#);
    m.rig.server.kill();
    assert_eq!(
        std::fs::read_to_string(m.at("/all/c.txt")).unwrap(),
        "cached\n"
    );
    let err = {
        use std::io::Write;
        let mut f = std::fs::File::create(m.at("/all/new.txt")).unwrap();
        f.write_all(b"precious").unwrap();
        f.sync_all().unwrap_err()
    };
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    m.rig.server.revive();
    // The sweep retries what could not be stored.
    eventually("the kept write is stored", || {
        m.rig.other().lookup("/all/new.txt").is_ok()
    });
    assert_eq!(std::fs::read(m.at("/all/new.txt")).unwrap(), b"precious");
}
