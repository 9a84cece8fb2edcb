//! Regression tests for integrity bugs found when the server was attacked,
//! each named after what broke: false content hashes, revoking the last
//! admin token, lost shards answered as 500, and a store missing a disk
//! majority that would not start.

mod common;

use std::path::Path;

use common::Server;
use docgrid_core::Digest;
use docgrid_core::DocId;
use serde_json::{Value, json};

fn put_chunk(s: &Server, bytes: &[u8]) -> Digest {
    let h = Digest::of(bytes);
    let r = s
        .req(reqwest::Method::PUT, &format!("/v1/chunks/{h}"))
        .body(bytes.to_vec())
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().unwrap());
    h
}

fn create_op(name: &str, chunks: &[(Digest, usize)], hash: Digest) -> Value {
    let size: usize = chunks.iter().map(|(_, l)| l).sum();
    let chunks: Vec<Value> = chunks
        .iter()
        .map(|(h, l)| json!({"hash": h, "len": l, "locator": ""}))
        .collect();
    json!({"op": "create", "id": DocId::random(), "name": name, "meta": {},
        "content": {"version": 1, "size": size, "hash": hash, "chunks": chunks}})
}

fn commit(s: &Server, ops: Vec<Value>) -> reqwest::blocking::Response {
    s.post_json("/v1/commits", &json!({"message": "m", "ops": ops}))
}

fn error(r: reqwest::blocking::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_string(),
        body["error"]["message"].as_str().unwrap_or("").to_string(),
    )
}

/// Loses chunk `hex`'s shard on each of `disks`: its bytes in the pack
/// become zeros (what a punched-out record reads as: absent).
fn lose_shards(dir: &Path, hex: &str, disks: &[usize]) {
    use std::os::unix::fs::FileExt;
    for d in disks {
        let disk = dir.join(format!("disks/{d}"));
        let places = docgrid_core::store::native::shard_places(&disk).unwrap();
        let (_, p) = places
            .iter()
            .find(|(c, _)| c.to_hex() == hex)
            .unwrap_or_else(|| panic!("no shard of {hex} on {}", disk.display()));
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&p.file)
            .unwrap();
        f.write_all_at(&vec![0; p.len as usize], p.offset).unwrap();
    }
}

/// The chunks disk 0 holds a shard of.
fn shards(dir: &Path) -> std::collections::BTreeSet<String> {
    docgrid_core::store::native::shard_places(&dir.join("disks/0"))
        .unwrap()
        .into_iter()
        .map(|(c, _)| c.to_hex())
        .collect()
}

#[test]
fn a_commit_declaring_a_false_content_hash_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let (a, b) = (vec![1u8; 300_000], vec![2u8; 200_000]);
    let (ha, hb) = (put_chunk(&s, &a), put_chunk(&s, &b));
    let zeros = Digest([0; 32]);
    for (name, chunks) in [
        ("one.bin", vec![(ha, a.len())]),
        ("two.bin", vec![(ha, a.len()), (hb, b.len())]),
    ] {
        let (status, code, message) = error(commit(&s, vec![create_op(name, &chunks, zeros)]));
        assert_eq!((status, code.as_str()), (400, "bad_request"), "{message}");
        assert!(
            message.contains("declares BLAKE3") && message.contains(name),
            "{message}"
        );
    }
    assert!(s.ls("/all/").is_empty(), "nothing was committed");
    // The true hash is accepted, and the document reads back whole.
    let whole = Digest::of(&[a.clone(), b.clone()].concat());
    let r = commit(
        &s,
        vec![create_op("two.bin", &[(ha, a.len()), (hb, b.len())], whole)],
    );
    assert!(r.status().is_success(), "{}", r.text().unwrap());
    assert_eq!(s.ls("/all/"), ["two.bin"]);
}

#[test]
fn revoking_the_last_admin_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let revoke = |token: &str, name: &str| {
        s.http
            .delete(format!("{}/v1/admin/tokens/{name}", s.url))
            .bearer_auth(token)
            .send()
            .unwrap()
    };
    let (status, code, message) = error(revoke(&s.token, "admin"));
    assert_eq!((status, code.as_str()), (409, "conflict"), "{message}");
    assert!(message.contains("last admin token"), "{message}");
    let ops: Value = s
        .post_json("/v1/admin/tokens", &json!({"name": "ops", "role": "admin"}))
        .json()
        .unwrap();
    let ops = ops["token"].as_str().unwrap().to_string();
    let r = s.post_json(
        "/v1/admin/tokens",
        &json!({"name": "reader", "role": "read"}),
    );
    assert!(r.status().is_success());
    // Readers never count; with another admin the first may go, and then
    // that one is the last.
    assert!(revoke(&s.token, "reader").status().is_success());
    assert!(revoke(&s.token, "admin").status().is_success());
    let (status, code, message) = error(revoke(&ops, "ops"));
    assert_eq!((status, code.as_str()), (409, "conflict"), "{message}");
}

#[test]
fn an_unrecoverable_chunk_during_a_read_answers_503_naming_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let doc = s.upload("name=lost.txt", b"hello, lost world".to_vec());
    lose_shards(dir.path(), &doc.hash.to_string(), &[0, 2, 4]);
    let (status, code, message) = error(s.get(&format!("/v1/docs/{}/content", doc.id)));
    assert_eq!((status, code.as_str()), (503, "unavailable"), "{message}");
    assert!(
        message.contains("lost.txt") && message.contains(&doc.id.to_string()),
        "{message}"
    );
    for disk in ["d0 (", "d2 (", "d4 ("] {
        assert!(message.contains(disk), "{message}");
    }
    // Metadata and search still answer.
    assert_eq!(s.ls("/all/"), ["lost.txt"]);
}

