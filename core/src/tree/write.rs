//! Writing documents through the tree: create, remove and rename.
//!
//! Each rule is a pure function from directories and names to a plan
//! ([`NewDoc`] or [`DocEdit`]) or a precise refusal
//! ([`TreeError::ReadOnly`] says why and what to do instead). Plans become
//! operations with [`NewDoc::op`] and [`edit_ops`](super::edit_ops).

use crate::id::DocId;
use crate::model::{
    Manifest, Metadata, Op, client_settable, validate_key, validate_name, validate_value,
};
use crate::query;

use super::{Dir, DocEdit, PathEdit, TreeError};

/// The metadata a directory gives the documents created in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Implied {
    /// `key = value` pairs in path order; the last is the innermost.
    pub pairs: Vec<(String, String)>,
    /// Under `/files/`: the directory new documents get their `path` in
    /// (relative, `""` at the top).
    pub files_dir: Option<String>,
}

impl Implied {
    /// The `path` a document called `name` gets here (`None` outside
    /// `/files/`).
    pub fn path_for(&self, name: &str) -> Option<String> {
        self.files_dir.as_ref().map(|dir| match dir.as_str() {
            "" => name.to_string(),
            dir => format!("{dir}/{name}"),
        })
    }

    /// The metadata of a new document called `name` here: the pairs
    /// grouped by key (values in path order, without repeats) and `path`.
    pub fn metadata(&self, name: &str) -> Metadata {
        let mut meta = Metadata::new();
        for (key, value) in &self.pairs {
            let values = meta.entry(key.clone()).or_default();
            if !values.contains(value) {
                values.push(value.clone());
            }
        }
        if let Some(path) = self.path_for(name) {
            meta.insert("path".to_string(), vec![path]);
        }
        meta
    }
}

/// A document to create: what [`plan_create`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDoc {
    /// Its name (valid).
    pub name: String,
    /// Its initial metadata (non-reserved keys, plus `path` in `/files/`).
    pub meta: Metadata,
}

impl NewDoc {
    /// The operation creating it with this id and content.
    pub fn op(self, id: DocId, content: Manifest) -> Op {
        Op::Create {
            id,
            name: self.name,
            meta: self.meta,
            content,
        }
    }
}

/// A refusal of a write in `dir`.
fn read_only(dir: &Dir, why: impl Into<String>) -> TreeError {
    TreeError::ReadOnly {
        dir: dir.to_path(),
        why: why.into(),
    }
}

/// Why a document cannot be created in `dir`, when that does not depend on
/// the path's contents.
fn no_create_reason(dir: &Dir) -> &'static str {
    match dir {
        Dir::Root => {
            "it holds only the fixed directories; create documents in /all/, a tag \
             directory, /by/KEY/VALUE/ or /files/"
        }
        Dir::TagsRoot => {
            "it holds tags; create documents inside a tag (mkdir /tags/NAME creates one)"
        }
        Dir::ByRoot => "it holds keys; create documents in /by/KEY/VALUE/",
        Dir::ByKey { .. } => "it holds the values of a key; create documents in one of them",
        Dir::SearchRoot => {
            "it holds queries; create documents in /search/QUERY/ when QUERY is \
             a conjunction of key:value terms"
        }
        Dir::Recent => {
            "it lists documents by change time; create documents in /all/ and they \
             show up here"
        }
        Dir::Ids => {
            "documents are named there by the id docgrid gives them; create documents \
             in /all/"
        }
        _ => "documents cannot be created here",
    }
}

/// The pairs of a `/search/` query that is a conjunction of `key:value`
/// terms, or a refusal naming why the directory is read-only.
fn conjunction(dir: &Dir, text: &str) -> Result<Vec<(String, String)>, TreeError> {
    let query =
        query::parse(text).map_err(|e| read_only(dir, format!("its query does not parse: {e}")))?;
    let pairs = query.conjunction_of_matches().ok_or_else(|| {
        read_only(
            dir,
            "the query is not a conjunction of key:value terms; use /all/ or a tag",
        )
    })?;
    for (key, value) in &pairs {
        let valid = validate_key(key).and_then(|()| validate_value(key, value));
        valid.map_err(|e| {
            read_only(
                dir,
                format!("the query term {key}:{value} is not metadata: {e}"),
            )
        })?;
    }
    Ok(pairs)
}

