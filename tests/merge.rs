//! `merge` reads states, never reports: merging the states of parts equals
//! one scan over all the inputs in every output format, for every kind of
//! flag the parts were written with; overlap, different settings and other
//! versions are refused with a message that names both sides.

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde_json::Value;

use crate::support::corpus::{self, Flavor};
use crate::util::{cmd, fixture};

/// A generated corpus cut into three files at line ends.
fn parts(dir: &Path, flavor: Flavor, seed: u64) -> Vec<PathBuf> {
    let mut data = Vec::new();
    corpus::generate(flavor, 96 << 10, seed, &mut data).unwrap();
    let cut = |fraction: f64| {
        let at = (data.len() as f64 * fraction) as usize;
        memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i + 1)
    };
    let bounds = [0, cut(0.3), cut(0.7), data.len()];
    (0..3)
        .map(|i| {
            let path = dir.join(format!("part{i}.log"));
            std::fs::write(&path, &data[bounds[i]..bounds[i + 1]]).unwrap();
            path
        })
        .collect()
}

fn run(args: &[&str]) -> String {
    String::from_utf8(cmd().args(args).assert().success().get_output().stdout.clone()).unwrap()
}

/// What may differ between a scan and a merge: the scan's timing.
fn without_timing(output: &str, format: &str) -> String {
    match format {
        "json" => {
            let mut report: Value = serde_json::from_str(output).unwrap();
            assert!(report["summary"]["timing"].is_object() || report["summary"]["timing"].is_null());
            report["summary"].as_object_mut().unwrap().remove("timing");
            report.to_string()
        }
        "table" => {
            let (first, rest) = output.split_once('\n').unwrap();
            let first = first.split(" in ").next().unwrap();
            format!("{first}\n{rest}")
        }
        _ => output.to_owned(),
    }
}

const FORMATS: [&str; 6] = ["table", "json", "csv", "markdown", "prometheus", "html"];

/// Each input to a state with `flags`, named with `suffix`.
fn states_of(inputs: &[PathBuf], flags: &[&str], suffix: &str) -> Vec<String> {
    inputs
        .iter()
        .map(|input| {
            let state = input.with_extension(suffix);
            let (input, out) = (input.to_str().unwrap(), state.to_str().unwrap());
            cmd().arg(input).args(flags).args(["--output", "state", "-o", out]).assert().success();
            out.to_owned()
        })
        .collect()
}

/// Each part to a state with `flags`, then `merge` against one scan.
fn assert_merge_equals_scan(flavor: Flavor, seed: u64, flags: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let inputs = parts(dir.path(), flavor, seed);
    let states = states_of(&inputs, flags, "state");
    // `--output html` keeps a per-minute series unless --bucket is given;
    // its states must have been written with one to chart it.
    let mut html_flags = flags.to_vec();
    if !flags.contains(&"--bucket") {
        html_flags.extend(["--bucket", "1m"]);
    }
    let html_states = states_of(&inputs, &html_flags, "html-state");
    let inputs: Vec<&str> = inputs.iter().map(|p| p.to_str().unwrap()).collect();
    for format in FORMATS {
        let states = if format == "html" { &html_states } else { &states };
        let mut merge_args = vec!["merge"];
        merge_args.extend(states.iter().map(String::as_str));
        merge_args.extend(["--output", format, "--color", "never"]);
        let mut scan_args = inputs.clone();
        scan_args.extend(flags);
        scan_args.extend(["--output", format, "--color", "never"]);
        let (merged, scanned) = (run(&merge_args), run(&scan_args));
        assert_eq!(without_timing(&merged, format), without_timing(&scanned, format), "{format} with {flags:?}");
    }
    // Merging the merged state again with nothing changes nothing: a merge
    // can write a state for the next level of a tree.
    let level = dir.path().join("level.state");
    let mut args = vec!["merge"];
    args.extend(states.iter().map(String::as_str));
    args.extend(["--output", "state", "-o", level.to_str().unwrap()]);
    run(&args);
    let tree = run(&["merge", level.to_str().unwrap(), "--output", "json"]);
    let mut flat = vec!["merge"];
    flat.extend(states.iter().map(String::as_str));
    flat.extend(["--output", "json"]);
    assert_eq!(tree, run(&flat));
}

#[test]
fn merge_equals_one_scan_without_flags() {
    assert_merge_equals_scan(Flavor::Ndjson, 1, &[]);
    assert_merge_equals_scan(Flavor::Nginx, 2, &[]);
}

#[test]
fn merge_equals_one_scan_with_a_code_filter() {
    assert_merge_equals_scan(Flavor::Ndjson, 3, &["--code", "CTS.00*"]);
}

#[test]
fn merge_equals_one_scan_with_a_status_filter() {
    assert_merge_equals_scan(Flavor::Nginx, 4, &["--status", "4xx"]);
}

