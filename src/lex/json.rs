//! JSON byte scanning without decoding: whitespace, strings (with their
//! escapes) and whole values are skipped in place. Every function takes the
//! line and a start index and returns the index just past what it skipped,
//! or `None` when the input ends first; none allocates or panics.

use memchr::memchr2;

/// The contents of a JSON string token, or the token itself for numbers.
pub fn unquote(raw: &[u8]) -> &[u8] {
    match raw {
        [b'"', inner @ .., b'"'] => inner,
        other => other,
    }
}

/// The index of the first non-whitespace byte at or after `pos`.
pub fn skip_ws(line: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = line.get(pos) {
        pos += 1;
    }
    pos
}

/// `line[start]` is `"`; returns the index just past the closing quote, or
/// `None` when the string is not closed.
///
/// # Complexity
///
/// Linear in the string; on x86_64 one SSE2 step per 16 bytes for the
/// first 64 bytes (keys and most values are short, where `memchr2`'s set-up
/// would dominate), then `memchr2`.
pub fn skip_string(line: &[u8], start: usize) -> Option<usize> {
    let mut pos = start + 1;
    loop {
        match find_quote_or_backslash(line, pos) {
            Some(i) if line[i] == b'"' => return Some(i + 1),
            Some(i) => pos = i + 2,
            None => return None,
        }
    }
}

/// The first `"` or `\` at or after `from`: 16 bytes a step (SSE2) for the
/// first 64 bytes, then `memchr2`.
#[cfg(target_arch = "x86_64")]
fn find_quote_or_backslash(line: &[u8], from: usize) -> Option<usize> {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let mut pos = from;
    let short_end = from.saturating_add(64);
    while pos < short_end && pos + 16 <= line.len() {
        // SAFETY: `pos + 16 <= line.len()`, so the unaligned 16-byte load
        // reads only bytes of `line`; SSE2, which the other intrinsics need,
        // is part of the x86_64 baseline.
        let mask = unsafe {
            let chunk = _mm_loadu_si128(line.as_ptr().add(pos).cast::<__m128i>());
            let quotes = _mm_cmpeq_epi8(chunk, _mm_set1_epi8(b'"' as i8));
            let backslashes = _mm_cmpeq_epi8(chunk, _mm_set1_epi8(b'\\' as i8));
            _mm_movemask_epi8(_mm_or_si128(quotes, backslashes)) as u32
        };
        if mask != 0 {
            return Some(pos + mask.trailing_zeros() as usize);
        }
        pos += 16;
    }
    memchr2(b'"', b'\\', line.get(pos..)?).map(|i| pos + i)
}

/// The first `"` or `\` at or after `from`.
#[cfg(not(target_arch = "x86_64"))]
fn find_quote_or_backslash(line: &[u8], from: usize) -> Option<usize> {
    memchr2(b'"', b'\\', line.get(from..)?).map(|i| from + i)
}

/// Returns the index just past the value starting at `start`, or `None`
/// when the value is cut short or empty.
pub fn skip_value(line: &[u8], start: usize) -> Option<usize> {
    match line.get(start) {
        Some(b'"') => skip_string(line, start),
        Some(b'{' | b'[') => skip_container(line, start),
        Some(_) => skip_literal(line, start),
        None => None,
    }
}

/// Returns the index just past the number or literal (`true`, `null`)
/// starting at `start`, or `None` when it is empty.
#[inline(always)]
pub fn skip_literal(line: &[u8], start: usize) -> Option<usize> {
    let mut end = start;
    while line.get(end).is_some_and(|&b| !ENDS_TOKEN[usize::from(b)]) {
        end += 1;
    }
    (end > start).then_some(end)
}

/// The bytes that end a number or literal: `,`, `}`, `]` and whitespace.
/// A table, one load per byte, because numbers are read on every line.
const ENDS_TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    let ends = *b",}] \t\r\n";
    while i < ends.len() {
        table[ends[i] as usize] = true;
        i += 1;
    }
    table
};

/// The value of the dotted `path` (`user.name`) in the object at
/// `line[start]`: a key spelled so as it is (a flattened log) or a key
/// that starts the path, whose object holds the rest. The raw token is
/// returned (a string with its quotes); `None` when the path is absent or
/// the object is broken before it.
pub fn find_path<'a>(line: &'a [u8], start: usize, path: &[u8]) -> Option<&'a [u8]> {
    let mut found = [None];
    find_paths(line, start, &[path], &mut found);
    found[0]
}

