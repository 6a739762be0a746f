//! Helpers shared by the transforms: which half of the record a `$Key` /
//! `$Value` transform works on, Kafka's `SchemaUtil.copySchemaBasics`, and
//! access to schemaless (map) values.

use std::sync::Arc;

use tidewater_connect::{ConnectRecord, Schema, SchemaBuilder, SchemaType, Struct, Value};

use crate::error::{Result, TransformError};

/// The half of a record a `$Key` or `$Value` transform works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Side {
    /// The key (`…$Key`).
    Key,
    /// The value (`…$Value`).
    Value,
}

impl Side {
    /// The class-name suffix (`$Key` / `$Value`).
    pub fn suffix(self) -> &'static str {
        match self {
            Side::Key => "$Key",
            Side::Value => "$Value",
        }
    }

    pub(crate) fn schema(self, r: &ConnectRecord) -> Option<&Arc<Schema>> {
        match self {
            Side::Key => r.key_schema.as_ref(),
            Side::Value => r.value_schema.as_ref(),
        }
    }

    pub(crate) fn value(self, r: &ConnectRecord) -> Option<&Value> {
        match self {
            Side::Key => r.key.as_ref(),
            Side::Value => r.value.as_ref(),
        }
    }

    pub(crate) fn take(self, r: &mut ConnectRecord) -> (Option<Arc<Schema>>, Option<Value>) {
        match self {
            Side::Key => (r.key_schema.take(), r.key.take()),
            Side::Value => (r.value_schema.take(), r.value.take()),
        }
    }

    pub(crate) fn put(
        self,
        r: &mut ConnectRecord,
        schema: Option<Arc<Schema>>,
        value: Option<Value>,
    ) {
        match self {
            Side::Key => {
                r.key_schema = schema;
                r.key = value;
            }
            Side::Value => {
                r.value_schema = schema;
                r.value = value;
            }
        }
    }

    /// `key` or `value`, for messages.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Side::Key => "key",
            Side::Value => "value",
        }
    }
}

/// Kafka's `copySchemaBasics(source, builder)`: name, version, doc and
/// parameters (not optionality, not the default).
pub(crate) fn copy_basics_onto(source: &Schema, mut b: SchemaBuilder) -> SchemaBuilder {
    if let Some(n) = source.name() {
        b = b.name(n);
    }
    if let Some(v) = source.version() {
        b = b.version(v);
    }
    if let Some(d) = source.doc() {
        b = b.doc(d);
    }
    if let Some(params) = source.parameters() {
        for (k, v) in params {
            b = b.parameter(k.clone(), v.clone());
        }
    }
    b
}

/// A struct builder with the basics of `source`.
pub(crate) fn struct_basics(source: &Schema) -> SchemaBuilder {
    copy_basics_onto(source, SchemaBuilder::struct_())
}

/// A builder of the same type as `source` (fields, items and map schemas
/// included) with its basics, required and without a default.
pub(crate) fn same_type_basics(source: &Schema) -> SchemaBuilder {
    let b = match source.schema_type() {
        SchemaType::Array => match source.value_schema() {
            Some(items) => SchemaBuilder::array(items.clone()),
            None => SchemaBuilder::new(SchemaType::Array),
        },
        SchemaType::Map => match (source.key_schema(), source.value_schema()) {
            (Some(k), Some(v)) => SchemaBuilder::map(k.clone(), v.clone()),
            _ => SchemaBuilder::new(SchemaType::Map),
        },
        SchemaType::Struct => {
            let mut b = SchemaBuilder::struct_();
            for f in source.fields() {
                b = b.field(f.name(), f.schema().clone());
            }
            b
        }
        t => SchemaBuilder::new(t),
    };
    copy_basics_onto(source, b)
}

/// The optional copy Debezium uses for metadata it adds (`add.fields`,
/// `add.headers`): same type and basics, optional, no default.
pub(crate) fn optional_copy(
    source: &Schema,
) -> std::result::Result<Schema, tidewater_connect::ConnectError> {
    same_type_basics(source).optional().build()
}

