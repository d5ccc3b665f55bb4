//! The human-readable table: a summary block, then one row per code sorted by
//! count, then samples of malformed lines.

use std::io::{self, Write};

use super::code_table;
use crate::escape::{Escaped, escape};
use crate::lex::time::format_rfc3339;

use super::text::{
    duration_label, ellipsize, human_bytes, human_duration, ms, ms_percentile, plural, ratings_text, shift_text,
    short_time, sparkline, thousands, wrap,
};
use super::{CodeReport, FilterReport, NameCount, Render, Report};

/// Writes the report as aligned text, optionally with ANSI colour.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableRenderer {
    /// Use ANSI colour and bold.
    pub color: bool,
    /// Fit the per-code table into this many columns (a terminal's
    /// width); `None` shows every column in full.
    pub width: Option<usize>,
}

impl Render for TableRenderer {
    fn render(&self, report: &Report, wtr: &mut dyn Write) -> io::Result<()> {
        self.summary(report, wtr)?;
        writeln!(wtr)?;
        if report.codes.is_empty() {
            writeln!(wtr, "no error bodies found")?;
        } else {
            self.codes(&report.codes, wtr)?;
            self.sparklines(report, wtr)?;
            self.spike_drivers(&report.codes, wtr)?;
            self.tops(&report.codes, wtr)?;
            self.trace_breakdowns(&report.codes, wtr)?;
        }
        self.incidents(report, wtr)?;
        self.samples(report, wtr)
    }
}

impl TableRenderer {
    /// Writes one line of the report; fitted to the width, a long line is
    /// broken after a `·` or `,` separator and continued under its label,
    /// never cut mid-word unless a single item is wider than the terminal.
    fn line(&self, wtr: &mut dyn Write, text: &str) -> io::Result<()> {
        let Some(width) = self.width.filter(|&w| visible_len(text) > w) else {
            return writeln!(wtr, "{text}");
        };
        const INDENT: &str = "               ";
        let mut pieces: Vec<&str> = Vec::new();
        let mut rest = text;
        while let Some(at) = [" · ", ", "].iter().filter_map(|sep| rest.find(sep).map(|i| i + sep.len())).min() {
            pieces.push(&rest[..at]);
            rest = &rest[at..];
        }
        pieces.push(rest);
        let mut current = String::new();
        for piece in pieces {
            if !current.is_empty() && visible_len(&current) + visible_len(piece) > width {
                writeln!(wtr, "{}", ellipsize(current.trim_end(), width))?;
                current = INDENT.to_owned();
            }
            current.push_str(piece);
        }
        writeln!(wtr, "{}", ellipsize(current.trim_end(), width))
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }

    fn summary(&self, report: &Report, wtr: &mut dyn Write) -> io::Result<()> {
        let s = &report.summary;
        let files = plural(s.files as u64, "file", "files");
        let timing = s.timing.as_ref().map_or(String::new(), |t| {
            format!(" in {:.2} s ({}/s)", t.wall_seconds, human_bytes(t.mib_per_second * 1048576.0))
        });
        let header = format!(
            "{} {} — {files}, {}, {}{timing}",
            self.paint("1", &report.tool.name),
            report.tool.version,
            human_bytes(s.bytes as f64),
            plural(s.lines, "line", "lines"),
        );
        self.line(wtr, &header)?;
        if let Some(filter) = &s.filter {
            self.line(wtr, &format!("  filter       {}", filter_text(filter)))?;
        }
        let kinds: Vec<String> =
            s.malformed_by_kind.iter().map(|(k, n)| format!("{} {}", k.name(), thousands(*n))).collect();
        let kinds = if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) };
        let filtered =
            if s.filtered > 0 { format!(" · filtered out {}", thousands(s.filtered)) } else { String::new() };
        let requests = format!(
            "  requests     {:>12}   blank {} · malformed {}{kinds}{filtered}",
            thousands(s.requests),
            thousands(s.blank),
            thousands(s.malformed)
        );
        self.line(wtr, &requests)?;
        let rate = s.error_rate.map_or("-".to_owned(), |r| format!("{:.2} % of requests", r * 100.0));
        let bodies = format!(
            "  error bodies {:>12}   {rate} · {} · {} outside the CTS catalogue",
            thousands(s.error_bodies),
            plural(report.codes.len() as u64, "code", "codes"),
            plural(s.unknown_code_bodies, "body", "bodies"),
        );
        self.line(wtr, &bodies)?;
        if s.error_bodies_in_malformed_lines > 0 {
            let text = format!(
                "  in malformed {:>12}   error bodies in lines that did not parse · not requests · column IN MALFORMED",
                thousands(s.error_bodies_in_malformed_lines)
            );
            self.line(wtr, &text)?;
        }
        let invalid = &s.invalid_fields;
        if invalid.time + invalid.status + invalid.latency > 0 {
            let text = format!(
                "  unusable     time {} · status {} · latency {} · left out of every figure",
                thousands(invalid.time),
                thousands(invalid.status),
                thousands(invalid.latency)
            );
            self.line(wtr, &text)?;
        }
        if let (Some(first), Some(last), Some(span)) = (&s.first_time, &s.last_time, s.span_seconds) {
            self.line(wtr, &format!("  time span    {first} → {last} ({})", human_duration(span)))?;
        }
        if !s.statuses.is_empty() {
            let statuses: Vec<String> = s.statuses.iter().map(|(st, n)| format!("{st} {}", thousands(*n))).collect();
            self.line(wtr, &format!("  statuses     {}", statuses.join(" · ")))?;
        }
        if let Some(ratings) = &s.trace_ratings {
            self.line(wtr, &format!("  trace rating {}", ratings_text(ratings)))?;
        }
        if s.latency_ms.all.is_some() {
            writeln!(wtr, "  latency (ms) {:>12} {:>9} {:>9} {:>9} {:>10}", "count", "p50", "p90", "p99", "max")?;
            for (label, latency) in [("all", &s.latency_ms.all), ("no error", &s.latency_ms.without_error_body)] {
                if let Some(l) = latency {
                    writeln!(
                        wtr,
                        "    {label:<10} {:>12} {:>9} {:>9} {:>9} {:>10}",
                        thousands(l.count),
                        ms_percentile(l.p50),
                        ms_percentile(l.p90),
                        ms_percentile(l.p99),
                        ms(l.max)
                    )?;
                }
            }
        }
        Ok(())
    }

    fn codes(&self, codes: &[CodeReport], wtr: &mut dyn Write) -> io::Result<()> {
        let lines = code_table::lines(codes, self.width);
        writeln!(wtr, "{}", self.paint("1", &lines[0]))?;
        for (text, code) in lines[1..].iter().zip(codes) {
            let text = if !code.in_catalog {
                self.paint("33", text)
            } else if code.status_mismatches > 0 {
                self.paint("31", text)
            } else {
                text.clone()
            };
            writeln!(wtr, "{text}")?;
        }
        writeln!(wtr)?;
        let note = "STATUS is the documented HTTP status (`?` marks codes outside the CTS catalogue); \
                    MISMATCH counts lines logged with another status. MESSAGE is the catalogue's, or `≠` and the \
                    message most logged when it says something else (ids and numbers as <*>). \
                    `cts-logscan explain CODE` tells what to do.";
        match self.width {
            Some(width) => wrap(note, width).iter().try_for_each(|line| writeln!(wtr, "{line}")),
            None => writeln!(wtr, "{note}"),
        }
    }

    /// With `--bucket`: errors per bucket as a sparkline per code, and when
    /// a spike started.
    fn sparklines(&self, report: &Report, wtr: &mut dyn Write) -> io::Result<()> {
        let Some(series) = &report.summary.series else {
            return Ok(());
        };
        writeln!(wtr)?;
        let folding = series.folding(SPARK_WIDTH);
        let title = format!(
            "errors per {} from {} ({} buckets of {}):",
            folding.label(),
            short_time(Some(&format_rfc3339(folding.first_point_ms))),
            series.requests.len(),
            duration_label(series.bucket_ms()),
        );
        writeln!(wtr, "{}", self.paint("1", &title))?;
        for code in &report.codes {
            let Some(counts) = &code.series else { continue };
            let started =
                code.started.as_deref().map_or(String::new(), |t| format!("  started {}", short_time(Some(t))));
            writeln!(wtr, "  {:<12} {}{started}", code.code, sparkline(&series.fold(counts, SPARK_WIDTH)))?;
        }
        Ok(())
    }

    /// With `--bucket` and `--top`: what drives each spike.
    fn spike_drivers(&self, codes: &[CodeReport], wtr: &mut dyn Write) -> io::Result<()> {
        for code in codes.iter().filter(|c| !c.spike_drivers.is_empty()) {
            writeln!(wtr)?;
            let since = code.started.as_deref().unwrap_or("-");
            let title = format!("{} — what drives the spike (from {since}, against the buckets before)", code.code);
            writeln!(wtr, "{}", self.paint("1", &title))?;
            for (list, shifts) in &code.spike_drivers {
                let values: Vec<String> = shifts.iter().map(|s| escape(&shift_text(s)).into_owned()).collect();
                self.line(wtr, &format!("  {:<12} {}", Escaped(list), values.join(", ")))?;
            }
        }
        Ok(())
    }

    /// With `--top`: where each code's errors come from.
    fn tops(&self, codes: &[CodeReport], wtr: &mut dyn Write) -> io::Result<()> {
        let list = |items: &[NameCount]| -> String {
            if items.is_empty() {
                return "-".to_owned();
            }
            items
                .iter()
                .map(|i| format!("{} ({})", Escaped(&i.name), thousands(i.count)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for code in codes {
            let Some(top) = &code.top else { continue };
            writeln!(wtr)?;
            writeln!(wtr, "{}", self.paint("1", &format!("{} — top sources", code.code)))?;
            self.line(wtr, &format!("  endpoints    {}", list(&top.endpoints)))?;
            self.line(wtr, &format!("  projects     {}", list(&top.projects)))?;
            self.line(wtr, &format!("  clients      {}", list(&top.clients)))?;
            if !top.sources.is_empty() {
                self.line(wtr, &format!("  sources      {}", list(&top.sources)))?;
            }
            for (name, values) in &top.by {
                self.line(wtr, &format!("  {:<12} {}", Escaped(name), list(values)))?;
            }
            let worst = top.max_undercount.worst();
            if worst > 0 {
                writeln!(wtr, "  (more distinct values than kept: counts may be low by up to {})", thousands(worst))?;
            }
            for sample in &top.request_ids {
                writeln!(
                    wtr,
                    "  request id   {}  {}:{}",
                    Escaped(&sample.request_id),
                    Escaped(&sample.file),
                    sample.line
                )?;
            }
        }
        Ok(())
    }

    /// For CTS trace inputs: which services and operations each code came
    /// from.
    fn trace_breakdowns(&self, codes: &[CodeReport], wtr: &mut dyn Write) -> io::Result<()> {
        let traced: Vec<&CodeReport> =
            codes.iter().filter(|c| !c.service_types.is_empty() || !c.trace_names.is_empty()).collect();
        if traced.is_empty() {
            return Ok(());
        }
        writeln!(wtr)?;
        writeln!(wtr, "{}", self.paint("1", "CTS traces by service_type and trace_name:"))?;
        let list = |items: &[NameCount]| -> String {
            items.iter().map(|i| format!("{} {}", Escaped(&i.name), thousands(i.count))).collect::<Vec<_>>().join(", ")
        };
        for code in traced {
            let ratings =
                code.trace_ratings.as_ref().map_or(String::new(), |r| format!(" · rated {}", ratings_text(r)));
            self.line(
                wtr,
                &format!(
                    "  {:<12} services: {} · operations: {}{ratings}",
                    code.code,
                    list(&code.service_types),
                    list(&code.trace_names)
                ),
            )?;
        }
        Ok(())
    }

    /// The first traces rated `incident`, where the CTS guide says to look
    /// first.
    fn incidents(&self, report: &Report, wtr: &mut dyn Write) -> io::Result<()> {
        let incidents = &report.summary.incidents;
        if incidents.is_empty() {
            return Ok(());
        }
        writeln!(wtr)?;
        let total = report.summary.trace_ratings.map_or(0, |r| r.incident);
        let title = format!("traces rated incident ({} of {}, in input order):", incidents.len(), thousands(total));
        writeln!(wtr, "{}", self.paint("1", &title))?;
        let or_dash = |text: &Option<String>| text.as_deref().map_or("-".to_owned(), |t| Escaped(t).to_string());
        for incident in incidents {
            let code = incident.code.as_deref().map_or(String::new(), |c| format!(" · {}", Escaped(c)));
            self.line(
                wtr,
                &format!(
                    "  {}  {} by {} on {} · trace {} · request {}{code} · {}:{}",
                    or_dash(&incident.time),
                    or_dash(&incident.trace_name),
                    or_dash(&incident.user),
                    or_dash(&incident.resource),
                    or_dash(&incident.trace_id),
                    or_dash(&incident.request_id),
                    Escaped(&incident.file),
                    incident.line
                ),
            )?;
        }
        Ok(())
    }

    fn samples(&self, report: &Report, wtr: &mut dyn Write) -> io::Result<()> {
        let s = &report.summary;
        if s.malformed_samples.is_empty() {
            return Ok(());
        }
        writeln!(wtr)?;
        writeln!(wtr, "{}", self.paint("1", &format!("malformed lines (first {}):", s.malformed_samples.len())))?;
        for sample in &s.malformed_samples {
            writeln!(wtr, "  {}:{}  {}", Escaped(&sample.file), sample.line, sample.kind.name())?;
        }
        Ok(())
    }
}

/// Characters of `text` a terminal shows: ANSI colour sequences take none.
fn visible_len(text: &str) -> usize {
    let mut len = 0;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            len += 1;
        }
    }
    len
}

/// Widest sparkline; longer series are folded by [`super::Series::fold`].
const SPARK_WIDTH: usize = 60;

/// `since 2026-11-27T14:05:00.000Z · status 5xx · codes CTS.02*`.
fn filter_text(filter: &FilterReport) -> String {
    let mut parts = Vec::new();
    if let Some(since) = &filter.since {
        parts.push(format!("since {since}"));
    }
    if let Some(until) = &filter.until {
        parts.push(format!("until {until}"));
    }
    let joined = |items: Vec<String>| items.join(",");
    if !filter.statuses.is_empty() {
        parts.push(format!("status {}", joined(filter.statuses.iter().map(ToString::to_string).collect())));
    }
    if !filter.codes.is_empty() {
        parts.push(format!(
            "codes {} (totals cover all codes)",
            joined(filter.codes.iter().map(ToString::to_string).collect())
        ));
    }
    escape(&parts.join(" · ")).into_owned()
}