#[test]
fn merge_equals_one_scan_with_a_time_window() {
    let window = ["--since", "2026-11-27T00:00:03Z", "--until", "2026-11-27T00:00:07Z"];
    assert_merge_equals_scan(Flavor::Ndjson, 5, &window);
}

#[test]
fn merge_equals_one_scan_with_buckets() {
    assert_merge_equals_scan(Flavor::Nginx, 6, &["--bucket", "1s"]);
}

#[test]
fn merge_equals_one_scan_with_top() {
    assert_merge_equals_scan(Flavor::Ndjson, 7, &["--top=5"]);
    assert_merge_equals_scan(Flavor::Nginx, 8, &["--top=5", "--bucket", "2s", "--code", "CTS.*"]);
}

/// Writes the state of `input` scanned with `flags` to `out`.
fn state(input: &Path, out: &Path, flags: &[&str]) -> String {
    cmd().arg(input).args(flags).args(["--output", "state", "-o"]).arg(out).assert().success();
    out.to_str().unwrap().to_owned()
}

#[test]
fn a_filtered_part_merges_into_a_report_that_says_so_and_adds_up() {
    // The report a new user merged lost the all-request latency count and
    // the unknown-code bodies; a state keeps them.
    let dir = tempfile::tempdir().unwrap();
    let a = state(&fixture("ndjson/gateway.ndjson"), &dir.path().join("a.state"), &["--code", "CTS.0003"]);
    let merged: Value = serde_json::from_str(&run(&["merge", &a, "--output", "json"])).unwrap();
    let s = &merged["summary"];
    assert_eq!(s["latency_ms"]["all"]["count"], 8);
    assert_eq!(s["unknown_code_bodies"], 1);
    assert_eq!(s["error_bodies"], 5);
    assert_eq!(s["filter"]["codes"], serde_json::json!(["CTS.0003"]));
    assert_eq!(merged["codes"].as_array().unwrap().len(), 1);
    let table = run(&["merge", &a]);
    assert!(table.contains("filter       codes CTS.0003 (totals cover all codes)"), "{table}");
}

#[test]
fn the_accounting_holds_after_a_merge_of_parts_with_unparsable_error_lines() {
    // One valid access line and three lines that do not parse but hold
    // error bodies: not "300 % of requests".
    let dir = tempfile::tempdir().unwrap();
    let valid = r#"10.0.0.1 - - [27/Nov/2026:10:00:00 +0000] "GET /v3/p/traces HTTP/1.1" 200 5 "-" "ua" 0.010"#;
    let broken = r#"10.0.0.1 - - [27/Nov/2026:10:00 "GET / HTTP/1.1" "{\x22error_code\x22:\x22CTS.0003\x22}""#;
    let path = dir.path().join("access.log");
    std::fs::write(&path, format!("{valid}\n{broken}\n{broken}\n{broken}\n")).unwrap();
    let other = dir.path().join("other.log");
    std::fs::write(&other, format!("{valid}\n{broken}\n")).unwrap();
    let (a, b) = (state(&path, &dir.path().join("a.state"), &[]), state(&other, &dir.path().join("b.state"), &[]));
    for args in [vec![path.to_str().unwrap()], vec!["merge", &a, &b]] {
        let mut args = args;
        args.extend(["--output", "json"]);
        let report: Value = serde_json::from_str(&run(&args)).unwrap();
        let s = &report["summary"];
        let n = |key: &str| s[key].as_u64().unwrap();
        assert_eq!(n("lines"), n("requests") + n("blank") + n("malformed") + n("filtered"), "{args:?}");
        assert!(n("error_bodies") <= n("requests"));
        assert!(s["error_rate"].as_f64().unwrap() <= 1.0);
        for code in report["codes"].as_array().unwrap() {
            assert!(code["share"].as_f64().unwrap() <= 1.0);
            assert!(code["per_1k_requests"].as_f64().unwrap() <= 1000.0);
        }
    }
    let one: Value = serde_json::from_str(&run(&[path.to_str().unwrap(), "--output", "json"])).unwrap();
    assert_eq!((&one["summary"]["requests"], &one["summary"]["malformed"]), (&1.into(), &3.into()));
    assert_eq!(one["summary"]["error_bodies"], 0);
    assert_eq!(one["summary"]["error_bodies_in_malformed_lines"], 3);
    let code = crate::util::code(&one, "CTS.0003");
    assert_eq!((&code["count"], &code["in_malformed_lines"], &code["share"]), (&0.into(), &3.into(), &0.0.into()));
    let table = run(&[path.to_str().unwrap()]);
    assert!(table.contains("0.00 % of requests"), "{table}");
}

