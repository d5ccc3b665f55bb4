//! nginx and Apache access logs in the common and combined layouts, with any
//! trailing fields users add.
//!
//! ```text
//! $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
//!     "$http_referer" "$http_user_agent"          (combined only)
//!     trailing fields…
//! ```
//!
//! Trailing fields are read by shape, since their order depends on the
//! site's `log_format`:
//! - `key=value` pairs: `rt=`/`request_time=` (seconds) is the latency,
//!   `urt=`/`upstream_response_time=` is used when no request time is
//!   logged, `request_id=`/`rid=`/`req_id=` is the request id;
//! - the first bare decimal with a dot (`0.052`) is `$request_time` in
//!   seconds; a bare integer as the *first* trailing field is Apache `%D`
//!   in microseconds; later bare numbers (`$upstream_response_time`,
//!   `$request_length`, …) are ignored;
//! - a bare 32-digit hex token is nginx `$request_id`;
//! - quoted fields may hold a logged response body and are left to the
//!   error-body finder. Everything before the trailing fields (request line,
//!   referer, user agent) is marked as not a body.

use super::ndjson::{split_request, upstream_micros};
use super::scalar::{parse_scaled, parse_status};
use super::timestamp::TimeParser;
use super::{Malformed, Record};

/// Parses common or combined access-log lines. One per worker thread.
#[derive(Debug, Default)]
pub struct AccessParser {
    combined: bool,
    times: TimeParser,
}

/// Latency sources in trailing fields, best first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LatencySource {
    RequestTimeKey,
    BareDecimal,
    ApacheMicros,
    UpstreamKey,
    None,
}

impl AccessParser {
    /// A parser for the combined layout (`combined = true`) or the common one.
    pub fn new(combined: bool) -> Self {
        AccessParser { combined, times: TimeParser::default() }
    }

    /// Parses one line. See [`super::LineParser::parse`].
    ///
    /// # Complexity
    ///
    /// One pass over the line.
    pub fn parse<'a>(&mut self, line: &'a [u8]) -> Result<Record<'a>, Malformed> {
        self.parse_layout(line).map(|(record, _)| record)
    }

    /// Parses a line and says whether it has the referer and user-agent
    /// fields of the combined layout.
    pub(super) fn parse_layout<'a>(&mut self, line: &'a [u8]) -> Result<(Record<'a>, bool), Malformed> {
        let mut cur = Cursor { line, pos: 0 };
        let mut record = Record { client: Some(cur.token().ok_or(Malformed::NotAccessLog)?), ..Record::default() };
        cur.token().ok_or(Malformed::NotAccessLog)?; // ident
        cur.token().ok_or(Malformed::NotAccessLog)?; // user
        let time = cur.bracketed().ok_or(Malformed::NotAccessLog)?;
        record.time = self.times.parse_clf(time);
        let request = cur.quoted().ok_or(Malformed::NotAccessLog)?;
        let (method, uri) = split_request(request);
        (record.method, record.uri) = (method, uri);
        record.status = Some(cur.token().and_then(parse_status).ok_or(Malformed::NotAccessLog)?);
        let bytes = cur.token().ok_or(Malformed::NotAccessLog)?;
        if bytes != b"-" && !bytes.iter().all(u8::is_ascii_digit) {
            return Err(Malformed::NotAccessLog);
        }
        let has_referer_and_agent = cur.peek_quote() && {
            let mut ahead = Cursor { line, pos: cur.pos };
            ahead.quoted().is_some() && ahead.quoted().is_some()
        };
        if self.combined && has_referer_and_agent {
            cur.quoted();
            cur.quoted();
        }
        record.not_body.push(0..cur.pos);
        self.trailing(&mut cur, &mut record);
        Ok((record, has_referer_and_agent))
    }

    fn trailing<'a>(&mut self, cur: &mut Cursor<'a>, record: &mut Record<'a>) {
        let mut source = LatencySource::None;
        let mut first = true;
        while cur.skip_spaces() {
            let quoted = cur.peek_quote();
            let Some(token) = (if quoted { cur.quoted() } else { cur.token() }) else {
                return;
            };
            let is_first = std::mem::replace(&mut first, false);
            if let Some((key, value)) = split_key_value(token) {
                let value = unquote(value);
                match key {
                    b"rt" | b"request_time" => {
                        offer(record, &mut source, LatencySource::RequestTimeKey, parse_scaled(value, 6))
                    }
                    b"urt" | b"upstream_response_time" => {
                        offer(record, &mut source, LatencySource::UpstreamKey, upstream_micros(value))
                    }
                    b"request_id" | b"rid" | b"req_id" => record.request_id = Some(value),
                    _ => {}
                }
                continue;
            }
            if token.len() == 32 && token.iter().all(u8::is_ascii_hexdigit) {
                record.request_id = Some(token);
            } else if token.contains(&b'.') && token.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
                offer(record, &mut source, LatencySource::BareDecimal, parse_scaled(token, 6));
            } else if is_first && !quoted && !token.is_empty() && token.iter().all(u8::is_ascii_digit) {
                offer(record, &mut source, LatencySource::ApacheMicros, parse_scaled(token, 0));
            }
        }
    }
}

/// Takes `value` as the latency if `candidate` beats what was found so far.
fn offer(record: &mut Record<'_>, best: &mut LatencySource, candidate: LatencySource, value: Option<u64>) {
    if candidate < *best
        && let Some(us) = value
    {
        record.latency_us = Some(us);
        *best = candidate;
    }
}

