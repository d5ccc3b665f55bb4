//! The report model and its renderers.
//!
//! [`Report::build`] views a [`State`] (one scan's, or a merge of many)
//! through [`ReportOptions`]: it joins the counts with the catalogue and
//! derives shares, rates and percentiles. Renderers (one file per output
//! format) only format a `Report`; they compute nothing.
//!
//! The accounting holds in every report: `lines = requests + blank +
//! malformed + filtered` and `error_bodies <= requests`, so no share or
//! rate exceeds 100 %. An error body in a line that does not parse is not
//! a request: it is counted for its code in `in_malformed_lines` only.

mod catalog;
mod code_table;
mod csv;
mod html;
mod json;
mod markdown;
mod onset;
pub mod prometheus;
mod series;
mod shift;
mod table;
#[cfg(test)]
mod tests;
pub(crate) mod text;

use std::collections::BTreeMap;
use std::io;

use serde::{Deserialize, Serialize};

pub use catalog::{render_codes, render_explain};
pub use csv::CsvRenderer;
pub use html::HtmlRenderer;
pub use json::{JsonRenderer, SCHEMA_VERSION, read_report};
pub use markdown::{MarkdownRenderer, markdown_cell};
pub use onset::spike_onset;
pub use prometheus::PrometheusRenderer;
pub use series::{Folding, Series};
pub use shift::{Shift, rising};
pub use table::TableRenderer;
pub use text::sparkline;

use crate::aggregate::{
    Aggregate, CodeStats, HeavyHitters, InvalidCounts, Latency, LatencyHistogram, MAX_BUCKETS, RatingCounts, TopStrings,
};
use crate::catalog::{self as codes, Edition};
use crate::filter::{CodePattern, StatusPattern};
use crate::lex::time::{EpochMillis, format_rfc3339};
use crate::record::Malformed;
use crate::state::{InputSummary, State, Tool};

/// How a report views a state: settings that are not data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportOptions {
    /// With breakdowns kept: show the top this many per code and kind.
    pub top: Option<usize>,
    /// Show only codes matching one of these; empty shows all. Totals
    /// still cover every code.
    pub codes: Vec<CodePattern>,
    /// Give each latency its histogram over the fixed bounds (for
    /// Prometheus; a pass over each histogram, so only when asked).
    pub histograms: bool,
}

impl ReportOptions {
    /// The view a state was written for: its `--top` and `--code`.
    pub fn of(state: &State) -> ReportOptions {
        ReportOptions { top: state.top, codes: state.filter.codes.clone(), histograms: false }
    }

    fn shows_code(&self, code: &str) -> bool {
        self.codes.is_empty() || self.codes.iter().any(|p| p.matches(code))
    }
}

/// Formats a report for one output format.
pub trait Render {
    /// Writes `report` to `wtr`.
    ///
    /// # Errors
    ///
    /// Whatever writing to `wtr` returns.
    fn render(&self, report: &Report, wtr: &mut dyn io::Write) -> io::Result<()>;
}

/// A view of a [`State`], ready to render: the figures derived, the
/// catalogue joined. This is the JSON schema; see [`JsonRenderer`] for an
/// example.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// Bumped on any incompatible change of this structure.
    pub schema_version: u32,
    /// Which program wrote the report.
    pub tool: Tool,
    /// One entry per input, in the order given.
    pub inputs: Vec<InputSummary>,
    /// Totals over all inputs.
    pub summary: Summary,
    /// One entry per error code, by count (descending), then code.
    pub codes: Vec<CodeReport>,
}

