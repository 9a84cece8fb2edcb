//! Paths as people type them: a tag or `/by/` value holding `/` written with
//! an ASCII `/` (`/by/mime/text/plain/`) instead of [`SLASH_STAND_IN`]
//! (`/by/mime/text∕plain/`).
//!
//! A typed `/` is ambiguous (`/by/mime/text/plain/` also reads as the key
//! `plain` under `mime=text`), so it is joined only where a value that
//! exists spells the components: the rule is "a run of components that
//! spells a known tag or value is that tag or value", longest first.

use super::SLASH_STAND_IN;

/// What [`join_typed_slashes`] asks about: the tags, or the values of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known<'a> {
    /// The tags (components under `/tags/`).
    Tags,
    /// The values of this key (value components under `/by/`).
    Values(&'a str),
}

/// `path` with every run of components that spells a known tag or `/by/`
/// value holding `/` joined into one component with [`SLASH_STAND_IN`].
/// `known` is asked only where a join is possible (a component followed by
/// another) and gives the values holding `/`. Other paths come back as they
/// are, trailing `/` kept.
///
/// ```
/// use docgrid_core::tree::{Known, join_typed_slashes};
/// let joined = join_typed_slashes("/by/mime/text/plain/", &mut |k| match k {
///     Known::Values("mime") => vec!["text/plain".to_string()],
///     _ => vec![],
/// });
/// assert_eq!(joined, "/by/mime/text\u{2215}plain/");
/// ```
pub fn join_typed_slashes(path: &str, known: &mut dyn FnMut(Known<'_>) -> Vec<String>) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let (values_from, step) = match parts.first() {
        Some(&"tags") => (1, 1),
        Some(&"by") => (2, 2),
        _ => return path.to_string(),
    };
    let mut out: Vec<String> = parts[..values_from.min(parts.len())]
        .iter()
        .map(|p| p.to_string())
        .collect();
    let mut i = values_from;
    let mut value_slot = true;
    let mut tags: Option<Vec<String>> = None;
    while i < parts.len() {
        if !value_slot {
            out.push(parts[i].to_string());
            i += 1;
            value_slot = true;
            continue;
        }
        let mut taken = 1;
        if i + 1 < parts.len() {
            // Every tag component asks the same question: asked once.
            let values = if step == 1 {
                tags.get_or_insert_with(|| known(Known::Tags))
            } else {
                &known(Known::Values(parts[i - 1]))
            };
            taken = longest_spelled(&parts[i..], values);
        }
        out.push(parts[i..i + taken].join(&SLASH_STAND_IN.to_string()));
        i += taken;
        value_slot = step == 1;
    }
    let mut joined = format!("/{}", out.join("/"));
    if path.ends_with('/') && joined != "/" {
        joined.push('/');
    }
    joined
}

/// How many of `parts` (at least 1) the longest of `values` spells.
fn longest_spelled(parts: &[&str], values: &[String]) -> usize {
    values
        .iter()
        .filter(|v| v.contains('/'))
        .map(|v| v.split('/').collect::<Vec<_>>())
        .filter(|spelled| spelled.len() <= parts.len() && parts[..spelled.len()] == spelled[..])
        .map(|spelled| spelled.len())
        .max()
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(k: Known<'_>) -> Vec<String> {
        let v: &[&str] = match k {
            Known::Tags => &["a/b", "a/b/c", "plain"],
            Known::Values("mime") => &["text/plain", "image/png"],
            Known::Values(_) => &[],
        };
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn typed_slashes_join_only_where_a_known_value_spells_them() {
        let j = |p: &str| join_typed_slashes(p, &mut known);
        assert_eq!(j("/by/mime/text/plain/"), "/by/mime/text∕plain/");
        assert_eq!(j("/by/mime/text/plain/x.txt"), "/by/mime/text∕plain/x.txt");
        assert_eq!(
            j("/by/mime/text/plain/year/1959/"),
            "/by/mime/text∕plain/year/1959/"
        );
        assert_eq!(j("/by/mime/text/"), "/by/mime/text/");
        assert_eq!(j("/by/mime/image/jpeg/"), "/by/mime/image/jpeg/");
        assert_eq!(j("/tags/a/b/c/d"), "/tags/a∕b∕c/d");
        assert_eq!(j("/tags/a/b"), "/tags/a∕b");
        assert_eq!(j("/tags/x/a/b/"), "/tags/x/a∕b/");
        assert_eq!(j("/files/a/b/"), "/files/a/b/");
        assert_eq!(j("/tags/"), "/tags/");
        assert_eq!(j("/"), "/");
    }

    #[test]
    fn the_tags_are_asked_once_per_path() {
        let mut asked = 0;
        let j = join_typed_slashes("/tags/a/b/x/y/", &mut |k| {
            asked += 1;
            known(k)
        });
        assert_eq!(j, "/tags/a∕b/x/y/");
        assert_eq!(asked, 1);
    }

    #[test]
    fn known_values_are_asked_only_where_a_join_is_possible() {
        let mut asked = 0;
        join_typed_slashes("/by/mime/text/", &mut |_| {
            asked += 1;
            vec![]
        });
        assert_eq!(asked, 0);
    }
}
