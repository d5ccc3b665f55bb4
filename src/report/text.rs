//! Number, size, time and prose formatting shared by the renderers for
//! people (table, Markdown, HTML).

use crate::aggregate::RatingCounts;
use crate::record::TraceRating;

/// `2026-11-27T06:54:04.123Z` → `2026-11-27T06:54:04Z`.
pub fn short_time(time: Option<&str>) -> String {
    match time {
        Some(t) if t.len() == 24 => format!("{}Z", &t[..19]),
        Some(t) => t.to_owned(),
        None => "-".to_owned(),
    }
}

pub fn ellipsize(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{cut}…")
}

/// `1 code`, `2 codes`, with thousands separators.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Exact milliseconds (a min or a max) with precision that suits their
/// size.
pub fn ms(value: f64) -> String {
    if value >= 1000.0 {
        thousands(value.round() as u64)
    } else if value >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{value:.0} B") } else { format!("{value:.2} {}", UNITS[unit]) }
}

pub fn human_duration(seconds: f64) -> String {
    let total = seconds.round() as u64;
    let (days, hours, minutes, secs) = (total / 86_400, total / 3600 % 24, total / 60 % 60, total % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{minutes}m {secs}s"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h {minutes}m"),
    }
}

/// A percentile in milliseconds with the three significant digits its HDR
/// histogram holds: `30.008` → `30.0`, `725.76` → `726`, `22652` →
/// `22,700`, `0.0523` → `0.0523`.
pub fn ms_percentile(value: f64) -> String {
    match three_significant(value) {
        Rounded::Whole(n) => thousands(n),
        Rounded::Fraction(value, decimals) => format!("{value:.decimals$}"),
    }
}

/// [`ms_percentile`] as a plain number for machines (CSV): no thousands
/// separator, and a sign, for a change: `22652` → `22700`, `-30.008` →
/// `-30.0`.
pub fn ms_percentile_plain(value: f64) -> String {
    let sign = if value < 0.0 { "-" } else { "" };
    match three_significant(value.abs()) {
        Rounded::Whole(0) => "0".to_owned(),
        Rounded::Whole(n) => format!("{sign}{n}"),
        Rounded::Fraction(value, decimals) => format!("{sign}{value:.decimals$}"),
    }
}

/// A positive value rounded to three significant digits.
enum Rounded {
    /// 100 or more: a whole number.
    Whole(u64),
    /// Below 100: the value and the decimals that show three digits.
    Fraction(f64, usize),
}

fn three_significant(value: f64) -> Rounded {
    if value <= 0.0 || !value.is_finite() {
        return Rounded::Whole(0);
    }
    let magnitude = value.log10().floor() as i32;
    if magnitude >= 2 {
        let scale = 10f64.powi(magnitude - 2);
        return Rounded::Whole(((value / scale).round() * scale) as u64);
    }
    Rounded::Fraction(value, (2 - magnitude) as usize)
}

/// A rate or share for machines: `decimals` places, `-0.00` written as
/// `0.00`.
pub fn fixed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.starts_with('-') && text[1..].bytes().all(|b| b == b'0' || b == b'.') { text[1..].to_owned() } else { text }
}

/// `30 min`, `1 h`, `10 s`, `2 days`: a duration given in milliseconds,
/// in the largest unit that divides it.
pub fn duration_label(ms: i64) -> String {
    let units: [(i64, &str, &str); 4] =
        [(86_400_000, "day", "days"), (3_600_000, "h", "h"), (60_000, "min", "min"), (1_000, "s", "s")];
    for (size, one, many) in units {
        if ms >= size && ms % size == 0 {
            let n = ms / size;
            return format!("{n} {}", if n == 1 { one } else { many });
        }
    }
    format!("{ms} ms")
}

