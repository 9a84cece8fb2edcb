//! Content-defined chunking (FastCDC) and BLAKE3 addressing.
//!
//! Documents are cut into chunks of about 1 MiB at content-defined
//! boundaries, so an edit in the middle of a file changes one or two chunks,
//! not every chunk after it. Each chunk is named by its BLAKE3 [`Digest`]; a
//! chunk already stored is never stored again.

use std::fmt;
use std::io::Read;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Smallest chunk FastCDC cuts (except the last of a file).
pub const MIN_CHUNK: u32 = 256 * 1024;
/// The average chunk size FastCDC aims at.
pub const AVG_CHUNK: u32 = 1024 * 1024;
/// Largest chunk FastCDC cuts.
pub const MAX_CHUNK: u32 = 4 * 1024 * 1024;
/// Chunks of a streamed file stored or sent together (~16 MiB at the
/// average size: one durable write on the server, one pack on Tahoe), by
/// the client's upload and the server's `POST /v1/docs` alike.
pub const STREAM_BATCH: usize = 16;
/// Batches of one streamed file in flight at once while the next is cut
/// (Tahoe: two uploads, which measured as fast as three).
pub const STREAM_IN_FLIGHT: usize = 2;

/// A BLAKE3 digest: names a chunk, or a document's whole content.
/// Printed and serialized as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

/// A string that is not a [`Digest`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a BLAKE3 digest: expected 64 hex digits")]
pub struct ParseDigestError {
    /// The rejected text.
    pub input: String,
}

impl Digest {
    /// The BLAKE3 digest of `data`.
    pub fn of(data: &[u8]) -> Self {
        Digest(*blake3::hash(data).as_bytes())
    }

    /// The BLAKE3 digest of a file's bytes (its content hash), read as a
    /// stream.
    pub fn of_file(path: &std::path::Path) -> std::io::Result<Self> {
        let mut h = blake3::Hasher::new();
        h.update_reader(std::fs::File::open(path)?)?;
        Ok(Digest(*h.finalize().as_bytes()))
    }

    /// The digest as 64 hex digits.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = ParseDigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseDigestError {
            input: s.to_string(),
        };
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(err());
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).ok_or_else(err)?;
            let lo = (pair[1] as char).to_digit(16).ok_or_else(err)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Ok(Digest(out))
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where one chunk lies in the data it was cut from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSpan {
    /// Byte offset of the chunk's first byte.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

impl ChunkSpan {
    /// The chunk's byte range, for slicing the data it was cut from.
    pub fn range(&self) -> Range<usize> {
        self.offset..self.offset + self.len
    }
}

/// FastCDC (2020) with docgrid's sizes; `Default` gives 256 KiB / 1 MiB / 4 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunker {
    min: u32,
    avg: u32,
    max: u32,
}

impl Default for Chunker {
    fn default() -> Self {
        Chunker {
            min: MIN_CHUNK,
            avg: AVG_CHUNK,
            max: MAX_CHUNK,
        }
    }
}

impl Chunker {
    /// A chunker with other sizes (tests use small ones). FastCDC needs
    /// `64 <= min <= avg <= max <= 16 MiB`; other values are clamped into it.
    pub fn new(min: u32, avg: u32, max: u32) -> Self {
        use fastcdc::v2020::{MAXIMUM_MAX, MINIMUM_MIN};
        let min = min.clamp(MINIMUM_MIN, MAXIMUM_MAX);
        let avg = avg.clamp(min, MAXIMUM_MAX);
        let max = max.clamp(avg, MAXIMUM_MAX);
        Chunker { min, avg, max }
    }

    /// The chunk boundaries of `data`: consecutive spans covering all of it
    /// (none for empty data).
    pub fn chunks<'a>(&self, data: &'a [u8]) -> impl Iterator<Item = ChunkSpan> + 'a {
        fastcdc::v2020::FastCDC::new(data, self.min, self.avg, self.max).map(|c| ChunkSpan {
            offset: c.offset,
            len: c.length,
        })
    }

    /// The chunks of `data` held in memory, as slices of it: no copy, and
    /// none of the maximum-chunk buffer [`Chunker::stream`] allocates (and
    /// zeroes) for every stream — which for thousands of small files was
    /// most of an import's client time.
    pub fn split<'a>(&self, data: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.chunks(data).map(move |s| &data[s.range()])
    }

    /// Chunks read from a stream, each with its bytes, without holding more
    /// than one maximum chunk in memory at a time.
    pub fn stream<R: Read>(&self, reader: R) -> impl Iterator<Item = std::io::Result<Vec<u8>>> {
        fastcdc::v2020::StreamCDC::new(reader, self.min, self.avg, self.max).map(|r| {
            r.map(|c| c.data).map_err(|e| match e {
                fastcdc::v2020::Error::IoError(io) => io,
                other => std::io::Error::other(other.to_string()),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    fn random(len: usize, seed: u64) -> Vec<u8> {
        let mut v = vec![0u8; len];
        StdRng::seed_from_u64(seed).fill(&mut v[..]);
        v
    }

    #[test]
    fn spans_cover_the_data_and_respect_bounds() {
        let data = random(9 << 20, 1);
        let spans: Vec<_> = Chunker::default().chunks(&data).collect();
        assert_eq!(spans.iter().map(|s| s.len).sum::<usize>(), data.len());
        let mut at = 0;
        for (i, s) in spans.iter().enumerate() {
            assert_eq!(s.offset, at);
            assert!(s.len <= MAX_CHUNK as usize);
            if i + 1 < spans.len() {
                assert!(s.len >= MIN_CHUNK as usize);
            }
            at += s.len;
        }
        assert!(spans.len() >= 3, "9 MiB should give several ~1 MiB chunks");
        assert_eq!(Chunker::default().chunks(&[]).count(), 0);
    }

    #[test]
    fn an_insertion_changes_few_chunks() {
        let data = random(16 << 20, 2);
        let mut edited = data.clone();
        edited.splice(8 << 20..8 << 20, b"a few inserted bytes".iter().copied());
        let digests = |d: &[u8]| -> std::collections::HashSet<Digest> {
            Chunker::default()
                .chunks(d)
                .map(|s| Digest::of(&d[s.range()]))
                .collect()
        };
        let (a, b) = (digests(&data), digests(&edited));
        assert!(
            a.difference(&b).count() <= 2,
            "only the chunks around the edit change"
        );
    }

    #[test]
    fn stream_agrees_with_slices() {
        let data = random(5 << 20, 3);
        let c = Chunker::default();
        let from_slices: Vec<Vec<u8>> = c.chunks(&data).map(|s| data[s.range()].to_vec()).collect();
        let from_stream: Vec<Vec<u8>> = c.stream(&data[..]).map(Result::unwrap).collect();
        assert_eq!(from_slices, from_stream);
    }

    #[test]
    fn digest_hex_round_trip() {
        let d = Digest::of(b"docgrid");
        assert_eq!(d.to_hex().parse::<Digest>().unwrap(), d);
        assert!("xyz".parse::<Digest>().is_err());
        assert!("g".repeat(64).parse::<Digest>().is_err());
    }
}
