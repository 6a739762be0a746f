//! Helpers of the pipeline's integration tests: a PostgreSQL cluster and a
//! broker shared by the tests of one file, names, configurations, and what
//! the tests read back (librdkafka records, slot positions).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers; not every test file uses every helper"
)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;
use tidewater::Position;
use tidewater::kafka::{ProducerConfig, StoredRecord};
use tidewater::pgoutput::Lsn;
use tidewater::postgres::SourceConfig;
use tidewater_testkit::{Broker, ConsumedRecord, PgCluster, PgClusterBuilder, kafka_consume};

/// A server shared by the tests of one test binary: started by the first test
/// that asks, stopped when the last one holding it finishes.
pub struct Shared<T> {
    slot: Mutex<Weak<T>>,
    start: fn() -> T,
}

impl<T> Shared<T> {
    pub const fn new(start: fn() -> T) -> Self {
        Shared {
            slot: Mutex::new(Weak::new()),
            start,
        }
    }

    pub fn get(&self) -> Arc<T> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = slot.upgrade() {
            return v;
        }
        let v = Arc::new((self.start)());
        *slot = Arc::downgrade(&v);
        v
    }
}

/// PostgreSQL with keepalives every 1.5 s (wal_sender_timeout 3 s), so idle
/// positions are confirmed quickly.
pub fn start_pg() -> PgCluster {
    pg_builder()
        .start()
        .unwrap_or_else(|e| panic!("starting PostgreSQL for the test: {e}"))
}

pub fn pg_builder() -> PgClusterBuilder {
    PgCluster::builder().setting("wal_sender_timeout", "3s")
}

pub fn start_broker() -> Broker {
    Broker::start().unwrap_or_else(|e| panic!("starting the tansu broker for the test: {e}"))
}

/// A name unique within this test process.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates a fresh database and returns its name.
pub fn fresh_db(pg: &PgCluster, prefix: &str) -> String {
    let name = unique(prefix);
    pg.create_database(&name).unwrap();
    name
}

/// A source configuration for `db` with its own slot and publication (named
/// after `name`), status updates every 100 ms, plus `extra`.
pub fn source_config(pg: &PgCluster, db: &str, name: &str, extra: &[(&str, &str)]) -> SourceConfig {
    let (user, password) = match pg.credentials() {
        Some((u, p)) => (u.to_owned(), Some(p.to_owned())),
        None => ("postgres".to_owned(), None),
    };
    let mut props = vec![
        ("database.hostname".to_owned(), pg.host().to_owned()),
        ("database.port".to_owned(), pg.port().to_string()),
        ("database.user".to_owned(), user),
        ("database.dbname".to_owned(), db.to_owned()),
        ("slot.name".to_owned(), format!("slot_{name}")),
        ("publication.name".to_owned(), format!("pub_{name}")),
        (
            "publication.autocreate.mode".to_owned(),
            "filtered".to_owned(),
        ),
        ("status.update.interval.ms".to_owned(), "100".to_owned()),
    ];
    if let Some(password) = password {
        props.push(("database.password".to_owned(), password));
    }
    props.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    SourceConfig::from_properties(props).unwrap()
}

/// A producer for `bootstrap` with short timeouts and one partition per new topic.
pub fn producer(bootstrap: &str) -> ProducerConfig {
    producer_with(bootstrap, &[])
}

/// [`producer`] with `extra` settings.
pub fn producer_with(bootstrap: &str, extra: &[(&str, &str)]) -> ProducerConfig {
    let base = [
        ("bootstrap.servers", bootstrap),
        ("linger.ms", "5"),
        ("request.timeout.ms", "5000"),
        ("delivery.timeout.ms", "30000"),
        ("max.block.ms", "10000"),
        ("topic.creation.default.partitions", "1"),
        ("topic.creation.default.replication.factor", "1"),
    ];
    ProducerConfig::from_properties(base.iter().chain(extra).copied()).unwrap()
}

/// Reads `topic` from the beginning with librdkafka until `n` records arrived
/// (or `timeout`); fails with what was read otherwise.
pub fn consume(bootstrap: &str, topic: &str, n: usize, timeout: Duration) -> Vec<ConsumedRecord> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let records = kafka_consume(bootstrap, topic, n, left.max(Duration::from_secs(2)))
            .unwrap_or_else(|e| panic!("consuming {topic}: {e}"));
        if records.len() >= n || Instant::now() >= deadline {
            assert!(
                records.len() >= n,
                "{topic}: {} of {n} records within {timeout:?}",
                records.len()
            );
            return records;
        }
    }
}

