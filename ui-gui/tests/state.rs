//! The browser's state without a window, against a real server on
//! 127.0.0.1:0: navigation opens the columns the tree layer lists, the
//! keyboard and type-ahead move the selection, and another client's
//! commit reaches an open column through the change feed.

use std::time::{Duration, Instant};

mod common;

use common::{seeded as seed, settle, tree};
use docgrid_client::tree::Tree;
use docgrid_gui::edit::EditMsg;
use docgrid_gui::effects::run_blocking;
use docgrid_gui::state::{Browser, Effect, Focus, Key, Message};
use docgrid_server::testing::TestServer;

/// The tags of the document at `path`, fresh from the server.
fn tags_at(s: &TestServer, path: &str) -> Vec<String> {
    let t = tree(s);
    let id = t.lookup(path).unwrap().id().unwrap();
    t.client().doc(&id).unwrap().meta["tag"].clone()
}

fn names(b: &Browser, column: usize) -> Vec<String> {
    b.columns[column]
        .entries()
        .iter()
        .map(|e| e.name.clone())
        .collect()
}

fn row_of(b: &Browser, column: usize, name: &str) -> usize {
    b.columns[column]
        .entries()
        .iter()
        .position(|e| e.name == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", names(b, column)))
}

fn click(b: &mut Browser, t: &Tree, column: usize, name: &str) {
    let row = row_of(b, column, name);
    let effects = b.update(Message::Select { column, row });
    settle(b, t, effects);
}

fn key(b: &mut Browser, t: &Tree, k: Key, at: Instant) {
    let effects = b.update(Message::Key(k, at));
    settle(b, t, effects);
}

fn seeded() -> (tempfile::TempDir, TestServer, Tree) {
    seed(&[
        ("/tags/jazz/", "so-what.txt"),
        ("/tags/jazz/", "blue-in-green.txt"),
        ("/tags/jazz/", "all-blues.txt"),
        ("/tags/rock/", "x.txt"),
    ])
}

#[test]
fn clicking_through_opens_the_columns_the_tree_lists_and_a_document_opens_its_preview() {
    let (_d, _s, t) = seeded();
    let (mut b, effects) = Browser::new("/");
    settle(&mut b, &t, effects);
    let listed = |p: &str| -> Vec<String> {
        t.list(p)
            .unwrap()
            .entries()
            .iter()
            .map(|e| e.name.clone())
            .collect()
    };
    assert_eq!(names(&b, 0), listed("/"));
    click(&mut b, &t, 0, "tags");
    click(&mut b, &t, 1, "jazz");
    let paths: Vec<&str> = b.columns.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["/", "/tags/", "/tags/jazz/"]);
    assert_eq!(names(&b, 2), listed("/tags/jazz/"));
    click(&mut b, &t, 2, "so-what.txt");
    let p = b.preview.as_ref().expect("a preview");
    assert_eq!(p.path, "/tags/jazz/so-what.txt");
    assert_eq!(p.doc.as_ref().unwrap().meta["tag"], ["jazz"]);
    assert_eq!(b.path(), "/tags/jazz/so-what.txt");
    // Another directory higher up closes the deeper columns and the preview.
    click(&mut b, &t, 1, "rock");
    assert_eq!(b.columns.len(), 3);
    assert_eq!(names(&b, 2), ["x.txt"]);
    assert!(b.preview.is_none());
}

#[test]
fn a_start_path_opens_its_ancestors_with_the_way_selected() {
    let (_d, _s, t) = seeded();
    let (mut b, effects) = Browser::new("/tags/jazz/");
    settle(&mut b, &t, effects);
    assert_eq!(b.columns.len(), 3);
    let sel = |c: usize| b.columns[c].selected_entry().map(|e| e.name.clone());
    assert_eq!(sel(0).as_deref(), Some("tags"));
    assert_eq!(sel(1).as_deref(), Some("jazz"));
    assert_eq!(b.focus, Focus::Column(2));
}

