//! Reads JSON back into Connect schemas and values (`toConnectData`).
//!
//! A small parser keeps what a generic one would lose: object key order and
//! the exact text of numbers (so decimals and 64-bit integers read back exactly).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;

use super::number::parse_decimal;
use crate::error::{ConnectError, Result};
use crate::logical;
use crate::schema::{Schema, SchemaBuilder, SchemaType};
use crate::value::{Struct, Text, Value};

/// A parsed JSON document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// The number's text as written.
    Number(String),
    String(String),
    Array(Vec<Json>),
    /// Members in document order.
    Object(Vec<(String, Json)>),
}

impl Json {
    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Most nesting the parser accepts (deeper input is an error, not a stack overflow).
const MAX_DEPTH: usize = 256;

/// Parses one JSON document (surrounding whitespace allowed).
pub(crate) fn parse(input: &[u8]) -> Result<Json> {
    let mut p = Parser { input, pos: 0 };
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos != input.len() {
        return Err(p.err("trailing characters after the document"));
    }
    Ok(v)
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &str) -> ConnectError {
        ConnectError::InvalidJson {
            offset: self.pos,
            reason: reason.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, lit: &[u8]) -> Result<()> {
        if self.input.get(self.pos..self.pos + lit.len()) == Some(lit) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(self.err("unexpected characters"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.peek() {
            Some(b'n') => self.expect(b"null").map(|_| Json::Null),
            Some(b't') => self.expect(b"true").map(|_| Json::Bool(true)),
            Some(b'f') => self.expect(b"false").map(|_| Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    self.skip_ws();
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(self.err("expected , or ]")),
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(Json::Object(members));
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected a member name"));
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    if self.peek() != Some(b':') {
                        return Err(self.err("expected :"));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Json::Object(members));
                        }
                        _ => return Err(self.err("expected , or }")),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected character")),
            None => Err(self.err("unexpected end of input")),
        }
    }

    fn number(&mut self) -> Result<Json> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.pos;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.pos += 1;
            }
            p.pos - s
        };
        if digits(self) == 0 {
            return Err(self.err("expected digits"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.err("expected fraction digits"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("expected exponent digits"));
            }
        }
        let text = self.input.get(start..self.pos).unwrap_or_default();
        Ok(Json::Number(String::from_utf8_lossy(text).into_owned()))
    }

    fn hex4(&mut self) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let c = self
                .peek()
                .ok_or_else(|| self.err("truncated \\u escape"))?;
            let d = (c as char)
                .to_digit(16)
                .ok_or_else(|| self.err("bad \\u escape"))?;
            v = v * 16 + d;
            self.pos += 1;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String> {
        self.pos += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let start = self.pos;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.extend_from_slice(self.input.get(start..self.pos).unwrap_or_default());
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return String::from_utf8(out).map_err(|_| self.err("string is not UTF-8"));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.peek().ok_or_else(|| self.err("truncated escape"))?;
                    self.pos += 1;
                    let ch = match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                self.expect(b"\\u")?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("unpaired surrogate"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(code).ok_or_else(|| self.err("invalid code point"))?
                        }
                        _ => return Err(self.err("unknown escape")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                Some(_) => return Err(self.err("control character in string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }
}

fn shape(reason: impl Into<String>) -> ConnectError {
    ConnectError::JsonShape {
        path: String::new(),
        reason: reason.into(),
    }
}

/// Builds a schema from its JSON node (`asConnectSchema`); `None` for `null`.
pub(crate) fn to_schema(node: &Json) -> Result<Option<Schema>> {
    if matches!(node, Json::Null) {
        return Ok(None);
    }
    let Some(Json::String(type_name)) = node.get("type") else {
        return Err(shape("schema must contain a 'type' field"));
    };
    let schema_type = SchemaType::from_json_name(type_name)
        .ok_or_else(|| shape(format!("unknown schema type {type_name:?}")))?;
    let sub = |key: &str| -> Result<Arc<Schema>> {
        match node.get(key) {
            Some(n) => to_schema(n)
                .map_err(|e| e.within(key))?
                .map(Arc::new)
                .ok_or_else(|| shape(format!("{key} schema is null"))),
            None => Err(shape(format!("schema did not specify {key}"))),
        }
    };
    let mut b = match schema_type {
        SchemaType::Array => SchemaBuilder::array(sub("items")?),
        SchemaType::Map => SchemaBuilder::map(sub("keys")?, sub("values")?),
        SchemaType::Struct => {
            let mut b = SchemaBuilder::struct_();
            let Some(Json::Array(fields)) = node.get("fields") else {
                return Err(shape("struct schema's \"fields\" is not an array"));
            };
            for f in fields {
                let Some(Json::String(name)) = f.get("field") else {
                    return Err(shape("struct field name not specified"));
                };
                let fs = to_schema(f)
                    .map_err(|e| e.within(name))?
                    .ok_or_else(|| shape("null field schema"))?;
                b = b.field(name.clone(), fs);
            }
            b
        }
        t => SchemaBuilder::new(t),
    };
    if let Some(Json::Bool(true)) = node.get("optional") {
        b = b.optional();
    }
    if let Some(Json::String(name)) = node.get("name") {
        b = b.name(name.clone());
    }
    if let Some(Json::Number(v)) = node.get("version")
        && let Ok(v) = v.parse::<i32>()
    {
        b = b.version(v);
    }
    if let Some(Json::String(doc)) = node.get("doc") {
        b = b.doc(doc.clone());
    }
    if let Some(Json::Object(params)) = node.get("parameters") {
        for (k, v) in params {
            let Json::String(v) = v else {
                return Err(shape("schema parameters must have string values"));
            };
            b = b.parameter(k.clone(), v.clone());
        }
    }
    if let Some(default) = node.get("default") {
        let without_default = b.clone().build()?;
        let value = to_value(Some(&without_default), default).map_err(|e| e.within("default"))?;
        if let Some(v) = value {
            b = b.default_value(v);
        }
    }
    b.build().map(Some)
}

fn int<T: std::str::FromStr>(node: &Json, expected: SchemaType) -> Result<T> {
    match node {
        Json::Number(text) => text
            .parse::<T>()
            .map_err(|_| shape(format!("{text} is not a valid {expected}"))),
        other => Err(ConnectError::TypeMismatch {
            path: String::new(),
            expected,
            found: other.kind(),
        }),
    }
}

fn float(node: &Json, expected: SchemaType) -> Result<f64> {
    match node {
        Json::Number(text) => text
            .parse::<f64>()
            .map_err(|_| shape(format!("{text} is not a number"))),
        Json::String(s) if s == "NaN" => Ok(f64::NAN),
        Json::String(s) if s == "Infinity" => Ok(f64::INFINITY),
        Json::String(s) if s == "-Infinity" => Ok(f64::NEG_INFINITY),
        other => Err(ConnectError::TypeMismatch {
            path: String::new(),
            expected,
            found: other.kind(),
        }),
    }
}

fn float32(node: &Json) -> Result<f32> {
    match node {
        Json::Number(text) => text
            .parse::<f32>()
            .map_err(|_| shape(format!("{text} is not a number"))),
        other => float(other, SchemaType::Float32).map(|v| v as f32),
    }
}

fn base64(node: &Json) -> Result<Bytes> {
    match node {
        Json::String(s) => STANDARD
            .decode(s)
            .map(Bytes::from)
            .map_err(|e| shape(format!("invalid base64: {e}"))),
        other => Err(ConnectError::TypeMismatch {
            path: String::new(),
            expected: SchemaType::Bytes,
            found: other.kind(),
        }),
    }
}

/// Converts a JSON value with an optional schema (`convertToConnect`).
pub(crate) fn to_value(schema: Option<&Schema>, node: &Json) -> Result<Option<Value>> {
    let Some(schema) = schema else {
        return schemaless(node);
    };
    if matches!(node, Json::Null) {
        if let Some(d) = schema.default_value() {
            return Ok(Some(d.clone()));
        }
        if schema.is_optional() {
            return Ok(None);
        }
        return Err(ConnectError::NullForRequired {
            path: String::new(),
        });
    }
    let t = schema.schema_type();
    let v = match t {
        SchemaType::Boolean => match node {
            Json::Bool(b) => Value::Boolean(*b),
            other => {
                return Err(ConnectError::TypeMismatch {
                    path: String::new(),
                    expected: t,
                    found: other.kind(),
                });
            }
        },
        SchemaType::Int8 => Value::Int8(int(node, t)?),
        SchemaType::Int16 => Value::Int16(int(node, t)?),
        SchemaType::Int32 => Value::Int32(int(node, t)?),
        SchemaType::Int64 => Value::Int64(int(node, t)?),
        SchemaType::Float32 => Value::Float32(float32(node)?),
        SchemaType::Float64 => Value::Float64(float(node, t)?),
        SchemaType::String => match node {
            Json::String(s) => Value::String(Text::from(s.as_str())),
            other => {
                return Err(ConnectError::TypeMismatch {
                    path: String::new(),
                    expected: t,
                    found: other.kind(),
                });
            }
        },
        SchemaType::Bytes if schema.name() == Some(logical::DECIMAL_NAME) => {
            let scale = logical::decimal_scale(schema)?;
            match node {
                Json::Number(text) => Value::Decimal(
                    parse_decimal(text).ok_or_else(|| shape(format!("{text} is not a decimal")))?,
                ),
                other => Value::Decimal(crate::value::Decimal::new(base64(other)?, scale)),
            }
        }
        SchemaType::Bytes => Value::Bytes(base64(node)?),
        SchemaType::Array => {
            let Json::Array(items) = node else {
                return Err(ConnectError::TypeMismatch {
                    path: String::new(),
                    expected: t,
                    found: node.kind(),
                });
            };
            let item_schema = schema.value_schema().map(|s| &**s);
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(to_value(item_schema, item).map_err(|e| e.within(&format!("[{i}]")))?);
            }
            Value::Array(out)
        }
        SchemaType::Map => {
            let ks = schema.key_schema().map(|s| &**s);
            let vs = schema.value_schema().map(|s| &**s);
            let mut out = Vec::new();
            if ks.is_none_or(|k| k.schema_type() == SchemaType::String) {
                let Json::Object(members) = node else {
                    return Err(shape("maps with string keys must be JSON objects"));
                };
                for (k, v) in members {
                    out.push((
                        Value::String(Text::from(k.as_str())),
                        to_value(vs, v).map_err(|e| e.within(k))?,
                    ));
                }
            } else {
                let Json::Array(entries) = node else {
                    return Err(shape("maps with non-string keys must be arrays of pairs"));
                };
                for (i, e) in entries.iter().enumerate() {
                    let (Json::Array(pair), true) =
                        (e, matches!(e, Json::Array(p) if p.len() == 2))
                    else {
                        return Err(shape("map entry is not a pair").within(&format!("[{i}]")));
                    };
                    let (Some(k), Some(v)) = (pair.first(), pair.get(1)) else {
                        return Err(shape("map entry is not a pair").within(&format!("[{i}]")));
                    };
                    let k = to_value(ks, k)
                        .map_err(|e| e.within(&format!("[{i}]")))?
                        .ok_or_else(|| shape("null map key").within(&format!("[{i}]")))?;
                    out.push((k, to_value(vs, v).map_err(|e| e.within(&format!("[{i}]")))?));
                }
            }
            Value::Map(out)
        }
        SchemaType::Struct => {
            if !matches!(node, Json::Object(_)) {
                return Err(shape(format!(
                    "structs must be JSON objects, found {}",
                    node.kind()
                )));
            }
            let schema = Arc::new(schema.clone());
            let mut values = Vec::with_capacity(schema.fields().len());
            for f in schema.fields() {
                let v = match node.get(f.name()) {
                    Some(n) => to_value(Some(f.schema()), n),
                    None => to_value(Some(f.schema()), &Json::Null),
                }
                .map_err(|e| e.within(f.name()))?;
                values.push(v);
            }
            Value::Struct(Struct::from_values(schema, values)?)
        }
    };
    Ok(Some(v))
}

fn schemaless(node: &Json) -> Result<Option<Value>> {
    Ok(Some(match node {
        Json::Null => return Ok(None),
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(text) => {
            if let Ok(i) = text.parse::<i64>() {
                Value::Int64(i)
            } else {
                Value::Float64(
                    text.parse::<f64>()
                        .map_err(|_| shape(format!("{text} is not a number")))?,
                )
            }
        }
        Json::String(s) => Value::String(Text::from(s.as_str())),
        Json::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(schemaless(item).map_err(|e| e.within(&format!("[{i}]")))?);
            }
            Value::Array(out)
        }
        Json::Object(members) => {
            let mut out = Vec::with_capacity(members.len());
            for (k, v) in members {
                out.push((
                    Value::String(Text::from(k.as_str())),
                    schemaless(v).map_err(|e| e.within(k))?,
                ));
            }
            Value::Map(out)
        }
    }))
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

    #[test]
    fn parser_keeps_order_and_number_text() {
        let j =
            parse(br#" {"b": 1.50, "a": [true, null, "x\u00e9\ud83d\ude00"], "c": -0} "#).unwrap();
        let Json::Object(m) = &j else { panic!() };
        assert_eq!(m[0], ("b".into(), Json::Number("1.50".into())));
        assert_eq!(m[1].0, "a");
        assert_eq!(
            m[1].1,
            Json::Array(vec![
                Json::Bool(true),
                Json::Null,
                Json::String("xé😀".into())
            ])
        );
        assert_eq!(m[2].1, Json::Number("-0".into()));
    }

    #[test]
    fn parser_rejects_garbage_without_panicking() {
        for bad in [
            &b""[..],
            b"{",
            b"[1,]",
            b"\"abc",
            b"01x",
            b"{\"a\" 1}",
            b"nul",
            b"\"\\ud800\"",
            b"1.",
            b"-",
            b"[1] 2",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = vec![b'['; 10_000];
        assert!(parse(&deep).is_err());
    }
}
