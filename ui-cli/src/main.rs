//! `docgrid`: the command line, with Subversion's habits. Repository-side
//! verbs (import, ls, cat, export, info, search, tags and properties, log,
//! rm, mv, mkdir) and working copies (checkout, status, add, rm, revert,
//! diff, update, commit, resolve; see [`wc`]) over `docgrid-client`,
//! against a server or the local proxy. Targets starting with `/` (or
//! document ids) are the repository's; other paths are working-copy files.

/// `println!` that ends the program quietly when stdout is a closed pipe
/// (`docgrid ls | head`), as svn and coreutils do, instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => { $crate::exit::out_line(format_args!($($t)*), true) };
}

/// `print!` with [`outln!`]'s handling of a closed pipe.
macro_rules! out {
    ($($t:tt)*) => { $crate::exit::out_line(format_args!($($t)*), false) };
}

mod exit;
mod repo;
mod wc;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use docgrid_client::config::{Overrides, resolve};
use docgrid_client::{Client, ClientOptions};
use docgrid_client::{NewDoc, UploadStats};
use docgrid_core::DocId;
use docgrid_core::model::Metadata;

/// docgrid: keep documents, find them by tags, attributes and full text.
#[derive(Parser)]
#[command(version, about, after_help = exit::EXIT_CODES)]
struct Cli {
    /// A server (or docgrid-proxy) URL; repeat for failover. Default:
    /// DOCGRID_URL, then ~/.config/docgrid/config.toml.
    #[arg(long = "server", global = true)]
    servers: Vec<String>,
    /// The bearer token (default: DOCGRID_TOKEN, then the config file).
    #[arg(long, global = true, hide_env_values = true)]
    token: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Import files and directories (recursively) as new documents; each
    /// keeps its path relative to the argument's parent in `path`.
    ///
    /// Example: docgrid import ~/papers --tag research --set year=2026
    Import {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// A tag for every document (repeat).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// KEY=VALUE metadata for every document (repeat).
        #[arg(long = "set")]
        sets: Vec<String>,
        /// Follow symbolic links (default: skip them, and say so).
        #[arg(long)]
        follow_symlinks: bool,
        /// The commit message.
        #[arg(short, long, default_value = "import")]
        message: String,
        /// Print the imported documents as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a directory of the tree.
    ///
    /// Example: docgrid ls /tags/jazz
    Ls {
        #[arg(default_value = "/")]
        path: String,
        #[arg(long)]
        json: bool,
    },
    /// Write a document's content to stdout.
    ///
    /// Example: docgrid cat /tags/jazz/so-what.flac > so-what.flac
    Cat { target: String },
    /// Copy a document, or the documents of a directory (with --recursive,
    /// its /files subdirectories too), into DIR.
    ///
    /// Example: docgrid export /files/papers ./papers --recursive
    #[command(alias = "get")]
    Export {
        target: String,
        dir: PathBuf,
        #[arg(short, long)]
        recursive: bool,
    },
    /// A document's metadata.
    ///
    /// Example: docgrid info /all/report.pdf --json
    Info {
        target: String,
        #[arg(long)]
        json: bool,
    },
    /// Search with the query language.
    ///
    /// Example: docgrid search 'tag:jazz year>=1959 "blue in green"'
    Search {
        /// The query (one argument; quote it). A query starting with `-`
        /// (`-tag:draft`) works as it is.
        #[arg(allow_hyphen_values = true)]
        query: String,
        #[arg(long, default_value_t = 50)]
        limit: u64,
        #[arg(long)]
        json: bool,
    },
    /// Add tags to a document.
    ///
    /// Example: docgrid tag /all/report.pdf work urgent
    Tag {
        target: String,
        #[arg(required = true)]
        tags: Vec<String>,
    },
    /// Remove tags from a document.
    ///
    /// Example: docgrid untag /all/report.pdf urgent
    Untag {
        target: String,
        #[arg(required = true)]
        tags: Vec<String>,
    },
    /// Set a property (a metadata key) to a value.
    ///
    /// Example: docgrid propset year 1959 /all/kind-of-blue.flac
    Propset {
        key: String,
        value: String,
        target: String,
    },
    /// Print a property's values, one per line.
    ///
    /// Example: docgrid propget year /all/kind-of-blue.flac
    Propget { key: String, target: String },
    /// List a document's properties.
    ///
    /// Example: docgrid proplist /all/kind-of-blue.flac --json
    Proplist {
        target: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a property (in a working copy: until commit).
    ///
    /// Example: docgrid propdel year notes.txt
    Propdel { key: String, target: String },
    /// The commit log, newest first; with -r, one revision and its
    /// operations.
    ///
    /// Example: docgrid log --limit 10
    ///
    /// Example: docgrid log -r 42 --json
    Log {
        #[arg(long, default_value_t = 50)]
        limit: u64,
        /// One revision, with its operations.
        #[arg(short = 'r', long = "revision")]
        rev: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Delete a document (its history stays); in a working copy, schedule
    /// the file's removal from the checked-out directory (in /tags/jazz:
    /// untag it).
    ///
    /// Example: docgrid rm /all/draft.txt
    Rm { target: String },
    /// Rename or move a document: DEST is a new name (same directory), a
    /// directory (the name stays) or a full tree path. Moving between
    /// directories changes metadata as the tree defines it: out of
    /// /tags/A/ removes tag A, into /tags/B/ adds tag B.
    ///
    /// Example: docgrid mv /tags/inbox/x.pdf /tags/taxes/
    Mv {
        target: String,
        /// The new name, directory or path.
        name: String,
    },
    /// Check out a directory of the tree into DIR (default: its last
    /// component) as a working copy.
    ///
    /// Example: docgrid checkout /tags/projects projects
    #[command(alias = "co")]
    Checkout {
        tree_path: String,
        dir: Option<PathBuf>,
    },
    /// What changed in the working copy: M modified, A added, D deleted,
    /// ? unknown, ! missing, C conflict; a second-column M is a property
    /// change.
    ///
    /// Example: docgrid status --json
    #[command(alias = "st")]
    Status {
        #[arg(default_value = ".")]
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Schedule files for addition (a file added to a checkout of
    /// /tags/jazz becomes a document tagged jazz).
    ///
    /// Example: docgrid add so-what.txt
    Add {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Undo local changes to files (offline: from the pristine copies).
    ///
    /// Example: docgrid revert notes.txt
    Revert {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Local changes: unified diffs for text, a line for binary files,
    /// property changes.
    ///
    /// Example: docgrid diff
    Diff {
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// Bring the working copy up to date (or to revision REV), merging
    /// what does not overlap.
    ///
    /// Example: docgrid update
    ///
    /// Example: docgrid update -r 12
    #[command(alias = "up")]
    Update {
        #[arg(default_value = ".")]
        path: PathBuf,
        /// The repository revision to go to (default: the newest).
        #[arg(short = 'r', long = "revision")]
        rev: Option<u64>,
    },
    /// Commit every local change as one revision.
    ///
    /// Example: docgrid commit -m "fix the intro"
    #[command(alias = "ci")]
    Commit {
        #[arg(short, long)]
        message: String,
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// Mark a conflicted file resolved (its content as it is now).
    ///
    /// Example: docgrid resolve plan.txt
    Resolve {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Remove what an interrupted command left in a working copy
    /// (partial downloads, unsaved state).
    ///
    /// Example: docgrid cleanup
    Cleanup {
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// Print a shell completion script.
    ///
    /// Example: docgrid completions bash > /etc/bash_completion.d/docgrid
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff).
    ///
    /// Example: docgrid man | man -l -
    Man,
    /// Create a directory under /files (a path prefix).
    ///
    /// Example: docgrid mkdir /files/papers/2026
    Mkdir { path: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if exit::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docgrid: {e:#}");
            ExitCode::from(exit::code(&e))
        }
    }
}

fn client(cli: &Cli) -> Result<Client> {
    let cfg = resolve(&Overrides {
        servers: cli.servers.clone(),
        token: cli.token.clone(),
        cache: None,
        cache_size: None,
    })?;
    let mut client = Client::new(&cfg.servers, &cfg.token, ClientOptions::default())?;
    if let Some(dir) = &cfg.cache
        && let Ok(cache) = docgrid_client::cache::ChunkCache::open(
            dir,
            cfg.cache_size
                .unwrap_or(docgrid_core::config::DEFAULT_CACHE_SIZE),
        )
    {
        client = client.with_cache(std::sync::Arc::new(cache));
    }
    Ok(client)
}

pub(crate) fn print_json(v: &impl serde::Serialize) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Whether a target names a working-copy file rather than the repository.
fn local(target: &str) -> bool {
    !target.starts_with('/') && target.parse::<DocId>().is_err()
}

/// The working copy holding `file`, and the file's name in it.
fn wc_file(file: &Path) -> Result<(wc::Wc, String)> {
    let wc = wc::Wc::find(
        file.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: not a file name", file.display()))?
        .to_string();
    Ok((wc, name))
}

fn run(cli: Cli) -> Result<()> {
    match &cli.cmd {
        Cmd::Status { path, json } => {
            let w = wc::Wc::find(path)?;
            let st = w.status()?;
            if *json {
                let list: Vec<_> = st
                    .iter()
                    .map(
                        |(code, name)| serde_json::json!({"status": code.trim_end(), "name": name}),
                    )
                    .collect();
                return print_json(&list);
            }
            for (code, name) in st {
                outln!("{code}     {name}");
            }
            return Ok(());
        }
        Cmd::Add { files } => {
            for f in files {
                let (mut w, name) = wc_file(f)?;
                w.add(&name)?;
                w.save()?;
                outln!("A         {name}");
            }
            return Ok(());
        }
        Cmd::Revert { files } => {
            for f in files {
                let (mut w, name) = wc_file(f)?;
                w.revert(&name)?;
                w.save()?;
                outln!("Reverted '{name}'");
            }
            return Ok(());
        }
        Cmd::Cleanup { path } => {
            let w = wc::Wc::find(path)?;
            let removed = w.cleanup()?;
            outln!("Cleaned up {removed} leftover file(s)");
            return Ok(());
        }
        Cmd::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "docgrid",
                &mut std::io::stdout(),
            );
            return Ok(());
        }
        Cmd::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            return Ok(());
        }
        Cmd::Diff { path } => {
            out!("{}", wc::Wc::find(path)?.diff()?);
            return Ok(());
        }
        Cmd::Resolve { files } => {
            for f in files {
                let (mut w, name) = wc_file(f)?;
                w.resolve(&name)?;
                w.save()?;
                outln!("Resolved conflicted state of '{name}'");
            }
            return Ok(());
        }
        Cmd::Rm { target } if local(target) => {
            let (mut w, name) = wc_file(Path::new(target))?;
            w.remove(&name)?;
            w.save()?;
            outln!("D         {name}");
            return Ok(());
        }
        Cmd::Mv { target, name } if local(target) => {
            let (mut w, old) = wc_file(Path::new(target))?;
            w.rename(&old, name)?;
            w.save()?;
            outln!("R         {old} -> {name}");
            return Ok(());
        }
        Cmd::Propset { key, value, target } if local(target) => {
            let (mut w, name) = wc_file(Path::new(target))?;
            w.propset(&name, key, vec![value.clone()])?;
            w.save()?;
            outln!("property '{key}' set on '{name}'");
            return Ok(());
        }
        Cmd::Propdel { key, target } if local(target) => {
            let (mut w, name) = wc_file(Path::new(target))?;
            w.propset(&name, key, Vec::new())?;
            w.save()?;
            outln!("property '{key}' deleted from '{name}'");
            return Ok(());
        }
        _ => {}
    }
    let c = client(&cli)?;
    let tree = docgrid_client::tree::Tree::new(c.clone());
    match cli.cmd {
        Cmd::Checkout { tree_path, dir } => {
            let dir = dir.unwrap_or_else(|| {
                PathBuf::from(
                    tree_path
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or("wc"),
                )
            });
            // A path that does not exist is an error; an empty directory
            // checks out empty.
            let node = tree.lookup(&tree_path).with_context(|| {
                format!(
                    "{tree_path} does not exist (docgrid ls {} shows what does)",
                    repo::parent_of(&tree_path)
                )
            })?;
            if !node.is_dir() {
                anyhow::bail!("{tree_path} is a document: check out a directory that holds it");
            }
            let (w, rev) = wc::Wc::checkout(&c, &tree_path, &dir)?;
            eprintln!("{} file(s) from {tree_path}", w.state.entries.len());
            outln!("Checked out revision {rev}.");
            Ok(())
        }
        Cmd::Update { path, rev } => {
            let mut w = wc::Wc::find(&path)?;
            let (report, rev) = match rev {
                Some(r) => (w.update_to(&c, r)?, r),
                None => (w.update(&c)?, c.health()?.rev),
            };
            for (code, name) in report {
                outln!("{code}    {name}");
            }
            outln!("Updated to revision {rev}.");
            Ok(())
        }
        Cmd::Commit { message, path } => {
            let mut w = wc::Wc::find(&path)?;
            match w.commit(&tree, &message)? {
                Some(rev) => outln!("Committed revision {rev}."),
                None => eprintln!("nothing to commit"),
            }
            Ok(())
        }
        Cmd::Status { .. }
        | Cmd::Add { .. }
        | Cmd::Revert { .. }
        | Cmd::Diff { .. }
        | Cmd::Cleanup { .. }
        | Cmd::Completions { .. }
        | Cmd::Man
        | Cmd::Resolve { .. } => unreachable!("handled offline above"),
        Cmd::Import {
            paths,
            tags,
            sets,
            follow_symlinks,
            message,
            json,
        } => import(&c, &paths, &tags, &sets, follow_symlinks, &message, json),
        Cmd::Ls { path, json } => repo::ls(&tree, &path, json),
        Cmd::Cat { target } => repo::cat(&tree, &target),
        Cmd::Export {
            target,
            dir,
            recursive,
        } => repo::export(&tree, &target, &dir, recursive),
        Cmd::Info { target, json } => repo::info(&tree, &target, json),
        Cmd::Search { query, limit, json } => {
            let r = c.search(&query, limit, 0)?;
            if json {
                return print_json(&r);
            }
            for h in &r.hits {
                outln!("{}  {}", h.doc.id, h.doc.name);
                if let Some(s) = &h.snippet {
                    outln!("    {s}");
                }
            }
            eprintln!("{} of {} match(es)", r.hits.len(), r.total);
            Ok(())
        }
        Cmd::Tag { target, tags } => repo::tag(&tree, &target, &tags, true),
        Cmd::Untag { target, tags } => repo::tag(&tree, &target, &tags, false),
        Cmd::Propset { key, value, target } => repo::propset(&tree, &target, &key, Some(&value)),
        Cmd::Propdel { key, target } => repo::propset(&tree, &target, &key, None),
        Cmd::Propget { key, target } => repo::propget(&tree, &target, &key),
        Cmd::Proplist { target, json } => repo::proplist(&tree, &target, json),
        Cmd::Log {
            rev: Some(rev),
            json,
            ..
        } => {
            let cs = c.changeset(rev)?;
            if json {
                return print_json(&cs);
            }
            outln!(
                "r{} | {} | {}\n    {}",
                cs.rev,
                cs.author,
                cs.time,
                cs.message
            );
            for op in &cs.ops {
                outln!("  {}", serde_json::to_string(op)?);
            }
            Ok(())
        }
        Cmd::Log {
            limit,
            json,
            rev: None,
        } => {
            let head = c.health()?.rev;
            let mut commits = c.commits(head.saturating_sub(limit), limit)?;
            commits.reverse();
            if json {
                return print_json(&commits);
            }
            for ci in &commits {
                outln!(
                    "r{} | {} | {} | {} document(s)\n    {}",
                    ci.rev,
                    ci.author,
                    ci.time,
                    ci.docs.len(),
                    ci.message
                );
            }
            Ok(())
        }
        Cmd::Rm { target } => repo::rm(&tree, &target),
        Cmd::Mv { target, name } => repo::mv(&tree, &target, &name),
        Cmd::Mkdir { path } => repo::mkdir(&tree, &path),
    }
}

/// Files under `root` (itself if a file), with their paths relative to
/// `root`'s parent; symbolic links followed or skipped (and counted).
fn walk(
    root: &Path,
    follow: bool,
    out: &mut Vec<(PathBuf, String)>,
    skipped: &mut Vec<PathBuf>,
) -> Result<()> {
    let base = root.parent().unwrap_or(Path::new(""));
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let link =
            std::fs::symlink_metadata(&p).with_context(|| format!("reading {}", p.display()))?;
        if link.file_type().is_symlink() && !follow {
            skipped.push(p);
            continue;
        }
        let meta = std::fs::metadata(&p).with_context(|| format!("reading {}", p.display()))?;
        if meta.is_dir() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(&p)
                .with_context(|| format!("listing {}", p.display()))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()?;
            children.sort();
            stack.extend(children.into_iter().rev());
        } else if meta.is_file() {
            let rel = p
                .strip_prefix(base)
                .unwrap_or(&p)
                .to_str()
                .with_context(|| format!("{} is not valid UTF-8", p.display()))?
                .to_string();
            out.push((p, rel));
        }
    }
    Ok(())
}

fn import(
    c: &Client,
    paths: &[PathBuf],
    tags: &[String],
    sets: &[String],
    follow: bool,
    message: &str,
    json: bool,
) -> Result<()> {
    let mut meta = Metadata::new();
    if !tags.is_empty() {
        meta.insert("tag".into(), tags.to_vec());
    }
    for s in sets {
        let (k, v) = s
            .split_once('=')
            .with_context(|| format!("--set {s}: expected KEY=VALUE"))?;
        meta.entry(k.to_string()).or_default().push(v.to_string());
    }
    let (mut files, mut skipped) = (Vec::new(), Vec::new());
    for p in paths {
        walk(p, follow, &mut files, &mut skipped)?;
    }
    for s in &skipped {
        eprintln!(
            "skipped symbolic link {} (use --follow-symlinks to follow)",
            s.display()
        );
    }
    let total: u64 = files
        .iter()
        .map(|(p, _)| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut done = UploadStats::default();
    let mut imported = Vec::new();
    // Commits of at most 1,000 files keep each commit bounded.
    for batch in files.chunks(1000) {
        let docs: Vec<NewDoc> = batch
            .iter()
            .map(|(p, rel)| {
                let mut m = meta.clone();
                m.insert("path".into(), vec![rel.clone()]);
                NewDoc {
                    name: rel.rsplit('/').next().unwrap_or(rel).to_string(),
                    meta: m,
                    file: p.clone(),
                }
            })
            .collect();
        let base = done;
        let show = |s: &UploadStats| {
            bar.set_position(base.bytes + s.bytes);
            bar.set_message(format!(
                "{} files, {} new bytes sent (dedup {:.0} %)",
                base.files + s.files,
                base.bytes_sent + s.bytes_sent,
                dedup(base.bytes + s.bytes, base.bytes_sent + s.bytes_sent)
            ));
        };
        let (ids, _, stats) = c.upload(&docs, message, &show)?;
        done.files += stats.files;
        done.bytes += stats.bytes;
        done.bytes_sent += stats.bytes_sent;
        done.chunks += stats.chunks;
        done.chunks_sent += stats.chunks_sent;
        imported.extend(
            ids.into_iter()
                .zip(batch.iter().map(|(_, rel)| rel.clone())),
        );
    }
    bar.finish_and_clear();
    if json {
        let list: Vec<serde_json::Value> = imported
            .iter()
            .map(|(id, path)| serde_json::json!({"id": id, "path": path}))
            .collect();
        print_json(&list)?;
    }
    eprintln!(
        "imported {} file(s), {} bytes; sent {} new bytes (dedup {:.0} %); skipped {} symbolic link(s)",
        done.files,
        done.bytes,
        done.bytes_sent,
        dedup(done.bytes, done.bytes_sent),
        skipped.len()
    );
    Ok(())
}

fn dedup(total: u64, sent: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * (total - sent.min(total)) as f64 / total as f64
    }
}
