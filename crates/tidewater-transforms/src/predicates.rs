//! Kafka Connect's predicates: `TopicNameMatches`, `HasHeaderKey`,
//! `RecordIsTombstone`.

use regex::Regex;
use tidewater_connect::ConnectRecord;

use crate::config::{TransformOptions, compile_regex};
use crate::error::Result;
use crate::traits::Predicate;

/// `org.apache.kafka.connect.transforms.predicates.TopicNameMatches`: true
/// when the whole topic name matches `pattern`.
#[derive(Debug, Clone)]
pub struct TopicNameMatches {
    pattern: Regex,
}

impl TopicNameMatches {
    /// A predicate for a Java-style pattern that must match the whole topic.
    pub fn new(pattern: &str) -> Result<TopicNameMatches> {
        let mut opts = TransformOptions::with_scope(
            crate::config::OptionScope::Predicate,
            "TopicNameMatches",
            "",
            [("pattern", pattern)],
        );
        TopicNameMatches::from_options(&mut opts)
    }

    /// From `pattern` (required).
    pub fn from_options(opts: &mut TransformOptions) -> Result<TopicNameMatches> {
        let pattern = opts.required("pattern")?;
        let regex =
            compile_regex(&pattern, true).map_err(|e| opts.error("pattern", Some(&pattern), e))?;
        Ok(TopicNameMatches { pattern: regex })
    }
}

impl Predicate for TopicNameMatches {
    fn test(&self, record: &ConnectRecord) -> bool {
        self.pattern.is_match(&record.topic)
    }
}

/// `org.apache.kafka.connect.transforms.predicates.HasHeaderKey`: true when
/// the record has at least one header named `name`.
#[derive(Debug, Clone)]
pub struct HasHeaderKey {
    name: String,
}

impl HasHeaderKey {
    /// A predicate for a header name.
    pub fn new(name: impl Into<String>) -> HasHeaderKey {
        HasHeaderKey { name: name.into() }
    }

    /// From `name` (required).
    pub fn from_options(opts: &mut TransformOptions) -> Result<HasHeaderKey> {
        Ok(HasHeaderKey::new(opts.required("name")?))
    }
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.headers.iter().any(|h| h.key == self.name)
    }
}

/// `org.apache.kafka.connect.transforms.predicates.RecordIsTombstone`: true
/// when the record's value is null.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordIsTombstone;

impl RecordIsTombstone {
    /// No options.
    pub fn from_options(_opts: &mut TransformOptions) -> Result<RecordIsTombstone> {
        Ok(RecordIsTombstone)
    }
}

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.value.is_none()
    }
}
