//! Cross-checks with an independent Kafka client: confluent-kafka (librdkafka) driven through
//! `py/kafka_tool.py` in the project's virtualenv.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::error::{Result, TestkitError};
use crate::util;

/// Environment variable naming the Python interpreter to use instead of `<repo>/.venv`.
pub const PYTHON_ENV: &str = "TIDEWATER_PYTHON";

/// The repository root: two levels above this crate's manifest directory.
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// The Python interpreter with confluent-kafka: `TIDEWATER_PYTHON` when set, else
/// `<repo>/.venv/bin/python`.
///
/// Fails, telling to run `scripts/setup.sh`, when it does not exist.
pub fn python() -> Result<PathBuf> {
    let path = match std::env::var_os(PYTHON_ENV).filter(|v| !v.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => repo_root().join(".venv").join("bin").join("python"),
    };
    if util::is_executable(&path) {
        Ok(path)
    } else {
        Err(TestkitError::NotFound {
            what: format!("Python virtualenv interpreter {}", path.display()),
            hint: "run scripts/setup.sh (creates <repo>/.venv with confluent-kafka)".to_owned(),
        })
    }
}

/// Path of the `kafka_tool.py` script (see its docstring for the command-line interface).
pub fn kafka_tool_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("py")
        .join("kafka_tool.py")
}

/// A record for [`kafka_produce`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct ProduceRecord {
    /// Target topic.
    pub topic: String,
    /// Key; `None` is a Kafka null key.
    pub key: Option<Vec<u8>>,
    /// Value; `None` is a Kafka null value (a tombstone).
    pub value: Option<Vec<u8>>,
    /// Headers in order; a `None` value is a null header value.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Target partition; `None` lets the client's partitioner choose.
    pub partition: Option<i32>,
    /// Create timestamp in milliseconds since the Unix epoch; `None` for "now".
    pub timestamp_ms: Option<i64>,
}

impl ProduceRecord {
    /// A record for `topic` with null key and value and no headers.
    pub fn new(topic: impl Into<String>) -> Self {
        Self {
            topic: topic.into(),
            ..Self::default()
        }
    }

    /// Sets the key.
    pub fn key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the value.
    pub fn value(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Appends a header.
    pub fn header(mut self, name: impl Into<String>, value: Option<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value));
        self
    }

    /// Sets the partition.
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Sets the timestamp (milliseconds since the Unix epoch).
    pub fn timestamp_ms(mut self, timestamp_ms: i64) -> Self {
        self.timestamp_ms = Some(timestamp_ms);
        self
    }

    fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("topic".to_owned(), Value::String(self.topic.clone()));
        obj.insert("key".to_owned(), bytes_to_json(self.key.as_deref()));
        obj.insert("value".to_owned(), bytes_to_json(self.value.as_deref()));
        let headers = self
            .headers
            .iter()
            .map(|(name, value)| json!([name, bytes_to_json(value.as_deref())]))
            .collect();
        obj.insert("headers".to_owned(), Value::Array(headers));
        if let Some(partition) = self.partition {
            obj.insert("partition".to_owned(), json!(partition));
        }
        if let Some(ts) = self.timestamp_ms {
            obj.insert("timestamp".to_owned(), json!(ts));
        }
        Value::Object(obj)
    }
}

/// Where [`kafka_produce`] delivered a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
}

/// A record read by [`kafka_consume`], bytes exactly as stored by the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
    /// Key; `None` for a null key.
    pub key: Option<Vec<u8>>,
    /// Value; `None` for a null value.
    pub value: Option<Vec<u8>>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Timestamp in milliseconds since the Unix epoch, when available.
    pub timestamp_ms: Option<i64>,
    /// `"create"` or `"log_append"`, when a timestamp is available.
    pub timestamp_type: Option<String>,
}

