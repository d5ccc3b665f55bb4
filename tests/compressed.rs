//! Compressed inputs and directories give the same report as the plain,
//! concatenated input; damaged streams keep what was decoded before the
//! damage and name the file and offset.

use std::fs;
use std::io::Write;
use std::path::Path;

use flate2::Compression as Level;
use flate2::write::GzEncoder;
use predicates::prelude::*;
use serde_json::Value;

use crate::support::corpus::{self, Flavor};
use crate::util::{cmd, json_report, json_report_with_code, without_timing};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Level::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// The report without what names or sizes the inputs themselves.
fn content(report: Value) -> Value {
    let mut report = without_timing(report);
    report.as_object_mut().unwrap().remove("inputs");
    let summary = report["summary"].as_object_mut().unwrap();
    summary.remove("files");
    for sample in summary["malformed_samples"].as_array_mut().unwrap() {
        sample.as_object_mut().unwrap().remove("file");
        sample.as_object_mut().unwrap().remove("line");
    }
    report
}

fn corpus_bytes(seed: u64) -> Vec<u8> {
    let mut data = Vec::new();
    corpus::generate(Flavor::Ndjson, 256 << 10, seed, &mut data).unwrap();
    data
}

fn write(path: &Path, bytes: &[u8]) -> String {
    fs::write(path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn gzip_multi_member_gzip_and_zstd_match_the_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (corpus_bytes(1), corpus_bytes(2));
    let plain = write(&dir.path().join("all.log"), &[first.clone(), second.clone()].concat());
    let reference = content(json_report(&[&plain]));
    assert!(reference["summary"]["error_bodies"].as_u64().unwrap() > 0);

    let gz = write(&dir.path().join("all.log.gz"), &gzip(&[first.clone(), second.clone()].concat()));
    let multi = write(&dir.path().join("rotated"), &[gzip(&first), gzip(&second)].concat());
    let zst = write(&dir.path().join("all.zst"), &zstd::encode_all(&[first, second].concat()[..], 3).unwrap());
    for path in [&gz, &multi, &zst] {
        let report = json_report(&[path]);
        assert_eq!(content(report.clone()), reference, "{path}");
        assert!(report["inputs"][0]["compression"].is_string(), "{path}");
        assert!(report["inputs"][0]["raw_bytes"].as_u64() < report["inputs"][0]["bytes"].as_u64());
    }
}

#[test]
fn a_directory_of_mixed_files_matches_the_concatenation() {
    let dir = tempfile::tempdir().unwrap();
    let parts: Vec<Vec<u8>> = (10..13).map(corpus_bytes).collect();
    let plain = write(&dir.path().join("all.log"), &parts.concat());
    let logs = dir.path().join("logs");
    fs::create_dir_all(logs.join("old")).unwrap();
    write(&logs.join("a.log"), &parts[0]);
    write(&logs.join("b.log.gz"), &gzip(&parts[1]));
    write(&logs.join("old/c.zst"), &zstd::encode_all(&parts[2][..], 1).unwrap());
    write(&logs.join(".hidden.log"), b"{\"status\":500}\n");
    let report = json_report(&[logs.to_str().unwrap()]);
    assert_eq!(report["summary"]["files"], 3);
    assert_eq!(content(report), content(json_report(&[&plain])));
    let with_hidden = json_report(&[logs.to_str().unwrap(), "--hidden"]);
    assert_eq!(with_hidden["summary"]["files"], 4);
}

#[test]
fn truncated_gzip_keeps_what_was_decoded_and_names_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus_bytes(3);
    let compressed = gzip(&data);
    let cut = write(&dir.path().join("cut.log.gz"), &compressed[..compressed.len() / 2]);
    let report = json_report_with_code(&[&cut], 2);
    let requests = report["summary"]["requests"].as_u64().unwrap();
    let full = json_report(&[&write(&dir.path().join("full.log"), &data)]);
    assert!(requests > 0 && requests < full["summary"]["requests"].as_u64().unwrap());
    assert!(report["inputs"][0]["error"].as_str().unwrap().contains("gzip stream is corrupt or truncated"));
    cmd()
        .arg(&cut)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cut.log.gz: read error at byte"))
        .stderr(predicate::str::contains("compressed byte"));
}

