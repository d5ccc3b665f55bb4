//! The block reader: fill, cut at the last newline, carry the tail.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use memchr::{memchr, memrchr};

use super::decode::{self, Compression, FailOnce, SizeWatch};
use super::fingerprint::Fingerprinter;
use super::long_line::KeyWindows;
use super::{Handle, Source, Span, object};
use crate::error::Error;

/// Block reader settings.
#[derive(Clone, Copy, Debug)]
pub struct ReaderOptions {
    /// Bytes read per block (default 1 MiB). A block holds at least one
    /// whole line, so it grows up to `max_line_len` for longer lines.
    pub block_size: usize,
    /// Lines this long or longer that no block holds whole are skipped
    /// and reported as one [`BlockContent::LongLine`] (default 1 MiB); the
    /// line scanner treats those a block holds the same way.
    pub max_line_len: usize,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions { block_size: 1 << 20, max_line_len: 1 << 20 }
    }
}

/// What a block holds.
#[derive(Debug)]
pub enum BlockContent {
    /// Whole lines (the last one of an input may lack its newline).
    Lines(Buffer),
    /// One line longer than the cap, skipped unbuffered.
    LongLine {
        /// Byte offset of the line in its input.
        offset: u64,
        /// What is kept of it for the error-body finder: the bytes around
        /// its first few `error_code` keys, pieces separated by `\n`
        /// (see `long_line::KeyWindows`); empty when it has none.
        sample: Vec<u8>,
    },
}

/// A piece of one input.
#[derive(Debug)]
pub struct Block {
    /// Index of the input in the reader's source list.
    pub file: u32,
    /// Index of this block within its input, from 0.
    pub index: u64,
    /// Lines or a skipped long line.
    pub content: BlockContent,
    /// On an input's first block only: its first lines (up to
    /// [`HEAD_LINES`] lines or [`HEAD_BYTES`], whole lines only unless the
    /// input ends sooner), whatever the block size, for format detection.
    pub head: Option<Vec<u8>>,
    /// Whether the input is read from after its start, so that `head` is
    /// not where this block's lines start.
    pub resumed: bool,
}

/// Lines of an input's head ([`Block::head`]).
pub const HEAD_LINES: usize = 64;

/// Most bytes of an input's head ([`Block::head`]).
pub const HEAD_BYTES: usize = 64 << 10;

/// A block's bytes; the allocation goes back to the reader's pool on drop.
#[derive(Debug)]
pub struct Buffer {
    bytes: Vec<u8>,
    len: usize,
    pool: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Buffer {
    /// The filled part.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let bytes = std::mem::take(&mut self.bytes);
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(bytes);
        }
    }
}

/// Per-input facts gathered while reading.
#[derive(Clone, Debug, Default)]
pub struct InputStats {
    /// Bytes read, after decompression.
    pub bytes: u64,
    /// Raw bytes read from the file or pipe (compressed bytes for a
    /// compressed input).
    pub raw_bytes: Arc<AtomicU64>,
    /// The compression found.
    pub compression: Option<Compression>,
    /// The input's first and last bytes (decompressed).
    pub fingerprint: Fingerprinter,
    /// Where reading started: the span's `start` (decoded bytes).
    pub start: u64,
    /// Where the lines handed out end (decoded bytes from the input's
    /// start): after the last whole line, or at the end of an input whose
    /// unterminated last line was handed out too. A later read of a span
    /// that holds its unfinished line back starts here.
    pub end: u64,
}

/// Reads sources one after another as blocks of whole lines.
///
/// An input that cannot be opened or read is recorded in
/// [`BlockReader::take_errors`] and skipped; the others are still read.
pub struct BlockReader {
    sources: Vec<Source>,
    /// Per source: where to start, whether to hold back an unfinished last
    /// line, and an already open file to read instead of the name.
    plans: Vec<Plan>,
    options: ReaderOptions,
    next_source: usize,
    current: Option<OpenInput>,
    carry: Vec<u8>,
    pool: Arc<Mutex<Vec<Vec<u8>>>>,
    stats: Vec<InputStats>,
    errors: Vec<(u32, Error)>,
    progress: Option<ProgressFn>,
    total_raw_bytes: Option<u64>,
    /// Objects whose fetch has started ahead of their turn, by index in
    /// `sources`, in order.
    fetched: VecDeque<(usize, io::Result<Box<dyn Read + Send>>)>,
}

