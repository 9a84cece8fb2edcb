//! The FUSE adapter: each request becomes one call of the filesystem core
//! ([`Fs`]) and its result one reply. Nothing here decides what an
//! operation means; errno comes from [`FsError::errno`]; a handler that
//! panics is answered `EIO` and logged, and the mount goes on.

use std::ffi::OsStr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, InitFlags,
    KernelConfig, LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite,
    ReplyXattr, Request, TimeOrNow, WriteFlags,
};

use crate::fs::{Attr, DirItem, FileKind, Fs, FsError, FsResult, XattrReply, utf8};

/// How far the kernel reads ahead (the core fetches whole chunks anyway).
const MAX_READAHEAD: u32 = 1 << 20;

/// Inode numbers are never reused within a mount, so one generation does.
const GENERATION: Generation = Generation(0);

/// The filesystem as FUSE sees it.
pub struct FuseFs {
    fs: Arc<Fs>,
    ttl: Duration,
}

impl FuseFs {
    /// The adapter over `fs`.
    pub fn new(fs: Arc<Fs>) -> FuseFs {
        let ttl = fs.options().ttl;
        FuseFs { fs, ttl }
    }

    fn attr(&self, a: &Attr) -> FileAttr {
        let o = self.fs.options();
        FileAttr {
            ino: INodeNo(a.ino),
            size: a.size,
            blocks: a.blocks(),
            atime: a.mtime,
            mtime: a.mtime,
            ctime: a.ctime,
            crtime: a.crtime,
            kind: file_type(a.kind),
            perm: a.perm,
            nlink: a.nlink,
            uid: o.uid,
            gid: o.gid,
            rdev: 0,
            blksize: 1 << 16,
            flags: 0,
        }
    }

    fn entry(&self, op: &'static str, r: FsResult<Attr>, reply: ReplyEntry) {
        match r {
            Ok(a) => reply.entry(&self.ttl, &self.attr(&a), GENERATION),
            Err(e) => reply.error(errno(op, &e)),
        }
    }

    /// Hands `add` the entries of directory handle `fh` after cookie
    /// `offset`, a page at a time, until it says the reply is full (or
    /// the directory ends). An error is the errno to reply.
    fn each_entry(
        &self,
        op: &'static str,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut add: impl FnMut(u64, &DirItem) -> bool,
    ) -> Result<(), Errno> {
        let mut at = offset;
        loop {
            let page = guard(op, || self.fs.readdir(ino.0, fh.0, at)).map_err(|e| errno(op, &e))?;
            let Some((last, _)) = page.last() else {
                return Ok(());
            };
            at = *last;
            if page.iter().any(|(next, item)| add(*next, item)) {
                return Ok(());
            }
        }
    }

    fn empty(&self, op: &'static str, r: FsResult<()>, reply: ReplyEmpty) {
        reply_empty(op, r, reply);
    }

    fn xattr(&self, op: &'static str, r: FsResult<XattrReply>, reply: ReplyXattr) {
        reply_xattr(op, r, reply);
    }
}

/// Answers an empty reply: ok, or the error's errno.
pub(crate) fn reply_empty(op: &'static str, r: FsResult<()>, reply: ReplyEmpty) {
    match r {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(errno(op, &e)),
    }
}

/// Answers an attribute reply: the size probe, the value, or the errno.
pub(crate) fn reply_xattr(op: &'static str, r: FsResult<XattrReply>, reply: ReplyXattr) {
    match r {
        Ok(XattrReply::Size(n)) => reply.size(n),
        Ok(XattrReply::Data(d)) => reply.data(&d),
        Err(e) => reply.error(errno(op, &e)),
    }
}

/// Runs a handler's body; a panic becomes [`FsError::Panicked`].
pub(crate) fn guard<T>(op: &'static str, f: impl FnOnce() -> FsResult<T>) -> FsResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let why = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("?");
        tracing::error!("{op}: panicked: {why} (answered EIO)");
        Err(FsError::Panicked(op))
    })
}

/// The errno of `e`, logged: everyday answers at debug, failures as
/// warnings.
pub(crate) fn errno(op: &'static str, e: &FsError) -> Errno {
    if e.is_quiet() {
        tracing::debug!("{op}: {e}");
    } else {
        tracing::warn!("{op}: {e}");
    }
    Errno::from_i32(e.errno())
}

fn file_type(k: FileKind) -> FileType {
    match k {
        FileKind::Dir => FileType::Directory,
        FileKind::File => FileType::RegularFile,
        FileKind::Symlink => FileType::Symlink,
    }
}

pub(crate) fn time_of(t: TimeOrNow) -> SystemTime {
    match t {
        TimeOrNow::SpecificTime(t) => t,
        TimeOrNow::Now => SystemTime::now(),
    }
}

