//! `cts-logscan lines`: the raw lines behind the figures. The same parallel
//! scan as [`super::scan`] (reader, format detection, line scanner,
//! filters), but instead of counting, each worker keeps the lines of its
//! block that hold an error body of a wanted code, and the blocks are
//! handed out in input order, each line with its input and line number.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use memchr::memchr;
use rayon::prelude::*;
use serde::Serialize;

use super::{InputLayouts, LineScanner, ScanOptions};
use crate::aggregate::{Collect, LinePosition, LineSink, normalize_endpoint, project_id};
use crate::error::Error;
use crate::extract::{ErrorBody, Extractor};
use crate::filter::CodePattern;
use crate::format::Format;
use crate::group_by::ByField;
use crate::input::{BlockContent, BlockReader, Source, Span};
use crate::lex::time::{EpochMillis, format_rfc3339};
use crate::record::{Malformed, Record};

/// What stands for a line over `--max-line-len`, which is not kept.
const LONG_LINE: &[u8] = b"(a line longer than --max-line-len: its error body counts, its text is not kept)";

/// A line that holds an error body of a wanted code.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatchedLine {
    /// The input, as given (`<stdin>` for standard input).
    pub input: String,
    /// Its line number in the input, from 1.
    pub line: u64,
    /// The line as read, without its newline.
    #[serde(skip)]
    pub raw: Vec<u8>,
    /// The request's time (RFC 3339), if it has one.
    pub time: Option<String>,
    /// The HTTP status.
    pub status: Option<u16>,
    /// The latency in milliseconds.
    pub latency_ms: Option<f64>,
    /// The method.
    pub method: Option<String>,
    /// The URI.
    pub uri: Option<String>,
    /// The client address.
    pub client: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// The error code.
    pub code: String,
    /// The error message, if any.
    pub message: Option<String>,
    /// Why the line is no request of its format, when it is malformed (its
    /// error body still counts, in `in_malformed_lines`).
    pub malformed: Option<&'static str>,
}

/// What a run of [`matching_lines`] did.
#[derive(Debug, Default)]
pub struct Matched {
    /// Lines handed out.
    pub lines: u64,
    /// Inputs that could not be read (fully), and directories that could
    /// not be listed: every line that could be read was handed out.
    pub errors: Vec<Error>,
}

/// `NAME=VALUE` (`lines --by`): a line is kept only when its field `NAME`
/// is `VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldIs {
    field: LineField,
    value: String,
}

/// The fields [`FieldIs`] can name.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LineField {
    /// The path with ids as `{id}`, as `--top` lists it.
    Endpoint,
    Project,
    Client,
    Source,
    Status,
    Method,
    Uri,
    RequestId,
    /// Any other `--by` field: a built-in name (`user`, `operation`, …),
    /// a dotted NDJSON path or a `$variable`.
    By(ByField),
}

impl FieldIs {
    /// Parses `NAME=VALUE`.
    ///
    /// # Errors
    ///
    /// When there is no `=` or `NAME` is not a field it knows, naming
    /// those it does.
    pub fn parse(text: &str) -> Result<FieldIs, String> {
        const NAMES: &str = "endpoint, project, client, source, status, method, uri, request_id, user, operation, \
                             user_agent, a dotted NDJSON path (user.name) or a $variable ($host)";
        let Some((name, value)) = text.split_once('=') else {
            return Err(format!("give NAME=VALUE, with NAME one of {NAMES}"));
        };
        let field = match name {
            "endpoint" => LineField::Endpoint,
            "project" => LineField::Project,
            "client" => LineField::Client,
            "source" => LineField::Source,
            "status" => LineField::Status,
            "method" => LineField::Method,
            "uri" => LineField::Uri,
            "request_id" => LineField::RequestId,
            other => match ByField::parse(other) {
                Ok(field) if !field.is_listed() => LineField::By(field),
                _ => return Err(format!("{other:?} is not a field lines can select by; give one of {NAMES}")),
            },
        };
        Ok(FieldIs { field, value: value.to_owned() })
    }

