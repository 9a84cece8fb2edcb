//! The filesystem core without a kernel, against a real server: what each
//! operation commits, editors' save sequences, recursive deletes, extended
//! attributes, inodes, and failures that keep what was written.

mod common;

use common::{Rig, pid, tags};
use docgrid_fuse::fs::{RENAME_EXCHANGE, RENAME_NOREPLACE, XattrReply};

#[test]
fn a_file_written_in_a_tag_directory_is_a_tagged_document() {
    let r = Rig::new();
    r.write_new("/tags/jazz/", "set.txt", b"so what");
    let doc = r.doc("/tags/jazz/set.txt");
    assert_eq!(tags(&doc), ["jazz"]);
    assert_eq!(r.read("/all/set.txt"), b"so what");
    assert!(
        doc.meta.contains_key("mtime"),
        "the mtime of the write is kept"
    );
    r.write_new("/files/a/b/", "n.md", b"# n");
    assert_eq!(r.doc("/files/a/b/n.md").meta["path"], ["a/b/n.md"]);
    assert_eq!(r.all_names(), ["n.md", "set.txt"]);
}

#[test]
fn an_overwrite_keeps_the_id_tags_and_metadata() {
    let r = Rig::new();
    r.write_new("/tags/a/b/", "x.txt", b"one");
    let before = r.doc("/tags/a/x.txt");
    r.overwrite("/tags/b/x.txt", b"two, longer");
    let after = r.doc("/tags/a/b/x.txt");
    assert_eq!(after.id, before.id);
    assert_eq!(tags(&after), ["a", "b"]);
    assert_eq!(r.read("/all/x.txt"), b"two, longer");
    assert_eq!(r.all_names(), ["x.txt"]);
    // Truncate to 3 with no handle open: committed at once.
    let ino = r.lookup("/all/x.txt").unwrap().ino;
    r.fs.setattr(ino, Some(3), None).unwrap();
    assert_eq!(r.read("/all/x.txt"), b"two");
    assert_eq!(r.doc("/all/x.txt").id, before.id);
}

#[test]
fn vims_save_sequence_keeps_one_document_with_its_id_and_tags() {
    let r = Rig::new();
    r.write_new("/tags/notes/", "todo.txt", b"old");
    let id = r.doc("/tags/notes/todo.txt").id;
    let dir = r.dir("/tags/notes/");
    // The 4913 probe, the swap file, the backup rename, the new file.
    let probe = r.write_new("/tags/notes/", "4913", b"");
    assert!(probe > 0);
    r.fs.unlink(dir, "4913", pid()).unwrap();
    r.write_new("/tags/notes/", ".todo.txt.swp", b"swap");
    r.fs.rename((dir, "todo.txt"), (dir, "todo.txt~"), 0, pid())
        .unwrap();
    assert_eq!(r.ls("/tags/notes/"), [".todo.txt.swp", "todo.txt~"]);
    let (a, fh) = r.fs.create(dir, "todo.txt", pid()).unwrap();
    r.fs.write(a.ino, fh, 0, b"new content").unwrap();
    r.fs.fsync(a.ino).unwrap();
    r.fs.release(a.ino, fh).unwrap();
    r.fs.unlink(dir, "todo.txt~", pid()).unwrap();
    r.fs.unlink(dir, ".todo.txt.swp", pid()).unwrap();
    assert_eq!(r.all_names(), ["todo.txt"]);
    let doc = r.doc("/tags/notes/todo.txt");
    assert_eq!(doc.id, id);
    assert_eq!(tags(&doc), ["notes"]);
    assert_eq!(r.read("/tags/notes/todo.txt"), b"new content");
    assert_eq!(r.ls("/tags/notes/"), ["todo.txt"]);
}

