//! The library's one error type. Every variant names what it is about: the
//! input, the file and, where it applies, the line or byte offset.

use std::fmt::Display;
use std::io;
use std::path::PathBuf;

/// Errors from configuring a scan, scanning, reading states and reports.
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
    /// A file got shorter while it was read (truncated in place, as
    /// logrotate's `copytruncate` does); what was read still counts.
    #[error(
        "{input}: shrank from {from} to {to} bytes while it was read (truncated in place, as logrotate's copytruncate does); the figures cover the first {read} bytes"
    )]
    Shrank {
        /// The input.
        input: String,
        /// Its size when it was opened.
        from: u64,
        /// Its size when the end was reached.
        to: u64,
        /// Bytes read from it.
        read: u64,
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
    /// A symbolic link below a directory given as input that leads
    /// nowhere (dangling, or in a loop); skipped, with a warning.
    #[error("{}: skipped: a symbolic link to nothing or in a loop ({source}); fix or remove it", path.display())]
    BrokenLink {
        /// The link.
        path: PathBuf,
        /// Why its target cannot be read.
        #[source]
        source: io::Error,
    },
    /// A bucket or prefix given as input could not be listed.
    #[error(
        "{url}: cannot list objects: {source} (check the bucket name, the credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and --endpoint)"
    )]
    ObjectList {
        /// The URL as given.
        url: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A prefix or glob given as input names no object.
    #[error("{url}: no objects under this prefix or matching this glob")]
    NoObjects {
        /// The URL as given.
        url: String,
    },
    /// A directory given as input holds no file to read.
    #[error("{}: no log files under this directory{}", path.display(), hidden_hint(*hidden))]
    NoFiles {
        /// The directory.
        path: PathBuf,
        /// Files and directories skipped because their names start with `.`.
        hidden: usize,
    },
    /// The worker threads could not be started.
    #[error("cannot start {threads} worker threads: {message}")]
    ThreadPool {
        /// Threads asked for.
        threads: usize,
        /// Why.
        message: String,
    },
    /// A command-line value that does not parse.
    #[error("'{value}' {expected}")]
    InvalidValue {
        /// The value as typed.
        value: String,
        /// What was expected instead, as the end of a sentence.
        expected: String,
    },
    /// A `--log-format` layout that cannot be used.
    #[error("invalid log format {format:?}: {reason}")]
    LogFormat {
        /// The layout as given.
        format: String,
        /// Why.
        reason: String,
    },
    /// A `--fail-on` rule that cannot be used.
    #[error(
        "invalid --fail-on rule {rule:?}: {reason} (examples: error_rate>0.5%, CTS.0004>0, p99>2s, CTS.0003:p99>500ms)"
    )]
    Rule {
        /// The rule as given.
        rule: String,
        /// Why.
        reason: String,
    },
    /// A relative `--since`/`--until` needs a first pass over the inputs,
    /// and this one cannot be read twice.
    #[error(
        "{input}: relative --since/--until need the newest record first, and {why}: give an RFC 3339 time (2026-11-27T14:05:00Z)"
    )]
    NotRereadable {
        /// The input.
        input: String,
        /// Why it cannot be read twice.
        why: &'static str,
    },
    /// A `--checkpoint` file that cannot be used.
    #[error("checkpoint {}: {why}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong, and what to do.
        why: String,
    },
    /// `--serve` cannot listen.
    #[error("--serve {addr}: {why}")]
    Serve {
        /// The address, as given or resolved.
        addr: String,
        /// What is wrong, and what to do.
        why: String,
    },
    /// A `--since` at or after `--until`.
    #[error(
        "--since {since} is not before --until {until}: the window would select nothing; give a --since earlier than --until"
    )]
    EmptyWindow {
        /// `--since`, resolved (RFC 3339).
        since: String,
        /// `--until`, resolved (RFC 3339).
        until: String,
    },
    /// A relative `--since`/`--until` over inputs without a single time.
    #[error("relative --since/--until: no request in the input has a time; give an RFC 3339 time")]
    NoTimes,
    /// A state or report file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file is not what the command reads.
    #[error("{}: {reason}", path.display())]
    NotReadable {
        /// The file.
        path: PathBuf,
        /// What it is, and what to do.
        reason: String,
    },
    /// A state or report that does not parse.
    #[error("{}:{line}:{column}: {what} does not parse: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// `state` or `JSON report`.
        what: &'static str,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A state or report of a schema version this build does not read.
    #[error(
        "{}: {what} version {found}, but this build of cts-logscan reads version {supported}; rescan with this build, or merge with the cts-logscan that wrote it",
        path.display()
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// `state` or `JSON report`.
        what: &'static str,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A state or report whose figures break the accounting rule or do
    /// not add up: edited or damaged.
    #[error(
        "{}: the {what} breaks the accounting rule: {rule}; it was edited or damaged: write it again from its inputs",
        path.display()
    )]
    Accounting {
        /// The file.
        path: PathBuf,
        /// `state` or `JSON report`.
        what: &'static str,
        /// The rule broken, with the figures.
        rule: String,
    },
    /// Two states to merge include the same input.
    #[error(
        "{}: input {input} is also in {}; merging would count it twice (pass --allow-overlap if that is what you want)",
        second.display(), first.display()
    )]
    Overlap {
        /// The input both hold (path, size and fingerprint).
        input: String,
        /// The earlier state.
        first: PathBuf,
        /// The later state.
        second: PathBuf,
    },
    /// Two states to merge, or reports to compare, were written with
    /// different settings.
    #[error(
        "{}: written with {setting} {ours}, but {} with {theirs}; {what} only when written with the same {setting}",
        second.display(), first.display()
    )]
    Incompatible {
        /// What needs the same settings.
        what: Comparison,
        /// The setting that differs, e.g. `--since`.
        setting: &'static str,
        /// The earlier state.
        first: PathBuf,
        /// Its value there.
        theirs: String,
        /// The later state.
        second: PathBuf,
        /// Its value there.
        ours: String,
    },
}

/// What two files with different settings were refused for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `merge` of states.
    Merge,
    /// `diff` of reports.
    Diff,
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Comparison::Merge => "states merge",
            Comparison::Diff => "reports compare",
        })
    }
}

/// `NoFiles`'s hint about hidden entries.
fn hidden_hint(hidden: usize) -> String {
    match hidden {
        0 => String::new(),
        1 => " (1 hidden entry skipped: pass --hidden to read it)".to_owned(),
        n => format!(" ({n} hidden entries skipped: pass --hidden to read them)"),
    }
}

impl Error {
    /// An input could not be opened.
    pub fn open(input: impl Display, source: io::Error) -> Self {
        Error::Open { input: input.to_string(), source }
    }

    /// Reading an input failed at byte `offset`.
    pub fn read(input: impl Display, offset: u64, source: io::Error) -> Self {
        Error::Read { input: input.to_string(), offset, source }
    }

    /// A value that does not parse, with what was expected.
    pub fn invalid_value(value: &str, expected: impl Into<String>) -> Self {
        Error::InvalidValue { value: value.to_owned(), expected: expected.into() }
    }
}
