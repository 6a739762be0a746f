//! Java's text forms of numbers and Kafka's `Values.parseString`, which
//! decide what `Cast` to `string` writes and what type an `InsertHeader`
//! literal gets.

use std::sync::Arc;

use tidewater_connect::{Decimal, Schema, SchemaType, Value, logical};

use crate::datefmt::{DateFormat, MILLIS_PER_DAY};

/// Java's `Double.toString`: the shortest digits that read back as the same
/// double, in plain notation between 10^-3 and 10^7, otherwise as
/// `d.dddE±n`; always at least one digit after the point.
pub(crate) fn java_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    java_format(&format!("{d:e}"), d.abs() >= 1e-3 && d.abs() < 1e7)
}

/// Java's `Float.toString` (same rules, float precision).
pub(crate) fn java_float(f: f32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    java_format(&format!("{f:e}"), f.abs() >= 1e-3 && f.abs() < 1e7)
}

/// Re-lays Rust's shortest `1.2345e6` form the way Java does.
fn java_format(sci: &str, plain: bool) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if plain {
        // The decimal point goes after digit number exp + 1.
        let point = exp + 1;
        if point <= 0 {
            out.push_str("0.");
            for _ in 0..(-point) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let p = usize::try_from(point).unwrap_or(0);
            if digits.len() > p {
                out.push_str(digits.get(..p).unwrap_or(""));
                out.push('.');
                out.push_str(digits.get(p..).unwrap_or(""));
            } else {
                out.push_str(&digits);
                for _ in digits.len()..p {
                    out.push('0');
                }
                out.push_str(".0");
            }
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        out.push('.');
        out.push_str(if rest.is_empty() { "0" } else { rest });
        out.push('E');
        out.push_str(&exp.to_string());
    }
    out
}

/// Kafka's `Values.dateFormatFor(date).format(date)` in UTC: a time of day
/// before the first day ends, a date at midnight, a timestamp otherwise.
pub(crate) fn java_date_text(millis: i64) -> String {
    let pattern = if (0..MILLIS_PER_DAY).contains(&millis) {
        "HH:mm:ss.SSS'Z'"
    } else if millis % MILLIS_PER_DAY == 0 {
        "yyyy-MM-dd"
    } else {
        "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
    };
    DateFormat::new(pattern)
        .map(|f| f.format(millis))
        .unwrap_or_default()
}

fn parse_temporal(text: &str) -> Option<(Schema, Value)> {
    let try_parse = |pattern: &str, len: usize| {
        (text.len() == len)
            .then(|| DateFormat::new(pattern).ok()?.parse(text).ok())
            .flatten()
    };
    if let Some(ms) = try_parse("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", 24) {
        return Some((logical::timestamp_builder().build().ok()?, Value::Int64(ms)));
    }
    if let Some(ms) = try_parse("yyyy-MM-dd", 10) {
        let days = i32::try_from(ms.div_euclid(MILLIS_PER_DAY)).ok()?;
        return Some((logical::date_builder().build().ok()?, Value::Int32(days)));
    }
    if let Some(ms) = try_parse("HH:mm:ss.SSS'Z'", 13) {
        let ms = i32::try_from(ms).ok()?;
        return Some((logical::time_builder().build().ok()?, Value::Int32(ms)));
    }
    None
}

/// Kafka's `Values.parseString` for scalars: `null`, booleans, numbers (the
/// smallest integer type that holds a whole number, `float32` otherwise),
/// ISO dates, times and timestamps; any other text is a string. (Array and
/// map literals are kept as strings.)
pub(crate) fn parse_literal(text: &str) -> (Option<Arc<Schema>>, Option<Value>) {
    let string = || {
        (
            Some(Arc::new(Schema::of(SchemaType::String))),
            Some(Value::from(text)),
        )
    };
    if text.is_empty() {
        return string();
    }
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("null") {
        return (None, None);
    }
    if trimmed.eq_ignore_ascii_case("true") || trimmed.eq_ignore_ascii_case("false") {
        return (
            Some(Arc::new(Schema::of(SchemaType::Boolean))),
            Some(Value::Boolean(trimmed.eq_ignore_ascii_case("true"))),
        );
    }
    if let Some((s, v)) = parse_number(trimmed) {
        return (Some(Arc::new(s)), Some(v));
    }
    if let Some((s, v)) = parse_temporal(trimmed) {
        return (Some(Arc::new(s)), Some(v));
    }
    string()
}

fn looks_numeric(t: &str) -> bool {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let mut seen_digit = false;
    let mut seen_exp = false;
    let mut prev = ' ';
    for c in body.chars() {
        match c {
            '0'..='9' => seen_digit = true,
            '.' if !seen_exp => {}
            'e' | 'E' if seen_digit && !seen_exp => seen_exp = true,
            '+' | '-' if matches!(prev, 'e' | 'E') => {}
            _ => return false,
        }
        prev = c;
    }
    seen_digit && body.chars().filter(|c| *c == '.').count() <= 1
}

