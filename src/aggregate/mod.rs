//! Per-worker statistics and their merge.
//!
//! Workers fold records into their own [`Aggregate`]; aggregates merge with
//! [`Aggregate::merge`], which is associative and commutative, so the result
//! is the same for any thread count and block size. Every bounded collection
//! (malformed samples, messages per code, distinct codes) keeps the
//! *smallest* entries by a fixed order, which is what makes the bound
//! deterministic under merging.

pub mod accounting;
mod breakdown;
mod buckets;
mod code_stats;
pub mod heavy_hitters;
mod latency;
mod template;
mod traces;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use breakdown::{
    Breakdown, BreakdownLog, CodeBreakdowns, MAX_REQUEST_SAMPLES, RequestSample, normalize_endpoint, project_id,
};
pub use buckets::{Buckets, MAX_BUCKETS};
pub use code_stats::{CodeStats, MAX_DISTINCT, TopStrings};
pub use heavy_hitters::HeavyHitters;
pub use latency::{
    HISTOGRAM_BOUNDS_US, Latency, LatencyHistogram, MAX_LATENCY_US, Percentiles, Precision, bucket_bounds,
};
pub use template::{MASK, message_template};
pub use traces::{IncidentSample, MAX_INCIDENTS, RatingCounts};

use crate::extract::ErrorBody;
use crate::lex::time::EpochMillis;
use crate::record::{Malformed, OverrideUse, Record, TraceRating};

/// Malformed-line samples kept (the earliest in input order).
pub const MAX_SAMPLES: usize = 5;

/// Distinct error codes kept; further codes (the largest in byte order) are
/// folded into [`Aggregate::other_codes`]. Only hostile input gets there.
pub const MAX_CODES: usize = 10_000;

/// What a scan keeps beyond the fixed figures. These are settings given to
/// the workers, not data: an aggregate never changes them, and states
/// written with different ones do not merge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collect {
    /// Keep per-bucket counts (time series) with buckets of this many
    /// milliseconds.
    pub bucket_ms: Option<i64>,
    /// Keep per-code breakdowns (endpoints, projects, clients, request
    /// ids), for `--top`.
    pub breakdowns: bool,
    /// How finely latencies are kept.
    #[serde(default)]
    pub latency: Precision,
}

/// Where a line is: input, block within the input, line within the block
/// (0-based). Positions order like the lines themselves.
///
/// While a scan runs, blocks are counted separately; once all are counted
/// [`Aggregate::resolve_positions`] turns every position into block 0 and
/// the line's index in its input, which is the form a state stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LinePosition {
    /// Index of the input.
    #[serde(rename = "input")]
    pub file: u32,
    /// Index of the block within the input.
    #[serde(skip)]
    pub block: u64,
    /// Index of the line within the block (within the input once
    /// resolved).
    pub line: u64,
}

/// The malformed lines of one input, while scanning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MalformedOfFile {
    /// Malformed lines of every kind.
    pub lines: u64,
    /// Of those, lines that are not about a request (`not-request`).
    pub not_requests: u64,
}

/// A malformed line, for the report's samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MalformedSample {
    /// Where the line is.
    pub position: LinePosition,
    /// What is wrong with it.
    pub kind: Malformed,
}

/// HTTP status counts, 100 to 599; stored as a map of the statuses seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "BTreeMap<u16, u64>", into = "BTreeMap<u16, u64>")]
pub struct StatusCounts(Box<[u64; 500]>);

impl Default for StatusCounts {
    fn default() -> Self {
        StatusCounts(Box::new([0; 500]))
    }
}

impl From<BTreeMap<u16, u64>> for StatusCounts {
    fn from(map: BTreeMap<u16, u64>) -> Self {
        let mut counts = StatusCounts::default();
        map.into_iter().for_each(|(status, n)| counts.add_count(status, n));
        counts
    }
}

impl From<StatusCounts> for BTreeMap<u16, u64> {
    fn from(counts: StatusCounts) -> Self {
        counts.iter().collect()
    }
}

