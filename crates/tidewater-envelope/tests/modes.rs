//! Every mode of every type-mapping setting, plus keys, catalogs, filters,
//! schema caching, and a property test that no event makes the builder panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests unwrap known-good fixtures"
)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use proptest::prelude::*;
use serde_json::json;
use tidewater_envelope::{TableCatalog, TableInfo};
use tidewater_pgoutput::value::oid;
use tidewater_pgoutput::*;

/// Converts one value of one column type under the given settings and
/// returns (field schema, payload value).
fn one(
    settings: &[(&str, &str)],
    type_oid: u32,
    typmod: i32,
    text: &str,
) -> (serde_json::Value, serde_json::Value) {
    let rel = relation(
        "m",
        vec![
            col("id", oid::INT4, -1, true),
            col("v", type_oid, typmod, false),
        ],
    );
    let mut b = builder(settings);
    let mut out = Vec::new();
    b.change(
        &event(
            ChangeKind::Insert {
                new: tuple(&[Some("1"), Some(text)]),
            },
            &rel,
            1,
        ),
        &types(),
        &mut out,
    )
    .unwrap();
    let r = &out[0];
    let on = to_json(true, r.value_schema.as_ref(), r.value.as_ref()).unwrap();
    let mut schema = on["schema"]["fields"][1]["fields"][1].clone();
    schema.as_object_mut().unwrap().remove("field");
    (schema, on["payload"]["after"]["v"].clone())
}

const NUMERIC_10_2: i32 = ((10 << 16) | 2) + 4;

#[test]
fn decimal_handling_modes() {
    let (s, v) = one(
        &[("decimal.handling.mode", "double")],
        oid::NUMERIC,
        NUMERIC_10_2,
        "123.40",
    );
    assert_eq!(
        (s, v),
        (json!({"type": "double", "optional": true}), json!(123.4))
    );
    let (s, v) = one(
        &[("decimal.handling.mode", "string")],
        oid::NUMERIC,
        NUMERIC_10_2,
        "123.40",
    );
    assert_eq!(
        (s, v),
        (json!({"type": "string", "optional": true}), json!("123.40"))
    );
    // Unconstrained numeric keeps its own scale in string mode; NaN per mode.
    assert_eq!(
        one(
            &[("decimal.handling.mode", "string")],
            oid::NUMERIC,
            -1,
            "0.0000001"
        )
        .1,
        json!("1E-7")
    );
    assert_eq!(
        one(
            &[("decimal.handling.mode", "string")],
            oid::NUMERIC,
            -1,
            "NaN"
        )
        .1,
        json!("NAN")
    );
    assert_eq!(
        one(
            &[("decimal.handling.mode", "double")],
            oid::NUMERIC,
            -1,
            "NaN"
        )
        .1,
        json!("NaN")
    );
    assert_eq!(
        one(
            &[("decimal.handling.mode", "double")],
            oid::NUMERIC,
            -1,
            "-Infinity"
        )
        .1,
        json!("-Infinity")
    );
    // Precise: numeric(10,2) value rescaled to 2; money with other fraction digits.
    assert_eq!(one(&[], oid::NUMERIC, NUMERIC_10_2, "5").1, json!("AfQ=")); // 500
    let (s, v) = one(
        &[("money.fraction.digits", "0")],
        oid::MONEY,
        -1,
        "$1,234.56",
    );
    assert_eq!(s["parameters"], json!({"scale": "0"}));
    assert_eq!(v, json!("BNM=")); // 1235 (half up)
    assert_eq!(
        one(
            &[("decimal.handling.mode", "double")],
            oid::MONEY,
            -1,
            "-$1.50"
        )
        .1,
        json!(-1.5)
    );
    assert_eq!(
        one(
            &[("decimal.handling.mode", "string")],
            oid::MONEY,
            -1,
            "$1,000.00"
        )
        .1,
        json!("1000.00")
    );
    // NaN cannot be precise: a typed error naming the column.
    let rel = relation(
        "m",
        vec![
            col("id", oid::INT4, -1, true),
            col("v", oid::NUMERIC, -1, false),
        ],
    );
    let mut out = Vec::new();
    let e = builder(&[])
        .change(
            &event(
                ChangeKind::Insert {
                    new: tuple(&[Some("1"), Some("NaN")]),
                },
                &rel,
                1,
            ),
            &types(),
            &mut out,
        )
        .unwrap_err();
    assert!(e.to_string().starts_with("public.m.v:"), "{e}");
}

