//! The [`Pipeline`]: source → envelope → transforms → converters → sink, with
//! delivery tracking, acknowledgement, offsets, heartbeats and failure handling.
//!
//! ```text
//!            ┌─────────────── acknowledged LSN (promptly, as deliveries arrive) ───────────────┐
//!            ▼                                                                                  │
//!  ┌──────────────────┐ events  ┌───────────────────────────┐ records  ┌────────────────────────┴─┐
//!  │ source task      │ ──────► │ convert task              │ ───────► │ sink task                │
//!  │ ChangeSource     │ ≤ max.  │ envelope (+ catalog)      │ ≤ max.   │ Sink::send / acknowledged│
//!  │ next_batch, ack, │ queue.  │ → transforms → converters │ queue.   │ → delivery tracker       │
//!  │ heartbeat ticks  │ size    │ positions, DLQ, markers   │ size (+  │ → failed sink replaced,  │
//!  └──────────────────┘         └───────────────────────────┘ bytes)   │   undelivered resent     │
//!                                                                       └────────────┬─────────────┘
//!                                         offset writer (offset.flush.interval.ms) ◄─┘
//! ```
//!
//! Each stage is a task; bounded hand-offs keep memory proportional to
//! `max.queue.size` (events waiting for conversion, and records converted but
//! not yet delivered) and `max.queue.size.in.bytes`, never to transaction size.

mod background;
mod catalog;
mod convert;
mod from_config;
mod sink_task;
mod source_task;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tidewater_connect::{
    ConnectError, Converter, JsonConverter, JsonConverterConfig, Schema, Value,
};
use tidewater_envelope::{EnvelopeBuilder, EnvelopeConfig};
use tidewater_kafka::{Sink, SinkError};
use tidewater_pgoutput::Lsn;
use tidewater_postgres::{ChangeSource, PostgresSource, PriorSnapshot, SourceConfig};
use tidewater_transforms::{Transform, TransformChain};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use self::from_config::ConfiguredBuilder;

use self::catalog::SourceCatalog;
use self::convert::{Budget, ConvertParts, ConvertStage};
use self::sink_task::{SinkFactory, SinkStage};
use self::source_task::SourceStage;
use crate::delivery::DeliveryTracker;
use crate::error::{BoxError, PipelineError};
use crate::metrics::Metrics;
use crate::offsets::{MemoryOffsetStore, OffsetStore, SnapshotState, SourceOffset};
use crate::settings::{ErrorTolerance, RuntimeSettings};

/// The class name Kafka Connect gives its JSON converter.
pub const JSON_CONVERTER_CLASS: &str = "org.apache.kafka.connect.json.JsonConverter";

/// A key or value converter: Kafka's JSON converter (the default) or any
/// [`Converter`].
///
/// With no transforms and JSON key and value converters of equal settings, the
/// pipeline writes records straight from the events
/// ([`EnvelopeBuilder::process_json`]), more than twice as fast as building
/// and serializing them.
#[derive(Clone)]
#[non_exhaustive]
pub enum RecordConverter {
    /// `org.apache.kafka.connect.json.JsonConverter`.
    Json(JsonConverter),
    /// A converter of the application's own.
    Custom {
        /// Its class name, reported in dead-letter headers
        /// (`__connect.errors.class.name`).
        class: String,
        /// The converter.
        converter: Arc<dyn Converter>,
    },
}

impl RecordConverter {
    /// Kafka's JSON converter with `config`.
    pub fn json(config: JsonConverterConfig) -> Self {
        RecordConverter::Json(JsonConverter::new(config))
    }

    /// A converter of your own, named `class` in dead-letter headers.
    pub fn custom(class: impl Into<String>, converter: Arc<dyn Converter>) -> Self {
        RecordConverter::Custom {
            class: class.into(),
            converter,
        }
    }

    /// The converter's class name.
    pub fn class_name(&self) -> &str {
        match self {
            RecordConverter::Json(_) => JSON_CONVERTER_CLASS,
            RecordConverter::Custom { class, .. } => class,
        }
    }

    fn serialize(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: Option<&Value>,
    ) -> Result<Option<Bytes>, ConnectError> {
        match self {
            RecordConverter::Json(c) => c.serialize(topic, schema, value),
            RecordConverter::Custom { converter, .. } => converter.serialize(topic, schema, value),
        }
    }
}

