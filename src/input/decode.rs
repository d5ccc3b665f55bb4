//! Opening an input: compression is recognised by its magic bytes, never by
//! the file name, and decoded on a thread of its own so that decoding and
//! scanning overlap.
//!
//! - gzip (`1f 8b`): every member is read, so concatenated or rotated
//!   `.gz` files (`cat a.gz b.gz`, pigz, bgzip) decode completely;
//! - zstd (`28 b5 2f fd`): every frame is read.
//!
//! A corrupt or truncated stream yields everything decoded before the damage,
//! then an error naming the compressed byte offset.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::producer::ChunkSink;
use super::{Source, document, producer};

/// How an input is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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
    let head = read_head(&mut File::open(path)?)?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Some(Compression::Gzip)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Compression::Zstd)
    } else {
        None
    })
}

/// Opens `source`, detecting compression from its first bytes. `fetched`
/// is an object's byte stream when its fetch was started ahead.
///
/// # Errors
///
/// When the file cannot be opened or is a directory, or its first bytes
/// cannot be read.
pub fn open(source: &Source, fetched: Option<Box<dyn Read + Send>>) -> io::Result<Opened> {
    let raw_bytes = Arc::new(AtomicU64::new(0));
    let mut size_watch = None;
    let rdr: Box<dyn Read + Send> = match source {
        Source::Stdin => Box::new(io::stdin()),
        Source::File(path) => {
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
        Source::Object(url) => match fetched {
            Some(fetched) => fetched,
            None => super::object::open(url)?,
        },
    };
    let mut counting = Counting { prefix: Vec::new(), rdr, count: Arc::clone(&raw_bytes) };
    let head = read_head(&mut counting)?;
    let compression = if head.starts_with(&[0x1f, 0x8b]) {
        Some(Compression::Gzip)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Compression::Zstd)
    } else {
        None
    };
    counting.prefix = head;
    let rdr: Box<dyn Read + Send> = match compression {
        None => Box::new(counting),
        Some(Compression::Gzip) => {
            let mut compressed = Consumed { inner: BufReader::with_capacity(256 << 10, counting), consumed: 0 };
            producer::spawn("gzip", move |sink| copy_gzip_members(&mut compressed, sink))
        }
        Some(Compression::Zstd) => {
            let buffered = BufReader::with_capacity(256 << 10, counting);
            decode_on_thread(zstd::stream::read::Decoder::with_buffer(buffered)?, Compression::Zstd, &raw_bytes)
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
        let mut member = flate2::bufread::GzDecoder::new(&mut *compressed);
        sink.copy_from(&mut member).map_err(|e| {
            let message = format!("gzip stream is corrupt or truncated (the member from compressed byte {at}): {e}");
            io::Error::new(e.kind(), message)
        })?;
    }
}

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

/// Runs `decoder` on its own thread; a decoding error names the compressed
/// byte offset it was found at.
fn decode_on_thread(
    mut decoder: impl Read + Send + 'static,
    compression: Compression,
    raw_bytes: &Arc<AtomicU64>,
) -> Box<dyn Read + Send> {
    let raw_bytes = Arc::clone(raw_bytes);
    producer::spawn(compression.name(), move |sink| {
        sink.copy_from(&mut decoder).map_err(|e| {
            let at = raw_bytes.load(Ordering::Relaxed);
            let message = format!("{} stream is corrupt or truncated (compressed byte {at}): {e}", compression.name());
            io::Error::new(e.kind(), message)
        })
    })
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
