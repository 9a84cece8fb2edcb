//! docgrid-fuse: docgrid's metadata tree mounted as a filesystem.
//!
//! - [`fs`]: the filesystem core (inodes, drafts, scratch names, held
//!   removals), tested without a kernel;
//! - [`fuse`]: the thin adapter from FUSE requests to [`fs::Fs`] calls;
//! - [`mount`]: mounting, the change-feed and sweeper threads, unmounting;
//! - [`overlay`]: migrating a live directory into the store (its state
//!   journal so far).

pub mod fs;
pub mod fuse;
pub mod mount;
pub mod overlay;
