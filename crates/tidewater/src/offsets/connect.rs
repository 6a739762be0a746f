//! Kafka Connect's offset record content for Debezium's PostgreSQL connector: the key
//! `["<connector>",{"server":"<topic.prefix>"}]` and the value object.

use serde_json::{Map, Value};
use tidewater_pgoutput::Lsn;

use super::{OffsetError, SnapshotState, SourceOffset};

/// `lsn`: the position (Debezium: of the last event emitted).
pub(crate) const LSN: &str = "lsn";
/// `lsn_proc`: Debezium's last completely processed position.
pub(crate) const LSN_PROC: &str = "lsn_proc";
/// `lsn_commit`: the end of the last transaction processed.
pub(crate) const LSN_COMMIT: &str = "lsn_commit";
/// `txId`.
pub(crate) const TX_ID: &str = "txId";
/// `ts_usec`.
pub(crate) const TS_USEC: &str = "ts_usec";
/// `snapshot`: `true` (Debezium up to 2.5, and what Tidewater writes) or a snapshot type
/// (`INITIAL`, `BLOCKING`, `INCREMENTAL`; Debezium 2.6 and later).
pub(crate) const SNAPSHOT: &str = "snapshot";
/// `last_snapshot_record`: Debezium up to 2.5 marks the snapshot's last record with it.
pub(crate) const LAST_SNAPSHOT_RECORD: &str = "last_snapshot_record";
/// `snapshot_completed`: Debezium 2.6 and later.
pub(crate) const SNAPSHOT_COMPLETED: &str = "snapshot_completed";
/// Tidewater's own field: snapshot rows delivered so far.
pub(crate) const ROWS_DELIVERED: &str = "tidewater.snapshot_rows_delivered";

/// The offset record key of connector `connector_name` whose `topic.prefix` (Debezium's
/// logical server name) is `topic_prefix`, as Kafka Connect writes it:
/// `["<connector_name>",{"server":"<topic_prefix>"}]`.
///
/// ```
/// use tidewater::offsets::offset_key;
/// assert_eq!(
///     offset_key("inventory-connector", "dbserver1"),
///     br#"["inventory-connector",{"server":"dbserver1"}]"#
/// );
/// ```
pub fn offset_key(connector_name: &str, topic_prefix: &str) -> Vec<u8> {
    key_value(connector_name, topic_prefix)
        .to_string()
        .into_bytes()
}

fn key_value(connector_name: &str, topic_prefix: &str) -> Value {
    let mut partition = Map::new();
    partition.insert("server".to_owned(), Value::String(topic_prefix.to_owned()));
    Value::Array(vec![
        Value::String(connector_name.to_owned()),
        Value::Object(partition),
    ])
}

/// Whether `key` (an offset record key, parsed) is the one of this connector. Compared as
/// JSON, so spacing and key order do not matter.
pub(crate) fn key_matches(key: &Value, connector_name: &str, topic_prefix: &str) -> bool {
    *key == key_value(connector_name, topic_prefix)
}

/// The key as a JSON value (for the file store).
pub(crate) fn key_json(connector_name: &str, topic_prefix: &str) -> Value {
    key_value(connector_name, topic_prefix)
}

impl SourceOffset {
    /// The offset record value, as a JSON object with Debezium's keys (see the
    /// [module documentation](super) for the mapping).
    pub fn to_connect_value(&self) -> Value {
        let mut map = Map::new();
        map.insert(LSN.to_owned(), Value::from(self.lsn.value()));
        map.insert(LSN_PROC.to_owned(), Value::from(self.lsn.value()));
        if let Some(commit) = self.lsn_commit {
            map.insert(LSN_COMMIT.to_owned(), Value::from(commit.value()));
        }
        if let Some(tx_id) = self.tx_id {
            map.insert(TX_ID.to_owned(), Value::from(tx_id));
        }
        if let Some(ts) = self.ts_usec {
            map.insert(TS_USEC.to_owned(), Value::from(ts));
        }
        match self.snapshot {
            SnapshotState::None => {}
            SnapshotState::InProgress { rows_delivered } => {
                map.insert(SNAPSHOT.to_owned(), Value::Bool(true));
                map.insert(LAST_SNAPSHOT_RECORD.to_owned(), Value::Bool(false));
                map.insert(SNAPSHOT_COMPLETED.to_owned(), Value::Bool(false));
                map.insert(ROWS_DELIVERED.to_owned(), Value::from(rows_delivered));
            }
            SnapshotState::Completed => {
                map.insert(SNAPSHOT_COMPLETED.to_owned(), Value::Bool(true));
            }
        }
        Value::Object(map)
    }

    /// The offset record value as Kafka Connect stores it: compact JSON bytes.
    pub fn to_connect_json(&self) -> Vec<u8> {
        self.to_connect_value().to_string().into_bytes()
    }

    /// Reads an offset record value written by Tidewater or by Debezium's PostgreSQL
    /// connector. Fields Tidewater does not use (`lsn_proc`, `xmin`, `messageType`,
    /// `transaction_*`, `incremental_snapshot_*`, …) are ignored.
    ///
    /// Fails with [`OffsetError::Malformed`] when the value is not a JSON object, `lsn` is
    /// missing, or a known field has a value of the wrong kind.
    pub fn from_connect_value(value: &Value) -> Result<Self, OffsetError> {
        Self::parse_connect_value(value).map_err(|reason| OffsetError::Malformed {
            location: "offset value".to_owned(),
            reason,
        })
    }

