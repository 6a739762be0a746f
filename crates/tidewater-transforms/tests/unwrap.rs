//! ExtractNewRecordState behaviour tables: every row of Debezium's
//! `delete.tombstone.handling.mode` table, the legacy `drop.tombstones` /
//! `delete.handling.mode` combinations, metadata fields and headers,
//! routing, dropped fields and default replacement.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests unwrap known-good fixtures"
)]

mod common;

use std::sync::Arc;

use common::*;
use serde_json::{Value as Json, json};
use tidewater_connect::{ConnectRecord, Schema, SchemaBuilder, SchemaType, Struct, Value};

const UNWRAP: &str = "io.debezium.transforms.ExtractNewRecordState";

fn unwrap_chain(options: &[(&str, &str)]) -> tidewater_transforms::TransformChain {
    let mut pairs = vec![("transforms", "unwrap"), ("transforms.unwrap.type", UNWRAP)];
    let keys: Vec<String> = options
        .iter()
        .map(|(k, _)| format!("transforms.unwrap.{k}"))
        .collect();
    for ((_, v), k) in options.iter().zip(&keys) {
        pairs.push((k.as_str(), v));
    }
    chain(&pairs)
}

/// What a record became, in a form a table can state.
#[derive(Debug, PartialEq)]
enum Out {
    Dropped,
    /// Unchanged record (not an envelope).
    Unchanged,
    /// Null value; `true` when the value schema is kept.
    Null {
        value_schema: bool,
    },
    Row(Json),
}

fn outcome(chain: &tidewater_transforms::TransformChain, r: ConnectRecord) -> Out {
    let before = r.clone();
    match run(chain, r) {
        None => Out::Dropped,
        Some(o) if o == before => Out::Unchanged,
        Some(o) if o.value.is_none() => Out::Null {
            value_schema: o.value_schema.is_some(),
        },
        Some(o) => Out::Row(value_json(&o).unwrap()),
    }
}

struct Events {
    create: ConnectRecord,
    update: ConnectRecord,
    read: ConnectRecord,
    delete: ConnectRecord,
    tombstone: ConnectRecord,
    truncate: ConnectRecord,
    heartbeat: ConnectRecord,
}

fn events() -> Events {
    let mut t = Table::customers();
    let create = t.insert(&[Some("1"), Some("Ann"), Some("ann@x")]);
    let update = t.update(None, &[Some("1"), Some("Anne"), Some("ann@x")]);
    let read = t.read(&[Some("2"), Some("Bob"), None]);
    let (delete, tombstone) = t.delete(&[Some("1"), Some("Anne"), Some("ann@x")]);
    let truncate = t.truncate();
    let heartbeat = t.heartbeat();
    Events {
        create,
        update,
        read,
        delete,
        tombstone,
        truncate,
        heartbeat,
    }
}

fn row(id: i32, name: &str, email: Option<&str>, deleted: Option<&str>) -> Out {
    let mut v = json!({"id": id, "name": name, "email": email});
    if let Some(d) = deleted {
        v["__deleted"] = json!(d);
    }
    Out::Row(v)
}

/// One line of a behaviour table: the outcome for each kind of record.
struct Line {
    create: Out,
    update: Out,
    read: Out,
    delete: Out,
    tombstone: Out,
}

fn check(config: &[(&str, &str)], line: Line) {
    let e = events();
    let c = unwrap_chain(config);
    let label = format!("{config:?}");
    assert_eq!(outcome(&c, e.create), line.create, "create, {label}");
    assert_eq!(outcome(&c, e.update), line.update, "update, {label}");
    assert_eq!(outcome(&c, e.read), line.read, "read, {label}");
    assert_eq!(outcome(&c, e.delete), line.delete, "delete, {label}");
    assert_eq!(
        outcome(&c, e.tombstone),
        line.tombstone,
        "tombstone, {label}"
    );
    // Truncates are always dropped, non-envelope records always pass.
    assert_eq!(outcome(&c, e.truncate), Out::Dropped, "truncate, {label}");
    assert_eq!(
        outcome(&c, e.heartbeat),
        Out::Unchanged,
        "heartbeat, {label}"
    );
}

