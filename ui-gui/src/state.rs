//! The browser's state and its transitions: a plain struct updated by
//! [`Message`]s, returning the [`Effect`]s (fetches) it needs. Nothing
//! here blocks or talks to a server: the application runs effects as
//! tasks on the async tree layer, and the tests run them on the blocking
//! one. Everything the tree *means* comes from the tree layer and core's
//! rules; this is presentation state only.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use docgrid_client::tree::{Changed, Listing};
use docgrid_core::DocId;
use docgrid_core::api::{DocInfo, HistoryEntry};
use docgrid_core::tree::DocEdit;

use crate::columns::{Column, columns_for};
use crate::edit::EditMsg;
use crate::import::{ImportMsg, Imports};
use crate::picture::Picture;
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
    /// Fetch the history of document `id`, shown at `path`.
    History {
        /// Where it was selected.
        path: String,
        /// The document.
        id: DocId,
    },
    /// Fetch document `id` (shown at `path`) and draw it as a picture: an
    /// image decoded and scaled, a PDF's first page rendered.
    Picture {
        /// Where it was selected.
        path: String,
        /// The document.
        id: DocId,
        /// Its MIME type.
        mime: String,
    },
    /// Fetch the text the server extracted from document `id` (shown at
    /// `path`): the preview of a type shown neither as text nor as a
    /// picture.
    Extracted {
        /// Where it was selected.
        path: String,
        /// The document.
        id: DocId,
    },
    /// Fetch the snippets of the search column at `path`.
    Snippets {
        /// The `/search/QUERY/` column.
        path: String,
        /// Its query.
        query: String,
    },
    /// Fetch document `id` into the cache and open it with the desktop's
    /// default application.
    Open {
        /// The document.
        id: DocId,
        /// Its name (the cached file is called so).
        name: String,
    },
    /// Remove the empty directory at this path (`rmdir`).
    Rmdir(String),
    /// Move entry `name` of directory `from` into directory `to` (`mv`:
    /// `from`'s innermost metadata goes, `to`'s comes).
    Move {
        /// Where it is.
        from: String,
        /// Its name there.
        name: String,
        /// Where it goes.
        to: String,
    },
    /// Report [`ImportMsg::DropSettled`] with this count of drops after
    /// [`crate::import::DROP_SETTLE`].
    DropSettle(u64),
    /// Import local `files` (and folders) into directory `dir`.
    Import {
        /// The directory.
        dir: String,
        /// What was dropped or picked.
        files: Vec<PathBuf>,
    },
    /// Ask the desktop for files to import into directory `dir` (a file
    /// dialog).
    Pick(String),
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
    /// Enter: open the document with the desktop's application, or
    /// enter the directory.
    Enter,
    /// Space: a larger preview, or back.
    Space,
    /// Delete: remove the selected entry from its directory (`rm`).
    Delete,
    /// Escape: cancel what is asked.
    Escape,
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
    /// The mouse button went down on row `row` of column `column`: it is
    /// selected, and may be dragged.
    Press {
        /// The column.
        column: usize,
        /// The row.
        row: usize,
    },
    /// The mouse button came up over row `row` of column `column` (a drop
    /// there, if something was dragged).
    Release {
        /// The column.
        column: usize,
        /// The row.
        row: usize,
    },
    /// The mouse button came up anywhere (after any row's `Release`).
    PointerUp,
    /// The mouse moved while a document is held.
    DragMove,
    /// A double click on row `row` of column `column` (Enter).
    Activate {
        /// The column.
        column: usize,
        /// The row.
        row: usize,
    },
    /// A dragged document was moved (where it went), or not.
    Moved(Result<String, String>),
    /// A selection of row `row` of column `column` (a click, a test).
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
    /// The history of the previewed document arrived (or failed).
    History {
        /// Where it was selected.
        path: String,
        /// Its revisions, newest first, or why not.
        result: Result<Vec<HistoryEntry>, String>,
    },
    /// The picture of the previewed document arrived (or failed).
    Picture {
        /// Where it was selected.
        path: String,
        /// It, or why not.
        result: Result<Picture, String>,
    },
    /// The text the server extracted arrived (or failed).
    Extracted {
        /// Where it was selected.
        path: String,
        /// The text (empty: none), or why not.
        result: Result<String, String>,
    },
    /// The snippets of a search column arrived (or failed).
    Snippets {
        /// The column.
        path: String,
        /// Snippet by document, or why not.
        result: Result<Arc<HashMap<DocId, String>>, String>,
    },
    /// A document was fetched and handed to the desktop (its local
    /// copy), or not.
    Opened(Result<PathBuf, String>),
    /// A directory was removed, or not.
    Removed {
        /// The directory.
        path: String,
        /// The revision, or why not.
        result: Result<u64, String>,
    },
    /// The answer to what was asked (a delete): go ahead, or not.
    Confirm(bool),
    /// Drops and imports.
    Import(ImportMsg),
    /// Dismiss the status line.
    Dismiss,
    /// A column's handle is dragged.
    Resize(crate::columns::ResizeMsg),
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
pub(crate) struct TypeAhead {
    pub(crate) typed: String,
    pub(crate) last: Option<Instant>,
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
    pub(crate) typeahead: TypeAhead,
    /// Edits committed, newest last, each as the edit undoing it.
    pub(crate) undo: Vec<(DocId, DocEdit)>,
    /// The undoing edit of the edit under way.
    pub(crate) undoing: Option<(DocId, DocEdit)>,
    /// What is asked before it is done (a delete), if anything.
    pub confirm: Option<Confirm>,
    /// The outcome of the last action (opened, removed, failed), shown
    /// until dismissed.
    pub status: Option<String>,
    /// The preview takes the window (Space).
    pub large: bool,
    /// Files dropped, being imported, or imported.
    pub imports: Imports,
    /// The column being resized, and the mouse's last x.
    pub resizing: Option<(usize, Option<f32>)>,
    /// When a document was last selected (the preview's debounce).
    pub(crate) last_select: Option<Instant>,
    /// The document being dragged: its column, its name, and whether the
    /// mouse has moved since the press (a drag, not a click).
    pub dragging: Option<(usize, String, bool)>,
}

