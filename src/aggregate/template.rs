//! Message templates: a logged `error_msg` with its variable parts masked,
//! so that `Tracker tr-01 does not exist.` and `Tracker tr-02 does not
//! exist.` are one variant, `Tracker <*> does not exist.` (as Drain's log
//! templates mask them).

use std::borrow::Cow;

/// What stands for a masked token.
pub const MASK: &str = "<*>";

/// `message` with every variable token masked: a token (split at
/// whitespace) holding a digit (ids, numbers, addresses, times), or a
/// quoted name (`'bucket-a'`, `"x"`). Punctuation ending a sentence or a
/// clause stays (`tr-01.` → `<*>.`). Borrowed when nothing is masked.
pub fn message_template(message: &str) -> Cow<'_, str> {
    // A variable token holds a digit or a quote: one pass over the bytes
    // settles most messages, which have neither.
    let maybe = message.bytes().any(|b| MAY_VARY[usize::from(b)]);
    if !maybe || !message.split_whitespace().any(is_variable) {
        return Cow::Borrowed(message);
    }
    let mut template = String::with_capacity(message.len());
    let mut rest = message;
    while !rest.is_empty() {
        let space = rest.len() - rest.trim_start().len();
        template.push_str(&rest[..space]);
        rest = &rest[space..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token = &rest[..end];
        if is_variable(token) {
            // Brackets around the value stay: `(42).` → `(<*>).`.
            let lead = token.len() - token.trim_start_matches(LEADING).len();
            let core = token.trim_end_matches(TRAILING);
            template.push_str(&token[..lead]);
            template.push_str(MASK);
            template.push_str(&token[core.len().max(lead)..]);
        } else {
            template.push_str(token);
        }
        rest = &rest[end..];
    }
    Cow::Owned(template)
}

/// The bytes a variable token has one of: digits and quotes. A table, one
/// load per byte, since every error line's message is looked at.
const MAY_VARY: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = b'0';
    while b <= b'9' {
        table[b as usize] = true;
        b += 1;
    }
    table[b'\'' as usize] = true;
    table[b'"' as usize] = true;
    table[b'`' as usize] = true;
    table
};

/// Brackets that open a token without being part of its value.
const LEADING: &[char] = &['(', '['];

/// Punctuation that ends a token without being part of its value.
const TRAILING: &[char] = &['.', ',', ';', ':', '!', '?', ')', ']'];

/// Whether `token` is a value rather than a word of the message.
fn is_variable(token: &str) -> bool {
    let core = token.trim_end_matches(TRAILING).trim_start_matches(LEADING);
    let quoted = core.len() >= 2
        && matches!(
            (core.as_bytes()[0], core.as_bytes()[core.len() - 1]),
            (b'\'', b'\'') | (b'"', b'"') | (b'`', b'`')
        );
    quoted || core.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_numbers_and_quoted_names_are_masked() {
        let cases = [
            ("Tracker tr-01 does not exist.", "Tracker <*> does not exist."),
            ("Tracker tr-02 does not exist.", "Tracker <*> does not exist."),
            ("Bucket 'logs-a' not found", "Bucket <*> not found"),
            (
                "Quota 500 exceeded for project 0a1b2c3d, retry after 30s.",
                "Quota <*> exceeded for project <*>, retry after <*>.",
            ),
            ("Invalid message body.", "Invalid message body."),
            ("  spaced\tout 12  ", "  spaced\tout <*>  "),
            ("", ""),
        ];
        for (message, template) in cases {
            assert_eq!(message_template(message), template, "{message:?}");
        }
        assert!(matches!(message_template("No permission."), Cow::Borrowed(_)));
    }

    #[test]
    fn a_masked_token_keeps_its_trailing_punctuation() {
        assert_eq!(message_template("id 42, name \"x\"."), "id <*>, name <*>.");
        assert_eq!(message_template("(id 7)"), "(id <*>)");
        assert_eq!(message_template("Value (42)."), "Value (<*>).");
        assert_eq!(message_template("Value [7]!"), "Value [<*>]!");
        assert_eq!(message_template("a (1"), "a (<*>");
    }
}
