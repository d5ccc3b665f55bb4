//! Running the binary and reading its JSON report.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;

/// The binary under test.
pub fn cmd() -> Command {
    let mut cmd = cargo_bin_cmd!("cts-logscan");
    cmd.env_remove("NO_COLOR");
    cmd
}

/// A file under `fixtures/`.
pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(path)
}

/// Runs a scan with `--output json` and returns the parsed report; the scan
/// must exit with `code`.
pub fn json_report_with_code(args: &[&str], code: i32) -> Value {
    let output = cmd().args(args).args(["--output", "json"]).assert().code(code).get_output().stdout.clone();
    serde_json::from_slice(&output).expect("the JSON report parses")
}

/// Runs a successful scan with `--output json`.
pub fn json_report(args: &[&str]) -> Value {
    json_report_with_code(args, 0)
}

/// The report without the figures that differ between runs.
pub fn without_timing(mut report: Value) -> Value {
    report["summary"].as_object_mut().expect("summary").remove("timing");
    report
}

/// The code entry `code` of a report.
pub fn code<'r>(report: &'r Value, code: &str) -> &'r Value {
    report["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("{code} missing from {report:#}"))
}

/// Removes the input names of `report`'s line references (malformed
/// samples, request ids, incident traces): for comparing reports of the
/// same bytes read under other names.
pub fn without_input_names(report: &mut serde_json::Value) {
    for key in ["malformed_samples", "incidents"] {
        for sample in report["summary"][key].as_array_mut().into_iter().flatten() {
            sample.as_object_mut().map(|s| s.remove("file"));
        }
    }
    for code in report["codes"].as_array_mut().into_iter().flatten() {
        for sample in code["top"]["request_ids"].as_array_mut().into_iter().flatten() {
            sample.as_object_mut().map(|s| s.remove("file"));
        }
    }
}
