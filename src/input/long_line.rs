//! What is kept of a line too long to read: the bytes around the first few
//! occurrences of `error_code` (the key of an error body), found while the
//! line streams past and is dropped.
//!
//! Memory stays bounded whatever the line's length: the last [`CONTEXT`]
//! bytes fed (and a key's length), and the bytes within [`CONTEXT`] of
//! each of the first [`MAX_WINDOWS`] occurrences. A key cut by the edge of
//! a chunk is found all the same.

use std::ops::Range;

use memchr::memmem::Finder;

use crate::extract::ERROR_CODE_KEY;

/// Bytes kept on each side of a key.
pub const CONTEXT: usize = 2 << 10;

/// How many occurrences of the key are kept with their context.
pub const MAX_WINDOWS: usize = 4;

/// What the block reader keeps of a line longer than the cap that a block
/// happens to hold whole (blocks larger than the cap): the same sample as
/// if it had been skipped, so that the report does not depend on the
/// block size.
pub fn long_line_sample(line: &[u8]) -> Vec<u8> {
    let mut windows = KeyWindows::default();
    windows.feed(line);
    windows.finish()
}

/// Collects the windows around `error_code` in a line fed chunk by chunk.
///
/// Positions below are absolute: bytes since the start of the line.
#[derive(Debug)]
pub struct KeyWindows {
    finder: Finder<'static>,
    /// Bytes fed so far.
    fed: u64,
    /// The last bytes fed, [`CONTEXT`] and a key's length (they end at
    /// `fed`).
    recent: Vec<u8>,
    /// The kept bytes: windows that overlap are merged, others separated
    /// by a `\n` (a byte no line holds).
    sample: Vec<u8>,
    /// Occurrences kept so far.
    windows: usize,
    /// Where the kept bytes end, and where the last window wants them to.
    kept_to: u64,
    wanted_to: u64,
}

impl Default for KeyWindows {
    /// A collector for windows around [`ERROR_CODE_KEY`].
    fn default() -> Self {
        KeyWindows {
            finder: Finder::new(ERROR_CODE_KEY),
            fed: 0,
            recent: Vec::new(),
            sample: Vec::new(),
            windows: 0,
            kept_to: 0,
            wanted_to: 0,
        }
    }
}

impl KeyWindows {
    /// Takes the next bytes of the line.
    ///
    /// # Complexity
    ///
    /// One `memmem` pass over `chunk` while windows are wanted, and copies
    /// of at most `CONTEXT` bytes.
    pub fn feed(&mut self, chunk: &[u8]) {
        let view = View { recent: &self.recent, chunk, start: self.fed - self.recent.len() as u64 };
        let end = self.fed + chunk.len() as u64;
        // The last window takes what it still wants.
        let to = self.wanted_to.min(end);
        if self.kept_to < to {
            view.copy(self.kept_to..to, &mut self.sample);
            self.kept_to = to;
        }
        if self.windows < MAX_WINDOWS {
            let needle = self.finder.needle().len();
            let tail = &self.recent[self.recent.len() - (needle - 1).min(self.recent.len())..];
            let edge = [tail, &chunk[..chunk.len().min(needle - 1)]].concat();
            let straddling = self
                .finder
                .find_iter(&edge)
                .filter(|&at| at < tail.len())
                .map(|at| self.fed - (tail.len() - at) as u64);
            let inside = self.finder.find_iter(chunk).map(|at| self.fed + at as u64);
            for hit in straddling.chain(inside) {
                if self.windows == MAX_WINDOWS {
                    break;
                }
                let mut from = hit.saturating_sub(CONTEXT as u64).max(view.start);
                if self.windows > 0 {
                    if from > self.kept_to {
                        self.sample.push(b'\n');
                    } else {
                        from = self.kept_to;
                    }
                }
                self.windows += 1;
                self.wanted_to = hit + CONTEXT as u64;
                let to = self.wanted_to.min(end);
                view.copy(from..to, &mut self.sample);
                self.kept_to = to;
            }
        }
        self.remember(chunk);
    }

