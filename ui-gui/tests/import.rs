//! Files dropped onto the window are imported into the deepest open
//! column with the metadata it implies, against a real server: 20 files
//! onto `/tags/jazz/` come back tagged jazz, the column shows them, a
//! second drop of the same files changes nothing, and a folder dropped
//! onto `/files/` keeps its layout.

mod common;

use common::{seeded, settle, tree};
use docgrid_gui::import::ImportMsg;
use docgrid_gui::state::{Browser, Effect, Message};

/// Drops `files` one message each, as the window reports them, and runs
/// what follows.
fn drop_files(b: &mut Browser, t: &docgrid_client::tree::Tree, files: &[std::path::PathBuf]) {
    let mut timers = Vec::new();
    for f in files {
        timers.extend(b.update(Message::Import(ImportMsg::Dropped(f.clone()))));
    }
    // One timer per drop, armed by its first file; when it fires with
    // more files come since, it waits again, then imports them together.
    assert!(
        matches!(timers.as_slice(), [Effect::DropSettle(_)]),
        "{timers:?}"
    );
    settle(b, t, timers);
}

fn twenty_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    (0..20)
        .map(|i| {
            let p = dir.join(format!("take-{i:02}.txt"));
            std::fs::write(&p, format!("take {i} of so what\n").repeat(i + 1)).unwrap();
            p
        })
        .collect()
}

#[test]
fn a_drop_of_twenty_files_onto_jazz_imports_them_tagged_jazz() {
    let (_dir, s, t) = seeded(&[("/tags/jazz/", "so-what.txt")]);
    let local = tempfile::tempdir().unwrap();
    let files = twenty_files(local.path());
    let (mut b, effects) = Browser::new("/tags/jazz/");
    settle(&mut b, &t, effects);
    assert_eq!(b.drop_target(), "/tags/jazz/");
    drop_files(&mut b, &t, &files);
    let summary = b.imports.summary.clone().expect("a summary");
    assert!(summary.contains("20 new"), "{summary}");
    assert!(b.imports.running.is_none());
    let shown = b.columns.last().unwrap().entries().len();
    assert_eq!(shown, 21, "the column lists them");
    // Seen by another client: each is tagged jazz, with its bytes.
    let other = tree(&s);
    let listing = other.list("/tags/jazz/").unwrap();
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let e = listing
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        let doc = other.doc(&e.id.unwrap()).unwrap();
        assert!(doc.meta["tag"].contains(&"jazz".to_string()), "{name}");
        let bytes = other.read_at(&doc.id, 0, doc.size as usize).unwrap();
        assert_eq!(bytes, std::fs::read(f).unwrap(), "{name}");
    }
    // The same drop again imports nothing new.
    drop_files(&mut b, &t, &files);
    let again = b.imports.summary.clone().unwrap();
    assert!(
        again.contains("0 new") && again.contains("20 unchanged"),
        "{again}"
    );
    assert_eq!(other.list("/tags/jazz/").unwrap().entries().len(), 21);
}

#[test]
fn a_folder_dropped_onto_files_keeps_its_layout_and_a_refused_target_says_why() {
    let (_dir, _s, t) = seeded(&[]);
    let local = tempfile::tempdir().unwrap();
    let folder = local.path().join("album");
    std::fs::create_dir_all(folder.join("disc 2")).unwrap();
    std::fs::write(folder.join("notes.txt"), "liner notes").unwrap();
    std::fs::write(folder.join("disc 2").join("track.txt"), "track").unwrap();
    std::os::unix::fs::symlink("notes.txt", folder.join("link.txt")).unwrap();
    let (mut b, effects) = Browser::new("/files/");
    settle(&mut b, &t, effects);
    drop_files(&mut b, &t, std::slice::from_ref(&folder));
    let summary = b.imports.summary.clone().unwrap();
    assert!(summary.contains("2 new"), "{summary}");
    assert!(
        summary.contains("skipped 1") && summary.contains("symbolic link"),
        "{summary}"
    );
    let track = t.lookup("/files/album/disc 2/track.txt").unwrap();
    assert_eq!(t.read_at(&track.id().unwrap(), 0, 100).unwrap(), b"track");
    // `/tags/` holds tags, not documents: the import is refused whole.
    let (mut b, effects) = Browser::new("/tags/");
    settle(&mut b, &t, effects);
    drop_files(&mut b, &t, std::slice::from_ref(&folder));
    let summary = b.imports.summary.clone().unwrap();
    assert!(
        summary.contains("Nothing imported into /tags/"),
        "{summary}"
    );
    // Import… without a window: the dialog's absence is said, not hidden.
    let e = b.update(Message::Import(ImportMsg::Pick));
    assert!(
        matches!(e.as_slice(), [Effect::Pick(d)] if d == "/tags/"),
        "{e:?}"
    );
}

#[test]
fn importing_again_adds_nothing_even_where_names_clash_and_never_overwrites_elsewhere() {
    let (_dir, s, t) = seeded(&[("/tags/jazz/", "notes.txt")]);
    let local = tempfile::tempdir().unwrap();
    // Two folders with a `notes.txt` each, other content than the one
    // already tagged jazz.
    let mut files = Vec::new();
    for (d, text) in [("a", "first notes"), ("b", "second notes")] {
        let f = local.path().join(d).join("notes.txt");
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, text).unwrap();
        files.push(f);
    }
    let (mut b, effects) = Browser::new("/tags/jazz/");
    settle(&mut b, &t, effects);
    drop_files(&mut b, &t, &files);
    let summary = b.imports.summary.clone().unwrap();
    assert!(
        summary.contains("2 new") && summary.contains("0 updated"),
        "{summary}"
    );
    let other = tree(&s);
    let jazz = other.list("/tags/jazz/").unwrap();
    assert_eq!(
        jazz.entries().len(),
        3,
        "three documents, names disambiguated"
    );
    // The one there before kept its content.
    let contents: Vec<Vec<u8>> = jazz
        .entries()
        .iter()
        .map(|e| other.read_at(&e.id.unwrap(), 0, 100).unwrap())
        .collect();
    assert!(contents.contains(&b"notes.txt".to_vec()), "{contents:?}");
    // Again: all three names are disambiguated now, and nothing is new.
    drop_files(&mut b, &t, &files);
    let again = b.imports.summary.clone().unwrap();
    assert!(
        again.contains("0 new") && again.contains("2 unchanged"),
        "{again}"
    );
    assert_eq!(other.list("/tags/jazz/").unwrap().entries().len(), 3);
    // Under /files/ one path is one document: the folder name is kept, so
    // both land apart; dropping both files themselves lands two on one
    // path, and the second is skipped, named.
    let (mut b, effects) = Browser::new("/files/");
    settle(&mut b, &t, effects);
    drop_files(&mut b, &t, &files);
    let summary = b.imports.summary.clone().unwrap();
    assert!(
        summary.contains("1 new") && summary.contains("skipped 1"),
        "{summary}"
    );
    assert!(
        summary.contains("another file of this import has its path"),
        "{summary}"
    );
}
