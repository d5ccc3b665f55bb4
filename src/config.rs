//! The command line, validated: clap's arguments become the library's
//! options, with factory methods for what each step needs (the scan
//! options, the report options, the renderer, the output).

use std::fs::OpenOptions;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::ValueEnum;
use cts_logscan::Error;
use cts_logscan::aggregate::{Collect, Precision};
use cts_logscan::filter::TimeSpec;
use cts_logscan::follow::{AlertRule, FollowOptions};
use cts_logscan::format::{Field, FieldOverrides, Format, LatencyUnit};
use cts_logscan::group_by::{ByField, MAX_BY, canonical};
use cts_logscan::input::{ObjectUrl, ReaderOptions, Source};
use cts_logscan::pipeline::FieldIs;
use cts_logscan::pipeline::ScanOptions;
use cts_logscan::report::{
    CsvRenderer, HtmlRenderer, JsonRenderer, MarkdownRenderer, PrometheusRenderer, Render, ReportOptions, TableRenderer,
};
use cts_logscan::rules::Rule;
use cts_logscan::state::State;
use tempfile::NamedTempFile;

use crate::cli::{ByArg, ColorChoice, DiffOutput, FormatArg, OutputFormat, ReportArgs, ScanArgs, UnitArg};

/// A scan, as the command line asked for it.
pub struct ScanConfig {
    args: ScanArgs,
    delivery: Delivery,
    threads: usize,
}

/// Worker threads per logical CPU at most: more only cost (5,000 threads
/// took a minute to start on a 1 KB file).
const MAX_THREADS_PER_CPU: usize = 4;

/// How `--follow` runs.
pub struct Live {
    /// How often a snapshot is taken.
    pub interval: Duration,
    /// How often the files are checked without an event.
    pub poll_interval: Duration,
    /// `--alert` rules.
    pub alerts: Vec<AlertRule>,
    /// `--alert-exec`.
    pub alert_exec: Option<String>,
    /// `--exit-on-alert`.
    pub exit_on_alert: bool,
}

/// `--serve`: where, with which token, and how many breakdown series.
pub struct Serve {
    /// `--serve ADDR`.
    pub addr: String,
    /// `--serve-token`, read.
    pub token: Option<String>,
    /// `--metrics-top N`.
    pub metrics_top: usize,
}

/// Where a state goes and how it is judged: shared by scanning and
/// `merge`.
pub struct Delivery {
    output: OutputFormat,
    warnings: Vec<String>,
    output_file: Option<PathBuf>,
    fail_on: Vec<Rule>,
    quiet: bool,
    color: ColorChoice,
    wide: bool,
    top: Option<usize>,
}

impl ScanConfig {
    /// Validates the scan arguments.
    ///
    /// # Errors
    ///
    /// When no path was given and stdin is a terminal, which would wait
    /// for typed input forever.
    pub fn new(args: ScanArgs) -> anyhow::Result<ScanConfig> {
        if args.paths.is_empty() && io::stdin().is_terminal() {
            bail!("no input: give one or more log files, or '-' to read standard input (see --help)");
        }
        if args.by.len() > MAX_BY {
            bail!("--by is given {} times: group by at most {MAX_BY} fields at once", args.by.len());
        }
        let mut delivery = Delivery::new(args.report.clone(), None);
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let (threads, warning) = capped_threads(args.threads, cpus);
        delivery.warnings.extend(warning);
        let stdin_args =
            args.paths.iter().filter(|path| matches!(Source::from_arg(*path, None), Source::Stdin)).count();
        if stdin_args > 1 {
            delivery.warnings.push(format!(
                "'-' (standard input) is given {stdin_args} times: reading it once, where it first appears"
            ));
        }
        Ok(ScanConfig { args, delivery, threads })
    }

    /// The inputs to read; stdin when no path was given.
    pub fn sources(&self) -> Vec<Source> {
        if self.args.paths.is_empty() {
            return vec![Source::Stdin];
        }
        let absolute = |t: &Option<TimeSpec>| match t {
            Some(TimeSpec::At(ms)) => Some(*ms),
            _ => None,
        };
        let window = (absolute(&self.args.since), absolute(&self.args.until));
        let endpoint = self.args.endpoint.as_deref();
        // Standard input is read once, where it first appears.
        let mut stdin_taken = false;
        self.args
            .paths
            .iter()
            .map(|path| match Source::from_arg(path, endpoint) {
                Source::Object(url) => Source::Object(ObjectUrl { window, ..url }),
                source => source,
            })
            .filter(|source| !matches!(source, Source::Stdin) || !std::mem::replace(&mut stdin_taken, true))
            .collect()
    }

