//! Counters and gauges of a running pipeline, readable as a [`MetricsSnapshot`] or in the
//! Prometheus text exposition format.
//!
//! A pipeline records into one [`Metrics`] shared (`Arc`) between its tasks; any number of
//! readers take [`snapshot`](Metrics::snapshot)s or
//! [`render_prometheus`](Metrics::render_prometheus) at any time. Recording is a few atomic
//! additions; per-table counters are meant to be added once per batch and table.
//!
//! # Lag
//!
//! * **`lag_ms`** is, like Debezium's `MilliSecondsBehindSource`, the time between the
//!   commit of the last event and the moment the pipeline handled it
//!   ([`set_last_event`](Metrics::set_last_event)); it does not grow while the database is
//!   idle.
//! * **`lag_bytes`** is the WAL between the server's end of WAL (last reported by the
//!   source, [`set_source_stats`](Metrics::set_source_stats)) and the acknowledged position:
//!   how much WAL the slot keeps because of this pipeline.
//!
//! # Prometheus names
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `tidewater_uptime_seconds` | gauge | |
//! | `tidewater_table_events_seen_total`, `_produced_total`, `_filtered_total` | counter | `table` |
//! | `tidewater_errors_total` | counter | `kind`: `conversion`, `transform`, `sink`, `source`, `dead_lettered`, `skipped` |
//! | `tidewater_queue_depth` | gauge | `queue`: `source`, `convert`, `sink` |
//! | `tidewater_lag_milliseconds`, `tidewater_lag_bytes` | gauge | (absent until known) |
//! | `tidewater_last_acknowledged_lsn`, `tidewater_last_event_lsn` | gauge | |
//! | `tidewater_last_event_commit_timestamp_seconds` | gauge | (absent until an event) |
//! | `tidewater_records_delivered_total`, `tidewater_delivered_bytes_total`, `tidewater_heartbeats_total` | counter | |
//! | `tidewater_source_frames_received_total`, `_received_bytes_total`, `_keepalives_received_total`, `_events_total`, `_reconnects_total`, `_idle_advances_total` | counter | |
//! | `tidewater_source_last_received_lsn`, `_server_wal_end_lsn`, `_reported_lsn`, `_queued_frames` | gauge | |
//! | `tidewater_snapshot_rows_read_total`, `tidewater_snapshot_completed` | counter, gauge | (once a snapshot reported) |
//! | `tidewater_snapshot_table_rows_read_total`, `_rows_estimated`, `_done` | counter, gauges | `schema`, `table` |
//!
//! Positions (LSNs) are exported as numbers, Debezium's form of them.
//!
//! ```
//! use tidewater::metrics::{ErrorKind, Metrics, Queue};
//! use tidewater::pgoutput::Lsn;
//!
//! let metrics = Metrics::new();
//! metrics.add_table_events("public.orders", 10, 9, 1);
//! metrics.add_errors(ErrorKind::Transform, 1);
//! metrics.set_queue_depth(Queue::Sink, 128);
//! metrics.set_last_acknowledged(Lsn::new(0x1_0000));
//!
//! let snapshot = metrics.snapshot();
//! assert_eq!(snapshot.tables["public.orders"].produced, 9);
//! assert_eq!(snapshot.errors[&ErrorKind::Transform], 1);
//! assert_eq!(snapshot.queue_depths[&Queue::Sink], 128);
//!
//! let text = metrics.render_prometheus();
//! assert!(text.contains("# TYPE tidewater_table_events_seen_total counter\n"));
//! assert!(text.contains("tidewater_table_events_seen_total{table=\"public.orders\"} 10\n"));
//! assert!(text.contains("tidewater_last_acknowledged_lsn 65536\n"));
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tidewater_pgoutput::Lsn;
use tidewater_postgres::{SnapshotProgress, SourceStats};

/// Kinds of errors counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An event could not be turned into a record (envelope building or a converter).
    Conversion,
    /// A transform failed on a record.
    Transform,
    /// The sink failed to deliver.
    Sink,
    /// The source failed (connection lost, protocol error).
    Source,
    /// A record went to the dead-letter topic.
    DeadLettered,
    /// An event or record was skipped (`warn`/`skip` failure handling, `errors.tolerance=all`
    /// without a dead-letter topic).
    Skipped,
}

