//! Envelope + JSON throughput: `ChangeEvent` → Debezium record → JSON bytes.
//!
//! The events are inserts into a 10-column mixed-type table (the `orders`
//! table of the decode corpus: `int4` id, `int8`, `text`, `varchar(255)`,
//! `numeric(12,2)`, `bool`, `timestamptz`, `date`, `uuid`, `jsonb`), with
//! text-format values as PostgreSQL prints them. For every event the
//! benchmark measures two ways from event to JSON, each with
//! `schemas.enable=false` and `schemas.enable=true` (the schema JSON is
//! cached per relation version, so only the payload is written per event):
//!
//! - `json/…`: the record path. `EnvelopeBuilder::change` builds the record
//!   (key struct, value envelope, source block) and the `JsonConverter`
//!   serializes key and value into a reused buffer, as a producer would
//!   after transforms;
//! - `direct/…`: `EnvelopeBuilder::change_json` writes the same bytes
//!   straight from the event into a reused `JsonRecords`, as a pipeline
//!   without transforms does.
//!
//! On a busy machine wall-clock figures drift; with `ENVELOPE_CPU_EVENTS=N`
//! the binary instead runs each variant over `N` events and reports events
//! per second of the thread's CPU time (`/proc/thread-self/schedstat`) next
//! to wall-clock time:
//!
//! ```sh
//! cargo bench -p tidewater-benches --bench envelope --no-run
//! ENVELOPE_CPU_EVENTS=3000000 target/release/deps/envelope-<hash>
//! ```
//!
//! `ENVELOPE_ONLY=<part of a label>` runs only the matching variants, for
//! example to count instructions per event (total over `N` events):
//!
//! ```sh
//! ENVELOPE_CPU_EVENTS=10000 ENVELOPE_ONLY=direct/schemas-off valgrind --tool=callgrind \
//!     --toggle-collect='*measured*' target/release/deps/envelope-<hash>
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark driver over fixtures known to be valid"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use tidewater_connect::{JsonConverter, JsonConverterConfig};
use tidewater_envelope::{EnvelopeBuilder, EnvelopeConfig, FixedClock, JsonRecords};
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

/// Builds records with `EnvelopeBuilder::change` and serializes key and
/// value with the converter; returns the number of JSON bytes written.
struct TreePath {
    conv: JsonConverter,
    builder: EnvelopeBuilder,
    records: Vec<tidewater_connect::ConnectRecord>,
    buf: Vec<u8>,
}

impl TreePath {
    fn new(schemas: bool) -> TreePath {
        TreePath {
            conv: JsonConverter::new(JsonConverterConfig {
                schemas_enable: schemas,
                ..Default::default()
            }),
            builder: EnvelopeBuilder::new(EnvelopeConfig::new("shop", "shopdb"))
                .unwrap()
                .with_clock(Arc::new(FixedClock(1_700_000_000_000_000))),
            records: Vec::with_capacity(4),
            buf: Vec::with_capacity(if schemas { 16_384 } else { 2048 }),
        }
    }

    fn run(&mut self, events: &[ChangeEvent]) -> usize {
        let mut total = 0usize;
        for ev in events {
            self.records.clear();
            self.builder
                .change(ev, &NoTypes, &mut self.records)
                .unwrap();
            for r in &self.records {
                self.buf.clear();
                self.conv
                    .write(r.key_schema.as_deref(), r.key.as_ref(), &mut self.buf)
                    .unwrap();
                total += self.buf.len();
                self.buf.clear();
                self.conv
                    .write(r.value_schema.as_deref(), r.value.as_ref(), &mut self.buf)
                    .unwrap();
                total += self.buf.len();
            }
        }
        total
    }
}

/// Writes the records' JSON straight from the events with
/// `EnvelopeBuilder::change_json`; returns the number of JSON bytes written.
struct DirectPath {
    conv: JsonConverter,
    builder: EnvelopeBuilder,
    out: JsonRecords,
}

impl DirectPath {
    fn new(schemas: bool) -> DirectPath {
        DirectPath {
            conv: JsonConverter::new(JsonConverterConfig {
                schemas_enable: schemas,
                ..Default::default()
            }),
            builder: EnvelopeBuilder::new(EnvelopeConfig::new("shop", "shopdb"))
                .unwrap()
                .with_clock(Arc::new(FixedClock(1_700_000_000_000_000))),
            out: JsonRecords::new(),
        }
    }

    fn run(&mut self, events: &[ChangeEvent]) -> usize {
        let mut total = 0usize;
        for ev in events {
            self.out.clear();
            self.builder
                .change_json(ev, &NoTypes, &self.conv, &mut self.out)
                .unwrap();
            total += self.out.bytes().len();
        }
        total
    }
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
        let mut path = TreePath::new(schemas);
        group.bench_function(name, |b| b.iter(|| black_box(path.run(&events))));
    }
    for schemas in [false, true] {
        let name = if schemas {
            "direct/schemas-on"
        } else {
            "direct/schemas-off"
        };
        let mut path = DirectPath::new(schemas);
        group.bench_function(name, |b| b.iter(|| black_box(path.run(&events))));
    }
    group.finish();
}

/// Nanoseconds this thread has spent on a CPU.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The measured passes, in a function of their own so that
/// `valgrind --tool=callgrind --toggle-collect='*measured*'` counts only them.
#[inline(never)]
fn measured(passes: usize, run: &mut impl FnMut() -> usize) {
    for _ in 0..passes {
        black_box(run());
    }
}

/// Runs `run` over `n` events (whole passes over the corpus) after a short
/// warm-up and prints events/s by thread CPU time and by wall-clock time.
fn cpu_time(label: &str, n: usize, bytes_per: impl Fn() -> usize, mut run: impl FnMut() -> usize) {
    if std::env::var("ENVELOPE_ONLY").is_ok_and(|only| !label.contains(&only)) {
        return;
    }
    let passes = n.div_ceil(EVENTS);
    for _ in 0..(passes / 10).clamp(1, 200) {
        black_box(run());
    }
    let (cpu0, wall0) = (thread_cpu_ns(), Instant::now());
    measured(passes, &mut run);
    let (cpu, wall) = (thread_cpu_ns() - cpu0, wall0.elapsed());
    let events = (passes * EVENTS) as f64;
    println!(
        "{label:<28} {:>9.0} events/s CPU ({:.3} µs/event), {:>9.0} events/s wall, {} JSON bytes/event",
        events / (cpu as f64 / 1e9),
        cpu as f64 / 1e3 / events,
        events / wall.as_secs_f64(),
        bytes_per(),
    );
}

fn cpu_main(n: usize) {
    let events = events();
    for schemas in [false, true] {
        let mut path = TreePath::new(schemas);
        let per = path.run(&events) / EVENTS;
        let label = if schemas {
            "records+json/schemas-on"
        } else {
            "records+json/schemas-off"
        };
        cpu_time(label, n, || per, || path.run(&events));
    }
    for schemas in [false, true] {
        let mut path = DirectPath::new(schemas);
        let per = path.run(&events) / EVENTS;
        // Same bytes as the record path.
        let mut tree = TreePath::new(schemas);
        assert_eq!(per, tree.run(&events) / EVENTS);
        let label = if schemas {
            "direct/schemas-on"
        } else {
            "direct/schemas-off"
        };
        cpu_time(label, n, || per, || path.run(&events));
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Some(n) = std::env::var("ENVELOPE_CPU_EVENTS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        cpu_main(n);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