    /// The library's scan options.
    pub fn scan_options(&self) -> ScanOptions {
        let args = &self.args;
        let unit = match args.latency_unit {
            UnitArg::S => LatencyUnit::Seconds,
            UnitArg::Ms => LatencyUnit::Millis,
            UnitArg::Us => LatencyUnit::Micros,
            UnitArg::Ns => LatencyUnit::Nanos,
        };
        let mut fields = FieldOverrides::new(unit);
        let overrides = [
            (Field::Time, &args.time_field),
            (Field::Status, &args.status_field),
            (Field::Latency(unit), &args.latency_field),
            (Field::Uri, &args.uri_field),
        ];
        for (field, name) in overrides {
            if let Some(name) = name {
                fields.set(field, name);
            }
        }
        let format = match (&args.log_format, args.format) {
            (Some(layout), _) => Some(Format::custom(layout.clone())),
            (None, FormatArg::Auto) => None,
            (None, FormatArg::Named(kind)) => Some(Format::from_kind(kind)),
        };
        ScanOptions {
            threads: self.threads,
            reader: ReaderOptions { block_size: args.block_size, max_line_len: args.max_line_len },
            format,
            fields,
            since: args.since,
            until: args.until,
            statuses: args.status.clone(),
            codes: args.code.clone(),
            collect: Collect {
                // The HTML chart needs a series: per minute unless asked.
                bucket_ms: args.bucket.or((self.delivery.output() == OutputFormat::Html).then_some(60_000)),
                breakdowns: args.top.is_some() || args.metrics_top > 0 || !self.groups().is_empty(),
                latency: Precision::Exact,
            },
            top: args.top.or((!self.groups().is_empty()).then_some(3)),
            by: self.groups(),
            hidden: args.hidden,
            progress: None,
        }
    }

    /// The `--by FIELD` fields to group error lines by.
    fn groups(&self) -> Vec<ByField> {
        let group = |by: &ByArg| match by {
            ByArg::Group(field) => Some(field.clone()),
            ByArg::Select(_) => None,
        };
        let groups: Vec<ByField> = self.args.by.iter().filter_map(group).collect();
        canonical(&groups)
    }

    /// The `--by FIELD=VALUE` selections of `lines`.
    pub fn selections(&self) -> Vec<FieldIs> {
        let select = |by: &ByArg| match by {
            ByArg::Select(field_is) => Some(field_is.clone()),
            ByArg::Group(_) => None,
        };
        self.args.by.iter().filter_map(select).collect()
    }

