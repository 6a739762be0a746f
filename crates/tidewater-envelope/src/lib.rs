//! Debezium-compatible change event records for PostgreSQL changes.
//!
//! [`EnvelopeBuilder`] turns the decoder's [`ChangeEvent`]s into the
//! [`ConnectRecord`]s Debezium's PostgreSQL connector produces: the topic
//! `<prefix>.<schema>.<table>`, the key struct (primary key, replica identity
//! or `message.key.columns`), the value envelope (`before`, `after`,
//! `source`, `op`, `ts_ms`/`ts_us`/`ts_ns`, `transaction`) with every type
//! of Debezium's mapping table in every mode, tombstones, primary-key changes
//! as delete + tombstone + create, truncates, logical messages, transaction
//! metadata and heartbeats. Serialize the records with
//! [`tidewater_connect::JsonConverter`] to get Debezium's JSON.
//!
//! Schemas and topic names are built once per relation version and shared.
//!
//! ```
//! use std::sync::Arc;
//! use tidewater_connect::{Converter, JsonConverter, JsonConverterConfig};
//! use tidewater_envelope::{EnvelopeBuilder, EnvelopeConfig, FixedClock};
//! use tidewater_pgoutput::*;
//!
//! let rel = Arc::new(Relation {
//!     xid: None, oid: 16384, namespace: "public".into(), name: "t".into(),
//!     replica_identity: ReplicaIdentity::Default,
//!     columns: vec![
//!         RelationColumn { flags: 1, name: "id".into(), type_oid: 23, type_modifier: -1 },
//!         RelationColumn { flags: 0, name: "name".into(), type_oid: 25, type_modifier: -1 },
//!     ],
//! });
//! let event = ChangeEvent {
//!     kind: ChangeKind::Insert { new: TupleData::from_columns(&[Column::Text(b"1"), Column::Text(b"a")]) },
//!     relation: Some(rel), lsn: Lsn(0x1000), commit_lsn: Lsn(0x2000), xid: Some(7),
//!     commit_time: 0, index: 0,
//! };
//! let mut builder = EnvelopeBuilder::new(EnvelopeConfig::new("shop", "db"))?
//!     .with_clock(Arc::new(FixedClock(1_700_000_000_000_000)));
//! let mut records = Vec::new();
//! builder.change(&event, &NoTypes, &mut records)?;
//! assert_eq!(&*records[0].topic, "shop.public.t");
//!
//! let json = JsonConverter::new(JsonConverterConfig { schemas_enable: false, ..Default::default() });
//! let key = json.serialize(&records[0].topic, records[0].key_schema.as_deref(), records[0].key.as_ref())?;
//! assert_eq!(key.as_deref(), Some(&br#"{"id":1}"#[..]));
//! let value = json.serialize(&records[0].topic, records[0].value_schema.as_deref(), records[0].value.as_ref())?
//!     .unwrap_or_default();
//! let text = String::from_utf8_lossy(&value);
//! assert!(text.starts_with(r#"{"before":null,"after":{"id":1,"name":"a"},"source":{"version":"#), "{text}");
//! assert!(text.contains(r#""op":"c","ts_ms":1700000000000,"ts_us":1700000000000000"#), "{text}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Straight to JSON
//!
//! When nothing needs the records themselves (no transform rewrites them),
//! [`EnvelopeBuilder::change_json`] (and
//! [`process_json`](EnvelopeBuilder::process_json)) writes the key and value
//! JSON of an event's records into a reused [`JsonRecords`] without building
//! them: no `Value` tree, no per-record allocation, column text written
//! from the tuple's bytes, the constant parts of the `source` block and the
//! schemas' JSON copied from per-relation caches. The bytes are exactly
//! what [`JsonConverter`](tidewater_connect::JsonConverter) writes for the
//! records of [`EnvelopeBuilder::change`] (a property test compares the two
//! on arbitrary events, settings and converter options); row changes take
//! the direct route, the rare rest (updates carrying an old tuple,
//! truncates, messages, transaction metadata records) is built as records
//! and serialized. More than twice as fast as building and serializing
//! records; see `docs/performance.md`.
//!
//! # References
//! Debezium's PostgreSQL connector documentation (data change events, data
//! type mappings, transaction metadata, connector properties) and its
//! `io.debezium.connector.postgresql` sources; the project's
//! `docs/debezium-compatibility.md` lists what is covered.

#[cfg(doc)]
use tidewater_connect::ConnectRecord;
#[cfg(doc)]
use tidewater_pgoutput::ChangeEvent;

mod builder;
mod catalog;
mod config;
mod error;
mod fast;
mod hstore;
mod javamap;
mod temporal;
mod types;

pub use builder::{EnvelopeBuilder, JsonRecord, JsonRecords, TIDEWATER_VERSION, TableSchemas};
pub use catalog::{Clock, FixedClock, SystemClock, TableCatalog, TableInfo};
pub use config::{
    BinaryMode, CONFIG_KEYS, DecimalMode, EnvelopeConfig, HstoreMode, IntervalMode, KeyColumnsRule,
    TimePrecisionMode,
};
pub use error::{EnvelopeError, Result};