#[test]
fn geditss_atomic_save_replaces_the_content_of_the_same_document() {
    let r = Rig::new();
    r.write_new("/tags/t/", "doc.txt", b"first");
    let id = r.doc("/tags/t/doc.txt").id;
    let dir = r.dir("/tags/t/");
    r.write_new("/tags/t/", ".goutputstream-XYZ123", b"second version");
    assert_eq!(r.all_names(), ["doc.txt"], "scratch is never a document");
    r.fs.rename((dir, ".goutputstream-XYZ123"), (dir, "doc.txt"), 0, pid())
        .unwrap();
    assert_eq!(r.all_names(), ["doc.txt"]);
    let doc = r.doc("/tags/t/doc.txt");
    assert_eq!(doc.id, id);
    assert_eq!(r.read("/all/doc.txt"), b"second version");
    // And an atomic save onto a document of another one, through the tree.
    r.write_new("/tags/t/", "doc.txt.new", b"third");
    r.fs.rename((dir, "doc.txt.new"), (dir, "doc.txt"), 0, pid())
        .unwrap();
    assert_eq!(r.all_names(), ["doc.txt"]);
    assert_eq!(r.doc("/all/doc.txt").id, id);
    assert_eq!(r.read("/all/doc.txt"), b"third");
}

/// `rm -r /tags/A` as rm does it: depth first, files of each directory,
/// then the directory.
fn rm_r(r: &Rig, path: &str) {
    let ino = r.dir(path);
    for name in r.ls(path) {
        let child = format!("{path}{name}");
        if r.lookup(&child).unwrap().kind.is_dir() {
            rm_r(r, &format!("{child}/"));
            r.fs.rmdir(ino, &name, pid()).unwrap();
        } else {
            r.fs.unlink(ino, &name, pid()).unwrap();
        }
    }
}

#[test]
fn rm_r_of_a_tag_removes_that_tag_and_nothing_else() {
    let r = Rig::new();
    r.write_new("/tags/A/B/", "ab.txt", b"1");
    r.write_new("/tags/A/C/", "ac.txt", b"2");
    r.write_new("/tags/B/", "b.txt", b"3");
    r.write_new("/tags/A/", "a.txt", b"4");
    let ids: Vec<_> = ["ab.txt", "ac.txt", "b.txt", "a.txt"]
        .iter()
        .map(|n| r.doc(&format!("/all/{n}")).id)
        .collect();
    rm_r(&r, "/tags/A/");
    r.fs.rmdir(r.dir("/tags/"), "A", pid()).unwrap();
    r.fs.settle().unwrap();
    let t = |i: usize| tags(&r.doc_by_id(&ids[i]).expect("never deleted"));
    assert_eq!(t(0), ["B"]);
    assert_eq!(t(1), ["C"]);
    assert_eq!(t(2), ["B"]);
    assert!(t(3).is_empty(), "a.txt lost its last tag and stays in /all");
    assert_eq!(r.all_names().len(), 4);
    assert!(!r.ls("/tags/").contains(&"A".to_string()));
}

#[test]
fn rm_in_a_co_tag_directory_removes_only_that_tag() {
    let r = Rig::new();
    r.write_new("/tags/A/B/", "x.txt", b"x");
    r.fs.unlink(r.dir("/tags/A/B/"), "x.txt", pid()).unwrap();
    assert!(r.ls("/tags/A/B/").is_empty(), "gone from the mount at once");
    r.fs.settle().unwrap();
    assert_eq!(tags(&r.doc("/all/x.txt")), ["A"]);
    // rm -r /tags/A/B: B goes from the documents tagged A and B.
    r.write_new("/tags/A/B/C/", "y.txt", b"y");
    rm_r(&r, "/tags/A/B/");
    r.fs.rmdir(r.dir("/tags/A/"), "B", pid()).unwrap();
    r.fs.settle().unwrap();
    assert_eq!(tags(&r.doc("/all/y.txt")), ["A", "C"]);
}

