//! `money`: a 64-bit count of minor currency units.
//!
//! The binary form is the integer itself. The text form depends on the
//! session's `lc_monetary`; this decoder expects the `C` (or `en_US`) form
//! with two fraction digits: `$1,234.56`, `-$1,234.56`, `($1.00)`, and also
//! accepts a bare `1234.56`. Replication sessions should set
//! `lc_monetary = 'C'` (or use the binary format) so values are unambiguous.

use std::fmt;

use super::error::Fail;

/// Fraction digits assumed for the text form (the `C` locale's default).
pub const MONEY_FRACTION_DIGITS: u32 = 2;

/// Text form, into minor units.
pub(crate) fn decode_text(text: &[u8]) -> Result<i64, Fail> {
    let mut b = text.trim_ascii();
    let mut negative = false;
    if let Some(inner) = b.strip_prefix(b"(").and_then(|r| r.strip_suffix(b")")) {
        negative = true;
        b = inner.trim_ascii();
    }
    if let Some(rest) = b.strip_prefix(b"-") {
        if negative {
            return Err(Fail::Msg("two negative signs"));
        }
        negative = true;
        b = rest;
    }
    if let Some(rest) = b.strip_prefix(b"$") {
        b = rest;
    }
    if let Some(rest) = b.strip_suffix(b"-") {
        if negative {
            return Err(Fail::Msg("two negative signs"));
        }
        negative = true;
        b = rest;
    }
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(p) => (b.get(..p).unwrap_or(&[]), b.get(p + 1..).unwrap_or(&[])),
        None => (b, &[][..]),
    };
    if int.is_empty() || int.first() == Some(&b',') || int.last() == Some(&b',') {
        return Err(Fail::Msg("expected digits before the decimal point"));
    }
    if frac.len() > MONEY_FRACTION_DIGITS as usize {
        return Err(Fail::Msg(
            "more than 2 fraction digits (lc_monetary other than C?)",
        ));
    }
    let overflow = || Fail::Msg("value out of range for money");
    // Accumulate negatively so i64::MIN is reachable.
    let mut v: i64 = 0;
    for &c in int {
        match c {
            b'0'..=b'9' => {
                v = v
                    .checked_mul(10)
                    .and_then(|v| v.checked_sub(i64::from(c - b'0')))
                    .ok_or_else(overflow)?;
            }
            b',' => {}
            _ => {
                return Err(Fail::Msg(
                    "unexpected character (expected $, digits, ',' or '.')",
                ));
            }
        }
    }
    for i in 0..MONEY_FRACTION_DIGITS as usize {
        let d = match frac.get(i) {
            Some(&c) if c.is_ascii_digit() => c - b'0',
            Some(_) => return Err(Fail::Msg("fraction has a character other than 0-9")),
            None => 0,
        };
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_sub(i64::from(d)))
            .ok_or_else(overflow)?;
    }
    if negative {
        Ok(v)
    } else {
        v.checked_neg().ok_or_else(overflow)
    }
}

/// Writes the `C` locale form: `$1,234.56` / `-$1,234.56`.
pub(crate) fn write_text<W: fmt::Write>(w: &mut W, minor: i64) -> fmt::Result {
    if minor < 0 {
        w.write_char('-')?;
    }
    w.write_char('$')?;
    let a = minor.unsigned_abs();
    let int = a / 100;
    let frac = a % 100;
    let digits = int.to_string();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            w.write_char(',')?;
        }
        w.write_char(c)?;
    }
    write!(w, ".{frac:02}")
}

#[cfg(test)]
mod tests {
    // Tests unwrap known-good fixtures.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn show(v: i64) -> String {
        let mut s = String::new();
        write_text(&mut s, v).unwrap();
        s
    }

    #[test]
    fn forms() {
        assert_eq!(decode_text(b"$1,234.56").unwrap(), 123_456);
        assert_eq!(decode_text(b"-$1,234.56").unwrap(), -123_456);
        assert_eq!(decode_text(b"($1.00)").unwrap(), -100);
        assert_eq!(decode_text(b"1234.56").unwrap(), 123_456);
        assert_eq!(decode_text(b"$0.05").unwrap(), 5);
        assert_eq!(decode_text(b"$5").unwrap(), 500);
        assert_eq!(decode_text(b"$1.5").unwrap(), 150);
        assert_eq!(decode_text(b"$1.00-").unwrap(), -100);
        assert_eq!(show(123_456), "$1,234.56");
        assert_eq!(show(-123_456), "-$1,234.56");
        assert_eq!(show(0), "$0.00");
        assert_eq!(show(100_000), "$1,000.00");
        assert_eq!(show(i64::MIN), "-$92,233,720,368,547,758.08");
        assert_eq!(show(i64::MAX), "$92,233,720,368,547,758.07");
        for v in [i64::MIN, i64::MAX, 0, -1, 1, 99, -100_000] {
            assert_eq!(decode_text(show(v).as_bytes()).unwrap(), v);
        }
        for bad in [
            "",
            "$",
            "abc",
            "$1.234",
            "€1.00",
            "$1.0x",
            "--$1",
            "(-$1)",
            "$92,233,720,368,547,758.08",
            "$,1",
            "$1,",
            "1e5",
        ] {
            assert!(decode_text(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
