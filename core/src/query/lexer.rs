//! The lexer: query text to tokens, one token at a time, so that the first
//! error in reading order is the one reported.
//!
//! A term is lexed whole (`key:value`, `key op value`, `has:key`, a word or a
//! phrase) because what may follow a key depends on it: a value after `:` or
//! an operator runs to the next space, parenthesis or quote (so it may hold
//! `:`, as timestamps do), while a bare word also stops at `:` and at the
//! comparison operators. Offsets are counted in characters, not bytes.

use super::{CmpOp, QueryError, Term};

/// How an error message describes the allowed key characters.
const KEY_CHARS: &str = "letters, digits, '_', '.' or '-'";

/// The longest piece of input quoted back in an error message, in characters.
const MAX_QUOTED: usize = 32;

/// What a token is.
#[derive(Debug)]
pub(super) enum Kind {
    /// `(`
    Open,
    /// `)`
    Close,
    /// `-` at the start of a token.
    Minus,
    /// The word `NOT`.
    Not,
    /// The word `AND`.
    And,
    /// The word `OR`.
    Or,
    /// A complete term.
    Term(Term),
    /// A `:` or comparison operator with no key before it.
    Stray,
    /// The end of the input.
    End,
}

/// A token and the range of characters it came from.
#[derive(Debug)]
pub(super) struct Token {
    /// What it is.
    pub kind: Kind,
    /// Offset of its first character.
    pub start: usize,
    /// Offset just past its last character.
    pub end: usize,
}

/// Whether `c` ends a bare value (and a bare word).
pub(super) fn ends_value(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"')
}

/// Whether `s` is a key as the query language writes it: `[A-Za-z0-9_.-]+`.
pub(super) fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Quotes `s` for an error message, shortened if long.
pub(super) fn quote_for_message(s: &str) -> String {
    if s.chars().count() <= MAX_QUOTED {
        format!("'{s}'")
    } else {
        let head: String = s.chars().take(MAX_QUOTED).collect();
        format!("'{head}…'")
    }
}