#[test]
fn rmdir_refuses_a_tag_in_use_and_removes_an_empty_one() {
    let r = Rig::new();
    let tags_dir = r.dir("/tags/");
    r.fs.mkdir(tags_dir, "empty", pid()).unwrap();
    assert!(r.ls("/tags/").contains(&"empty".to_string()));
    assert_eq!(
        r.fs.mkdir(tags_dir, "empty", pid()).unwrap_err().errno(),
        libc::EEXIST
    );
    r.write_new("/tags/used/", "u.txt", b"u");
    assert_eq!(
        r.fs.rmdir(tags_dir, "used", pid()).unwrap_err().errno(),
        libc::ENOTEMPTY
    );
    r.fs.rmdir(tags_dir, "empty", pid()).unwrap();
    assert!(!r.ls("/tags/").contains(&"empty".to_string()));
    let co = r.dir("/tags/used/");
    r.write_new("/tags/used/more/", "m.txt", b"m");
    assert_eq!(
        r.fs.rmdir(co, "more", pid()).unwrap_err().errno(),
        libc::ENOTEMPTY
    );
}

#[test]
fn mv_between_tags_changes_exactly_those_tags() {
    let r = Rig::new();
    r.write_new("/tags/inbox/keep/", "x.pdf", b"%PDF");
    let (from, to) = (r.dir("/tags/inbox/"), r.mkdir_p("/tags/taxes/"));
    r.fs.rename((from, "x.pdf"), (to, "x.pdf"), 0, pid())
        .unwrap();
    assert_eq!(tags(&r.doc("/all/x.pdf")), ["keep", "taxes"]);
    r.fs.rename((to, "x.pdf"), (to, "y.pdf"), 0, pid()).unwrap();
    assert_eq!(r.all_names(), ["y.pdf"]);
}

#[test]
fn rename_flags_links_and_symlinks_answer_as_documented() {
    let r = Rig::new();
    r.write_new("/all/", "a", b"a");
    r.write_new("/all/", "b", b"b");
    let all = r.dir("/all/");
    let e =
        r.fs.rename((all, "a"), (all, "b"), RENAME_NOREPLACE, pid())
            .unwrap_err();
    assert_eq!(e.errno(), libc::EEXIST);
    let e =
        r.fs.rename((all, "a"), (all, "b"), RENAME_EXCHANGE, pid())
            .unwrap_err();
    assert_eq!(e.errno(), libc::EINVAL);
    let a = r.lookup("/all/a").unwrap().ino;
    assert_eq!(r.fs.link(a, all, "c").unwrap_err().errno(), libc::EPERM);
    assert_eq!(
        r.fs.symlink(all, "l", "a").unwrap_err().errno(),
        libc::EPERM
    );
    let lock = r.fs.symlink(all, ".#a", "user@host.123").unwrap();
    assert_eq!(r.fs.readlink(lock.ino).unwrap(), "user@host.123");
    assert_eq!(r.all_names(), ["a", "b"]);
    let e =
        r.fs.rename((r.dir("/tags/"), "x"), (all, "x"), 0, pid())
            .unwrap_err();
    assert_eq!(e.errno(), libc::ENOENT);
}

#[test]
fn extended_attributes_never_answer_enosys() {
    let r = Rig::new();
    r.write_new("/tags/jazz/", "k.flac", b"music");
    let ino = r.lookup("/all/k.flac").unwrap().ino;
    let fs = &r.fs;
    let errno = |e: docgrid_fuse::fs::FsError| e.errno();
    assert_eq!(
        fs.getxattr(ino, "user.docgrid.artist", 0).map_err(errno),
        Err(libc::ENODATA)
    );
    assert_eq!(
        fs.getxattr(ino, "security.selinux", 0).map_err(errno),
        Err(libc::ENOTSUP)
    );
    assert_eq!(
        fs.getxattr(ino, "user.other", 0).map_err(errno),
        Err(libc::ENODATA)
    );
    fs.setxattr(ino, "user.docgrid.artist", b"Miles Davis")
        .unwrap();
    assert_eq!(
        fs.getxattr(ino, "user.docgrid.artist", 0).unwrap(),
        XattrReply::Size(11)
    );
    assert_eq!(
        fs.getxattr(ino, "user.docgrid.artist", 4).map_err(errno),
        Err(libc::ERANGE)
    );
    assert_eq!(
        fs.getxattr(ino, "user.docgrid.artist", 64).unwrap(),
        XattrReply::Data(b"Miles Davis".to_vec())
    );
    let XattrReply::Data(list) = fs.listxattr(ino, 4096).unwrap() else {
        panic!("a list")
    };
    let list = String::from_utf8(list).unwrap();
    assert!(
        list.contains("user.docgrid.artist\0") && list.contains("user.docgrid.tag\0"),
        "{list}"
    );
    assert_eq!(
        fs.setxattr(ino, "trusted.x", b"1").map_err(errno),
        Err(libc::ENOTSUP)
    );
    fs.removexattr(ino, "user.docgrid.artist").unwrap();
    assert_eq!(
        fs.removexattr(ino, "user.docgrid.artist").map_err(errno),
        Err(libc::ENODATA)
    );
    assert_eq!(r.other().list("/by/artist/").unwrap().entries().len(), 0);
}

