//! Throughput of the hot functions and of the whole pipeline, on corpora
//! from the project's generator (`tests/support/corpus.rs`).
//!
//! ```text
//! cargo bench --bench scan                 # all
//! cargo bench --bench scan -- pipeline     # one group
//! ```

#[path = "../tests/support/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use std::hint::black_box;
use std::io::Write;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use cts_logscan::aggregate::{Aggregate, Breakdown, BreakdownLog, CodeBreakdowns, LinePosition};
use cts_logscan::extract::{Extractor, Scratch};
use cts_logscan::format::{AccessParser, NdjsonParser};
use cts_logscan::input::{ReaderOptions, Source};
use cts_logscan::lex::number::parse_scaled;
use cts_logscan::lex::time::TimeParser;
use cts_logscan::pipeline::{ScanOptions, scan};
use cts_logscan::record::{Record, Spans};

fn corpus(flavor: corpus::Flavor, bytes: u64) -> Vec<u8> {
    let mut data = Vec::with_capacity(bytes as usize + 4096);
    corpus::generate(flavor, bytes, 42, &mut data).expect("writing to memory");
    data
}

fn lines(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect()
}

/// The prefilter over whole blocks, and decoding of each body shape.
fn extract(c: &mut Criterion) {
    let extractor = Extractor::default();
    let mut g = c.benchmark_group("extract");
    for (name, flavor) in [("ndjson", corpus::Flavor::Ndjson), ("nginx", corpus::Flavor::Nginx)] {
        let data = corpus(flavor, 4 << 20);
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_with_input(BenchmarkId::new("prefilter", name), &data, |b, data| {
            b.iter(|| {
                let mut candidates = extractor.candidates(data);
                let mut hits = 0usize;
                let mut start = 0;
                for end in memchr::memchr_iter(b'\n', data) {
                    hits += usize::from(candidates.line_has_hit(start, end));
                    start = end + 1;
                }
                black_box(hits)
            })
        });
    }
    let bodies = [
        ("nested", r#"{"status":400,"response":{"error_code":"CTS.0003","error_msg":"Invalid message body."}}"#),
        (
            "escaped",
            r#"{"status":400,"resp_body":"{\"error_msg\":\"Invalid message body.\",\"error_code\":\"CTS.0003\"}"}"#,
        ),
        (
            "nginx_hex",
            r#"1.2.3.4 - - [27/Nov/2026:10:00:00 +0000] "POST / HTTP/1.1" 400 9 "-" "ua" 0.1 "{\x22error_code\x22:\x22CTS.0003\x22,\x22error_msg\x22:\x22Invalid\x22}""#,
        ),
        (
            "code_message",
            r#"{"status":401,"body":{"error":{"code":"APIGW.0301","message":"Incorrect IAM authentication information"}}}"#,
        ),
    ];
    let mut scratch = Scratch::default();
    for (name, line) in bodies {
        g.throughput(Throughput::Bytes(line.len() as u64));
        g.bench_function(BenchmarkId::new("decode", name), |b| {
            b.iter(|| {
                extractor
                    .decode(black_box(line.as_bytes()), &Spans::default(), &mut scratch)
                    .map(|body| body.code.len())
            })
        });
    }
    g.finish();
}

/// Each line parser over a corpus's lines.
fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    let ndjson = corpus(corpus::Flavor::Ndjson, 4 << 20);
    let ndjson_lines = lines(&ndjson);
    g.throughput(Throughput::Bytes(ndjson.len() as u64));
    g.bench_function("ndjson", |b| {
        let mut parser = NdjsonParser::default();
        b.iter(|| {
            let mut ok = 0usize;
            for line in &ndjson_lines {
                let mut record = Record::default();
                ok += usize::from(parser.parse(line, false, &mut record).is_ok());
            }
            black_box(ok)
        })
    });
    let nginx = corpus(corpus::Flavor::Nginx, 4 << 20);
    let nginx_lines = lines(&nginx);
    g.throughput(Throughput::Bytes(nginx.len() as u64));
    g.bench_function("combined", |b| {
        let mut parser = AccessParser::new(true);
        b.iter(|| {
            let mut ok = 0usize;
            for line in &nginx_lines {
                let mut record = Record::default();
                ok += usize::from(parser.parse(line, false, &mut record).is_ok());
            }
            black_box(ok)
        })
    });
    g.finish();
}