impl ErrorKind {
    const ALL: [ErrorKind; 6] = [
        ErrorKind::Conversion,
        ErrorKind::Transform,
        ErrorKind::Sink,
        ErrorKind::Source,
        ErrorKind::DeadLettered,
        ErrorKind::Skipped,
    ];

    /// The label value in the Prometheus output (`conversion`, `dead_lettered`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Conversion => "conversion",
            ErrorKind::Transform => "transform",
            ErrorKind::Sink => "sink",
            ErrorKind::Source => "source",
            ErrorKind::DeadLettered => "dead_lettered",
            ErrorKind::Skipped => "skipped",
        }
    }

    fn index(self) -> usize {
        match self {
            ErrorKind::Conversion => 0,
            ErrorKind::Transform => 1,
            ErrorKind::Sink => 2,
            ErrorKind::Source => 3,
            ErrorKind::DeadLettered => 4,
            ErrorKind::Skipped => 5,
        }
    }
}

/// The queues between the pipeline's stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Queue {
    /// Events from the source waiting to be converted.
    Source,
    /// Records waiting for transforms and converters.
    Convert,
    /// Serialized records waiting for the sink.
    Sink,
}

impl Queue {
    const ALL: [Queue; 3] = [Queue::Source, Queue::Convert, Queue::Sink];

    /// The label value in the Prometheus output (`source`, `convert`, `sink`).
    pub fn as_str(self) -> &'static str {
        match self {
            Queue::Source => "source",
            Queue::Convert => "convert",
            Queue::Sink => "sink",
        }
    }

    fn index(self) -> usize {
        match self {
            Queue::Source => 0,
            Queue::Convert => 1,
            Queue::Sink => 2,
        }
    }
}

/// Event counts of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TableCounts {
    /// Change events received for the table.
    pub seen: u64,
    /// Records produced from them.
    pub produced: u64,
    /// Events or records dropped by filters and transforms.
    pub filtered: u64,
}

#[derive(Debug, Default)]
struct TableCounters {
    seen: AtomicU64,
    produced: AtomicU64,
    filtered: AtomicU64,
}

/// When the metrics were created.
#[derive(Debug)]
struct Started(Instant);

impl Default for Started {
    fn default() -> Self {
        Self(Instant::now())
    }
}

/// "Not known yet" in the signed gauges.
const UNKNOWN: i64 = i64::MIN;

/// Counters and gauges of a running pipeline; shared (`Arc`) between the pipeline's tasks
/// and readers. See the [module documentation](self).
#[derive(Debug)]
pub struct Metrics {
    started: Started,
    tables: RwLock<HashMap<Box<str>, Arc<TableCounters>>>,
    errors: [AtomicU64; 6],
    queues: [AtomicU64; 3],
    source: Mutex<Option<SourceStats>>,
    snapshot: Mutex<Option<SnapshotProgress>>,
    last_acknowledged: AtomicU64,
    last_event_lsn: AtomicU64,
    last_event_commit_micros: AtomicI64,
    lag_ms: AtomicI64,
    records_delivered: AtomicU64,
    bytes_delivered: AtomicU64,
    heartbeats: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Started::default(),
            tables: RwLock::default(),
            errors: Default::default(),
            queues: Default::default(),
            source: Mutex::default(),
            snapshot: Mutex::default(),
            last_acknowledged: AtomicU64::new(0),
            last_event_lsn: AtomicU64::new(0),
            last_event_commit_micros: AtomicI64::new(UNKNOWN),
            lag_ms: AtomicI64::new(UNKNOWN),
            records_delivered: AtomicU64::new(0),
            bytes_delivered: AtomicU64::new(0),
            heartbeats: AtomicU64::new(0),
        }
    }
}

