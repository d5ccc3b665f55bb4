//! Where a code's errors come from (`--top`): endpoints with ids
//! normalised, project ids, client addresses, and sample request ids with
//! the line they are on, so that the next step of an investigation is one
//! grep away.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::code_stats::{MAX_VALUE_LEN, truncate};
use super::heavy_hitters::HeavyHitters;
use super::{LinePosition, MAX_CODES, insert_bounded};
use crate::record::Record;

/// Request-id samples kept per code (the earliest in input order).
pub const MAX_REQUEST_SAMPLES: usize = 10;

/// A request id and where it was logged.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestSample {
    /// Where the line is.
    pub position: LinePosition,
    /// The request id.
    pub request_id: String,
}

/// Where one code's errors come from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    /// Normalised endpoints (`/v3/{id}/tracker`), without the method.
    pub endpoints: HeavyHitters,
    /// Project ids from `/v1.0|v3/{project_id}/…` paths.
    pub projects: HeavyHitters,
    /// Client addresses.
    pub clients: HeavyHitters,
    /// Where lines came from when their wrapper says (a syslog host, an
    /// LTS host or path).
    #[serde(default)]
    pub sources: HeavyHitters,
    /// The `--by` fields and a CTS trace's user, operation, resource,
    /// source and type, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, HeavyHitters>,
    /// The earliest request ids, with their lines.
    pub samples: Vec<RequestSample>,
    /// Where [`Breakdown::add`] builds an endpoint; empty between calls.
    #[serde(skip)]
    endpoint: String,
}

impl Breakdown {
    /// Counts one error line: `record`'s method, path, client and source,
    /// and its request id with `position`. `request_id` is asked only when
    /// the id would be kept.
    pub fn add<'r>(
        &mut self,
        record: &Record<'_>,
        request_id: impl FnOnce() -> Option<&'r str>,
        position: LinePosition,
    ) {
        let mut endpoint = std::mem::take(&mut self.endpoint);
        let facts = Facts::of(record, &mut endpoint);
        self.count(&facts);
        for by in record.by {
            self.count_field(by.name, &text(&by.value));
        }
        self.sample(position, request_id);
        endpoint.clear();
        self.endpoint = endpoint;
    }

    /// Counts one error line's facts.
    fn count(&mut self, facts: &Facts<'_>) {
        if let Some(endpoint) = facts.endpoint {
            self.endpoints.add(endpoint, 1);
        }
        if let Some(project) = &facts.project {
            self.projects.add(project, 1);
        }
        if let Some(client) = &facts.client {
            self.clients.add(client, 1);
        }
        if let Some(source) = &facts.source {
            self.sources.add(source, 1);
        }
    }

    /// Counts one error line's value of the field `name`, cut to
    /// [`MAX_VALUE_LEN`] bytes like a message.
    fn count_field(&mut self, name: &str, value: &str) {
        let value = truncate(value, MAX_VALUE_LEN);
        match self.fields.get_mut(name) {
            Some(counts) => counts.add(value, 1),
            None => self.fields.entry(name.to_owned()).or_default().add(value, 1),
        }
    }

    /// Every list, with its name in reports: `endpoints`, `projects`,
    /// `clients`, `sources`, then the fields.
    pub fn lists(&self) -> impl Iterator<Item = (&str, &HeavyHitters)> {
        let fixed = [
            ("endpoints", &self.endpoints),
            ("projects", &self.projects),
            ("clients", &self.clients),
            ("sources", &self.sources),
        ];
        fixed.into_iter().chain(self.fields.iter().map(|(name, counts)| (name.as_str(), counts)))
    }

    /// Keeps the request id of the line at `position` if it is among the
    /// earliest. Lines come in order: once the samples are full, a later
    /// line's id would not be kept, and is not looked at.
    fn sample<'r>(&mut self, position: LinePosition, request_id: impl FnOnce() -> Option<&'r str>) {
        let wanted = self.samples.len() < MAX_REQUEST_SAMPLES
            || self.samples.last().is_some_and(|last| position <= last.position);
        if let Some(id) = wanted.then(request_id).flatten().filter(|id| !id.is_empty()) {
            insert_bounded(
                &mut self.samples,
                RequestSample { position, request_id: id.to_owned() },
                MAX_REQUEST_SAMPLES,
            );
        }
    }

    /// Brings every summary down to its capacity (after a scan, before the
    /// state is written).
    pub fn prune(&mut self) {
        self.endpoints.prune();
        self.projects.prune();
        self.clients.prune();
        self.sources.prune();
        self.fields.values_mut().for_each(HeavyHitters::prune);
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Breakdown) {
        self.endpoints.merge(&other.endpoints);
        self.projects.merge(&other.projects);
        self.clients.merge(&other.clients);
        self.sources.merge(&other.sources);
        for (name, counts) in &other.fields {
            self.fields.entry(name.clone()).or_default().merge(counts);
        }
        for sample in &other.samples {
            insert_bounded(&mut self.samples, sample.clone(), MAX_REQUEST_SAMPLES);
        }
    }
}

