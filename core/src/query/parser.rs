//! The recursive-descent parser over [`Lexer`] tokens.

use super::lexer::{Kind, Lexer, Token};
use super::{Query, QueryError};

/// The deepest query [`parse`](super::parse) accepts, counted in AST levels
/// (each `Not`, `And` and `Or` is one level).
pub const MAX_DEPTH: usize = 100;

/// The most parentheses and negations [`parse`](super::parse) accepts nested
/// in one another. Twice [`MAX_DEPTH`], so that the canonical printing of
/// any query the parser accepts is accepted too.
pub const MAX_NESTING: usize = 2 * MAX_DEPTH;

/// A parsed query and its depth in AST levels.
type Parsed = (Query, usize);

/// Parses a whole query.
pub(super) fn parse(input: &str) -> Result<Query, QueryError> {
    let mut parser = Parser {
        lexer: Lexer::new(input),
        peeked: None,
        nesting: 0,
    };
    let (query, _) = parser.or(None)?;
    let tok = parser.bump()?;
    match tok.kind {
        Kind::End => Ok(query),
        // `or` stops only at the end or at a ')'.
        _ => {
            let found = format!("{} with no matching '('", parser.lexer.describe(&tok));
            Err(QueryError::new(
                tok.start,
                "a search term or end of query",
                found,
            ))
        }
    }
}

struct Parser {
    lexer: Lexer,
    peeked: Option<Token>,
    /// How many parentheses and negations enclose the current position.
    nesting: usize,
}

impl Parser {
    fn peek(&mut self) -> Result<&Token, QueryError> {
        let tok = match self.peeked.take() {
            Some(tok) => tok,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(tok))
    }

    fn bump(&mut self) -> Result<Token, QueryError> {
        match self.peeked.take() {
            Some(tok) => Ok(tok),
            None => self.lexer.next_token(),
        }
    }

    /// `and ("OR" and)*`; `after` names what precedes it, for errors.
    fn or(&mut self, after: Option<&str>) -> Result<Parsed, QueryError> {
        let start = self.peek()?.start;
        let mut items = vec![self.and(after)?];
        while matches!(self.peek()?.kind, Kind::Or) {
            self.bump()?;
            items.push(self.and(Some("OR"))?);
        }
        combine(items, Query::Or, start)
    }

    /// `unary (["AND"] unary)*`.
    fn and(&mut self, after: Option<&str>) -> Result<Parsed, QueryError> {
        let start = self.peek()?.start;
        let mut items = vec![self.unary(after)?];
        loop {
            match self.peek()?.kind {
                Kind::End | Kind::Close | Kind::Or => break,
                Kind::And => {
                    self.bump()?;
                    items.push(self.unary(Some("AND"))?);
                }
                _ => items.push(self.unary(None)?),
            }
        }
        combine(items, Query::And, start)
    }

    /// `("-" | "NOT") unary | "(" query ")" | term`.
    fn unary(&mut self, after: Option<&str>) -> Result<Parsed, QueryError> {
        let tok = self.bump()?;
        match tok.kind {
            Kind::Term(term) => Ok((Query::Term(term), 0)),
            Kind::Minus => self.negation(&tok, "-"),
            Kind::Not => self.negation(&tok, "NOT"),
            Kind::Open => {
                self.enter(&tok)?;
                let group = self.group(tok.start)?;
                self.nesting -= 1;
                Ok(group)
            }
            _ => {
                let expected = match after {
                    Some(after) => format!("a search term after '{after}'"),
                    None => "a search term".into(),
                };
                Err(QueryError::new(
                    tok.start,
                    expected,
                    self.lexer.describe(&tok),
                ))
            }
        }
    }

    /// What follows `-` or `NOT`.
    fn negation(&mut self, tok: &Token, name: &str) -> Result<Parsed, QueryError> {
        self.enter(tok)?;
        let (query, depth) = self.unary(Some(name))?;
        self.nesting -= 1;
        if depth >= MAX_DEPTH {
            return Err(too_deep(tok.start));
        }
        Ok((Query::Not(Box::new(query)), depth + 1))
    }

    /// What follows `(`, up to and including the matching `)`.
    fn group(&mut self, open: usize) -> Result<Parsed, QueryError> {
        let parsed = self.or(Some("("))?;
        let close = self.bump()?;
        match close.kind {
            Kind::Close => Ok(parsed),
            _ => {
                let found = self.lexer.describe(&close);
                Err(QueryError::new(open, "a ')' to close this '('", found))
            }
        }
    }

    /// Steps into a parenthesis or negation, refusing to go deeper than
    /// [`MAX_NESTING`] (the parser recurses, and the stack is finite).
    fn enter(&mut self, tok: &Token) -> Result<(), QueryError> {
        if self.nesting >= MAX_NESTING {
            let expected = format!("at most {MAX_NESTING} parentheses and negations nested");
            return Err(QueryError::new(
                tok.start,
                expected,
                self.lexer.describe(tok),
            ));
        }
        self.nesting += 1;
        Ok(())
    }
}

/// One item as itself, several as an `And` or `Or` one level deeper.
fn combine(
    items: Vec<Parsed>,
    make: fn(Vec<Query>) -> Query,
    start: usize,
) -> Result<Parsed, QueryError> {
    let items = match <[Parsed; 1]>::try_from(items) {
        Ok([one]) => return Ok(one),
        Err(items) => items,
    };
    let depth = items.iter().map(|(_, depth)| depth + 1).max().unwrap_or(1);
    if depth > MAX_DEPTH {
        return Err(too_deep(start));
    }
    Ok((
        make(items.into_iter().map(|(query, _)| query).collect()),
        depth,
    ))
}

fn too_deep(offset: usize) -> QueryError {
    QueryError::new(
        offset,
        format!("a query at most {MAX_DEPTH} levels deep"),
        "a deeper one",
    )
}
