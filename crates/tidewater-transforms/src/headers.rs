//! Header transforms: `InsertHeader`, `DropHeaders`, `HeaderFrom$Key` /
//! `$Value`.

use std::sync::Arc;

use tidewater_connect::{ConnectRecord, Schema, Struct, Value};

use crate::cache::{DEFAULT_CAPACITY, SchemaCache};
use crate::config::TransformOptions;
use crate::error::{Result, TransformError};
use crate::javatext::parse_literal;
use crate::traits::Transform;
use crate::util::{
    Side, build, field_value, map_get, map_remove, require_map, struct_basics, struct_of,
};

/// `org.apache.kafka.connect.transforms.InsertHeader`: adds `header` with
/// `value.literal`, typed as Kafka's `Values.parseString` types it.
#[derive(Debug)]
pub struct InsertHeader {
    header: String,
    schema: Option<Arc<Schema>>,
    value: Option<Value>,
}

impl InsertHeader {
    /// From `header` and `value.literal` (both required).
    pub fn from_options(opts: &mut TransformOptions) -> Result<InsertHeader> {
        let header = opts.required("header")?;
        let Some(literal) = opts.string("value.literal") else {
            return Err(opts.error("value.literal", None, "missing required option"));
        };
        let (schema, value) = parse_literal(&literal);
        Ok(InsertHeader {
            header,
            schema,
            value,
        })
    }
}

impl Transform for InsertHeader {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        record
            .headers
            .add(self.header.clone(), self.schema.clone(), self.value.clone());
        Ok(Some(record))
    }
}

/// `org.apache.kafka.connect.transforms.DropHeaders`: removes every header
/// named in `headers`.
#[derive(Debug)]
pub struct DropHeaders {
    headers: Vec<String>,
}

impl DropHeaders {
    /// From `headers` (required).
    pub fn from_options(opts: &mut TransformOptions) -> Result<DropHeaders> {
        Ok(DropHeaders {
            headers: opts.required_list("headers")?,
        })
    }
}

impl Transform for DropHeaders {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        for h in &self.headers {
            record.headers.remove(h);
        }
        Ok(Some(record))
    }
}

/// `org.apache.kafka.connect.transforms.HeaderFrom$Key` / `$Value`: copies
/// or moves `fields` into `headers` (same number of names).
#[derive(Debug)]
pub struct HeaderFrom {
    side: Side,
    fields: Vec<String>,
    headers: Vec<String>,
    move_fields: bool,
    replace_null_with_default: bool,
    schemas: SchemaCache<(Arc<Schema>, Arc<[usize]>)>,
}

impl HeaderFrom {
    /// From the options of `HeaderFrom$Key` or `$Value`: `fields`,
    /// `headers`, `operation` (`move` or `copy`).
    pub fn from_options(side: Side, opts: &mut TransformOptions) -> Result<HeaderFrom> {
        let fields = opts.required_list("fields")?;
        let headers = opts.required_list("headers")?;
        if fields.len() != headers.len() {
            return Err(opts.error(
                "headers",
                Some(&headers.join(",")),
                format!(
                    "must name as many headers as fields ({} fields, {} headers)",
                    fields.len(),
                    headers.len()
                ),
            ));
        }
        if !opts.contains("operation") {
            return Err(opts.error("operation", None, "missing required option (move or copy)"));
        }
        let op = opts.choice("operation", &["move", "copy"], "copy")?;
        Ok(HeaderFrom {
            side,
            fields,
            headers,
            move_fields: op == "move",
            replace_null_with_default: opts.bool("replace.null.with.default", true)?,
            schemas: SchemaCache::new(DEFAULT_CAPACITY),
        })
    }
}

impl Transform for HeaderFrom {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(value) = self.side.value(&record) else {
            return Ok(Some(record));
        };
        let topic = record.topic.clone();
        match self.side.schema(&record).cloned() {
            None => {
                let mut entries = require_map(value, &topic, "header from")?.to_vec();
                for (f, h) in self.fields.iter().zip(&self.headers) {
                    let v = map_get(&entries, f).cloned().flatten();
                    record.headers.add(h.clone(), None, v);
                }
                if self.move_fields {
                    for f in &self.fields {
                        map_remove(&mut entries, f);
                    }
                    self.side.put(&mut record, None, Some(Value::Map(entries)));
                }
            }
            Some(schema) => {
                let s = struct_of(value, &schema, &topic, "header from")?.clone();
                for (f, h) in self.fields.iter().zip(&self.headers) {
                    let field = schema.field(f).ok_or_else(|| {
                        TransformError::record(
                            &topic,
                            format!("{f} is not a field of the {}", self.side.noun()),
                        )
                    })?;
                    let v = field_value(&s, field.index(), self.replace_null_with_default);
                    record
                        .headers
                        .add(h.clone(), Some(field.schema().clone()), v);
                }
                if self.move_fields {
                    let (out, kept) = self.schemas.get_or_try_insert(&schema, (), || {
                        let mut b = struct_basics(&schema);
                        let mut kept = Vec::new();
                        for f in schema.fields() {
                            if !self.fields.iter().any(|x| x == f.name()) {
                                b = b.field(f.name(), f.schema().clone());
                                kept.push(f.index());
                            }
                        }
                        Ok::<_, TransformError>((build(b, &topic)?, Arc::from(kept)))
                    })?;
                    let values = kept
                        .iter()
                        .map(|i| field_value(&s, *i, self.replace_null_with_default))
                        .collect();
                    let st = Struct::from_values_unchecked(out.clone(), values);
                    self.side
                        .put(&mut record, Some(out), Some(Value::Struct(st)));
                }
            }
        }
        Ok(Some(record))
    }
}
