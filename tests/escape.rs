//! No control character from a log or a file name reaches any output or
//! message raw: every output format, `diff`, `merge` and stderr show it
//! escaped (`\u001b`), and still show the text around it.

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::cmd;

/// An NDJSON log and an nginx access log, both under a file name holding
/// ESC and CSI, with control characters, C1 controls and bidi overrides in
/// the message, the URI, the request id, the client and the source.
fn hostile_inputs(dir: &Path) -> Vec<PathBuf> {
    let ndjson = [
        r#"{"time":"2026-11-27T10:00:00Z","status":400,"request_time":0.020,"uri":"/v3/p\u001b[41m1/tracker","request_id":"r\u001b]52;c;SGk=\u0007","remote_addr":"10.0.0.1\u009b31m","response":{"error_code":"APIGW.0301","error_msg":"\u001b]0;OWNED\u0007\u001b[2J \u202eevil\u202c \u009b31m end"}}"#,
        "{\"time\":\"2026-11-27T10:01:00Z\",\"status\":401,\"request_time\":0.030,\"uri\":\"/v3/p2/\u{9b}tracker\",\"response\":{\"error_code\":\"APIGW.0302\",\"error_msg\":\"raw \u{9b}2J c1 and \u{2066}isolate\u{2069}\"}}",
        r#"{"time":"2026-11-27T10:02:00Z","status":200,"request_time":0.010,"uri":"/v3/p1/tracker"}"#,
        "not json \u{1b}[31m at all",
    ];
    let access = [
        r#"10.0.0.2 - - [27/Nov/2026:10:03:00 +0000] "GET /v3/p3/\x1B[41mtracker HTTP/1.1" 400 12 "-" "ua\x1B]0;T\x07" 0.010 "{\x22error_code\x22:\x22VPC.0514\x22,\x22error_msg\x22:\x22\x5Cu001b]0;OWNED\x5Cu0007\x5Cu001b[2J nginx\x22}""#,
        r#"10.0.0.3 - - [27/Nov/2026:10:04:00 +0000] "GET /v3/p3/tracker HTTP/1.1" 200 12 "-" "ua" 0.010 "-""#,
    ];
    // An LTS export: the host name is the line's source.
    let lts = r#"{"host_name":"web\u001b[41m1","message":"{\"time\":\"2026-11-27T10:05:00Z\",\"status\":403,\"request_time\":0.040,\"response\":{\"error_code\":\"APIGW.0303\",\"error_msg\":\"lts\"}}\n","path":"/var/log/gw\u001b.log"}"#;
    // A CTS trace rated incident, its who, what and where hostile.
    let trace = r#"{"trace_id":"t\u001b[2J1","trace_name":"del\u001b]0;X\u0007ete","trace_rating":"incident","trace_type":"Api\u009bCall","service_type":"C\u202eTS","resource_type":"trac\u0007ker","resource_name":"n\u001b[31m","source_ip":"10.0.0.9\u0000","code":"403","time":1795768980000,"user":{"name":"bo\u001b[41mb"},"response":{"error_code":"CTS.0004","error_msg":"No permission \u001b[5m7."}}"#;
    let files = [
        ("gw\u{1b}[41m.ndjson", ndjson.join("\n")),
        ("access\u{1b}]0;X\u{7}.log", access.join("\n")),
        ("lts\u{9b}.json", lts.to_owned()),
        ("trace\u{1b}.ndjson", trace.to_owned()),
    ];
    files
        .into_iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            fs::write(&path, format!("{text}\n")).unwrap();
            path
        })
        .collect()
}

