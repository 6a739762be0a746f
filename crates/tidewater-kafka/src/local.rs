//! Partitions and offsets for the sinks that are not Kafka (memory, JSON lines): the same
//! partitioner as the Kafka producer over a configured partition count, and offsets counted
//! per partition from 0.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Result, SinkError};
use crate::partitioner::{StickyPartitioner, partition_for_key};
use crate::record::ProducerRecord;

/// Bytes of key-less records that stay on one partition (the producer's default
/// `batch.size`).
const STICKY_BYTES: usize = 16_384;

#[derive(Debug, Clone)]
pub(crate) struct LocalLog {
    default_partitions: i32,
    partitions: HashMap<Arc<str>, i32>,
    sticky: HashMap<Arc<str>, StickyPartitioner>,
    next_offset: HashMap<(Arc<str>, i32), i64>,
}

impl Default for LocalLog {
    fn default() -> Self {
        Self {
            default_partitions: 1,
            partitions: HashMap::new(),
            sticky: HashMap::new(),
            next_offset: HashMap::new(),
        }
    }
}

impl LocalLog {
    pub(crate) fn set_default_partitions(&mut self, partitions: i32) {
        self.default_partitions = partitions.max(1);
    }

    pub(crate) fn set_partitions(&mut self, topic: Arc<str>, partitions: i32) {
        self.partitions.insert(topic, partitions.max(1));
    }

    pub(crate) fn partitions(&self, topic: &str) -> i32 {
        self.partitions
            .get(topic)
            .copied()
            .unwrap_or(self.default_partitions)
    }

    /// Picks the record's partition and its next offset.
    pub(crate) fn assign(&mut self, record: &ProducerRecord) -> Result<(i32, i64)> {
        let partitions = self.partitions(&record.topic);
        let partition = match (record.partition, &record.key) {
            (Some(p), _) if (0..partitions).contains(&p) => p,
            (Some(p), _) => {
                return Err(SinkError::InvalidPartition {
                    topic: Arc::clone(&record.topic),
                    partition: p,
                    partitions,
                });
            }
            (None, Some(key)) => partition_for_key(key, partitions),
            (None, None) => self
                .sticky
                .entry(Arc::clone(&record.topic))
                .or_default()
                .next(record.estimated_size(), partitions, STICKY_BYTES),
        };
        let next = self
            .next_offset
            .entry((Arc::clone(&record.topic), partition))
            .or_insert(0);
        let offset = *next;
        *next += 1;
        Ok((partition, offset))
    }
}
