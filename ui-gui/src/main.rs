//! `docgrid-gui`: the Miller-columns desktop browser.
//!
//! ```text
//! docgrid-gui [--server URL …] [--token T] [--cache DIR] [--path TREEPATH]
//!             [--theme system|light|dark] [--screenshot FILE] [--first-paint]
//! ```
//!
//! Settings as every docgrid binary reads them: flags, then `DOCGRID_*`,
//! then the config file (which points at the proxy when one runs).

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use docgrid_client::config::{Overrides, client_for, resolve};
use docgrid_client::tree::Tree;
use docgrid_gui::app::App;
use docgrid_gui::effects::Desktop;

/// Browse docgrid's metadata tree in columns.
#[derive(Debug, Parser)]
#[command(name = "docgrid-gui", version, about)]
struct Args {
    /// Server or proxy URL (repeatable: failover order).
    #[arg(long = "server", value_name = "URL")]
    servers: Vec<String>,
    /// API token.
    #[arg(long)]
    token: Option<String>,
    /// The chunk cache directory.
    #[arg(long, value_name = "DIR")]
    cache: Option<std::path::PathBuf>,
    /// The tree path to open (`/tags/jazz/`, or a document's path to
    /// preview it).
    #[arg(long, value_name = "TREEPATH", default_value = "/")]
    path: String,
    /// Save a PNG of the window once everything is loaded, then exit.
    #[arg(long, value_name = "FILE")]
    screenshot: Option<std::path::PathBuf>,
    /// Light or dark; by default as the desktop prefers.
    #[arg(long, value_enum, default_value = "system")]
    theme: ThemeArg,
    /// Print the time from start to the first frame showing everything
    /// loaded (JSON), then exit (bench/run gui).
    #[arg(long)]
    first_paint: bool,
}

/// The `--theme` choices.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ThemeArg {
    /// As the desktop prefers (the freedesktop colour-scheme setting).
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

fn main() -> ExitCode {
    let start = std::time::Instant::now();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse(), start) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docgrid-gui: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args, start: std::time::Instant) -> Result<()> {
    let cfg = resolve(&Overrides {
        servers: args.servers.clone(),
        token: args.token.clone(),
        cache: args.cache.clone(),
        cache_size: None,
    })?;
    let client = client_for(&cfg, None)?;
    let server = cfg.servers.join(", ");
    let path = args.path.clone();
    let shot = args.screenshot.clone();
    let first_paint = args.first_paint;
    let theme = args.theme;
    let cache = cfg
        .cache
        .clone()
        .or_else(docgrid_core::config::default_cache_dir)
        .unwrap_or_else(std::env::temp_dir);
    let desk = Desktop::new(&cache);
    let tree = Tree::new(client);
    iced::application(
        move || {
            let (mut app, task) = App::new(
                tree.clone(),
                desk.clone(),
                server.clone(),
                &path,
                shot.clone(),
            );
            app.first_paint = first_paint.then_some(start);
            app.theme = match theme {
                ThemeArg::System => None,
                ThemeArg::Light => Some(iced::Theme::Light),
                ThemeArg::Dark => Some(iced::Theme::Dark),
            };
            (app, task)
        },
        App::update,
        App::view,
    )
    .title(App::title)
    .subscription(App::subscription)
    .theme(App::theme)
    .default_font(iced::Font::with_name("Fira Sans"))
    .window_size((1200.0, 760.0))
    .run()
    .context("running the window")
}
