//! What keeps the Kafka sink fast with small produce requests, against a real broker (tansu
//! from the test kit). These tests check sockets and request counters, not timings.
//!
//! * rskafka writes a request as its 4-byte length, then its body. With Nagle's algorithm
//!   on, a body shorter than the MSS (65,483 bytes on loopback) waits for the broker's
//!   delayed ACK of the length, about 40 ms, so each partition moved one `batch.size` (16 KB
//!   by default) per 40 ms. The workspace patches rskafka to set `TCP_NODELAY` on every
//!   broker connection (`vendor/rskafka/TIDEWATER-PATCHES.md`).
//! * Records sent a few hundred at a time fill batches up to `batch.size`
//!   ([`KafkaSink::stats`]).
//! * Partitions led by the same broker share its produce requests and one connection.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "tests panic on unexpected results by design"
)]

mod common;

use std::net::{SocketAddr, TcpStream};
use std::os::fd::{BorrowedFd, RawFd};

use std::collections::BTreeMap;
use std::time::Duration;

use tidewater_kafka::{KafkaSink, ProducerRecord, Sink};
use tidewater_testkit::{Broker, kafka_consume};

use common::config;

/// This process's TCP connections to `port`: (peer address, whether `TCP_NODELAY` is set).
///
/// Walks `/proc/self/fd`, and for every socket reads its peer and its `TCP_NODELAY` through
/// a duplicate of the descriptor (closing the duplicate leaves the connection open).
fn connections_to(port: u16) -> Vec<(SocketAddr, bool)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd (Linux)") {
        let Ok(entry) = entry else { continue };
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if !target.to_string_lossy().starts_with("socket:") {
            continue;
        }
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<RawFd>() else {
            continue;
        };
        let Some(stream) = duplicate(fd) else {
            continue;
        };
        // Sockets that are not connected TCP sockets have no TCP peer.
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        if peer.port() == port {
            found.push((peer, stream.nodelay().expect("getsockopt TCP_NODELAY")));
        }
    }
    found
}

/// A duplicate of descriptor `fd` as a `TcpStream` (whatever kind of socket it is).
#[allow(
    unsafe_code,
    reason = "reading socket options of descriptors owned by the client under test"
)]
fn duplicate(fd: RawFd) -> Option<TcpStream> {
    // SAFETY: `fd` was listed in /proc/self/fd just before; the sink keeps its connections
    // open while the test looks (nothing closes them concurrently), and the borrow only
    // lives for the `F_DUPFD_CLOEXEC` call. A descriptor closed meanwhile makes the
    // duplication fail, which is skipped.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    borrowed.try_clone_to_owned().ok().map(TcpStream::from)
}

/// Every connection the sink opens to the broker (metadata, then the partition leader)
/// disables Nagle's algorithm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_connections_disable_nagle() {
    let broker = Broker::start().expect("tansu starts (scripts/setup.sh installs it)");
    let port = broker.port();
    assert!(
        connections_to(port).is_empty(),
        "no connection to the broker before the sink connects"
    );
    let mut sink = KafkaSink::connect(config(
        &broker.bootstrap(),
        &[("topic.creation.default.partitions", "2")],
    ))
    .await
    .unwrap();
    let records: Vec<ProducerRecord> = (0..100)
        .map(|i| {
            ProducerRecord::new("nagle")
                .key(format!("key-{i}"))
                .value(vec![b'x'; 400])
        })
        .collect();
    sink.send(records).await.unwrap();
    assert_eq!(sink.flush().await.unwrap().len(), 100);

    let connections = connections_to(port);
    assert!(
        !connections.is_empty(),
        "the sink's connections to port {port} were not found"
    );
    let with_nagle: Vec<SocketAddr> = connections
        .iter()
        .filter(|(_, nodelay)| !nodelay)
        .map(|(peer, _)| *peer)
        .collect();
    assert!(
        with_nagle.is_empty(),
        "{} of {} connections to the broker have Nagle's algorithm on: {with_nagle:?}",
        with_nagle.len(),
        connections.len()
    );
    sink.close().await.unwrap();
}

