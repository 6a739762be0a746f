//! Tidewater: PostgreSQL change data capture to Kafka, Debezium-compatible,
//! inside your own process.
//!
//! (Crate documentation is written with the runtime.)

pub mod config;
mod delivery;
mod error;
pub mod metrics;
pub mod offsets;
mod pipeline;
pub mod settings;

pub use tidewater_connect as connect;
pub use tidewater_envelope as envelope;
pub use tidewater_kafka as kafka;
pub use tidewater_pgoutput as pgoutput;
pub use tidewater_postgres as postgres;
pub use tidewater_transforms as transforms;

pub use config::{ConfigErrors, ConnectorConfig};
pub use delivery::{ParsePositionError, Position};
pub use error::{BoxError, ErrorStage, PipelineError};
pub use pipeline::{
    JSON_CONVERTER_CLASS, Pipeline, PipelineBuilder, RecordConverter, RunSummary, Unset,
};
pub use settings::{
    DeadLetterQueue, ErrorTolerance, FailureHandling, OffsetStorage, RuntimeSettings,
};

/// Name of the header carrying a record's position: `<commit LSN>/<index>`, the
/// commit LSN as an unsigned decimal (Debezium's `lsn` numbers) and the index of
/// the event within its transaction, so a consumer can drop replays.
pub const POSITION_HEADER: &str = "tidewater.position";
