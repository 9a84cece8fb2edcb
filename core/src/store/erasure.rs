//! Reed-Solomon `k + m` coding of one blob into shards.
//!
//! The code is systematic: shards `0..k` are the blob itself, cut into `k`
//! equal pieces (the last padded with zeros), and shards `k..k+m` are
//! parity. Any `k` shards rebuild the blob. The fast path is
//! `reed-solomon-simd` with its SIMD engine, with encoder and decoder work
//! space reused per thread; tests compare it with the same code computed by
//! the crate's naive engine.

use std::borrow::Cow;
use std::cell::RefCell;

use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};

/// Why coding failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErasureError {
    /// `k`/`m` outside what docgrid supports.
    #[error("unsupported erasure code {k}+{m}: need 1 <= k, 0 <= m and k + m <= 255")]
    Unsupported {
        /// Data shards.
        k: usize,
        /// Parity shards.
        m: usize,
    },
    /// Fewer than `k` shards given to decode.
    #[error("only {have} of the {k} shards needed to decode")]
    TooFewShards {
        /// Shards available.
        have: usize,
        /// Shards needed.
        k: usize,
    },
    /// Shards of the wrong size or count.
    #[error("malformed shards: {0}")]
    Malformed(String),
}

/// A `k + m` Reed-Solomon code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    k: usize,
    m: usize,
}

thread_local! {
    static ENCODER: RefCell<Option<ReedSolomonEncoder>> = const { RefCell::new(None) };
    static DECODER: RefCell<Option<ReedSolomonDecoder>> = const { RefCell::new(None) };
}

impl Codec {
    /// The code with `k` data and `m` parity shards.
    pub fn new(k: usize, m: usize) -> Result<Self, ErasureError> {
        if k == 0 || k + m > 255 || (m > 0 && !ReedSolomonEncoder::supports(k, m)) {
            return Err(ErasureError::Unsupported { k, m });
        }
        Ok(Codec { k, m })
    }

    /// Data shards.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Parity shards.
    pub fn m(&self) -> usize {
        self.m
    }

    /// All shards, `k + m`.
    pub fn n(&self) -> usize {
        self.k + self.m
    }

    /// The size of each shard of a `blob_len`-byte blob: `blob_len / k`
    /// rounded up to an even number (the SIMD code works on 16-bit words),
    /// at least 2.
    pub fn shard_len(&self, blob_len: usize) -> usize {
        let per = blob_len.div_ceil(self.k).max(2);
        per + (per & 1)
    }

    /// The `k + m` shards of `data`.
    pub fn encode(&self, data: &[u8]) -> Vec<Vec<u8>> {
        self.encode_with(data, |shards| shards.iter().map(|s| s.to_vec()).collect())
    }

    /// Calls `f` with the `k + m` shards of `data`, without copying: data
    /// shards are slices of `data` (the last one padded), parity shards are
    /// borrowed from this thread's encoder.
    pub fn encode_with<R>(&self, data: &[u8], f: impl FnOnce(&[&[u8]]) -> R) -> R {
        let len = self.shard_len(data.len());
        let pieces: Vec<Cow<'_, [u8]>> = (0..self.k).map(|i| data_piece(data, i, len)).collect();
        if self.m == 0 {
            let shards: Vec<&[u8]> = pieces.iter().map(|p| p.as_ref()).collect();
            return f(&shards);
        }
        ENCODER.with(|cell| {
            let mut slot = cell.borrow_mut();
            let enc = match slot.as_mut() {
                Some(enc) => {
                    enc.reset(self.k, self.m, len)
                        .expect("codec checked at construction");
                    enc
                }
                None => slot
                    .insert(ReedSolomonEncoder::new(self.k, self.m, len).expect("codec checked")),
            };
            for p in &pieces {
                enc.add_original_shard(p)
                    .expect("shards have the declared size");
            }
            let result = enc.encode().expect("all original shards were added");
            let mut shards: Vec<&[u8]> = pieces.iter().map(|p| p.as_ref()).collect();
            shards.extend(result.recovery_iter());
            f(&shards)
        })
    }

