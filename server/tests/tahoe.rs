//! The server on a real local Tahoe-LAFS grid (5 storage nodes, 3-of-5):
//! lost nodes, repair, a new server rebuilt from the root cap, a follower.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Server, bytes};
use docgrid_backend_tahoe::grid::{Grid, GridSpec};
use docgrid_core::DocId;
use docgrid_core::api::{Health, ScrubSummary};
use docgrid_server::app::ServerRole;
use docgrid_server::config::{Backend, ServerConfig, create_tahoe_root};
use serde_json::{Value, json};

/// A child process killed when dropped (a failed assertion leaves nothing running).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tahoe_config(grid: &Grid, root_cap: Option<String>) -> ServerConfig {
    let min = grid.spec().happy;
    let root_cap =
        root_cap.unwrap_or_else(|| create_tahoe_root(&grid.gateway_url(), Some(min)).unwrap());
    ServerConfig {
        version: 1,
        backend: Backend::Tahoe {
            gateway: grid.gateway_url(),
            root_cap,
            min_servers: Some(min),
            parallel_uploads: None,
            pack_max: None,
            readahead: None,
        },
        extract: Default::default(),
    }
}

/// `n` files: text and binary, a few spanning several chunks, tagged and
/// dated so that search and the tree have something to say.
fn corpus(n: usize) -> Vec<(String, Value, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let data = match i % 10 {
                0 => bytes(2_500_000 + i * 1000, i as u64), // several chunks
                1 => Vec::new(),
                2..=5 => format!("note {i}: the quick brown fox number {i}\n")
                    .repeat(1 + i % 50)
                    .into_bytes(),
                _ => bytes(1000 + (i * 7919) % 60_000, i as u64),
            };
            let meta = json!({
                "tag": [format!("t{}", i % 7), "corpus"],
                "year": [format!("{}", 1950 + i % 20)],
                "path": [format!("set{}/file{i}", i % 4)],
            });
            let ext = if (2..=5).contains(&(i % 10)) {
                "txt"
            } else {
                "dat"
            };
            (format!("file{i}.{ext}"), meta, data)
        })
        .collect()
}

fn content(s: &Server, id: &DocId) -> reqwest::blocking::Response {
    s.get(&format!("/v1/docs/{id}/content"))
}

fn assert_all_read(s: &Server, ids: &[DocId], files: &[(String, Value, Vec<u8>)], when: &str) {
    for (id, (name, _, data)) in ids.iter().zip(files) {
        let r = content(s, id);
        assert_eq!(r.status(), 200, "{when}: {name}: {}", r.text().unwrap());
        let got = r.bytes().expect("the whole body");
        assert!(got == data[..], "{when}: {name} came back different");
    }
}

fn scrub(s: &Server, repair: bool) -> ScrubSummary {
    let r = s
        .req(
            reqwest::Method::POST,
            &format!("/v1/admin/scrub?repair={repair}"),
        )
        .timeout(Duration::from_secs(900))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "scrub: {}", r.text().unwrap());
    r.json().unwrap()
}

