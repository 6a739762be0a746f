//! Text and binary decoders of the built-in scalar types.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use super::error::{Fail, fixed, utf8};
use super::net::{hex_digit, hex_pair};
use super::oid::*;
use super::{PgValue, bits, datetime, interval, money, net, numeric};

/// Decodes the text form of built-in scalar type `oid`.
pub(crate) fn decode_text(oid: u32, raw: &[u8]) -> Result<PgValue<'_>, Fail> {
    Ok(match oid {
        BOOL => PgValue::Bool(bool_text(raw)?),
        INT2 => PgValue::Int2(
            utf8(raw)?
                .parse()
                .map_err(|_| Fail::Msg("not an integer in -32768..=32767"))?,
        ),
        INT4 => PgValue::Int4(
            utf8(raw)?
                .parse()
                .map_err(|_| Fail::Msg("not an integer in -2147483648..=2147483647"))?,
        ),
        INT8 => PgValue::Int8(
            utf8(raw)?
                .parse()
                .map_err(|_| Fail::Msg("not a 64-bit integer"))?,
        ),
        OID => PgValue::Oid(
            utf8(raw)?
                .parse()
                .map_err(|_| Fail::Msg("not an unsigned 32-bit integer"))?,
        ),
        FLOAT4 => PgValue::Float4(float_text::<f32>(raw)?),
        FLOAT8 => PgValue::Float8(float_text::<f64>(raw)?),
        NUMERIC => PgValue::Numeric(numeric::decode_text(utf8(raw)?)?),
        MONEY => PgValue::Money(money::decode_text(raw)?),
        TEXT | VARCHAR | BPCHAR | NAME => PgValue::Text(Cow::Borrowed(utf8(raw)?)),
        CHAR => PgValue::Char(char_text(raw)?),
        BYTEA => PgValue::Bytea(bytea_text(raw)?),
        JSON => PgValue::Json(Cow::Borrowed(utf8(raw)?)),
        JSONB => PgValue::Jsonb(Cow::Borrowed(utf8(raw)?)),
        XML => PgValue::Xml(Cow::Borrowed(utf8(raw)?)),
        DATE => PgValue::Date(datetime::decode_date_text(raw)?),
        TIME => PgValue::Time(datetime::decode_time_text(raw)?),
        TIMETZ => {
            let (micros, offset_seconds) = datetime::decode_timetz_text(raw)?;
            PgValue::TimeTz {
                micros,
                offset_seconds,
            }
        }
        TIMESTAMP => PgValue::Timestamp(datetime::decode_timestamp_text(raw, false)?),
        TIMESTAMPTZ => PgValue::TimestampTz(datetime::decode_timestamp_text(raw, true)?),
        INTERVAL => PgValue::Interval(interval::decode_text(raw)?),
        UUID => PgValue::Uuid(uuid_text(raw)?),
        BIT | VARBIT => PgValue::Bit(bits::decode_text(utf8(raw)?)?),
        INET => PgValue::Inet(net::decode_text(utf8(raw)?, false)?),
        CIDR => PgValue::Cidr(net::decode_text(utf8(raw)?, true)?),
        MACADDR => PgValue::MacAddr(net::decode_mac_text::<6>(raw)?),
        MACADDR8 => PgValue::MacAddr8(match net::decode_mac_text::<8>(raw) {
            Ok(m) => m,
            Err(_) => eui48_to_eui64(net::decode_mac_text::<6>(raw)?),
        }),
        _ => return Err(Fail::Msg("not a built-in scalar type")),
    })
}

