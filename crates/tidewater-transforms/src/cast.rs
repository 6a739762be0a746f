//! `org.apache.kafka.connect.transforms.Cast$Key` / `$Value`: casts fields,
//! or the whole key or value, to another primitive type.

use std::sync::Arc;

use base64::Engine as _;
use tidewater_connect::{ConnectRecord, Schema, SchemaBuilder, SchemaType, Struct, Value, logical};

use crate::cache::{DEFAULT_CAPACITY, SchemaCache};
use crate::config::TransformOptions;
use crate::error::{Result, TransformError};
use crate::javatext::{decimal_to_i128, java_date_text, java_double, java_float};
use crate::traits::Transform;
use crate::util::{
    Side, build, copy_basics_onto, field_value, map_get, map_put, require_map, struct_basics,
    struct_of,
};

const TARGETS: [(&str, SchemaType); 8] = [
    ("int8", SchemaType::Int8),
    ("int16", SchemaType::Int16),
    ("int32", SchemaType::Int32),
    ("int64", SchemaType::Int64),
    ("float32", SchemaType::Float32),
    ("float64", SchemaType::Float64),
    ("boolean", SchemaType::Boolean),
    ("string", SchemaType::String),
];

/// `Cast$Key` / `Cast$Value`: `spec` is `field:type,…` or one `type` for the
/// whole key or value; types are `int8`, `int16`, `int32`, `int64`,
/// `float32`, `float64`, `boolean` and `string`.
#[derive(Debug)]
pub struct Cast {
    side: Side,
    whole: Option<SchemaType>,
    casts: Vec<(String, SchemaType)>,
    replace_null_with_default: bool,
    schemas: SchemaCache<Arc<Schema>>,
}

fn target(name: &str) -> Option<SchemaType> {
    TARGETS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, t)| *t)
}

/// Java's `Number` views of a numeric value: `long` and `double`.
enum Num {
    Long(i64),
    Double(f64),
}

impl Cast {
    /// From the options of `Cast$Key` or `$Value`.
    pub fn from_options(side: Side, opts: &mut TransformOptions) -> Result<Cast> {
        let spec = opts.required_list("spec")?;
        let mut whole = None;
        let mut casts = Vec::new();
        for item in &spec {
            let parts: Vec<&str> = item.split(':').collect();
            let (field, ty) = match parts.as_slice() {
                [ty] => (None, *ty),
                [field, ty] => (Some(field.trim()), *ty),
                _ => {
                    return Err(opts.error(
                        "spec",
                        Some(item),
                        "invalid cast mapping: use field:type or type",
                    ));
                }
            };
            let t = target(ty).ok_or_else(|| {
                opts.error(
                    "spec",
                    Some(item),
                    "cast type must be one of int8, int16, int32, int64, float32, float64, boolean, string",
                )
            })?;
            match field {
                None => whole = Some(t),
                Some(f) => casts.push((f.to_string(), t)),
            }
        }
        if whole.is_some() && spec.len() > 1 {
            return Err(opts.error(
                "spec",
                Some(&spec.join(",")),
                "a cast of the entire value must be the only cast in the spec",
            ));
        }
        Ok(Cast {
            side,
            whole,
            casts,
            replace_null_with_default: opts.bool("replace.null.with.default", true)?,
            schemas: SchemaCache::new(DEFAULT_CAPACITY),
        })
    }

    fn cast_of(&self, field: &str) -> Option<SchemaType> {
        self.casts.iter().find(|(f, _)| f == field).map(|(_, t)| *t)
    }
}

fn unsupported(topic: &str, from: &str) -> TransformError {
    TransformError::record(
        topic,
        format!(
            "Cast does not support casting from {from}; supported: int8, int16, int32, int64, float32, float64, boolean, string, bytes"
        ),
    )
}

