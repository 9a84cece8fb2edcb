//! Executing the query language: metadata terms against SQLite, words and
//! phrases against tantivy, boolean logic over sets of document keys.

use std::collections::HashMap;

use docgrid_core::api::{Hit, SearchResponse};
use docgrid_core::query::{self, CmpOp, Query, Term, compare_values};
use roaring::RoaringBitmap;
use rusqlite::Connection;

use crate::error::ApiError;
use crate::fulltext::FullText;
use crate::index::read;

/// Evaluates queries in one connection.
pub struct Searcher<'a> {
    conn: &'a Connection,
    ft: &'a FullText,
    /// Full-text scores of matched documents, summed over text terms.
    pub scores: HashMap<u32, f32>,
    /// The text terms seen (for snippets).
    pub texts: Vec<String>,
}

impl<'a> Searcher<'a> {
    /// A searcher over `conn` and `ft`.
    pub fn new(conn: &'a Connection, ft: &'a FullText) -> Self {
        Searcher {
            conn,
            ft,
            scores: HashMap::new(),
            texts: Vec::new(),
        }
    }

    /// The keys of the live documents `q` matches.
    pub fn eval(&mut self, q: &Query) -> Result<RoaringBitmap, ApiError> {
        Ok(match q {
            Query::And(parts) => {
                let (ranges, rest) = numeric_ranges(parts);
                let mut acc: Option<RoaringBitmap> = None;
                for r in &ranges {
                    let s = self.range(r)?;
                    acc = Some(match acc {
                        Some(a) => a & s,
                        None => s,
                    });
                }
                for p in rest {
                    let s = self.eval(p)?;
                    acc = Some(match acc {
                        Some(a) => a & s,
                        None => s,
                    });
                }
                acc.unwrap_or_default()
            }
            Query::Or(parts) => {
                let mut acc = RoaringBitmap::new();
                for p in parts {
                    acc |= self.eval(p)?;
                }
                acc
            }
            Query::Not(inner) => self.live()? - self.eval(inner)?,
            Query::Term(t) => self.term(t)?,
        })
    }

    /// Every live document.
    pub fn live(&self) -> Result<RoaringBitmap, ApiError> {
        self.keys("SELECT key FROM docs WHERE deleted = 0", &[])
    }

    fn keys(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<RoaringBitmap, ApiError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut out = RoaringBitmap::new();
        for k in stmt.query_map(params, |r| r.get::<_, i64>(0))? {
            out.insert(k? as u32);
        }
        Ok(out)
    }

    fn term(&mut self, t: &Term) -> Result<RoaringBitmap, ApiError> {
        match t {
            Term::Match { key, value } if value.contains('*') => self.keys(
                "SELECT doc FROM meta WHERE key = ?1 AND value GLOB ?2",
                &[key, &glob_pattern(value)],
            ),
            Term::Match { key, value } => self.exact(key, value),
            Term::Has { key } => self.keys("SELECT doc FROM meta WHERE key = ?1", &[key]),
            Term::Compare { key, op, value } => self.compare(key, *op, value),
            Term::Text(text) => self.text(text),
        }
    }

    /// Documents where `key` has exactly `value`.
    pub fn exact(&self, key: &str, value: &str) -> Result<RoaringBitmap, ApiError> {
        self.keys(
            "SELECT doc FROM meta WHERE key = ?1 AND value = ?2",
            &[&key, &value],
        )
    }

    /// Documents with a value of the key inside both bounds.
    fn range(&self, r: &Range) -> Result<RoaringBitmap, ApiError> {
        let lo = if r.lo_incl { ">=" } else { ">" };
        let hi = if r.hi_incl { "<=" } else { "<" };
        let sql = format!("SELECT doc FROM meta WHERE key = ?1 AND num {lo} ?2 AND num {hi} ?3");
        self.keys(&sql, &[&r.key, &r.lo, &r.hi])
    }

