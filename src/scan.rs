//! The pipeline: block reader → format detection → parallel line scan →
//! per-worker aggregates → merge.
//!
//! The reader runs inside rayon's `par_bridge`: whichever worker needs work
//! reads the next block, so reading and scanning overlap without a separate
//! thread, and at most one block per worker is in flight.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use memchr::memchr;
use rayon::prelude::*;

use crate::aggregate::{Aggregate, LinePosition};
use crate::error::Error;
use crate::extract::{Extractor, Scratch};
use crate::filter::Filter;
use crate::format::{self, AccessParser, CustomParser, FieldOverrides, Format, LineParser, LogFormat, NdjsonParser};
use crate::input::{self, Block, BlockContent, BlockReader, Compression, ProgressFn, ReaderOptions, Source};
use crate::record::{Malformed, Record, Spans, is_blank};

/// How to scan.
#[derive(Clone, Default)]
pub struct ScanOptions {
    /// Worker threads; 0 means one per logical CPU.
    pub threads: usize,
    /// Block size and line-length cap.
    pub reader: ReaderOptions,
    /// The line format of every input, or `None` to detect it per input.
    /// Set by [`ScanOptions::log_format`] to [`Format::Custom`].
    pub format: Option<Format>,
    /// A user-defined access-log layout; applies to every input.
    pub log_format: Option<LogFormat>,
    /// NDJSON field names given on the command line.
    pub fields: FieldOverrides,
    /// Which requests and codes count.
    pub filter: Filter,
    /// Keep per-code breakdowns (endpoints, projects, clients, request ids)
    /// and show the top this many.
    pub top: Option<usize>,
    /// Keep per-bucket counts (time series) with buckets of this many
    /// milliseconds.
    pub bucket_ms: Option<i64>,
    /// Also read files whose names start with `.` inside directories.
    pub hidden: bool,
    /// Called after each block is read with the raw bytes read so far over
    /// all inputs (compressed bytes for compressed inputs) and their total
    /// when known, for a progress display. It runs on the thread that read
    /// the block: keep it cheap.
    pub progress: Option<ProgressFn>,
}

/// What one input contributed.
#[derive(Debug)]
pub struct InputSummary {
    /// The input.
    pub source: Source,
    /// The format its lines were read as; `None` if nothing was read.
    pub format: Option<Format>,
    /// Bytes read, after decompression.
    pub bytes: u64,
    /// Bytes read from the file or pipe (compressed size when compressed).
    pub raw_bytes: u64,
    /// The compression found, if any.
    pub compression: Option<Compression>,
    /// Why the input could not be read (fully); what was read still counts.
    pub error: Option<Error>,
}

/// The outcome of a scan: merged statistics plus what each input gave.
#[derive(Debug)]
pub struct ScanResult {
    /// Everything counted.
    pub aggregate: Aggregate,
    /// One entry per input, in the order given, directories expanded.
    pub inputs: Vec<InputSummary>,
    /// Directories that could not be listed (fully).
    pub walk_errors: Vec<Error>,
    /// The filter the scan ran with (the report applies its code patterns).
    pub filter: Filter,
    /// Wall time of the scan.
    pub elapsed: Duration,
}

/// Scans `sources` (directories expanded, see [`input::expand`]) and merges
/// everything into one [`ScanResult`].
///
/// Unreadable inputs do not stop the scan: their error is kept in
/// [`InputSummary::error`]. The result does not depend on
/// [`ScanOptions::threads`] or the block size.
///
/// # Errors
///
/// Only when the worker threads cannot be started.
pub fn scan(sources: Vec<Source>, options: &ScanOptions) -> Result<ScanResult, Error> {
    let started = Instant::now();
    let (sources, walk_errors) = input::expand(sources, options.hidden);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .thread_name(|i| format!("cts-logscan-{i}"))
        .build()
        .map_err(|e| Error::ThreadPool { threads: options.threads, message: e.to_string() })?;
    let extractor = Extractor::default();
    let format = if options.log_format.is_some() { Some(Format::Custom) } else { options.format };
    let mut formats: Vec<Option<Format>> = vec![format; sources.len()];
    let mut reader = BlockReader::new(sources.clone(), options.reader);
    if let Some(progress) = &options.progress {
        reader.on_progress(Arc::clone(progress));
    }
    let aggregate = pool.install(|| {
        reader
            .by_ref()
            .map(|block| {
                let format = block_format(&mut formats[block.file as usize], &block);
                (block, format)
            })
            .par_bridge()
            .fold(
                || Worker::new(&extractor, options),
                |mut worker, (block, format)| {
                    worker.scan_block(&block, format);
                    worker
                },
            )
            .map(|worker| worker.aggregate)
            .reduce(Aggregate::default, |mut a, b| {
                a.merge(b);
                a
            })
    });
    let mut inputs: Vec<InputSummary> = sources
        .into_iter()
        .zip(formats)
        .zip(reader.stats())
        .map(|((source, format), stats)| InputSummary {
            source,
            format,
            bytes: stats.bytes,
            raw_bytes: stats.raw_bytes.load(Ordering::Relaxed),
            compression: stats.compression,
            error: None,
        })
        .collect();
    for (file, error) in reader.take_errors() {
        inputs[file as usize].error.get_or_insert(error);
    }
    Ok(ScanResult { aggregate, inputs, walk_errors, filter: options.filter.clone(), elapsed: started.elapsed() })
}

