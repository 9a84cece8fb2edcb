//! The lower directory, reached through a directory descriptor opened
//! before the overlay mounts, so that mounting over the directory itself
//! works: once the mount covers `DIR`, the path `DIR/x` leads into the
//! overlay, but `/proc/self/fd/N/x` still leads into the directory the
//! descriptor holds (the kernel resolves the magic link to the opened
//! directory, below any mount made on it since). Every access to the
//! lower directory goes through [`Lower::path`].

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// The lower directory.
#[derive(Debug)]
pub struct Lower {
    /// Held open for [`Lower::root`] to stay valid.
    dir: File,
    root: PathBuf,
    shown: PathBuf,
    dev: u64,
}

impl Lower {
    /// Opens `dir` (before anything is mounted over it).
    pub fn open(dir: &Path) -> io::Result<Lower> {
        let file = File::open(dir)?;
        let meta = file.metadata()?;
        if !meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", dir.display()),
            ));
        }
        let root = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        Ok(Lower {
            dir: file,
            root,
            shown: std::path::absolute(dir)?,
            dev: meta.dev(),
        })
    }

    /// The path that reaches the lower directory whatever is mounted on
    /// it (`/proc/self/fd/N`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory as the user named it (for messages).
    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// The descriptor it is held by.
    pub fn fd(&self) -> i32 {
        use std::os::unix::io::AsRawFd;
        self.dir.as_raw_fd()
    }

    /// The device the lower directory is on.
    pub fn dev(&self) -> u64 {
        self.dev
    }

    /// The path of `rel` (relative, `a/b.txt`; `""` is the directory
    /// itself, `/proc/self/fd/N/.`: without the `.`, `lstat` and `lchown`
    /// would see the magic link rather than the directory) in the lower
    /// directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.join(".")
        } else {
            self.root.join(rel)
        }
    }

    /// `lstat` of `rel`.
    pub fn stat(&self, rel: &str) -> io::Result<Metadata> {
        std::fs::symlink_metadata(self.path(rel))
    }

    /// `chmod` of `rel` (never follows a symbolic link: Linux has no
    /// mode on links).
    pub fn chmod(&self, rel: &str, mode: u32) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            self.path(rel),
            std::fs::Permissions::from_mode(mode & 0o7777),
        )
    }

    /// `lchown` of `rel`.
    pub fn chown(&self, rel: &str, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        std::os::unix::fs::lchown(self.path(rel), uid, gid)
    }

    /// Sets the access and modification times of `rel` (not following a
    /// link); `None` leaves one as it is.
    pub fn set_times(
        &self,
        rel: &str,
        atime: Option<std::time::SystemTime>,
        mtime: Option<std::time::SystemTime>,
    ) -> io::Result<()> {
        use rustix::fs::{AtFlags, CWD, Timespec, Timestamps, UTIME_OMIT, utimensat};
        let spec = |t: Option<std::time::SystemTime>| match t {
            None => Timespec {
                tv_sec: 0,
                tv_nsec: UTIME_OMIT,
            },
            Some(t) => {
                let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                Timespec {
                    tv_sec: d.as_secs() as i64,
                    tv_nsec: d.subsec_nanos().into(),
                }
            }
        };
        let times = Timestamps {
            last_access: spec(atime),
            last_modification: spec(mtime),
        };
        utimensat(CWD, self.path(rel), &times, AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(())
    }

    /// `statvfs` of the lower directory's filesystem.
    pub fn statvfs(&self) -> io::Result<rustix::fs::StatVfs> {
        Ok(rustix::fs::statvfs(&self.root)?)
    }
}

/// Extended attributes of the lower files, never following a link.
impl Lower {
    /// The value of attribute `name` of `rel`.
    pub fn getxattr(&self, rel: &str, name: &str) -> io::Result<Vec<u8>> {
        let path = self.path(rel);
        sized_call(
            || rustix::fs::lgetxattr_query(&path, name),
            |buf| rustix::fs::lgetxattr(&path, name, buf),
        )
    }

    /// The attribute names of `rel`, NUL-terminated one after another.
    pub fn listxattr(&self, rel: &str) -> io::Result<Vec<u8>> {
        let path = self.path(rel);
        sized_call(
            || rustix::fs::llistxattr_query(&path),
            |buf| rustix::fs::llistxattr(&path, buf),
        )
    }

    /// Sets attribute `name` of `rel` (`flags`: XATTR_CREATE, XATTR_REPLACE).
    pub fn setxattr(&self, rel: &str, name: &str, value: &[u8], flags: i32) -> io::Result<()> {
        let flags = rustix::fs::XattrFlags::from_bits_retain(flags as u32 as _);
        Ok(rustix::fs::lsetxattr(self.path(rel), name, value, flags)?)
    }

    /// Removes attribute `name` of `rel`.
    pub fn removexattr(&self, rel: &str, name: &str) -> io::Result<()> {
        Ok(rustix::fs::lremovexattr(self.path(rel), name)?)
    }
}

/// Asks `size` for the size, then `fill` with a buffer that big (again if
/// the value grew in between).
fn sized_call(
    size: impl Fn() -> rustix::io::Result<usize>,
    fill: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
) -> io::Result<Vec<u8>> {
    loop {
        let mut buf = vec![0u8; size()?];
        match fill(&mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(rustix::io::Errno::RANGE) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// `rel` joined with `name` (`""` + `a` = `a`).
pub fn join(rel: &str, name: &str) -> String {
    if rel.is_empty() {
        name.to_string()
    } else {
        format!("{rel}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_descriptor_path_reaches_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"x").unwrap();
        let lower = Lower::open(dir.path()).unwrap();
        assert_eq!(std::fs::read(lower.path("a")).unwrap(), b"x");
        assert!(lower.stat("").unwrap().is_dir());
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a", "b"), "a/b");
        let f = dir.path().join("f");
        assert!(Lower::open(&f).is_err());
    }
}
