//! Unique names inside one listing: `stem~SHORTID.ext` for clashing documents.
//!
//! A directory lists documents by name, and names are not unique: two
//! documents may share one, and a document may share one with a
//! subdirectory. [`disambiguate`] gives every clashing document the name
//! `stem~ID.ext`, where `ID` is the first [`SHORT_ID_LEN`] characters of its
//! id (more when two ids share them); [`parse_disambiguated`] reads such a
//! name back so a lookup can find the document.

use std::collections::HashMap;

use crate::id::{DOC_ID_LEN, DocId, SHORT_ID_LEN};

/// One entry of a listing, as [`disambiguate`] takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryIn {
    /// The display name before disambiguation (for documents:
    /// [`DocFilter::display_name`](super::DocFilter::display_name)).
    pub name: String,
    /// The document, or `None` for a directory.
    pub doc: Option<DocId>,
}

impl EntryIn {
    /// A directory entry.
    pub fn dir(name: impl Into<String>) -> Self {
        EntryIn {
            name: name.into(),
            doc: None,
        }
    }

    /// A document entry.
    pub fn doc(name: impl Into<String>, id: DocId) -> Self {
        EntryIn {
            name: name.into(),
            doc: Some(id),
        }
    }
}

/// Splits a name into stem and extension at the last `.`; a name without a
/// `.`, or whose only `.` is its first character (`.bashrc`), has none.
///
/// `a.tar.gz` → (`a.tar`, `gz`); `..x` → (`.`, `x`); `a.` → (`a`, ``).
pub fn split_ext(name: &str) -> (&str, Option<&str>) {
    match name.rfind('.') {
        None | Some(0) => (name, None),
        Some(i) => (&name[..i], Some(&name[i + 1..])),
    }
}

/// The name `stem~ID.ext` (or `name~ID` without an extension) for a
/// document called `name` and an id prefix `id`.
pub fn disambiguated_name(name: &str, id: &str) -> String {
    match split_ext(name) {
        (stem, Some(ext)) => format!("{stem}~{id}.{ext}"),
        (stem, None) => format!("{stem}~{id}"),
    }
}

/// The final, unique names of a listing's entries, in the same order.
///
/// Directories keep their names. A document keeps its name unless another
/// entry has the same name; then it is shown as
/// [`disambiguated_name`]`(name, short id)`, with the short id lengthened
/// (up to the full id) while that still clashes, and a document whose own
/// name clashes with such a generated name is disambiguated in turn.
///
/// The names are unique provided directory names are unique, no document
/// appears twice under one name, and no directory is named like a
/// document's full-id form.
pub fn disambiguate(entries: &[EntryIn]) -> Vec<String> {
    let ids: Vec<Option<String>> = entries
        .iter()
        .map(|e| e.doc.map(|id| id.to_string()))
        .collect();
    let max_level = DOC_ID_LEN - SHORT_ID_LEN + 1;
    // Level 0: the plain name; level n: the id prefix of SHORT_ID_LEN + n - 1.
    let mut level = vec![0usize; entries.len()];
    loop {
        let names: Vec<String> = entries
            .iter()
            .zip(&ids)
            .zip(&level)
            .map(|((entry, id), &level)| match id {
                Some(id) if level > 0 => {
                    disambiguated_name(&entry.name, &id[..SHORT_ID_LEN + level - 1])
                }
                _ => entry.name.clone(),
            })
            .collect();
        let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            groups.entry(name).or_default().push(i);
        }
        let mut bumped = false;
        for group in groups.values().filter(|g| g.len() > 1) {
            let docs: Vec<usize> = group
                .iter()
                .copied()
                .filter(|&i| ids[i].is_some() && level[i] < max_level)
                .collect();
            let Some(lowest) = docs.iter().map(|&i| level[i]).min() else {
                continue;
            };
            let lowest: Vec<usize> = docs.into_iter().filter(|&i| level[i] == lowest).collect();
            for i in lowest {
                level[i] += 1;
                bumped = true;
            }
        }
        if !bumped {
            return names;
        }
    }
}

/// Reads a name made by [`disambiguated_name`]: the document name and the
/// id prefix (lower case, [`SHORT_ID_LEN`] to [`DOC_ID_LEN`] characters of
/// base32), or `None` if `shown` is not of that form.
///
/// A document may really be called `x~1bcd2345`; lookups therefore try the
/// exact name first and this reading second, matching the prefix with
/// [`id_has_prefix`].
pub fn parse_disambiguated(shown: &str) -> Option<(String, String)> {
    if let Some((stem, id)) = shown.rsplit_once('~')
        && is_id_prefix(id)
        && !stem.is_empty()
        && split_ext(stem).1.is_none()
    {
        return Some((stem.to_string(), id.to_string()));
    }
    let (head, ext) = shown.rsplit_once('.')?;
    let (stem, id) = head.rsplit_once('~')?;
    let name = format!("{stem}.{ext}");
    (is_id_prefix(id) && split_ext(&name) == (stem, Some(ext))).then(|| (name, id.to_string()))
}

/// Whether `id`'s printed form starts with `prefix`.
pub fn id_has_prefix(id: &DocId, prefix: &str) -> bool {
    id.to_string().starts_with(prefix)
}

