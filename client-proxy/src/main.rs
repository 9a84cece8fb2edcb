//! `docgrid-proxy`: not built yet. See the issue "[4/5] Client library and the local proxy" and `../shared/DESIGN.md`.
//!
//! This binary exists so the workspace has the shape of the design; it does
//! nothing and says so, rather than pretending to work.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "docgrid-proxy: not implemented yet (planned in issue \"[4/5] Client library and the local proxy\"); docgrid {}",
        docgrid_core::VERSION
    );
    ExitCode::from(2)
}
