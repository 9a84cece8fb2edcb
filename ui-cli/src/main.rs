//! `docgrid`: the command line, with Subversion's habits. Repository-side
//! verbs (import, ls, cat, export, info, search, tags and properties, log,
//! rm, mv, mkdir) and working copies (checkout, status, add, rm, revert,
//! diff, update, commit, resolve; see [`wc`]) over `docgrid-client`,
//! against a server or the local proxy. Targets starting with `/` (or
//! document ids) are the repository's; other paths are working-copy files.

mod wc;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use docgrid_client::config::{Overrides, resolve};
use docgrid_client::{Client, ClientOptions};
use docgrid_client::{NewDoc, UploadStats};
use docgrid_core::DocId;
use docgrid_core::api::{DocInfo, EntryKind, MetaPatch};
use docgrid_core::model::Metadata;

/// docgrid: keep documents, find them by tags, attributes and full text.
#[derive(Parser)]
#[command(version, about)]
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
    /// Rename a document.
    ///
    /// Example: docgrid mv /all/draft.txt final.txt
    Mv { target: String, name: String },
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
        Err(e) => {
            eprintln!("docgrid: {e:#}");
            ExitCode::FAILURE
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

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// The document a target names: a document id, or a tree path whose last
/// component is a document of the listing above it.
fn resolve_doc(client: &Client, target: &str) -> Result<DocInfo> {
    if let Ok(id) = target.parse::<DocId>() {
        return Ok(client.doc(&id)?);
    }
    let trimmed = target.trim_end_matches('/');
    let (parent, name) = trimmed
        .rsplit_once('/')
        .with_context(|| format!("{target}: give a tree path (/all/NAME) or a document id"))?;
    let listing = client.tree(parent)?;
    let entry = listing
        .entries
        .iter()
        .find(|e| e.name == name && e.kind == EntryKind::Doc)
        .with_context(|| {
            format!(
                "no document {name:?} in {}/ (docgrid ls {} shows what is there)",
                if parent.is_empty() { "" } else { parent },
                if parent.is_empty() { "/" } else { parent }
            )
        })?;
    let id = entry.id.context("the listing gave no id")?;
    Ok(client.doc(&id)?)
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
                println!("{code}     {name}");
            }
            return Ok(());
        }
        Cmd::Add { files } => {
            for f in files {
                let (mut w, name) = wc_file(f)?;
                w.add(&name)?;
                w.save()?;
                println!("A         {name}");
            }
            return Ok(());
        }
        Cmd::Revert { files } => {
            for f in files {
                let (mut w, name) = wc_file(f)?;
                w.revert(&name)?;
                w.save()?;
                println!("Reverted '{name}'");
            }
            return Ok(());
        }
        Cmd::Cleanup { path } => {
            let w = wc::Wc::find(path)?;
            let removed = w.cleanup()?;
            println!("Cleaned up {removed} leftover file(s)");
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
            print!("{}", wc::Wc::find(path)?.diff()?);
            return Ok(());
        }
        Cmd::Resolve { files } => {
            for f in files {
                let (mut w, name) = wc_file(f)?;
                w.resolve(&name)?;
                w.save()?;
                println!("Resolved conflicted state of '{name}'");
            }
            return Ok(());
        }
        Cmd::Rm { target } if local(target) => {
            let (mut w, name) = wc_file(Path::new(target))?;
            w.remove(&name)?;
            w.save()?;
            println!("D         {name}");
            return Ok(());
        }
        Cmd::Mv { target, name } if local(target) => {
            let (mut w, old) = wc_file(Path::new(target))?;
            w.rename(&old, name)?;
            w.save()?;
            println!("R         {old} -> {name}");
            return Ok(());
        }
        Cmd::Propset { key, value, target } if local(target) => {
            let (mut w, name) = wc_file(Path::new(target))?;
            w.propset(&name, key, vec![value.clone()])?;
            w.save()?;
            println!("property '{key}' set on '{name}'");
            return Ok(());
        }
        Cmd::Propdel { key, target } if local(target) => {
            let (mut w, name) = wc_file(Path::new(target))?;
            w.propset(&name, key, Vec::new())?;
            w.save()?;
            println!("property '{key}' deleted from '{name}'");
            return Ok(());
        }
        _ => {}
    }
    let c = client(&cli)?;
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
            let w = wc::Wc::checkout(&c, &tree_path, &dir)?;
            eprintln!(
                "Checked out {} ({} file(s))",
                tree_path,
                w.state.entries.len()
            );
            Ok(())
        }
        Cmd::Update { path, rev } => {
            let mut w = wc::Wc::find(&path)?;
            let (report, rev) = match rev {
                Some(r) => (w.update_to(&c, r)?, r),
                None => (w.update(&c)?, c.health()?.rev),
            };
            for (code, name) in report {
                println!("{code}    {name}");
            }
            println!("Updated to revision {rev}.");
            Ok(())
        }
        Cmd::Commit { message, path } => {
            let mut w = wc::Wc::find(&path)?;
            match w.commit(&c, &message)? {
                Some(rev) => println!("Committed revision {rev}."),
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
        Cmd::Ls { path, json } => {
            let l = c.tree(&path)?;
            if json {
                return print_json(&l);
            }
            for e in &l.entries {
                match e.kind {
                    EntryKind::Dir => println!("{}/", e.name),
                    EntryKind::Doc => println!("{:>12}  {}", e.size.unwrap_or(0), e.name),
                }
            }
            Ok(())
        }
        Cmd::Cat { target } => {
            let d = resolve_doc(&c, &target)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            c.content_to(&d.id, &mut out)?;
            out.flush()?;
            Ok(())
        }
        Cmd::Export {
            target,
            dir,
            recursive,
        } => export(&c, &target, &dir, recursive),
        Cmd::Info { target, json } => {
            let d = resolve_doc(&c, &target)?;
            if json {
                return print_json(&d);
            }
            println!(
                "id:   {}\nname: {}\nsize: {}\nrev:  {}\nhash: {}",
                d.id, d.name, d.size, d.rev, d.hash
            );
            for (k, vs) in &d.meta {
                println!("{k}: {}", vs.join(", "));
            }
            Ok(())
        }
        Cmd::Search { query, limit, json } => {
            let r = c.search(&query, limit, 0)?;
            if json {
                return print_json(&r);
            }
            for h in &r.hits {
                println!("{}  {}", h.doc.id, h.doc.name);
                if let Some(s) = &h.snippet {
                    println!("    {s}");
                }
            }
            eprintln!("{} of {} match(es)", r.hits.len(), r.total);
            Ok(())
        }
        Cmd::Tag { target, tags } => patch(&c, &target, |p| {
            p.add.insert("tag".into(), tags.clone());
        }),
        Cmd::Untag { target, tags } => patch(&c, &target, |p| {
            p.remove.insert("tag".into(), tags.clone());
        }),
        Cmd::Propset { key, value, target } => patch(&c, &target, |p| {
            p.set.insert(key.clone(), vec![value.clone()]);
        }),
        Cmd::Propdel { key, target } => patch(&c, &target, |p| {
            p.set.insert(key.clone(), Vec::new());
        }),
        Cmd::Propget { key, target } => {
            let d = resolve_doc(&c, &target)?;
            let values = d
                .meta
                .get(&key)
                .with_context(|| format!("{target} has no property {key:?}"))?;
            for v in values {
                println!("{v}");
            }
            Ok(())
        }
        Cmd::Proplist { target, json } => {
            let d = resolve_doc(&c, &target)?;
            if json {
                return print_json(&d.meta);
            }
            for (k, vs) in &d.meta {
                println!("{k}: {}", vs.join(", "));
            }
            Ok(())
        }
        Cmd::Log {
            rev: Some(rev),
            json,
            ..
        } => {
            let cs = c.changeset(rev)?;
            if json {
                return print_json(&cs);
            }
            println!(
                "r{} | {} | {}\n    {}",
                cs.rev, cs.author, cs.time, cs.message
            );
            for op in &cs.ops {
                println!("  {}", serde_json::to_string(op)?);
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
                println!(
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
        Cmd::Rm { target } => {
            let d = resolve_doc(&c, &target)?;
            let r = c.delete(&d.id, d.rev)?;
            eprintln!("deleted {} ({}) in r{}", d.name, d.id, r.rev);
            Ok(())
        }
        Cmd::Mv { target, name } => patch(&c, &target, |p| p.name = Some(name.clone())),
        Cmd::Mkdir { path } => {
            let dir = docgrid_core::tree::parse_dir(&path)?;
            let op = docgrid_core::tree::plan_mkdir(&dir)?;
            let r = c.commit(&format!("mkdir {path}"), vec![op])?;
            eprintln!("created {path} in r{}", r.rev);
            Ok(())
        }
    }
}

fn patch(c: &Client, target: &str, edit: impl FnOnce(&mut MetaPatch)) -> Result<()> {
    let d = resolve_doc(c, target)?;
    let mut p = MetaPatch {
        base: d.rev,
        ..MetaPatch::default()
    };
    edit(&mut p);
    let after = c.patch(&d.id, &p)?;
    eprintln!("{} now at r{}", after.name, after.rev);
    Ok(())
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

fn export(c: &Client, target: &str, dir: &Path, recursive: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let trimmed = target.trim_end_matches('/');
    if recursive && !trimmed.starts_with("/files") {
        bail!("--recursive follows /files directories only (other directories are queries)");
    }
    let listing = match c.tree(if trimmed.is_empty() { "/" } else { trimmed }) {
        Ok(l) => l,
        Err(_) => {
            let d = resolve_doc(c, target)?;
            return save(c, &d.id, &dir.join(&d.name));
        }
    };
    for e in &listing.entries {
        match (e.kind, e.id) {
            (EntryKind::Doc, Some(id)) => save(c, &id, &dir.join(&e.name))?,
            (EntryKind::Dir, _) if recursive && trimmed.starts_with("/files") => {
                export(
                    c,
                    &format!("{trimmed}/{}", e.name),
                    &dir.join(&e.name),
                    true,
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn save(c: &Client, id: &DocId, path: &Path) -> Result<()> {
    let tmp = path.with_extension("docgrid-part");
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    c.content_to(id, &mut f)?;
    f.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
