//! Property tests: every value survives encode → decode in both formats, and
//! no input makes a decoder panic.

// Test code: unwrapping inside properties reports the failing input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "property tests over generated values"
)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::oid::*;
use super::*;
use crate::types::{NoTypes, TypeInfo, TypeKind};

const ENUM_OID: u32 = 50_000;
const ENUM_ARRAY_OID: u32 = 50_001;
const DOMAIN_OID: u32 = 50_002;
const CITEXT_OID: u32 = 50_003;

fn lookup() -> HashMap<u32, TypeInfo> {
    let mut m = HashMap::new();
    for (oid, name, kind) in [
        (ENUM_OID, "mood", TypeKind::Enum { labels: vec![] }),
        (
            ENUM_ARRAY_OID,
            "_mood",
            TypeKind::Array {
                element_oid: ENUM_OID,
            },
        ),
        (DOMAIN_OID, "d", TypeKind::Domain { base_oid: NUMERIC }),
        (CITEXT_OID, "citext", TypeKind::Unknown),
    ] {
        m.insert(
            oid,
            TypeInfo {
                oid,
                namespace: String::new(),
                name: name.into(),
                kind,
            },
        );
    }
    m
}

fn arb_numeric() -> BoxedStrategy<Numeric<'static>> {
    let finite = (
        any::<bool>(),
        prop_oneof!["0", "[1-9][0-9]{0,40}"],
        proptest::option::of("[0-9]{1,40}"),
    )
        .prop_map(|(neg, int, frac)| {
            let zero = int == "0" && frac.as_deref().is_none_or(|f| f.bytes().all(|b| b == b'0'));
            let mut s = String::new();
            if neg && !zero {
                s.push('-');
            }
            s.push_str(&int);
            if let Some(f) = frac {
                s.push('.');
                s.push_str(&f);
            }
            Numeric::Finite(Decimal::from_string(s).unwrap())
        });
    prop_oneof![
        1 => Just(Numeric::NaN),
        1 => Just(Numeric::PositiveInfinity),
        1 => Just(Numeric::NegativeInfinity),
        20 => finite,
    ]
    .boxed()
}

fn arb_ts() -> BoxedStrategy<PgTimestamp> {
    prop_oneof![
        1 => Just(PgTimestamp::PositiveInfinity),
        1 => Just(PgTimestamp::NegativeInfinity),
        5 => (i64::MIN + 1..i64::MAX).prop_map(PgTimestamp::Finite),
        5 => (-300_000_000_000_000_000i64..300_000_000_000_000_000).prop_map(PgTimestamp::Finite),
    ]
    .boxed()
}

