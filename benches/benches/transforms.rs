//! Transform throughput: ExtractNewRecordState + RegexRouter on Debezium
//! records of a 10-column table, measured next to what it is compared with
//! (building the records and writing them as JSON).
//!
//! The records come from `EnvelopeBuilder` for changes to the `orders`
//! table of the decode corpus (`int4` id, `int8`, `text`, `varchar(255)`,
//! `numeric(12,2)`, `bool`, `timestamptz`, `date`, `uuid`, `jsonb`;
//! `tidewater_benches::orders::mixed`, replica identity `FULL`): one event in
//! ten is an update and one in twenty a delete (delete + tombstone), so
//! every path of the unwrap is taken. Benchmarks, all per record:
//!
//! - `chain/unwrap+route`: `TransformChain::apply` with
//!   `io.debezium.transforms.ExtractNewRecordState` (defaults) and
//!   `org.apache.kafka.connect.transforms.RegexRouter`
//!   (`([^.]+)\.([^.]+)\.([^.]+)` → `$3`), on records built beforehand
//!   (cloning the input is not timed; dropping what the chain consumes and
//!   returns is; a small allocation made after each cloned batch and freed
//!   after the timer keeps glibc from returning the batch's pages to the
//!   kernel inside the timed part, see `heap_pin`);
//! - `chain/unwrap-rewrite+route`: the same with `drop.tombstones=false`,
//!   `delete.handling.mode=rewrite`, `add.fields=op,table,lsn,source.ts_ms`
//!   (every row is rebuilt);
//! - `envelope+json`: `EnvelopeBuilder::change` and the JSON converter
//!   (schemas off) on key and value, the work the chain is compared with;
//! - `envelope+chain+json`: the whole path with the first chain.
//!
//! On a busy machine criterion's means drift with the load; with
//! `TRANSFORMS_RECORDS=N` the binary instead runs each benchmark over about
//! `N` records, times every pass of 1,050 records on its own (the input of a
//! chain pass is cloned outside the timed part, as above) and reports the
//! median and the mean nanoseconds per record, the thread's share of time on
//! a CPU over the run (well below 100 % means it was waiting for one), and
//! the chains' share of `envelope+json`. A pass that other processes
//! interrupted lands in the upper half, so the median stays put:
//!
//! ```sh
//! cargo bench -p tidewater-benches --bench transforms --no-run
//! TRANSFORMS_RECORDS=3000000 nice -n -19 target/release/deps/transforms-<hash>
//! ```
//!
//! `TRANSFORMS_ONLY=<part of a name>` runs only the matching benchmarks, for
//! example to count instructions per record (total over about `N` records)
//! of the timed part alone:
//!
//! ```sh
//! TRANSFORMS_RECORDS=21000 TRANSFORMS_ONLY=chain/unwrap+route valgrind --tool=callgrind \
//!     --toggle-collect='*measured*' target/release/deps/transforms-<hash>
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark driver over fixtures known to be valid"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use tidewater_benches::{env_number, orders, thread_cpu_ns};
use tidewater_connect::{ConnectRecord, JsonConverter, JsonConverterConfig};
use tidewater_envelope::EnvelopeBuilder;
use tidewater_pgoutput::{ChangeEvent, NoTypes};
use tidewater_transforms::TransformChain;

const EVENTS: usize = 1000;

