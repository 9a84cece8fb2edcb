//! The reference executor of [`Listing`]s: a slow, obvious implementation
//! over documents in memory, for tests of the server's index queries and for
//! front-ends that list a small set offline.

use std::collections::BTreeSet;

use crate::id::DocId;
use crate::model::Metadata;

use super::listing::has_pair;
use super::{DocFilter, EntryIn, Listing, Subdirs, disambiguate, value_component};

/// A live document as [`list_naive`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocView {
    /// Its id.
    pub id: DocId,
    /// Its name.
    pub name: String,
    /// Its metadata.
    pub meta: Metadata,
    /// The revision of its last change.
    pub rev: u64,
}

/// What exists without documents: tags created by `Op::CreateTag` and
/// `/files/` directories created by `Op::CreateDir` (not deleted since).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extras {
    /// Tags that exist even if no document carries them.
    pub tags: BTreeSet<String>,
    /// `/files/` directories (relative paths) that exist even if empty.
    pub dirs: BTreeSet<String>,
}

/// One entry of an executed listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its final name, unique in the listing.
    pub name: String,
    /// The document, or `None` for a directory.
    pub doc: Option<DocId>,
}

/// Executes `listing` over the live documents `docs`.
///
/// Directories come first ([`Subdirs::Fixed`] in its order, others sorted
/// by name), then documents sorted by display name and id
/// ([`DocFilter::Recent`]: newest revision first, ties by id); names are
/// made unique with [`disambiguate`]. `None` for [`DocFilter::Query`],
/// which needs the full-text index.
pub fn list_naive(listing: &Listing, docs: &[DocView], extras: &Extras) -> Option<Vec<Entry>> {
    let mut entries: Vec<EntryIn> = subdir_names(&listing.subdirs, docs, extras)
        .into_iter()
        .map(EntryIn::dir)
        .collect();
    entries.extend(listed_docs(&listing.docs, docs)?);
    let names = disambiguate(&entries);
    Some(
        entries
            .into_iter()
            .zip(names)
            .map(|(e, name)| Entry { name, doc: e.doc })
            .collect(),
    )
}

/// The documents `filter` lists, in listing order, with display names.
fn listed_docs(filter: &DocFilter, docs: &[DocView]) -> Option<Vec<EntryIn>> {
    let mut chosen: Vec<&DocView> = match filter {
        DocFilter::Query(_) => return None,
        DocFilter::Recent(limit) => {
            let mut all: Vec<&DocView> = docs.iter().collect();
            all.sort_by(|a, b| b.rev.cmp(&a.rev).then(a.id.cmp(&b.id)));
            all.truncate(*limit);
            all
        }
        _ => docs
            .iter()
            .filter(|d| filter.matches(&d.meta) == Some(true))
            .collect(),
    };
    let mut out: Vec<(EntryIn, u64)> = chosen
        .drain(..)
        .map(|d| {
            (
                EntryIn::doc(filter.display_name(&d.name, &d.meta), d.id),
                d.rev,
            )
        })
        .collect();
    if !matches!(filter, DocFilter::Recent(_)) {
        out.sort_by(|(a, _), (b, _)| (&a.name, a.doc).cmp(&(&b.name, b.doc)));
    }
    Some(out.into_iter().map(|(e, _)| e).collect())
}

/// The subdirectory names `subdirs` lists.
fn subdir_names(subdirs: &Subdirs, docs: &[DocView], extras: &Extras) -> Vec<String> {
    let matching = |pairs: &[(String, String)]| -> Vec<&Metadata> {
        docs.iter()
            .map(|d| &d.meta)
            .filter(|m| pairs.iter().all(|(k, v)| has_pair(m, k, v)))
            .collect()
    };
    let set: BTreeSet<String> = match subdirs {
        Subdirs::None => BTreeSet::new(),
        Subdirs::Fixed(names) => return names.iter().map(|n| n.to_string()).collect(),
        Subdirs::AllTags => {
            let carried = values_of(&matching(&[]), "tag");
            carried
                .union(&extras.tags)
                .filter_map(|t| value_component(t))
                .collect()
        }
        Subdirs::CoTags { tags } => {
            let pairs: Vec<(String, String)> = tags
                .iter()
                .map(|t| ("tag".to_string(), t.clone()))
                .collect();
            let carried = values_of(&matching(&pairs), "tag");
            carried
                .iter()
                .filter(|t| !tags.contains(t))
                .filter_map(|t| value_component(t))
                .collect()
        }
        Subdirs::Keys => keys_of(&matching(&[])),
        Subdirs::Values { filters, key } => values_of(&matching(filters), key)
            .into_iter()
            .filter(|v| !filters.iter().any(|(k, fv)| k == key && fv == v))
            .filter_map(|v| value_component(&v))
            .collect(),
        Subdirs::OtherKeys { filters } => keys_of(&matching(filters))
            .into_iter()
            .filter(|k| !filters.iter().any(|(fk, _)| fk == k))
            .collect(),
        Subdirs::FilesDirs { dir } => files_dirs(dir, docs, extras),
    };
    set.into_iter().collect()
}