impl Filesystem for FuseFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        let want = InitFlags::FUSE_DO_READDIRPLUS | InitFlags::FUSE_READDIRPLUS_AUTO;
        if let Err(missing) = config.add_capabilities(want) {
            tracing::info!("the kernel lacks {missing:?}: plain readdir");
        }
        let _ = config.set_max_readahead(MAX_READAHEAD);
        Ok(())
    }

    fn destroy(&mut self) {
        if let Err(e) = self.fs.settle() {
            tracing::error!("at unmount: {e}");
        }
    }

    fn lookup(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let r = guard("lookup", || {
            self.fs.lookup(parent.0, utf8(name)?, req.pid())
        });
        self.entry("lookup", r, reply);
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        let _ = guard("forget", || {
            self.fs.forget(ino.0, nlookup);
            Ok(())
        });
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match guard("getattr", || self.fs.getattr(ino.0)) {
            Ok(a) => reply.attr(&self.ttl, &self.attr(&a)),
            Err(e) => reply.error(errno("getattr", &e)),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let r = guard("setattr", || {
            self.fs.setattr(ino.0, size, mtime.map(time_of))
        });
        match r {
            Ok(a) => reply.attr(&self.ttl, &self.attr(&a)),
            Err(e) => reply.error(errno("setattr", &e)),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match guard("readlink", || self.fs.readlink(ino.0)) {
            Ok(to) => reply.data(to.as_bytes()),
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
                why: "docgrid stores documents, not device nodes or pipes",
            })
        });
        self.entry("mknod", r, reply);
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let r = guard("mkdir", || self.fs.mkdir(parent.0, utf8(name)?, req.pid()));
        self.entry("mkdir", r, reply);
    }

    fn unlink(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let r = guard("unlink", || {
            self.fs.unlink(parent.0, utf8(name)?, req.pid())
        });
        self.empty("unlink", r, reply);
    }

    fn rmdir(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let r = guard("rmdir", || self.fs.rmdir(parent.0, utf8(name)?, req.pid()));
        self.empty("rmdir", r, reply);
    }

    fn symlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, to: &Path, reply: ReplyEntry) {
        let r = guard("symlink", || {
            let to = to
                .to_str()
                .ok_or_else(|| FsError::NotUtf8(to.display().to_string()))?;
            self.fs.symlink(parent.0, utf8(name)?, to)
        });
        self.entry("symlink", r, reply);
    }

    fn rename(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let r = guard("rename", || {
            let (from, to) = ((parent.0, utf8(name)?), (newparent.0, utf8(newname)?));
            self.fs.rename(from, to, flags.bits(), req.pid())
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

    fn open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        match guard("open", || self.fs.open(ino.0, flags.0, req.pid())) {
            Ok((fh, keep)) => {
                let f = if keep {
                    FopenFlags::FOPEN_KEEP_CACHE
                } else {
                    FopenFlags::empty()
                };
                reply.opened(FileHandle(fh), f);
            }
            Err(e) => reply.error(errno("open", &e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match guard("read", || self.fs.read(ino.0, fh.0, offset, size as usize)) {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(errno("read", &e)),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match guard("write", || self.fs.write(ino.0, fh.0, offset, data)) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(errno("write", &e)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _lo: LockOwner,
        reply: ReplyEmpty,
    ) {
        let r = guard("flush", || self.fs.flush(ino.0, fh.0));
        self.empty("flush", r, reply);
    }

    fn release(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let r = guard("release", || self.fs.release(ino.0, fh.0));
        self.empty("release", r, reply);
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let r = guard("fsync", || self.fs.fsync(ino.0));
        self.empty("fsync", r, reply);
    }

    fn opendir(&self, req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match guard("opendir", || self.fs.opendir(ino.0, req.pid())) {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(errno("opendir", &e)),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let r = self.each_entry("readdir", ino, fh, offset, |next, item| {
            reply.add(
                INodeNo(item.ino),
                next,
                file_type(item.attr.kind),
                &item.name,
            )
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn readdirplus(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectoryPlus,
    ) {
        let r = self.each_entry("readdirplus", ino, fh, offset, |next, item| {
            let attr = self.attr(&item.attr);
            let full = reply.add(
                INodeNo(item.ino),
                next,
                &item.name,
                &self.ttl,
                &attr,
                GENERATION,
            );
            // The kernel keeps every entry it took but `.` and `..` as a
            // lookup.
            if !full && item.name != "." && item.name != ".." {
                self.fs.looked_up(item);
            }
            full
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        let r = guard("releasedir", || {
            self.fs.releasedir(fh.0);
            Ok(())
        });
        self.empty("releasedir", r, reply);
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let r = guard("fsyncdir", || self.fs.settle());
        self.empty("fsyncdir", r, reply);
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        // A store has no fixed size: plenty free, so `cp` and `df` proceed.
        let blocks = 1u64 << 40;
        let files = self.fs.inode_count() as u64;
        reply.statfs(
            blocks,
            blocks,
            blocks,
            files + (1 << 32),
            1 << 32,
            4096,
            255,
            4096,
        );
    }

    fn setxattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        name: &OsStr,
        value: &[u8],
        _flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        let r = guard("setxattr", || self.fs.setxattr(ino.0, utf8(name)?, value));
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
        // Permissions are checked by the kernel (`default_permissions`).
        reply.ok();
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        match guard("create", || {
            self.fs.create(parent.0, utf8(name)?, req.pid())
        }) {
            Ok((a, fh)) => reply.created(
                &self.ttl,
                &self.attr(&a),
                GENERATION,
                FileHandle(fh),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(errno("create", &e)),
        }
    }
}
