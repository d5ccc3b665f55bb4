//! `--follow`: read inputs as they grow and keep live windows over them.
//!
//! Follow is a driver of the one pipeline: it only knows which bytes are
//! new. `files::Files` follows files by name and in directories, known by
//! identity, through rotation, compression, truncation and replacement;
//! `stream::Stream` reads pipes until they end. Each read is a span of
//! an input from a byte offset, through the same [`BlockReader`] (line cap,
//! decompression) and [`InputLayouts`] (format detection, W3C columns,
//! per-input summary) as a batch scan, into the same [`LineScanner`].
//! A followed file's unfinished last line is held back and read whole
//! later, so once the inputs stop changing the since-start state equals a
//! batch scan of the same bytes by construction.
//!
//! Filesystem events (the `notify` crate) only wake [`Follower::wait`];
//! a check of every name at each poll is the truth, so missed events, NFS
//! or exhausted inotify watches cannot stall it. Memory is bounded by the
//! blocks in flight, whatever arrives.

mod alerts;
mod files;
mod snapshot;
mod stream;
mod windows;

use std::collections::BTreeSet;
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::{Duration, Instant, SystemTime};

pub use alerts::{AlertEvent, AlertRule, AlertState, Alerts};
pub use snapshot::{
    ALERTS_SHOWN, Attribution, ErrorRate, LiveCode, LiveInput, SNAPSHOT_VERSION, Snapshot, Totals, WindowCount,
    WindowLatency,
};
pub use windows::{BUCKET_MS, SLACK_MS, SPARKLINE_MINUTES, Windows};

use crate::aggregate::{Aggregate, AlsoRequests, Collect, LinePosition, LineSink, PLAUSIBLE_TIMES};
use crate::error::Error;
use crate::extract::{ErrorBody, Extractor};
use crate::filter::{Filter, resolve_window};
use crate::format::{self, FormatKind, Layout};
use crate::input::checkpoint::{Checkpoint, FileMark};
use crate::input::fingerprint::Fingerprinter;
use crate::input::identity::{FileId, HeadPrint};
use crate::input::{self, Block, BlockContent, BlockReader, HEAD_BYTES, Handle, InputStats, Source, Span};
use crate::pipeline::{BufferLayout, InputLayouts, LineScanner, ScanOptions};
use crate::record::{Malformed, Record};
use crate::state::{InputSummary, State};
use files::{Files, Found, Retired};
use stream::{Message, Stream};

/// How to follow.
#[derive(Clone)]
pub struct FollowOptions {
    /// How lines are read and filtered, as for a batch scan. A relative
    /// `since` counts back from now.
    pub scan: ScanOptions,
    /// Window lengths in milliseconds (`--windows 1m,5m,15m`).
    pub windows: Vec<i64>,
    /// How long an unfinished last line waits before its input shows as
    /// waiting for it; it is never split, and is counted once its newline
    /// comes, its file is let go, its stream ends or following stops.
    pub partial_timeout: Duration,
}

/// What is known of one input.
struct Input {
    source: Source,
    /// Bytes counted (`end`), raw bytes, compression and fingerprint of all
    /// reads of it.
    read: InputStats,
    raw_bytes: u64,
    fingerprint: Fingerprinter,
    /// Lines read of it, in this run.
    lines: u64,
    /// Lines before where this run started reading it (a resumed run):
    /// positions count from here.
    first_line: u64,
    state: String,
    error: Option<String>,
    /// Read once, ended or let go: nothing more comes.
    done: bool,
    /// Since when an unfinished last line of it waits for its newline, and
    /// how long it is.
    unfinished: Option<(Instant, u64)>,
}

impl Input {
    fn new(source: Source, state: &str) -> Input {
        let (read, raw_bytes, fingerprint) = (InputStats::default(), 0, Fingerprinter::default());
        Input {
            source,
            read,
            raw_bytes,
            fingerprint,
            lines: 0,
            first_line: 0,
            state: state.to_owned(),
            error: None,
            done: false,
            unfinished: None,
        }
    }

    /// Takes note of a read of it.
    fn add(&mut self, stats: &InputStats) {
        self.read.end += stats.end - stats.start;
        self.raw_bytes += stats.raw_bytes.load(std::sync::atomic::Ordering::Relaxed);
        self.read.compression = self.read.compression.or(stats.compression);
    }
}