/// What one error line adds to its code's breakdown.
struct Facts<'a> {
    /// `/v3/{id}/tracker`.
    endpoint: Option<&'a str>,
    project: Option<Cow<'a, str>>,
    client: Option<Cow<'a, str>>,
    source: Option<Cow<'a, str>>,
}

impl<'a> Facts<'a> {
    /// The facts of `record`; the endpoint is built in `endpoint`.
    fn of(record: &Record<'a>, endpoint: &'a mut String) -> Facts<'a> {
        let project = push_endpoint(record, endpoint);
        Facts {
            endpoint: project.is_some().then_some(&endpoint[..]),
            project: project.flatten(),
            client: record.client.map(text),
            source: record.source.map(text),
        }
    }
}

/// Appends `record`'s endpoint (`/v3/{id}/tracker`) to `out` and returns
/// its project id; `None` when the line has no path. An endpoint is its
/// normalised path alone: logs give the method in a request line, in a
/// field of its own or not at all, and one endpoint must count as one.
fn push_endpoint<'a>(record: &Record<'a>, out: &mut String) -> Option<Option<Cow<'a, str>>> {
    let uri = record.uri?;
    Some(match text(uri) {
        Cow::Borrowed(uri) => push_normalized(out, uri).map(Cow::Borrowed),
        Cow::Owned(uri) => push_normalized(out, &uri).map(|p| Cow::Owned(p.to_owned())),
    })
}

/// Breakdowns by code, for at most [`MAX_CODES`] codes like an
/// [`Aggregate`](super::Aggregate): past that, the largest codes in byte
/// order share one breakdown.
#[derive(Debug, Default)]
pub struct CodeBreakdowns {
    /// The codes kept on their own.
    pub codes: BTreeMap<String, Breakdown>,
    /// The codes beyond [`MAX_CODES`].
    pub other: Option<Breakdown>,
}

impl CodeBreakdowns {
    /// The breakdown that counts `code`.
    fn of(&mut self, code: &str) -> &mut Breakdown {
        if !self.codes.contains_key(code) {
            if self.codes.len() == MAX_CODES && self.codes.last_key_value().is_some_and(|(last, _)| **last < *code) {
                return self.other.get_or_insert_default();
            }
            self.codes.insert(code.to_owned(), Breakdown::default());
            if self.codes.len() > MAX_CODES
                && let Some((_, evicted)) = self.codes.pop_last()
            {
                self.other.get_or_insert_default().merge(&evicted);
            }
        }
        self.codes.get_mut(code).expect("kept or just inserted")
    }
}

/// The `--top` facts of one block's error lines, in line order, in one
/// text buffer: a block costs no hash tables and no allocation per value.
/// Replayed in block order ([`BreakdownLog::replay`]), the breakdowns are
/// those of adding every line in input order, for any thread count and
/// block size.
#[derive(Debug, Default)]
pub struct BreakdownLog {
    text: String,
    entries: Vec<LogEntry>,
    /// Each entry's field values: `(name, value)` spans of `text`.
    fields: Vec<(Range<usize>, Range<usize>)>,
}

