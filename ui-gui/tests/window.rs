//! A real window under Xvfb (tiny-skia renderer) on a seeded store: the
//! binary opens at a document, and its `--screenshot` shows the columns
//! and the preview — checked for non-blank content and saved under the
//! test output (`CARGO_TARGET_TMPDIR/gui-screenshots/`).
//!
//! Needs Xvfb (installed by scripts/setup); skipped only when
//! `DOCGRID_SKIP_SYSTEM_TESTS=1` is set by hand.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::seeded;

/// An X server of our own on a free display, killed on drop.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Option<Xvfb> {
        if std::env::var("DOCGRID_SKIP_SYSTEM_TESTS").as_deref() == Ok("1") {
            eprintln!("skipped: DOCGRID_SKIP_SYSTEM_TESTS=1");
            return None;
        }
        let n = (100..200)
            .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
            .expect("a free X display");
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([
                display.as_str(),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (scripts/setup installs it)");
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        let start = Instant::now();
        while !socket.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "Xvfb did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Xvfb { child, display })
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The PNG at `path`: (width, height, RGBA).
fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Distinct colours among the pixels (a blank window has one or two).
fn colours(rgba: &[u8]) -> usize {
    let mut seen = std::collections::HashSet::new();
    for px in rgba.chunks_exact(4) {
        seen.insert([px[0], px[1], px[2]]);
    }
    seen.len()
}

#[test]
fn a_real_window_shows_three_columns_and_a_preview() {
    let Some(x) = Xvfb::start() else { return };
    let (dir, s, _t) = seeded(&[
        ("/tags/jazz/", "so-what.txt"),
        ("/tags/jazz/", "blue-in-green.txt"),
        ("/tags/jazz/", "all-blues.txt"),
    ]);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gui-screenshots");
    std::fs::create_dir_all(&out).unwrap();
    let shot = out.join("columns-and-preview.png");
    let _ = std::fs::remove_file(&shot);
    let status = Command::new(env!("CARGO_BIN_EXE_docgrid-gui"))
        .args(["--server", &s.url, "--token", &s.token])
        .args(["--path", "/tags/jazz/so-what.txt", "--screenshot"])
        .arg(&shot)
        .env("DISPLAY", &x.display)
        .env("DOCGRID_CONFIG", dir.path().join("none.toml"))
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    let (w, h, rgba) = decode(&shot);
    assert!(w >= 800 && h >= 600, "{w}×{h}");
    assert!(
        colours(&rgba) > 50,
        "text and highlights drawn, not a blank window ({} colours)",
        colours(&rgba)
    );
    eprintln!("screenshot: {}", shot.display());
}