/// A header's value as text.
pub fn header<'a>(record: &'a ConsumedRecord, name: &str) -> Option<&'a str> {
    record
        .headers
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.as_deref())
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// The record's position header.
pub fn position(record: &ConsumedRecord) -> Position {
    header(record, tidewater::POSITION_HEADER)
        .unwrap_or_else(|| panic!("no position header on {record:?}"))
        .parse()
        .unwrap()
}

/// A stored record's position header.
pub fn stored_position(record: &StoredRecord) -> Option<Position> {
    record
        .record
        .headers
        .iter()
        .find(|h| h.key == tidewater::POSITION_HEADER)
        .and_then(|h| h.value.as_deref())
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse().ok())
}

/// JSON of a record part (key or value).
pub fn json(bytes: Option<&[u8]>) -> Value {
    match bytes {
        Some(b) => serde_json::from_slice(b)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(b))),
        None => Value::Null,
    }
}

/// The `payload` of a schema-and-payload document, or the document itself.
pub fn payload(doc: &Value) -> &Value {
    doc.get("payload").unwrap_or(doc)
}

/// The slot's `confirmed_flush_lsn`.
pub async fn confirmed_flush(client: &tokio_postgres::Client, slot: &str) -> Lsn {
    let row = client
        .query_one(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .unwrap();
    let text: Option<String> = row.get(0);
    text.map_or(Lsn::INVALID, |t| t.parse().unwrap())
}

/// Polls `check` every 50 ms until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What [`count_topic`] read.
#[derive(Debug)]
pub struct TopicCount {
    /// Records read.
    pub count: u64,
    /// The first record's value and position header.
    pub first: Option<(Value, Position)>,
    /// The last record's value and position header.
    pub last: Option<(Value, Position)>,
}

const COUNT_SCRIPT: &str = r#"
import json, sys, time, uuid
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING, KafkaException
bootstrap, topic, expected, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
deadline = time.monotonic() + timeout
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "tidewater-count-" + str(uuid.uuid4()),
              "enable.auto.commit": False, "auto.offset.reset": "earliest"})
while True:
    t = c.list_topics(topic, timeout=5).topics.get(topic)
    if t is not None and t.error is None and t.partitions:
        break
    if time.monotonic() > deadline:
        raise SystemExit("topic " + topic + " not found")
    time.sleep(0.1)
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in t.partitions])
count, first, last = 0, None, None
while count < expected and time.monotonic() < deadline:
    for m in c.consume(num_messages=1000, timeout=0.5):
        if m.error() is not None:
            raise KafkaException(m.error())
        if first is None:
            first = m
        last, count = m, count + 1
def rec(m):
    if m is None:
        return None
    return {"value": m.value().decode() if m.value() is not None else None,
            "headers": [[k, v.decode() if v is not None else None] for k, v in (m.headers() or [])]}
print(json.dumps({"count": count, "first": rec(first), "last": rec(last)}))
c.close()
"#;

/// Reads `topic` with librdkafka until `expected` records (or `timeout`),
/// keeping only the count and the first and last records (for topics too
/// large to print).
pub fn count_topic(bootstrap: &str, topic: &str, expected: u64, timeout: Duration) -> TopicCount {
    let python = tidewater_testkit::python().expect("the project's virtualenv (scripts/setup.sh)");
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(COUNT_SCRIPT)
        .args([
            bootstrap,
            topic,
            &expected.to_string(),
            &format!("{:.3}", timeout.as_secs_f64()),
        ])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "counting {topic} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    let record = |r: &Value| -> Option<(Value, Position)> {
        let value = r
            .get("value")?
            .as_str()
            .map_or(Value::Null, |v| serde_json::from_str(v).unwrap());
        let position = r["headers"]
            .as_array()?
            .iter()
            .find(|h| h[0] == tidewater::POSITION_HEADER)?[1]
            .as_str()?
            .parse()
            .ok()?;
        Some((value, position))
    };
    TopicCount {
        count: doc["count"].as_u64().unwrap(),
        first: record(&doc["first"]),
        last: record(&doc["last"]),
    }
}
