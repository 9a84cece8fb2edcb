//! The browser drawn: a bar with the path, Import… and the search box;
//! what is asked, loading or done (a question, the import's progress, a
//! status line); the columns side by side (each laying out only the rows
//! in view, each resizable by the handle at its right edge), and the
//! preview of the selected document (see [`crate::preview_view`]).

use docgrid_core::api::{EntryKind, TreeEntry};
use iced::widget::{
    Column as Col, button, column, container, mouse_area, progress_bar, row, scrollable, space,
    text, text_input,
};
use iced::{Element, Fill, Font, Length, mouse};

use crate::columns::{Column, ResizeMsg};
use crate::import::ImportMsg;
use crate::preview_view::preview_view;
use crate::state::{Browser, Focus, Message};

pub use crate::columns::ROW_HEIGHT;

/// The widget id of column `index`'s scrollable.
pub fn column_id(index: usize) -> iced::widget::Id {
    iced::widget::Id::from(format!("column-{index}"))
}

/// The widget id of the search box (Ctrl+F and `/` focus it).
pub const SEARCH_ID: &str = "search";

/// The widget id of the preview's name field (F2 focuses it).
pub const NAME_ID: &str = "name";

/// The width of the handle that resizes a column.
const HANDLE: f32 = 5.0;

/// The whole window.
pub fn view(b: &Browser) -> Element<'_, Message> {
    // Three fixed places (iced keeps a widget's state by its place: a
    // line coming or going must not reset the columns' scrolling or the
    // fields' focus).
    let mut lines = Col::new().spacing(6);
    if let Some(marked) = b.search.marked() {
        lines = lines.push(text(marked).font(Font::MONOSPACE).size(13));
    }
    for bar in bars(b) {
        lines = lines.push(bar);
    }
    let page = column![top_bar(b), lines].spacing(6).padding(6);
    let body: Element<'_, Message> = match &b.preview {
        Some(p) if b.large => preview_view(p, true),
        _ => strip(b),
    };
    // The whole window hears the button come up (a drag or a resize
    // ends) and, while a column is resized, follows the mouse. Always the
    // same widget, so that no state below it is lost.
    let mut area = mouse_area(page.push(body)).on_release(Message::PointerUp);
    if b.resizing.is_some() {
        area = area
            .on_move(|p| Message::Resize(ResizeMsg::Move(p.x)))
            .interaction(mouse::Interaction::ResizingHorizontally);
    } else if let Some((_, _, moved)) = &b.dragging {
        area = if *moved {
            area.interaction(mouse::Interaction::Grabbing)
        } else {
            area.on_move(|_| Message::DragMove)
        };
    }
    area.into()
}

/// The columns and the preview, scrolled to keep the newest in view.
fn strip(b: &Browser) -> Element<'_, Message> {
    let mut columns = row![].height(Fill);
    for (i, c) in b.columns.iter().enumerate() {
        let next = b.columns.get(i + 1);
        columns = columns.push(column_view(i, c, next, b.focus == Focus::Column(i)));
        columns = columns.push(resize_handle(i));
    }
    if let Some(p) = &b.preview {
        columns = columns.push(preview_view(p, false));
    }
    scrollable(columns)
        .direction(scrollable::Direction::Horizontal(
            scrollable::Scrollbar::default(),
        ))
        .anchor_right()
        .width(Fill)
        .height(Fill)
        .into()
}

/// The path of the selection, Import…, and the search box.
fn top_bar(b: &Browser) -> Element<'_, Message> {
    let search = text_input("search: tag:jazz year>=1959 \"so what\"", &b.search.text)
        .id(SEARCH_ID)
        .on_input(Message::SearchInput)
        .on_submit(Message::SearchSubmit)
        .width(420);
    let import = button(text("Import…").size(14))
        .on_press(Message::Import(ImportMsg::Pick))
        .style(button::secondary);
    // While a document is dragged the path's place says what a drop does
    // (in place: nothing under the mouse moves).
    let said = match &b.dragging {
        Some((_, name, true)) => {
            format!("Drop {name} on a directory of another column to move it there")
        }
        _ => b.path().to_string(),
    };
    row![text(said).size(14).width(Fill), import, search]
        .spacing(12)
        .into()
}

/// What the window has to say above the columns: the question asked,
/// files hovering, the import's progress or summary, the stale banner,
/// the last action's outcome.
fn bars(b: &Browser) -> Vec<Element<'_, Message>> {
    let mut out = Vec::new();
    if let Some(c) = &b.confirm {
        let body = row![
            text(&c.question).size(14).width(Fill),
            button(text("Delete").size(14))
                .on_press(Message::Confirm(true))
                .style(button::danger),
            button(text("Cancel").size(14))
                .on_press(Message::Confirm(false))
                .style(button::secondary),
        ]
        .spacing(8);
        out.push(boxed(body.into()));
    }
    let im = &b.imports;
    if im.hovering {
        let hint = format!("Drop to import into {}", b.drop_target());
        out.push(boxed(text(hint).size(15).into()));
    }
    if let Some(r) = &im.running {
        let body = column![
            text(r.describe()).size(13),
            progress_bar(0.0..=1.0, r.fraction()).girth(8),
        ]
        .spacing(4);
        out.push(boxed(body.into()));
    }
    for line in [im.summary.as_deref(), b.banner(), b.status.as_deref()]
        .into_iter()
        .flatten()
    {
        out.push(dismissable(line));
    }
    out
}

