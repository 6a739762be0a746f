//! The offset store: what a pipeline remembers between runs about one connector —
//! snapshot progress and the last position whose records are all delivered — kept in the
//! format Kafka Connect uses for Debezium's PostgreSQL connector, so offsets move freely
//! between Debezium and Tidewater.
//!
//! The replication slot stays the source of truth for streaming (its
//! `confirmed_flush_lsn` is only advanced over delivered records); the offset adds what
//! the slot cannot tell: whether the initial snapshot finished
//! ([`SourceOffset::prior_snapshot`]), and the position and commit time for monitoring.
//!
//! # Stores
//!
//! | [`OffsetStorage`] | store | where |
//! |---|---|---|
//! | `Memory` | [`MemoryOffsetStore`] | this process only |
//! | `File(path)` (`offset.storage.file.filename`) | [`FileOffsetStore`] | a local file of JSON lines, replaced atomically |
//! | `Topic { .. }` (`offset.storage.topic`) | [`KafkaOffsetStore`] | a compacted Kafka topic, like Kafka Connect's |
//!
//! [`AnyOffsetStore::from_settings`] picks one from the runtime settings.
//!
//! # Format
//!
//! Each connector's offset is a key/value pair as Kafka Connect writes it to its offsets
//! topic. The key is compact JSON `["<connector name>",{"server":"<topic.prefix>"}]`
//! ([`offset_key`]); the value is a JSON object with Debezium's field names
//! ([`SourceOffset::to_connect_value`]):
//!
//! | field | written | read |
//! |---|---|---|
//! | `lsn` | [`SourceOffset::lsn`], a number | required: a number, a decimal string or `X/Y` |
//! | `lsn_proc` | `lsn` again (everything up to it is processed) | ignored |
//! | `lsn_commit` | [`SourceOffset::lsn_commit`] when set | optional |
//! | `txId` | [`SourceOffset::tx_id`] when set | optional; a 64-bit id (Debezium writes `txid_current()` at start-up) keeps its low 32 bits, the transaction id proper |
//! | `ts_usec` | [`SourceOffset::ts_usec`] when set | optional |
//! | `snapshot` | `true` during a snapshot | `true`/`"true"`, `"INITIAL"`, `"BLOCKING"`: a snapshot runs; `false`, `"INCREMENTAL"`, absent: none |
//! | `last_snapshot_record` | `false` during a snapshot | `true` with `snapshot` marks the snapshot's end (Debezium up to 2.5) |
//! | `snapshot_completed` | `false` during a snapshot, `true` once it completed | `true`: the snapshot completed (Debezium 2.6 and later) |
//! | `tidewater.snapshot_rows_delivered` | snapshot rows delivered, during a snapshot | optional, 0 when absent |
//!
//! Other fields Debezium writes (`xmin`, `messageType`, `lsn_events_processed`,
//! `transaction_*`, `incremental_snapshot_*`) are ignored when read. Writing `snapshot` as
//! `true` (rather than Debezium 2.6's `"INITIAL"`) together with both
//! `last_snapshot_record` and `snapshot_completed` makes Tidewater's offsets readable by
//! every Debezium version: older ones cast `snapshot` to a boolean.
//!
//! An offset Debezium wrote loads as is: its `lsn` is the last event it emitted (possibly
//! inside a transaction) and its `lsn_commit` the end of the last transaction it finished.
//! After Debezium's snapshot completed, its offsets carry no snapshot field at all, which
//! reads as [`SnapshotState::None`] — [`PriorSnapshot::Unknown`]: an existing slot is then
//! taken to mean the snapshot finished, as Debezium itself does.
//!
//! ```
//! use tidewater::offsets::{SnapshotState, SourceOffset};
//! use tidewater::pgoutput::Lsn;
//! use tidewater::postgres::PriorSnapshot;
//!
//! // An offset written by Debezium during its initial snapshot.
//! let debezium = br#"{"last_snapshot_record":false,"lsn":63552100632,"txId":1618,
//!                     "ts_usec":1666267991774697,"snapshot":true}"#;
//! let offset = SourceOffset::from_connect_json(debezium)?;
//! assert_eq!(offset.lsn, Lsn::new(63_552_100_632));
//! assert_eq!(offset.snapshot, SnapshotState::InProgress { rows_delivered: 0 });
//! assert_eq!(offset.prior_snapshot(), PriorSnapshot::Incomplete);
//!
//! // Tidewater's offset once the snapshot completed.
//! let mut done = SourceOffset::new(Lsn::new(0x16_B374_D848));
//! done.snapshot = SnapshotState::Completed;
//! done.ts_usec = Some(1_666_268_220_374_889);
//! assert_eq!(
//!     String::from_utf8(done.to_connect_json()).unwrap(),
//!     r#"{"lsn":97500059720,"lsn_proc":97500059720,"snapshot_completed":true,"ts_usec":1666268220374889}"#
//! );
//! assert_eq!(SourceOffset::from_connect_json(&done.to_connect_json())?, done);
//! # Ok::<(), tidewater::offsets::OffsetError>(())
//! ```
//!
//! Storing and loading with a file:
//!
//! ```
//! use tidewater::offsets::{FileOffsetStore, OffsetStore, SourceOffset};
//! use tidewater::pgoutput::Lsn;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("offsets.jsonl");
//! let mut store = FileOffsetStore::new(&path, "inventory-connector", "dbserver1");
//! assert_eq!(store.load().await?, None); // no file yet
//!
//! let offset = SourceOffset::new(Lsn::new(0x1_6B37_4D48));
//! store.store(&offset).await?;
//! assert_eq!(store.load().await?, Some(offset));
//! assert!(std::fs::read_to_string(&path)?
//!     .starts_with(r#"{"key":["inventory-connector",{"server":"dbserver1"}],"value":{"lsn":6093753672,"#));
//! # Ok(())
//! # }
//! ```

