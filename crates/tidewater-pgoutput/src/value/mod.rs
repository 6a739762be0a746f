//! Typed decoding of column values, in text and binary form.
//!
//! pgoutput delivers each column as raw bytes in the type's text output
//! format or, when the subscription asked for `binary 'true'`, in its binary
//! send format. [`decode_text`], [`decode_binary`] and [`decode`] turn those
//! bytes into a [`PgValue`], borrowing from the input wherever the format
//! allows (text, JSON, unescaped array elements, binary `bytea`, ...).
//!
//! Assumptions about the sending session (the defaults of a replication
//! connection unless overridden): `server_encoding` is UTF-8,
//! `DateStyle = ISO`, `IntervalStyle` is `iso_8601` or `postgres` (both are
//! parsed), `extra_float_digits > 0` (shortest round-trip floats),
//! `lc_monetary = C` for the text form of `money`. `timestamptz` text carries
//! its offset, so any `TimeZone` works.
//!
//! Input is untrusted: decoders never panic, check lengths before reading and
//! size allocations by the bytes actually present.
//!
//! [`encode_text`] and [`encode_binary`] produce PostgreSQL's canonical
//! output for a value; they exist for tests and fixtures.

use std::borrow::Cow;

use crate::types::{TypeKind, TypeLookup};

mod array;
mod bits;
mod datetime;
mod encode;
mod error;
mod interval;
mod money;
mod net;
mod numeric;
pub mod oid;
mod scalar;
mod typmod;

#[cfg(test)]
mod proptests;

pub use array::{ArrayDimension, MAX_DIMENSIONS, PgArray};
pub use bits::BitString;
pub use datetime::{
    MICROS_PER_DAY, PG_EPOCH_UNIX_DAYS, PG_EPOCH_UNIX_MICROS, PgDate, PgTimestamp, civil_from_days,
    days_from_civil, is_leap_year, is_valid_ymd,
};
pub use encode::{encode_binary, encode_text};
pub use error::{Format, ValueError};
pub use interval::Interval;
pub use money::MONEY_FRACTION_DIGITS;
pub use net::IpNet;
pub use numeric::{Decimal, Numeric, NumericParseError};
pub use oid::type_name;
pub use typmod::{bit_length, numeric_precision_scale, time_precision, varchar_length};

use error::{Fail, utf8};