impl Default for RecordConverter {
    /// Kafka's JSON converter with its defaults (`schemas.enable=true`).
    fn default() -> Self {
        RecordConverter::json(JsonConverterConfig::default())
    }
}

impl From<JsonConverterConfig> for RecordConverter {
    fn from(config: JsonConverterConfig) -> Self {
        RecordConverter::json(config)
    }
}

impl From<JsonConverter> for RecordConverter {
    fn from(converter: JsonConverter) -> Self {
        RecordConverter::Json(converter)
    }
}

impl std::fmt::Debug for RecordConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordConverter::Json(c) => f.debug_tuple("Json").field(c.config()).finish(),
            RecordConverter::Custom { class, .. } => f
                .debug_struct("Custom")
                .field("class", class)
                .finish_non_exhaustive(),
        }
    }
}

/// A part of a [`PipelineBuilder`] not given yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unset;

type StartFuture<S> = Pin<Box<dyn Future<Output = Result<S, BoxError>> + Send>>;
type StartFn<S> = Box<dyn FnOnce(PriorSnapshot) -> StartFuture<S> + Send>;

enum SourceSpec<S> {
    /// Started by the application.
    Started(S),
    /// Started by the pipeline, told what the offset store knows of snapshots.
    Starter(StartFn<S>),
}

enum EnvelopeChoice {
    Config(Box<EnvelopeConfig>),
    Builder(Box<EnvelopeBuilder>),
}

struct Parts {
    envelope: Option<EnvelopeChoice>,
    transforms: TransformChain,
    key_converter: RecordConverter,
    value_converter: RecordConverter,
    settings: RuntimeSettings,
    shutdown: CancellationToken,
    handle_signals: bool,
    metrics: Arc<Metrics>,
    shutdown_timeout: Duration,
}

/// Composes a [`Pipeline`]; see [`Pipeline::builder`].
///
/// The type parameters are the source, the sink and the offset store; the
/// compiler insists on a source and a sink before [`build`](Self::build).
pub struct PipelineBuilder<S = Unset, K = Unset, O = MemoryOffsetStore> {
    source: Option<SourceSpec<S>>,
    sink: Option<K>,
    sink_factory: Option<SinkFactory<K>>,
    offsets: O,
    parts: Parts,
}

impl<S, K, O: std::fmt::Debug> std::fmt::Debug for PipelineBuilder<S, K, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("source", &self.source.is_some())
            .field("sink", &self.sink.is_some())
            .field("sink_factory", &self.sink_factory.is_some())
            .field("offsets", &self.offsets)
            .field("transforms", &self.parts.transforms)
            .field("key_converter", &self.parts.key_converter)
            .field("value_converter", &self.parts.value_converter)
            .field("settings", &self.parts.settings)
            .finish_non_exhaustive()
    }
}

impl Default for PipelineBuilder {
    fn default() -> Self {
        PipelineBuilder {
            source: None,
            sink: None,
            sink_factory: None,
            offsets: MemoryOffsetStore::new(),
            parts: Parts {
                envelope: None,
                transforms: TransformChain::new(),
                key_converter: RecordConverter::default(),
                value_converter: RecordConverter::default(),
                settings: RuntimeSettings::default(),
                shutdown: CancellationToken::new(),
                handle_signals: false,
                metrics: Metrics::new(),
                shutdown_timeout: Duration::from_secs(30),
            },
        }
    }
}

impl<S, K, O> PipelineBuilder<S, K, O> {
    /// A source the application started itself. It is used as is: tell it
    /// what the offset store knows about earlier snapshots yourself (see
    /// [`source_with`](Self::source_with) for the pipeline doing it).
    pub fn source<S2: ChangeSource>(self, source: S2) -> PipelineBuilder<S2, K, O> {
        PipelineBuilder {
            source: Some(SourceSpec::Started(source)),
            sink: self.sink,
            sink_factory: self.sink_factory,
            offsets: self.offsets,
            parts: self.parts,
        }
    }

