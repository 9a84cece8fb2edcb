//! The pack index log's format: 64-byte entries (magic `DGPX`, kind,
//! chunk, pack, offset, length, CRC32C of the rest), and its replay.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::pack::Loc;
use crate::chunk::Digest;

/// One entry's length.
pub(super) const ENTRY_LEN: usize = 64;
const ENTRY_MAGIC: &[u8; 4] = b"DGPX";
/// An entry that indexes a record.
pub(super) const PUT: u8 = 1;
/// An entry that removes one.
pub(super) const DEL: u8 = 2;

/// One log entry.
pub(super) fn entry(kind: u8, chunk: &Digest, loc: &Loc) -> [u8; ENTRY_LEN] {
    let mut e = [0u8; ENTRY_LEN];
    e[0..4].copy_from_slice(ENTRY_MAGIC);
    e[4] = kind;
    e[8..40].copy_from_slice(&chunk.0);
    e[40..44].copy_from_slice(&loc.pack.to_le_bytes());
    e[44..52].copy_from_slice(&loc.offset.to_le_bytes());
    e[52..60].copy_from_slice(&loc.len.to_le_bytes());
    let crc = crc32c::crc32c(&e[..60]);
    e[60..64].copy_from_slice(&crc.to_le_bytes());
    e
}

/// A log entry's kind, chunk and place; `None` if torn or not an entry.
fn parse_entry(e: &[u8]) -> Option<(u8, Digest, Loc)> {
    let crc = u32::from_le_bytes(e[60..64].try_into().ok()?);
    if &e[0..4] != ENTRY_MAGIC || crc32c::crc32c(&e[..60]) != crc {
        return None;
    }
    let u64_at = |at: usize| u64::from_le_bytes(e[at..at + 8].try_into().expect("8 bytes"));
    let loc = Loc {
        pack: u32::from_le_bytes(e[40..44].try_into().ok()?),
        offset: u64_at(44),
        len: u64_at(52),
        loading: 0,
    };
    Some((e[4], Digest(e[8..40].try_into().ok()?), loc))
}

pub(super) type Replayed = (HashMap<Digest, Loc>, HashMap<u32, u64>, u64, u64);

/// The index the log at `path` describes, the live records per pack, the
/// length of its valid prefix and its entry count.
pub(super) fn replay(path: &Path) -> io::Result<Replayed> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut index = HashMap::new();
    let mut good = 0u64;
    let mut entries = 0u64;
    for e in bytes.chunks_exact(ENTRY_LEN) {
        let Some((kind, d, loc)) = parse_entry(e) else {
            tracing::warn!(
                "{}: torn entry at {good}; the rest is dropped",
                path.display()
            );
            break;
        };
        match kind {
            PUT => {
                index.insert(d, loc);
            }
            DEL => {
                index.remove(&d);
            }
            _ => break,
        }
        good += ENTRY_LEN as u64;
        entries += 1;
    }
    let mut live: HashMap<u32, u64> = HashMap::new();
    for loc in index.values() {
        *live.entry(loc.pack).or_default() += 1;
    }
    Ok((index, live, good, entries))
}
