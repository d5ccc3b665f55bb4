//! The error-body finder and decoder.
//!
//! A cheap prefilter decides whether a line can hold an error body at all:
//! [`Extractor::candidates`] runs one `memmem` finder for `code` over a whole
//! block, and only lines with a hit are decoded. Every body shape below has
//! `code` in one of its key names (`error_code`, or `code` beside `message`),
//! so one pass finds them all.
//!
//! Decoding recognises the key as a JSON key in any of the shapes real logs
//! have, works out how the body is escaped, unescapes it into a scratch
//! buffer when needed, and parses the enclosing object with `serde_json`:
//!
//! | shape | example |
//! | --- | --- |
//! | nested object | `"response":{"error_code":"CTS.0003","error_msg":"…"}` |
//! | escaped JSON string | `"resp_body":"{\"error_code\":\"CTS.0003\",…}"` (any depth) |
//! | nginx default escaping | `{\x22error_code\x22:\x22CTS.0003\x22,…}` |
//! | `code` + `message` | `{"code":"VPC.0514","message":"…"}`, also nested |
//! | Python SDK exception text | `ClientRequestException - {status_code:400,request_id:…,error_code:CTS.0003,error_msg:… }` |
//!
//! A body that JSON rejects only for its bytes (invalid UTF-8, raw control
//! bytes, `\xHH` escapes) is copied as valid JSON and read again, so its
//! code always counts; such a message is decoded lossily (U+FFFD).
//!
//! Like the cloud SDKs, `error_code`/`error_msg` win over `code`/`message`.
//! A mention of `error_code` that is not a JSON key with a code-like string
//! value (a URL parameter, a user agent, a number) is not an error body.

use std::borrow::Cow;
use std::fmt;

use memchr::arch::all::packedpair::HeuristicFrequencyRank;
use memchr::memmem::{Finder, FinderBuilder};
use memchr::{memchr, memrchr};
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::lex::json::skip_ws;
use crate::lex::number::parse_status;
use crate::record::Spans;

/// The key of an error body in every shape but `code` + `message`.
pub const ERROR_CODE_KEY: &[u8] = b"error_code";

/// The longest error code kept; longer values are not codes.
pub const MAX_CODE_LEN: usize = 64;

/// How many `{` before a key are tried as the start of its object.
const MAX_OBJECT_CANDIDATES: usize = 8;

/// How many levels of string escaping are undone.
const MAX_ESCAPE_DEPTH: usize = 3;

/// Finds and decodes error bodies. Build once, share by reference.
#[derive(Clone, Debug)]
pub struct Extractor {
    error_code: Finder<'static>,
    message: Finder<'static>,
    /// The prefilter's needle, which both key names of a body contain.
    code: Finder<'static>,
}

impl Default for Extractor {
    fn default() -> Self {
        Extractor {
            error_code: Finder::new(ERROR_CODE_KEY),
            message: Finder::new("message"),
            code: FinderBuilder::new().build_forward_with_ranker_owned(LogBytes, &b"code"[..]),
        }
    }
}

/// How common a byte is in logs, for the prefilter's choice of which needle
/// bytes to look for first: request ids, trace ids and project ids are hex,
/// so `c`, `d` and `e` are everywhere and the `o` of `code` is rarer.
struct LogBytes;

impl HeuristicFrequencyRank for LogBytes {
    fn rank(&self, byte: u8) -> u8 {
        match byte {
            b'0'..=b'9' | b'a'..=b'f' => 250,
            b'g'..=b'z' => 150,
            _ => 100,
        }
    }
}

/// Reusable buffers for decoding; one per worker thread.
#[derive(Debug, Default)]
pub struct Scratch {
    unescaped: [Vec<u8>; MAX_ESCAPE_DEPTH],
    /// A body that JSON rejects for its bytes, copied as valid JSON.
    lenient_bytes: Vec<u8>,
    lenient_text: String,
    code: String,
    message: String,
    status: Option<u16>,
    request_id: String,
}

/// A decoded error body. Borrows the worker's [`Scratch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorBody<'s> {
    /// The error code, e.g. `CTS.0003` or `APIGW.0301`.
    pub code: &'s str,
    /// The error message, when the body has one.
    pub message: Option<&'s str>,
    /// The HTTP status, when the body itself carries one (SDK exception
    /// text).
    pub status: Option<u16>,
    /// The request id, when the body itself carries one (SDK exception
    /// text).
    pub request_id: Option<&'s str>,
}

/// Which key a prefilter hit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    ErrorCode,
    Message,
}

impl KeyKind {
    fn name(self) -> &'static [u8] {
        match self {
            KeyKind::ErrorCode => ERROR_CODE_KEY,
            KeyKind::Message => b"message",
        }
    }
}

/// How the quotes around a key are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quoting {
    /// `"key"`.
    Plain,
    /// `\"key\"`, inside a JSON string.
    JsonEscaped,
    /// `\x22key\x22`, nginx's default log escaping.
    NginxHex,
}

/// The position of the next prefilter hit in a block, advanced line by line.
#[derive(Debug)]
pub struct Candidates<'e, 'b> {
    extractor: &'e Extractor,
    block: &'b [u8],
    next: Option<usize>,
}

impl Candidates<'_, '_> {
    /// Whether the line `start..end` of the block contains a hit. Lines must
    /// be asked about in order.
    ///
    /// # Complexity
    ///
    /// Amortised `O(n)` over a whole block: each byte is searched at most
    /// once per finder.
    pub fn line_has_hit(&mut self, start: usize, end: usize) -> bool {
        if self.next.is_some_and(|pos| pos < start) {
            self.next = self.extractor.code.find(&self.block[start..]).map(|i| start + i);
        }
        self.next.is_some_and(|pos| pos < end)
    }
}

impl Extractor {
    /// Starts the prefilter over `block`.
    pub fn candidates<'e, 'b>(&'e self, block: &'b [u8]) -> Candidates<'e, 'b> {
        Candidates { extractor: self, block, next: self.code.find(block) }
    }

