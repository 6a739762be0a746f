//! Records produced by the Kafka sink, read back by an independent client (librdkafka through
//! confluent-kafka) from a real broker (tansu, started by the test kit). These tests fail,
//! never skip, when tansu or the virtualenv is missing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "tests panic on unexpected results by design"
)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;
use tidewater_kafka::partitioner::partition_for_key;
use tidewater_kafka::{Compression, Delivery, KafkaSink, ProducerRecord, Sink};
use tidewater_testkit::{Broker, ConsumedRecord, kafka_consume};

use common::{config, run_python, topic_configs, topic_partitions};

/// Keys with Kafka's own murmur2 values (`UtilsTest.testMurmur2`), and the partition the Java
/// producer picks among 6 partitions, worked out by hand: `(hash & 0x7fffffff) % 6`.
const JAVA_PARTITIONS_OF_6: &[(&str, i32, i32)] = &[
    ("21", -973_932_308, 1_173_551_340 % 6),
    ("foobar", -790_332_482, 1_357_151_166 % 6),
    ("a-little-bit-long-string", -985_981_536, 1_161_502_112 % 6),
    (
        "a-little-bit-longer-string",
        -1_486_304_829,
        661_178_819 % 6,
    ),
    (
        "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
        -58_897_971,
        2_088_585_677 % 6,
    ),
    ("abc", 479_470_107, 479_470_107 % 6),
];

fn consumed_by_position(records: &[ConsumedRecord]) -> HashMap<(i32, i64), &ConsumedRecord> {
    records
        .iter()
        .map(|r| ((r.partition, r.offset), r))
        .collect()
}

fn bytes(b: Option<&Bytes>) -> Option<Vec<u8>> {
    b.map(|b| b.to_vec())
}

