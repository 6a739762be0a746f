//! The convert stage: events in, serialized records and delivery markers out.
//!
//! ```text
//!  events ─► EnvelopeBuilder ─┬─ no transforms, JSON key = value converter ─► process_json ──────┐
//!                             └─ otherwise ─► process ─► TransformChain ─► key/value converters ─┤
//!                                                                                                ▼
//!             records + positions + markers ("when ≤ n are delivered, offset O is done") ─► sink stage
//! ```
//!
//! Failures: envelope errors follow `event.processing.failure.handling.mode`;
//! transform and converter errors follow `errors.tolerance`, and with a
//! dead-letter topic the failed record goes there (tracked like any other).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tidewater_connect::{
    ConnectError, ConnectRecord, JsonConverter, JsonConverterConfig, Schema, Value,
};
use tidewater_envelope::{EnvelopeBuilder, JsonRecords};
use tidewater_kafka::{Header, ProducerRecord};
use tidewater_pgoutput::{
    ChangeEvent, ChangeKind, Column, Relation, TransactionBegin, TransactionCommit,
    TransactionEvent, TupleData, TypeInfo, pg_to_unix_micros,
};
use tidewater_postgres::{CatalogChanges, SNAPSHOT_XID};
use tidewater_transforms::{TransformChain, TransformError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::RecordConverter;
use super::catalog::SourceCatalog;
use crate::POSITION_HEADER;
use crate::delivery::Position;
use crate::error::{ErrorStage, PipelineError};
use crate::metrics::{ErrorKind, Metrics, Queue};
use crate::offsets::{SnapshotState, SourceOffset};
use crate::settings::{ErrorTolerance, FailureHandling, RuntimeSettings};

/// What the source stage hands the convert stage.
pub(super) enum SourceItem {
    /// Events, with the catalog facts learned before them. The permit holds
    /// their room in `max.queue.size` until they are converted.
    Events {
        events: Vec<TransactionEvent>,
        catalog: CatalogChanges,
        _permit: Option<OwnedSemaphorePermit>,
    },
    /// Time for a heartbeat record.
    Heartbeat,
}

/// What the convert stage hands the sink stage.
pub(super) struct Outgoing {
    /// Serialized records, in order.
    pub(super) records: Vec<ProducerRecord>,
    /// `(n, offset)`: `offset` is done once the first `n` records of this
    /// hand-off (and everything before it) are delivered.
    pub(super) marks: Vec<(usize, SourceOffset)>,
    /// Estimated bytes of the records.
    pub(super) bytes: u64,
    /// Room in `max.queue.size` (records) and `max.queue.size.in.bytes`, held
    /// until the records are delivered.
    pub(super) permits: Vec<OwnedSemaphorePermit>,
}

/// Counts for the run summary.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ConvertCounts {
    pub(super) records: u64,
    pub(super) dead_lettered: u64,
    pub(super) skipped: u64,
    pub(super) heartbeats: u64,
}

/// Per-table event counts of one batch.
struct Tally {
    relation: Arc<Relation>,
    name: String,
    seen: u64,
    produced: u64,
    filtered: u64,
}

/// A record that failed a transform or a converter.
struct Failure {
    stage: ErrorStage,
    /// The transform's alias or the converter's class.
    class: String,
    message: String,
    /// The record's topic and partition before the transforms.
    topic: Arc<str>,
    partition: Option<i32>,
}

/// Room the stage may take in the queue towards the sink.
pub(super) struct Budget {
    /// The source stage's room in `max.queue.size` (events), for the gauge.
    pub(super) events: Arc<Semaphore>,
    pub(super) records: Arc<Semaphore>,
    pub(super) max_records: usize,
    pub(super) bytes: Option<(Arc<Semaphore>, usize)>,
}

