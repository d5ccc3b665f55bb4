//! Format detection from the first lines of an input: a wrapper (LTS,
//! syslog) if most lines have one, then the format of what is inside.

use super::{AccessParser, FormatKind, HaproxyParser, NdjsonParser, UnwrapBuf, Wrapper};
use crate::lex::text::strip_bom;
use crate::record::{Record, is_blank};

/// How many non-blank lines detection looks at.
const SAMPLE_LINES: usize = 32;

/// What an input's lines are: an optional wrapper and the format inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// What each line is wrapped in, if anything.
    pub wrapper: Option<Wrapper>,
    /// The format of the line (inside its wrapper).
    pub kind: FormatKind,
}

impl Layout {
    /// A format without a wrapper.
    pub fn plain(kind: FormatKind) -> Layout {
        Layout { wrapper: None, kind }
    }
}

/// The first non-blank lines of `head`, a leading BOM taken off.
fn sample(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    strip_bom(head)
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !is_blank(l))
        .take(SAMPLE_LINES)
}

/// The layout of an input that starts with `head`: an LTS or syslog
/// wrapper when most of its first lines have it, and the format of what
/// the lines hold (see [`detect`]).
pub fn detect_layout(head: &[u8]) -> Layout {
    let lines: Vec<&[u8]> = sample(head).collect();
    for wrapper in [Wrapper::Lts, Wrapper::Syslog] {
        let wrapped = lines.iter().filter(|l| wrapper.matches(l)).count();
        if !lines.is_empty() && wrapped * 2 > lines.len() {
            let mut inner = Vec::new();
            for line in &lines {
                let mut buf = UnwrapBuf::default();
                if let Some(unwrapped) = wrapper.unwrap(line, &mut buf) {
                    inner.extend_from_slice(unwrapped.inner);
                    inner.push(b'\n');
                }
            }
            return Layout { wrapper: Some(wrapper), kind: detect(&inner) };
        }
    }
    Layout::plain(detect(head))
}

/// Picks the format that parses most of the first non-blank lines of
/// `head` (the start of an input). A `#Fields:` or `#Software:` directive
/// means W3C. Ties and inputs where nothing parses go to NDJSON when the
/// first non-blank byte is `{`, else to combined; the lines then show up as
/// malformed in the report, with samples.
pub fn detect(head: &[u8]) -> FormatKind {
    let mut ndjson = NdjsonParser::default();
    let mut access = AccessParser::new(true);
    let mut haproxy = HaproxyParser::default();
    let (mut json_ok, mut combined_ok, mut common_ok, mut haproxy_ok) = (0, 0, 0, 0);
    let mut first_byte = None;
    for line in sample(head) {
        if line.starts_with(b"#Fields:") || line.starts_with(b"#Software:") {
            return FormatKind::W3c;
        }
        first_byte = first_byte.or_else(|| line.trim_ascii_start().first().copied());
        if ndjson.parse(line, false, &mut Record::default()).is_ok() {
            json_ok += 1;
        } else if let Ok(combined) = access.parse_layout(line, false, &mut Record::default()) {
            if combined { combined_ok += 1 } else { common_ok += 1 }
        } else if haproxy.parse(line, false, &mut Record::default()).is_ok() {
            haproxy_ok += 1;
        }
    }
    let access_ok = combined_ok + common_ok;
    if json_ok > access_ok + haproxy_ok || (json_ok + access_ok + haproxy_ok == 0 && first_byte == Some(b'{')) {
        FormatKind::Ndjson
    } else if haproxy_ok > access_ok {
        FormatKind::Haproxy
    } else if common_ok > combined_ok {
        FormatKind::Common
    } else {
        FormatKind::Combined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_format() {
        assert_eq!(detect(b"\n{\"status\":200}\n{\"status\":500}\n"), FormatKind::Ndjson);
        let combined = b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 1 \"-\" \"ua\" 0.1\r\n";
        assert_eq!(detect(combined), FormatKind::Combined);
        let common = b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 1\n";
        assert_eq!(detect(common), FormatKind::Common);
        assert_eq!(detect(b"#Software: Microsoft Internet Information Services 10.0\n"), FormatKind::W3c);
        let haproxy = b"10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\"\n";
        assert_eq!(detect(haproxy), FormatKind::Haproxy);
    }

    #[test]
    fn wrappers_and_what_they_hold() {
        let syslog = b"<134>Nov 27 10:00:00 web1 nginx: 1.2.3.4 - - [27/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
        assert_eq!(detect_layout(syslog), Layout { wrapper: Some(Wrapper::Syslog), kind: FormatKind::Combined });
        let lts = br#"{"host_name":"web1","line_no":1,"message":"{\"status\":200,\"request_time\":0.1}\n","path":"/var/log/gw.log"}
"#;
        assert_eq!(detect_layout(lts), Layout { wrapper: Some(Wrapper::Lts), kind: FormatKind::Ndjson });
        let haproxy = b"Feb  6 12:14:14 lb1 haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\"\n";
        assert_eq!(detect_layout(haproxy), Layout { wrapper: Some(Wrapper::Syslog), kind: FormatKind::Haproxy });
        assert_eq!(detect_layout(b"{\"status\":200}\n"), Layout::plain(FormatKind::Ndjson));
    }

    #[test]
    fn undecidable_input_falls_back_by_first_byte() {
        assert_eq!(detect(b"{broken\n"), FormatKind::Ndjson);
        assert_eq!(detect(b"hello\n"), FormatKind::Combined);
        assert_eq!(detect(b""), FormatKind::Combined);
    }
}
