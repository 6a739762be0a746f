//! Golden tests: our records, serialized by the JSON converter, against the
//! Debezium output written by hand from the reference rules (schema names,
//! parameters, field order, values).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests unwrap known-good fixtures"
)]

mod common;

use base64::Engine as _;
use common::*;
use serde_json::json;
use tidewater_pgoutput::value::oid;
use tidewater_pgoutput::*;

const NUMERIC_10_2: i32 = ((10 << 16) | 2) + 4;

/// One column of every type of the reference mapping table:
/// (column, type oid, typmod, PostgreSQL text, expected schema, expected value).
/// (column, type oid, typmod, PostgreSQL text, expected schema, expected value)
type Case = (
    &'static str,
    u32,
    i32,
    Option<&'static str>,
    serde_json::Value,
    serde_json::Value,
);

fn all_types() -> Vec<Case> {
    let point_wkb = {
        let mut w = vec![1u8, 1, 0, 0, 0];
        w.extend_from_slice(&1.5f64.to_le_bytes());
        w.extend_from_slice(&2.0f64.to_le_bytes());
        base64::engine::general_purpose::STANDARD.encode(w)
    };
    vec![
        (
            "id",
            oid::INT4,
            -1,
            Some("1"),
            json!({"type": "int32", "optional": false}),
            json!(1),
        ),
        (
            "c_bool",
            oid::BOOL,
            -1,
            Some("t"),
            json!({"type": "boolean", "optional": true}),
            json!(true),
        ),
        (
            "c_bit1",
            oid::BIT,
            1,
            Some("1"),
            json!({"type": "boolean", "optional": true}),
            json!(true),
        ),
        (
            "c_bits",
            oid::BIT,
            24,
            Some("000000110000001000000001"),
            json!({"type": "bytes", "optional": true, "name": "io.debezium.data.Bits", "version": 1, "parameters": {"length": "24"}}),
            json!("AQID"),
        ),
        (
            "c_varbit",
            oid::VARBIT,
            8,
            Some("11"),
            json!({"type": "bytes", "optional": true, "name": "io.debezium.data.Bits", "version": 1, "parameters": {"length": "8"}}),
            json!("Aw=="),
        ),
        (
            "c_int2",
            oid::INT2,
            -1,
            Some("-2"),
            json!({"type": "int16", "optional": true}),
            json!(-2),
        ),
        (
            "c_int8",
            oid::INT8,
            -1,
            Some("9007199254740993"),
            json!({"type": "int64", "optional": true}),
            json!(9_007_199_254_740_993i64),
        ),
        (
            "c_oid",
            oid::OID,
            -1,
            Some("4000000000"),
            json!({"type": "int64", "optional": true}),
            json!(4_000_000_000i64),
        ),
        (
            "c_real",
            oid::FLOAT4,
            -1,
            Some("1.5"),
            json!({"type": "float", "optional": true}),
            json!(1.5),
        ),
        (
            "c_double",
            oid::FLOAT8,
            -1,
            Some("NaN"),
            json!({"type": "double", "optional": true}),
            json!("NaN"),
        ),
        (
            "c_numeric",
            oid::NUMERIC,
            NUMERIC_10_2,
            Some("123.40"),
            json!({"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
                   "parameters": {"scale": "2", "connect.decimal.precision": "10"}}),
            // 12340 = 0x3034
            json!("MDQ="),
        ),
        (
            "c_numeric_var",
            oid::NUMERIC,
            -1,
            Some("1.50"),
            json!({"type": "struct", "fields": [
                {"type": "int32", "optional": false, "field": "scale"},
                {"type": "bytes", "optional": false, "field": "value"}],
                "optional": true, "name": "io.debezium.data.VariableScaleDecimal", "version": 1, "doc": "Variable scaled decimal"}),
            json!({"scale": 1, "value": "Dw=="}),
        ),
        (
            "c_money",
            oid::MONEY,
            -1,
            Some("$1,234.56"),
            json!({"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
                   "parameters": {"scale": "2"}}),
            // 123456 = 0x01E240
            json!("AeJA"),
        ),
        (
            "c_char",
            oid::BPCHAR,
            7,
            Some("ab "),
            json!({"type": "string", "optional": true}),
            json!("ab "),
        ),
        (
            "c_varchar",
            oid::VARCHAR,
            14,
            Some("hello"),
            json!({"type": "string", "optional": true}),
            json!("hello"),
        ),
        (
            "c_text",
            oid::TEXT,
            -1,
            Some("tab\there \"q\""),
            json!({"type": "string", "optional": true}),
            json!("tab\there \"q\""),
        ),
        (
            "c_citext",
            CITEXT_OID,
            -1,
            Some("MiXeD"),
            json!({"type": "string", "optional": true}),
            json!("MiXeD"),
        ),
        (
            "c_name",
            oid::NAME,
            -1,
            Some("nm"),
            json!({"type": "string", "optional": true}),
            json!("nm"),
        ),
        (
            "c_bytea",
            oid::BYTEA,
            -1,
            Some("\\x0102ff"),
            json!({"type": "bytes", "optional": true}),
            json!("AQL/"),
        ),
        (
            "c_date",
            oid::DATE,
            -1,
            Some("2020-04-01"),
            json!({"type": "int32", "optional": true, "name": "io.debezium.time.Date", "version": 1}),
            json!(18_353),
        ),
        (
            "c_time3",
            oid::TIME,
            3,
            Some("11:51:02.123"),
            json!({"type": "int32", "optional": true, "name": "io.debezium.time.Time", "version": 1}),
            json!(42_662_123),
        ),
        (
            "c_time",
            oid::TIME,
            -1,
            Some("11:51:02.123456"),
            json!({"type": "int64", "optional": true, "name": "io.debezium.time.MicroTime", "version": 1}),
            json!(42_662_123_456i64),
        ),
        (
            "c_ts3",
            oid::TIMESTAMP,
            3,
            Some("2020-04-01 11:51:02.123"),
            json!({"type": "int64", "optional": true, "name": "io.debezium.time.Timestamp", "version": 1}),
            json!(1_585_741_862_123i64),
        ),
        (
            "c_ts",
            oid::TIMESTAMP,
            -1,
            Some("2020-04-01 11:51:02.123456"),
            json!({"type": "int64", "optional": true, "name": "io.debezium.time.MicroTimestamp", "version": 1}),
            json!(1_585_741_862_123_456i64),
        ),
        (
            "c_tstz",
            oid::TIMESTAMPTZ,
            -1,
            Some("2020-04-01 11:51:02+00"),
            json!({"type": "string", "optional": true, "name": "io.debezium.time.ZonedTimestamp", "version": 1}),
            json!("2020-04-01T11:51:02.000000Z"),
        ),
        (
            "c_tstz3",
            oid::TIMESTAMPTZ,
            3,
            Some("2016-11-04 13:51:30.123+02"),
            json!({"type": "string", "optional": true, "name": "io.debezium.time.ZonedTimestamp", "version": 1}),
            json!("2016-11-04T11:51:30.123Z"),
        ),
        (
            "c_timetz",
            oid::TIMETZ,
            -1,
            Some("11:51:30.123+00"),
            json!({"type": "string", "optional": true, "name": "io.debezium.time.ZonedTime", "version": 1}),
            json!("11:51:30.123Z"),
        ),
        (
            "c_interval",
            oid::INTERVAL,
            -1,
            Some("P1Y2M3DT4H5M6S"),
            json!({"type": "int64", "optional": true, "name": "io.debezium.time.MicroDuration", "version": 1}),
            // ((14 × 30.4375 + 3) days × 86400 + 14706) s
            json!(37_091_106_000_000i64),
        ),
        (
            "c_uuid",
            oid::UUID,
            -1,
            Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            json!({"type": "string", "optional": true, "name": "io.debezium.data.Uuid", "version": 1}),
            json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        ),
        (
            "c_json",
            oid::JSON,
            -1,
            Some("{\"a\": 1}"),
            json!({"type": "string", "optional": true, "name": "io.debezium.data.Json", "version": 1}),
            json!("{\"a\": 1}"),
        ),
        (
            "c_jsonb",
            oid::JSONB,
            -1,
            Some("{\"b\": [1, 2]}"),
            json!({"type": "string", "optional": true, "name": "io.debezium.data.Json", "version": 1}),
            json!("{\"b\": [1, 2]}"),
        ),
        (
            "c_xml",
            oid::XML,
            -1,
            Some("<a>1</a>"),
            json!({"type": "string", "optional": true, "name": "io.debezium.data.Xml", "version": 1}),
            json!("<a>1</a>"),
        ),
        (
            "c_enum",
            ENUM_OID,
            -1,
            Some("happy"),
            json!({"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1, "parameters": {"allowed": "happy,sad"}}),
            json!("happy"),
        ),
        (
            "c_inet",
            oid::INET,
            -1,
            Some("192.168.0.1/24"),
            json!({"type": "string", "optional": true}),
            json!("192.168.0.1/24"),
        ),
        (
            "c_cidr",
            oid::CIDR,
            -1,
            Some("10.0.0.0/8"),
            json!({"type": "string", "optional": true}),
            json!("10.0.0.0/8"),
        ),
        (
            "c_macaddr",
            oid::MACADDR,
            -1,
            Some("08:00:2b:01:02:03"),
            json!({"type": "string", "optional": true}),
            json!("08:00:2b:01:02:03"),
        ),
        (
            "c_macaddr8",
            oid::MACADDR8,
            -1,
            Some("08:00:2b:01:02:03:04:05"),
            json!({"type": "string", "optional": true}),
            json!("08:00:2b:01:02:03:04:05"),
        ),
        (
            "c_int4range",
            3904,
            -1,
            Some("[1,10)"),
            json!({"type": "string", "optional": true}),
            json!("[1,10)"),
        ),
        (
            "c_point",
            600,
            -1,
            Some("(1.5,2)"),
            json!({"type": "struct", "fields": [
                {"type": "double", "optional": false, "field": "x"},
                {"type": "double", "optional": false, "field": "y"},
                {"type": "bytes", "optional": true, "field": "wkb"},
                {"type": "int32", "optional": true, "field": "srid"}],
                "optional": true, "name": "io.debezium.data.geometry.Point", "version": 1, "doc": "Geometry (POINT)"}),
            json!({"x": 1.5, "y": 2.0, "wkb": point_wkb, "srid": null}),
        ),
        (
            "c_ltree",
            LTREE_OID,
            -1,
            Some("a.b.c"),
            json!({"type": "string", "optional": true, "name": "io.debezium.data.Ltree", "version": 1}),
            json!("a.b.c"),
        ),
        (
            "c_tsvector",
            3614,
            -1,
            Some("'a' 'b'"),
            json!({"type": "string", "optional": true, "name": "io.debezium.data.Tsvector", "version": 1}),
            json!("'a' 'b'"),
        ),
        (
            "c_hstore",
            HSTORE_OID,
            -1,
            Some("\"a\"=>\"1\", \"b\"=>NULL"),
            json!({"type": "string", "optional": true, "name": "io.debezium.data.Json", "version": 1}),
            json!("{\"a\":\"1\",\"b\":null}"),
        ),
        (
            "c_int_arr",
            oid::INT4_ARRAY,
            -1,
            Some("{1,NULL,3}"),
            json!({"type": "array", "items": {"type": "int32", "optional": true}, "optional": true}),
            json!([1, null, 3]),
        ),
        (
            "c_text_arr",
            oid::TEXT_ARRAY,
            -1,
            Some("{a,\"b c\"}"),
            json!({"type": "array", "items": {"type": "string", "optional": true}, "optional": true}),
            json!(["a", "b c"]),
        ),
        (
            "c_null",
            oid::TEXT,
            -1,
            None,
            json!({"type": "string", "optional": true}),
            json!(null),
        ),
    ]
}

fn all_types_relation() -> std::sync::Arc<Relation> {
    let mut cols: Vec<RelationColumn> = all_types()
        .iter()
        .map(|(n, o, m, ..)| col(n, *o, *m, *n == "id"))
        .collect();
    // An unknown type: left out, as Debezium does without include.unknown.datatypes.
    cols.push(col("c_unknown", 99_999, -1, false));
    relation("all_types", cols)
}

fn all_types_tuple() -> TupleData {
    let mut values: Vec<Option<&str>> = all_types().iter().map(|c| c.3).collect();
    values.push(Some("opaque"));
    tuple(&values)
}

fn value_fields() -> serde_json::Value {
    serde_json::Value::Array(
        all_types()
            .into_iter()
            .map(|(name, _, _, _, mut schema, _)| {
                schema["field"] = name.into();
                schema
            })
            .collect(),
    )
}

fn after_payload() -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (name, .., v) in all_types() {
        m.insert(name.into(), v);
    }
    serde_json::Value::Object(m)
}

fn key_schema(table: &str) -> serde_json::Value {
    json!({"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "id"}],
           "optional": false, "name": format!("server1.public.{table}.Key")})
}

#[test]
fn insert_of_every_type_schemas_off_and_on() {
    let rel = all_types_relation();
    let mut b = builder(&[]);
    let mut out = Vec::new();
    let ev = event(
        ChangeKind::Insert {
            new: all_types_tuple(),
        },
        &rel,
        24_023_128,
    );
    b.change(&ev, &types(), &mut out).unwrap();
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!(&*r.topic, "server1.public.all_types");

    let expected_value = json!({
        "before": null,
        "after": after_payload(),
        "source": source_payload("all_types", 24_023_128, "[null,\"24023128\"]", "false"),
        "op": "c",
        "ts_ms": NOW_MICROS / 1000,
        "ts_us": NOW_MICROS,
        "ts_ns": NOW_MICROS * 1000,
        "transaction": null
    });
    // Schemas off.
    assert_eq!(
        to_json(false, r.key_schema.as_ref(), r.key.as_ref()),
        Some(json!({"id": 1}))
    );
    assert_eq!(
        to_json(false, r.value_schema.as_ref(), r.value.as_ref()),
        Some(expected_value.clone())
    );
    // Schemas on.
    assert_eq!(
        to_json(true, r.key_schema.as_ref(), r.key.as_ref()),
        Some(json!({"schema": key_schema("all_types"), "payload": {"id": 1}}))
    );
    let on = to_json(true, r.value_schema.as_ref(), r.value.as_ref()).unwrap();
    assert_eq!(on["schema"], envelope_schema("all_types", value_fields()));
    assert_eq!(on["payload"], expected_value);
}

/// The exact bytes for a small table: object key order of the envelope,
/// the source block and the schema nodes.
#[test]
fn insert_bytes_are_exact() {
    let rel = relation(
        "t",
        vec![
            col("id", oid::INT4, -1, true),
            col("name", oid::TEXT, -1, false),
        ],
    );
    let mut b = builder(&[]);
    let mut out = Vec::new();
    b.change(
        &event(
            ChangeKind::Insert {
                new: tuple(&[Some("7"), Some("x")]),
            },
            &rel,
            100,
        ),
        &types(),
        &mut out,
    )
    .unwrap();
    let r = &out[0];
    let v = tidewater_envelope::TIDEWATER_VERSION;
    assert_eq!(
        to_text(false, r.value_schema.as_ref(), r.value.as_ref()).unwrap(),
        format!(
            concat!(
                r#"{{"before":null,"after":{{"id":7,"name":"x"}},"source":{{"version":"{}","connector":"postgresql","#,
                r#""name":"server1","ts_ms":1585741862123,"snapshot":"false","db":"postgres","sequence":"[null,\"100\"]","#,
                r#""ts_us":1585741862123456,"ts_ns":1585741862123456000,"schema":"public","table":"t","txId":555,"lsn":100,"#,
                r#""xmin":null,"origin":null,"origin_lsn":null}},"op":"c","ts_ms":1700000000123,"ts_us":1700000000123456,"#,
                r#""ts_ns":1700000000123456000,"transaction":null}}"#
            ),
            v
        )
    );
    assert_eq!(
        to_text(true, r.key_schema.as_ref(), r.key.as_ref()).unwrap(),
        r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"server1.public.t.Key"},"payload":{"id":7}}"#
    );
    let on = to_text(true, r.value_schema.as_ref(), r.value.as_ref()).unwrap();
    assert!(
        on.starts_with(concat!(
            r#"{"schema":{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},"#,
            r#"{"type":"string","optional":true,"field":"name"}],"optional":true,"name":"server1.public.t.Value","field":"before"},"#
        )),
        "{on}"
    );
    assert!(
        on.contains(r#"],"optional":false,"name":"server1.public.t.Envelope","version":2},"payload":{"before":null,"#),
        "{on}"
    );
}

