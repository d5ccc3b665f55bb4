//! A self-contained HTML page: the summary (statuses and latency
//! included), an SVG chart of errors over time per code, and the per-code
//! table, each documented code followed by what the catalogue says it
//! means and what to do. No scripts, fonts
//! or images are fetched.
//!
//! The chart needs a series: the scan keeps one whenever the output is
//! HTML (per minute unless `--bucket` says otherwise), and the page folds
//! it with [`super::Series::folding`] into at most [`MAX_BARS`] bars of a
//! round width. The [`TOP_CODES`] most frequent codes get a colour of
//! their own from the Okabe–Ito palette, which stays distinct for the
//! common colour-vision deficiencies; the rest are drawn together as
//! "other".

use std::fmt::Write as _;
use std::io;

use super::series::ROUND_WIDTHS;
use super::text::{duration_label, ms, ms_percentile, plural, ratings_text, shift_text, thousands};
use super::{CodeReport, IncidentReport, LatencyReport, NameCount, Render, Report, Series, TopReport};
use crate::lex::time::{DAY_MS, format_rfc3339};

/// Most bars drawn.
pub const MAX_BARS: usize = 96;

/// Codes with a colour of their own in the chart.
pub const TOP_CODES: usize = 7;

/// Okabe–Ito: orange, sky blue, bluish green, yellow, blue, vermillion,
/// reddish purple; then grey for "other".
const PALETTE: [&str; TOP_CODES] = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"];
const OTHER_COLOUR: &str = "#999999";

/// Writes the report as one HTML page.
#[derive(Clone, Copy, Debug, Default)]
pub struct HtmlRenderer;

impl Render for HtmlRenderer {
    fn render(&self, report: &Report, wtr: &mut dyn io::Write) -> io::Result<()> {
        let mut page = String::new();
        page.push_str(concat!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>CTS error codes</title><style>",
            "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1600px}",
            "table{border-collapse:collapse;margin-top:1em;width:100%}th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top}",
            "th{background:#f4f4f4;text-align:left}td.n{text-align:right;white-space:nowrap}td.code{white-space:nowrap}",
            ".unknown{color:#8a6d00}.small{color:#666;font-size:90%}tr.detail td{border-top:none;color:#444;font-size:92%}",
            "dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px}dl.summary dt{color:#555}dl.summary dd{margin:0}",
            "svg{max-width:100%;height:auto}.legend span{margin-right:12px;white-space:nowrap}",
            ".swatch{display:inline-block;width:10px;height:10px;margin-right:4px}",
            "@media (max-width:900px){body{margin:10px;font-size:14px}.started{display:none}}",
            "</style></head><body>\n<h1>CTS error codes</h1>\n"
        ));
        summary(&mut page, report);
        chart(&mut page, report);
        codes(&mut page, &report.codes);
        incidents(&mut page, report);
        page.push_str("</body></html>\n");
        wtr.write_all(page.as_bytes())
    }
}

fn summary(page: &mut String, report: &Report) {
    let s = &report.summary;
    let rate = s.error_rate.map_or("-".to_owned(), |r| format!("{:.2} %", r * 100.0));
    page.push_str("<dl class=\"summary\">\n");
    let mut item = |label: &str, value: String| {
        let _ = writeln!(page, "<dt>{label}</dt><dd>{value}</dd>");
    };
    item(
        "input",
        format!(
            "{} · {} · {}",
            plural(s.files as u64, "file", "files"),
            escape(&bytes(s.bytes)),
            plural(s.lines, "line", "lines")
        ),
    );
    item(
        "requests",
        format!(
            "{} · {} blank · {} malformed · {} filtered out",
            thousands(s.requests),
            thousands(s.blank),
            thousands(s.malformed),
            thousands(s.filtered)
        ),
    );
    item(
        "error bodies",
        format!(
            "<b>{}</b> ({rate} of requests) · {} outside the CTS catalogue",
            thousands(s.error_bodies),
            plural(s.unknown_code_bodies, "body", "bodies")
        ),
    );
    if s.error_bodies_in_malformed_lines > 0 {
        item(
            "in malformed lines",
            format!("{} error bodies (not requests)", thousands(s.error_bodies_in_malformed_lines)),
        );
    }
    if let (Some(first), Some(last)) = (&s.first_time, &s.last_time) {
        item("time span", format!("{} → {}", escape(first), escape(last)));
    }
    if !s.statuses.is_empty() {
        let statuses: Vec<String> = s.statuses.iter().map(|(st, n)| format!("{st}: {}", thousands(*n))).collect();
        item("statuses", statuses.join(" · "));
    }
    if let Some(ratings) = &s.trace_ratings {
        item("trace ratings", ratings_text(ratings));
    }
    for (label, latency) in
        [("latency, all", &s.latency_ms.all), ("latency, no error body", &s.latency_ms.without_error_body)]
    {
        if let Some(l) = latency {
            item(label, latency_text(l));
        }
    }
    page.push_str("</dl>\n");
}

