//! Error bodies are never lost or invented (issue 19, points 2–5 and the
//! BOM and status items). Every figure below is worked out by hand from the
//! fixture's lines, which are listed in the comments.

use serde_json::{Value, json};

use crate::util::{code, fixture, json_report};

/// Scans a fixture under `fixtures/bodies/` with `args`.
fn scan(name: &str, args: &[&str]) -> Value {
    let path = fixture(&format!("bodies/{name}"));
    json_report(&[&[path.to_str().unwrap()][..], args].concat())
}

/// `(lines, requests, blank, malformed, filtered)`, checked against the
/// accounting rule `lines = requests + blank + malformed + filtered`.
fn lines(report: &Value) -> [u64; 5] {
    let s = &report["summary"];
    let n = |key: &str| s[key].as_u64().unwrap_or_else(|| panic!("{key} in {s:#}"));
    let counts = [n("lines"), n("requests"), n("blank"), n("malformed"), n("filtered")];
    assert_eq!(counts[0], counts[1..].iter().sum::<u64>(), "accounting rule: {s:#}");
    counts
}

/// `(error_bodies, error_bodies_in_malformed_lines)`.
fn bodies(report: &Value) -> (u64, u64) {
    let s = &report["summary"];
    (s["error_bodies"].as_u64().unwrap(), s["error_bodies_in_malformed_lines"].as_u64().unwrap())
}

/// The messages of `code`, sorted, with their counts.
fn messages(report: &Value, name: &str) -> Vec<(String, u64)> {
    let mut messages: Vec<(String, u64)> = code(report, name)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["message"].as_str().unwrap().to_owned(), m["count"].as_u64().unwrap()))
        .collect();
    messages.sort();
    messages
}

fn owned(messages: &[(&str, u64)]) -> Vec<(String, u64)> {
    let mut owned: Vec<(String, u64)> = messages.iter().map(|&(m, n)| (m.to_owned(), n)).collect();
    owned.sort();
    owned
}

/// 2: messages JSON rejects (Latin-1, GBK raw or `\xHH`, escaped control
/// characters), in a nested object and an escaped JSON string: one 200 and
/// six CTS.0003 bodies.
#[test]
fn ndjson_bodies_with_any_bytes_are_counted_with_lossy_messages() {
    let r = scan("lossy.ndjson", &[]);
    assert_eq!(lines(&r), [7, 7, 0, 0, 0]);
    assert_eq!(bodies(&r), (6, 0));
    assert_eq!(code(&r, "CTS.0003")["count"], 6);
    assert_eq!(code(&r, "CTS.0003")["statuses"], json!({"400": 6}));
    assert_eq!(
        messages(&r, "CTS.0003"),
        owned(&[
            // `caf\xe9` raw, nested and escaped.
            ("caf\u{FFFD}", 2),
            // GBK `CF FB`, raw and as `\xCF\xFB`.
            ("\u{FFFD}\u{FFFD}", 2),
            ("tab\tesc\u{1b}nul\u{0}", 1),
            ("\u{FFFD}\u{FFFD} esc\u{1b}", 1),
        ])
    );
}

/// 2: the same in an nginx access log (default `\x22` escaping): `\xE9`,
/// `\xCF\xFB`, and a raw `E9` byte beside `\x09\x1B`.
#[test]
fn access_log_bodies_with_any_bytes_are_counted_with_lossy_messages() {
    let r = scan("lossy_access.log", &[]);
    assert_eq!(lines(&r), [4, 4, 0, 0, 0]);
    assert_eq!(bodies(&r), (3, 0));
    assert_eq!(
        messages(&r, "CTS.0003"),
        owned(&[("caf\u{FFFD}", 1), ("\u{FFFD}\u{FFFD}", 1), ("caf\u{FFFD}\t\u{1b}", 1)])
    );
}

/// 2: the same in the Python SDK's exception text; the INFO line is not a
/// request.
#[test]
fn sdk_text_bodies_with_any_bytes_are_counted_with_lossy_messages() {
    let r = scan("lossy_sdk.log", &[]);
    assert_eq!(lines(&r), [3, 2, 0, 1, 0]);
    assert_eq!(bodies(&r), (2, 0));
    assert_eq!(messages(&r, "CTS.0003"), owned(&[("caf\u{FFFD}", 1), ("\u{FFFD}\u{FFFD}\u{1b}", 1)]));
}

/// 4: a request body is not an error body, as a string, an object or
/// inside `request`; beside a response body, the response's code counts.
/// Six requests, only the last with an error body (CTS.0003).
#[test]
fn ndjson_request_bodies_are_not_error_bodies() {
    let r = scan("request_body.ndjson", &[]);
    assert_eq!(lines(&r), [6, 6, 0, 0, 0]);
    assert_eq!(bodies(&r), (1, 0));
    let codes: Vec<&Value> = r["codes"].as_array().unwrap().iter().map(|c| &c["code"]).collect();
    assert_eq!(codes, [&json!("CTS.0003")]);
    assert_eq!(code(&r, "CTS.0003")["statuses"], json!({"400": 1}));
    assert_eq!(code(&r, "CTS.0003")["status_mismatches"], 0);
}

/// 4: `$request_body` named by `--log-format` is not an error body: of
/// three requests, only the second's `$resp_body` (CTS.0003) counts.
#[test]
fn access_log_request_bodies_named_by_log_format_are_not_error_bodies() {
    let format = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time "$request_body" "$resp_body""#;
    let r = scan("request_body_access.log", &["--log-format", format]);
    assert_eq!(lines(&r), [3, 3, 0, 0, 0]);
    assert_eq!(bodies(&r), (1, 0));
    let codes: Vec<&Value> = r["codes"].as_array().unwrap().iter().map(|c| &c["code"]).collect();
    assert_eq!(codes, [&json!("CTS.0003")]);
}

