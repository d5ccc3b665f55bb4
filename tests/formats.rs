//! Each shipped fixture against figures worked out by hand (the working is
//! in the comments).

use serde_json::json;

use crate::util::{cmd, code, fixture, json_report};

fn scan_fixture(path: &str) -> serde_json::Value {
    json_report(&[fixture(path).to_str().unwrap()])
}

#[test]
fn gateway_ndjson() {
    let r = scan_fixture("ndjson/gateway.ndjson");
    let s = &r["summary"];
    // 11 lines: 8 requests, line 6 blank, line 7 cut short, line 10 not JSON.
    assert_eq!(
        (&s["lines"], &s["requests"], &s["blank"], &s["malformed"]),
        (&json!(11), &json!(8), &json!(1), &json!(2))
    );
    assert_eq!(s["malformed_by_kind"], json!({"not-json-object": 1, "truncated": 1}));
    assert_eq!(s["malformed_samples"][0]["line"], 7);
    assert_eq!(s["malformed_samples"][1]["line"], 10);
    // Bodies on lines 2 (nested), 4 (escaped string), 5 (code+message),
    // 8 and 11; line 3 only mentions error_code in its URI and user agent.
    assert_eq!(s["error_bodies"], 5);
    assert_eq!(s["error_rate"], 0.625);
    assert_eq!(s["unknown_code_bodies"], 1);
    assert_eq!(s["statuses"], json!({"200": 3, "400": 2, "403": 1, "404": 1, "500": 1}));
    // All latencies (ms): 8 10 12 15 20 30 50 120 → p50 = rank 4 = 15,
    // p90 = rank ceil(7.2) = 8 = 120. Without an error body: 10 12 15.
    let all = &s["latency_ms"]["all"];
    assert_eq!((&all["count"], &all["p90"], &all["max"]), (&json!(8), &json!(120.0), &json!(120.0)));
    assert_near(all["p50"].as_f64().unwrap(), 15.0);
    let ok = &s["latency_ms"]["without_error_body"];
    assert_near(ok["p50"].as_f64().unwrap(), 12.0);
    assert_eq!(ok["p90"], 15.0);
    assert_eq!(s["span_seconds"], 240.0);
    assert_eq!(s["first_time"], "2026-11-27T10:00:00.000Z");

    let codes: Vec<&str> = r["codes"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["CTS.0003", "APIGW.0301", "CTS.0209", "CTS.0403"]);
    let c3 = code(&r, "CTS.0003");
    // Two lines of the 5 bodies, 8 requests, over 4 minutes; one logged 500
    // though the documented status is 400.
    assert_eq!(c3["count"], 2);
    assert_eq!(c3["share"], 0.4);
    assert_eq!(c3["per_1k_requests"], 250.0);
    assert_eq!(c3["per_minute"], 0.5);
    assert_eq!(c3["documented_status"], 400);
    assert_eq!(c3["statuses"], json!({"400": 1, "500": 1}));
    assert_eq!(c3["status_mismatches"], 1);
    assert_eq!(c3["latency_ms"]["p90"], 120.0);
    assert_near(c3["latency_ms"]["p50"].as_f64().unwrap(), 30.0);
    assert_eq!(c3["first_seen"], "2026-11-27T10:00:30.000Z");
    assert_eq!(c3["last_seen"], "2026-11-27T10:01:30.000Z");
    assert_eq!(c3["messages"], json!([{"message": "Invalid message body.", "count": 2}]));
    let apigw = code(&r, "APIGW.0301");
    assert_eq!((&apigw["in_catalog"], &apigw["documented_status"]), (&json!(false), &json!(null)));
    assert_eq!(apigw["latency_ms"]["max"], 20.0);
    assert_eq!(code(&r, "CTS.0403")["latency_ms"]["max"], 8.0);
    assert_eq!(code(&r, "CTS.0403")["status_mismatches"], 0);
}

#[test]
fn nginx_combined_with_hex_escaped_bodies() {
    let r = scan_fixture("access/nginx_combined.log");
    let s = &r["summary"];
    assert_eq!(r["inputs"][0]["format"], "combined");
    assert_eq!((&s["lines"], &s["requests"], &s["malformed"]), (&json!(7), &json!(6), &json!(1)));
    assert_eq!(
        s["malformed_samples"],
        json!([{"file": fixture("access/nginx_combined.log").to_str().unwrap(), "line": 6, "kind": "not-access-log"}])
    );
    // Line 3 has `error_code` in its query string and user agent only.
    assert_eq!(s["error_bodies"], 3);
    // $request_time (ms): 10 200 20 50 30 5 → sorted 5 10 20 30 50 200:
    // p50 = rank 3 = 20, p90 = rank 6 = 200. Without bodies: 10 20 30.
    assert_near(s["latency_ms"]["all"]["p50"].as_f64().unwrap(), 20.0);
    assert_eq!(s["latency_ms"]["all"]["p90"], 200.0);
    assert_eq!(s["latency_ms"]["without_error_body"]["p90"], 30.0);
    assert_eq!(code(&r, "CTS.0205")["latency_ms"]["max"], 200.0);
    assert_eq!(code(&r, "CTS.0004")["statuses"], json!({"500": 1}));
    // \xC3\xA9 is é in UTF-8; \x5C\x22 is an escaped quote inside the JSON.
    assert_eq!(code(&r, "CTS.0002")["messages"][0]["message"], "café \"quoted\"");
    assert_eq!(code(&r, "CTS.0002")["status_mismatches"], 0);
}

