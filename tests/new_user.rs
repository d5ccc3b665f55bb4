//! What a new user hit (issue 9): each test names the item it covers and
//! failed before the fix. Item 2 (a file that shrinks while it is read) is
//! tested where it can be made to happen at an exact point: in the block
//! reader's unit tests.

use std::time::Duration;

use predicates::prelude::*;
use serde_json::Value;

use crate::util::{cmd, fixture};

fn gateway() -> String {
    fixture("ndjson/gateway.ndjson").to_str().unwrap().to_owned()
}

/// 1: a FIFO or a `<(…)` pipe cannot be read twice for a relative window.
#[test]
fn relative_windows_refuse_pipes_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("access.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    cmd()
        .arg(&fifo)
        .args(["--since", "1h"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("access.fifo: relative --since/--until need the newest record first"))
        .stderr(predicate::str::contains("not a regular file"));
    let bin = assert_cmd::cargo::cargo_bin!("cts-logscan");
    let script = format!("{} --since 1h <(cat {})", bin.display(), gateway());
    assert_cmd::Command::new("bash")
        .args(["-c", &script])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be read twice"))
        .stdout("");
}

/// 3: lines cut inside a quoted field are malformed, not requests.
#[test]
fn lines_cut_short_are_truncated_malformed_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let whole = r#"10.0.0.1 - - [27/Nov/2026:10:00:00 +0000] "GET /v3/p/traces HTTP/1.1" 200 5 "-" "curl/8" 0.010"#;
    let agent_cut =
        r#"10.0.0.2 - - [27/Nov/2026:10:00:01 +0000] "GET /v3/p/traces HTTP/1.1" 200 5 "-" "Mozilla/5.0 (X11; Linu"#;
    let body_cut = r#"10.0.0.3 - - [27/Nov/2026:10:00:02 +0000] "POST /v3/p/tracker HTTP/1.1" 400 5 "-" "curl/8" 0.020 "{\x22error_code\x22:\x22CTS.0003\x22,\x22error_msg\x22:\x22Invalid\x22} \x22more\x22: cut"#;
    std::fs::write(&path, format!("{whole}\n{agent_cut}\n{body_cut}\n")).unwrap();
    let r = crate::util::json_report(&[path.to_str().unwrap()]);
    let s = &r["summary"];
    assert_eq!((&s["lines"], &s["requests"], &s["malformed"]), (&3.into(), &1.into(), &2.into()));
    assert_eq!(s["malformed_by_kind"], serde_json::json!({"truncated": 2}));
    assert_eq!(s["error_bodies"], 0);
    assert_eq!(crate::util::code(&r, "CTS.0003")["in_malformed_lines"], 1);
}

/// 4: `--top N` as written, `--top=N`, and `--top` alone.
#[test]
fn top_takes_its_number_with_or_without_equals() {
    for args in [vec!["--top", "1"], vec!["--top=1"]] {
        let mut all = vec![gateway()];
        all.extend(args.iter().map(|a| a.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let r = crate::util::json_report(&all);
        let top = &crate::util::code(&r, "CTS.0003")["top"];
        assert_eq!(top["endpoints"].as_array().unwrap().len(), 1, "{args:?}");
    }
    let r = crate::util::json_report(&["--top", &gateway()]);
    assert!(crate::util::code(&r, "CTS.0003")["top"].is_object());
}

/// 5: an empty directory, or one of hidden files only, is an error, and
/// nothing is reported when no input could be read.
#[test]
fn no_input_file_is_an_error_without_an_empty_report() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("logs");
    std::fs::create_dir(&empty).unwrap();
    cmd()
        .arg(&empty)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("logs: no log files under this directory"));
    std::fs::write(empty.join(".access.log"), "x\n").unwrap();
    cmd()
        .arg(&empty)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("1 hidden entry skipped: pass --hidden"));
    cmd()
        .args(["/nonexistent/a.log", "/nonexistent/b.log", "--output", "json"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("/nonexistent/b.log: cannot open"));
}

/// 6: rules that could never or always fire are usage errors.
#[test]
fn fail_on_rejects_rules_that_cannot_mean_anything() {
    for (rule, message) in [
        ("CTS0003>0", "'CTS0003' is neither a metric"),
        ("requsts<100", "'requsts' is neither a metric"),
        ("error_rate>50", "did you mean 50%?"),
    ] {
        cmd().args([&gateway(), "--fail-on", rule]).assert().code(2).stderr(predicate::str::contains(message));
    }
    // requests and error_bodies are metrics: 8 requests, 5 error bodies.
    cmd().args([&gateway(), "-o", "/dev/null", "--fail-on", "requests<100"]).assert().code(1);
    cmd().args([&gateway(), "-o", "/dev/null", "--fail-on", "error_bodies>=5"]).assert().code(1);
    cmd().args([&gateway(), "-o", "/dev/null", "--fail-on", "error_bodies>5"]).assert().code(0);
    // A code hidden by --code is still judged.
    cmd().args([&gateway(), "-o", "/dev/null", "--code", "CTS.0003", "--fail-on", "CTS.0209>0"]).assert().code(1);
}

/// 7: breaches are printed with -q too.
#[test]
fn breaches_are_printed_even_when_quiet() {
    cmd()
        .args([&gateway(), "-q", "-o", "/dev/null", "--fail-on", "error_rate>0.5%", "--fail-on", "CTS.0003>1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--fail-on error_rate>0.5% breached: observed 62.5 %"))
        .stderr(predicate::str::contains("--fail-on CTS.0003>1 breached: observed 2"));
}

