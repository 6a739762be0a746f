//! Kafka Connect's data model in Rust, and Kafka's JSON converter.
//!
//! - [`Schema`] / [`SchemaBuilder`]: every Connect type, optional, name,
//!   version, doc, parameters, default; struct fields, array items, map keys
//!   and values. Schemas are immutable and shared with `Arc`.
//! - [`Value`], [`Struct`], [`Decimal`], [`Text`]: values, validated against
//!   their schema ([`validate`]); [`logical`] has the standard logical types.
//! - [`ConnectRecord`] with [`Headers`].
//! - [`Converter`] and [`JsonConverter`], whose output is what Kafka's
//!   `JsonConverter` writes for the same data (see [`json`](JsonConverter)),
//!   and which reads its own output back.
//!
//! ```
//! use std::sync::Arc;
//! use tidewater_connect::*;
//!
//! let price = logical::decimal_builder(2).optional().build()?;
//! let schema = Arc::new(SchemaBuilder::struct_()
//!     .name("shop.public.orders.Value")
//!     .field("id", SchemaBuilder::int32().build()?)
//!     .field("price", price)
//!     .field("ratio", SchemaBuilder::float64().optional().build()?)
//!     .optional()
//!     .build()?);
//! let mut row = Struct::new(schema.clone())?;
//! row.put("id", 1)?;
//! row.put("price", Decimal::from_i128(1999, 2))?;
//! row.put("ratio", f64::NAN)?;
//!
//! let conv = JsonConverter::new(JsonConverterConfig { schemas_enable: false, ..Default::default() });
//! let json = conv.serialize("topic", Some(&schema), Some(&Value::Struct(row.clone())))?.unwrap_or_default();
//! assert_eq!(&json[..], br#"{"id":1,"price":"B88=","ratio":"NaN"}"#);
//!
//! let conv = JsonConverter::default();
//! let json = conv.serialize("topic", Some(&schema), Some(&Value::Struct(row.clone())))?;
//! let back = conv.deserialize("topic", json.as_deref())?;
//! assert_eq!(back.value, Some(Value::Struct(row)));
//! # Ok::<(), ConnectError>(())
//! ```
//!
//! # References
//! Apache Kafka, `connect/api` (`Schema`, `SchemaBuilder`, `Struct`, `Decimal`,
//! `Date`, `Time`, `Timestamp`) and `connect/json` (`JsonConverter`,
//! `JsonConverterConfig`).

mod converter;
mod error;
mod json;
pub mod logical;
mod record;
mod schema;
mod value;

pub use converter::{Converter, SchemaAndValue};
pub use error::{ConnectError, Result};
pub use json::{
    DecimalFormat, JsonConverter, JsonConverterConfig, write_json_base64, write_json_i64,
    write_json_string, write_json_string_from_utf8,
};
pub use record::{ConnectRecord, Header, Headers};
pub use schema::{Field, Schema, SchemaBuilder, SchemaType};
pub use value::{Decimal, Struct, Text, Value, validate};
