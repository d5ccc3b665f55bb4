//! `--checkpoint FILE`: what earlier runs read, so that the next one reads
//! only the rest — by exact byte offsets, not a time cut-off (lines share
//! timestamps), and by content identity, not the inode alone (inodes are
//! reused, files are truncated while the job is stopped).
//!
//! A file is recognised by its device and inode and a print of its first
//! 4 KiB (decoded, for a compressed file); along the rotation chain
//! `access.log` → `access.log.1` → `access.log.2.gz`, a renamed file keeps
//! its offset, and a compressed copy is read after what was read of the
//! file it was made from. An object already read (key, ETag, size) is
//! skipped. The checkpoint is written atomically by the caller, only once
//! the run's output is written.

use std::collections::HashSet;
use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::identity::{FileId, HeadPrint, decoded_head};
use super::{HEAD_BYTES, Source, Span, compression_of};
use crate::error::Error;

/// The version of the checkpoint's schema.
pub const CHECKPOINT_VERSION: u32 = 1;

/// Marks of files not seen for this long are dropped (31 days).
const FORGET_AFTER_MS: i64 = 31 * 24 * 3600 * 1000;

/// What earlier runs read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`CHECKPOINT_VERSION`].
    pub checkpoint_version: u32,
    /// One mark per file content read.
    pub files: Vec<FileMark>,
    /// The objects read.
    pub objects: Vec<ObjectMark>,
}

/// How far a file was read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMark {
    /// The name it was last read under.
    pub path: PathBuf,
    /// Its device and inode.
    #[serde(flatten)]
    pub id: FileId,
    /// A print of its first decoded bytes.
    pub head: HeadPrint,
    /// Decoded bytes read: where the next run starts.
    pub offset: u64,
    /// Lines read: the line number the next run counts from.
    pub lines: u64,
    /// Its size (as stored) when it was last read.
    pub size: u64,
    /// Its modification time then, in nanoseconds since the epoch.
    pub modified_ns: i64,
    /// Whether it is compressed (read to its end, never held back).
    pub compressed: bool,
    /// When a run last saw it (epoch ms): marks unseen for 31 days go.
    pub seen_ms: i64,
}

/// An object read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMark {
    /// `s3://bucket/key`.
    pub url: String,
    /// Its ETag, when the store gives one.
    pub etag: Option<String>,
    /// Its size.
    pub size: Option<u64>,
}

impl FileMark {
    /// A mark for the file at `path` as `meta` describes it now, whose
    /// head has the print `head`, read up to nothing yet.
    pub fn of(path: &Path, meta: &Metadata, head: HeadPrint, compressed: bool) -> FileMark {
        FileMark {
            path: path.to_owned(),
            id: FileId::of(meta),
            head,
            offset: 0,
            lines: 0,
            size: meta.len(),
            modified_ns: modified_ns(meta),
            compressed,
            seen_ms: now_ms(),
        }
    }
}

impl Checkpoint {
    /// Records `marks` (where a follower stands): each replaces the mark of
    /// the same file, or is added; marks unseen for 31 days are dropped.
    pub fn update(&mut self, marks: Vec<FileMark>) {
        for mark in marks {
            let same = |old: &FileMark| old.id == mark.id && old.compressed == mark.compressed;
            match self.files.iter_mut().find(|old| same(old)) {
                Some(old) => *old = mark,
                None => self.files.push(mark),
            }
        }
        self.forget_old(now_ms());
    }

    fn forget_old(&mut self, now: i64) {
        self.files.retain(|mark| now - mark.seen_ms < FORGET_AFTER_MS);
        self.checkpoint_version = CHECKPOINT_VERSION;
    }

