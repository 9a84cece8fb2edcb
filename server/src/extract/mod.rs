//! MIME sniffing at commit; text and metadata extraction after it.
//!
//! [`sniff_mime`] decides a document's `mime` attribute from its first bytes and
//! its name, inside the commit. Everything else runs after the commit, from
//! the persistent queue in the index ([`queue`]), driven by [`runner`]:
//! [`extract`] turns stored content into the whitespace-collapsed text that
//! tantivy indexes and the metadata keys read from it. Parsers of untrusted
//! formats run in a worker process under hard limits ([`worker`]), so no
//! input can crash, hang or exhaust the server; inside the worker, panics
//! are caught ([`ExtractError::Panicked`]).

mod gz;
mod media;
pub mod ocr;
mod office;
mod pdf;
pub mod queue;
pub mod runner;
pub mod worker;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use infer::MatcherType;
use pulldown_cmark::{Event, Options, Parser, TagEnd};
use scraper::{Html, Node};

/// Longest extracted text kept, in bytes (4 MiB); longer text is cut at a char boundary.
pub const MAX_TEXT_BYTES: usize = 4 << 20;

/// Largest input that [`extract_text`] parses (256 MiB); larger inputs give `Ok(None)`.
pub const MAX_INPUT_BYTES: usize = 256 << 20;

/// Why text could not be extracted from a document.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The content is not what its type says (a broken archive, ...).
    #[error("{format}: malformed: {message}")]
    Malformed {
        /// The format being read, e.g. `"gzip"`.
        format: &'static str,
        /// What the reader reported.
        message: String,
    },
    /// The content would expand past the bounds (a decompression bomb).
    #[error("{format}: decompression bomb: {message}")]
    Bomb {
        /// The format being read, e.g. `"gzip"`.
        format: &'static str,
        /// How far it would expand.
        message: String,
    },
    /// The PDF parser rejected the document (bad structure, unsupported encryption, ...).
    #[error("PDF: cannot extract text: {source}")]
    Pdf {
        /// What pdf-extract reported.
        #[source]
        source: pdf_extract::OutputError,
    },
    /// A parser panicked on malformed input; the panic was caught.
    #[error("{format}: parser panicked on malformed input: {message}")]
    Panicked {
        /// The format being parsed, e.g. `"PDF"`.
        format: &'static str,
        /// The panic payload, when it was a string.
        message: String,
    },
}

/// What extraction read from one document's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Extracted {
    /// Its text for full-text search (`None`: the type has none).
    pub text: Option<String>,
    /// Metadata keys read from it (`artist`, `pages`, `width`, ...), values
    /// in order; only ordinary (non-reserved) keys.
    pub meta: BTreeMap<String, Vec<String>>,
}

/// Whether a document of type `mime` and `size` bytes is queued for
/// extraction (there is something to read from it).
pub fn wanted(mime: &str, size: u64) -> bool {
    let m = essence(mime);
    size > 0
        && (is_extractable(&m)
            || m.starts_with("image/")
            || m.starts_with("audio/")
            || office::is_office(&m)
            || matches!(m.as_str(), "application/ogg" | "application/gzip"))
}

/// Whether [`extract`] of `mime` runs in the server's own process: plain
/// text, whose reading is a bounded loop no input can derail. Every other
/// type goes to a worker process.
pub fn is_trusted(mime: &str) -> bool {
    is_plain_text(&essence(mime))
}

/// Metadata keys and their values, as extraction reads them.
pub type Meta = BTreeMap<String, Vec<String>>;

/// Adds `value` to `key` in `meta`.
fn put(meta: &mut Meta, key: &str, value: String) {
    if !value.trim().is_empty() {
        meta.entry(key.to_string()).or_default().push(value);
    }
}

/// A PDF's text and metadata; its pages read by OCR when it has (almost)
/// no text layer.
fn pdf_with_ocr(bytes: &[u8], ocr: Option<&ocr::Ocr>) -> Result<Extracted, ExtractError> {
    let (mut text, meta) = pdf::extract(bytes)?;
    let pages: u32 = meta
        .get("pages")
        .and_then(|v| v[0].parse().ok())
        .unwrap_or(1);
    let scanned = text.chars().filter(|c| !c.is_whitespace()).count()
        < MIN_PDF_CHARS_PER_PAGE * pages.max(1) as usize;
    if let Some(ocr) = ocr.filter(|_| scanned)
        && let Some(words) = ocr.pdf_text(bytes, pages)?
    {
        text = collapse(&format!("{text} {words}"));
    }
    Ok(Extracted {
        text: Some(text),
        meta,
    })
}

