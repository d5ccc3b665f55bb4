//! The Prometheus text exposition format (version 0.0.4), and OpenMetrics
//! 1.0 when a scraper asks for it: counters per code and per status,
//! latency as histograms in seconds over fixed bounds (so that `sum by
//! (le)` across hosts is right), line accounting and bytes per input.
//! Batch `--output prometheus` (the node_exporter textfile collector) and
//! the live `/metrics` of `--serve` write the same families.
//!
//! ```text
//! # HELP cts_logscan_error_bodies_total Lines with an error body, by code.
//! # TYPE cts_logscan_error_bodies_total counter
//! cts_logscan_error_bodies_total{code="CTS.0003",in_catalog="true"} 2
//! ```

use std::io::{self, Write};

use super::{LatencyReport, Render, Report};
use crate::aggregate::HISTOGRAM_BOUNDS_US;
use crate::record::TraceRating;

/// Inputs named in `cts_logscan_input_bytes_total`; the rest are summed
/// under `input="*other*"`.
pub const MAX_INPUT_SERIES: usize = 100;

/// The label value that sums the values not named, as the report's codes
/// beyond the limit: no path, endpoint, project or client is written so.
pub const OTHER: &str = "*other*";

/// Writes the report as Prometheus metrics.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrometheusRenderer;

impl Render for PrometheusRenderer {
    fn render(&self, report: &Report, wtr: &mut dyn Write) -> io::Result<()> {
        let mut out = Exposition::new(wtr, false);
        write_report(&mut out, report)?;
        out.finish()
    }
}

/// The kind of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (since start); samples end in `_total`.
    Counter,
    /// Goes up and down.
    Gauge,
    /// `_bucket{le}`, `_sum` and `_count`.
    Histogram,
}

/// Metric families written one after the other, in the classic text
/// format or in OpenMetrics (`# EOF` at the end, counter families named
/// without `_total`).
pub struct Exposition<'a> {
    wtr: &'a mut dyn Write,
    open_metrics: bool,
}

impl<'a> Exposition<'a> {
    /// A writer to `wtr`, in OpenMetrics when `open_metrics`.
    pub fn new(wtr: &'a mut dyn Write, open_metrics: bool) -> Exposition<'a> {
        Exposition { wtr, open_metrics }
    }

    /// Starts the family `name` (a counter's without `_total`).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> io::Result<()> {
        let (named, kind) = match kind {
            Kind::Counter if self.open_metrics => (name.to_owned(), "counter"),
            Kind::Counter => (format!("{name}_total"), "counter"),
            Kind::Gauge => (name.to_owned(), "gauge"),
            Kind::Histogram => (name.to_owned(), "histogram"),
        };
        writeln!(self.wtr, "# HELP {named} {help}")?;
        writeln!(self.wtr, "# TYPE {named} {kind}")
    }

    /// One sample of metric `name` (with its suffix: `_total`, `_bucket`)
    /// with `labels` (values escaped here).
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) -> io::Result<()> {
        write!(self.wtr, "{name}")?;
        for (i, (label, value)) in labels.iter().enumerate() {
            let open = if i == 0 { "{" } else { "," };
            write!(self.wtr, "{open}{label}=\"{}\"", label_value(value))?;
        }
        let close = if labels.is_empty() { "" } else { "}" };
        writeln!(self.wtr, "{close} {value}")
    }

    /// The samples of a latency histogram family `name` with `labels`.
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], latency: &LatencyReport) -> io::Result<()> {
        let Some(histogram) = &latency.histogram else { return Ok(()) };
        let bucket = format!("{name}_bucket");
        for (&bound, &count) in HISTOGRAM_BOUNDS_US.iter().zip(&histogram.at_or_below) {
            let le = seconds(bound as f64);
            self.sample(&bucket, &[labels, &[("le", &le)]].concat(), count)?;
        }
        self.sample(&bucket, &[labels, &[("le", "+Inf")]].concat(), histogram.count)?;
        self.sample(&format!("{name}_sum"), labels, seconds(histogram.sum_us))?;
        self.sample(&format!("{name}_count"), labels, histogram.count)
    }

    /// Ends the exposition.
    pub fn finish(self) -> io::Result<()> {
        if self.open_metrics {
            writeln!(self.wtr, "# EOF")?;
        }
        Ok(())
    }
}

/// Microseconds as seconds, without trailing zeros (`0.0025`).
fn seconds(us: f64) -> String {
    let text = format!("{:.6}", us / 1e6);
    let text = text.trim_end_matches('0');
    text.strip_suffix('.').unwrap_or(text).to_owned()
}

