//! Documents through the API: upload by curl-style POST and by chunks +
//! commit, download with Range and ETag, dedup, conflicts, auth, bad input.

mod common;

use common::{Server, bytes};
use docgrid_core::api::{DocInfo, MissingChunksResponse, Stats};
use docgrid_core::chunk::Chunker;
use docgrid_core::{Digest, DocId};
use reqwest::Method;
use serde_json::json;

#[test]
fn curl_style_upload_downloads_byte_identical_with_range_and_etag() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let data = bytes(5 << 20, 1);
    let doc = s.upload("name=big.bin&tag=x&tag=y&author=bob", data.clone());
    assert_eq!(doc.meta["tag"], ["x", "y"]);
    assert_eq!(doc.meta["author"], ["bob"]);
    assert_eq!(doc.size, data.len() as u64);
    assert_eq!(doc.hash, Digest::of(&data));

    let r = s.get(&format!("/v1/docs/{}/content", doc.id));
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", doc.hash));
    assert!(r.bytes().unwrap() == data, "download differs");

    let r = s
        .req(Method::GET, &format!("/v1/docs/{}/content", doc.id))
        .header("Range", "bytes=1000000-3500000")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 1000000-3500000/{}", data.len()).as_str()
    );
    assert!(r.bytes().unwrap() == data[1_000_000..=3_500_000]);
    let r = s
        .req(Method::GET, &format!("/v1/docs/{}/content", doc.id))
        .header("Range", "bytes=-10")
        .send()
        .unwrap();
    assert!(r.bytes().unwrap() == data[data.len() - 10..]);
    let r = s
        .req(Method::GET, &format!("/v1/docs/{}/content", doc.id))
        .header("Range", "bytes=99999999-")
        .send()
        .unwrap();
    assert_eq!(r.status(), 416);
    let r = s
        .req(Method::GET, &format!("/v1/docs/{}/content", doc.id))
        .header("If-None-Match", &etag)
        .send()
        .unwrap();
    assert_eq!(r.status(), 304);
}

#[test]
fn the_same_content_twice_stores_its_chunks_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let data = bytes(6 << 20, 2);
    s.upload("name=a.bin", data.clone());
    let blobs_before: usize = shard_files(dir.path());
    s.upload("name=b.bin", data.clone());
    assert_eq!(
        shard_files(dir.path()),
        blobs_before + 6,
        "only the second commit's changeset blob is new"
    );
    let stats: Stats = s.get_json("/v1/stats");
    assert_eq!(stats.documents, 2);
    assert_eq!(stats.bytes_logical, 2 * data.len() as u64);
    assert_eq!(stats.bytes_stored, data.len() as u64);
    assert!((stats.dedup_ratio - 2.0).abs() < 1e-9);
    assert_eq!(stats.backend.disks.len(), 6);
}

/// Shards the disks' pack indexes name, all disks together.
fn shard_files(dir: &std::path::Path) -> usize {
    (0..6)
        .map(|d| {
            docgrid_core::store::native::shard_places(&dir.join(format!("disks/{d}")))
                .unwrap()
                .len()
        })
        .sum()
}

#[test]
fn chunks_then_commit_uploads_only_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let data = bytes(3 << 20, 3);
    let spans: Vec<_> = Chunker::default().chunks(&data).collect();
    let hashes: Vec<Digest> = spans.iter().map(|c| Digest::of(&data[c.range()])).collect();
    let missing: MissingChunksResponse = s
        .post_json("/v1/chunks/missing", &json!({ "hashes": hashes }))
        .json()
        .unwrap();
    assert_eq!(missing.missing, hashes);
    for (span, h) in spans.iter().zip(&hashes) {
        let r = s
            .req(Method::PUT, &format!("/v1/chunks/{h}"))
            .body(data[span.range()].to_vec())
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    }
    // A corrupted upload is refused.
    let r = s
        .req(Method::PUT, &format!("/v1/chunks/{}", hashes[0]))
        .body(vec![0u8; 10])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let missing: MissingChunksResponse = s
        .post_json("/v1/chunks/missing", &json!({ "hashes": hashes }))
        .json()
        .unwrap();
    assert!(missing.missing.is_empty());

    let id = DocId::random();
    let chunks: Vec<_> = spans
        .iter()
        .zip(&hashes)
        .map(|(c, h)| json!({"hash": h, "len": c.len, "locator": ""}))
        .collect();
    let commit = json!({"message": "by chunks", "ops": [{"op": "create", "id": id, "name": "c.bin",
        "meta": {"tag": ["chunked"]}, "content": {"version": 1, "size": data.len(), "hash": Digest::of(&data), "chunks": chunks}}]});
    let r = s.post_json("/v1/commits", &commit);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let back = s.get(&format!("/v1/docs/{id}/content")).bytes().unwrap();
    assert!(back == data);
    // The manifest names the chunks a client can fetch (and cache) itself.
    let m: docgrid_core::api::ContentManifest = s.get_json(&format!("/v1/docs/{id}/manifest"));
    assert_eq!(m.chunks.iter().map(|c| c.hash).collect::<Vec<_>>(), hashes);
    assert_eq!((m.size, m.hash), (data.len() as u64, Digest::of(&data)));
    let stats: docgrid_core::api::Stats = s.get_json("/v1/stats");
    assert!(
        stats.bytes_received >= data.len() as u64 && stats.requests > hashes.len() as u64,
        "{stats:?}"
    );
    // Referencing a chunk that was never uploaded is a clear 400.
    let bogus = json!({"message": "x", "ops": [{"op": "create", "id": DocId::random(), "name": "d", "meta": {},
        "content": {"version": 1, "size": 5, "hash": Digest::of(b"hello"), "chunks": [{"hash": Digest::of(b"hello"), "len": 5, "locator": ""}]}}]});
    let r = s.post_json("/v1/commits", &bogus);
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("was not uploaded"));
}

