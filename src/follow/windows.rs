//! The sliding windows of `--follow`: a ring of fine time buckets, each an
//! [`Aggregate`] of the requests whose time falls in it, covering the
//! longest window and the 30-minute sparkline. A window is the merge of its
//! buckets, so every figure of a window (counts, rates, percentiles,
//! breakdowns, `--alert` rules) is computed as for a batch report.
//!
//! Windows end on the wall clock, which the caller passes in
//! ([`Windows::advance`], [`Windows::add_request`]); they never read the
//! clock themselves. A request counts in the bucket of its logged time (a
//! late line in its own, older bucket; a line without a time at the time
//! it arrived, which the caller passes as its time). The windows end at the
//! end of the bucket holding the wall clock, or of the next one when a
//! request within [`SLACK_MS`] ahead of the clock falls in it: the newest
//! bucket not ahead of the clock plus the slack. A request stamped further
//! ahead, or older than the ring, is counted as [out of
//! window](Windows::out_of_window) and nowhere else here (the since-start
//! totals are kept by the caller): it never moves the windows. The
//! windows slide with the clock also when nothing arrives, so counts fall
//! to 0 and alerts resolve; they never slide back when the clock does.
//!
//! Memory is bounded by the ring: buckets older than the ring are dropped,
//! and buckets older than the latency window drop their histograms, which
//! are kept with two significant digits.

use std::collections::BTreeMap;

use crate::aggregate::{Aggregate, Collect, LinePosition, Precision};
use crate::extract::ErrorBody;
use crate::record::Record;

/// Width of a bucket: windows move in steps of this.
pub const BUCKET_MS: i64 = 10_000;

/// How far ahead of the wall clock a request's time may be and still
/// count in the windows (one bucket, 10 s): clocks of log writers drift a
/// little. A request stamped further ahead is out of window.
pub const SLACK_MS: i64 = BUCKET_MS;

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
    /// The latest wall clock given, in epoch milliseconds.
    now: Option<i64>,
    /// The index of the bucket the windows end with.
    end: Option<i64>,
    /// Requests stamped ahead of the clock plus the slack, or older than
    /// the ring.
    out_of_window: u64,
}

/// What the window buckets collect.
pub const LIVE: Collect = Collect { bucket_ms: None, breakdowns: true, latency: Precision::Live };

impl Windows {
    /// Windows of these lengths (milliseconds, each a multiple of
    /// [`BUCKET_MS`]); latency is kept over the middle one. They have no
    /// end until the first [`Windows::advance`] or request.
    pub fn new(mut lengths: Vec<i64>) -> Windows {
        lengths.sort_unstable();
        lengths.dedup();
        let latency_window = lengths.get(lengths.len() / 2).copied().unwrap_or(300_000);
        let span = lengths.last().copied().unwrap_or(0).max(SPARKLINE_MINUTES as i64 * 60_000);
        Windows { lengths, latency_window, span, ring: BTreeMap::new(), now: None, end: None, out_of_window: 0 }
    }

    /// The window lengths, shortest first.
    pub fn lengths(&self) -> &[i64] {
        &self.lengths
    }

    /// The window latency is shown for.
    pub fn latency_window(&self) -> i64 {
        self.latency_window
    }

    /// Moves the windows to the wall clock `now_ms` (epoch milliseconds):
    /// they end with the bucket holding it at the earliest, and buckets
    /// that fall out of the ring are dropped. A clock earlier than one
    /// given before leaves the windows where they are.
    pub fn advance(&mut self, now_ms: i64) {
        let now = self.now.map_or(now_ms, |n| n.max(now_ms));
        self.now = Some(now);
        self.move_end(now.div_euclid(BUCKET_MS));
    }

    /// Counts a request at `time_ms` (its logged time, or its arrival when
    /// it has none) after moving the windows to the wall clock `now_ms`
    /// ([`Windows::advance`]). A request stamped more than [`SLACK_MS`]
    /// ahead of the clock, or older than the ring, counts only as
    /// [out of window](Windows::out_of_window).
    pub fn add_request(
        &mut self,
        time_ms: i64,
        record: &Record<'_>,
        body: Option<ErrorBody<'_>>,
        position: LinePosition,
        now_ms: i64,
    ) {
        self.advance(now_ms);
        let Some(now) = self.now else { return };
        if time_ms > now.saturating_add(SLACK_MS) {
            self.out_of_window += 1;
            return;
        }
        let index = time_ms.div_euclid(BUCKET_MS);
        self.move_end(index);
        let Some(end) = self.end else { return };
        if index < self.oldest_kept(end) {
            self.out_of_window += 1;
            return;
        }
        let precision_kept = (end - index) * BUCKET_MS < self.latency_window;
        let bucket = self.ring.entry(index).or_default();
        if precision_kept {
            bucket.add_record(record, body, position, &LIVE);
        } else {
            bucket.add_record(&Record { latency_us: None, ..record.clone() }, body, position, &LIVE);
        }
    }

