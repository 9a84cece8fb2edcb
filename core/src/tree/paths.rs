//! Tree paths: parsing `/tags/jazz/live/` into a [`Dir`] and printing it back.
//!
//! Every component of a directory path is a directory. Tags and `/by/`
//! values may hold `/`; in a path it is written as U+2215 (`∕`, see
//! [`SLASH_STAND_IN`]), as in `/search/` queries. `/files/` components are
//! document names, which never hold `/`, and are taken as they are.

use std::fmt;

use crate::model::{validate_key, validate_name, validate_value};
use crate::query;

use super::TreeError;

/// U+2215 DIVISION SLASH, which stands for `/` inside one path component
/// (tags, `/by/` values and `/search/` queries).
pub const SLASH_STAND_IN: char = '\u{2215}';

/// The entries of `/`, in display order.
pub const ROOT_ENTRIES: [&str; 7] = ["all", "tags", "by", "files", "search", "recent", "ids"];

/// A directory of the tree (`docs/design.md`, "The tree").
///
/// [`parse_dir`] only produces canonical values: `Tags` is never empty,
/// `ByValue` has at least one filter, and no tag, value or query holds
/// [`SLASH_STAND_IN`] (it is decoded to `/`). For those,
/// `parse_dir(&dir.to_path()) == Ok(dir)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dir {
    /// `/`: the fixed [`ROOT_ENTRIES`].
    Root,
    /// `/all/`: every live document.
    All,
    /// `/tags/`: every tag.
    TagsRoot,
    /// `/tags/A/B/`: documents tagged with every one of these tags (in path
    /// order; the last is the innermost).
    Tags(Vec<String>),
    /// `/by/`: every key.
    ByRoot,
    /// `/by/K1/V1/…/K/`: the values of `key` among documents matching
    /// `filters` (empty for `/by/K/`).
    ByKey {
        /// The `key = value` pairs of the path so far, in path order.
        filters: Vec<(String, String)>,
        /// The key whose values are listed.
        key: String,
    },
    /// `/by/K1/V1/…/Kn/Vn/`: documents with every `key = value` pair (the
    /// last is the innermost).
    ByValue {
        /// The `key = value` pairs, in path order; never empty.
        filters: Vec<(String, String)>,
    },
    /// `/files/a/b/`: the directory `a/b` of the `path` namespace (empty
    /// for `/files/` itself).
    Files(Vec<String>),
    /// `/search/`: holds no entries; every `/search/QUERY/` exists.
    SearchRoot,
    /// `/search/QUERY/`: documents matching the query (its text, with `/`
    /// restored; it parses with [`crate::query::parse`]).
    Search(String),
    /// `/recent/`: the most recently changed documents.
    Recent,
    /// `/ids/`: lists nothing; `/ids/ID` is the document with that id.
    Ids,
}

/// Parses an absolute directory path; a trailing `/` is optional.
///
/// Refuses relative paths, empty, `.` and `..` components, unknown
/// top-level names, components below directories that have none, invalid
/// keys, values and names, and `/search/` queries that do not parse. Does
/// not percent-decode.
pub fn parse_dir(path: &str) -> Result<Dir, TreeError> {
    components(path)?
        .into_iter()
        .try_fold(Dir::Root, |dir, c| dir.child(c))
}

/// Splits an absolute path into its directory and final name, for lookups
/// (`/tags/jazz/so what.flac` → (`/tags/jazz/`, `so what.flac`)).
///
/// The name is returned raw (it may be a disambiguated document name or a
/// subdirectory; the caller knows which from the listing). `/` gives
/// (`Root`, `None`); a trailing `/` is ignored.
pub fn split_entry(path: &str) -> Result<(Dir, Option<String>), TreeError> {
    let mut parts = components(path)?;
    let Some(last) = parts.pop() else {
        return Ok((Dir::Root, None));
    };
    let dir = parts
        .into_iter()
        .try_fold(Dir::Root, |dir, c| dir.child(c))?;
    Ok((dir, Some(last.to_string())))
}