/// Everything followed, and what was counted.
pub struct Follower {
    options: FollowOptions,
    extractor: Extractor,
    filter: Filter,
    inputs: Vec<Input>,
    layouts: InputLayouts,
    files: Files,
    streams: Vec<(usize, Stream)>,
    /// Where files known to a resumed run start.
    resume: Checkpoint,
    /// Compressed files read whole, for the checkpoint.
    read_whole: Vec<FileMark>,
    /// Followed files read to their end and let go, and what truncated
    /// files held before (their copies' marks), for the checkpoint.
    let_go: Vec<FileMark>,
    since_start: Aggregate,
    windows: Windows,
    /// Codes seen before following began: in what the files held then (up
    /// to [`KNOWN_CODES_BYTES`] each) and in what was read at the start.
    known_codes: BTreeSet<String>,
    /// Bytes still to be read for `known_codes`, of
    /// [`KNOWN_CODES_BUDGET`] for all files.
    known_codes_budget: u64,
    /// Whether following has begun (files found from now on are new).
    started: bool,
    /// Filesystem events and stream reads cut a wait short.
    wake: (SyncSender<()>, Receiver<()>),
    /// Sends a wake on filesystem events, when watches could be set.
    watcher: Option<notify::RecommendedWatcher>,
}

impl Follower {
    /// Starts following `sources`: files from their end (or from where
    /// `--since` starts), new files of directories from their start, pipes
    /// until they end, compressed files once.
    ///
    /// # Errors
    ///
    /// When `--since` is given relative to the newest record of a pipe, or
    /// is not before `--until`.
    pub fn new(sources: Vec<Source>, options: FollowOptions) -> Result<Follower, Error> {
        Follower::resume(sources, options, Checkpoint::default())
    }

    /// Starts following `sources` as [`Follower::new`] does, except that a
    /// file marked in `checkpoint` (the same file, by identity and head) is
    /// read on from its mark, a compressed file it marks as read whole and
    /// unchanged is not read again, a compressed copy of a file it marks is
    /// read after what was read of it, and every other file found is new
    /// to the run and read from its start.
    ///
    /// # Errors
    ///
    /// As [`Follower::new`].
    pub fn resume(sources: Vec<Source>, options: FollowOptions, checkpoint: Checkpoint) -> Result<Follower, Error> {
        let scan = &options.scan;
        // While following, relative times count back from now, not from
        // the newest record.
        let (since, until) = resolve_window(scan.since, scan.until, now_ms())?;
        let filter = Filter { since, until, statuses: scan.statuses.clone(), codes: scan.codes.clone() };
        let (mut names, mut directories, mut others) = (Vec::new(), Vec::new(), Vec::new());
        for source in sources {
            match &source {
                Source::File(path) if path.is_dir() => directories.push(path.clone()),
                // Pipes are read until they end, compressed files once.
                Source::File(path) if is_pipe(path) || is_compressed(path) => others.push(source),
                Source::File(path) => names.push(path.clone()),
                Source::Stdin | Source::Object(_) => others.push(source),
            }
        }
        let mut files = Files::new(names, directories, scan.hidden);
        let resumed = !checkpoint.files.is_empty() || !checkpoint.objects.is_empty();
        for mark in checkpoint.files.iter().filter(|mark| !mark.compressed) {
            files.remember(Retired { head: mark.head, offset: mark.offset, born_as: mark.path.clone() });
        }
        let wake = mpsc::sync_channel(1);
        let watcher = if files.is_empty() { None } else { watcher(&files.watched(), wake.0.clone()) };
        let mut follower = Follower {
            extractor: Extractor::default(),
            filter,
            inputs: Vec::new(),
            layouts: InputLayouts::new(0, scan.format.as_ref().map(|f| f.kind())),
            files,
            streams: Vec::new(),
            resume: checkpoint,
            read_whole: Vec::new(),
            let_go: Vec::new(),
            since_start: Aggregate::default(),
            windows: Windows::new(options.windows.clone()),
            known_codes: BTreeSet::new(),
            known_codes_budget: KNOWN_CODES_BUDGET,
            // A resumed run reads files it did not know from their start.
            started: resumed,
            wake,
            watcher,
            options,
        };
        for source in others {
            follower.add_other(source)?;
        }
        // The files as following begins (a `--since` catch-up): what they
        // hold is known. Streams are not read here: all they send is new.
        follower.read_files();
        follower.known_codes.extend(follower.since_start.codes.keys().cloned());
        follower.started = true;
        Ok(follower)
    }

