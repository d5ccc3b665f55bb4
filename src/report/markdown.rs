//! Markdown: a summary list and a per-code table, ready to paste into a
//! ticket or a wiki page. Pipes and line breaks in cells are escaped.

use std::io;

use super::text::{ratings_text, shift_text};
use super::{IncidentReport, NameCount, Render, Report};

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
        if let Some(ratings) = &s.trace_ratings {
            writeln!(wtr, "- trace ratings: {}", ratings_text(ratings))?;
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
                markdown_cell(&code.message_cell().unwrap_or_else(|| "-".to_owned())),
            )?;
        }
        variants(report, wtr)?;
        tops(report, wtr)?;
        incidents(report, wtr)
    }
}

/// The logged variants of each message, for codes with more than one or
/// one the catalogue does not say.
fn variants(report: &Report, wtr: &mut dyn io::Write) -> io::Result<()> {
    let codes: Vec<_> = report.codes.iter().filter(|c| c.message_variants.len() > 1 || c.message_differs).collect();
    if codes.is_empty() {
        return Ok(());
    }
    writeln!(wtr)?;
    writeln!(wtr, "### Logged messages (ids and numbers as <*>)")?;
    writeln!(wtr)?;
    for code in codes {
        let variants: Vec<String> =
            code.message_variants.iter().map(|m| format!("{} ({})", markdown_cell(&m.message), m.count)).collect();
        writeln!(wtr, "- {}: {}", markdown_cell(&code.code), variants.join(" · "))?;
    }
    Ok(())
}

/// With `--top`/`--by`: each code's lists, one bullet per list.
fn tops(report: &Report, wtr: &mut dyn io::Write) -> io::Result<()> {
    let list = |items: &[NameCount]| -> String {
        let items: Vec<String> = items.iter().map(|i| format!("{} ({})", markdown_cell(&i.name), i.count)).collect();
        if items.is_empty() { "-".to_owned() } else { items.join(", ") }
    };
    for code in &report.codes {
        let Some(top) = &code.top else { continue };
        writeln!(wtr)?;
        writeln!(wtr, "### {} — where the errors come from", markdown_cell(&code.code))?;
        writeln!(wtr)?;
        let fixed = [("endpoints", &top.endpoints), ("projects", &top.projects), ("clients", &top.clients)];
        let sources = (!top.sources.is_empty()).then_some(("sources", &top.sources));
        for (name, values) in fixed.into_iter().chain(sources) {
            writeln!(wtr, "- {name}: {}", list(values))?;
        }
        for (name, values) in &top.by {
            writeln!(wtr, "- {}: {}", markdown_cell(name), list(values))?;
        }
        if let Some(ratings) = &code.trace_ratings {
            writeln!(wtr, "- trace ratings: {}", ratings_text(ratings))?;
        }
        for (list, shifts) in &code.spike_drivers {
            let values: Vec<String> = shifts.iter().map(|s| markdown_cell(&shift_text(s))).collect();
            writeln!(wtr, "- driving the spike, {}: {}", markdown_cell(list), values.join(", "))?;
        }
    }
    Ok(())
}

/// The first `incident`-rated traces, as a table.
fn incidents(report: &Report, wtr: &mut dyn io::Write) -> io::Result<()> {
    let incidents = &report.summary.incidents;
    if incidents.is_empty() {
        return Ok(());
    }
    writeln!(wtr)?;
    writeln!(wtr, "### Traces rated incident")?;
    writeln!(wtr)?;
    writeln!(wtr, "| {} |", IncidentReport::COLUMNS.join(" | "))?;
    writeln!(wtr, "|{}", " --- |".repeat(IncidentReport::COLUMNS.len()))?;
    for incident in incidents {
        writeln!(wtr, "| {} |", incident.cells(markdown_cell).join(" | "))?;
    }
    Ok(())
}

/// `text` for a Markdown table cell: control characters and markup
/// escaped as for HTML (a log's `<script>` is shown, not rendered), and `|`.
pub fn markdown_cell(text: &str) -> String {
    super::html::escape(text).replace('|', "\\|")
}
