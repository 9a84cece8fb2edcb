//! Issue "[2/8] The CLI as an svn user expects it": one test per item seen,
//! each against a real server, driving the real binary.

use std::path::{Path, PathBuf};

mod common;

use common::Env;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Imports `files` (relative path, text) as `/files/proj/…` and returns
/// the home directory.
fn project(env: &Env, files: &[(&str, &str)]) -> PathBuf {
    let h = env.home.path().to_path_buf();
    let src = h.join("src").join("proj");
    for (rel, text) in files {
        write(&src.join(rel), text);
    }
    env.ok(&["import", src.to_str().unwrap(), "--tag", "proj", "-q"]);
    h
}

fn err_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn commit_commits_only_its_targets_and_without_m_opens_the_editor() {
    let env = Env::new();
    let h = project(&env, &[("a.txt", "a\n"), ("b.txt", "b\n")]);
    env.ok(&["checkout", "/files/proj", "wc"]);
    let wc = h.join("wc");
    write(&wc.join("a.txt"), "a2\n");
    write(&wc.join("b.txt"), "b2\n");
    let out = env.ok_in(&wc, &["commit", "-m", "only a", "a.txt"]);
    assert!(
        out.contains("Sending        a.txt") && !out.contains("b.txt"),
        "{out}"
    );
    assert_eq!(env.ok_in(&wc, &["status"]), "M       b.txt\n");
    assert_eq!(env.ok(&["cat", "/files/proj/b.txt"]), "b\n");

    // No -m: the editor gets the status list under svn's marker line.
    let editor = h.join("editor.sh");
    write(
        &editor,
        "#!/bin/sh\ngrep -q '^M       b.txt' \"$1\" && grep -q 'will be ignored--' \"$1\" \
         && sed -i '1s/^/from the editor/' \"$1\"\n",
    );
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&editor)
        .status()
        .unwrap();
    let out = env
        .cmd(&wc, &["commit"])
        .env("DOCGRID_EDITOR", &editor)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", err_of(&out));
    assert!(env.ok(&["log", "-l", "1"]).contains("\nfrom the editor\n"));
    assert_eq!(env.ok_in(&wc, &["status"]), "");

    // An empty message aborts and commits nothing.
    write(&wc.join("a.txt"), "a3\n");
    let rev = env.app.rev();
    let out = env
        .cmd(&wc, &["commit"])
        .env("DOCGRID_EDITOR", "true")
        .env_remove("EDITOR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(err_of(&out).contains("aborted"), "{}", err_of(&out));
    assert_eq!(env.app.rev(), rev);
    assert_eq!(env.ok_in(&wc, &["status"]), "M       a.txt\n");
}

#[test]
fn export_is_recursive_exports_one_document_and_fails_when_it_writes_nothing() {
    let env = Env::new();
    let h = project(
        &env,
        &[
            ("top.txt", "t\n"),
            ("sub/deep/x.txt", "x\n"),
            ("sub/README.gz", "gz\n"),
        ],
    );
    let all = h.join("all");
    env.ok(&["export", "/files/proj", all.to_str().unwrap()]);
    assert_eq!(read(&all.join("sub/deep/x.txt")), "x\n");
    assert_eq!(read(&all.join("top.txt")), "t\n");

    let one = h.join("one");
    std::fs::create_dir(&one).unwrap();
    env.ok(&["export", "/files/proj/sub/README.gz", one.to_str().unwrap()]);
    assert_eq!(read(&one.join("README.gz")), "gz\n");

    let top = h.join("top");
    env.ok(&[
        "export",
        "--depth",
        "files",
        "/files/proj",
        top.to_str().unwrap(),
    ]);
    assert!(top.join("top.txt").exists() && !top.join("sub").exists());

    env.ok(&["mkdir", "/files/empty"]);
    let out = env.run(&["export", "/files/empty", h.join("e").to_str().unwrap()]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err_of(&out).contains("nothing to export"),
        "{}",
        err_of(&out)
    );

    // -r is a revision, as everywhere.
    let first = env.app.rev();
    env.ok(&["tag", "/files/proj/top.txt", "x"]);
    let wc = h.join("wc");
    env.ok(&["checkout", "/files/proj", wc.to_str().unwrap()]);
    write(&wc.join("top.txt"), "t2\n");
    env.ok_in(&wc, &["commit", "-m", "t2"]);
    let old = h.join("old");
    env.ok(&[
        "export",
        "-r",
        &first.to_string(),
        "/files/proj",
        old.to_str().unwrap(),
    ]);
    assert_eq!(read(&old.join("top.txt")), "t\n");
}

