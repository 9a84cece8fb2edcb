//! Creating and removing directories through the tree: `mkdir` and `rmdir`.
//!
//! Only two kinds of directory exist apart from documents: tags
//! (`/tags/X`) and directories of the `/files/` namespace. Everything else
//! is fixed, exists through the documents that carry its metadata (`/by/`)
//! or is virtual (`/search/`).

use crate::model::Op;

use super::{Dir, TreeError};

/// Why a `/by/` directory cannot be created or removed directly.
const BY_REASON: &str = "keys and values in /by/ exist through the documents that carry them; \
     set the metadata on documents instead (create or move a file into /by/KEY/VALUE/)";

/// Why a `/search/` directory cannot be created or removed.
const SEARCH_REASON: &str =
    "search directories are virtual: every /search/QUERY/ exists already, open it directly";

/// Creating the directory `dir` (`mkdir`): under `/tags/` the last tag of
/// the path is created ([`Op::CreateTag`]; empty tags exist), under
/// `/files/` the directory ([`Op::CreateDir`]). Fixed directories already
/// exist; `/by/` and `/search/` directories cannot be created.
///
/// Note that `/tags/A/X` creates the tag `X` alone: it lists under `/tags/`,
/// and under `/tags/A/` only once a document carries both.
pub fn plan_mkdir(dir: &Dir) -> Result<Op, TreeError> {
    match dir {
        Dir::Tags(tags) if !tags.is_empty() => Ok(Op::CreateTag {
            tag: tags[tags.len() - 1].clone(),
        }),
        Dir::Files(parts) if !parts.is_empty() => Ok(Op::CreateDir {
            path: parts.join("/"),
        }),
        Dir::ByKey { .. } | Dir::ByValue { .. } => Err(read_only(dir, BY_REASON)),
        Dir::Search(_) => Err(read_only(dir, SEARCH_REASON)),
        Dir::Root
        | Dir::All
        | Dir::TagsRoot
        | Dir::Tags(_)
        | Dir::ByRoot
        | Dir::Files(_)
        | Dir::SearchRoot
        | Dir::Recent
        | Dir::Ids => Err(TreeError::AlreadyExists { dir: dir.to_path() }),
    }
}

/// What removing a directory asks of the server, which alone knows whether
/// the condition holds (and refuses the commit if not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RmdirPlan {
    /// Forget this tag, provided no live document carries it.
    DeleteTagIfUnused {
        /// The tag.
        tag: String,
    },
    /// Forget this `/files/` directory, provided no live document's `path`
    /// and no other created directory lies inside it.
    DeleteDirIfEmpty {
        /// The directory, relative, `/`-separated.
        path: String,
    },
    /// A directory that exists only through the documents it lists (a
    /// co-tag directory `/tags/A/B/`, every `/by/` directory): removing it
    /// commits nothing, and succeeds once it lists nothing. A recursive
    /// delete ends with these, after emptying them; the tag `B` of
    /// `/tags/A/B/` lives on in `/tags/B/`.
    Vanishes,
}

impl RmdirPlan {
    /// The operation to commit ([`Op::DeleteTag`] or [`Op::DeleteDir`]).
    pub fn op(&self) -> Option<Op> {
        match self {
            RmdirPlan::DeleteTagIfUnused { tag } => Some(Op::DeleteTag { tag: tag.clone() }),
            RmdirPlan::DeleteDirIfEmpty { path } => Some(Op::DeleteDir { path: path.clone() }),
            RmdirPlan::Vanishes => None,
        }
    }
}