    /// Adds a stream, or the objects of an object source (read once).
    fn add_other(&mut self, source: Source) -> Result<(), Error> {
        match source {
            Source::Object(_) => {
                let (objects, errors) = input::expand(vec![source], self.options.scan.hidden);
                if let Some(error) = errors.into_iter().next() {
                    return Err(error);
                }
                for object in objects {
                    let input = self.add_input(object.clone(), "read once");
                    self.read_span(input, Span::whole(object));
                    self.inputs[input].done = true;
                }
            }
            Source::File(path) if !is_pipe(&path) && is_compressed(&path) => self.read_compressed(path, 0),
            source => {
                let input = self.add_input(source.clone(), "following");
                let stream = Stream::spawn(source, self.options.scan.reader, self.wake.0.clone());
                self.streams.push((input, stream));
            }
        }
        Ok(())
    }

    fn add_input(&mut self, source: Source, state: &str) -> usize {
        self.inputs.push(Input::new(source, state));
        self.layouts.push()
    }

    /// Reads everything new from every input and counts it. Returns the
    /// bytes read.
    pub fn poll(&mut self) -> u64 {
        let before = self.bytes();
        self.read_files();
        self.read_streams();
        // Windows end on the wall clock: they slide also when nothing came.
        self.windows.advance(now_ms());
        self.bytes() - before
    }

    /// Checks the followed names and directories and reads what is new in
    /// the files.
    fn read_files(&mut self) {
        for found in self.files.check() {
            self.on_found(found);
        }
        let changed: Vec<usize> = self.files.tracked.iter().filter(|t| t.changed()).map(|t| t.input).collect();
        for input in changed {
            self.read_file(input, false);
        }
    }

    fn bytes(&self) -> u64 {
        self.inputs.iter().map(|i| i.read.end).sum()
    }

    /// Acts on what a check of the files found.
    fn on_found(&mut self, found: Found) {
        match found {
            Found::New { path, file, meta, head, by_name, copy_of } => {
                let input = self.add_input(Source::File(path.clone()), "following");
                let id = FileId::of(&meta);
                let marks = &self.resume.files;
                let resumed = marks.iter().find(|m| m.is_of(&id, &head)).cloned();
                // The inode's other marks are of what it held before: kept
                // for its copies.
                let current = resumed.as_ref().filter(|m| m.offset <= meta.len());
                let before = marks.iter().filter(|m| !m.compressed && m.id == id && Some(*m) != current);
                self.let_go.extend(before.cloned());
                let offset = match resumed {
                    Some(resume) if resume.offset <= meta.len() => {
                        self.inputs[input].first_line = resume.lines;
                        resume.offset
                    }
                    Some(_) => 0,
                    None if self.started => copy_of.unwrap_or(0),
                    None => self.start_of(&path, &head, meta.len()),
                };
                if offset > 0 && !head.is_empty() {
                    self.layouts.learn(input, &head[..head.len().min(HEAD_BYTES)]);
                }
                if !self.started {
                    self.learn_known_codes(&path, offset, input);
                }
                self.files.track(input, path, file, &meta, offset, by_name);
            }
            Found::Compressed { path, start } => self.read_compressed(path, start),
            Found::Copy { path, input } => {
                self.inputs[input].state = format!("compressed as {}", path.display());
                // Its content is read as the file's: the copy is done.
                if let Ok(meta) = std::fs::metadata(&path) {
                    let of = self.marks_of(|t| t.input == input).pop();
                    let (head, offset) = of.map_or((HeadPrint::of(b""), 0), |m| (m.head, m.offset));
                    self.read_whole.push(FileMark { offset, ..FileMark::of(&path, &meta, head, true) });
                }
            }
            Found::Renamed { input, to } => self.inputs[input].state = format!("renamed to {}", to.display()),
            Found::Restarted { input, truncated, before } => {
                self.inputs[input].state = if truncated { "truncated" } else { "rewritten" }.to_owned();
                let held = self.marks_of(|t| t.input == input).into_iter();
                self.let_go.extend(held.map(|mark| FileMark { head: before.head, offset: before.offset, ..mark }));
            }
            Found::Missing { input } => self.inputs[input].state = "deleted".to_owned(),
            Found::Gone { input } => {
                self.read_file(input, true);
                // Where it ends, for a checkpoint: its compressed copy is
                // then read after it.
                self.let_go.extend(self.marks_of(|t| t.input == input));
                self.files.retire(input);
                self.inputs[input].done = true;
                if self.inputs[input].state == "following" {
                    self.inputs[input].state = "rotated".to_owned();
                }
            }
        }
    }

