//! Property tests of DESIGN.md's invariants, through the library: the
//! report does not depend on thread count or block size, every line is
//! accounted for, and arbitrary bytes never panic.

use std::io::Write;

use proptest::prelude::*;

use std::path::PathBuf;

use cts_logscan::filter::{CodePattern, StatusPattern, TimeSpec};
use cts_logscan::input::{ReaderOptions, Source};
use cts_logscan::pipeline::{ScanOptions, scan};
use cts_logscan::report::Report;
use cts_logscan::state::{self, State};

use crate::support::corpus::{self, Flavor};

fn report_json(path: &std::path::Path, threads: usize, block_size: usize) -> serde_json::Value {
    let options =
        ScanOptions { threads, reader: ReaderOptions { block_size, max_line_len: 1 << 20 }, ..ScanOptions::default() };
    let state = scan(vec![Source::File(path.to_owned())], &options).unwrap();
    let mut json = serde_json::to_value(Report::of(&state)).unwrap();
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

/// NDJSON lines that all carry CTS.0003, from `clients` distinct clients
/// (a few of them frequent), past what `--top` counts exactly.
fn many_clients(lines: usize, clients: usize, seed: u64) -> Vec<u8> {
    let mut data = Vec::new();
    let mut state = seed | 1;
    for i in 0..lines {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let client = if i % 3 == 0 { state % 7 } else { state % clients as u64 };
        writeln!(
            data,
            r#"{{"time":"2026-11-27T10:00:{:02}Z","status":400,"remote_addr":"10.0.{}.{}","uri":"/v3/p{}/tracker","latency_ms":{},"response":{{"error_code":"CTS.0003","error_msg":"x"}}}}"#,
            i % 60,
            client / 256,
            client % 256,
            state % 3000,
            state % 500
        )
        .unwrap();
    }
    data
}

#[test]
fn past_its_capacity_top_still_does_not_depend_on_threads_or_block_size() {
    // 6,000 error lines from 5,000 clients and 3,000 endpoints: beyond the
    // 1,024 values counted exactly, so the summaries prune; in blocks of
    // 8 KiB to 1 MiB spread over up to four workers.
    let file = temp_file(&many_clients(6_000, 5_000, 7));
    let top = |threads: usize, block_size: usize| {
        let options = ScanOptions {
            threads,
            reader: ReaderOptions { block_size, max_line_len: 1 << 20 },
            collect: cts_logscan::aggregate::Collect { breakdowns: true, ..Default::default() },
            top: Some(10),
            ..ScanOptions::default()
        };
        let state = scan(vec![Source::File(file.path().to_owned())], &options).unwrap();
        let mut json = serde_json::to_value(Report::of(&state)).unwrap();
        json["summary"].as_object_mut().unwrap().remove("timing");
        // The whole summaries, not only the lists a report shows.
        let breakdowns: Vec<_> = state.aggregate.codes.values().map(|stats| stats.breakdown.clone()).collect();
        (json, serde_json::to_value(breakdowns).unwrap())
    };
    let one = top(1, 8 << 10);
    let undercount = &one.0["codes"][0]["top"]["max_undercount"];
    assert!(undercount["clients"].as_u64().unwrap() > 0, "the summaries pruned: {undercount}");
    for (threads, block_size) in [(2, 8 << 10), (3, 8 << 10), (4, 8 << 10), (2, 8 << 10), (1, 1 << 20), (3, 20_000)] {
        // Not `assert_eq!`: the summaries hold thousands of values.
        assert!(top(threads, block_size) == one, "{threads} threads, blocks of {block_size} bytes: they differ");
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
        let report = Report::of(&result);
        prop_assert!(report.summary.error_bodies <= report.summary.requests);
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

/// Scans `paths` into a state, through its serialised form and back, as
/// `merge` reads it.
fn state_of(paths: &[&std::path::Path], options: &ScanOptions) -> State {
    let sources = paths.iter().map(|p| Source::File(p.to_path_buf())).collect();
    let state = scan(sources, options).unwrap();
    let mut bytes = Vec::new();
    state.write(&mut bytes).unwrap();
    State::from_slice(std::path::Path::new("part.state"), &bytes).unwrap()
}

/// A report without its timing, the one part that differs between runs.
fn without_timing(report: &Report) -> serde_json::Value {
    let mut json = serde_json::to_value(report).unwrap();
    json["summary"].as_object_mut().unwrap().remove("timing");
    json
}

/// `data` cut at line ends near each of `cuts` (fractions), as files.
fn parts_of(data: &[u8], cuts: &[f64]) -> Vec<tempfile::NamedTempFile> {
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
    bounds.windows(2).map(|w| temp_file(&data[w[0]..w[1]])).collect()
}

fn options_for(case: usize) -> ScanOptions {
    let mut options = ScanOptions { threads: 2, ..ScanOptions::default() };
    match case {
        0 => {}
        1 => options.codes = vec![CodePattern::new("CTS.00*")],
        2 => options.statuses = vec![StatusPattern::parse("4xx").unwrap()],
        3 => {
            options.since = Some(TimeSpec::parse("2026-11-27T00:00:02Z").unwrap());
            options.until = Some(TimeSpec::parse("2026-11-27T00:00:05Z").unwrap());
        }
        4 => options.collect.bucket_ms = Some(60_000),
        _ => {
            options.collect.breakdowns = true;
            options.top = Some(5);
        }
    }
    options
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn merging_the_states_of_parts_equals_one_scan_over_all(
        seed in 0u64..1000,
        nginx in any::<bool>(),
        cuts in proptest::collection::vec(0.0f64..1.0, 1..4),
        case in 0usize..6,
    ) {
        let flavor = if nginx { Flavor::Nginx } else { Flavor::Ndjson };
        let mut data = Vec::new();
        corpus::generate(flavor, 64 << 10, seed, &mut data).unwrap();
        let files = parts_of(&data, &cuts);
        let paths: Vec<&std::path::Path> = files.iter().map(|f| f.path()).collect();
        let options = options_for(case);
        let parts: Vec<(PathBuf, State)> =
            paths.iter().map(|p| (p.to_path_buf(), state_of(&[p], &options))).collect();
        let merged = state::merge(parts.clone(), false).unwrap();
        let whole = state_of(&paths, &options);
        prop_assert_eq!(without_timing(&Report::of(&merged)), without_timing(&Report::of(&whole)));
        let accounting = Report::of(&merged).summary;
        prop_assert_eq!(
            accounting.lines,
            accounting.requests + accounting.blank + accounting.malformed + accounting.filtered
        );
        prop_assert!(accounting.error_bodies <= accounting.requests);
        // The other order lists the inputs the other way round, and every
        // figure is the same.
        let mut reversed = parts;
        reversed.reverse();
        let mut backwards = without_timing(&Report::of(&state::merge(reversed, false).unwrap()));
        let mut forwards = without_timing(&Report::of(&merged));
        for json in [&mut backwards, &mut forwards] {
            json.as_object_mut().unwrap().remove("inputs");
            json["summary"].as_object_mut().unwrap().remove("malformed_samples");
            for code in json["codes"].as_array_mut().unwrap() {
                if let Some(top) = code.get_mut("top") {
                    top.as_object_mut().unwrap().remove("request_ids");
                }
            }
        }
        prop_assert_eq!(backwards, forwards);
    }
}
