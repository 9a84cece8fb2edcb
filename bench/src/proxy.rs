//! Reads of one large document through the local proxy, cold (empty chunk
//! cache) and warm (every chunk cached), against the same reads straight
//! from the server, in one run. Server and proxy run in this process on
//! 127.0.0.1; the reader streams into a sink and checks BLAKE3.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use docgrid_client::cache::ChunkCache;
use docgrid_client::{Client, ClientOptions};
use docgrid_proxy::{Background as ProxyBg, Proxy};
use docgrid_server::app::App;
use docgrid_server::config::{DataDir, init_store};
use docgrid_server::testing::Background;
use serde_json::json;

/// Streams `url` into a hasher; returns (seconds, BLAKE3).
fn read_all(http: &reqwest::blocking::Client, url: &str, token: &str) -> Result<(f64, String)> {
    let started = Instant::now();
    let mut resp = http
        .get(url)
        .bearer_auth(token)
        .send()?
        .error_for_status()?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = resp.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok((
        started.elapsed().as_secs_f64(),
        hasher.finalize().to_hex().to_string(),
    ))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The benchmark: FILE uploaded once to a fresh native server in DIR,
/// then read `runs` times each way.
pub fn run(file: &Path, dir: &Path, runs: usize, wan: bool) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    let data = DataDir::new(dir.join("server"));
    let cfg = data.default_config();
    let token = init_store(&data, &cfg)?;
    let app = App::open(data, &cfg)?;
    let server = Background::start(app)?;
    // In WAN mode everything that reaches the server crosses the relay: the
    // direct reads and the proxy's own fetches.
    let server_url = if wan {
        let relay = crate::wan::Relay::start(server.addr, crate::wan::Link::wan())?;
        format!("http://{}", relay.addr)
    } else {
        format!("http://{}", server.addr)
    };
    let size = std::fs::metadata(file)?.len();
    let want = {
        let mut h = blake3::Hasher::new();
        h.update_reader(std::fs::File::open(file)?)?;
        h.finalize().to_hex().to_string()
    };
    let client = Client::new(
        std::slice::from_ref(&server_url),
        &token,
        ClientOptions::default(),
    )?;
    let doc = client.upload_raw("big.bin", &Default::default(), std::fs::File::open(file)?)?;
    let http = reqwest::blocking::Client::builder().timeout(None).build()?;
    let (mut direct, mut cold, mut warm) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let (t, h) = read_all(
            &http,
            &format!("{server_url}/v1/docs/{}/content", doc.id),
            &token,
        )?;
        direct.push(t);
        if h != want {
            bail!("direct read came back different");
        }
        // A fresh cache per run: the cold read fills it, the warm one uses it.
        let cache = Arc::new(ChunkCache::open(
            &dir.join(format!("cache{run}")),
            4 * size,
        )?);
        let proxy = Proxy::new(
            Client::new(
                std::slice::from_ref(&server_url),
                &token,
                ClientOptions::default(),
            )?
            .with_cache(cache),
        );
        proxy.spawn_change_feed();
        let bg = ProxyBg::start(proxy)?;
        let url = format!("http://{}/v1/docs/{}/content", bg.addr, doc.id);
        for (times, label) in [(&mut cold, "cold"), (&mut warm, "warm")] {
            let (t, h) = read_all(&http, &url, &token)?;
            if h != want {
                bail!("{label} proxy read came back different");
            }
            times.push(t);
        }
        drop(bg);
        std::fs::remove_dir_all(dir.join(format!("cache{run}"))).ok();
    }
    for (name, xs) in [
        ("proxy_direct", direct),
        ("proxy_cold", cold),
        ("proxy_warm", warm),
    ] {
        let s = median(xs);
        let mode = if wan { "wan" } else { "loopback" };
        println!(
            "{}",
            json!({"bench": name, "mode": mode, "bytes": size, "seconds": s, "bytes_per_s": size as f64 / s})
        );
    }
    Ok(())
}
