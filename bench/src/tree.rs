//! `lookup` + `list` of one large directory through the tree layer, cold
//! (a tree that has never seen it) and warm (its cache kept current by the
//! change feed), against the raw `GET /v1/tree` call in the same run;
//! optionally with the server behind a WAN relay ([`crate::wan`]).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use docgrid_client::tree::Tree;
use docgrid_client::{Client, ClientOptions};
use docgrid_core::DocId;
use docgrid_core::chunk::Digest;
use docgrid_core::model::{FORMAT_VERSION, Manifest, Metadata, Op};
use docgrid_server::app::App;
use docgrid_server::config::{DataDir, init_store};
use docgrid_server::testing::Background;
use serde_json::json;

use crate::wan::{Link, Relay};

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// `entries` empty documents tagged `tag`, committed in batches.
pub(crate) fn populate(client: &Client, tag: &str, entries: u64) -> Result<()> {
    let empty = Manifest {
        version: FORMAT_VERSION,
        size: 0,
        hash: Digest::of(b""),
        chunks: Vec::new(),
    };
    let mut meta = Metadata::new();
    meta.insert("tag".into(), vec![tag.into()]);
    let mut n = 0;
    while n < entries {
        let ops: Vec<Op> = (n..(n + 2000).min(entries))
            .map(|i| Op::Create {
                id: DocId::random(),
                name: format!("doc-{i:06}.txt"),
                meta: meta.clone(),
                content: empty.clone(),
            })
            .collect();
        n += ops.len() as u64;
        client.commit("populate", ops)?;
    }
    Ok(())
}

/// A server on a fresh store in `dir` (emptied first), in-process on
/// 127.0.0.1:0: the server, its URL and the admin token.
pub(crate) fn fresh_server(dir: &Path) -> Result<(Background, String, String)> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    let data = DataDir::new(dir.join("server"));
    let cfg = data.default_config();
    let token = init_store(&data, &cfg)?;
    let server = Background::start(App::open(data, &cfg)?)?;
    let url = format!("http://{}", server.addr);
    Ok((server, url, token))
}

/// The benchmark, in a fresh server in `dir`.
pub fn run(dir: &Path, entries: u64, runs: usize, wan: bool) -> Result<()> {
    let (server, direct, token) = fresh_server(dir)?;
    let url = if wan {
        format!("http://{}", Relay::start(server.addr, Link::wan())?.addr)
    } else {
        direct
    };
    let client = Client::new(std::slice::from_ref(&url), &token, ClientOptions::default())?;
    populate(&client, "common", entries)?;
    let path = "/tags/common/";
    let http = reqwest::blocking::Client::new();
    let mut raw = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let body = http
            .get(format!("{url}/v1/tree{path}?limit={entries}"))
            .bearer_auth(&token)
            .send()?
            .error_for_status()?
            .bytes()?;
        raw.push(t.elapsed().as_secs_f64());
        if body.len() < entries as usize * 20 {
            bail!("the raw listing is too short: {} bytes", body.len());
        }
    }
    let name = |i: u64| format!("{path}doc-{:06}.txt", (i * 7919) % entries);
    let mut cold = Vec::new();
    for i in 0..runs as u64 {
        let tree = Tree::new(client.clone());
        let t = Instant::now();
        let l = tree.list(path)?;
        tree.lookup(&name(i))?;
        cold.push(t.elapsed().as_secs_f64());
        if l.entries().len() as u64 != entries {
            bail!("{} entries listed, not {entries}", l.entries().len());
        }
    }
    let tree = Tree::new(client.clone());
    tree.follow_changes();
    let started = Instant::now();
    while !tree.is_live() {
        if started.elapsed().as_secs() > 10 {
            bail!("the change feed did not connect");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    tree.list(path)?;
    let ops = 10_000u64;
    let t = Instant::now();
    for i in 0..ops {
        let l = tree.list(path)?;
        let node = tree.lookup(&name(i))?;
        std::hint::black_box((l.entries().len(), node.size()));
    }
    let warm = t.elapsed().as_secs_f64() / ops as f64;
    let mode = if wan { "wan" } else { "loopback" };
    for (bench, s) in [
        ("tree_raw", median(raw)),
        ("tree_cold", median(cold)),
        ("tree_warm", warm),
    ] {
        println!(
            "{}",
            json!({"bench": bench, "mode": mode, "entries": entries, "seconds": s})
        );
    }
    Ok(())
}
