//! The metadata tree of `docs/design.md` ("The tree"): what each path lists
//! and what writing through it means, as pure functions shared by every
//! front-end.
//!
//! - Paths: [`parse_dir`] turns `/by/author/alice/year/` into a [`Dir`],
//!   [`Dir::to_path`] prints it back, [`split_entry`] splits off a final
//!   name for lookups, [`Dir::child`] descends one component.
//! - Listings: [`Dir::listing`] says which documents ([`DocFilter`]) and
//!   which subdirectories ([`Subdirs`]) a directory shows, as data the server
//!   executes against its index; [`list_naive`] is the reference executor.
//! - Names: [`disambiguate`] shows clashing documents as `stem~SHORTID.ext`,
//!   [`parse_disambiguated`] reads such names back.
//! - Writes: [`plan_create`], [`plan_remove`], [`plan_rename`] plan document
//!   changes ([`NewDoc`], [`DocEdit`]) that [`NewDoc::op`] and [`edit_ops`]
//!   turn into [`Op`](crate::Op)s; [`plan_mkdir`] and [`plan_rmdir`] handle
//!   tags and `/files/` directories; [`xattr_set_op`] maps extended
//!   attributes `user.docgrid.KEY` to metadata.
//!
//! Every refusal is a [`TreeError`] naming what failed and what to do.
//!
//! ```
//! use docgrid_core::tree::{self, DocFilter, Dir, PathEdit};
//!
//! let dir = tree::parse_dir("/by/author/alice/year/2020/").unwrap();
//! assert_eq!(dir.to_path(), "/by/author/alice/year/2020/");
//! let pairs = vec![("author".into(), "alice".into()), ("year".into(), "2020".into())];
//! assert_eq!(dir.listing().docs, DocFilter::Pairs(pairs));
//!
//! // `mv /tags/jazz/x.flac /files/music/x.flac`: untag, give it a path.
//! let from = tree::parse_dir("/tags/jazz/").unwrap();
//! let edit = tree::plan_rename(&from, &Dir::Files(vec!["music".into()]), "x.flac").unwrap();
//! assert_eq!(edit.remove, [("tag".to_string(), "jazz".to_string())]);
//! assert_eq!(edit.path, PathEdit::Set("music/x.flac".into()));
//! ```

mod dirs;
mod edit;
mod error;
mod listing;
mod naive;
mod names;
mod paths;
mod typed;
mod write;
mod xattr;

pub use dirs::{RmdirPlan, plan_mkdir, plan_rmdir};
pub use edit::{DocEdit, PathEdit, apply_edit, edit_ops};
pub use error::TreeError;
pub use listing::{DocFilter, Listing, RECENT_LIMIT, Subdirs};
pub use naive::{DocView, Entry, Extras, list_naive};
pub use names::{
    EntryIn, disambiguate, disambiguated_name, id_has_prefix, parse_disambiguated, split_ext,
};
pub use paths::{
    Dir, ROOT_ENTRIES, SLASH_STAND_IN, parse_dir, split_entry, split_entry_name, value_component,
};
pub use typed::{Known, join_typed_slashes};
pub use write::{Implied, NewDoc, plan_create, plan_remove, plan_rename};
pub use xattr::{
    XATTR_PREFIX, join_values, split_values, xattr_get, xattr_key, xattr_name, xattr_names,
    xattr_remove_op, xattr_set_op,
};
