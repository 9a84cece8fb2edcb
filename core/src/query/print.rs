//! Canonical printing: `Display` for [`Query`], [`Term`] and [`CmpOp`].
//!
//! The printed form of any query [`parse`](super::parse) returns parses back
//! to the same AST. Terms are separated by single spaces, `OR` by spaces,
//! negation is `-`, comparisons have no spaces (`year>=1960`), and every
//! `And`/`Or` inside another query is parenthesised, as is the operand of a
//! negation unless it is a term. Values and texts are quoted only when a bare
//! spelling would read back differently.

use std::fmt::{self, Display, Formatter, Write};

use super::lexer::ends_value;
use super::{CmpOp, Query, Term};

impl Display for CmpOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl Display for Term {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Term::Match { key, value } => {
                write!(f, "{key}:")?;
                write_maybe_quoted(f, value, is_bare_value(value))
            }
            Term::Compare { key, op, value } => {
                write!(f, "{key}{op}")?;
                let bare = is_bare_value(value) && !value.starts_with(['<', '>', '=', '!']);
                write_maybe_quoted(f, value, bare)
            }
            Term::Has { key } => write!(f, "has:{key}"),
            Term::Text(text) => write_maybe_quoted(f, text, is_bare_text(text)),
        }
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Query::Term(term) => term.fmt(f),
            Query::Not(inner) => match &**inner {
                Query::Term(term) => write!(f, "-{term}"),
                other => write!(f, "-({other})"),
            },
            Query::And(items) => write_joined(f, items, " "),
            Query::Or(items) => write_joined(f, items, " OR "),
        }
    }
}

fn write_joined(f: &mut Formatter<'_>, items: &[Query], separator: &str) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        match item {
            Query::And(_) | Query::Or(_) => write!(f, "({item})")?,
            _ => write!(f, "{item}")?,
        }
    }
    Ok(())
}

/// Whether a value after `:` or an operator may be written bare: it is not
/// empty and holds no space, parenthesis, quote or backslash.
fn is_bare_value(value: &str) -> bool {
    !value.is_empty() && !value.chars().any(|c| ends_value(c) || c == '\\')
}

/// Whether a text may be written as a bare word: a bare value that does not
/// start with `-`, is not an operator word, and holds no `:` or comparison
/// operator (which would make it a term with a key).
fn is_bare_text(text: &str) -> bool {
    is_bare_value(text)
        && !text.starts_with('-')
        && !matches!(text, "OR" | "AND" | "NOT")
        && !text.contains([':', '<', '>', '='])
}

fn write_maybe_quoted(f: &mut Formatter<'_>, s: &str, bare: bool) -> fmt::Result {
    if bare {
        return f.write_str(s);
    }
    f.write_char('"')?;
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}
