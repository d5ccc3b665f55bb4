//! Inputs that would be read twice or skipped without a word: a warning
//! names them.

use std::fs;

use predicates::prelude::*;

use crate::util::cmd;

#[test]
fn stdin_given_twice_is_read_once_with_a_warning() {
    let out = cmd()
        .args(["-", "-", "--output", "json"])
        .write_stdin("{\"status\":500}\n{\"status\":200}\n")
        .assert()
        .success()
        .stderr(predicate::str::contains("'-' (standard input) is given 2 times: reading it once"))
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["summary"]["files"], 1);
    assert_eq!(report["inputs"].as_array().unwrap().len(), 1);
    assert_eq!(report["summary"]["lines"], 2);
    // -q silences it.
    cmd().args(["-", "-", "-q", "--output", "json"]).write_stdin("{\"status\":500}\n").assert().success().stderr("");
}

#[test]
fn links_to_nothing_in_a_directory_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    fs::write(logs.join("access.log"), "{\"status\":500}\n").unwrap();
    std::os::unix::fs::symlink(logs.join("rotated-away.log"), logs.join("current.log")).unwrap();
    std::os::unix::fs::symlink(logs.join("b.log"), logs.join("a.log")).unwrap();
    std::os::unix::fs::symlink(logs.join("a.log"), logs.join("b.log")).unwrap();
    let out = cmd()
        .arg(&logs)
        .args(["--output", "json"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "{}: skipped: a symbolic link to nothing or in a loop",
            logs.join("current.log").display()
        )))
        .stderr(predicate::str::contains(format!("{}: skipped", logs.join("a.log").display())))
        .stderr(predicate::str::contains(format!("{}: skipped", logs.join("b.log").display())))
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["summary"]["files"], 1);
    assert_eq!(report["summary"]["lines"], 1);
}