/// Totals over all inputs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    /// Inputs read (directories expanded).
    pub files: usize,
    /// Directories that could not be listed (fully).
    pub directory_errors: Vec<String>,
    /// Bytes read, after decompression.
    pub bytes: u64,
    /// Lines read: `requests + blank + malformed + filtered`.
    pub lines: u64,
    /// Lines that parsed as requests.
    pub requests: u64,
    /// Empty or whitespace-only lines.
    pub blank: u64,
    /// Lines that could not be parsed.
    pub malformed: u64,
    /// Requests outside `--since`/`--until` or `--status`; left out of
    /// every other figure.
    pub filtered: u64,
    /// Malformed lines by kind (`not-json-object`, `invalid-json`,
    /// `truncated`, `not-access-log`, `not-request`, `line-too-long`);
    /// kinds with no line are left out.
    pub malformed_by_kind: BTreeMap<Malformed, u64>,
    /// The first malformed lines, in input order (at most 5).
    pub malformed_samples: Vec<MalformedSample>,
    /// Requests with an error body; never more than `requests`.
    pub error_bodies: u64,
    /// `error_bodies / requests`, 0 to 1, or `null` without requests.
    pub error_rate: Option<f64>,
    /// Of `error_bodies`, those whose code is not in the CTS catalogue.
    pub unknown_code_bodies: u64,
    /// Malformed lines that hold an error body. They are not requests:
    /// counted per code in `codes[].in_malformed_lines` and nowhere else.
    pub error_bodies_in_malformed_lines: u64,
    /// Earliest request time (RFC 3339, UTC).
    pub first_time: Option<String>,
    /// Latest request time (RFC 3339, UTC).
    pub last_time: Option<String>,
    /// Seconds from `first_time` to `last_time`.
    pub span_seconds: Option<f64>,
    /// Requests by HTTP status (`"200"` → count).
    pub statuses: BTreeMap<u16, u64>,
    /// Latency over all requests and over requests without an error body.
    pub latency_ms: SummaryLatency,
    /// Requests with a field that was logged but unusable (unparsable,
    /// negative, out of range, a latency over an hour, a time outside
    /// 2000–2100); those fields are left out of every figure.
    pub invalid_fields: InvalidCounts,
    /// The filter the requests passed, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FilterReport>,
    /// With `--bucket`: requests per time bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Series>,
    /// CTS traces: requests per `trace_rating` (`normal`, `warning`,
    /// `incident`); absent when no line was rated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_ratings: Option<RatingCounts>,
    /// CTS traces: the first `incident` traces in input order (at most
    /// 20), the CTS guide's first place to look.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<IncidentReport>,
    /// How long the scan took; `null` for a merge.
    pub timing: Option<Timing>,
}

/// The filter a report's requests passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterReport {
    /// `--since`, resolved (RFC 3339, UTC).
    pub since: Option<String>,
    /// `--until`, resolved (RFC 3339, UTC).
    pub until: Option<String>,
    /// `--status` patterns.
    pub statuses: Vec<StatusPattern>,
    /// `--code` patterns: which codes the report shows.
    pub codes: Vec<CodePattern>,
}

/// A malformed line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MalformedSample {
    /// The input.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// What is wrong with it.
    pub kind: Malformed,
}

/// Latency percentiles of request groups.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SummaryLatency {
    /// All requests with a latency.
    pub all: Option<LatencyReport>,
    /// Requests with a latency and without an error body.
    pub without_error_body: Option<LatencyReport>,
}

/// Latency percentiles in milliseconds (nearest rank; within 0.1 %).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyReport {
    /// Requests with a latency.
    pub count: u64,
    /// Exact minimum.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Exact maximum.
    pub max: f64,
    /// The distribution over the fixed bounds of the exported histograms,
    /// when [`ReportOptions::histograms`] asked for it (for Prometheus;
    /// not in the JSON report).
    #[serde(skip)]
    pub histogram: Option<LatencyHistogram>,
}

/// Wall time and throughput; the only figures that vary between runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Timing {
    /// Seconds the scan took.
    pub wall_seconds: f64,
    /// Input bytes per second, in MiB.
    pub mib_per_second: f64,
}

