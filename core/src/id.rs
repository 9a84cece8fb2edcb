//! Document identifiers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Crockford's base32 alphabet, lower case: no i, l, o, u.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Length of a printed [`DocId`].
pub const DOC_ID_LEN: usize = 26;

/// Length of the short form used to tell clashing names apart (`stem~SHORTID.ext`).
pub const SHORT_ID_LEN: usize = 8;

/// A document's identity: 128 random bits, printed as 26 characters of
/// lower-case Crockford base32 (the first character carries 3 bits).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocId(u128);

/// A string that is not a [`DocId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a document id: expected {DOC_ID_LEN} characters of base32 (0-9, a-z without i, l, o, u)"
)]
pub struct ParseDocIdError {
    /// The rejected text.
    pub input: String,
}

impl DocId {
    /// A fresh random id.
    pub fn random() -> Self {
        DocId(rand::random())
    }

    /// The id from its 128 bits.
    pub const fn from_u128(bits: u128) -> Self {
        DocId(bits)
    }

    /// The id's 128 bits.
    pub const fn as_u128(self) -> u128 {
        self.0
    }

    /// The first [`SHORT_ID_LEN`] characters of the printed id.
    pub fn short(&self) -> String {
        self.to_string()[..SHORT_ID_LEN].to_string()
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; DOC_ID_LEN];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 5 * (DOC_ID_LEN - 1 - i);
            *slot = ALPHABET[((self.0 >> shift) & 31) as usize];
        }
        f.write_str(std::str::from_utf8(&out).expect("alphabet is ASCII"))
    }
}

impl fmt::Debug for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocId({self})")
    }
}

/// The value of one base32 character, accepting upper case and Crockford's
/// look-alikes (i, l → 1; o → 0).
fn digit(c: u8) -> Option<u8> {
    let c = c.to_ascii_lowercase();
    let c = match c {
        b'i' | b'l' => b'1',
        b'o' => b'0',
        c => c,
    };
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u8)
}

impl FromStr for DocId {
    type Err = ParseDocIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseDocIdError {
            input: s.to_string(),
        };
        if s.len() != DOC_ID_LEN {
            return Err(err());
        }
        let mut bits: u128 = 0;
        for (i, &c) in s.as_bytes().iter().enumerate() {
            let d = digit(c).ok_or_else(err)?;
            // The first character holds only the top 3 bits.
            if i == 0 && d > 7 {
                return Err(err());
            }
            bits = (bits << 5) | u128::from(d);
        }
        Ok(DocId(bits))
    }
}

impl Serialize for DocId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DocId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn extremes_print_as_26_chars() {
        assert_eq!(DocId(0).to_string(), "0".repeat(26));
        assert_eq!(DocId(u128::MAX).to_string(), format!("7{}", "z".repeat(25)));
    }

    #[test]
    fn rejects_wrong_length_and_overflow() {
        assert!("abc".parse::<DocId>().is_err());
        assert!(format!("8{}", "0".repeat(25)).parse::<DocId>().is_err());
        assert!(format!("u{}", "0".repeat(25)).parse::<DocId>().is_err());
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(bits: u128) {
            let id = DocId(bits);
            prop_assert_eq!(id.to_string().parse::<DocId>().unwrap(), id);
            prop_assert_eq!(id.to_string().to_uppercase().parse::<DocId>().unwrap(), id);
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<DocId>(&json).unwrap(), id);
        }
    }
}
