//! What makes a file the same file under another name, or another file
//! under the same name: its device and inode, and a fingerprint of its
//! head (decoded, for a compressed file), since inodes are reused and a
//! file's first bytes change when it is truncated and written again.

use std::fs::{File, Metadata};
use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use super::fingerprint::EDGE;
use crate::input::{Source, decode};

/// Device and inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileId {
    /// The device the file is on.
    pub dev: u64,
    /// Its inode on that device.
    pub ino: u64,
}

impl FileId {
    /// The identity of the file `meta` describes.
    #[cfg(unix)]
    pub fn of(meta: &Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId { dev: meta.dev(), ino: meta.ino() }
    }

    /// Without inodes only the head tells files apart.
    #[cfg(not(unix))]
    pub fn of(_meta: &Metadata) -> FileId {
        FileId { dev: 0, ino: 0 }
    }
}

/// A fingerprint of a file's first bytes (up to [`EDGE`]), with how many
/// it covers: a file that has grown since still matches on those.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadPrint {
    /// Bytes covered.
    pub len: u32,
    /// 64-bit FNV-1a of them, as 16 hex digits in the checkpoint.
    #[serde(with = "hex")]
    pub hash: u64,
}

impl HeadPrint {
    /// The print of `head`'s first [`EDGE`] bytes.
    pub fn of(head: &[u8]) -> HeadPrint {
        let head = &head[..head.len().min(EDGE)];
        HeadPrint { len: head.len() as u32, hash: fnv(head) }
    }

    /// Whether a file starting with `head` starts with the bytes this
    /// print was taken of. An empty print matches nothing: an empty file
    /// has no identity to recognise.
    pub fn matches(&self, head: &[u8]) -> bool {
        let len = self.len as usize;
        len > 0 && head.len() >= len && fnv(&head[..len]) == self.hash
    }
}

/// The first [`EDGE`] bytes of `file` as stored (compressed bytes for a
/// compressed file), read from its start without moving its position.
///
/// # Errors
///
/// When it cannot be read.
pub fn raw_head(file: &File) -> io::Result<Vec<u8>> {
    read_start(file.try_clone()?, EDGE)
}

/// The first `len` decoded bytes of the input `source` open as `file`:
/// those of its lines, whatever its compression.
///
/// # Errors
///
/// When it cannot be read or decoded.
pub fn decoded_head(source: &Source, file: &File, len: usize) -> io::Result<Vec<u8>> {
    let mut file = file.try_clone()?;
    use std::io::Seek;
    file.seek(io::SeekFrom::Start(0))?;
    let opened = decode::open(source, Some(Box::new(file)))?;
    let mut head = Vec::with_capacity(len);
    // A damaged stream's decoded start is still its start.
    let _ = opened.rdr.take(len as u64).read_to_end(&mut head);
    Ok(head)
}

fn read_start(mut file: File, len: usize) -> io::Result<Vec<u8>> {
    use std::io::Seek;
    let at = file.stream_position()?;
    file.seek(io::SeekFrom::Start(0))?;
    let mut head = Vec::with_capacity(len);
    (&mut file).take(len as u64).read_to_end(&mut head)?;
    file.seek(io::SeekFrom::Start(at))?;
    Ok(head)
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

mod hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hash: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{hash:016x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let text = String::deserialize(deserializer)?;
        u64::from_str_radix(&text, 16).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_print_matches_the_file_grown_and_nothing_else() {
        let print = HeadPrint::of(b"line 1\n");
        assert!(print.matches(b"line 1\n"));
        assert!(print.matches(b"line 1\nline 2\n"));
        assert!(!print.matches(b"line 1"));
        assert!(!print.matches(b"line 9\n"));
        assert!(!HeadPrint::of(b"").matches(b""));
        let long = vec![b'x'; 3 * EDGE];
        assert_eq!(HeadPrint::of(&long).len as usize, EDGE);
        assert!(HeadPrint::of(&long).matches(&long[..EDGE]));
    }

    #[test]
    fn the_decoded_head_of_a_gzip_file_is_that_of_its_lines() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log.gz");
        let mut gz = GzEncoder::new(File::create(&path).unwrap(), Compression::fast());
        gz.write_all(b"hello\nworld\n").unwrap();
        gz.finish().unwrap();
        let file = File::open(&path).unwrap();
        assert_eq!(decoded_head(&Source::File(path.clone()), &file, EDGE).unwrap(), b"hello\nworld\n");
        assert_eq!(&raw_head(&file).unwrap()[..2], &[0x1f, 0x8b]);
    }

    #[test]
    fn print_round_trips_through_json() {
        let print = HeadPrint::of(b"abc\n");
        let json = serde_json::to_string(&print).unwrap();
        assert!(json.contains("\"hash\":\""), "{json}");
        assert_eq!(serde_json::from_str::<HeadPrint>(&json).unwrap(), print);
    }
}
