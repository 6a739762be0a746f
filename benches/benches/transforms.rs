//! Transform throughput: ExtractNewRecordState + RegexRouter on Debezium
//! records of a 10-column table, measured next to what it is compared with
//! (building the records and writing them as JSON).
//!
//! The records come from `EnvelopeBuilder` for inserts into the `orders`
//! table of the decode corpus (`int4` id, `int8`, `text`, `varchar(255)`,
//! `numeric(12,2)`, `bool`, `timestamptz`, `date`, `uuid`, `jsonb`), one in
//! ten an update and one in twenty a delete (delete + tombstone), so every
//! path of the unwrap is taken. Benchmarks, all per record:
//!
//! - `chain/unwrap+route`: `TransformChain::apply` with
//!   `io.debezium.transforms.ExtractNewRecordState` (defaults) and
//!   `org.apache.kafka.connect.transforms.RegexRouter`
//!   (`([^.]+)\.([^.]+)\.([^.]+)` → `$3`), on records built beforehand
//!   (cloning the input is not timed);
//! - `chain/unwrap-rewrite+route`: the same with `drop.tombstones=false`,
//!   `delete.handling.mode=rewrite`, `add.fields=op,table,lsn,source.ts_ms`
//!   (every row is rebuilt);
//! - `envelope+json`: `EnvelopeBuilder::change` and the JSON converter
//!   (schemas off) on key and value, the work the chain is compared with;
//! - `envelope+chain+json`: the whole path with the first chain.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark driver over fixtures known to be valid"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tidewater_connect::{ConnectRecord, JsonConverter, JsonConverterConfig};
use tidewater_envelope::{EnvelopeBuilder, EnvelopeConfig, FixedClock};
use tidewater_pgoutput::{
    ChangeEvent, ChangeKind, Column, Lsn, NoTypes, OldTuple, Relation, RelationColumn,
    ReplicaIdentity, TupleData,
};
use tidewater_transforms::TransformChain;

const EVENTS: usize = 1000;

fn orders() -> Arc<Relation> {
    let col = |name: &str, type_oid: u32, type_modifier: i32, key: bool| RelationColumn {
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
        replica_identity: ReplicaIdentity::Full,
        columns: vec![
            col("id", 23, -1, true),
            col("customer_id", 20, -1, false),
            col("customer_name", 25, -1, false),
            col("email", 1043, 255 + 4, false),
            col("price", 1700, ((12 << 16) | 2) + 4, false),
            col("paid", 16, -1, false),
            col("created_at", 1184, -1, false),
            col("ship_date", 1082, -1, false),
            col("order_uuid", 2950, -1, false),
            col("attributes", 3802, -1, false),
        ],
    })
}

/// The text columns of row `i`.
fn row(i: usize) -> [String; 10] {
    [
        i.to_string(),
        (5_000_000 + i * 13).to_string(),
        format!("Customer {}", i % 101),
        format!("buyer{}@example.org", i % 83),
        format!("{}.{:02}", 20 + i % 700, i % 100),
        if i.is_multiple_of(2) { "t" } else { "f" }.to_string(),
        format!(
            "2024-05-{:02} 08:{:02}:{:02}.{:06}+00",
            1 + i % 28,
            i % 60,
            (i * 11) % 60,
            i * 17 % 1_000_000
        ),
        format!("2024-06-{:02}", 1 + i % 28),
        format!("b1ffcd88-1d2c-4ef8-aa6d-{:012x}", i * 104_729),
        format!(
            "{{\"channel\": \"web\", \"items\": {}, \"coupon\": null}}",
            i % 9
        ),
    ]
}

fn tuple(cols: &[String]) -> TupleData {
    let columns: Vec<Column<'_>> = cols.iter().map(|s| Column::Text(s.as_bytes())).collect();
    TupleData::from_columns(&columns)
}