#[test]
fn inodes_are_one_per_document_and_one_per_directory_path() {
    let r = Rig::new();
    r.write_new("/tags/a/b/", "x", b"x");
    let (ab, ba) = (r.dir("/tags/a/b/"), r.dir("/tags/b/a/"));
    assert_ne!(ab, ba);
    let x1 = r.lookup("/tags/a/b/x").unwrap().ino;
    let x2 = r.lookup("/all/x").unwrap().ino;
    assert_eq!(x1, x2);
    let fh = r.fs.opendir(ab, pid()).unwrap();
    let items = r.readdir_all(ab, fh);
    assert_eq!(items[0].ino, ab);
    assert_eq!(items[1].ino, r.dir("/tags/a/"), "`..` is the parent path");
    assert!(items.iter().all(|i| i.attr.nlink == 1));
    r.fs.releasedir(fh);
    let a = r.lookup("/all/x").unwrap();
    assert_eq!((a.perm, a.size, a.blocks()), (0o644, 1, 1));
    assert_eq!(r.lookup("/recent/").unwrap().perm, 0o555);
}

#[test]
fn a_write_that_cannot_be_stored_fails_at_close_and_keeps_the_bytes() {
    let mut r = Rig::new();
    r.write_new("/all/", "kept.txt", b"v1");
    assert_eq!(
        r.read("/all/kept.txt"),
        b"v1",
        "read once: now in the cache"
    );
    let dir = r.dir("/all/");
    let (a, fh) = r.fs.create(dir, "new.txt", pid()).unwrap();
    r.fs.write(a.ino, fh, 0, b"precious").unwrap();
    r.server.kill();
    let e = r.fs.flush(a.ino, fh).unwrap_err();
    assert_eq!(e.errno(), libc::EIO, "{e}");
    assert!(e.to_string().contains("kept in"), "{e}");
    assert_eq!(r.fs.release(a.ino, fh).unwrap_err().errno(), libc::EIO);
    let kept: Vec<_> = std::fs::read_dir(r.dir.path().join("spool"))
        .unwrap()
        .collect();
    assert!(!kept.is_empty(), "the spool keeps the bytes");
    assert_eq!(
        r.read("/all/kept.txt"),
        b"v1",
        "cached reads work with the server down"
    );
    r.server.revive();
    r.fs.fsync(a.ino).unwrap();
    assert_eq!(r.read("/all/new.txt"), b"precious");
}

#[test]
fn a_time_set_on_an_open_file_is_committed_at_close() {
    let r = Rig::new();
    let dir = r.mkdir_p("/files/p/");
    let (a, fh) = r.fs.create(dir, "s.txt", pid()).unwrap();
    r.fs.write(a.ino, fh, 0, b"synced").unwrap();
    r.fs.fsync(a.ino).unwrap();
    let then = std::time::UNIX_EPOCH + std::time::Duration::new(1_000_000_000, 123_456_789);
    assert_eq!(r.fs.setattr(a.ino, None, Some(then)).unwrap().mtime, then);
    r.fs.flush(a.ino, fh).unwrap();
    r.fs.release(a.ino, fh).unwrap();
    assert_eq!(
        r.doc("/all/s.txt").meta[docgrid_core::api::MTIME_KEY],
        ["2001-09-09T01:46:40.123456789Z"]
    );
    assert_eq!(r.fs.getattr(a.ino).unwrap().mtime, then);
}

