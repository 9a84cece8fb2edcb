//! `docgrid-client`: the typed client of the docgrid `/v1` API, its content
//! cache and the proxy daemon. Not built yet (issue "[4/5] Client library and
//! the local proxy"); this crate only fixes its place in the workspace.
#![warn(missing_docs)]
