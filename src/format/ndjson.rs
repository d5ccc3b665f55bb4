//! NDJSON lines: one JSON object per line.
//!
//! The parser walks the top-level keys of the object once, skipping values it
//! does not need (strings with `memchr2`, nested containers by depth), and
//! reads only the fields it knows by name. A key with the same name inside a
//! nested object is never taken for a top-level field. No value is decoded
//! unless it is one of the record's fields, and nothing is allocated.

use crate::lex::json::{skip_string, skip_value, skip_ws, unquote};
use crate::lex::number::{parse_scaled, parse_status, upstream_micros};
use crate::lex::text::{is_absent, split_request};
use crate::lex::time::{TimeParser, epoch_number};
use crate::record::{Malformed, Record};

/// A record field that can be read from an NDJSON key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Request time.
    Time,
    /// HTTP status.
    Status,
    /// Latency in the given unit.
    Latency(LatencyUnit),
    /// Upstream latency in seconds; may list several upstreams.
    UpstreamLatency,
    /// Request path.
    Uri,
    /// The full request line (`GET /path HTTP/1.1`).
    Request,
    /// HTTP method.
    Method,
    /// Client address.
    Client,
    /// Request id.
    RequestId,
    /// A header such as the user agent that cannot hold a response body.
    NotBody,
    /// The cloud service a CTS trace is about (`service_type`).
    Service,
    /// The operation a CTS trace records (`trace_name`).
    Operation,
}

/// Unit of a latency field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LatencyUnit {
    /// Seconds (nginx `$request_time`).
    Seconds,
    /// Milliseconds.
    #[default]
    Millis,
    /// Microseconds (Apache `%D`).
    Micros,
}

impl LatencyUnit {
    /// Decimal digits that turn this unit into microseconds.
    fn scale(self) -> u32 {
        match self {
            LatencyUnit::Seconds => 6,
            LatencyUnit::Millis => 3,
            LatencyUnit::Micros => 0,
        }
    }
}

/// Field names given on the command line; each replaces the built-in names
/// for its field.
#[derive(Clone, Debug, Default)]
pub struct FieldOverrides {
    names: Vec<(Box<[u8]>, Field)>,
    /// Unit of `duration`/`latency` and of an overridden latency field.
    pub latency_unit: LatencyUnit,
}

impl FieldOverrides {
    /// No overrides; `duration`/`latency` keys are read in `latency_unit`.
    pub fn new(latency_unit: LatencyUnit) -> Self {
        FieldOverrides { names: Vec::new(), latency_unit }
    }

    /// Reads `field` from the top-level key `name` instead of the built-in
    /// names. For [`Field::Latency`] the unit is taken from `latency_unit`.
    pub fn set(&mut self, field: Field, name: &str) -> &mut Self {
        self.names.retain(|(_, f)| !same_field(*f, field));
        self.names.push((name.as_bytes().into(), field));
        self
    }

    /// The key table these overrides and the built-in names make.
    fn table(&self) -> KeyTable {
        let overridden = |field: Field| self.names.iter().any(|(_, f)| same_field(*f, field));
        let unit = self.latency_unit;
        let in_unit = |field: Field| match field {
            Field::Latency(_) => Field::Latency(unit),
            other => other,
        };
        let mut entries: Vec<(&[u8], Field, u8)> = BUILTIN_KEYS
            .iter()
            .filter(|&&(_, field, _)| !overridden(field))
            .map(|&(name, field, priority)| match name {
                b"duration" | b"latency" => (name, in_unit(field), priority),
                _ => (name, field, priority),
            })
            .collect();
        entries.extend(self.names.iter().map(|(name, field)| (&name[..], in_unit(*field), 0)));
        KeyTable::new(&entries)
    }
}

