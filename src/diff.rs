//! `cts-logscan diff BASE.json NEW.json`: what changed per code between two
//! JSON reports (say, last night's and tonight's).
//!
//! Each code is `appeared`, `vanished`, `changed` or `unchanged` (same
//! count, rate per 1,000 requests and p99), with the change of its count,
//! rate and p99, absolute and relative. [`ORDER`] says how rows are sorted.
//! For a code whose rate moved, [`Drivers`] say what changed: the values of
//! its `--top` lists, fields and message variants whose share rose most,
//! and those the base report did not have.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use crate::aggregate::accounting::{Broken, at_most, equal, sum};
use crate::error::{Comparison, Error};
use crate::escape::escape;
use crate::filter;
use crate::report::text::{fixed, ms_percentile_plain, shift_text};
use crate::report::{CodeReport, NameCount, Report, SCHEMA_VERSION, Shift, markdown_cell, read_report, rising};

/// How rows are ordered, as the renderers say it.
pub const ORDER: &str = "Rows: codes that appeared or vanished first, then the others by how far their rate per 1,000 requests moved (p99 change breaks ties), unchanged codes last.";

/// How a code changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Only in the new report.
    Appeared,
    /// Only in the base report.
    Vanished,
    /// In both, with a different count, rate or p99.
    Changed,
    /// In both, with the same count, rate and p99.
    Unchanged,
}

/// A figure in both reports and how it moved.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Delta {
    /// In the base report.
    pub base: Option<f64>,
    /// In the new report.
    pub new: Option<f64>,
    /// `new - base`, when both are known.
    pub change: Option<f64>,
    /// `(new - base) / base`, when both are known and `base` is not 0.
    pub relative: Option<f64>,
}

impl Delta {
    fn of(base: Option<f64>, new: Option<f64>) -> Delta {
        let change = base.zip(new).map(|(b, n)| n - b);
        let relative = base.zip(change).filter(|(b, _)| *b != 0.0).map(|(b, c)| c / b);
        Delta { base, new, change, relative }
    }
}

/// One code in either report.
#[derive(Clone, Debug, Serialize)]
pub struct CodeDiff {
    /// The code.
    pub code: String,
    /// Appeared, vanished, changed or unchanged.
    pub change: Change,
    /// Requests with this code (0 where the code is absent).
    pub count: Delta,
    /// Per 1,000 requests.
    pub per_1k: Delta,
    /// p99 latency, ms.
    pub p99_ms: Delta,
    /// For a code whose rate moved: per list (`endpoints`, `projects`,
    /// `clients`, `sources`, each `--by` and CTS trace field, `messages`),
    /// the values whose share of the code rose most and the values the
    /// base report did not have. From the reports' `--top` lists and
    /// message variants; empty lists are left out.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub drivers: BTreeMap<String, Drivers>,
}

/// What drives a code's change in one list.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Drivers {
    /// The values whose share of the code rose most, the largest rise
    /// first (the live attribution's ranking).
    pub rising: Vec<Shift>,
    /// Values in the new report's list that the base report's list does
    /// not have (a new message variant, a new client).
    pub new_values: Vec<String>,
}

/// Values each driver list names at most.
const DRIVERS: usize = 3;

/// The drivers of `new`'s change from `base` (absent: an appeared code).
/// A list the base report lacks is left out; so are values the base's
/// list may have cut off (its top N do not hold every line), whose share
/// before is not known.
fn drivers(base: Option<&CodeReport>, new: &CodeReport) -> BTreeMap<String, Drivers> {
    let base_count = base.map_or(0, |b| b.count);
    let base_lists = base.map(lists);
    let mut drivers = BTreeMap::new();
    for (name, new_list, _) in lists(new) {
        let (base_list, complete) = match &base_lists {
            None => (Vec::new(), true),
            Some(lists) => match lists.iter().find(|(n, _, _)| *n == name) {
                Some((_, list, complete)) => (list.clone(), *complete),
                None => continue,
            },
        };
        let in_base = |value: &str| base_list.iter().any(|(b, _)| b == value);
        let known = new_list.iter().filter(|(value, _)| complete || in_base(value)).cloned();
        let rising = rising(known, new.count, &base_list, base_count, DRIVERS);
        let new_values: Vec<String> = match base {
            Some(_) if complete => new_list
                .iter()
                .filter(|(value, _)| !in_base(value))
                .map(|(value, _)| value.clone())
                .take(DRIVERS)
                .collect(),
            _ => Vec::new(),
        };
        if !rising.is_empty() || !new_values.is_empty() {
            drivers.insert(name, Drivers { rising, new_values });
        }
    }
    drivers
}

