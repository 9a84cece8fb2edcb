//! The tree layer against a real server on 127.0.0.1:0: every operation
//! over every path kind, listings compared with core's reference executor
//! (`list_naive`) after random operation sequences, ranged reads, the
//! change feed across processes, and stale-base conflicts.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ClientOf, Server, bytes};
use docgrid_client::tree::{Content, Tree};
use docgrid_client::{ClientError, ErrorKind};
use docgrid_core::api::EntryKind;
use docgrid_core::tree::{self as rules, DocView, Extras};
use proptest::prelude::*;

fn tree(s: &Server) -> Tree {
    Tree::new(s.client())
}

fn names(t: &Tree, path: &str) -> Vec<String> {
    t.list(path)
        .unwrap()
        .entries()
        .iter()
        .map(|e| e.name.clone())
        .collect()
}

#[test]
fn every_path_kind_reads_and_writes_through_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let t = tree(&s);
    assert_eq!(
        names(&t, "/"),
        ["all", "tags", "by", "files", "search", "recent", "ids"]
    );
    // Create in each kind of directory that accepts documents.
    let a = t
        .create("/all/", "a.txt", b"alpha".as_slice().into())
        .unwrap();
    let j = t
        .create("/tags/jazz/live/", "set.flac", b"music".as_slice().into())
        .unwrap();
    let y = t
        .create("/by/year/1959/", "kind.txt", b"blue".as_slice().into())
        .unwrap();
    let f = t
        .create("/files/music/", "notes.md", b"# notes".as_slice().into())
        .unwrap();
    let q = t
        .create("/search/tag:blues/", "q.txt", b"q".as_slice().into())
        .unwrap();
    assert_eq!(j.path, "/tags/jazz/live/set.flac");
    assert_eq!(f.path, "/files/music/notes.md");
    for n in [&a, &j, &y, &f, &q] {
        assert_eq!(n.entry.kind, EntryKind::Doc);
        assert!(n.rev().is_some() && n.entry.mime.is_some() && n.modified().is_some());
    }
    assert_eq!(t.lookup("/tags/jazz/").unwrap().path, "/tags/jazz/");
    assert_eq!(names(&t, "/tags/jazz/"), ["live", "set.flac"]);
    assert_eq!(names(&t, "/by/year/"), ["1959"]);
    assert_eq!(names(&t, "/files/"), ["music"]);
    assert_eq!(names(&t, "/search/tag:blues/"), ["q.txt"]);
    assert!(names(&t, "/recent/").contains(&"q.txt".to_string()));
    let by_id = t.lookup(&format!("/ids/{}", a.id().unwrap())).unwrap();
    assert_eq!(by_id.size(), 5);
    assert!(t.lookup("/search/tag:nothing yet/").unwrap().is_dir());
    let missing = t.lookup("/tags/jazz/nope").unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);

    // xattrs: get, set, list, remove.
    assert_eq!(
        t.get_xattr(&j.id().unwrap(), "user.docgrid.tag").unwrap(),
        Some("jazz\nlive".into())
    );
    t.set_xattr(&j, "user.docgrid.year", b"1959").unwrap();
    assert!(names(&t, "/by/year/1959/").contains(&"set.flac".to_string()));
    let j = t.lookup("/tags/jazz/set.flac").unwrap();
    t.remove_xattr(&j, "user.docgrid.year").unwrap();
    assert!(!names(&t, "/by/year/1959/").contains(&"set.flac".to_string()));
    let err = t.set_xattr(&j, "user.docgrid.size", b"1").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReadOnly, "{err}");

    // Remove takes the innermost metadata; in /all/ it deletes.
    t.remove("/tags/jazz/live/", "set.flac").unwrap();
    assert_eq!(names(&t, "/tags/jazz/"), ["set.flac"]);
    t.remove("/all/", "a.txt").unwrap();
    assert!(!names(&t, "/all/").contains(&"a.txt".to_string()));
    let err = t.remove("/recent/", "q.txt").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReadOnly);

    // Rename across directories moves metadata; within /files/ the path.
    let moved = t
        .rename("/tags/jazz/", "set.flac", "/tags/blues/", "set2.flac")
        .unwrap();
    assert_eq!(moved.path, "/tags/blues/set2.flac");
    assert!(names(&t, "/tags/").contains(&"blues".to_string()));
    t.rename("/files/music/", "notes.md", "/files/music/", "n.md")
        .unwrap();
    assert_eq!(names(&t, "/files/music/"), ["n.md"]);

    // Rename over an existing document: it keeps its id, takes the content.
    let target = t
        .create("/all/", "doc.txt", b"old".as_slice().into())
        .unwrap();
    t.create("/all/", "doc.txt.tmp", b"new!".as_slice().into())
        .unwrap();
    let saved = t
        .rename("/all/", "doc.txt.tmp", "/all/", "doc.txt")
        .unwrap();
    assert_eq!(saved.id(), target.id());
    assert_eq!(t.read_at(&saved.id().unwrap(), 0, 100).unwrap(), b"new!");
    assert!(!names(&t, "/all/").contains(&"doc.txt.tmp".to_string()));

    // replace_content keeps id and metadata.
    let again = t
        .replace_content(&saved, b"newer".as_slice().into())
        .unwrap();
    assert_eq!(again.id(), target.id());
    assert_eq!(again.size(), 5);

    // mkdir / rmdir: tags and /files/ directories; used tags refuse.
    t.mkdir("/tags/empty/").unwrap();
    assert!(names(&t, "/tags/").contains(&"empty".to_string()));
    t.rmdir("/tags/empty/").unwrap();
    assert!(!names(&t, "/tags/").contains(&"empty".to_string()));
    let err = t.rmdir("/tags/blues/").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotEmpty, "{err}");
    t.mkdir("/files/papers/2026/").unwrap();
    assert_eq!(names(&t, "/files/papers/"), ["2026"]);
    let err = t.mkdir("/all/").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exists);
    let err = t.create("/by/", "x", Content::Bytes(vec![])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReadOnly);
}

