//! The store is the source of truth: reindex from the journal, lost disks,
//! a server killed in the middle of a commit.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, bytes, urlencode};
use docgrid_core::DocId;
use docgrid_core::api::{ScrubSummary, TreeListing};
use serde_json::json;

/// A few hundred documents with varied metadata, through both write paths.
fn populate(s: &Server) {
    let mut ops = Vec::new();
    for i in 0..300u32 {
        let mut meta = serde_json::Map::new();
        meta.insert(
            "tag".into(),
            json!([format!("t{}", i % 7), format!("g{}", i % 3)]),
        );
        meta.insert("year".into(), json!([(1950 + i % 70).to_string()]));
        if i % 5 == 0 {
            meta.insert(
                "path".into(),
                json!([format!("dir{}/sub{}/f{i}.txt", i % 4, i % 2)]),
            );
        }
        ops.push(json!({"op": "create", "id": DocId::random(), "name": format!("doc{i}.txt"), "meta": meta,
            "content": {"version": 1, "size": 0, "hash": docgrid_core::Digest::of(b""), "chunks": []}}));
    }
    let r = s.post_json("/v1/commits", &json!({"message": "bulk", "ops": ops}));
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    for i in 0..20u64 {
        s.upload(
            &format!("name=text{i}.md&tag=t{}", i % 7),
            format!("# note {i}\n\nword{} shared words here", i % 4).into_bytes(),
        );
    }
    let victim: docgrid_core::api::SearchResponse = s.get_json("/v1/search?q=tag:t3&limit=1");
    let d = &victim.hits[0].doc;
    let r = s
        .req(
            reqwest::Method::DELETE,
            &format!("/v1/docs/{}?base={}", d.id, d.rev),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}

const QUERIES: &[&str] = &[
    "tag:t1",
    "tag:t3 tag:g2",
    "year>=2000",
    "year<1960 OR tag:t6",
    "word2",
    "\"shared words\"",
    "-tag:g0",
    "has:path",
];
const PATHS: &[&str] = &[
    "/tags/t1/",
    "/tags/t2/g1/",
    "/by/year/1955/",
    "/files/dir1/sub1/",
    "/files/",
    "/all/",
    "/recent/",
];

fn snapshot(s: &Server) -> Vec<String> {
    s.settle();
    let mut out: Vec<String> = QUERIES
        .iter()
        .map(|q| format!("{q} => {:?}", s.search_ids(q)))
        .collect();
    for p in PATHS {
        let l: TreeListing = s.get_json(&format!("/v1/tree{p}"));
        out.push(format!("{p} => {:?}", l.entries));
    }
    out.push(format!("tags {}", s.get("/v1/tags").text().unwrap()));
    out
}

#[test]
fn deleting_the_index_and_reindexing_gives_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::create(dir.path());
    populate(&s);
    let before = snapshot(&s);
    assert!(
        before
            .iter()
            .any(|l| l.starts_with("word2") && l.len() > 20)
    );
    let token = s.token.clone();
    s.stop();
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let s = Server::open(dir.path(), &token);
    assert_eq!(snapshot(&s), before);
    // And through the admin endpoint, while running: meanwhile a reader
    // gets the full answer or a 503, never a partial one.
    let full = s.search_ids("tag:t1").len() as u64;
    let done = std::sync::atomic::AtomicBool::new(false);
    let (partial, unavailable) = std::thread::scope(|t| {
        let reader = t.spawn(|| {
            let (mut partial, mut unavailable) = (0, 0);
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let r = s.get("/v1/search?limit=1&q=tag%3At1");
                if r.status() == 503 {
                    unavailable += 1;
                } else {
                    let v: serde_json::Value = r.json().unwrap();
                    partial += u32::from(v["total"].as_u64() != Some(full));
                }
            }
            (partial, unavailable)
        });
        let r = s
            .req(reqwest::Method::POST, "/v1/admin/reindex")
            .send()
            .unwrap();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(r.status(), 200);
        reader.join().unwrap()
    });
    assert_eq!(partial, 0, "a partial index was served during reindex");
    eprintln!("{unavailable} reads answered 503 during the reindex");
    assert_eq!(snapshot(&s), before);
}

