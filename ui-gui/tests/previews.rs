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

/// The picture the preview at `path` draws, once everything settled (a
/// failed one settles too).
fn picture_at(
    t: &docgrid_client::tree::Tree,
    path: &str,
) -> Result<std::sync::Arc<docgrid_gui::picture::Picture>, String> {
    let (mut b, effects) = Browser::new(path);
    settle(&mut b, t, effects);
    assert!(b.settled(), "{path}");
    b.preview.as_ref().unwrap().picture.clone().unwrap()
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
    let pic = picture_at(&t, "/tags/pics/wide.png").unwrap();
    assert_eq!((pic.width, pic.height), (MAX_EDGE, 320));
    assert_eq!(pic.original, (3000, 600));
    let pic = picture_at(&t, "/tags/pics/letter.pdf").unwrap();
    assert_eq!(pic.pages, Some(1));
    assert_eq!(pic.original, (298, 420));
    let text = pic.text.clone().unwrap();
    assert!(text.contains("Hello docgrid"), "{text:?}");
    let e = picture_at(&t, "/tags/pics/broken.png").unwrap_err();
    assert!(e.contains("cannot decode"), "{e}");
}

#[test]
fn a_search_column_shows_each_hits_snippet() {
    let (_dir, s, t) = seeded(&[]);
    t.create(
        "/tags/jazz/",
        "liner.txt",
        Content::Bytes(b"Recorded in 1959, so what opens the album.".to_vec()),
    )
    .unwrap();
    // Text is extracted after the commit: wait until search has it.
    s.settle();
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

#[test]
fn another_type_is_shown_by_the_text_the_server_extracted_or_says_no_preview() {
    let (_dir, s, t) = seeded(&[]);
    let page = b"<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><p>Kind of Blue liner notes</p></body></html>";
    t.create("/tags/docs/", "notes.xhtml", Content::Bytes(page.to_vec()))
        .unwrap();
    t.create(
        "/tags/docs/",
        "blob.bin",
        Content::Bytes(vec![0, 1, 2, 255, 254]),
    )
    .unwrap();
    s.settle();
    let (mut b, effects) = Browser::new("/tags/docs/notes.xhtml");
    settle(&mut b, &t, effects);
    let p = b.preview.as_ref().unwrap();
    assert!(p.wants_extracted(), "{:?}", p.mime);
    let text = p.extracted.clone().unwrap().unwrap();
    assert!(text.contains("Kind of Blue liner notes"), "{text:?}");
    assert!(!text.contains("<p>"), "the text, not the markup: {text:?}");
    let (mut b, effects) = Browser::new("/tags/docs/blob.bin");
    settle(&mut b, &t, effects);
    let p = b.preview.as_ref().unwrap();
    assert_eq!(p.extracted.clone().unwrap().unwrap(), "", "nothing to show");
    assert!(b.settled());
}