fn latency_text(l: &LatencyReport) -> String {
    format!(
        "{} requests · p50 {} ms · p90 {} ms · p99 {} ms · max {} ms",
        thousands(l.count),
        ms_percentile(l.p50),
        ms_percentile(l.p90),
        ms_percentile(l.p99),
        ms(l.max)
    )
}

fn bytes(n: u64) -> String {
    super::text::human_bytes(n as f64)
}

/// One coloured group of the chart: a top code, or the rest together.
struct Group<'r> {
    name: String,
    colour: &'static str,
    points: Vec<u64>,
    codes: Vec<&'r CodeReport>,
}

/// The top codes each in its colour, the rest as "other".
fn groups<'r>(report: &'r Report, series: &Series) -> Vec<Group<'r>> {
    let with_series: Vec<&CodeReport> = report.codes.iter().filter(|c| c.series.is_some()).collect();
    let mut groups: Vec<Group<'r>> = Vec::new();
    for (index, code) in with_series.iter().enumerate() {
        let points = series.fold(code.series.as_deref().unwrap_or_default(), MAX_BARS);
        if index < TOP_CODES || with_series.len() == TOP_CODES + 1 {
            let colour = PALETTE.get(index).copied().unwrap_or(OTHER_COLOUR);
            groups.push(Group { name: code.code.clone(), colour, points, codes: vec![code] });
        } else if let Some(other) = groups.get_mut(TOP_CODES) {
            other.points.iter_mut().zip(points).for_each(|(a, b)| *a += b);
            other.codes.push(code);
        } else {
            groups.push(Group { name: "other".to_owned(), colour: OTHER_COLOUR, points, codes: vec![code] });
        }
    }
    if let Some(other) = groups.get_mut(TOP_CODES).filter(|g| g.codes.len() > 1) {
        other.name = format!("{} other codes", other.codes.len());
    }
    groups
}

