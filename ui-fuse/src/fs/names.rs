//! Names that editors, file managers and downloaders make for their own
//! bookkeeping, which never become documents.
//!
//! - **Scratch** names (vim's `4913` probe and `.swp`/`.swx`, backups
//!   `*~`, emacs's `.#*` locks, gedit's `.goutputstream-*`, LibreOffice's
//!   `.~lock.*#`, downloads in progress `*.part`/`*.crdownload`) live in
//!   the mount's memory (and spool) only. Renamed to a real name, a
//!   scratch file becomes a document then (a finished download, gedit's
//!   atomic save).
//! - **Shunned** names (`.Trash-*`, `.DS_Store`, `._*`, `.hidden`,
//!   `.directory`) answer `ENOENT` on lookup without asking the server, so
//!   file managers stop probing; created, they are scratch.
//!
//! Both lists are globs (`*` only) and can be replaced with
//! `--scratch`/`--shun`.

use docgrid_core::query::glob_match;

/// The scratch globs used unless configured.
pub const DEFAULT_SCRATCH: &[&str] = &[
    "4913",
    "*.swp",
    "*.swx",
    "*.swo",
    ".*.sw?",
    "*~",
    ".#*",
    "#*#",
    ".goutputstream-*",
    ".~lock.*#",
    "*.part",
    "*.crdownload",
    ".fuse_hidden*",
];

/// The shunned globs used unless configured.
pub const DEFAULT_SHUN: &[&str] = &[
    ".Trash",
    ".Trash-*",
    ".DS_Store",
    "._*",
    ".hidden",
    ".directory",
];

/// How a name is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameClass {
    /// A real name: the file is a document.
    Real,
    /// Editor or downloader bookkeeping: kept in the mount only.
    Scratch,
    /// File-manager probing: absent unless created (then scratch).
    Shunned,
}

/// The configured name rules.
#[derive(Debug, Clone)]
pub struct NameRules {
    scratch: Vec<String>,
    shun: Vec<String>,
}

impl Default for NameRules {
    fn default() -> Self {
        NameRules::new(
            DEFAULT_SCRATCH.iter().map(|s| s.to_string()).collect(),
            DEFAULT_SHUN.iter().map(|s| s.to_string()).collect(),
        )
    }
}

impl NameRules {
    /// Rules from these globs.
    pub fn new(scratch: Vec<String>, shun: Vec<String>) -> NameRules {
        NameRules { scratch, shun }
    }

    /// How `name` is treated.
    pub fn class(&self, name: &str) -> NameClass {
        let hit = |globs: &[String]| globs.iter().any(|g| glob(g, name));
        if hit(&self.scratch) {
            NameClass::Scratch
        } else if hit(&self.shun) {
            NameClass::Shunned
        } else {
            NameClass::Real
        }
    }

    /// Whether `name` never becomes a document.
    pub fn is_scratch(&self, name: &str) -> bool {
        self.class(name) != NameClass::Real
    }
}

/// `*` globs, plus `?` for one character (vim's `.x.swp`, `.x.swo`…).
fn glob(pattern: &str, name: &str) -> bool {
    if !pattern.contains('?') {
        return glob_match(pattern, name);
    }
    let Some(at) = pattern.find('?') else {
        return false;
    };
    name.char_indices().any(|(i, c)| {
        i == at
            && glob(&pattern[..at], &name[..i])
            && glob(&pattern[at + 1..], &name[i + c.len_utf8()..])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_names_are_scratch() {
        let r = NameRules::default();
        for n in [
            "4913",
            ".notes.txt.swp",
            ".notes.txt.swx",
            "notes.txt~",
            ".#notes.txt",
            ".goutputstream-ABC123",
            ".~lock.report.odt#",
            "film.mkv.part",
            "film.mkv.crdownload",
        ] {
            assert_eq!(r.class(n), NameClass::Scratch, "{n}");
        }
        for n in [
            ".DS_Store",
            ".Trash-1000",
            "._report.pdf",
            ".hidden",
            ".directory",
        ] {
            assert_eq!(r.class(n), NameClass::Shunned, "{n}");
        }
        for n in ["notes.txt", "report.pdf", "4913.txt", "part", "a~b", "swp"] {
            assert_eq!(r.class(n), NameClass::Real, "{n}");
        }
    }

    #[test]
    fn rules_are_configurable() {
        let r = NameRules::new(vec!["*.tmp".into()], vec![]);
        assert_eq!(r.class("x.tmp"), NameClass::Scratch);
        assert_eq!(r.class("x.swp"), NameClass::Real);
        assert_eq!(r.class(".DS_Store"), NameClass::Real);
    }
}