#[test]
fn another_clients_commit_makes_the_kernel_forget_only_the_names_it_changed() {
    let r = Rig::new();
    r.write_new("/tags/jazz/", "a.txt", b"a");
    r.write_new("/tags/jazz/", "b.txt", b"b");
    r.fs.tree().follow_changes();
    let start = std::time::Instant::now();
    while !r.fs.tree().is_live() && start.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let jazz = r.dir("/tags/jazz/");
    r.lookup("/tags/jazz/a.txt").unwrap();
    r.lookup("/tags/jazz/b.txt").unwrap();
    let changes = r.fs.tree().subscribe();
    r.other()
        .rename("/tags/jazz/", "a.txt", "/tags/jazz/", "c.txt")
        .unwrap();
    let wait = std::time::Duration::from_secs(5);
    let change = std::iter::from_fn(|| changes.recv_timeout(wait).ok())
        .find(|c| c.paths.iter().any(|p| p == "/tags/jazz/"))
        .expect("told that /tags/jazz/ changed");
    assert!(!change.own);
    let forgotten = r.fs.invalidations(&change).entries;
    assert_eq!(
        forgotten,
        [(jazz, "a.txt".to_string())],
        "b.txt still stands for the same document"
    );
}

#[test]
fn the_mounts_own_commit_makes_the_kernel_forget_no_name() {
    let r = Rig::new();
    r.write_new("/tags/jazz/", "a.txt", b"a");
    let jazz = r.dir("/tags/jazz/");
    r.lookup("/tags/jazz/a.txt").unwrap();
    let changes = r.fs.tree().subscribe();
    r.write_new("/tags/jazz/", "b.txt", b"b");
    let change = changes
        .recv_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    assert!(
        change.own && change.paths.contains(&"/tags/jazz/".to_string()),
        "{change:?}"
    );
    let inval = r.fs.invalidations(&change);
    assert!(inval.entries.is_empty(), "{inval:?}");
    assert!(
        inval.inodes.contains(&jazz),
        "its listing (and attributes) are stale: {inval:?}"
    );
}

#[test]
fn a_large_directory_is_read_a_page_at_a_time_from_one_snapshot() {
    use docgrid_fuse::fs::DIR_PAGE;
    let r = Rig::new();
    let other = r.other();
    for i in 0..200 {
        let name = format!("f{i:03}.txt");
        other
            .create("/tags/big/", &name, b"x".as_slice().into())
            .unwrap();
    }
    let dir = r.dir("/tags/big/");
    let before = r.fs.inode_count();
    let fh = r.fs.opendir(dir, pid()).unwrap();
    let first = r.fs.readdir(dir, fh, 0).unwrap();
    assert_eq!(first.len(), DIR_PAGE);
    assert!(
        r.fs.inode_count() - before <= DIR_PAGE,
        "inodes are made for the page read, not the directory"
    );
    // A commit between two reads does not change what the handle shows.
    r.write_new("/tags/big/", "aaa-new.txt", b"new");
    // The same cookie twice (a reply the kernel could not take) gives the
    // same entries.
    let cookie = first[9].0;
    let again = r.fs.readdir(dir, fh, cookie).unwrap();
    assert_eq!(again[0].1.name, first[10].1.name);
    let mut names: Vec<String> = first.iter().map(|(_, i)| i.name.clone()).collect();
    let mut at = first.last().unwrap().0;
    loop {
        let page = r.fs.readdir(dir, fh, at).unwrap();
        let Some((last, _)) = page.last() else { break };
        at = *last;
        names.extend(page.into_iter().map(|(_, i)| i.name));
    }
    assert_eq!(names.len(), 202, "., .. and the 200 documents, once each");
    assert!(!names.contains(&"aaa-new.txt".to_string()));
    // A rewind takes a new snapshot.
    let rewound: Vec<String> = r.readdir_all(dir, fh).into_iter().map(|i| i.name).collect();
    assert!(rewound.contains(&"aaa-new.txt".to_string()));
    r.fs.releasedir(fh);
}
