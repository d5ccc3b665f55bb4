//! Decompresses gzip files to nowhere with the library the scan uses
//! (flate2 on zlib-rs, every member), for `benches/e2e.sh`: the time to
//! only decompress, which a scan of the same `.gz` is measured against.
//!
//! ```text
//! cargo run --release --example gunzip -- FILE.gz…
//! ```

use std::fs::File;
use std::io::{BufReader, Read};

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    for path in std::env::args_os().skip(1) {
        let file = File::open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
        // The scan's buffers: 256 KiB in, 1 MiB out.
        let mut decoder = flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(256 << 10, file));
        let mut out = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            match decoder.read(&mut out).with_context(|| format!("{}: cannot decompress", path.display()))? {
                0 => break,
                n => bytes += n as u64,
            }
        }
        println!("{bytes}");
    }
    Ok(())
}
