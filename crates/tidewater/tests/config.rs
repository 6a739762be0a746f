//! Connector configuration: real connector JSONs, every problem at once, warnings,
//! placeholders, secrets, and the documentation of every key.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "tests"
)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use tidewater::config::{
    ConfigErrors, ConfigParser, ConfigProviders, ConnectorConfig, ConverterConfig, KEYS, KeyGroup,
    Support, key_info,
};
use tidewater::connect::{ConnectRecord, DecimalFormat, SchemaBuilder, Struct, Value};
use tidewater::envelope::{BinaryMode, DecimalMode};
use tidewater::kafka::Compression;
use tidewater::postgres::{SnapshotMode, SslMode};
use tidewater::{ErrorTolerance, FailureHandling, OffsetStorage, RuntimeSettings};

/// The smallest valid configuration, as pairs.
fn minimal() -> Vec<(&'static str, &'static str)> {
    vec![
        ("database.hostname", "localhost"),
        ("database.user", "cdc"),
        ("database.dbname", "shop"),
        ("topic.prefix", "shop"),
    ]
}

fn with(extra: &[(&'static str, &'static str)]) -> Result<ConnectorConfig, ConfigErrors> {
    let mut pairs = minimal();
    pairs.extend_from_slice(extra);
    ConnectorConfig::from_properties(pairs)
}

fn warnings_of(config: &ConnectorConfig) -> Vec<String> {
    config.warnings().iter().map(ToString::to_string).collect()
}

fn record(topic: &str) -> ConnectRecord {
    ConnectRecord::new(Arc::from(topic), None, None, None, None)
}

/// The example of Debezium's PostgreSQL connector documentation.
#[test]
fn debezium_documentation_example() {
    let config = ConnectorConfig::from_json(
        r#"{
          "name": "fulfillment-connector",
          "config": {
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "database.hostname": "192.168.99.100",
            "database.port": "5432",
            "database.user": "postgres",
            "database.password": "postgres",
            "database.dbname" : "postgres",
            "topic.prefix": "fulfillment",
            "table.include.list": "public.inventory"
          }
        }"#,
    )
    .unwrap();
    assert_eq!(config.name(), "fulfillment-connector");
    assert_eq!(config.topic_prefix(), "fulfillment");
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());

    let source = config.source_config();
    assert_eq!(source.hostname, "192.168.99.100");
    assert_eq!(source.port, 5432);
    assert_eq!(source.user, "postgres");
    assert_eq!(source.password.as_deref(), Some("postgres"));
    assert_eq!(source.dbname, "postgres");
    assert_eq!(source.sslmode, SslMode::Prefer);
    assert_eq!(source.slot_name, "debezium");
    assert_eq!(source.publication_name, "dbz_publication");
    assert_eq!(source.snapshot_mode, SnapshotMode::Initial);
    assert!(source.filters.includes_table("public", "inventory"));
    assert!(!source.filters.includes_table("public", "orders"));

    let envelope = config.envelope_config();
    assert_eq!(envelope.topic_prefix, "fulfillment");
    assert_eq!(envelope.database_name, "postgres");
    assert!(envelope.table_included("public", "inventory"));
    assert!(!envelope.table_included("public", "orders"));
    assert_eq!(envelope.decimal_mode, DecimalMode::Precise);
    assert!(envelope.tombstones_on_delete);

    assert!(!config.has_transforms());
    assert!(config.transforms().unwrap().is_empty());
    for converter in [config.key_converter(), config.value_converter()] {
        let json = converter.as_json().unwrap();
        assert!(json.schemas_enable, "Kafka Connect's default");
        assert_eq!(json.decimal_format, DecimalFormat::Base64);
    }
    let producer = config.producer_config();
    assert!(!producer.has_brokers(), "no brokers: JSON lines on stdout");

    let runtime = config.runtime_settings();
    let defaults = RuntimeSettings::default();
    assert_eq!(runtime.name, "fulfillment-connector");
    assert_eq!(runtime.heartbeat_interval, None);
    assert_eq!(runtime.failure_handling, FailureHandling::Fail);
    assert_eq!(runtime.errors_tolerance, ErrorTolerance::None);
    assert_eq!(runtime.dead_letter_queue, None);
    assert_eq!(runtime.max_queue_size, defaults.max_queue_size);
    assert_eq!(runtime.max_batch_size, defaults.max_batch_size);
    assert_eq!(runtime.offset_storage, OffsetStorage::Memory);
    assert!(runtime.position_headers);
}

/// Debezium's outbox pattern example: the EventRouter with its options, JSON values
/// without schemas.
#[test]
fn outbox_event_router_example() {
    let config = ConnectorConfig::from_json(
        r#"{
          "name": "outbox-connector",
          "config": {
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "tasks.max": "1",
            "database.hostname": "postgres",
            "database.port": "5432",
            "database.user": "postgres",
            "database.password": "postgres",
            "database.dbname": "orderdb",
            "topic.prefix": "dbserver1",
            "schema.include.list": "inventory",
            "table.include.list": "inventory.outboxevent",
            "tombstones.on.delete": "false",
            "transforms": "outbox",
            "transforms.outbox.type": "io.debezium.transforms.outbox.EventRouter",
            "transforms.outbox.route.topic.replacement": "${routedByValue}.events",
            "transforms.outbox.table.fields.additional.placement": "type:header:eventType",
            "transforms.outbox.table.expand.json.payload": "true",
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "false",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false"
          }
        }"#,
    )
    .unwrap();
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    assert!(!config.envelope_config().tombstones_on_delete);
    assert!(
        config
            .envelope_config()
            .table_included("inventory", "outboxevent")
    );
    let chain = config.transforms().unwrap();
    assert_eq!(chain.aliases().collect::<Vec<_>>(), ["outbox"]);
    assert!(config.has_transforms());
    // `${routedByValue}` is the router's own placeholder, not a config provider's.
    assert_eq!(
        config.get("transforms.outbox.route.topic.replacement"),
        Some("${routedByValue}.events")
    );
    assert_eq!(
        config.value_converter(),
        ConverterConfig::Json(tidewater::connect::JsonConverterConfig {
            schemas_enable: false,
            ..Default::default()
        })
    );
    assert!(!config.key_converter().as_json().unwrap().schemas_enable);
}

