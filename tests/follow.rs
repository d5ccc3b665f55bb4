//! `--follow`: a real file followed through appends, rotation by rename,
//! copytruncate, truncate-and-rewrite, deletion and a directory gaining a
//! file; the since-start figures equal a batch scan of the same bytes; the
//! binary writes snapshots, alerts, and the final report.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::{Value, json};

use cts_logscan::follow::{FollowOptions, Follower};
use cts_logscan::input::Source;
use cts_logscan::pipeline::{ScanOptions, scan};
use cts_logscan::report::Report;

use crate::support::corpus::{self, Flavor};
use crate::util::fixture;

fn options() -> FollowOptions {
    FollowOptions {
        scan: ScanOptions { threads: 1, ..ScanOptions::default() },
        windows: vec![60_000, 300_000, 900_000],
        partial_timeout: Duration::from_secs(3600),
    }
}

fn append(path: &Path, bytes: &[u8]) {
    fs::OpenOptions::new().append(true).create(true).open(path).unwrap().write_all(bytes).unwrap();
}

/// The figures that do not depend on which files the lines were in.
fn figures(report: &Report) -> Value {
    let mut json = serde_json::to_value(report).unwrap();
    json.as_object_mut().unwrap().remove("inputs");
    let summary = json["summary"].as_object_mut().unwrap();
    for key in ["timing", "files", "malformed_samples", "bytes"] {
        summary.remove(key);
    }
    json
}

fn requests(follower: &Follower) -> u64 {
    follower.snapshot().since_start.requests
}

/// Now, in epoch milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The gateway fixture with its times moved so that its last request
/// (10:04:00) is now: live windows end on the wall clock, and count only
/// requests of the last minutes.
fn gateway_now() -> Vec<u8> {
    let now = now_ms();
    let text = fs::read_to_string(fixture("ndjson/gateway.ndjson")).unwrap();
    let mut shifted = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("\"2026-11-27T10:") {
        let (head, tail) = rest.split_at(at);
        shifted.push_str(head);
        // "2026-11-27T10:MM:SSZ"
        let (minutes, seconds): (i64, i64) = (tail[15..17].parse().unwrap(), tail[18..20].parse().unwrap());
        let time = now - (240 - minutes * 60 - seconds) * 1000;
        shifted.push_str(&format!("\"{}", cts_logscan::lex::time::format_rfc3339(time)));
        rest = &tail[21..];
    }
    shifted.push_str(rest);
    shifted.into_bytes()
}

fn gateway_lines() -> Vec<String> {
    fs::read_to_string(fixture("ndjson/gateway.ndjson")).unwrap().lines().map(|l| format!("{l}\n")).collect()
}

#[test]
fn a_followed_file_through_rotation_truncation_rewrite_and_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.ndjson");
    let lines = gateway_lines();
    fs::write(&path, lines[0].as_bytes()).unwrap();
    let mut follower = Follower::new(vec![Source::File(path.clone())], options()).unwrap();
    follower.poll();
    assert_eq!(requests(&follower), 0, "starts at the end, like tail -F");
    append(&path, lines[1].as_bytes());
    follower.poll();
    assert_eq!(requests(&follower), 1);
    // Rotation by rename and create; a last line still lands in the old file.
    fs::rename(&path, dir.path().join("access.ndjson.1")).unwrap();
    append(&dir.path().join("access.ndjson.1"), lines[2].as_bytes());
    fs::write(&path, lines[3].as_bytes()).unwrap();
    follower.poll();
    assert_eq!(requests(&follower), 3);
    // copytruncate.
    fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
    append(&path, lines[4].as_bytes());
    follower.poll();
    assert_eq!(requests(&follower), 4);
    // Rewritten in place to a larger size.
    fs::write(&path, [lines[7].as_bytes(), lines[8].as_bytes()].concat()).unwrap();
    follower.poll();
    assert_eq!(requests(&follower), 6);
    // Deleted: nothing more, and no error. The file before the rotation
    // was read to its end and let go; the one after it is the one deleted.
    fs::remove_file(&path).unwrap();
    follower.poll();
    let snapshot = follower.snapshot();
    let states: Vec<&str> = snapshot.inputs.iter().map(|i| i.state.as_str()).collect();
    assert_eq!((snapshot.since_start.requests, states), (6, vec!["rotated", "deleted"]));
    // The code list: CTS.0003 twice (lines 2 and 4), APIGW.0301, CTS.0209.
    let codes: Vec<(&str, u64)> = snapshot.codes.iter().map(|c| (c.code.as_str(), c.since_start)).collect();
    assert!(codes.contains(&("CTS.0003", 2)) && codes.contains(&("CTS.0209", 1)), "{codes:?}");
}