    /// A source the pipeline starts when it runs, after reading the offset
    /// store: `start` gets what the store says about earlier snapshots (an
    /// incomplete one is redone).
    pub fn source_with<S2, F, Fut, E>(self, start: F) -> PipelineBuilder<S2, K, O>
    where
        S2: ChangeSource,
        F: FnOnce(PriorSnapshot) -> Fut + Send + 'static,
        Fut: Future<Output = Result<S2, E>> + Send + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        let start: StartFn<S2> = Box::new(move |prior| {
            Box::pin(async move { start(prior).await.map_err(|e| Box::new(e) as BoxError) })
        });
        PipelineBuilder {
            source: Some(SourceSpec::Starter(start)),
            sink: self.sink,
            sink_factory: self.sink_factory,
            offsets: self.offsets,
            parts: self.parts,
        }
    }

    /// A [`PostgresSource`] started with `config` when the pipeline runs (with
    /// the offset store's [`PriorSnapshot`]).
    pub fn postgres(self, config: SourceConfig) -> PipelineBuilder<PostgresSource, K, O> {
        self.source_with(move |prior| PostgresSource::start_with(config, prior))
    }

    /// Where records go. A custom [`Sink`] works like the built-in ones.
    pub fn sink<K2: Sink>(self, sink: K2) -> PipelineBuilder<S, K2, O> {
        PipelineBuilder {
            source: self.source,
            sink: Some(sink),
            sink_factory: None,
            offsets: self.offsets,
            parts: self.parts,
        }
    }

    /// Where snapshot progress and the delivered position are kept (by default
    /// in memory: nothing survives the process except the replication slot).
    pub fn offset_store<O2: OffsetStore>(self, store: O2) -> PipelineBuilder<S, K, O2> {
        PipelineBuilder {
            source: self.source,
            sink: self.sink,
            sink_factory: self.sink_factory,
            offsets: store,
            parts: self.parts,
        }
    }

    /// How events become records (`topic.prefix`, type mappings, ...). The
    /// pipeline attaches the source's catalog facts (primary keys, `NOT
    /// NULL`, defaults) so schemas match Debezium's.
    pub fn envelope(mut self, config: EnvelopeConfig) -> Self {
        self.parts.envelope = Some(EnvelopeChoice::Config(Box::new(config)));
        self
    }

    /// An envelope builder prepared by the application, used as is (the
    /// pipeline attaches no catalog to it).
    pub fn envelope_builder(mut self, builder: EnvelopeBuilder) -> Self {
        self.parts.envelope = Some(EnvelopeChoice::Builder(Box::new(builder)));
        self
    }

    /// The transform chain (for example from
    /// [`TransformChain::from_config`]); replaces earlier transforms.
    pub fn transforms(mut self, chain: TransformChain) -> Self {
        self.parts.transforms = chain;
        self
    }

    /// Appends a transform of your own after the others.
    pub fn transform(mut self, alias: &str, transform: impl Transform + 'static) -> Self {
        let chain = std::mem::take(&mut self.parts.transforms);
        self.parts.transforms = chain.with(alias, transform);
        self
    }

    /// The key converter (JSON by default).
    pub fn key_converter(mut self, converter: impl Into<RecordConverter>) -> Self {
        self.parts.key_converter = converter.into();
        self
    }

    /// The value converter (JSON by default).
    pub fn value_converter(mut self, converter: impl Into<RecordConverter>) -> Self {
        self.parts.value_converter = converter.into();
        self
    }

    /// The runtime settings (queues, heartbeats, failure handling, offsets).
    pub fn settings(mut self, settings: RuntimeSettings) -> Self {
        self.parts.settings = settings;
        self
    }

    /// A token that stops the pipeline gracefully when cancelled.
    pub fn shutdown_token(mut self, token: CancellationToken) -> Self {
        self.parts.shutdown = token;
        self
    }

    /// Whether Ctrl-C and SIGTERM stop the pipeline gracefully (off by
    /// default: an embedding application usually owns its signals).
    pub fn handle_signals(mut self, enabled: bool) -> Self {
        self.parts.handle_signals = enabled;
        self
    }

    /// The metrics to update (a new set by default); see [`Pipeline::metrics`].
    pub fn metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.parts.metrics = metrics;
        self
    }

    /// How long a shutdown waits for the sink to deliver what is in flight
    /// (30 s by default). Records still undelivered then stay unacknowledged
    /// and are read again after a restart.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.parts.shutdown_timeout = timeout;
        self
    }
}