#[test]
fn update_brings_renames_deletions_and_additions_from_another_working_copy() {
    let env = Env::new();
    let h = project(
        &env,
        &[("plan.txt", "p\n"), ("old.txt", "o\n"), ("keep.txt", "k\n")],
    );
    env.ok(&["checkout", "/files/proj", "a"]);
    env.ok(&["checkout", "/files/proj", "b"]);
    let (a, b) = (h.join("a"), h.join("b"));
    env.ok_in(&a, &["mv", "plan.txt", "plan-v2.txt"]);
    env.ok_in(&a, &["rm", "old.txt"]);
    write(&a.join("new.txt"), "n\n");
    env.ok_in(&a, &["add", "new.txt"]);
    env.ok_in(&a, &["commit", "-m", "reshape"]);
    let up = env.ok_in(&b, &["update"]);
    for line in [
        "A    new.txt",
        "D    old.txt",
        "A    plan-v2.txt",
        "D    plan.txt",
    ] {
        assert!(up.contains(&format!("{line}\n")), "{line}: {up}");
    }
    assert!(up.contains("Updated to revision"), "{up}");
    let mut names: Vec<String> = std::fs::read_dir(&b)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != ".docgrid")
        .collect();
    names.sort();
    assert_eq!(names, ["keep.txt", "new.txt", "plan-v2.txt"]);
    assert_eq!(env.ok_in(&b, &["status"]), "");

    // Many revisions behind, update lists instead of asking each revision.
    env.ok_in(&a, &["update"]);
    env.ok_in(&a, &["mv", "new.txt", "newer.txt"]);
    env.ok_in(&a, &["commit", "-m", "newer"]);
    for i in 0..25 {
        env.ok(&["propset", "n", &i.to_string(), "/files/proj/keep.txt"]);
    }
    let up = env.ok_in(&b, &["update"]);
    for line in ["A    newer.txt", "D    new.txt", " U   keep.txt"] {
        assert!(up.contains(&format!("{line}\n")), "{line}: {up}");
    }
    assert_eq!(env.ok_in(&b, &["propget", "n", "keep.txt"]), "24\n");
}

#[test]
fn a_no_op_update_sends_one_request() {
    let env = Env::new();
    let files: Vec<(String, String)> = (0..200)
        .map(|i| (format!("d{}/f{i}.txt", i % 5), format!("{i}\n")))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let h = project(&env, &refs);
    env.ok(&["checkout", "/files/proj", "wc"]);
    let before = env
        .app
        .counters()
        .requests
        .load(std::sync::atomic::Ordering::SeqCst);
    let up = env.ok_in(&h.join("wc"), &["update"]);
    let after = env
        .app
        .counters()
        .requests
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(up.starts_with("Updating '.':\nAt revision "), "{up}");
    assert_eq!(after - before, 1, "one request for a working copy at HEAD");
}

