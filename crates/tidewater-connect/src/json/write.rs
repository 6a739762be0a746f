//! Writes schemas and values as Kafka's `JsonConverter` does, byte for byte:
//! its key order, Jackson's string escaping and number formats, base64 bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::DecimalFormat;
use super::number::{write_big_decimal, write_f32, write_f64};
use crate::error::{ConnectError, Result};
use crate::logical;
use crate::schema::{Schema, SchemaType};
use crate::value::{Struct, Value};

/// Per-conversion settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteOptions {
    pub(crate) decimal_format: DecimalFormat,
    pub(crate) replace_null_with_default: bool,
}

/// Bytes that need escaping (control characters, `"` and `\\`).
#[allow(
    clippy::indexing_slicing,
    reason = "indices below 256 into a 256-entry table, in a const context"
)]
const NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

#[inline]
fn needs_escape(b: u8) -> bool {
    NEEDS_ESCAPE.get(usize::from(b)).copied().unwrap_or(false)
}

/// How Jackson's default output escapes a byte: 0 = not at all, `u` =
/// `\u00XX`, anything else = that short escape.
#[inline]
fn escape_of(b: u8) -> u8 {
    match b {
        0x08 => b'b',
        0x09 => b't',
        0x0A => b'n',
        0x0C => b'f',
        0x0D => b'r',
        0x00..=0x1F => b'u',
        b'"' => b'"',
        b'\\' => b'\\',
        _ => 0,
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `w` that is zero (and possibly in bytes
/// after a zero byte: the lowest flagged byte is always a real one).
#[inline]
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(LOW_BITS) & !w & HIGH_BITS
}

/// High bit set in each byte of `w` (eight bytes, little-endian) that JSON
/// needs escaped: below 0x20, `"` or `\\`. Flags after the first real one
/// may be spurious (borrows); none comes before it, so "nonzero" and "lowest
/// flagged byte" are exact.
#[inline]
fn escape_bits(w: u64) -> u64 {
    let below_space = w.wrapping_sub(LOW_BITS * 0x20) & !w & HIGH_BITS;
    below_space
        | zero_bytes(w ^ (LOW_BITS * u64::from(b'"')))
        | zero_bytes(w ^ (LOW_BITS * u64::from(b'\\')))
}

#[inline]
fn word(chunk: &[u8]) -> u64 {
    <[u8; 8]>::try_from(chunk).map_or(u64::MAX, u64::from_le_bytes)
}

/// Whether no byte needs escaping (eight bytes at a time, no early exit, so
/// the loop vectorizes).
#[inline]
fn is_clean(s: &[u8]) -> bool {
    let chunks = s.chunks_exact(8);
    let tail = chunks.remainder();
    let mut acc = 0u64;
    for c in chunks {
        acc |= escape_bits(word(c));
    }
    acc == 0 && !tail.iter().any(|&b| needs_escape(b))
}

/// Whether every byte is ASCII that needs no escaping (so the bytes are
/// UTF-8 and can be copied as they are).
#[inline]
fn is_clean_ascii(s: &[u8]) -> bool {
    let chunks = s.chunks_exact(8);
    let tail = chunks.remainder();
    let mut acc = 0u64;
    for c in chunks {
        let w = word(c);
        acc |= escape_bits(w) | (w & HIGH_BITS);
    }
    acc == 0 && !tail.iter().any(|&b| b >= 0x80 || needs_escape(b))
}

/// Writes a JSON string (quotes included) from UTF-8 bytes.
#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    // Most strings need no escaping: check eight bytes at a time, then copy
    // them whole.
    if is_clean(s) {
        out.extend_from_slice(s);
    } else {
        write_escaped(out, s);
    }
    out.push(b'"');
}

/// Checks that `bytes` are UTF-8 and writes them as a JSON string; ASCII
/// without escapes (the common case) takes one pass.
#[inline]
pub(crate) fn write_str_from_utf8(
    out: &mut Vec<u8>,
    bytes: &[u8],
) -> Result<(), std::str::Utf8Error> {
    if is_clean_ascii(bytes) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return Ok(());
    }
    let s = std::str::from_utf8(bytes)?;
    write_str(out, s.as_bytes());
    Ok(())
}

/// Writes the bytes of a string that has something to escape: words of
/// eight clean bytes are copied whole, the others byte by byte.
#[cold]
fn write_escaped(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 16);
    let chunks = s.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        match <[u8; 8]>::try_from(c) {
            Ok(w) if escape_bits(u64::from_le_bytes(w)) == 0 => out.extend_from_slice(&w),
            _ => c.iter().for_each(|&b| push_escaped(out, b)),
        }
    }
    tail.iter().for_each(|&b| push_escaped(out, b));
}

