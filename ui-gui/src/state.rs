//! The browser's state and its transitions: a plain struct updated by
//! [`Message`]s, returning the [`Effect`]s (fetches) it needs. Nothing
//! here blocks or talks to a server: the application runs effects as
//! tasks on the async tree layer, and the tests run them on the blocking
//! one. Everything the tree *means* comes from the tree layer and core's
//! rules; this is presentation state only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use docgrid_client::tree::{Changed, Listing};
use docgrid_core::DocId;
use docgrid_core::api::{DocInfo, EntryKind};
use docgrid_core::tree::DocEdit;

use crate::columns::{Column, columns_for};
use crate::edit::EditMsg;
use crate::preview::{Preview, text_of};
use crate::search::Search;

/// How long type-ahead keeps what was typed.
pub const TYPEAHEAD_RESET: Duration = Duration::from_secs(1);

/// A fetch the state needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// List the directory at this path.
    List(String),
    /// Fetch document `id`, shown at `path`, for the preview.
    Doc {
        /// Where it was selected.
        path: String,
        /// The document.
        id: DocId,
    },
    /// Fetch the first `len` bytes of document `id`, shown at `path`.
    Text {
        /// Where it was selected.
        path: String,
        /// The document.
        id: DocId,
        /// How many bytes.
        len: usize,
    },
    /// Report [`Message::Settled`] for `path` after the preview's settle
    /// time.
    Settle(String),
    /// Commit `edit` to document `id` (shown at `path`) against `base`.
    Edit {
        /// Where it is shown.
        path: String,
        /// The document.
        id: DocId,
        /// The revision the preview showed.
        base: u64,
        /// What changes.
        edit: DocEdit,
    },
}

/// Why an edit was not committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// Someone else committed to the document since it was shown (the
    /// server's message, naming it).
    Conflict(String),
    /// Anything else.
    Other(String),
}

/// A key as the browser understands it (from the keyboard, when no text
/// field has it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// ↑
    Up,
    /// ↓
    Down,
    /// ←
    Left,
    /// →
    Right,
    /// Home
    Home,
    /// End
    End,
    /// A printable character (type-ahead).
    Char(char),
}

/// What happens to the browser.
#[derive(Debug, Clone)]
pub enum Message {
    /// A listing arrived (or failed).
    Listed {
        /// The directory.
        path: String,
        /// The listing, or why not.
        result: Result<Arc<Listing>, String>,
    },
    /// A click on row `row` of column `column`.
    Select {
        /// The column.
        column: usize,
        /// The row.
        row: usize,
    },
    /// A key press at `at`.
    Key(Key, Instant),
    /// An edit in the preview.
    Edit(EditMsg),
    /// An edit was committed (its revision), or refused.
    Edited {
        /// Where the document is shown.
        path: String,
        /// The new revision, or the refusal.
        result: Result<u64, EditError>,
    },
    /// The selection at `path` has rested: fetch its preview.
    Settled(String),
    /// The start of the previewed document's content arrived (or failed).
    Text {
        /// Where it was selected.
        path: String,
        /// The bytes, or why not.
        result: Result<Vec<u8>, String>,
    },
    /// A document for the preview arrived (or failed).
    Doc {
        /// Where it was selected.
        path: String,
        /// It, or why not.
        result: Result<Arc<DocInfo>, String>,
    },
    /// The tree layer says something changed.
    Changed(Changed),
    /// Ctrl+Z.
    Undo,
    /// The search box's text changed.
    SearchInput(String),
    /// The search box was submitted (Enter).
    SearchSubmit,
    /// Column `column` scrolled to `offset`, `height` tall (pixels).
    Scrolled {
        /// The column.
        column: usize,
        /// Its offset.
        offset: f32,
        /// Its height.
        height: f32,
    },
}

/// What is typed for type-ahead, and when the last key came.
#[derive(Debug, Clone, Default)]
struct TypeAhead {
    typed: String,
    last: Option<Instant>,
}

/// Where the keyboard is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// Column `n`.
    Column(usize),
    /// The preview.
    Preview,
}

