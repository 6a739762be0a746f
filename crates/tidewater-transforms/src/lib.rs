//! Kafka Connect single message transforms for Debezium records.
//!
//! A [`TransformChain`] is built from the connector configuration exactly as
//! a Debezium user writes it (`transforms`, `transforms.<alias>.type`,
//! `transforms.<alias>.<option>`, `predicates`, `predicates.<alias>.*`,
//! `transforms.<alias>.predicate`, `transforms.<alias>.negate`), with the
//! Debezium and Kafka class names. Each transform maps one
//! [`ConnectRecord`](tidewater_connect::ConnectRecord) to zero or one record.
//!
//! ```
//! use std::sync::Arc;
//! use tidewater_connect::*;
//! use tidewater_transforms::TransformChain;
//!
//! // The transforms of a connector configuration, as users write them.
//! let chain = TransformChain::from_config([
//!     ("transforms", "unwrap,route"),
//!     ("transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState"),
//!     ("transforms.unwrap.drop.tombstones", "false"),
//!     ("transforms.unwrap.delete.handling.mode", "rewrite"),
//!     ("transforms.unwrap.add.fields", "op"),
//!     ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
//!     ("transforms.route.regex", "([^.]+)\\.([^.]+)\\.([^.]+)"),
//!     ("transforms.route.replacement", "$3"),
//! ])?;
//!
//! // A Debezium change event (normally built by tidewater-envelope).
//! let row = Arc::new(SchemaBuilder::struct_().name("shop.public.orders.Value").optional()
//!     .field("id", SchemaBuilder::int32().build()?).build()?);
//! let envelope = Arc::new(SchemaBuilder::struct_().name("shop.public.orders.Envelope")
//!     .field("before", row.clone()).field("after", row.clone())
//!     .field("op", SchemaBuilder::string().build()?).build()?);
//! let mut after = Struct::new(row)?;
//! after.put("id", 7)?;
//! let mut event = Struct::new(envelope.clone())?;
//! event.put("after", after)?.put("op", "c")?;
//! let record = ConnectRecord::new(Arc::from("shop.public.orders"), None, None,
//!     Some(envelope), Some(Value::Struct(event)));
//!
//! let out = chain.apply(record)?.expect("kept");
//! assert_eq!(&*out.topic, "orders");
//! let json = JsonConverter::new(JsonConverterConfig { schemas_enable: false, ..Default::default() });
//! let bytes = json.serialize(&out.topic, out.value_schema.as_deref(), out.value.as_ref())?;
//! assert_eq!(bytes.as_deref(), Some(&br#"{"id":7,"__op":"c","__deleted":"false"}"#[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # References
//! Debezium's documentation ("transformations/event-flattening",
//! "transformations/outbox-event-router", "transformations/topic-routing")
//! and Apache Kafka's `connect/transforms` (the transforms, predicates and
//! their `ConfigDef`s). `docs/transforms.md` lists every transform, its
//! options and what differs.

mod builtin;
mod cache;
mod cast;
mod chain;
mod config;
mod datefmt;
mod error;
mod extract_field;
mod filter;
mod flatten;
mod headers;
mod hoist_field;
mod insert_field;
mod javatext;
mod json_expand;
mod mask_field;
mod outbox;
mod predicates;
mod registry;
mod replace_field;
mod replacement;
mod routers;
mod set_schema_metadata;
mod timestamp_converter;
mod traits;
mod unwrap;
mod util;
mod value_to_key;

pub use cast::Cast;
pub use chain::TransformChain;
pub use config::{OptionScope, TransformOptions};
pub use error::{Result, TransformError};
pub use extract_field::ExtractField;
pub use filter::Filter;
pub use flatten::Flatten;
pub use headers::{DropHeaders, HeaderFrom, InsertHeader};
pub use hoist_field::HoistField;
pub use insert_field::InsertField;
pub use mask_field::MaskField;
pub use outbox::EventRouter;
pub use predicates::{HasHeaderKey, RecordIsTombstone, TopicNameMatches};
pub use registry::{PredicateFactory, Registry, TransformFactory};
pub use replace_field::ReplaceField;
pub use routers::{ByLogicalTableRouter, RegexRouter, TimestampRouter};
pub use set_schema_metadata::SetSchemaMetadata;
pub use timestamp_converter::TimestampConverter;
pub use traits::{Predicate, Transform};
pub use unwrap::{DELETED_FIELD, DeleteTombstoneHandling, ExtractNewRecordState};
pub use util::Side;
pub use value_to_key::ValueToKey;
