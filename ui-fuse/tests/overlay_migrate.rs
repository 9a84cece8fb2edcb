//! The overlay's migration step against a real server on 127.0.0.1:0: the
//! files of a lower directory become documents under the prefix with
//! their path, bytes, mtime and tags; a restart migrates nothing twice; a
//! file changed behind the overlay's back becomes the same document's next
//! revision; a commit whose journal entry was lost is adopted, not
//! duplicated.

mod common;

use std::sync::Arc;

use common::{Server, client};
use docgrid_client::tree::Tree;
use docgrid_fuse::overlay::journal::{Journal, SyncState};
use docgrid_fuse::overlay::migrate::Migrator;

fn lower_tree(root: &std::path::Path) -> Vec<(&'static str, Vec<u8>)> {
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("notes.txt", b"take five".to_vec()),
        ("empty", Vec::new()),
        ("scans/2026/re\u{301}çu 1.pdf", vec![7; 300_000]),
        ("scans/über.txt", "grüße".as_bytes().to_vec()),
    ];
    for (p, data) in &files {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, data).unwrap();
    }
    std::os::unix::fs::symlink("notes.txt", root.join("link")).unwrap();
    files
}

fn migrator(
    s: &Server,
    state: &std::path::Path,
    lower: &std::path::Path,
) -> (Migrator, Arc<Journal>) {
    let journal = Arc::new(Journal::open(state).unwrap());
    let tags = vec!["archive".to_string()];
    let m = Migrator::new(
        Tree::new(client(s)),
        journal.clone(),
        lower,
        "office",
        &tags,
    );
    (m, journal)
}

#[test]
fn lower_files_become_documents_once_and_changes_become_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(&dir.path().join("server"));
    let (lower, state) = (dir.path().join("lower"), dir.path().join("state"));
    std::fs::create_dir_all(&state).unwrap();
    std::fs::create_dir_all(&lower).unwrap();
    let files = lower_tree(&lower);
    let (m, journal) = migrator(&s, &state, &lower);
    let scan = m.scan().unwrap();
    assert_eq!(scan.files, 4, "regular files only, not the link");
    let (done, failed) = m.migrate_all().unwrap();
    assert_eq!((done, failed.len()), (4, 0), "{failed:?}");
    let other = Tree::new(client(&s));
    for (p, data) in &files {
        let node = other.lookup(&format!("/files/office/{p}")).unwrap();
        let id = node.id().unwrap();
        assert_eq!(&other.read_at(&id, 0, data.len() + 1).unwrap(), data, "{p}");
        let doc = other.doc(&id).unwrap();
        assert_eq!(doc.meta["path"], vec![format!("office/{p}")]);
        assert_eq!(doc.meta["tag"], vec!["archive".to_string()]);
        assert!(doc.meta.contains_key("mtime"), "{p}");
        assert_eq!(journal.get(p).unwrap().unwrap().state, SyncState::Migrated);
    }
    let commits = |t: &Tree| t.client().commits(0, 1000).unwrap().len();
    let before = commits(&other);
    // A restart: nothing to migrate again.
    drop(m);
    drop(journal);
    let (m, journal) = migrator(&s, &state, &lower);
    assert_eq!(m.scan().unwrap().changed, 0);
    assert_eq!(m.migrate_all().unwrap().0, 0);
    assert_eq!(commits(&other), before, "nothing committed twice");
    // Changed behind the overlay's back: dirty, then the same document's
    // next revision.
    let id = other
        .lookup("/files/office/notes.txt")
        .unwrap()
        .id()
        .unwrap();
    std::fs::write(lower.join("notes.txt"), b"take five, take two").unwrap();
    assert_eq!(m.scan().unwrap().changed, 1);
    assert_eq!(
        journal.get("notes.txt").unwrap().unwrap().state,
        SyncState::Dirty
    );
    assert_eq!(m.migrate("notes.txt").unwrap(), SyncState::Migrated);
    let fresh = Tree::new(client(&s));
    let node = fresh.lookup("/files/office/notes.txt").unwrap();
    assert_eq!(node.id(), Some(id), "the same document");
    assert_eq!(fresh.read_at(&id, 0, 100).unwrap(), b"take five, take two");
    assert_eq!(fresh.client().history(&id).unwrap().len(), 2);
    // A commit that landed without its journal entry (a crash between
    // the two): adopted, not duplicated.
    drop(m);
    drop(journal);
    std::fs::remove_file(state.join(docgrid_fuse::overlay::journal::JOURNAL_FILE)).unwrap();
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(state.join(format!("overlay.sqlite{ext}")));
    }
    let (m, _journal) = migrator(&s, &state, &lower);
    m.scan().unwrap();
    let before = commits(&fresh);
    assert_eq!(m.migrate_all().unwrap().0, 4);
    assert_eq!(commits(&fresh), before, "every document adopted as it is");
    let all = fresh.list("/files/office/").unwrap();
    assert_eq!(
        all.entries().iter().filter(|e| e.id.is_some()).count(),
        2,
        "notes.txt, empty"
    );
}

#[test]
fn a_store_failure_is_recorded_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(&dir.path().join("server"));
    let (lower, state) = (dir.path().join("lower"), dir.path().join("state"));
    std::fs::create_dir_all(&state).unwrap();
    std::fs::create_dir_all(&lower).unwrap();
    std::fs::write(lower.join("a.txt"), b"a").unwrap();
    let journal = Arc::new(Journal::open(&state).unwrap());
    // A token the server does not know: every upload is refused.
    let bad = docgrid_client::Client::new(
        std::slice::from_ref(&s.url),
        "not-a-token",
        docgrid_client::ClientOptions::default(),
    )
    .unwrap();
    let m = Migrator::new(Tree::new(bad), journal.clone(), &lower, "x", &[]);
    m.scan().unwrap();
    assert!(m.migrate("a.txt").is_err());
    let summary = journal.summary().unwrap();
    assert_eq!(summary.failures.len(), 1);
    let (path, reason, attempts) = &summary.failures[0];
    assert_eq!((path.as_str(), *attempts), ("a.txt", 1));
    assert!(
        reason.contains("401") || reason.to_lowercase().contains("token"),
        "{reason}"
    );
}