/// Like [`split_entry`], but the path must name an entry.
pub fn split_entry_name(path: &str) -> Result<(Dir, String), TreeError> {
    match split_entry(path)? {
        (dir, Some(name)) => Ok((dir, name)),
        (_, None) => Err(TreeError::NoEntryName {
            path: path.to_string(),
        }),
    }
}

/// The components of an absolute path, refusing empty, `.` and `..` ones.
fn components(path: &str) -> Result<Vec<&str>, TreeError> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(TreeError::Relative {
            path: path.to_string(),
        });
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    // One trailing '/' is allowed; what is left is never empty, or it was "//".
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let parts: Vec<&str> = rest.split('/').collect();
    for part in &parts {
        check_component(part).map_err(|e| match e {
            TreeError::EmptyComponent { .. } => TreeError::EmptyComponent { path: path.into() },
            e => e,
        })?;
    }
    Ok(parts)
}

/// Refuses empty, `.` and `..` components.
fn check_component(name: &str) -> Result<(), TreeError> {
    match name {
        "" => Err(TreeError::EmptyComponent {
            path: String::new(),
        }),
        "." | ".." => Err(TreeError::DotComponent {
            component: name.to_string(),
        }),
        _ => Ok(()),
    }
}

/// The metadata value a tag or `/by/` value component stands for
/// ([`SLASH_STAND_IN`] decoded to `/`), validated.
fn decode_value(component: &str) -> Result<String, TreeError> {
    let value = component.replace(SLASH_STAND_IN, "/");
    validate_value("", &value).map_err(|source| TreeError::InvalidValue {
        component: component.to_string(),
        source,
    })?;
    Ok(value)
}

/// The path component that stands for a tag or `/by/` value (`/` written as
/// [`SLASH_STAND_IN`]), or `None` when the value has no directory: empty,
/// `.`, `..`, or holding [`SLASH_STAND_IN`] itself, NUL or a line break.
/// Listings skip such values; `/search/` still finds their documents.
pub fn value_component(value: &str) -> Option<String> {
    let bad =
        matches!(value, "" | "." | "..") || value.contains([SLASH_STAND_IN, '\0', '\n', '\r']);
    (!bad).then(|| value.replace('/', &SLASH_STAND_IN.to_string()))
}

impl Dir {
    /// The directory reached by descending into `name`.
    ///
    /// Defines which names a directory can hold as subdirectories: any tag
    /// under `/tags/…`, any key or value under `/by/…`, any valid name under
    /// `/files/…`, any query under `/search/`. Whether it has entries is the
    /// index's business, not this function's.
    pub fn child(self, name: &str) -> Result<Dir, TreeError> {
        check_component(name).map_err(|e| match e {
            TreeError::EmptyComponent { .. } => TreeError::EmptyComponent {
                path: format!("{self}/"),
            },
            e => e,
        })?;
        Ok(match self {
            Dir::Root => root_child(name)?,
            Dir::TagsRoot => Dir::Tags(vec![decode_value(name)?]),
            Dir::Tags(mut tags) => {
                tags.push(decode_value(name)?);
                Dir::Tags(tags)
            }
            Dir::ByRoot => Dir::ByKey {
                filters: Vec::new(),
                key: checked_key(name)?,
            },
            Dir::ByKey { mut filters, key } => {
                filters.push((key, decode_value(name)?));
                Dir::ByValue { filters }
            }
            Dir::ByValue { filters } => Dir::ByKey {
                filters,
                key: checked_key(name)?,
            },
            Dir::Files(mut parts) => {
                validate_name(name).map_err(TreeError::InvalidName)?;
                parts.push(name.to_string());
                Dir::Files(parts)
            }
            Dir::SearchRoot => Dir::Search(checked_query(name)?),
            leaf @ (Dir::All | Dir::Search(_) | Dir::Recent | Dir::Ids) => {
                return Err(TreeError::NoSubdirectories {
                    dir: leaf.to_path(),
                    name: name.to_string(),
                });
            }
        })
    }

