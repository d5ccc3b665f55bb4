//! The Prometheus text exposition format (version 0.0.4), for the
//! node_exporter textfile collector: counters per code and per status,
//! latency quantiles as a summary in seconds, line accounting.
//!
//! ```text
//! # HELP cts_logscan_error_bodies_total Lines with an error body, by code.
//! # TYPE cts_logscan_error_bodies_total counter
//! cts_logscan_error_bodies_total{code="CTS.0003",in_catalog="true"} 2
//! ```

use std::io::{self, Write};

use super::{LatencyReport, Render, Report};

/// Writes the report as Prometheus metrics.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrometheusRenderer;

impl Render for PrometheusRenderer {
    fn render(&self, report: &Report, wtr: &mut dyn Write) -> io::Result<()> {
        let s = &report.summary;
        metric(wtr, "cts_logscan_lines_total", "counter", "Lines read.")?;
        writeln!(wtr, "cts_logscan_lines_total {}", s.lines)?;
        metric(wtr, "cts_logscan_requests_total", "counter", "Lines that parsed as requests, by HTTP status.")?;
        for (status, count) in &s.statuses {
            writeln!(wtr, "cts_logscan_requests_total{{status=\"{status}\"}} {count}")?;
        }
        metric(wtr, "cts_logscan_malformed_lines_total", "counter", "Lines that could not be parsed, by kind.")?;
        for (kind, count) in &s.malformed_by_kind {
            writeln!(wtr, "cts_logscan_malformed_lines_total{{kind=\"{}\"}} {count}", kind.name())?;
        }
        metric(wtr, "cts_logscan_error_bodies_total", "counter", "Lines with an error body, by code.")?;
        for code in &report.codes {
            let labels = format!("code=\"{}\",in_catalog=\"{}\"", escape(&code.code), code.in_catalog);
            writeln!(wtr, "cts_logscan_error_bodies_total{{{labels}}} {}", code.count)?;
        }
        metric(
            wtr,
            "cts_logscan_error_bodies_in_malformed_lines_total",
            "counter",
            "Lines that did not parse but hold an error body, by code (not requests).",
        )?;
        for code in report.codes.iter().filter(|c| c.in_malformed_lines > 0) {
            writeln!(
                wtr,
                "cts_logscan_error_bodies_in_malformed_lines_total{{code=\"{}\"}} {}",
                escape(&code.code),
                code.in_malformed_lines
            )?;
        }
        metric(
            wtr,
            "cts_logscan_status_mismatches_total",
            "counter",
            "Lines whose HTTP status differs from the one documented for their code.",
        )?;
        for code in report.codes.iter().filter(|c| c.in_catalog) {
            writeln!(
                wtr,
                "cts_logscan_status_mismatches_total{{code=\"{}\"}} {}",
                escape(&code.code),
                code.status_mismatches
            )?;
        }
        metric(wtr, "cts_logscan_latency_seconds", "summary", "Time to answer requests with each error code.")?;
        for code in &report.codes {
            if let Some(latency) = &code.latency_ms {
                summary(wtr, &format!("code=\"{}\"", escape(&code.code)), latency)?;
            }
        }
        metric(wtr, "cts_logscan_request_latency_seconds", "summary", "Time to answer all requests.")?;
        if let Some(latency) = &s.latency_ms.all {
            summary(wtr, "", latency)?;
        }
        Ok(())
    }
}

fn metric(wtr: &mut dyn Write, name: &str, kind: &str, help: &str) -> io::Result<()> {
    writeln!(wtr, "# HELP {name} {help}")?;
    writeln!(wtr, "# TYPE {name} {kind}")
}

/// Quantiles and count of a summary; `labels` without braces.
fn summary(wtr: &mut dyn Write, labels: &str, latency: &LatencyReport) -> io::Result<()> {
    let name = if labels.is_empty() { "cts_logscan_request_latency_seconds" } else { "cts_logscan_latency_seconds" };
    let sep = if labels.is_empty() { "" } else { "," };
    for (quantile, ms) in [("0.5", latency.p50), ("0.9", latency.p90), ("0.99", latency.p99), ("1", latency.max)] {
        writeln!(wtr, "{name}{{{labels}{sep}quantile=\"{quantile}\"}} {}", ms / 1000.0)?;
    }
    let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
    writeln!(wtr, "{name}_count{braces} {}", latency.count)
}

/// Label values escape `\` and `"`, after the one escape of control
/// characters (which leaves no line feed).
fn escape(value: &str) -> String {
    crate::escape::escape(value).replace('\\', "\\\\").replace('"', "\\\"")
}
