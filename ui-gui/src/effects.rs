//! Running the browser's [`Effect`]s: as tasks on the async tree layer in
//! the application, or on the blocking tree layer (tests, tools), both
//! ending in the [`Message`] that reports the outcome.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use docgrid_client::ErrorKind;
use docgrid_client::tree::{AsyncTree, Tree};
use docgrid_core::error_chain;

use crate::import::ImportMsg;
use crate::state::{EditError, Effect, Message};

/// Snippets are fetched for this many hits of a search column.
pub const SNIPPET_HITS: u64 = 1000;

/// What effects need of the desktop: where opened documents are copied,
/// and the command that opens them.
#[derive(Debug, Clone)]
pub struct Desktop {
    /// The directory documents opened with Enter are copied to.
    pub open_dir: PathBuf,
    /// The command given the copy's path (`xdg-open`, `open`).
    pub opener: Vec<String>,
}

impl Desktop {
    /// Copies under `cache`/open, opened with the platform's opener.
    pub fn new(cache: &Path) -> Desktop {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        Desktop {
            open_dir: cache.join("open"),
            opener: vec![opener.to_string()],
        }
    }
}

/// Runs `effect` on the blocking tree.
pub fn run_blocking(tree: &Tree, desk: &Desktop, effect: Effect) -> Message {
    let err = |e: docgrid_client::ClientError| error_chain(&e);
    match effect {
        Effect::List(path) => {
            let result = tree.list(&path).map_err(err);
            Message::Listed { path, result }
        }
        Effect::Doc { path, id } => {
            let result = tree.doc(&id).map_err(err);
            Message::Doc { path, result }
        }
        Effect::Text { path, id, len } => {
            let result = tree.read_at(&id, 0, len).map_err(err);
            Message::Text { path, result }
        }
        Effect::History { path, id } => {
            let result = tree.client().history(&id).map_err(err);
            Message::History { path, result }
        }
        Effect::Picture { path, id, mime } => {
            let result = crate::picture::fetch(tree, &id, &mime);
            Message::Picture { path, result }
        }
        Effect::Extracted { path, id } => {
            let result = tree.client().text(&id).map(|t| t.text).map_err(err);
            Message::Extracted { path, result }
        }
        Effect::Snippets { path, query } => {
            let result = snippets(tree, &query).map_err(err);
            Message::Snippets { path, result }
        }
        Effect::Open { id, name } => Message::Opened(open(tree, desk, &id, &name)),
        Effect::Rmdir(path) => {
            let result = tree.rmdir(&path).map_err(err);
            Message::Removed { path, result }
        }
        Effect::Move { from, name, to } => Message::Moved(move_to(tree, &from, &name, &to)),
        Effect::Import { dir, files } => {
            let result = tree.import(&dir, &files, &|_| {}).map_err(err);
            Message::Import(ImportMsg::Done(result))
        }
        Effect::Pick(dir) => Message::Import(ImportMsg::Picked {
            dir,
            result: Err("no window to show it in".into()),
        }),
        // Nothing to wait for without a window.
        Effect::Settle(path) => Message::Settled(path),
        Effect::DropSettle(n) => Message::Import(ImportMsg::DropSettled(n)),
        Effect::Edit {
            path,
            id,
            base,
            edit,
        } => {
            let result = tree.edit(id, base, &edit).map_err(|e| edit_error(&e));
            Message::Edited { path, result }
        }
    }
}

/// Runs `effects` on the blocking tree, and those their messages cause,
/// until none are left (settles at once: nothing waits for a timer).
pub fn settle_blocking(
    b: &mut crate::state::Browser,
    tree: &Tree,
    desk: &Desktop,
    mut effects: Vec<Effect>,
) {
    while !effects.is_empty() {
        let next: Vec<Effect> = effects
            .drain(..)
            .flat_map(|e| b.update(run_blocking(tree, desk, e)))
            .collect();
        effects = next;
    }
}

/// Runs `effect` on a worker of the async tree (as [`run_blocking`]
/// there); the future resolves to its message, never blocking the
/// caller's thread. A settle waits its time instead.
pub async fn run(tree: AsyncTree, desk: Desktop, effect: Effect) -> Message {
    match effect {
        Effect::Settle(path) => {
            after(crate::preview::SETTLE).await;
            return Message::Settled(path);
        }
        Effect::DropSettle(n) => {
            after(crate::import::DROP_SETTLE).await;
            return Message::Import(ImportMsg::DropSettled(n));
        }
        _ => {}
    }
    let again = effect.clone();
    match tree.run(move |t| Ok(run_blocking(t, &desk, effect))).await {
        Ok(m) => m,
        // The worker panicked: the effect failed.
        Err(e) => failed(again, error_chain(&e)),
    }
}

