//! JSON documents that hold many records: a CTS `ListTraces` response
//! (`{"meta_data":{…},"traces":[…]}`) or a JSON array (a trace file as
//! transferred to object storage), on one line or pretty-printed. They are
//! turned into one compact JSON object per line, streaming element by
//! element on a thread of their own, so every format parser sees lines.
//! Anything else passes through untouched.

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::producer::{self, ChunkSink};
use crate::lex::text::strip_bom;

/// The input as lines: a JSON document unwrapped, or the input itself.
///
/// # Errors
///
/// When the first bytes cannot be read.
pub fn lines_of(rdr: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let mut rdr = BufReader::with_capacity(64 << 10, rdr);
    let head = rdr.fill_buf()?;
    if !is_document(strip_bom(head)) {
        return Ok(Box::new(rdr));
    }
    let bom = head.len() - strip_bom(head).len();
    rdr.consume(bom);
    Ok(producer::spawn("json", move |sink| {
        let emitted = Cell::new(false);
        let mut rdr = Recording { inner: rdr, kept: Some(Vec::new()), emitted: &emitted };
        let mut de = serde_json::Deserializer::from_reader(&mut rdr);
        // One document, or several written one after another.
        let mut outcome = Ok(());
        while outcome.is_ok() && de.end().is_err() {
            outcome = Records { sink: &mut *sink, emitted: &emitted }.deserialize(&mut de);
        }
        match (outcome, rdr.kept.take()) {
            (Ok(()), _) => Ok(()),
            // Not a document after all, before its first record: read
            // everything as lines instead. A read error (a truncated gzip
            // member) is no reason to think so: what was read goes out as
            // lines, then the error.
            (Err(e), Some(kept)) if !emitted.get() => {
                sink.write_all(&kept)?;
                if e.is_io() { Err(into_io(e)) } else { sink.copy_from(&mut rdr.inner) }
            }
            (Err(e), _) => Err(into_io(e)),
        }
    }))
}

/// Bytes kept until the first record comes out, to fall back to lines.
const REPLAY_LIMIT: usize = 1 << 20;

/// Keeps what it reads until a record has been written (or the limit is
/// reached), so that an input that only looked like a JSON document can be
/// read again as lines.
struct Recording<'e, R> {
    inner: R,
    kept: Option<Vec<u8>>,
    emitted: &'e Cell<bool>,
}

impl<R: Read> Read for Recording<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.emitted.get() || self.kept.as_ref().is_some_and(|k| k.len() + n > REPLAY_LIMIT) {
            self.kept = None;
        }
        if let Some(kept) = &mut self.kept {
            kept.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

/// Whether an input starting with `head` is read as one JSON document
/// (its records become lines), not line by line.
pub(super) fn starts_document(head: &[u8]) -> bool {
    is_document(strip_bom(head))
}

/// An array of objects, a pretty-printed object, or an object whose first
/// key is `meta_data` or `traces`. An NDJSON line starts with `{` and
/// another key; an access log may start with `[` and a time.
fn is_document(head: &[u8]) -> bool {
    let head = head.trim_ascii_start();
    let first_line = &head[..memchr::memchr(b'\n', head).unwrap_or(head.len())];
    match head.first() {
        Some(b'[') => matches!(head[1..].trim_ascii_start().first(), Some(b'{' | b']')),
        Some(b'{') => {
            // Pretty-printed: `{` alone, then a key on the next line.
            let pretty =
                first_line.trim_ascii() == b"{" && head[first_line.len()..].trim_ascii_start().first() == Some(&b'"');
            pretty || {
                let after_brace = first_line[1..].trim_ascii_start();
                after_brace.starts_with(br#""meta_data""#) || after_brace.starts_with(br#""traces""#)
            }
        }
        _ => false,
    }
}

fn into_io(e: serde_json::Error) -> io::Error {
    if e.is_io() {
        // The reader's own error, as it was.
        return io::Error::from(e);
    }
    io::Error::new(io::ErrorKind::InvalidData, format!("JSON document: {e}"))
}

/// Writes every record of a document (array elements, or the elements of
/// its `traces`) as one line.
struct Records<'s> {
    sink: &'s mut ChunkSink,
    /// Set once a record has been written.
    emitted: &'s Cell<bool>,
}

impl Records<'_> {
    fn write(&mut self, record: &serde_json::Value) -> io::Result<()> {
        self.emitted.set(true);
        write_line(self.sink, record)
    }
}

