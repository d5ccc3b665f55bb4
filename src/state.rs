//! The aggregate state: everything a scan counted, typed, versioned and
//! exact, plus what it scanned and the settings that applied. It is the one
//! unit of merge: a scan produces a state, `merge` combines states, and
//! every report is a view of one ([`crate::report::Report::build`]).
//!
//! # Format
//!
//! `--output state` writes one line of JSON:
//!
//! ```json
//! {"kind":"cts-logscan-state","state_version":1,"tool":{"name":"cts-logscan","version":"0.1.0"},
//!  "inputs":[{"path":"web1.log","format":"combined","compression":null,"bytes":1830,"raw_bytes":1830,
//!             "lines":10,"malformed":1,"fingerprint":"9f0c…","error":null}],
//!  "directory_errors":[],"filter":{"since":null,"until":null,"statuses":[],"codes":[]},
//!  "collect":{"bucket_ms":null,"breakdowns":false},"top":null,
//!  "aggregate":{"lines":10,"requests":8,…,"codes":{"CTS.0003":{"count":2,…,"latency":{"min":30000,"max":120000,"hdr":"HISTF…"}}}}}
//! ```
//!
//! Latencies are microseconds; histograms are HDR V2 with deflate, base64.
//! Formats, wrappers, compressions and kinds of foreign log are stable
//! names: `format` is a format's registry name (`ndjson`,
//! `combined`, `common`, `w3c`, `haproxy`, `custom`), `wrapper` is `syslog`
//! or `lts`, `compression` is `gzip` or `zstd`, `looks_like` is
//! `nginx-error` or `binary`. They do not change when the enums behind
//! them do.
//! Line positions are 0-based line indexes within their input. A reader
//! refuses any other `state_version` and names both versions, and a state
//! that breaks the accounting rule or whose figures do not add up
//! ([`crate::aggregate::accounting`]), naming the rule.
//!
//! # Merging
//!
//! [`merge`] concatenates the inputs and merges the aggregates, which is
//! exact: counts, statuses, histograms, series, breakdowns and samples of
//! the merged state equal those of one scan over all the inputs, in the
//! order the states are given. It refuses states written with different
//! filters (`--since`, `--until`, `--status`, `--code`), bucket sizes or
//! `--top` on one side only, different `--by` fields, and states that share an input (the same size
//! and fingerprint, whatever its path) unless overlap is allowed.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::aggregate::accounting::{Broken, equal, sum};
use crate::aggregate::{Aggregate, Collect};
use crate::error::{Comparison, Error};
use crate::filter::{Filter, first_difference};
use crate::format::{Foreign, FormatKind, Wrapper};
use crate::group_by::ByField;
use crate::input::Compression;
use crate::lex::time::format_rfc3339;

/// The version of the state's structure; any change bumps it.
pub const STATE_VERSION: u32 = 1;

/// The `kind` every state carries.
pub const STATE_KIND: &str = "cts-logscan-state";

/// Everything a scan (or a merge of scans) counted.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct State {
    /// Always [`STATE_KIND`].
    pub kind: String,
    /// [`STATE_VERSION`].
    pub state_version: u32,
    /// Which program wrote the state.
    pub tool: Tool,
    /// One entry per input, in order; line positions index into it.
    pub inputs: Vec<InputSummary>,
    /// Directories that could not be listed (fully).
    pub directory_errors: Vec<String>,
    /// Which requests counted and which codes a report shows.
    pub filter: Filter,
    /// What was kept beyond the fixed figures.
    pub collect: Collect,
    /// `--top N` as the scan was asked: how many entries a report shows by
    /// default (a view setting, not data).
    pub top: Option<usize>,
    /// `--by`: the fields error lines were grouped by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by: Vec<ByField>,
    /// The counts.
    pub aggregate: Aggregate,
    /// Entries below input directories that were skipped with a warning
    /// (links that lead nowhere); not stored.
    #[serde(skip)]
    pub walk_warnings: Vec<String>,
    /// Wall time of the scan that produced this state; not stored, and
    /// `None` after a merge.
    #[serde(skip)]
    pub elapsed: Option<Duration>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The program that wrote a state or report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// `cts-logscan`.
    pub name: String,
    /// Its version.
    pub version: String,
}

impl Tool {
    /// This program.
    pub fn this() -> Tool {
        Tool { name: env!("CARGO_PKG_NAME").to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() }
    }
}

