//! Real servers on 127.0.0.1:0 for the client's tests.
#![allow(dead_code)]

use docgrid_client::{Client, ClientOptions};
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
