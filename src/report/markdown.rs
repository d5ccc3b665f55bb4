//! Markdown: a summary list and a per-code table, ready to paste into a
//! ticket or a wiki page. Pipes and line breaks in cells are escaped.

use std::io;

use super::{Render, Report};

/// Writes the report as GitHub-flavoured Markdown.
#[derive(Clone, Copy, Debug, Default)]
pub struct MarkdownRenderer;

impl Render for MarkdownRenderer {
    fn render(&self, report: &Report, wtr: &mut dyn io::Write) -> io::Result<()> {
        let s = &report.summary;
        writeln!(wtr, "## CTS error codes")?;
        writeln!(wtr)?;
        writeln!(wtr, "- files: {}, lines: {}, requests: {}", s.files, s.lines, s.requests)?;
        writeln!(wtr, "- blank lines: {}, malformed lines: {}", s.blank, s.malformed)?;
        let rate = s.error_rate.map_or("-".to_owned(), |r| format!("{:.2} %", r * 100.0));
        writeln!(wtr, "- error bodies: {} ({rate} of requests)", s.error_bodies)?;
        if s.error_bodies_in_malformed_lines > 0 {
            writeln!(wtr, "- error bodies in lines that did not parse: {}", s.error_bodies_in_malformed_lines)?;
        }
        if let Some(filter) = &s.filter {
            let patterns = |items: Vec<String>| if items.is_empty() { "-".to_owned() } else { items.join(", ") };
            writeln!(
                wtr,
                "- filter: since {}, until {}, status {}, codes {}",
                filter.since.as_deref().unwrap_or("-"),
                filter.until.as_deref().unwrap_or("-"),
                patterns(filter.statuses.iter().map(ToString::to_string).collect()),
                markdown_cell(&patterns(filter.codes.iter().map(ToString::to_string).collect())),
            )?;
        }
        if let (Some(first), Some(last)) = (&s.first_time, &s.last_time) {
            writeln!(wtr, "- time span: {first} to {last}")?;
        }
        writeln!(wtr)?;
        if report.codes.is_empty() {
            return writeln!(wtr, "No error bodies found.");
        }
        writeln!(
            wtr,
            "| code | count | share | per 1k requests | p50 ms | p99 ms | documented status | mismatches | message |"
        )?;
        writeln!(wtr, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")?;
        for code in &report.codes {
            let latency = |pick: fn(&super::LatencyReport) -> f64| {
                code.latency_ms.as_ref().map_or("-".to_owned(), |l| format!("{:.1}", pick(l)))
            };
            writeln!(
                wtr,
                "| {} | {} | {:.1} % | {} | {} | {} | {} | {} | {} |",
                markdown_cell(&code.code),
                code.count,
                code.share * 100.0,
                code.per_1k_requests.map_or("-".to_owned(), |r| format!("{r:.2}")),
                latency(|l| l.p50),
                latency(|l| l.p99),
                code.documented_status.map_or("not in catalogue".to_owned(), |s| s.to_string()),
                code.status_mismatches,
                markdown_cell(code.display_message().unwrap_or("-")),
            )?;
        }
        Ok(())
    }
}

/// `text` for a Markdown table cell: control characters and markup
/// escaped as for HTML (a log's `<script>` is shown, not rendered), and `|`.
pub fn markdown_cell(text: &str) -> String {
    super::html::escape(text).replace('|', "\\|")
}
