//! Pictures for the preview: images (PNG, JPEG, GIF, WebP) decoded and
//! scaled to fit, PDFs' first pages rendered ([`crate::pdf`]) with their
//! text — off the UI thread (on a tree worker, where the content is
//! fetched). Decoding is bounded: a document larger than
//! [`MAX_BYTES`] or an image larger than [`MAX_PIXELS`] is not decoded,
//! and says so.

use docgrid_client::tree::Tree;
use docgrid_core::DocId;
use docgrid_core::error_chain;
use iced::widget::image::Handle;

/// The longest edge of a picture as drawn (the large preview's size).
pub const MAX_EDGE: u32 = 1600;

/// The largest document decoded for a preview.
pub const MAX_BYTES: u64 = 64 << 20;

/// The most pixels an image may have to be decoded.
pub const MAX_PIXELS: u64 = 100_000_000;

/// A picture ready to draw.
#[derive(Debug, Clone)]
pub struct Picture {
    /// Its width as drawn.
    pub width: u32,
    /// Its height as drawn.
    pub height: u32,
    /// The size of the original (pixels).
    pub original: (u32, u32),
    /// The pixels, for the renderer.
    pub handle: Handle,
    /// A PDF's page count.
    pub pages: Option<usize>,
    /// A PDF's first page's text.
    pub text: Option<String>,
}

/// Whether a document of type `mime` is drawn as a picture.
pub fn can_draw(mime: &str) -> bool {
    matches!(
        mime,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "application/pdf"
    )
}

/// Fetches document `id` and draws it (blocking: run it on a worker).
pub fn fetch(tree: &Tree, id: &DocId, mime: &str) -> Result<Picture, String> {
    let doc = tree.doc(id).map_err(|e| error_chain(&e))?;
    if doc.size > MAX_BYTES {
        return Err(format!(
            "too large to preview ({} MiB; previews decode up to {} MiB)",
            doc.size >> 20,
            MAX_BYTES >> 20
        ));
    }
    let bytes = tree
        .read_at(id, 0, doc.size as usize)
        .map_err(|e| error_chain(&e))?;
    if mime == "application/pdf" {
        return pdf(bytes);
    }
    decode(&bytes, mime)
}

/// A PDF's first page, rendered to fit [`MAX_EDGE`], and its text.
pub fn pdf(bytes: Vec<u8>) -> Result<Picture, String> {
    let page = crate::pdf::first_page(bytes, MAX_EDGE)?;
    let (w, h) = page.points;
    Ok(Picture {
        width: page.width,
        height: page.height,
        original: (w.round() as u32, h.round() as u32),
        handle: Handle::from_rgba(page.width, page.height, page.rgba),
        pages: Some(page.pages),
        text: Some(page.text),
    })
}

/// Decodes an image and scales it to fit [`MAX_EDGE`].
pub fn decode(bytes: &[u8], mime: &str) -> Result<Picture, String> {
    let format =
        image::ImageFormat::from_mime_type(mime).ok_or_else(|| format!("no decoder for {mime}"))?;
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| format!("cannot decode this {mime}: {e}"))?;
    let original = (img.width(), img.height());
    let img = if img.width() > MAX_EDGE || img.height() > MAX_EDGE {
        img.thumbnail(MAX_EDGE, MAX_EDGE)
    } else {
        img
    };
    let rgba = img.to_rgba8();
    let (width, height) = rgba.dimensions();
    Ok(Picture {
        width,
        height,
        original,
        handle: Handle::from_rgba(width, height, rgba.into_raw()),
        pages: None,
        text: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_image_is_scaled_to_fit_and_a_broken_one_says_so() {
        let img = image::RgbaImage::from_pixel(3200, 800, image::Rgba([200, 10, 10, 255]));
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let p = decode(&png, "image/png").unwrap();
        assert_eq!((p.width, p.height), (MAX_EDGE, 400));
        assert_eq!(p.original, (3200, 800));
        let e = decode(b"not a png", "image/png").unwrap_err();
        assert!(e.contains("cannot decode"), "{e}");
        assert!(!can_draw("text/plain"));
    }
}