impl ConsumedRecord {
    /// The value as UTF-8 text, if it is.
    pub fn value_str(&self) -> Option<&str> {
        self.value
            .as_deref()
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The key as UTF-8 text, if it is.
    pub fn key_str(&self) -> Option<&str> {
        self.key
            .as_deref()
            .and_then(|k| std::str::from_utf8(k).ok())
    }

    fn from_json(value: &Value) -> Result<Self> {
        let bad = || TestkitError::Parse(format!("kafka_tool.py consume printed {value}"));
        let obj = value.as_object().ok_or_else(bad)?;
        let headers = match obj.get("headers") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(pairs)) => pairs
                .iter()
                .map(|pair| match pair.as_array().map(Vec::as_slice) {
                    Some([Value::String(name), value]) => {
                        Ok((name.clone(), bytes_from_json(value)?))
                    }
                    _ => Err(bad()),
                })
                .collect::<Result<_>>()?,
            Some(_) => return Err(bad()),
        };
        Ok(Self {
            topic: obj
                .get("topic")
                .and_then(Value::as_str)
                .ok_or_else(bad)?
                .to_owned(),
            partition: obj
                .get("partition")
                .and_then(Value::as_i64)
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(bad)?,
            offset: obj.get("offset").and_then(Value::as_i64).ok_or_else(bad)?,
            key: bytes_from_json(obj.get("key").unwrap_or(&Value::Null))?,
            value: bytes_from_json(obj.get("value").unwrap_or(&Value::Null))?,
            headers,
            timestamp_ms: obj.get("timestamp").and_then(Value::as_i64),
            timestamp_type: obj
                .get("timestamp_type")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

/// Bytes as the tool's JSON form: text when valid UTF-8, else `{"hex": ...}`.
fn bytes_to_json(bytes: Option<&[u8]>) -> Value {
    match bytes {
        None => Value::Null,
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => Value::String(text.to_owned()),
            Err(_) => json!({ "hex": util::encode_hex(bytes) }),
        },
    }
}

fn bytes_from_json(value: &Value) -> Result<Option<Vec<u8>>> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text.as_bytes().to_vec())),
        Value::Object(obj) => match obj.get("hex").and_then(Value::as_str) {
            Some(hex) if obj.len() == 1 => util::decode_hex(hex).map(Some),
            _ => Err(TestkitError::Parse(format!(
                "expected {{\"hex\": ...}} bytes, got {value}"
            ))),
        },
        _ => Err(TestkitError::Parse(format!(
            "expected bytes in JSON, got {value}"
        ))),
    }
}

fn tool(bootstrap: &str, subcommand: &str) -> Result<Command> {
    let mut cmd = Command::new(python()?);
    cmd.arg(kafka_tool_script())
        .args(["--bootstrap", bootstrap, subcommand])
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    Ok(cmd)
}

fn json_lines(stdout: &[u8]) -> Result<Vec<Value>> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).map_err(|e| {
                TestkitError::Parse(format!("kafka_tool.py printed {line:?} (not JSON: {e})"))
            })
        })
        .collect()
}

/// Produces `records` with confluent-kafka (`acks=all`) and returns where each landed, in
/// order. Fails if any record was not delivered.
pub fn kafka_produce(bootstrap: &str, records: &[ProduceRecord]) -> Result<Vec<Delivery>> {
    let mut input = String::new();
    for record in records {
        input.push_str(&record.to_json().to_string());
        input.push('\n');
    }
    let output = util::run_with_input(&mut tool(bootstrap, "produce")?, Some(input.as_bytes()))?;
    json_lines(&output.stdout)?
        .iter()
        .map(|line| {
            let bad = || TestkitError::Parse(format!("kafka_tool.py produce printed {line}"));
            Ok(Delivery {
                topic: line
                    .get("topic")
                    .and_then(Value::as_str)
                    .ok_or_else(bad)?
                    .to_owned(),
                partition: line
                    .get("partition")
                    .and_then(Value::as_i64)
                    .and_then(|p| i32::try_from(p).ok())
                    .ok_or_else(bad)?,
                offset: line.get("offset").and_then(Value::as_i64).ok_or_else(bad)?,
            })
        })
        .collect()
}

