//! NDJSON lines: one JSON object per line.
//!
//! The parser walks the top-level keys of the object once, skipping values it
//! does not need (strings with `memchr2`, nested containers by depth), and
//! reads only the fields it knows by name. A key with the same name inside a
//! nested object is never taken for a top-level field. No value is decoded
//! unless it is one of the record's fields, and nothing is allocated.
//!
//! Nested fields have dotted names (`http.response.status_code`, the
//! Elastic Common Schema's; `--status-field response.status`): a key named
//! so matches as it is (flattened logs), and the parser descends into an
//! object (or an OpenTelemetry `attributes` array of `{"key","value"}`)
//! only when its key starts one of the dotted names.

mod layout;

use std::borrow::Cow;

use self::layout::{Expected, Layout, starts_scalar};
use super::{Build, Detect, FieldRef, FormatSpec, LineParser, ParseLine};
use crate::lex::json::{find_path, find_paths, scalar_text, skip_literal, skip_string, skip_value, skip_ws, unquote};
use crate::lex::number::{parse_loose_status, parse_scaled, parse_status, upstream_micros};
use crate::lex::text::{is_absent, split_request};
use crate::lex::time::{TimeParser, epoch_number};
use crate::record::{Malformed, OverrideUse, Record, TraceRating, first_forwarded};

/// NDJSON in the registry: detected when most parsed lines are JSON
/// objects, or when nothing parses and the input starts with `{`.
pub(super) static NDJSON: FormatSpec = FormatSpec {
    name: "ndjson",
    help: "One JSON object per line",
    detect: Detect::Lines { reads, rank: 0, first_byte: Some(b'{') },
    build: Build::Fields(|fields| LineParser::from(NdjsonParser::new(fields.clone()))),
    last_directive: None,
};

/// Which of `lines` parse as NDJSON (with the built-in field names).
fn reads(lines: &[&[u8]]) -> Vec<bool> {
    let mut parser = NdjsonParser::default();
    // An application's own lines (`not-request`) are NDJSON all the same.
    let reads = |line: &&[u8]| matches!(parser.parse(line, false, &mut Record::default()), Ok(()) | Err(Malformed::NotRequest));
    lines.iter().map(reads).collect()
}

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
    /// A CTS trace's `trace_rating`. The summary fields come first, in one
    /// run, so that [`Field::is_summary`] is one comparison.
    Rating,
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

impl Field {
    /// Whether a summary scan (no `full` record) still needs this field.
    fn is_summary(self) -> bool {
        matches!(self, Field::Time | Field::Status | Field::Latency(_) | Field::UpstreamLatency | Field::Rating)
    }
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
    /// Nanoseconds (the Elastic Common Schema's `event.duration`).
    Nanos,
}

