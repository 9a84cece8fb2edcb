//! Offline maintenance: `reindex`, `scrub`, `gc` (the server stopped).

use anyhow::{Context, Result, bail};
use docgrid_server::app::App;

use super::DataArg;

/// Rebuild the index (SQLite and tantivy) from the journal in the store.
#[derive(clap::Args)]
pub struct ReindexArgs {
    #[command(flatten)]
    data: DataArg,
}

impl ReindexArgs {
    /// The data directory.
    pub fn data(&self) -> &std::path::Path {
        &self.data.data
    }

    /// Runs the subcommand. The old index is removed only once the store's
    /// journal answered: a store that cannot be read keeps its index.
    pub fn run(self) -> Result<()> {
        let (dir, cfg) = self.data.store()?;
        let app = App::open(dir.clone(), &cfg)?;
        if let Some(why) = app.degraded() {
            bail!("the store cannot be read in full, so the index is kept: {why}");
        }
        eprintln!("reindexing from the journal…");
        let n = app
            .reindex()
            .map_err(|e| anyhow::anyhow!(docgrid_core::error_chain(&e)))?;
        eprintln!(
            "done: {n} revision(s) replayed, index at revision {}",
            app.rev()
        );
        Ok(())
    }
}

/// Check every shard; with --repair, rebuild what is missing or corrupt.
/// The server must be stopped (use POST /v1/admin/scrub while it runs).
#[derive(clap::Args)]
pub struct ScrubArgs {
    #[command(flatten)]
    data: DataArg,
    /// Repair what can be repaired.
    #[arg(long)]
    repair: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

impl ScrubArgs {
    /// The data directory.
    pub fn data(&self) -> &std::path::Path {
        &self.data.data
    }

    /// Runs the subcommand.
    pub fn run(self) -> Result<()> {
        let (dir, cfg) = self.data.store()?;
        let (repair, json) = (self.repair, self.json);
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
                if app.tahoe().is_some() {
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
}

/// Delete chunks no kept revision references.
#[derive(clap::Args)]
pub struct GcArgs {
    #[command(flatten)]
    data: DataArg,
    /// Keep chunks uploaded less than this many seconds ago.
    #[arg(long, default_value_t = 3600)]
    grace: u64,
}

impl GcArgs {
    /// The data directory.
    pub fn data(&self) -> &std::path::Path {
        &self.data.data
    }

    /// Runs the subcommand.
    pub fn run(self) -> Result<()> {
        let (dir, cfg) = self.data.store()?;
        let app = App::open(dir, &cfg)?;
        let r = docgrid_server::maintenance::gc(&app, std::time::Duration::from_secs(self.grace))
            .map_err(|e| anyhow::anyhow!(e.message))
            .context("collecting garbage")?;
        println!("{}", serde_json::to_string_pretty(&r)?);
        Ok(())
    }
}
