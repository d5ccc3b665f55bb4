//! Timestamp parsing for the hot path: RFC 3339 (`2026-11-27T06:54:04.123Z`),
//! the access-log `$time_local` form (`27/Nov/2026:06:54:04 +0000`) and epoch
//! numbers, all to milliseconds since the Unix epoch, without allocation.
//!
//! Consecutive log lines mostly share the same second, so [`TimeParser`]
//! remembers the last RFC 3339 date-time-through-seconds it converted and
//! only parses the fraction when the prefix repeats, and the last access-log
//! time whole.

use super::number as scalar;

/// Milliseconds since the Unix epoch, UTC.
pub type EpochMillis = i64;

/// Milliseconds in a (UTC) day.
pub const DAY_MS: i64 = 86_400_000;

/// Converts timestamps, caching the last whole second it saw.
///
/// One per worker thread; cheap to create.
#[derive(Debug, Default)]
pub struct TimeParser {
    /// The date-time through seconds and the UTC offset of the last RFC
    /// 3339 conversion (see [`second_key`]), and its whole seconds since
    /// the epoch; `None` before the first.
    last_second: Option<(SecondKey, i64)>,
    /// The last `$time_local` text converted, whole (see [`window_key`]),
    /// and its result: consecutive access-log lines mostly repeat it.
    last_clf: Option<(WindowKey, EpochMillis)>,
}

const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

impl TimeParser {
    /// Parses a timestamp string in any supported text form: RFC 3339 (with
    /// `T` or a space, optional fraction, `Z`/offset, or no offset meaning
    /// UTC) or `dd/Mon/yyyy:HH:MM:SS ±hhmm`. Digit-only strings are taken as
    /// epoch numbers (see [`epoch_number`]).
    ///
    /// Returns `None` for anything else, including impossible dates.
    pub fn parse_text(&mut self, text: &[u8]) -> Option<EpochMillis> {
        match text.get(2) {
            Some(b'/') => self.parse_clf(text),
            _ if text.get(4) == Some(&b'-') => self.parse_rfc3339(text),
            _ => epoch_number(text),
        }
    }

    /// `dd/Mon/yyyy:HH:MM:SS ±hhmm` (26 bytes; the offset may be missing).
    pub fn parse_clf(&mut self, text: &[u8]) -> Option<EpochMillis> {
        let key = window_key(text);
        if let (Some(key), Some((last, millis))) = (key, self.last_clf)
            && key == last
        {
            return Some(millis);
        }
        let millis = parse_clf_uncached(text)?;
        self.last_clf = key.map(|key| (key, millis));
        Some(millis)
    }

    /// RFC 3339 / ISO 8601: `yyyy-mm-ddTHH:MM:SS[.fff…][Z|±hh:mm|±hhmm]`.
    pub fn parse_rfc3339(&mut self, text: &[u8]) -> Option<EpochMillis> {
        if let Some(millis) = self.usual_form_in_last_second(text) {
            return Some(millis);
        }
        if text.len() < 19 || text[4] != b'-' || text[7] != b'-' {
            return None;
        }
        if !matches!(text[10], b'T' | b't' | b' ') {
            return None;
        }
        let mut rest = &text[19..];
        let mut millis = 0i64;
        if let [b'.' | b',', tail @ ..] = rest {
            let n = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            for i in 0..3 {
                millis = millis * 10 + tail.get(i).filter(|_| i < n).map_or(0, |d| i64::from(d - b'0'));
            }
            rest = &tail[n..];
        }
        let offset = match rest {
            [] | [b'Z' | b'z'] => &[][..],
            [b'+' | b'-', ..] => rest,
            _ => return None,
        };
        let seconds = match self.cached(text, offset) {
            Some(seconds) => seconds,
            None => {
                let year = digits(&text[0..4])?;
                let month = digits(&text[5..7])?;
                let day = digits(&text[8..10])?;
                let seconds = civil_seconds(year as i64, month, day, &text[11..19], b':')? - offset_seconds(offset)?;
                self.remember(text, offset, seconds);
                seconds
            }
        };
        Some(seconds * 1000 + millis)
    }

