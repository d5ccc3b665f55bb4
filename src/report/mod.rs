//! The report model and its renderers.
//!
//! [`Report::build`] joins a scan's merged statistics with the catalogue and
//! derives shares, rates and percentiles. Renderers (one file per output
//! format) only format a `Report`; they compute nothing.

mod catalog;
mod csv;
mod html;
mod json;
mod markdown;
mod merge;
mod prometheus;
mod table;

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use catalog::{render_codes, render_explain};
pub use csv::CsvRenderer;
pub use html::HtmlRenderer;
pub use json::{JsonRenderer, ReadError, SCHEMA_VERSION, read_report};
pub use markdown::MarkdownRenderer;
pub use merge::merge;
pub use prometheus::PrometheusRenderer;
pub use table::TableRenderer;

use crate::aggregate::{Aggregate, CappedCounts, CodeStats, Latency, MAX_BUCKETS, TopStrings};
use crate::catalog::{self as codes, Edition};
use crate::filter::Filter;
use crate::lex::time::format_rfc3339;
use crate::record::Malformed;
use crate::scan::ScanResult;

/// Formats a report for one output format.
pub trait Render {
    /// Writes `report` to `wtr`.
    ///
    /// # Errors
    ///
    /// Whatever writing to `wtr` returns.
    fn render(&self, report: &Report, wtr: &mut dyn io::Write) -> io::Result<()>;
}

/// Everything a scan found, ready to render. This is the JSON schema; see
/// [`JsonRenderer`] for an example.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// Bumped on any incompatible change of this structure.
    pub schema_version: u32,
    /// Which program wrote the report.
    pub tool: Tool,
    /// One entry per input, in the order given.
    pub inputs: Vec<InputReport>,
    /// Totals over all inputs.
    pub summary: Summary,
    /// One entry per error code, by count (descending), then code.
    pub codes: Vec<CodeReport>,
}

/// The program that wrote a report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tool {
    /// `cts-logscan`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// One input.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputReport {
    /// The path as given, or `<stdin>`.
    pub path: String,
    /// `ndjson`, `combined` or `common`; `null` when nothing was read.
    pub format: Option<String>,
    /// Bytes read, after decompression.
    pub bytes: u64,
    /// `gzip` or `zstd` when the input was compressed.
    pub compression: Option<String>,
    /// Bytes read from the file or pipe (the compressed size).
    pub raw_bytes: u64,
    /// Lines read from this input.
    #[serde(default)]
    pub lines: u64,
    /// Of those, lines that did not parse.
    #[serde(default)]
    pub malformed: u64,
    /// Why the input could not be read (fully), if so.
    pub error: Option<String>,
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
    /// `not-access-log`, `line-too-long`); kinds with no line are left out.
    pub malformed_by_kind: BTreeMap<String, u64>,
    /// The first malformed lines, in input order (at most 5).
    pub malformed_samples: Vec<MalformedSample>,
    /// Lines with an error body.
    pub error_bodies: u64,
    /// `error_bodies / requests`, or `null` without requests.
    pub error_rate: Option<f64>,
    /// Error bodies whose code is not in the CTS catalogue.
    pub unknown_code_bodies: u64,
    /// Earliest request time (RFC 3339, UTC).
    pub first_time: Option<String>,
    /// Latest request time (RFC 3339, UTC).
    pub last_time: Option<String>,
    /// Seconds from `first_time` to `last_time`.
    pub span_seconds: Option<f64>,
    /// Requests by HTTP status (`"200"` → count).
    pub statuses: BTreeMap<String, u64>,
    /// Latency over all requests and over requests without an error body.
    pub latency_ms: SummaryLatency,
    /// Requests with a field that was logged but unusable (unparsable,
    /// negative, out of range, a latency over an hour, a time outside
    /// 2000–2100); those fields are left out of every figure.
    pub invalid_fields: InvalidFieldsReport,
    /// With `--bucket`: requests per time bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Series>,
    /// How long the scan took.
    pub timing: Timing,
}