/// Every metric at one moment (each value read atomically; the set as a whole is not one
/// transaction).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Time since the metrics were created.
    pub uptime: Duration,
    /// Per table, by the name the pipeline records (`schema.table`).
    pub tables: BTreeMap<String, TableCounts>,
    /// Errors per kind; every kind is present.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Items waiting per queue; every queue is present.
    pub queue_depths: BTreeMap<Queue, usize>,
    /// Milliseconds between the last event's commit and its handling; `None` before the
    /// first event.
    pub lag_ms: Option<u64>,
    /// WAL bytes between the server's end of WAL and the acknowledged position; `None`
    /// until the source reported the server's position.
    pub lag_bytes: Option<u64>,
    /// The last position acknowledged to the source: the later of what the pipeline
    /// recorded and what the source reported.
    pub last_acknowledged: Lsn,
    /// The position of the last event handled.
    pub last_event_lsn: Lsn,
    /// The commit time of the last event, microseconds since the Unix epoch.
    pub last_event_commit_micros: Option<i64>,
    /// Records the sink reported delivered.
    pub records_delivered: u64,
    /// Their bytes (keys, values and headers).
    pub bytes_delivered: u64,
    /// Heartbeats emitted.
    pub heartbeats: u64,
    /// The source's counters, once it reported them.
    pub source: Option<SourceStats>,
    /// The snapshot's progress, once a snapshot reported it.
    pub snapshot: Option<SnapshotProgress>,
}

impl MetricsSnapshot {
    /// All tables' counts added up.
    pub fn total_events(&self) -> TableCounts {
        self.tables
            .values()
            .fold(TableCounts::default(), |acc, t| TableCounts {
                seen: acc.seen.saturating_add(t.seen),
                produced: acc.produced.saturating_add(t.produced),
                filtered: acc.filtered.saturating_add(t.filtered),
            })
    }
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn known(value: i64) -> Option<i64> {
    (value != UNKNOWN).then_some(value)
}

impl Metrics {
    /// New metrics, all zero, shared.
    pub fn new() -> Arc<Metrics> {
        Arc::new(Self::default())
    }

    fn table(&self, table: &str) -> Arc<TableCounters> {
        if let Some(counters) = self
            .tables
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(table)
        {
            return Arc::clone(counters);
        }
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(tables.entry(Box::from(table)).or_default())
    }

    /// Adds one batch's counts for `table`: events `seen`, records `produced`, events or
    /// records `filtered` out.
    pub fn add_table_events(&self, table: &str, seen: u64, produced: u64, filtered: u64) {
        let counters = self.table(table);
        counters.seen.fetch_add(seen, Ordering::Relaxed);
        counters.produced.fetch_add(produced, Ordering::Relaxed);
        counters.filtered.fetch_add(filtered, Ordering::Relaxed);
    }