/// Reads `topic` from the beginning with confluent-kafka (all partitions, no offsets
/// committed), stopping after `max` records or after `timeout`, whichever comes first.
///
/// Returns what was read, possibly fewer than `max` records: compare the length.
pub fn kafka_consume(
    bootstrap: &str,
    topic: &str,
    max: usize,
    timeout: Duration,
) -> Result<Vec<ConsumedRecord>> {
    let mut cmd = tool(bootstrap, "consume")?;
    cmd.args(["--topic", topic, "--from-beginning", "--bytes", "hex"])
        .args(["--max", &max.to_string()])
        .args(["--timeout", &format!("{:.3}", timeout.as_secs_f64())]);
    let output = util::run(&mut cmd)?;
    json_lines(&output.stdout)?
        .iter()
        .map(ConsumedRecord::from_json)
        .collect()
}

/// Creates `topic` with `partitions` partitions (replication factor 1).
pub fn kafka_create_topic(bootstrap: &str, topic: &str, partitions: u32) -> Result<()> {
    let mut cmd = tool(bootstrap, "create-topic")?;
    cmd.args(["--topic", topic, "--partitions", &partitions.to_string()]);
    util::run(&mut cmd).map(drop)
}

/// Lists topic names, sorted.
pub fn kafka_list_topics(bootstrap: &str) -> Result<Vec<String>> {
    let output = util::run(&mut tool(bootstrap, "list-topics")?)?;
    json_lines(&output.stdout)?
        .iter()
        .map(|line| {
            line.get("topic")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| TestkitError::Parse(format!("kafka_tool.py printed {line}")))
        })
        .collect()
}

/// The configs of `topic` as librdkafka's `describe_configs` reports them: name → value
/// (tansu lists the configs the topic was created with).
pub fn kafka_topic_configs(
    bootstrap: &str,
    topic: &str,
) -> Result<std::collections::BTreeMap<String, String>> {
    let mut cmd = tool(bootstrap, "topic-configs")?;
    cmd.args(["--topic", topic]);
    let output = util::run(&mut cmd)?;
    json_lines(&output.stdout)?
        .iter()
        .map(|line| {
            let field = |key: &str| line.get(key).and_then(Value::as_str).map(str::to_owned);
            match (field("name"), field("value")) {
                (Some(name), Some(value)) => Ok((name, value)),
                _ => Err(TestkitError::Parse(format!("kafka_tool.py printed {line}"))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn bytes_json_round_trip() {
        for bytes in [&b"plain"[..], &[0xff, 0x00, 0x80][..], &[][..]] {
            assert_eq!(
                bytes_from_json(&bytes_to_json(Some(bytes))).unwrap(),
                Some(bytes.to_vec())
            );
        }
        assert_eq!(bytes_from_json(&bytes_to_json(None)).unwrap(), None);
    }

    #[test]
    fn parses_consumed_record() {
        let line = json!({
            "topic": "t", "partition": 0, "offset": 7,
            "key": {"hex": "6b"}, "value": null,
            "headers": [["h", {"hex": "00ff"}], ["n", null]],
            "timestamp": 1_700_000_000_000_i64, "timestamp_type": "create"
        });
        let record = ConsumedRecord::from_json(&line).unwrap();
        assert_eq!(record.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(record.value, None);
        assert_eq!(
            record.headers,
            vec![
                ("h".to_owned(), Some(vec![0, 0xff])),
                ("n".to_owned(), None)
            ]
        );
        assert_eq!(record.offset, 7);
    }

    #[test]
    fn repo_root_holds_the_workspace() {
        assert!(repo_root().join("Cargo.toml").exists());
        assert!(kafka_tool_script().exists());
    }
}
