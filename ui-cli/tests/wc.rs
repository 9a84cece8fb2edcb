//! Working copies against a real server: conflicts, merges, the tree's
//! write rules, properties.

mod common;

use common::Env;

const TEXT: &str = "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\n";

#[test]
fn two_working_copies_conflict_resolve_and_merge() {
    let env = Env::new();
    let h = env.home.path();
    let src = h.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("plan.txt"), TEXT).unwrap();
    env.ok_in(
        h,
        &[
            "import",
            src.join("plan.txt").to_str().unwrap(),
            "--tag",
            "projects",
        ],
    );

    env.ok_in(h, &["checkout", "/tags/projects", "a"]);
    env.ok_in(h, &["checkout", "/tags/projects", "b"]);
    let (a, b) = (h.join("a"), h.join("b"));
    assert_eq!(std::fs::read_to_string(a.join("plan.txt")).unwrap(), TEXT);
    assert_eq!(env.ok_in(&a, &["status"]), "");

    // Both edit the same line: the second commit is refused as out of date.
    std::fs::write(a.join("plan.txt"), TEXT.replace("line 2", "line 2 by a")).unwrap();
    std::fs::write(b.join("plan.txt"), TEXT.replace("line 2", "line 2 by b")).unwrap();
    assert!(env.ok_in(&a, &["status"]).starts_with("M"));
    assert!(env.ok_in(&a, &["diff"]).contains("+line 2 by a"));
    env.ok_in(&a, &["commit", "-m", "a edits"]);
    let out = env.run_in(&b, &["commit", "-m", "b edits"]);
    assert_eq!(out.status.code(), Some(4), "out of date exits 4");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("out of date") && err.contains("plan.txt") && err.contains("update"),
        "{err}"
    );
    assert_eq!(err.matches("out of date").count(), 1, "said once: {err}");
    // update: a real conflict, both versions kept.
    let up = env.ok_in(&b, &["update"]);
    assert!(up.contains("C    plan.txt"), "{up}");
    let merged = std::fs::read_to_string(b.join("plan.txt")).unwrap();
    assert!(
        merged.contains("line 2 by a") && merged.contains("line 2 by b"),
        "{merged}"
    );
    assert!(b.join("plan.txt.mine").exists());
    assert!(env.ok_in(&b, &["status"]).contains("C"));
    assert_eq!(
        env.run_in(&b, &["commit", "-m", "x"]).status.code(),
        Some(1),
        "no commit while in conflict"
    );
    std::fs::write(
        b.join("plan.txt"),
        TEXT.replace("line 2", "line 2 by a and b"),
    )
    .unwrap();
    env.ok_in(&b, &["resolve", "plan.txt"]);
    assert!(
        env.ok_in(&b, &["commit", "-m", "b resolves"])
            .contains("Committed revision")
    );
    let log = env.ok_in(h, &["log"]);
    assert!(
        log.contains("a edits") && log.contains("b resolves"),
        "{log}"
    );

    // Non-overlapping edits merge cleanly.
    env.ok_in(&a, &["update"]);
    let now = std::fs::read_to_string(a.join("plan.txt")).unwrap();
    std::fs::write(a.join("plan.txt"), now.replace("line 1\n", "line 1 (a)\n")).unwrap();
    std::fs::write(b.join("plan.txt"), now.replace("line 8\n", "line 8 (b)\n")).unwrap();
    env.ok_in(&a, &["commit", "-m", "top"]);
    let up = env.ok_in(&b, &["update"]);
    assert!(up.contains("G    plan.txt"), "{up}");
    let merged = std::fs::read_to_string(b.join("plan.txt")).unwrap();
    assert!(
        merged.contains("line 1 (a)") && merged.contains("line 8 (b)"),
        "{merged}"
    );
    env.ok_in(&b, &["commit", "-m", "bottom"]);
    assert_eq!(env.ok_in(h, &["cat", "/tags/projects/plan.txt"]), merged);

    // update -r goes back to the content of an earlier revision.
    let up = env.ok_in(&a, &["update", "-r", "2"]);
    assert!(
        up.contains("U    plan.txt") && up.contains("revision 2"),
        "{up}"
    );
    assert_eq!(
        std::fs::read_to_string(a.join("plan.txt")).unwrap(),
        TEXT.replace("line 2", "line 2 by a")
    );
    std::fs::write(a.join("plan.txt"), "stale edit\n").unwrap();
    let out = env.run_in(&a, &["commit", "-m", "from the past"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "a commit from an old base is out of date"
    );
    env.ok_in(&a, &["revert", "plan.txt"]);
    env.ok_in(&a, &["update"]);
    assert_eq!(std::fs::read_to_string(a.join("plan.txt")).unwrap(), merged);
}