impl StatusCounts {
    /// Adds `count` requests with `status`; statuses outside 100-599 are
    /// ignored.
    pub fn add_count(&mut self, status: u16, count: u64) {
        if let Some(slot) = self.0.get_mut(usize::from(status).wrapping_sub(100)) {
            *slot += count;
        }
    }

    fn merge(&mut self, other: &StatusCounts) {
        self.0.iter_mut().zip(other.0.iter()).for_each(|(a, b)| *a += b);
    }

    /// `(status, count)` for every status seen, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.0.iter().enumerate().filter(|(_, n)| **n > 0).map(|(i, n)| (i as u16 + 100, *n))
    }
}

/// Malformed lines by kind; stored as a map of the kinds seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "BTreeMap<Malformed, u64>", into = "BTreeMap<Malformed, u64>")]
pub struct MalformedCounts([u64; Malformed::ALL.len()]);

impl From<BTreeMap<Malformed, u64>> for MalformedCounts {
    fn from(map: BTreeMap<Malformed, u64>) -> Self {
        let mut counts = MalformedCounts::default();
        map.into_iter().for_each(|(kind, n)| counts.0[kind as usize] += n);
        counts
    }
}

impl From<MalformedCounts> for BTreeMap<Malformed, u64> {
    fn from(counts: MalformedCounts) -> Self {
        counts.iter().collect()
    }
}

impl MalformedCounts {
    /// `(kind, count)` for every kind seen, in [`Malformed::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Malformed, u64)> + '_ {
        Malformed::ALL.iter().map(|&kind| (kind, self.0[kind as usize])).filter(|&(_, n)| n > 0)
    }

    /// All malformed lines.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// Where the line scanner puts each line's outcome: an [`Aggregate`] for a
/// batch scan; for `--follow`, that and the live windows.
pub trait LineSink {
    /// A request, with its error body if any.
    fn request(&mut self, record: &Record<'_>, body: Option<ErrorBody<'_>>, position: LinePosition, collect: &Collect);
    /// A line that is not a record of its format.
    fn malformed(&mut self, kind: Malformed, position: LinePosition, body: Option<ErrorBody<'_>>);
    /// An empty or whitespace-only line.
    fn blank(&mut self);
    /// A request left out by the filter, with its time if it has one.
    fn filtered(&mut self, time: Option<EpochMillis>);
    /// Whether an `incident` trace at `position` would be kept as a
    /// sample: what a scanner reads such a line whole for.
    fn keeps_incident(&self, _position: LinePosition) -> bool {
        false
    }
}

impl LineSink for Aggregate {
    fn request(&mut self, record: &Record<'_>, body: Option<ErrorBody<'_>>, position: LinePosition, collect: &Collect) {
        self.add_record(record, body, position, collect);
    }

    fn malformed(&mut self, kind: Malformed, position: LinePosition, body: Option<ErrorBody<'_>>) {
        self.add_malformed(kind, position, body);
    }

    fn blank(&mut self) {
        self.add_blank();
    }

    fn filtered(&mut self, time: Option<EpochMillis>) {
        self.add_filtered(time);
    }

    fn keeps_incident(&self, position: LinePosition) -> bool {
        IncidentSample::would_keep(&self.incidents, position)
    }
}

/// The request id of an error line: the one its format logged, else the
/// one its body carries (SDK exception text).
pub fn error_request_id<'a>(record: &Record<'a>, body: &ErrorBody<'a>) -> Option<&'a str> {
    record.request_id.and_then(|id| std::str::from_utf8(id).ok()).or(body.request_id)
}

/// An aggregate that also hands every request to `also` (the `--top` log of
/// a batch scan, the windows of `--follow`); other lines go to the
/// aggregate only.
pub struct AlsoRequests<'a, F> {
    /// Where every line is counted.
    pub aggregate: &'a mut Aggregate,
    /// Called after the aggregate with each request.
    pub also: F,
}

