//! Wrappers around log lines: an LTS export's JSON (`message` holds the raw
//! line) and a syslog header (RFC 3164 or 5424). A wrapper is taken off
//! before the line's own format parses it, and says where the line came
//! from (the record's `source`).

use std::borrow::Cow;

use serde::Deserialize;

/// What a line is wrapped in. States name it by [`Wrapper::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wrapper {
    /// A syslog header: `<134>Nov 27 10:00:00 web1 nginx: …` (RFC 3164,
    /// with or without the priority) or `<134>1 2026-11-27T10:00:00Z web1
    /// nginx - - - …` (RFC 5424).
    Syslog,
    /// A Huawei Cloud Log Tank Service export line:
    /// `{"host_name":"web1","message":"<raw line>\n","path":"…",…}`.
    Lts,
}

/// A line without its wrapper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unwrapped<'b> {
    /// The line inside.
    pub inner: &'b [u8],
    /// The host (or path) the wrapper names.
    pub source: Option<&'b [u8]>,
}

/// Buffers for lines whose inner text had to be unescaped; one per worker.
#[derive(Debug, Default)]
pub struct UnwrapBuf {
    inner: Vec<u8>,
    source: Vec<u8>,
}

/// The fields of an LTS line that matter; the rest is ignored.
#[derive(Deserialize)]
struct LtsLine<'a> {
    #[serde(borrow)]
    message: Cow<'a, str>,
    #[serde(borrow, default)]
    host_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    path: Option<Cow<'a, str>>,
}

impl Wrapper {
    /// Every wrapper.
    pub const ALL: [Wrapper; 2] = [Wrapper::Syslog, Wrapper::Lts];

    /// `syslog` or `lts`: the name states and reports give it.
    pub fn name(self) -> &'static str {
        match self {
            Wrapper::Syslog => "syslog",
            Wrapper::Lts => "lts",
        }
    }

    /// `line` without this wrapper; `None` when it is not wrapped so.
    ///
    /// # Complexity
    ///
    /// Syslog: a scan of the header. LTS: one JSON parse of the line, and a
    /// copy of `message` only when it holds escapes.
    pub fn unwrap<'b>(self, line: &'b [u8], buf: &'b mut UnwrapBuf) -> Option<Unwrapped<'b>> {
        match self {
            Wrapper::Syslog => syslog(line),
            Wrapper::Lts => {
                let parsed: LtsLine<'b> = serde_json::from_slice(line).ok()?;
                let UnwrapBuf { inner, source } = buf;
                let keep = |text: Cow<'b, str>, owned: &'b mut Vec<u8>| -> &'b [u8] {
                    match text {
                        Cow::Borrowed(text) => text.as_bytes(),
                        Cow::Owned(text) => {
                            *owned = text.into_bytes();
                            owned
                        }
                    }
                };
                let message = keep(parsed.message, inner);
                let message = message.strip_suffix(b"\n").unwrap_or(message);
                let message = message.strip_suffix(b"\r").unwrap_or(message);
                let source = parsed.host_name.or(parsed.path).map(|s| keep(s, source));
                Some(Unwrapped { inner: message, source })
            }
        }
    }

    /// Whether `line` looks wrapped this way (for detection).
    pub fn matches(self, line: &[u8]) -> bool {
        match self {
            Wrapper::Syslog => syslog(line).is_some(),
            Wrapper::Lts => {
                line.starts_with(b"{")
                    && memchr::memmem::find(line, b"\"message\"").is_some()
                    && ["\"host_name\"", "\"line_no\"", "\"log_time_ns\"", "\"collect_time\""]
                        .iter()
                        .any(|key| memchr::memmem::find(line, key.as_bytes()).is_some())
            }
        }
    }
}

/// Splits off the next space-delimited word.
fn word(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let text = text.strip_prefix(b" ").unwrap_or(text);
    let end = memchr::memchr(b' ', text)?;
    Some((&text[..end], &text[end + 1..]))
}