/// A decoded column value.
///
/// Equality compares floats by value except that `NaN` equals `NaN` and
/// `-0.0` differs from `0.0` (both bit-level distinctions PostgreSQL's own
/// float ordering also makes for `NaN`), so decoded values can be compared
/// exactly in tests.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PgValue<'a> {
    /// SQL `NULL` (an array element, or a null column).
    Null,
    /// `bool`.
    Bool(bool),
    /// `int2`.
    Int2(i16),
    /// `int4`.
    Int4(i32),
    /// `int8`.
    Int8(i64),
    /// `oid`.
    Oid(u32),
    /// `float4`.
    Float4(f32),
    /// `float8`.
    Float8(f64),
    /// `numeric`, exact.
    Numeric(Numeric<'a>),
    /// `money` in minor units (cents with the default two fraction digits).
    Money(i64),
    /// `text`, `varchar`, `bpchar` (with its padding), `name`, and the
    /// `citext` extension type.
    Text(Cow<'a, str>),
    /// `"char"`: a single byte (0 for the empty string).
    Char(u8),
    /// `bytea`.
    Bytea(Cow<'a, [u8]>),
    /// `date`.
    Date(PgDate),
    /// `time`: microseconds since midnight, `0..=86_400_000_000`
    /// (`24:00:00` is valid).
    Time(i64),
    /// `timetz`.
    TimeTz {
        /// Microseconds since midnight (local time), `0..=86_400_000_000`.
        micros: i64,
        /// Offset from UTC in seconds, positive EAST of Greenwich (as in the
        /// text form `+05:30`; the binary form's sign is the opposite).
        offset_seconds: i32,
    },
    /// `timestamp` (no time zone).
    Timestamp(PgTimestamp),
    /// `timestamptz`, as an instant (microseconds since 2000-01-01 UTC).
    TimestampTz(PgTimestamp),
    /// `interval`.
    Interval(Interval),
    /// `uuid`.
    Uuid([u8; 16]),
    /// `json`, as sent (not validated beyond UTF-8).
    Json(Cow<'a, str>),
    /// `jsonb`, as text (not validated beyond UTF-8).
    Jsonb(Cow<'a, str>),
    /// `xml`, as sent.
    Xml(Cow<'a, str>),
    /// `bit` or `varbit`.
    Bit(BitString<'a>),
    /// `inet`.
    Inet(IpNet),
    /// `cidr`.
    Cidr(IpNet),
    /// `macaddr`.
    MacAddr([u8; 6]),
    /// `macaddr8`.
    MacAddr8([u8; 8]),
    /// A label of a user-defined enum type.
    Enum(Cow<'a, str>),
    /// An array.
    Array(PgArray<'a>),
    /// A type this module does not decode; the bytes are kept unchanged.
    Unknown {
        /// The type's OID.
        type_oid: u32,
        /// The value as received.
        raw: Cow<'a, [u8]>,
        /// The format `raw` is in.
        format: Format,
    },
}

fn float4_eq(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn float8_eq(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

impl PartialEq for PgValue<'_> {
    fn eq(&self, other: &Self) -> bool {
        use PgValue as V;
        match (self, other) {
            (V::Null, V::Null) => true,
            (V::Bool(a), V::Bool(b)) => a == b,
            (V::Int2(a), V::Int2(b)) => a == b,
            (V::Int4(a), V::Int4(b)) => a == b,
            (V::Int8(a), V::Int8(b)) => a == b,
            (V::Oid(a), V::Oid(b)) => a == b,
            (V::Float4(a), V::Float4(b)) => float4_eq(*a, *b),
            (V::Float8(a), V::Float8(b)) => float8_eq(*a, *b),
            (V::Numeric(a), V::Numeric(b)) => a == b,
            (V::Money(a), V::Money(b)) => a == b,
            (V::Text(a), V::Text(b)) => a == b,
            (V::Char(a), V::Char(b)) => a == b,
            (V::Bytea(a), V::Bytea(b)) => a == b,
            (V::Date(a), V::Date(b)) => a == b,
            (V::Time(a), V::Time(b)) => a == b,
            (
                V::TimeTz {
                    micros: a,
                    offset_seconds: x,
                },
                V::TimeTz {
                    micros: b,
                    offset_seconds: y,
                },
            ) => a == b && x == y,
            (V::Timestamp(a), V::Timestamp(b)) => a == b,
            (V::TimestampTz(a), V::TimestampTz(b)) => a == b,
            (V::Interval(a), V::Interval(b)) => a == b,
            (V::Uuid(a), V::Uuid(b)) => a == b,
            (V::Json(a), V::Json(b)) => a == b,
            (V::Jsonb(a), V::Jsonb(b)) => a == b,
            (V::Xml(a), V::Xml(b)) => a == b,
            (V::Bit(a), V::Bit(b)) => a == b,
            (V::Inet(a), V::Inet(b)) => a == b,
            (V::Cidr(a), V::Cidr(b)) => a == b,
            (V::MacAddr(a), V::MacAddr(b)) => a == b,
            (V::MacAddr8(a), V::MacAddr8(b)) => a == b,
            (V::Enum(a), V::Enum(b)) => a == b,
            (V::Array(a), V::Array(b)) => a == b,
            (
                V::Unknown {
                    type_oid: a,
                    raw: r,
                    format: f,
                },
                V::Unknown {
                    type_oid: b,
                    raw: s,
                    format: g,
                },
            ) => a == b && r == s && f == g,
            _ => false,
        }
    }
}

impl PgValue<'_> {
    /// Copies any borrowed data so the value no longer borrows the input.
    pub fn into_owned(self) -> PgValue<'static> {
        use PgValue as V;
        fn own_str(s: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(s.into_owned())
        }
        match self {
            V::Null => V::Null,
            V::Bool(v) => V::Bool(v),
            V::Int2(v) => V::Int2(v),
            V::Int4(v) => V::Int4(v),
            V::Int8(v) => V::Int8(v),
            V::Oid(v) => V::Oid(v),
            V::Float4(v) => V::Float4(v),
            V::Float8(v) => V::Float8(v),
            V::Numeric(n) => V::Numeric(n.into_owned()),
            V::Money(v) => V::Money(v),
            V::Text(s) => V::Text(own_str(s)),
            V::Char(c) => V::Char(c),
            V::Bytea(b) => V::Bytea(Cow::Owned(b.into_owned())),
            V::Date(d) => V::Date(d),
            V::Time(t) => V::Time(t),
            V::TimeTz {
                micros,
                offset_seconds,
            } => V::TimeTz {
                micros,
                offset_seconds,
            },
            V::Timestamp(t) => V::Timestamp(t),
            V::TimestampTz(t) => V::TimestampTz(t),
            V::Interval(i) => V::Interval(i),
            V::Uuid(u) => V::Uuid(u),
            V::Json(s) => V::Json(own_str(s)),
            V::Jsonb(s) => V::Jsonb(own_str(s)),
            V::Xml(s) => V::Xml(own_str(s)),
            V::Bit(b) => V::Bit(b.into_owned()),
            V::Inet(n) => V::Inet(n),
            V::Cidr(n) => V::Cidr(n),
            V::MacAddr(m) => V::MacAddr(m),
            V::MacAddr8(m) => V::MacAddr8(m),
            V::Enum(s) => V::Enum(own_str(s)),
            V::Array(a) => V::Array(a.into_owned()),
            V::Unknown {
                type_oid,
                raw,
                format,
            } => V::Unknown {
                type_oid,
                raw: Cow::Owned(raw.into_owned()),
                format,
            },
        }
    }

    /// Whether this is [`PgValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, PgValue::Null)
    }

    /// The string of a `Text`, `Json`, `Jsonb`, `Xml` or `Enum` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PgValue::Text(s)
            | PgValue::Json(s)
            | PgValue::Jsonb(s)
            | PgValue::Xml(s)
            | PgValue::Enum(s) => Some(s),
            _ => None,
        }
    }

    /// The value of an `Int2`, `Int4`, `Int8` or `Oid`, widened.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            PgValue::Int2(v) => Some(v.into()),
            PgValue::Int4(v) => Some(v.into()),
            PgValue::Int8(v) => Some(v),
            PgValue::Oid(v) => Some(v.into()),
            _ => None,
        }
    }

    /// The variant's name, e.g. `"Int4"` (used in error messages).
    pub fn kind_name(&self) -> &'static str {
        match self {
            PgValue::Null => "Null",
            PgValue::Bool(_) => "Bool",
            PgValue::Int2(_) => "Int2",
            PgValue::Int4(_) => "Int4",
            PgValue::Int8(_) => "Int8",
            PgValue::Oid(_) => "Oid",
            PgValue::Float4(_) => "Float4",
            PgValue::Float8(_) => "Float8",
            PgValue::Numeric(_) => "Numeric",
            PgValue::Money(_) => "Money",
            PgValue::Text(_) => "Text",
            PgValue::Char(_) => "Char",
            PgValue::Bytea(_) => "Bytea",
            PgValue::Date(_) => "Date",
            PgValue::Time(_) => "Time",
            PgValue::TimeTz { .. } => "TimeTz",
            PgValue::Timestamp(_) => "Timestamp",
            PgValue::TimestampTz(_) => "TimestampTz",
            PgValue::Interval(_) => "Interval",
            PgValue::Uuid(_) => "Uuid",
            PgValue::Json(_) => "Json",
            PgValue::Jsonb(_) => "Jsonb",
            PgValue::Xml(_) => "Xml",
            PgValue::Bit(_) => "Bit",
            PgValue::Inet(_) => "Inet",
            PgValue::Cidr(_) => "Cidr",
            PgValue::MacAddr(_) => "MacAddr",
            PgValue::MacAddr8(_) => "MacAddr8",
            PgValue::Enum(_) => "Enum",
            PgValue::Array(_) => "Array",
            PgValue::Unknown { .. } => "Unknown",
        }
    }
}

/// Decodes a value in the given format. See [`decode_text`] and
/// [`decode_binary`].
pub fn decode<'a>(
    format: Format,
    type_oid: u32,
    type_modifier: i32,
    raw: &'a [u8],
    types: &dyn TypeLookup,
) -> Result<PgValue<'a>, ValueError> {
    match format {
        Format::Text => decode_text(type_oid, type_modifier, raw, types),
        Format::Binary => decode_binary(type_oid, type_modifier, raw, types),
    }
}

