//! Access logs in a user-defined layout: an nginx `log_format` string
//! (`$remote_addr - $remote_user [$time_local] "$request" …`) or an Apache
//! `LogFormat` string (`%h %l %u %t "%r" %>s %b %D`).
//!
//! The layout compiles to literals and fields. A line matches when every
//! literal is found in order; a field's value runs to the next literal (to
//! the next unescaped `"` inside quotes, so nginx `escape=json` and Apache's
//! `\"` both work). Variables the record does not need are skipped.
//!
//! | record | nginx | Apache |
//! | --- | --- | --- |
//! | time | `$time_local`, `$time_iso8601`, `$msec` | `%t`, `%{sec}t`, `%{msec}t` |
//! | status | `$status` | `%>s`, `%s` |
//! | latency | `$request_time` (s); else `$upstream_response_time` (s, all listed upstreams summed) | `%D` (µs), `%{us}T`, `%{ms}T`, `%T` (s) |
//! | method, uri | `$request`, `$request_method`, `$request_uri`, `$uri` | `%r`, `%m`, `%U` |
//! | client | `$remote_addr`, `$http_x_forwarded_for` | `%h`, `%a` |
//! | request id | `$request_id`, `$http_x_request_id` | `%{X-Request-Id}i` |
//! | not a body | `$http_user_agent`, `$http_referer`, `$request_body` | `%{User-Agent}i`, `%{Referer}i` |

use std::borrow::Cow;

use memchr::memmem;

use super::{Build, Detect, FieldRef, FormatSpec, LineParser, ParseLine};
use crate::error::Error;
use crate::lex::number::{parse_scaled, parse_status, upstream_micros};
use crate::lex::text::{is_absent, split_request};
use crate::lex::time::{TimeParser, epoch_number};
use crate::record::{Malformed, Record, first_forwarded};

/// `--log-format` layouts in the registry: never detected, built from the
/// layout given.
pub(super) static CUSTOM: FormatSpec = FormatSpec {
    name: "custom",
    help: "A layout given with --log-format",
    detect: Detect::Never,
    build: Build::Layout(|layout| LineParser::from(CustomParser::new(layout.clone()))),
    last_directive: None,
};

/// What a variable feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    TimeLocal,
    TimeIso,
    TimeEpochSeconds,
    TimeEpochMillis,
    Status,
    RequestTime { scale: u32 },
    UpstreamTime,
    Request,
    Method,
    Uri,
    Client,
    RequestId,
    NotBody,
    Other,
}

/// One piece of a layout.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Literal(Vec<u8>),
    /// A variable: what it feeds, and its nginx name without `$`
    /// (`remote_user`; Apache directives get the nginx name of the same
    /// value, `%{Host}i` is `http_host`).
    Field(Slot, Box<str>),
}

/// A compiled log layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFormat {
    items: Vec<Item>,
}

impl LogFormat {
    /// Compiles an nginx `log_format` or Apache `LogFormat` string. The
    /// nginx directive itself (`log_format main escape=json`) and the
    /// quoting of a multi-line definition (`'…' '…'`) may be included.
    ///
    /// # Errors
    ///
    /// When the string has no variable at all, or two variables with
    /// nothing between them (their values could not be told apart).
    pub fn parse(text: &str) -> Result<LogFormat, Error> {
        let body = strip_directive(text);
        let items = if body.contains('$') {
            compile(&body, b'$', nginx_directive)
        } else {
            compile(&body, b'%', apache_directive)
        };
        let error = |reason: &str| Error::LogFormat { format: text.to_owned(), reason: reason.to_owned() };
        if !items.iter().any(|i| matches!(i, Item::Field(..))) {
            return Err(error("it has no $variable or %directive"));
        }
        if items.windows(2).any(|w| matches!(w, [Item::Field(..), Item::Field(..)])) {
            return Err(error("two variables follow each other with no text between them"));
        }
        Ok(LogFormat { items })
    }
}