/// The message of `effect` failing with `why`.
fn failed(effect: Effect, why: String) -> Message {
    let e = why.clone();
    match effect {
        Effect::List(path) => Message::Listed {
            path,
            result: Err(e),
        },
        Effect::Doc { path, .. } => Message::Doc {
            path,
            result: Err(e),
        },
        Effect::Text { path, .. } => Message::Text {
            path,
            result: Err(e),
        },
        Effect::History { path, .. } => Message::History {
            path,
            result: Err(e),
        },
        Effect::Picture { path, .. } => Message::Picture {
            path,
            result: Err(e),
        },
        Effect::Extracted { path, .. } => Message::Extracted {
            path,
            result: Err(e),
        },
        Effect::Snippets { path, .. } => Message::Snippets {
            path,
            result: Err(e),
        },
        Effect::Open { .. } => Message::Opened(Err(e)),
        Effect::Rmdir(path) => Message::Removed {
            path,
            result: Err(e),
        },
        Effect::Move { .. } => Message::Moved(Err(e)),
        Effect::Import { .. } => Message::Import(ImportMsg::Done(Err(e))),
        Effect::Pick(dir) => Message::Import(ImportMsg::Picked {
            dir,
            result: Err(e),
        }),
        Effect::Edit { path, .. } => Message::Edited {
            path,
            result: Err(EditError::Other(why)),
        },
        Effect::Settle(path) => Message::Settled(path),
        Effect::DropSettle(n) => Message::Import(ImportMsg::DropSettled(n)),
    }
}

fn edit_error(e: &docgrid_client::ClientError) -> EditError {
    match e.kind() {
        ErrorKind::Conflict => EditError::Conflict(error_chain(e)),
        _ => EditError::Other(error_chain(e)),
    }
}

/// Moves `name` from `from` into `to` — never over a document `to`
/// already lists under that name (`mv` would replace it; a drag must not).
fn move_to(tree: &Tree, from: &str, name: &str, to: &str) -> Result<String, String> {
    let err = |e: docgrid_client::ClientError| error_chain(&e);
    if tree.list(to).map_err(err)?.get(name).is_some() {
        return Err(format!(
            "{to} already has a {name}; rename one of them first"
        ));
    }
    tree.rename(from, name, to, name)
        .map(|n| n.path)
        .map_err(err)
}

/// The snippet of each of the first [`SNIPPET_HITS`] hits of `query`.
fn snippets(
    tree: &Tree,
    query: &str,
) -> Result<Arc<HashMap<docgrid_core::DocId, String>>, docgrid_client::ClientError> {
    let hits = tree.client().search(query, SNIPPET_HITS, 0)?.hits;
    Ok(Arc::new(
        hits.into_iter()
            .filter_map(|h| Some((h.doc.id, h.snippet?)))
            .collect(),
    ))
}

/// Copies document `id` (at revision `rev`) to
/// `desk.open_dir/ID/rREV/NAME` — verified as it is read, written to a
/// fresh temporary file and renamed into place — and hands the copy to the
/// desktop's opener. A copy already there is opened as it is: it may be
/// the user's, edited (changes to it are not saved back). The directory
/// is the user's alone (0700).
fn open(
    tree: &Tree,
    desk: &Desktop,
    id: &docgrid_core::DocId,
    name: &str,
) -> Result<PathBuf, String> {
    let rev = tree.doc(id).map_err(|e| error_chain(&e))?.rev;
    let dir = desk.open_dir.join(id.to_string()).join(format!("r{rev}"));
    let path = dir.join(file_name(name));
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    if !path.exists() {
        private_dirs(&dir).map_err(io)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io)?;
        tree.client()
            .content_to(id, tmp.as_file_mut())
            .map_err(|e| error_chain(&e))?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist_noclobber(&path).map_err(|e| io(e.error))?;
    }
    let (cmd, args) = desk.opener.split_first().ok_or("no opener configured")?;
    let mut child = std::process::Command::new(cmd)
        .args(args)
        .arg(&path)
        .spawn()
        .map_err(|e| format!("running {cmd}: {e}"))?;
    // Reaped in the background: an opener may stay as long as the
    // application it started.
    std::thread::spawn(move || child.wait());
    Ok(path)
}

/// `dir` and its parents, each created readable by the user alone.
fn private_dirs(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// A document name as a local file name: no `/` or NUL, at most 200
/// bytes (cut at a character, the extension kept).
fn file_name(name: &str) -> String {
    const MAX: usize = 200;
    let safe: String = name
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    if safe.len() <= MAX {
        return safe;
    }
    let ext = safe.rsplit_once('.').map_or("", |(_, e)| e);
    let ext = if ext.len() < 16 { ext } else { "" };
    let mut stem = String::new();
    for c in safe.chars() {
        if stem.len() + c.len_utf8() + ext.len() + 1 > MAX {
            break;
        }
        stem.push(c);
    }
    if ext.is_empty() {
        stem
    } else {
        format!("{stem}.{ext}")
    }
}

/// A future done after `d` (on a thread of its own: no timer runtime).
pub async fn after(d: std::time::Duration) {
    let (tx, rx) = iced::futures::channel::oneshot::channel();
    std::thread::spawn(move || {
        std::thread::sleep(d);
        let _ = tx.send(());
    });
    let _ = rx.await;
}
