//! `--follow`: read inputs as they grow and keep live windows over them.
//!
//! A [`Follower`] holds every followed input — files by name
//! ([`tail::Tail`]), directories (new files in them are followed from
//! their start), stdin and FIFOs (until they end), compressed files (read
//! once) — and folds what each [`Follower::poll`] reads into a since-start
//! [`Aggregate`] and the [`windows::Windows`] ring, through the same
//! [`LineScanner`] as a batch scan. Once the inputs stop changing, the
//! since-start state equals a batch scan of the same bytes.
//!
//! Filesystem events (the `notify` crate) only wake [`Follower::wait`]; a
//! stat of every file at each poll is the truth, so missed events, NFS or
//! exhausted inotify watches cannot stall it.

mod alerts;
mod snapshot;
mod tail;
mod windows;

use std::collections::BTreeSet;
use std::io::{self, Read};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::time::{Duration, Instant, SystemTime};

pub use alerts::{AlertEvent, AlertRule, AlertState, Alerts};
pub use snapshot::{
    Attribution, ErrorRate, LiveCode, LiveInput, SNAPSHOT_VERSION, Shift, Snapshot, Totals, WindowCount, WindowLatency,
};
pub use tail::{Start, Tail, TailEvent};
pub use windows::{BUCKET_MS, SLACK_MS, SPARKLINE_MINUTES, Windows};

use crate::aggregate::{Aggregate, AlsoRequests, Collect, LinePosition, LineSink, PLAUSIBLE_TIMES};
use crate::error::Error;
use crate::extract::{ErrorBody, Extractor};
use crate::filter::{Filter, resolve_window};
use crate::format::{self, FormatKind, Layout};
use crate::input::{self, BlockContent, BlockReader, HEAD_BYTES, Source};
use crate::record::{Malformed, Record};
use crate::scan::{BufferLayout, LineScanner, ScanOptions};
use crate::state::{InputSummary, State};

/// How to follow.
#[derive(Clone)]
pub struct FollowOptions {
    /// How lines are read and filtered, as for a batch scan. A relative
    /// `since` counts back from now.
    pub scan: ScanOptions,
    /// Window lengths in milliseconds (`--windows 1m,5m,15m`).
    pub windows: Vec<i64>,
    /// How long a last line without its newline waits for it.
    pub partial_timeout: Duration,
}

/// A followed input.
enum Followed {
    /// A file by name.
    File(Tail),
    /// A pipe, read on a thread of its own until it ends.
    Stream { chunks: Receiver<io::Result<Vec<u8>>>, carry: Vec<u8>, since: Option<Instant> },
    /// Read once: compressed, or a stream or file that ended.
    Done,
}

/// What is known of one input.
struct Input {
    source: Source,
    followed: Followed,
    layout: Option<Layout>,
    /// For W3C: the `#Fields:` directive in effect.
    w3c_fields: Option<std::sync::Arc<[u8]>>,
    /// Lines read so far: positions are kept as lines of the input, so
    /// nothing grows with the number of reads.
    lines: u64,
    bytes: u64,
    state: &'static str,
    error: Option<String>,
}