#[test]
fn nginx_escape_json_with_crlf() {
    let r = scan_fixture("access/nginx_escape_json_crlf.log");
    let s = &r["summary"];
    assert_eq!((&s["lines"], &s["requests"], &s["blank"]), (&json!(4), &json!(3), &json!(1)));
    assert_eq!(s["error_bodies"], 2);
    // 11:00:00 +0100 is 10:00:00 UTC.
    assert_eq!(s["first_time"], "2026-11-27T10:00:00.000Z");
    assert_eq!(s["span_seconds"], 9.0);
    assert_eq!(code(&r, "CTS.0201")["latency_ms"]["max"], 100.0);
    let apigw = code(&r, "APIGW.0301");
    assert_eq!(apigw["statuses"], json!({"401": 1}));
    assert_eq!(
        apigw["messages"][0]["message"],
        "Incorrect IAM authentication information: \"x-auth-token\" is missing"
    );
}

#[test]
fn apache_common_with_microseconds() {
    let r = scan_fixture("access/apache_common_usec.log");
    let s = &r["summary"];
    assert_eq!(r["inputs"][0]["format"], "common");
    assert_eq!((&s["requests"], &s["malformed"], &s["error_bodies"]), (&json!(3), &json!(0), &json!(0)));
    // %D: 52345, 1500000, 700 µs → p50 = 52.345 ms, max = 1500 ms.
    assert_near(s["latency_ms"]["all"]["p50"].as_f64().unwrap(), 52.345);
    assert_eq!(s["latency_ms"]["all"]["max"], 1500.0);
    assert_eq!(s["first_time"], "2000-10-10T20:55:36.000Z");
    assert_eq!(s["statuses"], json!({"200": 1, "404": 1, "500": 1}));
    assert!(r["codes"].as_array().unwrap().is_empty());
}

/// Within the 0.1 % the HDR histogram guarantees.
fn assert_near(got: f64, want: f64) {
    assert!((got - want).abs() <= want * 0.001, "{got} is not within 0.1 % of {want}");
}

#[test]
fn python_sdk_exception_text_in_application_logs() {
    let r = scan_fixture("app/python_sdk.log");
    let s = &r["summary"];
    // An exception text carries the response's status, so its line records
    // a request as the client saw it; the other two lines are malformed.
    assert_eq!((&s["lines"], &s["requests"], &s["malformed"]), (&json!(5), &json!(3), &json!(2)));
    assert_eq!(s["error_bodies"], 3);
    assert_eq!(s["error_rate"], 1.0);
    assert_eq!(s["statuses"], json!({"400": 1, "403": 1, "500": 1}));
    let c3 = code(&r, "CTS.0003");
    assert_eq!(c3["count"], 2);
    assert_eq!(c3["statuses"], json!({"400": 1, "500": 1}));
    assert_eq!(c3["status_mismatches"], 1);
    assert_eq!(code(&r, "CTS.0002")["statuses"], json!({"403": 1}));
}

/// nginx's `main` format with timings and a body, as pasted from nginx.conf.
const MAIN_FORMAT: &str = r#"log_format main '$remote_addr - $remote_user [$time_local] "$request" ' '$status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" ' 'rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time" body="$resp_body"';"#;

#[test]
fn nginx_log_format_from_the_command_line() {
    let path = fixture("access/custom_main.log");
    let r = json_report(&[path.to_str().unwrap(), "--log-format", MAIN_FORMAT]);
    let s = &r["summary"];
    assert_eq!(r["inputs"][0]["format"], "custom");
    assert_eq!((&s["lines"], &s["requests"], &s["malformed"]), (&json!(4), &json!(3), &json!(1)));
    // rt=0.052 and rt=0.120; the third line has rt=- so its upstream times
    // count: 0.004 + 0.010 + 0.002 = 16 ms.
    assert_eq!(s["latency_ms"]["all"]["count"], 3);
    assert_eq!(s["latency_ms"]["all"]["max"], 120.0);
    assert_near(s["latency_ms"]["without_error_body"]["p50"].as_f64().unwrap(), 16.0);
    assert_eq!(s["latency_ms"]["without_error_body"]["max"], 52.0);
    assert_eq!(code(&r, "CTS.0003")["statuses"], json!({"400": 1}));
    assert_eq!(s["span_seconds"], 9.0);
}

