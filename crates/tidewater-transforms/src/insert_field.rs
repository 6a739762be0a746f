//! `org.apache.kafka.connect.transforms.InsertField$Key` / `$Value`: adds the
//! topic, partition, timestamp or a static string as fields.

use std::sync::Arc;

use tidewater_connect::{ConnectRecord, Schema, Struct, Value, logical};

use crate::cache::{DEFAULT_CAPACITY, SchemaCache};
use crate::config::TransformOptions;
use crate::error::{Result, TransformError};
use crate::traits::Transform;
use crate::util::{Side, build, field_value, map_put, require_map, struct_basics, struct_of};

/// A field to insert: `name` (optional), `name?` (optional) or `name!`
/// (required).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    name: String,
    optional: bool,
}

impl Spec {
    fn parse(v: &str) -> Option<Spec> {
        let (name, optional) = if let Some(n) = v.strip_suffix('!') {
            (n, false)
        } else if let Some(n) = v.strip_suffix('?') {
            (n, true)
        } else {
            (v, true)
        };
        (!name.is_empty()).then(|| Spec {
            name: name.to_string(),
            optional,
        })
    }
}

/// `InsertField$Key` / `InsertField$Value`: `topic.field`,
/// `partition.field`, `timestamp.field`, `static.field` + `static.value`
/// (field names may end in `!` for required or `?` for optional).
#[derive(Debug)]
pub struct InsertField {
    side: Side,
    topic: Option<Spec>,
    partition: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<Spec>,
    static_value: Option<String>,
    replace_null_with_default: bool,
    schemas: SchemaCache<Arc<Schema>>,
}

impl InsertField {
    /// From the options of `InsertField$Key` or `$Value`.
    pub fn from_options(side: Side, opts: &mut TransformOptions) -> Result<InsertField> {
        let spec = |o: &mut TransformOptions, name: &str| -> Result<Option<Spec>> {
            match o.string(name) {
                None => Ok(None),
                Some(v) if v.is_empty() => Ok(None),
                Some(v) => Spec::parse(&v)
                    .map(Some)
                    .ok_or_else(|| o.error(name, Some(&v), "a field name is needed before ! or ?")),
            }
        };
        let topic = spec(opts, "topic.field")?;
        let partition = spec(opts, "partition.field")?;
        if let Some(v) = opts.string("offset.field").filter(|v| !v.is_empty()) {
            return Err(opts.error(
                "offset.field",
                Some(&v),
                "offsets exist only for records read by sink connectors; these are source records",
            ));
        }
        let timestamp = spec(opts, "timestamp.field")?;
        let static_field = spec(opts, "static.field")?;
        let static_value = opts.string("static.value");
        let replace_null_with_default = opts.bool("replace.null.with.default", true)?;
        Ok(InsertField {
            side,
            topic,
            partition,
            timestamp,
            static_field,
            static_value,
            replace_null_with_default,
            schemas: SchemaCache::new(DEFAULT_CAPACITY),
        })
    }

    /// The inserted fields and their values, in Kafka's order.
    fn inserts(&self, r: &ConnectRecord) -> Vec<(&Spec, SchemaKind, Option<Value>)> {
        let mut out = Vec::new();
        if let Some(s) = &self.topic {
            out.push((s, SchemaKind::String, Some(Value::from(&*r.topic))));
        }
        if let Some(s) = &self.partition {
            out.push((s, SchemaKind::Int32, r.partition.map(Value::Int32)));
        }
        if let Some(s) = &self.timestamp {
            out.push((s, SchemaKind::Timestamp, r.timestamp.map(Value::Int64)));
        }
        if let Some(s) = &self.static_field {
            out.push((
                s,
                SchemaKind::String,
                self.static_value.as_deref().map(Value::from),
            ));
        }
        out
    }
}

#[derive(Debug, Clone, Copy)]
enum SchemaKind {
    String,
    Int32,
    Timestamp,
}

impl SchemaKind {
    fn schema(self, optional: bool) -> Result<Schema, tidewater_connect::ConnectError> {
        let b = match self {
            SchemaKind::String => tidewater_connect::SchemaBuilder::string(),
            SchemaKind::Int32 => tidewater_connect::SchemaBuilder::int32(),
            SchemaKind::Timestamp => logical::timestamp_builder(),
        };
        if optional {
            b.optional().build()
        } else {
            b.build()
        }
    }
}

impl Transform for InsertField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(value) = self.side.value(&record) else {
            return Ok(Some(record));
        };
        let inserts = self.inserts(&record);
        let topic = record.topic.clone();
        match self.side.schema(&record) {
            None => {
                let mut entries = require_map(value, &topic, "field insertion")?.to_vec();
                for (spec, _, v) in inserts {
                    map_put(&mut entries, &spec.name, v);
                }
                let schema = self.side.schema(&record).cloned();
                self.side
                    .put(&mut record, schema, Some(Value::Map(entries)));
            }
            Some(schema) => {
                let s = struct_of(value, schema, &topic, "field insertion")?;
                let out = self.schemas.get_or_try_insert(schema, (), || {
                    let mut b = struct_basics(schema);
                    for f in schema.fields() {
                        b = b.field(f.name(), f.schema().clone());
                    }
                    for (spec, kind, _) in &inserts {
                        let fs = kind
                            .schema(spec.optional)
                            .map_err(|e| TransformError::connect(&topic, e))?;
                        b = b.field(spec.name.clone(), fs);
                    }
                    build(b, &topic)
                })?;
                let mut values: Vec<Option<Value>> = (0..s.values().len())
                    .map(|i| field_value(s, i, self.replace_null_with_default))
                    .collect();
                for (spec, _, v) in inserts {
                    if v.is_none() && !spec.optional {
                        return Err(TransformError::record(
                            &topic,
                            format!("required field {:?} has no value on this record", spec.name),
                        ));
                    }
                    values.push(v);
                }
                let st = Struct::from_values_unchecked(out.clone(), values);
                self.side
                    .put(&mut record, Some(out), Some(Value::Struct(st)));
            }
        }
        Ok(Some(record))
    }
}