#[test]
fn delete_then_tombstone_and_sequence_after_a_commit() {
    let rel = relation(
        "t",
        vec![
            col("id", oid::INT4, -1, true),
            col("name", oid::TEXT, -1, false),
        ],
    );
    let mut b = builder(&[]);
    let mut out = Vec::new();
    b.commit(
        &TransactionCommit {
            xid: 554,
            commit_lsn: Lsn(90),
            end_lsn: Lsn(99),
            commit_time: COMMIT_PG_MICROS,
            event_count: 0,
        },
        &mut out,
    );
    assert!(out.is_empty());
    let ev = event(
        ChangeKind::Delete {
            old: OldTuple::Key(tuple(&[Some("7"), None])),
        },
        &rel,
        120,
    );
    b.change(&ev, &types(), &mut out).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(
        to_json(false, out[0].value_schema.as_ref(), out[0].value.as_ref()),
        Some(json!({
            "before": {"id": 7, "name": null},
            "after": null,
            "source": source_payload("t", 120, "[\"99\",\"120\"]", "false"),
            "op": "d",
            "ts_ms": NOW_MICROS / 1000, "ts_us": NOW_MICROS, "ts_ns": NOW_MICROS * 1000,
            "transaction": null
        }))
    );
    // Tombstone: same topic and key, null value (no bytes at all).
    assert_eq!(out[1].topic, out[0].topic);
    assert_eq!(
        to_json(false, out[1].key_schema.as_ref(), out[1].key.as_ref()),
        Some(json!({"id": 7}))
    );
    assert_eq!(
        to_text(true, out[1].value_schema.as_ref(), out[1].value.as_ref()),
        None
    );

    // tombstones.on.delete=false: the delete alone.
    let mut b = builder(&[("tombstones.on.delete", "false")]);
    let mut out = Vec::new();
    b.change(&ev, &types(), &mut out).unwrap();
    assert_eq!(out.len(), 1);
}

