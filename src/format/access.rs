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
//! - the latency is the first `rt=`/`request_time=` value or bare decimal
//!   (`0.052`, nginx `$request_time`, seconds), whichever comes first;
//!   failing that, a bare integer as the *first* trailing field (Apache
//!   `%D`, microseconds); failing that, `urt=`/`upstream_response_time=`
//!   (all listed upstream times summed). Later numbers
//!   (`$upstream_response_time`, `$request_length`, …) are ignored;
//! - `request_id=`/`rid=`/`req_id=` or a bare 32-digit hex token is the
//!   request id (nginx `$request_id`);
//! - a bare 32-digit hex token is nginx `$request_id`;
//! - quoted fields may hold a logged response body and are left to the
//!   error-body finder. Everything before the trailing fields (request line,
//!   referer, user agent) is marked as not a body.

use std::borrow::Cow;

use super::{Build, Detect, FieldRef, FormatSpec, LineParser, ParseLine};
use crate::lex::number::{parse_scaled, parse_status, upstream_micros};
use crate::lex::text::{is_absent, split_request};
use crate::lex::time::TimeParser;
use crate::record::{Malformed, Record};

/// Combined access logs in the registry: the fallback of detection.
pub(super) static COMBINED: FormatSpec = FormatSpec {
    name: "combined",
    help: "NCSA combined access log, plus trailing fields",
    detect: Detect::Lines { reads: reads_combined, rank: 3, first_byte: None },
    build: Build::Fields(|_| LineParser::from(AccessParser::new(true))),
    last_directive: None,
};

/// Common access logs in the registry: detected when more lines lack the
/// referer and user agent than have them.
pub(super) static COMMON: FormatSpec = FormatSpec {
    name: "common",
    help: "NCSA common access log, plus trailing fields",
    detect: Detect::Lines { reads: reads_common, rank: 2, first_byte: None },
    build: Build::Fields(|_| LineParser::from(AccessParser::new(false))),
    last_directive: None,
};

/// Which of `lines` are access-log lines with the referer and user agent.
fn reads_combined(lines: &[&[u8]]) -> Vec<bool> {
    reads_layout(lines, true)
}

/// Which of `lines` are access-log lines without the referer and user
/// agent.
fn reads_common(lines: &[&[u8]]) -> Vec<bool> {
    reads_layout(lines, false)
}

/// Which of `lines` parse as access-log lines of the combined layout
/// (`combined`) or only of the common one.
fn reads_layout(lines: &[&[u8]], combined: bool) -> Vec<bool> {
    let mut parser = AccessParser::new(true);
    lines.iter().map(|line| parser.parse_layout(line, false, &mut Record::default()) == Ok(combined)).collect()
}

/// Parses common or combined access-log lines. One per worker thread.
#[derive(Debug, Default)]
pub struct AccessParser {
    combined: bool,
    times: TimeParser,
}

impl ParseLine for AccessParser {
    fn parse_line<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        self.parse(line, full, record)
    }

    fn lookup<'a>(&mut self, line: &'a [u8], field: FieldRef<'_>) -> Option<Cow<'a, [u8]>> {
        let FieldRef::Variable(name) = field else { return None };
        let fields = Fields::read(&mut Cursor { line, pos: 0 }, self.combined).ok()?;
        let value = match name {
            "status" => return Some(Cow::Owned(fields.status.to_string().into_bytes())),
            name => fields.variable(name)?,
        };
        (!is_absent(value)).then_some(Cow::Borrowed(value))
    }
}

/// Latencies used when no `rt=` or bare decimal is logged, best first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LatencySource {
    ApacheMicros,
    UpstreamKey,
}

impl AccessParser {
    /// A parser for the combined layout (`combined = true`) or the common one.
    pub fn new(combined: bool) -> Self {
        AccessParser { combined, times: TimeParser::default() }
    }