/// Smallest picture read by OCR, in pixels each way (icons are skipped).
const MIN_OCR_SIDE: u64 = 100;
/// A PDF with fewer characters of text than this per page is read by OCR.
const MIN_PDF_CHARS_PER_PAGE: usize = 16;

/// Everything extraction reads from content of type `mime` named `name`,
/// with OCR of pictures and of PDFs without a text layer when `ocr` is
/// given. Inputs over [`MAX_INPUT_BYTES`] give nothing.
pub fn extract(
    name: &str,
    mime: &str,
    bytes: &[u8],
    ocr: Option<&ocr::Ocr>,
) -> Result<Extracted, ExtractError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Ok(Extracted::default());
    }
    let m = essence(mime);
    let mut meta = Meta::new();
    match m.as_str() {
        "application/pdf" => return pdf_with_ocr(bytes, ocr),
        "application/gzip" => return gz::extract(name, bytes),
        _ if office::is_office(&m) => return office::extract(&m, bytes),
        _ if m.starts_with("image/") => {
            guarded("image", || {
                media::image_meta(bytes, &mut meta);
                media::exif_meta(bytes, &mut meta);
            })?;
            let side = |k: &str| meta.get(k).and_then(|v| v[0].parse::<u64>().ok());
            let big = side("width")
                .zip(side("height"))
                .is_some_and(|(w, h)| w.min(h) >= MIN_OCR_SIDE);
            let text = match ocr {
                Some(ocr) if big => ocr.image_text(bytes)?,
                _ => None,
            };
            return Ok(Extracted { text, meta });
        }
        _ if m.starts_with("audio/") || m == "application/ogg" => {
            guarded("audio", || media::audio_meta(bytes, &mut meta))?
        }
        _ => {}
    }
    Ok(Extracted {
        text: extract_text(mime, bytes)?,
        meta,
    })
}

/// `mime` lower-case, without parameters.
fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether [`extract_text`] knows `mime` (so reading the content is worth it).
pub fn is_extractable(mime: &str) -> bool {
    let essence = essence(mime);
    matches!(
        essence.as_str(),
        "application/pdf"
            | "text/markdown"
            | "text/x-markdown"
            | "text/html"
            | "application/xhtml+xml"
    ) || is_plain_text(&essence)
}

/// Guesses the MIME type of a document from `head` (its first bytes; a few KiB
/// are enough, more lets ZIP-based formats such as DOCX be told apart) and its
/// file `name`.
///
/// Order: binary magic numbers (PDF, PNG, JPEG, GIF, ZIP, gzip, ... via `infer`)
/// beat the name's extension (via `mime_guess`; `.md`/`.markdown` are
/// `text/markdown`, `.html`/`.htm` are `text/html`), which beats text-looking
/// content (`<html`, `<?xml`, `#!`), then `text/plain` for UTF-8 text without
/// NULs or other stray control bytes, and `application/octet-stream` otherwise.
pub fn sniff_mime(name: &str, head: &[u8]) -> String {
    let magic = infer::get(head);
    if let Some(kind) = magic.filter(|k| k.matcher_type() != MatcherType::Text) {
        // A ZIP whose head did not show what it holds: an office
        // document's extension says more.
        if kind.mime_type() == "application/zip"
            && let Some(named) = mime_from_name(name).filter(|m| office::is_office(m))
        {
            return named;
        }
        return kind.mime_type().to_owned();
    }
    if let Some(mime) = mime_from_name(name) {
        return mime;
    }
    if let Some(kind) = magic {
        return kind.mime_type().to_owned();
    }
    if looks_like_text(head) {
        "text/plain".to_owned()
    } else {
        "application/octet-stream".to_owned()
    }
}

/// The MIME type implied by the extension of `name`, if it has a known one.
fn mime_from_name(name: &str) -> Option<String> {
    let ext = std::path::Path::new(name).extension()?.to_str()?;
    match ext.to_ascii_lowercase().as_str() {
        "md" | "markdown" => Some("text/markdown".to_owned()),
        "html" | "htm" => Some("text/html".to_owned()),
        _ => mime_guess::from_ext(ext)
            .first()
            .map(|m| m.essence_str().to_owned()),
    }
}