/// Timestamp parsing: cache hits (same second) and misses.
fn timestamps(c: &mut Criterion) {
    let mut g = c.benchmark_group("timestamp");
    let rfc: Vec<String> =
        (0..1000).map(|i| format!("2026-11-27T10:{:02}:{:02}.{:03}Z", i / 60 % 60, i % 60, i)).collect();
    let clf: Vec<String> =
        (0..1000).map(|i| format!("27/Nov/2026:10:{:02}:{:02} +0000", i / 60 % 60, i % 60)).collect();
    g.throughput(Throughput::Elements(1000));
    g.bench_function("rfc3339_all_distinct", |b| {
        let mut p = TimeParser::default();
        b.iter(|| rfc.iter().filter_map(|t| p.parse_text(black_box(t.as_bytes()))).sum::<i64>())
    });
    let same: Vec<String> = (0..1000).map(|i| format!("2026-11-27T10:00:00.{i:03}Z")).collect();
    g.bench_function("rfc3339_same_second", |b| {
        let mut p = TimeParser::default();
        b.iter(|| same.iter().filter_map(|t| p.parse_text(black_box(t.as_bytes()))).sum::<i64>())
    });
    g.bench_function("clf", |b| {
        let mut p = TimeParser::default();
        b.iter(|| clf.iter().filter_map(|t| p.parse_text(t.as_bytes())).sum::<i64>())
    });
    // Access logs repeat a second over many lines: the whole-text cache.
    let clf_runs: Vec<&String> = clf.iter().take(100).flat_map(|t| std::iter::repeat_n(t, 10)).collect();
    g.bench_function("clf_runs_of_ten", |b| {
        let mut p = TimeParser::default();
        b.iter(|| clf_runs.iter().filter_map(|t| p.parse_text(black_box(t.as_bytes()))).sum::<i64>())
    });
    g.finish();
}

/// Latencies as logged, to microseconds.
fn numbers(c: &mut Criterion) {
    let mut g = c.benchmark_group("number");
    let seconds: Vec<String> = (0..1000).map(|i| format!("{}.{:06}", i % 7, i * 7919 % 1_000_000)).collect();
    let millis: Vec<String> = (0..1000).map(|i| format!("{}.{:03}", i % 500, i % 1000)).collect();
    g.throughput(Throughput::Elements(1000));
    g.bench_function("parse_scaled_seconds", |b| {
        b.iter(|| seconds.iter().filter_map(|t| parse_scaled(black_box(t.as_bytes()), 6)).sum::<u64>())
    });
    g.bench_function("parse_scaled_millis", |b| {
        b.iter(|| millis.iter().filter_map(|t| parse_scaled(black_box(t.as_bytes()), 3)).sum::<u64>())
    });
    g.finish();
}

/// `--top`: the error lines of a 4 MiB nginx corpus counted directly, and
/// logged then replayed as a batch scan does.
fn breakdowns(c: &mut Criterion) {
    let data = corpus(corpus::Flavor::Nginx, 4 << 20);
    let extractor = Extractor::default();
    let mut parser = AccessParser::new(true);
    let mut scratch = Scratch::default();
    let errors: Vec<(String, Record<'_>)> = lines(&data)
        .into_iter()
        .filter_map(|line| {
            let mut record = Record::default();
            parser.parse(line, true, &mut record).ok()?;
            let code = extractor.decode(line, &record.not_body, &mut scratch)?.code.to_owned();
            Some((code, record))
        })
        .collect();
    let at = |line: usize| LinePosition { file: 0, block: 0, line: line as u64 };
    let mut g = c.benchmark_group("breakdown");
    g.throughput(Throughput::Elements(errors.len() as u64));
    g.bench_function("add", |b| {
        b.iter(|| {
            let mut breakdowns: std::collections::BTreeMap<&str, Breakdown> = Default::default();
            for (i, (code, record)) in errors.iter().enumerate() {
                breakdowns.entry(code).or_default().add(record, || Some("id"), at(i));
            }
            black_box(breakdowns.len())
        })
    });
    g.bench_function("log_and_replay", |b| {
        b.iter(|| {
            let mut log = BreakdownLog::default();
            for (i, (code, record)) in errors.iter().enumerate() {
                log.add(code, record, || Some("id"), at(i));
            }
            let mut breakdowns = CodeBreakdowns::default();
            log.replay(&mut breakdowns);
            black_box(breakdowns.codes.len())
        })
    });
    g.finish();
}

/// Merging two per-worker aggregates of a 4 MiB corpus each.
fn merge(c: &mut Criterion) {
    let aggregate = |seed_flavor| {
        let data = corpus(seed_flavor, 4 << 20);
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(&data).expect("write");
        let result =
            scan(vec![Source::File(file.path().to_owned())], &ScanOptions { threads: 1, ..ScanOptions::default() })
                .expect("scan");
        result.aggregate
    };
    let a = aggregate(corpus::Flavor::Ndjson);
    let b = aggregate(corpus::Flavor::Nginx);
    c.bench_function("aggregate/merge", |bench| {
        bench.iter(|| {
            let mut merged: Aggregate = a.clone();
            merged.merge(b.clone());
            black_box(merged.lines)
        })
    });
}

/// The whole pipeline (read, parse, extract, aggregate, merge) over a file
/// in the page cache, at 1 and 2 threads.
fn pipeline(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    for (name, flavor) in [("ndjson", corpus::Flavor::Ndjson), ("nginx", corpus::Flavor::Nginx)] {
        let data = corpus(flavor, 64 << 20);
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(&data).expect("write");
        g.throughput(Throughput::Bytes(data.len() as u64));
        for threads in [1usize, 2] {
            let options = ScanOptions { threads, reader: ReaderOptions::default(), ..ScanOptions::default() };
            g.bench_with_input(BenchmarkId::new(name, threads), &options, |b, options| {
                b.iter(|| scan(vec![Source::File(file.path().to_owned())], options).expect("scan").aggregate.lines)
            });
        }
    }
    g.finish();
}

criterion_group!(benches, extract, parse, timestamps, numbers, breakdowns, merge, pipeline);
criterion_main!(benches);
