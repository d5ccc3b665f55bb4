//! The `cts-logscan` binary: parse arguments, call the library, map errors to
//! exit codes (0 success, 1 a `--fail-on` rule breached, 2 usage error or
//! unreadable input).
//!
//! Below it: `config` (the command line validated, with factories), `live`
//! (`--follow`), `output` (how a finished state is written and judged, and
//! the exit code that follows) and `messages` (everything said on stderr).
//! Calls go down only.

mod cli;
mod config;
mod lines;
mod live;
mod messages;
mod output;
mod serving;
mod tui;

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use clap::{CommandFactory, Parser};
use cts_logscan::input::Progress;
use cts_logscan::input::checkpoint::{self, Checkpoint};
use cts_logscan::pipeline::{ScanOptions, scan, scan_resumed};
use cts_logscan::report;
use cts_logscan::state::{self, State};
use cts_logscan::{catalog, diff, escape, rules, spikes};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use cli::{CatalogOutput, Cli, Command, DiffOutput};
use config::{Delivery, ScanConfig};
use messages::say;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            say(error_text(&err));
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse_from(cli::join_top_values(std::env::args_os()));
    match cli.command {
        Some(Command::Codes { output }) => {
            let mut out = io::stdout().lock();
            report::render_codes(catalog::all(), output == CatalogOutput::Json, &mut out)?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Explain { code, output }) => explain(&code, output),
        Some(Command::Lines { scan }) => {
            let config = ScanConfig::new(*scan)?;
            config.check_by(true)?;
            lines::run(&config, &config.selections())
        }
        Some(Command::Completions { shell }) => {
            let mut out = io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "cts-logscan", &mut out);
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Diff { base, new, output, output_file, fail_on }) => {
            let (output, warning) = config::diff_output(output, output_file.as_deref());
            warning.iter().for_each(say);
            diff(&base, &new, output, output_file.as_deref(), &fail_on)
        }
        Some(Command::Merge { states, allow_overlap, top, report }) => {
            merge(&states, allow_overlap, &Delivery::new(report, top))
        }
        Some(Command::Man) => {
            let mut out = io::stdout().lock();
            render_man(&mut out)?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        None => scan_command(&ScanConfig::new(cli.scan)?),
    }
}

/// The man page: clap's sections, then EXIT STATUS (in place of the
/// one-line summary that ends `--help`), then the version.
fn render_man(out: &mut dyn Write) -> io::Result<()> {
    let man = clap_mangen::Man::new(Cli::command());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    for (code, meaning) in cli::EXIT_STATUS {
        writeln!(out, ".TP\n{code}\n{}", roff_text(meaning))?;
    }
    man.render_version_section(out)
}

/// `text` as a roff text line: backslashes and hyphens escaped, a
/// leading `.` or `'` kept from being read as a request.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) { format!("\\&{escaped}") } else { escaped }
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

fn diff(
    base: &Path,
    new: &Path,
    output: DiffOutput,
    output_file: Option<&Path>,
    rules: &[rules::Rule],
) -> anyhow::Result<ExitCode> {
    let (base, new) = diff::read_comparable(base, new)?;
    let comparison = diff::Diff::new(&base, &new);
    config::write_output(output_file, |wtr| match output {
        DiffOutput::Table => comparison.render_table(wtr),
        DiffOutput::Csv => comparison.render_csv(wtr),
        DiffOutput::Markdown => comparison.render_markdown(wtr),
        DiffOutput::Json => {
            escape::write_json_pretty(&mut *wtr, &comparison)?;
            writeln!(wtr)
        }
    })?;
    Ok(output::judge(rules, &new, false))
}

