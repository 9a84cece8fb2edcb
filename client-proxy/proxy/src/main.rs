//! `docgrid-proxy`: the local daemon serving the docgrid `/v1` API from a
//! shared chunk cache, with failover between servers and offline reads.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use docgrid_client::cache::ChunkCache;
use docgrid_client::config::{Overrides, parse_size, resolve};
use docgrid_client::{Client, ClientOptions};
use docgrid_proxy::Proxy;

/// Serve the docgrid /v1 API on this machine from a shared chunk cache:
/// reads fail over between servers, cached documents and listings stay
/// readable when every server is down (marked with x-docgrid-stale: 1),
/// writes go to the primary (the first server).
///
/// Example: docgrid-proxy --server http://10.0.0.1:8040 --server http://10.0.0.2:8040 --cache-size 20G
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// A server URL (repeat; the first is the primary). Default: DOCGRID_URL,
    /// then the client config.
    #[arg(long = "server")]
    servers: Vec<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8041")]
    listen: SocketAddr,
    /// The chunk cache directory (shared with other docgrid clients).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// The cache's size bound: 10G, 500M, … (default 10G).
    #[arg(long, value_parser = parse_size)]
    cache_size: Option<u64>,
    /// The token for the change feed (requests carry their own).
    #[arg(long, env = "DOCGRID_TOKEN", hide_env_values = true)]
    token: Option<String>,
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
            eprintln!("docgrid-proxy: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let cfg = resolve(&Overrides {
        servers: cli.servers,
        token: cli.token,
        cache: cli.cache,
        cache_size: cli.cache_size,
    })?;
    let dir = cfg
        .cache
        .clone()
        .context("no cache directory: pass --cache DIR")?;
    let size = cfg
        .cache_size
        .unwrap_or(docgrid_core::config::DEFAULT_CACHE_SIZE);
    let cache = Arc::new(ChunkCache::open(&dir, size)?);
    let client = Client::new(&cfg.servers, &cfg.token, ClientOptions::default())?.with_cache(cache);
    let proxy = Proxy::new(client);
    proxy.spawn_change_feed();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(cli.listen)
            .await
            .with_context(|| format!("binding {}", cli.listen))?;
        eprintln!(
            "docgrid-proxy listening on http://{} for {} (cache {} up to {} bytes)",
            listener.local_addr()?,
            cfg.servers.join(", "),
            dir.display(),
            size
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let shutdown = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        };
        docgrid_proxy::serve(proxy, listener, shutdown).await?;
        Ok(())
    })
}