/// Every value of `key` in `metas`.
fn values_of(metas: &[&Metadata], key: &str) -> BTreeSet<String> {
    metas
        .iter()
        .filter_map(|m| m.get(key))
        .flatten()
        .cloned()
        .collect()
}

/// Every key of `metas`.
fn keys_of(metas: &[&Metadata]) -> BTreeSet<String> {
    metas.iter().flat_map(|m| m.keys()).cloned().collect()
}

/// The directories directly inside `/files/` directory `dir`.
fn files_dirs(dir: &str, docs: &[DocView], extras: &Extras) -> BTreeSet<String> {
    let below = |path: &str| -> Option<String> {
        let rest = if dir.is_empty() {
            path
        } else {
            path.strip_prefix(dir)?.strip_prefix('/')?
        };
        Some(rest.split('/').next()?.to_string()).filter(|c| !c.is_empty())
    };
    let doc_dirs = docs
        .iter()
        .filter_map(|d| d.meta.get("path"))
        .flatten()
        .filter_map(|p| p.rsplit_once('/').map(|(parent, _)| parent));
    doc_dirs
        .chain(extras.dirs.iter().map(String::as_str))
        .filter_map(below)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_dir;

    fn doc(n: u128, name: &str, pairs: &[(&str, &str)]) -> DocView {
        let mut meta = Metadata::new();
        for (k, v) in pairs {
            meta.entry(k.to_string()).or_default().push(v.to_string());
        }
        DocView {
            id: DocId::from_u128(n << 100),
            name: name.into(),
            meta,
            rev: n as u64,
        }
    }

    fn corpus() -> Vec<DocView> {
        vec![
            doc(
                1,
                "so what.flac",
                &[("tag", "jazz"), ("tag", "live"), ("year", "1959")],
            ),
            doc(
                2,
                "live",
                &[
                    ("tag", "jazz"),
                    ("year", "1960"),
                    ("path", "music/jazz/live"),
                ],
            ),
            doc(
                3,
                "notes.txt",
                &[("tag", "a/b"), ("path", "notes.txt"), ("author", "alice")],
            ),
        ]
    }

    fn names(path: &str, extras: &Extras) -> Vec<String> {
        let listing = parse_dir(path).unwrap().listing();
        let entries = list_naive(&listing, &corpus(), extras).unwrap();
        entries.into_iter().map(|e| e.name).collect()
    }

    #[test]
    fn naive_root_and_all() {
        let none = Extras::default();
        assert_eq!(
            names("/", &none),
            ["all", "tags", "by", "files", "search", "recent", "ids"]
        );
        assert_eq!(names("/all/", &none), ["live", "notes.txt", "so what.flac"]);
    }

    #[test]
    fn naive_tags_with_co_tags_and_clashes() {
        let extras = Extras {
            tags: ["empty".to_string()].into(),
            ..Extras::default()
        };
        assert_eq!(
            names("/tags/", &extras),
            ["a\u{2215}b", "empty", "jazz", "live"]
        );
        // The document called "live" clashes with the co-tag directory "live".
        let live = format!("live~{}", DocId::from_u128(2 << 100).short());
        assert_eq!(
            names("/tags/jazz/", &extras),
            ["live", live.as_str(), "so what.flac"]
        );
        assert_eq!(names("/tags/jazz/live/", &extras), ["so what.flac"]);
    }

    #[test]
    fn naive_by_keys_values_and_refinements() {
        let none = Extras::default();
        assert_eq!(names("/by/", &none), ["author", "path", "tag", "year"]);
        assert_eq!(names("/by/year/", &none), ["1959", "1960"]);
        assert_eq!(
            names("/by/tag/jazz/", &none),
            ["path", "year", "live", "so what.flac"]
        );
        assert_eq!(names("/by/tag/jazz/tag/", &none), ["live"]);
    }

    #[test]
    fn naive_files_lists_path_children() {
        let extras = Extras {
            dirs: ["music/classical".to_string()].into(),
            ..Extras::default()
        };
        assert_eq!(names("/files/", &extras), ["music", "notes.txt"]);
        assert_eq!(names("/files/music/", &extras), ["classical", "jazz"]);
        assert_eq!(names("/files/music/jazz/", &extras), ["live"]);
    }

    #[test]
    fn naive_recent_is_newest_first() {
        assert_eq!(
            names("/recent/", &Extras::default()),
            ["notes.txt", "live", "so what.flac"]
        );
    }

    #[test]
    fn naive_cannot_run_queries() {
        let listing = Listing {
            docs: DocFilter::Query("x".into()),
            subdirs: Subdirs::None,
        };
        assert_eq!(list_naive(&listing, &corpus(), &Extras::default()), None);
    }
}
