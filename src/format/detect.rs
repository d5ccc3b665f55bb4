//! Format detection from the first lines of an input: a wrapper (LTS,
//! syslog) if most lines have one, then the format of what is inside, by
//! what each format of the registry says of itself ([`super::Detect`]).

use super::{Detect, FormatKind, UnwrapBuf, Wrapper};
use crate::lex::text::strip_bom;
use crate::record::is_blank;

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

/// A format detection counts lines for ([`Detect::Lines`]).
struct Counted {
    kind: FormatKind,
    rank: u8,
    first_byte: Option<u8>,
    /// Sample lines it read that no format earlier in the registry read.
    lines: usize,
}

/// Picks the format of an input from the first non-blank lines of `head`
/// (its start), by what each format of the registry says
/// ([`super::Detect`]):
///
/// 1. The first sample line that is a format's marker settles it (a W3C
///    `#Fields:` or `#Software:` directive).
/// 2. Each line counts for the first format, in registry order, that reads
///    it (NDJSON, then combined or common, then HAProxy).
/// 3. When no line reads as any format, a format whose first byte is the
///    input's first non-blank byte wins (`{`: NDJSON).
/// 4. Formats are weighed by rank, lowest first: one wins when it read
///    more lines than all formats of a higher rank together (NDJSON beats
///    everything else together, then HAProxy beats the access logs,
///    then common beats combined). Ties and inputs where nothing parses go
///    to the highest rank, combined.
///
/// An input read as the wrong format shows up as malformed lines in the
/// report, with samples.
pub fn detect(head: &[u8]) -> FormatKind {
    let lines: Vec<&[u8]> = sample(head).collect();
    let formats: Vec<(FormatKind, &Detect)> =
        FormatKind::detectable().map(|kind| (kind, &kind.spec().detect)).collect();
    for line in &lines {
        let marked = formats.iter().find(|(_, detect)| matches!(detect, Detect::Marker(is_marker) if is_marker(line)));
        if let Some(&(kind, _)) = marked {
            return kind;
        }
    }
    // Each format is asked only about the lines no format before it read.
    let mut claimed = vec![false; lines.len()];
    let mut counted: Vec<Counted> = Vec::new();
    for &(kind, detect) in &formats {
        let Detect::Lines { reads, rank, first_byte } = *detect else { continue };
        let open: Vec<usize> = (0..lines.len()).filter(|&i| !claimed[i]).collect();
        let mut count = 0;
        if !open.is_empty() {
            let read = reads(&open.iter().map(|&i| lines[i]).collect::<Vec<_>>());
            for (&i, _) in open.iter().zip(read).filter(|&(_, read)| read) {
                claimed[i] = true;
                count += 1;
            }
        }
        counted.push(Counted { kind, rank, first_byte, lines: count });
    }
    let mut rest: usize = counted.iter().map(|c| c.lines).sum();
    if rest == 0 {
        let first_byte = lines.first().and_then(|line| line.trim_ascii_start().first().copied());
        if let Some(c) = counted.iter().find(|c| c.first_byte.is_some() && c.first_byte == first_byte) {
            return c.kind;
        }
    }
    counted.sort_by_key(|c| c.rank);
    for c in &counted {
        rest -= c.lines;
        if c.lines > rest {
            return c.kind;
        }
    }
    FormatKind::fallback()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detected(head: &[u8]) -> &'static str {
        detect(head).name()
    }

    fn layout(head: &[u8]) -> (Option<Wrapper>, &'static str) {
        let layout = detect_layout(head);
        (layout.wrapper, layout.kind.name())
    }

    const COMBINED: &str = "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 1 \"-\" \"ua\" 0.1";
    const COMMON: &str = "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 1";
    const HAPROXY: &str = "10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\"";
    const NDJSON: &str = "{\"status\":200}";

    #[test]
    fn detects_each_format() {
        assert_eq!(detected(b"\n{\"status\":200}\n{\"status\":500}\n"), "ndjson");
        assert_eq!(detected(format!("{COMBINED}\r\n").as_bytes()), "combined");
        assert_eq!(detected(format!("{COMMON}\n").as_bytes()), "common");
        assert_eq!(detected(b"#Software: Microsoft Internet Information Services 10.0\n"), "w3c");
        assert_eq!(detected(format!("{HAPROXY}\n").as_bytes()), "haproxy");
    }

    #[test]
    fn wrappers_and_what_they_hold() {
        let syslog = b"<134>Nov 27 10:00:00 web1 nginx: 1.2.3.4 - - [27/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
        assert_eq!(layout(syslog), (Some(Wrapper::Syslog), "combined"));
        let lts = br#"{"host_name":"web1","line_no":1,"message":"{\"status\":200,\"request_time\":0.1}\n","path":"/var/log/gw.log"}
"#;
        assert_eq!(layout(lts), (Some(Wrapper::Lts), "ndjson"));
        let haproxy = b"Feb  6 12:14:14 lb1 haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\"\n";
        assert_eq!(layout(haproxy), (Some(Wrapper::Syslog), "haproxy"));
        assert_eq!(layout(b"{\"status\":200}\n"), (None, "ndjson"));
    }

    #[test]
    fn undecidable_input_falls_back_by_first_byte() {
        assert_eq!(detected(b"{broken\n"), "ndjson");
        assert_eq!(detected(b"hello\n"), "combined");
        assert_eq!(detected(b""), "combined");
    }

    /// The weighing, on mixed samples: `(ndjson, combined, common,
    /// haproxy, garbage)` lines, and the format detected.
    #[test]
    fn mixed_samples_are_weighed_by_rank() {
        let cases = [
            ((3, 1, 1, 0, 0), "ndjson"),
            ((2, 1, 1, 0, 0), "combined"),
            ((3, 2, 0, 2, 0), "combined"),
            ((1, 0, 0, 2, 0), "haproxy"),
            ((0, 1, 1, 2, 0), "combined"),
            ((0, 1, 1, 3, 0), "haproxy"),
            ((0, 1, 2, 0, 5), "common"),
            ((0, 2, 2, 0, 0), "combined"),
            ((0, 0, 0, 0, 3), "combined"),
        ];
        for ((ndjson, combined, common, haproxy, garbage), expected) in cases {
            let mut head = String::new();
            for (n, line) in [
                (garbage, "not a log line"),
                (ndjson, NDJSON),
                (combined, COMBINED),
                (common, COMMON),
                (haproxy, HAPROXY),
            ] {
                (0..n).for_each(|_| head.extend([line, "\n"]));
            }
            assert_eq!(detected(head.as_bytes()), expected, "{head}");
        }
    }

    #[test]
    fn a_line_two_formats_read_counts_for_the_first_in_registry_order() {
        // An access-log line (common) that HAProxy's parser reads too.
        let both = "1.2.3.4:80 [a] b [x/y] \"c/d\" 200 1";
        assert_eq!(detected(format!("{both}\n{both}\n{HAPROXY}\n").as_bytes()), "common");
    }

    #[test]
    fn a_marker_anywhere_in_the_sample_settles_it() {
        assert_eq!(detected(format!("{COMBINED}\n{COMBINED}\n#Fields: date time\n").as_bytes()), "w3c");
    }
}
