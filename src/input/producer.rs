//! A thread that produces an input's bytes (decompression, JSON document
//! unwrapping) and hands them to the scan in chunks over a bounded channel,
//! so that producing and scanning overlap in bounded memory.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Bytes handed over at a time.
const CHUNK: usize = 1 << 20;

/// Chunks waiting to be read; with the chunk being filled and the one being
/// read this bounds memory at four chunks per producer.
const CHUNKS_IN_FLIGHT: usize = 2;

/// Runs `produce` on a thread named after `what`, and returns a reader of
/// what it writes. An error ends the stream after the bytes written before
/// it; the reader then returns the error once.
pub fn spawn(
    what: &str,
    produce: impl FnOnce(&mut ChunkSink) -> io::Result<()> + Send + 'static,
) -> Box<dyn Read + Send> {
    let (chunks_tx, chunks_rx) = sync_channel::<io::Result<Vec<u8>>>(CHUNKS_IN_FLIGHT);
    let (spare_tx, spare_rx) = sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT + 1);
    let spawned = std::thread::Builder::new().name(format!("cts-logscan-{what}")).spawn(move || {
        let mut sink = ChunkSink { chunks: chunks_tx, spare: spare_rx, chunk: Vec::new(), filled: 0 };
        let outcome = produce(&mut sink).and_then(|()| sink.flush());
        if let Err(e) = outcome {
            let _ = sink.flush();
            let _ = sink.chunks.send(Err(e));
        }
    });
    match spawned {
        Ok(_) => Box::new(ChunkReader { chunks: chunks_rx, spare: spare_tx, current: Vec::new(), pos: 0 }),
        Err(e) => Box::new(FailedRead(Some(e))),
    }
}

/// Where a producer writes; sends a chunk whenever one is full.
pub struct ChunkSink {
    chunks: SyncSender<io::Result<Vec<u8>>>,
    spare: Receiver<Vec<u8>>,
    /// `CHUNK` bytes long while in use; the first `filled` are data.
    chunk: Vec<u8>,
    filled: usize,
}

impl ChunkSink {
    /// The unfilled part of the current chunk, never empty.
    fn space(&mut self) -> &mut [u8] {
        if self.chunk.is_empty() {
            self.chunk = self.spare.try_recv().unwrap_or_default();
            self.chunk.resize(CHUNK, 0);
        }
        &mut self.chunk[self.filled..]
    }

    /// Copies all of `rdr` straight into chunks, with large reads and no
    /// intermediate buffer.
    pub fn copy_from(&mut self, rdr: &mut impl Read) -> io::Result<()> {
        loop {
            let read = self.write_with(|space| match rdr.read(space) {
                Ok(n) => (n, Ok(n)),
                Err(e) => (0, Err(e)),
            })?;
            match read {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Lets `produce` write straight into the unfilled part of the current
    /// chunk (never empty): it returns how many bytes it wrote there, and
    /// a value passed back (a decoder's outcome, so that the bytes it
    /// produced before it found damage are kept).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::BrokenPipe`] when the scan stopped reading.
    pub fn write_with<T>(&mut self, produce: impl FnOnce(&mut [u8]) -> (usize, T)) -> io::Result<T> {
        let (n, value) = produce(self.space());
        self.filled += n;
        if self.filled == CHUNK {
            self.flush()?;
        }
        Ok(value)
    }
}

impl Write for ChunkSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let space = self.space();
        let n = buf.len().min(space.len());
        space[..n].copy_from_slice(&buf[..n]);
        self.filled += n;
        if self.filled == CHUNK {
            self.flush()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.filled == 0 {
            return Ok(());
        }
        let mut full = std::mem::take(&mut self.chunk);
        full.truncate(std::mem::take(&mut self.filled));
        self.chunks
            .send(Ok(full))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the scan stopped reading this input"))
    }
}

/// Reads the chunks a producer sends.
struct ChunkReader {
    chunks: Receiver<io::Result<Vec<u8>>>,
    spare: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            match self.chunks.recv() {
                Ok(Ok(chunk)) => {
                    let mut used = std::mem::replace(&mut self.current, chunk);
                    used.clear();
                    let _ = self.spare.try_send(used);
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The producing thread could not be started; reading says why, once.
struct FailedRead(Option<io::Error>);

impl Read for FailedRead {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}
