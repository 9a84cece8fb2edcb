//! `docgrid-server`: the HTTP API over the SQLite + tantivy index and a
//! [`BlobStore`](docgrid_core::BlobStore).
//!
//! - [`app::App`]: the state — store, [`index::Index`], [`fulltext::FullText`],
//!   [`auth::Tokens`] — and catching up with the journal at start-up;
//! - [`commit`]: validate → journal append (the commit point) → apply;
//! - [`search`] and [`treeexec`]: the query language and the tree over the index;
//! - [`http`]: the `/v1` routes; [`launch`] serves them on a listener.

pub mod app;
pub mod auth;
pub mod commit;
pub mod config;
pub mod error;
pub mod extract;
pub mod fulltext;
pub mod http;
pub mod index;
pub mod maintenance;
pub mod search;
pub mod testing;
pub mod treeexec;

use std::future::Future;
use std::sync::Arc;

/// Serves the API for `app` on `listener` until `shutdown` completes.
pub async fn launch(
    app: Arc<app::App>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Full-text commits are deferred (a commit per changeset costs ~20 ms):
    // reads commit what is pending, and so does this tick, once a second.
    let ticker = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                let app = app.clone();
                let synced = tokio::task::spawn_blocking(move || app.sync_fulltext()).await;
                if let Ok(Err(e)) = synced {
                    tracing::error!("full-text commit failed: {e:#}");
                }
            }
        })
    };
    // Text and metadata extraction after each commit, in worker processes.
    let extraction = extract::runner::Runner::start(app.clone())?;
    let follower = match &app.role() {
        app::ServerRole::Follower { poll, .. } => Some(tokio::spawn(follow(app.clone(), *poll))),
        app::ServerRole::Primary => None,
    };
    let stopping = app.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.stop();
    };
    let served = axum::serve(listener, http::router(app.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    ticker.abort();
    if let Some(f) = follower {
        f.abort();
    }
    let _ = tokio::task::spawn_blocking(move || drop(extraction)).await;
    let _ = tokio::task::spawn_blocking(move || app.sync_fulltext()).await;
    served
}

/// A follower's tail: applies what the primary commits, every `poll`.
/// Failures (the grid away, the gateway restarting) are logged once per
/// change of message and retried at the next poll.
async fn follow(app: Arc<app::App>, poll: std::time::Duration) {
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_error: Option<String> = None;
    loop {
        tick.tick().await;
        let a = app.clone();
        let caught = tokio::task::spawn_blocking(move || {
            let _serial = a.writer();
            a.catch_up()
        })
        .await;
        match caught {
            Ok(Ok(n)) => {
                if n > 0 {
                    tracing::info!(applied = n, rev = app.rev(), "followed the primary");
                }
                if last_error.take().is_some() {
                    tracing::info!("following the journal again");
                }
            }
            Ok(Err(e)) => {
                let msg = format!("{e:#}");
                if last_error.as_ref() != Some(&msg) {
                    tracing::error!("following the journal: {msg}");
                    last_error = Some(msg);
                }
            }
            Err(e) => tracing::error!("following the journal: {e}"),
        }
    }
}

/// Now, RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339 formats any date")
}

/// Now, seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub use docgrid_core::parallel_map;