#[test]
fn arrows_and_type_ahead_move_the_selection() {
    let (_d, _s, t) = seeded();
    let (mut b, effects) = Browser::new("/tags/jazz/");
    settle(&mut b, &t, effects);
    let t0 = Instant::now();
    key(&mut b, &t, Key::Down, t0);
    assert_eq!(b.columns[2].selected, Some(0));
    assert!(
        b.preview.is_some(),
        "a document selected by key is previewed"
    );
    key(&mut b, &t, Key::Char('b'), t0);
    assert_eq!(
        b.columns[2].selected_entry().unwrap().name,
        "blue-in-green.txt"
    );
    key(&mut b, &t, Key::Char('S'), t0 + Duration::from_millis(300));
    assert_eq!(
        b.columns[2].selected_entry().unwrap().name,
        "blue-in-green.txt",
        "\"bs\" matches nothing: the selection stays"
    );
    key(&mut b, &t, Key::Char('s'), t0 + Duration::from_secs(2));
    assert_eq!(
        b.columns[2].selected_entry().unwrap().name,
        "so-what.txt",
        "reset after 1 s"
    );
    key(&mut b, &t, Key::Right, t0);
    assert_eq!(b.focus, Focus::Preview);
    key(&mut b, &t, Key::Left, t0);
    key(&mut b, &t, Key::Left, t0);
    assert_eq!(b.focus, Focus::Column(1));
    key(&mut b, &t, Key::Down, t0);
    assert_eq!(b.columns[1].selected_entry().unwrap().name, "rock");
    assert_eq!(names(&b, 2), ["x.txt"]);
}

#[test]
fn another_clients_commit_updates_an_open_column() {
    let (_d, s, t) = seeded();
    t.follow_changes();
    let start = Instant::now();
    while !t.is_live() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let changes = t.subscribe();
    let (mut b, effects) = Browser::new("/tags/jazz/");
    settle(&mut b, &t, effects);
    tree(&s)
        .create("/tags/jazz/", "new-one.txt", b"new".as_slice().into())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !names(&b, 2).contains(&"new-one.txt".to_string()) {
        let c = changes
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("told of the commit");
        let effects = b.update(Message::Changed(c));
        settle(&mut b, &t, effects);
    }
    assert!(!b.loading());
}

#[test]
fn a_search_opens_a_results_column_and_a_bad_one_names_the_position() {
    let (_d, _s, t) = seeded();
    let (mut b, effects) = Browser::new("/");
    settle(&mut b, &t, effects);
    b.update(Message::SearchInput("tag:rock".into()));
    let effects = b.update(Message::SearchSubmit);
    settle(&mut b, &t, effects);
    let last = b.columns.last().unwrap();
    assert!(last.path.starts_with("/search/"), "{}", last.path);
    assert_eq!(names(&b, b.columns.len() - 1), ["x.txt"]);
    b.update(Message::SearchInput("year>=".into()));
    let effects = b.update(Message::SearchSubmit);
    assert!(effects.is_empty(), "nothing is fetched for a bad query");
    let e = b.search.error.clone().expect("the parser's complaint");
    assert_eq!(e.offset, 6);
    assert!(b.search.marked().unwrap().contains("      ^"));
    assert_eq!(
        names(&b, b.columns.len() - 1),
        ["x.txt"],
        "the results stay"
    );
}

#[test]
fn a_text_preview_shows_the_content_and_a_passed_selection_fetches_nothing() {
    let (_d, _s, t) = seeded();
    let (mut b, effects) = Browser::new("/tags/jazz/so-what.txt");
    settle(&mut b, &t, effects);
    let p = b.preview.as_ref().unwrap();
    assert_eq!(
        p.text.as_deref(),
        Some("so-what.txt"),
        "the content, as text"
    );
    assert!(b.settled());
    // A run of quick selections (↓ held): the first is fetched at once,
    // the next wait; a settle that comes after the selection moved on
    // fetches nothing.
    std::thread::sleep(docgrid_gui::preview::SETTLE + Duration::from_millis(50));
    let lead = b.update(Message::Select { column: 2, row: 2 });
    assert!(matches!(lead.first(), Some(Effect::Doc { .. })), "{lead:?}");
    let first = b.update(Message::Select { column: 2, row: 0 });
    let second = b.update(Message::Select { column: 2, row: 1 });
    assert!(matches!(first.as_slice(), [Effect::Settle(_)]), "{first:?}");
    let late = b.update(run_blocking(&t, &common::desktop(), first[0].clone()));
    assert!(late.is_empty(), "{late:?}");
    settle(&mut b, &t, second);
    assert_eq!(
        b.preview.as_ref().unwrap().text.as_deref(),
        Some("blue-in-green.txt")
    );
}

