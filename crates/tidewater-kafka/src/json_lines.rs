//! [`JsonLinesSink`]: one JSON object per record, on stdout or in a file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::error::{Result, SinkError};
use crate::local::LocalLog;
use crate::record::{Delivery, ProducerRecord, now_millis};
use crate::sink::Sink;

enum Output {
    Stdout,
    File(BufWriter<File>),
    Writer(Box<dyn Write + Send>),
}

/// A [`Sink`] writing each record as one line of JSON: the default sink when no Kafka brokers
/// are configured.
///
/// ```text
/// {"topic":"orders","partition":0,"offset":0,"timestamp":1700000000000,"key":"42","value":"{\"id\":42}","headers":[["source","pg"]]}
/// {"topic":"orders","partition":0,"offset":1,"timestamp":1700000000001,"key":{"base64":"AP8="},"value":null,"headers":[]}
/// ```
///
/// * `key`, `value` and header values are JSON strings when the bytes are valid UTF-8 (the
///   usual case: JSON-serialized records), `{"base64": "..."}` (standard alphabet, padded)
///   otherwise, and `null` for a Kafka null. Headers are `[name, value]` pairs in order.
/// * `timestamp` is the record's, or the time of sending (milliseconds since the epoch).
/// * `partition` follows the Kafka producer's partitioner over a partition count of 1 unless
///   set with [`with_partitions`](Self::with_partitions); `offset` counts from 0 per
///   partition, for this sink's lifetime.
///
/// Every `send` writes its lines and flushes them to the operating system, and its records are
/// then acknowledged. [`flush`](Sink::flush) also syncs a file to disk (`fsync`). Writes are
/// blocking I/O on the calling task.
pub struct JsonLinesSink {
    output: Output,
    target: String,
    log: LocalLog,
    acknowledged: Vec<Delivery>,
    failure: Option<String>,
    line: Vec<u8>,
}

impl std::fmt::Debug for JsonLinesSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLinesSink")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl JsonLinesSink {
    fn with_output(output: Output, target: String) -> Self {
        Self {
            output,
            target,
            log: LocalLog::default(),
            acknowledged: Vec::new(),
            failure: None,
            line: Vec::with_capacity(512),
        }
    }

    /// Writes to standard output.
    pub fn stdout() -> Self {
        Self::with_output(Output::Stdout, "stdout".to_owned())
    }

    /// Appends to the file at `path`, creating it if needed.
    pub fn append_to(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let target = path.display().to_string();
        let file = File::options()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| SinkError::Io {
                target: target.clone(),
                source,
            })?;
        Ok(Self::with_output(
            Output::File(BufWriter::with_capacity(64 * 1024, file)),
            target,
        ))
    }

    /// Writes to any writer; `name` appears in error messages.
    pub fn to_writer(writer: impl Write + Send + 'static, name: impl Into<String>) -> Self {
        Self::with_output(Output::Writer(Box::new(writer)), name.into())
    }

    /// Sets the partition count the partitioner uses for every topic (default 1).
    pub fn with_partitions(mut self, partitions: i32) -> Self {
        self.log.set_default_partitions(partitions);
        self
    }

    fn io_error(&self, source: io::Error) -> SinkError {
        SinkError::Io {
            target: self.target.clone(),
            source,
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.output {
            Output::Stdout => io::stdout().lock().write_all(bytes),
            Output::File(file) => file.write_all(bytes),
            Output::Writer(writer) => writer.write_all(bytes),
        }
    }

    fn flush_output(&mut self, sync: bool) -> io::Result<()> {
        match &mut self.output {
            Output::Stdout => io::stdout().lock().flush(),
            Output::File(file) => {
                file.flush()?;
                if sync {
                    file.get_ref().sync_data()?;
                }
                Ok(())
            }
            Output::Writer(writer) => writer.flush(),
        }
    }

    fn check(&self) -> Result<()> {
        match &self.failure {
            Some(cause) => Err(SinkError::Failed {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    fn fail(&mut self, error: SinkError) -> SinkError {
        self.failure = Some(error.to_string());
        error
    }

    fn send_sync(&mut self, records: Vec<ProducerRecord>) -> Result<()> {
        self.check()?;
        let mut written = Vec::with_capacity(records.len());
        for record in &records {
            let (partition, offset) = self.log.assign(record)?;
            let timestamp = record.timestamp.unwrap_or_else(now_millis);
            let mut line = std::mem::take(&mut self.line);
            line.clear();
            let encoded = serde_json::to_writer(
                &mut line,
                &Line {
                    topic: &record.topic,
                    partition,
                    offset,
                    timestamp,
                    key: JsonBytes(record.key.as_deref()),
                    value: JsonBytes(record.value.as_deref()),
                    headers: Headers(record),
                },
            );
            if let Err(source) = encoded {
                self.line = line;
                return Err(self.fail(SinkError::Json {
                    topic: Arc::clone(&record.topic),
                    source,
                }));
            }
            line.push(b'\n');
            let result = self.write_all(&line);
            self.line = line;
            if let Err(e) = result {
                let error = self.io_error(e);
                return Err(self.fail(error));
            }
            written.push(Delivery {
                topic: Arc::clone(&record.topic),
                partition,
                offset,
            });
        }
        if let Err(e) = self.flush_output(false) {
            let error = self.io_error(e);
            return Err(self.fail(error));
        }
        self.acknowledged.append(&mut written);
        Ok(())
    }
}

impl Sink for JsonLinesSink {
    async fn send(&mut self, records: Vec<ProducerRecord>) -> Result<()> {
        self.send_sync(records)
    }

    fn acknowledged(&mut self) -> Vec<Delivery> {
        std::mem::take(&mut self.acknowledged)
    }

    async fn flush(&mut self) -> Result<Vec<Delivery>> {
        self.check()?;
        if let Err(e) = self.flush_output(true) {
            let error = self.io_error(e);
            return Err(self.fail(error));
        }
        Ok(std::mem::take(&mut self.acknowledged))
    }
}

#[derive(Serialize)]
struct Line<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    timestamp: i64,
    key: JsonBytes<'a>,
    value: JsonBytes<'a>,
    headers: Headers<'a>,
}

/// Bytes as JSON: a string when valid UTF-8, else `{"base64": ...}`; `null` for none.
struct JsonBytes<'a>(Option<&'a [u8]>);

impl Serialize for JsonBytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            None => serializer.serialize_none(),
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => serializer.serialize_str(text),
                Err(_) => {
                    let mut map = serializer.serialize_map(Some(1))?;
                    map.serialize_entry("base64", &BASE64.encode(bytes))?;
                    map.end()
                }
            },
        }
    }
}