    /// The checkpoint at `path`; none yet (a first run) is an empty one.
    ///
    /// # Errors
    ///
    /// When it cannot be read or is not a checkpoint of this version,
    /// naming the file and what to do.
    pub fn read(path: &Path) -> Result<Checkpoint, Error> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Checkpoint { checkpoint_version: CHECKPOINT_VERSION, ..Checkpoint::default() });
            }
            Err(source) => return Err(Error::Checkpoint { path: path.to_owned(), why: source.to_string() }),
        };
        let checkpoint: Checkpoint = serde_json::from_slice(&bytes).map_err(|e| Error::Checkpoint {
            path: path.to_owned(),
            why: format!("it is not a checkpoint ({e}); move it away to start over"),
        })?;
        if checkpoint.checkpoint_version != CHECKPOINT_VERSION {
            let why = format!(
                "it has checkpoint_version {}, this build reads {CHECKPOINT_VERSION}; move it away to start over",
                checkpoint.checkpoint_version
            );
            return Err(Error::Checkpoint { path: path.to_owned(), why });
        }
        Ok(checkpoint)
    }

    /// Writes the checkpoint as one line of JSON.
    ///
    /// # Errors
    ///
    /// Whatever writing to `wtr` returns.
    pub fn write(&self, wtr: &mut dyn io::Write) -> io::Result<()> {
        serde_json::to_writer(&mut *wtr, self)?;
        writeln!(wtr)
    }

    /// What of `sources` (expanded) this run reads: each file from where
    /// earlier runs stopped, new files whole, objects not read yet.
    pub fn plan(&self, sources: Vec<Source>) -> Plan {
        let looked: Vec<Looked> = sources.into_iter().map(look).collect();
        let mut claimed = HashSet::new();
        let mut decisions: Vec<Option<Decision>> = (0..looked.len()).map(|_| None).collect();
        // Files under a name first, by identity; then compressed copies by
        // their head, after the files they were made from.
        for pass in [false, true] {
            for (index, looked) in looked.iter().enumerate() {
                let Looked::File { file, compressed, .. } = looked else { continue };
                if *compressed == pass {
                    decisions[index] = Some(self.decide(file, *compressed, &mut claimed));
                }
            }
        }
        let mut plan = Plan::default();
        for (looked, decision) in looked.into_iter().zip(decisions) {
            match (looked, decision) {
                (Looked::File { source, file, compressed }, Some(decision)) => match decision {
                    Decision::Skip(why) => plan.skipped.push(format!("{source}: {why}")),
                    Decision::Read { start, first_line, hold_partial, mark } => {
                        let file = *file;
                        let handle = Some(super::Handle::File(std::sync::Arc::new(file.handle)));
                        // Read from further on, it is still detected by its head.
                        let head = (start > 0).then(|| file.head.clone());
                        plan.spans.push(Span { source: source.clone(), start, hold_partial, handle, first_line, head });
                        let path = match &source {
                            Source::File(path) => path.clone(),
                            other => PathBuf::from(other.to_string()),
                        };
                        let fresh = FileMark {
                            offset: start,
                            lines: first_line,
                            ..FileMark::of(&path, &file.meta, HeadPrint::of(&file.head), compressed)
                        };
                        plan.pending.push(Pending::File { mark, fresh });
                    }
                },
                (Looked::Object(url), _) => {
                    let mark = ObjectMark { url: url.to_string(), etag: url.etag.clone(), size: url.size };
                    if mark.etag.is_some() && self.objects.contains(&mark) {
                        plan.skipped.push(format!("{url}: read by an earlier run (same ETag and size)"));
                        continue;
                    }
                    plan.spans.push(Span::whole(Source::Object(url)));
                    plan.pending.push(Pending::Object(mark));
                }
                (Looked::Other(source), _) => {
                    plan.spans.push(Span::whole(source));
                    plan.pending.push(Pending::Nothing);
                }
                (Looked::File { .. }, None) => {}
            }
        }
        plan.before = self.clone();
        plan
    }

    /// Where a file found now (`file`) starts: after what a mark of the
    /// same content says was read, or at 0.
    fn decide(&self, file: &FileLook, compressed: bool, claimed: &mut HashSet<usize>) -> Decision {
        let same_file = |mark: &FileMark| mark.id == file.id && mark.head.matches(&file.head);
        let found = self.files.iter().position(|mark| same_file(mark) && mark.compressed == compressed);
        let found = found.or_else(|| {
            // A compressed copy of a file read before (rotated, then
            // compressed): by its head alone.
            compressed.then(|| self.files.iter().position(|mark| !mark.compressed && mark.head.matches(&file.head)))?
        });
        let Some(index) = found else {
            return Decision::Read { start: 0, first_line: 0, hold_partial: !compressed, mark: None };
        };
        if !claimed.insert(index) {
            return Decision::Skip("a compressed copy of a file this run reads under its own name".to_owned());
        }
        let mark = &self.files[index];
        let size = file.meta.len();
        let unchanged = mark.size == size && mark.modified_ns == modified_ns(&file.meta);
        if compressed && mark.compressed && unchanged {
            return Decision::Skip("unchanged since the checkpoint".to_owned());
        }
        if !compressed && size < mark.offset {
            // Truncated while the job was stopped: what it holds now is new.
            return Decision::Read { start: 0, first_line: 0, hold_partial: true, mark: Some(index) };
        }
        // A file that did not change since the last run will not finish
        // its last line: read it as it is.
        let hold_partial = !compressed && !unchanged;
        Decision::Read { start: mark.offset, first_line: mark.lines, hold_partial, mark: Some(index) }
    }
}

