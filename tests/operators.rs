//! The operator's questions on hand-checked fixtures: who and which
//! operation (CTS trace fields, `--by`), trace ratings and incidents, what
//! the service said (message variants), what changed (`diff`), and the
//! lines behind them.
//!
//! `traces/operators.ndjson`, eight OBS-style trace lines, worked out by
//! hand:
//! - ratings: normal on lines 1 and 7, warning on 2, 3 and 6, incident on
//!   4, 5 and 8;
//! - CTS.0003 on lines 2, 3 and 6: users `alice` (a string on 2,
//!   `user.name` on 6) and the agency's `principal_urn` (3); resources
//!   `tracker/t1` (2, 6) and `tracker/t2` (3); source_ip `10.0.0.6` twice
//!   and `""` (system) once; messages `Tracker tr-01 …`, `Tracker tr-02 …`
//!   (one variant) and `Invalid message body.`;
//! - CTS.0004 on lines 4 and 8 (`user.user_name` `bob`, then `bob` as a
//!   string), both incidents; line 5 is an incident without an error body.

use serde_json::{Value, json};

use crate::util::{cmd, code, fixture, json_report};

fn operators() -> String {
    fixture("traces/operators.ndjson").to_str().unwrap().to_owned()
}

/// `[[name, count], …]` of a list of `{name, count}`.
fn pairs(list: &Value) -> Value {
    Value::Array(list.as_array().unwrap().iter().map(|i| json!([i["name"], i["count"]])).collect())
}

#[test]
fn trace_fields_ratings_and_incidents() {
    let report = json_report(&[&operators(), "--top"]);
    assert_eq!(report["summary"]["trace_ratings"], json!({"normal": 2, "warning": 3, "incident": 3}));
    let incidents: Vec<Value> = report["summary"]["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            json!([i["line"], i["trace_id"], i["trace_name"], i["user"], i["resource"], i["request_id"], i["code"]])
        })
        .collect();
    assert_eq!(
        incidents,
        [
            json!([4, "t-4", "deleteTracker", "bob", "tracker/system", "req-4", "CTS.0004"]),
            json!([5, "t-5", "deleteBucket", "carol", "bucket/b1", "req-5", null]),
            json!([8, "t-8", "deleteTracker", "bob", "tracker/system", "req-8", "CTS.0004"]),
        ]
    );
    let by = &code(&report, "CTS.0003")["top"]["by"];
    assert_eq!(pairs(&by["user"]), json!([["alice", 2], ["iam::d1:assumed-agency:ops/s1", 1]]));
    assert_eq!(pairs(&by["operation"]), json!([["createTracker (CTS)", 3]]));
    assert_eq!(pairs(&by["resource"]), json!([["tracker/t1", 2], ["tracker/t2", 1]]));
    assert_eq!(pairs(&by["source_ip"]), json!([["10.0.0.6", 2], ["system", 1]]));
    assert_eq!(pairs(&by["trace_type"]), json!([["ApiCall", 2], ["ConsoleAction", 1]]));
    assert_eq!(code(&report, "CTS.0003")["trace_ratings"], json!({"normal": 0, "warning": 3, "incident": 0}));
    let bob = &code(&report, "CTS.0004")["top"]["by"];
    assert_eq!(pairs(&bob["user"]), json!([["bob", 2]]));
    assert_eq!(code(&report, "CTS.0004")["trace_ratings"]["incident"], 2);
    // Without --top the ratings and incidents are still there.
    let plain = json_report(&[&operators()]);
    assert_eq!(plain["summary"]["incidents"].as_array().unwrap().len(), 3);
    assert!(code(&plain, "CTS.0003").get("top").is_none());
}

