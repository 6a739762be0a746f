//! Runtime settings: what the pipeline itself does beyond the source, the
//! envelope, the transforms, the converters and the sink.
//!
//! [`RuntimeSettings`] is plain data: build it in code, or let
//! [`crate::config::ConnectorConfig`] read it from connector JSON.

use std::path::PathBuf;
use std::time::Duration;

/// Settings of the pipeline runtime. `Default` gives Debezium's and Kafka
/// Connect's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeSettings {
    /// `name`: the connector's name (offset keys, dead-letter context headers).
    pub name: String,
    /// `heartbeat.interval.ms`: `None` (0) disables heartbeats.
    pub heartbeat_interval: Option<Duration>,
    /// `heartbeat.action.query`: SQL run on the source database at every heartbeat.
    pub heartbeat_action_query: Option<String>,
    /// `event.processing.failure.handling.mode`.
    pub failure_handling: FailureHandling,
    /// `errors.tolerance`.
    pub errors_tolerance: ErrorTolerance,
    /// `errors.log.enable`: log every tolerated failure.
    pub errors_log_enable: bool,
    /// `errors.log.include.messages`: include the record's topic, key and position in
    /// those logs.
    pub errors_log_include_messages: bool,
    /// `errors.deadletterqueue.topic.name` and friends; `None` when unset.
    pub dead_letter_queue: Option<DeadLetterQueue>,
    /// `errors.retry.timeout` (ms): how long transient failures of PostgreSQL or Kafka
    /// are retried; `None` (-1) retries forever.
    pub retry_timeout: Option<Duration>,
    /// `errors.retry.delay.max.ms`: the longest pause between retries (backoff cap).
    pub retry_delay_max: Duration,
    /// `max.queue.size`: events buffered between the source and the converter.
    pub max_queue_size: usize,
    /// `max.batch.size`: events handed from stage to stage at once.
    pub max_batch_size: usize,
    /// `max.queue.size.in.bytes`: bound on the bytes of serialized records waiting for
    /// the sink; 0 leaves only `max.queue.size`.
    pub max_queue_size_in_bytes: usize,
    /// `offset.flush.interval.ms`: how often the offset store is written.
    pub offset_flush_interval: Duration,
    /// Where offsets live (`offset.storage.file.filename`, `offset.storage.topic`).
    pub offset_storage: OffsetStorage,
    /// `tidewater.position.headers`: add the position headers
    /// ([`crate::POSITION_HEADER`]) to every record.
    pub position_headers: bool,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self {
            name: "tidewater".to_owned(),
            heartbeat_interval: None,
            heartbeat_action_query: None,
            failure_handling: FailureHandling::Fail,
            errors_tolerance: ErrorTolerance::None,
            errors_log_enable: false,
            errors_log_include_messages: false,
            dead_letter_queue: None,
            retry_timeout: None,
            retry_delay_max: Duration::from_secs(60),
            max_queue_size: 8192,
            max_batch_size: 2048,
            max_queue_size_in_bytes: 0,
            offset_flush_interval: Duration::from_secs(60),
            offset_storage: OffsetStorage::Memory,
            position_headers: true,
        }
    }
}

/// `event.processing.failure.handling.mode`: what happens when an event cannot
/// be turned into a record (envelope building).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailureHandling {
    /// Stop the pipeline with the error (Debezium's default).
    #[default]
    Fail,
    /// Log the event's position and the error, skip the event.
    Warn,
    /// Skip the event silently.
    Skip,
}

/// `errors.tolerance`: what happens when a record fails a transform or a converter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ErrorTolerance {
    /// Stop the pipeline with the error (Kafka Connect's default).
    #[default]
    None,
    /// Skip the record, sending it to the dead-letter topic when one is configured.
    All,
}

/// The dead-letter topic for records that fail a transform or a converter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetterQueue {
    /// `errors.deadletterqueue.topic.name`.
    pub topic: String,
    /// `errors.deadletterqueue.topic.replication.factor` (default 3).
    pub replication_factor: i16,
    /// `errors.deadletterqueue.context.headers.enable`: add the `__connect.errors.*`
    /// headers (default false in Kafka Connect; the error headers are always added).
    pub context_headers: bool,
}

impl DeadLetterQueue {
    /// A dead-letter topic with Kafka Connect's defaults.
    pub fn new(topic: impl Into<String>) -> Self {
        Self {
            topic: topic.into(),
            replication_factor: 3,
            context_headers: false,
        }
    }
}

/// Where the offset store keeps snapshot progress and the last delivered position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OffsetStorage {
    /// In memory only: nothing survives the process (the replication slot still does).
    #[default]
    Memory,
    /// `offset.storage.file.filename`: a local file, written atomically.
    File(PathBuf),
    /// `offset.storage.topic`: a compacted Kafka topic.
    Topic {
        /// The topic's name.
        topic: String,
        /// `offset.storage.partitions` (default 25).
        partitions: i32,
        /// `offset.storage.replication.factor` (default 3).
        replication_factor: i16,
    },
}