#[test]
fn a_json_document_cut_short_inside_its_gzip_is_an_error() {
    // A CTS trace file whose gzip ends before its first record does: the
    // read error must not be mistaken for "not a document after all".
    let dir = tempfile::tempdir().unwrap();
    let compressed = gzip(&std::fs::read(crate::util::fixture("traces/list_traces.json")).unwrap());
    let cut = write(&dir.path().join("trace.json.gz"), &compressed[..200]);
    let report = json_report_with_code(&[&cut], 2);
    assert!(report["inputs"][0]["error"].as_str().unwrap().contains("gzip stream is corrupt or truncated"), "{report}");
    cmd().arg(&cut).assert().code(2).stderr(predicate::str::contains("trace.json.gz: read error at byte"));
}

#[test]
fn corrupt_gzip_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = gzip(&corpus_bytes(4));
    let middle = bytes.len() / 2;
    bytes[middle..middle + 64].iter_mut().for_each(|b| *b ^= 0x5a);
    let path = write(&dir.path().join("bad.gz"), &bytes);
    cmd().arg(&path).assert().code(2).stderr(predicate::str::contains("bad.gz"));
}

#[test]
fn gzip_padding_is_accepted_and_trailing_garbage_named_where_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus_bytes(6);
    let compressed = gzip(&data);
    let plain = json_report(&[&write(&dir.path().join("plain.log"), &data)]);
    // NUL padding after the last member, as gzip(1) accepts it.
    let mut padded = compressed.clone();
    padded.extend(std::iter::repeat_n(0u8, 4096));
    let report = json_report(&[&write(&dir.path().join("padded.log.gz"), &padded)]);
    assert_eq!(content(report), content(plain.clone()));
    // Garbage after the last member: everything before it counts, and the
    // error names where the garbage starts.
    let mut garbage = compressed.clone();
    garbage.extend_from_slice(b"this is not gzip\n");
    let path = write(&dir.path().join("garbage.log.gz"), &garbage);
    let report = json_report_with_code(&[&path], 2);
    assert_eq!(content(report.clone()), content(plain));
    let error = report["inputs"][0]["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("followed by bytes that are not gzip, from compressed byte {}", compressed.len())),
        "{error}"
    );
}

/// `before` then `after`, gzipped as one member with a sync flush between
/// them, and the first deflate block after the flush made invalid (block
/// type 3): exactly the bytes of `before` decode intact. Also returns the
/// compressed offset of the damaged byte.
fn gzip_damaged_after(before: &[u8], after: &[u8]) -> (Vec<u8>, usize) {
    let mut encoder = GzEncoder::new(Vec::new(), Level::fast());
    encoder.write_all(before).unwrap();
    encoder.flush().unwrap();
    let damage = encoder.get_ref().len();
    encoder.write_all(after).unwrap();
    let mut bytes = encoder.finish().unwrap();
    bytes[damage] = 0b111; // last block, type 3: reserved, invalid
    (bytes, damage)
}

/// The compressed byte offset an error message names.
fn named_offset(error: &str) -> usize {
    let (_, rest) = error.split_once("at compressed byte ").expect("the offset is named");
    rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

#[test]
fn damaged_gzip_keeps_every_line_before_the_damage() {
    // More than the 1 MiB a decoder hands over at a time, so that losing
    // the piece being decoded when the damage is found would show.
    let dir = tempfile::tempdir().unwrap();
    let (before, after) =
        ([corpus_bytes(21), corpus_bytes(22), corpus_bytes(23), corpus_bytes(24)].concat(), corpus_bytes(25));
    assert!(before.len() > 1 << 20 && before.ends_with(b"\n"));
    let (damaged, at) = gzip_damaged_after(&before, &after);
    let path = write(&dir.path().join("damaged.log.gz"), &damaged);
    let report = json_report_with_code(&[&path], 2);
    let intact = json_report(&[&write(&dir.path().join("intact.log"), &before)]);
    let lines = before.iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!(report["summary"]["lines"], lines);
    assert_eq!(content(report.clone()), content(intact));
    let error = report["inputs"][0]["error"].as_str().unwrap();
    assert!((at..=at + 1).contains(&named_offset(error)), "{error} (damage at {at})");
    assert!(error.contains("every line decoded before it was scanned"), "{error}");
}

/// The compressed offset of the first block header of the zstd frame at
/// the start of `frame` (RFC 8878, 3.1.1.1).
fn zstd_first_block(frame: &[u8]) -> usize {
    let descriptor = frame[4];
    let single_segment = descriptor & 0x20 != 0;
    let dictionary_id = [0, 1, 2, 4][usize::from(descriptor & 3)];
    let content_size = [usize::from(single_segment), 2, 4, 8][usize::from(descriptor >> 6)];
    5 + usize::from(!single_segment) + dictionary_id + content_size
}

#[test]
fn damaged_zstd_keeps_every_frame_before_the_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (before, after) =
        ([corpus_bytes(31), corpus_bytes(32), corpus_bytes(33), corpus_bytes(34)].concat(), corpus_bytes(35));
    let first = zstd::encode_all(&before[..], 3).unwrap();
    let mut second = zstd::encode_all(&after[..], 3).unwrap();
    let block = zstd_first_block(&second);
    second[block] |= 0b110; // block type 3: reserved, invalid
    let path = write(&dir.path().join("damaged.log.zst"), &[first.clone(), second].concat());
    let report = json_report_with_code(&[&path], 2);
    let intact = json_report(&[&write(&dir.path().join("intact.log"), &before)]);
    assert_eq!(report["summary"]["lines"], before.iter().filter(|&&b| b == b'\n').count() as u64);
    assert_eq!(content(report.clone()), content(intact));
    let error = report["inputs"][0]["error"].as_str().unwrap();
    let at = first.len() + block;
    assert!((at..at + 3).contains(&named_offset(error)), "{error} (damaged block header at {at})");
    cmd().arg(&path).assert().code(2).stderr(predicate::str::contains("damaged.log.zst: read error at byte"));
}

