//! The query language of `docs/design.md` ("Query language").
//!
//! ```text
//! query := or ; or := and ("OR" and)* ; and := unary (["AND"] unary)*
//! unary := ("-" | "NOT") unary | "(" query ")" | term
//! term  := key ":" value | key op value | "has:" key | word | "\"phrase\""
//! ```
//!
//! - `OR`, `AND` and `NOT` are operators only in upper case; `AND` may be left
//!   out. A `-` at the start of a token negates what follows.
//! - A key is `[A-Za-z0-9_.-]+`, case-insensitive (lower-cased in the AST).
//!   `key:value` is a [`Term::Match`] (`*` globs, see [`glob_match`]);
//!   `key op value` with `op` one of `= != < <= > >=` is a [`Term::Compare`]
//!   (spaces around `op` are allowed; see [`compare_values`]); `has:key` is a
//!   [`Term::Has`]. A value runs to the next space, parenthesis or quote, or
//!   is quoted: `name:"kind of blue*"`.
//! - Anything else is a word or a `"quoted phrase"` ([`Term::Text`]); quotes
//!   take `\"` and `\\` escapes (any other backslash is kept as is). A bare
//!   word stops at `:` and at the comparison operators.
//!
//! [`parse`] turns text into a [`Query`], or a [`QueryError`] naming the
//! character offset and what was expected there. `Display` prints a query in
//! a canonical form that parses back to the same AST.
//!
//! ```
//! use docgrid_core::query::{CmpOp, Query, Term, parse};
//!
//! let q = parse("tag:jazz  year >= 1960 AND -tag:live").unwrap();
//! assert_eq!(q.to_string(), "tag:jazz year>=1960 -tag:live");
//! let Query::And(terms) = &q else { panic!("not an And: {q:?}") };
//! assert_eq!(
//!     terms[1],
//!     Query::Term(Term::Compare { key: "year".into(), op: CmpOp::Ge, value: "1960".into() })
//! );
//!
//! let err = parse("year>=").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "bad query at column 7: expected a value after 'year>=', found end of query"
//! );
//! ```

mod ast;
mod date;
mod eval;
mod lexer;
mod parser;
mod print;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use ast::{CmpOp, Query, Term};
pub use eval::{compare_values, glob_match};
pub use parser::{MAX_DEPTH, MAX_NESTING};

/// The instant a date value names, as seconds since the Unix epoch (UTC)
/// and nanoseconds: RFC 3339 timestamps (`created`, `modified`) and the
/// prefixes `YYYY-MM-DD`, `YYYY-MM`, `YYYY`. `None` if it is not a date.
///
/// ```
/// assert_eq!(docgrid_core::query::unix_time("1970-01-02T00:00:01Z"), Some((86_401, 0)));
/// ```
pub fn unix_time(value: &str) -> Option<(i64, u32)> {
    date::instant(value)
}

/// A query that does not parse: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad query at column {}: expected {expected}, found {found}", .offset + 1)]
pub struct QueryError {
    /// Character offset (0-based) of the offending token in the input.
    pub offset: usize,
    /// What the parser expected there, e.g. "a value after 'year>='".
    pub expected: String,
    /// What it found, e.g. "')'" or "end of query".
    pub found: String,
}

impl QueryError {
    fn new(offset: usize, expected: impl Into<String>, found: impl Into<String>) -> Self {
        QueryError {
            offset,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// Parses a query. Never panics, whatever the input.
///
/// Explicit parentheses are kept as nesting (`(a b) c` is
/// `And[And[a, b], c]`) and single-element groups are unwrapped, so every
/// `And`/`Or` has at least two children. Queries nested deeper than
/// [`MAX_DEPTH`] (in the AST) or [`MAX_NESTING`] (in parentheses and
/// negations) are refused.
pub fn parse(input: &str) -> Result<Query, QueryError> {
    parser::parse(input)
}
