//! Moving through the columns: clicks, arrows, type-ahead, and the keys
//! that act on the selection (Enter opens, Space enlarges the preview,
//! Delete removes with the meaning of `rm` in the tree, asking first when
//! that deletes a document).

use std::time::Instant;

use docgrid_core::api::EntryKind;
use docgrid_core::tree as rules;

use crate::columns::Column;
use crate::preview::{Preview, SETTLE};
use crate::state::{Browser, Confirm, Effect, Focus, Key, TYPEAHEAD_RESET};

impl Browser {
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
        // A question was about what was selected: it goes with it.
        self.confirm = None;
        match (entry.kind, entry.id) {
            (EntryKind::Dir, _) => {
                self.columns.push(Column::loading(path.clone()));
                vec![Effect::List(path)]
            }
            (EntryKind::Doc, Some(id)) => {
                self.preview = Some(Preview::new(path.clone(), id, entry.mime.clone()));
                // A selection after a rest is fetched at once; one in a
                // quick run (↓ held) waits until the run rests.
                let now = Instant::now();
                let rested = self
                    .last_select
                    .is_none_or(|l| now.duration_since(l) >= SETTLE);
                self.last_select = Some(now);
                if rested {
                    self.fetch_preview(&path, true)
                } else {
                    vec![Effect::Settle(path)]
                }
            }
            (EntryKind::Doc, None) => Vec::new(),
        }
    }

    /// A key no text field took.
    pub(crate) fn key(&mut self, key: Key, at: Instant) -> Vec<Effect> {
        if self.confirm.is_some() {
            return match key {
                Key::Enter => self.confirmed(true),
                Key::Escape => self.confirmed(false),
                _ => Vec::new(),
            };
        }
        match key {
            Key::Space => {
                self.large = self.preview.is_some() && !self.large;
                return Vec::new();
            }
            Key::Escape => {
                self.large = false;
                return Vec::new();
            }
            Key::Enter if self.on_preview() => return self.open(),
            Key::Delete => return self.delete(),
            _ => {}
        }
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
            Key::Right | Key::Enter => self.right(column),
            Key::Char(c) => self.type_ahead(column, c, at),
            Key::Space | Key::Escape | Key::Delete => Vec::new(),
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

    /// Whether the keyboard is on the previewed document: the preview, or
    /// the column where it is selected.
    fn on_preview(&self) -> bool {
        self.preview.is_some()
            && match self.focus {
                Focus::Preview => true,
                Focus::Column(c) => c + 1 == self.columns.len(),
            }
    }

    /// Enter on a document: fetched into the cache, opened with the
    /// desktop's default application.
    fn open(&mut self) -> Vec<Effect> {
        let Some(p) = &self.preview else {
            return Vec::new();
        };
        let name = p.doc.as_ref().map_or_else(
            || p.path.rsplit('/').next().unwrap_or("document").to_string(),
            |d| d.name.clone(),
        );
        self.status = Some(format!("Opening {name}…"));
        vec![Effect::Open { id: p.id, name }]
    }

    /// Delete: the selected entry leaves its directory as `rm` would have
    /// it (core's `plan_remove`: untagged in `/tags/A/`, deleted in
    /// `/all/` and `/files/`, asked first); an empty directory is removed
    /// (`rmdir`).
    fn delete(&mut self) -> Vec<Effect> {
        let column = match self.focus {
            Focus::Column(c) => c,
            Focus::Preview => self.columns.len().saturating_sub(1),
        };
        let Some(col) = self.columns.get(column) else {
            return Vec::new();
        };
        let Some(entry) = col.selected_entry() else {
            return Vec::new();
        };
        if entry.kind == EntryKind::Dir {
            let path = col
                .entry_path(col.selected.unwrap_or(0))
                .unwrap_or_default();
            return vec![Effect::Rmdir(path)];
        }
        let dir = col.path.clone();
        let plan = rules::parse_dir(&dir).and_then(|d| rules::plan_remove(&d));
        let edit = match plan {
            Ok(edit) => edit,
            Err(e) => {
                self.status = Some(format!("Cannot remove {} from {dir}: {e}", entry.name));
                return Vec::new();
            }
        };
        let Some(p) = self.preview.as_ref().filter(|p| p.doc.is_some()) else {
            return Vec::new();
        };
        if edit.delete {
            self.confirm = Some(Confirm {
                question: format!(
                    "Delete {}? It goes from every directory (its history stays until purged).",
                    entry.name
                ),
                path: p.path.clone(),
                edit,
            });
            return Vec::new();
        }
        self.commit_edit(edit)
    }

    /// The answer to the question asked (about the document shown: a
    /// question outlives no selection).
    pub(crate) fn confirmed(&mut self, yes: bool) -> Vec<Effect> {
        let Some(c) = self.confirm.take().filter(|_| yes) else {
            return Vec::new();
        };
        if self.preview.as_ref().is_none_or(|p| p.path != c.path) {
            return Vec::new();
        }
        let effects = self.commit_edit(c.edit);
        if let Some(p) = self.preview.as_mut().filter(|_| !effects.is_empty()) {
            p.editing.deleting = true;
        }
        effects
    }

    /// The mouse went down on a row: selected (unless it already is), and
    /// a document may be dragged from there.
    pub(crate) fn press(&mut self, column: usize, row: usize) -> Vec<Effect> {
        self.focus = Focus::Column(column);
        let Some(col) = self.columns.get(column) else {
            return Vec::new();
        };
        let entry = col.entries().get(row).cloned();
        let again = col.selected == Some(row);
        self.dragging = entry
            .filter(|e| e.kind == EntryKind::Doc)
            .map(|e| (column, e.name, false));
        if again {
            return Vec::new();
        }
        self.select(column, row)
    }

    /// The mouse came up over a row: a document dragged onto a directory
    /// of another column moves there (a tree rename: in `/tags/` a
    /// retag); anywhere else nothing happens.
    pub(crate) fn release(&mut self, column: usize, row: usize) -> Vec<Effect> {
        let Some((from_col, name, _)) = self.dragging.take() else {
            return Vec::new();
        };
        let (Some(from), Some(to)) = (
            self.columns.get(from_col).map(|c| c.path.clone()),
            self.columns.get(column).and_then(|c| c.child_dir(row)),
        ) else {
            return Vec::new();
        };
        if to == from || column == from_col {
            return Vec::new();
        }
        self.status = Some(format!("Moving {name} to {to}…"));
        vec![Effect::Move { from, name, to }]
    }

    /// A move's outcome.
    pub(crate) fn moved(&mut self, r: Result<String, String>) -> Vec<Effect> {
        let said = r
            .as_ref()
            .map(|to| format!("Moved to {to}"))
            .map_err(|e| format!("Not moved: {e}"));
        self.outcome(said)
    }

    /// A directory's removal, done or refused: its column (and those
    /// right of it) closes.
    pub(crate) fn removed(&mut self, path: &str, result: Result<u64, String>) -> Vec<Effect> {
        if result.is_ok()
            && let Some(i) = self.columns.iter().position(|c| c.path == path)
        {
            self.columns.truncate(i.max(1));
            self.preview = None;
            if let Some(parent) = self.columns.last_mut() {
                parent.selected = None;
            }
            self.focus = Focus::Column(self.columns.len() - 1);
        }
        let said = result
            .map(|_| format!("Removed {path}"))
            .map_err(|e| format!("Cannot remove {path}: {e}"));
        self.outcome(said)
    }

    /// The status line says how a write of this window's went; a done one
    /// lists the columns again.
    fn outcome(&mut self, said: Result<String, String>) -> Vec<Effect> {
        let done = said.is_ok();
        self.status = Some(said.unwrap_or_else(|e| e));
        if done { self.relist() } else { Vec::new() }
    }

    /// Lists every open column again (after a write of this window's),
    /// except those the change feed already has being listed.
    pub(crate) fn relist(&mut self) -> Vec<Effect> {
        self.columns
            .iter_mut()
            .filter(|c| !c.loading)
            .map(|c| {
                c.loading = true;
                Effect::List(c.path.clone())
            })
            .collect()
    }
}