/// What one input contributed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSummary {
    /// The path as given, or `<stdin>`.
    pub path: String,
    /// The format its lines were read as; `None` if nothing was read.
    #[serde(default, with = "names")]
    pub format: Option<FormatKind>,
    /// What its lines were wrapped in (syslog, LTS), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "names")]
    pub wrapper: Option<Wrapper>,
    /// The compression found, if any.
    #[serde(default, with = "names")]
    pub compression: Option<Compression>,
    /// Bytes read, after decompression.
    pub bytes: u64,
    /// Bytes read from the file or pipe (the compressed size).
    pub raw_bytes: u64,
    /// Lines read from this input.
    pub lines: u64,
    /// Of those, lines that did not parse.
    pub malformed: u64,
    /// Of the malformed lines, those of the format that are not about a
    /// request (NDJSON objects without a status, path or method: an
    /// application's own log lines).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_requests: u64,
    /// A hash of the first and last 4 KiB read (decompressed); with
    /// `bytes`, what identifies the input when states are merged.
    pub fingerprint: Option<String>,
    /// A kind of log this tool does not read that the input looks like.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "names")]
    pub looks_like: Option<Foreign>,
    /// Whether the input was left out for what it looks like (an nginx
    /// error log); its lines are in no figure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    /// Why the input could not be read (fully), if so; what was read
    /// still counts.
    pub error: Option<String>,
}

impl InputSummary {
    /// A hint when the input was skipped, or when most of its lines did not
    /// parse: what it looks like and what to do.
    pub fn format_hint(&self) -> Option<String> {
        if let Some(foreign) = self.looks_like.filter(|f| self.skipped || (self.malformed > 0 && !f.is_skipped())) {
            return Some(format!("{}: {}", self.path, foreign.advice()));
        }
        let format = self.format?;
        let advice = if format.takes_layout() {
            "check the --log-format layout against a line of the file"
        } else {
            "if that is not its format, pass --format or --log-format"
        };
        if self.not_requests > 0 && self.not_requests * 2 > self.lines {
            return Some(format!(
                "{}: {} of {} lines are {format} without a status, path or method: counted as not-request, not as \
                 requests; if they are requests, name the field with --status-field or --uri-field",
                self.path, self.not_requests, self.lines
            ));
        }
        let unparsed = self.malformed - self.not_requests.min(self.malformed);
        (unparsed > 0 && unparsed * 2 > self.lines)
            .then(|| format!("{}: {unparsed} of {} lines did not parse as {format}; {advice}", self.path, self.lines))
    }

    /// How this input is told apart from others: size and fingerprint;
    /// `None` for an input that gave no bytes.
    fn identity(&self) -> Option<(u64, &str)> {
        (self.bytes > 0).then_some((self.bytes, self.fingerprint.as_deref()?))
    }
}

impl State {
    /// A state of `aggregate` (positions already resolved) over `inputs`.
    pub fn new(
        inputs: Vec<InputSummary>,
        directory_errors: Vec<String>,
        filter: Filter,
        collect: Collect,
        top: Option<usize>,
        aggregate: Aggregate,
    ) -> State {
        State {
            kind: STATE_KIND.to_owned(),
            state_version: STATE_VERSION,
            tool: Tool::this(),
            inputs,
            directory_errors,
            filter,
            collect,
            top,
            by: Vec::new(),
            aggregate,
            walk_warnings: Vec::new(),
            elapsed: None,
        }
    }

    /// Warnings about what was read: entries of input directories skipped,
    /// NDJSON field overrides that were looked for and never matched,
    /// `--code` patterns that match no code seen, and a run that read no
    /// request (or whose window selected none), which a nightly job could
    /// take for a quiet night.
    pub fn warnings(&self) -> Vec<String> {
        let overrides = self
            .aggregate
            .override_uses
            .iter()
            .filter(|(_, used)| used.looked > 0 && used.matched == 0)
            .map(|(name, used)| {
                format!(
                    "the field override {name:?} matched none of the {} lines it was looked for on (check the name; dots go into nested objects)",
                    used.looked
                )
            });
        self.walk_warnings
            .iter()
            .cloned()
            .chain(overrides)
            .chain(self.unmatched_by_fields())
            .chain(self.unmatched_code_patterns())
            .chain(self.no_requests())
            .collect()
    }