#[test]
fn time_precision_modes() {
    let connect = [("time.precision.mode", "connect")];
    let (s, v) = one(&connect, oid::DATE, -1, "2020-04-01");
    assert_eq!(
        s,
        json!({"type": "int32", "optional": true, "name": "org.apache.kafka.connect.data.Date", "version": 1})
    );
    assert_eq!(v, json!(18_353));
    let (s, v) = one(&connect, oid::TIME, -1, "11:51:02.123456");
    assert_eq!(
        s,
        json!({"type": "int32", "optional": true, "name": "org.apache.kafka.connect.data.Time", "version": 1})
    );
    assert_eq!(v, json!(42_662_123));
    let (s, v) = one(&connect, oid::TIMESTAMP, -1, "2020-04-01 11:51:02.123456");
    assert_eq!(
        s,
        json!({"type": "int64", "optional": true, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1})
    );
    assert_eq!(v, json!(1_585_741_862_123i64));
    let micro = [("time.precision.mode", "adaptive_time_microseconds")];
    let (s, v) = one(&micro, oid::TIME, 3, "11:51:02.123");
    assert_eq!(s["name"], "io.debezium.time.MicroTime");
    assert_eq!(v, json!(42_662_123_000i64));
    // Timestamps before 1970 round down to the millisecond, like Instant.toEpochMilli.
    assert_eq!(
        one(&[], oid::TIMESTAMP, 3, "1969-12-31 23:59:59.999").1,
        json!(-1)
    );
    assert_eq!(
        one(&[], oid::TIMESTAMPTZ, -1, "infinity").1,
        json!("infinity")
    );
    assert_eq!(
        one(&[], oid::TIMESTAMPTZ, 0, "2020-04-01 11:51:02+00").1,
        json!("2020-04-01T11:51:02Z")
    );
}

#[test]
fn binary_interval_hstore_modes() {
    assert_eq!(
        one(
            &[("binary.handling.mode", "base64")],
            oid::BYTEA,
            -1,
            "\\xfbff"
        )
        .1,
        json!("+/8=")
    );
    assert_eq!(
        one(
            &[("binary.handling.mode", "base64-url-safe")],
            oid::BYTEA,
            -1,
            "\\xfbff"
        )
        .1,
        json!("-_8=")
    );
    let (s, v) = one(
        &[("binary.handling.mode", "hex")],
        oid::BYTEA,
        -1,
        "\\xfbff",
    );
    assert_eq!(
        (s, v),
        (json!({"type": "string", "optional": true}), json!("fbff"))
    );
    let (s, v) = one(
        &[("interval.handling.mode", "string")],
        oid::INTERVAL,
        -1,
        "P1Y2M3DT4H5M6S",
    );
    assert_eq!(
        s,
        json!({"type": "string", "optional": true, "name": "io.debezium.time.Interval", "version": 1})
    );
    assert_eq!(v, json!("P1Y2M3DT4H5M6S"));
    let (s, v) = one(
        &[("hstore.handling.mode", "map")],
        HSTORE_OID,
        -1,
        "\"b\"=>\"2\", \"a\"=>NULL",
    );
    assert_eq!(
        s,
        json!({"type": "map", "keys": {"type": "string", "optional": false},
               "values": {"type": "string", "optional": true}, "optional": true})
    );
    assert_eq!(v, json!({"a": null, "b": "2"}));
}

#[test]
fn include_unknown_datatypes() {
    let (s, v) = one(
        &[("include.unknown.datatypes", "true")],
        99_999,
        -1,
        "opaque",
    );
    assert_eq!(
        (s, v),
        (
            json!({"type": "bytes", "optional": true}),
            json!("b3BhcXVl")
        )
    );
}

