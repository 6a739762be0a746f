//! Building chains from Connect-style configuration: class names, options,
//! predicates, negation and the errors for bad configuration; the routers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests unwrap known-good fixtures"
)]

mod common;

use std::sync::Arc;

use common::*;
use serde_json::json;
use tidewater_connect::{ConnectRecord, Value};
use tidewater_transforms::{TransformChain, TransformError};

fn err(pairs: &[(&str, &str)]) -> TransformError {
    TransformChain::from_config(pairs.iter().copied()).unwrap_err()
}

fn config_err(pairs: &[(&str, &str)]) -> (String, String, String) {
    match err(pairs) {
        TransformError::Config {
            alias, key, reason, ..
        } => (alias, key, reason),
        other => panic!("expected a config error, got {other:?}"),
    }
}

fn topic_record(topic: &str) -> ConnectRecord {
    ConnectRecord::new(Arc::from(topic), None, None, None, Some(Value::from("v")))
}

#[test]
fn empty_and_unrelated_config_is_an_empty_chain() {
    let c = chain(&[(
        "connector.class",
        "io.debezium.connector.postgresql.PostgresConnector",
    )]);
    assert!(c.is_empty());
    let r = topic_record("a");
    assert_eq!(run(&c, r.clone()), Some(r));
}

