//! The browser drawn: a breadcrumb, the columns side by side (each laying
//! out only the rows in view), and the preview of the selected document.

use docgrid_core::api::{EntryKind, TreeEntry};
use docgrid_core::model::is_reserved;
use iced::widget::{
    Column as Col, button, column, container, row, scrollable, space, text, text_input,
};
use iced::{Element, Fill, Font, Length};

use crate::columns::Column;
use crate::edit::{EditMsg, EditState};
use crate::preview::Preview;
use crate::state::{Browser, Focus, Message};

pub use crate::columns::ROW_HEIGHT;

/// The widget id of column `index`'s scrollable.
pub fn column_id(index: usize) -> iced::widget::Id {
    iced::widget::Id::from(format!("column-{index}"))
}

/// The width of a column.
const COLUMN_WIDTH: f32 = 240.0;

/// The whole window.
pub fn view(b: &Browser) -> Element<'_, Message> {
    let mut columns = row![].spacing(1).height(Fill);
    for (i, c) in b.columns.iter().enumerate() {
        columns = columns.push(column_view(i, c, b.focus == Focus::Column(i)));
    }
    if let Some(p) = &b.preview {
        columns = columns.push(preview_view(p));
    }
    let strip = scrollable(columns)
        .direction(scrollable::Direction::Horizontal(
            scrollable::Scrollbar::default(),
        ))
        .anchor_right()
        .width(Fill)
        .height(Fill);
    let mut page = column![top_bar(b)].spacing(6).padding(6);
    if let Some(marked) = b.search.marked() {
        page = page.push(text(marked).font(Font::MONOSPACE).size(13));
    }
    if let Some(banner) = b.banner() {
        page = page.push(
            container(text(banner))
                .padding(4)
                .style(container::rounded_box),
        );
    }
    page.push(strip).into()
}

/// The path of the selection and the search box.
fn top_bar(b: &Browser) -> Element<'_, Message> {
    let search = text_input("search: tag:jazz year>=1959 \"so what\"", &b.search.text)
        .id(SEARCH_ID)
        .on_input(Message::SearchInput)
        .on_submit(Message::SearchSubmit)
        .width(420);
    row![text(b.path()).size(14).width(Fill), search]
        .spacing(12)
        .into()
}

/// The widget id of the search box (Ctrl+F and `/` focus it).
pub const SEARCH_ID: &str = "search";

/// The widget id of the preview's name field (F2 focuses it).
pub const NAME_ID: &str = "name";

/// One column: its rows in view, spacers for the rest.
fn column_view(index: usize, c: &Column, focused: bool) -> Element<'_, Message> {
    let body: Element<'_, Message> = if let Some(e) = &c.error {
        text(format!("cannot list {}: {e}", c.path)).into()
    } else if c.listing.is_none() {
        text("loading…").into()
    } else {
        let range = c.visible_rows(ROW_HEIGHT);
        let total = c.entries().len();
        let mut rows = Col::new().push(space().height(range.start as f32 * ROW_HEIGHT));
        for i in range.clone() {
            let e = &c.entries()[i];
            rows = rows.push(row_view(index, i, e, c.selected == Some(i), focused));
        }
        let rest = (total - range.end) as f32 * ROW_HEIGHT;
        scrollable(rows.push(space().height(rest)))
            .id(column_id(index))
            .on_scroll(move |v| Message::Scrolled {
                column: index,
                offset: v.absolute_offset().y,
                height: v.bounds().height,
            })
            .height(Fill)
            .into()
    };
    container(body)
        .width(COLUMN_WIDTH)
        .height(Fill)
        .padding(2)
        .style(container::bordered_box)
        .into()
}

/// One row: icon, name, and size or count.
fn row_view(
    column: usize,
    index: usize,
    e: &TreeEntry,
    selected: bool,
    focused: bool,
) -> Element<'_, Message> {
    let (icon, extra) = match e.kind {
        EntryKind::Dir => ("▸", e.count.map(|n| n.to_string()).unwrap_or_default()),
        EntryKind::Doc => (
            doc_icon(e.mime.as_deref()),
            e.size.map(size).unwrap_or_default(),
        ),
    };
    let label = row![
        text(icon).width(18),
        text(&e.name).width(Fill),
        text(extra).size(12)
    ]
    .spacing(4);
    let style = match (selected, focused) {
        (true, true) => button::primary,
        (true, false) => button::secondary,
        _ => button::text,
    };
    button(label)
        .on_press(Message::Select { column, row: index })
        .style(style)
        .width(Fill)
        .height(Length::Fixed(ROW_HEIGHT))
        .padding([2, 4])
        .into()
}

/// The preview: the document's name (editable), size, revision, every
/// metadata key with its values (removable where the user sets them),
/// fields to add a tag or a `key=value`, the conflict of the last edit,
/// and the start of a text.
fn preview_view(p: &Preview) -> Element<'_, Message> {
    let body: Element<'_, Message> = match (&p.doc, &p.error) {
        (_, Some(e)) => text(format!("cannot show {}: {e}", p.path)).into(),
        (None, None) => text("loading…").into(),
        (Some(d), None) => {
            let ed = &p.editing;
            let name = ed.name.as_deref().unwrap_or(&d.name);
            let mut lines = column![
                text_input("name", name)
                    .id(NAME_ID)
                    .on_input(|t| Message::Edit(EditMsg::NameInput(t)))
                    .on_submit(Message::Edit(EditMsg::Rename))
                    .size(17),
                text(format!("{} · revision {}", size(d.size), d.rev)).size(12),
            ]
            .spacing(4);
            if let Some(c) = &ed.conflict {
                lines = lines.push(conflict_box(c));
            }
            if let Some(e) = &ed.error {
                lines = lines.push(text(e.clone()).size(13));
            }
            for (k, vs) in &d.meta {
                lines = lines.push(meta_row(k, vs));
            }
            lines = lines.push(add_fields(ed));
            match &p.text {
                Some(t) => {
                    lines = lines.push(
                        container(text(shown(t)).font(Font::MONOSPACE).size(12))
                            .padding(6)
                            .style(container::rounded_box),
                    )
                }
                None if p.is_text() => lines = lines.push(text("loading…").size(12)),
                None => {}
            }
            lines.into()
        }
    };
    container(scrollable(body).height(Fill))
        .width(380)
        .height(Fill)
        .padding(8)
        .style(container::bordered_box)
        .into()
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
        r = r.push(text(v.as_str()).size(13));
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

/// The lines of a text preview laid out (the first 2,000: a text widget
/// lays out all it is given).
fn shown(t: &str) -> String {
    const LINES: usize = 2000;
    let mut out: String = t.lines().take(LINES).collect::<Vec<_>>().join("\n");
    if t.lines().nth(LINES).is_some() {
        out.push_str("\n…");
    }
    out
}

/// An icon for a MIME type.
fn doc_icon(mime: Option<&str>) -> &'static str {
    match mime.unwrap_or("") {
        m if m.starts_with("image/") => "▣",
        m if m.starts_with("audio/") => "♪",
        m if m.starts_with("video/") => "▶",
        "application/pdf" => "▤",
        m if m.starts_with("text/") => "≡",
        _ => "□",
    }
}

/// A byte count for people.
pub fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
