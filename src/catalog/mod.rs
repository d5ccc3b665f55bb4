//! The built-in catalogue of documented CTS error codes.
//!
//! The table lives in `codes.tsv` beside this file, one row per code, sorted
//! by code: code, HTTP status, message, description, solution, edition. It is
//! compiled into the binary and parsed once on first use. Rows marked
//! `newer` come from later editions of the documentation, which name only the
//! status and the message.
//!
//! Codes are matched exactly: `CTS.0003` and the unrelated legacy `cts.0003`
//! are different codes.

use std::sync::OnceLock;

use serde::Serialize;

/// The raw table, tab-separated, one header line starting with `#`.
const CODES_TSV: &str = include_str!("codes.tsv");

/// Which edition of the documentation a code comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Edition {
    /// In the error-code table this catalogue was built from.
    Documented,
    /// Added by a newer edition; only status and message are known.
    Newer,
}

/// One documented CTS error code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CodeInfo {
    /// The code, e.g. `CTS.0003`.
    pub code: &'static str,
    /// The HTTP status the API documents for this code.
    pub http_status: u16,
    /// The documented `error_msg`.
    pub message: &'static str,
    /// What the error means; empty for codes of a newer edition.
    pub description: &'static str,
    /// What to do about it; empty for codes of a newer edition.
    pub solution: &'static str,
    /// Where the entry comes from.
    pub edition: Edition,
}

impl CodeInfo {
    /// The description as plain text (the documentation's `**bold**`
    /// markup removed).
    pub fn description_text(&self) -> String {
        plain(self.description)
    }

    /// The solution as plain text.
    pub fn solution_text(&self) -> String {
        plain(self.solution)
    }
}

/// `text` without Markdown emphasis: `The **status** parameter` → `The
/// status parameter`.
pub fn plain(text: &str) -> String {
    text.replace("**", "")
}

/// All catalogue entries, sorted by code.
pub fn all() -> &'static [CodeInfo] {
    static TABLE: OnceLock<Vec<CodeInfo>> = OnceLock::new();
    TABLE.get_or_init(|| parse_table(CODES_TSV))
}

/// Looks a code up exactly (case-sensitive).
///
/// # Complexity
///
/// `O(log n)` over the 45 entries.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    let table = all();
    table.binary_search_by(|info| info.code.cmp(code)).ok().map(|i| &table[i])
}

/// The known codes closest to `code`, best first, for "did you mean" hints.
///
/// Closeness is the edit distance after folding case, so `cts.209` suggests
/// `CTS.0209`. At most `limit` codes are returned.
pub fn nearest(code: &str, limit: usize) -> Vec<&'static CodeInfo> {
    let wanted = code.to_ascii_uppercase();
    let mut scored: Vec<(usize, &CodeInfo)> =
        all().iter().map(|info| (edit_distance(&wanted, info.code), info)).collect();
    scored.sort_by_key(|&(distance, info)| (distance, info.code));
    scored.into_iter().take(limit).map(|(_, info)| info).collect()
}

/// Levenshtein distance over bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.as_bytes().iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Parses the embedded table. The table is part of the binary and checked by
/// the tests below, so a malformed row is a build defect and panics.
fn parse_table(tsv: &'static str) -> Vec<CodeInfo> {
    tsv.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let cells: Vec<&'static str> = line.split('\t').collect();
            let [code, status, message, description, solution, edition] = cells[..] else {
                panic!("catalogue row needs 6 tab-separated cells: {line:?}");
            };
            CodeInfo {
                code,
                http_status: status.parse().expect("catalogue status is a number"),
                message,
                description,
                solution,
                edition: match edition {
                    "documented" => Edition::Documented,
                    "newer" => Edition::Newer,
                    other => panic!("unknown catalogue edition {other:?}"),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documentation the catalogue was built from, as shipped.
    const SEED: &str = include_str!("../../fixtures/catalog/cts-error-codes.rst");

    fn is_well_formed_code(code: &str) -> bool {
        let bytes = code.as_bytes();
        bytes.len() == 8 && code.starts_with("CTS.") && bytes[4..].iter().all(u8::is_ascii_digit)
    }

    #[test]
    fn table_is_sorted_unique_and_well_formed() {
        let table = all();
        assert_eq!(table.len(), 45);
        for pair in table.windows(2) {
            assert!(pair[0].code < pair[1].code, "{} before {}", pair[0].code, pair[1].code);
        }
        for info in table {
            assert!(is_well_formed_code(info.code), "{}", info.code);
            assert!((400..600).contains(&info.http_status), "{}", info.code);
            assert!(!info.message.is_empty(), "{}", info.code);
            if info.edition == Edition::Documented {
                assert!(!info.description.is_empty() && !info.solution.is_empty());
            }
        }
    }

    #[test]
    fn every_seed_row_is_present_verbatim() {
        let mut rows = 0;
        for line in SEED.lines().filter(|l| l.starts_with("| ") && l.contains("| CTS.")) {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
            let [status, code, message, description, solution] = cells[..] else {
                panic!("unexpected seed row {line}");
            };
            let info = lookup(code).unwrap_or_else(|| panic!("{code} missing"));
            assert_eq!(info.http_status.to_string(), status, "{code}");
            assert_eq!(info.message, message, "{code}");
            assert_eq!(info.description, description, "{code}");
            assert_eq!(info.solution, solution, "{code}");
            assert_eq!(info.edition, Edition::Documented, "{code}");
            rows += 1;
        }
        assert_eq!(rows, 42);
    }

    #[test]
    fn plain_text_drops_the_markup() {
        let info = lookup("CTS.0205").unwrap();
        assert!(info.description.contains("**status**"));
        assert_eq!(info.description_text(), "The status parameter can only be set to enabled or disabled.");
        assert!(all().iter().all(|i| !i.solution_text().contains('*')));
    }

    #[test]
    fn newer_codes_are_marked() {
        for (code, status) in [("CTS.0013", 403), ("CTS.0228", 400), ("CTS.0229", 400)] {
            let info = lookup(code).unwrap();
            assert_eq!(info.edition, Edition::Newer);
            assert_eq!(info.http_status, status);
        }
    }

    #[test]
    fn lookup_is_exact_and_case_sensitive() {
        assert_eq!(lookup("CTS.0209").unwrap().http_status, 400);
        assert!(lookup("cts.0209").is_none());
        assert!(lookup("CTS.9999").is_none());
        assert!(lookup("APIGW.0301").is_none());
    }

    #[test]
    fn nearest_suggests_close_codes() {
        let near = nearest("cts.209", 3);
        assert_eq!(near[0].code, "CTS.0209");
        assert_eq!(nearest("CTS.0210", 1)[0].code, "CTS.0210");
    }
}
