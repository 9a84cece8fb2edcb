//! Real servers and a real proxy on 127.0.0.1:0 for the proxy's tests.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

// The client's own fixtures (servers, a client of each, test bytes).
#[path = "../../../tests/common/mod.rs"]
mod client_common;
pub use client_common::*;

use docgrid_client::cache::ChunkCache;
use docgrid_client::{Client, ClientOptions};
use docgrid_proxy::Proxy;

/// A proxy in a background thread, its change feed connected.
pub struct ProxyServer {
    pub url: String,
    pub cache: Arc<ChunkCache>,
    pub proxy: Arc<Proxy>,
    _bg: docgrid_proxy::Background,
}

impl ProxyServer {
    /// A proxy of `servers` with a cache in `cache_dir` bounded by `bound`.
    pub fn start(servers: &[String], token: &str, cache_dir: &Path, bound: u64) -> ProxyServer {
        let cache = Arc::new(ChunkCache::open(cache_dir, bound).unwrap());
        let client = Client::new(servers, token, ClientOptions::default())
            .unwrap()
            .with_cache(cache.clone());
        let proxy = Proxy::new(client);
        proxy.spawn_change_feed();
        let started = std::time::Instant::now();
        while !proxy.is_live() && started.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let bg = docgrid_proxy::Background::start(proxy.clone()).unwrap();
        ProxyServer {
            url: format!("http://{}", bg.addr),
            cache,
            proxy,
            _bg: bg,
        }
    }
}
