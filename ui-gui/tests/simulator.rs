//! The view driven by iced's simulator (no window): clicks on the rows it
//! draws produce the browser's messages, and the columns they open are
//! drawn next.

mod common;

use common::{seeded, settle};
use docgrid_client::tree::Tree;
use docgrid_gui::state::{Browser, Message};
use docgrid_gui::view::view;

/// Clicks the text `label` in the drawn browser and applies what it sent.
fn click(b: &mut Browser, t: &Tree, label: &str) {
    let messages: Vec<Message> = {
        let mut ui = iced_test::simulator(view(b));
        ui.click(label)
            .unwrap_or_else(|e| panic!("no {label:?} drawn: {e:?}"));
        ui.into_messages().collect()
    };
    assert!(!messages.is_empty(), "clicking {label:?} sent nothing");
    for m in messages {
        let effects = b.update(m);
        settle(b, t, effects);
    }
}

#[test]
fn clicking_rows_opens_columns_and_the_preview() {
    let (_dir, _s, t) = seeded(&[("/tags/jazz/", "so-what.txt")]);
    let (mut b, effects) = Browser::new("/");
    settle(&mut b, &t, effects);
    click(&mut b, &t, "tags");
    click(&mut b, &t, "jazz");
    click(&mut b, &t, "so-what.txt");
    let paths: Vec<&str> = b.columns.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["/", "/tags/", "/tags/jazz/"]);
    assert_eq!(b.preview.as_ref().unwrap().path, "/tags/jazz/so-what.txt");
    let mut ui = iced_test::simulator(view(&b));
    assert!(ui.find("tag:").is_ok(), "the preview draws the metadata");
    assert!(ui.find("×").is_ok(), "with a remove button for a tag");
}
