//! The outbox EventRouter on records built from an outbox table exactly as
//! the connector emits them: key, payload, headers, topic, timestamp, and
//! every option.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests unwrap known-good fixtures"
)]

mod common;

use common::*;
use serde_json::json;
use tidewater_connect::{SchemaType, Value};
use tidewater_transforms::{TransformChain, TransformError};

const ROUTER: &str = "io.debezium.transforms.outbox.EventRouter";
const UUID: u32 = 2950;
const VARCHAR: u32 = 1043;
const JSONB: u32 = 3802;
const TIMESTAMP: u32 = 1114;
const INT4: u32 = 23;
const EVENT_ID: &str = "406c07f3-26f0-4eea-a50c-109940064b8f";
const PAYLOAD: &str = r#"{"id": 1, "lineItems": [{"id": 1, "item": "Debezium in Action", "quantity": 2, "totalPrice": 39.98}], "customerId": 123}"#;

/// `outboxevent (id uuid, aggregatetype, aggregateid, type, payload jsonb,
/// timestamp timestamp(6), shard int4, version int4)`.
fn outbox() -> Table {
    Table::new(
        "outboxevent",
        vec![
            col("id", UUID, true),
            col("aggregatetype", VARCHAR, false),
            col("aggregateid", VARCHAR, false),
            col("type", VARCHAR, false),
            col("payload", JSONB, false),
            col("timestamp", TIMESTAMP, false),
            col("shard", INT4, false),
            col("version", INT4, false),
        ],
        &[],
    )
}

fn row<'a>(payload: Option<&'a str>, ts: &'a str) -> Vec<Option<&'a str>> {
    vec![
        Some(EVENT_ID),
        Some("Order"),
        Some("1"),
        Some("OrderCreated"),
        payload,
        Some(ts),
        Some("2"),
        Some("3"),
    ]
}

fn router(options: &[(&str, &str)]) -> TransformChain {
    let mut pairs: Vec<(String, String)> = vec![
        ("transforms".into(), "outbox".into()),
        ("transforms.outbox.type".into(), ROUTER.into()),
    ];
    for (k, v) in options {
        pairs.push((format!("transforms.outbox.{k}"), (*v).to_string()));
    }
    TransformChain::from_config(pairs).unwrap()
}

#[test]
fn an_outbox_insert_becomes_the_routed_event() {
    let mut t = outbox();
    let insert = t.insert(&row(Some(PAYLOAD), "2019-05-03 13:38:14.344"));
    let out = run(&router(&[]), insert).unwrap();
    assert_eq!(&*out.topic, "outbox.event.Order");
    // Key: aggregateid, with the column's schema.
    assert_eq!(out.key, Some(Value::from("1")));
    assert_eq!(
        out.key_schema.as_ref().unwrap().schema_type(),
        SchemaType::String
    );
    // Value: the payload column as it is (a Json string).
    assert_eq!(value_json(&out), Some(json!(PAYLOAD)));
    assert_eq!(
        out.value_schema.as_ref().unwrap().name(),
        Some("io.debezium.data.Json")
    );
    // Header `id`, with the uuid column's schema.
    assert_eq!(headers(&out), [format!("id=\"{EVENT_ID}\"")]);
    assert_eq!(
        out.headers
            .iter()
            .next()
            .unwrap()
            .schema
            .as_ref()
            .unwrap()
            .name(),
        Some("io.debezium.data.Uuid")
    );
    // Timestamp: the envelope's ts_ms.
    assert_eq!(out.timestamp, Some(NOW_MICROS / 1000));
    assert_eq!(out.partition, None);

    // Snapshot reads are events too.
    let read = t.read(&row(Some(PAYLOAD), "2019-05-03 13:38:14.344"));
    assert_eq!(
        &*run(&router(&[]), read).unwrap().topic,
        "outbox.event.Order"
    );
}

#[test]
fn deletes_tombstones_updates_and_other_records() {
    let mut t = outbox();
    let r = router(&[]);
    let (delete, tombstone) = t.delete(&row(Some(PAYLOAD), "2019-05-03 13:38:14"));
    assert_eq!(run(&r, delete), None);
    assert_eq!(run(&r, tombstone), None);
    let update = t.update(None, &row(Some(PAYLOAD), "2019-05-03 13:38:14"));
    assert_eq!(run(&r, update.clone()), None, "warn (default): skipped");
    assert_eq!(
        run(
            &router(&[("table.op.invalid.behavior", "error")]),
            update.clone()
        ),
        None
    );
    let e = router(&[("table.op.invalid.behavior", "fatal")])
        .apply(update)
        .unwrap_err();
    assert!(
        matches!(e, TransformError::Record { ref alias, .. } if alias == "outbox"),
        "{e:?}"
    );
    let hb = t.heartbeat();
    assert_eq!(run(&r, hb.clone()), Some(hb));
}