/// Sent the way the pipeline sends (a few hundred records per call, deliveries polled
/// between calls), records fill `batch.size`: the request counters show batches close to
/// full rather than a request per call or per record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_stream_fills_batches() {
    const RECORDS: usize = 6000;
    const VALUE: usize = 500;
    let broker = Broker::start().expect("tansu starts (scripts/setup.sh installs it)");
    let mut sink = KafkaSink::connect(config(
        &broker.bootstrap(),
        &[
            ("topic.creation.default.partitions", "1"),
            ("linger.ms", "5"),
        ],
    ))
    .await
    .unwrap();
    let batch_size = sink.config().batch_size;
    let records: Vec<ProducerRecord> = (0..RECORDS)
        .map(|i| {
            ProducerRecord::new("steady")
                .key(format!("key-{i:05}"))
                .value(vec![b'v'; VALUE])
        })
        .collect();
    let size = records[0].estimated_size();
    let mut delivered = 0;
    for chunk in records.chunks(200) {
        sink.send(chunk.to_vec()).await.unwrap();
        delivered += sink.acknowledged().len();
    }
    delivered += sink.flush().await.unwrap().len();
    assert_eq!(delivered, RECORDS);

    let stats = sink.stats();
    assert_eq!(stats.records, RECORDS as u64, "{stats:?}");
    assert_eq!(stats.bytes, (RECORDS * size) as u64, "{stats:?}");
    assert_eq!(stats.failed_requests, 0, "{stats:?}");
    // A batch closes at the first record reaching batch.size.
    let full = batch_size.div_ceil(size);
    let per_request = stats.records_per_request();
    assert!(
        per_request >= 0.75 * full as f64,
        "{per_request:.1} records per request, a full batch holds {full}: {stats:?}"
    );
    assert!(
        stats.requests <= (RECORDS as u64).div_ceil((full as u64 * 3) / 4),
        "{stats:?}"
    );
    sink.close().await.unwrap();
}

/// Reads `topic` back with librdkafka and checks that it holds `records` records once each,
/// over `partitions` partitions, each in send order. The records' values start with their
/// index in five digits and their keys are `key-<index>`.
async fn assert_read_back_in_send_order(
    broker: &Broker,
    topic: &str,
    records: usize,
    partitions: usize,
) {
    let (bootstrap, name) = (broker.bootstrap(), topic.to_owned());
    let consumed = tokio::task::spawn_blocking(move || {
        kafka_consume(&bootstrap, &name, records, Duration::from_secs(30))
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        consumed.len(),
        records,
        "librdkafka reads every record once"
    );
    let mut per_partition: BTreeMap<i32, Vec<(i64, usize)>> = BTreeMap::new();
    for record in &consumed {
        let value = record.value.as_deref().unwrap();
        let index: usize = std::str::from_utf8(&value[..5]).unwrap().parse().unwrap();
        assert_eq!(
            record.key.as_deref(),
            Some(format!("key-{index:05}").as_bytes())
        );
        per_partition
            .entry(record.partition)
            .or_default()
            .push((record.offset, index));
    }
    assert_eq!(per_partition.len(), partitions);
    for (partition, mut seen) in per_partition {
        seen.sort_unstable();
        assert!(
            seen.windows(2).all(|w| w[0].1 < w[1].1),
            "partition {partition} holds its records in send order"
        );
    }
}

/// With three partitions on one broker, a produce request carries the ready batches of all
/// of them: far more records per request than one partition's full batch, over one
/// connection for produce requests (beside the metadata connection). librdkafka reads every
/// record back once, each partition in send order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_on_one_broker_share_requests_and_a_connection() {
    const RECORDS: usize = 6000;
    const VALUE: usize = 500;
    let broker = Broker::start().expect("tansu starts (scripts/setup.sh installs it)");
    let mut sink = KafkaSink::connect(config(
        &broker.bootstrap(),
        &[
            ("topic.creation.default.partitions", "3"),
            ("linger.ms", "5"),
        ],
    ))
    .await
    .unwrap();
    let batch_size = sink.config().batch_size;
    let records: Vec<ProducerRecord> = (0..RECORDS)
        .map(|i| {
            ProducerRecord::new("shared")
                .key(format!("key-{i:05}"))
                .value(format!("{i:05}{}", "v".repeat(VALUE - 5)))
        })
        .collect();
    let size = records[0].estimated_size();
    let mut deliveries = Vec::new();
    for chunk in records.chunks(200) {
        sink.send(chunk.to_vec()).await.unwrap();
        deliveries.extend(sink.acknowledged());
    }
    let connections = connections_to(broker.port());
    deliveries.extend(sink.flush().await.unwrap());
    assert_eq!(deliveries.len(), RECORDS);
    let partitions: std::collections::BTreeSet<i32> =
        deliveries.iter().map(|d| d.partition).collect();
    assert_eq!(partitions.len(), 3, "keys spread over 3 partitions");

    let stats = sink.stats();
    assert_eq!(stats.records, RECORDS as u64, "{stats:?}");
    assert_eq!(stats.failed_requests, 0, "{stats:?}");
    let full = batch_size.div_ceil(size);
    let per_request = stats.records_per_request();
    assert!(
        per_request >= 1.5 * full as f64,
        "{per_request:.1} records per request, one partition's full batch holds {full}: {stats:?}"
    );
    assert!(
        connections.len() <= 2,
        "one connection for metadata and one for produce requests expected: {connections:?}"
    );
    sink.close().await.unwrap();

    assert_read_back_in_send_order(&broker, "shared", RECORDS, 3).await;
}

