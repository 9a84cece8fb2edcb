//! `docgrid-fuse overlay` ([5/8], being built): a mount over a live
//! directory whose files move into the store as they are used and in the
//! background. So far: [`journal`], the durable per-file state journal
//! the overlay resumes from after a crash or restart, and [`migrate`],
//! moving lower files into the store one at a time under it (the
//! background migration's and read-through's step).

pub mod journal;
pub mod migrate;