/// Requests per time bucket, oldest first, empty buckets included.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Series {
    /// Bucket size in seconds.
    pub bucket_seconds: f64,
    /// Start of the first bucket (RFC 3339, UTC).
    pub first_bucket: String,
    /// Requests per bucket.
    pub requests: Vec<u64>,
}

/// Counts of unusable fields.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct InvalidFieldsReport {
    /// Request times.
    pub time: u64,
    /// HTTP statuses.
    pub status: u64,
    /// Latencies.
    pub latency: u64,
}

/// A malformed line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MalformedSample {
    /// The input.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// What is wrong with it.
    pub kind: String,
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
    /// The whole distribution (HDR histogram, V2 with deflate, base64), so
    /// that `cts-logscan merge` can combine reports exactly.
    pub hdr: String,
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
    /// Lines with this code.
    pub count: u64,
    /// Share of all error bodies, 0 to 1.
    pub share: f64,
    /// Lines with this code per 1,000 requests.
    pub per_1k_requests: Option<f64>,
    /// Lines per minute over the observed time span of all requests.
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
    pub statuses: BTreeMap<String, u64>,
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
    /// CTS traces only: `service_type` values with counts (the first 8 in
    /// byte order); empty for other inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_types: Vec<NameCount>,
    /// CTS traces only: `trace_name` values with counts (the first 8).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace_names: Vec<NameCount>,
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
}

/// Where a code's errors come from, the N most frequent of each.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TopReport {
    /// Endpoints, `METHOD /path` with ids replaced by `{id}`.
    pub endpoints: Vec<NameCount>,
    /// Project ids from `/v1.0|v3/{project_id}/…` paths.
    pub projects: Vec<NameCount>,
    /// Client addresses.
    pub clients: Vec<NameCount>,
    /// Request ids of the earliest lines with this code, to grep for.
    pub request_ids: Vec<RequestIdSample>,
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

impl InputReport {
    /// A hint when most of this input's lines did not parse: probably the
    /// wrong format.
    pub fn format_hint(&self) -> Option<String> {
        let format = self.format.as_deref()?;
        (self.lines >= 10 && self.malformed * 2 > self.lines).then(|| {
            format!(
                "{}: {} of {} lines did not parse as {format}; if that is not its format, pass --format or --log-format",
                self.path, self.malformed, self.lines
            )
        })
    }
}

impl CodeReport {
    /// The documented message, else the most common one seen.
    pub fn display_message(&self) -> Option<&str> {
        self.documented_message
            .as_deref()
            .or_else(|| self.messages.iter().max_by_key(|m| m.count).map(|m| m.message.as_str()))
    }
}

impl LatencyReport {
    fn from_latency(latency: &Latency) -> Option<Self> {
        let p = latency.percentiles()?;
        let ms = |us: u64| us as f64 / 1000.0;
        Some(LatencyReport {
            count: p.count,
            min: ms(latency.min()?),
            p50: ms(p.p50),
            p90: ms(p.p90),
            p99: ms(p.p99),
            max: ms(p.max),
            hdr: latency.encode()?,
        })
    }
}

impl Report {
    /// Builds the report of `result`.
    pub fn build(result: &ScanResult) -> Report {
        Report::assemble(
            &result.aggregate,
            input_reports(result),
            result.walk_errors.iter().map(ToString::to_string).collect(),
            &result.filter,
            result.elapsed,
        )
    }