/// Debezium's topic routing example (sharded tables into one topic) and a RegexRouter.
#[test]
fn reroute_example() {
    let config = ConnectorConfig::from_json(
        r#"{
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "database.hostname": "localhost",
            "database.user": "cdc",
            "database.dbname": "shop",
            "topic.prefix": "myserver",
            "transforms": "Reroute,rename",
            "transforms.Reroute.type": "io.debezium.transforms.ByLogicalTableRouter",
            "transforms.Reroute.topic.regex": "(.*)customers_shard(.*)",
            "transforms.Reroute.topic.replacement": "$1customers_all_shards",
            "transforms.Reroute.key.field.name": "shard_id",
            "transforms.Reroute.key.field.regex": "(.*)customers_shard(.*)",
            "transforms.Reroute.key.field.replacement": "$2",
            "transforms.rename.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.rename.regex": "myserver\\.public\\.(.*)",
            "transforms.rename.replacement": "cdc-$1",
            "transforms.rename.predicate": "notHeartbeat",
            "transforms.rename.negate": "true",
            "predicates": "notHeartbeat",
            "predicates.notHeartbeat.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            "predicates.notHeartbeat.pattern": "__debezium-heartbeat.*"
        }"#,
    )
    .unwrap();
    assert_eq!(config.name(), "tidewater", "a bare config map has no name");
    let chain = config.transforms().unwrap();
    assert_eq!(chain.aliases().collect::<Vec<_>>(), ["Reroute", "rename"]);

    // The chain is wired as configured: the key gets the shard, the topic is routed.
    let key_schema = Arc::new(
        SchemaBuilder::struct_()
            .name("myserver.public.customers_shard7.Key")
            .field("id", SchemaBuilder::int32().build().unwrap())
            .build()
            .unwrap(),
    );
    let mut key = Struct::new(key_schema.clone()).unwrap();
    key.put("id", 1).unwrap();
    let rec = ConnectRecord::new(
        Arc::from("myserver.public.customers_shard7"),
        Some(key_schema),
        Some(Value::Struct(key)),
        None,
        None,
    );
    let out = chain.apply(rec).unwrap().unwrap();
    assert_eq!(&*out.topic, "cdc-customers_all_shards");
    let Some(Value::Struct(key)) = out.key else {
        panic!("key kept")
    };
    assert_eq!(key.get("shard_id").and_then(Value::as_str), Some("7"));
    // The predicate (negated) keeps heartbeats away from the second transform.
    let hb = chain
        .apply(record("__debezium-heartbeat.myserver"))
        .unwrap()
        .unwrap();
    assert_eq!(&*hb.topic, "__debezium-heartbeat.myserver");
}

/// The ExtractNewRecordState options reach the transform: with `drop.tombstones=false`
/// a tombstone passes, by default it is dropped.
#[test]
fn unwrap_options_reach_the_transform() {
    let keep = with(&[
        ("transforms", "unwrap"),
        (
            "transforms.unwrap.type",
            "io.debezium.transforms.ExtractNewRecordState",
        ),
        ("transforms.unwrap.drop.tombstones", "false"),
        ("transforms.unwrap.delete.handling.mode", "rewrite"),
    ])
    .unwrap();
    let tombstone = record("shop.public.orders");
    assert!(
        keep.transforms()
            .unwrap()
            .apply(tombstone.clone())
            .unwrap()
            .is_some()
    );
    let drop = with(&[
        ("transforms", "unwrap"),
        ("transforms.unwrap.type", "ExtractNewRecordState"),
    ])
    .unwrap();
    assert!(
        drop.transforms()
            .unwrap()
            .apply(tombstone)
            .unwrap()
            .is_none()
    );
}

#[test]
fn five_mistakes_five_lines() {
    let err = ConnectorConfig::from_json(
        r#"{
          "name": "broken",
          "config": {
            "connector.class": "io.debezium.connector.mysql.MySqlConnector",
            "database.hostname": "localhost",
            "database.port": "not-a-port",
            "database.user": "cdc",
            "database.dbname": "shop",
            "topic.prefix": "shop",
            "decimal.handling.mode": "exact",
            "transforms": "unwrap",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.delete.handling.mode": "sometimes",
            "producer.override.linger.ms": "soon"
          }
        }"#,
    )
    .unwrap_err();
    let keys: Vec<&str> = err.keys().collect();
    assert_eq!(
        keys,
        [
            "connector.class",
            "database.port",
            "decimal.handling.mode",
            "producer.override.linger.ms",
            "transforms.unwrap.delete.handling.mode",
        ],
        "{err}"
    );
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    for (line, key) in lines.iter().zip(&keys) {
        assert!(line.starts_with(&format!("{key}: ")), "{line}");
    }
    assert!(
        lines[0].contains("not supported")
            && lines[0].contains("(got \"io.debezium.connector.mysql.MySqlConnector\")"),
        "{}",
        lines[0]
    );
    assert!(lines[1].ends_with("(got \"not-a-port\")"), "{}", lines[1]);
    assert!(lines[2].contains("precise, double, string"), "{}", lines[2]);
    assert!(lines[3].ends_with("(got \"soon\")"), "{}", lines[3]);
}

#[test]
fn missing_required_keys_are_all_named() {
    let err = ConnectorConfig::from_json("{}").unwrap_err();
    let keys: BTreeSet<&str> = err.keys().collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "database.dbname",
            "database.hostname",
            "database.user",
            "topic.prefix"
        ]),
        "{err}"
    );
    for p in err.problems() {
        assert!(p.value.is_none());
        assert!(p.reason.starts_with("is required"), "{p}");
    }
}

