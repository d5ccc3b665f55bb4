//! Number parsing for the hot path: decimals to scaled integers (seconds to
//! microseconds without floating point), upstream latency lists and HTTP
//! status codes.

/// Parses a non-negative decimal (`0.052`, `12`, `3.5e-2`) and returns it
/// multiplied by `10^scale`, rounded half up.
///
/// `parse_scaled(b"0.052", 6) == Some(52_000)` turns seconds into
/// microseconds. Returns `None` for negative numbers, anything that is not a
/// number, and results that do not fit in a `u64`.
///
/// # Complexity
///
/// One pass over the digits; inputs whose result could overflow (more than
/// `FAST_DIGITS` digits with the scale) and exponents take a checked
/// second pass.
pub fn parse_scaled(text: &[u8], scale: u32) -> Option<u64> {
    let mut value: u64 = 0;
    let mut pos = 0;
    while let Some(&digit @ b'0'..=b'9') = text.get(pos) {
        value = value.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'));
        pos += 1;
    }
    let int_len = pos;
    let mut frac_len = 0;
    let mut round_up = false;
    if text.get(pos) == Some(&b'.') {
        pos += 1;
        while let Some(&digit @ b'0'..=b'9') = text.get(pos) {
            if frac_len < scale as usize {
                value = value.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'));
            } else if frac_len == scale as usize {
                round_up = digit >= b'5';
            }
            frac_len += 1;
            pos += 1;
        }
    }
    if pos != text.len() || int_len + scale as usize > FAST_DIGITS {
        return parse_scaled_checked(text, scale);
    }
    if int_len == 0 && frac_len == 0 {
        return None;
    }
    let kept = frac_len.min(scale as usize);
    Some(value * POWERS_OF_TEN[scale as usize - kept] + u64::from(round_up))
}

/// Digits (integer part plus scale) that always fit in a `u64`.
const FAST_DIGITS: usize = 19;

/// `10^n` for the scales in use (at most [`FAST_DIGITS`]).
const POWERS_OF_TEN: [u64; FAST_DIGITS + 1] = {
    let mut powers = [1u64; FAST_DIGITS + 1];
    let mut n = 1;
    while n <= FAST_DIGITS {
        powers[n] = powers[n - 1] * 10;
        n += 1;
    }
    powers
};

/// [`parse_scaled`] with every step checked for overflow.
fn parse_scaled_checked(text: &[u8], scale: u32) -> Option<u64> {
    let int_len = text.iter().take_while(|b| b.is_ascii_digit()).count();
    let (int_part, rest) = text.split_at(int_len);
    let frac_part = match rest {
        [] => &[][..],
        [b'.', frac @ ..] if frac.iter().all(u8::is_ascii_digit) => frac,
        _ => return parse_scaled_float(text, scale),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &digit in int_part {
        value = value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))?;
    }
    for i in 0..scale as usize {
        let digit = frac_part.get(i).map_or(0, |d| u64::from(d - b'0'));
        value = value.checked_mul(10)?.checked_add(digit)?;
    }
    if frac_part.get(scale as usize).is_some_and(|&d| d >= b'5') {
        value = value.checked_add(1)?;
    }
    Some(value)
}

/// The rare exponent form (`1.5e-3`); only reached off the fast path.
fn parse_scaled_float(text: &[u8], scale: u32) -> Option<u64> {
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    let scaled = (value * 10f64.powi(scale as i32)).round();
    (scaled.is_finite() && scaled >= 0.0 && scaled < u64::MAX as f64).then_some(scaled as u64)
}

/// An HTTP status code: exactly three digits, 100 to 599.
pub fn parse_status(text: &[u8]) -> Option<u16> {
    match *text {
        [a @ b'1'..=b'5', b, c] if b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// A status written loosely, for a field [`parse_status`] refused: an
/// integral float (`400.0`) or a status line's code and reason phrase
/// (`400 Bad Request`).
#[cold]
pub fn parse_loose_status(text: &[u8]) -> Option<u16> {
    let (digits, rest) = text.split_at_checked(3)?;
    let status = parse_status(digits)?;
    let loose = match rest {
        [b'.', zeros @ ..] => !zeros.is_empty() && zeros.iter().all(|&b| b == b'0'),
        [b' ', first, ..] => first.is_ascii_alphabetic(),
        _ => false,
    };
    loose.then_some(status)
}

/// Sum of `$upstream_response_time`-style lists: `0.004, 0.010 : 0.002`, in
/// seconds, as microseconds. `-` entries (no upstream answered) are skipped;
/// `None` when nothing is left.
pub fn upstream_micros(text: &[u8]) -> Option<u64> {
    let mut total: Option<u64> = None;
    for part in text.split(|&b| b == b',' || b == b':') {
        let part = part.trim_ascii();
        if part.is_empty() || part == b"-" {
            continue;
        }
        let us = parse_scaled(part, 6)?;
        total = Some(total.unwrap_or(0).saturating_add(us));
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn loose_statuses() {
        for (text, want) in [
            (&b"400.0"[..], Some(400)),
            (b"503.000", Some(503)),
            (b"400 Bad Request", Some(400)),
            (b"200 OK", Some(200)),
            (b"400.5", None),
            (b"400.", None),
            (b"400 ", None),
            (b"400 500", None),
            (b"4000", None),
            (b"600 Odd", None),
            (b"40", None),
            (b"400", None),
        ] {
            assert_eq!(parse_loose_status(text), want, "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn scaled_decimals() {
        assert_eq!(parse_scaled(b"0.052", 6), Some(52_000));
        assert_eq!(parse_scaled(b"12", 3), Some(12_000));
        assert_eq!(parse_scaled(b"12.5", 3), Some(12_500));
        assert_eq!(parse_scaled(b"1.0005", 3), Some(1_001));
        assert_eq!(parse_scaled(b"1.0004", 3), Some(1_000));
        assert_eq!(parse_scaled(b".5", 1), Some(5));
        assert_eq!(parse_scaled(b"7.", 0), Some(7));
        assert_eq!(parse_scaled(b"1.5e-3", 6), Some(1_500));
        assert_eq!(parse_scaled(b"250", 0), Some(250));
    }

    #[test]
    fn scaled_rejects_non_numbers() {
        for bad in [&b""[..], b"-", b".", b"-1", b"1.2.3", b"abc", b"0x10", b"1 ", b"-1e3", b"NaN"] {
            assert_eq!(parse_scaled(bad, 6), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_scaled(b"99999999999999999999", 0), None);
        assert_eq!(parse_scaled(b"18446744073709551615", 1), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(parse_status(b"200"), Some(200));
        assert_eq!(parse_status(b"599"), Some(599));
        for bad in [&b"099"[..], b"600", b"20", b"2000", b"-", b"2x0"] {
            assert_eq!(parse_status(bad), None);
        }
    }

    proptest! {
        #[test]
        fn one_pass_equals_the_checked_parse(text in "[0-9.e+-]{0,24}", scale in 0u32..7) {
            prop_assert_eq!(parse_scaled(text.as_bytes(), scale), parse_scaled_checked(text.as_bytes(), scale));
        }

        #[test]
        fn integer_micros_match_float_parse(int in 0u64..100_000, frac in 0u32..1_000_000) {
            let text = format!("{int}.{frac:06}");
            prop_assert_eq!(parse_scaled(text.as_bytes(), 6), Some(int * 1_000_000 + u64::from(frac)));
        }
    }
}
