//! HAProxy's HTTP log format (`option httplog`), with or without its
//! syslog tag:
//!
//! ```text
//! haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"
//! ```
//!
//! The accept date is read as UTC (HAProxy logs local time without a zone).
//! The latency is the last timer: `Ta` (total active time, HAProxy 1.7+)
//! or `Tt` (older versions), in milliseconds; `-1` (aborted) is an unusable
//! latency. Lines that are not HTTP requests (start-up and health messages)
//! are malformed lines of the kind `not-request`.

use super::{Build, Detect, FormatSpec, LineParser, ParseLine};
use crate::lex::number::{parse_scaled, parse_status};
use crate::lex::text::split_request;
use crate::lex::time::TimeParser;
use crate::record::{Malformed, Record};

/// HAProxy in the registry: detected when more lines are HAProxy's than
/// access-log lines.
pub(super) static HAPROXY: FormatSpec = FormatSpec {
    name: "haproxy",
    help: "HAProxy HTTP log",
    detect: Detect::Lines { reads, rank: 1, first_byte: None },
    build: Build::Fields(|_| LineParser::from(HaproxyParser::default())),
    last_directive: None,
};

/// Which of `lines` parse as HAProxy HTTP log lines.
fn reads(lines: &[&[u8]]) -> Vec<bool> {
    let mut parser = HaproxyParser::default();
    lines.iter().map(|line| parser.parse(line, false, &mut Record::default()).is_ok()).collect()
}

/// Parses HAProxy HTTP log lines. One per worker thread.
#[derive(Debug, Default)]
pub struct HaproxyParser {
    times: TimeParser,
}

impl HaproxyParser {
    /// Parses one line. See [`super::LineParser::parse`].
    ///
    /// # Complexity
    ///
    /// One pass over the fields before the request, and a reverse search
    /// for the request.
    pub fn parse<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        let mut rest = line;
        // The syslog tag, when the line was not unwrapped from syslog.
        if let Some(at) = memchr::memmem::find(rest, b"haproxy[")
            && let Some(end) = memchr::memmem::find(&rest[at..], b"]: ")
        {
            rest = &rest[at + end + 3..];
        }
        let mut words = rest.split(|&b| b == b' ').filter(|w| !w.is_empty());
        let not_request = Malformed::NotRequest;
        let client = words.next().ok_or(not_request)?;
        let date = words.next().ok_or(not_request)?;
        let (_frontend, backend, timers, status) = (words.next(), words.next(), words.next(), words.next());
        let (Some(backend), Some(timers), Some(status)) = (backend, timers, status) else {
            return Err(not_request);
        };
        let ip = client.rsplit_once_byte(b':').ok_or(not_request)?;
        if !(date.starts_with(b"[") && date.ends_with(b"]") && backend.contains(&b'/') && timers.contains(&b'/')) {
            return Err(not_request);
        }
        record.status = Some(parse_status(status).ok_or(not_request)?);
        record.time = self.accept_date(&date[1..date.len() - 1]);
        record.invalid.time = record.time.is_none();
        let last_timer = timers.rsplit(|&b| b == b'/').next().unwrap_or_default();
        record.latency_us = parse_scaled(last_timer.strip_prefix(b"+").unwrap_or(last_timer), 3);
        record.invalid.latency = record.latency_us.is_none();
        let request_end = memchr::memrchr(b'"', line).ok_or(not_request)?;
        // A last quote with text right after it opens a request cut short.
        if line.get(request_end + 1).is_some_and(|&b| b != b' ') {
            return Err(Malformed::Truncated);
        }
        let request_start = memchr::memrchr(b'"', &line[..request_end]).ok_or(Malformed::Truncated)?;
        record.not_body.push(request_start..request_end + 1);
        if full {
            (record.method, record.uri) = split_request(&line[request_start + 1..request_end]);
            record.client = Some(ip);
        }
        Ok(())
    }

    /// `06/Feb/2009:12:14:14.655`, read as UTC.
    fn accept_date(&mut self, text: &[u8]) -> Option<i64> {
        let (seconds, millis) = match text.iter().position(|&b| b == b'.') {
            Some(dot) => (&text[..dot], parse_scaled(&text[dot + 1..], 0)? as i64),
            None => (text, 0),
        };
        let mut clf = [0u8; 26];
        clf.get_mut(..seconds.len())?.copy_from_slice(seconds);
        clf[seconds.len()..seconds.len() + 6].copy_from_slice(b" +0000");
        Some(self.times.parse_clf(&clf[..seconds.len() + 6])? + millis)
    }
}

impl ParseLine for HaproxyParser {
    fn parse_line<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        self.parse(line, full, record)
    }
}

/// `rsplit_once` for a byte, returning what comes before it.
trait SplitByte {
    fn rsplit_once_byte(&self, byte: u8) -> Option<&[u8]>;
}

impl SplitByte for [u8] {
    fn rsplit_once_byte(&self, byte: u8) -> Option<&[u8]> {
        memchr::memrchr(byte, self).map(|at| &self[..at])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Record<'_>, Malformed> {
        let mut record = Record::default();
        HaproxyParser::default().parse(line.as_bytes(), true, &mut record).map(|()| record)
    }

    #[test]
    fn the_http_log_of_the_haproxy_documentation() {
        // The example of HAProxy's configuration manual, section 8.2.3.
        let line = r#"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1""#;
        let r = parse(line).unwrap();
        assert_eq!((r.status, r.latency_us), (Some(200), Some(109_000)));
        assert_eq!(r.time, Some(1_233_922_454_655));
        assert_eq!((r.method, r.uri, r.client), (Some(&b"GET"[..]), Some(&b"/index.html"[..]), Some(&b"10.0.1.2"[..])));
        // Unwrapped from syslog, and an aborted request.
        let r = parse(r#"10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in api/srv1 10/0/-1/-1/42 503 212 - - SC-- 1/1/1/1/0 0/0 "POST /v3/p/tracker HTTP/1.1""#).unwrap();
        assert_eq!((r.status, r.latency_us), (Some(503), Some(42_000)));
        let r = parse(r#"10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in api/srv1 10/0/-1/-1/-1 502 0 - - CD-- 0/0/0/0/0 0/0 "GET / HTTP/1.1""#).unwrap();
        assert_eq!((r.latency_us, r.invalid.latency), (None, true));
    }

    #[test]
    fn a_request_cut_short_is_truncated() {
        let head = "haproxy[14389]: 10.0.1.3:33318 [27/Nov/2026:10:00:02.100] api~ cts/srv1 5/0/1/40/46 400 191 - - ---- 1/1/1/1/0 0/0";
        for cut in [
            format!(r#"{head} "POST /v3/p1/tra"#),
            format!(r#"{head} {{{{"error_code":"CTS.0003"}}}} "POST /v3/p1/tra"#),
        ] {
            assert_eq!(parse(&cut).err(), Some(Malformed::Truncated), "{cut}");
        }
        let whole = format!(r#"{head} {{{{"error_code":"CTS.0003"}}}} "POST /v3/p1/tracker HTTP/1.1""#);
        assert_eq!(parse(&whole).map(|r| r.status), Ok(Some(400)));
    }

    #[test]
    fn messages_that_are_not_requests() {
        for line in ["haproxy[14389]: Proxy http-in started.", "Server static/srv1 is DOWN, reason: Layer4 timeout", ""]
        {
            assert_eq!(parse(line), Err(Malformed::NotRequest), "{line}");
        }
    }
}