fn plain(deleted: Option<&str>) -> (Out, Out, Out) {
    (
        row(1, "Ann", Some("ann@x"), deleted),
        row(1, "Anne", Some("ann@x"), deleted),
        row(2, "Bob", None, deleted),
    )
}

#[test]
fn delete_tombstone_handling_mode_table() {
    // mode, delete, tombstone, rewrite (adds __deleted)
    let rows: [(&str, Out, Out, bool); 5] = [
        ("drop", Out::Dropped, Out::Dropped, false),
        (
            "tombstone",
            Out::Null { value_schema: true },
            Out::Dropped,
            false,
        ),
        (
            "rewrite",
            row(1, "Anne", Some("ann@x"), Some("true")),
            Out::Dropped,
            true,
        ),
        (
            "rewrite-with-tombstone",
            row(1, "Anne", Some("ann@x"), Some("true")),
            Out::Unchanged,
            true,
        ),
        (
            "delete-to-tombstone",
            Out::Null {
                value_schema: false,
            },
            Out::Dropped,
            false,
        ),
    ];
    for (mode, delete, tombstone, rewrite) in rows {
        let (create, update, read) = plain(rewrite.then_some("false"));
        check(
            &[("delete.tombstone.handling.mode", mode)],
            Line {
                create,
                update,
                read,
                delete,
                tombstone,
            },
        );
    }
    // No option at all: the default mode is `tombstone`.
    let (create, update, read) = plain(None);
    check(
        &[],
        Line {
            create,
            update,
            read,
            delete: Out::Null { value_schema: true },
            tombstone: Out::Dropped,
        },
    );
}

#[test]
fn legacy_drop_tombstones_and_delete_handling_mode_table() {
    // drop.tombstones, delete.handling.mode, delete, tombstone, rewrite
    type LegacyRow = (Option<&'static str>, Option<&'static str>, Out, Out, bool);
    let rows: [LegacyRow; 8] = [
        (
            Some("true"),
            Some("drop"),
            Out::Dropped,
            Out::Dropped,
            false,
        ),
        (
            Some("true"),
            Some("none"),
            Out::Null { value_schema: true },
            Out::Dropped,
            false,
        ),
        (
            Some("true"),
            Some("rewrite"),
            row(1, "Anne", Some("ann@x"), Some("true")),
            Out::Dropped,
            true,
        ),
        (
            Some("false"),
            Some("drop"),
            Out::Dropped,
            Out::Unchanged,
            false,
        ),
        (
            Some("false"),
            Some("none"),
            Out::Null { value_schema: true },
            Out::Unchanged,
            false,
        ),
        (
            Some("false"),
            Some("rewrite"),
            row(1, "Anne", Some("ann@x"), Some("true")),
            Out::Unchanged,
            true,
        ),
        // One legacy key alone: the other takes its legacy default.
        (Some("false"), None, Out::Dropped, Out::Unchanged, false),
        (
            None,
            Some("rewrite"),
            row(1, "Anne", Some("ann@x"), Some("true")),
            Out::Dropped,
            true,
        ),
    ];
    for (drop_tombstones, handling, delete, tombstone, rewrite) in rows {
        let mut config = Vec::new();
        if let Some(d) = drop_tombstones {
            config.push(("drop.tombstones", d));
        }
        if let Some(h) = handling {
            config.push(("delete.handling.mode", h));
        }
        let (create, update, read) = plain(rewrite.then_some("false"));
        check(
            &config,
            Line {
                create,
                update,
                read,
                delete,
                tombstone,
            },
        );
    }
    // The current option wins over the legacy ones.
    let (create, update, read) = plain(None);
    check(
        &[
            ("delete.tombstone.handling.mode", "delete-to-tombstone"),
            ("drop.tombstones", "false"),
            ("delete.handling.mode", "rewrite"),
        ],
        Line {
            create,
            update,
            read,
            delete: Out::Null {
                value_schema: false,
            },
            tombstone: Out::Dropped,
        },
    );
}

