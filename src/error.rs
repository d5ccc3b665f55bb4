//! The library's error type. Every variant names the input it is about.

use std::io;
use std::path::PathBuf;

use crate::input::Source;

/// Errors from scanning and reporting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input could not be opened.
    #[error("{input}: cannot open: {source}")]
    Open {
        /// The input, as given.
        input: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Reading an input failed part-way; what was read before is reported.
    #[error("{input}: read error at byte {offset}: {source}")]
    Read {
        /// The input, as given.
        input: String,
        /// Bytes read successfully before the error.
        offset: u64,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A directory given as input could not be listed (fully).
    #[error("{}: cannot list directory: {source}", path.display())]
    Walk {
        /// The directory or entry.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The report could not be written.
    #[error("{path}: cannot write report: {source}")]
    Write {
        /// Where the report was going.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The worker threads could not be started.
    #[error("cannot start {threads} worker threads: {message}")]
    ThreadPool {
        /// Threads asked for.
        threads: usize,
        /// Why.
        message: String,
    },
}

impl Error {
    /// An input could not be opened.
    pub fn open(input: &Source, source: io::Error) -> Self {
        Error::Open { input: input.to_string(), source }
    }

    /// Reading an input failed at byte `offset`.
    pub fn read(input: &Source, offset: u64, source: io::Error) -> Self {
        Error::Read { input: input.to_string(), offset, source }
    }
}
