//! The per-line work shared by the batch pipeline and `--follow`: split a
//! buffer of whole lines, take off each line's wrapper (LTS, syslog), parse
//! it with its format's parser, find and decode error bodies, and hand
//! every outcome to a [`LineSink`].

use std::sync::Arc;

use memchr::memchr;

use super::ScanOptions;
use crate::aggregate::{Collect, LinePosition, LineSink};
use crate::extract::{Extractor, Scratch};
use crate::filter::Filter;
use crate::format::{
    FieldRef, Format, FormatKind, Layout, LineParser, ParseLine, UnwrapBuf, WithParser, Wrapper, settle_invalid,
};
use crate::group_by::GroupBy;
use crate::input::long_line_sample;
use crate::lex::text::strip_bom;
use crate::record::{FieldValue, Malformed, OverrideUse, Record, Spans, TraceRating, is_blank};

/// How to read one buffer of lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BufferLayout {
    /// The wrapper and format of the input.
    pub layout: Layout,
    /// For W3C inputs: the `#Fields:` directive in effect where the buffer
    /// starts (blocks of one file are read in parallel).
    pub w3c_fields: Option<Arc<[u8]>>,
}

impl BufferLayout {
    /// A layout without W3C fields.
    pub fn of(layout: Layout) -> BufferLayout {
        BufferLayout { layout, w3c_fields: None }
    }
}

/// One thread's parsers and buffers. Build one per worker.
pub struct LineScanner<'e> {
    extractor: &'e Extractor,
    /// The parser of `--format`/`--log-format`, when one was given.
    fixed: Option<LineParser>,
    /// A parser for each format detection can return, in registry order
    /// (built up front: the NDJSON one reports its field overrides even
    /// when no input was NDJSON).
    detected: Vec<(FormatKind, LineParser)>,
    /// The index in `detected` of the format a layout falls back to.
    fallback: usize,
    filter: &'e Filter,
    collect: Collect,
    /// The fields looked up on error lines and incidents.
    group: GroupBy,
    scratch: Scratch,
    unwrap: UnwrapBuf,
    /// `--max-line-len`.
    max_line_len: usize,
}

impl<'e> LineScanner<'e> {
    /// A scanner with the parsers `options` ask for.
    pub fn new(extractor: &'e Extractor, options: &ScanOptions, filter: &'e Filter, collect: Collect) -> Self {
        let fields = &options.fields;
        let detected: Vec<(FormatKind, LineParser)> =
            FormatKind::detectable().map(|kind| (kind, Format::from_kind(kind).parser(fields))).collect();
        let fallback = detected.iter().position(|(kind, _)| *kind == FormatKind::fallback()).unwrap_or_default();
        LineScanner {
            extractor,
            fixed: options.format.as_ref().map(|f| f.parser(fields)),
            detected,
            fallback,
            filter,
            collect,
            group: GroupBy::new(&options.by, options.collect.breakdowns),
            scratch: Scratch::default(),
            unwrap: UnwrapBuf::default(),
            max_line_len: options.reader.max_line_len.max(1),
        }
    }

    /// Hands every line of `data` (whole lines; the last may lack its
    /// newline) to `sink`, read as `layout` says unless a format was fixed;
    /// the first line is at `first`, the others follow it. Returns the
    /// number of lines.
    ///
    /// # Complexity
    ///
    /// One `memchr` pass for line ends, one `memmem` pass per prefilter
    /// needle, one parse per line, and a body decode only for lines with a
    /// prefilter hit.
    pub fn scan(&mut self, data: &[u8], first: LinePosition, layout: &BufferLayout, sink: &mut impl LineSink) -> u64 {
        let LineScanner { extractor, fixed, detected, fallback, filter, collect, group, scratch, unwrap, max_line_len } =
            self;
        let parser = match fixed {
            Some(fixed) => fixed,
            None => {
                // A kind without a parser here (one that takes a layout)
                // reads as the fallback.
                let kind = layout.layout.kind;
                let at = detected.iter().position(|(detected, _)| *detected == kind).unwrap_or(*fallback);
                &mut detected[at].1
            }
        };
        // A byte order mark before an input's first line is no part of it.
        let data = if first.block == 0 && first.line == 0 { strip_bom(data) } else { data };
        let max_line_len = *max_line_len;
        let lines = Lines {
            data,
            first,
            wrapper: layout.layout.wrapper,
            extractor,
            filter,
            collect,
            group,
            scratch,
            unwrap,
            max_line_len,
        };
        // One loop per parser type, so that no line pays for a dispatch.
        parser.with(ScanBlock { lines, directive: layout.w3c_fields.as_deref(), sink })
    }
}

impl LineScanner<'_> {
    /// Looks up the fields of every error line, as with `--top`, for
    /// breakdowns kept whatever the options (a follower's live windows).
    pub fn grouping_every_error(mut self, options: &ScanOptions) -> Self {
        self.group = GroupBy::new(&options.by, true);
        self
    }

    /// Counts a line too long to read as malformed, with the error body in
    /// `sample`, what the block reader kept of it ([`BlockContent::LongLine`]).
    ///
    /// [`BlockContent::LongLine`]: crate::input::BlockContent::LongLine
    pub fn long_line(&mut self, sample: &[u8], position: LinePosition, sink: &mut impl LineSink) {
        count_long_line(self.extractor, &mut self.scratch, sample, position, sink);
    }

    /// `(name, use)` of every NDJSON field override.
    pub fn override_uses(&self) -> impl Iterator<Item = (String, OverrideUse)> + '_ {
        self.fixed.iter().chain(self.detected.iter().map(|(_, parser)| parser)).flat_map(LineParser::override_uses)
    }
}

