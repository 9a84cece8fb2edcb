//! Snippets: the text around the first match of a search in a document's
//! stored body, matches marked «».

use std::collections::VecDeque;

use super::analyzer;

/// Approximate length of a snippet, in characters.
const SNIPPET_CHARS: usize = 160;
/// Characters of context kept before the first match in a snippet.
const SNIPPET_BEFORE: usize = 50;

/// Byte ranges in `text` where one of `needles` (token sequences) occurs,
/// scanning only until a little past the first match.
fn find_matches(text: &str, needles: &[Vec<String>]) -> Vec<(usize, usize)> {
    let longest = needles.iter().map(Vec::len).max().unwrap_or(0);
    let mut recent: VecDeque<(String, usize)> = VecDeque::with_capacity(longest);
    let mut matches: Vec<(usize, usize)> = Vec::new();
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    while let Some(tok) = stream.next() {
        if let Some(&(start, _)) = matches.first()
            && tok.offset_from > start + SNIPPET_CHARS * 4
        {
            break;
        }
        if recent.len() == longest {
            recent.pop_front();
        }
        recent.push_back((tok.text.clone(), tok.offset_from));
        for needle in needles {
            let Some(skip) = recent.len().checked_sub(needle.len()) else {
                continue;
            };
            if recent.iter().skip(skip).map(|r| &r.0).eq(needle.iter()) {
                let start = recent[skip].1;
                if matches.last().is_none_or(|&(_, end)| end <= start) {
                    matches.push((start, tok.offset_to));
                }
                break;
            }
        }
    }
    matches
}

/// Appends `s` to `out` with runs of whitespace and control characters
/// collapsed to one space.
fn push_collapsed(out: &mut String, s: &str) {
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
}

/// The snippet of `text` around the first of `needles`, if any occurs.
pub(super) fn snippet_of(text: &str, needles: &[Vec<String>]) -> Option<String> {
    let matches = find_matches(text, needles);
    let &(first_start, first_end) = matches.first()?;
    // Start up to SNIPPET_BEFORE chars before the match, at a word boundary.
    let mut start = text[..first_start]
        .char_indices()
        .rev()
        .take(SNIPPET_BEFORE)
        .last()
        .map_or(first_start, |(i, _)| i);
    if start > 0
        && let Some(ws) = text[start..first_start].find(char::is_whitespace)
    {
        start += ws + 1;
    }
    // End about SNIPPET_CHARS chars after the start, at a word boundary.
    let mut end = text[start..]
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map_or(text.len(), |(i, _)| start + i)
        .max(first_end);
    if end < text.len()
        && let Some(ws) = text[first_end..end].rfind(char::is_whitespace)
    {
        end = first_end + ws;
    }
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    for &(s, e) in matches.iter().filter(|m| m.1 <= end) {
        push_collapsed(&mut out, &text[at..s]);
        out.push('«');
        push_collapsed(&mut out, &text[s..e]);
        out.push('»');
        at = e;
    }
    push_collapsed(&mut out, &text[at..end]);
    let mut out = out.trim_end().to_string();
    if end < text.len() {
        out.push('…');
    }
    Some(out)
}