    /// The field to look up on each error line, when it is not one the
    /// record carries.
    fn looked_up(&self) -> Option<&ByField> {
        match &self.field {
            LineField::By(field) => Some(field),
            _ => None,
        }
    }

    /// Whether the line of `record` (none for a malformed line) and `body`
    /// has this value.
    fn holds<'a>(&self, record: Option<&Record<'a>>, body: &ErrorBody<'_>) -> bool {
        let bytes = |get: fn(&Record<'a>) -> Option<&'a [u8]>| record.and_then(get) == Some(self.value.as_bytes());
        let uri = || record.and_then(|r| r.uri).map(String::from_utf8_lossy);
        match &self.field {
            LineField::By(field) => record.and_then(|r| r.by_value(field.name())) == Some(self.value.as_bytes()),
            LineField::Endpoint => uri().is_some_and(|uri| normalize_endpoint(&uri) == self.value),
            LineField::Project => uri().is_some_and(|uri| project_id(&uri) == Some(self.value.as_str())),
            LineField::Client => bytes(|r| r.client),
            LineField::Source => bytes(|r| r.source),
            LineField::Method => bytes(|r| r.method),
            LineField::Uri => bytes(|r| r.uri),
            LineField::Status => {
                record.and_then(|r| r.status).or(body.status).is_some_and(|s| s.to_string() == self.value)
            }
            LineField::RequestId => {
                let id = record.and_then(|r| r.request_id).or(body.request_id.map(str::as_bytes));
                id == Some(self.value.as_bytes())
            }
        }
    }
}

/// Hands every line of `sources` (directories expanded) that holds an
/// error body whose code matches `options.codes` (any code when empty),
/// that the time and status filters keep and that has every value of
/// `by`, to `emit`, in input order; stops early when `emit` returns
/// `false`.
///
/// # Errors
///
/// When the worker threads cannot be started, or a relative time is asked
/// of inputs that cannot be read twice.
pub fn matching_lines(
    sources: Vec<Source>,
    options: &ScanOptions,
    by: &[FieldIs],
    emit: impl FnMut(MatchedLine) -> bool + Send,
) -> Result<Matched, Error> {
    let (sources, mut errors) = crate::input::expand(sources, options.hidden);
    let filter = super::resolve_filter(&sources, options)?;
    let options = &ScanOptions { by: by.iter().filter_map(FieldIs::looked_up).cloned().collect(), ..options.clone() };
    let codes = &options.codes;
    let pool = super::worker_pool(options.threads)?;
    let extractor = Extractor::default();
    let names: Vec<String> = sources.iter().map(ToString::to_string).collect();
    let mut layouts = InputLayouts::new(sources.len(), options.format.as_ref().map(Format::kind));
    let mut reader = BlockReader::spans(sources.into_iter().map(Span::whole).collect(), options.reader);
    let stopped = AtomicBool::new(false);
    let in_order =
        Mutex::new(InOrder { emit, names, next: 0, pending: BTreeMap::new(), lines_before: Vec::new(), emitted: 0 });
    let mut sequence = 0u64;
    pool.install(|| {
        reader
            .by_ref()
            .take_while(|_| !stopped.load(Ordering::Relaxed))
            .filter_map(|block| {
                let buffer = layouts.prepare(block.file as usize, &block)?;
                sequence += 1;
                Some((sequence - 1, block, buffer))
            })
            .par_bridge()
            .for_each_init(
                || LineScanner::new(&extractor, options, &filter, Collect::default()),
                |scanner, (sequence, block, layout)| {
                    let mut found = Found { codes, by, lines: Vec::new() };
                    let lines = match &block.content {
                        BlockContent::Lines(buf) => {
                            let first = LinePosition { file: block.file, block: block.index, line: 0 };
                            let lines = scanner.scan(buf.as_slice(), first, &layout, &mut found);
                            attach_raw(buf.as_slice(), &mut found.lines);
                            lines
                        }
                        BlockContent::LongLine { sample, .. } => {
                            let position = LinePosition { file: block.file, block: block.index, line: 0 };
                            scanner.long_line(sample, position, &mut found);
                            for (_, matched) in &mut found.lines {
                                matched.raw = LONG_LINE.to_vec();
                            }
                            1
                        }
                    };
                    let done = BlockLines { file: block.file as usize, lines, found: found.lines };
                    let mut in_order = in_order.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if !in_order.submit(sequence, done) {
                        stopped.store(true, Ordering::Relaxed);
                    }
                },
            );
    });
    let lines = in_order.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner).emitted;
    if !stopped.load(Ordering::Relaxed) {
        errors.extend(reader.take_errors().into_iter().map(|(_, error)| error));
    }
    Ok(Matched { lines, errors })
}