/// Casts one value (`schema` decides the input type when present).
pub(crate) fn cast_value(
    schema: Option<&Schema>,
    value: &Value,
    to: SchemaType,
    topic: &str,
) -> Result<Value> {
    let input = schema
        .map(Schema::schema_type)
        .unwrap_or_else(|| value.natural_type());
    if !input.is_primitive() {
        return Err(unsupported(topic, input.json_name()));
    }
    let logical_name = schema.and_then(Schema::name);
    let is_temporal = matches!(
        logical_name,
        Some(logical::DATE_NAME | logical::TIME_NAME | logical::TIMESTAMP_NAME)
    );
    // Logical types are cast through their encoded form (Date: days, Time:
    // milliseconds of the day, Timestamp: milliseconds), as Kafka's
    // `encodeLogicalType` does; only `string` formats them as dates.
    let num = match value {
        Value::Int8(v) => Some(Num::Long((*v).into())),
        Value::Int16(v) => Some(Num::Long((*v).into())),
        Value::Int32(v) => Some(Num::Long((*v).into())),
        Value::Int64(v) => Some(Num::Long(*v)),
        Value::Float32(v) => Some(Num::Double((*v).into())),
        Value::Float64(v) => Some(Num::Double(*v)),
        _ => None,
    };
    let num = match (num, value) {
        (Some(n), _) => Some(n),
        (None, Value::Decimal(d)) => Some(match decimal_to_i128(d, true) {
            Some(v) => Num::Long(v as i64),
            None => Num::Double(d.to_string().parse::<f64>().unwrap_or(f64::NAN)),
        }),
        _ => None,
    };
    // The truncated integer view of a decimal (BigDecimal.longValue()).
    let long_of_decimal = |v: &Value| match v {
        Value::Decimal(d) => decimal_to_i128(d, false).map(|x| x as i64),
        _ => None,
    };
    let bad = |what: &str| TransformError::record(topic, format!("value {value:?} {what}"));
    let as_long = || -> Result<i64> {
        if let Some(l) = long_of_decimal(value) {
            return Ok(l);
        }
        match &num {
            Some(Num::Long(l)) => Ok(*l),
            Some(Num::Double(d)) => Ok(*d as i64),
            None => match value {
                Value::Boolean(b) => Ok(i64::from(*b)),
                _ => Err(bad("cannot be cast to a number")),
            },
        }
    };
    let parse_int = |max_bits: u32| -> Result<i64> {
        let Value::String(s) = value else {
            return Err(bad("cannot be cast to a number"));
        };
        let n: i64 = s
            .as_str()
            .parse()
            .map_err(|_| bad("is not a whole number in range"))?;
        // In i128: for 64 bits the limit itself is out of i64's range.
        let (n_wide, limit) = (i128::from(n), 1i128 << (max_bits - 1));
        if n_wide < -limit || n_wide > limit - 1 {
            return Err(bad("is out of range for the requested type"));
        }
        Ok(n)
    };
    let narrow_int = |bits: u32| -> Result<i64> {
        if let Value::String(_) = value {
            return parse_int(bits);
        }
        // Java narrows a double through int; longs wrap.
        match (&num, long_of_decimal(value)) {
            (Some(Num::Double(d)), None) if bits < 64 => Ok(i64::from(*d as i32)),
            _ => as_long(),
        }
    };
    let as_double = || -> Result<f64> {
        match (&num, value) {
            (_, Value::String(s)) => s
                .as_str()
                .trim()
                .parse::<f64>()
                .map_err(|_| bad("is not a number")),
            (Some(Num::Long(l)), Value::Decimal(_)) => Ok(*l as f64),
            (_, Value::Decimal(d)) => Ok(d.to_string().parse::<f64>().unwrap_or(f64::NAN)),
            (Some(Num::Long(l)), _) => Ok(*l as f64),
            (Some(Num::Double(d)), _) => Ok(*d),
            (None, Value::Boolean(b)) => Ok(if *b { 1.0 } else { 0.0 }),
            _ => Err(bad("cannot be cast to a number")),
        }
    };
    Ok(match to {
        SchemaType::Int8 => Value::Int8(narrow_int(8)? as i8),
        SchemaType::Int16 => Value::Int16(narrow_int(16)? as i16),
        SchemaType::Int32 => Value::Int32(narrow_int(32)? as i32),
        SchemaType::Int64 => Value::Int64(narrow_int(64)?),
        SchemaType::Float32 => Value::Float32(match value {
            Value::String(s) => s
                .as_str()
                .trim()
                .parse::<f32>()
                .map_err(|_| bad("is not a number"))?,
            _ => as_double()? as f32,
        }),
        SchemaType::Float64 => Value::Float64(as_double()?),
        SchemaType::Boolean => Value::Boolean(match value {
            Value::Boolean(b) => *b,
            Value::String(s) => s.as_str().eq_ignore_ascii_case("true"),
            Value::Bytes(_) => return Err(bad("cannot be cast to a boolean")),
            _ => as_long()? != 0,
        }),
        SchemaType::String => Value::from(match value {
            Value::String(s) => s.as_str().to_string(),
            Value::Boolean(b) => b.to_string(),
            Value::Int8(v) => v.to_string(),
            Value::Int16(v) => v.to_string(),
            Value::Int32(v) if is_temporal => {
                java_date_text(if logical_name == Some(logical::DATE_NAME) {
                    i64::from(*v) * crate::datefmt::MILLIS_PER_DAY
                } else {
                    i64::from(*v)
                })
            }
            Value::Int32(v) => v.to_string(),
            Value::Int64(v) if is_temporal => java_date_text(*v),
            Value::Int64(v) => v.to_string(),
            Value::Float32(v) => java_float(*v),
            Value::Float64(v) => java_double(*v),
            Value::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
            Value::Decimal(d) => d.to_string(),
            other => return Err(unsupported(topic, other.kind_name())),
        }),
        _ => return Err(unsupported(topic, to.json_name())),
    })
}

