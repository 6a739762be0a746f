//! Shortcuts for the commonest text-format values: integers, booleans,
//! dates, UTC timestamps and fixed-scale decimals, converted straight from
//! PostgreSQL's text to Debezium's value. Anything unusual returns `None` and takes the general
//! path (typed decoding, then conversion), which gives the same result;
//! `tests::shortcuts_agree_with_the_general_path` checks that they agree.

use tidewater_connect::{Decimal, Text, Value};
use tidewater_pgoutput::value::{days_from_civil, is_valid_ymd};

use crate::types::{Conv, TsUnit};

/// Digits of a fixed-width field.
fn digits(s: &[u8]) -> Option<i64> {
    let mut v: i64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(b - b'0');
    }
    Some(v)
}

fn int(raw: &[u8]) -> Option<i64> {
    let (negative, body) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, raw),
    };
    if body.is_empty() || body.len() > 18 {
        return None;
    }
    let v = digits(body)?;
    Some(if negative { -v } else { v })
}

/// `YYYY-MM-DD` to days since 1970, for ordinary years.
fn date(raw: &[u8]) -> Option<i64> {
    if raw.len() != 10 || raw.get(4) != Some(&b'-') || raw.get(7) != Some(&b'-') {
        return None;
    }
    let y = digits(raw.get(0..4)?)?;
    let m = u32::try_from(digits(raw.get(5..7)?)?).ok()?;
    let d = u32::try_from(digits(raw.get(8..10)?)?).ok()?;
    if y < 1 || !is_valid_ymd(y, m, d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `HH:MM:SS[.ffffff]` to (seconds of day, fraction digits as written).
fn time_of_day(raw: &[u8]) -> Option<(i64, &[u8])> {
    if raw.len() < 8 || raw.get(2) != Some(&b':') || raw.get(5) != Some(&b':') {
        return None;
    }
    let h = digits(raw.get(0..2)?)?;
    let mi = digits(raw.get(3..5)?)?;
    let s = digits(raw.get(6..8)?)?;
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let frac = match raw.get(8..)? {
        [] => &[][..],
        [b'.', rest @ ..] if !rest.is_empty() && rest.len() <= 6 && digits(rest).is_some() => rest,
        _ => return None,
    };
    Some((h * 3600 + mi * 60 + s, frac))
}

/// The text of a `timestamptz` in UTC (`…+00`) with a six-digit fraction
/// as `ZonedTimestamp` writes it: `2020-04-01T11:51:02.123400Z`. Only
/// digits, `-`, `:`, `T`, `.` and `Z`: nothing JSON would escape.
pub(crate) fn zoned_timestamp_utc6_bytes(raw: &[u8]) -> Option<[u8; 27]> {
    let body = raw.strip_suffix(b"+00")?;
    if body.len() < 19 || body.get(10) != Some(&b' ') {
        return None;
    }
    date(body.get(..10)?)?;
    let (_, frac) = time_of_day(body.get(11..)?)?;
    let mut out = [0u8; 27];
    out.get_mut(..10)?.copy_from_slice(body.get(..10)?);
    *out.get_mut(10)? = b'T';
    out.get_mut(11..19)?.copy_from_slice(body.get(11..19)?);
    *out.get_mut(19)? = b'.';
    let f = out.get_mut(20..26)?;
    f.fill(b'0');
    f.get_mut(..frac.len())?.copy_from_slice(frac);
    *out.get_mut(26)? = b'Z';
    Some(out)
}

fn zoned_timestamp_utc6(raw: &[u8]) -> Option<Text> {
    Text::copy_from_utf8(&zoned_timestamp_utc6_bytes(raw)?).ok()
}

/// The unscaled integer of canonical `numeric` text at `scale`: `None`
/// unless the text is canonical (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`, not a
/// negative zero), has at most `scale` fraction digits and fits 38 digits.
/// Anything else takes the general path, which decides.
pub(crate) fn fixed_numeric(raw: &[u8], scale: u8) -> Option<i128> {
    let (negative, body) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, raw),
    };
    let (int, frac) = match body.iter().position(|&b| b == b'.') {
        Some(p) => {
            let frac = body.get(p + 1..)?;
            if frac.is_empty() {
                return None;
            }
            (body.get(..p)?, frac)
        }
        None => (body, &[][..]),
    };
    let scale = usize::from(scale);
    if int.is_empty()
        || (int.len() > 1 && int.first() == Some(&b'0'))
        || frac.len() > scale
        || int.len() + scale > 38
    {
        return None;
    }
    let mut v: i128 = 0;
    for &b in int.iter().chain(frac) {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i128::from(b - b'0');
    }
    for _ in frac.len()..scale {
        v *= 10;
    }
    if negative {
        if v == 0 {
            return None;
        }
        v = -v;
    }
    Some(v)
}

