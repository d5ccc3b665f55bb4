//! Opening an input: compression is recognised by its magic bytes, never by
//! the file name, and decoded on a thread of its own so that decoding and
//! scanning overlap.
//!
//! - gzip (`1f 8b`): every member is read, so concatenated or rotated
//!   `.gz` files (`cat a.gz b.gz`, pigz, bgzip) decode completely;
//! - zstd (`28 b5 2f fd`): every frame is read.
//!
//! A corrupt or truncated stream yields every byte decoded before the
//! damage (gzip to the byte, zstd to the last intact block; a line cut by
//! the damage is read as the input's last, unterminated line), then an
//! error naming the compressed byte offset of the damage.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::producer::ChunkSink;
use super::{Source, document, producer};

/// How an input is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip, possibly several members.
    Gzip,
    /// Zstandard, possibly several frames.
    Zstd,
}

impl Compression {
    /// `gzip` or `zstd`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// An input ready to read: decoded bytes, plus how many raw bytes have been
/// read from the file or pipe so far.
pub struct Opened {
    /// The decoded bytes.
    pub rdr: Box<dyn Read + Send>,
    /// The compression found, if any.
    pub compression: Option<Compression>,
    /// Raw (compressed) bytes read so far; shared with the decoding thread.
    pub raw_bytes: Arc<AtomicU64>,
    /// For a regular file: a handle and its size when opened, to notice a
    /// file that shrinks while it is read.
    pub size_watch: Option<SizeWatch>,
}

/// A regular file's size when it was opened, and a handle to ask again.
pub struct SizeWatch {
    file: File,
    size_at_open: u64,
}

impl SizeWatch {
    /// `(size at open, size now)` when the file is now shorter than it was
    /// at open or than the `read` bytes taken from it.
    pub fn shrunk(&self, read: u64) -> Option<(u64, u64)> {
        let now = self.file.metadata().ok()?.len();
        (now < self.size_at_open || now < read).then_some((self.size_at_open, now))
    }
}

/// The compression of the file at `path`, from its first bytes.
///
/// # Errors
///
/// When the file cannot be opened or read.
pub fn compression_of(path: &std::path::Path) -> io::Result<Option<Compression>> {
    Ok(sniff(&read_head(&mut File::open(path)?)?))
}

/// The compression whose magic bytes `head` starts with.
fn sniff(head: &[u8]) -> Option<Compression> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some(Compression::Gzip)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Compression::Zstd)
    } else {
        None
    }
}

/// Opens the already open `file` (the input `source`) from decoded byte
/// `start`: a plain file of lines is read from there; a compressed one, or
/// a JSON document (whose lines are its records), is decoded from its
/// start and its first `start` decoded bytes dropped.
///
/// # Errors
///
/// When the file cannot be read or positioned.
pub fn open_at(source: &Source, mut file: File, start: u64) -> io::Result<Opened> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))?;
    let mut head = Vec::with_capacity(64 << 10);
    (&mut file).take(64 << 10).read_to_end(&mut head)?;
    file.seek(SeekFrom::Start(0))?;
    if start == 0 || sniff(&head).is_some() || document::starts_document(&head) {
        return Ok(open(source, Some(Box::new(file)))?.skip(start));
    }
    let meta = file.metadata()?;
    let size_watch = file.try_clone().ok().map(|watched| SizeWatch { file: watched, size_at_open: meta.len() });
    file.seek(SeekFrom::Start(start))?;
    let raw_bytes = Arc::new(AtomicU64::new(0));
    let rdr = Box::new(Counting { prefix: Vec::new(), rdr: Box::new(file), count: Arc::clone(&raw_bytes) });
    Ok(Opened { rdr, compression: None, raw_bytes, size_watch })
}

impl Opened {
    /// The same input without its first `bytes` decoded bytes (read by an
    /// earlier run).
    pub fn skip(mut self, bytes: u64) -> Opened {
        if bytes > 0 {
            let mut rdr = self.rdr;
            let skipped = io::copy(&mut (&mut rdr).take(bytes), &mut io::sink());
            self.rdr = match skipped {
                Ok(_) => rdr,
                Err(e) => Box::new(FailOnce(Some(e))),
            };
        }
        self
    }
}

/// Stdin as a file of its own, with its metadata, when it is a regular
/// file; `None` for a pipe, a terminal or a socket.
fn stdin_file() -> Option<(File, std::fs::Metadata)> {
    use std::os::fd::AsFd;
    let file = File::from(io::stdin().as_fd().try_clone_to_owned().ok()?);
    let meta = file.metadata().ok()?;
    meta.is_file().then_some((file, meta))
}

/// A reader that fails once with the error it holds, then ends.
pub(super) struct FailOnce(pub(super) Option<io::Error>);

impl Read for FailOnce {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        self.0.take().map_or(Ok(0), Err)
    }
}

