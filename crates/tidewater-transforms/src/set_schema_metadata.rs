//! `org.apache.kafka.connect.transforms.SetSchemaMetadata$Key` / `$Value`:
//! sets the name and/or version of the key or value schema.

use std::sync::Arc;

use tidewater_connect::{ConnectRecord, Schema, SchemaBuilder, Struct, Value};

use crate::cache::{DEFAULT_CAPACITY, SchemaCache};
use crate::config::TransformOptions;
use crate::error::{Result, TransformError};
use crate::traits::Transform;
use crate::util::{Side, build, field_value};

/// `SetSchemaMetadata$Key` / `$Value`: `schema.name`, `schema.version`.
#[derive(Debug)]
pub struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
    schemas: SchemaCache<Arc<Schema>>,
}

impl SetSchemaMetadata {
    /// From the options of `SetSchemaMetadata$Key` or `$Value`.
    pub fn from_options(side: Side, opts: &mut TransformOptions) -> Result<SetSchemaMetadata> {
        let name = opts.string("schema.name").filter(|n| !n.is_empty());
        let version = if opts.contains("schema.version") {
            Some(
                i32::try_from(opts.int(
                    "schema.version",
                    0,
                    i64::from(i32::MIN),
                    i64::from(i32::MAX),
                )?)
                .unwrap_or(0),
            )
        } else {
            None
        };
        Ok(SetSchemaMetadata {
            side,
            name,
            version,
            replace_null_with_default: opts.bool("replace.null.with.default", true)?,
            schemas: SchemaCache::new(DEFAULT_CAPACITY),
        })
    }
}

impl Transform for SetSchemaMetadata {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let topic = record.topic.clone();
        let Some(schema) = self.side.schema(&record).cloned() else {
            if self.side.value(&record).is_none() {
                return Ok(Some(record));
            }
            return Err(TransformError::record(
                &topic,
                format!(
                    "schemaless {}s are not supported by SetSchemaMetadata",
                    self.side.noun()
                ),
            ));
        };
        let out = self.schemas.get_or_try_insert(&schema, (), || {
            let mut b = SchemaBuilder::from_schema(&schema);
            if let Some(n) = &self.name {
                b = b.name(n.clone());
            }
            if let Some(v) = self.version {
                b = b.version(v);
            }
            build(b, &topic)
        })?;
        let (_, value) = self.side.take(&mut record);
        let value = match value {
            Some(Value::Struct(s)) => {
                let values = (0..s.values().len())
                    .map(|i| field_value(&s, i, self.replace_null_with_default))
                    .collect();
                Some(Value::Struct(Struct::from_values_unchecked(
                    out.clone(),
                    values,
                )))
            }
            Some(other) => {
                // A renamed logical type (a Decimal) no longer describes its
                // value: report it rather than emit a record no converter
                // can write.
                tidewater_connect::validate(&out, Some(&other))
                    .map_err(|e| TransformError::connect(&topic, e))?;
                Some(other)
            }
            None => None,
        };
        self.side.put(&mut record, Some(out), value);
        Ok(Some(record))
    }
}
