//! The sliding windows of `--follow`: a ring of fine time buckets, each an
//! [`Aggregate`] of the requests whose time falls in it, covering the
//! longest window and the 30-minute sparkline. A window is the merge of its
//! buckets, so every figure of a window (counts, rates, percentiles,
//! breakdowns, `--alert` rules) is computed as for a batch report.
//!
//! Window time is the log's own: a request counts in the bucket of its
//! logged time, a late line in its own (older) bucket, and a line without a
//! time at the time it arrived. Windows end at the end of the newest
//! bucket. Memory is bounded by the ring: buckets older than the ring are
//! dropped, and buckets older than the latency window drop their
//! histograms, which are kept with two significant digits.

use std::collections::BTreeMap;

use crate::aggregate::{Aggregate, Collect, LinePosition, Precision};
use crate::extract::ErrorBody;
use crate::record::Record;

/// Width of a bucket: windows move in steps of this.
pub const BUCKET_MS: i64 = 10_000;

/// Length of the sparkline, in minutes.
pub const SPARKLINE_MINUTES: usize = 30;

/// Buckets of time, newest last.
#[derive(Debug)]
pub struct Windows {
    /// Window lengths in milliseconds, shortest first.
    lengths: Vec<i64>,
    /// The window whose latency is kept and shown (the middle one).
    latency_window: i64,
    /// How far back buckets are kept.
    span: i64,
    ring: BTreeMap<i64, Aggregate>,
    newest: Option<i64>,
}

/// What the window buckets collect.
pub const LIVE: Collect = Collect { bucket_ms: None, breakdowns: true, latency: Precision::Live };

impl Windows {
    /// Windows of these lengths (milliseconds, each a multiple of
    /// [`BUCKET_MS`]); latency is kept over the middle one.
    pub fn new(mut lengths: Vec<i64>) -> Windows {
        lengths.sort_unstable();
        lengths.dedup();
        let latency_window = lengths.get(lengths.len() / 2).copied().unwrap_or(300_000);
        let span = lengths.last().copied().unwrap_or(0).max(SPARKLINE_MINUTES as i64 * 60_000);
        Windows { lengths, latency_window, span, ring: BTreeMap::new(), newest: None }
    }

    /// The window lengths, shortest first.
    pub fn lengths(&self) -> &[i64] {
        &self.lengths
    }

    /// The window latency is shown for.
    pub fn latency_window(&self) -> i64 {
        self.latency_window
    }

    /// Counts a request at `time_ms`; one older than the ring counts only
    /// since the start.
    pub fn add_request(
        &mut self,
        time_ms: i64,
        record: &Record<'_>,
        body: Option<ErrorBody<'_>>,
        position: LinePosition,
    ) {
        let index = time_ms.div_euclid(BUCKET_MS);
        let newest = self.newest.map_or(index, |n| n.max(index));
        if (newest - index) * BUCKET_MS >= self.span {
            return;
        }
        if self.newest != Some(newest) {
            self.newest = Some(newest);
            self.expire();
        }
        let precision_kept = (newest - index) * BUCKET_MS < self.latency_window;
        let bucket = self.ring.entry(index).or_default();
        if precision_kept {
            bucket.add_record(record, body, position, &LIVE);
        } else {
            bucket.add_record(&Record { latency_us: None, ..record.clone() }, body, position, &LIVE);
        }
    }

    /// Drops buckets older than the ring, and the latency of buckets older
    /// than the latency window.
    fn expire(&mut self) {
        let Some(newest) = self.newest else { return };
        let oldest_kept = newest - self.span / BUCKET_MS + 1;
        self.ring = self.ring.split_off(&oldest_kept);
        let latency_from = newest - self.latency_window / BUCKET_MS + 1;
        for (_, bucket) in self.ring.range_mut(..latency_from) {
            bucket.drop_latency();
        }
    }

    /// The end of the windows (epoch milliseconds): the end of the newest
    /// bucket.
    pub fn end_ms(&self) -> Option<i64> {
        self.newest.map(|n| (n + 1) * BUCKET_MS)
    }