#[test]
fn merging_a_state_twice_is_refused_unless_overlap_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let a = state(&fixture("ndjson/gateway.ndjson"), &dir.path().join("a.state"), &[]);
    // The same input under another name is the same input.
    let copy = dir.path().join("copy.ndjson");
    std::fs::copy(fixture("ndjson/gateway.ndjson"), &copy).unwrap();
    let b = state(&copy, &dir.path().join("b.state"), &[]);
    for second in [&a, &b] {
        cmd()
            .args(["merge", &a, second])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("gateway.ndjson"))
            .stderr(predicate::str::contains("merging would count it twice (pass --allow-overlap"));
    }
    let twice: Value = serde_json::from_str(&run(&["merge", &a, &b, "--allow-overlap", "--output", "json"])).unwrap();
    assert_eq!(twice["summary"]["requests"], 16);
    // Different inputs at the same path (two hosts) are not an overlap.
    let other = dir.path().join("host2");
    std::fs::create_dir(&other).unwrap();
    let lines = std::fs::read_to_string(fixture("ndjson/gateway.ndjson")).unwrap();
    let copy_path = other.join("copy.ndjson");
    std::fs::write(&copy_path, &lines[..lines.len() / 2]).unwrap();
    let c = state(&copy_path, &dir.path().join("c.state"), &[]);
    run(&["merge", &b, &c]);
}

#[test]
fn states_written_with_different_settings_are_refused_naming_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("access/nginx_combined.log");
    let second = dir.path().join("second.log");
    std::fs::write(&second, std::fs::read_to_string(fixture("access/nginx_escape_json_crlf.log")).unwrap()).unwrap();
    let cases: [(&[&str], &[&str], &str); 5] = [
        (&["--status", "4xx"], &[], "written with --status none, but"),
        (
            &["--since", "2026-11-27T10:00:00Z"],
            &["--since", "2026-11-27T11:00:00Z"],
            "--since 2026-11-27T11:00:00.000Z",
        ),
        (&["--code", "CTS.0003"], &["--code", "CTS.02*"], "--code CTS.02*"),
        (&["--bucket", "1m"], &["--bucket", "5m"], "--bucket 300 s"),
        (&["--top"], &[], "written with --top off"),
    ];
    for (i, (first_flags, second_flags, message)) in cases.into_iter().enumerate() {
        let a = state(&input, &dir.path().join(format!("a{i}.state")), first_flags);
        let b = state(&second, &dir.path().join(format!("b{i}.state")), second_flags);
        cmd().args(["merge", &a, &b]).assert().code(2).stderr(predicate::str::contains(message));
    }
}

#[test]
fn other_versions_and_reports_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let a = state(&fixture("ndjson/gateway.ndjson"), &dir.path().join("a.state"), &[]);
    let text = std::fs::read_to_string(&a).unwrap();
    for version in [0, 2] {
        let newer = dir.path().join(format!("v{version}.state"));
        std::fs::write(&newer, text.replace("\"state_version\":1", &format!("\"state_version\":{version}"))).unwrap();
        cmd().args(["merge", &a, newer.to_str().unwrap()]).assert().code(2).stderr(predicate::str::contains(format!(
            "state version {version}, but this build of cts-logscan reads version 1"
        )));
    }
    let report = dir.path().join("report.json");
    cmd().arg(fixture("ndjson/gateway.ndjson")).args(["--output", "json", "-o"]).arg(&report).assert().success();
    cmd()
        .args(["merge", report.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a JSON report").and(predicate::str::contains("--output state")));
    let broken = dir.path().join("broken.state");
    std::fs::write(&broken, &text[..text.len() / 2]).unwrap();
    cmd()
        .args(["merge", broken.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.state:1:"));
}

#[test]
fn a_state_is_compact() {
    // Per-code histograms and counts, not per-line data: the state of a
    // corpus does not grow with it.
    let dir = tempfile::tempdir().unwrap();
    let mut sizes = Vec::new();
    for size in [256u64 << 10, 4 << 20] {
        let path = dir.path().join(format!("{size}.ndjson"));
        let mut data = Vec::new();
        corpus::generate(Flavor::Ndjson, size, 9, &mut data).unwrap();
        std::fs::write(&path, data).unwrap();
        let out = dir.path().join(format!("{size}.state"));
        state(&path, &out, &[]);
        sizes.push(std::fs::metadata(&out).unwrap().len());
    }
    assert!(sizes[1] < 64 << 10, "a 4 MiB corpus gave a {} byte state", sizes[1]);
    assert!(sizes[1] < sizes[0] * 3, "states grew with the input: {sizes:?}");
}

#[test]
fn an_input_that_failed_in_a_scan_fails_the_merge_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("rotated.log.gz");
    std::fs::write(&broken, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    let state = dir.path().join("a.state");
    cmd()
        .arg(fixture("ndjson/gateway.ndjson"))
        .arg(&broken)
        .args(["--output", "state", "-o"])
        .arg(&state)
        .assert()
        .code(2);
    cmd()
        .arg("merge")
        .arg(&state)
        .args(["-q", "-o", "/dev/null"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("rotated.log.gz: cannot open: gzip stream is corrupt"));
}
