//! The other report formats, `--fail-on`, completions and the man page.

use predicates::prelude::*;

use crate::util::{cmd, fixture};

fn gateway() -> String {
    fixture("ndjson/gateway.ndjson").to_str().unwrap().to_owned()
}

fn output(args: &[&str]) -> String {
    String::from_utf8(cmd().args(args).assert().success().get_output().stdout.clone()).unwrap()
}

#[test]
fn csv_has_a_header_and_a_quoted_row_per_code() {
    let text = output(&[&gateway(), "--output", "csv"]);
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(&rows.headers().unwrap()[0], "code");
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!((&rows[0][0], &rows[0][1], &rows[0][8]), ("CTS.0003", "2", "400:1 500:1"));
    // Messages survive the CSV round trip whatever they hold.
    assert_eq!(&rows[1][16], "Incorrect IAM authentication information");
    assert_eq!(
        &rows[2][16],
        "You cannot create different trackers to record the same type of operations on the same OBS bucket."
    );
    assert!(text.lines().count() >= 5);
}

#[test]
fn markdown_table() {
    cmd()
        .args([&gateway(), "--output", "markdown"])
        .assert()
        .stdout(predicate::str::contains("| code | count | share |"))
        .stdout(predicate::str::contains("| CTS.0003 | 2 | 40.0 % | 250.00 |"))
        .stdout(predicate::str::contains("| APIGW.0301 | 1 | 20.0 % | 125.00 | 20.0 | 20.0 | not in catalogue |"));
}

