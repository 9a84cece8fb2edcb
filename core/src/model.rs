//! Documents, metadata, manifests and changesets.
//!
//! Every type here that is persisted (in the store's journal or an index)
//! carries a `version` field, [`FORMAT_VERSION`] when written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::chunk::Digest;
use crate::id::DocId;
use crate::store::Locator;

/// The version written into every persisted structure of this module.
pub const FORMAT_VERSION: u32 = 1;

/// A document's metadata: multi-valued `key = value` attributes. Keys are
/// lower-case `[a-z0-9_.-]+` (see [`validate_key`]); values are kept in the
/// order given.
pub type Metadata = BTreeMap<String, Vec<String>>;

/// Keys maintained by the server; clients may read them all and set only
/// those [`client_settable`] allows (`name` through a rename).
pub const RESERVED_KEYS: &[&str] = &[
    "name", "path", "size", "mime", "hash", "created", "modified", "author",
];

/// The longest document name, in bytes (as most filesystems).
pub const MAX_NAME_LEN: usize = 255;

/// Why a key, name or path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A metadata key outside `[a-z0-9_.-]+`.
    #[error("invalid key {0:?}: keys are lower-case letters, digits, '_', '.' and '-'")]
    InvalidKey(String),
    /// A key the server maintains.
    #[error("key {0:?} is maintained by docgrid and cannot be set directly")]
    ReservedKey(String),
    /// A document name that is empty, too long, `.`/`..`, or holds `/` or NUL.
    #[error("invalid document name {name:?}: {why}")]
    InvalidName {
        /// The refused name.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A tag that cannot be a directory under `/tags` (see [`validate_name`]).
    #[error("invalid tag {tag:?}: {why} (a tag is a directory under /tags)")]
    InvalidTag {
        /// The refused tag.
        tag: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A `path` value that is absolute, empty, or has an invalid component.
    #[error("invalid path {path:?}: {why}")]
    InvalidPath {
        /// The refused path.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// An empty metadata value (remove the value instead).
    #[error("empty value for key {0:?}: remove the value instead of setting it empty")]
    EmptyValue(String),
    /// A metadata value holding NUL or a newline (values are shown one per
    /// line in extended attributes).
    #[error("invalid value {value:?} for key {key:?}: values cannot hold NUL or line breaks")]
    InvalidValue {
        /// The key the value was for.
        key: String,
        /// The refused value.
        value: String,
    },
}

/// Checks that `key` is a valid metadata key (`[a-z0-9_.-]+`, not `.`/`..`).
pub fn validate_key(key: &str) -> Result<(), ModelError> {
    let ok = !key.is_empty()
        && key != "."
        && key != ".."
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidKey(key.to_string()))
    }
}

/// Whether `key` is one of the [`RESERVED_KEYS`].
pub fn is_reserved(key: &str) -> bool {
    RESERVED_KEYS.contains(&key)
}

/// Reserved keys a client may set with [`Op::SetMeta`] and in a new
/// document's metadata: `path` (the `/files` namespace) and `author` (a
/// document's author, when not the committer).
pub const CLIENT_SETTABLE: &[&str] = &["path", "author"];

/// Whether a client may set `key` (the one rule: server, CLI and extended
/// attributes all ask this): every valid non-reserved key, and the
/// reserved keys of [`CLIENT_SETTABLE`].
pub fn client_settable(key: &str) -> bool {
    validate_key(key).is_ok() && (!is_reserved(key) || CLIENT_SETTABLE.contains(&key))
}

/// Checks metadata a client sets: a valid, [`client_settable`] key and
/// valid, non-empty values (`path` values valid paths).
pub fn validate_client_meta(key: &str, values: &[String]) -> Result<(), ModelError> {
    validate_key(key)?;
    if !client_settable(key) {
        return Err(ModelError::ReservedKey(key.to_string()));
    }
    for v in values {
        validate_value(key, v)?;
        if v.is_empty() {
            return Err(ModelError::EmptyValue(key.to_string()));
        }
        if key == "path" {
            validate_path(v)?;
        }
        if key == "tag" {
            validate_name(v).map_err(|e| match e {
                ModelError::InvalidName { why, .. } => ModelError::InvalidTag {
                    tag: v.clone(),
                    why,
                },
                other => other,
            })?;
        }
    }
    Ok(())
}

