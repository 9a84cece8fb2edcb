//! A POSIX conformance subset for `/files/` on a real mount, in the manner
//! of pjdfstest's cases for create, open, read/write, truncate, unlink,
//! rename, mkdir and rmdir: each system call's effect and its errno for
//! the usual failures, through the kernel (std's calls are the system
//! calls). What docgrid deliberately does not support (hard links,
//! symlinks, directory renames) answers as docs/design.md §12 lists.

mod common;
mod mnt;
mod system;

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

use mnt::Mnt;

fn errno(r: std::io::Result<impl std::fmt::Debug>) -> i32 {
    r.expect_err("should fail")
        .raw_os_error()
        .expect("an errno")
}

fn files(m: &Mnt) -> std::path::PathBuf {
    let d = m.at("/files/p");
    fs::create_dir_all(&d).unwrap();
    d
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    n.sort();
    n
}

#[test]
fn create_and_open() {
    let Some(m) = Mnt::new() else { return };
    let d = files(&m);
    let f = d.join("new.txt");
    File::create_new(&f).unwrap();
    let md = fs::metadata(&f).unwrap();
    assert!(md.is_file());
    assert_eq!((md.len(), md.mode() & 0o777), (0, 0o644));
    assert_eq!(errno(File::create_new(&f)), libc::EEXIST, "O_CREAT|O_EXCL");
    assert_eq!(errno(File::open(d.join("missing"))), libc::ENOENT);
    assert_eq!(
        errno(File::create(d.join("missing-dir/x"))),
        libc::ENOENT,
        "a missing parent"
    );
    assert_eq!(
        errno(OpenOptions::new().write(true).open(&d)),
        libc::EISDIR,
        "a directory opened for writing"
    );
    assert_eq!(
        errno(File::open(f.join("below"))),
        libc::ENOTDIR,
        "a file as a directory"
    );
    let long = "x".repeat(256);
    assert_eq!(errno(File::create(d.join(long))), libc::ENAMETOOLONG);
    // O_CREAT without O_EXCL opens the existing file.
    File::create(&f).unwrap().write_all(b"kept?").unwrap();
    assert_eq!(fs::read(&f).unwrap(), b"kept?");
    assert_eq!(m.rig.all_names(), ["new.txt"]);
}

#[test]
fn read_and_write_at_offsets() {
    let Some(m) = Mnt::new() else { return };
    let f = files(&m).join("rw.bin");
    let mut w = File::create(&f).unwrap();
    w.write_all(b"hello").unwrap();
    w.write_all_at(b"X", 10).unwrap();
    w.write_all_at(b"J", 0).unwrap();
    assert_eq!(w.metadata().unwrap().len(), 11, "size from the open file");
    drop(w);
    assert_eq!(
        fs::read(&f).unwrap(),
        b"Jello\0\0\0\0\0X",
        "a hole reads as zeros"
    );
    let mut r = File::open(&f).unwrap();
    r.seek(SeekFrom::Start(8)).unwrap();
    let mut tail = Vec::new();
    r.read_to_end(&mut tail).unwrap();
    assert_eq!(tail, b"\0\0X");
    let mut buf = [0u8; 4];
    assert_eq!(r.read_at(&mut buf, 100).unwrap(), 0, "past the end: EOF");
    assert_eq!(errno(r.write_all(b"no")), libc::EBADF, "written read-only");
    // Read and write on one handle.
    let rw = OpenOptions::new().read(true).write(true).open(&f).unwrap();
    rw.write_all_at(b"HE", 0).unwrap();
    let mut head = [0u8; 5];
    rw.read_exact_at(&mut head, 0).unwrap();
    assert_eq!(&head, b"HEllo");
    drop(rw);
    let mut a = OpenOptions::new().append(true).open(&f).unwrap();
    a.write_all(b"+").unwrap();
    drop(a);
    assert_eq!(fs::read(&f).unwrap(), b"HEllo\0\0\0\0\0X+", "O_APPEND");
    let id = m.rig.doc("/all/rw.bin").id;
    fs::write(&f, b"short").unwrap();
    assert_eq!(fs::read(&f).unwrap(), b"short", "O_TRUNC");
    assert_eq!(m.rig.doc("/all/rw.bin").id, id, "the same document");
}

#[test]
fn truncate_shrinks_and_grows() {
    let Some(m) = Mnt::new() else { return };
    let f = files(&m).join("t.txt");
    fs::write(&f, b"0123456789").unwrap();
    File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_len(4)
        .unwrap();
    assert_eq!(fs::read(&f).unwrap(), b"0123");
    let h = File::options().write(true).open(&f).unwrap();
    h.set_len(6).unwrap();
    assert_eq!(h.metadata().unwrap().len(), 6, "ftruncate");
    drop(h);
    assert_eq!(fs::read(&f).unwrap(), b"0123\0\0");
    assert_eq!(m.rig.doc("/all/t.txt").size, 6, "stored");
    File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_len(0)
        .unwrap();
    assert_eq!(fs::metadata(&f).unwrap().len(), 0);
}