#[test]
fn clashing_names_are_disambiguated_and_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let t = tree(&s);
    let one = t
        .create("/tags/x/", "same.txt", b"1".as_slice().into())
        .unwrap();
    let two = t
        .create("/tags/x/", "same.txt", b"2".as_slice().into())
        .unwrap();
    // Both names changed once they clashed: each resolves to its document.
    let l = t.list("/tags/x/").unwrap();
    let shown: Vec<_> = l.entries().iter().map(|e| (e.name.clone(), e.id)).collect();
    assert_eq!(shown.len(), 2);
    for (name, id) in shown {
        assert!(rules::parse_disambiguated(&name).is_some(), "{name}");
        assert_eq!(t.lookup(&format!("/tags/x/{name}")).unwrap().id(), id);
    }
    let ids: Vec<_> = l.entries().iter().map(|e| e.id).collect();
    assert!(ids.contains(&one.id()) && ids.contains(&two.id()));
    assert_eq!(t.lookup(&one.path).unwrap_err().kind(), ErrorKind::NotFound);
}

/// The documents and extras the server holds, as core's reference
/// executor takes them.
fn corpus(t: &Tree) -> Vec<DocView> {
    t.list("/all/")
        .unwrap()
        .entries()
        .iter()
        .filter_map(|e| e.id)
        .map(|id| {
            let d = t.client().doc(&id).unwrap();
            DocView {
                id,
                name: d.name.clone(),
                meta: d.meta.clone(),
                rev: d.rev,
            }
        })
        .collect()
}

/// Every directory a listing of `corpus` reaches from the fixed ones, a
/// couple of levels deep.
fn paths_to_compare(t: &Tree) -> Vec<String> {
    let mut out = vec![
        "/".to_string(),
        "/all/".into(),
        "/tags/".into(),
        "/by/".into(),
        "/files/".into(),
        "/recent/".into(),
    ];
    let mut i = 0;
    while i < out.len() && out.len() < 200 {
        let path = out[i].clone();
        i += 1;
        if path == "/" || path.matches('/').count() > 5 {
            continue;
        }
        for e in t.list(&path).unwrap().entries() {
            if e.kind == EntryKind::Dir {
                let child = rules::parse_dir(&path).unwrap().child(&e.name).unwrap();
                out.push(child.to_path());
            }
        }
    }
    out
}

#[derive(Debug, Clone)]
enum Step {
    Create(usize, usize),
    Remove(usize, usize),
    Rename(usize, usize, usize, usize),
    Mkdir(usize),
    Rmdir(usize),
    Xattr(usize, usize),
}

const DIRS: &[&str] = &[
    "/all/",
    "/tags/jazz/",
    "/tags/jazz/live/",
    "/tags/blues/",
    "/by/year/1959/",
    "/by/year/1960/tag/jazz/",
    "/files/",
    "/files/music/",
    "/files/music/jazz/",
    "/search/tag:blues/",
];
const NAMES: &[&str] = &["a.txt", "b.txt", "live", "a.txt", "so what.flac"];
const TAGS: &[&str] = &["jazz", "empty", "blues", "new"];