/// 8: `-o FILE` picks the format from the extension; a disagreeing
/// `--output` wins with a warning.
#[test]
fn the_output_file_extension_names_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    for (name, starts) in [
        ("r.html", "<!DOCTYPE html>"),
        ("r.json", "{"),
        ("r.csv", "code,count"),
        ("r.md", "## CTS error codes"),
        ("r.prom", "# HELP"),
        ("r.state", "{\"kind\":\"cts-logscan-state\""),
        ("r.txt", "cts-logscan"),
    ] {
        cmd().arg(gateway()).arg("-o").arg(dir.path().join(name)).assert().success().stderr("");
        assert!(read(name).starts_with(starts), "{name}: {}", read(name));
    }
    cmd()
        .arg(gateway())
        .args(["--output", "json", "-o"])
        .arg(dir.path().join("x.html"))
        .assert()
        .success()
        .stderr(predicate::str::contains("x.html looks like html output, but --output json was given: writing json"));
    let report: Value = serde_json::from_str(&read("x.html")).unwrap();
    assert_eq!(report["schema_version"], 2);
}

/// 13: logs the tool does not read are named, with what to do; an nginx
/// error log among access logs is skipped.
#[test]
fn foreign_logs_are_named_and_error_logs_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let nginx = dir.path().join("nginx");
    std::fs::create_dir(&nginx).unwrap();
    std::fs::copy(fixture("access/nginx_combined.log"), nginx.join("access.log")).unwrap();
    let error_line = "2026/11/27 10:00:00 [error] 1234#0: *5 open() \"/var/www/favicon.ico\" failed (2: No such file or directory), client: 10.0.0.1\n";
    std::fs::write(nginx.join("error.log"), error_line.repeat(3000)).unwrap();
    let output = cmd().arg(&nginx).args(["--output", "json"]).assert().success().get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error.log: looks like an nginx error log, not an access log: skipped"), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let access_only = crate::util::json_report(&[fixture("access/nginx_combined.log").to_str().unwrap()]);
    assert_eq!(report["summary"]["lines"], access_only["summary"]["lines"]);
    assert_eq!(report["summary"]["malformed"], access_only["summary"]["malformed"]);
    assert_eq!(report["inputs"][1]["skipped"], true);

    let binary = dir.path().join("core.log");
    std::fs::write(&binary, b"\x7fELF\x02\x01\x01\x00\x00\x00binary").unwrap();
    cmd().arg(&binary).assert().success().stderr(predicate::str::contains("looks like binary data, not a text log"));

    // A small file gets the hint too; with --log-format, it is the layout
    // to check, not a flag to add.
    let small = dir.path().join("small.log");
    std::fs::write(&small, "one\ntwo\n").unwrap();
    cmd()
        .arg(&small)
        .assert()
        .success()
        .stderr(predicate::str::contains("2 of 2 lines did not parse as combined; if that is not its format"));
    cmd().arg(&small).args(["--log-format", "$remote_addr [$time_local] $status"]).assert().success().stderr(
        predicate::str::contains("check the --log-format layout").and(predicate::str::contains("pass --format").not()),
    );
}

/// 14: percentiles print the three significant digits the histogram
/// holds: 30 ms exactly is 30.0, not 30.01.
#[test]
fn percentiles_print_what_the_histogram_knows() {
    let table = String::from_utf8(cmd().arg(gateway()).assert().success().get_output().stdout.clone()).unwrap();
    let row = table.lines().find(|l| l.starts_with("CTS.0003")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[5..9], ["30.0", "120", "120", "120.0"], "{row}");
    assert!(!table.contains("30.01"), "{table}");
}

/// 15: the small ones.
#[test]
fn small_rough_edges() {
    let dir = tempfile::tempdir().unwrap();
    // "1 line", not "1 lines".
    let one = dir.path().join("one.log");
    std::fs::write(&one, "{\"status\":200}\n").unwrap();
    cmd()
        .arg(&one)
        .assert()
        .success()
        .stdout(predicate::str::contains(", 1 line").and(predicate::str::contains("1 lines").not()));
    // A merged report has no timing to show, not "(0 B/s)".
    let state = dir.path().join("one.state");
    cmd().arg(&one).arg("-o").arg(&state).assert().success();
    let header = cmd().arg("merge").arg(&state).assert().success().get_output().stdout.clone();
    let header = String::from_utf8(header).unwrap();
    let first = header.lines().next().unwrap();
    assert!(!first.contains("B/s") && first.ends_with("1 line"), "{first}");
    // A full disk names what could not be written.
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin!("cts-logscan"))
        .arg(gateway())
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write the report to standard output: No space left on device"), "{stderr}");
    // --top endpoints keep the method when the path comes from `uri`.
    let both = dir.path().join("both.ndjson");
    std::fs::write(
        &both,
        r#"{"uri":"/v3/0a1b2c3d4e5f60718293a4b5c6d7e8f9/tracker","request":"POST /v3/0a1b2c3d4e5f60718293a4b5c6d7e8f9/tracker HTTP/1.1","status":400,"response":{"error_code":"CTS.0003"}}"#,
    )
    .unwrap();
    let r = crate::util::json_report(&[both.to_str().unwrap(), "--top"]);
    assert_eq!(crate::util::code(&r, "CTS.0003")["top"]["endpoints"][0]["name"], "/v3/{id}/tracker");
}
