//! Field text shared by the line formats: absent values and request lines.

use memchr::memchr;

/// An empty, `-` or `null` value: the field was not logged.
pub fn is_absent(text: &[u8]) -> bool {
    matches!(text.trim_ascii(), b"" | b"-" | b"null")
}

/// The UTF-8 byte order mark some Windows tools write before a file's text.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `input` without a leading [`BOM`]: for the start of an input only.
pub fn strip_bom(input: &[u8]) -> &[u8] {
    input.strip_prefix(BOM).unwrap_or(input)
}

/// `GET /path HTTP/1.1` → (`GET`, `/path`); a bare `/path` is a path
/// without a method. Anything else (a request body, as CTS traces log in
/// `request`, or bytes of a TLS handshake) is neither.
pub fn split_request(request: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    let request = request.trim_ascii();
    let Some(space) = memchr(b' ', request) else {
        return (None, request.starts_with(b"/").then_some(request));
    };
    let method = &request[..space];
    if !method.iter().all(u8::is_ascii_uppercase) {
        return (None, None);
    }
    let rest = request[space + 1..].trim_ascii_start();
    let uri = &rest[..memchr(b' ', rest).unwrap_or(rest.len())];
    (Some(method), (!uri.is_empty()).then_some(uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_bom_is_stripped() {
        assert_eq!(strip_bom(b"\xEF\xBB\xBF{}"), b"{}");
        assert_eq!(strip_bom(b"{}\xEF\xBB\xBF"), b"{}\xEF\xBB\xBF");
        assert_eq!(strip_bom(b"\xEF\xBB"), b"\xEF\xBB");
    }

    #[test]
    fn request_lines() {
        assert_eq!(split_request(b"GET /a?b=1 HTTP/1.1"), (Some(&b"GET"[..]), Some(&b"/a?b=1"[..])));
        assert_eq!(split_request(b"  POST   /x  "), (Some(&b"POST"[..]), Some(&b"/x"[..])));
        assert_eq!(split_request(b"/only"), (None, Some(&b"/only"[..])));
        assert_eq!(split_request(b""), (None, None));
        assert_eq!(split_request(br#"{"tracker_type":"system", "x": 1}"#), (None, None));
        assert_eq!(split_request(b"\x16\x03\x01 x"), (None, None));
    }

    #[test]
    fn absent_values() {
        assert!(is_absent(b" - ") && is_absent(b"null") && is_absent(b""));
        assert!(!is_absent(b"0"));
    }
}
