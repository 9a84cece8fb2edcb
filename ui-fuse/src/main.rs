//! `docgrid-fuse`: not built yet. Planned: the metadata tree mounted as a
//! filesystem over the tree layer (`docgrid_client::tree`), one inode per
//! document, folders that are queries, editor-safe saves and an overlay
//! migration mode; the contract is in `docs/design.md` ("The tree",
//! "Filesystem rules").
//!
//! This binary exists so the workspace has the shape of the design; it does
//! nothing and says so, rather than pretending to work.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "docgrid-fuse: not implemented yet (planned: see docs/design.md); docgrid {}",
        docgrid_core::VERSION
    );
    ExitCode::from(2)
}
