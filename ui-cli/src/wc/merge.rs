//! Three-way merge of a locally modified file with the repository's new
//! version, as `svn update` does: non-overlapping edits merge (`G`),
//! overlapping ones leave svn's conflict markers and files (`C`).

use std::path::Path;

use anyhow::{Context, Result};

use super::{Entry, Wc};

/// svn's markers: `.mine`, the base revision, the new revision.
fn svn_markers(merged: &str, old_rev: u64, new_rev: u64) -> String {
    let mut out = String::with_capacity(merged.len());
    for line in merged.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let replaced = match body {
            "<<<<<<< ours" => format!("<<<<<<< .mine{end}"),
            "||||||| original" => format!("||||||| .r{old_rev}{end}"),
            ">>>>>>> theirs" => format!(">>>>>>> .r{new_rev}{end}"),
            _ => line.to_string(),
        };
        out.push_str(&replaced);
    }
    out
}

impl Wc {
    /// Merges the repository's version `theirs` (document revision
    /// `new_rev`) into the locally modified file `rel`, based on `e`:
    /// `'G'` when the edits do not overlap; else `'C'`, with the file
    /// holding svn's markers (text) or left as it was (binary), and
    /// `FILE.mine`, `FILE.rOLD`, `FILE.rNEW` beside it, recorded in `next`.
    pub(crate) fn merge_file(
        &self,
        rel: &str,
        e: &Entry,
        theirs: &Path,
        new_rev: u64,
        next: &mut Entry,
    ) -> Result<char> {
        let file = self.file(rel);
        let base_path = self.pristine(&e.hash.context("no pristine copy")?);
        let base = std::fs::read(&base_path)?;
        let mine = std::fs::read(&file)?;
        let theirs_bytes = std::fs::read(theirs)?;
        let texts = (
            std::str::from_utf8(&base),
            std::str::from_utf8(&mine),
            std::str::from_utf8(&theirs_bytes),
        );
        let marked = if let (Ok(b), Ok(m), Ok(t)) = texts {
            match diffy::merge(b, m, t) {
                Ok(merged) => {
                    std::fs::write(&file, merged)?;
                    return Ok('G');
                }
                Err(with_markers) => Some(svn_markers(&with_markers, e.rev, new_rev)),
            }
        } else {
            None
        };
        let sides = [
            (format!("{rel}.mine"), &mine),
            (format!("{rel}.r{}", e.rev), &base),
            (format!("{rel}.r{new_rev}"), &theirs_bytes),
        ];
        for (name, bytes) in &sides {
            std::fs::write(self.file(name), bytes)?;
        }
        if let Some(marked) = marked {
            std::fs::write(&file, marked)?;
        }
        next.conflict = true;
        next.conflict_files = sides.into_iter().map(|(n, _)| n).collect();
        Ok('C')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_svn_s() {
        let m = "a\n<<<<<<< ours\nB\n||||||| original\nb\n=======\nA\n>>>>>>> theirs\nc\n";
        assert_eq!(
            svn_markers(m, 4, 5),
            "a\n<<<<<<< .mine\nB\n||||||| .r4\nb\n=======\nA\n>>>>>>> .r5\nc\n"
        );
    }
}
