//! `docgrid-server`: not built yet. See the issue "[2/5] Server" and `../shared/DESIGN.md`.
//!
//! This binary exists so the workspace has the shape of the design; it does
//! nothing and says so, rather than pretending to work.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "docgrid-server: not implemented yet (planned in issue \"[2/5] Server\"); docgrid {}",
        docgrid_core::VERSION
    );
    ExitCode::from(2)
}