/// Writes one byte of a string, escaped if it must be.
#[inline]
fn push_escaped(out: &mut Vec<u8>, b: u8) {
    if !needs_escape(b) {
        out.push(b);
        return;
    }
    out.push(b'\\');
    let esc = escape_of(b);
    if esc == b'u' {
        out.extend_from_slice(b"u00");
        out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
        out.push(HEX.get(usize::from(b & 0xF)).copied().unwrap_or(b'0'));
    } else {
        out.push(esc);
    }
}

/// Writes bytes as a base64 JSON string (standard alphabet, padded).
pub(crate) fn write_base64(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'"');
    let start = out.len();
    let len = data.len().div_ceil(3) * 4;
    out.resize(start + len, 0);
    if let Some(dst) = out.get_mut(start..)
        && let Ok(written) = STANDARD.encode_slice(data, dst)
    {
        out.truncate(start + written);
    }
    out.push(b'"');
}

/// Writes an integer. The digits are formed in a 20-byte buffer that is
/// appended whole and then cut to length: a fixed-size copy the compiler
/// inlines, where a copy of the digits alone would call `memcpy`.
#[inline]
pub(crate) fn write_i64(out: &mut Vec<u8>, v: i64) {
    let mut n = v.unsigned_abs();
    let digits = n.checked_ilog10().map_or(1, |l| l as usize + 1);
    let len = usize::from(v < 0) + digits;
    // Position 0 keeps the '-' of a negative number; the digits end at `len`
    // (at most 20: i64::MIN has 19 digits).
    let mut buf = [b'-'; 20];
    let mut pos = len;
    while n >= 100 {
        let d = (n % 100) as usize;
        n /= 100;
        pos = pos.saturating_sub(2);
        if let (Some(slot), Some(pair)) =
            (buf.get_mut(pos..pos + 2), DIGIT_PAIRS.get(d * 2..d * 2 + 2))
        {
            slot.copy_from_slice(pair);
        }
    }
    if n >= 10 {
        let d = n as usize;
        pos = pos.saturating_sub(2);
        if let (Some(slot), Some(pair)) =
            (buf.get_mut(pos..pos + 2), DIGIT_PAIRS.get(d * 2..d * 2 + 2))
        {
            slot.copy_from_slice(pair);
        }
    } else if let Some(slot) = buf.get_mut(pos.saturating_sub(1)) {
        *slot = b'0' + n as u8;
    }
    let start = out.len();
    out.extend_from_slice(&buf);
    out.truncate(start + len);
}

const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes a schema node (`asJsonSchema`).
pub(crate) fn write_schema(out: &mut Vec<u8>, schema: &Schema, opts: WriteOptions) -> Result<()> {
    write_schema_open(out, schema, opts)?;
    out.push(b'}');
    Ok(())
}

/// Writes a schema node without its closing brace (so a struct field can
/// append `"field"`).
fn write_schema_open(out: &mut Vec<u8>, schema: &Schema, opts: WriteOptions) -> Result<()> {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(schema.schema_type().json_name().as_bytes());
    out.push(b'"');
    match schema.schema_type() {
        SchemaType::Array => {
            out.extend_from_slice(b",\"items\":");
            write_optional_schema(out, schema.value_schema().map(|s| &**s), opts)?;
        }
        SchemaType::Map => {
            out.extend_from_slice(b",\"keys\":");
            write_optional_schema(out, schema.key_schema().map(|s| &**s), opts)?;
            out.extend_from_slice(b",\"values\":");
            write_optional_schema(out, schema.value_schema().map(|s| &**s), opts)?;
        }
        SchemaType::Struct => {
            out.extend_from_slice(b",\"fields\":[");
            for (i, field) in schema.fields().iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schema_open(out, field.schema(), opts).map_err(|e| e.within(field.name()))?;
                out.extend_from_slice(b",\"field\":");
                write_str(out, field.name().as_bytes());
                out.push(b'}');
            }
            out.push(b']');
        }
        _ => {}
    }
    out.extend_from_slice(if schema.is_optional() {
        b",\"optional\":true"
    } else {
        b",\"optional\":false"
    });
    if let Some(name) = schema.name() {
        out.extend_from_slice(b",\"name\":");
        write_str(out, name.as_bytes());
    }
    if let Some(version) = schema.version() {
        out.extend_from_slice(b",\"version\":");
        write_i64(out, version.into());
    }
    if let Some(doc) = schema.doc() {
        out.extend_from_slice(b",\"doc\":");
        write_str(out, doc.as_bytes());
    }
    if let Some(params) = schema.parameters() {
        out.extend_from_slice(b",\"parameters\":{");
        for (i, (k, v)) in params.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, k.as_bytes());
            out.push(b':');
            write_str(out, v.as_bytes());
        }
        out.push(b'}');
    }
    if let Some(default) = schema.default_value() {
        out.extend_from_slice(b",\"default\":");
        write_value(out, Some(schema), Some(default), opts)?;
    }
    Ok(())
}