impl<F> LineSink for AlsoRequests<'_, F>
where
    F: FnMut(&Record<'_>, Option<ErrorBody<'_>>, LinePosition),
{
    fn request(&mut self, record: &Record<'_>, body: Option<ErrorBody<'_>>, position: LinePosition, collect: &Collect) {
        self.aggregate.add_record(record, body, position, collect);
        (self.also)(record, body, position);
    }

    fn malformed(&mut self, kind: Malformed, position: LinePosition, body: Option<ErrorBody<'_>>) {
        self.aggregate.add_malformed(kind, position, body);
    }

    fn blank(&mut self) {
        self.aggregate.add_blank();
    }

    fn filtered(&mut self, time: Option<EpochMillis>) {
        self.aggregate.add_filtered(time);
    }

    fn keeps_incident(&self, position: LinePosition) -> bool {
        self.aggregate.keeps_incident(position)
    }
}

/// Everything counted over some lines: the data of a state.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Aggregate {
    /// Lines read, of every outcome.
    pub lines: u64,
    /// Lines that parsed as requests and passed the filter.
    pub requests: u64,
    /// Empty or whitespace-only lines.
    pub blank: u64,
    /// Requests left out by a filter.
    pub filtered: u64,
    /// Malformed lines by kind.
    pub malformed: MalformedCounts,
    /// The earliest malformed lines.
    pub samples: Vec<MalformedSample>,
    /// Requests with an error body.
    pub error_bodies: u64,
    /// Malformed lines with an error body (see [`CodeStats::in_malformed`]).
    pub malformed_bodies: u64,
    /// Status counts over all requests.
    pub statuses: StatusCounts,
    /// Latency of requests without an error body; with the per-code
    /// latencies it makes up [`Aggregate::latency_all`].
    pub latency_without_error: Latency,
    /// Earliest and latest request time.
    pub time_span: TimeSpan,
    /// Earliest and latest time of the requests a filter left out: with
    /// `time_span`, the time span of the data, for a window that selected
    /// nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filtered_span: TimeSpan,
    /// Fields that were logged but could not be used.
    pub invalid: InvalidCounts,
    /// Statistics per error code.
    pub codes: BTreeMap<String, CodeStats>,
    /// Codes beyond [`MAX_CODES`], together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_codes: Option<Box<CodeStats>>,
    /// Requests per time bucket (with [`Collect::bucket_ms`]).
    pub request_buckets: Buckets,
    /// CTS traces per `trace_rating`.
    #[serde(default, skip_serializing_if = "RatingCounts::is_empty")]
    pub ratings: RatingCounts,
    /// The earliest `incident` traces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<IncidentSample>,
    /// NDJSON field overrides (`--status-field response.status`) and how
    /// each fared: one that matched no line deserves a warning.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub override_uses: BTreeMap<String, OverrideUse>,
    /// Malformed lines per input, while scanning (a state keeps them with
    /// its inputs).
    #[serde(skip)]
    pub malformed_by_file: BTreeMap<u32, MalformedOfFile>,
    /// Lines per block, `(file, block) → lines`, while scanning; emptied
    /// by [`Aggregate::resolve_positions`].
    #[serde(skip)]
    pub block_lines: BTreeMap<(u32, u64), u64>,
}

impl Aggregate {
    /// Counts a block of `lines` lines at `(file, block)`.
    pub fn add_block(&mut self, file: u32, block: u64, lines: u64) {
        self.lines += lines;
        *self.block_lines.entry((file, block)).or_default() += lines;
    }

    /// Counts a blank line.
    pub fn add_blank(&mut self) {
        self.blank += 1;
    }

    /// Counts a request left out by a filter (time window, status).
    pub fn add_filtered(&mut self, time: Option<EpochMillis>) {
        self.filtered += 1;
        if let Some(time) = time.filter(|t| PLAUSIBLE_TIMES.contains(t)) {
            widen_span(&mut self.filtered_span, time);
        }
    }

