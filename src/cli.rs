//! Command-line definitions (clap derive). Nothing else: `config.rs`
//! turns them into the library's options.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::LazyLock;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use cts_logscan::filter::{CodePattern, StatusPattern, TimeSpec, parse_duration};
use cts_logscan::follow::AlertRule;
use cts_logscan::format::{FormatKind, LogFormat};
use cts_logscan::group_by::ByField;
use cts_logscan::pipeline::FieldIs;
use cts_logscan::rules::Rule;

/// A `--by` value: `FIELD` groups a scan's error lines, `FIELD=VALUE`
/// selects the lines `lines` prints.
#[derive(Clone, Debug)]
pub enum ByArg {
    /// Group by this field.
    Group(ByField),
    /// Keep the lines whose field has this value.
    Select(FieldIs),
}

impl ByArg {
    fn parse(text: &str) -> Result<ByArg, String> {
        match text.contains('=') {
            true => FieldIs::parse(text).map(ByArg::Select),
            false => ByField::parse(text).map(ByArg::Group).map_err(|e| e.to_string()),
        }
    }
}

/// `--version`: the version, the commit built from, and the versions of
/// the state and report formats this binary reads and writes.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} (commit {}, state version {}, report schema {})",
        env!("CARGO_PKG_VERSION"),
        env!("CTS_LOGSCAN_COMMIT"),
        cts_logscan::state::STATE_VERSION,
        cts_logscan::report::SCHEMA_VERSION
    )
});

/// Find Cloud Trace Service (CTS) error bodies in API-gateway NDJSON and
/// nginx/Apache access logs; report per error code counts, rates, latency
/// percentiles and what the documentation says to do.
#[derive(Debug, Parser)]
#[command(name = "cts-logscan", version = VERSION.as_str(), args_conflicts_with_subcommands = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 a --fail-on rule was breached, 2 usage error or an input that could not be read."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub scan: ScanArgs,
}

/// The exit codes and what they mean: the man page's EXIT STATUS.
pub const EXIT_STATUS: [(u8, &str); 3] = [
    (0, "The run succeeded; also when the reader of standard output went away (| head)."),
    (
        1,
        "The run succeeded, and a --fail-on rule was breached (for diff, by the newer report; with --follow --exit-on-alert, an alert fired).",
    ),
    (
        2,
        "Usage error, or an input could not be opened or read (the other inputs are still scanned and reported; the message names the file and, where it applies, the line or byte offset); a report of a scan that read nothing; merge of states that overlap, disagree on their settings, have another version or break the accounting rule; diff of reports written with different filters or of another version; an output file that could not be written.",
    ),
];

/// Subcommands besides scanning.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the built-in catalogue of documented CTS error codes.
    Codes {
        /// Output format.
        #[arg(long, value_enum, default_value_t = CatalogOutput::Table)]
        output: CatalogOutput,
    },
    /// Print a shell completion script: `cts-logscan completions bash >
    /// /etc/bash_completion.d/cts-logscan`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `cts-logscan man > cts-logscan.1`.
    Man,
    /// Merge states (--output state) written on several hosts or over
    /// several files into one, exactly: every figure equals that of one
    /// scan over all the inputs. Writes a report, or a state again.
    Merge {
        /// The states, in the order their inputs are listed.
        #[arg(required = true, value_name = "STATE")]
        states: Vec<PathBuf>,
        /// Merge states that share an input (same size and fingerprint),
        /// counting it once per state.
        #[arg(long)]
        allow_overlap: bool,
        /// Show the top N per code (states must have been written with
        /// --top); default: the N they were written with.
        #[arg(long, value_name = "N", num_args = 0..=1, require_equals = true, default_missing_value = "3")]
        top: Option<usize>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Compare two JSON reports (--output json): codes that appeared or
    /// vanished, count, rate and p99 changes, most significant first.
    Diff {
        /// The earlier report.
        base: PathBuf,
        /// The later report; --fail-on rules are checked against it.
        new: PathBuf,
        /// Output format [default: table, or as the -o file's extension
        /// says: .json, .csv, .md].
        #[arg(long, value_enum)]
        output: Option<DiffOutput>,
        /// Write the comparison to FILE instead of standard output (as a
        /// whole: a temporary file renamed over FILE).
        #[arg(short = 'o', long = "output-file", value_name = "FILE")]
        output_file: Option<PathBuf>,
        /// Exit with code 1 when the new report breaks a rule; repeatable.
        #[arg(long, value_name = "RULE", value_parser = Rule::parse)]
        fail_on: Vec<Rule>,
    },
    /// Print the lines behind the figures: each line that holds an error
    /// body of a --code (any code without one) and passes --status,
    /// --since and --until, in input order, after `input:line: `; with
    /// --output json one record per line (where, the parsed fields, the
    /// body). Takes the inputs and options of a scan.
    Lines {
        #[command(flatten)]
        scan: Box<ScanArgs>,
    },
    /// Show status, message, description and solution of one code.
    Explain {
        /// The code, e.g. CTS.0209 (case matters).
        code: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CatalogOutput::Table)]
        output: CatalogOutput,
    },
}