    /// A warning per `--by` field that no line with an error body had.
    fn unmatched_by_fields(&self) -> impl Iterator<Item = String> + '_ {
        let agg = &self.aggregate;
        let had = |name: &str| {
            agg.codes
                .values()
                .chain(agg.other_codes.as_deref())
                .any(|stats| stats.breakdown.as_ref().is_some_and(|b| b.fields.contains_key(name)))
        };
        self.by.iter().filter(move |field| agg.error_bodies > 0 && !had(field.name())).map(|field| {
            format!(
                "--by {field} matched none of the {} lines with an error body (check the name: a built-in name, a dotted NDJSON path or a $variable of the log layout)",
                agg.error_bodies
            )
        })
    }

    /// A warning per `--code` pattern that matches none of the codes seen.
    fn unmatched_code_patterns(&self) -> impl Iterator<Item = String> + '_ {
        let seen: Vec<&str> = self.aggregate.codes.keys().map(String::as_str).collect();
        let listed = match seen.len() {
            0 => "no error body was read".to_owned(),
            1..=8 => format!("the codes seen are {}", seen.join(", ")),
            n => format!("{n} codes were seen, among them {}", seen[..8].join(", ")),
        };
        self.filter.codes.iter().filter(move |pattern| !seen.iter().any(|code| pattern.matches(code))).map(
            move |pattern| {
                format!("--code {pattern} matches no code seen ({listed}); codes are case-sensitive: check the pattern")
            },
        )
    }

    /// A warning when no request was read or selected.
    fn no_requests(&self) -> Option<String> {
        let agg = &self.aggregate;
        if agg.requests > 0 || self.nothing_read() {
            return None;
        }
        const ADVICE: &str = "to fail a nightly job on that, add --fail-on 'requests<1'";
        let window = self.filter.since.is_some() || self.filter.until.is_some();
        if window && agg.filtered > 0 {
            let bound = |t: Option<i64>, none: &str| t.map_or_else(|| none.to_owned(), format_rfc3339);
            let data = match agg.filtered_span {
                Some((first, last)) => format!("the data spans {} to {}", format_rfc3339(first), format_rfc3339(last)),
                None => "the requests carry no time".to_owned(),
            };
            return Some(format!(
                "the window [{}, {}) selected none of the {} requests: {data}; pick a window inside it; {ADVICE}",
                bound(self.filter.since, "the start"),
                bound(self.filter.until, "the end"),
                agg.filtered
            ));
        }
        let outcomes = [("malformed", agg.malformed_total()), ("blank", agg.blank), ("filtered out", agg.filtered)];
        let outcomes: Vec<String> =
            outcomes.iter().filter(|(_, n)| *n > 0).map(|(what, n)| format!("{n} {what}")).collect();
        let skipped = self.inputs.iter().filter(|input| input.skipped).count();
        let read = match (agg.lines, skipped) {
            (0, 0) => "no line was read".to_owned(),
            (0, skipped) => {
                format!("{skipped} of {} input(s) skipped as not access logs; no line was read", self.inputs.len())
            }
            (lines, _) => format!("{lines} lines: {}", outcomes.join(", ")),
        };
        Some(format!("no requests read from {} ({read}); {ADVICE}", self.input_names(3)))
    }

    /// The first `most` inputs by path, and how many more there are.
    fn input_names(&self, most: usize) -> String {
        let names: Vec<&str> = self.inputs.iter().take(most).map(|input| input.path.as_str()).collect();
        match self.inputs.len().saturating_sub(most) {
            0 => names.join(", "),
            more => format!("{} and {more} more", names.join(", ")),
        }
    }

    /// Every error an input or directory gave, as messages.
    pub fn errors(&self) -> impl Iterator<Item = &str> {
        self.directory_errors.iter().map(String::as_str).chain(self.inputs.iter().filter_map(|i| i.error.as_deref()))
    }

    /// Whether no input gave a byte, every one failing (or there being
    /// none): a report would be all zeros.
    pub fn nothing_read(&self) -> bool {
        self.inputs.iter().all(|input| input.error.is_some() && input.bytes == 0)
    }

    /// Writes the state as one line of JSON.
    ///
    /// # Errors
    ///
    /// Whatever writing to `wtr` returns.
    pub fn write(&self, wtr: &mut dyn io::Write) -> io::Result<()> {
        crate::escape::write_json(&mut *wtr, self)?;
        writeln!(wtr)
    }

    /// Checks the accounting rule of the aggregate and that its inputs add
    /// up to it (see [`crate::aggregate::accounting`]).
    fn check_accounting(&self) -> Result<(), Broken> {
        self.aggregate.check_accounting()?;
        let lines = sum("the inputs' lines", self.inputs.iter().map(|input| input.lines))?;
        equal("the inputs' lines", lines, "lines", self.aggregate.lines)?;
        let malformed = sum("the inputs' malformed lines", self.inputs.iter().map(|input| input.malformed))?;
        equal("the inputs' malformed lines", malformed, "malformed", self.aggregate.malformed_total())
    }

    /// Reads a state written by `--output state`.
    ///
    /// # Errors
    ///
    /// When the file cannot be read, is not a state (a JSON report, say),
    /// has another state version, or does not parse (with line and column).
    pub fn read(path: &Path) -> Result<State, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::ReadFile { path: path.to_owned(), source })?;
        State::from_slice(path, &bytes)
    }

    /// Parses a state; `path` names it in errors.
    ///
    /// # Errors
    ///
    /// As [`State::read`].
    pub fn from_slice(path: &Path, bytes: &[u8]) -> Result<State, Error> {
        let parse_error = |e: serde_json::Error| Error::Parse {
            path: path.to_owned(),
            what: "state",
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        };
        let header = first_value::<Header>(bytes).map_err(parse_error)?;
        match (header.kind.as_deref(), header.state_version, header.schema_version) {
            (Some(STATE_KIND), Some(STATE_VERSION), _) => {
                let state: State = serde_json::from_slice(bytes).map_err(parse_error)?;
                state.check_accounting().map_err(|rule| Error::Accounting {
                    path: path.to_owned(),
                    what: "state",
                    rule,
                })?;
                Ok(state)
            }
            (Some(STATE_KIND), found, _) => Err(Error::Version {
                path: path.to_owned(),
                what: "state",
                found: found.unwrap_or(0),
                supported: STATE_VERSION,
            }),
            (None, None, Some(_)) => Err(Error::NotReadable {
                path: path.to_owned(),
                reason: "is a JSON report, which is for reading; merge reads states: write them with --output state"
                    .to_owned(),
            }),
            _ => Err(Error::NotReadable {
                path: path.to_owned(),
                reason: "is not a cts-logscan state; write one with --output state".to_owned(),
            }),
        }
    }
}

