//! Logs this tool does not read, recognised from their first lines so that
//! a user is told what the file is and what to do, instead of getting
//! thousands of malformed lines: the nginx error log and binary data.

use crate::lex::text::strip_bom;

/// A kind of log recognised but not read. States name it by
/// [`Foreign::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Foreign {
    /// The nginx error log: `2026/11/27 10:00:00 [error] 1234#0: …`.
    NginxError,
    /// Not text: NUL bytes or mostly bytes that are not UTF-8.
    Binary,
}

impl Foreign {
    /// Every kind.
    pub const ALL: [Foreign; 2] = [Foreign::NginxError, Foreign::Binary];

    /// `nginx-error` or `binary`: the name states and reports give it.
    pub fn name(self) -> &'static str {
        match self {
            Foreign::NginxError => "nginx-error",
            Foreign::Binary => "binary",
        }
    }

    /// What the file looks like, and what to do about it.
    pub fn advice(self) -> &'static str {
        match self {
            Foreign::NginxError => "looks like an nginx error log, not an access log: skipped",
            Foreign::Binary => "looks like binary data, not a text log: check the file, or decompress it first",
        }
    }

    /// Whether an input of this kind is skipped rather than read: an
    /// nginx error log next to the access logs of a directory holds no
    /// requests.
    pub fn is_skipped(self) -> bool {
        self == Foreign::NginxError
    }
}

/// How many non-blank lines are looked at.
const SAMPLE_LINES: usize = 16;

/// The kind of log `head` (an input's first lines) is, when it is one this
/// tool does not read; `None` for anything else (which is read as detected).
pub fn recognise(head: &[u8]) -> Option<Foreign> {
    let head = strip_bom(head);
    let sample = &head[..head.len().min(4096)];
    let not_text = sample.iter().filter(|&&b| b == 0).count() > 0
        || std::str::from_utf8(sample).is_err() && {
            let high = sample.iter().filter(|&&b| b >= 0x80).count();
            high * 4 > sample.len()
        };
    if !sample.is_empty() && not_text {
        return Some(Foreign::Binary);
    }
    let lines: Vec<&[u8]> =
        head.split(|&b| b == b'\n').map(<[u8]>::trim_ascii).filter(|l| !l.is_empty()).take(SAMPLE_LINES).collect();
    let hits = lines.iter().filter(|l| is_nginx_error(l)).count();
    (!lines.is_empty() && hits * 2 > lines.len()).then_some(Foreign::NginxError)
}

/// `2026/11/27 10:00:00 [error] 1234#0: …`
fn is_nginx_error(line: &[u8]) -> bool {
    let date = |l: &[u8]| l.len() > 20 && l[4] == b'/' && l[7] == b'/' && l[10] == b' ' && l[13] == b':';
    date(line) && line[20..].starts_with(b"[") && memchr::memchr(b'#', line).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_what_it_does_not_read() {
        let error =
            b"2026/11/27 10:00:00 [error] 1234#0: *5 open() \"/var/www/x\" failed (2: No such file or directory)\n";
        assert_eq!(recognise(error), Some(Foreign::NginxError));
        assert_eq!(recognise(b"\x00\x01\x02binary\x00"), Some(Foreign::Binary));
        assert_eq!(recognise(&[0xff, 0xfe, 0x80, 0x81, 0x90, 0x91, b'a']), Some(Foreign::Binary));
    }

    #[test]
    fn logs_it_reads_are_not_foreign() {
        for text in [
            &b"{\"status\":200}\n"[..],
            b"1.2.3.4 - - [27/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"\n",
            b"",
            "caf\u{e9} au lait\n".as_bytes(),
        ] {
            assert_eq!(recognise(text), None, "{}", String::from_utf8_lossy(text));
        }
    }
}
