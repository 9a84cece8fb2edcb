//! A small date normaliser for [`compare_values`](super::compare_values):
//! RFC 3339 timestamps and the calendar prefixes `YYYY-MM-DD`, `YYYY-MM` and
//! `YYYY`, turned into instants that compare chronologically.

/// Seconds since the Unix epoch (UTC) and nanoseconds within the second.
pub(super) type Instant = (i64, u32);

/// The instant `s` names, or `None` if it is not a date.
///
/// Accepted: `YYYY`, `YYYY-MM`, `YYYY-MM-DD` (each its first instant, UTC),
/// and `YYYY-MM-DD` + `T`/`t`/space + `HH:MM[:SS[.fraction]]` + an optional
/// `Z`/`z` or `±HH:MM` (none means UTC). Fields are range-checked, days
/// against the month (leap years included); a leap second (`:60`) counts as
/// the first second of the next minute.
pub(super) fn instant(s: &str) -> Option<Instant> {
    let b = s.as_bytes();
    let year = digits(b.get(0..4)?)?;
    let (month, day) = match b.len() {
        4 => (1, 1),
        7 => (month(b)?, 1),
        _ => {
            let month = month(b)?;
            (month, day(b, year, month)?)
        }
    };
    let (seconds, nanos, offset) = match b.get(10..) {
        None | Some([]) => (0, 0, 0),
        Some(time) => clock(time)?,
    };
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + seconds - offset, nanos))
}

/// The number `b` spells in ASCII digits (at most a few).
fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
}

/// The `-MM` after the year.
fn month(b: &[u8]) -> Option<i64> {
    if b.get(4) != Some(&b'-') {
        return None;
    }
    digits(b.get(5..7)?).filter(|m| (1..=12).contains(m))
}

/// The `-DD` after the month, checked against its length.
fn day(b: &[u8], year: i64, month: i64) -> Option<i64> {
    if b.get(7) != Some(&b'-') || b.len() < 10 {
        return None;
    }
    digits(b.get(8..10)?).filter(|d| (1..=days_in_month(year, month)).contains(d))
}

/// `THH:MM[:SS[.fff]][zone]` as (seconds of the day, nanoseconds, offset in
/// seconds east of UTC).
fn clock(b: &[u8]) -> Option<(i64, u32, i64)> {
    if !matches!(b.first()?, b'T' | b't' | b' ') || b.get(3) != Some(&b':') {
        return None;
    }
    let hour = digits(b.get(1..3)?)?;
    let minute = digits(b.get(4..6)?)?;
    let (mut second, mut nanos, mut rest) = (0, 0, &b[6..]);
    if let [b':', s1, s2, tail @ ..] = rest {
        second = digits(&[*s1, *s2])?;
        rest = tail;
        if let [b'.', tail @ ..] = rest {
            let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            nanos = fraction(&tail[..n]);
            rest = &tail[n..];
        }
    }
    let offset = zone(rest)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some((hour * 3600 + minute * 60 + second, nanos, offset))
}

/// Fractional-second digits as nanoseconds (digits past the ninth dropped).
fn fraction(b: &[u8]) -> u32 {
    (0..9).fold(0, |n, i| {
        n * 10 + b.get(i).map_or(0, |d| u32::from(d - b'0'))
    })
}

/// `""`, `Z`, `z` or `±HH:MM`, as seconds east of UTC.
fn zone(b: &[u8]) -> Option<i64> {
    match b {
        [] | [b'Z'] | [b'z'] => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2]).filter(|h| *h <= 23)?;
            let minutes = digits(&[*m1, *m2]).filter(|m| *m <= 59)?;
            let offset = hours * 3600 + minutes * 60;
            Some(if *sign == b'-' { -offset } else { offset })
        }
        _ => None,
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard
/// Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(instant("1970-01-01T00:00:01Z"), Some((1, 0)));
        assert_eq!(
            instant("2026-05-17T12:30:00.25+02:00"),
            Some((1_779_013_800, 250_000_000))
        );
    }

    #[test]
    fn accepted_and_refused_spellings() {
        for ok in [
            "2026",
            "2026-02",
            "2024-02-29",
            "2026-01-01t10:00z",
            "2026-01-01 10:00:00",
            "2026-01-01T10:00:00.123456789123-05:30",
            "2016-12-31T23:59:60Z",
        ] {
            assert!(instant(ok).is_some(), "{ok:?}");
        }
        for bad in [
            "",
            "202",
            "20261",
            "2026-1",
            "2026-13",
            "2026-00",
            "2025-02-29",
            "2026-04-31",
            "2026-01-01T",
            "2026-01-01T24:00",
            "2026-01-01T10:60",
            "2026-01-01T10:00:61",
            "2026-01-01T10:00:00.",
            "2026-01-01T10:00:00+2",
            "2026-01-01T10:00:00+24:00",
            "2026-01-01 ",
            "2026-01-01X10:00",
            "２０２６",
            "2026-01-01T10:00:00Zjunk",
        ] {
            assert_eq!(instant(bad), None, "{bad:?}");
        }
    }
}