/// One error code.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeReport {
    /// The code as logged; `*other*` gathers codes beyond the distinct-code
    /// limit.
    pub code: String,
    /// Requests with this code.
    pub count: u64,
    /// Malformed lines with this code (not requests; in no other figure).
    pub in_malformed_lines: u64,
    /// Share of all error bodies, 0 to 1.
    pub share: f64,
    /// Lines with this code per 1,000 requests.
    pub per_1k_requests: Option<f64>,
    /// Lines per minute over the observed time span of all requests, taken
    /// as at least one minute (a burst within a second is not a rate).
    pub per_minute: Option<f64>,
    /// Whether the code is in the built-in CTS catalogue.
    pub in_catalog: bool,
    /// `documented` or `newer` (edition of the documentation), if known.
    pub edition: Option<Edition>,
    /// The HTTP status the documentation gives for this code.
    pub documented_status: Option<u16>,
    /// The documented message.
    pub documented_message: Option<String>,
    /// What the error means, per the documentation.
    pub description: Option<String>,
    /// What to do about it, per the documentation.
    pub solution: Option<String>,
    /// HTTP statuses logged with this code (`"400"` → count).
    pub statuses: BTreeMap<u16, u64>,
    /// Lines whose logged status differs from the documented one.
    pub status_mismatches: u64,
    /// Latency of the requests that returned this code.
    pub latency_ms: Option<LatencyReport>,
    /// First time seen (RFC 3339, UTC).
    pub first_seen: Option<String>,
    /// Last time seen (RFC 3339, UTC).
    pub last_seen: Option<String>,
    /// `error_msg` values seen, with counts (the first 8 in byte order).
    pub messages: Vec<MessageCount>,
    /// Lines whose message is not in `messages`.
    pub other_messages: u64,
    /// The variants of the message: each `error_msg` with its ids, numbers
    /// and quoted names masked as `<*>` (`Tracker <*> does not exist.`),
    /// with counts (the first 8 in byte order).
    #[serde(default)]
    pub message_variants: Vec<MessageCount>,
    /// Lines whose variant is not in `message_variants`.
    #[serde(default)]
    pub other_message_variants: u64,
    /// Whether the most common variant says something else than the
    /// catalogue's message (neither is the start of the other); false when
    /// the variants left out could be more common than the kept ones.
    #[serde(default)]
    pub message_differs: bool,
    /// CTS traces only: `service_type` values with counts (the first 8 in
    /// byte order); empty for other inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_types: Vec<NameCount>,
    /// CTS traces only: `trace_name` values with counts (the first 8).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace_names: Vec<NameCount>,
    /// CTS traces with this code per `trace_rating`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_ratings: Option<RatingCounts>,
    /// With `--top N`: where this code's errors come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<TopReport>,
    /// With `--bucket`: lines per bucket, aligned with `summary.series`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<u64>>,
    /// With `--bucket`: start of the bucket where a spike of this code
    /// began (see [`spike_onset`]), if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// For a code that `started`, with `--top`, in a scan of inputs that
    /// can be read again: per list (`endpoints`, …, each field, `messages`)
    /// the values whose share of the code rose most from the buckets before
    /// the spike to the spike's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub spike_drivers: BTreeMap<String, Vec<Shift>>,
}

/// Where a code's errors come from, the N most frequent of each.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TopReport {
    /// Endpoints: the path, ids replaced by `{id}`, without the method or
    /// query string.
    pub endpoints: Vec<NameCount>,
    /// Project ids from `/v1.0|v3/{project_id}/…` paths.
    pub projects: Vec<NameCount>,
    /// Client addresses.
    pub clients: Vec<NameCount>,
    /// Where the lines came from (syslog hosts, LTS hosts or paths), when
    /// their wrapper says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<NameCount>,
    /// The `--by` fields and, for CTS traces, `user`, `operation`
    /// (`trace_name (service_type)`), `resource` (`type/name`),
    /// `source_ip` (`system` for system actions) and `trace_type`: field
    /// name → its top values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by: BTreeMap<String, Vec<NameCount>>,
    /// Request ids of the earliest lines with this code, to grep for.
    pub request_ids: Vec<RequestIdSample>,
    /// How far each list's counts may be below the true ones: 0 while a
    /// code has at most 1,024 distinct values of a kind (exact), else at
    /// most 1/1,025 of its requests (see the README).
    pub max_undercount: TopUndercount,
}

/// The error bound of each `--top` list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUndercount {
    /// Of `endpoints`.
    pub endpoints: u64,
    /// Of `projects`.
    pub projects: u64,
    /// Of `clients`.
    pub clients: u64,
    /// Of `sources`.
    #[serde(default)]
    pub sources: u64,
    /// Of each list of `by`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by: BTreeMap<String, u64>,
}

impl TopUndercount {
    /// The largest bound of any list.
    pub fn worst(&self) -> u64 {
        let fixed = [self.endpoints, self.projects, self.clients, self.sources];
        fixed.into_iter().chain(self.by.values().copied()).max().unwrap_or(0)
    }
}