#[test]
fn tahoe_server_survives_lost_nodes_and_repairs_a_replaced_one() {
    if docgrid_backend_tahoe::grid::system_tests_skipped() {
        return;
    }
    let mut grid = Grid::start(GridSpec::default()).expect("starting a grid");
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create_with(dir.path(), &tahoe_config(&grid, None));
    let files = corpus(300);
    let ids = s.import(&files, 4);
    assert_all_read(&s, &ids, &files, "all nodes up");

    // As many nodes down as 3-of-5 tolerates: every document still reads.
    grid.stop_storage(0).unwrap();
    grid.stop_storage(1).unwrap();
    assert_all_read(&s, &ids, &files, "two of five nodes down");
    // Stats list the grid's servers (polled: a busy gateway may briefly
    // see a live node time out).
    let started = Instant::now();
    loop {
        let stats: docgrid_core::api::Stats = s.get_json("/v1/stats");
        assert_eq!(stats.backend.kind, "tahoe");
        assert_eq!(stats.backend.disks.len(), 5, "{:?}", stats.backend.disks);
        if stats.backend.disks_missing == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "stats never showed two servers away: {:?}",
            stats.backend.disks
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // One more: a clear error naming the document, never bytes as success.
    grid.stop_storage(2).unwrap();
    for (id, (name, _, data)) in ids.iter().zip(&files).take(12) {
        if data.is_empty() {
            continue; // an empty document has no chunk to lose
        }
        let r = content(&s, id);
        let status = r.status();
        let text = r.text().unwrap_or_default();
        assert_eq!(status, 503, "{name}: {status} {text}");
        assert!(
            text.contains(&id.to_string()) && text.contains(name),
            "the error names the document: {text}"
        );
        assert!(text.contains("unrecoverable"), "{text}");
        assert!(text.contains("s2"), "the error names a lost node: {text}");
    }
    for i in 0..3 {
        grid.start_storage(i).unwrap();
    }
    assert_all_read(&s, &ids, &files, "nodes back");

    // A node replaced by an empty one: a scrub sees one share missing per
    // chunk, repair brings every document back to five.
    grid.replace_storage_with_empty(3).unwrap();
    let before = scrub(&s, false);
    assert!(!before.clean, "a scrub after losing a node is not clean");
    let chunked = files.iter().filter(|f| !f.2.is_empty()).count();
    assert_eq!(
        before.documents.len(),
        chunked,
        "every document with content lost a share"
    );
    assert!(
        before
            .documents
            .iter()
            .all(|d| d.shares_before == 4 && d.total == 5)
    );
    assert!(before.leases_renewed > ids.len() as u64 / 2);
    let repaired = scrub(&s, true);
    assert!(
        repaired
            .documents
            .iter()
            .all(|d| d.shares_before == 4 && d.shares_after == 5),
        "repair brings shares back to N: {:?}",
        repaired.documents.iter().find(|d| d.shares_after != 5)
    );
    assert!(repaired.repaired >= chunked as u64);
    let after = scrub(&s, false);
    assert!(after.clean, "clean after repair: {after:?}");
    assert!(after.documents.is_empty());
    // The replacement node really holds shares now: with two others down,
    // everything still reads.
    grid.stop_storage(0).unwrap();
    grid.stop_storage(1).unwrap();
    assert_all_read(&s, &ids, &files, "after repair, two other nodes down");
}

/// Sorted ids of each query's hits, and the names of each tree listing.
fn snapshot(s: &Server) -> BTreeMap<String, Vec<String>> {
    s.settle();
    let mut out = BTreeMap::new();
    for q in [
        "tag:t3",
        "year>=1960",
        "fox",
        "tag:corpus -tag:t1",
        "name:file1*",
    ] {
        out.insert(format!("search {q}"), s.search_ids(q));
    }
    for p in [
        "/tags",
        "/tags/t2",
        "/by/year",
        "/by/year/1955",
        "/files/set1",
        "/all",
    ] {
        out.insert(format!("tree {p}"), s.ls(p));
    }
    out
}

#[test]
fn tahoe_root_cap_alone_rebuilds_the_index_and_followers_follow() {
    if docgrid_backend_tahoe::grid::system_tests_skipped() {
        return;
    }
    let grid = Grid::start(GridSpec::default()).expect("starting a grid");
    let primary_dir = tempfile::tempdir().unwrap();
    let cfg = tahoe_config(&grid, None);
    let primary = Server::create_with(primary_dir.path(), &cfg);
    let files = corpus(120);
    primary.import(&files[..60], 4);
    primary.import(&files[60..], 4);
    let want = snapshot(&primary);
    assert!(want.values().all(|v| !v.is_empty()), "{want:?}");

    // A brand-new server with only the gateway and the root cap.
    let Backend::Tahoe { root_cap, .. } = &cfg.backend else {
        unreachable!()
    };
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = Server::create_with(
        fresh_dir.path(),
        &tahoe_config(&grid, Some(root_cap.clone())),
    );
    assert_eq!(snapshot(&fresh), want, "a rebuilt index answers the same");
    let h: Health = fresh.get_json("/v1/health");
    assert_eq!(h.rev, 2);
    drop(fresh);

    // A follower of the same store, given only the read-only root cap.
    let read_cap = docgrid_backend_tahoe::TahoeStore::open(
        docgrid_backend_tahoe::TahoeOptions::new(grid.gateway_url(), root_cap.clone()),
    )
    .unwrap()
    .root_read_cap()
    .unwrap();
    assert!(read_cap.starts_with("URI:SSK-RO:"), "{read_cap}");
    let follower_dir = tempfile::tempdir().unwrap();
    let token = docgrid_server::config::init_store(
        &docgrid_server::config::DataDir::new(follower_dir.path()),
        &tahoe_config(&grid, Some(read_cap.clone())),
    )
    .unwrap();
    let follower = Server::open_as(
        follower_dir.path(),
        &token,
        ServerRole::Follower {
            primary: Some(primary.url.clone()),
            poll: Duration::from_millis(250),
        },
    );
    assert_eq!(snapshot(&follower), want);
    let h: Health = follower.get_json("/v1/health");
    assert_eq!(h.role, "follower");
    assert_eq!(h.primary.as_deref(), Some(primary.url.as_str()));

    // A commit on the primary is served by the follower within seconds.
    let doc = primary.upload(
        "name=late.txt&tag=late",
        b"committed after the follower started".to_vec(),
    );
    let started = Instant::now();
    loop {
        if follower.search_ids("tag:late") == vec![doc.id.to_string()] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the follower did not see the commit within 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("follower saw the commit after {:?}", started.elapsed());
    let body = content(&follower, &doc.id).bytes().unwrap();
    assert_eq!(&body[..], b"committed after the follower started");

    // Writes are refused, naming the primary.
    let r = follower
        .req(reqwest::Method::POST, "/v1/docs?name=x.txt")
        .body("x")
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.headers()
            .get(docgrid_server::http::PRIMARY_HEADER)
            .and_then(|v| v.to_str().ok()),
        Some(primary.url.as_str())
    );
    let text = r.text().unwrap();
    assert!(
        text.contains("read_only_follower") && text.contains(&primary.url),
        "{text}"
    );
    let r = follower.post_json("/v1/commits", &json!({"message": "m", "ops": []}));
    assert_eq!(r.status(), 403);

    // The same through the binary: init from the root cap, run --follow.
    let cli_dir = tempfile::tempdir().unwrap();
    let data = cli_dir.path().join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_docgrid-server"))
        .args([
            "init",
            "--backend",
            "tahoe",
            "--gateway",
            &grid.gateway_url(),
        ])
        .args(["--root-cap", &read_cap, "--min-servers", "4", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The primary's token, installed on the follower: clients fail over with one token.
    let primary_token = primary_dir.path().join("admin.token");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_docgrid-server"))
        .args([
            "token",
            "create",
            "primary-admin",
            "--role",
            "read",
            "--secret-file",
        ])
        .arg(&primary_token)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (child, line) = run_server(&data, &["--follow", "--primary", &primary.url], None);
    assert!(line.contains("following the journal"), "{line}");
    let url = address(&line);
    let token = std::fs::read_to_string(&primary_token).unwrap();
    let hits: docgrid_core::api::SearchResponse = reqwest::blocking::Client::new()
        .get(format!("{url}/v1/search?q=tag:late"))
        .bearer_auth(token.trim())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        hits.hits.len(),
        1,
        "the follower binary serves the late commit"
    );
    drop(child);

    // A follower needs a store to follow.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_docgrid-server"))
        .args(["run", "--follow", "--data"])
        .arg(cli_dir.path().join("empty"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no store to follow") && err.contains("--root-cap"),
        "{err}"
    );
}

/// `(hash, bytes)` of a small chunk.
fn piece(text: &str) -> (docgrid_core::Digest, Vec<u8>) {
    (
        docgrid_core::Digest::of(text.as_bytes()),
        text.as_bytes().to_vec(),
    )
}

fn gc(s: &Server) -> docgrid_core::api::GcReport {
    let r = s
        .req(reqwest::Method::POST, "/v1/admin/gc?grace=0")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "gc: {}", r.text().unwrap());
    r.json().unwrap()
}

/// Deletes and purges a document: GC may then release its chunks.
fn delete_and_purge(s: &Server, id: &str) {
    let r = s
        .req(reqwest::Method::DELETE, &format!("/v1/docs/{id}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "delete: {}", r.text().unwrap());
    let r = s
        .req(reqwest::Method::POST, &format!("/v1/admin/purge/{id}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "purge: {}", r.text().unwrap());
}

#[test]
fn tahoe_packs_go_with_their_last_live_chunk_and_no_cap_reaches_a_client() {
    if docgrid_backend_tahoe::grid::system_tests_skipped() {
        return;
    }
    let grid = Grid::start(GridSpec::default()).expect("starting a grid");
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create_with(dir.path(), &tahoe_config(&grid, None));

    // Three documents whose chunks went up in one batch: one pack.
    let pieces: Vec<_> = [
        "first shared note",
        "second shared note",
        "third shared note",
    ]
    .iter()
    .map(|t| piece(t))
    .collect();
    let refs: Vec<(docgrid_core::Digest, &[u8])> =
        pieces.iter().map(|(h, b)| (*h, b.as_slice())).collect();
    let r = s
        .req(reqwest::Method::POST, "/v1/chunks")
        .body(docgrid_core::api::chunk_batch::encode(&refs))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let ids: Vec<DocId> = pieces.iter().map(|_| DocId::random()).collect();
    let ops: Vec<Value> = pieces
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, ((h, b), id))| {
            json!({"op": "create", "id": id, "name": format!("shared{i}.txt"),
                "meta": {"tag": ["shared"]},
                "content": {"version": 1, "size": b.len(), "hash": h,
                    "chunks": [{"hash": h, "len": b.len(), "locator": ""}]}})
        })
        .collect();
    let r = s.post_json(
        "/v1/commits",
        &json!({"message": "three in a pack", "ops": ops}),
    );
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());

    scan_every_endpoint_for_caps(&s, &ids[0]);
    run_after_init_writes_the_client_config(&grid);

    // Deleted and purged one by one: the pack stays while a chunk in it
    // lives, and the others keep reading.
    let first = gc(&s);
    assert_eq!(first.packs_released, 0, "{first:?}");
    for (i, id) in ids.iter().enumerate() {
        delete_and_purge(&s, &id.to_string());
        let report = gc(&s);
        assert!(report.deleted >= 1, "{report:?}");
        if i < ids.len() - 1 {
            assert_eq!(
                report.packs_released, 0,
                "a live chunk keeps the pack: {report:?}"
            );
            assert!(report.bytes_held > 0, "{report:?}");
            for (later, (_, bytes)) in ids.iter().zip(&pieces).skip(i + 1) {
                let r = content(&s, later);
                assert_eq!(r.status(), 200);
                assert_eq!(r.bytes().unwrap(), bytes[..]);
            }
        } else {
            assert!(
                report.packs_released >= 1,
                "the last chunk releases it: {report:?}"
            );
            assert!(report.bytes_released > 0, "{report:?}");
        }
    }
}

/// As a new user follows the README: `init --backend tahoe`, then `run`;
/// the client config then names the server, so `docgrid` works at once.
fn run_after_init_writes_the_client_config(grid: &Grid) {
    let home = tempfile::tempdir().unwrap();
    let (data, config) = (home.path().join("data"), home.path().join("config.toml"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_docgrid-server"))
        .args([
            "init",
            "--backend",
            "tahoe",
            "--gateway",
            &grid.gateway_url(),
        ])
        .args(["--min-servers", "4", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (child, line) = run_server(&data, &[], Some(&config));
    let url = address(&line);
    let text = std::fs::read_to_string(&config).expect("run wrote the client config");
    assert!(text.contains(&url), "the client config names {url}: {text}");
    drop(child);
}

/// `docgrid-server run --listen 127.0.0.1:0 --data DATA EXTRA…` (with
/// `DOCGRID_CONFIG` if given) and the line where it says it listens
/// (within 2 min).
fn run_server(
    data: &std::path::Path,
    extra: &[&str],
    config: Option<&std::path::Path>,
) -> (Killed, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_docgrid-server"));
    cmd.args(["run", "--listen", "127.0.0.1:0"])
        .args(extra)
        .arg("--data")
        .arg(data)
        .stderr(std::process::Stdio::piped());
    if let Some(c) = config {
        cmd.env("DOCGRID_CONFIG", c);
    }
    let mut child = Killed(cmd.spawn().unwrap());
    let stderr = std::io::BufReader::new(child.0.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(stderr).map_while(Result::ok) {
            if line.contains("listening on ") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the server printed its address within 2 min");
    (child, line)
}

/// The URL in a "listening on URL" line.
fn address(line: &str) -> String {
    line.split("listening on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_string()
}

/// Calls every operation the OpenAPI document lists with a read and a
/// write token and fails on any answer holding a Tahoe cap (`URI:`).
fn scan_every_endpoint_for_caps(s: &Server, id: &DocId) {
    let token = |role: &str| -> String {
        let v: Value = s
            .post_json(
                "/v1/admin/tokens",
                &json!({"name": format!("scan-{role}"), "role": role}),
            )
            .json()
            .unwrap();
        v["token"].as_str().unwrap().to_string()
    };
    // A second revision, so that changesets have a parent to (not) show.
    let r = s
        .req(reqwest::Method::PATCH, &format!("/v1/docs/{id}"))
        .json(&json!({"base": 1, "set": {"year": ["1999"]}}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let doc: Value = s.get_json(&format!("/v1/docs/{id}"));
    let rev = doc["rev"].as_u64().unwrap();
    assert!(rev >= 2);
    let manifest: Value = s.get_json(&format!("/v1/docs/{id}/manifest"));
    let chunk = manifest["chunks"][0]["hash"].as_str().unwrap().to_string();
    let fill = |path: &str| {
        path.replace("{id}", &id.to_string())
            .replace("{rev}", "1")
            .replace("{hash}", &chunk)
            .replace("{key}", "tag")
            .replace("{name}", "nobody")
            .replace("{path}", "tags/shared")
    };
    let api: Value = s.get_json("/v1/openapi.json");
    let mut covered = 0;
    for role in ["read", "write"] {
        let t = token(role);
        for (path, ops) in api["paths"].as_object().unwrap() {
            for method in ops.as_object().unwrap().keys() {
                let url = format!("{}{}", s.url, fill(path));
                let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let body = match (method.as_str(), path.as_str()) {
                    ("post", "/v1/chunks/missing") => json!({"hashes": [chunk]}).to_string(),
                    ("post", "/v1/commits") => json!({"message": "scan", "ops": []}).to_string(),
                    ("patch", _) => json!({"base": rev, "set": {"scanned": ["yes"]}}).to_string(),
                    _ => String::new(),
                };
                let mut req = s.http.request(m, &url).bearer_auth(&t);
                if !body.is_empty() {
                    req = req.header("content-type", "application/json").body(body);
                }
                if method == "delete" && path == "/v1/docs/{id}" {
                    continue; // the test deletes it later
                }
                let r = req.send().unwrap();
                let status = r.status();
                let text = String::from_utf8_lossy(&r.bytes().unwrap()).to_string();
                assert!(
                    !text.contains("URI:"),
                    "{role} token, {method} {path} ({status}) answered a cap: {text}"
                );
                covered += 1;
            }
        }
        let head = s.get_json::<Value>("/v1/health")["rev"].as_u64().unwrap();
        for extra in (1..=head).map(|r| format!("/v1/commits/{r}")).chain([
            format!("/v1/docs/{id}/history"),
            "/v1/commits?since=0".to_string(),
            "/v1/changes?since=0".to_string(),
            format!("/v1/docs/{id}/manifest?rev=1"),
            "/v1/search?q=tag:shared".to_string(),
            "/v1/tree/files".to_string(),
            "/v1/tree/".to_string(),
        ]) {
            let r = s
                .http
                .get(format!("{}{extra}", s.url))
                .bearer_auth(&t)
                .send()
                .unwrap();
            let text = r.text().unwrap();
            assert!(
                !text.contains("URI:"),
                "{role} token, GET {extra} answered a cap: {text}"
            );
        }
    }
    assert!(covered >= 2 * 30, "every operation, both tokens: {covered}");
}