#[test]
fn the_widely_used_rewrite_config_keeps_tombstones_and_flags_deletes() {
    // The configuration found in countless Debezium + JDBC sink setups.
    let c = unwrap_chain(&[
        ("drop.tombstones", "false"),
        ("delete.handling.mode", "rewrite"),
        ("add.fields", "table,lsn"),
    ]);
    let e = events();
    let out = run(&c, e.create).unwrap();
    assert_eq!(&*out.topic, "server1.public.customers");
    assert_eq!(key_json(&out), Some(json!({"id": 1})));
    let schema = out.value_schema.clone().unwrap();
    assert_eq!(
        schema_json(&schema, out.value.as_ref().unwrap()),
        json!({
            "type": "struct",
            "fields": [
                {"type": "int32", "optional": false, "field": "id"},
                {"type": "string", "optional": true, "field": "name"},
                {"type": "string", "optional": true, "field": "email"},
                {"type": "string", "optional": true, "field": "__table"},
                {"type": "int64", "optional": true, "field": "__lsn"},
                {"type": "string", "optional": true, "field": "__deleted"}
            ],
            "optional": false,
            "name": "server1.public.customers.Value"
        })
    );
    assert_eq!(
        value_json(&out),
        Some(
            json!({"id": 1, "name": "Ann", "email": "ann@x", "__table": "customers", "__lsn": 4112, "__deleted": "false"})
        )
    );
    let out = run(&c, e.delete).unwrap();
    assert_eq!(key_json(&out), Some(json!({"id": 1})));
    assert_eq!(
        value_json(&out),
        Some(
            json!({"id": 1, "name": "Anne", "email": "ann@x", "__table": "customers", "__lsn": 4160, "__deleted": "true"})
        )
    );
    let tomb = run(&c, e.tombstone.clone()).unwrap();
    assert_eq!(tomb, e.tombstone, "the tombstone passes unchanged");
    assert_eq!(run(&c, e.truncate), None);
}

#[test]
fn add_fields_with_struct_names_renames_and_prefix() {
    let e = events();
    let c = unwrap_chain(&[(
        "add.fields",
        "op, table,lsn,source.ts_ms,ts_ms:EVENT_TS,transaction.id,id,snapshot,notThere,source.notThere",
    )]);
    let out = run(&c, e.read).unwrap();
    assert_eq!(
        value_json(&out),
        Some(json!({
            "id": 2, "name": "Bob", "email": null,
            "__op": "r", "__table": "customers", "__lsn": 4144,
            "__source_ts_ms": COMMIT_UNIX_MICROS / 1000,
            "__EVENT_TS": NOW_MICROS / 1000,
            "__transaction_id": null, "__id": null,
            "__snapshot": "true"
        }))
    );
    let schema = out.value_schema.as_ref().unwrap();
    let snapshot = schema.field("__snapshot").unwrap().schema();
    assert!(snapshot.is_optional());
    assert_eq!(snapshot.name(), Some("io.debezium.data.Enum"));
    assert_eq!(
        snapshot.default_value(),
        None,
        "metadata copies drop the default"
    );
    assert!(schema.field("__notThere").is_none());

    // A custom prefix (and none).
    let c = unwrap_chain(&[
        ("add.fields", "op,source.db"),
        ("add.fields.prefix", "meta_"),
    ]);
    let out = run(&c, e.update.clone()).unwrap();
    assert_eq!(value_json(&out).unwrap()["meta_op"], "u");
    assert_eq!(value_json(&out).unwrap()["meta_source_db"], "postgres");
    let c = unwrap_chain(&[("add.fields", "op:OP"), ("add.fields.prefix", "")]);
    assert_eq!(value_json(&run(&c, e.update).unwrap()).unwrap()["OP"], "u");

    // The derived schema is built once per envelope schema.
    let c = unwrap_chain(&[("add.fields", "op")]);
    let a = run(&c, e.create.clone()).unwrap();
    let b = run(&c, e.create).unwrap();
    assert!(Arc::ptr_eq(
        a.value_schema.as_ref().unwrap(),
        b.value_schema.as_ref().unwrap()
    ));

    let err = tidewater_transforms::TransformChain::from_config([
        ("transforms", "unwrap"),
        ("transforms.unwrap.type", UNWRAP),
        ("transforms.unwrap.add.fields", "a.b.c"),
    ])
    .unwrap_err();
    assert!(
        err.to_string().contains("transforms.unwrap.add.fields"),
        "{err}"
    );
}

