//! The one pipeline: spans of sources → block reader → format detection
//! ([`InputLayouts`]) → parallel line scan ([`LineScanner`]) → per-worker
//! aggregates → merge → [`State`]. A batch scan reads every byte
//! ([`scan`]), a resumed run the bytes a checkpoint did not read
//! ([`scan_resumed`]); `--follow` reads the new bytes of each input through
//! the same reader, [`InputLayouts`] and [`LineScanner`].
//!
//! The reader runs inside rayon's `par_bridge`: whichever worker needs work
//! reads the next block, so reading and scanning overlap without a separate
//! thread, and at most one block per worker is in flight.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use rayon::prelude::*;

use crate::aggregate::{
    Aggregate, AlsoRequests, BreakdownLog, CodeBreakdowns, Collect, LinePosition, error_request_id,
};
use crate::error::Error;
use crate::extract::{ErrorBody, Extractor};
use crate::filter::{CodePattern, Filter, StatusPattern, TimeSpec, batch_window};
use crate::format::{FieldOverrides, Format};
use crate::group_by::ByField;
use crate::input::checkpoint::{Checkpoint, Plan};
use crate::input::{self, Block, BlockContent, BlockReader, ProgressFn, ReaderOptions, Source, Span};
use crate::record::Record;
use crate::state::{InputSummary, State};

mod inputs;
mod lines;
mod matching;
#[cfg(test)]
mod resumed_tests;

pub use inputs::InputLayouts;
pub use lines::{BufferLayout, LineScanner};
pub use matching::{FieldIs, Matched, MatchedLine, matching_lines};

/// How to scan.
#[derive(Clone, Default)]
pub struct ScanOptions {
    /// Worker threads; 0 means one per logical CPU.
    pub threads: usize,
    /// Block size and line-length cap.
    pub reader: ReaderOptions,
    /// The line format of every input, or `None` to detect it per input
    /// from its first lines.
    pub format: Option<Format>,
    /// NDJSON field names given on the command line.
    pub fields: FieldOverrides,
    /// Only requests at or after this time. A relative time (`2h`) counts
    /// back from the newest record, which takes a first pass over the
    /// inputs.
    pub since: Option<TimeSpec>,
    /// Only requests before this time (same forms as `since`).
    pub until: Option<TimeSpec>,
    /// Only requests with one of these statuses; empty keeps all.
    pub statuses: Vec<StatusPattern>,
    /// Reports show only codes matching one of these; empty shows all.
    pub codes: Vec<CodePattern>,
    /// What to keep beyond the fixed figures (series, breakdowns).
    pub collect: Collect,
    /// `--top N`: recorded in the state as the default view.
    pub top: Option<usize>,
    /// `--by`: the fields error lines are grouped by, beyond the `--top`
    /// lists (which [`Collect::breakdowns`] must keep).
    pub by: Vec<ByField>,
    /// Also read files whose names start with `.` inside directories.
    pub hidden: bool,
    /// Called after each block is read with where reading stands
    /// ([`input::Progress`]), for a progress display. It runs on the thread
    /// that read the block: keep it cheap.
    pub progress: Option<ProgressFn>,
}

/// Scans `sources` (directories expanded, see [`input::expand`]) into one
/// [`State`].
///
/// Unreadable inputs do not stop the scan: their error is kept in
/// [`InputSummary::error`]. The result does not depend on
/// [`ScanOptions::threads`] or the block size. With a relative `since` or
/// `until`, the inputs are read twice: first to find the newest record.
///
/// # Errors
///
/// When the worker threads cannot be started, or a relative time is asked
/// of inputs that cannot be read twice (stdin, pipes) or hold no time.
pub fn scan(sources: Vec<Source>, options: &ScanOptions) -> Result<State, Error> {
    let started = Instant::now();
    let (sources, walk_errors) = input::expand(sources, options.hidden);
    let filter = resolve_filter(&sources, options)?;
    let state = scan_expanded(sources, options, filter, options.collect)?;
    Ok(with_walk_errors(state, walk_errors, started))
}

/// Scans what of `sources` the runs recorded in `checkpoint` did not read,
/// as [`scan`] scans all of it. Returns the state and the plan that, once
/// the run's output is written, gives the next checkpoint
/// ([`Plan::commit`]).
///
/// # Errors
///
/// As [`scan`].
pub fn scan_resumed(
    sources: Vec<Source>,
    options: &ScanOptions,
    checkpoint: &Checkpoint,
) -> Result<(State, Plan), Error> {
    let started = Instant::now();
    let (sources, walk_errors) = input::expand(sources, options.hidden);
    let filter = resolve_filter(&sources, options)?;
    let mut plan = checkpoint.plan(sources);
    let state = scan_spans(std::mem::take(&mut plan.spans), options, filter, options.collect)?;
    Ok((with_walk_errors(state, walk_errors, started), plan))
}

