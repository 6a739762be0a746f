#![allow(
    dead_code,
    reason = "helpers used by the field transforms being added next"
)]
//! Kafka Connect single message transforms for Debezium records.
//!
//! A [`TransformChain`] is built from the connector configuration exactly as
//! a Debezium user writes it (`transforms`, `transforms.<alias>.type`,
//! `transforms.<alias>.<option>`, `predicates`, `predicates.<alias>.*`,
//! `transforms.<alias>.predicate`, `transforms.<alias>.negate`), with the
//! Debezium and Kafka class names. Each transform maps one
//! [`ConnectRecord`](tidewater_connect::ConnectRecord) to zero or one record.
//!
//! # References
//! Debezium's documentation ("transformations/event-flattening",
//! "transformations/outbox-event-router", "transformations/topic-routing")
//! and Apache Kafka's `connect/transforms` (the transforms, predicates and
//! their `ConfigDef`s). `docs/transforms.md` lists every transform, its
//! options and what differs.

mod builtin;
mod cache;
mod chain;
mod config;
mod datefmt;
mod error;
mod filter;
mod predicates;
mod registry;
mod replacement;
mod routers;
mod traits;
mod util;

pub use chain::TransformChain;
pub use config::{OptionScope, TransformOptions};
pub use error::{Result, TransformError};
pub use filter::Filter;
pub use predicates::{HasHeaderKey, RecordIsTombstone, TopicNameMatches};
pub use registry::{PredicateFactory, Registry, TransformFactory};
pub use routers::{ByLogicalTableRouter, RegexRouter, TimestampRouter};
pub use traits::{Predicate, Transform};
pub use util::Side;
