//! The reader-mode matrix: every fixture, read with tiny and large blocks,
//! one and two threads, as a plain file, as gzip and through stdin, gives
//! the same report (as ripgrep's `SearcherTester` runs every case under
//! every reader).

use std::io::Write;
use std::path::Path;

use flate2::Compression as Level;
use flate2::write::GzEncoder;
use serde_json::Value;

use crate::util::{cmd, fixture, without_input_names, without_timing};

/// Each fixture with the flags it needs.
fn fixtures() -> Vec<(&'static str, Vec<&'static str>)> {
    let main = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time" body="$resp_body""#;
    vec![
        ("ndjson/gateway.ndjson", vec![]),
        ("ndjson/leading_blank.ndjson", vec![]),
        ("access/nginx_combined.log", vec![]),
        ("access/nginx_escape_json_crlf.log", vec![]),
        ("access/apache_common_usec.log", vec![]),
        ("access/custom_main.log", vec!["--log-format", main]),
        ("app/python_sdk.log", vec![]),
        ("traces/list_traces.json", vec![]),
        ("w3c/u_ex261127.log", vec![]),
        ("haproxy/haproxy.log", vec![]),
        ("wrapped/syslog_nginx.log", vec![]),
        ("wrapped/lts_gateway.ndjson", vec![]),
    ]
}

/// The report without what names the input or its raw size.
fn content(mut report: Value) -> Value {
    for input in report["inputs"].as_array_mut().unwrap() {
        let input = input.as_object_mut().unwrap();
        for key in ["path", "compression", "raw_bytes"] {
            input.remove(key);
        }
    }
    without_input_names(&mut report);
    without_timing(report)
}

fn report(path: &Path, stdin: Option<&[u8]>, flags: &[&str], block_size: &str, threads: &str) -> Value {
    let mut command = cmd();
    match stdin {
        Some(bytes) => command.arg("-").write_stdin(bytes.to_vec()),
        None => command.arg(path),
    };
    command.args(flags).args(["--block-size", block_size, "--threads", threads, "--output", "json", "--top=3"]);
    let output = command.assert().success().get_output().stdout.clone();
    content(serde_json::from_slice(&output).unwrap())
}

#[test]
fn every_fixture_gives_one_report_under_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    for (name, flags) in fixtures() {
        let plain = fixture(name);
        let bytes = std::fs::read(&plain).unwrap();
        let gz = dir.path().join("input.gz");
        let mut encoder = GzEncoder::new(Vec::new(), Level::fast());
        encoder.write_all(&bytes).unwrap();
        std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
        let reference = report(&plain, None, &flags, "1MiB", "1");
        assert!(reference["summary"]["lines"].as_u64().unwrap() > 0, "{name}");
        for block_size in ["1", "7", "4KiB", "1MiB"] {
            for threads in ["1", "2"] {
                for (mode, got) in [
                    ("file", report(&plain, None, &flags, block_size, threads)),
                    ("gzip", report(&gz, None, &flags, block_size, threads)),
                    ("stdin", report(&plain, Some(&bytes), &flags, block_size, threads)),
                ] {
                    assert_eq!(got, reference, "{name}: {mode}, block size {block_size}, {threads} threads");
                }
            }
        }
    }
}

#[test]
fn detection_sees_the_first_lines_whatever_the_block_size() {
    // An NDJSON file that starts with a blank line: with one-byte blocks the
    // first block is that blank line alone.
    let path = fixture("ndjson/leading_blank.ndjson");
    let r = report(&path, None, &[], "1", "1");
    assert_eq!(r["inputs"][0]["format"], "ndjson");
    let s = &r["summary"];
    assert_eq!(
        (&s["lines"], &s["blank"], &s["requests"], &s["malformed"]),
        (&4.into(), &1.into(), &3.into(), &0.into())
    );
    assert_eq!(s["error_bodies"], 2);
}
