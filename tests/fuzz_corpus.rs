//! Replays the committed fuzz corpora (`fuzz/corpus/*`, minimised with
//! `cargo fuzz cmin`) and the inputs that once crashed or hung a target
//! (`fuzz/regressions/*`) through the same calls as the fuzz targets, so
//! every one is checked on every `cargo test`, without a nightly toolchain.

use std::path::Path;

use cts_logscan::extract::{Extractor, Scratch};
use cts_logscan::format::{AccessParser, CustomParser, LineParser, LogFormat, NdjsonParser};
use cts_logscan::record::{Record, Spans};

const MAIN: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rt=$request_time urt="$upstream_response_time" "$resp_body""#;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = Vec::new();
    for dir in [fuzz.join("corpus").join(target), fuzz.join("regressions").join(target)] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        inputs.extend(entries.map(|entry| std::fs::read(entry.unwrap().path()).unwrap()));
    }
    inputs.sort();
    assert!(inputs.len() > 50, "fuzz/corpus/{target} holds the corpus");
    inputs
}

#[test]
fn decode_body_corpus() {
    let extractor = Extractor::default();
    let mut scratch = Scratch::default();
    let decoded = corpus("decode_body")
        .iter()
        .filter(|line| extractor.decode(line, &Spans::default(), &mut scratch).is_some())
        .count();
    assert!(decoded > 10, "the corpus holds bodies of every shape");
}

#[test]
fn parse_line_corpus() {
    let format = LogFormat::parse(MAIN).unwrap();
    let mut parsers = [
        LineParser::from(NdjsonParser::default()),
        LineParser::from(AccessParser::new(true)),
        LineParser::from(AccessParser::new(false)),
        LineParser::from(CustomParser::new(format)),
    ];
    let mut parsed = 0;
    for line in corpus("parse_line") {
        for parser in &mut parsers {
            for full in [false, true] {
                parsed += usize::from(parser.parse(&line, full, &mut Record::default()).is_ok());
            }
        }
    }
    assert!(parsed > 50, "the corpus holds valid lines of each format");
}