/// `rt=0.052` → (`rt`, `0.052`), for keys of identifier characters only.
fn split_key_value(token: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = token.iter().position(|&b| b == b'=')?;
    let key = &token[..eq];
    let is_ident = !key.is_empty() && key.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
    is_ident.then(|| (key, &token[eq + 1..]))
}

fn unquote(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] => inner,
        other => other,
    }
}

/// A read position in a line.
struct Cursor<'a> {
    line: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Skips spaces; `false` at the end of the line.
    fn skip_spaces(&mut self) -> bool {
        while self.line.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
        self.pos < self.line.len()
    }

    fn peek_quote(&mut self) -> bool {
        self.skip_spaces() && self.line[self.pos] == b'"'
    }

    /// The next space-delimited token, or a `key="quoted value"` token.
    fn token(&mut self) -> Option<&'a [u8]> {
        if !self.skip_spaces() {
            return None;
        }
        let start = self.pos;
        while let Some(&b) = self.line.get(self.pos) {
            match b {
                b' ' => break,
                b'"' if self.pos > start && self.line[self.pos - 1] == b'=' => {
                    self.pos = self.string_end(self.pos)?;
                    continue;
                }
                _ => self.pos += 1,
            }
        }
        Some(&self.line[start..self.pos])
    }

    /// `[...]`, returning the inside.
    fn bracketed(&mut self) -> Option<&'a [u8]> {
        if !self.skip_spaces() || self.line[self.pos] != b'[' {
            return None;
        }
        let len = memchr::memchr(b']', &self.line[self.pos..])?;
        let inside = &self.line[self.pos + 1..self.pos + len];
        self.pos += len + 1;
        Some(inside)
    }

    /// `"..."` with `\"` escapes (Apache), returning the inside.
    fn quoted(&mut self) -> Option<&'a [u8]> {
        if !self.peek_quote() {
            return None;
        }
        let start = self.pos;
        let end = self.string_end(start)?;
        self.pos = end;
        Some(&self.line[start + 1..end - 1])
    }

    /// Index just past the string whose opening quote is at `start`.
    fn string_end(&self, start: usize) -> Option<usize> {
        super::ndjson::skip_string(self.line, start).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMBINED: &str = r#"203.0.113.7 - - [27/Nov/2026:06:54:04 +0000] "POST /v3/0a1b/tracker HTTP/1.1" 400 91 "-" "python-requests/2.31""#;

    fn parse(combined: bool, line: &str) -> Result<Record<'_>, Malformed> {
        AccessParser::new(combined).parse(line.as_bytes())
    }

    #[test]
    fn combined_fields() {
        let r = parse(true, COMBINED).unwrap();
        assert_eq!(r.client, Some(&b"203.0.113.7"[..]));
        assert_eq!(r.time, Some(1_795_762_444_000));
        assert_eq!(r.method, Some(&b"POST"[..]));
        assert_eq!(r.uri, Some(&b"/v3/0a1b/tracker"[..]));
        assert_eq!(r.status, Some(400));
        assert_eq!(r.latency_us, None);
        assert!(r.not_body.contains(COMBINED.len() - 3));
    }

    #[test]
    fn nginx_trailing_fields() {
        let line = format!(
            r#"{COMBINED} 0.052 "0.004, 0.010" 5f2b8c3d9e0a4b1c8d7e6f5a4b3c2d1e "{{\x22error_code\x22:\x22CTS.0003\x22}}""#
        );
        let r = parse(true, &line).unwrap();
        assert_eq!(r.latency_us, Some(52_000));
        assert_eq!(r.request_id, Some(&b"5f2b8c3d9e0a4b1c8d7e6f5a4b3c2d1e"[..]));
        assert!(!r.not_body.contains(line.find("error_code").unwrap()));
    }

    #[test]
    fn key_value_trailing_fields() {
        let line = format!(r#"{COMBINED} urt="0.004, 0.010 : 0.002" rid=abc"#);
        let r = parse(true, &line).unwrap();
        assert_eq!(r.latency_us, Some(16_000));
        assert_eq!(r.request_id, Some(&b"abc"[..]));
        let line = format!(r#"{COMBINED} urt=0.020 rt=0.250"#);
        let r = parse(true, &line).unwrap();
        assert_eq!(r.latency_us, Some(250_000));
        let line = format!(r#"{COMBINED} urt=-"#);
        let r = parse(true, &line).unwrap();
        assert_eq!(r.latency_us, None);
    }

    #[test]
    fn apache_microseconds() {
        let line = format!("{COMBINED} 52345");
        let r = parse(true, &line).unwrap();
        assert_eq!(r.latency_us, Some(52_345));
        let line = format!("{COMBINED} 0.052 1234");
        let r = parse(true, &line).unwrap();
        assert_eq!(r.latency_us, Some(52_000));
    }

    #[test]
    fn common_layout() {
        let r = parse(false, r#"::1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 -"#).unwrap();
        assert_eq!(r.status, Some(200));
        assert_eq!(r.time, Some(971_211_336_000));
    }

    #[test]
    fn apache_escaped_quotes_in_request() {
        let r =
            parse(true, r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /\"x\" HTTP/1.0" 503 12 "-" "ua""#).unwrap();
        assert_eq!(r.status, Some(503));
    }

    #[test]
    fn malformed_lines() {
        for bad in [
            "",
            "garbage",
            r#"1.2.3.4 - - 10/Oct/2000 "GET / HTTP/1.0" 200 1"#,
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0 200 1"#,
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" OK 1"#,
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 x1"#,
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200"#,
        ] {
            assert_eq!(parse(true, bad), Err(Malformed::NotAccessLog), "{bad}");
        }
    }
}
