//! Restricting a scan: a time window and HTTP statuses select requests
//! (the others are counted as filtered), code patterns select the codes a
//! report shows.

use crate::lex::number::parse_status;
use crate::lex::time::{DAY_MS, EpochMillis, TimeParser, format_rfc3339};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::record::Record;

/// Which requests and codes count. The default keeps everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Requests at or after this time (inclusive).
    pub since: Option<EpochMillis>,
    /// Requests before this time (exclusive).
    pub until: Option<EpochMillis>,
    /// Requests with one of these statuses; empty keeps all.
    pub statuses: Vec<StatusPattern>,
    /// Codes matching one of these patterns; empty keeps all.
    pub codes: Vec<CodePattern>,
}

/// A time as typed after `--since`/`--until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSpec {
    /// An RFC 3339 time, or a date alone (`2026-11-27`: its 00:00 UTC).
    At(EpochMillis),
    /// `2h`, `30m`, `45s`, `1d`: that long before the newest record.
    Ago(i64),
    /// `yesterday`: the start (00:00 UTC) of the day before the newest
    /// record's day. As `--since` of a scan without `--until`, the window
    /// ends where that day ends ([`batch_window`]).
    Yesterday,
    /// `14:05`: the latest such time (UTC) at or before the newest record.
    TimeOfDay(i64),
}

impl TimeSpec {
    /// Parses `2026-11-27T14:05:00Z`, `2026-11-27`, `2h`, `30m`, `45s`,
    /// `1d`, `yesterday` or `14:05`.
    ///
    /// # Errors
    ///
    /// For anything else, with a message listing the accepted forms.
    pub fn parse(text: &str) -> Result<TimeSpec, Error> {
        let error = || {
            Error::invalid_value(
                text,
                "is not a time: use RFC 3339 (2026-11-27T14:05:00Z), a date (2026-11-27, its 00:00 UTC), a duration back from the newest record (2h, 30m, 45s, 1d), yesterday, or HH:MM",
            )
        };
        if text == "yesterday" {
            return Ok(TimeSpec::Yesterday);
        }
        if let Some(ms) = parse_date(text).or_else(|| TimeParser::default().parse_rfc3339(text.as_bytes())) {
            return Ok(TimeSpec::At(ms));
        }
        if let Some((h, m)) = text.split_once(':') {
            let (h, m): (i64, i64) = (h.parse().map_err(|_| error())?, m.parse().map_err(|_| error())?);
            return if (0..24).contains(&h) && (0..60).contains(&m) && text.len() <= 5 {
                Ok(TimeSpec::TimeOfDay((h * 60 + m) * 60_000))
            } else {
                Err(error())
            };
        }
        // A bare number is no time: seconds ago, or since the epoch?
        if is_bare_number(text) {
            return Err(error());
        }
        parse_duration(text).map(TimeSpec::Ago).map_err(|_| error())
    }

    /// Whether the time depends on the newest record.
    pub fn is_relative(self) -> bool {
        !matches!(self, TimeSpec::At(_))
    }

    /// The time, given the newest record's time.
    pub fn resolve(self, newest: EpochMillis) -> EpochMillis {
        let day_start = newest - newest.rem_euclid(DAY_MS);
        match self {
            TimeSpec::At(ms) => ms,
            TimeSpec::Ago(ms) => newest - ms,
            TimeSpec::Yesterday => day_start - DAY_MS,
            TimeSpec::TimeOfDay(ms) if day_start + ms > newest => day_start + ms - DAY_MS,
            TimeSpec::TimeOfDay(ms) => day_start + ms,
        }
    }
}

/// A scan's window: [`resolve_window`], where `--since yesterday` without
/// `--until` ends where yesterday ends (at the newest record's 00:00). A
/// followed window stays open: what arrives is today's.
///
/// # Errors
///
/// When `since` is not before `until`: the window could select nothing.
pub fn batch_window(
    since: Option<TimeSpec>,
    until: Option<TimeSpec>,
    newest: EpochMillis,
) -> Result<(Option<EpochMillis>, Option<EpochMillis>), Error> {
    let yesterday_ends = (since == Some(TimeSpec::Yesterday)).then_some(TimeSpec::TimeOfDay(0));
    resolve_window(since, until.or(yesterday_ends), newest)
}

/// `--since` and `--until` resolved against `newest` (the newest record,
/// or now while following) into `[since, until)`.
///
/// # Errors
///
/// When `since` is not before `until`: the window could select nothing.
pub fn resolve_window(
    since: Option<TimeSpec>,
    until: Option<TimeSpec>,
    newest: EpochMillis,
) -> Result<(Option<EpochMillis>, Option<EpochMillis>), Error> {
    let start = since.map(|t| t.resolve(newest));
    let end = until.map(|t| t.resolve(newest));
    match (start, end) {
        (Some(start), Some(end)) if start >= end => {
            Err(Error::EmptyWindow { since: format_rfc3339(start), until: format_rfc3339(end) })
        }
        window => Ok(window),
    }
}

