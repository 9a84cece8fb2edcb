//! `diff`: svn's unified diff of local changes: text files line by line,
//! a line for binary ones, property changes.

use anyhow::{Context, Result};

use super::{Wc, under};

impl Wc {
    /// The local changes under `targets` (relative paths; `""`: all).
    pub fn diff(&self, targets: &[String]) -> Result<String> {
        let mut out = String::new();
        for (rel, e) in &self.state.entries {
            if !targets.iter().any(|t| under(t, rel)) {
                continue;
            }
            let file = self.file(rel);
            let content_changed = file.is_file()
                && match e.id {
                    None => true,
                    Some(_) => self.modified(rel, e)?,
                };
            if content_changed || e.delete {
                let old = match e.hash {
                    Some(h) => std::fs::read(self.pristine(&h)).context("no pristine copy")?,
                    None => Vec::new(),
                };
                let new = if e.delete {
                    Vec::new()
                } else {
                    std::fs::read(&file)?
                };
                let (old_label, new_label) = match e.id {
                    None => ("nonexistent".to_string(), "working copy".to_string()),
                    Some(_) => (format!("revision {}", e.rev), "working copy".to_string()),
                };
                out.push_str(&format!("Index: {rel}\n{}\n", "=".repeat(67)));
                match (std::str::from_utf8(&old), std::str::from_utf8(&new)) {
                    (Ok(a), Ok(b)) => out.push_str(
                        &diffy::create_patch(a, b)
                            .to_string()
                            .replacen("--- original", &format!("--- {rel}\t({old_label})"), 1)
                            .replacen("+++ modified", &format!("+++ {rel}\t({new_label})"), 1),
                    ),
                    _ => out.push_str(&format!(
                        "Cannot display: file marked as a binary type.\n\
                         ({old_label}: {} bytes; {new_label}: {} bytes)\n",
                        old.len(),
                        new.len()
                    )),
                }
            }
            if !e.prop_changes.is_empty() {
                out.push_str(&format!(
                    "\nProperty changes on: {rel}\n{}\n",
                    "_".repeat(67)
                ));
                for (k, v) in &e.prop_changes {
                    let verb = match (e.props.contains_key(k), v.is_empty()) {
                        (false, _) => "Added",
                        (true, true) => "Deleted",
                        (true, false) => "Modified",
                    };
                    out.push_str(&format!("{verb}: {k}\n"));
                    if let Some(old) = e.props.get(k) {
                        out.push_str(&format!("## -1 +1 ##\n-{}\n", old.join("\n-")));
                    }
                    if !v.is_empty() {
                        out.push_str(&format!("+{}\n", v.join("\n+")));
                    }
                }
            }
        }
        Ok(out)
    }
}