struct Headers<'a>(&'a ProducerRecord);

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.0
                .headers
                .iter()
                .map(|h| (h.key.as_str(), JsonBytes(h.value.as_deref()))),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use std::sync::Mutex;

    use serde_json::{Value, json};

    use super::*;
    use crate::record::Header;

    /// A writer whose bytes the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn lines(out: &Shared) -> Vec<Value> {
        String::from_utf8(out.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn writes_one_json_object_per_record() {
        rt().block_on(async {
            let out = Shared::default();
            let mut sink = JsonLinesSink::to_writer(out.clone(), "test");
            let mut binary = ProducerRecord::new("t")
                .key(vec![0x00, 0xff])
                .timestamp(1_700_000_000_001);
            binary.headers.push(Header::null("n"));
            binary.headers.push(Header::new("b", vec![0xff, 0xfe]));
            sink.send(vec![
                ProducerRecord::new("t")
                    .key("k")
                    .value("{\"id\":1}")
                    .header("source", "pg")
                    .timestamp(1_700_000_000_000),
                binary,
            ])
            .await
            .unwrap();
            assert_eq!(
                lines(&out),
                [
                    json!({"topic":"t","partition":0,"offset":0,"timestamp":1_700_000_000_000_i64,
                           "key":"k","value":"{\"id\":1}","headers":[["source","pg"]]}),
                    json!({"topic":"t","partition":0,"offset":1,"timestamp":1_700_000_000_001_i64,
                           "key":{"base64":"AP8="},"value":null,
                           "headers":[["n",null],["b",{"base64":"//4="}]]}),
                ]
            );
            let acked = sink.acknowledged();
            assert_eq!(acked.len(), 2);
            assert!(sink.flush().await.unwrap().is_empty());
        });
    }

    #[test]
    fn file_output_appends_and_syncs() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("out.jsonl");
            for round in 0..2 {
                let mut sink = JsonLinesSink::append_to(&path).unwrap().with_partitions(3);
                sink.send(vec![ProducerRecord::new("t").key("foobar").value("v")])
                    .await
                    .unwrap();
                let d = sink.flush().await.unwrap();
                assert_eq!(d.len(), 1, "round {round}");
                assert_eq!(
                    d[0].partition,
                    crate::partitioner::partition_for_key(b"foobar", 3)
                );
            }
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text.lines().count(), 2);
        });
    }

    #[test]
    fn write_errors_fail_the_sink() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        rt().block_on(async {
            let mut sink = JsonLinesSink::to_writer(Broken, "broken");
            let err = sink
                .send(vec![ProducerRecord::new("t").value("v")])
                .await
                .unwrap_err();
            assert!(err.to_string().contains("broken"), "{err}");
            assert!(matches!(
                sink.send(vec![]).await,
                Err(SinkError::Failed { .. })
            ));
            assert!(sink.acknowledged().is_empty());
        });
    }
}