/// Output formats of `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffOutput {
    /// Aligned text.
    Table,
    /// JSON.
    Json,
    /// One row per code.
    Csv,
    /// A table to paste into a ticket.
    Markdown,
}

/// Output formats of `codes` and `explain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CatalogOutput {
    /// Aligned text.
    Table,
    /// JSON.
    Json,
}

/// Options of a scan.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Log files or directories to scan (gzip and zstd are detected and
    /// decompressed); `s3://bucket/prefix/` and `obs://bucket/prefix/` read
    /// every object under a prefix or matching a key glob; `-` reads
    /// standard input (also the default when no path is given and stdin is
    /// not a terminal).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// The S3-compatible endpoint for `s3://` and `obs://` inputs (for
    /// example `http://127.0.0.1:8333`), instead of AWS_ENDPOINT_URL; for
    /// `obs://` it otherwise follows from AWS_REGION.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Line format; `auto` detects it per input from its first lines.
    #[arg(short = 'f', long, default_value = "auto", value_parser = format_arg())]
    pub format: FormatArg,

    /// Access logs in a layout of your own: the nginx `log_format` string
    /// (`'$remote_addr … "$request" $status … $request_time'`, the whole
    /// directive may be pasted) or an Apache `LogFormat` string
    /// (`'%h %l %u %t "%r" %>s %b %D'`). Overrides --format.
    #[arg(long, value_name = "LAYOUT", value_parser = LogFormat::parse)]
    pub log_format: Option<LogFormat>,

    /// Only requests at or after this time; earlier ones are counted as
    /// filtered. RFC 3339 (2026-11-27T14:05:00Z), a date (2026-11-27, its
    /// 00:00 UTC), or relative to the newest record: 2h, 30m, 1d,
    /// yesterday (that day only, unless --until is given), 14:05 (the
    /// latest at or before the newest record, UTC). Relative times read
    /// files twice and do not work on stdin.
    #[arg(long, value_name = "TIME", value_parser = TimeSpec::parse)]
    pub since: Option<TimeSpec>,

    /// Only requests before this time (same forms as --since).
    #[arg(long, value_name = "TIME", value_parser = TimeSpec::parse)]
    pub until: Option<TimeSpec>,

    /// Only requests with this status (404) or class (4xx, 5xx); repeatable.
    #[arg(long, value_name = "STATUS", value_parser = StatusPattern::parse)]
    pub status: Vec<StatusPattern>,

    /// Per code, the top N endpoints (ids replaced by {id}, query strings
    /// dropped), project ids, client addresses, and N request ids with
    /// file:line to grep for. `--top` alone means 3; `--top=10` asks for
    /// more (JSON carries as many as asked).
    #[arg(long, value_name = "N", num_args = 0..=1, require_equals = true, default_missing_value = "3")]
    pub top: Option<usize>,

    /// Per code, also the top values of FIELD (with --top's N, 3 by
    /// default); repeatable. FIELD is a built-in name (user, status,
    /// method, user_agent, operation, resource, source_ip, trace_type;
    /// endpoint, project, client and source are --top's lists), a dotted
    /// NDJSON path (http.request.method, user.name, upstream) or a
    /// variable of the log layout ($host, $upstream_addr). Only lines with
    /// an error body are looked at. With `lines`: FIELD=VALUE keeps only
    /// the lines whose FIELD is VALUE (also uri and request_id); all must
    /// hold.
    #[arg(long = "by", value_name = "FIELD[=VALUE]", value_parser = ByArg::parse)]
    pub by: Vec<ByArg>,

    /// Count requests and errors per time bucket (1m, 5m, 1h, …): the table
    /// draws a sparkline per code and marks when a spike started; JSON
    /// carries the series.
    #[arg(long, value_name = "SIZE", value_parser = parse_duration)]
    pub bucket: Option<i64>,

    /// Report only codes matching this code or glob (CTS.02*, `*` and `?`);
    /// repeatable. Totals still cover all codes. A pattern that matches no
    /// code seen gets a warning.
    #[arg(long, value_name = "CODE", value_parser = CodePattern::parse)]
    pub code: Vec<CodePattern>,

    /// Worker threads; 0 means one per logical CPU, and more than 4 per
    /// logical CPU are capped with a warning. The report is the same for
    /// any value.
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Bytes read per block, e.g. 4MiB. The report is the same for any value.
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub block_size: usize,

    /// Lines this long or longer are counted as malformed (line-too-long)
    /// and skipped without being buffered; an error body in them still
    /// counts, as in_malformed_lines.
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub max_line_len: usize,

    /// NDJSON: key holding the request time (RFC 3339 or epoch seconds,
    /// milliseconds or nanoseconds) instead of time, timestamp, @timestamp,
    /// timeUnixNano, … A dotted name (`event.created`) also reads nested
    /// objects; the same holds for every --*-field.
    #[arg(long, value_name = "KEY")]
    pub time_field: Option<String>,

    /// NDJSON: key holding the HTTP status instead of status, status_code, code.
    #[arg(long, value_name = "KEY")]
    pub status_field: Option<String>,

    /// NDJSON: key holding the latency (in --latency-unit) instead of
    /// request_time, latency_ms, duration_ms, duration, latency,
    /// upstream_response_time.
    #[arg(long, value_name = "KEY")]
    pub latency_field: Option<String>,

    /// NDJSON: unit of --latency-field and of the `duration`/`latency` keys.
    #[arg(long, value_enum, value_name = "UNIT", default_value_t = UnitArg::Ms)]
    pub latency_unit: UnitArg,

    /// NDJSON: key holding the request path instead of uri, request_uri,
    /// path, url, request.
    #[arg(long, value_name = "KEY")]
    pub uri_field: Option<String>,

    /// Also scan files and directories whose names start with `.` inside
    /// directory arguments.
    #[arg(long)]
    pub hidden: bool,

    /// Follow the inputs as they grow, like `tail -F`: files by name
    /// (rotation and truncation included), new files in directories, pipes
    /// until they end. A live view on a terminal, else one JSON snapshot
    /// per --interval; Ctrl-C (or the end of every input) writes the final
    /// report.
    #[arg(short = 'F', long)]
    pub follow: bool,

    /// With --follow: how often the view or a snapshot is drawn.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub interval: i64,

    /// With --follow: how often files are checked when no filesystem event
    /// comes (events only wake the check; the check is the truth).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub poll_interval: i64,

    /// With --follow: the window lengths, multiples of 10 s; p50/p99 are
    /// shown over the middle one.
    #[arg(long, value_name = "LIST", default_value = "1m,5m,15m", value_parser = parse_windows)]
    pub windows: Windows,

    /// With --follow: after how long a last line without its newline shows
    /// its input as waiting for it. The line is never split: it is counted
    /// once its newline comes, its file is rotated away or following stops.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub partial_timeout: i64,

    /// With --follow: alert when a rule holds over a window
    /// (`CTS.0004>10/5m`, `error_rate>2%/5m`, `CTS.0003:p99>2s/5m`) or a
    /// code appears that was not seen before (`new_code`); repeatable.
    /// Printed on stderr when it fires and when it resolves.
    #[arg(long, value_name = "RULE", value_parser = AlertRule::parse)]
    pub alert: Vec<AlertRule>,

    /// With --alert: run this shell command at each firing and resolving,
    /// with CTS_ALERT_RULE, CTS_ALERT_STATE (firing|resolved),
    /// CTS_ALERT_VALUE, CTS_ALERT_CODE and CTS_ALERT_WINDOW set.
    #[arg(long, value_name = "CMD")]
    pub alert_exec: Option<String>,

    /// With --alert: stop at the first alert that fires, write the final
    /// report and exit with 1.
    #[arg(long)]
    pub exit_on_alert: bool,

    /// With --follow: serve the live figures over HTTP on ADDR (host:port,
    /// :port, or host for port 9464; :0 picks a free port, printed on
    /// stderr): /metrics for Prometheus, /api/snapshot, /api/events
    /// (server-sent events), a live dashboard at /, /report.html and
    /// /healthz. Loopback only unless --serve-token is given; no JSON
    /// snapshots on stdout.
    #[arg(long, value_name = "ADDR", requires = "follow")]
    pub serve: Option<String>,

    /// With --serve: the token every request must bring (Authorization:
    /// Bearer TOKEN, or ?token=TOKEN in a browser); @FILE reads it from
    /// FILE. Needed to serve beyond loopback.
    #[arg(long, value_name = "TOKEN|@FILE", requires = "serve")]
    pub serve_token: Option<String>,

    /// With --serve: per code, the top N endpoints, projects and clients
    /// as series in /metrics, the rest summed as `other` (0: none).
    #[arg(long, value_name = "N", default_value_t = 0, requires = "serve")]
    pub metrics_top: usize,

    /// Read only what earlier runs with this checkpoint did not: by byte
    /// offset and file identity, along rotation and compression. Written
    /// atomically once the output is; with --follow, also every --interval.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// How a report is written and judged; shared by scanning and `merge`.
