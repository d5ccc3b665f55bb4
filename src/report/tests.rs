//! [`Report::build`] on small hand-built states, with figures checked by
//! hand: the accounting, rates per 1,000 requests and per minute, shares,
//! percentiles within the histogram's precision, the catalogue join,
//! `--code` views and empty inputs.

use super::*;
use crate::aggregate::{Collect, LinePosition};
use crate::extract::ErrorBody;
use crate::filter::Filter;
use crate::record::Record;

/// 2026-01-15T10:00:00Z.
const T0: i64 = 1_768_471_200_000;

/// Lines of one input (`web1.log`, one block), counted as a scan would.
struct Lines {
    agg: Aggregate,
    collect: Collect,
    next: u64,
}

/// One request line.
#[derive(Clone, Copy, Default)]
struct Line {
    /// Seconds after [`T0`].
    at: Option<i64>,
    status: Option<u16>,
    latency_us: Option<u64>,
    /// The error body's code and message.
    body: Option<(&'static str, Option<&'static str>)>,
}

impl Lines {
    fn new(collect: Collect) -> Lines {
        Lines { agg: Aggregate::default(), collect, next: 0 }
    }

    fn position(&mut self) -> LinePosition {
        self.next += 1;
        LinePosition { file: 0, block: 0, line: self.next - 1 }
    }

    fn request(&mut self, line: Line) -> &mut Lines {
        let record = Record {
            time: line.at.map(|s| T0 + s * 1000),
            status: line.status,
            latency_us: line.latency_us,
            ..Record::default()
        };
        let body = line.body.map(|(code, message)| ErrorBody { code, message, status: None, request_id: None });
        let position = self.position();
        self.agg.add_record(&record, body, position, &self.collect);
        self
    }

    fn blank(&mut self) -> &mut Lines {
        self.position();
        self.agg.add_blank();
        self
    }

    fn malformed(&mut self, code: Option<&'static str>) -> &mut Lines {
        let body = code.map(|code| ErrorBody { code, message: None, status: None, request_id: None });
        let position = self.position();
        self.agg.add_malformed(Malformed::Truncated, position, body);
        self
    }

    fn state(&mut self, filter: Filter) -> State {
        let mut agg = std::mem::take(&mut self.agg);
        agg.add_block(0, 0, self.next);
        agg.resolve_positions();
        let input = InputSummary {
            path: "web1.log".to_owned(),
            format: None,
            wrapper: None,
            compression: None,
            bytes: self.next * 100,
            raw_bytes: self.next * 100,
            lines: self.next,
            malformed: agg.malformed_total(),
            not_requests: 0,
            fingerprint: None,
            looks_like: None,
            skipped: false,
            error: None,
        };
        State::new(vec![input], Vec::new(), filter, self.collect, None, agg)
    }
}

fn ok(at: i64, latency_ms: u64) -> Line {
    Line { at: Some(at), status: Some(200), latency_us: Some(latency_ms * 1000), body: None }
}

fn error(at: i64, status: u16, latency_ms: Option<u64>, code: &'static str, message: &'static str) -> Line {
    Line {
        at: Some(at),
        status: Some(status),
        latency_us: latency_ms.map(|ms| ms * 1000),
        body: Some((code, Some(message))),
    }
}

/// Ten lines over two minutes: 4 plain requests (10, 20, 30, 40 ms), a
/// blank line, 3 `CTS.0003` (documented 400; one logged as 500) at 100,
/// 200, 300 ms, one `APIGW.0301` without a latency, and a truncated line
/// with a `CTS.0003` body.
fn ten_lines() -> State {
    const DOCUMENTED: &str = "Invalid message body. The message body is empty or invalid.";
    Lines::new(Collect::default())
        .request(ok(0, 10))
        .request(ok(10, 20))
        .blank()
        .request(ok(20, 30))
        .request(ok(30, 40))
        .request(error(40, 400, Some(100), "CTS.0003", DOCUMENTED))
        .request(error(50, 400, Some(200), "CTS.0003", "body empty"))
        .request(error(60, 500, Some(300), "CTS.0003", "body empty"))
        .request(error(120, 404, None, "APIGW.0301", "Not found"))
        .malformed(Some("CTS.0003"))
        .state(Filter::default())
}