/// Refuses pairs with a key a client may not set
/// ([`client_settable`]), and `path`, which only `/files/` implies.
fn refuse_reserved(dir: &Dir, pairs: &[(String, String)]) -> Result<(), TreeError> {
    match pairs
        .iter()
        .find(|(key, _)| !client_settable(key) || key == "path")
    {
        Some((key, _)) if key == "path" => Err(read_only(
            dir,
            "key \"path\" places documents in /files/; create or move them there instead",
        )),
        Some((key, _)) => Err(read_only(
            dir,
            format!("key {key:?} is maintained by docgrid, so writes here cannot set or remove it"),
        )),
        None => Ok(()),
    }
}

impl Dir {
    /// The metadata this directory gives documents created in it, or why
    /// none can be created here (`docs/design.md`: tags on the path, `K=V`
    /// pairs, `path`; `/search/` only for a conjunction of `key:value`
    /// terms).
    /// Refuses directories whose pairs include a reserved key.
    pub fn implied(&self) -> Result<Implied, TreeError> {
        let pairs = match self {
            Dir::All => Vec::new(),
            Dir::Tags(tags) => tags
                .iter()
                .map(|t| ("tag".to_string(), t.clone()))
                .collect(),
            Dir::ByValue { filters } => filters.clone(),
            Dir::Search(text) => conjunction(self, text)?,
            Dir::Files(parts) => {
                return Ok(Implied {
                    pairs: Vec::new(),
                    files_dir: Some(parts.join("/")),
                });
            }
            _ => return Err(read_only(self, no_create_reason(self))),
        };
        refuse_reserved(self, &pairs)?;
        Ok(Implied {
            pairs,
            files_dir: None,
        })
    }
}

/// Creating a document named `name` in `dir`: the document carries the
/// metadata `dir` implies ([`Dir::implied`]); `name` must be a valid name.
pub fn plan_create(dir: &Dir, name: &str) -> Result<NewDoc, TreeError> {
    validate_name(name).map_err(TreeError::InvalidName)?;
    let implied = dir.implied()?;
    Ok(NewDoc {
        name: name.to_string(),
        meta: implied.metadata(name),
    })
}

/// What leaving a directory takes from a document.
enum Leaving {
    /// Remove this `key = value` pair.
    Pair(String, String),
    /// Remove its `path` (it leaves `/files/`).
    Path,
    /// Delete the document (`rm` in `/all/`, `/files/`, `/ids/`).
    Delete,
    /// Nothing (`mv` out of `/all/`, `/recent/`, `/ids/`).
    Nothing,
}

/// The innermost metadata of a directory listing documents, as a pair.
fn innermost_pair(dir: &Dir) -> Result<Option<(String, String)>, TreeError> {
    let pair = match dir {
        Dir::Tags(tags) => tags.last().map(|t| ("tag".to_string(), t.clone())),
        Dir::ByValue { filters } => filters.last().cloned(),
        Dir::Search(text) => conjunction(dir, text)?.pop(),
        _ => None,
    };
    if let Some(pair) = &pair {
        refuse_reserved(dir, std::slice::from_ref(pair))?;
    }
    Ok(pair)
}

/// What removing (`delete: true`) or moving a document out of `dir` does.
fn leaving(dir: &Dir, delete: bool) -> Result<Leaving, TreeError> {
    if let Some((key, value)) = innermost_pair(dir)? {
        return Ok(Leaving::Pair(key, value));
    }
    Ok(match dir {
        Dir::All | Dir::Ids if delete => Leaving::Delete,
        Dir::Files(_) if delete => Leaving::Delete,
        Dir::Files(_) => Leaving::Path,
        Dir::All | Dir::Ids | Dir::Recent if !delete => Leaving::Nothing,
        Dir::Recent => {
            return Err(read_only(
                dir,
                "removing a document from /recent/ would not make it less recent; remove it \
                 from /all/ to delete it",
            ));
        }
        _ => return Err(read_only(dir, "it lists no documents")),
    })
}

/// Removing a document from `dir` (`rm`, `unlink`): remove the innermost
/// metadata `dir` implies (the last tag of `/tags/A/B/`, the last pair of
/// `/by/…/K/V/` or of a conjunctive `/search/` query), or delete the
/// document in `/all/`, `/files/` and `/ids/`. Refused in `/recent/`, in
/// directories that list no documents, for non-conjunctive queries and for
/// reserved keys.
pub fn plan_remove(dir: &Dir) -> Result<DocEdit, TreeError> {
    Ok(match leaving(dir, true)? {
        Leaving::Pair(key, value) => DocEdit {
            remove: vec![(key, value)],
            ..DocEdit::default()
        },
        Leaving::Delete => DocEdit::delete(),
        Leaving::Path | Leaving::Nothing => unreachable!("leaving(_, true) deletes instead"),
    })
}

