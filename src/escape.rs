//! The one escape for text that came from a log or from the file system.
//!
//! Error messages, URIs, request ids, client addresses, sources and file
//! names reach the table, Markdown, CSV, HTML, the state, diff, the live
//! view and every message on stderr, so this module sits below all of them. Raw, a control character in them could recolour the
//! terminal, set its title, write to the clipboard (OSC 52) or reorder the
//! text shown (bidi overrides). Every renderer and message passes such text
//! through [`escape`], which shows each of those characters as a JSON-style
//! `\u001b` escape; JSON output escapes the same characters in its strings
//! ([`write_json`]), which is lossless.
//!
//! Escaped: C0 controls (U+0000–U+001F, tab and newline too), DEL (U+007F),
//! C1 controls (U+0080–U+009F, among them CSI U+009B), and the bidi
//! formatting characters (U+061C, U+200E, U+200F, U+202A–U+202E,
//! U+2066–U+2069).

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::io;

/// True for a character that must not reach an output raw: a C0 or C1
/// control, DEL, or a bidi formatting character.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [unsafe](is_unsafe) character written as `\uXXXX`;
/// borrowed when there is none.
///
/// ```
/// use cts_logscan::escape::escape;
/// assert_eq!(escape("a\u{1b}[2Jb"), r"a\u001b[2Jb");
/// assert_eq!(escape("plain"), "plain");
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A `Display` of text through [`escape`], for `format!` arguments.
#[derive(Clone, Copy, Debug)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&escape(self.0))
    }
}

/// A `serde_json` formatter that also escapes the characters `serde_json`
/// writes raw: C1 controls, DEL and bidi formatting characters (C0 controls
/// it escapes itself). Wraps the compact or the pretty formatter. The JSON
/// decodes to the same strings.
#[derive(Clone, Debug)]
struct SafeJson<F>(F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for SafeJson<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, wtr: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices().filter(|&(_, c)| is_unsafe(c)) {
            wtr.write_all(&fragment.as_bytes()[start..at])?;
            write!(wtr, "\\u{:04x}", c as u32)?;
            start = at + c.len_utf8();
        }
        wtr.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, wtr: &mut W) -> io::Result<()> {
        self.0.begin_array(wtr)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, wtr: &mut W) -> io::Result<()> {
        self.0.end_array(wtr)
    }

    fn begin_array_value<W: ?Sized + io::Write>(&mut self, wtr: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(wtr, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, wtr: &mut W) -> io::Result<()> {
        self.0.end_array_value(wtr)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, wtr: &mut W) -> io::Result<()> {
        self.0.begin_object(wtr)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, wtr: &mut W) -> io::Result<()> {
        self.0.end_object(wtr)
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, wtr: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(wtr, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, wtr: &mut W) -> io::Result<()> {
        self.0.begin_object_value(wtr)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, wtr: &mut W) -> io::Result<()> {
        self.0.end_object_value(wtr)
    }
}

/// Writes `value` as one line of compact JSON, with C1 and bidi characters
/// escaped too.
///
/// # Errors
///
/// Whatever writing or serialising returns.
pub fn write_json<T: serde::Serialize + ?Sized>(wtr: &mut dyn io::Write, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(wtr, SafeJson(serde_json::ser::CompactFormatter));
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// Writes `value` as indented JSON, with C1 and bidi characters escaped
/// too.
///
/// # Errors
///
/// Whatever writing or serialising returns.
pub fn write_json_pretty<T: serde::Serialize + ?Sized>(wtr: &mut dyn io::Write, value: &T) -> io::Result<()> {
    let formatter = SafeJson(serde_json::ser::PrettyFormatter::new());
    let mut ser = serde_json::Serializer::with_formatter(wtr, formatter);
    value.serialize(&mut ser).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_control_is_escaped() {
        let hostile = "t\u{1b}]0;OWNED\u{7}\u{1b}[2J\t\n\r\u{0}\u{7f}\u{85}\u{9b}31m\u{202e}evil\u{2066}\u{200f}";
        assert_eq!(
            escape(hostile),
            r"t\u001b]0;OWNED\u0007\u001b[2J\u0009\u000a\u000d\u0000\u007f\u0085\u009b31m\u202eevil\u2066\u200f"
        );
        assert!(!escape(hostile).chars().any(is_unsafe));
    }

    #[test]
    fn plain_text_and_other_unicode_are_borrowed_unchanged() {
        assert!(matches!(escape("café 消息 → ok"), Cow::Borrowed("café 消息 → ok")));
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_raw_and_round_trips() {
        let text = "a\u{9b}b\u{202e}c\u{1b}d\u{7f}é";
        let mut out = Vec::new();
        write_json(&mut out, &text).unwrap();
        let json = String::from_utf8(out).unwrap();
        assert_eq!(json, r#""a\u009bb\u202ec\u001bd\u007fé""#);
        assert_eq!(serde_json::from_str::<String>(&json).unwrap(), text);
    }

    #[test]
    fn pretty_json_keeps_its_layout() {
        let value = serde_json::json!({"m": "x\u{85}", "n": [1, 2]});
        let mut out = Vec::new();
        write_json_pretty(&mut out, &value).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string_pretty(&value).unwrap().replace('\u{85}', r"\u0085")
        );
    }

    #[test]
    fn display_pads_the_escaped_text() {
        assert_eq!(format!("[{:<8}]", Escaped("a\u{1b}")), r"[a\u001b ]");
    }
}