    /// Builds a report from merged statistics and the inputs they came
    /// from (`agg`'s file indexes point into `inputs`).
    pub fn assemble(
        agg: &Aggregate,
        inputs: Vec<InputReport>,
        directory_errors: Vec<String>,
        filter: &Filter,
        elapsed: Duration,
    ) -> Report {
        let span_seconds = agg.time_span.map(|(first, last)| (last - first) as f64 / 1000.0);
        let rates = Rates { requests: agg.requests, error_bodies: agg.error_bodies, span_seconds };
        let range = bucket_range(agg);
        let mut code_reports: Vec<CodeReport> =
            agg.codes.iter().map(|(code, stats)| code_report(code, stats, &rates, agg, &range, &inputs)).collect();
        if let Some(other) = &agg.other_codes {
            code_reports.push(code_report("*other*", other, &rates, agg, &range, &inputs));
        }
        code_reports.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
        let unknown_code_bodies = code_reports.iter().filter(|c| !c.in_catalog).map(|c| c.count).sum();
        code_reports.retain(|c| filter.shows_code(&c.code));
        let bytes: u64 = inputs.iter().map(|i| i.bytes).sum();
        let wall_seconds = elapsed.as_secs_f64();
        let latency_all = agg.latency_all();
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool { name: env!("CARGO_PKG_NAME").to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() },
            summary: Summary {
                files: inputs.len(),
                directory_errors,
                bytes,
                lines: agg.lines,
                requests: agg.requests,
                blank: agg.blank,
                malformed: agg.malformed_total(),
                filtered: agg.filtered,
                malformed_by_kind: Malformed::ALL
                    .iter()
                    .map(|&kind| (kind.name().to_owned(), agg.malformed[kind as usize]))
                    .filter(|&(_, n)| n > 0)
                    .collect(),
                malformed_samples: malformed_samples(&inputs, agg),
                error_bodies: agg.error_bodies,
                error_rate: ratio(agg.error_bodies, agg.requests),
                unknown_code_bodies,
                first_time: agg.time_span.map(|(first, _)| format_rfc3339(first)),
                last_time: agg.time_span.map(|(_, last)| format_rfc3339(last)),
                span_seconds,
                statuses: agg.statuses.iter().map(|(s, n)| (s.to_string(), n)).collect(),
                latency_ms: SummaryLatency {
                    all: LatencyReport::from_latency(&latency_all),
                    without_error_body: LatencyReport::from_latency(&agg.latency_without_error),
                },
                series: agg.bucket_ms.zip(range.clone()).map(|(size, range)| Series {
                    bucket_seconds: size as f64 / 1000.0,
                    first_bucket: format_rfc3339(range.start * size),
                    requests: range.map(|i| agg.request_buckets.get(i)).collect(),
                }),
                invalid_fields: InvalidFieldsReport {
                    time: agg.invalid.time,
                    status: agg.invalid.status,
                    latency: agg.invalid.latency,
                },
                timing: Timing {
                    wall_seconds,
                    mib_per_second: if wall_seconds > 0.0 { bytes as f64 / 1048576.0 / wall_seconds } else { 0.0 },
                },
            },
            codes: code_reports,
            inputs,
        }
    }
}