/// Everything followed, and what was counted.
pub struct Follower {
    options: FollowOptions,
    extractor: Extractor,
    filter: Filter,
    inputs: Vec<Input>,
    /// Directories whose new files are followed.
    directories: Vec<(PathBuf, BTreeSet<PathBuf>)>,
    since_start: Aggregate,
    windows: Windows,
    /// Codes seen before following began: in what the files held then (up
    /// to [`KNOWN_CODES_BYTES`] each) and in what was read at the start.
    known_codes: BTreeSet<String>,
    /// Bytes still to be read for `known_codes`, of
    /// [`KNOWN_CODES_BUDGET`] for all files.
    known_codes_budget: u64,
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
        let scan = &options.scan;
        // While following, relative times count back from now, not from
        // the newest record.
        let (since, until) = resolve_window(scan.since, scan.until, now_ms())?;
        let filter = Filter { since, until, statuses: scan.statuses.clone(), codes: scan.codes.clone() };
        let windows = Windows::new(options.windows.clone());
        let mut follower = Follower {
            extractor: Extractor::default(),
            filter,
            inputs: Vec::new(),
            directories: Vec::new(),
            since_start: Aggregate::default(),
            windows,
            known_codes: BTreeSet::new(),
            known_codes_budget: KNOWN_CODES_BUDGET,
            wake: mpsc::sync_channel(1),
            watcher: None,
            options,
        };
        let mut watched: Vec<PathBuf> = Vec::new();
        for source in sources {
            match &source {
                Source::File(path) if path.is_dir() => {
                    let (files, _) = input::expand(vec![source.clone()], follower.options.scan.hidden);
                    let known: BTreeSet<PathBuf> = files
                        .iter()
                        .filter_map(|f| match f {
                            Source::File(p) => Some(p.clone()),
                            Source::Stdin | Source::Object(_) => None,
                        })
                        .collect();
                    for file in files {
                        follower.add(file, false);
                    }
                    watched.push(path.clone());
                    follower.directories.push((path.clone(), known));
                }
                Source::File(path) => {
                    watched.push(path.parent().map(PathBuf::from).unwrap_or_default());
                    follower.add(source.clone(), false);
                }
                Source::Stdin => follower.add(source.clone(), false),
                Source::Object(_) => {
                    let (objects, errors) = input::expand(vec![source.clone()], follower.options.scan.hidden);
                    if let Some(error) = errors.into_iter().next() {
                        return Err(error);
                    }
                    objects.into_iter().for_each(|object| follower.add(object, false));
                }
            }
        }
        follower.watcher = watcher(&watched, follower.wake.0.clone());
        follower.read_start();
        Ok(follower)
    }

    /// The initial read: each file from where it is followed to its
    /// current end (the `--since` catch-up); the codes seen so far are the
    /// known ones. Streams are not read here: all they send comes after
    /// following began.
    fn read_start(&mut self) {
        for index in 0..self.inputs.len() {
            if matches!(self.inputs[index].followed, Followed::File(_)) {
                self.read_new(index);
            }
        }
        self.known_codes.extend(self.since_start.codes.keys().cloned());
    }

    /// Adds an input; `from_start` for files that appeared after following
    /// began.
    fn add(&mut self, source: Source, from_start: bool) {
        let fixed = self.options.scan.format.as_ref().map(|f| f.kind());
        let mut input = Input {
            source,
            followed: Followed::Done,
            layout: fixed.map(Layout::plain),
            w3c_fields: None,
            lines: 0,
            bytes: 0,
            state: "following",
            error: None,
        };
        match &input.source {
            // Objects do not grow.
            Source::Object(_) => input.state = "read once",
            Source::Stdin => {
                input.followed = stream(|| Ok(Box::new(io::stdin()) as Box<dyn Read>), self.wake.0.clone())
            }
            Source::File(path) => {
                let is_fifo = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
                let compressed = !is_fifo && input::compression_of(path).ok().flatten().is_some();
                if is_fifo {
                    // Opening a FIFO waits for its writer: on the stream's
                    // own thread.
                    let path = path.clone();
                    let open = move || std::fs::File::open(path).map(|f| Box::new(f) as Box<dyn Read>);
                    input.followed = stream(open, self.wake.0.clone());
                } else if compressed {
                    input.state = "read once";
                } else {
                    let head = read_head(path);
                    if !head.is_empty() {
                        input.layout = Some(self.layout_of(&head));
                    }
                    let kind = input.layout.map(|l| l.kind);
                    let start = if from_start { Start::Offset(0) } else { self.start_of(path, &head, kind) };
                    match Tail::new(path, start) {
                        Ok(tail) => {
                            let before = tail.offset().unwrap_or(0);
                            let bytes = before.min(KNOWN_CODES_BYTES).min(self.known_codes_budget);
                            self.known_codes_budget -= bytes;
                            let codes = self.codes_before(path, before - bytes..before, input.layout);
                            self.known_codes.extend(codes);
                            input.followed = Followed::File(tail);
                        }
                        Err(e) => input.error = Some(Error::open(&input.source, e).to_string()),
                    }
                }
            }
        }
        let index = self.inputs.len();
        let read_once = input.state == "read once";
        self.inputs.push(input);
        if read_once {
            self.read_once(index);
        }
    }

    /// Where to start reading a file that exists as following begins: its
    /// end, or with `--since`, the first line at or after that time, found
    /// by bisecting the file by the times of its lines.
    /// The layout of an input starting with `head`; a given format still
    /// has its lines unwrapped.
    fn layout_of(&self, head: &[u8]) -> Layout {
        let detected = format::detect_layout(head);
        let kind = self.options.scan.format.as_ref().map_or(detected.kind, |f| f.kind());
        Layout { wrapper: detected.wrapper, kind }
    }

    fn start_of(&self, path: &std::path::Path, head: &[u8], format: Option<FormatKind>) -> Start {
        let Some(since) = self.filter.since else { return Start::End };
        let format = format.unwrap_or(FormatKind::Combined);
        match bisect::first_at_or_after(path, since, &self.options.scan, format) {
            Ok(offset) => Start::Offset(offset),
            Err(_) if head.is_empty() => Start::End,
            Err(_) => Start::Offset(0),
        }
    }

    /// The codes of error bodies in bytes `range` of `path` (those before
    /// following began), whatever their time. Unreadable bytes know no
    /// codes.
    fn codes_before(&self, path: &std::path::Path, range: Range<u64>, layout: Option<Layout>) -> BTreeSet<String> {
        let mut codes = CodesSeen::default();
        let start = range.start;
        let Ok(data) = read_range(path, start, range.end) else { return codes.0 };
        // A start inside a line: from the next line on.
        let whole = if start == 0 { 0 } else { memchr::memchr(b'\n', &data).map_or(data.len(), |i| i + 1) };
        let layout = layout.unwrap_or(Layout::plain(FormatKind::Combined));
        let any_time = Filter::default();
        let mut scanner = LineScanner::new(&self.extractor, &self.options.scan, &any_time, Collect::default());
        let first = LinePosition { file: 0, block: 0, line: 0 };
        scanner.scan(&data[whole..], first, &BufferLayout::of(layout), &mut codes);
        codes.0
    }

    /// Reads a compressed file to its end, once.
    fn read_once(&mut self, index: usize) {
        let source = self.inputs[index].source.clone();
        let reader = BlockReader::new(vec![source], self.options.scan.reader);
        let mut errors = Vec::new();
        let mut reader = reader;
        let blocks: Vec<_> = reader.by_ref().collect();
        errors.extend(reader.take_errors());
        for block in blocks {
            if let Some(head) = &block.head {
                self.inputs[index].layout = Some(self.layout_of(head));
            }
            match &block.content {
                BlockContent::Lines(buf) => self.scan(index, buf.as_slice()),
                BlockContent::LongLine { sample, .. } => {
                    let position = LinePosition { file: index as u32, block: 0, line: self.inputs[index].lines };
                    let mut scanner =
                        LineScanner::new(&self.extractor, &self.options.scan, &self.filter, Collect::default());
                    scanner.long_line(sample, position, &mut self.since_start);
                    self.since_start.lines += 1;
                    self.inputs[index].lines += 1;
                }
            }
        }
        if let Some((_, error)) = errors.into_iter().next() {
            self.inputs[index].error = Some(error.to_string());
        }
    }

    /// Reads everything new from every input and counts it. Returns the
    /// bytes read.
    pub fn poll(&mut self) -> u64 {
        self.discover();
        let read = (0..self.inputs.len()).map(|index| self.read_new(index)).sum();
        // Windows end on the wall clock: they slide also when nothing came.
        self.windows.advance(now_ms());
        read
    }

    /// Reads and counts what is new in input `index`. Returns the bytes
    /// read.
    fn read_new(&mut self, index: usize) -> u64 {
        let mut out = Vec::new();
        let timeout = self.options.partial_timeout;
        let input = &mut self.inputs[index];
        match &mut input.followed {
            Followed::File(tail) => match tail.poll(&mut out, timeout) {
                Ok(events) => {
                    if events.contains(&TailEvent::Deleted) {
                        input.state = "deleted";
                    } else if !events.is_empty() {
                        input.state = "following";
                    }
                }
                Err(e) => input.error = Some(Error::read(&input.source, input.bytes, e).to_string()),
            },
            Followed::Stream { chunks, carry, since } => {
                let mut ended = false;
                loop {
                    match chunks.try_recv() {
                        Ok(Ok(chunk)) => carry.extend_from_slice(&chunk),
                        Ok(Err(e)) => {
                            input.error = Some(Error::read(&input.source, input.bytes, e).to_string());
                            ended = true;
                            break;
                        }
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            ended = true;
                            break;
                        }
                    }
                }
                if let Some(last) = memchr::memrchr(b'\n', carry) {
                    out.extend(carry.drain(..=last));
                }
                let waited = since.get_or_insert_with(Instant::now).elapsed() >= timeout;
                if carry.is_empty() {
                    *since = None;
                } else if ended || waited {
                    out.append(carry);
                    out.push(b'\n');
                    *since = None;
                }
                if ended {
                    input.followed = Followed::Done;
                    input.state = "ended";
                }
            }
            Followed::Done => {}
        }
        if !out.is_empty() {
            if self.inputs[index].layout.is_none() {
                self.inputs[index].layout = Some(self.layout_of(&out[..out.len().min(HEAD_BYTES)]));
            }
            self.scan(index, &out);
        }
        out.len() as u64
    }

    /// Follows files that appeared in followed directories, from their start.
    fn discover(&mut self) {
        let hidden = self.options.scan.hidden;
        let mut found = Vec::new();
        for (dir, known) in &mut self.directories {
            let (files, _) = input::expand(vec![Source::File(dir.clone())], hidden);
            for file in files {
                if let Source::File(path) = &file
                    && known.insert(path.clone())
                {
                    found.push(file);
                }
            }
        }
        for file in found {
            self.add(file, true);
        }
    }

    /// Counts whole lines read from input `index`.
    fn scan(&mut self, index: usize, data: &[u8]) {
        let input = &mut self.inputs[index];
        input.bytes += data.len() as u64;
        let layout = input.layout.unwrap_or(Layout::plain(FormatKind::Combined));
        let buffer = BufferLayout { layout, w3c_fields: input.w3c_fields.clone() };
        if layout.kind == FormatKind::W3c
            && let Some(fields) = format::last_fields(data)
        {
            input.w3c_fields = Some(fields.into());
        }
        let first = LinePosition { file: index as u32, block: 0, line: input.lines };
        let collect =
            Collect { bucket_ms: None, breakdowns: self.options.scan.collect.breakdowns, ..Collect::default() };
        let mut scanner = LineScanner::new(&self.extractor, &self.options.scan, &self.filter, collect);
        // Each request also goes to the window bucket of its time.
        let (windows, arrival_ms) = (&mut self.windows, now_ms());
        let also = |record: &Record<'_>, body: Option<ErrorBody<'_>>, position| {
            let time = record.time.filter(|t| PLAUSIBLE_TIMES.contains(t)).unwrap_or(arrival_ms);
            windows.add_request(time, record, body, position, arrival_ms);
        };
        let lines = scanner.scan(data, first, &buffer, &mut AlsoRequests { aggregate: &mut self.since_start, also });
        self.since_start.lines += lines;
        self.inputs[index].lines += lines;
    }

    /// Whether every input has ended (pipes closed, compressed files read);
    /// files followed by name never end.
    pub fn all_ended(&self) -> bool {
        self.directories.is_empty() && self.inputs.iter().all(|i| matches!(i.followed, Followed::Done))
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

    /// Whether filesystem events wake the follower (else files are only
    /// checked every poll interval).
    pub fn has_events(&self) -> bool {
        self.watcher.is_some()
    }

    /// The since-start figures as a state, as a batch scan of the same
    /// bytes would give.
    pub fn state(&self) -> State {
        let mut aggregate = self.since_start.clone();
        let inputs: Vec<InputSummary> = self
            .inputs
            .iter()
            .enumerate()
            .map(|(file, input)| InputSummary {
                path: input.source.to_string(),
                format: input.layout.map(|l| l.kind).filter(|_| input.bytes > 0),
                wrapper: input.layout.and_then(|l| l.wrapper).filter(|_| input.bytes > 0),
                compression: None,
                bytes: input.bytes,
                raw_bytes: input.bytes,
                lines: input.lines,
                malformed: aggregate.malformed_by_file.get(&(file as u32)).copied().unwrap_or(0),
                fingerprint: None,
                looks_like: None,
                skipped: false,
                error: input.error.clone(),
            })
            .collect();
        aggregate.malformed_by_file.clear();
        // Positions are lines of their input already (no block counts);
        // this prunes the breakdowns to their capacity.
        aggregate.resolve_positions();
        let collect = Collect { bucket_ms: None, ..self.options.scan.collect };
        State::new(inputs, Vec::new(), self.filter.clone(), collect, self.options.scan.top, aggregate)
    }

    /// The live figures now.
    pub fn snapshot(&self) -> Snapshot {
        let inputs = self
            .inputs
            .iter()
            .map(|i| LiveInput { path: i.source.to_string(), state: i.state.to_owned(), bytes: i.bytes })
            .collect();
        Snapshot::build(&self.since_start, &self.windows, &self.new_codes(), inputs)
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
/// and wakes the follower on any event; `None` when no watch could be set
/// (the caller says so once, and files are checked every poll interval).
fn watcher(paths: &[PathBuf], wake: SyncSender<()>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |_: notify::Result<notify::Event>| {
        let _ = wake.try_send(());
    })
    .ok()?;
    let mut watching = false;
    for path in paths {
        let path = if path.as_os_str().is_empty() { std::path::Path::new(".") } else { path };
        watching |= watcher.watch(path, notify::RecursiveMode::NonRecursive).is_ok();
    }
    watching.then_some(watcher)
}

/// Opens a pipe with `open` and reads it on a thread of its own, sending
/// what it reads and a `wake` after each read; an error opening or reading
/// it ends the stream.
fn stream(open: impl FnOnce() -> io::Result<Box<dyn Read>> + Send + 'static, wake: SyncSender<()>) -> Followed {
    let (tx, chunks) = mpsc::sync_channel(8);
    let spawned = std::thread::Builder::new().name("cts-logscan-follow".into()).spawn(move || {
        let mut rdr = match open() {
            Ok(rdr) => rdr,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match rdr.read(&mut buf) {
                Ok(0) => {
                    drop(tx);
                    let _ = wake.try_send(());
                    return;
                }
                Ok(n) => {
                    if tx.send(Ok(buf[..n].to_vec())).is_err() {
                        return;
                    }
                    let _ = wake.try_send(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    });
    match spawned {
        Ok(_) => Followed::Stream { chunks, carry: Vec::new(), since: None },
        Err(_) => Followed::Done,
    }
}

/// The first [`HEAD_BYTES`] of a file, for format detection.
fn read_head(path: &std::path::Path) -> Vec<u8> {
    let mut head = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(HEAD_BYTES as u64).read_to_end(&mut head);
    }
    head
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
    use crate::record::Record;
    use crate::scan::ScanOptions;

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