/// The names the schema gives formats, wrappers, compressions and kinds of
/// foreign log, read and written here by name, never by an enum's derived
/// form: the schema stays still when an enum changes. A name once written
/// is never changed; a new value adds a name.
mod names {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::format::{Foreign, FormatKind, Wrapper};
    use crate::input::Compression;

    /// Every compression, named by [`Compression::name`].
    pub const COMPRESSIONS: [Compression; 2] = [Compression::Gzip, Compression::Zstd];

    /// A value a state carries by its name.
    pub trait Named: Copy + Sized + 'static {
        /// What the value is, for messages.
        const WHAT: &'static str;

        /// The name in the schema.
        fn name(self) -> &'static str;

        /// Every value, each with its own name.
        fn every() -> Vec<Self>;

        /// The value of `name`, if one has it.
        fn named(name: &str) -> Option<Self> {
            Self::every().into_iter().find(|value| value.name() == name)
        }
    }

    impl Named for FormatKind {
        const WHAT: &'static str = "format";

        fn name(self) -> &'static str {
            FormatKind::name(self)
        }

        fn every() -> Vec<Self> {
            FormatKind::all().collect()
        }
    }

    impl Named for Wrapper {
        const WHAT: &'static str = "wrapper";

        fn name(self) -> &'static str {
            Wrapper::name(self)
        }

        fn every() -> Vec<Self> {
            Wrapper::ALL.to_vec()
        }
    }

    impl Named for Foreign {
        const WHAT: &'static str = "kind of log";

        fn name(self) -> &'static str {
            Foreign::name(self)
        }

        fn every() -> Vec<Self> {
            Foreign::ALL.to_vec()
        }
    }

    impl Named for Compression {
        const WHAT: &'static str = "compression";

        fn name(self) -> &'static str {
            Compression::name(self)
        }

        fn every() -> Vec<Self> {
            COMPRESSIONS.to_vec()
        }
    }

    /// Writes `value` by its name, or `null`.
    ///
    /// # Errors
    ///
    /// Whatever `serializer` returns.
    pub fn serialize<T: Named, S: Serializer>(value: &Option<T>, serializer: S) -> Result<S::Ok, S::Error> {
        value.map(T::name).serialize(serializer)
    }

    /// Reads a name, or `null`.
    ///
    /// # Errors
    ///
    /// When the value is neither a string nor `null`, or a name no value
    /// has (a state of a newer build), naming those this build knows.
    pub fn deserialize<'de, T: Named, D: Deserializer<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
        let Some(name) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
        T::named(&name).map(Some).ok_or_else(|| {
            let known: Vec<&str> = T::every().into_iter().map(T::name).collect();
            D::Error::custom(format!("unknown {} {name:?}; this build knows {}", T::WHAT, known.join(", ")))
        })
    }
}

