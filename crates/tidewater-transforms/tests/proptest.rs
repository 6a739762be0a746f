//! Properties over arbitrary records: no transform panics, whatever the
//! record (schemas and values that disagree, schemaless maps, non-struct
//! values, missing fields); and when a record is valid, every record a
//! transform returns is valid too (key, value and headers checked against
//! their schemas with `tidewater_connect::validate`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests unwrap known-good fixtures"
)]

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use tidewater_connect::{
    ConnectRecord, Decimal, Headers, Schema, SchemaBuilder, SchemaType, Struct, Value, logical,
    validate,
};
use tidewater_transforms::{
    ExtractNewRecordState, RegexRouter, Transform, TransformChain, TransformError, TransformOptions,
};

const NAMES: [&str; 10] = [
    "id",
    "name",
    "payload",
    "aggregatetype",
    "aggregateid",
    "a",
    "b",
    "type",
    "ts",
    "tags",
];

/// Every transform class with options that name fields the generated
/// records often (not always) have.
fn specs() -> Vec<(String, Vec<(&'static str, String)>)> {
    {
        let k = "org.apache.kafka.connect.transforms";
        let d = "io.debezium.transforms";
        let list: Vec<(String, Vec<(&'static str, String)>)> = vec![
            (format!("{d}.ExtractNewRecordState"), vec![]),
            (
                format!("{d}.ExtractNewRecordState"),
                vec![("delete.tombstone.handling.mode", "drop".into())],
            ),
            (
                format!("{d}.ExtractNewRecordState"),
                vec![
                    (
                        "delete.tombstone.handling.mode",
                        "rewrite-with-tombstone".into(),
                    ),
                    (
                        "add.fields",
                        "op,table,lsn,source.ts_ms,ts_ms:T,transaction.id,nope".into(),
                    ),
                    ("add.headers", "op,db,source.lsn".into()),
                    ("route.by.field", "name".into()),
                    ("drop.fields.header.name", "drop".into()),
                    ("drop.fields.from.key", "true".into()),
                ],
            ),
            (
                format!("{d}.ExtractNewRecordState"),
                vec![
                    ("drop.tombstones", "false".into()),
                    ("delete.handling.mode", "rewrite".into()),
                    ("replace.null.with.default", "false".into()),
                    ("drop.fields.header.name", "drop".into()),
                    ("drop.fields.keep.schema.compatible", "false".into()),
                ],
            ),
            (
                format!("{d}.ExtractNewRecordState"),
                vec![(
                    "delete.tombstone.handling.mode",
                    "delete-to-tombstone".into(),
                )],
            ),
            (format!("{d}.outbox.EventRouter"), vec![]),
            (
                format!("{d}.outbox.EventRouter"),
                vec![
                    ("table.expand.json.payload", "true".into()),
                    (
                        "table.fields.additional.placement",
                        "type:header,a:envelope:x,b:partition".into(),
                    ),
                    ("table.fields.additional.error.on.missing", "false".into()),
                    ("route.tombstone.on.empty.payload", "true".into()),
                    ("table.field.event.timestamp", "ts".into()),
                    ("table.field.event.schema.version", "b".into()),
                    ("table.json.payload.null.behavior", "optional_bytes".into()),
                ],
            ),
            (
                format!("{d}.ByLogicalTableRouter"),
                vec![
                    ("topic.regex", "(.*)\\.(.*)".into()),
                    ("topic.replacement", "$1.all".into()),
                ],
            ),
            (
                format!("{k}.RegexRouter"),
                vec![
                    ("regex", "(.*)\\.(.*)".into()),
                    ("replacement", "$2".into()),
                ],
            ),
            (format!("{k}.TimestampRouter"), vec![]),
            (format!("{k}.Filter"), vec![]),
            (
                format!("{k}.ValueToKey"),
                vec![("fields", "id,name".into())],
            ),
            (
                format!("{k}.InsertHeader"),
                vec![("header", "h".into()), ("value.literal", "42".into())],
            ),
            (
                format!("{k}.DropHeaders"),
                vec![("headers", "drop,h".into())],
            ),
        ];
        let mut all = list;
        for side in ["$Key", "$Value"] {
            let kv: Vec<(&str, Vec<(&'static str, String)>)> = vec![
                (
                    "InsertField",
                    vec![
                        ("topic.field", "t".into()),
                        ("partition.field", "p".into()),
                        ("timestamp.field", "ts2".into()),
                        ("static.field", "s".into()),
                        ("static.value", "v".into()),
                    ],
                ),
                ("InsertField", vec![("partition.field", "p!".into())]),
                (
                    "ReplaceField",
                    vec![("exclude", "a".into()), ("renames", "name:n,id:key".into())],
                ),
                ("ReplaceField", vec![("include", "id,payload".into())]),
                ("MaskField", vec![("fields", "id,name,tags,a".into())]),
                (
                    "MaskField",
                    vec![("fields", "id,name,b".into()), ("replacement", "7".into())],
                ),
                ("ExtractField", vec![("field", "name".into())]),
                (
                    "ExtractField",
                    vec![
                        ("field", "a.b".into()),
                        ("field.syntax.version", "V2".into()),
                    ],
                ),
                ("HoistField", vec![("field", "wrapped".into())]),
                ("Flatten", vec![("delimiter", "_".into())]),
                (
                    "Cast",
                    vec![(
                        "spec",
                        "id:string,name:int32,a:boolean,b:float32,ts:string".into(),
                    )],
                ),
                ("Cast", vec![("spec", "int64".into())]),
                ("Cast", vec![("spec", "string".into())]),
                (
                    "TimestampConverter",
                    vec![
                        ("field", "ts".into()),
                        ("target.type", "string".into()),
                        ("format", "yyyy-MM-dd".into()),
                    ],
                ),
                (
                    "TimestampConverter",
                    vec![
                        ("target.type", "Timestamp".into()),
                        ("format", "yyyyMMdd".into()),
                    ],
                ),
                (
                    "TimestampConverter",
                    vec![("field", "ts".into()), ("target.type", "Date".into())],
                ),
                (
                    "SetSchemaMetadata",
                    vec![("schema.name", "n".into()), ("schema.version", "2".into())],
                ),
                (
                    "HeaderFrom",
                    vec![
                        ("fields", "id,name".into()),
                        ("headers", "x,y".into()),
                        ("operation", "move".into()),
                    ],
                ),
            ];
            for (name, opts) in kv {
                all.push((format!("{k}.{name}{side}"), opts));
            }
        }
        all
    }
}

/// Every transform of [`specs`], each as a chain of one.
fn configs() -> &'static [(String, TransformChain)] {
    static CHAINS: OnceLock<Vec<(String, TransformChain)>> = OnceLock::new();
    CHAINS.get_or_init(|| {
        specs()
            .into_iter()
            .map(|(class, opts)| {
                let mut pairs: Vec<(String, String)> = vec![
                    ("transforms".into(), "t".into()),
                    ("transforms.t.type".into(), class.clone()),
                ];
                for (o, v) in &opts {
                    pairs.push((format!("transforms.t.{o}"), v.clone()));
                }
                let chain =
                    TransformChain::from_config(pairs).unwrap_or_else(|e| panic!("{class}: {e}"));
                (format!("{class} {opts:?}"), chain)
            })
            .collect()
    })
}

/// The transforms of [`specs`] that rewrite records in place
/// (`Transform::apply_in_place`) rather than through `apply`.
fn in_place() -> &'static [(String, Box<dyn Transform>)] {
    static ALL: OnceLock<Vec<(String, Box<dyn Transform>)>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut out: Vec<(String, Box<dyn Transform>)> = Vec::new();
        for (class, opts) in specs() {
            let mut options =
                TransformOptions::new("t", opts.iter().map(|(k, v)| (*k, v.as_str())));
            let name = format!("{class} {opts:?}");
            if class.ends_with(".ExtractNewRecordState") {
                out.push((
                    name,
                    Box::new(ExtractNewRecordState::from_options(&mut options).unwrap()),
                ));
            } else if class.ends_with(".RegexRouter") {
                out.push((
                    name,
                    Box::new(RegexRouter::from_options(&mut options).unwrap()),
                ));
            }
        }
        assert!(out.len() >= 6, "{}", out.len());
        out
    })
}

