//! The direct JSON writer (`change_json`) against the record path
//! (`change`, then the converter): the same bytes for every record, the
//! same records in the same order, and an error exactly when the record
//! path fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests unwrap known-good fixtures"
)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use common::*;
use proptest::prelude::*;
use tidewater_connect::{DecimalFormat, JsonConverter, JsonConverterConfig};
use tidewater_envelope::{EnvelopeBuilder, JsonRecords, TableInfo};
use tidewater_pgoutput::value::oid;
use tidewater_pgoutput::*;

/// One record as `(topic, key JSON, value JSON)`.
type Serialized = (String, Option<Vec<u8>>, Option<Vec<u8>>);

/// The record path: build the records, serialize each key and value.
fn via_records(
    b: &mut EnvelopeBuilder,
    ev: &TransactionEvent,
    conv: &JsonConverter,
) -> Option<Vec<Serialized>> {
    let mut records = Vec::new();
    b.process(ev, &types(), &mut records).ok()?;
    let mut out = Vec::new();
    for r in &records {
        let mut key = Vec::new();
        let has_key = conv
            .write(r.key_schema.as_deref(), r.key.as_ref(), &mut key)
            .ok()?;
        let mut value = Vec::new();
        let has_value = conv
            .write(r.value_schema.as_deref(), r.value.as_ref(), &mut value)
            .ok()?;
        out.push((
            r.topic.to_string(),
            has_key.then_some(key),
            has_value.then_some(value),
        ));
    }
    Some(out)
}

/// The direct path, appending to a buffer that already holds records.
fn direct(
    b: &mut EnvelopeBuilder,
    ev: &TransactionEvent,
    conv: &JsonConverter,
    out: &mut JsonRecords,
) -> Option<Vec<Serialized>> {
    let before = out.len();
    let bytes_before = out.bytes().len();
    if b.process_json(ev, &types(), conv, out).is_err() {
        // Nothing appended on an error.
        assert_eq!((out.len(), out.bytes().len()), (before, bytes_before));
        return None;
    }
    Some(
        out.iter()
            .skip(before)
            .map(|r| {
                (
                    r.topic.to_string(),
                    r.key.map(<[u8]>::to_vec),
                    r.value.map(<[u8]>::to_vec),
                )
            })
            .collect(),
    )
}

fn arb_type() -> impl Strategy<Value = (u32, i32)> {
    prop_oneof![
        4 => Just((oid::INT4, -1)),
        2 => Just((oid::INT2, -1)),
        2 => Just((oid::INT8, -1)),
        4 => Just((oid::TEXT, -1)),
        2 => Just((oid::VARCHAR, 259)),
        1 => Just((oid::NUMERIC, -1)),
        4 => Just((oid::NUMERIC, ((12 << 16) | 2) + 4)),
        2 => Just((oid::NUMERIC, ((38 << 16) | 6) + 4)),
        2 => Just((oid::NUMERIC, (20 << 16) + 4)),
        3 => Just((oid::TIMESTAMPTZ, -1)),
        1 => Just((oid::TIMESTAMPTZ, 3)),
        1 => Just((oid::TIMESTAMP, 3)),
        1 => Just((oid::TIMESTAMP, -1)),
        2 => Just((oid::DATE, -1)),
        1 => Just((oid::TIME, -1)),
        1 => Just((oid::TIMETZ, -1)),
        1 => Just((oid::INTERVAL, -1)),
        1 => Just((oid::BYTEA, -1)),
        1 => Just((oid::BIT, 3)),
        1 => Just((oid::MONEY, -1)),
        2 => Just((oid::UUID, -1)),
        2 => Just((oid::JSONB, -1)),
        2 => Just((oid::BOOL, -1)),
        1 => Just((oid::FLOAT8, -1)),
        1 => Just((oid::FLOAT4, -1)),
        1 => Just((oid::INT4_ARRAY, -1)),
        1 => Just((oid::TEXT_ARRAY, -1)),
        1 => Just((600, -1)),
        1 => Just((HSTORE_OID, -1)),
        1 => Just((ENUM_OID, -1)),
        1 => Just((99_999, -1)),
    ]
}

/// Column text: plausible values of every type, text that needs escaping,
/// long text, and arbitrary bytes.
fn arb_text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => "-?[0-9]{1,20}".prop_map(String::into_bytes),
        1 => "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,8})?".prop_map(String::into_bytes),
        3 => "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,4})?".prop_map(String::into_bytes),
        1 => "(NaN|Infinity|-Infinity|-0|-0\\.00|01\\.5|1\\.|\\.5)".prop_map(String::into_bytes),
        1 => "[0-9]{4}-[01][0-9]-[0-3][0-9]".prop_map(String::into_bytes),
        1 => "[0-9]{4}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(\\+00|\\+02|-07:30)?( BC)?"
            .prop_map(String::into_bytes),
        1 => "[tf]".prop_map(String::into_bytes),
        1 => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".prop_map(String::into_bytes),
        1 => "[a-z\"\\\\/\u{0}-\u{1f}\u{7f}é€😀 ]{0,40}".prop_map(String::into_bytes),
        1 => "[a-zA-Z0-9 @.]{25,90}".prop_map(String::into_bytes),
        1 => "\\{(\"[a-z]{1,5}\": ?[0-9a-z\"]{1,8}(, )?){0,4}\\}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

