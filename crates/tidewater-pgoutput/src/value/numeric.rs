//! `numeric`: exact decimals kept as PostgreSQL's canonical text.

use std::borrow::Cow;
use std::fmt;

use super::error::{Fail, Reader};

/// Most digits before the decimal point a `numeric` can have (weight is an
/// `int16` counting base-10000 digits).
const MAX_INTEGER_DIGITS: usize = 4 * 32768;
/// Largest display scale (`NUMERIC_DSCALE_MASK`).
const MAX_DSCALE: usize = 0x3FFF;

const SIGN_POS: u16 = 0x0000;
const SIGN_NEG: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_PINF: u16 = 0xD000;
const SIGN_NINF: u16 = 0xF000;

/// A `numeric` value. Never converted through floating point.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Numeric<'a> {
    /// `NaN`.
    NaN,
    /// `Infinity` (PostgreSQL 14+).
    PositiveInfinity,
    /// `-Infinity` (PostgreSQL 14+).
    NegativeInfinity,
    /// A finite value.
    Finite(Decimal<'a>),
}

impl<'a> Numeric<'a> {
    /// Whether the value is `NaN` or an infinity.
    pub fn is_special(&self) -> bool {
        !matches!(self, Numeric::Finite(_))
    }

    /// The display scale (digits after the decimal point) of a finite value.
    pub fn scale(&self) -> Option<u16> {
        match self {
            Numeric::Finite(d) => Some(d.scale()),
            _ => None,
        }
    }

    /// The unscaled integer of a finite value as minimal big-endian two's
    /// complement (see [`Decimal::unscaled_be_bytes`]).
    pub fn unscaled_be_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Numeric::Finite(d) => Some(d.unscaled_be_bytes()),
            _ => None,
        }
    }

    /// The decimal, if finite.
    pub fn as_decimal(&self) -> Option<&Decimal<'a>> {
        match self {
            Numeric::Finite(d) => Some(d),
            _ => None,
        }
    }

    /// PostgreSQL's text form: `NaN`, `Infinity`, `-Infinity` or the digits.
    pub fn as_str(&self) -> &str {
        match self {
            Numeric::NaN => "NaN",
            Numeric::PositiveInfinity => "Infinity",
            Numeric::NegativeInfinity => "-Infinity",
            Numeric::Finite(d) => d.as_str(),
        }
    }

    /// Copies borrowed text so the value no longer borrows the input.
    pub fn into_owned(self) -> Numeric<'static> {
        match self {
            Numeric::NaN => Numeric::NaN,
            Numeric::PositiveInfinity => Numeric::PositiveInfinity,
            Numeric::NegativeInfinity => Numeric::NegativeInfinity,
            Numeric::Finite(d) => Numeric::Finite(d.into_owned()),
        }
    }

    /// Parses PostgreSQL's `numeric` text output.
    pub fn parse(text: &'a str) -> Result<Self, NumericParseError> {
        match text {
            "NaN" => Ok(Numeric::NaN),
            "Infinity" => Ok(Numeric::PositiveInfinity),
            "-Infinity" => Ok(Numeric::NegativeInfinity),
            _ => Decimal::parse(text).map(Numeric::Finite),
        }
    }
}

impl fmt::Display for Numeric<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not canonical `numeric` output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NumericParseError(&'static str);

/// A finite decimal in PostgreSQL's canonical text form: an optional `-`, the
/// integer digits without leading zeros (`0` when none), and, when the
/// display scale is positive, `.` followed by exactly `scale` digits
/// (trailing zeros are significant: they are the display scale). Zero is never
/// negative. This is exactly the set of strings `numeric_out` produces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal<'a> {
    text: Cow<'a, str>,
    /// Byte offset of the `.` (or the length when there is none).
    point: usize,
}

impl<'a> Decimal<'a> {
    /// Validates canonical text, borrowing it.
    pub fn parse(text: &'a str) -> Result<Self, NumericParseError> {
        let point = validate(text)?;
        Ok(Decimal {
            text: Cow::Borrowed(text),
            point,
        })
    }

