//! Field text shared by the line formats: absent values and request lines.

use memchr::memchr;

/// An empty, `-` or `null` value: the field was not logged.
pub fn is_absent(text: &[u8]) -> bool {
    matches!(text.trim_ascii(), b"" | b"-" | b"null")
}

/// `GET /path HTTP/1.1` → (`GET`, `/path`).
/// A request without a space is taken as a bare path.
pub fn split_request(request: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    let request = request.trim_ascii();
    let Some(space) = memchr(b' ', request) else {
        return (None, (!request.is_empty()).then_some(request));
    };
    let rest = request[space + 1..].trim_ascii_start();
    let uri = &rest[..memchr(b' ', rest).unwrap_or(rest.len())];
    (Some(&request[..space]), Some(uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(split_request(b"GET /a?b=1 HTTP/1.1"), (Some(&b"GET"[..]), Some(&b"/a?b=1"[..])));
        assert_eq!(split_request(b"  POST   /x  "), (Some(&b"POST"[..]), Some(&b"/x"[..])));
        assert_eq!(split_request(b"/only"), (None, Some(&b"/only"[..])));
        assert_eq!(split_request(b""), (None, None));
    }

    #[test]
    fn absent_values() {
        assert!(is_absent(b" - ") && is_absent(b"null") && is_absent(b""));
        assert!(!is_absent(b"0"));
    }
}