/// Opens `source`, detecting compression from its first bytes. `fetched`
/// is its byte stream when that is already open: an object whose fetch
/// was started ahead, or a file opened earlier.
///
/// # Errors
///
/// When the file cannot be opened or is a directory, or its first bytes
/// cannot be read.
pub fn open(source: &Source, fetched: Option<Box<dyn Read + Send>>) -> io::Result<Opened> {
    let raw_bytes = Arc::new(AtomicU64::new(0));
    let mut size_watch = None;
    let rdr: Box<dyn Read + Send> = match (source, fetched) {
        (_, Some(fetched)) => fetched,
        // Stdin redirected from a file (`< access.log`) is read as that
        // file: no lock per read, and a file cut short is noticed.
        (Source::Stdin, None) => match stdin_file() {
            Some((file, meta)) => {
                size_watch = file.try_clone().ok().map(|file| SizeWatch { file, size_at_open: meta.len() });
                Box::new(file)
            }
            None => Box::new(io::stdin()),
        },
        (Source::File(path), None) => {
            let file = File::open(path)?;
            let meta = file.metadata()?;
            if meta.is_dir() {
                return Err(io::Error::new(io::ErrorKind::IsADirectory, "is a directory"));
            }
            if meta.is_file() {
                size_watch = file.try_clone().ok().map(|file| SizeWatch { file, size_at_open: meta.len() });
            }
            Box::new(file)
        }
        (Source::Object(url), None) => super::object::open(url)?,
    };
    let mut counting = Counting { prefix: Vec::new(), rdr, count: Arc::clone(&raw_bytes) };
    let head = read_head(&mut counting)?;
    let compression = sniff(&head);
    counting.prefix = head;
    let rdr: Box<dyn Read + Send> = match compression {
        None => Box::new(counting),
        Some(compression) => {
            let mut compressed = Consumed { inner: BufReader::with_capacity(256 << 10, counting), consumed: 0 };
            producer::spawn(compression.name(), move |sink| match compression {
                Compression::Gzip => copy_gzip_members(&mut compressed, sink),
                Compression::Zstd => copy_zstd_frames(&mut compressed, sink),
            })
        }
    };
    Ok(Opened { rdr: document::lines_of(rdr)?, compression, raw_bytes, size_watch })
}

/// Decodes gzip members one after another, as gzip(1) does: NUL bytes after
/// the last member (tape and block-device padding) end the stream quietly;
/// any other trailing bytes are an error naming the compressed offset
/// where they start, after everything before them was decoded.
fn copy_gzip_members(compressed: &mut Consumed<impl BufRead>, sink: &mut ChunkSink) -> io::Result<()> {
    loop {
        let at = compressed.consumed;
        let buf = compressed.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        let zeros = buf.iter().take_while(|&&b| b == 0).count();
        if zeros > 0 {
            compressed.consume(zeros);
            continue;
        }
        if !buf.starts_with(&[0x1f, 0x8b]) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("gzip stream is followed by bytes that are not gzip, from compressed byte {at}"),
            ));
        }
        copy_gzip_member(compressed, sink).map_err(|(damage, e)| {
            let message = format!(
                "gzip stream is corrupt or truncated at compressed byte {damage} (the member from compressed byte {at}): {e}; {KEPT}"
            );
            io::Error::new(e.kind(), message)
        })?;
    }
}

/// What a damaged stream's error says about the lines before the damage.
const KEPT: &str = "every line decoded before it was scanned";

/// Decodes one gzip member (RFC 1952) into `sink`. Every byte inflated
/// before damage is kept, to the byte, as `gzip -dc` keeps it.
///
/// # Errors
///
/// The compressed offset of the damage and what it is.
fn copy_gzip_member(compressed: &mut Consumed<impl BufRead>, sink: &mut ChunkSink) -> Result<(), (u64, io::Error)> {
    let at_damage = |compressed: &Consumed<_>, e: io::Error| (compressed.consumed, e);
    skip_gzip_header(compressed).map_err(|e| at_damage(compressed, ended_inside_member(e)))?;
    let mut inflate = flate2::Decompress::new(false);
    let mut crc = flate2::Crc::new();
    loop {
        let at = compressed.consumed;
        let input = compressed.fill_buf().map_err(|e| (at, e))?;
        let ended = input.is_empty();
        let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
        let status = sink
            .write_with(|space| {
                let status = inflate.decompress(input, space, flate2::FlushDecompress::None);
                let produced = (inflate.total_out() - out_before) as usize;
                crc.update(&space[..produced]);
                (produced, status)
            })
            .map_err(|e| (at, e))?;
        let (consumed, produced) = (inflate.total_in() - in_before, inflate.total_out() - out_before);
        compressed.consume(consumed as usize);
        match status {
            Ok(flate2::Status::StreamEnd) => break,
            Ok(_) if ended && consumed == 0 && produced == 0 => {
                return Err(at_damage(compressed, ended_inside_member(io::ErrorKind::UnexpectedEof.into())));
            }
            Ok(_) => {}
            Err(e) => return Err(at_damage(compressed, invalid_data(&e.to_string()))),
        }
    }
    let mut trailer = [0u8; 8];
    compressed.read_exact(&mut trailer).map_err(|e| at_damage(compressed, ended_inside_member(e)))?;
    let [c0, c1, c2, c3, s0, s1, s2, s3] = trailer;
    if u32::from_le_bytes([c0, c1, c2, c3]) != crc.sum() || u32::from_le_bytes([s0, s1, s2, s3]) != crc.amount() {
        return Err(at_damage(compressed, invalid_data("the member's checksum or length does not match its data")));
    }
    Ok(())
}