/// One error line in a [`BreakdownLog`]: spans of its text.
#[derive(Debug)]
struct LogEntry {
    code: Range<usize>,
    endpoint: Option<Range<usize>>,
    project: Option<Range<usize>>,
    client: Option<Range<usize>>,
    source: Option<Range<usize>>,
    position: LinePosition,
    request_id: Option<Range<usize>>,
    /// Its span of [`BreakdownLog::fields`].
    fields: Range<usize>,
}

impl BreakdownLog {
    /// Logs an error line with `code`, as [`Breakdown::add`] would count
    /// it.
    pub fn add<'r>(
        &mut self,
        code: &str,
        record: &Record<'_>,
        request_id: impl FnOnce() -> Option<&'r str>,
        position: LinePosition,
    ) {
        // The endpoint is built in the text itself, not copied there.
        let start = self.text.len();
        let project = push_endpoint(record, &mut self.text);
        let endpoint = project.is_some().then_some(start..self.text.len());
        let entry = LogEntry {
            code: self.push_text(code),
            endpoint,
            project: project.flatten().map(|p| self.push_text(&p)),
            client: record.client.map(|c| self.push_text(&text(c))),
            source: record.source.map(|s| self.push_text(&text(s))),
            position,
            request_id: request_id().map(|id| self.push_text(id)),
            fields: self.fields.len()..self.fields.len() + record.by.len(),
        };
        for by in record.by {
            let field = (self.push_text(by.name), self.push_text(&text(&by.value)));
            self.fields.push(field);
        }
        self.entries.push(entry);
    }

    /// Empties the log, keeping its buffers.
    pub fn clear(&mut self) {
        self.text.clear();
        self.entries.clear();
        self.fields.clear();
    }

    fn push_text(&mut self, value: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(value);
        start..self.text.len()
    }

    /// Adds every logged line, in order, to its code's breakdown.
    pub fn replay(&self, breakdowns: &mut CodeBreakdowns) {
        let text = |span: &Option<Range<usize>>| span.clone().map(|span| &self.text[span]);
        for entry in &self.entries {
            let breakdown = breakdowns.of(&self.text[entry.code.clone()]);
            let facts = Facts {
                endpoint: text(&entry.endpoint),
                project: text(&entry.project).map(Cow::Borrowed),
                client: text(&entry.client).map(Cow::Borrowed),
                source: text(&entry.source).map(Cow::Borrowed),
            };
            breakdown.count(&facts);
            for (name, value) in &self.fields[entry.fields.clone()] {
                breakdown.count_field(&self.text[name.clone()], &self.text[value.clone()]);
            }
            breakdown.sample(entry.position, || text(&entry.request_id));
        }
    }
}

/// The path without its query string, with ids (UUIDs, 16+ hex digits,
/// numbers) replaced by `{id}`: `/v3/0a1b…e8f9/traces?limit=10` →
/// `/v3/{id}/traces`.
pub fn normalize_endpoint(uri: &str) -> String {
    let mut endpoint = String::with_capacity(uri.len());
    push_normalized(&mut endpoint, uri);
    endpoint
}

/// Appends [`normalize_endpoint`]`(uri)` to `out` and returns
/// [`project_id`]`(uri)`, from one walk over the path.
fn push_normalized<'u>(out: &mut String, uri: &'u str) -> Option<&'u str> {
    walk_path(uri, |segment, first, id| {
        if !first {
            out.push('/');
        }
        out.push_str(if id { "{id}" } else { segment });
    })
}

