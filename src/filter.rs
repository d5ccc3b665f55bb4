//! Restricting a scan: a time window and HTTP statuses select requests
//! (the others are counted as filtered), code patterns select the codes a
//! report shows.

use crate::format::{EpochMillis, Record};

/// Which requests and codes count. The default keeps everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Requests at or after this time (inclusive).
    pub since: Option<EpochMillis>,
    /// Requests before this time (exclusive).
    pub until: Option<EpochMillis>,
    /// Requests with one of these statuses; empty keeps all.
    pub statuses: Vec<StatusPattern>,
    /// Codes matching one of these patterns; empty keeps all.
    pub codes: Vec<CodePattern>,
}

/// `400`, or a class such as `4xx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusPattern {
    /// One status.
    Exact(u16),
    /// A class: `4` for `4xx`.
    Class(u16),
}

/// A code or a glob over codes: `*` any run of characters, `?` one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodePattern(String);

impl StatusPattern {
    /// Parses `404`, `4xx` or `4XX`.
    ///
    /// # Errors
    ///
    /// For anything else, with a message saying what is expected.
    pub fn parse(text: &str) -> Result<StatusPattern, String> {
        let bytes = text.as_bytes();
        match bytes {
            [d @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => Ok(StatusPattern::Class(u16::from(d - b'0'))),
            _ => crate::format::scalar::parse_status(bytes)
                .map(StatusPattern::Exact)
                .ok_or_else(|| format!("'{text}' is not a status like 404 or a class like 4xx")),
        }
    }

    fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Exact(s) => s == status,
            StatusPattern::Class(class) => status / 100 == class,
        }
    }
}

impl CodePattern {
    /// A pattern; codes are case-sensitive.
    pub fn new(pattern: &str) -> CodePattern {
        CodePattern(pattern.to_owned())
    }

    /// Whether `code` matches.
    pub fn matches(&self, code: &str) -> bool {
        glob(self.0.as_bytes(), code.as_bytes())
    }
}

impl Filter {
    /// Whether the request counts; a request without a time or status is
    /// kept only when no window or status filter is set.
    pub fn keeps(&self, record: &Record<'_>) -> bool {
        let in_window = match (self.since, self.until, record.time) {
            (None, None, _) => true,
            (_, _, None) => false,
            (since, until, Some(t)) => since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u),
        };
        in_window
            && (self.statuses.is_empty() || record.status.is_some_and(|s| self.statuses.iter().any(|p| p.matches(s))))
    }

    /// Whether the report shows `code`.
    pub fn shows_code(&self, code: &str) -> bool {
        self.codes.is_empty() || self.codes.iter().any(|p| p.matches(code))
    }
}

/// `*` and `?` globbing, iterative with one backtrack point.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let p = CodePattern::new("CTS.02*");
        assert!(p.matches("CTS.0201") && p.matches("CTS.02") && !p.matches("CTS.0301") && !p.matches("cts.0201"));
        assert!(CodePattern::new("*.0301").matches("APIGW.0301"));
        assert!(CodePattern::new("CTS.000?").matches("CTS.0003"));
        assert!(CodePattern::new("CTS.0003").matches("CTS.0003") && !CodePattern::new("CTS.0003").matches("CTS.00033"));
        assert!(CodePattern::new("*").matches(""));
    }

    #[test]
    fn statuses_and_window() {
        assert_eq!(StatusPattern::parse("4xx"), Ok(StatusPattern::Class(4)));
        assert_eq!(StatusPattern::parse("503"), Ok(StatusPattern::Exact(503)));
        assert!(StatusPattern::parse("6xx").is_err() && StatusPattern::parse("abc").is_err());
        let filter =
            Filter { since: Some(100), until: Some(200), statuses: vec![StatusPattern::Class(5)], codes: vec![] };
        let at = |time, status| Record { time: Some(time), status: Some(status), ..Record::default() };
        assert!(filter.keeps(&at(100, 500)) && filter.keeps(&at(199, 503)));
        assert!(!filter.keeps(&at(200, 500)) && !filter.keeps(&at(99, 500)) && !filter.keeps(&at(150, 404)));
        assert!(!filter.keeps(&Record::default()));
        assert!(Filter::default().keeps(&Record::default()));
    }
}
