//! The repository-side verbs of `docgrid` against a real server.

mod common;

use common::{Env, same_tree, write};

#[test]
fn import_list_read_tag_set_search_and_export() {
    let env = Env::new();
    let src = env.home.path().join("src").join("tree");
    write(
        &src.join("notes/Über café.txt"),
        "kind of blue\n".as_bytes(),
    );
    write(&src.join("notes/empty.txt"), b"");
    write(
        &src.join("big/data.bin"),
        &docgrid_core::store::conformance::test_bytes(3 << 20, 9),
    );
    std::os::unix::fs::symlink(src.join("notes/empty.txt"), src.join("link.txt")).unwrap();

    let out = env.run(&["import", src.to_str().unwrap(), "--tag", "jazz", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("imported 3 file(s)"), "{err}");
    assert!(
        err.contains("skipped symbolic link"),
        "says which links it skipped: {err}"
    );
    let ids: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids.len(), 3);

    let ls = env.ok(&["ls", "/files/tree/notes"]);
    assert!(
        ls.contains("Über café.txt") && ls.contains("empty.txt"),
        "{ls}"
    );
    let listing: docgrid_core::api::TreeListing =
        serde_json::from_str(&env.ok(&["ls", "/tags/jazz", "--json"])).unwrap();
    assert!(listing.entries.iter().any(|e| e.name == "data.bin"));
    assert_eq!(
        env.ok(&["cat", "/files/tree/notes/Über café.txt"]),
        "kind of blue\n"
    );

    env.ok(&["propset", "year", "1959", "/files/tree/notes/Über café.txt"]);
    let hits: docgrid_core::api::SearchResponse =
        serde_json::from_str(&env.ok(&["search", "year:1959", "--json"])).unwrap();
    assert_eq!(hits.total, 1);
    assert!(env.ok(&["ls", "/by/year/1959"]).contains("Über café.txt"));
    assert_eq!(
        env.ok(&["propget", "year", "/by/year/1959/Über café.txt"]),
        "1959\n"
    );
    env.ok(&["untag", "/files/tree/big/data.bin", "jazz"]);
    assert!(!env.ok(&["ls", "/tags/jazz"]).contains("data.bin"));
    assert!(
        env.ok(&["ls", "/all"]).contains("data.bin"),
        "untagged, not deleted"
    );

    let back = env.home.path().join("back");
    env.ok(&["export", "/files/tree", back.to_str().unwrap()]);
    std::fs::remove_file(src.join("link.txt")).unwrap();
    same_tree(&src, &back);

    // Importing again sends nothing new.
    std::fs::remove_dir_all(&back).unwrap();
    let out = env.run(&["import", src.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0 new, 0 updated, 3 unchanged"), "{err}");

    let log: Vec<serde_json::Value> = serde_json::from_str(&env.ok(&["log", "--json"])).unwrap();
    assert!(
        log.len() >= 3 && log[0]["rev"].as_u64() > log[1]["rev"].as_u64(),
        "newest first"
    );
}

#[test]
fn errors_go_to_stderr_with_a_non_zero_exit() {
    let env = Env::new();
    let out = env.run(&["cat", "/all/nothing.txt"]);
    assert_eq!(out.status.code(), Some(3), "not found exits 3");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no entry \"nothing.txt\"") && err.contains("ls /all"),
        "{err}"
    );
    let out = env.run(&["search", "tag:(", "--json"]);
    assert_eq!(out.status.code(), Some(7), "invalid input exits 7");
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad_query"));
    let out = env.run(&["mkdir", "/by/year/"]);
    assert_eq!(out.status.code(), Some(7), "a refusal of the tree exits 7");
    let help = env.ok(&["--help"]);
    assert!(
        help.contains("Exit status:") && help.contains("4  out of date"),
        "{help}"
    );
    let out = env.run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn a_ten_thousand_file_tree_with_a_large_file_exports_identical() {
    let env = Env::new();
    let src = env.home.path().join("src").join("big tree");
    let names = [
        "naïve",
        "日本語",
        "emoji 🎷",
        "plain",
        "spaces and (parens)",
    ];
    for i in 0..10_000u32 {
        let dir = src
            .join(names[i as usize % names.len()])
            .join(format!("d{}", i % 20));
        let body: Vec<u8> = if i % 97 == 0 {
            Vec::new()
        } else {
            format!("file {i} {}\n", names[i as usize % 5])
                .repeat(1 + (i % 7) as usize)
                .into_bytes()
        };
        write(&dir.join(format!("f{i} ü.txt")), &body);
    }
    // 1 GiB: a 1 MiB random block repeated (its chunks dedup, the bytes are all read).
    let block = docgrid_core::store::conformance::test_bytes(1 << 20, 77);
    {
        use std::io::Write as _;
        let mut f = std::io::BufWriter::new(std::fs::File::create(src.join("large.bin")).unwrap());
        for _ in 0..1024 {
            f.write_all(&block).unwrap();
        }
    }
    std::os::unix::fs::symlink(src.join("plain"), src.join("loop")).unwrap();
    let out = env.run(&["import", src.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("imported 10001 file(s)"), "{err}");
    assert!(err.contains("skipped symbolic link"), "{err}");
    let back = env.home.path().join("back");
    env.ok(&["export", "/files/big tree", back.to_str().unwrap()]);
    std::fs::remove_file(src.join("loop")).unwrap();
    same_tree(&src, &back);
}

#[test]
fn ls_into_a_closed_pipe_does_not_panic() {
    let env = Env::new();
    let src = env.home.path().join("many");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..3000 {
        std::fs::write(src.join(format!("note-{i:05}.txt")), "").unwrap();
    }
    env.ok(&["import", src.to_str().unwrap()]);
    // 3,000 lines do not fit the pipe: docgrid writes after head is gone.
    let c = env.cmd(env.home.path(), &["ls", "/all"]);
    let docgrid = c.get_program().to_string_lossy().into_owned();
    let args: Vec<String> = c
        .get_args()
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    let envs: Vec<(String, String)> = c
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_string_lossy().into(), v?.to_string_lossy().into())))
        .collect();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{docgrid}' {} | head -1",
            args.join(" ")
        ))
        .envs(envs)
        .current_dir(env.home.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn ls_and_checkout_of_a_path_that_does_not_exist_are_errors() {
    let env = Env::new();
    for args in [
        &["ls", "/files/nonexistent/"][..],
        &["ls", "/tags/nonexistent"],
        &["checkout", "/tags/nonexistent", "cox"],
    ] {
        let out = env.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(
            err.contains("does not exist") && err.contains("docgrid ls /"),
            "{err}"
        );
    }
    assert!(!env.home.path().join("cox").exists());
    // An existing but empty directory is fine, and checks out empty.
    env.ok(&["mkdir", "/tags/empty"]);
    assert_eq!(env.ok(&["ls", "/tags/empty"]), "");
    let out = env.ok(&["checkout", "/tags/empty", "wc"]);
    assert!(out.starts_with("Checked out revision "), "{out}");
}

#[test]
fn search_takes_a_query_starting_with_a_dash() {
    let env = Env::new();
    let out = env.run(&["search", "-tag:draft", "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
}

#[test]
fn import_dry_run_says_what_it_would_do_and_sends_nothing() {
    let env = Env::new();
    let src = env.home.path().join("notes");
    write(&src.join("a.txt"), b"alpha");
    write(&src.join("sub/b.txt"), b"beta");
    env.ok(&["import", src.to_str().unwrap(), "-q"]);
    write(&src.join("a.txt"), b"alpha, changed");
    write(&src.join("sub/c.txt"), b"gamma");
    let before = env.ok(&["log", "--json"]);
    let out = env.run(&["import", src.to_str().unwrap(), "--dry-run", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut seen: Vec<(String, String, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
                r["id"].is_null(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("notes/a.txt".into(), "updated".into(), false),
            ("notes/sub/b.txt".into(), "unchanged".into(), false),
            ("notes/sub/c.txt".into(), "new".into(), true),
        ]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 new, 1 updated, 1 unchanged") && err.contains("nothing was sent"),
        "{err}"
    );
    assert_eq!(env.ok(&["log", "--json"]), before, "no commit");
    assert_eq!(env.ok(&["cat", "/files/notes/a.txt"]), "alpha");
    // The real run does what the dry run said.
    let out = env.run(&["import", src.to_str().unwrap(), "-q"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 new, 1 updated, 1 unchanged"));
}
