//! `org.apache.kafka.connect.transforms.HoistField$Key` / `$Value`: wraps the
//! key or value in a struct (or map) with one field.

use std::sync::Arc;

use tidewater_connect::{ConnectRecord, Schema, SchemaBuilder, Struct, Value};

use crate::cache::{DEFAULT_CAPACITY, SchemaCache};
use crate::config::TransformOptions;
use crate::error::{Result, TransformError};
use crate::traits::Transform;
use crate::util::{Side, build};

/// `HoistField$Key` / `HoistField$Value`: `field` (required).
#[derive(Debug)]
pub struct HoistField {
    side: Side,
    field: String,
    schemas: SchemaCache<Arc<Schema>>,
}

impl HoistField {
    /// From the options of `HoistField$Key` or `$Value`.
    pub fn from_options(side: Side, opts: &mut TransformOptions) -> Result<HoistField> {
        Ok(HoistField {
            side,
            field: opts.required("field")?,
            schemas: SchemaCache::new(DEFAULT_CAPACITY),
        })
    }
}

impl Transform for HoistField {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let topic = record.topic.clone();
        let (schema, value) = self.side.take(&mut record);
        match schema {
            None => {
                let map = vec![(Value::from(self.field.as_str()), value)];
                self.side.put(&mut record, None, Some(Value::Map(map)));
            }
            Some(schema) => {
                let out = self.schemas.get_or_try_insert(&schema, (), || {
                    build(
                        SchemaBuilder::struct_().field(self.field.clone(), schema.clone()),
                        &topic,
                    )
                })?;
                let st = Struct::from_values(out.clone(), vec![value])
                    .map_err(|e| TransformError::connect(&topic, e))?;
                self.side
                    .put(&mut record, Some(out), Some(Value::Struct(st)));
            }
        }
        Ok(Some(record))
    }
}