pub(super) struct ConvertStage {
    builder: EnvelopeBuilder,
    types: HashMap<u32, TypeInfo>,
    catalog: Option<Arc<SourceCatalog>>,
    chain: TransformChain,
    key_converter: RecordConverter,
    value_converter: RecordConverter,
    /// The converter of the direct JSON path, when it applies.
    fast: Option<JsonConverter>,
    json: JsonRecords,
    /// `(end, position)`: records of `json` before `end` (and after the
    /// previous entry's end) have `position`.
    json_positions: Vec<(usize, Option<Position>)>,
    scratch: Vec<ConnectRecord>,
    settings: Arc<RuntimeSettings>,
    metrics: Arc<Metrics>,
    out: mpsc::Sender<Outgoing>,
    budget: Budget,
    chunk_limit: usize,
    records: Vec<ProducerRecord>,
    marks: Vec<(usize, SourceOffset)>,
    in_snapshot: bool,
    snapshot: SnapshotState,
    snapshot_rows: u64,
    /// The last complete offset (what snapshot progress markers build on).
    last: SourceOffset,
    tables: HashMap<u32, Tally>,
    counts: ConvertCounts,
    dlq_topic: Option<Arc<str>>,
    /// The JSON writer for structured header values.
    header_json: JsonConverter,
    /// What the offset store holds (see [`Self::hand_on_snapshot_end`]).
    stored: watch::Receiver<Option<SourceOffset>>,
    stop: CancellationToken,
}

pub(super) struct ConvertParts {
    pub(super) builder: EnvelopeBuilder,
    pub(super) catalog: Option<Arc<SourceCatalog>>,
    pub(super) chain: TransformChain,
    pub(super) key_converter: RecordConverter,
    pub(super) value_converter: RecordConverter,
    pub(super) settings: Arc<RuntimeSettings>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) out: mpsc::Sender<Outgoing>,
    pub(super) budget: Budget,
    pub(super) resume: Option<SourceOffset>,
    /// The offsets the offset writer stored.
    pub(super) stored: watch::Receiver<Option<SourceOffset>>,
    pub(super) stop: CancellationToken,
}

impl ConvertStage {
    pub(super) fn new(parts: ConvertParts) -> Self {
        let fast = match (&parts.key_converter, &parts.value_converter) {
            (RecordConverter::Json(k), RecordConverter::Json(v))
                if parts.chain.is_empty() && k.config() == v.config() =>
            {
                Some(*v)
            }
            _ => None,
        };
        let resume = parts.resume.unwrap_or_default();
        let chunk_limit = parts
            .settings
            .max_batch_size
            .min(parts.budget.max_records)
            .max(1);
        let dlq_topic = parts
            .settings
            .dead_letter_queue
            .as_ref()
            .filter(|_| parts.settings.errors_tolerance == ErrorTolerance::All)
            .map(|d| Arc::from(d.topic.as_str()));
        ConvertStage {
            builder: parts.builder,
            types: HashMap::new(),
            catalog: parts.catalog,
            chain: parts.chain,
            key_converter: parts.key_converter,
            value_converter: parts.value_converter,
            fast,
            json: JsonRecords::new(),
            json_positions: Vec::new(),
            scratch: Vec::new(),
            settings: parts.settings,
            metrics: parts.metrics,
            out: parts.out,
            budget: parts.budget,
            chunk_limit,
            records: Vec::new(),
            marks: Vec::new(),
            in_snapshot: false,
            snapshot: resume.snapshot,
            snapshot_rows: 0,
            last: resume,
            tables: HashMap::new(),
            counts: ConvertCounts::default(),
            dlq_topic,
            header_json: JsonConverter::new(JsonConverterConfig {
                schemas_enable: false,
                ..JsonConverterConfig::default()
            }),
            stored: parts.stored,
            stop: parts.stop,
        }
    }

    /// Whether the direct JSON path is in use.
    pub(super) fn direct_json(&self) -> bool {
        self.fast.is_some()
    }

    pub(super) fn counts(&self) -> ConvertCounts {
        self.counts
    }

    /// Converts everything the source stage sends until it stops. Returns
    /// early (without error) when the sink stage is gone.
    pub(super) async fn run(
        &mut self,
        mut input: mpsc::Receiver<SourceItem>,
    ) -> Result<(), PipelineError> {
        while let Some(item) = input.recv().await {
            let alive = match item {
                SourceItem::Events {
                    events,
                    catalog,
                    _permit,
                } => {
                    self.apply_catalog(catalog);
                    let alive = self.events(&events).await?;
                    drop(_permit);
                    self.metrics.set_queue_depth(
                        Queue::Source,
                        self.budget
                            .max_records
                            .saturating_sub(self.budget.events.available_permits()),
                    );
                    alive
                }
                SourceItem::Heartbeat => self.heartbeat().await?,
            };
            if !alive {
                break;
            }
        }
        Ok(())
    }