fn primitive_builder(t: SchemaType) -> SchemaBuilder {
    SchemaBuilder::new(t)
}

impl Transform for Cast {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(value) = self.side.value(&record) else {
            return Ok(Some(record));
        };
        let topic = record.topic.clone();
        let Some(schema) = self.side.schema(&record).cloned() else {
            let out = match self.whole {
                Some(t) => cast_value(None, value, t, &topic)?,
                None => {
                    let mut entries = require_map(value, &topic, "cast types")?.to_vec();
                    for (f, t) in &self.casts {
                        let cast = match map_get(&entries, f).cloned().flatten() {
                            Some(v) => Some(cast_value(None, &v, *t, &topic)?),
                            None => None,
                        };
                        map_put(&mut entries, f, cast);
                    }
                    Value::Map(entries)
                }
            };
            self.side.put(&mut record, None, Some(out));
            return Ok(Some(record));
        };
        let out_schema = self.schemas.get_or_try_insert(&schema, (), || {
            let mut b = match self.whole {
                Some(t) => copy_basics_onto(&schema, primitive_builder(t)),
                None => {
                    let mut b = struct_basics(&schema);
                    for f in schema.fields() {
                        match self.cast_of(f.name()) {
                            Some(t) => {
                                let mut fb = primitive_builder(t);
                                if f.schema().is_optional() {
                                    fb = fb.optional();
                                }
                                if let Some(d) = f.schema().default_value() {
                                    fb = fb.default_value(cast_value(
                                        Some(f.schema()),
                                        d,
                                        t,
                                        &topic,
                                    )?);
                                }
                                b = b.field(f.name(), build(fb, &topic)?);
                            }
                            None => b = b.field(f.name(), f.schema().clone()),
                        }
                    }
                    b
                }
            };
            if schema.is_optional() {
                b = b.optional();
            }
            if let (Some(t), Some(d)) = (self.whole, schema.default_value()) {
                b = b.default_value(cast_value(Some(&schema), d, t, &topic)?);
            }
            build(b, &topic)
        })?;
        let out = match self.whole {
            Some(t) => cast_value(Some(&schema), value, t, &topic)?,
            None => {
                let s = struct_of(value, &schema, &topic, "cast types")?;
                let mut values = Vec::with_capacity(s.values().len());
                for (i, f) in schema.fields().iter().enumerate() {
                    let v = field_value(s, i, self.replace_null_with_default);
                    values.push(match (self.cast_of(f.name()), v) {
                        (Some(t), Some(v)) => Some(cast_value(Some(f.schema()), &v, t, &topic)?),
                        (_, v) => v,
                    });
                }
                Value::Struct(Struct::from_values_unchecked(out_schema.clone(), values))
            }
        };
        self.side.put(&mut record, Some(out_schema), Some(out));
        Ok(Some(record))
    }
}