/// The browser.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The open columns, `/` first.
    pub columns: Vec<Column>,
    /// The selected document's preview.
    pub preview: Option<Preview>,
    /// Where the keyboard is.
    pub focus: Focus,
    /// The search box.
    pub search: Search,
    typeahead: TypeAhead,
    /// Edits committed, newest last, each as the edit undoing it.
    undo: Vec<(DocId, DocEdit)>,
    /// The undoing edit of the edit under way.
    undoing: Option<(DocId, DocEdit)>,
}

impl Browser {
    /// The browser opened at tree path `path`, and the listings it needs.
    pub fn new(path: &str) -> (Browser, Vec<Effect>) {
        let (columns, effects) = columns_for(path);
        let focus = Focus::Column(columns.len() - 1);
        let b = Browser {
            columns,
            preview: None,
            focus,
            search: Search::default(),
            typeahead: TypeAhead::default(),
            undo: Vec::new(),
            undoing: None,
        };
        (b, effects)
    }

    /// The path shown: the selected document's, else the last column's.
    pub fn path(&self) -> &str {
        match &self.preview {
            Some(p) => &p.path,
            None => self.columns.last().map_or("/", |c| c.path.as_str()),
        }
    }

    /// Whether anything is loading.
    pub fn loading(&self) -> bool {
        self.columns.iter().any(|c| c.loading)
    }