/// Whether `head` is UTF-8 text (possibly cut inside its last character) free of
/// NULs and control bytes other than tab, newline, carriage return, form feed, escape.
fn looks_like_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        // A multi-byte character cut off by the end of `head` is still text.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !valid
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c' | '\x1b'))
}

/// Extracts the readable text of a document of type `mime` (parameters such as
/// `; charset=utf-8` are ignored) for full-text indexing.
///
/// Handles plain text (`text/*`, JSON, XML and scripts; decoded as lossy UTF-8),
/// `text/markdown` (text without markup, keeping link text, code and headings),
/// `text/html` (visible text; no script or style; entities decoded) and
/// `application/pdf` (text of all pages). Runs of whitespace become one space and
/// the result is capped at [`MAX_TEXT_BYTES`]. Returns `Ok(None)` for other types
/// and for inputs over [`MAX_INPUT_BYTES`]; `Err` only when a parser fails.
pub fn extract_text(mime: &str, bytes: &[u8]) -> Result<Option<String>, ExtractError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Ok(None);
    }
    let text = match essence(mime).as_str() {
        "application/pdf" => pdf::extract(bytes)?.0,
        "text/markdown" | "text/x-markdown" => guarded("Markdown", || {
            markdown_text(&String::from_utf8_lossy(bytes))
        })?,
        "text/html" | "application/xhtml+xml" => {
            guarded("HTML", || html_text(&String::from_utf8_lossy(bytes)))?
        }
        m if is_plain_text(m) => collapse(&String::from_utf8_lossy(bytes)),
        _ => return Ok(None),
    };
    Ok(Some(text))
}

/// Whether `mime` (lower-case, without parameters) is indexed as plain text.
fn is_plain_text(mime: &str) -> bool {
    const APPLICATION_TEXT: &str = "json xml javascript x-sh x-shellscript toml yaml x-yaml sql";
    let application = mime.strip_prefix("application/");
    mime.starts_with("text/")
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
        || application.is_some_and(|sub| APPLICATION_TEXT.split(' ').any(|t| t == sub))
}

/// Runs a parser, turning a panic into [`ExtractError::Panicked`].
fn guarded<T>(format: &'static str, parse: impl FnOnce() -> T) -> Result<T, ExtractError> {
    catch_unwind(AssertUnwindSafe(parse)).map_err(|payload| {
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "non-string panic payload".to_owned()
        };
        ExtractError::Panicked { format, message }
    })
}

/// `text` with whitespace collapsed, capped at [`MAX_TEXT_BYTES`].
fn collapse(text: &str) -> String {
    let mut sink = TextSink::default();
    sink.push(text);
    sink.finish()
}

/// Readable text of a Markdown document.
fn markdown_text(source: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS;
    let mut sink = TextSink::default();
    for event in Parser::new_ext(source, options) {
        match event {
            Event::Text(text) | Event::Code(text) => sink.push(&text),
            Event::SoftBreak | Event::HardBreak | Event::Rule => sink.space(),
            Event::Start(tag) if !is_inline_markdown(&tag.to_end()) => sink.space(),
            Event::End(tag) if !is_inline_markdown(&tag) => sink.space(),
            _ => {}
        }
        if sink.full {
            break;
        }
    }
    sink.finish()
}

/// Whether a Markdown element flows inside a line (so it separates no words).
fn is_inline_markdown(tag: &TagEnd) -> bool {
    use TagEnd::{Emphasis, Image, Link, Strikethrough, Strong, Subscript, Superscript};
    matches!(
        tag,
        Emphasis | Strong | Strikethrough | Superscript | Subscript | Link | Image
    )
}

/// Visible text of an HTML document: text nodes outside `script`, `style` and
/// `template`, with block elements separating words.
fn html_text(source: &str) -> String {
    const HIDDEN: &[&str] = &["script", "style", "template"];
    const INLINE: &[&str] = &[
        "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd",
        "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
    ];
    let document = Html::parse_document(source);
    let mut sink = TextSink::default();
    let mut hidden_depth = 0usize;
    for edge in document.tree.root().traverse() {
        let (node, open) = match edge {
            ego_tree::iter::Edge::Open(node) => (node, true),
            ego_tree::iter::Edge::Close(node) => (node, false),
        };
        match node.value() {
            Node::Element(el) if HIDDEN.contains(&el.name()) => match open {
                true => hidden_depth += 1,
                false => hidden_depth -= 1,
            },
            Node::Element(el) if !INLINE.contains(&el.name()) => sink.space(),
            Node::Text(text) if open && hidden_depth == 0 => sink.push(text),
            _ => {}
        }
        if sink.full {
            break;
        }
    }
    sink.finish()
}