/// A list of a code: its name, `(value, count)` pairs, and whether it holds
/// every value the code had.
type CodeList = (String, Vec<(String, u64)>, bool);

/// A code's lists with counts, by name, and whether each holds every
/// value the code had: the `--top` lists and fields (when their counts
/// add up to the code's), and the message variants (when none was left
/// out).
fn lists(code: &CodeReport) -> Vec<CodeList> {
    let pairs = |items: &[NameCount]| items.iter().map(|i| (i.name.clone(), i.count)).collect::<Vec<_>>();
    let whole = |items: &[NameCount]| items.iter().map(|i| i.count).sum::<u64>() == code.count;
    let mut lists = Vec::new();
    if let Some(top) = &code.top {
        let fixed = [
            ("endpoints", &top.endpoints),
            ("projects", &top.projects),
            ("clients", &top.clients),
            ("sources", &top.sources),
        ];
        lists.extend(fixed.into_iter().map(|(name, items)| (name.to_owned(), pairs(items), whole(items))));
        lists.extend(top.by.iter().map(|(name, items)| (name.clone(), pairs(items), whole(items))));
    }
    let messages = code.message_variants.iter().map(|m| (m.message.clone(), m.count)).collect();
    lists.push(("messages".to_owned(), messages, code.other_message_variants == 0));
    lists
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
    /// Codes, in [`ORDER`].
    pub codes: Vec<CodeDiff>,
}

/// Reads the JSON reports at `base` and `new`, refusing a pair that
/// answers different questions: written with different `--since`,
/// `--until`, `--status` or `--code` (a code hidden from one report would
/// look vanished). Other schema versions are refused as they are read.
///
/// # Errors
///
/// When a report cannot be read ([`read_report`]), or
/// [`Error::Incompatible`] naming the setting, both files and both values.
pub fn read_comparable(base: &Path, new: &Path) -> Result<(Report, Report), Error> {
    let (base_report, new_report) = (read_checked(base)?, read_checked(new)?);
    let settings = |report: &Report| match &report.summary.filter {
        Some(f) => filter::settings(f.since.clone(), f.until.clone(), &f.statuses, &f.codes),
        None => filter::settings(None, None, &[], &[]),
    };
    match filter::first_difference(settings(&base_report), settings(&new_report)) {
        Some((setting, theirs, ours)) => Err(Error::Incompatible {
            what: Comparison::Diff,
            setting,
            first: base.to_owned(),
            theirs,
            second: new.to_owned(),
            ours,
        }),
        None => Ok((base_report, new_report)),
    }
}

/// Reads the JSON report at `path` and checks its accounting rule.
fn read_checked(path: &Path) -> Result<Report, Error> {
    let report = read_report(path)?;
    check_accounting(&report).map_err(|rule| Error::Accounting { path: path.to_owned(), what: "JSON report", rule })?;
    Ok(report)
}