/// Stacked bars, one per point of the folded series, with time labels
/// under them and round ticks beside them.
fn chart(page: &mut String, report: &Report) {
    let Some(series) = &report.summary.series else {
        page.push_str(
            "<p class=\"small\">No chart: no request had a time, or the state was written without --bucket.</p>\n",
        );
        return;
    };
    let folding = series.folding(MAX_BARS);
    let groups = groups(report, series);
    let bars = folding.points;
    let totals: Vec<u64> =
        (0..bars).map(|i| groups.iter().map(|g| g.points.get(i).copied().unwrap_or(0)).sum()).collect();
    let (top, step) = axis(totals.iter().copied().max().unwrap_or(0));
    let (width, height, left, bottom, top_margin) = (960.0, 260.0, 60.0, 40.0, 10.0);
    let bar_width = (width - left - 10.0) / bars as f64;
    let y = |n: u64| top_margin + height - n as f64 / top as f64 * height;
    let _ = write!(
        page,
        "<h2>Errors per {}</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {}\" width=\"{width}\" role=\"img\" aria-label=\"errors per {}\">\n",
        folding.label(),
        height + bottom + top_margin,
        folding.label()
    );
    for tick in 0..=top / step {
        let value = tick * step;
        let _ = writeln!(
            page,
            "<line x1=\"{left}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"#e4e4e4\"/><text x=\"{2}\" y=\"{3:.1}\" font-size=\"11\" text-anchor=\"end\">{4}</text>",
            y(value),
            width - 10.0,
            left - 6.0,
            y(value) + 4.0,
            thousands(value)
        );
    }
    let mut base = vec![0u64; bars];
    for group in &groups {
        for (i, &n) in group.points.iter().enumerate().filter(|(_, n)| **n > 0) {
            let _ = writeln!(
                page,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{} {}: {}</title></rect>",
                left + i as f64 * bar_width,
                y(base[i] + n),
                (bar_width - 1.0).max(0.5),
                y(base[i]) - y(base[i] + n),
                group.colour,
                escape(&format_rfc3339(folding.first_point_ms + folding.point_ms * i as i64)),
                escape(&group.name),
                thousands(n)
            );
            base[i] += n;
        }
    }
    let axis_y = top_margin + height;
    let _ =
        writeln!(page, "<line x1=\"{left}\" y1=\"{axis_y}\" x2=\"{}\" y2=\"{axis_y}\" stroke=\"#444\"/>", width - 10.0);
    let span_ms = folding.point_ms * bars as i64;
    for at in ticks(folding.first_point_ms, span_ms, folding.point_ms) {
        let x = left + (at - folding.first_point_ms) as f64 / folding.point_ms as f64 * bar_width;
        let label = time_label(at, span_ms);
        if x + label.len() as f64 * 6.5 > width {
            // No room for the label before the edge.
            break;
        }
        let _ = writeln!(
            page,
            "<line x1=\"{x:.1}\" y1=\"{axis_y}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#444\"/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
            axis_y + 5.0,
            axis_y + 18.0,
            escape(&label)
        );
    }
    let _ = writeln!(
        page,
        "<text x=\"{left}\" y=\"{:.1}\" font-size=\"11\" fill=\"#666\">UTC · {} bars of {} · buckets of {}</text></svg>",
        axis_y + 34.0,
        bars,
        folding.label(),
        duration_label(series.bucket_ms())
    );
    page.push_str("<p class=\"legend small\">");
    for group in &groups {
        let names: Vec<&str> = group.codes.iter().map(|c| c.code.as_str()).collect();
        let _ = write!(
            page,
            "<span title=\"{}\"><span class=\"swatch\" style=\"background:{}\"></span>{}</span>",
            escape(&names.join(", ")),
            group.colour,
            escape(&group.name)
        );
    }
    page.push_str("</p>\n");
}

/// The y axis for counts up to `n`: a step of 1, 2 or 5 times a power of
/// ten, and the top, a multiple of it, in at most five steps.
fn axis(n: u64) -> (u64, u64) {
    let mut power = 1u64;
    loop {
        for step in [1, 2, 5] {
            let step = step * power;
            let steps = n.div_ceil(step).max(1);
            if steps <= 5 {
                return (steps * step, step);
            }
        }
        power = power.saturating_mul(10);
    }
}

/// Most time labels under the chart.
const MAX_TICKS: i64 = 8;

/// The times to label under a chart of `span_ms` from `first_ms` with bars
/// of `point_ms`: the multiples of the shortest round interval (at least a
/// bar) that gives at most [`MAX_TICKS`] labels, so they fall on round
/// times (`09:00`, `09:15`, …) whatever time the chart starts at.
fn ticks(first_ms: i64, span_ms: i64, point_ms: i64) -> impl Iterator<Item = i64> {
    // Labels a minute apart at the least.
    let step = ROUND_WIDTHS
        .into_iter()
        .find(|&step| step >= point_ms.max(60_000) && span_ms / step < MAX_TICKS)
        .unwrap_or_else(|| (span_ms / (MAX_TICKS * DAY_MS) + 1) * DAY_MS);
    let first_tick = (first_ms + step - 1).div_euclid(step) * step;
    (0..).map(move |k| first_tick + k * step).take_while(move |&at| at < first_ms + span_ms)
}

/// `14:30` within a day, `11-27 14:30` within a month, else the date.
fn time_label(ms_since_epoch: i64, span_ms: i64) -> String {
    let text = format_rfc3339(ms_since_epoch);
    match span_ms {
        s if s <= DAY_MS => text[11..16].to_owned(),
        s if s <= 31 * DAY_MS => format!("{} {}", &text[5..10], &text[11..16]),
        _ => text[..10].to_owned(),
    }
}