/// Accumulates text, collapsing whitespace and control characters into single
/// spaces and stopping at [`MAX_TEXT_BYTES`].
#[derive(Default)]
struct TextSink {
    out: String,
    pending_space: bool,
    full: bool,
}

impl TextSink {
    /// Appends `text`, collapsing whitespace; silently stops once full.
    /// Runs between separators are copied whole (a character at a time
    /// was a visible share of the server's profile during imports).
    fn push(&mut self, text: &str) {
        let sep = |c: char| c.is_whitespace() || c.is_control() || c == '\u{feff}';
        let mut rest = text;
        while !rest.is_empty() && !self.full {
            let end = rest.find(sep).unwrap_or(rest.len());
            if end > 0 {
                self.word(&rest[..end]);
            }
            rest = &rest[end..];
            let kept = rest.find(|c| !sep(c)).unwrap_or(rest.len());
            if kept > 0 {
                self.space();
            }
            rest = &rest[kept..];
        }
    }

    /// Appends a run without separators, after a space if one is
    /// pending; what does not fit is cut at a character boundary.
    fn word(&mut self, w: &str) {
        let space = usize::from(self.pending_space);
        let room = MAX_TEXT_BYTES.saturating_sub(self.out.len() + space);
        let mut take = w.len().min(room);
        while !w.is_char_boundary(take) {
            take -= 1;
        }
        if take < w.len() {
            self.full = true;
        }
        if take == 0 {
            return;
        }
        if self.pending_space {
            self.out.push(' ');
            self.pending_space = false;
        }
        self.out.push_str(&w[..take]);
    }

    /// Separates what comes next from what came before by one space.
    fn space(&mut self) {
        self.pending_space = !self.out.is_empty();
    }

    /// The collected text, without leading or trailing whitespace.
    fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZEBRA: &str = "BT /F1 24 Tf 72 720 Td (quarterly report zebra) Tj ET";

    #[test]
    fn text_is_collapsed_to_single_spaces_and_cut_at_a_character_boundary() {
        let mut s = TextSink::default();
        s.push("  one\t\ttwo\n\u{feff}");
        s.push("three\u{1}four ");
        s.push("ünï");
        assert_eq!(s.finish(), "one two three four ünï");
        let mut s = TextSink::default();
        s.push(&"é".repeat(MAX_TEXT_BYTES));
        s.push(" more");
        let out = s.finish();
        assert!(out.len() <= MAX_TEXT_BYTES && out.len() >= MAX_TEXT_BYTES - 1);
        assert!(out.chars().all(|c| c == 'é'));
    }

    use crate::testing::one_page_pdf;

    fn text(mime: &str, bytes: &[u8]) -> String {
        extract_text(mime, bytes).unwrap().expect("supported")
    }