#[test]
fn primary_key_change_is_delete_tombstone_create() {
    let rel = relation(
        "t",
        vec![
            col("id", oid::INT4, -1, true),
            col("name", oid::TEXT, -1, false),
        ],
    );
    let mut b = builder(&[]);
    let mut out = Vec::new();
    let ev = event(
        ChangeKind::Update {
            old: Some(OldTuple::Key(tuple(&[Some("1"), None]))),
            new: tuple(&[Some("2"), Some("x")]),
        },
        &rel,
        130,
    );
    b.change(&ev, &types(), &mut out).unwrap();
    assert_eq!(out.len(), 3);
    let payload = |i: usize| to_json(false, out[i].value_schema.as_ref(), out[i].value.as_ref());
    let key = |i: usize| to_json(false, out[i].key_schema.as_ref(), out[i].key.as_ref());
    assert_eq!(key(0), Some(json!({"id": 1})));
    assert_eq!(payload(0).unwrap()["op"], "d");
    assert_eq!(
        payload(0).unwrap()["before"],
        json!({"id": 1, "name": null})
    );
    assert_eq!(key(1), Some(json!({"id": 1})));
    assert_eq!(payload(1), None);
    assert_eq!(key(2), Some(json!({"id": 2})));
    assert_eq!(payload(2).unwrap()["op"], "c");
    assert_eq!(payload(2).unwrap()["after"], json!({"id": 2, "name": "x"}));
    assert_eq!(payload(2).unwrap()["before"], json!(null));

    // An update that keeps the key is one `u` (before null without REPLICA IDENTITY FULL).
    let mut out = Vec::new();
    let ev = event(
        ChangeKind::Update {
            old: None,
            new: tuple(&[Some("2"), Some("y")]),
        },
        &rel,
        140,
    );
    b.change(&ev, &types(), &mut out).unwrap();
    assert_eq!(out.len(), 1);
    let p = to_json(false, out[0].value_schema.as_ref(), out[0].value.as_ref()).unwrap();
    assert_eq!(
        (p["op"].clone(), p["before"].clone()),
        (json!("u"), json!(null))
    );
}