/// The built-in key names, with priorities (lower wins when several keys of
/// a line feed the same field). `duration` and `latency` are read in the
/// configured unit.
const BUILTIN_KEYS: &[(&[u8], Field, u8)] = &[
    (b"time", Field::Time, 0),
    (b"timestamp", Field::Time, 1),
    (b"@timestamp", Field::Time, 2),
    (b"time_local", Field::Time, 3),
    (b"time_iso8601", Field::Time, 4),
    (b"status", Field::Status, 0),
    (b"status_code", Field::Status, 1),
    (b"code", Field::Status, 2),
    (b"request_time", Field::Latency(LatencyUnit::Seconds), 0),
    (b"latency_ms", Field::Latency(LatencyUnit::Millis), 1),
    (b"duration_ms", Field::Latency(LatencyUnit::Millis), 2),
    (b"duration", Field::Latency(LatencyUnit::Millis), 3),
    (b"latency", Field::Latency(LatencyUnit::Millis), 4),
    (b"upstream_response_time", Field::UpstreamLatency, 5),
    (b"uri", Field::Uri, 0),
    (b"request_uri", Field::Uri, 1),
    (b"path", Field::Uri, 2),
    (b"url", Field::Uri, 3),
    (b"request", Field::Request, 4),
    (b"method", Field::Method, 0),
    (b"request_method", Field::Method, 1),
    (b"remote_addr", Field::Client, 0),
    (b"client_ip", Field::Client, 1),
    (b"source_ip", Field::Client, 2),
    (b"total_time", Field::Latency(LatencyUnit::Millis), 6),
    (b"service_type", Field::Service, 0),
    (b"trace_name", Field::Operation, 0),
    (b"request_id", Field::RequestId, 0),
    (b"x_request_id", Field::RequestId, 1),
    (b"http_user_agent", Field::NotBody, 0),
    (b"user_agent", Field::NotBody, 0),
    (b"http_referer", Field::NotBody, 0),
    (b"referer", Field::NotBody, 0),
    (b"referrer", Field::NotBody, 0),
];

/// Key names to fields, looked up without `memcmp` or search: names of up to
/// 16 bytes are packed into a `u128` and found in a small open-addressing
/// hash table; longer ones are compared.
#[derive(Clone, Debug)]
struct KeyTable {
    slots: Box<[Option<(u128, Field, u8)>; KeyTable::SLOTS]>,
    long: Vec<(Box<[u8]>, Field, u8)>,
}

impl KeyTable {
    /// Table size; more than four times the keys, so probes stay short.
    const SLOTS: usize = 256;

    /// Builds the table; the first entry for a name wins. Names beyond what
    /// the table holds are ignored (it holds far more than the built-in
    /// names plus the few command-line overrides).
    fn new(entries: &[(&[u8], Field, u8)]) -> Self {
        let mut table = KeyTable { slots: Box::new([None; Self::SLOTS]), long: Vec::new() };
        for &(name, field, priority) in entries {
            let Some(packed) = pack_key(name) else {
                table.long.push((name.into(), field, priority));
                continue;
            };
            let mut slot = Self::slot(packed);
            for _ in 0..Self::SLOTS {
                match &table.slots[slot] {
                    Some((existing, _, _)) if *existing == packed => break,
                    Some(_) => slot = (slot + 1) % Self::SLOTS,
                    None => {
                        table.slots[slot] = Some((packed, field, priority));
                        break;
                    }
                }
            }
        }
        table
    }

