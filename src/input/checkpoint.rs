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

/// The offset of a compressed file passed over whole (a rotated file the
/// first run given its name found): past any end, whatever it decodes to.
const PASSED_OVER: u64 = u64::MAX;

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
    /// Whether this is the mark of the plain file whose device and inode
    /// are `id` and whose first bytes are `head`: the same inode with the
    /// same head, or with nothing read yet (an empty file has no head to
    /// know it by; read from 0 either way).
    pub fn is_of(&self, id: &FileId, head: &[u8]) -> bool {
        !self.compressed && self.id == *id && (self.offset == 0 || self.head.matches(head))
    }

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

/// Holds the checkpoint at `path` for this run: an exclusive lock on
/// `PATH.lock`, released when the returned file is dropped, so that two
/// runs (an hourly job and a `prerotate` one) never read the same bytes.
///
/// # Errors
///
/// When another run holds it, or the lock file cannot be made.
pub fn lock(path: &Path) -> Result<File, Error> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let failed = |why: String| Error::Checkpoint { path: path.to_owned(), why };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .map_err(|e| failed(format!("cannot create its lock {}: {e}", Path::new(&name).display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(failed(format!(
            "another run holds it ({} is locked); run again once it is done",
            Path::new(&name).display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(failed(format!("cannot lock it: {e}"))),
    }
}

impl Checkpoint {
    /// Records `marks` (where a follower stands): they replace the marks
    /// of the files they are of: for a plain file, all the marks of its
    /// inode (the follower's include what it held before a truncation);
    /// for a compressed one, its mark. Marks unseen for 31 days are
    /// dropped.
    pub fn update(&mut self, marks: Vec<FileMark>) {
        let replaced = |old: &FileMark| marks.iter().any(|new| new.id == old.id && new.compressed == old.compressed);
        self.files.retain(|old| !replaced(old));
        for mark in marks {
            if !self.files.contains(&mark) {
                self.files.push(mark);
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
    ///
    /// Beside a file given by name, its rotated files (`access.log.1`,
    /// `access.log.2.gz`: the same name and a suffix, in its directory) are
    /// looked at too. The first run given the name passes them over (they
    /// were rotated away before it) and marks them so; later runs read
    /// what earlier runs left unread of files they know, and files new
    /// since (written and rotated away between two runs) whole.
    pub fn plan(&self, sources: Vec<Source>) -> Plan {
        let rotated = rotated_beside(&sources);
        let given = sources.len();
        // Per rotated file, whether a run has looked at its name before.
        let chain_known: Vec<bool> =
            rotated.iter().map(|(_, name)| self.files.iter().any(|m| m.path == *name)).collect();
        let looked: Vec<Looked> = sources.into_iter().chain(rotated.into_iter().map(|(s, _)| s)).map(look).collect();
        let mut claimed = HashSet::new();
        let mut decisions: Vec<Option<Decision>> = (0..looked.len()).map(|_| None).collect();
        // Files known by identity first; then copies known by their head
        // alone (`copytruncate`'s plain copy, a rotated file compressed),
        // after the files they were made from.
        for pass in [Pass::Identity, Pass::PlainCopy, Pass::Compressed] {
            for (index, looked) in looked.iter().enumerate() {
                let Looked::File { file, compressed, .. } = looked else { continue };
                if decisions[index].is_none() {
                    decisions[index] = self.decide(file, *compressed, pass, &mut claimed);
                }
            }
        }
        let mut plan = Plan::default();
        for (index, (looked, decision)) in looked.into_iter().zip(decisions).enumerate() {
            let decision = match decision {
                // Unknown beside a name no run looked at: rotated away
                // before the first run.
                Some(Decision::Read { mark: None, .. }) if index >= given && !chain_known[index - given] => {
                    if let Looked::File { source: Source::File(path), file, compressed } = &looked {
                        plan.passed_over.push(file.passed_over(path, *compressed));
                    }
                    continue;
                }
                Some(Decision::Skip(why)) if index >= given => {
                    plan.seen.extend(why.mark);
                    continue;
                }
                other => other,
            };
            match (looked, decision) {
                (Looked::File { source, file, compressed }, Some(decision)) => match decision {
                    Decision::Skip(skip) => {
                        plan.skipped.push(format!("{source}: {}", skip.why));
                        plan.seen.extend(skip.mark);
                    }
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

    /// Where a file found now (`file`) starts, if `pass` decides it:
    /// after what a mark of the same content says was read, or at 0.
    fn decide(&self, file: &FileLook, compressed: bool, pass: Pass, claimed: &mut HashSet<usize>) -> Option<Decision> {
        let size = file.meta.len();
        let new_file = Decision::Read { start: 0, first_line: 0, hold_partial: !compressed, mark: None };
        let index = match pass {
            Pass::Identity if compressed => return None,
            Pass::Identity => {
                let same_inode = |m: &FileMark| !m.compressed && m.id == file.id;
                let same_file = self.files.iter().position(|m| m.is_of(&file.id, &file.head) && size >= m.offset);
                match same_file {
                    Some(index) => index,
                    // Truncated, or another file under the inode: what it
                    // holds now is new; its old content may live on as a
                    // copy, which takes the old mark.
                    None if self.files.iter().any(same_inode) => return Some(new_file),
                    None => return None,
                }
            }
            Pass::PlainCopy if compressed => return None,
            Pass::Compressed if !compressed => return None,
            Pass::Compressed if being_written(file) => {
                return Some(Decision::skip("still being compressed: a later run reads it", None));
            }
            Pass::PlainCopy | Pass::Compressed => {
                let same =
                    |m: &FileMark| m.head.matches(&file.head) && (m.compressed || size >= m.offset || compressed);
                let by_inode = self.files.iter().position(|m| m.compressed && m.id == file.id && same(m));
                let by_head = || self.files.iter().position(|m| !m.compressed && same(m));
                match by_inode.or_else(by_head) {
                    Some(index) => index,
                    None => return Some(new_file),
                }
            }
        };
        if !claimed.insert(index) {
            let why = "a copy of a file this run reads under another name, or another name of it";
            return Some(Decision::skip(why, None));
        }
        let mark = &self.files[index];
        let unchanged = mark.size == size && mark.modified_ns == modified_ns(&file.meta);
        if compressed && mark.compressed && mark.offset == PASSED_OVER {
            return Some(Decision::skip("passed over by the first run given its name", Some(index)));
        }
        if compressed && mark.compressed && unchanged {
            return Some(Decision::skip("read whole by an earlier run, unchanged since", Some(index)));
        }
        // A file that did not change since the last run will not finish
        // its last line: read it as it is.
        let hold_partial = !(compressed || unchanged && mark.id == file.id);
        Some(Decision::Read { start: mark.offset, first_line: mark.lines, hold_partial, mark: Some(index) })
    }
}

/// Whether the compressed `file`, changed lately, does not decode to its
/// end: gzip is still writing it (logrotate's `compress`), and a later run
/// reads it whole.
fn being_written(file: &FileLook) -> bool {
    super::changed_lately(&file.meta) && !super::decodes_whole(&Source::Stdin, &file.handle)
}

/// The order in which files found are matched to marks.
#[derive(Clone, Copy)]
enum Pass {
    /// Plain files, by device, inode and head.
    Identity,
    /// Plain files by head alone: copies of a file read.
    PlainCopy,
    /// Compressed files: by inode and head, else by head alone.
    Compressed,
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
    /// Marks of files not read, seen again: kept from being forgotten.
    seen: Vec<usize>,
    /// Marks for the rotated files the first run given their name passes
    /// over.
    passed_over: Vec<FileMark>,
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
        for index in self.seen {
            checkpoint.files[index].seen_ms = now;
        }
        let mut added = self.passed_over;
        for (pending, &(bytes, lines)) in self.pending.into_iter().zip(read) {
            match pending {
                Pending::File { mark, fresh } => {
                    let (offset, lines) = (fresh.offset.saturating_add(bytes), fresh.lines.saturating_add(lines));
                    let updated = FileMark { offset, lines, ..fresh };
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
    Skip(Skip),
    Read { start: u64, first_line: u64, hold_partial: bool, mark: Option<usize> },
}

/// A file not read: why, and the mark that says so, if any.
struct Skip {
    why: &'static str,
    mark: Option<usize>,
}

impl Decision {
    fn skip(why: &'static str, mark: Option<usize>) -> Decision {
        Decision::Skip(Skip { why, mark })
    }
}

/// The rotated files beside the files `sources` name (`NAME.*` in the
/// same directory) that `sources` does not hold, in name order, each with
/// the name it was rotated from.
fn rotated_beside(sources: &[Source]) -> Vec<(Source, PathBuf)> {
    let given: HashSet<&Path> = sources
        .iter()
        .filter_map(|source| match source {
            Source::File(path) => Some(path.as_path()),
            _ => None,
        })
        .collect();
    let mut rotated = std::collections::BTreeMap::new();
    for path in &given {
        let path_of_given = path.to_path_buf();
        let (Some(name), Some(dir)) = (path.file_name(), path.parent()) else { continue };
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        let mut prefix = name.to_owned();
        prefix.push(".");
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for entry in entries.flatten() {
            let sibling = entry.file_name();
            let is_rotated = sibling.as_encoded_bytes().starts_with(prefix.as_encoded_bytes());
            let path = if path.parent().is_some_and(|p| p.as_os_str().is_empty()) {
                std::path::PathBuf::from(&sibling)
            } else {
                dir.join(&sibling)
            };
            if is_rotated && !given.contains(path.as_path()) && entry.file_type().is_ok_and(|t| t.is_file()) {
                rotated.insert(path, path_of_given.clone());
            }
        }
    }
    rotated.into_iter().map(|(path, name)| (Source::File(path), name)).collect()
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

impl FileLook {
    /// The mark of this file (at `path`) passed over whole: read to its
    /// end as far as later runs are concerned.
    fn passed_over(&self, path: &Path, compressed: bool) -> FileMark {
        let offset = if compressed { PASSED_OVER } else { self.meta.len() };
        FileMark { offset, ..FileMark::of(path, &self.meta, HeadPrint::of(&self.head), compressed) }
    }
}

fn look(source: Source) -> Looked {
    let Source::File(path) = &source else {
        return match source {
            Source::Object(url) => Looked::Object(url),
            other => Looked::Other(other),
        };
    };
    // A FIFO is not opened here: that would wait for its writer.
    if !std::fs::metadata(path).is_ok_and(|meta| meta.is_file()) {
        return Looked::Other(source);
    }
    let opened = File::open(path).and_then(|handle| Ok((handle.metadata()?, handle)));
    let Ok((meta, handle)) = opened else { return Looked::Other(source) };
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

    fn mark(ino: u64, head: &[u8], offset: u64) -> FileMark {
        FileMark {
            path: PathBuf::from(format!("f{ino}")),
            id: FileId { dev: 1, ino },
            head: HeadPrint::of(head),
            offset,
            lines: 0,
            size: offset,
            modified_ns: 0,
            compressed: false,
            seen_ms: now_ms(),
        }
    }

    #[test]
    fn a_mark_is_of_its_inode_with_its_head_or_with_nothing_read() {
        let read = mark(7, b"first line\n", 11);
        assert!(read.is_of(&FileId { dev: 1, ino: 7 }, b"first line\nsecond\n"));
        assert!(!read.is_of(&FileId { dev: 1, ino: 7 }, b"other line\n"), "the inode reused");
        assert!(!read.is_of(&FileId { dev: 1, ino: 8 }, b"first line\n"));
        // An empty file has no head yet: what it holds now is its own.
        let empty = mark(7, b"", 0);
        assert!(empty.is_of(&FileId { dev: 1, ino: 7 }, b"anything\n"));
    }

    #[test]
    fn a_follower_s_marks_replace_every_mark_of_their_inodes() {
        let mut checkpoint = Checkpoint {
            files: vec![mark(1, b"a\n", 2), mark(1, b"b\n", 4), mark(2, b"c\n", 2)],
            ..Checkpoint::default()
        };
        // Inode 1 was truncated: what it held (its copy's mark) and where
        // it stands now; inode 2 untouched.
        checkpoint.update(vec![mark(1, b"b\n", 9), mark(1, b"d\n", 2), mark(1, b"d\n", 2)]);
        let marks: Vec<(u64, u64)> = checkpoint.files.iter().map(|m| (m.id.ino, m.offset)).collect();
        assert_eq!(marks, [(2, 2), (1, 9), (1, 2)]);
        assert_eq!(checkpoint.checkpoint_version, CHECKPOINT_VERSION);
    }
}