    /// Parses one line. See [`super::LineParser::parse`]. Without `full`,
    /// only time, status and latency are filled in, and trailing fields after
    /// the latency are not read.
    ///
    /// # Complexity
    ///
    /// One pass over the line, at most.
    pub fn parse<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        self.parse_layout(line, full, record).map(|_| ())
    }

    /// Parses a line and says whether it has the referer and user-agent
    /// fields of the combined layout.
    fn parse_layout<'a>(
        &mut self,
        line: &'a [u8],
        full: bool,
        record: &mut Record<'a>,
    ) -> Result<bool, Malformed> {
        let mut cur = Cursor { line, pos: 0 };
        let fields = Fields::read(&mut cur, self.combined)?;
        record.time = self.times.parse_clf(fields.time);
        record.invalid.time = record.time.is_none();
        record.status = Some(fields.status);
        if full {
            (record.method, record.uri) = split_request(fields.request);
            record.client = Some(fields.client);
        }
        record.not_body.push(0..cur.pos);
        self.trailing(&mut cur, record, full)?;
        Ok(fields.referer_and_agent.is_some())
    }

    /// Reads the trailing fields: the latency (see the module docs) and the
    /// request id. A quoted field opened and never closed means the line
    /// was cut short.
    fn trailing<'a>(&mut self, cur: &mut Cursor<'a>, record: &mut Record<'a>, full: bool) -> Result<(), Malformed> {
        let mut fallback: Option<(LatencySource, u64)> = None;
        let mut latency_final = false;
        let mut first = true;
        while cur.skip_spaces() && (full || !latency_final) {
            let is_first = std::mem::replace(&mut first, false);
            if cur.peek_quote() {
                let inside = cur.quoted().ok_or(Malformed::Truncated)?;
                if !latency_final && is_decimal(inside) {
                    record.latency_us = parse_scaled(inside, 6);
                    latency_final = record.latency_us.is_some();
                }
                continue;
            }
            let token = cur.token().ok_or(Malformed::Truncated)?;
            if let Some((key, value)) = split_key_value(token) {
                let value = unquote(value);
                match key {
                    b"rt" | b"request_time" if !latency_final => {
                        record.latency_us = parse_scaled(value, 6);
                        latency_final = record.latency_us.is_some();
                        record.invalid.latency |= !latency_final && !is_absent(value);
                    }
                    b"urt" | b"upstream_response_time" => {
                        if let Some(us) = upstream_micros(value) {
                            offer(&mut fallback, LatencySource::UpstreamKey, us);
                        }
                    }
                    b"request_id" | b"rid" | b"req_id" => record.request_id = Some(value),
                    _ => {}
                }
            } else if token.len() == 32 && token.iter().all(u8::is_ascii_hexdigit) {
                record.request_id = Some(token);
            } else if !latency_final && is_decimal(token) {
                record.latency_us = parse_scaled(token, 6);
                latency_final = record.latency_us.is_some();
            } else if !latency_final && token.first() == Some(&b'-') && is_decimal(&token[1..]) {
                record.invalid.latency = true;
            } else if is_first
                && token.iter().all(u8::is_ascii_digit)
                && let Some(us) = parse_scaled(token, 0)
            {
                offer(&mut fallback, LatencySource::ApacheMicros, us);
            }
        }
        if !latency_final {
            record.latency_us = fallback.map(|(_, us)| us);
        }
        // Fields after the latency are not read without `full`, but one
        // opened and never closed still means the line was cut short.
        cur.skip_rest().ok_or(Malformed::Truncated)
    }
}

/// `0.052`: digits with one dot.
fn is_decimal(token: &[u8]) -> bool {
    let mut dots = 0;
    for &b in token {
        match b {
            b'0'..=b'9' => {}
            b'.' => dots += 1,
            _ => return false,
        }
    }
    dots == 1 && token.len() > 1
}

