//! The same working-copy cycle with `svn` on a local `file://` repository
//! and with `docgrid` on a real server, compared as a user sees them:
//! status letters and columns, what `update` prints and leaves on disk
//! (adds, deletes and renames from another working copy, conflict files),
//! and exit codes. Needs Debian's `subversion` (scripts/setup installs
//! it); skipped only with DOCGRID_SKIP_SYSTEM_TESTS=1 set by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::Env;

/// One side of the comparison: how to run its tool.
struct Side<'a> {
    env: &'a Env,
    svn: Option<PathBuf>,
}

/// Exit code and stdout of a command.
type Seen = (Option<i32>, String);

impl Side<'_> {
    fn run(&self, dir: &Path, args: &[&str]) -> Seen {
        let out = match &self.svn {
            Some(cfg) => Command::new("svn")
                .args(args)
                .arg("--non-interactive")
                .arg("--config-dir")
                .arg(cfg)
                .current_dir(dir)
                .env("LC_ALL", "C.UTF-8")
                .output()
                .expect("svn runs (scripts/setup installs subversion)"),
            None => self.env.run_in(dir, args),
        };
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    }

    fn ok(&self, dir: &Path, args: &[&str]) -> String {
        let (code, out) = self.run(dir, args);
        assert_eq!(code, Some(0), "{} {args:?}: {out}", self.name());
        out
    }

    fn name(&self) -> &str {
        if self.svn.is_some() { "svn" } else { "docgrid" }
    }
}

/// The files of a working copy (its metadata directory left out).
fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap();
            if name == ".svn" || name == ".docgrid" {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_str().unwrap().to_string();
                out.insert(rel, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

/// svn prints update lines in the order it works; docgrid by path.
fn sorted(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

const BASE: &str = "one\ntwo\nthree\nfour\nfive\nsix\n";

/// Two working copies `a` and `b` of the same project, for one side.
fn setup(side: &Side, top: &Path) -> (PathBuf, PathBuf) {
    let src = top.join("src").join("proj");
    std::fs::create_dir_all(&src).unwrap();
    for (name, text) in [
        ("plan.txt", "plan\n"),
        ("old.txt", "old\n"),
        ("keep.txt", "keep\n"),
        ("c.txt", BASE),
    ] {
        write(&src.join(name), text);
    }
    let url = match &side.svn {
        Some(_) => {
            let repo = top.join("repo");
            let st = Command::new("svnadmin")
                .arg("create")
                .arg(&repo)
                .status()
                .expect("svnadmin");
            assert!(st.success());
            let url = format!("file://{}/proj", repo.display());
            side.ok(
                top,
                &["import", src.to_str().unwrap(), &url, "-m", "import", "-q"],
            );
            url
        }
        None => {
            side.ok(top, &["import", src.to_str().unwrap(), "-q"]);
            "/files/proj".to_string()
        }
    };
    side.ok(top, &["checkout", &url, "a"]);
    side.ok(top, &["checkout", &url, "b"]);
    (top.join("a"), top.join("b"))
}

/// The cycle; returns what the user saw at each step.
fn cycle(side: &Side, top: &Path) -> Vec<(String, Seen)> {
    let (a, b) = setup(side, top);
    let mut seen = Vec::new();
    let mut step = |what: &str, s: Seen| seen.push((what.to_string(), s));
    write(&a.join("c.txt"), &BASE.replace("two", "two (a)"));
    write(&a.join("new.txt"), "new\n");
    write(&a.join("stray.txt"), "not added\n");
    step("add", side.run(&a, &["add", "new.txt"]));
    step("mv", side.run(&a, &["mv", "plan.txt", "plan-v2.txt"]));
    step("rm", side.run(&a, &["rm", "old.txt"]));
    step(
        "propset",
        side.run(&a, &["propset", "year", "1959", "keep.txt"]),
    );
    step(
        "add versioned",
        side.run(&a, &["add", "keep.txt"])
            .0
            .map_or((None, String::new()), |c| (Some(c), String::new())),
    );
    step("status", side.run(&a, &["status"]));
    step("commit", side.run(&a, &["commit", "-m", "reshape"]));
    std::fs::remove_file(a.join("stray.txt")).unwrap();
    // b edits the same line, then updates: a conflict, and a's reshaping.
    write(&b.join("c.txt"), &BASE.replace("two", "two (b)"));
    let (code, up) = side.run(&b, &["update"]);
    step("update", (code, sorted(&up).join("\n")));
    let mut on_disk = files(&b);
    step(
        "files after update",
        (None, format!("{:?}", on_disk.keys().collect::<Vec<_>>())),
    );
    step(
        "conflicted text",
        (None, on_disk.remove("c.txt").unwrap_or_default()),
    );
    step("status in conflict", side.run(&b, &["status"]));
    step(
        "commit in conflict",
        (side.run(&b, &["commit", "-m", "x"]).0, String::new()),
    );
    write(&b.join("c.txt"), &BASE.replace("two", "two (a, b)"));
    step(
        "resolve",
        side.run(&b, &["resolve", "--accept", "working", "c.txt"]),
    );
    step("status resolved", side.run(&b, &["status"]));
    step("commit resolved", side.run(&b, &["commit", "-m", "merge"]));
    step("revert dot", side.run(&a, &["revert", "."]));
    step("update a", side.run(&a, &["update"]));
    step("files of a", (None, format!("{:?}", files(&a))));
    seen
}

#[test]
fn the_svn_cycle_and_the_docgrid_cycle_look_the_same() {
    if std::env::var("DOCGRID_SKIP_SYSTEM_TESTS").as_deref() == Ok("1") {
        eprintln!("DOCGRID_SKIP_SYSTEM_TESTS=1: svn comparison skipped");
        return;
    }
    let env = Env::new();
    let top = env.home.path();
    let cfg = top.join("svn-config");
    let (svn_top, dg_top) = (top.join("svn"), top.join("dg"));
    std::fs::create_dir_all(&svn_top).unwrap();
    std::fs::create_dir_all(&dg_top).unwrap();
    let svn = cycle(
        &Side {
            env: &env,
            svn: Some(cfg),
        },
        &svn_top,
    );
    let dg = cycle(
        &Side {
            env: &env,
            svn: None,
        },
        &dg_top,
    );
    let mut differences = Vec::new();
    for ((step, s), (_, d)) in svn.iter().zip(&dg) {
        if s != d {
            differences.push(format!("{step}:\n  svn:     {s:?}\n  docgrid: {d:?}"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