#[derive(Clone, Debug, Args)]
pub struct ReportArgs {
    /// Report format; without it, taken from the -o file's extension
    /// (.json, .csv, .md, .html, .prom, .state), else `table`.
    #[arg(long, value_enum)]
    pub output: Option<OutputFormat>,

    /// Exit with code 1 when a rule is breached (the report is still
    /// written in full); repeatable. `error_rate>0.5%`, `unknown_codes>0`,
    /// `p99>2s`, `CTS.0004>0`, `CTS.0003:p99>500ms`, `CTS.0003:rate>1%`,
    /// `malformed_rate>1%`, `requests<1` (fail when nothing was read). A
    /// rule with no data to judge exits with 2.
    #[arg(long, value_name = "RULE", value_parser = Rule::parse)]
    pub fail_on: Vec<Rule>,

    /// Write the report to FILE instead of standard output.
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub output_file: Option<PathBuf>,

    /// Print nothing but the report: no progress bar, no warnings (errors
    /// still set the exit code).
    #[arg(short, long)]
    pub quiet: bool,

    /// Show every column of the table in full, however wide; by default a
    /// table on a terminal is fitted to its width (the message column is
    /// shortened or dropped first).
    #[arg(long)]
    pub wide: bool,

    /// When to colour the table: auto means on a terminal and without NO_COLOR.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// `--format`: `auto`, or a format of the registry
/// ([`cts_logscan::format::FORMATS`]) by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    /// Detect per input.
    Auto,
    /// This format.
    Named(FormatKind),
}