impl LatencyUnit {
    /// `text`, a number in this unit, in microseconds.
    fn micros(self, text: &[u8]) -> Option<u64> {
        // One call of `parse_scaled`, so that it stays inlined.
        let digits = match self {
            LatencyUnit::Seconds => 6,
            LatencyUnit::Millis => 3,
            LatencyUnit::Micros | LatencyUnit::Nanos => 0,
        };
        let value = parse_scaled(text, digits)?;
        Some(if self == LatencyUnit::Nanos { value.saturating_add(500) / 1000 } else { value })
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

    /// Reads `field` from the key `name` instead of the built-in names; a
    /// dotted name also matches inside nested objects. For [`Field::Latency`] the unit is taken from `latency_unit`.
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
    (b"trace_rating", Field::Rating, 0),
    (b"request_id", Field::RequestId, 0),
    (b"x_request_id", Field::RequestId, 1),
    (b"http_user_agent", Field::NotBody, 0),
    (b"user_agent", Field::NotBody, 0),
    (b"http_referer", Field::NotBody, 0),
    (b"referer", Field::NotBody, 0),
    (b"referrer", Field::NotBody, 0),
    // What the client sent: an error body in it is not the response's.
    (b"request_body", Field::NotBody, 0),
    (b"req_body", Field::NotBody, 0),
    // The Elastic Common Schema, nested or flattened.
    (b"http.response.status_code", Field::Status, 3),
    (b"event.duration", Field::Latency(LatencyUnit::Nanos), 7),
    (b"url.path", Field::Uri, 5),
    (b"url.original", Field::Uri, 6),
    (b"http.request.method", Field::Method, 2),
    (b"client.ip", Field::Client, 3),
    (b"source.ip", Field::Client, 4),
    (b"http.request.id", Field::RequestId, 2),
    (b"user_agent.original", Field::NotBody, 0),
    // OpenTelemetry log records: the time in nanoseconds, HTTP semantic
    // conventions in `attributes`.
    (b"timeUnixNano", Field::Time, 5),
    (b"observedTimeUnixNano", Field::Time, 6),
    (b"attributes.http.response.status_code", Field::Status, 4),
    (b"attributes.http.request.method", Field::Method, 3),
    (b"attributes.url.path", Field::Uri, 7),
    (b"attributes.http.route", Field::Uri, 8),
    (b"attributes.client.address", Field::Client, 5),
    // Common shapes without flags: a status nested in `response` (lnav's
    // test log), Cloudflare's logpush fields, `http.status_code`; Python's
    // `logging` time (`2026-11-27 10:00:00,123`) as python-json-logger
    // names it; a forwarded-for list as the client.
    (b"response.status", Field::Status, 5),
    (b"EdgeResponseStatus", Field::Status, 6),
    (b"http.status_code", Field::Status, 7),
    (b"asctime", Field::Time, 7),
    (b"EdgeStartTimestamp", Field::Time, 8),
    (b"ClientRequestURI", Field::Uri, 9),
    (b"ClientRequestMethod", Field::Method, 4),
    (b"ClientIP", Field::Client, 6),
    (b"x_forwarded_for", Field::Client, 7),
    (b"http_x_forwarded_for", Field::Client, 8),
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

    /// The field of the key `line[start..end]`. Inlined into the parse
    /// loop, where it runs once per key (the call alone cost 5 %).
    #[inline(always)]
    fn lookup(&self, line: &[u8], start: usize, end: usize) -> Option<(Field, u8)> {
        let len = end - start;
        if len > 16 {
            let key = &line[start..end];
            return self.long.iter().find(|(name, _, _)| &name[..] == key).map(|&(_, f, p)| (f, p));
        }
        let packed = match line.get(start..start + 16) {
            Some(window) => {
                let word = u128::from_le_bytes(window.try_into().expect("16 bytes"));
                word & KEY_MASKS[len]
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

/// `KEY_MASKS[n]` keeps the low `n` bytes of a word: a load where a shift
/// of a `u128` by a variable amount is several instructions and branches.
const KEY_MASKS: [u128; 17] = {
    let mut masks = [u128::MAX; 17];
    let mut n = 0;
    while n < 16 {
        masks[n] = (1u128 << (8 * n)) - 1;
        n += 1;
    }
    masks
};

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
    /// The dotted names' proper prefixes (`http`, `http.response`): the
    /// keys whose objects are descended into.
    nested: Vec<Box<[u8]>>,
    times: TimeParser,
    /// Each command-line override's field, name and use so far.
    overrides: Vec<(Field, Box<[u8]>, OverrideUse)>,
    /// The keys the last lines were written with, read in place.
    layout: Layout,
}

/// How deep dotted names go into nested objects.
const MAX_NESTING: usize = 4;

/// The longest dotted name read from nested objects.
const MAX_PATH: usize = 128;

/// Priorities of the fields found so far on a line (`u8::MAX` = none yet).
struct Found {
    time: u8,
    status: u8,
    latency: u8,
    uri: u8,
    client: u8,
    request_id: u8,
    /// Whether a key for the path, request line, method, a trace's name or
    /// rating, or a status without a value was read: with a status found,
    /// what makes a line a request.
    request: bool,
}

impl Found {
    /// Nothing found yet.
    fn new() -> Found {
        Found {
            time: u8::MAX,
            status: u8::MAX,
            latency: u8::MAX,
            uri: u8::MAX,
            client: u8::MAX,
            request_id: u8::MAX,
            request: false,
        }
    }

    /// The priority `field` was found with, for the fields tracked here.
    fn priority(&self, field: Field) -> Option<u8> {
        match field {
            Field::Time => Some(self.time),
            Field::Status => Some(self.status),
            Field::Latency(_) | Field::UpstreamLatency => Some(self.latency),
            Field::Uri | Field::Request => Some(self.uri),
            Field::Client => Some(self.client),
            Field::RequestId => Some(self.request_id),
            Field::Method | Field::NotBody | Field::Service | Field::Operation | Field::Rating => None,
        }
    }
}

impl ParseLine for NdjsonParser {
    fn parse_line<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        self.parse(line, full, record)
    }

    fn lookup<'a>(&mut self, line: &'a [u8], field: FieldRef<'_>) -> Option<Cow<'a, [u8]>> {
        match field {
            FieldRef::Path(path) => find_path(line, 0, path.as_bytes()).and_then(scalar_text),
            FieldRef::Variable(_) => None,
        }
    }

    fn lookup_paths<'a>(&mut self, line: &'a [u8], paths: &[&str], found: &mut [Option<Cow<'a, [u8]>>]) {
        const MAX: usize = 8;
        let mut raw: [Option<&'a [u8]>; MAX] = [None; MAX];
        let mut names: [&[u8]; MAX] = [b""; MAX];
        let count = paths.len().min(MAX);
        for (name, path) in names.iter_mut().zip(paths) {
            *name = path.as_bytes();
        }
        find_paths(line, 0, &names[..count], &mut raw[..count]);
        for (slot, token) in found.iter_mut().zip(raw) {
            *slot = token.and_then(scalar_text);
        }
    }

    fn override_uses(&self) -> Vec<(String, OverrideUse)> {
        // The inherent method, which the scan of one parser uses too.
        NdjsonParser::override_uses(self).collect()
    }
}

impl Default for NdjsonParser {
    fn default() -> Self {
        NdjsonParser::new(FieldOverrides::default())
    }
}

impl NdjsonParser {
    /// A parser that finds fields by `fields` (built-in names by default).
    pub fn new(fields: FieldOverrides) -> Self {
        let table = fields.table();
        let mut nested: Vec<Box<[u8]>> = Vec::new();
        let names = BUILTIN_KEYS.iter().map(|(name, _, _)| *name).chain(fields.names.iter().map(|(n, _)| &n[..]));
        for name in names {
            for (at, _) in name.iter().enumerate().filter(|&(at, &b)| b == b'.' && at < MAX_PATH) {
                if !nested.iter().any(|p| **p == name[..at]) {
                    nested.push(name[..at].into());
                }
            }
        }
        let overrides =
            fields.names.iter().map(|(name, field)| (*field, name.clone(), OverrideUse::default())).collect();
        NdjsonParser { keys: table, nested, times: TimeParser::default(), overrides, layout: Layout::default() }
    }

    /// `(name, use)` of every command-line override.
    pub fn override_uses(&self) -> impl Iterator<Item = (String, OverrideUse)> + '_ {
        self.overrides.iter().map(|(_, name, used)| (String::from_utf8_lossy(name).into_owned(), *used))
    }

    /// Parses one line. See [`super::LineParser::parse`]. Without `full`,
    /// only time, status and latency are filled in.
    ///
    /// # Complexity
    ///
    /// One pass over the line.
    pub fn parse<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        self.read::<true>(line, full, record)
    }

    /// [`NdjsonParser::parse`] by the walk alone, the learned layout
    /// neither used nor taught: what the layout must equal.
    #[cfg(test)]
    pub(super) fn walk<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        self.read::<false>(line, full, record)
    }

    /// [`NdjsonParser::parse`], with the learned layout when `LAYOUT`.
    fn read<'a, const LAYOUT: bool>(
        &mut self,
        line: &'a [u8],
        full: bool,
        record: &mut Record<'a>,
    ) -> Result<(), Malformed> {
        let mut found = Found::new();
        let parsed = self.parse_object::<LAYOUT>(line, full, record, &mut found);
        if !self.overrides.is_empty() && parsed.is_ok() {
            self.count_overrides(&found, full);
        }
        // An object with no status, path, request line or method key is an
        // application's own line, not a request. Nearly every line of a
        // request log has a status, so the rest are looked at again, whole.
        let status_key = found.status != u8::MAX || record.invalid.status;
        match parsed {
            Ok(()) if !status_key && !found.request && (full || !self.has_request_key(line)) => {
                Err(Malformed::NotRequest)
            }
            parsed => parsed,
        }
    }