#[test]
fn a_followed_directory_reads_new_files_from_their_start() {
    let dir = tempfile::tempdir().unwrap();
    let lines = gateway_lines();
    fs::write(dir.path().join("a.ndjson"), lines[1].as_bytes()).unwrap();
    let mut follower = Follower::new(vec![Source::File(dir.path().to_owned())], options()).unwrap();
    follower.poll();
    assert_eq!(requests(&follower), 0);
    // Another file: a file that starts as a followed one does (its first
    // 4 KiB, or all of it when shorter) is taken for its copy.
    fs::write(dir.path().join("b.ndjson"), [lines[3].as_bytes(), lines[1].as_bytes()].concat()).unwrap();
    follower.poll();
    assert_eq!(requests(&follower), 2);
    assert_eq!(follower.snapshot().inputs.len(), 2);
}

/// What happens to the followed file between two polls.
#[derive(Clone, Debug)]
enum Step {
    Append(usize),
    Rotate,
    CopyTruncate,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn following_until_idle_equals_a_batch_scan_of_the_same_bytes(
        seed in 0u64..1000,
        nginx in any::<bool>(),
        steps in proptest::collection::vec(
            prop_oneof![4 => (1usize..40).prop_map(Step::Append), 1 => Just(Step::Rotate), 1 => Just(Step::CopyTruncate)],
            1..12,
        ),
    ) {
        let flavor = if nginx { Flavor::Nginx } else { Flavor::Ndjson };
        let mut data = Vec::new();
        corpus::generate(flavor, 32 << 10, seed, &mut data).unwrap();
        let lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        fs::write(&path, "").unwrap();
        let mut follower = Follower::new(vec![Source::File(path.clone())], options()).unwrap();
        let mut written: Vec<u8> = Vec::new();
        let mut next = 0;
        for (i, step) in steps.iter().enumerate() {
            match step {
                Step::Append(n) => {
                    let chunk: Vec<u8> = lines[next..(next + n).min(lines.len())].concat();
                    next = (next + n).min(lines.len());
                    append(&path, &chunk);
                    written.extend_from_slice(&chunk);
                }
                Step::Rotate => {
                    fs::rename(&path, dir.path().join(format!("access.log.{i}"))).unwrap();
                    fs::write(&path, "").unwrap();
                }
                Step::CopyTruncate => {
                    fs::copy(&path, dir.path().join(format!("access.log.{i}"))).unwrap();
                    fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
                }
            }
            follower.poll();
        }
        let batch_file = dir.path().join("all.log");
        fs::write(&batch_file, &written).unwrap();
        let batch = scan(vec![Source::File(batch_file)], &ScanOptions { threads: 1, ..ScanOptions::default() }).unwrap();
        prop_assert_eq!(figures(&Report::of(&follower.state())), figures(&Report::of(&batch)));
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_cts-logscan")
}

/// Reads snapshot lines from `stdout` until one satisfies `done`.
fn snapshot_until(stdout: &mut impl BufRead, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    let mut line = String::new();
    loop {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the snapshot stream ended");
        let snapshot: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(snapshot["snapshot_version"], 1);
        if done(&snapshot) {
            return snapshot;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no matching snapshot: {snapshot}");
    }
}

/// `-F path` with snapshots every 100 ms and checks every 50 ms, plus
/// `args`; its stdout to read snapshots from.
fn follow_fast(path: &Path, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(bin())
        .args(["-F", path.to_str().unwrap(), "--interval", "100ms", "--poll-interval", "50ms"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

#[test]
fn the_binary_follows_writes_snapshots_and_a_final_report_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.ndjson");
    fs::write(&path, fs::read(fixture("ndjson/gateway.ndjson")).unwrap()).unwrap();
    let report = dir.path().join("final.json");
    let (mut child, mut stdout) = follow_fast(&path, &["-o", report.to_str().unwrap()]);
    let first = snapshot_until(&mut stdout, |_| true);
    assert_eq!(first["since_start"]["requests"], 0, "starts at the end");
    append(&path, &gateway_now());
    let grown = snapshot_until(&mut stdout, |s| s["since_start"]["lines"] == 11);
    assert_eq!(grown["since_start"]["error_bodies"], 5);
    let codes = grown["codes"].as_array().unwrap();
    let c3 = codes.iter().find(|c| c["code"] == "CTS.0003").unwrap();
    // The file held CTS.0003 before following began: not new.
    assert_eq!((c3["since_start"].as_u64(), c3["new"].as_bool()), (Some(2), Some(false)));
    assert_eq!(c3["windows"][2]["count"], 2, "both in the 15-minute window");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success(), "SIGTERM ends with the final report and exit 0");
    let final_report: Value = serde_json::from_slice(&fs::read(&report).unwrap()).unwrap();
    let batch = crate::util::json_report(&[fixture("ndjson/gateway.ndjson").to_str().unwrap()]);
    for key in ["lines", "requests", "error_bodies", "statuses", "latency_ms"] {
        assert_eq!(final_report["summary"][key], batch["summary"][key], "{key}");
    }
}

#[test]
fn stdin_is_followed_until_it_ends_and_alerts_fire_with_their_command() {
    let dir = tempfile::tempdir().unwrap();
    let exec_log = dir.path().join("alerts.env");
    let mut child = Command::new(bin())
        .args([
            "-F",
            "-",
            "--interval",
            "100ms",
            "--output",
            "json",
            "--alert",
            "CTS.0003>1/15m",
            "--alert",
            "new_code",
        ])
        .arg("--alert-exec")
        .arg(format!("env | grep '^CTS_ALERT_' | sort >> {}; echo >> {}", exec_log.display(), exec_log.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&gateway_now()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("alert firing: CTS.0003>1/15m (observed 2 over 15m"), "{stderr}");
    // The final report follows the snapshots on stdout.
    let stdout = String::from_utf8(output.stdout).unwrap();
    let report_start = stdout.find("{\n").unwrap();
    let report: Value = serde_json::from_str(&stdout[report_start..]).unwrap();
    assert_eq!(report["summary"]["requests"], 8);
    assert!(stdout[..report_start].lines().all(|l| l.contains("\"snapshot_version\":1")));
    // --alert-exec ran with the alert in its environment; it does not
    // block the scan, so wait for it to have written.
    let started = Instant::now();
    while !fs::read_to_string(&exec_log).unwrap_or_default().contains("CTS_ALERT_RULE=CTS.0003>1/15m") {
        assert!(started.elapsed() < Duration::from_secs(30), "--alert-exec did not run");
        std::thread::sleep(Duration::from_millis(50));
    }
    let env = fs::read_to_string(&exec_log).unwrap();
    assert!(env.contains("CTS_ALERT_STATE=firing") && env.contains("CTS_ALERT_CODE=CTS.0003"), "{env}");
    assert!(env.contains("CTS_ALERT_VALUE=2") && env.contains("CTS_ALERT_WINDOW=15m"), "{env}");
}

#[test]
fn since_starts_where_its_time_does_without_reading_from_the_top() {
    // Two hours of requests, one a second; --since an hour and a quarter in.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.ndjson");
    let start = 1_795_737_600; // 2026-11-27T00:00:00Z
    let mut text = String::new();
    for second in 0..7200 {
        let t = cts_logscan::lex::time::format_rfc3339((start + second) * 1000);
        let error = if second % 100 == 0 { r#","response":{"error_code":"CTS.0003"}"# } else { "" };
        text.push_str(&format!("{{\"time\":\"{t}\",\"status\":200,\"request_time\":0.01{error}}}\n"));
    }
    fs::write(&path, &text).unwrap();
    let since = cts_logscan::filter::TimeSpec::parse("2026-11-27T01:15:00Z").unwrap();
    let mut options = options();
    options.scan.since = Some(since);
    let mut follower = Follower::new(vec![Source::File(path.clone())], options).unwrap();
    follower.poll();
    let snapshot = follower.snapshot();
    // 01:15:00 to 01:59:59: 2,700 requests, 27 of them CTS.0003; what is
    // read before the start (at most one 64 KiB probe) counts as filtered.
    assert_eq!(snapshot.since_start.requests, 2700);
    assert_eq!(snapshot.codes[0].since_start, 27);
    assert!(
        snapshot.inputs[0].bytes < text.len() as u64 / 2,
        "read {} of {} bytes",
        snapshot.inputs[0].bytes,
        text.len()
    );
    let state = follower.state();
    assert!(state.aggregate.filtered < 1000, "{} filtered", state.aggregate.filtered);
}

#[test]
fn exit_on_alert_stops_at_the_first_firing_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("gateway.ndjson");
    fs::write(&input, gateway_now()).unwrap();
    let output = Command::new(bin())
        .args(["-F", "-", "--interval", "50ms", "--alert", "error_rate>10%/15m", "--exit-on-alert", "-o", "/dev/null"])
        .stdin(fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("alert firing: error_rate>10%/15m (observed 62.5 %"), "{stderr}");
}

#[test]
fn compressed_files_are_read_once_and_two_fifos_followed_until_they_end() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("old.ndjson.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&fs::read(fixture("ndjson/gateway.ndjson")).unwrap()).unwrap();
    fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let fifos: Vec<_> = (0..2).map(|i| dir.path().join(format!("stream{i}"))).collect();
    for fifo in &fifos {
        assert!(Command::new("mkfifo").arg(fifo).status().unwrap().success());
    }
    let child = Command::new(bin())
        .args(["-F", "--interval", "50ms", "--output", "json"])
        .arg(&gz)
        .args(&fifos)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The second stream first: opening a FIFO waits for its writer, and
    // must not hold up the other inputs.
    for fifo in fifos.iter().rev() {
        fs::write(fifo, fs::read(fixture("ndjson/gateway.ndjson")).unwrap()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let report: Value = serde_json::from_str(&stdout[stdout.find("{\n").unwrap()..]).unwrap();
    // The compressed file once, each stream to its end: three times the fixture.
    assert_eq!(report["summary"]["requests"], 24);
    assert_eq!(report["summary"]["error_bodies"], 15);
}

#[test]
fn the_snapshot_stream_through_rotation_and_copytruncate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.ndjson");
    fs::write(&path, "").unwrap();
    let lines = gateway_lines();
    let mut child = Command::new(bin())
        .args(["-F", path.to_str().unwrap(), "--interval", "100ms", "--poll-interval", "50ms", "-o", "/dev/null"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    snapshot_until(&mut stdout, |_| true);
    append(&path, lines[1].as_bytes());
    snapshot_until(&mut stdout, |s| s["since_start"]["requests"] == 1);
    fs::rename(&path, dir.path().join("access.ndjson.1")).unwrap();
    fs::write(&path, [lines[3].as_bytes(), lines[4].as_bytes()].concat()).unwrap();
    snapshot_until(&mut stdout, |s| s["since_start"]["requests"] == 3);
    fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
    append(&path, lines[7].as_bytes());
    let last = snapshot_until(&mut stdout, |s| s["since_start"]["requests"] == 4);
    assert_eq!(last["since_start"]["error_bodies"], 4, "lines 2, 4, 5 and 8 carry error bodies");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(child.wait().unwrap().success());
}

#[test]
fn new_code_fires_once_for_a_code_first_seen_after_following_began_and_new_marks_the_same() {
    // The file already holds CTS.0003, CTS.0209 and APIGW.0301; following
    // starts at its end.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.ndjson");
    fs::write(&path, fs::read(fixture("ndjson/gateway.ndjson")).unwrap()).unwrap();
    let exec_log = dir.path().join("alerts.env");
    let exec = format!("env | grep '^CTS_ALERT_' | sort >> {}", exec_log.display());
    let (child, mut stdout) = follow_fast(&path, &["-o", "/dev/null", "--alert", "new_code", "--alert-exec", &exec]);
    // The first snapshot comes after the initial read.
    snapshot_until(&mut stdout, |_| true);
    let error = |time: &str, code: &str| {
        format!(
            "{{\"time\":\"{time}\",\"status\":400,\"request_time\":0.1,\"response\":{{\"error_code\":\"{code}\"}}}}\n"
        )
    };
    append(&path, error("2026-11-27T10:10:00Z", "CTS.0012").as_bytes());
    append(&path, error("2026-11-27T10:10:01Z", "CTS.0003").as_bytes());
    let grown = snapshot_until(&mut stdout, |s| s["since_start"]["lines"] == 2);
    let new: Vec<(&str, bool)> =
        grown["codes"].as_array().unwrap().iter().map(|c| (c["code"].as_str().unwrap(), c["new"] == true)).collect();
    assert_eq!(new.len(), 2, "{new:?}");
    assert!(new.contains(&("CTS.0012", true)) && new.contains(&("CTS.0003", false)), "{new:?}");
    // A few more intervals: no second firing.
    for _ in 0..5 {
        snapshot_until(&mut stdout, |_| true);
    }
    let started = Instant::now();
    while !fs::read_to_string(&exec_log).unwrap_or_default().contains("CTS_ALERT_CODE=CTS.0012") {
        assert!(started.elapsed() < Duration::from_secs(30), "--alert-exec did not run for CTS.0012");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let firings: Vec<&str> = stderr.lines().filter(|l| l.contains("alert firing")).collect();
    assert_eq!(firings.len(), 1, "{stderr}");
    assert!(firings[0].contains("new_code (observed CTS.0012"), "{stderr}");
    let env = fs::read_to_string(&exec_log).unwrap();
    assert_eq!(env.matches("CTS_ALERT_RULE=new_code").count(), 1, "{env}");
    assert!(env.contains("CTS_ALERT_STATE=firing") && !env.contains("CTS.0003"), "{env}");
}

#[test]
fn a_line_stamped_2099_neither_empties_the_windows_nor_silences_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skew.ndjson");
    fs::write(&path, "").unwrap();
    let (child, mut stdout) = follow_fast(&path, &["-o", "/dev/null", "--alert", "CTS.0004>2/1m"]);
    snapshot_until(&mut stdout, |_| true);
    // One line from a host whose clock is 73 years ahead, read first.
    append(&path, b"{\"time\":\"2099-06-01T00:00:00Z\",\"status\":200,\"request_time\":0.01}\n");
    snapshot_until(&mut stdout, |s| s["since_start"]["lines"] == 1);
    // Then ten requests stamped now, three of them CTS.0004 (30 %).
    let now = cts_logscan::lex::time::format_rfc3339(now_ms());
    let mut text = String::new();
    for i in 0..10 {
        let body = if i % 3 == 0 && i > 0 { r#","response":{"error_code":"CTS.0004"}"# } else { "" };
        let status = if body.is_empty() { 200 } else { 500 };
        text.push_str(&format!("{{\"time\":\"{now}\",\"status\":{status},\"request_time\":0.01{body}}}\n"));
    }
    append(&path, text.as_bytes());
    let grown = snapshot_until(&mut stdout, |s| s["since_start"]["lines"] == 11);
    assert_eq!(grown["since_start"]["requests"], 11, "{grown}");
    let code = grown["codes"].as_array().unwrap().iter().find(|c| c["code"] == "CTS.0004").unwrap();
    let counts: Vec<u64> = code["windows"].as_array().unwrap().iter().map(|w| w["count"].as_u64().unwrap()).collect();
    assert_eq!(counts, [3, 3, 3], "the windows hold the requests of now: {grown}");
    assert_eq!(grown["error_rate"]["now"], 0.3, "{grown}");
    assert_eq!(grown["since_start"]["out_of_window"], 1, "the 2099 line is out of window: {grown}");
    // A few more intervals, then stop: the alert has fired.
    for _ in 0..3 {
        snapshot_until(&mut stdout, |_| true);
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("alert firing: CTS.0004>2/1m (observed 3 over 1m"), "{stderr}");
}

/// The trace fixture's lines, stamped now.
fn operators_now() -> Vec<u8> {
    let now = now_ms().to_string();
    let text = fs::read_to_string(fixture("traces/operators.ndjson")).unwrap();
    let stamped: Vec<String> = text
        .lines()
        .map(|line| {
            let at = line.find("\"time\":").unwrap() + 7;
            let end = at + line[at..].find(',').unwrap();
            format!("{}{now}{}\n", &line[..at], &line[end..])
        })
        .collect();
    stamped.concat().into_bytes()
}

#[test]
fn incident_traces_fire_an_alert_and_new_message_variants_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traces.ndjson");
    fs::write(&path, "").unwrap();
    let (child, mut stdout) = follow_fast(&path, &["-o", "/dev/null", "--alert", "incident>2/5m"]);
    snapshot_until(&mut stdout, |_| true);
    append(&path, &operators_now());
    let grown = snapshot_until(&mut stdout, |s| s["since_start"]["lines"] == 8);
    assert_eq!(grown["since_start"]["trace_ratings"], json!({"normal": 2, "warning": 3, "incident": 3}));
    let code = grown["codes"].as_array().unwrap().iter().find(|c| c["code"] == "CTS.0003").unwrap();
    // Nothing before: both variants of CTS.0003 are new.
    assert_eq!(code["new_messages"], json!(["Invalid message body.", "Tracker <*> does not exist."]), "{grown}");
    for _ in 0..3 {
        snapshot_until(&mut stdout, |_| true);
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("alert firing: incident>2/5m (observed 3"), "{stderr}");
}