    /// Decodes the error body of `line`, ignoring key mentions inside
    /// `not_body`. Returns `None` when the line holds no error body.
    ///
    /// # Complexity
    ///
    /// Linear in the line, times a small constant for escaped bodies.
    pub fn decode<'s>(&self, line: &[u8], not_body: &Spans, scratch: &'s mut Scratch) -> Option<ErrorBody<'s>> {
        let found = [(KeyKind::ErrorCode, &self.error_code), (KeyKind::Message, &self.message)].into_iter().any(
            |(kind, finder)| {
                finder
                    .find_iter(line)
                    .filter(|&pos| !not_body.contains(pos))
                    .any(|pos| decode_at(line, pos, kind, 0, scratch))
            },
        );
        found.then(|| ErrorBody {
            code: &scratch.code,
            message: (!scratch.message.is_empty()).then_some(scratch.message.as_str()),
            status: scratch.status,
            request_id: (!scratch.request_id.is_empty()).then_some(scratch.request_id.as_str()),
        })
    }
}

/// Tries to decode the body whose key name starts at `buf[pos]`, at escape
/// level `depth`. On success the code and message are left in `scratch`.
fn decode_at(buf: &[u8], pos: usize, kind: KeyKind, depth: usize, scratch: &mut Scratch) -> bool {
    let Some(quoting) = key_quoting(buf, pos, kind) else {
        return kind == KeyKind::ErrorCode && decode_sdk_text(buf, pos, scratch);
    };
    match quoting {
        Quoting::Plain => parse_object_around(buf, pos - 1, kind, scratch),
        Quoting::JsonEscaped | Quoting::NginxHex if depth < MAX_ESCAPE_DEPTH => {
            let (start, end) = match quoting {
                Quoting::JsonEscaped => enclosing_json_string(buf, pos),
                _ => enclosing_quoted_field(buf, pos),
            };
            let mut out = std::mem::take(&mut scratch.unescaped[depth]);
            out.clear();
            unescape(quoting, &buf[start..pos], &mut out);
            let key_pos = out.len();
            unescape(quoting, &buf[pos..end], &mut out);
            let ok = decode_at(&out, key_pos, kind, depth + 1, scratch);
            scratch.unescaped[depth] = out;
            ok
        }
        _ => false,
    }
}

/// Checks that the name at `pos` is a quoted key followed by `:`, and says
/// how it is quoted.
fn key_quoting(buf: &[u8], pos: usize, kind: KeyKind) -> Option<Quoting> {
    let before = &buf[..pos];
    let after = &buf[pos + kind.name().len()..];
    let (quoting, quote): (Quoting, &[u8]) = if before.ends_with(br"\x22") {
        (Quoting::NginxHex, br"\x22")
    } else if before.ends_with(b"\"") {
        let backslashes = before[..before.len() - 1].iter().rev().take_while(|&&b| b == b'\\').count();
        match backslashes {
            0 => (Quoting::Plain, b"\""),
            // An escaped quote whose backslash is itself escaped at the next
            // level still reads as `\"` once one level is undone.
            _ => (Quoting::JsonEscaped, &before[before.len() - 1 - backslashes..]),
        }
    } else {
        return None;
    };
    let rest = after.strip_prefix(quote)?;
    let rest = skip_json_space(rest);
    rest.starts_with(b":").then_some(quoting)
}

fn skip_json_space(buf: &[u8]) -> &[u8] {
    let n = buf.iter().take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')).count();
    &buf[n..]
}

/// The inside of the JSON string containing `pos`: from just after the last
/// unescaped `"` before it to the next unescaped `"` (or the buffer's end).
fn enclosing_json_string(buf: &[u8], pos: usize) -> (usize, usize) {
    let is_unescaped_quote = |i: usize| buf[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0;
    let mut start = 0;
    let mut search = pos;
    while let Some(i) = memrchr(b'"', &buf[..search]) {
        if is_unescaped_quote(i) {
            start = i + 1;
            break;
        }
        search = i;
    }
    let mut end = buf.len();
    let mut from = pos;
    while let Some(i) = memchr(b'"', &buf[from..]) {
        if is_unescaped_quote(from + i) {
            end = from + i;
            break;
        }
        from += i + 1;
    }
    (start, end)
}

/// The inside of the `"…"` access-log field containing `pos`; nginx's
/// default escaping leaves no raw `"` inside a field.
fn enclosing_quoted_field(buf: &[u8], pos: usize) -> (usize, usize) {
    let start = memrchr(b'"', &buf[..pos]).map_or(0, |i| i + 1);
    let end = memchr(b'"', &buf[pos..]).map_or(buf.len(), |i| pos + i);
    (start, end)
}

/// Undoes one level of escaping, appending to `out`.
fn unescape(quoting: Quoting, text: &[u8], out: &mut Vec<u8>) {
    match quoting {
        Quoting::Plain => out.extend_from_slice(text),
        Quoting::JsonEscaped => unescape_json(text, out),
        Quoting::NginxHex => unescape_nginx(text, out),
    }
}

/// `\xHH` → the byte; everything else as is.
///
/// The text between escapes is copied whole: a body is mostly plain text.
fn unescape_nginx(text: &[u8], out: &mut Vec<u8>) {
    let mut rest = text;
    while let Some(at) = memchr(b'\\', rest) {
        out.extend_from_slice(&rest[..at]);
        rest = &rest[at..];
        if let Some(byte) = hex_escape(rest) {
            out.push(byte);
            rest = &rest[4..];
        } else {
            out.push(b'\\');
            rest = &rest[1..];
        }
    }
    out.extend_from_slice(rest);
}

/// The byte of the `\xHH` escape at the start of `text`, if it is one.
fn hex_escape(text: &[u8]) -> Option<u8> {
    match *text {
        [b'\\', b'x', h, l, ..] => Some(hex_value(h)? << 4 | hex_value(l)?),
        _ => None,
    }
}

/// One level of JSON string unescaping: `\"`, `\\`, `\/`, `\b\f\n\r\t` and
/// `\uXXXX` (with surrogate pairs; a lone surrogate becomes U+FFFD). The
/// text between escapes is copied whole.
fn unescape_json(text: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(at) = memchr(b'\\', &text[i..]) {
        out.extend_from_slice(&text[i..i + at]);
        i += at;
        if i + 1 == text.len() {
            break;
        }
        i += push_json_escape(&text[i..], out);
    }
    out.extend_from_slice(&text[i..]);
}

/// Decodes the escape at the start of `text` (a `\` and at least one more
/// byte), pushing what it stands for to `out`; an unknown escape is kept as
/// it is. Returns the bytes consumed.
fn push_json_escape(text: &[u8], out: &mut Vec<u8>) -> usize {
    let byte = match text[1] {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => return push_unicode_escape(text, out),
        other => {
            out.extend_from_slice(&[b'\\', other]);
            return 2;
        }
    };
    out.push(byte);
    2
}

/// Decodes `\uXXXX` (and a following low surrogate) at the start of `text`,
/// pushing UTF-8 to `out`. Returns the bytes consumed.
fn push_unicode_escape(text: &[u8], out: &mut Vec<u8>) -> usize {
    let unit = |at: usize| -> Option<u32> {
        match text.get(at..at + 6)? {
            [b'\\', b'u', digits @ ..] => {
                digits.iter().try_fold(0u32, |acc, &d| Some(acc << 4 | u32::from(hex_value(d)?)))
            }
            _ => None,
        }
    };
    let Some(first) = unit(0) else {
        out.extend_from_slice(b"\\u");
        return 2;
    };
    let (ch, len) = match first {
        0xD800..=0xDBFF => match unit(6) {
            Some(second @ 0xDC00..=0xDFFF) => {
                (char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)), 12)
            }
            _ => (None, 6),
        },
        _ => (char::from_u32(first), 6),
    };
    let mut utf8 = [0u8; 4];
    out.extend_from_slice(ch.unwrap_or(char::REPLACEMENT_CHARACTER).encode_utf8(&mut utf8).as_bytes());
    len
}

