//! The per-line contract between the format parsers and everything after
//! them: one borrowed [`Record`] per request line, or the reason a line is
//! [`Malformed`]. Every line has exactly one [`LineOutcome`], which is what
//! makes `lines = requests + blank + malformed + filtered` hold.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::lex::time::EpochMillis;

/// What became of one input line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineOutcome {
    /// A request that counts.
    Request,
    /// Empty or whitespace only.
    Blank,
    /// Not a record of the input's format.
    Malformed(Malformed),
    /// A request left out by `--since`/`--until`/`--status`.
    Filtered,
}

/// One parsed request line. Every field borrows from the line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record<'a> {
    /// When the request was logged.
    pub time: Option<EpochMillis>,
    /// HTTP status of the response.
    pub status: Option<u16>,
    /// Time to answer, in microseconds.
    pub latency_us: Option<u64>,
    /// HTTP method, e.g. `GET`.
    pub method: Option<&'a [u8]>,
    /// Request path and query, as logged.
    pub uri: Option<&'a [u8]>,
    /// Client address.
    pub client: Option<&'a [u8]>,
    /// The `X-Request-Id` the gateway logged.
    pub request_id: Option<&'a [u8]>,
    /// Where the line came from, when a wrapper says: the syslog host, the
    /// LTS host or path.
    pub source: Option<&'a [u8]>,
    /// The cloud service a CTS trace is about (`service_type`).
    pub service: Option<&'a [u8]>,
    /// The operation a CTS trace records (`trace_name`).
    pub operation: Option<&'a [u8]>,
    /// How a CTS trace is rated (`trace_rating`).
    pub rating: Option<TraceRating>,
    /// A CTS trace's `trace_id`; looked up only for `incident` traces.
    pub trace_id: Option<Cow<'a, [u8]>>,
    /// The values of the fields error lines are grouped by (`--by`, and a
    /// CTS trace's user, operation and resource): looked up only for lines
    /// with an error body or an `incident` rating, and empty on the rest.
    pub by: &'a [FieldValue<'a>],
    /// Parts of the line that cannot hold a response body (request line,
    /// referer, user agent, request body): an error-code look-alike there
    /// is not an error.
    pub not_body: Spans,
    /// Fields that were logged but could not be parsed.
    pub invalid: InvalidFields,
}

/// The value of one grouping field on a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldValue<'a> {
    /// The field's name, as reports show it (`user`, `http.request.method`).
    pub name: &'a str,
    /// Its value, as logged (JSON escapes decoded).
    pub value: Cow<'a, [u8]>,
}

impl<'a> Record<'a> {
    /// The value of the grouping field `name`, if the line has it.
    pub fn by_value(&self, name: &str) -> Option<&[u8]> {
        self.by.iter().find(|v| v.name == name).map(|v| &v.value[..])
    }
}

/// A CTS trace's `trace_rating`: how much the operation matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceRating {
    /// A normal operation.
    Normal,
    /// An operation that failed.
    Warning,
    /// An operation that caused a fault (the CTS guide says to look at
    /// these first).
    Incident,
}

impl TraceRating {
    /// Every rating, in report order.
    pub const ALL: [TraceRating; 3] = [TraceRating::Normal, TraceRating::Warning, TraceRating::Incident];

    /// The rating logged as `text` (`"incident"`, any case).
    pub fn parse(text: &[u8]) -> Option<TraceRating> {
        match text.len() {
            6 if text.eq_ignore_ascii_case(b"normal") => Some(TraceRating::Normal),
            7 if text.eq_ignore_ascii_case(b"warning") => Some(TraceRating::Warning),
            8 if text.eq_ignore_ascii_case(b"incident") => Some(TraceRating::Incident),
            _ => None,
        }
    }

    /// Its name, as logged.
    pub fn name(self) -> &'static str {
        match self {
            TraceRating::Normal => "normal",
            TraceRating::Warning => "warning",
            TraceRating::Incident => "incident",
        }
    }
}