/// Removing the directory `dir` (`rmdir`): under `/tags/X/` the tag, if
/// unused; under `/files/` the directory, if empty; a co-tag directory
/// (`/tags/A/B/`) or a `/by/` directory [`vanishes`](RmdirPlan::Vanishes)
/// once empty. Refused for the fixed directories and `/search/`.
pub fn plan_rmdir(dir: &Dir) -> Result<RmdirPlan, TreeError> {
    match dir {
        Dir::Tags(tags) if tags.len() == 1 => Ok(RmdirPlan::DeleteTagIfUnused {
            tag: tags[0].clone(),
        }),
        Dir::Tags(tags) if tags.len() > 1 => Ok(RmdirPlan::Vanishes),
        Dir::Files(parts) if !parts.is_empty() => Ok(RmdirPlan::DeleteDirIfEmpty {
            path: parts.join("/"),
        }),
        Dir::ByKey { .. } | Dir::ByValue { .. } => Ok(RmdirPlan::Vanishes),
        Dir::Search(_) => Err(read_only(dir, SEARCH_REASON)),
        _ => Err(read_only(dir, "it is one of docgrid's fixed directories")),
    }
}

/// A refusal of a directory change at `dir`.
fn read_only(dir: &Dir, why: &str) -> TreeError {
    TreeError::ReadOnly {
        dir: dir.to_path(),
        why: why.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_dir;

    fn dir(path: &str) -> Dir {
        parse_dir(path).unwrap()
    }

    #[test]
    fn mkdir_in_tags_creates_the_tag() {
        assert_eq!(
            plan_mkdir(&dir("/tags/jazz/")).unwrap(),
            Op::CreateTag { tag: "jazz".into() }
        );
        assert_eq!(
            plan_mkdir(&dir("/tags/a/b/")).unwrap(),
            Op::CreateTag { tag: "b".into() }
        );
    }

    #[test]
    fn mkdir_in_files_creates_the_directory() {
        assert_eq!(
            plan_mkdir(&dir("/files/a/b/")).unwrap(),
            Op::CreateDir { path: "a/b".into() }
        );
    }

    #[test]
    fn mkdir_refused_for_fixed_directories() {
        for path in [
            "/", "/all/", "/tags/", "/by/", "/files/", "/search/", "/recent/", "/ids/",
        ] {
            assert!(
                matches!(plan_mkdir(&dir(path)), Err(TreeError::AlreadyExists { .. })),
                "{path}"
            );
        }
    }

    #[test]
    fn mkdir_refused_in_by_and_search() {
        for path in ["/by/k/", "/by/k/v/"] {
            let err = plan_mkdir(&dir(path)).unwrap_err();
            assert!(err.to_string().contains("through the documents"), "{err}");
        }
        let err = plan_mkdir(&Dir::Search("x".into())).unwrap_err();
        assert!(err.to_string().contains("virtual"), "{err}");
    }

    #[test]
    fn rmdir_in_tags_deletes_the_tag_if_unused() {
        let plan = plan_rmdir(&dir("/tags/b/")).unwrap();
        assert_eq!(plan, RmdirPlan::DeleteTagIfUnused { tag: "b".into() });
        assert_eq!(plan.op(), Some(Op::DeleteTag { tag: "b".into() }));
    }

    #[test]
    fn rmdir_of_a_co_tag_or_by_directory_commits_nothing() {
        for path in [
            "/tags/a/b/",
            "/tags/a/b/c/",
            "/by/k/",
            "/by/k/v/",
            "/by/k/v/j/w/",
        ] {
            let plan = plan_rmdir(&dir(path)).unwrap();
            assert_eq!(plan, RmdirPlan::Vanishes, "{path}");
            assert_eq!(plan.op(), None);
        }
    }

    #[test]
    fn rmdir_in_files_deletes_the_directory_if_empty() {
        let plan = plan_rmdir(&dir("/files/a/b/")).unwrap();
        assert_eq!(plan, RmdirPlan::DeleteDirIfEmpty { path: "a/b".into() });
        assert_eq!(plan.op(), Some(Op::DeleteDir { path: "a/b".into() }));
    }

    #[test]
    fn rmdir_refused_elsewhere() {
        for path in [
            "/", "/all/", "/tags/", "/by/", "/files/", "/search/", "/recent/", "/ids/",
        ] {
            assert!(
                matches!(plan_rmdir(&dir(path)), Err(TreeError::ReadOnly { .. })),
                "{path}"
            );
        }
        assert!(matches!(
            plan_rmdir(&Dir::Search("x".into())),
            Err(TreeError::ReadOnly { .. })
        ));
    }
}