    /// Reads the compressed file at `path` once, from decoded byte `start`,
    /// unless a resumed run's checkpoint marks it read whole and unchanged.
    fn read_compressed(&mut self, path: PathBuf, start: u64) {
        let source = Source::File(path.clone());
        let Ok(meta) = std::fs::metadata(&path) else { return };
        let head = std::fs::File::open(&path)
            .and_then(|file| input::identity::decoded_head(&source, &file, HEAD_BYTES))
            .unwrap_or_default();
        let now = FileMark::of(&path, &meta, HeadPrint::of(&head), true);
        let done = self.resume.files.iter().find(|m| m.compressed && m.id == now.id && m.head.matches(&head));
        if let Some(done) = done.filter(|m| m.size == now.size && m.modified_ns == now.modified_ns) {
            self.read_whole.push(done.clone());
            return;
        }
        // Grown since (a member appended): only what was not read.
        let start = done.map_or(start, |done| done.offset.max(start));
        let input = self.add_input(source.clone(), "read once");
        // Read from further on, it is detected by its head.
        let head = (start > 0).then_some(head);
        let end = self.read_span(input, Span { start, head, ..Span::whole(source) });
        self.inputs[input].done = true;
        self.read_whole.push(FileMark { offset: end, lines: self.inputs[input].lines, ..now });
    }

    /// Reads what is new of the followed file of `input`; with `last`, its
    /// unfinished last line too (the file is let go, or following stops).
    fn read_file(&mut self, input: usize, last: bool) {
        let Some(tracked) = self.files.of_input(input) else { return };
        let (offset, size) = (tracked.offset, tracked.size);
        let span = Span {
            source: Source::File(tracked.name.clone()),
            start: offset,
            hold_partial: !last,
            handle: Some(Handle::File(Arc::clone(&tracked.file))),
            // Positions are counted by the follower, and the layout is
            // known from the file's head.
            first_line: 0,
            head: None,
        };
        let end = self.read_span(input, span);
        let size = size.max(end);
        let unfinished = &mut self.inputs[input].unfinished;
        *unfinished = (end < size).then(|| (unfinished.map_or_else(Instant::now, |(since, _)| since), size - end));
        if let Some(tracked) = self.files.of_input(input) {
            tracked.read_to(end, size);
        }
    }

    /// Reads `span` of `input` through the block reader and counts its
    /// lines; returns where the lines read end.
    fn read_span(&mut self, input: usize, span: Span) -> u64 {
        let mut reader = BlockReader::spans(vec![span], self.options.scan.reader);
        for block in reader.by_ref() {
            self.scan_block(input, &block);
        }
        if let Some((_, error)) = reader.take_errors().into_iter().next() {
            self.inputs[input].error = Some(error.to_string());
        }
        let stats = &reader.stats()[0];
        self.inputs[input].add(stats);
        stats.end
    }

    /// Counts what the streams sent.
    fn read_streams(&mut self) {
        let mut messages = Vec::new();
        for (input, stream) in &self.streams {
            while let Some(message) = stream.try_next() {
                messages.push((*input, message));
            }
        }
        for (input, message) in messages {
            self.on_message(input, message);
        }
        let inputs = &self.inputs;
        self.streams.retain(|(input, _)| !inputs[*input].done);
    }

    fn on_message(&mut self, input: usize, message: Message) {
        match message {
            Message::Block(block) => {
                self.scan_block(input, &block);
                self.inputs[input].read.end += block_bytes(&block);
            }
            Message::End(stats, error) => {
                let entry = &mut self.inputs[input];
                entry.read.end = stats.end;
                entry.raw_bytes = stats.raw_bytes.load(std::sync::atomic::Ordering::Relaxed);
                entry.read.compression = stats.compression;
                entry.error = error.map(|e| e.to_string());
                entry.done = true;
                entry.state = "ended".to_owned();
            }
        }
    }

    /// Counts the lines of `block` of `input`.
    fn scan_block(&mut self, input: usize, block: &Block) {
        let Some(buffer) = self.layouts.prepare(input, block) else { return };
        let first = LinePosition {
            file: input as u32,
            block: 0,
            line: self.inputs[input].first_line + self.inputs[input].lines,
        };
        let lines = match &block.content {
            BlockContent::Lines(buf) => {
                self.inputs[input].fingerprint.update(buf.as_slice());
                self.scan_lines(buf.as_slice(), first, &buffer)
            }
            BlockContent::LongLine { sample, .. } => {
                let mut scanner =
                    LineScanner::new(&self.extractor, &self.options.scan, &self.filter, Collect::default());
                scanner.long_line(sample, first, &mut self.since_start);
                1
            }
        };
        self.since_start.lines += lines;
        self.inputs[input].lines += lines;
    }

