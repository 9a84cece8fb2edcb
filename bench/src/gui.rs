//! docgrid-gui measured in-process, its frames made as the window makes
//! them — the view built, laid out and updated against the widget state
//! kept from the last frame ([`UserInterface`] and its cache), drawn, and
//! rasterized by iced's tiny-skia renderer (the window's, here headless,
//! at scale 1): opening a column of ENTRIES documents until its first
//! rows are drawn, and the frame time while scrolling through it — both
//! beside a 100-entry column in the same run — and select-to-preview of a
//! cached 1 MiB text. (Start to first painted window is the binary's
//! `--first-paint`, run under Xvfb by bench/run.)

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use docgrid_client::tree::{Content, Tree};
use docgrid_client::{Client, ClientOptions};
use docgrid_gui::effects::{Desktop, settle_blocking};
use docgrid_gui::state::{Browser, Message};
use iced::advanced::clipboard;
use iced::advanced::renderer::Headless;
use iced_runtime::{UserInterface, user_interface};
use serde_json::{Value, json};

/// The window's size as drawn.
const SIZE: (f32, f32) = (1200.0, 760.0);

/// How far each scrolling frame moves (pixels: about three rows).
const SCROLL_STEP: f32 = 70.0;

/// What each frame reuses, as the window does: the renderer and the
/// widget state of the last frame.
struct Frames {
    renderer: iced::Renderer,
    cache: Option<user_interface::Cache>,
}

impl Frames {
    fn new() -> Result<Frames> {
        let renderer = iced::futures::executor::block_on(<iced::Renderer as Headless>::new(
            iced::Font::with_name("Fira Sans"),
            iced::Pixels(16.0),
            Some("tiny-skia"),
        ))
        .context("no headless tiny-skia renderer")?;
        Ok(Frames {
            renderer,
            cache: Some(user_interface::Cache::default()),
        })
    }

    /// Builds, lays out, updates, draws and rasterizes one frame of `b`
    /// (seconds).
    fn frame(&mut self, b: &Browser) -> Result<f64> {
        let t = Instant::now();
        let size = iced::Size::new(SIZE.0, SIZE.1);
        let cache = self.cache.take().unwrap_or_default();
        let mut ui =
            UserInterface::build(docgrid_gui::view::view(b), size, cache, &mut self.renderer);
        let mut messages = Vec::new();
        let redraw = iced::Event::Window(iced::window::Event::RedrawRequested(Instant::now()));
        let cursor = iced::mouse::Cursor::Unavailable;
        let _ = ui.update(
            &[redraw],
            cursor,
            &mut self.renderer,
            &mut clipboard::Null,
            &mut messages,
        );
        let theme = iced::Theme::Light;
        let style = iced::advanced::renderer::Style {
            text_color: theme.palette().text,
        };
        ui.draw(&mut self.renderer, &theme, &style, cursor);
        self.cache = Some(ui.into_cache());
        let physical = iced::Size::new(SIZE.0 as u32, SIZE.1 as u32);
        let rgba = self
            .renderer
            .screenshot(physical, 1.0, theme.palette().background);
        std::hint::black_box(rgba);
        Ok(t.elapsed().as_secs_f64())
    }
}

/// Seconds as milliseconds, to a tenth.
fn ms(s: f64) -> f64 {
    (s * 1e4).round() / 10.0
}

fn percentile(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((xs.len() - 1) as f64 * p).round() as usize]
}

/// Opens `path` in a fresh tree (nothing cached) until its rows are
/// drawn, then scrolls it `frames` times; returns the figures.
fn column(client: &Client, name: &str, path: &str, frames: usize) -> Result<Value> {
    let desk = Desktop::new(&std::env::temp_dir());
    let tree = Tree::new(client.clone());
    // The window is up (its fonts loaded) before the column opens.
    let mut f = Frames::new()?;
    let (root, effects) = Browser::new("/tags/");
    let mut b = root;
    settle_blocking(&mut b, &tree, &desk, effects);
    f.frame(&b)?;
    let start = Instant::now();
    let (mut b, effects) = Browser::new(path);
    settle_blocking(&mut b, &tree, &desk, effects);
    f.frame(&b)?;
    let open = start.elapsed().as_secs_f64();
    // The same listing again by a tree of its own (the server has served
    // it once now): how much of the opening is the server's first time.
    let t = Instant::now();
    Tree::new(client.clone()).list(path)?;
    let listing = t.elapsed().as_secs_f64();
    let last = b.columns.len() - 1;
    let rows = b.columns[last].entries().len();
    let height = rows as f32 * b.columns[last].row_height();
    let mut times = Vec::with_capacity(frames);
    let mut offset = 0.0;
    for _ in 0..frames {
        offset = (offset + SCROLL_STEP) % height.max(1.0);
        b.update(Message::Scrolled {
            column: last,
            offset,
            height: SIZE.1 - 80.0,
        });
        times.push(f.frame(&b)?);
    }
    Ok(json!({
        "bench": name, "path": path, "entries": rows,
        "open_to_first_rows_ms": ms(open),
        "listing_again_ms": ms(listing),
        "frame_p50_ms": ms(percentile(&mut times, 0.5)),
        "frame_p99_ms": ms(percentile(&mut times, 0.99)),
        "frames": frames,
    }))
}