#[test]
fn keys_from_message_key_columns_catalog_and_identity() {
    let rel = relation(
        "k",
        vec![
            col("id", oid::INT4, -1, true),
            col("code", oid::TEXT, -1, false),
            col("n", oid::INT4, -1, false),
        ],
    );
    let new = tuple(&[Some("1"), Some("A"), None]);
    let key_of = |b: &mut tidewater_envelope::EnvelopeBuilder| {
        let mut out = Vec::new();
        b.change(
            &event(ChangeKind::Insert { new: new.clone() }, &rel, 1),
            &types(),
            &mut out,
        )
        .unwrap();
        to_json(true, out[0].key_schema.as_ref(), out[0].key.as_ref())
    };
    assert_eq!(
        key_of(&mut builder(&[])).unwrap()["payload"],
        json!({"id": 1})
    );
    let k = key_of(&mut builder(&[(
        "message.key.columns",
        "public\\.k:code,id",
    )]))
    .unwrap();
    assert_eq!(k["payload"], json!({"code": "A", "id": 1}));
    assert_eq!(
        k["schema"]["fields"][0],
        json!({"type": "string", "optional": true, "field": "code"})
    );
    // A catalog: primary key, NOT NULL and a default (a NOT NULL column that is
    // null in the tuple gets the default, as Debezium's converters do).
    let mut cat: HashMap<(String, String), TableInfo> = HashMap::new();
    cat.insert(
        ("public".into(), "k".into()),
        TableInfo {
            primary_key: Some(vec!["code".into()]),
            not_null: ["code".to_string(), "n".to_string()].into_iter().collect(),
            defaults: [("n".to_string(), "42".to_string())].into_iter().collect(),
        },
    );
    let catalog: Arc<dyn TableCatalog> = Arc::new(cat);
    let mut b = builder(&[]).with_catalog(catalog);
    let mut out = Vec::new();
    b.change(
        &event(ChangeKind::Insert { new: new.clone() }, &rel, 1),
        &types(),
        &mut out,
    )
    .unwrap();
    let key = to_json(true, out[0].key_schema.as_ref(), out[0].key.as_ref()).unwrap();
    assert_eq!(key["payload"], json!({"code": "A"}));
    let v = to_json(true, out[0].value_schema.as_ref(), out[0].value.as_ref()).unwrap();
    assert_eq!(
        v["schema"]["fields"][1]["fields"][2],
        json!({"type": "int32", "optional": false, "default": 42, "field": "n"})
    );
    assert_eq!(
        v["payload"]["after"],
        json!({"id": 1, "code": "A", "n": 42})
    );
    // No key at all: REPLICA IDENTITY FULL without a catalog.
    let mut full = (*rel).clone();
    full.replica_identity = ReplicaIdentity::Full;
    full.oid += 1000;
    let full = Arc::new(full);
    let mut out = Vec::new();
    builder(&[])
        .change(
            &event(ChangeKind::Insert { new }, &full, 1),
            &types(),
            &mut out,
        )
        .unwrap();
    assert_eq!(
        (out[0].key_schema.is_none(), out[0].key.is_none()),
        (true, true)
    );
}

#[test]
fn filters_and_column_lists() {
    let rel = relation(
        "f",
        vec![
            col("id", oid::INT4, -1, true),
            col("secret", oid::TEXT, -1, false),
        ],
    );
    let ev = event(
        ChangeKind::Insert {
            new: tuple(&[Some("1"), Some("x")]),
        },
        &rel,
        1,
    );
    let mut out = Vec::new();
    builder(&[("table.exclude.list", "public\\.f")])
        .change(&ev, &types(), &mut out)
        .unwrap();
    assert!(out.is_empty());
    builder(&[("column.exclude.list", "public\\.f\\.secret")])
        .change(&ev, &types(), &mut out)
        .unwrap();
    let v = to_json(false, out[0].value_schema.as_ref(), out[0].value.as_ref()).unwrap();
    assert_eq!(v["after"], json!({"id": 1}));
    let mut out = Vec::new();
    builder(&[("skipped.operations", "c")])
        .change(&ev, &types(), &mut out)
        .unwrap();
    assert!(out.is_empty());
    let mut out = Vec::new();
    builder(&[("topic.delimiter", "_")])
        .change(&ev, &types(), &mut out)
        .unwrap();
    assert_eq!(&*out[0].topic, "server1_public_f");
}

#[test]
fn schemas_are_built_once_per_relation_version() {
    let rel = relation("c", vec![col("id", oid::INT4, -1, true)]);
    let mut b = builder(&[]);
    let a = b.table_schemas(&rel, &types()).unwrap();
    let again = b.table_schemas(&rel, &types()).unwrap();
    assert!(Arc::ptr_eq(&a, &again));
    let mut out = Vec::new();
    b.change(
        &event(
            ChangeKind::Insert {
                new: tuple(&[Some("1")]),
            },
            &rel,
            1,
        ),
        &types(),
        &mut out,
    )
    .unwrap();
    assert!(Arc::ptr_eq(
        out[0].value_schema.as_ref().unwrap(),
        &a.envelope_schema
    ));
    // An altered table (new Relation) gets new schemas.
    let altered = relation(
        "c",
        vec![
            col("id", oid::INT4, -1, true),
            col("added", oid::TEXT, -1, false),
        ],
    );
    let c = b.table_schemas(&altered, &types()).unwrap();
    assert!(!Arc::ptr_eq(&a, &c));
    assert_eq!(c.value_schema.fields().len(), 2);
}

// ---- the builder never panics ----