    /// What the window should warn of: listings served from the cache
    /// because no server answers.
    pub fn banner(&self) -> Option<&'static str> {
        self.columns
            .iter()
            .any(|c| c.listing.as_ref().is_some_and(|l| l.stale))
            .then_some("No server answers: showing what is cached (stale).")
    }

    /// Opens the results of the search box as a `/search/QUERY/` column,
    /// or leaves the parser's complaint in the box.
    fn search_submit(&mut self) -> Vec<Effect> {
        let Some(path) = self.search.submit() else {
            return Vec::new();
        };
        let (columns, effects) = columns_for(&path);
        self.columns = columns;
        self.preview = None;
        self.focus = Focus::Column(self.columns.len() - 1);
        effects
    }

    /// The column whose keyboard selection is out of view, and the offset
    /// that brings it in.
    pub fn reveal(&mut self) -> Option<(usize, f32)> {
        let Focus::Column(c) = self.focus else {
            return None;
        };
        Some((c, self.columns.get_mut(c)?.reveal()?))
    }

    /// Whether every column and the preview have what they show.
    pub fn settled(&self) -> bool {
        !self.loading() && self.preview.as_ref().is_none_or(Preview::settled)
    }

    /// Applies `msg`; returns what to fetch.
    pub fn update(&mut self, msg: Message) -> Vec<Effect> {
        match msg {
            Message::Listed { path, result } => self.listed(&path, result),
            Message::Select { column, row } => {
                self.focus = Focus::Column(column);
                self.select(column, row)
            }
            Message::Key(key, at) => self.key(key, at),
            Message::Settled(path) => self.fetch_preview(&path),
            Message::Edit(m) => self.edit(m),
            Message::Undo => self.undo(),
            Message::Edited { path, result } => self.edited(&path, result),
            Message::Text { path, result } => {
                if let Some(p) = self.preview.as_mut().filter(|p| p.path == path) {
                    match result {
                        Ok(bytes) => p.text = Some(text_of(&bytes)),
                        Err(e) => p.error = Some(e),
                    }
                }
                Vec::new()
            }
            Message::Doc { path, result } => {
                if let Some(p) = self.preview.as_mut().filter(|p| p.path == path) {
                    match result {
                        Ok(doc) => (p.doc, p.error) = (Some(doc), None),
                        Err(e) => p.error = Some(e),
                    }
                }
                Vec::new()
            }
            Message::Changed(c) => self.changed(&c),
            Message::SearchInput(text) => {
                self.search.text = text;
                Vec::new()
            }
            Message::SearchSubmit => self.search_submit(),
            Message::Scrolled {
                column,
                offset,
                height,
            } => {
                if let Some(c) = self.columns.get_mut(column) {
                    c.scroll = (offset, height);
                }
                Vec::new()
            }
        }
    }

    /// A listing arrived: the wanted row of the last column (from the
    /// start path) opens like a click.
    fn listed(&mut self, path: &str, result: Result<Arc<Listing>, String>) -> Vec<Effect> {
        let Some(i) = self.columns.iter().position(|c| c.path == path) else {
            return Vec::new();
        };
        let last = i + 1 == self.columns.len();
        let col = &mut self.columns[i];
        match result {
            Ok(listing) => {
                let wanted = col.listed(listing);
                match col.selected {
                    Some(row) if wanted && last => self.select(i, row),
                    _ => Vec::new(),
                }
            }
            Err(e) => {
                (col.loading, col.error) = (false, Some(e));
                Vec::new()
            }
        }
    }

    /// Selects row `row` of column `column`: deeper columns close; a
    /// directory opens the next column, a document the preview.
    pub fn select(&mut self, column: usize, row: usize) -> Vec<Effect> {
        let Some(col) = self.columns.get_mut(column) else {
            return Vec::new();
        };
        if row >= col.entries().len() {
            return Vec::new();
        }
        col.selected = Some(row);
        col.want = None;
        let entry = col.entries()[row].clone();
        let path = col.entry_path(row).unwrap_or_default();
        self.columns.truncate(column + 1);
        self.preview = None;
        match (entry.kind, entry.id) {
            (EntryKind::Dir, _) => {
                self.columns.push(Column::loading(path.clone()));
                vec![Effect::List(path)]
            }
            (EntryKind::Doc, Some(id)) => {
                self.preview = Some(Preview::new(path.clone(), id, entry.mime.clone()));
                vec![Effect::Settle(path)]
            }
            (EntryKind::Doc, None) => Vec::new(),
        }
    }

    fn key(&mut self, key: Key, at: Instant) -> Vec<Effect> {
        let column = match self.focus {
            Focus::Column(c) => c.min(self.columns.len().saturating_sub(1)),
            Focus::Preview => {
                if key == Key::Left {
                    self.focus = Focus::Column(self.columns.len().saturating_sub(1));
                }
                return Vec::new();
            }
        };
        let Some(col) = self.columns.get(column) else {
            return Vec::new();
        };
        let len = col.entries().len();
        let sel = col.selected;
        match key {
            Key::Up => self.move_to(column, sel.map_or(0, |s| s.saturating_sub(1)), len),
            Key::Down => self.move_to(column, sel.map_or(0, |s| s + 1), len),
            Key::Home => self.move_to(column, 0, len),
            Key::End => self.move_to(column, len.saturating_sub(1), len),
            Key::Left => {
                self.focus = Focus::Column(column.saturating_sub(1));
                Vec::new()
            }
            Key::Right => self.right(column),
            Key::Char(c) => self.type_ahead(column, c, at),
        }
    }

    fn move_to(&mut self, column: usize, row: usize, len: usize) -> Vec<Effect> {
        if len == 0 || self.columns[column].selected == Some(row.min(len - 1)) {
            return Vec::new();
        }
        self.select(column, row.min(len - 1))
    }

    /// → : into the opened directory (its first row if none selected), or
    /// onto the preview.
    fn right(&mut self, column: usize) -> Vec<Effect> {
        if self.preview.is_some() && column + 1 == self.columns.len() {
            self.focus = Focus::Preview;
            return Vec::new();
        }
        if column + 1 >= self.columns.len() {
            return Vec::new();
        }
        self.focus = Focus::Column(column + 1);
        let next = &self.columns[column + 1];
        if next.selected.is_none() && !next.entries().is_empty() {
            return self.select(column + 1, 0);
        }
        Vec::new()
    }

    /// Type-ahead: the first entry whose name starts with what was typed
    /// (case-insensitive) within [`TYPEAHEAD_RESET`] of the last key.
    fn type_ahead(&mut self, column: usize, c: char, at: Instant) -> Vec<Effect> {
        let t = &mut self.typeahead;
        if t.last
            .is_none_or(|l| at.duration_since(l) >= TYPEAHEAD_RESET)
        {
            t.typed.clear();
        }
        t.last = Some(at);
        t.typed.extend(c.to_lowercase());
        let typed = t.typed.clone();
        let found = self.columns[column]
            .entries()
            .iter()
            .position(|e| e.name.to_lowercase().starts_with(&typed));
        match found {
            Some(row) if self.columns[column].selected != Some(row) => self.select(column, row),
            _ => Vec::new(),
        }
    }

    /// Lists again the open columns that changed, and fetches the
    /// previewed document again if it changed.
    fn changed(&mut self, c: &Changed) -> Vec<Effect> {
        let mut effects = Vec::new();
        for col in &mut self.columns {
            if (c.everything || c.paths.contains(&col.path)) && !col.loading {
                col.loading = true;
                effects.push(Effect::List(col.path.clone()));
            }
        }
        if let Some(p) = &self.preview
            && (c.everything || c.docs.contains(&p.id))
        {
            let path = p.path.clone();
            effects.extend(self.fetch_preview(&path));
        }
        effects
    }

    /// An edit in the preview: the commit it makes, or a reload.
    fn edit(&mut self, m: EditMsg) -> Vec<Effect> {
        let Some(p) = self.preview.as_mut() else {
            return Vec::new();
        };
        if m == EditMsg::Reload {
            p.editing.conflict = None;
            let path = p.path.clone();
            return self.fetch_preview(&path);
        }
        let before = p.doc.clone();
        match (p.edit(m), before) {
            (Some(edit), Some(before)) => {
                self.undoing = Some((p.id, crate::edit::inverse(&before, &edit)));
                vec![Effect::Edit {
                    path: p.path.clone(),
                    id: p.id,
                    base: before.rev,
                    edit,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// Ctrl+Z: undoes the last edit, when its document is the one shown
    /// (against the revision shown; a conflict is shown as for any edit).
    pub fn undo(&mut self) -> Vec<Effect> {
        let Some(p) = self.preview.as_mut() else {
            return Vec::new();
        };
        let (Some(doc), Some((id, _))) = (&p.doc, self.undo.last()) else {
            return Vec::new();
        };
        if *id != p.id || p.editing.busy {
            return Vec::new();
        }
        let (id, edit) = self.undo.pop().expect("just seen");
        p.editing.busy = true;
        self.undoing = None;
        vec![Effect::Edit {
            path: p.path.clone(),
            id,
            base: doc.rev,
            edit,
        }]
    }

    /// An edit's outcome: the columns and the preview fetched again, or
    /// the conflict or error shown.
    fn edited(&mut self, path: &str, result: Result<u64, EditError>) -> Vec<Effect> {
        let Some(p) = self.preview.as_mut().filter(|p| p.path == path) else {
            return Vec::new();
        };
        p.editing.busy = false;
        let undoing = self.undoing.take();
        match result {
            Ok(_) => {
                if let Some(u) = undoing.filter(|(_, e)| !crate::edit::is_empty(e)) {
                    self.undo.push(u);
                }
                let mut effects = self.fetch_preview(path);
                // A column the change feed already has being listed again
                // is not listed twice.
                for col in self.columns.iter_mut().filter(|c| !c.loading) {
                    col.loading = true;
                    effects.push(Effect::List(col.path.clone()));
                }
                effects
            }
            Err(EditError::Conflict(m)) => {
                p.editing.conflict = Some(m);
                Vec::new()
            }
            Err(EditError::Other(m)) => {
                p.editing.error = Some(m);
                Vec::new()
            }
        }
    }

    /// The fetches of the preview at `path`, if it is still the one
    /// shown (the selection moved on otherwise).
    fn fetch_preview(&self, path: &str) -> Vec<Effect> {
        let Some(p) = self.preview.as_ref().filter(|p| p.path == path) else {
            return Vec::new();
        };
        let mut effects = vec![Effect::Doc {
            path: p.path.clone(),
            id: p.id,
        }];
        if p.is_text() {
            effects.push(Effect::Text {
                path: p.path.clone(),
                id: p.id,
                len: crate::preview::TEXT_BYTES,
            });
        }
        effects
    }
}
