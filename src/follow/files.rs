//! Which bytes of the followed files are new. Files are followed by name,
//! as `tail -F` does, and in directories; each file is known by its
//! identity (device, inode and a print of its head), never by its name, so
//! that a file renamed by rotation is read on from where it was, never
//! again from its start:
//!
//! - a file under a new name (`access.log` → `access.log.1`) keeps its
//!   offset;
//! - a new file under a followed name, or new in a followed directory, is
//!   read from its start;
//! - a file shorter than what was read (`copytruncate`), or whose head
//!   changed (rewritten in place), is read again from its start;
//! - a file that no followed name or directory holds any more is read to
//!   its end, last line included, and let go;
//! - a compressed file is read once, when it is complete (not while gzip is
//!   still writing it); one whose decoded head is that of a file already
//!   read is a rotated copy: only what was not read of it is read.
//!
//! A check only looks (stat, list); the follower reads.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::fs::{self, File, Metadata};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::input::fingerprint::EDGE;
use crate::input::identity::{FileId, HeadPrint, decoded_head, raw_head};
use crate::input::{self, Source, compression_of};

/// Files read to their end and let go that are remembered, so that their
/// compressed copies are recognised.
const RETIRED_KEPT: usize = 1024;

/// A file being followed.
#[derive(Debug)]
pub struct Tracked {
    /// The follower's input it counts in.
    pub input: usize,
    /// The name it was last seen under.
    pub name: PathBuf,
    /// The name it was first found under: a new file there is the next
    /// file of that name, never a copy of this one.
    born_as: PathBuf,
    /// It, open: read on after a rename or deletion.
    pub file: Arc<File>,
    id: FileId,
    /// A print of its first bytes (up to 4 KiB), to notice a rewrite.
    head: HeadPrint,
    /// Where the whole lines read end: the next read starts here.
    pub offset: u64,
    /// Its size when it was last read: a file that has not changed since
    /// is not read again (its unfinished last line is not read again).
    pub read_size: u64,
    /// Its size at the last check.
    pub size: u64,
    /// The explicitly followed name it came under, if any: while that name
    /// is missing the file is still read.
    by_name: Option<PathBuf>,
    seen: bool,
}

impl Tracked {
    /// Whether there is something to read since the last read.
    pub fn changed(&self) -> bool {
        self.size != self.read_size
    }

    /// Takes note of a read that ended at `offset` with the file at
    /// `size`, and of its head when it was shorter than a print covers.
    pub fn read_to(&mut self, offset: u64, size: u64) {
        self.offset = offset;
        self.read_size = size;
        if (self.head.len as usize) < EDGE
            && let Ok(head) = raw_head(&self.file)
        {
            self.head = HeadPrint::of(&head);
        }
    }

    /// The identity of the file and of its head, for a checkpoint.
    pub fn identity(&self) -> (FileId, HeadPrint) {
        (self.id, self.head)
    }
}

/// A file read to its end and let go.
#[derive(Clone, Debug)]
pub struct Retired {
    /// Its head.
    pub head: HeadPrint,
    /// The decoded bytes read of it.
    pub offset: u64,
    /// The name it was first found under.
    pub born_as: PathBuf,
}

/// What a check found.
#[derive(Debug)]
pub enum Found {
    /// A file not followed before, at `path`: the follower decides where
    /// to start and calls [`Files::track`]. `copy_of`: it starts as a file
    /// let go did, of which this much was read.
    New {
        path: PathBuf,
        file: File,
        meta: Box<Metadata>,
        head: Vec<u8>,
        by_name: Option<PathBuf>,
        copy_of: Option<u64>,
    },
    /// A complete compressed file to read once, from decoded byte `start`
    /// (after what was read of the file it is a copy of).
    Compressed { path: PathBuf, start: u64 },
    /// A compressed copy of the file of `input`, being followed: nothing
    /// to read.
    Copy { path: PathBuf, input: usize },
    /// A tracked file that was renamed.
    Renamed { input: usize, to: PathBuf },
    /// A tracked file that was truncated or rewritten: read again from its
    /// start. `before`: what it held, which may live on as a copy.
    Restarted { input: usize, truncated: bool, before: Retired },
    /// A tracked file whose followed name is missing (deleted or renamed
    /// out of sight): read on until a new file takes the name.
    Missing { input: usize },
    /// A tracked file no followed name or directory holds: read it to its
    /// end, last line included, then [`Files::retire`] it.
    Gone { input: usize },
}