    /// Validates canonical text, taking ownership.
    pub fn from_string(text: String) -> Result<Decimal<'static>, NumericParseError> {
        let point = validate(&text)?;
        Ok(Decimal {
            text: Cow::Owned(text),
            point,
        })
    }

    /// The canonical text, e.g. `-123.4500`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.text.starts_with('-')
    }

    /// Digits before the decimal point (no sign), `"0"` for |x| < 1.
    pub fn integer_digits(&self) -> &str {
        let start = usize::from(self.is_negative());
        self.text.get(start..self.point).unwrap_or("")
    }

    /// Digits after the decimal point (`scale()` of them, possibly empty).
    pub fn fraction_digits(&self) -> &str {
        self.text.get(self.point + 1..).unwrap_or("")
    }

    /// The display scale: number of digits after the decimal point.
    pub fn scale(&self) -> u16 {
        // validate() caps the fraction at MAX_DSCALE digits.
        u16::try_from(self.fraction_digits().len()).unwrap_or(u16::MAX)
    }

    /// The unscaled integer (`value * 10^scale`) as big-endian two's
    /// complement in the fewest bytes, like Java's `BigInteger.toByteArray`
    /// (which Kafka Connect's `Decimal` logical type uses). Zero is `[0]`.
    pub fn unscaled_be_bytes(&self) -> Vec<u8> {
        let digits = self
            .integer_digits()
            .bytes()
            .chain(self.fraction_digits().bytes())
            .skip_while(|&d| d == b'0');
        let mut magnitude_le = if self.integer_digits().len() + self.fraction_digits().len() <= 38 {
            // Fits in u128 (10^38 < 2^127): the common case, no allocation but the result.
            let v = digits.fold(0u128, |v, d| v * 10 + u128::from(d - b'0'));
            let bytes = v.to_le_bytes();
            let used = 16 - (v.leading_zeros() as usize / 8);
            bytes.get(..used).unwrap_or_default().to_vec()
        } else {
            big_magnitude_le(digits)
        };
        // One extra zero byte so the sign bit is free, then negate if needed.
        magnitude_le.push(0);
        let mut be: Vec<u8> = magnitude_le.into_iter().rev().collect();
        if self.is_negative() {
            for b in be.iter_mut() {
                *b = !*b;
            }
            for b in be.iter_mut().rev() {
                let (v, overflow) = b.overflowing_add(1);
                *b = v;
                if !overflow {
                    break;
                }
            }
        }
        // Drop redundant sign bytes.
        let mut start = 0;
        while let (Some(&a), Some(&b)) = (be.get(start), be.get(start + 1)) {
            if (a == 0x00 && b & 0x80 == 0) || (a == 0xFF && b & 0x80 != 0) {
                start += 1;
            } else {
                break;
            }
        }
        be.drain(..start);
        be
    }

    /// Copies borrowed text so the value no longer borrows the input.
    pub fn into_owned(self) -> Decimal<'static> {
        Decimal {
            text: Cow::Owned(self.text.into_owned()),
            point: self.point,
        }
    }
}

impl fmt::Display for Decimal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Checks canonical form and returns the position of the decimal point.
fn validate(text: &str) -> Result<usize, NumericParseError> {
    let bytes = text.as_bytes();
    let negative = bytes.first() == Some(&b'-');
    let body = bytes.get(usize::from(negative)..).unwrap_or(&[]);
    let (int, frac) = match memchr::memchr(b'.', body) {
        Some(p) => (
            body.get(..p).unwrap_or(&[]),
            Some(body.get(p + 1..).unwrap_or(&[])),
        ),
        None => (body, None),
    };
    if int.is_empty() {
        return Err(NumericParseError(
            "expected digits before the decimal point",
        ));
    }
    if !int.iter().all(u8::is_ascii_digit) {
        return Err(NumericParseError(
            "integer part has a character other than 0-9 (numeric output never uses exponents, '+' or spaces)",
        ));
    }
    if int.len() > 1 && int.first() == Some(&b'0') {
        return Err(NumericParseError(
            "integer part has a leading zero (not canonical numeric output)",
        ));
    }
    if int.len() > MAX_INTEGER_DIGITS {
        return Err(NumericParseError(
            "more than 131072 digits before the decimal point",
        ));
    }
    let mut nonzero = int.iter().any(|&d| d != b'0');
    if let Some(frac) = frac {
        if frac.is_empty() {
            return Err(NumericParseError("no digits after the decimal point"));
        }
        if !frac.iter().all(u8::is_ascii_digit) {
            return Err(NumericParseError(
                "fraction has a character other than 0-9 (numeric output never uses exponents)",
            ));
        }
        if frac.len() > MAX_DSCALE {
            return Err(NumericParseError(
                "more than 16383 digits after the decimal point",
            ));
        }
        nonzero |= frac.iter().any(|&d| d != b'0');
    }
    if negative && !nonzero {
        return Err(NumericParseError(
            "negative zero (numeric output never has it)",
        ));
    }
    Ok(usize::from(negative) + int.len())
}