/// Calls `each` with every segment of `uri`'s path, whether it is the first
/// and whether it is an id ([`is_id`]), and returns the project id: a
/// 32-digit hex segment right after the first non-empty one, when that is a
/// version (`v3`, `v1.0`).
fn walk_path<'u>(uri: &'u str, mut each: impl FnMut(&'u str, bool, bool)) -> Option<&'u str> {
    let path = without_query(uri);
    let mut project = None;
    // `None` until the first non-empty segment; then whether it was a
    // version, until the segment after it.
    let mut after_version: Option<Option<bool>> = None;
    let mut start = 0;
    loop {
        // Segments are short: a byte loop, not a `memchr` call per segment.
        let end = path.as_bytes()[start..].iter().position(|&b| b == b'/').map_or(path.len(), |i| start + i);
        let segment = &path[start..end];
        let id = is_id(segment);
        each(segment, start == 0, id);
        after_version = match after_version {
            None if segment.is_empty() => None,
            None => Some(Some(is_version(segment))),
            Some(Some(true)) => {
                // An id of 32 bytes is 32 hex digits (a UUID has 36).
                project = (segment.len() == 32 && id).then_some(segment);
                Some(None)
            }
            Some(_) => Some(None),
        };
        if end == path.len() {
            return project;
        }
        start = end + 1;
    }
}

/// `v3`, `v1.0`: `v` and dot-separated digit groups.
fn is_version(segment: &str) -> bool {
    let Some(number) = segment.as_bytes().strip_prefix(b"v") else {
        return false;
    };
    // Digit groups: no empty group, so no leading, trailing or double dot.
    let mut group_len = 0;
    for &b in number {
        match b {
            b'0'..=b'9' => group_len += 1,
            b'.' if group_len > 0 => group_len = 0,
            _ => return false,
        }
    }
    group_len > 0
}

/// `bytes` as text: borrowed when it is UTF-8, as logged fields nearly
/// always are; an ASCII check first, which is cheaper than UTF-8
/// validation on these short fields.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    String::from_utf8_lossy(bytes)
}

/// `uri` up to its query string or fragment.
fn without_query(uri: &str) -> &str {
    memchr::memchr2(b'?', b'#', uri.as_bytes()).map_or(uri, |end| &uri[..end])
}

/// A UUID, 16 or more hex digits, or a number. Short segments, nearly all
/// of them, are told by their first bytes.
fn is_id(segment: &str) -> bool {
    let len = segment.len();
    if len < 16 {
        return len > 0 && segment.bytes().all(|b| b.is_ascii_digit());
    }
    // Digits are hex digits: a long number is long hex.
    segment.bytes().all(|b| b.is_ascii_hexdigit())
        || len == 36
            && segment.bytes().filter(|&b| b == b'-').count() == 4
            && segment.bytes().filter(u8::is_ascii_hexdigit).count() == 32
}

