//! The columns of the browser: each one directory of the tree, its
//! listing (the tree layer's, shared), the selected row and whether it is
//! loading. Pure state: what to fetch is returned as [`Effect`]s.

use std::collections::HashMap;
use std::sync::Arc;

use docgrid_client::tree::Listing;
use docgrid_core::DocId;
use docgrid_core::api::{EntryKind, TreeEntry};
use docgrid_core::tree::{self as rules, Dir};

use crate::state::{Browser, Effect};

/// The height of a row in pixels (fixed, so that the rows in view are
/// known without laying out the others).
pub const ROW_HEIGHT: f32 = 24.0;

/// The height of a row of a search column (its name and a snippet).
pub const SNIPPET_ROW_HEIGHT: f32 = 42.0;

/// The width of a column unless resized.
pub const COLUMN_WIDTH: f32 = 240.0;

/// The narrowest and widest a column can be dragged.
pub const COLUMN_WIDTHS: (f32, f32) = (120.0, 900.0);

/// One directory of the tree shown as a column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Its canonical tree path (`/tags/jazz/`).
    pub path: String,
    /// Its listing, once fetched.
    pub listing: Option<Arc<Listing>>,
    /// A fetch is under way (a spinner is shown).
    pub loading: bool,
    /// Why the last fetch failed.
    pub error: Option<String>,
    /// The selected row.
    pub selected: Option<usize>,
    /// The row to select, by name, once the listing arrives (a column
    /// opened from `--path`, or kept across a refresh).
    pub want: Option<String>,
    /// How far it is scrolled, and how tall it is shown (pixels): which
    /// rows are laid out.
    pub scroll: (f32, f32),
    /// For a `/search/QUERY/` column: the text around each document's
    /// match, once fetched.
    pub snippets: Option<Arc<HashMap<DocId, String>>>,
    /// Its width (pixels), as dragged.
    pub width: f32,
}

impl Column {
    /// A column for `path`, loading.
    pub fn loading(path: String) -> Column {
        Column {
            path,
            listing: None,
            loading: true,
            error: None,
            selected: None,
            want: None,
            scroll: (0.0, 800.0),
            snippets: None,
            width: COLUMN_WIDTH,
        }
    }

    /// The query of a `/search/QUERY/` column.
    pub fn search_query(&self) -> Option<String> {
        match rules::parse_dir(&self.path) {
            Ok(Dir::Search(q)) => Some(q),
            _ => None,
        }
    }

    /// The height of its rows: taller in a search column, for snippets.
    pub fn row_height(&self) -> f32 {
        if self.path.starts_with("/search/") && self.path.len() > "/search/".len() {
            SNIPPET_ROW_HEIGHT
        } else {
            ROW_HEIGHT
        }
    }

    /// The snippet of the entry at `row`, if it has one.
    pub fn snippet(&self, row: usize) -> Option<&str> {
        let id = self.entries().get(row)?.id?;
        self.snippets.as_ref()?.get(&id).map(String::as_str)
    }

    /// Its entries (none until listed).
    pub fn entries(&self) -> &[TreeEntry] {
        self.listing.as_deref().map_or(&[], |l| l.entries())
    }

    /// The selected entry.
    pub fn selected_entry(&self) -> Option<&TreeEntry> {
        self.entries().get(self.selected?)
    }

    /// Takes a fetched listing, keeping the selection by name (a refresh
    /// moves rows). Whether a wanted row was found (and selected).
    pub fn listed(&mut self, listing: Arc<Listing>) -> bool {
        let wanted = self.want.take();
        let found = wanted.is_some();
        let keep = wanted.or_else(|| self.selected_entry().map(|e| e.name.clone()));
        self.selected = keep.and_then(|n| listing.index_of(&n));
        self.listing = Some(listing);
        self.loading = false;
        self.error = None;
        found && self.selected.is_some()
    }

    /// The rows to lay out for the scroll position: those in view and a
    /// screenful either side, never the whole of a huge directory.
    pub fn visible_rows(&self, row_height: f32) -> std::ops::Range<usize> {
        let (offset, height) = self.scroll;
        let per_screen = (height / row_height).ceil() as usize + 1;
        let first = ((offset / row_height) as usize).saturating_sub(per_screen);
        let len = self.entries().len();
        first.min(len)..(first + 3 * per_screen).min(len)
    }

    /// The offset to scroll to so that the selected row is in view, if
    /// it is not (and takes it as the scroll position).
    pub fn reveal(&mut self) -> Option<f32> {
        let (offset, height) = self.scroll;
        let row = self.row_height();
        let top = self.selected? as f32 * row;
        let to = if top < offset {
            top
        } else if top + row > offset + height {
            top + row - height
        } else {
            return None;
        };
        self.scroll.0 = to;
        Some(to)
    }