impl<S, K: Sink, O> PipelineBuilder<S, K, O> {
    /// Makes a new sink when the current one fails with an error a new sink
    /// may not meet (lost connections, delivery timeouts, ...). The pipeline
    /// retries with exponential backoff up to `errors.retry.delay.max.ms`,
    /// for at most `errors.retry.timeout`, and sends the records the failed
    /// sink had not delivered again, in order. Without a factory a sink
    /// failure stops the pipeline.
    pub fn sink_factory<F, Fut>(mut self, mut factory: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<K, SinkError>> + Send + 'static,
    {
        self.sink_factory = Some(Box::new(move || Box::pin(factory())));
        self
    }
}

impl<S: ChangeSource, K: Sink, O: OffsetStore> PipelineBuilder<S, K, O> {
    /// Checks the parts and settings.
    ///
    /// Fails with [`PipelineError::Config`] when the envelope configuration is
    /// missing or invalid, or a setting is out of range.
    pub fn build(self) -> Result<Pipeline<S, K, O>, PipelineError> {
        let PipelineBuilder {
            source,
            sink,
            sink_factory,
            offsets,
            parts,
        } = self;
        let source = source.ok_or_else(|| {
            PipelineError::config("source", "no source: call source, source_with or postgres")
        })?;
        let sink = sink.ok_or_else(|| PipelineError::config("sink", "no sink: call sink"))?;
        let (envelope, catalog) = match parts.envelope {
            None => {
                return Err(PipelineError::config(
                    "envelope",
                    "no envelope configuration: call envelope(EnvelopeConfig::new(topic_prefix, \
                     database))",
                ));
            }
            Some(EnvelopeChoice::Config(config)) => {
                let catalog = Arc::new(SourceCatalog::default());
                let builder =
                    EnvelopeBuilder::new(*config)
                        .map_err(|e| PipelineError::config("envelope", e.to_string()))?
                        .with_catalog(
                            Arc::clone(&catalog) as Arc<dyn tidewater_envelope::TableCatalog>
                        );
                (builder, Some(catalog))
            }
            Some(EnvelopeChoice::Builder(builder)) => (*builder, None),
        };
        let mut settings = parts.settings;
        if settings.max_queue_size == 0 {
            return Err(PipelineError::config(
                "max.queue.size",
                "must be at least 1",
            ));
        }
        if settings.max_batch_size == 0 {
            return Err(PipelineError::config(
                "max.batch.size",
                "must be at least 1",
            ));
        }
        if let Some(dlq) = &settings.dead_letter_queue {
            if dlq.topic.trim().is_empty() {
                return Err(PipelineError::config(
                    "errors.deadletterqueue.topic.name",
                    "must not be empty",
                ));
            }
            if settings.errors_tolerance != ErrorTolerance::All {
                tracing::warn!(
                    topic = %dlq.topic,
                    "errors.deadletterqueue.topic.name is set but errors.tolerance is none: \
                     failing records stop the pipeline instead"
                );
            }
        }
        if settings.heartbeat_interval == Some(Duration::ZERO) {
            settings.heartbeat_interval = None;
        }
        if settings.heartbeat_action_query.is_some() && settings.heartbeat_interval.is_none() {
            tracing::warn!(
                "heartbeat.action.query is set but heartbeat.interval.ms is 0: it never runs"
            );
        }
        if settings.offset_flush_interval.is_zero() {
            return Err(PipelineError::config(
                "offset.flush.interval.ms",
                "must be positive",
            ));
        }
        Ok(Pipeline {
            source,
            sink,
            sink_factory,
            offsets,
            envelope,
            catalog,
            transforms: parts.transforms,
            key_converter: parts.key_converter,
            value_converter: parts.value_converter,
            settings,
            shutdown: parts.shutdown,
            handle_signals: parts.handle_signals,
            metrics: parts.metrics,
            shutdown_timeout: parts.shutdown_timeout,
        })
    }
}

/// A change-data-capture pipeline: a [`ChangeSource`], Debezium's envelope, a
/// transform chain, key and value converters and a [`Sink`], with at-least-once
/// delivery.
///
/// * Every record gets a sequence number in send order; each transaction's
///   commit (each message outside a transaction, the end of a snapshot) is a
///   marker "once records ≤ n are delivered, position L is done". The sink
///   reports deliveries in send order, so the position handed to
///   [`ChangeSource::acknowledge`] only ever covers transactions whose every
///   record is durable — a transaction whose records were all filtered is done
///   once those before it are.
/// * Every record carries its [`Position`](crate::Position) in the
///   [`POSITION_HEADER`](crate::POSITION_HEADER) header (unless
///   `tidewater.position.headers=false`) besides Debezium's `lsn` and
///   `sequence` in the source block; after a crash the stream resumes from the
///   slot's confirmed position, so duplicates only come from the window that
///   was not yet acknowledged and consumers can drop them by position.
/// * The offset store gets the delivered position and snapshot progress every
///   `offset.flush.interval.ms` and at the end; an incomplete snapshot is
///   redone on the next start.
///
/// See the [crate documentation](crate) for an example.
pub struct Pipeline<S, K, O = MemoryOffsetStore> {
    source: SourceSpec<S>,
    sink: K,
    sink_factory: Option<SinkFactory<K>>,
    offsets: O,
    envelope: EnvelopeBuilder,
    catalog: Option<Arc<SourceCatalog>>,
    transforms: TransformChain,
    key_converter: RecordConverter,
    value_converter: RecordConverter,
    settings: RuntimeSettings,
    shutdown: CancellationToken,
    handle_signals: bool,
    metrics: Arc<Metrics>,
    shutdown_timeout: Duration,
}

impl<S, K, O: std::fmt::Debug> std::fmt::Debug for Pipeline<S, K, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("envelope", &self.envelope)
            .field("transforms", &self.transforms)
            .field("key_converter", &self.key_converter)
            .field("value_converter", &self.value_converter)
            .field("settings", &self.settings)
            .field("offsets", &self.offsets)
            .finish_non_exhaustive()
    }
}

