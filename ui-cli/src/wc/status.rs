//! `status`: svn's letters in svn's columns (the path at column 9, so
//! `cut -c9-` works): first column `A` added, `D` deleted, `M` modified,
//! `C` conflict, `?` unversioned, `!` missing; second column `M` for a
//! property change, `C` for a property conflict; fourth column `+` for a
//! move's new side (`A  +`), followed by svn's `> moved from` / `> moved
//! to` lines.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;

use super::{Wc, under};

/// One line of `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusLine {
    /// The first column.
    pub item: char,
    /// The second column (properties).
    pub props: char,
    /// The fourth column: the new side of a move ("with history").
    pub copied: bool,
    /// The path relative to the working copy's top.
    pub path: String,
    /// For the new side of a move: where it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    /// For the old side of a move: where it went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<String>,
}

/// Lines as svn prints them: the letters padded to eight columns.
pub type Line = String;

impl StatusLine {
    fn new(item: char, path: &str) -> StatusLine {
        StatusLine {
            item,
            props: ' ',
            copied: false,
            path: path.to_string(),
            moved_from: None,
            moved_to: None,
        }
    }

    /// The line (and its move note) as svn prints it, with `prefix` before
    /// the path (the target as typed).
    pub fn svn(&self, prefix: &str) -> Line {
        let plus = if self.copied { '+' } else { ' ' };
        let mut line = format!(
            "{}{} {plus}    {prefix}{}",
            self.item, self.props, self.path
        );
        if let Some(from) = &self.moved_from {
            line.push_str(&format!("\n        > moved from {prefix}{from}"));
        }
        if let Some(to) = &self.moved_to {
            line.push_str(&format!("\n        > moved to {prefix}{to}"));
        }
        line
    }
}

impl Wc {
    /// What changed under the relative paths `targets` (`""`: everything),
    /// sorted by path.
    pub fn status(&self, targets: &[String]) -> Result<Vec<StatusLine>> {
        let wanted = |p: &str| targets.iter().any(|t| under(t, p));
        let mut out = Vec::new();
        let (disk, unversioned) = self.disk()?;
        for (rel, e) in &self.state.entries {
            if !wanted(rel) && !e.renamed_from.as_deref().is_some_and(wanted) {
                continue;
            }
            let stat = disk.get(rel).copied().flatten();
            let item = if e.conflict {
                'C'
            } else if e.delete {
                'D'
            } else if stat.is_none() {
                '!'
            } else if e.id.is_none() || e.renamed_from.is_some() {
                'A'
            } else if stat != e.stat && self.modified(rel, e)? {
                'M'
            } else {
                ' '
            };
            let props = if e.prop_conflict {
                'C'
            } else if e.prop_changes.is_empty() {
                ' '
            } else {
                'M'
            };
            if let Some(from) = &e.renamed_from
                && wanted(from)
            {
                let mut old = StatusLine::new('D', from);
                old.moved_to = Some(rel.clone());
                out.push(old);
            }
            if (item != ' ' || props != ' ') && wanted(rel) {
                let mut line = StatusLine::new(item, rel);
                line.props = props;
                if let Some(from) = &e.renamed_from {
                    line.copied = true;
                    line.moved_from = Some(from.clone());
                }
                out.push(line);
            }
        }
        for (rel, d) in &self.state.dirs {
            let item = if d.delete {
                'D'
            } else if !self.file(rel).is_dir() {
                '!'
            } else if d.added {
                'A'
            } else {
                continue;
            };
            if wanted(rel) {
                out.push(StatusLine::new(item, rel));
            }
        }
        for rel in unversioned {
            if wanted(&rel) {
                out.push(StatusLine::new('?', &rel));
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// What is on disk in the versioned directories, read one directory at
    /// a time (each entry stat'ed relative to its directory): the size and
    /// mtime of each regular file by relative path (`None`: not a regular
    /// file), and what is not versioned (an unversioned directory is one
    /// path, its content not listed).
    #[allow(clippy::type_complexity)]
    fn disk(&self) -> Result<(HashMap<String, Option<(u64, i128)>>, Vec<String>)> {
        let (mut seen, mut unversioned) = (HashMap::new(), Vec::new());
        let mut queue = vec![String::new()];
        while let Some(dir) = queue.pop() {
            for f in std::fs::read_dir(self.file(&dir))? {
                let f = f?;
                let name = f.file_name().to_string_lossy().to_string();
                if dir.is_empty() && name == ".docgrid" {
                    continue;
                }
                let rel = super::rel_join(&dir, &name);
                if self.state.dirs.contains_key(&rel) {
                    queue.push(rel);
                } else if self.state.entries.contains_key(&rel) {
                    // Relative to the directory; a symbolic link followed.
                    let meta = match f.file_type()?.is_symlink() {
                        true => std::fs::metadata(f.path()).ok(),
                        false => f.metadata().ok(),
                    };
                    let meta = meta.filter(|m| m.is_file());
                    seen.insert(rel, meta.as_ref().and_then(super::stat_of_meta));
                } else {
                    unversioned.push(rel);
                }
            }
        }
        Ok((seen, unversioned))
    }
}
