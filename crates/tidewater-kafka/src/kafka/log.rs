//! [`TopicLog`]: one partition of a small topic read back from its start, and single records
//! appended to it — what a compacted bookkeeping topic (such as Kafka Connect's
//! `offset.storage.topic`) needs, beside the batching [`KafkaSink`](super::KafkaSink).

use std::collections::BTreeMap;
use std::time::Duration;

use rskafka::BackoffConfig;
use rskafka::client::error::{Error as ClientError, ProtocolError};
use rskafka::client::partition::{Compression, OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;
use tokio::time::Instant;
use tracing::{debug, info};

use super::{client_error_message, describe_configs, tls, wire_sasl};
use crate::config::ProducerConfig;
use crate::error::ConfigError;
use crate::record::now_millis;

/// Upper bound of the bytes one fetch asks for.
const FETCH_BYTES: i32 = 4 * 1024 * 1024;

/// How long one fetch waits on the broker for data.
const FETCH_WAIT_MS: i32 = 200;

/// Empty fetches in a row below the high watermark before reading gives up.
const MAX_EMPTY_FETCHES: u32 = 25;

/// How often a freshly created topic's metadata is polled until it shows up.
const TOPIC_POLL: Duration = Duration::from_millis(50);

/// Why a [`TopicLog`] operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TopicLogError {
    /// The configuration is invalid (or names no broker).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No broker of `bootstrap.servers` answered in time.
    #[error("cannot reach the Kafka cluster at {brokers}: {message}")]
    Connect {
        /// The bootstrap servers, comma separated.
        brokers: String,
        /// The client's error.
        message: String,
    },
    /// An operation on a topic (metadata, creation) failed.
    #[error("topic `{topic}`: {operation} failed: {message}")]
    Topic {
        /// The topic.
        topic: String,
        /// What was attempted (`metadata`, `create`).
        operation: &'static str,
        /// The broker's or client's message.
        message: String,
    },
    /// An operation on a partition (fetch, list offsets, produce) failed.
    #[error("topic `{topic}` partition {partition}: {operation} failed: {message}")]
    Partition {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// What was attempted (`connect`, `list offsets`, `fetch`, `produce`).
        operation: &'static str,
        /// The broker's or client's message.
        message: String,
    },
}

/// A record read back by [`TopicLog::read_partition`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogRecord {
    /// The record's offset in its partition.
    pub offset: i64,
    /// The key; `None` for a null key.
    pub key: Option<Vec<u8>>,
    /// The value; `None` for a null value (a tombstone).
    pub value: Option<Vec<u8>>,
}

/// Reads partitions back and appends single records, with the connection settings of a
/// [`ProducerConfig`] (brokers, client id, TLS, SASL, timeouts).
///
/// Meant for small compacted topics read whole at start-up and written rarely, like an
/// offset store: [`read_partition`](Self::read_partition) returns every record from the
/// partition's start up to its end at the time of the call, and
/// [`append`](Self::append) produces one record with `acks=all` and returns once the broker
/// acknowledged it. For change records use [`KafkaSink`](super::KafkaSink).
///
/// Every call is bounded by `max.block.ms`.
#[derive(Debug)]
pub struct TopicLog {
    client: Client,
    max_block: Duration,
    request_timeout_ms: i32,
}

