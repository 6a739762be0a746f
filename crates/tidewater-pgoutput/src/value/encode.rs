//! Encoding values back to PostgreSQL's canonical text and binary forms
//! (for tests, fixtures and replaying changes).

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use super::error::{Fail, display_name};
use super::oid::*;
use super::{
    Format, PgValue, ValueError, array, bits, datetime, interval, money, net, numeric, scalar,
};

/// `fmt::Write` over a byte buffer.
struct Bytes<'v>(&'v mut Vec<u8>);

impl fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Appends the text output PostgreSQL would produce for `value` (with
/// `DateStyle = ISO`, `IntervalStyle = iso_8601`, `extra_float_digits = 3`,
/// `lc_monetary = C`, `timestamptz` shown in UTC).
///
/// `Null` appends nothing (NULL has no text form; it is signalled
/// separately), and `Unknown` appends its raw bytes whatever their format.
pub fn encode_text(value: &PgValue<'_>, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail, so fmt results are ignored.
    let mut w = Bytes(out);
    let _ = write_text(value, &mut w);
}

fn write_text(value: &PgValue<'_>, w: &mut Bytes<'_>) -> fmt::Result {
    match value {
        PgValue::Null => Ok(()),
        PgValue::Bool(b) => w.write_str(if *b { "t" } else { "f" }),
        PgValue::Int2(v) => write!(w, "{v}"),
        PgValue::Int4(v) => write!(w, "{v}"),
        PgValue::Int8(v) => write!(w, "{v}"),
        PgValue::Oid(v) => write!(w, "{v}"),
        PgValue::Float4(v) => scalar::write_float(w, *v, v.is_nan(), v.is_infinite(), 6),
        PgValue::Float8(v) => scalar::write_float(w, *v, v.is_nan(), v.is_infinite(), 15),
        PgValue::Numeric(n) => w.write_str(n.as_str()),
        PgValue::Money(m) => money::write_text(w, *m),
        PgValue::Text(s)
        | PgValue::Json(s)
        | PgValue::Jsonb(s)
        | PgValue::Xml(s)
        | PgValue::Enum(s) => w.write_str(s),
        PgValue::Char(c) => {
            scalar::write_char(w.0, *c);
            Ok(())
        }
        PgValue::Bytea(b) => {
            scalar::write_bytea_hex(w.0, b);
            Ok(())
        }
        PgValue::Date(d) => write!(w, "{d}"),
        PgValue::Time(t) => datetime::write_time(w, *t),
        PgValue::TimeTz {
            micros,
            offset_seconds,
        } => datetime::write_timetz(w, *micros, *offset_seconds),
        PgValue::Timestamp(t) => datetime::write_timestamp(w, *t, None),
        PgValue::TimestampTz(t) => datetime::write_timestamp(w, *t, Some(0)),
        PgValue::Interval(i) => write!(w, "{i}"),
        PgValue::Uuid(u) => scalar::write_uuid(w, u),
        PgValue::Bit(b) => write!(w, "{b}"),
        PgValue::Inet(n) => net::write_net(w, n, false),
        PgValue::Cidr(n) => net::write_net(w, n, true),
        PgValue::MacAddr(m) => net::write_mac(w, m),
        PgValue::MacAddr8(m) => net::write_mac(w, m),
        PgValue::Array(a) => {
            array::encode_text(a, w.0);
            Ok(())
        }
        PgValue::Unknown { raw, .. } => {
            w.0.extend_from_slice(raw);
            Ok(())
        }
    }
}

/// Whether a value of this variant may be sent as type `oid`. Types this
/// module does not know (domains, enums, extension types) accept any value.
fn compatible(value: &PgValue<'_>, oid: u32) -> bool {
    if type_name(oid).is_none() {
        return !matches!(value, PgValue::Null);
    }
    match value {
        PgValue::Bool(_) => oid == BOOL,
        PgValue::Int2(_) => oid == INT2,
        PgValue::Int4(_) => oid == INT4,
        PgValue::Int8(_) => oid == INT8,
        PgValue::Oid(_) => oid == OID,
        PgValue::Float4(_) => oid == FLOAT4,
        PgValue::Float8(_) => oid == FLOAT8,
        PgValue::Numeric(_) => oid == NUMERIC,
        PgValue::Money(_) => oid == MONEY,
        PgValue::Text(_) => matches!(oid, TEXT | VARCHAR | BPCHAR | NAME),
        PgValue::Char(_) => oid == CHAR,
        PgValue::Bytea(_) => oid == BYTEA,
        PgValue::Date(_) => oid == DATE,
        PgValue::Time(_) => oid == TIME,
        PgValue::TimeTz { .. } => oid == TIMETZ,
        PgValue::Timestamp(_) => oid == TIMESTAMP,
        PgValue::TimestampTz(_) => oid == TIMESTAMPTZ,
        PgValue::Interval(_) => oid == INTERVAL,
        PgValue::Uuid(_) => oid == UUID,
        PgValue::Json(_) => oid == JSON,
        PgValue::Jsonb(_) => oid == JSONB,
        PgValue::Xml(_) => oid == XML,
        PgValue::Bit(_) => matches!(oid, BIT | VARBIT),
        PgValue::Inet(_) => oid == INET,
        PgValue::Cidr(_) => oid == CIDR,
        PgValue::MacAddr(_) => oid == MACADDR,
        PgValue::MacAddr8(_) => oid == MACADDR8,
        PgValue::Array(a) => array_element(oid) == Some(a.element_oid()),
        PgValue::Enum(_) | PgValue::Null => false,
        PgValue::Unknown { type_oid, .. } => *type_oid == oid,
    }
}

/// Appends the binary send form of `value` as type `type_oid`.
///
/// Fails when the variant does not match a built-in `type_oid` (for example
/// `Int4` as `int8`), for `Null` (which has no binary form), for `Unknown`
/// values that hold text, and for values that cannot be represented (an
/// `Inet` with an out-of-range prefix, a bit string over `i32::MAX` bits).
pub fn encode_binary(
    value: &PgValue<'_>,
    type_oid: u32,
    out: &mut Vec<u8>,
) -> Result<(), ValueError> {
    let fail = |reason: Cow<'static, str>| ValueError::Encode {
        type_name: display_name(type_oid),
        type_oid,
        format: Format::Binary,
        value_kind: value.kind_name(),
        reason,
    };
    if !compatible(value, type_oid) {
        return Err(fail(Cow::Borrowed("value variant does not match the type")));
    }
    match value {
        PgValue::Null => return Err(fail(Cow::Borrowed("NULL has no binary form"))),
        PgValue::Bool(b) => out.push(u8::from(*b)),
        PgValue::Int2(v) => out.extend_from_slice(&v.to_be_bytes()),
        PgValue::Int4(v) => out.extend_from_slice(&v.to_be_bytes()),
        PgValue::Int8(v) | PgValue::Money(v) => out.extend_from_slice(&v.to_be_bytes()),
        PgValue::Oid(v) => out.extend_from_slice(&v.to_be_bytes()),
        PgValue::Float4(v) => out.extend_from_slice(&v.to_be_bytes()),
        PgValue::Float8(v) => out.extend_from_slice(&v.to_be_bytes()),
        PgValue::Numeric(n) => numeric::encode_binary(n, out),
        PgValue::Text(s) | PgValue::Json(s) | PgValue::Xml(s) | PgValue::Enum(s) => {
            out.extend_from_slice(s.as_bytes());
        }
        PgValue::Jsonb(s) => {
            out.push(1);
            out.extend_from_slice(s.as_bytes());
        }
        PgValue::Char(c) => out.push(*c),
        PgValue::Bytea(b) => out.extend_from_slice(b),
        PgValue::Date(d) => out.extend_from_slice(&d.to_pg_days().to_be_bytes()),
        PgValue::Time(t) => out.extend_from_slice(&t.to_be_bytes()),
        PgValue::TimeTz {
            micros,
            offset_seconds,
        } => {
            out.extend_from_slice(&micros.to_be_bytes());
            // The wire counts seconds west of UTC.
            let west = offset_seconds
                .checked_neg()
                .ok_or_else(|| fail(Cow::Borrowed("offset out of range")))?;
            out.extend_from_slice(&west.to_be_bytes());
        }
        PgValue::Timestamp(t) | PgValue::TimestampTz(t) => {
            out.extend_from_slice(&t.to_pg_micros().to_be_bytes());
        }
        PgValue::Interval(i) => interval::encode_binary(i, out),
        PgValue::Uuid(u) => out.extend_from_slice(u),
        PgValue::Bit(b) => bits::encode_binary(b, out).map_err(|f| match f {
            Fail::Msg(m) => fail(Cow::Borrowed(m)),
            _ => fail(Cow::Borrowed("invalid bit string")),
        })?,
        PgValue::Inet(n) | PgValue::Cidr(n) => {
            if n.prefix > n.max_prefix() {
                return Err(fail(Cow::Borrowed("prefix longer than the address")));
            }
            net::encode_binary(n, matches!(value, PgValue::Cidr(_)), out);
        }
        PgValue::MacAddr(m) => out.extend_from_slice(m),
        PgValue::MacAddr8(m) => out.extend_from_slice(m),
        PgValue::Array(a) => array::encode_binary(a, type_oid, out)?,
        PgValue::Unknown { raw, format, .. } => {
            if *format != Format::Binary {
                return Err(fail(Cow::Borrowed("value is in text form")));
            }
            out.extend_from_slice(raw);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    // Tests unwrap known-good fixtures.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::types::NoTypes;
    use crate::value::{PgArray, PgDate, PgTimestamp, decode_binary, decode_text};

    fn text_of(v: &PgValue<'_>) -> String {
        let mut out = Vec::new();
        encode_text(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn canonical_text() {
        assert_eq!(text_of(&PgValue::Bool(true)), "t");
        assert_eq!(text_of(&PgValue::Int8(i64::MIN)), "-9223372036854775808");
        assert_eq!(text_of(&PgValue::Float8(-0.0)), "-0");
        assert_eq!(text_of(&PgValue::Money(-123_456)), "-$1,234.56");
        assert_eq!(
            text_of(&PgValue::Bytea(Cow::Borrowed(&[0xDE, 0xAD]))),
            "\\xdead"
        );
        assert_eq!(text_of(&PgValue::Date(PgDate::Finite(0))), "2000-01-01");
        assert_eq!(text_of(&PgValue::Time(86_400_000_000)), "24:00:00");
        assert_eq!(
            text_of(&PgValue::TimeTz {
                micros: 0,
                offset_seconds: 19_800
            }),
            "00:00:00+05:30"
        );
        assert_eq!(
            text_of(&PgValue::TimestampTz(PgTimestamp::Finite(1_500_000))),
            "2000-01-01 00:00:01.5+00"
        );
        assert_eq!(
            text_of(&PgValue::Timestamp(PgTimestamp::NegativeInfinity)),
            "-infinity"
        );
        assert_eq!(
            text_of(&PgValue::Uuid([0xAB; 16])),
            "abababab-abab-abab-abab-abababababab"
        );
        assert_eq!(text_of(&PgValue::Null), "");
    }

    #[test]
    fn binary_type_checks() {
        let mut out = Vec::new();
        assert!(encode_binary(&PgValue::Int4(1), INT8, &mut out).is_err());
        assert!(encode_binary(&PgValue::Null, INT4, &mut out).is_err());
        assert!(encode_binary(&PgValue::Enum(Cow::Borrowed("x")), TEXT, &mut out).is_err());
        let e = encode_binary(&PgValue::Text(Cow::Borrowed("x")), INT4, &mut out).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot encode Text value as int4 (oid 23) binary: value variant does not match the type"
        );
        assert!(out.is_empty());
        encode_binary(&PgValue::Enum(Cow::Borrowed("x")), 70_000, &mut out).unwrap();
        assert_eq!(out, b"x");
        let unknown_text = PgValue::Unknown {
            type_oid: 70_000,
            raw: Cow::Borrowed(b"x"),
            format: Format::Text,
        };
        assert!(encode_binary(&unknown_text, 70_000, &mut out).is_err());
        let arr = PgValue::Array(PgArray::from_elements(INT4, vec![PgValue::Int4(1)]).unwrap());
        assert!(encode_binary(&arr, INT8_ARRAY, &mut out).is_err());
    }

    #[test]
    fn timetz_binary_zone_is_west() {
        let v = PgValue::TimeTz {
            micros: 1,
            offset_seconds: 3600,
        };
        let mut out = Vec::new();
        encode_binary(&v, TIMETZ, &mut out).unwrap();
        assert_eq!(&out[8..], &(-3600i32).to_be_bytes());
        assert_eq!(decode_binary(TIMETZ, -1, &out, &NoTypes).unwrap(), v);
        let t = text_of(&v);
        assert_eq!(t, "00:00:00.000001+01");
        assert_eq!(decode_text(TIMETZ, -1, t.as_bytes(), &NoTypes).unwrap(), v);
    }
}