/// Runs `record` through `t` both ways and compares the outcomes.
fn same_both_ways(
    name: &str,
    t: &dyn Transform,
    record: &ConnectRecord,
) -> Result<(), TestCaseError> {
    let by_value = t.apply(record.clone());
    let mut slot = Some(record.clone());
    let in_place = t.apply_in_place(&mut slot).map(|()| slot);
    match (by_value, in_place) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", name),
        (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string(), "{}", name),
        (a, b) => prop_assert!(false, "{name}: by value {a:?}, in place {b:?}"),
    }
    Ok(())
}

fn leaf() -> impl Strategy<Value = Schema> {
    let ty = prop_oneof![
        Just(SchemaBuilder::int8()),
        Just(SchemaBuilder::int16()),
        Just(SchemaBuilder::int32()),
        Just(SchemaBuilder::int64()),
        Just(SchemaBuilder::float32()),
        Just(SchemaBuilder::float64()),
        Just(SchemaBuilder::boolean()),
        Just(SchemaBuilder::string()),
        Just(SchemaBuilder::string().default_value(Value::from("dflt"))),
        Just(SchemaBuilder::bytes()),
        Just(logical::decimal_builder(2)),
        Just(logical::date_builder()),
        Just(logical::timestamp_builder()),
        Just(logical::timestamp_builder().name("io.debezium.time.MicroTimestamp")),
        Just(SchemaBuilder::int32().default_value(Value::Int32(5))),
    ];
    (ty, any::<bool>())
        .prop_map(|(b, optional)| if optional { b.optional() } else { b }.build().unwrap())
}

