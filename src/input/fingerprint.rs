//! What tells two inputs apart without keeping them: their size and a hash
//! of their first and last bytes. Merging states uses it to refuse counting
//! one input twice, whatever path it was read under.

/// Bytes hashed at each end of an input.
pub const EDGE: usize = 4096;

/// Collects the first and last [`EDGE`] bytes of a stream as it is read.
#[derive(Clone, Debug, Default)]
pub struct Fingerprinter {
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Fingerprinter {
    /// Takes note of the next bytes of the stream.
    ///
    /// # Complexity
    ///
    /// O(min(`bytes.len()`, 2 × [`EDGE`])): at most a few KiB are copied
    /// per call, whatever its size.
    pub fn update(&mut self, bytes: &[u8]) {
        if self.head.len() < EDGE {
            let take = (EDGE - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
        }
        if bytes.len() >= EDGE {
            self.tail.clear();
            self.tail.extend_from_slice(&bytes[bytes.len() - EDGE..]);
        } else {
            self.tail.extend_from_slice(bytes);
            if self.tail.len() > 2 * EDGE {
                self.tail.drain(..self.tail.len() - EDGE);
            }
        }
    }

    /// The fingerprint of what was seen: 64-bit FNV-1a over the first and
    /// the last [`EDGE`] bytes, as 16 hex digits.
    pub fn finish(&self) -> String {
        let tail = &self.tail[self.tail.len().saturating_sub(EDGE)..];
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for &byte in self.head.iter().chain(&[0xff]).chain(tail) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(chunks: &[&[u8]]) -> String {
        let mut f = Fingerprinter::default();
        chunks.iter().for_each(|c| f.update(c));
        f.finish()
    }

    #[test]
    fn any_chunking_gives_the_same_fingerprint() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = fingerprint(&[&data]);
        let pieces: Vec<&[u8]> = data.chunks(333).collect();
        assert_eq!(fingerprint(&pieces), whole);
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(fingerprint(&bytes), whole);
        assert_ne!(fingerprint(&[&data[1..]]), whole);
        assert_ne!(fingerprint(&[b"a\n"]), fingerprint(&[b"b\n"]));
    }
}