#[test]
fn unchanged_toast_gets_the_placeholder() {
    let rel = relation(
        "docs",
        vec![
            col("id", oid::INT4, -1, true),
            col("body", oid::TEXT, -1, false),
            col("blob", oid::BYTEA, -1, false),
            col("tags", oid::TEXT_ARRAY, -1, false),
            col("doc", oid::JSONB, -1, false),
        ],
    );
    let new = TupleData::from_columns(&[
        Column::Text(b"1"),
        Column::UnchangedToast,
        Column::UnchangedToast,
        Column::UnchangedToast,
        Column::UnchangedToast,
    ]);
    let mut b = builder(&[]);
    let mut out = Vec::new();
    b.change(
        &event(
            ChangeKind::Update {
                old: None,
                new: new.clone(),
            },
            &rel,
            150,
        ),
        &types(),
        &mut out,
    )
    .unwrap();
    let p = to_json(false, out[0].value_schema.as_ref(), out[0].value.as_ref()).unwrap();
    let placeholder_b64 =
        base64::engine::general_purpose::STANDARD.encode(b"__debezium_unavailable_value");
    assert_eq!(
        p["after"],
        json!({
            "id": 1,
            "body": "__debezium_unavailable_value",
            "blob": placeholder_b64,
            "tags": ["__debezium_unavailable_value"],
            "doc": "__debezium_unavailable_value"
        })
    );
    // A configured placeholder, hex: prefix meaning raw bytes.
    let mut b = builder(&[
        ("unavailable.value.placeholder", "hex:00ff"),
        ("binary.handling.mode", "hex"),
    ]);
    let mut out = Vec::new();
    b.change(
        &event(ChangeKind::Update { old: None, new }, &rel, 150),
        &types(),
        &mut out,
    )
    .unwrap();
    let p = to_json(false, out[0].value_schema.as_ref(), out[0].value.as_ref()).unwrap();
    assert_eq!(p["after"]["blob"], json!("00ff"));
}

