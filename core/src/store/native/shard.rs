//! The on-disk shard format.
//!
//! ```text
//! offset size
//!      0    4  magic "DGSH"
//!      4    2  format version (LE), SHARD_VERSION
//!      6    1  k
//!      7    1  m
//!      8    1  shard index (0..k data, k..k+m parity)
//!      9    7  zero
//!     16   32  BLAKE3 of the whole chunk
//!     48    8  chunk length (LE)
//!     56    8  payload length (LE)
//!     64    4  CRC32C of the payload (LE)
//!     68   52  zero
//!    120    8  first 8 bytes of BLAKE3 of bytes 0..120 (header checksum)
//!    128    …  payload
//! ```

use crate::chunk::Digest;

/// Size of the header before the payload.
pub const HEADER_LEN: usize = 128;
/// The shard format this build writes and reads.
pub const SHARD_VERSION: u16 = 1;
const MAGIC: &[u8; 4] = b"DGSH";

/// What a shard's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardHeader {
    /// Data shards of the code.
    pub k: u8,
    /// Parity shards of the code.
    pub m: u8,
    /// This shard's index.
    pub index: u8,
    /// The chunk it belongs to.
    pub chunk: Digest,
    /// The chunk's length.
    pub chunk_len: u64,
    /// The payload's length.
    pub payload_len: u64,
    /// CRC32C of the payload: finds flipped bits and torn writes in one
    /// shard (the chunk's BLAKE3 authenticates the decoded whole).
    pub payload_crc: u32,
}

impl ShardHeader {
    /// The header's bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..4].copy_from_slice(MAGIC);
        h[4..6].copy_from_slice(&SHARD_VERSION.to_le_bytes());
        h[6] = self.k;
        h[7] = self.m;
        h[8] = self.index;
        h[16..48].copy_from_slice(&self.chunk.0);
        h[48..56].copy_from_slice(&self.chunk_len.to_le_bytes());
        h[56..64].copy_from_slice(&self.payload_len.to_le_bytes());
        h[64..68].copy_from_slice(&self.payload_crc.to_le_bytes());
        let sum = blake3::hash(&h[..120]);
        h[120..128].copy_from_slice(&sum.as_bytes()[..8]);
        h
    }

    /// Parses a header; `Err` says what is wrong with it.
    pub fn decode(h: &[u8]) -> Result<Self, String> {
        if h.len() < HEADER_LEN {
            return Err(format!("truncated header ({} bytes)", h.len()));
        }
        if &h[0..4] != MAGIC {
            return Err("not a docgrid shard (bad magic)".into());
        }
        let sum = blake3::hash(&h[..120]);
        if h[120..128] != sum.as_bytes()[..8] {
            return Err("header checksum mismatch".into());
        }
        let version = u16::from_le_bytes([h[4], h[5]]);
        if version != SHARD_VERSION {
            return Err(format!(
                "shard format {version}, this build reads {SHARD_VERSION}"
            ));
        }
        let u64_at = |at: usize| u64::from_le_bytes(h[at..at + 8].try_into().expect("8 bytes"));
        let digest_at = |at: usize| Digest(h[at..at + 32].try_into().expect("32 bytes"));
        Ok(ShardHeader {
            k: h[6],
            m: h[7],
            index: h[8],
            chunk: digest_at(16),
            chunk_len: u64_at(48),
            payload_len: u64_at(56),
            payload_crc: u32::from_le_bytes(h[64..68].try_into().expect("4 bytes")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_checksum() {
        let h = ShardHeader {
            k: 4,
            m: 2,
            index: 5,
            chunk: Digest::of(b"c"),
            chunk_len: 1 << 20,
            payload_len: 1 << 18,
            payload_crc: 0xdead_beef,
        };
        let bytes = h.encode();
        assert_eq!(ShardHeader::decode(&bytes).unwrap(), h);
        for i in [0, 5, 8, 20, 50, 70, 121] {
            let mut bad = bytes;
            bad[i] ^= 0x40;
            assert!(ShardHeader::decode(&bad).is_err(), "flip at {i} undetected");
        }
        assert!(ShardHeader::decode(&bytes[..100]).is_err());
    }
}