/// Decodes a value from its text output form.
///
/// Built-in types decode to their variants; arrays of built-in types through
/// the built-in array table. Other OIDs are looked up in `types`: enums
/// decode to [`PgValue::Enum`], domains as their base type, arrays by their
/// element type, a type named `citext` to [`PgValue::Text`], and anything
/// else to [`PgValue::Unknown`] holding the text (never an error).
///
/// `type_modifier` is not needed to decode any supported type; it is
/// accepted so callers can pass the column's `atttypmod` through.
pub fn decode_text<'a>(
    type_oid: u32,
    type_modifier: i32,
    raw: &'a [u8],
    types: &dyn TypeLookup,
) -> Result<PgValue<'a>, ValueError> {
    let _ = type_modifier;
    decode_oid(Format::Text, type_oid, raw, types, 0)
}

/// Decodes a value from its binary send form. Type resolution is as for
/// [`decode_text`]; an unknown type keeps its bytes.
pub fn decode_binary<'a>(
    type_oid: u32,
    type_modifier: i32,
    raw: &'a [u8],
    types: &dyn TypeLookup,
) -> Result<PgValue<'a>, ValueError> {
    let _ = type_modifier;
    decode_oid(Format::Binary, type_oid, raw, types, 0)
}

/// How a type OID decodes, after following domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A built-in scalar type.
    Scalar,
    /// An array with this element type.
    Array { element_oid: u32 },
    /// A user-defined enum.
    Enum,
    /// The `citext` extension type.
    Citext,
    /// Anything else.
    Unknown,
}