/// Moving a document from `from` to `to`, where it is called `new_name`
/// (`mv`, `rename`).
///
/// In one directory: only the name changes (and in `/files/` the `path`).
/// Across directories: `from`'s innermost metadata is removed (for
/// `/files/`: the `path`, unless `to` is in `/files/` too), everything `to`
/// implies is added (removal first, so moving into a subdirectory keeps
/// what both share) and the name is set. Refused when `from` lists no
/// documents, when `to` accepts no new documents ([`plan_create`]'s
/// rules), and within `/ids/`. Directories themselves are not renamed by
/// this rule: tags, values and `/files/` directories change through their
/// documents.
pub fn plan_rename(from: &Dir, to: &Dir, new_name: &str) -> Result<DocEdit, TreeError> {
    validate_name(new_name).map_err(TreeError::InvalidName)?;
    let rename = Some(new_name.to_string());
    if from == to {
        return match from {
            Dir::Ids => Err(read_only(
                from,
                "names in /ids/ are ids; rename the document in /all/",
            )),
            Dir::All | Dir::Tags(_) | Dir::ByValue { .. } | Dir::Search(_) | Dir::Recent => {
                Ok(DocEdit {
                    rename,
                    ..DocEdit::default()
                })
            }
            Dir::Files(_) => {
                let path = from
                    .implied()?
                    .path_for(new_name)
                    .map_or(PathEdit::Keep, PathEdit::Set);
                Ok(DocEdit {
                    rename,
                    path,
                    ..DocEdit::default()
                })
            }
            _ => Err(read_only(from, "it lists no documents")),
        };
    }
    let implied = to.implied()?;
    let mut edit = DocEdit {
        add: implied.pairs.clone(),
        rename,
        ..DocEdit::default()
    };
    match leaving(from, false)? {
        Leaving::Pair(key, value) => edit.remove.push((key, value)),
        Leaving::Path => edit.path = PathEdit::Clear,
        Leaving::Nothing => {}
        Leaving::Delete => unreachable!("leaving(_, false) never deletes"),
    }
    if let Some(path) = implied.path_for(new_name) {
        edit.path = PathEdit::Set(path);
    }
    Ok(edit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_dir;

    fn dir(path: &str) -> Dir {
        parse_dir(path).unwrap()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn meta(p: &[(&str, &[&str])]) -> Metadata {
        p.iter()
            .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
            .collect()
    }

    fn assert_read_only(result: Result<impl std::fmt::Debug, TreeError>, needle: &str) {
        match result {
            Err(TreeError::ReadOnly { why, .. }) => assert!(why.contains(needle), "{why}"),
            other => panic!("expected ReadOnly ({needle}), got {other:?}"),
        }
    }

    #[test]
    fn create_in_all_adds_no_metadata() {
        let new = plan_create(&dir("/all/"), "a.pdf").unwrap();
        assert_eq!(
            new,
            NewDoc {
                name: "a.pdf".into(),
                meta: Metadata::new()
            }
        );
        let id = DocId::from_u128(1);
        let op = new.op(id, Manifest::empty());
        assert!(matches!(op, Op::Create { name, meta, .. } if name == "a.pdf" && meta.is_empty()));
    }

    #[test]
    fn create_in_tags_sets_every_tag_on_the_path() {
        let new = plan_create(&dir("/tags/jazz/live/"), "set.flac").unwrap();
        assert_eq!(new.meta, meta(&[("tag", &["jazz", "live"])]));
    }

    #[test]
    fn create_in_by_sets_every_pair() {
        let new = plan_create(&dir("/by/year/2020/tag/x/tag/y/"), "n.txt").unwrap();
        assert_eq!(new.meta, meta(&[("tag", &["x", "y"]), ("year", &["2020"])]));
    }

    #[test]
    fn create_in_files_sets_path() {
        let new = plan_create(&dir("/files/a/b/"), "c.txt").unwrap();
        assert_eq!(new.meta, meta(&[("path", &["a/b/c.txt"])]));
        let top = plan_create(&dir("/files/"), "c.txt").unwrap();
        assert_eq!(top.meta, meta(&[("path", &["c.txt"])]));
    }

    #[test]
    fn create_in_search_sets_the_conjunction() {
        let new = plan_create(&dir("/search/tag:jazz year:1960 tag:live/"), "x").unwrap();
        assert_eq!(
            new.meta,
            meta(&[("tag", &["jazz", "live"]), ("year", &["1960"])])
        );
        assert_read_only(
            plan_create(&dir("/search/mime:text\u{2215}plain/"), "x"),
            "\"mime\"",
        );
        let new = plan_create(&dir("/search/kind:text\u{2215}plain/"), "x").unwrap();
        assert_eq!(new.meta, meta(&[("kind", &["text/plain"])]));
    }

    #[test]
    fn create_refused_in_search_unless_conjunction() {
        for q in [
            "tag:jazz OR tag:blues",
            "tag:ja*",
            "year>=1960",
            "-tag:x",
            "jazz",
            "has:tag",
        ] {
            let d = Dir::Search(q.into());
            assert_read_only(plan_create(&d, "x"), "not a conjunction of key:value terms");
        }
    }

    #[test]
    fn create_validates_the_name() {
        for bad in ["", "..", "a/b"] {
            assert!(
                matches!(plan_create(&Dir::All, bad), Err(TreeError::InvalidName(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn create_refused_where_no_documents_live() {
        for path in [
            "/",
            "/tags/",
            "/by/",
            "/by/author/",
            "/by/a/b/c/",
            "/search/",
            "/recent/",
            "/ids/",
        ] {
            assert_read_only(plan_create(&dir(path), "x"), "");
        }
        assert_read_only(plan_create(&Dir::Recent, "x"), "/all/");
    }

    #[test]
    fn create_refused_for_reserved_keys() {
        assert_read_only(
            plan_create(&dir("/by/size/1/"), "x"),
            "\"size\" is maintained",
        );
        assert_read_only(plan_create(&dir("/by/path/x/"), "x"), "/files/");
        // `author` is one of the reserved keys a client may set.
        let new = plan_create(&dir("/by/author/alice/"), "x").unwrap();
        assert_eq!(new.meta, meta(&[("author", &["alice"])]));
        assert_read_only(plan_create(&dir("/by/year/1/mime/text/"), "x"), "\"mime\"");
    }

    #[test]
    fn remove_in_tags_removes_the_innermost_tag() {
        let edit = plan_remove(&dir("/tags/jazz/live/")).unwrap();
        assert_eq!(
            edit,
            DocEdit {
                remove: pairs(&[("tag", "live")]),
                ..DocEdit::default()
            }
        );
    }

    #[test]
    fn remove_in_by_removes_the_innermost_value() {
        let edit = plan_remove(&dir("/by/author/alice/year/2020/")).unwrap();
        assert_eq!(
            edit,
            DocEdit {
                remove: pairs(&[("year", "2020")]),
                ..DocEdit::default()
            }
        );
    }

    #[test]
    fn remove_in_search_removes_the_last_pair() {
        let edit = plan_remove(&dir("/search/tag:jazz year:1960/")).unwrap();
        assert_eq!(
            edit,
            DocEdit {
                remove: pairs(&[("year", "1960")]),
                ..DocEdit::default()
            }
        );
    }

    #[test]
    fn remove_refused_in_search_unless_conjunction() {
        assert_read_only(
            plan_remove(&dir("/search/tag:a OR tag:b/")),
            "not a conjunction",
        );
        assert_read_only(
            plan_remove(&dir("/search/name:x.pdf/")),
            "\"name\" is maintained",
        );
    }

    #[test]
    fn remove_in_all_files_and_ids_deletes() {
        for path in ["/all/", "/files/", "/files/a/", "/ids/"] {
            assert_eq!(
                plan_remove(&dir(path)).unwrap(),
                DocEdit::delete(),
                "{path}"
            );
        }
    }

    #[test]
    fn remove_refused_in_recent() {
        assert_read_only(plan_remove(&Dir::Recent), "/recent/");
    }

    #[test]
    fn remove_refused_where_no_documents_live() {
        for path in ["/", "/tags/", "/by/", "/by/k/", "/search/"] {
            assert_read_only(plan_remove(&dir(path)), "lists no documents");
        }
    }

    #[test]
    fn remove_refused_for_reserved_innermost_key() {
        assert_read_only(plan_remove(&dir("/by/year/2020/size/1/")), "\"size\"");
        // A reserved key further out is not touched, so the remove is fine.
        let edit = plan_remove(&dir("/by/size/1/year/2020/")).unwrap();
        assert_eq!(edit.remove, pairs(&[("year", "2020")]));
    }

    #[test]
    fn rename_in_one_directory_changes_only_the_name() {
        for path in [
            "/all/",
            "/tags/x/",
            "/by/k/v/",
            "/recent/",
            "/by/author/alice/",
        ] {
            let edit = plan_rename(&dir(path), &dir(path), "new.pdf").unwrap();
            assert_eq!(
                edit,
                DocEdit {
                    rename: Some("new.pdf".into()),
                    ..DocEdit::default()
                }
            );
        }
    }

    #[test]
    fn rename_in_one_files_directory_sets_path() {
        let d = dir("/files/a/");
        let edit = plan_rename(&d, &d, "y").unwrap();
        let path = PathEdit::Set("a/y".into());
        assert_eq!(
            edit,
            DocEdit {
                rename: Some("y".into()),
                path,
                ..DocEdit::default()
            }
        );
    }

    #[test]
    fn rename_across_tags_moves_the_innermost_tag() {
        let edit = plan_rename(&dir("/tags/a/b/"), &dir("/tags/a/c/"), "x").unwrap();
        assert_eq!(edit.remove, pairs(&[("tag", "b")]));
        assert_eq!(edit.add, pairs(&[("tag", "a"), ("tag", "c")]));
        assert_eq!(edit.rename.as_deref(), Some("x"));
        assert_eq!(edit.path, PathEdit::Keep);
        assert!(!edit.delete);
    }

    #[test]
    fn rename_across_by_values_changes_the_value() {
        let edit = plan_rename(&dir("/by/year/2020/"), &dir("/by/year/2021/"), "x").unwrap();
        assert_eq!(edit.remove, pairs(&[("year", "2020")]));
        assert_eq!(edit.add, pairs(&[("year", "2021")]));
    }

    #[test]
    fn rename_out_of_files_clears_path() {
        let edit = plan_rename(&dir("/files/a/"), &dir("/tags/t/"), "x").unwrap();
        assert_eq!(edit.path, PathEdit::Clear);
        assert_eq!(edit.add, pairs(&[("tag", "t")]));
        assert!(edit.remove.is_empty());
    }

    #[test]
    fn rename_into_files_sets_path() {
        let edit = plan_rename(&dir("/files/a/"), &dir("/files/b/c/"), "x").unwrap();
        assert_eq!(edit.path, PathEdit::Set("b/c/x".into()));
        let edit = plan_rename(&dir("/tags/t/"), &dir("/files/"), "x").unwrap();
        assert_eq!(edit.remove, pairs(&[("tag", "t")]));
        assert_eq!(edit.path, PathEdit::Set("x".into()));
    }

    #[test]
    fn rename_out_of_all_recent_and_ids_removes_nothing() {
        for path in ["/all/", "/recent/", "/ids/"] {
            let edit = plan_rename(&dir(path), &dir("/tags/t/"), "x").unwrap();
            assert!(edit.remove.is_empty(), "{path}");
            assert_eq!(edit.add, pairs(&[("tag", "t")]));
        }
    }

    #[test]
    fn rename_refused_into_directories_without_documents() {
        for path in ["/", "/tags/", "/by/k/", "/recent/", "/ids/"] {
            assert_read_only(plan_rename(&Dir::All, &dir(path), "x"), "");
        }
        assert_read_only(plan_rename(&Dir::Ids, &Dir::Ids, "x"), "ids");
        assert_read_only(
            plan_rename(&Dir::TagsRoot, &Dir::All, "x"),
            "lists no documents",
        );
        assert_read_only(
            plan_rename(&Dir::TagsRoot, &Dir::TagsRoot, "x"),
            "lists no documents",
        );
    }

    #[test]
    fn rename_across_searches_moves_the_last_pair() {
        let edit = plan_rename(&dir("/search/tag:a/"), &dir("/search/tag:b year:1/"), "x").unwrap();
        assert_eq!(edit.remove, pairs(&[("tag", "a")]));
        assert_eq!(edit.add, pairs(&[("tag", "b"), ("year", "1")]));
        let same = dir("/search/jazz OR blues/");
        assert_eq!(
            plan_rename(&same, &same, "y").unwrap().rename.as_deref(),
            Some("y")
        );
        assert_read_only(plan_rename(&same, &Dir::All, "y"), "not a conjunction");
    }

    #[test]
    fn rename_refused_for_reserved_keys() {
        assert_read_only(plan_rename(&dir("/by/hash/a/"), &Dir::All, "x"), "\"hash\"");
        assert_read_only(plan_rename(&Dir::All, &dir("/by/mime/t/"), "x"), "\"mime\"");
    }

    #[test]
    fn rename_validates_the_new_name() {
        assert!(matches!(
            plan_rename(&Dir::All, &Dir::All, "a/b"),
            Err(TreeError::InvalidName(_))
        ));
    }
}