    /// Requests stamped more than [`SLACK_MS`] ahead of the clock or older
    /// than the ring, since the start: counted in no window.
    pub fn out_of_window(&self) -> u64 {
        self.out_of_window
    }

    /// Ends the windows with bucket `index` if it is newer than their end,
    /// and drops what falls out of the ring.
    fn move_end(&mut self, index: i64) {
        if self.end.is_some_and(|end| end >= index) {
            return;
        }
        self.end = Some(index);
        self.expire();
    }

    /// The index of the oldest bucket the ring keeps when the windows end
    /// with bucket `end`.
    fn oldest_kept(&self, end: i64) -> i64 {
        end - self.span / BUCKET_MS + 1
    }

    /// Drops buckets older than the ring, and the latency of buckets older
    /// than the latency window.
    fn expire(&mut self) {
        let Some(end) = self.end else { return };
        self.ring = self.ring.split_off(&self.oldest_kept(end));
        let latency_from = end - self.latency_window / BUCKET_MS + 1;
        for (_, bucket) in self.ring.range_mut(..latency_from) {
            bucket.drop_latency();
        }
    }

    /// The end of the windows (epoch milliseconds): the end of the newest
    /// bucket not ahead of the wall clock plus [`SLACK_MS`]; `None` before
    /// the clock was first given.
    pub fn end_ms(&self) -> Option<i64> {
        self.end.map(|n| (n + 1) * BUCKET_MS)
    }

    /// The requests of the last `length_ms`.
    pub fn window(&self, length_ms: i64) -> Aggregate {
        self.between(0, length_ms)
    }

    /// The requests from `to_ms` to `from_ms` before the end (`from_ms <
    /// to_ms`): a baseline that leaves out the newest stretch.
    pub fn between(&self, from_ms: i64, to_ms: i64) -> Aggregate {
        let mut merged = Aggregate::default();
        let Some(end) = self.end else { return merged };
        let (first, last) = (end - to_ms / BUCKET_MS + 1, end - from_ms / BUCKET_MS);
        // One window only (`--windows 1m`): no baseline before it.
        if first > last {
            return merged;
        }
        for (_, bucket) in self.ring.range(first..=last) {
            merged.merge(bucket.clone());
        }
        merged
    }

    /// `(requests, errors of code)` per bucket, oldest first, over the
    /// whole ring (empty buckets included).
    pub fn series(&self, code: &str) -> (Vec<u64>, Vec<u64>) {
        let Some(end) = self.end else { return (Vec::new(), Vec::new()) };
        (self.oldest_kept(end)..=end)
            .map(|i| match self.ring.get(&i) {
                Some(b) => (b.requests, b.codes.get(code).map_or(0, |s| s.count)),
                None => (0, 0),
            })
            .unzip()
    }

    /// The start of the first bucket of [`Windows::series`].
    pub fn series_start_ms(&self) -> Option<i64> {
        self.end.map(|end| self.oldest_kept(end) * BUCKET_MS)
    }
}

/// Counts a request at `time_ms` with an error body of `code`, if any, on
/// the wall clock `now_ms`: for the tests of the windows and of what reads
/// them.
#[cfg(test)]
pub(super) fn add_test_request(windows: &mut Windows, time_ms: i64, code: Option<&str>, now_ms: i64) {
    let record = Record { time: Some(time_ms), status: Some(500), latency_us: Some(1000), ..Record::default() };
    let body = code.map(|code| ErrorBody { code, message: None, status: None, request_id: None });
    windows.add_request(time_ms, &record, body, LinePosition { file: 0, block: 0, line: 0 }, now_ms);
}