    /// `key op value`: numeric values compare numerically through the
    /// index (when the query value is a number), every other value as the
    /// query language says (dates chronologically, else lexically).
    fn compare(&self, key: &str, op: CmpOp, value: &str) -> Result<RoaringBitmap, ApiError> {
        let mut out = RoaringBitmap::new();
        let numeric = value.trim().parse::<f64>().ok().filter(|n| n.is_finite());
        if let Some(n) = numeric {
            let sql = match op {
                CmpOp::Eq => "SELECT doc FROM meta WHERE key = ?1 AND num = ?2",
                CmpOp::Ne => {
                    "SELECT doc FROM meta WHERE key = ?1 AND num IS NOT NULL AND num != ?2"
                }
                CmpOp::Lt => "SELECT doc FROM meta WHERE key = ?1 AND num < ?2",
                CmpOp::Le => "SELECT doc FROM meta WHERE key = ?1 AND num <= ?2",
                CmpOp::Gt => "SELECT doc FROM meta WHERE key = ?1 AND num > ?2",
                CmpOp::Ge => "SELECT doc FROM meta WHERE key = ?1 AND num >= ?2",
            };
            out |= self.keys(sql, &[&key, &n])?;
        }
        let sql = if numeric.is_some() {
            "SELECT doc, value FROM meta WHERE key = ?1 AND num IS NULL"
        } else {
            "SELECT doc, value FROM meta WHERE key = ?1"
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        for row in stmt.query_map([key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (doc, v) = row?;
            if op.holds(compare_values(&v, value)) {
                out.insert(doc as u32);
            }
        }
        Ok(out)
    }

    fn text(&mut self, text: &str) -> Result<RoaringBitmap, ApiError> {
        self.texts.push(text.to_string());
        let hits = self
            .ft
            .matching(text)
            .map_err(crate::error::ServerError::from)?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key FROM docs WHERE id = ?1 AND deleted = 0")?;
        let mut out = RoaringBitmap::new();
        for (id, score) in hits {
            if let Ok(key) = stmt.query_row([&id], |r| r.get::<_, i64>(0)) {
                out.insert(key as u32);
                *self.scores.entry(key as u32).or_default() += score;
            }
        }
        Ok(out)
    }
}

/// A numeric lower and upper bound on one key, from two terms of an `AND`.
struct Range {
    key: String,
    lo: f64,
    lo_incl: bool,
    hi: f64,
    hi_incl: bool,
}

/// Pairs of numeric bounds on the same key (`year>=1960 year<1970`) become
/// one range: a value of the key inside both bounds, so one index scan
/// instead of two half-index scans. Returns the ranges and the other parts.
fn numeric_ranges(parts: &[Query]) -> (Vec<Range>, Vec<&Query>) {
    let bound = |q: &Query| -> Option<(String, CmpOp, f64)> {
        let Query::Term(Term::Compare { key, op, value }) = q else {
            return None;
        };
        let n = value.trim().parse::<f64>().ok().filter(|n| n.is_finite())?;
        matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge).then(|| (key.clone(), *op, n))
    };
    let mut ranges = Vec::new();
    let mut used = vec![false; parts.len()];
    for i in 0..parts.len() {
        let Some((key, op, n)) = bound(&parts[i]).filter(|_| !used[i]) else {
            continue;
        };
        let lower = matches!(op, CmpOp::Gt | CmpOp::Ge);
        let partner = (i + 1..parts.len()).find(|&j| {
            !used[j]
                && bound(&parts[j]).is_some_and(|(k, o, _)| {
                    k == key && matches!(o, CmpOp::Gt | CmpOp::Ge) != lower
                })
        });
        let Some(j) = partner else { continue };
        let (_, op2, m) = bound(&parts[j]).expect("checked");
        let ((lo, lo_op), (hi, hi_op)) = if lower {
            ((n, op), (m, op2))
        } else {
            ((m, op2), (n, op))
        };
        ranges.push(Range {
            key,
            lo,
            lo_incl: lo_op == CmpOp::Ge,
            hi,
            hi_incl: hi_op == CmpOp::Le,
        });
        used[i] = true;
        used[j] = true;
    }
    let rest = parts
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(p, _)| p)
        .collect();
    (ranges, rest)
}

/// A query glob (only `*` is special) as an SQLite GLOB pattern.
fn glob_pattern(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len());
    for c in glob.chars() {
        match c {
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            c => out.push(c),
        }
    }
    out
}

/// Runs `q` and returns one page of hits: by full-text score when the
/// query has text terms, else newest first.
pub fn search(
    conn: &Connection,
    ft: &FullText,
    q: &str,
    limit: usize,
    offset: usize,
) -> Result<SearchResponse, ApiError> {
    let parsed = query::parse(q).map_err(|e| ApiError::bad_query(&e))?;
    let mut s = Searcher::new(conn, ft);
    let keys = s.eval(&parsed)?;
    let total = keys.len();
    // Full-text hits by score, ties and queries without text newest first
    // by creation (key order): one order for every page.
    let page: Vec<(u32, f32)> = if s.scores.is_empty() {
        keys.iter()
            .rev()
            .skip(offset)
            .take(limit)
            .map(|k| (k, 0.0))
            .collect()
    } else {
        let mut ranked: Vec<(u32, f32)> = keys
            .iter()
            .map(|k| (k, s.scores.get(&k).copied().unwrap_or(0.0)))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        ranked.into_iter().skip(offset).take(limit).collect()
    };
    let texts: Vec<&str> = s.texts.iter().map(String::as_str).collect();
    let mut hits = Vec::new();
    for (k, score) in page {
        let doc = read::doc_info_by_key(conn, i64::from(k))?;
        let snippet = if texts.is_empty() {
            None
        } else {
            ft.snippet(&doc.id.to_string(), &texts)
                .map_err(crate::error::ServerError::from)?
        };
        hits.push(Hit {
            doc,
            score,
            snippet,
        });
    }
    Ok(SearchResponse { total, hits })
}
