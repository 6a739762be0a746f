#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

mod any;
mod config;
mod error;
mod json_lines;
mod kafka;
mod local;
mod memory;
pub mod partitioner;
mod record;
mod sink;

pub use any::AnySink;
pub use config::{
    Compression, IGNORED_PRODUCER_KEYS, KeyStore, PRODUCER_KEYS, ProducerConfig, SaslConfig,
    SaslMechanism, SecurityProtocol, TlsConfig, TopicCreation, TopicCreationGroup, TopicSettings,
    TrustStore,
};
pub use error::{ConfigError, Result, SinkError};
pub use json_lines::JsonLinesSink;
pub use kafka::{KafkaSink, LogRecord, ProducerStats, TopicLog, TopicLogError};
pub use memory::{MemorySink, StoredRecord};
pub use record::{Delivery, Header, ProducerRecord};
pub use sink::Sink;
