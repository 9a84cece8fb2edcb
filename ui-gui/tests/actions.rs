//! The keys that act on the selection, against a real server: Delete
//! means what `rm` means in that directory (untag in `/tags/A/`, and only
//! after asking, delete in `/all/`), Enter opens a copy with the
//! desktop's opener, Space enlarges the preview; and a column's handle
//! resizes it.

use std::time::Instant;

mod common;

use common::{desktop, seeded, settle, settle_on, tree};
use docgrid_gui::columns::{COLUMN_WIDTH, ResizeMsg};
use docgrid_gui::effects::Desktop;
use docgrid_gui::state::{Browser, Key, Message};

fn press(b: &mut Browser, t: &docgrid_client::tree::Tree, k: Key) {
    let effects = b.update(Message::Key(k, Instant::now()));
    settle(b, t, effects);
}

#[test]
fn delete_untags_in_a_tag_directory_and_asks_before_deleting_in_all() {
    let (_dir, s, t) = seeded(&[("/tags/jazz/", "a.txt"), ("/tags/jazz/", "b.txt")]);
    let (mut b, effects) = Browser::new("/tags/jazz/a.txt");
    settle(&mut b, &t, effects);
    let a = b.preview.as_ref().unwrap().id;
    press(&mut b, &t, Key::Delete);
    assert!(b.confirm.is_none(), "untagging is not asked about");
    let other = tree(&s);
    let doc = other.doc(&a).unwrap();
    assert!(
        doc.meta
            .get("tag")
            .is_none_or(|t| !t.contains(&"jazz".into()))
    );
    assert!(
        other.list("/all/").unwrap().get("a.txt").is_some(),
        "still there"
    );
    let col = b.columns.last().unwrap();
    assert_eq!(col.entries().len(), 1, "the column lost it");
    assert_eq!(
        b.preview.as_ref().map(|p| p.path.as_str()),
        Some("/tags/jazz/b.txt"),
        "the selection moves to its neighbour"
    );
    // In /all/ Delete deletes: asked first, Escape cancels, Enter confirms.
    let (mut b, effects) = Browser::new("/all/b.txt");
    settle(&mut b, &t, effects);
    press(&mut b, &t, Key::Delete);
    let q = b.confirm.clone().expect("asked first");
    assert!(q.question.contains("Delete b.txt"), "{}", q.question);
    press(&mut b, &t, Key::Escape);
    assert!(b.confirm.is_none());
    assert!(
        other.list("/all/").unwrap().get("b.txt").is_some(),
        "not deleted"
    );
    press(&mut b, &t, Key::Delete);
    press(&mut b, &t, Key::Enter);
    assert!(b.confirm.is_none());
    let all = tree(&s).list("/all/").unwrap();
    assert!(all.get("b.txt").is_none(), "deleted");
    assert!(all.get("a.txt").is_some(), "only it");
}

#[test]
fn delete_on_a_directory_removes_only_an_empty_one() {
    let (_dir, _s, t) = seeded(&[("/tags/jazz/", "a.txt")]);
    t.mkdir("/tags/empty/").unwrap();
    let (mut b, effects) = Browser::new("/tags/jazz/");
    settle(&mut b, &t, effects);
    b.focus = docgrid_gui::state::Focus::Column(1);
    press(&mut b, &t, Key::Delete);
    let status = b.status.clone().unwrap();
    assert!(status.contains("Cannot remove /tags/jazz/"), "{status}");
    let (mut b, effects) = Browser::new("/tags/empty/");
    settle(&mut b, &t, effects);
    b.focus = docgrid_gui::state::Focus::Column(1);
    press(&mut b, &t, Key::Delete);
    assert_eq!(b.status.as_deref(), Some("Removed /tags/empty/"));
    assert!(t.list("/tags/").unwrap().get("empty").is_none());
}

#[test]
fn enter_opens_a_copy_with_the_desktops_opener_and_space_enlarges_the_preview() {
    let (_dir, _s, t) = seeded(&[("/tags/jazz/", "so-what.txt")]);
    let local = tempfile::tempdir().unwrap();
    let opened = local.path().join("opened");
    let desk = Desktop {
        open_dir: local.path().join("copies"),
        opener: vec![
            "sh".into(),
            "-c".into(),
            format!("cp \"$1\" {}", opened.display()),
            "sh".into(),
        ],
    };
    let (mut b, effects) = Browser::new("/tags/jazz/so-what.txt");
    settle_on(&mut b, &t, &desk, effects);
    let effects = b.update(Message::Key(Key::Enter, Instant::now()));
    settle_on(&mut b, &t, &desk, effects);
    let status = b.status.clone().unwrap();
    assert!(status.starts_with("Opened a copy"), "{status}");
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while !opened.exists() && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(std::fs::read(&opened).unwrap(), b"so-what.txt");
    // An opener that is not there is an error shown, not a silent no-op.
    let missing = Desktop {
        opener: vec!["/nonexistent/opener".into()],
        ..desktop()
    };
    let effects = b.update(Message::Key(Key::Enter, Instant::now()));
    settle_on(&mut b, &t, &missing, effects);
    let status = b.status.clone().unwrap();
    assert!(
        status.contains("Cannot open") && status.contains("/nonexistent/opener"),
        "{status}"
    );
    press(&mut b, &t, Key::Space);
    assert!(b.large);
    press(&mut b, &t, Key::Space);
    assert!(!b.large);
}

