//! `checkout` and the downloads it shares with `update`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use docgrid_client::tree::Tree;
use docgrid_core::DocId;
use docgrid_core::api::DocInfo;

use super::{DirEntry, Entry, STATE_VERSION, Wc, WcState};

/// Parallel downloads: enough to hide a round trip, few enough for a small
/// server.
const FETCHERS: usize = 4;

impl Wc {
    /// `checkout TREEPATH DIR`: the documents listed there (recursively
    /// for `/files/`), as files. Prints svn's `A    DIR/NAME` per entry as
    /// `shown` (the directory as the user typed it) and returns the working
    /// copy and the revision checked out.
    pub fn checkout(tree: &Tree, tree_path: &str, dir: &Path, shown: &str) -> Result<(Wc, u64)> {
        if dir.join(".docgrid").exists() {
            bail!("'{}' is already a working copy", dir.display());
        }
        if dir.is_dir() && std::fs::read_dir(dir)?.next().is_some() {
            bail!(
                "'{}' exists and is not empty: check out into a new or empty directory",
                dir.display()
            );
        }
        std::fs::create_dir_all(dir.join(".docgrid").join("pristine"))
            .with_context(|| format!("creating {}", dir.display()))?;
        let mut wc = Wc {
            root: std::fs::canonicalize(dir)?,
            state: WcState {
                version: STATE_VERSION,
                tree_path: tree_path.trim_end_matches('/').to_string(),
                rev: 0,
                entries: BTreeMap::new(),
                dirs: BTreeMap::new(),
            },
        };
        let remote = wc.remote(tree)?;
        for rel in &remote.dirs {
            std::fs::create_dir_all(wc.file(rel))?;
            wc.state.dirs.insert(rel.clone(), DirEntry::default());
        }
        let wanted: Vec<(String, DocId)> = remote
            .files
            .iter()
            .filter_map(|(rel, e)| e.id.map(|id| (rel.clone(), id)))
            .collect();
        let mut shown_paths: Vec<String> = remote.dirs.iter().cloned().collect();
        for (rel, entry) in wc.fetch_many(tree, &wanted)? {
            shown_paths.push(rel.clone());
            wc.state.entries.insert(rel, entry);
        }
        shown_paths.sort();
        for rel in shown_paths {
            outln!("A    {shown}/{rel}");
        }
        wc.state.rev = remote.rev;
        wc.save()?;
        Ok((wc, remote.rev))
    }

    /// Downloads each `(rel, id)` into the pristine store and its file, a
    /// few at a time; the entries in the order given.
    pub(crate) fn fetch_many(
        &self,
        tree: &Tree,
        wanted: &[(String, DocId)],
    ) -> Result<Vec<(String, Entry)>> {
        let next = Mutex::new(0usize);
        let done: Mutex<Vec<(usize, Entry)>> = Mutex::new(Vec::with_capacity(wanted.len()));
        let failed: Mutex<Option<anyhow::Error>> = Mutex::new(None);
        // Drawn on a terminal only (indicatif hides it otherwise).
        let bar = indicatif::ProgressBar::new(wanted.len() as u64).with_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} files {per_sec}")
                .expect("a valid template"),
        );
        std::thread::scope(|s| {
            for _ in 0..FETCHERS.min(wanted.len()) {
                s.spawn(|| {
                    loop {
                        let i = {
                            let mut n = next.lock().expect("not poisoned");
                            *n += 1;
                            *n - 1
                        };
                        if i >= wanted.len() || failed.lock().expect("not poisoned").is_some() {
                            return;
                        }
                        let (rel, id) = &wanted[i];
                        match self.fetch(tree, id, rel) {
                            Ok(e) => {
                                done.lock().expect("not poisoned").push((i, e));
                                bar.inc(1);
                            }
                            Err(e) => {
                                *failed.lock().expect("not poisoned") = Some(e);
                                return;
                            }
                        }
                    }
                });
            }
        });
        bar.finish_and_clear();
        if let Some(e) = failed.into_inner().expect("not poisoned") {
            return Err(e);
        }
        let mut done = done.into_inner().expect("not poisoned");
        done.sort_by_key(|(i, _)| *i);
        Ok(done
            .into_iter()
            .map(|(i, e)| (wanted[i].0.clone(), e))
            .collect())
    }

    /// Downloads document `id` into the pristine store and file `rel`.
    fn fetch(&self, tree: &Tree, id: &DocId, rel: &str) -> Result<Entry> {
        let doc = tree.client().doc(id)?;
        self.fetch_doc(tree, &doc, rel)
    }

    /// Writes `doc`'s content to the pristine store (unless there) and to
    /// file `rel`.
    pub(crate) fn fetch_doc(&self, tree: &Tree, doc: &DocInfo, rel: &str) -> Result<Entry> {
        let pristine = self.pristine_from(&doc.hash, |w| {
            tree.client().content_to(&doc.id, w).map(|_| ())
        })?;
        let file = self.file(rel);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&pristine, &file).with_context(|| format!("writing {}", file.display()))?;
        Ok(Entry::clean(doc, &file))
    }
}
