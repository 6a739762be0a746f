//! Behaviour tables of the Kafka Connect field and header transforms, with
//! and without schemas.
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
use tidewater_connect::{
    ConnectRecord, Decimal, Schema, SchemaBuilder, SchemaType, Struct, Value, logical,
};
use tidewater_transforms::{TransformChain, TransformError};

const K: &str = "org.apache.kafka.connect.transforms";

/// `(name, class, [(option, value)])` → a one-transform chain.
fn one(class: &str, options: &[(&str, &str)]) -> TransformChain {
    try_one(class, options).unwrap()
}

fn try_one(class: &str, options: &[(&str, &str)]) -> Result<TransformChain, TransformError> {
    let type_value = if class.contains('.') {
        class.to_string()
    } else {
        format!("{K}.{class}")
    };
    let mut pairs: Vec<(String, String)> = vec![
        ("transforms".into(), "t".into()),
        ("transforms.t.type".into(), type_value),
    ];
    for (k, v) in options {
        pairs.push((format!("transforms.t.{k}"), (*v).to_string()));
    }
    TransformChain::from_config(pairs)
}

fn config_key(class: &str, options: &[(&str, &str)]) -> String {
    match try_one(class, options).unwrap_err() {
        TransformError::Config { key, .. } => key,
        other => panic!("{other:?}"),
    }
}

fn row_schema() -> Arc<Schema> {
    static SCHEMA: std::sync::OnceLock<Arc<Schema>> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(build_row_schema).clone()
}