    /// Whether `line`, read in full, has a key only requests have (see
    /// [`Field::is_request`]). By the walk alone, so that the layout counts
    /// and learns from each line once; without the overrides, which count
    /// each line once too.
    #[inline(never)]
    fn has_request_key(&mut self, line: &[u8]) -> bool {
        let overrides = std::mem::take(&mut self.overrides);
        let read = self.read::<false>(line, true, &mut Record::default());
        self.overrides = overrides;
        read != Err(Malformed::NotRequest)
    }

    /// Tallies, after a line, whether each override gave its field. With
    /// the built-in names for that field dropped, a field found came from
    /// the override.
    fn count_overrides(&mut self, found: &Found, full: bool) {
        for (field, _, used) in &mut self.overrides {
            if full || field.is_summary() {
                used.looked += 1;
                used.matched += u64::from(found.priority(*field).is_some_and(|p| p != u8::MAX));
            }
        }
    }

    /// Reads the fields of the object on `line` into `record`, first
    /// against the learned layout when `LAYOUT`.
    fn parse_object<'a, const LAYOUT: bool>(
        &mut self,
        line: &'a [u8],
        full: bool,
        record: &mut Record<'a>,
        found: &mut Found,
    ) -> Result<(), Malformed> {
        let open = skip_ws(line, 0);
        if line.get(open) != Some(&b'{') {
            return Err(Malformed::NotJsonObject);
        }
        let followed = if LAYOUT { self.follow_layout(line, open + 1, full, record, found)? } else { Followed::None };
        let mut pos = match followed {
            Followed::End => return Ok(()),
            Followed::Key(pos) => pos,
            Followed::None => {
                let pos = skip_ws(line, open + 1);
                if line.get(pos) == Some(&b'}') {
                    return end_of_object(line, pos);
                }
                pos
            }
        };
        loop {
            if line.get(pos) != Some(&b'"') {
                return Err(broken(line, pos));
            }
            let key_end = skip_string(line, pos).ok_or(Malformed::Truncated)?;
            let key_start = pos + 1;
            pos = skip_ws(line, key_end);
            if line.get(pos) != Some(&b':') {
                return Err(broken(line, pos));
            }
            let value_start = skip_ws(line, pos + 1);
            let value_end = skip_value(line, value_start).ok_or_else(|| value_cut_short(line, value_start))?;
            if let b'{' | b'[' = line[value_start] {
                // No field holds an object; a dotted name may be inside.
                self.enter(record, found, line, key_start..key_end - 1, value_start..value_end, full);
            } else if let Some((field, priority)) = self.keys.lookup(line, key_start, key_end - 1)
                && (full || field.is_summary())
            {
                self.assign(record, found, field, priority, line, value_start..value_end);
            }
            match after_value(line, value_end)? {
                Some(key) => pos = key,
                None => return Ok(()),
            }
        }
    }

    /// Reads the keys of the line at `pos` (just past the opening brace)
    /// that the learned [`Layout`] expects, in place; see the `layout`
    /// module for why this reads exactly what the walk would. Returns where
    /// the walk takes over, or that the layout read the line to its end;
    /// a broken line is the error the walk would give.
    #[inline(always)]
    fn follow_layout<'a>(
        &mut self,
        line: &'a [u8],
        mut pos: usize,
        full: bool,
        record: &mut Record<'a>,
        found: &mut Found,
    ) -> Result<Followed, Malformed> {
        let mut index = 0;
        loop {
            let (value_start, field) = match self.layout.expect(index, line, pos) {
                Expected::Value(start, field) if starts_scalar(line, start) => (start, field),
                // An expected key with an object, an array or a space
                // after it: a miss, and nothing to learn.
                Expected::Value(..) => {
                    self.layout.note(true);
                    break;
                }
                expected => {
                    self.layout.learn(index, line, pos, &self.keys);
                    // A line read past the layout's end is a hit; one
                    // an empty layout did not read at all is neither.
                    let missed = matches!(expected, Expected::Missed);
                    if missed || index > 0 {
                        self.layout.note(missed);
                    }
                    break;
                }
            };
            // What `skip_value` does for a string or a literal, without the
            // call: it is the one cost left per key.
            let value_end = match line[value_start] {
                b'"' => skip_string(line, value_start),
                _ => skip_literal(line, value_start),
            }
            .ok_or_else(|| value_cut_short(line, value_start))?;
            if let Some((field, priority)) = field
                && (full || field.is_summary())
            {
                self.assign(record, found, field, priority, line, value_start..value_end);
            }
            index += 1;
            if line.get(value_end) == Some(&b',') {
                pos = value_end + 1;
                continue;
            }
            // The object ends here, or goes on in a way the layout does
            // not read (a space before the comma).
            self.layout.note(false);
            return Ok(match after_value(line, value_end)? {
                Some(key) => Followed::Key(key),
                None => Followed::End,
            });
        }
        Ok(match index {
            0 => Followed::None,
            _ => Followed::Key(skip_ws(line, pos)),
        })
    }

    /// Reads the object or array `line[value]`, the value of the top-level
    /// key `line[key]`, if that key starts a dotted name; marks it as not a
    /// body when the key names the request or a header (`request`,
    /// `request_body`, `user_agent`). Kept out of the parse loop, which it
    /// would slow for lines without nested fields.
    #[inline(never)]
    fn enter<'a>(
        &mut self,
        record: &mut Record<'a>,
        found: &mut Found,
        line: &'a [u8],
        key: std::ops::Range<usize>,
        value: std::ops::Range<usize>,
        full: bool,
    ) {
        if full && let Some((Field::NotBody | Field::Request, _)) = self.keys.lookup(line, key.start, key.end) {
            record.not_body.push(value.clone());
        }
        let name = &line[key];
        if self.nested.iter().any(|p| **p == *name) {
            let mut path = [0u8; MAX_PATH];
            path[..name.len()].copy_from_slice(name);
            self.descend(record, found, line, value.start, &mut path, name.len(), full, 1);
        }
    }

    /// Reads the fields of the object or array at `start` whose dotted
    /// names continue `path[..len]`, and goes deeper where a name does.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn descend<'a>(
        &mut self,
        record: &mut Record<'a>,
        found: &mut Found,
        line: &'a [u8],
        start: usize,
        path: &mut [u8; MAX_PATH],
        len: usize,
        full: bool,
        depth: usize,
    ) {
        let array = line[start] == b'[';
        let mut pos = skip_ws(line, start + 1);
        while let Some(&b) = line.get(pos) {
            let (key, value) = if array {
                // An OpenTelemetry attribute: `{"key":"…","value":{"intValue":…}}`.
                if b != b'{' {
                    return;
                }
                let Some(end) = skip_value(line, pos) else { return };
                let Some((key, value)) = attribute(line, pos) else {
                    pos = next_item(line, end);
                    continue;
                };
                pos = next_item(line, end);
                (key, value)
            } else {
                if b != b'"' {
                    return;
                }
                let Some(key_end) = skip_string(line, pos) else { return };
                let key = pos + 1..key_end - 1;
                let colon = skip_ws(line, key_end);
                if line.get(colon) != Some(&b':') {
                    return;
                }
                let value_start = skip_ws(line, colon + 1);
                let Some(value_end) = skip_value(line, value_start) else { return };
                pos = next_item(line, value_end);
                (key, value_start..value_end)
            };
            let name = &line[key];
            let total = len + 1 + name.len();
            if total > path.len() {
                continue;
            }
            path[len] = b'.';
            path[len + 1..total].copy_from_slice(name);
            if matches!(line.get(value.start), Some(b'{' | b'[')) {
                if depth < MAX_NESTING && self.nested.iter().any(|p| **p == path[..total]) {
                    self.descend(record, found, line, value.start, path, total, full, depth + 1);
                }
            } else if let Some((field, priority)) = self.keys.lookup(&path[..], 0, total)
                && (full || field.is_summary())
            {
                self.assign(record, found, field, priority, line, value);
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
            Field::Status if priority < found.status => match parse_status(text).or_else(|| parse_loose_status(text)) {
                Some(status) => (record.status, found.status) = (Some(status), priority),
                None => {
                    record.invalid.status |= !is_absent(text);
                    // A status key, even `null`, makes a request.
                    found.request = true;
                }
            },
            Field::Latency(unit) if priority < found.latency => match unit.micros(text) {
                Some(us) => (record.latency_us, found.latency) = (Some(us), priority),
                None => record.invalid.latency |= !is_absent(text),
            },
            Field::UpstreamLatency if priority < found.latency => match upstream_micros(text) {
                Some(us) => (record.latency_us, found.latency) = (Some(us), priority),
                None => record.invalid.latency |= !is_absent(text),
            },
            Field::Uri | Field::Request => {
                found.request = true;
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
            Field::Method => {
                found.request = true;
                record.method = Some(text);
            }
            Field::Client if priority < found.client && !is_absent(text) => {
                record.client = Some(first_forwarded(text));
                found.client = priority;
            }
            Field::RequestId if priority < found.request_id && !is_absent(text) => {
                record.request_id = Some(text);
                found.request_id = priority;
            }
            Field::Service => record.service = Some(text),
            Field::Operation => {
                found.request = true;
                record.operation = Some(text);
            }
            Field::Rating => {
                found.request = true;
                record.rating = TraceRating::parse(text);
            }
            Field::NotBody => record.not_body.push(span),
            _ => {}
        }
    }
}

/// Where reading a line against the learned layout left off.
enum Followed {
    /// No expected key was read: the walk starts just past the opening
    /// brace.
    None,
    /// The walk takes over at the key starting here.
    Key(usize),
    /// The line was read to its end, a well-formed object.
    End,
}

/// After a value at `end`: the start of the next item of its container, or
/// the end of the line when there is none.
fn next_item(line: &[u8], end: usize) -> usize {
    let pos = skip_ws(line, end);
    match line.get(pos) {
        Some(b',') => skip_ws(line, pos + 1),
        _ => line.len(),
    }
}

/// The key and the value span of an OpenTelemetry attribute at `start`:
/// `{"key":"http.response.status_code","value":{"intValue":"400"}}`.
fn attribute(line: &[u8], start: usize) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let (mut key, mut value) = (None, None);
    let mut pos = skip_ws(line, start + 1);
    while line.get(pos) == Some(&b'"') {
        let name_end = skip_string(line, pos)?;
        let name = &line[pos + 1..name_end - 1];
        let colon = skip_ws(line, name_end);
        let value_start = skip_ws(line, colon + 1);
        let value_end = skip_value(line, value_start)?;
        match name {
            b"key" if line[value_start] == b'"' => key = Some(value_start + 1..value_end - 1),
            // `{"intValue":"400"}`: the one value inside.
            b"value" if line[value_start] == b'{' => {
                let inner_key = skip_ws(line, value_start + 1);
                let inner_key_end = skip_string(line, inner_key)?;
                let inner = skip_ws(line, skip_ws(line, inner_key_end) + 1);
                value = Some(inner..skip_value(line, inner)?);
            }
            _ => {}
        }
        pos = next_item(line, value_end);
    }
    Some((key?, value?))
}

