//! The preview column (or, with Space, the whole window): the document's
//! name (editable), size, type and revision, its picture or the start of
//! its text, every metadata key with its values (removable where the user
//! sets them), fields to add a tag or a `key=value`, the conflict of the
//! last edit, and its history.

use docgrid_core::api::{DocInfo, HistoryEntry};
use docgrid_core::model::is_reserved;
use iced::widget::{button, column, container, image, row, scrollable, text, text_input};
use iced::{ContentFit, Element, Fill, Font, Length};

use crate::edit::{EditMsg, EditState};
use crate::picture::Picture;
use crate::preview::Preview;
use crate::state::Message;
use crate::view::{NAME_ID, size};

/// The width of the preview column.
pub const PREVIEW_WIDTH: f32 = 380.0;

/// Reserved keys the preview's first lines already show.
const SHOWN_ABOVE: [&str; 3] = ["name", "size", "mime"];

/// Revisions shown in the history (newest first).
const HISTORY_SHOWN: usize = 20;

/// The preview; `large` when it takes the window.
pub fn preview_view(p: &Preview, large: bool) -> Element<'_, Message> {
    let body: Element<'_, Message> = match (&p.doc, &p.error) {
        (_, Some(e)) => text(format!("cannot show {}: {e}", p.path)).into(),
        (None, None) => text("loading…").into(),
        (Some(d), None) => doc_view(p, d, large),
    };
    let width = if large {
        Length::Fill
    } else {
        Length::Fixed(PREVIEW_WIDTH)
    };
    container(scrollable(body).height(Fill))
        .width(width)
        .height(Fill)
        .padding(8)
        .style(container::bordered_box)
        .into()
}

/// The preview of a fetched document.
fn doc_view<'a>(p: &'a Preview, d: &'a DocInfo, large: bool) -> Element<'a, Message> {
    let ed = &p.editing;
    let name = ed.name.as_deref().unwrap_or(&d.name);
    let mime = p.mime.as_deref().unwrap_or("unknown type");
    let mut lines = column![
        text_input("name", name)
            .id(NAME_ID)
            .on_input(|t| Message::Edit(EditMsg::NameInput(t)))
            .on_submit(Message::Edit(EditMsg::Rename))
            .size(17),
        text(format!("{} · {mime} · revision {}", size(d.size), d.rev)).size(12),
    ]
    .spacing(6);
    // Lines that come and go are each in one place of their own,
    // so that the fields keep their focus.
    let mut said = column![].spacing(4);
    if let Some(c) = &ed.conflict {
        said = said.push(conflict_box(c));
    }
    if let Some(e) = &ed.error {
        said = said.push(text(e.clone()).size(13));
    }
    lines = lines.push(said);
    lines = lines.push(content_view(p, large));
    // The user's keys first, then what the server keeps (less what
    // the line above already says).
    let (user, kept): (Vec<_>, Vec<_>) = d.meta.iter().partition(|(k, _)| !is_reserved(k));
    let mut keys = column![].spacing(6);
    for (k, vs) in user.into_iter().chain(kept) {
        if !SHOWN_ABOVE.contains(&k.as_str()) {
            keys = keys.push(meta_row(k, vs));
        }
    }
    lines = lines.push(keys);
    lines = lines.push(add_fields(ed));
    lines = lines.push(history_view(p.history.as_ref()));
    lines.into()
}

/// The document's content as it is previewed: a picture, the start of a
/// text, or why there is none.
fn content_view(p: &Preview, large: bool) -> Element<'_, Message> {
    if p.picture_mime().is_some() {
        return match &p.picture {
            None => text("drawing…").size(12).into(),
            Some(Err(e)) => text(format!("no preview: {e}")).size(12).into(),
            Some(Ok(pic)) => picture_view(pic, large),
        };
    }
    match &p.text {
        Some(t) => text_box(t, large),
        None if p.is_text() => text("loading…").size(12).into(),
        None => extracted_view(p, large),
    }
}

/// A document shown by the text the server extracted from it, or a
/// clear "no preview".
fn extracted_view(p: &Preview, large: bool) -> Element<'_, Message> {
    match &p.extracted {
        None => text("loading…").size(12).into(),
        Some(Ok(t)) if !t.trim().is_empty() => {
            column![text("Text extracted from it:").size(11), text_box(t, large)]
                .spacing(2)
                .into()
        }
        Some(Ok(_)) => text("No preview for this type (Enter opens it)")
            .size(12)
            .into(),
        Some(Err(e)) => text(format!("No preview: {e} (Enter opens it)"))
            .size(12)
            .into(),
    }
}