fn schema() -> BoxedStrategy<Arc<Schema>> {
    leaf()
        .prop_map(Arc::new)
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                (inner.clone(), any::<bool>()).prop_map(|(items, o)| {
                    let b = SchemaBuilder::array(items);
                    Arc::new(if o { b.optional() } else { b }.build().unwrap())
                }),
                (inner.clone(), any::<bool>()).prop_map(|(values, o)| {
                    let b = SchemaBuilder::map(Schema::of(SchemaType::String), values);
                    Arc::new(if o { b.optional() } else { b }.build().unwrap())
                }),
                (
                    proptest::collection::vec((0..NAMES.len(), inner), 0..5),
                    any::<bool>()
                )
                    .prop_map(|(fields, o)| Arc::new(struct_of(
                        &fields,
                        o,
                        Some("s.T")
                    )))
            ]
        })
        .boxed()
}

fn struct_of(fields: &[(usize, Arc<Schema>)], optional: bool, name: Option<&str>) -> Schema {
    let mut b = SchemaBuilder::struct_();
    if let Some(n) = name {
        b = b.name(n);
    }
    let mut seen = Vec::new();
    for (i, s) in fields {
        let n = NAMES[*i];
        if !seen.contains(&n) {
            seen.push(n);
            b = b.field(n, s.clone());
        }
    }
    if optional { b.optional() } else { b }.build().unwrap()
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._-]{0,12}",
        Just("2024-03-09".to_string()),
        Just(r#"{"id": 1, "items": [{"a": 1}, {"b": null}], "x": 2.5}"#.to_string()),
        Just(r#"{"a": [1, "x"]}"#.to_string()),
        Just("[1, 2]".to_string()),
        Just("  ".to_string()),
    ]
}