    /// The blob of `blob_len` bytes from any `k` of its shards (`None` for
    /// a missing one). Uses the data shards directly when all are present.
    pub fn decode(
        &self,
        blob_len: usize,
        shards: &[Option<Vec<u8>>],
    ) -> Result<Vec<u8>, ErasureError> {
        self.check_shards(blob_len, shards)?;
        let mut out = Vec::with_capacity(blob_len);
        let mut append = |piece: &[u8]| {
            let take = (blob_len - out.len()).min(piece.len());
            out.extend_from_slice(&piece[..take]);
        };
        if shards[..self.k].iter().all(Option::is_some) {
            shards[..self.k].iter().flatten().for_each(|s| append(s));
            return Ok(out);
        }
        let len = self.shard_len(blob_len);
        DECODER.with(|cell| {
            let mut slot = cell.borrow_mut();
            let dec = match slot.as_mut() {
                Some(dec) => {
                    dec.reset(self.k, self.m, len).expect("codec checked");
                    dec
                }
                None => slot
                    .insert(ReedSolomonDecoder::new(self.k, self.m, len).expect("codec checked")),
            };
            for (i, s) in shards.iter().enumerate() {
                match s {
                    Some(s) if i < self.k => dec.add_original_shard(i, s),
                    Some(s) => dec.add_recovery_shard(i - self.k, s),
                    None => Ok(()),
                }
                .map_err(|e| ErasureError::Malformed(e.to_string()))?;
            }
            let result = dec
                .decode()
                .map_err(|e| ErasureError::Malformed(e.to_string()))?;
            for (i, s) in shards[..self.k].iter().enumerate() {
                match s {
                    Some(s) => append(s),
                    None => append(
                        result
                            .restored_original(i)
                            .expect("decoder restores every missing original"),
                    ),
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Every one of the `k + m` shards, rebuilt from any `k` (for repair).
    pub fn reconstruct(
        &self,
        blob_len: usize,
        shards: &[Option<Vec<u8>>],
    ) -> Result<Vec<Vec<u8>>, ErasureError> {
        let blob = self.decode(blob_len, shards)?;
        Ok(self.encode(&blob))
    }

    /// Checks shard count, sizes, and that at least `k` are present.
    fn check_shards(
        &self,
        blob_len: usize,
        shards: &[Option<Vec<u8>>],
    ) -> Result<(), ErasureError> {
        let len = self.shard_len(blob_len);
        if shards.len() != self.n() {
            return Err(ErasureError::Malformed(format!(
                "{} shard slots given for a {}+{} code",
                shards.len(),
                self.k,
                self.m
            )));
        }
        if let Some(bad) = shards.iter().flatten().find(|s| s.len() != len) {
            return Err(ErasureError::Malformed(format!(
                "a shard of {} bytes where {len} were expected",
                bad.len()
            )));
        }
        let have = shards.iter().flatten().count();
        if have < self.k {
            return Err(ErasureError::TooFewShards { have, k: self.k });
        }
        Ok(())
    }
}

/// Data piece `i` of `data`, `len` bytes: borrowed when whole, else zero-padded.
fn data_piece(data: &[u8], i: usize, len: usize) -> Cow<'_, [u8]> {
    let start = (i * len).min(data.len());
    let end = ((i + 1) * len).min(data.len());
    if end - start == len {
        return Cow::Borrowed(&data[start..end]);
    }
    let mut piece = Vec::with_capacity(len);
    piece.extend_from_slice(&data[start..end]);
    piece.resize(len, 0);
    Cow::Owned(piece)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use reed_solomon_simd::engine::Naive;
    use reed_solomon_simd::rate::{
        DefaultRateDecoder, DefaultRateEncoder, RateDecoder, RateEncoder,
    };

    /// Parity computed by the crate's naive engine: the reference.
    fn naive_parity(k: usize, m: usize, data_shards: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let len = data_shards[0].len();
        let mut enc = DefaultRateEncoder::new(k, m, len, Naive::new(), None).unwrap();
        for s in data_shards {
            enc.add_original_shard(s).unwrap();
        }
        enc.encode()
            .unwrap()
            .recovery_iter()
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// Decoding with the naive engine.
    fn naive_restore(k: usize, m: usize, shards: &[Option<Vec<u8>>]) -> Vec<Vec<u8>> {
        let len = shards.iter().flatten().next().unwrap().len();
        let mut dec = DefaultRateDecoder::new(k, m, len, Naive::new(), None).unwrap();
        for (i, s) in shards.iter().enumerate() {
            if let Some(s) = s {
                if i < k {
                    dec.add_original_shard(i, s).unwrap()
                } else {
                    dec.add_recovery_shard(i - k, s).unwrap()
                }
            }
        }
        let res = dec.decode().unwrap();
        (0..k)
            .map(|i| {
                shards[i]
                    .clone()
                    .unwrap_or_else(|| res.restored_original(i).unwrap().to_vec())
            })
            .collect()
    }

    fn codes() -> impl Strategy<Value = (usize, usize)> {
        prop_oneof![
            Just((4, 2)),
            Just((3, 2)),
            Just((1, 1)),
            Just((6, 3)),
            Just((10, 4)),
            Just((2, 5))
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn fast_parity_agrees_with_naive_engine(
            (k, m) in codes(),
            data in proptest::collection::vec(any::<u8>(), 0..20_000),
        ) {
            let codec = Codec::new(k, m).unwrap();
            let shards = codec.encode(&data);
            prop_assert_eq!(shards.len(), k + m);
            prop_assert_eq!(&shards[k..], &naive_parity(k, m, &shards[..k])[..]);
        }

        #[test]
        fn any_k_shards_decode_like_the_naive_engine(
            (k, m) in codes(),
            data in proptest::collection::vec(any::<u8>(), 0..20_000),
            lose in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let codec = Codec::new(k, m).unwrap();
            let mut shards: Vec<Option<Vec<u8>>> = codec.encode(&data).into_iter().map(Some).collect();
            let mut lost = 0;
            for ix in lose {
                let i = ix.index(k + m);
                if lost < m && shards[i].is_some() {
                    shards[i] = None;
                    lost += 1;
                }
            }
            prop_assert_eq!(&codec.decode(data.len(), &shards).unwrap(), &data);
            let mut joined: Vec<u8> = naive_restore(k, m, &shards).concat();
            joined.truncate(data.len());
            prop_assert_eq!(&joined, &data);
            let all = codec.reconstruct(data.len(), &shards).unwrap();
            prop_assert_eq!(all, codec.encode(&data));
        }
    }

    #[test]
    fn too_few_shards_is_an_error_not_a_panic() {
        let codec = Codec::new(4, 2).unwrap();
        let mut shards: Vec<Option<Vec<u8>>> =
            codec.encode(b"hello world").into_iter().map(Some).collect();
        shards[0] = None;
        shards[2] = None;
        shards[5] = None;
        assert_eq!(
            codec.decode(11, &shards),
            Err(ErasureError::TooFewShards { have: 3, k: 4 })
        );
        assert!(matches!(
            codec.decode(11, &shards[..3]),
            Err(ErasureError::Malformed(_))
        ));
    }

    #[test]
    fn unsupported_codes_are_refused() {
        assert!(Codec::new(0, 2).is_err());
        assert!(Codec::new(200, 100).is_err());
        assert_eq!(Codec::new(4, 0).unwrap().encode(b"abcd").len(), 4);
    }
}
