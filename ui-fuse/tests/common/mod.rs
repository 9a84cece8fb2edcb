//! A filesystem core over a real server on 127.0.0.1:0, and helpers to
//! drive it the way the kernel would.
#![allow(dead_code)]

use std::sync::Arc;

use docgrid_client::tree::Tree;
use docgrid_client::{Client, ClientOptions};
use docgrid_core::DocId;
use docgrid_core::api::DocInfo;
use docgrid_fuse::fs::{Attr, DirItem, Fs, FsOptions, ROOT};
pub use docgrid_server::testing::TestServer as Server;

/// A server, and a filesystem over it, in a temporary directory.
pub struct Rig {
    pub dir: tempfile::TempDir,
    pub server: Server,
    pub fs: Arc<Fs>,
}

/// A client of `s`.
pub fn client(s: &Server) -> Client {
    Client::new(
        std::slice::from_ref(&s.url),
        &s.token,
        ClientOptions::default(),
    )
    .unwrap()
}

impl Rig {
    /// A fresh store and a filesystem over it.
    pub fn new() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::create(&dir.path().join("store"));
        let cache =
            docgrid_client::cache::ChunkCache::open(&dir.path().join("cache"), 64 << 20).unwrap();
        let tree = Tree::new(client(&server).with_cache(Arc::new(cache)));
        let opts = FsOptions::new(dir.path().join("spool"));
        let fs = Arc::new(Fs::new(tree, opts));
        Rig { dir, server, fs }
    }

    /// A second client's tree (another user of the same server).
    pub fn other(&self) -> Tree {
        Tree::new(client(&self.server))
    }

    /// The attributes at `path` (`/tags/a/x`), looked up from the root.
    pub fn lookup(&self, path: &str) -> Result<Attr, i32> {
        let mut at = ROOT;
        let mut attr = self.fs.getattr(ROOT).map_err(|e| e.errno())?;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            attr = self.fs.lookup(at, part, pid()).map_err(|e| e.errno())?;
            at = attr.ino;
        }
        Ok(attr)
    }

    /// The inode of directory `path`.
    pub fn dir(&self, path: &str) -> u64 {
        self.lookup(path).unwrap().ino
    }

    /// The inode of directory `path`, made as `mkdir -p` would.
    pub fn mkdir_p(&self, path: &str) -> u64 {
        let mut at = ROOT;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            at = match self.fs.lookup(at, part, pid()) {
                Ok(a) => a.ino,
                Err(e) if e.errno() == libc::ENOENT => self.fs.mkdir(at, part, pid()).unwrap().ino,
                Err(e) => panic!("{path}: {e}"),
            };
        }
        at
    }

    /// Writes a new file `name` in `dir`, made if missing (create, write,
    /// close).
    pub fn write_new(&self, dir: &str, name: &str, data: &[u8]) -> u64 {
        let (a, fh) = self.fs.create(self.mkdir_p(dir), name, pid()).unwrap();
        self.fs.write(a.ino, fh, 0, data).unwrap();
        self.fs.flush(a.ino, fh).unwrap();
        self.fs.release(a.ino, fh).unwrap();
        a.ino
    }

    /// Overwrites `path` (open with O_TRUNC, write, close).
    pub fn overwrite(&self, path: &str, data: &[u8]) {
        let ino = self.lookup(path).unwrap().ino;
        let (fh, _) = self
            .fs
            .open(ino, libc::O_WRONLY | libc::O_TRUNC, pid())
            .unwrap();
        self.fs.write(ino, fh, 0, data).unwrap();
        self.fs.flush(ino, fh).unwrap();
        self.fs.release(ino, fh).unwrap();
    }

    /// Everything in `path` (open, read, close).
    pub fn read(&self, path: &str) -> Vec<u8> {
        let ino = self.lookup(path).unwrap().ino;
        let (fh, _) = self.fs.open(ino, libc::O_RDONLY, pid()).unwrap();
        let mut out = Vec::new();
        loop {
            let chunk = self.fs.read(ino, fh, out.len() as u64, 1 << 16).unwrap();
            if chunk.is_empty() {
                break;
            }
            out.extend(chunk);
        }
        self.fs.release(ino, fh).unwrap();
        out
    }

    /// The names directory `path` shows (without `.` and `..`).
    pub fn ls(&self, path: &str) -> Vec<String> {
        let ino = self.dir(path);
        let fh = self.fs.opendir(ino, pid()).unwrap();
        let items = self.readdir_all(ino, fh);
        self.fs.releasedir(fh);
        let mut names: Vec<String> = items.iter().skip(2).map(|i| i.name.clone()).collect();
        names.sort();
        names
    }

    /// Every entry of open directory `fh`, read page by page as the kernel
    /// would.
    pub fn readdir_all(&self, ino: u64, fh: u64) -> Vec<DirItem> {
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let page = self.fs.readdir(ino, fh, at).unwrap();
            let Some((last, _)) = page.last() else {
                return out;
            };
            at = *last;
            out.extend(page.into_iter().map(|(_, item)| item));
        }
    }

    /// The document at `path`, fresh from the server.
    pub fn doc(&self, path: &str) -> DocInfo {
        let node = self.other().lookup(path).unwrap();
        client(&self.server).doc(&node.id().unwrap()).unwrap()
    }

    /// A document by id, fresh from the server.
    pub fn doc_by_id(&self, id: &DocId) -> Option<DocInfo> {
        client(&self.server).doc(id).ok()
    }

    /// Every live document's name.
    pub fn all_names(&self) -> Vec<String> {
        let mut n: Vec<String> = self
            .other()
            .list("/all/")
            .unwrap()
            .entries()
            .iter()
            .map(|e| e.name.clone())
            .collect();
        n.sort();
        n
    }
}

/// The caller's process id (a live process, as the kernel would give).
pub fn pid() -> u32 {
    std::process::id()
}

/// The tags of `doc`.
pub fn tags(doc: &DocInfo) -> Vec<String> {
    let mut t = doc.meta.get("tag").cloned().unwrap_or_default();
    t.sort();
    t
}