/// `max.request.size` bounds a whole produce request, as for the Java client: with room for
/// one 16 KB batch only, requests carry one batch each, and every record still arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_stay_within_max_request_size() {
    const RECORDS: usize = 3000;
    let broker = Broker::start().expect("tansu starts (scripts/setup.sh installs it)");
    let mut sink = KafkaSink::connect(config(
        &broker.bootstrap(),
        &[
            ("topic.creation.default.partitions", "3"),
            ("batch.size", "16384"),
            ("max.request.size", "24000"),
        ],
    ))
    .await
    .unwrap();
    let records: Vec<ProducerRecord> = (0..RECORDS)
        .map(|i| {
            ProducerRecord::new("bounded")
                .key(format!("key-{i:05}"))
                .value(vec![b'b'; 500])
        })
        .collect();
    let size = records[0].estimated_size();
    for chunk in records.chunks(500) {
        sink.send(chunk.to_vec()).await.unwrap();
    }
    assert_eq!(sink.flush().await.unwrap().len(), RECORDS);
    let stats = sink.stats();
    assert_eq!(stats.records, RECORDS as u64, "{stats:?}");
    // A batch closes at the first record reaching batch.size: at most this many records.
    let full = 16384usize.div_ceil(size);
    assert!(
        stats.records_per_request() <= full as f64,
        "two batches never share a request: {stats:?}"
    );
    sink.close().await.unwrap();
}

/// With `max.in.flight.requests.per.connection=5`, several requests may be out at once,
/// and each partition still has one batch in flight: librdkafka reads every record once,
/// each partition in send order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_requests_in_flight_keep_each_partitions_order() {
    const RECORDS: usize = 6000;
    let broker = Broker::start().expect("tansu starts (scripts/setup.sh installs it)");
    let mut sink = KafkaSink::connect(config(
        &broker.bootstrap(),
        &[
            ("topic.creation.default.partitions", "3"),
            ("batch.size", "4096"),
            ("max.in.flight.requests.per.connection", "5"),
        ],
    ))
    .await
    .unwrap();
    assert_eq!(sink.config().max_in_flight, 5);
    let records: Vec<ProducerRecord> = (0..RECORDS)
        .map(|i| {
            ProducerRecord::new("pipelined")
                .key(format!("key-{i:05}"))
                .value(format!("{i:05}{}", "p".repeat(300)))
        })
        .collect();
    for chunk in records.chunks(300) {
        sink.send(chunk.to_vec()).await.unwrap();
    }
    assert_eq!(sink.flush().await.unwrap().len(), RECORDS);
    assert_eq!(sink.stats().failed_requests, 0);
    sink.close().await.unwrap();

    assert_read_back_in_send_order(&broker, "pipelined", RECORDS, 3).await;
}

/// `progress` resolves as produce answers arrive, so a caller learns of every delivery
/// without `flush` or a polling timer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reports_deliveries_as_they_arrive() {
    let broker = Broker::start().expect("tansu starts (scripts/setup.sh installs it)");
    let mut sink = KafkaSink::connect(config(
        &broker.bootstrap(),
        &[
            ("topic.creation.default.partitions", "3"),
            ("batch.size", "2048"),
        ],
    ))
    .await
    .unwrap();
    let records: Vec<ProducerRecord> = (0..300)
        .map(|i| {
            ProducerRecord::new("progress")
                .key(format!("key-{i}"))
                .value(vec![b'p'; 100])
        })
        .collect();
    sink.send(records).await.unwrap();
    let mut delivered = Vec::new();
    let mut wakeups = 0;
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while delivered.len() < 300 {
            sink.progress().await;
            wakeups += 1;
            delivered.extend(sink.acknowledged());
        }
    })
    .await
    .expect("every delivery reported through progress");
    assert_eq!(delivered.len(), 300);
    // One wake-up per batch answered at most, and the answers were many: a batch closes
    // at the first record reaching 2 KB, and a request carries at most one batch of each
    // of the 3 partitions.
    let stats = sink.stats();
    assert!(
        wakeups <= stats.requests * 3,
        "{wakeups} wake-ups, {stats:?}"
    );
    assert!(
        stats.requests * 3 * (2048 + 130) >= stats.bytes,
        "{stats:?}"
    );
    assert!(sink.flush().await.unwrap().is_empty());
    sink.close().await.unwrap();
}
