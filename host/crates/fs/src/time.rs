//! The one clock jrt reads for what it records (receipts, caches, the plugin catalog), and RFC
//! 3339 timestamps (`2026-11-30T12:00:00Z`) for registry.json's `updated_at` and `expires`,
//! without a calendar crate: the civil-date arithmetic is a few lines.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now (0 on a clock set before 1970).
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// [`now_unix`] as the signed seconds [`format`] and [`parse`] use.
pub fn now() -> i64 {
    i64::try_from(now_unix()).unwrap_or(i64::MAX)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2026-11-30T12:00:00Z` for a Unix time.
pub fn format(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` (or a bare date, meaning its midnight UTC)
/// into a Unix time.
pub fn parse(text: &str) -> Option<i64> {
    let t = text.trim();
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, rest) = match t.split_once(['T', 't', ' ']) {
        Some((d, r)) => (d, Some(r)),
        None => (t, None),
    };
    let mut dp = date.split('-');
    let (y, m, d) = (num(dp.next()?)?, num(dp.next()?)?, num(dp.next()?)?);
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86400;
    if let Some(rest) = rest {
        let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
            (c, 0)
        } else {
            let at = rest.rfind(['+', '-'])?;
            let (c, o) = rest.split_at(at);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = o[1..].split_once(':')?;
            (c, sign * (num(oh)? * 3600 + num(om)? * 60))
        };
        let clock = clock.split('.').next()?;
        let mut cp = clock.split(':');
        let (h, mi, s) = (num(cp.next()?)?, num(cp.next()?)?, num(cp.next()?)?);
        if cp.next().is_some() || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        secs += h * 3600 + mi * 60 + s - offset;
    }
    Some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_known_dates() {
        assert_eq!(format(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse("2000-03-01T00:00:00Z"), Some(951868800));
        assert_eq!(format(951868800), "2000-03-01T00:00:00Z");
        assert_eq!(parse("2025-12-02T17:41:41Z"), Some(1764697301));
        assert_eq!(parse("2025-12-02T19:41:41+02:00"), Some(1764697301));
        assert_eq!(parse("2025-12-02T17:41:41.123Z"), Some(1764697301));
        assert_eq!(parse("2025-12-02"), Some(1764633600));
        for t in [0, 951868800, 1764697301, 4102444800] {
            assert_eq!(parse(&format(t)), Some(t));
        }
        for bad in [
            "",
            "2025-13-01",
            "yesterday",
            "2025-12-02T25:00:00Z",
            "2025-12-02T10:00",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