/// Counts a line longer than the cap as malformed, with the error body in
/// `sample` (the bytes kept around its `error_code` keys), if any.
fn count_long_line(
    extractor: &Extractor,
    scratch: &mut Scratch,
    sample: &[u8],
    position: LinePosition,
    sink: &mut impl LineSink,
) {
    let body = extractor.decode(sample, &Spans::default(), scratch);
    sink.malformed(Malformed::LineTooLong, position, body);
}

/// Scans one buffer with a parser of any type: see [`LineParser::with`].
struct ScanBlock<'d, 's, 'k, K> {
    lines: Lines<'d, 's>,
    /// The directive in effect where the buffer starts (W3C `#Fields:`).
    directive: Option<&'d [u8]>,
    sink: &'k mut K,
}

impl<K: LineSink> WithParser for ScanBlock<'_, '_, '_, K> {
    type Output = u64;

    fn run<P: ParseLine>(mut self, parser: &mut P) -> u64 {
        if let Some(directive) = self.directive {
            parser.resume(directive);
        }
        self.lines.scan(parser, self.sink)
    }
}

/// One buffer being scanned, and what its lines need.
struct Lines<'d, 's> {
    data: &'d [u8],
    first: LinePosition,
    wrapper: Option<Wrapper>,
    extractor: &'s Extractor,
    filter: &'s Filter,
    collect: &'s Collect,
    group: &'s GroupBy,
    scratch: &'s mut Scratch,
    unwrap: &'s mut UnwrapBuf,
    /// Lines this long or longer are malformed (`--max-line-len`), also
    /// when a block larger than the cap holds them whole.
    max_line_len: usize,
}

impl Lines<'_, '_> {
    fn scan<P: ParseLine>(&mut self, parser: &mut P, sink: &mut impl LineSink) -> u64 {
        let Lines { data, first, wrapper, extractor, filter, collect, group, scratch, unwrap, max_line_len } = self;
        let data = *data;
        let group: &GroupBy = group;
        let mut candidates = extractor.candidates(data);
        let mut start = 0;
        let mut line_index = 0u64;
        while start < data.len() {
            let end = memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            let whole = &data[start..end];
            let raw = whole.strip_suffix(b"\r").unwrap_or(whole);
            let has_hit = candidates.line_has_hit(start, end);
            let position = LinePosition { line: first.line + line_index, ..*first };
            line_index += 1;
            start = end + 1;
            if whole.len() >= *max_line_len {
                count_long_line(extractor, scratch, &long_line_sample(whole), position, sink);
                continue;
            }
            if is_blank(raw) {
                sink.blank();
                continue;
            }
            // A line without the input's wrapper is read as it is.
            let (line, source) = match wrapper.and_then(|w| w.unwrap(raw, unwrap)) {
                Some(unwrapped) => (unwrapped.inner, unwrapped.source),
                None => (raw, None),
            };
            if parser.directive(line) {
                sink.blank();
                continue;
            }
            let mut record = Record { source, ..Record::default() };
            let parsed = parser.parse_line(line, has_hit, &mut record);
            settle_invalid(&mut record);
            match parsed {
                Ok(()) if !filter.keeps(&record) => sink.filtered(record.time),
                Ok(()) => {
                    let body = if has_hit { extractor.decode(line, &record.not_body, scratch) } else { None };
                    let incident = record.rating == Some(TraceRating::Incident);
                    let error = body.is_some();
                    if group.wants(error, &record) && (error || sink.keeps_incident(position)) {
                        if !has_hit {
                            // An incident kept without an error body: read it whole.
                            record = Record { source, ..Record::default() };
                            let _ = parser.parse_line(line, true, &mut record);
                            settle_invalid(&mut record);
                        }
                        if incident {
                            record.trace_id = parser.lookup(line, FieldRef::Path("trace_id"));
                        }
                        // Allocated per line: only lines with an error body
                        // (or an incident) when grouping get here.
                        let mut by_values: Vec<FieldValue<'_>> = Vec::new();
                        group.values(parser, line, &record, &mut by_values);
                        sink.request(&Record { by: &by_values, ..record }, body, position, collect);
                    } else {
                        sink.request(&record, body, position, collect);
                    }
                }
                Err(kind) => {
                    let body = if has_hit { extractor.decode(line, &Spans::default(), scratch) } else { None };
                    match body {
                        // An SDK exception text carries the response's
                        // status: the line records a request, as the
                        // client saw it.
                        Some(body) if body.status.is_some() => {
                            let record = Record { status: body.status, source, ..Record::default() };
                            if filter.keeps(&record) {
                                sink.request(&record, Some(body), position, collect);
                            } else {
                                sink.filtered(None);
                            }
                        }
                        body => sink.malformed(kind, position, body),
                    }
                }
            }
        }
        line_index
    }
}