/// Builds a schema, turning a model error into a record error.
pub(crate) fn build(b: SchemaBuilder, topic: &str) -> Result<Arc<Schema>> {
    b.build()
        .map(Arc::new)
        .map_err(|e| TransformError::connect(topic, e))
}

/// A struct field's value; with `replace_null_with_default`, a null is
/// replaced by the field schema's default (Kafka's `Struct.get`).
pub(crate) fn field_value(
    s: &Struct,
    index: usize,
    replace_null_with_default: bool,
) -> Option<Value> {
    match s.values().get(index) {
        Some(Some(v)) => Some(v.clone()),
        _ if replace_null_with_default => s
            .schema()
            .fields()
            .get(index)
            .and_then(|f| f.schema().default_value().cloned()),
        _ => None,
    }
}

/// The struct of a schema-ful value, or a record error naming what the
/// transform needed it for (Kafka's `Requirements.requireStruct`).
pub(crate) fn require_struct<'a>(
    value: &'a Value,
    topic: &str,
    purpose: &str,
) -> Result<&'a Struct> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(TransformError::record(
            topic,
            format!(
                "only Struct objects supported for [{purpose}], found: {}",
                other.kind_name()
            ),
        )),
    }
}

/// The struct of a value whose schema is `schema`: a record error when the
/// value is not a struct or its struct has another schema.
pub(crate) fn struct_of<'a>(
    value: &'a Value,
    schema: &Arc<Schema>,
    topic: &str,
    purpose: &str,
) -> Result<&'a Struct> {
    let s = require_struct(value, topic, purpose)?;
    if Arc::ptr_eq(s.schema(), schema) || **s.schema() == **schema {
        Ok(s)
    } else {
        Err(TransformError::record(
            topic,
            format!("the struct for [{purpose}] does not have the record's schema"),
        ))
    }
}

/// The entries of a schemaless value (Kafka's `Requirements.requireMap`).
pub(crate) fn require_map<'a>(
    value: &'a Value,
    topic: &str,
    purpose: &str,
) -> Result<&'a [(Value, Option<Value>)]> {
    match value {
        Value::Map(m) => Ok(m),
        other => Err(TransformError::record(
            topic,
            format!(
                "only Map objects supported in absence of schema for [{purpose}], found: {}",
                other.kind_name()
            ),
        )),
    }
}

/// The entry of a schemaless map with a string key.
pub(crate) fn map_get<'a>(
    entries: &'a [(Value, Option<Value>)],
    name: &str,
) -> Option<&'a Option<Value>> {
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(name))
        .map(|(_, v)| v)
}

/// Sets (replacing in place, or appending) an entry of a schemaless map.
pub(crate) fn map_put(entries: &mut Vec<(Value, Option<Value>)>, name: &str, value: Option<Value>) {
    match entries.iter_mut().find(|(k, _)| k.as_str() == Some(name)) {
        Some(slot) => slot.1 = value,
        None => entries.push((Value::from(name), value)),
    }
}

/// Removes an entry of a schemaless map.
pub(crate) fn map_remove(
    entries: &mut Vec<(Value, Option<Value>)>,
    name: &str,
) -> Option<Option<Value>> {
    let i = entries.iter().position(|(k, _)| k.as_str() == Some(name))?;
    Some(entries.remove(i).1)
}

/// The key of a map entry as text (schemaless maps may have non-string
/// keys; Kafka would fail on them, here they are named by their kind).
pub(crate) fn map_key_name(k: &Value) -> String {
    match k {
        Value::String(s) => s.as_str().to_string(),
        Value::Int8(v) => v.to_string(),
        Value::Int16(v) => v.to_string(),
        Value::Int32(v) => v.to_string(),
        Value::Int64(v) => v.to_string(),
        Value::Boolean(v) => v.to_string(),
        other => other.kind_name().to_string(),
    }
}

/// Whether a value schema is a Debezium change event envelope (a struct
/// whose name ends with `.Envelope`).
pub(crate) fn is_envelope(schema: Option<&Arc<Schema>>) -> bool {
    schema.is_some_and(|s| {
        s.schema_type() == SchemaType::Struct && s.name().is_some_and(|n| n.ends_with(".Envelope"))
    })
}