/// Denominators for per-code rates.
struct Rates {
    requests: u64,
    error_bodies: u64,
    span_seconds: Option<f64>,
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The bucket indexes a series covers: from the first to the last bucket
/// with a request, at most [`MAX_BUCKETS`] long.
fn bucket_range(agg: &Aggregate) -> Option<std::ops::Range<i64>> {
    agg.bucket_ms?;
    let first = *agg.request_buckets.counts.keys().next()?;
    let last = *agg.request_buckets.counts.keys().next_back()?;
    Some(first..(last + 1).min(first + MAX_BUCKETS as i64))
}

/// The bucket where a spike began: the first with at least 3 errors whose
/// share of the bucket's requests is at least three times the code's
/// median share over all buckets and at least one percentage point above
/// it. `None` when no bucket qualifies (steady errors are not a spike).
pub fn spike_onset(errors: &[u64], requests: &[u64]) -> Option<usize> {
    let shares: Vec<f64> =
        errors.iter().zip(requests).map(|(&e, &r)| if r == 0 { 0.0 } else { e as f64 / r as f64 }).collect();
    let mut sorted = shares.clone();
    sorted.sort_by(f64::total_cmp);
    let median = *sorted.get(sorted.len() / 2)?;
    shares.iter().zip(errors).position(|(&share, &count)| count >= 3 && share >= 3.0 * median && share >= median + 0.01)
}

fn code_report(
    code: &str,
    stats: &CodeStats,
    rates: &Rates,
    agg: &Aggregate,
    range: &Option<std::ops::Range<i64>>,
    inputs: &[InputReport],
) -> CodeReport {
    let top = agg.top.zip(stats.breakdown.as_deref()).map(|(n, breakdown)| {
        let names =
            |counts: &CappedCounts| counts.top(n).into_iter().map(|(name, count)| NameCount { name, count }).collect();
        TopReport {
            endpoints: names(&breakdown.endpoints),
            projects: names(&breakdown.projects),
            clients: names(&breakdown.clients),
            request_ids: breakdown
                .samples
                .iter()
                .take(n)
                .map(|s| RequestIdSample {
                    request_id: s.request_id.clone(),
                    file: inputs.get(s.position.file as usize).map_or_else(String::new, |i| i.path.clone()),
                    line: agg.line_number(s.position),
                })
                .collect(),
        }
    });
    let series: Option<Vec<u64>> = range.clone().map(|r| r.map(|i| stats.buckets.get(i)).collect());
    let started = match (&series, range, agg.bucket_ms) {
        (Some(errors), Some(range), Some(size)) => {
            let requests: Vec<u64> = range.clone().map(|i| agg.request_buckets.get(i)).collect();
            spike_onset(errors, &requests).map(|i| format_rfc3339((range.start + i as i64) * size))
        }
        _ => None,
    };
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
        share: ratio(stats.count, rates.error_bodies).unwrap_or(0.0),
        per_1k_requests: ratio(stats.count * 1000, rates.requests),
        per_minute: rates.span_seconds.filter(|&s| s > 0.0).map(|s| stats.count as f64 * 60.0 / s),
        in_catalog: info.is_some(),
        edition: info.map(|i| i.edition),
        documented_status,
        documented_message: info.map(|i| i.message.to_owned()),
        description: info.and_then(|i| non_empty(i.description)),
        solution: info.and_then(|i| non_empty(i.solution)),
        statuses: stats.statuses.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
        status_mismatches,
        latency_ms: LatencyReport::from_latency(&stats.latency),
        first_seen: stats.time_span.map(|(first, _)| format_rfc3339(first)),
        last_seen: stats.time_span.map(|(_, last)| format_rfc3339(last)),
        messages: stats
            .messages
            .kept
            .iter()
            .map(|(message, count)| MessageCount { message: message.clone(), count: *count })
            .collect(),
        other_messages: stats.messages.others,
        service_types: name_counts(&stats.services),
        trace_names: name_counts(&stats.operations),
        top,
        series,
        started,
    }
}

fn name_counts(values: &TopStrings) -> Vec<NameCount> {
    values.kept.iter().map(|(name, count)| NameCount { name: name.clone(), count: *count }).collect()
}

fn input_reports(result: &ScanResult) -> Vec<InputReport> {
    let agg = &result.aggregate;
    result
        .inputs
        .iter()
        .enumerate()
        .map(|(file, input)| InputReport {
            lines: agg.lines_of_file(file as u32),
            malformed: agg.malformed_by_file.get(&(file as u32)).copied().unwrap_or(0),
            path: input.source.to_string(),
            format: input.format.map(|f| f.name().to_owned()),
            bytes: input.bytes,
            compression: input.compression.map(|c| c.name().to_owned()),
            raw_bytes: input.raw_bytes,
            error: input.error.as_ref().map(ToString::to_string),
        })
        .collect()
}

fn malformed_samples(inputs: &[InputReport], agg: &Aggregate) -> Vec<MalformedSample> {
    agg.samples
        .iter()
        .map(|sample| MalformedSample {
            file: inputs.get(sample.position.file as usize).map_or_else(String::new, |i| i.path.clone()),
            line: agg.line_number(sample.position),
            kind: sample.kind.name().to_owned(),
        })
        .collect()
}