    fn apply_catalog(&mut self, changes: CatalogChanges) {
        for info in changes.types {
            self.types.insert(info.oid, info);
        }
        if let Some(catalog) = &self.catalog {
            for table in &changes.tables {
                if catalog.update(table) {
                    self.builder.invalidate(table.oid);
                }
            }
        }
    }

    fn chunk_len(&self) -> usize {
        self.records.len() + self.json.len()
    }

    async fn events(&mut self, events: &[TransactionEvent]) -> Result<bool, PipelineError> {
        self.metrics.set_queue_depth(Queue::Convert, events.len());
        let mut last_event = None;
        for event in events {
            match event {
                TransactionEvent::Begin(begin) => self.begin(begin),
                TransactionEvent::Change(change) => {
                    self.change(change)?;
                    last_event = Some((change.commit_time, change.lsn));
                }
                TransactionEvent::Commit(commit) => {
                    let completed_snapshot = self.commit(event, commit)?;
                    if completed_snapshot && !self.hand_on_snapshot_end().await? {
                        return Ok(false);
                    }
                }
                _ => {}
            }
            if self.chunk_len() >= self.chunk_limit && !self.flush().await? {
                return Ok(false);
            }
        }
        let alive = self.flush().await?;
        if let Some((commit_time, lsn)) = last_event {
            self.metrics
                .set_last_event(pg_to_unix_micros(commit_time), lsn);
        }
        for tally in self.tables.values_mut() {
            if tally.seen > 0 || tally.produced > 0 {
                self.metrics.add_table_events(
                    &tally.name,
                    tally.seen,
                    tally.produced,
                    tally.filtered,
                );
                tally.seen = 0;
                tally.produced = 0;
                tally.filtered = 0;
            }
        }
        self.metrics.set_queue_depth(Queue::Convert, 0);
        Ok(alive)
    }

    fn begin(&mut self, begin: &TransactionBegin) {
        self.builder.begin(begin);
        if begin.xid == SNAPSHOT_XID {
            self.in_snapshot = true;
            self.snapshot_rows = 0;
            self.snapshot = SnapshotState::InProgress { rows_delivered: 0 };
            let offset = self.snapshot_offset();
            self.marks.push((self.chunk_len(), offset));
        }
    }

    fn snapshot_offset(&self) -> SourceOffset {
        SourceOffset {
            snapshot: SnapshotState::InProgress {
                rows_delivered: self.snapshot_rows,
            },
            ..self.last.clone()
        }
    }

    fn change(&mut self, change: &ChangeEvent) -> Result<(), PipelineError> {
        let position = Position::new(change.commit_lsn, change.index);
        if matches!(change.kind, ChangeKind::Read { .. }) {
            self.snapshot_rows += 1;
        }
        let produced = match &self.fast {
            Some(conv) => {
                let before = self.json.len();
                match self
                    .builder
                    .change_json(change, &self.types, conv, &mut self.json)
                {
                    Ok(()) => {
                        if self.json.len() > before {
                            self.json_positions.push((self.json.len(), Some(position)));
                        }
                        self.json.len() - before
                    }
                    // Build the records to tell envelope errors from converter errors.
                    Err(_) => self.change_records(change, position)?,
                }
            }
            None => self.change_records(change, position)?,
        };
        if let Some(relation) = &change.relation {
            let tally = self.tables.entry(relation.oid).or_insert_with(|| Tally {
                relation: Arc::clone(relation),
                name: table_name(relation),
                seen: 0,
                produced: 0,
                filtered: 0,
            });
            if !Arc::ptr_eq(&tally.relation, relation) {
                tally.name = table_name(relation);
                tally.relation = Arc::clone(relation);
            }
            tally.seen += 1;
            tally.produced += produced as u64;
            if produced == 0 {
                tally.filtered += 1;
            }
        } else if change.xid.is_none() {
            // A message outside any transaction is its own position.
            let offset = SourceOffset {
                lsn: change.commit_lsn,
                lsn_commit: Some(change.commit_lsn),
                tx_id: None,
                ts_usec: Some(pg_to_unix_micros(change.commit_time)),
                snapshot: self.snapshot,
            };
            self.last = offset.clone();
            self.marks.push((self.chunk_len(), offset));
        }
        Ok(())
    }