/// After a top-level value ending at `end`: the start of the next key, or
/// `None` when the object closes there and nothing follows it.
#[inline(always)]
fn after_value(line: &[u8], end: usize) -> Result<Option<usize>, Malformed> {
    let pos = skip_ws(line, end);
    match line.get(pos) {
        Some(b',') => Ok(Some(skip_ws(line, pos + 1))),
        Some(b'}') => end_of_object(line, pos).map(|()| None),
        _ => Err(broken(line, pos)),
    }
}

/// Why the value at `line[start]` could not be skipped: a string or
/// container not closed is cut short, a literal that is empty is broken.
fn value_cut_short(line: &[u8], start: usize) -> Malformed {
    match line.get(start) {
        None | Some(b'"' | b'{' | b'[') => Malformed::Truncated,
        Some(_) => Malformed::InvalidJson,
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

    /// The fields of `line`; its record also when the line is no request
    /// (which [`objects_without_a_status_path_or_method_are_not_requests`]
    /// tests).
    fn parse(line: &str) -> Result<Record<'_>, Malformed> {
        let mut record = Record::default();
        match NdjsonParser::default().parse(line.as_bytes(), true, &mut record) {
            Ok(()) | Err(Malformed::NotRequest) => Ok(record),
            Err(kind) => Err(kind),
        }
    }

    #[test]
    fn objects_without_a_status_path_or_method_are_not_requests() {
        let kind = |line: &str, full: bool| NdjsonParser::default().parse(line.as_bytes(), full, &mut Record::default());
        for full in [true, false] {
            for app in [r#"{}"#, r#"{"level":"info","msg":"started","time":"2026-11-27T10:00:00Z","duration_ms":3}"#] {
                assert_eq!(kind(app, full), Err(Malformed::NotRequest), "{app}");
            }
            for request in [
                r#"{"status":200}"#,
                r#"{"status":"abc"}"#,
                r#"{"status":null}"#,
                r#"{"msg":"x","path":"/v3/p1/tracker"}"#,
                r#"{"request":"GET / HTTP/1.1"}"#,
                r#"{"method":"GET"}"#,
                r#"{"http":{"request":{"method":"PUT"}}}"#,
                r#"{"code":"403","trace_name":"x"}"#,
                r#"{"trace_name":"deleteTracker","trace_rating":"incident"}"#,
            ] {
                assert_eq!(kind(request, full), Ok(()), "{request}");
            }
        }
        // Still NDJSON to detection.
        assert_eq!(reads(&[br#"{"msg":"x"}"#]), [true]);
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
    fn dotted_names_match_nested_or_flattened() {
        let nested = parse(
            r#"{"http":{"request":{"method":"PUT"},"response":{"status_code":409}},"event":{"duration":2500000},"url":{"path":"/v3/p1/tracker"},"client":{"ip":"10.0.0.9"}}"#,
        )
        .unwrap();
        let flat = parse(
            r#"{"http.request.method":"PUT","http.response.status_code":409,"event.duration":2500000,"url.path":"/v3/p1/tracker","client.ip":"10.0.0.9"}"#,
        )
        .unwrap();
        for r in [nested, flat] {
            assert_eq!(r.status, Some(409));
            assert_eq!(r.latency_us, Some(2_500), "event.duration is in nanoseconds");
            assert_eq!(r.method, Some(&b"PUT"[..]));
            assert_eq!(r.uri, Some(&b"/v3/p1/tracker"[..]));
            assert_eq!(r.client, Some(&b"10.0.0.9"[..]));
        }
        // A top-level name still wins over a nested one.
        assert_eq!(parse(r#"{"http":{"response":{"status_code":500}},"status":200}"#).unwrap().status, Some(200));
        // Objects that start no dotted name are skipped whole.
        assert_eq!(parse(r#"{"httpx":{"response":{"status_code":500}}}"#).unwrap().status, None);
    }

    #[test]
    fn opentelemetry_attributes_and_nanosecond_times() {
        let r = parse(
            r#"{"timeUnixNano":"1795773610000000000","attributes":[{"key":"other","value":{"boolValue":true}},{"key":"http.response.status_code","value":{"intValue":"404"}},{"key":"url.path","value":{"stringValue":"/v3/p1/trackers/1"}}]}"#,
        )
        .unwrap();
        assert_eq!(r.time, Some(1_795_773_610_000));
        assert_eq!(r.status, Some(404));
        assert_eq!(r.uri, Some(&b"/v3/p1/trackers/1"[..]));
        // Attributes that are not `{"key","value"}` pairs are passed over.
        assert_eq!(parse(r#"{"attributes":[1,{"key":"x"},{"value":{}}]}"#).unwrap().status, None);
    }

    #[test]
    fn dotted_overrides_are_counted_when_they_match() {
        let mut fields = FieldOverrides::new(LatencyUnit::Seconds);
        fields.set(Field::Status, "response.status").set(Field::Latency(LatencyUnit::Seconds), "timing.total");
        let mut p = NdjsonParser::new(fields);
        let mut r = Record::default();
        p.parse(br#"{"response":{"status":503},"timing":{"total":0.25},"status":200}"#, true, &mut r).unwrap();
        assert_eq!((r.status, r.latency_us), (Some(503), Some(250_000)));
        let mut r = Record::default();
        p.parse(br#"{"response.status":"502"}"#, true, &mut r).unwrap();
        assert_eq!(r.status, Some(502));
        let uses: Vec<_> = p.override_uses().map(|(name, used)| (name, used.looked, used.matched)).collect();
        assert_eq!(uses, [("response.status".to_string(), 2, 2), ("timing.total".to_string(), 2, 1)]);
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