/// A value valid for `schema` (null allowed when the schema allows it).
fn value(schema: Arc<Schema>) -> BoxedStrategy<Option<Value>> {
    let s = schema.clone();
    let base: BoxedStrategy<Value> = match schema.schema_type() {
        SchemaType::Int8 => any::<i8>().prop_map(Value::Int8).boxed(),
        SchemaType::Int16 => any::<i16>().prop_map(Value::Int16).boxed(),
        SchemaType::Int32 => any::<i32>().prop_map(Value::Int32).boxed(),
        SchemaType::Int64 => any::<i64>().prop_map(Value::Int64).boxed(),
        SchemaType::Float32 => any::<f32>().prop_map(Value::Float32).boxed(),
        SchemaType::Float64 => any::<f64>().prop_map(Value::Float64).boxed(),
        SchemaType::Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
        SchemaType::String => text().prop_map(Value::from).boxed(),
        SchemaType::Bytes if s.name() == Some(logical::DECIMAL_NAME) => {
            let scale = logical::decimal_scale(&s).unwrap();
            any::<i64>()
                .prop_map(move |u| Value::Decimal(Decimal::from_i128(u.into(), scale)))
                .boxed()
        }
        SchemaType::Bytes => proptest::collection::vec(any::<u8>(), 0..6)
            .prop_map(|b| Value::Bytes(b.into()))
            .boxed(),
        SchemaType::Array => {
            let items = s.value_schema().unwrap().clone();
            proptest::collection::vec(value(items), 0..3)
                .prop_map(Value::Array)
                .boxed()
        }
        SchemaType::Map => {
            let values = s.value_schema().unwrap().clone();
            proptest::collection::vec(("[a-c]{1,2}", value(values)), 0..3)
                .prop_map(|entries| {
                    let mut out: Vec<(Value, Option<Value>)> = Vec::new();
                    for (k, v) in entries {
                        if !out.iter().any(|(ok, _)| ok.as_str() == Some(k.as_str())) {
                            out.push((Value::from(k), v));
                        }
                    }
                    Value::Map(out)
                })
                .boxed()
        }
        _ => {
            let fields: Vec<BoxedStrategy<Option<Value>>> = s
                .fields()
                .iter()
                .map(|f| value(f.schema().clone()))
                .collect();
            let st = s.clone();
            fields
                .prop_map(move |values| {
                    Value::Struct(Struct::from_values(st.clone(), values).unwrap())
                })
                .boxed()
        }
    };
    if schema.is_optional() || schema.default_value().is_some() {
        prop_oneof![1 => Just(None), 4 => base.prop_map(Some)].boxed()
    } else {
        base.prop_map(Some).boxed()
    }
}

fn source_schema() -> Arc<Schema> {
    static S: OnceLock<Arc<Schema>> = OnceLock::new();
    S.get_or_init(|| {
        Arc::new(
            SchemaBuilder::struct_()
                .name("io.debezium.connector.postgresql.Source")
                .field("db", Schema::of(SchemaType::String))
                .field("table", Schema::of(SchemaType::String))
                .field("ts_ms", Schema::of(SchemaType::Int64))
                .field("lsn", Schema::optional_of(SchemaType::Int64))
                .build()
                .unwrap(),
        )
    })
    .clone()
}

/// A Debezium-shaped envelope around a generated row schema.
fn envelope() -> impl Strategy<Value = (Arc<Schema>, Option<Value>)> {
    let row = proptest::collection::vec((0..NAMES.len(), schema()), 1..6)
        .prop_map(|fields| Arc::new(struct_of(&fields, true, Some("s.public.t.Value"))));
    row.prop_flat_map(|row| {
        let env = Arc::new(
            SchemaBuilder::struct_()
                .name("s.public.t.Envelope")
                .field("before", row.clone())
                .field("after", row.clone())
                .field("source", source_schema())
                .field("op", Schema::of(SchemaType::String))
                .field("ts_ms", Schema::optional_of(SchemaType::Int64))
                .build()
                .unwrap(),
        );
        (
            value(row.clone()),
            value(row),
            prop_oneof![
                Just("c"),
                Just("u"),
                Just("d"),
                Just("r"),
                Just("t"),
                Just("m")
            ],
            proptest::option::of(any::<i64>()),
            proptest::option::of(any::<i64>()),
        )
            .prop_map(move |(before, after, op, ts, lsn)| {
                let mut source = Struct::new(source_schema()).unwrap();
                source
                    .put("db", "db")
                    .unwrap()
                    .put("table", "t")
                    .unwrap()
                    .put("ts_ms", 1i64)
                    .unwrap();
                if let Some(l) = lsn {
                    source.put("lsn", l).unwrap();
                }
                let v = Struct::from_values(
                    env.clone(),
                    vec![
                        before,
                        after,
                        Some(Value::Struct(source)),
                        Some(Value::from(op)),
                        ts.map(Value::Int64),
                    ],
                )
                .unwrap();
                (env.clone(), Some(Value::Struct(v)))
            })
    })
}

fn headers() -> impl Strategy<Value = Headers> {
    proptest::option::of(proptest::collection::vec(
        prop_oneof![Just("id"), Just("name"), Just("a"), Just("zz")],
        0..3,
    ))
    .prop_map(|drop| {
        let mut h = Headers::new();
        if let Some(names) = drop {
            h.add(
                "drop",
                None,
                Some(Value::Array(
                    names.into_iter().map(|n| Some(Value::from(n))).collect(),
                )),
            );
        }
        h
    })
}