/// The message and host of a syslog line.
fn syslog(line: &[u8]) -> Option<Unwrapped<'_>> {
    let mut rest = line;
    if let Some(after) = line.strip_prefix(b"<") {
        let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=3).contains(&digits) || after.get(digits) != Some(&b'>') {
            return None;
        }
        rest = &after[digits + 1..];
        // RFC 5424: a version, then timestamp, host, app, procid, msgid,
        // structured data, message.
        if let Some(after_version) = rest.strip_prefix(b"1 ") {
            let (_time, r) = word(after_version)?;
            let (host, r) = word(r)?;
            let (_app, r) = word(r)?;
            let (_procid, r) = word(r)?;
            let (_msgid, r) = word(r)?;
            let message = structured_data_end(r)?;
            return Some(Unwrapped { inner: message, source: Some(host) });
        }
    }
    // RFC 3164: `Mmm dd hh:mm:ss` or an RFC 3339 time, host, tag, message.
    let rest = if rest.len() > 15 && rest[3] == b' ' && rest[6] == b' ' && rest[9] == b':' && rest[12] == b':' {
        if !rest[..3].iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        &rest[16..]
    } else if rest.first().is_some_and(u8::is_ascii_digit) && rest.get(4) == Some(&b'-') && rest.get(10) == Some(&b'T')
    {
        word(rest)?.1
    } else {
        return None;
    };
    let (host, rest) = word(rest)?;
    let (tag, message) = word(rest)?;
    if !tag.ends_with(b":") {
        return None;
    }
    Some(Unwrapped { inner: message, source: Some(host) })
}

/// What follows RFC 5424 structured data (`-` or `[…]…`, brackets may
/// hold quoted `]`).
fn structured_data_end(text: &[u8]) -> Option<&[u8]> {
    if let Some(rest) = text.strip_prefix(b"-") {
        return Some(rest.strip_prefix(b" ").unwrap_or(rest));
    }
    let mut i = 0;
    while text.get(i) == Some(&b'[') {
        let mut quoted = false;
        i += 1;
        while let Some(&b) = text.get(i) {
            match b {
                b'\\' => i += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    let rest = text.get(i..)?;
    Some(rest.strip_prefix(b" ").unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unwrap(wrapper: Wrapper, line: &str) -> Option<(String, Option<String>)> {
        let mut buf = UnwrapBuf::default();
        wrapper.unwrap(line.as_bytes(), &mut buf).map(|u| {
            (String::from_utf8_lossy(u.inner).into_owned(), u.source.map(|s| String::from_utf8_lossy(s).into_owned()))
        })
    }

    #[test]
    fn syslog_headers_of_both_rfcs() {
        let inner = r#"10.0.0.1 - - [27/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5"#;
        for line in [
            format!("<134>Nov 27 10:00:00 web1 nginx: {inner}"),
            format!("Nov  7 10:00:00 web1 nginx[812]: {inner}"),
            format!("2026-11-27T10:00:00.123+00:00 web1 nginx: {inner}"),
            format!("<134>1 2026-11-27T10:00:00.003Z web1 nginx 812 - - {inner}"),
            format!(r#"<134>1 2026-11-27T10:00:00Z web1 nginx - ID47 [x@1 a="b]c"][y@2] {inner}"#),
        ] {
            assert_eq!(unwrap(Wrapper::Syslog, &line), Some((inner.to_owned(), Some("web1".to_owned()))), "{line}");
        }
        assert_eq!(unwrap(Wrapper::Syslog, inner), None);
        assert_eq!(unwrap(Wrapper::Syslog, "<999>x"), None);
    }

    #[test]
    fn lts_messages_are_unescaped_only_when_they_must_be() {
        let line = r#"{"host_name":"web1","ip":"10.0.0.5","line_no":249,"message":"10.0.0.1 - - [27/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5\n","path":"/var/log/nginx/access.log","time":1569825602303}"#;
        let (inner, source) = unwrap(Wrapper::Lts, line).unwrap();
        assert_eq!(inner, r#"10.0.0.1 - - [27/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5"#);
        assert_eq!(source.as_deref(), Some("web1"));
        let plain = r#"{"message":"plain","path":"/var/log/a.log","line_no":1}"#;
        assert_eq!(unwrap(Wrapper::Lts, plain), Some(("plain".to_owned(), Some("/var/log/a.log".to_owned()))));
        assert!(Wrapper::Lts.matches(line.as_bytes()) && !Wrapper::Lts.matches(br#"{"message":"x"}"#));
        assert_eq!(unwrap(Wrapper::Lts, "{broken"), None);
    }
}