    /// The directory's components, decoded (`/tags/a∕b/` → `["tags", "a/b"]`).
    fn raw_components(&self) -> Vec<String> {
        let mut out = vec![self.root_name().to_string()];
        match self {
            Dir::Root => return Vec::new(),
            Dir::Tags(tags) => out.extend(tags.iter().cloned()),
            Dir::ByKey { filters, key } => {
                out.extend(filters.iter().flat_map(|(k, v)| [k.clone(), v.clone()]));
                out.push(key.clone());
            }
            Dir::ByValue { filters } => {
                out.extend(filters.iter().flat_map(|(k, v)| [k.clone(), v.clone()]));
            }
            Dir::Files(parts) => out.extend(parts.iter().cloned()),
            Dir::Search(query) => out.push(query.clone()),
            _ => {}
        }
        out
    }

    /// The top-level name the directory lives under (`""` for the root).
    fn root_name(&self) -> &'static str {
        match self {
            Dir::Root => "",
            Dir::All => "all",
            Dir::TagsRoot | Dir::Tags(_) => "tags",
            Dir::ByRoot | Dir::ByKey { .. } | Dir::ByValue { .. } => "by",
            Dir::Files(_) => "files",
            Dir::SearchRoot | Dir::Search(_) => "search",
            Dir::Recent => "recent",
            Dir::Ids => "ids",
        }
    }

    /// The canonical path, with a trailing `/` (`/` for the root). Tags,
    /// values and queries have `/` written as [`SLASH_STAND_IN`].
    pub fn to_path(&self) -> String {
        let mut out = String::from("/");
        for c in self.raw_components() {
            if matches!(self, Dir::Files(_)) {
                out.push_str(&c);
            } else {
                out.push_str(&c.replace('/', &SLASH_STAND_IN.to_string()));
            }
            out.push('/');
        }
        out
    }

    /// The directory above this one (`None` for the root).
    pub fn parent(&self) -> Option<Dir> {
        Some(match self {
            Dir::Root => return None,
            Dir::Tags(tags) if tags.len() > 1 => Dir::Tags(tags[..tags.len() - 1].to_vec()),
            Dir::Tags(_) => Dir::TagsRoot,
            Dir::ByKey { filters, .. } if filters.is_empty() => Dir::ByRoot,
            Dir::ByKey { filters, .. } => Dir::ByValue {
                filters: filters.clone(),
            },
            Dir::ByValue { filters } => match filters.split_last() {
                Some(((key, _), rest)) => Dir::ByKey {
                    filters: rest.to_vec(),
                    key: key.clone(),
                },
                None => Dir::ByRoot,
            },
            Dir::Files(parts) if !parts.is_empty() => Dir::Files(parts[..parts.len() - 1].to_vec()),
            Dir::Search(_) => Dir::SearchRoot,
            Dir::All
            | Dir::TagsRoot
            | Dir::ByRoot
            | Dir::Files(_)
            | Dir::SearchRoot
            | Dir::Recent
            | Dir::Ids => Dir::Root,
        })
    }
}

impl fmt::Display for Dir {
    /// Writes [`Dir::to_path`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_path())
    }
}

/// The top-level directory called `name`.
fn root_child(name: &str) -> Result<Dir, TreeError> {
    Ok(match name {
        "all" => Dir::All,
        "tags" => Dir::TagsRoot,
        "by" => Dir::ByRoot,
        "files" => Dir::Files(Vec::new()),
        "search" => Dir::SearchRoot,
        "recent" => Dir::Recent,
        "ids" => Dir::Ids,
        _ => {
            return Err(TreeError::UnknownRoot {
                name: name.to_string(),
            });
        }
    })
}