#[test]
fn problems_of_every_part_are_collected() {
    let err = with(&[
        ("slot.name", "Bad-Name"),
        ("snapshot.mode", "sometimes"),
        ("database.sslmode", "allow"),
        ("binary.handling.mode", "octal"),
        ("money.fraction.digits", "-1"),
        ("heartbeat.interval.ms", "-5"),
        ("errors.tolerance", "some"),
        ("compression.type", "brotli"),
        ("kafka.batch.size", "big"),
        ("value.converter.schemas.enable", "yes"),
        ("key.converter.decimal.format", "HEX"),
        ("offset.storage.partitions", "0"),
        ("transforms", "a,b,c"),
        ("transforms.a.type", "org.example.Unknown"),
        ("transforms.b.type", "RegexRouter"),
        ("transforms.c.type", "RegexRouter"),
        ("transforms.c.regex", "(.*)"),
        ("transforms.c.replacement", "x"),
        ("transforms.c.replacment", "y"),
    ])
    .unwrap_err();
    let keys: BTreeSet<&str> = err.keys().collect();
    let expected = BTreeSet::from([
        "slot.name",
        "snapshot.mode",
        "database.sslmode",
        "binary.handling.mode",
        "money.fraction.digits",
        "heartbeat.interval.ms",
        "errors.tolerance",
        "compression.type",
        "kafka.batch.size",
        "value.converter.schemas.enable",
        "key.converter.decimal.format",
        "offset.storage.partitions",
        "transforms.a.type",
        "transforms.b.regex",
        "transforms.c.replacment",
    ]);
    assert_eq!(keys, expected, "{err}");
    assert_eq!(err.to_string().lines().count(), expected.len());
}

