//! Arguments resolved before any work starts: what a target names, which
//! revision `-r` means, how deep `--depth` goes, `KEY=VALUE` pairs. Each
//! parses in clap (a bad value is a usage error, exit 2, naming it).

use std::path::PathBuf;

use docgrid_core::DocId;

/// A command's target: the repository's (`/tags/jazz/x.pdf`, `^/all/x`,
/// or a document id) or a working-copy path (anything else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A tree path or document id, as typed (`^/` stripped).
    Repo(String),
    /// A path in a working copy.
    Local(PathBuf),
}

impl Target {
    /// Parses a target (never fails: what is not the repository's is a
    /// local path).
    pub fn parse(s: &str) -> Result<Target, String> {
        if let Some(rest) = s.strip_prefix("^/") {
            return Ok(Target::Repo(format!("/{rest}")));
        }
        if s.starts_with('/') || s.parse::<DocId>().is_ok() {
            return Ok(Target::Repo(s.to_string()));
        }
        Ok(Target::Local(PathBuf::from(s)))
    }

    /// As typed, for messages.
    pub fn shown(&self) -> String {
        match self {
            Target::Repo(s) => s.clone(),
            Target::Local(p) => p.display().to_string(),
        }
    }
}

/// One revision, as svn names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rev {
    /// A number (`42` or `r42`).
    Num(u64),
    /// The newest revision.
    Head,
    /// The revision a working-copy file is based on.
    Base,
    /// The revision of a working-copy file's last change (= BASE here).
    Committed,
    /// The revision before COMMITTED.
    Prev,
}

/// `-r REV` or `-r N:M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevRange {
    /// The first revision.
    pub start: Rev,
    /// The last one, for a range.
    pub end: Option<Rev>,
}

fn one_rev(s: &str) -> Result<Rev, String> {
    match s.to_ascii_uppercase().as_str() {
        "HEAD" => Ok(Rev::Head),
        "BASE" => Ok(Rev::Base),
        "COMMITTED" => Ok(Rev::Committed),
        "PREV" => Ok(Rev::Prev),
        other => other
            .strip_prefix('R')
            .unwrap_or(other)
            .parse::<u64>()
            .map(Rev::Num)
            .map_err(|_| {
                format!("'{s}' is not a revision (a number, HEAD, BASE, COMMITTED or PREV)")
            }),
    }
}

impl RevRange {
    /// Parses `N`, `N:M`, `HEAD`, `PREV:HEAD`…
    pub fn parse(s: &str) -> Result<RevRange, String> {
        match s.split_once(':') {
            Some((a, b)) => Ok(RevRange {
                start: one_rev(a)?,
                end: Some(one_rev(b)?),
            }),
            None => Ok(RevRange {
                start: one_rev(s)?,
                end: None,
            }),
        }
    }
}

/// `-r REV` where a range makes no sense.
pub fn parse_one_rev(s: &str) -> Result<Rev, String> {
    if s.contains(':') {
        return Err(format!("'{s}': give one revision here, not a range"));
    }
    one_rev(s)
}

/// How far a command descends, as svn's `--depth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Depth {
    /// The target alone.
    Empty,
    /// Its documents.
    Files,
    /// Its documents and its subdirectories, empty.
    Immediates,
    /// Everything below it.
    Infinity,
}

/// `KEY=VALUE`.
pub fn key_value(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}': expected KEY=VALUE"))?;
    docgrid_core::model::validate_key(k).map_err(|e| e.to_string())?;
    Ok((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_parse_as_svn_writes_them() {
        assert_eq!(RevRange::parse("42").unwrap().start, Rev::Num(42));
        assert_eq!(RevRange::parse("r7").unwrap().start, Rev::Num(7));
        let r = RevRange::parse("HEAD:3").unwrap();
        assert_eq!((r.start, r.end), (Rev::Head, Some(Rev::Num(3))));
        assert_eq!(RevRange::parse("prev").unwrap().start, Rev::Prev);
        assert!(RevRange::parse("x").is_err());
        assert!(parse_one_rev("1:2").is_err());
    }

    #[test]
    fn targets_are_the_repository_s_or_local() {
        assert_eq!(
            Target::parse("/tags/x").unwrap(),
            Target::Repo("/tags/x".into())
        );
        assert_eq!(
            Target::parse("^/all/x").unwrap(),
            Target::Repo("/all/x".into())
        );
        assert_eq!(
            Target::parse("plan.txt").unwrap(),
            Target::Local(PathBuf::from("plan.txt"))
        );
    }
}
