//! `token`: create, list and revoke bearer tokens.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use docgrid_core::api::Role;
use docgrid_server::auth::Tokens;
use docgrid_server::config::DataDir;

use super::DataArg;

/// Manage bearer tokens.
#[derive(clap::Args)]
pub struct TokenArgs {
    #[command(flatten)]
    data: DataArg,
    #[command(subcommand)]
    cmd: TokenCmd,
}

impl TokenArgs {
    /// Runs the subcommand.
    pub fn run(self) -> Result<()> {
        tokens(&DataDir::new(self.data.data), self.cmd)
    }
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create a token and print it.
    ///
    /// Example: docgrid-server token create alice --role write
    ///
    /// Example (the primary's token, valid on a follower too):
    /// docgrid-server token create alice --role write --secret-file alice.token --data ./follower
    Create {
        name: String,
        #[arg(long, value_enum, default_value = "read")]
        role: RoleArg,
        /// Use the secret in this file (e.g. a token of the primary, so
        /// that clients fail over to a follower with the same token)
        /// instead of a new random one.
        #[arg(long)]
        secret_file: Option<PathBuf>,
    },
    /// List tokens.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token.
    Revoke { name: String },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Read,
    Write,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Read => Role::Read,
            RoleArg::Write => Role::Write,
            RoleArg::Admin => Role::Admin,
        }
    }
}

fn tokens(dir: &DataDir, cmd: TokenCmd) -> Result<()> {
    let t = Tokens::open(&dir.tokens_db())?;
    let err = |e: docgrid_server::error::ApiError| anyhow::anyhow!(e.message);
    match cmd {
        TokenCmd::Create {
            name,
            role,
            secret_file: None,
        } => println!(
            "{}",
            t.create(&name, role.into())
                .map_err(err)?
                .token
                .unwrap_or_default()
        ),
        TokenCmd::Create {
            name,
            role,
            secret_file: Some(file),
        } => {
            let secret = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let secret = secret.trim();
            if secret.len() < 20 {
                bail!(
                    "{} holds {} characters; a token secret is at least 20",
                    file.display(),
                    secret.len()
                );
            }
            t.insert(&name, role.into(), secret).map_err(err)?;
            eprintln!("token {name} created with the secret in {}", file.display());
        }
        TokenCmd::List { json } => {
            let list = t.list().map_err(err)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for i in list {
                    println!("{}\t{:?}\t{}", i.name, i.role, i.created);
                }
            }
        }
        TokenCmd::Revoke { name } => t.revoke(&name).map_err(err)?,
    }
    Ok(())
}