impl TopicLog {
    /// Connects to `bootstrap.servers` (waiting at most `max.block.ms`).
    pub async fn connect(config: &ProducerConfig) -> Result<Self, TopicLogError> {
        config.validate()?;
        if !config.has_brokers() {
            return Err(ConfigError::Missing {
                key: "bootstrap.servers".to_owned(),
                reason: "reading a Kafka topic needs at least one broker".to_owned(),
            }
            .into());
        }
        let brokers = config.bootstrap_servers.join(",");
        let backoff = BackoffConfig {
            init_backoff: config.retry_backoff.max(Duration::from_millis(1)),
            max_backoff: config
                .retry_backoff_max
                .max(config.retry_backoff)
                .max(Duration::from_millis(2)),
            base: 2.0,
            deadline: Some(config.request_timeout),
        };
        let mut builder = ClientBuilder::new(config.bootstrap_servers.clone())
            .client_id(config.client_id.as_str())
            .backoff_config(backoff);
        if config.security_protocol.uses_tls() {
            builder = builder.tls_config(tls::client_config(&config.tls)?);
        }
        if let Some(sasl) = wire_sasl(config) {
            builder = builder.sasl_config(sasl);
        }
        let client = match tokio::time::timeout(config.max_block, builder.build()).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                return Err(TopicLogError::Connect {
                    brokers,
                    message: client_error_message(&e),
                });
            }
            Err(_) => {
                return Err(TopicLogError::Connect {
                    brokers,
                    message: format!(
                        "no metadata answer within max.block.ms ({} ms)",
                        config.max_block.as_millis()
                    ),
                });
            }
        };
        Ok(Self {
            client,
            max_block: config.max_block,
            request_timeout_ms: i32::try_from(config.request_timeout.as_millis())
                .unwrap_or(i32::MAX),
        })
    }

    async fn bounded<T>(
        &self,
        future: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, String> {
        match tokio::time::timeout(self.max_block, future).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(client_error_message(&e)),
            Err(_) => Err(format!(
                "no answer within max.block.ms ({} ms)",
                self.max_block.as_millis()
            )),
        }
    }

    /// The number of partitions of `topic`, `None` when it does not exist.
    pub async fn partitions(&self, topic: &str) -> Result<Option<i32>, TopicLogError> {
        let topics = self
            .bounded(self.client.list_topics())
            .await
            .map_err(|message| TopicLogError::Topic {
                topic: topic.to_owned(),
                operation: "metadata",
                message,
            })?;
        Ok(topics
            .into_iter()
            .find(|t| t.name == topic)
            .map(|t| i32::try_from(t.partitions.len()).unwrap_or(i32::MAX))
            .filter(|&n| n > 0))
    }

    /// Creates `topic` and waits until its metadata shows it; a topic that already exists
    /// is fine. Returns its partition count.
    ///
    /// The topic gets the broker's default topic configs; see
    /// [`create_topic_with_configs`](Self::create_topic_with_configs) to set some.
    pub async fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> Result<i32, TopicLogError> {
        self.create_topic_with_configs(topic, partitions, replication_factor, &BTreeMap::new())
            .await
    }

    /// Creates `topic` with the topic-level `configs` (such as `cleanup.policy=compact`)
    /// and waits until its metadata shows it; configs not given take the broker's defaults.
    /// A topic that already exists is fine and left as it is (its configs are not changed).
    /// Returns its partition count.
    pub async fn create_topic_with_configs(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &BTreeMap<String, String>,
    ) -> Result<i32, TopicLogError> {
        let described = describe_configs(configs);
        let error = |message: String| TopicLogError::Topic {
            topic: topic.to_owned(),
            operation: "create",
            message: if described.is_empty() {
                message
            } else {
                format!("{message} (topic configs: {described})")
            },
        };
        let controller = self
            .client
            .controller_client()
            .map_err(|e| error(client_error_message(&e)))?;
        let created = tokio::time::timeout(
            self.max_block,
            controller.create_topic_with_configs(
                topic,
                partitions,
                replication_factor,
                configs
                    .iter()
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect(),
                self.request_timeout_ms,
            ),
        )
        .await
        .map_err(|_| error("no answer within max.block.ms".to_owned()))?;
        match created {
            Ok(()) => info!(
                topic,
                partitions,
                replication_factor,
                configs = %described,
                "created topic"
            ),
            Err(ClientError::ServerError {
                protocol_error: ProtocolError::TopicAlreadyExists,
                ..
            }) => debug!(topic, "topic already exists"),
            Err(e) => return Err(error(client_error_message(&e))),
        }
        let deadline = Instant::now() + self.max_block;
        loop {
            if let Some(n) = self.partitions(topic).await? {
                return Ok(n);
            }
            if Instant::now() >= deadline {
                return Err(error(
                    "created, but absent from metadata until max.block.ms".to_owned(),
                ));
            }
            tokio::time::sleep(TOPIC_POLL).await;
        }
    }

    async fn partition_client(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<PartitionClient, TopicLogError> {
        self.bounded(
            self.client
                .partition_client(topic, partition, UnknownTopicHandling::Error),
        )
        .await
        .map_err(|message| TopicLogError::Partition {
            topic: topic.to_owned(),
            partition,
            operation: "connect",
            message,
        })
    }

    /// Every record of `topic`'s `partition` from its earliest offset up to its end (the high
    /// watermark when the call started), in offset order. Records removed by compaction or
    /// retention are, naturally, absent.
    pub async fn read_partition(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Vec<LogRecord>, TopicLogError> {
        let client = self.partition_client(topic, partition).await?;
        let error = |operation: &'static str, message: String| TopicLogError::Partition {
            topic: topic.to_owned(),
            partition,
            operation,
            message,
        };
        let start = self
            .bounded(client.get_offset(OffsetAt::Earliest))
            .await
            .map_err(|m| error("list offsets", m))?;
        let end = self
            .bounded(client.get_offset(OffsetAt::Latest))
            .await
            .map_err(|m| error("list offsets", m))?;
        let mut records = Vec::new();
        let mut next = start;
        let mut empty = 0_u32;
        while next < end {
            let (batch, high_watermark) = self
                .bounded(client.fetch_records(next, 1..FETCH_BYTES, FETCH_WAIT_MS))
                .await
                .map_err(|m| error("fetch", format!("at offset {next}: {m}")))?;
            let before = next;
            for r in batch {
                if r.offset < next {
                    continue;
                }
                if r.offset >= end {
                    next = end;
                    break;
                }
                next = r.offset.saturating_add(1);
                records.push(LogRecord {
                    offset: r.offset,
                    key: r.record.key,
                    value: r.record.value,
                });
            }
            if next == before {
                if high_watermark <= next {
                    break;
                }
                empty += 1;
                if empty >= MAX_EMPTY_FETCHES {
                    return Err(error(
                        "fetch",
                        format!(
                            "no records from offset {next} although the partition ends at {end}"
                        ),
                    ));
                }
            } else {
                empty = 0;
            }
        }
        Ok(records)
    }

    /// Appends one record to `topic`'s `partition` with `acks=all` and returns its offset
    /// once the broker acknowledged it. A `None` value writes a tombstone.
    pub async fn append(
        &self,
        topic: &str,
        partition: i32,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
    ) -> Result<i64, TopicLogError> {
        let client = self.partition_client(topic, partition).await?;
        let record = Record {
            key,
            value,
            headers: std::collections::BTreeMap::new(),
            timestamp: rskafka::chrono::DateTime::from_timestamp_millis(now_millis())
                .unwrap_or_default(),
        };
        let offsets = self
            .bounded(client.produce(vec![record], Compression::NoCompression))
            .await
            .map_err(|message| TopicLogError::Partition {
                topic: topic.to_owned(),
                partition,
                operation: "produce",
                message,
            })?;
        offsets
            .first()
            .copied()
            .ok_or_else(|| TopicLogError::Partition {
                topic: topic.to_owned(),
                partition,
                operation: "produce",
                message: "the broker acknowledged no offset".to_owned(),
            })
    }
}