/// `log_format main escape=json '…' '…';` → the concatenated layout.
fn strip_directive(text: &str) -> String {
    let mut text = text.trim().trim_end_matches(';').trim();
    if let Some(rest) = text.strip_prefix("log_format") {
        let mut words = rest.trim_start().splitn(2, char::is_whitespace);
        words.next();
        text = words.next().unwrap_or("").trim_start();
        if let Some(rest) = text.strip_prefix("escape=") {
            text = rest.split_once(char::is_whitespace).map_or("", |(_, rest)| rest).trim_start();
        }
    }
    if text.starts_with('\'') {
        // Adjacent single-quoted pieces, as in nginx.conf.
        return text.split('\'').skip(1).step_by(2).collect();
    }
    text.to_owned()
}

fn push_literal(items: &mut Vec<Item>, text: &[u8]) {
    if text.is_empty() {
        return;
    }
    match items.last_mut() {
        Some(Item::Literal(lit)) => lit.extend_from_slice(text),
        _ => items.push(Item::Literal(text.to_vec())),
    }
}

/// Splits a layout into literals and the directives that start at each
/// `sigil`; `directive` reads one at the given index, pushes what it
/// means, and returns the index just past it.
fn compile(body: &str, sigil: u8, directive: fn(&str, usize, &mut Vec<Item>) -> usize) -> Vec<Item> {
    let bytes = body.as_bytes();
    let mut items = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let next = memchr::memchr(sigil, &bytes[i..]).map_or(bytes.len(), |n| i + n);
        push_literal(&mut items, &bytes[i..next]);
        i = if next < bytes.len() { directive(body, next, &mut items) } else { next };
    }
    items
}