/// Reads past a gzip member header: magic, method, flags, time, extra
/// field, name, comment, header checksum.
fn skip_gzip_header(compressed: &mut impl BufRead) -> io::Result<()> {
    let mut fixed = [0u8; 10];
    compressed.read_exact(&mut fixed)?;
    if fixed[2] != 8 {
        return Err(invalid_data("unknown gzip compression method"));
    }
    let flags = fixed[3];
    if flags & 0x04 != 0 {
        let mut len = [0u8; 2];
        compressed.read_exact(&mut len)?;
        io::copy(&mut compressed.take(u64::from(u16::from_le_bytes(len))), &mut io::sink())?;
    }
    for zero_terminated in [0x08, 0x10] {
        if flags & zero_terminated != 0 {
            compressed.skip_until(0)?;
        }
    }
    if flags & 0x02 != 0 {
        compressed.read_exact(&mut [0u8; 2])?;
    }
    Ok(())
}

/// An end of input inside a gzip member said as such.
fn ended_inside_member(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => io::Error::new(e.kind(), "the stream ends inside a member (truncated)"),
        _ => e,
    }
}

fn invalid_data(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// Decodes zstd frames one after another into `sink`, one block per step:
/// each step is given at most the rest of the current block (never the
/// next block's header with it), so that a damaged block loses only its
/// own bytes and everything decoded before it is kept (`zstd -dc` may lose
/// the block before it too). The error names the compressed byte where
/// the step that met the damage began: the damaged block's start, or
/// within its 3-byte header.
fn copy_zstd_frames(compressed: &mut Consumed<impl BufRead>, sink: &mut ChunkSink) -> io::Result<()> {
    use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};
    let mut decoder = Decoder::new()?;
    // The decoder's hint: bytes still needed for the current block, plus
    // the next block's header, which it would like to read ahead.
    let mut wanted = 1usize;
    let mut in_frame = false;
    loop {
        let at = compressed.consumed;
        let input = compressed.fill_buf()?;
        if input.is_empty() {
            if !in_frame {
                return Ok(());
            }
            let message = format!("zstd stream is truncated at compressed byte {at}: {KEPT}");
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, message));
        }
        let step = &input[..input.len().min(wanted.saturating_sub(BLOCK_HEADER).max(1))];
        let mut step = InBuffer::around(step);
        let hint = sink.write_with(|space| {
            let mut out = OutBuffer::around(space);
            let hint = decoder.run(&mut step, &mut out);
            (out.pos(), hint)
        })?;
        let used = step.pos();
        compressed.consume(used);
        match hint {
            Ok(hint) => {
                in_frame = hint != 0;
                wanted = if in_frame { hint } else { 1 };
            }
            Err(e) => {
                let message = format!("zstd stream is corrupt at compressed byte {at}: {e}; {KEPT}");
                return Err(io::Error::new(e.kind(), message));
            }
        }
    }
}

/// Bytes of a zstd block header.
const BLOCK_HEADER: usize = 3;

/// A buffered reader that counts the bytes consumed from it.
struct Consumed<R> {
    inner: R,
    consumed: u64,
}

impl<R: BufRead> Read for Consumed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Consumed<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.consumed += amount as u64;
        self.inner.consume(amount);
    }
}

/// The first four bytes (fewer at the end of input); a pipe may deliver them
/// in pieces.
fn read_head(rdr: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut head = [0u8; 4];
    let mut len = 0;
    while len < head.len() {
        match rdr.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(head[..len].to_vec())
}

/// Counts the bytes read through it, after replaying the sniffed head.
struct Counting {
    prefix: Vec<u8>,
    rdr: Box<dyn Read + Send>,
    count: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.len());
            buf[..n].copy_from_slice(&self.prefix[..n]);
            self.prefix.drain(..n);
            // Fill the rest too, so that a first read sees more than the
            // sniffed bytes (format checks look at the head); an error here
            // comes back on the next read.
            let more = if self.prefix.is_empty() { self.rdr.read(&mut buf[n..]).unwrap_or(0) } else { 0 };
            self.count.fetch_add(more as u64, Ordering::Relaxed);
            return Ok(n + more);
        }
        let n = self.rdr.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