/// A picture scaled to the preview's width, its original size below.
fn picture_view(pic: &Picture, large: bool) -> Element<'_, Message> {
    let fit = if large { 1200.0 } else { PREVIEW_WIDTH - 20.0 };
    let scale = (fit / pic.width as f32).min(1.0);
    let drawn = image(pic.handle.clone())
        .content_fit(ContentFit::Contain)
        .width(pic.width as f32 * scale)
        .height(pic.height as f32 * scale);
    let (w, h) = pic.original;
    let about = match pic.pages {
        Some(n) => format!("page 1 of {n} · {w} × {h} pt"),
        None => format!("{w} × {h} pixels"),
    };
    let mut c = column![drawn, text(about).size(11)].spacing(4);
    if let Some(t) = pic.text.as_deref().filter(|t| !t.trim().is_empty()) {
        c = c.push(text_box(t, large));
    }
    c.into()
}

/// The document's revisions, newest first: revision, author, time and
/// message.
fn history_view(h: Option<&Result<Vec<HistoryEntry>, String>>) -> Element<'_, Message> {
    let mut c = column![text("History").size(13)].spacing(2);
    match h {
        None => c = c.push(text("loading…").size(11)),
        Some(Err(e)) => c = c.push(text(format!("cannot fetch: {e}")).size(11)),
        Some(Ok(revs)) => {
            for r in revs.iter().take(HISTORY_SHOWN) {
                let when = r.time.get(..16).unwrap_or(&r.time).replace('T', " ");
                let what = if r.deleted { " (deleted)" } else { "" };
                c = c.push(
                    text(format!(
                        "r{} · {} · {when} · {}{what}",
                        r.rev, r.author, r.message
                    ))
                    .size(11),
                );
            }
            if revs.len() > HISTORY_SHOWN {
                c = c.push(text(format!("… {} older", revs.len() - HISTORY_SHOWN)).size(11));
            }
        }
    }
    c.into()
}

/// The refusal of an edit someone else's commit overtook, with a reload.
fn conflict_box(c: &str) -> Element<'_, Message> {
    let body = column![
        text(format!("Not saved: {c}")).size(13),
        button(text("Reload").size(13)).on_press(Message::Edit(EditMsg::Reload)),
    ]
    .spacing(4);
    container(body)
        .padding(6)
        .style(container::rounded_box)
        .into()
}

/// The fields adding a tag or a `key=value`.
fn add_fields(ed: &EditState) -> Element<'_, Message> {
    row![
        text_input("add a tag", &ed.tag)
            .on_input(|t| Message::Edit(EditMsg::TagInput(t)))
            .on_submit(Message::Edit(EditMsg::AddTag))
            .size(13),
        text_input("key=value", &ed.pair)
            .on_input(|t| Message::Edit(EditMsg::PairInput(t)))
            .on_submit(Message::Edit(EditMsg::AddPair))
            .size(13),
    ]
    .spacing(4)
    .into()
}

/// One key and its values, each with a × unless the server keeps it.
fn meta_row<'a>(key: &'a str, values: &'a [String]) -> Element<'a, Message> {
    let mut r = row![text(format!("{key}:")).size(13)].spacing(4);
    for v in values {
        // A content hash is recognised by its start.
        let shown = match key {
            "hash" if v.len() > 16 => format!("{}…", &v[..16]),
            _ => v.clone(),
        };
        r = r.push(text(shown).size(13));
        if !is_reserved(key) {
            r = r.push(
                button(text("×").size(12))
                    .on_press(Message::Edit(EditMsg::Remove {
                        key: key.to_string(),
                        value: v.clone(),
                    }))
                    .style(button::text)
                    .padding(0),
            );
        }
    }
    r.wrap().into()
}

/// Lines of a text laid out in the preview column, and in the large
/// preview (a text widget shapes all it is given: a column shows the
/// start at once, Space the rest).
pub const TEXT_LINES: (usize, usize) = (200, 2000);

/// A text shown in monospace in a box: its first lines (see
/// [`TEXT_LINES`]), and how many more there are.
fn text_box(t: &str, large: bool) -> Element<'_, Message> {
    let lines = if large { TEXT_LINES.1 } else { TEXT_LINES.0 };
    container(
        text(shown_text(t, lines, large))
            .font(Font::MONOSPACE)
            .size(12),
    )
    .padding(6)
    .width(Fill)
    .style(container::rounded_box)
    .into()
}

/// The first `lines` lines of `t`, and a last line saying what is left.
fn shown_text(t: &str, lines: usize, large: bool) -> String {
    let mut out: String = t.lines().take(lines).collect::<Vec<_>>().join("\n");
    let more = t.lines().skip(lines).count();
    if more > 0 {
        let hint = if large {
            "Enter opens it"
        } else {
            "Space shows more, Enter opens it"
        };
        out.push_str(&format!("\n… {more} more lines ({hint})"));
    }
    out
}