/// Which fields of a line were present but unparsable (the field itself is
/// then `None`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InvalidFields {
    /// The time.
    pub time: bool,
    /// The status.
    pub status: bool,
    /// The latency (including negative numbers).
    pub latency: bool,
}

/// Why a line is not a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Malformed {
    /// An NDJSON line that does not start with `{`.
    NotJsonObject,
    /// An NDJSON line whose object is broken.
    InvalidJson,
    /// A line cut short: a quoted field or a JSON object opened and never
    /// closed (a user agent or a logged body cut off at the end).
    Truncated,
    /// A line that does not have the access-log layout.
    NotAccessLog,
    /// A log line that is not about a request (an HAProxy start-up or
    /// health message, say).
    NotRequest,
    /// A line longer than the line-length cap; skipped unread.
    LineTooLong,
}

impl Malformed {
    /// Every kind, in report order.
    pub const ALL: [Malformed; 6] = [
        Malformed::NotJsonObject,
        Malformed::InvalidJson,
        Malformed::Truncated,
        Malformed::NotAccessLog,
        Malformed::NotRequest,
        Malformed::LineTooLong,
    ];

    /// A stable kebab-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Malformed::NotJsonObject => "not-json-object",
            Malformed::InvalidJson => "invalid-json",
            Malformed::Truncated => "truncated",
            Malformed::NotAccessLog => "not-access-log",
            Malformed::NotRequest => "not-request",
            Malformed::LineTooLong => "line-too-long",
        }
    }
}

/// Up to [`Spans::CAPACITY`] byte ranges of a line. Further ranges are
/// dropped, which only weakens the phantom-error guard, never a count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spans {
    ranges: [Range<u32>; Spans::CAPACITY],
    len: u8,
}

impl Spans {
    /// How many ranges fit: request line, uri, referer, user agent and
    /// request body, with room to spare.
    pub const CAPACITY: usize = 8;

    /// Adds `range` if there is room.
    pub fn push(&mut self, range: Range<usize>) {
        if usize::from(self.len) < Self::CAPACITY {
            let (start, end) = (clamp_u32(range.start), clamp_u32(range.end));
            self.ranges[usize::from(self.len)] = start..end;
            self.len += 1;
        }
    }

    /// Whether `pos` lies inside one of the ranges.
    pub fn contains(&self, pos: usize) -> bool {
        let pos = clamp_u32(pos);
        self.ranges[..usize::from(self.len)].iter().any(|r| r.contains(&pos))
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// How a command-line field override (`--status-field response.status`)
/// fared: the lines it was looked for on, and those it gave the field on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideUse {
    /// Parsed lines the field was wanted on.
    pub looked: u64,
    /// Of those, the lines the override's key gave the field.
    pub matched: u64,
}

impl OverrideUse {
    /// Adds `other`'s lines to these.
    pub fn merge(&mut self, other: OverrideUse) {
        self.looked += other.looked;
        self.matched += other.matched;
    }
}

/// The client of a client field: its first address when it holds an
/// `X-Forwarded-For` list (`1.2.3.4, 10.0.0.1`: the original client, then
/// the proxies it passed).
pub fn first_forwarded(client: &[u8]) -> &[u8] {
    match memchr::memchr(b',', client) {
        Some(comma) => client[..comma].trim_ascii_end(),
        None => client,
    }
}

/// Whether a line holds nothing but whitespace.
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_forwarded_for_list_gives_its_first_address() {
        assert_eq!(super::first_forwarded(b"203.0.113.5, 10.0.0.1"), b"203.0.113.5");
        assert_eq!(super::first_forwarded(b"203.0.113.5 ,10.0.0.1"), b"203.0.113.5");
        assert_eq!(super::first_forwarded(b"10.0.0.1"), b"10.0.0.1");
    }
}
