//! What the mount shows beyond the server's listings: documents shown
//! under a scratch name (shadows), names hidden for a while (masks), and
//! the names handed to the kernel in each directory (to invalidate them
//! when the change feed says a directory changed).
//!
//! A **shadow** is what vim's save makes of `mv x x~`: nothing is
//! committed; the document is hidden as `x` and shown as `x~`. A new `x`
//! written next (vim writes the new content under the old name) becomes a
//! new content revision of the same document, keeping its id and metadata,
//! and removing `x~` then commits nothing. Removing `x~` when no new `x`
//! came deletes the document, as `mv x x~; rm x~` means; renaming `x~` to a
//! real name renames the document.

use std::collections::{HashMap, HashSet};

use docgrid_core::DocId;

/// A document shown under a scratch name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadow {
    /// The document.
    pub id: DocId,
    /// The directory it was renamed from.
    pub from_dir: String,
    /// The name it had.
    pub from_name: String,
    /// A new file took its old name (vim's save): removing the shadow
    /// commits nothing.
    pub replaced: bool,
}

type Place = (String, String);

/// The mount's additions to the tree.
#[derive(Debug, Default)]
pub struct View {
    shadows: HashMap<Place, Shadow>,
    masked: HashSet<Place>,
    made: HashSet<Place>,
    known: HashMap<String, HashSet<String>>,
}

fn place(dir: &str, name: &str) -> Place {
    (dir.to_string(), name.to_string())
}

impl View {
    /// Shows document `shadow.id` as `name` in `dir`, hiding its old name.
    pub fn shadow(&mut self, dir: &str, name: &str, shadow: Shadow) {
        self.masked
            .insert(place(&shadow.from_dir, &shadow.from_name));
        self.shadows.insert(place(dir, name), shadow);
    }

    /// The shadow shown as `name` in `dir`.
    pub fn shadow_at(&self, dir: &str, name: &str) -> Option<&Shadow> {
        self.shadows.get(&place(dir, name))
    }

    /// Removes the shadow `name` of `dir`, showing the old name again.
    pub fn unshadow(&mut self, dir: &str, name: &str) -> Option<Shadow> {
        let s = self.shadows.remove(&place(dir, name))?;
        self.masked.remove(&place(&s.from_dir, &s.from_name));
        Some(s)
    }

    /// The document once called `name` in `dir`, now shown under a
    /// scratch name: marks it replaced (a new file takes the name).
    pub fn replace_original(&mut self, dir: &str, name: &str) -> Option<DocId> {
        let s = self
            .shadows
            .values_mut()
            .find(|s| s.from_dir == dir && s.from_name == name && !s.replaced)?;
        s.replaced = true;
        self.masked.remove(&place(dir, name));
        Some(s.id)
    }

    /// Shadows shown in `dir`: (name, document).
    pub fn shadows_in(&self, dir: &str) -> Vec<(String, DocId)> {
        self.shadows
            .iter()
            .filter(|((d, _), _)| d == dir)
            .map(|((_, n), s)| (n.clone(), s.id))
            .collect()
    }

    /// Hides `name` in `dir` (a directory that vanished while its
    /// documents' removals are held).
    pub fn mask(&mut self, dir: &str, name: &str) {
        self.masked.insert(place(dir, name));
    }

    /// Shows `name` in `dir` again.
    pub fn unmask(&mut self, dir: &str, name: &str) {
        self.masked.remove(&place(dir, name));
    }

    /// Forgets every mask under `dir` and its subdirectories.
    pub fn unmask_all(&mut self) {
        let shadowed: HashSet<Place> = self
            .shadows
            .values()
            .filter(|s| !s.replaced)
            .map(|s| place(&s.from_dir, &s.from_name))
            .collect();
        self.masked = shadowed;
    }

    /// `mkdir` made `name` in `dir`: it stays until `rmdir` even where the
    /// tree's rules list it only once a document is in it (`/tags/A/B/C`
    /// with nothing tagged A, B and C yet).
    pub fn make(&mut self, dir: &str, name: &str) {
        self.made.insert(place(dir, name));
    }

    /// Whether `mkdir` made `name` in `dir`.
    pub fn is_made(&self, dir: &str, name: &str) -> bool {
        self.made.contains(&place(dir, name))
    }

    /// The directories `mkdir` made in `dir`.
    pub fn made_in(&self, dir: &str) -> Vec<String> {
        self.made
            .iter()
            .filter(|(d, _)| d == dir)
            .map(|(_, n)| n.clone())
            .collect()
    }

    /// `rmdir` of `name` in `dir` (its path `path`): forgets it and every
    /// directory made below it. Whether it was one `mkdir` made.
    pub fn unmake(&mut self, dir: &str, name: &str, path: &str) -> bool {
        let was = self.made.remove(&place(dir, name));
        self.made.retain(|(d, _)| !d.starts_with(path));
        was
    }

    /// Whether `name` is hidden in `dir`.
    pub fn is_masked(&self, dir: &str, name: &str) -> bool {
        self.masked.contains(&place(dir, name))
    }

    /// The kernel was told of `name` in `dir`.
    pub fn remember(&mut self, dir: &str, name: &str) {
        if let Some(names) = self.known.get_mut(dir) {
            if !names.contains(name) {
                names.insert(name.to_string());
            }
        } else {
            self.known
                .insert(dir.to_string(), HashSet::from([name.to_string()]));
        }
    }

    /// The names the kernel was told of in `dir` (and forgets them).
    pub fn take_known(&mut self, dir: &str) -> Vec<String> {
        self.known
            .remove(dir)
            .map(|n| n.into_iter().collect())
            .unwrap_or_default()
    }

    /// Those of `names` the kernel was told of in `dir` (and forgets them).
    pub fn take_known_of(&mut self, dir: &str, names: &[String]) -> Vec<String> {
        let Some(known) = self.known.get_mut(dir) else {
            return Vec::new();
        };
        let taken: Vec<String> = names.iter().filter(|n| known.remove(*n)).cloned().collect();
        if known.is_empty() {
            self.known.remove(dir);
        }
        taken
    }

    /// The directories the kernel was told names of.
    pub fn known_dirs(&self) -> Vec<String> {
        self.known.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shadow_hides_the_old_name_until_it_is_replaced_or_removed() {
        let mut v = View::default();
        let id = DocId::random();
        let s = Shadow {
            id,
            from_dir: "/all/".into(),
            from_name: "x".into(),
            replaced: false,
        };
        v.shadow("/all/", "x~", s);
        assert!(v.is_masked("/all/", "x"));
        assert_eq!(v.shadow_at("/all/", "x~").unwrap().id, id);
        assert_eq!(v.replace_original("/all/", "x"), Some(id));
        assert!(!v.is_masked("/all/", "x"));
        let s = v.unshadow("/all/", "x~").unwrap();
        assert!(s.replaced);
        assert!(v.shadows_in("/all/").is_empty());
    }

    #[test]
    fn a_made_directory_stays_until_it_or_an_ancestor_is_removed() {
        let mut v = View::default();
        v.make("/tags/A/", "B");
        v.make("/tags/A/B/", "C");
        assert!(v.is_made("/tags/A/B/", "C"));
        assert_eq!(v.made_in("/tags/A/"), ["B"]);
        assert!(v.unmake("/tags/A/", "B", "/tags/A/B/"));
        assert!(!v.is_made("/tags/A/B/", "C"));
        assert!(!v.unmake("/tags/A/", "B", "/tags/A/B/"));
    }
}
