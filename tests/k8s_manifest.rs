//! The commands of the Kubernetes manifests in `contrib/k8s/` run as they
//! are written: two "nodes" scan their logs into states on a shared folder
//! (one of them with an unreadable file), and the merge step writes the
//! report of one scan over both and exits 2 naming the file. Only the paths
//! and the window are swapped for the fixtures'.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::{cmd, fixture, without_timing};

/// The shell command of the manifest's `args: - >-` block: its folded
/// lines joined by spaces.
fn folded_args(manifest: &str) -> String {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/k8s").join(manifest)).unwrap();
    let start = text.find("- >-\n").expect("an args block") + "- >-\n".len();
    let block: Vec<&str> = text[start..].lines().take_while(|line| line.starts_with("              ")).collect();
    block.iter().map(|line| line.trim()).collect::<Vec<_>>().join(" ")
}

/// `command` with the manifest's paths and window swapped, run by `sh`.
fn run(command: &str, swaps: &[(&str, &str)], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = command.to_owned();
    for (from, to) in swaps {
        assert!(command.contains(from), "{from} is in the manifest's command: {command}");
        command = command.replace(from, to);
    }
    Command::new("sh").args(["-c", &command]).envs(env.iter().copied()).output().unwrap()
}

#[test]
fn the_scan_pods_and_the_merge_pod_give_one_exact_report() {
    let bin = env!("CARGO_BIN_EXE_cts-logscan");
    let states = tempfile::tempdir().unwrap();
    let node_b = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("access/nginx_combined.log"), node_b.path().join("access.log")).unwrap();
    std::fs::write(node_b.path().join("rotated.log.gz"), [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    let scan = folded_args("job.yaml");
    let window = "--since 2026-11-30T00:00:00Z --until 2026-12-01T00:00:00Z";
    let wide = "--since 2026-01-01T00:00:00Z --until 2027-01-01T00:00:00Z";
    for (index, node, logs) in [("0", "node-a", fixture("ndjson")), ("1", "node-b", node_b.path().to_owned())] {
        let logs = format!("{}/", logs.display());
        let swaps = [
            ("cts-logscan", bin),
            ("/var/log/nginx/", &logs),
            ("/states", states.path().to_str().unwrap()),
            (window, wide),
        ];
        let out = run(&scan, &swaps, &[("JOB_COMPLETION_INDEX", index), ("NODE_NAME", node)]);
        // node-b's broken gzip fails the scan, not the pod: its state is written.
        assert!(out.status.success(), "{node}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(states.path().join(format!("{index}-{node}.state")).exists());
    }

    let merge = folded_args("merge.yaml");
    let swaps = [("cts-logscan", bin), ("/states", states.path().to_str().unwrap())];
    let out = run(&merge, &swaps, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "the unreadable file fails the night: {stderr}");
    assert!(stderr.contains("rotated.log.gz"), "{stderr}");
    let report: Value = serde_json::from_slice(&std::fs::read(states.path().join("report.json")).unwrap()).unwrap();

    let one_scan = cmd()
        .arg(format!("{}/", fixture("ndjson").display()))
        .arg(format!("{}/", node_b.path().display()))
        .args(wide.split(' '))
        .args(["--output", "json", "-q"])
        .output()
        .unwrap();
    assert_eq!(without_timing(report), without_timing(serde_json::from_slice(&one_scan.stdout).unwrap()));
}