fn codes(page: &mut String, codes: &[CodeReport]) {
    page.push_str(concat!(
        "<h2>Codes</h2>\n<table><tr><th>Code</th><th>Count</th><th>Share</th><th>p50 ms</th><th>p99 ms</th>",
        "<th title=\"the HTTP status the documentation gives\">Status</th><th title=\"statuses logged with the code\">Logged</th>",
        "<th title=\"lines logged with another status than the documented one\">Other status</th><th class=\"started\">Started</th><th>Message</th></tr>\n"
    ));
    for code in codes {
        let latency = |pick: fn(&LatencyReport) -> f64| {
            code.latency_ms.as_ref().map_or("-".to_owned(), |l| ms_percentile(pick(l)))
        };
        let class = if code.in_catalog { "" } else { " class=\"unknown\"" };
        let statuses: Vec<String> = code.statuses.iter().map(|(s, n)| format!("{s}: {}", thousands(*n))).collect();
        let _ = writeln!(
            page,
            "<tr{class}><td class=\"code\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}&nbsp;%</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"started\">{}</td><td>{}</td></tr>",
            escape(&code.code),
            thousands(code.count),
            code.share * 100.0,
            latency(|l| l.p50),
            latency(|l| l.p99),
            code.documented_status.map_or("not CTS".to_owned(), |s| s.to_string()),
            if statuses.is_empty() { "-".to_owned() } else { statuses.join("<br>") },
            thousands(code.status_mismatches),
            code.started.as_deref().map_or("-".to_owned(), escape),
            escape(&code.message_cell().unwrap_or_else(|| "-".to_owned())),
        );
        if let (Some(description), Some(solution)) = (&code.description, &code.solution) {
            let _ = writeln!(
                page,
                "<tr class=\"detail\"><td></td><td colspan=\"9\"><b>What it means:</b> {} <b>What to do:</b> {}</td></tr>",
                escape(description),
                escape(solution)
            );
        }
        if code.message_variants.len() > 1 || code.message_differs {
            let variants: Vec<String> = code
                .message_variants
                .iter()
                .map(|m| format!("{} ({})", escape(&m.message), thousands(m.count)))
                .collect();
            let _ = writeln!(
                page,
                "<tr class=\"detail\"><td></td><td colspan=\"9\"><b>Logged messages:</b> {}</td></tr>",
                variants.join(" · ")
            );
        }
        if let Some(ratings) = &code.trace_ratings {
            let _ = writeln!(
                page,
                "<tr class=\"detail\"><td></td><td colspan=\"9\"><b>Trace ratings:</b> {}</td></tr>",
                ratings_text(ratings)
            );
        }
        if let Some(top) = &code.top {
            top_row(page, top);
        }
        if !code.spike_drivers.is_empty() {
            let lists: Vec<String> = code
                .spike_drivers
                .iter()
                .map(|(list, shifts)| {
                    let values: Vec<String> = shifts.iter().map(|s| escape(&shift_text(s))).collect();
                    format!("<b>{}:</b> {}", escape(list), values.join(", "))
                })
                .collect();
            let _ = writeln!(
                page,
                "<tr class=\"detail\"><td></td><td colspan=\"9\"><b>What drives the spike:</b> {}</td></tr>",
                lists.join(" · ")
            );
        }
    }
    page.push_str("</table>\n");
}

