//! `JsonConverter`: Kafka's `org.apache.kafka.connect.json.JsonConverter`
//! output, byte for byte.
//!
//! With `schemas.enable=true` (the default) each key or value is written as
//! `{"schema":S,"payload":P}`; with `false` just `P`. A null schema and null
//! value serialize to no bytes at all (a Kafka null). Schema nodes list
//! `type`, then `items` / `keys`+`values` / `fields`, then `optional`, `name`,
//! `version`, `doc`, `parameters`, `default`; struct fields add `"field"` last.
//! Bytes are base64, decimals base64 of their unscaled two's complement
//! (or a JSON number with `decimal.format=NUMERIC`), NaN and infinities the
//! strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
//!
//! The JSON of a schema is computed once and kept inside the (shared)
//! [`Schema`], so records that share a schema pay for it once.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::converter::{Converter, SchemaAndValue};
use crate::error::{ConnectError, Result};
use crate::schema::Schema;
use crate::value::Value;

pub(crate) mod number;
mod read;
mod write;

use write::WriteOptions;

/// Appends `s` as a JSON string literal escaped exactly as Jackson (and so
/// Kafka's converter) escapes it.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    write::write_str(out, s.as_bytes());
}

/// Checks that `bytes` are UTF-8 and appends them as
/// [`write_json_string`] does; ASCII that needs no escaping (the common
/// case) is checked and copied in one pass. Nothing is appended on an error.
pub fn write_json_string_from_utf8(
    out: &mut Vec<u8>,
    bytes: &[u8],
) -> std::result::Result<(), std::str::Utf8Error> {
    write::write_str_from_utf8(out, bytes)
}

/// Appends an integer as JSON (as the converter writes `int8` to `int64`).
pub fn write_json_i64(out: &mut Vec<u8>, v: i64) {
    write::write_i64(out, v);
}

/// Appends bytes as the converter writes a `bytes` value: a JSON string of
/// their standard, padded base64.
pub fn write_json_base64(out: &mut Vec<u8>, data: &[u8]) {
    write::write_base64(out, data);
}

/// `decimal.format`: how `Decimal` values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DecimalFormat {
    /// Base64 of the unscaled big-endian two's complement (Kafka's default).
    #[default]
    Base64,
    /// A JSON number (Java `BigDecimal.toString()` text).
    Numeric,
}

/// Settings of a [`JsonConverter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonConverterConfig {
    /// `schemas.enable` (default `true`).
    pub schemas_enable: bool,
    /// `decimal.format` (default `BASE64`).
    pub decimal_format: DecimalFormat,
    /// `replace.null.with.default` (default `true`): a null whose schema has a
    /// default is written as the default.
    pub replace_null_with_default: bool,
}

impl Default for JsonConverterConfig {
    fn default() -> Self {
        JsonConverterConfig {
            schemas_enable: true,
            decimal_format: DecimalFormat::Base64,
            replace_null_with_default: true,
        }
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConnectError::Config {
            key: key.into(),
            value: value.into(),
            reason: "expected true or false".into(),
        }),
    }
}