    fn change_records(
        &mut self,
        change: &ChangeEvent,
        position: Position,
    ) -> Result<usize, PipelineError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let result = match self.builder.change(change, &self.types, &mut scratch) {
            Ok(()) => {
                let mut produced = 0;
                let mut result = Ok(0);
                for record in scratch.drain(..) {
                    match self.route(record, Some(position), Some(change)) {
                        Ok(n) => produced += n,
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
                result.map(|_: usize| produced)
            }
            Err(e) => {
                let table = change
                    .relation
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), table_name);
                self.envelope_failure(e, position, table).map(|()| 0)
            }
        };
        scratch.clear();
        self.scratch = scratch;
        result
    }

    /// Converts a commit; returns whether it completed the snapshot.
    fn commit(
        &mut self,
        event: &TransactionEvent,
        commit: &TransactionCommit,
    ) -> Result<bool, PipelineError> {
        let position = Position::new(commit.commit_lsn, commit.event_count);
        match &self.fast {
            Some(conv) => {
                let before = self.json.len();
                match self
                    .builder
                    .process_json(event, &self.types, conv, &mut self.json)
                {
                    Ok(()) => {
                        if self.json.len() > before {
                            self.json_positions.push((self.json.len(), Some(position)));
                        }
                    }
                    Err(e) => self.envelope_failure(e, position, "-".to_owned())?,
                }
            }
            None => {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                self.builder.commit(commit, &mut scratch);
                let mut result = Ok(());
                for record in scratch.drain(..) {
                    if let Err(e) = self.route(record, Some(position), None) {
                        result = Err(e);
                        break;
                    }
                }
                scratch.clear();
                self.scratch = scratch;
                result?;
            }
        }
        let completed = commit.xid == SNAPSHOT_XID && self.in_snapshot;
        let offset = if completed {
            self.in_snapshot = false;
            self.snapshot = SnapshotState::Completed;
            SourceOffset {
                lsn: commit.end_lsn.max(self.last.lsn),
                snapshot: SnapshotState::Completed,
                ..self.last.clone()
            }
        } else {
            SourceOffset {
                lsn: commit.end_lsn,
                lsn_commit: Some(commit.commit_lsn),
                tx_id: Some(commit.xid),
                ts_usec: Some(pg_to_unix_micros(commit.commit_time)),
                snapshot: self.snapshot,
            }
        };
        self.last = offset.clone();
        self.marks.push((self.chunk_len(), offset));
        Ok(completed)
    }

    /// Hands on the snapshot's last records, then waits until the offset
    /// store holds the finished snapshot before converting what follows.
    /// Otherwise a crash after records of the stream reached the sink, but
    /// before the next periodic offset write, would find the snapshot
    /// incomplete and take it again from a new slot. Stops waiting when the
    /// pipeline shuts down or the offset writer is gone. `false` when the
    /// sink stage is gone.
    async fn hand_on_snapshot_end(&mut self) -> Result<bool, PipelineError> {
        if !self.flush().await? {
            return Ok(false);
        }
        let at = self.last.lsn;
        let stop = self.stop.clone();
        tokio::select! {
            _ = self.stored.wait_for(|s| {
                s.as_ref().is_some_and(|o| o.snapshot == SnapshotState::Completed && o.lsn >= at)
            }) => {}
            () = stop.cancelled() => {}
        }
        Ok(true)
    }

    async fn heartbeat(&mut self) -> Result<bool, PipelineError> {
        let record = self.builder.heartbeat();
        self.counts.heartbeats += 1;
        self.metrics.add_heartbeats(1);
        match &self.fast {
            Some(conv) => match self.json.push_record(conv, &record) {
                Ok(()) => self.json_positions.push((self.json.len(), None)),
                Err(e) => {
                    let failure = Failure {
                        stage: ErrorStage::ValueConverter,
                        class: self.value_converter.class_name().to_owned(),
                        message: e.to_string(),
                        topic: record.topic.clone(),
                        partition: record.partition,
                    };
                    let fatal = PipelineError::Converter {
                        stage: ErrorStage::ValueConverter,
                        topic: record.topic.to_string(),
                        position: None,
                        source: Box::new(e),
                    };
                    self.tolerate(failure, Some(&record), None, None, fatal)?;
                }
            },
            None => {
                self.route(record, None, None)?;
            }
        }
        self.flush().await
    }

    fn envelope_failure(
        &mut self,
        error: tidewater_envelope::EnvelopeError,
        position: Position,
        table: String,
    ) -> Result<(), PipelineError> {
        self.metrics.add_errors(ErrorKind::Conversion, 1);
        match self.settings.failure_handling {
            FailureHandling::Warn => {
                tracing::warn!(
                    %position,
                    table,
                    error = %error,
                    "skipping an event that cannot become a record \
                     (event.processing.failure.handling.mode=warn)"
                );
            }
            FailureHandling::Skip => {
                tracing::debug!(%position, table, error = %error, "skipping an event");
            }
            _ => {
                return Err(PipelineError::Envelope {
                    position,
                    table,
                    source: Box::new(error),
                });
            }
        }
        self.counts.skipped += 1;
        self.metrics.add_errors(ErrorKind::Skipped, 1);
        Ok(())
    }

    /// Transforms and serializes one record; returns 1 when it is produced, 0
    /// when a transform dropped it or it failed and was tolerated.
    fn route(
        &mut self,
        record: ConnectRecord,
        position: Option<Position>,
        event: Option<&ChangeEvent>,
    ) -> Result<usize, PipelineError> {
        let original = if self.chain.is_empty() || self.dlq_topic.is_none() {
            None
        } else {
            Some(record.clone())
        };
        let record = if self.chain.is_empty() {
            record
        } else {
            let topic = record.topic.clone();
            let partition = record.partition;
            match self.chain.apply(record) {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(0),
                Err(e) => {
                    let failure = Failure {
                        stage: ErrorStage::Transformation,
                        class: transform_alias(&e),
                        message: e.to_string(),
                        topic: topic.clone(),
                        partition,
                    };
                    let fatal = PipelineError::Transform {
                        topic: topic.to_string(),
                        position,
                        source: Box::new(e),
                    };
                    return self.tolerate(failure, original.as_ref(), position, event, fatal);
                }
            }
        };
        let key = match self.key_converter.serialize(
            &record.topic,
            record.key_schema.as_deref(),
            record.key.as_ref(),
        ) {
            Ok(key) => key,
            Err(e) => {
                let stage = ErrorStage::KeyConverter;
                return self.converter_failure(stage, e, &record, original, position, event);
            }
        };
        let value = match self.value_converter.serialize(
            &record.topic,
            record.value_schema.as_deref(),
            record.value.as_ref(),
        ) {
            Ok(value) => value,
            Err(e) => {
                let stage = ErrorStage::ValueConverter;
                return self.converter_failure(stage, e, &record, original, position, event);
            }
        };
        let headers = match self.headers(&record, position) {
            Ok(h) => h,
            Err(e) => {
                return self.converter_failure(
                    ErrorStage::HeaderConverter,
                    e,
                    &record,
                    original,
                    position,
                    event,
                );
            }
        };
        self.materialize_json();
        self.records.push(ProducerRecord {
            topic: record.topic,
            partition: record.partition,
            key,
            value,
            headers,
            timestamp: record.timestamp,
        });
        self.counts.records += 1;
        Ok(1)
    }

    fn converter_failure(
        &mut self,
        stage: ErrorStage,
        error: ConnectError,
        record: &ConnectRecord,
        original: Option<ConnectRecord>,
        position: Option<Position>,
        event: Option<&ChangeEvent>,
    ) -> Result<usize, PipelineError> {
        let class = match stage {
            ErrorStage::KeyConverter => self.key_converter.class_name().to_owned(),
            ErrorStage::HeaderConverter => HEADER_CONVERTER_CLASS.to_owned(),
            _ => self.value_converter.class_name().to_owned(),
        };
        let failure = Failure {
            stage,
            class,
            message: error.to_string(),
            topic: original
                .as_ref()
                .map_or_else(|| record.topic.clone(), |o| o.topic.clone()),
            partition: original.as_ref().map_or(record.partition, |o| o.partition),
        };
        let fatal = PipelineError::Converter {
            stage,
            topic: record.topic.to_string(),
            position,
            source: Box::new(error),
        };
        let original = original.as_ref().unwrap_or(record);
        self.tolerate(failure, Some(original), position, event, fatal)
    }

    /// `errors.tolerance`: fail, or skip (dead-lettering the original record).
    fn tolerate(
        &mut self,
        failure: Failure,
        original: Option<&ConnectRecord>,
        position: Option<Position>,
        event: Option<&ChangeEvent>,
        fatal: PipelineError,
    ) -> Result<usize, PipelineError> {
        let kind = match failure.stage {
            ErrorStage::Transformation => ErrorKind::Transform,
            _ => ErrorKind::Conversion,
        };
        self.metrics.add_errors(kind, 1);
        if self.settings.errors_tolerance != ErrorTolerance::All {
            return Err(fatal);
        }
        self.counts.skipped += 1;
        self.metrics.add_errors(ErrorKind::Skipped, 1);
        if self.settings.errors_log_enable {
            if self.settings.errors_log_include_messages {
                tracing::warn!(
                    stage = failure.stage.as_str(),
                    class = %failure.class,
                    topic = %failure.topic,
                    position = ?position.map(|p| p.to_string()),
                    error = %failure.message,
                    "skipping a record (errors.tolerance=all)"
                );
            } else {
                tracing::warn!(
                    stage = failure.stage.as_str(),
                    class = %failure.class,
                    error = %failure.message,
                    "skipping a record (errors.tolerance=all)"
                );
            }
        }
        if let Some(topic) = self.dlq_topic.clone() {
            let record = self.dead_letter(topic, &failure, original, position, event);
            self.materialize_json();
            self.records.push(record);
            self.counts.dead_lettered += 1;
            self.metrics.add_errors(ErrorKind::DeadLettered, 1);
        }
        Ok(0)
    }

    /// The dead-letter record: the original record serialized with the
    /// converters (or, when that fails too, the raw change as JSON) with
    /// Kafka Connect's error headers.
    fn dead_letter(
        &self,
        topic: Arc<str>,
        failure: &Failure,
        original: Option<&ConnectRecord>,
        position: Option<Position>,
        event: Option<&ChangeEvent>,
    ) -> ProducerRecord {
        let serialized = original.map(|o| {
            let key =
                self.key_converter
                    .serialize(&o.topic, o.key_schema.as_deref(), o.key.as_ref());
            let value = self.value_converter.serialize(
                &o.topic,
                o.value_schema.as_deref(),
                o.value.as_ref(),
            );
            (key, value)
        });
        let (key, value) = match serialized {
            Some((Ok(key), Ok(value))) => (key, value),
            Some((key, _)) => (
                key.ok().flatten(),
                Some(raw_change_json(event, &failure.topic)),
            ),
            None => (None, Some(raw_change_json(event, &failure.topic))),
        };
        let mut headers = Vec::with_capacity(10);
        if let Some(p) = position.filter(|_| self.settings.position_headers) {
            headers.push(Header::new(POSITION_HEADER, p.to_string()));
        }
        let context = self
            .settings
            .dead_letter_queue
            .as_ref()
            .is_some_and(|d| d.context_headers);
        if context {
            headers.push(Header::new(
                "__connect.errors.topic",
                failure.topic.to_string(),
            ));
            if let Some(partition) = failure.partition {
                headers.push(Header::new(
                    "__connect.errors.partition",
                    partition.to_string(),
                ));
            }
            headers.push(Header::new(
                "__connect.errors.connector.name",
                self.settings.name.clone(),
            ));
            headers.push(Header::new("__connect.errors.task.id", "0"));
            headers.push(Header::new(
                "__connect.errors.stage",
                failure.stage.as_str(),
            ));
            headers.push(Header::new(
                "__connect.errors.class.name",
                failure.class.clone(),
            ));
        }
        headers.push(Header::new(
            "__connect.errors.exception.class.name",
            DATA_EXCEPTION,
        ));
        headers.push(Header::new(
            "__connect.errors.exception.message",
            failure.message.clone(),
        ));
        ProducerRecord {
            topic,
            partition: None,
            key,
            value,
            headers,
            timestamp: None,
        }
    }

    /// The record's headers as Kafka headers, plus the position header.
    fn headers(
        &self,
        record: &ConnectRecord,
        position: Option<Position>,
    ) -> Result<Vec<Header>, ConnectError> {
        let mut headers = Vec::with_capacity(record.headers.len() + 1);
        for h in record.headers.iter() {
            headers.push(Header {
                key: h.key.clone(),
                value: header_bytes(&self.header_json, h.schema.as_deref(), h.value.as_ref())?,
            });
        }
        if let Some(p) = position.filter(|_| self.settings.position_headers) {
            headers.push(Header::new(POSITION_HEADER, p.to_string()));
        }
        Ok(headers)
    }

    /// Moves the direct path's JSON records into `records` (one copy of the
    /// buffer, each record a slice of it).
    fn materialize_json(&mut self) {
        if self.json.is_empty() {
            return;
        }
        let buffer = Bytes::copy_from_slice(self.json.bytes());
        let base = self.json.bytes().as_ptr() as usize;
        let slice = |part: Option<&[u8]>| {
            part.map(|p| {
                let start = (p.as_ptr() as usize).saturating_sub(base);
                buffer.slice(start..start + p.len())
            })
        };
        let mut positions = self.json_positions.iter().peekable();
        self.records.reserve(self.json.len());
        for (i, record) in self.json.iter().enumerate() {
            while positions.peek().is_some_and(|(end, _)| *end <= i) {
                positions.next();
            }
            let position = positions.peek().and_then(|(_, p)| *p);
            let mut headers = Vec::new();
            if let Some(p) = position.filter(|_| self.settings.position_headers) {
                headers.push(Header::new(POSITION_HEADER, p.to_string()));
            }
            self.records.push(ProducerRecord {
                topic: Arc::clone(record.topic),
                partition: None,
                key: slice(record.key),
                value: slice(record.value),
                headers,
                timestamp: None,
            });
        }
        self.counts.records += self.json.len() as u64;
        self.json.clear();
        self.json_positions.clear();
    }

    /// Hands the records and markers gathered so far to the sink stage,
    /// waiting for room. `false` when the sink stage is gone.
    async fn flush(&mut self) -> Result<bool, PipelineError> {
        self.materialize_json();
        if self.in_snapshot {
            let offset = self.snapshot_offset();
            self.marks.push((self.records.len(), offset));
        }
        if self.records.is_empty() && self.marks.is_empty() {
            return Ok(true);
        }
        let records = std::mem::take(&mut self.records);
        let marks = std::mem::take(&mut self.marks);
        let bytes: usize = records.iter().map(ProducerRecord::estimated_size).sum();
        let mut permits = Vec::with_capacity(2);
        let wanted = records.len().min(self.budget.max_records);
        if wanted > 0 {
            let Ok(p) = Arc::clone(&self.budget.records)
                .acquire_many_owned(permit_count(wanted))
                .await
            else {
                return Ok(false);
            };
            permits.push(p);
        }
        if let Some((semaphore, max)) = &self.budget.bytes {
            let wanted = bytes.min(*max);
            if wanted > 0 {
                let Ok(p) = Arc::clone(semaphore)
                    .acquire_many_owned(permit_count(wanted))
                    .await
                else {
                    return Ok(false);
                };
                permits.push(p);
            }
        }
        self.metrics.set_queue_depth(
            Queue::Sink,
            self.budget
                .max_records
                .saturating_sub(self.budget.records.available_permits()),
        );
        let outgoing = Outgoing {
            records,
            marks,
            bytes: bytes as u64,
            permits,
        };
        Ok(self.out.send(outgoing).await.is_ok())
    }
}