#[test]
fn unlink_removes_and_an_open_file_lives_until_closed() {
    let Some(m) = Mnt::new() else { return };
    let d = files(&m);
    let f = d.join("u.txt");
    fs::write(&f, b"bye").unwrap();
    fs::remove_file(&f).unwrap();
    assert_eq!(errno(fs::metadata(&f)), libc::ENOENT);
    assert_eq!(errno(fs::remove_file(&f)), libc::ENOENT);
    assert_eq!(
        errno(fs::remove_file(&d)),
        libc::EISDIR,
        "unlink of a directory"
    );
    assert!(m.rig.all_names().is_empty(), "the document is deleted");
    // Open, unlink, go on using it, close: nothing is stored.
    let g = d.join("tmp.bin");
    let mut h = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&g)
        .unwrap();
    fs::remove_file(&g).unwrap();
    assert!(!g.exists());
    h.write_all(b"still here").unwrap();
    let mut back = [0u8; 10];
    h.read_exact_at(&mut back, 0).unwrap();
    assert_eq!(&back, b"still here");
    drop(h);
    assert!(names(&d).is_empty());
    assert!(m.rig.all_names().is_empty(), "nothing stored");
}

#[test]
fn rename_moves_replaces_and_refuses() {
    let Some(m) = Mnt::new() else { return };
    let d = files(&m);
    fs::create_dir(d.join("sub")).unwrap();
    fs::write(d.join("a"), b"a").unwrap();
    let id = m.rig.doc("/all/a").id;
    fs::rename(d.join("a"), d.join("b")).unwrap();
    assert_eq!(names(&d), ["b", "sub"]);
    fs::rename(d.join("b"), d.join("sub/c")).unwrap();
    assert_eq!(names(&d.join("sub")), ["c"]);
    let doc = m.rig.doc("/all/c");
    assert_eq!(
        (doc.id, &doc.meta["path"][..]),
        (id, &["p/sub/c".to_string()][..])
    );
    // Over an existing file: the target's document takes the content.
    fs::write(d.join("old"), b"old").unwrap();
    let kept = m.rig.doc("/all/old").id;
    fs::rename(d.join("sub/c"), d.join("old")).unwrap();
    assert_eq!(fs::read(d.join("old")).unwrap(), b"a");
    assert_eq!(m.rig.doc("/all/old").id, kept);
    assert_eq!(m.rig.all_names(), ["old"]);
    assert_eq!(errno(fs::rename(d.join("nope"), d.join("x"))), libc::ENOENT);
    assert_eq!(
        errno(fs::rename(d.join("old"), d.join("sub"))),
        libc::EISDIR
    );
    assert_eq!(
        errno(fs::rename(d.join("sub"), d.join("sub2"))),
        libc::EPERM,
        "a directory is a query; it is not renamed"
    );
    // Out of /files/ into a tag: never EXDEV.
    fs::create_dir(m.at("/tags/t")).unwrap();
    fs::rename(d.join("old"), m.at("/tags/t/old")).unwrap();
    let doc = m.rig.doc("/all/old");
    assert!(!doc.meta.contains_key("path"), "left /files/");
    assert_eq!(doc.meta["tag"], ["t"]);
}

#[test]
fn mkdir_and_rmdir() {
    let Some(m) = Mnt::new() else { return };
    let d = files(&m);
    let sub = d.join("s");
    fs::create_dir(&sub).unwrap();
    let md = fs::metadata(&sub).unwrap();
    assert!(md.is_dir());
    assert_eq!(md.permissions().mode() & 0o777, 0o755);
    assert_eq!(errno(fs::create_dir(&sub)), libc::EEXIST);
    assert_eq!(errno(fs::create_dir(d.join("no/such"))), libc::ENOENT);
    fs::write(sub.join("f"), b"f").unwrap();
    assert_eq!(errno(fs::create_dir(sub.join("f"))), libc::EEXIST);
    assert_eq!(errno(fs::remove_dir(&sub)), libc::ENOTEMPTY);
    assert_eq!(errno(fs::remove_dir(sub.join("f"))), libc::ENOTDIR);
    fs::remove_file(sub.join("f")).unwrap();
    fs::remove_dir(&sub).unwrap();
    assert_eq!(errno(fs::metadata(&sub)), libc::ENOENT);
    assert_eq!(errno(fs::remove_dir(&sub)), libc::ENOENT);
    // An empty directory survives a remount (it is stored, not cached).
    fs::create_dir(d.join("kept")).unwrap();
    assert!(m.rig.other().lookup("/files/p/kept/").is_ok());
}

#[test]
fn stat_times_and_fsync() {
    let Some(m) = Mnt::new() else { return };
    let f = files(&m).join("s.txt");
    let mut h = File::create(&f).unwrap();
    h.write_all(b"synced").unwrap();
    h.sync_all().unwrap();
    assert_eq!(m.rig.doc("/all/s.txt").size, 6, "stored when fsync returns");
    let then = SystemTime::UNIX_EPOCH + Duration::new(1_000_000_000, 123_456_789);
    h.set_modified(then).unwrap();
    drop(h);
    let md = fs::metadata(&f).unwrap();
    assert_eq!(md.modified().unwrap(), then, "utimens, to the nanosecond");
    assert_eq!(md.len(), 6);
    assert_eq!(md.nlink(), 1);
    assert!(md.blocks() >= 1);
    // chmod is accepted and changes nothing docgrid keeps.
    fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(fs::read(&f).unwrap(), b"synced");
}

#[test]
fn links_are_refused() {
    let Some(m) = Mnt::new() else { return };
    let d = files(&m);
    fs::write(d.join("a"), b"a").unwrap();
    assert_eq!(errno(fs::hard_link(d.join("a"), d.join("b"))), libc::EPERM);
    assert_eq!(
        errno(std::os::unix::fs::symlink("a", d.join("l"))),
        libc::EPERM
    );
    assert_eq!(names(&d), ["a"]);
}