fn records(events: &[ChangeEvent]) -> Vec<ConnectRecord> {
    let mut b = orders::builder().unwrap();
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

/// The two chains measured, by benchmark name.
fn chains() -> [(&'static str, TransformChain); 2] {
    [
        ("chain/unwrap+route", chain(&[])),
        (
            "chain/unwrap-rewrite+route",
            chain(&[
                ("transforms.unwrap.drop.tombstones", "false"),
                ("transforms.unwrap.delete.handling.mode", "rewrite"),
                ("transforms.unwrap.add.fields", "op,table,lsn,source.ts_ms"),
            ]),
        ),
    ]
}

/// Runs every record through the chain and drops what comes out; returns
/// the length of the output topics (so nothing can be skipped).
fn apply_all(chain: &TransformChain, records: Vec<ConnectRecord>) -> usize {
    let mut kept = 0usize;
    for r in records {
        if let Some(out) = chain.apply(r).unwrap() {
            kept += black_box(out).topic.len();
        }
    }
    kept
}

/// An allocation made right after a batch of input records, so that it
/// lies above them in the heap, and dropped only after the timed part.
///
/// Freeing a whole batch (1,050 records, about 2 MB) at once would otherwise
/// merge it into the top of glibc's heap, and `free` would then return the
/// pages to the kernel (`brk`, page unmapping) inside the timed part, and
/// the next batch fault them back in: up to about 40 % of the chain's time
/// on this machine, whether it happens depending on which small allocations
/// happen to stay live between batches. A pipeline frees records one by one
/// in a heap that stays in use and does not pay this.
fn heap_pin() -> Vec<u8> {
    let mut pin = Vec::with_capacity(4096);
    pin.push(1u8);
    black_box(pin)
}

/// Events → records (`EnvelopeBuilder::change`) → JSON key and value,
/// optionally through a chain in between; returns the JSON bytes written.
struct RecordPath {
    builder: EnvelopeBuilder,
    conv: JsonConverter,
    chain: Option<TransformChain>,
    out: Vec<ConnectRecord>,
    buf: Vec<u8>,
}

impl RecordPath {
    fn new(chain: Option<TransformChain>) -> RecordPath {
        RecordPath {
            builder: orders::builder().unwrap(),
            conv: JsonConverter::new(JsonConverterConfig {
                schemas_enable: false,
                ..Default::default()
            }),
            chain,
            out: Vec::with_capacity(4),
            buf: Vec::with_capacity(4096),
        }
    }

    fn write(&mut self, r: &ConnectRecord) -> usize {
        self.buf.clear();
        self.conv
            .write(r.key_schema.as_deref(), r.key.as_ref(), &mut self.buf)
            .unwrap();
        self.conv
            .write(r.value_schema.as_deref(), r.value.as_ref(), &mut self.buf)
            .unwrap();
        self.buf.len()
    }

    fn run(&mut self, events: &[ChangeEvent]) -> usize {
        let mut total = 0usize;
        for ev in events {
            self.out.clear();
            self.builder.change(ev, &NoTypes, &mut self.out).unwrap();
            let mut out = std::mem::take(&mut self.out);
            for r in out.drain(..) {
                let r = match &self.chain {
                    Some(chain) => chain.apply(r).unwrap(),
                    None => Some(r),
                };
                if let Some(r) = r {
                    total += self.write(&r);
                }
            }
            self.out = out;
        }
        total
    }
}

fn bench(c: &mut Criterion) {
    let events = orders::mixed(EVENTS);
    let input = records(&events);
    let mut group = c.benchmark_group("transforms");
    group.sample_size(30);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));

    // Per record that enters the chain.
    group.throughput(Throughput::Elements(input.len() as u64));
    for (name, chain) in chains() {
        // Sanity: the chain keeps the inserts and routes them.
        let out = chain.apply(input[0].clone()).unwrap().unwrap();
        assert_eq!(&*out.topic, "orders");
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let records = input.clone();
                    (records, heap_pin())
                },
                // The pin goes out with the result and is dropped after
                // the timer stops.
                |(records, pin)| (apply_all(&chain, records), pin),
                BatchSize::LargeInput,
            )
        });
    }

    let mut plain = RecordPath::new(None);
    group.bench_function("envelope+json", |b| {
        b.iter(|| black_box(plain.run(&events)))
    });
    let mut full = RecordPath::new(Some(chain(&[])));
    group.bench_function("envelope+chain+json", |b| {
        b.iter(|| black_box(full.run(&events)))
    });
    group.finish();
}

/// The timed passes, in a function of their own so that
/// `valgrind --tool=callgrind --toggle-collect='*measured*'` counts only them.
#[inline(never)]
fn measured<I>(input: I, run: &mut impl FnMut(I) -> usize) -> usize {
    run(input)
}

/// Median and mean nanoseconds per record of `run` over about `n` records
/// (whole passes of `per_pass` records), each pass timed on its own after
/// `prepare` (not timed) made its input. `None` when `name` is filtered out.
fn per_record<I>(
    name: &str,
    n: usize,
    per_pass: usize,
    mut prepare: impl FnMut() -> I,
    mut run: impl FnMut(I) -> usize,
) -> Option<f64> {
    if std::env::var("TRANSFORMS_ONLY").is_ok_and(|only| !name.contains(&only)) {
        return None;
    }
    let passes = n.div_ceil(per_pass);
    for _ in 0..(passes / 10).clamp(1, 100) {
        black_box(run(prepare()));
    }
    let mut times = Vec::with_capacity(passes);
    let (cpu0, wall0) = (thread_cpu_ns(), Instant::now());
    for _ in 0..passes {
        let input = prepare();
        let pin = heap_pin();
        let start = Instant::now();
        black_box(measured(input, &mut run));
        times.push(start.elapsed());
        drop(pin);
    }
    let on_cpu = (thread_cpu_ns() - cpu0) as f64 / wall0.elapsed().as_nanos() as f64;
    times.sort_unstable();
    let per = |d: Duration| d.as_nanos() as f64 / per_pass as f64;
    let median = per(times[passes / 2]);
    let mean = per(times.iter().sum::<Duration>()) / passes as f64;
    println!(
        "{name:<28} {median:>7.1} ns/record median, {mean:>7.1} mean ({passes} passes, {:.0} % on a CPU)",
        on_cpu * 100.0
    );
    Some(median)
}

fn timed_main(n: usize) {
    let events = orders::mixed(EVENTS);
    let input = records(&events);
    println!("{} records per pass", input.len());
    let mut shares = Vec::new();
    for (name, chain) in chains() {
        let ns = per_record(
            name,
            n,
            input.len(),
            || input.clone(),
            |records| apply_all(&chain, records),
        );
        shares.extend(ns.map(|ns| (name, ns)));
    }
    let mut plain = RecordPath::new(None);
    let base = per_record(
        "envelope+json",
        n,
        input.len(),
        || (),
        |()| plain.run(&events),
    );
    let mut full = RecordPath::new(Some(chain(&[])));
    per_record(
        "envelope+chain+json",
        n,
        input.len(),
        || (),
        |()| full.run(&events),
    );
    if let Some(base) = base {
        for (name, ns) in shares {
            println!(
                "{name:<28} {:>6.1} % of envelope+json (medians)",
                ns / base * 100.0
            );
        }
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Some(n) = env_number("TRANSFORMS_RECORDS") {
        timed_main(n);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