/// Permits for `n` units, within what a semaphore hands out at once.
pub(super) fn permit_count(n: usize) -> u32 {
    u32::try_from(n.min(Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX)
}

/// The class Kafka Connect names in `__connect.errors.exception.class.name`
/// for data that cannot be transformed or converted.
const DATA_EXCEPTION: &str = "org.apache.kafka.connect.errors.DataException";

/// Kafka Connect's default header converter.
const HEADER_CONVERTER_CLASS: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

fn table_name(relation: &Relation) -> String {
    format!("{}.{}", relation.namespace, relation.name)
}

fn transform_alias(error: &TransformError) -> String {
    match error {
        TransformError::Record { alias, .. } | TransformError::Config { alias, .. } => {
            alias.clone()
        }
        _ => String::new(),
    }
}

/// A header value as Kafka Connect's `SimpleHeaderConverter` writes it: text
/// for strings, numbers and booleans, base64 for bytes, JSON for structs,
/// maps and arrays; null stays null.
pub(crate) fn header_bytes(
    json: &JsonConverter,
    schema: Option<&Schema>,
    value: Option<&Value>,
) -> Result<Option<Bytes>, ConnectError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let text = match value {
        Value::String(s) => return Ok(Some(Bytes::copy_from_slice(s.as_str().as_bytes()))),
        Value::Boolean(b) => b.to_string(),
        Value::Int8(v) => v.to_string(),
        Value::Int16(v) => v.to_string(),
        Value::Int32(v) => v.to_string(),
        Value::Int64(v) => v.to_string(),
        Value::Float32(v) => java_double(f64::from(*v)),
        Value::Float64(v) => java_double(*v),
        Value::Decimal(d) => d.to_string(),
        Value::Bytes(b) => {
            let mut out = Vec::with_capacity(b.len() * 4 / 3 + 4);
            tidewater_connect::write_json_base64(&mut out, b);
            let inner = out
                .strip_prefix(b"\"")
                .and_then(|o| o.strip_suffix(b"\""))
                .unwrap_or(&out);
            return Ok(Some(Bytes::copy_from_slice(inner)));
        }
        _ => {
            let mut out = Vec::new();
            json.write(schema, Some(value), &mut out)?;
            return Ok(Some(Bytes::from(out)));
        }
    };
    Ok(Some(Bytes::from(text)))
}