    /// The first eight bytes decide the slot (keys sharing them collide and
    /// probe): a shorter dependency chain than mixing all sixteen.
    fn slot(packed: u128) -> usize {
        ((packed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize
    }

    /// The field of the key `line[start..end]`.
    fn lookup(&self, line: &[u8], start: usize, end: usize) -> Option<(Field, u8)> {
        let len = end - start;
        if len > 16 {
            let key = &line[start..end];
            return self.long.iter().find(|(name, _, _)| &name[..] == key).map(|&(_, f, p)| (f, p));
        }
        let packed = match line.get(start..start + 16) {
            Some(window) => {
                let word = u128::from_le_bytes(window.try_into().expect("16 bytes"));
                if len == 16 { word } else { word & ((1u128 << (8 * len)) - 1) }
            }
            None => pack_key(&line[start..end])?,
        };
        let mut slot = Self::slot(packed);
        for _ in 0..Self::SLOTS {
            match &self.slots[slot] {
                Some((existing, field, priority)) if *existing == packed => return Some((*field, *priority)),
                Some(_) => slot = (slot + 1) % Self::SLOTS,
                None => return None,
            }
        }
        None
    }
}

/// Up to 16 bytes, little-endian, zero-padded.
fn pack_key(name: &[u8]) -> Option<u128> {
    (name.len() <= 16).then(|| name.iter().rev().fold(0u128, |acc, &b| acc << 8 | u128::from(b)))
}

/// Latency and upstream latency are one field for overriding purposes.
fn same_field(a: Field, b: Field) -> bool {
    let group = |f: Field| match f {
        Field::Latency(_) | Field::UpstreamLatency => Field::UpstreamLatency,
        Field::Uri | Field::Request => Field::Uri,
        other => other,
    };
    group(a) == group(b)
}

/// Parses NDJSON lines into records. One per worker thread.
#[derive(Debug)]
pub struct NdjsonParser {
    keys: KeyTable,
    times: TimeParser,
}

/// Priorities of the fields found so far on a line (`u8::MAX` = none yet).
struct Found {
    time: u8,
    status: u8,
    latency: u8,
    uri: u8,
    client: u8,
    request_id: u8,
}

impl Default for NdjsonParser {
    fn default() -> Self {
        NdjsonParser::new(FieldOverrides::default())
    }
}

impl NdjsonParser {
    /// A parser that finds fields by `fields` (built-in names by default).
    pub fn new(fields: FieldOverrides) -> Self {
        NdjsonParser { keys: fields.table(), times: TimeParser::default() }
    }

    /// Parses one line. See [`super::LineParser::parse`]. Without `full`,
    /// only time, status and latency are filled in.
    ///
    /// # Complexity
    ///
    /// One pass over the line.
    pub fn parse<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        let mut pos = skip_ws(line, 0);
        if line.get(pos) != Some(&b'{') {
            return Err(Malformed::NotJsonObject);
        }
        pos = skip_ws(line, pos + 1);
        let mut found = Found {
            time: u8::MAX,
            status: u8::MAX,
            latency: u8::MAX,
            uri: u8::MAX,
            client: u8::MAX,
            request_id: u8::MAX,
        };
        if line.get(pos) == Some(&b'}') {
            return end_of_object(line, pos);
        }
        loop {
            if line.get(pos) != Some(&b'"') {
                return Err(broken(line, pos));
            }
            let key_end = skip_string(line, pos).ok_or(Malformed::Truncated)?;
            let key = self.keys.lookup(line, pos + 1, key_end - 1);
            pos = skip_ws(line, key_end);
            if line.get(pos) != Some(&b':') {
                return Err(broken(line, pos));
            }
            let value_start = skip_ws(line, pos + 1);
            let value_end = skip_value(line, value_start).ok_or_else(|| match line.get(value_start) {
                None | Some(b'"' | b'{' | b'[') => Malformed::Truncated,
                Some(_) => Malformed::InvalidJson,
            })?;
            if let Some((field, priority)) = key
                && (full || matches!(field, Field::Time | Field::Status | Field::Latency(_) | Field::UpstreamLatency))
            {
                self.assign(record, &mut found, field, priority, line, value_start..value_end);
            }
            pos = skip_ws(line, value_end);
            match line.get(pos) {
                Some(b',') => pos = skip_ws(line, pos + 1),
                Some(b'}') => return end_of_object(line, pos),
                _ => return Err(broken(line, pos)),
            }
        }
    }

    fn assign<'a>(
        &mut self,
        record: &mut Record<'a>,
        found: &mut Found,
        field: Field,
        priority: u8,
        line: &'a [u8],
        span: std::ops::Range<usize>,
    ) {
        let raw = &line[span.clone()];
        let text = unquote(raw);
        match field {
            Field::Time if priority < found.time => {
                let time = if raw.first() == Some(&b'"') { self.times.parse_text(text) } else { epoch_number(text) };
                match time {
                    Some(_) => (record.time, found.time) = (time, priority),
                    None => record.invalid.time |= !is_absent(text),
                }
            }
            Field::Status if priority < found.status => match parse_status(text) {
                Some(status) => (record.status, found.status) = (Some(status), priority),
                None => record.invalid.status |= !is_absent(text),
            },
            Field::Latency(unit) if priority < found.latency => match parse_scaled(text, unit.scale()) {
                Some(us) => (record.latency_us, found.latency) = (Some(us), priority),
                None => record.invalid.latency |= !is_absent(text),
            },
            Field::UpstreamLatency if priority < found.latency => match upstream_micros(text) {
                Some(us) => (record.latency_us, found.latency) = (Some(us), priority),
                None => record.invalid.latency |= !is_absent(text),
            },
            Field::Uri | Field::Request => {
                record.not_body.push(span);
                let (method, uri) = if field == Field::Request { split_request(text) } else { (None, Some(text)) };
                // The method of a request line counts whichever key gives
                // the path (`uri` before `request`, in any order).
                record.method = record.method.or(method);
                if priority < found.uri && uri.is_some() {
                    record.uri = uri;
                    found.uri = priority;
                }
            }
            Field::Method => record.method = Some(text),
            Field::Client if priority < found.client => {
                record.client = Some(text);
                found.client = priority;
            }
            Field::RequestId if priority < found.request_id && !is_absent(text) => {
                record.request_id = Some(text);
                found.request_id = priority;
            }
            Field::Service => record.service = Some(text),
            Field::Operation => record.operation = Some(text),
            Field::NotBody => record.not_body.push(span),
            _ => {}
        }
    }
}