/// A progress callback, called after each block is read.
pub type ProgressFn = Arc<dyn Fn(&Progress<'_>) + Send + Sync>;

/// Where reading stands.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    /// Raw bytes read so far over all inputs (compressed bytes for
    /// compressed inputs).
    pub read: u64,
    /// Their total size, when every input is a file or a listed object.
    pub total: Option<u64>,
    /// The input being read, from 0.
    pub input: usize,
    /// How many inputs there are.
    pub inputs: usize,
    /// The input being read, as given.
    pub name: &'a Source,
}

/// How a source is read, besides its name.
struct Plan {
    start: u64,
    hold_partial: bool,
    handle: Option<Handle>,
    /// The head of an input read from further on.
    head: Option<Vec<u8>>,
}

struct OpenInput {
    file: u32,
    rdr: Box<dyn Read + Send>,
    /// The input's head, until the first block takes it.
    head: Option<Vec<u8>>,
    /// Whether the head was read to the input's end then: bytes written
    /// after it (a file rewritten while it is read) reach the first block,
    /// which then knows the head better.
    head_short: bool,
    /// To notice a regular file that shrinks while it is read.
    size_watch: Option<SizeWatch>,
    next_index: u64,
    /// Byte offset of the start of `carry` in the input.
    offset: u64,
    eof: bool,
    /// A stream being followed: lines are handed out as soon as a read
    /// brings them, not once a block is full.
    eager: bool,
}

impl BlockReader {
    /// A reader over the whole of each of `sources`, in order.
    pub fn new(sources: Vec<Source>, options: ReaderOptions) -> Self {
        BlockReader::spans(sources.into_iter().map(Span::whole).collect(), options)
    }

    /// A reader over `spans`, in order: each from its start, its
    /// unfinished last line handed out or held back as it asks.
    pub fn spans(spans: Vec<Span>, options: ReaderOptions) -> Self {
        let options =
            ReaderOptions { block_size: options.block_size.max(1), max_line_len: options.max_line_len.max(1) };
        let stats = spans
            .iter()
            .map(|span| InputStats { start: span.start, end: span.start, ..InputStats::default() })
            .collect();
        let (sources, plans) = spans
            .into_iter()
            .map(|span| {
                let plan =
                    Plan { start: span.start, hold_partial: span.hold_partial, handle: span.handle, head: span.head };
                (span.source, plan)
            })
            .unzip();
        BlockReader {
            sources,
            plans,
            options,
            next_source: 0,
            current: None,
            carry: Vec::new(),
            pool: Arc::default(),
            stats,
            errors: Vec::new(),
            progress: None,
            total_raw_bytes: None,
            fetched: VecDeque::new(),
        }
    }

    /// Calls `progress` after each block with the raw bytes read so far
    /// over all inputs and, when every input is a file, their total size.
    pub fn on_progress(&mut self, progress: ProgressFn) {
        self.total_raw_bytes = self
            .sources
            .iter()
            .map(|source| match source {
                Source::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
                Source::Object(url) => url.size,
                Source::Stdin => None,
            })
            .sum();
        self.progress = Some(progress);
    }

    /// Raw bytes read so far over all inputs, for progress reports.
    pub fn raw_bytes_read(&self) -> u64 {
        self.stats.iter().map(|s| s.raw_bytes.load(std::sync::atomic::Ordering::Relaxed)).sum()
    }

    /// Bytes read per input so far.
    pub fn stats(&self) -> &[InputStats] {
        &self.stats
    }

    /// Inputs that could not be read, with the error, in input order.
    pub fn take_errors(&mut self) -> Vec<(u32, Error)> {
        std::mem::take(&mut self.errors)
    }

