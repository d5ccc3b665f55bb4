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
mod ndjson;

use std::fmt;

pub use access::AccessParser;
pub use custom::{CustomParser, LogFormat, LogFormatError};
pub use detect::detect;
pub use ndjson::{Field, FieldOverrides, LatencyUnit, NdjsonParser};

use crate::record::{Malformed, Record};

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
