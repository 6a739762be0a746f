//! The pipeline end to end: a real PostgreSQL (test kit), a real broker
//! (tansu), and what was produced read back with librdkafka.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod pipeline_common;

use std::collections::BTreeSet;
use std::time::Duration;

use pipeline_common::{self as common, Shared, consume, header, json, payload, position};
use serde_json::Value;
use tidewater::connect::{ConnectRecord, JsonConverterConfig};
use tidewater::envelope::EnvelopeConfig;
use tidewater::kafka::KafkaSink;
use tidewater::metrics::ErrorKind;
use tidewater::transforms::{Transform, TransformChain, TransformError};
use tidewater::{DeadLetterQueue, ErrorTolerance, Pipeline, RuntimeSettings};
use tidewater_testkit::{Broker, PgCluster};

static PG: Shared<PgCluster> = Shared::new(common::start_pg);
static BROKER: Shared<Broker> = Shared::new(common::start_broker);

const WAIT: Duration = Duration::from_secs(60);

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name).unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_then_changes_reach_kafka_as_debezium_events() {
    let pg = PG.get();
    let broker = BROKER.get();
    let db = common::fresh_db(&pg, "events");
    let name = common::unique("events");
    pg.psql_db(
        &db,
        "CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL DEFAULT 'none', qty int);
         INSERT INTO orders SELECT g, 'row ' || g, g % 7 FROM generate_series(1, 1000) g;",
    )
    .unwrap();
    let config = common::source_config(&pg, &db, &name, &[("table.include.list", "public.orders")]);
    let sink = KafkaSink::connect(common::producer(&broker.bootstrap()))
        .await
        .unwrap();
    let pipeline = Pipeline::builder()
        .postgres(config)
        .envelope(EnvelopeConfig::new(name.as_str(), db.as_str()))
        .sink(sink)
        .build()
        .unwrap();
    let token = pipeline.shutdown_token();
    let metrics = pipeline.metrics();
    let run = tokio::spawn(pipeline.run());

    let snapshot_delivered = common::eventually(WAIT, || async {
        (metrics.snapshot().records_delivered >= 1000).then_some(())
    })
    .await;
    assert!(snapshot_delivered.is_some(), "{:?}", metrics.snapshot());
    let client = pg.connect(&db).await.unwrap();
    client
        .batch_execute("INSERT INTO orders (id, qty) VALUES (1001, 1)")
        .await
        .unwrap();
    client
        .batch_execute("UPDATE orders SET qty = 99 WHERE id = 5")
        .await
        .unwrap();
    client
        .batch_execute("DELETE FROM orders WHERE id = 7")
        .await
        .unwrap();

    let topic = format!("{name}.public.orders");
    let records = consume(&broker.bootstrap(), &topic, 1004, WAIT);
    token.cancel();
    let summary = run.await.unwrap().unwrap();
    assert_eq!(records.len(), 1004);
    assert!(summary.direct_json, "{summary:?}");
    assert_eq!(summary.records_delivered, 1004, "{summary:?}");
    assert!(summary.acknowledged.is_some());

    // The snapshot: every id once, as reads, with Debezium's markers.
    let values: Vec<Value> = records.iter().map(|r| json(r.value.as_deref())).collect();
    let keys: Vec<Value> = records.iter().map(|r| json(r.key.as_deref())).collect();
    let mut ids = BTreeSet::new();
    for (i, (k, v)) in keys.iter().zip(&values).take(1000).enumerate() {
        let v = payload(v);
        assert_eq!(field(v, "op"), "r", "{v}");
        let id = payload(k)["id"].as_i64().unwrap();
        assert_eq!(field(v, "after")["id"].as_i64(), Some(id));
        assert!(field(v, "before").is_null());
        let source = field(v, "source");
        assert_eq!(source["connector"], "postgresql");
        assert_eq!(source["name"], name.as_str());
        assert_eq!(source["db"], db.as_str());
        assert_eq!(source["schema"], "public");
        assert_eq!(source["table"], "orders");
        let marker = match i {
            0 => "first",
            999 => "last",
            _ => "true",
        };
        assert_eq!(source["snapshot"], marker, "row {i}");
        ids.insert(id);
    }
    assert_eq!(ids, (1..=1000).collect());

    // The schema follows the catalog: `note` is NOT NULL with a default.
    let after_schema = values[0]["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "after")
        .unwrap();
    let note = after_schema["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "note")
        .unwrap();
    assert_eq!(note["optional"], false, "{note}");
    assert_eq!(note["default"], "none", "{note}");
    assert_eq!(payload(&keys[0])["id"], 1);
    assert_eq!(
        keys[0]["schema"]["name"],
        format!("{name}.public.orders.Key")
    );

    // The changes.
    let create = payload(&values[1000]);
    assert_eq!(create["op"], "c");
    assert_eq!(create["after"]["id"], 1001);
    assert_eq!(create["after"]["note"], "none");
    assert_eq!(create["source"]["snapshot"], "false");
    assert!(create["source"]["txId"].is_i64());
    assert!(create["source"]["lsn"].is_i64());
    assert!(create["source"]["sequence"].is_string());
    let update = payload(&values[1001]);
    assert_eq!(update["op"], "u");
    assert_eq!(update["after"]["id"], 5);
    assert_eq!(update["after"]["qty"], 99);
    let delete = payload(&values[1002]);
    assert_eq!(delete["op"], "d");
    assert_eq!(delete["before"]["id"], 7);
    assert!(delete["after"].is_null());
    assert_eq!(payload(&keys[1002])["id"], 7);
    // The tombstone: same key, null value, right after the delete.
    assert_eq!(records[1003].value, None);
    assert_eq!(records[1003].key, records[1002].key);

    // Positions: in every record, increasing (a tombstone shares its delete's),
    // the snapshot's rows numbered from 0 at one LSN.
    let positions: Vec<_> = records.iter().map(position).collect();
    for (i, p) in positions.iter().take(1000).enumerate() {
        assert_eq!(p.commit_lsn, positions[0].commit_lsn);
        assert_eq!(p.index, i as u64);
    }
    for pair in positions.windows(2).take(1002) {
        assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
    }
    assert_eq!(positions[1002], positions[1003]);
    assert!(positions[1000].commit_lsn > positions[999].commit_lsn);
    // The source block's lsn is the event's own, before its commit.
    assert!(create["source"]["lsn"].as_u64().unwrap() <= positions[1000].commit_lsn.0);
    let table = &metrics.snapshot().tables["public.orders"];
    assert_eq!(table.seen, 1003, "{table:?}");
    assert_eq!(table.produced, 1004, "{table:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unwrap_transform_flattens_and_rewrites_deletes() {
    let pg = PG.get();
    let broker = BROKER.get();
    let db = common::fresh_db(&pg, "unwrap");
    let name = common::unique("unwrap");
    pg.psql_db(
        &db,
        "CREATE TABLE items (id int PRIMARY KEY, label text);
         INSERT INTO items VALUES (1, 'one'), (2, 'two');",
    )
    .unwrap();
    let config = common::source_config(&pg, &db, &name, &[("table.include.list", "public.items")]);
    let chain = TransformChain::from_config([
        ("transforms", "unwrap"),
        (
            "transforms.unwrap.type",
            "io.debezium.transforms.ExtractNewRecordState",
        ),
        ("transforms.unwrap.drop.tombstones", "false"),
        ("transforms.unwrap.delete.handling.mode", "rewrite"),
    ])
    .unwrap();
    let plain = JsonConverterConfig {
        schemas_enable: false,
        ..JsonConverterConfig::default()
    };
    let pipeline = Pipeline::builder()
        .postgres(config)
        .envelope(EnvelopeConfig::new(name.as_str(), db.as_str()))
        .transforms(chain)
        .key_converter(plain)
        .value_converter(plain)
        .sink(
            KafkaSink::connect(common::producer(&broker.bootstrap()))
                .await
                .unwrap(),
        )
        .build()
        .unwrap();
    let token = pipeline.shutdown_token();
    let metrics = pipeline.metrics();
    let run = tokio::spawn(pipeline.run());
    common::eventually(WAIT, || async {
        (metrics.snapshot().records_delivered >= 2).then_some(())
    })
    .await
    .expect("the snapshot is delivered");
    pg.psql_db(
        &db,
        "INSERT INTO items VALUES (3, 'three');
         UPDATE items SET label = 'uno' WHERE id = 1;
         DELETE FROM items WHERE id = 2;",
    )
    .unwrap();
    let records = consume(
        &broker.bootstrap(),
        &format!("{name}.public.items"),
        6,
        WAIT,
    );
    token.cancel();
    let summary = run.await.unwrap().unwrap();
    assert!(!summary.direct_json);

    let values: Vec<Value> = records.iter().map(|r| json(r.value.as_deref())).collect();
    let keys: Vec<Value> = records.iter().map(|r| json(r.key.as_deref())).collect();
    assert_eq!(values[0]["id"], 1);
    assert_eq!(values[0]["label"], "one");
    assert_eq!(values[0]["__deleted"], "false");
    assert_eq!(values[1]["id"], 2);
    assert_eq!(values[2]["id"], 3);
    assert_eq!(values[2]["__deleted"], "false");
    assert_eq!(values[3]["label"], "uno");
    assert_eq!(values[3]["__deleted"], "false");
    // The delete is rewritten to the old row with __deleted=true…
    assert_eq!(values[4]["id"], 2);
    assert_eq!(values[4]["__deleted"], "true");
    assert_eq!(keys[4]["id"], 2);
    // …and the tombstone kept (drop.tombstones=false).
    assert_eq!(records[5].value, None);
    assert_eq!(keys[5]["id"], 2);
    assert!(
        records
            .iter()
            .all(|r| header(r, tidewater::POSITION_HEADER).is_some())
    );
}

/// Fails every record of `topic` whose `after.id` is a multiple of three.
struct RefuseThirds {
    topic: String,
}

impl Transform for RefuseThirds {
    fn apply(&self, record: ConnectRecord) -> tidewater::transforms::Result<Option<ConnectRecord>> {
        if *record.topic == *self.topic {
            let id = record
                .value
                .as_ref()
                .and_then(|v| v.as_struct())
                .and_then(|s| s.get("after"))
                .and_then(|a| a.as_struct())
                .and_then(|a| a.get("id"))
                .and_then(|id| id.as_i64());
            if let Some(id) = id.filter(|id| id % 3 == 0) {
                return Err(TransformError::record(
                    &record.topic,
                    format!("id {id} refused"),
                ));
            }
        }
        Ok(Some(record))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_messages_heartbeats_and_dead_letters_reach_their_topics() {
    let pg = PG.get();
    let broker = BROKER.get();
    let db = common::fresh_db(&pg, "topics");
    let name = common::unique("topics");
    pg.psql_db(&db, "CREATE TABLE items (id int PRIMARY KEY, v text);")
        .unwrap();
    let config = common::source_config(
        &pg,
        &db,
        &name,
        &[
            ("table.include.list", "public.items"),
            ("snapshot.mode", "no_data"),
        ],
    );
    let data_topic = format!("{name}.public.items");
    let dlq_topic = format!("{name}-dlq");
    let mut envelope = EnvelopeConfig::new(name.as_str(), db.as_str());
    envelope.provide_transaction_metadata = true;
    let mut settings = RuntimeSettings::default();
    settings.name = "it-connector".to_owned();
    settings.heartbeat_interval = Some(Duration::from_millis(200));
    settings.errors_tolerance = ErrorTolerance::All;
    let mut dlq = DeadLetterQueue::new(dlq_topic.as_str());
    dlq.context_headers = true;
    settings.dead_letter_queue = Some(dlq);
    let pipeline = Pipeline::builder()
        .postgres(config)
        .envelope(envelope)
        .transform(
            "failing",
            RefuseThirds {
                topic: data_topic.clone(),
            },
        )
        .settings(settings)
        .sink(
            KafkaSink::connect(common::producer(&broker.bootstrap()))
                .await
                .unwrap(),
        )
        .build()
        .unwrap();
    let token = pipeline.shutdown_token();
    let metrics = pipeline.metrics();
    let run = tokio::spawn(pipeline.run());
    // The slot exists once the first heartbeat is out.
    common::eventually(WAIT, || async {
        (metrics.snapshot().heartbeats > 0).then_some(())
    })
    .await
    .expect("a heartbeat");
    pg.psql_db(
        &db,
        "INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 6) g;
         BEGIN;
         SELECT pg_logical_emit_message(true, 'audit', 'in a transaction');
         INSERT INTO items VALUES (7, 'seven');
         COMMIT;
         SELECT pg_logical_emit_message(false, 'audit', 'on its own');",
    )
    .unwrap();

    let bootstrap = broker.bootstrap();
    let data = consume(&bootstrap, &data_topic, 5, WAIT);
    let dead = consume(&bootstrap, &dlq_topic, 2, WAIT);
    let messages = consume(&bootstrap, &format!("{name}.message"), 2, WAIT);
    let transactions = consume(&bootstrap, &format!("{name}.transaction"), 4, WAIT);
    let heartbeats = consume(&bootstrap, &format!("__debezium-heartbeat.{name}"), 2, WAIT);
    token.cancel();
    let summary = run.await.unwrap().unwrap();
    assert_eq!(summary.dead_lettered, 2, "{summary:?}");
    assert!(summary.heartbeats >= 2);

    // The good records flow.
    let ids: Vec<i64> = data
        .iter()
        .map(|r| {
            payload(&json(r.value.as_deref()))["after"]["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [1, 2, 4, 5, 7]);

    // The refused ones are dead letters: the original record and the error.
    for (record, id) in dead.iter().zip([3, 6]) {
        let value = json(record.value.as_deref());
        assert_eq!(payload(&value)["op"], "c");
        assert_eq!(payload(&value)["after"]["id"], id);
        assert_eq!(payload(&json(record.key.as_deref()))["id"], id);
        assert_eq!(
            header(record, "__connect.errors.topic"),
            Some(data_topic.as_str())
        );
        assert_eq!(
            header(record, "__connect.errors.stage"),
            Some("TRANSFORMATION")
        );
        assert_eq!(
            header(record, "__connect.errors.class.name"),
            Some("failing")
        );
        assert_eq!(
            header(record, "__connect.errors.connector.name"),
            Some("it-connector")
        );
        assert_eq!(header(record, "__connect.errors.task.id"), Some("0"));
        assert_eq!(
            header(record, "__connect.errors.exception.class.name"),
            Some("org.apache.kafka.connect.errors.DataException")
        );
        let message = header(record, "__connect.errors.exception.message").unwrap();
        assert!(message.contains(&format!("id {id} refused")), "{message}");
        assert!(message.contains("failing"), "{message}");
        assert_eq!(header(record, "__connect.errors.partition"), None);
        position(record);
    }

    // Logical messages, in and outside a transaction.
    let contents: Vec<Value> = messages
        .iter()
        .map(|r| payload(&json(r.value.as_deref())).clone())
        .collect();
    assert!(contents.iter().all(|m| m["op"] == "m"));
    assert_eq!(contents[0]["message"]["prefix"], "audit");
    assert!(contents[0]["source"]["txId"].is_i64());
    assert!(contents[1]["source"]["txId"].is_null());

    // Transaction metadata: BEGIN and END of both transactions.
    let statuses: Vec<String> = transactions
        .iter()
        .map(|r| {
            payload(&json(r.value.as_deref()))["status"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(statuses, ["BEGIN", "END", "BEGIN", "END"]);
    let end = payload(&json(transactions[1].value.as_deref())).clone();
    assert_eq!(end["event_count"], 6, "{end}");

    // Heartbeats name the server.
    let beat = json(heartbeats[0].key.as_deref());
    assert_eq!(payload(&beat)["serverName"], name.as_str());
    assert!(payload(&json(heartbeats[0].value.as_deref()))["ts_ms"].is_i64());

    let snapshot = metrics.snapshot();
    assert_eq!(snapshot.errors.get(&ErrorKind::DeadLettered), Some(&2));
    assert_eq!(snapshot.errors.get(&ErrorKind::Transform), Some(&2));
}
