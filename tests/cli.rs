//! The command line: subcommands, exit codes, messages, output options.

use std::io::Write;
use std::process::Stdio;

use predicates::prelude::*;

use crate::util::{cmd, fixture, json_report, json_report_with_code, without_timing};

fn gateway() -> String {
    fixture("ndjson/gateway.ndjson").to_str().unwrap().to_owned()
}

#[test]
fn table_is_the_default_output() {
    cmd()
        .arg(gateway())
        .assert()
        .success()
        .stdout(predicate::str::contains("CODE"))
        .stdout(predicate::str::contains("CTS.0003"))
        .stdout(predicate::str::contains("Invalid message body. The message body is empty or invalid."))
        .stdout(predicate::str::contains("gateway.ndjson:7  truncated"))
        .stdout(predicate::str::contains("\x1b[").not());
}

#[test]
fn color_only_when_asked_or_on_a_terminal() {
    cmd().arg(gateway()).args(["--color", "always"]).assert().success().stdout(predicate::str::contains("\x1b[1m"));
    cmd().arg(gateway()).env("NO_COLOR", "1").assert().success().stdout(predicate::str::contains("\x1b[").not());
}

#[test]
fn stdin_gives_the_same_report_as_the_file() {
    let data = std::fs::read(fixture("ndjson/gateway.ndjson")).unwrap();
    let piped = cmd().args(["-", "--output", "json"]).write_stdin(data).assert().success().get_output().stdout.clone();
    // `< file`: stdin is the file itself, read as a file.
    let redirected = std::fs::File::open(fixture("ndjson/gateway.ndjson")).unwrap();
    let redirected = std::process::Command::new(env!("CARGO_BIN_EXE_cts-logscan"))
        .args(["-", "--output", "json"])
        .stdin(redirected)
        .output()
        .unwrap();
    assert!(redirected.status.success(), "{}", String::from_utf8_lossy(&redirected.stderr));
    let redirected = redirected.stdout;
    let mut from_file = json_report(&[&gateway()]);
    let mut from_pipe: serde_json::Value = serde_json::from_slice(&piped).unwrap();
    let mut from_redirect: serde_json::Value = serde_json::from_slice(&redirected).unwrap();
    assert_eq!(from_pipe["inputs"][0]["path"], "<stdin>");
    assert_eq!(from_redirect["inputs"][0]["path"], "<stdin>");
    for report in [&mut from_pipe, &mut from_redirect, &mut from_file] {
        report["inputs"][0]["path"] = serde_json::Value::Null;
        report["summary"]["malformed_samples"].as_array_mut().unwrap().iter_mut().for_each(|s| s["file"] = "-".into());
    }
    let from_file = without_timing(from_file);
    assert_eq!(without_timing(from_pipe), from_file);
    assert_eq!(without_timing(from_redirect), from_file);
}

#[test]
fn thread_count_does_not_change_the_report() {
    let one = json_report(&[&gateway(), "--threads", "1", "--block-size", "64"]);
    let two = json_report(&[&gateway(), "--threads", "2"]);
    assert_eq!(without_timing(one), without_timing(two));
}

#[test]
fn report_file_with_dash_o() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    cmd().arg(gateway()).args(["--output", "json", "-o"]).arg(&path).assert().success().stdout("");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["summary"]["error_bodies"], 5);
}

