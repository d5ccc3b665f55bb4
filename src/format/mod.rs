//! Line formats: the contract between input parsing and everything after it.
//!
//! A format parser turns one line (without its terminator) into a borrowed
//! [`Record`] or says why it could not ([`Malformed`]). Parsers never
//! allocate per line and never panic, whatever the bytes. A new input format
//! is a new file here that fills a `Record`; nothing downstream changes.

mod access;
mod custom;
mod detect;
mod ndjson;
pub mod scalar;
pub mod timestamp;

use std::fmt;
use std::ops::Range;

pub use access::AccessParser;
pub use custom::{CustomParser, LogFormat, LogFormatError};
pub use detect::detect;
pub use ndjson::{Field, FieldOverrides, LatencyUnit, NdjsonParser};
pub use timestamp::EpochMillis;

/// A concrete line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON object per line.
    Ndjson,
    /// NCSA combined: common plus `"$http_referer" "$http_user_agent"`,
    /// then any trailing fields.
    Combined,
    /// NCSA common: `$remote_addr - $remote_user [$time_local] "$request"
    /// $status $body_bytes_sent`, then any trailing fields.
    Common,
    /// The layout given with `--log-format` ([`LogFormat`]).
    Custom,
}

impl Format {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Combined => "combined",
            Format::Common => "common",
            Format::Custom => "custom",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
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
    /// The cloud service a CTS trace is about (`service_type`).
    pub service: Option<&'a [u8]>,
    /// The operation a CTS trace records (`trace_name`).
    pub operation: Option<&'a [u8]>,
    /// Parts of the line that cannot hold a response body (request line,
    /// referer, user agent): an error-code look-alike there is not an error.
    pub not_body: Spans,
    /// Fields that were logged but could not be parsed.
    pub invalid: InvalidFields,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Malformed {
    /// An NDJSON line that does not start with `{`.
    NotJsonObject,
    /// An NDJSON line whose object is cut short or broken.
    InvalidJson,
    /// A line that does not have the access-log layout.
    NotAccessLog,
    /// A line longer than the line-length cap; skipped unread.
    LineTooLong,
}

impl Malformed {
    /// Every kind, in report order.
    pub const ALL: [Malformed; 4] =
        [Malformed::NotJsonObject, Malformed::InvalidJson, Malformed::NotAccessLog, Malformed::LineTooLong];

    /// A stable kebab-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Malformed::NotJsonObject => "not-json-object",
            Malformed::InvalidJson => "invalid-json",
            Malformed::NotAccessLog => "not-access-log",
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
    /// How many ranges fit.
    pub const CAPACITY: usize = 4;

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

/// A parser for one format, with its per-thread state.
#[derive(Debug)]
pub enum LineParser {
    /// NDJSON.
    Ndjson(NdjsonParser),
    /// Common or combined access logs.
    Access(AccessParser),
    /// A user-defined layout.
    Custom(CustomParser),
}

impl LineParser {
    /// Parses one line without its terminator. `full` asks for every field;
    /// without it a parser fills in only time, status and latency (the rest
    /// matters only for lines with an error body) and may stop early.
    /// The fields go into `record`, which should start out empty; after an
    /// error it holds whatever was read before it.
    pub fn parse<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        match self {
            LineParser::Ndjson(p) => p.parse(line, full, record)?,
            LineParser::Access(p) => p.parse(line, full, record)?,
            LineParser::Custom(p) => p.parse(line, full, record)?,
        }
        // A field is invalid only if no other key gave it a value.
        record.invalid.time &= record.time.is_none();
        record.invalid.status &= record.status.is_none();
        record.invalid.latency &= record.latency_us.is_none();
        Ok(())
    }
}

/// Whether a line holds nothing but whitespace.
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}
