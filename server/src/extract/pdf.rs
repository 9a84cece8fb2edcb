//! PDF: text of every page, and the document information dictionary
//! (`title`, `author`, `subject`, `keywords`, `date`) with the page count
//! (`pages`).

use std::collections::BTreeMap;

use pdf_extract::{Document, Object, PlainTextOutput};

use super::{ExtractError, Meta, collapse, guarded, put};

/// Text and metadata of a PDF, parsed once.
pub fn extract(bytes: &[u8]) -> Result<(String, Meta), ExtractError> {
    guarded("PDF", || {
        let doc = Document::load_mem(bytes).map_err(|e| ExtractError::Pdf { source: e.into() })?;
        let meta = meta(&doc);
        let text = if doc.is_encrypted() {
            // pdf-extract decrypts documents with an empty user password.
            pdf_extract::extract_text_from_mem(bytes)
        } else {
            let mut s = String::new();
            pdf_extract::output_doc(&doc, &mut PlainTextOutput::new(&mut s)).map(|()| s)
        }
        .map_err(|source| ExtractError::Pdf { source })?;
        Ok((collapse(&text), meta))
    })?
}

/// The information dictionary's values and the page count.
fn meta(doc: &Document) -> Meta {
    let mut out = BTreeMap::new();
    put(&mut out, "pages", doc.get_pages().len().to_string());
    let info = doc
        .trailer
        .get_deref(b"Info", doc)
        .and_then(Object::as_dict);
    let Ok(info) = info else { return out };
    for (field, key) in [
        (&b"Title"[..], "title"),
        (b"Author", "author"),
        (b"Subject", "subject"),
        (b"Keywords", "keywords"),
    ] {
        if let Ok(text) = info
            .get_deref(field, doc)
            .and_then(pdf_extract::decode_text_string)
        {
            put(&mut out, key, text);
        }
    }
    if let Some(date) = info
        .get_deref(b"CreationDate", doc)
        .ok()
        .and_then(|o| o.as_str().ok())
        .and_then(|s| pdf_date(&String::from_utf8_lossy(s)))
    {
        put(&mut out, "date", date);
    }
    out
}

/// A PDF date (`D:YYYYMMDDHHmmSS` with an optional zone) as RFC 3339, or
/// the date alone when only that much is given.
pub fn pdf_date(s: &str) -> Option<String> {
    let s = s.trim().strip_prefix("D:").unwrap_or(s.trim());
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    let field = |from: usize, len: usize| digits.get(from..from + len);
    let (y, m, d) = (
        field(0, 4)?,
        field(4, 2).unwrap_or("01"),
        field(6, 2).unwrap_or("01"),
    );
    let Some(hour) = field(8, 2) else {
        return Some(format!("{y}-{m}-{d}"));
    };
    let (min, sec) = (field(10, 2).unwrap_or("00"), field(12, 2).unwrap_or("00"));
    let rest = &s[digits.len()..];
    let zone = match rest.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let z: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            format!("{sign}{}:{}", z.get(0..2)?, z.get(2..4).unwrap_or("00"))
        }
        _ => "Z".to_string(),
    };
    Some(format!("{y}-{m}-{d}T{hour}:{min}:{sec}{zone}"))
}

#[cfg(test)]
mod tests {
    use super::pdf_date;

    #[test]
    fn pdf_dates_become_rfc3339() {
        assert_eq!(
            pdf_date("D:20230415093000Z").unwrap(),
            "2023-04-15T09:30:00Z"
        );
        assert_eq!(
            pdf_date("D:20230415093000+02'00'").unwrap(),
            "2023-04-15T09:30:00+02:00"
        );
        assert_eq!(pdf_date("D:2023").unwrap(), "2023-01-01");
        assert_eq!(pdf_date("D:20230415").unwrap(), "2023-04-15");
        assert_eq!(pdf_date("yesterday"), None);
    }
}
