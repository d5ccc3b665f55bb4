//! Logs where they live (issue 11): LTS exports and syslog-wrapped lines
//! are unwrapped and their inner lines detected; W3C extended logs follow
//! their `#Fields:`; HAProxy HTTP logs, inside syslog or not. Each fixture
//! is written from the format's public description, with its numbers
//! worked out by hand in the comments.

use serde_json::{Value, json};

use crate::util::{cmd, code, fixture, json_report};

fn report(path: &str) -> Value {
    json_report(&[fixture(path).to_str().unwrap(), "--top"])
}

/// Within the 0.1 % an HDR histogram of three significant digits holds.
fn near(got: &Value, want: f64) -> bool {
    got.as_f64().is_some_and(|got| (got - want).abs() <= want * 0.001)
}

fn counts(r: &Value) -> (u64, u64, u64, u64, u64) {
    let s = &r["summary"];
    let n = |k: &str| s[k].as_u64().unwrap();
    (n("lines"), n("requests"), n("blank"), n("malformed"), n("error_bodies"))
}

#[test]
fn w3c_extended_logs_follow_their_fields() {
    // 10 lines: 5 directives (blank), 5 requests. time-taken 15, 120, 30,
    // 8, 2500 ms: p50 is the 3rd smallest, 30 ms. The query
    // `error_code=CTS.0001` and the agent `error_code-bot` are not bodies.
    // The second #Fields drops and reorders columns.
    let r = report("w3c/u_ex261127.log");
    assert_eq!(r["inputs"][0]["format"], "w3c");
    assert_eq!(counts(&r), (10, 5, 5, 0, 0));
    assert_eq!(r["summary"]["statuses"], json!({"200": 2, "400": 1, "404": 1, "500": 1}));
    let latency = &r["summary"]["latency_ms"]["all"];
    assert!(near(&latency["p50"], 30.0) && latency["max"] == 2500.0, "{latency}");
    assert_eq!(r["summary"]["first_time"], "2026-11-27T10:00:00.000Z");
    assert_eq!(r["summary"]["last_time"], "2026-11-27T10:01:30.000Z");
}

#[test]
fn haproxy_http_logs_inside_syslog() {
    // 5 lines: 2 are not requests (a start-up and a health message); 3
    // requests with Ta 109, 46 and 15 ms (p50 46 ms); the 400 carries a
    // CTS.0003 body in a captured header; the source is the syslog host.
    let r = report("haproxy/haproxy.log");
    assert_eq!((&r["inputs"][0]["format"], &r["inputs"][0]["wrapper"]), (&json!("haproxy"), &json!("syslog")));
    assert_eq!(counts(&r), (5, 3, 0, 2, 1));
    assert_eq!(r["summary"]["malformed_by_kind"], json!({"not-request": 2}));
    assert!(near(&r["summary"]["latency_ms"]["all"]["p50"], 46.0));
    assert_eq!(r["summary"]["first_time"], "2026-11-27T10:00:01.655Z");
    let c3 = code(&r, "CTS.0003");
    assert_eq!((&c3["statuses"], &c3["latency_ms"]["max"]), (&json!({"400": 1}), &json!(46.0)));
    assert_eq!(c3["top"]["sources"], json!([{"name": "lb1", "count": 1}]));
    assert_eq!(c3["top"]["endpoints"][0]["name"], "/v3/p1/tracker");
}

#[test]
fn syslog_wrapped_access_lines_of_both_rfcs() {
    // 3 nginx combined lines: two with an RFC 3164 header, one RFC 5424;
    // latencies 10, 120, 80 ms (p50 80 ms); two CTS.0003 bodies from web2.
    let r = report("wrapped/syslog_nginx.log");
    assert_eq!((&r["inputs"][0]["format"], &r["inputs"][0]["wrapper"]), (&json!("combined"), &json!("syslog")));
    assert_eq!(counts(&r), (3, 3, 0, 0, 2));
    assert!(near(&r["summary"]["latency_ms"]["all"]["p50"], 80.0));
    assert_eq!(code(&r, "CTS.0003")["top"]["sources"], json!([{"name": "web2", "count": 2}]));
}

#[test]
fn lts_exports_unwrap_their_message() {
    // 3 LTS lines holding gateway NDJSON: 200 (10 ms), 400 CTS.0003
    // (120 ms) from gw1, 404 CTS.0209 (8 ms) from gw2.
    let r = report("wrapped/lts_gateway.ndjson");
    assert_eq!((&r["inputs"][0]["format"], &r["inputs"][0]["wrapper"]), (&json!("ndjson"), &json!("lts")));
    assert_eq!(counts(&r), (3, 3, 0, 0, 2));
    assert_eq!(r["summary"]["statuses"], json!({"200": 1, "400": 1, "404": 1}));
    assert_eq!(code(&r, "CTS.0003")["top"]["sources"], json!([{"name": "gw1", "count": 1}]));
    assert_eq!(code(&r, "CTS.0209")["top"]["sources"], json!([{"name": "gw2", "count": 1}]));
    assert_eq!(code(&r, "CTS.0209")["latency_ms"]["max"], 8.0);
    // Gzipped, the same.
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("lts.ndjson.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, &std::fs::read(fixture("wrapped/lts_gateway.ndjson")).unwrap()).unwrap();
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let zipped = json_report(&[gz.to_str().unwrap(), "--top"]);
    assert_eq!(zipped["codes"], r["codes"]);
}

#[test]
fn ecs_and_opentelemetry_fields_nested_or_flattened() {
    // 4 lines. ECS nested: GET 200, event.duration 15 ms in ns. ECS
    // flattened: POST 400 CTS.0003 from 10.0.0.2, 120 ms. OTel: time in
    // ns (10:00:30), DELETE 404 CTS.0209 from its attributes, no latency.
    // Last: 503 nested as `response.status` (a built-in name), 500 ms.
    // Latencies 15, 120, 500: p50 120 ms.
    let r = report("ndjson/ecs_otel.ndjson");
    assert_eq!(counts(&r), (4, 4, 0, 0, 2));
    assert_eq!(r["summary"]["statuses"], json!({"200": 1, "400": 1, "404": 1, "503": 1}));
    let latency = &r["summary"]["latency_ms"]["all"];
    assert!(latency["count"] == 3 && latency["min"] == 15.0 && near(&latency["p50"], 120.0), "{latency}");
    assert_eq!(r["summary"]["last_time"], "2026-11-27T10:00:30.000Z");
    let c3 = code(&r, "CTS.0003");
    assert_eq!(c3["top"]["endpoints"], json!([{"name": "/v3/p1/tracker", "count": 1}]));
    assert_eq!(c3["top"]["clients"], json!([{"name": "10.0.0.2", "count": 1}]));
    let c209 = code(&r, "CTS.0209");
    assert_eq!(c209["statuses"], json!({"404": 1}));
    assert_eq!(c209["top"]["endpoints"], json!([{"name": "/v3/p1/trackers/{id}", "count": 1}]));
}

#[test]
fn a_dotted_override_reads_nested_objects_and_one_that_never_matches_warns() {
    let path = fixture("ndjson/ecs_otel.ndjson");
    let path = path.to_str().unwrap();
    let out = cmd().args([path, "--status-field", "response.status", "--output", "json"]).assert().success();
    let out = out.get_output();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The override replaces the built-in status names: only line 4 has one.
    assert_eq!(r["summary"]["statuses"], json!({"503": 1}));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = cmd().args([path, "--status-field", "resp.code"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains(r#"the field override "resp.code" matched none of the 4 lines"#), "{stderr}");
}
