//! A nightly job must never pass when it checked nothing (issue 19, points
//! 8–11 and 16 and the low items): each test names its point and failed
//! before the fix. Expected figures are worked out by hand from the
//! fixtures, whose comments say what they hold.

use predicates::prelude::*;

use crate::util::{cmd, fixture, json_report};

fn path(name: &str) -> String {
    fixture(name).to_str().unwrap().to_owned()
}

/// Runs a scan (report to /dev/null) with `args`; returns its stderr after
/// checking the exit code.
fn scan_stderr(args: &[&str], code: i32) -> String {
    let output = cmd().args(args).args(["-o", "/dev/null"]).assert().code(code).get_output().stderr.clone();
    String::from_utf8(output).unwrap()
}

/// 8: a rule naming a code that is neither catalogued nor seen can only
/// hold: warn, and suggest the catalogued spelling.
#[test]
fn rules_on_codes_neither_catalogued_nor_seen_warn() {
    let gateway = path("ndjson/gateway.ndjson");
    let lower = scan_stderr(&[&gateway, "--fail-on", "cts.0004>0"], 0);
    assert!(lower.contains("--fail-on cts.0004>0: 'cts.0004' is not in the CTS catalogue and was not seen"), "{lower}");
    assert!(lower.contains("did you mean CTS.0004?"), "{lower}");
    let unknown = scan_stderr(&[&gateway, "--fail-on", "CTS.9999>0"], 0);
    assert!(unknown.contains("'CTS.9999' is not in the CTS catalogue and was not seen"), "{unknown}");
    assert!(unknown.contains("`cts-logscan codes` lists the catalogue"), "{unknown}");
    // Catalogued but not seen, or seen but not catalogued: nothing to say.
    assert_eq!(scan_stderr(&[&gateway, "--fail-on", "CTS.0004>0"], 0), "");
    assert!(!scan_stderr(&[&gateway, "--fail-on", "APIGW.0301>0"], 1).contains("not in the CTS catalogue"));
    // A warning, so -q silences it.
    assert_eq!(scan_stderr(&[&gateway, "-q", "--fail-on", "cts.0004>0"], 0), "");
}