#[test]
fn truncate_is_skipped_by_default_and_emitted_on_request() {
    let rel = relation("t", vec![col("id", oid::INT4, -1, true)]);
    let ev = event(
        ChangeKind::Truncate {
            cascade: false,
            restart_identity: false,
        },
        &rel,
        160,
    );
    let mut out = Vec::new();
    builder(&[]).change(&ev, &types(), &mut out).unwrap();
    assert!(out.is_empty(), "skipped.operations defaults to t");
    builder(&[("skipped.operations", "none")])
        .change(&ev, &types(), &mut out)
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].key, None);
    assert_eq!(
        to_text(true, out[0].key_schema.as_ref(), out[0].key.as_ref()),
        None
    );
    assert_eq!(
        to_json(false, out[0].value_schema.as_ref(), out[0].value.as_ref()),
        Some(json!({
            "before": null, "after": null,
            "source": source_payload("t", 160, "[null,\"160\"]", "false"),
            "op": "t",
            "ts_ms": NOW_MICROS / 1000, "ts_us": NOW_MICROS, "ts_ns": NOW_MICROS * 1000,
            "transaction": null
        }))
    );
}

#[test]
fn logical_messages() {
    let ev = ChangeEvent {
        kind: ChangeKind::Message {
            transactional: false,
            prefix: "audit".into(),
            content: bytes::Bytes::from_static(b"hello"),
        },
        relation: None,
        lsn: Lsn(170),
        commit_lsn: Lsn(170),
        xid: None,
        commit_time: COMMIT_PG_MICROS,
        index: 0,
    };
    let mut out = Vec::new();
    builder(&[]).change(&ev, &types(), &mut out).unwrap();
    let r = &out[0];
    assert_eq!(&*r.topic, "server1.message");
    let mut source = source_payload("", 170, "[null,\"170\"]", "false");
    source["schema"] = "".into();
    source["txId"] = json!(null);
    assert_eq!(
        to_json(false, r.key_schema.as_ref(), r.key.as_ref()),
        Some(json!({"prefix": "audit"}))
    );
    assert_eq!(
        to_json(false, r.value_schema.as_ref(), r.value.as_ref()),
        Some(json!({
            "op": "m",
            "ts_ms": NOW_MICROS / 1000,
            "source": source,
            "transaction": null,
            "message": {"prefix": "audit", "content": "aGVsbG8="}
        }))
    );
    let on = to_json(true, r.value_schema.as_ref(), r.value.as_ref()).unwrap();
    assert_eq!(
        on["schema"]["name"],
        "io.debezium.connector.postgresql.MessageValue"
    );
    assert_eq!(on["schema"]["version"], 1);
    assert_eq!(
        on["schema"]["fields"][4],
        json!({"type": "struct", "fields": [
            {"type": "string", "optional": true, "field": "prefix"},
            {"type": "bytes", "optional": true, "field": "content"}],
            "optional": false, "name": "io.debezium.connector.postgresql.Message", "version": 1, "field": "message"})
    );
    let key_on = to_json(true, r.key_schema.as_ref(), r.key.as_ref()).unwrap();
    assert_eq!(
        key_on["schema"],
        json!({"type": "struct", "fields": [{"type": "string", "optional": true, "field": "prefix"}],
               "optional": false, "name": "io.debezium.connector.postgresql.MessageKey", "version": 1})
    );
}

