#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

mod catalog;
mod config;
mod control;
mod error;
mod filter;
mod replication;
mod snapshot;
mod source;
mod stream;
mod tls;
mod wire;

pub use catalog::{ColumnMetadata, TableMetadata};
pub use config::{
    ConfigError, KEYS, PublicationAutocreateMode, SnapshotMode, SourceConfig, SslMode,
};
pub use control::connect_sql;
pub use error::{Result, ServerError, SourceError};
pub use filter::{Filters, NameFilter, NameList, Operation, SkippedOperations};
pub use replication::{
    APPLICATION_NAME, CreatedSlot, QueryResult, ReplicationConnection, ReplicationStream,
    SESSION_OPTIONS, SlotSnapshot, StartOptions, SystemIdentity, highest_protocol_version,
};
pub use snapshot::{SNAPSHOT_XID, SnapshotProgress, TableProgress};
pub use source::{
    CatalogChanges, ChangeSource, PostgresSource, PriorSnapshot, SlotInfo, SourceStats,
};
