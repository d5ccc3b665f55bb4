//! The error-body finder and decoder on arbitrary lines.
#![no_main]

use cts_logscan::extract::{Extractor, Scratch};
use cts_logscan::record::Spans;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    let mut scratch = Scratch::default();
    let _ = Extractor::default().decode(line, &Spans::default(), &mut scratch);
});
