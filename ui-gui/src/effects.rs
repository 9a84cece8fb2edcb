//! Running the browser's [`Effect`]s: as tasks on the async tree layer in
//! the application, or on the blocking tree layer (tests, tools), both
//! ending in the [`Message`] that reports the outcome.

use docgrid_client::tree::{AsyncTree, Tree};
use docgrid_core::error_chain;

use crate::state::{Effect, Message};

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
    }
}

/// Runs `effect` on a worker of the async tree; the future resolves to
/// its message (never blocking the caller's thread).
pub async fn run(tree: AsyncTree, effect: Effect) -> Message {
    match effect {
        Effect::List(path) => {
            let result = tree.list(&path).await.map_err(|e| error_chain(&e));
            Message::Listed { path, result }
        }
        Effect::Doc { path, id } => {
            let result = tree.doc(id).await.map_err(|e| error_chain(&e));
            Message::Doc { path, result }
        }
    }
}