/// The first JSON value of `bytes`, ignoring what follows it, so that
/// telling what a file is never fails on the rest of it.
///
/// # Errors
///
/// When the first value is not JSON of type `T`.
pub fn first_value<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<T>();
    values.next().unwrap_or_else(|| serde_json::from_slice(b"null"))
}

/// The fields that tell what kind of document a file is.
#[derive(Deserialize)]
struct Header {
    kind: Option<String>,
    state_version: Option<u32>,
    schema_version: Option<u32>,
}

/// Merges `parts` (each named by the file it came from) into one state
/// over all their inputs, in the order given. See the [module docs](self).
///
/// # Errors
///
/// [`Error::Incompatible`] when two parts were written with different
/// filters, bucket sizes or `--top` on one side only, naming the setting
/// and both values; [`Error::Overlap`] when two parts share an input and
/// `allow_overlap` is false; [`Error::Accounting`] when the lines of the
/// parts add up to more than `u64::MAX`. Parts read by [`State::read`]
/// passed the accounting check, so each count is at most its part's
/// lines and no other sum can overflow.
pub fn merge(parts: Vec<(PathBuf, State)>, allow_overlap: bool) -> Result<State, Error> {
    let mut parts = parts.into_iter();
    let Some((first_path, mut merged)) = parts.next() else {
        return Ok(State::new(
            Vec::new(),
            Vec::new(),
            Filter::default(),
            Collect::default(),
            None,
            Aggregate::default(),
        ));
    };
    let mut seen: HashMap<(u64, String), (usize, PathBuf, String)> = HashMap::new();
    remember_inputs(&merged, (0, &first_path), &mut seen, allow_overlap)?;
    for (index, (path, mut part)) in parts.enumerate() {
        check_compatible(&first_path, &merged, &path, &part)?;
        remember_inputs(&part, (index + 1, &path), &mut seen, allow_overlap)?;
        part.aggregate.shift_inputs(merged.inputs.len() as u32);
        merged.inputs.append(&mut part.inputs);
        merged.directory_errors.append(&mut part.directory_errors);
        merged.top = merged.top.max(part.top);
        // Every count of a state read is at most its lines: when the lines
        // add up, so does everything else.
        if merged.aggregate.lines.checked_add(part.aggregate.lines).is_none() {
            let rule =
                format!("the lines of the states merged so far and of this one add up to more than {}", u64::MAX);
            return Err(Error::Accounting { path, what: "state", rule });
        }
        merged.aggregate.merge(part.aggregate);
    }
    merged.elapsed = None;
    merged.tool = Tool::this();
    Ok(merged)
}

/// Records the inputs of `state` (the `part`-th state, from `path`) in
/// `seen`, refusing one that an earlier state holds. One state may hold an
/// input twice: its scan was asked to read it twice.
fn remember_inputs(
    state: &State,
    (part, path): (usize, &Path),
    seen: &mut HashMap<(u64, String), (usize, PathBuf, String)>,
    allow_overlap: bool,
) -> Result<(), Error> {
    for input in &state.inputs {
        let Some((bytes, fingerprint)) = input.identity() else { continue };
        let key = (bytes, fingerprint.to_owned());
        match seen.get(&key) {
            Some((earlier, first, first_input)) if *earlier != part && !allow_overlap => {
                let also = if *first_input == input.path { String::new() } else { format!(" as {first_input}") };
                return Err(Error::Overlap {
                    input: format!("{} ({bytes} bytes, fingerprint {fingerprint})", input.path),
                    first: PathBuf::from(format!("{}{also}", first.display())),
                    second: path.to_owned(),
                });
            }
            Some(_) => {}
            None => {
                seen.insert(key, (part, path.to_owned(), input.path.clone()));
            }
        }
    }
    Ok(())
}