/// A line of text in a box, with a × that dismisses it.
fn dismissable(line: &str) -> Element<'_, Message> {
    let close = button(text("×").size(13))
        .on_press(Message::Dismiss)
        .style(button::text)
        .padding(0);
    boxed(
        row![text(line).size(13).width(Fill), close]
            .spacing(6)
            .into(),
    )
}

fn boxed(body: Element<'_, Message>) -> Element<'_, Message> {
    container(body)
        .padding(6)
        .width(Fill)
        .style(container::rounded_box)
        .into()
}

/// The handle at the right edge of column `index`, dragged to resize it.
fn resize_handle(index: usize) -> Element<'static, Message> {
    mouse_area(container(space()).width(HANDLE).height(Fill))
        .on_press(Message::Resize(ResizeMsg::Start(index)))
        .interaction(mouse::Interaction::ResizingHorizontally)
        .into()
}

/// One column: its rows in view, spacers for the rest.
fn column_view<'a>(
    index: usize,
    c: &'a Column,
    next: Option<&Column>,
    focused: bool,
) -> Element<'a, Message> {
    let body: Element<'_, Message> = if let Some(e) = &c.error {
        text(format!("cannot list {}: {e}", c.path)).into()
    } else if c.listing.is_none() {
        text("loading…").into()
    } else if c.entries().is_empty() {
        text(empty_hint(c, next)).size(13).into()
    } else {
        rows_view(index, c, focused)
    };
    let mut col = column![body].height(Fill);
    if c.loading && c.listing.is_some() {
        col = col.push(text("refreshing…").size(11));
    }
    container(col)
        .width(c.width)
        .height(Fill)
        .padding(2)
        .style(container::bordered_box)
        .into()
}

/// What an empty column says (`/search/` lists nothing: it points at
/// the results of the query open beside it).
fn empty_hint(c: &Column, next: Option<&Column>) -> String {
    match (c.search_query(), next.and_then(Column::search_query)) {
        (Some(q), _) => format!("Nothing matches {q}"),
        (None, Some(q)) => format!("Results of {q} →"),
        (None, None) if c.path == "/search/" => "Type a query in the search box".into(),
        (None, None) => "Empty".into(),
    }
}

/// The rows of a listed column in view, between spacers.
fn rows_view(index: usize, c: &Column, focused: bool) -> Element<'_, Message> {
    let h = c.row_height();
    let range = c.visible_rows(h);
    let total = c.entries().len();
    let mut rows = Col::new().push(space().height(range.start as f32 * h));
    for i in range.clone() {
        let e = &c.entries()[i];
        let selected = c.selected == Some(i);
        rows = rows.push(row_view(index, i, e, c.snippet(i), h, (selected, focused)));
    }
    let rest = (total - range.end) as f32 * h;
    scrollable(rows.push(space().height(rest)))
        .id(column_id(index))
        .on_scroll(move |v| Message::Scrolled {
            column: index,
            offset: v.absolute_offset().y,
            height: v.bounds().height,
        })
        .height(Fill)
        .into()
}

/// One row: icon, name, and size or count; in a search column the
/// snippet below.
fn row_view<'a>(
    column: usize,
    index: usize,
    e: &'a TreeEntry,
    snippet: Option<&'a str>,
    height: f32,
    (selected, focused): (bool, bool),
) -> Element<'a, Message> {
    let (icon, extra) = match e.kind {
        EntryKind::Dir => ("▸", e.count.map(|n| n.to_string()).unwrap_or_default()),
        EntryKind::Doc => (
            doc_icon(e.mime.as_deref()),
            e.size.map(size).unwrap_or_default(),
        ),
    };
    let line = row![
        text(icon).width(18),
        text(&e.name).width(Fill),
        text(extra).size(12)
    ]
    .spacing(4);
    let label: Element<'a, Message> = match snippet {
        Some(s) => column![line, text(one_line(s)).size(11)].into(),
        None => line.into(),
    };
    let shown = container(label)
        .style(move |t: &iced::Theme| row_style(t, selected, focused))
        .width(Fill)
        .height(Length::Fixed(height))
        .padding([2, 4]);
    mouse_area(shown)
        .on_press(Message::Press { column, row: index })
        .on_release(Message::Release { column, row: index })
        .on_double_click(Message::Activate { column, row: index })
        .into()
}

/// A row's colours: the selection in the theme's primary colour where the
/// keyboard is, muted in other columns.
fn row_style(theme: &iced::Theme, selected: bool, focused: bool) -> container::Style {
    let p = theme.extended_palette();
    let pair = match (selected, focused) {
        (true, true) => p.primary.base,
        (true, false) => p.background.strong,
        _ => return container::Style::default(),
    };
    container::Style {
        background: Some(pair.color.into()),
        text_color: Some(pair.text),
        border: iced::border::rounded(3),
        ..container::Style::default()
    }
}

/// A snippet on one line, cut to what a column shows around its first
/// match (marked «»).
fn one_line(s: &str) -> String {
    const CHARS: usize = 40;
    const BEFORE: usize = 12;
    let flat: Vec<char> = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect();
    if flat.len() <= CHARS {
        return flat.into_iter().collect();
    }
    let at = flat.iter().position(|c| *c == '«').unwrap_or(0);
    let start = at.saturating_sub(BEFORE).min(flat.len() - CHARS);
    let mut cut: String = flat[start..start + CHARS].iter().collect();
    if start > 0 {
        cut.insert(0, '…');
    }
    if start + CHARS < flat.len() {
        cut.push('…');
    }
    cut
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