fn code<'r>(report: &'r Report, code: &str) -> &'r CodeReport {
    report.codes.iter().find(|c| c.code == code).unwrap_or_else(|| panic!("{code} is not in the report"))
}

/// Asserts that `got` (ms) is within 0.1 % of the exact nearest-rank value.
#[track_caller]
fn assert_near(got: f64, exact_ms: f64) {
    assert!((got - exact_ms).abs() <= exact_ms / 1000.0, "{got} ms is not within 0.1 % of {exact_ms} ms");
}

fn codes_of(report: &Report) -> Vec<&str> {
    report.codes.iter().map(|c| c.code.as_str()).collect()
}

fn patterns(patterns: &[&str]) -> Vec<CodePattern> {
    patterns.iter().map(|p| CodePattern::parse(p).unwrap()).collect()
}

#[test]
fn every_line_is_accounted_for() {
    let report = Report::of(&ten_lines());
    let s = &report.summary;
    assert_eq!((s.files, s.bytes, s.lines), (1, 1000, 10));
    assert_eq!((s.requests, s.blank, s.malformed, s.filtered), (8, 1, 1, 0));
    assert_eq!(s.lines, s.requests + s.blank + s.malformed + s.filtered);
    assert_eq!(s.malformed_by_kind, BTreeMap::from([(Malformed::Truncated, 1)]));
    let sample = &s.malformed_samples[0];
    assert_eq!((sample.file.as_str(), sample.line, sample.kind), ("web1.log", 10, Malformed::Truncated));
    assert_eq!(s.statuses, BTreeMap::from([(200, 4), (400, 2), (404, 1), (500, 1)]));
    assert_eq!(s.first_time.as_deref(), Some("2026-01-15T10:00:00.000Z"));
    assert_eq!(s.last_time.as_deref(), Some("2026-01-15T10:02:00.000Z"));
    assert_eq!(s.span_seconds, Some(120.0));
    assert!(s.filter.is_none() && s.series.is_none() && s.timing.is_none());
}

#[test]
fn rates_and_shares() {
    let report = Report::of(&ten_lines());
    let s = &report.summary;
    // 4 error bodies in 8 requests; the one in a malformed line is in
    // neither figure.
    assert_eq!((s.error_bodies, s.error_rate), (4, Some(0.5)));
    assert_eq!((s.unknown_code_bodies, s.error_bodies_in_malformed_lines), (1, 1));
    // By count, descending.
    assert_eq!(codes_of(&report), ["CTS.0003", "APIGW.0301"]);
    let cts = code(&report, "CTS.0003");
    assert_eq!((cts.count, cts.in_malformed_lines), (3, 1));
    assert_eq!(cts.share, 0.75);
    assert_eq!(cts.per_1k_requests, Some(375.0));
    // 3 in 120 s.
    assert_eq!(cts.per_minute, Some(1.5));
    assert_eq!(cts.first_seen.as_deref(), Some("2026-01-15T10:00:40.000Z"));
    assert_eq!(cts.last_seen.as_deref(), Some("2026-01-15T10:01:00.000Z"));
    let apigw = code(&report, "APIGW.0301");
    assert_eq!((apigw.count, apigw.share, apigw.per_1k_requests, apigw.per_minute), (1, 0.25, Some(125.0), Some(0.5)));
    let shares: f64 = report.codes.iter().map(|c| c.share).sum();
    assert_eq!(shares, 1.0);
}

#[test]
fn a_rate_is_per_minute_over_at_least_a_minute() {
    let burst = Lines::new(Collect::default())
        .request(error(0, 400, None, "CTS.0003", "x"))
        .request(error(0, 400, None, "CTS.0003", "x"))
        .request(error(10, 400, None, "CTS.0003", "x"))
        .state(Filter::default());
    let report = Report::of(&burst);
    assert_eq!(report.summary.span_seconds, Some(10.0));
    assert_eq!(code(&report, "CTS.0003").per_minute, Some(3.0));
    assert_eq!(code(&report, "CTS.0003").per_1k_requests, Some(1000.0));
}

