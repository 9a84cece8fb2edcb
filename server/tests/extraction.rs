//! Extraction after the commit: the queue, its worker processes and their
//! limits, the metadata read from content, and who owns a key.

mod common;

use common::{Server, urlencode};
use docgrid_core::api::{DocInfo, Stats};
use docgrid_server::testing::{pdf_with_info, self_drawing_pdf};

const QUARTERLY: &str = "BT /F1 24 Tf 72 720 Td (quarterly report zebra) Tj ET";

fn info(s: &Server, id: &str) -> DocInfo {
    s.get_json(&format!("/v1/docs/{id}"))
}

fn values(d: &DocInfo, key: &str) -> Vec<String> {
    d.meta.get(key).cloned().unwrap_or_default()
}

#[test]
fn a_pdf_is_committed_at_once_then_its_text_and_metadata_follow() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let pdf = pdf_with_info(
        QUARTERLY,
        "<< /Title (Quarterly Report) /Author (Ann Lee) /Subject (Q3) \
         /CreationDate (D:20230415093000Z) >>",
    );
    let doc = s.upload("name=q3.pdf&tag=work", pdf);
    let settled = s.settle();
    assert_eq!(settled.failed, 0, "{settled:?}");
    assert_eq!(s.search_ids("zebra"), vec![doc.id.to_string()]);
    let d = info(&s, &doc.id.to_string());
    assert_eq!(values(&d, "title"), ["Quarterly Report"]);
    assert_eq!(values(&d, "author"), ["Ann Lee"], "replaces the committer");
    assert_eq!(values(&d, "subject"), ["Q3"]);
    assert_eq!(values(&d, "pages"), ["1"]);
    assert_eq!(values(&d, "date"), ["2023-04-15T09:30:00Z"]);
    assert_eq!(values(&d, "tag"), ["work"]);
    // Ordinary keys: the tree and the query language see them.
    let listed = s.ls("/by/title/Quarterly Report/");
    assert!(listed.contains(&"q3.pdf".to_string()), "{listed:?}");
    assert!(
        listed.contains(&"pages".to_string()),
        "refine by pages: {listed:?}"
    );
    assert_eq!(s.search_ids("pages>=1 title:Quarterly*").len(), 1);
    // One commit for the upload, one for what extraction read, by its author.
    let log: Vec<docgrid_core::api::CommitInfo> = s.get_json("/v1/commits?since=0");
    let last = log.iter().max_by_key(|c| c.rev).unwrap();
    assert_eq!(last.author, "docgrid-extract", "{log:?}");
}

#[test]
fn a_value_the_user_set_is_never_overwritten_by_extraction() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let first = pdf_with_info(QUARTERLY, "<< /Title (Draft) /Author (Ann Lee) >>");
    let doc = s.upload("name=r.pdf&author=bob", first);
    s.settle();
    let id = doc.id.to_string();
    let d = info(&s, &id);
    assert_eq!(values(&d, "author"), ["bob"], "given at upload: the user's");
    assert_eq!(values(&d, "title"), ["Draft"]);
    // The user sets `pages`; new content changes the title extraction owns.
    let r = s
        .req(reqwest::Method::PATCH, &format!("/v1/docs/{id}"))
        .json(&serde_json::json!({"base": d.rev, "set": {"pages": ["99"]}}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let d = info(&s, &id);
    let second = pdf_with_info(QUARTERLY, "<< /Title (Final) >>");
    let r = s
        .req(
            reqwest::Method::PUT,
            &format!("/v1/docs/{id}/content?base={}", d.rev),
        )
        .body(second)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    s.settle();
    let d = info(&s, &id);
    assert_eq!(
        values(&d, "title"),
        ["Final"],
        "extraction's own key follows the content"
    );
    assert_eq!(values(&d, "pages"), ["99"], "the user's value stands");
    assert_eq!(values(&d, "author"), ["bob"]);
    // A reindex re-extracts everything and still keeps the user's values.
    let r = s
        .req(reqwest::Method::POST, "/v1/admin/reindex")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    s.settle();
    let again = info(&s, &id);
    assert_eq!(values(&again, "pages"), ["99"]);
    assert_eq!(values(&again, "title"), ["Final"]);
    assert_eq!(s.search_ids("zebra"), vec![id]);
}

#[test]
fn a_pdf_that_crashes_its_worker_fails_alone_and_the_server_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let bad = s.upload("name=loop.pdf", self_drawing_pdf());
    let good = s.upload(
        "name=after.html",
        b"<html><body><p>marimba</p></body></html>".to_vec(),
    );
    let settled = s.settle();
    assert_eq!(settled.failed, 1, "{settled:?}");
    let failure = &settled.failures[0];
    assert_eq!((failure.id, failure.name.as_str()), (bad.id, "loop.pdf"));
    assert!(
        failure.reason.contains("stack") || failure.reason.contains("signal"),
        "the reason names how the worker died: {failure:?}"
    );
    assert_eq!(s.search_ids("marimba"), vec![good.id.to_string()]);
    // Not retried: the queue stays empty, and the server answers.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let stats: Stats = s.get_json("/v1/stats");
    assert_eq!(stats.extraction.queued, 0);
    assert_eq!(stats.extraction.failed, 1);
    assert_eq!(s.get("/v1/health").status(), 200);
    // The document itself is stored and readable like any other.
    let bytes = s
        .get(&format!("/v1/docs/{}/content", bad.id))
        .bytes()
        .unwrap();
    assert_eq!(bytes.as_ref(), self_drawing_pdf().as_slice());
}

#[test]
fn what_was_committed_and_not_yet_extracted_is_extracted_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::create(dir.path());
    let mut ids = Vec::new();
    for i in 0..40 {
        let html = format!("<html><body><p>xylophone{i} glockenspiel</p></body></html>");
        ids.push(s.upload(&format!("name=n{i}.html"), html.into_bytes()).id);
    }
    let token = s.token.clone();
    s.stop();
    // Whatever extraction had done, make it as if it had done nothing: the
    // queue in the index is all a restart needs.
    let db = rusqlite::Connection::open(dir.path().join("index/index.sqlite")).unwrap();
    db.execute_batch(
        "UPDATE extraction SET state = 'pending', attempts = 0, not_before = 0;
         UPDATE bodies SET text = '';",
    )
    .unwrap();
    drop(db);
    let s = Server::open(dir.path(), &token);
    s.settle();
    assert_eq!(s.search_ids("glockenspiel").len(), 40);
    assert_eq!(
        s.search_ids("xylophone7"),
        vec![ids[7].to_string()],
        "{}",
        urlencode("xylophone7")
    );
}

#[test]
fn an_edit_based_on_the_revision_before_extraction_is_not_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let doc = s.upload("name=t.pdf", pdf_with_info(QUARTERLY, "<< /Title (T) >>"));
    s.settle();
    let id = doc.id.to_string();
    let after = info(&s, &id);
    assert!(after.rev > doc.rev, "extraction committed its keys");
    let patch = |base: u64, tag: &str| {
        s.req(reqwest::Method::PATCH, &format!("/v1/docs/{id}"))
            .json(&serde_json::json!({"base": base, "add": {"tag": [tag]}}))
            .send()
            .unwrap()
    };
    // The user saw the document before extraction's commit: still current.
    let r = patch(doc.rev, "seen-before");
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    // A user's change makes that revision stale, as always.
    let r = patch(doc.rev, "too-late");
    assert_eq!(r.status(), 409, "{}", r.text().unwrap());
    let d = info(&s, &id);
    assert_eq!(values(&d, "tag"), ["seen-before"]);
    assert_eq!(values(&d, "title"), ["T"]);
}