/// 8: a latency rule over all requests, on input without any latency, is
/// not judged (exit 2); a code's latency rule is not judged when the code
/// occurred without latency, and holds when it never occurred.
#[test]
fn latency_rules_without_latency_are_not_judged() {
    // no_latency.ndjson: 3 requests (one CTS.0003), no latency field, and
    // one malformed line.
    let input = path("ndjson/no_latency.ndjson");
    let all = scan_stderr(&[&input, "--fail-on", "p99>2s"], 2);
    assert!(all.contains("--fail-on p99>2s not judged: no request in the input has a latency"), "{all}");
    assert!(all.contains("--latency-field"), "{all}");
    let code = scan_stderr(&[&input, "--fail-on", "CTS.0003:p99>1ms"], 2);
    assert!(code.contains("not judged: none of the 1 CTS.0003 requests has a latency"), "{code}");
    assert_eq!(scan_stderr(&[&input, "--fail-on", "CTS.0004:p99>1ms"], 0), "");
    // The report is still written.
    cmd()
        .args([&input, "--output", "json", "--fail-on", "p50>1ms"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("\"requests\": 3"));
}

/// 8: `malformed_rate` is the share of malformed lines.
#[test]
fn malformed_rate_is_a_rule_metric() {
    // 1 malformed line of 4.
    let input = path("ndjson/no_latency.ndjson");
    let breached = scan_stderr(&[&input, "--fail-on", "malformed_rate>20%"], 1);
    assert!(breached.contains("--fail-on malformed_rate>20% breached: observed 25.0 %"), "{breached}");
    scan_stderr(&[&input, "--fail-on", "malformed_rate>25%"], 0);
    scan_stderr(&[&input, "--fail-on", "malformed_rate>=0.25"], 1);
    scan_stderr(&[&path("ndjson/latency_30ms.ndjson"), "--fail-on", "malformed_rate>0"], 0);
}

/// 9: the histogram reports 30 ms as 30.008 and 314 ms as 313.984; a rule
/// is decided by the bucket's bounds, not by that rounding, and the
/// observed value is printed to 3 significant digits.
#[test]
fn percentile_rules_are_not_decided_by_histogram_rounding() {
    // Every latency is exactly 30 ms.
    let flat = path("ndjson/latency_30ms.ndjson");
    scan_stderr(&[&flat, "--fail-on", "p50>30ms"], 0);
    scan_stderr(&[&flat, "--fail-on", "p50<30ms"], 0);
    let at_least = scan_stderr(&[&flat, "--fail-on", "p50>=30ms"], 1);
    assert!(at_least.contains("--fail-on p50>=30ms breached: observed 30.0 ms"), "{at_least}");
    scan_stderr(&[&flat, "--fail-on", "p50<=0.03s"], 1);
    // 98 × 10 ms, 314 ms, 400 ms: the exact p99 (rank 99) is 314 ms.
    let tail = path("ndjson/p99_314ms.ndjson");
    let breached = scan_stderr(&[&tail, "--fail-on", "p99>=314ms"], 1);
    assert!(breached.contains("--fail-on p99>=314ms breached: observed 314 ms"), "{breached}");
    scan_stderr(&[&tail, "--fail-on", "p99<=314ms"], 1);
    scan_stderr(&[&tail, "--fail-on", "p99>314ms"], 0);
    scan_stderr(&[&tail, "--fail-on", "p99<314ms"], 0);
    scan_stderr(&[&tail, "--fail-on", "p99>313ms"], 1);
    scan_stderr(&[&tail, "--fail-on", "p99<315ms"], 1);
    // The maximum is exact.
    scan_stderr(&[&tail, "--fail-on", "max>400ms"], 0);
    assert!(scan_stderr(&[&tail, "--fail-on", "max>=400ms"], 1).contains("observed 400 ms"));
}

/// Low: rates are rounded, counts are integers.
#[test]
fn fail_on_messages_print_rounded_numbers() {
    // gateway.ndjson: 5 error bodies in 8 requests.
    let gateway = path("ndjson/gateway.ndjson");
    let stderr = scan_stderr(&[&gateway, "--fail-on", "error_rate>0.5%", "--fail-on", "error_bodies>1"], 1);
    assert!(stderr.contains("--fail-on error_rate>0.5% breached: observed 62.5 %"), "{stderr}");
    assert!(stderr.contains("--fail-on error_bodies>1 breached: observed 5\n"), "{stderr}");
}

/// 11: an empty file, empty stdin or an nginx error log alone read no
/// request: warn, and `requests<1` fails the run.
#[test]
fn reading_no_request_warns_and_requests_below_one_fails() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.to_str().unwrap();
    let stderr = scan_stderr(&[empty], 0);
    assert!(stderr.contains(&format!("no requests read from {empty} (no line was read)")), "{stderr}");
    assert!(stderr.contains("--fail-on 'requests<1'"), "{stderr}");
    let breached = scan_stderr(&[empty, "--fail-on", "requests<1"], 1);
    assert!(breached.contains("--fail-on requests<1 breached: observed 0"), "{breached}");
    assert_eq!(scan_stderr(&[empty, "-q"], 0), "");
    cmd()
        .arg("-")
        .write_stdin("")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("no requests read from <stdin> (no line was read)"));
    let error_log = dir.path().join("error.log");
    std::fs::write(
        &error_log,
        "2026/11/27 10:00:00 [error] 1234#0: *1 open() \"/srv/x\" failed (2: No such file or directory)\n\
         2026/11/27 10:00:01 [error] 1234#0: *2 upstream timed out (110: Connection timed out)\n",
    )
    .unwrap();
    let stderr = scan_stderr(&[error_log.to_str().unwrap()], 0);
    assert!(stderr.contains("error.log (1 of 1 input(s) skipped as not access logs; no line was read"), "{stderr}");
    // Lines that are all malformed say so.
    let garbage = dir.path().join("garbage.ndjson");
    std::fs::write(&garbage, "{\"a\":\n{\"b\":\n").unwrap();
    let stderr = scan_stderr(&[garbage.to_str().unwrap(), "--format", "ndjson"], 0);
    assert!(stderr.contains("garbage.ndjson (2 lines: 2 malformed)"), "{stderr}");
}

/// Requests in `two_days.ndjson` the window selects: 7 requests from
/// 2026-11-25T23:59:00Z to the newest, 2026-11-27T09:30:00Z.
fn selected(window: &[&str]) -> u64 {
    let report = json_report(&[&[path("ndjson/two_days.ndjson").as_str()], window].concat());
    report["summary"]["requests"].as_u64().unwrap()
}

/// 10: `--since` at or after `--until` is a usage error, also when they
/// are relative and resolve so.
#[test]
fn an_empty_window_is_a_usage_error() {
    let input = path("ndjson/two_days.ndjson");
    for window in [
        ["--since", "2026-11-27", "--until", "2026-11-26"],
        ["--since", "2026-11-27T00:00:00Z", "--until", "2026-11-27T00:00:00Z"],
        ["--since", "1h", "--until", "2h"],
    ] {
        let stderr = scan_stderr(&[&[input.as_str()], &window[..]].concat(), 2);
        assert!(stderr.contains("is not before --until"), "{window:?}: {stderr}");
    }
    let stderr = scan_stderr(&[&input, "--since", "1h", "--until", "2h"], 2);
    assert!(
        stderr.contains("--since 2026-11-27T08:30:00.000Z is not before --until 2026-11-27T07:30:00.000Z"),
        "{stderr}"
    );
}

