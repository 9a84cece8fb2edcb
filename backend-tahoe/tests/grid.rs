//! The grid harness against real Tahoe-LAFS nodes (installed by `tahoe_bin`
//! if missing). Skipped only when `DOCGRID_SKIP_SYSTEM_TESTS=1`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use docgrid_backend_tahoe::grid::{Grid, GridSpec, tahoe_processes_under};

/// Three nodes, 2-of-3: quick to start, and one node can be lost.
fn small_spec() -> GridSpec {
    GridSpec {
        storage_nodes: 3,
        needed: 2,
        happy: 2,
        total: 3,
    }
}

fn put(http: &reqwest::blocking::Client, grid: &Grid, data: &[u8]) -> String {
    let response = http
        .put(format!("{}/uri", grid.gateway_url()))
        .header("Accept", "text/plain")
        .body(data.to_vec())
        .send()
        .expect("PUT /uri");
    let status = response.status();
    let cap = response.text().expect("reading the cap");
    assert!(status.is_success(), "PUT /uri answered {status}: {cap}");
    cap.trim().to_owned()
}

fn get(http: &reqwest::blocking::Client, grid: &Grid, cap: &str) -> Vec<u8> {
    let response = http
        .get(format!("{}/uri/{cap}", grid.gateway_url()))
        .send()
        .expect("GET /uri/CAP");
    assert!(
        response.status().is_success(),
        "GET /uri/{cap} answered {}",
        response.status()
    );
    response.bytes().expect("reading the file").to_vec()
}

fn shares_in(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                shares_in(&e.path())
            } else {
                1
            }
        })
        .sum()
}

/// Polls until no tahoe process names `dir`, for at most `timeout`.
fn wait_no_tahoe_under(dir: &Path, timeout: Duration) -> Vec<u32> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = tahoe_processes_under(dir);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn grid_round_trips_bytes_through_storage_node_stops_restarts_and_replacement() {
    if docgrid_backend_tahoe::grid::system_tests_skipped() {
        return;
    }
    let started = Instant::now();
    let mut grid = Grid::start(small_spec()).expect("starting the grid");
    eprintln!("grid up in {:?}", started.elapsed());
    let dir = grid.dir().to_path_buf();
    let all = ["s0", "s1", "s2"];
    assert_eq!(grid.storage_node_names(), all);
    assert_eq!(
        grid.connected_storage().unwrap(),
        all,
        "the gateway must not serve storage"
    );
    assert!(!grid.gateway_url().ends_with('/'));

    let http = reqwest::blocking::Client::new();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let cap = put(&http, &grid, &data);
    assert!(
        cap.starts_with("URI:CHK:"),
        "a large file gets a CHK cap, got {cap}"
    );
    assert_eq!(get(&http, &grid, &cap), data);

    let t = Instant::now();
    grid.stop_storage(0).unwrap();
    eprintln!("stop_storage(0) took {:?}", t.elapsed());
    connected_becomes(&grid, &["s1", "s2"]);
    assert_eq!(get(&http, &grid, &cap), data, "2 of 3 shares remain");

    let t = Instant::now();
    grid.start_storage(0).unwrap();
    eprintln!("start_storage(0) took {:?}", t.elapsed());
    connected_becomes(&grid, &all);
    grid.wait_connected(3, Duration::from_secs(1)).unwrap();

    let s1_shares = dir.join("s1").join("storage").join("shares");
    assert!(shares_in(&s1_shares) > 0, "s1 holds a share of the file");
    let t = Instant::now();
    grid.replace_storage_with_empty(1).unwrap();
    eprintln!("replace_storage_with_empty(1) took {:?}", t.elapsed());
    assert_eq!(shares_in(&s1_shares), 0, "the replacement holds nothing");
    connected_becomes(&grid, &all);
    assert_eq!(get(&http, &grid, &cap), data, "2 of 3 shares remain");

    let err = grid.stop_storage(3).unwrap_err();
    assert!(err.to_string().contains("no storage node 3"), "{err}");

    assert!(
        !tahoe_processes_under(&dir).is_empty(),
        "the scan finds the running nodes"
    );
    let t = Instant::now();
    drop(grid);
    eprintln!("drop took {:?}", t.elapsed());
    assert_eq!(
        tahoe_processes_under(&dir),
        Vec::<u32>::new(),
        "nodes left after drop"
    );
    assert!(!dir.exists(), "the temporary grid directory is removed");
}

/// The binary prints the gateway, and when it is SIGKILLed its nodes exit
/// by themselves (their stdin closes) and the temporary directory goes.
#[test]
fn killing_the_grid_binary_leaves_no_tahoe_process_nor_directory() {
    if docgrid_backend_tahoe::grid::system_tests_skipped() {
        return;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_docgrid-tahoe-grid"))
        .args([
            "--nodes", "1", "--needed", "1", "--happy", "1", "--total", "1", "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running docgrid-tahoe-grid");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: serde_json::Value = match serde_json::from_str(&line) {
        Ok(v) => v,
        Err(e) => panic!(
            "not the JSON summary ({e}): {line:?}; status {:?}",
            child.wait()
        ),
    };
    let dir = PathBuf::from(ready["dir"].as_str().expect("dir"));
    assert!(
        ready["gateway"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(ready["storage_nodes"], serde_json::json!(["s0"]));
    assert_eq!(
        tahoe_processes_under(&dir).len(),
        3,
        "introducer, s0 and gateway run"
    );

    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    let t = Instant::now();
    let left = wait_no_tahoe_under(&dir, Duration::from_secs(15));
    assert_eq!(left, Vec::<u32>::new(), "nodes outlived the killed binary");
    eprintln!("nodes gone {:?} after SIGKILL", t.elapsed());
    let deadline = Instant::now() + Duration::from_secs(25);
    while dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!dir.exists(), "{} was not removed", dir.display());
}

/// Waits (up to 30 s) until the gateway sees exactly `want` connected: on a
/// busy machine a live node can briefly miss the gateway's 1 s poll.
fn connected_becomes<S: AsRef<str>>(grid: &Grid, want: &[S]) {
    let want: Vec<String> = want.iter().map(|s| s.as_ref().to_string()).collect();
    let started = Instant::now();
    loop {
        let now = grid.connected_storage().unwrap();
        if now == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "connected storage stayed {now:?}, expected {want:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
