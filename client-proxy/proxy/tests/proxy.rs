//! The proxy against real servers on 127.0.0.1:0: its cache, offline
//! reads, corruption, the bound, and uploads that move only new bytes.

mod common;

use std::time::{Duration, Instant};

use common::{ProxyServer, Server, bytes, upload};
use docgrid_client::{Client, ClientOptions};
use docgrid_client::{NewDoc, UploadStats};
use docgrid_proxy::STALE_HEADER;

fn get(url: &str, token: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .get(url)
        .bearer_auth(token)
        .timeout(Duration::from_secs(30))
        .send()
        .unwrap()
}

#[test]
fn a_second_read_through_the_proxy_does_not_reach_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(&dir.path().join("server"));
    let data = bytes(3 << 20, 1);
    let id = upload(&s, "three.bin", data.clone());
    let p = ProxyServer::start(
        std::slice::from_ref(&s.url),
        &s.token,
        &dir.path().join("cache"),
        1 << 30,
    );
    let url = format!("{}/v1/docs/{id}/content", p.url);
    let first = get(&url, &s.token);
    assert_eq!(first.status(), 200);
    assert!(first.bytes().unwrap() == data[..]);
    let before = s.requests();
    let second = get(&url, &s.token);
    assert_eq!(second.status(), 200);
    assert!(second.headers().get(STALE_HEADER).is_none());
    assert!(second.bytes().unwrap() == data[..]);
    assert_eq!(s.requests(), before, "the second read reached the server");
    // A range comes from the cache too.
    let r = reqwest::blocking::Client::new()
        .get(&url)
        .bearer_auth(&s.token)
        .header("Range", "bytes=1000-1999")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert!(r.bytes().unwrap() == data[1000..2000]);
    assert_eq!(s.requests(), before);
}

#[test]
fn with_the_server_down_cached_reads_are_served_stale_and_the_rest_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::create(&dir.path().join("server"));
    let cached = bytes(2 << 20, 2);
    let cached_id = upload(&s, "cached.bin", cached.clone());
    let other_id = upload(&s, "other.bin", bytes(100_000, 3));
    let p = ProxyServer::start(
        std::slice::from_ref(&s.url),
        &s.token,
        &dir.path().join("cache"),
        1 << 30,
    );
    let listing = get(&format!("{}/v1/tree/all", p.url), &s.token);
    assert_eq!(listing.status(), 200);
    let listing = listing.text().unwrap();
    // Read to the end: every chunk goes through the cache.
    let first = get(&format!("{}/v1/docs/{cached_id}/content", p.url), &s.token);
    assert_eq!(first.status(), 200);
    assert!(first.bytes().unwrap() == cached[..]);

    s.kill();
    // The proxy learns of it from its change feed.
    let started = Instant::now();
    while p.proxy.is_live() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the feed never noticed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = get(&format!("{}/v1/docs/{cached_id}/content", p.url), &s.token);
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers().get(STALE_HEADER).and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert!(
        r.bytes().unwrap() == cached[..],
        "cached bytes served identical"
    );
    let r = get(&format!("{}/v1/tree/all", p.url), &s.token);
    assert_eq!(r.status(), 200);
    assert!(r.headers().get(STALE_HEADER).is_some());
    assert_eq!(r.text().unwrap(), listing);

    let started = Instant::now();
    let r = get(&format!("{}/v1/docs/{other_id}/content", p.url), &s.token);
    let took = started.elapsed();
    assert_eq!(r.status(), 503);
    let text = r.text().unwrap();
    assert!(
        text.contains(&s.url),
        "names the unreachable server: {text}"
    );
    assert!(took < Duration::from_secs(1), "took {took:?}");

    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/docs?name=new.txt", p.url))
        .bearer_auth(&s.token)
        .body("never written")
        .send()
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().unwrap().contains("nothing was written"));

    // A token no server ever accepted gets nothing from the cache.
    let r = get(
        &format!("{}/v1/tree/all", p.url),
        "dg_not_a_real_token_0000000",
    );
    assert_eq!(r.status(), 503);
}