/// C0 and C1 controls, DEL and the bidi formatting characters: what must
/// never reach a terminal raw.
fn is_control(c: char) -> bool {
    matches!(c, '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The raw control characters in `bytes`, other than line feeds.
fn raw_controls(bytes: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(bytes).chars().filter(|&c| is_control(c) && c != '\n').collect()
}

/// Runs the binary; its stdout and stderr must hold no raw control
/// character. Returns stdout.
fn safe_output(args: &[&str], code: i32) -> String {
    let output = cmd().args(args).env("NO_COLOR", "1").assert().code(code).get_output().clone();
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let raw = raw_controls(bytes);
        assert!(raw.is_empty(), "{args:?}: raw {raw:?} on {stream}:\n{}", String::from_utf8_lossy(bytes));
    }
    String::from_utf8(output.stdout).unwrap()
}

fn strings(paths: &[PathBuf]) -> Vec<&str> {
    paths.iter().map(|p| p.to_str().unwrap()).collect()
}

#[test]
fn every_report_format_escapes_log_text_and_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = hostile_inputs(dir.path());
    let inputs = strings(&inputs);
    for (format, extra) in [
        ("table", &[][..]),
        ("table", &["--wide", "--top", "--bucket", "1m"][..]),
        ("json", &["--top"][..]),
        ("csv", &[][..]),
        ("markdown", &[][..]),
        ("html", &["--top", "--bucket", "1m"][..]),
        ("prometheus", &[][..]),
        ("state", &["--top"][..]),
    ] {
        let mut args = inputs.clone();
        args.extend(["--output", format]);
        args.extend(extra);
        let text = safe_output(&args, 0);
        // The text around the escapes is still there.
        if format != "prometheus" {
            assert!(text.contains("OWNED"), "{format} {extra:?} lost the message:\n{text}");
        }
        if matches!(format, "table" | "markdown" | "csv" | "html") {
            assert!(text.contains(r"\u001b]0;OWNED\u0007\u001b[2J"), "{format} {extra:?}:\n{text}");
        }
    }
    // The wide table shows the message, the C1 and bidi characters, the
    // --top values and the malformed line's file, each escaped.
    let mut args = inputs.clone();
    args.extend(["--wide", "--top"]);
    let table = safe_output(&args, 0);
    for shown in [
        r"user         bo\u001b[41mb (1)",
        r"del\u001b]0;X\u0007ete by bo\u001b[41mb on trac\u0007ker/n\u001b[31m",
        r"\u202eevil\u202c \u009b31m end",
        r"raw \u009b2J c1 and \u2066isolate\u2069",
        r"10.0.0.1\u009b31m",
        r"r\u001b]52;c;SGk=\u0007",
        r"web\u001b[41m1",
        r"gw\u001b[41m.ndjson:4",
    ] {
        assert!(table.contains(shown), "{shown} missing:\n{table}");
    }
}

#[test]
fn json_escapes_c1_and_bidi_and_reads_back_the_same_text() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = hostile_inputs(dir.path());
    let mut args = strings(&inputs);
    args.extend(["--output", "json"]);
    let text = safe_output(&args, 0);
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let messages = report["codes"].to_string();
    assert!(messages.contains("raw \u{9b}2J c1 and \u{2066}isolate\u{2069}"), "{messages}");
}

#[test]
fn diff_and_merge_escape_what_the_reports_and_states_hold() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = hostile_inputs(dir.path());
    let inputs = strings(&inputs);
    let written = |format: &str, name: &str, only: &[&str]| {
        let path = dir.path().join(name);
        let mut args = only.to_vec();
        args.extend(["--output", format, "-o", path.to_str().unwrap()]);
        safe_output(&args, 0);
        path
    };
    let base = written("json", "base.json", &inputs[..1]);
    let new = written("json", "new.json", &inputs);
    // An edited report with a control character in a code.
    let edited = dir.path().join("edited.json");
    let text = fs::read_to_string(&new).unwrap().replace("\"VPC.0514\"", "\"VPC\\u001b[2J.0514\"");
    fs::write(&edited, text).unwrap();
    for output in ["table", "csv", "markdown", "json"] {
        let shown = safe_output(&["diff", base.to_str().unwrap(), edited.to_str().unwrap(), "--output", output], 0);
        assert!(shown.contains("VPC"), "diff {output}:\n{shown}");
    }
    let one = written("state", "one.state", &inputs[..1]);
    let two = written("state", "two.state", &inputs[1..]);
    let merged = safe_output(&["merge", one.to_str().unwrap(), two.to_str().unwrap(), "--wide"], 0);
    assert!(merged.contains(r"gw\u001b[41m.ndjson:4"), "{merged}");
}

#[test]
fn messages_on_stderr_escape_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone\u{1b}]52;c;SGk=\u{7}.log");
    let output = cmd().arg(&missing).assert().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(raw_controls(&output.stderr).is_empty(), "{stderr}");
    assert!(stderr.contains(r"gone\u001b]52;c;SGk=\u0007.log"), "{stderr}");
    // A binary file gets a hint naming it.
    let binary = dir.path().join("bin\u{1b}[2J.log");
    fs::write(&binary, [0u8, 1, 2, 0xff, 0x1b, b'\n'].repeat(200)).unwrap();
    let output = cmd().arg(&binary).assert().get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(raw_controls(&output.stderr).is_empty(), "{stderr}");
    assert!(stderr.contains(r"bin\u001b[2J.log"), "{stderr}");
}

#[test]
fn follow_snapshots_and_the_final_report_escape_log_text() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = hostile_inputs(dir.path());
    let output = cmd()
        .args(["-F", "-", "--top", "--interval", "100ms"])
        .pipe_stdin(&inputs[0])
        .unwrap()
        .assert()
        .success()
        .get_output()
        .clone();
    for bytes in [&output.stdout, &output.stderr] {
        let raw = raw_controls(bytes);
        assert!(raw.is_empty(), "raw {raw:?} in\n{}", String::from_utf8_lossy(bytes));
    }
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains(r"\u202eevil"), "{stdout}");
}