fn hex_value(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

/// Finds the object containing the key whose opening quote is at
/// `key_quote` and parses it. The nearest `{` before the key that starts a
/// valid object reaching past the key wins.
fn parse_object_around(buf: &[u8], key_quote: usize, kind: KeyKind, scratch: &mut Scratch) -> bool {
    let mut search_end = key_quote;
    for _ in 0..MAX_OBJECT_CANDIDATES {
        let Some(open) = memrchr(b'{', &buf[..search_end]) else {
            return false;
        };
        search_end = open;
        let parsed = flat_body_fields(buf, open).or_else(|| {
            let mut stream = serde_json::Deserializer::from_slice(&buf[open..]).into_iter::<BodyFields<'_>>();
            let fields = stream.next()?.ok()?;
            Some((fields, open + stream.byte_offset()))
        });
        let stored = match parsed {
            Some((fields, end)) => (end > key_quote).then(|| fields.store(kind, scratch)),
            None => store_lenient_object(buf, open, key_quote, kind, scratch),
        };
        if let Some(stored) = stored {
            return stored;
        }
    }
    false
}

/// Reads the object at `buf[open]` that JSON rejects for its bytes, not its
/// shape: invalid UTF-8 (a Latin-1 or GBK message), raw control bytes in a
/// string, `\xHH` escapes. The object is copied as valid JSON (such bytes
/// escaped, invalid UTF-8 as U+FFFD) and parsed again. `None` when it is no
/// object reaching past the key at `key_quote`; else whether it stored a
/// body.
#[cold]
fn store_lenient_object(
    buf: &[u8],
    open: usize,
    key_quote: usize,
    kind: KeyKind,
    scratch: &mut Scratch,
) -> Option<bool> {
    let mut bytes = std::mem::take(&mut scratch.lenient_bytes);
    let mut text = std::mem::take(&mut scratch.lenient_text);
    let end = copy_as_json(buf, open, &mut bytes).filter(|&end| end > key_quote);
    let stored = end.and_then(|_| {
        text.clear();
        push_lossy(&bytes, &mut text);
        let fields = serde_json::from_str::<BodyFields<'_>>(&text).ok()?;
        Some(fields.store(kind, scratch))
    });
    scratch.lenient_bytes = bytes;
    scratch.lenient_text = text;
    stored
}

/// Copies the object or array at `buf[open]` to `out` with every string
/// made valid JSON ([`copy_string_as_json`]); other bytes are copied as
/// they are. Returns the index just past the container, or `None` when it
/// never closes.
fn copy_as_json(buf: &[u8], open: usize, out: &mut Vec<u8>) -> Option<usize> {
    out.clear();
    let mut depth = 0usize;
    let mut pos = open;
    while let Some(&byte) = buf.get(pos) {
        match byte {
            b'"' => {
                pos = copy_string_as_json(buf, pos, out)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        out.push(byte);
        pos += 1;
        if depth == 0 {
            return Some(pos);
        }
    }
    None
}

/// Copies the string at `buf[start]` (a `"`) to `out`, escaping raw control
/// bytes, decoding `\xHH` escapes to their byte and keeping an unknown
/// escape as text. Returns the index just past its closing quote.
fn copy_string_as_json(buf: &[u8], start: usize, out: &mut Vec<u8>) -> Option<usize> {
    out.push(b'"');
    let mut pos = start + 1;
    loop {
        match *buf.get(pos)? {
            b'"' => {
                out.push(b'"');
                return Some(pos + 1);
            }
            b'\\' if pos + 1 < buf.len() => {
                let escape = &buf[pos..];
                let mark = out.len();
                pos += match hex_escape(escape) {
                    Some(byte) => {
                        out.push(byte);
                        4
                    }
                    None => push_json_escape(escape, out),
                };
                for byte in out.split_off(mark) {
                    push_string_byte(byte, out);
                }
            }
            byte => {
                push_string_byte(byte, out);
                pos += 1;
            }
        }
    }
}

/// Pushes one byte of a string's text, escaped where JSON needs it.
fn push_string_byte(byte: u8, out: &mut Vec<u8>) {
    match byte {
        b'"' | b'\\' => out.extend_from_slice(&[b'\\', byte]),
        0x00..=0x1f => {
            let hex = |nibble: u8| b"0123456789abcdef"[usize::from(nibble)];
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex(byte >> 4), hex(byte & 0xf)]);
        }
        _ => out.push(byte),
    }
}

/// Appends `bytes` to `out` as UTF-8, each invalid sequence as U+FFFD (as
/// [`String::from_utf8_lossy`] does, without its allocation).
fn push_lossy(bytes: &[u8], out: &mut String) {
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

/// The fields of the object at `buf[open]` and the index just past it, read
/// without `serde_json` when the object is flat and plain, as most bodies
/// are: ASCII keys and string values without escapes or control bytes,
/// integers, `true`, `false`, `null`, no key of [`BodyFields`] twice. For
/// anything else `None`, and `serde_json` reads it; on the objects it
/// takes, the result is the one `serde_json` gives (a property test holds
/// them equal).
fn flat_body_fields(buf: &[u8], open: usize) -> Option<(BodyFields<'_>, usize)> {
    let mut fields = BodyFields { error_code: None, error_msg: None, code: None, message: None };
    // Which of those keys have been read: a second one is an error.
    let mut seen = [false; 4];
    let mut pos = skip_ws(buf, open + 1);
    if buf.get(pos) == Some(&b'}') {
        return Some((fields, pos + 1));
    }
    loop {
        let (key, after_key) = plain_string(buf, pos)?;
        pos = skip_ws(buf, after_key);
        if buf.get(pos) != Some(&b':') {
            return None;
        }
        pos = skip_ws(buf, pos + 1);
        // `null` is no value (as for any `Option`), but the key was seen.
        let (value, after_value) = match buf.get(pos)? {
            b'"' => plain_string(buf, pos).map(|(text, end)| (Some(Text::Str(Cow::Borrowed(text))), end))?,
            b'n' => (None, plain_scalar(buf, pos)?),
            _ => (Some(Text::Other), plain_scalar(buf, pos)?),
        };
        let slot = match key {
            "error_code" => Some((&mut fields.error_code, 0)),
            "error_msg" => Some((&mut fields.error_msg, 1)),
            "code" => Some((&mut fields.code, 2)),
            "message" => Some((&mut fields.message, 3)),
            _ => None,
        };
        if let Some((slot, index)) = slot {
            if std::mem::replace(&mut seen[index], true) {
                return None;
            }
            *slot = value;
        }
        pos = skip_ws(buf, after_value);
        match buf.get(pos)? {
            b',' => pos = skip_ws(buf, pos + 1),
            b'}' => return Some((fields, pos + 1)),
            _ => return None,
        }
    }
}

/// The string at `buf[start]` (a `"`) when it is printable ASCII without
/// escapes, and the index past its closing quote.
fn plain_string(buf: &[u8], start: usize) -> Option<(&str, usize)> {
    if buf.get(start) != Some(&b'"') {
        return None;
    }
    let len = buf[start + 1..].iter().position(|&b| !PLAIN[usize::from(b)])?;
    let end = start + 1 + len;
    if buf[end] != b'"' {
        return None;
    }
    // SAFETY: every byte of the text is printable ASCII (`PLAIN`), and
    // ASCII is UTF-8.
    let text = unsafe { std::str::from_utf8_unchecked(&buf[start + 1..end]) };
    Some((text, end + 1))
}

/// The bytes a plain string holds: printable ASCII but `"` and `\`.
const PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        table[b] = b != b'"' as usize && b != b'\\' as usize;
        b += 1;
    }
    table
};