/// A line that ends where the object needs more is cut short; anything
/// else there is broken JSON.
fn broken(line: &[u8], pos: usize) -> Malformed {
    if pos >= line.len() { Malformed::Truncated } else { Malformed::InvalidJson }
}

fn end_of_object(line: &[u8], close: usize) -> Result<(), Malformed> {
    if skip_ws(line, close + 1) == line.len() { Ok(()) } else { Err(Malformed::InvalidJson) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Record<'_>, Malformed> {
        let mut record = Record::default();
        NdjsonParser::default().parse(line.as_bytes(), true, &mut record).map(|()| record)
    }

    #[test]
    fn reads_gateway_fields() {
        let line = r#"{"time":"2026-11-27T06:54:04.250Z","remote_addr":"10.0.0.1","request":"POST /v3/p1/tracker HTTP/1.1","status":400,"request_time":0.052,"request_id":"abc","resp":{"error_code":"CTS.0003"}}"#;
        let r = parse(line).unwrap();
        assert_eq!(r.time, Some(1_795_762_444_250));
        assert_eq!(r.status, Some(400));
        assert_eq!(r.latency_us, Some(52_000));
        assert_eq!(r.method, Some(&b"POST"[..]));
        assert_eq!(r.uri, Some(&b"/v3/p1/tracker"[..]));
        assert_eq!(r.client, Some(&b"10.0.0.1"[..]));
        assert_eq!(r.request_id, Some(&b"abc"[..]));
    }

    #[test]
    fn nested_keys_are_not_top_level_fields() {
        let line = r#"{"response":{"status":503,"request_time":9.0,"time":"2001-01-01T00:00:00Z"},"status":"200","latency_ms":"12.5"}"#;
        let r = parse(line).unwrap();
        assert_eq!(r.status, Some(200));
        assert_eq!(r.latency_us, Some(12_500));
        assert_eq!(r.time, None);
    }

    #[test]
    fn key_order_does_not_matter_and_priority_wins() {
        let a = parse(r#"{"upstream_response_time":"0.004, 0.010 : 0.002","request_time":"0.100"}"#).unwrap();
        let b = parse(r#"{"request_time":"0.100","upstream_response_time":"0.004, 0.010 : 0.002"}"#).unwrap();
        assert_eq!(a.latency_us, Some(100_000));
        assert_eq!(b.latency_us, Some(100_000));
        let up = parse(r#"{"upstream_response_time":"0.004, 0.010 : 0.002"}"#).unwrap();
        assert_eq!(up.latency_us, Some(16_000));
        assert_eq!(parse(r#"{"upstream_response_time":"-"}"#).unwrap().latency_us, None);
    }

    #[test]
    fn epoch_times_and_other_names() {
        assert_eq!(parse(r#"{"@timestamp":1795762444123}"#).unwrap().time, Some(1_795_762_444_123));
        assert_eq!(parse(r#"{"timestamp":1795762444}"#).unwrap().time, Some(1_795_762_444_000));
        assert_eq!(parse(r#"{"time_local":"27/Nov/2026:06:54:04 +0000"}"#).unwrap().time, Some(1_795_762_444_000));
        assert_eq!(parse(r#"{"status_code":"404"}"#).unwrap().status, Some(404));
        assert_eq!(parse(r#"{"code":"VPC.0514"}"#).unwrap().status, None);
        assert_eq!(parse(r#"{"duration_ms":3}"#).unwrap().latency_us, Some(3_000));
    }

    #[test]
    fn overrides_replace_builtin_names() {
        let mut fields = FieldOverrides::new(LatencyUnit::Micros);
        fields.set(Field::Latency(LatencyUnit::Micros), "rt_us").set(Field::Status, "http_status");
        let mut p = NdjsonParser::new(fields);
        let mut r = Record::default();
        p.parse(br#"{"rt_us":1500,"request_time":9,"status":200,"http_status":502}"#, true, &mut r).unwrap();
        assert_eq!(r.latency_us, Some(1_500));
        assert_eq!(r.status, Some(502));
    }

    #[test]
    fn malformed_lines() {
        assert_eq!(parse("hello"), Err(Malformed::NotJsonObject));
        assert_eq!(parse("[1,2]"), Err(Malformed::NotJsonObject));
        assert_eq!(parse(r#"{"a":"#), Err(Malformed::Truncated));
        assert_eq!(parse(r#"{"a":"unterminated}"#), Err(Malformed::Truncated));
        assert_eq!(parse(r#"{"a":{"b":1}"#), Err(Malformed::Truncated));
        assert_eq!(parse(r#"{"a":1,"#), Err(Malformed::Truncated));
        assert_eq!(parse(r#"{"a":,"b":1}"#), Err(Malformed::InvalidJson));
        assert_eq!(parse(r#"{"a":1} trailing"#), Err(Malformed::InvalidJson));
        assert_eq!(parse(r#"{a:1}"#), Err(Malformed::InvalidJson));
        assert!(parse(r#"{}"#).is_ok());
        assert!(parse(r#" { "a" : [1, {"b": "}"}] } "#).is_ok());
    }

    #[test]
    fn the_method_of_a_request_line_counts_when_uri_comes_first() {
        let r = parse(r#"{"uri":"/v3/p/tracker","request":"POST /v3/p/tracker?x=1 HTTP/1.1","status":400}"#).unwrap();
        assert_eq!((r.method, r.uri), (Some(&b"POST"[..]), Some(&b"/v3/p/tracker"[..])));
        // A CTS trace's `request` is the request body, not a request line.
        let r = parse(r#"{"request":"{\"tracker_type\":\"system\"}","status":400}"#).unwrap();
        assert_eq!((r.method, r.uri), (None, None));
    }

    #[test]
    fn escaped_quotes_in_strings() {
        let r = parse(r#"{"ua":"x\"y\\","status":201}"#).unwrap();
        assert_eq!(r.status, Some(201));
    }

    #[test]
    fn uri_and_agent_spans_are_not_body() {
        let line = r#"{"uri":"/a?x=1","user_agent":"\"error_code\":\"CTS.0001\"","body":""}"#;
        let r = parse(line).unwrap();
        let ua = line.find(r#"\"error_code"#).unwrap();
        assert!(r.not_body.contains(ua));
        assert!(!r.not_body.contains(line.find("body").unwrap()));
    }
}
