//! Numbers as Kafka's JSON converter (Jackson on the JVM) writes them.
//!
//! - `double` and `float`: Java's `Double.toString` / `Float.toString`: the
//!   shortest digits that read back to the same value, plain notation for
//!   magnitudes in `[1e-3, 1e7)` with at least one fraction digit (`1.0`,
//!   `0.001`), computerized scientific notation otherwise (`1.0E7`,
//!   `1.234E-5`). Non-finite values are quoted strings: `"NaN"`,
//!   `"Infinity"`, `"-Infinity"` (Jackson's default `QUOTE_NON_NUMERIC_NUMBERS`).
//! - decimals with `decimal.format=NUMERIC`: Java's `BigDecimal.toString()`
//!   (Kafka's serializer does not enable plain BigDecimal output).

use std::io::Write as _;

use crate::value::Decimal;

/// Writes a finite or non-finite `f64` the way Jackson does.
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        let mut buf = [0u8; 40];
        let len = {
            let mut cursor = &mut buf[..];
            let before = cursor.len();
            let _ = write!(cursor, "{v:e}");
            before - cursor.len()
        };
        java_format(out, buf.get(..len).unwrap_or_default(), v == 0.0, v.abs());
    }
}

/// Writes an `f32` the way Jackson does (`Float.toString`).
pub(crate) fn write_f32(out: &mut Vec<u8>, v: f32) {
    if v.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        let mut buf = [0u8; 40];
        let len = {
            let mut cursor = &mut buf[..];
            let before = cursor.len();
            let _ = write!(cursor, "{v:e}");
            before - cursor.len()
        };
        java_format(
            out,
            buf.get(..len).unwrap_or_default(),
            v == 0.0,
            f64::from(v.abs()),
        );
    }
}

/// Reformats Rust's shortest `{:e}` output (`-1.2345e-5`) as Java does.
fn java_format(out: &mut Vec<u8>, sci: &[u8], is_zero: bool, magnitude: f64) {
    let (negative, rest) = match sci.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, sci),
    };
    if negative {
        out.push(b'-');
    }
    if is_zero {
        out.extend_from_slice(b"0.0");
        return;
    }
    let e_pos = rest.iter().position(|&c| c == b'e').unwrap_or(rest.len());
    let mantissa = rest.get(..e_pos).unwrap_or_default();
    let exp: i32 = rest
        .get(e_pos + 1..)
        .and_then(|e| std::str::from_utf8(e).ok())
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut n = 0;
    for &c in mantissa {
        if c.is_ascii_digit()
            && let Some(slot) = digits.get_mut(n)
        {
            *slot = c;
            n += 1;
        }
    }
    let digits = digits.get(..n).unwrap_or_default();
    if (1e-3..1e7).contains(&magnitude) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            for i in 0..int_len {
                out.push(digits.get(i).copied().unwrap_or(b'0'));
            }
            out.push(b'.');
            match digits.get(int_len..) {
                Some(frac) if !frac.is_empty() => out.extend_from_slice(frac),
                _ => out.push(b'0'),
            }
        } else {
            out.extend_from_slice(b"0.");
            for _ in 0..(-exp - 1) {
                out.push(b'0');
            }
            out.extend_from_slice(digits);
        }
    } else {
        out.push(digits.first().copied().unwrap_or(b'0'));
        out.push(b'.');
        match digits.get(1..) {
            Some(frac) if !frac.is_empty() => out.extend_from_slice(frac),
            _ => out.push(b'0'),
        }
        out.push(b'E');
        let _ = write!(out, "{exp}");
    }
}