    /// The tree path of the entry at `row`, if a directory.
    pub fn child_dir(&self, row: usize) -> Option<String> {
        let e = self.entries().get(row)?;
        if e.kind != EntryKind::Dir {
            return None;
        }
        Some(child_path(&self.path, &e.name))
    }

    /// The tree path of the entry at `row` (a document's has no `/`).
    pub fn entry_path(&self, row: usize) -> Option<String> {
        let e = self.entries().get(row)?;
        Some(match e.kind {
            EntryKind::Dir => child_path(&self.path, &e.name),
            EntryKind::Doc => format!("{}{}", self.path, e.name),
        })
    }
}

/// Dragging the handle at a column's right edge (it ends when the button
/// comes up: [`crate::state::Message::PointerUp`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResizeMsg {
    /// The handle of column `n` was pressed.
    Start(usize),
    /// The mouse is at this x (pixels) while resizing.
    Move(f32),
}

impl Browser {
    /// Resizes a column as its handle is dragged (between
    /// [`COLUMN_WIDTHS`]).
    pub(crate) fn resize(&mut self, m: ResizeMsg) {
        match m {
            ResizeMsg::Start(c) => self.resizing = Some((c, None)),
            ResizeMsg::Move(x) => {
                let Some((c, last)) = self.resizing.as_mut() else {
                    return;
                };
                if let (Some(l), Some(col)) = (*last, self.columns.get_mut(*c)) {
                    let (min, max) = COLUMN_WIDTHS;
                    col.width = (col.width + x - l).clamp(min, max);
                }
                *last = Some(x);
            }
        }
    }
}

/// The path of directory `name` inside `dir`, spelled as the tree spells
/// it (core's rules decide, e.g. `/by/author/` + `Miles` =
/// `/by/author/Miles/`).
pub fn child_path(dir: &str, name: &str) -> String {
    rules::parse_dir(dir)
        .and_then(|d| d.child(name))
        .map_or_else(|_| format!("{dir}{name}/"), |d| d.to_path())
}

/// The columns that show `path`: one per ancestor from `/`, each but the
/// last wanting its child selected; a document's path (no trailing `/`)
/// has the last column want the document. A path that is not in the tree
/// opens `/`.
pub fn columns_for(path: &str) -> (Vec<Column>, Vec<Effect>) {
    let (dir, entry) = match rules::split_entry(path) {
        Ok((d, Some(name))) if !path.ends_with('/') => (Some(d), Some(name)),
        _ => (rules::parse_dir(path).ok(), None),
    };
    let mut chain = Vec::new();
    let mut at = dir;
    while let Some(d) = at {
        at = d.parent();
        chain.push(d);
    }
    if chain.is_empty() {
        chain.push(Dir::Root);
    }
    chain.reverse();
    let mut columns: Vec<Column> = chain.iter().map(|d| Column::loading(d.to_path())).collect();
    for i in 0..columns.len().saturating_sub(1) {
        let child = &columns[i + 1].path;
        let name = child[columns[i].path.len()..].trim_end_matches('/');
        columns[i].want = Some(name.to_string());
    }
    if let (Some(last), Some(name)) = (columns.last_mut(), entry) {
        last.want = Some(name);
    }
    let effects = columns
        .iter()
        .map(|c| Effect::List(c.path.clone()))
        .collect();
    (columns, effects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_path_opens_every_ancestor_wanting_the_next() {
        let (cols, effects) = columns_for("/tags/jazz/1959/");
        let paths: Vec<&str> = cols.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["/", "/tags/", "/tags/jazz/", "/tags/jazz/1959/"]);
        assert_eq!(cols[1].want.as_deref(), Some("jazz"));
        assert_eq!(cols[3].want, None);
        assert_eq!(effects.len(), 4);
        let (cols, _) = columns_for("not a path");
        assert_eq!(cols.len(), 1);
        let (cols, _) = columns_for("/tags/jazz/so-what.txt");
        assert_eq!(cols.len(), 3);
        assert_eq!(cols[2].want.as_deref(), Some("so-what.txt"));
    }

    #[test]
    fn child_paths_follow_the_trees_spelling() {
        assert_eq!(child_path("/", "tags"), "/tags/");
        assert_eq!(child_path("/tags/", "jazz"), "/tags/jazz/");
        assert_eq!(child_path("/files/a/", "b"), "/files/a/b/");
    }
}
