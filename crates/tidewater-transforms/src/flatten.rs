//! `org.apache.kafka.connect.transforms.Flatten$Key` / `$Value`: nested
//! structs (or maps) become top-level fields named `parent<delimiter>child`.

use std::sync::Arc;

use tidewater_connect::{ConnectRecord, Schema, SchemaBuilder, SchemaType, Struct, Value};

use crate::cache::{DEFAULT_CAPACITY, SchemaCache};
use crate::config::TransformOptions;
use crate::error::{Result, TransformError};
use crate::traits::Transform;
use crate::util::{
    Side, build, field_value, map_key_name, require_map, same_type_basics, struct_basics, struct_of,
};

/// `Flatten$Key` / `Flatten$Value`: `delimiter` (default `.`).
#[derive(Debug)]
pub struct Flatten {
    side: Side,
    delimiter: String,
    schemas: SchemaCache<Arc<Schema>>,
}

impl Flatten {
    /// From the options of `Flatten$Key` or `$Value`.
    pub fn from_options(side: Side, opts: &mut TransformOptions) -> Result<Flatten> {
        Ok(Flatten {
            side,
            delimiter: opts.string_or("delimiter", "."),
            schemas: SchemaCache::new(DEFAULT_CAPACITY),
        })
    }

    fn name(&self, prefix: &str, field: &str) -> String {
        if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}{}{field}", self.delimiter)
        }
    }

    /// Adds the flattened fields of `schema` to `b`. A field is optional when
    /// it or any ancestor is; a default comes from the field or from the
    /// ancestor's default struct.
    fn flatten_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        mut b: SchemaBuilder,
        optional: bool,
        parent_default: Option<&Struct>,
    ) -> std::result::Result<SchemaBuilder, tidewater_connect::ConnectError> {
        for f in schema.fields() {
            let name = self.name(prefix, f.name());
            let opt = optional || f.schema().is_optional();
            let default = f
                .schema()
                .default_value()
                .cloned()
                .or_else(|| parent_default.and_then(|d| field_value(d, f.index(), true)));
            if f.schema().schema_type() == SchemaType::Struct {
                let d = match &default {
                    Some(Value::Struct(s)) => Some(s),
                    _ => None,
                };
                b = self.flatten_schema(f.schema(), &name, b, opt, d)?;
            } else {
                let mut fb = same_type_basics(f.schema());
                if opt {
                    fb = fb.optional();
                }
                if let Some(d) = default {
                    fb = fb.default_value(d);
                }
                b = b.field(name, fb.build()?);
            }
        }
        Ok(b)
    }

    fn flatten_values(
        &self,
        schema: &Schema,
        value: Option<&Struct>,
        out: &mut Vec<Option<Value>>,
    ) {
        for f in schema.fields() {
            let v = value.and_then(|s| field_value(s, f.index(), true));
            if f.schema().schema_type() == SchemaType::Struct {
                let nested = match &v {
                    Some(Value::Struct(s)) => Some(s),
                    _ => None,
                };
                self.flatten_values(f.schema(), nested, out);
            } else {
                out.push(v);
            }
        }
    }

    fn flatten_map(
        &self,
        entries: &[(Value, Option<Value>)],
        prefix: &str,
        out: &mut Vec<(Value, Option<Value>)>,
    ) {
        for (k, v) in entries {
            let name = self.name(prefix, &map_key_name(k));
            match v {
                Some(Value::Map(inner)) => self.flatten_map(inner, &name, out),
                other => out.push((Value::from(name), other.clone())),
            }
        }
    }
}

impl Transform for Flatten {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(value) = self.side.value(&record) else {
            return Ok(Some(record));
        };
        let topic = record.topic.clone();
        match self.side.schema(&record).cloned() {
            None => {
                let entries = require_map(value, &topic, "flattening")?;
                let mut out = Vec::with_capacity(entries.len());
                self.flatten_map(entries, "", &mut out);
                self.side.put(&mut record, None, Some(Value::Map(out)));
            }
            Some(schema) => {
                let s = struct_of(value, &schema, &topic, "flattening")?;
                let out = self.schemas.get_or_try_insert(&schema, (), || {
                    let default = match schema.default_value() {
                        Some(Value::Struct(d)) => Some(d),
                        _ => None,
                    };
                    let b = self
                        .flatten_schema(
                            &schema,
                            "",
                            struct_basics(&schema),
                            schema.is_optional(),
                            default,
                        )
                        .map_err(|e| TransformError::connect(&topic, e))?;
                    build(b, &topic)
                })?;
                let mut values = Vec::with_capacity(out.fields().len());
                self.flatten_values(&schema, Some(s), &mut values);
                let st = Struct::from_values_unchecked(out.clone(), values);
                self.side
                    .put(&mut record, Some(out), Some(Value::Struct(st)));
            }
        }
        Ok(Some(record))
    }
}
