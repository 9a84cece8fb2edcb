//! What terms mean: glob matching, value comparison, and the questions the
//! server and the tree ask of a query.

use std::cmp::Ordering;

use super::{CmpOp, Query, Term, date};

/// Whether `value` matches `pattern`, in which `*` matches any run of
/// characters (none included) and every other character only itself.
/// Case-sensitive; there is no escape and no other metacharacter.
///
/// Runs in time linear in the two lengths: the literal pieces between the
/// stars are found leftmost-first, which is enough because a star absorbs
/// whatever lies between two pieces, so an earlier match never hurts.
///
/// ```
/// use docgrid_core::query::glob_match;
///
/// assert!(glob_match("*.pdf", "report.pdf"));
/// assert!(glob_match("kind of *blue*", "kind of blue"));
/// assert!(!glob_match("*.pdf", "report.pdf.txt"));
/// ```
pub fn glob_match(pattern: &str, value: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == value;
    };
    let (middle, last) = rest.rsplit_once('*').unwrap_or(("", rest));
    if value.len() < first.len() + last.len() || !value.starts_with(first) || !value.ends_with(last)
    {
        return false;
    }
    // Both ends are char boundaries: `first` is a prefix and `last` a suffix.
    let mut hay = &value[first.len()..value.len() - last.len()];
    for piece in middle.split('*') {
        match hay.find(piece) {
            Some(at) => hay = &hay[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// Compares two metadata values the way `key op value` terms do:
///
/// 1. numerically if both are numbers (integers of any length exactly, other
///    numbers as finite `f64`, so `9 < 10` and `1.5 < 2`);
/// 2. else chronologically if both are dates: RFC 3339 timestamps (an
///    offset-less timestamp counts as UTC, seconds may be left out) or the
///    calendar prefixes `YYYY-MM-DD`, `YYYY-MM` and `YYYY`, each standing for
///    its first instant (so `2026` equals `2026-01-01`, and
///    `2026-03 > 2026`);
/// 3. else lexically, by Unicode code point.
///
/// ```
/// use std::cmp::Ordering;
/// use docgrid_core::query::compare_values;
///
/// assert_eq!(compare_values("9", "10"), Ordering::Less);
/// assert_eq!(compare_values("2026-01-01T10:00:00+02:00", "2026-01-01T08:00:00Z"), Ordering::Equal);
/// assert_eq!(compare_values("2025-12", "2026"), Ordering::Less);
/// assert_eq!(compare_values("b", "abc"), Ordering::Greater);
/// ```
pub fn compare_values(a: &str, b: &str) -> Ordering {
    if let (Some(x), Some(y)) = (integer(a), integer(b)) {
        return compare_integers(x, y);
    }
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    }
    if let (Some(x), Some(y)) = (date::instant(a), date::instant(b)) {
        return x.cmp(&y);
    }
    a.cmp(b)
}

/// An integer `[+-]?[0-9]+` as (negative, digits without leading zeros).
fn integer(s: &str) -> Option<(bool, &str)> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    Some((negative && !digits.is_empty(), digits))
}

fn compare_integers((neg_a, a): (bool, &str), (neg_b, b): (bool, &str)) -> Ordering {
    let magnitude = |x: &str, y: &str| x.len().cmp(&y.len()).then_with(|| x.cmp(y));
    match (neg_a, neg_b) {
        (false, false) => magnitude(a, b),
        (true, true) => magnitude(b, a),
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

/// A finite decimal number (digits, sign, point, exponent); not `inf`/`NaN`.
fn number(s: &str) -> Option<f64> {
    let plausible = s
        .bytes()
        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        && s.bytes().any(|b| b.is_ascii_digit());
    if !plausible {
        return None;
    }
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

impl CmpOp {
    /// Whether the comparison holds when the left side compares to the
    /// right as `ord`, e.g. `CmpOp::Le.holds(compare_values(have, wanted))`.
    ///
    /// ```
    /// use std::cmp::Ordering;
    /// use docgrid_core::query::{CmpOp, compare_values};
    ///
    /// assert!(CmpOp::Ge.holds(compare_values("1970", "1960")));
    /// assert!(!CmpOp::Ne.holds(Ordering::Equal));
    /// ```
    pub fn holds(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Eq => ord.is_eq(),
            CmpOp::Ne => ord.is_ne(),
            CmpOp::Lt => ord.is_lt(),
            CmpOp::Le => ord.is_le(),
            CmpOp::Gt => ord.is_gt(),
            CmpOp::Ge => ord.is_ge(),
        }
    }

    /// How the operator is written: `=`, `!=`, `<`, `<=`, `>` or `>=`.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

impl Query {
    /// The `(key, value)` pairs of a query that is nothing but exact
    /// matches: a single `key:value`, or an `And` of them (nested `And`s
    /// included), none with a `*` glob. Pairs come in query order and may
    /// repeat a key (`tag:a tag:b`). `None` for anything else.
    ///
    /// This decides whether a `/search/QUERY/` directory is writable: a
    /// document put there is given these values.
    ///
    /// ```
    /// use docgrid_core::query::parse;
    ///
    /// let q = parse("tag:jazz year:1960").unwrap();
    /// let pairs = vec![("tag".into(), "jazz".into()), ("year".into(), "1960".into())];
    /// assert_eq!(q.conjunction_of_matches(), Some(pairs));
    /// assert_eq!(parse("tag:ja*").unwrap().conjunction_of_matches(), None);
    /// assert_eq!(parse("tag:jazz OR tag:blues").unwrap().conjunction_of_matches(), None);
    /// ```
    pub fn conjunction_of_matches(&self) -> Option<Vec<(String, String)>> {
        let mut pairs = Vec::new();
        self.collect_matches(&mut pairs).then_some(pairs)
    }

    fn collect_matches(&self, pairs: &mut Vec<(String, String)>) -> bool {
        match self {
            Query::Term(Term::Match { key, value }) if !value.contains('*') => {
                pairs.push((key.clone(), value.clone()));
                true
            }
            Query::And(items) => items.iter().all(|item| item.collect_matches(pairs)),
            _ => false,
        }
    }
}