/// A window's length as shown: `1m`, `90s`, `2h`.
pub fn label(ms: i64) -> String {
    match ms {
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms => format!("{}s", ms / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-27T00:00:00Z.
    const T0: i64 = 1_795_737_600_000;

    /// A request logged at `time_ms` and read at once.
    fn at(windows: &mut Windows, time_ms: i64, code: Option<&str>) {
        add_test_request(windows, time_ms, code, time_ms);
    }

    #[test]
    fn windows_count_the_requests_of_their_time() {
        let mut w = Windows::new(vec![60_000, 300_000, 900_000]);
        let t0 = T0;
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
        assert_eq!(w.out_of_window(), 0);
    }

    #[test]
    fn one_window_alone_has_an_empty_baseline() {
        let mut w = Windows::new(vec![60_000]);
        at(&mut w, T0, Some("CTS.0003"));
        assert_eq!(w.between(60_000, 60_000).requests, 0);
        assert_eq!(w.window(60_000).requests, 1);
    }

    #[test]
    fn the_ring_stays_bounded() {
        let mut w = Windows::new(vec![60_000, 300_000, 900_000]);
        for second in 0..86_400 {
            at(&mut w, T0 + second * 1000, Some("CTS.0003"));
        }
        assert!(w.ring.len() <= 180);
        // Too old for the ring: only since the start.
        at(&mut w, T0, Some("CTS.0001"));
        assert!(!w.window(900_000).codes.contains_key("CTS.0001"));
        assert_eq!(w.out_of_window(), 1);
    }

    #[test]
    fn far_future_and_far_past_lines_never_move_the_windows() {
        let mut w = Windows::new(vec![60_000, 300_000, 900_000]);
        let now = T0 + 3_000;
        add_test_request(&mut w, now, Some("CTS.0003"), now);
        let end = w.end_ms();
        assert_eq!(end, Some(T0 + BUCKET_MS));
        // 2099-06-01T00:00:00Z and 1950-01-01T00:00:00Z.
        add_test_request(&mut w, 4_083_955_200_000, Some("CTS.0004"), now);
        add_test_request(&mut w, -631_152_000_000, Some("CTS.0004"), now);
        // Neither the clock's extremes.
        add_test_request(&mut w, i64::MAX, None, now);
        add_test_request(&mut w, i64::MIN, None, now);
        assert_eq!((w.end_ms(), w.out_of_window()), (end, 4));
        let window = w.window(60_000);
        assert_eq!((window.requests, window.codes.len()), (1, 1));
        // Within the slack ahead of the clock: counted, and the windows end
        // with its bucket; beyond it: out of window.
        add_test_request(&mut w, now + SLACK_MS, None, now);
        assert_eq!((w.end_ms(), w.window(60_000).requests), (Some(T0 + 2 * BUCKET_MS), 2));
        add_test_request(&mut w, now + SLACK_MS + 1, None, now);
        assert_eq!((w.end_ms(), w.window(60_000).requests, w.out_of_window()), (Some(T0 + 2 * BUCKET_MS), 2, 5));
        // A line without a time counts at its arrival.
        add_test_request(&mut w, now + 1, None, now + 1);
        assert_eq!(w.window(60_000).requests, 3);
    }

    #[test]
    fn windows_slide_on_the_wall_clock_without_traffic() {
        let mut w = Windows::new(vec![60_000, 300_000, 900_000]);
        assert_eq!(w.end_ms(), None);
        w.advance(T0);
        assert_eq!(w.end_ms(), Some(T0 + BUCKET_MS));
        for i in 0..5 {
            add_test_request(&mut w, T0 + i, Some("CTS.0004"), T0 + i);
        }
        assert_eq!(w.window(60_000).codes["CTS.0004"].count, 5);
        // Nothing arrives; the clock goes on.
        w.advance(T0 + 59_999);
        assert_eq!(w.window(60_000).requests, 5);
        w.advance(T0 + 60_000);
        assert_eq!((w.window(60_000).requests, w.window(300_000).requests), (0, 5));
        w.advance(T0 + 3_600_000);
        assert_eq!((w.window(900_000).requests, w.ring.len()), (0, 0));
        assert_eq!(w.end_ms(), Some(T0 + 3_600_000 + BUCKET_MS));
        // A clock that steps back leaves the windows where they are.
        w.advance(T0);
        assert_eq!(w.end_ms(), Some(T0 + 3_600_000 + BUCKET_MS));
        let (requests, _) = w.series("CTS.0004");
        assert_eq!((requests.len(), requests.iter().sum::<u64>()), (180, 0));
    }
}