/// The project id of `/v1.0/{project_id}/…` or `/v3/{project_id}/…`
/// (any `/v<digits>[.<digits>]/`): a 32-digit hex segment after the version.
pub fn project_id(uri: &str) -> Option<&str> {
    walk_path(uri, |_, _, _| {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_normalised() {
        assert_eq!(normalize_endpoint("/v3/0a1b2c3d4e5f60718293a4b5c6d7e8f9/traces?limit=10"), "/v3/{id}/traces");
        assert_eq!(
            normalize_endpoint("/v3/p/trackers/3f2504e0-4f89-11d3-9a0c-0305e82c3301/x"),
            "/v3/p/trackers/{id}/x"
        );
        assert_eq!(normalize_endpoint("/v1.0/abc/notifications/12345"), "/v1.0/abc/notifications/{id}");
        assert_eq!(normalize_endpoint("/"), "/");
    }

    #[test]
    fn a_replayed_log_counts_as_adding_the_lines() {
        let uris: [&[u8]; 4] = [b"/v3/0a1b2c3d4e5f60718293a4b5c6d7e8f9/traces?x=1", b"/v1.0/x/1", b"/", b"/\xff/v3"];
        let mut direct: BTreeMap<String, Breakdown> = BTreeMap::new();
        let mut log = BreakdownLog::default();
        for i in 0..40u64 {
            let record = Record {
                method: (i % 3 != 0).then_some(&b"GET"[..]),
                uri: Some(uris[i as usize % uris.len()]),
                client: Some(if i % 2 == 0 { &b"10.0.0.1"[..] } else { b"10.0.0.\xfe" }),
                source: (i % 5 == 0).then_some(&b"web1"[..]),
                ..Record::default()
            };
            let code = ["CTS.0003", "CTS.0001"][i as usize % 2];
            let id = format!("r{i}");
            let position = LinePosition { file: 0, block: 0, line: i };
            direct.entry(code.to_owned()).or_default().add(&record, || Some(id.as_str()), position);
            log.add(code, &record, || Some(id.as_str()), position);
        }
        let mut replayed = CodeBreakdowns::default();
        log.replay(&mut replayed);
        assert_eq!(replayed.codes, direct);
        assert!(replayed.other.is_none());
    }

    #[test]
    fn codes_past_the_cap_share_one_breakdown() {
        let mut breakdowns = CodeBreakdowns::default();
        let record = Record { client: Some(b"10.0.0.1"), ..Record::default() };
        // In descending order, so that every code past the cap evicts one.
        for n in (0..=MAX_CODES).rev() {
            breakdowns.of(&format!("X.{n:05}")).add(&record, || None, LinePosition { file: 0, block: 0, line: 0 });
        }
        breakdowns.of("Z.1").add(&record, || None, LinePosition { file: 0, block: 0, line: 0 });
        assert_eq!(breakdowns.codes.len(), MAX_CODES);
        assert_eq!(breakdowns.codes.last_key_value().map(|(code, _)| code.as_str()), Some("X.09999"));
        assert_eq!(breakdowns.other.map(|other| other.clients.total()), Some(2));
    }

    #[test]
    fn ids_are_told_from_names() {
        for id in ["3f2504e0-4f89-11d3-9a0c-0305e82c3301", "0a1b2c3d4e5f6071", "12345", "0"] {
            assert!(is_id(id), "{id}");
        }
        for name in ["", "traces", "v3", "0a1b2c3d4e5f607", "3f2504e0-4f89-11d3-9a0c-0305e82c330x", "12a"] {
            assert!(!is_id(name), "{name}");
        }
    }

    #[test]
    fn versions() {
        for version in ["v3", "v1.0", "v10.2.3"] {
            assert!(is_version(version), "{version}");
        }
        for other in ["v", "v.1", "v1.", "v1..2", "x3", "v3a", ""] {
            assert!(!is_version(other), "{other}");
        }
    }

    #[test]
    fn project_ids() {
        assert_eq!(project_id("/v3/0a1b2c3d4e5f60718293a4b5c6d7e8f9/traces"), Some("0a1b2c3d4e5f60718293a4b5c6d7e8f9"));
        assert_eq!(
            project_id("/v1.0/9f8e7d6c5b4a39281706f5e4d3c2b1a0/user-resources"),
            Some("9f8e7d6c5b4a39281706f5e4d3c2b1a0")
        );
        assert_eq!(project_id("/v3/short/traces"), None);
        assert_eq!(project_id("/api/0a1b2c3d4e5f60718293a4b5c6d7e8f9/x"), None);
    }

    #[test]
    fn endpoints_and_samples() {
        let mut b = Breakdown::default();
        for (i, line) in [5u64, 3, 9].iter().enumerate() {
            let position = LinePosition { file: 0, block: 0, line: *line };
            let record = Record {
                method: Some(b"GET"),
                uri: Some(b"/v3/x/1"),
                client: Some(b"10.0.0.1"),
                source: Some(b"web1"),
                ..Record::default()
            };
            let id = format!("r{i}");
            b.add(&record, || Some(id.as_str()), position);
        }
        assert_eq!(b.endpoints.top(3), vec![("/v3/x/{id}".to_owned(), 3)]);
        assert_eq!(b.sources.top(3), vec![("web1".to_owned(), 3)]);
        assert_eq!(b.samples.iter().map(|s| s.request_id.as_str()).collect::<Vec<_>>(), ["r1", "r0", "r2"]);
    }
}
