//! `docgrid-gui`: not built yet. Planned: a Miller-columns browser of the
//! metadata tree over the async tree layer (`docgrid_client::tree::AsyncTree`),
//! refreshed by its change subscriptions; the contract is in
//! `docs/design.md` ("The tree layer").
//!
//! This binary exists so the workspace has the shape of the design; it does
//! nothing and says so, rather than pretending to work.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "docgrid-gui: not implemented yet (planned: see docs/design.md); docgrid {}",
        docgrid_core::VERSION
    );
    ExitCode::from(2)
}
