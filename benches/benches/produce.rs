//! Produce throughput of the Kafka sink against a local broker.
//!
//! A tansu broker (in-memory storage) is started on loopback by the test kit. For each
//! `compression.type` the benchmark sends 20,000 records (keys `order-N`, 500-byte JSON-like
//! values, one header) to a 4-partition topic through `KafkaSink` and waits for every
//! delivery (`send` + `flush`, acks=all): one iteration is "20,000 records durable". The
//! same records go out every iteration.
//!
//! Producer settings: `batch.size` 262144, `linger.ms` 5, `buffer.memory` 32 MiB, the rest
//! at their defaults. Criterion reports records/s; MB/s is records/s × 500 value bytes
//! (before compression). A fresh broker serves each compression type.
//!
//! A second group, `produce-defaults`, sends the way the pipeline's sink stage does with
//! the producer's defaults (`batch.size` 16384, `linger.ms` 5, no compression): a
//! 1-partition topic, 20,000 records handed over in `send` calls of 2,048 (the pipeline's
//! `max.batch.size`) with `acknowledged` polled after each, then `flush`. Values of 500
//! bytes and of 4,200 bytes (the size of a Debezium change event of a 10-column row with
//! `schemas.enable=true`). After the group, the sink's request counters are printed
//! (records per produce request).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark driver: a failure to set up or deliver aborts the run"
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use tidewater_kafka::{Compression, KafkaSink, ProducerConfig, ProducerRecord, Sink};
use tidewater_testkit::Broker;

const RECORDS: usize = 20_000;
const VALUE_SIZE: usize = 500;

/// A 500-byte value shaped like a Debezium change event in JSON: repetitive field names,
/// varying numbers and text, so that compression has realistic work to do.
fn value(i: usize) -> Bytes {
    let mut v = format!(
        "{{\"before\":null,\"after\":{{\"id\":{i},\"customer_id\":{},\"status\":\"{}\",\
         \"amount\":\"{}.{:02}\",\"email\":\"customer{}@example.com\",\"note\":\"",
        i * 7919 % 100_003,
        ["new", "paid", "shipped", "cancelled"][i % 4],
        i * 37 % 10_000,
        i % 100,
        i % 5000,
    );
    let mut n = i;
    while v.len() < VALUE_SIZE - 2 {
        // Pseudo-random lowercase text.
        n = n
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let c = b'a' + u8::try_from((n >> 33) % 26).unwrap();
        v.push(char::from(c));
    }
    v.push_str("\"}");
    v.truncate(VALUE_SIZE);
    Bytes::from(v)
}

fn records(topic: &str) -> Vec<ProducerRecord> {
    records_of(topic, VALUE_SIZE)
}

/// `RECORDS` records whose values are `size` bytes (repeating the 500-byte value).
fn records_of(topic: &str, size: usize) -> Vec<ProducerRecord> {
    (0..RECORDS)
        .map(|i| {
            let base = value(i);
            let value: Vec<u8> = base.iter().copied().cycle().take(size).collect();
            ProducerRecord::new(topic)
                .key(format!("order-{i}"))
                .value(value)
                .header("source", "bench")
                .timestamp(1_700_000_000_000 + i64::try_from(i).unwrap())
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let mut group = c.benchmark_group("produce");
    group
        .throughput(Throughput::Elements(RECORDS as u64))
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for compression in Compression::ALL {
        // A fresh broker per compression type: each starts from an empty in-memory store.
        let broker = Broker::start().expect("tansu starts (scripts/setup.sh installs it)");
        let topic = format!("bench-{compression}");
        let batch = records(&topic);
        let config = ProducerConfig::from_properties([
            ("bootstrap.servers", broker.bootstrap().as_str()),
            ("compression.type", compression.as_str()),
            ("batch.size", "262144"),
            ("linger.ms", "5"),
            ("topic.creation.default.partitions", "4"),
        ])
        .unwrap();
        let mut sink = runtime.block_on(KafkaSink::connect(config)).unwrap();
        group.bench_function(compression.as_str(), |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let started = Instant::now();
                    for _ in 0..iters {
                        sink.send(batch.clone()).await.unwrap();
                        let delivered = sink.flush().await.unwrap();
                        assert_eq!(delivered.len(), RECORDS);
                    }
                    started.elapsed()
                })
            });
        });
        runtime.block_on(sink.close()).unwrap();
    }
    group.finish();
}

/// CPU time (user + system) of this process so far, from /proc/self/stat.
fn own_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// The pipeline's way of sending, with the producer's defaults, to one partition.
fn bench_defaults(c: &mut Criterion) {
    const SEND: usize = 2048;
    // Named, so that profiles tell the producer's threads from tansu's (also Tokio's).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("tidewater-rt")
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let broker = Broker::start().expect("tansu starts (scripts/setup.sh installs it)");
    let mut group = c.benchmark_group("produce-defaults");
    group
        .throughput(Throughput::Elements(RECORDS as u64))
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for size in [500, 4200] {
        let topic = format!("defaults-{size}");
        let batch = records_of(&topic, size);
        let config = ProducerConfig::from_properties([
            ("bootstrap.servers", broker.bootstrap().as_str()),
            ("topic.creation.default.partitions", "1"),
        ])
        .unwrap();
        let mut sink = runtime.block_on(KafkaSink::connect(config)).unwrap();
        // This process's CPU time over every timed iteration (the broker's is not in it).
        let mut cpu = Duration::ZERO;
        let mut sent = 0u64;
        group.bench_function(format!("{size}B"), |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let cpu_before = own_cpu();
                    sent += iters * RECORDS as u64;
                    let started = Instant::now();
                    for _ in 0..iters {
                        let mut delivered = 0;
                        for chunk in batch.chunks(SEND) {
                            sink.send(chunk.to_vec()).await.unwrap();
                            delivered += sink.acknowledged().len();
                        }
                        delivered += sink.flush().await.unwrap().len();
                        assert_eq!(delivered, RECORDS);
                    }
                    let elapsed = started.elapsed();
                    cpu += own_cpu() - cpu_before;
                    elapsed
                })
            });
        });
        eprintln!(
            "produce-defaults/{size}B: producer process CPU {:.2} µs/record",
            cpu.as_secs_f64() * 1e6 / sent.max(1) as f64
        );
        let stats = sink.stats();
        eprintln!(
            "produce-defaults/{size}B: {} requests, {:.1} records/request, {} failed",
            stats.requests,
            stats.records_per_request(),
            stats.failed_requests
        );
        runtime.block_on(sink.close()).unwrap();
    }
    group.finish();
}

criterion_group!(benches, bench, bench_defaults);
criterion_main!(benches);
