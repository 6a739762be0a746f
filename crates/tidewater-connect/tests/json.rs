//! JsonConverter output against what Kafka's JsonConverter writes, and
//! round trips through the converter.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests unwrap known-good fixtures"
)]

use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;
use tidewater_connect::*;

fn conv(schemas: bool) -> JsonConverter {
    JsonConverter::new(JsonConverterConfig {
        schemas_enable: schemas,
        ..Default::default()
    })
}

fn json(c: &JsonConverter, schema: &Schema, value: Option<&Value>) -> String {
    let b = c.serialize("t", Some(schema), value).unwrap().unwrap();
    String::from_utf8(b.to_vec()).unwrap()
}

fn all_types_schema() -> Arc<Schema> {
    Arc::new(
        SchemaBuilder::struct_()
            .name("srv.public.all.Value")
            .field("b", SchemaBuilder::boolean().build().unwrap())
            .field("i8", SchemaBuilder::int8().build().unwrap())
            .field("i16", SchemaBuilder::int16().optional().build().unwrap())
            .field("i32", SchemaBuilder::int32().build().unwrap())
            .field("i64", SchemaBuilder::int64().build().unwrap())
            .field("f32", SchemaBuilder::float32().build().unwrap())
            .field("f64", SchemaBuilder::float64().build().unwrap())
            .field("s", SchemaBuilder::string().optional().build().unwrap())
            .field("bytes", SchemaBuilder::bytes().build().unwrap())
            .field(
                "dec",
                logical::decimal_builder(2)
                    .parameter("connect.decimal.precision", "10")
                    .optional()
                    .build()
                    .unwrap(),
            )
            .field("date", logical::date_builder().build().unwrap())
            .field(
                "arr",
                SchemaBuilder::array(Schema::optional_of(SchemaType::Int32))
                    .optional()
                    .build()
                    .unwrap(),
            )
            .field(
                "m",
                SchemaBuilder::map(
                    Schema::of(SchemaType::String),
                    Schema::optional_of(SchemaType::String),
                )
                .optional()
                .build()
                .unwrap(),
            )
            .field(
                "im",
                SchemaBuilder::map(
                    Schema::of(SchemaType::Int32),
                    Schema::of(SchemaType::Boolean),
                )
                .build()
                .unwrap(),
            )
            .optional()
            .build()
            .unwrap(),
    )
}

fn all_types_value(schema: &Arc<Schema>) -> Value {
    let mut s = Struct::new(schema.clone()).unwrap();
    s.put("b", true).unwrap();
    s.put("i8", -8i8).unwrap();
    s.put_null("i16").unwrap();
    s.put("i32", 32).unwrap();
    s.put("i64", i64::MIN).unwrap();
    s.put("f32", f32::INFINITY).unwrap();
    s.put("f64", 1e21).unwrap();
    s.put("s", "tab\there \"quoted\" é").unwrap();
    s.put("bytes", Bytes::from_static(&[0, 1, 2, 255])).unwrap();
    s.put("dec", Decimal::from_i128(-100, 2)).unwrap();
    s.put("date", 19_000).unwrap();
    s.put(
        "arr",
        Value::Array(vec![Some(Value::Int32(1)), None, Some(Value::Int32(3))]),
    )
    .unwrap();
    s.put(
        "m",
        Value::Map(vec![
            (Value::from("k1"), Some(Value::from("v1"))),
            (Value::from("k0"), None),
        ]),
    )
    .unwrap();
    s.put(
        "im",
        Value::Map(vec![(Value::Int32(7), Some(Value::Boolean(false)))]),
    )
    .unwrap();
    Value::Struct(s)
}