#[test]
fn percentiles_are_nearest_rank_within_a_thousandth() {
    let report = Report::of(&ten_lines());
    // All 7 latencies: 10 20 30 40 100 200 300 ms; p50 is the 4th.
    let all = report.summary.latency_ms.all.as_ref().unwrap();
    assert_eq!((all.count, all.min, all.max), (7, 10.0, 300.0));
    assert_near(all.p50, 40.0);
    assert_near(all.p90, 300.0);
    assert_near(all.p99, 300.0);
    // Without an error body: 10 20 30 40 ms; p50 is the 2nd.
    let plain = report.summary.latency_ms.without_error_body.as_ref().unwrap();
    assert_eq!((plain.count, plain.min, plain.max), (4, 10.0, 40.0));
    assert_near(plain.p50, 20.0);
    assert_near(plain.p90, 40.0);
    let cts = code(&report, "CTS.0003").latency_ms.as_ref().unwrap();
    assert_eq!((cts.count, cts.min, cts.max), (3, 100.0, 300.0));
    assert_near(cts.p50, 200.0);
    assert_near(cts.p90, 300.0);
    // A code logged without a latency has none.
    assert_eq!(code(&report, "APIGW.0301").latency_ms, None);

    // 1,000 latencies of i × 1.234 ms, in a scrambled order: the i-th
    // smallest is i × 1.234 ms.
    let mut lines = Lines::new(Collect::default());
    for i in 0..1000u64 {
        let rank = (i * 337) % 1000 + 1;
        lines.request(Line { latency_us: Some(rank * 1234), ..Line::default() });
    }
    let report = Report::of(&lines.state(Filter::default()));
    let all = report.summary.latency_ms.all.unwrap();
    assert_eq!((all.count, all.min, all.max), (1000, 1.234, 1234.0));
    assert_near(all.p50, 500.0 * 1.234);
    assert_near(all.p90, 900.0 * 1.234);
    assert_near(all.p99, 990.0 * 1.234);
}

#[test]
fn the_catalogue_is_joined_by_code() {
    let report = Report::of(&ten_lines());
    let cts = code(&report, "CTS.0003");
    assert!(cts.in_catalog);
    assert_eq!(cts.edition, Some(Edition::Documented));
    assert_eq!(cts.documented_status, Some(400));
    let documented = "Invalid message body. The message body is empty or invalid.";
    assert_eq!(cts.documented_message.as_deref(), Some(documented));
    assert!(cts.description.is_some() && cts.solution.is_some());
    // Logged as 400, 400 and 500: one differs from the documented 400.
    assert_eq!(cts.statuses, BTreeMap::from([(400, 2), (500, 1)]));
    assert_eq!(cts.status_mismatches, 1);
    // Messages seen, in byte order; a reworded message is no mismatch.
    let messages: Vec<(&str, u64)> = cts.messages.iter().map(|m| (m.message.as_str(), m.count)).collect();
    assert_eq!(messages, [(documented, 1), ("body empty", 2)]);
    assert_eq!(cts.display_message(), Some(documented));

    // Another service's code is counted, marked as not in the catalogue.
    let apigw = code(&report, "APIGW.0301");
    assert!(!apigw.in_catalog);
    assert_eq!((apigw.edition, apigw.documented_status, apigw.status_mismatches), (None, None, 0));
    assert!(apigw.documented_message.is_none() && apigw.description.is_none() && apigw.solution.is_none());
    assert_eq!(apigw.display_message(), Some("Not found"));
}

#[test]
fn code_patterns_choose_the_codes_shown_not_the_totals() {
    let state = ten_lines();
    let every = Report::of(&state);
    let options = ReportOptions { top: None, codes: patterns(&["APIGW.*"]), histograms: false };
    let view = Report::build(&state, &options);
    assert_eq!(codes_of(&view), ["APIGW.0301"]);
    assert_eq!(serde_json::to_value(&view.summary).unwrap(), serde_json::to_value(&every.summary).unwrap());
    assert_eq!(view.summary.unknown_code_bodies, 1);
    // The patterns a state was written with are its default view, and
    // its filter is reported.
    let written = Lines::new(Collect::default())
        .request(error(0, 400, Some(5), "CTS.0003", "x"))
        .request(error(0, 404, Some(5), "APIGW.0301", "y"))
        .state(Filter { codes: patterns(&["CTS.*"]), ..Filter::default() });
    let report = Report::of(&written);
    assert_eq!(codes_of(&report), ["CTS.0003"]);
    assert_eq!(report.summary.filter.unwrap().codes, patterns(&["CTS.*"]));
    assert_eq!(report.summary.error_bodies, 2);
}

