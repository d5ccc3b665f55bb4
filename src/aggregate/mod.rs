//! Per-worker statistics and their merge.
//!
//! Workers fold records into their own [`Aggregate`]; aggregates merge with
//! [`Aggregate::merge`], which is associative and commutative, so the result
//! is the same for any thread count and block size. Every bounded collection
//! (malformed samples, messages per code, distinct codes) keeps the
//! *smallest* entries by a fixed order, which is what makes the bound
//! deterministic under merging.

mod breakdown;
mod buckets;
mod code_stats;
mod latency;

use std::collections::BTreeMap;

pub use breakdown::{Breakdown, CappedCounts, MAX_REQUEST_SAMPLES, RequestSample, normalize_endpoint, project_id};
pub use buckets::{Buckets, MAX_BUCKETS};
pub use code_stats::{CodeStats, TopStrings};
pub use latency::{Latency, MAX_LATENCY_US, Percentiles};

use crate::extract::ErrorBody;
use crate::lex::time::EpochMillis;
use crate::record::{Malformed, Record};

/// Malformed-line samples kept (the earliest in input order).
pub const MAX_SAMPLES: usize = 5;

/// Distinct error codes kept; further codes (the largest in byte order) are
/// folded into [`Aggregate::other_codes`]. Only hostile input gets there.
pub const MAX_CODES: usize = 10_000;

/// Where a line is: input file, block within the file, line within the
/// block (0-based). Absolute line numbers are worked out from
/// [`Aggregate::block_lines`] once all blocks are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinePosition {
    /// Index of the input.
    pub file: u32,
    /// Index of the block within the input.
    pub block: u64,
    /// Index of the line within the block.
    pub line: u64,
}

/// A malformed line, for the report's samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MalformedSample {
    /// Where the line is.
    pub position: LinePosition,
    /// What is wrong with it.
    pub kind: Malformed,
}

/// HTTP status counts, 100 to 599.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCounts(Box<[u64; 500]>);

impl Default for StatusCounts {
    fn default() -> Self {
        StatusCounts(Box::new([0; 500]))
    }
}

impl StatusCounts {
    fn add(&mut self, status: u16) {
        self.add_count(status, 1);
    }

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

/// Everything counted over some lines.
#[derive(Clone, Debug, Default)]
pub struct Aggregate {
    /// Lines read, of every outcome.
    pub lines: u64,
    /// Lines that parsed as requests.
    pub requests: u64,
    /// Empty or whitespace-only lines.
    pub blank: u64,
    /// Requests left out by a filter.
    pub filtered: u64,
    /// Malformed lines by kind, in [`Malformed::ALL`] order.
    pub malformed: [u64; 4],
    /// The earliest malformed lines.
    pub samples: Vec<MalformedSample>,
    /// Malformed lines per input.
    pub malformed_by_file: BTreeMap<u32, u64>,
    /// Lines with an error body (requests and malformed lines alike).
    pub error_bodies: u64,
    /// Status counts over all requests.
    pub statuses: StatusCounts,
    /// Latency of requests without an error body; with the per-code
    /// latencies it makes up [`Aggregate::latency_all`].
    pub latency_without_error: Latency,
    /// Earliest and latest request time.
    pub time_span: TimeSpan,
    /// Fields that were logged but could not be used.
    pub invalid: InvalidCounts,
    /// Statistics per error code.
    pub codes: BTreeMap<String, CodeStats>,
    /// Codes beyond [`MAX_CODES`], together.
    pub other_codes: Option<Box<CodeStats>>,
    /// With `--top N`: keep per-code breakdowns and show the top N.
    pub top: Option<usize>,
    /// Time-series bucket size in milliseconds, when series are kept.
    pub bucket_ms: Option<i64>,
    /// Requests per time bucket (with `bucket_ms`).
    pub request_buckets: Buckets,
    /// Lines per block, `(file, block) → lines`, to number lines.
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
    pub fn add_filtered(&mut self) {
        self.filtered += 1;
    }

    /// Counts a request and its error body, if any.
    pub fn add_record(&mut self, record: &Record<'_>, body: Option<ErrorBody<'_>>, position: LinePosition) {
        self.requests += 1;
        let mut observed = self.observe(record);
        observed.status = observed.status.or(body.and_then(|b| b.status));
        if let Some(status) = observed.status {
            self.statuses.add(status);
        }
        if let (Some(us), None) = (observed.latency_us, &body) {
            self.latency_without_error.record(us);
        }
        if let Some(time) = observed.time {
            widen_span(&mut self.time_span, time);
        }
        if let Some(bucket) = observed.bucket {
            self.request_buckets.add(bucket, 1);
        }
        if let Some(body) = body {
            self.error_bodies += 1;
            let top = self.top.is_some();
            let stats = self.code_stats(body.code);
            stats.add(&observed, body.message);
            if top {
                let request_id = record.request_id.and_then(|id| std::str::from_utf8(id).ok()).or(body.request_id);
                stats.breakdown.get_or_insert_default().add(
                    record.method,
                    record.uri,
                    record.client,
                    request_id,
                    position,
                );
            }
        }
    }