/// The followed names and directories, and the files found under them.
#[derive(Debug, Default)]
pub struct Files {
    names: Vec<PathBuf>,
    directories: Vec<PathBuf>,
    hidden: bool,
    /// The files followed.
    pub tracked: Vec<Tracked>,
    retired: VecDeque<Retired>,
    /// Compressed files dealt with (read, or copies), by identity and
    /// size, not looked at again.
    settled: HashSet<(FileId, u64)>,
    /// Young compressed files not taken yet, with their size and
    /// modification time at the last check: one is taken once they did not
    /// change between two checks and it decodes to its end.
    waiting: BTreeMap<PathBuf, (u64, Option<SystemTime>)>,
}

impl Files {
    /// Follows the files `names` and the files in `directories` (hidden
    /// ones too when `hidden`).
    pub fn new(names: Vec<PathBuf>, directories: Vec<PathBuf>, hidden: bool) -> Files {
        Files { names, directories, hidden, ..Files::default() }
    }

    /// Whether any name or directory is followed.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.directories.is_empty()
    }

    /// The names and directories followed, for filesystem watches.
    pub fn watched(&self) -> Vec<PathBuf> {
        let parents = self.names.iter().map(|name| match name.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        });
        parents.chain(self.directories.iter().cloned()).collect()
    }

    /// Compressed copies are recognised by the decoded head of these
    /// files too (read by an earlier run).
    pub fn remember(&mut self, retired: Retired) {
        if self.retired.len() == RETIRED_KEPT {
            self.retired.pop_front();
        }
        self.retired.push_back(retired);
    }

    /// Looks at every followed name and directory: what is new, renamed,
    /// restarted or gone.
    pub fn check(&mut self) -> Vec<Found> {
        let mut found = Vec::new();
        for tracked in &mut self.tracked {
            tracked.seen = false;
        }
        let mut paths: Vec<(PathBuf, Option<PathBuf>)> =
            self.names.iter().map(|name| (name.clone(), Some(name.clone()))).collect();
        for directory in &self.directories {
            let (files, _) = input::expand(vec![Source::File(directory.clone())], self.hidden);
            paths.extend(files.into_iter().filter_map(|file| match file {
                Source::File(path) => Some((path, None)),
                Source::Stdin | Source::Object(_) => None,
            }));
        }
        let mut missing_names = BTreeSet::new();
        let mut files = Vec::new();
        for (path, by_name) in paths {
            match fs::metadata(&path) {
                Ok(meta) if meta.is_file() => files.push((path, by_name, meta)),
                Ok(_) => {}
                Err(_) => {
                    if let Some(name) = by_name {
                        missing_names.insert(name);
                    }
                }
            }
        }
        // Files followed first: a truncation noticed lets the copy made
        // just before it (`copytruncate`) be known, whatever the names.
        let (known, mut new): (Vec<_>, Vec<_>) =
            files.into_iter().partition(|(_, _, meta)| self.tracked.iter().any(|t| t.id == FileId::of(meta)));
        // A listing taken while files are renamed can name one new file
        // twice: it is one file.
        let mut new_ids = HashSet::new();
        new.retain(|(_, _, meta)| new_ids.insert(FileId::of(meta)));
        for (path, by_name, meta) in known.into_iter().chain(new) {
            self.look_at(path, by_name, meta, &mut found);
        }
        self.waiting.retain(|path, _| path.exists());
        for tracked in &self.tracked {
            if tracked.seen {
                continue;
            }
            match &tracked.by_name {
                Some(name) if missing_names.contains(name) => found.push(Found::Missing { input: tracked.input }),
                _ => found.push(Found::Gone { input: tracked.input }),
            }
        }
        found
    }

    fn look_at(&mut self, path: PathBuf, by_name: Option<PathBuf>, meta: Metadata, found: &mut Vec<Found>) {
        let id = FileId::of(&meta);
        if let Some(tracked) = self.tracked.iter_mut().find(|t| t.id == id) {
            if tracked.seen {
                return;
            }
            tracked.seen = true;
            tracked.size = meta.len();
            if tracked.name != path && by_name.is_none() {
                tracked.name.clone_from(&path);
                found.push(Found::Renamed { input: tracked.input, to: path });
            }
            let rewritten = || raw_head(&tracked.file).is_ok_and(|head| !tracked.head.matches(&head));
            let truncated = meta.len() < tracked.offset;
            let restarted = truncated || tracked.offset > 0 && tracked.head.len > 0 && rewritten();
            if !restarted {
                return;
            }
            // What it held may live on as a copy (`copytruncate`): known by
            // its head, it is not read again.
            let before = Retired { head: tracked.head, offset: tracked.offset, born_as: tracked.born_as.clone() };
            found.push(Found::Restarted { input: tracked.input, truncated, before: before.clone() });
            tracked.offset = 0;
            tracked.read_size = u64::MAX;
            if let Ok(head) = raw_head(&tracked.file) {
                tracked.head = HeadPrint::of(&head);
            }
            self.remember(before);
            return;
        }
        if self.settled.contains(&(id, meta.len())) {
            return;
        }
        // An empty file is not known yet: gzip and cp create theirs empty,
        // and what it is shows once it has bytes.
        if meta.len() == 0 {
            return;
        }
        // The name may have moved on to another file since it was looked
        // at (a rotation): that one is looked at in the next check.
        let Ok(file) = File::open(&path) else { return };
        if !file.metadata().is_ok_and(|now| FileId::of(&now) == id) {
            return;
        }
        if !matches!(compression_of(&path), Ok(Some(_))) {
            let head = raw_head(&file).unwrap_or_default();
            // A copy of a file followed or let go (`copytruncate`'s
            // `access.log.1`, seen before or after the truncation) starts
            // after what was read of it.
            // Not one at the name the file was found under: that is the
            // next file of the name, which may start as the last one did.
            let of_tracked = self.tracked.iter().find(|t| t.head.matches(&head) && t.born_as != path);
            let of_retired = || self.retired.iter().rev().find(|r| r.head.matches(&head) && r.born_as != path);
            let copy_of = of_tracked.map(|t| t.offset).or_else(|| of_retired().map(|r| r.offset));
            found.push(Found::New { path, file, meta: Box::new(meta), head, by_name, copy_of });
            return;
        }
        if !self.complete(&path, &meta) {
            return;
        }
        self.waiting.remove(&path);
        self.settled.insert((id, meta.len()));
        let head = decoded_head(&Source::File(path.clone()), &file, EDGE).unwrap_or_default();
        if let Some(of) = self.tracked.iter().find(|t| t.head.matches(&head)) {
            found.push(Found::Copy { path, input: of.input });
            return;
        }
        let start = self.retired.iter().rev().find(|r| r.head.matches(&head)).map_or(0, |r| r.offset);
        found.push(Found::Compressed { path, start });
    }

    /// Follows `file`, found by a check, from `offset` in the follower's
    /// input `input`.
    pub fn track(
        &mut self,
        input: usize,
        path: PathBuf,
        file: File,
        meta: &Metadata,
        offset: u64,
        by_name: Option<PathBuf>,
    ) {
        let head = raw_head(&file).map(|head| HeadPrint::of(&head)).unwrap_or(HeadPrint::of(b""));
        let size = meta.len();
        self.tracked.push(Tracked {
            input,
            born_as: path.clone(),
            name: path,
            file: Arc::new(file),
            id: FileId::of(meta),
            head,
            offset,
            read_size: if offset == size { size } else { u64::MAX },
            size,
            by_name,
            seen: true,
        });
    }

    /// Lets go of the file of `input`, read to its end.
    pub fn retire(&mut self, input: usize) {
        if let Some(at) = self.tracked.iter().position(|t| t.input == input) {
            let tracked = self.tracked.remove(at);
            self.remember(Retired { head: tracked.head, offset: tracked.offset, born_as: tracked.born_as });
        }
    }

    /// The tracked file of `input`.
    pub fn of_input(&mut self, input: usize) -> Option<&mut Tracked> {
        self.tracked.iter_mut().find(|t| t.input == input)
    }

    /// Whether a compressed file was seen still being written.
    pub fn waiting(&self) -> impl Iterator<Item = &PathBuf> {
        self.waiting.keys()
    }

    /// Whether the compressed file at `path` is complete: not changed for a
    /// minute, or not changed since the last check and decoding to its end
    /// without damage (gzip still writing it leaves it truncated). A file
    /// being written is decoded at most once per change that then stops.
    fn complete(&mut self, path: &Path, meta: &Metadata) -> bool {
        if !input::changed_lately(meta) {
            return true;
        }
        let stamp = (meta.len(), meta.modified().ok());
        let steady = self.waiting.insert(path.to_owned(), stamp) == Some(stamp);
        steady && decodes_whole(path, meta)
    }
}

