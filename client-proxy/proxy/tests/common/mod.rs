//! Real servers and a real proxy on 127.0.0.1:0 for the proxy's tests.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use docgrid_client::cache::ChunkCache;
use docgrid_client::{Client, ClientOptions};
use docgrid_proxy::Proxy;
pub use docgrid_server::testing::TestServer as Server;

/// A client of one test server.
pub trait ClientOf {
    /// A client of this server alone.
    fn client(&self) -> Client;
}

impl ClientOf for Server {
    fn client(&self) -> Client {
        Client::new(
            std::slice::from_ref(&self.url),
            &self.token,
            ClientOptions::default(),
        )
        .unwrap()
    }
}

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

/// Deterministic pseudo-random bytes.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    docgrid_core::store::conformance::test_bytes(len, seed)
}

/// Uploads `data` as a document named `name` straight to the server.
pub fn upload(s: &Server, name: &str, data: Vec<u8>) -> docgrid_core::DocId {
    s.client()
        .upload_raw(name, &Default::default(), std::io::Cursor::new(data))
        .unwrap()
        .id
}
