//! A real server on 127.0.0.1:0 for tests, and a small blocking client.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use docgrid_server::app::App;
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

    /// Serves the existing store in `dir`.
    pub fn open(dir: &Path, token: &str) -> Server {
        let data = DataDir::new(dir);
        let cfg = data.read_config().unwrap().unwrap();
        let app = App::open(data, &cfg).unwrap();
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