/// Whether the compressed file at `path` decodes to its end without damage
/// and kept its size meanwhile.
fn decodes_whole(path: &Path, meta: &Metadata) -> bool {
    let Ok(file) = File::open(path) else { return false };
    input::decodes_whole(&Source::File(path.to_owned()), &file)
        && fs::metadata(path).is_ok_and(|now| now.len() == meta.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn kinds(found: &[Found]) -> Vec<String> {
        found
            .iter()
            .map(|f| match f {
                Found::New { path, .. } => format!("new {}", name(path)),
                Found::Compressed { path, start } => format!("compressed {} from {start}", name(path)),
                Found::Copy { path, .. } => format!("copy {}", name(path)),
                Found::Renamed { input, to } => format!("renamed {input} to {}", name(to)),
                Found::Restarted { input, truncated, .. } => format!("restarted {input} {truncated}"),
                Found::Missing { input } => format!("missing {input}"),
                Found::Gone { input } => format!("gone {input}"),
            })
            .collect()
    }

    fn name(path: &Path) -> String {
        path.file_name().unwrap().to_string_lossy().into_owned()
    }

    /// Tracks every new file found, from its end, as input 0, 1, …
    fn check(files: &mut Files) -> Vec<String> {
        let found = files.check();
        let described = kinds(&found);
        for f in found {
            if let Found::New { path, file, meta, by_name, .. } = f {
                let input = files.tracked.len();
                files.track(input, path, file, &meta, meta.len(), by_name);
            }
        }
        described
    }

    fn gzip(path: &Path, text: &[u8]) {
        let mut gz = flate2::write::GzEncoder::new(File::create(path).unwrap(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        gz.finish().unwrap();
    }

    #[test]
    fn rotation_in_a_directory_renames_the_file_it_does_not_find_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        fs::write(&log, "a\n").unwrap();
        let mut files = Files::new(Vec::new(), vec![dir.path().to_owned()], false);
        assert_eq!(check(&mut files), ["new access.log"]);
        assert_eq!(check(&mut files), Vec::<String>::new());
        fs::rename(&log, dir.path().join("access.log.1")).unwrap();
        fs::write(&log, "").unwrap();
        // The new file is empty: not known until it has bytes.
        assert_eq!(check(&mut files), ["renamed 0 to access.log.1"]);
        // Compressed: the copy of a file followed is not read.
        gzip(&dir.path().join("access.log.1.gz"), b"a\n");
        // A young compressed file is taken once it stays the same between
        // two checks.
        assert_eq!(check(&mut files), Vec::<String>::new());
        assert_eq!(check(&mut files), ["copy access.log.1.gz"]);
        fs::remove_file(dir.path().join("access.log.1")).unwrap();
        assert_eq!(check(&mut files), ["gone 0"]);
        files.retire(0);
        assert_eq!(check(&mut files), Vec::<String>::new());
    }

    #[test]
    fn a_compressed_copy_of_a_file_let_go_is_read_after_what_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Files::new(Vec::new(), vec![dir.path().to_owned()], false);
        files.remember(Retired {
            head: HeadPrint::of(b"line 1\nline 2\n"),
            offset: 14,
            born_as: dir.path().join("old.log"),
        });
        gzip(&dir.path().join("old.log.2.gz"), b"line 1\nline 2\nline 3\n");
        gzip(&dir.path().join("other.log.gz"), b"other\n");
        assert_eq!(check(&mut files), Vec::<String>::new());
        assert_eq!(check(&mut files), ["compressed old.log.2.gz from 14", "compressed other.log.gz from 0"]);
        assert_eq!(check(&mut files), Vec::<String>::new());
    }

    #[test]
    fn a_gzip_file_still_being_written_waits_until_it_is_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log.1.gz");
        let mut whole = Vec::new();
        let mut gz = flate2::write::GzEncoder::new(&mut whole, flate2::Compression::fast());
        gz.write_all(&b"{\"status\":200}\n".repeat(1000)).unwrap();
        gz.finish().unwrap();
        fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        let mut files = Files::new(Vec::new(), vec![dir.path().to_owned()], false);
        assert_eq!(check(&mut files), Vec::<String>::new());
        assert_eq!(files.waiting().count(), 1);
        fs::write(&path, &whole).unwrap();
        // Taken once it stays the same between two checks.
        assert_eq!(check(&mut files), Vec::<String>::new());
        assert_eq!(check(&mut files), ["compressed access.log.1.gz from 0"]);
    }

    #[test]
    fn truncation_rewrite_and_a_name_missing_then_taken_by_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        fs::write(&log, "first line\nsecond line\n").unwrap();
        let mut files = Files::new(vec![log.clone()], Vec::new(), false);
        assert_eq!(check(&mut files), ["new app.log"]);
        fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
        assert_eq!(check(&mut files), ["restarted 0 true"]);
        fs::write(&log, "other line!\n").unwrap();
        files.tracked[0].read_to(12, 12);
        fs::write(&log, "rewritten!!\nand longer\n").unwrap();
        assert_eq!(check(&mut files), ["restarted 0 false"]);
        fs::remove_file(&log).unwrap();
        assert_eq!(check(&mut files), ["missing 0"]);
        fs::write(&log, "new\n").unwrap();
        assert_eq!(check(&mut files), ["new app.log", "gone 0"]);
    }
}
