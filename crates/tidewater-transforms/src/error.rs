//! Errors of configuration and of transforming a record.

use tidewater_connect::ConnectError;

/// Result alias of this crate.
pub type Result<T, E = TransformError> = std::result::Result<T, E>;

/// What went wrong while building a chain from configuration, or while
/// transforming one record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// A configuration key is missing, unknown or has a value that is not
    /// allowed. `alias` is the transform or predicate alias (empty for the
    /// top-level `transforms` / `predicates` lists), `key` the full key as the
    /// user wrote it (`transforms.unwrap.delete.handling.mode`).
    #[error("configuration {key}{}: {reason}", given(value.as_deref()))]
    Config {
        /// The transform or predicate alias.
        alias: String,
        /// The full configuration key.
        key: String,
        /// The value given, when there was one.
        value: Option<String>,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// A record could not be transformed (for example a field the
    /// configuration names is not in the record's schema).
    #[error("{}record on topic {topic:?}: {reason}", alias_prefix(alias))]
    Record {
        /// The alias of the transform that failed (filled in by the chain).
        alias: String,
        /// The record's topic.
        topic: String,
        /// Why.
        reason: String,
    },
}

fn given(value: Option<&str>) -> String {
    match value {
        Some(v) => format!("={v:?}"),
        None => String::new(),
    }
}

fn alias_prefix(alias: &str) -> String {
    if alias.is_empty() {
        String::new()
    } else {
        format!("transform {alias}: ")
    }
}

impl TransformError {
    /// A record error (the chain adds the alias).
    #[cold]
    pub fn record(topic: &str, reason: impl Into<String>) -> TransformError {
        TransformError::Record {
            alias: String::new(),
            topic: topic.to_string(),
            reason: reason.into(),
        }
    }

    /// A record error caused by the data model (a value that does not fit
    /// its schema).
    #[cold]
    pub(crate) fn connect(topic: &str, e: ConnectError) -> TransformError {
        TransformError::record(topic, e.to_string())
    }

    /// Sets the alias of a record error that has none yet.
    #[cold]
    pub(crate) fn with_alias(mut self, name: &str) -> TransformError {
        match &mut self {
            TransformError::Record { alias, .. } | TransformError::Config { alias, .. }
                if alias.is_empty() =>
            {
                *alias = name.to_string();
            }
            _ => {}
        }
        self
    }

    /// The alias of the transform or predicate concerned.
    pub fn alias(&self) -> &str {
        match self {
            TransformError::Config { alias, .. } | TransformError::Record { alias, .. } => alias,
        }
    }
}