#[test]
fn two_clients_on_the_same_base_one_wins_one_gets_409() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let doc = s.upload("name=shared.txt&tag=a", b"v1".to_vec());
    let other = s.upload("name=other.txt", b"o".to_vec());
    let edit = |tag: &str| {
        json!({"message": tag, "ops": [
        {"op": "set_meta", "id": doc.id, "base": doc.rev, "key": "tag", "values": [tag]},
        {"op": "set_meta", "id": other.id, "base": other.rev, "key": "tag", "values": [tag]}]})
    };
    let (a, b) = std::thread::scope(|t| {
        let a = t.spawn(|| s.post_json("/v1/commits", &edit("from-a")).status());
        let b = t.spawn(|| s.post_json("/v1/commits", &edit("from-b")).status());
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut statuses = [a.as_u16(), b.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let r = s.post_json("/v1/commits", &edit("late"));
    assert_eq!(r.status(), 409);
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["error"]["code"], "conflict");
    let conflicts = body["error"]["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 2, "both stale documents are named: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shared.txt")
    );
    // Nothing of the refused commit was applied: `other` carries the winner's tag.
    let now: DocInfo = s.get_json(&format!("/v1/docs/{}", other.id));
    assert!(now.meta["tag"] == ["from-a"] || now.meta["tag"] == ["from-b"]);
}

#[test]
fn auth_roles_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    // The status of METHOD PATH sent with `token` (None: no Authorization header).
    let status = |m: Method, path: &str, token: Option<&str>| -> u16 {
        let mut r = s.http.request(m, format!("{}{path}", s.url)).body("x");
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().unwrap().status().as_u16()
    };
    assert_eq!(
        status(Method::GET, "/v1/health", None),
        200,
        "health needs no token"
    );
    assert_eq!(status(Method::GET, "/v1/search?q=x", None), 401);
    assert_eq!(
        status(Method::GET, "/v1/openapi.json", None),
        401,
        "only /v1/health is open"
    );
    assert_eq!(status(Method::GET, "/v1/openapi.json", Some(&s.token)), 200);
    assert_eq!(status(Method::GET, "/v1/search?q=x", Some("dg_nope")), 401);

    let tok: serde_json::Value = s
        .post_json(
            "/v1/admin/tokens",
            &json!({"name": "reader", "role": "read"}),
        )
        .json()
        .unwrap();
    let reader = tok["token"].as_str().unwrap().to_string();
    assert_eq!(status(Method::POST, "/v1/docs?name=x", Some(&reader)), 403);
    assert_eq!(status(Method::GET, "/v1/search?q=x", Some(&reader)), 200);
    let r = s
        .req(Method::DELETE, "/v1/admin/tokens/reader")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        status(Method::GET, "/v1/search?q=x", Some(&reader)),
        401,
        "a revoked token is refused"
    );

    for name in ["a%2Fb", "..", "a%00b", "", "%2E%2E"] {
        let r = s
            .req(Method::POST, &format!("/v1/docs?name={name}"))
            .body("x")
            .send()
            .unwrap();
        assert_eq!(r.status(), 400, "name {name:?} must be refused");
        let body: serde_json::Value = r.json().unwrap();
        assert!(body["error"]["message"].as_str().unwrap().len() > 10);
    }
    let r = s
        .req(Method::POST, "/v1/docs?name=%FF%FE")
        .body("x")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400, "invalid UTF-8 in a name");
    let r = s
        .req(Method::POST, "/v1/commits")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = s.post_json("/v1/commits", &json!({"message": "m", "ops": [{"op": "set_meta", "id": DocId::random(), "base": 1, "key": "Bad Key", "values": ["v"]}]}));
    assert!(r.status().is_client_error());
    let doc = s.upload("name=ok.txt", b"ok".to_vec());
    let r = s.post_json("/v1/commits", &json!({"message": "m", "ops": [{"op": "set_meta", "id": doc.id, "base": doc.rev, "key": "path", "values": ["../../etc/passwd"]}]}));
    assert_eq!(r.status(), 400, "a path cannot climb out");
    let r = s.post_json("/v1/commits", &json!({"message": "m", "ops": [{"op": "set_meta", "id": doc.id, "base": doc.rev, "key": "size", "values": ["1"]}]}));
    assert_eq!(r.status(), 400, "reserved keys are the server's");
    // The server answers 413 as soon as the body passes the limit; a client
    // still writing may then see the connection reset instead of the answer.
    match s
        .req(Method::PUT, &format!("/v1/chunks/{}", Digest::of(b"")))
        .body(vec![0u8; 17 << 20])
        .send()
    {
        Ok(r) => assert_eq!(r.status(), 413, "oversized chunk"),
        Err(e) => assert!(e.is_request() || e.is_body(), "oversized chunk: {e}"),
    }
    // A fresh connection: the pooled one may be the one the server closed.
    let fresh = reqwest::blocking::Client::new();
    assert_eq!(
        fresh
            .get(format!("{}/v1/health", s.url))
            .send()
            .unwrap()
            .status(),
        200,
        "the server survives it"
    );
}