/// How deep domain and array nesting may go before the lookup is considered
/// cyclic.
const MAX_DEPTH: u32 = 16;

/// Resolves a type OID (following domains) to the OID whose format the
/// bytes are in and how to decode it.
pub(crate) fn resolve(
    mut oid: u32,
    types: &dyn TypeLookup,
    mut depth: u32,
) -> Result<(u32, Kind), Fail> {
    loop {
        if depth > MAX_DEPTH {
            return Err(Fail::Msg(
                "type nesting too deep (cyclic domain or array definitions?)",
            ));
        }
        if oid::is_builtin_scalar(oid) {
            return Ok((oid, Kind::Scalar));
        }
        if let Some(element_oid) = oid::array_element(oid) {
            return Ok((oid, Kind::Array { element_oid }));
        }
        let Some(info) = types.lookup_type(oid) else {
            return Ok((oid, Kind::Unknown));
        };
        return Ok(match &info.kind {
            TypeKind::Enum { .. } => (oid, Kind::Enum),
            TypeKind::Array { element_oid } => (
                oid,
                Kind::Array {
                    element_oid: *element_oid,
                },
            ),
            TypeKind::Domain { base_oid } => {
                oid = *base_oid;
                depth += 1;
                continue;
            }
            TypeKind::Unknown if info.name == "citext" => (oid, Kind::Citext),
            TypeKind::Unknown => (oid, Kind::Unknown),
        });
    }
}

fn decode_oid<'a>(
    format: Format,
    type_oid: u32,
    raw: &'a [u8],
    types: &dyn TypeLookup,
    depth: u32,
) -> Result<PgValue<'a>, ValueError> {
    let (oid, kind) = resolve(type_oid, types, depth).map_err(|f| f.at(type_oid, format))?;
    decode_kind(format, oid, kind, raw, types, depth)
}

