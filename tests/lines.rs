//! `cts-logscan lines`: the lines behind the figures, hand-checked on the
//! fixtures, and against the generator's truth under every reader setting.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::corpus::{self, Flavor};
use crate::util::{cmd, fixture};

fn gateway() -> String {
    fixture("ndjson/gateway.ndjson").to_str().unwrap().to_owned()
}

fn lines(args: &[&str]) -> String {
    let output = cmd().arg("lines").args(args).assert().success().get_output().stdout.clone();
    String::from_utf8(output).unwrap()
}

/// `input:line` of each line printed.
fn places(text: &str) -> Vec<String> {
    text.lines().map(|l| l.splitn(3, ':').take(2).collect::<Vec<_>>().join(":")).collect()
}

#[test]
fn the_lines_with_an_error_body_in_input_order_with_their_place() {
    // gateway.ndjson: bodies on lines 2 (CTS.0003), 4 (CTS.0003, in a
    // string field), 5 (APIGW.0301), 8 (CTS.0209) and 11 (CTS.0403).
    let text = lines(&[&gateway()]);
    let g = gateway();
    assert_eq!(places(&text), [2, 4, 5, 8, 11].map(|n| format!("{g}:{n}")));
    // Each line as it is in the file.
    let file = fs::read_to_string(&g).unwrap();
    let second = file.lines().nth(1).unwrap();
    assert_eq!(text.lines().next().unwrap(), format!("{g}:2: {second}"));
    // The filters of a scan: a code glob, a status class, a time window.
    assert_eq!(places(&lines(&[&g, "--code", "CTS.0*"])).len(), 4);
    assert_eq!(places(&lines(&[&g, "--status", "5xx"])), [format!("{g}:4")]);
    let window = lines(&[&g, "--since", "2026-11-27T10:01:00Z", "--until", "2026-11-27T10:03:00Z"]);
    assert_eq!(places(&window), [format!("{g}:4"), format!("{g}:5")]);
    // --by: lines 2, 4 and 8 are on /v3/p1/tracker; of them only line 2
    // came from 10.0.0.2.
    assert_eq!(places(&lines(&["--by", "endpoint=/v3/p1/tracker", &g])).len(), 3);
    let both = lines(&["--by", "endpoint=/v3/p1/tracker", "--by", "client=10.0.0.2", &g]);
    assert_eq!(places(&both), [format!("{g}:2")]);
    cmd().args(["lines", "--by", "a b=x", &g]).assert().code(2).stderr(predicates::str::contains("endpoint, project"));
}

#[test]
fn json_gives_one_record_per_line_with_the_parsed_fields() {
    let text = lines(&[&gateway(), "--code", "CTS.0003", "--output", "json"]);
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 2);
    let first = &records[0];
    assert_eq!(first["line"], 2);
    assert_eq!(
        (&first["code"], &first["status"], &first["latency_ms"]),
        (&"CTS.0003".into(), &400.into(), &120.0.into())
    );
    assert_eq!(
        (&first["method"], &first["uri"], &first["request_id"]),
        (&"POST".into(), &"/v3/p1/tracker".into(), &"r2".into())
    );
    assert_eq!(first["message"], "Invalid message body.");
    assert_eq!(first["time"], "2026-11-27T10:00:30.000Z");
}

#[test]
fn every_source_and_reader_setting_gives_the_same_lines_as_many_as_the_truth_counts() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut wtr = BufWriter::new(File::create(&log).unwrap());
    let truth = corpus::generate(Flavor::Nginx, 2 << 20, 7, &mut wtr).unwrap();
    drop(wtr);
    let log = log.to_str().unwrap().to_owned();
    let whole = lines(&[&log, "--threads", "1"]);
    assert_eq!(whole.lines().count() as u64, truth.error_bodies + truth.malformed_bodies);
    // Tiny blocks on two threads finish out of order; the output does not.
    assert_eq!(lines(&[&log, "--threads", "2", "--block-size", "4KiB"]), whole);
    // Compressed, and through stdin: the same lines, under their name.
    let gz = dir.path().join("access.log.gz");
    let status = Command::new("gzip").args(["-k", &log]).status().unwrap();
    assert!(status.success() && gz.exists());
    let gz_lines = lines(&[gz.to_str().unwrap()]);
    assert_eq!(gz_lines.replace(".log.gz:", ".log:"), whole);
    let stdin = cmd().args(["lines", "-"]).pipe_stdin(&log).unwrap().assert().success().get_output().stdout.clone();
    assert_eq!(String::from_utf8(stdin).unwrap().replace("<stdin>:", &format!("{log}:")), whole);
}

#[test]
fn a_reader_that_goes_away_ends_it_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("big.ndjson");
    let line = fs::read_to_string(gateway()).unwrap();
    let mut file = BufWriter::new(File::create(&log).unwrap());
    for _ in 0..20_000 {
        file.write_all(line.as_bytes()).unwrap();
    }
    drop(file);
    let mut child = Command::new(env!("CARGO_BIN_EXE_cts-logscan"))
        .args(["lines", log.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then go away, as `| head -1` does.
    let mut first = [0u8; 64];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn on_a_terminal_control_characters_are_escaped_and_into_a_pipe_kept() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("esc.ndjson");
    fs::write(&log, "{\"status\":400,\"uri\":\"/\u{1b}[2Jx\",\"response\":{\"error_code\":\"CTS.0003\"}}\n").unwrap();
    let piped = lines(&[log.to_str().unwrap()]);
    assert!(piped.contains('\u{1b}'), "a pipe gets the line as it is");
    let script = ["/usr/bin/script", "/bin/script"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("this test needs script(1) from util-linux; ./test.sh installs it");
    let bin = env!("CARGO_BIN_EXE_cts-logscan");
    let shown =
        Command::new(script).args(["-qfec", &format!("{bin} lines {}", log.display()), "/dev/null"]).output().unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("\\u001b[2Jx") && !shown.contains('\u{1b}'), "{shown:?}");
}

#[test]
fn other_outputs_and_files_are_refused_with_what_to_do() {
    cmd()
        .args(["lines", &gateway(), "--output", "csv"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--output json"));
    cmd().args(["lines", &gateway(), "-o", "x.txt"]).assert().code(2).stderr(predicates::str::contains("redirect it"));
}