impl JsonConverterConfig {
    /// Every key [`from_pairs`](Self::from_pairs) reads (without the
    /// `key.converter.` / `value.converter.` prefix of a connector
    /// configuration).
    pub const KEYS: &'static [&'static str] = &[
        "schemas.enable",
        "decimal.format",
        "replace.null.with.default",
        "schemas.cache.size",
        "converter.type",
    ];

    /// Reads the converter's keys (`schemas.enable`, `decimal.format`,
    /// `replace.null.with.default`; `schemas.cache.size` and `converter.type`
    /// are checked and otherwise unused). Other keys are ignored, as Kafka
    /// ignores keys a converter does not define.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut c = JsonConverterConfig::default();
        for (key, value) in pairs {
            match key {
                "schemas.enable" => c.schemas_enable = parse_bool(key, value)?,
                "replace.null.with.default" => {
                    c.replace_null_with_default = parse_bool(key, value)?
                }
                "decimal.format" => {
                    c.decimal_format = match value.trim().to_ascii_uppercase().as_str() {
                        "BASE64" => DecimalFormat::Base64,
                        "NUMERIC" => DecimalFormat::Numeric,
                        _ => {
                            return Err(ConnectError::Config {
                                key: key.into(),
                                value: value.into(),
                                reason: "expected BASE64 or NUMERIC".into(),
                            });
                        }
                    }
                }
                "schemas.cache.size" => {
                    value
                        .trim()
                        .parse::<u32>()
                        .map_err(|_| ConnectError::Config {
                            key: key.into(),
                            value: value.into(),
                            reason: "expected a non-negative integer".into(),
                        })?;
                }
                "converter.type"
                    if !matches!(
                        value.trim().to_ascii_lowercase().as_str(),
                        "key" | "value" | "header"
                    ) =>
                {
                    return Err(ConnectError::Config {
                        key: key.into(),
                        value: value.into(),
                        reason: "expected key, value or header".into(),
                    });
                }
                _ => {}
            }
        }
        Ok(c)
    }

    /// [`from_pairs`](Self::from_pairs) over a map.
    pub fn from_map(map: &HashMap<String, String>) -> Result<Self> {
        Self::from_pairs(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// Kafka's JSON converter.
///
/// ```
/// use std::sync::Arc;
/// use tidewater_connect::{Converter, JsonConverter, JsonConverterConfig, SchemaBuilder, Struct};
/// let schema = Arc::new(SchemaBuilder::struct_().name("k")
///     .field("id", SchemaBuilder::int32().build()?).build()?);
/// let mut key = Struct::new(schema.clone())?;
/// key.put("id", 1)?;
/// let conv = JsonConverter::new(JsonConverterConfig::default());
/// let bytes = conv.serialize("t", Some(&schema), Some(&key.into()))?.unwrap_or_default();
/// assert_eq!(&bytes[..], br#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"k"},"payload":{"id":1}}"#);
/// let back = conv.deserialize("t", Some(&bytes))?;
/// assert_eq!(back.schema.as_deref(), Some(&*schema));
/// # Ok::<(), tidewater_connect::ConnectError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonConverter {
    config: JsonConverterConfig,
}

impl JsonConverter {
    /// A converter with these settings.
    pub fn new(config: JsonConverterConfig) -> JsonConverter {
        JsonConverter { config }
    }

    /// The settings.
    pub fn config(&self) -> &JsonConverterConfig {
        &self.config
    }

    fn options(&self) -> WriteOptions {
        WriteOptions {
            decimal_format: self.config.decimal_format,
            replace_null_with_default: self.config.replace_null_with_default,
        }
    }

    fn cache_slot(&self) -> usize {
        match self.config.decimal_format {
            DecimalFormat::Base64 => 0,
            DecimalFormat::Numeric => 1,
        }
    }

    /// The JSON of a schema (cached inside the schema after the first call).
    pub fn schema_json(&self, schema: &Schema) -> Result<Bytes> {
        let slot = self.cache_slot();
        if let Some(cache) = schema.json_cache(slot)
            && let Some(b) = cache.get()
        {
            return Ok(b.clone());
        }
        let mut out = Vec::with_capacity(256);
        write::write_schema(&mut out, schema, self.options())?;
        let bytes = Bytes::from(out);
        if let Some(cache) = schema.json_cache(slot) {
            let _ = cache.set(bytes.clone());
        }
        Ok(bytes)
    }

    /// Appends the JSON of a schema, as [`schema_json`](Self::schema_json)
    /// returns it (from the schema's cache, without touching a reference
    /// count once it is filled).
    pub fn write_schema_json(&self, schema: &Schema, out: &mut Vec<u8>) -> Result<()> {
        if let Some(cache) = schema.json_cache(self.cache_slot())
            && let Some(b) = cache.get()
        {
            out.extend_from_slice(b);
            return Ok(());
        }
        out.extend_from_slice(&self.schema_json(schema)?);
        Ok(())
    }

    /// Appends only the payload JSON of a value: what [`write`](Self::write)
    /// puts after `"payload":` with `schemas.enable`, or its whole output
    /// without it (except that both null gives `null` here, not nothing).
    /// Honours `decimal.format` and `replace.null.with.default`.
    ///
    /// For writers that assemble a document from parts (a struct written
    /// field by field with [`Field::json_key`](crate::Field::json_key)):
    /// each part is exactly what the converter writes for it inside the
    /// whole value.
    pub fn write_payload(
        &self,
        schema: Option<&Schema>,
        value: Option<&Value>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        write::write_value(out, schema, value, self.options())
    }

    /// Appends the serialized form to `out` (so a caller can reuse one
    /// buffer). Returns `false`, writing nothing, when schema and value are
    /// both null.
    pub fn write(
        &self,
        schema: Option<&Schema>,
        value: Option<&Value>,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        if schema.is_none() && value.is_none() {
            return Ok(false);
        }
        let opts = self.options();
        if self.config.schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match schema {
                Some(s) => out.extend_from_slice(&self.schema_json(s)?),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"payload\":");
            write::write_value(out, schema, value, opts)?;
            out.push(b'}');
        } else {
            write::write_value(out, schema, value, opts)?;
        }
        Ok(true)
    }
}

impl Converter for JsonConverter {
    fn serialize(
        &self,
        _topic: &str,
        schema: Option<&Schema>,
        value: Option<&Value>,
    ) -> Result<Option<Bytes>> {
        let mut out = Vec::with_capacity(512);
        if self.write(schema, value, &mut out)? {
            Ok(Some(Bytes::from(out)))
        } else {
            Ok(None)
        }
    }

    fn deserialize(&self, _topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue> {
        let Some(data) = data else {
            return Ok(SchemaAndValue::default());
        };
        let json = read::parse(data)?;
        if self.config.schemas_enable {
            let ok_shape = matches!(&json, read::Json::Object(m) if m.len() == 2)
                && json.get("schema").is_some()
                && json.get("payload").is_some();
            if !ok_shape {
                return Err(ConnectError::JsonShape {
                    path: String::new(),
                    reason: "with schemas.enable the document must be an object with exactly \"schema\" and \"payload\"".into(),
                });
            }
            let schema = match json.get("schema") {
                Some(s) => read::to_schema(s).map_err(|e| e.within("schema"))?,
                None => None,
            };
            let payload = json.get("payload").unwrap_or(&read::Json::Null);
            let value =
                read::to_value(schema.as_ref(), payload).map_err(|e| e.within("payload"))?;
            Ok(SchemaAndValue {
                schema: schema.map(Arc::new),
                value,
            })
        } else {
            Ok(SchemaAndValue {
                schema: None,
                value: read::to_value(None, &json)?,
            })
        }
    }
}