/// Decodes bytes of a resolved type.
pub(crate) fn decode_kind<'a>(
    format: Format,
    oid: u32,
    kind: Kind,
    raw: &'a [u8],
    types: &dyn TypeLookup,
    depth: u32,
) -> Result<PgValue<'a>, ValueError> {
    let at = |f: Fail| f.at(oid, format);
    match kind {
        Kind::Scalar => match format {
            Format::Text => scalar::decode_text(oid, raw),
            Format::Binary => scalar::decode_binary(oid, raw),
        }
        .map_err(at),
        Kind::Array { element_oid } => match format {
            Format::Text => array::decode_text(oid, element_oid, raw, types, depth),
            Format::Binary => array::decode_binary(oid, element_oid, raw, types, depth),
        },
        Kind::Enum => Ok(PgValue::Enum(Cow::Borrowed(utf8(raw).map_err(at)?))),
        Kind::Citext => Ok(PgValue::Text(Cow::Borrowed(utf8(raw).map_err(at)?))),
        Kind::Unknown => Ok(PgValue::Unknown {
            type_oid: oid,
            raw: Cow::Borrowed(raw),
            format,
        }),
    }
}

/// Decodes an unescaped (owned) array element text, moving the string into
/// the value where the type is textual instead of copying it again.
pub(crate) fn decode_owned_text(
    oid: u32,
    kind: Kind,
    text: String,
    types: &dyn TypeLookup,
    depth: u32,
) -> Result<PgValue<'static>, ValueError> {
    Ok(match (kind, oid) {
        (Kind::Scalar, oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME) | (Kind::Citext, _) => {
            PgValue::Text(Cow::Owned(text))
        }
        (Kind::Scalar, oid::JSON) => PgValue::Json(Cow::Owned(text)),
        (Kind::Scalar, oid::JSONB) => PgValue::Jsonb(Cow::Owned(text)),
        (Kind::Scalar, oid::XML) => PgValue::Xml(Cow::Owned(text)),
        (Kind::Enum, _) => PgValue::Enum(Cow::Owned(text)),
        (Kind::Unknown, _) => PgValue::Unknown {
            type_oid: oid,
            raw: Cow::Owned(text.into_bytes()),
            format: Format::Text,
        },
        _ => decode_kind(Format::Text, oid, kind, text.as_bytes(), types, depth)?.into_owned(),
    })
}

#[cfg(test)]
mod tests {
    // Tests unwrap known-good fixtures.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use std::collections::HashMap;

    use super::*;
    use crate::types::{NoTypes, TypeInfo};

    const MOOD: u32 = 16_400;
    const MOOD_ARRAY: u32 = 16_399;
    const POSINT: u32 = 16_410;
    const POSINT_ARRAY: u32 = 16_409;
    const CITEXT: u32 = 16_420;
    const HSTORE: u32 = 16_430;
    const LOOP_A: u32 = 16_440;
    const LOOP_B: u32 = 16_441;

    fn lookup() -> HashMap<u32, TypeInfo> {
        let mut m = HashMap::new();
        let mut add = |oid, name: &str, kind| {
            m.insert(
                oid,
                TypeInfo {
                    oid,
                    namespace: "public".into(),
                    name: name.into(),
                    kind,
                },
            );
        };
        add(MOOD, "mood", TypeKind::Enum { labels: vec![] });
        add(MOOD_ARRAY, "_mood", TypeKind::Array { element_oid: MOOD });
        add(
            POSINT,
            "posint",
            TypeKind::Domain {
                base_oid: oid::INT4,
            },
        );
        add(
            POSINT_ARRAY,
            "_posint",
            TypeKind::Array {
                element_oid: POSINT,
            },
        );
        add(CITEXT, "citext", TypeKind::Unknown);
        add(HSTORE, "hstore", TypeKind::Unknown);
        add(LOOP_A, "a", TypeKind::Domain { base_oid: LOOP_B });
        add(LOOP_B, "b", TypeKind::Domain { base_oid: LOOP_A });
        m
    }

