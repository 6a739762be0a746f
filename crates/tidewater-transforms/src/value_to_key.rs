//! `org.apache.kafka.connect.transforms.ValueToKey`: the key becomes a
//! struct (or map) of fields copied from the value.

use std::sync::Arc;

use tidewater_connect::{ConnectRecord, Schema, SchemaBuilder, Struct, Value};

use crate::cache::{DEFAULT_CAPACITY, SchemaCache};
use crate::config::TransformOptions;
use crate::error::{Result, TransformError};
use crate::traits::Transform;
use crate::util::{build, field_value, map_get, require_map, struct_of};

/// `ValueToKey`: `fields` (required).
#[derive(Debug)]
pub struct ValueToKey {
    fields: Vec<String>,
    replace_null_with_default: bool,
    schemas: SchemaCache<(Arc<Schema>, Arc<[usize]>)>,
}

impl ValueToKey {
    /// From `fields`.
    pub fn from_options(opts: &mut TransformOptions) -> Result<ValueToKey> {
        Ok(ValueToKey {
            fields: opts.required_list("fields")?,
            replace_null_with_default: opts.bool("replace.null.with.default", true)?,
            schemas: SchemaCache::new(DEFAULT_CAPACITY),
        })
    }
}

impl Transform for ValueToKey {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(value) = &record.value else {
            return Ok(Some(record));
        };
        let topic = record.topic.clone();
        match record.value_schema.clone() {
            None => {
                let entries = require_map(value, &topic, "copying fields from value to key")?;
                let key = self
                    .fields
                    .iter()
                    .map(|f| {
                        (
                            Value::from(f.as_str()),
                            map_get(entries, f).cloned().flatten(),
                        )
                    })
                    .collect();
                record.key_schema = None;
                record.key = Some(Value::Map(key));
            }
            Some(schema) => {
                let s = struct_of(value, &schema, &topic, "copying fields from value to key")?;
                let (key_schema, indexes) = self.schemas.get_or_try_insert(&schema, (), || {
                    let mut b = SchemaBuilder::struct_();
                    let mut idx = Vec::new();
                    for name in &self.fields {
                        let f = schema.field(name).ok_or_else(|| {
                            TransformError::record(&topic, format!("field does not exist: {name}"))
                        })?;
                        b = b.field(name.clone(), f.schema().clone());
                        idx.push(f.index());
                    }
                    Ok::<_, TransformError>((build(b, &topic)?, Arc::from(idx)))
                })?;
                let values = indexes
                    .iter()
                    .map(|i| field_value(s, *i, self.replace_null_with_default))
                    .collect();
                record.key = Some(Value::Struct(Struct::from_values_unchecked(
                    key_schema.clone(),
                    values,
                )));
                record.key_schema = Some(key_schema);
            }
        }
        Ok(Some(record))
    }
}