#[test]
fn problems_of_every_transform_and_predicate() {
    let err = with(&[
        ("predicates", "isHeartbeat,broken"),
        ("predicates.isHeartbeat.type", "TopicNameMatches"),
        ("predicates.isHeartbeat.pattern", "__debezium-heartbeat.*"),
        ("predicates.broken.type", "TopicNameMatches"),
        ("transforms", "route,drop,mask,keep"),
        ("transforms.keep.type", "Filter"),
        ("transforms.keep.predicate", "broken"),
        ("transforms.keep.negate", "true"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.regex", "(.*)"),
        ("transforms.route.replacement", "x-$1"),
        ("transforms.route.predicate", "broken"),
        ("transforms.route.negate", "maybe"),
        (
            "transforms.drop.type",
            "org.apache.kafka.connect.transforms.Filter",
        ),
        ("transforms.drop.predicate", "isHeartbeat"),
        ("transforms.mask.type", "MaskField$Value"),
    ])
    .unwrap_err();
    assert_eq!(
        err.keys().collect::<Vec<_>>(),
        [
            "predicates.broken.pattern",
            "transforms.mask.fields",
            "transforms.route.negate"
        ],
        "{err}"
    );
}

#[test]
fn json_values_connect_style() {
    let config = ConnectorConfig::from_json(
        r#"{"database.hostname": "h", "database.user": "u", "database.dbname": "d",
            "topic.prefix": "p", "database.port": 6543, "tombstones.on.delete": false,
            "heartbeat.interval.ms": 1000, "tasks.max": 1}"#,
    )
    .unwrap();
    assert_eq!(config.source_config().port, 6543);
    assert!(!config.envelope_config().tombstones_on_delete);
    assert_eq!(
        config.runtime_settings().heartbeat_interval,
        Some(Duration::from_secs(1))
    );
    assert_eq!(config.get("database.port"), Some("6543"));

    let err = ConnectorConfig::from_json(
        r#"{"database.hostname": "h", "database.user": "u", "database.dbname": "d",
            "topic.prefix": "p", "table.include.list": ["a", "b"],
            "slot.name": null, "transforms": {"a": 1}}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.keys().collect::<Vec<_>>(),
        ["slot.name", "table.include.list", "transforms"],
        "{err}"
    );
    assert!(
        err.problem("table.include.list")
            .unwrap()
            .reason
            .contains("not an array")
    );
    assert!(
        err.problem("slot.name")
            .unwrap()
            .reason
            .contains("not null")
    );

    for (text, key) in [
        ("not json", "(connector JSON)"),
        ("[1]", "(connector JSON)"),
        (r#"{"name": "x", "config": "no"}"#, "config"),
    ] {
        let err = ConnectorConfig::from_json(text).unwrap_err();
        assert_eq!(err.keys().collect::<Vec<_>>(), [key], "{text}: {err}");
    }

    // The name: top-level, repeated inside, or in disagreement.
    let doc = |inner: &str| {
        format!(
            r#"{{"name": "orders", "tasks": [], "type": "source", "config": {{"database.hostname": "h",
            "database.user": "u", "database.dbname": "d", "topic.prefix": "p"{inner}}}}}"#
        )
    };
    let ok = ConnectorConfig::from_json(&doc(r#", "name": "orders""#)).unwrap();
    assert_eq!(ok.name(), "orders");
    assert_eq!(ok.runtime_settings().name, "orders");
    assert!(ok.warnings().is_empty(), "{:?}", ok.warnings());
    let err = ConnectorConfig::from_json(&doc(r#", "name": "other""#)).unwrap_err();
    assert_eq!(err.keys().collect::<Vec<_>>(), ["name"]);
    let named = with(&[("name", "inner-name")]).unwrap();
    assert_eq!(named.name(), "inner-name");
}

#[test]
fn connector_class_and_tasks() {
    for class in [
        "io.debezium.connector.postgresql.PostgresConnector",
        "PostgresConnector",
        "Postgres",
    ] {
        with(&[("connector.class", class)]).unwrap();
    }
    let err = with(&[
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSourceConnector",
        ),
        ("tasks.max", "4"),
    ])
    .unwrap_err();
    assert_eq!(
        err.keys().collect::<Vec<_>>(),
        ["connector.class", "tasks.max"]
    );
    assert_eq!(
        err.problem("tasks.max").unwrap().to_string(),
        "tasks.max: must be 1 (got \"4\")"
    );
}

#[test]
fn unknown_keys_warn_with_a_hint() {
    let config = with(&[
        ("table.include.lsit", "public.orders"),
        ("my.own.key", "x"),
        ("transforms.forgotten.type", "RegexRouter"),
        ("key.converter.schema.registry.url", "http://registry"),
        ("producer.override.not.a.producer.key", "1"),
    ])
    .unwrap();
    let warnings = warnings_of(&config);
    let find = |key: &str| {
        warnings
            .iter()
            .find(|w| w.starts_with(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("no warning about {key}: {warnings:?}"))
            .clone()
    };
    assert!(find("table.include.lsit").contains("did you mean `table.include.list`?"));
    assert!(find("my.own.key").contains("unknown key"));
    assert!(find("transforms.forgotten.type").contains("not listed in `transforms`"));
    assert!(find("key.converter.schema.registry.url").contains("not a JsonConverter setting"));
    assert!(find("producer.override.not.a.producer.key").contains("not a producer setting"));
    assert_eq!(warnings.len(), 5, "{warnings:?}");
}

/// A misspelt key is often why another key is reported missing or wrong: an invalid
/// configuration's errors carry the warnings too.
#[test]
fn invalid_configurations_keep_their_warnings() {
    let errors = with(&[
        ("table.include.lsit", "public.orders"),
        ("snapshot.mode", "sometimes"),
    ])
    .unwrap_err();
    assert!(errors.problem("snapshot.mode").is_some(), "{errors}");
    let warnings: Vec<String> = errors.warnings().iter().map(ToString::to_string).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("table.include.lsit: ")
                && w.contains("did you mean `table.include.list`?")),
        "{warnings:?}"
    );
}

#[test]
fn legacy_names_and_values() {
    let config = ConnectorConfig::from_properties([
        ("database.hostname", "localhost"),
        ("database.user", "cdc"),
        ("database.dbname", "shop"),
        ("database.server.name", "legacy"),
        ("table.whitelist", "public.orders"),
        ("schema.blacklist", "audit"),
        ("heartbeat.topics.prefix", "hb"),
        ("snapshot.mode", "never"),
        ("event.processing.failure.handling.mode", "ignore"),
        ("offsets.storage.topic", "connect-offsets"),
    ])
    .unwrap();
    assert_eq!(config.topic_prefix(), "legacy");
    assert_eq!(config.get("topic.prefix"), Some("legacy"));
    let source = config.source_config();
    assert!(source.filters.includes_table("public", "orders"));
    assert!(!source.filters.includes_table("public", "other"));
    assert!(!source.filters.includes_table("audit", "orders"));
    assert_eq!(source.snapshot_mode, SnapshotMode::NoData);
    let envelope = config.envelope_config();
    assert_eq!(envelope.heartbeat_topics_prefix, "hb");
    assert!(!envelope.table_included("public", "other"));
    let runtime = config.runtime_settings();
    assert_eq!(runtime.failure_handling, FailureHandling::Skip);
    assert!(matches!(
        runtime.offset_storage,
        OffsetStorage::Topic { ref topic, partitions: 25, replication_factor: 3 } if topic == "connect-offsets"
    ));
    let warnings = warnings_of(&config);
    for expected in [
        "database.server.name: deprecated name of topic.prefix",
        "table.whitelist: deprecated name of table.include.list",
        "schema.blacklist: deprecated name of schema.exclude.list",
        "heartbeat.topics.prefix: deprecated name of topic.heartbeat.prefix",
        "snapshot.mode: `never` is deprecated: read as `no_data`",
        "event.processing.failure.handling.mode: `ignore` is deprecated: read as `skip`",
    ] {
        assert!(
            warnings.iter().any(|w| w == expected),
            "{expected}: {warnings:?}"
        );
    }
    assert!(
        !warnings
            .iter()
            .any(|w| w.starts_with("offsets.storage.topic"))
    );

    // Both names: the current one wins (as Debezium 2 ignores the old name).
    let config = with(&[("database.server.name", "old")]).unwrap();
    assert_eq!(config.topic_prefix(), "shop");
    assert!(
        warnings_of(&config)
            .contains(&"database.server.name: ignored: topic.prefix is set".to_owned())
    );

    // Problems are reported under the name as written.
    let err = ConnectorConfig::from_properties([
        ("database.hostname", "localhost"),
        ("database.user", "cdc"),
        ("database.dbname", "shop"),
        ("database.server.name", "p"),
        ("table.whitelist", "(unclosed"),
    ])
    .unwrap_err();
    assert_eq!(err.keys().collect::<Vec<_>>(), ["table.whitelist"], "{err}");
    assert!(err.to_string().contains("invalid regular expression"));
}

#[test]
fn producer_keys_by_precedence() {
    let config = with(&[
        ("bootstrap.servers", "bare:9092"),
        ("kafka.bootstrap.servers", "kafka:9092"),
        ("compression.type", "gzip"),
        ("kafka.compression.type", "lz4"),
        ("producer.compression.type", "snappy"),
        ("linger.ms", "1"),
        ("producer.linger.ms", "2"),
        ("producer.override.linger.ms", "3"),
        ("kafka.client.id", "from-kafka-prefix"),
        ("topic.creation.default.partitions", "6"),
        ("topic.creation.default.replication.factor", "1"),
    ])
    .unwrap();
    let p = config.producer_config();
    assert_eq!(p.bootstrap_servers, ["kafka:9092"]);
    assert_eq!(p.compression, Compression::Snappy);
    assert_eq!(p.linger, Duration::from_millis(3));
    assert_eq!(p.client_id, "from-kafka-prefix");
    assert_eq!(p.topic_creation.default.partitions, 6);
    assert_eq!(p.topic_creation.default.replication_factor, 1);
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());

    // An error names the key that won.
    let err = with(&[
        ("linger.ms", "1"),
        ("producer.override.linger.ms", "later"),
        ("acks", "1"),
    ])
    .unwrap_err();
    assert_eq!(
        err.keys().collect::<Vec<_>>(),
        ["acks", "producer.override.linger.ms"],
        "{err}"
    );
    assert!(
        err.problem("acks")
            .unwrap()
            .reason
            .starts_with("not supported")
    );
}