fn scan_command(config: &ScanConfig) -> anyhow::Result<ExitCode> {
    config.check_by(false)?;
    if config.follows() {
        return live::run(config);
    }
    let delivery = config.delivery();
    let mut options = config.scan_options();
    let bar = (!delivery.quiet() && io::stderr().is_terminal()).then(progress_bar);
    if let Some(bar) = &bar {
        let bar = bar.clone();
        options.progress = Some(Arc::new(move |progress: &Progress<'_>| show_progress(&bar, progress)));
    }
    let _held = config.checkpoint().map(checkpoint::lock).transpose()?;
    let (state, plan) = match config.checkpoint() {
        Some(path) => {
            let (state, plan) = scan_resumed(config.sources(), &options, &Checkpoint::read(path)?)?;
            (state, Some((path, plan)))
        }
        None => (scan(config.sources(), &options)?, None),
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // Errors are never silenced: -q is for progress and warnings.
    state.errors().for_each(say);
    let skipped = plan.as_ref().map_or(0, |(_, plan)| plan.skipped.len());
    if state.inputs.is_empty() && state.directory_errors.is_empty() {
        if skipped > 0 {
            bail!("nothing new to read: every input was read by an earlier run with this --checkpoint");
        }
        bail!("no input file to read");
    }
    if !delivery.quiet() {
        state.inputs.iter().filter_map(|input| input.format_hint()).for_each(say);
        if skipped > 0 {
            say(format_args!("{skipped} inputs skipped: read whole by an earlier run with this --checkpoint"));
        }
    }
    let drivers = match plan {
        // A resumed run read only what is new: a spike's before is gone.
        None => spike_drivers(config, &options, &state),
        Some(_) => BTreeMap::new(),
    };
    let code = delivery.deliver_with(&state, &drivers)?;
    if let Some((path, plan)) = plan
        && delivery.writes(&state)
    {
        let read: Vec<(u64, u64)> = state.inputs.iter().map(|input| (input.bytes, input.lines)).collect();
        output::commit_checkpoint(path, &plan.commit(&read))?;
    }
    Ok(code)
}

/// What drives each spike `--bucket` found, with `--top`: two more reads
/// of the inputs; none, with a warning, when they cannot be read again.
fn spike_drivers(config: &ScanConfig, options: &ScanOptions, state: &State) -> BTreeMap<String, spikes::Drivers> {
    let options = ScanOptions { progress: None, ..options.clone() };
    match spikes::spike_drivers(&config.sources(), &options, state) {
        Ok(drivers) => drivers,
        Err(error) => {
            if !config.delivery().quiet() {
                say(format_args!("what drives each spike is not shown: {error}"));
            }
            BTreeMap::new()
        }
    }
}

/// Reads states, merges them and delivers the result like a scan's.
fn merge(paths: &[PathBuf], allow_overlap: bool, delivery: &Delivery) -> anyhow::Result<ExitCode> {
    let parts =
        paths.iter().map(|path| State::read(path).map(|state| (path.clone(), state))).collect::<Result<_, _>>()?;
    let state = state::merge(parts, allow_overlap)?;
    // The inputs that failed in the scans fail the merge too (exit 2):
    // say which, as the scan did.
    state.errors().for_each(say);
    delivery.deliver(&state)
}

/// A progress display on stderr, drawn once reading starts.
fn progress_bar() -> ProgressBar {
    ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
}

/// Files and listed objects: the current one, the bytes of all and their
/// total, throughput and time left. A pipe (stdin) has no total: a spinner with bytes and
/// throughput.
fn show_progress(bar: &ProgressBar, progress: &Progress<'_>) {
    if bar.length().is_none() {
        let template = match progress.total {
            Some(_) => {
                "{spinner} {msg} {binary_bytes}/{binary_total_bytes} {wide_bar} {binary_bytes_per_sec} eta {eta}"
            }
            None => "{spinner} {msg} {binary_bytes} read, {binary_bytes_per_sec}",
        };
        bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()));
        bar.set_length(progress.total.unwrap_or(u64::MAX));
    }
    let name = progress.name.to_string();
    let name = escape::escape(&name);
    let file = if progress.inputs > 1 {
        format!("[{}/{}] {name}", progress.input + 1, progress.inputs)
    } else {
        name.into_owned()
    };
    bar.set_message(file);
    bar.set_position(progress.read);
    bar.tick();
}

/// The error and its causes joined by `: `, leaving out a cause that the
/// text before it already states (the library's errors name their source).
fn error_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain().map(ToString::to_string) {
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

/// A closed pipe (`cts-logscan x.log | head`) ends the program quietly.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}
