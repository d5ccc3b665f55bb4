//! The human-readable table: a summary block, then one row per code sorted by
//! count, then samples of malformed lines.

use std::io::{self, Write};

use super::{CodeReport, FilterReport, LatencyReport, NameCount, Render, Report};

/// Writes the report as aligned text, optionally with ANSI colour.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableRenderer {
    /// Use ANSI colour and bold.
    pub color: bool,
}

/// Longest message shown in the table.
const MESSAGE_WIDTH: usize = 60;

impl Render for TableRenderer {
    fn render(&self, report: &Report, wtr: &mut dyn Write) -> io::Result<()> {
        self.summary(report, wtr)?;
        writeln!(wtr)?;
        if report.codes.is_empty() {
            writeln!(wtr, "no error bodies found")?;
        } else {
            self.codes(&report.codes, wtr)?;
            self.sparklines(report, wtr)?;
            self.tops(&report.codes, wtr)?;
            self.trace_breakdowns(&report.codes, wtr)?;
        }
        self.samples(report, wtr)
    }
}

impl TableRenderer {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }

    fn summary(&self, report: &Report, wtr: &mut dyn Write) -> io::Result<()> {
        let s = &report.summary;
        let files = plural(s.files as u64, "file", "files");
        let timing = s.timing.as_ref().map_or(String::new(), |t| {
            format!(" in {:.2} s ({}/s)", t.wall_seconds, human_bytes(t.mib_per_second * 1048576.0))
        });
        writeln!(
            wtr,
            "{} {} — {files}, {}, {} lines{timing}",
            self.paint("1", &report.tool.name),
            report.tool.version,
            human_bytes(s.bytes as f64),
            thousands(s.lines),
        )?;
        if let Some(filter) = &s.filter {
            writeln!(wtr, "  filter       {}", filter_text(filter))?;
        }
        let kinds: Vec<String> =
            s.malformed_by_kind.iter().map(|(k, n)| format!("{} {}", k.name(), thousands(*n))).collect();
        let kinds = if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) };
        let filtered =
            if s.filtered > 0 { format!(" · filtered out {}", thousands(s.filtered)) } else { String::new() };
        writeln!(
            wtr,
            "  requests     {:>12}   blank {} · malformed {}{kinds}{filtered}",
            thousands(s.requests),
            thousands(s.blank),
            thousands(s.malformed)
        )?;
        let rate = s.error_rate.map_or("-".to_owned(), |r| format!("{:.2} % of requests", r * 100.0));
        writeln!(
            wtr,
            "  error bodies {:>12}   {rate} · {} · {} with codes outside the CTS catalogue",
            thousands(s.error_bodies),
            plural(report.codes.len() as u64, "code", "codes"),
            plural(s.unknown_code_bodies, "body", "bodies"),
        )?;
        if s.error_bodies_in_malformed_lines > 0 {
            writeln!(
                wtr,
                "  in malformed {:>12}   error bodies in lines that did not parse (not requests; column IN MALFORMED)",
                thousands(s.error_bodies_in_malformed_lines)
            )?;
        }
        let invalid = &s.invalid_fields;
        if invalid.time + invalid.status + invalid.latency > 0 {
            writeln!(
                wtr,
                "  unusable     time {} · status {} · latency {} (left out of every figure)",
                thousands(invalid.time),
                thousands(invalid.status),
                thousands(invalid.latency)
            )?;
        }
        if let (Some(first), Some(last), Some(span)) = (&s.first_time, &s.last_time, s.span_seconds) {
            writeln!(wtr, "  time span    {first} → {last} ({})", human_duration(span))?;
        }
        if !s.statuses.is_empty() {
            let statuses: Vec<String> = s.statuses.iter().map(|(st, n)| format!("{st} {}", thousands(*n))).collect();
            writeln!(wtr, "  statuses     {}", statuses.join(" · "))?;
        }
        if s.latency_ms.all.is_some() {
            writeln!(wtr, "  latency (ms) {:>12} {:>9} {:>9} {:>9} {:>10}", "count", "p50", "p90", "p99", "max")?;
            for (label, latency) in [("all", &s.latency_ms.all), ("no error", &s.latency_ms.without_error_body)] {
                if let Some(l) = latency {
                    writeln!(
                        wtr,
                        "    {label:<10} {:>12} {:>9} {:>9} {:>9} {:>10}",
                        thousands(l.count),
                        ms(l.p50),
                        ms(l.p90),
                        ms(l.p99),
                        ms(l.max)
                    )?;
                }
            }
        }
        Ok(())
    }

    fn codes(&self, codes: &[CodeReport], wtr: &mut dyn Write) -> io::Result<()> {
        let header = [
            "CODE",
            "COUNT",
            "SHARE",
            "PER 1K",
            "PER MIN",
            "P50 MS",
            "P90 MS",
            "P99 MS",
            "MAX MS",
            "STATUS",
            "MISMATCH",
            "IN MALFORMED",
            "FIRST SEEN",
            "LAST SEEN",
            "MESSAGE",
        ];
        // The IN MALFORMED column only when some code has such lines.
        let shown: Vec<usize> = (0..COLUMNS)
            .filter(|&i| i != IN_MALFORMED_COLUMN || codes.iter().any(|c| c.in_malformed_lines > 0))
            .collect();
        let pick = |cells: [String; COLUMNS]| -> Vec<String> { shown.iter().map(|&i| cells[i].clone()).collect() };
        let rows: Vec<Vec<String>> = codes.iter().map(|code| pick(row(code))).collect();
        let header = pick(header.map(str::to_owned));
        let mut widths: Vec<usize> = header.iter().map(String::len).collect();
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| -> String {
            let mut out = String::new();
            for ((cell, width), &column) in cells.iter().zip(&widths).zip(&shown) {
                let pad = width.saturating_sub(cell.chars().count());
                match column {
                    0 | 9 | 12 | 13 => out.push_str(&format!("{cell}{} ", " ".repeat(pad))),
                    14 => out.push_str(cell),
                    _ => out.push_str(&format!("{}{cell} ", " ".repeat(pad))),
                }
            }
            out.trim_end().to_owned()
        };
        writeln!(wtr, "{}", self.paint("1", &line(&header)))?;
        for (row, code) in rows.iter().zip(codes) {
            let text = line(row);
            let text = if !code.in_catalog {
                self.paint("33", &text)
            } else if code.status_mismatches > 0 {
                self.paint("31", &text)
            } else {
                text
            };
            writeln!(wtr, "{text}")?;
        }
        writeln!(wtr)?;
        writeln!(
            wtr,
            "STATUS is the documented HTTP status (`?` marks codes outside the CTS catalogue); \
             MISMATCH counts lines logged with another status. `cts-logscan explain CODE` tells what to do."
        )
    }

    /// With `--bucket`: errors per bucket as a sparkline per code, and when
    /// a spike started.
    fn sparklines(&self, report: &Report, wtr: &mut dyn Write) -> io::Result<()> {
        let Some(series) = &report.summary.series else {
            return Ok(());
        };
        writeln!(wtr)?;
        let title = format!(
            "errors per {} s from {} ({} buckets, {} per character):",
            series.bucket_seconds,
            short_time(Some(&series.first_bucket)),
            series.requests.len(),
            series.per_point(SPARK_WIDTH)
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

    /// With `--top`: where each code's errors come from.
    fn tops(&self, codes: &[CodeReport], wtr: &mut dyn Write) -> io::Result<()> {
        let list = |items: &[NameCount]| -> String {
            if items.is_empty() {
                return "-".to_owned();
            }
            items.iter().map(|i| format!("{} ({})", i.name, thousands(i.count))).collect::<Vec<_>>().join(", ")
        };
        for code in codes {
            let Some(top) = &code.top else { continue };
            writeln!(wtr)?;
            writeln!(wtr, "{}", self.paint("1", &format!("{} — top sources", code.code)))?;
            writeln!(wtr, "  endpoints    {}", list(&top.endpoints))?;
            writeln!(wtr, "  projects     {}", list(&top.projects))?;
            writeln!(wtr, "  clients      {}", list(&top.clients))?;
            let bound = &top.max_undercount;
            let worst = bound.endpoints.max(bound.projects).max(bound.clients);
            if worst > 0 {
                writeln!(wtr, "  (more distinct values than kept: counts may be low by up to {})", thousands(worst))?;
            }
            for sample in &top.request_ids {
                writeln!(wtr, "  request id   {}  {}:{}", sample.request_id, sample.file, sample.line)?;
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
            items.iter().map(|i| format!("{} {}", i.name, thousands(i.count))).collect::<Vec<_>>().join(", ")
        };
        for code in traced {
            writeln!(
                wtr,
                "  {:<12} services: {} · operations: {}",
                code.code,
                list(&code.service_types),
                list(&code.trace_names)
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
            writeln!(wtr, "  {}:{}  {}", sample.file, sample.line, sample.kind.name())?;
        }
        Ok(())
    }
}

/// Columns of the per-code table.
const COLUMNS: usize = 15;

/// The column of [`CodeReport::in_malformed_lines`].
const IN_MALFORMED_COLUMN: usize = 11;

fn row(code: &CodeReport) -> [String; COLUMNS] {
    let latency = |pick: fn(&LatencyReport) -> f64| code.latency_ms.as_ref().map_or("-".to_owned(), |l| ms(pick(l)));
    let message = code.display_message().unwrap_or("-");
    [
        code.code.clone(),
        thousands(code.count),
        format!("{:.1}%", code.share * 100.0),
        code.per_1k_requests.map_or("-".to_owned(), |r| format!("{r:.2}")),
        code.per_minute.map_or("-".to_owned(), |r| format!("{r:.2}")),
        latency(|l| l.p50),
        latency(|l| l.p90),
        latency(|l| l.p99),
        latency(|l| l.max),
        code.documented_status.map_or("?".to_owned(), |s| s.to_string()),
        if code.in_catalog { thousands(code.status_mismatches) } else { "-".to_owned() },
        thousands(code.in_malformed_lines),
        short_time(code.first_seen.as_deref()),
        short_time(code.last_seen.as_deref()),
        ellipsize(&message.replace(['\n', '\r', '\t'], " "), MESSAGE_WIDTH),
    ]
}

/// Widest sparkline; longer series are folded by [`super::Series::fold`].
const SPARK_WIDTH: usize = 60;

/// `▁▂▃▄▅▆▇█` scaled to the largest count; a space for an empty point.
fn sparkline(points: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let top = points.iter().copied().max().unwrap_or(0).max(1);
    points.iter().map(|&n| if n == 0 { ' ' } else { BARS[((n * 8 - 1) / top).min(7) as usize] }).collect()
}

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
    parts.join(" · ")
}

/// `2026-11-27T06:54:04.123Z` → `2026-11-27T06:54:04Z`.
fn short_time(time: Option<&str>) -> String {
    match time {
        Some(t) if t.len() == 24 => format!("{}Z", &t[..19]),
        Some(t) => t.to_owned(),
        None => "-".to_owned(),
    }
}

fn ellipsize(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{cut}…")
}

/// `1 code`, `2 codes`, with thousands separators.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Milliseconds with precision that suits their size.
fn ms(value: f64) -> String {
    if value >= 1000.0 {
        thousands(value.round() as u64)
    } else if value >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{value:.0} B") } else { format!("{value:.2} {}", UNITS[unit]) }
}

fn human_duration(seconds: f64) -> String {
    let total = seconds.round() as u64;
    let (days, hours, minutes, secs) = (total / 86_400, total / 3600 % 24, total / 60 % 60, total % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{minutes}m {secs}s"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h {minutes}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(ms(52.0), "52.00");
        assert_eq!(ms(120.25), "120.2");
        assert_eq!(ms(2500.0), "2,500");
        assert_eq!(human_bytes(1536.0), "1.50 KiB");
        assert_eq!(human_duration(240.0), "4m 0s");
        assert_eq!(human_duration(90_061.0), "1d 1h 1m");
        assert_eq!(short_time(Some("2026-11-27T06:54:04.123Z")), "2026-11-27T06:54:04Z");
        assert_eq!(ellipsize("abcdef", 4), "abc…");
        assert_eq!(sparkline(&[0, 1, 4, 8]), " ▁▄█");
    }
}