/// `$name` or `${name}` at `i`; a lone `$` is literal.
fn nginx_directive(body: &str, i: usize, items: &mut Vec<Item>) -> usize {
    let bytes = body.as_bytes();
    let (name, end) = if bytes.get(i + 1) == Some(&b'{') {
        let close = memchr::memchr(b'}', &bytes[i..]).map_or(bytes.len(), |n| i + n);
        (&body[i + 2..close], (close + 1).min(bytes.len()))
    } else {
        let len = bytes[i + 1..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
        (&body[i + 1..i + 1 + len], i + 1 + len)
    };
    if name.is_empty() {
        push_literal(items, b"$");
        return i + 1;
    }
    items.push(Item::Field(nginx_slot(name), name.into()));
    end
}

fn nginx_slot(name: &str) -> Slot {
    match name {
        "time_local" => Slot::TimeLocal,
        "time_iso8601" => Slot::TimeIso,
        "msec" => Slot::TimeEpochSeconds,
        "status" => Slot::Status,
        "request_time" => Slot::RequestTime { scale: 6 },
        "upstream_response_time" => Slot::UpstreamTime,
        "request" => Slot::Request,
        "request_method" => Slot::Method,
        "request_uri" | "uri" | "document_uri" => Slot::Uri,
        "remote_addr" | "http_x_forwarded_for" | "http_x_real_ip" => Slot::Client,
        "request_id" | "http_x_request_id" => Slot::RequestId,
        "http_user_agent" | "http_referer" | "request_body" => Slot::NotBody,
        _ => Slot::Other,
    }
}

/// `%…` at `i`: modifiers, an optional `{argument}`, one letter; `%%` is a
/// literal `%`.
fn apache_directive(body: &str, i: usize, items: &mut Vec<Item>) -> usize {
    let bytes = body.as_bytes();
    let mut j = i + 1;
    // Modifiers: `>`, `<`, status lists like `!200,304`.
    while j < bytes.len() && matches!(bytes[j], b'>' | b'<' | b'!' | b',' | b'0'..=b'9') {
        j += 1;
    }
    let mut argument = "";
    if bytes.get(j) == Some(&b'{') {
        let close = memchr::memchr(b'}', &bytes[j..]).map_or(bytes.len() - 1, |n| j + n);
        argument = &body[j + 1..close];
        j = close + 1;
    }
    let Some(&directive) = bytes.get(j) else {
        push_literal(items, &bytes[i..]);
        return bytes.len();
    };
    match directive {
        b'%' => push_literal(items, b"%"),
        // `%t` prints `[10/Oct/2000:13:55:36 -0700]`, brackets included.
        b't' if argument.is_empty() => {
            push_literal(items, b"[");
            items.push(Item::Field(Slot::TimeLocal, "time_local".into()));
            push_literal(items, b"]");
        }
        _ => items.push(Item::Field(apache_slot(directive, argument), apache_name(directive, argument).into())),
    }
    j + 1
}

fn apache_slot(directive: u8, argument: &str) -> Slot {
    match (directive, argument.to_ascii_lowercase().as_str()) {
        (b't', "sec") => Slot::TimeEpochSeconds,
        (b't', "msec") => Slot::TimeEpochMillis,
        (b's', _) => Slot::Status,
        (b'D', _) | (b'T', "us") => Slot::RequestTime { scale: 0 },
        (b'T', "ms") => Slot::RequestTime { scale: 3 },
        (b'T', _) => Slot::RequestTime { scale: 6 },
        (b'r', _) => Slot::Request,
        (b'm', _) => Slot::Method,
        (b'U', _) => Slot::Uri,
        (b'h' | b'a', _) => Slot::Client,
        (b'i', "x-request-id") => Slot::RequestId,
        (b'i', "user-agent" | "referer") => Slot::NotBody,
        _ => Slot::Other,
    }
}

/// The nginx variable an Apache directive logs the value of: `%u` is
/// `remote_user`, `%{X-Forwarded-For}i` is `http_x_forwarded_for`.
fn apache_name(directive: u8, argument: &str) -> String {
    let header = |prefix: &str| format!("{prefix}{}", argument.to_ascii_lowercase().replace('-', "_"));
    match directive {
        b'h' | b'a' => "remote_addr".to_owned(),
        b'u' => "remote_user".to_owned(),
        b'r' => "request".to_owned(),
        b's' => "status".to_owned(),
        b'm' => "request_method".to_owned(),
        b'U' => "uri".to_owned(),
        b'v' => "server_name".to_owned(),
        b'V' => "host".to_owned(),
        b'b' | b'B' => "body_bytes_sent".to_owned(),
        b'i' => header("http_"),
        b'o' => header("sent_http_"),
        b'e' | b'n' => argument.to_owned(),
        other => format!("%{}", char::from(other)),
    }
}

impl ParseLine for CustomParser {
    fn parse_line<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        self.parse(line, full, record)
    }

    fn lookup<'a>(&mut self, line: &'a [u8], field: FieldRef<'_>) -> Option<Cow<'a, [u8]>> {
        let FieldRef::Variable(wanted) = field else { return None };
        let mut found = None;
        self.format.walk(line, |_, name, value, _| {
            if found.is_none() && name == wanted && !is_absent(value) {
                found = Some(Cow::Borrowed(value));
            }
        })
        .ok()?;
        found
    }
}

/// Parses lines of one [`LogFormat`]. One per worker thread.
#[derive(Debug)]
pub struct CustomParser {
    format: LogFormat,
    times: TimeParser,
}

impl CustomParser {
    /// A parser for `format`.
    pub fn new(format: LogFormat) -> Self {
        CustomParser { format, times: TimeParser::default() }
    }

    /// Parses one line. See [`super::LineParser::parse`]. Without `full`,
    /// only time, status and latency are filled in.
    ///
    /// # Complexity
    ///
    /// One pass over the line: one substring search per literal.
    pub fn parse<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        let CustomParser { format, times } = self;
        let mut upstream = None;
        format.walk(line, |slot, _, value, span| {
            if slot == Slot::UpstreamTime {
                upstream = upstream_micros(value);
            } else {
                assign(times, record, slot, value, span, full);
            }
        })?;
        if record.latency_us.is_none() {
            record.latency_us = upstream;
        }
        Ok(())
    }
}

