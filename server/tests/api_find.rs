//! Finding documents: search (metadata, comparisons, boolean logic, full
//! text in PDF and Markdown), bad queries, the tree.

mod common;

use common::{Server, urlencode};
use docgrid_core::api::{SearchResponse, TreeListing};
use docgrid_server::testing::one_page_pdf;

fn corpus(s: &Server) -> [String; 4] {
    let pdf = s
        .upload(
            "name=q3.pdf&tag=work&year=2025",
            one_page_pdf("BT /F1 24 Tf 72 720 Td (quarterly report zebra) Tj ET"),
        )
        .id;
    let md = s
        .upload(
            "name=notes.md&tag=jazz&year=1959&author=miles",
            b"# Kind of Blue\n\nMiles Davis recorded *So What* in [1959](https://x.example)."
                .to_vec(),
        )
        .id;
    let txt = s
        .upload(
            "name=live.txt&tag=jazz&tag=live&year=1965&author=bob",
            b"a live recording in Paris".to_vec(),
        )
        .id;
    let html = s
        .upload(
            "name=page.html&tag=web",
            b"<html><script>var hidden=1;</script><p>Zebra crossing guide</p></html>".to_vec(),
        )
        .id;
    // Full text arrives after the commits.
    s.settle();
    [pdf, md, txt, html].map(|i| i.to_string())
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn search_metadata_comparisons_boolean_and_full_text() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let [pdf, md, txt, html] = corpus(&s);
    let cases: &[(&str, Vec<&String>)] = &[
        ("tag:jazz", vec![&md, &txt]),
        ("tag:JAZZ", vec![]),
        ("tag:j*z", vec![&md, &txt]),
        ("tag:j?zz", vec![]),
        ("tag:jazz -tag:live", vec![&md]),
        ("tag:jazz AND NOT tag:live", vec![&md]),
        ("year>=1960", vec![&pdf, &txt]),
        ("year<1960", vec![&md]),
        ("year>=1959 year<1966", vec![&md, &txt]),
        ("year>1959 year<=1965", vec![&txt]),
        ("year!=1959 tag:jazz", vec![&txt]),
        ("tag:work OR tag:web", vec![&pdf, &html]),
        ("(author:miles OR author:bob) davis", vec![&md]),
        ("zebra", vec![&pdf, &html]),
        ("zebra mime:application/pdf", vec![&pdf]),
        ("\"so what\"", vec![&md]),
        ("\"what so\"", vec![]),
        ("name:*.md", vec![&md]),
        ("name:q3.*", vec![&pdf]),
        ("has:year -tag:jazz", vec![&pdf]),
        ("has:year -author:miles -author:bob", vec![&pdf]),
        ("hidden", vec![]),
        ("modified>=2020-01-01 tag:web", vec![&html]),
        ("created>=2026 tag:web", vec![&html]),
        ("created<2026-01-01", vec![]),
        ("created<2001-01-01", vec![]),
    ];
    for (q, want) in cases {
        let want = sorted(want.iter().map(|s| s.to_string()).collect());
        assert_eq!(s.search_ids(q), want, "query {q:?}");
    }
    let r: SearchResponse = s.get_json(&format!("/v1/search?q={}", urlencode("zebra")));
    assert_eq!(r.total, 2);
    let snippet = r
        .hits
        .iter()
        .find(|h| h.doc.id.to_string() == pdf)
        .unwrap()
        .snippet
        .clone()
        .unwrap();
    assert!(snippet.contains("«zebra»"), "{snippet}");
    let page: SearchResponse = s.get_json("/v1/search?q=has:year&limit=2&offset=1");
    assert_eq!((page.total, page.hits.len()), (3, 2));
}

#[test]
fn a_bad_query_is_a_400_naming_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    for (q, col) in [("year>=", 7), ("tag:jazz (live", 10), ("\"open", 1)] {
        let r = s.get(&format!("/v1/search?q={}", urlencode(q)));
        assert_eq!(r.status(), 400, "{q}");
        let body: serde_json::Value = r.json().unwrap();
        assert_eq!(body["error"]["code"], "bad_query");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains(&format!("column {col}")) && msg.contains("expected"),
            "{q}: {msg}"
        );
        assert_eq!(body["error"]["offset"], col - 1);
    }
}