#[test]
fn add_headers_with_prefix_including_tombstones() {
    let e = events();
    let c = unwrap_chain(&[
        ("delete.tombstone.handling.mode", "rewrite-with-tombstone"),
        ("add.headers", "op,source.lsn,db:database"),
        ("add.headers.prefix", "dbz."),
    ]);
    let out = run(&c, e.update).unwrap();
    assert_eq!(
        headers(&out),
        [
            "dbz.op=\"u\"",
            "dbz.source_lsn=4128",
            "dbz.database=\"postgres\""
        ]
    );
    let h = out
        .headers
        .iter()
        .find(|h| h.key == "dbz.source_lsn")
        .unwrap();
    assert_eq!(h.schema.as_ref().unwrap().schema_type(), SchemaType::Int64);
    assert!(h.schema.as_ref().unwrap().is_optional());
    let out = run(&c, e.delete).unwrap();
    assert_eq!(headers(&out)[0], "dbz.op=\"d\"");
    // A kept tombstone carries only the op header, "d".
    let out = run(&c, e.tombstone).unwrap();
    assert_eq!(headers(&out), ["dbz.op=\"d\""]);
    // Headers already on the record stay.
    let mut r = e.create;
    r.headers.add("trace", None, Some(Value::from("abc")));
    let out = run(&unwrap_chain(&[("add.headers", "op")]), r).unwrap();
    assert_eq!(headers(&out), ["trace=\"abc\"", "__op=\"c\""]);
}

#[test]
fn legacy_operation_header_and_add_source_fields() {
    let e = events();
    let c = unwrap_chain(&[
        ("operation.header", "true"),
        ("add.source.fields", "lsn,table"),
    ]);
    let out = run(&c, e.create).unwrap();
    assert_eq!(headers(&out), ["__op=\"c\""]);
    let v = value_json(&out).unwrap();
    assert_eq!(
        (v["__lsn"].clone(), v["__table"].clone()),
        (json!(4112), json!("customers"))
    );
}

#[test]
fn route_by_field_uses_after_or_before() {
    let e = events();
    let c = unwrap_chain(&[
        ("route.by.field", "name"),
        ("delete.tombstone.handling.mode", "rewrite"),
    ]);
    assert_eq!(&*run(&c, e.create).unwrap().topic, "Ann");
    assert_eq!(&*run(&c, e.delete).unwrap().topic, "Anne");
    // A null routing value keeps the topic.
    let mut t = Table::customers();
    let r = t.insert(&[Some("3"), None, None]);
    assert_eq!(&*run(&c, r).unwrap().topic, "server1.public.customers");
    let c = unwrap_chain(&[("route.by.field", "nope")]);
    let err = c.apply(t.insert(&[Some("4"), None, None])).unwrap_err();
    assert_eq!(err.alias(), "unwrap");
}

#[test]
fn drop_fields_named_in_a_header() {
    let e = events();
    let with_header = |mut r: ConnectRecord| {
        r.headers.add(
            "drop-fields",
            None,
            Some(Value::Array(vec![
                Some(Value::from("id")),
                Some(Value::from("email")),
            ])),
        );
        r
    };
    // Schema-compatible (default): only optional fields are dropped; the key is kept.
    let c = unwrap_chain(&[("drop.fields.header.name", "drop-fields")]);
    let out = run(&c, with_header(e.create.clone())).unwrap();
    assert_eq!(value_json(&out), Some(json!({"id": 1, "name": "Ann"})));
    assert_eq!(key_json(&out), Some(json!({"id": 1})));
    // Without the header nothing is dropped.
    assert_eq!(
        value_json(&run(&c, e.create.clone()).unwrap()).unwrap()["email"],
        "ann@x"
    );

    let c = unwrap_chain(&[
        ("drop.fields.header.name", "drop-fields"),
        ("drop.fields.keep.schema.compatible", "false"),
        ("drop.fields.from.key", "true"),
        ("delete.tombstone.handling.mode", "rewrite"),
        ("add.fields", "op"),
    ]);
    let out = run(&c, with_header(e.create.clone())).unwrap();
    assert_eq!(
        value_json(&out),
        Some(json!({"name": "Ann", "__op": "c", "__deleted": "false"}))
    );
    assert_eq!(key_json(&out), Some(json!({})));
    let out = run(&c, with_header(e.delete)).unwrap();
    assert_eq!(
        value_json(&out),
        Some(json!({"name": "Anne", "__op": "d", "__deleted": "true"}))
    );
}

