//! Hostile input: every case gets a clear count or a clear error, never a
//! panic, and the readable lines around it still count.

use std::fs;
use std::path::Path;

use serde_json::json;

use crate::util::{code, json_report};

const OK: &str = r#"{"time":"2026-11-27T10:00:00Z","status":200,"request_time":0.010}"#;
const ERR: &str = r#"{"time":"2026-11-27T10:00:01Z","status":400,"request_time":0.020,"response":{"error_code":"CTS.0003","error_msg":"x"}}"#;

fn scan_bytes(bytes: &[u8]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.log");
    fs::write(&path, bytes).unwrap();
    scan_path(&path)
}

fn scan_path(path: &Path) -> serde_json::Value {
    json_report(&[path.to_str().unwrap(), "--format", "ndjson"])
}

fn counts(r: &serde_json::Value) -> (u64, u64, u64, u64, u64) {
    let s = &r["summary"];
    let n = |k: &str| s[k].as_u64().unwrap();
    (n("lines"), n("requests"), n("blank"), n("malformed"), n("error_bodies"))
}

#[test]
fn invalid_utf8_nul_and_binary_garbage_are_malformed_lines() {
    let mut bytes = format!("{OK}\n").into_bytes();
    bytes.extend_from_slice(b"\xff\xfe\x00\x01garbage\x00\n");
    bytes.extend_from_slice(b"{\"status\":200,\"ua\":\"\xc3\x28\"}\n");
    bytes.extend_from_slice(&[0u8; 64]);
    bytes.push(b'\n');
    bytes.extend_from_slice(format!("{ERR}\n").as_bytes());
    let r = scan_bytes(&bytes);
    // The invalid UTF-8 inside a string does not stop the key scan.
    assert_eq!(counts(&r), (5, 3, 0, 2, 1));
    assert_eq!(r["summary"]["malformed_by_kind"], json!({"not-json-object": 2}));
}

#[test]
fn crlf_lone_cr_and_a_last_line_without_newline() {
    let bytes = format!("{OK}\r\n{OK}\r{OK}\r\n\r\n{ERR}");
    let r = scan_bytes(bytes.as_bytes());
    // Line 2 holds two objects joined by a lone CR: one malformed line.
    assert_eq!(counts(&r), (4, 2, 1, 1, 1));
    assert_eq!(r["summary"]["malformed_samples"][0]["line"], 2);
}

#[test]
fn empty_file() {
    let r = scan_bytes(b"");
    assert_eq!(counts(&r), (0, 0, 0, 0, 0));
    assert!(r["codes"].as_array().unwrap().is_empty());
    assert_eq!(r["summary"]["latency_ms"]["all"], serde_json::Value::Null);
}

#[test]
fn a_100_mb_line_is_counted_skipped_and_the_scan_goes_on() {
    let mut bytes = format!("{OK}\n").into_bytes();
    bytes.extend(std::iter::repeat_n(b'x', 100 << 20));
    bytes.extend_from_slice(format!("\n{ERR}\n{OK}\n").as_bytes());
    let r = scan_bytes(&bytes);
    assert_eq!(counts(&r), (4, 3, 0, 1, 1));
    assert_eq!(r["summary"]["malformed_by_kind"], json!({"line-too-long": 1}));
    assert_eq!(r["summary"]["malformed_samples"][0]["line"], 2);
}

#[test]
fn json_nested_ten_thousand_deep() {
    let deep = format!(r#"{{"status":200,"a":{}1{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    let body = format!(
        r#"{{"status":400,"x":{}{{"error_code":"CTS.0001","error_msg":"deep"}}{}}}"#,
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    let unbalanced = format!(r#"{{"status":200,"a":{}"#, "[".repeat(10_000));
    let r = scan_bytes(format!("{deep}\n{body}\n{unbalanced}\n").as_bytes());
    assert_eq!(counts(&r), (3, 2, 0, 1, 1));
    assert_eq!(code(&r, "CTS.0001")["count"], 1);
}

#[test]
fn out_of_range_numbers_and_implausible_values_are_invalid_not_recorded() {
    let lines = [
        OK,
        r#"{"time":"2026-11-27T10:00:02Z","status":99999999999999999999,"request_time":0.030}"#,
        r#"{"time":99999999999999999999,"status":200,"request_time":1e400}"#,
        r#"{"time":"1901-01-01T00:00:00Z","status":200,"request_time":-0.5}"#,
        r#"{"time":"2999-01-01T00:00:00Z","status":200,"request_time":999999}"#,
        r#"{"time":"not a time","status":"OK","latency_ms":"fast"}"#,
        r#"{"time":null,"status":null,"request_time":"-"}"#,
    ];
    let r = scan_bytes(format!("{}\n", lines.join("\n")).as_bytes());
    let s = &r["summary"];
    assert_eq!(counts(&r), (7, 7, 0, 0, 0));
    // time: the overflowing epoch, 1901, 2999, "not a time"; status: the
    // overflow, "OK"; latency: 1e400, -0.5, 11.6 days, "fast". Nulls and
    // "-" are absent, not invalid.
    assert_eq!(s["invalid_fields"], json!({"time": 4, "status": 2, "latency": 4}));
    assert_eq!(s["latency_ms"]["all"]["count"], 2);
    assert_eq!(s["latency_ms"]["all"]["max"], 30.0);
    assert_eq!(s["first_time"], "2026-11-27T10:00:00.000Z");
    assert_eq!(s["last_time"], "2026-11-27T10:00:02.000Z");
    assert_eq!(s["statuses"], json!({"200": 4}));
}

#[test]
fn negative_and_absurd_latencies_in_access_logs() {
    let line = |rt: &str| format!(r#"1.2.3.4 - - [27/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" {rt}"#);
    let bytes = [line("0.010"), line("-0.010"), line("rt=abc"), line("99999.000")].join("\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    fs::write(&path, bytes).unwrap();
    let r = json_report(&[path.to_str().unwrap()]);
    assert_eq!(r["summary"]["invalid_fields"]["latency"], 3);
    assert_eq!(r["summary"]["latency_ms"]["all"]["count"], 1);
}
