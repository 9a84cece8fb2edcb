//! The subcommands of `docgrid-server`: one struct of arguments each,
//! resolved into a checked configuration before any work starts.

mod init;
mod maint;
mod run;
mod token;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use docgrid_server::config::{DataDir, ServerConfig};

pub use init::InitArgs;
pub use maint::{GcArgs, ReindexArgs, ScrubArgs};
pub use run::RunArgs;
pub use token::TokenArgs;

/// `--data DIR`, shared by every subcommand.
#[derive(clap::Args, Clone)]
pub struct DataArg {
    /// The data directory (store config, index, tokens; the native disks by default).
    #[arg(long, global = true, env = "DOCGRID_DATA", default_value_os_t = default_data())]
    pub data: PathBuf,
}

fn default_data() -> PathBuf {
    directories::ProjectDirs::from("", "", "docgrid").map_or_else(
        || PathBuf::from("docgrid-data"),
        |d| d.data_dir().to_path_buf(),
    )
}

impl DataArg {
    /// The data directory and the store configuration it must hold.
    fn store(&self) -> Result<(DataDir, ServerConfig)> {
        let dir = DataDir::new(&self.data);
        let cfg = dir.read_config()?.with_context(|| {
            format!(
                "no store in {}: run docgrid-server init or run first",
                self.data.display()
            )
        })?;
        Ok((dir, cfg))
    }
}

/// Takes `DIR/server.lock` for the life of the command: a running server
/// and an offline reindex, scrub or gc never touch one data directory at once.
pub fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("server.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "{} is in use by a running docgrid-server; stop it first (or use the admin API: \
             POST /v1/admin/reindex, /v1/admin/scrub, /v1/admin/gc)",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}