/// A hand-made envelope whose `name` column has a default.
fn envelope_with_default(name: Option<&str>) -> ConnectRecord {
    let row = Arc::new(
        SchemaBuilder::struct_()
            .name("s.public.t.Value")
            .optional()
            .field("id", Schema::of(SchemaType::Int32))
            .field(
                "name",
                SchemaBuilder::string()
                    .optional()
                    .default_value(Value::from("anonymous"))
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap(),
    );
    let env = Arc::new(
        SchemaBuilder::struct_()
            .name("s.public.t.Envelope")
            .version(2)
            .field("before", row.clone())
            .field("after", row.clone())
            .field("op", Schema::of(SchemaType::String))
            .build()
            .unwrap(),
    );
    let mut after = Struct::new(row).unwrap();
    after.put("id", 1).unwrap();
    if let Some(n) = name {
        after.put("name", n).unwrap();
    }
    let mut v = Struct::new(env.clone()).unwrap();
    v.put("after", after).unwrap();
    v.put("op", "c").unwrap();
    ConnectRecord::new(
        Arc::from("s.public.t"),
        None,
        None,
        Some(env),
        Some(Value::Struct(v)),
    )
}

#[test]
fn replace_null_with_default_applies_when_the_row_is_rewritten() {
    let raw = |r: &ConnectRecord| {
        let Some(Value::Struct(s)) = &r.value else {
            panic!("struct")
        };
        s.get_without_default("name").cloned()
    };
    // Rewrite modes copy the row: a null becomes the column default...
    let c = unwrap_chain(&[("delete.tombstone.handling.mode", "rewrite")]);
    let out = run(&c, envelope_with_default(None)).unwrap();
    assert_eq!(raw(&out), Some(Value::from("anonymous")));
    // ...unless replace.null.with.default=false.
    let c = unwrap_chain(&[
        ("delete.tombstone.handling.mode", "rewrite"),
        ("replace.null.with.default", "false"),
    ]);
    let out = run(&c, envelope_with_default(None)).unwrap();
    assert_eq!(raw(&out), None);
    // Without a rewrite the row passes as it is.
    let out = run(&unwrap_chain(&[]), envelope_with_default(None)).unwrap();
    assert_eq!(raw(&out), None);
    let out = run(&unwrap_chain(&[]), envelope_with_default(Some("x"))).unwrap();
    assert_eq!(raw(&out), Some(Value::from("x")));
}

#[test]
fn invalid_options_are_rejected() {
    for (k, v) in [
        ("delete.tombstone.handling.mode", "delete"),
        ("delete.handling.mode", "keep"),
        ("drop.tombstones", "yes"),
        ("replace.null.with.default", "1"),
        ("add.headers", "op:a:b"),
        ("unknown.option", "x"),
    ] {
        let key = format!("transforms.unwrap.{k}");
        let err = tidewater_transforms::TransformChain::from_config([
            ("transforms", "unwrap"),
            ("transforms.unwrap.type", UNWRAP),
            (key.as_str(), v),
        ])
        .unwrap_err();
        match err {
            tidewater_transforms::TransformError::Config { alias, key: k2, .. } => {
                assert_eq!((alias.as_str(), k2.as_str()), ("unwrap", key.as_str()));
            }
            other => panic!("{other:?}"),
        }
    }
}