impl IncidentReport {
    /// The columns of an incident table.
    pub const COLUMNS: [&'static str; 8] =
        ["time", "trace name", "user", "resource", "trace id", "request id", "code", "line"];

    /// The row of [`IncidentReport::COLUMNS`], each text through `escape`
    /// (`-` for none).
    pub fn cells(&self, escape: impl Fn(&str) -> String) -> [String; 8] {
        let cell = |text: &Option<String>| text.as_deref().map_or("-".to_owned(), &escape);
        [
            cell(&self.time),
            cell(&self.trace_name),
            cell(&self.user),
            cell(&self.resource),
            cell(&self.trace_id),
            cell(&self.request_id),
            cell(&self.code),
            format!("{}:{}", escape(&self.file), self.line),
        ]
    }
}

/// An `incident`-rated CTS trace.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IncidentReport {
    /// When (RFC 3339, UTC).
    pub time: Option<String>,
    /// `trace_id`.
    pub trace_id: Option<String>,
    /// `trace_name`.
    pub trace_name: Option<String>,
    /// Who.
    pub user: Option<String>,
    /// `resource_type/resource_name`.
    pub resource: Option<String>,
    /// `request_id`.
    pub request_id: Option<String>,
    /// The error code, when the trace holds an error body.
    pub code: Option<String>,
    /// The input.
    pub file: String,
    /// Its line number, from 1.
    pub line: u64,
}

/// A request id and the line it is on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestIdSample {
    /// The request id.
    pub request_id: String,
    /// The input.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
}

/// A name and how often it was seen.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NameCount {
    /// The value.
    pub name: String,
    /// Lines with it.
    pub count: u64,
}

/// A message and how often it was seen.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MessageCount {
    /// The `error_msg`.
    pub message: String,
    /// Lines with it.
    pub count: u64,
}

impl CodeReport {
    /// The documented message, else the most common one seen.
    pub fn display_message(&self) -> Option<&str> {
        self.documented_message.as_deref().or_else(|| most_common(&self.messages))
    }

    /// The most common variant of the logged message (ties: the smallest).
    pub fn logged_message(&self) -> Option<&str> {
        most_common(&self.message_variants)
    }

    /// The message for people: the documented one, or `≠ ` and the most
    /// common logged variant when that says something else; then how many
    /// variants were logged, when more than one.
    pub fn message_cell(&self) -> Option<String> {
        let kept = self.message_variants.len();
        let count = match (kept, self.other_message_variants > 0) {
            (_, true) => format!(" [more than {kept} variants logged]"),
            (0 | 1, false) => String::new(),
            (n, false) => format!(" [{n} variants logged]"),
        };
        let shown = match (self.message_differs, self.logged_message()) {
            (true, Some(logged)) => format!("≠ {logged}"),
            _ => self.display_message()?.to_owned(),
        };
        Some(shown + &count)
    }
}

/// The message with the largest count (ties: the first in byte order).
fn most_common(messages: &[MessageCount]) -> Option<&str> {
    messages.iter().max_by(|a, b| a.count.cmp(&b.count).then(b.message.cmp(&a.message))).map(|m| m.message.as_str())
}

/// Whether `logged` says what `documented` says: the same text, or one the
/// start of the other (a service may log only the first sentence), case
/// and surrounding space aside.
fn agrees(logged: &str, documented: &str) -> bool {
    let (logged, documented) = (logged.trim().to_lowercase(), documented.trim().to_lowercase());
    documented.starts_with(&logged) || logged.starts_with(&documented)
}

impl LatencyReport {
    /// The percentiles of `latency` in milliseconds; `None` when it holds
    /// no value.
    pub fn from_latency(latency: &Latency) -> Option<Self> {
        let p = latency.percentiles()?;
        let ms = |us: u64| us as f64 / 1000.0;
        Some(LatencyReport {
            count: p.count,
            min: ms(latency.min()?),
            p50: ms(p.p50),
            p90: ms(p.p90),
            p99: ms(p.p99),
            max: ms(p.max),
            histogram: None,
        })
    }
}

impl Report {
    /// Gives each code of `drivers` what drives its spike
    /// ([`CodeReport::spike_drivers`]).
    pub fn set_spike_drivers(&mut self, drivers: &BTreeMap<String, BTreeMap<String, Vec<Shift>>>) {
        for code in &mut self.codes {
            if let Some(found) = drivers.get(&code.code) {
                code.spike_drivers = found.clone();
            }
        }
    }

    /// The report of `state` as it was written: its own `--top` and
    /// `--code` ([`ReportOptions::of`]).
    pub fn of(state: &State) -> Report {
        Report::build(state, &ReportOptions::of(state))
    }