#[test]
fn adding_to_a_tag_checkout_tags_and_removing_untags() {
    let env = Env::new();
    let h = env.home.path();
    env.ok_in(h, &["mkdir", "/tags/jazz"]);
    env.ok_in(h, &["checkout", "/tags/jazz", "jazz"]);
    let wc = h.join("jazz");
    std::fs::write(wc.join("so-what.txt"), "modal\n").unwrap();
    assert!(env.ok_in(&wc, &["status"]).contains("?"));
    env.ok_in(&wc, &["add", "so-what.txt"]);
    env.ok_in(&wc, &["propset", "year", "1959", "so-what.txt"]);
    env.ok_in(&wc, &["commit", "-m", "add"]);
    assert!(env.ok_in(h, &["ls", "/tags/jazz"]).contains("so-what.txt"));
    assert!(
        env.ok_in(h, &["ls", "/by/year/1959"])
            .contains("so-what.txt")
    );
    let hits = env.ok_in(h, &["search", "year:1959 tag:jazz"]);
    assert!(hits.contains("so-what.txt"), "{hits}");
    // Property change on a checked-out file, shown like svn.
    env.ok_in(&wc, &["propset", "year", "1960", "so-what.txt"]);
    assert!(env.ok_in(&wc, &["status"]).starts_with(" M"));
    let diff = env.ok_in(&wc, &["diff"]);
    assert!(
        diff.contains("Modified: year\n## -1 +1 ##\n-1959\n+1960"),
        "{diff}"
    );
    env.ok_in(&wc, &["revert", "so-what.txt"]);
    assert_eq!(env.ok_in(&wc, &["status"]), "");
    // A rename in the working copy renames the document at commit.
    env.ok_in(&wc, &["mv", "so-what.txt", "so-what (live).txt"]);
    let st = env.ok_in(&wc, &["status"]);
    assert!(
        st.contains("A  +    so-what (live).txt\n        > moved from so-what.txt")
            && st.contains("D       so-what.txt\n        > moved to so-what (live).txt"),
        "{st}"
    );
    env.ok_in(&wc, &["commit", "-m", "rename"]);
    let ls = env.ok_in(h, &["ls", "/tags/jazz"]);
    assert!(
        ls.contains("so-what (live).txt") && !ls.contains(" so-what.txt"),
        "{ls}"
    );
    let rev: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok_in(h, &["log", "-r", "2", "--json"])).unwrap();
    assert_eq!(rev[0]["message"], "add");
    let renamed = "so-what (live).txt";
    // rm in this checkout untags; the document stays in /all.
    env.ok_in(&wc, &["rm", renamed]);
    env.ok_in(&wc, &["commit", "-m", "untag"]);
    assert!(!env.ok_in(h, &["ls", "/tags/jazz"]).contains(renamed));
    assert!(env.ok_in(h, &["ls", "/all"]).contains(renamed));
}

#[test]
fn a_commit_killed_mid_upload_leaves_the_working_copy_consistent() {
    let env = Env::new();
    let h = env.home.path();
    std::fs::write(h.join("big.bin"), b"small at first").unwrap();
    env.ok_in(
        h,
        &[
            "import",
            h.join("big.bin").to_str().unwrap(),
            "--tag",
            "data",
        ],
    );
    env.ok_in(h, &["checkout", "/tags/data", "wc"]);
    let wc = h.join("wc");
    let big = docgrid_core::store::conformance::test_bytes(256 << 20, 5);
    std::fs::write(wc.join("big.bin"), &big).unwrap();
    let before = env
        .app
        .counters()
        .bytes_received
        .load(std::sync::atomic::Ordering::SeqCst);
    let mut child = env.cmd(&wc, &["commit", "-m", "big"]).spawn().unwrap();
    // Kill it once some chunks reached the server, before the commit.
    let started = std::time::Instant::now();
    while env
        .app
        .counters()
        .bytes_received
        .load(std::sync::atomic::Ordering::SeqCst)
        < before + (8 << 20)
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no upload seen"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let rev = env.app.rev();
    assert_eq!(
        env.ok_in(h, &["cat", "/tags/data/big.bin"]),
        "small at first",
        "nothing committed"
    );
    assert!(
        env.ok_in(&wc, &["status"]).starts_with("M"),
        "still modified, state intact"
    );
    assert!(
        env.ok_in(&wc, &["commit", "-m", "big, again"])
            .contains("Committed revision")
    );
    assert_eq!(env.app.rev(), rev + 1);
    let out = env.cmd(h, &["cat", "/tags/data/big.bin"]).output().unwrap();
    assert!(out.stdout == big, "the next commit completed it");
    assert_eq!(env.ok_in(&wc, &["status"]), "");
}

#[test]
fn completions_and_man_page_are_generated() {
    let env = Env::new();
    let h = env.home.path();
    assert!(env.ok_in(h, &["completions", "bash"]).contains("docgrid"));
    assert!(env.ok_in(h, &["man"]).contains(".TH docgrid"));
    let help = env.ok_in(h, &["checkout", "--help"]);
    assert!(help.contains("Example: docgrid checkout"), "{help}");
}
