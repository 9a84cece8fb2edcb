//! Running the browser's [`Effect`]s: as tasks on the async tree layer in
//! the application, or on the blocking tree layer (tests, tools), both
//! ending in the [`Message`] that reports the outcome.

use docgrid_client::tree::{AsyncTree, Tree};
use docgrid_core::error_chain;

use docgrid_client::ErrorKind;

use crate::state::{EditError, Effect, Message};

/// Runs `effect` on the blocking tree.
pub fn run_blocking(tree: &Tree, effect: Effect) -> Message {
    match effect {
        Effect::List(path) => {
            let result = tree.list(&path).map_err(|e| error_chain(&e));
            Message::Listed { path, result }
        }
        Effect::Doc { path, id } => {
            let result = tree.doc(&id).map_err(|e| error_chain(&e));
            Message::Doc { path, result }
        }
        Effect::Text { path, id, len } => {
            let result = tree.read_at(&id, 0, len).map_err(|e| error_chain(&e));
            Message::Text { path, result }
        }
        // Nothing to wait for without a window.
        Effect::Settle(path) => Message::Settled(path),
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

/// Runs `effect` on a worker of the async tree (as [`run_blocking`]
/// there); the future resolves to its message, never blocking the
/// caller's thread. A settle waits its time instead.
pub async fn run(tree: AsyncTree, effect: Effect) -> Message {
    if let Effect::Settle(path) = effect {
        after(crate::preview::SETTLE).await;
        return Message::Settled(path);
    }
    let again = effect.clone();
    match tree.run(move |t| Ok(run_blocking(t, effect))).await {
        Ok(m) => m,
        // The worker panicked: the effect failed.
        Err(e) => failed(again, error_chain(&e)),
    }
}

/// The message of `effect` failing with `why`.
fn failed(effect: Effect, why: String) -> Message {
    match effect {
        Effect::List(path) => Message::Listed {
            path,
            result: Err(why),
        },
        Effect::Doc { path, .. } => Message::Doc {
            path,
            result: Err(why),
        },
        Effect::Text { path, .. } => Message::Text {
            path,
            result: Err(why),
        },
        Effect::Edit { path, .. } => Message::Edited {
            path,
            result: Err(EditError::Other(why)),
        },
        Effect::Settle(path) => Message::Settled(path),
    }
}

fn edit_error(e: &docgrid_client::ClientError) -> EditError {
    match e.kind() {
        ErrorKind::Conflict => EditError::Conflict(error_chain(e)),
        _ => EditError::Other(error_chain(e)),
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