/// Big-endian two's complement to (negative, decimal digits of the magnitude).
pub(crate) fn twos_complement_to_decimal(bytes: &[u8]) -> (bool, String) {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    if bytes.len() <= 16 {
        let mut v: i128 = if negative { -1 } else { 0 };
        for &b in bytes {
            v = (v << 8) | i128::from(b);
        }
        return (negative, v.unsigned_abs().to_string());
    }
    // Magnitude as little-endian base-2^32 limbs.
    let mut mag: Vec<u8> = bytes.to_vec();
    if negative {
        negate(&mut mag);
    }
    let mut limbs: Vec<u32> = mag
        .rchunks(4)
        .map(|c| c.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
        .collect();
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
    // Repeated division by 10^9 gives base-10^9 digits, least significant first.
    let mut chunks: Vec<u32> = Vec::new();
    while !limbs.is_empty() {
        let mut rem: u64 = 0;
        for limb in limbs.iter_mut().rev() {
            let cur = (rem << 32) | u64::from(*limb);
            *limb = (cur / 1_000_000_000) as u32;
            rem = cur % 1_000_000_000;
        }
        chunks.push(rem as u32);
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
    }
    let mut s = String::with_capacity(chunks.len() * 9);
    match chunks.split_last() {
        None => s.push('0'),
        Some((first, rest)) => {
            s.push_str(&first.to_string());
            for c in rest.iter().rev() {
                s.push_str(&format!("{c:09}"));
            }
        }
    }
    (negative, s)
}

/// Two's complement negation in place (big-endian).
fn negate(be: &mut [u8]) {
    for b in be.iter_mut() {
        *b = !*b;
    }
    for b in be.iter_mut().rev() {
        let (v, carry) = b.overflowing_add(1);
        *b = v;
        if !carry {
            break;
        }
    }
}

/// Decimal digits (no sign) to minimal big-endian two's complement.
pub(crate) fn decimal_to_twos_complement(negative: bool, digits: &str) -> Vec<u8> {
    if digits.len() <= 38
        && let Ok(v) = digits.parse::<i128>()
    {
        let v = if negative { -v } else { v };
        return v.to_be_bytes().to_vec();
    }
    // Little-endian base-2^32 limbs, fed nine decimal digits at a time.
    let mut limbs: Vec<u32> = Vec::with_capacity(digits.len() / 9 + 1);
    let bytes = digits.as_bytes();
    let first = bytes.len() % 9;
    let mut feed = |chunk: &[u8]| {
        let mut value: u64 = 0;
        let mut mul: u64 = 1;
        for &d in chunk {
            value = value * 10 + u64::from(d.wrapping_sub(b'0').min(9));
            mul *= 10;
        }
        let mut carry = value;
        for limb in limbs.iter_mut() {
            let v = u64::from(*limb) * mul + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        while carry > 0 {
            limbs.push(carry as u32);
            carry >>= 32;
        }
    };
    if first > 0 {
        feed(bytes.get(..first).unwrap_or_default());
    }
    for chunk in bytes.get(first..).unwrap_or_default().chunks(9) {
        feed(chunk);
    }
    let mut be: Vec<u8> = Vec::with_capacity(limbs.len() * 4 + 1);
    be.push(0);
    for limb in limbs.iter().rev() {
        be.extend_from_slice(&limb.to_be_bytes());
    }
    if negative {
        negate(&mut be);
    }
    be
}

/// Java's `BigDecimal.toString()`.
pub(crate) fn write_big_decimal(out: &mut Vec<u8>, d: &Decimal) {
    let (negative, digits) = twos_complement_to_decimal(d.unscaled());
    let scale = i64::from(d.scale());
    let n = digits.len() as i64;
    let adjusted = -scale + (n - 1);
    if negative {
        out.push(b'-');
    }
    if scale >= 0 && adjusted >= -6 {
        if scale == 0 {
            out.extend_from_slice(digits.as_bytes());
        } else if n > scale {
            let (int, frac) = digits.split_at((n - scale) as usize);
            out.extend_from_slice(int.as_bytes());
            out.push(b'.');
            out.extend_from_slice(frac.as_bytes());
        } else {
            out.extend_from_slice(b"0.");
            for _ in 0..(scale - n) {
                out.push(b'0');
            }
            out.extend_from_slice(digits.as_bytes());
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.extend_from_slice(first.as_bytes());
        if !rest.is_empty() {
            out.push(b'.');
            out.extend_from_slice(rest.as_bytes());
        }
        if adjusted != 0 {
            out.push(b'E');
            if adjusted > 0 {
                out.push(b'+');
            }
            let _ = write!(out, "{adjusted}");
        }
    }
}

/// Parses a JSON or Java decimal literal into a `Decimal`, keeping the scale
/// it was written with (`1.50` has scale 2, `1E+3` scale -3).
pub(crate) fn parse_decimal(text: &str) -> Option<Decimal> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, text.get(1..)?),
        b'+' => (false, text.get(1..)?),
        _ => (false, text),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(p) => (rest.get(..p)?, rest.get(p + 1..)?.parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(p) => (mantissa.get(..p)?, mantissa.get(p + 1..)?),
        None => (mantissa, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut digits = String::with_capacity(int.len() + frac.len());
    digits.push_str(int);
    digits.push_str(frac);
    let trimmed = digits.trim_start_matches('0');
    let digits = if trimmed.is_empty() { "0" } else { trimmed };
    let scale = i32::try_from(frac.len() as i64 - exp).ok()?;
    Some(Decimal::new(
        decimal_to_twos_complement(negative && digits != "0", digits),
        scale,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        reason = "test fixtures"
    )]
    use super::*;

    fn f64s(v: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    fn f32s(v: f32) -> String {
        let mut out = Vec::new();
        write_f32(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn doubles_as_java_writes_them() {
        assert_eq!(f64s(1.0), "1.0");
        assert_eq!(f64s(-0.0), "-0.0");
        assert_eq!(f64s(0.0), "0.0");
        assert_eq!(f64s(123.456), "123.456");
        assert_eq!(f64s(0.001), "0.001");
        assert_eq!(f64s(0.000_999), "9.99E-4");
        assert_eq!(f64s(9_999_999.0), "9999999.0");
        assert_eq!(f64s(10_000_000.0), "1.0E7");
        assert_eq!(f64s(1.5e300), "1.5E300");
        assert_eq!(f64s(-2.5e-10), "-2.5E-10");
        assert_eq!(f64s(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(f64s(f64::NAN), "\"NaN\"");
        assert_eq!(f64s(f64::INFINITY), "\"Infinity\"");
        assert_eq!(f64s(f64::NEG_INFINITY), "\"-Infinity\"");
        assert_eq!(f64s(f64::MIN_POSITIVE), "2.2250738585072014E-308");
        assert_eq!(f64s(100.0), "100.0");
    }

    #[test]
    fn floats_as_java_writes_them() {
        assert_eq!(f32s(1.1), "1.1");
        assert_eq!(f32s(3.4028235e38), "3.4028235E38");
        assert_eq!(f32s(1e-5), "1.0E-5");
        assert_eq!(f32s(f32::NAN), "\"NaN\"");
    }

    fn dec(unscaled: i128, scale: i32) -> String {
        let mut out = Vec::new();
        write_big_decimal(&mut out, &Decimal::from_i128(unscaled, scale));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn big_decimal_to_string() {
        assert_eq!(dec(12345, 2), "123.45");
        assert_eq!(dec(-12345, 2), "-123.45");
        assert_eq!(dec(5, 3), "0.005");
        assert_eq!(dec(0, 2), "0.00");
        assert_eq!(dec(1, 7), "1E-7");
        assert_eq!(dec(123, 10), "1.23E-8");
        assert_eq!(dec(123, -2), "1.23E+4");
        assert_eq!(dec(7, 0), "7");
        assert_eq!(dec(1, 6), "0.000001");
    }

    #[test]
    fn big_integers_convert_both_ways() {
        let digits = "123456789012345678901234567890123456789012345678901234567890";
        for negative in [false, true] {
            let bytes = decimal_to_twos_complement(negative, digits);
            let d = Decimal::new(bytes, 0);
            let (neg, back) = twos_complement_to_decimal(d.unscaled());
            assert_eq!((neg, back.as_str()), (negative, digits));
        }
        assert_eq!(
            twos_complement_to_decimal(&[0xFF; 20]),
            (true, "1".to_string())
        );
    }

    #[test]
    fn huge_numbers_convert_in_reasonable_time() {
        // numeric's largest values have about 147,000 digits.
        let digits: String = "9".repeat(147_000);
        let bytes = decimal_to_twos_complement(false, &digits);
        let (neg, back) = twos_complement_to_decimal(Decimal::new(bytes, 0).unscaled());
        assert!(!neg);
        assert_eq!(back, digits);
    }

    #[test]
    fn parse_keeps_scale() {
        let d = parse_decimal("1.50").unwrap();
        assert_eq!((d.unscaled(), d.scale()), (&[0u8, 150][..], 2));
        let d = parse_decimal("-1E+3").unwrap();
        assert_eq!(d.scale(), -3);
        assert_eq!(d.to_string(), "-1E+3");
        assert!(parse_decimal("1.2.3").is_none());
        assert!(parse_decimal("").is_none());
        assert!(parse_decimal("-").is_none());
    }
}
