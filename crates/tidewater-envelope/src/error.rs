//! Errors of the envelope builder.

use tidewater_connect::ConnectError;

/// Result alias of this crate.
pub type Result<T, E = EnvelopeError> = std::result::Result<T, E>;

/// What went wrong while configuring the builder or turning an event into
/// records. Each variant names the configuration key or the table and column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// A configuration key is missing or has a value that is not allowed.
    #[error("configuration {key}={value:?}: {reason}")]
    Config {
        /// The key.
        key: String,
        /// The value given (empty when missing).
        value: String,
        /// What is allowed.
        reason: String,
    },
    /// A column value could not be converted.
    #[error("{schema}.{table}.{column}: {reason}")]
    Column {
        /// Schema of the table.
        schema: String,
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Why.
        reason: String,
    },
    /// An event that cannot become a record (for example a row change
    /// without its relation).
    #[error("event at LSN {lsn}: {reason}")]
    Event {
        /// The event's LSN.
        lsn: String,
        /// Why.
        reason: String,
    },
    /// Building a schema or struct failed (a bug, reported rather than
    /// panicking).
    #[error("connect data: {0}")]
    Connect(#[from] ConnectError),
}