/// `numeric(p, s)` text as a `Decimal` of scale `s` (for
/// `decimal.handling.mode=precise`), when [`fixed_numeric`] takes it.
#[inline]
pub(crate) fn fixed_decimal(raw: &[u8], scale: u8) -> Option<Value> {
    fixed_numeric(raw, scale).map(|v| Value::Decimal(Decimal::from_i128(v, i32::from(scale))))
}

/// The shortcut value for a text-format column, when there is one.
#[inline]
pub(crate) fn convert_text(conv: &Conv, raw: &[u8]) -> Option<Value> {
    match conv {
        Conv::Int16 => int(raw)
            .and_then(|v| i16::try_from(v).ok())
            .map(Value::Int16),
        Conv::Int32 => int(raw)
            .and_then(|v| i32::try_from(v).ok())
            .map(Value::Int32),
        Conv::Int64 => int(raw).map(Value::Int64),
        Conv::Bool => match raw {
            b"t" => Some(Value::Boolean(true)),
            b"f" => Some(Value::Boolean(false)),
            _ => None,
        },
        Conv::Date => date(raw)
            .and_then(|d| i32::try_from(d).ok())
            .map(Value::Int32),
        Conv::Timestamp(unit) => {
            if raw.len() < 19 || raw.get(10) != Some(&b' ') {
                return None;
            }
            let days = date(raw.get(..10)?)?;
            let (secs, frac) = time_of_day(raw.get(11..)?)?;
            let mut micros_frac = digits(frac).unwrap_or(0);
            for _ in frac.len()..6 {
                micros_frac *= 10;
            }
            let micros = (days * 86_400 + secs) * 1_000_000 + micros_frac;
            Some(Value::Int64(match unit {
                TsUnit::Micros => micros,
                TsUnit::Millis => micros.div_euclid(1000),
            }))
        }
        Conv::TimestampTz(Some(6)) => zoned_timestamp_utc6(raw).map(Value::String),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test fixtures")]
    use std::sync::Arc;

    use proptest::prelude::*;
    use tidewater_connect::Schema;
    use tidewater_pgoutput::NoTypes;
    use tidewater_pgoutput::value::{self, oid};

    use super::*;
    use crate::config::EnvelopeConfig;

    fn general(conv: &Conv, type_oid: u32, raw: &str) -> Option<Value> {
        let cfg = EnvelopeConfig::new("p", "d");
        let schema = Arc::new(Schema::of(tidewater_connect::SchemaType::String));
        let pg = value::decode_text(type_oid, -1, raw.as_bytes(), &NoTypes).ok()?;
        crate::types::convert(&cfg, conv, &schema, &pg, None)
            .ok()
            .flatten()
    }

    fn check(conv: Conv, type_oid: u32, raw: &str) {
        if let Some(fast) = convert_text(&conv, raw.as_bytes()) {
            assert_eq!(Some(fast), general(&conv, type_oid, raw), "{raw:?}");
        }
    }

    #[test]
    fn examples() {
        check(Conv::Int32, oid::INT4, "-2147483648");
        check(Conv::Int16, oid::INT2, "32767");
        check(Conv::Int64, oid::INT8, "-900719925474099");
        check(Conv::Bool, oid::BOOL, "t");
        check(Conv::Date, oid::DATE, "2024-02-29");
        check(
            Conv::Timestamp(TsUnit::Micros),
            oid::TIMESTAMP,
            "1969-12-31 23:59:59.5",
        );
        check(
            Conv::Timestamp(TsUnit::Millis),
            oid::TIMESTAMP,
            "1969-12-31 23:59:59.9995",
        );
        check(
            Conv::TimestampTz(Some(6)),
            oid::TIMESTAMPTZ,
            "2020-04-01 11:51:02.1234+00",
        );
        check(
            Conv::TimestampTz(Some(6)),
            oid::TIMESTAMPTZ,
            "2020-04-01 11:51:02+00",
        );
        assert_eq!(
            convert_text(&Conv::TimestampTz(Some(6)), b"2020-04-01 11:51:02.1234+00"),
            Some(Value::from("2020-04-01T11:51:02.123400Z"))
        );
        // Not shortcuts: other offsets, BC dates, invalid dates.
        assert_eq!(
            convert_text(&Conv::TimestampTz(Some(6)), b"2020-04-01 11:51:02+02"),
            None
        );
        assert_eq!(convert_text(&Conv::Date, b"2023-02-29"), None);
        assert_eq!(convert_text(&Conv::Int32, b"2147483648"), None);
    }

    proptest! {
        #[test]
        fn shortcuts_agree_with_the_general_path(
            y in 1i64..9999, m in 1u32..13, d in 1u32..32, h in 0i64..24, mi in 0i64..60, s in 0i64..60,
            frac in proptest::option::of(0u32..1_000_000), n in any::<i64>(),
        ) {
            let date = format!("{y:04}-{m:02}-{d:02}");
            let f = frac.map(|f| format!(".{f:06}").trim_end_matches('0').to_string()).unwrap_or_default();
            let f = if f == "." { String::new() } else { f };
            let ts = format!("{date} {h:02}:{mi:02}:{s:02}{f}");
            check(Conv::Date, oid::DATE, &date);
            check(Conv::Timestamp(TsUnit::Micros), oid::TIMESTAMP, &ts);
            check(Conv::Timestamp(TsUnit::Millis), oid::TIMESTAMP, &ts);
            check(Conv::TimestampTz(Some(6)), oid::TIMESTAMPTZ, &format!("{ts}+00"));
            if let Some(b) = zoned_timestamp_utc6_bytes(format!("{ts}+00").as_bytes()) {
                prop_assert!(b.iter().all(|c| c.is_ascii_digit() || b"-:T.Z".contains(c)));
            }
            check(Conv::Int64, oid::INT8, &n.to_string());
            check(Conv::Int32, oid::INT4, &(n as i32).to_string());
            check(Conv::Int16, oid::INT2, &(n as i16).to_string());
        }

        #[test]
        fn decimal_shortcut_agrees_with_the_general_path(
            text in "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,8})?|-0(\\.0+)?|0[0-9]+(\\.[0-9])?|[0-9]*\\.|\\.[0-9]+",
            scale in 0u8..12,
        ) {
            if let Some(fast) = fixed_decimal(text.as_bytes(), scale) {
                let conv = Conv::Numeric(Some(i32::from(scale)));
                let cfg = EnvelopeConfig::new("p", "d");
                let schema = Arc::new(
                    tidewater_connect::logical::decimal_builder(i32::from(scale)).build().unwrap(),
                );
                let pg = value::decode_text(oid::NUMERIC, -1, text.as_bytes(), &NoTypes).unwrap();
                let general = crate::types::convert(&cfg, &conv, &schema, &pg, None).unwrap();
                prop_assert_eq!(Some(fast), general, "{}", text);
            }
        }
    }
}