#[test]
fn runtime_settings_from_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = dir.path().join("offsets.json");
    let offsets_text = offsets.display().to_string();
    let config = ConnectorConfig::from_properties(
        minimal()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .chain(
                [
                    ("name", "orders"),
                    ("heartbeat.interval.ms", "5000"),
                    ("heartbeat.action.query", "UPDATE hb SET ts = now()"),
                    ("event.processing.failure.handling.mode", "WARN"),
                    ("errors.tolerance", "all"),
                    ("errors.log.enable", "true"),
                    ("errors.log.include.messages", "TRUE"),
                    ("errors.deadletterqueue.topic.name", "dlq"),
                    ("errors.deadletterqueue.topic.replication.factor", "1"),
                    ("errors.deadletterqueue.context.headers.enable", "true"),
                    ("errors.retry.timeout", "30000"),
                    ("errors.retry.delay.max.ms", "1500"),
                    ("max.queue.size", "100"),
                    ("max.batch.size", "10"),
                    ("max.queue.size.in.bytes", "1048576"),
                    ("offset.flush.interval.ms", "250"),
                    ("tidewater.position.headers", "false"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
            )
            .chain([("offset.storage.file.filename".to_owned(), offsets_text)]),
    )
    .unwrap();
    let s = config.runtime_settings();
    assert_eq!(s.name, "orders");
    assert_eq!(s.heartbeat_interval, Some(Duration::from_secs(5)));
    assert_eq!(
        s.heartbeat_action_query.as_deref(),
        Some("UPDATE hb SET ts = now()")
    );
    assert_eq!(s.failure_handling, FailureHandling::Warn);
    assert_eq!(s.errors_tolerance, ErrorTolerance::All);
    assert!(s.errors_log_enable);
    assert!(s.errors_log_include_messages);
    let dlq = s.dead_letter_queue.unwrap();
    assert_eq!(dlq.topic, "dlq");
    assert_eq!(dlq.replication_factor, 1);
    assert!(dlq.context_headers);
    assert_eq!(s.retry_timeout, Some(Duration::from_secs(30)));
    assert_eq!(s.retry_delay_max, Duration::from_millis(1500));
    assert_eq!(s.max_queue_size, 100);
    assert_eq!(s.max_batch_size, 10);
    assert_eq!(s.max_queue_size_in_bytes, 1_048_576);
    assert_eq!(s.offset_flush_interval, Duration::from_millis(250));
    assert_eq!(s.offset_storage, OffsetStorage::File(offsets));
    assert!(!s.position_headers);
    // The source reads the same queue sizes.
    assert_eq!(config.source_config().max_queue_size, 100);
    assert_eq!(config.source_config().max_batch_size, 10);
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());

    let s = with(&[("errors.retry.timeout", "-1")])
        .unwrap()
        .runtime_settings();
    assert_eq!(s.retry_timeout, None);

    // Debezium's rule, checked once; conflicting offset stores; values out of range.
    let err = with(&[
        ("max.queue.size", "10"),
        ("max.batch.size", "10"),
        ("offset.storage.file.filename", "/tmp/x"),
        ("offset.storage.topic", "offsets"),
        ("errors.deadletterqueue.topic.replication.factor", "0"),
        ("errors.log.enable", "yes"),
    ])
    .unwrap_err();
    assert_eq!(
        err.keys().collect::<Vec<_>>(),
        [
            "errors.deadletterqueue.topic.replication.factor",
            "errors.log.enable",
            "max.queue.size",
            "offset.storage.topic"
        ],
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("must be larger than max.batch.size (10)")
    );

    // Settings without effect in context warn.
    let config = with(&[
        ("heartbeat.action.query", "SELECT 1"),
        ("errors.deadletterqueue.topic.name", "dlq"),
        ("offset.storage.partitions", "5"),
    ])
    .unwrap();
    let warnings = warnings_of(&config);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings[0]
            .starts_with("errors.deadletterqueue.topic.name: only used with errors.tolerance=all")
    );
    assert!(warnings[1].starts_with("heartbeat.action.query: has no effect"));
    assert!(warnings[2].starts_with("offset.storage.partitions: has no effect"));
}