/// The exact bytes Kafka's JsonConverter writes for this schema and value
/// (key order from `asJsonSchema`/`convertToJson`, Jackson's escaping and
/// number formats, base64 bytes, maps with non-string keys as pair arrays).
#[test]
fn schemas_on_matches_kafka_byte_for_byte() {
    let schema = all_types_schema();
    let v = all_types_value(&schema);
    let expected = concat!(
        r#"{"schema":{"type":"struct","fields":["#,
        r#"{"type":"boolean","optional":false,"field":"b"},"#,
        r#"{"type":"int8","optional":false,"field":"i8"},"#,
        r#"{"type":"int16","optional":true,"field":"i16"},"#,
        r#"{"type":"int32","optional":false,"field":"i32"},"#,
        r#"{"type":"int64","optional":false,"field":"i64"},"#,
        r#"{"type":"float","optional":false,"field":"f32"},"#,
        r#"{"type":"double","optional":false,"field":"f64"},"#,
        r#"{"type":"string","optional":true,"field":"s"},"#,
        r#"{"type":"bytes","optional":false,"field":"bytes"},"#,
        r#"{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"dec"},"#,
        r#"{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"date"},"#,
        r#"{"type":"array","items":{"type":"int32","optional":true},"optional":true,"field":"arr"},"#,
        r#"{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"string","optional":true},"optional":true,"field":"m"},"#,
        r#"{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"boolean","optional":false},"optional":false,"field":"im"}"#,
        r#"],"optional":true,"name":"srv.public.all.Value"},"#,
        r#""payload":{"b":true,"i8":-8,"i16":null,"i32":32,"i64":-9223372036854775808,"f32":"Infinity","f64":1.0E21,"#,
        r#""s":"tab\there \"quoted\" é","bytes":"AAEC/w==","dec":"nA==","date":19000,"arr":[1,null,3],"#,
        r#""m":{"k1":"v1","k0":null},"im":[[7,false]]}}"#
    );
    assert_eq!(json(&conv(true), &schema, Some(&v)), expected);
}