/// Checks a metadata value: no NUL, no line breaks.
pub fn validate_value(key: &str, value: &str) -> Result<(), ModelError> {
    if value.contains(['\0', '\n', '\r']) {
        return Err(ModelError::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    Ok(())
}

/// Whether `c` reorders the text around it (embeddings, overrides and
/// isolates): `invoice\u{202E}fdp.exe` shows as `invoiceexe.pdf`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks a document name: non-empty, at most [`MAX_NAME_LEN`] bytes, not
/// `.` or `..`, no `/`, no NUL or other control character, no
/// bidirectional control. Such a name is safe as one path component on
/// every front-end and reads as what it is.
pub fn validate_name(name: &str) -> Result<(), ModelError> {
    let why = if name.is_empty() {
        "it is empty"
    } else if name.len() > MAX_NAME_LEN {
        "it is longer than 255 bytes"
    } else if name == "." || name == ".." {
        "'.' and '..' are reserved"
    } else if name.contains('/') {
        "it contains '/'"
    } else if name.contains('\0') {
        "it contains NUL"
    } else if name.chars().any(char::is_control) {
        "it contains a control character (a line break, a tab, an escape…)"
    } else if name.chars().any(is_bidi_control) {
        "it contains a bidirectional control (U+202A–U+202E, U+2066–U+2069), which makes a name read as another"
    } else {
        return Ok(());
    };
    Err(ModelError::InvalidName {
        name: name.to_string(),
        why,
    })
}

/// Checks a `path` value: relative, `/`-separated, each component a valid
/// name (so `..` can never climb out of a directory it is exported to).
pub fn validate_path(path: &str) -> Result<(), ModelError> {
    let err = |why: String| ModelError::InvalidPath {
        path: path.to_string(),
        why,
    };
    if path.is_empty() {
        return Err(err("it is empty".into()));
    }
    if path.starts_with('/') {
        return Err(err("it must be relative (no leading '/')".into()));
    }
    for part in path.split('/') {
        validate_name(part).map_err(|e| err(format!("component {part:?}: {e}")))?;
    }
    Ok(())
}

/// One chunk of a document's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// BLAKE3 of the chunk's bytes.
    pub hash: Digest,
    /// The chunk's length in bytes.
    pub len: u64,
    /// Where the store keeps it (what [`crate::BlobStore::put`] returned).
    pub locator: Locator,
}

/// A document's content: its chunks in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version ([`FORMAT_VERSION`] when written).
    pub version: u32,
    /// Total size in bytes (the sum of the chunk lengths).
    pub size: u64,
    /// BLAKE3 of the whole content.
    pub hash: Digest,
    /// The chunks, in order.
    pub chunks: Vec<ChunkRef>,
}

impl Manifest {
    /// The manifest of empty content.
    pub fn empty() -> Self {
        Manifest {
            version: FORMAT_VERSION,
            size: 0,
            hash: Digest::of(&[]),
            chunks: Vec::new(),
        }
    }

    /// Checks that the chunk lengths add up to `size`.
    pub fn is_consistent(&self) -> bool {
        self.chunks.iter().map(|c| c.len).sum::<u64>() == self.size
    }
}

/// A document as of some revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Format version ([`FORMAT_VERSION`] when written).
    pub version: u32,
    /// The document's identity, stable across renames and edits.
    pub id: DocId,
    /// Its name (a valid [`validate_name`] name).
    pub name: String,
    /// Its metadata, reserved keys included.
    pub meta: Metadata,
    /// Its content.
    pub content: Manifest,
    /// The revision of its last change.
    pub rev: u64,
}