fn step() -> impl Strategy<Value = Step> {
    let d = 0..DIRS.len();
    let n = 0..NAMES.len();
    prop_oneof![
        3 => (d.clone(), n.clone()).prop_map(|(d, n)| Step::Create(d, n)),
        1 => (d.clone(), 0..8usize).prop_map(|(d, i)| Step::Remove(d, i)),
        2 => (d.clone(), 0..8usize, d.clone(), n.clone())
            .prop_map(|(a, i, b, n)| Step::Rename(a, i, b, n)),
        1 => (0..TAGS.len()).prop_map(Step::Mkdir),
        1 => (0..TAGS.len()).prop_map(Step::Rmdir),
        1 => (0..8usize, 0..3usize).prop_map(|(i, v)| Step::Xattr(i, v)),
    ]
}

/// The `i`-th document entry of `dir`, if any.
fn nth_doc(t: &Tree, dir: &str, i: usize) -> Option<String> {
    let l = t.list(dir).ok()?;
    let docs: Vec<_> = l
        .entries()
        .iter()
        .filter(|e| e.kind == EntryKind::Doc)
        .collect();
    (!docs.is_empty()).then(|| docs[i % docs.len()].name.clone())
}

/// Runs one step; refusals by the rules are fine (nothing is applied).
fn run(t: &Tree, step: &Step, extras: &mut Extras) {
    let r: Result<(), ClientError> = match *step {
        Step::Create(d, n) => t
            .create(
                DIRS[d],
                NAMES[n],
                Content::Bytes(NAMES[n].as_bytes().to_vec()),
            )
            .map(drop),
        Step::Remove(d, i) => match nth_doc(t, DIRS[d], i) {
            Some(name) => t.remove(DIRS[d], &name).map(drop),
            None => Ok(()),
        },
        Step::Rename(a, i, b, n) => match nth_doc(t, DIRS[a], i) {
            Some(name) => t.rename(DIRS[a], &name, DIRS[b], NAMES[n]).map(drop),
            None => Ok(()),
        },
        Step::Mkdir(k) => t.mkdir(&format!("/tags/{}/", TAGS[k])).map(|_| {
            extras.tags.insert(TAGS[k].to_string());
        }),
        Step::Rmdir(k) => t.rmdir(&format!("/tags/{}/", TAGS[k])).map(|_| {
            extras.tags.remove(TAGS[k]);
        }),
        Step::Xattr(i, v) => match nth_doc(t, "/all/", i) {
            Some(name) => {
                let node = t.lookup(&format!("/all/{name}")).unwrap();
                let value = ["jazz", "blues\njazz", ""][v];
                t.set_xattr(&node, "user.docgrid.tag", value.as_bytes())
                    .map(drop)
            }
            None => Ok(()),
        },
    };
    if let Err(e) = r {
        assert!(
            matches!(
                e.kind(),
                ErrorKind::ReadOnly | ErrorKind::NotEmpty | ErrorKind::Invalid | ErrorKind::IsDir
            ),
            "{step:?}: unexpected {e}"
        );
    }
}

/// Compares every reachable listing with `list_naive` over the same
/// documents.
fn compare_with_naive(t: &Tree, extras: &Extras) {
    t.invalidate_all();
    let docs = corpus(t);
    for path in paths_to_compare(t) {
        let listing = rules::parse_dir(&path).unwrap().listing();
        let Some(expected) = rules::list_naive(&listing, &docs, extras) else {
            continue;
        };
        let got: Vec<(String, Option<docgrid_core::DocId>)> = t
            .list(&path)
            .unwrap()
            .entries()
            .iter()
            .map(|e| (e.name.clone(), e.id))
            .collect();
        let want: Vec<_> = expected.into_iter().map(|e| (e.name, e.doc)).collect();
        assert_eq!(got, want, "listing of {path}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 50, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_list_like_the_reference(steps in prop::collection::vec(step(), 10..30)) {
        let dir = tempfile::tempdir().unwrap();
        let s = Server::create(dir.path());
        let t = tree(&s);
        let mut extras = Extras::default();
        for st in &steps {
            run(&t, st, &mut extras);
        }
        compare_with_naive(&t, &extras);
    }
}

#[test]
fn read_at_random_ranges_of_a_50_mib_document() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let t = tree(&s);
    let data = bytes(50 << 20, 7);
    let node = t
        .create("/all/", "big.bin", Content::Bytes(data.clone()))
        .unwrap();
    let id = node.id().unwrap();
    // Cold, through a tree that has never seen it: 4 KiB costs the
    // manifest and the chunk (or two) under it, not the document.
    let cold = tree(&s);
    let before = s.requests();
    assert_eq!(
        cold.read_at(&id, 30 << 20, 4096).unwrap(),
        &data[30 << 20..(30 << 20) + 4096]
    );
    assert!(
        s.requests() - before <= 3,
        "{} requests",
        s.requests() - before
    );
    t.follow_changes();
    let start = Instant::now();
    while !t.is_live() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut rng = 0x9e3779b97f4a7c15u64;
    for _ in 0..40 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let off = (rng % (data.len() as u64 + 1000)) as usize;
        let len = (rng >> 40) as usize % (3 << 20);
        let want = &data[off.min(data.len())..(off + len).min(data.len())];
        assert_eq!(
            t.read_at(&id, off as u64, len).unwrap(),
            want,
            "{off}+{len}"
        );
        let again = s.requests();
        assert_eq!(t.read_at(&id, off as u64, len).unwrap(), want);
        assert_eq!(
            s.requests(),
            again,
            "the second read of {off}+{len} asked the server"
        );
    }
}