/// The format of `block`'s input, detecting it from the input's first block
/// of lines when it is not known yet.
fn block_format(known: &mut Option<Format>, block: &Block) -> Format {
    if let (None, BlockContent::Lines(buf)) = (&known, &block.content) {
        *known = Some(format::detect(buf.as_slice()));
    }
    known.unwrap_or(Format::Combined)
}

/// One worker thread's parsers, buffers and statistics.
struct Worker<'e> {
    extractor: &'e Extractor,
    ndjson: LineParser,
    combined: LineParser,
    common: LineParser,
    custom: Option<LineParser>,
    filter: &'e Filter,
    scratch: Scratch,
    aggregate: Aggregate,
}

impl<'e> Worker<'e> {
    fn new(extractor: &'e Extractor, options: &'e ScanOptions) -> Self {
        Worker {
            extractor,
            ndjson: LineParser::Ndjson(NdjsonParser::new(options.fields.clone())),
            combined: LineParser::Access(AccessParser::new(true)),
            common: LineParser::Access(AccessParser::new(false)),
            custom: options.log_format.clone().map(|f| LineParser::Custom(CustomParser::new(f))),
            filter: &options.filter,
            scratch: Scratch::default(),
            aggregate: Aggregate { bucket_ms: options.bucket_ms, top: options.top, ..Aggregate::default() },
        }
    }

    /// Folds every line of `block` into the worker's aggregate.
    ///
    /// # Complexity
    ///
    /// One `memchr` pass for line ends, one `memmem` pass per prefilter
    /// needle, one parse per line, and a body decode only for lines with a
    /// prefilter hit.
    fn scan_block(&mut self, block: &Block, format: Format) {
        let buf = match &block.content {
            BlockContent::Lines(buf) => buf,
            BlockContent::LongLine { .. } => {
                let position = LinePosition { file: block.file, block: block.index, line: 0 };
                self.aggregate.add_malformed(Malformed::LineTooLong, position, None);
                self.aggregate.add_block(block.file, block.index, 1);
                return;
            }
        };
        let parser = match (format, &mut self.custom) {
            (Format::Custom, Some(custom)) => custom,
            (Format::Ndjson, _) => &mut self.ndjson,
            (Format::Common, _) => &mut self.common,
            (Format::Combined | Format::Custom, _) => &mut self.combined,
        };
        let data = buf.as_slice();
        let mut candidates = self.extractor.candidates(data);
        let mut start = 0;
        let mut line_index = 0u64;
        while start < data.len() {
            let end = memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            let line = data[start..end].strip_suffix(b"\r").unwrap_or(&data[start..end]);
            let has_hit = candidates.line_has_hit(start, end);
            if is_blank(line) {
                self.aggregate.add_blank();
            } else {
                let mut record = Record::default();
                match parser.parse(line, has_hit, &mut record) {
                    Ok(()) if !self.filter.keeps(&record) => self.aggregate.add_filtered(),
                    Ok(()) => {
                        let body = if has_hit {
                            self.extractor.decode(line, &record.not_body, &mut self.scratch)
                        } else {
                            None
                        };
                        let position = LinePosition { file: block.file, block: block.index, line: line_index };
                        self.aggregate.add_record(&record, body, position);
                    }
                    Err(kind) => {
                        let body = if has_hit {
                            self.extractor.decode(line, &Spans::default(), &mut self.scratch)
                        } else {
                            None
                        };
                        let position = LinePosition { file: block.file, block: block.index, line: line_index };
                        self.aggregate.add_malformed(kind, position, body);
                    }
                }
            }
            line_index += 1;
            start = end + 1;
        }
        self.aggregate.add_block(block.file, block.index, line_index);
    }
}