/// The lines of one block that match, each with its number in the block.
struct BlockLines {
    file: usize,
    lines: u64,
    found: Vec<(u64, MatchedLine)>,
}

/// Blocks handed out in the order they were read, whichever worker
/// finishes first, with each line's number in its input.
struct InOrder<F> {
    emit: F,
    names: Vec<String>,
    next: u64,
    pending: BTreeMap<u64, BlockLines>,
    /// Per input, the lines of its blocks handed out so far.
    lines_before: Vec<u64>,
    emitted: u64,
}

impl<F: FnMut(MatchedLine) -> bool> InOrder<F> {
    /// Takes block `sequence` and hands out every block that is now next;
    /// `false` once `emit` asked to stop.
    fn submit(&mut self, sequence: u64, block: BlockLines) -> bool {
        self.pending.insert(sequence, block);
        while let Some(block) = self.pending.remove(&self.next) {
            self.next += 1;
            if self.lines_before.len() <= block.file {
                self.lines_before.resize(block.file + 1, 0);
            }
            let before = self.lines_before[block.file];
            self.lines_before[block.file] += block.lines;
            for (line, mut matched) in block.found {
                matched.input.clone_from(&self.names[block.file]);
                matched.line = before + line + 1;
                self.emitted += 1;
                if !(self.emit)(matched) {
                    return false;
                }
            }
        }
        true
    }
}

/// A worker's sink: keeps the lines with a wanted error body.
struct Found<'c> {
    codes: &'c [CodePattern],
    by: &'c [FieldIs],
    lines: Vec<(u64, MatchedLine)>,
}

impl Found<'_> {
    fn wanted(&self, record: Option<&Record<'_>>, body: &ErrorBody<'_>) -> bool {
        let code = self.codes.is_empty() || self.codes.iter().any(|pattern| pattern.matches(body.code));
        code && self.by.iter().all(|by| by.holds(record, body))
    }

    fn keep(
        &mut self,
        position: LinePosition,
        record: Option<&Record<'_>>,
        body: &ErrorBody<'_>,
        malformed: Option<Malformed>,
    ) {
        let text = |bytes: Option<&[u8]>| bytes.map(|b| String::from_utf8_lossy(b).into_owned());
        let matched = MatchedLine {
            input: String::new(),
            line: 0,
            raw: Vec::new(),
            time: record.and_then(|r| r.time).map(|t: EpochMillis| format_rfc3339(t)),
            status: record.and_then(|r| r.status),
            latency_ms: record.and_then(|r| r.latency_us).map(|us| us as f64 / 1000.0),
            method: text(record.and_then(|r| r.method)),
            uri: text(record.and_then(|r| r.uri)),
            client: text(record.and_then(|r| r.client)),
            request_id: text(record.and_then(|r| r.request_id)).or_else(|| body.request_id.map(str::to_owned)),
            code: body.code.to_owned(),
            message: body.message.map(str::to_owned),
            malformed: malformed.map(Malformed::name),
        };
        self.lines.push((position.line, matched));
    }
}