#[test]
fn a_keyboard_selection_out_of_view_is_scrolled_to() {
    let docs: Vec<(String, String)> = (0..40)
        .map(|i| ("/tags/many/".to_string(), format!("n{i:02}.txt")))
        .collect();
    let refs: Vec<(&str, &str)> = docs.iter().map(|(d, n)| (d.as_str(), n.as_str())).collect();
    let (_d, _s, t) = seed(&refs);
    let (mut b, effects) = Browser::new("/tags/many/");
    settle(&mut b, &t, effects);
    b.update(Message::Scrolled {
        column: 2,
        offset: 0.0,
        height: 240.0,
    });
    key(&mut b, &t, Key::Down, Instant::now());
    assert_eq!(b.reveal(), None, "the first row is in view");
    key(&mut b, &t, Key::End, Instant::now());
    let (c, y) = b.reveal().expect("the last row is out of view");
    assert_eq!((c, y), (2, 40.0 * 24.0 - 240.0));
    assert_eq!(b.reveal(), None, "now it is in view");
    key(&mut b, &t, Key::Home, Instant::now());
    assert_eq!(b.reveal(), Some((2, 0.0)));
}

#[test]
fn tags_edited_in_the_preview_are_committed_and_a_conflicting_edit_is_shown_not_applied() {
    let (_d, s, t) = seeded();
    let (mut b, effects) = Browser::new("/tags/jazz/so-what.txt");
    settle(&mut b, &t, effects);
    let edit = |b: &mut Browser, m: EditMsg| {
        let effects = b.update(Message::Edit(m));
        settle(b, &t, effects);
    };
    edit(&mut b, EditMsg::TagInput("modal".into()));
    edit(&mut b, EditMsg::AddTag);
    assert_eq!(tags_at(&s, "/tags/modal/so-what.txt"), ["jazz", "modal"]);
    let shown = b.preview.as_ref().unwrap().doc.as_ref().unwrap().meta["tag"].clone();
    assert_eq!(
        shown,
        ["jazz", "modal"],
        "the preview shows the new revision"
    );
    // Someone else changes the document; an edit against what the
    // preview shows is refused and shown, and nothing is overwritten.
    let other = tree(&s);
    let node = other.lookup("/tags/jazz/so-what.txt").unwrap();
    other
        .set_xattr(&node, "user.docgrid.artist", b"Miles")
        .unwrap();
    edit(
        &mut b,
        EditMsg::Remove {
            key: "tag".into(),
            value: "modal".into(),
        },
    );
    let p = b.preview.as_ref().unwrap();
    let conflict = p.editing.conflict.clone().expect("the conflict is shown");
    assert!(
        conflict.contains("so-what.txt") || conflict.contains("conflict"),
        "{conflict}"
    );
    assert_eq!(
        tags_at(&s, "/tags/modal/so-what.txt"),
        ["jazz", "modal"],
        "not applied"
    );
    edit(&mut b, EditMsg::Reload);
    let p = b.preview.as_ref().unwrap();
    assert!(p.editing.conflict.is_none());
    assert_eq!(p.doc.as_ref().unwrap().meta["artist"], ["Miles"]);
}

#[test]
fn undo_takes_back_the_last_edit_and_a_rename_is_one_commit() {
    let (_d, s, t) = seeded();
    let (mut b, effects) = Browser::new("/tags/jazz/so-what.txt");
    settle(&mut b, &t, effects);
    let edit = |b: &mut Browser, m: Message| {
        let effects = b.update(m);
        settle(b, &t, effects);
    };
    edit(
        &mut b,
        Message::Edit(EditMsg::PairInput("year=1959".into())),
    );
    edit(&mut b, Message::Edit(EditMsg::AddPair));
    let meta = |b: &Browser| {
        b.preview
            .as_ref()
            .unwrap()
            .doc
            .as_ref()
            .unwrap()
            .meta
            .clone()
    };
    assert_eq!(meta(&b)["year"], ["1959"]);
    edit(&mut b, Message::Edit(EditMsg::TagInput("jazz".into())));
    edit(&mut b, Message::Edit(EditMsg::AddTag));
    // Adding a tag already there changed nothing: undo takes back the year.
    edit(&mut b, Message::Undo);
    assert!(!meta(&b).contains_key("year"), "{:?}", meta(&b));
    assert_eq!(tags_at(&s, "/tags/jazz/so-what.txt"), ["jazz"]);
    edit(
        &mut b,
        Message::Edit(EditMsg::NameInput("so-what-1959.txt".into())),
    );
    edit(&mut b, Message::Edit(EditMsg::Rename));
    assert!(tree(&s).lookup("/tags/jazz/so-what-1959.txt").is_ok());
    edit(&mut b, Message::Undo);
    assert!(
        tree(&s).lookup("/tags/jazz/so-what.txt").is_ok(),
        "the rename is undone"
    );
}
