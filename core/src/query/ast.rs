//! The query AST.

/// A parsed query.
///
/// `And` and `Or` always have at least two children; the parser unwraps
/// single-element groups, but keeps explicit parentheses as nesting
/// (`(a b) c` is `And[And[a, b], c]`), so printing and parsing round-trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// All children match.
    And(Vec<Query>),
    /// At least one child matches.
    Or(Vec<Query>),
    /// The child does not match.
    Not(Box<Query>),
    /// A single term.
    Term(Term),
}

/// A leaf of the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// `key:value`: the key has a value equal to `value`, where `*` in
    /// `value` matches any run of characters. Keys are lower-cased.
    Match {
        /// The key, lower case.
        key: String,
        /// The value pattern.
        value: String,
    },
    /// `key op value`: numeric if both sides are numbers, chronological
    /// for dates, else lexical.
    Compare {
        /// The key, lower case.
        key: String,
        /// The comparison.
        op: CmpOp,
        /// The right-hand side.
        value: String,
    },
    /// `has:key`: the key is set.
    Has {
        /// The key, lower case.
        key: String,
    },
    /// A word or a quoted phrase: full text over the name, metadata values
    /// and extracted text. A phrase of several words matches them in order.
    Text(String),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}
