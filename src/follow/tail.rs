//! Following one file by name, as `tail -F` does: appended lines, rotation
//! by rename and create, truncation in place (`copytruncate`), a rewrite
//! to the same or a larger size, deletion and reappearance. Every poll
//! reads what is new and hands back whole lines only; a last line without
//! its newline waits for it, up to a timeout.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Bytes at the start of a file compared to notice a rewrite.
const HEAD: usize = 1024;

/// Bytes read at a time.
const CHUNK: usize = 1 << 20;

/// What happened to a followed file, besides new lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TailEvent {
    /// The file appeared (it did not exist when following began, or it came
    /// back after a deletion): read from its start.
    Appeared,
    /// Renamed away and replaced: the old file was read to its end, the
    /// new one is read from its start.
    Rotated,
    /// Truncated in place (`copytruncate`): read again from the start.
    Truncated,
    /// Rewritten in place (its first bytes changed): read again from the
    /// start.
    Rewritten,
    /// Deleted: what was written before is read; the name is watched for a
    /// new file.
    Deleted,
}

/// Where a file is followed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Its current end: only lines written from now on.
    End,
    /// This byte offset (the start of a line).
    Offset(u64),
}

/// One followed path.
#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    open: Option<OpenFile>,
    /// Bytes after the last newline read, waiting for the rest of their line.
    carry: Vec<u8>,
    /// When `carry` started waiting.
    carry_since: Option<Instant>,
    deleted: bool,
}

#[derive(Debug)]
struct OpenFile {
    file: File,
    identity: (u64, u64),
    offset: u64,
    /// The first bytes of the file as read, to notice a rewrite.
    head: Vec<u8>,
}

impl Tail {
    /// Starts following `path` at `start`; a path that does not exist yet
    /// is followed from the moment it appears.
    ///
    /// # Errors
    ///
    /// When the file exists but cannot be opened.
    pub fn new(path: &Path, start: Start) -> io::Result<Tail> {
        let mut tail = Tail { path: path.to_owned(), open: None, carry: Vec::new(), carry_since: None, deleted: false };
        if path.exists() {
            let mut open = OpenFile::open(path)?;
            open.offset = match start {
                Start::End => open.file.metadata()?.len(),
                Start::Offset(offset) => offset,
            };
            open.head = read_at(&open.file, 0, HEAD)?;
            tail.open = Some(open);
        }
        Ok(tail)
    }

    /// The path followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The byte offset the next poll reads from, while the file is open.
    pub fn offset(&self) -> Option<u64> {
        self.open.as_ref().map(|open| open.offset)
    }

    /// Reads what is new into `out` (whole lines only, each ending in a
    /// newline) and says what happened to the file. A last line without
    /// its newline is held back until it gets one, or until it has waited
    /// `partial_timeout`, then handed out as it is.
    ///
    /// # Errors
    ///
    /// When the file cannot be read; the next poll tries again.
    pub fn poll(&mut self, out: &mut Vec<u8>, partial_timeout: Duration) -> io::Result<Vec<TailEvent>> {
        let mut events = Vec::new();
        let by_name = fs::metadata(&self.path).ok().filter(|m| m.is_file());
        if self.open.is_none() {
            if by_name.is_none() {
                return Ok(events);
            }
            self.open = Some(OpenFile::open(&self.path)?);
            self.deleted = false;
            events.push(TailEvent::Appeared);
        }
        if let Some(open) = &mut self.open {
            let size = open.file.metadata()?.len();
            if size < open.offset {
                events.push(TailEvent::Truncated);
                open.restart();
                self.carry.clear();
            } else if open.offset > 0 && !open.head.is_empty() {
                let now = read_at(&open.file, 0, open.head.len())?;
                if now != open.head {
                    events.push(TailEvent::Rewritten);
                    open.restart();
                    self.carry.clear();
                }
            }
            open.read_to_end(&mut self.carry, out)?;
        }
        let replaced = match (&by_name, &self.open) {
            (Some(meta), Some(open)) => identity(meta) != open.identity,
            _ => false,
        };
        if by_name.is_none() && !self.deleted {
            self.deleted = true;
            events.push(TailEvent::Deleted);
        }
        if replaced {
            // The old file was read to its end above: its unfinished last
            // line will not be finished.
            self.flush_carry(out);
            let mut open = OpenFile::open(&self.path)?;
            open.read_to_end(&mut self.carry, out)?;
            self.open = Some(open);
            self.deleted = false;
            events.push(TailEvent::Rotated);
        }
        if self.carry.is_empty() {
            self.carry_since = None;
        } else {
            let since = *self.carry_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= partial_timeout {
                self.flush_carry(out);
            }
        }
        Ok(events)
    }

