//! The preview of the selected document: its metadata, its history and
//! its content — the start of a text, an image decoded and scaled, a
//! PDF's first page rendered. A selection after a rest is fetched at
//! once; in a quick run of selections (↓ held) only where the run rests
//! ([`SETTLE`]), so holding ↓ through a column does not fetch every
//! document it passes. Decoding runs off the UI thread.

use std::sync::Arc;
use std::time::Duration;

use docgrid_core::DocId;
use docgrid_core::api::{DocInfo, HistoryEntry};

use crate::picture::Picture;

/// How long a selection must rest, within a quick run of selections,
/// before its document is fetched.
pub const SETTLE: Duration = Duration::from_millis(150);

/// How much of a text document is shown.
pub const TEXT_BYTES: usize = 256 << 10;

/// The document the last column previews.
#[derive(Debug, Clone)]
pub struct Preview {
    /// Its tree path.
    pub path: String,
    /// The document.
    pub id: DocId,
    /// Its MIME type, as listed.
    pub mime: Option<String>,
    /// Its metadata, once fetched.
    pub doc: Option<Arc<DocInfo>>,
    /// The start of its content, for a text document, once fetched.
    pub text: Option<String>,
    /// Its revisions, newest first (or why not), once fetched.
    pub history: Option<Result<Vec<HistoryEntry>, String>>,
    /// Its picture (or why there is none), once drawn.
    pub picture: Option<Result<Arc<Picture>, String>>,
    /// For a type shown neither as text nor as a picture: the text the
    /// server extracted (empty: none), once fetched.
    pub extracted: Option<Result<String, String>>,
    /// Why a fetch failed.
    pub error: Option<String>,
    /// The edit fields and the last edit's outcome.
    pub editing: crate::edit::EditState,
}

impl Preview {
    /// A preview of `id` at `path`, nothing fetched yet.
    pub fn new(path: String, id: DocId, mime: Option<String>) -> Preview {
        Preview {
            path,
            id,
            mime,
            doc: None,
            text: None,
            history: None,
            picture: None,
            extracted: None,
            error: None,
            editing: crate::edit::EditState::default(),
        }
    }

    /// Whether its content is shown as text: `text/*`, and the common
    /// source and data types servers label otherwise.
    pub fn is_text(&self) -> bool {
        let mime = self.mime.as_deref().unwrap_or("");
        mime.starts_with("text/")
            || matches!(
                mime,
                "application/json"
                    | "application/xml"
                    | "application/toml"
                    | "application/x-sh"
                    | "application/javascript"
                    | "application/x-yaml"
            )
    }

    /// Its MIME type if it is shown as a picture: the images decoded
    /// here, and PDFs.
    pub fn picture_mime(&self) -> Option<&str> {
        let mime = self.mime.as_deref()?;
        crate::picture::can_draw(mime).then_some(mime)
    }

    /// Whether it is shown by the text the server extracted (an office
    /// document, a compressed text…): neither text nor a picture.
    pub fn wants_extracted(&self) -> bool {
        !self.is_text() && self.picture_mime().is_none()
    }

    /// Whether what it shows has arrived (or failed).
    pub fn settled(&self) -> bool {
        self.error.is_some()
            || (self.doc.is_some()
                && self.history.is_some()
                && (self.text.is_some() || !self.is_text())
                && (self.picture.is_some() || self.picture_mime().is_none())
                && (self.extracted.is_some() || !self.wants_extracted()))
    }
}

/// The start of a text document's bytes as text: invalid UTF-8 replaced,
/// a character cut by the limit dropped.
pub fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_cut_at_the_limit_is_dropped() {
        assert_eq!(text_of("só".as_bytes()), "só");
        assert_eq!(text_of(&"só".as_bytes()[..2]), "s");
        assert_eq!(text_of(b"a\xffb"), "a\u{fffd}b");
    }
}