fn events() -> Vec<ChangeEvent> {
    let rel = orders();
    (0..EVENTS)
        .map(|i| {
            let kind = if i % 20 == 19 {
                ChangeKind::Delete {
                    old: OldTuple::Full(tuple(&row(i - 1))),
                }
            } else if i % 10 == 9 {
                ChangeKind::Update {
                    old: Some(OldTuple::Full(tuple(&row(i - 1)))),
                    new: tuple(&row(i - 1)),
                }
            } else {
                ChangeKind::Insert {
                    new: tuple(&row(i)),
                }
            };
            ChangeEvent {
                kind,
                relation: Some(rel.clone()),
                lsn: Lsn(0x2_0000_0000 + i as u64 * 64),
                commit_lsn: Lsn(0x2_0000_0000 + (i as u64 / 25 + 1) * 64 * 25),
                xid: Some(2000 + i as u32 / 25),
                commit_time: 770_000_000_000_000 + i as i64,
                index: i as u64 % 25,
            }
        })
        .collect()
}

fn builder() -> EnvelopeBuilder {
    EnvelopeBuilder::new(EnvelopeConfig::new("shop", "shopdb"))
        .unwrap()
        .with_clock(Arc::new(FixedClock(1_700_000_000_000_000)))
}

fn records(events: &[ChangeEvent]) -> Vec<ConnectRecord> {
    let mut b = builder();
    let mut out = Vec::with_capacity(events.len() + events.len() / 10);
    for ev in events {
        b.change(ev, &NoTypes, &mut out).unwrap();
    }
    out
}

fn chain(extra: &[(&str, &str)]) -> TransformChain {
    let mut config = vec![
        ("transforms", "unwrap,route"),
        (
            "transforms.unwrap.type",
            "io.debezium.transforms.ExtractNewRecordState",
        ),
        (
            "transforms.route.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.route.regex", "([^.]+)\\.([^.]+)\\.([^.]+)"),
        ("transforms.route.replacement", "$3"),
    ];
    config.extend_from_slice(extra);
    TransformChain::from_config(config).unwrap()
}

fn bench(c: &mut Criterion) {
    let events = events();
    let input = records(&events);
    let mut group = c.benchmark_group("transforms");
    group.sample_size(30);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));

    // Per record that enters the chain.
    group.throughput(Throughput::Elements(input.len() as u64));
    for (name, chain) in [
        ("chain/unwrap+route", chain(&[])),
        (
            "chain/unwrap-rewrite+route",
            chain(&[
                ("transforms.unwrap.drop.tombstones", "false"),
                ("transforms.unwrap.delete.handling.mode", "rewrite"),
                ("transforms.unwrap.add.fields", "op,table,lsn,source.ts_ms"),
            ]),
        ),
    ] {
        // Sanity: the chain keeps the inserts and routes them.
        let out = chain.apply(input[0].clone()).unwrap().unwrap();
        assert_eq!(&*out.topic, "orders");
        group.bench_function(name, |b| {
            b.iter_batched(
                || input.clone(),
                |records| {
                    let mut kept = 0usize;
                    for r in records {
                        if let Some(out) = chain.apply(r).unwrap() {
                            kept += black_box(out).topic.len();
                        }
                    }
                    kept
                },
                BatchSize::LargeInput,
            )
        });
    }

    let conv = JsonConverter::new(JsonConverterConfig {
        schemas_enable: false,
        ..Default::default()
    });
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut out = Vec::with_capacity(4);
    let mut b_plain = builder();
    group.bench_function("envelope+json", |b| {
        b.iter(|| {
            let mut total = 0usize;
            for ev in &events {
                out.clear();
                b_plain.change(ev, &NoTypes, &mut out).unwrap();
                for r in &out {
                    buf.clear();
                    conv.write(r.key_schema.as_deref(), r.key.as_ref(), &mut buf)
                        .unwrap();
                    conv.write(r.value_schema.as_deref(), r.value.as_ref(), &mut buf)
                        .unwrap();
                    total += buf.len();
                }
            }
            black_box(total)
        })
    });

    let full = chain(&[]);
    let mut b_full = builder();
    group.bench_function("envelope+chain+json", |b| {
        b.iter(|| {
            let mut total = 0usize;
            for ev in &events {
                out.clear();
                b_full.change(ev, &NoTypes, &mut out).unwrap();
                for r in out.drain(..) {
                    if let Some(r) = full.apply(r).unwrap() {
                        buf.clear();
                        conv.write(r.key_schema.as_deref(), r.key.as_ref(), &mut buf)
                            .unwrap();
                        conv.write(r.value_schema.as_deref(), r.value.as_ref(), &mut buf)
                            .unwrap();
                        total += buf.len();
                    }
                }
            }
            black_box(total)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