    /// The usual `yyyy-mm-ddTHH:MM:SS.mmmZ` within the second converted
    /// last: the cache's key compared and three digits read, where the
    /// general parse walks the fraction first.
    #[inline]
    fn usual_form_in_last_second(&self, text: &[u8]) -> Option<EpochMillis> {
        if text.len() != 24 || text[19] != b'.' || text[23] != b'Z' {
            return None;
        }
        let seconds = self.cached(text, &[])?;
        let digit = |i: usize| Some(i64::from(text[i].wrapping_sub(b'0'))).filter(|&d| d <= 9);
        Some(seconds * 1000 + digit(20)? * 100 + digit(21)? * 10 + digit(22)?)
    }

    /// The seconds of `text`'s first 19 bytes with `offset`, if they are
    /// those converted last.
    fn cached(&self, text: &[u8], offset: &[u8]) -> Option<i64> {
        let (key, seconds) = self.last_second?;
        (second_key(text, offset)? == key).then_some(seconds)
    }

    fn remember(&mut self, text: &[u8], offset: &[u8], seconds: i64) {
        self.last_second = second_key(text, offset).map(|key| (key, seconds));
    }
}

/// The first 19 bytes of an RFC 3339 text (through the seconds) as the
/// 16-byte word at 0 and the 4-byte word at 15, and a UTC offset of at
/// most 6 bytes packed with its length: a cache hit is three integer
/// comparisons.
type SecondKey = (u128, u32, u64);

/// The key of `text` with `offset`; `None` for a text of fewer than 19
/// bytes or an offset of more than 6.
fn second_key(text: &[u8], offset: &[u8]) -> Option<SecondKey> {
    if offset.len() > 6 {
        return None;
    }
    let head = u128::from_le_bytes(text.get(..16)?.try_into().ok()?);
    let tail = u32::from_le_bytes(text.get(15..19)?.try_into().ok()?);
    let offset = offset.iter().fold(offset.len() as u64, |acc, &b| acc << 8 | u64::from(b));
    Some((head, tail, offset))
}

/// [`TimeParser::parse_clf`] without the cache.
fn parse_clf_uncached(text: &[u8]) -> Option<EpochMillis> {
    if text.len() < 20 || text[2] != b'/' || text[6] != b'/' || text[11] != b':' {
        return None;
    }
    let offset = match &text[20..] {
        [] => &[][..],
        [b' ', offset @ ..] => offset,
        _ => return None,
    };
    let day = digits(&text[0..2])?;
    let month = MONTHS.iter().position(|m| m[..] == text[3..6])? as u32 + 1;
    let year = digits(&text[7..11])?;
    let seconds = civil_seconds(year as i64, month, day, &text[12..20], b':')? - offset_seconds(offset)?;
    Some(seconds * 1000)
}

/// A text of 16 to 32 bytes as its first and last 16 bytes and its length,
/// which between them hold every byte: equal keys are equal texts, told
/// apart in three integer comparisons. `None` for other lengths.
type WindowKey = (u128, u128, usize);

fn window_key(text: &[u8]) -> Option<WindowKey> {
    let len = text.len();
    if !(16..=32).contains(&len) {
        return None;
    }
    let word = |bytes: &[u8]| u128::from_le_bytes(bytes.try_into().expect("16 bytes"));
    Some((word(&text[..16]), word(&text[len - 16..]), len))
}

/// An epoch number as text: seconds (`1795762444`, `1795762444.123`) or,
/// when the integer part has 12 digits or more, milliseconds.
///
/// Years outside 1970–9999 give `None`.
pub fn epoch_number(text: &[u8]) -> Option<EpochMillis> {
    let int_digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    let millis = match int_digits {
        // Nanoseconds (OpenTelemetry's `timeUnixNano`), microseconds.
        18.. => (scalar::parse_scaled(text, 0)? / 1_000_000) as i64,
        15..=17 => (scalar::parse_scaled(text, 0)? / 1_000) as i64,
        12..=14 => scalar::parse_scaled(text, 0)? as i64,
        _ => scalar::parse_scaled(text, 3)? as i64,
    };
    (0..=MAX_EPOCH_MILLIS).contains(&millis).then_some(millis)
}