#[test]
fn transaction_metadata_begin_blocks_end() {
    let t1 = relation("t", vec![col("id", oid::INT4, -1, true)]);
    let t2 = relation("u2", vec![col("id", oid::INT4, -1, true)]);
    let mut b = builder(&[("provide.transaction.metadata", "true")]);
    let mut out = Vec::new();
    let tys = types();
    b.process(
        &TransactionEvent::Begin(TransactionBegin {
            xid: 555,
            commit_lsn: Lsn(24_023_200),
            commit_time: COMMIT_PG_MICROS,
        }),
        &tys,
        &mut out,
    )
    .unwrap();
    for (rel, id, lsn) in [(&t1, "1", 10), (&t2, "1", 11), (&t1, "2", 12)] {
        let ev = event(
            ChangeKind::Insert {
                new: tuple(&[Some(id)]),
            },
            rel,
            lsn,
        );
        b.process(&TransactionEvent::Change(ev), &tys, &mut out)
            .unwrap();
    }
    b.process(
        &TransactionEvent::Commit(TransactionCommit {
            xid: 555,
            commit_lsn: Lsn(24_023_200),
            end_lsn: Lsn(24_023_250),
            commit_time: COMMIT_PG_MICROS,
            event_count: 3,
        }),
        &tys,
        &mut out,
    )
    .unwrap();
    assert_eq!(out.len(), 5);
    let id = "555:24023200";
    assert_eq!(&*out[0].topic, "server1.transaction");
    assert_eq!(
        to_json(false, out[0].key_schema.as_ref(), out[0].key.as_ref()),
        Some(json!({"id": id}))
    );
    assert_eq!(
        to_json(false, out[0].value_schema.as_ref(), out[0].value.as_ref()),
        Some(
            json!({"status": "BEGIN", "id": id, "event_count": null, "data_collections": null,
                    "ts_ms": COMMIT_UNIX_MICROS / 1000})
        )
    );
    let block = |i: usize| {
        to_json(false, out[i].value_schema.as_ref(), out[i].value.as_ref()).unwrap()["transaction"]
            .clone()
    };
    assert_eq!(
        block(1),
        json!({"id": id, "total_order": 1, "data_collection_order": 1})
    );
    assert_eq!(
        block(2),
        json!({"id": id, "total_order": 2, "data_collection_order": 1})
    );
    assert_eq!(
        block(3),
        json!({"id": id, "total_order": 3, "data_collection_order": 2})
    );
    // END: per-table counts in Java HashMap order ("public.t" hashes to a
    // lower bucket than "public.u2" in a 16-bucket table).
    assert_eq!(
        to_json(false, out[4].value_schema.as_ref(), out[4].value.as_ref()),
        Some(json!({"status": "END", "id": id, "event_count": 3,
                    "data_collections": [
                        {"data_collection": "public.t", "event_count": 2},
                        {"data_collection": "public.u2", "event_count": 1}],
                    "ts_ms": COMMIT_UNIX_MICROS / 1000}))
    );
    let on = to_json(true, out[4].value_schema.as_ref(), out[4].value.as_ref()).unwrap();
    assert_eq!(
        on["schema"],
        json!({"type": "struct", "fields": [
            {"type": "string", "optional": false, "field": "status"},
            {"type": "string", "optional": false, "field": "id"},
            {"type": "int64", "optional": true, "field": "event_count"},
            {"type": "array", "items": {"type": "struct", "fields": [
                {"type": "string", "optional": false, "field": "data_collection"},
                {"type": "int64", "optional": false, "field": "event_count"}],
                "optional": true, "name": "event.collection", "version": 1},
             "optional": true, "field": "data_collections"},
            {"type": "int64", "optional": false, "field": "ts_ms"}],
            "optional": false, "name": "io.debezium.connector.common.TransactionMetadataValue", "version": 1})
    );
}