/// `state` with the errors and warnings of walking its directories, and
/// the time since `started`.
fn with_walk_errors(mut state: State, walk_errors: Vec<Error>, started: Instant) -> State {
    let (links, walk_errors): (Vec<Error>, Vec<Error>) =
        walk_errors.into_iter().partition(|e| matches!(e, Error::BrokenLink { .. }));
    state.directory_errors = walk_errors.iter().map(ToString::to_string).collect();
    state.walk_warnings = links.iter().map(ToString::to_string).collect();
    state.elapsed = Some(started.elapsed());
    state
}

/// The filter of `options`, with relative times resolved against the
/// newest record of `sources`.
fn resolve_filter(sources: &[Source], options: &ScanOptions) -> Result<Filter, Error> {
    let relative = options.since.into_iter().chain(options.until).any(TimeSpec::is_relative);
    let newest = if relative {
        for source in sources {
            refuse_unrereadable(source)?;
        }
        let first_pass = scan_expanded(sources.to_vec(), options, Filter::default(), Collect::default())?;
        first_pass.aggregate.time_span.map(|(_, newest)| newest).ok_or(Error::NoTimes)?
    } else {
        0
    };
    let (since, until) = batch_window(options.since, options.until, newest)?;
    Ok(Filter { since, until, statuses: options.statuses.clone(), codes: options.codes.clone() })
}

/// Refuses a source that a second pass could not read again: stdin, and
/// anything that is not a regular file (FIFOs, `<(…)` pipes, devices).
///
/// # Errors
///
/// [`Error::NotRereadable`], naming the source and why.
pub fn refuse_unrereadable(source: &Source) -> Result<(), Error> {
    let why = match source {
        Source::Stdin => "standard input cannot be read twice",
        Source::File(path) => match std::fs::metadata(path) {
            Ok(meta) if !meta.is_file() => "it is not a regular file (a pipe or FIFO) and cannot be read twice",
            _ => return Ok(()),
        },
        Source::Object(_) => return Ok(()),
    };
    Err(Error::NotRereadable { input: source.to_string(), why })
}

/// One pass over already expanded `sources`.
fn scan_expanded(
    sources: Vec<Source>,
    options: &ScanOptions,
    filter: Filter,
    collect: Collect,
) -> Result<State, Error> {
    scan_spans(sources.into_iter().map(Span::whole).collect(), options, filter, collect)
}

/// One pass over `spans`: the bytes of each input that this run reads
/// (all of it for a batch scan, what is new for a resumed one), with
/// `filter` resolved.
///
/// # Errors
///
/// When the worker threads cannot be started.
pub fn scan_spans(spans: Vec<Span>, options: &ScanOptions, filter: Filter, collect: Collect) -> Result<State, Error> {
    let pool = worker_pool(options.threads)?;
    let extractor = Extractor::default();
    let sources: Vec<Source> = spans.iter().map(|span| span.source.clone()).collect();
    let first_lines: Vec<u64> = spans.iter().map(|span| span.first_line).collect();
    let mut layouts = InputLayouts::new(sources.len(), options.format.as_ref().map(Format::kind));
    let mut reader = BlockReader::spans(spans, options.reader);
    if let Some(progress) = &options.progress {
        reader.on_progress(Arc::clone(progress));
    }
    let in_order = collect.breakdowns.then(|| Mutex::new(BreakdownsInOrder::default()));
    // With `--top` the workers log error lines and the breakdowns are
    // counted from the logs, in order.
    let line_collect = Collect { breakdowns: false, ..collect };
    let settings = WorkerSettings { options, filter: &filter, collect: line_collect, in_order: in_order.as_ref() };
    let mut sequence = 0u64;
    let mut aggregate = pool.install(|| {
        reader
            .by_ref()
            .filter_map(|block| {
                let buffer = layouts.prepare(block.file as usize, &block)?;
                sequence += 1;
                Some((sequence - 1, block, buffer))
            })
            .par_bridge()
            .fold(
                || Worker::new(&extractor, &settings),
                |mut worker, (sequence, block, layout)| {
                    worker.scan_block(sequence, &block, &layout);
                    worker
                },
            )
            .map(Worker::finish)
            .reduce(Aggregate::default, |mut a, b| {
                a.merge(b);
                a
            })
    });
    if let Some(in_order) = in_order {
        aggregate.put_breakdowns(in_order.into_inner().unwrap_or_else(PoisonError::into_inner).merged);
    }
    let mut errors: Vec<Option<Error>> = (0..sources.len()).map(|_| None).collect();
    for (file, error) in reader.take_errors() {
        errors[file as usize].get_or_insert(error);
    }
    let inputs: Vec<InputSummary> = sources
        .iter()
        .zip(reader.stats())
        .zip(errors)
        .enumerate()
        .map(|(file, ((source, stats), error))| {
            let index = file as u32;
            let malformed = aggregate.malformed_by_file.get(&index).copied().unwrap_or_default();
            let summary = layouts.summary(file, source, stats, aggregate.lines_of_file(index), malformed);
            InputSummary { error: error.map(|e| e.to_string()), ..summary }
        })
        .collect();
    aggregate.malformed_by_file.clear();
    aggregate.resolve_positions();
    aggregate.number_from(&first_lines);
    let state = State::new(inputs, Vec::new(), filter, collect, options.top, aggregate);
    Ok(State { by: options.by.clone(), ..state })
}

