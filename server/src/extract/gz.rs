//! gzip: the text of what it holds, read with a bound on what it may
//! expand to, so a decompression bomb is stopped and reported.

use std::io::Read;

use super::{ExtractError, Extracted, MAX_INPUT_BYTES};

/// Most a `.gz` may expand to (64 MiB).
pub const MAX_OUTPUT: u64 = 64 << 20;
/// Most a `.gz` may expand by: 1 KiB to more than this many KiB is a bomb.
pub const MAX_RATIO: u64 = 1000;

/// Extracts what the gzip stream `bytes` (named `name`, e.g. `notes.txt.gz`)
/// holds, as its inner name and content would be.
pub fn extract(name: &str, bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let limit = MAX_OUTPUT.min((bytes.len() as u64).saturating_mul(MAX_RATIO).max(1 << 20));
    let mut inner = Vec::new();
    let read = flate2::read::MultiGzDecoder::new(bytes)
        .take(limit + 1)
        .read_to_end(&mut inner);
    if let Err(e) = read {
        return Err(ExtractError::Malformed {
            format: "gzip",
            message: e.to_string(),
        });
    }
    if inner.len() as u64 > limit {
        return Err(ExtractError::Bomb {
            format: "gzip",
            message: format!(
                "{} bytes expand to more than {} MiB; stopped",
                bytes.len(),
                limit >> 20
            ),
        });
    }
    let inner_name = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".GZ"))
        .unwrap_or(name);
    let mime = super::sniff_mime(inner_name, &inner[..inner.len().min(8192)]);
    if inner.len() > MAX_INPUT_BYTES || !super::is_plain_text(&super::essence(&mime)) {
        return Ok(Extracted::default());
    }
    Ok(Extracted {
        text: super::extract_text(&mime, &inner)?,
        meta: super::Meta::new(),
    })
}
