//! PostgreSQL logical replication source: replication connection, slots,
//! publications, snapshots, LSN acknowledgement.
#![deny(unsafe_code)]

mod config;
mod filter;

pub use config::{
    ConfigError, KEYS, PublicationAutocreateMode, SnapshotMode, SourceConfig, SslMode,
};
pub use filter::{Filters, NameFilter, NameList, Operation, SkippedOperations};