    /// The kept bytes, windows separated by `\n`; empty when the key never
    /// appeared.
    pub fn finish(self) -> Vec<u8> {
        self.sample
    }

    /// Keeps the last bytes fed: the context before a key that starts
    /// in the next chunk or straddles its edge.
    fn remember(&mut self, chunk: &[u8]) {
        let history = CONTEXT + self.finder.needle().len();
        self.fed += chunk.len() as u64;
        let keep_old = history.saturating_sub(chunk.len()).min(self.recent.len());
        self.recent.drain(..self.recent.len() - keep_old);
        self.recent.extend_from_slice(&chunk[chunk.len() - chunk.len().min(history)..]);
    }
}

/// `recent ++ chunk`, which starts at the absolute position `start`.
struct View<'a> {
    recent: &'a [u8],
    chunk: &'a [u8],
    start: u64,
}

impl View<'_> {
    /// Appends the bytes at the absolute positions `range` to `out`.
    fn copy(&self, range: Range<u64>, out: &mut Vec<u8>) {
        let from = (range.start - self.start) as usize;
        let to = (range.end - self.start) as usize;
        let split = self.recent.len();
        if from < split {
            out.extend_from_slice(&self.recent[from..to.min(split)]);
        }
        if to > split {
            out.extend_from_slice(&self.chunk[from.max(split) - split..to - split]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `line` in chunks of `chunk` bytes.
    fn sample(line: &[u8], chunk: usize) -> Vec<u8> {
        let mut windows = KeyWindows::default();
        for piece in line.chunks(chunk.max(1)) {
            windows.feed(piece);
        }
        windows.finish()
    }

    /// The same, from the whole line at once: each of the first
    /// [`MAX_WINDOWS`] occurrences keeps `CONTEXT` bytes either side, and
    /// windows that overlap or touch merge.
    fn naive_sample(line: &[u8]) -> Vec<u8> {
        let hits: Vec<usize> = memchr::memmem::find_iter(line, b"error_code").take(MAX_WINDOWS).collect();
        let mut ranges: Vec<Range<usize>> = Vec::new();
        for hit in hits {
            let range = hit.saturating_sub(CONTEXT)..(hit + CONTEXT).min(line.len());
            match ranges.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => ranges.push(range),
            }
        }
        ranges.iter().map(|r| &line[r.clone()]).collect::<Vec<_>>().join(&b'\n')
    }

    #[test]
    fn a_key_anywhere_keeps_its_context_whatever_the_chunks() {
        let mut line = vec![b'x'; 10_000];
        line[5_000..5_010].copy_from_slice(b"error_code");
        let want = line[5_000 - CONTEXT..5_000 + CONTEXT].to_vec();
        for chunk in [1, 3, 9, 10, 11, 4096, 5_005, 20_000] {
            assert_eq!(sample(&line, chunk), want, "chunk {chunk}");
        }
        assert!(sample(&[b'x'; 10_000], 7).is_empty());
    }

    #[test]
    fn memory_stays_bounded_on_a_line_of_keys() {
        let line = b"error_code".repeat(100_000);
        let kept = sample(&line, 4096);
        assert!(kept.len() <= MAX_WINDOWS * 2 * CONTEXT, "{}", kept.len());
        assert_eq!(kept, naive_sample(&line));
    }

    proptest! {
        #[test]
        fn chunked_equals_whole(
            parts in proptest::collection::vec(prop_oneof![
                Just(b"error_code".to_vec()), Just(b"error_".to_vec()), Just(b"code".to_vec()),
                proptest::collection::vec(b'a'..=b'z', 0..3000)], 0..12),
            chunk in 1usize..6000,
        ) {
            let line = parts.concat();
            prop_assert_eq!(sample(&line, chunk), naive_sample(&line));
        }
    }
}