#[test]
fn missing_file_is_named_and_others_are_still_scanned() {
    let report = json_report_with_code(&["/nonexistent/access.log", &gateway()], 2);
    assert_eq!(report["summary"]["requests"], 8);
    assert_eq!(report["inputs"][0]["path"], "/nonexistent/access.log");
    assert!(report["inputs"][0]["error"].as_str().unwrap().contains("cannot open"));
    cmd()
        .args(["/nonexistent/access.log", &gateway()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/access.log: cannot open"));
}

#[test]
fn quiet_silences_warnings_not_errors() {
    cmd()
        .args(["--quiet", "/nonexistent/access.log", &gateway()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/access.log: cannot open"));
}

#[test]
fn bad_flags_are_usage_errors() {
    cmd().args(["--format", "xml", "x.log"]).assert().code(2).stderr(predicate::str::contains("invalid value 'xml'"));
    cmd().args(["--block-size", "0", "x.log"]).assert().code(2).stderr(predicate::str::contains("--block-size"));
    cmd().args(["--no-such-flag"]).assert().code(2);
}

#[test]
fn codes_lists_the_catalogue() {
    let out = cmd().arg("codes").assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().filter(|l| l.starts_with("CTS.")).count(), 45);
    assert!(text.contains("CTS.0013   403    newer"));
    let out = cmd().args(["codes", "--output", "json"]).assert().success().get_output().stdout.clone();
    let codes: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(codes.as_array().unwrap().len(), 45);
}

#[test]
fn explain_prints_one_entry() {
    cmd()
        .args(["explain", "CTS.0209"])
        .assert()
        .success()
        .stdout(predicate::str::contains("CTS.0209  (HTTP 400)"))
        .stdout(predicate::str::contains("solution:"))
        .stdout(predicate::str::contains("OBS bucket"));
    cmd().args(["explain", "CTS.0228"]).assert().success().stdout(predicate::str::contains("newer edition"));
    // The documentation's **bold** markup is not shown as asterisks.
    cmd()
        .args(["explain", "CTS.0205"])
        .assert()
        .success()
        .stdout(predicate::str::contains("description: The status parameter can only be set to enabled or disabled."))
        .stdout(predicate::str::contains("**").not());
}

#[test]
fn explain_unknown_code_suggests_the_nearest() {
    cmd()
        .args(["explain", "cts.209"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("'cts.209' is not in the CTS catalogue"))
        .stderr(predicate::str::contains("CTS.0209"));
}

#[test]
fn closed_pipe_exits_quietly() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cts-logscan"))
        .args(["codes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn file_named_like_a_subcommand_can_be_scanned_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("codes");
    std::fs::File::create(&path).unwrap().write_all(b"{\"status\":200}\n").unwrap();
    let report = json_report(&[path.to_str().unwrap()]);
    assert_eq!(report["summary"]["requests"], 1);
}

#[test]
fn progress_bar_only_on_a_terminal() {
    // Not a terminal: nothing on stderr.
    cmd().arg(gateway()).assert().success().stderr("");
    // A terminal, through script(1) where it exists: the bar is drawn on
    // stderr, and not with --quiet.
    let script = which_script().expect("this test needs script(1) from util-linux; ./test.sh installs it");
    let bin = env!("CARGO_BIN_EXE_cts-logscan");
    let run = |extra: &str| {
        let out = std::process::Command::new(&script)
            .args(["-qfec", &format!("{bin} {} -o /dev/null {extra}", gateway()), "/dev/null"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(run("").contains("B/s"), "no progress bar on a terminal");
    assert!(!run("--quiet").contains("B/s"), "--quiet still drew a progress bar");
    // Several files: the current one, with its place, against the total.
    let two = run(&fixture("access/nginx_combined.log").display().to_string());
    assert!(two.contains("[1/2] ") && two.contains("[2/2] ") && two.contains("nginx_combined.log"), "{two}");
    assert!(two.contains("/2.56 KiB") && two.contains("eta"), "{two}");
    // Stdin has no total: bytes and rate, no bar, no eta.
    let piped = std::process::Command::new(&script)
        .args(["-qfec", &format!("cat {} | {bin} - -o /dev/null", gateway()), "/dev/null"])
        .output()
        .unwrap();
    let piped = String::from_utf8_lossy(&piped.stdout);
    assert!(piped.contains("<stdin> 1.36 KiB read, ") && piped.contains("B/s"), "{piped}");
    assert!(!piped.contains("eta") && !piped.contains("░"), "{piped}");
}

fn which_script() -> Result<std::path::PathBuf, ()> {
    ["/usr/bin/script", "/bin/script"].iter().map(std::path::PathBuf::from).find(|p| p.exists()).ok_or(())
}

#[test]
fn time_window_status_and_code_filters() {
    use serde_json::json;
    // gateway.ndjson: requests at 10:00:00, :00:30, :01:00, :01:30, :02:00,
    // :03:00, :04:00, :03:30; [10:01, 10:03) holds lines 3, 4 and 5.
    let r = json_report(&[&gateway(), "--since", "2026-11-27T10:01:00Z", "--until", "2026-11-27T10:03:00Z"]);
    let s = &r["summary"];
    assert_eq!((&s["requests"], &s["filtered"], &s["error_bodies"]), (&json!(3), &json!(5), &json!(2)));
    assert_eq!(s["lines"], 11);
    assert_eq!(s["first_time"], "2026-11-27T10:01:00.000Z");
    // 4xx: lines 2 (400), 5 (403), 8 (400) and 11 (404).
    let r = json_report(&[&gateway(), "--status", "4xx"]);
    assert_eq!((&r["summary"]["requests"], &r["summary"]["filtered"]), (&json!(4), &json!(4)));
    assert_eq!(r["summary"]["statuses"], json!({"400": 2, "403": 1, "404": 1}));
    // Codes: the rows only; totals stay.
    let r = json_report(&[&gateway(), "--code", "CTS.0*"]);
    let codes: Vec<&str> = r["codes"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["CTS.0003", "CTS.0209", "CTS.0403"]);
    assert_eq!(r["summary"]["error_bodies"], 5);
    cmd().args([&gateway(), "--since", "tomorrow"]).assert().code(2).stderr(predicate::str::contains("is not a time"));
}

#[test]
fn relative_times_count_back_from_the_newest_record() {
    use serde_json::json;
    // The newest request is at 10:04:00: 2m back is 10:02:00, which keeps
    // 10:02:00, 10:03:00, 10:03:30 and 10:04:00.
    let r = json_report(&[&gateway(), "--since", "2m"]);
    assert_eq!((&r["summary"]["requests"], &r["summary"]["filtered"]), (&json!(4), &json!(4)));
    let r = json_report(&[&gateway(), "--since", "10:01", "--until", "10:03"]);
    assert_eq!(r["summary"]["requests"], 3);
    // Yesterday is 2026-11-26 only: every request is of the 27th.
    let r = json_report(&[&gateway(), "--since", "yesterday"]);
    assert_eq!((&r["summary"]["requests"], &r["summary"]["filtered"]), (&json!(0), &json!(8)));
    let data = std::fs::read(fixture("ndjson/gateway.ndjson")).unwrap();
    cmd()
        .args(["-", "--since", "2h"])
        .write_stdin(data)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("standard input cannot be read twice"));
}

#[test]
fn a_mostly_unparsable_file_gets_a_format_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, "2026-11-27 10:00:00 INFO started\n".repeat(20)).unwrap();
    cmd().arg(&path).assert().success().stderr(predicate::str::contains(
        "20 of 20 lines did not parse as combined; if that is not its format, pass --format or --log-format",
    ));
    cmd().arg(&path).arg("-q").assert().success().stderr("");
    let report = json_report(&[path.to_str().unwrap()]);
    assert_eq!((&report["inputs"][0]["lines"], &report["inputs"][0]["malformed"]), (&20.into(), &20.into()));
    cmd().arg(gateway()).assert().success().stderr("");
}

#[test]
fn version_names_the_commit_and_the_format_versions() {
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    // Built outside a git checkout (a source archive), the commit is unknown.
    let commit = match git {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        _ => "unknown".to_owned(),
    };
    let expected =
        format!("cts-logscan {} (commit {commit}, state version 1, report schema 2)\n", env!("CARGO_PKG_VERSION"));
    cmd().arg("--version").assert().success().stdout(expected);
}

#[test]
fn an_error_states_its_cause_once() {
    let gateway = fixture("ndjson/gateway.ndjson");
    let output = cmd().args(["diff", "nope.json", gateway.to_str().unwrap()]).assert().code(2).get_output().clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "{stderr}");
    assert!(stderr.starts_with("cts-logscan: nope.json: cannot read: No such file"), "{stderr}");
}