    /// Counts whole lines, since the start and in the window of each
    /// request's time.
    fn scan_lines(&mut self, data: &[u8], first: LinePosition, buffer: &BufferLayout) -> u64 {
        let collect =
            Collect { bucket_ms: None, breakdowns: self.options.scan.collect.breakdowns, ..Collect::default() };
        // The windows keep breakdowns for a spike's attribution.
        let mut scanner = LineScanner::new(&self.extractor, &self.options.scan, &self.filter, collect)
            .grouping_every_error(&self.options.scan);
        let (windows, arrival_ms) = (&mut self.windows, now_ms());
        let also = |record: &Record<'_>, body: Option<ErrorBody<'_>>, position| {
            let time = record.time.filter(|t| PLAUSIBLE_TIMES.contains(t)).unwrap_or(arrival_ms);
            windows.add_request(time, record, body, position, arrival_ms);
        };
        scanner.scan(data, first, buffer, &mut AlsoRequests { aggregate: &mut self.since_start, also })
    }

    /// Where to start reading a file that exists as following begins: its
    /// end, or with `--since`, the first line at or after that time, found
    /// by bisecting the file by the times of its lines.
    fn start_of(&self, path: &Path, head: &[u8], size: u64) -> u64 {
        let Some(since) = self.filter.since else { return size };
        let kind = self.options.scan.format.as_ref().map_or_else(|| format::detect_layout(head).kind, |f| f.kind());
        match bisect::first_at_or_after(path, since, &self.options.scan, kind) {
            Ok(offset) => offset,
            Err(_) if head.is_empty() => size,
            Err(_) => 0,
        }
    }

    /// Learns the codes of the last [`KNOWN_CODES_BYTES`] before `offset`
    /// in the file at `path` (what it held before following began).
    fn learn_known_codes(&mut self, path: &Path, offset: u64, input: usize) {
        let bytes = offset.min(KNOWN_CODES_BYTES).min(self.known_codes_budget);
        self.known_codes_budget -= bytes;
        let layout = self.layouts.layout(input);
        let codes = self.codes_before(path, offset - bytes..offset, layout);
        self.known_codes.extend(codes);
    }

    /// Stops following: the streams are read to where they stand and, unless
    /// `keep_unfinished` (a checkpoint will resume them), the unfinished
    /// last line of each file is counted as a batch scan counts it.
    pub fn finish(&mut self, keep_unfinished: bool) {
        for (_, stream) in &self.streams {
            stream.stop();
        }
        let streams = std::mem::take(&mut self.streams);
        for (input, stream) in streams {
            while let Some(message) = stream.next_within(Duration::from_secs(5)) {
                let ended = matches!(message, Message::End(..));
                self.on_message(input, message);
                if ended {
                    break;
                }
            }
        }
        if !keep_unfinished {
            let inputs: Vec<usize> = self.files.tracked.iter().map(|t| t.input).collect();
            for input in inputs {
                self.read_file(input, true);
            }
        }
    }

    /// Where each followed file stands, the files let go, and the
    /// compressed files read whole, for a checkpoint.
    pub fn marks(&self) -> Vec<FileMark> {
        let followed = self.marks_of(|_| true);
        followed.into_iter().chain(self.let_go.iter().cloned()).chain(self.read_whole.iter().cloned()).collect()
    }

    /// Where the followed files `which` picks stand.
    fn marks_of(&self, which: impl Fn(&files::Tracked) -> bool) -> Vec<FileMark> {
        let followed = self.files.tracked.iter().filter(|t| which(t)).filter_map(|t| {
            let (id, head) = t.identity();
            let meta = t.file.metadata().ok()?;
            let mark = FileMark::of(&t.name, &meta, head, false);
            let input = &self.inputs[t.input];
            Some(FileMark { id, offset: t.offset, lines: input.first_line + input.lines, ..mark })
        });
        followed.collect()
    }

    /// Whether every input has ended (pipes closed, compressed files read);
    /// files followed by name never end.
    pub fn all_ended(&self) -> bool {
        self.files.is_empty() && self.inputs.iter().all(|i| i.done)
    }

    /// Waits for a filesystem event, data on a stream, or `timeout`,
    /// whichever comes first.
    pub fn wait(&self, timeout: Duration) {
        let _ = self.wake.1.recv_timeout(timeout);
    }

    /// Whether something woke the follower since the last wait (without
    /// waiting).
    pub fn woken(&self) -> bool {
        self.wake.1.try_recv().is_ok()
    }

    /// Whether filesystem events wake the follower, or there is nothing to
    /// watch (else files are only checked every poll interval).
    pub fn has_events(&self) -> bool {
        self.watcher.is_some() || self.files.is_empty()
    }

