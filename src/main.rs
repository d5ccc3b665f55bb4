//! The `cts-logscan` binary: parse arguments, call the library, map errors to
//! exit codes (0 success, 1 a `--fail-on` rule breached, 2 usage error or
//! unreadable input).

mod cli;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{CommandFactory, Parser};
use cts_logscan::catalog;
use cts_logscan::filter::Filter;
use cts_logscan::input::Source;
use cts_logscan::report::{
    self, CsvRenderer, HtmlRenderer, JsonRenderer, MarkdownRenderer, PrometheusRenderer, Render, Report, TableRenderer,
};
use cts_logscan::scan::{ScanOptions, scan};
use cts_logscan::{diff, rules};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use cli::{CatalogOutput, Cli, Command, DiffOutput, OutputFormat, ReportArgs, ScanArgs};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("cts-logscan: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Codes { output }) => {
            let mut out = io::stdout().lock();
            report::render_codes(catalog::all(), output == CatalogOutput::Json, &mut out)?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Explain { code, output }) => explain(&code, output),
        Some(Command::Completions { shell }) => {
            let mut out = io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "cts-logscan", &mut out);
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Diff { base, new, output, fail_on }) => diff(&base, &new, output, &fail_on),
        Some(Command::Merge { reports, report }) => merge(&reports, &report),
        Some(Command::Man) => {
            let mut out = io::stdout().lock();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        None => scan_command(&cli.scan),
    }
}

fn explain(code: &str, output: CatalogOutput) -> anyhow::Result<ExitCode> {
    let Some(info) = catalog::lookup(code) else {
        let nearest: Vec<&str> = catalog::nearest(code, 3).iter().map(|i| i.code).collect();
        bail!(
            "'{code}' is not in the CTS catalogue (codes are case-sensitive); nearest known codes: {}. \
             Run `cts-logscan codes` for the full list.",
            nearest.join(", ")
        );
    };
    let mut out = io::stdout().lock();
    report::render_explain(info, output == CatalogOutput::Json, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn diff(base: &Path, new: &Path, output: DiffOutput, rules: &[rules::Rule]) -> anyhow::Result<ExitCode> {
    let (base, new) = (report::read_report(base)?, report::read_report(new)?);
    let comparison = diff::Diff::new(&base, &new);
    let mut out = BufWriter::new(io::stdout().lock());
    match output {
        DiffOutput::Table => comparison.render_table(&mut out)?,
        DiffOutput::Csv => comparison.render_csv(&mut out)?,
        DiffOutput::Markdown => comparison.render_markdown(&mut out)?,
        DiffOutput::Json => {
            serde_json::to_writer_pretty(&mut out, &comparison)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    let breaches = rules::breaches(rules, &new);
    breaches.iter().for_each(|breach| eprintln!("cts-logscan: {breach}"));
    Ok(if breaches.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn scan_command(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    if args.would_wait_on_terminal() {
        bail!("no input: give one or more log files, or '-' to read standard input (see --help)");
    }
    let mut options = args.scan_options(newest_record(args)?);
    let bar = (!args.report.quiet && io::stderr().is_terminal()).then(progress_bar);
    if let Some(bar) = &bar {
        let bar = bar.clone();
        options.progress = Some(Arc::new(move |read, total| {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(read);
        }));
    }
    let result = scan(args.sources(), &options)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let errors: Vec<String> = result
        .walk_errors
        .iter()
        .map(ToString::to_string)
        .chain(result.inputs.iter().filter_map(|input| input.error.as_ref().map(ToString::to_string)))
        .collect();
    let report = Report::build(&result);
    if !args.report.quiet {
        errors.iter().for_each(|error| eprintln!("cts-logscan: {error}"));
        report.inputs.iter().filter_map(|input| input.format_hint()).for_each(|hint| eprintln!("cts-logscan: {hint}"));
    }
    deliver(&report, &args.report, !errors.is_empty())
}

/// For relative --since/--until: the newest record's time, from a first
/// pass over the inputs.
fn newest_record(args: &ScanArgs) -> anyhow::Result<Option<i64>> {
    if !args.has_relative_times() {
        return Ok(None);
    }
    let sources = args.sources();
    if sources.contains(&Source::Stdin) {
        bail!(
            "relative --since/--until need the newest record first, and stdin cannot be read twice: give an RFC 3339 time"
        );
    }
    let options = ScanOptions { filter: Filter::default(), ..args.scan_options(None) };
    let first_pass = scan(sources, &options)?;
    match first_pass.aggregate.time_span {
        Some((_, newest)) => Ok(Some(newest)),
        None => bail!("relative --since/--until: no request in the input has a time; give an RFC 3339 time"),
    }
}

/// Combines JSON reports into one and writes it like a scan's.
fn merge(paths: &[PathBuf], args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let reports = paths.iter().map(|path| report::read_report(path)).collect::<Result<Vec<_>, _>>()?;
    let merged = report::merge(&reports).map_err(anyhow::Error::msg)?;
    deliver(&merged, args, false)
}

/// Writes `report` as asked, checks the `--fail-on` rules, and picks the
/// exit code: 2 when an input failed, else 1 when a rule was breached.
fn deliver(report: &Report, args: &ReportArgs, input_failed: bool) -> anyhow::Result<ExitCode> {
    let renderer: Box<dyn Render> = match args.output {
        OutputFormat::Table => Box::new(TableRenderer { color: args.use_color() }),
        OutputFormat::Json => Box::new(JsonRenderer),
        OutputFormat::Csv => Box::new(CsvRenderer),
        OutputFormat::Markdown => Box::new(MarkdownRenderer),
        OutputFormat::Prometheus => Box::new(PrometheusRenderer),
        OutputFormat::Html => Box::new(HtmlRenderer),
    };
    match &args.output_file {
        Some(path) => {
            let file = File::create(path).with_context(|| format!("{}: cannot create report file", path.display()))?;
            let mut wtr = BufWriter::new(file);
            renderer
                .render(report, &mut wtr)
                .and_then(|()| wtr.flush())
                .with_context(|| format!("{}: cannot write report", path.display()))?;
        }
        None => {
            let mut wtr = BufWriter::new(io::stdout().lock());
            renderer.render(report, &mut wtr)?;
            wtr.flush()?;
        }
    }
    let breaches = rules::breaches(&args.fail_on, report);
    if !args.quiet {
        breaches.iter().for_each(|breach| eprintln!("cts-logscan: {breach}"));
    }
    Ok(if input_failed {
        ExitCode::from(2)
    } else if !breaches.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A progress bar on stderr: bytes read, throughput and, for files, the
/// share done and time left.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} {binary_bytes}/{binary_total_bytes} {wide_bar} {binary_bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// A closed pipe (`cts-logscan x.log | head`) ends the program quietly.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}
