//! The error type of the test kit.

use std::path::PathBuf;

/// Everything that can go wrong while starting or driving a test server.
///
/// Messages are written for a person reading a failed test: they say what was attempted, and
/// where a tool is missing, how to install it.
///
/// `Debug` prints the same text as `Display`, so that `unwrap()`/`expect()` in a failing test
/// show readable messages (with real line breaks in server log tails).
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// A required program or file is not installed.
    #[error("{what} not found: {hint}")]
    NotFound {
        /// What was looked for.
        what: String,
        /// How to get it.
        hint: String,
    },

    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A subprocess exited unsuccessfully.
    #[error("`{command}` failed ({status}):\n{output}")]
    Command {
        /// The command line, for display.
        command: String,
        /// How it exited.
        status: String,
        /// Its standard error (and standard output where useful).
        output: String,
    },

    /// A server did not come up.
    #[error("{what} did not start: {reason}\n--- last lines of {log} ---\n{log_tail}")]
    Startup {
        /// Which server.
        what: String,
        /// Why we gave up.
        reason: String,
        /// The server's log file.
        log: PathBuf,
        /// The end of that log.
        log_tail: String,
    },

    /// A PostgreSQL client operation failed.
    #[error("PostgreSQL client error: {0}")]
    Postgres(#[from] tokio_postgres::Error),

    /// Output of a tool could not be understood.
    #[error("unexpected output: {0}")]
    Parse(String),

    /// The kit was used in a way it does not support.
    #[error("{0}")]
    Usage(String),
}

impl std::fmt::Debug for TestkitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl TestkitError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = TestkitError> = std::result::Result<T, E>;
