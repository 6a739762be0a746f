//! `org.apache.kafka.connect.transforms.MaskField$Key` / `$Value`: replaces
//! field values with an empty value of their type, or a replacement.

use bytes::Bytes;
use tidewater_connect::{ConnectRecord, Decimal, Schema, Struct, Value, logical};

use crate::config::TransformOptions;
use crate::error::{Result, TransformError};
use crate::javatext::rescale;
use crate::traits::Transform;
use crate::util::{Side, field_value, map_get, map_put, require_map, struct_of};

/// `MaskField$Key` / `MaskField$Value`: `fields` (required), `replacement`
/// (numbers and strings only).
#[derive(Debug)]
pub struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

impl MaskField {
    /// From the options of `MaskField$Key` or `$Value`.
    pub fn from_options(side: Side, opts: &mut TransformOptions) -> Result<MaskField> {
        let fields = opts.required_list("fields")?;
        let replacement = match opts.string("replacement") {
            Some(r) if r.is_empty() => {
                return Err(opts.error("replacement", Some(""), "must not be empty"));
            }
            r => r,
        };
        let replace_null_with_default = opts.bool("replace.null.with.default", true)?;
        Ok(MaskField {
            side,
            fields,
            replacement,
            replace_null_with_default,
        })
    }

    fn mask(
        &self,
        value: Option<Value>,
        schema: Option<&Schema>,
        topic: &str,
    ) -> Result<Option<Value>> {
        let Some(value) = value else {
            return Ok(None);
        };
        let cannot = |what: &str| {
            TransformError::record(
                topic,
                format!("cannot mask a value of type {} {what}", value.kind_name()),
            )
        };
        let Some(r) = &self.replacement else {
            return Ok(Some(match &value {
                Value::Boolean(_) => Value::Boolean(false),
                Value::Int8(_) => Value::Int8(0),
                Value::Int16(_) => Value::Int16(0),
                Value::Int32(_) => Value::Int32(0),
                Value::Int64(_) => Value::Int64(0),
                Value::Float32(_) => Value::Float32(0.0),
                Value::Float64(_) => Value::Float64(0.0),
                Value::String(_) => Value::from(""),
                Value::Bytes(_) => Value::Bytes(Bytes::new()),
                Value::Decimal(d) => Value::Decimal(Decimal::from_i128(0, d.scale())),
                Value::Array(_) => Value::Array(Vec::new()),
                Value::Map(_) => Value::Map(Vec::new()),
                _ => return Err(cannot("")),
            }));
        };
        let bad_number =
            || TransformError::record(topic, format!("unable to convert {r:?} to a number"));
        let integer = || -> Result<i64> {
            if let Ok(n) = r.parse::<i64>() {
                return Ok(n);
            }
            let f: f64 = r.parse().map_err(|_| bad_number())?;
            if f.is_finite() {
                Ok(f as i64)
            } else {
                Err(bad_number())
            }
        };
        let float = || r.parse::<f64>().map_err(|_| bad_number());
        Ok(Some(match &value {
            Value::String(_) => Value::from(r.as_str()),
            Value::Int8(_) => Value::Int8(integer()? as i8),
            Value::Int16(_) => Value::Int16(integer()? as i16),
            Value::Int32(_) => Value::Int32(integer()? as i32),
            Value::Int64(_) => Value::Int64(integer()?),
            Value::Float32(_) => Value::Float32(float()? as f32),
            Value::Float64(_) => Value::Float64(float()?),
            Value::Decimal(d) => {
                let parsed = Decimal::parse(r).ok_or_else(bad_number)?;
                let scale = schema
                    .and_then(|s| logical::decimal_scale(s).ok())
                    .unwrap_or(d.scale());
                let v = rescale(&parsed, scale).ok_or_else(|| {
                    TransformError::record(
                        topic,
                        format!("replacement {r:?} does not fit a decimal of scale {scale}"),
                    )
                })?;
                Value::Decimal(v)
            }
            _ => return Err(cannot("with a custom replacement")),
        }))
    }
}

impl Transform for MaskField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(value) = self.side.value(&record) else {
            return Ok(Some(record));
        };
        let topic = record.topic.clone();
        match self.side.schema(&record).cloned() {
            None => {
                let mut entries = require_map(value, &topic, "mask fields")?.to_vec();
                for f in &self.fields {
                    let current = map_get(&entries, f).cloned().flatten();
                    let masked = self.mask(current, None, &topic)?;
                    map_put(&mut entries, f, masked);
                }
                self.side.put(&mut record, None, Some(Value::Map(entries)));
            }
            Some(schema) => {
                let s = struct_of(value, &schema, &topic, "mask fields")?;
                let mut values = Vec::with_capacity(s.values().len());
                for (i, f) in schema.fields().iter().enumerate() {
                    let v = field_value(s, i, self.replace_null_with_default);
                    values.push(if self.fields.iter().any(|m| m == f.name()) {
                        self.mask(v, Some(f.schema()), &topic)?
                    } else {
                        v
                    });
                }
                let st = Struct::from_values_unchecked(schema.clone(), values);
                self.side
                    .put(&mut record, Some(schema), Some(Value::Struct(st)));
            }
        }
        Ok(Some(record))
    }
}