/// One operation of a [`Changeset`]. Operations on an existing document carry
/// `base`, the document revision the writer saw; if the document has changed
/// since, the whole changeset is refused as a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// A new document.
    Create {
        /// Its id, chosen by the writer (random).
        id: DocId,
        /// Its name.
        name: String,
        /// Its initial metadata (non-reserved keys, plus `path`).
        meta: Metadata,
        /// Its content.
        content: Manifest,
    },
    /// New content for a document.
    SetContent {
        /// The document.
        id: DocId,
        /// The revision the writer saw.
        base: u64,
        /// The new content.
        content: Manifest,
    },
    /// Replace the values of one key (no values: remove the key).
    SetMeta {
        /// The document.
        id: DocId,
        /// The revision the writer saw.
        base: u64,
        /// The key.
        key: String,
        /// Its new values.
        values: Vec<String>,
    },
    /// A new name.
    Rename {
        /// The document.
        id: DocId,
        /// The revision the writer saw.
        base: u64,
        /// The new name.
        name: String,
    },
    /// Delete the document; its history stays.
    Delete {
        /// The document.
        id: DocId,
        /// The revision the writer saw.
        base: u64,
    },
    /// Remove the document's content from history too (admin); GC may then
    /// reclaim the chunks no live revision references.
    Purge {
        /// The document.
        id: DocId,
    },
    /// Make a tag exist without any document carrying it (`mkdir /tags/X`).
    CreateTag {
        /// The tag.
        tag: String,
    },
    /// Forget an unused tag (`rmdir /tags/X`).
    DeleteTag {
        /// The tag.
        tag: String,
    },
    /// Make a directory of the `/files` namespace exist while empty.
    CreateDir {
        /// Its path, relative, `/`-separated.
        path: String,
    },
    /// Forget an empty directory of the `/files` namespace.
    DeleteDir {
        /// Its path.
        path: String,
    },
}

impl Op {
    /// The document the operation is about, if any.
    pub fn doc(&self) -> Option<DocId> {
        match self {
            Op::Create { id, .. }
            | Op::SetContent { id, .. }
            | Op::SetMeta { id, .. }
            | Op::Rename { id, .. }
            | Op::Delete { id, .. }
            | Op::Purge { id } => Some(*id),
            Op::CreateTag { .. }
            | Op::DeleteTag { .. }
            | Op::CreateDir { .. }
            | Op::DeleteDir { .. } => None,
        }
    }

    /// The base revision the operation was written against, if it has one.
    pub fn base(&self) -> Option<u64> {
        match self {
            Op::SetContent { base, .. }
            | Op::SetMeta { base, .. }
            | Op::Rename { base, .. }
            | Op::Delete { base, .. } => Some(*base),
            _ => None,
        }
    }
}

/// A repository-wide revision: svn's commit. Stored in the journal as one
/// blob naming its parent, so the journal alone rebuilds every index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changeset {
    /// Format version ([`FORMAT_VERSION`] when written).
    pub version: u32,
    /// The revision number: the parent's plus one; the first is 1.
    pub rev: u64,
    /// The locator of the previous changeset's blob (`None` for rev 1;
    /// always `None` over the API, where locators are not shown).
    pub parent: Option<Locator>,
    /// Who committed it.
    pub author: String,
    /// When, RFC 3339 UTC.
    pub time: String,
    /// The commit message.
    pub message: String,
    /// The operations, applied together or not at all.
    pub ops: Vec<Op>,
    /// Made by the server's extraction from the documents' content, not by
    /// a user: the keys its `SetMeta` ops set belong to extraction (the
    /// next extraction may change or remove them), while a key a user sets
    /// is the user's for good and never overwritten by extraction.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub extracted: bool,
}

impl Changeset {
    /// The changeset as stored: JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a changeset always serializes")
    }

    /// A stored changeset, refusing versions this build does not know.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let cs: Changeset = serde_json::from_slice(bytes).map_err(|e| FormatError::Malformed {
            what: "changeset",
            why: e.to_string(),
        })?;
        if cs.version != FORMAT_VERSION {
            return Err(FormatError::UnknownVersion {
                what: "changeset",
                version: cs.version,
            });
        }
        Ok(cs)
    }
}