#[test]
fn prometheus_exposition() {
    let text = output(&[&gateway(), "--output", "prometheus"]);
    for line in [
        "# TYPE cts_logscan_error_bodies_total counter",
        "cts_logscan_error_bodies_total{code=\"CTS.0003\",in_catalog=\"true\"} 2",
        "cts_logscan_error_bodies_total{code=\"APIGW.0301\",in_catalog=\"false\"} 1",
        "cts_logscan_requests_total{status=\"500\"} 1",
        "cts_logscan_malformed_lines_total{kind=\"truncated\"} 1",
        "cts_logscan_status_mismatches_total{code=\"CTS.0003\"} 1",
        // CTS.0003 took 30 ms and 120 ms: a histogram over fixed bounds.
        "# TYPE cts_logscan_latency_seconds histogram",
        "cts_logscan_latency_seconds_bucket{code=\"CTS.0003\",le=\"0.025\"} 0",
        "cts_logscan_latency_seconds_bucket{code=\"CTS.0003\",le=\"0.05\"} 1",
        "cts_logscan_latency_seconds_bucket{code=\"CTS.0003\",le=\"0.1\"} 1",
        "cts_logscan_latency_seconds_bucket{code=\"CTS.0003\",le=\"0.25\"} 2",
        "cts_logscan_latency_seconds_bucket{code=\"CTS.0003\",le=\"+Inf\"} 2",
        "cts_logscan_latency_seconds_count{code=\"CTS.0003\"} 2",
        "cts_logscan_lines_total 11",
        &format!("cts_logscan_input_bytes_total{{input=\"{}\"}} 1397", gateway()),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    crate::serve::promtool_accepts(&text);
    // Every sample line is `name{labels} value` with a number.
    for sample in text.lines().filter(|l| !l.starts_with('#')) {
        let value = sample.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{sample}");
    }
}

#[test]
fn fail_on_each_rule_kind() {
    // gateway.ndjson: error rate 62.5 %, 1 unknown-code body, p99 of all
    // requests 120 ms, CTS.0003 p99 120 ms, no CTS.0004.
    let breached = [
        "error_rate>50%",
        "unknown_codes>0",
        "p99>100ms",
        "max>=0.12s",
        "CTS.0003>1",
        "CTS.0003:p99>100ms",
        "CTS.0003:rate>0.2",
    ];
    for rule in breached {
        cmd()
            .args([&gateway(), "-o", "/dev/null", "--fail-on", rule])
            .assert()
            .code(1)
            .stderr(predicate::str::contains(format!("--fail-on {rule} breached: observed")));
    }
    let kept = ["error_rate>70%", "unknown_codes>1", "p99>2s", "CTS.0004>0", "CTS.0003:p99>1s"];
    for rule in kept {
        cmd().args([&gateway(), "-o", "/dev/null", "--fail-on", rule]).assert().code(0).stderr("");
    }
    // A code that never occurred keeps its latency rule, with a warning
    // when it is not in the catalogue either.
    cmd()
        .args([&gateway(), "-o", "/dev/null", "--fail-on", "CTS.9999:p99>1ms"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("'CTS.9999' is not in the CTS catalogue and was not seen"));
}

#[test]
fn fail_on_still_writes_the_report_and_input_errors_win() {
    cmd()
        .args([&gateway(), "--output", "json", "--fail-on", "CTS.0003>0"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"schema_version\": 2"));
    cmd().args(["/nonexistent.log", &gateway(), "--fail-on", "CTS.0003>0"]).assert().code(2);
    cmd()
        .args([&gateway(), "--fail-on", "p99>fast"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid --fail-on rule"));
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let script = output(&["completions", shell]);
        assert!(script.contains("cts-logscan") && script.contains("fail-on"), "{shell}");
    }
    let man = output(&["man"]);
    assert!(man.contains(".TH cts-logscan") && man.contains("\\-\\-log\\-format"), "{}", &man[..200]);
}

#[test]
fn the_man_page_has_an_exit_status_section() {
    let man = output(&["man"]);
    let section = man.split(".SH \"EXIT STATUS\"\n").nth(1).expect("an EXIT STATUS section");
    let section = section.split("\n.SH").next().unwrap();
    let codes: Vec<&str> = section.split(".TP\n").skip(1).map(|entry| entry.lines().next().unwrap()).collect();
    assert_eq!(codes, ["0", "1", "2"], "{section}");
    assert!(section.contains("a \\-\\-fail\\-on rule was breached"), "{section}");
    assert!(section.contains("could not be opened or read"), "{section}");
    assert!(man.contains(".SH OPTIONS") && man.contains(".SH VERSION"));
}

#[test]
fn diff_two_nights() {
    let dir = tempfile::tempdir().unwrap();
    let gateway_text = std::fs::read_to_string(fixture("ndjson/gateway.ndjson")).unwrap();
    let mut tonight: Vec<&str> = gateway_text.lines().filter(|l| !l.contains("CTS.0403")).collect();
    let extra = r#"{"time":"2026-11-28T10:00:00Z","status":500,"request_time":0.9,"response":{"error_code":"CTS.0004","error_msg":"Data write exception."}}"#;
    tonight.push(extra);
    let new_log = dir.path().join("tonight.ndjson");
    std::fs::write(&new_log, tonight.join("\n")).unwrap();
    let (base, new) = (dir.path().join("base.json"), dir.path().join("new.json"));
    cmd().args([&gateway(), "--output", "json", "-o", base.to_str().unwrap()]).assert().success();
    cmd().args([new_log.to_str().unwrap(), "--output", "json", "-o", new.to_str().unwrap()]).assert().success();

    let out = output(&["diff", base.to_str().unwrap(), new.to_str().unwrap(), "--output", "json"]);
    let diff: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows: Vec<(&str, &str)> = diff["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["code"].as_str().unwrap(), c["change"].as_str().unwrap()))
        .collect();
    assert_eq!(rows[0], ("CTS.0004", "appeared"));
    assert_eq!(rows[1], ("CTS.0403", "vanished"));
    assert_eq!(rows.len(), 5);
    // The other three are the same both nights.
    assert!(rows[2..].iter().all(|(_, change)| *change == "unchanged"), "{rows:?}");
    assert_eq!(diff["codes"][0]["count"]["new"], 1.0);
    assert_eq!(diff["codes"][1]["count"]["relative"], -1.0);
    let table = output(&["diff", base.to_str().unwrap(), new.to_str().unwrap()]);
    assert!(table.lines().nth(2).unwrap().starts_with("CTS.0004   appeared     0   1 +1"), "{table}");
    assert!(table.contains("Rows: codes that appeared or vanished first"), "{table}");
    let csv = output(&["diff", base.to_str().unwrap(), new.to_str().unwrap(), "--output", "csv"]);
    // The last column: what drives the change, here the one logged message.
    assert_eq!(
        csv.lines().nth(1).unwrap(),
        "CTS.0004,appeared,0,1,+1,,0.00,125.00,125.00,,,900,,,messages: Data write exception. 100 % (was 0 %)"
    );
    let markdown = output(&["diff", base.to_str().unwrap(), new.to_str().unwrap(), "--output", "markdown"]);
    assert!(
        markdown.contains(
            "| CTS.0403 | vanished | 1 → 0 | -1 (-100.0 %) | 125.00 → 0.00 | -125.00 (-100.0 %) | 8.00 → - | - |"
        ),
        "{markdown}"
    );
    // A report diffed with itself: nothing moved.
    let same = output(&["diff", base.to_str().unwrap(), base.to_str().unwrap(), "--output", "json"]);
    let same: serde_json::Value = serde_json::from_str(&same).unwrap();
    for code in same["codes"].as_array().unwrap() {
        assert_eq!(code["change"], "unchanged", "{code}");
        assert_eq!(code["count"]["change"], 0.0);
    }

    cmd()
        .args(["diff", base.to_str().unwrap(), new.to_str().unwrap(), "--fail-on", "CTS.0004>0"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--fail-on CTS.0004>0 breached: observed 1"));
    cmd()
        .args(["diff", base.to_str().unwrap(), fixture("ndjson/gateway.ndjson").to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a cts-logscan JSON report"));
}

#[test]
fn csv_numbers_are_rounded_as_in_the_table() {
    // CTS.0003: 2 of 5 error bodies, 2 of 8 requests over 4 minutes,
    // latencies 30.008 and 120 ms: p50 30.0 to three digits.
    let text = output(&[&gateway(), "--output", "csv"]);
    assert_eq!(
        text.lines().nth(1).unwrap().split(',').take(14).collect::<Vec<_>>(),
        [
            "CTS.0003",
            "2",
            "0.4000",
            "250.00",
            "0.50",
            "true",
            "400",
            "1",
            "400:1 500:1",
            "0",
            "30.0",
            "120",
            "120",
            "120"
        ]
    );
    // Tonight: one more CTS.0003 in 0.5 s, 9 requests. Its rate goes from
    // 250 to 333.33 per 1,000 (+83.33, +33.33 %), the others' from 125 to
    // 111.11 (-13.89, -11.11 %).
    let dir = tempfile::tempdir().unwrap();
    let mut tonight = std::fs::read_to_string(gateway()).unwrap();
    tonight.push_str(r#"{"time":"2026-11-27T10:04:00Z","status":400,"request_time":0.5,"response":{"error_code":"CTS.0003","error_msg":"x"}}"#);
    let tonight_log = dir.path().join("tonight.ndjson");
    std::fs::write(&tonight_log, tonight).unwrap();
    let (base, new) = (dir.path().join("base.json"), dir.path().join("new.json"));
    cmd().args([&gateway(), "-o", base.to_str().unwrap()]).assert().success();
    cmd().args([tonight_log.to_str().unwrap(), "-o", new.to_str().unwrap()]).assert().success();
    let csv = output(&["diff", base.to_str().unwrap(), new.to_str().unwrap(), "--output", "csv"]);
    let rows: Vec<&str> = csv.lines().collect();
    // The new message "x" is one of three CTS.0003 bodies tonight, none before.
    assert_eq!(
        rows[1],
        "CTS.0003,changed,2,3,+1,50.00,250.00,333.33,83.33,33.33,120,500,380,316.67,messages: x 33 % (was 0 %) · new: x"
    );
    assert_eq!(rows[2], "APIGW.0301,changed,1,1,0,0.00,125.00,111.11,-13.89,-11.11,20.0,20.0,0,0.00,");
}

#[test]
fn buckets_sparklines_and_spike_onset() {
    // 20 minutes, 50 requests a minute; CTS.0004 once every other minute,
    // then 10 a minute from 10:15.
    let mut lines = Vec::new();
    for minute in 0..20 {
        for i in 0..50 {
            let spike = minute >= 15 && i < 10;
            let steady = minute % 2 == 0 && i == 0;
            let body = if spike || steady { r#","response":{"error_code":"CTS.0004","error_msg":"x"}"# } else { "" };
            lines.push(format!(
                r#"{{"time":"2026-11-27T10:{minute:02}:{i:02}Z","status":200,"request_time":0.01{body}}}"#
            ));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spike.ndjson");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let p = path.to_str().unwrap();
    let r = crate::util::json_report(&[p, "--bucket", "1m"]);
    assert_eq!(r["summary"]["series"]["requests"], serde_json::json!(vec![50; 20]));
    let c4 = crate::util::code(&r, "CTS.0004");
    assert_eq!(c4["series"][0], 1);
    assert_eq!(c4["series"][15], 10);
    assert_eq!(c4["started"], "2026-11-27T10:15:00.000Z");
    let table = output(&[p, "--bucket", "5m"]);
    assert!(table.contains("errors per 5 min from 2026-11-27T10:00:00Z (4 buckets of 5 min)"), "{table}");
    assert!(table.contains("CTS.0004     ▁▁▁█  started 2026-11-27T10:15:00Z"), "{table}");
    // A state keeps the series.
    let state_path = dir.path().join("r.state");
    cmd().args([p, "--bucket", "1m", "--output", "state", "-o", state_path.to_str().unwrap()]).assert().success();
    let merged: serde_json::Value =
        serde_json::from_str(&output(&["merge", state_path.to_str().unwrap(), "--output", "json"])).unwrap();
    assert_eq!(merged["summary"]["series"], r["summary"]["series"]);
    assert_eq!(crate::util::code(&merged, "CTS.0004")["started"], c4["started"]);
}

/// From 07:00 to `end_minute` past 07:00, ten requests a second; CTS.0004
/// on every 200th request (0.5 %, 3 a minute), plus a one-minute cluster at
/// 07:16 (11 in 600), a cluster over 07:40:30-07:41:30 (about 10 a minute in
/// both minutes) and, with `spike`, a 20-fold rise from 08:00 on (every
/// 10th request).
fn noise_and_spike_log(end_minute: u64, spike: bool) -> String {
    let mut text = String::new();
    for n in 0..end_minute * 600 {
        let (minute, second) = (n / 600, n % 600 / 10);
        let steady = n % 200 == 0;
        let cluster_16 = minute == 16 && n % 600 % 80 == 5;
        let cluster_40 = (40 * 600 + 300..41 * 600 + 300).contains(&n) && n % 40 == 7;
        let rise = spike && minute >= 60 && n % 10 == 0;
        let body = if steady || cluster_16 || cluster_40 || rise {
            r#","response":{"error_code":"CTS.0004","error_msg":"x"}"#
        } else {
            ""
        };
        let (hour, minute) = (7 + minute / 60, minute % 60);
        text.push_str(&format!(
            "{{\"time\":\"2026-11-27T{hour:02}:{minute:02}:{second:02}Z\",\"status\":200,\"request_time\":0.01{body}}}\n"
        ));
    }
    text
}

#[test]
fn a_spike_starts_when_the_rise_persists_the_same_in_every_view() {
    let dir = tempfile::tempdir().unwrap();
    let spike = dir.path().join("spike.ndjson");
    std::fs::write(&spike, noise_and_spike_log(90, true)).unwrap();
    let p = spike.to_str().unwrap();
    for bucket in ["1m", "5m"] {
        let r = crate::util::json_report(&[p, "--bucket", bucket]);
        assert_eq!(crate::util::code(&r, "CTS.0004")["started"], "2026-11-27T08:00:00.000Z", "--bucket {bucket}");
    }
    let html = output(&[p, "--output", "html"]);
    assert!(html.contains("<td class=\"started\">2026-11-27T08:00:00.000Z</td>"), "{html}");
    let table = output(&[p, "--bucket", "5m"]);
    assert!(table.contains("started 2026-11-27T08:00:00Z"), "{table}");
    // Steady noise with its clusters alone never starts.
    let noise = dir.path().join("noise.ndjson");
    std::fs::write(&noise, noise_and_spike_log(60, false)).unwrap();
    let n = noise.to_str().unwrap();
    for bucket in ["1m", "5m"] {
        let r = crate::util::json_report(&[n, "--bucket", bucket]);
        assert_eq!(crate::util::code(&r, "CTS.0004")["started"], serde_json::Value::Null, "--bucket {bucket}");
    }
    let html = output(&[n, "--output", "html"]);
    assert!(html.contains("<td class=\"started\">-</td>"), "{html}");
}

#[test]
fn html_time_labels_fall_on_round_times_and_top_lists_show() {
    // 85 minutes from 08:40, a request every 10 seconds, each a CTS.0003
    // on POST /v3/p1/tracker from 10.0.0.2.
    let mut text = String::new();
    for n in 0..85 * 6 {
        let (minute, second) = (40 + n / 6, n % 6 * 10);
        text.push_str(&format!(
            "{{\"time\":\"2026-11-27T{:02}:{:02}:{second:02}Z\",\"request\":\"POST /v3/p1/tracker HTTP/1.1\",\"remote_addr\":\"10.0.0.2\",\"status\":400,\"request_id\":\"r{n}\",\"response\":{{\"error_code\":\"CTS.0003\"}}}}\n",
            8 + minute / 60,
            minute % 60
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("span.ndjson");
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap();
    let html = output(&[p, "--output", "html", "--top=2"]);
    let labels: Vec<&str> = html
        .split("font-size=\"11\">")
        .skip(1)
        .filter_map(|rest| rest.split_once("</text>").map(|(label, _)| label))
        .filter(|label| label.contains(':'))
        .collect();
    assert_eq!(labels, ["08:45", "09:00", "09:15", "09:30", "09:45", "10:00"], "{html}");
    assert!(
        html.contains(&format!(
            "<b>Endpoints:</b> /v3/p1/tracker (510) · <b>Projects:</b> - · <b>Clients:</b> 10.0.0.2 (510) · \
             <b>Request ids:</b> r0 <span class=\"small\">{p}:1</span>, r1 <span class=\"small\">{p}:2</span>"
        )),
        "{html}"
    );
}

#[test]
fn top_sources_per_code() {
    use serde_json::json;
    let r = crate::util::json_report(&[&gateway(), "--top=2"]);
    let top = &crate::util::code(&r, "CTS.0003")["top"];
    // Line 2 logs "request":"POST /v3/p1/tracker …", line 4 "uri":"/v3/p1/tracker":
    // one endpoint, its path.
    assert_eq!(top["endpoints"], json!([{"name": "/v3/p1/tracker", "count": 2}]));
    assert_eq!(top["clients"], json!([{"name": "10.0.0.2", "count": 1}]));
    assert_eq!(top["request_ids"], json!([{"request_id": "r2", "file": gateway(), "line": 2}]));
    assert!(crate::util::json_report(&[&gateway()])["codes"][0].get("top").is_none());
    // Ids and query strings are normalised; project ids come from the path.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.ndjson");
    let line = |uri: &str, id: &str| {
        format!(
            r#"{{"request":"GET {uri} HTTP/1.1","status":404,"request_id":"{id}","remote_addr":"10.9.9.9","response":{{"error_code":"CTS.0403"}}}}"#
        )
    };
    let lines = [
        line("/v3/0a1b2c3d4e5f60718293a4b5c6d7e8f9/notifications/3f2504e0-4f89-11d3-9a0c-0305e82c3301?x=1", "a"),
        line("/v3/0a1b2c3d4e5f60718293a4b5c6d7e8f9/notifications/42", "b"),
        line("/v3/9f8e7d6c5b4a39281706f5e4d3c2b1a0/notifications/7", "c"),
    ];
    std::fs::write(&path, lines.join("\n")).unwrap();
    let r = crate::util::json_report(&[path.to_str().unwrap(), "--top=1"]);
    let top = &crate::util::code(&r, "CTS.0403")["top"];
    assert_eq!(top["endpoints"], json!([{"name": "/v3/{id}/notifications/{id}", "count": 3}]));
    assert_eq!(top["projects"], json!([{"name": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "count": 2}]));
    assert_eq!(top["request_ids"][0]["request_id"], "a");
    let table = output(&["--top", path.to_str().unwrap()]);
    assert_eq!(crate::util::code(&crate::util::json_report(&["--top", path.to_str().unwrap()]), "CTS.0403")["top"]["request_ids"].as_array().unwrap().len(), 3);
    assert!(table.contains("CTS.0403 — top sources"), "{table}");
    assert!(table.contains(&format!("  request id   a  {}:1", path.display())), "{table}");
}

/// Chromium's path, where it is installed (`./test.sh` installs it).
fn chromium() -> Option<std::path::PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(std::path::PathBuf::from).find(|p| p.exists())
}

/// Renders `page` in headless Chromium `width` pixels wide; returns the PNG.
fn screenshot(page: &std::path::Path, width: u32, dir: &std::path::Path) -> Vec<u8> {
    let chromium = chromium().expect("this test needs Chromium (apt-get install chromium); ./test.sh installs it");
    let png = dir.join(format!("report-{width}.png"));
    let status = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", dir.join(format!("profile-{width}")).display()),
            &format!("--window-size={width},1100"),
            &format!("--screenshot={}", png.display()),
            &format!("file://{}", page.display()),
        ])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    std::fs::read(&png).unwrap()
}

#[test]
fn html_report_renders_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    // A day of generated traffic: a 30-minute chart and more codes than
    // colours.
    let corpus = dir.path().join("day.log");
    let mut data = Vec::new();
    crate::support::corpus::generate(crate::support::corpus::Flavor::Nginx, 12 << 20, 5, &mut data).unwrap();
    std::fs::write(&corpus, data).unwrap();
    let html_path = dir.path().join("report.html");
    cmd().arg(&corpus).arg("-o").arg(&html_path).assert().success();
    let html = std::fs::read_to_string(&html_path).unwrap();
    // Self-contained: no scripts, links or remote resources (the SVG
    // namespace is a name, not a fetch).
    let page = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for forbidden in ["<script", "<link", "http://", "https://", " src="] {
        assert!(!page.contains(forbidden), "{forbidden} in the page");
    }
    assert!(html.contains("<h2>Errors per 1 min</h2>"), "21 minutes of traffic, a bar a minute");
    assert!(html.contains("<dt>statuses</dt>") && html.contains("<dt>latency, all</dt>"));
    assert!(html.contains("1 file · "), "no '1 file(s)'");
    assert!(html.contains(">6 other codes</span>"), "codes past the seventh share one colour");
    assert!(html.contains("#E69F00") && !html.contains("#d62728"), "the Okabe–Ito palette");
    assert!(!html.contains("**"), "catalogue markup is stripped");
    let count = |code: &str| -> String {
        let row = html.split("<tr").find(|r| r.contains(&format!(">{code}</td>"))).unwrap();
        row.split("<td class=\"n\">").nth(1).unwrap().split('<').next().unwrap().to_owned()
    };
    assert!(count("CTS.0003").contains(','), "thousands separators: {}", count("CTS.0003"));
    assert!(html.contains("&nbsp;%</td>"), "a share does not wrap before its %");
    for width in [1400, 800] {
        let image = screenshot(&html_path, width, dir.path());
        assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG was written");
        // A rendered page with a chart and a table compresses to well over
        // a blank page's few kilobytes.
        assert!(image.len() > 40_000, "{width} px: the screenshot is {} bytes: the page looks empty", image.len());
    }
    // Ten hours, a request a minute: more minutes than bars, so bars of a
    // round 10 minutes, labelled on the clock.
    let lines: Vec<String> = (0..600)
        .map(|minute| {
            format!(
                r#"{{"time":"2026-11-27T{:02}:{:02}:00Z","status":400,"response":{{"error_code":"CTS.0003"}}}}"#,
                minute / 60,
                minute % 60
            )
        })
        .collect();
    let long = dir.path().join("long.ndjson");
    std::fs::write(&long, lines.join("\n")).unwrap();
    let long_page = output(&[long.to_str().unwrap(), "--output", "html"]);
    assert!(long_page.contains("<h2>Errors per 10 min</h2>"), "{long_page}");
    assert!(long_page.contains(">00:00</text>") && long_page.contains(">02:00</text>"), "time labels every 2 h");
    assert!(!long_page.contains(">01:20</text>"), "no labels between round times");
}

#[test]
fn a_table_written_to_a_file_shows_messages_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.txt");
    // 101 characters, the documented message of CTS.0209, logged as it is.
    let message = "You cannot create different trackers to record the same type of operations on the same OBS bucket.";
    let input = dir.path().join("in.ndjson");
    let line = format!(r#"{{"status":400,"uri":"/v3/p1/tracker","error_code":"CTS.0209","error_msg":"{message}"}}"#);
    std::fs::write(&input, line + "\n").unwrap();
    cmd().arg(&input).args(["-o", path.to_str().unwrap()]).assert().success();
    let table = std::fs::read_to_string(&path).unwrap();
    assert!(table.contains(message), "{table}");
    let row = table.lines().find(|l| l.starts_with("CTS.0209")).unwrap();
    assert!(!row.contains('≠'), "the logged message is the catalogue's: {row}");
}

#[test]
fn markdown_shows_markup_from_a_log_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.ndjson");
    let line = r#"{"status":400,"response":{"error_code":"APIGW.0399","error_msg":"<script>x</script> & |"}}"#;
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let text = output(&[path.to_str().unwrap(), "--output", "markdown"]);
    assert!(text.contains("| &lt;script&gt;x&lt;/script&gt; &amp; \\| |"), "{text}");
}