    fn open_next(&mut self) -> Option<()> {
        while self.next_source < self.sources.len() {
            let file = self.next_source as u32;
            let source = &self.sources[self.next_source];
            self.next_source += 1;
            if *source == Source::Stdin {
                widen_stdin_pipe(self.options.block_size);
            }
            let fetched = self.fetch_ahead(file as usize);
            let source = &self.sources[file as usize];
            let plan = &mut self.plans[file as usize];
            let start = plan.start;
            let eager = matches!(plan.handle, Some(Handle::Stream(_)));
            let opened = match plan.handle.take() {
                Some(Handle::File(file)) => file.try_clone().and_then(|file| decode::open_at(source, file, start)),
                Some(Handle::Stream(stream)) => decode::open(source, Some(stream)).map(|opened| opened.skip(start)),
                None if start > 0 => match source {
                    Source::File(path) => {
                        std::fs::File::open(path).and_then(|handle| decode::open_at(source, handle, start))
                    }
                    _ => fetched.and_then(|fetched| decode::open(source, fetched)).map(|o| o.skip(start)),
                },
                None => fetched.and_then(|fetched| decode::open(source, fetched)),
            };
            match opened {
                Ok(opened) => {
                    let stats = &mut self.stats[file as usize];
                    stats.compression = opened.compression;
                    stats.raw_bytes = opened.raw_bytes;
                    // An input read from further on has the head its span
                    // brings, if any.
                    let (head, head_short, rdr) = if start == 0 {
                        let (head, short, rdr) = read_head(opened.rdr, eager);
                        (Some(head), short, rdr)
                    } else {
                        let plan = &mut self.plans[file as usize];
                        (plan.head.take().map(|head| whole_lines(head, HEAD_LINES)), false, opened.rdr)
                    };
                    self.carry.clear();
                    self.current = Some(OpenInput {
                        file,
                        rdr,
                        head,
                        head_short,
                        size_watch: opened.size_watch,
                        next_index: 0,
                        offset: start,
                        eof: false,
                        eager,
                    });
                    return Some(());
                }
                Err(source_err) => self.errors.push((file, Error::open(source, source_err))),
            }
        }
        None
    }

    /// Starts fetching the objects among the next [`object::FETCH_AHEAD`]
    /// sources after `index`, so that their requests overlap the scan of
    /// this one; the fetch of `index` itself, when one was started.
    fn fetch_ahead(&mut self, index: usize) -> io::Result<Option<Box<dyn Read + Send>>> {
        let started = self.fetched.back().map_or(index, |&(last, _)| last + 1).max(index);
        for ahead in started..self.sources.len().min(index + 1 + object::FETCH_AHEAD) {
            if let Source::Object(url) = &self.sources[ahead] {
                self.fetched.push_back((ahead, object::open(url)));
            }
        }
        match self.fetched.front() {
            Some(&(first, _)) if first == index => self.fetched.pop_front().map(|(_, fetched)| fetched).transpose(),
            _ => Ok(None),
        }
    }

    fn take_buffer(&self) -> Vec<u8> {
        let reused = self.pool.lock().ok().and_then(|mut pool| pool.pop());
        let mut buf = reused.unwrap_or_default();
        if buf.len() != self.options.block_size {
            buf.resize(self.options.block_size, 0);
            buf.shrink_to(self.options.block_size);
        }
        buf
    }

    /// Fills `buf[len..]` from the input; returns the new length.
    fn fill(&mut self, buf: &mut [u8], mut len: usize) -> usize {
        let Some(input) = self.current.as_mut() else {
            return len;
        };
        while len < buf.len() && !input.eof {
            match input.rdr.read(&mut buf[len..]) {
                Ok(0) => {
                    input.eof = true;
                    let stats = &self.stats[input.file as usize];
                    let read = stats.raw_bytes.load(std::sync::atomic::Ordering::Relaxed);
                    if let Some((from, to)) = input.size_watch.as_ref().and_then(|w| w.shrunk(read)) {
                        let source = self.sources[input.file as usize].to_string();
                        self.errors.push((input.file, Error::Shrank { input: source, from, to, read }));
                    }
                }
                Ok(n) => {
                    let stats = &mut self.stats[input.file as usize];
                    stats.bytes += n as u64;
                    stats.fingerprint.update(&buf[len..len + n]);
                    len += n;
                    if input.eager {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let at = input.offset + len as u64;
                    self.errors.push((input.file, Error::read(&self.sources[input.file as usize], at, e)));
                    input.eof = true;
                }
            }
        }
        len
    }

    /// Reads and drops bytes up to and including the next newline, keeping
    /// what follows it in `carry`; `buf[..len]` holds the line's first
    /// bytes.
    /// Returns the bytes skipped after those, whether the line ended (in a
    /// newline, not at the end of the input), and the line's
    /// [`KeyWindows`] sample.
    fn skip_line(&mut self, mut buf: Vec<u8>, len: usize) -> (u64, bool, Vec<u8>) {
        let mut windows = KeyWindows::default();
        windows.feed(&buf[..len]);
        let mut skipped = 0u64;
        let mut ended = false;
        loop {
            let len = self.fill(&mut buf, 0);
            if len == 0 {
                break;
            }
            if let Some(i) = memchr(b'\n', &buf[..len]) {
                windows.feed(&buf[..i]);
                skipped += i as u64 + 1;
                self.carry.extend_from_slice(&buf[i + 1..len]);
                ended = true;
                break;
            }
            windows.feed(&buf[..len]);
            skipped += len as u64;
        }
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(buf);
        }
        (skipped, ended, windows.finish())
    }

