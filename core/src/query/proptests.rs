//! Property tests: printing round-trips, parsing never panics, and the fast
//! kernels agree with naive references.

use std::cmp::Ordering;

use proptest::prelude::*;
use proptest::sample::select;

use super::*;

/// Characters that stress the lexer: operators, quotes, escapes, spaces of
/// several kinds, and multi-byte letters.
const TRICKY: &str = "[a-cA-C0-9 \t\"\\\\()*:<>=!._é日\u{a0}\u{85}-]{0,8}";

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        TRICKY,
        select(vec![
            "OR", "AND", "NOT", "has", "-", "", "a:b", "k>v", "x!=y"
        ])
        .prop_map(String::from),
        any::<String>(),
    ]
}

/// Keys the parser can produce for `key:value` and `key op value`: lower
/// case, not starting with `-` (that would be a negation).
fn arb_key() -> impl Strategy<Value = String> {
    "[a-z0-9_.][a-z0-9_.-]{0,6}"
}

fn arb_op() -> impl Strategy<Value = CmpOp> {
    select(vec![
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ])
}

fn arb_term() -> impl Strategy<Value = Term> {
    prop_oneof![
        (
            arb_key().prop_filter("has: is its own term", |k| k != "has"),
            arb_text()
        )
            .prop_map(|(key, value)| Term::Match { key, value }),
        (arb_key(), arb_op(), arb_text()).prop_map(|(key, op, value)| Term::Compare {
            key,
            op,
            value
        }),
        "[a-z0-9_.-]{1,6}".prop_map(|key| Term::Has { key }),
        arb_text().prop_map(Term::Text),
    ]
}

/// Normalised queries: every `And`/`Or` has at least two children.
fn arb_query() -> impl Strategy<Value = Query> {
    arb_term()
        .prop_map(Query::Term)
        .prop_recursive(5, 48, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..5).prop_map(Query::And),
                prop::collection::vec(inner.clone(), 2..5).prop_map(Query::Or),
                inner.prop_map(|q| Query::Not(Box::new(q))),
            ]
        })
}

/// Query-ish strings built from fragments that matter to the grammar.
fn arb_input() -> impl Strategy<Value = String> {
    let fragments = vec![
        "a",
        "B",
        "é",
        "日",
        "OR",
        "AND",
        "NOT",
        "has:",
        "tag:",
        "year",
        ">=",
        "<",
        "!=",
        "=",
        "-",
        "(",
        ")",
        "\"",
        "\\",
        " ",
        "\t",
        "\u{a0}",
        ":",
        "*",
        "x y",
        "1960",
        "2026-01-01T10:00Z",
    ];
    prop_oneof![
        any::<String>(),
        TRICKY.prop_map(String::from),
        prop::collection::vec(select(fragments), 0..16).prop_map(|v| v.concat()),
    ]
}

/// A glob matcher by the definition, exponential in the worst case.
fn naive_glob(pattern: &[char], value: &[char]) -> bool {
    match pattern.split_first() {
        None => value.is_empty(),
        Some(('*', rest)) => (0..=value.len()).any(|i| naive_glob(rest, &value[i..])),
        Some((c, rest)) => value.first() == Some(c) && naive_glob(rest, &value[1..]),
    }
}

fn naive_is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Seconds from 0000-01-01T00:00Z by counting whole years and months.
fn naive_seconds(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, offset_min: i64) -> i64 {
    let month_len = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut days: i64 = (0..y)
        .map(|y| if naive_is_leap(y) { 366 } else { 365 })
        .sum();
    days += month_len[..(mo - 1) as usize].iter().sum::<i64>();
    if mo > 2 && naive_is_leap(y) {
        days += 1;
    }
    days += d - 1;
    days * 86_400 + h * 3600 + mi * 60 + s - offset_min * 60
}

type Stamp = (i64, i64, i64, i64, i64, i64, i64);

fn arb_stamp() -> impl Strategy<Value = Stamp> {
    (
        0i64..10_000,
        1i64..=12,
        1i64..=28,
        0i64..24,
        0i64..60,
        0i64..60,
        -1439i64..=1439,
    )
}

fn rfc3339((y, mo, d, h, mi, s, off): Stamp) -> String {
    let zone = match off {
        0 => "Z".to_string(),
        _ => format!(
            "{}{:02}:{:02}",
            if off < 0 { '-' } else { '+' },
            off.abs() / 60,
            off.abs() % 60
        ),
    };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{zone}")
}

proptest! {
    #[test]
    fn printed_ast_parses_back(q in arb_query()) {
        let printed = q.to_string();
        prop_assert_eq!(parse(&printed), Ok(q), "printed as {}", printed);
    }

    #[test]
    fn any_input_never_panics_and_round_trips(input in arb_input()) {
        match parse(&input) {
            Ok(q) => {
                let printed = q.to_string();
                prop_assert_eq!(parse(&printed), Ok(q), "printed as {}", printed);
            }
            Err(e) => prop_assert!(e.offset <= input.chars().count(), "{:?}", e),
        }
    }

    #[test]
    fn glob_agrees_with_naive(pattern in "[ab*é]{0,8}", value in "[abé]{0,10}") {
        let p: Vec<char> = pattern.chars().collect();
        let v: Vec<char> = value.chars().collect();
        prop_assert_eq!(glob_match(&pattern, &value), naive_glob(&p, &v));
    }

    #[test]
    fn literal_glob_is_equality(a in "[ab]{0,4}", b in "[ab]{0,4}") {
        prop_assert_eq!(glob_match(&a, &b), a == b);
    }

    #[test]
    fn integers_compare_numerically(a in any::<i64>(), b in any::<i64>(), pad in 0usize..3) {
        let zeros = "0".repeat(pad);
        let show = |n: i64| if n < 0 { format!("-{zeros}{}", n.unsigned_abs()) } else { format!("{zeros}{n}") };
        prop_assert_eq!(compare_values(&show(a), &show(b)), a.cmp(&b));
    }

    #[test]
    fn floats_compare_numerically(a in -1e6f64..1e6, b in -1e6f64..1e6) {
        let ord = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
        prop_assert_eq!(compare_values(&a.to_string(), &b.to_string()), ord);
    }

    #[test]
    fn timestamps_compare_chronologically(a in arb_stamp(), b in arb_stamp()) {
        let (sa, sb) = (rfc3339(a), rfc3339(b));
        let want = naive_seconds(a.0, a.1, a.2, a.3, a.4, a.5, a.6)
            .cmp(&naive_seconds(b.0, b.1, b.2, b.3, b.4, b.5, b.6));
        prop_assert_eq!(compare_values(&sa, &sb), want, "{} vs {}", sa, sb);
    }

    #[test]
    fn compare_is_antisymmetric(a in TRICKY, b in TRICKY) {
        prop_assert_eq!(compare_values(&a, &b), compare_values(&b, &a).reverse());
    }
}