/// A question before a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    /// The question.
    pub question: String,
    /// The document's path as the preview shows it (the question is about
    /// it alone).
    pub path: String,
    /// The edit made on "yes" (core's `plan_remove` there: a delete).
    pub edit: DocEdit,
}

impl Browser {
    /// The browser opened at tree path `path`, and the listings it needs.
    pub fn new(path: &str) -> (Browser, Vec<Effect>) {
        let (columns, effects) = columns_for(path);
        let focus = Focus::Column(columns.len() - 1);
        let mut b = Browser {
            columns,
            preview: None,
            focus,
            search: Search::default(),
            typeahead: TypeAhead::default(),
            undo: Vec::new(),
            undoing: None,
            confirm: None,
            status: None,
            large: false,
            imports: Imports::default(),
            resizing: None,
            last_select: None,
            dragging: None,
        };
        // Opened at a search: its query is in the box.
        if let Some(q) = b.columns.iter().rev().find_map(Column::search_query) {
            b.search.text = q;
        }
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
            m @ (Message::Press { .. }
            | Message::Release { .. }
            | Message::PointerUp
            | Message::DragMove
            | Message::Activate { .. }
            | Message::Resize(_)
            | Message::Scrolled { .. }) => self.pointer(m),
            Message::Moved(r) => self.moved(r),
            Message::Settled(path) => self.fetch_preview(&path, true),
            Message::Edit(m) => self.edit(m),
            Message::Undo => self.undo(),
            Message::Edited { path, result } => self.edited(&path, result),
            m @ (Message::Text { .. }
            | Message::Doc { .. }
            | Message::History { .. }
            | Message::Picture { .. }
            | Message::Extracted { .. }
            | Message::Snippets { .. }) => {
                self.arrived(m);
                Vec::new()
            }
            Message::Changed(c) => self.changed(&c),
            Message::SearchInput(text) => {
                self.search.text = text;
                Vec::new()
            }
            Message::SearchSubmit => self.search_submit(),
            Message::Opened(r) => {
                self.status = Some(match r {
                    Ok(p) => format!("Opened a copy of it: {}", p.display()),
                    Err(e) => format!("Cannot open it: {e}"),
                });
                Vec::new()
            }
            Message::Removed { path, result } => self.removed(&path, result),
            Message::Confirm(yes) => self.confirmed(yes),
            Message::Import(m) => self.import(m),
            Message::Dismiss => {
                self.status = None;
                self.imports.summary = None;
                Vec::new()
            }
        }
    }

    /// What the mouse does: presses, releases and drags on rows, double
    /// clicks, resize handles, scrolling.
    fn pointer(&mut self, m: Message) -> Vec<Effect> {
        match m {
            Message::Press { column, row } => return self.press(column, row),
            Message::Release { column, row } => return self.release(column, row),
            Message::Activate { column, row } => {
                self.focus = Focus::Column(column);
                let mut effects = self.select(column, row);
                effects.extend(self.key(Key::Enter, Instant::now()));
                return effects;
            }
            Message::PointerUp => (self.dragging, self.resizing) = (None, None),
            Message::DragMove => {
                if let Some(d) = self.dragging.as_mut() {
                    d.2 = true;
                }
            }
            Message::Resize(m) => self.resize(m),
            Message::Scrolled {
                column,
                offset,
                height,
            } => {
                if let Some(c) = self.columns.get_mut(column) {
                    c.scroll = (offset, height);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Something for the preview arrived: kept if it is still the one
    /// shown (or a search column's snippets, kept by their column).
    fn arrived(&mut self, m: Message) {
        let path = match &m {
            Message::Snippets { path, result } => {
                if let Some(c) = self.columns.iter_mut().find(|c| c.path == *path) {
                    c.snippets = Some(result.clone().unwrap_or_default());
                }
                return;
            }
            Message::Text { path, .. }
            | Message::Doc { path, .. }
            | Message::History { path, .. }
            | Message::Picture { path, .. }
            | Message::Extracted { path, .. } => path.clone(),
            _ => return,
        };
        let Some(p) = self.preview.as_mut().filter(|p| p.path == path) else {
            return;
        };
        match m {
            Message::Text { result, .. } => match result {
                Ok(bytes) => p.text = Some(text_of(&bytes)),
                Err(e) => p.error = Some(e),
            },
            Message::Doc { result, .. } => match result {
                Ok(doc) => (p.doc, p.error) = (Some(doc), None),
                Err(e) => p.error = Some(e),
            },
            Message::History { result, .. } => p.history = Some(result),
            Message::Picture { result, .. } => p.picture = Some(result.map(Arc::new)),
            Message::Extracted { result, .. } => p.extracted = Some(result),
            _ => {}
        }
    }

    /// A listing arrived: the wanted row of the last column (from the
    /// start path) opens like a click; a previewed document the directory
    /// no longer lists (deleted, untagged) gives way to its neighbour; a
    /// search column fetches its snippets.
    fn listed(&mut self, path: &str, result: Result<Arc<Listing>, String>) -> Vec<Effect> {
        let Some(i) = self.columns.iter().position(|c| c.path == path) else {
            return Vec::new();
        };
        let last = i + 1 == self.columns.len();
        let col = &mut self.columns[i];
        let listing = match result {
            Ok(l) => l,
            Err(e) => {
                (col.loading, col.error) = (false, Some(e));
                return Vec::new();
            }
        };
        let before = col.selected;
        let wanted = col.listed(listing);
        let mut effects: Vec<Effect> = col.search_query().map_or_else(Vec::new, |query| {
            vec![Effect::Snippets {
                path: path.to_string(),
                query,
            }]
        });
        let len = col.entries().len();
        match (col.selected, before) {
            (Some(row), _) if wanted && last => effects.extend(self.select(i, row)),
            (None, Some(row)) if last && self.preview.is_some() => {
                self.preview = None;
                if len > 0 {
                    effects.extend(self.select(i, row.min(len - 1)));
                }
            }
            _ => {}
        }
        effects
    }

    /// Lists again the open columns that changed, and fetches the
    /// previewed document again if it changed.
    fn changed(&mut self, c: &Changed) -> Vec<Effect> {
        let mut effects = Vec::new();
        // Even one being listed: that listing may predate the change.
        for col in &mut self.columns {
            if c.everything || c.paths.contains(&col.path) {
                col.loading = true;
                effects.push(Effect::List(col.path.clone()));
            }
        }
        if let Some(p) = &self.preview
            && (c.everything || c.docs.contains(&p.id))
        {
            let path = p.path.clone();
            effects.extend(self.fetch_preview(&path, true));
        }
        effects
    }

    /// The fetches of the preview at `path`, if it is still the one
    /// shown (the selection moved on otherwise): its metadata and history,
    /// and with `content` its text or picture.
    pub(crate) fn fetch_preview(&self, path: &str, content: bool) -> Vec<Effect> {
        let Some(p) = self.preview.as_ref().filter(|p| p.path == path) else {
            return Vec::new();
        };
        let mut effects = vec![
            Effect::Doc {
                path: p.path.clone(),
                id: p.id,
            },
            Effect::History {
                path: p.path.clone(),
                id: p.id,
            },
        ];
        if !content {
            return effects;
        }
        if p.is_text() {
            effects.push(Effect::Text {
                path: p.path.clone(),
                id: p.id,
                len: crate::preview::TEXT_BYTES,
            });
        }
        if let Some(mime) = p.picture_mime() {
            effects.push(Effect::Picture {
                path: p.path.clone(),
                id: p.id,
                mime: mime.to_string(),
            });
        }
        if p.wants_extracted() {
            effects.push(Effect::Extracted {
                path: p.path.clone(),
                id: p.id,
            });
        }
        effects
    }
}
