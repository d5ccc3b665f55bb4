//! The live `/metrics`: the families of the batch exposition, since
//! following began, then the live ones: the error rate of the windows,
//! error bodies per code and window, alerts firing, the state of each input
//! and, with `--metrics-top N`, each code's top N endpoints, projects and
//! clients, and of each `--by` and CTS trace field, with the rest summed as
//! `*other*`.
//!
//! The series are bounded whatever the input holds: codes by the state's
//! distinct-code limit (beyond it, `*other*`), inputs by
//! [`MAX_INPUT_SERIES`], breakdowns by N + 1 per code and kind.

use std::collections::HashSet;
use std::io;

use crate::follow::Snapshot;
use crate::report::prometheus::{Exposition, Kind, MAX_INPUT_SERIES, OTHER, write_report};
use crate::report::{NameCount, Report};

/// What the live exposition is made of.
pub struct LiveFigures<'a> {
    /// The report of everything read since start, built with the top N of
    /// `--metrics-top` (none when 0).
    pub report: &'a Report,
    /// The snapshot of this interval.
    pub snapshot: &'a Snapshot,
    /// Each `--alert` rule and whether it is firing.
    pub alerts: &'a [(&'a str, bool)],
    /// Each window (`1m`) and its error bodies per request, if it had
    /// requests.
    pub window_rates: &'a [(String, Option<f64>)],
}

/// The exposition of `figures`, in OpenMetrics when `open_metrics`.
pub fn render(figures: &LiveFigures<'_>, open_metrics: bool) -> String {
    let mut text = Vec::new();
    let mut out = Exposition::new(&mut text, open_metrics);
    // Writing to a Vec cannot fail.
    let _ = write_live(&mut out, figures).and_then(|()| out.finish());
    String::from_utf8(text).unwrap_or_default()
}

fn write_live(out: &mut Exposition<'_>, figures: &LiveFigures<'_>) -> io::Result<()> {
    write_report(out, figures.report)?;
    let snapshot = figures.snapshot;
    out.family("cts_logscan_error_rate", Kind::Gauge, "Error bodies per request in each live window.")?;
    for (window, rate) in figures.window_rates {
        if let Some(rate) = rate {
            out.sample("cts_logscan_error_rate", &[("window", window)], rate)?;
        }
    }
    let help =
        "Error bodies per request over the longest window without the shortest: what the shortest is held against.";
    out.family("cts_logscan_error_rate_baseline", Kind::Gauge, help)?;
    if let Some(baseline) = snapshot.error_rate.baseline {
        out.sample("cts_logscan_error_rate_baseline", &[], baseline)?;
    }
    out.family("cts_logscan_window_error_bodies", Kind::Gauge, "Error bodies per code in each live window.")?;
    for code in &snapshot.codes {
        for window in &code.windows {
            let labels = [("code", code.code.as_str()), ("window", window.window.as_str())];
            out.sample("cts_logscan_window_error_bodies", &labels, window.count)?;
        }
    }
    out.family("cts_logscan_alert_firing", Kind::Gauge, "Whether each --alert rule is firing (1) or not (0).")?;
    for (rule, firing) in figures.alerts {
        out.sample("cts_logscan_alert_firing", &[("rule", rule)], u8::from(*firing))?;
    }
    out.family("cts_logscan_input_state", Kind::Gauge, "The state of each input followed (1 for its state).")?;
    // One series per path, its newest input's (a name followed through
    // rotations was several files), the newest paths first.
    let mut paths = HashSet::new();
    let newest = snapshot.inputs.iter().rev().filter(|input| paths.insert(input.path.as_str()));
    for input in newest.take(MAX_INPUT_SERIES) {
        // The kind of state only (`renamed`, not `renamed to PATH`): a
        // bounded set of label values.
        let state = input.state.split([' ', ',', ':']).next().unwrap_or_default();
        out.sample("cts_logscan_input_state", &[("input", &input.path), ("state", state)], 1)?;
    }
    // Gauges, not counters: a value's count is the `--top` summary's
    // estimate, which may go down as the summary makes room for others.
    for (kind, label) in [("endpoint", "endpoint"), ("project", "project"), ("client", "client")] {
        let name = format!("cts_logscan_error_bodies_by_{kind}");
        let help =
            format!("Error bodies per code from its top {kind}s (--metrics-top; estimated), the rest as {OTHER}.");
        out.family(&name, Kind::Gauge, &help)?;
        for code in &figures.report.codes {
            let Some(top) = &code.top else { continue };
            let values: &[NameCount] = match kind {
                "endpoint" => &top.endpoints,
                "project" => &top.projects,
                _ => &top.clients,
            };
            for value in values {
                out.sample(&name, &[("code", &code.code), (label, &value.name)], value.count)?;
            }
            let named: u64 = values.iter().map(|v| v.count).sum();
            out.sample(&name, &[("code", &code.code), (label, OTHER)], code.count.saturating_sub(named))?;
        }
    }
    let name = "cts_logscan_error_bodies_by_field";
    let help = format!(
        "Error bodies per code from the top values of each --by field and CTS trace field (--metrics-top; estimated), the rest as {OTHER}."
    );
    out.family(name, Kind::Gauge, &help)?;
    for code in &figures.report.codes {
        let Some(top) = &code.top else { continue };
        for (field, values) in &top.by {
            for value in values {
                out.sample(name, &[("code", &code.code), ("field", field), ("value", &value.name)], value.count)?;
            }
            let named: u64 = values.iter().map(|v| v.count).sum();
            let labels = [("code", code.code.as_str()), ("field", field.as_str()), ("value", OTHER)];
            out.sample(name, &labels, code.count.saturating_sub(named))?;
        }
    }
    Ok(())
}