    /// The requests of the last `length_ms`.
    pub fn window(&self, length_ms: i64) -> Aggregate {
        self.between(0, length_ms)
    }

    /// The requests from `to_ms` to `from_ms` before the end (`from_ms <
    /// to_ms`): a baseline that leaves out the newest stretch.
    pub fn between(&self, from_ms: i64, to_ms: i64) -> Aggregate {
        let mut merged = Aggregate::default();
        let Some(newest) = self.newest else { return merged };
        let (first, last) = (newest - to_ms / BUCKET_MS + 1, newest - from_ms / BUCKET_MS);
        for (_, bucket) in self.ring.range(first..=last) {
            merged.merge(bucket.clone());
        }
        merged
    }

    /// `(requests, errors of code)` per bucket, oldest first, over the
    /// whole ring (empty buckets included).
    pub fn series(&self, code: &str) -> (Vec<u64>, Vec<u64>) {
        let Some(newest) = self.newest else { return (Vec::new(), Vec::new()) };
        let first = newest - self.span / BUCKET_MS + 1;
        (first..=newest)
            .map(|i| match self.ring.get(&i) {
                Some(b) => (b.requests, b.codes.get(code).map_or(0, |s| s.count)),
                None => (0, 0),
            })
            .unzip()
    }

    /// The start of the first bucket of [`Windows::series`].
    pub fn series_start_ms(&self) -> Option<i64> {
        self.newest.map(|n| (n - self.span / BUCKET_MS + 1) * BUCKET_MS)
    }
}

/// Counts a request at `time_ms` with an error body of `code`, if any:
/// for the tests of the windows and of what reads them.
#[cfg(test)]
pub(super) fn add_test_request(windows: &mut Windows, time_ms: i64, code: Option<&str>) {
    let record = Record { time: Some(time_ms), status: Some(500), latency_us: Some(1000), ..Record::default() };
    let body = code.map(|code| ErrorBody { code, message: None, status: None, request_id: None });
    windows.add_request(time_ms, &record, body, LinePosition { file: 0, block: 0, line: 0 });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(windows: &mut Windows, time_ms: i64, code: Option<&str>) {
        add_test_request(windows, time_ms, code);
    }

    #[test]
    fn windows_count_the_requests_of_their_time() {
        let mut w = Windows::new(vec![60_000, 300_000, 900_000]);
        let t0 = 1_795_737_600_000; // 2026-11-27T00:00:00Z
        for minute in 0..20 {
            at(&mut w, t0 + minute * 60_000, Some("CTS.0003"));
            at(&mut w, t0 + minute * 60_000 + 1, None);
        }
        assert_eq!(w.end_ms(), Some(t0 + 19 * 60_000 + BUCKET_MS));
        assert_eq!(w.window(60_000).requests, 2);
        assert_eq!(w.window(300_000).codes["CTS.0003"].count, 5);
        assert_eq!(w.window(900_000).codes["CTS.0003"].count, 15);
        // A late line counts in its own bucket.
        at(&mut w, t0 + 10 * 60_000, Some("CTS.0004"));
        assert_eq!(w.window(900_000).codes["CTS.0004"].count, 1);
        assert!(!w.window(300_000).codes.contains_key("CTS.0004"));
        // Latency is kept over the latency window only.
        assert!(w.window(300_000).codes["CTS.0003"].latency.percentiles().is_some());
        assert_eq!(w.between(300_000, 900_000).codes["CTS.0003"].latency.percentiles(), None);
        let (requests, errors) = w.series("CTS.0003");
        assert_eq!(requests.len(), 180);
        assert_eq!(errors.iter().sum::<u64>(), 20);
    }

    #[test]
    fn the_ring_stays_bounded() {
        let mut w = Windows::new(vec![60_000, 300_000, 900_000]);
        for second in 0..86_400 {
            at(&mut w, 1_795_737_600_000 + second * 1000, Some("CTS.0003"));
        }
        assert!(w.ring.len() <= 180);
        // Too old for the ring: only since the start.
        at(&mut w, 1_795_737_600_000, Some("CTS.0001"));
        assert!(!w.window(900_000).codes.contains_key("CTS.0001"));
    }
}