#[test]
fn an_unrecoverable_chunk_during_a_commit_answers_503_naming_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let (a, b) = (vec![3u8; 300_000], vec![4u8; 100_000]);
    let (ha, hb) = (put_chunk(&s, &a), put_chunk(&s, &b));
    lose_shards(dir.path(), &ha.to_string(), &[1, 3, 5]);
    let whole = Digest::of(&[a.clone(), b.clone()].concat());
    let op = create_op("report.pdf", &[(ha, a.len()), (hb, b.len())], whole);
    let (status, code, message) = error(commit(&s, vec![op]));
    assert_eq!((status, code.as_str()), (503, "unavailable"), "{message}");
    assert!(message.contains("report.pdf"), "{message}");
    assert!(s.ls("/all/").is_empty(), "nothing was committed");
    // The next commit goes through.
    s.upload("name=next.txt", b"next".to_vec());
    assert_eq!(s.ls("/all/"), ["next.txt"]);
}

#[test]
fn an_unrecoverable_changeset_during_a_catch_up_answers_503_naming_the_revision() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::create(dir.path());
    s.upload("name=first.txt", b"first".to_vec());
    let before = shards(dir.path());
    let empty = create_op("second.txt", &[], Digest::of(b""));
    assert!(commit(&s, vec![empty]).status().is_success());
    let new: Vec<String> = shards(dir.path()).difference(&before).cloned().collect();
    assert_eq!(
        new.len(),
        1,
        "only revision 2's changeset was stored: {new:?}"
    );
    let token = s.token.clone();
    s.stop();
    // The index is gone: the server must replay the journal, whose
    // revision 2 cannot be read.
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    lose_shards(dir.path(), &new[0], &[0, 1, 2]);
    let s = Server::open(dir.path(), &token);
    let (status, code, message) = error(commit(
        &s,
        vec![create_op("third.txt", &[], Digest::of(b""))],
    ));
    assert_eq!((status, code.as_str()), (503, "unavailable"), "{message}");
    assert!(message.contains("revision 2"), "{message}");
    let health: docgrid_core::api::Health = s.get_json("/v1/health");
    assert_eq!(health.status, "degraded");
}

#[test]
fn a_commit_with_three_disks_gone_answers_503_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    s.upload("name=a.txt&tag=keep", b"alpha".to_vec());
    for i in [0, 2, 5] {
        std::fs::remove_dir_all(dir.path().join(format!("disks/{i}"))).unwrap();
    }
    let (status, code, message) = error(commit(&s, vec![create_op("b.txt", &[], Digest::of(b""))]));
    assert_eq!((status, code.as_str()), (503, "unavailable"), "{message}");
    assert!(
        !message.contains("written"),
        "a failed read, not a write: {message}"
    );
    for i in [0, 2, 5] {
        assert!(message.contains(&format!("d{i} (")), "{message}");
    }
}

#[test]
fn a_server_with_three_disks_gone_starts_degraded_and_serves_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::create(dir.path());
    for i in 0..20 {
        s.upload(
            &format!("name=n{i}.txt&tag=t{}", i % 3),
            format!("note {i}").into_bytes(),
        );
    }
    let before = s.search_ids("tag:t1");
    let token = s.token.clone();
    s.stop();
    for i in [0, 2, 5] {
        std::fs::remove_dir_all(dir.path().join(format!("disks/{i}"))).unwrap();
    }
    let s = Server::open(dir.path(), &token);
    let health: docgrid_core::api::Health = s.get_json("/v1/health");
    assert_eq!(health.status, "degraded");
    assert!(health.degraded.unwrap().contains("d0 ("));
    assert_eq!(s.search_ids("tag:t1"), before);
    assert_eq!(s.ls("/tags/t1/").len(), before.len());
    let r = s
        .req(reqwest::Method::POST, "/v1/docs?name=x.txt")
        .body("x")
        .send()
        .unwrap();
    let (status, code, message) = error(r);
    assert_eq!((status, code.as_str()), (503, "unavailable"), "{message}");
    let (status, _, message) = error(s.req(reqwest::Method::POST, "/v1/admin/gc").send().unwrap());
    assert_eq!(status, 503, "{message}");
}

#[test]
fn a_chunk_batch_is_verified_stored_and_usable_by_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let (a, b) = (b"batched one".as_slice(), b"batched two".as_slice());
    let body = docgrid_core::api::chunk_batch::encode(&[(Digest::of(a), a), (Digest::of(b), b)]);
    let r = s
        .req(reqwest::Method::POST, "/v1/chunks")
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let stored: Value = r.json().unwrap();
    assert_eq!(
        (stored["chunks"].as_u64(), stored["bytes"].as_u64()),
        (Some(2), Some(22))
    );
    let missing: Value = s
        .post_json(
            "/v1/chunks/missing",
            &json!({"hashes": [Digest::of(a), Digest::of(b)]}),
        )
        .json()
        .unwrap();
    assert_eq!(missing["missing"], json!([]));
    let r = commit(
        &s,
        vec![create_op(
            "a.txt",
            &[(Digest::of(a), a.len())],
            Digest::of(a),
        )],
    );
    assert!(r.status().is_success(), "{}", r.text().unwrap());

    // A false hash or a cut body is refused, naming which chunk or byte.
    let mut bad = docgrid_core::api::chunk_batch::encode(&[(Digest::of(a), b)]);
    let (status, _, msg) = error(
        s.req(reqwest::Method::POST, "/v1/chunks")
            .body(bad.clone())
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400);
    assert!(msg.contains("chunk 0 does not hash"), "{msg}");
    bad.truncate(45);
    let (status, _, msg) = error(
        s.req(reqwest::Method::POST, "/v1/chunks")
            .body(bad)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400);
    assert!(msg.contains("byte 0: body cut short"), "{msg}");
}
