//! CSV: one row per code, with a header line; quoting by the `csv` crate.
//!
//! Columns: `code, count, share, per_1k_requests, per_minute, in_catalog,
//! documented_status, status_mismatches, statuses, in_malformed_lines,
//! p50_ms, p90_ms, p99_ms, max_ms, first_seen, last_seen, message,
//! spike_drivers`. `statuses` is `400:12 500:3`; `spike_drivers` (with
//! `--bucket --top`, a code that started) is `clients: 10.0.0.9 86 % (was
//! 0 %); endpoints: …`;
//! empty cells mean "not known". Counts are integers; `share` (a
//! fraction) has 4 decimals, the rates 2, as the table; percentiles the
//! three significant digits their histogram holds (`30.0`, `726`,
//! `22700`); `max_ms` is exact.

use std::io;

use super::text::{drivers_text, fixed, ms_percentile_plain};
use super::{CodeReport, Render, Report};
use crate::escape::escape;

/// Writes the per-code rows as CSV.
#[derive(Clone, Copy, Debug, Default)]
pub struct CsvRenderer;

const HEADER: [&str; 18] = [
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
    "spike_drivers",
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

fn row(code: &CodeReport) -> [String; 18] {
    let opt = |value: Option<String>| value.unwrap_or_default();
    let percentile =
        |pick: fn(&super::LatencyReport) -> f64| opt(code.latency_ms.as_ref().map(|l| ms_percentile_plain(pick(l))));
    [
        code.code.clone(),
        code.count.to_string(),
        fixed(code.share, 4),
        opt(code.per_1k_requests.map(|r| fixed(r, 2))),
        opt(code.per_minute.map(|r| fixed(r, 2))),
        code.in_catalog.to_string(),
        opt(code.documented_status.map(|s| s.to_string())),
        code.status_mismatches.to_string(),
        code.statuses.iter().map(|(s, n)| format!("{s}:{n}")).collect::<Vec<_>>().join(" "),
        code.in_malformed_lines.to_string(),
        percentile(|l| l.p50),
        percentile(|l| l.p90),
        percentile(|l| l.p99),
        opt(code.latency_ms.as_ref().map(|l| l.max.to_string())),
        opt(code.first_seen.clone()),
        opt(code.last_seen.clone()),
        opt(code.display_message().map(|m| escape(m).into_owned())),
        escape(&drivers_text(&code.spike_drivers)).into_owned(),
    ]
}
