//! Successive `--checkpoint` runs, on hand-counted files: each reads only
//! what the runs before it did not.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::input::Source;
use crate::input::checkpoint::Checkpoint;
use crate::pipeline::{ScanOptions, scan, scan_resumed};

/// One run given `path` (a directory, or a file and the rotated files
/// beside it): the lines and requests it counted; the checkpoint moves on.
fn run(checkpoint: &mut Checkpoint, path: &Path) -> (u64, u64) {
    let options = ScanOptions { threads: 1, ..ScanOptions::default() };
    let (state, plan) = scan_resumed(vec![Source::File(path.to_owned())], &options, checkpoint).unwrap();
    let read: Vec<(u64, u64)> = state.inputs.iter().map(|i| (i.bytes, i.lines)).collect();
    *checkpoint = plan.commit(&read);
    (state.aggregate.lines, state.aggregate.requests)
}

fn line(n: u32) -> String {
    format!("{{\"time\":\"2026-11-27T10:00:{:02}Z\",\"status\":200,\"uri\":\"/v{n}\"}}\n", n % 60)
}

fn lines(range: std::ops::Range<u32>) -> String {
    range.map(line).collect()
}

fn append(path: &Path, text: &str) {
    fs::OpenOptions::new().create(true).append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
}

fn gzip(from: &Path, to: &Path) {
    let mut gz = flate2::write::GzEncoder::new(fs::File::create(to).unwrap(), flate2::Compression::fast());
    gz.write_all(&fs::read(from).unwrap()).unwrap();
    gz.finish().unwrap();
    fs::remove_file(from).unwrap();
}

#[test]
fn the_rotation_chain_is_read_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut checkpoint = Checkpoint::default();
    append(&log, &lines(0..10));
    assert_eq!(run(&mut checkpoint, dir.path()), (10, 10));
    assert_eq!(run(&mut checkpoint, dir.path()), (0, 0), "nothing new");
    // Written to, rotated, written to again, then compressed.
    append(&log, &lines(10..13));
    fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&dir.path().join("access.log.1"), &lines(13..14));
    append(&log, &lines(14..20));
    assert_eq!(run(&mut checkpoint, dir.path()), (10, 10));
    gzip(&dir.path().join("access.log.1"), &dir.path().join("access.log.2.gz"));
    append(&log, &lines(20..21));
    assert_eq!(run(&mut checkpoint, dir.path()), (1, 1), "the .gz was read before, as access.log.1");
    assert_eq!(run(&mut checkpoint, dir.path()), (0, 0));
}

#[test]
fn a_compressed_copy_holding_an_unread_tail_gives_only_that_tail() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut checkpoint = Checkpoint::default();
    append(&log, &lines(0..5));
    assert_eq!(run(&mut checkpoint, dir.path()), (5, 5));
    // Rotated and compressed while the job was stopped, with lines
    // written after the last run.
    append(&log, &lines(5..8));
    gzip(&log, &dir.path().join("access.log.1.gz"));
    append(&log, &lines(8..9));
    assert_eq!(run(&mut checkpoint, dir.path()), (4, 4));
}

#[test]
fn truncation_and_a_reused_inode_are_read_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut checkpoint = Checkpoint::default();
    append(&log, &lines(0..6));
    assert_eq!(run(&mut checkpoint, dir.path()), (6, 6));
    // copytruncate while the job was stopped, then two lines.
    fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    append(&log, &lines(30..32));
    assert_eq!(run(&mut checkpoint, dir.path()), (2, 2));
    // Rewritten in place, longer, with other first bytes: the same inode
    // holds another file.
    fs::write(&log, lines(40..50)).unwrap();
    assert_eq!(run(&mut checkpoint, dir.path()), (10, 10));
}

