//! The outbox router's `table.expand.json.payload`: a JSON string payload
//! becomes a struct whose schema is inferred from the document, as
//! Debezium's `JsonSchemaData` infers it (every schema optional; integers
//! that fit an `int` are `int32`, larger ones `int64`, other numbers
//! `float64`; an object is a struct named after its path; empty arrays and
//! nulls are left out, or nulls become optional bytes).
//!
//! The document is read with `serde_json` into an ordered tree (objects keep
//! their key order, as Jackson's do).

use std::fmt;
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use tidewater_connect::{ConnectError, Schema, SchemaBuilder, SchemaType, Struct, Value};

use crate::routers::NameAdjustment;

/// A JSON document with object keys in document order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer beyond `i64` (Jackson's `BigInteger`).
    BigInt,
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(i64::try_from(v).map(Json::Int).unwrap_or(Json::BigInt))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Json>()? {
            items.push(item);
        }
        Ok(Json::Arr(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries: Vec<(String, Json)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Json>()? {
            match entries.iter_mut().find(|(ek, _)| *ek == k) {
                Some(slot) => slot.1 = v,
                None => entries.push((k, v)),
            }
        }
        Ok(Json::Obj(entries))
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

/// Why an expansion did not happen (the payload is then kept as it was).
pub(crate) type Failure = String;

/// Options of the expansion.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expander {
    pub(crate) null_as_bytes: bool,
    pub(crate) names: NameAdjustment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Number,
    Str,
    Arr,
    Obj,
}

fn kind(j: &Json) -> Kind {
    match j {
        Json::Null => Kind::Null,
        Json::Bool(_) => Kind::Bool,
        Json::Int(_) | Json::BigInt | Json::Float(_) => Kind::Number,
        Json::Str(_) => Kind::Str,
        Json::Arr(_) => Kind::Arr,
        Json::Obj(_) => Kind::Obj,
    }
}

fn opt(t: SchemaType) -> Arc<Schema> {
    Arc::new(Schema::optional_of(t))
}

fn err(e: ConnectError) -> Failure {
    e.to_string()
}

impl Expander {
    /// Parses and converts a payload string; `None` with the reason when it
    /// is not a JSON object (or cannot be typed).
    pub(crate) fn expand(&self, name: &str, text: &str) -> Result<(Arc<Schema>, Value), Failure> {
        if !text.starts_with('{') && !text.starts_with('[') {
            return Err(format!(
                "payload starts with {:?}, not a JSON object",
                text.chars().next()
            ));
        }
        let doc: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let schema = self
            .schema(Some(name), &doc)?
            .ok_or_else(|| "the payload has no typed content".to_string())?;
        if schema.schema_type() != SchemaType::Struct {
            return Err("only JSON objects are expanded".into());
        }
        let value = self.value(&doc, &schema)?;
        Ok((schema, value.ok_or_else(|| "empty payload".to_string())?))
    }

    /// The inferred schema of a node (`None`: left out).
    fn schema(&self, key: Option<&str>, node: &Json) -> Result<Option<Arc<Schema>>, Failure> {
        Ok(match node {
            Json::Str(_) => Some(opt(SchemaType::String)),
            Json::Bool(_) => Some(opt(SchemaType::Boolean)),
            Json::Int(v) if i32::try_from(*v).is_ok() => Some(opt(SchemaType::Int32)),
            Json::Int(_) => Some(opt(SchemaType::Int64)),
            Json::BigInt | Json::Float(_) => Some(opt(SchemaType::Float64)),
            Json::Null => self.null_as_bytes.then(|| opt(SchemaType::Bytes)),
            Json::Arr(items) if items.is_empty() => None,
            Json::Arr(items) => {
                let item = self.array_item_schema(key, items)?;
                Some(Arc::new(
                    SchemaBuilder::array(item).optional().build().map_err(err)?,
                ))
            }
            Json::Obj(entries) => {
                let mut b = SchemaBuilder::struct_().optional();
                if let Some(k) = key {
                    b = b.name(k);
                }
                let mut seen: Vec<String> = Vec::new();
                for (k, v) in entries {
                    let field = self.names.adjust(k);
                    // Java concatenates a missing parent name as "null".
                    let path = format!("{}.{field}", key.unwrap_or("null"));
                    let Some(s) = self.schema(Some(&path), v)? else {
                        continue;
                    };
                    if seen.contains(&field) {
                        continue;
                    }
                    seen.push(field.clone());
                    b = b.field(field, s);
                }
                Some(Arc::new(b.build().map_err(err)?))
            }
        })
    }

    fn array_item_schema(&self, key: Option<&str>, items: &[Json]) -> Result<Arc<Schema>, Failure> {
        let mut reference: Option<&Json> = None;
        let mut ref_number: Option<Option<Arc<Schema>>> = None;
        for item in items.iter().filter(|i| **i != Json::Null) {
            let r = *reference.get_or_insert(item);
            if kind(item) != kind(r) {
                return Err("the array is not homogeneous".into());
            }
            if kind(r) == Kind::Number {
                let rs = match &ref_number {
                    Some(s) => s.clone(),
                    None => {
                        let s = self.schema(None, r)?;
                        ref_number = Some(s.clone());
                        s
                    }
                };
                if rs != self.schema(None, item)? {
                    return Err("the array mixes number types".into());
                }
            }
        }
        match reference {
            Some(Json::Obj(_)) => {
                let mut merged: Option<Arc<Schema>> = None;
                for item in items.iter().filter(|i| matches!(i, Json::Obj(_))) {
                    if let Some(s) = self.schema(key, item)? {
                        merged = Some(match merged {
                            None => s,
                            Some(m) => merge(&m, &s)?,
                        });
                    }
                }
                merged.ok_or_else(|| "array of objects without a schema".to_string())
            }
            Some(sample) => self
                .schema(None, sample)?
                .ok_or_else(|| "array has an unrecognized member schema".to_string()),
            None => {
                if self.null_as_bytes {
                    Ok(opt(SchemaType::Bytes))
                } else {
                    Err("array has an unrecognized member schema".into())
                }
            }
        }
    }

    /// The value of a node for an inferred schema.
    fn value(&self, node: &Json, schema: &Arc<Schema>) -> Result<Option<Value>, Failure> {
        Ok(match (node, schema.schema_type()) {
            (Json::Null, _) => None,
            (Json::Str(s), SchemaType::String) => Some(Value::from(s.as_str())),
            (Json::Bool(b), SchemaType::Boolean) => Some(Value::Boolean(*b)),
            (Json::Int(v), SchemaType::Int32) => {
                Some(Value::Int32(i32::try_from(*v).map_err(|e| e.to_string())?))
            }
            (Json::Int(v), SchemaType::Int64) => Some(Value::Int64(*v)),
            (Json::Float(v), SchemaType::Float64) => Some(Value::Float64(*v)),
            (Json::Arr(items), SchemaType::Array) => {
                let item_schema = schema.value_schema().ok_or("array without item schema")?;
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.value(i, item_schema)?);
                }
                Some(Value::Array(out))
            }
            (Json::Obj(entries), SchemaType::Struct) => {
                let mut values = Vec::with_capacity(schema.fields().len());
                for f in schema.fields() {
                    let v = entries
                        .iter()
                        .find(|(k, _)| self.names.adjust(k) == f.name())
                        .map(|(_, v)| self.value(v, f.schema()))
                        .transpose()?
                        .flatten();
                    values.push(v);
                }
                Some(Value::Struct(
                    Struct::from_values(schema.clone(), values).map_err(err)?,
                ))
            }
            (other, t) => {
                return Err(format!(
                    "a JSON {:?} does not fit the inferred {t}",
                    kind(other)
                ));
            }
        })
    }
}

