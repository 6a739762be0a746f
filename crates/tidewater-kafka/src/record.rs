//! What a sink ships ([`ProducerRecord`]) and what it reports back ([`Delivery`]).

use std::sync::Arc;

use bytes::Bytes;

/// One record header: a name and a nullable value, as in Kafka's record format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// Header name.
    pub key: String,
    /// Header value; `None` is a Kafka null header value.
    pub value: Option<Bytes>,
}

impl Header {
    /// A header with a value.
    pub fn new(key: impl Into<String>, value: impl Into<Bytes>) -> Self {
        Self {
            key: key.into(),
            value: Some(value.into()),
        }
    }

    /// A header with a null value.
    pub fn null(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: None,
        }
    }
}

/// A serialized record on its way to a topic.
///
/// Keys, values and header values are [`Bytes`], so handing a record to a sink copies
/// nothing; the topic is an `Arc<str>` so that a topic name built once per table is shared by
/// all its records (and by their [`Delivery`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ProducerRecord {
    /// Target topic.
    pub topic: Arc<str>,
    /// Target partition; `None` lets the sink's partitioner choose (see
    /// [`crate::partitioner`]).
    pub partition: Option<i32>,
    /// Key; `None` is a Kafka null key.
    pub key: Option<Bytes>,
    /// Value; `None` is a Kafka null value (a tombstone).
    pub value: Option<Bytes>,
    /// Headers, in order.
    pub headers: Vec<Header>,
    /// Create timestamp in milliseconds since the Unix epoch; `None` means "when sent".
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record for `topic` with null key and value, no headers and no timestamp.
    pub fn new(topic: impl Into<Arc<str>>) -> Self {
        Self {
            topic: topic.into(),
            partition: None,
            key: None,
            value: None,
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// Sets the key.
    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the value.
    pub fn value(mut self, value: impl Into<Bytes>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Appends a header with a value.
    pub fn header(mut self, key: impl Into<String>, value: impl Into<Bytes>) -> Self {
        self.headers.push(Header::new(key, value));
        self
    }

    /// Sets the create timestamp (milliseconds since the Unix epoch).
    pub fn timestamp(mut self, millis: i64) -> Self {
        self.timestamp = Some(millis);
        self
    }

    /// Sets the partition, bypassing the partitioner.
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// The size the record takes in a record batch, as the producer accounts it against
    /// `batch.size`, `max.request.size` and `buffer.memory`: key, value and header bytes plus
    /// a fixed per-record and per-header allowance for lengths, deltas and attributes.
    pub fn estimated_size(&self) -> usize {
        const RECORD_OVERHEAD: usize = 21;
        const HEADER_OVERHEAD: usize = 10;
        let body = self.key.as_ref().map_or(0, Bytes::len)
            + self.value.as_ref().map_or(0, Bytes::len)
            + self
                .headers
                .iter()
                .map(|h| h.key.len() + h.value.as_ref().map_or(0, Bytes::len) + HEADER_OVERHEAD)
                .sum::<usize>();
        body + RECORD_OVERHEAD
    }
}

/// Where a record was durably written: its topic, partition and offset.
///
/// Sinks report one delivery per record, in the order the records were sent, and only for
/// records the destination acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Delivery {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
}

/// Milliseconds since the Unix epoch, now (0 if the clock is before 1970).
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
