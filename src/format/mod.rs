//! Line formats: detection and one parser per format.
//!
//! A format parser turns one line (without its terminator) into a borrowed
//! [`Record`] or says why it could not ([`Malformed`]); see
//! [`crate::record`] for that contract. Parsers never allocate per line and
//! never panic, whatever the bytes. A new input format is a new file here
//! that fills a `Record`; nothing downstream changes. Siblings do not import
//! one another: what they share lives in [`crate::lex`].

mod access;
mod custom;
mod detect;
mod foreign;
mod haproxy;
mod ndjson;
mod w3c;
mod wrap;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use access::AccessParser;
pub use custom::{CustomParser, LogFormat};
pub use detect::{Layout, detect, detect_layout};
pub use foreign::{Foreign, recognise};
pub use haproxy::HaproxyParser;
pub use ndjson::{Field, FieldOverrides, LatencyUnit, NdjsonParser};
pub use w3c::{W3cParser, last_fields};
pub use wrap::{UnwrapBuf, Unwrapped, Wrapper};

use crate::record::{Malformed, Record};

/// The line format to read inputs as. A custom layout travels with its
/// format, so a custom format without one cannot be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    Ndjson,
    /// NCSA combined: common plus `"$http_referer" "$http_user_agent"`,
    /// then any trailing fields.
    Combined,
    /// NCSA common: `$remote_addr - $remote_user [$time_local] "$request"
    /// $status $body_bytes_sent`, then any trailing fields.
    Common,
    /// A layout given with `--log-format`.
    Custom(LogFormat),
    /// W3C extended log (IIS): columns named by `#Fields:`.
    W3c,
    /// HAProxy's HTTP log.
    Haproxy,
}

impl Format {
    /// Which kind of format this is.
    pub fn kind(&self) -> FormatKind {
        match self {
            Format::Ndjson => FormatKind::Ndjson,
            Format::Combined => FormatKind::Combined,
            Format::Common => FormatKind::Common,
            Format::Custom(_) => FormatKind::Custom,
            Format::W3c => FormatKind::W3c,
            Format::Haproxy => FormatKind::Haproxy,
        }
    }

    /// The format of a detected kind; a custom layout is not detected, so
    /// [`FormatKind::Custom`] reads as combined.
    pub fn from_kind(kind: FormatKind) -> Format {
        match kind {
            FormatKind::Ndjson => Format::Ndjson,
            FormatKind::Common => Format::Common,
            FormatKind::W3c => Format::W3c,
            FormatKind::Haproxy => Format::Haproxy,
            FormatKind::Combined | FormatKind::Custom => Format::Combined,
        }
    }

    /// A parser for this format; `fields` names the NDJSON keys.
    pub fn parser(&self, fields: &FieldOverrides) -> LineParser {
        match self {
            Format::Ndjson => LineParser::Ndjson(NdjsonParser::new(fields.clone())),
            Format::Combined => LineParser::Access(AccessParser::new(true)),
            Format::Common => LineParser::Access(AccessParser::new(false)),
            Format::Custom(layout) => LineParser::Custom(CustomParser::new(layout.clone())),
            Format::W3c => LineParser::W3c(W3cParser::default()),
            Format::Haproxy => LineParser::Haproxy(HaproxyParser::default()),
        }
    }
}

/// The name of a line format, as reports and states carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatKind {
    /// One JSON object per line.
    Ndjson,
    /// NCSA combined access log.
    Combined,
    /// NCSA common access log.
    Common,
    /// A `--log-format` layout.
    Custom,
    /// W3C extended log (IIS).
    W3c,
    /// HAProxy HTTP log.
    Haproxy,
}

impl FormatKind {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            FormatKind::Ndjson => "ndjson",
            FormatKind::Combined => "combined",
            FormatKind::Common => "common",
            FormatKind::Custom => "custom",
            FormatKind::W3c => "w3c",
            FormatKind::Haproxy => "haproxy",
        }
    }
}

impl fmt::Display for FormatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
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
    /// W3C extended logs.
    W3c(W3cParser),
    /// HAProxy HTTP logs.
    Haproxy(HaproxyParser),
}

/// What every format parser does; the line scanner runs its loop once per
/// parser type, so the call is not dispatched per line.
pub trait ParseLine {
    /// Parses one line without its terminator. `full` asks for every field;
    /// without it a parser fills in only time, status and latency (the rest
    /// matters only for lines with an error body) and may stop early. The
    /// fields go into `record`, which should start out empty; after an error
    /// it holds whatever was read before it.
    fn parse_line<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed>;

    /// Whether `line` is a directive of the format (a W3C `#` line), taken
    /// in by the parser rather than counted as a request.
    fn directive(&mut self, _line: &[u8]) -> bool {
        false
    }
}

macro_rules! parse_line_by {
    ($($parser:ty),*) => {
        $(impl ParseLine for $parser {
            fn parse_line<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
                self.parse(line, full, record)
            }
        })*
    };
}

parse_line_by!(NdjsonParser, AccessParser, CustomParser, HaproxyParser);

impl ParseLine for W3cParser {
    fn parse_line<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        self.parse(line, full, record)
    }

    fn directive(&mut self, line: &[u8]) -> bool {
        W3cParser::directive(self, line)
    }
}

impl LineParser {
    /// Parses one line; see [`ParseLine::parse_line`]. A field is invalid
    /// only if no other key gave it a value ([`settle_invalid`]).
    pub fn parse<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        match self {
            LineParser::Ndjson(p) => p.parse(line, full, record)?,
            LineParser::Access(p) => p.parse(line, full, record)?,
            LineParser::Custom(p) => p.parse(line, full, record)?,
            LineParser::W3c(p) => p.parse(line, full, record)?,
            LineParser::Haproxy(p) => p.parse(line, full, record)?,
        }
        settle_invalid(record);
        Ok(())
    }
}

/// A field is invalid only if no other key of the line gave it a value.
pub fn settle_invalid(record: &mut Record<'_>) {
    record.invalid.time &= record.time.is_none();
    record.invalid.status &= record.status.is_none();
    record.invalid.latency &= record.latency_us.is_none();
}