    /// The since-start figures as a state, as a batch scan of the same
    /// bytes would give.
    pub fn state(&self) -> State {
        let mut aggregate = self.since_start.clone();
        let inputs: Vec<InputSummary> = self
            .inputs
            .iter()
            .enumerate()
            .map(|(file, input)| {
                let malformed = aggregate.malformed_by_file.get(&(file as u32)).copied().unwrap_or_default();
                let summary = self.layouts.summary(file, &input.source, &input.read, input.lines, malformed);
                let fingerprint = summary.fingerprint.as_ref().map(|_| input.fingerprint.finish());
                InputSummary { raw_bytes: input.raw_bytes, fingerprint, error: input.error.clone(), ..summary }
            })
            .collect();
        aggregate.malformed_by_file.clear();
        // Positions are lines of their input already (no block counts);
        // this prunes the breakdowns to their capacity.
        aggregate.resolve_positions();
        let collect = Collect { bucket_ms: None, ..self.options.scan.collect };
        let state = State::new(inputs, Vec::new(), self.filter.clone(), collect, self.options.scan.top, aggregate);
        State { by: self.options.scan.by.clone(), ..state }
    }

    /// The live figures now.
    pub fn snapshot(&self) -> Snapshot {
        let inputs = self
            .inputs
            .iter()
            .map(|i| LiveInput { path: i.source.to_string(), state: self.state_of(i), bytes: i.read.end })
            .collect();
        Snapshot::build(&self.since_start, &self.windows, &self.new_codes(), inputs)
    }

    /// What an input is doing, for the live view.
    fn state_of(&self, input: &Input) -> String {
        let waiting = self.files.waiting().any(|p| Source::File(p.clone()) == input.source);
        match input.unfinished {
            _ if waiting => "waiting: still being compressed".to_owned(),
            Some((since, bytes)) if since.elapsed() >= self.options.partial_timeout => {
                format!("{}, waiting for the newline of a {bytes}-byte last line", input.state)
            }
            _ => input.state.clone(),
        }
    }

    /// The windows, for alerts.
    pub fn windows(&self) -> &Windows {
        &self.windows
    }

    /// The codes seen since following began that were not known before:
    /// those the live view marks NEW and `new_code` alerts announce.
    pub fn new_codes(&self) -> BTreeSet<String> {
        self.since_start.codes.keys().filter(|code| !self.known_codes.contains(*code)).cloned().collect()
    }

    /// The codes of error bodies in bytes `range` of `path` (those before
    /// following began), whatever their time. Unreadable bytes know no
    /// codes.
    fn codes_before(&self, path: &Path, range: Range<u64>, layout: Option<Layout>) -> BTreeSet<String> {
        let mut codes = CodesSeen::default();
        let start = range.start;
        let Ok(data) = read_range(path, start, range.end) else { return codes.0 };
        // A start inside a line: from the next line on.
        let whole = if start == 0 { 0 } else { memchr::memchr(b'\n', &data).map_or(data.len(), |i| i + 1) };
        let layout = layout.unwrap_or(Layout::plain(FormatKind::fallback()));
        let any_time = Filter::default();
        let mut scanner = LineScanner::new(&self.extractor, &self.options.scan, &any_time, Collect::default());
        let first = LinePosition { file: 0, block: 0, line: 0 };
        scanner.scan(&data[whole..], first, &BufferLayout::of(layout), &mut codes);
        codes.0
    }
}

/// The bytes of lines a block holds.
fn block_bytes(block: &Block) -> u64 {
    match &block.content {
        BlockContent::Lines(buf) => buf.as_slice().len() as u64,
        BlockContent::LongLine { .. } => 0,
    }
}

/// Whether the file at `path` is compressed.
fn is_compressed(path: &Path) -> bool {
    matches!(input::compression_of(path), Ok(Some(_)))
}

/// Whether `path` is a pipe (a FIFO or a device), read as a stream.
fn is_pipe(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// How much of a file's content before following began is read for the
/// codes it already holds (its last 32 MiB), so that NEW and `new_code`
/// mean new to the log, not to this run, without reading a huge file.
pub const KNOWN_CODES_BYTES: u64 = 32 << 20;

/// How much is read for known codes over all files followed at the start
/// (256 MiB): a directory of many large logs starts in seconds, and its
/// files past the budget know only the codes the others hold.
pub const KNOWN_CODES_BUDGET: u64 = 256 << 20;

/// The codes of the error bodies of the lines scanned.
#[derive(Default)]
struct CodesSeen(BTreeSet<String>);

impl CodesSeen {
    fn add(&mut self, body: Option<ErrorBody<'_>>) {
        if let Some(body) = body
            && !self.0.contains(body.code)
        {
            self.0.insert(body.code.to_owned());
        }
    }
}

impl LineSink for CodesSeen {
    fn request(&mut self, _: &Record<'_>, body: Option<ErrorBody<'_>>, _: LinePosition, _: &Collect) {
        self.add(body);
    }

    fn malformed(&mut self, _: Malformed, _: LinePosition, body: Option<ErrorBody<'_>>) {
        self.add(body);
    }

    fn blank(&mut self) {}

    fn filtered(&mut self, _: Option<crate::lex::time::EpochMillis>) {}
}

/// Bytes `start..end` of the file at `path` (fewer if it is shorter).
fn read_range(path: &std::path::Path, start: u64, end: u64) -> io::Result<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let mut data = Vec::new();
    file.take(end.saturating_sub(start)).read_to_end(&mut data)?;
    Ok(data)
}