/// Parses JSON `bytes` as a `what`, refusing a format version other than
/// [`FORMAT_VERSION`]. One rule for every persisted structure.
pub fn decode_versioned<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
    version: impl Fn(&T) -> u32,
) -> Result<T, FormatError> {
    let value: T = serde_json::from_slice(bytes).map_err(|e| FormatError::Malformed {
        what,
        why: e.to_string(),
    })?;
    match version(&value) {
        FORMAT_VERSION => Ok(value),
        v => Err(FormatError::UnknownVersion { what, version: v }),
    }
}

/// A persisted structure that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Bytes that do not parse as the structure.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// The parser's complaint.
        why: String,
    },
    /// A format version newer (or older) than this build reads.
    #[error(
        "{what} has format version {version}, this build reads version {FORMAT_VERSION}: upgrade docgrid"
    )]
    UnknownVersion {
        /// What was being read.
        what: &'static str,
        /// The version found.
        version: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in ["tag", "year", "a.b", "x_y-z", "9"] {
            validate_key(ok).unwrap();
        }
        for bad in ["", "Tag", "a b", "a/b", "é", ".", ".."] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
        assert!(is_reserved("path") && !is_reserved("tag"));
        assert!(client_settable("path") && client_settable("author") && client_settable("tag"));
        assert!(!client_settable("size") && !client_settable("name") && !client_settable("Bad"));
        assert!(validate_client_meta("path", &["/abs".into()]).is_err());
        assert!(validate_client_meta("tag", &["".into()]).is_err());
    }

    #[test]
    fn names_with_control_characters_or_bidi_overrides_and_dot_tags_are_refused() {
        for bad in [
            "a\nb",
            "tab\there",
            "esc\u{1b}[31m",
            "del\u{7f}",
            "c1\u{85}",
            "invoice\u{202E}fdp.exe",
            "iso\u{2066}late",
        ] {
            let e = validate_name(bad).unwrap_err().to_string();
            assert!(e.contains("control"), "{bad:?}: {e}");
        }
        for ok in ["Über café.txt", "日本語.md", "a\u{200B}b", "emoji 🎷.mp3"] {
            validate_name(ok).unwrap();
        }
        for bad in [".", "..", "a/b", "bell\u{7}"] {
            let e = validate_client_meta("tag", &[bad.into()])
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("invalid tag") && e.contains("/tags"),
                "{bad:?}: {e}"
            );
        }
        validate_client_meta("tag", &["jazz".into(), "to do".into()]).unwrap();
    }

    #[test]
    fn names_cannot_escape() {
        for bad in ["", ".", "..", "a/b", "../x", "a\0b"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_name(&"x".repeat(256)).is_err());
        validate_name("Kind of Blue (1959).flac").unwrap();
        validate_name("..hidden").unwrap();
    }

    #[test]
    fn paths_are_relative_and_clean() {
        validate_path("music/jazz/so what.flac").unwrap();
        for bad in ["", "/etc/passwd", "a//b", "a/../b", "a/./b", "a/"] {
            assert!(validate_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn changeset_round_trip_and_version_check() {
        let id = crate::DocId::random();
        let cs = Changeset {
            version: FORMAT_VERSION,
            rev: 7,
            parent: Some(Locator::new("b3:00")),
            author: "alice".into(),
            time: "2026-11-22T03:00:00Z".into(),
            message: "tag it".into(),
            ops: vec![
                Op::Create {
                    id,
                    name: "a.txt".into(),
                    meta: Metadata::from([("tag".into(), vec!["x".into()])]),
                    content: Manifest::empty(),
                },
                Op::SetMeta {
                    id,
                    base: 6,
                    key: "year".into(),
                    values: vec!["1959".into()],
                },
                Op::CreateTag { tag: "jazz".into() },
            ],
            extracted: false,
        };
        assert_eq!(Changeset::from_bytes(&cs.to_bytes()).unwrap(), cs);
        let mut newer = cs.clone();
        newer.version = 99;
        assert!(matches!(
            Changeset::from_bytes(&newer.to_bytes()),
            Err(FormatError::UnknownVersion { version: 99, .. })
        ));
        assert!(Changeset::from_bytes(b"{").is_err());
        assert_eq!(cs.ops[1].base(), Some(6));
        assert_eq!(cs.ops[2].doc(), None);
    }
}
