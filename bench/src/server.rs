//! Server benchmarks: bulk indexing, search and tree latency, full-text
//! import of a real corpus. The server runs in-process on 127.0.0.1:0 and is
//! measured through HTTP, as clients see it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use docgrid_core::chunk::Chunker;
use docgrid_core::{Digest, DocId};
use docgrid_server::app::App;
use docgrid_server::config::{DataDir, init_store};
use docgrid_server::testing::Background;
use reqwest::blocking::Client;
use serde_json::{Value, json};

/// A server on a fresh store in `dir`, or one already running.
pub struct Bench {
    pub url: String,
    pub token: String,
    pub http: Client,
    _server: Option<Background>,
}

impl Bench {
    pub fn start(dir: &Path) -> Result<Bench> {
        let data = DataDir::new(dir);
        let token = init_store(&data, &data.default_config())?;
        let app = App::open(data.clone(), &data.default_config())?;
        let bg = Background::start(app)?;
        let mut b = Bench::connect(&format!("http://{}", bg.addr), &token)?;
        b._server = Some(bg);
        Ok(b)
    }

    /// A server already running at `url`.
    pub fn connect(url: &str, token: &str) -> Result<Bench> {
        let http = Client::builder()
            .timeout(Duration::from_secs(3600))
            .build()?;
        Ok(Bench {
            url: url.to_string(),
            token: token.to_string(),
            http,
            _server: None,
        })
    }

    pub fn commit(&self, ops: Vec<Value>) -> Result<()> {
        let r = self
            .http
            .post(format!("{}/v1/commits", self.url))
            .bearer_auth(&self.token)
            .json(&json!({"message": "bench", "ops": ops}))
            .send()?;
        ensure!(
            r.status().is_success(),
            "commit: {} {}",
            r.status(),
            r.text()?
        );
        Ok(())
    }

    pub fn get(&self, path: &str) -> Result<Value> {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()?;
        ensure!(r.status().is_success(), "GET {path}: {}", r.status());
        Ok(r.json()?)
    }
}

/// A metadata-only document: tags t{i%100} and `common`, a year, a word in its name.
pub fn doc_op(i: u64) -> Value {
    json!({"op": "create", "id": DocId::random(), "name": format!("doc{i} word{}.txt", i % 1000),
        "meta": {"tag": [format!("t{}", i % 100), "common".to_string()], "year": [(1900 + i % 125).to_string()]},
        "content": {"version": 1, "size": 0, "hash": Digest::of(b""), "chunks": []}})
}

/// Indexes `docs` metadata-only documents in commits of `batch`; docs/s.
pub fn index(dir: &Path, docs: u64, batch: u64) -> Result<f64> {
    let b = Bench::start(dir)?;
    let start = Instant::now();
    let mut i = 0;
    while i < docs {
        let n = batch.min(docs - i);
        b.commit((i..i + n).map(doc_op).collect())?;
        i += n;
    }
    Ok(docs as f64 / start.elapsed().as_secs_f64())
}

/// p50 and p99 in milliseconds of `runs` GETs of each path `paths(k)`.
pub fn latency(b: &Bench, runs: usize, path: impl Fn(usize) -> String) -> Result<(f64, f64)> {
    let mut ms = Vec::with_capacity(runs);
    for k in 0..runs {
        let p = path(k);
        let t = Instant::now();
        b.get(&p)?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    Ok((ms[runs / 2], ms[(runs * 99 / 100).min(runs - 1)]))
}

fn enc(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Makes the request path of run `k`.
type PathFn = Box<dyn Fn(usize) -> String>;

/// Search and tree latencies over `docs` documents.
pub fn search(dir: &Path, docs: u64) -> Result<Vec<Value>> {
    let b = Bench::start(dir)?;
    let mut i = 0;
    while i < docs {
        let n = 20_000.min(docs - i);
        b.commit((i..i + n).map(doc_op).collect())?;
        i += n;
    }
    let mut out = Vec::new();
    let kinds: [(&str, PathFn); 4] = [
        (
            "tag",
            Box::new(|k| {
                format!(
                    "/v1/search?limit=50&q={}",
                    enc(&format!("tag:t{}", k % 100))
                )
            }),
        ),
        (
            "range",
            Box::new(|k| {
                format!(
                    "/v1/search?limit=50&q={}",
                    enc(&format!("year>={} year<{}", 1900 + k % 100, 1905 + k % 100))
                )
            }),
        ),
        (
            "fulltext",
            Box::new(|k| {
                format!(
                    "/v1/search?limit=50&q={}",
                    enc(&format!("word{}", k % 1000))
                )
            }),
        ),
        (
            "tree_tags_common",
            Box::new(|_| "/v1/tree/tags/common/".to_string()),
        ),
    ];
    for (name, path) in kinds {
        let runs = if name.starts_with("tree") { 5 } else { 200 };
        let (p50, p99) = latency(&b, runs, path)?;
        out.push(
            json!({"bench": format!("search_{name}"), "docs": docs, "p50_ms": p50, "p99_ms": p99}),
        );
    }
    Ok(out)
}

/// Every regular file under `root` (not following symlinks).
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => out.push(e.path()),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Imports every file under `corpus` (chunks, missing, upload, one commit
/// per 100 files) and returns files/s, then the p50 of `queries`.
pub fn corpus(dir: &Path, corpus: &Path, queries: &[String]) -> Result<Vec<Value>> {
    let b = Bench::start(dir)?;
    let files = files_under(corpus);
    let start = Instant::now();
    for group in files.chunks(100) {
        let mut ops = Vec::new();
        for f in group {
            let data = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            let mut chunks = Vec::new();
            for span in Chunker::default().chunks(&data) {
                let bytes = &data[span.range()];
                let h = Digest::of(bytes);
                let r = b
                    .http
                    .put(format!("{}/v1/chunks/{h}", b.url))
                    .bearer_auth(&b.token)
                    .body(bytes.to_vec())
                    .send()?;
                ensure!(r.status().is_success(), "chunk upload: {}", r.status());
                chunks.push(json!({"hash": h, "len": span.len, "locator": ""}));
            }
            let rel = f
                .strip_prefix(corpus)
                .unwrap_or(f)
                .to_string_lossy()
                .to_string();
            let name = f
                .file_name()
                .map_or("file".into(), |n| n.to_string_lossy().to_string());
            ops.push(json!({"op": "create", "id": DocId::random(), "name": name, "meta": {"path": [rel]},
                "content": {"version": 1, "size": data.len(), "hash": Digest::of(&data), "chunks": chunks}}));
        }
        b.commit(ops)?;
    }
    let committed = start.elapsed().as_secs_f64();
    // Text is extracted after the commit: the import is done when search
    // has every file's text (what recollindex's time includes).
    loop {
        let stats: docgrid_core::api::Stats = b
            .http
            .get(format!("{}/v1/stats", b.url))
            .bearer_auth(&b.token)
            .send()?
            .json()?;
        if stats.extraction.queued == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let secs = start.elapsed().as_secs_f64();
    let mut out = vec![
        json!({"bench": "corpus_import", "files": files.len(), "seconds": secs, "files_per_s": files.len() as f64 / secs, "committed_s": committed}),
    ];
    let (p50, p99) = latency(&b, queries.len() * 10, |k| {
        format!("/v1/search?limit=20&q={}", enc(&queries[k % queries.len()]))
    })?;
    out.push(json!({"bench": "corpus_query", "p50_ms": p50, "p99_ms": p99}));
    Ok(out)
}