#[test]
fn converters() {
    let config = with(&[
        ("key.converter", "JsonConverter"),
        ("key.converter.schemas.enable", "false"),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("value.converter.decimal.format", "NUMERIC"),
        ("value.converter.replace.null.with.default", "false"),
        (
            "header.converter",
            "org.apache.kafka.connect.storage.SimpleHeaderConverter",
        ),
    ])
    .unwrap();
    let key = *config.key_converter().as_json().unwrap();
    assert!(!key.schemas_enable);
    let value = *config.value_converter().as_json().unwrap();
    assert!(value.schemas_enable);
    assert_eq!(value.decimal_format, DecimalFormat::Numeric);
    assert!(!value.replace_null_with_default);
    let record_converter: tidewater::RecordConverter = config.value_converter().into();
    assert_eq!(
        record_converter.class_name(),
        "org.apache.kafka.connect.json.JsonConverter"
    );
    let bytes = config
        .key_converter()
        .build()
        .serialize("t", None, Some(&Value::from("k")))
        .unwrap();
    assert_eq!(bytes.as_deref(), Some(&b"\"k\""[..]));

    let err = with(&[
        ("key.converter", "io.confluent.connect.avro.AvroConverter"),
        ("key.converter.schema.registry.url", "http://registry:8081"),
        (
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        (
            "header.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
    ])
    .unwrap_err();
    assert_eq!(
        err.keys().collect::<Vec<_>>(),
        ["header.converter", "key.converter", "value.converter"],
        "{err}"
    );
    for p in err.problems() {
        assert!(p.reason.starts_with("not supported"), "{p}");
    }
}

#[test]
fn unsupported_keys_are_refused_or_ignored() {
    let config = with(&[
        ("signal.data.collection", "public.signals"),
        ("schema.history.internal.kafka.topic", "history"),
        (
            "topic.naming.strategy",
            "io.debezium.schema.SchemaTopicNamingStrategy",
        ),
        ("converters", ""),
        ("database.tcpKeepAlive", "true"),
    ])
    .unwrap();
    let warnings = warnings_of(&config);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .all(|w| w.contains("accepted without effect"))
    );

    let err = with(&[
        ("converters", "isbn"),
        ("column.mask.with.10.chars", "public.customers.email"),
        ("datatype.propagate.source.type", ".+\\.NUMERIC"),
        (
            "topic.naming.strategy",
            "io.debezium.schema.DefaultUnicodeTopicNamingStrategy",
        ),
        ("plugin.name", "decoderbufs"),
        ("database.sslcert", "/etc/client.pem"),
    ])
    .unwrap_err();
    assert_eq!(err.len(), 6, "{err}");
    assert!(
        err.problem("plugin.name")
            .unwrap()
            .reason
            .contains("pgoutput")
    );
    for p in err.problems() {
        assert!(
            p.reason.contains("not supported") || p.reason.contains("only `pgoutput`"),
            "{p}"
        );
    }
}

fn providers() -> ConfigProviders {
    ConfigProviders::new().with_env_vars([
        ("PGHOST", "db.internal"),
        ("PGPORT", "6432"),
        ("KAFKA_PASSWORD", "kafka-pass-9"),
    ])
}

#[test]
fn placeholders_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("db.properties");
    std::fs::write(
        &secrets,
        "# credentials\nuser = cdc\npassword=p4ss\\=word\n",
    )
    .unwrap();
    let s = secrets.display().to_string();
    let config = ConfigParser::new()
        .providers(providers())
        .parse_json(&format!(
            r#"{{
              "database.hostname": "${{env:PGHOST}}",
              "database.port": "${{env:PGPORT}}",
              "database.user": "${{file:{s}:user}}",
              "database.password": "${{file:{s}:password}}",
              "database.dbname": "shop",
              "topic.prefix": "shop-${{env:PGHOST}}",
              "security.protocol": "SASL_PLAINTEXT",
              "sasl.mechanism": "PLAIN",
              "sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"cdc\" password=\"${{env:KAFKA_PASSWORD}}\";"
            }}"#
        ))
        .unwrap();
    let source = config.source_config();
    assert_eq!(source.hostname, "db.internal");
    assert_eq!(source.port, 6432);
    assert_eq!(source.user, "cdc");
    assert_eq!(source.password.as_deref(), Some("p4ss=word"));
    assert_eq!(config.topic_prefix(), "shop-db.internal");
    let sasl = config.producer_config().sasl.unwrap();
    assert_eq!(sasl.username, "cdc");
    assert_eq!(sasl.password, "kafka-pass-9");
}

#[test]
fn missing_placeholders_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("db.properties");
    std::fs::write(&secrets, "user=cdc\n").unwrap();
    let s = secrets.display().to_string();
    let err = ConfigParser::new()
        .providers(providers())
        .parse_properties([
            (
                "database.hostname".to_owned(),
                "${env:NO_SUCH_VAR}".to_owned(),
            ),
            ("database.user".to_owned(), format!("${{file:{s}:nobody}}")),
            (
                "database.password".to_owned(),
                "${file:/no/such/dir/x.properties:password}".to_owned(),
            ),
            ("database.dbname".to_owned(), "${env:}".to_owned()),
            ("topic.prefix".to_owned(), "shop".to_owned()),
        ])
        .unwrap_err();
    assert_eq!(
        err.keys().collect::<Vec<_>>(),
        [
            "database.dbname",
            "database.hostname",
            "database.password",
            "database.user"
        ],
        "{err}"
    );
    assert!(
        err.problem("database.hostname")
            .unwrap()
            .reason
            .contains("`NO_SUCH_VAR` is not set")
    );
    assert!(
        err.problem("database.user")
            .unwrap()
            .reason
            .contains("key `nobody` is not in")
    );
    assert!(
        err.problem("database.password")
            .unwrap()
            .reason
            .contains("cannot read")
    );
    assert_eq!(err.to_string().lines().count(), 4);
}

