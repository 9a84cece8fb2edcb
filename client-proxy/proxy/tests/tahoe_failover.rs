//! Reads fail over from a primary that went down to a follower of the same
//! Tahoe store, through the client and through the proxy.

mod common;

use std::time::{Duration, Instant};

use common::{ProxyServer, Server, bytes, upload};
use docgrid_backend_tahoe::grid::{Grid, GridSpec};
use docgrid_backend_tahoe::{TahoeOptions, TahoeStore};
use docgrid_client::{Client, ClientOptions};
use docgrid_server::app::ServerRole;
use docgrid_server::config::{Backend, DataDir, ServerConfig, create_tahoe_root, init_store};

fn tahoe(grid: &Grid, root_cap: String) -> ServerConfig {
    ServerConfig {
        version: 1,
        backend: Backend::Tahoe {
            gateway: grid.gateway_url(),
            root_cap,
            min_servers: Some(grid.spec().happy),
            parallel_uploads: None,
            pack_max: None,
            readahead: None,
        },
        extract: Default::default(),
    }
}

#[test]
fn reads_fail_over_to_a_follower_when_the_primary_is_down() {
    if docgrid_backend_tahoe::grid::system_tests_skipped() {
        return;
    }
    let grid = Grid::start(GridSpec::default()).expect("starting a grid");
    let dir = tempfile::tempdir().unwrap();
    let root = create_tahoe_root(&grid.gateway_url(), Some(grid.spec().happy)).unwrap();
    let read_cap = TahoeStore::open(TahoeOptions::new(grid.gateway_url(), root.clone()))
        .unwrap()
        .root_read_cap()
        .unwrap();

    let primary_cfg = tahoe(&grid, root);
    let primary_dir = dir.path().join("primary");
    let token = init_store(&DataDir::new(&primary_dir), &primary_cfg).unwrap();
    let mut primary = Server::open(&primary_dir, &primary_cfg, &token, ServerRole::Primary);
    let cached = bytes(300_000, 1);
    let uncached = bytes(500_000, 2);
    let cached_id = upload(&primary, "cached.bin", cached.clone());
    let uncached_id = upload(&primary, "uncached.bin", uncached.clone());

    let follower_cfg = tahoe(&grid, read_cap);
    let follower_dir = dir.path().join("follower");
    init_store(&DataDir::new(&follower_dir), &follower_cfg).unwrap();
    let follower = Server::open(
        &follower_dir,
        &follower_cfg,
        &token,
        ServerRole::Follower {
            primary: Some(primary.url.clone()),
            poll: Duration::from_millis(200),
        },
    );
    // One token on both: the primary's, installed on the follower.
    follower
        .app
        .tokens()
        .insert("primary-admin", docgrid_core::api::Role::Read, &token)
        .unwrap();
    let started = Instant::now();
    while follower.app.rev() < primary.app.rev() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the follower lags"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let servers = vec![primary.url.clone(), follower.url.clone()];
    let p = ProxyServer::start(&servers, &token, &dir.path().join("cache"), 1 << 30);
    let http = reqwest::blocking::Client::new();
    let get = |path: &str| {
        http.get(format!("{}{path}", p.url))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(60))
            .send()
            .unwrap()
    };
    let first = get(&format!("/v1/docs/{cached_id}/content"));
    assert_eq!(first.status(), 200);
    assert!(first.bytes().unwrap() == cached[..]);

    primary.kill();
    // Through the proxy: a document never read before comes from the follower.
    let r = get(&format!("/v1/docs/{uncached_id}/content"));
    assert_eq!(r.status(), 200, "failover read");
    assert!(
        r.headers().get(docgrid_proxy::STALE_HEADER).is_none(),
        "served by a live server, not from the cache"
    );
    assert!(r.bytes().unwrap() == uncached[..]);
    let hits: docgrid_core::api::SearchResponse =
        get("/v1/search?q=name:uncached.bin").json().unwrap();
    assert_eq!(hits.hits.len(), 1);
    // Writes still go to the primary only: refused clearly.
    let r = http
        .post(format!("{}/v1/docs?name=x.txt", p.url))
        .bearer_auth(&token)
        .body("x")
        .send()
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().unwrap().contains("nothing was written"));

    // The client library alone fails over the same way.
    let client = Client::new(&servers, &token, ClientOptions::default()).unwrap();
    assert!(client.content(&cached_id).unwrap() == cached);
    assert_eq!(client.health().unwrap().role, "follower");
}