/// Keeps the better of two fallback latencies.
fn offer(best: &mut Option<(LatencySource, u64)>, source: LatencySource, us: u64) {
    if best.is_none_or(|(current, _)| source < current) {
        *best = Some((source, us));
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

/// The fields of the layout, before the trailing ones.
struct Fields<'a> {
    /// `$host:$server_port` of nginx's `vhost_combined`.
    host: Option<&'a [u8]>,
    client: &'a [u8],
    user: &'a [u8],
    time: &'a [u8],
    request: &'a [u8],
    status: u16,
    bytes: &'a [u8],
    /// The referer and user agent, when the line has them.
    referer_and_agent: Option<(&'a [u8], &'a [u8])>,
}

impl<'a> Fields<'a> {
    /// Reads the fields at `cur`, leaving it after the last one of the
    /// layout (`combined`: with the referer and user agent, when the line
    /// has them).
    #[inline(always)]
    fn read(cur: &mut Cursor<'a>, combined: bool) -> Result<Fields<'a>, Malformed> {
        let mut host = None;
        let mut client = cur.word().ok_or(Malformed::NotAccessLog)?;
        let ident = cur.word().ok_or(Malformed::NotAccessLog)?;
        let mut user = cur.word().ok_or(Malformed::NotAccessLog)?;
        let time = match cur.bracketed() {
            Some(time) => time,
            // nginx's `vhost_combined`: `$host:$server_port` first.
            None if memchr::memchr(b':', client).is_some() => {
                host = Some(client);
                (client, user) = (ident, cur.word().ok_or(Malformed::NotAccessLog)?);
                cur.bracketed().ok_or(Malformed::NotAccessLog)?
            }
            None => return Err(Malformed::NotAccessLog),
        };
        let request = match cur.quoted() {
            Some(request) => request,
            None if cur.peek_quote() => return Err(Malformed::Truncated),
            None => return Err(Malformed::NotAccessLog),
        };
        let status = cur.word().and_then(parse_status).ok_or(Malformed::NotAccessLog)?;
        let bytes = cur.word().ok_or(Malformed::NotAccessLog)?;
        if bytes != b"-" && !bytes.iter().all(u8::is_ascii_digit) {
            return Err(Malformed::NotAccessLog);
        }
        let after_bytes = cur.pos;
        let referer_and_agent = match cur.peek_quote() {
            true => cur.quoted().zip(cur.quoted()),
            false => None,
        };
        if !(combined && referer_and_agent.is_some()) {
            cur.pos = after_bytes;
        }
        Ok(Fields { host, client, user, time, request, status, bytes, referer_and_agent })
    }

    /// The value of the nginx variable `name` (without `$`).
    fn variable(&self, name: &str) -> Option<&'a [u8]> {
        Some(match name {
            // `$host:$server_port`: the host is before the last colon.
            "host" => self.host.map(|host| memchr::memrchr(b':', host).map_or(host, |colon| &host[..colon]))?,
            "remote_addr" => self.client,
            "remote_user" => self.user,
            "time_local" => self.time,
            "request" => self.request,
            "body_bytes_sent" => self.bytes,
            "http_referer" => self.referer_and_agent?.0,
            "http_user_agent" => self.referer_and_agent?.1,
            _ => return None,
        })
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

    /// The next space-delimited word.
    fn word(&mut self) -> Option<&'a [u8]> {
        if !self.skip_spaces() {
            return None;
        }
        let start = self.pos;
        while self.pos < self.line.len() && self.line[self.pos] != b' ' {
            self.pos += 1;
        }
        Some(&self.line[start..self.pos])
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

    /// Skips what is left of the line; `None` when a quoted field (or a
    /// `key="value"`) in it never closes. A `"` opens a quoted value where
    /// [`Cursor::quoted`] and [`Cursor::token`] would open one: at the
    /// start of a field or after `=`.
    ///
    /// # Complexity
    ///
    /// Constant for the usual line, which ends with a closing quote
    /// ([`ends_outside_quotes`]); else one `memchr` pass over the rest.
    fn skip_rest(&mut self) -> Option<()> {
        if self.pos < self.line.len() && ends_outside_quotes(self.line) {
            self.pos = self.line.len();
            return Some(());
        }
        self.walk_rest()
    }

    /// [`Cursor::skip_rest`] the long way: quoted field by quoted field.
    fn walk_rest(&mut self) -> Option<()> {
        while let Some(at) = memchr::memchr(b'"', &self.line[self.pos..]) {
            let quote = self.pos + at;
            self.pos = match self.line[..quote].last() {
                None | Some(b' ' | b'=') => self.string_end(quote)?,
                Some(_) => quote + 1,
            };
        }
        self.pos = self.line.len();
        Some(())
    }

    /// `[...]`, returning the inside.
    fn bracketed(&mut self) -> Option<&'a [u8]> {
        if !self.skip_spaces() || self.line[self.pos] != b'[' {
            return None;
        }
        // `[27/Nov/2026:10:00:00 +0000]` is 28 bytes in nearly every log.
        let len = match self.line.get(self.pos + 27) {
            Some(b']') => 27,
            _ => memchr::memchr(b']', &self.line[self.pos..])?,
        };
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
        crate::lex::json::skip_string(self.line, start)
    }
}

/// True when `line` ends with a `"` that neither is escaped (no `\\`
/// before it) nor opens a value (no space or `=` before it). Such a quote
/// closes the value open before it, if any, so no quoted value of the line
/// is left open: the walk of [`Cursor::skip_rest`] would agree, without
/// looking at the rest of the line.
fn ends_outside_quotes(line: &[u8]) -> bool {
    matches!(line, [.., before, b'"'] if !matches!(before, b'\\' | b' ' | b'='))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMBINED: &str = r#"203.0.113.7 - - [27/Nov/2026:06:54:04 +0000] "POST /v3/0a1b/tracker HTTP/1.1" 400 91 "-" "python-requests/2.31""#;

    fn parse(combined: bool, line: &str) -> Result<Record<'_>, Malformed> {
        let mut record = Record::default();
        AccessParser::new(combined).parse(line.as_bytes(), true, &mut record).map(|()| record)
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
    fn an_unterminated_trailing_quote_ends_the_line() {
        // Found by the parse_line fuzz target: this used to loop forever.
        let line = format!(r#"{COMBINED} "0.05"#);
        assert_eq!(parse(true, &line), Err(Malformed::Truncated));
    }

    #[test]
    fn lines_cut_inside_a_quoted_field_are_truncated() {
        for cut in [
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0 200 1"#.to_owned(),
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1 "-" "Mozilla/5.0 (X11"#.to_owned(),
            format!(r#"{COMBINED} 0.050 "{{\x22error_code\x22:\x22CTS.00"#),
            format!(r#"{COMBINED} 0.050 body="{{\x22error_code"#),
        ] {
            assert_eq!(parse(true, &cut), Err(Malformed::Truncated), "{cut}");
        }
        // Without `full` too, where the fields after the latency are not
        // read (issue 19: `… 0.085 "{\x` counted as a request).
        for cut in [
            format!(r#"{COMBINED} 0.085 "{{\x"#),
            format!(r#"{COMBINED} 0.085 "0.004, 0.010" 5f2b8c3d9e0a4b1c8d7e6f5a4b3c2d1e "{{cut"#),
            format!(r#"{COMBINED} 0.085 body="{{cut"#),
            format!(r#"{COMBINED} 0.085 "ok" ""#),
        ] {
            let parsed = AccessParser::new(true).parse(cut.as_bytes(), false, &mut Record::default());
            assert_eq!(parsed, Err(Malformed::Truncated), "{cut}");
        }
    }

    #[test]
    fn the_closing_quote_shortcut_agrees_with_the_walk() {
        // Every rest of up to 7 bytes over the bytes that matter.
        let alphabet = [b'"', b'\\', b' ', b'=', b'a'];
        let mut rests: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..7 {
            let longer: Vec<Vec<u8>> = rests
                .iter()
                .filter(|r| r.len() == rests.last().unwrap().len())
                .flat_map(|r| alphabet.map(|b| [r.as_slice(), &[b]].concat()))
                .collect();
            rests.extend(longer);
        }
        for rest in rests {
            let line = [b"0.085 ".as_slice(), &rest].concat();
            let mut shortcut = Cursor { line: &line, pos: 6 };
            let mut walk = Cursor { line: &line, pos: 6 };
            assert_eq!(shortcut.skip_rest(), walk.walk_rest(), "{:?}", String::from_utf8_lossy(&line));
        }
    }

    #[test]
    fn closed_quoted_fields_with_escaped_quotes_are_whole_lines() {
        for line in [
            format!(r#"{COMBINED} 0.085 "{{\x22error_msg\x22:\x22a \x5C\x22q\x5C\x22\x22}}""#),
            format!(r#"{COMBINED} 0.085 "{{\"error_msg\":\"a \\\"q\\\"\"}}" "-""#),
            format!(r#"{COMBINED} 0.085 urt="0.004, 0.010" a"b 5f2b8c3d9e0a4b1c8d7e6f5a4b3c2d1e"#),
            format!(r#"{COMBINED} 0.085"#),
        ] {
            for full in [false, true] {
                let parsed = AccessParser::new(true).parse(line.as_bytes(), full, &mut Record::default());
                assert_eq!(parsed, Ok(()), "{line} (full: {full})");
            }
        }
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
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" OK 1"#,
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 x1"#,
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200"#,
        ] {
            assert_eq!(parse(true, bad), Err(Malformed::NotAccessLog), "{bad}");
        }
    }
}