mod connect;
mod file;
mod kafka;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use tidewater_kafka::{ProducerConfig, TopicLogError};
use tidewater_pgoutput::Lsn;
use tidewater_postgres::PriorSnapshot;

use crate::settings::OffsetStorage;

pub use connect::offset_key;
pub use file::FileOffsetStore;
pub use kafka::KafkaOffsetStore;

/// What the offset store holds for one connector: Debezium's PostgreSQL source offset.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SourceOffset {
    /// The last position whose records are all delivered (a commit's end LSN); Debezium's
    /// `lsn`.
    pub lsn: Lsn,
    /// Debezium's `lsn_commit`: the end of the last transaction processed.
    pub lsn_commit: Option<Lsn>,
    /// Debezium's `txId`: the transaction id of that transaction.
    pub tx_id: Option<u32>,
    /// Debezium's `ts_usec`: its commit time, microseconds since the Unix epoch.
    pub ts_usec: Option<i64>,
    /// Where the initial snapshot stands.
    pub snapshot: SnapshotState,
}

/// Where the initial snapshot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SnapshotState {
    /// Nothing recorded: no snapshot was taken, or (offsets written by Debezium after its
    /// snapshot) it finished long ago.
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
    /// An offset at `lsn`, with nothing else known.
    pub fn new(lsn: Lsn) -> Self {
        Self {
            lsn,
            ..Self::default()
        }
    }

    /// What the source should assume about an earlier snapshot: a snapshot in progress was
    /// not completely delivered ([`PriorSnapshot::Incomplete`]), a completed one was
    /// ([`PriorSnapshot::Completed`]), and without a record nothing is known
    /// ([`PriorSnapshot::Unknown`]).
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
    /// The stored offset; `None` when nothing (or a tombstone) was stored.
    fn load(&mut self) -> impl Future<Output = Result<Option<SourceOffset>, OffsetError>> + Send;

    /// Stores `offset`; it is durable when the future completes.
    fn store(
        &mut self,
        offset: &SourceOffset,
    ) -> impl Future<Output = Result<(), OffsetError>> + Send;
}

/// An offset store in memory: nothing survives the process. Clones share the offset, so a
/// clone kept aside sees what the pipeline stores.
///
/// ```
/// use tidewater::offsets::{MemoryOffsetStore, OffsetStore, SourceOffset};
/// use tidewater::pgoutput::Lsn;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tidewater::offsets::OffsetError> {
/// let mut store = MemoryOffsetStore::new();
/// let observer = store.clone();
/// store.store(&SourceOffset::new(Lsn::new(42))).await?;
/// assert_eq!(observer.get().map(|o| o.lsn), Some(Lsn::new(42)));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default, Clone)]
pub struct MemoryOffsetStore {
    offset: Arc<Mutex<Option<SourceOffset>>>,
}

impl MemoryOffsetStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store already holding `offset`.
    pub fn with_offset(offset: SourceOffset) -> Self {
        Self {
            offset: Arc::new(Mutex::new(Some(offset))),
        }
    }

    /// The offset last stored.
    pub fn get(&self) -> Option<SourceOffset> {
        self.offset
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl OffsetStore for MemoryOffsetStore {
    async fn load(&mut self) -> Result<Option<SourceOffset>, OffsetError> {
        Ok(self.get())
    }

    async fn store(&mut self, offset: &SourceOffset) -> Result<(), OffsetError> {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner) = Some(offset.clone());
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
    /// The store `storage` asks for, for connector `connector_name` (`name`) with
    /// `topic.prefix` `topic_prefix`. The Kafka store connects with `producer`'s
    /// connection settings (brokers, TLS, SASL, timeouts) and creates its topic if it is
    /// missing; the other stores touch nothing until used.
    pub async fn from_settings(
        storage: &OffsetStorage,
        producer: &ProducerConfig,
        connector_name: &str,
        topic_prefix: &str,
    ) -> Result<Self, OffsetError> {
        Ok(match storage {
            OffsetStorage::Memory => Self::Memory(MemoryOffsetStore::new()),
            OffsetStorage::File(path) => {
                Self::File(FileOffsetStore::new(path, connector_name, topic_prefix))
            }
            OffsetStorage::Topic {
                topic,
                partitions,
                replication_factor,
            } => Self::Kafka(
                KafkaOffsetStore::connect(
                    producer,
                    topic,
                    *partitions,
                    *replication_factor,
                    connector_name,
                    topic_prefix,
                )
                .await?,
            ),
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
    #[error("offset file {}: {operation} failed: {source}", path.display())]
    Io {
        /// The file (or, for `sync directory`, its directory; for `write`, the temporary
        /// file beside it).
        path: PathBuf,
        /// What failed: `read`, `write`, `rename`, `sync directory`.
        operation: &'static str,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// Stored offsets are not what Kafka Connect's offsets look like.
    #[error("malformed offset in {location}: {reason}")]
    Malformed {
        /// Where: `<file> line <n>`, `topic <t> partition <p> offset <o>`, or
        /// `offset value` for a value given directly.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// The offset storage topic could not be created, read or written.
    #[error("offset storage topic `{topic}`: {source}")]
    Kafka {
        /// The topic.
        topic: String,
        /// The failure, with the partition and operation.
        #[source]
        source: TopicLogError,
    },
}
