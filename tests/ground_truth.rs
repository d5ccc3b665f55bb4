//! The generator's exact truth against the binary's JSON report: counts
//! exactly, percentiles within 0.1 %, for both flavors, with default
//! settings and with one thread and tiny blocks.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use serde_json::Value;

use crate::support::corpus::{self, Flavor, Percentiles, Truth};
use crate::util::{code, json_report};

const CORPUS_BYTES: u64 = 3 << 20;

fn write_corpus(dir: &Path, flavor: Flavor, seed: u64) -> (String, Truth) {
    let path = dir.join(format!("corpus-{seed}.log"));
    let mut wtr = BufWriter::new(File::create(&path).unwrap());
    let truth = corpus::generate(flavor, CORPUS_BYTES, seed, &mut wtr).unwrap();
    drop(wtr);
    (path.to_str().unwrap().to_owned(), truth)
}

fn millis_to_rfc3339(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| format!("{:.3}", jiff::Timestamp::from_millisecond(ms).unwrap()).into())
}

fn assert_percentiles(what: &str, got: &Value, want: &Option<Percentiles>) {
    let Some(want) = want else {
        assert!(got.is_null(), "{what}: expected no latency, got {got}");
        return;
    };
    assert_eq!(got["count"], want.count, "{what}: count");
    for (name, exact_us) in [("p50", want.p50), ("p90", want.p90), ("p99", want.p99), ("max", want.max)] {
        let got_us = got[name].as_f64().unwrap() * 1000.0;
        let exact = exact_us as f64;
        assert!((got_us - exact).abs() <= exact * 0.001 + 1e-6, "{what} {name}: {got_us} µs vs exact {exact} µs");
    }
    assert_eq!((got["max"].as_f64().unwrap() * 1000.0).round(), want.max as f64, "{what}: max is exact");
}

fn assert_matches_truth(report: &Value, truth: &Truth) {
    let s = &report["summary"];
    for (key, want) in [
        ("bytes", truth.bytes),
        ("lines", truth.lines),
        ("requests", truth.requests),
        ("blank", truth.blank),
        ("malformed", truth.malformed),
        ("error_bodies", truth.error_bodies),
        ("error_bodies_in_malformed_lines", truth.malformed_bodies),
    ] {
        assert_eq!(s[key], want, "summary.{key}");
    }
    assert_eq!(s["lines"], truth.requests + truth.blank + truth.malformed);
    assert_eq!(s["statuses"], serde_json::to_value(&truth.statuses).unwrap());
    assert_eq!(s["first_time"], millis_to_rfc3339(truth.first_time_ms));
    assert_eq!(s["last_time"], millis_to_rfc3339(truth.last_time_ms));
    assert_percentiles("all requests", &s["latency_ms"]["all"], &truth.latency_all_us);
    assert_percentiles("without error", &s["latency_ms"]["without_error_body"], &truth.latency_without_error_us);
    assert_eq!(report["codes"].as_array().unwrap().len(), truth.codes.len());
    for (name, want) in &truth.codes {
        let got = code(report, name);
        assert_eq!(got["count"], want.count, "{name} count");
        assert_eq!(got["in_malformed_lines"], want.in_malformed, "{name} in malformed lines");
        assert_eq!(got["in_catalog"], want.in_catalog, "{name} in_catalog");
        assert_eq!(got["statuses"], serde_json::to_value(&want.statuses).unwrap(), "{name} statuses");
        assert_eq!(got["status_mismatches"], want.status_mismatches, "{name} mismatches");
        assert_eq!(got["first_seen"], millis_to_rfc3339(want.first_seen_ms), "{name} first_seen");
        assert_eq!(got["last_seen"], millis_to_rfc3339(want.last_seen_ms), "{name} last_seen");
        assert_percentiles(name, &got["latency_ms"], &want.latency_us);
    }
}

/// The per-minute series against the truth, bucket by bucket.
fn assert_series_match_truth(report: &Value, truth: &Truth) {
    let series = &report["summary"]["series"];
    assert_eq!(series["bucket_seconds"], 60.0);
    let first = *truth.requests_per_minute.keys().next().unwrap();
    assert_eq!(series["first_bucket"], millis_to_rfc3339(Some(first * 60_000)));
    let requests: Vec<u64> = serde_json::from_value(series["requests"].clone()).unwrap();
    let last = *truth.requests_per_minute.keys().next_back().unwrap();
    assert_eq!(requests.len() as i64, last - first + 1);
    for (i, &n) in requests.iter().enumerate() {
        assert_eq!(n, truth.requests_per_minute.get(&(first + i as i64)).copied().unwrap_or(0), "minute {i}");
    }
    for (name, want) in &truth.codes {
        let got: Vec<u64> = serde_json::from_value(code(report, name)["series"].clone()).unwrap();
        for (i, &n) in got.iter().enumerate() {
            assert_eq!(n, want.per_minute.get(&(first + i as i64)).copied().unwrap_or(0), "{name} minute {i}");
        }
    }
}

/// A ten-minute window against the truth: requests and per-code counts
/// are the truth's per-minute sums (bodies on malformed lines have no time
/// and always count).
fn assert_window_matches_truth(path: &str, truth: &Truth) {
    let first = *truth.requests_per_minute.keys().next().unwrap();
    let (from, to) = (first + 5, first + 15);
    let at = |minute: i64| format!("{}", jiff::Timestamp::from_millisecond(minute * 60_000).unwrap());
    let report = json_report(&[path, "--since", &at(from), "--until", &at(to)]);
    let in_window =
        |per_minute: &std::collections::BTreeMap<i64, u64>| per_minute.range(from..to).map(|(_, n)| n).sum::<u64>();
    let requests = in_window(&truth.requests_per_minute);
    assert_eq!(report["summary"]["requests"], requests);
    assert_eq!(report["summary"]["filtered"], truth.requests - requests);
    for (name, want) in &truth.codes {
        let without_time = want.count - want.per_minute.values().sum::<u64>();
        let expected = in_window(&want.per_minute) + without_time;
        let got = report["codes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == name.as_str())
            .map_or(0, |c| c["count"].as_u64().unwrap());
        assert_eq!(got, expected, "{name} in the window");
    }
}

fn check(flavor: Flavor, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let (path, truth) = write_corpus(dir.path(), flavor, seed);
    assert!(truth.codes.len() >= 10, "the corpus has many codes");
    assert!(truth.malformed > 0 && truth.blank > 0);
    assert_matches_truth(&json_report(&[&path]), &truth);
    let bucketed = json_report(&[&path, "--threads", "1", "--block-size", "4KiB", "--bucket", "1m"]);
    assert_matches_truth(&bucketed, &truth);
    assert_series_match_truth(&bucketed, &truth);
    assert_window_matches_truth(&path, &truth);
}

#[test]
fn ndjson_corpus_matches_truth() {
    check(Flavor::Ndjson, 7);
}

#[test]
fn nginx_corpus_matches_truth() {
    check(Flavor::Nginx, 11);
}