#[test]
fn working_copy_paths_work_for_every_verb_and_bare_info_shows_the_working_copy() {
    let env = Env::new();
    let h = project(&env, &[("plan.txt", "plan\n")]);
    env.ok(&["checkout", "/files/proj", "wc"]);
    let wc = h.join("wc");
    env.ok_in(&wc, &["propset", "year", "1959", "plan.txt"]);
    assert_eq!(env.ok_in(&wc, &["propget", "year", "plan.txt"]), "1959\n");
    assert!(
        env.ok_in(&wc, &["proplist", "plan.txt"])
            .contains("  year\n")
    );
    env.ok_in(&wc, &["commit", "-m", "year"]);
    assert_eq!(env.ok_in(&wc, &["cat", "plan.txt"]), "plan\n");
    let info = env.ok_in(&wc, &["info", "plan.txt"]);
    assert!(
        info.contains("Tree Path: /files/proj/plan.txt") && info.contains("Schedule: normal"),
        "{info}"
    );
    assert!(
        env.ok_in(&wc, &["log", "plan.txt"])
            .contains("| 1 line\n\nyear\n")
    );
    assert_eq!(env.ok_in(&wc, &["ls", "plan.txt"]), "plan.txt\n");
    env.ok_in(&wc, &["tag", "plan.txt", "urgent"]);
    assert_eq!(env.ok_in(&wc, &["status"]), " M      plan.txt\n");
    let info = env.ok_in(&wc, &["info"]);
    let rev = env.app.rev();
    for want in [
        "Tree Path: /files/proj/".to_string(),
        format!("Server: {}", env.url),
        format!("Revision: {rev}"),
        "Node Kind: directory".to_string(),
    ] {
        assert!(info.contains(&want), "{want}: {info}");
    }
}

#[test]
fn search_tells_hits_apart_and_help_documents_the_query_language() {
    let env = Env::new();
    let h = env.home.path();
    write(&h.join("src/a/README"), "alpha\n");
    write(&h.join("src/b/README"), "beta\n");
    env.ok(&[
        "import",
        h.join("src/a").to_str().unwrap(),
        h.join("src/b").to_str().unwrap(),
        "--tag",
        "docs",
    ]);
    let out = env.ok(&["search", "name:README"]);
    assert!(out.contains("/files/a/README  6 bytes  [docs]"), "{out}");
    assert!(out.contains("/files/b/README  5 bytes  [docs]"), "{out}");
    let help = env.ok(&["help", "search"]);
    assert!(
        help.contains("Query language:") && help.contains("year>=1960"),
        "{help}"
    );
    assert!(env.ok(&["man", "search"]).contains("Query language"));
    assert!(
        env.ok(&["search", "--json", "--", "-tag:docs"])
            .contains("\"total\": 0")
    );
}