#[test]
fn two_wiped_disks_lose_nothing_and_scrub_repair_restores_them() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let docs: Vec<_> = (0..8u64)
        .map(|i| {
            let data = bytes(200_000 + i as usize * 300_000, i);
            (s.upload(&format!("name=f{i}.bin"), data.clone()), data)
        })
        .collect();
    std::fs::remove_dir_all(dir.path().join("disks/1")).unwrap();
    std::fs::remove_dir_all(dir.path().join("disks/4")).unwrap();
    for (d, data) in &docs {
        let back = s
            .get(&format!("/v1/docs/{}/content", d.id))
            .bytes()
            .unwrap();
        assert!(back == *data, "{} differs with two disks gone", d.name);
    }
    let stats: docgrid_core::api::Stats = s.get_json("/v1/stats");
    assert_eq!(stats.backend.disks_missing, 2);
    let r: ScrubSummary = s
        .req(reqwest::Method::POST, "/v1/admin/scrub?repair=true")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(r.repaired > 0 && r.unrecoverable.is_empty(), "{r:?}");
    let again: ScrubSummary = s
        .req(reqwest::Method::POST, "/v1/admin/scrub")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(again.clean, "{again:?}");
    let stats: docgrid_core::api::Stats = s.get_json("/v1/stats");
    assert_eq!(
        (stats.backend.disks_missing, stats.backend.shards_missing),
        (0, Some(0))
    );
}

/// How many documents `q` matches on the server at `url`.
fn total(http: &reqwest::blocking::Client, url: &str, token: &str, q: &str) -> u64 {
    let r: serde_json::Value = http
        .get(format!("{url}/v1/search?limit=1&q={}", urlencode(q)))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    r["total"].as_u64().unwrap()
}

/// The server binary, run in `dir` on a free port.
fn spawn_server(dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_docgrid-server"))
        .args(["run", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .env("DOCGRID_CONFIG", dir.join("client.toml"))
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

#[test]
fn a_server_killed_mid_commit_keeps_earlier_commits_and_all_or_nothing_of_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    for (round, delay_ms) in [150u64, 600, 1500].into_iter().enumerate() {
        let (mut child, url) = spawn_server(dir.path());
        let token = std::fs::read_to_string(dir.path().join("admin.token"))
            .unwrap()
            .trim()
            .to_string();
        // An earlier, acknowledged commit.
        let r = http
            .post(format!("{url}/v1/docs?name=before{round}.txt&tag=before"))
            .bearer_auth(&token)
            .body("x")
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
        let ops: Vec<_> = (0..40_000).map(|i| json!({"op": "create", "id": DocId::random(), "name": format!("b{i}"),
            "meta": {"tag": [format!("big{round}")]}, "content": {"version": 1, "size": 0, "hash": docgrid_core::Digest::of(b""), "chunks": []}})).collect();
        let body = serde_json::to_vec(&json!({"message": "big", "ops": ops})).unwrap();
        let (u, t) = (url.clone(), token.clone());
        let client = http.clone();
        let writer = std::thread::spawn(move || {
            client
                .post(format!("{u}/v1/commits"))
                .bearer_auth(&t)
                .header("content-type", "application/json")
                .body(body)
                .send()
        });
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let _ = writer.join();
        eprintln!("round {round}: killed after {:?}", start.elapsed());

        let (mut child, url2) = spawn_server(dir.path());
        assert_eq!(
            total(&http, &url2, &token, "tag:before"),
            round as u64 + 1,
            "every acknowledged commit survives"
        );
        let big = total(&http, &url2, &token, &format!("tag:big{round}"));
        assert!(
            big == 0 || big == 40_000,
            "round {round}: the killed commit is all or nothing, found {big} of 40000"
        );
        eprintln!(
            "round {round}: killed commit {}",
            if big == 0 { "absent" } else { "complete" }
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[test]
fn full_text_survives_a_kill_before_its_deferred_commit() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::blocking::Client::new();
    let (mut child, url) = spawn_server(dir.path());
    let token = std::fs::read_to_string(dir.path().join("admin.token"))
        .unwrap()
        .trim()
        .to_string();
    for i in 0..3 {
        let r = http
            .post(format!("{url}/v1/docs?name=n{i}.txt"))
            .bearer_auth(&token)
            .body(format!("the okapi number {i}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    child.kill().unwrap(); // right after the commits: tantivy's deferred commit may not have run
    child.wait().unwrap();
    let (mut child, url) = spawn_server(dir.path());
    // Text extracted before the kill is indexed again from SQLite at
    // start; text still queued is extracted after it, within seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while total(&http, &url, &token, "okapi") < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        total(&http, &url, &token, "okapi"),
        3,
        "full text caught up with every commit after the restart"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Runs `docgrid-server ARGS --data DIR` to completion.
fn server_cmd(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_docgrid-server"))
        .args(args)
        .arg("--data")
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn offline_maintenance_refuses_a_data_dir_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _url) = spawn_server(dir.path());
    for args in [&["reindex"][..], &["scrub"], &["gc"]] {
        let out = server_cmd(args, dir.path());
        assert!(
            !out.status.success(),
            "{args:?} must refuse while the server runs"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("in use by a running docgrid-server"),
            "{args:?}: {err}"
        );
    }
    assert!(dir.path().join("index").exists(), "reindex removed nothing");
    child.kill().unwrap();
    child.wait().unwrap();
    let out = server_cmd(&["reindex"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Token management works offline, with --data after the subcommand.
    let out = server_cmd(&["token", "create", "ci", "--role", "read"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("dg_"));
}
