//! Pipes followed until they end (stdin, FIFOs): each is read on a thread
//! of its own by the one block reader, which hands its blocks over a
//! bounded channel. A line is never split however long its writer stalls,
//! and when the follower stops, the reader sees the end of its input, so an
//! unfinished last line is counted as a batch scan of the same bytes
//! counts it.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::Duration;

use crate::error::Error;
use crate::input::{Block, BlockReader, Handle, InputStats, ReaderOptions, Source, Span};

/// Blocks waiting for the follower: with the one being filled and the one
/// being scanned, memory is bounded by four blocks per stream.
const BLOCKS_IN_FLIGHT: usize = 2;

/// How often a stalled read looks whether it should stop.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// What a stream's thread hands over.
pub enum Message {
    /// The next block of lines.
    Block(Block),
    /// The stream ended: what was read, and why it stopped early, if so.
    End(Box<InputStats>, Option<Error>),
}

/// A pipe being read.
pub struct Stream {
    messages: Receiver<Message>,
    stop: Arc<AtomicBool>,
}

impl Stream {
    /// Starts reading `source` (stdin or a FIFO) on a thread; `wake` is
    /// sent after each block.
    pub fn spawn(source: Source, options: ReaderOptions, wake: SyncSender<()>) -> Stream {
        let (tx, messages) = mpsc::sync_channel(BLOCKS_IN_FLIGHT);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let read = move || {
            let raw = match open(&source, Arc::clone(&stopped)) {
                Ok(raw) => raw,
                Err(e) => {
                    let _ = tx.send(Message::End(Box::default(), Some(Error::open(&source, e))));
                    let _ = wake.try_send(());
                    return;
                }
            };
            let span = Span { handle: Some(Handle::Stream(raw)), ..Span::whole(source) };
            let mut reader = BlockReader::spans(vec![span], options);
            for block in reader.by_ref() {
                if tx.send(Message::Block(block)).is_err() {
                    return;
                }
                let _ = wake.try_send(());
            }
            let error = reader.take_errors().into_iter().next().map(|(_, e)| e);
            let stats = reader.stats().first().cloned().unwrap_or_default();
            let _ = tx.send(Message::End(Box::new(stats), error));
            let _ = wake.try_send(());
        };
        let spawned = std::thread::Builder::new().name("cts-logscan-stream".into()).spawn(read);
        if let Err(e) = spawned {
            let (tx, messages) = mpsc::sync_channel(1);
            let _ = tx.send(Message::End(Box::default(), Some(Error::read(&Source::Stdin, 0, e))));
            return Stream { messages, stop };
        }
        Stream { messages, stop }
    }

    /// The next message, if one is waiting.
    pub fn try_next(&self) -> Option<Message> {
        self.messages.try_recv().ok()
    }

    /// Tells the reader to end its input where it stands.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// The next message, waiting up to `timeout` for it.
    pub fn next_within(&self, timeout: Duration) -> Option<Message> {
        self.messages.recv_timeout(timeout).ok()
    }
}

/// The raw bytes of `source`, read so that `stop` ends them. Opening a
/// FIFO waits for its writer.
fn open(source: &Source, stop: Arc<AtomicBool>) -> io::Result<Box<dyn Read + Send>> {
    let file = match source {
        // A handle of its own, unbuffered: no byte waits in a buffer while
        // the descriptor looks idle.
        Source::Stdin => File::from(io::stdin().as_fd().try_clone_to_owned()?),
        Source::File(path) => File::open(path)?,
        Source::Object(_) => return Err(io::Error::new(io::ErrorKind::Unsupported, "an object is not a stream")),
    };
    Ok(Box::new(Stoppable { file, stop, reads_since_stop: 0 }))
}

/// A pipe whose reads end (as at the end of the input) once `stop` is set
/// and what it holds is read.
struct Stoppable {
    file: File,
    stop: Arc<AtomicBool>,
    /// Reads since `stop` was set: a writer that never pauses cannot keep
    /// the follower from stopping.
    reads_since_stop: u32,
}

/// Reads of what a pipe holds once stopped (a pipe holds at most 1 MiB).
const READS_WHEN_STOPPED: u32 = 64;

impl Read for Stoppable {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let timeout = Timespec { tv_sec: 0, tv_nsec: STOP_CHECK.as_nanos() as _ };
        let now = Timespec { tv_sec: 0, tv_nsec: 0 };
        loop {
            // Once stopped, what the pipe already holds is still read; its
            // end is where it stands.
            let stopping = self.stop.load(Ordering::Relaxed);
            if stopping {
                self.reads_since_stop += 1;
                if self.reads_since_stop > READS_WHEN_STOPPED {
                    return Ok(0);
                }
            }
            let mut fds = [PollFd::new(&self.file, PollFlags::IN)];
            match poll(&mut fds, Some(if stopping { &now } else { &timeout })) {
                Ok(0) if stopping => return Ok(0),
                Ok(0) => {}
                Ok(_) => return self.file.read(buf),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::BlockContent;
    use std::io::Write;

    fn fifo(dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("pipe");
        let status = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
        assert!(status.success());
        path
    }

    fn text(message: Message) -> Option<String> {
        match message {
            Message::Block(block) => match block.content {
                BlockContent::Lines(buf) => Some(String::from_utf8_lossy(buf.as_slice()).into_owned()),
                BlockContent::LongLine { .. } => Some("<long>".into()),
            },
            Message::End(..) => None,
        }
    }

    #[test]
    fn a_stalled_line_is_not_split_and_stopping_hands_out_the_unfinished_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = fifo(dir.path());
        let (wake, _woken) = mpsc::sync_channel(1);
        let stream = Stream::spawn(Source::File(path.clone()), ReaderOptions::default(), wake);
        let mut writer = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        writer.write_all(b"one\ntw").unwrap();
        writer.flush().unwrap();
        assert_eq!(stream.next_within(Duration::from_secs(10)).and_then(text).as_deref(), Some("one\n"));
        // However long the writer stalls, half a line is not a line.
        assert!(stream.next_within(Duration::from_millis(300)).is_none());
        writer.write_all(b"o\nthr").unwrap();
        assert_eq!(stream.next_within(Duration::from_secs(10)).and_then(text).as_deref(), Some("two\n"));
        stream.stop();
        assert_eq!(stream.next_within(Duration::from_secs(10)).and_then(text).as_deref(), Some("thr"));
        match stream.next_within(Duration::from_secs(10)) {
            Some(Message::End(stats, None)) => assert_eq!(stats.end, 11),
            _ => panic!("the stream did not end"),
        }
        drop(writer);
    }
}