/// Java's `Double.toString`: `1.0`, `0.5`, `1.0E10`, `1.5E-5`, `NaN`, `Infinity`.
fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let magnitude = v.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let text = v.to_string();
        if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        }
    } else {
        let text = format!("{v:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        if mantissa.contains('.') {
            format!("{mantissa}E{exponent}")
        } else {
            format!("{mantissa}.0E{exponent}")
        }
    }
}

/// The raw change as JSON text, for dead-letter records whose record cannot
/// be serialized: position, transaction, table, operation and column texts.
fn raw_change_json(event: Option<&ChangeEvent>, topic: &str) -> Bytes {
    let Some(event) = event else {
        return Bytes::from(serde_json::json!({ "topic": topic }).to_string());
    };
    let columns = |tuple: &TupleData| -> serde_json::Value {
        tuple.iter().map(column_json).collect::<Vec<_>>().into()
    };
    let (new, old) = match &event.kind {
        ChangeKind::Insert { new } | ChangeKind::Read { new, .. } => (Some(columns(new)), None),
        ChangeKind::Update { old, new } => {
            (Some(columns(new)), old.as_ref().map(|o| columns(o.tuple())))
        }
        ChangeKind::Delete { old } => (None, Some(columns(old.tuple()))),
        _ => (None, None),
    };
    let names = event
        .relation
        .as_ref()
        .map(|r| r.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>());
    let json = serde_json::json!({
        "topic": topic,
        "position": Position::new(event.commit_lsn, event.index).to_string(),
        "lsn": event.lsn.0,
        "commit_lsn": event.commit_lsn.0,
        "xid": event.xid,
        "op": event.kind.op_code().to_string(),
        "schema": event.relation.as_ref().map(|r| r.namespace.clone()),
        "table": event.relation.as_ref().map(|r| r.name.clone()),
        "columns": names,
        "new": new,
        "old": old,
    });
    Bytes::from(json.to_string())
}