/// The values of `--format`: `auto`, then every format the registry offers
/// there, each with its help.
fn format_arg() -> impl TypedValueParser<Value = FormatArg> {
    let auto = PossibleValue::new("auto").help("Detect per input");
    let named = FormatKind::selectable().map(|kind| PossibleValue::new(kind.name()).help(kind.help()));
    PossibleValuesParser::new(std::iter::once(auto).chain(named))
        .map(|name| FormatKind::named(&name).map_or(FormatArg::Auto, FormatArg::Named))
}

/// `--output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned text for people.
    Table,
    /// JSON with a versioned schema.
    Json,
    /// One row per code, with a header line.
    Csv,
    /// A summary and a table, to paste into a ticket or a wiki.
    Markdown,
    /// Prometheus text exposition format, for the node_exporter textfile
    /// collector.
    Prometheus,
    /// One self-contained HTML page with a chart of errors over time.
    Html,
    /// The aggregate state, for `cts-logscan merge` (one line of JSON).
    State,
}

/// `--latency-unit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum UnitArg {
    /// Seconds.
    S,
    /// Milliseconds.
    Ms,
    /// Microseconds.
    Us,
    /// Nanoseconds.
    Ns,
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Window lengths in milliseconds, as `--windows` gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Windows(pub Vec<i64>);

