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

#[test]
fn typing_a_query_in_the_search_box_and_pressing_enter_opens_its_results() {
    let (_dir, _s, t) = seeded(&[("/tags/jazz/", "so-what.txt"), ("/tags/rock/", "x.txt")]);
    let (mut b, effects) = Browser::new("/");
    settle(&mut b, &t, effects);
    // One simulator per key, as the window redraws after each message.
    for c in "tag:jazz".chars() {
        let messages: Vec<Message> = {
            let mut ui = iced_test::simulator(view(&b));
            ui.click(iced::widget::Id::new(docgrid_gui::view::SEARCH_ID))
                .expect("the search box is drawn");
            ui.tap_key(iced::keyboard::key::Named::End);
            ui.typewrite(&c.to_string());
            ui.into_messages().collect()
        };
        for m in messages {
            let effects = b.update(m);
            settle(&mut b, &t, effects);
        }
    }
    assert_eq!(b.search.text, "tag:jazz");
    let messages: Vec<Message> = {
        let mut ui = iced_test::simulator(view(&b));
        ui.click(iced::widget::Id::new(docgrid_gui::view::SEARCH_ID))
            .unwrap();
        ui.tap_key(iced::keyboard::key::Named::Enter);
        ui.into_messages().collect()
    };
    assert!(
        messages.iter().any(|m| matches!(m, Message::SearchSubmit)),
        "Enter submits"
    );
    for m in messages {
        let effects = b.update(m);
        settle(&mut b, &t, effects);
    }
    let last = b.columns.last().unwrap();
    assert_eq!(last.path, "/search/tag:jazz/");
    let names: Vec<&str> = last.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["so-what.txt"]);
    let mut ui = iced_test::simulator(view(&b));
    assert!(ui.find("so-what.txt").is_ok(), "the result is drawn");
}

#[test]
fn keys_the_window_reports_move_through_the_columns() {
    use docgrid_gui::app::{App, Msg};
    use iced::keyboard::{Key as K, Modifiers, key::Named};
    let (_dir, _s, t) = seeded(&[("/tags/jazz/", "a.txt"), ("/tags/jazz/", "b.txt")]);
    let (mut app, _) = App::new(
        t.clone(),
        common::desktop(),
        "test".into(),
        "/tags/jazz/",
        None,
    );
    // The listings the app fetched are given to it as its tasks would.
    let (mut b, effects) = Browser::new("/tags/jazz/");
    settle(&mut b, &t, effects);
    app.browser = b;
    let press = |app: &mut App, k: K| {
        let _ = app.update(Msg::Key(k, Modifiers::empty()));
    };
    press(&mut app, K::Named(Named::ArrowDown));
    assert_eq!(app.browser.columns[2].selected, Some(0));
    press(&mut app, K::Named(Named::ArrowDown));
    assert_eq!(app.browser.columns[2].selected, Some(1));
    assert_eq!(
        app.browser.preview.as_ref().unwrap().path,
        "/tags/jazz/b.txt"
    );
    press(&mut app, K::Named(Named::ArrowLeft));
    assert_eq!(app.browser.focus, docgrid_gui::state::Focus::Column(1));
    press(&mut app, K::Named(Named::ArrowRight));
    assert_eq!(app.browser.focus, docgrid_gui::state::Focus::Column(2));
    press(&mut app, K::Character(" ".into()));
    assert!(app.browser.large, "Space enlarges the preview");
}
