//! Per-line cost of each stage of the scan, in memory, on one thread: line
//! splitting, the prefilter, the line parser alone (and, for NDJSON, what
//! finding the keys by search would cost on its own), and the whole
//! `LineScanner` (parse, decode, aggregate) with and without `--top`
//! (breakdowns counted line by line, as `--follow` does; a batch scan logs
//! and replays them, see the `breakdown` criterion group).
//!
//! ```text
//! cargo build --release --example stages
//! taskset -c 1 target/release/examples/stages target/corpora/ndjson-1GiB.log
//! ```
//!
//! Reads the first 256 MiB of the file (whole lines; the format is taken
//! from the name: `nginx` in it means combined, else NDJSON) and prints the
//! best of five runs of each stage, in ns per line. No disk, no threads:
//! the figures for comparing two builds of the hot path.

use std::hint::black_box;
use std::time::Instant;

use cts_logscan::aggregate::{Aggregate, Collect, LinePosition};
use cts_logscan::extract::Extractor;
use cts_logscan::filter::Filter;
use cts_logscan::format::{AccessParser, FormatKind, Layout, NdjsonParser};
use cts_logscan::pipeline::{BufferLayout, LineScanner, ScanOptions};
use cts_logscan::record::Record;

/// Bytes of the file read.
const SAMPLE: usize = 256 << 20;

/// Bytes handed to the scanner at a time, as blocks are.
const BLOCK: usize = 8 << 20;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: stages FILE   (a corpus from examples/gen_corpus)");
        std::process::exit(2);
    };
    let nginx = path.contains("nginx");
    let mut data = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    data.truncate(SAMPLE);
    data.truncate(memchr::memrchr(b'\n', &data).map_or(0, |end| end + 1));
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let per_line = |name: &str, mut stage: Box<dyn FnMut() -> u64 + '_>| {
        let mut best = f64::MAX;
        let mut result = 0;
        for _ in 0..5 {
            let start = Instant::now();
            result = stage();
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!("{name:12} {:6.1} ns/line  ({result})", best * 1e9 / lines.len() as f64);
    };
    per_line("lines", Box::new(|| memchr::memchr_iter(b'\n', &data).count() as u64));
    let extractor = Extractor::default();
    per_line(
        "prefilter",
        Box::new(|| {
            let mut candidates = extractor.candidates(&data);
            let mut start = 0;
            let mut hits = 0;
            for end in memchr::memchr_iter(b'\n', &data) {
                hits += u64::from(candidates.line_has_hit(start, end));
                start = end + 1;
            }
            hits
        }),
    );
    let mut ndjson = NdjsonParser::default();
    let mut access = AccessParser::new(true);
    per_line(
        "parse",
        Box::new(|| {
            let mut parsed = 0;
            for line in &lines {
                let mut record = Record::default();
                let ok =
                    if nginx { access.parse(line, false, &mut record) } else { ndjson.parse(line, false, &mut record) };
                parsed += u64::from(ok.is_ok());
            }
            parsed
        }),
    );
    if !nginx {
        // Direction 2 of issue 23, keys found by search: what finding every
        // key end (`":`) with `memmem` and its opening quote backwards costs
        // alone, against `parse` above (which also checks and decodes).
        let key_end = memchr::memmem::Finder::new(b"\":");
        per_line(
            "key search",
            Box::new(|| {
                let mut name_bytes = 0;
                for line in &lines {
                    for end in key_end.find_iter(line) {
                        let start = memchr::memrchr(b'"', &line[..end]).map_or(0, |quote| quote + 1);
                        name_bytes += (end - start) as u64;
                    }
                }
                name_bytes
            }),
        );
    }
    let options = ScanOptions::default();
    let filter = Filter::default();
    let format = FormatKind::named(if nginx { "combined" } else { "ndjson" }).expect("a registered format");
    let layout = BufferLayout::of(Layout::plain(format));
    for (name, collect) in
        [("scan", Collect::default()), ("scan --top", Collect { breakdowns: true, ..Collect::default() })]
    {
        let (extractor, options, filter, layout, data) = (&extractor, &options, &filter, &layout, &data);
        per_line(
            name,
            Box::new(move || {
                let mut scanner = LineScanner::new(extractor, options, filter, collect);
                let mut aggregate = Aggregate::default();
                let mut start = 0;
                let mut lines = 0;
                while start < data.len() {
                    let cut = (start + BLOCK).min(data.len());
                    let end = memchr::memchr(b'\n', &data[cut..]).map_or(data.len(), |i| cut + i + 1);
                    let first = LinePosition { file: 0, block: 0, line: 0 };
                    lines += scanner.scan(&data[start..end], first, layout, &mut aggregate);
                    start = end;
                }
                black_box(&aggregate);
                lines
            }),
        );
    }
}