    /// Refuses `--by` values of the other kind: `FIELD=VALUE` selects the
    /// lines of `lines` (`selecting`), `FIELD` groups a scan.
    ///
    /// # Errors
    ///
    /// Naming the first value of the wrong kind and what to give instead.
    pub fn check_by(&self, selecting: bool) -> anyhow::Result<()> {
        for by in &self.args.by {
            match by {
                ByArg::Select(_) if !selecting => {
                    bail!("--by FIELD=VALUE selects lines: use it with `cts-logscan lines`; a scan takes --by FIELD")
                }
                ByArg::Group(field) if selecting => {
                    bail!(
                        "lines --by takes FIELD=VALUE (say --by {field}=VALUE): it selects lines, it does not group them"
                    )
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// How the result is delivered.
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// The `--checkpoint` file, if any.
    pub fn checkpoint(&self) -> Option<&std::path::Path> {
        self.args.checkpoint.as_deref()
    }

    /// Whether to follow the inputs (`-F`).
    pub fn follows(&self) -> bool {
        self.args.follow
    }

    /// The options of `--follow`.
    pub fn follow_options(&self) -> FollowOptions {
        FollowOptions {
            scan: self.scan_options(),
            windows: self.args.windows.0.clone(),
            partial_timeout: Duration::from_millis(self.args.partial_timeout as u64),
        }
    }

    /// What `--serve` asks for, if it was given.
    ///
    /// # Errors
    ///
    /// When `--serve-token @FILE` cannot be read or is empty (naming the
    /// file, never the token).
    pub fn serve(&self) -> Result<Option<Serve>, Error> {
        let Some(addr) = self.args.serve.clone() else { return Ok(None) };
        let token = match self.args.serve_token.as_deref() {
            None => None,
            Some(file) if file.starts_with('@') => {
                let path = &file[1..];
                let text = std::fs::read_to_string(path).map_err(|e| Error::Serve {
                    addr: addr.clone(),
                    why: format!("cannot read the token file {path}: {e}"),
                })?;
                Some(text.trim().to_owned())
            }
            Some(token) => Some(token.to_owned()),
        };
        if token.as_deref().is_some_and(|t| t.is_empty() || t.contains(|c: char| c.is_whitespace() || c.is_control())) {
            let why = "the token is empty or holds spaces; give one of printable characters (openssl rand -hex 32)"
                .to_owned();
            return Err(Error::Serve { addr, why });
        }
        Ok(Some(Serve { addr, token, metrics_top: self.args.metrics_top }))
    }

    /// The live loop's settings.
    pub fn live(&self) -> Live {
        Live {
            interval: Duration::from_millis(self.args.interval as u64),
            poll_interval: Duration::from_millis(self.args.poll_interval as u64),
            alerts: self.args.alert.clone(),
            alert_exec: self.args.alert_exec.clone(),
            exit_on_alert: self.args.exit_on_alert,
        }
    }
}

impl Delivery {
    /// The delivery `args` ask for; `top` overrides the states' `--top`.
    /// Without `--output`, the format follows the `-o` file's extension.
    pub fn new(args: ReportArgs, top: Option<usize>) -> Delivery {
        let by_extension = args.output_file.as_deref().and_then(format_of_file);
        let (output, warning) =
            pick_format(args.output, by_extension, args.output_file.as_deref(), OutputFormat::Table);
        let warnings = warning.into_iter().collect();
        Delivery {
            output,
            warnings,
            output_file: args.output_file,
            fail_on: args.fail_on,
            quiet: args.quiet,
            color: args.color,
            wide: args.wide,
            top,
        }
    }

    /// Warnings about the command line itself.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// `-o FILE`, if given.
    pub fn output_file(&self) -> Option<&Path> {
        self.output_file.as_deref()
    }

    /// Whether warnings and the progress bar are silenced.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// The `--fail-on` rules.
    pub fn rules(&self) -> &[Rule] {
        &self.fail_on
    }

    /// How to view `state`: its own `--top` and `--code`, with `--top` of
    /// this command line first.
    pub fn report_options(&self, state: &State) -> ReportOptions {
        let mut options = ReportOptions::of(state);
        options.top = self.top.or(options.top);
        options.histograms = self.output == OutputFormat::Prometheus;
        options
    }

    /// The renderer of the report; `None` when the state itself is written.
    pub fn renderer(&self) -> Option<Box<dyn Render>> {
        Some(match self.output {
            OutputFormat::Table => Box::new(TableRenderer { color: self.use_color(), width: self.table_width() }),
            OutputFormat::Json => Box::new(JsonRenderer),
            OutputFormat::Csv => Box::new(CsvRenderer),
            OutputFormat::Markdown => Box::new(MarkdownRenderer),
            OutputFormat::Prometheus => Box::new(PrometheusRenderer),
            OutputFormat::Html => Box::new(HtmlRenderer),
            OutputFormat::State => return None,
        })
    }

    /// Writes the output with `write`: to the `-o` file as a whole (see
    /// [`write_output`]), or to stdout.
    ///
    /// # Errors
    ///
    /// When the output cannot be written, naming the file.
    pub fn write(&self, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> anyhow::Result<()> {
        write_output(self.output_file.as_deref(), write)
    }

    /// The output format.
    pub fn output(&self) -> OutputFormat {
        self.output
    }

    /// The width to fit the table into: the terminal's, when the table
    /// goes to one and `--wide` was not given.
    fn table_width(&self) -> Option<usize> {
        if self.wide || self.output_file.is_some() || !io::stdout().is_terminal() {
            return None;
        }
        terminal_width()
    }

    /// Whether the table should be coloured.
    fn use_color(&self) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                self.output_file.is_none()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && io::stdout().is_terminal()
            }
        }
    }
}

/// The worker count for `--threads asked` on `cpus` logical CPUs: at most
/// [`MAX_THREADS_PER_CPU`] per CPU, with a warning when that is fewer
/// than asked. 0 (one per CPU) stays 0.
fn capped_threads(asked: usize, cpus: usize) -> (usize, Option<String>) {
    let most = cpus.saturating_mul(MAX_THREADS_PER_CPU);
    if asked <= most {
        return (asked, None);
    }
    let warning = format!(
        "--threads {asked}: using {most} ({MAX_THREADS_PER_CPU} per logical CPU, {cpus} CPUs); more threads only slow the scan down (0 means one per CPU)"
    );
    (most, Some(warning))
}

/// Writes an output with `write`: to stdout, or to `path` as a whole or
/// not at all. The bytes go to a temporary file in the same directory,
/// which is then renamed over `path`, so that a reader (node_exporter's
/// textfile collector, a job reading `report.json`) never sees a
/// half-written file, and a run that fails leaves the previous file as it
/// was. The file keeps the permissions of the one it replaces; a symbolic
/// link is followed. A path that is not a regular file (`/dev/stdout`, a
/// FIFO) is written in place.
///
/// # Errors
///
/// When the temporary file cannot be created (the directory must be
/// writable), written or renamed; it is removed then.
pub fn write_output(path: Option<&Path>, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> anyhow::Result<()> {
    let Some(path) = path else {
        let mut out = BufWriter::new(io::stdout().lock());
        return write(&mut out).and_then(|()| out.flush()).context("cannot write the report to standard output");
    };
    // A link is followed: the file it leads to is replaced (or made, as a
    // shell's `>` would), not the link.
    let path = &link_target(path);
    let cannot_write = || format!("{}: cannot write", path.display());
    let existing = std::fs::metadata(path).ok();
    if existing.as_ref().is_some_and(|meta| !meta.is_file()) {
        let file =
            OpenOptions::new().write(true).open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let mut out = BufWriter::new(file);
        return write(&mut out).and_then(|()| out.flush()).with_context(cannot_write);
    }
    let temp = temporary_beside(path, existing.map(|meta| meta.permissions()))?;
    let mut out = BufWriter::new(temp);
    write(&mut out).and_then(|()| out.flush()).with_context(cannot_write)?;
    let temp = out.into_inner().map_err(|e| e.into_error()).with_context(cannot_write)?;
    temp.as_file().sync_all().with_context(cannot_write)?;
    temp.persist(path).map_err(|e| e.error).with_context(|| format!("{}: cannot replace", path.display()))?;
    Ok(())
}

/// Where `path` leads through symbolic links: the file it names, or for a
/// link to nothing, the file it would make; `path` itself when it is no
/// link, leads to no file (`/dev/stdout` to a pipe) or loops.
fn link_target(path: &Path) -> PathBuf {
    if !path.is_symlink() {
        return path.to_owned();
    }
    if std::fs::metadata(path).is_ok() {
        return std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    }
    let mut target = path.to_owned();
    for _ in 0..40 {
        let Ok(next) = std::fs::read_link(&target) else { return target };
        target = target.parent().map_or_else(|| next.clone(), |dir| dir.join(&next));
    }
    path.to_owned()
}

/// An empty temporary file in the directory of `path`, named after it
/// (`.report.json.XXXXXX.tmp`), with `permissions`, or those a new file
/// gets.
fn temporary_beside(path: &Path, permissions: Option<std::fs::Permissions>) -> anyhow::Result<NamedTempFile> {
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().with_context(|| format!("{}: not a file name to write", path.display()))?;
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let temp = builder.tempfile_in(dir).with_context(|| {
        format!(
            "{}: cannot create a temporary file in {} to replace it with (the directory must be writable)",
            path.display(),
            dir.display()
        )
    })?;
    if let Some(permissions) = permissions {
        temp.as_file().set_permissions(permissions).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(temp)
}

/// The width of the terminal on stdout, in columns.
#[cfg(target_os = "linux")]
fn terminal_width() -> Option<usize> {
    let size = rustix::termios::tcgetwinsize(io::stdout()).ok()?;
    (size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// The width of the terminal: `$COLUMNS` where no system call is used.
#[cfg(not(target_os = "linux"))]
fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS").ok()?.parse().ok()
}

/// The output format a file name asks for by its extension.
fn format_of_file(path: &Path) -> Option<OutputFormat> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match extension.as_str() {
        "json" => OutputFormat::Json,
        "csv" => OutputFormat::Csv,
        "md" | "markdown" => OutputFormat::Markdown,
        "html" | "htm" => OutputFormat::Html,
        "prom" => OutputFormat::Prometheus,
        "state" => OutputFormat::State,
        "txt" => OutputFormat::Table,
        _ => return None,
    })
}

/// The format of `diff`: `--output`, else the `-o` file's extension
/// (`.json`, `.csv`, `.md`, `.txt`), else a table; with a warning when
/// `--output` and the extension disagree.
pub fn diff_output(asked: Option<DiffOutput>, output_file: Option<&Path>) -> (DiffOutput, Option<String>) {
    let by_extension = output_file.and_then(format_of_file).and_then(|format| match format {
        OutputFormat::Table => Some(DiffOutput::Table),
        OutputFormat::Json => Some(DiffOutput::Json),
        OutputFormat::Csv => Some(DiffOutput::Csv),
        OutputFormat::Markdown => Some(DiffOutput::Markdown),
        OutputFormat::Html | OutputFormat::Prometheus | OutputFormat::State => None,
    });
    pick_format(asked, by_extension, output_file, DiffOutput::Table)
}

/// The output format: the one `--output` asked for, else the one the `-o`
/// file's extension names, else `default`; with a warning when the two
/// disagree (`--output` wins).
fn pick_format<F: ValueEnum + Copy + PartialEq>(
    asked: Option<F>,
    named: Option<F>,
    output_file: Option<&Path>,
    default: F,
) -> (F, Option<String>) {
    match (asked, named) {
        (Some(asked), Some(named)) if asked != named => {
            let path = output_file.map_or_else(String::new, |p| p.display().to_string());
            let warning = format!(
                "-o {path} looks like {} output, but --output {} was given: writing {}",
                format_name(named),
                format_name(asked),
                format_name(asked)
            );
            (asked, Some(warning))
        }
        (Some(asked), _) => (asked, None),
        (None, Some(named)) => (named, None),
        (None, None) => (default, None),
    }
}

/// The name of a format as `--output` spells it.
fn format_name(format: impl ValueEnum) -> String {
    format.to_possible_value().map_or_else(String::new, |v| v.get_name().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_name_formats() {
        assert_eq!(format_of_file(Path::new("r.HTML")), Some(OutputFormat::Html));
        assert_eq!(format_of_file(Path::new("/var/lib/node_exporter/cts.prom")), Some(OutputFormat::Prometheus));
        assert_eq!(format_of_file(Path::new("web1.state")), Some(OutputFormat::State));
        assert_eq!(format_of_file(Path::new("report")), None);
        assert_eq!(format_name(OutputFormat::Markdown), "markdown");
    }

    #[test]
    fn threads_are_capped_at_four_per_cpu() {
        assert_eq!(capped_threads(0, 2), (0, None));
        assert_eq!(capped_threads(8, 2), (8, None));
        let (threads, warning) = capped_threads(5000, 2);
        assert_eq!(threads, 8);
        assert!(warning.unwrap().starts_with("--threads 5000: using 8 (4 per logical CPU, 2 CPUs)"));
    }

    #[test]
    fn diff_output_follows_the_extension_unless_asked() {
        assert_eq!(diff_output(None, Some(Path::new("d.csv"))), (DiffOutput::Csv, None));
        assert_eq!(diff_output(None, Some(Path::new("d.md"))), (DiffOutput::Markdown, None));
        assert_eq!(diff_output(None, Some(Path::new("d.json"))), (DiffOutput::Json, None));
        assert_eq!(diff_output(None, Some(Path::new("d.html"))), (DiffOutput::Table, None));
        assert_eq!(diff_output(None, None), (DiffOutput::Table, None));
        let (output, warning) = diff_output(Some(DiffOutput::Json), Some(Path::new("d.csv")));
        assert_eq!(output, DiffOutput::Json);
        assert_eq!(
            warning.as_deref(),
            Some("-o d.csv looks like csv output, but --output json was given: writing json")
        );
    }
}