#[test]
fn a_stale_base_write_returns_the_typed_conflict_and_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let (a, b) = (tree(&s), tree(&s));
    let created = a
        .create("/all/", "shared.txt", b"x".as_slice().into())
        .unwrap();
    let seen_by_b = b.lookup("/all/shared.txt").unwrap();
    a.set_xattr(&created, "user.docgrid.owner", b"alice")
        .unwrap();
    let err = b
        .set_xattr(&seen_by_b, "user.docgrid.owner", b"bob")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let c = &err.conflicts()[0];
    assert_eq!(c.id, created.id().unwrap());
    assert_eq!(c.name, "shared.txt");
    assert!(err.to_string().contains("shared.txt"), "{err}");
    let err = b
        .rename("/all/", "shared.txt", "/tags/t/", "moved.txt")
        .unwrap_err();
    // b's cached listing still has the old revision: the same conflict.
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let doc = s.client().doc(&created.id().unwrap()).unwrap();
    assert_eq!(doc.meta["owner"], ["alice"]);
    assert!(!doc.meta.contains_key("tag"));
    assert_eq!(doc.name, "shared.txt");
}

const WRITER_URL: &str = "DOCGRID_TEST_WRITER_URL";
const WRITER_TOKEN: &str = "DOCGRID_TEST_WRITER_TOKEN";

/// Not a test on its own: the writer process of
/// `another_process_write_reaches_the_cached_listing_and_its_subscriber`.
#[test]
fn tree_writer_process() {
    let (Ok(url), Ok(token)) = (std::env::var(WRITER_URL), std::env::var(WRITER_TOKEN)) else {
        return;
    };
    let client =
        docgrid_client::Client::new(&[url], &token, docgrid_client::ClientOptions::default())
            .unwrap();
    let t = Tree::new(client);
    let n = t
        .create("/tags/jazz/", "from-the-other.txt", b"hi".as_slice().into())
        .unwrap();
    println!("WROTE rev={}", n.rev().unwrap());
}

#[test]
fn another_process_write_reaches_the_cached_listing_and_its_subscriber() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::create(dir.path());
    let t = tree(&s);
    t.create("/tags/jazz/", "first.txt", b"1".as_slice().into())
        .unwrap();
    t.follow_changes();
    let start = Instant::now();
    while !t.is_live() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let changes = t.subscribe();
    assert_eq!(names(&t, "/tags/jazz/"), ["first.txt"]);
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "tree_writer_process", "--nocapture"])
        .env(WRITER_URL, &s.url)
        .env(WRITER_TOKEN, &s.token)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let committed = Instant::now();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("WROTE"), "{stdout}");
    let change = changes
        .recv_timeout(Duration::from_secs(1))
        .expect("told of the change within a second of the commit");
    assert!(
        change.paths.contains(&"/tags/jazz/".to_string()),
        "{change:?}"
    );
    assert_eq!(
        change.names.get("/tags/jazz/"),
        Some(&vec!["from-the-other.txt".to_string()]),
        "only the name the commit added changed: {change:?}"
    );
    assert!(committed.elapsed() < Duration::from_secs(1));
    let before = s.requests();
    assert_eq!(
        names(&t, "/tags/jazz/"),
        ["first.txt", "from-the-other.txt"]
    );
    assert_eq!(
        s.requests(),
        before,
        "the cached listing was already current"
    );
}

#[test]
fn the_client_library_links_no_server_or_argument_parser() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "docgrid-client",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deps = String::from_utf8_lossy(&out.stdout);
    for forbidden in ["axum ", "clap ", "docgrid-server ", "docgrid-proxy "] {
        assert!(
            !deps.lines().any(|l| l.starts_with(forbidden)),
            "docgrid-client pulls in {forbidden}"
        );
    }
    assert!(deps.lines().any(|l| l.starts_with("reqwest ")), "{deps}");
}