#[test]
fn additional_placement_timestamp_version_and_routing() {
    let mut t = outbox();
    let r = router(&[
        (
            "table.fields.additional.placement",
            "type:header:eventType,type:envelope:type,shard:partition",
        ),
        ("table.field.event.timestamp", "timestamp"),
        ("table.field.event.schema.version", "version"),
        ("route.by.field", "type"),
        ("route.topic.regex", "Order(.*)"),
        ("route.topic.replacement", "orders.$1"),
    ]);
    let out = run(&r, t.insert(&row(Some(PAYLOAD), "2019-05-03 13:38:14.344"))).unwrap();
    assert_eq!(&*out.topic, "orders.Created");
    assert_eq!(
        headers(&out),
        [
            format!("id=\"{EVENT_ID}\""),
            "eventType=\"OrderCreated\"".into()
        ]
    );
    assert_eq!(out.partition, Some(2));
    // timestamp(6) is a MicroTimestamp: micros / 1000.
    assert_eq!(out.timestamp, Some(1_556_890_694_344));
    assert_eq!(
        value_json(&out),
        Some(json!({"payload": PAYLOAD, "type": "OrderCreated"}))
    );
    let s = out.value_schema.as_ref().unwrap();
    assert_eq!(
        s.name(),
        Some("server1.public.outboxevent.OrderCreated.Value")
    );
    assert_eq!(s.version(), Some(3));
    // A routed value the regex does not match is the topic as it is.
    let mut t2 = outbox();
    let mut other = row(Some(PAYLOAD), "2019-05-03 13:38:14");
    other[3] = Some("Shipment");
    let out = run(&r, t2.insert(&other)).unwrap();
    assert_eq!(&*out.topic, "Shipment");
}

#[test]
fn json_expansion_and_tombstones_on_empty_payloads() {
    let mut t = outbox();
    let r = router(&[("table.expand.json.payload", "true")]);
    let out = run(&r, t.insert(&row(Some(PAYLOAD), "2019-05-03 13:38:14"))).unwrap();
    assert_eq!(
        value_json(&out),
        Some(serde_json::from_str::<serde_json::Value>(PAYLOAD).unwrap())
    );
    let s = out.value_schema.clone().unwrap();
    assert_eq!(s.name(), Some("payload"));
    assert_eq!(
        s.field("customerId").unwrap().schema().schema_type(),
        SchemaType::Int32
    );
    // The inferred schema is shared by equal payloads.
    let again = run(&r, t.insert(&row(Some(PAYLOAD), "2019-05-03 13:38:14"))).unwrap();
    assert!(std::sync::Arc::ptr_eq(
        &s,
        again.value_schema.as_ref().unwrap()
    ));
    // Not JSON: kept as it is.
    let out = run(
        &r,
        t.insert(&row(Some("\"just text\""), "2019-05-03 13:38:14")),
    )
    .unwrap();
    assert_eq!(value_json(&out), Some(json!("\"just text\"")));

    let r = router(&[("route.tombstone.on.empty.payload", "true")]);
    let out = run(&r, t.insert(&row(None, "2019-05-03 13:38:14"))).unwrap();
    assert!(out.value.is_none() && out.value_schema.is_none());
    assert_eq!(out.key, Some(Value::from("1")));
    let out = run(&router(&[]), t.insert(&row(None, "2019-05-03 13:38:14"))).unwrap();
    assert!(
        out.value.is_none() && out.value_schema.is_some(),
        "without the option a null payload stays a null value"
    );
}

#[test]
fn missing_columns_and_bad_options() {
    let mut t = outbox();
    let ins = t.insert(&row(Some(PAYLOAD), "2019-05-03 13:38:14"));
    let e = router(&[("table.fields.additional.placement", "nope:header")])
        .apply(ins.clone())
        .unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
    let out = run(
        &router(&[
            ("table.fields.additional.placement", "nope:header"),
            ("table.fields.additional.error.on.missing", "false"),
        ]),
        ins.clone(),
    )
    .unwrap();
    assert_eq!(out.headers.len(), 1);
    assert!(
        router(&[("table.field.event.payload", "body")])
            .apply(ins.clone())
            .is_err()
    );
    assert!(
        router(&[("table.field.event.timestamp", "type")])
            .apply(ins)
            .is_err()
    );
    for (k, v) in [
        ("table.fields.additional.placement", "a:body"),
        ("table.fields.additional.placement", "a"),
        ("table.op.invalid.behavior", "ignore"),
        ("route.topic.regex", "(?<x>"),
        ("route.topic.replacement", "${nope}"),
        ("table.json.payload.null.behavior", "keep"),
        ("route.tombstone.on.empty.payload", "maybe"),
        ("colour", "blue"),
    ] {
        let key = format!("transforms.outbox.{k}");
        let e = TransformChain::from_config([
            ("transforms", "outbox"),
            ("transforms.outbox.type", ROUTER),
            (key.as_str(), v),
        ])
        .unwrap_err();
        match e {
            TransformError::Config { key: k2, alias, .. } => {
                assert_eq!((k2, alias.as_str()), (key, "outbox"))
            }
            other => panic!("{other:?}"),
        }
    }
    // Tracing and the old event-type column are accepted.
    router(&[
        ("tracing.span.context.field", "tracingspancontext"),
        ("table.field.event.type", "type"),
    ]);
}
