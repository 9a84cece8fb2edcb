//! Packs: many chunks in one immutable Tahoe file.
//!
//! Tahoe's cost is per file (server selection, bucket allocation, hash
//! trees, the URI extension block), so a chunk per file ran at half a
//! single upload's speed and a small file cost a whole upload. A pack holds
//! the chunks of one `put_batch` back to back, then a small index:
//!
//! ```text
//! chunk bytes … chunk bytes
//! index: per chunk its BLAKE3 (32 bytes), offset and length (u64 LE each)
//! trailer: entry count (u32 LE), "DGPK1\n" (6 bytes)
//! ```
//!
//! The index makes a pack self-describing (a tool can list what one holds
//! with the cap alone); reads never need it, because a chunk's locator
//! names its pack, its place in it and its hash:
//!
//! ```text
//! pk:HASH:OFFSET:LEN:URI:CHK:…
//! ```
//!
//! The journal records locators, so the journal alone still finds every
//! byte; a read is a Range GET of the pack, checked against HASH (Tahoe
//! checks its own segment hashes too).

use docgrid_core::chunk::Digest;
use docgrid_core::store::{Locator, StoreError};

/// The trailer's magic.
const MAGIC: &[u8; 6] = b"DGPK1\n";
/// One index entry: hash, offset, length.
const ENTRY_LEN: usize = 32 + 8 + 8;
/// A chunk locator's prefix.
const PREFIX: &str = "pk:";

/// Where one chunk is: its pack's cap and byte range, and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackLoc {
    /// BLAKE3 of the chunk.
    pub hash: Digest,
    /// The chunk's first byte in the pack.
    pub offset: u64,
    /// Its length.
    pub len: u64,
    /// The pack's cap (`URI:CHK:…`, or `URI:LIT:…` for a tiny pack).
    pub pack: String,
}

impl PackLoc {
    /// The locator's text.
    pub fn to_locator(&self) -> Locator {
        Locator::new(format!(
            "{PREFIX}{}:{}:{}:{}",
            self.hash, self.offset, self.len, self.pack
        ))
    }

    /// A `pk:` locator read back; `None` for any other locator (a whole
    /// Tahoe file from the per-chunk layout), an error if it is a `pk:`
    /// locator that does not parse.
    pub fn parse(loc: &Locator) -> Result<Option<PackLoc>, StoreError> {
        let Some(rest) = loc.as_str().strip_prefix(PREFIX) else {
            return Ok(None);
        };
        let invalid = |why: &str| StoreError::InvalidLocator {
            locator: loc.clone(),
            why: why.to_string(),
        };
        let mut parts = rest.splitn(4, ':');
        let (Some(hash), Some(offset), Some(len), Some(pack)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("a pack locator is pk:HASH:OFFSET:LEN:CAP"));
        };
        let hash = hash.parse().map_err(|_| invalid("bad chunk hash"))?;
        let (Ok(offset), Ok(len)) = (offset.parse::<u64>(), len.parse::<u64>()) else {
            return Err(invalid("bad offset or length"));
        };
        if !(pack.starts_with("URI:CHK:") || pack.starts_with("URI:LIT:")) {
            return Err(invalid("the pack must be a URI:CHK: or URI:LIT: cap"));
        }
        Ok(Some(PackLoc {
            hash,
            offset,
            len,
            pack: pack.to_string(),
        }))
    }
}

/// The bytes of a pack of `chunks` (hash and bytes each), and each chunk's
/// offset in it.
pub fn build(chunks: &[(Digest, &[u8])]) -> (Vec<u8>, Vec<u64>) {
    let data: usize = chunks.iter().map(|(_, b)| b.len()).sum();
    let mut out = Vec::with_capacity(data + chunks.len() * ENTRY_LEN + 4 + MAGIC.len());
    let mut offsets = Vec::with_capacity(chunks.len());
    for (_, bytes) in chunks {
        offsets.push(out.len() as u64);
        out.extend_from_slice(bytes);
    }
    for ((hash, bytes), at) in chunks.iter().zip(&offsets) {
        out.extend_from_slice(&hash.0);
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    }
    out.extend_from_slice(&(chunks.len() as u32).to_le_bytes());
    out.extend_from_slice(MAGIC);
    (out, offsets)
}

/// The index of a whole pack: (hash, offset, length) per chunk, or why it
/// is not a pack.
pub fn index(pack: &[u8]) -> Result<Vec<(Digest, u64, u64)>, String> {
    let tail = pack
        .len()
        .checked_sub(4 + MAGIC.len())
        .ok_or("too short for a pack")?;
    if &pack[tail + 4..] != MAGIC {
        return Err("no pack trailer".into());
    }
    let count = u32::from_le_bytes(pack[tail..tail + 4].try_into().expect("4 bytes")) as usize;
    let start = count
        .checked_mul(ENTRY_LEN)
        .and_then(|n| tail.checked_sub(n))
        .ok_or("the index is longer than the pack")?;
    let mut out = Vec::with_capacity(count);
    for e in pack[start..tail].chunks_exact(ENTRY_LEN) {
        let hash = Digest(e[..32].try_into().expect("32 bytes"));
        let offset = u64::from_le_bytes(e[32..40].try_into().expect("8 bytes"));
        let len = u64::from_le_bytes(e[40..48].try_into().expect("8 bytes"));
        if offset.checked_add(len).is_none_or(|end| end > start as u64) {
            return Err(format!("chunk {hash} lies outside the pack's data"));
        }
        out.push((hash, offset, len));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pack_indexes_its_chunks_and_locators_round_trip() {
        let a = b"first chunk".as_slice();
        let b = vec![7u8; 1000];
        let chunks = [(Digest::of(a), a), (Digest::of(&b), b.as_slice())];
        let (bytes, offsets) = build(&chunks);
        assert_eq!(offsets, vec![0, a.len() as u64]);
        let idx = index(&bytes).unwrap();
        assert_eq!(idx.len(), 2);
        for ((hash, off, len), (h, data)) in idx.iter().zip(&chunks) {
            assert_eq!(hash, h);
            assert_eq!(&bytes[*off as usize..(*off + *len) as usize], *data);
        }
        assert!(index(b"not a pack at all").is_err());

        let loc = PackLoc {
            hash: Digest::of(a),
            offset: 11,
            len: 1000,
            pack: "URI:CHK:abc:def:3:5:2000".into(),
        };
        assert_eq!(PackLoc::parse(&loc.to_locator()).unwrap(), Some(loc));
        assert_eq!(
            PackLoc::parse(&Locator::new("URI:CHK:a:b:3:5:9")).unwrap(),
            None
        );
        assert!(PackLoc::parse(&Locator::new("pk:zz:1:2:URI:CHK:a")).is_err());
        assert!(PackLoc::parse(&Locator::new(format!("pk:{}:1:2:b3:00", Digest::of(a)))).is_err());
    }
}