/// Five codes by count: CTS.0001 ×5, APIGW.0301 ×4, CTS.0002 ×3,
/// VPC.0514 ×2, CTS.0004 ×1.
fn five_codes() -> State {
    let mut lines = Lines::new(Collect::default());
    for (code, n) in [("CTS.0001", 5), ("APIGW.0301", 4), ("CTS.0002", 3), ("VPC.0514", 2), ("CTS.0004", 1)] {
        for _ in 0..n {
            lines.request(Line { status: Some(400), body: Some((code, None)), ..Line::default() });
        }
    }
    lines.state(Filter::default())
}

#[test]
fn codes_set_aside_go_back_where_they_were() {
    let state = five_codes();
    let every = Report::of(&state);
    assert_eq!(codes_of(&every), ["CTS.0001", "APIGW.0301", "CTS.0002", "VPC.0514", "CTS.0004"]);
    let json = |report: &Report| serde_json::to_value(report).unwrap();
    for shown in [&["CTS.*"][..], &["VPC.*"], &["CTS.0004"], &["CTS.0001"], &["*"], &["NONE.*"], &[]] {
        let options = ReportOptions { top: None, codes: patterns(shown), histograms: false };
        let mut report = Report::of(&state);
        let hidden = report.set_aside_codes(&options);
        // The same view as a report built for it.
        assert_eq!(json(&report), json(&Report::build(&state, &options)), "{shown:?}");
        report.put_back_codes(hidden);
        assert_eq!(json(&report), json(&every), "{shown:?}");
    }
}

#[test]
fn an_empty_input_has_no_rates() {
    let report = Report::of(&Lines::new(Collect::default()).state(Filter::default()));
    let s = &report.summary;
    assert_eq!((s.files, s.bytes, s.lines, s.requests, s.error_bodies), (1, 0, 0, 0, 0));
    assert_eq!(s.error_rate, None);
    assert!(s.latency_ms.all.is_none() && s.latency_ms.without_error_body.is_none());
    assert!(s.first_time.is_none() && s.last_time.is_none() && s.span_seconds.is_none());
    assert!(s.statuses.is_empty() && s.malformed_by_kind.is_empty() && s.malformed_samples.is_empty());
    assert!(report.codes.is_empty());
}

#[test]
fn a_code_only_in_malformed_lines_has_no_share() {
    let report =
        Report::of(&Lines::new(Collect::default()).blank().malformed(Some("CTS.0003")).state(Filter::default()));
    assert_eq!((report.summary.lines, report.summary.requests, report.summary.error_rate), (2, 0, None));
    assert_eq!(report.summary.error_bodies_in_malformed_lines, 1);
    let cts = code(&report, "CTS.0003");
    assert_eq!((cts.count, cts.in_malformed_lines, cts.share), (0, 1, 0.0));
    assert_eq!((cts.per_1k_requests, cts.per_minute, &cts.latency_ms), (None, None, &None));
}

#[test]
fn a_series_counts_requests_and_codes_per_bucket() {
    let per_minute = Collect { bucket_ms: Some(60_000), ..Collect::default() };
    let state = Lines::new(per_minute)
        .request(ok(0, 1))
        .request(error(30, 400, Some(1), "CTS.0003", "x"))
        .request(error(150, 400, Some(1), "CTS.0003", "x"))
        .request(ok(170, 1))
        .state(Filter::default());
    let report = Report::of(&state);
    let series = report.summary.series.as_ref().unwrap();
    assert_eq!((series.bucket_seconds, series.first_bucket.as_str()), (60.0, "2026-01-15T10:00:00.000Z"));
    assert_eq!(series.requests, [2, 0, 2]);
    assert_eq!(code(&report, "CTS.0003").series.as_deref(), Some(&[1, 0, 1][..]));
}
