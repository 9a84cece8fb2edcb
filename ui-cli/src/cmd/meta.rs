//! `completions` and `man`: generated from the same clap definitions as
//! the parser, so they cannot drift from it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory};

use super::Run;
use crate::ctx::Ctx;

/// Print a shell completion script.
///
/// Example: docgrid completions bash > /etc/bash_completion.d/docgrid
#[derive(Args)]
pub struct Completions {
    shell: clap_complete::Shell,
}

impl Run for Completions {
    fn run(self, _ctx: &Ctx) -> Result<()> {
        let mut out = Vec::new();
        clap_complete::generate(self.shell, &mut crate::Cli::command(), "docgrid", &mut out);
        out!("{}", String::from_utf8_lossy(&out));
        Ok(())
    }
}

/// Print the man page docgrid(1) (roff), or one subcommand's
/// (docgrid-SUB(1)); with --dir, write docgrid.1 and every
/// docgrid-SUB.1 into DIR.
///
/// Example: docgrid man | man -l -
///
/// Example: docgrid man commit | man -l -
///
/// Example: docgrid man --dir /usr/local/share/man/man1
#[derive(Args)]
pub struct Man {
    /// A subcommand.
    sub: Option<String>,
    /// Write every page into this directory.
    #[arg(long)]
    dir: Option<PathBuf>,
}

impl Run for Man {
    fn run(self, _ctx: &Ctx) -> Result<()> {
        let cmd = crate::Cli::command();
        if let Some(dir) = &self.dir {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            return Ok(());
        }
        let page = match &self.sub {
            None => cmd,
            Some(s) => {
                let sub = cmd
                    .find_subcommand(s)
                    .with_context(|| format!("no subcommand '{s}' (docgrid help lists them)"))?
                    .clone();
                let name = format!("docgrid-{}", sub.get_name());
                sub.name(name).version(env!("CARGO_PKG_VERSION"))
            }
        };
        let mut out = Vec::new();
        clap_mangen::Man::new(page).render(&mut out)?;
        out!("{}", String::from_utf8_lossy(&out));
        Ok(())
    }
}