/// What a pipeline run did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RunSummary {
    /// Events read from the source.
    pub events: u64,
    /// Records handed to the sink (data, metadata, heartbeats, dead letters).
    pub records_sent: u64,
    /// Records the sink reported delivered.
    pub records_delivered: u64,
    /// Records sent to the dead-letter topic.
    pub dead_lettered: u64,
    /// Events and records skipped after failures.
    pub skipped: u64,
    /// Heartbeat records emitted.
    pub heartbeats: u64,
    /// The last position acknowledged to the source.
    pub acknowledged: Option<Lsn>,
    /// The last offset written to the offset store.
    pub offset: Option<SourceOffset>,
    /// Whether the source finished on its own (`snapshot.mode=initial_only`)
    /// rather than being stopped.
    pub source_finished: bool,
    /// Times a failed sink was replaced through the sink factory.
    pub sink_replacements: u32,
    /// Whether records were written straight from the events (no transforms,
    /// equal JSON converters).
    pub direct_json: bool,
    /// How long the run took.
    pub elapsed: Duration,
}

impl Pipeline<Unset, Unset, MemoryOffsetStore> {
    /// A builder: give it a source, an envelope configuration and a sink;
    /// everything else has defaults.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }
}

impl<S, K, O> Pipeline<S, K, O> {
    /// The pipeline's metrics, updated while it runs (keep the `Arc` to read
    /// them from elsewhere, for example an HTTP endpoint).
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    /// The token that stops the pipeline gracefully when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The runtime settings in use.
    pub fn settings(&self) -> &RuntimeSettings {
        &self.settings
    }
}

