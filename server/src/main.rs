//! `docgrid-server`: run the API; init a store; reindex, scrub, gc; tokens.
//! Each subcommand is a struct of its own in [`cmd`].

mod cmd;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    version,
    about = "docgrid server: the /v1 API over a metadata index and an erasure-coded store"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Run(cmd::RunArgs),
    Init(cmd::InitArgs),
    Reindex(cmd::ReindexArgs),
    Scrub(cmd::ScrubArgs),
    Gc(cmd::GcArgs),
    Token(cmd::TokenArgs),
    /// The extraction worker the server runs (not for people).
    #[command(name = "extract-worker", hide = true)]
    ExtractWorker {
        /// Address space limit, in bytes.
        #[arg(long)]
        memory: u64,
        /// Read pictures and scanned PDFs with Tesseract in these languages.
        #[arg(long)]
        ocr: Option<String>,
    },
}

/// mimalloc, not glibc's malloc: glibc gives each thread that allocates
/// an arena of its own (up to 8 per core) and keeps what a 16 MiB pack or
/// readahead window freed in each, so a Tahoe put + get of 1 GiB peaked at
/// 465–866 MiB against 212 MiB with one arena (docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Cmd::ExtractWorker { memory, ocr } = cli.cmd {
        let ocr = ocr.map(|languages| docgrid_server::extract::ocr::Ocr { languages });
        return match docgrid_server::extract::worker::serve_stdio(memory, ocr) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("docgrid-server extract-worker: {e}");
                ExitCode::FAILURE
            }
        };
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docgrid-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Every subcommand but `token` holds `DIR/server.lock` while it works.
fn run(cli: Cli) -> Result<()> {
    let data = match &cli.cmd {
        Cmd::Run(a) => Some(a.data()),
        Cmd::Init(a) => Some(a.data()),
        Cmd::Reindex(a) => Some(a.data()),
        Cmd::Scrub(a) => Some(a.data()),
        Cmd::Gc(a) => Some(a.data()),
        Cmd::Token(_) | Cmd::ExtractWorker { .. } => None,
    };
    let _lock = data.map(cmd::lock_data_dir).transpose()?;
    match cli.cmd {
        Cmd::Run(a) => a.run(),
        Cmd::Init(a) => a.run(),
        Cmd::Reindex(a) => a.run(),
        Cmd::Scrub(a) => a.run(),
        Cmd::Gc(a) => a.run(),
        Cmd::Token(a) => a.run(),
        Cmd::ExtractWorker { .. } => unreachable!("handled before logging starts"),
    }
}
