//! Errors of the PostgreSQL source.

use std::fmt;
use std::io;

use tidewater_pgoutput::AssembleError;

use crate::config::ConfigError;

/// `Result` with [`SourceError`].
pub type Result<T, E = SourceError> = std::result::Result<T, E>;

/// An error reported by the server (an `ErrorResponse`), with what the source was doing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerError {
    /// What the source was doing, e.g. `connecting to 127.0.0.1:5432 as cdc (replication)`.
    pub context: String,
    /// Severity: `ERROR`, `FATAL` or `PANIC`.
    pub severity: String,
    /// The SQLSTATE code, e.g. `28P01`.
    pub code: String,
    /// The primary message.
    pub message: String,
    /// The server's detail, if any.
    pub detail: Option<String>,
    /// The server's hint, if any.
    pub hint: Option<String>,
}

impl ServerError {
    /// The SQLSTATE code.
    pub fn sqlstate(&self) -> &str {
        &self.code
    }

    /// What to do about common errors, in terms of this source's configuration.
    pub fn advice(&self) -> Option<&'static str> {
        Some(match self.code.as_str() {
            "28P01" => "check database.user and database.password",
            "28000" => {
                "the server's pg_hba.conf has no entry allowing this host, user and database \
                 (logical replication connections match ordinary database lines, not \
                 `replication` ones), or the entry requires TLS settings that do not match"
            }
            "3D000" => "check database.dbname",
            "42501" => {
                "the role needs the REPLICATION attribute (ALTER ROLE ... WITH REPLICATION) \
                 and SELECT on the captured tables"
            }
            "53300" => {
                "the server has no free connection slots (max_connections / max_wal_senders)"
            }
            "55006" => "another process is using the replication slot",
            "57P01" | "57P02" | "57P03" => "the server is shutting down or restarting",
            _ => return None,
        })
    }

    /// Whether retrying later may succeed: connection failures, shutdowns,
    /// resource shortages and a slot that is still in use.
    pub fn is_transient(&self) -> bool {
        self.code.starts_with("08")
            || self.code.starts_with("57P")
            || self.code.starts_with("53")
            || self.code == "55006"
            || self.code == "40001"
            || self.code == "40P01"
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: server {} {}: {}",
            self.context, self.severity, self.code, self.message
        )?;
        if let Some(detail) = &self.detail {
            write!(f, " (detail: {detail})")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        if let Some(advice) = self.advice() {
            write!(f, "; {advice}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServerError {}

/// Everything that can go wrong in the PostgreSQL source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The server could not be reached.
    #[error("connecting to {target}: {source}")]
    Connect {
        /// `host:port` or socket path.
        target: String,
        /// The I/O error.
        source: io::Error,
    },
    /// Reading from or writing to the server failed.
    #[error("{context}: {source}")]
    Io {
        /// What the source was doing.
        context: String,
        /// The I/O error.
        source: io::Error,
    },
    /// TLS could not be set up or the server's certificate was rejected.
    #[error("TLS with {target}: {reason}")]
    Tls {
        /// `host:port`.
        target: String,
        /// What went wrong.
        reason: String,
    },
    /// Authentication could not be carried out on the client side (no password
    /// configured, unsupported method, a server proof that does not verify).
    #[error("authenticating to {target} as {user}: {reason}")]
    Auth {
        /// `host:port` or socket path.
        target: String,
        /// The user.
        user: String,
        /// What went wrong.
        reason: String,
    },
    /// The server answered with an error.
    #[error(transparent)]
    Server(Box<ServerError>),
    /// The server sent something the protocol does not allow at that point.
    #[error("{context}: unexpected answer from the server: {reason}")]
    Protocol {
        /// What the source was doing.
        context: String,
        /// What was wrong.
        reason: String,
    },
    /// The server or the role is not set up for logical replication; the message
    /// says what to change.
    #[error("{0}")]
    Prerequisite(String),
    /// The control connection (tokio-postgres) failed without a server error.
    #[error("{context}: {}", error_chain(source))]
    Control {
        /// What the source was doing.
        context: String,
        /// The client error.
        source: tokio_postgres::Error,
    },
    /// A replication message could not be decoded or assembled.
    #[error(transparent)]
    Decode(#[from] AssembleError),
    /// A timeout elapsed.
    #[error("{context}: no answer within {seconds} s")]
    Timeout {
        /// What the source was doing.
        context: String,
        /// The limit.
        seconds: u64,
    },
    /// The replication stream ended and could not be resumed.
    #[error("the replication stream ended: {0}")]
    Closed(String),
}

/// An error and its sources, joined with `: ` (tokio-postgres puts the useful
/// part, such as a certificate problem, in the source).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

impl From<ServerError> for SourceError {
    fn from(e: ServerError) -> Self {
        SourceError::Server(Box::new(e))
    }
}

impl SourceError {
    /// The SQLSTATE code when the server reported the error.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            SourceError::Server(e) => Some(&e.code),
            _ => None,
        }
    }

    /// The server's error, when it reported one.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            SourceError::Server(e) => Some(e),
            _ => None,
        }
    }

    /// Whether reconnecting may help: lost connections, server shutdowns and
    /// other transient server states.
    pub fn is_transient(&self) -> bool {
        match self {
            SourceError::Connect { .. }
            | SourceError::Io { .. }
            | SourceError::Timeout { .. }
            | SourceError::Closed(_) => true,
            SourceError::Server(e) => e.is_transient(),
            SourceError::Control { source, .. } => source.is_closed(),
            _ => false,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        SourceError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn protocol(context: impl Into<String>, reason: impl Into<String>) -> Self {
        SourceError::Protocol {
            context: context.into(),
            reason: reason.into(),
        }
    }

    /// Wraps a tokio-postgres error; server errors keep their SQLSTATE.
    pub(crate) fn control(context: impl Into<String>, source: tokio_postgres::Error) -> Self {
        let context = context.into();
        match source.as_db_error() {
            Some(db) => SourceError::from(ServerError {
                context,
                severity: db.severity().to_owned(),
                code: db.code().code().to_owned(),
                message: db.message().to_owned(),
                detail: db.detail().map(str::to_owned),
                hint: db.hint().map(str::to_owned),
            }),
            None => SourceError::Control { context, source },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_read_well() {
        let e = ServerError {
            context: "connecting to h:5432 as u".into(),
            severity: "FATAL".into(),
            code: "28P01".into(),
            message: "password authentication failed for user \"u\"".into(),
            detail: None,
            hint: Some("h".into()),
        };
        assert_eq!(
            e.to_string(),
            "connecting to h:5432 as u: server FATAL 28P01: password authentication failed for \
             user \"u\" (hint: h); check database.user and database.password"
        );
        assert!(!e.is_transient());
        let e = SourceError::from(ServerError {
            code: "57P01".into(),
            ..e
        });
        assert!(e.is_transient());
        assert_eq!(e.sqlstate(), Some("57P01"));
    }
}