    /// The plausible fields of `record`; the rest are counted as invalid.
    fn observe<'a>(&mut self, record: &Record<'a>) -> Observed<'a> {
        let time = record.time.filter(|t| PLAUSIBLE_TIMES.contains(t));
        let latency_us = record.latency_us.filter(|&us| us <= MAX_LATENCY_US);
        self.invalid.time += u64::from(record.invalid.time || time != record.time);
        self.invalid.status += u64::from(record.invalid.status);
        self.invalid.latency += u64::from(record.invalid.latency || latency_us != record.latency_us);
        let label = |bytes: Option<&'a [u8]>| bytes.map(|b| std::str::from_utf8(b).unwrap_or("(not UTF-8)"));
        Observed {
            time,
            bucket: self.bucket_ms.zip(time).map(|(size, t)| t.div_euclid(size)),
            status: record.status,
            latency_us,
            service: label(record.service),
            operation: label(record.operation),
        }
    }

    /// Counts a malformed line; an error body found in it still counts for
    /// its code, with the status the body itself carries, if any.
    pub fn add_malformed(&mut self, kind: Malformed, position: LinePosition, body: Option<ErrorBody<'_>>) {
        self.malformed[kind as usize] += 1;
        *self.malformed_by_file.entry(position.file).or_default() += 1;
        insert_bounded(&mut self.samples, MalformedSample { position, kind }, MAX_SAMPLES);
        if let Some(body) = body {
            self.error_bodies += 1;
            let observed = Observed { status: body.status, ..Observed::default() };
            self.code_stats(body.code).add(&observed, body.message);
        }
    }

    /// Total malformed lines.
    pub fn malformed_total(&self) -> u64 {
        self.malformed.iter().sum()
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

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: Aggregate) {
        self.lines += other.lines;
        self.requests += other.requests;
        self.blank += other.blank;
        self.filtered += other.filtered;
        self.malformed.iter_mut().zip(other.malformed).for_each(|(a, b)| *a += b);
        for sample in other.samples {
            insert_bounded(&mut self.samples, sample, MAX_SAMPLES);
        }
        for (file, n) in other.malformed_by_file {
            *self.malformed_by_file.entry(file).or_default() += n;
        }
        self.error_bodies += other.error_bodies;
        self.statuses.merge(&other.statuses);
        self.latency_without_error.merge(&other.latency_without_error);
        self.time_span = union_spans(self.time_span, other.time_span);
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
        self.bucket_ms = self.bucket_ms.or(other.bucket_ms);
        self.top = self.top.max(other.top);
        self.request_buckets.merge(&other.request_buckets);
        for (key, lines) in other.block_lines {
            *self.block_lines.entry(key).or_default() += lines;
        }
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

    /// Lines read from input `file`.
    pub fn lines_of_file(&self, file: u32) -> u64 {
        self.block_lines.range((file, 0)..=(file, u64::MAX)).map(|(_, n)| n).sum()
    }

    /// The 1-based line number of `position` within its file.
    pub fn line_number(&self, position: LinePosition) -> u64 {
        let before: u64 =
            self.block_lines.range((position.file, 0)..(position.file, position.block)).map(|(_, lines)| lines).sum();
        before + position.line + 1
    }
}

/// Request times outside this window (2000-01-01 to 2100-01-01 UTC) are
/// taken as clock or parsing errors: counted as invalid, left out of time
/// spans.
pub const PLAUSIBLE_TIMES: std::ops::Range<EpochMillis> = 946_684_800_000..4_102_444_800_000;

/// How many requests had a field that was logged but unusable: unparsable,
/// negative, out of range, or implausible (latency over an hour, time
/// outside [`PLAUSIBLE_TIMES`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
        let mut a = Aggregate { top: Some(3), ..Aggregate::default() };
        a.add_block(0, seed, 4);
        let at = |line| LinePosition { file: 0, block: seed, line };
        a.add_record(&record(200, 1_000 * seed, seed as i64), None, at(0));
        a.add_record(
            &record(400, 2_000 * seed, 10 * seed as i64),
            body(if seed.is_multiple_of(2) { "CTS.0003" } else { "VPC.0514" }),
            at(1),
        );
        a.add_blank();
        let position = LinePosition { file: 0, block: seed, line: 3 };
        a.add_malformed(Malformed::InvalidJson, position, body("CTS.0001"));
        a
    }

    fn summary(a: &Aggregate) -> String {
        format!(
            "{} {} {} {:?} {:?} {} {:?} {:?} {:?} {:?} {:?}",
            a.lines,
            a.requests,
            a.blank,
            a.malformed,
            a.samples,
            a.error_bodies,
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
        assert_eq!(left.samples.len(), MAX_SAMPLES);
        assert_eq!(left.samples[0].position.block, 1);
    }

    #[test]
    fn line_numbers_count_earlier_blocks_of_the_same_file() {
        let mut a = Aggregate::default();
        a.add_block(0, 0, 10);
        a.add_block(0, 1, 7);
        a.add_block(1, 0, 3);
        assert_eq!(a.line_number(LinePosition { file: 0, block: 1, line: 2 }), 13);
        assert_eq!(a.line_number(LinePosition { file: 1, block: 0, line: 0 }), 1);
    }

    #[test]
    fn distinct_codes_are_bounded() {
        let mut a = Aggregate::default();
        for i in 0..MAX_CODES + 5 {
            a.add_record(&Record::default(), body(&format!("X.{i:06}")), LinePosition { file: 0, block: 0, line: 0 });
        }
        assert_eq!(a.codes.len(), MAX_CODES);
        assert_eq!(a.other_codes.as_ref().unwrap().count, 5);
        assert_eq!(a.error_bodies, MAX_CODES as u64 + 5);
    }
}