/// The `--top` lists of a code as a row under it: endpoints, projects,
/// clients, sources when known, and request ids with their `file:line`.
fn top_row(page: &mut String, top: &TopReport) {
    let list = |items: &[NameCount]| -> String {
        if items.is_empty() {
            return "-".to_owned();
        }
        items.iter().map(|i| format!("{} ({})", escape(&i.name), thousands(i.count))).collect::<Vec<_>>().join(", ")
    };
    let mut lists =
        vec![("Endpoints", list(&top.endpoints)), ("Projects", list(&top.projects)), ("Clients", list(&top.clients))];
    if !top.sources.is_empty() {
        lists.push(("Sources", list(&top.sources)));
    }
    let by: Vec<(String, String)> = top.by.iter().map(|(name, values)| (escape(name), list(values))).collect();
    lists.extend(by.iter().map(|(name, values)| (name.as_str(), values.clone())));
    if !top.request_ids.is_empty() {
        let ids: Vec<String> = top
            .request_ids
            .iter()
            .map(|s| format!("{} <span class=\"small\">{}:{}</span>", escape(&s.request_id), escape(&s.file), s.line))
            .collect();
        lists.push(("Request ids", ids.join(", ")));
    }
    let cells: Vec<String> = lists.iter().map(|(label, items)| format!("<b>{label}:</b> {items}")).collect();
    let _ = writeln!(page, "<tr class=\"detail top\"><td></td><td colspan=\"9\">{}</td></tr>", cells.join(" · "));
}

/// The first `incident`-rated traces, as a table.
fn incidents(page: &mut String, report: &Report) {
    let incidents = &report.summary.incidents;
    if incidents.is_empty() {
        return;
    }
    let total = report.summary.trace_ratings.map_or(0, |r| r.incident);
    let _ = writeln!(page, "<h2>Traces rated incident ({} of {})</h2>", incidents.len(), thousands(total));
    let header: Vec<String> = IncidentReport::COLUMNS.iter().map(|c| format!("<th>{c}</th>")).collect();
    let _ = writeln!(page, "<table><tr>{}</tr>", header.concat());
    for incident in incidents {
        let cells: Vec<String> = incident.cells(escape).iter().map(|c| format!("<td>{c}</td>")).collect();
        let _ = writeln!(page, "<tr>{}</tr>", cells.concat());
    }
    page.push_str("</table>\n");
}

/// Escapes text for HTML element content and attribute values, after the
/// one escape of control characters.
pub(super) fn escape(text: &str) -> String {
    crate::escape::escape(text).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"<a href="x">&</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
    }

    #[test]
    fn axes_have_round_steps() {
        for (n, top, step) in
            [(0, 1, 1), (3, 3, 1), (7, 8, 2), (9, 10, 2), (22, 25, 5), (230, 250, 50), (3_456, 4_000, 1_000)]
        {
            assert_eq!(axis(n), (top, step), "{n}");
        }
    }

    #[test]
    fn ticks_fall_on_round_times() {
        let minute = 60_000;
        let at_08_40 = 1_795_768_800_000; // 2026-11-27T08:40:00Z
        let labels = |first: i64, span: i64, point: i64| -> Vec<String> {
            ticks(first, span, point).map(|at| time_label(at, span)).collect()
        };
        // 85 minutes of one-minute bars: every 15 minutes.
        assert_eq!(labels(at_08_40, 85 * minute, minute), ["08:45", "09:00", "09:15", "09:30", "09:45", "10:00"]);
        // 40 minutes from 08:43: every 10 minutes.
        assert_eq!(labels(at_08_40 + 3 * minute, 40 * minute, minute), ["08:50", "09:00", "09:10", "09:20"]);
        // 20 minutes: every 5.
        assert_eq!(labels(at_08_40 + 3 * minute, 20 * minute, minute), ["08:45", "08:50", "08:55", "09:00"]);
        // A day of ten-minute bars: every 6 hours, from midnight.
        let day = labels(at_08_40, 24 * 60 * minute, 10 * minute);
        assert_eq!(day, ["12:00", "18:00", "00:00", "06:00"]);
        // No wider than a bar: 90 minutes of 30-minute bars.
        assert_eq!(labels(at_08_40 - 40 * minute, 90 * minute, 30 * minute), ["08:00", "08:30", "09:00"]);
        // A year: whole days, at most MAX_TICKS.
        assert!(ticks(at_08_40, 365 * 24 * 60 * minute, 86_400_000).count() <= MAX_TICKS as usize);
    }

    #[test]
    fn time_labels_suit_the_span() {
        let at = 1_795_788_300_000; // 2026-11-27T14:05:00Z
        assert_eq!(time_label(at, 3_600_000), "14:05");
        assert_eq!(time_label(at, 5 * 86_400_000), "11-27 14:05");
        assert_eq!(time_label(at, 90 * 86_400_000), "2026-11-27");
    }
}