fn write_optional_schema(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    opts: WriteOptions,
) -> Result<()> {
    match schema {
        Some(s) => write_schema(out, s, opts),
        None => {
            out.extend_from_slice(b"null");
            Ok(())
        }
    }
}

/// Writes a value (`convertToJson`).
pub(crate) fn write_value(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    value: Option<&Value>,
    opts: WriteOptions,
) -> Result<()> {
    let Some(value) = value else {
        let Some(schema) = schema else {
            out.extend_from_slice(b"null");
            return Ok(());
        };
        if opts.replace_null_with_default
            && let Some(default) = schema.default_value()
        {
            return write_value(out, Some(schema), Some(default), opts);
        }
        if schema.is_optional() {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        return Err(ConnectError::NullForRequired {
            path: String::new(),
        });
    };
    let Some(schema) = schema else {
        return write_schemaless(out, value, opts);
    };
    let mismatch = || ConnectError::TypeMismatch {
        path: String::new(),
        expected: schema.schema_type(),
        found: value.kind_name(),
    };
    match (schema.schema_type(), value) {
        (SchemaType::Boolean, Value::Boolean(b)) => {
            out.extend_from_slice(if *b { b"true" } else { b"false" })
        }
        (SchemaType::Int8, Value::Int8(v)) => write_i64(out, (*v).into()),
        (SchemaType::Int16, Value::Int16(v)) => write_i64(out, (*v).into()),
        (SchemaType::Int32, Value::Int32(v)) => write_i64(out, (*v).into()),
        (SchemaType::Int64, Value::Int64(v)) => write_i64(out, *v),
        (SchemaType::Float32, Value::Float32(v)) => write_f32(out, *v),
        (SchemaType::Float64, Value::Float64(v)) => write_f64(out, *v),
        (SchemaType::String, Value::String(s)) => write_str(out, s.as_bytes()),
        (SchemaType::Bytes, Value::Decimal(d)) if schema.name() == Some(logical::DECIMAL_NAME) => {
            match opts.decimal_format {
                DecimalFormat::Numeric => write_big_decimal(out, d),
                DecimalFormat::Base64 => {
                    let scale = logical::decimal_scale(schema)?;
                    if d.scale() != scale {
                        return Err(ConnectError::DecimalScale {
                            path: String::new(),
                            expected: scale,
                            found: d.scale(),
                        });
                    }
                    write_base64(out, d.unscaled());
                }
            }
        }
        (SchemaType::Bytes, Value::Bytes(b)) if schema.name() != Some(logical::DECIMAL_NAME) => {
            write_base64(out, b)
        }
        (SchemaType::Array, Value::Array(items)) => {
            let item_schema = schema.value_schema().map(|s| &**s);
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item_schema, item.as_ref(), opts)
                    .map_err(|e| e.within(&format!("[{i}]")))?;
            }
            out.push(b']');
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let ks = schema.key_schema().map(|s| &**s);
            let vs = schema.value_schema().map(|s| &**s);
            let object_mode = ks.is_none_or(|k| k.schema_type() == SchemaType::String);
            write_map(out, entries, ks, vs, object_mode, opts)?;
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            if !std::ptr::eq(std::sync::Arc::as_ptr(s.schema()), schema) && **s.schema() != *schema
            {
                return Err(ConnectError::StructMismatch {
                    path: String::new(),
                    reason: "mismatching schema".into(),
                });
            }
            write_struct(out, s, opts)?;
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

/// Writes a struct's fields in schema order.
pub(crate) fn write_struct(out: &mut Vec<u8>, s: &Struct, opts: WriteOptions) -> Result<()> {
    out.push(b'{');
    for (i, (field, value)) in s.schema().fields().iter().zip(s.values()).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(field.json_key());
        write_value(out, Some(field.schema()), value.as_ref(), opts)
            .map_err(|e| e.within(field.name()))?;
    }
    out.push(b'}');
    Ok(())
}

fn write_map(
    out: &mut Vec<u8>,
    entries: &[(Value, Option<Value>)],
    ks: Option<&Schema>,
    vs: Option<&Schema>,
    object_mode: bool,
    opts: WriteOptions,
) -> Result<()> {
    if object_mode {
        out.push(b'{');
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let Value::String(key) = k else {
                return Err(ConnectError::TypeMismatch {
                    path: format!("[{i}].key"),
                    expected: SchemaType::String,
                    found: k.kind_name(),
                });
            };
            write_str(out, key.as_bytes());
            out.push(b':');
            write_value(out, vs, v.as_ref(), opts).map_err(|e| e.within(key.as_str()))?;
        }
        out.push(b'}');
    } else {
        out.push(b'[');
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            write_value(out, ks, Some(k), opts).map_err(|e| e.within(&format!("[{i}]")))?;
            out.push(b',');
            write_value(out, vs, v.as_ref(), opts).map_err(|e| e.within(&format!("[{i}]")))?;
            out.push(b']');
        }
        out.push(b']');
    }
    Ok(())
}

