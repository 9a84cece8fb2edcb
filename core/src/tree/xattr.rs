//! Metadata as extended attributes: key `K` is the attribute `user.docgrid.K`,
//! its values joined by newlines.
//!
//! Every key is readable; the keys a client may set
//! ([`client_settable`](crate::model::client_settable): every non-reserved
//! key, `path` and `author`) are writable, the other reserved keys are
//! read-only here (`name` changes by renaming).

use crate::id::DocId;
use crate::model::{Metadata, Op, client_settable, validate_client_meta, validate_key};

use super::TreeError;

/// The prefix of every docgrid extended attribute.
pub const XATTR_PREFIX: &str = "user.docgrid.";

/// The attribute name of metadata key `key` (`tag` → `user.docgrid.tag`).
pub fn xattr_name(key: &str) -> String {
    format!("{XATTR_PREFIX}{key}")
}

/// The metadata key an attribute name stands for, or `None` if the name is
/// not `user.docgrid.` followed by a valid key.
pub fn xattr_key(name: &str) -> Option<String> {
    let key = name.strip_prefix(XATTR_PREFIX)?;
    validate_key(key).ok().map(|()| key.to_string())
}

/// The attribute names of a document with metadata `meta`, in key order.
pub fn xattr_names(meta: &Metadata) -> Vec<String> {
    meta.keys().map(|key| xattr_name(key)).collect()
}

/// An attribute's value: the key's values joined by `\n` (no trailing
/// newline), or `None` when the name is not docgrid's or the key is unset.
pub fn xattr_get(meta: &Metadata, name: &str) -> Option<String> {
    meta.get(&xattr_key(name)?)
        .map(|values| join_values(values))
}

/// Values joined by `\n`, as attributes show them.
pub fn join_values(values: &[String]) -> String {
    values.join("\n")
}