#[test]
fn dragging_a_columns_handle_resizes_it_within_bounds() {
    let (_dir, _s, t) = seeded(&[]);
    let (mut b, effects) = Browser::new("/tags/");
    settle(&mut b, &t, effects);
    for m in [
        Message::Resize(ResizeMsg::Start(0)),
        Message::Resize(ResizeMsg::Move(100.0)),
        Message::Resize(ResizeMsg::Move(160.0)),
        // The button comes up: the resize ends.
        Message::PointerUp,
        Message::Resize(ResizeMsg::Move(400.0)),
    ] {
        b.update(m);
    }
    assert_eq!(b.columns[0].width, COLUMN_WIDTH + 60.0);
    assert_eq!(b.columns[1].width, COLUMN_WIDTH);
    for m in [
        ResizeMsg::Start(1),
        ResizeMsg::Move(0.0),
        ResizeMsg::Move(-5000.0),
    ] {
        b.update(Message::Resize(m));
    }
    assert_eq!(b.columns[1].width, docgrid_gui::columns::COLUMN_WIDTHS.0);
}

/// Applies `messages` in order, each one's effects run to the end.
fn run<const N: usize>(b: &mut Browser, t: &docgrid_client::tree::Tree, messages: [Message; N]) {
    for m in messages {
        let effects = b.update(m);
        settle(b, t, effects);
    }
}

/// A drag of row `from` onto row `to` (column, row each).
fn drag(from: (usize, usize), to: (usize, usize)) -> [Message; 4] {
    [
        Message::Press {
            column: from.0,
            row: from.1,
        },
        Message::DragMove,
        Message::Release {
            column: to.0,
            row: to.1,
        },
        Message::PointerUp,
    ]
}

#[test]
fn a_document_dragged_onto_another_columns_directory_moves_there() {
    let (_dir, s, t) = seeded(&[
        ("/tags/jazz/", "a.txt"),
        ("/tags/jazz/", "b.txt"),
        ("/tags/rock/", "c.txt"),
    ]);
    let (mut b, effects) = Browser::new("/tags/jazz/");
    settle(&mut b, &t, effects);
    let row = |b: &Browser, c: usize, name: &str| {
        b.columns[c]
            .entries()
            .iter()
            .position(|e| e.name == name)
            .unwrap()
    };
    // A press and a release on the same row is a click.
    let a = row(&b, 2, "a.txt");
    let click = [
        Message::Press { column: 2, row: a },
        Message::Release { column: 2, row: a },
        Message::PointerUp,
    ];
    run(&mut b, &t, click);
    assert_eq!(b.preview.as_ref().unwrap().path, "/tags/jazz/a.txt");
    // Dragged onto `rock` in /tags/: retagged, as `mv` would.
    let rock = row(&b, 1, "rock");
    run(&mut b, &t, drag((2, a), (1, rock)));
    assert_eq!(b.status.as_deref(), Some("Moved to /tags/rock/a.txt"));
    let other = tree(&s);
    assert!(other.list("/tags/jazz/").unwrap().get("a.txt").is_none());
    assert!(other.list("/tags/rock/").unwrap().get("a.txt").is_some());
    let names: Vec<&str> = b.columns[2]
        .entries()
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["b.txt"], "the column lists it no more");
    // Onto a directory that already has that name: refused, nothing lost.
    t.create("/tags/rock/", "b.txt", b"another b".to_vec().into())
        .unwrap();
    let bt = row(&b, 2, "b.txt");
    run(&mut b, &t, drag((2, bt), (1, rock)));
    let status = b.status.clone().unwrap();
    assert!(status.contains("already has a b.txt"), "{status}");
    assert!(other.list("/tags/jazz/").unwrap().get("b.txt").is_some());
    // Released on no directory: nothing moves.
    let bt = row(&b, 2, "b.txt");
    for m in [Message::Press { column: 2, row: bt }, Message::PointerUp] {
        b.update(m);
    }
    assert!(b.dragging.is_none());
}
