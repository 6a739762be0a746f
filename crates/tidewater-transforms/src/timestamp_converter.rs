//! `org.apache.kafka.connect.transforms.TimestampConverter$Key` / `$Value`:
//! converts a timestamp field (or the whole key or value) between strings,
//! Unix epochs and Connect's `Date`, `Time` and `Timestamp`.

use std::sync::Arc;

use tidewater_connect::{ConnectRecord, Schema, SchemaBuilder, SchemaType, Struct, Value, logical};

use crate::cache::{DEFAULT_CAPACITY, SchemaCache};
use crate::config::TransformOptions;
use crate::datefmt::{DateFormat, MILLIS_PER_DAY};
use crate::error::{Result, TransformError};
use crate::traits::Transform;
use crate::util::{
    Side, build, field_value, map_get, map_put, require_map, struct_basics, struct_of,
};

/// A timestamp representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

/// `unix.precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

/// `TimestampConverter$Key` / `$Value`: `target.type` (`string`, `unix`,
/// `Date`, `Time`, `Timestamp`), `field` (empty: the whole key or value),
/// `format` (a `SimpleDateFormat` pattern, UTC), `unix.precision`
/// (`seconds`, `milliseconds`, `microseconds`, `nanoseconds`).
#[derive(Debug)]
pub struct TimestampConverter {
    side: Side,
    field: String,
    target: Kind,
    format: Option<DateFormat>,
    precision: Precision,
    replace_null_with_default: bool,
    schemas: SchemaCache<Arc<Schema>>,
}

impl TimestampConverter {
    /// From the options of `TimestampConverter$Key` or `$Value`.
    pub fn from_options(side: Side, opts: &mut TransformOptions) -> Result<TimestampConverter> {
        let field = opts.string_or("field", "");
        let Some(t) = opts.string("target.type") else {
            return Err(opts.error("target.type", None, "missing required option"));
        };
        let target = match t.as_str() {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            "Timestamp" => Kind::Timestamp,
            _ => {
                return Err(opts.error(
                    "target.type",
                    Some(&t),
                    "must be one of string, unix, Date, Time, Timestamp",
                ));
            }
        };
        let pattern = opts.string_or("format", "");
        let format = if pattern.is_empty() {
            None
        } else {
            Some(DateFormat::new(&pattern).map_err(|e| opts.error("format", Some(&pattern), e))?)
        };
        if target == Kind::String && format.is_none() {
            return Err(opts.error(
                "format",
                None,
                "a format is required when target.type=string",
            ));
        }
        let precision = match opts.choice(
            "unix.precision",
            &["seconds", "milliseconds", "microseconds", "nanoseconds"],
            "milliseconds",
        )? {
            "seconds" => Precision::Seconds,
            "microseconds" => Precision::Micros,
            "nanoseconds" => Precision::Nanos,
            _ => Precision::Millis,
        };
        Ok(TimestampConverter {
            side,
            field,
            target,
            format,
            precision,
            replace_null_with_default: opts.bool("replace.null.with.default", true)?,
            schemas: SchemaCache::new(DEFAULT_CAPACITY),
        })
    }

    fn target_schema(
        &self,
        optional: bool,
    ) -> std::result::Result<Schema, tidewater_connect::ConnectError> {
        let b = match self.target {
            Kind::String => SchemaBuilder::string(),
            Kind::Unix => SchemaBuilder::int64(),
            Kind::Date => logical::date_builder(),
            Kind::Time => logical::time_builder(),
            Kind::Timestamp => logical::timestamp_builder(),
        };
        if optional {
            b.optional().build()
        } else {
            b.build()
        }
    }

    /// The representation a schema declares.
    fn kind_of(schema: &Schema, topic: &str) -> Result<Kind> {
        match (schema.name(), schema.schema_type()) {
            (Some(logical::TIMESTAMP_NAME), _) => Ok(Kind::Timestamp),
            (Some(logical::DATE_NAME), _) => Ok(Kind::Date),
            (Some(logical::TIME_NAME), _) => Ok(Kind::Time),
            (_, SchemaType::String) => Ok(Kind::String),
            (_, SchemaType::Int64) => Ok(Kind::Unix),
            _ => Err(TransformError::record(
                topic,
                format!(
                    "schema {:?} ({}) is not a known timestamp type",
                    schema.name(),
                    schema.schema_type()
                ),
            )),
        }
    }

