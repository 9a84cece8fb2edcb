//! Unit tests: one per grammar rule, error and printing rule.

use std::cmp::Ordering;

use super::*;

fn text(s: &str) -> Query {
    Query::Term(Term::Text(s.into()))
}

fn matches(key: &str, value: &str) -> Query {
    Query::Term(Term::Match {
        key: key.into(),
        value: value.into(),
    })
}

fn cmp(key: &str, op: CmpOp, value: &str) -> Query {
    Query::Term(Term::Compare {
        key: key.into(),
        op,
        value: value.into(),
    })
}

fn has(key: &str) -> Query {
    Query::Term(Term::Has { key: key.into() })
}

fn and(items: Vec<Query>) -> Query {
    Query::And(items)
}

fn or(items: Vec<Query>) -> Query {
    Query::Or(items)
}

fn not(q: Query) -> Query {
    Query::Not(Box::new(q))
}

#[track_caller]
fn ok(input: &str) -> Query {
    parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

/// The error's offset and message.
#[track_caller]
fn error(input: &str) -> (usize, String) {
    match parse(input) {
        Ok(q) => panic!("{input:?} parsed as {q:?}"),
        Err(e) => (e.offset, e.to_string()),
    }
}

#[test]
fn words_are_text() {
    assert_eq!(ok("jazz"), text("jazz"));
    assert_eq!(ok("  jazz\t"), text("jazz"));
    assert_eq!(
        ok("e-mail alice@example.org"),
        and(vec![text("e-mail"), text("alice@example.org")])
    );
    assert_eq!(
        ok("café 日本 *glob* a!b"),
        and(vec![
            text("café"),
            text("日本"),
            text("*glob*"),
            text("a!b")
        ])
    );
}

#[test]
fn juxtaposition_and_explicit_and_are_the_same() {
    let want = and(vec![text("a"), text("b"), text("c")]);
    assert_eq!(ok("a b c"), want);
    assert_eq!(ok("a AND b AND c"), want);
    assert_eq!(ok("a AND b c"), want);
}

#[test]
fn or_binds_looser_than_and() {
    assert_eq!(
        ok("a b OR c"),
        or(vec![and(vec![text("a"), text("b")]), text("c")])
    );
    assert_eq!(ok("a OR b OR c"), or(vec![text("a"), text("b"), text("c")]));
    assert_eq!(
        ok("a OR b c"),
        or(vec![text("a"), and(vec![text("b"), text("c")])])
    );
}

#[test]
fn parentheses_keep_nesting() {
    assert_eq!(
        ok("(a b) c"),
        and(vec![and(vec![text("a"), text("b")]), text("c")])
    );
    assert_eq!(
        ok("(a OR b) OR c"),
        or(vec![or(vec![text("a"), text("b")]), text("c")])
    );
    assert_eq!(
        ok("(author:alice OR author:bob) \"quarterly report\""),
        and(vec![
            or(vec![matches("author", "alice"), matches("author", "bob")]),
            text("quarterly report"),
        ])
    );
    assert_eq!(ok("a(b)c"), and(vec![text("a"), text("b"), text("c")]));
}

#[test]
fn single_element_groups_unwrap() {
    assert_eq!(ok("(a)"), text("a"));
    assert_eq!(ok("((a))"), text("a"));
    assert_eq!(ok("((a b))"), and(vec![text("a"), text("b")]));
}

#[test]
fn minus_and_not_negate() {
    assert_eq!(ok("-tag:live"), not(matches("tag", "live")));
    assert_eq!(ok("NOT tag:live"), not(matches("tag", "live")));
    assert_eq!(ok("- a"), not(text("a")));
    assert_eq!(ok("--a"), not(not(text("a"))));
    assert_eq!(ok("NOT -a"), not(not(text("a"))));
    assert_eq!(ok("-(a b)"), not(and(vec![text("a"), text("b")])));
    assert_eq!(ok("a -b"), and(vec![text("a"), not(text("b"))]));
    assert_eq!(ok("\"a\"-b"), and(vec![text("a"), not(text("b"))]));
}

#[test]
fn operator_words_are_upper_case_only() {
    assert_eq!(ok("a or b"), and(vec![text("a"), text("or"), text("b")]));
    assert_eq!(
        ok("not and Or"),
        and(vec![text("not"), text("and"), text("Or")])
    );
    assert_eq!(
        ok("ORB ANDY NOTE"),
        and(vec![text("ORB"), text("ANDY"), text("NOTE")])
    );
    assert_eq!(ok("\"OR\""), text("OR"));
    assert_eq!(ok("OR:x"), matches("or", "x"));
}

#[test]
fn keys_are_lower_cased() {
    assert_eq!(ok("Tag:Jazz"), matches("tag", "Jazz"));
    assert_eq!(ok("YEAR>=1960"), cmp("year", CmpOp::Ge, "1960"));
    assert_eq!(ok("HAS:Cover.Art"), has("cover.art"));
}

#[test]
fn match_terms_keep_globs_and_colons() {
    assert_eq!(ok("tag:jazz"), matches("tag", "jazz"));
    assert_eq!(ok("name:*.pdf"), matches("name", "*.pdf"));
    assert_eq!(
        ok("mime:application/pdf"),
        matches("mime", "application/pdf")
    );
    assert_eq!(ok("x-dc.title_2:a:b=c"), matches("x-dc.title_2", "a:b=c"));
    assert_eq!(
        ok("url:https://x.org/?a=b"),
        matches("url", "https://x.org/?a=b")
    );
    assert_eq!(ok("tag:-live"), matches("tag", "-live"));
}

#[test]
fn comparison_operators() {
    for (input, op) in [
        ("year=1960", CmpOp::Eq),
        ("year!=1960", CmpOp::Ne),
        ("year<1960", CmpOp::Lt),
        ("year<=1960", CmpOp::Le),
        ("year>1960", CmpOp::Gt),
        ("year>=1960", CmpOp::Ge),
    ] {
        assert_eq!(ok(input), cmp("year", op, "1960"), "{input}");
        assert_eq!(ok(input).to_string(), input);
    }
    assert_eq!(ok("a==b"), cmp("a", CmpOp::Eq, "=b"));
}

#[test]
fn comparison_allows_spaces_around_the_operator() {
    assert_eq!(ok("year >= 1960"), cmp("year", CmpOp::Ge, "1960"));
    assert_eq!(
        ok("year>= 1960 x"),
        and(vec![cmp("year", CmpOp::Ge, "1960"), text("x")])
    );
    assert_eq!(ok("a OR b"), or(vec![text("a"), text("b")]));
}

#[test]
fn rfc3339_values_keep_their_colons() {
    assert_eq!(
        ok("modified>=2026-01-01T10:00:00+02:00"),
        cmp("modified", CmpOp::Ge, "2026-01-01T10:00:00+02:00")
    );
}

#[test]
fn has_terms() {
    assert_eq!(ok("has:cover"), has("cover"));
    assert_eq!(ok("has:\"cover\""), has("cover"));
    assert_eq!(ok("has:-x"), has("-x"));
    assert_eq!(ok("-has:cover"), not(has("cover")));
    assert_eq!(ok("has>2"), cmp("has", CmpOp::Gt, "2"));
}

#[test]
fn quoted_phrases_and_escapes() {
    assert_eq!(ok("\"quarterly report\""), text("quarterly report"));
    assert_eq!(ok(r#""say \"hi\"""#), text("say \"hi\""));
    assert_eq!(ok(r#""back\\slash""#), text("back\\slash"));
    assert_eq!(ok(r#""C:\docs""#), text("C:\\docs"));
    assert_eq!(ok("\"\""), text(""));
    assert_eq!(ok("\"tag:jazz\""), text("tag:jazz"));
}

#[test]
fn quoted_values() {
    assert_eq!(
        ok("name:\"kind of blue*\""),
        matches("name", "kind of blue*")
    );
    assert_eq!(ok("title=\"a b\""), cmp("title", CmpOp::Eq, "a b"));
    assert_eq!(ok("title = \"a (b)\""), cmp("title", CmpOp::Eq, "a (b)"));
    assert_eq!(ok("tag:\"\""), matches("tag", ""));
}

#[test]
fn error_empty_query() {
    let want = "bad query at column 1: expected a search term, found end of query";
    assert_eq!(error(""), (0, want.into()));
    assert_eq!(error("   ").0, 3);
    assert_eq!(
        error("()"),
        (
            1,
            "bad query at column 2: expected a search term after '(', found ')'".into()
        )
    );
}

#[test]
fn error_missing_value_after_operator() {
    let want = "bad query at column 9: expected a value after 'year>=', found end of query";
    assert_eq!(error("year >= "), (8, want.into()));
    assert_eq!(error("year>="), (6, want.replace("column 9", "column 7")));
    let (at, msg) = error("year>=)");
    assert_eq!(
        (at, msg.as_str()),
        (
            6,
            "bad query at column 7: expected a value after 'year>=', found ')'"
        )
    );
}

#[test]
fn error_empty_match_value() {
    let (at, msg) = error("tag:");
    assert_eq!(
        (at, msg.as_str()),
        (
            4,
            "bad query at column 5: expected a value after 'tag:', found end of query"
        )
    );
    let (at, msg) = error("tag: jazz");
    assert_eq!(
        (at, msg.as_str()),
        (
            4,
            "bad query at column 5: expected a value after 'tag:', found whitespace"
        )
    );
}

#[test]
fn error_unbalanced_parentheses() {
    let (at, msg) = error("a (b c");
    assert_eq!(
        (at, msg.as_str()),
        (
            2,
            "bad query at column 3: expected a ')' to close this '(', found end of query"
        )
    );
    let (at, msg) = error("a b) c");
    assert_eq!(
        (at, msg.as_str()),
        (
            3,
            "bad query at column 4: expected a search term or end of query, found ')' with no matching '('"
        )
    );
}

#[test]
fn error_unterminated_quote() {
    let (at, msg) = error("a \"b c");
    assert_eq!(
        (at, msg.as_str()),
        (
            2,
            "bad query at column 3: expected a closing '\"' for this quote, found end of query"
        )
    );
    assert_eq!(error(r#"a "b\""#).0, 2);
    assert_eq!(error("name:\"x").0, 5);
}

#[test]
fn error_dangling_operators() {
    let cases = [
        ("a OR", 4, "a search term after 'OR', found end of query"),
        ("OR a", 0, "a search term, found 'OR'"),
        ("a AND", 5, "a search term after 'AND', found end of query"),
        ("a AND OR b", 6, "a search term after 'AND', found 'OR'"),
        ("a NOT", 5, "a search term after 'NOT', found end of query"),
        ("a -", 3, "a search term after '-', found end of query"),
        ("(a OR)", 5, "a search term after 'OR', found ')'"),
    ];
    for (input, at, tail) in cases {
        let (offset, msg) = error(input);
        assert_eq!(offset, at, "{input}");
        assert!(msg.ends_with(tail), "{input}: {msg}");
    }
}

#[test]
fn error_stray_colon_or_operator() {
    let (at, msg) = error("\"a\" >= 5");
    let want = "bad query at column 5: expected a search term, found '>='";
    assert_eq!((at, msg.as_str()), (4, want));
    assert_eq!(
        error("a OR >5").1,
        "bad query at column 6: expected a search term after 'OR', found '>'"
    );
    assert_eq!(
        error(":x").1,
        "bad query at column 1: expected a search term, found ':'"
    );
    assert_eq!(error("\"a b\":x").0, 5);
}

#[test]
fn error_invalid_keys() {
    let (at, msg) = error("has:a*b");
    let want = "bad query at column 5: expected a key (letters, digits, '_', '.' or '-') after \
                'has:', found 'a*b'";
    assert_eq!((at, msg.as_str()), (4, want));
    assert_eq!(error("has:").0, 4);
    assert_eq!(
        error("has:\"\"").1.rsplit("found ").next(),
        Some("an empty key")
    );
    let (at, msg) = error("x héllo:world");
    assert_eq!(at, 2);
    assert!(msg.ends_with("before ':', found 'héllo'"), "{msg}");
    assert!(error("prix€>5").1.ends_with("before '>', found 'prix€'"));
}

#[test]
fn error_offsets_count_characters_not_bytes() {
    // Five two- or three-byte characters before the error, at the end.
    let (at, msg) = error("日本語 éé (");
    assert_eq!(at, 8);
    assert_eq!(
        msg,
        "bad query at column 9: expected a search term after '(', found end of query"
    );
    assert_eq!(error("日本語 éé )").0, 7);
}

#[test]
fn error_long_tokens_are_shortened() {
    let long = "x".repeat(100);
    let msg = error(&format!("{long}é:a")).1;
    assert!(
        msg.ends_with(&format!("found '{}…'", "x".repeat(32))),
        "{msg}"
    );
}

#[test]
fn error_too_deep() {
    let deepest = format!("{}x", "-".repeat(MAX_DEPTH));
    assert_eq!(ok(&deepest).to_string().matches('-').count(), MAX_DEPTH);
    assert_eq!(parse(&ok(&deepest).to_string()), Ok(ok(&deepest)));
    let (at, msg) = error(&format!("-{deepest}"));
    assert_eq!(at, 0);
    assert!(
        msg.contains(&format!("at most {MAX_DEPTH} levels deep")),
        "{msg}"
    );

    let parens = |n: usize| format!("{}x{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(ok(&parens(MAX_NESTING)), text("x"));
    let (at, msg) = error(&parens(MAX_NESTING + 1));
    assert_eq!(at, MAX_NESTING);
    assert!(msg.contains("nested, found '('"), "{msg}");
    assert!(parse(&"(".repeat(100_000)).is_err());
    assert!(parse(&"-".repeat(100_000)).is_err());
}

#[test]
fn display_canonical_forms() {
    for (input, printed) in [
        (
            "tag:jazz  AND year >= 1960 NOT tag:live",
            "tag:jazz year>=1960 -tag:live",
        ),
        ("a b OR c", "(a b) OR c"),
        ("(a OR b) c", "(a OR b) c"),
        ("(a b) c", "(a b) c"),
        ("NOT (a b)", "-(a b)"),
        ("--a", "-(-a)"),
        ("-(a OR -b)", "-(a OR -b)"),
        ("HAS:Cover", "has:cover"),
        ("a != b", "a!=b"),
    ] {
        assert_eq!(ok(input).to_string(), printed, "{input}");
        assert_eq!(ok(printed), ok(input), "{printed}");
    }
}

#[test]
fn display_quotes_only_when_needed() {
    let t = |s: &str| Term::Text(s.into()).to_string();
    assert_eq!(t("jazz"), "jazz");
    assert_eq!(t("e-mail"), "e-mail");
    assert_eq!(t("日本"), "日本");
    assert_eq!(t("a b"), "\"a b\"");
    assert_eq!(t(""), "\"\"");
    assert_eq!(t("OR"), "\"OR\"");
    assert_eq!(t("-x"), "\"-x\"");
    assert_eq!(t("(x"), "\"(x\"");
    assert_eq!(t("tag:jazz"), "\"tag:jazz\"");
    assert_eq!(t("k>v"), "\"k>v\"");
    assert_eq!(t("a!=b"), "\"a!=b\"");
    assert_eq!(t("say \"hi\""), r#""say \"hi\"""#);
    assert_eq!(t("C:\\x"), r#""C:\\x""#);
    let m = |v: &str| {
        Term::Match {
            key: "k".into(),
            value: v.into(),
        }
        .to_string()
    };
    assert_eq!(m("kind of blue*"), "k:\"kind of blue*\"");
    assert_eq!(m("-live"), "k:-live");
    assert_eq!(m("a:b"), "k:a:b");
    assert_eq!(m(""), "k:\"\"");
    let c = |op, v: &str| {
        Term::Compare {
            key: "k".into(),
            op,
            value: v.into(),
        }
        .to_string()
    };
    assert_eq!(c(CmpOp::Gt, "=5"), "k>\"=5\"");
    assert_eq!(c(CmpOp::Ge, "-5"), "k>=-5");
    assert_eq!(c(CmpOp::Eq, "a b"), "k=\"a b\"");
}

#[test]
fn glob_matching() {
    assert!(glob_match("", ""));
    assert!(!glob_match("", "a"));
    assert!(glob_match("*", ""));
    assert!(glob_match("**", "abc"));
    assert!(glob_match("jazz", "jazz"));
    assert!(!glob_match("jazz", "Jazz"));
    assert!(glob_match("*.pdf", "a.pdf"));
    assert!(!glob_match("*.pdf", "a.pdf.txt"));
    assert!(glob_match("a*b*c", "abc"));
    assert!(glob_match("a*b*c", "aXbYbZc"));
    assert!(!glob_match("a*b*c", "acb"));
    assert!(!glob_match("ab*ba", "aba"));
    assert!(glob_match("日*語", "日本語"));
    assert!(glob_match("*é*", "café"));
    assert!(glob_match("?", "?"));
    assert!(!glob_match("?", "a"));
}

#[test]
fn glob_matching_is_linear_on_pathological_input() {
    let value = "a".repeat(20_000);
    let pattern = format!("*{}b*", "a*".repeat(5_000));
    assert!(!glob_match(&pattern, &value));
}

#[test]
fn compare_numbers() {
    assert_eq!(compare_values("9", "10"), Ordering::Less);
    assert_eq!(compare_values("-10", "-9"), Ordering::Less);
    assert_eq!(compare_values("007", "7"), Ordering::Equal);
    assert_eq!(compare_values("-0", "+0"), Ordering::Equal);
    assert_eq!(compare_values("1.5", "2"), Ordering::Less);
    assert_eq!(compare_values("1e3", "999"), Ordering::Greater);
    assert_eq!(
        compare_values(
            "123456789012345678901234567890",
            "123456789012345678901234567891"
        ),
        Ordering::Less
    );
    // Not numbers: lexical.
    assert_eq!(compare_values("inf", "1"), Ordering::Greater);
    assert_eq!(compare_values("NaN", "NaN"), Ordering::Equal);
    assert_eq!(compare_values("1e999", "2"), Ordering::Less);
}

#[test]
fn compare_dates() {
    let less = [
        ("2025-12-31T23:59:59Z", "2026"),
        ("2026", "2026-03"),
        ("2026-03", "2026-03-02"),
        ("2026-03-02", "2026-03-02T00:00:00.000000001Z"),
        ("2026-01-01T10:00:00+02:00", "2026-01-01T09:00:00Z"),
        ("1999-12-31", "2000-01-01T00:00:00-00:01"),
    ];
    for (a, b) in less {
        assert_eq!(compare_values(a, b), Ordering::Less, "{a} < {b}");
        assert_eq!(compare_values(b, a), Ordering::Greater, "{b} > {a}");
    }
    assert_eq!(compare_values("2026", "2026-01-01T00:00Z"), Ordering::Equal);
    assert_eq!(
        compare_values("2026-01-01t08:00z", "2026-01-01 10:00+02:00"),
        Ordering::Equal
    );
    // Not both dates: lexical.
    assert_eq!(compare_values("2026-02-30", "2026-02-4"), Ordering::Less);
    assert_eq!(compare_values("2026-01-01", "yesterday"), Ordering::Less);
}

#[test]
fn compare_lexically_otherwise() {
    assert_eq!(compare_values("abc", "abd"), Ordering::Less);
    assert_eq!(compare_values("b", "abc"), Ordering::Greater);
    assert_eq!(compare_values("10", "9a"), Ordering::Less);
}

#[test]
fn operators_hold() {
    use Ordering::*;
    let table = [
        (CmpOp::Eq, [false, true, false]),
        (CmpOp::Ne, [true, false, true]),
        (CmpOp::Lt, [true, false, false]),
        (CmpOp::Le, [true, true, false]),
        (CmpOp::Gt, [false, false, true]),
        (CmpOp::Ge, [false, true, true]),
    ];
    for (op, want) in table {
        assert_eq!([Less, Equal, Greater].map(|o| op.holds(o)), want, "{op}");
    }
}

#[test]
fn conjunctions_of_matches() {
    let pairs = |q: &str| ok(q).conjunction_of_matches();
    let owned = |v: &[(&str, &str)]| {
        Some(
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(pairs("tag:jazz"), owned(&[("tag", "jazz")]));
    assert_eq!(
        pairs("Tag:jazz AND year:1960"),
        owned(&[("tag", "jazz"), ("year", "1960")])
    );
    assert_eq!(
        pairs("(tag:a tag:b) c:d"),
        owned(&[("tag", "a"), ("tag", "b"), ("c", "d")])
    );
    assert_eq!(
        pairs("name:\"kind of blue\""),
        owned(&[("name", "kind of blue")])
    );
    for refused in [
        "tag:ja*",
        "tag:a OR tag:b",
        "-tag:a",
        "tag:a jazz",
        "has:tag",
        "year>=1960",
    ] {
        assert_eq!(pairs(refused), None, "{refused}");
    }
}