fn arb_column() -> impl Strategy<Value = (u8, Vec<u8>)> {
    (
        prop_oneof![3 => Just(2u8), 1 => Just(0u8), 1 => Just(1u8), 1 => Just(3u8)],
        arb_text(),
    )
}

#[derive(Debug, Clone)]
enum Step {
    Change(u8, Vec<(u8, Vec<u8>)>, Vec<(u8, Vec<u8>)>),
    Commit,
    Relation(Vec<((u32, i32), bool)>),
}

fn arb_step() -> impl Strategy<Value = Step> {
    let cols = || proptest::collection::vec(arb_column(), 0..9);
    prop_oneof![
        8 => (0u8..9, cols(), cols()).prop_map(|(k, a, b)| Step::Change(k, a, b)),
        2 => Just(Step::Commit),
        1 => proptest::collection::vec((arb_type(), any::<bool>()), 1..8).prop_map(Step::Relation),
    ]
}

fn tuple_of(values: &[(u8, Vec<u8>)]) -> TupleData {
    let cols: Vec<Column<'_>> = values
        .iter()
        .map(|(tag, v)| match tag {
            0 => Column::Null,
            1 => Column::UnchangedToast,
            3 => Column::Binary(v),
            _ => Column::Text(v),
        })
        .collect();
    TupleData::from_columns(&cols)
}

fn settings(n: usize) -> Vec<(&'static str, &'static str)> {
    match n {
        0 => vec![],
        1 => vec![
            ("decimal.handling.mode", "string"),
            ("binary.handling.mode", "hex"),
            ("skipped.operations", "none"),
        ],
        2 => vec![
            ("time.precision.mode", "connect"),
            ("hstore.handling.mode", "map"),
            ("include.unknown.datatypes", "true"),
            ("tombstones.on.delete", "false"),
        ],
        3 => vec![
            ("provide.transaction.metadata", "true"),
            ("interval.handling.mode", "string"),
        ],
        4 => vec![("decimal.handling.mode", "double")],
        5 => vec![("message.key.columns", "public.p:c2,c0")],
        6 => vec![("column.exclude.list", "public\\.p\\.c0")],
        7 => vec![("skipped.operations", "c,d")],
        _ => vec![
            ("provide.transaction.metadata", "true"),
            ("message.key.columns", "public.p:c1"),
            ("unavailable.value.placeholder", "\"toast\\\""),
        ],
    }
}

/// A catalog that makes `c0` the primary key, `c1` not null and gives
/// `c2` a default (when its text fits the column's type).
fn catalog(default: &str) -> Arc<HashMap<(String, String), TableInfo>> {
    let info = TableInfo {
        primary_key: Some(vec!["c0".into()]),
        not_null: HashSet::from(["c1".to_string()]),
        defaults: HashMap::from([("c2".to_string(), default.to_string())]),
    };
    Arc::new(HashMap::from([(
        ("public".to_string(), "p".to_string()),
        info,
    )]))
}

