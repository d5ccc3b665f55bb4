//! A self-contained HTML page: the summary, an SVG chart of errors per time
//! bucket per code, and the per-code table with the catalogue's
//! descriptions and solutions. No scripts, fonts or images are fetched.
//!
//! The chart needs a series: the scan keeps one whenever the output is
//! HTML (per minute unless `--bucket` says otherwise), and the page folds
//! it into at most [`MAX_BARS`] bars.

use std::fmt::Write as _;
use std::io;

use super::{CodeReport, Render, Report};

/// Most bars drawn; longer series are folded (bars add up their buckets).
pub const MAX_BARS: usize = 96;

/// Codes with a colour of their own in the chart; the rest are grey.
const PALETTE: [&str; 8] = ["#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/// Writes the report as one HTML page.
#[derive(Clone, Copy, Debug, Default)]
pub struct HtmlRenderer;

impl Render for HtmlRenderer {
    fn render(&self, report: &Report, wtr: &mut dyn io::Write) -> io::Result<()> {
        let mut page = String::new();
        page.push_str(concat!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<title>CTS error codes</title><style>",
            "body{font-family:system-ui,sans-serif;margin:2em;color:#222}",
            "table{border-collapse:collapse;margin-top:1em}th,td{border:1px solid #ccc;padding:4px 8px;vertical-align:top}",
            "th{background:#f4f4f4}td.n{text-align:right}.unknown{color:#8a6d00}.small{color:#666;font-size:90%}",
            "</style></head><body>\n<h1>CTS error codes</h1>\n"
        ));
        summary(&mut page, report);
        chart(&mut page, report);
        codes(&mut page, &report.codes);
        page.push_str("</body></html>\n");
        wtr.write_all(page.as_bytes())
    }
}

fn summary(page: &mut String, report: &Report) {
    let s = &report.summary;
    let rate = s.error_rate.map_or("-".to_owned(), |r| format!("{:.2} %", r * 100.0));
    let _ = write!(
        page,
        "<p>{} file(s) · {} lines · {} requests · {} malformed · <b>{} error bodies</b> ({rate} of requests)",
        s.files, s.lines, s.requests, s.malformed, s.error_bodies
    );
    if let (Some(first), Some(last)) = (&s.first_time, &s.last_time) {
        let _ = write!(page, " · {} → {}", escape(first), escape(last));
    }
    page.push_str("</p>\n");
}

/// Stacked bars: one per (folded) bucket, one colour per code.
fn chart(page: &mut String, report: &Report) {
    let Some(series) = &report.summary.series else {
        page.push_str(
            "<p class=\"small\">No chart: no request had a time, or the state was written without --bucket.</p>\n",
        );
        return;
    };
    let per_bar = series.per_point(MAX_BARS);
    let bars = series.fold(&series.requests, MAX_BARS).len();
    let coloured: Vec<(&CodeReport, Vec<u64>)> =
        report.codes.iter().filter_map(|c| c.series.as_ref().map(|s| (c, series.fold(s, MAX_BARS)))).collect();
    let totals: Vec<u64> = (0..bars).map(|i| coloured.iter().map(|(_, s)| s[i]).sum()).collect();
    let top = totals.iter().copied().max().unwrap_or(0).max(1);
    let (width, height, left, bottom) = (900.0, 260.0, 50.0, 30.0);
    let bar_width = (width - left) / bars as f64;
    let _ = write!(
        page,
        "<h2>Errors per {} s</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" role=\"img\" aria-label=\"errors per time bucket\">\n",
        series.bucket_seconds * per_bar as f64,
        height + bottom
    );
    let _ = writeln!(
        page,
        "<text x=\"0\" y=\"12\" font-size=\"11\">{top}</text><text x=\"0\" y=\"{height}\" font-size=\"11\">0</text>"
    );
    let mut base = vec![0u64; bars];
    for (index, (code, counts)) in coloured.iter().enumerate() {
        let colour = PALETTE.get(index).copied().unwrap_or("#999999");
        for (i, &n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
            let y = height - (base[i] + n) as f64 / top as f64 * height;
            let h = n as f64 / top as f64 * height;
            let _ = writeln!(
                page,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{colour}\"><title>{} {n}</title></rect>",
                left + i as f64 * bar_width,
                (bar_width - 1.0).max(0.5),
                escape(&code.code)
            );
            base[i] += n;
        }
    }
    let _ = writeln!(
        page,
        "<line x1=\"{left}\" y1=\"{height}\" x2=\"{width}\" y2=\"{height}\" stroke=\"#444\"/><text x=\"{left}\" y=\"{}\" font-size=\"11\">{}</text></svg>",
        height + 20.0,
        escape(&series.first_bucket)
    );
    page.push_str("<p class=\"small\">");
    for (index, (code, _)) in coloured.iter().enumerate() {
        let colour = PALETTE.get(index).copied().unwrap_or("#999999");
        let _ = write!(page, "<span style=\"color:{colour}\">■</span> {} ", escape(&code.code));
    }
    page.push_str("</p>\n");
}

fn codes(page: &mut String, codes: &[CodeReport]) {
    page.push_str(concat!(
        "<h2>Codes</h2>\n<table><tr><th>Code</th><th>Count</th><th>Share</th><th>p50 ms</th><th>p99 ms</th>",
        "<th>Documented status</th><th>Mismatches</th><th>Started</th><th>Message</th><th>Description</th><th>Solution</th></tr>\n"
    ));
    for code in codes {
        let latency = |pick: fn(&super::LatencyReport) -> f64| {
            code.latency_ms.as_ref().map_or("-".to_owned(), |l| format!("{:.1}", pick(l)))
        };
        let class = if code.in_catalog { "" } else { " class=\"unknown\"" };
        let _ = writeln!(
            page,
            "<tr{class}><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1} %</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&code.code),
            code.count,
            code.share * 100.0,
            latency(|l| l.p50),
            latency(|l| l.p99),
            code.documented_status.map_or("not in the CTS catalogue".to_owned(), |s| s.to_string()),
            code.status_mismatches,
            code.started.as_deref().map_or("-".to_owned(), escape),
            escape(code.display_message().unwrap_or("-")),
            escape(code.description.as_deref().unwrap_or("-")),
            escape(code.solution.as_deref().unwrap_or("-")),
        );
    }
    page.push_str("</table>\n");
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"<a href="x">&</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
    }
}
