//! The Kafka sink when things go wrong, against a real broker (tansu from the test kit): a
//! broker restart mid-stream, an unreachable broker, a missing topic, oversized records,
//! full buffers and undeliverable records. Timeouts are short, so every failure shows in
//! seconds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "tests panic on unexpected results by design"
)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tidewater_kafka::{Delivery, KafkaSink, ProducerRecord, Sink, SinkError};
use tidewater_testkit::{Broker, kafka_consume, kafka_create_topic};

use common::config;

/// The broker is stopped while records stream in and started again (SQLite storage keeps its
/// data): every record is delivered, each partition holds the records in send order (a batch
/// whose answer was lost may appear twice, in place), and deliveries reported while the broker
/// was down are only those it had acknowledged before.
const TOTAL: usize = 3000;
const TOPIC: &str = "restart";

/// Sends records `from..from + 50` (at most up to `TOTAL`); returns how many.
async fn send_chunk(sink: &mut KafkaSink, from: usize) -> usize {
    let chunk: Vec<ProducerRecord> = (from..(from + 50).min(TOTAL))
        .map(|i| {
            ProducerRecord::new(TOPIC)
                .key(format!("key-{}", i % 25))
                .value(format!("{i:06}"))
        })
        .collect();
    let n = chunk.len();
    sink.send(chunk).await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_mid_stream_loses_nothing_and_keeps_order() {
    let broker = Arc::new(Broker::start_persistent().expect("tansu with SQLite starts"));
    let bootstrap = broker.bootstrap();
    let topic = TOPIC;
    kafka_create_topic(&bootstrap, topic, 3).unwrap();
    let mut sink = KafkaSink::connect(config(
        &bootstrap,
        &[
            ("request.timeout.ms", "2000"),
            ("delivery.timeout.ms", "30000"),
            ("batch.size", "2048"),
            // Metadata goes stale while the broker is down: the refresh fails, and sending
            // goes on with the partition count already known.
            ("metadata.max.age.ms", "500"),
        ],
    ))
    .await
    .unwrap();

    let mut deliveries: Vec<Delivery> = Vec::new();
    let mut sent = 0;
    // A first third while the broker is up.
    while sent < TOTAL / 3 {
        sent += send_chunk(&mut sink, sent).await;
        deliveries.extend(sink.acknowledged());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    // Stop the broker while records keep streaming in, so requests are in flight when it
    // goes.
    let stopper = Arc::clone(&broker);
    let stopping = tokio::task::spawn_blocking(move || stopper.stop());
    while !stopping.is_finished() && sent < TOTAL / 2 {
        sent += send_chunk(&mut sink, sent).await;
        deliveries.extend(sink.acknowledged());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stopping.await.unwrap().unwrap();
    // Answers already on their way are taken in; after that nothing can be acknowledged.
    tokio::time::sleep(Duration::from_millis(500)).await;
    deliveries.extend(sink.acknowledged());
    let acknowledged_at_stop = deliveries.len();
    // By now the metadata is older than metadata.max.age.ms: the next send refreshes it,
    // which fails, and sending goes on with the known partition count.
    tokio::time::sleep(Duration::from_millis(600)).await;
    while sent < 2 * TOTAL / 3 {
        sent += send_chunk(&mut sink, sent).await;
        deliveries.extend(sink.acknowledged());
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    deliveries.extend(sink.acknowledged());
    assert_eq!(
        deliveries.len(),
        acknowledged_at_stop,
        "nothing is acknowledged while the broker is down"
    );
    assert!(acknowledged_at_stop < sent);

    let starter = Arc::clone(&broker);
    tokio::task::spawn_blocking(move || starter.restart())
        .await
        .unwrap()
        .expect("tansu restarts");
    while sent < TOTAL {
        sent += send_chunk(&mut sink, sent).await;
        deliveries.extend(sink.acknowledged());
    }
    deliveries.extend(sink.flush().await.unwrap());
    assert_eq!(deliveries.len(), TOTAL, "one delivery per record");

    // Everything up to the last delivered offset of each partition (duplicates included).
    let mut stored_count = 0;
    for partition in 0..3 {
        stored_count += deliveries
            .iter()
            .filter(|d| d.partition == partition)
            .map(|d| d.offset + 1)
            .max()
            .unwrap_or(0);
    }
    let stored_count = usize::try_from(stored_count).unwrap();
    let consumed = kafka_consume(&bootstrap, topic, stored_count, Duration::from_secs(15)).unwrap();
    assert_eq!(consumed.len(), stored_count);
    let by_position: HashMap<(i32, i64), &str> = consumed
        .iter()
        .map(|r| ((r.partition, r.offset), r.value_str().unwrap()))
        .collect();
    // Every delivery points at its own record (so none was reported before it was written).
    for (i, d) in deliveries.iter().enumerate() {
        assert_eq!(
            by_position.get(&(d.partition, d.offset)).copied(),
            Some(format!("{i:06}").as_str()),
            "delivery {i}: {d:?}"
        );
    }
    // Per partition: the records in send order, none missing; a repeat (at-least-once) only
    // re-writes records that were already there, never reorders new ones.
    let mut expected: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (i, d) in deliveries.iter().enumerate() {
        expected.entry(d.partition).or_default().push(i);
    }
    let mut stored: BTreeMap<i32, Vec<(i64, usize)>> = BTreeMap::new();
    for r in &consumed {
        stored
            .entry(r.partition)
            .or_default()
            .push((r.offset, r.value_str().unwrap().parse().unwrap()));
    }
    let mut duplicates = 0;
    for (partition, mut records) in stored {
        records.sort_unstable();
        let mut first_seen = Vec::new();
        let mut highest: Option<usize> = None;
        for (offset, value) in records {
            if highest.is_some_and(|h| value <= h) {
                duplicates += 1;
                continue;
            }
            assert!(
                highest.is_none_or(|h| value > h),
                "partition {partition} offset {offset}: {value} out of order"
            );
            highest = Some(value);
            first_seen.push(value);
        }
        assert_eq!(
            Some(&first_seen),
            expected.get(&partition),
            "partition {partition} holds every record once, in send order"
        );
    }
    eprintln!(
        "restart: {TOTAL} records, {acknowledged_at_stop} acknowledged before the stop, {duplicates} written twice"
    );
}

#[tokio::test]
async fn unreachable_broker_is_a_clear_error_in_bounded_time() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bootstrap = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let err = KafkaSink::connect(config(
        &bootstrap,
        &[
            ("max.block.ms", "1000"),
            ("request.timeout.ms", "500"),
            ("delivery.timeout.ms", "1000"),
        ],
    ))
    .await
    .unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert!(matches!(err, SinkError::Connect { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&bootstrap), "{message}");
    assert!(message.contains("1000ms"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topic_with_creation_disabled_is_an_error() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    kafka_create_topic(&bootstrap, "exists", 1).unwrap();
    let mut sink = KafkaSink::connect(config(&bootstrap, &[("topic.creation.enable", "false")]))
        .await
        .unwrap();
    sink.send(vec![ProducerRecord::new("exists").value("before")])
        .await
        .unwrap();
    let started = Instant::now();
    let err = sink
        .send(vec![ProducerRecord::new("missing").value("v")])
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(&err, SinkError::UnknownTopic { topic } if &**topic == "missing"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("topic.creation.enable=false"),
        "{err}"
    );
    // The sink is failed from that record on; the record before it is still delivered.
    assert!(matches!(
        sink.send(vec![ProducerRecord::new("exists")]).await,
        Err(SinkError::Failed { .. })
    ));
    assert!(sink.flush().await.is_err());
    let delivered = sink.acknowledged();
    assert_eq!(delivered.len(), 1);
    assert_eq!(&*delivered[0].topic, "exists");
    // Nothing was created.
    assert!(
        !tidewater_testkit::kafka_list_topics(&bootstrap)
            .unwrap()
            .contains(&"missing".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_record_is_an_error_naming_the_limit() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    let mut sink = KafkaSink::connect(config(&bootstrap, &[("max.request.size", "10000")]))
        .await
        .unwrap();
    let err = sink
        .send(vec![
            ProducerRecord::new("big").value("small"),
            ProducerRecord::new("big").value(vec![b'x'; 20_000]),
        ])
        .await
        .unwrap_err();
    match &err {
        SinkError::RecordTooLarge {
            topic,
            size,
            limit,
            limit_key,
        } => {
            assert_eq!(&**topic, "big");
            assert!(*size > 20_000);
            assert_eq!(*limit, 10_000);
            assert_eq!(*limit_key, "max.request.size");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("max.request.size"), "{err}");
    assert!(sink.flush().await.is_err());
    assert_eq!(
        sink.acknowledged().len(),
        1,
        "the record before it is delivered"
    );

    // A record larger than buffer.memory can never fit.
    let mut sink = KafkaSink::connect(config(&bootstrap, &[("buffer.memory", "4096")]))
        .await
        .unwrap();
    let err = sink
        .send(vec![ProducerRecord::new("big").value(vec![b'x'; 8_000])])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SinkError::RecordTooLarge {
                limit_key: "buffer.memory",
                ..
            }
        ),
        "{err:?}"
    );
}

/// With the broker gone for good, records fail after `delivery.timeout.ms` with topic,
/// partition and the last error; nothing is reported as delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeliverable_records_time_out_with_context() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    kafka_create_topic(&bootstrap, "gone", 1).unwrap();
    let mut sink = KafkaSink::connect(config(
        &bootstrap,
        &[
            ("request.timeout.ms", "500"),
            ("delivery.timeout.ms", "1500"),
        ],
    ))
    .await
    .unwrap();
    sink.send(vec![ProducerRecord::new("gone").value("first")])
        .await
        .unwrap();
    assert_eq!(sink.flush().await.unwrap().len(), 1);
    // Gone for good: dropping the handle kills the broker at once.
    drop(broker);

    let started = Instant::now();
    sink.send(vec![
        ProducerRecord::new("gone").value("second"),
        ProducerRecord::new("gone").value("third"),
    ])
    .await
    .unwrap();
    let err = sink.flush().await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(1400), "took {elapsed:?}");
    match &err {
        SinkError::DeliveryTimeout {
            topic,
            partition,
            records,
            attempts,
            last_error,
            ..
        } => {
            assert_eq!(&**topic, "gone");
            assert_eq!(*partition, 0);
            assert_eq!(*records, 2);
            assert!(*attempts >= 1);
            assert!(!last_error.is_empty());
        }
        other => panic!("unexpected {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("gone/0"), "{message}");
    assert!(message.contains("delivery.timeout.ms"), "{message}");
    assert!(sink.acknowledged().is_empty());
    assert!(matches!(
        sink.send(vec![ProducerRecord::new("gone")]).await,
        Err(SinkError::Failed { .. })
    ));
}

/// `buffer.memory` bounds what is queued: with the broker down, `send` waits for room and
/// gives up after `max.block.ms`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_buffer_blocks_send_then_fails_after_max_block() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    kafka_create_topic(&bootstrap, "slow", 1).unwrap();
    let mut sink = KafkaSink::connect(config(
        &bootstrap,
        &[("buffer.memory", "5000"), ("max.block.ms", "700")],
    ))
    .await
    .unwrap();
    // Metadata is known before the broker goes.
    assert_eq!(sink.partitions("slow").await.unwrap(), 1);
    drop(broker);
    let started = Instant::now();
    let records: Vec<ProducerRecord> = (0..10)
        .map(|_| ProducerRecord::new("slow").value(vec![b'x'; 1000]))
        .collect();
    let err = sink.send(records).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(
            err,
            SinkError::BufferExhausted {
                buffer_memory: 5000,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(650) && elapsed < Duration::from_secs(3),
        "took {elapsed:?}"
    );
    assert!(err.to_string().contains("max.block.ms"), "{err}");
}

/// Backpressure under load: a buffer much smaller than the data still delivers everything,
/// in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_buffer_delivers_everything_in_order() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    let mut sink = KafkaSink::connect(config(
        &bootstrap,
        &[
            ("buffer.memory", "20000"),
            ("batch.size", "4000"),
            ("topic.creation.default.partitions", "2"),
        ],
    ))
    .await
    .unwrap();
    let total = 2000;
    let records: Vec<ProducerRecord> = (0..total)
        .map(|i| {
            ProducerRecord::new("pressure")
                .key(format!("{}", i % 7))
                .value(format!("{i:05}{}", "y".repeat(200)))
        })
        .collect();
    sink.send(records).await.unwrap();
    let deliveries = sink.flush().await.unwrap();
    assert_eq!(deliveries.len(), total);
    let consumed = kafka_consume(&bootstrap, "pressure", total, Duration::from_secs(15)).unwrap();
    assert_eq!(consumed.len(), total);
    let by_position: HashMap<(i32, i64), String> = consumed
        .iter()
        .map(|r| {
            (
                (r.partition, r.offset),
                r.value_str().unwrap()[..5].to_owned(),
            )
        })
        .collect();
    for (i, d) in deliveries.iter().enumerate() {
        assert_eq!(by_position[&(d.partition, d.offset)], format!("{i:05}"));
    }
}