fn relation_of(cols: &[((u32, i32), bool)]) -> Arc<Relation> {
    let columns = cols
        .iter()
        .enumerate()
        .map(|(i, ((o, m), key))| col(&format!("c{i}"), *o, *m, *key))
        .collect();
    relation("p", columns)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn direct_json_equals_records_then_converter(
        cols in proptest::collection::vec((arb_type(), any::<bool>()), 0..9),
        steps in proptest::collection::vec(arb_step(), 1..8),
        setting in 0usize..9,
        with_catalog in proptest::option::of("(7|abc|2024-01-01|t|1\\.5)"),
        schemas in any::<bool>(),
        numeric in any::<bool>(),
        replace_null in any::<bool>(),
        identity_full in any::<bool>(),
    ) {
        let conv = JsonConverter::new(JsonConverterConfig {
            schemas_enable: schemas,
            decimal_format: if numeric { DecimalFormat::Numeric } else { DecimalFormat::Base64 },
            replace_null_with_default: replace_null,
        });
        let make = || {
            let b = builder(&settings(setting));
            match &with_catalog {
                Some(d) => b.with_catalog(catalog(d)),
                None => b,
            }
        };
        let (mut tree, mut fast) = (make(), make());
        let mut rel = relation_of(&cols);
        let mut out = JsonRecords::new();
        let mut lsn = 1000u64;
        let mut xid = 500u32;
        for step in steps {
            lsn += 64;
            let ev = match step {
                Step::Relation(cols) => {
                    rel = relation_of(&cols);
                    continue;
                }
                Step::Commit => {
                    let commit = TransactionEvent::Commit(TransactionCommit {
                        xid,
                        commit_lsn: Lsn(lsn),
                        end_lsn: Lsn(lsn + 8),
                        commit_time: COMMIT_PG_MICROS + i64::from(xid),
                        event_count: 1,
                    });
                    xid += 1;
                    commit
                }
                Step::Change(kind, a, b) => {
                    let (new, old) = (tuple_of(&a), tuple_of(&b));
                    let old = if identity_full { OldTuple::Full(old) } else { OldTuple::Key(old) };
                    let kind = match kind {
                        0 | 1 => ChangeKind::Insert { new },
                        2 => ChangeKind::Update { old: None, new },
                        3 => ChangeKind::Update { old: Some(old), new },
                        4 => ChangeKind::Delete { old },
                        5 => ChangeKind::Read { new, snapshot: SnapshotMarker::Last },
                        6 => ChangeKind::Truncate { cascade: false, restart_identity: false },
                        7 => ChangeKind::Message {
                            transactional: a.len().is_multiple_of(2),
                            prefix: "pre\"fix".into(),
                            content: bytes::Bytes::from(b.first().map(|c| c.1.clone()).unwrap_or_default()),
                        },
                        _ => ChangeKind::Insert { new },
                    };
                    let mut ev = event(kind, &rel, lsn);
                    ev.xid = (!lsn.is_multiple_of(7)).then_some(xid);
                    ev.commit_lsn = Lsn(lsn + 4);
                    TransactionEvent::Change(ev)
                }
            };
            let expected = via_records(&mut tree, &ev, &conv);
            let got = direct(&mut fast, &ev, &conv, &mut out);
            prop_assert_eq!(got.is_some(), expected.is_some(), "{:?}", ev);
            let (Some(expected), Some(got)) = (expected, got) else {
                // After an error the two builders may disagree on what the
                // transaction has seen; stop here.
                break;
            };
            prop_assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(&expected) {
                prop_assert_eq!(&g.0, &e.0);
                prop_assert_eq!(
                    g.1.as_deref().map(String::from_utf8_lossy),
                    e.1.as_deref().map(String::from_utf8_lossy)
                );
                prop_assert_eq!(
                    g.2.as_deref().map(String::from_utf8_lossy),
                    e.2.as_deref().map(String::from_utf8_lossy)
                );
            }
        }
    }
}

/// The benchmark's table: every column takes a shortcut; the output is the
/// record path's, schemas on and off.
#[test]
fn mixed_row_matches_byte_for_byte() {
    let rel = relation(
        "orders",
        vec![
            col("id", oid::INT4, -1, true),
            col("customer_id", oid::INT8, -1, false),
            col("customer_name", oid::TEXT, -1, false),
            col("email", oid::VARCHAR, 259, false),
            col("price", oid::NUMERIC, ((12 << 16) | 2) + 4, false),
            col("paid", oid::BOOL, -1, false),
            col("created_at", oid::TIMESTAMPTZ, -1, false),
            col("ship_date", oid::DATE, -1, false),
            col("order_uuid", oid::UUID, -1, false),
            col("attributes", oid::JSONB, -1, false),
        ],
    );
    let row = tuple(&[
        Some("42"),
        Some("1000294"),
        Some("Customer number 42 with a name longer than thirty bytes"),
        Some("customer42@example.com"),
        Some("-510.7"),
        Some("t"),
        Some("2024-03-15 12:42:14.000546+00"),
        Some("2024-04-15"),
        Some("a0eebc99-9c0b-4ef8-bb6d-000000051e0e"),
        Some("{\"color\": \"red\", \"size\": 2, \"gift\": false}"),
    ]);
    for schemas in [false, true] {
        let conv = JsonConverter::new(JsonConverterConfig {
            schemas_enable: schemas,
            ..Default::default()
        });
        let ev =
            TransactionEvent::Change(event(ChangeKind::Insert { new: row.clone() }, &rel, 4096));
        let expected = via_records(&mut builder(&[]), &ev, &conv).unwrap();
        let mut out = JsonRecords::new();
        let got = direct(&mut builder(&[]), &ev, &conv, &mut out).unwrap();
        assert_eq!(got, expected);
        let value = String::from_utf8(got[0].2.clone().unwrap()).unwrap();
        // -51070 as big-endian two's complement: FF 38 82.
        assert!(value.contains(r#""price":"/ziC""#), "{value}");
    }
}
