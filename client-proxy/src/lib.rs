//! `docgrid-client`: the library every docgrid front-end stands on.
//!
//! - [`tree::Tree`]: the metadata tree as typed operations — `lookup`,
//!   paged `list`, ranged `read_at` through the chunk caches, and writes
//!   planned by core's tree rules and committed against the base revision
//!   seen — with a listing cache kept current by the change feed and a
//!   subscription saying which paths changed. [`tree::AsyncTree`] is the
//!   same for async front-ends (the GUI): calls run on a small worker pool
//!   and never block the caller's executor.
//! - [`Client`]: typed, blocking calls for every `/v1` endpoint over one or
//!   several servers (writes to the primary, reads from any healthy one),
//!   the upload pipeline (chunk and hash locally, send only missing chunks,
//!   commit) and verified, cached downloads.
//! - [`ClientError`] and its [`ErrorKind`]: one classification front-ends
//!   map exhaustively (FUSE to errno, the GUI to a message, the CLI to an
//!   exit code).
//! - [`feed::ChangeFeed`]: the `/v1/changes` long poll in a background
//!   thread, shared by the tree layer and the proxy.
//! - [`cache::ChunkCache`]: content-addressed chunks on disk under a size
//!   bound, shared by several processes.
//! - [`config`]: settings from flags, environment and
//!   `~/.config/docgrid/config.toml`.
//!
//! The library has no HTTP server, no command-line parser and no async
//! runtime; the local proxy daemon is the `docgrid-proxy` crate.
//!
//! ```no_run
//! use docgrid_client::{Client, ClientOptions, tree::Tree};
//!
//! let client = Client::new(&["http://127.0.0.1:8040".into()], "TOKEN", ClientOptions::default())?;
//! let tree = Tree::new(client);
//! for entry in tree.list("/tags/jazz/")?.entries() {
//!     println!("{} {:?}", entry.name, entry.size);
//! }
//! let node = tree.lookup("/tags/jazz/so what.flac")?;
//! let first_kib = tree.read_at(&node.id().unwrap(), 0, 1024)?;
//! # Ok::<(), docgrid_client::ClientError>(())
//! ```
#![warn(missing_docs)]

pub mod cache;
pub mod client;
pub mod config;
pub mod error;
pub mod feed;
mod transport;
pub mod tree;
pub mod upload;

pub use client::{Client, ClientOptions};
pub use error::{ClientError, ErrorKind};
pub use transport::{RawAnswer, encode};
pub use upload::{NewDoc, UploadStats};