impl<S, K, O> Pipeline<S, K, O>
where
    S: ChangeSource + 'static,
    K: Sink + 'static,
    O: OffsetStore,
{
    /// Runs until shutdown (the token, or Ctrl-C/SIGTERM with
    /// [`handle_signals`](PipelineBuilder::handle_signals)), until the source
    /// finishes, or until a fatal error.
    ///
    /// Shutting down stops reading, lets in-flight records reach the sink,
    /// flushes it, acknowledges what was delivered, writes the offsets and
    /// closes the source. A fatal error does the same for what was delivered
    /// before it, then returns the error.
    pub async fn run(self) -> Result<RunSummary, PipelineError> {
        let signals = self
            .handle_signals
            .then(|| tokio::spawn(background::on_signal(self.shutdown.clone())));
        let result = self.run_inner().await;
        if let Some(task) = signals {
            task.abort();
        }
        result
    }

    async fn run_inner(self) -> Result<RunSummary, PipelineError> {
        let started = std::time::Instant::now();
        let Pipeline {
            source,
            sink,
            sink_factory,
            mut offsets,
            mut envelope,
            catalog,
            transforms,
            key_converter,
            value_converter,
            settings,
            shutdown,
            handle_signals: _,
            metrics,
            shutdown_timeout,
        } = self;

        let loaded = offsets.load().await?;
        if let Some(offset) = &loaded {
            tracing::info!(lsn = %offset.lsn, snapshot = ?offset.snapshot, "offset loaded");
        }
        let mut stored = loaded.clone();
        let snapshot_done = loaded
            .as_ref()
            .is_some_and(|o| o.snapshot == SnapshotState::Completed);
        let source = match source {
            SourceSpec::Started(source) => source,
            SourceSpec::Starter(start) => {
                let prior = loaded
                    .as_ref()
                    .map_or(PriorSnapshot::Unknown, SourceOffset::prior_snapshot);
                if !snapshot_done {
                    // Before the source may create a slot: a crash between the
                    // two must not look like a finished snapshot next time.
                    let intent = SourceOffset {
                        snapshot: SnapshotState::InProgress { rows_delivered: 0 },
                        ..loaded.clone().unwrap_or_default()
                    };
                    offsets.store(&intent).await?;
                    stored = Some(intent);
                }
                start(prior)
                    .await
                    .map_err(|source| PipelineError::SourceStart { source })?
            }
        };

        // What this run does about snapshots, now that the source decided.
        let snapshotting = source.snapshot_progress().is_some();
        let settle = async {
            if snapshotting {
                if !matches!(
                    stored.as_ref().map(|o| o.snapshot),
                    Some(SnapshotState::InProgress { .. })
                ) {
                    let intent = SourceOffset {
                        snapshot: SnapshotState::InProgress { rows_delivered: 0 },
                        ..loaded.clone().unwrap_or_default()
                    };
                    offsets.store(&intent).await?;
                    stored = Some(intent);
                }
            } else if stored != loaded {
                let back = loaded.clone().unwrap_or_default();
                offsets.store(&back).await?;
                stored = Some(back);
            }
            Ok::<(), PipelineError>(())
        };
        if let Err(e) = settle.await {
            let _ = source.close().await;
            return Err(e);
        }

        let action = match (
            settings.heartbeat_interval,
            settings.heartbeat_action_query.clone(),
        ) {
            (Some(every), Some(query)) => match source.sql_config() {
                Some(config) => Some((config.clone(), query, every)),
                None => {
                    let _ = source.close().await;
                    return Err(PipelineError::config(
                        "heartbeat.action.query",
                        "the source offers no SQL access to run it on (use a PostgresSource)",
                    ));
                }
            },
            _ => None,
        };

        if let Some(offset) = loaded.as_ref().filter(|o| !o.lsn.is_invalid()) {
            envelope.set_last_commit_lsn(Some(offset.lsn));
        }

        let settings = Arc::new(settings);
        let transform_count = transforms.len();
        let stop = shutdown.child_token();
        let max_queue = settings.max_queue_size.clamp(1, Semaphore::MAX_PERMITS);
        let events_room = Arc::new(Semaphore::new(max_queue));
        let records_room = Arc::new(Semaphore::new(max_queue));
        let bytes_room = (settings.max_queue_size_in_bytes > 0).then(|| {
            let max = settings.max_queue_size_in_bytes.min(Semaphore::MAX_PERMITS);
            (Arc::new(Semaphore::new(max)), max)
        });
        let (events_tx, events_rx) = mpsc::channel(max_queue.min(1024));
        let (records_tx, records_rx) = mpsc::channel(max_queue.min(1024));
        let (acks_tx, acks_rx) = watch::channel(Lsn::INVALID);
        let (offsets_tx, offsets_rx) = watch::channel(None);
        let (stored_tx, stored_rx) = watch::channel(stored.clone());

        let source_stage = SourceStage {
            source,
            out: events_tx,
            room: Arc::clone(&events_room),
            max_queue,
            acks: acks_rx,
            stop: stop.clone(),
            heartbeat: settings.heartbeat_interval,
            metrics: Arc::clone(&metrics),
        };
        let mut convert = ConvertStage::new(ConvertParts {
            builder: envelope,
            catalog,
            chain: transforms,
            key_converter,
            value_converter,
            settings: Arc::clone(&settings),
            metrics: Arc::clone(&metrics),
            out: records_tx,
            budget: Budget {
                events: Arc::clone(&events_room),
                records: Arc::clone(&records_room),
                max_records: max_queue,
                bytes: bytes_room.clone(),
            },
            resume: loaded.clone(),
            stored: stored_rx,
            stop: stop.clone(),
        });
        let direct_json = convert.direct_json();
        let sink_stage = SinkStage {
            sink,
            factory: sink_factory,
            tracker: DeliveryTracker::new(),
            retained: Default::default(),
            held: Default::default(),
            acks: acks_tx,
            offsets: offsets_tx,
            published: None,
            metrics: Arc::clone(&metrics),
            stop: stop.clone(),
            retry_timeout: settings.retry_timeout,
            retry_delay_max: settings.retry_delay_max,
            resend_batch: settings.max_batch_size,
            shutdown_timeout,
            room: records_room,
            max_records: max_queue,
            bytes_room,
            last_progress: tokio::time::Instant::now(),
            replacements: 0,
            stop_deadline: None,
        };
        tracing::info!(
            connector = %settings.name,
            snapshotting,
            direct_json,
            transforms = transform_count,
            "pipeline starting"
        );

        let source_task = tokio::spawn(
            source_stage
                .run()
                .instrument(tracing::info_span!("tidewater.source")),
        );
        let convert_stop = stop.clone();
        let convert_task = tokio::spawn(
            async move {
                let result = convert.run(events_rx).await;
                if let Err(e) = &result {
                    tracing::error!(error = %e, "conversion failed");
                    convert_stop.cancel();
                }
                (result, convert.counts())
            }
            .instrument(tracing::info_span!("tidewater.convert")),
        );
        let sink_task = tokio::spawn(
            sink_stage
                .run(records_rx)
                .instrument(tracing::info_span!("tidewater.sink")),
        );
        let offsets_task = tokio::spawn(
            background::write_offsets(
                offsets,
                offsets_rx,
                settings.offset_flush_interval,
                stored,
                stored_tx,
            )
            .instrument(tracing::info_span!("tidewater.offsets")),
        );
        let action_task = action.map(|(config, query, every)| {
            tokio::spawn(
                background::heartbeat_action(
                    config,
                    query,
                    every,
                    stop.clone(),
                    Arc::clone(&metrics),
                )
                .instrument(tracing::info_span!("tidewater.heartbeat_action")),
            )
        });

        let (source_end, convert_end, sink_end) =
            tokio::join!(source_task, convert_task, sink_task);
        stop.cancel();
        if let Some(task) = action_task {
            let _ = task.await;
        }
        let offsets_end = offsets_task.await;

        let task_error = |task: &'static str, e: tokio::task::JoinError| PipelineError::Task {
            task,
            reason: e.to_string(),
        };
        let mut errors = Vec::new();
        let mut summary = RunSummary {
            direct_json,
            ..RunSummary::default()
        };
        match source_end {
            Ok(end) => {
                summary.events = end.events;
                summary.source_finished = end.finished;
                errors.extend(end.error);
            }
            Err(e) => errors.push(task_error("source", e)),
        }
        match convert_end {
            Ok((result, counts)) => {
                summary.dead_lettered = counts.dead_lettered;
                summary.skipped = counts.skipped;
                summary.heartbeats = counts.heartbeats;
                errors.extend(result.err());
            }
            Err(e) => errors.push(task_error("convert", e)),
        }
        match sink_end {
            Ok(end) => {
                summary.records_sent = end.sent;
                summary.records_delivered = end.delivered;
                summary.acknowledged = end.position.as_ref().map(|p| p.lsn);
                summary.sink_replacements = end.replacements;
                errors.extend(end.error);
            }
            Err(e) => errors.push(task_error("sink", e)),
        }
        match offsets_end {
            Ok((stored, result)) => {
                summary.offset = stored;
                errors.extend(result.err().map(PipelineError::from));
            }
            Err(e) => errors.push(task_error("offsets", e)),
        }
        summary.elapsed = started.elapsed();
        tracing::info!(
            events = summary.events,
            records_sent = summary.records_sent,
            records_delivered = summary.records_delivered,
            acknowledged = ?summary.acknowledged.map(|l| l.to_string()),
            elapsed_ms = summary.elapsed.as_millis() as u64,
            "pipeline stopped"
        );
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    }
}