#[test]
fn incident_and_warning_rules() {
    let judged = |rule: &str| cmd().args([&operators(), "-q", "-o", "/dev/null", "--fail-on", rule]).output().unwrap();
    for (rule, exit) in [
        ("incident>2", 1),
        ("incident>3", 0),
        ("warning>=3", 1),
        ("CTS.0004:incident>=2", 1),
        ("CTS.0003:incident>0", 0),
    ] {
        assert_eq!(judged(rule).status.code(), Some(exit), "{rule}");
    }
    // Input that holds no trace: the rule is not judged, not passed.
    let access = fixture("access/vhost_errors.log");
    let output = cmd().arg(&access).args(["-q", "-o", "/dev/null", "--fail-on", "incident>0"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no line has a trace_rating"));
}

#[test]
fn group_by_paths_variables_and_built_in_names() {
    let by = |report: &Value, field: &str| pairs(&code(report, "CTS.0003")["top"]["by"][field]);
    let access = fixture("access/vhost_errors.log");
    let args = ["--by", "$host", "--by", "user", "--by", "user_agent", "--by", "method", "--by", "status"];
    let report = json_report(&[&[access.to_str().unwrap()][..], &args].concat());
    assert_eq!(by(&report, "$host"), json!([["api.example.com", 2], ["admin.example.com", 1]]));
    assert_eq!(by(&report, "user"), json!([["alice", 1], ["bob", 1]]), "`-` is no user");
    assert_eq!(by(&report, "user_agent"), json!([["curl/8", 1], ["sdk/1", 1], ["sdk/2", 1]]));
    assert_eq!(by(&report, "method"), json!([["DELETE", 1], ["GET", 1], ["POST", 1]]));
    assert_eq!(by(&report, "status"), json!([["400", 3]]));
    // A dotted path and a top-level key of NDJSON.
    let traces = json_report(&[&operators(), "--by", "user.domain.name", "--by", "resource_type"]);
    assert_eq!(by(&traces, "resource_type"), json!([["tracker", 3]]));
    assert!(code(&traces, "CTS.0003")["top"]["by"].get("user.domain.name").is_none(), "no line has it");
    // Grouping is a setting of the state: states grouped otherwise do not merge.
    let dir = tempfile::tempdir().unwrap();
    let state = |name: &str, by: &str| {
        let path = dir.path().join(name);
        cmd().args([&operators(), "--by", by, "--output", "state", "-q", "-o"]).arg(&path).assert().success();
        path
    };
    let (a, b) = (state("a.state", "user"), state("b.state", "method"));
    cmd().arg("merge").arg(&a).arg(&b).assert().code(2).stderr(predicates::str::contains("--by"));
}

#[test]
fn message_variants_are_listed_and_compared_with_the_catalogue() {
    let report = json_report(&[&operators()]);
    let cts3 = code(&report, "CTS.0003");
    let variants: Vec<Value> =
        cts3["message_variants"].as_array().unwrap().iter().map(|m| json!([m["message"], m["count"]])).collect();
    assert_eq!(variants, [json!(["Invalid message body.", 1]), json!(["Tracker <*> does not exist.", 2])]);
    assert_eq!(cts3["message_differs"], true, "the most logged variant is not the catalogue's");
    let vhost = json_report(&[fixture("access/vhost_errors.log").to_str().unwrap()]);
    assert_eq!(code(&vhost, "CTS.0003")["message_differs"], false, "the catalogue's first sentence");
    let table = cmd().arg(operators()).arg("--wide").output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("≠ Tracker <*> does not exist. [2 variants logged]"), "{table}");
}

#[test]
fn diff_names_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let base_input = dir.path().join("base.ndjson");
    let text = std::fs::read_to_string(operators()).unwrap();
    std::fs::write(&base_input, text.lines().take(4).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let report = |input: &std::path::Path, name: &str| {
        let path = dir.path().join(name);
        cmd().arg(input).args(["--top", "--output", "json", "-q", "-o"]).arg(&path).assert().success();
        path
    };
    let (base, new) = (report(&base_input, "base.json"), report(std::path::Path::new(&operators()), "new.json"));
    let out = cmd().arg("diff").arg(&base).arg(&new).args(["--output", "json"]).output().unwrap();
    let diff: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cts3 = diff["codes"].as_array().unwrap().iter().find(|c| c["code"] == "CTS.0003").unwrap();
    // Base: CTS.0003 on lines 2 and 3; new: also line 6 (alice, 10.0.0.6,
    // "Invalid message body.").
    let drivers = &cts3["drivers"];
    assert_eq!(drivers["messages"]["new_values"], json!(["Invalid message body."]));
    let alice = &drivers["user"]["rising"][0];
    assert_eq!(
        (alice["name"].as_str(), alice["now"].as_u64(), alice["baseline"].as_u64()),
        (Some("alice"), Some(2), Some(1))
    );
    let table = cmd().arg("diff").arg(&base).arg(&new).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("CTS.0003 — what changed:"), "{table}");
    assert!(table.contains("messages: Invalid message body. 33 % (was 0 %) · new: Invalid message body."), "{table}");
    let csv = cmd().arg("diff").arg(&base).arg(&new).args(["--output", "csv"]).output().unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",drivers"), "{csv}");
    assert!(csv.contains("user: alice 67 % (was 50 %)"), "{csv}");
}

#[test]
fn lines_select_by_any_field() {
    let places = |args: &[&str]| -> Vec<String> {
        let out = cmd().arg("lines").args(args).output().unwrap();
        String::from_utf8(out.stdout).unwrap().lines().map(|l| l.split(':').nth(1).unwrap().to_owned()).collect()
    };
    let traces = operators();
    assert_eq!(places(&["--by", "user=alice", &traces]), ["2", "6"]);
    assert_eq!(places(&["--by", "user=bob", &traces]), ["4", "8"]);
    assert_eq!(places(&["--by", "source_ip=system", &traces]), ["3"]);
    assert_eq!(places(&["--by", "resource_name=t1", &traces]), ["2", "6"]);
    let access = fixture("access/vhost_errors.log");
    assert_eq!(places(&["--by", "$host=admin.example.com", access.to_str().unwrap()]), ["3"]);
}

