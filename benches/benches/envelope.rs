//! Envelope + JSON throughput: `ChangeEvent` → Debezium record → JSON bytes.
//!
//! The events are inserts into a 10-column mixed-type table (the `orders`
//! table of the decode corpus: `int4` id, `int8`, `text`, `varchar(255)`,
//! `numeric(12,2)`, `bool`, `timestamptz`, `date`, `uuid`, `jsonb`), with
//! text-format values as PostgreSQL prints them (`tidewater_benches::orders`,
//! shared with the transforms benchmark). For every event the
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
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use tidewater_benches::{env_number, orders, thread_cpu_ns};
use tidewater_connect::{JsonConverter, JsonConverterConfig};
use tidewater_envelope::{EnvelopeBuilder, JsonRecords};
use tidewater_pgoutput::{ChangeEvent, NoTypes};

const EVENTS: usize = 1000;

fn events() -> Vec<ChangeEvent> {
    orders::inserts(EVENTS)
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
            builder: orders::builder().unwrap(),
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
            builder: orders::builder().unwrap(),
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
    if let Some(n) = env_number("ENVELOPE_CPU_EVENTS") {
        cpu_main(n);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
