//! Tidewater: PostgreSQL change data capture to Kafka, Debezium-compatible,
//! inside your own process.
//!
//! A [`Pipeline`] reads PostgreSQL's logical replication stream (pgoutput),
//! snapshots existing rows first, turns every change into the event Debezium's
//! PostgreSQL connector would write (same topics, keys, envelope and JSON),
//! applies Kafka Connect-style transforms and produces to Kafka. PostgreSQL is
//! told a change is handled only once Kafka holds every record of its
//! transaction.
//!
//! ```no_run
//! use tidewater::Pipeline;
//! use tidewater::envelope::EnvelopeConfig;
//! use tidewater::kafka::{KafkaSink, ProducerConfig};
//! use tidewater::postgres::SourceConfig;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let source = SourceConfig::from_properties([
//!     ("database.hostname", "localhost"), ("database.user", "cdc"),
//!     ("database.password", "secret"), ("database.dbname", "shop"),
//!     ("table.include.list", "public.orders"),
//! ])?;
//! let producer = ProducerConfig::from_properties([("bootstrap.servers", "localhost:9092")])?;
//! let summary = Pipeline::builder()
//!     .postgres(source)                              // snapshot, then stream
//!     .envelope(EnvelopeConfig::new("shop", "shop")) // topic shop.public.orders
//!     .sink(KafkaSink::connect(producer).await?)
//!     .handle_signals(true)                          // Ctrl-C / SIGTERM stop it gracefully
//!     .build()?
//!     .run()
//!     .await?;
//! println!("{} records delivered", summary.records_delivered);
//! # Ok(())
//! # }
//! ```
//!
//! The same from a Kafka Connect connector JSON (see [`config`]): the
//! source, envelope, transforms, converters, runtime settings, offset storage
//! and sink it describes, in one call ([`Pipeline::from_config`]):
//!
//! ```no_run
//! use tidewater::{ConnectorConfig, Pipeline};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ConnectorConfig::from_json_file("connector.json")?; // every problem at once
//! let pipeline = Pipeline::from_config(&config).await?.handle_signals(true).build()?;
//! let metrics = pipeline.metrics(); // for example for a Prometheus endpoint
//! pipeline.run().await?;
//! println!("{}", metrics.render_prometheus());
//! # Ok(())
//! # }
//! ```
//!
//! # How it runs
//!
//! Three tasks joined by bounded hand-offs (see [`Pipeline`] for details):
//!
//! * the **source** task owns the [`ChangeSource`](postgres::ChangeSource),
//!   reads batches while `max.queue.size` has room and acknowledges positions
//!   as soon as they are delivered;
//! * the **convert** task builds the envelopes (with the source's catalog facts,
//!   so `optional` and `default` match Debezium's), runs the transforms and the
//!   converters — or, with no transforms and JSON converters, writes the JSON
//!   straight from the events — and adds each record's [`Position`] header;
//! * the **sink** task sends to the [`Sink`](kafka::Sink), polls deliveries,
//!   and turns them into the acknowledged position with a delivery tracker.
//!
//! Memory is bounded by `max.queue.size` events waiting for conversion,
//! `max.queue.size` records converted but not delivered and, when set,
//! `max.queue.size.in.bytes`; never by transaction size.
//!
//! # Delivery
//!
//! At least once: the position handed to PostgreSQL only covers transactions
//! whose every record the sink reported durable (in send order, across
//! partitions). After a crash the stream resumes from the slot's confirmed
//! position; records replayed from the unacknowledged window carry the same
//! [`POSITION_HEADER`] as before, so consumers can drop them. The offset store
//! ([`offsets`]) keeps the delivered position and the snapshot's progress; an
//! incomplete snapshot is redone.
//!
//! # Failures
//!
//! * Events the envelope cannot build: `event.processing.failure.handling.mode`
//!   ([`FailureHandling`]).
//! * Records failing a transform or a converter: `errors.tolerance`
//!   ([`ErrorTolerance`]), with `errors.deadletterqueue.topic.name` the original
//!   record goes to the dead-letter topic with Kafka Connect's
//!   `__connect.errors.*` headers (the exception class and message always,
//!   the context headers with `errors.deadletterqueue.context.headers.enable`).
//! * A failing sink: with [`PipelineBuilder::sink_factory`] it is replaced with
//!   backoff (`errors.retry.delay.max.ms`, `errors.retry.timeout`) and the
//!   undelivered records are sent again in order; otherwise the pipeline stops
//!   with [`PipelineError::Sink`] after acknowledging what was delivered.
//!
//! # Observability
//!
//! Each task runs in a `tracing` span (`tidewater.source`, `tidewater.convert`,
//! `tidewater.sink`, `tidewater.offsets`); [`Pipeline::metrics`] gives the
//! [`Metrics`](metrics::Metrics) (per-table counts, queue depths, lag, last
//! acknowledged position, snapshot progress, errors), also as Prometheus text.

pub mod config;
mod delivery;
mod error;
pub mod metrics;
pub mod offsets;
mod pipeline;
pub mod settings;

pub use tidewater_connect as connect;
pub use tidewater_envelope as envelope;
pub use tidewater_kafka as kafka;
pub use tidewater_pgoutput as pgoutput;
pub use tidewater_postgres as postgres;
pub use tidewater_transforms as transforms;

pub use config::{ConfigErrors, ConnectorConfig};
pub use delivery::{ParsePositionError, Position};
pub use error::{BoxError, ErrorStage, PipelineError};
pub use pipeline::{
    ConfiguredBuilder, JSON_CONVERTER_CLASS, Pipeline, PipelineBuilder, RecordConverter,
    RunSummary, Unset,
};
pub use settings::{
    DeadLetterQueue, ErrorTolerance, FailureHandling, OffsetStorage, RuntimeSettings,
};

/// Name of the header carrying a record's position: `<commit LSN>/<index>`, the
/// commit LSN as an unsigned decimal (Debezium's `lsn` numbers) and the index of
/// the event within its transaction, so a consumer can drop replays.
pub const POSITION_HEADER: &str = "tidewater.position";