/// 10: `14:05` is the latest 14:05 at or before the newest record (here
/// the day before's); `yesterday` is that calendar day only; a date alone
/// is its UTC midnight.
#[test]
fn relative_and_date_windows_mean_what_they_say() {
    // From 2026-11-26T14:05: 23:59:59, then the 27th's 00:00, 08:00, 09:30.
    assert_eq!(selected(&["--since", "14:05"]), 4);
    assert_eq!(selected(&["--since", "09:30"]), 1);
    // 2026-11-26: 00:00, 12:00, 23:59:59.
    assert_eq!(selected(&["--since", "yesterday"]), 3);
    assert_eq!(selected(&["--until", "yesterday"]), 1);
    assert_eq!(selected(&["--since", "2026-11-26"]), 6);
    assert_eq!(selected(&["--since", "2026-11-26", "--until", "2026-11-27"]), 3);
    assert_eq!(selected(&["--until", "2026-11-26"]), 1);
    let report = json_report(&[&path("ndjson/two_days.ndjson"), "--since", "yesterday"]);
    assert_eq!(report["summary"]["filter"]["since"], "2026-11-26T00:00:00.000Z");
    assert_eq!(report["summary"]["filter"]["until"], "2026-11-27T00:00:00.000Z");
}

/// 10: a window that selects no request says which window and when the
/// data is.
#[test]
fn a_window_that_selects_nothing_warns_with_the_data_span() {
    let input = path("ndjson/two_days.ndjson");
    let stderr = scan_stderr(&[&input, "--since", "2026-12-01T00:00:00Z"], 0);
    assert!(
        stderr.contains(
            "the window [2026-12-01T00:00:00.000Z, the end) selected none of the 7 requests: \
             the data spans 2026-11-25T23:59:00.000Z to 2026-11-27T09:30:00.000Z"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("--fail-on 'requests<1'"), "{stderr}");
    scan_stderr(&[&input, "--until", "2026-11-01", "--fail-on", "requests<1"], 1);
    // A window with requests in it says nothing.
    assert_eq!(scan_stderr(&[&input, "--since", "2026-11-27"], 0), "");
}

/// 16: thousands of threads on a small file are capped at 4 per CPU, with
/// a warning naming both counts; the report does not change.
#[test]
fn absurd_thread_counts_are_capped() {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let output = cmd()
        .args([&path("ndjson/gateway.ndjson"), "--threads", "5000", "--output", "json"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(0)
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(&format!("--threads 5000: using {} (4 per logical CPU", 4 * cpus)), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["summary"]["requests"], 8);
    assert_eq!(scan_stderr(&[&path("ndjson/gateway.ndjson"), "--threads", "5000", "-q"], 0), "");
}

/// Low: an invalid `--code` glob is refused; one that matches no code
/// seen is named in a warning.
#[test]
fn code_patterns_are_checked_and_unmatched_ones_named() {
    let gateway = path("ndjson/gateway.ndjson");
    let stderr = scan_stderr(&[&gateway, "--code", "["], 2);
    assert!(stderr.contains("'[' is not a code pattern: character classes ([...]) are not supported"), "{stderr}");
    // gateway.ndjson has CTS.0003, CTS.0209, CTS.0403, APIGW.0301 and
    // VPC.0514.
    let stderr = scan_stderr(&[&gateway, "--code", "cts.0003", "--code", "CTS.02*"], 0);
    assert!(
        stderr.contains("--code cts.0003 matches no code seen (the codes seen are APIGW.0301, CTS.0003"),
        "{stderr}"
    );
    assert!(!stderr.contains("--code CTS.02*"), "{stderr}");
    assert_eq!(scan_stderr(&[&gateway, "--code", "CTS.0*"], 0), "");
}

/// Low: per-minute rates are taken over at least a minute.
#[test]
fn per_minute_rates_span_at_least_a_minute() {
    // burst.ndjson: 2 CTS.0003 within 2 ms.
    let report = json_report(&[&path("ndjson/burst.ndjson")]);
    assert_eq!(report["codes"][0]["per_minute"], 2.0);
    // gateway.ndjson spans 4 minutes; CTS.0003 has 2: half a minute.
    let report = json_report(&[&path("ndjson/gateway.ndjson")]);
    let cts0003 = crate::util::code(&report, "CTS.0003");
    assert_eq!(cts0003["per_minute"], 0.5, "{cts0003}");
}

/// Low: a bare number is seconds for the duration options, as in
/// `watch -n 1`.
#[test]
fn bare_numbers_are_seconds() {
    cmd()
        .args(["-F", "-", "--interval", "1", "--poll-interval", "1", "--partial-timeout", "1", "-o", "/dev/null"])
        .write_stdin(std::fs::read(fixture("ndjson/gateway.ndjson")).unwrap())
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(0);
    let report = json_report(&[&path("ndjson/gateway.ndjson"), "--bucket", "60"]);
    assert_eq!(report["summary"]["series"]["bucket_seconds"], 60.0);
}