/// The end of the integer or literal at `buf[start]`, when it is one that
/// `serde_json` reads the same way: `true`, `false`, `null`, or an integer
/// of at most 18 digits without a leading zero.
fn plain_scalar(buf: &[u8], start: usize) -> Option<usize> {
    let rest = &buf[start..];
    let len = if rest.starts_with(b"true") || rest.starts_with(b"null") {
        4
    } else if rest.starts_with(b"false") {
        5
    } else {
        let sign = usize::from(rest.first() == Some(&b'-'));
        let digits = rest[sign..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 18 || (digits > 1 && rest[sign] == b'0') {
            return None;
        }
        sign + digits
    };
    // The value must end there, not run on (`nullx`, `12.5`, `1e3`).
    matches!(rest.get(len), Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b'}')).then_some(start + len)
}

/// The fields of an error body; everything else is skipped unparsed.
#[derive(Deserialize)]
struct BodyFields<'a> {
    #[serde(borrow, default)]
    error_code: Option<Text<'a>>,
    #[serde(borrow, default)]
    error_msg: Option<Text<'a>>,
    #[serde(borrow, default)]
    code: Option<Text<'a>>,
    #[serde(borrow, default)]
    message: Option<Text<'a>>,
}

impl BodyFields<'_> {
    /// Writes code and message to `scratch` if this object is an error body
    /// found through a key of `kind`.
    fn store(self, kind: KeyKind, scratch: &mut Scratch) -> bool {
        let (code, message) = match (kind, self.error_code) {
            (KeyKind::ErrorCode, Some(Text::Str(code))) if is_error_code(&code) => (code, self.error_msg),
            (KeyKind::Message, None) => match self.code {
                Some(Text::Str(code)) if is_service_code(&code) => (code, self.message),
                _ => return false,
            },
            _ => return false,
        };
        scratch.store(&code, message.as_ref().and_then(Text::as_str), None, None);
        true
    }
}