/// Watches `paths` (directories of followed files, followed directories)
/// and wakes the follower when something in them is created, written,
/// renamed or removed; `None` when no watch could be set (the caller says
/// so once, and files are checked every poll interval). Reads and opens
/// (`IN_OPEN`, `IN_ACCESS`, `IN_CLOSE_NOWRITE`) do not wake it: listing a
/// watched directory raises one, and would wake the follower that listed
/// it, for ever.
fn watcher(paths: &[PathBuf], wake: SyncSender<()>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|event| wakes(&event.kind)) {
            let _ = wake.try_send(());
        }
    })
    .ok()?;
    let mut watching = false;
    for path in paths {
        watching |= watcher.watch(path, notify::RecursiveMode::NonRecursive).is_ok();
    }
    watching.then_some(watcher)
}

/// Whether a filesystem event may mean new bytes or files.
fn wakes(kind: &notify::EventKind) -> bool {
    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode};
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Now, in epoch milliseconds.
fn now_ms() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

mod bisect {
    //! Finding where `--since` starts in a large file without reading it
    //! from the top: bisect by the times of its lines.

    use std::fs::File;
    use std::io::{self, Read, Seek, SeekFrom};
    use std::path::Path;

    use crate::format::FormatKind;
    use crate::pipeline::ScanOptions;
    use crate::record::Record;

    /// Bytes read at a probe.
    const PROBE: usize = 64 << 10;