/// Whether `s` can be an id prefix made by [`disambiguate`].
fn is_id_prefix(s: &str) -> bool {
    (SHORT_ID_LEN..=DOC_ID_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_lowercase() && !b"ilou".contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(s: &str) -> DocId {
        let padded = format!("{s:0<26}");
        padded.parse().unwrap()
    }

    #[test]
    fn split_ext_follows_the_last_dot() {
        assert_eq!(split_ext("a.tar.gz"), ("a.tar", Some("gz")));
        assert_eq!(split_ext("report.pdf"), ("report", Some("pdf")));
        assert_eq!(split_ext(".bashrc"), (".bashrc", None));
        assert_eq!(split_ext(".config.toml"), (".config", Some("toml")));
        assert_eq!(split_ext("README"), ("README", None));
        assert_eq!(split_ext("a."), ("a", Some("")));
    }

    #[test]
    fn disambiguate_keeps_unique_names() {
        let e = [
            EntryIn::dir("jazz"),
            EntryIn::doc("a.pdf", id("1")),
            EntryIn::doc("b.pdf", id("2")),
        ];
        assert_eq!(disambiguate(&e), ["jazz", "a.pdf", "b.pdf"]);
    }

    #[test]
    fn disambiguate_clashing_documents_get_short_ids() {
        let (a, b) = (id("1bcd2345"), id("7xyz5678"));
        let e = [EntryIn::doc("report.pdf", a), EntryIn::doc("report.pdf", b)];
        assert_eq!(
            disambiguate(&e),
            ["report~1bcd2345.pdf", "report~7xyz5678.pdf"]
        );
    }

    #[test]
    fn disambiguate_document_clashing_with_directory() {
        let e = [EntryIn::dir("live"), EntryIn::doc("live", id("1bcd2345"))];
        assert_eq!(disambiguate(&e), ["live", "live~1bcd2345"]);
        let e = [
            EntryIn::doc(".bashrc", id("1bcd2345")),
            EntryIn::dir(".bashrc"),
        ];
        assert_eq!(disambiguate(&e), [".bashrc~1bcd2345", ".bashrc"]);
    }

    #[test]
    fn disambiguate_extends_shared_short_ids() {
        let (a, b) = (id("1bcd23455"), id("1bcd23456"));
        let e = [
            EntryIn::doc("x.txt", a),
            EntryIn::doc("x.txt", b),
            EntryIn::doc("x.txt", id("6")),
        ];
        assert_eq!(
            disambiguate(&e),
            ["x~1bcd23455.txt", "x~1bcd23456.txt", "x~60000000.txt"]
        );
    }

    #[test]
    fn disambiguate_literal_name_clashing_with_generated_one() {
        let (a, b, c) = (id("1bcd2345"), id("7xyz5678"), id("3mnp9999"));
        let e = [
            EntryIn::doc("a.pdf", a),
            EntryIn::doc("a.pdf", b),
            EntryIn::doc("a~1bcd2345.pdf", c),
        ];
        assert_eq!(
            disambiguate(&e),
            [
                "a~1bcd2345.pdf",
                "a~7xyz5678.pdf",
                "a~1bcd2345~3mnp9999.pdf"
            ]
        );
    }

    #[test]
    fn parse_disambiguated_recovers_name_and_id() {
        let p = parse_disambiguated;
        assert_eq!(
            p("report~1bcd2345.pdf"),
            Some(("report.pdf".into(), "1bcd2345".into()))
        );
        assert_eq!(p("live~1bcd2345"), Some(("live".into(), "1bcd2345".into())));
        assert_eq!(
            p(".bashrc~1bcd2345"),
            Some((".bashrc".into(), "1bcd2345".into()))
        );
        assert_eq!(
            p(".~1bcd2345.hidden"),
            Some(("..hidden".into(), "1bcd2345".into()))
        );
        assert_eq!(p("a.x~1bcd2345"), None, "canonical form is a~ID.x");
        assert_eq!(p("report.pdf"), None);
        assert_eq!(p("report~abc.pdf"), None, "too short");
        assert_eq!(p("report~abcdefgi.pdf"), None, "not base32");
        assert_eq!(p("~1bcd2345"), None);
    }

    #[test]
    fn id_prefix_match() {
        assert!(id_has_prefix(&id("1bcd2345"), "1bcd2345"));
        assert!(!id_has_prefix(&id("1bcd2345"), "1bcd2346"));
    }

    fn entries() -> impl Strategy<Value = Vec<EntryIn>> {
        let name = "[ab.~]{1,4}|a~0[0-3]000000(\\.b)?";
        let docs = prop::collection::vec((name, 0u128..4, any::<u64>()), 0..12);
        let dirs = prop::collection::btree_set(name, 0..4);
        (docs, dirs).prop_map(|(docs, dirs)| {
            let mut out: Vec<EntryIn> = dirs.into_iter().map(EntryIn::dir).collect();
            for (i, (name, top, low)) in docs.into_iter().enumerate() {
                // Ids share their first characters often, and are distinct.
                let bits = (top << 120) | (u128::from(low) << 8) | i as u128;
                out.push(EntryIn::doc(name, DocId::from_u128(bits)));
            }
            out
        })
    }

    proptest! {
        #[test]
        fn disambiguate_yields_unique_recoverable_names(entries in entries()) {
            let names = disambiguate(&entries);
            prop_assert_eq!(names.len(), entries.len());
            let unique: std::collections::HashSet<&String> = names.iter().collect();
            prop_assert_eq!(unique.len(), names.len(), "{:?}", names);
            for (entry, shown) in entries.iter().zip(&names) {
                match entry.doc {
                    None => prop_assert_eq!(shown, &entry.name),
                    Some(_) if shown == &entry.name => {}
                    Some(id) => {
                        let (name, prefix) = parse_disambiguated(shown).unwrap();
                        prop_assert_eq!(&name, &entry.name);
                        prop_assert!(id_has_prefix(&id, &prefix));
                    }
                }
            }
        }
    }
}
