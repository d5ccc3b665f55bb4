//! `merge` and `diff` refuse what they cannot trust: states whose figures
//! do not add up, reports that answer different questions.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde_json::Value;

use crate::util::{cmd, fixture};

/// The state of a scan of `log`, as JSON.
fn state_of(log: &Path) -> Value {
    let out = cmd().arg(log).args(["--output", "state"]).assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap()
}

fn write_json(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, serde_json::to_vec(value).unwrap()).unwrap();
    path
}

/// Merges the state of the gateway fixture after `edit`; the merge must
/// be refused, naming the file and `rule`.
fn refused_after(edit: impl FnOnce(&mut Value), rule: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut state = state_of(&fixture("ndjson/gateway.ndjson"));
    edit(&mut state);
    let path = write_json(dir.path(), "edited.state", &state);
    cmd()
        .args(["merge", path.to_str().unwrap(), "--output", "json"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(format!("{}: the state breaks the accounting rule: {rule}", path.display())));
}

// The gateway fixture: 11 lines = 8 requests + 1 blank + 2 malformed;
// 5 error bodies (APIGW.0301, CTS.0003 ×2, CTS.0209, CTS.0403).

#[test]
fn error_bodies_above_requests_are_refused() {
    refused_after(
        |state| state["aggregate"]["error_bodies"] = 1_000_000_000u64.into(),
        "error_bodies > requests (1000000000 > 8)",
    );
}

#[test]
fn lines_below_requests_are_refused() {
    refused_after(
        |state| state["aggregate"]["lines"] = 7.into(),
        "lines = requests + blank + malformed + filtered does not hold (7 ≠ 8 + 1 + 2 + 0)",
    );
}

#[test]
fn a_code_count_that_does_not_add_up_is_refused() {
    refused_after(
        |state| state["aggregate"]["codes"]["CTS.0003"]["count"] = 3.into(),
        "the per-code counts ≠ error_bodies (6 ≠ 5)",
    );
}

#[test]
fn counts_that_would_wrap_are_refused() {
    refused_after(
        |state| state["aggregate"]["codes"]["CTS.0003"]["count"] = u64::MAX.into(),
        &format!("the per-code counts add up to more than {}", u64::MAX),
    );
    refused_after(
        |state| state["aggregate"]["statuses"]["200"] = u64::MAX.into(),
        &format!("the status counts add up to more than {}", u64::MAX),
    );
}

#[test]
fn statuses_above_requests_are_refused() {
    refused_after(|state| state["aggregate"]["statuses"]["200"] = 4.into(), "the status counts > requests (9 > 8)");
}

#[test]
fn a_code_s_statuses_above_its_count_are_refused() {
    refused_after(
        |state| state["aggregate"]["codes"]["CTS.0209"]["statuses"] = serde_json::json!([[403, 2]]),
        "CTS.0209: the status counts > count (2 > 1)",
    );
}

#[test]
fn inputs_that_do_not_add_up_to_the_lines_are_refused() {
    refused_after(|state| state["inputs"][0]["lines"] = 12.into(), "the inputs' lines ≠ lines (12 ≠ 11)");
}

#[test]
fn states_whose_lines_add_up_past_u64_are_refused_in_the_merge() {
    // Each state holds together (2^63 more requests, as many more lines),
    // but their sum does not fit in 64 bits.
    let dir = tempfile::tempdir().unwrap();
    let huge = 1u64 << 63;
    let paths: Vec<PathBuf> = ["ndjson/gateway.ndjson", "ndjson/ecs_otel.ndjson"]
        .iter()
        .enumerate()
        .map(|(i, log)| {
            let mut state = state_of(&fixture(log));
            for pointer in ["/aggregate/lines", "/aggregate/requests", "/inputs/0/lines"] {
                let field = state.pointer_mut(pointer).unwrap();
                *field = (field.as_u64().unwrap() + huge).into();
            }
            write_json(dir.path(), &format!("{i}.state"), &state)
        })
        .collect();
    cmd().args(["merge", paths[0].to_str().unwrap(), "--output", "json"]).assert().success();
    cmd()
        .args(["merge", paths[0].to_str().unwrap(), paths[1].to_str().unwrap(), "--output", "json"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(format!(
            "{}: the state breaks the accounting rule: the lines of the states merged so far and of this one add up to more than {}",
            paths[1].display(),
            u64::MAX
        )));
}

/// A JSON report of the gateway fixture with `args`, written to `name`.
fn report(dir: &Path, name: &str, args: &[&str]) -> String {
    let path = dir.join(name);
    cmd().arg(fixture("ndjson/gateway.ndjson")).args(args).args(["-o", path.to_str().unwrap()]).assert().success();
    path.to_str().unwrap().to_owned()
}

#[test]
fn diff_refuses_reports_written_with_different_filters() {
    let dir = tempfile::tempdir().unwrap();
    let all = report(dir.path(), "all.json", &[]);
    let one_code = report(dir.path(), "one-code.json", &["--code", "CTS.0004"]);
    cmd().args(["diff", &all, &one_code]).assert().code(2).stdout("").stderr(predicate::str::contains(format!(
        "{one_code}: written with --code CTS.0004, but {all} with none; reports compare only when written with the same --code"
    )));
    let since = report(dir.path(), "since.json", &["--since", "2026-11-27T10:02:00Z"]);
    cmd().args(["diff", &since, &all]).assert().code(2).stderr(predicate::str::contains(format!(
        "{all}: written with --since none, but {since} with 2026-11-27T10:02:00.000Z"
    )));
    let statuses = report(dir.path(), "5xx.json", &["--status", "5xx"]);
    cmd().args(["diff", &all, &statuses]).assert().code(2).stderr(predicate::str::contains("--status 5xx"));
    // The same filter on both sides compares.
    let again = report(dir.path(), "again.json", &["--code", "CTS.0004"]);
    cmd().args(["diff", &one_code, &again]).assert().success();
}

#[test]
fn diff_refuses_a_report_of_another_schema_version_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let all = report(dir.path(), "all.json", &[]);
    let mut old: Value = serde_json::from_slice(&fs::read(&all).unwrap()).unwrap();
    old["schema_version"] = 1.into();
    let old = write_json(dir.path(), "old.json", &old);
    cmd()
        .args(["diff", old.to_str().unwrap(), &all])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{}: JSON report version 1, but this build", old.display())));
}

#[test]
fn diff_refuses_a_report_that_breaks_the_accounting_rule() {
    let dir = tempfile::tempdir().unwrap();
    let all = report(dir.path(), "all.json", &[]);
    let original: Value = serde_json::from_slice(&fs::read(&all).unwrap()).unwrap();
    let edits: [(&str, Value, &str); 2] = [
        ("/summary/error_bodies", 1_000_000_000u64.into(), "error_bodies > requests (1000000000 > 8)"),
        ("/summary/lines", 12.into(), "requests + blank + malformed + filtered ≠ lines (11 ≠ 12)"),
    ];
    for (pointer, value, rule) in edits {
        let mut edited = original.clone();
        *edited.pointer_mut(pointer).unwrap() = value;
        let edited = write_json(dir.path(), "edited.json", &edited);
        cmd().args(["diff", &all, edited.to_str().unwrap()]).assert().code(2).stdout("").stderr(
            predicate::str::contains(format!(
                "{}: the JSON report breaks the accounting rule: {rule}",
                edited.display()
            )),
        );
    }
}