/// 5: an access line whose trailing quoted field is opened and never
/// closed is `truncated`, also without an error body to make it read in
/// full (lines 2 and 4); escaped quotes (`\x5C\x22`, `\"`) inside closed
/// fields still parse (lines 3 and 6). Line 5 is blank.
#[test]
fn access_lines_cut_inside_a_trailing_quoted_field_are_truncated() {
    let r = scan("cut_access.log", &[]);
    assert_eq!(lines(&r), [6, 3, 1, 2, 0]);
    assert_eq!(r["summary"]["malformed_by_kind"], json!({"truncated": 2}));
    let samples: Vec<&Value> =
        r["summary"]["malformed_samples"].as_array().unwrap().iter().map(|s| &s["line"]).collect();
    assert_eq!(samples, [&json!(2), &json!(4)]);
    assert_eq!(bodies(&r), (2, 0));
    assert_eq!(messages(&r, "CTS.0003"), owned(&[("Invalid \"body\"", 1)]));
    assert_eq!(messages(&r, "CTS.0004"), owned(&[("a \"q\"", 1)]));
}

/// 5: NDJSON already follows the rule for a string or an object opened and
/// never closed.
#[test]
fn ndjson_lines_cut_inside_a_string_or_object_are_truncated() {
    let r = scan("cut.ndjson", &[]);
    assert_eq!(lines(&r), [3, 1, 0, 2, 0]);
    assert_eq!(r["summary"]["malformed_by_kind"], json!({"truncated": 2}));
    assert_eq!(bodies(&r), (1, 0));
}

/// Low item: a UTF-8 BOM before the first line is no part of it, for
/// detection and parsing: NDJSON (two requests, one body), W3C (two
/// directives counted as blank, two requests), a CTS trace document and an
/// access log, whose first client is named without the BOM.
#[test]
fn a_leading_bom_is_taken_off_before_detection_and_parsing() {
    let r = scan("bom.ndjson", &[]);
    assert_eq!(r["inputs"][0]["format"], "ndjson");
    assert_eq!(lines(&r), [2, 2, 0, 0, 0]);
    assert_eq!(bodies(&r), (1, 0));
    for block_size in ["1MiB", "16"] {
        let r = scan("bom_w3c.log", &["--block-size", block_size]);
        assert_eq!(r["inputs"][0]["format"], "w3c");
        assert_eq!(lines(&r), [4, 2, 2, 0, 0]);
        assert_eq!(r["summary"]["latency_ms"]["all"]["max"], 120.0);
    }
    // A ListTraces response: two traces, one with a CTS.0003 response.
    let r = scan("bom_traces.json", &[]);
    assert_eq!(lines(&r), [2, 2, 0, 0, 0]);
    assert_eq!(bodies(&r), (1, 0));
    let r = scan("bom_access.log", &["--top", "3"]);
    assert_eq!(r["inputs"][0]["format"], "combined");
    assert_eq!(lines(&r), [2, 2, 0, 0, 0]);
    assert_eq!(code(&r, "CTS.0003")["top"]["clients"], json!([{"name": "203.0.113.7", "count": 1}]));
}

/// Low item: `400.0` and `"400 Bad Request"` are status 400, `"200 OK"` is
/// 200; `400.5` and `"Bad Request"` stay invalid.
#[test]
fn integral_float_and_reason_phrase_statuses_are_read() {
    let r = scan("status_forms.ndjson", &[]);
    assert_eq!(lines(&r), [5, 5, 0, 0, 0]);
    assert_eq!(r["summary"]["statuses"], json!({"200": 1, "400": 2}));
    assert_eq!(r["summary"]["invalid_fields"]["status"], 2);
    assert_eq!(code(&r, "CTS.0003")["statuses"], json!({"400": 2}));
    assert_eq!(code(&r, "CTS.0003")["status_mismatches"], 0);
}

/// 3: lines of 200 bytes or more with `--max-line-len 200` are skipped as
/// `line-too-long` (lines 2, 3, 4 and 6), and the error body found in their
/// bytes counts under `in_malformed_lines`: CTS.0003 (nested), APIGW.0301
/// (escaped string) and CTS.0002 (5000 bytes after a phantom
/// `error_code=` in the URL, which is no body). Line 5's CTS.0004 is a
/// request's. The same for any block size, below or above the cap.
#[test]
fn error_bodies_in_lines_over_the_cap_count_in_malformed_lines() {
    for block_size in ["1MiB", "64", "199", "200", "4096"] {
        let r = scan("long_lines.ndjson", &["--max-line-len", "200", "--block-size", block_size]);
        assert_eq!(lines(&r), [6, 2, 0, 4, 0], "block size {block_size}");
        assert_eq!(r["summary"]["malformed_by_kind"], json!({"line-too-long": 4}));
        let samples: Vec<&Value> =
            r["summary"]["malformed_samples"].as_array().unwrap().iter().map(|s| &s["line"]).collect();
        assert_eq!(samples, [&json!(2), &json!(3), &json!(4), &json!(6)]);
        assert_eq!(bodies(&r), (1, 3));
        let counts: Vec<(&str, u64, u64)> = r["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (c["code"].as_str().unwrap(), c["count"].as_u64().unwrap(), c["in_malformed_lines"].as_u64().unwrap())
            })
            .collect();
        let mut counts = counts;
        counts.sort();
        assert_eq!(counts, [("APIGW.0301", 0, 1), ("CTS.0002", 0, 1), ("CTS.0003", 0, 1), ("CTS.0004", 1, 0)]);
    }
}
