//! The per-code table of the text report, laid out to fit a width: a row
//! never wraps. When the table is too wide, the message column is
//! shortened, then dropped, then the least needed columns go, in
//! [`DROP_ORDER`]; `CODE` and `COUNT` always stay.

use super::CodeReport;
use super::text::{ellipsize, ms, ms_percentile, short_time, thousands};
use crate::escape::escape;

/// Columns of the table.
const COLUMNS: usize = 15;

const HEADER: [&str; COLUMNS] = [
    "CODE",
    "COUNT",
    "SHARE",
    "PER 1K",
    "PER MIN",
    "P50 MS",
    "P90 MS",
    "P99 MS",
    "MAX MS",
    "STATUS",
    "MISMATCH",
    "IN MALFORMED",
    "FIRST SEEN",
    "LAST SEEN",
    "MESSAGE",
];

const CODE: usize = 0;
const STATUS: usize = 9;
const IN_MALFORMED: usize = 11;
const FIRST_SEEN: usize = 12;
const LAST_SEEN: usize = 13;
const MESSAGE: usize = 14;

/// Longest message shown when the table is fitted to a terminal; `--wide`,
/// a file or a pipe show messages in full.
const MESSAGE_WIDTH: usize = 60;

/// A message shorter than this is dropped rather than shown.
const MIN_MESSAGE_WIDTH: usize = 16;

/// Columns given up, first to last, when the table does not fit.
const DROP_ORDER: [usize; 12] = [LAST_SEEN, FIRST_SEEN, 4, 6, 8, IN_MALFORMED, 10, 3, 5, 2, STATUS, 7];

/// The table's lines: the header, then one per code.
///
/// `width` is the terminal's, or `None` to show every column in full. The
/// IN MALFORMED column is shown only when some code has such lines.
pub fn lines(codes: &[CodeReport], width: Option<usize>) -> Vec<String> {
    let mut rows: Vec<[String; COLUMNS]> = codes.iter().map(row).collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut shown: Vec<usize> =
        (0..COLUMNS).filter(|&i| i != IN_MALFORMED || codes.iter().any(|c| c.in_malformed_lines > 0)).collect();
    if let Some(width) = width {
        widths[MESSAGE] = widths[MESSAGE].min(MESSAGE_WIDTH);
        fit(&mut shown, &mut widths, width);
        for row in &mut rows {
            row[MESSAGE] = ellipsize(&row[MESSAGE], widths[MESSAGE]);
        }
    }
    let line = |cells: &[String; COLUMNS]| -> String {
        let mut out = String::new();
        for &column in &shown {
            let (cell, width) = (&cells[column], widths[column]);
            let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
            match column {
                CODE | STATUS | FIRST_SEEN | LAST_SEEN => out.push_str(&format!("{cell}{pad} ")),
                MESSAGE => out.push_str(cell),
                _ => out.push_str(&format!("{pad}{cell} ")),
            }
        }
        out.trim_end().to_owned()
    };
    std::iter::once(line(&HEADER.map(str::to_owned))).chain(rows.iter().map(line)).collect()
}

/// Narrows the message, then drops columns, until the table is at most
/// `width` wide or only `CODE` and `COUNT` are left.
fn fit(shown: &mut Vec<usize>, widths: &mut [usize; COLUMNS], width: usize) {
    let total = |shown: &[usize], widths: &[usize; COLUMNS]| {
        shown.iter().map(|&i| widths[i]).sum::<usize>() + shown.len().saturating_sub(1)
    };
    let over = total(shown, widths).saturating_sub(width);
    if over > 0 && shown.contains(&MESSAGE) {
        let narrowed = widths[MESSAGE].saturating_sub(over);
        if narrowed >= MIN_MESSAGE_WIDTH {
            widths[MESSAGE] = narrowed;
        } else {
            shown.retain(|&i| i != MESSAGE);
        }
    }
    for column in DROP_ORDER {
        if total(shown, widths) <= width {
            break;
        }
        shown.retain(|&i| i != column);
    }
}

fn row(code: &CodeReport) -> [String; COLUMNS] {
    let latency = |pick: fn(&super::LatencyReport) -> f64, exact: bool| {
        code.latency_ms.as_ref().map_or("-".to_owned(), |l| if exact { ms(pick(l)) } else { ms_percentile(pick(l)) })
    };
    let message = code.message_cell().unwrap_or_else(|| "-".to_owned());
    [
        code.code.clone(),
        thousands(code.count),
        format!("{:.1}%", code.share * 100.0),
        code.per_1k_requests.map_or("-".to_owned(), |r| format!("{r:.2}")),
        code.per_minute.map_or("-".to_owned(), |r| format!("{r:.2}")),
        latency(|l| l.p50, false),
        latency(|l| l.p90, false),
        latency(|l| l.p99, false),
        latency(|l| l.max, true),
        code.documented_status.map_or("?".to_owned(), |s| s.to_string()),
        if code.in_catalog { thousands(code.status_mismatches) } else { "-".to_owned() },
        thousands(code.in_malformed_lines),
        short_time(code.first_seen.as_deref()),
        short_time(code.last_seen.as_deref()),
        escape(&message).into_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths_after_fit(width: usize) -> Vec<&'static str> {
        let mut shown: Vec<usize> = (0..COLUMNS).filter(|&i| i != IN_MALFORMED).collect();
        let mut widths = HEADER.map(str::len);
        widths[MESSAGE] = 60;
        widths[FIRST_SEEN] = 20;
        widths[LAST_SEEN] = 20;
        fit(&mut shown, &mut widths, width);
        assert!(shown.iter().map(|&i| widths[i]).sum::<usize>() + shown.len() - 1 <= width.max(12));
        shown.iter().map(|&i| HEADER[i]).collect()
    }

    #[test]
    fn narrow_widths_drop_the_message_then_the_times() {
        assert!(widths_after_fit(400).contains(&"MESSAGE"));
        assert!(widths_after_fit(160).contains(&"MESSAGE"));
        let at_100 = widths_after_fit(100);
        assert!(!at_100.contains(&"MESSAGE") && !at_100.contains(&"LAST SEEN"), "{at_100:?}");
        assert_eq!(widths_after_fit(12), ["CODE", "COUNT"]);
    }
}