/// Found when the server was attacked: names with line breaks, control
/// characters or U+202E, and the tags `.` and `..`, were accepted although
/// no front-end can show them as they are.
#[test]
fn names_with_control_characters_or_bidi_overrides_and_dot_tags_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    for (query, what) in [
        ("name=two%0Alines.txt", "control character"),
        ("name=esc%1B%5B31m.txt", "control character"),
        ("name=invoice%E2%80%AEfdp.exe", "bidirectional control"),
        ("name=ok.txt&tag=..", "invalid tag"),
        ("name=ok.txt&tag=.", "invalid tag"),
    ] {
        let r = s
            .req(Method::POST, &format!("/v1/docs?{query}"))
            .body(b"x".to_vec())
            .send()
            .unwrap();
        let status = r.status();
        let text = r.text().unwrap();
        assert_eq!(status, 400, "{query}: {text}");
        assert!(text.contains(what), "{query}: {text}");
    }
    let doc = s.upload("name=fine.txt&tag=jazz", b"x".to_vec());
    let r = s
        .req(Method::PATCH, &format!("/v1/docs/{}", doc.id))
        .json(&json!({"base": doc.rev, "add": {"tag": [".."]}}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400, "{}", r.text().unwrap());
}

/// Found when the server was attacked: `?q=%ff` (not UTF-8 once decoded)
/// was decoded lossily and searched for U+FFFD.
#[test]
fn a_query_string_that_is_not_utf8_is_refused_not_decoded_lossily() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    for path in [
        "/v1/search?q=%ff",
        "/v1/tree/tags?limit=1&x=%C3%28",
        "/v1/commits?since=%80",
    ] {
        let r = s.get(path);
        let status = r.status();
        let text = r.text().unwrap();
        assert_eq!(status, 400, "{path}: {text}");
        assert!(text.contains("not valid UTF-8"), "{path}: {text}");
    }
    assert_eq!(s.get("/v1/search?q=caf%C3%A9").status(), 200);
}

/// Found when the server was attacked: a 100 MB commit message was
/// accepted (and every `GET /v1/commits` then returned it); a commit of any
/// number of operations was taken under the commit lock.
#[test]
fn a_huge_commit_message_or_too_many_operations_is_a_413() {
    use docgrid_core::api::{MAX_COMMIT_MESSAGE, MAX_COMMIT_OPS};
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let long = "m".repeat(MAX_COMMIT_MESSAGE + 1);
    let r = s.post_json("/v1/commits", &json!({"message": long, "ops": []}));
    let status = r.status();
    let text = r.text().unwrap();
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("commit message is at most"), "{text}");
    let ops: Vec<serde_json::Value> = (0..=MAX_COMMIT_OPS)
        .map(|_| json!({"op": "delete", "id": DocId::random(), "base": 1}))
        .collect();
    let r = s.post_json("/v1/commits", &json!({"message": "many", "ops": ops}));
    let status = r.status();
    let text = r.text().unwrap();
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("commit in several"), "{text}");
    let commits: Vec<serde_json::Value> = s.get_json("/v1/commits?since=0");
    assert!(commits.is_empty(), "nothing was committed");
    let create = json!({"op": "create", "id": DocId::random(), "name": "x.txt", "meta": {},
        "content": {"version": 1, "size": 0, "hash": Digest::of(b""), "chunks": []}});
    let ok = s.post_json(
        "/v1/commits",
        &json!({"message": "m".repeat(MAX_COMMIT_MESSAGE), "ops": [create]}),
    );
    assert_eq!(ok.status(), 200, "{}", ok.text().unwrap());
}