/// Refuses to merge `b` into `a` when they were written with settings
/// that make their counts mean different things.
fn check_compatible(a_path: &Path, a: &State, b_path: &Path, b: &State) -> Result<(), Error> {
    let bucket = |s: &State| {
        ("--bucket", s.collect.bucket_ms.map_or("none".to_owned(), |ms| format!("{} s", ms as f64 / 1000.0)))
    };
    let top = |s: &State| ("--top", on_off(s.collect.breakdowns));
    let by = |s: &State| {
        let names: Vec<&str> = s.by.iter().map(ByField::name).collect();
        ("--by", if names.is_empty() { "none".to_owned() } else { names.join(", ") })
    };
    let settings = |s: &State| s.filter.settings().into_iter().chain([bucket(s), top(s), by(s)]);
    match first_difference(settings(a), settings(b)) {
        Some((setting, theirs, ours)) => Err(Error::Incompatible {
            what: Comparison::Merge,
            setting,
            first: a_path.to_owned(),
            theirs,
            second: b_path.to_owned(),
            ours,
        }),
        None => Ok(()),
    }
}

fn on_off(on: bool) -> String {
    if on { "on".to_owned() } else { "off".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::LinePosition;
    use crate::extract::ErrorBody;
    use crate::record::{Malformed, Record};

    /// 2026-11-27T10:00:00Z.
    const T0: i64 = 1_795_773_600_000;

    fn request(status: u16, latency_ms: u64, time: i64) -> Record<'static> {
        Record { status: Some(status), latency_us: Some(latency_ms * 1_000), time: Some(time), ..Record::default() }
    }

    fn body(code: &str) -> Option<ErrorBody<'_>> {
        Some(ErrorBody { code, message: None, status: None, request_id: None })
    }

    fn at(file: u32, line: u64) -> LinePosition {
        LinePosition { file, block: 0, line }
    }

    /// `web1.log`, as input `file`: 4 lines; a 200 in 10 ms, a 400 with
    /// CTS.0003 in 30 ms, a blank line, a line that is no access log.
    fn web1(aggregate: &mut Aggregate, file: u32) {
        let collect = Collect::default();
        aggregate.add_block(file, 0, 4);
        aggregate.add_record(&request(200, 10, T0), None, at(file, 0), &collect);
        aggregate.add_record(&request(400, 30, T0 + 60_000), body("CTS.0003"), at(file, 1), &collect);
        aggregate.add_blank();
        aggregate.add_malformed(Malformed::NotAccessLog, at(file, 3), None);
    }

    /// `web2.log`, as input `file`: 3 lines; a 500 with CTS.0003 in 50 ms,
    /// a 403 with CTS.0004 in 20 ms, a 200 in 40 ms.
    fn web2(aggregate: &mut Aggregate, file: u32) {
        let collect = Collect::default();
        aggregate.add_block(file, 0, 3);
        aggregate.add_record(&request(500, 50, T0 + 120_000), body("CTS.0003"), at(file, 0), &collect);
        aggregate.add_record(&request(403, 20, T0 + 180_000), body("CTS.0004"), at(file, 1), &collect);
        aggregate.add_record(&request(200, 40, T0 + 240_000), None, at(file, 2), &collect);
    }

    fn input(path: &str, lines: u64, malformed: u64) -> InputSummary {
        InputSummary {
            path: path.to_owned(),
            format: FormatKind::named("combined"),
            wrapper: None,
            compression: None,
            bytes: lines * 100,
            raw_bytes: lines * 100,
            lines,
            malformed,
            not_requests: 0,
            fingerprint: Some(format!("{path}-fingerprint")),
            looks_like: None,
            skipped: false,
            error: None,
        }
    }

    /// Adds one input's lines to an aggregate, as the input of that index.
    type Scan = fn(&mut Aggregate, u32);

    /// A state of the inputs `scans` adds, in order: path, lines,
    /// malformed lines and what the scan of it counts.
    fn state_of(scans: &[(&str, u64, u64, Scan)]) -> State {
        let mut aggregate = Aggregate::default();
        let mut inputs = Vec::new();
        for (file, &(path, lines, malformed, scan)) in scans.iter().enumerate() {
            scan(&mut aggregate, file as u32);
            inputs.push(input(path, lines, malformed));
        }
        aggregate.resolve_positions();
        State::new(inputs, Vec::new(), Filter::default(), Collect::default(), None, aggregate)
    }

    fn web1_state() -> State {
        state_of(&[("web1.log", 4, 1, web1)])
    }

    fn web2_state() -> State {
        state_of(&[("web2.log", 3, 0, web2)])
    }

    fn written(state: &State) -> Vec<u8> {
        let mut out = Vec::new();
        state.write(&mut out).unwrap();
        out
    }

    fn read(bytes: &[u8]) -> Result<State, Error> {
        State::from_slice(Path::new("s.state"), bytes)
    }

    /// `state` written, with `edit` applied to its JSON.
    fn edited(state: &State, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut value: serde_json::Value = serde_json::from_slice(&written(state)).unwrap();
        edit(&mut value);
        serde_json::to_vec(&value).unwrap()
    }

    #[test]
    fn a_state_read_back_is_the_state_written() {
        let state = web1_state();
        let bytes = written(&state);
        assert_eq!(bytes.last(), Some(&b'\n'));
        assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
        let back = read(&bytes).unwrap();
        assert_eq!(written(&back), bytes);
        let agg = &back.aggregate;
        assert_eq!((agg.lines, agg.requests, agg.blank, agg.malformed_total()), (4, 2, 1, 1));
        assert_eq!((agg.error_bodies, agg.codes["CTS.0003"].count), (1, 1));
        assert_eq!(agg.time_span, Some((T0, T0 + 60_000)));
        assert_eq!(agg.samples[0].position, at(0, 3));
        assert_eq!(back.inputs, state.inputs);
        assert_eq!((back.kind.as_str(), back.state_version), (STATE_KIND, STATE_VERSION));
    }

    #[test]
    fn reading_checks_what_the_file_is_and_its_version() {
        let state = web1_state();
        let version = |v: serde_json::Value| read(&edited(&state, |s| s["state_version"] = v)).unwrap_err();
        assert!(matches!(version(2.into()), Error::Version { found: 2, supported: 1, what: "state", .. }));
        assert!(matches!(version(serde_json::Value::Null), Error::Version { found: 0, supported: 1, .. }));
        let report = br#"{"schema_version":2,"tool":{"name":"cts-logscan","version":"0.1.0"}}"#;
        assert!(
            matches!(read(report), Err(Error::NotReadable { reason, .. }) if reason.starts_with("is a JSON report"))
        );
        assert!(
            matches!(read(b"{\"hello\":1}"), Err(Error::NotReadable { reason, .. }) if reason.starts_with("is not a cts-logscan state"))
        );
        let cut = &written(&state)[..60];
        assert!(matches!(read(cut), Err(Error::Parse { what: "state", line: 1, .. })));
    }

    #[test]
    fn reading_checks_the_accounting() {
        let state = web1_state();
        let rule = |edit: fn(&mut serde_json::Value)| match read(&edited(&state, edit)) {
            Err(Error::Accounting { rule, what: "state", .. }) => rule,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            rule(|s| s["aggregate"]["lines"] = 5.into()),
            "lines = requests + blank + malformed + filtered does not hold (5 ≠ 2 + 1 + 1 + 0)"
        );
        assert_eq!(rule(|s| s["inputs"][0]["lines"] = 3.into()), "the inputs' lines ≠ lines (3 ≠ 4)");
        assert_eq!(rule(|s| s["inputs"][0]["malformed"] = 0.into()), "the inputs' malformed lines ≠ malformed (0 ≠ 1)");
    }

    #[test]
    fn merging_two_states_equals_one_state_of_both() {
        let parts = vec![(PathBuf::from("a.state"), web1_state()), (PathBuf::from("b.state"), web2_state())];
        let merged = merge(parts, false).unwrap();
        let both = state_of(&[("web1.log", 4, 1, web1), ("web2.log", 3, 0, web2)]);
        assert_eq!(written(&merged), written(&both));
        // 4 + 3 lines: 2 + 3 requests, 1 blank, 1 malformed; CTS.0003 in
        // each input, CTS.0004 in the second.
        let agg = &merged.aggregate;
        assert_eq!((agg.lines, agg.requests, agg.blank, agg.malformed_total()), (7, 5, 1, 1));
        assert_eq!((agg.codes["CTS.0003"].count, agg.codes["CTS.0004"].count, agg.error_bodies), (2, 1, 3));
        assert_eq!(agg.statuses.iter().collect::<Vec<_>>(), [(200, 2), (400, 1), (403, 1), (500, 1)]);
        assert_eq!(agg.time_span, Some((T0, T0 + 240_000)));
        let paths: Vec<&str> = merged.inputs.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["web1.log", "web2.log"]);
        // The merged state is a state: it reads back, accounting and all.
        assert_eq!(written(&read(&written(&merged)).unwrap()), written(&both));
    }

    #[test]
    fn merging_nothing_gives_an_empty_state() {
        let empty = merge(Vec::new(), false).unwrap();
        assert_eq!((empty.inputs.len(), empty.aggregate.lines), (0, 0));
    }

    #[test]
    fn merging_refuses_other_settings_and_shared_inputs() {
        let mut windowed = web2_state();
        windowed.filter.since = Some(T0);
        let parts = vec![(PathBuf::from("a.state"), web1_state()), (PathBuf::from("b.state"), windowed)];
        assert!(matches!(merge(parts, false), Err(Error::Incompatible { setting: "--since", .. })));

        let twice = || vec![(PathBuf::from("a.state"), web1_state()), (PathBuf::from("b.state"), web1_state())];
        assert!(matches!(merge(twice(), false), Err(Error::Overlap { .. })));
        let allowed = merge(twice(), true).unwrap();
        assert_eq!((allowed.inputs.len(), allowed.aggregate.lines, allowed.aggregate.requests), (2, 8, 4));
    }

    #[test]
    fn merging_refuses_lines_beyond_u64() {
        let mut huge = web2_state();
        huge.aggregate.lines = u64::MAX;
        let parts = vec![(PathBuf::from("a.state"), web1_state()), (PathBuf::from("b.state"), huge)];
        assert!(matches!(merge(parts, false), Err(Error::Accounting { rule, .. }) if rule.contains("more than")));
    }

    /// The names a state gives formats, wrappers, compressions and kinds of
    /// foreign log. States in the field carry them: they never change.
    #[test]
    fn the_schema_names_are_pinned() {
        let formats: Vec<&str> = FormatKind::all().map(FormatKind::name).collect();
        assert_eq!(formats, ["ndjson", "combined", "common", "w3c", "haproxy", "custom"]);
        let wrappers: Vec<&str> = Wrapper::ALL.iter().map(|w| w.name()).collect();
        assert_eq!(wrappers, ["syslog", "lts"]);
        let compressions: Vec<&str> = names::COMPRESSIONS.iter().map(|c| c.name()).collect();
        assert_eq!(compressions, ["gzip", "zstd"]);
        let foreign: Vec<&str> = Foreign::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(foreign, ["nginx-error", "binary"]);

        // An input as this version wrote it before the names moved here.
        let written = r#"{"path":"a.log.gz","format":"haproxy","wrapper":"syslog","compression":"gzip","bytes":9,"raw_bytes":5,"lines":1,"malformed":1,"fingerprint":"ab","looks_like":"nginx-error","error":null}"#;
        let input: InputSummary = serde_json::from_str(written).unwrap();
        assert_eq!(input.format, FormatKind::named("haproxy"));
        assert_eq!(input.wrapper, Some(Wrapper::Syslog));
        assert_eq!(input.compression, Some(Compression::Gzip));
        assert_eq!(input.looks_like, Some(Foreign::NginxError));
        assert_eq!(serde_json::to_string(&input).unwrap(), written);
        let mut input = input;
        (input.format, input.wrapper, input.compression, input.looks_like) = (None, None, None, None);
        assert_eq!(
            serde_json::to_string(&input).unwrap(),
            r#"{"path":"a.log.gz","format":null,"compression":null,"bytes":9,"raw_bytes":5,"lines":1,"malformed":1,"fingerprint":"ab","error":null}"#
        );
        for format in FormatKind::all() {
            let json = serde_json::to_string(&InputSummary { format: Some(format), ..input.clone() }).unwrap();
            let back: InputSummary = serde_json::from_str(&json).unwrap();
            assert_eq!(back.format, Some(format));
        }
    }

    /// Does not compile when a compression is added: name it in
    /// `names::COMPRESSIONS` (and in the test above).
    #[allow(dead_code)]
    fn every_compression_is_named(compression: Compression) {
        match compression {
            Compression::Gzip | Compression::Zstd => {}
        }
    }

    #[test]
    fn unknown_names_are_refused_and_missing_ones_are_none() {
        let bad = r#"{"path":"a","format":"xml","compression":null,"bytes":0,"raw_bytes":0,"lines":0,"malformed":0,"fingerprint":null,"error":null}"#;
        let error = serde_json::from_str::<InputSummary>(bad).unwrap_err().to_string();
        assert!(error.starts_with("unknown format \"xml\"; this build knows ndjson, combined, common"), "{error}");
        let old = r#"{"path":"a","bytes":0,"raw_bytes":0,"lines":0,"malformed":0,"fingerprint":null,"error":null}"#;
        let input: InputSummary = serde_json::from_str(old).unwrap();
        assert_eq!((input.format, input.compression), (None, None));
    }
}
