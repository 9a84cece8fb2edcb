//! The overlay's FUSE adapter: each request becomes one call of
//! [`Overlay`] and its result one reply (errno from [`FsError::errno`],
//! panics answered EIO, as in the tree mount's adapter).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use fuser::{
    BackingId, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    InitFlags, KernelConfig, LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr,
    Request, TimeOrNow, WriteFlags,
};

use crate::fs::{FsError, FsResult, XattrReply, utf8};
use crate::fuse::{errno, guard, reply_empty, reply_xattr, time_of};

use super::ofs::{Overlay, Stat};

const GENERATION: Generation = Generation(0);

/// How far the kernel reads ahead.
const MAX_READAHEAD: u32 = 1 << 20;

/// The overlay as FUSE sees it.
pub struct OverlayFuse {
    fs: Arc<Overlay>,
    /// Whether the kernel reads files opened for reading by itself (FUSE
    /// passthrough: Linux 6.9 and later, as root).
    passthrough: AtomicBool,
    /// The backing files registered for open handles, closed at release.
    backing: Mutex<HashMap<u64, BackingId>>,
}

impl OverlayFuse {
    /// The adapter over `fs`.
    pub fn new(fs: Arc<Overlay>) -> OverlayFuse {
        OverlayFuse {
            fs,
            passthrough: AtomicBool::new(false),
            backing: Mutex::new(HashMap::new()),
        }
    }

    /// Answers an open of `fh`: through passthrough where the core allows
    /// it and the kernel takes it, else as a plain handle.
    fn opened(&self, fh: u64, reply: ReplyOpen) {
        if self.passthrough.load(Ordering::Relaxed)
            && let Some(file) = self.fs.passthrough_file(fh)
        {
            match reply.open_backing(&file) {
                Ok(id) => {
                    reply.opened_passthrough(FileHandle(fh), FopenFlags::empty(), &id);
                    self.backing.lock().expect("poisoned").insert(fh, id);
                    return;
                }
                Err(e) => {
                    tracing::info!("FUSE passthrough refused ({e}): reads go through the daemon");
                    self.passthrough.store(false, Ordering::Relaxed);
                }
            }
        }
        reply.opened(FileHandle(fh), FopenFlags::empty());
    }

    fn entry(&self, op: &'static str, r: FsResult<Stat>, reply: ReplyEntry) {
        match r {
            Ok(s) => reply.entry(&self.fs.options().ttl, &attr(&s), GENERATION),
            Err(e) => reply.error(errno(op, &e)),
        }
    }

    fn attr_reply(&self, op: &'static str, r: FsResult<Stat>, reply: ReplyAttr) {
        match r {
            Ok(s) => reply.attr(&self.fs.options().ttl, &attr(&s)),
            Err(e) => reply.error(errno(op, &e)),
        }
    }

    fn empty(&self, op: &'static str, r: FsResult<()>, reply: ReplyEmpty) {
        reply_empty(op, r, reply);
    }

    fn xattr(&self, op: &'static str, r: FsResult<XattrReply>, reply: ReplyXattr) {
        reply_xattr(op, r, reply);
    }
}

/// The FUSE attributes of `s`.
fn attr(s: &Stat) -> FileAttr {
    FileAttr {
        ino: INodeNo(s.ino),
        size: s.size,
        blocks: s.blocks,
        atime: s.atime,
        mtime: s.mtime,
        ctime: s.ctime,
        crtime: s.ctime,
        kind: file_type(s.mode),
        perm: (s.mode & 0o7777) as u16,
        nlink: s.nlink,
        uid: s.uid,
        gid: s.gid,
        rdev: s.rdev,
        blksize: 1 << 16,
        flags: 0,
    }
}

fn file_type(mode: u32) -> FileType {
    match mode & libc::S_IFMT {
        libc::S_IFDIR => FileType::Directory,
        libc::S_IFLNK => FileType::Symlink,
        libc::S_IFIFO => FileType::NamedPipe,
        libc::S_IFSOCK => FileType::Socket,
        libc::S_IFCHR => FileType::CharDevice,
        libc::S_IFBLK => FileType::BlockDevice,
        _ => FileType::RegularFile,
    }
}

