//! What a directory lists: a [`Listing`] the server executes against its index.
//!
//! A listing has two halves: which documents appear inline ([`DocFilter`])
//! and which subdirectories ([`Subdirs`]). Tags and values become directory
//! names through [`value_component`](super::value_component); documents and
//! directories that clash are then told apart by
//! [`disambiguate`](super::disambiguate). [`list_naive`](super::list_naive) is
//! the reference executor.

use crate::model::Metadata;

use super::{Dir, ROOT_ENTRIES};

/// How many documents `/recent/` lists.
pub const RECENT_LIMIT: usize = 100;

/// What a directory lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The documents shown inline.
    pub docs: DocFilter,
    /// The subdirectories shown.
    pub subdirs: Subdirs,
}

/// Which live documents a directory shows inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocFilter {
    /// None (`/`, `/tags/`, `/by/`, `/by/…/K/`, `/search/`, `/ids/`).
    None,
    /// Every live document (`/all/`).
    All,
    /// Documents carrying every `key = value` pair, compared exactly (no
    /// globs, case-sensitive). `/tags/A/B/` is `[("tag","A"), ("tag","B")]`.
    Pairs(Vec<(String, String)>),
    /// Documents with a `path` value directly inside this `/files/`
    /// directory (`"a/b"`: paths `a/b/NAME`; `""`: paths without a `/`).
    /// They are shown under the last component of that path.
    FilesDir(String),
    /// Documents matching this query text (it parses with
    /// [`crate::query::parse`]).
    Query(String),
    /// The given number of documents with the highest revision of last
    /// change, newest first.
    Recent(usize),
}

/// Which subdirectories a directory shows. Names of tags and values are
/// made with [`value_component`](super::value_component), and values
/// without one are skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subdirs {
    /// No subdirectories.
    None,
    /// These names, in this order (`/` shows [`ROOT_ENTRIES`]).
    Fixed(&'static [&'static str]),
    /// Every tag: those live documents carry and those created empty
    /// (`Op::CreateTag`) and not deleted since.
    AllTags,
    /// Every tag carried by a live document that carries all of `tags`,
    /// except `tags` themselves.
    CoTags {
        /// The tags on the path.
        tags: Vec<String>,
    },
    /// Every key carried by a live document.
    Keys,
    /// Every value of `key` among live documents carrying all `filters`,
    /// except values already paired with `key` in `filters`.
    Values {
        /// The `key = value` pairs on the path.
        filters: Vec<(String, String)>,
        /// The key whose values are listed.
        key: String,
    },
    /// Every key carried by a live document that carries all `filters`,
    /// except the keys of `filters` (further refinements).
    OtherKeys {
        /// The `key = value` pairs on the path.
        filters: Vec<(String, String)>,
    },
    /// Every directory directly inside this `/files/` directory (`""`: the
    /// top): the next component of a longer `path` value of a live
    /// document, or of a directory created with `Op::CreateDir` and not
    /// deleted since.
    FilesDirs {
        /// The directory, relative, `/`-separated.
        dir: String,
    },
}

impl Dir {
    /// What this directory lists (`docs/design.md`, "The tree").
    pub fn listing(&self) -> Listing {
        let (docs, subdirs) = match self {
            Dir::Root => (DocFilter::None, Subdirs::Fixed(&ROOT_ENTRIES)),
            Dir::All => (DocFilter::All, Subdirs::None),
            Dir::TagsRoot => (DocFilter::None, Subdirs::AllTags),
            Dir::Tags(tags) => (
                DocFilter::Pairs(
                    tags.iter()
                        .map(|t| ("tag".to_string(), t.clone()))
                        .collect(),
                ),
                Subdirs::CoTags { tags: tags.clone() },
            ),
            Dir::ByRoot => (DocFilter::None, Subdirs::Keys),
            Dir::ByKey { filters, key } => (
                DocFilter::None,
                Subdirs::Values {
                    filters: filters.clone(),
                    key: key.clone(),
                },
            ),
            Dir::ByValue { filters } => (
                DocFilter::Pairs(filters.clone()),
                Subdirs::OtherKeys {
                    filters: filters.clone(),
                },
            ),
            Dir::Files(parts) => {
                let dir = parts.join("/");
                (DocFilter::FilesDir(dir.clone()), Subdirs::FilesDirs { dir })
            }
            Dir::SearchRoot | Dir::Ids => (DocFilter::None, Subdirs::None),
            Dir::Search(query) => (DocFilter::Query(query.clone()), Subdirs::None),
            Dir::Recent => (DocFilter::Recent(RECENT_LIMIT), Subdirs::None),
        };
        Listing { docs, subdirs }
    }
}

impl DocFilter {
    /// Whether a document with this metadata is listed, when that can be
    /// told from the metadata alone: `None` for [`DocFilter::Query`] (it
    /// needs full text) and [`DocFilter::Recent`] (it needs the others).
    pub fn matches(&self, meta: &Metadata) -> Option<bool> {
        Some(match self {
            DocFilter::None => false,
            DocFilter::All => true,
            DocFilter::Pairs(pairs) => pairs.iter().all(|(k, v)| has_pair(meta, k, v)),
            DocFilter::FilesDir(dir) => files_leaf(dir, meta).is_some(),
            DocFilter::Query(_) | DocFilter::Recent(_) => return None,
        })
    }

    /// The name a listed document is shown under, before disambiguation:
    /// in [`DocFilter::FilesDir`] the last component of its `path` value
    /// in that directory (the first such value), elsewhere (or with no
    /// such value) its `name`.
    pub fn display_name(&self, name: &str, meta: &Metadata) -> String {
        match self {
            DocFilter::FilesDir(dir) => files_leaf(dir, meta).unwrap_or(name).to_string(),
            _ => name.to_string(),
        }
    }
}