/// `▁▂▃▄▅▆▇█`, one character per point, scaled to the largest; a space
/// for a point of 0: the table's `--bucket` lines and the live view.
///
/// ```
/// assert_eq!(cts_logscan::report::sparkline(&[0, 1, 4, 8]), " ▁▄█");
/// ```
pub fn sparkline(points: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let top = points.iter().copied().max().unwrap_or(0).max(1);
    points.iter().map(|&n| if n == 0 { ' ' } else { BARS[((n * 8 - 1) / top).min(7) as usize] }).collect()
}

/// `text` broken at spaces into lines of at most `width` characters
/// (a longer word gets a line of its own).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `normal 3 · warning 2 · incident 1`, the ratings seen.
pub fn ratings_text(ratings: &RatingCounts) -> String {
    let seen: Vec<String> = TraceRating::ALL
        .iter()
        .filter(|&&r| ratings.get(r) > 0)
        .map(|&r| format!("{} {}", r.name(), thousands(ratings.get(r))))
        .collect();
    seen.join(" · ")
}

/// `clients: 10.0.0.9 86 % (was 0 %); endpoints: …`: every list of
/// drivers on one line, unescaped.
pub fn drivers_text(drivers: &std::collections::BTreeMap<String, Vec<super::Shift>>) -> String {
    let lists: Vec<String> = drivers
        .iter()
        .map(|(list, shifts)| format!("{list}: {}", shifts.iter().map(shift_text).collect::<Vec<_>>().join(", ")))
        .collect();
    lists.join("; ")
}

/// `10.0.0.9 40 % (was 5 %)`: a value whose share rose, unescaped.
pub fn shift_text(shift: &super::Shift) -> String {
    format!("{} {:.0} % (was {:.0} %)", shift.name, shift.share_now * 100.0, shift.share_baseline * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(ms(52.0), "52.00");
        assert_eq!(ms(120.25), "120.2");
        assert_eq!(ms(2500.0), "2,500");
        assert_eq!(human_bytes(1536.0), "1.50 KiB");
        assert_eq!(human_duration(240.0), "4m 0s");
        assert_eq!(human_duration(90_061.0), "1d 1h 1m");
        assert_eq!(short_time(Some("2026-11-27T06:54:04.123Z")), "2026-11-27T06:54:04Z");
        assert_eq!(ellipsize("abcdef", 4), "abc…");
        assert_eq!(plural(1, "line", "lines"), "1 line");
        assert_eq!(duration_label(1_800_000), "30 min");
        assert_eq!(duration_label(7_200_000), "2 h");
        assert_eq!(duration_label(172_800_000), "2 days");
        assert_eq!(duration_label(90_000), "90 s");
    }

    #[test]
    fn plain_percentiles_keep_three_digits_without_separators() {
        assert_eq!(ms_percentile_plain(30.008), "30.0");
        assert_eq!(ms_percentile_plain(22652.0), "22700");
        assert_eq!(ms_percentile_plain(-38.91199999999998), "-38.9");
        assert_eq!(ms_percentile_plain(0.0), "0");
        assert_eq!(fixed(-38.91199999999998, 2), "-38.91");
        assert_eq!(fixed(-0.001, 2), "0.00");
    }

    #[test]
    fn percentiles_print_three_significant_digits() {
        for (value, shown) in [
            (30.008, "30.0"),
            (725.76, "726"),
            (22_652.0, "22,700"),
            (120.0, "120"),
            (1.234, "1.23"),
            (0.0523, "0.0523"),
            (9.9996, "10.00"),
            (0.0, "0"),
        ] {
            assert_eq!(ms_percentile(value), shown, "{value}");
        }
    }

    #[test]
    fn sparklines_scale_to_the_largest_point() {
        assert_eq!(sparkline(&[0, 1, 4, 8]), " ▁▄█");
        assert_eq!(sparkline(&[0, 0]), "  ");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(sparkline(&[u64::MAX / 8, 1]), "█▁");
    }

    #[test]
    fn prose_wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc dd", 5), ["aa bb", "cc dd"]);
        assert_eq!(wrap("a verylongword b", 4), ["a", "verylongword", "b"]);
    }
}