impl Filesystem for OverlayFuse {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        let _ = config.set_max_readahead(MAX_READAHEAD);
        let passthrough = config.add_capabilities(InitFlags::FUSE_PASSTHROUGH).is_ok()
            && config.set_max_stack_depth(1).is_ok();
        if !passthrough {
            tracing::info!("the kernel lacks FUSE passthrough: reads go through the daemon");
        }
        self.passthrough.store(passthrough, Ordering::Relaxed);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let r = guard("lookup", || self.fs.lookup(parent.0, utf8(name)?));
        self.entry("lookup", r, reply);
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.fs.forget(ino.0, nlookup);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let r = guard("getattr", || self.fs.getattr(ino.0));
        self.attr_reply("getattr", r, reply);
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let r = guard("setattr", || {
            let (a, m) = (atime.map(time_of), mtime.map(time_of));
            let fh = fh.map(|f| f.0);
            self.fs.setattr(ino.0, mode, uid, gid, size, a, m, fh)
        });
        self.attr_reply("setattr", r, reply);
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match guard("readlink", || self.fs.readlink(ino.0)) {
            Ok(to) => reply.data(to.as_os_str().as_encoded_bytes()),
            Err(e) => reply.error(errno("readlink", &e)),
        }
    }

    fn mknod(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        let r = guard("mknod", || {
            Err(FsError::NotPermitted {
                what: format!("mknod {:?} in inode {}", name, parent.0),
                why: "the overlay keeps files, directories and links, not device nodes or pipes",
            })
        });
        self.entry("mknod", r, reply);
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let who = (req.uid(), req.gid());
        let r = guard("mkdir", || self.fs.mkdir(parent.0, utf8(name)?, mode, who));
        self.entry("mkdir", r, reply);
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let r = guard("unlink", || self.fs.unlink(parent.0, utf8(name)?));
        self.empty("unlink", r, reply);
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let r = guard("rmdir", || self.fs.rmdir(parent.0, utf8(name)?));
        self.empty("rmdir", r, reply);
    }

    fn symlink(&self, req: &Request, parent: INodeNo, name: &OsStr, to: &Path, reply: ReplyEntry) {
        let who = (req.uid(), req.gid());
        let r = guard("symlink", || {
            self.fs.symlink(parent.0, utf8(name)?, to, who)
        });
        self.entry("symlink", r, reply);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let r = guard("rename", || {
            let (from, to) = ((parent.0, utf8(name)?), (newparent.0, utf8(newname)?));
            self.fs.rename(from, to, flags.bits())
        });
        self.empty("rename", r, reply);
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let r = guard("link", || self.fs.link(ino.0, newparent.0, utf8(newname)?));
        self.entry("link", r, reply);
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        match guard("open", || self.fs.open(ino.0, flags.0)) {
            Ok(fh) => self.opened(fh, reply),
            Err(e) => reply.error(errno("open", &e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match guard("read", || self.fs.read(fh.0, offset, size as usize)) {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(errno("read", &e)),
        }
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match guard("write", || self.fs.write(fh.0, offset, data)) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(errno("write", &e)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _lo: LockOwner,
        reply: ReplyEmpty,
    ) {
        let r = guard("flush", || self.fs.flush(fh.0));
        self.empty("flush", r, reply);
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let r = guard("release", || self.fs.release(fh.0));
        self.backing.lock().expect("poisoned").remove(&fh.0);
        self.empty("release", r, reply);
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let r = guard("fsync", || self.fs.fsync(fh.0));
        self.empty("fsync", r, reply);
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match guard("opendir", || self.fs.opendir(ino.0)) {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(errno("opendir", &e)),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let mut at = offset;
        loop {
            let page = match guard("readdir", || self.fs.readdir(fh.0, at, 256)) {
                Ok(p) => p,
                Err(e) => return reply.error(errno("readdir", &e)),
            };
            let Some((last, _)) = page.last() else { break };
            at = *last;
            let full = page
                .iter()
                .any(|(next, e)| reply.add(INodeNo(e.ino), *next, file_type(e.mode), &e.name));
            if full {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        self.fs.releasedir(fh.0);
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        match guard("statfs", || self.fs.statfs()) {
            Ok(st) => reply.statfs(
                st.f_blocks,
                st.f_bfree,
                st.f_bavail,
                st.f_files,
                st.f_ffree,
                st.f_bsize as u32,
                st.f_namemax as u32,
                st.f_frsize as u32,
            ),
            Err(e) => reply.error(errno("statfs", &e)),
        }
    }

    fn setxattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        name: &OsStr,
        value: &[u8],
        flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        let r = guard("setxattr", || {
            self.fs.setxattr(ino.0, utf8(name)?, value, flags)
        });
        self.empty("setxattr", r, reply);
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let r = guard("getxattr", || self.fs.getxattr(ino.0, utf8(name)?, size));
        self.xattr("getxattr", r, reply);
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let r = guard("listxattr", || self.fs.listxattr(ino.0, size));
        self.xattr("listxattr", r, reply);
    }

    fn removexattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let r = guard("removexattr", || self.fs.removexattr(ino.0, utf8(name)?));
        self.empty("removexattr", r, reply);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        // Checked by the kernel (`default_permissions`).
        reply.ok();
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let who = (req.uid(), req.gid());
        match guard("create", || {
            self.fs.create(parent.0, utf8(name)?, mode, who)
        }) {
            Ok((s, fh)) => reply.created(
                &self.fs.options().ttl,
                &attr(&s),
                GENERATION,
                FileHandle(fh),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(errno("create", &e)),
        }
    }
}
