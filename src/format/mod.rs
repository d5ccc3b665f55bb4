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
mod ndjson;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use access::AccessParser;
pub use custom::{CustomParser, LogFormat};
pub use detect::detect;
pub use foreign::{Foreign, recognise};
pub use ndjson::{Field, FieldOverrides, LatencyUnit, NdjsonParser};

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
}

impl Format {
    /// Which kind of format this is.
    pub fn kind(&self) -> FormatKind {
        match self {
            Format::Ndjson => FormatKind::Ndjson,
            Format::Combined => FormatKind::Combined,
            Format::Common => FormatKind::Common,
            Format::Custom(_) => FormatKind::Custom,
        }
    }

    /// The format of a detected kind; a custom layout is not detected, so
    /// [`FormatKind::Custom`] reads as combined.
    pub fn from_kind(kind: FormatKind) -> Format {
        match kind {
            FormatKind::Ndjson => Format::Ndjson,
            FormatKind::Common => Format::Common,
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
}

impl FormatKind {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            FormatKind::Ndjson => "ndjson",
            FormatKind::Combined => "combined",
            FormatKind::Common => "common",
            FormatKind::Custom => "custom",
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
