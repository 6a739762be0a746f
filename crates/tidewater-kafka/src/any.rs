//! [`AnySink`]: the sink a configuration asks for.

use crate::config::ProducerConfig;
use crate::error::Result;
use crate::json_lines::JsonLinesSink;
use crate::kafka::KafkaSink;
use crate::memory::MemorySink;
use crate::record::{Delivery, ProducerRecord};
use crate::sink::Sink;

/// One of the built-in sinks, chosen at run time.
///
/// [`from_config`](Self::from_config) picks Kafka when `bootstrap.servers` is set and JSON
/// lines on stdout otherwise, so a pipeline runs (and shows its records) before any broker is
/// configured.
#[derive(Debug)]
#[non_exhaustive]
pub enum AnySink {
    /// Kafka, through rskafka.
    Kafka(KafkaSink),
    /// JSON lines on stdout or in a file.
    JsonLines(JsonLinesSink),
    /// Memory.
    Memory(MemorySink),
}

impl AnySink {
    /// [`KafkaSink::connect`] when `config` names brokers, else [`JsonLinesSink::stdout`].
    pub async fn from_config(config: ProducerConfig) -> Result<Self> {
        if config.has_brokers() {
            Ok(Self::Kafka(KafkaSink::connect(config).await?))
        } else {
            config.validate()?;
            Ok(Self::JsonLines(JsonLinesSink::stdout()))
        }
    }
}

impl Sink for AnySink {
    async fn send(&mut self, records: Vec<ProducerRecord>) -> Result<()> {
        match self {
            Self::Kafka(sink) => sink.send(records).await,
            Self::JsonLines(sink) => sink.send(records).await,
            Self::Memory(sink) => sink.send(records).await,
        }
    }

    fn acknowledged(&mut self) -> Vec<Delivery> {
        match self {
            Self::Kafka(sink) => sink.acknowledged(),
            Self::JsonLines(sink) => sink.acknowledged(),
            Self::Memory(sink) => sink.acknowledged(),
        }
    }

    async fn progress(&mut self) {
        match self {
            Self::Kafka(sink) => sink.progress().await,
            Self::JsonLines(sink) => sink.progress().await,
            Self::Memory(sink) => sink.progress().await,
        }
    }

    async fn flush(&mut self) -> Result<Vec<Delivery>> {
        match self {
            Self::Kafka(sink) => sink.flush().await,
            Self::JsonLines(sink) => sink.flush().await,
            Self::Memory(sink) => sink.flush().await,
        }
    }
}

impl From<KafkaSink> for AnySink {
    fn from(sink: KafkaSink) -> Self {
        Self::Kafka(sink)
    }
}

impl From<JsonLinesSink> for AnySink {
    fn from(sink: JsonLinesSink) -> Self {
        Self::JsonLines(sink)
    }
}

impl From<MemorySink> for AnySink {
    fn from(sink: MemorySink) -> Self {
        Self::Memory(sink)
    }
}