/// What a run reads, and what it will record once its output is written.
#[derive(Default)]
pub struct Plan {
    /// The spans to read, in input order.
    pub spans: Vec<Span>,
    /// Inputs not read, and why: `PATH: why`.
    pub skipped: Vec<String>,
    /// Per span, what its mark becomes.
    pending: Vec<Pending>,
    before: Checkpoint,
}

impl Plan {
    /// The checkpoint after this run, which read `read[i]` (decoded bytes
    /// and lines, as the state's input summaries say) of span `i`: each
    /// mark moves to where the lines read end. The lines read before an
    /// input failed were delivered, so they are not read again either.
    pub fn commit(self, read: &[(u64, u64)]) -> Checkpoint {
        let mut checkpoint = self.before;
        let now = now_ms();
        let mut added = Vec::new();
        for (pending, &(bytes, lines)) in self.pending.into_iter().zip(read) {
            match pending {
                Pending::File { mark, fresh } => {
                    let updated = FileMark { offset: fresh.offset + bytes, lines: fresh.lines + lines, ..fresh };
                    match mark {
                        Some(index) => checkpoint.files[index] = updated,
                        None => added.push(updated),
                    }
                }
                Pending::Object(mark) => {
                    checkpoint.objects.retain(|o| o.url != mark.url);
                    checkpoint.objects.push(mark);
                }
                Pending::Nothing => {}
            }
        }
        checkpoint.files.extend(added);
        checkpoint.forget_old(now);
        checkpoint
    }
}

enum Pending {
    /// A file: the mark it had, if any, and what it is now (its offset and
    /// lines those where the run starts).
    File {
        mark: Option<usize>,
        fresh: FileMark,
    },
    Object(ObjectMark),
    /// Stdin: nothing to remember.
    Nothing,
}

enum Decision {
    Skip(String),
    Read { start: u64, first_line: u64, hold_partial: bool, mark: Option<usize> },
}

/// An input as found now.
enum Looked {
    File {
        source: Source,
        file: Box<FileLook>,
        compressed: bool,
    },
    Object(super::ObjectUrl),
    /// Stdin, a pipe, or a file that cannot be opened: read as it is (the
    /// reader reports what fails).
    Other(Source),
}

struct FileLook {
    handle: File,
    meta: Metadata,
    id: FileId,
    head: Vec<u8>,
}

fn look(source: Source) -> Looked {
    let Source::File(path) = &source else {
        return match source {
            Source::Object(url) => Looked::Object(url),
            other => Looked::Other(other),
        };
    };
    let opened = File::open(path).and_then(|handle| Ok((handle.metadata()?, handle)));
    let Ok((meta, handle)) = opened else { return Looked::Other(source) };
    if !meta.is_file() {
        return Looked::Other(source);
    }
    let compressed = matches!(compression_of(path), Ok(Some(_)));
    let head = decoded_head(&source, &handle, HEAD_BYTES).unwrap_or_default();
    let id = FileId::of(&meta);
    Looked::File { source, file: Box::new(FileLook { handle, meta, id, head }), compressed }
}

fn modified_ns(meta: &Metadata) -> i64 {
    meta.modified().ok().and_then(|m| m.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as i64)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{ScanOptions, scan, scan_resumed};
    use std::fs;
    use std::io::Write;

    /// One run: the lines and requests it counted; the checkpoint moves on.
    fn run(checkpoint: &mut Checkpoint, dir: &Path) -> (u64, u64) {
        let options = ScanOptions { threads: 1, ..ScanOptions::default() };
        let (state, plan) = scan_resumed(vec![Source::File(dir.to_owned())], &options, checkpoint).unwrap();
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
}