/// Debezium's merge of the schemas of an array's objects: fields of both,
/// in order; a bytes field (from a null) gives way to a typed one.
fn merge(left: &Arc<Schema>, right: &Arc<Schema>) -> Result<Arc<Schema>, Failure> {
    let mut fields: Vec<(String, Arc<Schema>)> = left
        .fields()
        .iter()
        .map(|f| (f.name().to_string(), f.schema().clone()))
        .collect();
    for f in right.fields() {
        match fields.iter_mut().find(|(n, _)| n == f.name()) {
            None => fields.push((f.name().to_string(), f.schema().clone())),
            Some(slot) => {
                if slot.1 != *f.schema()
                    && slot.1.schema_type() == SchemaType::Bytes
                    && f.schema().schema_type() != SchemaType::Bytes
                {
                    slot.1 = f.schema().clone();
                }
            }
        }
    }
    let mut b = crate::util::same_type_basics(&Schema::of(SchemaType::Struct));
    if let Some(n) = left.name() {
        b = b.name(n);
    }
    if left.is_optional() {
        b = b.optional();
    }
    for (n, s) in fields {
        b = b.field(n, s);
    }
    Ok(Arc::new(b.build().map_err(err)?))
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "test fixtures"
    )]
    use super::*;

    fn expander() -> Expander {
        Expander {
            null_as_bytes: false,
            names: NameAdjustment::None,
        }
    }

    #[test]
    fn infers_like_debezium() {
        let (schema, value) = expander()
            .expand(
                "payload",
                r#"{"id": 1, "big": 10000000000, "price": 39.98, "ok": true, "name": "x", "none": null, "empty": [],
                    "items": [{"a": 1}, {"b": "y"}], "nums": [1, 2], "nested": {"z": 2}}"#,
            )
            .unwrap();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            [
                "id", "big", "price", "ok", "name", "items", "nums", "nested"
            ]
        );
        assert_eq!(schema.name(), Some("payload"));
        assert!(schema.is_optional());
        assert_eq!(
            schema.field("id").unwrap().schema().schema_type(),
            SchemaType::Int32
        );
        assert_eq!(
            schema.field("big").unwrap().schema().schema_type(),
            SchemaType::Int64
        );
        assert_eq!(
            schema.field("price").unwrap().schema().schema_type(),
            SchemaType::Float64
        );
        let items = schema
            .field("items")
            .unwrap()
            .schema()
            .value_schema()
            .unwrap();
        assert_eq!(items.name(), Some("payload.items"));
        assert_eq!(items.fields().len(), 2);
        assert_eq!(
            schema.field("nested").unwrap().schema().name(),
            Some("payload.nested")
        );
        tidewater_connect::validate(&schema, Some(&value)).unwrap();
    }

    #[test]
    fn failures_keep_the_payload() {
        let e = expander();
        assert!(e.expand("p", "not json").is_err());
        assert!(e.expand("p", "{broken").is_err());
        assert!(
            e.expand("p", "[1, 2]").is_err(),
            "top-level arrays stay strings"
        );
        assert!(e.expand("p", r#"{"a": [1, "x"]}"#).is_err());
        assert!(e.expand("p", r#"{"a": [1, 10000000000]}"#).is_err());
        assert!(e.expand("p", r#"{"a": [null]}"#).is_err());
        let bytes = Expander {
            null_as_bytes: true,
            names: NameAdjustment::None,
        };
        let (s, _) = bytes.expand("p", r#"{"a": null}"#).unwrap();
        assert_eq!(
            s.field("a").unwrap().schema().schema_type(),
            SchemaType::Bytes
        );
    }
}
