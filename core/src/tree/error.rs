//! Why a tree path, listing name or write was refused.

use crate::model::ModelError;
use crate::query::QueryError;

/// Why the tree refused a path, a name or a write. Front-ends map these to
/// their own vocabulary in one place (FUSE: errno; CLI: exit code; GUI: a
/// message); the messages say what failed and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// A path that does not start with `/`.
    #[error("tree path {path:?} is relative: tree paths start with '/', e.g. /tags/jazz/")]
    Relative {
        /// The refused path.
        path: String,
    },
    /// An empty component (`//`) inside a path.
    #[error("tree path {path:?} has an empty component ('//'): remove the doubled '/'")]
    EmptyComponent {
        /// The refused path.
        path: String,
    },
    /// A `.` or `..` component: tree paths are canonical, resolve them first.
    #[error(
        "component {component:?} is not allowed in tree paths: resolve '.' and '..' before \
         asking the tree"
    )]
    DotComponent {
        /// The refused component.
        component: String,
    },
    /// A first component that is none of the fixed top-level directories.
    #[error(
        "there is no top-level directory {name:?}: the root holds all/, tags/, by/, files/, \
         search/, recent/ and ids/"
    )]
    UnknownRoot {
        /// The unknown name.
        name: String,
    },
    /// A component below a directory that has no subdirectories.
    #[error("{dir} has no subdirectory {name:?}: it lists only documents")]
    NoSubdirectories {
        /// The directory, as a canonical path.
        dir: String,
        /// The name looked for under it.
        name: String,
    },
    /// A `/by/` component in key position that is not a valid key.
    #[error("{key:?} is not a metadata key (in /by/ every other component is a key): {source}")]
    InvalidKey {
        /// The refused key.
        key: String,
        /// What is wrong with it.
        source: ModelError,
    },
    /// A tag or value component that cannot be a metadata value.
    #[error("{component:?} is not a valid metadata value: {source}")]
    InvalidValue {
        /// The refused component.
        component: String,
        /// What is wrong with it.
        source: ModelError,
    },
    /// A document or `/files/` directory name that is not a valid name.
    #[error("invalid name: {0}")]
    InvalidName(#[source] ModelError),
    /// The query of a `/search/QUERY/` path does not parse.
    #[error("the query {query:?} of /search/ does not parse: {source} (write '/' as '\u{2215}')")]
    BadQuery {
        /// The query text (with `/` restored).
        query: String,
        /// The parser's complaint.
        source: QueryError,
    },
    /// A path that names a directory where an entry name was expected.
    #[error("{path:?} names no entry: give a path with a final name, e.g. /all/report.pdf")]
    NoEntryName {
        /// The refused path.
        path: String,
    },
    /// A write the directory does not allow.
    #[error("{dir} is read-only: {why}")]
    ReadOnly {
        /// The directory, as a canonical path.
        dir: String,
        /// Why, and what to do instead.
        why: String,
    },
    /// A directory that cannot be created because it always exists.
    #[error("{dir} always exists: there is nothing to create")]
    AlreadyExists {
        /// The directory, as a canonical path.
        dir: String,
    },
    /// An extended attribute outside the `user.docgrid.` namespace.
    #[error(
        "extended attribute {name:?} is not docgrid metadata: docgrid attributes are named \
         user.docgrid.KEY"
    )]
    NotDocgridXattr {
        /// The attribute's name.
        name: String,
    },
    /// An extended attribute value that is not UTF-8 text.
    #[error("the value of {name:?} is not UTF-8 text: metadata values are text, one per line")]
    XattrNotUtf8 {
        /// The attribute's name.
        name: String,
    },
    /// A directory to remove that still lists entries.
    #[error("{dir} is not empty: it lists {entries} entries (remove them first)")]
    NotEmpty {
        /// The directory, as a canonical path.
        dir: String,
        /// How many entries it lists.
        entries: usize,
    },
    /// A reserved key written through an extended attribute.
    #[error(
        "key {key:?} is maintained by docgrid and is read-only here: rename the file to change \
         `name`, move it under /files/ to change `path`"
    )]
    ReservedKey {
        /// The key.
        key: String,
    },
}
