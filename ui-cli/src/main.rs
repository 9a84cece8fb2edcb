//! `docgrid`: not built yet. See the issue "[5/5] The svn-style CLI" and `../shared/DESIGN.md`.
//!
//! This binary exists so the workspace has the shape of the design; it does
//! nothing and says so, rather than pretending to work.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "docgrid: not implemented yet (planned in issue \"[5/5] The svn-style CLI\"); docgrid {}",
        docgrid_core::VERSION
    );
    ExitCode::from(2)
}
