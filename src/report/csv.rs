//! CSV: one row per code, with a header line; quoting by the `csv` crate.
//!
//! Columns: `code, count, share, per_1k_requests, per_minute, in_catalog,
//! documented_status, status_mismatches, statuses, in_malformed_lines,
//! p50_ms, p90_ms, p99_ms, max_ms, first_seen, last_seen, message`. `statuses` is `400:12 500:3`;
//! empty cells mean "not known".

use std::io;

use super::escape::escape;
use super::{CodeReport, Render, Report};

/// Writes the per-code rows as CSV.
#[derive(Clone, Copy, Debug, Default)]
pub struct CsvRenderer;

const HEADER: [&str; 17] = [
    "code",
    "count",
    "share",
    "per_1k_requests",
    "per_minute",
    "in_catalog",
    "documented_status",
    "status_mismatches",
    "statuses",
    "in_malformed_lines",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "first_seen",
    "last_seen",
    "message",
];

impl Render for CsvRenderer {
    fn render(&self, report: &Report, wtr: &mut dyn io::Write) -> io::Result<()> {
        let mut csv = csv::Writer::from_writer(wtr);
        csv.write_record(HEADER)?;
        for code in &report.codes {
            csv.write_record(row(code))?;
        }
        csv.flush()
    }
}

fn row(code: &CodeReport) -> [String; 17] {
    let opt = |value: Option<String>| value.unwrap_or_default();
    let latency = |pick: fn(&super::LatencyReport) -> f64| opt(code.latency_ms.as_ref().map(|l| pick(l).to_string()));
    [
        code.code.clone(),
        code.count.to_string(),
        code.share.to_string(),
        opt(code.per_1k_requests.map(|r| r.to_string())),
        opt(code.per_minute.map(|r| r.to_string())),
        code.in_catalog.to_string(),
        opt(code.documented_status.map(|s| s.to_string())),
        code.status_mismatches.to_string(),
        code.statuses.iter().map(|(s, n)| format!("{s}:{n}")).collect::<Vec<_>>().join(" "),
        code.in_malformed_lines.to_string(),
        latency(|l| l.p50),
        latency(|l| l.p90),
        latency(|l| l.p99),
        latency(|l| l.max),
        opt(code.first_seen.clone()),
        opt(code.last_seen.clone()),
        opt(code.display_message().map(|m| escape(m).into_owned())),
    ]
}
