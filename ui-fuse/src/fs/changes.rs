//! What the kernel must forget when the tree layer reports a commit: the
//! attributes and pages of the documents it touched, and for another
//! client's commit — of the names the kernel was told of in the
//! directories whose listing changed — those the change made stand for
//! something else (all of them where the tree layer cannot tell which).
//!
//! This mount's own commits forget no names: each operation already
//! answered the kernel with its outcome (`create`, `rename`, `unlink`,
//! `mkdir` set the dentries they touch), and what it changed elsewhere (a
//! rename in `/files/` renames the document in `/all/` too) lasts only
//! the entry TTL in the kernel. Forgetting every name of a directory at
//! each commit made `cp -r` into it quadratic: the kernel looked each name
//! up again.

use docgrid_client::tree::Changed;

use super::Fs;
use super::inodes::Ino;

/// Kernel caches to drop for one change.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Invalidations {
    /// Inodes whose attributes and cached pages go.
    pub inodes: Vec<Ino>,
    /// Names (directory inode, name) whose dentries go.
    pub entries: Vec<(Ino, String)>,
}

impl Fs {
    /// Forgets what `changed` makes stale and says what the kernel must
    /// forget too.
    pub fn invalidations(&self, changed: &Changed) -> Invalidations {
        let mut st = self.lock();
        let mut out = Invalidations::default();
        for id in &changed.docs {
            if let Some(ino) = st.inodes.doc_ino(id) {
                st.entries.remove(&ino);
                if !st.drafts.contains_key(&ino) {
                    out.inodes.push(ino);
                }
            }
        }
        let dirs = if changed.everything {
            st.entries.clear();
            st.view.known_dirs()
        } else {
            changed.paths.clone()
        };
        for dir in dirs {
            let Some(ino) = st.inodes.dir_ino(&dir) else {
                st.view.take_known(&dir);
                continue;
            };
            out.inodes.push(ino);
            if changed.own {
                continue;
            }
            let names = match changed.names.get(&dir) {
                Some(names) => st.view.take_known_of(&dir, names),
                None => st.view.take_known(&dir),
            };
            out.entries.extend(names.into_iter().map(|n| (ino, n)));
        }
        out
    }
}
