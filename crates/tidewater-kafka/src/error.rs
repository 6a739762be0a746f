//! Errors of the sinks and of their configuration.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A configuration key with a value the producer cannot use.
///
/// Every variant names the key, so a message points at the line of the configuration to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The value does not parse or is out of range.
    #[error("invalid value {value:?} for `{key}`: {reason}")]
    InvalidValue {
        /// The configuration key.
        key: String,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value Kafka accepts but this producer cannot honour.
    #[error("unsupported value {value:?} for `{key}`: {reason}")]
    Unsupported {
        /// The configuration key.
        key: String,
        /// The value as given.
        value: String,
        /// Why it is not supported.
        reason: String,
    },
    /// A key that another setting requires is absent.
    #[error("missing `{key}`: {reason}")]
    Missing {
        /// The missing key.
        key: String,
        /// Which setting needs it.
        reason: String,
    },
    /// A file named by a key could not be read or holds nothing usable.
    #[error("`{key}`: cannot use {}: {reason}", path.display())]
    File {
        /// The configuration key naming the file.
        key: String,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(
        key: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidValue {
            key: key.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(
        key: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::Unsupported {
            key: key.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }

    /// The configuration key the error is about.
    pub fn key(&self) -> &str {
        match self {
            Self::InvalidValue { key, .. }
            | Self::Unsupported { key, .. }
            | Self::Missing { key, .. }
            | Self::File { key, .. } => key,
        }
    }
}

/// Why a sink could not accept or deliver records.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// No broker of `bootstrap.servers` answered in time.
    #[error("cannot reach the Kafka cluster at {brokers} within {}ms: {message}", timeout.as_millis())]
    Connect {
        /// The bootstrap servers, comma separated.
        brokers: String,
        /// The time allowed (`max.block.ms`).
        timeout: Duration,
        /// The client's last error.
        message: String,
    },

    /// Fetching cluster metadata (topics and partitions) failed.
    #[error("cannot fetch metadata for topic `{topic}`: {message}")]
    Metadata {
        /// The topic being looked up.
        topic: Arc<str>,
        /// The client's error.
        message: String,
    },

    /// The topic does not exist and topic creation is disabled (`topic.creation.enable=false`).
    #[error(
        "topic `{topic}` does not exist and topic creation is disabled (topic.creation.enable=false)"
    )]
    UnknownTopic {
        /// The topic.
        topic: Arc<str>,
    },

    /// Creating a missing topic failed.
    #[error(
        "cannot create topic `{topic}` ({partitions} partitions, replication factor {replication_factor}): {message}"
    )]
    TopicCreation {
        /// The topic.
        topic: Arc<str>,
        /// Requested partition count (-1 is the broker default).
        partitions: i32,
        /// Requested replication factor (-1 is the broker default).
        replication_factor: i16,
        /// The broker's or client's message.
        message: String,
    },

    /// A record names a partition the topic does not have.
    #[error(
        "record for topic `{topic}` names partition {partition}, but the topic has {partitions} partitions"
    )]
    InvalidPartition {
        /// The topic.
        topic: Arc<str>,
        /// The partition the record asked for.
        partition: i32,
        /// The topic's partition count.
        partitions: i32,
    },

    /// A record is larger than a configured limit.
    #[error("record for topic `{topic}` is {size} bytes, larger than `{limit_key}` = {limit}")]
    RecordTooLarge {
        /// The topic.
        topic: Arc<str>,
        /// The record's size as accounted by the producer.
        size: usize,
        /// The limit.
        limit: usize,
        /// The key that sets the limit (`max.request.size` or `buffer.memory`).
        limit_key: &'static str,
    },

    /// A record cannot be represented by the producer.
    #[error("record for topic `{topic}` cannot be produced: {reason}")]
    InvalidRecord {
        /// The topic.
        topic: Arc<str>,
        /// Why.
        reason: String,
    },

    /// `send` waited `max.block.ms` for room in `buffer.memory`.
    #[error("no room in buffer.memory ({buffer_memory} bytes) for a {size}-byte record within max.block.ms ({}ms)", waited.as_millis())]
    BufferExhausted {
        /// `buffer.memory`.
        buffer_memory: usize,
        /// The record's size.
        size: usize,
        /// How long `send` waited.
        waited: Duration,
    },

    /// The broker rejected records with an error that retrying cannot fix.
    #[error("broker rejected {records} record(s) for {topic}/{partition}: {error}: {message}")]
    Broker {
        /// The topic.
        topic: Arc<str>,
        /// The partition.
        partition: i32,
        /// Records in the rejected batch.
        records: usize,
        /// The Kafka error code name (e.g. `MessageTooLarge`).
        error: String,
        /// The broker's message, or the client's description of the failure.
        message: String,
    },

    /// Records were not acknowledged within `delivery.timeout.ms` (or the configured number of
    /// `retries` ran out) while the failures were retriable.
    #[error(
        "{records} record(s) for {topic}/{partition} not delivered after {attempts} attempt(s) within delivery.timeout.ms ({}ms); last error: {last_error}",
        timeout.as_millis()
    )]
    DeliveryTimeout {
        /// The topic.
        topic: Arc<str>,
        /// The partition.
        partition: i32,
        /// Records in the undelivered batch.
        records: usize,
        /// Produce attempts made.
        attempts: u32,
        /// `delivery.timeout.ms`.
        timeout: Duration,
        /// The last error seen.
        last_error: String,
    },

    /// An earlier error failed the sink; it accepts nothing more. Deliveries acknowledged
    /// before the failure are still returned by [`Sink::acknowledged`](crate::Sink::acknowledged).
    #[error("the sink failed earlier and accepts no more records: {cause}")]
    Failed {
        /// The first error, as text.
        cause: String,
    },

    /// Writing or syncing a JSON-lines sink's output failed.
    #[error("writing to {target} failed: {source}")]
    Io {
        /// Where the sink writes (`stdout` or a file path).
        target: String,
        /// The I/O error.
        source: std::io::Error,
    },

    /// A record could not be encoded as JSON.
    #[error("encoding a record for topic `{topic}` as JSON failed: {source}")]
    Json {
        /// The topic.
        topic: Arc<str>,
        /// The encoder's error.
        source: serde_json::Error,
    },
}

/// Result alias of this crate.
pub type Result<T, E = SinkError> = std::result::Result<T, E>;