#[test]
fn tree_tags_intersect_and_show_co_tags_clashes_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let a = s.upload("name=a.txt&tag=x&tag=y", b"a".to_vec()).id;
    s.upload("name=b.txt&tag=x&tag=z", b"b".to_vec());
    s.upload("name=c.txt&tag=y", b"c".to_vec());
    assert_eq!(
        s.ls("/"),
        ["all", "tags", "by", "files", "search", "recent", "ids"]
    );
    assert_eq!(s.ls("/tags/"), ["x", "y", "z"]);
    assert_eq!(s.ls("/tags/x/"), ["y", "z", "a.txt", "b.txt"]);
    assert_eq!(s.ls("/tags/x/y/"), ["a.txt"]);
    let l: TreeListing = s.get_json("/v1/tree/tags/x/");
    assert_eq!(l.entries[0].count, Some(1));
    assert_eq!(l.entries[2].id.unwrap(), a);
    assert_eq!(l.entries[2].mtime, None);

    let d1 = s.upload("name=dup.txt&tag=clash", b"1".to_vec()).id;
    let d2 = s.upload("name=dup.txt&tag=clash", b"2".to_vec()).id;
    let names = s.ls("/tags/clash/");
    let want = sorted(vec![
        format!("dup~{}.txt", d1.short()),
        format!("dup~{}.txt", d2.short()),
    ]);
    assert_eq!(sorted(names), want);

    s.upload(
        "name=so-what.flac&path=music/jazz/so-what.flac",
        b"sw".to_vec(),
    );
    s.upload("name=other.flac&path=music/other.flac", b"o".to_vec());
    assert_eq!(s.ls("/files/"), ["music"]);
    assert_eq!(s.ls("/files/music/"), ["jazz", "other.flac"]);
    assert_eq!(s.ls("/files/music/jazz/"), ["so-what.flac"]);
    assert!(s.ls("/by/").contains(&"tag".to_string()));
    assert_eq!(s.ls("/by/tag/y/"), s.ls("/by/tag/y/").clone());
    assert!(s.ls("/by/tag/y/").contains(&"a.txt".to_string()));
    assert_eq!(
        s.ls(&format!("/search/{}/", urlencode("tag:x tag:z")))
            .last()
            .unwrap(),
        "b.txt"
    );
    assert_eq!(s.ls("/recent/").len(), 7);
    let r = s.get("/v1/tree/nonsense/");
    assert_eq!(r.status(), 400);
}

#[test]
fn a_listing_carries_each_files_own_modification_time() {
    // The mount's `mtime` key, so that `stat` needs no request per entry,
    // in every kind of directory.
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    s.upload(
        "name=m.txt&tag=x&path=d/m.txt&mtime=2001-09-09T01:46:40.123456789Z",
        b"m".to_vec(),
    );
    for path in ["/v1/tree/tags/x/", "/v1/tree/files/d/", "/v1/tree/all/"] {
        let l: TreeListing = s.get_json(path);
        assert_eq!(
            l.entries[0].mtime.as_deref(),
            Some("2001-09-09T01:46:40.123456789Z"),
            "{path}"
        );
    }
}

#[test]
fn tree_by_keys_values_case_and_unicode_paths() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    s.upload("name=a.txt&author=alice&year=2020&tag=Jazz", b"a".to_vec());
    s.upload("name=b.txt&author=alice&year=2021&tag=jazz", b"b".to_vec());
    s.upload("name=c.txt&author=bob&year=2020", b"c".to_vec());
    s.upload("name=d.txt&path=M%C3%BCsik/d.txt&tag=c*", b"d".to_vec());
    // d.txt's author is its committer, the admin token.
    assert_eq!(s.ls("/by/author/"), ["admin", "alice", "bob"]);
    let l: TreeListing = s.get_json("/v1/tree/by/author/");
    assert_eq!(l.entries[1].count, Some(2));
    assert_eq!(s.ls("/by/author/alice/year/"), ["2020", "2021"]);
    let refined = s.ls("/by/author/alice/year/2020/");
    assert_eq!(refined.last().unwrap(), "a.txt", "{refined:?}");
    assert!(
        refined.contains(&"tag".to_string()),
        "other keys refine further: {refined:?}"
    );
    assert!(!refined.contains(&"author".to_string()) && !refined.contains(&"year".to_string()));
    // Values are exact: Jazz and jazz are two tags.
    assert_eq!(s.ls("/tags/"), ["Jazz", "c*", "jazz"]);
    assert_eq!(s.ls("/tags/jazz/"), ["b.txt"]);
    // A '*' in a tag is a character in the tree, not a glob.
    assert_eq!(s.ls("/tags/c*/"), ["d.txt"]);
    assert_eq!(s.ls("/files/"), ["Müsik"]);
    assert_eq!(s.ls("/files/Müsik/"), ["d.txt"]);
}

#[test]
fn tree_listings_agree_with_cores_reference_executor() {
    use docgrid_core::tree::{DocView, Extras, list_naive, parse_dir};
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let mut views = Vec::new();
    for i in 0..40u32 {
        let tags: String = (0..3)
            .filter(|t| (i >> t) & 1 == 1)
            .map(|t| format!("&tag=t{t}"))
            .collect();
        let path = if i % 4 == 0 {
            format!("&path=d{}/s{}/f{i}.txt", i % 3, i % 2)
        } else {
            String::new()
        };
        let name = if i % 7 == 0 {
            "same.txt".to_string()
        } else {
            format!("f{i}.txt")
        };
        let doc = s.upload(
            &format!("name={name}&year={}{tags}{path}", 2000 + i % 5),
            vec![b'x'; i as usize],
        );
        views.push(DocView {
            id: doc.id,
            name: doc.name,
            meta: doc.meta,
            rev: doc.rev,
        });
    }
    let paths = [
        "/all/",
        "/tags/",
        "/tags/t0/",
        "/tags/t0/t1/",
        "/tags/t2/t0/",
        "/by/",
        "/by/year/",
        "/by/year/2001/",
        "/by/year/2002/tag/",
        "/by/year/2002/tag/t1/",
        "/files/",
        "/files/d1/",
        "/files/d1/s1/",
        "/recent/",
        "/",
    ];
    for p in paths {
        let listing = parse_dir(p).unwrap().listing();
        let want: Vec<String> = list_naive(&listing, &views, &Extras::default())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(s.ls(p), want, "{p}");
    }
}