    /// Adds `n` errors of `kind`.
    pub fn add_errors(&self, kind: ErrorKind, n: u64) {
        if let Some(counter) = self.errors.get(kind.index()) {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Sets the number of events or records waiting in `queue`.
    pub fn set_queue_depth(&self, queue: Queue, depth: usize) {
        if let Some(gauge) = self.queues.get(queue.index()) {
            gauge.store(u64::try_from(depth).unwrap_or(u64::MAX), Ordering::Relaxed);
        }
    }

    /// Takes the source's latest counters (they replace the previous ones).
    pub fn set_source_stats(&self, stats: &SourceStats) {
        *lock(&self.source) = Some(*stats);
    }

    /// Takes the snapshot's latest progress.
    pub fn set_snapshot_progress(&self, progress: &SnapshotProgress) {
        *lock(&self.snapshot) = Some(progress.clone());
    }

    /// Records the position last acknowledged to the source.
    pub fn set_last_acknowledged(&self, lsn: Lsn) {
        self.last_acknowledged.store(lsn.value(), Ordering::Relaxed);
    }

    /// Records the last event handled: its commit time (microseconds since the Unix epoch)
    /// and position. The time lag is measured now, against the wall clock.
    pub fn set_last_event(&self, commit_time_micros: i64, lsn: Lsn) {
        let lag_ms = now_micros().saturating_sub(commit_time_micros).max(0) / 1000;
        self.last_event_commit_micros
            .store(commit_time_micros, Ordering::Relaxed);
        self.last_event_lsn.store(lsn.value(), Ordering::Relaxed);
        self.lag_ms.store(lag_ms, Ordering::Relaxed);
    }

    /// Adds `n` records the sink delivered, `bytes` bytes in all.
    pub fn add_records_delivered(&self, n: u64, bytes: u64) {
        self.records_delivered.fetch_add(n, Ordering::Relaxed);
        self.bytes_delivered.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Adds `n` heartbeats emitted.
    pub fn add_heartbeats(&self, n: u64) {
        self.heartbeats.fetch_add(n, Ordering::Relaxed);
    }

    /// Every metric, now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let tables = self
            .tables
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, c)| {
                (
                    name.to_string(),
                    TableCounts {
                        seen: c.seen.load(Ordering::Relaxed),
                        produced: c.produced.load(Ordering::Relaxed),
                        filtered: c.filtered.load(Ordering::Relaxed),
                    },
                )
            })
            .collect();
        let errors = ErrorKind::ALL
            .iter()
            .zip(&self.errors)
            .map(|(&kind, n)| (kind, n.load(Ordering::Relaxed)))
            .collect();
        let queue_depths = Queue::ALL
            .iter()
            .zip(&self.queues)
            .map(|(&queue, n)| {
                (
                    queue,
                    usize::try_from(n.load(Ordering::Relaxed)).unwrap_or(usize::MAX),
                )
            })
            .collect();
        let source = *lock(&self.source);
        let snapshot = lock(&self.snapshot).clone();
        let acknowledged = Lsn::new(self.last_acknowledged.load(Ordering::Relaxed))
            .max(source.map_or(Lsn::INVALID, |s| s.acknowledged));
        let lag_bytes = source
            .filter(|s| !s.server_wal_end.is_invalid())
            .map(|s| s.server_wal_end.saturating_distance(acknowledged));
        MetricsSnapshot {
            uptime: self.started.0.elapsed(),
            tables,
            errors,
            queue_depths,
            lag_ms: known(self.lag_ms.load(Ordering::Relaxed))
                .map(|ms| u64::try_from(ms).unwrap_or(0)),
            lag_bytes,
            last_acknowledged: acknowledged,
            last_event_lsn: Lsn::new(self.last_event_lsn.load(Ordering::Relaxed)),
            last_event_commit_micros: known(self.last_event_commit_micros.load(Ordering::Relaxed)),
            records_delivered: self.records_delivered.load(Ordering::Relaxed),
            bytes_delivered: self.bytes_delivered.load(Ordering::Relaxed),
            heartbeats: self.heartbeats.load(Ordering::Relaxed),
            source,
            snapshot,
        }
    }

    /// The metrics in the Prometheus text exposition format (version 0.0.4, content type
    /// `text/plain; version=0.0.4`): a `# HELP` and a `# TYPE` line per metric, counters
    /// named `*_total`, label values escaped (`\\`, `\"`, `\n`), names prefixed
    /// `tidewater_`. Families without a value yet are left out.
    pub fn render_prometheus(&self) -> String {
        self.snapshot().render_prometheus()
    }
}

/// A sample value.
#[derive(Debug, Clone, Copy)]
enum Number {
    Unsigned(u64),
    Signed(i64),
    Float(f64),
}

impl From<u64> for Number {
    fn from(v: u64) -> Self {
        Number::Unsigned(v)
    }
}

impl From<i64> for Number {
    fn from(v: i64) -> Self {
        Number::Signed(v)
    }
}

impl From<f64> for Number {
    fn from(v: f64) -> Self {
        Number::Float(v)
    }
}

impl From<usize> for Number {
    fn from(v: usize) -> Self {
        Number::Unsigned(u64::try_from(v).unwrap_or(u64::MAX))
    }
}

impl From<bool> for Number {
    fn from(v: bool) -> Self {
        Number::Unsigned(u64::from(v))
    }
}

impl From<Lsn> for Number {
    fn from(v: Lsn) -> Self {
        Number::Unsigned(v.value())
    }
}

/// Writes label values with the format's escapes: backslash, double quote and line feed.
fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A text exposition being written.
struct Exposition {
    out: String,
}

/// `(label values, value)` of one sample; the label names are the family's.
type Sample<'a> = (Vec<&'a str>, Number);

