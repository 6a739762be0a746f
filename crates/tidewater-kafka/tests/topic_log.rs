//! `TopicLog` against a real broker (tansu, started by the test kit): what it appends is what
//! librdkafka reads, and what librdkafka produces is what it reads back. Fails, never skips,
//! when tansu or the virtualenv is missing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "tests panic on unexpected results by design"
)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use tidewater_kafka::{TopicLog, TopicLogError};
use tidewater_testkit::{Broker, ProduceRecord, kafka_consume, kafka_produce};

use common::{config, topic_configs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_and_read_back() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    let log = TopicLog::connect(&config(&bootstrap, &[])).await.unwrap();
    let topic = "bookkeeping";
    assert_eq!(log.partitions(topic).await.unwrap(), None);
    assert_eq!(log.create_topic(topic, 3, 1).await.unwrap(), 3);
    // Creating it again is fine.
    assert_eq!(log.create_topic(topic, 3, 1).await.unwrap(), 3);
    assert_eq!(log.partitions(topic).await.unwrap(), Some(3));
    assert!(log.read_partition(topic, 1).await.unwrap().is_empty());

    // Topic configs go with the creation request; librdkafka reads them back.
    let compacted: BTreeMap<String, String> =
        [("cleanup.policy", "compact"), ("retention.ms", "-1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    assert_eq!(
        log.create_topic_with_configs("compacted", 1, 1, &compacted)
            .await
            .unwrap(),
        1
    );
    let described = {
        let b = bootstrap.clone();
        tokio::task::spawn_blocking(move || topic_configs(&b, &["compacted", "bookkeeping"]))
            .await
            .unwrap()
    };
    assert_eq!(
        described.get("compacted"),
        Some(&compacted),
        "{described:?}"
    );
    assert_eq!(
        described.get("bookkeeping"),
        Some(&BTreeMap::new()),
        "create_topic sends no configs: {described:?}"
    );

    let mut offsets = Vec::new();
    for i in 0..5_u8 {
        let value = (i != 3).then(|| vec![b'v', i]);
        offsets.push(
            log.append(topic, 1, Some(vec![b'k', i % 2]), value)
                .await
                .unwrap(),
        );
    }
    assert_eq!(offsets, [0, 1, 2, 3, 4]);

    let read = log.read_partition(topic, 1).await.unwrap();
    assert_eq!(read.len(), 5);
    for (i, r) in (0..5_u8).zip(&read) {
        assert_eq!(r.offset, i64::from(i));
        assert_eq!(r.key.as_deref(), Some(&[b'k', i % 2][..]));
        assert_eq!(r.value, (i != 3).then(|| vec![b'v', i]), "record {i}");
    }
    assert!(log.read_partition(topic, 0).await.unwrap().is_empty());

    // librdkafka sees the same records.
    let consumed = {
        let b = bootstrap.clone();
        tokio::task::spawn_blocking(move || {
            kafka_consume(&b, "bookkeeping", 5, Duration::from_secs(20)).unwrap()
        })
        .await
        .unwrap()
    };
    assert_eq!(consumed.len(), 5);
    for c in &consumed {
        assert_eq!(c.partition, 1);
        let r = &read[usize::try_from(c.offset).unwrap()];
        assert_eq!((&c.key, &c.value), (&r.key, &r.value));
    }

    // And what librdkafka appends is read after them.
    {
        let b = bootstrap.clone();
        tokio::task::spawn_blocking(move || {
            kafka_produce(
                &b,
                &[ProduceRecord::new("bookkeeping")
                    .key(b"rd".to_vec())
                    .value(b"kafka".to_vec())
                    .partition(1)],
            )
            .unwrap()
        })
        .await
        .unwrap();
    }
    let read = log.read_partition(topic, 1).await.unwrap();
    assert_eq!(read.len(), 6);
    assert_eq!(read[5].offset, 5);
    assert_eq!(read[5].key.as_deref(), Some(&b"rd"[..]));
    assert_eq!(read[5].value.as_deref(), Some(&b"kafka"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_topic_and_partition() {
    let broker = Broker::start().expect("tansu starts");
    let log = TopicLog::connect(&config(
        &broker.bootstrap(),
        &[("max.block.ms", "3000"), ("request.timeout.ms", "1000")],
    ))
    .await
    .unwrap();
    log.create_topic("small", 1, 1).await.unwrap();
    let err = log.read_partition("small", 7).await.unwrap_err();
    assert!(
        matches!(&err, TopicLogError::Partition { topic, partition: 7, .. } if topic == "small"),
        "{err:?}"
    );
    assert!(err.to_string().contains("small"), "{err}");

    let err = TopicLog::connect(&tidewater_kafka::ProducerConfig::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("bootstrap.servers"), "{err}");
}
