//! Offset stores: Kafka Connect's format for Debezium's PostgreSQL connector, each store's
//! round trip, the file store's atomic replacement and corrupt-file errors, and the Kafka
//! store against a real broker (tansu, started by the test kit) with the records read back
//! by librdkafka. Tests needing the broker fail, never skip, when it is missing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "tests panic on unexpected results by design"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};
use tidewater::offsets::{
    AnyOffsetStore, FileOffsetStore, KafkaOffsetStore, MemoryOffsetStore, OffsetError, OffsetStore,
    SnapshotState, SourceOffset, offset_key,
};
use tidewater::pgoutput::Lsn;
use tidewater::postgres::PriorSnapshot;
use tidewater::settings::OffsetStorage;
use tidewater_kafka::ProducerConfig;
use tidewater_kafka::partitioner::partition_for_key;
use tidewater_testkit::{
    Broker, ProduceRecord, kafka_consume, kafka_create_topic, kafka_produce, kafka_topic_configs,
};

const NAME: &str = "inventory-connector";
const PREFIX: &str = "dbserver1";

fn offset(lsn: u64, snapshot: SnapshotState) -> SourceOffset {
    let mut o = SourceOffset::new(Lsn::new(lsn));
    o.lsn_commit = Some(Lsn::new(lsn));
    o.tx_id = Some(771);
    o.ts_usec = Some(1_700_000_000_123_456);
    o.snapshot = snapshot;
    o
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

// ---------------------------------------------------------------------------------------
// Format
// ---------------------------------------------------------------------------------------

#[test]
fn key_is_kafka_connects() {
    assert_eq!(
        offset_key(NAME, PREFIX),
        br#"["inventory-connector",{"server":"dbserver1"}]"#
    );
    // Names needing JSON escapes stay valid JSON with the same strings.
    let key = offset_key("a \"quoted\" \\ name", "pre\nfix");
    assert_eq!(
        json_of(&key),
        json!(["a \"quoted\" \\ name", {"server": "pre\nfix"}])
    );
}

#[test]
fn value_fields_follow_debezium() {
    let streaming = offset(0x16_B374_D848, SnapshotState::None);
    assert_eq!(
        json_of(&streaming.to_connect_json()),
        json!({
            "lsn": 0x16_B374_D848_u64,
            "lsn_proc": 0x16_B374_D848_u64,
            "lsn_commit": 0x16_B374_D848_u64,
            "txId": 771,
            "ts_usec": 1_700_000_000_123_456_i64,
        })
    );
    let running = offset(100, SnapshotState::InProgress { rows_delivered: 42 });
    let value = json_of(&running.to_connect_json());
    assert_eq!(value["snapshot"], json!(true));
    assert_eq!(value["last_snapshot_record"], json!(false));
    assert_eq!(value["snapshot_completed"], json!(false));
    assert_eq!(value["tidewater.snapshot_rows_delivered"], json!(42));
    let done = offset(100, SnapshotState::Completed);
    let value = json_of(&done.to_connect_json());
    assert_eq!(value["snapshot_completed"], json!(true));
    assert!(value.get("snapshot").is_none(), "{value}");
    // Unset optional fields are left out, not written as null.
    let bare = SourceOffset::new(Lsn::new(7));
    assert_eq!(
        json_of(&bare.to_connect_json()),
        json!({"lsn": 7, "lsn_proc": 7})
    );
}

#[test]
fn prior_snapshot_follows_the_snapshot_state() {
    let cases = [
        (SnapshotState::None, PriorSnapshot::Unknown),
        (
            SnapshotState::InProgress { rows_delivered: 3 },
            PriorSnapshot::Incomplete,
        ),
        (SnapshotState::Completed, PriorSnapshot::Completed),
    ];
    for (state, prior) in cases {
        assert_eq!(offset(1, state).prior_snapshot(), prior, "{state:?}");
    }
}

/// Offsets as Debezium's PostgreSQL connector writes them (values seen in Kafka Connect's
/// offsets topic), with what they mean.
fn debezium_offsets() -> Vec<(&'static str, &'static str, SourceOffset)> {
    let mut v = Vec::new();
    // Debezium 1.x/2.0 during the initial snapshot.
    let mut o = SourceOffset::new(Lsn::new(63_552_100_632));
    o.tx_id = Some(1618);
    o.ts_usec = Some(1_666_267_991_774_697);
    o.snapshot = SnapshotState::InProgress { rows_delivered: 0 };
    v.push((
        "snapshot running (2.0)",
        r#"{"last_snapshot_record":false,"lsn":63552100632,"txId":1618,"ts_usec":1666267991774697,"snapshot":true}"#,
        o.clone(),
    ));
    // Its last snapshot record.
    o.snapshot = SnapshotState::Completed;
    v.push((
        "last snapshot record (2.0)",
        r#"{"last_snapshot_record":true,"lsn":63552100632,"txId":1618,"ts_usec":1666267991774697,"snapshot":true}"#,
        o,
    ));
    // Streaming, with transaction metadata fields.
    let mut o = SourceOffset::new(Lsn::new(63_619_219_552));
    o.lsn_commit = Some(Lsn::new(63_619_219_552));
    o.tx_id = Some(1650);
    o.ts_usec = Some(1_666_268_220_374_889);
    v.push((
        "streaming (2.0)",
        r#"{"transaction_id":null,"lsn_proc":63619219552,"lsn_commit":63619219552,"lsn":63619219552,"txId":1650,"ts_usec":1666268220374889}"#,
        o,
    ));
    // Streaming in the middle of a transaction, later versions' extra fields.
    let mut o = SourceOffset::new(Lsn::new(24_197_384));
    o.lsn_commit = Some(Lsn::new(24_197_128));
    o.tx_id = Some(745);
    o.ts_usec = Some(1_712_345_678_901_234);
    v.push((
        "streaming (3.x)",
        r#"{"lsn_proc":24197384,"messageType":"UPDATE","lsn_commit":24197128,"lsn":24197384,"txId":745,"ts_usec":1712345678901234,"lsn_events_processed":2,"transaction_id":"745:24197128","transaction_data_collection_order_public.orders":1,"transaction_event_order":1,"incremental_snapshot_correlation_id":null}"#,
        o,
    ));
    // Debezium 2.6+ during the initial snapshot: the snapshot type as text.
    let mut o = SourceOffset::new(Lsn::new(26_000_000));
    o.tx_id = Some(760);
    o.ts_usec = Some(1_712_345_600_000_000);
    o.snapshot = SnapshotState::InProgress { rows_delivered: 0 };
    v.push((
        "snapshot running (2.6+)",
        r#"{"lsn":26000000,"txId":760,"ts_usec":1712345600000000,"snapshot":"INITIAL","snapshot_completed":false}"#,
        o.clone(),
    ));
    // Debezium 2.6+ once the snapshot completed.
    o.snapshot = SnapshotState::Completed;
    v.push((
        "snapshot completed (2.6+)",
        r#"{"lsn":26000000,"txId":760,"ts_usec":1712345600000000,"snapshot":"INITIAL","snapshot_completed":true}"#,
        o,
    ));
    // The initial offset: txId from txid_current(), epoch in the high half.
    let mut o = SourceOffset::new(Lsn::new(22_000_000));
    o.tx_id = Some(5);
    o.ts_usec = Some(1_712_000_000_000_000);
    v.push((
        "64-bit txId",
        r#"{"lsn":22000000,"txId":4294967301,"ts_usec":1712000000000000}"#,
        o,
    ));
    // An incremental snapshot runs beside streaming: not an initial snapshot.
    let mut o = SourceOffset::new(Lsn::new(27_000_000));
    o.lsn_commit = Some(Lsn::new(27_000_000));
    v.push((
        "incremental snapshot",
        r#"{"lsn":27000000,"lsn_commit":27000000,"snapshot":"INCREMENTAL","incremental_snapshot_collections":"[]","incremental_snapshot_primary_key":"aced"}"#,
        o,
    ));
    v
}

#[test]
fn debezium_written_values_load() {
    for (what, text, expected) in debezium_offsets() {
        let got = SourceOffset::from_connect_json(text.as_bytes())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(got, expected, "{what}");
    }
}

#[test]
fn lenient_number_forms_load() {
    let got = SourceOffset::from_connect_json(
        br#"{"lsn":"16/B374D848","lsn_commit":"97500059720","txId":"12","ts_usec":"-5","snapshot":"true","snapshot_completed":"false"}"#,
    )
    .unwrap();
    assert_eq!(got.lsn, Lsn::new(0x16_B374_D848));
    assert_eq!(got.lsn_commit, Some(Lsn::new(0x16_B374_D848)));
    assert_eq!(got.tx_id, Some(12));
    assert_eq!(got.ts_usec, Some(-5));
    assert_eq!(
        got.snapshot,
        SnapshotState::InProgress { rows_delivered: 0 }
    );
}

#[test]
fn malformed_values_name_the_field() {
    let cases: &[(&[u8], &str)] = &[
        (b"[1,2]", "expected a JSON object"),
        (b"{\"lsn\":", "not JSON"),
        (br#"{"txId":1}"#, "missing `lsn`"),
        (br#"{"lsn":-1}"#, "`lsn`"),
        (br#"{"lsn":1.5}"#, "`lsn`"),
        (br#"{"lsn":"zz/1"}"#, "`lsn`"),
        (br#"{"lsn":1,"lsn_commit":true}"#, "`lsn_commit`"),
        (br#"{"lsn":1,"txId":-3}"#, "`txId`"),
        (br#"{"lsn":1,"ts_usec":{}}"#, "`ts_usec`"),
        (br#"{"lsn":1,"snapshot":"SOMETIMES"}"#, "`snapshot`"),
        (br#"{"lsn":1,"snapshot":7}"#, "`snapshot`"),
        (
            br#"{"lsn":1,"snapshot_completed":"yes"}"#,
            "`snapshot_completed`",
        ),
        (
            br#"{"lsn":1,"last_snapshot_record":1}"#,
            "`last_snapshot_record`",
        ),
        (
            br#"{"lsn":1,"snapshot":true,"tidewater.snapshot_rows_delivered":"many"}"#,
            "`tidewater.snapshot_rows_delivered`",
        ),
    ];
    for (bytes, needle) in cases {
        let err = SourceOffset::from_connect_json(bytes).unwrap_err();
        let OffsetError::Malformed { location, reason } = &err else {
            panic!("{}: {err:?}", String::from_utf8_lossy(bytes));
        };
        assert_eq!(location, "offset value");
        assert!(
            reason.contains(needle),
            "{}: {reason:?} lacks {needle:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

fn arb_offset() -> impl Strategy<Value = SourceOffset> {
    let snapshot = prop_oneof![
        Just(SnapshotState::None),
        any::<u64>().prop_map(|rows_delivered| SnapshotState::InProgress { rows_delivered }),
        Just(SnapshotState::Completed),
    ];
    (
        any::<u64>(),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<i64>()),
        snapshot,
    )
        .prop_map(|(lsn, commit, tx_id, ts_usec, snapshot)| {
            let mut o = SourceOffset::new(Lsn::new(lsn));
            o.lsn_commit = commit.map(Lsn::new);
            o.tx_id = tx_id;
            o.ts_usec = ts_usec;
            o.snapshot = snapshot;
            o
        })
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-zA-Z0-9/_ ]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("INITIAL"),
            Just("BLOCKING"),
            Just("INCREMENTAL"),
            Just("true"),
            Just("0/16B3748")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        let field = prop_oneof![
            Just("lsn".to_owned()),
            Just("lsn_commit".to_owned()),
            Just("txId".to_owned()),
            Just("ts_usec".to_owned()),
            Just("snapshot".to_owned()),
            Just("snapshot_completed".to_owned()),
            Just("last_snapshot_record".to_owned()),
            Just("tidewater.snapshot_rows_delivered".to_owned()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(field, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn offset_json_roundtrip(o in arb_offset()) {
        let bytes = o.to_connect_json();
        prop_assert_eq!(SourceOffset::from_connect_json(&bytes).unwrap(), o.clone());
        prop_assert_eq!(SourceOffset::from_connect_value(&o.to_connect_value()).unwrap(), o);
    }

    #[test]
    fn arbitrary_values_never_panic(value in arb_json()) {
        match SourceOffset::from_connect_value(&value) {
            Ok(o) => {
                // Whatever loads stores back to something that loads the same.
                prop_assert_eq!(SourceOffset::from_connect_json(&o.to_connect_json()).unwrap(), o);
            }
            Err(OffsetError::Malformed { location, reason }) => {
                prop_assert_eq!(location, "offset value");
                prop_assert!(!reason.is_empty());
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = SourceOffset::from_connect_json(&bytes);
    }
}

// ---------------------------------------------------------------------------------------
// Memory store
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn memory_store_roundtrip() {
    let mut store = MemoryOffsetStore::new();
    assert_eq!(store.load().await.unwrap(), None);
    let first = offset(10, SnapshotState::InProgress { rows_delivered: 5 });
    store.store(&first).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(first));
    let second = offset(20, SnapshotState::Completed);
    store.store(&second).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(second.clone()));
    let observer = store.clone();
    assert_eq!(observer.get(), Some(second.clone()));
    let mut seeded = MemoryOffsetStore::with_offset(second.clone());
    assert_eq!(seeded.load().await.unwrap(), Some(second));
}

// ---------------------------------------------------------------------------------------
// File store
// ---------------------------------------------------------------------------------------

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn file_store_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offsets.jsonl");
    let mut store = FileOffsetStore::new(&path, NAME, PREFIX);
    assert_eq!(store.path(), path);
    assert_eq!(
        store.load().await.unwrap(),
        None,
        "a missing file is no offset"
    );
    assert!(!path.exists(), "load creates nothing");

    let first = offset(
        0x1_0000,
        SnapshotState::InProgress {
            rows_delivered: 999,
        },
    );
    store.store(&first).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(first.clone()));

    // The file is one JSON line: Kafka Connect's key and the offset value.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let line = json_of(text.trim_end().as_bytes());
    assert_eq!(line["key"], json!([NAME, {"server": PREFIX}]));
    assert_eq!(line["value"], first.to_connect_value());

    // A new store on the same file (a restart) sees it.
    let mut reopened = FileOffsetStore::new(&path, NAME, PREFIX);
    assert_eq!(reopened.load().await.unwrap(), Some(first));
    let second = offset(0x2_0000, SnapshotState::Completed);
    reopened.store(&second).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(second));
    assert_eq!(
        dir_entries(dir.path()),
        ["offsets.jsonl"],
        "no temporary file left"
    );
}

#[tokio::test]
async fn file_store_replaces_the_file_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offsets.jsonl");
    let mut store = FileOffsetStore::new(&path, NAME, PREFIX);
    let old = offset(1000, SnapshotState::None);
    store.store(&old).await.unwrap();
    let old_text = std::fs::read_to_string(&path).unwrap();

    // A hard link keeps the old file's inode: were the file rewritten in place, the link
    // would show the new content (or a mix); replaced by rename, it keeps the old one.
    let link = dir.path().join("old-inode");
    std::fs::hard_link(&path, &link).unwrap();
    let new = offset(2000, SnapshotState::None);
    store.store(&new).await.unwrap();
    assert_eq!(std::fs::read_to_string(&link).unwrap(), old_text);
    assert_eq!(store.load().await.unwrap(), Some(new));
    std::fs::remove_file(&link).unwrap();
    assert_eq!(dir_entries(dir.path()), ["offsets.jsonl"]);
}

#[tokio::test]
async fn file_store_keeps_other_connectors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offsets.jsonl");
    let mut ours = FileOffsetStore::new(&path, NAME, PREFIX);
    let mut other_prefix = FileOffsetStore::new(&path, NAME, "dbserver2");
    let mut other_name = FileOffsetStore::new(&path, "billing", PREFIX);
    let a = offset(1, SnapshotState::None);
    let b = offset(2, SnapshotState::Completed);
    let c = offset(3, SnapshotState::InProgress { rows_delivered: 1 });
    ours.store(&a).await.unwrap();
    other_prefix.store(&b).await.unwrap();
    other_name.store(&c).await.unwrap();
    let a2 = offset(4, SnapshotState::None);
    ours.store(&a2).await.unwrap();
    assert_eq!(ours.load().await.unwrap(), Some(a2));
    assert_eq!(other_prefix.load().await.unwrap(), Some(b));
    assert_eq!(other_name.load().await.unwrap(), Some(c));
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 3, "one line per connector:\n{text}");
}

#[tokio::test]
async fn file_store_loads_debezium_written_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offsets.jsonl");
    for (what, value, expected) in debezium_offsets() {
        // Key written with spaces, as another JSON writer might: compared as JSON.
        let line = format!("[\"{NAME}\", {{ \"server\" : \"{PREFIX}\" }}]");
        std::fs::write(
            &path,
            format!("{{\"key\": {line}, \"value\": {value}}}\n\n"),
        )
        .unwrap();
        let mut store = FileOffsetStore::new(&path, NAME, PREFIX);
        assert_eq!(store.load().await.unwrap(), Some(expected), "{what}");
    }
    // A tombstone (null value) is no offset; the last line for the key wins.
    std::fs::write(
        &path,
        format!(
            "{{\"key\":[\"{NAME}\",{{\"server\":\"{PREFIX}\"}}],\"value\":{{\"lsn\":5}}}}\n\
             {{\"key\":[\"{NAME}\",{{\"server\":\"{PREFIX}\"}}],\"value\":null}}\n"
        ),
    )
    .unwrap();
    let mut store = FileOffsetStore::new(&path, NAME, PREFIX);
    assert_eq!(store.load().await.unwrap(), None);
}

/// Loads a file holding `contents`: a `Malformed` error naming the file. When the file's
/// structure is broken, storing fails the same way and leaves the file as it is; when only
/// this connector's value is bad, storing replaces it.
async fn file_error(contents: &[u8], structural: bool) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offsets.jsonl");
    std::fs::write(&path, contents).unwrap();
    let mut store = FileOffsetStore::new(&path, NAME, PREFIX);
    let err = store.load().await.unwrap_err();
    let message = err.to_string();
    let OffsetError::Malformed { location, reason } = err else {
        panic!("expected Malformed, got {err:?}");
    };
    assert!(
        location.starts_with(&path.display().to_string()),
        "{location}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    let fresh = offset(1, SnapshotState::None);
    if structural {
        let err = store.store(&fresh).await.unwrap_err();
        assert!(matches!(err, OffsetError::Malformed { .. }), "{err:?}");
        assert_eq!(std::fs::read(&path).unwrap(), contents, "file untouched");
    } else {
        store.store(&fresh).await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(fresh));
    }
    (location, reason)
}

#[tokio::test]
async fn corrupt_file_is_a_typed_error_naming_file_and_line() {
    let key = format!("[\"{NAME}\",{{\"server\":\"{PREFIX}\"}}]");
    let good = format!("{{\"key\":{key},\"value\":{{\"lsn\":5}}}}\n");
    // (contents, line, reason, structural)
    let cases: Vec<(Vec<u8>, &str, &str, bool)> = vec![
        (b"{\"key\": [\"a\"".to_vec(), "line 1", "not JSON", true),
        (
            format!("{good}garbage\n").into_bytes(),
            "line 2",
            "not JSON",
            true,
        ),
        (b"[1,2]\n".to_vec(), "line 1", "expected an object", true),
        (
            b"{\"value\":{}}\n".to_vec(),
            "line 1",
            "missing \"key\"",
            true,
        ),
        (
            format!("{{\"key\":{key}}}\n").into_bytes(),
            "line 1",
            "missing \"value\"",
            true,
        ),
        (
            b"{\"key\":\"not-an-array\",\"value\":null}\n".to_vec(),
            "line 1",
            "\"key\" must be",
            true,
        ),
        (
            format!("\n{good}{{\"key\":{key},\"value\":{{\"lsn\":\"nope\"}}}}\n").into_bytes(),
            "line 3",
            "`lsn`",
            false,
        ),
        (
            format!("{{\"key\":{key},\"value\":[]}}\n").into_bytes(),
            "line 1",
            "expected a JSON object",
            false,
        ),
        (
            [good.as_bytes(), b"\xff\xfe\n"].concat(),
            "line 2",
            "not UTF-8",
            true,
        ),
    ];
    for (contents, line, needle, structural) in cases {
        let (location, reason) = file_error(&contents, structural).await;
        assert!(
            location.ends_with(line),
            "{}: location {location:?}, expected {line}",
            String::from_utf8_lossy(&contents)
        );
        assert!(
            reason.contains(needle),
            "{}: reason {reason:?} lacks {needle:?}",
            String::from_utf8_lossy(&contents)
        );
    }
}

#[tokio::test]
async fn unwritable_location_is_an_io_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("offsets.jsonl");
    let mut store = FileOffsetStore::new(&path, NAME, PREFIX);
    let err = store
        .store(&offset(1, SnapshotState::None))
        .await
        .unwrap_err();
    let OffsetError::Io {
        path: failed,
        operation,
        ..
    } = &err
    else {
        panic!("expected Io, got {err:?}");
    };
    assert_eq!(*operation, "write");
    assert!(
        failed.starts_with(dir.path().join("missing-dir")),
        "{failed:?}"
    );
    assert!(err.to_string().contains("missing-dir"), "{err}");

    // A directory where the file should be: reading fails with the path.
    let dir_path = dir.path().join("a-directory");
    std::fs::create_dir(&dir_path).unwrap();
    let mut store = FileOffsetStore::new(&dir_path, NAME, PREFIX);
    let err = store.load().await.unwrap_err();
    assert!(
        matches!(&err, OffsetError::Io { path, operation: "read", .. } if *path == dir_path),
        "{err:?}"
    );
}

#[tokio::test]
async fn any_store_from_settings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offsets.jsonl");
    let producer = ProducerConfig::default();
    let mut store =
        AnyOffsetStore::from_settings(&OffsetStorage::File(path.clone()), &producer, NAME, PREFIX)
            .await
            .unwrap();
    assert!(matches!(store, AnyOffsetStore::File(_)));
    let o = offset(77, SnapshotState::Completed);
    store.store(&o).await.unwrap();
    let mut file = FileOffsetStore::new(&path, NAME, PREFIX);
    assert_eq!(file.load().await.unwrap(), Some(o.clone()));

    let mut memory = AnyOffsetStore::from_settings(&OffsetStorage::Memory, &producer, NAME, PREFIX)
        .await
        .unwrap();
    assert!(matches!(memory, AnyOffsetStore::Memory(_)));
    assert_eq!(memory.load().await.unwrap(), None);
    memory.store(&o).await.unwrap();
    assert_eq!(memory.load().await.unwrap(), Some(o));

    // The topic store without brokers: a Kafka error naming the topic.
    let err = AnyOffsetStore::from_settings(
        &OffsetStorage::Topic {
            topic: "connect-offsets".to_owned(),
            partitions: 25,
            replication_factor: 1,
        },
        &producer,
        NAME,
        PREFIX,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, OffsetError::Kafka { topic, .. } if topic == "connect-offsets"),
        "{err:?}"
    );
    assert!(err.to_string().contains("bootstrap.servers"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Kafka store (real broker, records read back with librdkafka)
// ---------------------------------------------------------------------------------------

fn producer(bootstrap: &str) -> ProducerConfig {
    ProducerConfig::from_properties([
        ("bootstrap.servers", bootstrap),
        ("client.id", "tidewater-offsets-test"),
        ("request.timeout.ms", "5000"),
        ("max.block.ms", "15000"),
        ("retry.backoff.ms", "50"),
        ("retry.backoff.max.ms", "500"),
    ])
    .unwrap()
}

fn topic_storage(topic: &str, partitions: i32) -> OffsetStorage {
    OffsetStorage::Topic {
        topic: topic.to_owned(),
        partitions,
        replication_factor: 1,
    }
}

async fn consume(
    bootstrap: &str,
    topic: &str,
    max: usize,
) -> Vec<tidewater_testkit::ConsumedRecord> {
    let (bootstrap, topic) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        kafka_consume(&bootstrap, &topic, max, Duration::from_secs(20)).expect("consume")
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_store_roundtrip_read_back_by_librdkafka() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    let producer = producer(&bootstrap);
    let topic = "connect-offsets";

    let mut store =
        AnyOffsetStore::from_settings(&topic_storage(topic, 5), &producer, NAME, PREFIX)
            .await
            .expect("store connects and creates the topic");
    let AnyOffsetStore::Kafka(kafka) = &store else {
        panic!("expected the Kafka store");
    };
    let key = offset_key(NAME, PREFIX);
    assert_eq!(kafka.key(), key.as_slice());
    assert_eq!(kafka.topic(), topic);
    let partition = kafka.partition();
    assert_eq!(partition, partition_for_key(&key, 5), "murmur2 of the key");
    assert_eq!(store.load().await.unwrap(), None, "empty topic");
    // Created compacted, as Kafka Connect creates its offsets topic.
    assert_eq!(
        {
            let (bootstrap, topic) = (bootstrap.clone(), topic.to_owned());
            tokio::task::spawn_blocking(move || kafka_topic_configs(&bootstrap, &topic))
                .await
                .unwrap()
                .unwrap()
        },
        BTreeMap::from([("cleanup.policy".to_owned(), "compact".to_owned())])
    );

    let first = offset(0x100, SnapshotState::InProgress { rows_delivered: 10 });
    let second = offset(0x200, SnapshotState::Completed);
    store.store(&first).await.unwrap();
    store.store(&second).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(second.clone()));

    // Another connector in the same topic does not disturb this one.
    let mut other = KafkaOffsetStore::connect(&producer, topic, 5, 1, "billing", PREFIX)
        .await
        .unwrap();
    let other_offset = offset(0x999, SnapshotState::None);
    other.store(&other_offset).await.unwrap();

    // A fresh connection (a restart) reads the last record for the key.
    let mut reopened =
        AnyOffsetStore::from_settings(&topic_storage(topic, 5), &producer, NAME, PREFIX)
            .await
            .unwrap();
    assert_eq!(reopened.load().await.unwrap(), Some(second.clone()));
    assert_eq!(other.load().await.unwrap(), Some(other_offset.clone()));

    // librdkafka reads Kafka Connect's bytes.
    let records = consume(&bootstrap, topic, 3).await;
    assert_eq!(records.len(), 3, "{records:?}");
    let ours: Vec<_> = records
        .iter()
        .filter(|r| r.key.as_deref() == Some(key.as_slice()))
        .collect();
    assert_eq!(ours.len(), 2);
    for r in &ours {
        assert_eq!(r.partition, partition);
        assert_eq!(
            r.key_str(),
            Some(r#"["inventory-connector",{"server":"dbserver1"}]"#)
        );
    }
    let mut ours = ours;
    ours.sort_by_key(|r| r.offset);
    assert_eq!(
        ours[0].value.as_deref(),
        Some(first.to_connect_json().as_slice())
    );
    assert_eq!(
        ours[1].value.as_deref(),
        Some(second.to_connect_json().as_slice())
    );
    assert_eq!(
        json_of(ours[1].value.as_deref().unwrap()),
        json!({
            "lsn": 0x200, "lsn_proc": 0x200, "lsn_commit": 0x200, "txId": 771,
            "ts_usec": 1_700_000_000_123_456_i64, "snapshot_completed": true
        })
    );
    let billing = offset_key("billing", PREFIX);
    let theirs = records
        .iter()
        .find(|r| r.key.as_deref() == Some(billing.as_slice()))
        .expect("the other connector's record");
    assert_eq!(theirs.partition, partition_for_key(&billing, 5));
    assert_eq!(
        theirs.value.as_deref(),
        Some(other_offset.to_connect_json().as_slice())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_store_loads_debezium_records_and_tombstones() {
    let broker = Broker::start().expect("tansu starts");
    let bootstrap = broker.bootstrap();
    let producer = producer(&bootstrap);
    let topic = "debezium-offsets";
    // Created beforehand (as with Kafka Connect) with 3 partitions: the store uses the
    // topic's real count, not the configured one.
    {
        let (b, t) = (bootstrap.clone(), topic.to_owned());
        tokio::task::spawn_blocking(move || kafka_create_topic(&b, &t, 3))
            .await
            .unwrap()
            .expect("create topic");
    }
    let key = offset_key(NAME, PREFIX);
    let partition = partition_for_key(&key, 3);
    let mut store = KafkaOffsetStore::connect(&producer, topic, 25, 1, NAME, PREFIX)
        .await
        .unwrap();
    assert_eq!(store.partition(), partition);

    // Records as Kafka Connect writes them for Debezium, produced by librdkafka.
    let produce = |records: Vec<ProduceRecord>| {
        let b = bootstrap.clone();
        tokio::task::spawn_blocking(move || kafka_produce(&b, &records).expect("produce"))
    };
    for (what, value, expected) in debezium_offsets() {
        produce(vec![
            ProduceRecord::new(topic)
                .key(key.clone())
                .value(value.as_bytes().to_vec())
                .partition(partition),
        ])
        .await
        .unwrap();
        assert_eq!(store.load().await.unwrap(), Some(expected), "{what}");
    }

    // A tombstone: no offset.
    produce(vec![
        ProduceRecord::new(topic)
            .key(key.clone())
            .partition(partition),
    ])
    .await
    .unwrap();
    assert_eq!(store.load().await.unwrap(), None);

    // Tidewater writes after it; a malformed value after that is an error naming where.
    let mine = offset(0x300, SnapshotState::None);
    store.store(&mine).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(mine));
    let delivered = produce(vec![
        ProduceRecord::new(topic)
            .key(key.clone())
            .value(b"{\"lsn\":\"x\"}".to_vec())
            .partition(partition),
    ])
    .await
    .unwrap();
    let err = store.load().await.unwrap_err();
    let OffsetError::Malformed { location, reason } = &err else {
        panic!("expected Malformed, got {err:?}");
    };
    assert_eq!(
        *location,
        format!(
            "topic {topic} partition {partition} offset {}",
            delivered[0].offset
        )
    );
    assert!(reason.contains("`lsn`"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_store_unreachable_broker_is_a_kafka_error() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut producer = producer(&format!("127.0.0.1:{port}"));
    producer.max_block = Duration::from_millis(1500);
    producer.request_timeout = Duration::from_millis(1000);
    producer.delivery_timeout = Duration::from_millis(2500);
    let err = KafkaOffsetStore::connect(&producer, "connect-offsets", 25, 1, NAME, PREFIX)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OffsetError::Kafka { topic, .. } if topic == "connect-offsets"),
        "{err:?}"
    );
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}
