//! Extended attributes: a document's metadata as `user.docgrid.KEY`, one
//! value per line (core's xattr rules).
//!
//! - `getxattr` of a `user.` name that is not `user.docgrid.*`, or of a
//!   key the document lacks, is `ENODATA`; of a name in another namespace
//!   (`security.`, `system.`, `trusted.`) `ENOTSUP`, without a request to
//!   the server: `ls -l` asks for `security.selinux` and the POSIX ACLs of
//!   every file, and on `ENOTSUP` stops asking for the rest of the
//!   filesystem (two round trips per file otherwise). A size-0 probe
//!   answers the size; a smaller buffer is `ERANGE`.
//! - `setxattr` of a foreign name is `ENOTSUP`, which `cp -a` and `rsync
//!   -X` take as "this filesystem keeps no such attribute".
//! - Directories and files not yet committed have none.

use docgrid_client::tree::{Node, doc_entry};
use docgrid_core::DocId;
use docgrid_core::tree as rules;

use super::Fs;
use super::error::{FsError, FsResult};
use super::inodes::{Ino, Kind};

/// The prefix of docgrid's attributes.
pub const PREFIX: &str = "user.docgrid.";

/// What `getxattr`/`listxattr` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XattrReply {
    /// The size of the value (the caller asked with size 0).
    Size(u32),
    /// The value.
    Data(Vec<u8>),
}

/// `bytes` for a caller whose buffer is `size` bytes.
pub(crate) fn sized(bytes: Vec<u8>, size: u32) -> FsResult<XattrReply> {
    if size == 0 {
        Ok(XattrReply::Size(bytes.len() as u32))
    } else if bytes.len() > size as usize {
        Err(FsError::Range(bytes.len()))
    } else {
        Ok(XattrReply::Data(bytes))
    }
}

impl Fs {
    /// `getxattr`.
    pub fn getxattr(&self, ino: Ino, name: &str, size: u32) -> FsResult<XattrReply> {
        let missing = || FsError::NoAttribute(name.to_string());
        if !name.starts_with("user.") {
            return Err(FsError::NoXattrSupport(name.to_string()));
        }
        if !name.starts_with(PREFIX) {
            return Err(missing());
        }
        let Some(id) = self.xattr_doc(ino)? else {
            return Err(missing());
        };
        let value = self.tree.get_xattr(&id, name)?.ok_or_else(missing)?;
        sized(value.into_bytes(), size)
    }

    /// `listxattr`: the names, each ending with NUL.
    pub fn listxattr(&self, ino: Ino, size: u32) -> FsResult<XattrReply> {
        let names = match self.xattr_doc(ino)? {
            Some(id) => self.tree.list_xattrs(&id)?,
            None => Vec::new(),
        };
        let mut bytes = Vec::new();
        for n in names {
            bytes.extend_from_slice(n.as_bytes());
            bytes.push(0);
        }
        sized(bytes, size)
    }

    /// `setxattr`: sets the key (values one per line; empty removes it),
    /// one commit.
    pub fn setxattr(&self, ino: Ino, name: &str, value: &[u8]) -> FsResult<()> {
        self.writable()?;
        if !name.starts_with(PREFIX) {
            return Err(FsError::NoXattrSupport(name.to_string()));
        }
        let node = self.xattr_node(ino, name)?;
        self.tree.set_xattr(&node, name, value)?;
        self.lock().entries.remove(&ino);
        Ok(())
    }

    /// `removexattr`.
    pub fn removexattr(&self, ino: Ino, name: &str) -> FsResult<()> {
        self.writable()?;
        if !name.starts_with(PREFIX) {
            return Err(FsError::NoAttribute(name.to_string()));
        }
        let node = self.xattr_node(ino, name)?;
        let id = node
            .id()
            .ok_or_else(|| FsError::NoAttribute(name.to_string()))?;
        if rules::xattr_get(&self.tree.doc(&id)?.meta, name).is_none() {
            return Err(FsError::NoAttribute(name.to_string()));
        }
        self.tree.remove_xattr(&node, name)?;
        self.lock().entries.remove(&ino);
        Ok(())
    }

    /// The document whose attributes inode `ino` shows (none for
    /// directories and uncommitted files).
    fn xattr_doc(&self, ino: Ino) -> FsResult<Option<DocId>> {
        match self.kind(ino)? {
            Kind::Doc(id) => Ok(Some(id)),
            Kind::Dir(_) | Kind::Local => Ok(None),
        }
    }

    /// The document `ino` as a node of the tree, to write an attribute of.
    fn xattr_node(&self, ino: Ino, name: &str) -> FsResult<Node> {
        let Some(id) = self.xattr_doc(ino)? else {
            return Err(FsError::Refused(format!(
                "{name}: only committed documents have docgrid attributes"
            )));
        };
        let doc = self.tree.doc(&id)?;
        Ok(Node {
            path: format!("/ids/{id}"),
            entry: doc_entry(doc.name.clone(), &doc),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_probe_fit_and_overflow() {
        assert_eq!(sized(b"abc".to_vec(), 0).unwrap(), XattrReply::Size(3));
        assert_eq!(
            sized(b"abc".to_vec(), 3).unwrap(),
            XattrReply::Data(b"abc".to_vec())
        );
        assert_eq!(sized(b"abc".to_vec(), 2).unwrap_err().errno(), libc::ERANGE);
    }
}