/// `2026-11-27`: that day's 00:00 UTC.
fn parse_date(text: &str) -> Option<EpochMillis> {
    let bytes = text.as_bytes();
    let date_shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() });
    date_shaped.then(|| TimeParser::default().parse_rfc3339(format!("{text}T00:00:00Z").as_bytes()))?
}

/// `500ms`, `45s`, `1.5s`, `30m`, `2h`, `1d` in milliseconds; a bare
/// number is seconds, as in `watch -n 1` or `watch -n 0.5`.
///
/// # Errors
///
/// For anything else, or a duration under a millisecond.
pub fn parse_duration(text: &str) -> Result<i64, Error> {
    let error =
        || Error::invalid_value(text, "is not a duration like 500ms, 45s, 30m, 2h or 1d (a bare number is seconds)");
    let (number, unit) = match text.strip_suffix("ms") {
        Some(number) => (number, 1),
        None if is_bare_number(text) => (text, 1_000),
        None => match text.chars().last() {
            Some('s') => (&text[..text.len() - 1], 1_000),
            Some('m') => (&text[..text.len() - 1], 60_000),
            Some('h') => (&text[..text.len() - 1], 3_600_000),
            Some('d') => (&text[..text.len() - 1], DAY_MS),
            _ => return Err(error()),
        },
    };
    if !is_bare_number(number) {
        return Err(error());
    }
    let amount: f64 = number.parse().map_err(|_| error())?;
    let ms = (amount * unit as f64).round();
    if ms < 1.0 {
        return Err(Error::invalid_value(text, "is shorter than a millisecond: give a longer duration"));
    }
    Ok(if ms >= i64::MAX as f64 { i64::MAX } else { ms as i64 })
}

/// Digits and decimal points only: `90`, `0.5` (whether it parses is
/// for the caller to find).
fn is_bare_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// `400`, or a class such as `4xx`; stored as that text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum StatusPattern {
    /// One status.
    Exact(u16),
    /// A class: `4` for `4xx`.
    Class(u16),
}

/// A code or a glob over codes: `*` any run of characters, `?` one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CodePattern(String);

impl TryFrom<String> for StatusPattern {
    type Error = Error;

    fn try_from(text: String) -> Result<Self, Error> {
        StatusPattern::parse(&text)
    }
}

impl From<StatusPattern> for String {
    fn from(pattern: StatusPattern) -> String {
        pattern.to_string()
    }
}

impl fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusPattern::Exact(status) => write!(f, "{status}"),
            StatusPattern::Class(class) => write!(f, "{class}xx"),
        }
    }
}

impl fmt::Display for CodePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StatusPattern {
    /// Parses `404`, `4xx` or `4XX`.
    ///
    /// # Errors
    ///
    /// For anything else, with a message saying what is expected.
    pub fn parse(text: &str) -> Result<StatusPattern, Error> {
        let bytes = text.as_bytes();
        match bytes {
            [d @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => Ok(StatusPattern::Class(u16::from(d - b'0'))),
            _ => parse_status(bytes)
                .map(StatusPattern::Exact)
                .ok_or_else(|| Error::invalid_value(text, "is not a status like 404 or a class like 4xx")),
        }
    }

    fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Exact(s) => s == status,
            StatusPattern::Class(class) => status / 100 == class,
        }
    }
}

impl CodePattern {
    /// A pattern, taken as it is; codes are case-sensitive. [`parse`]
    /// checks a pattern typed by a user.
    ///
    /// [`parse`]: CodePattern::parse
    pub fn new(pattern: &str) -> CodePattern {
        CodePattern(pattern.to_owned())
    }

    /// Parses `--code`: a code (`CTS.0003`) or a glob over codes with `*`
    /// and `?` (`CTS.02*`).
    ///
    /// # Errors
    ///
    /// For an empty pattern, and for characters that no code holds (a
    /// code is ASCII letters, digits and `._-:`) or that other globs give
    /// a meaning this one lacks (`[…]`, `{…}`), so that a pattern never
    /// silently matches nothing.
    pub fn parse(text: &str) -> Result<CodePattern, Error> {
        let error = |why: String| {
            Error::invalid_value(
                text,
                format!(
                    "is not a code pattern: {why}; give a code (CTS.0003) or a glob with * and ? (CTS.02*), and repeat --code for several"
                ),
            )
        };
        if text.is_empty() {
            return Err(error("it is empty".to_owned()));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '*' | '?');
        match text.chars().find(|&c| !allowed(c)) {
            Some('[' | ']') => Err(error("character classes ([...]) are not supported".to_owned())),
            Some('{' | '}') => Err(error("alternatives ({a,b}) are not supported".to_owned())),
            Some(c) => Err(error(format!("{c:?} does not occur in error codes"))),
            None => Ok(CodePattern::new(text)),
        }
    }