    /// Counts a request and its error body, if any.
    pub fn add_record(
        &mut self,
        record: &Record<'_>,
        body: Option<ErrorBody<'_>>,
        position: LinePosition,
        collect: &Collect,
    ) {
        self.requests += 1;
        let mut observed = self.observe(record, collect);
        observed.status = observed.status.or(body.and_then(|b| b.status));
        if let Some(status) = observed.status {
            self.statuses.add_count(status, 1);
        }
        if let (Some(us), None) = (observed.latency_us, &body) {
            self.latency_without_error.record(us, collect.latency);
        }
        if let Some(time) = observed.time {
            widen_span(&mut self.time_span, time);
        }
        if let Some(bucket) = observed.bucket {
            self.request_buckets.add(bucket, 1);
        }
        if let Some(rating) = record.rating {
            self.ratings.add(rating);
            if rating == TraceRating::Incident {
                IncidentSample::keep(&mut self.incidents, record, body.as_ref(), position);
            }
        }
        if let Some(body) = body {
            self.error_bodies += 1;
            let stats = self.code_stats(body.code);
            stats.add(&observed, body.message, collect.latency);
            if collect.breakdowns {
                let request_id = || error_request_id(record, &body);
                stats.breakdown.get_or_insert_default().add(record, request_id, position);
            }
        }
    }

