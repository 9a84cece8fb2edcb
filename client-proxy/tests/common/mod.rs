//! Real servers and a real proxy on 127.0.0.1:0 for the client's tests.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use docgrid_client::cache::ChunkCache;
use docgrid_client::proxy::Proxy;
use docgrid_client::{Client, ClientOptions};
use docgrid_server::app::{App, ServerRole};
use docgrid_server::config::{DataDir, ServerConfig, init_store};
use docgrid_server::testing::Background;

/// A server in a background thread.
pub struct Server {
    pub url: String,
    pub token: String,
    pub app: Arc<App>,
    bg: Option<Background>,
}

impl Server {
    /// A fresh native store in `dir`, served.
    pub fn create(dir: &Path) -> Server {
        let data = DataDir::new(dir);
        let cfg = data.default_config();
        let token = init_store(&data, &cfg).unwrap();
        Server::open(dir, &cfg, &token, ServerRole::Primary)
    }

    /// Serves the store in `dir` as `role`.
    pub fn open(dir: &Path, cfg: &ServerConfig, token: &str, role: ServerRole) -> Server {
        let app = App::open_as(DataDir::new(dir), cfg, role).unwrap();
        let bg = Background::start(app.clone()).unwrap();
        Server {
            url: format!("http://{}", bg.addr),
            token: token.to_string(),
            app,
            bg: Some(bg),
        }
    }

    /// Stops it: its port refuses connections from now on.
    pub fn kill(&mut self) {
        if let Some(mut bg) = self.bg.take() {
            bg.stop();
        }
    }

    /// Requests it has answered so far.
    pub fn requests(&self) -> u64 {
        self.app
            .counters
            .requests
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Content bytes it has received so far.
    pub fn bytes_received(&self) -> u64 {
        self.app
            .counters
            .bytes_received
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A client of this server alone.
    pub fn client(&self) -> Client {
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
    _bg: docgrid_client::proxy::Background,
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
        let bg = docgrid_client::proxy::Background::start(proxy.clone()).unwrap();
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