/// 9999-12-31T23:59:59.999Z.
const MAX_EPOCH_MILLIS: i64 = 253_402_300_799_999;

/// Seconds since the epoch of a civil date and `HH:MM:SS` time.
fn civil_seconds(year: i64, month: u32, day: u32, hms: &[u8], sep: u8) -> Option<i64> {
    if hms[2] != sep || hms[5] != sep {
        return None;
    }
    let (hour, minute, second) = (digits(&hms[0..2])?, digits(&hms[3..5])?, digits(&hms[6..8])?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second))
}

/// `+hh:mm`, `+hhmm`, `-hh`, or empty (UTC), as seconds east of UTC.
fn offset_seconds(offset: &[u8]) -> Option<i64> {
    let (sign, rest) = match offset {
        [] => return Some(0),
        [b'+', rest @ ..] => (1, rest),
        [b'-', rest @ ..] => (-1, rest),
        _ => return None,
    };
    let (hours, minutes) = match rest {
        [h1, h2] => (digits(&[*h1, *h2])?, 0),
        [h1, h2, m1, m2] | [h1, h2, b':', m1, m2] => (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?),
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * i64::from(hours * 3600 + minutes * 60))
}

fn digits(text: &[u8]) -> Option<u32> {
    text.iter().try_fold(0u32, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0')))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Formats epoch milliseconds as RFC 3339 UTC (`2026-11-27T06:54:04.123Z`).
pub fn format_rfc3339(millis: EpochMillis) -> String {
    match jiff::Timestamp::from_millisecond(millis) {
        Ok(ts) => format!("{ts:.3}"),
        Err(_) => millis.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The same conversion by jiff, as a reference for the fast path.
    fn reference(text: &str) -> Option<i64> {
        let ts = if text.as_bytes()[2] == b'/' {
            jiff::Timestamp::strptime("%d/%b/%Y:%H:%M:%S %z", text).ok()?
        } else {
            text.parse::<jiff::Timestamp>().ok()?
        };
        Some(ts.as_millisecond())
    }

    #[test]
    fn known_values() {
        let mut p = TimeParser::default();
        assert_eq!(p.parse_text(b"10/Oct/2000:13:55:36 -0700"), Some(971_211_336_000));
        assert_eq!(p.parse_text(b"2000-10-10T13:55:36.123-07:00"), Some(971_211_336_123));
        assert_eq!(p.parse_text(b"2000-10-10T20:55:36Z"), Some(971_211_336_000));
        assert_eq!(p.parse_text(b"2000-10-10 20:55:36"), Some(971_211_336_000));
        assert_eq!(p.parse_text(b"2000-10-10T22:55:36.5+0200"), Some(971_211_336_500));
        assert_eq!(p.parse_text(b"971211336"), Some(971_211_336_000));
        assert_eq!(p.parse_text(b"971211336.25"), Some(971_211_336_250));
        assert_eq!(p.parse_text(b"971211336123"), Some(971_211_336_123));
        assert_eq!(p.parse_text(b"1970-01-01T00:00:00Z"), Some(0));
    }

    #[test]
    fn rejects_impossible_dates() {
        let mut p = TimeParser::default();
        for bad in [
            &b"2023-02-29T00:00:00Z"[..],
            b"2024-13-01T00:00:00Z",
            b"2024-01-01T24:00:00Z",
            b"32/Jan/2024:00:00:00 +0000",
            b"01/Foo/2024:00:00:00 +0000",
            b"2024-01-01T00:00:00+25:00",
            b"2024-01-01T00:00:00.Z",
            b"2024-01-01X00:00:00Z",
            b"",
            b"-",
            b"tomorrow",
        ] {
            assert_eq!(p.parse_text(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn cache_does_not_leak_between_offsets() {
        let mut p = TimeParser::default();
        assert_eq!(p.parse_text(b"10/Oct/2000:13:55:36 -0700"), Some(971_211_336_000));
        assert_eq!(p.parse_text(b"10/Oct/2000:13:55:36 +0000"), Some(971_186_136_000));
        assert_eq!(p.parse_text(b"10/Oct/2000:13:55:36 -0700"), Some(971_211_336_000));
    }

    #[test]
    fn cache_tells_neighbouring_seconds_apart() {
        let mut p = TimeParser::default();
        let later = p.parse_text(b"2026-11-27T00:00:07.925Z").unwrap();
        let earlier = p.parse_text(b"2026-11-27T00:00:06.925Z").unwrap();
        assert_eq!(later - earlier, 1000);
        let later = p.parse_text(b"27/Nov/2026:00:00:07 +0000").unwrap();
        let earlier = p.parse_text(b"27/Nov/2026:00:00:06 +0000").unwrap();
        assert_eq!(later - earlier, 1000);
    }

    #[test]
    fn formats_utc_with_millis() {
        assert_eq!(format_rfc3339(971_211_336_123), "2000-10-10T20:55:36.123Z");
    }

    proptest! {
        #[test]
        fn matches_jiff_on_rfc3339(secs in -86_400i64..253_300_000_000, millis in 0i64..1000, off in -1439i32..1440) {
            let ts = jiff::Timestamp::from_second(secs).unwrap()
                + jiff::SignedDuration::from_millis(millis);
            let offset = jiff::tz::Offset::from_seconds(off * 60).unwrap();
            let text = ts.display_with_offset(offset).to_string();
            let mut p = TimeParser::default();
            prop_assert_eq!(p.parse_text(text.as_bytes()), reference(&text));
            prop_assert_eq!(p.parse_text(text.as_bytes()), Some(secs * 1000 + millis));
        }

        #[test]
        fn matches_jiff_on_clf(secs in -86_400i64..253_300_000_000, off in -1439i32..1440) {
            let ts = jiff::Timestamp::from_second(secs).unwrap();
            let offset = jiff::tz::Offset::from_seconds(off * 60).unwrap();
            let (sign, abs) = if off < 0 { ('-', -off) } else { ('+', off) };
            let civil = offset.to_datetime(ts).strftime("%d/%b/%Y:%H:%M:%S");
            let text = format!("{civil} {sign}{:02}{:02}", abs / 60, abs % 60);
            let mut p = TimeParser::default();
            prop_assert_eq!(p.parse_text(text.as_bytes()), reference(&text));
            prop_assert_eq!(p.parse_text(text.as_bytes()), Some(secs * 1000));
        }

        #[test]
        fn one_parser_over_rfc3339_runs_reads_each_as_a_fresh_one(
            texts in proptest::collection::vec(
                (0u32..3, 0u32..1000, prop::sample::select(vec!["Z", "Z", "z", "", "+01:00", "5Z", "x"])), 1..40)
        ) {
            // Runs of one second in the usual form, with other forms of
            // the same and other seconds in between.
            let mut parser = TimeParser::default();
            for (second, millis, end) in texts {
                let text = format!("2026-11-27T06:54:0{second}.{millis:03}{end}");
                let fresh = TimeParser::default().parse_rfc3339(text.as_bytes());
                prop_assert_eq!(parser.parse_rfc3339(text.as_bytes()), fresh, "{}", text);
            }
        }

        #[test]
        fn one_parser_over_many_lines_reads_each_as_a_fresh_one(
            texts in proptest::collection::vec((0usize..4, 0i64..3, prop::sample::select(vec!["+0000", "+0100", ""])), 1..40)
        ) {
            // Few distinct texts, in runs, as access logs have them: the
            // cache is hit, missed and hit again.
            let mut parser = TimeParser::default();
            for (day, second, offset) in texts {
                let text = format!("{:02}/Nov/2026:06:54:0{second}{}{offset}", 26 + day, if offset.is_empty() { "" } else { " " });
                let fresh = parse_clf_uncached(text.as_bytes());
                prop_assert!(fresh.is_some(), "{}", text);
                prop_assert_eq!(parser.parse_clf(text.as_bytes()), fresh, "{}", text);
            }
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut p = TimeParser::default();
            let _ = p.parse_text(&bytes);
        }
    }
}