/// The scan's worker threads: `threads` of them, one per logical CPU when 0.
fn worker_pool(threads: usize) -> Result<rayon::ThreadPool, Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("cts-logscan-{i}"))
        .build()
        .map_err(|e| Error::ThreadPool { threads, message: e.to_string() })
}

/// What every worker reads.
struct WorkerSettings<'o> {
    options: &'o ScanOptions,
    filter: &'o Filter,
    collect: Collect,
    /// With `--top`: where each block's breakdowns are merged, in order.
    in_order: Option<&'o Mutex<BreakdownsInOrder>>,
}

/// The `--top` breakdowns, counted from each block's log in block order
/// whichever worker finishes a block first: they are those of counting
/// every line in input order, for any number of threads and block size,
/// also past the summaries' capacity.
#[derive(Default)]
struct BreakdownsInOrder {
    /// The next block to count.
    next: u64,
    /// Logs of blocks finished ahead of it.
    pending: BTreeMap<u64, BreakdownLog>,
    /// Per code, blocks `..next`.
    merged: CodeBreakdowns,
    /// Counted logs, emptied, for workers to write their next block to.
    spare: Vec<BreakdownLog>,
}

impl BreakdownsInOrder {
    /// Takes block `sequence`'s log, counts every block that is now next,
    /// and returns an empty log for the worker's next block, so that a
    /// scan's logs are allocated once, not per block.
    fn submit(&mut self, sequence: u64, log: BreakdownLog) -> BreakdownLog {
        self.pending.insert(sequence, log);
        while let Some(mut log) = self.pending.remove(&self.next) {
            log.replay(&mut self.merged);
            log.clear();
            self.spare.push(log);
            self.next += 1;
        }
        self.spare.pop().unwrap_or_default()
    }
}

/// One worker thread's line scanner and statistics.
struct Worker<'e> {
    lines: LineScanner<'e>,
    aggregate: Aggregate,
    in_order: Option<&'e Mutex<BreakdownsInOrder>>,
    /// With `--top`: the log the next block is written to, empty, with the
    /// room a block before it needed.
    log: BreakdownLog,
}

impl<'e> Worker<'e> {
    fn new(extractor: &'e Extractor, settings: &'e WorkerSettings<'e>) -> Self {
        let lines = LineScanner::new(extractor, settings.options, settings.filter, settings.collect);
        Worker { lines, aggregate: Aggregate::default(), in_order: settings.in_order, log: BreakdownLog::default() }
    }

    /// The worker's aggregate, with how often each NDJSON field override
    /// matched.
    fn finish(self) -> Aggregate {
        let mut aggregate = self.aggregate;
        for (name, used) in self.lines.override_uses() {
            aggregate.override_uses.entry(name).or_default().merge(used);
        }
        aggregate
    }

