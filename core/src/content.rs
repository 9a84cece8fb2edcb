//! Serving a document's content by byte range, the same way wherever it is
//! served (the server from its store, the proxy from its chunk cache):
//! `Range` and `If-None-Match` headers, and which slice of which chunk
//! covers a range.

/// A byte range `start..=end` parsed from a `Range` header over `size`
/// bytes: `None` to answer the whole content (no usable single range:
/// malformed, or several ranges), `Some(Err(()))` when unsatisfiable (416).
pub fn parse_range(header: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = header.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None; // multiple ranges: answer the whole content
    }
    let (a, b) = spec.split_once('-')?;
    let r = match (a.trim(), b.trim()) {
        ("", n) => n
            .parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .map(|n| (size.saturating_sub(n), size.saturating_sub(1))),
        (s, "") => s.parse::<u64>().ok().map(|s| (s, size.saturating_sub(1))),
        (s, e) => match (s.parse::<u64>(), e.parse::<u64>()) {
            (Ok(s), Ok(e)) if s <= e => Some((s, e.min(size.saturating_sub(1)))),
            _ => None,
        },
    };
    Some(r.filter(|&(s, e)| s < size && s <= e).ok_or(()))
}

/// Whether an `If-None-Match` header value names `etag` (or `*`).
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .any(|t| t.trim() == etag || t.trim() == "*")
}

/// The part of one chunk a byte range needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// The chunk's position in the manifest.
    pub index: usize,
    /// First byte within the chunk.
    pub from: usize,
    /// One past the last byte within the chunk.
    pub to: usize,
}

/// The chunks (given by their lengths, in order) that cover `len` bytes
/// from `start`, and the slice of each.
pub fn slices(chunk_lens: impl IntoIterator<Item = u64>, start: u64, len: u64) -> Vec<Slice> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for (index, clen) in chunk_lens.into_iter().enumerate() {
        let (c_start, c_end) = (at, at + clen);
        at = c_end;
        if len == 0 || c_end <= start || c_start >= start + len {
            continue;
        }
        out.push(Slice {
            index,
            from: (start.max(c_start) - c_start) as usize,
            to: ((start + len).min(c_end) - c_start) as usize,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_like_http_says() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Ok((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=50-500", 100), Some(Ok((50, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=x-y", 100), Some(Err(())));
    }

    #[test]
    fn etags_match_lists_and_stars() {
        assert!(etag_matches("\"a\", \"b\"", "\"b\""));
        assert!(etag_matches("*", "\"b\""));
        assert!(!etag_matches("\"a\"", "\"b\""));
    }

    #[test]
    fn slices_cover_exactly_the_range() {
        let lens = [10u64, 10, 10];
        assert_eq!(
            slices(lens, 5, 10),
            vec![
                Slice {
                    index: 0,
                    from: 5,
                    to: 10
                },
                Slice {
                    index: 1,
                    from: 0,
                    to: 5
                }
            ]
        );
        assert_eq!(slices(lens, 0, 30).len(), 3);
        assert!(slices(lens, 0, 0).is_empty());
        assert_eq!(
            slices(lens, 29, 1),
            vec![Slice {
                index: 2,
                from: 9,
                to: 10
            }]
        );
    }
}