    /// The report of `state`, viewed through `options`.
    pub fn build(state: &State, options: &ReportOptions) -> Report {
        let agg = &state.aggregate;
        let span_seconds = agg.time_span.map(|(first, last)| (last - first) as f64 / 1000.0);
        let view = View {
            agg,
            inputs: &state.inputs,
            top: options.top.filter(|_| state.collect.breakdowns),
            bucket_ms: state.collect.bucket_ms,
            range: bucket_range(agg, state.collect.bucket_ms),
            span_seconds,
        };
        let mut code_reports: Vec<CodeReport> =
            agg.codes.iter().map(|(code, stats)| view.code_report(code, stats)).collect();
        if let Some(other) = &agg.other_codes {
            code_reports.push(view.code_report("*other*", other));
        }
        code_reports.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(b.in_malformed_lines.cmp(&a.in_malformed_lines))
                .then_with(|| a.code.cmp(&b.code))
        });
        let unknown_code_bodies = code_reports.iter().filter(|c| !c.in_catalog).map(|c| c.count).sum();
        let bytes: u64 = state.inputs.iter().map(|i| i.bytes).sum();
        let filter = &state.filter;
        let mut report = Report {
            schema_version: SCHEMA_VERSION,
            tool: state.tool.clone(),
            summary: Summary {
                files: state.inputs.len(),
                directory_errors: state.directory_errors.clone(),
                bytes,
                lines: agg.lines,
                requests: agg.requests,
                blank: agg.blank,
                malformed: agg.malformed_total(),
                filtered: agg.filtered,
                malformed_by_kind: agg.malformed.iter().collect(),
                malformed_samples: agg
                    .samples
                    .iter()
                    .map(|sample| MalformedSample {
                        file: view.path(sample.position.file),
                        line: sample.position.line + 1,
                        kind: sample.kind,
                    })
                    .collect(),
                error_bodies: agg.error_bodies,
                error_rate: ratio(agg.error_bodies, agg.requests),
                unknown_code_bodies,
                error_bodies_in_malformed_lines: agg.malformed_bodies,
                first_time: agg.time_span.map(|(first, _)| format_rfc3339(first)),
                last_time: agg.time_span.map(|(_, last)| format_rfc3339(last)),
                span_seconds,
                statuses: agg.statuses.iter().collect(),
                latency_ms: SummaryLatency {
                    all: LatencyReport::from_latency(&agg.latency_all()),
                    without_error_body: LatencyReport::from_latency(&agg.latency_without_error),
                },
                invalid_fields: agg.invalid,
                filter: filter.is_set().then(|| FilterReport {
                    since: filter.since.map(format_rfc3339),
                    until: filter.until.map(format_rfc3339),
                    statuses: filter.statuses.clone(),
                    codes: filter.codes.clone(),
                }),
                series: view.bucket_ms.zip(view.range.clone()).map(|(size, range)| Series {
                    bucket_seconds: size as f64 / 1000.0,
                    first_bucket: format_rfc3339(range.start * size),
                    requests: range.map(|i| agg.request_buckets.get(i)).collect(),
                }),
                trace_ratings: (!agg.ratings.is_empty()).then_some(agg.ratings),
                incidents: agg
                    .incidents
                    .iter()
                    .map(|incident| IncidentReport {
                        time: incident.time.map(format_rfc3339),
                        trace_id: incident.trace_id.clone(),
                        trace_name: incident.trace_name.clone(),
                        user: incident.user.clone(),
                        resource: incident.resource.clone(),
                        request_id: incident.request_id.clone(),
                        code: incident.code.clone(),
                        file: view.path(incident.position.file),
                        line: incident.position.line + 1,
                    })
                    .collect(),
                timing: state.elapsed.map(|elapsed| Timing::of(elapsed.as_secs_f64(), bytes)),
            },
            codes: code_reports,
            inputs: state.inputs.clone(),
        };
        if options.histograms {
            report.add_histograms(agg);
        }
        report.set_aside_codes(options);
        report
    }

    /// Gives each latency of the report its histogram, from `agg`'s.
    fn add_histograms(&mut self, agg: &Aggregate) {
        if let Some(all) = &mut self.summary.latency_ms.all {
            all.histogram = agg.latency_all().histogram();
        }
        if let Some(without) = &mut self.summary.latency_ms.without_error_body {
            without.histogram = agg.latency_without_error.histogram();
        }
        for code in &mut self.codes {
            let stats = match code.code.as_str() {
                "*other*" => agg.other_codes.as_deref(),
                name => agg.codes.get(name),
            };
            if let (Some(latency), Some(stats)) = (&mut code.latency_ms, stats) {
                latency.histogram = stats.latency.histogram();
            }
        }
    }

    /// Takes the codes that `options` does not show (its `--code`
    /// patterns) out of [`Report::codes`] and returns them;
    /// [`Report::put_back_codes`] puts them back where they were.
    ///
    /// [`Report::build`] does this to every report, so one report built
    /// with every code serves both as the view `options` asks for and, with
    /// its codes put back, as what `--fail-on` rules judge (they see every
    /// code). The totals do not change: they cover every code either way.
    ///
    /// # Complexity
    ///
    /// Linear in the number of codes; nothing is set aside, and nothing
    /// allocated, without patterns.
    pub fn set_aside_codes(&mut self, options: &ReportOptions) -> HiddenCodes {
        if options.codes.is_empty() {
            return HiddenCodes::default();
        }
        let mut hidden = Vec::new();
        let mut shown = Vec::with_capacity(self.codes.len());
        for (index, code) in std::mem::take(&mut self.codes).into_iter().enumerate() {
            if options.shows_code(&code.code) {
                shown.push(code);
            } else {
                hidden.push((index, code));
            }
        }
        self.codes = shown;
        HiddenCodes(hidden)
    }

    /// Puts codes set aside by [`Report::set_aside_codes`] back into
    /// [`Report::codes`], each at the place it had.
    pub fn put_back_codes(&mut self, hidden: HiddenCodes) {
        if hidden.0.is_empty() {
            return;
        }
        let mut shown = std::mem::take(&mut self.codes).into_iter();
        let mut codes = Vec::with_capacity(shown.len() + hidden.0.len());
        for (index, code) in hidden.0 {
            codes.extend(shown.by_ref().take(index.saturating_sub(codes.len())));
            codes.push(code);
        }
        codes.extend(shown);
        self.codes = codes;
    }
}