/// A distinctive secret through every path never shows in Debug, Display, errors or
/// warnings.
#[test]
fn secrets_never_leak() {
    const SECRET: &str = "Zebra-Secret-7731";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.properties");
    std::fs::write(&file, format!("password={SECRET}\n")).unwrap();
    let f = file.display().to_string();
    let env = ConfigProviders::new().with_env_vars([("DB_PASSWORD", SECRET)]);
    let parser = ConfigParser::new().providers(env);

    let check = |what: &str, texts: Vec<String>| {
        for t in texts {
            assert!(!t.contains(SECRET), "{what}: {t}");
            assert!(!t.contains("7731"), "{what}: {t}");
        }
    };
    let base = || {
        minimal()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<Vec<_>>()
    };
    let outputs_ok = |c: &ConnectorConfig| {
        let mut out = vec![
            format!("{c:?}"),
            format!("{:?}", c.source_config()),
            format!("{:?}", c.producer_config()),
        ];
        out.extend(c.warnings().iter().map(|w| format!("{w} {w:?}")));
        out
    };
    let outputs_err = |e: &ConfigErrors| vec![e.to_string(), format!("{e:?}")];

    // Redaction hides secrets, not everything.
    let shown = format!("{:?}", with(&[("database.password", SECRET)]).unwrap());
    assert!(
        shown.contains("\"database.hostname\": \"localhost\""),
        "{shown}"
    );
    assert!(
        shown.contains("\"database.password\": \"<redacted>\""),
        "{shown}"
    );

    // Direct, env placeholder, file placeholder, as a SASL password in a JAAS line.
    for (key, value) in [
        ("database.password", SECRET.to_owned()),
        ("database.password", "${env:DB_PASSWORD}".to_owned()),
        ("database.password", format!("${{file:{f}:password}}")),
        ("producer.override.sasl.password", SECRET.to_owned()),
        (
            "kafka.sasl.jaas.config",
            format!(
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"{SECRET}\";"
            ),
        ),
        ("transforms.x.client.secret", SECRET.to_owned()),
    ] {
        let mut pairs = base();
        pairs.push((key.to_owned(), value));
        match parser.parse_properties(pairs) {
            Ok(c) => check(key, outputs_ok(&c)),
            Err(e) => check(key, outputs_err(&e)),
        }
    }

    // Invalid values in secret keys, and secrets quoted by other keys' errors.
    for pairs in [
        vec![
            ("security.protocol", "SASL_SSL".to_owned()),
            ("ssl.ca.location", "/ca.pem".to_owned()),
            ("sasl.mechanism", "PLAIN".to_owned()),
            ("sasl.jaas.config", format!("broken {SECRET}")),
        ],
        vec![("ssl.truststore.password", SECRET.to_owned())],
        vec![("ssl.key.password", "${env:DB_PASSWORD}".to_owned())],
        vec![
            ("database.password", SECRET.to_owned()),
            ("slot.name", format!("Slot-{SECRET}")),
            ("my.unknown.key", SECRET.to_owned()),
            ("bootstrap.servers", format!("{SECRET}-no-port")),
        ],
        vec![("database.password", "${env:NOT_SET_ANYWHERE}".to_owned())],
        vec![("database.password", "[1]".to_owned())],
    ] {
        let mut all = base();
        all.extend(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)));
        let err = parser.parse_properties(all.clone()).unwrap_err_or_config();
        check(&format!("{all:?}"), err);
    }
    let err = ConnectorConfig::from_json(&format!(
        r#"{{"database.password": ["{SECRET}"], "database.hostname": "h"}}"#
    ))
    .unwrap_err();
    check("json array password", outputs_err(&err));
}

trait Outputs {
    fn unwrap_err_or_config(self) -> Vec<String>;
}

impl Outputs for Result<ConnectorConfig, ConfigErrors> {
    fn unwrap_err_or_config(self) -> Vec<String> {
        match self {
            Ok(c) => {
                let mut out = vec![format!("{c:?}")];
                out.extend(c.warnings().iter().map(ToString::to_string));
                out
            }
            Err(e) => vec![e.to_string(), format!("{e:?}")],
        }
    }
}

#[test]
fn files_json_and_properties() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("connector.json");
    std::fs::write(
        &json,
        r#"{"name": "n", "config": {"database.hostname": "h", "database.user": "u",
            "database.dbname": "d", "topic.prefix": "p"}}"#,
    )
    .unwrap();
    assert_eq!(ConnectorConfig::from_json_file(&json).unwrap().name(), "n");
    let props = dir.path().join("connector.properties");
    std::fs::write(
        &props,
        "name=standalone\n\
         connector.class=io.debezium.connector.postgresql.PostgresConnector\n\
         database.hostname=h\ndatabase.user=u\ndatabase.dbname=d\n\
         topic.prefix=p\n\
         table.include.list=public.a,\\\n    public.b\n",
    )
    .unwrap();
    let config = ConnectorConfig::from_properties_file(&props).unwrap();
    assert_eq!(config.name(), "standalone");
    assert!(config.source_config().filters.includes_table("public", "b"));
    let err = ConnectorConfig::from_json_file(dir.path().join("missing.json")).unwrap_err();
    assert_eq!(err.keys().collect::<Vec<_>>(), ["(connector JSON)"]);
}

/// The key table, the sub-crates' key lists and the defaults agree.
#[test]
fn key_table_covers_every_parser() {
    for key in tidewater::postgres::KEYS
        .iter()
        .chain(tidewater::envelope::CONFIG_KEYS)
        .chain(tidewater::kafka::PRODUCER_KEYS)
    {
        assert!(key_info(key).is_some(), "{key} is not in the key table");
    }
    for sub in tidewater::connect::JsonConverterConfig::KEYS {
        if *sub == "converter.type" {
            continue; // set by Kafka Connect itself, not by users
        }
        for prefix in ["key.converter.", "value.converter."] {
            let key = format!("{prefix}{sub}");
            assert!(KEYS.iter().any(|k| k.name == key), "{key}");
        }
    }
    for k in KEYS {
        assert!(!k.meaning.is_empty(), "{}", k.name);
        if let Support::Legacy(current) | Support::Alias(current) = k.support {
            assert!(key_info(current).is_some(), "{} → {current}", k.name);
        }
    }
}