    /// [`from_connect_value`](Self::from_connect_value) of JSON bytes.
    pub fn from_connect_json(bytes: &[u8]) -> Result<Self, OffsetError> {
        Self::parse_connect_json(bytes).map_err(|reason| OffsetError::Malformed {
            location: "offset value".to_owned(),
            reason,
        })
    }

    pub(crate) fn parse_connect_json(bytes: &[u8]) -> Result<Self, String> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        Self::parse_connect_value(&value)
    }

    pub(crate) fn parse_connect_value(value: &Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err(format!("expected a JSON object, found {}", kind(value)));
        };
        let lsn = read_lsn(map, LSN)?.ok_or_else(|| format!("missing `{LSN}`"))?;
        let lsn_commit = read_lsn(map, LSN_COMMIT)?;
        let tx_id = read_u64(map, TX_ID)?.map(low_32_bits);
        let ts_usec = read_i64(map, TS_USEC)?;
        let snapshot = read_snapshot(map)?;
        Ok(Self {
            lsn,
            lsn_commit,
            tx_id,
            ts_usec,
            snapshot,
        })
    }
}

/// Debezium writes `txId` from `txid_current()` at start-up, a 64-bit transaction id whose
/// high half is the epoch; the transaction id proper is the low half (PostgreSQL's
/// `xid8` to `xid`).
fn low_32_bits(v: u64) -> u32 {
    u32::try_from(v & u64::from(u32::MAX)).unwrap_or(u32::MAX)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A field that is absent or null reads as `None`.
fn field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

fn read_u64(map: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    let Some(value) = field(map, key) else {
        return Ok(None);
    };
    let bad = || format!("`{key}` must be an unsigned integer, found {value}");
    match value {
        Value::Number(n) => n.as_u64().map(Some).ok_or_else(bad),
        Value::String(s) => s.trim().parse::<u64>().map(Some).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn read_i64(map: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    let Some(value) = field(map, key) else {
        return Ok(None);
    };
    let bad = || format!("`{key}` must be an integer, found {value}");
    match value {
        Value::Number(n) => n.as_i64().map(Some).ok_or_else(bad),
        Value::String(s) => s.trim().parse::<i64>().map(Some).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// An LSN: a number (what Debezium writes), a decimal string, or PostgreSQL's `X/Y` text.
fn read_lsn(map: &Map<String, Value>, key: &str) -> Result<Option<Lsn>, String> {
    let Some(value) = field(map, key) else {
        return Ok(None);
    };
    let bad = || format!("`{key}` must be a WAL position (a number or X/Y), found {value}");
    match value {
        Value::Number(n) => n.as_u64().map(|v| Some(Lsn::new(v))).ok_or_else(bad),
        Value::String(s) => {
            let s = s.trim();
            if s.contains('/') {
                s.parse::<Lsn>().map(Some).map_err(|_| bad())
            } else {
                s.parse::<u64>()
                    .map(|v| Some(Lsn::new(v)))
                    .map_err(|_| bad())
            }
        }
        _ => Err(bad()),
    }
}

/// A flag: a boolean or the text `true`/`false` (Debezium accepts both).
fn read_flag(map: &Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    let Some(value) = field(map, key) else {
        return Ok(None);
    };
    match value {
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        _ => Err(format!("`{key}` must be true or false, found {value}")),
    }
}

/// What `snapshot` says: Debezium up to 2.5 writes `true`; later versions write the
/// snapshot's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SnapshotField {
    Absent,
    /// `false`.
    No,
    /// `true`, `INITIAL` or `BLOCKING`: a snapshot of the tables' contents.
    Running,
    /// `INCREMENTAL`: Debezium's signal-driven incremental snapshot, beside streaming.
    Incremental,
}

fn read_snapshot(map: &Map<String, Value>) -> Result<SnapshotState, String> {
    let snapshot = match field(map, SNAPSHOT) {
        None => SnapshotField::Absent,
        Some(Value::Bool(true)) => SnapshotField::Running,
        Some(Value::Bool(false)) => SnapshotField::No,
        Some(Value::String(s)) => match s.trim().to_ascii_uppercase().as_str() {
            "TRUE" | "INITIAL" | "BLOCKING" => SnapshotField::Running,
            "FALSE" => SnapshotField::No,
            "INCREMENTAL" => SnapshotField::Incremental,
            _ => {
                return Err(format!(
                    "`{SNAPSHOT}` must be true, false, INITIAL, BLOCKING or INCREMENTAL, found {s:?}"
                ));
            }
        },
        Some(other) => {
            return Err(format!(
                "`{SNAPSHOT}` must be a boolean or a snapshot type, found {other}"
            ));
        }
    };
    let completed = read_flag(map, SNAPSHOT_COMPLETED)?;
    let last_record = read_flag(map, LAST_SNAPSHOT_RECORD)?;
    let rows_delivered = read_u64(map, ROWS_DELIVERED)?;
    if completed == Some(true) || (snapshot == SnapshotField::Running && last_record == Some(true))
    {
        return Ok(SnapshotState::Completed);
    }
    Ok(match snapshot {
        SnapshotField::Running => SnapshotState::InProgress {
            rows_delivered: rows_delivered.unwrap_or(0),
        },
        SnapshotField::Absent | SnapshotField::No | SnapshotField::Incremental => {
            SnapshotState::None
        }
    })
}