/// A `/by/` key component, validated.
fn checked_key(name: &str) -> Result<String, TreeError> {
    validate_key(name).map_err(|source| TreeError::InvalidKey {
        key: name.to_string(),
        source,
    })?;
    Ok(name.to_string())
}

/// A `/search/` component: the query text with `/` restored, checked to parse.
fn checked_query(component: &str) -> Result<String, TreeError> {
    let text = component.replace(SLASH_STAND_IN, "/");
    query::parse(&text).map_err(|source| TreeError::BadQuery {
        query: text.clone(),
        source,
    })?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parse_dir_fixed_roots() {
        assert_eq!(parse_dir("/").unwrap(), Dir::Root);
        assert_eq!(parse_dir("/all/").unwrap(), Dir::All);
        assert_eq!(parse_dir("/all").unwrap(), Dir::All);
        assert_eq!(parse_dir("/tags/").unwrap(), Dir::TagsRoot);
        assert_eq!(parse_dir("/by/").unwrap(), Dir::ByRoot);
        assert_eq!(parse_dir("/files/").unwrap(), Dir::Files(vec![]));
        assert_eq!(parse_dir("/search/").unwrap(), Dir::SearchRoot);
        assert_eq!(parse_dir("/recent/").unwrap(), Dir::Recent);
        assert_eq!(parse_dir("/ids/").unwrap(), Dir::Ids);
        for name in ROOT_ENTRIES {
            assert_eq!(
                parse_dir(&format!("/{name}/")).unwrap().to_path(),
                format!("/{name}/")
            );
        }
    }

    #[test]
    fn parse_dir_tags_in_path_order() {
        assert_eq!(
            parse_dir("/tags/jazz/live/").unwrap(),
            Dir::Tags(vec!["jazz".into(), "live".into()])
        );
        assert_eq!(
            parse_dir("/tags/a\u{2215}b").unwrap(),
            Dir::Tags(vec!["a/b".into()])
        );
    }

    #[test]
    fn parse_dir_by_alternates_keys_and_values() {
        assert_eq!(
            parse_dir("/by/author/").unwrap(),
            Dir::ByKey {
                filters: vec![],
                key: "author".into()
            }
        );
        assert_eq!(
            parse_dir("/by/author/alice/").unwrap(),
            Dir::ByValue {
                filters: pairs(&[("author", "alice")])
            }
        );
        assert_eq!(
            parse_dir("/by/author/alice/year/").unwrap(),
            Dir::ByKey {
                filters: pairs(&[("author", "alice")]),
                key: "year".into()
            }
        );
        assert_eq!(
            parse_dir("/by/author/alice/year/2020/").unwrap(),
            Dir::ByValue {
                filters: pairs(&[("author", "alice"), ("year", "2020")])
            }
        );
        assert_eq!(
            parse_dir("/by/mime/application\u{2215}pdf/").unwrap(),
            Dir::ByValue {
                filters: pairs(&[("mime", "application/pdf")])
            }
        );
    }

    #[test]
    fn parse_dir_files_components_are_names() {
        assert_eq!(
            parse_dir("/files/a/b c/").unwrap(),
            Dir::Files(vec!["a".into(), "b c".into()])
        );
        assert!(matches!(
            parse_dir(&format!("/files/{}/", "x".repeat(300))),
            Err(TreeError::InvalidName(_))
        ));
    }

    #[test]
    fn parse_dir_search_restores_slashes_and_checks_the_query() {
        assert_eq!(
            parse_dir("/search/tag:jazz year>=1960/").unwrap(),
            Dir::Search("tag:jazz year>=1960".into())
        );
        let pdf = parse_dir("/search/mime:application\u{2215}pdf/").unwrap();
        assert_eq!(pdf, Dir::Search("mime:application/pdf".into()));
        assert_eq!(pdf.to_path(), "/search/mime:application\u{2215}pdf/");
        let err = parse_dir("/search/year>=/").unwrap_err();
        assert!(
            matches!(&err, TreeError::BadQuery { query, .. } if query == "year>="),
            "{err}"
        );
        assert!(err.to_string().contains("column 7"), "{err}");
        assert!(matches!(
            parse_dir("/search/x/y/"),
            Err(TreeError::NoSubdirectories { .. })
        ));
    }

    #[test]
    fn parse_dir_refuses_relative_paths() {
        assert_eq!(
            parse_dir("tags/x").unwrap_err(),
            TreeError::Relative {
                path: "tags/x".into()
            }
        );
        assert!(matches!(parse_dir(""), Err(TreeError::Relative { .. })));
    }

    #[test]
    fn parse_dir_refuses_empty_and_dot_components() {
        assert_eq!(
            parse_dir("/tags//x/").unwrap_err(),
            TreeError::EmptyComponent {
                path: "/tags//x/".into()
            }
        );
        assert!(matches!(
            parse_dir("//"),
            Err(TreeError::EmptyComponent { .. })
        ));
        assert_eq!(
            parse_dir("/files/a/../b").unwrap_err(),
            TreeError::DotComponent {
                component: "..".into()
            }
        );
        assert!(matches!(
            parse_dir("/./all"),
            Err(TreeError::DotComponent { .. })
        ));
    }

    #[test]
    fn parse_dir_refuses_unknown_roots() {
        let err = parse_dir("/photos/").unwrap_err();
        assert_eq!(
            err,
            TreeError::UnknownRoot {
                name: "photos".into()
            }
        );
        assert!(err.to_string().contains("all/, tags/"), "{err}");
    }

    #[test]
    fn parse_dir_refuses_subdirectories_of_leaf_dirs() {
        for path in ["/all/x/", "/recent/x/", "/ids/x/"] {
            assert!(
                matches!(parse_dir(path), Err(TreeError::NoSubdirectories { .. })),
                "{path}"
            );
        }
        let err = parse_dir("/all/x").unwrap_err();
        assert_eq!(
            err,
            TreeError::NoSubdirectories {
                dir: "/all/".into(),
                name: "x".into()
            }
        );
    }

    #[test]
    fn parse_dir_refuses_invalid_keys() {
        let err = parse_dir("/by/Author/").unwrap_err();
        assert!(
            matches!(&err, TreeError::InvalidKey { key, .. } if key == "Author"),
            "{err}"
        );
        assert!(matches!(
            parse_dir("/by/a/b/c d/"),
            Err(TreeError::InvalidKey { .. })
        ));
    }

    #[test]
    fn parse_dir_refuses_invalid_values() {
        assert!(matches!(
            parse_dir("/tags/a\nb/"),
            Err(TreeError::InvalidValue { .. })
        ));
        assert!(matches!(
            parse_dir("/by/k/a\rb/"),
            Err(TreeError::InvalidValue { .. })
        ));
    }

    #[test]
    fn child_refuses_empty_and_dot_names() {
        let err = Dir::TagsRoot.child("").unwrap_err();
        assert_eq!(
            err,
            TreeError::EmptyComponent {
                path: "/tags//".into()
            }
        );
        assert!(matches!(
            Dir::All.child(".."),
            Err(TreeError::DotComponent { .. })
        ));
    }

    #[test]
    fn to_path_is_canonical() {
        assert_eq!(Dir::Root.to_path(), "/");
        assert_eq!(
            Dir::Tags(vec!["a/b".into(), "c".into()]).to_path(),
            "/tags/a\u{2215}b/c/"
        );
        let by = Dir::ByKey {
            filters: pairs(&[("mime", "text/plain")]),
            key: "year".into(),
        };
        assert_eq!(by.to_path(), "/by/mime/text\u{2215}plain/year/");
        assert_eq!(
            Dir::Files(vec!["a".into(), "b".into()]).to_string(),
            "/files/a/b/"
        );
    }

    #[test]
    fn split_entry_separates_the_final_name() {
        assert_eq!(split_entry("/").unwrap(), (Dir::Root, None));
        assert_eq!(
            split_entry("/tags").unwrap(),
            (Dir::Root, Some("tags".into()))
        );
        assert_eq!(
            split_entry("/tags/jazz/so what.flac").unwrap(),
            (Dir::Tags(vec!["jazz".into()]), Some("so what.flac".into()))
        );
        assert_eq!(
            split_entry("/ids/0123").unwrap(),
            (Dir::Ids, Some("0123".into()))
        );
        assert_eq!(
            split_entry("/all/x/").unwrap(),
            (Dir::All, Some("x".into()))
        );
        assert!(matches!(
            split_entry("/all/../x"),
            Err(TreeError::DotComponent { .. })
        ));
        assert!(matches!(
            split_entry("/all/x/y"),
            Err(TreeError::NoSubdirectories { .. })
        ));
        assert!(matches!(
            split_entry_name("/"),
            Err(TreeError::NoEntryName { .. })
        ));
    }

    #[test]
    fn parent_walks_up_one_component() {
        for path in [
            "/by/a/1/b/2/",
            "/tags/x/y/",
            "/files/a/b/",
            "/all/",
            "/search/tag:x/",
        ] {
            let mut dir = parse_dir(path).unwrap();
            let mut path = path.to_string();
            while let Some(up) = dir.parent() {
                path.truncate(path[..path.len() - 1].rfind('/').unwrap() + 1);
                assert_eq!(up.to_path(), path);
                dir = up;
            }
            assert_eq!(dir, Dir::Root);
        }
    }

    #[test]
    fn value_component_skips_values_without_a_directory() {
        assert_eq!(value_component("a/b").as_deref(), Some("a\u{2215}b"));
        for bad in ["", ".", "..", "a\u{2215}b", "a\nb"] {
            assert_eq!(value_component(bad), None, "{bad:?}");
        }
    }

    fn value() -> impl Strategy<Value = String> {
        "[a-z/ .~é-]{1,8}".prop_filter("has a component", |v| value_component(v).is_some())
    }

    fn key() -> impl Strategy<Value = String> {
        "[a-z0-9_-][a-z0-9_.-]{0,5}"
    }

    fn name() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 .~_-]{1,10}".prop_filter("valid name", |n| validate_name(n).is_ok())
    }

    fn dir() -> impl Strategy<Value = Dir> {
        let filters = || prop::collection::vec((key(), value()), 1..4);
        prop_oneof![
            Just(Dir::Root),
            Just(Dir::All),
            Just(Dir::TagsRoot),
            Just(Dir::ByRoot),
            Just(Dir::SearchRoot),
            Just(Dir::Recent),
            Just(Dir::Ids),
            prop::collection::vec(value(), 1..4).prop_map(Dir::Tags),
            (prop::collection::vec((key(), value()), 0..3), key())
                .prop_map(|(filters, key)| Dir::ByKey { filters, key }),
            filters().prop_map(|filters| Dir::ByValue { filters }),
            prop::collection::vec(name(), 0..4).prop_map(Dir::Files),
            ("[a-z/]{1,6}", "[a-z]{1,6}")
                .prop_map(|(v, w)| Dir::Search(format!("tag:{v} (year>=1960 OR {w})"))),
        ]
    }

    proptest! {
        #[test]
        fn parse_dir_to_path_round_trip(dir in dir()) {
            let path = dir.to_path();
            prop_assert_eq!(parse_dir(&path).unwrap(), dir.clone());
            let (parent, last) = split_entry(&path).unwrap();
            prop_assert_eq!(&parent.clone(), &dir.parent().unwrap_or(Dir::Root));
            if let Some(last) = last {
                let no_slash = parse_dir(path.trim_end_matches('/')).unwrap();
                prop_assert_eq!(&no_slash, &dir);
                prop_assert_eq!(parent.child(&last).unwrap(), dir);
            }
        }
    }
}