/// Decodes the binary (send) form of built-in scalar type `oid`.
pub(crate) fn decode_binary(oid: u32, raw: &[u8]) -> Result<PgValue<'_>, Fail> {
    Ok(match oid {
        BOOL => PgValue::Bool(fixed::<1>(raw)? != [0]),
        INT2 => PgValue::Int2(i16::from_be_bytes(fixed(raw)?)),
        INT4 => PgValue::Int4(i32::from_be_bytes(fixed(raw)?)),
        INT8 => PgValue::Int8(i64::from_be_bytes(fixed(raw)?)),
        OID => PgValue::Oid(u32::from_be_bytes(fixed(raw)?)),
        FLOAT4 => PgValue::Float4(f32::from_be_bytes(fixed(raw)?)),
        FLOAT8 => PgValue::Float8(f64::from_be_bytes(fixed(raw)?)),
        NUMERIC => PgValue::Numeric(numeric::decode_binary(raw)?),
        MONEY => PgValue::Money(i64::from_be_bytes(fixed(raw)?)),
        TEXT | VARCHAR | BPCHAR | NAME => PgValue::Text(Cow::Borrowed(utf8(raw)?)),
        CHAR => PgValue::Char(u8::from_be_bytes(fixed(raw)?)),
        BYTEA => PgValue::Bytea(Cow::Borrowed(raw)),
        JSON => PgValue::Json(Cow::Borrowed(utf8(raw)?)),
        JSONB => match raw.split_first() {
            Some((1, rest)) => PgValue::Jsonb(Cow::Borrowed(utf8(rest)?)),
            Some((v, _)) => return Err(Fail::Text(format!("unsupported jsonb version {v}"))),
            None => return Err(Fail::Msg("missing jsonb version byte")),
        },
        XML => PgValue::Xml(Cow::Borrowed(utf8(raw)?)),
        DATE => PgValue::Date(datetime::decode_date_binary(raw)?),
        TIME => PgValue::Time(datetime::decode_time_binary(raw)?),
        TIMETZ => {
            let (micros, offset_seconds) = datetime::decode_timetz_binary(raw)?;
            PgValue::TimeTz {
                micros,
                offset_seconds,
            }
        }
        TIMESTAMP => PgValue::Timestamp(datetime::decode_timestamp_binary(raw)?),
        TIMESTAMPTZ => PgValue::TimestampTz(datetime::decode_timestamp_binary(raw)?),
        INTERVAL => PgValue::Interval(interval::decode_binary(raw)?),
        UUID => PgValue::Uuid(fixed(raw)?),
        BIT | VARBIT => PgValue::Bit(bits::decode_binary(raw)?),
        INET => PgValue::Inet(net::decode_binary(raw, false)?),
        CIDR => PgValue::Cidr(net::decode_binary(raw, true)?),
        MACADDR => PgValue::MacAddr(fixed(raw)?),
        MACADDR8 => PgValue::MacAddr8(match raw.len() {
            6 => eui48_to_eui64(fixed(raw)?),
            _ => fixed(raw)?,
        }),
        _ => return Err(Fail::Msg("not a built-in scalar type")),
    })
}

/// `macaddr8` accepts 6-byte addresses, inserting `FF:FE` in the middle.
fn eui48_to_eui64([a, b, c, d, e, f]: [u8; 6]) -> [u8; 8] {
    [a, b, c, 0xFF, 0xFE, d, e, f]
}

fn bool_text(raw: &[u8]) -> Result<bool, Fail> {
    match raw {
        b"t" | b"true" | b"TRUE" | b"True" => Ok(true),
        b"f" | b"false" | b"FALSE" | b"False" => Ok(false),
        _ => Err(Fail::Msg("expected t or f")),
    }
}

/// Float text: `NaN`, `Infinity`, `-Infinity` or a decimal (shortest
/// round-trip output with `extra_float_digits > 0`).
fn float_text<F: std::str::FromStr + FloatConsts>(raw: &[u8]) -> Result<F, Fail> {
    match raw {
        b"NaN" => Ok(F::NAN),
        b"Infinity" => Ok(F::INFINITY),
        b"-Infinity" => Ok(F::NEG_INFINITY),
        _ => utf8(raw)?
            .parse()
            .map_err(|_| Fail::Msg("not a floating-point number")),
    }
}

/// The special values of `f32` and `f64`.
pub(crate) trait FloatConsts {
    const NAN: Self;
    const INFINITY: Self;
    const NEG_INFINITY: Self;
}

impl FloatConsts for f32 {
    const NAN: Self = f32::NAN;
    const INFINITY: Self = f32::INFINITY;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
}

impl FloatConsts for f64 {
    const NAN: Self = f64::NAN;
    const INFINITY: Self = f64::INFINITY;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
}

/// `"char"` text: empty for `\0`, `\ooo` for bytes >= 0x80, else the byte.
fn char_text(raw: &[u8]) -> Result<u8, Fail> {
    match *raw {
        [] => Ok(0),
        [c] => Ok(c),
        [b'\\', a, b, c] => octal3(a, b, c).ok_or(Fail::Msg("invalid octal escape")),
        _ => Err(Fail::Msg("expected a single byte or \\ooo")),
    }
}

fn octal3(a: u8, b: u8, c: u8) -> Option<u8> {
    let d = |x: u8| (b'0'..=b'7').contains(&x).then(|| x - b'0');
    let v = u16::from(d(a)?) * 64 + u16::from(d(b)?) * 8 + u16::from(d(c)?);
    u8::try_from(v).ok()
}