#[test]
fn java_hashmap_bucket_order_of_collections() {
    // Bucket of "public.t" and "public.u2" in a 16-bucket Java HashMap,
    // computed from String.hashCode by hand: the test above relies on it.
    fn bucket(s: &str) -> u32 {
        let mut h: i32 = 0;
        for c in s.encode_utf16() {
            h = h.wrapping_mul(31).wrapping_add(i32::from(c));
        }
        let h = h as u32;
        (h ^ (h >> 16)) & 15
    }
    assert!(
        bucket("public.t") < bucket("public.u2"),
        "{} {}",
        bucket("public.t"),
        bucket("public.u2")
    );
}

#[test]
fn snapshot_reads_carry_the_marker() {
    let rel = relation("t", vec![col("id", oid::INT4, -1, true)]);
    let mut out = Vec::new();
    let mut b = builder(&[]);
    for (marker, text) in [
        (SnapshotMarker::First, "first"),
        (SnapshotMarker::Middle, "true"),
        (SnapshotMarker::Last, "last"),
    ] {
        let ev = event(
            ChangeKind::Read {
                new: tuple(&[Some("1")]),
                snapshot: marker,
            },
            &rel,
            5,
        );
        b.change(&ev, &types(), &mut out).unwrap();
        let p = to_json(
            false,
            out.last().unwrap().value_schema.as_ref(),
            out.last().unwrap().value.as_ref(),
        )
        .unwrap();
        assert_eq!(p["op"], "r");
        assert_eq!(p["source"]["snapshot"], text);
        assert_eq!(p["before"], json!(null));
    }
}

#[test]
fn heartbeat_record() {
    let r = builder(&[]).heartbeat();
    assert_eq!(&*r.topic, "__debezium-heartbeat.server1");
    assert_eq!(
        to_json(true, r.key_schema.as_ref(), r.key.as_ref()),
        Some(
            json!({"schema": {"type": "struct", "fields": [{"type": "string", "optional": false, "field": "serverName"}],
                               "optional": false, "name": "io.debezium.connector.common.ServerNameKey", "version": 1},
                    "payload": {"serverName": "server1"}})
        )
    );
    assert_eq!(
        to_json(false, r.value_schema.as_ref(), r.value.as_ref()),
        Some(json!({"ts_ms": NOW_MICROS / 1000}))
    );
}
