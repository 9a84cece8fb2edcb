//! The journal's unit tests.
use super::*;

fn seen(size: u64, mtime_ns: i64) -> Seen {
    Seen { size, mtime_ns }
}

fn done(j: &Journal, path: &str, s: Seen) -> SyncState {
    let m = Migrated {
        seen: s,
        hash: Digest::of(path.as_bytes()),
        doc: DocId::random(),
        rev: 7,
    };
    j.migrated(path, &m).unwrap()
}

#[test]
fn a_file_moves_from_lower_only_to_migrated_and_a_change_behind_the_back_makes_it_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    assert_eq!(
        j.observe("a.txt", seen(5, 100)).unwrap(),
        SyncState::LowerOnly
    );
    assert!(j.begin("a.txt", seen(5, 100), false).unwrap());
    assert!(
        !j.begin("a.txt", seen(5, 100), false).unwrap(),
        "one upload at a time"
    );
    assert_eq!(done(&j, "a.txt", seen(5, 100)), SyncState::Migrated);
    let r = j.get("a.txt").unwrap().unwrap();
    assert_eq!(
        (r.state, r.rev, r.seen),
        (SyncState::Migrated, Some(7), seen(5, 100))
    );
    assert_eq!(r.hash, Some(Digest::of(b"a.txt")));
    // Seen again unchanged: still migrated; touched behind the
    // overlay's back (mtime, or size): dirty, never served stale.
    assert_eq!(
        j.observe("a.txt", seen(5, 100)).unwrap(),
        SyncState::Migrated
    );
    assert_eq!(j.observe("a.txt", seen(5, 101)).unwrap(), SyncState::Dirty);
    assert!(
        j.begin("a.txt", seen(5, 101), false).unwrap(),
        "migrated again"
    );
}

/// Found by the write-back workload: a lower file looked at by a
/// background batch, then copied up into the spool by a writer before the
/// batch began it, must not be uploaded from the lower directory.
#[test]
fn a_file_copied_up_since_it_was_looked_at_is_not_begun_from_the_lower_copy() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    j.observe("c", seen(3, 3)).unwrap();
    j.spooled("c", seen(4, 4)).unwrap();
    assert!(
        !j.begin("c", seen(3, 3), false).unwrap(),
        "lower bytes refused"
    );
    assert!(j.begin("c", seen(4, 4), true).unwrap(), "the spool's taken");
}

#[test]
fn a_write_during_an_upload_keeps_the_file_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    assert!(j.begin("b", seen(1, 1), false).unwrap());
    j.dirty("b").unwrap();
    assert_eq!(done(&j, "b", seen(1, 1)), SyncState::Dirty);
    let r = j.get("b").unwrap().unwrap();
    assert!(
        r.doc.is_some(),
        "the document is known: the next upload updates it"
    );
}

#[test]
fn a_restart_puts_back_what_an_interrupted_upload_left_and_keeps_what_migrated() {
    let dir = tempfile::tempdir().unwrap();
    {
        let j = Journal::open(dir.path()).unwrap();
        j.observe("new", seen(1, 1)).unwrap();
        j.begin("new", seen(1, 1), false).unwrap();
        j.begin("kept", seen(2, 2), false).unwrap();
        done(&j, "kept", seen(2, 2));
        j.begin("kept", seen(2, 2), false).unwrap_or_default();
        j.observe("changed", seen(3, 3)).unwrap();
        j.begin("changed", seen(3, 3), false).unwrap();
        done(&j, "changed", seen(3, 3));
        j.observe("changed", seen(4, 4)).unwrap();
        j.begin("changed", seen(4, 4), false).unwrap();
        // The process dies here: no `migrated` for `new` or `changed`.
    }
    let j = Journal::open(dir.path()).unwrap();
    let state = |p: &str| j.get(p).unwrap().unwrap().state;
    assert_eq!(state("new"), SyncState::LowerOnly);
    assert_eq!(state("changed"), SyncState::Dirty);
    assert_eq!(state("kept"), SyncState::Migrated, "not uploaded twice");
    let s = j.summary().unwrap();
    assert_eq!(s.of(SyncState::Migrated), (1, 2));
    assert_eq!(s.of(SyncState::Migrating), (0, 0));
}

#[test]
fn failures_are_counted_with_their_reason_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    for _ in 0..2 {
        assert!(j.begin("x", seen(9, 9), false).unwrap());
        j.failed("x", "503: node 2 lost").unwrap();
    }
    let s = j.summary().unwrap();
    assert_eq!(s.failures, vec![("x".into(), "503: node 2 lost".into(), 2)]);
    assert!(j.begin("x", seen(9, 9), false).unwrap());
    assert_eq!(done(&j, "x", seen(9, 9)), SyncState::Migrated);
    let r = j.get("x").unwrap().unwrap();
    assert_eq!((r.attempts, r.error), (0, None));
}

#[test]
fn renames_move_whole_subtrees_and_whiteouts_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    for p in ["d/a", "d/sub/b", "dd/c", "e"] {
        j.observe(p, seen(1, 1)).unwrap();
    }
    j.renamed("d", "e").unwrap();
    assert!(j.get("e/a").unwrap().is_some() && j.get("e/sub/b").unwrap().is_some());
    assert!(j.get("d/a").unwrap().is_none());
    assert!(
        j.get("dd/c").unwrap().is_some(),
        "a sibling with the prefix stays"
    );
    j.removed("dd/c").unwrap();
    j.whiteout("dd/c", true).unwrap();
    assert!(j.is_whiteout("dd/c").unwrap());
    drop(j);
    let j = Journal::open(dir.path()).unwrap();
    assert!(j.is_whiteout("dd/c").unwrap(), "durable");
    j.whiteout("dd/c", false).unwrap();
    assert!(!j.is_whiteout("dd/c").unwrap());
    let lower: Vec<String> = j
        .in_state(SyncState::LowerOnly, 10)
        .unwrap()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(lower, ["e/a", "e/sub/b"]);
}
