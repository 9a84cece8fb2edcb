//! What the GUI's tests share: a tree over a real server, and running the
//! browser's effects until it settles.
#![allow(dead_code)]

use docgrid_client::tree::Tree;
use docgrid_client::{Client, ClientOptions};
use docgrid_gui::effects::run_blocking;
use docgrid_gui::state::{Browser, Effect};
pub use docgrid_server::testing::TestServer;

/// A tree over `s`, as a second client would have.
pub fn tree(s: &TestServer) -> Tree {
    let c = Client::new(
        std::slice::from_ref(&s.url),
        &s.token,
        ClientOptions::default(),
    )
    .unwrap();
    Tree::new(c)
}

/// A fresh server with `docs` ((directory, name) pairs) created through
/// the tree, and a tree over it.
pub fn seeded(docs: &[(&str, &str)]) -> (tempfile::TempDir, TestServer, Tree) {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::create(dir.path());
    let t = tree(&s);
    for (d, n) in docs {
        t.create(d, n, n.as_bytes().into()).unwrap();
    }
    (dir, s, t)
}

/// Runs effects, and those their messages cause, until none are left.
pub fn settle(b: &mut Browser, t: &Tree, mut effects: Vec<Effect>) {
    while !effects.is_empty() {
        let next: Vec<Effect> = effects
            .drain(..)
            .flat_map(|e| b.update(run_blocking(t, e)))
            .collect();
        effects = next;
    }
}