    /// Whether `code` matches.
    pub fn matches(&self, code: &str) -> bool {
        glob(self.0.as_bytes(), code.as_bytes())
    }
}

/// A filter setting as `merge` and `diff` name it, and its value (`none`
/// when not given).
pub type Setting = (&'static str, String);

/// The settings of a filter, given with its times already written out
/// (RFC 3339): what states and reports must share to be merged or
/// compared.
pub fn settings(
    since: Option<String>,
    until: Option<String>,
    statuses: &[StatusPattern],
    codes: &[CodePattern],
) -> [Setting; 4] {
    let list = |items: Vec<String>| if items.is_empty() { "none".to_owned() } else { items.join(",") };
    [
        ("--since", since.unwrap_or_else(|| "none".to_owned())),
        ("--until", until.unwrap_or_else(|| "none".to_owned())),
        ("--status", list(statuses.iter().map(ToString::to_string).collect())),
        ("--code", list(codes.iter().map(ToString::to_string).collect())),
    ]
}

/// The first setting whose values differ: its name, the value in `a`,
/// the value in `b`.
pub fn first_difference(
    a: impl IntoIterator<Item = Setting>,
    b: impl IntoIterator<Item = Setting>,
) -> Option<(&'static str, String, String)> {
    a.into_iter().zip(b).find(|((_, x), (_, y))| x != y).map(|((name, x), (_, y))| (name, x, y))
}

impl Filter {
    /// The settings `merge` compares (see [`settings`]).
    pub fn settings(&self) -> [Setting; 4] {
        settings(self.since.map(format_rfc3339), self.until.map(format_rfc3339), &self.statuses, &self.codes)
    }

    /// Whether the request counts; a request without a time or status is
    /// kept only when no window or status filter is set.
    pub fn keeps(&self, record: &Record<'_>) -> bool {
        let in_window = match (self.since, self.until, record.time) {
            (None, None, _) => true,
            (_, _, None) => false,
            (since, until, Some(t)) => since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u),
        };
        in_window
            && (self.statuses.is_empty() || record.status.is_some_and(|s| self.statuses.iter().any(|p| p.matches(s))))
    }

    /// Whether any part of the filter is set.
    pub fn is_set(&self) -> bool {
        *self != Filter::default()
    }

    /// Whether the report shows `code`.
    pub fn shows_code(&self, code: &str) -> bool {
        self.codes.is_empty() || self.codes.iter().any(|p| p.matches(code))
    }
}

