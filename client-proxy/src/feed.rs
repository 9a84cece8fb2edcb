//! [`ChangeFeed`]: follows `GET /v1/changes` (the long poll) in a
//! background thread and tells a handler what was committed. The tree
//! layer keeps its caches current with it; the proxy drops its remembered
//! answers with it.
//!
//! While connected the feed is *live*: a cache may trust what it holds
//! until the handler hears of a commit. When the connection drops the feed
//! says so ([`FeedEvent::Lost`]) and retries; on reconnection it fetches
//! the commits it missed, so nothing committed meanwhile goes unheard
//! ([`FeedEvent::Commits`] with `gap: true` when too many were missed to
//! list).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use docgrid_core::api::CommitInfo;

use crate::client::Client;

/// What the feed tells its handler. On `Connected` a handler must drop
/// what it cached before: commits made before the feed connected are not
/// told.
#[derive(Debug, Clone)]
pub enum FeedEvent {
    /// Connected (or reconnected) at revision `rev`.
    Connected {
        /// The server's newest revision.
        rev: u64,
    },
    /// Commits landed: the server is now at `rev`.
    Commits {
        /// The newest revision.
        rev: u64,
        /// The commits, oldest first.
        commits: Vec<CommitInfo>,
        /// More commits landed than are listed (a long disconnection):
        /// anything cached may be out of date.
        gap: bool,
    },
    /// The connection dropped: caches cannot be trusted until `Connected`.
    Lost {
        /// Why.
        why: String,
    },
}

/// How long one long poll waits on the server.
const POLL_WAIT: Duration = Duration::from_secs(20);
/// Commits asked for at once.
const PAGE: usize = 1000;

struct State {
    rev: AtomicU64,
    live: AtomicBool,
    stop: AtomicBool,
}

/// A running change feed. Dropping it stops the thread after its current
/// poll.
pub struct ChangeFeed {
    state: Arc<State>,
}

impl ChangeFeed {
    /// Starts following `client`'s servers, calling `handler` from the
    /// feed's thread for every event.
    pub fn start(client: Client, handler: impl Fn(FeedEvent) + Send + 'static) -> ChangeFeed {
        let state = Arc::new(State {
            rev: AtomicU64::new(0),
            live: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let s = state.clone();
        std::thread::Builder::new()
            .name("docgrid-change-feed".into())
            .spawn(move || follow(&client, &s, &handler))
            .expect("spawning the change feed thread");
        ChangeFeed { state }
    }

    /// Whether the feed is connected: what a handler cached is current.
    pub fn is_live(&self) -> bool {
        self.state.live.load(Ordering::SeqCst)
    }

    /// The newest revision the feed has seen.
    pub fn rev(&self) -> u64 {
        self.state.rev.load(Ordering::SeqCst)
    }
}

impl Drop for ChangeFeed {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
    }
}

/// Marks the feed not live when its thread ends, however it ends.
struct NotLive<'a>(&'a State);

impl Drop for NotLive<'_> {
    fn drop(&mut self) {
        self.0.live.store(false, Ordering::SeqCst);
    }
}

/// Calls the handler; a panic in it is logged, never the end of the feed.
fn tell(handler: &dyn Fn(FeedEvent), event: FeedEvent) {
    let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(event)));
    if told.is_err() {
        tracing::error!("a change-feed handler panicked; the feed goes on");
    }
}

/// The shortest time between two polls that found nothing: a server that
/// answers a long poll at once (shutting down, or ignoring `wait`) is not
/// asked again in a loop.
const MIN_EMPTY_POLL: Duration = Duration::from_millis(500);

fn follow(client: &Client, state: &State, handler: &dyn Fn(FeedEvent)) {
    let _not_live = NotLive(state);
    // The revision heard last, if the feed was ever connected.
    let mut seen: Option<u64> = None;
    let mut connected = false;
    while !state.stop.load(Ordering::SeqCst) {
        let asked = std::time::Instant::now();
        let step = match (connected, seen) {
            (true, Some(since)) => client.changes(since, POLL_WAIT),
            // (Re)connecting after having heard `since`: what was missed.
            (false, Some(since)) => client.changes(since, Duration::ZERO),
            (_, None) => client.health().map(|h| docgrid_core::api::Changes {
                rev: h.rev,
                commits: Vec::new(),
            }),
        };
        match step {
            Ok(changes) => {
                let since = seen.unwrap_or(changes.rev);
                if let Some(last) = changes.commits.last() {
                    // Caches hear of what was missed before they are
                    // trusted again.
                    let gap = changes.commits.len() >= PAGE && last.rev < changes.rev;
                    let rev = if gap { changes.rev } else { last.rev };
                    tell(
                        handler,
                        FeedEvent::Commits {
                            rev,
                            commits: changes.commits,
                            gap,
                        },
                    );
                    seen = Some(rev);
                } else {
                    seen = Some(since);
                    if connected && asked.elapsed() < MIN_EMPTY_POLL {
                        std::thread::sleep(MIN_EMPTY_POLL - asked.elapsed());
                    }
                }
                state.rev.store(seen.unwrap_or(0), Ordering::SeqCst);
                if !connected {
                    connected = true;
                    // Handlers drop what they cached before trusting it.
                    tell(handler, FeedEvent::Connected { rev: changes.rev });
                    state.live.store(true, Ordering::SeqCst);
                }
            }
            Err(e) => {
                if connected {
                    tracing::warn!(
                        "change feed lost: {e}; caches are not trusted until it is back"
                    );
                    tell(handler, FeedEvent::Lost { why: e.to_string() });
                }
                connected = false;
                state.live.store(false, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}