fn arb_type() -> impl Strategy<Value = (u32, i32)> {
    prop_oneof![
        Just((oid::INT4, -1)),
        Just((oid::INT2, -1)),
        Just((oid::TEXT, -1)),
        Just((oid::NUMERIC, -1)),
        Just((oid::NUMERIC, ((5 << 16) | 2) + 4)),
        Just((oid::TIMESTAMPTZ, -1)),
        Just((oid::TIMESTAMP, 3)),
        Just((oid::DATE, -1)),
        Just((oid::TIME, -1)),
        Just((oid::TIMETZ, -1)),
        Just((oid::INTERVAL, -1)),
        Just((oid::BYTEA, -1)),
        Just((oid::BIT, 3)),
        Just((oid::VARBIT, -1)),
        Just((oid::MONEY, -1)),
        Just((oid::UUID, -1)),
        Just((oid::JSONB, -1)),
        Just((oid::BOOL, -1)),
        Just((oid::FLOAT8, -1)),
        Just((oid::INT4_ARRAY, -1)),
        Just((600, -1)),
        Just((HSTORE_OID, -1)),
        Just((ENUM_OID, -1)),
        Just((99_999, -1)),
    ]
}

fn arb_column() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Some),
        "[0-9a-f:. ()\\-+{},\"=>NT]{0,16}".prop_map(|s| Some(s.into_bytes())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn builder_never_panics(
        cols in proptest::collection::vec((arb_type(), any::<bool>()), 0..6),
        values in proptest::collection::vec((arb_column(), 0u8..4), 0..8),
        kind in 0u8..6,
        settings in 0usize..4,
    ) {
        let columns: Vec<RelationColumn> = cols
            .iter()
            .enumerate()
            .map(|(i, ((o, m), key))| col(&format!("c{i}"), *o, *m, *key))
            .collect();
        let rel = relation("p", columns);
        let tuple_cols: Vec<Column<'_>> = values
            .iter()
            .map(|(v, tag)| match (v, tag) {
                (_, 0) => Column::Null,
                (_, 1) => Column::UnchangedToast,
                (Some(b), 2) => Column::Binary(b),
                (Some(b), _) => Column::Text(b),
                (None, _) => Column::Null,
            })
            .collect();
        let t = TupleData::from_columns(&tuple_cols);
        let kind = match kind {
            0 => ChangeKind::Insert { new: t },
            1 => ChangeKind::Update { old: Some(OldTuple::Key(t.clone())), new: t },
            2 => ChangeKind::Delete { old: OldTuple::Full(t) },
            3 => ChangeKind::Truncate { cascade: false, restart_identity: false },
            4 => ChangeKind::Read { new: t, snapshot: SnapshotMarker::Middle },
            _ => ChangeKind::Update { old: None, new: t },
        };
        let s: &[(&str, &str)] = match settings {
            0 => &[],
            1 => &[("decimal.handling.mode", "string"), ("binary.handling.mode", "hex"), ("skipped.operations", "none")],
            2 => &[("time.precision.mode", "connect"), ("hstore.handling.mode", "map"), ("include.unknown.datatypes", "true")],
            _ => &[("provide.transaction.metadata", "true"), ("interval.handling.mode", "string")],
        };
        let mut b = builder(s);
        let mut out = Vec::new();
        if b.change(&event(kind, &rel, 9), &types(), &mut out).is_ok() {
            // Whatever was produced serializes (or fails with a typed error).
            for r in &out {
                let _ = to_text_checked(r);
            }
        }
    }
}

fn to_text_checked(
    r: &tidewater_connect::ConnectRecord,
) -> Result<(), tidewater_connect::ConnectError> {
    use tidewater_connect::{Converter, JsonConverter};
    let c = JsonConverter::default();
    c.serialize(&r.topic, r.key_schema.as_deref(), r.key.as_ref())?;
    c.serialize(&r.topic, r.value_schema.as_deref(), r.value.as_ref())?;
    Ok(())
}

/// Key columns converted on their own (one is not among the value columns)
/// and listed against the table's column order, the first one being the
/// table's last column: every one is found in the tuple.
#[test]
fn key_columns_out_of_table_order_are_all_found() {
    let rel = relation(
        "o",
        vec![
            col("a", oid::INT4, -1, false),
            col("b", oid::INT4, -1, false),
        ],
    );
    let mut b = builder(&[
        ("message.key.columns", "public\\.o:b,a"),
        ("column.exclude.list", "public\\.o\\.a"),
    ]);
    let mut out = Vec::new();
    b.change(
        &event(
            ChangeKind::Insert {
                new: tuple(&[Some("1"), Some("2")]),
            },
            &rel,
            1,
        ),
        &types(),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        to_json(false, out[0].key_schema.as_ref(), out[0].key.as_ref()),
        Some(json!({"b": 2, "a": 1}))
    );
    assert_eq!(
        to_json(false, out[0].value_schema.as_ref(), out[0].value.as_ref()).unwrap()["after"],
        json!({"b": 2})
    );
}
