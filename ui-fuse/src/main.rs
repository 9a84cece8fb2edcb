//! `docgrid-fuse`: not built yet. See the issue "FUSE tree" and `../shared/DESIGN.md`.
//!
//! This binary exists so the workspace has the shape of the design; it does
//! nothing and says so, rather than pretending to work.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "docgrid-fuse: not implemented yet (planned in issue \"FUSE tree\"); docgrid {}",
        docgrid_core::VERSION
    );
    ExitCode::from(2)
}