    /// The offset of a line start at or before the first line whose time is
    /// at or after `since` (lines before it are then counted as filtered),
    /// in O(log size) reads of 64 KiB.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or no line in it has a time.
    pub fn first_at_or_after(path: &Path, since: i64, options: &ScanOptions, format: FormatKind) -> io::Result<u64> {
        let mut file = File::open(path)?;
        let size = file.metadata()?.len();
        let mut parser = match &options.format {
            Some(fixed) => fixed.parser(&options.fields),
            None => crate::format::Format::from_kind(format).parser(&options.fields),
        };
        let mut time_at = |offset: u64| -> io::Result<Option<(u64, i64)>> {
            file.seek(SeekFrom::Start(offset))?;
            let mut buf = Vec::with_capacity(PROBE);
            (&mut file).take(PROBE as u64).read_to_end(&mut buf)?;
            let mut start = if offset == 0 { 0 } else { memchr::memchr(b'\n', &buf).map_or(buf.len(), |i| i + 1) };
            while let Some(len) = memchr::memchr(b'\n', &buf[start..]) {
                let mut record = Record::default();
                if parser.parse(&buf[start..start + len], false, &mut record).is_ok()
                    && let Some(time) = record.time
                {
                    return Ok(Some((offset + start as u64, time)));
                }
                start += len + 1;
            }
            Ok(None)
        };
        if time_at(0)?.is_none() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "no line with a time"));
        }
        let (mut lo, mut hi) = (0u64, size);
        while hi - lo > PROBE as u64 {
            let mid = lo + (hi - lo) / 2;
            match time_at(mid)? {
                Some((_, time)) if time < since => lo = mid,
                _ => hi = mid,
            }
        }
        Ok(time_at(lo)?.map_or(lo, |(line, _)| line.min(lo.max(line))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::scan;
    use std::fs;
    use std::io::Write;

    fn options() -> FollowOptions {
        FollowOptions { scan: ScanOptions::default(), windows: vec![60_000], partial_timeout: Duration::ZERO }
    }

    fn append(path: &Path, text: &str) {
        fs::OpenOptions::new().create(true).append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
    }

    fn line(n: u32) -> String {
        format!("{{\"status\":500,\"uri\":\"/v{n}\",\"body\":{{\"error_code\":\"CTS.0003\",\"error_msg\":\"x\"}}}}\n")
    }

    /// Lines, requests and error bodies.
    fn figures(state: &State) -> (u64, u64, u64) {
        (state.aggregate.lines, state.aggregate.requests, state.aggregate.error_bodies)
    }

    #[test]
    fn a_line_whose_writer_stalls_is_never_split() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        fs::write(&log, "").unwrap();
        let mut follower = Follower::new(vec![Source::File(log.clone())], options()).unwrap();
        append(&log, &line(1));
        append(&log, "{\"status\":500,\"uri\":\"/half\",");
        follower.poll();
        // However many polls pass past the partial timeout.
        follower.poll();
        follower.poll();
        assert_eq!(figures(&follower.state()), (1, 1, 1));
        assert!(follower.snapshot().inputs[0].state.contains("waiting for the newline"));
        append(&log, "\"body\":{\"error_code\":\"CTS.0004\",\"error_msg\":\"y\"}}\n");
        follower.poll();
        assert_eq!(figures(&follower.state()), (2, 2, 2));
        assert_eq!(
            figures(&follower.state()),
            figures(&scan(vec![Source::File(log)], &ScanOptions::default()).unwrap())
        );
    }

    #[test]
    fn stopping_counts_an_unfinished_line_as_batch_does_unless_a_checkpoint_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        fs::write(&log, "").unwrap();
        for keep in [false, true] {
            fs::write(&log, "").unwrap();
            let mut follower = Follower::new(vec![Source::File(log.clone())], options()).unwrap();
            append(&log, &line(1));
            append(&log, "{\"status\":500,\"uri\":\"/cut");
            follower.poll();
            follower.finish(keep);
            let batch = scan(vec![Source::File(log.clone())], &ScanOptions::default()).unwrap();
            if keep {
                assert_eq!(figures(&follower.state()), (1, 1, 1));
                assert_eq!(follower.marks()[0].offset, line(1).len() as u64);
            } else {
                assert_eq!(figures(&follower.state()), figures(&batch));
                assert_eq!(follower.state().aggregate.lines, 2);
            }
        }
    }

    #[test]
    fn rotation_in_a_followed_directory_reads_every_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        fs::write(&log, "").unwrap();
        let mut follower = Follower::new(vec![Source::File(dir.path().to_owned())], options()).unwrap();
        (0..15).for_each(|n| append(&log, &line(n)));
        follower.poll();
        fs::rename(&log, dir.path().join("access.log.1")).unwrap();
        append(&dir.path().join("access.log.1"), &line(15));
        fs::write(&log, "").unwrap();
        (16..20).for_each(|n| append(&log, &line(n)));
        follower.poll();
        follower.poll();
        assert_eq!(figures(&follower.state()), (20, 20, 20));
        let states: Vec<String> = follower.snapshot().inputs.into_iter().map(|i| i.state).collect();
        assert!(states[0].starts_with("renamed to"), "{states:?}");
    }

    #[test]
    fn copytruncate_in_a_followed_directory_does_not_read_the_copy_again() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        fs::write(&log, "").unwrap();
        let mut follower = Follower::new(vec![Source::File(dir.path().to_owned())], options()).unwrap();
        (0..10).for_each(|n| append(&log, &line(n)));
        follower.poll();
        fs::copy(&log, dir.path().join("app.log.1")).unwrap();
        fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
        (10..12).for_each(|n| append(&log, &line(n)));
        follower.poll();
        follower.poll();
        assert_eq!(figures(&follower.state()), (12, 12, 12));
    }

    #[test]
    fn an_idle_poll_reads_nothing_and_nothing_to_watch_is_no_missing_events() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        append(&log, &line(1));
        let mut follower = Follower::new(vec![Source::File(dir.path().to_owned())], options()).unwrap();
        assert_eq!((follower.poll(), follower.poll()), (0, 0));
        assert!(Follower::new(Vec::new(), options()).unwrap().has_events());
    }

    #[test]
    fn a_50_mb_line_is_skipped_in_bounded_memory_and_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        fs::write(&log, "").unwrap();
        let mut follower = Follower::new(vec![Source::File(log.clone())], options()).unwrap();
        let long = format!("{{\"status\":500,\"pad\":\"{}\"}}", "x".repeat(50 << 20));
        append(&log, &long[..long.len() / 2]);
        follower.poll();
        assert_eq!(follower.state().aggregate.lines, 0, "unfinished: not a line yet");
        append(&log, &long[long.len() / 2..]);
        append(&log, "\n");
        append(&log, &line(2));
        follower.poll();
        let state = follower.state();
        assert_eq!(state.aggregate.lines, 2);
        assert_eq!(figures(&state), figures(&scan(vec![Source::File(log)], &ScanOptions::default()).unwrap()));
    }
}
