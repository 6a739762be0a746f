//! Debezium records built by the envelope crate, exactly as the connector
//! would emit them, for the transform tests.
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

use std::sync::Arc;

use tidewater_connect::{
    ConnectRecord, Converter, JsonConverter, JsonConverterConfig, Schema, Value,
};
use tidewater_envelope::{EnvelopeBuilder, EnvelopeConfig, FixedClock};
use tidewater_pgoutput::*;

/// Processing time of every event: 2023-11-14T22:13:20.123456Z.
pub const NOW_MICROS: i64 = 1_700_000_000_123_456;
/// Commit time: 2020-04-01T11:51:02.123456Z, as PostgreSQL micros.
pub const COMMIT_UNIX_MICROS: i64 = 1_585_741_862_123_456;
pub const COMMIT_PG_MICROS: i64 = COMMIT_UNIX_MICROS - 946_684_800_000_000;

pub fn col(name: &str, type_oid: u32, key: bool) -> RelationColumn {
    RelationColumn {
        flags: u8::from(key),
        name: name.into(),
        type_oid,
        type_modifier: -1,
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

/// A table and an envelope builder for it.
pub struct Table {
    pub rel: Arc<Relation>,
    pub builder: EnvelopeBuilder,
    lsn: u64,
}

impl Table {
    /// `server1.public.<name>` with the given columns.
    pub fn new(name: &str, columns: Vec<RelationColumn>, config: &[(&str, &str)]) -> Table {
        let rel = Arc::new(Relation {
            xid: None,
            oid: 16_384 + name.len() as u32,
            namespace: "public".into(),
            name: name.into(),
            replica_identity: ReplicaIdentity::Default,
            columns,
        });
        let mut pairs = vec![("topic.prefix", "server1"), ("database.dbname", "postgres")];
        pairs.extend_from_slice(config);
        let builder = EnvelopeBuilder::new(EnvelopeConfig::from_pairs(pairs).unwrap())
            .unwrap()
            .with_clock(Arc::new(FixedClock(NOW_MICROS)));
        Table {
            rel,
            builder,
            lsn: 0x1000,
        }
    }

    /// `customers (id int4 key, name text, email text)`.
    pub fn customers() -> Table {
        Table::new(
            "customers",
            vec![
                col("id", 23, true),
                col("name", 25, false),
                col("email", 25, false),
            ],
            &[("skipped.operations", "none")],
        )
    }

    fn event(&mut self, kind: ChangeKind) -> Vec<ConnectRecord> {
        self.lsn += 0x10;
        let ev = ChangeEvent {
            kind,
            relation: Some(self.rel.clone()),
            lsn: Lsn(self.lsn),
            commit_lsn: Lsn(24_023_200),
            xid: Some(555),
            commit_time: COMMIT_PG_MICROS,
            index: 0,
        };
        let mut out = Vec::new();
        self.builder.change(&ev, &NoTypes, &mut out).unwrap();
        out
    }

    pub fn insert(&mut self, row: &[Option<&str>]) -> ConnectRecord {
        self.event(ChangeKind::Insert { new: tuple(row) }).remove(0)
    }

    pub fn read(&mut self, row: &[Option<&str>]) -> ConnectRecord {
        self.event(ChangeKind::Read {
            new: tuple(row),
            snapshot: SnapshotMarker::Middle,
        })
        .remove(0)
    }

    pub fn update(&mut self, old: Option<&[Option<&str>]>, new: &[Option<&str>]) -> ConnectRecord {
        self.event(ChangeKind::Update {
            old: old.map(|o| OldTuple::Full(tuple(o))),
            new: tuple(new),
        })
        .remove(0)
    }

    /// The delete event and its tombstone.
    pub fn delete(&mut self, old: &[Option<&str>]) -> (ConnectRecord, ConnectRecord) {
        let mut out = self.event(ChangeKind::Delete {
            old: OldTuple::Full(tuple(old)),
        });
        assert_eq!(out.len(), 2, "delete + tombstone");
        let tomb = out.pop().unwrap();
        (out.pop().unwrap(), tomb)
    }

    pub fn truncate(&mut self) -> ConnectRecord {
        let mut out = self.event(ChangeKind::Truncate {
            cascade: false,
            restart_identity: false,
        });
        out.remove(0)
    }

    pub fn heartbeat(&self) -> ConnectRecord {
        self.builder.heartbeat()
    }
}

/// Schemaless JSON of a schema-ful value, for readable assertions.
pub fn json(schema: Option<&Arc<Schema>>, value: Option<&Value>) -> Option<serde_json::Value> {
    let conv = JsonConverter::new(JsonConverterConfig {
        schemas_enable: false,
        ..Default::default()
    });
    conv.serialize("t", schema.map(|s| &**s), value)
        .unwrap()
        .map(|b| serde_json::from_slice(&b).unwrap())
}

/// The JSON of a schema (the converter's `schema` node).
pub fn schema_json(schema: &Arc<Schema>, value: &Value) -> serde_json::Value {
    let conv = JsonConverter::new(JsonConverterConfig::default());
    let bytes = conv
        .serialize("t", Some(schema), Some(value))
        .unwrap()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["schema"].clone()
}

/// The value of a record as schemaless JSON.
pub fn value_json(r: &ConnectRecord) -> Option<serde_json::Value> {
    json(r.value_schema.as_ref(), r.value.as_ref())
}

/// The key of a record as schemaless JSON.
pub fn key_json(r: &ConnectRecord) -> Option<serde_json::Value> {
    json(r.key_schema.as_ref(), r.key.as_ref())
}

/// Checks that key and value fit their schemas.
pub fn assert_consistent(r: &ConnectRecord) {
    if let Some(s) = &r.key_schema {
        tidewater_connect::validate(s, r.key.as_ref()).unwrap();
    }
    if let Some(s) = &r.value_schema {
        tidewater_connect::validate(s, r.value.as_ref()).unwrap();
    }
    for h in &r.headers {
        if let Some(s) = &h.schema {
            tidewater_connect::validate(s, h.value.as_ref()).unwrap();
        }
    }
}

/// Header values as `key=json` strings, in order.
pub fn headers(r: &ConnectRecord) -> Vec<String> {
    r.headers
        .iter()
        .map(|h| {
            let v = match (&h.schema, &h.value) {
                (Some(_), None) | (None, None) => "null".to_string(),
                (s, Some(v)) => json(s.as_ref(), Some(v))
                    .map(|j| j.to_string())
                    .unwrap_or_else(|| format!("{v:?}")),
            };
            format!("{}={}", h.key, v)
        })
        .collect()
}

/// A transform chain from `(key, value)` pairs.
pub fn chain(pairs: &[(&str, &str)]) -> tidewater_transforms::TransformChain {
    tidewater_transforms::TransformChain::from_config(pairs.iter().copied()).unwrap()
}

/// Applies a chain and returns the output.
pub fn run(
    chain: &tidewater_transforms::TransformChain,
    r: ConnectRecord,
) -> Option<ConnectRecord> {
    let out = chain.apply(r).unwrap();
    if let Some(o) = &out {
        assert_consistent(o);
    }
    out
}