    fn text(oid: u32, s: &str) -> Result<PgValue<'_>, ValueError> {
        decode_text(oid, -1, s.as_bytes(), &lookup())
    }

    #[test]
    fn user_types() {
        assert_eq!(
            text(MOOD, "happy").unwrap(),
            PgValue::Enum(Cow::Borrowed("happy"))
        );
        assert_eq!(
            decode_binary(MOOD, -1, b"sad", &lookup()).unwrap(),
            PgValue::Enum(Cow::Borrowed("sad"))
        );
        assert_eq!(text(POSINT, "42").unwrap(), PgValue::Int4(42));
        assert_eq!(
            decode_binary(POSINT, -1, &7i32.to_be_bytes(), &lookup()).unwrap(),
            PgValue::Int4(7)
        );
        assert_eq!(
            text(CITEXT, "MiXeD").unwrap(),
            PgValue::Text(Cow::Borrowed("MiXeD"))
        );
        assert_eq!(
            text(HSTORE, "\"a\"=>\"1\"").unwrap(),
            PgValue::Unknown {
                type_oid: HSTORE,
                raw: Cow::Borrowed(b"\"a\"=>\"1\""),
                format: Format::Text
            }
        );
        assert_eq!(
            decode_binary(99_999, -1, &[0xFF, 0], &NoTypes).unwrap(),
            PgValue::Unknown {
                type_oid: 99_999,
                raw: Cow::Borrowed(&[0xFF, 0]),
                format: Format::Binary
            }
        );
        // Unknown text is kept even when it is not UTF-8.
        assert!(decode_text(99_999, -1, &[0xFF], &NoTypes).is_ok());
        let e = text(LOOP_A, "1").unwrap_err();
        assert!(e.to_string().contains("too deep"), "{e}");
        // Errors of domains name the base type.
        let e = text(POSINT, "x").unwrap_err();
        assert_eq!(e.type_oid(), oid::INT4);
    }

    #[test]
    fn arrays_of_user_types() {
        let v = text(MOOD_ARRAY, "{happy,\"very sad\",NULL}").unwrap();
        let PgValue::Array(a) = v else { panic!() };
        assert_eq!(a.element_oid(), MOOD);
        assert_eq!(
            a.elements(),
            &[
                PgValue::Enum(Cow::Borrowed("happy")),
                PgValue::Enum(Cow::Borrowed("very sad")),
                PgValue::Null
            ]
        );
        let v = text(POSINT_ARRAY, "{1,2}").unwrap();
        let PgValue::Array(a) = v else { panic!() };
        assert_eq!(a.elements(), &[PgValue::Int4(1), PgValue::Int4(2)]);
        let mut raw = Vec::new();
        encode_binary(&PgValue::Array(a.clone()), POSINT_ARRAY, &mut raw).unwrap();
        assert_eq!(
            decode_binary(POSINT_ARRAY, -1, &raw, &lookup()).unwrap(),
            PgValue::Array(a)
        );
    }

    #[test]
    fn decode_dispatches_on_format() {
        let t = decode(Format::Text, oid::INT4, -1, b"12", &NoTypes).unwrap();
        let raw = 12i32.to_be_bytes();
        let b = decode(Format::Binary, oid::INT4, -1, &raw, &NoTypes).unwrap();
        assert_eq!(t, b);
        let e = decode(Format::Binary, oid::INT4, -1, b"12", &NoTypes).unwrap_err();
        assert_eq!(
            e.to_string(),
            "int4 (oid 23) binary: expected 4 bytes, got 2"
        );
    }

    #[test]
    fn float_equality_convention() {
        assert_eq!(PgValue::Float8(f64::NAN), PgValue::Float8(-f64::NAN));
        assert_ne!(PgValue::Float8(0.0), PgValue::Float8(-0.0));
        assert_eq!(PgValue::Float4(1.5), PgValue::Float4(1.5));
        assert_ne!(PgValue::Float4(1.5), PgValue::Float8(1.5));
    }

    #[test]
    fn into_owned_detaches() {
        let owned = {
            let buf = b"{\"a b\",c}".to_vec();
            decode_text(oid::TEXT_ARRAY, -1, &buf, &NoTypes)
                .unwrap()
                .into_owned()
        };
        let PgValue::Array(a) = owned else { panic!() };
        assert_eq!(a.elements()[0].as_str(), Some("a b"));
        assert_eq!(PgValue::Int2(3).as_i64(), Some(3));
        assert!(PgValue::Null.is_null());
        assert_eq!(PgValue::Int2(3).kind_name(), "Int2");
    }
}