#[test]
fn a_zstd_frame_damaged_in_its_third_block_keeps_the_first_two() {
    // One frame, damaged within the first MiB decoded: the two blocks
    // before the damage (128 KiB each, the last line cut short) are
    // scanned, not refused with "cannot open".
    let dir = tempfile::tempdir().unwrap();
    let data = [corpus_bytes(41), corpus_bytes(42)].concat();
    let mut frame = zstd::encode_all(&data[..], 3).unwrap();
    let mut block = zstd_first_block(&frame);
    for _ in 0..2 {
        let header = u32::from_le_bytes([frame[block], frame[block + 1], frame[block + 2], 0]);
        let rle = (header >> 1) & 3 == 1;
        block += 3 + if rle { 1 } else { (header >> 3) as usize };
    }
    frame[block] |= 0b110;
    let path = write(&dir.path().join("early.zst"), &frame);
    let report = json_report_with_code(&[&path], 2);
    let prefix = json_report(&[&write(&dir.path().join("prefix.log"), &data[..256 << 10])]);
    assert!(prefix["summary"]["lines"].as_u64().unwrap() > 100);
    assert_eq!(content(report), content(prefix));
}

/// What `tool -dc` writes for `path`, whatever its exit status.
fn decoded_by(tool: &str, path: &str) -> Vec<u8> {
    let out = std::process::Command::new(tool)
        .args(["-dc", path])
        .output()
        .unwrap_or_else(|e| panic!("this test needs {tool}(1): {e}; apt-get install {tool} (./test.sh does)"));
    out.stdout
}

#[test]
fn damaged_files_keep_at_least_what_gzip_and_zstd_recover() {
    // Ground truth from the independent tools: a gzip file cut short and
    // a zstd file with a byte flipped a third of the way in.
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (50..58).flat_map(corpus_bytes).collect();
    let gz = gzip(&data);
    let cut = write(&dir.path().join("cut.log.gz"), &gz[..gz.len() * 2 / 3]);
    let mut zst = zstd::encode_all(&data[..], 3).unwrap();
    let third = zst.len() / 3;
    zst[third] ^= 0xff;
    let flipped = write(&dir.path().join("flipped.log.zst"), &zst);
    for (tool, path) in [("gzip", &cut), ("zstd", &flipped)] {
        let recovered = decoded_by(tool, path);
        assert!(data.starts_with(&recovered) && recovered.len() < data.len(), "{tool}");
        let report = json_report_with_code(&[path], 2);
        let bytes = report["inputs"][0]["bytes"].as_u64().unwrap() as usize;
        assert!(bytes >= recovered.len(), "{tool}: {bytes} < {}", recovered.len());
        let kept = &data[..bytes];
        let lines = kept.iter().filter(|&&b| b == b'\n').count() + usize::from(!kept.ends_with(b"\n"));
        assert_eq!(report["summary"]["lines"], lines as u64, "{tool}");
        assert_eq!(content(report), content(json_report(&[&write(&dir.path().join("kept.log"), kept)])), "{tool}");
    }
}