    /// The plausible fields of `record`; the rest are counted as invalid.
    fn observe<'a>(&mut self, record: &Record<'a>, collect: &Collect) -> Observed<'a> {
        let time = record.time.filter(|t| PLAUSIBLE_TIMES.contains(t));
        let latency_us = record.latency_us.filter(|&us| us <= MAX_LATENCY_US);
        self.invalid.time += u64::from(record.invalid.time || time != record.time);
        self.invalid.status += u64::from(record.invalid.status);
        self.invalid.latency += u64::from(record.invalid.latency || latency_us != record.latency_us);
        let label = |bytes: Option<&'a [u8]>| bytes.map(|b| std::str::from_utf8(b).unwrap_or("(not UTF-8)"));
        Observed {
            time,
            bucket: collect.bucket_ms.zip(time).map(|(size, t)| t.div_euclid(size)),
            status: record.status,
            latency_us,
            service: label(record.service),
            operation: label(record.operation),
            rating: record.rating,
        }
    }

    /// Counts a malformed line. An error body found in it is counted for
    /// its code in [`CodeStats::in_malformed`] only: the line is not a
    /// request, so it is in no rate, share or latency.
    pub fn add_malformed(&mut self, kind: Malformed, position: LinePosition, body: Option<ErrorBody<'_>>) {
        self.malformed.0[kind as usize] += 1;
        let of_file = self.malformed_by_file.entry(position.file).or_default();
        of_file.lines += 1;
        of_file.not_requests += u64::from(kind == Malformed::NotRequest);
        insert_bounded(&mut self.samples, MalformedSample { position, kind }, MAX_SAMPLES);
        if let Some(body) = body {
            self.malformed_bodies += 1;
            self.code_stats(body.code).in_malformed += 1;
        }
    }

    /// Total malformed lines.
    pub fn malformed_total(&self) -> u64 {
        self.malformed.total()
    }

    fn code_stats(&mut self, code: &str) -> &mut CodeStats {
        if !self.codes.contains_key(code) {
            self.codes.insert(code.to_owned(), CodeStats::default());
            self.evict_excess_codes();
        }
        match self.codes.get_mut(code) {
            Some(stats) => stats,
            None => self.other_codes.get_or_insert_with(Default::default),
        }
    }

    fn evict_excess_codes(&mut self) {
        while self.codes.len() > MAX_CODES {
            if let Some((_, stats)) = self.codes.pop_last() {
                self.other_codes.get_or_insert_with(Default::default).merge(&stats);
            }
        }
    }

    /// Adds `other` into `self`. Associative and commutative.
    pub fn merge(&mut self, other: Aggregate) {
        self.lines += other.lines;
        self.requests += other.requests;
        self.blank += other.blank;
        self.filtered += other.filtered;
        self.malformed.0.iter_mut().zip(other.malformed.0).for_each(|(a, b)| *a += b);
        for sample in other.samples {
            insert_bounded(&mut self.samples, sample, MAX_SAMPLES);
        }
        for (file, theirs) in other.malformed_by_file {
            let ours = self.malformed_by_file.entry(file).or_default();
            ours.lines += theirs.lines;
            ours.not_requests += theirs.not_requests;
        }
        self.error_bodies += other.error_bodies;
        self.malformed_bodies += other.malformed_bodies;
        self.statuses.merge(&other.statuses);
        self.latency_without_error.merge(&other.latency_without_error);
        self.time_span = union_spans(self.time_span, other.time_span);
        self.filtered_span = union_spans(self.filtered_span, other.filtered_span);
        self.invalid.time += other.invalid.time;
        self.invalid.status += other.invalid.status;
        self.invalid.latency += other.invalid.latency;
        for (code, stats) in other.codes {
            match self.codes.get_mut(&code) {
                Some(ours) => ours.merge(&stats),
                None => {
                    self.codes.insert(code, stats);
                }
            }
        }
        self.evict_excess_codes();
        if let Some(theirs) = other.other_codes {
            self.other_codes.get_or_insert_with(Default::default).merge(&theirs);
        }
        self.request_buckets.merge(&other.request_buckets);
        self.ratings.merge(&other.ratings);
        for incident in other.incidents {
            insert_bounded(&mut self.incidents, incident, MAX_INCIDENTS);
        }
        for (name, used) in other.override_uses {
            self.override_uses.entry(name).or_default().merge(used);
        }
        for (key, lines) in other.block_lines {
            *self.block_lines.entry(key).or_default() += lines;
        }
    }

    /// Forgets every latency histogram (the counts stay): for time buckets
    /// that no longer need them.
    pub fn drop_latency(&mut self) {
        self.latency_without_error = Latency::default();
        self.all_code_stats_mut().for_each(|stats| stats.latency = Latency::default());
    }

    /// Adds per-code breakdowns counted apart from the lines (`--top` in a
    /// batch scan); one whose code is not kept on its own joins
    /// `other_codes`.
    pub fn put_breakdowns(&mut self, breakdowns: CodeBreakdowns) {
        let other = breakdowns.other.map(|other| (None, other));
        for (code, breakdown) in breakdowns.codes.into_iter().map(|(code, b)| (Some(code), b)).chain(other) {
            let stats = match code.and_then(|code| self.codes.get_mut(&code)) {
                Some(stats) => stats,
                None => self.other_codes.get_or_insert_with(Default::default),
            };
            stats.breakdown.get_or_insert_default().merge(&breakdown);
        }
    }

    /// Every code's statistics, `other_codes` last.
    pub fn all_code_stats_mut(&mut self) -> impl Iterator<Item = &mut CodeStats> {
        self.codes.values_mut().chain(self.other_codes.as_deref_mut())
    }

    /// Latency of all requests: those without an error body plus those of
    /// every code (each request with a body belongs to exactly one code).
    pub fn latency_all(&self) -> Latency {
        let mut all = self.latency_without_error.clone();
        for stats in self.codes.values().chain(self.other_codes.as_deref()) {
            all.merge(&stats.latency);
        }
        all
    }

    /// Lines read from input `file`, while block counts are kept.
    pub fn lines_of_file(&self, file: u32) -> u64 {
        self.block_lines.range((file, 0)..=(file, u64::MAX)).map(|(_, n)| n).sum()
    }

    /// Turns every stored position into block 0 and the line's 0-based
    /// index within its input, then forgets the block counts. Call once,
    /// after the last block was counted.
    pub fn resolve_positions(&mut self) {
        let block_lines = std::mem::take(&mut self.block_lines);
        let resolve = |position: &mut LinePosition| {
            let before: u64 =
                block_lines.range((position.file, 0)..(position.file, position.block)).map(|(_, n)| n).sum();
            *position = LinePosition { file: position.file, block: 0, line: before + position.line };
        };
        self.samples.iter_mut().for_each(|s| resolve(&mut s.position));
        self.incidents.iter_mut().for_each(|s| resolve(&mut s.position));
        for stats in self.all_code_stats_mut() {
            if let Some(breakdown) = &mut stats.breakdown {
                breakdown.samples.iter_mut().for_each(|s| resolve(&mut s.position));
                breakdown.prune();
            }
        }
    }

    /// Counts the lines of each input `i` from `first_lines[i]`, for a run
    /// that read inputs from where earlier runs stopped (positions already
    /// resolved).
    pub fn number_from(&mut self, first_lines: &[u64]) {
        let shift = |position: &mut LinePosition| {
            position.line += first_lines.get(position.file as usize).copied().unwrap_or(0);
        };
        self.samples.iter_mut().for_each(|s| shift(&mut s.position));
        self.incidents.iter_mut().for_each(|s| shift(&mut s.position));
        for stats in self.all_code_stats_mut() {
            if let Some(breakdown) = &mut stats.breakdown {
                breakdown.samples.iter_mut().for_each(|s| shift(&mut s.position));
            }
        }
    }

    /// Renumbers inputs: input `i` becomes `i + by` (for merging states,
    /// whose input lists are concatenated).
    pub fn shift_inputs(&mut self, by: u32) {
        self.samples.iter_mut().for_each(|s| s.position.file += by);
        self.incidents.iter_mut().for_each(|s| s.position.file += by);
        for stats in self.all_code_stats_mut() {
            if let Some(breakdown) = &mut stats.breakdown {
                breakdown.samples.iter_mut().for_each(|s| s.position.file += by);
            }
        }
    }
}

