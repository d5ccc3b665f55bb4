//! Input sources and the block reader.
//!
//! Every source (a file or stdin) goes through one streaming path: a
//! [`BlockReader`] fills large reused buffers with `read()`, cuts each at its
//! last newline and carries the partial line into the next block. Blocks
//! always end at a line terminator except the last block of an input.
//! Memory is bounded by block size × blocks in flight, never by input size.
//!
//! Before that, an input's bytes may be produced on a thread of their own:
//! gzip and zstd are decompressed (`decode.rs`), and JSON documents holding
//! many records (CTS `ListTraces` responses, arrays) become one record per
//! line (`document.rs`).

mod aws_profile;
mod blocks;
pub mod checkpoint;
mod decode;
mod document;
pub mod fingerprint;
pub mod identity;
mod long_line;
mod object;
mod producer;
mod walk;

use std::fmt;
use std::path::PathBuf;

pub use blocks::{
    Block, BlockContent, BlockReader, HEAD_BYTES, HEAD_LINES, InputStats, Progress, ProgressFn, ReaderOptions,
};
pub use decode::{Compression, compression_of};
pub use long_line::long_line_sample;
pub use object::{ObjectUrl, Scheme};

pub use walk::expand;

/// The decoded bytes of `file`, the input `source`, whatever its
/// compression; a damaged stream ends in an error.
///
/// # Errors
///
/// When its first bytes cannot be read.
pub fn decode_file(source: &Source, file: std::fs::File) -> std::io::Result<Box<dyn std::io::Read + Send>> {
    Ok(decode::open(source, Some(Box::new(file)))?.rdr)
}

/// A compressed file changed longer ago than this is taken as complete
/// without decoding it first.
pub const SETTLED_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether the file `meta` describes changed within [`SETTLED_AFTER`]:
/// gzip may still be writing it.
pub fn changed_lately(meta: &std::fs::Metadata) -> bool {
    let age = meta.modified().ok().and_then(|m| std::time::SystemTime::now().duration_since(m).ok());
    age.is_none_or(|age| age < SETTLED_AFTER)
}

/// Whether `file`, the input `source`, decodes from its start to its end
/// without damage (a compressed file gzip is still writing does not).
pub fn decodes_whole(source: &Source, file: &std::fs::File) -> bool {
    use std::io::Seek;
    let Ok(mut file) = file.try_clone() else { return false };
    if file.seek(std::io::SeekFrom::Start(0)).is_err() {
        return false;
    }
    decode_file(source, file).and_then(|mut rdr| std::io::copy(&mut rdr, &mut std::io::sink())).is_ok()
}

/// What of one source to read.
pub struct Span {
    /// The input.
    pub source: Source,
    /// Decoded bytes from its start already read (by an earlier poll or
    /// run): reading starts after them.
    pub start: u64,
    /// An unterminated last line may still be written: hold it back, to
    /// be read whole by a later read from
    /// [`InputStats::end`](blocks::InputStats::end).
    pub hold_partial: bool,
    /// The input, already open: read it instead of opening the name.
    pub handle: Option<Handle>,
    /// Lines before `start`: positions (`file:line`) count from here.
    pub first_line: u64,
    /// When reading starts after its head: its first bytes, for format
    /// detection (handed out as the first block's
    /// [`Block::head`](blocks::Block::head)).
    pub head: Option<Vec<u8>>,
}

/// An input already open.
pub enum Handle {
    /// A file (a followed file that may have been renamed or deleted).
    File(std::sync::Arc<std::fs::File>),
    /// A stream's raw bytes (a pipe read until it is told to stop).
    Stream(Box<dyn std::io::Read + Send>),
}

impl Span {
    /// All of `source`, its last line as it is.
    pub fn whole(source: Source) -> Span {
        Span { source, start: 0, hold_partial: false, handle: None, first_line: 0, head: None }
    }
}

/// Where lines come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Standard input (`-` on the command line).
    Stdin,
    /// A file.
    File(PathBuf),
    /// An object, a prefix or a key glob in S3-compatible storage.
    Object(ObjectUrl),
}

impl Source {
    /// `-` means stdin, `s3://` and `obs://` an object store (reached
    /// through `endpoint` when given); anything else is a path.
    pub fn from_arg(arg: impl Into<PathBuf>, endpoint: Option<&str>) -> Self {
        let path = arg.into();
        if path.as_os_str() == "-" {
            return Source::Stdin;
        }
        match path.to_str().and_then(|arg| ObjectUrl::parse(arg, endpoint)) {
            Some(url) => Source::Object(url),
            None => Source::File(path),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Stdin => f.write_str("<stdin>"),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Object(url) => write!(f, "{url}"),
        }
    }
}