/// Checks that each delivery points at a consumed record equal to the one sent.
fn assert_read_back(sent: &[ProducerRecord], deliveries: &[Delivery], consumed: &[ConsumedRecord]) {
    assert_eq!(deliveries.len(), sent.len(), "one delivery per record");
    let by_position = consumed_by_position(consumed);
    for (i, (record, delivery)) in sent.iter().zip(deliveries).enumerate() {
        assert_eq!(delivery.topic, record.topic, "record {i}");
        let got = by_position
            .get(&(delivery.partition, delivery.offset))
            .unwrap_or_else(|| panic!("record {i}: nothing at {delivery:?}"));
        assert_eq!(got.key, bytes(record.key.as_ref()), "key of record {i}");
        assert_eq!(
            got.value,
            bytes(record.value.as_ref()),
            "value of record {i}"
        );
        let headers: Vec<(String, Option<Vec<u8>>)> = record
            .headers
            .iter()
            .map(|h| (h.key.clone(), bytes(h.value.as_ref())))
            .collect();
        assert_eq!(got.headers, headers, "headers of record {i}");
        if let Some(ts) = record.timestamp {
            assert_eq!(got.timestamp_ms, Some(ts), "timestamp of record {i}");
            assert_eq!(got.timestamp_type.as_deref(), Some("create"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_read_back_by_librdkafka() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    let topic = "server1.public.orders";
    let mut sink = KafkaSink::connect(config(
        &bootstrap,
        &[("topic.creation.default.partitions", "6")],
    ))
    .await
    .unwrap();

    let mut sent = Vec::new();
    for (i, (key, _, _)) in JAVA_PARTITIONS_OF_6.iter().enumerate() {
        sent.push(
            ProducerRecord::new(topic)
                .key(*key)
                .value(format!("{{\"id\":{i},\"note\":\"é ✓\"}}"))
                // Headers are written in the order given.
                .header("source", format!("row-{i}"))
                .header("__debezium.context.connectorName", "server1")
                .timestamp(1_700_000_000_000 + i64::try_from(i).unwrap()),
        );
    }
    // Binary key and value, an empty value, a tombstone, key-less records and a record without
    // a timestamp (stamped when sent).
    sent.push(
        ProducerRecord::new(topic)
            .key(vec![0x00, 0xff, 0x80])
            .value(vec![0xde, 0xad, 0xbe, 0xef, 0x00])
            .header("bin", vec![0xff_u8, 0x00])
            .timestamp(1_600_000_000_000),
    );
    sent.push(ProducerRecord::new(topic).key("abc").value("").timestamp(1));
    sent.push(ProducerRecord::new(topic).key("abc").timestamp(2));
    for i in 0..5 {
        sent.push(
            ProducerRecord::new(topic)
                .value(format!("keyless {i}"))
                .timestamp(3 + i),
        );
    }
    sent.push(ProducerRecord::new(topic).key("late").value("no timestamp"));
    sent.push(
        ProducerRecord::new(topic)
            .partition(5)
            .value("explicit partition")
            .timestamp(9),
    );

    sink.send(sent.clone()).await.unwrap();
    let deliveries = sink.flush().await.unwrap();
    assert!(
        sink.acknowledged().is_empty(),
        "each delivery is reported once"
    );

    let consumed = kafka_consume(&bootstrap, topic, sent.len(), Duration::from_secs(15)).unwrap();
    assert_eq!(consumed.len(), sent.len(), "{consumed:#?}");
    assert_read_back(&sent, &deliveries, &consumed);

    // Partitions: Kafka's Java partitioner for the known keys.
    for ((key, hash, java_partition), delivery) in JAVA_PARTITIONS_OF_6.iter().zip(&deliveries) {
        assert_eq!(
            delivery.partition, *java_partition,
            "key {key:?} (murmur2 {hash})"
        );
        assert_eq!(partition_for_key(key.as_bytes(), 6), *java_partition);
    }
    let last = deliveries.last().unwrap();
    assert_eq!(last.partition, 5);
    // The topic was created by the sink with topic.creation.default.partitions.
    assert_eq!(topic_partitions(&bootstrap).get(topic), Some(&6));
    // Offsets per partition are consecutive from 0, in send order.
    let mut per_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for d in &deliveries {
        per_partition.entry(d.partition).or_default().push(d.offset);
    }
    for (partition, offsets) in per_partition {
        let expected: Vec<i64> = (0..i64::try_from(offsets.len()).unwrap()).collect();
        assert_eq!(offsets, expected, "partition {partition}");
    }
    // The record sent without a timestamp got one from the producer.
    let late = &deliveries[deliveries.len() - 2];
    let got = consumed
        .iter()
        .find(|r| r.partition == late.partition && r.offset == late.offset)
        .unwrap();
    assert!(got.timestamp_ms.unwrap() > 1_700_000_000_000);

    // Key-less records are spread: the first partition's batch.size is not reached by five
    // small records, so they stay together (sticky) on one partition.
    let keyless: Vec<i32> = deliveries[JAVA_PARTITIONS_OF_6.len() + 3..][..5]
        .iter()
        .map(|d| d.partition)
        .collect();
    assert!(keyless.windows(2).all(|w| w[0] == w[1]), "{keyless:?}");
}

/// The partitions for many keys equal those librdkafka's `murmur2_random` partitioner (its
/// Java-compatible one) picks, for several partition counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_match_librdkafka_murmur2_random() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    let keys: Vec<Vec<u8>> = (0..200_u32)
        .map(|i| match i % 4 {
            0 => format!("{{\"id\":{i}}}").into_bytes(),
            1 => format!("customer-{i}").into_bytes(),
            2 => i.to_be_bytes().to_vec(),
            _ => (0..i % 13)
                .map(|b| u8::try_from(b * 19 % 256).unwrap())
                .collect(),
        })
        .collect();
    for partitions in [3_i32, 7, 16] {
        let topic = format!("keys-{partitions}");
        let mut sink = KafkaSink::connect(config(
            &bootstrap,
            &[(
                "topic.creation.default.partitions",
                partitions.to_string().as_str(),
            )],
        ))
        .await
        .unwrap();
        let records = keys
            .iter()
            .map(|k| {
                ProducerRecord::new(topic.as_str())
                    .key(k.clone())
                    .value("v")
            })
            .collect();
        sink.send(records).await.unwrap();
        let ours: Vec<i32> = sink
            .flush()
            .await
            .unwrap()
            .iter()
            .map(|d| d.partition)
            .collect();

        // librdkafka, producing the same keys to the same topic.
        let hex_keys: Vec<String> = keys
            .iter()
            .map(|k| k.iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        let theirs = run_python(
            r#"
import json, sys
from confluent_kafka import Producer
producer = Producer({"bootstrap.servers": sys.argv[1], "partitioner": "murmur2_random",
                     "linger.ms": 0, "acks": "all"})
keys = json.load(sys.stdin)
result = [None] * len(keys)
def on_delivery(i):
    def cb(err, msg):
        result[i] = msg.partition() if err is None else str(err)
    return cb
for i, key in enumerate(keys):
    producer.produce(sys.argv[2], key=bytes.fromhex(key), value=b"v", on_delivery=on_delivery(i))
producer.flush(30)
print(json.dumps(result))
"#,
            &[&bootstrap, &topic],
            &serde_json::to_string(&hex_keys).unwrap(),
        );
        let theirs: Vec<i32> = theirs
            .as_array()
            .unwrap()
            .iter()
            .map(|p| i32::try_from(p.as_i64().expect("delivered")).unwrap())
            .collect();
        assert_eq!(ours, theirs, "{partitions} partitions");
        assert!(
            ours.iter().collect::<std::collections::BTreeSet<_>>().len() == partitions as usize,
            "every partition used"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_compression_type_is_readable() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    for compression in Compression::ALL {
        let topic = format!("compressed-{compression}");
        let mut sink = KafkaSink::connect(config(
            &bootstrap,
            &[
                ("compression.type", compression.as_str()),
                ("topic.creation.default.partitions", "2"),
                // Several batches per partition.
                ("batch.size", "4096"),
            ],
        ))
        .await
        .unwrap();
        // Headers in the order given, a null header value and a repeated name, as Kafka's
        // record format allows.
        let sent: Vec<ProducerRecord> = (0..200)
            .map(|i| {
                let mut record = ProducerRecord::new(topic.as_str())
                    .key(format!("key-{}", i % 17))
                    .value(format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 300)))
                    .header("compression", compression.as_str())
                    .header("b", format!("{i}"))
                    .header("a", "first")
                    .timestamp(1_700_000_000_000 + i64::from(i32::try_from(i).unwrap()));
                record
                    .headers
                    .push(tidewater_kafka::Header::null("nothing"));
                record
                    .headers
                    .push(tidewater_kafka::Header::new("a", "again"));
                record
            })
            .collect();
        sink.send(sent.clone()).await.unwrap();
        let deliveries = sink.close().await.unwrap();
        let consumed =
            kafka_consume(&bootstrap, &topic, sent.len(), Duration::from_secs(15)).unwrap();
        assert_eq!(consumed.len(), sent.len(), "{compression}");
        assert_read_back(&sent, &deliveries, &consumed);
    }
}

fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Topic creation follows `topic.creation.groups`, as Kafka Connect's does: partition counts
/// and topic configs are read back by librdkafka. A group's unset partitions and replication
/// factor come from the default group; its topic configs are its own only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_per_creation_group() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    let mut sink = KafkaSink::connect(config(
        &bootstrap,
        &[
            ("topic.creation.default.partitions", "3"),
            ("topic.creation.default.replication.factor", "1"),
            ("topic.creation.default.cleanup.policy", "compact"),
            ("topic.creation.default.compression.type", "lz4"),
            ("topic.creation.groups", "history,wide"),
            ("topic.creation.history.include", "schema-changes.*"),
            ("topic.creation.history.partitions", "1"),
            ("topic.creation.history.retention.ms", "-1"),
            ("topic.creation.wide.include", "server1\\.public\\..*"),
            ("topic.creation.wide.exclude", ".*\\.small"),
            ("topic.creation.wide.partitions", "8"),
        ],
    ))
    .await
    .unwrap();
    let default = configs(&[("cleanup.policy", "compact"), ("compression.type", "lz4")]);
    let topics = [
        (
            "schema-changes.server1",
            1,
            configs(&[("retention.ms", "-1")]),
        ),
        ("server1.public.orders", 8, BTreeMap::new()),
        ("server1.public.small", 3, default.clone()),
        ("other", 3, default),
    ];
    let records = topics
        .iter()
        .map(|(t, _, _)| ProducerRecord::new(*t).value("v"))
        .collect();
    sink.send(records).await.unwrap();
    assert_eq!(sink.flush().await.unwrap().len(), topics.len());
    let seen = topic_partitions(&bootstrap);
    let names: Vec<&str> = topics.iter().map(|(t, _, _)| *t).collect();
    let described = topic_configs(&bootstrap, &names);
    for (topic, partitions, topic_configs) in topics {
        assert_eq!(seen.get(topic), Some(&partitions), "{topic}: {seen:?}");
        assert_eq!(
            described.get(topic),
            Some(&topic_configs),
            "{topic}: {described:?}"
        );
    }
}

/// A changed partition count is used once `metadata.max.age.ms` has passed. (tansu 0.6 has no
/// CreatePartitions, so the topic is deleted and created again with more partitions.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_count_changes_are_picked_up() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    let topic = "growing";
    tidewater_testkit::kafka_create_topic(&bootstrap, topic, 1).unwrap();
    let mut sink = KafkaSink::connect(config(&bootstrap, &[("metadata.max.age.ms", "200")]))
        .await
        .unwrap();
    let keyed = |n: usize| -> Vec<ProducerRecord> {
        (0..n)
            .map(|i| ProducerRecord::new(topic).key(format!("k{i}")).value("v"))
            .collect()
    };
    sink.send(keyed(20)).await.unwrap();
    assert!(sink.flush().await.unwrap().iter().all(|d| d.partition == 0));
    assert_eq!(sink.partitions(topic).await.unwrap(), 1);

    run_python(
        r#"
import json, sys, time
from confluent_kafka.admin import AdminClient, NewTopic
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
for f in admin.delete_topics([sys.argv[2]], operation_timeout=10).values():
    f.result(10)
time.sleep(0.2)
for f in admin.create_topics([NewTopic(sys.argv[2], num_partitions=4, replication_factor=1)]).values():
    f.result(10)
print(json.dumps(True))
"#,
        &[&bootstrap, topic],
        "",
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    sink.send(keyed(40)).await.unwrap();
    let deliveries = sink.flush().await.unwrap();
    assert_eq!(sink.partitions(topic).await.unwrap(), 4);
    for (i, d) in deliveries.iter().enumerate() {
        assert_eq!(
            d.partition,
            partition_for_key(format!("k{i}").as_bytes(), 4),
            "record {i}"
        );
    }
    let consumed = kafka_consume(&bootstrap, topic, 40, Duration::from_secs(15)).unwrap();
    assert_eq!(consumed.len(), 40);
}
