//! `ConnectRecord`: what a source produces, transforms rewrite and a
//! converter serializes.

use std::sync::Arc;

use crate::schema::Schema;
use crate::value::Value;

/// One header of a record, with its schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Header key.
    pub key: String,
    /// Schema of the value; `None` for schemaless values.
    pub schema: Option<Arc<Schema>>,
    /// The value (null allowed).
    pub value: Option<Value>,
}

/// The headers of a record, in order (keys may repeat, as in Kafka).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers(Vec::new())
    }

    /// Appends a header.
    pub fn add(
        &mut self,
        key: impl Into<String>,
        schema: Option<Arc<Schema>>,
        value: Option<Value>,
    ) {
        self.0.push(Header {
            key: key.into(),
            schema,
            value,
        });
    }

    /// The last header with this key.
    pub fn last_with_name(&self, key: &str) -> Option<&Header> {
        self.0.iter().rev().find(|h| h.key == key)
    }

    /// Removes every header with this key.
    pub fn remove(&mut self, key: &str) {
        self.0.retain(|h| h.key != key);
    }

    /// The headers in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A record: topic, optional partition, key and value with their schemas,
/// timestamp and headers. Schemas are shared (`Arc`) between records.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectRecord {
    /// Destination topic.
    pub topic: Arc<str>,
    /// Partition, when the source chose one.
    pub partition: Option<i32>,
    /// Schema of the key.
    pub key_schema: Option<Arc<Schema>>,
    /// The key (null allowed).
    pub key: Option<Value>,
    /// Schema of the value.
    pub value_schema: Option<Arc<Schema>>,
    /// The value (null for a tombstone).
    pub value: Option<Value>,
    /// Milliseconds since the epoch.
    pub timestamp: Option<i64>,
    /// Headers.
    pub headers: Headers,
}

impl ConnectRecord {
    /// A record without partition, timestamp or headers.
    pub fn new(
        topic: Arc<str>,
        key_schema: Option<Arc<Schema>>,
        key: Option<Value>,
        value_schema: Option<Arc<Schema>>,
        value: Option<Value>,
    ) -> ConnectRecord {
        ConnectRecord {
            topic,
            partition: None,
            key_schema,
            key,
            value_schema,
            value,
            timestamp: None,
            headers: Headers::new(),
        }
    }

    /// Whether this is a tombstone (null value).
    pub fn is_tombstone(&self) -> bool {
        self.value.is_none()
    }
}
