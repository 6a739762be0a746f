//! Envelope + JSON throughput: `ChangeEvent` → Debezium record → JSON bytes.
//!
//! The events are inserts into a 10-column mixed-type table (the `orders`
//! table of the decode corpus: `int4` id, `int8`, `text`, `varchar(255)`,
//! `numeric(12,2)`, `bool`, `timestamptz`, `date`, `uuid`, `jsonb`), with
//! text-format values as PostgreSQL prints them. For every event the
//! benchmark runs `EnvelopeBuilder::change` (key struct, value envelope,
//! source block) and serializes key and value with the `JsonConverter` into
//! a reused buffer, as a producer would. Two groups: `schemas.enable=false`
//! and `schemas.enable=true` (the schema JSON is cached per relation version,
//! so only the payload is written per event).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark driver over fixtures known to be valid"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tidewater_connect::{JsonConverter, JsonConverterConfig};
use tidewater_envelope::{EnvelopeBuilder, EnvelopeConfig, FixedClock};
use tidewater_pgoutput::{
    ChangeEvent, ChangeKind, Column, Lsn, NoTypes, Relation, RelationColumn, ReplicaIdentity,
    TupleData,
};

const EVENTS: usize = 1000;

fn relation() -> Arc<Relation> {
    let c = |name: &str, type_oid: u32, type_modifier: i32, key: bool| RelationColumn {
        flags: u8::from(key),
        name: name.into(),
        type_oid,
        type_modifier,
    };
    Arc::new(Relation {
        xid: None,
        oid: 16_385,
        namespace: "public".into(),
        name: "orders".into(),
        replica_identity: ReplicaIdentity::Default,
        columns: vec![
            c("id", 23, -1, true),
            c("customer_id", 20, -1, false),
            c("customer_name", 25, -1, false),
            c("email", 1043, 259, false),
            c("price", 1700, ((12 << 16) | 2) + 4, false),
            c("paid", 16, -1, false),
            c("created_at", 1184, -1, false),
            c("ship_date", 1082, -1, false),
            c("order_uuid", 2950, -1, false),
            c("attributes", 3802, -1, false),
        ],
    })
}

fn events() -> Vec<ChangeEvent> {
    let rel = relation();
    (0..EVENTS)
        .map(|i| {
            let id = i.to_string();
            let customer = (1_000_000 + i * 7).to_string();
            let name = format!("Customer number {}", i % 97);
            let email = format!("customer{}@example.com", i % 89);
            let price = format!("{}.{:02}", 10 + i % 500, i % 100);
            let paid = if i % 3 == 0 { "t" } else { "f" };
            let created = format!(
                "2024-03-{:02} 12:{:02}:{:02}.{:06}+00",
                1 + i % 28,
                i % 60,
                (i * 7) % 60,
                i * 13 % 1_000_000
            );
            let ship = format!("2024-04-{:02}", 1 + i % 28);
            let uuid = format!("a0eebc99-9c0b-4ef8-bb6d-{:012x}", i * 7919);
            let attrs = format!(
                "{{\"color\": \"red\", \"size\": {}, \"gift\": false}}",
                i % 10
            );
            let cols = [
                id,
                customer,
                name,
                email,
                price,
                paid.to_string(),
                created,
                ship,
                uuid,
                attrs,
            ];
            let columns: Vec<Column<'_>> =
                cols.iter().map(|s| Column::Text(s.as_bytes())).collect();
            ChangeEvent {
                kind: ChangeKind::Insert {
                    new: TupleData::from_columns(&columns),
                },
                relation: Some(rel.clone()),
                lsn: Lsn(0x1_0000_0000 + i as u64 * 64),
                commit_lsn: Lsn(0x1_0000_0000 + (i as u64 / 20 + 1) * 64 * 20),
                xid: Some(1000 + i as u32 / 20),
                commit_time: 764_000_000_000_000 + i as i64,
                index: i as u64 % 20,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let events = events();
    let mut group = c.benchmark_group("envelope");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(30);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    for schemas in [false, true] {
        let name = if schemas {
            "json/schemas-on"
        } else {
            "json/schemas-off"
        };
        let conv = JsonConverter::new(JsonConverterConfig {
            schemas_enable: schemas,
            ..Default::default()
        });
        let mut builder = EnvelopeBuilder::new(EnvelopeConfig::new("shop", "shopdb"))
            .unwrap()
            .with_clock(Arc::new(FixedClock(1_700_000_000_000_000)));
        let mut records = Vec::with_capacity(4);
        let mut buf: Vec<u8> = Vec::with_capacity(if schemas { 16_384 } else { 2048 });
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut total = 0usize;
                for ev in &events {
                    records.clear();
                    builder.change(ev, &NoTypes, &mut records).unwrap();
                    for r in &records {
                        buf.clear();
                        conv.write(r.key_schema.as_deref(), r.key.as_ref(), &mut buf)
                            .unwrap();
                        total += buf.len();
                        buf.clear();
                        conv.write(r.value_schema.as_deref(), r.value.as_ref(), &mut buf)
                            .unwrap();
                        total += buf.len();
                    }
                }
                black_box(total)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
