//! `init`: create a store on the backend chosen.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use docgrid_server::config::{Backend, DataDir, ServerConfig};

use super::DataArg;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum BackendKind {
    Native,
    Tahoe,
}

/// Create a store: choose the backend explicitly. With --backend tahoe and
/// no --root-cap, creates the root pointer on the grid and prints its cap:
/// with the gateway, it is all another server needs to rebuild the index
/// or follow.
///
/// Example: docgrid-server init --data ./data --backend native --disk /mnt/a ... --k 4 --m 2
///
/// Example: docgrid-server init --data ./data --backend tahoe --gateway http://127.0.0.1:3456
#[derive(clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    data: DataArg,
    /// The backend.
    #[arg(long, value_enum, default_value = "native")]
    backend: BackendKind,
    /// Native: a disk directory (repeat; at least k+m). Default: DIR/disks/0..k+m-1.
    #[arg(long = "disk")]
    disks: Vec<PathBuf>,
    /// Native: data shards.
    #[arg(long, default_value_t = 4)]
    k: usize,
    /// Native: parity shards.
    #[arg(long, default_value_t = 2)]
    m: usize,
    /// Tahoe: the gateway URL.
    #[arg(long)]
    gateway: Option<String>,
    /// Tahoe: an existing root cap (URI:SSK:…), to serve (or follow) a
    /// store another server created.
    #[arg(long)]
    root_cap: Option<String>,
    /// Tahoe: storage servers to wait for before the first request.
    #[arg(long)]
    min_servers: Option<usize>,
}

/// The backend to create, checked: a Tahoe root cap may still have to be
/// made on the grid.
enum Planned {
    Native {
        disks: Vec<PathBuf>,
        k: usize,
        m: usize,
    },
    Tahoe {
        gateway: String,
        root_cap: Option<String>,
        min_servers: Option<usize>,
    },
}

impl InitArgs {
    /// The data directory.
    pub fn data(&self) -> &std::path::Path {
        &self.data.data
    }

    fn resolve(self) -> Result<(DataDir, Planned)> {
        let dir = DataDir::new(self.data.data);
        if dir.config_path().exists() {
            bail!("{} already holds a docgrid store", dir.root.display());
        }
        let planned = match self.backend {
            BackendKind::Native => {
                if self.k == 0 {
                    bail!("--k must be at least 1");
                }
                let disks = if self.disks.is_empty() {
                    docgrid_core::store::native::default_disks(&dir.root, self.k + self.m)
                } else {
                    self.disks
                };
                if disks.len() < self.k + self.m {
                    bail!(
                        "{} disk(s) given; {}+{} needs at least {}",
                        disks.len(),
                        self.k,
                        self.m,
                        self.k + self.m
                    );
                }
                Planned::Native {
                    disks,
                    k: self.k,
                    m: self.m,
                }
            }
            BackendKind::Tahoe => Planned::Tahoe {
                gateway: self
                    .gateway
                    .context("--backend tahoe needs --gateway URL")?,
                root_cap: self.root_cap,
                min_servers: self.min_servers,
            },
        };
        Ok((dir, planned))
    }

    /// Runs the subcommand.
    pub fn run(self) -> Result<()> {
        let (dir, planned) = self.resolve()?;
        let backend = match planned {
            Planned::Native { disks, k, m } => Backend::Native { disks, k, m },
            Planned::Tahoe {
                gateway,
                root_cap,
                min_servers,
            } => {
                let root_cap = match root_cap {
                    Some(cap) => cap,
                    None => {
                        eprintln!("creating the root pointer through {gateway}…");
                        let cap = docgrid_server::config::create_tahoe_root(&gateway, min_servers)?;
                        eprintln!(
                            "root cap (keep it secret: with the gateway it is all a new \
                             server needs to take over):\n{cap}"
                        );
                        cap
                    }
                };
                Backend::Tahoe {
                    gateway,
                    root_cap,
                    min_servers,
                    parallel_uploads: None,
                    pack_max: None,
                    readahead: None,
                }
            }
        };
        let cfg = ServerConfig {
            version: 1,
            backend,
            extract: Default::default(),
        };
        init(&dir, cfg.clone())?;
        if let Backend::Tahoe { .. } = &cfg.backend {
            print_read_cap(&dir, &cfg)?;
        }
        Ok(())
    }
}

/// Tells the read-only root cap, for followers.
fn print_read_cap(dir: &DataDir, cfg: &ServerConfig) -> Result<()> {
    let store = docgrid_server::config::tahoe_store(dir, &cfg.backend)?;
    match store.root_read_cap() {
        Ok(ro) if ro != store.root_cap() => eprintln!(
            "read-only root cap, for followers (init --root-cap … then run \
             --follow):\n{ro}"
        ),
        Ok(_) => eprintln!("this store has the read-only root cap: it can follow"),
        Err(e) => eprintln!("could not ask for the read-only root cap: {e}"),
    }
    Ok(())
}

/// Creates the store and its admin token; returns the token.
pub fn init(dir: &DataDir, cfg: ServerConfig) -> Result<String> {
    let secret = docgrid_server::config::init_store(dir, &cfg)?;
    eprintln!(
        "created a docgrid store in {}; admin token in {}",
        dir.root.display(),
        dir.admin_token_path().display()
    );
    Ok(secret)
}