/// `1m,5m,15m`: durations, each a multiple of 10 s.
fn parse_windows(text: &str) -> Result<Windows, String> {
    let lengths = text
        .split(',')
        .map(|part| parse_duration(part.trim()).map_err(|e| e.to_string()))
        .collect::<Result<Vec<i64>, String>>()?;
    match lengths.iter().find(|&&ms| ms % 10_000 != 0) {
        Some(_) => Err(format!("'{text}': every window must be a multiple of 10 s (1m,5m,15m)")),
        None => Ok(Windows(lengths)),
    }
}

/// The command line with `--top N` written as `--top=N`.
///
/// `--top` takes an optional value, which clap reads only as `--top=N`, so
/// `--top 3 access.log` would take `3` for a file. A number right after
/// `--top` is its value; to scan a file named like a number after `--top`,
/// write `./3`. Nothing after `--` is touched.
pub fn join_top_values(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut joined: Vec<OsString> = Vec::new();
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        if arg == "--" {
            joined.push(arg);
            joined.extend(args);
            break;
        }
        let number_follows =
            args.peek().and_then(|next| next.to_str()).is_some_and(|next| next.parse::<usize>().is_ok());
        if arg == "--top" && number_follows {
            let mut with_value = OsString::from("--top=");
            with_value.push(args.next().unwrap_or_default());
            joined.push(with_value);
        } else {
            joined.push(arg);
        }
    }
    joined
}

/// `1048576`, `64KiB`, `4MiB`, `1M`, `2GiB`.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let digits = text.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text.trim()[digits.len()..];
    let number: usize = digits.parse().map_err(|_| format!("'{text}' is not a size like 65536, 64KiB or 4MiB"))?;
    let multiplier: usize = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("unknown size unit '{unit}' in '{text}': use KiB, MiB or GiB")),
    };
    match number.checked_mul(multiplier) {
        Some(0) | None => Err(format!("'{text}' must be between 1 byte and {} bytes", usize::MAX)),
        Some(size) => Ok(size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn top_takes_a_number_that_follows_it() {
        let args = |line: &str| -> Vec<String> {
            join_top_values(line.split(' ').map(OsString::from))
                .iter()
                .map(|a| a.to_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(args("cts-logscan --top 3 a.log"), ["cts-logscan", "--top=3", "a.log"]);
        assert_eq!(args("cts-logscan --top a.log"), ["cts-logscan", "--top", "a.log"]);
        assert_eq!(args("cts-logscan --top=5 a.log --top"), ["cts-logscan", "--top=5", "a.log", "--top"]);
        assert_eq!(args("cts-logscan -- --top 3"), ["cts-logscan", "--", "--top", "3"]);
        let cli = Cli::parse_from(join_top_values(["cts-logscan", "--top", "3", "a.log"].map(OsString::from)));
        assert_eq!((cli.scan.top, cli.scan.paths.len()), (Some(3), 1));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("4XB").is_err());
        assert!(parse_size("lots").is_err());
    }
}
