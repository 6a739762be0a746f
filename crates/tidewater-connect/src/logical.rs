//! Kafka Connect's standard logical types: `Decimal`, `Date`, `Time` and
//! `Timestamp`.
//!
//! Values of `Date`, `Time` and `Timestamp` are their underlying integers
//! ([`Value::Int32`](crate::Value::Int32) days since 1970-01-01,
//! `Int32` milliseconds since midnight, [`Value::Int64`](crate::Value::Int64)
//! milliseconds since the epoch); `Decimal` values are
//! [`Value::Decimal`](crate::Value::Decimal).
//!
//! ```
//! use tidewater_connect::logical;
//! let s = logical::decimal_builder(2).parameter("connect.decimal.precision", "10").build()?;
//! assert_eq!(s.name(), Some("org.apache.kafka.connect.data.Decimal"));
//! assert_eq!(logical::decimal_scale(&s)?, 2);
//! # Ok::<(), tidewater_connect::ConnectError>(())
//! ```

use crate::error::{ConnectError, Result};
use crate::schema::{Schema, SchemaBuilder};

/// Schema name of the `Decimal` logical type.
pub const DECIMAL_NAME: &str = "org.apache.kafka.connect.data.Decimal";
/// The `Decimal` parameter holding the scale.
pub const DECIMAL_SCALE: &str = "scale";
/// Schema name of the `Date` logical type.
pub const DATE_NAME: &str = "org.apache.kafka.connect.data.Date";
/// Schema name of the `Time` logical type.
pub const TIME_NAME: &str = "org.apache.kafka.connect.data.Time";
/// Schema name of the `Timestamp` logical type.
pub const TIMESTAMP_NAME: &str = "org.apache.kafka.connect.data.Timestamp";

/// `Decimal` with the given scale: `bytes`, version 1, parameter `scale`.
pub fn decimal_builder(scale: i32) -> SchemaBuilder {
    SchemaBuilder::bytes()
        .name(DECIMAL_NAME)
        .parameter(DECIMAL_SCALE, scale.to_string())
        .version(1)
}

/// `Date`: `int32` days since 1970-01-01, version 1.
pub fn date_builder() -> SchemaBuilder {
    SchemaBuilder::int32().name(DATE_NAME).version(1)
}

/// `Time`: `int32` milliseconds since midnight, version 1.
pub fn time_builder() -> SchemaBuilder {
    SchemaBuilder::int32().name(TIME_NAME).version(1)
}

/// `Timestamp`: `int64` milliseconds since the epoch, version 1.
pub fn timestamp_builder() -> SchemaBuilder {
    SchemaBuilder::int64().name(TIMESTAMP_NAME).version(1)
}

/// The scale of a `Decimal` schema.
pub fn decimal_scale(schema: &Schema) -> Result<i32> {
    let invalid = |reason: &str| ConnectError::InvalidLogical {
        path: String::new(),
        name: DECIMAL_NAME.into(),
        reason: reason.into(),
    };
    schema
        .parameter(DECIMAL_SCALE)
        .ok_or_else(|| invalid("no scale parameter"))?
        .parse::<i32>()
        .map_err(|_| invalid("scale parameter is not an int32"))
}