#[test]
fn an_ascii_slash_in_a_value_finds_the_division_slash_directory() {
    let env = Env::new();
    project(&env, &[("note.txt", "text\n")]);
    assert!(env.ok(&["ls", "/by/mime/"]).contains("text∕plain/"));
    let ls = env.ok(&["ls", "/by/mime/text/plain/"]);
    assert!(ls.ends_with("/\nnote.txt\n"), "{ls}");
    assert!(env.ok(&["help", "ls"]).contains("(/by/mime/text/plain/)"));
    let out = env.run(&["cat", "/ids/7ptcwrmm0hyf5ayk2mrwep20fe"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(err_of(&out).contains("docgrid ls /all"), "{}", err_of(&out));
}

#[test]
fn log_has_svn_s_forms() {
    let env = Env::new();
    let h = project(&env, &[("plan.txt", "1\n")]);
    env.ok(&["checkout", "/files/proj", "wc"]);
    let wc = h.join("wc");
    for i in 2..=4 {
        write(&wc.join("plan.txt"), &format!("{i}\n"));
        env.ok_in(&wc, &["commit", "-m", &format!("edit {i}")]);
    }
    let one = env.ok(&["log", "-r", "2"]);
    assert!(
        one.contains("r2 | ") && one.contains("\nedit 2\n") && !one.contains('{'),
        "{one}"
    );
    let range = env.ok(&["log", "-r", "2:3"]);
    assert!(
        range.find("r2 |").unwrap() < range.find("r3 |").unwrap(),
        "{range}"
    );
    assert!(env.ok(&["log", "-r", "HEAD"]).contains("r4 |"));
    assert!(
        env.ok_in(&wc, &["log", "-r", "PREV", "plan.txt"])
            .contains("r3 |")
    );
    assert!(
        env.ok_in(&wc, &["log", "-r", "BASE", "plan.txt"])
            .contains("r4 |")
    );
    let v = env.ok(&["log", "-v", "-r", "1"]);
    assert!(
        v.contains("Changed paths:\n   A /files/proj/plan.txt\n"),
        "{v}"
    );
    let l = env.ok(&["log", "-l", "2"]);
    assert_eq!(l.matches(" | ").count(), 6, "two entries: {l}");
    let file_log = env.ok(&["log", "/files/proj/plan.txt"]);
    assert_eq!(file_log.matches("\nr").count(), 4, "{file_log}");
}

#[test]
fn status_columns_match_svn_and_conflicts_use_svn_s_files() {
    let env = Env::new();
    let h = project(&env, &[("c.txt", "base\n"), ("m.txt", "m\n")]);
    env.ok(&["checkout", "/files/proj", "a"]);
    env.ok(&["checkout", "/files/proj", "b"]);
    let (a, b) = (h.join("a"), h.join("b"));
    write(&b.join("m.txt"), "m2\n");
    write(&b.join("u.txt"), "?\n");
    let st = env.ok_in(&b, &["status"]);
    let names: Vec<&str> = st.lines().map(|l| &l[8..]).collect();
    assert_eq!(names, ["m.txt", "u.txt"], "cut -c9- gives the paths: {st}");
    assert_eq!(st, "M       m.txt\n?       u.txt\n");
    let rev = env.app.rev();
    write(&a.join("c.txt"), "theirs\n");
    env.ok_in(&a, &["commit", "-m", "theirs"]);
    write(&b.join("c.txt"), "mine\n");
    let up = env.ok_in(&b, &["update"]);
    assert!(up.contains("C    c.txt\n"), "{up}");
    assert!(
        up.ends_with("Summary of conflicts:\n  Text conflicts: 1\n"),
        "{up}"
    );
    for f in [
        "c.txt.mine".to_string(),
        format!("c.txt.r{rev}"),
        format!("c.txt.r{}", rev + 1),
    ] {
        assert!(b.join(&f).exists(), "{f}");
    }
    let text = read(&b.join("c.txt"));
    assert!(
        text.starts_with("<<<<<<< .mine\nmine\n||||||| .r"),
        "{text}"
    );
    assert!(env.ok_in(&b, &["status"]).contains("C       c.txt\n"));
}

#[test]
fn add_dir_is_recursive_revert_takes_r_and_dot_and_svn_aliases_work() {
    let env = Env::new();
    let h = project(&env, &[("a.txt", "a\n"), ("sub/in.txt", "i\n")]);
    env.ok(&["co", "/files/proj", "wc"]);
    let wc = h.join("wc");
    write(&wc.join("new/deep/x.txt"), "x\n");
    let out = env.ok_in(&wc, &["add", "new"]);
    assert_eq!(
        out,
        "A         new\nA         new/deep\nA         new/deep/x.txt\n"
    );
    write(&wc.join("sub/inner.txt"), "n\n");
    assert_eq!(
        env.ok_in(&wc, &["add", "sub/inner.txt"]),
        "A         sub/inner.txt\n"
    );
    env.ok_in(&wc, &["ci", "-m", "adds"]);
    assert_eq!(env.ok(&["cat", "/files/proj/new/deep/x.txt"]), "x\n");
    let again = env.run_in(&wc, &["add", "a.txt"]);
    assert_eq!(again.status.code(), Some(1), "already versioned");

    write(&wc.join("a.txt"), "changed\n");
    write(&wc.join("sub/in.txt"), "changed\n");
    assert_eq!(
        env.ok_in(&wc, &["revert", "."]),
        "",
        "no -R: nothing, as svn"
    );
    assert!(env.ok_in(&wc, &["di"]).contains("+changed"));
    assert_eq!(env.ok_in(&wc, &["stat"]).lines().count(), 2);
    let out = env.ok_in(&wc, &["revert", "-R", "."]);
    assert_eq!(out, "Reverted 'a.txt'\nReverted 'sub/in.txt'\n");
    assert_eq!(read(&wc.join("a.txt")), "a\n");
    env.ok_in(&wc, &["ps", "k", "v", "a.txt"]);
    assert_eq!(env.ok_in(&wc, &["pg", "k", "a.txt"]), "v\n");
    assert!(env.ok_in(&wc, &["pl", "a.txt"]).contains("  k\n"));
    env.ok_in(&wc, &["pd", "k", "a.txt"]);
    assert_eq!(env.ok_in(&wc, &["st"]), "");
    let cp = env.run_in(&wc, &["cp", "a.txt", "b.txt"]);
    assert_eq!(cp.status.code(), Some(7));
    assert!(err_of(&cp).contains("no copies") && err_of(&cp).contains("docgrid tag"));
}

#[test]
fn a_server_without_a_scheme_works_and_man_pages_are_real() {
    let env = Env::new();
    let bare = env.url.trim_start_matches("http://").to_string();
    let out = env
        .cmd(env.home.path(), &["--server", &bare, "ls", "/"])
        .env_remove("DOCGRID_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", err_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("tags/"));
    assert!(env.ok(&["man"]).contains(".TH docgrid 1"));
    assert!(env.ok(&["man", "commit"]).contains(".TH docgrid-commit 1"));
    let dir = env.home.path().join("man1");
    env.ok(&["man", "--dir", dir.to_str().unwrap()]);
    assert!(dir.join("docgrid.1").exists() && dir.join("docgrid-commit.1").exists());
}

#[test]
fn a_rename_shows_the_new_name_in_every_view() {
    let env = Env::new();
    project(&env, &[("notes.txt", "n\n")]);
    env.ok(&["mv", "/tags/proj/notes.txt", "notes-renamed.txt"]);
    assert_eq!(env.ok(&["ls", "/files/proj/"]), "notes-renamed.txt\n");
    assert_eq!(env.ok(&["ls", "/tags/proj/"]), "notes-renamed.txt\n");
    assert!(env.ok(&["ls", "/all/"]).contains("notes-renamed.txt"));
    assert_eq!(
        env.ok(&["propget", "path", "/all/notes-renamed.txt"]),
        "proj/notes-renamed.txt\n"
    );
}

#[test]
fn re_import_skips_unchanged_updates_changed_and_says_so() {
    let env = Env::new();
    let h = project(
        &env,
        &[("a.txt", "a\n"), ("pic.png", "png\n"), ("sub/c.txt", "c\n")],
    );
    write(&h.join("src/proj/a.txt"), "a changed\n");
    write(&h.join("src/proj/d.txt"), "new\n");
    let out = env.run(&["import", h.join("src/proj").to_str().unwrap()]);
    assert!(out.status.success(), "{}", err_of(&out));
    let err = err_of(&out);
    assert!(err.contains("1 new, 1 updated, 2 unchanged"), "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Updating       proj/a.txt")
            && stdout.contains("Adding         proj/d.txt"),
        "{stdout}"
    );
    let all = env.ok(&["ls", "/all/"]);
    assert!(!all.contains('~'), "no duplicates: {all}");
    assert_eq!(all.lines().count(), 4, "{all}");
    assert_eq!(env.ok(&["cat", "/files/proj/a.txt"]), "a changed\n");
    assert!(
        env.ok(&["ls", "/tags/proj/"]).contains("a.txt"),
        "the document kept its tags"
    );
}

#[test]
fn an_unreachable_server_is_not_reported_as_a_missing_path() {
    let env = Env::new();
    let out = env
        .cmd(
            env.home.path(),
            &["--server", "http://127.0.0.1:9", "ls", "/files/x/"],
        )
        .env_remove("DOCGRID_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", err_of(&out));
    assert!(!err_of(&out).contains("does not exist"), "{}", err_of(&out));
}