fn topic() -> impl Strategy<Value = Arc<str>> {
    prop_oneof![
        Just("server1.public.customers"),
        Just("outbox"),
        Just("__debezium-heartbeat.server1"),
        Just(""),
    ]
    .prop_map(Arc::from)
}

/// A valid record: an envelope or any schema-ful value, or a schemaless one.
fn valid_record() -> impl Strategy<Value = ConnectRecord> {
    let value_part = prop_oneof![
        2 => envelope(),
        1 => schema().prop_flat_map(|s| value(s.clone()).prop_map(move |v| (s.clone(), v))),
    ];
    let key_part = proptest::option::of(
        schema().prop_flat_map(|s| value(s.clone()).prop_map(move |v| (s.clone(), v))),
    );
    (
        value_part,
        key_part,
        topic(),
        headers(),
        proptest::option::of(any::<i64>()),
        proptest::option::of(0..8i32),
    )
        .prop_map(|((vs, v), key, topic, headers, timestamp, partition)| {
            let (ks, k) = match key {
                Some((s, v)) => (Some(s), v),
                None => (None, None),
            };
            ConnectRecord {
                topic,
                partition,
                key_schema: ks,
                key: k,
                value_schema: Some(vs),
                value: v,
                timestamp: timestamp.map(|t| t % 10_000_000_000_000),
                headers,
            }
        })
}

/// Anything at all: schemas and values drawn independently, schemaless
/// maps, tombstones.
fn any_record() -> impl Strategy<Value = ConnectRecord> {
    let loose_value = prop_oneof![
        schema().prop_flat_map(value),
        envelope().prop_map(|(_, v)| v),
        proptest::collection::vec(
            ("[a-z]{1,4}", proptest::option::of("[a-z0-9{}]{0,5}")),
            0..4
        )
        .prop_map(|e| {
            Some(Value::Map(
                e.into_iter()
                    .map(|(k, v)| (Value::from(k), v.map(Value::from)))
                    .collect(),
            ))
        }),
    ];
    let loose_schema = proptest::option::of(prop_oneof![schema(), envelope().prop_map(|(s, _)| s)]);
    (
        loose_schema.clone(),
        loose_value.clone(),
        loose_schema,
        loose_value,
        topic(),
        headers(),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(|(vs, v, ks, k, topic, headers, timestamp)| ConnectRecord {
            topic,
            partition: None,
            key_schema: ks,
            key: k,
            value_schema: vs,
            value: v,
            timestamp,
            headers,
        })
}

fn check_valid(r: &ConnectRecord) -> Result<(), String> {
    if let Some(s) = &r.key_schema {
        validate(s, r.key.as_ref()).map_err(|e| format!("key: {e}"))?;
    }
    if let Some(s) = &r.value_schema {
        validate(s, r.value.as_ref()).map_err(|e| format!("value: {e}"))?;
    }
    for h in &r.headers {
        if let Some(s) = &h.schema {
            validate(s, h.value.as_ref()).map_err(|e| format!("header {}: {e}", h.key))?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 192,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn valid_records_stay_consistent(record in valid_record()) {
        prop_assert!(check_valid(&record).is_ok(), "generator produced an invalid record: {:?}", check_valid(&record));
        for (name, chain) in configs() {
            match chain.apply(record.clone()) {
                Ok(Some(out)) => {
                    if let Err(e) = check_valid(&out) {
                        prop_assert!(false, "{name}: output does not fit its schema: {e}\ninput: {record:?}\noutput: {out:?}");
                    }
                }
                Ok(None) => {}
                Err(TransformError::Record { alias, .. }) => prop_assert_eq!(alias, "t"),
                Err(e) => prop_assert!(false, "{name}: unexpected error kind {e:?}"),
            }
        }
    }

    #[test]
    fn in_place_and_by_value_agree(valid in valid_record(), any in any_record()) {
        for (name, t) in in_place() {
            same_both_ways(name, t.as_ref(), &valid)?;
            same_both_ways(name, t.as_ref(), &any)?;
        }
    }

    #[test]
    fn no_transform_panics_on_arbitrary_records(record in any_record()) {
        for (_, chain) in configs() {
            let _ = chain.apply(record.clone());
        }
    }
}
