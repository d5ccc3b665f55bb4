//! Property tests of DESIGN.md's invariants, through the library: the
//! report does not depend on thread count or block size, every line is
//! accounted for, and arbitrary bytes never panic.

use std::io::Write;

use proptest::prelude::*;

use cts_logscan::input::{ReaderOptions, Source};
use cts_logscan::report::Report;
use cts_logscan::scan::{ScanOptions, scan};

use crate::support::corpus::{self, Flavor};

fn report_json(path: &std::path::Path, threads: usize, block_size: usize) -> serde_json::Value {
    let options =
        ScanOptions { threads, reader: ReaderOptions { block_size, max_line_len: 1 << 20 }, ..ScanOptions::default() };
    let result = scan(vec![Source::File(path.to_owned())], &options).unwrap();
    let mut json = serde_json::to_value(Report::build(&result)).unwrap();
    json["summary"].as_object_mut().unwrap().remove("timing");
    json
}

fn temp_file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    file
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn threads_and_block_size_never_change_the_report(
        seed in 0u64..1000,
        nginx in any::<bool>(),
        threads in 1usize..5,
        block_size in 1usize..20_000,
    ) {
        let flavor = if nginx { Flavor::Nginx } else { Flavor::Ndjson };
        let mut data = Vec::new();
        corpus::generate(flavor, 96 << 10, seed, &mut data).unwrap();
        let file = temp_file(&data);
        let reference = report_json(file.path(), 1, 1 << 20);
        prop_assert_eq!(report_json(file.path(), threads, block_size), reference);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_every_line_is_counted(
        bytes in proptest::collection::vec(any::<u8>(), 0..2000),
        block_size in 1usize..64,
    ) {
        let file = temp_file(&bytes);
        let options = ScanOptions {
            threads: 2,
            reader: ReaderOptions { block_size, max_line_len: 256 },
            ..ScanOptions::default()
        };
        let result = scan(vec![Source::File(file.path().to_owned())], &options).unwrap();
        let agg = &result.aggregate;
        prop_assert_eq!(agg.lines, agg.requests + agg.blank + agg.malformed_total());
        let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        let unterminated = u64::from(!bytes.is_empty() && bytes.last() != Some(&b'\n'));
        prop_assert_eq!(agg.lines, newlines + unterminated);
        let _ = Report::build(&result);
    }

    #[test]
    fn text_like_input_never_panics(
        lines in proptest::collection::vec(
            prop_oneof![
                Just(r#"{"status":400,"response":{"error_code":"CTS.0003"}}"#.to_string()),
                Just(r#"1.2.3.4 - - [27/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 400 1 "-" "ua" 0.1 "{\x22error_code\x22:\x22CTS.0003\x22}""#.to_string()),
                "[ -~]{0,80}",
                "[{}\\[\\]\":,a-z0-9\\\\ ]{0,80}",
            ],
            0..40,
        ),
        block_size in 1usize..128,
    ) {
        let file = temp_file(lines.join("\n").as_bytes());
        let options = ScanOptions { threads: 2, reader: ReaderOptions { block_size, max_line_len: 1 << 20 }, ..ScanOptions::default() };
        let result = scan(vec![Source::File(file.path().to_owned())], &options).unwrap();
        prop_assert_eq!(result.aggregate.lines, lines.len() as u64 - u64::from(lines.last().is_some_and(|l| l.is_empty())));
    }
}

fn report_of(bytes: &[u8]) -> cts_logscan::report::Report {
    let file = temp_file(bytes);
    let options = ScanOptions { threads: 1, ..ScanOptions::default() };
    let report = Report::build(&scan(vec![Source::File(file.path().to_owned())], &options).unwrap());
    // Through JSON and back, as `merge` reads it.
    serde_json::from_value(serde_json::to_value(&report).unwrap()).unwrap()
}

/// The report without what depends on where the lines came from.
fn comparable(report: &cts_logscan::report::Report) -> serde_json::Value {
    let mut json = serde_json::to_value(report).unwrap();
    json.as_object_mut().unwrap().remove("inputs");
    let summary = json["summary"].as_object_mut().unwrap();
    for key in ["timing", "files", "malformed_samples"] {
        summary.remove(key);
    }
    json
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    #[test]
    fn merging_reports_of_the_parts_equals_the_report_of_the_whole(
        seed in 0u64..1000,
        nginx in any::<bool>(),
        cuts in proptest::collection::vec(0.0f64..1.0, 1..4),
    ) {
        let flavor = if nginx { Flavor::Nginx } else { Flavor::Ndjson };
        let mut data = Vec::new();
        corpus::generate(flavor, 64 << 10, seed, &mut data).unwrap();
        let mut bounds: Vec<usize> = cuts
            .iter()
            .map(|f| {
                let at = (f * data.len() as f64) as usize;
                memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i + 1)
            })
            .collect();
        bounds.extend([0, data.len()]);
        bounds.sort_unstable();
        bounds.dedup();
        let parts: Vec<_> = bounds.windows(2).map(|w| report_of(&data[w[0]..w[1]])).collect();
        let merged = cts_logscan::report::merge(&parts).unwrap();
        prop_assert_eq!(comparable(&merged), comparable(&report_of(&data)));
    }
}