/// The accounting rule of a report: every line has one outcome, error
/// bodies are requests, and the codes and statuses shown fit in them.
fn check_accounting(report: &Report) -> Result<(), Broken> {
    let s = &report.summary;
    let outcomes = sum("requests + blank + malformed + filtered", [s.requests, s.blank, s.malformed, s.filtered])?;
    equal("requests + blank + malformed + filtered", outcomes, "lines", s.lines)?;
    at_most("error_bodies", s.error_bodies, "requests", s.requests)?;
    let codes = sum("the per-code counts", report.codes.iter().map(|c| c.count))?;
    at_most("the per-code counts", codes, "error_bodies", s.error_bodies)?;
    at_most("the status counts", sum("the status counts", s.statuses.values().copied())?, "requests", s.requests)
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
                let count = |c: &Option<CodeReport>| Some(c.as_ref().map_or(0.0, |c| c.count as f64));
                let per_1k = |c: &Option<CodeReport>| match c {
                    Some(c) => c.per_1k_requests,
                    None => Some(0.0),
                };
                let diff = CodeDiff {
                    code: name.to_owned(),
                    change: Change::Changed,
                    count: Delta::of(count(&b), count(&n)),
                    per_1k: Delta::of(per_1k(&b), per_1k(&n)),
                    p99_ms: Delta::of(p99(&b), p99(&n)),
                    drivers: BTreeMap::new(),
                };
                let unchanged = [diff.count, diff.per_1k, diff.p99_ms].iter().all(|d| d.base == d.new);
                let change = match (&b, &n) {
                    (None, _) => Change::Appeared,
                    (_, None) => Change::Vanished,
                    _ if unchanged => Change::Unchanged,
                    _ => Change::Changed,
                };
                let moved = diff.per_1k.change.is_some_and(|c| c != 0.0) || change == Change::Appeared;
                let drivers = match &n {
                    Some(n) if moved => drivers(b.as_ref(), n),
                    _ => BTreeMap::new(),
                };
                CodeDiff { change, drivers, ..diff }
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
        let header = TABLE_HEADER.map(str::to_owned);
        let rows: Vec<[String; COLUMNS]> = self.codes.iter().map(|c| cells(c, two_decimals, two_decimals)).collect();
        let mut widths = header.clone().map(|h| h.len());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String; COLUMNS]| {
            let mut out = String::new();
            for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
                let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
                if i < 2 { out.push_str(&format!("{cell}{pad} ")) } else { out.push_str(&format!("{pad}{cell} ")) }
            }
            out.trim_end().to_owned()
        };
        writeln!(wtr, "{}", line(&header))?;
        for row in &rows {
            writeln!(wtr, "{}", line(row))?;
        }
        writeln!(wtr)?;
        writeln!(wtr, "{ORDER}")?;
        for (code, lines) in self.driver_lines() {
            writeln!(wtr)?;
            writeln!(wtr, "{} — what changed:", escape(code))?;
            for line in lines {
                writeln!(wtr, "  {}", escape(&line))?;
            }
        }
        Ok(())
    }

    /// Per code with drivers, one line per list: `clients: 10.0.0.9 40 %
    /// (was 5 %) · new: 10.0.0.9`.
    fn driver_lines(&self) -> Vec<(&str, Vec<String>)> {
        self.codes
            .iter()
            .filter(|c| !c.drivers.is_empty())
            .map(|c| {
                let lines = c
                    .drivers
                    .iter()
                    .map(|(name, d)| {
                        let mut parts: Vec<String> = Vec::new();
                        if !d.rising.is_empty() {
                            parts.push(d.rising.iter().map(shift_text).collect::<Vec<_>>().join(", "));
                        }
                        if !d.new_values.is_empty() {
                            parts.push(format!("new: {}", d.new_values.join(", ")));
                        }
                        format!("{name}: {}", parts.join(" · "))
                    })
                    .collect();
                (c.code.as_str(), lines)
            })
            .collect()
    }

    /// Writes the comparison as CSV, one row per code; the last column,
    /// `drivers`, holds what changed (`clients: 10.0.0.9 40 % (was 5 %) ·
    /// new: 10.0.0.9; messages: …`).
    ///
    /// # Errors
    ///
    /// Whatever writing to `wtr` returns.
    pub fn render_csv(&self, wtr: &mut dyn Write) -> io::Result<()> {
        let mut csv = csv::Writer::from_writer(wtr);
        csv.write_record(HEADER.iter().chain(&["drivers"]))?;
        let mut drivers: BTreeMap<&str, Vec<String>> = self.driver_lines().into_iter().collect();
        for c in &self.codes {
            let row = cells(
                c,
                |v| v.map_or(String::new(), |v| fixed(v, 2)),
                |v| v.map_or(String::new(), ms_percentile_plain),
            );
            let what = drivers.remove(c.code.as_str()).unwrap_or_default().join("; ");
            csv.write_record(row.iter().chain([&escape(&what).into_owned()]))?;
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
        writeln!(wtr, "Requests: {} → {}. {ORDER}", self.base_requests, self.new_requests)?;
        writeln!(wtr)?;
        writeln!(wtr, "| code | change | count | Δ count | per 1k requests | Δ per 1k | p99 ms | Δ p99 |")?;
        writeln!(wtr, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")?;
        for c in &self.codes {
            let arrow = |d: &Delta| format!("{} → {}", two_decimals(d.base), two_decimals(d.new));
            let count = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
            writeln!(
                wtr,
                "| {} | {} | {} → {} | {} | {} | {} | {} | {} |",
                markdown_cell(&c.code),
                change_name(c.change),
                count(c.count.base),
                count(c.count.new),
                delta_text(&c.count, count),
                arrow(&c.per_1k),
                delta_text(&c.per_1k, two_decimals),
                arrow(&c.p99_ms),
                delta_text(&c.p99_ms, two_decimals),
            )?;
        }
        for (code, lines) in self.driver_lines() {
            writeln!(wtr)?;
            writeln!(wtr, "### {} — what changed", markdown_cell(code))?;
            writeln!(wtr)?;
            for line in lines {
                writeln!(wtr, "- {}", markdown_cell(&line))?;
            }
        }
        Ok(())
    }
}

/// Columns of the table and CSV.
const COLUMNS: usize = 14;

const HEADER: [&str; COLUMNS] = [
    "code",
    "change",
    "base_count",
    "new_count",
    "count_change",
    "count_change_pct",
    "base_per_1k",
    "new_per_1k",
    "per_1k_change",
    "per_1k_change_pct",
    "base_p99_ms",
    "new_p99_ms",
    "p99_change_ms",
    "p99_change_pct",
];

/// The table's shorter names for the same columns.
const TABLE_HEADER: [&str; COLUMNS] = [
    "CODE", "CHANGE", "BASE", "NEW", "Δ", "Δ %", "/1K BASE", "/1K NEW", "Δ /1K", "Δ %", "P99 BASE", "P99 NEW", "Δ P99",
    "Δ %",
];

/// A row: code, change, then base, new, change and relative change (in %)
/// of count, rate and p99; rates and percentages written by `num`,
/// milliseconds by `ms`.
fn cells(c: &CodeDiff, num: fn(Option<f64>) -> String, ms: fn(Option<f64>) -> String) -> [String; COLUMNS] {
    let count = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.0}"));
    let pct = |d: &Delta| num(d.relative.map(|r| r * 100.0));
    [
        escape(&c.code).into_owned(),
        change_name(c.change).to_owned(),
        count(c.count.base),
        count(c.count.new),
        c.count.change.map_or(String::new(), |v| if v == 0.0 { "0".to_owned() } else { format!("{v:+.0}") }),
        pct(&c.count),
        num(c.per_1k.base),
        num(c.per_1k.new),
        num(c.per_1k.change),
        pct(&c.per_1k),
        ms(c.p99_ms.base),
        ms(c.p99_ms.new),
        ms(c.p99_ms.change),
        pct(&c.p99_ms),
    ]
}

/// `+3 (+25.0 %)`, `-` when not known.
fn delta_text(d: &Delta, num: impl Fn(Option<f64>) -> String) -> String {
    match (d.change, d.relative) {
        (Some(change), Some(relative)) => {
            let sign = if change > 0.0 { "+" } else { "" };
            format!("{sign}{} ({:+.1} %)", num(Some(change)), relative * 100.0)
        }
        (Some(change), None) => format!("{}{}", if change > 0.0 { "+" } else { "" }, num(Some(change))),
        _ => "-".to_owned(),
    }
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
        Change::Unchanged => "unchanged",
    }
}

/// How far a code moved: its rate change per 1,000 requests, then a
/// thousandth of its p99 change so that latency breaks ties.
fn significance(c: &CodeDiff) -> f64 {
    let rate = c.per_1k.change.unwrap_or(0.0).abs();
    let p99 = c.p99_ms.change.unwrap_or(0.0).abs();
    rate + p99 / 1000.0
}
