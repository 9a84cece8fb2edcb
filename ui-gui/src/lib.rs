//! docgrid-gui: a Miller-columns browser of docgrid's metadata tree.
//!
//! - [`state`]: the browser's state (columns, selection, preview,
//!   keyboard focus, type-ahead) and its transitions, returning the
//!   fetches they need as [`state::Effect`]s — tested without a window;
//! - [`columns`]: one column per directory, the rows in view;
//! - [`navigate`]: clicks, arrows, type-ahead, Enter, Space, Delete;
//! - [`edit`]: editing the previewed document's metadata in place;
//! - [`preview`] and [`picture`]: the selected document's metadata,
//!   history, text or picture, fetched once the selection rests and
//!   decoded off the UI thread;
//! - [`import`] and [`dialog`]: files dropped or picked, imported into a
//!   column with progress and a summary;
//! - [`search`]: the search box (core's query parser, results as a
//!   `/search/QUERY/` column);
//! - [`effects`]: effects run on the tree layer (async in the app,
//!   blocking in tests);
//! - [`app`], [`view`] and [`preview_view`]: the iced application and
//!   what it draws.
//!
//! What the tree means comes from the tree layer
//! (`docgrid_client::tree`) and core's rules; this crate holds
//! presentation state only.

pub mod app;
pub mod columns;
pub mod dialog;
pub mod edit;
pub mod effects;
pub mod import;
pub mod navigate;
pub mod pdf;
pub mod picture;
pub mod preview;
pub mod preview_view;
pub mod search;
pub mod shot;
pub mod state;
pub mod view;