/// A value without a schema: its own variant decides (maps are objects when
/// every key is a string).
fn write_schemaless(out: &mut Vec<u8>, value: &Value, opts: WriteOptions) -> Result<()> {
    match value {
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int8(v) => write_i64(out, (*v).into()),
        Value::Int16(v) => write_i64(out, (*v).into()),
        Value::Int32(v) => write_i64(out, (*v).into()),
        Value::Int64(v) => write_i64(out, *v),
        Value::Float32(v) => write_f32(out, *v),
        Value::Float64(v) => write_f64(out, *v),
        Value::String(s) => write_str(out, s.as_bytes()),
        Value::Bytes(b) => write_base64(out, b),
        Value::Decimal(d) => match opts.decimal_format {
            DecimalFormat::Numeric => write_big_decimal(out, d),
            DecimalFormat::Base64 => write_base64(out, d.unscaled()),
        },
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match item {
                    Some(item) => write_schemaless(out, item, opts)
                        .map_err(|e| e.within(&format!("[{i}]")))?,
                    None => out.extend_from_slice(b"null"),
                }
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            let object_mode = entries.iter().all(|(k, _)| matches!(k, Value::String(_)));
            write_map(out, entries, None, None, object_mode, opts)?;
        }
        Value::Struct(s) => write_struct(out, s, opts)?,
    }
    Ok(())
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

    /// The byte-at-a-time escaping the word-at-a-time scan replaced.
    fn escaped_bytewise(s: &[u8]) -> Vec<u8> {
        let mut out = vec![b'"'];
        for &b in s {
            match escape_of(b) {
                0 => out.push(b),
                b'u' => out.extend_from_slice(format!("\\u{b:04X}").as_bytes()),
                e => out.extend_from_slice(&[b'\\', e]),
            }
        }
        out.push(b'"');
        out
    }

    proptest::proptest! {
        #[test]
        fn word_scan_escapes_like_bytewise(
            s in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::any::<u8>(),
                    proptest::sample::select(vec![b'"', b'\\', 0x1F, 0x20, 0x21, 0x7F, 0x80, 0xA2, 0xDC, 0x00]),
                ],
                0..80,
            ),
        ) {
            let mut out = Vec::new();
            write_str(&mut out, &s);
            proptest::prop_assert_eq!(&out, &escaped_bytewise(&s));
            let mut checked = Vec::new();
            match (write_str_from_utf8(&mut checked, &s), std::str::from_utf8(&s)) {
                (Ok(()), Ok(_)) => proptest::prop_assert_eq!(&checked, &out),
                (Err(a), Err(b)) => proptest::prop_assert_eq!(a, b),
                (a, b) => proptest::prop_assert!(false, "{:?} vs {:?}", a, b),
            }
            proptest::prop_assert_eq!(is_clean_ascii(&s), s.iter().all(|&b| (0x20..0x80).contains(&b) && b != b'"' && b != b'\\'));
        }
    }

    #[test]
    fn strings_escape_as_jackson_does() {
        let mut out = Vec::new();
        write_str(
            &mut out,
            "a\"b\\c\n\t\r\u{8}\u{c}\u{1}\u{1f}/é€😀\u{7f}".as_bytes(),
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001F/é€😀\u{7f}\""
        );
    }

    #[test]
    fn base64_is_standard_and_padded() {
        for (input, expected) in [
            (&b""[..], "\"\""),
            (b"f", "\"Zg==\""),
            (b"fo", "\"Zm8=\""),
            (b"foo", "\"Zm9v\""),
            (&[0xFB, 0xFF], "\"+/8=\""),
        ] {
            let mut out = Vec::new();
            write_base64(&mut out, input);
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    proptest::proptest! {
        #[test]
        fn integers_as_to_string(v in proptest::prelude::any::<i64>(), shift in 0u32..64) {
            for v in [v, v >> shift, -(v >> shift).saturating_abs()] {
                let mut out = b"x".to_vec();
                write_i64(&mut out, v);
                proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), format!("x{v}"));
            }
        }
    }

    #[test]
    fn integers() {
        for v in [
            0i64,
            -1,
            9,
            10,
            42,
            99,
            100,
            101,
            1_000_005,
            -123_456_789,
            i64::MIN,
            i64::MAX,
        ] {
            let mut out = Vec::new();
            write_i64(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
    }
}
