//! Office documents: the text and the title, author, date and page or
//! slide count of Office Open XML (DOCX, XLSX, PPTX) and OpenDocument
//! (ODT, ODS, ODP) files. Both are ZIP archives of XML parts; every part
//! is read with a bound on what it may expand to (a ZIP bomb is stopped
//! and reported) and parsed without DTDs (no entity expansion).

use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::{ExtractError, Extracted, Meta, TextSink, put};

/// Most all parts read from one archive may expand to (64 MiB).
const MAX_EXPANDED: u64 = 64 << 20;
/// Most an archive may expand by, as a ratio of its size.
const MAX_RATIO: u64 = 1000;
/// Most parts (slides, sheets) read from one archive.
const MAX_PARTS: usize = 2000;

/// The office formats this module reads, by MIME type.
pub fn is_office(mime: &str) -> bool {
    mime.starts_with("application/vnd.openxmlformats-officedocument.")
        || mime.starts_with("application/vnd.oasis.opendocument.")
}

/// Text and metadata of an office document.
pub fn extract(mime: &str, bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let mut zip = Archive::open(bytes)?;
    let mut meta = Meta::new();
    let mut sink = TextSink::default();
    if mime.starts_with("application/vnd.oasis.opendocument.") {
        if let Some(xml) = zip.part("meta.xml")? {
            odf_meta(&parse(&xml)?, &mut meta);
        }
        if let Some(xml) = zip.part("content.xml")? {
            text_of(&parse(&xml)?, &mut sink);
        }
    } else {
        if let Some(xml) = zip.part("docProps/core.xml")? {
            ooxml_core(&parse(&xml)?, &mut meta);
        }
        if let Some(xml) = zip.part("docProps/app.xml")? {
            ooxml_app(&parse(&xml)?, &mut meta);
        }
        for name in zip.text_parts() {
            if let Some(xml) = zip.part(&name)? {
                text_of(&parse(&xml)?, &mut sink);
                sink.space();
            }
        }
    }
    Ok(Extracted {
        text: Some(sink.finish()),
        meta,
    })
}

/// A ZIP archive read within bounds.
struct Archive<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    /// Bytes still allowed to expand to.
    budget: u64,
    size: usize,
}

impl<'a> Archive<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self, ExtractError> {
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(malformed)?;
        let budget = MAX_EXPANDED.min((bytes.len() as u64).saturating_mul(MAX_RATIO));
        Ok(Archive {
            zip,
            budget,
            size: bytes.len(),
        })
    }

    /// The XML parts that hold a document's text, in reading order.
    fn text_parts(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .zip
            .file_names()
            .filter_map(Result::ok)
            .filter(|n| {
                *n == "word/document.xml"
                    || *n == "xl/sharedStrings.xml"
                    || (n.starts_with("ppt/slides/slide") && n.ends_with(".xml"))
                    || (n.starts_with("word/") && (n.contains("footnotes") || n.contains("header")))
            })
            .map(|n| n.into_owned())
            .take(MAX_PARTS)
            .collect();
        // slide2 before slide10.
        names.sort_by_key(|n| {
            let stem: String = n.chars().filter(|c| !c.is_ascii_digit()).collect();
            let number: String = n.chars().filter(char::is_ascii_digit).collect();
            (stem, number.parse::<u64>().unwrap_or(0))
        });
        names
    }

    /// Part `name` as text, `None` when the archive has no such part.
    fn part(&mut self, name: &str) -> Result<Option<String>, ExtractError> {
        let mut file = match self.zip.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(malformed(e)),
        };
        let mut out = Vec::new();
        let read = (&mut file).take(self.budget + 1).read_to_end(&mut out);
        read.map_err(malformed)?;
        if out.len() as u64 > self.budget {
            return Err(ExtractError::Bomb {
                format: "office document",
                message: format!(
                    "{} bytes expand to more than {} MiB; stopped",
                    self.size,
                    MAX_EXPANDED.min((self.size as u64).saturating_mul(MAX_RATIO)) >> 20
                ),
            });
        }
        self.budget -= out.len() as u64;
        Ok(Some(String::from_utf8_lossy(&out).into_owned()))
    }
}

fn malformed(e: impl std::fmt::Display) -> ExtractError {
    ExtractError::Malformed {
        format: "office document",
        message: e.to_string(),
    }
}

fn parse(xml: &str) -> Result<roxmltree::Document<'_>, ExtractError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 4_000_000,
    };
    roxmltree::Document::parse_with_options(xml, options).map_err(malformed)
}

/// Text nodes in document order; paragraphs, cells, tabs and breaks
/// separate words, runs inside a word do not.
fn text_of(doc: &roxmltree::Document<'_>, sink: &mut TextSink) {
    const BREAKS: &[&str] = &[
        "p",
        "h",
        "br",
        "tab",
        "tc",
        "si",
        "line-break",
        "table-cell",
        "list-item",
        "s",
    ];
    for node in doc.descendants() {
        if node.is_text()
            && let Some(t) = node.text()
        {
            sink.push(t);
        } else if node.is_element() && BREAKS.contains(&node.tag_name().name()) {
            sink.space();
        }
        if sink.full {
            return;
        }
    }
}

/// The text of the first element named `local` (any namespace).
fn first<'a>(doc: &'a roxmltree::Document<'_>, local: &str) -> Option<&'a str> {
    doc.descendants()
        .find(|n| n.is_element() && n.tag_name().name() == local)
        .and_then(|n| n.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// `docProps/core.xml`: Dublin Core title, creator, created.
fn ooxml_core(doc: &roxmltree::Document<'_>, meta: &mut Meta) {
    for (local, key) in [
        ("title", "title"),
        ("creator", "author"),
        ("subject", "subject"),
    ] {
        if let Some(v) = first(doc, local) {
            put(meta, key, v.to_string());
        }
    }
    if let Some(v) = first(doc, "created") {
        put(meta, "date", v.to_string());
    }
}

/// `docProps/app.xml`: pages (word processing), slides (presentations).
fn ooxml_app(doc: &roxmltree::Document<'_>, meta: &mut Meta) {
    for (local, key) in [("Pages", "pages"), ("Slides", "slides")] {
        if let Some(v) = first(doc, local).filter(|v| v.parse::<u64>().is_ok_and(|n| n > 0)) {
            put(meta, key, v.to_string());
        }
    }
}

/// `meta.xml` of an OpenDocument: title, creator, creation date, pages.
fn odf_meta(doc: &roxmltree::Document<'_>, meta: &mut Meta) {
    if let Some(v) = first(doc, "title") {
        put(meta, "title", v.to_string());
    }
    if let Some(v) = first(doc, "initial-creator").or_else(|| first(doc, "creator")) {
        put(meta, "author", v.to_string());
    }
    if let Some(v) = first(doc, "subject") {
        put(meta, "subject", v.to_string());
    }
    if let Some(v) = first(doc, "creation-date") {
        put(meta, "date", v.to_string());
    }
    let stats = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "document-statistic");
    if let Some(pages) = stats.and_then(|n| {
        n.attributes()
            .find(|a| a.name() == "page-count")
            .map(|a| a.value().to_string())
    }) {
        put(meta, "pages", pages);
    }
}