#[test]
fn every_output_format_answers() {
    let render = |format: &str| {
        let out = cmd().args([&operators(), "--top", "--output", format]).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let markdown = render("markdown");
    assert!(markdown.contains("### Traces rated incident"), "{markdown}");
    assert!(markdown.contains("- user: alice (2), iam::d1:assumed-agency:ops/s1 (1)"), "{markdown}");
    let html = render("html");
    assert!(html.contains("Traces rated incident (3 of 3)") && html.contains("<b>user:</b> alice (2)"), "{html}");
    let prometheus = render("prometheus");
    assert!(prometheus.contains("cts_logscan_traces_total{rating=\"incident\"} 3"), "{prometheus}");
    let table = render("table");
    assert!(table.contains("trace rating normal 2 · warning 3 · incident 3"), "{table}");
}

#[test]
fn a_batch_spike_says_what_drives_it() {
    // spike.ndjson: 20 requests a minute for 10 minutes. Each minute one
    // CTS.0003 from 10.0.0.1 on /v3/p1/traces ("Invalid message body.");
    // from 10:06 six more a minute from 10.0.0.9 on /v3/p1/tracker
    // ("Tracker tr-0N does not exist."). The spike starts at 10:06; before
    // it 10.0.0.1 had all 6, in it 10.0.0.9 has 24 of 28 (86 %).
    let spike = fixture("ndjson/spike.ndjson");
    let report = json_report(&[spike.to_str().unwrap(), "--bucket", "1m", "--top"]);
    let cts3 = code(&report, "CTS.0003");
    assert_eq!(cts3["started"], "2026-11-27T10:06:00.000Z");
    let drivers = &cts3["spike_drivers"];
    let first = |list: &str| {
        let s = &drivers[list][0];
        (s["name"].as_str().unwrap().to_owned(), s["now"].as_u64(), s["baseline"].as_u64())
    };
    assert_eq!(first("clients"), ("10.0.0.9".to_owned(), Some(24), Some(0)));
    assert_eq!(first("endpoints"), ("/v3/p1/tracker".to_owned(), Some(24), Some(0)));
    assert_eq!(first("messages"), ("Tracker <*> does not exist.".to_owned(), Some(24), Some(0)));
    assert_eq!(drivers["clients"].as_array().unwrap().len(), 1, "10.0.0.1's share fell");
    let csv = cmd().arg(&spike).args(["--bucket", "1m", "--top", "--output", "csv"]).output().unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.contains("clients: 10.0.0.9 86 % (was 0 %); endpoints: /v3/p1/tracker 86 % (was 0 %)"), "{csv}");
    // stdin cannot be read again: no drivers, and stderr says why.
    let out =
        cmd().args(["-", "--bucket", "1m", "--top", "--output", "json"]).pipe_stdin(&spike).unwrap().output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(code(&report, "CTS.0003").get("spike_drivers").is_none());
    assert!(String::from_utf8_lossy(&out.stderr).contains("what drives each spike is not shown"));
}

#[test]
fn grouping_is_canonical_and_incidents_need_no_status() {
    let dir = tempfile::tempdir().unwrap();
    let state = |name: &str, by: &[&str]| {
        let path = dir.path().join(name);
        let by: Vec<&str> = by.iter().flat_map(|f| ["--by", f]).collect();
        cmd().arg(operators()).args(by).args(["--output", "state", "-q", "-o"]).arg(&path).assert().success();
        path
    };
    // A field given twice counts once; the order and --top's own lists do
    // not make another grouping.
    let (a, b) =
        (state("a.state", &["user", "user", "trace_type"]), state("b.state", &["trace_type", "endpoint", "user"]));
    let merged = cmd().arg("merge").arg(&a).arg(&b).args(["--allow-overlap", "--output", "json"]).output().unwrap();
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    let merged: Value = serde_json::from_slice(&merged.stdout).unwrap();
    assert_eq!(pairs(&code(&merged, "CTS.0003")["top"]["by"]["user"])[0], json!(["alice", 4]), "2 a scan");
    // A trace without `code` is still a trace, and its incident counts.
    let path = dir.path().join("nocode.ndjson");
    std::fs::write(
        &path,
        "{\"trace_id\":\"t-9\",\"trace_name\":\"deleteBucket\",\"trace_rating\":\"incident\",\"user\":\"eve\"}\n",
    )
    .unwrap();
    let report = json_report(&[path.to_str().unwrap()]);
    assert_eq!(report["summary"]["requests"], 1);
    assert_eq!(report["summary"]["incidents"][0]["user"], "eve");
}

#[test]
fn a_message_is_marked_as_not_the_catalogues_only_when_surely_the_most_logged() {
    // 50 catalogue messages and 9 one-off variants: the kept variants are
    // the 8 smallest in byte order, so the catalogue's may be left out.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("variants.ndjson");
    let line = |message: &str| format!("{{\"status\":400,\"error_code\":\"CTS.0003\",\"error_msg\":\"{message}\"}}\n");
    let mut text = line("Invalid message body.").repeat(50);
    for name in ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"] {
        text.push_str(&line(&format!("Bucket {name} not found")));
    }
    std::fs::write(&path, text).unwrap();
    let report = json_report(&[path.to_str().unwrap()]);
    assert_eq!(code(&report, "CTS.0003")["message_differs"], false, "{report}");
}
