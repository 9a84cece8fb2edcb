//! `docgrid`: the command line, with Subversion's habits. Repository-side
//! verbs (import, ls, cat, export, info, search, tags and properties, log,
//! rm, mv, mkdir) and working copies (checkout, status, add, rm, revert,
//! diff, update, commit, resolve; see [`wc`]) over the tree layer of
//! `docgrid-client`, against a server or the local proxy. Targets starting
//! with `/` or `^/` (or document ids) are the repository's; other paths are
//! working-copy paths. One struct per subcommand ([`cmd`]).

/// `println!` that ends the program quietly when stdout is a closed pipe
/// (`docgrid ls | head`), as svn and coreutils do, instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => { $crate::exit::out_line(format_args!($($t)*), true) };
}

/// `print!` with [`outln!`]'s handling of a closed pipe.
macro_rules! out {
    ($($t:tt)*) => { $crate::exit::out_line(format_args!($($t)*), false) };
}

mod args;
mod cmd;
mod ctx;
mod exit;
mod wc;

use std::process::ExitCode;

use clap::Parser;

use crate::cmd::Run;

/// docgrid: keep documents, find them by tags, attributes and full text.
///
/// Repository targets are tree paths (/tags/jazz/x.pdf, ^/all/x) or
/// document ids; anything else is a working-copy path.
#[derive(Parser)]
#[command(name = "docgrid", version, about, long_about, after_help = exit::EXIT_CODES)]
pub struct Cli {
    /// A server (or docgrid-proxy) URL; repeat for failover; without a
    /// scheme, http:// is meant. Default: DOCGRID_URL, then
    /// ~/.config/docgrid/config.toml.
    #[arg(long = "server", global = true)]
    servers: Vec<String>,
    /// The bearer token (default: DOCGRID_TOKEN, then the config file).
    #[arg(long, global = true, hide_env_values = true)]
    token: Option<String>,
    #[command(subcommand)]
    cmd: cmd::Cmd,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = ctx::Ctx::new(cli.servers, cli.token);
    match cli.cmd.run(&ctx) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if exit::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docgrid: {e:#}");
            ExitCode::from(exit::code(&e))
        }
    }
}
