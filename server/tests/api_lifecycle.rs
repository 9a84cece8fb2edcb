//! A document's life: metadata edits, history, delete, purge and GC; the
//! change feed's long poll.

mod common;

use std::time::{Duration, Instant};

use common::{Server, bytes};
use docgrid_core::api::{Changes, DocInfo, GcReport, HistoryEntry};
use reqwest::Method;
use serde_json::json;

#[test]
fn patch_history_delete_purge_and_gc() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let data = bytes(3 << 20, 9);
    let doc = s.upload("name=draft.txt&tag=a", data.clone());
    let r = s.req(Method::PATCH, &format!("/v1/docs/{}", doc.id))
        .json(&json!({"base": doc.rev, "add": {"tag": ["b"]}, "set": {"year": ["1959"]}, "name": "final.txt"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let edited: DocInfo = r.json().unwrap();
    assert_eq!(
        (
            edited.name.as_str(),
            edited.meta["tag"].clone(),
            edited.meta["year"].clone()
        ),
        (
            "final.txt",
            vec!["a".to_string(), "b".to_string()],
            vec!["1959".to_string()]
        )
    );
    let stale = s
        .req(Method::PATCH, &format!("/v1/docs/{}", doc.id))
        .json(&json!({"base": doc.rev, "set": {"year": ["1960"]}}))
        .send()
        .unwrap();
    assert_eq!(stale.status(), 409);
    let r = s
        .req(
            Method::PUT,
            &format!("/v1/docs/{}/content?base={}", doc.id, edited.rev),
        )
        .body(b"v2".to_vec())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let h: Vec<HistoryEntry> = s.get_json(&format!("/v1/docs/{}/history", doc.id));
    assert_eq!(h.len(), 3);
    assert_eq!(h[0].size, 2);
    assert_eq!(h[2].size, data.len() as u64);

    // Delete keeps history (and the old content's chunks); purge lets GC free them.
    let r = s
        .req(Method::DELETE, &format!("/v1/docs/{}", doc.id))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.get(&format!("/v1/docs/{}", doc.id)).status(), 404);
    assert!(s.search_ids("tag:a").is_empty());
    let gc = |grace: u64| -> GcReport {
        let r = s
            .req(Method::POST, &format!("/v1/admin/gc?grace={grace}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().unwrap()
    };
    assert_eq!(gc(0).deleted, 0, "history still references the chunks");
    let r = s
        .req(Method::POST, &format!("/v1/admin/purge/{}", doc.id))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    assert_eq!(
        gc(3600).deleted,
        0,
        "chunks younger than the grace period stay"
    );
    let freed = gc(0);
    assert!(
        freed.deleted >= 1 && freed.bytes_freed >= data.len() as u64,
        "{freed:?}"
    );
    let writer: serde_json::Value = s
        .post_json("/v1/admin/tokens", &json!({"name": "w", "role": "write"}))
        .json()
        .unwrap();
    let r = s
        .http
        .post(format!("{}/v1/admin/gc", s.url))
        .bearer_auth(writer["token"].as_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(r.status(), 403, "gc is for admins");
}

#[test]
fn changes_long_poll_wakes_on_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let first = s.upload("name=one.txt", b"1".to_vec());
    let now: Changes = s.get_json("/v1/changes?since=0");
    assert_eq!((now.rev, now.commits.len()), (1, 1));
    assert_eq!(now.commits[0].docs, vec![first.id]);
    let start = Instant::now();
    let waited = std::thread::scope(|t| {
        let poll = t.spawn(|| s.get_json::<Changes>("/v1/changes?since=1&wait=20"));
        std::thread::sleep(Duration::from_millis(400));
        s.upload("name=two.txt", b"2".to_vec());
        poll.join().unwrap()
    });
    assert_eq!(waited.rev, 2);
    assert_eq!(waited.commits.len(), 1);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "the poll returned at the commit, not at the timeout"
    );
    let t = Instant::now();
    let idle: Changes = s.get_json("/v1/changes?since=2&wait=1");
    assert!(idle.commits.is_empty() && t.elapsed() >= Duration::from_millis(900));
}

#[test]
fn a_native_store_cannot_be_followed() {
    let dir = tempfile::tempdir().unwrap();
    let data = docgrid_server::config::DataDir::new(dir.path());
    docgrid_server::config::init_store(&data, &data.default_config()).unwrap();
    let err = docgrid_server::app::App::open_as(
        data.clone(),
        &data.default_config(),
        docgrid_server::app::ServerRole::Follower {
            primary: None,
            poll: std::time::Duration::from_secs(1),
        },
    )
    .err()
    .expect("a follower of a native store is refused");
    assert!(format!("{err:#}").contains("Tahoe"), "{err:#}");
}

#[test]
fn a_documents_extracted_text_is_served_and_gone_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let doc = s.upload(
        "name=notes.html",
        b"<html><body><h1>Kind of Blue</h1><p>liner notes</p></body></html>".to_vec(),
    );
    s.settle();
    let t: docgrid_core::api::DocText = s.get_json(&format!("/v1/docs/{}/text", doc.id));
    assert_eq!(t.id, doc.id);
    assert!(
        t.text.contains("Kind of Blue") && t.text.contains("liner notes"),
        "{t:?}"
    );
    assert!(!t.text.contains("<h1>"), "the text, not the markup: {t:?}");
    let blob = s.upload("name=x.bin", vec![0, 159, 146, 150]);
    let t: docgrid_core::api::DocText = s.get_json(&format!("/v1/docs/{}/text", blob.id));
    assert_eq!(t.text, "", "no text in a binary");
    let r = s
        .req(Method::DELETE, &format!("/v1/docs/{}", doc.id))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.get(&format!("/v1/docs/{}/text", doc.id)).status(), 404);
}
