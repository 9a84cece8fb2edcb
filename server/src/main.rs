//! `docgrid-server`: run the API; init a store; reindex, scrub, gc; tokens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use docgrid_core::api::Role;
use docgrid_server::app::{App, ServerRole};
use docgrid_server::auth::Tokens;
use docgrid_server::config::{
    Backend, ClientConfig, DataDir, ServerConfig, write_client_config_if_absent,
};

#[derive(Parser)]
#[command(
    version,
    about = "docgrid server: the /v1 API over a metadata index and an erasure-coded store"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Clone)]
struct DataArg {
    /// The data directory (store config, index, tokens; the native disks by default).
    #[arg(long, global = true, env = "DOCGRID_DATA", default_value_os_t = default_data())]
    data: PathBuf,
}

fn default_data() -> PathBuf {
    directories::ProjectDirs::from("", "", "docgrid").map_or_else(
        || PathBuf::from("docgrid-data"),
        |d| d.data_dir().to_path_buf(),
    )
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the API. With no store in DIR, creates the embedded default:
    /// native, six disk directories DIR/disks/0..5, 4+2, an admin token in
    /// DIR/admin.token and the client config when none exists.
    ///
    /// Example: docgrid-server run --data ./data --listen 127.0.0.1:8040
    Run {
        #[command(flatten)]
        data: DataArg,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8040")]
        listen: SocketAddr,
        /// Follow the journal another server (the primary) writes to the same
        /// Tahoe store: serve reads and searches, refuse writes. The data
        /// directory must hold a Tahoe store with the primary's gateway and
        /// root cap (init --backend tahoe --gateway URL --root-cap CAP).
        ///
        /// Example: docgrid-server run --data ./follower --follow --primary http://10.0.0.1:8040
        #[arg(long)]
        follow: bool,
        /// The primary's URL, named when a follower refuses a write.
        #[arg(long, requires = "follow")]
        primary: Option<String>,
        /// How often a follower looks for new commits, in milliseconds.
        #[arg(long, default_value_t = 1000, requires = "follow")]
        poll_ms: u64,
    },
    /// Create a store: choose the backend explicitly. With --backend tahoe and
    /// no --root-cap, creates the root pointer on the grid and prints its cap:
    /// with the gateway, it is all another server needs to rebuild the index
    /// or follow.
    ///
    /// Example: docgrid-server init --data ./data --backend native --disk /mnt/a ... --k 4 --m 2
    ///
    /// Example: docgrid-server init --data ./data --backend tahoe --gateway http://127.0.0.1:3456
    Init {
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
    },
    /// Rebuild the index (SQLite and tantivy) from the journal in the store.
    Reindex {
        #[command(flatten)]
        data: DataArg,
    },
    /// Check every shard; with --repair, rebuild what is missing or corrupt.
    /// The server must be stopped (use POST /v1/admin/scrub while it runs).
    Scrub {
        #[command(flatten)]
        data: DataArg,
        /// Repair what can be repaired.
        #[arg(long)]
        repair: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete chunks no kept revision references.
    Gc {
        #[command(flatten)]
        data: DataArg,
        /// Keep chunks uploaded less than this many seconds ago.
        #[arg(long, default_value_t = 3600)]
        grace: u64,
    },
    /// Manage bearer tokens.
    Token {
        #[command(flatten)]
        data: DataArg,
        #[command(subcommand)]
        cmd: TokenCmd,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendKind {
    Native,
    Tahoe,
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
enum RoleArg {
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

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docgrid-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Takes `DIR/server.lock` for the life of the command: a running server
/// and an offline reindex, scrub or gc never touch one data directory at once.
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File> {
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

fn run(cli: Cli) -> Result<()> {
    let data_dir = match &cli.cmd {
        Cmd::Run { data, .. }
        | Cmd::Init { data, .. }
        | Cmd::Reindex { data }
        | Cmd::Scrub { data, .. }
        | Cmd::Gc { data, .. }
        | Cmd::Token { data, .. } => data.data.clone(),
    };
    let _lock = match &cli.cmd {
        Cmd::Token { .. } => None,
        _ => Some(lock_data_dir(&data_dir)?),
    };
    match cli.cmd {
        Cmd::Run {
            data,
            listen,
            follow,
            primary,
            poll_ms,
        } => {
            let role = if follow {
                ServerRole::Follower {
                    primary,
                    poll: std::time::Duration::from_millis(poll_ms.max(50)),
                }
            } else {
                ServerRole::Primary
            };
            serve(DataDir::new(data.data), listen, role)
        }
        Cmd::Init {
            data,
            backend,
            disks,
            k,
            m,
            gateway,
            root_cap,
            min_servers,
        } => {
            let dir = DataDir::new(data.data);
            if dir.config_path().exists() {
                bail!("{} already holds a docgrid store", dir.root.display());
            }
            let backend = match backend {
                BackendKind::Native => Backend::Native {
                    disks: if disks.is_empty() {
                        docgrid_core::store::native::default_disks(&dir.root, k + m)
                    } else {
                        disks
                    },
                    k,
                    m,
                },
                BackendKind::Tahoe => {
                    let gateway = gateway.context("--backend tahoe needs --gateway URL")?;
                    let root_cap = match root_cap {
                        Some(cap) => cap,
                        None => {
                            eprintln!("creating the root pointer through {gateway}…");
                            let cap =
                                docgrid_server::config::create_tahoe_root(&gateway, min_servers)?;
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
                    }
                }
            };
            let cfg = ServerConfig {
                version: 1,
                backend,
            };
            init(&dir, cfg.clone())?;
            if let Backend::Tahoe { .. } = &cfg.backend {
                let store = docgrid_server::config::tahoe_store(&dir, &cfg.backend)?;
                match store.root_read_cap() {
                    Ok(ro) if ro != store.root_cap() => eprintln!(
                        "read-only root cap, for followers (init --root-cap … then run \
                         --follow):\n{ro}"
                    ),
                    Ok(_) => eprintln!("this store has the read-only root cap: it can follow"),
                    Err(e) => eprintln!("could not ask for the read-only root cap: {e}"),
                }
            }
            Ok(())
        }
        Cmd::Reindex { data } => {
            let dir = DataDir::new(data.data);
            let cfg = dir
                .read_config()?
                .context("no store in this directory: run init or run first")?;
            let index = dir.index_dir();
            if index.exists() {
                std::fs::remove_dir_all(&index)
                    .with_context(|| format!("removing {}", index.display()))?;
            }
            eprintln!("reindexing from the journal…");
            let app = App::open(dir, &cfg)?;
            eprintln!("done: index at revision {}", app.rev());
            Ok(())
        }
        Cmd::Scrub { data, repair, json } => {
            let dir = DataDir::new(data.data);
            let cfg = dir.read_config()?.context("no store in this directory")?;
            let app = App::open(dir, &cfg)?;
            let s = docgrid_server::maintenance::scrub(&app, repair)
                .map_err(|e| anyhow::anyhow!(e.message))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!(
                    "chunks {}  missing {}  corrupt {}  repaired {}  offline {} {}  unrecoverable {}  {}",
                    s.chunks,
                    s.missing,
                    s.corrupt,
                    s.repaired,
                    if app.tahoe.is_some() {
                        "servers"
                    } else {
                        "disks"
                    },
                    s.offline_disks.len(),
                    s.unrecoverable.len(),
                    if s.clean { "clean" } else { "NOT clean" }
                );
                if s.leases_renewed > 0 {
                    println!("leases renewed {}", s.leases_renewed);
                }
                for d in &s.documents {
                    println!(
                        "document {} ({}): {} good shares before, {} after, of {} ({} needed)",
                        d.id, d.name, d.shares_before, d.shares_after, d.total, d.needed
                    );
                }
                for u in &s.unrecoverable {
                    println!("unrecoverable: {u}");
                }
            }
            if !s.unrecoverable.is_empty() {
                bail!("{} chunk(s) cannot be recovered", s.unrecoverable.len());
            }
            Ok(())
        }
        Cmd::Gc { data, grace } => {
            let dir = DataDir::new(data.data);
            let cfg = dir.read_config()?.context("no store in this directory")?;
            let app = App::open(dir, &cfg)?;
            let r = docgrid_server::maintenance::gc(&app, std::time::Duration::from_secs(grace))
                .map_err(|e| anyhow::anyhow!(e.message))?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(())
        }
        Cmd::Token { data, cmd } => tokens(&DataDir::new(data.data), cmd),
    }
}

fn init(dir: &DataDir, cfg: ServerConfig) -> Result<String> {
    let secret = docgrid_server::config::init_store(dir, &cfg)?;
    eprintln!(
        "created a docgrid store in {}; admin token in {}",
        dir.root.display(),
        dir.admin_token_path().display()
    );
    Ok(secret)
}

fn serve(dir: DataDir, listen: SocketAddr, role: ServerRole) -> Result<()> {
    let cfg = match dir.read_config()? {
        Some(c) => c,
        None if role != ServerRole::Primary => bail!(
            "{} holds no store to follow: first run docgrid-server init --data {} --backend \
             tahoe --gateway URL --root-cap CAP with the primary's gateway and root cap",
            dir.root.display(),
            dir.root.display()
        ),
        None => {
            let cfg = dir.default_config();
            let secret = init(&dir, cfg.clone())?;
            let client = ClientConfig {
                servers: vec![format!("http://{listen}")],
                token: secret,
                cache: None,
                cache_size: None,
            };
            if let Some(p) = write_client_config_if_absent(&client)? {
                eprintln!("wrote the client config {}", p.display());
            }
            cfg
        }
    };
    let app = App::open_as(dir, &cfg, role)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        eprintln!(
            "docgrid-server listening on http://{} (revision {}{})",
            listener.local_addr()?,
            app.rev(),
            if app.is_follower() {
                ", following the journal; writes refused"
            } else {
                ""
            }
        );
        // SIGINT or SIGTERM: finish requests, commit the full-text index, exit.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let shutdown = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            eprintln!("docgrid-server: shutting down");
        };
        docgrid_server::launch(app, listener, shutdown).await?;
        Ok(())
    })
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