fn parse_number(t: &str) -> Option<(Schema, Value)> {
    if !looks_numeric(t) {
        return None;
    }
    let d = Decimal::parse(t)?;
    let f: f64 = t.parse().ok()?;
    // Whole numbers that fit a long: the smallest integer type.
    if f.fract() == 0.0
        && f.abs() < 1e19
        && let Ok(n) = whole_value(t)
    {
        return Some(if let Ok(v) = i8::try_from(n) {
            (Schema::of(SchemaType::Int8), Value::Int8(v))
        } else if let Ok(v) = i16::try_from(n) {
            (Schema::of(SchemaType::Int16), Value::Int16(v))
        } else if let Ok(v) = i32::try_from(n) {
            (Schema::of(SchemaType::Int32), Value::Int32(v))
        } else {
            (Schema::of(SchemaType::Int64), Value::Int64(n))
        });
    }
    if d.scale() != 0 && (f as f32).is_finite() {
        return Some((Schema::of(SchemaType::Float32), Value::Float32(f as f32)));
    }
    if d.scale() != 0 && f.is_finite() {
        return Some((Schema::of(SchemaType::Float64), Value::Float64(f)));
    }
    let schema = logical::decimal_builder(d.scale()).build().ok()?;
    Some((schema, Value::Decimal(d)))
}

/// The exact integer value of a whole-number literal (`12`, `1.0`, `1e3`).
fn whole_value(t: &str) -> Result<i64, ()> {
    let d = Decimal::parse(t).ok_or(())?;
    decimal_to_i128(&d, true)
        .and_then(|v| i64::try_from(v).ok())
        .ok_or(())
}

/// A decimal's value as an integer: truncated toward zero, or `None` when it
/// does not fit (or, with `exact`, has a fraction).
pub(crate) fn decimal_to_i128(d: &Decimal, exact: bool) -> Option<i128> {
    let bytes = d.unscaled();
    if bytes.len() > 16 {
        return None;
    }
    let negative = d.is_negative();
    let mut buf = if negative { [0xFFu8; 16] } else { [0u8; 16] };
    let start = 16usize.checked_sub(bytes.len())?;
    buf.get_mut(start..)?.copy_from_slice(bytes);
    let mut v = i128::from_be_bytes(buf);
    let scale = d.scale();
    if scale > 0 {
        let p = 10i128.checked_pow(u32::try_from(scale).ok()?)?;
        if exact && v % p != 0 {
            return None;
        }
        v /= p;
    } else if scale < 0 {
        let p = 10i128.checked_pow(u32::try_from(-i64::from(scale)).ok()?)?;
        v = v.checked_mul(p)?;
    }
    Some(v)
}

/// A decimal with the given scale equal to `d`, when one exists exactly.
pub(crate) fn rescale(d: &Decimal, scale: i32) -> Option<Decimal> {
    if d.scale() == scale {
        return Some(d.clone());
    }
    let unscaled = decimal_to_i128(&Decimal::new(d.unscaled().to_vec(), 0), true)?;
    let diff = i64::from(scale) - i64::from(d.scale());
    let p = 10i128.checked_pow(u32::try_from(diff.abs()).ok()?)?;
    let v = if diff > 0 {
        unscaled.checked_mul(p)?
    } else {
        if unscaled % p != 0 {
            return None;
        }
        unscaled / p
    };
    Some(Decimal::from_i128(v, scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (123_456.789, "123456.789"),
            (1e7, "1.0E7"),
            (12_345_678.9, "1.23456789E7"),
            (0.001, "0.001"),
            (0.000_1, "1.0E-4"),
            (1e-7, "1.0E-7"),
            (100.0, "100.0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (-0.0, "-0.0"),
        ];
        for (d, s) in cases {
            assert_eq!(java_double(d), s, "{d}");
        }
        assert_eq!(java_float(1.1), "1.1");
        assert_eq!(java_float(3.0e10), "3.0E10");
    }

    #[test]
    fn literals_get_kafkas_types() {
        let ty = |t: &str| {
            parse_literal(t)
                .0
                .map(|s| (s.schema_type(), s.name().map(str::to_string)))
        };
        assert_eq!(ty("42"), Some((SchemaType::Int8, None)));
        assert_eq!(ty("1000"), Some((SchemaType::Int16, None)));
        assert_eq!(ty("100000"), Some((SchemaType::Int32, None)));
        assert_eq!(ty("10000000000"), Some((SchemaType::Int64, None)));
        assert_eq!(ty("1.0"), Some((SchemaType::Int8, None)));
        assert_eq!(ty("1.5"), Some((SchemaType::Float32, None)));
        assert_eq!(ty("true"), Some((SchemaType::Boolean, None)));
        assert_eq!(ty("hello"), Some((SchemaType::String, None)));
        assert_eq!(ty("12abc"), Some((SchemaType::String, None)));
        assert_eq!(ty("null"), None);
        assert_eq!(
            ty("2024-01-02"),
            Some((SchemaType::Int32, Some(logical::DATE_NAME.to_string())))
        );
        assert_eq!(parse_literal("2024-01-02").1, Some(Value::Int32(19_724)));
        assert_eq!(
            ty("2024-01-02T03:04:05.006Z"),
            Some((SchemaType::Int64, Some(logical::TIMESTAMP_NAME.to_string())))
        );
    }

    #[test]
    fn decimals_convert() {
        let d = Decimal::parse("-12.75").unwrap_or_else(|| Decimal::from_i128(0, 0));
        assert_eq!(decimal_to_i128(&d, false), Some(-12));
        assert_eq!(decimal_to_i128(&d, true), None);
        assert_eq!(
            rescale(&d, 3).map(|d| d.to_string()),
            Some("-12.750".into())
        );
        assert_eq!(rescale(&d, 1), None);
        assert_eq!(java_date_text(0), "00:00:00.000Z");
        assert_eq!(java_date_text(19_724 * MILLIS_PER_DAY), "2024-01-02");
        assert_eq!(
            java_date_text(1_704_164_645_006),
            "2024-01-02T03:04:05.006Z"
        );
    }
}
