//! A real server on 127.0.0.1:0 for tests, and a small blocking client.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use docgrid_server::app::{App, ServerRole};
use docgrid_server::config::{DataDir, init_store};
use docgrid_server::testing::Background;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A server running in a background thread.
pub struct Server {
    pub url: String,
    pub token: String,
    pub dir: PathBuf,
    bg: Background,
    pub http: Client,
}

impl Server {
    /// A fresh store (the embedded default layout) in `dir`, served.
    pub fn create(dir: &Path) -> Server {
        let data = DataDir::new(dir);
        let token = init_store(&data, &data.default_config()).unwrap();
        Server::open(dir, &token)
    }

    /// A fresh store described by `cfg` in `dir`, served.
    pub fn create_with(dir: &Path, cfg: &docgrid_server::config::ServerConfig) -> Server {
        let token = init_store(&DataDir::new(dir), cfg).unwrap();
        Server::open(dir, &token)
    }

    /// Serves the existing store in `dir`.
    pub fn open(dir: &Path, token: &str) -> Server {
        Server::open_as(dir, token, ServerRole::Primary)
    }

    /// Serves the existing store in `dir` as a primary or a follower.
    pub fn open_as(dir: &Path, token: &str, role: ServerRole) -> Server {
        let data = DataDir::new(dir);
        let cfg = data.read_config().unwrap().unwrap();
        let app = App::open_as(data, &cfg, role).unwrap();
        let bg = Background::start(app).unwrap();
        let addr = bg.addr;
        Server {
            url: format!("http://{addr}"),
            token: token.to_string(),
            dir: dir.to_path_buf(),
            bg,
            http: Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .unwrap(),
        }
    }

    /// Stops the server (releasing the store) and waits for it.
    pub fn stop(&mut self) {
        self.bg.stop();
    }

    pub fn req(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
    }

    pub fn get(&self, path: &str) -> Response {
        self.req(reqwest::Method::GET, path).send().unwrap()
    }

    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> T {
        let r = self.get(path);
        assert!(
            r.status().is_success(),
            "GET {path}: {} {}",
            r.status(),
            r.text().unwrap()
        );
        r.json().unwrap()
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        self.req(reqwest::Method::POST, path)
            .json(body)
            .send()
            .unwrap()
    }

    /// Uploads `bytes` as a document with query parameters `params`.
    pub fn upload(&self, params: &str, bytes: Vec<u8>) -> docgrid_core::api::DocInfo {
        let r = self
            .req(reqwest::Method::POST, &format!("/v1/docs?{params}"))
            .body(bytes)
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "upload {params}: {}", r.text().unwrap());
        r.json().unwrap()
    }

    /// Creates one document per file in a single commit, uploading the
    /// chunks first (`threads` at a time). Returns the ids, in order.
    pub fn import(
        &self,
        files: &[(String, Value, Vec<u8>)],
        threads: usize,
    ) -> Vec<docgrid_core::DocId> {
        use docgrid_core::chunk::{Chunker, Digest};
        let mut pieces: Vec<(Digest, &[u8])> = Vec::new();
        let mut ops = Vec::new();
        let mut ids = Vec::new();
        for (name, meta, data) in files {
            let mut chunks = Vec::new();
            for span in Chunker::default().chunks(data) {
                let bytes = &data[span.range()];
                let h = Digest::of(bytes);
                pieces.push((h, bytes));
                chunks.push(serde_json::json!({"hash": h, "len": bytes.len(), "locator": ""}));
            }
            let id = docgrid_core::DocId::random();
            ops.push(serde_json::json!({"op": "create", "id": id, "name": name, "meta": meta,
                "content": {"version": 1, "size": data.len(), "hash": Digest::of(data), "chunks": chunks}}));
            ids.push(id);
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..threads.max(1) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((h, bytes)) = pieces.get(i) else {
                            break;
                        };
                        let r = self
                            .req(reqwest::Method::PUT, &format!("/v1/chunks/{h}"))
                            .body(bytes.to_vec())
                            .send()
                            .unwrap();
                        assert_eq!(r.status(), 200, "chunk {h}: {}", r.text().unwrap());
                    }
                });
            }
        });
        let r = self.post_json(
            "/v1/commits",
            &serde_json::json!({"message": format!("import of {} files", files.len()), "ops": ops}),
        );
        assert_eq!(r.status(), 200, "import commit: {}", r.text().unwrap());
        ids
    }

    /// Names (in order) of a tree listing.
    pub fn ls(&self, path: &str) -> Vec<String> {
        let l: docgrid_core::api::TreeListing = self.get_json(&format!("/v1/tree{path}"));
        l.entries.into_iter().map(|e| e.name).collect()
    }

    /// Ids of the hits of a query, sorted.
    pub fn search_ids(&self, q: &str) -> Vec<String> {
        let r: docgrid_core::api::SearchResponse =
            self.get_json(&format!("/v1/search?limit=1000&q={}", urlencode(q)));
        let mut ids: Vec<String> = r.hits.into_iter().map(|h| h.doc.id.to_string()).collect();
        ids.sort();
        ids
    }

    /// Waits until extraction has caught up with every commit (text
    /// searchable, extracted keys committed); returns the extraction stats.
    pub fn settle(&self) -> docgrid_core::api::ExtractionStats {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let s: docgrid_core::api::Stats = self.get_json("/v1/stats");
            if s.extraction.queued == 0 {
                return s.extraction;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "extraction did not settle in 60 s: {:?}",
                s.extraction
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Percent-encodes a query parameter value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Deterministic pseudo-random bytes.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    docgrid_core::store::conformance::test_bytes(len, seed)
}
