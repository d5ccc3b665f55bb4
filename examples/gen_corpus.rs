//! Writes a synthetic log corpus and its exact ground truth.
//!
//! ```text
//! cargo run --release --example gen_corpus -- --flavor ndjson --size 1GiB --out /tmp/api.ndjson
//! ```
//!
//! Writes `OUT` and `OUT.truth.json` (counts per code, exact nearest-rank
//! latency percentiles in microseconds, statuses, time span).

#[path = "../tests/support/corpus.rs"]
mod corpus;

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};

#[derive(Parser)]
struct Args {
    /// Which log to write.
    #[arg(long, value_enum, default_value_t = FlavorArg::Ndjson)]
    flavor: FlavorArg,
    /// Approximate size, e.g. 64MiB or 1GiB.
    #[arg(long, default_value = "64MiB")]
    size: String,
    /// Seed; the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the log; the truth goes to OUT.truth.json.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum FlavorArg {
    Ndjson,
    Nginx,
}

fn parse_size(text: &str) -> anyhow::Result<u64> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let number: u64 = digits.parse().with_context(|| format!("bad size {text:?}"))?;
    let multiplier = match text[digits.len()..].to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        other => anyhow::bail!("unknown size unit {other:?}; use KiB, MiB or GiB"),
    };
    Ok(number * multiplier)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let flavor = match args.flavor {
        FlavorArg::Ndjson => corpus::Flavor::Ndjson,
        FlavorArg::Nginx => corpus::Flavor::Nginx,
    };
    let file = File::create(&args.out).with_context(|| format!("{}: cannot create", args.out.display()))?;
    let mut wtr = BufWriter::with_capacity(1 << 20, file);
    let truth = corpus::generate(flavor, parse_size(&args.size)?, args.seed, &mut wtr)?;
    std::io::Write::flush(&mut wtr)?;
    let mut truth_path = args.out.clone().into_os_string();
    truth_path.push(".truth.json");
    serde_json::to_writer_pretty(File::create(&truth_path)?, &truth)?;
    eprintln!(
        "wrote {} ({} lines, {} bytes) and {}",
        args.out.display(),
        truth.lines,
        truth.bytes,
        PathBuf::from(truth_path).display()
    );
    Ok(())
}