/// The families every exposition of a report has.
///
/// # Errors
///
/// Whatever writing returns.
pub fn write_report(out: &mut Exposition<'_>, report: &Report) -> io::Result<()> {
    let s = &report.summary;
    out.family("cts_logscan_lines", Kind::Counter, "Lines read.")?;
    out.sample("cts_logscan_lines_total", &[], s.lines)?;
    out.family("cts_logscan_requests", Kind::Counter, "Lines that parsed as requests, by HTTP status.")?;
    for (status, count) in &s.statuses {
        out.sample("cts_logscan_requests_total", &[("status", &status.to_string())], count)?;
    }
    out.family("cts_logscan_malformed_lines", Kind::Counter, "Lines that could not be parsed, by kind.")?;
    for (kind, count) in &s.malformed_by_kind {
        out.sample("cts_logscan_malformed_lines_total", &[("kind", kind.name())], count)?;
    }
    out.family("cts_logscan_error_bodies", Kind::Counter, "Lines with an error body, by code.")?;
    for code in &report.codes {
        let in_catalog = code.in_catalog.to_string();
        out.sample("cts_logscan_error_bodies_total", &[("code", &code.code), ("in_catalog", &in_catalog)], code.count)?;
    }
    out.family(
        "cts_logscan_error_bodies_in_malformed_lines",
        Kind::Counter,
        "Lines that did not parse but hold an error body, by code (not requests).",
    )?;
    for code in report.codes.iter().filter(|c| c.in_malformed_lines > 0) {
        out.sample(
            "cts_logscan_error_bodies_in_malformed_lines_total",
            &[("code", &code.code)],
            code.in_malformed_lines,
        )?;
    }
    out.family(
        "cts_logscan_status_mismatches",
        Kind::Counter,
        "Lines whose HTTP status differs from the one documented for their code.",
    )?;
    for code in report.codes.iter().filter(|c| c.in_catalog) {
        out.sample("cts_logscan_status_mismatches_total", &[("code", &code.code)], code.status_mismatches)?;
    }
    out.family("cts_logscan_traces", Kind::Counter, "CTS traces by trace_rating.")?;
    if let Some(ratings) = &s.trace_ratings {
        for rating in TraceRating::ALL {
            out.sample("cts_logscan_traces_total", &[("rating", rating.name())], ratings.get(rating))?;
        }
    }
    out.family("cts_logscan_error_traces", Kind::Counter, "CTS traces with an error body, by code and trace_rating.")?;
    for code in &report.codes {
        let Some(ratings) = &code.trace_ratings else { continue };
        for rating in TraceRating::ALL {
            let labels = [("code", code.code.as_str()), ("rating", rating.name())];
            out.sample("cts_logscan_error_traces_total", &labels, ratings.get(rating))?;
        }
    }
    out.family("cts_logscan_input_bytes", Kind::Counter, "Decoded bytes read, by input.")?;
    // One series per input, however often it was read (merged states).
    let mut by_path: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for input in &report.inputs {
        *by_path.entry(input.path.as_str()).or_default() += input.bytes;
    }
    let mut inputs: Vec<(&str, u64)> = by_path.into_iter().collect();
    inputs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let other: u64 = inputs.iter().skip(MAX_INPUT_SERIES).map(|(_, bytes)| bytes).sum();
    for (path, bytes) in inputs.iter().take(MAX_INPUT_SERIES) {
        out.sample("cts_logscan_input_bytes_total", &[("input", path)], bytes)?;
    }
    if inputs.len() > MAX_INPUT_SERIES {
        out.sample("cts_logscan_input_bytes_total", &[("input", OTHER)], other)?;
    }
    out.family("cts_logscan_latency_seconds", Kind::Histogram, "Time to answer requests with each error code.")?;
    for code in &report.codes {
        if let Some(latency) = &code.latency_ms {
            out.histogram("cts_logscan_latency_seconds", &[("code", &code.code)], latency)?;
        }
    }
    out.family("cts_logscan_request_latency_seconds", Kind::Histogram, "Time to answer all requests.")?;
    if let Some(latency) = &s.latency_ms.all {
        out.histogram("cts_logscan_request_latency_seconds", &[], latency)?;
    }
    Ok(())
}

/// Label values escape `\`, `"` and line feeds, after the one escape of
/// control characters (which leaves no line feed).
fn label_value(value: &str) -> String {
    crate::escape::escape(value).replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_written_short() {
        assert_eq!(seconds(1_000.0), "0.001");
        assert_eq!(seconds(2_500.0), "0.0025");
        assert_eq!(seconds(60_000_000.0), "60");
    }

    #[test]
    fn label_values_cannot_break_out_of_their_quotes_or_line() {
        let mut text = Vec::new();
        let mut out = Exposition::new(&mut text, true);
        out.family("x", Kind::Counter, "X.").unwrap();
        out.sample("x_total", &[("code", "a\"b\\c\nd\u{1b}[31m")], 1).unwrap();
        out.finish().unwrap();
        let text = String::from_utf8(text).unwrap();
        assert_eq!(
            text,
            "# HELP x X.\n# TYPE x counter\nx_total{code=\"a\\\"b\\\\c\\\\u000ad\\\\u001b[31m\"} 1\n# EOF\n"
        );
    }
}