    /// Folds every line of `block`, the `sequence`-th scanned, into the
    /// worker's aggregate.
    fn scan_block(&mut self, sequence: u64, block: &Block, layout: &BufferLayout) {
        let mut log = std::mem::take(&mut self.log);
        match &block.content {
            BlockContent::Lines(buf) => {
                let first = LinePosition { file: block.file, block: block.index, line: 0 };
                let lines = match self.in_order {
                    Some(_) => {
                        let also = |record: &Record<'_>, body: Option<ErrorBody<'_>>, position| {
                            if let Some(body) = body {
                                log.add(body.code, record, || error_request_id(record, &body), position);
                            }
                        };
                        let mut sink = AlsoRequests { aggregate: &mut self.aggregate, also };
                        self.lines.scan(buf.as_slice(), first, layout, &mut sink)
                    }
                    None => self.lines.scan(buf.as_slice(), first, layout, &mut self.aggregate),
                };
                self.aggregate.add_block(block.file, block.index, lines);
            }
            BlockContent::LongLine { sample, .. } => {
                let position = LinePosition { file: block.file, block: block.index, line: 0 };
                self.lines.long_line(sample, position, &mut self.aggregate);
                self.aggregate.add_block(block.file, block.index, 1);
            }
        }
        if let Some(in_order) = self.in_order {
            self.log = in_order.lock().unwrap_or_else(PoisonError::into_inner).submit(sequence, log);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(text.as_bytes()).unwrap();
        tmp
    }

    /// Block `block`'s `--top` log: 80 error lines whose clients, across
    /// 64 blocks, are more than a summary keeps, some seen twice, so that
    /// which are kept depends on the order they are counted in.
    fn log_of(block: u64) -> BreakdownLog {
        let mut log = BreakdownLog::default();
        for line in 0..80u64 {
            let n = (block * 80 + line) % 3000;
            let (uri, client, id) = (format!("/v3/p{block}/{line}"), format!("10.0.{n}"), format!("id-{block}-{line}"));
            let record = Record { uri: Some(uri.as_bytes()), client: Some(client.as_bytes()), ..Record::default() };
            let code = if line % 8 == 1 { "CTS.0002" } else { "CTS.0001" };
            log.add(code, &record, || Some(id.as_str()), LinePosition { file: 0, block, line });
        }
        log
    }

    #[test]
    fn breakdowns_handed_in_out_of_order_by_four_workers_count_in_block_order() {
        const BLOCKS: u64 = 64;
        let mut want = CodeBreakdowns::default();
        for block in 0..BLOCKS {
            log_of(block).replay(&mut want);
        }
        let in_order = Mutex::new(BreakdownsInOrder::default());
        std::thread::scope(|scope| {
            for worker in 0..4 {
                let in_order = &in_order;
                scope.spawn(move || {
                    // Each worker its quarter of the blocks, in a scrambled
                    // order.
                    for block in (0..BLOCKS).map(|i| i * 37 % BLOCKS).filter(|b| b % 4 == worker) {
                        in_order.lock().unwrap().submit(block, log_of(block));
                    }
                });
            }
        });
        let got = in_order.into_inner().unwrap().merged;
        assert_eq!(got.codes, want.codes);
        assert_eq!(got.codes.len(), 2);
        assert!(!got.codes["CTS.0001"].samples.is_empty());
    }

    fn line(n: u32, code: &str) -> String {
        format!(
            "{{\"time\":\"2026-11-27T10:00:{:02}Z\",\"status\":500,\"uri\":\"/v{n}\",\"body\":{{\"error_code\":\"{code}\",\"error_msg\":\"m\"}}}}\n",
            n % 60
        )
    }

    /// Lines, requests, error bodies, malformed.
    fn figures(state: &State) -> (u64, u64, u64, u64) {
        let a = &state.aggregate;
        (a.lines, a.requests, a.error_bodies, a.malformed.total())
    }

    #[test]
    fn a_span_from_an_offset_counts_what_follows_it_detected_by_the_head_it_brings() {
        let head: String = (0..3).map(|n| line(n, "CTS.0003")).collect();
        let tail: String = (3..8).map(|n| line(n, "CTS.0004")).collect();
        let whole = file(&format!("{head}{tail}"));
        let source = Source::File(whole.path().to_owned());
        let span = Span {
            start: head.len() as u64,
            head: Some(head.clone().into_bytes()),
            first_line: 3,
            ..Span::whole(source)
        };
        let options = ScanOptions::default();
        let state = scan_spans(vec![span], &options, Filter::default(), Collect::default()).unwrap();
        assert_eq!(figures(&state), (5, 5, 5, 0));
        assert_eq!(state.inputs[0].bytes, tail.len() as u64);
        assert!(state.aggregate.codes.contains_key("CTS.0004") && !state.aggregate.codes.contains_key("CTS.0003"));
    }

    #[test]
    fn a_held_unfinished_line_is_left_out_and_the_same_bytes_give_the_same_figures_on_any_threads() {
        let text: String = (0..40).map(|n| line(n, "CTS.0003")).collect::<String>() + "{\"status\":200";
        let tmp = file(&text);
        let held = Span { hold_partial: true, ..Span::whole(Source::File(tmp.path().to_owned())) };
        let state = scan_spans(vec![held], &ScanOptions::default(), Filter::default(), Collect::default()).unwrap();
        assert_eq!(figures(&state), (40, 40, 40, 0));
        let mut all = Vec::new();
        for (threads, block_size) in [(1, 1 << 20), (2, 97), (4, 300)] {
            let reader = ReaderOptions { block_size, ..ReaderOptions::default() };
            let options = ScanOptions { threads, reader, ..ScanOptions::default() };
            all.push(figures(&scan(vec![Source::File(tmp.path().to_owned())], &options).unwrap()));
        }
        assert_eq!(all, vec![(41, 40, 40, 1); 3], "the last line read as it is: truncated");
    }
}
