//! The search box: docgrid's query language, checked by core's parser as
//! it is submitted (a bad query names its position, marked under the
//! input), and results opened as a `/search/QUERY/` column.

use docgrid_core::query;
use docgrid_core::tree::Dir;

/// What the search box holds.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// The text typed.
    pub text: String,
    /// Why the last submitted query was refused.
    pub error: Option<SearchError>,
}

/// A refused query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchError {
    /// The parser's message.
    pub message: String,
    /// The character offset it points at.
    pub offset: usize,
}

impl Search {
    /// The tree path of the results of the text typed, or why the query
    /// does not parse (kept in [`Search::error`]).
    pub fn submit(&mut self) -> Option<String> {
        let text = self.text.trim().to_string();
        if text.is_empty() {
            self.error = None;
            return None;
        }
        match query::parse(&text) {
            Ok(_) => {
                self.error = None;
                Some(Dir::Search(text).to_path())
            }
            Err(e) => {
                self.error = Some(SearchError {
                    message: e.to_string(),
                    offset: e.offset,
                });
                None
            }
        }
    }

    /// The text with a caret under the error's position (for a monospace
    /// font): `year>=`, then `      ^`.
    pub fn marked(&self) -> Option<String> {
        let e = self.error.as_ref()?;
        let caret = " ".repeat(e.offset.min(self.text.chars().count()));
        Some(format!("{}\n{caret}^ {}", self.text, e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_query_is_a_search_path_and_a_bad_one_names_its_position() {
        let mut s = Search {
            text: "tag:jazz".into(),
            error: None,
        };
        assert_eq!(s.submit().as_deref(), Some("/search/tag:jazz/"));
        s.text = "year>=".into();
        assert_eq!(s.submit(), None);
        let e = s.error.clone().unwrap();
        assert_eq!(e.offset, 6, "{e:?}");
        assert!(
            s.marked()
                .unwrap()
                .ends_with(&format!("      ^ {}", e.message))
        );
    }
}
