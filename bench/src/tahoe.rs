//! Tahoe backend benchmark: a whole document uploaded and downloaded
//! through docgrid on a Tahoe store, against `curl` PUT and GET of the same
//! bytes to the same gateway, in the same run.
//!
//! One local grid (5 storage nodes, 3-of-5, happy 4, a storage-less
//! gateway) serves both sides. docgrid is measured as a client sees it:
//! `POST /v1/docs` streaming the file (the server chunks it and uploads the
//! chunks with `put_batch`, then commits), `GET /v1/docs/{id}/content`
//! streamed to a file. The server runs in this process, so the peak RSS
//! reported covers client and server together.
//!
//! Every run uploads fresh random bytes: Tahoe's convergent encryption
//! would otherwise find the shares of a second upload already on the
//! servers and skip sending them, for docgrid and curl alike.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use docgrid_backend_tahoe::grid::{Grid, GridSpec};
use docgrid_server::app::App;
use docgrid_server::config::{Backend, DataDir, ServerConfig, create_tahoe_root, init_store};
use docgrid_server::testing::Background;
use rand::RngCore;
use reqwest::blocking::Client;
use serde_json::{Value, json};

/// What to measure.
pub struct Options {
    /// Scratch directory: the grid, the server's data, the files.
    pub dir: PathBuf,
    /// Document sizes, in MiB.
    pub sizes_mib: Vec<u64>,
    /// Runs per size; the figures are medians.
    pub runs: usize,
    /// The store's `parallel_uploads`; `None`: the backend's default.
    pub parallel_uploads: Option<usize>,
    /// Also run the curl peer.
    pub curl: bool,
    /// The store's `pack_max` (0: a Tahoe file per chunk, the layout
    /// before packs); `None`: the backend's default.
    pub pack_max: Option<u64>,
    /// The store's readahead window in bytes; `None`: the default.
    pub readahead: Option<u64>,
    /// Files of 4 KiB to import with `docgrid import` (0: none).
    pub small_files: usize,
    /// The `docgrid` binary, for the import.
    pub docgrid: Option<PathBuf>,
}

/// The grid and a docgrid server on a Tahoe store in it.
struct Setup {
    url: String,
    token: String,
    http: Client,
    gateway: String,
    app: std::sync::Arc<App>,
    /// Declared before the grid: the server stops before the grid does.
    _server: Background,
    _grid: Grid,
}

impl Setup {
    fn start(dir: &Path, opts: &Options) -> Result<Setup> {
        let grid = Grid::start_in(&dir.join("grid"), GridSpec::default())?;
        let gateway = grid.gateway_url();
        let root_cap = create_tahoe_root(&gateway, Some(4))?;
        let data = DataDir::new(dir.join("server"));
        let cfg = ServerConfig {
            version: 1,
            backend: Backend::Tahoe {
                gateway: gateway.clone(),
                root_cap,
                min_servers: Some(4),
                parallel_uploads: opts.parallel_uploads,
                pack_max: opts.pack_max,
                readahead: opts.readahead,
            },
            extract: Default::default(),
        };
        let token = init_store(&data, &cfg)?;
        let app = App::open(data, &cfg)?;
        let server = Background::start(app.clone())?;
        let http = Client::builder()
            .timeout(Duration::from_secs(3600))
            .build()?;
        Ok(Setup {
            url: format!("http://{}", server.addr),
            token,
            http,
            gateway,
            app,
            _server: server,
            _grid: grid,
        })
    }

    /// `POST /v1/docs` streaming `file`; the new document's id.
    fn put(&self, file: &Path) -> Result<String> {
        let body = File::open(file).with_context(|| format!("opening {}", file.display()))?;
        let r = self
            .http
            .post(format!("{}/v1/docs?name=bench.bin", self.url))
            .bearer_auth(&self.token)
            .body(body)
            .send()?;
        ensure!(
            r.status().is_success(),
            "POST /v1/docs: {} {}",
            r.status(),
            r.text()?
        );
        let info: Value = r.json()?;
        match info["id"].as_str() {
            Some(id) => Ok(id.to_string()),
            None => bail!("POST /v1/docs answered no id: {info}"),
        }
    }

    /// `GET /v1/docs/{id}/content` streamed into `out`.
    fn get(&self, id: &str, out: &Path) -> Result<()> {
        let mut r = self
            .http
            .get(format!("{}/v1/docs/{id}/content", self.url))
            .bearer_auth(&self.token)
            .send()?;
        ensure!(r.status().is_success(), "GET content: {}", r.status());
        let mut w = BufWriter::with_capacity(1 << 20, File::create(out)?);
        r.copy_to(&mut w)?;
        w.flush()?;
        Ok(())
    }
}