/// Request times outside this window (2000-01-01 to 2100-01-01 UTC) are
/// taken as clock or parsing errors: counted as invalid, left out of time
/// spans.
pub const PLAUSIBLE_TIMES: std::ops::Range<EpochMillis> = 946_684_800_000..4_102_444_800_000;

/// How many requests had a field that was logged but unusable: unparsable,
/// negative, out of range, or implausible (latency over an hour, time
/// outside [`PLAUSIBLE_TIMES`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidCounts {
    /// Request times.
    pub time: u64,
    /// HTTP statuses.
    pub status: u64,
    /// Latencies.
    pub latency: u64,
}

/// The fields of a request that go into the statistics, after plausibility
/// checks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Observed<'a> {
    /// Request time.
    pub time: Option<EpochMillis>,
    /// Time-series bucket of the request, when series are kept.
    pub bucket: Option<i64>,
    /// HTTP status.
    pub status: Option<u16>,
    /// Latency in microseconds.
    pub latency_us: Option<u64>,
    /// CTS trace `service_type`.
    pub service: Option<&'a str>,
    /// CTS trace `trace_name`.
    pub operation: Option<&'a str>,
    /// CTS trace `trace_rating`.
    pub rating: Option<TraceRating>,
}

/// Earliest and latest time seen.
pub type TimeSpan = Option<(EpochMillis, EpochMillis)>;

/// Extends `span` to cover `time`.
fn widen_span(span: &mut TimeSpan, time: EpochMillis) {
    *span = Some(span.map_or((time, time), |(first, last)| (first.min(time), last.max(time))));
}

/// The span covering both.
fn union_spans(a: TimeSpan, b: TimeSpan) -> TimeSpan {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (a, b) => a.or(b),
    }
}

