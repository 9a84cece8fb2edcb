//! `run`: serve the API (creating the embedded default store when the
//! data directory holds none).

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use docgrid_server::app::{App, ServerRole};
use docgrid_server::config::{ClientConfig, DataDir, write_client_config_if_absent};

use super::DataArg;

/// Serve the API. With no store in DIR, creates the embedded default:
/// native, six disk directories DIR/disks/0..5, 4+2, an admin token in
/// DIR/admin.token and the client config when none exists.
///
/// Example: docgrid-server run --data ./data --listen 127.0.0.1:8040
#[derive(clap::Args)]
pub struct RunArgs {
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
}

/// What `run` does, checked.
struct RunConfig {
    dir: DataDir,
    listen: SocketAddr,
    role: ServerRole,
}

impl RunArgs {
    /// The data directory.
    pub fn data(&self) -> &std::path::Path {
        &self.data.data
    }

    fn resolve(self) -> Result<RunConfig> {
        let role = if self.follow {
            ServerRole::Follower {
                primary: self.primary,
                poll: std::time::Duration::from_millis(self.poll_ms.max(50)),
            }
        } else {
            ServerRole::Primary
        };
        Ok(RunConfig {
            dir: DataDir::new(self.data.data),
            listen: self.listen,
            role,
        })
    }

    /// Runs the subcommand.
    pub fn run(self) -> Result<()> {
        let c = self.resolve()?;
        serve(c.dir, c.listen, c.role)
    }
}

/// Writes the client config (this server's URL and its admin token) when
/// none exists, whichever way the store was made.
fn client_config_for(dir: &DataDir, listen: SocketAddr) -> Result<()> {
    let Ok(secret) = std::fs::read_to_string(dir.admin_token_path()) else {
        return Ok(());
    };
    let client = ClientConfig {
        servers: vec![format!("http://{listen}")],
        token: secret.trim().to_string(),
        cache: None,
        cache_size: None,
    };
    if let Some(p) = write_client_config_if_absent(&client)? {
        eprintln!("wrote the client config {}", p.display());
    }
    Ok(())
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
            super::init::init(&dir, cfg.clone())?;
            cfg
        }
    };
    let client_dir = (role == ServerRole::Primary).then(|| dir.clone());
    let app = App::open_as(dir, &cfg, role)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        // The address bound, not the one asked for (port 0 picks one).
        if let Some(dir) = &client_dir {
            client_config_for(dir, listener.local_addr()?)?;
        }
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