/// `bytea` text: `\x` hex, or the legacy escape format.
fn bytea_text(raw: &[u8]) -> Result<Cow<'_, [u8]>, Fail> {
    if let Some(hex) = raw.strip_prefix(b"\\x") {
        let mut out = Vec::with_capacity(hex.len() / 2);
        let mut it = hex.iter().copied().filter(|c| !c.is_ascii_whitespace());
        while let Some(hi) = it.next() {
            let lo = it.next().ok_or(Fail::Msg("odd number of hex digits"))?;
            out.push(hex_pair(hi, lo).ok_or(Fail::Msg("invalid hex digit"))?);
        }
        return Ok(Cow::Owned(out));
    }
    if memchr::memchr(b'\\', raw).is_none() {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some((&c, tail)) = rest.split_first() {
        if c != b'\\' {
            out.push(c);
            rest = tail;
            continue;
        }
        match *tail {
            [b'\\', ref after @ ..] => {
                out.push(b'\\');
                rest = after;
            }
            [a, b, c, ref after @ ..] => {
                out.push(
                    octal3(a, b, c).ok_or(Fail::Msg("invalid escape (expected \\\\ or \\ooo)"))?,
                );
                rest = after;
            }
            _ => return Err(Fail::Msg("truncated escape")),
        }
    }
    Ok(Cow::Owned(out))
}

/// `uuid` text: 8-4-4-4-12 hex digits, either case.
fn uuid_text(raw: &[u8]) -> Result<[u8; 16], Fail> {
    /// Where each byte's two hex digits start in the 8-4-4-4-12 form.
    const PAIRS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    const BAD: Fail = Fail::Msg("expected hex digits with '-' at 8, 13, 18, 23");
    let chars: &[u8; 36] = raw
        .try_into()
        .map_err(|_| Fail::Msg("expected 36 characters (8-4-4-4-12 hex)"))?;
    if [8, 13, 18, 23]
        .iter()
        .any(|&at| chars.get(at) != Some(&b'-'))
    {
        return Err(BAD);
    }
    let mut out = [0u8; 16];
    for (byte, &at) in out.iter_mut().zip(&PAIRS) {
        let (Some(&hi), Some(&lo)) = (chars.get(at), chars.get(at + 1)) else {
            return Err(BAD);
        };
        match (hex_digit(hi), hex_digit(lo)) {
            (Some(h), Some(l)) => *byte = (h << 4) | l,
            _ => return Err(BAD),
        }
    }
    Ok(out)
}

/// Writes a uuid in lower-case 8-4-4-4-12 form.
pub(crate) fn write_uuid<W: fmt::Write>(w: &mut W, u: &[u8; 16]) -> fmt::Result {
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            w.write_char('-')?;
        }
        write!(w, "{b:02x}")?;
    }
    Ok(())
}

/// Writes `\x` and lower-case hex.
pub(crate) fn write_bytea_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(2 + bytes.len() * 2);
    out.extend_from_slice(b"\\x");
    for &b in bytes {
        for n in [b >> 4, b & 0xF] {
            out.push(HEX.get(usize::from(n)).copied().unwrap_or(b'0'));
        }
    }
}

/// Writes `"char"` output.
pub(crate) fn write_char(out: &mut Vec<u8>, c: u8) {
    match c {
        0 => {}
        0x80.. => out.extend_from_slice(&[
            b'\\',
            b'0' + (c >> 6),
            b'0' + ((c >> 3) & 7),
            b'0' + (c & 7),
        ]),
        _ => out.push(c),
    }
}

