//! `commit [TARGETS] [-m MSG | -F FILE]`: only the targets' changes, as
//! svn; with neither option the message is written in an editor
//! (`DOCGRID_EDITOR`, then `VISUAL`, then `EDITOR`) over the list of what
//! will be committed. An empty message aborts, committing nothing.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use super::{Run, wc_targets};
use crate::ctx::Ctx;
use crate::wc::Wc;

/// The line under which the editor's text is not part of the message.
pub const MARKER: &str = "--This line, and those below, will be ignored--";

/// Commit local changes (of the targets only; default `.`) as one
/// revision. Without -m or -F an editor opens on the list of changes
/// (DOCGRID_EDITOR, then VISUAL, then EDITOR); an empty message aborts.
///
/// Example: docgrid commit -m "fix the intro" intro.txt
///
/// Example: docgrid ci
#[derive(Args)]
pub struct Commit {
    /// Working-copy paths (default: `.`).
    targets: Vec<PathBuf>,
    /// The log message.
    #[arg(short, long, conflicts_with = "file")]
    message: Option<String>,
    /// Read the log message from FILE.
    #[arg(short = 'F', long = "file")]
    file: Option<PathBuf>,
}

impl Run for Commit {
    fn run(self, ctx: &Ctx) -> Result<()> {
        let (mut wc, rels) = wc_targets(&self.targets)?;
        let message = match (&self.message, &self.file) {
            (Some(m), _) => m.clone(),
            (None, Some(f)) => std::fs::read_to_string(f)
                .with_context(|| format!("reading the log message from {}", f.display()))?,
            (None, None) => {
                // The editor lists what will be committed; with nothing,
                // no editor opens.
                let changes: Vec<String> = wc
                    .status(&rels)?
                    .into_iter()
                    .filter(|l| l.item != '?' && l.item != '!' || l.props != ' ')
                    .map(|l| l.svn(""))
                    .collect();
                if changes.is_empty() {
                    return Ok(());
                }
                edit_message(&wc, &changes)?
            }
        };
        if message.trim().is_empty() {
            bail!("Commit aborted: the log message is empty (nothing was committed)");
        }
        if let Some(c) = wc.commit(ctx.tree()?, message.trim_end(), &rels)? {
            outln!("Committed revision {}.", c.rev);
        }
        Ok(())
    }
}

/// The editor command: `DOCGRID_EDITOR`, `VISUAL`, `EDITOR`.
fn editor() -> Result<String> {
    ["DOCGRID_EDITOR", "VISUAL", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
        .context(
            "no log message: give -m MESSAGE or -F FILE, or set DOCGRID_EDITOR (or EDITOR) \
             to an editor",
        )
}

/// Opens the editor on a template holding `changes` and returns what was
/// written above the marker line.
fn edit_message(wc: &Wc, changes: &[String]) -> Result<String> {
    let editor = editor()?;
    let file = wc.root.join(".docgrid").join("commit-message.tmp");
    let mut text = format!("\n{MARKER}\n\n");
    for c in changes {
        text.push_str(c);
        text.push('\n');
    }
    std::fs::write(&file, text)?;
    let result = run_editor(&editor, &file);
    let written = std::fs::read_to_string(&file);
    let _ = std::fs::remove_file(&file);
    result?;
    let written = written?;
    let message = written.split(&format!("{MARKER}\n")).next().unwrap_or("");
    Ok(message.trim().to_string())
}

/// Runs `editor FILE` through the shell (an editor setting may carry
/// arguments, `code --wait`).
fn run_editor(editor: &str, file: &Path) -> Result<()> {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("docgrid-editor")
        .arg(file)
        .status()
        .with_context(|| format!("starting the editor ({editor})"))?;
    if !status.success() {
        bail!("Commit aborted: the editor ({editor}) failed ({status}); nothing was committed");
    }
    Ok(())
}
