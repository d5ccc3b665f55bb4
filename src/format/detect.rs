//! Format detection from the first lines of an input.

use super::{AccessParser, FormatKind, NdjsonParser};
use crate::record::{Record, is_blank};

/// How many non-blank lines detection looks at.
const SAMPLE_LINES: usize = 32;

/// Picks the format that parses most of the first non-blank lines of
/// `head` (the start of an input). Ties and inputs where nothing parses go
/// to NDJSON when the first non-blank byte is `{`, else to combined; the
/// lines then show up as malformed in the report, with samples.
pub fn detect(head: &[u8]) -> FormatKind {
    let mut ndjson = NdjsonParser::default();
    let mut access = AccessParser::new(true);
    let (mut json_ok, mut combined_ok, mut common_ok) = (0, 0, 0);
    let mut first_byte = None;
    let lines = head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    for line in lines.filter(|l| !is_blank(l)).take(SAMPLE_LINES) {
        first_byte = first_byte.or_else(|| line.trim_ascii_start().first().copied());
        if ndjson.parse(line, false, &mut Record::default()).is_ok() {
            json_ok += 1;
        } else if let Ok(combined) = access.parse_layout(line, false, &mut Record::default()) {
            if combined { combined_ok += 1 } else { common_ok += 1 }
        }
    }
    if json_ok > combined_ok + common_ok || (json_ok == 0 && combined_ok + common_ok == 0 && first_byte == Some(b'{')) {
        FormatKind::Ndjson
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
    }

    #[test]
    fn undecidable_input_falls_back_by_first_byte() {
        assert_eq!(detect(b"{broken\n"), FormatKind::Ndjson);
        assert_eq!(detect(b"hello\n"), FormatKind::Combined);
        assert_eq!(detect(b""), FormatKind::Combined);
    }
}