/// The codes of a report that its view does not show, with the place each
/// had: see [`Report::set_aside_codes`].
#[derive(Clone, Debug, Default)]
pub struct HiddenCodes(Vec<(usize, CodeReport)>);

impl Timing {
    fn of(wall_seconds: f64, bytes: u64) -> Timing {
        let mib_per_second = if wall_seconds > 0.0 { bytes as f64 / 1048576.0 / wall_seconds } else { 0.0 };
        Timing { wall_seconds, mib_per_second }
    }
}

/// What building one code's report needs.
struct View<'s> {
    agg: &'s Aggregate,
    inputs: &'s [InputSummary],
    top: Option<usize>,
    bucket_ms: Option<i64>,
    range: Option<std::ops::Range<i64>>,
    span_seconds: Option<f64>,
}

/// `count` per minute over `span_seconds`, counted as at least a minute:
/// 3 errors within a millisecond are 3 a minute, not 180,000.
fn per_minute(count: u64, span_seconds: f64) -> f64 {
    count as f64 * 60.0 / span_seconds.max(60.0)
}

/// `part / whole`, or `None` when `whole` is 0: every share and rate of a
/// report, a live snapshot and a rule.
///
/// ```
/// use cts_logscan::report::ratio;
/// assert_eq!(ratio(1, 4), Some(0.25));
/// assert_eq!(ratio(0, 0), None);
/// ```
pub fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The bucket indexes a series covers: from the first to the last bucket
/// with a request, at most [`MAX_BUCKETS`] long.
/// The start of the bucket where a spike of the code of `stats` began
/// ([`spike_onset`]), over the buckets `range` of `size` ms.
fn started(agg: &Aggregate, stats: &CodeStats, range: std::ops::Range<i64>, size: i64) -> Option<EpochMillis> {
    let errors: Vec<u64> = range.clone().map(|i| stats.buckets.get(i)).collect();
    let requests: Vec<u64> = range.clone().map(|i| agg.request_buckets.get(i)).collect();
    spike_onset(&errors, &requests).map(|i| (range.start + i as i64) * size)
}

/// Each code of `state` whose spike started (`--bucket`), with the start
/// of the bucket it started in.
pub fn spike_starts(state: &State) -> Vec<(String, EpochMillis)> {
    let agg = &state.aggregate;
    let Some((range, size)) = bucket_range(agg, state.collect.bucket_ms).zip(state.collect.bucket_ms) else {
        return Vec::new();
    };
    agg.codes
        .iter()
        .filter_map(|(code, stats)| started(agg, stats, range.clone(), size).map(|at| (code.clone(), at)))
        .collect()
}