#[test]
fn config_errors_name_alias_key_and_reason() {
    let (alias, key, reason) = config_err(&[("transforms", "x")]);
    assert_eq!((alias.as_str(), key.as_str()), ("x", "transforms.x.type"));
    assert!(reason.contains("needs a type"), "{reason}");

    let (alias, key, reason) =
        config_err(&[("transforms", "x"), ("transforms.x.type", "com.acme.Nope")]);
    assert_eq!((alias.as_str(), key.as_str()), ("x", "transforms.x.type"));
    assert!(reason.contains("unknown transform class"), "{reason}");

    let (alias, key, reason) = config_err(&[
        ("transforms", "route"),
        (
            "transforms.route.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.route.regex", "(.*)"),
        ("transforms.route.replacement", "$1"),
        ("transforms.route.colour", "blue"),
    ]);
    assert_eq!(
        (alias.as_str(), key.as_str()),
        ("route", "transforms.route.colour")
    );
    assert!(reason.contains("unknown option"), "{reason}");

    let (_, key, reason) = config_err(&[
        ("transforms", "route"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.regex", "(.*"),
        ("transforms.route.replacement", "$1"),
    ]);
    assert_eq!(key, "transforms.route.regex");
    assert!(reason.contains("regular expression"), "{reason}");

    let (_, key, reason) = config_err(&[
        ("transforms", "route"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.regex", "(.*)"),
        ("transforms.route.replacement", "$2"),
    ]);
    assert_eq!(key, "transforms.route.replacement");
    assert!(reason.contains("does not exist"), "{reason}");

    let (_, key, reason) = config_err(&[
        ("transforms", "route"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.replacement", "x"),
    ]);
    assert_eq!(key, "transforms.route.regex");
    assert!(reason.contains("missing"), "{reason}");

    let (_, key, _) = config_err(&[("transforms", "a,b,a")]);
    assert_eq!(key, "transforms");

    let (alias, key, reason) = config_err(&[
        ("transforms", "f"),
        ("transforms.f.type", "Filter"),
        ("transforms.f.predicate", "nope"),
    ]);
    assert_eq!(
        (alias.as_str(), key.as_str()),
        ("f", "transforms.f.predicate")
    );
    assert!(reason.contains("no predicate"), "{reason}");

    let (_, key, _) = config_err(&[
        ("transforms", "f"),
        ("transforms.f.type", "Filter"),
        ("transforms.f.negate", "true"),
    ]);
    assert_eq!(key, "transforms.f.negate");

    let (_, key, reason) = config_err(&[
        ("predicates", "p"),
        (
            "predicates.p.type",
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        ),
    ]);
    assert_eq!(key, "predicates.p.pattern");
    assert!(reason.contains("missing"), "{reason}");

    let (_, key, reason) = config_err(&[
        ("predicates", "p"),
        ("predicates.p.type", "RecordIsTombstone"),
        ("predicates.p.pattern", "x"),
    ]);
    assert_eq!(key, "predicates.p.pattern");
    assert!(reason.contains("unknown option"), "{reason}");

    let (_, key, reason) = config_err(&[
        ("transforms", "f"),
        ("transforms.f.type", "io.debezium.transforms.Filter"),
    ]);
    assert_eq!(key, "transforms.f.type");
    assert!(reason.contains("scripting"), "{reason}");

    let e = err(&[("transforms", "x"), ("transforms.x.type", "Nope")]);
    let text = e.to_string();
    assert!(
        text.contains("transforms.x.type") && text.contains("Nope"),
        "{text}"
    );
}

#[test]
fn predicates_gate_transforms_and_negate_inverts() {
    let c = chain(&[
        ("transforms", "drop"),
        (
            "transforms.drop.type",
            "org.apache.kafka.connect.transforms.Filter",
        ),
        ("transforms.drop.predicate", "isHeartbeat"),
        ("predicates", "isHeartbeat"),
        (
            "predicates.isHeartbeat.type",
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        ),
        ("predicates.isHeartbeat.pattern", "__debezium-heartbeat.*"),
    ]);
    assert_eq!(run(&c, topic_record("__debezium-heartbeat.server1")), None);
    assert!(run(&c, topic_record("server1.public.t")).is_some());
    // The pattern must match the whole topic.
    assert!(run(&c, topic_record("x__debezium-heartbeat")).is_some());

    let keep_only_orders = chain(&[
        ("transforms", "drop"),
        ("transforms.drop.type", "Filter"),
        ("transforms.drop.predicate", "isOrders"),
        ("transforms.drop.negate", "true"),
        ("predicates", "isOrders"),
        ("predicates.isOrders.type", "TopicNameMatches"),
        ("predicates.isOrders.pattern", ".*\\.orders"),
    ]);
    assert!(run(&keep_only_orders, topic_record("s.public.orders")).is_some());
    assert_eq!(run(&keep_only_orders, topic_record("s.public.items")), None);

    let tomb = chain(&[
        ("transforms", "drop"),
        ("transforms.drop.type", "Filter"),
        ("transforms.drop.predicate", "t"),
        ("predicates", "t"),
        (
            "predicates.t.type",
            "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
        ),
    ]);
    assert_eq!(
        run(
            &tomb,
            ConnectRecord::new(Arc::from("a"), None, None, None, None)
        ),
        None
    );
    assert!(run(&tomb, topic_record("a")).is_some());

    let header = chain(&[
        ("transforms", "drop"),
        ("transforms.drop.type", "Filter"),
        ("transforms.drop.predicate", "h"),
        ("predicates", "h"),
        ("predicates.h.type", "HasHeaderKey"),
        ("predicates.h.name", "skip"),
    ]);
    let mut r = topic_record("a");
    assert!(run(&header, r.clone()).is_some());
    r.headers.add("skip", None, None);
    assert_eq!(run(&header, r), None);
}

#[test]
fn regex_router_uses_java_replacement_and_whole_match() {
    let c = chain(&[
        ("transforms", "route"),
        (
            "transforms.route.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.route.regex", "([^.]+)\\.([^.]+)\\.([^.]+)"),
        ("transforms.route.replacement", "$3_$1"),
    ]);
    let rows = [
        ("server1.public.orders", "orders_server1"),
        ("server1.orders", "server1.orders"),
        ("a.b.c", "c_a"),
    ];
    for (input, expected) in rows {
        let out = run(&c, topic_record(input)).unwrap();
        assert_eq!(&*out.topic, expected, "{input}");
        // The cached route gives the same answer.
        let again = run(&c, topic_record(input)).unwrap();
        assert_eq!(&*again.topic, expected);
    }
}

#[test]
fn timestamp_router_formats_the_record_timestamp_in_utc() {
    let c = chain(&[
        ("transforms", "ts"),
        ("transforms.ts.type", "TimestampRouter"),
    ]);
    let mut r = topic_record("events");
    r.timestamp = Some(1_709_945_296_007);
    assert_eq!(&*run(&c, r.clone()).unwrap().topic, "events-20240309");

    let c = chain(&[
        ("transforms", "ts"),
        (
            "transforms.ts.type",
            "org.apache.kafka.connect.transforms.TimestampRouter",
        ),
        ("transforms.ts.topic.format", "${timestamp}.${topic}"),
        ("transforms.ts.timestamp.format", "yyyy-MM'w'"),
    ]);
    assert!(
        TransformChain::from_config([
            ("transforms", "ts"),
            ("transforms.ts.type", "TimestampRouter"),
            ("transforms.ts.timestamp.format", "yyyy-ww"),
        ])
        .is_err()
    );
    assert_eq!(&*run(&c, r).unwrap().topic, "2024-03w.events");
    let e = c.apply(topic_record("no-ts")).unwrap_err();
    assert_eq!(e.alias(), "ts");
    assert!(e.to_string().contains("timestamp missing"), "{e}");
}

#[test]
fn by_logical_table_router_renames_schemas_and_adds_the_physical_table_to_the_key() {
    let mut t = common::Table::customers();
    let c = chain(&[
        ("transforms", "Reroute"),
        (
            "transforms.Reroute.type",
            "io.debezium.transforms.ByLogicalTableRouter",
        ),
        ("transforms.Reroute.topic.regex", "(.*)customers(.*)"),
        (
            "transforms.Reroute.topic.replacement",
            "$1customers_all_shards",
        ),
    ]);
    let out = run(&c, t.insert(&[Some("1"), Some("Ann"), None])).unwrap();
    assert_eq!(&*out.topic, "server1.public.customers_all_shards");
    let key_schema = out.key_schema.as_ref().unwrap();
    assert_eq!(
        key_schema.name(),
        Some("server1.public.customers_all_shards.Key")
    );
    assert_eq!(
        key_json(&out),
        Some(json!({"id": 1, "__dbz__physicalTableIdentifier": "server1.public.customers"}))
    );
    let vs = out.value_schema.as_ref().unwrap();
    assert_eq!(
        vs.name(),
        Some("server1.public.customers_all_shards.Envelope")
    );
    assert_eq!(
        vs.field("after").unwrap().schema().name(),
        Some("server1.public.customers_all_shards.Value")
    );
    assert_eq!(
        value_json(&out).unwrap()["after"],
        json!({"id": 1, "name": "Ann", "email": null})
    );

    // Tombstones keep their null value but get the new key.
    let (_, tomb) = t.delete(&[Some("1"), Some("Ann"), None]);
    let out = run(&c, tomb).unwrap();
    assert!(out.value.is_none() && out.value_schema.is_none());
    assert_eq!(
        key_json(&out).unwrap()["__dbz__physicalTableIdentifier"],
        "server1.public.customers"
    );

    // Records of other topics pass unchanged.
    let hb = t.heartbeat();
    assert_eq!(run(&c, hb.clone()), Some(hb));

    let c = chain(&[
        ("transforms", "Reroute"),
        ("transforms.Reroute.type", "ByLogicalTableRouter"),
        ("transforms.Reroute.topic.regex", "(.*)\\.(cust)(omers)"),
        ("transforms.Reroute.topic.replacement", "all.$2"),
        ("transforms.Reroute.key.field.name", "shard"),
        ("transforms.Reroute.key.field.regex", "(.*)\\.(.*)\\.(.*)"),
        ("transforms.Reroute.key.field.replacement", "$2"),
        ("transforms.Reroute.schema.name.adjustment.mode", "avro"),
    ]);
    let out = run(&c, t.insert(&[Some("2"), None, None])).unwrap();
    assert_eq!(&*out.topic, "all.cust");
    assert_eq!(key_json(&out), Some(json!({"id": 2, "shard": "public"})));

    let c = chain(&[
        ("transforms", "Reroute"),
        ("transforms.Reroute.type", "ByLogicalTableRouter"),
        ("transforms.Reroute.topic.regex", "(.*)"),
        ("transforms.Reroute.topic.replacement", "9-all"),
        ("transforms.Reroute.key.enforce.uniqueness", "false"),
        ("transforms.Reroute.schema.name.adjustment.mode", "avro"),
    ]);
    let out = run(&c, t.insert(&[Some("3"), None, None])).unwrap();
    assert_eq!(key_json(&out), Some(json!({"id": 3})));
    assert_eq!(out.key_schema.as_ref().unwrap().name(), Some("__all.Key"));

    let (_, key, _) = config_err(&[
        ("transforms", "r"),
        ("transforms.r.type", "ByLogicalTableRouter"),
        ("transforms.r.topic.regex", "(.*)"),
        ("transforms.r.topic.replacement", "x"),
        ("transforms.r.key.field.regex", "(.*)"),
    ]);
    assert_eq!(key, "transforms.r.key.field.replacement");
}

#[test]
fn simple_class_names_are_accepted() {
    let c = chain(&[
        ("transforms", "a,b"),
        ("transforms.a.type", "RegexRouter"),
        ("transforms.a.regex", "x"),
        ("transforms.a.replacement", "y"),
        ("transforms.b.type", "Filter"),
    ]);
    assert_eq!(c.len(), 2);
    assert_eq!(run(&c, topic_record("x")), None);
}

#[test]
fn connector_json_as_users_keep_it() {
    let whole = r#"{
        "name": "inventory",
        "config": {
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "database.port": 5432,
            "transforms": "unwrap,route",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.drop.tombstones": false,
            "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.route.regex": "(.*)",
            "transforms.route.replacement": "all"
        }
    }"#;
    let c = TransformChain::from_connector_json(whole).unwrap();
    assert_eq!(c.aliases().collect::<Vec<_>>(), ["unwrap", "route"]);
    let only_config = r#"{"transforms": "f", "transforms.f.type": "Filter"}"#;
    assert_eq!(
        TransformChain::from_connector_json(only_config)
            .unwrap()
            .len(),
        1
    );
    assert!(TransformChain::from_connector_json("[1]").is_err());
    assert!(TransformChain::from_connector_json("{").is_err());
    let e = TransformChain::from_connector_json(r#"{"transforms": ["a"]}"#).unwrap_err();
    assert!(e.to_string().contains("transforms"), "{e}");
}