/// Text form.
pub(crate) fn decode_text(text: &str) -> Result<Numeric<'_>, Fail> {
    Numeric::parse(text).map_err(|e| Fail::Msg(e.0))
}

/// Binary form (`numeric_send`): u16 ndigits, i16 weight, u16 sign,
/// u16 dscale, then ndigits base-10000 digits as i16.
pub(crate) fn decode_binary(raw: &[u8]) -> Result<Numeric<'static>, Fail> {
    let mut r = Reader::new(raw);
    let (Some(ndigits), Some(weight), Some(sign), Some(dscale)) =
        (r.u16(), r.i16(), r.u16(), r.u16())
    else {
        return Err(Fail::Text(format!(
            "header needs 8 bytes, {} available",
            raw.len()
        )));
    };
    let need = usize::from(ndigits) * 2;
    if r.remaining() != need {
        return Err(Fail::Text(format!(
            "ndigits {ndigits} needs {need} bytes, {} remain",
            r.remaining()
        )));
    }
    let digits = r.rest();
    let negative = match sign {
        SIGN_POS => false,
        SIGN_NEG => true,
        SIGN_NAN => return Ok(Numeric::NaN),
        SIGN_PINF => return Ok(Numeric::PositiveInfinity),
        SIGN_NINF => return Ok(Numeric::NegativeInfinity),
        other => return Err(Fail::Text(format!("invalid sign 0x{other:04x}"))),
    };
    if usize::from(dscale) > MAX_DSCALE {
        return Err(Fail::Text(format!("invalid dscale {dscale}")));
    }
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        let d = i16::from_be_bytes([
            pair.first().copied().unwrap_or(0),
            pair.get(1).copied().unwrap_or(0),
        ]);
        if !(0..10000).contains(&d) {
            return Err(Fail::Text(format!("digit {i} is {d}, outside 0..9999")));
        }
    }
    // Base-10000 digit `g` (0 = first) or 0 outside the stored digits.
    let group = |g: i64| -> u16 {
        usize::try_from(g)
            .ok()
            .and_then(|g| digits.get(g * 2..g * 2 + 2))
            .map_or(0, |p| {
                u16::from_be_bytes([
                    p.first().copied().unwrap_or(0),
                    p.get(1).copied().unwrap_or(0),
                ])
            })
    };
    let push4 = |s: &mut String, v: u16| {
        for div in [1000, 100, 10, 1] {
            s.push(char::from(b'0' + ((v / div) % 10) as u8));
        }
    };
    let weight = i64::from(weight);
    let dscale = usize::from(dscale);
    let mut out = String::with_capacity(2 + dscale + 4 * (weight.max(0) as usize + 1));
    out.push('-');
    if weight >= 0 {
        for g in 0..=weight {
            push4(&mut out, group(g));
        }
    }
    // Strip leading zeros (keeping one digit) right after the sign.
    let first_nonzero = out
        .bytes()
        .skip(1)
        .position(|b| b != b'0')
        .map_or(out.len(), |p| p + 1);
    out.drain(1..first_nonzero);
    if out.len() == 1 {
        out.push('0');
    }
    let mut nonzero = out.bytes().skip(1).any(|b| b != b'0');
    if dscale > 0 {
        out.push('.');
        let start = out.len();
        let mut g = weight + 1;
        while out.len() - start < dscale {
            push4(&mut out, group(g));
            g += 1;
        }
        out.truncate(start + dscale);
        nonzero |= out.bytes().skip(start).any(|b| b != b'0');
    }
    // PostgreSQL truncates hidden digits and normalises zero to positive.
    if !(negative && nonzero) {
        out.remove(0);
    }
    let point = out.find('.').unwrap_or(out.len());
    Ok(Numeric::Finite(Decimal {
        text: Cow::Owned(out),
        point,
    }))
}