impl LineSink for Found<'_> {
    fn request(&mut self, record: &Record<'_>, body: Option<ErrorBody<'_>>, position: LinePosition, _: &Collect) {
        if let Some(body) = body.filter(|body| self.wanted(Some(record), body)) {
            self.keep(position, Some(record), &body, None);
        }
    }

    fn malformed(&mut self, kind: Malformed, position: LinePosition, body: Option<ErrorBody<'_>>) {
        if let Some(body) = body.filter(|body| self.wanted(None, body)) {
            self.keep(position, None, &body, Some(kind));
        }
    }

    fn blank(&mut self) {}

    fn filtered(&mut self, _: Option<EpochMillis>) {}
}

/// Gives each of `found` (by line number in `data`, ascending) its line's
/// bytes, in one pass over the lines up to the last one found.
fn attach_raw(data: &[u8], found: &mut [(u64, MatchedLine)]) {
    let (mut line, mut start) = (0u64, 0usize);
    for (wanted, matched) in found.iter_mut() {
        while line < *wanted && start < data.len() {
            start = memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i + 1);
            line += 1;
        }
        let end = memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let raw = &data[start..end];
        matched.raw = raw.strip_suffix(b"\r").unwrap_or(raw).to_vec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(line: u64) -> (u64, MatchedLine) {
        let empty = MatchedLine {
            input: String::new(),
            line: 0,
            raw: Vec::new(),
            time: None,
            status: None,
            latency_ms: None,
            method: None,
            uri: None,
            client: None,
            request_id: None,
            code: String::new(),
            message: None,
            malformed: None,
        };
        (line, empty)
    }

    #[test]
    fn by_names_a_field_and_its_value() {
        assert_eq!(
            FieldIs::parse("status=400").unwrap(),
            FieldIs { field: LineField::Status, value: "400".to_owned() }
        );
        assert!(FieldIs::parse("status").unwrap_err().contains("NAME=VALUE"));
        assert!(FieldIs::parse("a b=x").unwrap_err().contains("not a field"));
        assert!(matches!(FieldIs::parse("user.name=x").unwrap().field, LineField::By(_)));
        let record = Record {
            uri: Some(b"/v3/0123456789abcdef0123456789abcdef/tracker"),
            status: Some(400),
            ..Record::default()
        };
        let body = ErrorBody { code: "CTS.0003", message: None, status: None, request_id: Some("r1") };
        let holds = |text: &str| FieldIs::parse(text).unwrap().holds(Some(&record), &body);
        assert!(holds("endpoint=/v3/{id}/tracker") && holds("status=400") && holds("request_id=r1"));
        assert!(!holds("status=500") && !holds("client=10.0.0.1"));
    }

    #[test]
    fn found_lines_get_their_bytes() {
        let mut found = vec![matched(0), matched(2), matched(3)];
        attach_raw(b"a\nb\nc\r\nd", &mut found);
        let raw: Vec<&[u8]> = found.iter().map(|(_, m)| m.raw.as_slice()).collect();
        assert_eq!(raw, [&b"a"[..], b"c", b"d"]);
    }

    #[test]
    fn blocks_finished_out_of_order_are_handed_out_in_order_with_line_numbers() {
        let mut out = Vec::new();
        let mut in_order = InOrder {
            emit: |m: MatchedLine| {
                out.push((m.input.clone(), m.line));
                true
            },
            names: vec!["a.log".to_owned(), "b.log".to_owned()],
            next: 0,
            pending: BTreeMap::new(),
            lines_before: Vec::new(),
            emitted: 0,
        };
        // Block 1 (a.log's second, 5 lines) finishes before block 0.
        assert!(in_order.submit(1, BlockLines { file: 0, lines: 5, found: vec![matched(4)] }));
        assert!(in_order.submit(0, BlockLines { file: 0, lines: 10, found: vec![matched(0), matched(9)] }));
        assert!(in_order.submit(2, BlockLines { file: 1, lines: 3, found: vec![matched(1)] }));
        drop(in_order);
        let want = [("a.log", 1), ("a.log", 10), ("a.log", 15), ("b.log", 2)];
        assert_eq!(out, want.map(|(name, line)| (name.to_owned(), line)));
    }
}