    /// Milliseconds since the epoch of a value of the given representation.
    fn to_millis(&self, kind: Kind, value: &Value, topic: &str) -> Result<i64> {
        let wrong = || {
            TransformError::record(
                topic,
                format!("value {value:?} is not a valid {kind:?} timestamp"),
            )
        };
        match (kind, value) {
            (Kind::String, Value::String(s)) => match &self.format {
                Some(f) => f.parse(s.as_str()).map_err(|e| {
                    TransformError::record(topic, format!("could not parse timestamp: {e}"))
                }),
                None => Err(TransformError::record(
                    topic,
                    "a format is needed to parse string timestamps",
                )),
            },
            (Kind::Unix, Value::Int64(v)) => Ok(match self.precision {
                Precision::Seconds => v.saturating_mul(1000),
                Precision::Millis => *v,
                Precision::Micros => v / 1000,
                Precision::Nanos => v / 1_000_000,
            }),
            (Kind::Date, Value::Int32(days)) => Ok(i64::from(*days) * MILLIS_PER_DAY),
            (Kind::Time, Value::Int32(ms)) => Ok(i64::from(*ms)),
            (Kind::Timestamp, Value::Int64(ms)) => Ok(*ms),
            _ => Err(wrong()),
        }
    }

    fn millis_to_target(&self, ms: i64, topic: &str) -> Result<Value> {
        Ok(match self.target {
            Kind::String => Value::from(
                self.format
                    .as_ref()
                    .map(|f| f.format(ms))
                    .unwrap_or_default(),
            ),
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => ms / 1000,
                Precision::Millis => ms,
                Precision::Micros => ms.saturating_mul(1000),
                Precision::Nanos => ms.saturating_mul(1_000_000),
            }),
            Kind::Date => Value::Int32(
                i32::try_from(ms.div_euclid(MILLIS_PER_DAY))
                    .map_err(|_| TransformError::record(topic, "date out of range"))?,
            ),
            Kind::Time => Value::Int32(i32::try_from(ms.rem_euclid(MILLIS_PER_DAY)).unwrap_or(0)),
            Kind::Timestamp => Value::Int64(ms),
        })
    }

    fn convert(&self, kind: Option<Kind>, value: &Value, topic: &str) -> Result<Value> {
        let kind = match kind {
            Some(k) => k,
            None => match value {
                Value::Int64(_) => Kind::Unix,
                Value::String(_) => Kind::String,
                other => {
                    return Err(TransformError::record(
                        topic,
                        format!(
                            "TimestampConverter does not support {} values as timestamps",
                            other.kind_name()
                        ),
                    ));
                }
            },
        };
        let ms = self.to_millis(kind, value, topic)?;
        self.millis_to_target(ms, topic)
    }
}

impl Transform for TimestampConverter {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(value) = self.side.value(&record) else {
            return Ok(Some(record));
        };
        let topic = record.topic.clone();
        let schema = self.side.schema(&record).cloned();
        match (schema, self.field.is_empty()) {
            (None, true) => {
                let out = self.convert(None, value, &topic)?;
                self.side.put(&mut record, None, Some(out));
            }
            (None, false) => {
                let mut entries =
                    require_map(value, &topic, "converting timestamp formats")?.to_vec();
                let converted = match map_get(&entries, &self.field).cloned().flatten() {
                    Some(v) => Some(self.convert(None, &v, &topic)?),
                    None => None,
                };
                map_put(&mut entries, &self.field, converted);
                self.side.put(&mut record, None, Some(Value::Map(entries)));
            }
            (Some(schema), true) => {
                let kind = Self::kind_of(&schema, &topic)?;
                let out_schema = self.schemas.get_or_try_insert(&schema, (), || {
                    self.target_schema(schema.is_optional())
                        .map(Arc::new)
                        .map_err(|e| TransformError::connect(&topic, e))
                })?;
                let out = self.convert(Some(kind), value, &topic)?;
                self.side.put(&mut record, Some(out_schema), Some(out));
            }
            (Some(schema), false) => {
                let s = struct_of(value, &schema, &topic, "converting timestamp formats")?;
                let target_index = schema.field(&self.field).map(|f| f.index());
                let out_schema = self.schemas.get_or_try_insert(&schema, (), || {
                    let mut b = struct_basics(&schema);
                    for f in schema.fields() {
                        if f.name() == self.field {
                            let ts = self
                                .target_schema(f.schema().is_optional())
                                .map_err(|e| TransformError::connect(&topic, e))?;
                            b = b.field(f.name(), ts);
                        } else {
                            b = b.field(f.name(), f.schema().clone());
                        }
                    }
                    if schema.is_optional() {
                        b = b.optional();
                    }
                    build(b, &topic)
                })?;
                let mut values = Vec::with_capacity(s.values().len());
                for (i, f) in schema.fields().iter().enumerate() {
                    let v = field_value(s, i, self.replace_null_with_default);
                    values.push(match v {
                        Some(v) if Some(i) == target_index => Some(self.convert(
                            Some(Self::kind_of(f.schema(), &topic)?),
                            &v,
                            &topic,
                        )?),
                        other => other,
                    });
                }
                let st = Struct::from_values_unchecked(out_schema.clone(), values);
                self.side
                    .put(&mut record, Some(out_schema), Some(Value::Struct(st)));
            }
        }
        Ok(Some(record))
    }
}
