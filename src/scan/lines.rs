//! The per-line work shared by the batch pipeline and `--follow`: split a
//! buffer of whole lines, parse each with its format's parser, find and
//! decode error bodies, and hand every outcome to a [`LineSink`].

use memchr::memchr;

use super::ScanOptions;
use crate::aggregate::{Collect, LinePosition, LineSink};
use crate::extract::{Extractor, Scratch};
use crate::filter::Filter;
use crate::format::{Format, FormatKind, LineParser};
use crate::record::{Record, Spans, is_blank};

/// One thread's parsers and buffers. Build one per worker.
pub struct LineScanner<'e> {
    extractor: &'e Extractor,
    /// The parser of `--format`/`--log-format`, when one was given.
    fixed: Option<LineParser>,
    /// Parsers for detected formats.
    ndjson: LineParser,
    combined: LineParser,
    common: LineParser,
    filter: &'e Filter,
    collect: Collect,
    scratch: Scratch,
}

impl<'e> LineScanner<'e> {
    /// A scanner with the parsers `options` ask for.
    pub fn new(extractor: &'e Extractor, options: &ScanOptions, filter: &'e Filter, collect: Collect) -> Self {
        let fields = &options.fields;
        LineScanner {
            extractor,
            fixed: options.format.as_ref().map(|f| f.parser(fields)),
            ndjson: Format::Ndjson.parser(fields),
            combined: Format::Combined.parser(fields),
            common: Format::Common.parser(fields),
            filter,
            collect,
            scratch: Scratch::default(),
        }
    }

    /// Hands every line of `data` (whole lines; the last may lack its
    /// newline) to `sink`, read as `format` unless a format was fixed; the
    /// first line is at `first`, the others follow it. Returns the number
    /// of lines.
    ///
    /// # Complexity
    ///
    /// One `memchr` pass for line ends, one `memmem` pass per prefilter
    /// needle, one parse per line, and a body decode only for lines with a
    /// prefilter hit.
    pub fn scan(&mut self, data: &[u8], first: LinePosition, format: FormatKind, sink: &mut impl LineSink) -> u64 {
        let parser = match (&mut self.fixed, format) {
            (Some(fixed), _) => fixed,
            (None, FormatKind::Ndjson) => &mut self.ndjson,
            (None, FormatKind::Common) => &mut self.common,
            (None, FormatKind::Combined | FormatKind::Custom) => &mut self.combined,
        };
        let mut candidates = self.extractor.candidates(data);
        let mut start = 0;
        let mut line_index = 0u64;
        while start < data.len() {
            let end = memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            let line = data[start..end].strip_suffix(b"\r").unwrap_or(&data[start..end]);
            let has_hit = candidates.line_has_hit(start, end);
            let position = LinePosition { line: first.line + line_index, ..first };
            if is_blank(line) {
                sink.blank();
            } else {
                let mut record = Record::default();
                match parser.parse(line, has_hit, &mut record) {
                    Ok(()) if !self.filter.keeps(&record) => sink.filtered(),
                    Ok(()) => {
                        let body = if has_hit {
                            self.extractor.decode(line, &record.not_body, &mut self.scratch)
                        } else {
                            None
                        };
                        sink.request(&record, body, position, &self.collect);
                    }
                    Err(kind) => {
                        let body = if has_hit {
                            self.extractor.decode(line, &Spans::default(), &mut self.scratch)
                        } else {
                            None
                        };
                        match body {
                            // An SDK exception text carries the response's
                            // status: the line records a request, as the
                            // client saw it.
                            Some(body) if body.status.is_some() => {
                                let record = Record { status: body.status, ..Record::default() };
                                if self.filter.keeps(&record) {
                                    sink.request(&record, Some(body), position, &self.collect);
                                } else {
                                    sink.filtered();
                                }
                            }
                            body => sink.malformed(kind, position, body),
                        }
                    }
                }
            }
            line_index += 1;
            start = end + 1;
        }
        line_index
    }
}