    #[test]
    fn plain_text_json_csv_and_source_are_collapsed() {
        let cases: &[(&str, &[u8], &str)] = &[
            ("text/plain", b"  hello \n\n\t world  ", "hello world"),
            ("Text/Plain; q=1", b"caf\xc3\xa9 \xff", "caf\u{e9} \u{fffd}"),
            ("application/json", br#"{"a": "b c"}"#, r#"{"a": "b c"}"#),
            ("text/csv", b"x,y\n1,2\n", "x,y 1,2"),
            ("text/x-rust", b"fn f() {\n  x();\n}", "fn f() { x(); }"),
            ("text/plain", b"", ""),
        ];
        for (mime, input, want) in cases {
            assert_eq!(text(mime, input), *want, "{mime}");
        }
    }

    #[test]
    fn markdown_keeps_link_text_code_and_headings() {
        let md = "# Release *notes*\n\nSee [the manual](https://example.com/manual) and \
                  `cargo build`.\n\n- one\n- two\n\n```rust\nfn main() {}\n```\n";
        let out = text("text/markdown", md.as_bytes());
        let want = "Release notes See the manual and cargo build. one two fn main() {}";
        assert_eq!(out, want);
        assert!(!out.contains("https") && !out.contains('#') && !out.contains('`'));
    }

    #[test]
    fn html_drops_script_and_style_and_decodes_entities() {
        let html = "<!DOCTYPE html><html><head><title>Menu</title>\
                    <style>p { color: red }</style><script>var secret = 1;</script></head>\
                    <body><p>Fish &amp; chips&nbsp;at the <b>caf&eacute;</b></p>\
                    <div>second<br>line</div><template><p>hidden</p></template></body></html>";
        let out = text("text/html", html.as_bytes());
        assert_eq!(out, "Menu Fish & chips at the café second line");
    }

    #[test]
    fn pdf_text_is_extracted() {
        let pdf = one_page_pdf(ZEBRA);
        assert_eq!(sniff_mime("scan.bin", &pdf), "application/pdf");
        assert_eq!(text("application/pdf", &pdf), "quarterly report zebra");
    }

    #[test]
    fn malformed_pdf_is_an_error_not_a_panic() {
        let err = extract_text("application/pdf", b"%PDF-1.4\nthis is not a pdf").unwrap_err();
        assert!(err.to_string().starts_with("PDF"), "{err}");
        assert!(extract_text("application/pdf", b"").is_err());
        // pdf-extract asserts that `Td` has two operands: the panic must become an error.
        let pdf = one_page_pdf("BT /F1 24 Tf 72 Td (zebra) Tj ET");
        let err = extract_text("application/pdf", &pdf).unwrap_err();
        assert!(matches!(err, ExtractError::Panicked { format: "PDF", .. }));
        let message = err.to_string();
        assert!(
            message.starts_with("PDF: parser panicked on malformed"),
            "{message}"
        );
        // Truncations and corruptions of a valid file must never panic.
        let pdf = one_page_pdf(ZEBRA);
        for cut in (0..pdf.len()).step_by(37) {
            let _ = extract_text("application/pdf", &pdf[..cut]);
            let mut bad = pdf.clone();
            bad[cut] ^= 0x5a;
            let _ = extract_text("application/pdf", &bad);
        }
    }

    #[test]
    fn sniffing_by_magic_beats_a_wrong_extension() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
        let cases: &[(&str, &[u8], &str)] = &[
            ("photo.txt", png, "image/png"),
            ("a.md", b"\xff\xd8\xff\xe0\0\x10JFIF\0", "image/jpeg"),
            ("x.pdf", b"GIF89a\x01\0\x01\0", "image/gif"),
            ("x.txt", b"PK\x03\x04\x14\0\0\0\x08\0", "application/zip"),
            ("x.txt", b"\x1f\x8b\x08\0\0\0\0\0", "application/gzip"),
        ];
        for (name, head, want) in cases {
            assert_eq!(sniff_mime(name, head), *want, "{name}");
        }
    }

    #[test]
    fn sniffing_falls_back_to_extension_then_content() {
        let cases: &[(&str, &[u8], &str)] = &[
            ("notes.md", b"<!-- draft -->\n# Hi", "text/markdown"),
            ("README.markdown", b"# Hi", "text/markdown"),
            ("index.HTM", b"hello", "text/html"),
            ("data.csv", b"a,b", "text/csv"),
            ("dir/page", b"<html><body>x", "text/html"),
            ("LICENSE", b"Licence \xc3\xa9", "text/plain"),
            // A multi-byte character cut by the end of the head is still text.
            ("notes", b"caf\xc3", "text/plain"),
            ("notes", b"text\0with nul", "application/octet-stream"),
        ];
        for (name, head, want) in cases {
            assert_eq!(sniff_mime(name, head), *want, "{name}");
        }
    }

    #[test]
    fn binary_junk_is_octet_stream_and_not_extracted() {
        let junk: Vec<u8> = (0u32..4096)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mime = sniff_mime("blob", &junk);
        assert_eq!(mime, "application/octet-stream");
        assert!(extract_text(&mime, &junk).unwrap().is_none());
        assert!(extract_text("image/png", b"\x89PNG").unwrap().is_none());
    }

    #[test]
    fn output_is_capped_and_huge_input_refused() {
        let input = "\u{e9}".repeat(MAX_TEXT_BYTES); // 2 bytes each: twice the cap
        let out = text("text/plain", input.as_bytes());
        assert!(out.len() <= MAX_TEXT_BYTES && out.len() > MAX_TEXT_BYTES - 4);
        assert!(out.chars().all(|c| c == '\u{e9}'));
        let huge = vec![0u8; MAX_INPUT_BYTES + 1];
        assert!(extract_text("text/plain", &huge).unwrap().is_none());
        assert!(extract_text("application/pdf", &huge).unwrap().is_none());
    }
}