impl<'de> DeserializeSeed<'de> for Records<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Records<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of records or an object with a `traces` array")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(record) = seq.next_element::<serde_json::Value>()? {
            self.write(&record).map_err(de::Error::custom)?;
        }
        Ok(())
    }

    /// A `ListTraces` response streams its `traces`; any other object is a
    /// record itself (a pretty-printed trace, say).
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut record = serde_json::Map::new();
        let mut wrapper = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "traces" {
                wrapper = true;
                map.next_value_seed(Records { sink: &mut *self.sink, emitted: self.emitted })?;
            } else if wrapper || key == "meta_data" {
                wrapper = true;
                map.next_value::<IgnoredAny>()?;
            } else {
                record.insert(key, map.next_value()?);
            }
        }
        if !wrapper {
            self.write(&serde_json::Value::Object(record)).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

/// One record as one compact line.
fn write_line(sink: &mut ChunkSink, record: &serde_json::Value) -> io::Result<()> {
    let mut line = serde_json::to_vec(record)?;
    line.push(b'\n');
    sink.write_all(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &str) -> String {
        let mut out = String::new();
        lines_of(Box::new(io::Cursor::new(input.as_bytes().to_vec()))).unwrap().read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn list_traces_response_pretty_printed() {
        let doc = "{\n  \"meta_data\": {\"count\": 2, \"marker\": \"m\"},\n  \"traces\": [\n    {\"trace_id\": \"a\", \"code\": \"200\"},\n    {\"trace_id\": \"b\", \"code\": 400}\n  ]\n}\n";
        assert_eq!(lines(doc), "{\"code\":\"200\",\"trace_id\":\"a\"}\n{\"code\":400,\"trace_id\":\"b\"}\n");
    }

    #[test]
    fn arrays_and_one_line_documents() {
        assert_eq!(lines(r#"[{"a":1},{"b":[2]}]"#), "{\"a\":1}\n{\"b\":[2]}\n");
        assert_eq!(lines(r#"{"traces":[{"a":1}],"meta_data":{}}"#), "{\"a\":1}\n");
    }

    #[test]
    fn a_document_after_a_bom_is_unwrapped() {
        assert_eq!(lines("\u{feff}[{\"a\":1},{\"b\":2}]"), "{\"a\":1}\n{\"b\":2}\n");
        // Lines keep theirs, for the line scanner to take off.
        assert_eq!(lines("\u{feff}{\"a\":1}\n"), "\u{feff}{\"a\":1}\n");
    }

    #[test]
    fn pretty_printed_records_one_after_another() {
        let text = "{\n  \"trace_id\": \"a\",\n  \"code\": \"400\"\n}\n{\n  \"trace_id\": \"b\"\n}\n";
        assert_eq!(lines(text), "{\"code\":\"400\",\"trace_id\":\"a\"}\n{\"trace_id\":\"b\"}\n");
        assert_eq!(lines("[{\"a\":1}]\n[{\"b\":2}]"), "{\"a\":1}\n{\"b\":2}\n");
    }

    #[test]
    fn ndjson_and_text_pass_through() {
        let texts =
            ["{\"a\":1}\n{\"b\":2}\n", "1.2.3.4 - - [x]\n", "", "  \n", "[27/Nov/2026:10:00:00 +0000] 200\n", "[\0"];
        for text in texts {
            assert_eq!(lines(text), text);
        }
    }

    #[test]
    fn a_broken_document_keeps_the_records_before_the_damage() {
        let mut out = Vec::new();
        let mut rdr = lines_of(Box::new(io::Cursor::new(br#"[{"a":1},{"b":2},{"c":"#.to_vec()))).unwrap();
        let err = rdr.read_to_end(&mut out).unwrap_err();
        assert!(err.to_string().contains("JSON document"), "{err}");
        assert_eq!(out, b"{\"a\":1}\n{\"b\":2}\n");
    }

    /// Yields its bytes, then fails: a stream cut by a broken gzip member.
    struct FailsAfter(io::Cursor<Vec<u8>>);

    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(io::Error::other("gzip stream is corrupt")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn a_read_error_before_the_first_record_is_still_an_error() {
        let mut out = Vec::new();
        let mut rdr = lines_of(Box::new(FailsAfter(io::Cursor::new(b"{\"traces\": [{\"a\"".to_vec())))).unwrap();
        let err = rdr.read_to_end(&mut out).unwrap_err();
        assert!(err.to_string().contains("gzip stream is corrupt"), "{err}");
        assert_eq!(out, b"{\"traces\": [{\"a\"", "what was read is kept, as lines");
    }
}