/// Select-to-preview of a 1 MiB text already cached by the tree: the
/// click, the fetches it makes (from the cache), and the frame drawn.
fn select_to_preview(client: &Client, runs: usize) -> Result<Value> {
    let desk = Desktop::new(&std::env::temp_dir());
    let tree = Tree::new(client.clone());
    let mut f = Frames::new()?;
    let (mut b, effects) = Browser::new("/tags/text/");
    settle_blocking(&mut b, &tree, &desk, effects);
    let col = b.columns.len() - 1;
    if b.columns[col].entries().len() < 2 {
        bail!("the text column lists {:?}", b.columns[col].entries());
    }
    // Both documents read once: their chunks are in the tree's cache.
    for row in 0..2 {
        let effects = b.update(Message::Select { column: col, row });
        settle_blocking(&mut b, &tree, &desk, effects);
    }
    let ids: Vec<_> = b.columns[col]
        .entries()
        .iter()
        .filter_map(|e| e.id)
        .collect();
    let mut reads = Vec::with_capacity(runs);
    for i in 0..runs {
        let t = Instant::now();
        std::hint::black_box(tree.doc(&ids[i % 2])?);
        std::hint::black_box(tree.read_at(&ids[i % 2], 0, docgrid_gui::preview::TEXT_BYTES)?);
        reads.push(t.elapsed().as_secs_f64());
    }
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        // After a rest, as a click is: fetched at once, not debounced.
        std::thread::sleep(docgrid_gui::preview::SETTLE + Duration::from_millis(20));
        let t = Instant::now();
        let effects = b.update(Message::Select {
            column: col,
            row: i % 2,
        });
        settle_blocking(&mut b, &tree, &desk, effects);
        f.frame(&b)?;
        times.push(t.elapsed().as_secs_f64());
        let p = b.preview.as_ref().context("no preview")?;
        if p.text.as_ref().is_none_or(|t| t.len() < 200_000) {
            bail!("the preview did not show the text");
        }
    }
    Ok(json!({
        "bench": "gui_select_to_preview", "bytes": 1 << 20,
        "p50_ms": ms(percentile(&mut times, 0.5)),
        "max_ms": ms(percentile(&mut times, 1.0)),
        "cached_read_p50_ms": (percentile(&mut reads, 0.5) * 1e6).round() / 1e3,
        "runs": runs,
    }))
}

/// The benchmark, on a fresh server in `dir`: ENTRIES documents in
/// `/tags/common/`, 100 in `/tags/small/`, two 1 MiB texts in
/// `/tags/text/`.
pub fn run(dir: &Path, entries: u64, frames: usize) -> Result<Vec<Value>> {
    let (_server, url, token) = crate::tree::fresh_server(dir)?;
    let client = Client::new(std::slice::from_ref(&url), &token, ClientOptions::default())?;
    crate::tree::populate(&client, "common", entries)?;
    crate::tree::populate(&client, "small", 100)?;
    let tree = Tree::new(client.clone());
    for name in ["one.txt", "two.txt"] {
        let line = format!("{name}: the quick brown fox jumps over the lazy dog\n");
        let text = line.repeat((1 << 20) / line.len() + 1).into_bytes();
        tree.create(
            "/tags/text/",
            name,
            Content::Bytes(text[..1 << 20].to_vec()),
        )?;
    }
    Ok(vec![
        column(&client, "gui_column_small", "/tags/small/", frames)?,
        column(&client, "gui_column_large", "/tags/common/", frames)?,
        select_to_preview(&client, 20)?,
    ])
}