impl Exposition {
    /// One metric family; written only when it has samples.
    fn family<'a>(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        labels: &[&str],
        samples: impl IntoIterator<Item = Sample<'a>>,
    ) {
        let mut samples = samples.into_iter().peekable();
        if samples.peek().is_none() {
            return;
        }
        // HELP text escapes backslash and line feed; ours holds neither.
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        for (values, number) in samples {
            self.out.push_str(name);
            if !labels.is_empty() {
                self.out.push('{');
                for (i, (label, value)) in labels.iter().zip(&values).enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.out.push_str(label);
                    self.out.push_str("=\"");
                    escape_label_value(&mut self.out, value);
                    self.out.push('"');
                }
                self.out.push('}');
            }
            self.out.push(' ');
            let _ = match number {
                Number::Unsigned(v) => write!(self.out, "{v}"),
                Number::Signed(v) => write!(self.out, "{v}"),
                Number::Float(v) if v.is_nan() => write!(self.out, "NaN"),
                Number::Float(v) if v.is_infinite() && v > 0.0 => write!(self.out, "+Inf"),
                Number::Float(v) if v.is_infinite() => write!(self.out, "-Inf"),
                Number::Float(v) => write!(self.out, "{v}"),
            };
            self.out.push('\n');
        }
    }

    /// A family with one unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Into<Number>) {
        self.family(name, kind, help, &[], [(Vec::new(), value.into())]);
    }

    /// A family with one unlabelled sample when `value` is known.
    fn optional(&mut self, name: &str, kind: &str, help: &str, value: Option<impl Into<Number>>) {
        if let Some(value) = value {
            self.single(name, kind, help, value);
        }
    }
}

const COUNTER: &str = "counter";
const GAUGE: &str = "gauge";

impl MetricsSnapshot {
    /// These metrics in the Prometheus text exposition format; see
    /// [`Metrics::render_prometheus`].
    pub fn render_prometheus(&self) -> String {
        let mut x = Exposition { out: String::new() };
        x.single(
            "tidewater_uptime_seconds",
            GAUGE,
            "Seconds since the pipeline's metrics were created.",
            self.uptime.as_secs_f64(),
        );
        type Pick = fn(&TableCounts) -> u64;
        let per_table: [(&str, &str, Pick); 3] = [
            (
                "tidewater_table_events_seen_total",
                "Change events received, per table.",
                |t| t.seen,
            ),
            (
                "tidewater_table_events_produced_total",
                "Records produced, per table.",
                |t| t.produced,
            ),
            (
                "tidewater_table_events_filtered_total",
                "Events or records dropped by filters and transforms, per table.",
                |t| t.filtered,
            ),
        ];
        for (name, help, pick) in per_table {
            x.family(
                name,
                COUNTER,
                help,
                &["table"],
                self.tables
                    .iter()
                    .map(|(table, counts)| (vec![table.as_str()], pick(counts).into())),
            );
        }
        x.family(
            "tidewater_errors_total",
            COUNTER,
            "Errors, per kind.",
            &["kind"],
            self.errors
                .iter()
                .map(|(kind, n)| (vec![kind.as_str()], (*n).into())),
        );
        x.family(
            "tidewater_queue_depth",
            GAUGE,
            "Events or records waiting, per queue between stages.",
            &["queue"],
            self.queue_depths
                .iter()
                .map(|(queue, n)| (vec![queue.as_str()], (*n).into())),
        );
        x.optional(
            "tidewater_lag_milliseconds",
            GAUGE,
            "Milliseconds between the last event's commit and its handling.",
            self.lag_ms,
        );
        x.optional(
            "tidewater_lag_bytes",
            GAUGE,
            "WAL bytes between the server's end of WAL and the acknowledged position.",
            self.lag_bytes,
        );
        x.single(
            "tidewater_last_acknowledged_lsn",
            GAUGE,
            "The last position acknowledged to PostgreSQL.",
            self.last_acknowledged,
        );
        x.single(
            "tidewater_last_event_lsn",
            GAUGE,
            "The position of the last event handled.",
            self.last_event_lsn,
        );
        x.optional(
            "tidewater_last_event_commit_timestamp_seconds",
            GAUGE,
            "Commit time of the last event handled, seconds since the Unix epoch.",
            self.last_event_commit_micros
                .map(|us| us as f64 / 1_000_000.0),
        );
        x.single(
            "tidewater_records_delivered_total",
            COUNTER,
            "Records the sink reported delivered.",
            self.records_delivered,
        );
        x.single(
            "tidewater_delivered_bytes_total",
            COUNTER,
            "Bytes of the records delivered (keys, values and headers).",
            self.bytes_delivered,
        );
        x.single(
            "tidewater_heartbeats_total",
            COUNTER,
            "Heartbeats emitted.",
            self.heartbeats,
        );
        if let Some(s) = &self.source {
            self.render_source(&mut x, s);
        }
        if let Some(p) = &self.snapshot {
            render_snapshot(&mut x, p);
        }
        x.out
    }

