//! What the preview shows beyond metadata, against a real server: the
//! history (revisions with author and message), an image decoded and
//! scaled, a PDF's first page rendered with its text, and the snippets
//! of a search column.

mod common;

use common::{pdf_saying, png, seeded, settle};
use docgrid_client::tree::Content;
use docgrid_gui::edit::EditMsg;
use docgrid_gui::picture::MAX_EDGE;
use docgrid_gui::state::{Browser, Message};

#[test]
fn the_history_lists_each_revision_with_author_and_message() {
    let (_dir, _s, t) = seeded(&[("/tags/jazz/", "so-what.txt")]);
    let (mut b, effects) = Browser::new("/tags/jazz/so-what.txt");
    settle(&mut b, &t, effects);
    for m in [EditMsg::TagInput("modal".into()), EditMsg::AddTag] {
        let effects = b.update(Message::Edit(m));
        settle(&mut b, &t, effects);
    }
    let p = b.preview.as_ref().unwrap();
    let h = p.history.clone().unwrap().unwrap();
    assert_eq!(h.len(), 2, "{h:?}");
    assert!(
        h.iter().any(|r| r.message.contains("edit so-what.txt")),
        "{h:?}"
    );
    assert!(h.iter().all(|r| !r.author.is_empty()));
    assert!(b.settled());
}

#[test]
fn an_image_is_decoded_and_scaled_and_a_pdf_page_is_rendered_with_its_text() {
    let (_dir, _s, t) = seeded(&[]);
    t.create("/tags/pics/", "wide.png", Content::Bytes(png(3000, 600)))
        .unwrap();
    t.create(
        "/tags/pics/",
        "letter.pdf",
        Content::Bytes(pdf_saying("Hello docgrid")),
    )
    .unwrap();
    t.create(
        "/tags/pics/",
        "broken.png",
        Content::Bytes(b"not a png".to_vec()),
    )
    .unwrap();
    let (mut b, effects) = Browser::new("/tags/pics/wide.png");
    settle(&mut b, &t, effects);
    let pic = b
        .preview
        .as_ref()
        .unwrap()
        .picture
        .clone()
        .unwrap()
        .unwrap();
    assert_eq!((pic.width, pic.height), (MAX_EDGE, 320));
    assert_eq!(pic.original, (3000, 600));
    let (mut b, effects) = Browser::new("/tags/pics/letter.pdf");
    settle(&mut b, &t, effects);
    let pic = b
        .preview
        .as_ref()
        .unwrap()
        .picture
        .clone()
        .unwrap()
        .unwrap();
    assert_eq!(pic.pages, Some(1));
    assert_eq!(pic.original, (298, 420));
    let text = pic.text.clone().unwrap();
    assert!(text.contains("Hello docgrid"), "{text:?}");
    let (mut b, effects) = Browser::new("/tags/pics/broken.png");
    settle(&mut b, &t, effects);
    let e = b
        .preview
        .as_ref()
        .unwrap()
        .picture
        .clone()
        .unwrap()
        .unwrap_err();
    assert!(e.contains("cannot decode"), "{e}");
    assert!(b.settled(), "a failed picture is settled too");
}

#[test]
fn a_search_column_shows_each_hits_snippet() {
    let (_dir, _s, t) = seeded(&[]);
    t.create(
        "/tags/jazz/",
        "liner.txt",
        Content::Bytes(b"Recorded in 1959, so what opens the album.".to_vec()),
    )
    .unwrap();
    let (mut b, effects) = Browser::new("/");
    settle(&mut b, &t, effects);
    b.update(Message::SearchInput("album".into()));
    let effects = b.update(Message::SearchSubmit);
    settle(&mut b, &t, effects);
    let col = b.columns.last().unwrap();
    assert_eq!(col.path, "/search/album/");
    assert_eq!(col.entries().len(), 1);
    let snippet = col.snippet(0).expect("a snippet");
    assert!(snippet.contains("album"), "{snippet}");
}