fn arb_net(cidr: bool) -> BoxedStrategy<IpNet> {
    let v4 = (any::<[u8; 4]>(), 0u8..=32).prop_map(|(a, p)| (IpAddr::V4(Ipv4Addr::from(a)), p));
    let v6 = (any::<[u8; 16]>(), 0u8..=128, 0u8..4).prop_map(|(mut a, p, shape)| {
        // Bias towards zero runs and embedded IPv4 forms.
        match shape {
            0 => a[..12].fill(0),
            1 => {
                a[..10].fill(0);
                a[10] = 0xFF;
                a[11] = 0xFF;
            }
            2 => a[4..10].fill(0),
            _ => {}
        }
        (IpAddr::V6(Ipv6Addr::from(a)), p)
    });
    prop_oneof![v4, v6]
        .prop_map(move |(addr, prefix)| {
            let mut net = IpNet { addr, prefix };
            if cidr {
                net.addr = mask(addr, prefix);
            }
            net
        })
        .boxed()
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

/// An arbitrary value of a scalar type.
fn arb_scalar(oid: u32) -> BoxedStrategy<PgValue<'static>> {
    let owned = |s: String| Cow::<'static, str>::Owned(s);
    match oid {
        BOOL => any::<bool>().prop_map(PgValue::Bool).boxed(),
        INT2 => any::<i16>().prop_map(PgValue::Int2).boxed(),
        INT4 => any::<i32>().prop_map(PgValue::Int4).boxed(),
        INT8 => any::<i64>().prop_map(PgValue::Int8).boxed(),
        OID => any::<u32>().prop_map(PgValue::Oid).boxed(),
        FLOAT4 => any::<u32>()
            .prop_map(|b| PgValue::Float4(f32::from_bits(b)))
            .boxed(),
        FLOAT8 => prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            any::<f64>(),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
        ]
        .prop_map(PgValue::Float8)
        .boxed(),
        NUMERIC => arb_numeric().prop_map(PgValue::Numeric).boxed(),
        MONEY => any::<i64>().prop_map(PgValue::Money).boxed(),
        TEXT | VARCHAR | BPCHAR | NAME => any::<String>()
            .prop_map(move |s| PgValue::Text(owned(s)))
            .boxed(),
        CHAR => any::<u8>().prop_map(PgValue::Char).boxed(),
        BYTEA => proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(|b| PgValue::Bytea(Cow::Owned(b)))
            .boxed(),
        JSON => any::<String>().prop_map(move |s| PgValue::Json(owned(s))).boxed(),
        JSONB => any::<String>().prop_map(move |s| PgValue::Jsonb(owned(s))).boxed(),
        XML => any::<String>().prop_map(move |s| PgValue::Xml(owned(s))).boxed(),
        DATE => prop_oneof![
            1 => Just(PgDate::PositiveInfinity),
            1 => Just(PgDate::NegativeInfinity),
            5 => (i32::MIN + 1..i32::MAX).prop_map(PgDate::Finite),
            5 => (-2_500_000i32..3_000_000).prop_map(PgDate::Finite),
        ]
        .prop_map(PgValue::Date)
        .boxed(),
        TIME => (0..=MICROS_PER_DAY).prop_map(PgValue::Time).boxed(),
        TIMETZ => (0..=MICROS_PER_DAY, -57_599i32..=57_599)
            .prop_map(|(micros, offset_seconds)| PgValue::TimeTz {
                micros,
                offset_seconds,
            })
            .boxed(),
        TIMESTAMP => arb_ts().prop_map(PgValue::Timestamp).boxed(),
        TIMESTAMPTZ => arb_ts().prop_map(PgValue::TimestampTz).boxed(),
        INTERVAL => prop_oneof![
            1 => Just(Interval::INFINITY),
            1 => Just(Interval::NEG_INFINITY),
            10 => (any::<i32>(), any::<i32>(), any::<i64>()).prop_map(|(months, days, micros)| Interval { months, days, micros }),
            10 => (-100i32..100, -100i32..100, -1_000_000_000i64..1_000_000_000).prop_map(|(months, days, micros)| Interval { months, days, micros }),
            5 => (-2_000_000i64..2_000_000).prop_map(|micros| Interval { months: 0, days: 0, micros }),
        ]
        .prop_map(PgValue::Interval)
        .boxed(),
        UUID => any::<[u8; 16]>().prop_map(PgValue::Uuid).boxed(),
        BIT | VARBIT => "[01]{0,80}"
            .prop_map(|s| PgValue::Bit(BitString::parse(&s).unwrap()))
            .boxed(),
        INET => arb_net(false).prop_map(PgValue::Inet).boxed(),
        CIDR => arb_net(true).prop_map(PgValue::Cidr).boxed(),
        MACADDR => any::<[u8; 6]>().prop_map(PgValue::MacAddr).boxed(),
        MACADDR8 => any::<[u8; 8]>().prop_map(PgValue::MacAddr8).boxed(),
        ENUM_OID => "[a-z ]{1,12}"
            .prop_map(move |s| PgValue::Enum(owned(s)))
            .boxed(),
        CITEXT_OID => any::<String>().prop_map(move |s| PgValue::Text(owned(s))).boxed(),
        DOMAIN_OID => arb_numeric().prop_map(PgValue::Numeric).boxed(),
        other => panic!("no strategy for {other}"),
    }
}

/// Scalar OIDs with a strategy (built-ins plus the user types of `lookup`).
fn scalar_oids() -> Vec<u32> {
    all()
        .filter(|&o| is_builtin_scalar(o))
        .chain([ENUM_OID, CITEXT_OID, DOMAIN_OID])
        .collect()
}

/// An array of `elem` with 1-3 dimensions of 1-3 elements, some NULL.
fn arb_array(elem: u32) -> BoxedStrategy<PgValue<'static>> {
    let shape = proptest::collection::vec(
        (1u32..=3, prop_oneof![4 => Just(1i32), 1 => -3i32..3]),
        0..=3,
    );
    shape
        .prop_flat_map(move |dims| {
            let count: usize = if dims.is_empty() {
                0
            } else {
                dims.iter().map(|&(l, _)| l as usize).product()
            };
            let elems = proptest::collection::vec(
                prop_oneof![1 => Just(PgValue::Null), 5 => arb_scalar(elem)],
                count,
            );
            (Just(dims), elems)
        })
        .prop_map(move |(dims, elems)| {
            let dims = dims
                .into_iter()
                .map(|(len, lower_bound)| ArrayDimension { len, lower_bound })
                .collect();
            PgValue::Array(PgArray::new(elem, dims, elems).unwrap())
        })
        .boxed()
}

