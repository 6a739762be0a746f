//! The `Converter` trait: Connect data to bytes and back.

use std::sync::Arc;

use bytes::Bytes;

use crate::error::Result;
use crate::schema::Schema;
use crate::value::Value;

/// A schema and a value read back by a converter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchemaAndValue {
    /// The schema, if the data carried one.
    pub schema: Option<Arc<Schema>>,
    /// The value (null allowed).
    pub value: Option<Value>,
}

/// Serializes record keys and values (JSON now; the trait leaves room for
/// other formats).
pub trait Converter: Send + Sync {
    /// Serializes a value with its schema. Returns `None` when both are null
    /// (a Kafka null, for example a tombstone's value).
    fn serialize(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: Option<&Value>,
    ) -> Result<Option<Bytes>>;

    /// Reads back what [`serialize`](Converter::serialize) wrote.
    fn deserialize(&self, topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue>;
}