/// Any printable-ASCII token without spaces or quotes, up to
/// [`MAX_CODE_LEN`] bytes: what an `error_code` value may be.
fn is_error_code(code: &str) -> bool {
    (1..=MAX_CODE_LEN).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

/// `SERVICE.digits` (`VPC.0514`, `APIGW.0301`): the only `code` values taken
/// as error codes, so that `{"code":200,"message":"OK"}` is not one.
fn is_service_code(code: &str) -> bool {
    let Some((service, number)) = code.split_once('.') else {
        return false;
    };
    code.len() <= MAX_CODE_LEN
        && service.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && service.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && number.len() >= 3
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// A JSON value that matters only when it is a string.
enum Text<'a> {
    Str(Cow<'a, str>),
    Other,
}

impl Text<'_> {
    fn as_str(&self) -> Option<&str> {
        match self {
            Text::Str(text) => Some(text),
            Text::Other => None,
        }
    }
}

impl Scratch {
    fn store(&mut self, code: &str, message: Option<&str>, status: Option<u16>, request_id: Option<&str>) {
        self.code.clear();
        self.code.push_str(code);
        self.message.clear();
        self.message.push_str(message.unwrap_or_default());
        self.status = status;
        self.request_id.clear();
        self.request_id.push_str(request_id.unwrap_or_default());
    }
}

/// The exception text the Huawei Cloud Python SDK logs:
/// `ClientRequestException - {status_code:400,request_id:…,error_code:CTS.0003,error_msg:… }`
/// (also `ServerResponseException` and `ServiceResponseException`).
/// `pos` is where `error_code` starts.
fn decode_sdk_text(buf: &[u8], pos: usize, scratch: &mut Scratch) -> bool {
    let Some(open) = memrchr(b'{', &buf[..pos]) else {
        return false;
    };
    let exception = [&b"ClientRequestException - "[..], b"ServerResponseException - ", b"ServiceResponseException - "];
    if !exception.iter().any(|name| buf[..open].ends_with(name)) {
        return false;
    }
    let inner = &buf[open + 1..];
    let field = |name: &[u8]| -> Option<&[u8]> {
        let at = memchr::memmem::find(inner, name)?;
        let value = &inner[at + name.len()..];
        Some(&value[..memchr(b',', value).unwrap_or(value.len())])
    };
    let Some(code) = field(b"error_code:").and_then(|c| std::str::from_utf8(c).ok()).filter(|c| is_error_code(c))
    else {
        return false;
    };
    let message = memchr::memmem::find(inner, b"error_msg:").map(|at| {
        let rest = &inner[at + b"error_msg:".len()..];
        let end = memrchr(b'}', rest).unwrap_or(rest.len());
        String::from_utf8_lossy(rest[..end].trim_ascii())
    });
    let status = field(b"status_code:").and_then(parse_status);
    let request_id = field(b"request_id:").and_then(|r| std::str::from_utf8(r).ok()).filter(|r| *r != "None");
    scratch.store(code, message.as_deref(), status, request_id);
    true
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Text::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Text::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Text::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Text::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(line: &str) -> Option<(String, Option<String>)> {
        let mut scratch = Scratch::default();
        Extractor::default()
            .decode(line.as_bytes(), &Spans::default(), &mut scratch)
            .map(|b| (b.code.to_owned(), b.message.map(str::to_owned)))
    }

    fn code(line: &str) -> Option<String> {
        decode(line).map(|(code, _)| code)
    }

    #[test]
    fn nested_object() {
        let line = r#"{"status":400,"response":{"error_code":"CTS.0003","error_msg":"Invalid message body."}}"#;
        assert_eq!(decode(line), Some(("CTS.0003".into(), Some("Invalid message body.".into()))));
    }

    #[test]
    fn either_key_order_any_whitespace() {
        let line = r#"{"body": { "error_msg" : "a {b} \"c\"" ,
            "error_code" :	"CTS.0202" } }"#;
        assert_eq!(decode(line), Some(("CTS.0202".into(), Some(r#"a {b} "c""#.into()))));
    }

    #[test]
    fn escaped_json_string() {
        let line =
            r#"{"resp_body":"{\"error_msg\":\"caf\\u00e9 \\\"x\\\"\",\"error_code\":\"CTS.0003\"}","status":400}"#;
        assert_eq!(decode(line), Some(("CTS.0003".into(), Some(r#"café "x""#.into()))));
    }

    #[test]
    fn unicode_escapes_in_message() {
        let line = r#"{"error_code":"CTS.0001","error_msg":"\u4e2d\u6587 \ud83d\ude00"}"#;
        assert_eq!(decode(line).unwrap().1.unwrap(), "中文 😀");
    }

    #[test]
    fn double_escaped_json_string() {
        let inner = r#"{"error_code":"CTS.0205","error_msg":"x"}"#;
        let once = serde_json::to_string(inner).unwrap();
        let twice = serde_json::to_string(&format!("{{\"wrapped\":{once}}}")).unwrap();
        assert_eq!(code(&format!(r#"{{"log":{twice}}}"#)), Some("CTS.0205".into()));
    }

    #[test]
    fn nginx_hex_escaping() {
        let line = r#"1.2.3.4 - - [27/Nov/2026:06:54:04 +0000] "GET / HTTP/1.1" 400 60 "-" "ua" "{\x22error_code\x22:\x22CTS.0204\x22,\x22error_msg\x22:\x22caf\xC3\xA9 \x5C\x22q\x5C\x22\x22}""#;
        assert_eq!(decode(line), Some(("CTS.0204".into(), Some(r#"café "q""#.into()))));
    }

    #[test]
    fn code_and_message_form() {
        assert_eq!(code(r#"{"error":{"code":"VPC.0514","message":"quota"}}"#), Some("VPC.0514".into()));
        assert_eq!(
            code(r#"{"code":"APIGW.0301","message":"Incorrect IAM authentication information"}"#),
            Some("APIGW.0301".into())
        );
        assert_eq!(code(r#"{"code":200,"message":"OK"}"#), None);
        assert_eq!(code(r#"{"code":"OK","message":"fine"}"#), None);
        assert_eq!(code(r#"{"message":"no code"}"#), None);
    }

    #[test]
    fn python_sdk_exception_text() {
        let line = "2026-11-27 10:00:00,123 ERROR app.py:42 ClientRequestException - {status_code:403,request_id:9f1c2d,error_code:CTS.0002,error_msg:The user fails the authentication, {really} }";
        let mut scratch = Scratch::default();
        let body = Extractor::default().decode(line.as_bytes(), &Spans::default(), &mut scratch).unwrap();
        assert_eq!(body.code, "CTS.0002");
        assert_eq!(body.message, Some("The user fails the authentication, {really}"));
        assert_eq!(body.status, Some(403));
        assert_eq!(body.request_id, Some("9f1c2d"));
        let server = "ServerResponseException - {status_code:500,request_id:None,error_code:CTS.0004,error_msg:Data write exception. }";
        let body = Extractor::default().decode(server.as_bytes(), &Spans::default(), &mut scratch).unwrap();
        assert_eq!((body.code, body.status, body.request_id), ("CTS.0004", Some(500), None));
        assert_eq!(code("some text error_code:CTS.0003 not an exception"), None);
    }

    #[test]
    fn error_code_wins_over_code() {
        let line = r#"{"code":"APIGW.0301","message":"m","error_code":"CTS.0001","error_msg":"e"}"#;
        assert_eq!(decode(line), Some(("CTS.0001".into(), Some("e".into()))));
    }

    #[test]
    fn phantoms_are_not_errors() {
        for line in [
            r#"{"uri":"/v3/x?error_code=CTS.0003","status":200}"#,
            r#"{"user_agent":"error_code bot","status":200}"#,
            r#"1.2.3.4 - - [27/Nov/2026:06:54:04 +0000] "GET /?error_code=CTS.0003 HTTP/1.1" 200 1 "-" "error_code:x""#,
            r#"{"error_code":null,"status":200}"#,
            r#"{"error_code":400}"#,
            r#"{"error_code":"has space"}"#,
            r#"{"note":"the field error_code is set","status":200}"#,
        ] {
            assert_eq!(code(line), None, "{line}");
        }
    }

    #[test]
    fn not_body_spans_are_skipped() {
        let line = r#"{"user_agent":"{\"error_code\":\"CTS.0001\"}","status":200}"#;
        let mut spans = Spans::default();
        spans.push(14..44);
        let mut scratch = Scratch::default();
        assert!(Extractor::default().decode(line.as_bytes(), &spans, &mut scratch).is_none());
        assert!(Extractor::default().decode(line.as_bytes(), &Spans::default(), &mut scratch).is_some());
    }

    #[test]
    fn candidates_map_hits_to_lines() {
        let block = b"a\nerror_code\nb\nmessage\nc\n\"code\"\n";
        let e = Extractor::default();
        let mut c = e.candidates(block);
        assert!(!c.line_has_hit(0, 1));
        assert!(c.line_has_hit(2, 12));
        assert!(!c.line_has_hit(13, 14));
        // `message` alone cannot make a body: its object needs a `code`.
        assert!(!c.line_has_hit(15, 22));
        assert!(!c.line_has_hit(23, 24));
        assert!(c.line_has_hit(25, 31));
    }

    #[test]
    fn every_body_shape_passes_the_prefilter() {
        let lines = [
            r#"{"response":{"error_code":"CTS.0003","error_msg":"x"}}"#,
            r#"{"resp_body":"{\"error_code\":\"CTS.0003\"}"}"#,
            r#"1.2.3.4 - - [27/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 400 9 "-" "-" 0.1 "{\x22error_code\x22:\x22CTS.0003\x22}""#,
            r#"{"body":{"error":{"code":"APIGW.0301","message":"x"}}}"#,
            r#"ClientRequestException - {status_code:400,request_id:r1,error_code:CTS.0003,error_msg:x }"#,
        ];
        let e = Extractor::default();
        for line in lines {
            assert!(e.candidates(line.as_bytes()).line_has_hit(0, line.len()), "{line}");
            assert!(e.decode(line.as_bytes(), &Spans::default(), &mut Scratch::default()).is_some(), "{line}");
        }
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = format!(r#"{}"error_code":"CTS.0001"{}"#, "{\"a\":".repeat(10_000), "}".repeat(10_000));
        let _ = decode(&deep);
    }

    /// Every shape a body can be logged in, for one code and message.
    fn shapes(code: &str, msg: &str) -> Vec<String> {
        let body = serde_json::json!({"error_code": code, "error_msg": msg}).to_string();
        let reversed =
            format!(r#"{{ "error_msg" : {}, "error_code" : "{code}" }}"#, serde_json::to_string(msg).unwrap());
        let escaped = serde_json::to_string(&body).unwrap();
        let nginx: String = body
            .bytes()
            .map(|b| match b {
                b'"' | b'\\' | 0..=0x1f | 0x7f..=0xff => format!("\\x{b:02X}"),
                _ => (b as char).to_string(),
            })
            .collect();
        vec![
            format!(r#"{{"status":400,"response":{body}}}"#),
            format!(r#"{{"status":400,"response":{reversed}}}"#),
            format!(r#"{{"status":400,"resp_body":{escaped}}}"#),
            format!(r#"1.1.1.1 - - [27/Nov/2026:06:54:04 +0000] "GET / HTTP/1.1" 400 9 "-" "ua" "{nginx}""#),
        ]
    }

    /// Decodes a line of raw bytes: the code and the message.
    fn decode_bytes(line: &[u8]) -> Option<(String, Option<String>)> {
        let mut scratch = Scratch::default();
        Extractor::default()
            .decode(line, &Spans::default(), &mut scratch)
            .map(|b| (b.code.to_owned(), b.message.map(str::to_owned)))
    }

    #[test]
    fn bodies_json_rejects_for_their_bytes_are_read_lossily() {
        let cts3 = |message: &str| Some(("CTS.0003".to_owned(), Some(message.to_owned())));
        let cases: [(&[u8], _); 9] = [
            (b"{\"status\":400,\"response\":{\"error_code\":\"CTS.0003\",\"error_msg\":\"caf\xe9\"}}", cts3("caf\u{FFFD}")),
            // GBK for "\u{6d88}\u{606f}", raw and as `\xHH` escapes: `CF FB`
            // is invalid UTF-8, `CF A2` happens to be U+03E2.
            (b"{\"response\":{\"error_code\":\"CTS.0003\",\"error_msg\":\"\xcf\xfb\xcf\xa2\"}}", cts3("\u{FFFD}\u{FFFD}\u{3e2}")),
            (br#"{"response":{"error_code":"CTS.0003","error_msg":"\xCF\xFB"}}"#, cts3("\u{FFFD}\u{FFFD}")),
            // Escaped control characters stay in the text; so do raw ones.
            (br#"{"response":{"error_code":"CTS.0003","error_msg":"a\x09b\x1Bc\u0000"}}"#, cts3("a\tb\u{1b}c\0")),
            (b"{\"response\":{\"error_code\":\"CTS.0003\",\"error_msg\":\"a\tb\x1b\"}}", cts3("a\tb\u{1b}")),
            // An unknown escape is kept as text; a lone surrogate is U+FFFD.
            (br#"{"response":{"error_code":"CTS.0003","error_msg":"\q \x4 \ud800 \xC3\xA9"}}"#, cts3("\\q \\x4 \u{FFFD} \u{e9}")),
            (b"{\"resp_body\":\"{\\\"error_code\\\":\\\"CTS.0003\\\",\\\"error_msg\\\":\\\"caf\xe9\\\"}\"}", cts3("caf\u{FFFD}")),
            (b"1.2.3.4 - - [27/Nov/2026:06:54:04 +0000] \"GET / HTTP/1.1\" 400 9 \"-\" \"ua\" \"{\\x22error_code\\x22:\\x22CTS.0003\\x22,\\x22error_msg\\x22:\\x22caf\\xE9\xcf\\x09\\x22}\"", cts3("caf\u{FFFD}\u{FFFD}\t")),
            (b"ClientRequestException - {status_code:400,request_id:r1,error_code:CTS.0003,error_msg:caf\xe9\x1b }", cts3("caf\u{FFFD}\u{1b}")),
        ];
        for (line, want) in cases {
            assert_eq!(decode_bytes(line), want, "{}", String::from_utf8_lossy(line));
        }
        let other_service = b"{\"error\":{\"code\":\"VPC.0514\",\"message\":\"caf\xe9\"}}";
        assert_eq!(decode_bytes(other_service), Some(("VPC.0514".to_owned(), Some("caf\u{FFFD}".to_owned()))));
        // Still an object that must close and reach past its key.
        assert_eq!(decode_bytes(b"{\"error_code\":\"CTS.0003\",\"error_msg\":\"caf\xe9"), None);
        assert_eq!(decode_bytes(b"{\"a\":\"\xe9\"} \"error_code\":\"CTS.0003\""), None);
    }

    /// A message's bytes escaped as a JSON string's text by a writer that
    /// leaves control and non-UTF-8 bytes alone.
    fn json_text(bytes: &[u8]) -> Vec<u8> {
        bytes
            .iter()
            .flat_map(|&b| match b {
                b'"' | b'\\' => vec![b'\\', b],
                b'\n' => b"\\n".to_vec(),
                b'\r' => b"\\r".to_vec(),
                _ => vec![b],
            })
            .collect()
    }

    /// Every shape a body with an arbitrary byte string as its message is
    /// logged in, with the message each should decode to.
    fn byte_shapes(code: &str, msg: &[u8]) -> Vec<(Vec<u8>, Option<String>)> {
        let lossy = |bytes: &[u8]| Some(String::from_utf8_lossy(bytes).into_owned()).filter(|m| !m.is_empty());
        let body = [format!(r#"{{"error_code":"{code}","error_msg":""#).as_bytes(), &json_text(msg), b"\"}"].concat();
        let nginx = |raw_high: bool| -> Vec<u8> {
            body.iter()
                .flat_map(|&b| match b {
                    0x80..=0xff if raw_high => vec![b],
                    b'"' | b'\\' | 0..=0x1f | 0x7f..=0xff => format!("\\x{b:02X}").into_bytes(),
                    _ => vec![b],
                })
                .collect()
        };
        let access = br#"1.1.1.1 - - [27/Nov/2026:06:54:04 +0000] "GET / HTTP/1.1" 400 9 "-" "ua" ""#;
        let sdk_msg: Vec<u8> = msg.iter().copied().filter(|b| !matches!(b, b'\n' | b'\r')).collect();
        vec![
            ([&b"{\"status\":400,\"response\":"[..], &body, b"}"].concat(), lossy(msg)),
            ([&b"{\"status\":400,\"resp_body\":\""[..], &json_text(&body), b"\"}"].concat(), lossy(msg)),
            ([&access[..], &nginx(false), b"\""].concat(), lossy(msg)),
            ([&access[..], &nginx(true), b"\""].concat(), lossy(msg)),
            (
                [
                    format!("ClientRequestException - {{status_code:400,request_id:r1,error_code:{code},error_msg:")
                        .as_bytes(),
                    &sdk_msg,
                    b" }",
                ]
                .concat(),
                lossy(sdk_msg.trim_ascii()),
            ),
        ]
    }

    /// Byte-at-a-time references for the unescapers (the JSON one shares
    /// the decoding of each escape, [`push_json_escape`]).
    fn naive_unescape_nginx(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if let [b'\\', b'x', h, l, ..] = text[i..]
                && let (Some(h), Some(l)) = (hex_value(h), hex_value(l))
            {
                out.push(h << 4 | l);
                i += 4;
                continue;
            }
            out.push(text[i]);
            i += 1;
        }
        out
    }

    fn naive_unescape_json(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if text[i] != b'\\' || i + 1 == text.len() {
                out.push(text[i]);
                i += 1;
            } else {
                i += push_json_escape(&text[i..], &mut out);
            }
        }
        out
    }

    /// What a body's fields read as: per field, absent, not a string, or the
    /// string.
    fn fields_seen(fields: &BodyFields<'_>) -> [Option<Option<String>>; 4] {
        let seen = |text: &Option<Text<'_>>| text.as_ref().map(|t| t.as_str().map(str::to_owned));
        [seen(&fields.error_code), seen(&fields.error_msg), seen(&fields.code), seen(&fields.message)]
    }

    fn serde_body_fields(buf: &[u8]) -> Option<([Option<Option<String>>; 4], usize)> {
        let mut stream = serde_json::Deserializer::from_slice(buf).into_iter::<BodyFields<'_>>();
        let fields = stream.next()?.ok()?;
        Some((fields_seen(&fields), stream.byte_offset()))
    }

    #[test]
    fn plain_bodies_are_read_without_serde() {
        for body in [
            r#"{"error_code":"CTS.0003","error_msg":"Invalid message body."}"#,
            r#"{ "error_msg" : "x", "status": 400, "ok": false, "error_code": "APIGW.0301" } tail"#,
            r#"{"code":"VPC.0514","message":"Quota exceeded","request_id":null}"#,
            // `null` leaves the field empty (found by the property test below).
            r#"{"error_code":null,"error_msg":"x"}"#,
            "{}",
        ] {
            let fast = flat_body_fields(body.as_bytes(), 0).map(|(f, end)| (fields_seen(&f), end));
            assert!(fast.is_some(), "{body}");
            assert_eq!(fast, serde_body_fields(body.as_bytes()), "{body}");
        }
        for other in [r#"{"error_code":"a\"b"}"#, r#"{"a":{"b":1}}"#, r#"{"a":1.5}"#, r#"{"code":1,"code":2}"#] {
            assert!(flat_body_fields(other.as_bytes(), 0).is_none(), "{other}");
        }
    }

    proptest! {
        #[test]
        fn unescaping_equals_the_byte_at_a_time_reference(parts in proptest::collection::vec(
            prop_oneof![Just("\\".to_string()), Just("\\x22".to_string()), Just("\\x2".to_string()),
                        Just("\\u00e9".to_string()), Just("\\ud83d\\ude00".to_string()), Just("\\ud83d".to_string()),
                        Just("\\\"".to_string()), Just("\\n".to_string()), "[a-z\"{}:]{0,8}"], 0..30)) {
            let text = parts.concat();
            let (mut nginx, mut json) = (Vec::new(), Vec::new());
            unescape_nginx(text.as_bytes(), &mut nginx);
            unescape_json(text.as_bytes(), &mut json);
            prop_assert_eq!(nginx, naive_unescape_nginx(text.as_bytes()));
            prop_assert_eq!(json, naive_unescape_json(text.as_bytes()));
        }

        #[test]
        fn the_plain_reader_agrees_with_serde(members in proptest::collection::vec((
            prop_oneof![Just("error_code"), Just("error_msg"), Just("code"), Just("message"), Just("x"), Just("status")],
            prop_oneof![
                8 => Just("\"CTS.0003\""), 8 => Just("\"Invalid body.\""), 4 => Just("null"), 4 => Just("12"),
                1 => Just("\"a\\\"b\""), 1 => Just("\"\u{e9}\""),
                1 => Just("\"\u{1}\""), 1 => Just("\"\u{7f}\""), 1 => Just("0"), 1 => Just("-0"), 1 => Just("01"),
                1 => Just("-"), 1 => Just("1.5"), 1 => Just("1e3"), 1 => Just("1234567890123456789"),
                1 => Just("true"), 1 => Just("nullx"), 1 => Just("[1]"), 1 => Just("{\"a\":1}"), 1 => Just(""),
            ],
            prop_oneof![8 => Just(","), 2 => Just(", "), 2 => Just(" ,\n"), 1 => Just(",,"), 1 => Just(""), 1 => Just(":")],
            prop_oneof![8 => Just(":"), 2 => Just(" : "), 1 => Just(""), 1 => Just("::")],
        ), 0..5), close in prop_oneof![4 => Just("}"), 1 => Just(" }x"), 1 => Just("")]) {
            let mut text = String::from("{");
            for (i, (key, value, separator, colon)) in members.iter().enumerate() {
                if i > 0 {
                    text.push_str(separator);
                }
                text.push_str(&format!("\"{key}\"{colon}{value}"));
            }
            text.push_str(close);
            if let Some((fields, end)) = flat_body_fields(text.as_bytes(), 0) {
                prop_assert_eq!(Some((fields_seen(&fields), end)), serde_body_fields(text.as_bytes()), "{}", text);
            }
        }

        #[test]
        fn same_code_in_every_shape(code in "[A-Z]{2,6}\\.[0-9]{4}", msg in "\\PC{0,40}") {
            for line in shapes(&code, &msg) {
                let decoded = decode(&line);
                prop_assert_eq!(decoded, Some((code.clone(), (!msg.is_empty()).then(|| msg.clone()))), "{}", line);
            }
        }

        #[test]
        fn any_message_bytes_still_yield_the_code(
            code in "[A-Z]{2,6}\\.[0-9]{4}",
            msg in proptest::collection::vec(prop_oneof![
                4 => any::<u8>(), 1 => Just(b'\\'), 1 => Just(b'"'), 1 => Just(b'{'), 1 => Just(b'}')], 0..40),
        ) {
            for (line, message) in byte_shapes(&code, &msg) {
                prop_assert_eq!(decode_bytes(&line), Some((code.clone(), message)), "{}", String::from_utf8_lossy(&line));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut scratch = Scratch::default();
            let _ = Extractor::default().decode(&bytes, &Spans::default(), &mut scratch);
        }

        #[test]
        fn arbitrary_text_around_keys_never_panics(parts in proptest::collection::vec(
            prop_oneof![Just("error_code".to_string()), Just("\\\"".to_string()), Just("\\x22".to_string()),
                        Just("{".to_string()), Just("}".to_string()), Just(":".to_string()), Just("\"".to_string()),
                        Just("message".to_string()), Just("\\u00".to_string()), "[a-z0-9. \\\\]{0,3}"], 0..40)) {
            let line = parts.concat();
            let mut scratch = Scratch::default();
            let _ = Extractor::default().decode(line.as_bytes(), &Spans::default(), &mut scratch);
        }
    }
}
