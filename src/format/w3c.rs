//! W3C extended log files (IIS and others): `#` lines are directives; the
//! `#Fields:` directive names the space-separated columns of the lines
//! after it, and may change in mid-file.
//!
//! | field | record |
//! | --- | --- |
//! | `date` + `time` | time (UTC) |
//! | `sc-status` | status |
//! | `time-taken` | latency, milliseconds |
//! | `cs-uri-stem` | path |
//! | `cs-method` | method |
//! | `c-ip` | client |
//! | `cs(User-Agent)`, `cs(Referer)`, `cs-uri-query` | not a body |
//!
//! Directive lines are neither requests nor malformed: they count as
//! blank. Because blocks of one file are parsed in parallel, the reader
//! hands each block the `#Fields:` line in effect at its start
//! ([`last_fields`]).

use super::{Build, Detect, FormatSpec, LineParser, ParseLine};
use crate::lex::number::{parse_scaled, parse_status};
use crate::lex::text::{is_absent, strip_bom};
use crate::lex::time::TimeParser;
use crate::record::{Malformed, Record};

/// W3C in the registry: a `#Fields:` or `#Software:` directive among the
/// first lines settles detection.
pub(super) static W3C: FormatSpec = FormatSpec {
    name: "w3c",
    help: "W3C extended log (IIS), columns from `#Fields:`",
    detect: Detect::Marker(is_header),
    build: Build::Fields(|_| LineParser::from(W3cParser::default())),
    last_directive: Some(last_fields),
};

/// Whether `line` is a directive only W3C logs start with.
fn is_header(line: &[u8]) -> bool {
    line.starts_with(b"#Fields:") || line.starts_with(b"#Software:")
}

/// What a column feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Date,
    Time,
    Status,
    TimeTaken,
    UriStem,
    Method,
    ClientIp,
    NotBody,
    Other,
}

/// Parses W3C extended log lines under the `#Fields:` in effect.
#[derive(Debug, Default)]
pub struct W3cParser {
    columns: Vec<Column>,
    times: TimeParser,
}

impl W3cParser {
    /// Takes the columns of a `#Fields:` directive.
    pub fn set_fields(&mut self, directive: &[u8]) {
        let names = directive.strip_prefix(b"#Fields:").unwrap_or(directive);
        self.columns = names
            .split(|&b| b == b' ')
            .filter(|n| !n.is_empty())
            .map(|name| match name {
                b"date" => Column::Date,
                b"time" => Column::Time,
                b"sc-status" => Column::Status,
                b"time-taken" => Column::TimeTaken,
                b"cs-uri-stem" => Column::UriStem,
                b"cs-method" => Column::Method,
                b"c-ip" => Column::ClientIp,
                b"cs(User-Agent)" | b"cs(Referer)" | b"cs(Cookie)" | b"cs-uri-query" => Column::NotBody,
                _ => Column::Other,
            })
            .collect();
    }

    /// Whether a line is a directive; a `#Fields:` directive changes the
    /// columns.
    pub fn directive(&mut self, line: &[u8]) -> bool {
        if !line.starts_with(b"#") {
            return false;
        }
        if line.starts_with(b"#Fields:") {
            self.set_fields(line);
        }
        true
    }

    /// Parses one line (not a directive). See [`super::LineParser::parse`].
    pub fn parse<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        if self.columns.is_empty() {
            return Err(Malformed::NotAccessLog);
        }
        let (mut date, mut time) = (None, None);
        let mut count = 0;
        let mut pos = 0;
        for (index, value) in line.split(|&b| b == b' ').enumerate() {
            let span = pos..pos + value.len();
            pos += value.len() + 1;
            count = index + 1;
            let Some(&column) = self.columns.get(index) else { continue };
            match column {
                Column::Date => date = Some(value),
                Column::Time => time = Some(value),
                Column::Status => {
                    record.status = parse_status(value);
                    record.invalid.status = record.status.is_none() && !is_absent(value);
                }
                Column::TimeTaken => {
                    record.latency_us = parse_scaled(value, 3);
                    record.invalid.latency = record.latency_us.is_none() && !is_absent(value);
                }
                Column::UriStem if full => {
                    record.uri = Some(value);
                    record.not_body.push(span);
                }
                Column::Method if full => record.method = Some(value),
                Column::ClientIp if full => record.client = Some(value),
                Column::NotBody => record.not_body.push(span),
                _ => {}
            }
        }
        if count != self.columns.len() {
            return Err(Malformed::NotAccessLog);
        }
        if let (Some(date), Some(time)) = (date, time) {
            let mut text = [0u8; 40];
            let len = date.len() + 1 + time.len() + 1;
            if len <= text.len() {
                text[..date.len()].copy_from_slice(date);
                text[date.len()] = b'T';
                text[date.len() + 1..len - 1].copy_from_slice(time);
                text[len - 1] = b'Z';
                record.time = self.times.parse_rfc3339(&text[..len]);
            }
            record.invalid.time = record.time.is_none();
        }
        Ok(())
    }
}

impl ParseLine for W3cParser {
    fn parse_line<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        self.parse(line, full, record)
    }

    fn directive(&mut self, line: &[u8]) -> bool {
        W3cParser::directive(self, line)
    }

    fn resume(&mut self, directive: &[u8]) {
        self.set_fields(directive);
    }
}

/// The last `#Fields:` line of `data`, if it has one.
pub fn last_fields(data: &[u8]) -> Option<&[u8]> {
    let data = strip_bom(data);
    let at = memchr::memmem::rfind_iter(data, b"#Fields:").find(|&at| at == 0 || data[at - 1] == b'\n')?;
    let end = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i);
    Some(data[at..end].strip_suffix(b"\r").unwrap_or(&data[at..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[u8] = b"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";

    #[test]
    fn an_iis_line_under_its_fields() {
        let mut parser = W3cParser::default();
        assert!(parser.directive(b"#Software: Microsoft Internet Information Services 10.0"));
        assert!(parser.directive(FIELDS));
        let line =
            b"2026-11-27 10:00:05 10.0.0.9 POST /v3/p/tracker - 443 - 10.0.0.1 python-requests/2.31 - 400 0 0 120";
        let mut record = Record::default();
        parser.parse(line, true, &mut record).unwrap();
        assert_eq!(
            (record.status, record.latency_us, record.time),
            (Some(400), Some(120_000), Some(1_795_773_605_000))
        );
        assert_eq!(
            (record.method, record.uri, record.client),
            (Some(&b"POST"[..]), Some(&b"/v3/p/tracker"[..]), Some(&b"10.0.0.1"[..]))
        );
        // The columns change in mid-file.
        assert!(parser.directive(b"#Fields: time sc-status time-taken"));
        let mut record = Record::default();
        parser.parse(b"10:00:06 503 7", true, &mut record).unwrap();
        assert_eq!((record.status, record.latency_us, record.time), (Some(503), Some(7_000), None));
        assert_eq!(parser.parse(b"10:00:06 503", true, &mut Record::default()), Err(Malformed::NotAccessLog));
    }

    #[test]
    fn the_last_fields_of_a_block() {
        let data = b"#Fields: a b\n1 2\n#Fields: time sc-status\r\n10:00:00 200\n";
        assert_eq!(last_fields(data), Some(&b"#Fields: time sc-status"[..]));
        assert_eq!(last_fields(b"x #Fields: no\n"), None);
    }
}
