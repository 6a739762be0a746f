//! [`Pipeline::from_config`]: every part of a pipeline from one connector
//! configuration.

use tidewater_kafka::AnySink;
use tidewater_postgres::PostgresSource;

use super::{Pipeline, PipelineBuilder, Unset};
use crate::config::ConnectorConfig;
use crate::error::PipelineError;
use crate::offsets::{AnyOffsetStore, MemoryOffsetStore};

/// The builder [`Pipeline::from_config`] returns: a [`PostgresSource`], one
/// of the built-in sinks and one of the built-in offset stores.
pub type ConfiguredBuilder = PipelineBuilder<PostgresSource, AnySink, AnyOffsetStore>;

impl Pipeline<Unset, Unset, MemoryOffsetStore> {
    /// A builder with every part a connector configuration describes, as
    /// Kafka Connect would run it:
    ///
    /// * the offset store of `offset.storage.*` ([`AnyOffsetStore::from_settings`]:
    ///   in memory, a file, or a Kafka topic, which is connected to here);
    /// * a [`PostgresSource`] started when the pipeline runs, told what the
    ///   offset store knows about earlier snapshots (an incomplete one is
    ///   redone) — PostgreSQL is not contacted before [`Pipeline::run`];
    /// * the envelope, the transform chain, the key and value converters and
    ///   the runtime settings;
    /// * the sink of the producer settings ([`AnySink::from_config`]: Kafka
    ///   when `bootstrap.servers` is set, which is connected to here, JSON
    ///   lines on stdout otherwise), and a sink factory that builds a new one
    ///   the same way when it fails, so transient Kafka failures are retried
    ///   within `errors.retry.timeout`.
    ///
    /// The builder can still be changed before [`build`](PipelineBuilder::build):
    /// signals, a shutdown token, shared metrics, or another sink
    /// ([`sink`](PipelineBuilder::sink) drops the factory).
    ///
    /// ```no_run
    /// use tidewater::{ConnectorConfig, Pipeline};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = ConnectorConfig::from_json_file("connector.json")?; // every problem at once
    /// let pipeline = Pipeline::from_config(&config).await?.handle_signals(true).build()?;
    /// let summary = pipeline.run().await?; // until Ctrl-C or SIGTERM
    /// println!("{} records delivered", summary.records_delivered);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Fails when the offset store or the Kafka sink cannot be set up
    /// ([`PipelineError::Offsets`], [`PipelineError::Sink`]).
    pub async fn from_config(config: &ConnectorConfig) -> Result<ConfiguredBuilder, PipelineError> {
        let settings = config.runtime_settings();
        let producer = config.producer_config();
        // Checked when the configuration was read; a chain is built per call.
        let transforms = config
            .transforms()
            .map_err(|e| PipelineError::config("transforms", e.to_string()))?;
        let offsets = AnyOffsetStore::from_settings(
            &settings.offset_storage,
            &producer,
            config.name(),
            config.topic_prefix(),
        )
        .await?;
        let sink =
            AnySink::from_config(producer.clone())
                .await
                .map_err(|e| PipelineError::Sink {
                    source: Box::new(e),
                })?;
        Ok(Pipeline::builder()
            .postgres(config.source_config())
            .envelope(config.envelope_config())
            .transforms(transforms)
            .key_converter(config.key_converter())
            .value_converter(config.value_converter())
            .settings(settings)
            .offset_store(offsets)
            .sink(sink)
            .sink_factory(move || AnySink::from_config(producer.clone())))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;
    use crate::offsets::OffsetStore;

    /// A port on loopback where nothing listens (bound, then released).
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    fn config(extra: &[(&str, &str)], port: u16) -> ConnectorConfig {
        let port = port.to_string();
        let mut pairs = vec![
            ("name", "orders-cdc"),
            ("database.hostname", "127.0.0.1"),
            ("database.port", port.as_str()),
            ("database.user", "cdc"),
            ("database.dbname", "shop"),
            ("topic.prefix", "shop"),
            ("transforms", "unwrap"),
            (
                "transforms.unwrap.type",
                "io.debezium.transforms.ExtractNewRecordState",
            ),
            ("errors.retry.timeout", "0"),
        ];
        pairs.extend_from_slice(extra);
        ConnectorConfig::from_properties(pairs).unwrap()
    }

    #[tokio::test]
    async fn builds_without_contacting_the_database_and_fails_only_when_run() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("offsets");
        let file_text = file.display().to_string();
        let config = config(
            &[("offset.storage.file.filename", file_text.as_str())],
            closed_port(),
        );
        let builder = Pipeline::from_config(&config).await.unwrap();
        let pipeline = builder.build().unwrap();
        assert_eq!(pipeline.settings().name, "orders-cdc");
        assert!(matches!(pipeline.sink, AnySink::JsonLines(_)));
        assert!(pipeline.sink_factory.is_some());
        assert_eq!(pipeline.transforms.len(), 1);
        assert!(matches!(pipeline.offsets, AnyOffsetStore::File(_)));
        // Nothing was written yet: the store is touched when the pipeline runs.
        assert!(!file.exists());

        let err = pipeline.run().await.unwrap_err();
        assert!(matches!(err, PipelineError::SourceStart { .. }), "{err:?}");
        // Before starting the source, the run recorded that a snapshot is due.
        let mut store = AnyOffsetStore::File(crate::offsets::FileOffsetStore::new(
            &file,
            "orders-cdc",
            "shop",
        ));
        let stored = store.load().await.unwrap().expect("the snapshot intent");
        assert!(matches!(
            stored.snapshot,
            crate::offsets::SnapshotState::InProgress { .. }
        ));
    }

    #[tokio::test]
    async fn an_unreachable_broker_is_a_sink_error() {
        let port = closed_port().to_string();
        let brokers = format!("127.0.0.1:{port}");
        let config = config(
            &[
                ("bootstrap.servers", brokers.as_str()),
                ("max.block.ms", "500"),
                ("request.timeout.ms", "400"),
                ("delivery.timeout.ms", "1000"),
            ],
            closed_port(),
        );
        let err = Pipeline::from_config(&config).await.unwrap_err();
        assert!(matches!(err, PipelineError::Sink { .. }), "{err:?}");
        assert!(err.to_string().contains("127.0.0.1"), "{err}");
    }
}