/// The magnitude of a decimal digit string as little-endian bytes (no
/// leading zero bytes). One pass over base-2^32 limbs, nine digits at a time:
/// the 147,000-digit maximum takes milliseconds, not seconds.
fn big_magnitude_le(digits: impl Iterator<Item = u8>) -> Vec<u8> {
    let mut limbs: Vec<u32> = Vec::new();
    let mut feed = |chunk: u32, len: u32| {
        let mul = 10u64.pow(len);
        let mut carry = u64::from(chunk);
        for limb in limbs.iter_mut() {
            let v = u64::from(*limb) * mul + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    };
    let (mut chunk, mut chunk_len) = (0u32, 0u32);
    for d in digits {
        chunk = chunk * 10 + u32::from(d - b'0');
        chunk_len += 1;
        if chunk_len == 9 {
            feed(chunk, 9);
            (chunk, chunk_len) = (0, 0);
        }
    }
    if chunk_len > 0 {
        feed(chunk, chunk_len);
    }
    let mut out: Vec<u8> = limbs.iter().flat_map(|l| l.to_le_bytes()).collect();
    while out.last() == Some(&0) {
        out.pop();
    }
    out
}

/// Appends `numeric_send` output for a value.
pub(crate) fn encode_binary(n: &Numeric<'_>, out: &mut Vec<u8>) {
    let d = match n {
        Numeric::NaN => return header(out, 0, 0, SIGN_NAN, 0),
        // numeric_send writes dscale 32 for the infinities (a side effect of the
        // short-header layout; PostgreSQL 15: 'Infinity' is 00000000d0000020).
        Numeric::PositiveInfinity => return header(out, 0, 0, SIGN_PINF, 0x20),
        Numeric::NegativeInfinity => return header(out, 0, 0, SIGN_NINF, 0x20),
        Numeric::Finite(d) => d,
    };
    let int = d.integer_digits().as_bytes();
    let frac = d.fraction_digits().as_bytes();
    let int_groups = int.len().div_ceil(4);
    let lead_pad = int_groups * 4 - int.len();
    let frac_groups = frac.len().div_ceil(4);
    // Digit `i` of the left-padded, right-padded digit string.
    let digit_at = |i: usize| -> u16 {
        let b = if i < lead_pad {
            b'0'
        } else if i < lead_pad + int.len() {
            int.get(i - lead_pad).copied().unwrap_or(b'0')
        } else {
            frac.get(i - lead_pad - int.len()).copied().unwrap_or(b'0')
        };
        u16::from(b - b'0')
    };
    let mut groups: Vec<u16> = (0..int_groups + frac_groups)
        .map(|g| (0..4).fold(0u16, |acc, k| acc * 10 + digit_at(g * 4 + k)))
        .collect();
    let mut weight = int_groups as i64 - 1;
    let leading = groups.iter().take_while(|&&g| g == 0).count();
    groups.drain(..leading);
    weight -= leading as i64;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    let (sign, weight) = if groups.is_empty() {
        (SIGN_POS, 0)
    } else if d.is_negative() {
        (SIGN_NEG, weight)
    } else {
        (SIGN_POS, weight)
    };
    // Canonical text bounds digits so these conversions cannot saturate.
    let ndigits = u16::try_from(groups.len()).unwrap_or(u16::MAX);
    let weight = i16::try_from(weight).unwrap_or(i16::MAX);
    header(out, ndigits, weight, sign, d.scale());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
}

fn header(out: &mut Vec<u8>, ndigits: u16, weight: i16, sign: u16, dscale: u16) {
    out.extend_from_slice(&ndigits.to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
}

#[cfg(test)]
mod tests {
    // Tests index and unwrap known-good fixtures.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn bin(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut v = Vec::new();
        header(&mut v, ndigits, weight, sign, dscale);
        for d in digits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    fn enc(s: &str) -> Vec<u8> {
        let mut v = Vec::new();
        encode_binary(&Numeric::parse(s).unwrap(), &mut v);
        v
    }

    #[test]
    fn known_binary_encodings() {
        // Facts from numeric_send: 1234.5678 = digits [1234, 5678], weight 0, dscale 4.
        let cases: &[(&str, Vec<u8>)] = &[
            ("1234.5678", bin(2, 0, SIGN_POS, 4, &[1234, 5678])),
            ("0.0001", bin(1, -1, SIGN_POS, 4, &[1])),
            ("10000", bin(1, 1, SIGN_POS, 0, &[1])),
            ("-1.5", bin(2, 0, SIGN_NEG, 1, &[1, 5000])),
            ("123456789.000", bin(3, 2, SIGN_POS, 3, &[1, 2345, 6789])),
            ("0", bin(0, 0, SIGN_POS, 0, &[])),
            ("0.00", bin(0, 0, SIGN_POS, 2, &[])),
            ("0.00000001", bin(1, -2, SIGN_POS, 8, &[1])),
            ("0.000001", bin(1, -2, SIGN_POS, 6, &[100])),
            ("NaN", bin(0, 0, SIGN_NAN, 0, &[])),
            ("Infinity", bin(0, 0, SIGN_PINF, 0x20, &[])),
            ("-Infinity", bin(0, 0, SIGN_NINF, 0x20, &[])),
        ];
        for (text, binary) in cases {
            assert_eq!(&enc(text), binary, "encode {text}");
            let back = decode_binary(binary).unwrap();
            assert_eq!(back.as_str(), *text, "decode {text}");
        }
    }

    #[test]
    fn binary_output_matches_numeric_out() {
        // Trailing zeros kept from dscale.
        let n = decode_binary(&bin(1, 0, SIGN_NEG, 4, &[123])).unwrap();
        assert_eq!(n.as_str(), "-123.0000");
        // Large weight with few digits.
        let n = decode_binary(&bin(1, 5, SIGN_POS, 0, &[7])).unwrap();
        assert_eq!(n.as_str(), "700000000000000000000");
        // Negative zero normalises; hidden digits are truncated away.
        let n = decode_binary(&bin(2, 0, SIGN_NEG, 0, &[0, 5])).unwrap();
        assert_eq!(n.as_str(), "0");
        let n = decode_binary(&bin(2, 0, SIGN_POS, 2, &[1, 2345])).unwrap();
        assert_eq!(n.as_str(), "1.23");
        // Non-normalised leading zero groups.
        let n = decode_binary(&bin(2, 1, SIGN_POS, 0, &[0, 42])).unwrap();
        assert_eq!(n.as_str(), "42");
        let n = decode_binary(&bin(1, -3, SIGN_POS, 12, &[12])).unwrap();
        assert_eq!(n.as_str(), "0.000000000012");
        let n = decode_binary(&bin(1, -3, SIGN_POS, 10, &[12])).unwrap();
        assert_eq!(n.as_str(), "0.0000000000");
    }

    #[test]
    fn bad_binary() {
        let e = decode_binary(&bin(5, 0, 0, 0, &[1, 2])).unwrap_err();
        assert!(
            matches!(e, Fail::Text(ref s) if s == "ndigits 5 needs 10 bytes, 4 remain"),
            "{e:?}"
        );
        assert!(decode_binary(&[0, 1]).is_err());
        assert!(decode_binary(&bin(0, 0, 0x1234, 0, &[])).is_err());
        assert!(decode_binary(&bin(1, 0, 0, 0, &[10000])).is_err());
        assert!(decode_binary(&bin(1, 0, 0, 0, &[-1])).is_err());
        assert!(decode_binary(&bin(0, 0, 0, 0x4000, &[])).is_err());
        assert!(decode_binary(&[]).is_err());
    }

    #[test]
    fn text_validation() {
        for ok in [
            "0",
            "-1",
            "123.4500",
            "-0.001",
            "0.000",
            "99999999999999999999.1",
        ] {
            let n = Numeric::parse(ok).unwrap();
            assert_eq!(n.as_str(), ok);
        }
        for bad in [
            "", "-", "1e10", "+1", "01", "-0", "-0.00", "1.", ".5", " 1", "1 ", "1,5", "nan",
            "inf", "1.2.3", "١",
        ] {
            assert!(Numeric::parse(bad).is_err(), "{bad:?}");
        }
        let d = Decimal::parse("-123.4500").unwrap();
        assert_eq!(d.scale(), 4);
        assert_eq!(d.integer_digits(), "123");
        assert_eq!(d.fraction_digits(), "4500");
        assert!(d.is_negative());
        assert_eq!(Numeric::parse("7").unwrap().scale(), Some(0));
        assert!(Numeric::NaN.is_special());
        assert_eq!(Numeric::NaN.scale(), None);
    }

    #[test]
    fn unscaled_bytes_match_big_integer() {
        let cases: &[(&str, &[u8])] = &[
            ("0", &[0]),
            ("0.00", &[0]),
            ("1", &[1]),
            ("-1", &[0xFF]),
            ("127", &[0x7F]),
            ("128", &[0x00, 0x80]),
            ("-128", &[0x80]),
            ("-129", &[0xFF, 0x7F]),
            ("255", &[0x00, 0xFF]),
            ("256", &[0x01, 0x00]),
            ("-256", &[0xFF, 0x00]),
            ("1.23", &[0x7B]),
            ("-123.4500", &[0xED, 0x29, 0xBC]), // -1234500
            ("18446744073709551616", &[0x01, 0, 0, 0, 0, 0, 0, 0, 0]),
        ];
        for (text, bytes) in cases {
            let n = Numeric::parse(text).unwrap();
            assert_eq!(n.unscaled_be_bytes().unwrap(), *bytes, "{text}");
        }
        assert_eq!(Numeric::NaN.unscaled_be_bytes(), None);
    }

    /// Schoolbook reference: the decimal digits divided by 256 until zero.
    fn reference_magnitude_le(digits: &[u8]) -> Vec<u8> {
        let mut num: Vec<u32> = digits.iter().map(|d| u32::from(d - b'0')).collect();
        let mut out = Vec::new();
        while num.iter().any(|&d| d != 0) {
            let mut rem = 0u32;
            for d in num.iter_mut() {
                let v = rem * 10 + *d;
                *d = v / 256;
                rem = v % 256;
            }
            out.push(rem as u8);
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn big_magnitude_matches_schoolbook(digits in "[0-9]{1,200}") {
            let got = big_magnitude_le(digits.bytes());
            proptest::prop_assert_eq!(got, reference_magnitude_le(digits.as_bytes()));
        }
    }

    #[test]
    fn largest_numeric_converts() {
        // 131072 integer digits and 16383 fraction digits: PostgreSQL's maximum.
        let text = format!("{}.{}", "9".repeat(131_072), "9".repeat(16_383));
        let d = Numeric::parse(&text).unwrap();
        let bytes = d.unscaled_be_bytes().unwrap();
        // 10^147455 - 1 needs ceil(147455 * log2(10)) = 489,835 bits: 61,230 bytes,
        // the top one using 3 bits, so the sign bit is free without an extra byte.
        assert_eq!(bytes.len(), 61_230);
        assert!(
            bytes[0] > 0 && bytes[0] & 0x80 == 0,
            "positive, minimal: {:#x}",
            bytes[0]
        );
        let neg = Numeric::parse(&format!("-{text}"))
            .unwrap()
            .unscaled_be_bytes()
            .unwrap();
        assert_eq!(neg.len(), bytes.len());
        assert_eq!(neg[0] & 0x80, 0x80, "negative: sign bit set");
    }
}