    /// Hands out the held-back partial line, with a newline.
    fn flush_carry(&mut self, out: &mut Vec<u8>) {
        if !self.carry.is_empty() {
            out.append(&mut self.carry);
            out.push(b'\n');
        }
        self.carry_since = None;
    }
}

impl OpenFile {
    fn open(path: &Path) -> io::Result<OpenFile> {
        let file = File::open(path)?;
        let identity = identity(&file.metadata()?);
        Ok(OpenFile { file, identity, offset: 0, head: Vec::new() })
    }

    fn restart(&mut self) {
        self.offset = 0;
        self.head.clear();
    }

    /// Reads from `offset` to the end: whole lines go to `out`, the bytes
    /// after the last newline stay in `carry` (in front of which the
    /// previous partial line already waits).
    fn read_to_end(&mut self, carry: &mut Vec<u8>, out: &mut Vec<u8>) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match self.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if self.head.len() < HEAD && self.offset < HEAD as u64 {
                let start = self.offset as usize;
                if start == self.head.len() {
                    self.head.extend_from_slice(&buf[..n.min(HEAD - start)]);
                }
            }
            self.offset += n as u64;
            carry.extend_from_slice(&buf[..n]);
            if let Some(last) = memchr::memrchr(b'\n', carry) {
                out.extend_from_slice(&carry[..=last]);
                carry.drain(..=last);
            }
        }
        Ok(())
    }
}

/// Device and inode: what tells a replaced file from the same one.
#[cfg(unix)]
fn identity(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// Without inodes a replaced file is noticed only by a changed start.
#[cfg(not(unix))]
fn identity(_meta: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// Up to `len` bytes of `file` from `offset`.
fn read_at(file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut file = file;
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn poll(tail: &mut Tail) -> (String, Vec<TailEvent>) {
        let mut out = Vec::new();
        let events = tail.poll(&mut out, Duration::from_secs(3600)).unwrap();
        (String::from_utf8(out).unwrap(), events)
    }

    fn append(path: &Path, text: &str) {
        fs::OpenOptions::new().append(true).create(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn appends_rotation_truncation_rewrite_and_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        fs::write(&path, "old 1\nold 2\n").unwrap();
        let mut tail = Tail::new(&path, Start::End).unwrap();
        assert_eq!(poll(&mut tail), (String::new(), vec![]));
        append(&path, "a\nb");
        assert_eq!(poll(&mut tail), ("a\n".to_owned(), vec![]));
        append(&path, "c\n");
        assert_eq!(poll(&mut tail).0, "bc\n");
        // Rotation: rename, a last write to the old file, a new file.
        fs::rename(&path, dir.path().join("access.log.1")).unwrap();
        append(&dir.path().join("access.log.1"), "late\n");
        fs::write(&path, "new 1\n").unwrap();
        assert_eq!(poll(&mut tail), ("late\nnew 1\n".to_owned(), vec![TailEvent::Rotated]));
        // copytruncate.
        fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
        append(&path, "x\n");
        assert_eq!(poll(&mut tail), ("x\n".to_owned(), vec![TailEvent::Truncated]));
        // Rewritten to a larger size with other first bytes.
        fs::write(&path, "rewritten 1\nrewritten 2\n").unwrap();
        assert_eq!(poll(&mut tail), ("rewritten 1\nrewritten 2\n".to_owned(), vec![TailEvent::Rewritten]));
        // Deleted, then back.
        fs::remove_file(&path).unwrap();
        assert_eq!(poll(&mut tail), (String::new(), vec![TailEvent::Deleted]));
        assert_eq!(poll(&mut tail), (String::new(), vec![]));
        fs::write(&path, "again\n").unwrap();
        assert_eq!(poll(&mut tail), ("again\n".to_owned(), vec![TailEvent::Rotated]));
    }

    #[test]
    fn a_file_that_appears_later_is_read_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.log");
        let mut tail = Tail::new(&path, Start::End).unwrap();
        assert_eq!(poll(&mut tail), (String::new(), vec![]));
        fs::write(&path, "first\n").unwrap();
        assert_eq!(poll(&mut tail), ("first\n".to_owned(), vec![TailEvent::Appeared]));
    }

    #[test]
    fn a_partial_line_waits_for_its_newline_up_to_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.log");
        fs::write(&path, "").unwrap();
        let mut tail = Tail::new(&path, Start::End).unwrap();
        append(&path, "half");
        let mut out = Vec::new();
        tail.poll(&mut out, Duration::from_secs(3600)).unwrap();
        assert!(out.is_empty());
        tail.poll(&mut out, Duration::ZERO).unwrap();
        assert_eq!(out, b"half\n");
    }
}