    fn render_source(&self, x: &mut Exposition, s: &SourceStats) {
        let counters: [(&str, &str, u64); 6] = [
            (
                "tidewater_source_frames_received_total",
                "WAL data frames received from PostgreSQL.",
                s.frames_received,
            ),
            (
                "tidewater_source_received_bytes_total",
                "Bytes of WAL data frames received.",
                s.bytes_received,
            ),
            (
                "tidewater_source_keepalives_received_total",
                "Keepalive messages received.",
                s.keepalives_received,
            ),
            (
                "tidewater_source_events_total",
                "Change events the source returned.",
                s.events_delivered,
            ),
            (
                "tidewater_source_reconnects_total",
                "Reconnections after a lost replication connection.",
                s.reconnects,
            ),
            (
                "tidewater_source_idle_advances_total",
                "Acknowledgements moved over WAL holding nothing to deliver.",
                s.idle_advances,
            ),
        ];
        for (name, help, value) in counters {
            x.single(name, COUNTER, help, value);
        }
        x.single(
            "tidewater_source_last_received_lsn",
            GAUGE,
            "Position of the last WAL frame received.",
            s.last_received,
        );
        x.single(
            "tidewater_source_server_wal_end_lsn",
            GAUGE,
            "The server's end of WAL, as last reported.",
            s.server_wal_end,
        );
        x.single(
            "tidewater_source_reported_lsn",
            GAUGE,
            "The flush position last reported to the server.",
            s.reported,
        );
        x.single(
            "tidewater_source_queued_frames",
            GAUGE,
            "Frames waiting in the source's queue.",
            s.queued,
        );
    }
}

fn render_snapshot(x: &mut Exposition, p: &SnapshotProgress) {
    x.single(
        "tidewater_snapshot_rows_read_total",
        COUNTER,
        "Rows the snapshot read, all tables.",
        p.rows_read,
    );
    x.single(
        "tidewater_snapshot_completed",
        GAUGE,
        "1 once every table of the snapshot was read.",
        p.completed,
    );
    let labels = ["schema", "table"];
    x.family(
        "tidewater_snapshot_table_rows_read_total",
        COUNTER,
        "Rows the snapshot read, per table.",
        &labels,
        p.tables.iter().map(|t| {
            (
                vec![t.schema.as_str(), t.table.as_str()],
                t.rows_read.into(),
            )
        }),
    );
    x.family(
        "tidewater_snapshot_table_rows_estimated",
        GAUGE,
        "The planner's row estimate, per table of the snapshot (when known).",
        &labels,
        p.tables.iter().filter_map(|t| {
            t.rows_estimated
                .map(|n| (vec![t.schema.as_str(), t.table.as_str()], n.into()))
        }),
    );
    x.family(
        "tidewater_snapshot_table_done",
        GAUGE,
        "1 once the table was read completely.",
        &labels,
        p.tables
            .iter()
            .map(|t| (vec![t.schema.as_str(), t.table.as_str()], t.done.into())),
    );
}