/// `*` and `?` globbing, iterative with one backtrack point.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let p = CodePattern::new("CTS.02*");
        assert!(p.matches("CTS.0201") && p.matches("CTS.02") && !p.matches("CTS.0301") && !p.matches("cts.0201"));
        assert!(CodePattern::new("*.0301").matches("APIGW.0301"));
        assert!(CodePattern::new("CTS.000?").matches("CTS.0003"));
        assert!(CodePattern::new("CTS.0003").matches("CTS.0003") && !CodePattern::new("CTS.0003").matches("CTS.00033"));
        assert!(CodePattern::new("*").matches(""));
    }

    #[test]
    fn code_patterns_are_checked() {
        assert_eq!(CodePattern::parse("CTS.02*").unwrap(), CodePattern::new("CTS.02*"));
        assert!(CodePattern::parse("APIGW.0?01").is_ok());
        let message = |text: &str| CodePattern::parse(text).unwrap_err().to_string();
        assert!(message("[").contains("character classes"), "{}", message("["));
        assert!(message("CTS.0[12]*").contains("character classes"));
        assert!(message("CTS.{0003,0004}").contains("alternatives"));
        assert!(message("CTS 0003").contains("' ' does not occur"));
        assert!(message("").contains("it is empty"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), 500);
        assert_eq!(parse_duration("45s").unwrap(), 45_000);
        assert_eq!(parse_duration("1").unwrap(), 1_000);
        assert_eq!(parse_duration("90").unwrap(), 90_000);
        assert_eq!(parse_duration("2h").unwrap(), 7_200_000);
        assert_eq!(parse_duration("0.5").unwrap(), 500);
        assert_eq!(parse_duration("1.5s").unwrap(), 1_500);
        assert_eq!(parse_duration("1.5h").unwrap(), 5_400_000);
        for bad in ["-1", "", "s", "1w", "1e3", ".", "1.2.3", "+1", " 1"] {
            assert!(parse_duration(bad).unwrap_err().to_string().contains("is not a duration"), "{bad}");
        }
        for zero in ["0", "0s", "0.0001"] {
            assert!(parse_duration(zero).unwrap_err().to_string().contains("shorter than a millisecond"), "{zero}");
        }
    }

    #[test]
    fn time_specs() {
        let newest = 1_795_768_800_000; // 2026-11-27T08:40:00Z
        let at = |text: &str| TimeSpec::parse(text).unwrap().resolve(newest);
        assert_eq!(at("2h"), newest - 7_200_000);
        assert_eq!(at("30m"), newest - 1_800_000);
        assert_eq!(at("1d"), newest - DAY_MS);
        assert_eq!(at("yesterday"), 1_795_651_200_000); // 2026-11-26T00:00:00Z
        // The latest 14:05 at or before 08:40: the day before's.
        assert_eq!(at("14:05"), 1_795_788_300_000 - DAY_MS); // 2026-11-26T14:05:00Z
        assert_eq!(at("08:40"), newest);
        assert_eq!(at("08:39"), newest - 60_000);
        assert_eq!(at("2026-11-27T10:00:00Z"), 1_795_773_600_000);
        assert_eq!(at("2026-11-27"), 1_795_737_600_000); // 2026-11-27T00:00:00Z
        assert!(!TimeSpec::parse("2026-11-27T10:00:00Z").unwrap().is_relative());
        assert!(!TimeSpec::parse("2026-11-27").unwrap().is_relative());
        for bad in
            ["tomorrow", "2x", "-2h", "0m", "25:00", "14:5:3", "", "h", "2026-13-01", "2026-11-2", "1800", "0.5", "1.5"]
        {
            assert!(TimeSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_resolve_and_refuse_to_be_empty() {
        let newest = 1_795_768_800_000; // 2026-11-27T08:40:00Z
        let spec = |text: &str| Some(TimeSpec::parse(text).unwrap());
        let yesterday = 1_795_651_200_000; // 2026-11-26T00:00:00Z
        assert_eq!(batch_window(spec("yesterday"), None, newest).unwrap(), (Some(yesterday), Some(yesterday + DAY_MS)));
        // Following, what arrives is today's: the window stays open.
        assert_eq!(resolve_window(spec("yesterday"), None, newest).unwrap(), (Some(yesterday), None));
        assert_eq!(resolve_window(spec("yesterday"), spec("2h"), newest).unwrap().1, Some(newest - 7_200_000));
        assert_eq!(resolve_window(None, spec("yesterday"), newest).unwrap(), (None, Some(yesterday)));
        assert_eq!(resolve_window(spec("2h"), None, newest).unwrap(), (Some(newest - 7_200_000), None));
        for (since, until) in [("1h", "2h"), ("1h", "1h"), ("2026-11-27", "2026-11-26"), ("08:40", "08:40")] {
            let error = resolve_window(spec(since), spec(until), newest).unwrap_err().to_string();
            assert!(error.contains("is not before --until"), "{since} {until}: {error}");
        }
    }

    #[test]
    fn statuses_and_window() {
        assert_eq!(StatusPattern::parse("4xx").unwrap(), StatusPattern::Class(4));
        assert_eq!(StatusPattern::parse("503").unwrap(), StatusPattern::Exact(503));
        assert!(StatusPattern::parse("6xx").is_err() && StatusPattern::parse("abc").is_err());
        assert_eq!(StatusPattern::Class(4).to_string(), "4xx");
        let stored = serde_json::to_string(&vec![StatusPattern::Class(5), StatusPattern::Exact(404)]).unwrap();
        assert_eq!(stored, r#"["5xx","404"]"#);
        assert!(serde_json::from_str::<StatusPattern>(r#""7xx""#).is_err());
        let filter =
            Filter { since: Some(100), until: Some(200), statuses: vec![StatusPattern::Class(5)], codes: vec![] };
        let at = |time, status| Record { time: Some(time), status: Some(status), ..Record::default() };
        assert!(filter.keeps(&at(100, 500)) && filter.keeps(&at(199, 503)));
        assert!(!filter.keeps(&at(200, 500)) && !filter.keeps(&at(99, 500)) && !filter.keeps(&at(150, 404)));
        assert!(!filter.keeps(&Record::default()));
        assert!(Filter::default().keeps(&Record::default()));
    }
}