/// The four operations of one run, in seconds.
#[derive(Default)]
struct Times {
    docgrid_put: Vec<f64>,
    docgrid_get: Vec<f64>,
    curl_put: Vec<f64>,
    curl_get: Vec<f64>,
}

/// Runs the benchmark; one JSON object per figure.
pub fn run(opts: &Options) -> Result<Vec<Value>> {
    ensure!(opts.runs > 0, "--runs must be at least 1");
    ensure!(
        opts.sizes_mib.iter().all(|&m| m > 0),
        "every --mib must be at least 1"
    );
    let setup = Setup::start(&opts.dir, opts)?;
    let mut out = Vec::new();
    for &mib in &opts.sizes_mib {
        out.extend(measure(&setup, opts, mib)?);
    }
    if opts.small_files > 0 {
        let docgrid = opts
            .docgrid
            .as_deref()
            .context("--small-files needs --docgrid PATH")?;
        out.push(import_small(&setup, opts, docgrid)?);
    }
    Ok(out)
}

/// `docgrid import` of `opts.small_files` files of 4 KiB (fresh random
/// bytes, 100 per directory) into the store: files/s and Tahoe uploads.
fn import_small(setup: &Setup, opts: &Options, docgrid: &Path) -> Result<Value> {
    let src = opts.dir.join("small");
    let mut rng = rand::rng();
    let mut buf = [0u8; 4096];
    for i in 0..opts.small_files {
        let file = src.join(format!("d{:03}/note{i:05}.bin", i / 100));
        std::fs::create_dir_all(file.parent().expect("in a directory"))?;
        rng.fill_bytes(&mut buf);
        std::fs::write(&file, buf)?;
    }
    let tahoe = setup.app.tahoe().context("a Tahoe store")?;
    let before = tahoe.uploads();
    sync()?;
    let start = Instant::now();
    let out = Command::new(docgrid)
        .arg("import")
        .arg(&src)
        .env("DOCGRID_URL", &setup.url)
        .env("DOCGRID_TOKEN", &setup.token)
        .env("DOCGRID_CONFIG", opts.dir.join("no-config.toml"))
        .env("DOCGRID_CACHE", opts.dir.join("cli-cache"))
        .output()
        .with_context(|| format!("running {}", docgrid.display()))?;
    let secs = start.elapsed().as_secs_f64();
    ensure!(
        out.status.success(),
        "docgrid import: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let uploads = tahoe.uploads() - before;
    eprintln!(
        "tahoe import of {} files of 4 KiB: {secs:.1} s, {uploads} Tahoe uploads",
        opts.small_files
    );
    std::fs::remove_dir_all(&src)?;
    Ok(
        json!({"bench": "tahoe_import_small", "files": opts.small_files,
        "pack_max": opts.pack_max, "seconds": secs, "uploads": uploads,
        "files_per_s": opts.small_files as f64 / secs}),
    )
}

/// `opts.runs` runs on `mib` MiB: the median of each operation and the
/// peak RSS over them.
fn measure(setup: &Setup, opts: &Options, mib: u64) -> Result<Vec<Value>> {
    let (src, got) = (opts.dir.join("src.bin"), opts.dir.join("got.bin"));
    let bytes = mib << 20;
    let mut t = Times::default();
    let baseline = rss_kib("VmRSS")?;
    reset_peak_rss();
    for k in 0..opts.runs {
        let want = random_file(&src, bytes)?;
        // Alternate which side goes first, so neither always meets a grid
        // still writing back the other's shares.
        let curl_first = k % 2 == 1;
        if opts.curl && curl_first {
            curl_run(&setup.gateway, &src, &got, want, &mut t)?;
        }
        docgrid_run(setup, &src, &got, want, &mut t)?;
        if opts.curl && !curl_first {
            curl_run(&setup.gateway, &src, &got, want, &mut t)?;
        }
        let rate = |xs: &[f64]| xs.last().map_or(0.0, |s| bytes as f64 / s / 1e6);
        let mut line = format!(
            "tahoe {mib} MiB run {}/{}: docgrid put {:.1} get {:.1} MB/s",
            k + 1,
            opts.runs,
            rate(&t.docgrid_put),
            rate(&t.docgrid_get)
        );
        if opts.curl {
            line += &format!(
                "; curl put {:.1} get {:.1} MB/s",
                rate(&t.curl_put),
                rate(&t.curl_get)
            );
        }
        eprintln!("{line}");
    }
    let peak = rss_kib("VmHWM")?;
    std::fs::remove_file(&src)?;
    std::fs::remove_file(&got)?;
    let mut ops = vec![
        ("docgrid_put", &t.docgrid_put),
        ("docgrid_get", &t.docgrid_get),
    ];
    if opts.curl {
        ops.extend([("curl_put", &t.curl_put), ("curl_get", &t.curl_get)]);
    }
    let mut out: Vec<Value> = ops
        .into_iter()
        .map(|(op, secs)| {
            let median = median(secs);
            json!({"bench": format!("tahoe_{op}_{mib}mib"), "op": op, "bytes": bytes,
                "parallel_uploads": opts.parallel_uploads, "runs": secs, "seconds": median,
                "bytes_per_s": bytes as f64 / median})
        })
        .collect();
    out.push(
        json!({"bench": format!("tahoe_rss_{mib}mib"), "bytes": bytes,
        "baseline_rss_bytes": baseline << 10, "peak_rss_bytes": peak << 10}),
    );
    Ok(out)
}

/// docgrid put then get of `src`, checked against its hash `want`.
fn docgrid_run(s: &Setup, src: &Path, got: &Path, want: blake3::Hash, t: &mut Times) -> Result<()> {
    sync()?;
    let start = Instant::now();
    let id = s.put(src)?;
    t.docgrid_put.push(start.elapsed().as_secs_f64());
    sync()?;
    let start = Instant::now();
    s.get(&id, got)?;
    t.docgrid_get.push(start.elapsed().as_secs_f64());
    check(got, want, "docgrid")
}

/// `curl` PUT of `src` to the gateway, then GET of its cap.
fn curl_run(
    gateway: &str,
    src: &Path,
    got: &Path,
    want: blake3::Hash,
    t: &mut Times,
) -> Result<()> {
    sync()?;
    let start = Instant::now();
    let cap = curl(&[
        "-T".as_ref(),
        src.as_os_str(),
        format!("{gateway}/uri").as_ref(),
    ])?;
    t.curl_put.push(start.elapsed().as_secs_f64());
    ensure!(
        cap.starts_with("URI:CHK:"),
        "curl PUT /uri answered {cap:?}"
    );
    sync()?;
    let start = Instant::now();
    curl(&[
        "-o".as_ref(),
        got.as_os_str(),
        format!("{gateway}/uri/{cap}").as_ref(),
    ])?;
    t.curl_get.push(start.elapsed().as_secs_f64());
    check(got, want, "curl")
}

/// Runs `curl -sS -f -H 'Accept: text/plain' ARGS`; its stdout, trimmed.
fn curl(args: &[&std::ffi::OsStr]) -> Result<String> {
    let out = Command::new("curl")
        .args(["-sS", "-f", "-H", "Accept: text/plain"])
        .args(args)
        .output()
        .context("running curl (is it installed?)")?;
    ensure!(
        out.status.success(),
        "curl {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Fails unless `path` hashes to `want`.
fn check(path: &Path, want: blake3::Hash, who: &str) -> Result<()> {
    let mut h = blake3::Hasher::new();
    h.update_reader(File::open(path)?)?;
    ensure!(
        h.finalize() == want,
        "{who} downloaded different bytes than it uploaded ({})",
        path.display()
    );
    Ok(())
}

/// Writes `len` fresh random bytes to `path`; their BLAKE3.
fn random_file(path: &Path, len: u64) -> Result<blake3::Hash> {
    let mut w = BufWriter::new(File::create(path)?);
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut rng = rand::rng();
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill_bytes(&mut buf[..n]);
        h.update(&buf[..n]);
        w.write_all(&buf[..n])?;
        left -= n as u64;
    }
    w.flush()?;
    Ok(h.finalize())
}

/// Flushes dirty pages (the grid's shares, the last download) so that an
/// operation does not pay for the previous one's writeback.
fn sync() -> Result<()> {
    let status = Command::new("sync").status().context("running sync")?;
    ensure!(status.success(), "sync failed: {status}");
    Ok(())
}

/// A `Vm*` line of `/proc/self/status`, in KiB.
fn rss_kib(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/self/status"))
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0), so each size's peak is
/// its own; where that is refused, the peak is the process's so far.
fn reset_peak_rss() {
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        eprintln!("tahoe: cannot reset the peak RSS ({e}): peaks are cumulative");
    }
}

/// The median of a non-empty slice.
fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