fn build_row_schema() -> Arc<Schema> {
    let addr = SchemaBuilder::struct_()
        .name("Addr")
        .optional()
        .field("city", Schema::of(SchemaType::String))
        .field("zip", Schema::optional_of(SchemaType::String))
        .build()
        .unwrap();
    Arc::new(
        SchemaBuilder::struct_()
            .name("shop.public.orders.Value")
            .field("id", Schema::of(SchemaType::Int32))
            .field("name", Schema::optional_of(SchemaType::String))
            .field(
                "price",
                logical::decimal_builder(2).optional().build().unwrap(),
            )
            .field(
                "created",
                logical::timestamp_builder().optional().build().unwrap(),
            )
            .field("day", logical::date_builder().optional().build().unwrap())
            .field("active", Schema::of(SchemaType::Boolean))
            .field("ratio", Schema::optional_of(SchemaType::Float64))
            .field("addr", addr)
            .field(
                "tags",
                SchemaBuilder::array(Schema::of(SchemaType::String))
                    .optional()
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap(),
    )
}

fn key_schema() -> Arc<Schema> {
    Arc::new(
        SchemaBuilder::struct_()
            .name("shop.public.orders.Key")
            .field("id", Schema::of(SchemaType::Int32))
            .build()
            .unwrap(),
    )
}

/// 2024-03-09T00:48:16.007Z
const CREATED: i64 = 1_709_945_296_007;

fn record() -> ConnectRecord {
    let schema = row_schema();
    let addr_schema = schema.field("addr").unwrap().schema().clone();
    let mut addr = Struct::new(addr_schema).unwrap();
    addr.put("city", "Lyon").unwrap();
    let mut v = Struct::new(schema.clone()).unwrap();
    v.put("id", 7)
        .unwrap()
        .put("name", "pen")
        .unwrap()
        .put("price", Decimal::from_i128(1999, 2))
        .unwrap()
        .put("created", CREATED)
        .unwrap()
        .put("day", 19_791)
        .unwrap()
        .put("active", true)
        .unwrap()
        .put("ratio", 0.25)
        .unwrap()
        .put("addr", addr)
        .unwrap()
        .put("tags", Value::Array(vec![Some(Value::from("a"))]))
        .unwrap();
    let mut k = Struct::new(key_schema()).unwrap();
    k.put("id", 7).unwrap();
    let mut r = ConnectRecord::new(
        Arc::from("shop.public.orders"),
        Some(key_schema()),
        Some(Value::Struct(k)),
        Some(schema),
        Some(Value::Struct(v)),
    );
    r.partition = Some(3);
    r.timestamp = Some(CREATED);
    r
}

fn schemaless() -> ConnectRecord {
    let map = Value::Map(vec![
        (Value::from("id"), Some(Value::Int64(7))),
        (Value::from("name"), Some(Value::from("pen"))),
        (
            Value::from("addr"),
            Some(Value::Map(vec![(
                Value::from("city"),
                Some(Value::from("Lyon")),
            )])),
        ),
        (Value::from("ts"), Some(Value::Int64(CREATED))),
    ]);
    ConnectRecord::new(
        Arc::from("events"),
        None,
        Some(Value::from("k")),
        None,
        Some(map),
    )
}

fn tombstone() -> ConnectRecord {
    let mut r = record();
    r.value = None;
    r.value_schema = None;
    r
}

fn field_names(r: &ConnectRecord) -> Vec<String> {
    r.value_schema
        .as_ref()
        .unwrap()
        .fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect()
}

#[test]
fn insert_field() {
    let c = one(
        "InsertField$Value",
        &[
            ("topic.field", "topic!"),
            ("partition.field", "part"),
            ("timestamp.field", "ts?"),
            ("static.field", "origin"),
            ("static.value", "pg"),
        ],
    );
    let out = run(&c, record()).unwrap();
    let v = value_json(&out).unwrap();
    assert_eq!(
        (&v["topic"], &v["part"], &v["ts"], &v["origin"]),
        (
            &json!("shop.public.orders"),
            &json!(3),
            &json!(CREATED),
            &json!("pg")
        )
    );
    let s = out.value_schema.as_ref().unwrap();
    assert_eq!(s.name(), Some("shop.public.orders.Value"));
    assert!(!s.field("topic").unwrap().schema().is_optional());
    assert!(s.field("part").unwrap().schema().is_optional());
    assert_eq!(
        s.field("ts").unwrap().schema().name(),
        Some(logical::TIMESTAMP_NAME)
    );
    // Cached: the same output schema for the next record.
    let again = run(&c, record()).unwrap();
    assert!(Arc::ptr_eq(
        out.value_schema.as_ref().unwrap(),
        again.value_schema.as_ref().unwrap()
    ));
    // Schemaless values get map entries; tombstones pass.
    let out = run(&c, schemaless()).unwrap();
    assert_eq!(value_json(&out).unwrap()["topic"], "events");
    assert_eq!(value_json(&out).unwrap()["part"], json!(null));
    assert_eq!(run(&c, tombstone()), Some(tombstone()));
    // A required field without a value is an error, not a panic.
    let c = one("InsertField$Value", &[("partition.field", "part!")]);
    let mut r = record();
    r.partition = None;
    assert!(c.apply(r).is_err());
    // The key side.
    let c = one(
        "InsertField$Key",
        &[("static.field", "src"), ("static.value", "db1")],
    );
    assert_eq!(
        key_json(&run(&c, record()).unwrap()),
        Some(json!({"id": 7, "src": "db1"}))
    );
    assert_eq!(
        config_key("InsertField$Value", &[("offset.field", "o")]),
        "transforms.t.offset.field"
    );
}

#[test]
fn replace_field() {
    let c = one(
        "ReplaceField$Value",
        &[
            ("exclude", "price,created, day ,ratio,addr,tags"),
            ("renames", "name:title,active:live"),
        ],
    );
    let out = run(&c, record()).unwrap();
    assert_eq!(
        value_json(&out),
        Some(json!({"id": 7, "title": "pen", "live": true}))
    );
    let c = one("ReplaceField$Value", &[("include", "id,name,nope")]);
    assert_eq!(
        value_json(&run(&c, record()).unwrap()),
        Some(json!({"id": 7, "name": "pen"}))
    );
    let c = one(
        "ReplaceField$Value",
        &[("blacklist", "name,addr,tags,price,created,day,ratio")],
    );
    assert_eq!(field_names(&run(&c, record()).unwrap()), ["id", "active"]);
    let c = one(
        "ReplaceField$Value",
        &[("whitelist", "id,ts"), ("renames", "ts:at")],
    );
    assert_eq!(
        value_json(&run(&c, schemaless()).unwrap()),
        Some(json!({"id": 7, "at": CREATED}))
    );
    let c = one("ReplaceField$Key", &[("renames", "id:order_id")]);
    assert_eq!(
        key_json(&run(&c, record()).unwrap()),
        Some(json!({"order_id": 7}))
    );
    assert_eq!(
        config_key("ReplaceField$Value", &[("renames", "a:b:c")]),
        "transforms.t.renames"
    );
}

#[test]
fn mask_field() {
    let c = one(
        "MaskField$Value",
        &[("fields", "id,name,price,created,day,active,ratio,tags")],
    );
    let v = value_json(&run(&c, record()).unwrap()).unwrap();
    assert_eq!(v["id"], 0);
    assert_eq!(v["name"], "");
    assert_eq!(v["price"], "AA==", "zero with the column's scale");
    assert_eq!(
        (v["created"].clone(), v["day"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(
        (v["active"].clone(), v["ratio"].clone()),
        (json!(false), json!(0.0))
    );
    assert_eq!(v["tags"], json!([]));
    let c = one(
        "MaskField$Value",
        &[("fields", "id,name,price"), ("replacement", "12")],
    );
    let out = run(&c, record()).unwrap();
    let Some(Value::Struct(s)) = &out.value else {
        panic!()
    };
    assert_eq!(s.get("id"), Some(&Value::Int32(12)));
    assert_eq!(s.get("name"), Some(&Value::from("12")));
    assert_eq!(
        s.get("price"),
        Some(&Value::Decimal(Decimal::from_i128(1200, 2)))
    );
    // A boolean cannot take a custom replacement; a struct cannot be masked.
    let c = one(
        "MaskField$Value",
        &[("fields", "active"), ("replacement", "x")],
    );
    assert!(c.apply(record()).is_err());
    let c = one("MaskField$Value", &[("fields", "addr")]);
    assert!(c.apply(record()).is_err());
    let c = one("MaskField$Value", &[("fields", "name,missing")]);
    assert_eq!(
        value_json(&run(&c, schemaless()).unwrap()).unwrap(),
        json!({"id": 7, "name": "", "addr": {"city": "Lyon"}, "ts": CREATED, "missing": null})
    );
    assert_eq!(config_key("MaskField$Value", &[]), "transforms.t.fields");
    assert_eq!(
        config_key("MaskField$Value", &[("fields", "a"), ("replacement", "")]),
        "transforms.t.replacement"
    );
}

#[test]
fn value_to_key() {
    let c = one("ValueToKey", &[("fields", "id,name")]);
    let out = run(&c, record()).unwrap();
    assert_eq!(key_json(&out), Some(json!({"id": 7, "name": "pen"})));
    assert_eq!(out.key_schema.as_ref().unwrap().name(), None);
    let out = run(&c, schemaless()).unwrap();
    assert_eq!(key_json(&out), Some(json!({"id": 7, "name": "pen"})));
    assert_eq!(run(&c, tombstone()), Some(tombstone()));
    let c = one("ValueToKey", &[("fields", "nope")]);
    let e = c.apply(record()).unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
}

#[test]
fn extract_field() {
    let c = one("ExtractField$Value", &[("field", "name")]);
    let out = run(&c, record()).unwrap();
    assert_eq!(out.value, Some(Value::from("pen")));
    assert_eq!(
        out.value_schema.as_ref().unwrap().schema_type(),
        SchemaType::String
    );
    let c = one(
        "ExtractField$Value",
        &[("field", "addr.city"), ("field.syntax.version", "V2")],
    );
    assert_eq!(run(&c, record()).unwrap().value, Some(Value::from("Lyon")));
    assert_eq!(
        run(&c, schemaless()).unwrap().value,
        Some(Value::from("Lyon"))
    );
    let c = one("ExtractField$Key", &[("field", "id")]);
    let out = run(&c, record()).unwrap();
    assert_eq!(
        (out.key, out.key_schema.map(|s| s.schema_type())),
        (Some(Value::Int32(7)), Some(SchemaType::Int32))
    );
    let c = one("ExtractField$Value", &[("field", "nope")]);
    assert!(c.apply(record()).is_err());
    assert_eq!(run(&c, schemaless()).unwrap().value, None);
}

#[test]
fn hoist_field() {
    let c = one("HoistField$Key", &[("field", "wrapped")]);
    let out = run(&c, record()).unwrap();
    assert_eq!(key_json(&out), Some(json!({"wrapped": {"id": 7}})));
    let out = run(&c, schemaless()).unwrap();
    assert_eq!(key_json(&out), Some(json!({"wrapped": "k"})));
}

#[test]
fn flatten() {
    let c = one("Flatten$Value", &[("delimiter", "_")]);
    let out = run(&c, record()).unwrap();
    assert_eq!(
        field_names(&out),
        [
            "id",
            "name",
            "price",
            "created",
            "day",
            "active",
            "ratio",
            "addr_city",
            "addr_zip",
            "tags"
        ]
    );
    let s = out.value_schema.as_ref().unwrap();
    assert!(
        s.field("addr_city").unwrap().schema().is_optional(),
        "a required field under an optional struct becomes optional"
    );
    assert_eq!(value_json(&out).unwrap()["addr_city"], "Lyon");
    let out = run(&one("Flatten$Value", &[]), schemaless()).unwrap();
    assert_eq!(value_json(&out).unwrap()["addr.city"], "Lyon");
    assert_eq!(run(&c, tombstone()), Some(tombstone()));
}

#[test]
fn cast() {
    let c = one(
        "Cast$Value",
        &[(
            "spec",
            "id:string,price:float64,active:int8,created:string,ratio:int32,day:string,name:boolean",
        )],
    );
    let out = run(&c, record()).unwrap();
    let v = value_json(&out).unwrap();
    assert_eq!(v["id"], "7");
    assert_eq!(v["price"], 19.99);
    assert_eq!(v["active"], 1);
    assert_eq!(v["created"], "2024-03-09T00:48:16.007Z");
    assert_eq!(v["day"], "2024-03-09");
    assert_eq!(v["ratio"], 0);
    assert_eq!(v["name"], false);
    let s = out.value_schema.as_ref().unwrap();
    assert!(s.field("id").unwrap().schema().name().is_none());
    assert!(!s.field("id").unwrap().schema().is_optional());
    let c = one("Cast$Key", &[("spec", "int64")]);
    let mut r = record();
    r.key_schema = Some(Arc::new(Schema::of(SchemaType::Int32)));
    r.key = Some(Value::Int32(7));
    let out = run(&c, r).unwrap();
    assert_eq!(out.key, Some(Value::Int64(7)));
    // Strings parse into the whole range of the target type, and no further.
    for (spec, text, expected) in [
        (
            "int64",
            "-9223372036854775808",
            Some(Value::Int64(i64::MIN)),
        ),
        ("int64", "9223372036854775807", Some(Value::Int64(i64::MAX))),
        ("int64", "9223372036854775808", None),
        ("int8", "-128", Some(Value::Int8(-128))),
        ("int8", "128", None),
    ] {
        let c = one("Cast$Key", &[("spec", spec)]);
        let mut r = record();
        r.key_schema = Some(Arc::new(Schema::of(SchemaType::String)));
        r.key = Some(Value::from(text));
        assert_eq!(
            c.apply(r).ok().flatten().and_then(|o| o.key),
            expected,
            "{spec} {text}"
        );
    }
    let c = one("Cast$Value", &[("spec", "ratio:string,name:int32")]);
    assert!(c.apply(record()).is_err(), "'pen' is not an int32");
    let c = one("Cast$Value", &[("spec", "ratio:string")]);
    assert_eq!(
        value_json(&run(&c, record()).unwrap()).unwrap()["ratio"],
        "0.25"
    );
    // Logical types cast through their encoded form: a Date is days.
    let c = one("Cast$Value", &[("spec", "day:int64,created:int64")]);
    let v = value_json(&run(&c, record()).unwrap()).unwrap();
    assert_eq!(
        (v["day"].clone(), v["created"].clone()),
        (json!(19_791), json!(CREATED))
    );
    let c = one("Cast$Value", &[("spec", "id:float32")]);
    assert_eq!(
        value_json(&run(&c, schemaless()).unwrap()).unwrap()["id"],
        7.0
    );
    for bad in ["id:decimal", "bytes", "int8,id:int16", "a:b:c"] {
        assert_eq!(
            config_key("Cast$Value", &[("spec", bad)]),
            "transforms.t.spec",
            "{bad}"
        );
    }
}

#[test]
fn timestamp_converter() {
    let c = one(
        "TimestampConverter$Value",
        &[
            ("field", "created"),
            ("target.type", "string"),
            ("format", "yyyy-MM-dd HH:mm:ss"),
        ],
    );
    let out = run(&c, record()).unwrap();
    assert_eq!(value_json(&out).unwrap()["created"], "2024-03-09 00:48:16");
    assert!(
        out.value_schema
            .unwrap()
            .field("created")
            .unwrap()
            .schema()
            .is_optional()
    );

    let c = one(
        "TimestampConverter$Value",
        &[
            ("field", "created"),
            ("target.type", "unix"),
            ("unix.precision", "seconds"),
        ],
    );
    assert_eq!(
        value_json(&run(&c, record()).unwrap()).unwrap()["created"],
        CREATED / 1000
    );
    let c = one(
        "TimestampConverter$Value",
        &[("field", "created"), ("target.type", "Date")],
    );
    let out = run(&c, record()).unwrap();
    assert_eq!(value_json(&out).unwrap()["created"], 19_791);
    let c = one(
        "TimestampConverter$Value",
        &[("field", "day"), ("target.type", "Timestamp")],
    );
    assert_eq!(
        value_json(&run(&c, record()).unwrap()).unwrap()["day"],
        19_791i64 * 86_400_000
    );
    let c = one(
        "TimestampConverter$Value",
        &[("field", "created"), ("target.type", "Time")],
    );
    assert_eq!(
        value_json(&run(&c, record()).unwrap()).unwrap()["created"],
        2_896_007
    );

    // Schemaless: a long is a Unix time, a string is parsed with the format.
    let c = one(
        "TimestampConverter$Value",
        &[
            ("field", "ts"),
            ("target.type", "string"),
            ("format", "yyyyMMdd"),
        ],
    );
    assert_eq!(
        value_json(&run(&c, schemaless()).unwrap()).unwrap()["ts"],
        "20240309"
    );
    let c = one(
        "TimestampConverter$Value",
        &[
            ("target.type", "Timestamp"),
            ("format", "yyyy-MM-dd'T'HH:mm:ss.SSSX"),
        ],
    );
    let mut r = schemaless();
    r.value = Some(Value::from("2024-03-09T00:48:16.007Z"));
    assert_eq!(run(&c, r).unwrap().value, Some(Value::Int64(CREATED)));

    // Whole value with a schema.
    let c = one(
        "TimestampConverter$Key",
        &[("target.type", "unix"), ("unix.precision", "microseconds")],
    );
    let mut r = record();
    r.key_schema = Some(Arc::new(logical::timestamp_builder().build().unwrap()));
    r.key = Some(Value::Int64(CREATED));
    let out = run(&c, r).unwrap();
    assert_eq!(out.key, Some(Value::Int64(CREATED * 1000)));
    assert_eq!(out.key_schema.unwrap().schema_type(), SchemaType::Int64);

    assert_eq!(
        config_key("TimestampConverter$Value", &[("target.type", "string")]),
        "transforms.t.format"
    );
    assert_eq!(
        config_key("TimestampConverter$Value", &[("target.type", "date")]),
        "transforms.t.target.type"
    );
    assert_eq!(
        config_key(
            "TimestampConverter$Value",
            &[("target.type", "unix"), ("unix.precision", "hours")]
        ),
        "transforms.t.unix.precision"
    );
}

#[test]
fn set_schema_metadata() {
    let c = one(
        "SetSchemaMetadata$Value",
        &[("schema.name", "com.acme.Order"), ("schema.version", "3")],
    );
    let out = run(&c, record()).unwrap();
    let s = out.value_schema.as_ref().unwrap();
    assert_eq!((s.name(), s.version()), (Some("com.acme.Order"), Some(3)));
    assert_eq!(value_json(&out), value_json(&record()));
    assert_eq!(run(&c, tombstone()), Some(tombstone()));
    assert!(c.apply(schemaless()).is_err());
    assert_eq!(
        config_key("SetSchemaMetadata$Value", &[("schema.version", "x")]),
        "transforms.t.schema.version"
    );
}

#[test]
fn header_transforms() {
    let c = one(
        "InsertHeader",
        &[("header", "source"), ("value.literal", "42")],
    );
    let out = run(&c, record()).unwrap();
    let h = out.headers.last_with_name("source").unwrap();
    assert_eq!(
        (h.value.clone(), h.schema.as_ref().map(|s| s.schema_type())),
        (Some(Value::Int8(42)), Some(SchemaType::Int8))
    );
    let c = one(
        "InsertHeader",
        &[("header", "source"), ("value.literal", "pg main")],
    );
    assert_eq!(headers(&run(&c, record()).unwrap()), ["source=\"pg main\""]);

    let mut r = record();
    r.headers.add("a", None, Some(Value::from("1")));
    r.headers.add("b", None, Some(Value::from("2")));
    r.headers.add("a", None, Some(Value::from("3")));
    let c = one("DropHeaders", &[("headers", "a,c")]);
    assert_eq!(headers(&run(&c, r).unwrap()), ["b=\"2\""]);

    let c = one(
        "HeaderFrom$Value",
        &[
            ("fields", "id,name"),
            ("headers", "order_id,order_name"),
            ("operation", "move"),
        ],
    );
    let out = run(&c, record()).unwrap();
    assert_eq!(headers(&out), ["order_id=7", "order_name=\"pen\""]);
    assert!(!field_names(&out).contains(&"id".to_string()));
    let c = one(
        "HeaderFrom$Value",
        &[("fields", "name"), ("headers", "n"), ("operation", "copy")],
    );
    let out = run(&c, schemaless()).unwrap();
    assert_eq!(headers(&out), ["n=\"pen\""]);
    assert_eq!(value_json(&out).unwrap()["name"], "pen");
    assert_eq!(
        config_key(
            "HeaderFrom$Value",
            &[("fields", "a,b"), ("headers", "x"), ("operation", "copy")]
        ),
        "transforms.t.headers"
    );
    assert_eq!(
        config_key(
            "HeaderFrom$Value",
            &[("fields", "a"), ("headers", "x"), ("operation", "cut")]
        ),
        "transforms.t.operation"
    );
}

#[test]
fn chained_after_unwrap() {
    // The usual sink-friendly chain: unwrap, then rename and route.
    let mut t = Table::customers();
    let c = chain(&[
        ("transforms", "unwrap,rename,route,key"),
        (
            "transforms.unwrap.type",
            "io.debezium.transforms.ExtractNewRecordState",
        ),
        (
            "transforms.rename.type",
            "org.apache.kafka.connect.transforms.ReplaceField$Value",
        ),
        ("transforms.rename.renames", "name:full_name"),
        (
            "transforms.route.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.route.regex", ".*\\.(.*)"),
        ("transforms.route.replacement", "sink_$1"),
        (
            "transforms.key.type",
            "org.apache.kafka.connect.transforms.ExtractField$Key",
        ),
        ("transforms.key.field", "id"),
    ]);
    let out = run(&c, t.insert(&[Some("5"), Some("Eve"), None])).unwrap();
    assert_eq!(&*out.topic, "sink_customers");
    assert_eq!(out.key, Some(Value::Int32(5)));
    assert_eq!(
        value_json(&out),
        Some(json!({"id": 5, "full_name": "Eve", "email": null}))
    );
}
