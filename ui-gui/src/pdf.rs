//! A PDF's first page rendered, and its text, with `hayro` (pure Rust, no
//! system library). A PDF is untrusted input: it is interpreted on a
//! thread of its own (a large stack, panics caught) and given up on after
//! [`PDF_TIME`], so no document can hang or crash the window.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use hayro::hayro_interpret::font::GlyphRun;
use hayro::hayro_interpret::hayro_cmap::BfString;
use hayro::hayro_interpret::{
    BlendMode, ClipPath, Context, Device, DrawMode, DrawProps, Image, ImageDrawProps,
    InterpreterCache, InterpreterSettings, SoftMask, interpret_page,
};
use hayro::hayro_syntax::Pdf;
use hayro::kurbo::{Affine, BezPath, Point, Rect};
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::vello_cpu::peniko::ImageAlphaType;
use hayro::{PixmapSettings, RenderCache, RenderSettings, render};

/// How long a PDF may take to render before it is given up on.
pub const PDF_TIME: Duration = Duration::from_secs(10);

/// How many PDFs may be rendering at once (one given up on keeps its
/// thread until it ends by itself).
const AT_ONCE: usize = 2;

/// PDFs rendering now.
static RENDERING: AtomicUsize = AtomicUsize::new(0);

/// The most text taken from a first page.
const TEXT_CHARS: usize = 64 << 10;

/// A rendered first page.
pub struct Page {
    /// How many pages the document has.
    pub pages: usize,
    /// The pixels (straight RGBA8), `width` × `height`.
    pub rgba: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The size of the page in points.
    pub points: (f32, f32),
    /// The page's text, as far as its fonts say.
    pub text: String,
}

/// Renders the first page of `bytes` to fit `max_edge` pixels, on a
/// bounded thread.
pub fn first_page(bytes: Vec<u8>, max_edge: u32) -> Result<Page, String> {
    if RENDERING.fetch_add(1, Ordering::SeqCst) >= AT_ONCE {
        RENDERING.fetch_sub(1, Ordering::SeqCst);
        return Err("other PDFs are still rendering; select it again in a moment".into());
    }
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("pdf".into())
        .stack_size(256 << 20)
        .spawn(move || {
            let r = std::panic::catch_unwind(|| render_first(bytes, max_edge))
                .unwrap_or_else(|_| Err("the PDF could not be read (the renderer failed)".into()));
            RENDERING.fetch_sub(1, Ordering::SeqCst);
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        RENDERING.fetch_sub(1, Ordering::SeqCst);
        return Err(format!("no thread to render it: {e}"));
    }
    match rx.recv_timeout(PDF_TIME) {
        Ok(r) => r,
        // The thread is left to finish on its own; its result is dropped.
        Err(_) => Err(format!(
            "rendering took longer than {} s",
            PDF_TIME.as_secs()
        )),
    }
}

fn render_first(bytes: Vec<u8>, max_edge: u32) -> Result<Page, String> {
    let pdf = Pdf::new(bytes).map_err(|e| format!("not a readable PDF ({e:?})"))?;
    let pages = pdf.pages();
    let page = pages.first().ok_or("the PDF has no pages")?;
    let (w, h) = page.render_dimensions();
    let scale = (max_edge as f32 / w.max(h).max(1.0)).clamp(0.01, 10.0);
    let cache = RenderCache::new();
    let settings = PixmapSettings {
        x_scale: scale,
        y_scale: scale,
        bg_color: WHITE,
    };
    let interp = InterpreterSettings::default();
    let pixmap = render(page, &cache, &interp, &RenderSettings::default(), &settings);
    let (width, height) = (u32::from(pixmap.width()), u32::from(pixmap.height()));
    let rgba = pixmap.take_rgba8(ImageAlphaType::Alpha);
    let icache = InterpreterCache::new();
    let mut ctx = Context::new(
        Affine::IDENTITY,
        Rect::new(0.0, 0.0, 1.0, 1.0),
        &icache,
        pdf.xref(),
        interp,
    );
    let mut text = TextOf::default();
    interpret_page(page, &mut ctx, &mut text);
    Ok(Page {
        pages: pages.len(),
        rgba,
        width,
        height,
        points: (w, h),
        text: text.out,
    })
}

/// Collects a page's text from its glyphs: a new line where the baseline
/// moves, a space where the gap to the previous glyph is much wider than
/// the line's usual advance.
#[derive(Default)]
struct TextOf {
    out: String,
    last: Option<Point>,
    advance: f64,
}

impl TextOf {
    fn glyph(&mut self, at: Point, s: &str) {
        if self.out.len() >= TEXT_CHARS {
            return;
        }
        if let Some(l) = self.last {
            let dx = at.x - l.x;
            if (at.y - l.y).abs() > 2.0 {
                self.out.push('\n');
            } else if self.advance > 0.0 && dx > self.advance * 1.8 {
                self.out.push(' ');
            } else if dx > 0.0 {
                self.advance = if self.advance == 0.0 {
                    dx
                } else {
                    self.advance * 0.8 + dx * 0.2
                };
            }
        }
        self.out.push_str(s);
        self.last = Some(at);
    }
}

impl Device<'_> for TextOf {
    fn draw_path(&mut self, _: &BezPath, _: DrawProps<'_>, _: &DrawMode) {}
    fn push_clip_path(&mut self, _: &ClipPath) {}
    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'_>>, _: BlendMode) {}
    fn draw_glyph_run(&mut self, run: &GlyphRun<'_, '_>, props: DrawProps<'_>, _: &DrawMode) {
        for g in run.glyphs() {
            let at = props.transform * g.transform() * Point::ZERO;
            match g.as_unicode() {
                Some(BfString::Char(c)) => self.glyph(at, c.encode_utf8(&mut [0; 4])),
                Some(BfString::String(s)) => self.glyph(at, &s),
                None => {}
            }
        }
    }
    fn draw_image(&mut self, _: Image<'_, '_>, _: ImageDrawProps<'_>) {}
    fn pop_clip(&mut self) {}
    fn pop_transparency_group(&mut self) {}
}
