//! Importing into a column: files and folders dropped from the desktop's
//! file manager, or picked with Import…, go into the directory of the
//! deepest open column with the metadata it implies (the tree layer's
//! [`Tree::import`](docgrid_client::tree::Tree::import): tags on the
//! path, `K=V`, `path` under `/files/`). A progress bar (files, bytes,
//! deduplicated bytes) while it runs, a summary after; a second drop
//! while one runs waits its turn.
//!
//! The window learns of a drop one file at a time and not where it
//! landed (X11 through winit reports no position): the files of one drop
//! are gathered until none has come for [`DROP_SETTLE`], and the target
//! is shown while they hover.

use std::path::PathBuf;
use std::time::Duration;

use docgrid_client::tree::{ImportAction, ImportProgress, ImportReport};

use crate::state::{Browser, Effect};
use crate::view::size;

/// How long after the last dropped file a drop is taken as complete.
pub const DROP_SETTLE: Duration = Duration::from_millis(120);

/// What happens to an import.
#[derive(Debug, Clone)]
pub enum ImportMsg {
    /// Files are dragged over the window.
    Hovered,
    /// The drag left without a drop.
    Left,
    /// A file or folder was dropped (one message each).
    Dropped(PathBuf),
    /// No file came for a while since drop number `n`.
    DropSettled(u64),
    /// Import… was clicked.
    Pick,
    /// What the file dialog asked for `dir` gave (nothing: cancelled), or
    /// why there is no dialog.
    Picked {
        /// The directory the dialog was opened for.
        dir: String,
        /// The files picked.
        result: Result<Vec<PathBuf>, String>,
    },
    /// How far the running import is.
    Progress(ImportProgress),
    /// The running import ended.
    Done(Result<ImportReport, String>),
}

/// Drops and imports.
#[derive(Debug, Clone, Default)]
pub struct Imports {
    /// Files are dragged over the window.
    pub hovering: bool,
    /// Files of the drop under way.
    pub dropped: Vec<PathBuf>,
    /// Files dropped so far (to tell when a drop is complete).
    drops: u64,
    /// The import under way.
    pub running: Option<Running>,
    /// Imports waiting for it: directory and files.
    queued: Vec<(String, Vec<PathBuf>)>,
    /// What the last import did, until dismissed.
    pub summary: Option<String>,
}

/// An import under way.
#[derive(Debug, Clone)]
pub struct Running {
    /// Into this directory.
    pub dir: String,
    /// How far it is.
    pub progress: ImportProgress,
}

impl Running {
    /// The share done (0 to 1), by bytes (by files for empty ones).
    pub fn fraction(&self) -> f32 {
        let p = &self.progress;
        if p.bytes_total > 0 {
            p.bytes as f32 / p.bytes_total as f32
        } else if p.files_total > 0 {
            p.files as f32 / p.files_total as f32
        } else {
            0.0
        }
    }

    /// The progress in words.
    pub fn describe(&self) -> String {
        let p = &self.progress;
        format!(
            "Importing into {}: {}/{} files, {} of {}, {} deduplicated",
            self.dir,
            p.files,
            p.files_total,
            size(p.bytes),
            size(p.bytes_total),
            size(p.deduplicated())
        )
    }
}

impl Browser {
    /// Where a drop or a pick goes: the deepest open column.
    pub fn drop_target(&self) -> &str {
        self.columns.last().map_or("/", |c| c.path.as_str())
    }

    /// Applies an import message.
    pub(crate) fn import(&mut self, m: ImportMsg) -> Vec<Effect> {
        let im = &mut self.imports;
        match m {
            ImportMsg::Hovered => im.hovering = true,
            ImportMsg::Left => im.hovering = false,
            ImportMsg::Dropped(p) => {
                im.hovering = false;
                im.dropped.push(p);
                im.drops += 1;
                // One timer per drop: the first file arms it.
                if im.dropped.len() == 1 {
                    return vec![Effect::DropSettle(im.drops)];
                }
            }
            // Files came since the timer was armed: wait for the rest.
            ImportMsg::DropSettled(n) if n != im.drops => {
                return vec![Effect::DropSettle(im.drops)];
            }
            ImportMsg::DropSettled(_) if !im.dropped.is_empty() => {
                let files = std::mem::take(&mut im.dropped);
                let dir = self.drop_target().to_string();
                return self.start(dir, files);
            }
            ImportMsg::DropSettled(_) => {}
            ImportMsg::Pick => return vec![Effect::Pick(self.drop_target().to_string())],
            ImportMsg::Picked {
                dir,
                result: Ok(files),
            } if !files.is_empty() => return self.start(dir, files),
            ImportMsg::Picked { result: Ok(_), .. } => {}
            ImportMsg::Picked { result: Err(e), .. } => {
                self.status = Some(format!("No file dialog: {e}. Drop files onto the window."));
            }
            ImportMsg::Progress(p) => {
                if let Some(r) = im.running.as_mut() {
                    r.progress = p;
                }
            }
            ImportMsg::Done(result) => return self.import_done(result),
        }
        Vec::new()
    }

    /// Imports `files` into `dir`, or queues them behind the import under
    /// way.
    fn start(&mut self, dir: String, files: Vec<PathBuf>) -> Vec<Effect> {
        if self.imports.running.is_some() {
            self.imports.queued.push((dir, files));
            return Vec::new();
        }
        vec![self.launch(dir, files)]
    }

    /// The import of `files` into `dir`, now under way.
    fn launch(&mut self, dir: String, files: Vec<PathBuf>) -> Effect {
        self.imports.running = Some(Running {
            dir: dir.clone(),
            progress: ImportProgress::default(),
        });
        Effect::Import { dir, files }
    }

    /// An import ended: its summary shown, the columns listed again, the
    /// next queued one started.
    fn import_done(&mut self, result: Result<ImportReport, String>) -> Vec<Effect> {
        let im = &mut self.imports;
        let dir = im.running.take().map(|r| r.dir).unwrap_or_default();
        im.summary = Some(match result {
            Ok(r) => summary(&r),
            Err(e) => format!("Nothing imported into {dir}: {e}"),
        });
        let mut effects = self.relist();
        if !self.imports.queued.is_empty() {
            let (dir, files) = self.imports.queued.remove(0);
            effects.push(self.launch(dir, files));
        }
        effects
    }
}

/// What an import did, in a line.
pub fn summary(r: &ImportReport) -> String {
    let p = &r.progress;
    let mut s = format!(
        "Imported {} file(s) into {}: {} new, {} updated, {} unchanged · {} read, {} sent, {} deduplicated",
        p.files,
        r.dir,
        r.count(ImportAction::New),
        r.count(ImportAction::Updated),
        r.count(ImportAction::Unchanged),
        size(p.bytes),
        size(p.bytes_sent),
        size(p.deduplicated()),
    );
    if let Some(e) = &r.error {
        s.push_str(&format!(
            " · then stopped: {e} (what was imported before it stays)"
        ));
    }
    if !r.skipped.is_empty() {
        let names: Vec<String> = r
            .skipped
            .iter()
            .take(3)
            .map(|(f, why)| format!("{} ({why})", f.display()))
            .collect();
        let more = r.skipped.len().saturating_sub(3);
        s.push_str(&format!(
            " · skipped {}: {}",
            r.skipped.len(),
            names.join(", ")
        ));
        if more > 0 {
            s.push_str(&format!(" and {more} more"));
        }
    }
    s
}