/// Reads tokens from a query.
pub(super) struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    /// A lexer at the start of `input`.
    pub fn new(input: &str) -> Self {
        Lexer {
            chars: input.chars().collect(),
            pos: 0,
        }
    }

    /// Describes a token for an error message: `'text'` or "end of query".
    pub fn describe(&self, tok: &Token) -> String {
        match tok.kind {
            Kind::End => "end of query".into(),
            _ => quote_for_message(&self.text(tok.start, tok.end)),
        }
    }

    /// Reads the next token.
    pub fn next_token(&mut self) -> Result<Token, QueryError> {
        self.skip_whitespace();
        let start = self.pos;
        let kind = match self.peek() {
            None => Kind::End,
            Some('(') => self.single(Kind::Open),
            Some(')') => self.single(Kind::Close),
            Some('-') => self.single(Kind::Minus),
            Some('"') => Kind::Term(Term::Text(self.quoted()?)),
            Some(_) => self.word_term(start)?,
        };
        Ok(Token {
            kind,
            start,
            end: self.pos,
        })
    }

    fn single(&mut self, kind: Kind) -> Kind {
        self.pos += 1;
        kind
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    fn text(&self, start: usize, end: usize) -> String {
        let end = end.min(self.chars.len());
        self.chars[start.min(end)..end].iter().collect()
    }

    /// Describes what is at `pos`, for an error message.
    fn describe_at(&self, pos: usize) -> String {
        match self.peek_at(pos) {
            None => "end of query".into(),
            Some(c) if c.is_whitespace() => "whitespace".into(),
            Some(c) => format!("'{c}'"),
        }
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Whether a bare word ends at `i`.
    fn ends_word(&self, i: usize) -> bool {
        match self.peek_at(i) {
            None => true,
            Some('!') => self.peek_at(i + 1) == Some('='),
            Some(c) => ends_value(c) || matches!(c, ':' | '<' | '>' | '='),
        }
    }

    /// Consumes the comparison operator at the current position, if any.
    fn cmp_op(&mut self) -> Option<CmpOp> {
        let (op, len) = match (self.peek()?, self.peek_at(self.pos + 1)) {
            ('<', Some('=')) => (CmpOp::Le, 2),
            ('<', _) => (CmpOp::Lt, 1),
            ('>', Some('=')) => (CmpOp::Ge, 2),
            ('>', _) => (CmpOp::Gt, 1),
            ('=', _) => (CmpOp::Eq, 1),
            ('!', Some('=')) => (CmpOp::Ne, 2),
            _ => return None,
        };
        self.pos += len;
        Some(op)
    }

    /// A token starting with a bare word: an operator word, a text word, or a
    /// term with a key.
    fn word_term(&mut self, start: usize) -> Result<Kind, QueryError> {
        while !self.ends_word(self.pos) {
            self.pos += 1;
        }
        let word = self.text(start, self.pos);
        if word.is_empty() {
            // A ':' or an operator with nothing before it.
            if self.cmp_op().is_none() {
                self.pos += 1;
            }
            return Ok(Kind::Stray);
        }
        if self.peek() == Some(':') {
            self.pos += 1;
            return self.colon_term(start, &word).map(Kind::Term);
        }
        let word_end = self.pos;
        let operator = match word.as_str() {
            "OR" => Some(Kind::Or),
            "AND" => Some(Kind::And),
            "NOT" => Some(Kind::Not),
            _ => None,
        };
        if let Some(kind) = operator {
            return Ok(kind);
        }
        self.skip_whitespace();
        if let Some(op) = self.cmp_op() {
            return self.compare_term(start, &word, op).map(Kind::Term);
        }
        self.pos = word_end;
        Ok(Kind::Term(Term::Text(word)))
    }

    /// `key:value` or `has:key`; the `:` has been read.
    fn colon_term(&mut self, start: usize, word: &str) -> Result<Term, QueryError> {
        if !is_key(word) {
            let expected = format!("a key ({KEY_CHARS}) before ':'");
            return Err(QueryError::new(start, expected, quote_for_message(word)));
        }
        let key = word.to_ascii_lowercase();
        if key != "has" {
            let value = self.value(format!("a value after '{word}:'"))?;
            return Ok(Term::Match { key, value });
        }
        let at = self.pos;
        let expected = format!("a key ({KEY_CHARS}) after '{word}:'");
        let value = self.value(expected.clone())?;
        if !is_key(&value) {
            let found = if value.is_empty() {
                "an empty key".into()
            } else {
                quote_for_message(&value)
            };
            return Err(QueryError::new(at, expected, found));
        }
        Ok(Term::Has {
            key: value.to_ascii_lowercase(),
        })
    }

    /// `key op value`; the operator has been read.
    fn compare_term(&mut self, start: usize, word: &str, op: CmpOp) -> Result<Term, QueryError> {
        if !is_key(word) {
            let expected = format!("a key ({KEY_CHARS}) before '{op}'");
            return Err(QueryError::new(start, expected, quote_for_message(word)));
        }
        self.skip_whitespace();
        let value = self.value(format!("a value after '{word}{op}'"))?;
        Ok(Term::Compare {
            key: word.to_ascii_lowercase(),
            op,
            value,
        })
    }

    /// A quoted or bare value; `expected` describes it for the error raised
    /// when there is none.
    fn value(&mut self, expected: String) -> Result<String, QueryError> {
        if self.peek() == Some('"') {
            return self.quoted();
        }
        let start = self.pos;
        while self.peek().is_some_and(|c| !ends_value(c)) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(QueryError::new(start, expected, self.describe_at(start)));
        }
        Ok(self.text(start, self.pos))
    }

    /// A quoted string, at its opening quote; `\"` and `\\` are escapes, any
    /// other backslash stands for itself.
    fn quoted(&mut self) -> Result<String, QueryError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    let expected = "a closing '\"' for this quote";
                    return Err(QueryError::new(open, expected, "end of query"));
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => match self.peek_at(self.pos + 1) {
                    Some(c @ ('"' | '\\')) => {
                        out.push(c);
                        self.pos += 2;
                    }
                    _ => {
                        out.push('\\');
                        self.pos += 1;
                    }
                },
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}
