//! PostgreSQL logical replication source: replication connection, slots,
//! publications, snapshots, LSN acknowledgement.
#![deny(unsafe_code)]

mod config;
mod control;
mod error;
mod filter;
mod replication;
mod tls;
mod wire;

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