#[test]
fn a_log_format_without_variables_is_a_usage_error() {
    crate::util::cmd()
        .args(["--log-format", "plain text", "x.log"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("has no $variable"));
}

#[test]
fn cts_list_traces_response() {
    let r = scan_fixture("traces/list_traces.json");
    let s = &r["summary"];
    assert_eq!(r["inputs"][0]["format"], "ndjson");
    // Five trace records, one request each; the request body of trace 2
    // mentions error_code but is not a response.
    assert_eq!((&s["lines"], &s["requests"], &s["malformed"]), (&json!(5), &json!(5), &json!(0)));
    assert_eq!(s["error_bodies"], 3);
    assert_eq!(s["statuses"], json!({"200": 1, "201": 1, "400": 2, "403": 1}));
    // Only trace 5 logs total_time (ms).
    assert_eq!(s["latency_ms"]["all"]["count"], 1);
    assert_eq!(s["latency_ms"]["all"]["max"], 120.0);
    assert_eq!(s["first_time"], "2026-11-27T08:40:00.000Z");
    let c3 = code(&r, "CTS.0003");
    assert_eq!(c3["count"], 2);
    assert_eq!(c3["status_mismatches"], 0);
    assert_eq!(c3["service_types"], json!([{"name": "CTS", "count": 2}]));
    assert_eq!(c3["trace_names"], json!([{"name": "createTracker", "count": 2}]));
    let iam = code(&r, "IAM.0001");
    assert_eq!((&iam["in_catalog"], &iam["statuses"]), (&json!(false), &json!({"403": 1})));
    assert_eq!(iam["service_types"], json!([{"name": "OBS", "count": 1}]));
}

#[test]
fn trace_breakdowns_in_the_table() {
    crate::util::cmd()
        .arg(fixture("traces/list_traces.json"))
        .assert()
        .success()
        .stdout(predicates::str::contains("CTS.0003     services: CTS 2 · operations: createTracker 2"))
        .stdout(predicates::str::contains("IAM.0001     services: OBS 1 · operations: putBucketAcl 1"));
}

#[test]
fn trace_files_as_gzipped_arrays_match_the_response() {
    let response: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("traces/list_traces.json")).unwrap()).unwrap();
    let array = serde_json::to_vec(&response["traces"]).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &array).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("CloudTraces_2026-11-27T08-40-00Z.json.gz");
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let from_gz = json_report(&[path.to_str().unwrap()]);
    let from_response = scan_fixture("traces/list_traces.json");
    assert_eq!(from_gz["codes"], from_response["codes"]);
    assert_eq!(from_gz["summary"]["requests"], 5);
}

#[test]
fn common_layouts_are_read_without_flags() {
    // nginx vhost_combined: `$host:$server_port` before the client.
    let r = scan_fixture("access/nginx_vhost_combined.log");
    assert_eq!(r["inputs"][0]["format"], "combined");
    assert_eq!((&r["summary"]["requests"], &r["summary"]["malformed"]), (&json!(2), &json!(0)));
    let c = json_report(&[fixture("access/nginx_vhost_combined.log").to_str().unwrap(), "--top"]);
    assert_eq!(code(&c, "CTS.0003")["top"]["clients"], json!([{"name": "10.0.0.7", "count": 1}]));
    // NDJSON: a status nested as `response.status`, Cloudflare's
    // `EdgeResponseStatus` (with its time, client, method and URI),
    // `http.status_code`, and a Python `logging` time in `asctime` with a
    // forwarded-for list as the client (its first address).
    let path = fixture("ndjson/common_shapes.ndjson");
    let r = json_report(&[path.to_str().unwrap(), "--top"]);
    let s = &r["summary"];
    assert_eq!((&s["requests"], &s["malformed"]), (&json!(4), &json!(0)));
    assert_eq!(s["statuses"], json!({"400": 1, "403": 1, "404": 1, "500": 1}));
    assert_eq!(
        (&s["first_time"], &s["last_time"]),
        (&json!("2026-11-27T10:00:00.000Z"), &json!("2026-11-27T10:00:03.250Z"))
    );
    assert_eq!(code(&r, "CTS.0209")["statuses"], json!({"404": 1}));
    assert_eq!(code(&r, "CTS.0004")["statuses"], json!({"500": 1}));
    assert_eq!(code(&r, "CTS.0003")["top"]["clients"], json!([{"name": "203.0.113.5", "count": 1}]));
}

#[test]
fn an_applications_own_json_lines_are_not_requests() {
    // Lines 1, 3 and 5 have no status, path or method: two requests, one of
    // them an error (50 %), and the CTS.0004 body on line 3 counts in
    // in_malformed_lines only.
    let path = fixture("ndjson/app_and_requests.ndjson");
    let out = cmd().arg(&path).args(["--output", "json"]).output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &r["summary"];
    assert_eq!((s["lines"].as_u64(), s["requests"].as_u64(), s["malformed"].as_u64()), (Some(5), Some(2), Some(3)));
    assert_eq!(s["malformed_by_kind"], serde_json::json!({"not-request": 3}));
    assert_eq!(s["error_rate"], 0.5);
    assert_eq!(code(&r, "CTS.0004")["in_malformed_lines"], 1);
    assert_eq!(r["inputs"][0]["format"], "ndjson");
    assert_eq!(r["inputs"][0]["not_requests"], 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 of 5 lines are ndjson without a status, path or method"), "{stderr}");
    assert!(!stderr.contains("did not parse"), "{stderr}");
}