impl LogFormat {
    /// Calls `each` with every variable of `line`: its slot, name, value
    /// and span, in layout order. Fails when the line does not have the
    /// layout.
    ///
    /// # Complexity
    ///
    /// One pass over the line: one substring search per literal.
    #[inline(always)]
    fn walk<'a>(
        &self,
        line: &'a [u8],
        mut each: impl FnMut(Slot, &str, &'a [u8], std::ops::Range<usize>),
    ) -> Result<(), Malformed> {
        let items = &self.items;
        let mut pos = 0;
        for (i, item) in items.iter().enumerate() {
            match item {
                Item::Literal(literal) => {
                    if !line[pos..].starts_with(literal) {
                        return Err(Malformed::NotAccessLog);
                    }
                    pos += literal.len();
                }
                Item::Field(slot, name) => {
                    let quoted = i > 0 && matches!(&items[i - 1], Item::Literal(l) if l.ends_with(b"\""));
                    let next = match items.get(i + 1) {
                        Some(Item::Literal(next)) => Some(&next[..]),
                        _ => None,
                    };
                    let end = match field_end(line, pos, *slot, quoted, next) {
                        Some(end) => end,
                        // A quoted value that never closes: cut short.
                        None if quoted && closing_quote(line, pos).is_none() => {
                            return Err(Malformed::Truncated);
                        }
                        None => return Err(Malformed::NotAccessLog),
                    };
                    each(*slot, name, &line[pos..end], pos..end);
                    pos = end;
                }
            }
        }
        if !line[pos..].trim_ascii().is_empty() {
            return Err(Malformed::NotAccessLog);
        }
        Ok(())
    }
}

/// Puts a field's value where it belongs in the record.
fn assign<'a>(
    times: &mut TimeParser,
    record: &mut Record<'a>,
    slot: Slot,
    value: &'a [u8],
    span: std::ops::Range<usize>,
    full: bool,
) {
    let absent = is_absent(value);
    match slot {
        Slot::TimeLocal | Slot::TimeIso => {
            record.time = times.parse_text(value);
            record.invalid.time = record.time.is_none() && !absent;
        }
        Slot::TimeEpochSeconds | Slot::TimeEpochMillis => {
            record.time = match slot {
                Slot::TimeEpochMillis => parse_scaled(value, 0).map(|ms| ms as i64),
                _ => epoch_number(value),
            };
            record.invalid.time = record.time.is_none() && !absent;
        }
        Slot::Status => {
            record.status = parse_status(value);
            record.invalid.status = record.status.is_none() && !absent;
        }
        Slot::RequestTime { scale } => {
            record.latency_us = parse_scaled(value, scale);
            record.invalid.latency = record.latency_us.is_none() && !absent;
        }
        Slot::Request | Slot::Method | Slot::Uri | Slot::NotBody if full => {
            record.not_body.push(span);
            match slot {
                Slot::Request => {
                    let (method, uri) = split_request(value);
                    record.method = record.method.or(method);
                    record.uri = record.uri.or(uri);
                }
                Slot::Method => record.method = Some(value),
                Slot::Uri => record.uri = Some(value),
                _ => {}
            }
        }
        Slot::Client if full => record.client = Some(first_forwarded(value)),
        Slot::RequestId if full && !absent => record.request_id = Some(value),
        _ => {}
    }
}

/// Inside quotes from `pos`: the next quote not escaped by a backslash.
fn closing_quote(line: &[u8], pos: usize) -> Option<usize> {
    let mut i = pos;
    loop {
        let found = memchr::memchr2(b'"', b'\\', line.get(i..)?)? + i;
        if line[found] == b'"' {
            return Some(found);
        }
        i = found + 2;
    }
}