/// (type OID, value) pairs over every supported type, arrays included.
fn arb_typed() -> BoxedStrategy<(u32, PgValue<'static>)> {
    let scalars =
        proptest::sample::select(scalar_oids()).prop_flat_map(|oid| (Just(oid), arb_scalar(oid)));
    let arrays = proptest::sample::select(scalar_oids()).prop_flat_map(|elem| {
        let array_oid = match elem {
            ENUM_OID => ENUM_ARRAY_OID,
            CITEXT_OID | DOMAIN_OID => TEXT_ARRAY,
            e => array_of(e).unwrap(),
        };
        let elem = if array_oid == TEXT_ARRAY { TEXT } else { elem };
        (Just(array_oid), arb_array(elem))
    });
    prop_oneof![3 => scalars, 1 => arrays].boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn text_round_trip((oid, value) in arb_typed()) {
        let mut buf = Vec::new();
        encode_text(&value, &mut buf);
        let back = decode_text(oid, -1, &buf, &lookup());
        prop_assert!(back.is_ok(), "{:?} -> {:?} -> {:?}", value, String::from_utf8_lossy(&buf), back);
        prop_assert_eq!(back.unwrap(), value);
    }

    #[test]
    fn binary_round_trip((oid, value) in arb_typed()) {
        let mut buf = Vec::new();
        encode_binary(&value, oid, &mut buf).unwrap();
        let back = decode_binary(oid, -1, &buf, &lookup());
        prop_assert!(back.is_ok(), "{:?} -> {:?} -> {:?}", value, buf, back);
        prop_assert_eq!(back.unwrap(), value);
    }

    #[test]
    fn text_and_binary_agree((oid, value) in arb_typed()) {
        // Binary → value → text → value: the two decoders see the same value.
        let mut bin = Vec::new();
        encode_binary(&value, oid, &mut bin).unwrap();
        let from_bin = decode_binary(oid, -1, &bin, &lookup()).unwrap();
        let mut text = Vec::new();
        encode_text(&from_bin, &mut text);
        prop_assert_eq!(decode_text(oid, -1, &text, &lookup()).unwrap(), from_bin);
    }

    #[test]
    fn numeric_binary_is_exact(n in arb_numeric()) {
        let mut buf = Vec::new();
        numeric::encode_binary(&n, &mut buf);
        let back = numeric::decode_binary(&buf).unwrap();
        prop_assert_eq!(back.as_str(), n.as_str());
    }

    #[test]
    fn unscaled_bytes_round_trip(n in arb_numeric()) {
        if let Numeric::Finite(d) = &n {
            let bytes = d.unscaled_be_bytes();
            // Recover the decimal digits from the two's complement bytes
            // (only for values that fit in i128).
            let digits = format!("{}{}", d.integer_digits(), d.fraction_digits());
            if digits.trim_start_matches('0').len() <= 37 {
                let mut v: i128 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
                for b in &bytes {
                    v = (v << 8) | i128::from(*b);
                }
                let expect: i128 = digits.parse::<i128>().unwrap() * if d.is_negative() { -1 } else { 1 };
                prop_assert_eq!(v, expect);
                // Minimal length.
                if bytes.len() > 1 {
                    let redundant = (bytes[0] == 0 && bytes[1] & 0x80 == 0) || (bytes[0] == 0xFF && bytes[1] & 0x80 != 0);
                    prop_assert!(!redundant);
                }
            }
        }
    }

    #[test]
    fn civil_conversion_round_trips(days in -200_000_000i64..200_000_000) {
        let (y, m, d) = civil_from_days(days);
        prop_assert!(is_valid_ymd(y, m, d));
        prop_assert_eq!(days_from_civil(y, m, d), days);
    }

    #[test]
    fn no_panic_on_arbitrary_bytes(
        oid in proptest::sample::select(
            all().chain([0, 1, 99_999, ENUM_OID, ENUM_ARRAY_OID, DOMAIN_OID, CITEXT_OID]).collect::<Vec<_>>()
        ),
        raw in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let _ = decode_text(oid, -1, &raw, &lookup());
        let _ = decode_binary(oid, -1, &raw, &lookup());
    }

    #[test]
    fn no_panic_on_array_like_text(
        oid in proptest::sample::select(vec![INT4_ARRAY, TEXT_ARRAY, BYTEA_ARRAY, NUMERIC_ARRAY, ENUM_ARRAY_OID]),
        s in r#"[\[\]{}",\\ NULl1:=x-]{0,40}"#,
    ) {
        let _ = decode_text(oid, -1, s.as_bytes(), &lookup());
    }

    #[test]
    fn no_panic_on_array_like_binary(
        elem in proptest::sample::select(scalar_oids().into_iter().filter(|&o| is_builtin_scalar(o)).collect::<Vec<_>>()),
        ndim in -1i32..8,
        flags in 0i32..3,
        dims in proptest::collection::vec((-2i32..4, any::<i32>()), 0..8),
        body in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let array_oid = array_of(elem).unwrap();
        let mut raw = Vec::new();
        raw.extend_from_slice(&ndim.to_be_bytes());
        raw.extend_from_slice(&flags.to_be_bytes());
        raw.extend_from_slice(&elem.to_be_bytes());
        for (len, lb) in dims {
            raw.extend_from_slice(&len.to_be_bytes());
            raw.extend_from_slice(&lb.to_be_bytes());
        }
        raw.extend_from_slice(&body);
        let _ = decode_binary(array_oid, -1, &raw, &NoTypes);
    }

    #[test]
    fn no_panic_on_structured_text(
        oid in proptest::sample::select(vec![NUMERIC, DATE, TIME, TIMETZ, TIMESTAMP, TIMESTAMPTZ, INTERVAL, MONEY, INET, CIDR, UUID, BYTEA, CHAR]),
        s in r"[0-9:.+\- PTYMDHSWBCa-fx\\/]{0,30}",
    ) {
        let _ = decode_text(oid, -1, s.as_bytes(), &NoTypes);
    }
}
