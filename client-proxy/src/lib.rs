//! `docgrid-client`: the typed client of the docgrid `/v1` API, its content
//! cache, and the proxy daemon that serves the same API locally.
//!
//! - [`client::Client`]: typed calls for every endpoint over one or several
//!   servers (writes to the primary, reads from any healthy one), the
//!   upload pipeline (chunk and hash locally, send only missing chunks,
//!   commit) and verified, cached downloads;
//! - [`cache::ChunkCache`]: content-addressed chunks on disk under a size
//!   bound, shared by several processes;
//! - [`proxy`]: the `docgrid-proxy` daemon's routes;
//! - [`config`]: settings from flags, environment and
//!   `~/.config/docgrid/config.toml`.
#![warn(missing_docs)]

pub mod cache;
pub mod client;
pub mod config;
pub mod proxy;

pub use client::{Client, ClientError, ClientOptions};