/// The values an attribute value stands for: one per line. `\r\n` line ends
/// are accepted, and empty lines (including a final newline) are skipped,
/// so empty values cannot be set this way.
pub fn split_values(text: &str) -> Vec<String> {
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

/// The key an attribute name stands for, refusing foreign names, invalid
/// keys and reserved keys (for writes).
fn writable_key(name: &str) -> Result<String, TreeError> {
    let Some(key) = name.strip_prefix(XATTR_PREFIX) else {
        return Err(TreeError::NotDocgridXattr {
            name: name.to_string(),
        });
    };
    validate_key(key).map_err(|source| TreeError::InvalidKey {
        key: key.to_string(),
        source,
    })?;
    if !client_settable(key) {
        return Err(TreeError::ReservedKey {
            key: key.to_string(),
        });
    }
    Ok(key.to_string())
}

/// Setting attribute `name` to `value` on document `id` (at revision
/// `base`): one [`Op::SetMeta`] with the values of [`split_values`] (none
/// removes the key). Refuses foreign attribute names, invalid and reserved
/// keys, non-UTF-8 values and values holding NUL or a lone `\r`.
pub fn xattr_set_op(id: DocId, base: u64, name: &str, value: &[u8]) -> Result<Op, TreeError> {
    let key = writable_key(name)?;
    let text = std::str::from_utf8(value).map_err(|_| TreeError::XattrNotUtf8 {
        name: name.to_string(),
    })?;
    let values = split_values(text);
    validate_client_meta(&key, &values).map_err(|source| TreeError::InvalidValue {
        component: text.to_string(),
        source,
    })?;
    Ok(Op::SetMeta {
        id,
        base,
        key,
        values,
    })
}

/// Removing attribute `name` from document `id` (at revision `base`): an
/// [`Op::SetMeta`] with no values. Same refusals as [`xattr_set_op`].
pub fn xattr_remove_op(id: DocId, base: u64, name: &str) -> Result<Op, TreeError> {
    let key = writable_key(name)?;
    Ok(Op::SetMeta {
        id,
        base,
        key,
        values: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: DocId = DocId::from_u128(5);

    #[test]
    fn xattr_names_map_to_keys() {
        assert_eq!(xattr_name("tag"), "user.docgrid.tag");
        assert_eq!(xattr_key("user.docgrid.tag").as_deref(), Some("tag"));
        assert_eq!(xattr_key("user.docgrid.Tag"), None);
        assert_eq!(xattr_key("user.docgrid."), None);
        assert_eq!(xattr_key("security.selinux"), None);
        assert_eq!(xattr_key("user.other.tag"), None);
    }

    #[test]
    fn xattr_get_joins_values_with_newlines() {
        let meta: Metadata = [("tag".to_string(), vec!["a".to_string(), "b".to_string()])]
            .into_iter()
            .collect();
        assert_eq!(xattr_names(&meta), ["user.docgrid.tag"]);
        assert_eq!(
            xattr_get(&meta, "user.docgrid.tag").as_deref(),
            Some("a\nb")
        );
        assert_eq!(xattr_get(&meta, "user.docgrid.year"), None);
        assert_eq!(xattr_get(&meta, "user.tag"), None);
    }

    #[test]
    fn split_values_is_one_value_per_line() {
        assert_eq!(split_values("a\nb"), ["a", "b"]);
        assert_eq!(split_values("a\r\nb\r\n"), ["a", "b"]);
        assert_eq!(split_values("a\n\nb\n"), ["a", "b"]);
        assert!(split_values("").is_empty());
        let values = vec!["x y".to_string(), "z".to_string()];
        assert_eq!(split_values(&join_values(&values)), values);
    }

    #[test]
    fn xattr_set_makes_set_meta() {
        let op = xattr_set_op(ID, 4, "user.docgrid.tag", b"jazz\nlive\n").unwrap();
        let values = vec!["jazz".to_string(), "live".to_string()];
        assert_eq!(
            op,
            Op::SetMeta {
                id: ID,
                base: 4,
                key: "tag".into(),
                values
            }
        );
        let op = xattr_set_op(ID, 4, "user.docgrid.tag", b"").unwrap();
        assert_eq!(
            op,
            Op::SetMeta {
                id: ID,
                base: 4,
                key: "tag".into(),
                values: vec![]
            }
        );
    }

    #[test]
    fn xattr_remove_makes_empty_set_meta() {
        let op = xattr_remove_op(ID, 2, "user.docgrid.year").unwrap();
        assert_eq!(
            op,
            Op::SetMeta {
                id: ID,
                base: 2,
                key: "year".into(),
                values: vec![]
            }
        );
    }

    #[test]
    fn xattr_set_refuses_reserved_keys() {
        for key in ["name", "size", "mime", "hash", "created", "modified"] {
            let name = xattr_name(key);
            assert_eq!(
                xattr_set_op(ID, 1, &name, b"x").unwrap_err(),
                TreeError::ReservedKey { key: key.into() }
            );
            assert!(matches!(
                xattr_remove_op(ID, 1, &name),
                Err(TreeError::ReservedKey { .. })
            ));
        }
    }

    #[test]
    fn xattr_sets_the_reserved_keys_a_client_may_set() {
        let op = xattr_set_op(ID, 1, "user.docgrid.path", b"a/b.txt").unwrap();
        assert!(matches!(op, Op::SetMeta { key, .. } if key == "path"));
        let op = xattr_set_op(ID, 1, "user.docgrid.author", b"alice").unwrap();
        assert!(matches!(op, Op::SetMeta { key, .. } if key == "author"));
        assert!(matches!(
            xattr_set_op(ID, 1, "user.docgrid.path", b"/abs"),
            Err(TreeError::InvalidValue { .. })
        ));
    }

    #[test]
    fn xattr_set_refuses_foreign_names_bad_keys_and_values() {
        assert!(matches!(
            xattr_set_op(ID, 1, "user.other", b"x"),
            Err(TreeError::NotDocgridXattr { .. })
        ));
        assert!(matches!(
            xattr_set_op(ID, 1, "user.docgrid.A B", b"x"),
            Err(TreeError::InvalidKey { .. })
        ));
        assert!(matches!(
            xattr_set_op(ID, 1, "user.docgrid.tag", &[0xff, 0xfe]),
            Err(TreeError::XattrNotUtf8 { .. })
        ));
        assert!(matches!(
            xattr_set_op(ID, 1, "user.docgrid.tag", b"a\0b"),
            Err(TreeError::InvalidValue { .. })
        ));
        assert!(matches!(
            xattr_set_op(ID, 1, "user.docgrid.tag", b"a\rb"),
            Err(TreeError::InvalidValue { .. })
        ));
    }
}