/// Inserts `item` into the sorted `items`, keeping only the `limit`
/// smallest.
fn insert_bounded<T: Ord>(items: &mut Vec<T>, item: T, limit: usize) {
    if items.len() == limit && items.last().is_some_and(|last| item >= *last) {
        return;
    }
    let at = items.binary_search(&item).unwrap_or_else(|i| i);
    items.insert(at, item);
    items.truncate(limit);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str) -> Option<ErrorBody<'_>> {
        Some(ErrorBody { code, message: None, status: None, request_id: None })
    }

    fn record(status: u16, latency_us: u64, time: i64) -> Record<'static> {
        Record { status: Some(status), latency_us: Some(latency_us), time: Some(time), ..Record::default() }
    }

    fn sample_aggregate(seed: u64) -> Aggregate {
        let collect = Collect { bucket_ms: Some(5), breakdowns: true, latency: Precision::Exact };
        let mut a = Aggregate::default();
        a.add_block(0, seed, 4);
        let at = |line| LinePosition { file: 0, block: seed, line };
        a.add_record(&record(200, 1_000 * seed, seed as i64), None, at(0), &collect);
        a.add_record(
            &record(400, 2_000 * seed, 10 * seed as i64),
            body(if seed.is_multiple_of(2) { "CTS.0003" } else { "VPC.0514" }),
            at(1),
            &collect,
        );
        a.add_blank();
        let position = LinePosition { file: 0, block: seed, line: 3 };
        a.add_malformed(Malformed::InvalidJson, position, body("CTS.0001"));
        a
    }

    fn summary(a: &Aggregate) -> String {
        format!(
            "{} {} {} {:?} {:?} {} {} {:?} {:?} {:?} {:?} {:?} {:?}",
            a.lines,
            a.requests,
            a.blank,
            a.malformed,
            a.samples,
            a.error_bodies,
            a.malformed_bodies,
            a.request_buckets,
            a.statuses.iter().collect::<Vec<_>>(),
            a.latency_all().percentiles(),
            a.latency_without_error.percentiles(),
            a.time_span,
            a.codes.iter().map(|(c, s)| (c.clone(), s.summary())).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn merge_is_commutative_and_associative() {
        let parts: Vec<Aggregate> = (1..=7).map(sample_aggregate).collect();
        let mut left = Aggregate::default();
        parts.iter().cloned().for_each(|p| left.merge(p));
        let mut right = Aggregate::default();
        parts.iter().rev().cloned().for_each(|p| right.merge(p));
        let mut nested = parts[0].clone();
        let mut tail = parts[4].clone();
        parts[5..].iter().cloned().for_each(|p| tail.merge(p));
        parts[1..4].iter().cloned().for_each(|p| nested.merge(p));
        nested.merge(tail);
        assert_eq!(summary(&left), summary(&right));
        assert_eq!(summary(&left), summary(&nested));
        assert_eq!(left.lines, left.requests + left.blank + left.malformed_total());
        assert!(left.error_bodies <= left.requests);
        assert_eq!(left.malformed_bodies, 7);
        assert_eq!(left.codes["CTS.0001"].in_malformed, 7);
        assert_eq!(left.codes["CTS.0001"].count, 0);
        assert_eq!(left.samples.len(), MAX_SAMPLES);
        assert_eq!(left.samples[0].position.block, 1);
    }

    #[test]
    fn positions_resolve_to_lines_of_the_input() {
        let mut a = Aggregate::default();
        a.add_block(0, 0, 10);
        a.add_block(0, 1, 7);
        a.add_malformed(Malformed::InvalidJson, LinePosition { file: 0, block: 1, line: 2 }, None);
        a.resolve_positions();
        assert_eq!(a.samples[0].position, LinePosition { file: 0, block: 0, line: 12 });
        assert!(a.block_lines.is_empty());
    }

    #[test]
    fn the_state_form_round_trips() {
        let mut a = sample_aggregate(3);
        a.merge(sample_aggregate(4));
        a.resolve_positions();
        let text = serde_json::to_string(&a).unwrap();
        let back: Aggregate = serde_json::from_str(&text).unwrap();
        assert_eq!(summary(&back), summary(&a));
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }

    #[test]
    fn distinct_codes_are_bounded() {
        let mut a = Aggregate::default();
        for i in 0..MAX_CODES + 5 {
            let position = LinePosition { file: 0, block: 0, line: 0 };
            a.add_record(&Record::default(), body(&format!("X.{i:06}")), position, &Collect::default());
        }
        assert_eq!(a.codes.len(), MAX_CODES);
        assert_eq!(a.other_codes.as_ref().unwrap().count, 5);
        assert_eq!(a.error_bodies, MAX_CODES as u64 + 5);
    }
}
