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

/// Runs the binary at tree path `at` under `x` until its `--screenshot`
/// `name` is saved; checks it is a full window with content; returns its
/// path.
fn shoot(x: &Xvfb, s: &common::TestServer, dir: &Path, at: &str, name: &str) -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gui-screenshots");
    std::fs::create_dir_all(&out).unwrap();
    let shot = out.join(name);
    let _ = std::fs::remove_file(&shot);
    let status = Command::new(env!("CARGO_BIN_EXE_docgrid-gui"))
        .args(["--server", &s.url, "--token", &s.token])
        .args(["--path", at, "--screenshot"])
        .arg(&shot)
        .env("DISPLAY", &x.display)
        .env("DOCGRID_CONFIG", dir.join("none.toml"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .status()
        .unwrap();
    assert!(status.success(), "{at}: {status}");
    let (w, h, rgba) = decode(&shot);
    assert!(w >= 800 && h >= 600, "{w}×{h}");
    assert!(
        colours(&rgba) > 50,
        "text and highlights drawn, not a blank window ({} colours)",
        colours(&rgba)
    );
    eprintln!("screenshot: {}", shot.display());
    shot
}

/// A picture worth looking at: a sunset-like gradient with a sun.
fn sunset(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| {
        let t = y as f32 / h as f32;
        let (dx, dy) = (x as f32 - w as f32 * 0.6, y as f32 - h as f32 * 0.62);
        if (dx * dx + dy * dy).sqrt() < h as f32 * 0.12 {
            return image::Rgba([255, 236, 150, 255]);
        }
        let r = (250.0 - 120.0 * t) as u8;
        let g = (120.0 + 40.0 * (1.0 - t) - 60.0 * t) as u8;
        let b = (90.0 + 120.0 * t) as u8;
        image::Rgba([r, g, b, 255])
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[test]
fn a_real_window_shows_three_columns_and_a_preview() {
    let Some(x) = Xvfb::start() else { return };
    let (dir, s, t) = seeded(&[
        ("/tags/jazz/", "blue-in-green.txt"),
        ("/tags/jazz/", "all-blues.txt"),
        ("/tags/photos/", "notes.txt"),
    ]);
    let text = "So What\n\nRecorded March 2, 1959, Columbia 30th Street Studio.\n\
                Miles Davis (trumpet), John Coltrane (tenor), Bill Evans (piano).\n";
    t.create("/tags/jazz/", "so-what.txt", text.as_bytes().into())
        .unwrap();
    t.create("/tags/photos/", "sunset.png", sunset(960, 640).into())
        .unwrap();
    // Text is extracted after the commit: the search shot needs it.
    s.settle();
    shoot(
        &x,
        &s,
        dir.path(),
        "/tags/jazz/so-what.txt",
        "columns-and-preview.png",
    );
    shoot(
        &x,
        &s,
        dir.path(),
        "/tags/photos/sunset.png",
        "image-preview.png",
    );
    shoot(
        &x,
        &s,
        dir.path(),
        "/search/coltrane/so-what.txt",
        "search-results.png",
    );
}