/// Whether `meta` has `value` among the values of `key`.
pub(super) fn has_pair(meta: &Metadata, key: &str, value: &str) -> bool {
    meta.get(key)
        .is_some_and(|values| values.iter().any(|v| v == value))
}

/// The last component of the first `path` value directly inside `dir`.
fn files_leaf<'a>(dir: &str, meta: &'a Metadata) -> Option<&'a str> {
    meta.get("path")?.iter().find_map(|path| {
        let leaf = if dir.is_empty() {
            path.as_str()
        } else {
            path.strip_prefix(dir)?.strip_prefix('/')?
        };
        (!leaf.is_empty() && !leaf.contains('/')).then_some(leaf)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_dir;

    fn listing(path: &str) -> Listing {
        parse_dir(path).unwrap().listing()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn meta(p: &[(&str, &str)]) -> Metadata {
        let mut m = Metadata::new();
        for (k, v) in p {
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        m
    }

    #[test]
    fn listing_root_shows_the_fixed_directories() {
        let l = listing("/");
        assert_eq!(l.docs, DocFilter::None);
        assert_eq!(
            l.subdirs,
            Subdirs::Fixed(&["all", "tags", "by", "files", "search", "recent", "ids"])
        );
    }

    #[test]
    fn listing_all_shows_every_document() {
        assert_eq!(
            listing("/all/"),
            Listing {
                docs: DocFilter::All,
                subdirs: Subdirs::None
            }
        );
    }

    #[test]
    fn listing_tags_root_shows_every_tag() {
        assert_eq!(
            listing("/tags/"),
            Listing {
                docs: DocFilter::None,
                subdirs: Subdirs::AllTags
            }
        );
    }

    #[test]
    fn listing_tags_shows_tagged_docs_and_co_tags() {
        let l = listing("/tags/jazz/live/");
        assert_eq!(
            l.docs,
            DocFilter::Pairs(pairs(&[("tag", "jazz"), ("tag", "live")]))
        );
        assert_eq!(
            l.subdirs,
            Subdirs::CoTags {
                tags: vec!["jazz".into(), "live".into()]
            }
        );
    }

    #[test]
    fn listing_by_shows_keys_then_values_then_docs_and_other_keys() {
        assert_eq!(listing("/by/").subdirs, Subdirs::Keys);
        let l = listing("/by/author/");
        assert_eq!(l.docs, DocFilter::None);
        assert_eq!(
            l.subdirs,
            Subdirs::Values {
                filters: vec![],
                key: "author".into()
            }
        );
        let l = listing("/by/author/alice/year/");
        assert_eq!(
            l.subdirs,
            Subdirs::Values {
                filters: pairs(&[("author", "alice")]),
                key: "year".into()
            }
        );
        let l = listing("/by/author/alice/year/2020/");
        let f = pairs(&[("author", "alice"), ("year", "2020")]);
        assert_eq!(l.docs, DocFilter::Pairs(f.clone()));
        assert_eq!(l.subdirs, Subdirs::OtherKeys { filters: f });
    }

    #[test]
    fn listing_files_shows_path_children() {
        let l = listing("/files/a/b/");
        assert_eq!(l.docs, DocFilter::FilesDir("a/b".into()));
        assert_eq!(l.subdirs, Subdirs::FilesDirs { dir: "a/b".into() });
        assert_eq!(listing("/files/").docs, DocFilter::FilesDir(String::new()));
    }

    #[test]
    fn listing_recent_search_and_ids() {
        assert_eq!(listing("/recent/").docs, DocFilter::Recent(100));
        assert_eq!(
            listing("/ids/"),
            Listing {
                docs: DocFilter::None,
                subdirs: Subdirs::None
            }
        );
        assert_eq!(
            listing("/search/"),
            Listing {
                docs: DocFilter::None,
                subdirs: Subdirs::None
            }
        );
        let l = Dir::Search("tag:jazz year>=1960".into()).listing();
        assert_eq!(l.docs, DocFilter::Query("tag:jazz year>=1960".into()));
        assert_eq!(l.subdirs, Subdirs::None);
    }

    #[test]
    fn doc_filter_matches_exact_pairs() {
        let m = meta(&[("tag", "jazz"), ("tag", "live"), ("year", "1960")]);
        assert_eq!(
            DocFilter::Pairs(pairs(&[("tag", "jazz"), ("year", "1960")])).matches(&m),
            Some(true)
        );
        assert_eq!(
            DocFilter::Pairs(pairs(&[("tag", "j*")])).matches(&m),
            Some(false)
        );
        assert_eq!(DocFilter::All.matches(&m), Some(true));
        assert_eq!(DocFilter::None.matches(&m), Some(false));
        assert_eq!(DocFilter::Query("x".into()).matches(&m), None);
    }

    #[test]
    fn files_docs_display_as_the_last_path_component() {
        let m = meta(&[("path", "music/jazz/so what.flac")]);
        let f = DocFilter::FilesDir("music/jazz".into());
        assert_eq!(f.matches(&m), Some(true));
        assert_eq!(f.display_name("So What", &m), "so what.flac");
        assert_eq!(DocFilter::FilesDir("music".into()).matches(&m), Some(false));
        assert_eq!(
            DocFilter::FilesDir("music/ja".into()).matches(&m),
            Some(false)
        );
        assert_eq!(DocFilter::FilesDir(String::new()).matches(&m), Some(false));
        let top = meta(&[("path", "notes.txt")]);
        assert_eq!(
            DocFilter::FilesDir(String::new()).display_name("n", &top),
            "notes.txt"
        );
        assert_eq!(DocFilter::All.display_name("So What", &m), "So What");
    }
}