fn column_json(column: Column<'_>) -> serde_json::Value {
    match column {
        Column::Null => serde_json::Value::Null,
        Column::UnchangedToast => serde_json::json!({ "unchanged_toast": true }),
        Column::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
        Column::Binary(b) => {
            let mut hex = String::with_capacity(2 + b.len() * 2);
            hex.push_str("\\x");
            for byte in b {
                hex.push_str(&format!("{byte:02x}"));
            }
            serde_json::json!({ "binary": hex })
        }
        _ => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn doubles_print_like_java() {
        for (v, text) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (0.0, "0.0"),
            (1e10, "1.0E10"),
            (1.5e-5, "1.5E-5"),
            (123_456.7, "123456.7"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(java_double(v), text);
        }
    }

    #[test]
    fn header_values_follow_the_simple_header_converter() {
        let json = JsonConverter::new(JsonConverterConfig {
            schemas_enable: false,
            ..JsonConverterConfig::default()
        });
        let h = |v: Value| header_bytes(&json, None, Some(&v)).unwrap().unwrap();
        assert_eq!(&h(Value::from("x"))[..], b"x");
        assert_eq!(&h(Value::Int32(-3))[..], b"-3");
        assert_eq!(&h(Value::Boolean(true))[..], b"true");
        assert_eq!(&h(Value::Bytes(Bytes::from_static(b"hi")))[..], b"aGk=");
        assert_eq!(header_bytes(&json, None, None).unwrap(), None);
    }
}