/// Writes a float as PostgreSQL does with `extra_float_digits > 0`: the
/// shortest digits that round-trip, in fixed notation when the decimal
/// exponent is in `-4..max_fixed_exp`, else `d.ddde+XX`.
/// `max_fixed_exp` is 15 for `float8`, 6 for `float4`.
pub(crate) fn write_float<W: fmt::Write, F: fmt::LowerExp + Copy>(
    w: &mut W,
    v: F,
    is_nan: bool,
    is_infinite: bool,
    max_fixed_exp: i32,
) -> fmt::Result {
    let mut sci = String::new();
    write!(sci, "{v:e}")?;
    let (negative, body) = match sci.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, sci.as_str()),
    };
    if is_nan {
        return w.write_str("NaN");
    }
    if is_infinite {
        return w.write_str(if negative { "-Infinity" } else { "Infinity" });
    }
    let (mantissa, exp) = body.split_once('e').unwrap_or((body, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if negative {
        w.write_char('-')?;
    }
    if digits == "0" {
        return w.write_char('0');
    }
    if (-4..max_fixed_exp).contains(&exp) {
        if exp < 0 {
            w.write_str("0.")?;
            for _ in 0..(-exp - 1) {
                w.write_char('0')?;
            }
            w.write_str(&digits)
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                w.write_str(&digits)?;
                for _ in digits.len()..int_len {
                    w.write_char('0')?;
                }
                Ok(())
            } else {
                let (a, b) = digits.split_at(int_len);
                write!(w, "{a}.{b}")
            }
        }
    } else {
        let (first, rest) = digits.split_at(1);
        w.write_str(first)?;
        if !rest.is_empty() {
            write!(w, ".{rest}")?;
        }
        let sign = if exp < 0 { '-' } else { '+' };
        write!(w, "e{sign}{:02}", exp.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    // Tests unwrap known-good fixtures.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn f8(v: f64) -> String {
        let mut s = String::new();
        write_float(&mut s, v, v.is_nan(), v.is_infinite(), 15).unwrap();
        s
    }

    fn f4(v: f32) -> String {
        let mut s = String::new();
        write_float(&mut s, v, v.is_nan(), v.is_infinite(), 6).unwrap();
        s
    }

    #[test]
    fn float_output_matches_postgres() {
        // Values as PostgreSQL 12+ prints them with extra_float_digits = 3.
        assert_eq!(f8(0.1), "0.1");
        assert_eq!(f8(1.0), "1");
        assert_eq!(f8(-0.0), "-0");
        assert_eq!(f8(0.0), "0");
        assert_eq!(f8(123456.789), "123456.789");
        assert_eq!(f8(1e15), "1e+15");
        assert_eq!(f8(1e14), "100000000000000");
        assert_eq!(f8(0.0001), "0.0001");
        assert_eq!(f8(0.00001234), "1.234e-05");
        assert_eq!(f8(1.5e300), "1.5e+300");
        assert_eq!(f8(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(f8(5e-324), "5e-324");
        assert_eq!(f8(f64::NAN), "NaN");
        assert_eq!(f8(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(f4(0.1), "0.1");
        assert_eq!(f4(123456.0), "123456");
        assert_eq!(f4(1234567.0), "1.234567e+06");
        assert_eq!(f4(f32::INFINITY), "Infinity");
    }

    #[test]
    fn float_text_parsing() {
        assert!(float_text::<f64>(b"NaN").unwrap().is_nan());
        assert_eq!(float_text::<f64>(b"Infinity").unwrap(), f64::INFINITY);
        assert_eq!(float_text::<f64>(b"-Infinity").unwrap(), f64::NEG_INFINITY);
        assert!(float_text::<f64>(b"-0").unwrap().is_sign_negative());
        assert_eq!(float_text::<f64>(b"1.5e+300").unwrap(), 1.5e300);
        assert_eq!(float_text::<f32>(b"1.234567e+06").unwrap(), 1234567.0);
        assert!(float_text::<f64>(b"").is_err());
        assert!(float_text::<f64>(b"1,5").is_err());
        assert!(float_text::<f64>(b"\xff").is_err());
    }

    #[test]
    fn ints_bool_char() {
        assert_eq!(
            decode_text(INT2, b"-32768").unwrap(),
            PgValue::Int2(i16::MIN)
        );
        assert_eq!(
            decode_text(INT4, b"2147483647").unwrap(),
            PgValue::Int4(i32::MAX)
        );
        assert_eq!(
            decode_text(INT8, b"-9223372036854775808").unwrap(),
            PgValue::Int8(i64::MIN)
        );
        assert_eq!(
            decode_text(OID, b"4294967295").unwrap(),
            PgValue::Oid(u32::MAX)
        );
        for (oid, bad) in [
            (INT2, "32768"),
            (INT4, ""),
            (INT4, "1.0"),
            (INT8, "9223372036854775808"),
            (OID, "-1"),
            (INT4, " 1"),
        ] {
            assert!(decode_text(oid, bad.as_bytes()).is_err(), "{oid} {bad:?}");
        }
        assert_eq!(
            decode_binary(INT2, &[0x80, 0]).unwrap(),
            PgValue::Int2(i16::MIN)
        );
        assert_eq!(decode_binary(INT8, &[0xFF; 8]).unwrap(), PgValue::Int8(-1));
        assert!(decode_binary(INT4, &[0; 3]).is_err());
        assert!(decode_binary(INT4, &[0; 5]).is_err());
        assert_eq!(decode_text(BOOL, b"t").unwrap(), PgValue::Bool(true));
        assert_eq!(decode_text(BOOL, b"f").unwrap(), PgValue::Bool(false));
        assert!(decode_text(BOOL, b"yes!").is_err());
        assert_eq!(decode_binary(BOOL, &[1]).unwrap(), PgValue::Bool(true));
        assert!(decode_binary(BOOL, &[]).is_err());
        assert_eq!(decode_text(CHAR, b"").unwrap(), PgValue::Char(0));
        assert_eq!(decode_text(CHAR, b"a").unwrap(), PgValue::Char(b'a'));
        assert_eq!(decode_text(CHAR, b"\\377").unwrap(), PgValue::Char(0xFF));
        assert!(decode_text(CHAR, b"ab").is_err());
        assert!(decode_text(CHAR, b"\\400").is_err());
        let mut out = Vec::new();
        write_char(&mut out, 0xE9);
        assert_eq!(out, b"\\351");
    }

    #[test]
    fn bytea_forms() {
        assert_eq!(bytea_text(b"\\x").unwrap(), Cow::<[u8]>::Borrowed(&[]));
        assert_eq!(bytea_text(b"\\x00FFab").unwrap().as_ref(), &[0, 0xFF, 0xAB]);
        assert_eq!(bytea_text(b"abc").unwrap(), Cow::<[u8]>::Borrowed(b"abc"));
        assert!(matches!(bytea_text(b"abc").unwrap(), Cow::Borrowed(_)));
        assert_eq!(
            bytea_text(b"a\\\\b\\000\\377").unwrap().as_ref(),
            b"a\\b\x00\xff"
        );
        for bad in ["\\x0", "\\xzz", "\\", "a\\1", "\\999", "\\400"] {
            assert!(bytea_text(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let mut out = Vec::new();
        write_bytea_hex(&mut out, &[0, 0xAB]);
        assert_eq!(out, b"\\x00ab");
    }

    #[test]
    fn uuid_forms() {
        let u = uuid_text(b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").unwrap();
        assert_eq!(u[0], 0xA0);
        assert_eq!(u[15], 0x11);
        assert_eq!(
            uuid_text(b"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11").unwrap(),
            u
        );
        let mut s = String::new();
        write_uuid(&mut s, &u).unwrap();
        assert_eq!(s, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
        for bad in [
            "",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0eebc99x9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g",
            "a0eebc999c0b-4ef8-bb6d-6bb9bd380a11-",
        ] {
            assert!(uuid_text(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(decode_binary(UUID, &[0; 15]).is_err());
    }

    #[test]
    fn text_like() {
        assert_eq!(
            decode_text(TEXT, b"").unwrap(),
            PgValue::Text(Cow::Borrowed(""))
        );
        assert_eq!(
            decode_text(VARCHAR, "héllo ✓".as_bytes()).unwrap(),
            PgValue::Text(Cow::Borrowed("héllo ✓"))
        );
        assert!(decode_text(TEXT, b"\xff").is_err());
        assert_eq!(
            decode_binary(JSONB, b"\x01{\"a\":1}").unwrap(),
            PgValue::Jsonb(Cow::Borrowed("{\"a\":1}"))
        );
        assert!(decode_binary(JSONB, b"\x02{}").is_err());
        assert!(decode_binary(JSONB, b"").is_err());
        assert_eq!(
            decode_text(JSONB, b"{}").unwrap(),
            PgValue::Jsonb(Cow::Borrowed("{}"))
        );
        assert_eq!(
            decode_binary(JSON, b"[]").unwrap(),
            PgValue::Json(Cow::Borrowed("[]"))
        );
        assert_eq!(
            decode_text(XML, b"<a/>").unwrap(),
            PgValue::Xml(Cow::Borrowed("<a/>"))
        );
        assert_eq!(
            decode_binary(MACADDR8, &[1, 2, 3, 4, 5, 6]).unwrap(),
            PgValue::MacAddr8([1, 2, 3, 0xFF, 0xFE, 4, 5, 6])
        );
        assert_eq!(
            decode_text(MACADDR8, b"01:02:03:04:05:06").unwrap(),
            PgValue::MacAddr8([1, 2, 3, 0xFF, 0xFE, 4, 5, 6])
        );
    }
}