/// Giving every key its documented default changes nothing.
#[test]
fn documented_defaults_are_the_defaults() {
    let mut pairs: Vec<(String, String)> = minimal()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for k in KEYS {
        let literal = !k.default.starts_with('(') && !k.is_prefix();
        if literal && matches!(k.support, Support::Supported) && k.name != "name" {
            pairs.push((k.name.to_owned(), k.default.to_owned()));
        }
    }
    let given = ConnectorConfig::from_properties(pairs.clone()).unwrap();
    let plain = with(&[]).unwrap();
    // Only the settings of a dead-letter topic or an offsets topic, neither of which is
    // configured by default, are pointed out.
    for w in given.warnings() {
        assert!(w.message.starts_with("has no effect without"), "{w}");
    }
    assert_eq!(given.warnings().len(), 4, "{:?}", given.warnings());
    assert_eq!(
        format!("{:?}", given.source_config()),
        format!("{:?}", plain.source_config())
    );
    assert_eq!(
        format!("{:?}", given.envelope_config()),
        format!("{:?}", plain.envelope_config())
    );
    assert_eq!(given.key_converter(), plain.key_converter());
    assert_eq!(given.value_converter(), plain.value_converter());
    assert_eq!(
        format!("{:?}", given.producer_config()),
        format!("{:?}", plain.producer_config())
    );
    assert_eq!(given.runtime_settings(), plain.runtime_settings());
    assert_eq!(plain.runtime_settings(), RuntimeSettings::default());
    assert_eq!(
        plain.source_config().max_queue_size,
        plain.runtime_settings().max_queue_size
    );
    let binary = plain.envelope_config().binary_mode;
    assert_eq!(binary, BinaryMode::Bytes);
}

fn docs_page() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn docs_document_every_key() {
    let page = docs_page();
    for k in KEYS {
        let quoted = format!("`{}`", k.name);
        assert!(
            page.contains(&quoted),
            "docs/configuration.md lacks {quoted}"
        );
    }
    for group in KeyGroup::ALL {
        assert!(
            page.contains(&format!("\n## {}\n", group.title())),
            "docs/configuration.md lacks the section {}",
            group.title()
        );
    }
}

#[test]
fn docs_example_parses() {
    let page = docs_page();
    let example = page
        .split("\n## Example\n")
        .nth(1)
        .and_then(|s| s.split("```json\n").nth(1))
        .and_then(|s| s.split("\n```").next())
        .expect("a ```json block under ## Example");
    let parser =
        ConfigParser::new().providers(ConfigProviders::new().with_env_vars([("PGPASSWORD", "pw")]));
    let config = parser.parse_json(example).unwrap();
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    assert_eq!(config.name(), "inventory-connector");
    assert_eq!(config.source_config().password.as_deref(), Some("pw"));
    assert_eq!(config.producer_config().bootstrap_servers.len(), 2);
    assert_eq!(config.producer_config().compression, Compression::Zstd);
    let chain = config.transforms().unwrap();
    assert_eq!(chain.aliases().collect::<Vec<_>>(), ["unwrap"]);
    assert!(
        chain
            .apply(record("inventory.public.orders"))
            .unwrap()
            .is_some(),
        "tombstones kept"
    );
    assert!(matches!(
        config.runtime_settings().offset_storage,
        OffsetStorage::File(_)
    ));
}

/// Keys the parser may name although the input lacks them: required keys, and keys
/// another setting requires or is checked against.
const IMPLIED_KEYS: &[&str] = &[
    "database.hostname",
    "database.user",
    "database.dbname",
    "topic.prefix",
    "max.queue.size",
    "delivery.timeout.ms",
    "ssl.truststore.location",
    "sasl.jaas.config",
    "sasl.mechanism",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "database.sslmode",
    "name",
];

fn key_strategy() -> impl Strategy<Value = String> {
    let known: Vec<String> = KEYS
        .iter()
        .map(|k| k.name.trim_end_matches('*').to_owned())
        .chain(
            [
                "transforms.a.type",
                "transforms.a.regex",
                "transforms.a.replacement",
                "transforms.a.predicate",
                "transforms.a.negate",
                "predicates.p.type",
                "predicates.p.pattern",
                "producer.override.linger.ms",
                "kafka.security.protocol",
                "topic.creation.groups",
                "topic.creation.g.include",
            ]
            .map(str::to_owned),
        )
        .collect();
    prop_oneof![
        3 => proptest::sample::select(known),
        1 => "[a-z.]{1,20}",
        1 => any::<String>(),
    ]
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "",
            "0",
            "1",
            "-1",
            "true",
            "false",
            "x",
            "a,b",
            "(",
            "SSL",
            "SASL_SSL",
            "PLAIN",
            "RegexRouter",
            "p",
            "a",
            "${env:X}",
            "${file:/nonexistent:k}",
            "none",
            "all",
            "localhost:9092",
            "hex:0",
            "99999999999999999999",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary maps never panic the parser, and every problem names a key of the input
    /// (or one the input implies).
    #[test]
    fn arbitrary_maps_never_panic(pairs in proptest::collection::vec((key_strategy(), value_strategy()), 0..24)) {
        let parser = ConfigParser::new().providers(ConfigProviders::new().with_env_vars([("X", "1")]));
        match parser.parse_properties(pairs.clone()) {
            Ok(config) => {
                let _ = config.transforms().unwrap();
                let _ = format!("{config:?}");
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for p in errors.problems() {
                    let in_input = pairs.iter().any(|(k, _)| *k == p.key)
                        || IMPLIED_KEYS.contains(&p.key.as_str())
                        || p.key.starts_with("topic.creation.")
                        || p.key.starts_with("transforms.")
                        || p.key.starts_with("predicates.");
                    prop_assert!(in_input, "{} not in the input: {:?}", p.key, pairs);
                    prop_assert_eq!(p.to_string().lines().count(), 1);
                }
            }
        }
    }

    /// Arbitrary JSON documents of string values never panic the parser either.
    #[test]
    fn arbitrary_json_never_panics(text in any::<String>(), pairs in proptest::collection::btree_map(key_strategy(), value_strategy(), 0..12)) {
        let _ = ConnectorConfig::from_json(&text);
        let doc = serde_json::json!({ "name": "n", "config": pairs });
        let _ = ConnectorConfig::from_json(&doc.to_string());
    }
}
