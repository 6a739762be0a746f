//! Fixtures shared by the envelope tests.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses part of the fixtures"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests unwrap known-good fixtures"
)]

use std::collections::HashMap;
use std::sync::Arc;

use tidewater_connect::{Converter, JsonConverter, JsonConverterConfig, Schema, Value};
use tidewater_envelope::{EnvelopeBuilder, EnvelopeConfig, FixedClock};
use tidewater_pgoutput::*;

pub const ENUM_OID: u32 = 16_400;
pub const CITEXT_OID: u32 = 16_500;
pub const LTREE_OID: u32 = 16_510;
pub const HSTORE_OID: u32 = 16_520;

/// The processing time every test uses: 2023-11-14T22:13:20.123456Z.
pub const NOW_MICROS: i64 = 1_700_000_000_123_456;
/// Commit time of the events: 2020-04-01T11:51:02.123456Z, as PostgreSQL micros.
pub const COMMIT_UNIX_MICROS: i64 = 1_585_741_862_123_456;
pub const COMMIT_PG_MICROS: i64 = COMMIT_UNIX_MICROS - 946_684_800_000_000;

pub fn types() -> HashMap<u32, TypeInfo> {
    let mut m = HashMap::new();
    m.insert(
        ENUM_OID,
        TypeInfo {
            oid: ENUM_OID,
            namespace: "public".into(),
            name: "mood".into(),
            kind: TypeKind::Enum {
                labels: vec!["happy".into(), "sad".into()],
            },
        },
    );
    for (oid, name) in [
        (CITEXT_OID, "citext"),
        (LTREE_OID, "ltree"),
        (HSTORE_OID, "hstore"),
    ] {
        m.insert(oid, TypeInfo::named(oid, "public", name));
    }
    m
}

pub fn col(name: &str, type_oid: u32, type_modifier: i32, key: bool) -> RelationColumn {
    RelationColumn {
        flags: u8::from(key),
        name: name.into(),
        type_oid,
        type_modifier,
    }
}

pub fn relation(name: &str, columns: Vec<RelationColumn>) -> Arc<Relation> {
    Arc::new(Relation {
        xid: None,
        oid: 16_384 + name.len() as u32,
        namespace: "public".into(),
        name: name.into(),
        replica_identity: ReplicaIdentity::Default,
        columns,
    })
}

pub fn event(kind: ChangeKind, rel: &Arc<Relation>, lsn: u64) -> ChangeEvent {
    ChangeEvent {
        kind,
        relation: Some(rel.clone()),
        lsn: Lsn(lsn),
        commit_lsn: Lsn(24_023_200),
        xid: Some(555),
        commit_time: COMMIT_PG_MICROS,
        index: 0,
    }
}

pub fn tuple(cols: &[Option<&str>]) -> TupleData {
    let cols: Vec<Column<'_>> = cols
        .iter()
        .map(|c| match c {
            Some(t) => Column::Text(t.as_bytes()),
            None => Column::Null,
        })
        .collect();
    TupleData::from_columns(&cols)
}

pub fn builder(pairs: &[(&str, &str)]) -> EnvelopeBuilder {
    let mut all = vec![("topic.prefix", "server1"), ("database.dbname", "postgres")];
    all.extend_from_slice(pairs);
    EnvelopeBuilder::new(EnvelopeConfig::from_pairs(all).unwrap())
        .unwrap()
        .with_clock(Arc::new(FixedClock(NOW_MICROS)))
}

pub fn to_json(
    schemas: bool,
    schema: Option<&Arc<Schema>>,
    value: Option<&Value>,
) -> Option<serde_json::Value> {
    let conv = JsonConverter::new(JsonConverterConfig {
        schemas_enable: schemas,
        ..Default::default()
    });
    conv.serialize("t", schema.map(|s| &**s), value)
        .unwrap()
        .map(|b| serde_json::from_slice(&b).unwrap())
}

pub fn to_text(
    schemas: bool,
    schema: Option<&Arc<Schema>>,
    value: Option<&Value>,
) -> Option<String> {
    let conv = JsonConverter::new(JsonConverterConfig {
        schemas_enable: schemas,
        ..Default::default()
    });
    conv.serialize("t", schema.map(|s| &**s), value)
        .unwrap()
        .map(|b| String::from_utf8(b.to_vec()).unwrap())
}

/// The source block Debezium writes for these fixtures.
pub fn source_payload(table: &str, lsn: u64, sequence: &str, snapshot: &str) -> serde_json::Value {
    serde_json::json!({
        "version": tidewater_envelope::TIDEWATER_VERSION,
        "connector": "postgresql",
        "name": "server1",
        "ts_ms": COMMIT_UNIX_MICROS / 1000,
        "snapshot": snapshot,
        "db": "postgres",
        "sequence": sequence,
        "ts_us": COMMIT_UNIX_MICROS,
        "ts_ns": COMMIT_UNIX_MICROS * 1000,
        "schema": "public",
        "table": table,
        "txId": 555,
        "lsn": lsn,
        "xmin": null,
        "origin": null,
        "origin_lsn": null
    })
}

/// The source schema, field by field, as the reference lists it.
pub fn source_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "struct",
        "fields": [
            {"type": "string", "optional": false, "field": "version"},
            {"type": "string", "optional": false, "field": "connector"},
            {"type": "string", "optional": false, "field": "name"},
            {"type": "int64", "optional": false, "field": "ts_ms"},
            {"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
             "parameters": {"allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},
             "default": "false", "field": "snapshot"},
            {"type": "string", "optional": false, "field": "db"},
            {"type": "string", "optional": true, "field": "sequence"},
            {"type": "int64", "optional": true, "field": "ts_us"},
            {"type": "int64", "optional": true, "field": "ts_ns"},
            {"type": "string", "optional": false, "field": "schema"},
            {"type": "string", "optional": false, "field": "table"},
            {"type": "int64", "optional": true, "field": "txId"},
            {"type": "int64", "optional": true, "field": "lsn"},
            {"type": "int64", "optional": true, "field": "xmin"},
            {"type": "string", "optional": true, "field": "origin"},
            {"type": "int64", "optional": true, "field": "origin_lsn"}
        ],
        "optional": false,
        "name": "io.debezium.connector.postgresql.Source",
        "version": 1
    })
}

/// The envelope schema around a value schema.
pub fn envelope_schema(table: &str, value_fields: serde_json::Value) -> serde_json::Value {
    let value = serde_json::json!({
        "type": "struct",
        "fields": value_fields,
        "optional": true,
        "name": format!("server1.public.{table}.Value")
    });
    let mut before = value.clone();
    before["field"] = "before".into();
    let mut after = value;
    after["field"] = "after".into();
    let mut source = source_schema();
    source["field"] = "source".into();
    serde_json::json!({
        "type": "struct",
        "fields": [
            before,
            after,
            source,
            {"type": "string", "optional": false, "field": "op"},
            {"type": "int64", "optional": true, "field": "ts_ms"},
            {"type": "int64", "optional": true, "field": "ts_us"},
            {"type": "int64", "optional": true, "field": "ts_ns"},
            {"type": "struct", "fields": [
                {"type": "string", "optional": false, "field": "id"},
                {"type": "int64", "optional": false, "field": "total_order"},
                {"type": "int64", "optional": false, "field": "data_collection_order"}
             ], "optional": true, "name": "event.block", "version": 1, "field": "transaction"}
        ],
        "optional": false,
        "name": format!("server1.public.{table}.Envelope"),
        "version": 2
    })
}