/// [`find_path`] of each of `paths` at once, in one walk over the line:
/// `found[i]` gets the first value of `paths[i]` (left as it is when the
/// path is absent).
pub fn find_paths<'a>(line: &'a [u8], start: usize, paths: &[&[u8]], found: &mut [Option<&'a [u8]>]) {
    let mut pos = skip_ws(line, start);
    if line.get(pos) != Some(&b'{') {
        return;
    }
    pos = skip_ws(line, pos + 1);
    while line.get(pos) == Some(&b'"') {
        let Some(key_end) = skip_string(line, pos) else { return };
        let key = &line[pos + 1..key_end - 1];
        pos = skip_ws(line, key_end);
        if line.get(pos) != Some(&b':') {
            return;
        }
        let value_start = skip_ws(line, pos + 1);
        let Some(value_end) = skip_value(line, value_start) else { return };
        for (path, slot) in paths.iter().zip(found.iter_mut()) {
            if slot.is_some() {
                continue;
            }
            if *path == key {
                *slot = Some(&line[value_start..value_end]);
            } else if line[value_start] == b'{'
                && let Some(rest) = path.strip_prefix(key).and_then(|rest| rest.strip_prefix(b"."))
            {
                *slot = find_path(&line[..value_end], value_start, rest);
            }
        }
        pos = skip_ws(line, value_end);
        match line.get(pos) {
            Some(b',') => pos = skip_ws(line, pos + 1),
            _ => return,
        }
    }
}

/// A JSON string token's text, its escapes decoded (`"a\u0062"` → `ab`);
/// a number or literal as it is; `None` for `null` and containers.
pub fn scalar_text(token: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
    match token.first()? {
        b'"' => Some(decode_escapes(unquote(token))),
        b'{' | b'[' => None,
        _ if token == b"null" => None,
        _ => Some(std::borrow::Cow::Borrowed(token)),
    }
}

/// The inside of a JSON string with its escapes decoded; as it is when it
/// has none, or when it does not decode (invalid UTF-8, a bad escape).
pub fn decode_escapes(inner: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    if !inner.contains(&b'\\') {
        return Cow::Borrowed(inner);
    }
    let quoted = [&b"\""[..], inner, b"\""].concat();
    match serde_json::from_slice::<String>(&quoted) {
        Ok(text) => Cow::Owned(text.into_bytes()),
        Err(_) => Cow::Borrowed(inner),
    }
}

/// Skips a nested object or array by counting brackets outside strings.
fn skip_container(line: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut pos = start;
    while pos < line.len() {
        match line[pos] {
            b'"' => {
                pos = skip_string(line, pos)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(pos + 1);
                }
            }
            _ => {}
        }
        pos += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn skip_string_matches_a_naive_scan(body in "[a-z\\\\\"]{0,100}", prefix in 0usize..9) {
            let line = format!("{}\"{body}", " ".repeat(prefix));
            let naive = {
                let bytes = line.as_bytes();
                let mut i = prefix + 1;
                loop {
                    match bytes.get(i) {
                        Some(b'"') => break Some(i + 1),
                        Some(b'\\') => i += 2,
                        Some(_) => i += 1,
                        None => break None,
                    }
                }
            };
            proptest::prop_assert_eq!(skip_string(line.as_bytes(), prefix), naive);
        }
    }

    #[test]
    fn values_of_every_kind() {
        let line = br#"{"a":[1,{"b":"}"}],"c":12}"#;
        assert_eq!(skip_value(line, 0), Some(line.len()));
        assert_eq!(skip_value(line, 5), Some(18));
        assert_eq!(skip_value(br#""open"#, 0), None);
        assert_eq!(skip_value(b"", 0), None);
        assert_eq!(unquote(br#""x""#), b"x");
    }

    #[test]
    fn paths_nested_or_flattened() {
        let line = br#"{"a":1,"user":{"id":"u1","name":"al\u0069ce","domain":{"name":"acme"}},"x.y":"flat","n":null}"#;
        let text = |path: &[u8]| find_path(line, 0, path).and_then(scalar_text).map(|t| t.into_owned());
        assert_eq!(text(b"user.name"), Some(b"alice".to_vec()));
        assert_eq!(text(b"user.domain.name"), Some(b"acme".to_vec()));
        assert_eq!(text(b"x.y"), Some(b"flat".to_vec()));
        assert_eq!(text(b"a"), Some(b"1".to_vec()));
        assert_eq!(text(b"n"), None);
        assert_eq!(text(b"user"), None, "an object is not a value");
        assert_eq!(text(b"user.missing"), None);
        assert_eq!(text(b"domain.name"), None, "only from the top");
        assert_eq!(find_path(br#"{"a":"#, 0, b"a"), None);
        let mut found = [None; 4];
        find_paths(line, 0, &[b"user.name", b"missing", b"x.y", b"user.domain.name"], &mut found);
        assert_eq!(found, [Some(&br#""al\u0069ce""#[..]), None, Some(&br#""flat""#[..]), Some(&br#""acme""#[..])]);
    }
}