/// Where the value of a field starting at `pos` ends.
fn field_end(line: &[u8], pos: usize, slot: Slot, quoted: bool, next: Option<&[u8]>) -> Option<usize> {
    let Some(next) = next else {
        return Some(line.len());
    };
    if quoted && next.starts_with(b"\"") {
        return closing_quote(line, pos);
    }
    if slot == Slot::TimeLocal && line.len() >= pos + 26 && line[pos + 26..].starts_with(next) {
        // `27/Nov/2026:10:00:00 +0000` holds a space.
        return Some(pos + 26);
    }
    let mut end = memmem::find(&line[pos..], next)? + pos;
    if next.starts_with(b" ") {
        // nginx lists (`$upstream_addr`, `$upstream_response_time`, …) hold
        // spaces: `0.004, 0.010 : 0.002`.
        while line[pos..end].ends_with(b",") || line[end..].starts_with(b" : ") {
            let skip = if line[end..].starts_with(b" : ") { end + 3 } else { end + next.len() };
            // The value can only grow up to a later occurrence of the text
            // that must follow it.
            match line.get(skip..).and_then(|rest| memmem::find(rest, next)) {
                Some(n) => end = skip + n,
                None => break,
            }
        }
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<'a>(format: &str, line: &'a str) -> Result<Record<'a>, Malformed> {
        let mut parser = CustomParser::new(LogFormat::parse(format).unwrap());
        let mut record = Record::default();
        parser.parse(line.as_bytes(), true, &mut record).map(|()| record)
    }

    /// `log_format` strings as they appear in real configurations.
    const NGINX_FORMATS: [(&str, &str); 6] = [
        (
            // nginx's predefined combined format
            r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
            r#"203.0.113.7 - - [27/Nov/2026:10:00:00 +0000] "POST /v3/p1/tracker HTTP/1.1" 400 91 "-" "curl/8""#,
        ),
        (
            // a "main" format with timings, as in many nginx.conf files
            r#"log_format main '$remote_addr - $remote_user [$time_local] "$request" ' '$status $body_bytes_sent "$http_referer" ' '"$http_user_agent" "$http_x_forwarded_for" rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time"';"#,
            r#"10.0.0.1 - - [27/Nov/2026:10:00:00 +0000] "GET /v3/p1/traces HTTP/1.1" 200 512 "-" "ua" "-" rt=0.052 uct="0.001" uht="0.050" urt="0.050""#,
        ),
        (
            // escape=json with the response body logged
            r#"log_format api escape=json '{"time":"$time_iso8601","client":"$remote_addr","request":"$request","status":$status,"rt":$request_time,"id":"$request_id","body":"$resp_body"}';"#,
            r#"{"time":"2026-11-27T10:00:00+00:00","client":"10.0.0.2","request":"POST /v3/p1/tracker HTTP/1.1","status":400,"rt":0.120,"id":"5f2b8c3d9e0a4b1c8d7e6f5a4b3c2d1e","body":"{\"error_code\":\"CTS.0003\",\"error_msg\":\"x\"}"}"#,
        ),
        (
            // ingress-nginx's upstreaminfo format
            r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id"#,
            r#"10.1.2.3 - - [27/Nov/2026:10:00:00 +0000] "GET /v3/p1/quotas HTTP/2.0" 401 70 "-" "sdk" 512 0.004 [default-cts-80] [] 10.244.0.9:8080, 10.244.0.10:8080 70, 70 0.002, 0.002 502, 401 abc123"#,
        ),
        (
            // default escaping with a quoted body and $msec
            r#"$msec $remote_addr "$request" $status $request_time $upstream_response_time $request_id "$resp_body""#,
            r#"1795768800.250 10.0.0.3 "PUT /v3/p1/tracker HTTP/1.1" 500 0.300 0.004, 0.296 : 0.001 8a2b8c3d9e0a4b1c8d7e6f5a4b3c2d1e "{\x22error_code\x22:\x22CTS.0004\x22}""#,
        ),
        (
            // time first, no request time: the upstream time counts
            r#"[$time_local] $status "$request" upstream=$upstream_response_time"#,
            r#"[27/Nov/2026:10:00:00 +0000] 502 "GET /v3/p1/traces HTTP/1.1" upstream=0.004, 0.010 : 0.002"#,
        ),
    ];

    #[test]
    fn real_nginx_formats_parse_their_lines() {
        let expected: [(Option<u16>, Option<u64>, &str); 6] = [
            (Some(400), None, "/v3/p1/tracker"),
            (Some(200), Some(52_000), "/v3/p1/traces"),
            (Some(400), Some(120_000), "/v3/p1/tracker"),
            (Some(401), Some(4_000), "/v3/p1/quotas"),
            (Some(500), Some(300_000), "/v3/p1/tracker"),
            (Some(502), Some(16_000), "/v3/p1/traces"),
        ];
        for ((format, line), (status, latency, uri)) in NGINX_FORMATS.iter().zip(expected) {
            let record = parse(format, line).unwrap_or_else(|e| panic!("{e:?}: {format}\n{line}"));
            assert_eq!(record.status, status, "{format}");
            assert_eq!(record.latency_us, latency, "{format}");
            assert_eq!(record.uri, Some(uri.as_bytes()), "{format}");
            assert!(record.time.is_some(), "{format}");
        }
    }

    #[test]
    fn apache_formats() {
        let r = parse(
            r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D"#,
            r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a \"b\" HTTP/1.0" 200 2326 "-" "Mozilla" 52345"#,
        )
        .unwrap();
        assert_eq!((r.status, r.latency_us, r.time), (Some(200), Some(52_345), Some(971_211_336_000)));
        let r = parse(
            r#"%h %t "%r" %s %{ms}T %{X-Request-Id}i"#,
            r#"::1 [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 503 12 rid-9"#,
        )
        .unwrap();
        assert_eq!((r.status, r.latency_us, r.request_id), (Some(503), Some(12_000), Some(&b"rid-9"[..])));
    }

    #[test]
    fn lines_of_another_layout_are_malformed() {
        let format = NGINX_FORMATS[1].0;
        assert_eq!(parse(format, NGINX_FORMATS[0].1), Err(Malformed::NotAccessLog));
        assert_eq!(parse(format, ""), Err(Malformed::NotAccessLog));
    }

    #[test]
    fn lines_cut_inside_a_quoted_value_are_truncated() {
        let format = r#"$remote_addr "$request" $status "$resp_body""#;
        for cut in [
            r#"10.0.0.1 "GET / HTTP/1.1" 400 "{\"error_code\":\"CTS.0003\",\"error_msg\":\"Inv"#,
            r#"10.0.0.1 "GET / HTTP/1.1" 400 "{\x22error_code\x22:\x22CTS.00"#,
            r#"10.0.0.1 "GET / HTTP/1.1" 400 "{\"a\":\"b\\"#,
        ] {
            assert_eq!(parse(format, cut).err(), Some(Malformed::Truncated), "{cut}");
        }
        let whole = r#"10.0.0.1 "GET / HTTP/1.1" 400 "{\"error_code\":\"CTS.0003\",\"error_msg\":\"a \\\"q\\\"\"}""#;
        assert_eq!(parse(format, whole).map(|r| r.status), Ok(Some(400)));
    }

    #[test]
    fn fuzz_found_lines_do_not_panic() {
        let crash = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fuzz/regressions/parse_line/crash-866e765c8b1fa2931fa9bfa660dc2282c1c59698"
        ))
        .unwrap();
        let format = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rt=$request_time urt="$upstream_response_time" "$resp_body""#;
        let mut parser = CustomParser::new(LogFormat::parse(format).unwrap());
        let _ = parser.parse(&crash, true, &mut Record::default());
        assert_eq!(parse("$status $upstream_addr $request_time", "200 a, b,").unwrap().latency_us, None);
    }

    #[test]
    fn bad_layouts_are_rejected() {
        assert!(LogFormat::parse("no variables here").is_err());
        assert!(LogFormat::parse("$status$request_time").is_err());
        assert!(LogFormat::parse("%h%u").is_err());
    }
}
