//! `cts-logscan lines`: the raw lines behind the figures, in input order,
//! each after `input:line: `; or with `--output json` one record per line.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::bail;
use cts_logscan::aggregate::{normalize_endpoint, project_id};
use cts_logscan::escape;
use cts_logscan::pipeline::{MatchedLine, matching_lines};

use crate::cli::OutputFormat;
use crate::config::ScanConfig;
use crate::messages::say;

/// `--by NAME=VALUE`: a line is printed only when its field `NAME` is
/// `VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByValue {
    field: ByField,
    value: String,
}

/// The fields `--by` can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ByField {
    /// The path with ids as `{id}`, as `--top` lists it.
    Endpoint,
    Project,
    Client,
    Status,
    Method,
    Uri,
    RequestId,
}

impl ByValue {
    /// Parses `NAME=VALUE`.
    ///
    /// # Errors
    ///
    /// When there is no `=` or the name is not one `--by` knows, naming
    /// those it does.
    pub fn parse(text: &str) -> Result<ByValue, String> {
        const NAMES: &str = "endpoint, project, client, status, method, uri, request_id";
        let Some((name, value)) = text.split_once('=') else {
            return Err(format!("give NAME=VALUE, with NAME one of {NAMES}"));
        };
        let field = match name {
            "endpoint" => ByField::Endpoint,
            "project" => ByField::Project,
            "client" => ByField::Client,
            "status" => ByField::Status,
            "method" => ByField::Method,
            "uri" => ByField::Uri,
            "request_id" => ByField::RequestId,
            other => return Err(format!("{other:?} is not a field lines can select by; give one of {NAMES}")),
        };
        Ok(ByValue { field, value: value.to_owned() })
    }

    fn matches(&self, line: &MatchedLine) -> bool {
        let uri = line.uri.as_deref();
        let value = match self.field {
            ByField::Endpoint => uri.map(normalize_endpoint),
            ByField::Project => uri.and_then(project_id).map(str::to_owned),
            ByField::Client => line.client.clone(),
            ByField::Status => line.status.map(|s| s.to_string()),
            ByField::Method => line.method.clone(),
            ByField::Uri => line.uri.clone(),
            ByField::RequestId => line.request_id.clone(),
        };
        value.as_deref() == Some(self.value.as_str())
    }
}

/// Prints the lines of `config`'s inputs that hold an error body of a
/// `--code` (any code without one), pass its filters and have every `by`
/// value.
///
/// # Errors
///
/// When the output format is neither text nor JSON, or the scan cannot run.
pub fn run(config: &ScanConfig, by: &[ByValue]) -> anyhow::Result<ExitCode> {
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
    let mut printed = 0u64;
    let emit = |line: MatchedLine| {
        if !by.iter().all(|by| by.matches(&line)) {
            return true;
        }
        printed += 1;
        let written = if json { write_record(&mut out, &line) } else { write_line(&mut out, &line, terminal) };
        match written {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    };
    let matched = matching_lines(config.sources(), &config.scan_options(), emit)?;
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
    if printed == 0 && !config.delivery().quiet() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_names_a_field_and_its_value() {
        assert_eq!(ByValue::parse("status=400").unwrap(), ByValue { field: ByField::Status, value: "400".to_owned() });
        assert!(ByValue::parse("status").unwrap_err().contains("NAME=VALUE"));
        assert!(ByValue::parse("user.name=x").unwrap_err().contains("not a field"));
    }
}
