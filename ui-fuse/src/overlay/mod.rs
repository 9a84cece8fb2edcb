//! `docgrid-fuse overlay` ([5/8], being built): a mount over a live
//! directory whose files move into the store as they are used and in the
//! background.
//!
//! - [`journal`]: the durable per-file state journal the overlay resumes
//!   from after a crash or restart;
//! - [`migrate`] (and [`batch`], [`moves`]): moving one lower file, or
//!   many at once, into the store, and the store's side of renames and
//!   deletes;
//! - [`lower`], [`nodes`]: the lower directory through its descriptor, and
//!   the inode numbers;
//! - [`ofs`], [`handles`], [`names`]: what each request means;
//!   [`layers`], [`spool`]: write-back's spool over the lower directory;
//!   [`fuse`]: the FUSE adapter; [`worker`]: uploads and the background
//!   migration; [`mount`]: putting it together;
//! - [`status`]: what `overlay status` reports; [`finish`]: `verify`
//!   and `finish`.

pub mod batch;
pub mod finish;
pub mod fuse;
pub mod handles;
pub mod journal;
pub mod layers;
pub mod lower;
pub mod migrate;
pub mod mount;
pub mod moves;
pub mod names;
pub mod nodes;
pub mod ofs;
pub mod spool;
pub mod status;
pub mod worker;