    fn emit(&mut self, content: BlockContent) -> Block {
        let read = self.raw_bytes_read();
        let input = self.current.as_mut().expect("emit is called with an open input");
        if let Some(progress) = &self.progress {
            let file = input.file as usize;
            progress(&Progress {
                read,
                total: self.total_raw_bytes,
                input: file,
                inputs: self.sources.len(),
                name: &self.sources[file],
            });
        }
        let index = input.next_index;
        input.next_index += 1;
        let resumed = self.plans[input.file as usize].start > 0;
        let mut head = input.head.take();
        if let (Some(head), true, BlockContent::Lines(buf)) = (&mut head, input.head_short, &content)
            && buf.as_slice().len() > head.len()
        {
            let lines = buf.as_slice();
            *head = whole_lines(lines[..lines.len().min(HEAD_BYTES)].to_vec(), HEAD_LINES);
        }
        Block { file: input.file, index, content, head, resumed }
    }
}

/// Reads the head of an input (see [`Block::head`]) and returns it, whether
/// the input ended within it, and a reader that replays it before the rest.
/// A read error ends the head; the reader then reports it where the head
/// ends. An `eager` head ends with the first read that brings a whole line.
fn read_head(mut rdr: Box<dyn Read + Send>, eager: bool) -> (Vec<u8>, bool, Box<dyn Read + Send>) {
    let mut head = vec![0u8; HEAD_BYTES];
    let (mut len, mut lines, mut eof) = (0, 0, false);
    let mut failure = None;
    while len < HEAD_BYTES && lines < HEAD_LINES {
        match rdr.read(&mut head[len..]) {
            Ok(0) => {
                eof = true;
                break;
            }
            Ok(n) => {
                lines += memchr::memchr_iter(b'\n', &head[len..len + n]).count();
                len += n;
                if eager && lines > 0 {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    head.truncate(len);
    let replay = io::Cursor::new(head.clone());
    let rest: Box<dyn Read + Send> = match failure {
        Some(e) => Box::new(FailOnce(Some(e))),
        None => rdr,
    };
    if !eof && let Some(last) = memrchr(b'\n', &head) {
        head.truncate(last + 1);
    }
    (head, eof, Box::new(replay.chain(rest)))
}

/// The first `lines` whole lines of `head` (all of it when it has fewer).
fn whole_lines(mut head: Vec<u8>, lines: usize) -> Vec<u8> {
    if let Some(end) = memchr::memchr_iter(b'\n', &head).nth(lines.saturating_sub(1)) {
        head.truncate(end + 1);
    } else if let Some(last) = memrchr(b'\n', &head) {
        head.truncate(last + 1);
    }
    head
}

/// When stdin is a pipe, asks the kernel for a pipe buffer as large as a
/// block (Linux caps it at `/proc/sys/fs/pipe-max-size`, 1 MiB by default).
/// With the default 64 KiB the writer and this reader take turns every
/// 64 KiB, which halved stdin throughput. Failure only costs speed.
fn widen_stdin_pipe(block_size: usize) {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::pipe::fcntl_setpipe_size(io::stdin(), block_size.min(1 << 20));
    }
    #[cfg(not(target_os = "linux"))]
    let _ = block_size;
}

impl Iterator for BlockReader {
    type Item = Block;

    fn next(&mut self) -> Option<Block> {
        loop {
            if self.current.is_none() {
                self.open_next()?;
            }
            let mut buf = self.take_buffer();
            let mut len = self.carry.len();
            if len > buf.len() {
                buf.resize(len, 0);
            }
            buf[..len].copy_from_slice(&self.carry);
            self.carry.clear();
            loop {
                len = self.fill(&mut buf, len);
                let eof = self.current.as_ref().is_none_or(|i| i.eof);
                if eof {
                    // An unfinished last line that may still be written
                    // waits for a later read.
                    let end = if self.holds_partial() { memrchr(b'\n', &buf[..len]).map_or(0, |i| i + 1) } else { len };
                    if end == 0 {
                        self.current = None;
                        break;
                    }
                    let block = self.lines_block(buf, end);
                    self.current = None;
                    return Some(block);
                }
                if let Some(i) = memrchr(b'\n', &buf[..len]) {
                    self.carry.extend_from_slice(&buf[i + 1..len]);
                    return Some(self.lines_block(buf, i + 1));
                }
                if len >= self.options.max_line_len {
                    let input = self.current.as_mut().expect("open input");
                    let offset = input.offset;
                    let (skipped, ended, sample) = self.skip_line(buf, len);
                    if !ended && self.holds_partial() {
                        self.current = None;
                        break;
                    }
                    let input = self.current.as_mut().expect("open input");
                    input.offset = offset + len as u64 + skipped;
                    self.stats[input.file as usize].end = input.offset;
                    return Some(self.emit(BlockContent::LongLine { offset, sample }));
                }
                if len < buf.len() {
                    // An eager read handed out what a stream had.
                    continue;
                }
                let grown = (buf.len() * 2).min(self.options.max_line_len.max(buf.len() + 1));
                buf.resize(grown, 0);
            }
        }
    }
}

impl BlockReader {
    /// Whether the open input holds back an unfinished last line.
    fn holds_partial(&self) -> bool {
        self.current.as_ref().is_some_and(|input| self.plans[input.file as usize].hold_partial)
    }

    /// Emits `buf[..end]` as a block of lines; what follows `end` is
    /// already in `carry`.
    fn lines_block(&mut self, buf: Vec<u8>, end: usize) -> Block {
        if let Some(input) = self.current.as_mut() {
            input.offset += end as u64;
            self.stats[input.file as usize].end = input.offset;
        }
        let buffer = Buffer { bytes: buf, len: end, pool: Arc::clone(&self.pool) };
        self.emit(BlockContent::Lines(buffer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::long_line_sample;
    use proptest::prelude::*;
    use std::io::Write;

    fn read_all(data: &[u8], block_size: usize, max_line_len: usize) -> Vec<Block> {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(data).unwrap();
        let sources = vec![Source::File(tmp.path().to_owned())];
        BlockReader::new(sources, ReaderOptions { block_size, max_line_len }).collect()
    }

    fn block_len(block: &Block) -> usize {
        match &block.content {
            BlockContent::Lines(buf) => buf.as_slice().len(),
            BlockContent::LongLine { .. } => 0,
        }
    }

    fn concat(blocks: &[Block]) -> Vec<u8> {
        blocks
            .iter()
            .flat_map(|b| match &b.content {
                BlockContent::Lines(buf) => buf.as_slice().to_vec(),
                BlockContent::LongLine { .. } => b"<long>\n".to_vec(),
            })
            .collect()
    }

    #[test]
    fn the_first_block_carries_the_same_head_for_any_block_size() {
        let data = format!("\n\n{}", "{\"status\":200}\n".repeat(100));
        let head = |block_size| read_all(data.as_bytes(), block_size, 1 << 20)[0].head.clone().unwrap();
        let want = head(1 << 20);
        assert_eq!(want, data.as_bytes());
        assert_eq!(head(1), want);
        assert_eq!(head(7), want);
        let blocks = read_all(data.as_bytes(), 7, 1 << 20);
        assert!(blocks[1..].iter().all(|b| b.head.is_none()));
        assert_eq!(concat(&blocks), data.as_bytes());
    }

    /// Reads its chunks in turn; an empty chunk is an end of input that
    /// more bytes follow, as a file written after a read reached its end.
    struct Chunks(std::collections::VecDeque<&'static [u8]>);

    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some(chunk) = self.0.pop_front() else { return Ok(0) };
            buf[..chunk.len()].copy_from_slice(chunk);
            Ok(chunk.len())
        }
    }

    #[test]
    fn a_head_read_at_the_end_of_an_input_is_taken_from_the_bytes_that_follow() {
        // The reads for compression sniffing and for the head meet the end,
        // then the writer's lines arrive: they are the head, not the empty read.
        let lines: &[u8] = b"{\"status\":200}\n{\"status\":404}\n";
        let stream = Chunks([&b""[..], b"", b"", lines].into());
        let span = Span { handle: Some(Handle::Stream(Box::new(stream))), ..Span::whole(Source::Stdin) };
        let blocks: Vec<Block> = BlockReader::spans(vec![span], ReaderOptions::default()).collect();
        assert_eq!(concat(&blocks), lines);
        assert_eq!(blocks[0].head.as_deref(), Some(lines));
    }

    #[test]
    fn long_lines_are_skipped_and_reading_goes_on() {
        let data = format!("a\n{}\nb\n{}", "x".repeat(100), "y".repeat(50));
        let blocks = read_all(data.as_bytes(), 8, 16);
        assert_eq!(concat(&blocks), b"a\n<long>\nb\n<long>\n");
        let offsets: Vec<u64> = blocks
            .iter()
            .filter_map(|b| match b.content {
                BlockContent::LongLine { offset, .. } => Some(offset),
                _ => None,
            })
            .collect();
        assert_eq!(offsets, vec![2, 105]);
    }

    #[test]
    fn a_long_line_keeps_the_bytes_around_its_error_code_only() {
        let body = br#"{"error_code":"CTS.0003","error_msg":"x"}"#;
        let line = [&b"a".repeat(3000)[..], body, &b"z".repeat(3000)].concat();
        let data = [&b"ok\n"[..], &line, b"\nok\n"].concat();
        let want = long_line_sample(&line);
        assert!(want.len() < 4 * 1024 + 16 && want.windows(body.len()).any(|w| w == body));
        for block_size in [1, 7, 64, 4096] {
            let blocks = read_all(&data, block_size, 100);
            assert_eq!(concat(&blocks), b"ok\n<long>\nok\n", "block size {block_size}");
            let samples: Vec<&[u8]> = blocks
                .iter()
                .filter_map(|b| match &b.content {
                    BlockContent::LongLine { sample, .. } => Some(&sample[..]),
                    BlockContent::Lines(_) => None,
                })
                .collect();
            assert_eq!(samples, [&want[..]], "block size {block_size}");
        }
    }

    #[test]
    fn missing_file_is_an_error_and_others_are_read() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(b"ok\n").unwrap();
        let sources = vec![Source::File("/nonexistent/x.log".into()), Source::File(tmp.path().to_owned())];
        let mut rdr = BlockReader::new(sources, ReaderOptions::default());
        let blocks: Vec<Block> = rdr.by_ref().collect();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].file, 1);
        let errors = rdr.take_errors();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].1.to_string().contains("/nonexistent/x.log"));
    }

    #[test]
    fn a_file_truncated_while_read_is_an_error_that_says_how_much_was_read() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(&b"line\n".repeat(100_000)).unwrap();
        let sources = vec![Source::File(tmp.path().to_owned())];
        let mut rdr = BlockReader::new(sources, ReaderOptions { block_size: 4096, max_line_len: 1 << 20 });
        let first = rdr.next().unwrap();
        tmp.as_file().set_len(100).unwrap();
        let rest: Vec<Block> = rdr.by_ref().collect();
        let read: usize = std::iter::once(&first).chain(&rest).map(block_len).sum();
        let errors = rdr.take_errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let message = errors[0].1.to_string();
        assert!(message.contains("shrank from 500000 to 100 bytes while it was read"), "{message}");
        assert!(message.contains(&format!("the figures cover the first {} bytes", read)), "{message} vs {read}");
    }

    #[test]
    fn a_file_deleted_while_read_is_read_to_its_end() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(&b"line\n".repeat(1000)).unwrap();
        let sources = vec![Source::File(tmp.path().to_owned())];
        let mut rdr = BlockReader::new(sources, ReaderOptions { block_size: 64, max_line_len: 1 << 20 });
        let first = rdr.next().unwrap();
        std::fs::remove_file(tmp.path()).unwrap();
        let rest: Vec<Block> = rdr.by_ref().collect();
        let read: usize = std::iter::once(&first).chain(&rest).map(block_len).sum();
        assert_eq!(read, 5000);
        assert!(rdr.take_errors().is_empty());
    }

    proptest! {
        #[test]
        fn blocks_preserve_bytes_and_cut_at_newlines(s in "[a-z\n]{0,300}", block_size in 1usize..40) {
            let blocks = read_all(s.as_bytes(), block_size, 1 << 20);
            prop_assert_eq!(concat(&blocks), s.as_bytes().to_vec());
            for b in &blocks[..blocks.len().saturating_sub(1)] {
                if let BlockContent::Lines(buf) = &b.content {
                    prop_assert_eq!(buf.as_slice().last(), Some(&b'\n'));
                }
            }
            let indexes: Vec<u64> = blocks.iter().map(|b| b.index).collect();
            prop_assert_eq!(indexes, (0..blocks.len() as u64).collect::<Vec<_>>());
        }
    }
}
