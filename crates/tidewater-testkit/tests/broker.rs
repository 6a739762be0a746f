//! The broker side of the kit against a real tansu, cross-checked with confluent-kafka. These
//! tests fail (never skip) when tansu or the Python virtualenv is missing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests panic on unexpected results by design"
)]

use std::time::Duration;

use tidewater_testkit::{
    Broker, ProduceRecord, kafka_consume, kafka_create_topic, kafka_list_topics, kafka_produce,
};

fn sample_records(topic: &str) -> Vec<ProduceRecord> {
    vec![
        ProduceRecord::new(topic)
            .key("k1")
            .value("{\"id\":1}")
            .header("source", Some(b"tidewater".to_vec())),
        ProduceRecord::new(topic)
            .key(vec![0x00, 0xff, 0x80])
            .value(vec![0xde, 0xad, 0xbe, 0xef, 0x00])
            .header("bin", Some(vec![0xff]))
            .header("bin", Some(vec![]))
            .header("null", None),
        // A tombstone with a null key.
        ProduceRecord::new(topic).timestamp_ms(1_700_000_000_123),
    ]
}

fn assert_same(produced: &[ProduceRecord], consumed: &[tidewater_testkit::ConsumedRecord]) {
    assert_eq!(consumed.len(), produced.len(), "{consumed:#?}");
    for (i, (p, c)) in produced.iter().zip(consumed).enumerate() {
        assert_eq!(c.topic, p.topic);
        assert_eq!(c.partition, 0);
        assert_eq!(c.offset, i64::try_from(i).unwrap());
        assert_eq!(c.key, p.key, "key of record {i}");
        assert_eq!(c.value, p.value, "value of record {i}");
        assert_eq!(c.headers, p.headers, "headers of record {i}");
        if let Some(ts) = p.timestamp_ms {
            assert_eq!(c.timestamp_ms, Some(ts));
        }
    }
}

#[test]
fn memory_broker_round_trips_records_exactly() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    assert_eq!(bootstrap, format!("127.0.0.1:{}", broker.port()));

    kafka_create_topic(&bootstrap, "round-trip", 1).unwrap();
    assert!(
        kafka_list_topics(&bootstrap)
            .unwrap()
            .contains(&"round-trip".to_owned())
    );

    let records = sample_records("round-trip");
    let deliveries = kafka_produce(&bootstrap, &records).unwrap();
    let offsets: Vec<i64> = deliveries.iter().map(|d| d.offset).collect();
    assert_eq!(offsets, [0, 1, 2]);

    let consumed = kafka_consume(&bootstrap, "round-trip", 10, Duration::from_secs(5)).unwrap();
    assert_same(&records, &consumed);
    assert_eq!(consumed[0].value_str(), Some("{\"id\":1}"));
    assert_eq!(consumed[0].key_str(), Some("k1"));
}

#[test]
fn persistent_broker_keeps_records_across_restart() {
    let broker = Broker::start_persistent().expect("tansu with SQLite starts");
    let bootstrap = broker.bootstrap();
    kafka_create_topic(&bootstrap, "durable", 1).unwrap();
    let records = sample_records("durable");
    kafka_produce(&bootstrap, &records).unwrap();

    broker.restart().expect("tansu restarts");
    assert!(broker.is_running());
    assert_eq!(broker.bootstrap(), bootstrap);

    let consumed = kafka_consume(&bootstrap, "durable", 3, Duration::from_secs(15)).unwrap();
    assert_same(&records, &consumed);

    // And the broker still accepts writes after the restart.
    let more = [ProduceRecord::new("durable").value("after restart")];
    let delivered = kafka_produce(&bootstrap, &more).unwrap();
    assert_eq!(delivered[0].offset, 3);
}

#[test]
fn stop_releases_the_port() {
    let broker = Broker::start().unwrap();
    let port = broker.port();
    broker.stop().unwrap();
    assert!(!broker.is_running());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