fn bucket_range(agg: &Aggregate, bucket_ms: Option<i64>) -> Option<std::ops::Range<i64>> {
    bucket_ms?;
    let first = *agg.request_buckets.counts.keys().next()?;
    let last = *agg.request_buckets.counts.keys().next_back()?;
    Some(first..(last + 1).min(first + MAX_BUCKETS as i64))
}

impl View<'_> {
    fn path(&self, file: u32) -> String {
        self.inputs.get(file as usize).map_or_else(String::new, |i| i.path.clone())
    }

    fn code_report(&self, code: &str, stats: &CodeStats) -> CodeReport {
        let agg = self.agg;
        let top = self.top.zip(stats.breakdown.as_deref()).map(|(n, breakdown)| {
            let names = |counts: &HeavyHitters| {
                counts.top(n).into_iter().map(|(name, count)| NameCount { name, count }).collect()
            };
            TopReport {
                endpoints: names(&breakdown.endpoints),
                projects: names(&breakdown.projects),
                clients: names(&breakdown.clients),
                sources: names(&breakdown.sources),
                by: breakdown.fields.iter().map(|(name, counts)| (name.clone(), names(counts))).collect(),
                request_ids: breakdown
                    .samples
                    .iter()
                    .take(n)
                    .map(|s| RequestIdSample {
                        request_id: s.request_id.clone(),
                        file: self.path(s.position.file),
                        line: s.position.line + 1,
                    })
                    .collect(),
                max_undercount: TopUndercount {
                    endpoints: breakdown.endpoints.max_undercount(),
                    projects: breakdown.projects.max_undercount(),
                    clients: breakdown.clients.max_undercount(),
                    sources: breakdown.sources.max_undercount(),
                    by: breakdown.fields.iter().map(|(name, counts)| (name.clone(), counts.max_undercount())).collect(),
                },
            }
        });
        let series: Option<Vec<u64>> = self.range.clone().map(|r| r.map(|i| stats.buckets.get(i)).collect());
        let started = self.range.clone().zip(self.bucket_ms).and_then(|(range, size)| started(agg, stats, range, size));
        let info = codes::lookup(code);
        let documented_status = info.map(|i| i.http_status);
        let status_mismatches = match documented_status {
            Some(documented) => stats.statuses.iter().filter(|(s, _)| *s != documented).map(|(_, n)| n).sum(),
            None => 0,
        };
        let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        CodeReport {
            code: code.to_owned(),
            count: stats.count,
            in_malformed_lines: stats.in_malformed,
            share: ratio(stats.count, agg.error_bodies).unwrap_or(0.0),
            per_1k_requests: ratio(stats.count * 1000, agg.requests),
            per_minute: self.span_seconds.map(|s| per_minute(stats.count, s)),
            in_catalog: info.is_some(),
            edition: info.map(|i| i.edition),
            documented_status,
            documented_message: info.map(|i| i.message.to_owned()),
            description: info.and_then(|i| non_empty(&i.description_text())),
            solution: info.and_then(|i| non_empty(&i.solution_text())),
            statuses: stats.statuses.iter().copied().collect(),
            status_mismatches,
            latency_ms: LatencyReport::from_latency(&stats.latency),
            first_seen: stats.time_span.map(|(first, _)| format_rfc3339(first)),
            last_seen: stats.time_span.map(|(_, last)| format_rfc3339(last)),
            messages: message_counts(&stats.messages),
            other_messages: stats.messages.others,
            message_variants: message_counts(&stats.variants),
            other_message_variants: stats.variants.others,
            message_differs: info
                .zip(stats.variants.surely_most_common())
                .is_some_and(|(info, logged)| !agrees(logged, info.message)),
            service_types: name_counts(&stats.services),
            trace_names: name_counts(&stats.operations),
            trace_ratings: (!stats.ratings.is_empty()).then_some(stats.ratings),
            top,
            series,
            started: started.map(format_rfc3339),
            spike_drivers: BTreeMap::new(),
        }
    }
}

fn message_counts(messages: &TopStrings) -> Vec<MessageCount> {
    messages.kept.iter().map(|(message, count)| MessageCount { message: message.clone(), count: *count }).collect()
}

fn name_counts(values: &TopStrings) -> Vec<NameCount> {
    values.kept.iter().map(|(name, count)| NameCount { name: name.clone(), count: *count }).collect()
}