#[test]
fn a_corrupted_cache_file_is_detected_and_fetched_again() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(&dir.path().join("server"));
    let data = bytes(1 << 20, 4);
    let id = upload(&s, "one.bin", data.clone());
    let p = ProxyServer::start(
        std::slice::from_ref(&s.url),
        &s.token,
        &dir.path().join("cache"),
        1 << 30,
    );
    let url = format!("{}/v1/docs/{id}/content", p.url);
    assert!(get(&url, &s.token).bytes().unwrap() == data[..]);
    // Flip bytes in every cached chunk file.
    let mut flipped = 0;
    for entry in walk(&dir.path().join("cache").join("chunks")) {
        let mut b = std::fs::read(&entry).unwrap();
        b[10] ^= 0xff;
        std::fs::write(&entry, b).unwrap();
        flipped += 1;
    }
    assert!(flipped > 0, "the read cached something");
    let before = s.requests();
    assert!(get(&url, &s.token).bytes().unwrap() == data[..]);
    assert!(s.requests() > before, "the corrupt chunk was fetched again");
    assert!(p.cache.stats().corrupt >= 1);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn the_cache_never_exceeds_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(&dir.path().join("server"));
    let ids: Vec<_> = (0..24)
        .map(|i| upload(&s, &format!("f{i}.bin"), bytes(1 << 20, 100 + i)))
        .collect();
    let bound = 6 << 20;
    let p = ProxyServer::start(
        std::slice::from_ref(&s.url),
        &s.token,
        &dir.path().join("cache"),
        bound,
    );
    for (i, id) in ids.iter().enumerate() {
        let got = get(&format!("{}/v1/docs/{id}/content", p.url), &s.token)
            .bytes()
            .unwrap();
        assert!(got == bytes(1 << 20, 100 + i as u64)[..]);
        let used = p.cache.used_bytes().unwrap();
        let on_disk: u64 = walk(&dir.path().join("cache").join("chunks"))
            .iter()
            .map(|f| f.metadata().map_or(0, |m| m.len()))
            .sum();
        assert!(used <= bound, "index says {used} > {bound}");
        assert!(on_disk <= bound, "disk holds {on_disk} > {bound}");
    }
}

#[test]
fn importing_the_same_tree_twice_sends_its_bytes_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(&dir.path().join("server"));
    let tree = dir.path().join("tree");
    let mut docs = Vec::new();
    // 200 MB: a few large files and many small ones.
    for i in 0..40u64 {
        let len = if i < 4 { 40 << 20 } else { 1 << 20 };
        let f = tree.join(format!("d{}", i % 5)).join(format!("f{i}.bin"));
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, bytes(len, 1000 + i)).unwrap();
        docs.push(NewDoc {
            name: format!("f{i}.bin"),
            meta: [(
                "path".to_string(),
                vec![format!("tree/d{}/f{i}.bin", i % 5)],
            )]
            .into(),
            file: f,
        });
    }
    let total: u64 = docs.iter().map(|d| d.file.metadata().unwrap().len()).sum();
    let p = ProxyServer::start(
        std::slice::from_ref(&s.url),
        &s.token,
        &dir.path().join("cache"),
        1 << 30,
    );
    // Through the proxy, as the CLI would.
    let client = Client::new(
        std::slice::from_ref(&p.url),
        &s.token,
        ClientOptions::default(),
    )
    .unwrap();
    let quiet = |_: &UploadStats| {};
    let (ids, _, first) = client.upload(&docs, "import", &quiet).unwrap();
    assert_eq!(ids.len(), docs.len());
    assert_eq!(first.bytes, total);
    assert_eq!(first.bytes_sent, total);
    let received = s.bytes_received();
    assert_eq!(received, total, "the server received each byte once");
    let (_, _, second) = client.upload(&docs, "import again", &quiet).unwrap();
    assert_eq!(second.bytes, total);
    assert_eq!(second.bytes_sent, 0, "nothing new to send");
    assert_eq!(
        s.bytes_received(),
        received,
        "the server received nothing more"
    );
    // And what was imported reads back.
    let back = client.content(&ids[5]).unwrap();
    assert!(back == std::fs::read(&docs[5].file).unwrap());
}