#[test]
fn schemas_off_is_the_payload_alone() {
    let schema = all_types_schema();
    let v = all_types_value(&schema);
    let out = json(&conv(false), &schema, Some(&v));
    assert!(out.starts_with(r#"{"b":true,"i8":-8,"#), "{out}");
    assert!(out.ends_with(r#""im":[[7,false]]}"#), "{out}");
    // A null value with an optional schema is the JSON null.
    assert_eq!(json(&conv(false), &schema, None), "null");
    assert!(
        json(&conv(true), &schema, None).ends_with(r#","payload":null}"#),
        "schema kept, payload null"
    );
}

#[test]
fn tombstones_serialize_to_nothing() {
    for schemas in [true, false] {
        assert_eq!(conv(schemas).serialize("t", None, None).unwrap(), None);
        let back = conv(schemas).deserialize("t", None).unwrap();
        assert_eq!(back, SchemaAndValue::default());
    }
}

#[test]
fn decimal_numeric_format() {
    let c = JsonConverter::new(
        JsonConverterConfig::from_pairs([
            ("decimal.format", "numeric"),
            ("schemas.enable", "false"),
        ])
        .unwrap(),
    );
    let s = logical::decimal_builder(7).build().unwrap();
    let out = json(&c, &s, Some(&Value::Decimal(Decimal::from_i128(1, 7))));
    assert_eq!(out, "1E-7");
    let s = logical::decimal_builder(2).build().unwrap();
    let out = json(&c, &s, Some(&Value::Decimal(Decimal::from_i128(-12345, 2))));
    assert_eq!(out, "-123.45");
    // Base64 rejects a scale other than the schema's, as Kafka's Decimal.fromLogical does.
    let e = conv(false)
        .serialize(
            "t",
            Some(&s),
            Some(&Value::Decimal(Decimal::from_i128(1, 3))),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            ConnectError::DecimalScale {
                expected: 2,
                found: 3,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn defaults_and_replace_null_with_default() {
    let schema = Arc::new(
        SchemaBuilder::struct_()
            .field(
                "n",
                SchemaBuilder::int32()
                    .optional()
                    .default_value(Value::Int32(5))
                    .build()
                    .unwrap(),
            )
            .field(
                "snap",
                SchemaBuilder::string()
                    .optional()
                    .name("io.debezium.data.Enum")
                    .version(1)
                    .parameter("allowed", "true,false")
                    .default_value(Value::from("false"))
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap(),
    );
    let s = Struct::new(schema.clone()).unwrap();
    let v = Value::Struct(s);
    let on = json(&conv(true), &schema, Some(&v));
    assert_eq!(
        on,
        concat!(
            r#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"default":5,"field":"n"},"#,
            r#"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,false"},"default":"false","field":"snap"}],"optional":false},"#,
            r#""payload":{"n":5,"snap":"false"}}"#
        )
    );
    let keep_null = JsonConverter::new(
        JsonConverterConfig::from_pairs([
            ("schemas.enable", "false"),
            ("replace.null.with.default", "false"),
        ])
        .unwrap(),
    );
    assert_eq!(
        json(&keep_null, &schema, Some(&v)),
        r#"{"n":null,"snap":null}"#
    );
}

#[test]
fn errors_name_the_field() {
    let schema = Arc::new(
        SchemaBuilder::struct_()
            .field(
                "inner",
                SchemaBuilder::struct_()
                    .field("x", SchemaBuilder::int32().build().unwrap())
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap(),
    );
    let inner_schema = schema.field("inner").unwrap().schema().clone();
    let inner = Struct::from_values_unchecked(inner_schema, vec![None]);
    let outer = Struct::from_values_unchecked(schema.clone(), vec![Some(Value::Struct(inner))]);
    let e = conv(false)
        .serialize("t", Some(&schema), Some(&Value::Struct(outer)))
        .unwrap_err();
    assert_eq!(
        e,
        ConnectError::NullForRequired {
            path: "inner.x".into()
        }
    );

    let mut s = Struct::new(schema.clone()).unwrap();
    let e = s.put("inner", 3).unwrap_err();
    assert!(
        matches!(&e, ConnectError::TypeMismatch { path, .. } if path == "inner"),
        "{e}"
    );
    assert!(matches!(
        s.put("nope", 1),
        Err(ConnectError::UnknownField { .. })
    ));

    let e = SchemaBuilder::struct_()
        .field("a", Schema::of(SchemaType::Int8))
        .field("a", Schema::of(SchemaType::Int8))
        .build()
        .unwrap_err();
    assert!(matches!(e, ConnectError::InvalidSchema { .. }));
    let e = SchemaBuilder::int32()
        .default_value(Value::from("x"))
        .build()
        .unwrap_err();
    assert!(matches!(e, ConnectError::InvalidSchema { .. }));
}

#[test]
fn config_keys() {
    let c = JsonConverterConfig::from_pairs([("schemas.enable", "FALSE")]).unwrap();
    assert!(!c.schemas_enable);
    let e = JsonConverterConfig::from_pairs([("decimal.format", "hex")]).unwrap_err();
    assert!(matches!(e, ConnectError::Config { ref key, .. } if key == "decimal.format"));
    assert!(JsonConverterConfig::from_pairs([("schemas.enable", "yes")]).is_err());
    let map = [("decimal.format".to_string(), "NUMERIC".to_string())]
        .into_iter()
        .collect();
    assert_eq!(
        JsonConverterConfig::from_map(&map).unwrap().decimal_format,
        DecimalFormat::Numeric
    );
}

#[test]
fn reads_schemaless_json_like_kafka() {
    let c = conv(false);
    let back = c
        .deserialize("t", Some(br#"{"a":1,"b":[1.5,null],"c":"x"}"#))
        .unwrap();
    assert_eq!(back.schema, None);
    assert_eq!(
        back.value,
        Some(Value::Map(vec![
            (Value::from("a"), Some(Value::Int64(1))),
            (
                Value::from("b"),
                Some(Value::Array(vec![Some(Value::Float64(1.5)), None]))
            ),
            (Value::from("c"), Some(Value::from("x"))),
        ]))
    );
    // With schemas on, the envelope must be exactly schema + payload.
    assert!(
        conv(true)
            .deserialize("t", Some(br#"{"payload":1}"#))
            .is_err()
    );
    assert!(conv(true).deserialize("t", Some(b"{not json")).is_err());
}

#[test]
fn integer_and_base64_helpers_write_what_the_converter_writes() {
    let c = conv(false);
    for v in [0i64, -1, 7, 10, 99, 100, -12_345, i64::MIN, i64::MAX] {
        let mut a = Vec::new();
        write_json_i64(&mut a, v);
        let mut b = Vec::new();
        c.write_payload(None, Some(&Value::Int64(v)), &mut b)
            .unwrap();
        assert_eq!(a, b);
    }
    for data in [&b""[..], b"a", b"ab", b"abc", &[0xFF, 0x00, 0x80, 0x7F]] {
        let mut a = Vec::new();
        write_json_base64(&mut a, data);
        let mut b = Vec::new();
        c.write_payload(
            None,
            Some(&Value::Bytes(Bytes::copy_from_slice(data))),
            &mut b,
        )
        .unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn schema_json_is_cached_and_shared() {
    let schema = all_types_schema();
    let c = conv(true);
    let a = c.schema_json(&schema).unwrap();
    let b = c.schema_json(&schema).unwrap();
    assert_eq!(
        a.as_ptr(),
        b.as_ptr(),
        "second call returns the cached bytes"
    );
}

// ---- property tests ----

fn leaf_schema() -> impl Strategy<Value = Schema> {
    let t = prop_oneof![
        Just(SchemaType::Boolean),
        Just(SchemaType::Int8),
        Just(SchemaType::Int16),
        Just(SchemaType::Int32),
        Just(SchemaType::Int64),
        Just(SchemaType::Float32),
        Just(SchemaType::Float64),
        Just(SchemaType::String),
        Just(SchemaType::Bytes),
    ];
    let plain = (
        t,
        any::<bool>(),
        proptest::option::of("[a-z.]{1,8}"),
        proptest::option::of(0i32..5),
    )
        .prop_map(|(t, opt, name, version)| {
            let mut b = SchemaBuilder::new(t);
            if opt {
                b = b.optional();
            }
            if let Some(n) = name {
                b = b.name(format!("x.{n}"));
            }
            if let Some(v) = version {
                b = b.version(v);
            }
            b.doc("doc \"quoted\"").build().unwrap()
        });
    let decimal = (-20i32..20, any::<bool>()).prop_map(|(scale, opt)| {
        let b = logical::decimal_builder(scale).parameter("connect.decimal.precision", "30");
        if opt { b.optional() } else { b }.build().unwrap()
    });
    prop_oneof![4 => plain, 1 => decimal]
}

fn arb_schema() -> impl Strategy<Value = Schema> {
    leaf_schema().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            (inner.clone(), any::<bool>()).prop_map(|(items, opt)| {
                let b = SchemaBuilder::array(items);
                if opt { b.optional() } else { b }.build().unwrap()
            }),
            (inner.clone(), any::<bool>()).prop_map(|(v, opt)| {
                let b = SchemaBuilder::map(Schema::of(SchemaType::String), v);
                if opt { b.optional() } else { b }.build().unwrap()
            }),
            (inner.clone(), any::<bool>()).prop_map(|(v, opt)| {
                let b = SchemaBuilder::map(Schema::of(SchemaType::Int64), v);
                if opt { b.optional() } else { b }.build().unwrap()
            }),
            (proptest::collection::vec(inner, 0..5), any::<bool>()).prop_map(|(fields, opt)| {
                let mut b = SchemaBuilder::struct_().name("s.Struct");
                for (i, f) in fields.into_iter().enumerate() {
                    b = b.field(format!("f{i}"), f);
                }
                if opt { b.optional() } else { b }.build().unwrap()
            }),
        ]
    })
}

fn arb_value(schema: Arc<Schema>) -> BoxedStrategy<Option<Value>> {
    let non_null: BoxedStrategy<Value> = match schema.schema_type() {
        SchemaType::Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
        SchemaType::Int8 => any::<i8>().prop_map(Value::Int8).boxed(),
        SchemaType::Int16 => any::<i16>().prop_map(Value::Int16).boxed(),
        SchemaType::Int32 => any::<i32>().prop_map(Value::Int32).boxed(),
        SchemaType::Int64 => any::<i64>().prop_map(Value::Int64).boxed(),
        SchemaType::Float32 => any::<f32>().prop_map(Value::Float32).boxed(),
        SchemaType::Float64 => any::<f64>().prop_map(Value::Float64).boxed(),
        SchemaType::String => any::<String>().prop_map(Value::from).boxed(),
        SchemaType::Bytes if schema.name() == Some(logical::DECIMAL_NAME) => {
            let scale = logical::decimal_scale(&schema).unwrap();
            proptest::collection::vec(any::<u8>(), 0..24)
                .prop_map(move |b| Value::Decimal(Decimal::new(b, scale)))
                .boxed()
        }
        SchemaType::Bytes => proptest::collection::vec(any::<u8>(), 0..16)
            .prop_map(|b| Value::Bytes(Bytes::from(b)))
            .boxed(),
        SchemaType::Array => {
            let items = schema.value_schema().unwrap().clone();
            proptest::collection::vec(arb_value(items), 0..4)
                .prop_map(Value::Array)
                .boxed()
        }
        SchemaType::Map => {
            let vs = schema.value_schema().unwrap().clone();
            let string_keys = schema.key_schema().unwrap().schema_type() == SchemaType::String;
            proptest::collection::btree_map(any::<i64>(), arb_value(vs), 0..4)
                .prop_map(move |m| {
                    Value::Map(
                        m.into_iter()
                            .map(|(k, v)| {
                                let k = if string_keys {
                                    Value::from(format!("k{k}"))
                                } else {
                                    Value::Int64(k)
                                };
                                (k, v)
                            })
                            .collect(),
                    )
                })
                .boxed()
        }
        SchemaType::Struct => {
            let fields: Vec<_> = schema
                .fields()
                .iter()
                .map(|f| arb_value(f.schema().clone()))
                .collect();
            let s = schema.clone();
            fields
                .prop_map(move |values| {
                    Value::Struct(Struct::from_values(s.clone(), values).unwrap())
                })
                .boxed()
        }
        _ => unreachable!(),
    };
    if schema.is_optional() {
        proptest::option::weighted(0.8, non_null).boxed()
    } else {
        non_null.prop_map(Some).boxed()
    }
}

fn schema_and_value() -> impl Strategy<Value = (Arc<Schema>, Option<Value>)> {
    arb_schema()
        .prop_map(Arc::new)
        .prop_flat_map(|s| (Just(s.clone()), arb_value(s)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any valid value, with its schema, reads back equal (schemas on), in
    /// both decimal formats.
    #[test]
    fn round_trip_with_schema((schema, value) in schema_and_value(), numeric in any::<bool>()) {
        validate(&schema, value.as_ref()).unwrap();
        let c = JsonConverter::new(JsonConverterConfig {
            decimal_format: if numeric { DecimalFormat::Numeric } else { DecimalFormat::Base64 },
            ..Default::default()
        });
        let bytes = c.serialize("t", Some(&schema), value.as_ref()).unwrap();
        let back = c.deserialize("t", bytes.as_deref()).unwrap();
        prop_assert_eq!(back.schema.as_deref(), Some(&*schema));
        prop_assert_eq!(&back.value, &value);
        // What we wrote is JSON any parser accepts, and writing is deterministic.
        let again = c.serialize("t", Some(&schema), back.value.as_ref()).unwrap();
        prop_assert_eq!(&again, &bytes);
        let parsed: serde_json::Value = serde_json::from_slice(&bytes.unwrap()).unwrap();
        prop_assert!(parsed.get("payload").is_some());
    }

    /// Without schemas the payload alone is written; reading it with the
    /// schema-carrying envelope gives the same value.
    #[test]
    fn schemas_off_payload_equals_schemas_on_payload((schema, value) in schema_and_value()) {
        let on = conv(true).serialize("t", Some(&schema), value.as_ref()).unwrap().unwrap();
        let off = conv(false).serialize("t", Some(&schema), value.as_ref()).unwrap().unwrap();
        let on: serde_json::Value = serde_json::from_slice(&on).unwrap();
        let off: serde_json::Value = serde_json::from_slice(&off).unwrap();
        prop_assert_eq!(&on["payload"], &off);
    }

    /// A document assembled from parts (the cached schema JSON, field keys,
    /// each field's payload) is byte for byte what `write` produces.
    #[test]
    fn parts_assemble_to_the_whole(
        (schema, value) in schema_and_value(),
        schemas in any::<bool>(),
        numeric in any::<bool>(),
        replace in any::<bool>(),
    ) {
        let c = JsonConverter::new(JsonConverterConfig {
            schemas_enable: schemas,
            decimal_format: if numeric { DecimalFormat::Numeric } else { DecimalFormat::Base64 },
            replace_null_with_default: replace,
        });
        let mut whole = Vec::new();
        let whole_ok = c.write(Some(&schema), value.as_ref(), &mut whole).is_ok();
        let mut parts = Vec::new();
        let assembled = (|| -> Result<()> {
            if schemas {
                parts.extend_from_slice(b"{\"schema\":");
                c.write_schema_json(&schema, &mut parts)?;
                parts.extend_from_slice(b",\"payload\":");
            }
            match &value {
                Some(Value::Struct(s)) => {
                    parts.push(b'{');
                    for (i, (f, v)) in schema.fields().iter().zip(s.values()).enumerate() {
                        if i > 0 {
                            parts.push(b',');
                        }
                        parts.extend_from_slice(f.json_key());
                        c.write_payload(Some(f.schema()), v.as_ref(), &mut parts)?;
                    }
                    parts.push(b'}');
                }
                v => c.write_payload(Some(&schema), v.as_ref(), &mut parts)?,
            }
            if schemas {
                parts.push(b'}');
            }
            Ok(())
        })()
        .is_ok();
        prop_assert_eq!(assembled, whole_ok);
        if whole_ok {
            prop_assert_eq!(String::from_utf8_lossy(&parts), String::from_utf8_lossy(&whole));
        }
    }

    /// Arbitrary bytes never make the reader panic.
    #[test]
    fn reader_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64), schemas in any::<bool>()) {
        let _ = conv(schemas).deserialize("t", Some(&data));
    }
}
