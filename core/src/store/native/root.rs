//! The root pointer, kept on every disk with a sequence number; the highest
//! valid copy wins.
//!
//! ```text
//! "DGRT" | version u16 LE | 0u16 | seq u64 LE | len u32 LE | value | BLAKE3[..8] of all before
//! ```

use std::fs;
use std::io;

use super::disk::Disk;
use crate::store::StoreError;

const MAGIC: &[u8; 4] = b"DGRT";
const VERSION: u16 = 1;

/// One disk's copy of the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootRecord {
    /// Incremented by every swap.
    pub seq: u64,
    /// The root value.
    pub value: Vec<u8>,
}

impl RootRecord {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.value.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&(self.value.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.value);
        let sum = blake3::hash(&out);
        out.extend_from_slice(&sum.as_bytes()[..8]);
        out
    }

    fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < 28 || &b[0..4] != MAGIC || b[4..6] != VERSION.to_le_bytes() {
            return None;
        }
        let (body, sum) = b.split_at(b.len() - 8);
        if blake3::hash(body).as_bytes()[..8] != *sum {
            return None;
        }
        let seq = u64::from_le_bytes(body[8..16].try_into().ok()?);
        let len = u32::from_le_bytes(body[16..20].try_into().ok()?) as usize;
        (body.len() == 20 + len).then(|| RootRecord {
            seq,
            value: body[20..].to_vec(),
        })
    }
}

/// This disk's root copy: `Ok(None)` when absent or invalid (a torn or
/// corrupt copy is ignored; another disk's copy wins).
pub fn read(disk: &Disk) -> Result<Option<RootRecord>, StoreError> {
    let path = disk.path.join("root");
    match fs::read(&path) {
        Ok(b) => Ok(RootRecord::decode(&b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io("reading root", &path, e)),
    }
}

/// Writes this disk's root copy atomically.
pub fn write(disk: &Disk, record: &RootRecord) -> io::Result<()> {
    disk.write_atomic(&disk.path.join("root"), &[&record.encode()])
}

/// How many of `members` disks make a majority: the root's quorum for
/// reads and writes, so that any two quorums share a disk.
pub fn majority(members: usize) -> usize {
    members / 2 + 1
}

/// The newest valid copy among the member `disks`. Needs a majority of them
/// online and readable (a disk whose copy is absent or torn counts; one that
/// fails to read does not), so that it sees every acknowledged swap.
pub fn newest(disks: &[Disk]) -> Result<Option<RootRecord>, StoreError> {
    let mut best: Option<RootRecord> = None;
    let mut answered = 0;
    let mut unavailable = Vec::new();
    for d in disks {
        if !d.is_online() {
            unavailable.push(format!("{} [offline]", d.describe()));
            continue;
        }
        match read(d) {
            Ok(r) => {
                answered += 1;
                if let Some(r) = r
                    && best.as_ref().is_none_or(|b| r.seq > b.seq)
                {
                    best = Some(r);
                }
            }
            Err(e) => unavailable.push(format!("{} [{e}]", d.describe())),
        }
    }
    if answered < majority(disks.len()) {
        return Err(StoreError::Unavailable {
            what: "root pointer".into(),
            answered,
            needed: majority(disks.len()),
            total: disks.len(),
            unavailable,
        });
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trip_and_torn_copies() {
        let r = RootRecord {
            seq: 42,
            value: b"head".to_vec(),
        };
        let b = r.encode();
        assert_eq!(RootRecord::decode(&b), Some(r));
        assert_eq!(RootRecord::decode(&b[..b.len() - 1]), None);
        let mut flipped = b.clone();
        flipped[21] ^= 1;
        assert_eq!(RootRecord::decode(&flipped), None);
    }
}
