//! The preview of the selected document: its metadata and, for text, the
//! start of its content. Fetched only once the selection rests
//! ([`SETTLE`]), so holding ↓ through a column does not fetch every
//! document it passes.

use std::sync::Arc;
use std::time::Duration;

use docgrid_core::DocId;
use docgrid_core::api::DocInfo;

/// How long a selection must rest before its document is fetched.
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

    /// Whether what it shows has arrived (or failed).
    pub fn settled(&self) -> bool {
        self.error.is_some() || (self.doc.is_some() && (self.text.is_some() || !self.is_text()))
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
