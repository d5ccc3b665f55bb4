//! `cts-logscan diff BASE.json NEW.json`: what changed per code between two
//! JSON reports (say, last night's and tonight's).
//!
//! Codes that appeared or vanished come first (by count), then the others
//! by how much their rate per 1,000 requests moved, then by p99 change.

use std::collections::BTreeSet;
use std::io::{self, Write};

use serde::Serialize;

use crate::report::{CodeReport, Report, SCHEMA_VERSION};

/// How a code changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Only in the new report.
    Appeared,
    /// Only in the base report.
    Vanished,
    /// In both.
    Changed,
}

/// One code in both reports.
#[derive(Clone, Debug, Serialize)]
pub struct CodeDiff {
    /// The code.
    pub code: String,
    /// Appeared, vanished or changed.
    pub change: Change,
    /// Lines in the base report.
    pub base_count: u64,
    /// Lines in the new report.
    pub new_count: u64,
    /// Per 1,000 requests in the base report.
    pub base_per_1k: Option<f64>,
    /// Per 1,000 requests in the new report.
    pub new_per_1k: Option<f64>,
    /// p99 latency in the base report, ms.
    pub base_p99_ms: Option<f64>,
    /// p99 latency in the new report, ms.
    pub new_p99_ms: Option<f64>,
}

/// The comparison of two reports.
#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    /// Same as the reports'.
    pub schema_version: u32,
    /// Requests in the base report.
    pub base_requests: u64,
    /// Requests in the new report.
    pub new_requests: u64,
    /// Codes, most significant change first.
    pub codes: Vec<CodeDiff>,
}

impl Diff {
    /// Compares `base` with `new`.
    pub fn new(base: &Report, new: &Report) -> Diff {
        let find = |report: &'_ Report, code: &str| report.codes.iter().find(|c| c.code == code).cloned();
        let names: BTreeSet<&str> = base.codes.iter().chain(&new.codes).map(|c| c.code.as_str()).collect();
        let mut codes: Vec<CodeDiff> = names
            .into_iter()
            .map(|name| {
                let (b, n) = (find(base, name), find(new, name));
                let p99 = |c: &Option<CodeReport>| c.as_ref().and_then(|c| c.latency_ms.as_ref().map(|l| l.p99));
                CodeDiff {
                    code: name.to_owned(),
                    change: match (&b, &n) {
                        (None, _) => Change::Appeared,
                        (_, None) => Change::Vanished,
                        _ => Change::Changed,
                    },
                    base_count: b.as_ref().map_or(0, |c| c.count),
                    new_count: n.as_ref().map_or(0, |c| c.count),
                    base_per_1k: b.as_ref().and_then(|c| c.per_1k_requests),
                    new_per_1k: n.as_ref().and_then(|c| c.per_1k_requests),
                    base_p99_ms: p99(&b),
                    new_p99_ms: p99(&n),
                }
            })
            .collect();
        codes.sort_by(|a, b| {
            a.change
                .cmp(&b.change)
                .then_with(|| significance(b).total_cmp(&significance(a)))
                .then_with(|| a.code.cmp(&b.code))
        });
        Diff {
            schema_version: SCHEMA_VERSION,
            base_requests: base.summary.requests,
            new_requests: new.summary.requests,
            codes,
        }
    }

    /// Writes the comparison as aligned text.
    ///
    /// # Errors
    ///
    /// Whatever writing to `wtr` returns.
    pub fn render_table(&self, wtr: &mut dyn Write) -> io::Result<()> {
        writeln!(wtr, "requests: {} → {}", self.base_requests, self.new_requests)?;
        writeln!(
            wtr,
            "{:<12} {:<9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10}",
            "CODE", "CHANGE", "BASE", "NEW", "BASE /1K", "NEW /1K", "BASE P99", "NEW P99"
        )?;
        for c in &self.codes {
            let [code, change, base, new, base_rate, new_rate, base_p99, new_p99] = cells(c, two_decimals);
            writeln!(
                wtr,
                "{code:<12} {change:<9} {base:>9} {new:>9} {base_rate:>10} {new_rate:>10} {base_p99:>10} {new_p99:>10}"
            )?;
        }
        Ok(())
    }

    /// Writes the comparison as CSV, one row per code.
    ///
    /// # Errors
    ///
    /// Whatever writing to `wtr` returns.
    pub fn render_csv(&self, wtr: &mut dyn Write) -> io::Result<()> {
        let mut csv = csv::Writer::from_writer(wtr);
        csv.write_record([
            "code",
            "change",
            "base_count",
            "new_count",
            "base_per_1k",
            "new_per_1k",
            "base_p99_ms",
            "new_p99_ms",
        ])?;
        for c in &self.codes {
            csv.write_record(cells(c, |v| v.map_or(String::new(), |v| v.to_string())))?;
        }
        csv.flush()
    }

    /// Writes the comparison as a Markdown table.
    ///
    /// # Errors
    ///
    /// Whatever writing to `wtr` returns.
    pub fn render_markdown(&self, wtr: &mut dyn Write) -> io::Result<()> {
        writeln!(wtr, "## CTS error codes: what changed")?;
        writeln!(wtr)?;
        writeln!(wtr, "Requests: {} → {}", self.base_requests, self.new_requests)?;
        writeln!(wtr)?;
        writeln!(wtr, "| code | change | count | per 1k requests | p99 ms |")?;
        writeln!(wtr, "| --- | --- | ---: | ---: | ---: |")?;
        for c in &self.codes {
            let [code, change, base, new, base_rate, new_rate, base_p99, new_p99] = cells(c, two_decimals);
            let code = code.replace('|', "\\|");
            writeln!(
                wtr,
                "| {code} | {change} | {base} → {new} | {base_rate} → {new_rate} | {base_p99} → {new_p99} |"
            )?;
        }
        Ok(())
    }
}

/// A row: code, change, counts, rates and p99s, numbers written by `num`.
fn cells(c: &CodeDiff, num: fn(Option<f64>) -> String) -> [String; 8] {
    [
        c.code.clone(),
        change_name(c.change).to_owned(),
        c.base_count.to_string(),
        c.new_count.to_string(),
        num(c.base_per_1k),
        num(c.new_per_1k),
        num(c.base_p99_ms),
        num(c.new_p99_ms),
    ]
}

/// Two decimals for people, `-` for none.
fn two_decimals(value: Option<f64>) -> String {
    value.map_or("-".to_owned(), |v| format!("{v:.2}"))
}

fn change_name(change: Change) -> &'static str {
    match change {
        Change::Appeared => "appeared",
        Change::Vanished => "vanished",
        Change::Changed => "changed",
    }
}

/// How far a code moved: its rate change per 1,000 requests, then a
/// thousandth of its p99 change so that latency breaks ties.
fn significance(c: &CodeDiff) -> f64 {
    let rate = (c.new_per_1k.unwrap_or(0.0) - c.base_per_1k.unwrap_or(0.0)).abs();
    let p99 = match (c.base_p99_ms, c.new_p99_ms) {
        (Some(b), Some(n)) => (n - b).abs(),
        _ => 0.0,
    };
    rate + p99 / 1000.0
}
