//! [`KafkaOffsetStore`]: offsets in a compacted Kafka topic, like Kafka Connect's
//! `offset.storage.topic`.

use std::collections::BTreeMap;

use serde_json::Value;
use tidewater_kafka::partitioner::partition_for_key;
use tidewater_kafka::{ProducerConfig, TopicLog};
use tracing::{debug, info};

use super::connect::{key_matches, offset_key};
use super::{OffsetError, OffsetStore, SourceOffset};

/// An offset store in a Kafka topic (`offset.storage.topic`), written the way Kafka
/// Connect writes its offsets topic, so Kafka Connect and Tidewater can read each other's
/// offsets:
///
/// * the record key is `["<connector>",{"server":"<topic.prefix>"}]` and the value the
///   offset object (see the [module documentation](super)), both compact JSON;
/// * the record goes to partition `murmur2(key) % partitions`, Kafka's default
///   partitioner (the topic's actual partition count, read from the cluster);
/// * records are produced with `acks=all`, and [`store`](OffsetStore::store) returns once the
///   broker acknowledged the record;
/// * [`load`](OffsetStore::load) reads that partition from its start to its end and takes
///   the last record with this key; a tombstone (null value) means no offset.
///
/// A missing topic is created with `offset.storage.partitions` partitions,
/// `offset.storage.replication.factor` and `cleanup.policy=compact`, as Kafka Connect creates
/// its offsets topic, so retention never deletes the last offset of a connector. A topic
/// that already exists is used as it is.
#[derive(Debug)]
pub struct KafkaOffsetStore {
    log: TopicLog,
    topic: String,
    partition: i32,
    key: Vec<u8>,
    connector_name: String,
    topic_prefix: String,
}

/// Topic configs of a created offset storage topic: compacted, like Kafka Connect's.
fn offset_topic_configs() -> BTreeMap<String, String> {
    BTreeMap::from([("cleanup.policy".to_owned(), "compact".to_owned())])
}

impl KafkaOffsetStore {
    /// Connects with `producer`'s connection settings, creates `topic` when it is missing
    /// (`partitions`, `replication_factor`) and returns the store of connector
    /// `connector_name` whose `topic.prefix` is `topic_prefix`.
    pub async fn connect(
        producer: &ProducerConfig,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        connector_name: &str,
        topic_prefix: &str,
    ) -> Result<Self, OffsetError> {
        let kafka = |source| OffsetError::Kafka {
            topic: topic.to_owned(),
            source,
        };
        let log = TopicLog::connect(producer).await.map_err(kafka)?;
        let count = match log.partitions(topic).await.map_err(kafka)? {
            Some(n) => n,
            None => {
                info!(
                    topic,
                    partitions, replication_factor, "creating the offset storage topic, compacted"
                );
                log.create_topic_with_configs(
                    topic,
                    partitions,
                    replication_factor,
                    &offset_topic_configs(),
                )
                .await
                .map_err(kafka)?
            }
        };
        let key = offset_key(connector_name, topic_prefix);
        let partition = partition_for_key(&key, count);
        debug!(
            topic,
            partition,
            partitions = count,
            "offset storage partition"
        );
        Ok(Self {
            log,
            topic: topic.to_owned(),
            partition,
            key,
            connector_name: connector_name.to_owned(),
            topic_prefix: topic_prefix.to_owned(),
        })
    }

    /// The offset storage topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition holding this connector's offsets.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// The record key (`["<connector>",{"server":"<topic.prefix>"}]`).
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

impl OffsetStore for KafkaOffsetStore {
    async fn load(&mut self) -> Result<Option<SourceOffset>, OffsetError> {
        let records = self
            .log
            .read_partition(&self.topic, self.partition)
            .await
            .map_err(|source| OffsetError::Kafka {
                topic: self.topic.clone(),
                source,
            })?;
        // Other connectors' records share the partition; keys that are not JSON cannot be
        // this connector's.
        let last = records.into_iter().rev().find(|r| {
            r.key
                .as_deref()
                .and_then(|k| serde_json::from_slice::<Value>(k).ok())
                .is_some_and(|k| key_matches(&k, &self.connector_name, &self.topic_prefix))
        });
        let Some(record) = last else {
            return Ok(None);
        };
        let Some(value) = record.value else {
            return Ok(None);
        };
        SourceOffset::parse_connect_json(&value)
            .map(Some)
            .map_err(|reason| OffsetError::Malformed {
                location: format!(
                    "topic {} partition {} offset {}",
                    self.topic, self.partition, record.offset
                ),
                reason,
            })
    }

    async fn store(&mut self, offset: &SourceOffset) -> Result<(), OffsetError> {
        self.log
            .append(
                &self.topic,
                self.partition,
                Some(self.key.clone()),
                Some(offset.to_connect_json()),
            )
            .await
            .map(drop)
            .map_err(|source| OffsetError::Kafka {
                topic: self.topic.clone(),
                source,
            })
    }
}
