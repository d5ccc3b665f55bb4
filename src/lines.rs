//! `cts-logscan lines`: the raw lines behind the figures, in input order,
//! each after `input:line: `; or with `--output json` one record per line.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::bail;
use cts_logscan::escape;
use cts_logscan::pipeline::{FieldIs, MatchedLine, matching_lines};

use crate::cli::OutputFormat;
use crate::config::ScanConfig;
use crate::messages::say;

/// Prints the lines of `config`'s inputs that hold an error body of a
/// `--code` (any code without one), pass its filters and have every `by`
/// value.
///
/// # Errors
///
/// When the output format is neither text nor JSON, or the scan cannot run.
pub fn run(config: &ScanConfig, by: &[FieldIs]) -> anyhow::Result<ExitCode> {
    let json = match config.delivery().output() {
        OutputFormat::Table => false,
        OutputFormat::Json => true,
        other => {
            let name = format!("{other:?}").to_lowercase();
            bail!("lines writes text or --output json, not --output {name}: for figures, scan without `lines`")
        }
    };
    if config.delivery().output_file().is_some() {
        bail!("lines writes to standard output: redirect it (> FILE) to keep the lines");
    }
    // On a terminal, log text is shown with its control characters
    // escaped; into a pipe the lines go as they were read, for grep & co.
    let terminal = io::stdout().is_terminal();
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout());
    let mut failed: Option<io::Error> = None;
    let emit = |line: MatchedLine| {
        let written = if json { write_record(&mut out, &line) } else { write_line(&mut out, &line, terminal) };
        match written {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    };
    let matched = matching_lines(config.sources(), &config.scan_options(), by, emit)?;
    match failed {
        // The reader went away (| head): what it took was enough.
        Some(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Some(e) => return Err(e.into()),
        None => {}
    }
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        flushed => flushed?,
    }
    matched.errors.iter().for_each(say);
    if matched.lines == 0 && !config.delivery().quiet() {
        say("no line holds an error body that the filters keep");
    }
    Ok(if matched.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// `input:line: raw line`, escaped on a terminal.
fn write_line(out: &mut impl Write, line: &MatchedLine, terminal: bool) -> io::Result<()> {
    if terminal {
        let raw = String::from_utf8_lossy(&line.raw);
        writeln!(out, "{}:{}: {}", escape::escape(&line.input), line.line, escape::escape(&raw))
    } else {
        write!(out, "{}:{}: ", line.input, line.line)?;
        out.write_all(&line.raw)?;
        out.write_all(b"\n")
    }
}

/// One JSON object per line: where it is, the parsed fields, the body.
fn write_record(out: &mut impl Write, line: &MatchedLine) -> io::Result<()> {
    escape::write_json(out, line)?;
    out.write_all(b"\n")
}