#[test]
fn an_unfinished_last_line_waits_for_its_newline_or_for_the_file_to_stop_changing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut checkpoint = Checkpoint::default();
    append(&log, &lines(0..2));
    append(&log, "{\"status\":200,");
    assert_eq!(run(&mut checkpoint, dir.path()), (2, 2));
    append(&log, "\"uri\":\"/x\"}\n");
    assert_eq!(run(&mut checkpoint, dir.path()), (1, 1), "one line, not two halves");
    append(&log, "{\"status\":500");
    assert_eq!(run(&mut checkpoint, dir.path()), (0, 0));
    // Unchanged since: read as it is, as a batch scan reads it.
    assert_eq!(run(&mut checkpoint, dir.path()), (1, 0));
    let options = ScanOptions::default();
    let whole = scan(vec![Source::File(log)], &options).unwrap();
    assert_eq!((whole.aggregate.lines, whole.aggregate.requests), (4, 3));
}

#[test]
fn positions_count_lines_of_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut checkpoint = Checkpoint::default();
    append(&log, &lines(0..7));
    run(&mut checkpoint, dir.path());
    append(&log, "not json\n");
    let options = ScanOptions::default();
    let (state, _) = scan_resumed(vec![Source::File(log)], &options, &checkpoint).unwrap();
    let sample = &state.aggregate.samples[0];
    assert_eq!(sample.position.line, 7, "the 8th line, counted from 0");
}

#[test]
fn a_checkpoint_of_another_version_or_not_one_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cp.json");
    assert_eq!(Checkpoint::read(&path).unwrap().files.len(), 0, "none yet: a first run");
    fs::write(&path, "{\"checkpoint_version\":9,\"files\":[],\"objects\":[]}").unwrap();
    let message = Checkpoint::read(&path).unwrap_err().to_string();
    assert!(message.contains("checkpoint_version 9") && message.contains("move it away"), "{message}");
    fs::write(&path, "nonsense").unwrap();
    let message = Checkpoint::read(&path).unwrap_err().to_string();
    assert!(message.contains("is not a checkpoint"), "{message}");
}

#[test]
fn copytruncate_while_stopped_reads_the_copy_after_its_mark_and_the_file_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut checkpoint = Checkpoint::default();
    append(&log, &lines(0..10));
    assert_eq!(run(&mut checkpoint, dir.path()), (10, 10));
    append(&log, &lines(10..12));
    fs::copy(&log, dir.path().join("app.log.1")).unwrap();
    fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    append(&log, &lines(20..23));
    assert_eq!(run(&mut checkpoint, dir.path()), (5, 5), "2 in the copy, 3 in the file");
    assert_eq!(run(&mut checkpoint, dir.path()), (0, 0));
}

#[test]
fn another_name_of_a_file_read_is_not_read_again_and_empty_files_are_marked_too() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app-1.log");
    let mut checkpoint = Checkpoint::default();
    append(&log, &lines(0..3));
    fs::write(dir.path().join("empty.log"), "").unwrap();
    run(&mut checkpoint, dir.path());
    // The empty file is known: what is written to it next is new.
    assert_eq!(checkpoint.files.len(), 2);
    std::os::unix::fs::symlink(&log, dir.path().join("current.log")).unwrap();
    append(&log, &lines(3..4));
    assert_eq!(run(&mut checkpoint, dir.path()), (1, 1));
}

#[test]
fn the_first_run_given_a_name_passes_its_rotated_files_over_and_later_runs_read_what_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let at = |name: &str| dir.path().join(name);
    // History from before the first run: not asked for.
    append(&at("access.log.1"), &lines(0..4));
    append(&at("access.log.2"), &lines(4..6));
    gzip(&at("access.log.2"), &at("access.log.2.gz"));
    fs::write(&log, "").unwrap();
    let mut checkpoint = Checkpoint::default();
    assert_eq!(run(&mut checkpoint, &log), (0, 0));
    // A line in the file empty at the first run, rotated (delaycompress
    // compresses the older one); a file written and rotated away between
    // two runs; then one more line.
    append(&log, &lines(10..11));
    gzip(&at("access.log.1"), &at("access.log.3.gz"));
    fs::rename(&log, at("access.log.1")).unwrap();
    append(&log, &lines(11..14));
    fs::rename(at("access.log.1"), at("access.log.4")).unwrap();
    fs::rename(&log, at("access.log.1")).unwrap();
    append(&log, &lines(14..15));
    assert_eq!(run(&mut checkpoint, &log), (5, 5), "1 + 3 + 1, none of the history");
    assert_eq!(run(&mut checkpoint, &log), (0, 0));
}
