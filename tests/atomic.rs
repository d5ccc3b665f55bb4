//! `-o FILE` is written as a whole or not at all: a temporary file in the
//! same directory, renamed over FILE.

use std::fs;
use std::io::Read;
use std::path::Path;

use crate::util::{cmd, fixture};

fn gateway() -> String {
    fixture("ndjson/gateway.ndjson").to_str().unwrap().to_owned()
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn a_report_replaces_the_file_without_touching_what_a_reader_holds() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    fs::write(&report, "yesterday's report\n").unwrap();
    // A reader that opened the old file before the run keeps reading it
    // whole: the new report is a new file, renamed over the name.
    let mut reader = fs::File::open(&report).unwrap();
    cmd().args([&gateway(), "-o", report.to_str().unwrap()]).assert().success();
    let mut old = String::new();
    reader.read_to_string(&mut old).unwrap();
    assert_eq!(old, "yesterday's report\n");
    let new: serde_json::Value = serde_json::from_slice(&fs::read(&report).unwrap()).unwrap();
    assert_eq!(new["summary"]["lines"], 11);
    assert_eq!(names(dir.path()), ["report.json"]);
}

#[test]
fn a_failed_write_leaves_the_previous_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let previous = "{\"previous\": true}\n".repeat(200);
    fs::write(&report, &previous).unwrap();
    // Files may not grow past 1 KiB (SIGXFSZ ignored, so writes fail
    // with EFBIG): the report cannot be written whole.
    let run = std::process::Command::new("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\""])
        .args([env!("CARGO_BIN_EXE_cts-logscan"), &gateway(), "-o", report.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}: cannot write", report.display())), "{stderr}");
    assert_eq!(fs::read_to_string(&report).unwrap(), previous);
    assert_eq!(names(dir.path()), ["report.json"]);
}

#[test]
fn a_new_file_gets_the_usual_permissions_and_a_replaced_one_keeps_its_own() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (new, kept) = (dir.path().join("new.prom"), dir.path().join("kept.prom"));
    fs::write(&kept, "old\n").unwrap();
    fs::set_permissions(&kept, fs::Permissions::from_mode(0o640)).unwrap();
    for path in [&new, &kept] {
        cmd().args([&gateway(), "-o", path.to_str().unwrap()]).assert().success();
    }
    // A temporary file is created 0600; the report is for node_exporter.
    let umask = fs::metadata(&new).unwrap().permissions().mode() & 0o777;
    assert_eq!(umask & 0o600, 0o600);
    assert_ne!(umask, 0o600, "a new report must be readable as a file created by the shell would be");
    assert_eq!(fs::metadata(&kept).unwrap().permissions().mode() & 0o777, 0o640);
}

#[test]
fn diff_writes_its_file_whole_in_the_format_its_extension_names() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.json");
    cmd().args([&gateway(), "-o", base.to_str().unwrap()]).assert().success();
    let base = base.to_str().unwrap();
    let to_stdout = cmd().args(["diff", base, base, "--output", "csv"]).assert().success().get_output().stdout.clone();
    let file = dir.path().join("nightly.csv");
    fs::write(&file, "old\n").unwrap();
    cmd().args(["diff", base, base, "-o", file.to_str().unwrap()]).assert().success().stdout("");
    assert_eq!(fs::read(&file).unwrap(), to_stdout);
    assert!(String::from_utf8(to_stdout).unwrap().starts_with("code,change,"));
    assert_eq!(names(dir.path()), ["base.json", "nightly.csv"]);
}

#[test]
fn a_link_is_followed_and_stdout_as_a_path_is_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (target, link) = (dir.path().join("real.json"), dir.path().join("link.json"));
    fs::write(&target, "old\n").unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    cmd().args([&gateway(), "-o", link.to_str().unwrap()]).assert().success();
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
    let report: serde_json::Value = serde_json::from_slice(&fs::read(&target).unwrap()).unwrap();
    assert_eq!(report["summary"]["lines"], 11);
    assert_eq!(names(dir.path()), ["link.json", "real.json"]);
    // /dev/stdout cannot be renamed over: it is written as it is.
    let out = cmd().args([&gateway(), "--output", "csv", "-o", "/dev/stdout"]).assert().success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).starts_with("code,count,"));
}

#[test]
fn a_link_to_nothing_makes_the_file_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let (target, link) = (dir.path().join("real.json"), dir.path().join("link.json"));
    std::os::unix::fs::symlink("real.json", &link).unwrap();
    cmd().args([&gateway(), "-o", link.to_str().unwrap()]).assert().success();
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
    let report: serde_json::Value = serde_json::from_slice(&fs::read(&target).unwrap()).unwrap();
    assert_eq!(report["summary"]["lines"], 11);
}
