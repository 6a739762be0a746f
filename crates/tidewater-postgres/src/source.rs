//! The change source: start-up (checks, publication, slot, snapshot), then
//! batches of transaction events and monotonic acknowledgement.
//!
//! ```text
//!  start ─► SQL session: prerequisites, publication, enum/domain types, slot state
//!        ─► replication connection: [DROP_]CREATE_REPLICATION_SLOT (export when snapshotting)
//!        ─► snapshot session imports the snapshot ─► START_REPLICATION at the consistent point
//!  again beside an existing slot: a temporary slot exports the snapshot; START_REPLICATION
//!        at the slot's confirmed position; the stream's events before the snapshot's
//!        consistent point come first (the catch-up), then the snapshot, then the rest
//!
//!  next_batch: (catch-up,) snapshot chunks, then frames (read ahead by the keeper task, or
//!              read here):
//!              decode ─► relation/type lookups ─► assemble ─► de-duplicate after
//!              reconnects ─► filters ─► renumber ─► at most max.batch.size events
//! ```

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tidewater_pgoutput::{
    AssembleError, ChangeEvent, ChangeKind, Decoder, FrameMessage, Lsn, Message, OldTuple,
    Relation, RelationCache, TransactionAssembler, TransactionBegin, TransactionEvent, TupleData,
    TypeInfo,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::catalog::{self, TableMetadata};
use crate::config::{SnapshotMode, SourceConfig};
use crate::control::{self, SlotState};
use crate::error::{Result, SourceError};
use crate::filter::Filters;
use crate::replication::{
    APPLICATION_NAME, ReplicationConnection, SlotSnapshot, StartOptions, highest_protocol_version,
};
use crate::snapshot::{self, Snapshot, SnapshotProgress};
use crate::stream::{self, Feed, Feeder, Shared, StreamContext};
use crate::tls::TlsSetup;

/// A source of change events with position acknowledgement.
///
/// `next_batch` returns whole-transaction event sequences in commit order:
/// `Begin`, the transaction's changes, `Commit`, possibly split across batches.
/// Once every event of a transaction is durably handled, the caller
/// acknowledges the commit's `end_lsn`; the source never reports to the
/// database a position beyond what was acknowledged.
pub trait ChangeSource: Send {
    /// The error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The next events, at most the configured batch size. Waits until at least
    /// one event is available; an empty batch means the source has finished.
    fn next_batch(
        &mut self,
    ) -> impl Future<Output = std::result::Result<Vec<TransactionEvent>, Self::Error>> + Send;

    /// Records that everything up to `flushed` is durably handled. Positions
    /// below an earlier acknowledgement are ignored: it never moves backwards.
    fn acknowledge(&mut self, flushed: Lsn);

    /// Counters for metrics, when the source keeps them (`None` by default).
    fn stats(&self) -> Option<SourceStats> {
        None
    }

    /// Progress of the snapshot this run takes; `None` when it takes none (the
    /// default).
    fn snapshot_progress(&self) -> Option<SnapshotProgress> {
        None
    }

    /// Catalog facts learned since the previous call: metadata of tables (primary
    /// keys, `NOT NULL`, defaults) and user-defined types (enums, domains and
    /// their arrays) that value decoding needs. A consumer building records from
    /// the events in another task calls it after each
    /// [`next_batch`](Self::next_batch) and applies the changes before those
    /// events: they cover every table and type the batch refers to. Empty by
    /// default.
    fn catalog_changes(&mut self) -> CatalogChanges {
        CatalogChanges::default()
    }

    /// The configuration to open plain SQL sessions on the source database with
    /// ([`connect_sql`](crate::connect_sql)), for example to run
    /// `heartbeat.action.query`; `None` by default.
    fn sql_config(&self) -> Option<&SourceConfig> {
        None
    }

    /// Stops the source cleanly after the last acknowledgement (reporting it to
    /// the database where that applies). By default the source is dropped.
    fn close(self) -> impl Future<Output = std::result::Result<(), Self::Error>> + Send
    where
        Self: Sized,
    {
        drop(self);
        std::future::ready(Ok(()))
    }
}

/// Catalog facts a [`ChangeSource`] learned, handed out by
/// [`ChangeSource::catalog_changes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatalogChanges {
    /// Tables whose metadata was read (again), for example when their
    /// `Relation` message arrived or when the snapshot listed them.
    pub tables: Vec<Arc<TableMetadata>>,
    /// User-defined types registered for value decoding.
    pub types: Vec<TypeInfo>,
}

impl CatalogChanges {
    /// Whether nothing was learned.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty() && self.types.is_empty()
    }
}

/// What the caller's offset store remembers about earlier snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PriorSnapshot {
    /// Nothing is known: an existing slot is taken to mean an earlier run
    /// finished its snapshot.
    #[default]
    Unknown,
    /// An earlier snapshot was completely delivered.
    Completed,
    /// An earlier snapshot was started but not completely delivered: it is
    /// taken again, never half-trusted. An existing slot is kept and first
    /// catches up to the new snapshot (see [`PostgresSource`]).
    Incomplete,
}

/// How the source starts, decided from `snapshot.mode`, the slot and the prior snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) drop_slot: bool,
    pub(crate) create_slot: bool,
    pub(crate) snapshot: bool,
    /// Snapshot beside the existing slot: the slot's stream is delivered up to
    /// the snapshot's consistent point first, then the snapshot, then the rest.
    pub(crate) catch_up: bool,
}

pub(crate) fn plan(
    mode: SnapshotMode,
    prior: PriorSnapshot,
    slot: Option<&SlotState>,
    slot_name: &str,
) -> Result<Plan> {
    let stream_only = Plan {
        drop_slot: false,
        create_slot: false,
        snapshot: false,
        catch_up: false,
    };
    let fresh = |drop_slot| Plan {
        drop_slot,
        create_slot: true,
        snapshot: true,
        catch_up: false,
    };
    // Dropping a slot to snapshot again would lose what it holds: the changes
    // since its confirmed position, such as deletes of rows a consumer saw in
    // an interrupted snapshot.
    let beside = Plan {
        snapshot: true,
        catch_up: true,
        ..stream_only
    };
    let lost = || {
        SourceError::Prerequisite(format!(
            "replication slot {slot_name} has lost WAL it needs (wal_status = lost): changes \
             are missing from it; set snapshot.mode = when_needed to snapshot again from a new \
             slot, or drop it (SELECT pg_drop_replication_slot('{slot_name}'))"
        ))
    };
    Ok(match mode {
        SnapshotMode::InitialOnly => Plan {
            snapshot: prior != PriorSnapshot::Completed,
            ..stream_only
        },
        SnapshotMode::NoData => match slot {
            None => Plan {
                create_slot: true,
                ..stream_only
            },
            Some(s) if !s.usable() => return Err(lost()),
            Some(_) => stream_only,
        },
        SnapshotMode::Initial => match slot {
            None if prior == PriorSnapshot::Completed => {
                return Err(SourceError::Prerequisite(format!(
                    "replication slot {slot_name} does not exist although an earlier snapshot \
                     completed: changes made since are lost; set snapshot.mode = when_needed to \
                     snapshot again"
                )));
            }
            None => fresh(false),
            Some(s) if !s.usable() => return Err(lost()),
            Some(_) if prior == PriorSnapshot::Incomplete => beside,
            Some(_) => stream_only,
        },
        SnapshotMode::WhenNeeded => match slot {
            None => fresh(false),
            Some(s) if !s.usable() => fresh(true),
            Some(_) if prior == PriorSnapshot::Incomplete => beside,
            Some(_) => stream_only,
        },
        SnapshotMode::Always => match slot {
            None => fresh(false),
            Some(s) if !s.usable() => fresh(true),
            Some(_) => beside,
        },
    })
}

/// Counters for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SourceStats {
    /// XLogData frames received.
    pub frames_received: u64,
    /// Bytes of XLogData frames received.
    pub bytes_received: u64,
    /// Keepalives received.
    pub keepalives_received: u64,
    /// Events returned by `next_batch`.
    pub events_delivered: u64,
    /// Reconnections after a lost connection.
    pub reconnects: u64,
    /// Times the acknowledged position moved over WAL holding nothing to
    /// deliver (see the crate documentation on idle WAL).
    pub idle_advances: u64,
    /// WAL position of the last frame received.
    pub last_received: Lsn,
    /// The server's end of WAL, as last reported.
    pub server_wal_end: Lsn,
    /// The position the application acknowledged.
    pub acknowledged: Lsn,
    /// The flush position last reported to the server.
    pub reported: Lsn,
    /// Frames waiting in the queue.
    pub queued: usize,
}

/// The slot the source streams from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlotInfo {
    /// The slot's name.
    pub name: String,
    /// Whether this run created it.
    pub created: bool,
    /// Where streaming started: the new slot's consistent point or the existing
    /// slot's `confirmed_flush_lsn`.
    pub start: Lsn,
}

/// Per-relation decision of the filters, cached per relation version.
struct RelationView {
    relation: Arc<Relation>,
    /// `None`: excluded. `Some(None)`: all columns. `Some(Some(..))`: a projection.
    view: Option<Option<Projection>>,
}

struct Projection {
    relation: Arc<Relation>,
    keep: Vec<bool>,
}

/// Where the consumer stands in the current transaction.
enum Open {
    None,
    /// A transaction delivered before a reconnect is being replayed: drop it.
    Skip,
    /// Delivering. `skip` events were already delivered before a reconnect.
    Tx {
        emitted: u64,
        skip: u64,
        begin: TransactionBegin,
    },
}

/// A catalog lookup the consumer owes before handing out more events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    Relation(u32),
    Type(u32),
}

/// A PostgreSQL logical replication source.
///
/// A snapshot that has to be taken again while the slot exists (an earlier one
/// was interrupted, or `snapshot.mode = always`) keeps the slot: dropping it
/// would lose the changes it still holds, such as deletes of rows a consumer
/// saw in the interrupted snapshot. The new snapshot is exported by a
/// temporary slot; the existing slot streams from its confirmed position, and
/// its transactions committed before the new snapshot's consistent point are
/// handed out first, then the snapshot, then everything after. Every change
/// since the slot's position reaches the consumer, in commit order, and the
/// snapshot's rows follow the changes they include. A logical message with
/// prefix `tidewater.catch_up` (never handed out) marks the consistent point in
/// the stream, so a quiet database cannot hold the snapshot back; this needs
/// PostgreSQL 14 or later, earlier versions take the snapshot from a new slot.
///
/// ```no_run
/// use tidewater_postgres::{ChangeSource, PostgresSource, SourceConfig};
/// use tidewater_pgoutput::TransactionEvent;
///
/// # async fn example() -> Result<(), tidewater_postgres::SourceError> {
/// let config = SourceConfig::from_properties([
///     ("database.hostname", "localhost"),
///     ("database.user", "cdc"),
///     ("database.password", "secret"),
///     ("database.dbname", "shop"),
///     ("table.include.list", r"public\.orders"),
/// ])?;
/// let mut source = PostgresSource::start(config).await?;
/// loop {
///     let batch = source.next_batch().await?;
///     if batch.is_empty() {
///         break; // finished (snapshot.mode = initial_only)
///     }
///     for event in &batch {
///         match event {
///             TransactionEvent::Change(change) => println!("{:?}", change.kind.op_code()),
///             // Once everything before it is durable, acknowledge the commit's end.
///             TransactionEvent::Commit(commit) => source.acknowledge(commit.end_lsn),
///             _ => {}
///         }
///     }
/// }
/// source.close().await?;
/// # Ok(())
/// # }
/// ```
pub struct PostgresSource {
    config: Arc<SourceConfig>,
    tls: TlsSetup,
    server_version: u32,
    control: tokio_postgres::Client,
    slot: Option<SlotInfo>,
    snapshot: Option<Snapshot>,
    snapshot_progress: Option<Arc<Mutex<SnapshotProgress>>>,
    feed: Option<Feeder>,
    task: Option<JoinHandle<Result<()>>>,
    stop: CancellationToken,
    shared: Arc<Shared>,
    decoder: Decoder,
    assembler: TransactionAssembler,
    scratch: Vec<TransactionEvent>,
    pending: VecDeque<TransactionEvent>,
    lookups: VecDeque<Lookup>,
    tables: HashMap<u32, Arc<TableMetadata>>,
    /// Catalog facts not yet handed out by `catalog_changes`.
    learned: CatalogChanges,
    views: HashMap<u32, RelationView>,
    open: Open,
    /// Commit LSN of the last transaction (or LSN of the last non-transactional
    /// message) placed in `pending`.
    delivered_upto: Lsn,
    /// A transaction cut by a reconnect: its commit LSN and events delivered.
    partial: Option<(Lsn, u64)>,
    /// The highest position that may be acknowledged: what has been handed out.
    ack_limit: Lsn,
    events_delivered: u64,
    /// An error met after events that are still to be handed out.
    deferred: Option<SourceError>,
    failed: bool,
    /// While the slot's stream catches up to a snapshot taken beside it: the
    /// snapshot's consistent point.
    catch_up: Option<Lsn>,
    /// Events at or after the catch-up point, held until the snapshot is out.
    held: VecDeque<TransactionEvent>,
    holding: bool,
}

impl std::fmt::Debug for PostgresSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSource")
            .field("slot", &self.slot)
            .field("server_version", &self.server_version)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl PostgresSource {
    /// Starts with nothing known about earlier snapshots ([`PriorSnapshot::Unknown`]).
    pub async fn start(config: SourceConfig) -> Result<PostgresSource> {
        Self::start_with(config, PriorSnapshot::Unknown).await
    }

    /// Checks the server, manages the publication and slot, opens the snapshot
    /// when one is needed and starts streaming.
    ///
    /// When this start created the slot for a snapshot and then fails, the slot
    /// is dropped again, so the next start takes the snapshot afresh.
    pub async fn start_with(config: SourceConfig, prior: PriorSnapshot) -> Result<PostgresSource> {
        let config = Arc::new(config);
        let tls = TlsSetup::from_config(&config)?;
        let mut created = false;
        match Self::launch(Arc::clone(&config), tls.clone(), prior, &mut created).await {
            Ok(source) => Ok(source),
            Err(e) => {
                if created {
                    drop_abandoned_slot(&config, &tls).await;
                }
                Err(e)
            }
        }
    }

    async fn launch(
        config: Arc<SourceConfig>,
        tls: TlsSetup,
        prior: PriorSnapshot,
        created_slot: &mut bool,
    ) -> Result<PostgresSource> {
        let control = control::connect_with(&config, &tls, APPLICATION_NAME).await?;
        let server_version = control::server_version(&control).await?;
        let streaming = config.snapshot_mode.streams();
        let options = if streaming {
            control::check_prerequisites(&control, &config, server_version).await?;
            let options = start_options(&config, server_version)?;
            control::ensure_publication(&control, &config, server_version).await?;
            Some(options)
        } else {
            None
        };

        let mut relations = RelationCache::new();
        let mut learned = CatalogChanges::default();
        for info in catalog::user_types(&control).await? {
            learned.types.push(info.clone());
            relations.register_type(info);
        }

        let slot_state = if streaming {
            control::inspect_slot(&control, &config, server_version).await?
        } else {
            None
        };
        let mut plan = plan(
            config.snapshot_mode,
            prior,
            slot_state.as_ref(),
            &config.slot_name,
        )?;
        if plan.catch_up && server_version < 140_000 {
            // The end of the catch-up is marked with a logical message (14+).
            plan = Plan {
                drop_slot: true,
                create_slot: true,
                snapshot: true,
                catch_up: false,
            };
        }
        tracing::info!(
            slot = %config.slot_name,
            mode = config.snapshot_mode.as_str(),
            ?prior,
            ?plan,
            "starting the PostgreSQL source"
        );

        let mut replication = None;
        let mut slot = None;
        let mut snapshot_name = None;
        if let Some(existing) = &slot_state
            && !plan.drop_slot
        {
            slot = Some(SlotInfo {
                name: config.slot_name.clone(),
                created: false,
                start: existing.confirmed_flush,
            });
        }
        if streaming {
            let mut conn = ReplicationConnection::connect_with(&config, &tls).await?;
            if plan.drop_slot {
                tracing::info!(slot = %config.slot_name, "dropping the slot to start over");
                conn.drop_slot(&config.slot_name, true).await?;
            }
            if plan.create_slot {
                control::check_slot_capacity(&control).await?;
                let export = if plan.snapshot {
                    SlotSnapshot::Export
                } else {
                    SlotSnapshot::Nothing
                };
                let created = conn.create_slot(&config.slot_name, false, export).await?;
                *created_slot = plan.snapshot;
                snapshot_name = created.snapshot_name;
                slot = Some(SlotInfo {
                    name: config.slot_name.clone(),
                    created: true,
                    start: created.consistent_point,
                });
            }
            replication = Some(conn);
        }
        let start = slot.as_ref().map(|s| s.start);
        // Beside an existing slot, the snapshot comes from a temporary slot,
        // whose session stays open until the snapshot session imported it.
        let mut exporter = None;
        let mut catch_up = None;
        if plan.catch_up {
            control::check_slot_capacity(&control).await?;
            let mut conn = ReplicationConnection::connect_with(&config, &tls).await?;
            let name = temporary_slot_name(&config.slot_name);
            let created = conn.create_slot(&name, true, SlotSnapshot::Export).await?;
            tracing::info!(
                slot = %config.slot_name,
                from = %start.unwrap_or(Lsn::INVALID),
                to = %created.consistent_point,
                "snapshotting again beside the slot, which first catches up to the snapshot"
            );
            snapshot_name = created.snapshot_name;
            catch_up = Some(created.consistent_point);
            exporter = Some(conn);
        }

        let snapshot = if plan.snapshot {
            let tables = if streaming {
                catalog::publication_tables(&control, &config.publication_name, server_version)
                    .await?
            } else {
                catalog::user_tables(&control).await?
            };
            Some(
                snapshot::begin(
                    &config,
                    &tls,
                    snapshot_name.as_deref(),
                    tables,
                    catch_up.or(start),
                    server_version,
                )
                .await?,
            )
        } else {
            None
        };
        if let Some(conn) = exporter {
            // Imported: the temporary slot goes with its session.
            conn.close().await;
            // Something to stream at or after the catch-up point, however quiet
            // the database: the stream reaches the snapshot at the latest here.
            control
                .batch_execute(&format!(
                    "SELECT pg_logical_emit_message(false, '{CATCH_UP_MARKER}', '')"
                ))
                .await
                .map_err(|e| SourceError::control("marking the end of the catch-up", e))?;
        }

        let shared = Arc::new(Shared::default());
        let start = start.unwrap_or(Lsn::INVALID);
        shared.acknowledged.store(start.0, Ordering::Release);
        let stop = CancellationToken::new();
        let (mut feed, mut task) = (None, None);
        if let (Some(conn), Some(options)) = (replication, options) {
            let stream = conn
                .start_replication(&config.slot_name, start, &options)
                .await?;
            let context = StreamContext {
                config: Arc::clone(&config),
                tls: tls.clone(),
                slot: config.slot_name.clone(),
                options,
                shared: Arc::clone(&shared),
            };
            let (feeder, keeper) = stream::spawn(stream, context, stop.clone());
            task = Some(keeper);
            feed = Some(feeder);
        }

        let mut tables = HashMap::new();
        let snapshot_progress = snapshot.as_ref().map(|s| Arc::clone(&s.progress));
        if let Some(s) = &snapshot {
            for table in &s.tables {
                tables.insert(table.oid, Arc::clone(table));
                learned.tables.push(Arc::clone(table));
            }
        }
        Ok(PostgresSource {
            config,
            tls,
            server_version,
            control,
            slot,
            snapshot,
            snapshot_progress,
            feed,
            task,
            stop,
            shared,
            decoder: Decoder::new(),
            assembler: TransactionAssembler::with_cache(relations),
            scratch: Vec::new(),
            pending: VecDeque::new(),
            lookups: VecDeque::new(),
            tables,
            learned,
            views: HashMap::new(),
            open: Open::None,
            delivered_upto: Lsn::INVALID,
            partial: None,
            ack_limit: start,
            events_delivered: 0,
            deferred: None,
            failed: false,
            catch_up,
            held: VecDeque::new(),
            holding: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SourceConfig {
        &self.config
    }

    /// The server's `server_version_num`.
    pub fn server_version_num(&self) -> u32 {
        self.server_version
    }

    /// The slot streamed from; `None` for `snapshot.mode = initial_only`.
    pub fn slot(&self) -> Option<&SlotInfo> {
        self.slot.as_ref()
    }

    /// Relations and registered types (enums, domains): what value decoding
    /// (`tidewater_pgoutput::value`) needs as its type lookup.
    pub fn relations(&self) -> &RelationCache {
        self.assembler.relations()
    }

    /// Catalog metadata of a table seen in the snapshot or the stream (primary
    /// key, replica identity, column types), read when its `Relation` arrived.
    pub fn table(&self, oid: u32) -> Option<&Arc<TableMetadata>> {
        self.tables.get(&oid)
    }

    /// Progress of the snapshot, when this run takes one.
    pub fn snapshot_progress(&self) -> Option<SnapshotProgress> {
        self.snapshot_progress
            .as_ref()
            .map(|p| p.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// The acknowledged position.
    pub fn acknowledged(&self) -> Lsn {
        self.shared.acknowledged()
    }

    /// Counters for metrics.
    pub fn stats(&self) -> SourceStats {
        let s = &self.shared;
        SourceStats {
            frames_received: s.frames.load(Ordering::Relaxed),
            bytes_received: s.bytes.load(Ordering::Relaxed),
            keepalives_received: s.keepalives.load(Ordering::Relaxed),
            events_delivered: self.events_delivered,
            reconnects: s.reconnects.load(Ordering::Relaxed),
            idle_advances: s.idle_advances.load(Ordering::Relaxed),
            last_received: Lsn(s.last_received.load(Ordering::Relaxed)),
            server_wal_end: Lsn(s.server_wal_end.load(Ordering::Relaxed)),
            acknowledged: s.acknowledged(),
            reported: Lsn(s.reported.load(Ordering::Relaxed)),
            queued: self.feed.as_ref().map_or(0, Feeder::queued),
        }
    }

    /// Stops streaming: reports the acknowledged position one last time, ends
    /// the stream with CopyDone and, with `slot.drop.on.stop`, drops the slot.
    pub async fn close(mut self) -> Result<()> {
        self.stop.cancel();
        let result = match self.task.take() {
            Some(task) => match task.await {
                Ok(result) => result,
                Err(e) => Err(SourceError::Closed(format!("the keeper task failed: {e}"))),
            },
            None => Ok(()),
        };
        if self.config.slot_drop_on_stop && result.is_err() && self.slot.is_some() {
            // The stream died before it could drop the slot itself.
            let mut conn = ReplicationConnection::connect(&self.config).await?;
            conn.drop_slot(&self.config.slot_name, true).await?;
            conn.close().await;
        }
        result
    }

    async fn next(&mut self) -> Result<Vec<TransactionEvent>> {
        if self.failed {
            return Err(SourceError::Closed(
                "the source failed earlier; start a new one".to_owned(),
            ));
        }
        let max = self.config.max_batch_size;
        if self.pending.is_empty()
            && let Some(e) = self.deferred.take()
        {
            return Err(e);
        }
        self.resolve_lookups().await?;
        // Holds the stream's read side while this call reads frames itself;
        // gives it back when the call ends or is cancelled.
        let mut lease = self.feed.as_ref().map(Feeder::lease);
        while self.pending.len() < max && self.deferred.is_none() {
            if self.catch_up.is_none()
                && let Some(snapshot) = self.snapshot.as_mut()
            {
                if !self.pending.is_empty() && snapshot.chunks.is_empty() {
                    break;
                }
                match snapshot.chunks.recv().await {
                    Some(Ok(chunk)) => self.pending.extend(chunk),
                    Some(Err(e)) => return Err(self.abandon_snapshot(e).await),
                    None => {
                        self.snapshot = None;
                        self.holding = false;
                        let held = std::mem::take(&mut self.held);
                        self.pending.extend(held);
                    }
                }
                continue;
            }
            let (Some(feed), Some(lease)) = (self.feed.as_mut(), lease.as_mut()) else {
                break;
            };
            // Wait for the first events, and for the rest of an open
            // transaction: the server sends a committed transaction in one
            // burst, and nothing in it can be acknowledged before its Commit.
            // Otherwise take what is at hand.
            let wait = self.pending.is_empty() || self.assembler.in_transaction();
            let Some(item) = feed.next(lease, wait).await else {
                break;
            };
            let step = match item {
                Feed::Frame(frame) => self.process_frame(&frame),
                Feed::Reconnected => {
                    self.reconnected();
                    Ok(())
                }
                Feed::Failed(e) => Err(e),
            };
            let step = match step {
                // Only Relation and Type messages owe lookups.
                Ok(()) if self.lookups.is_empty() => Ok(()),
                Ok(()) => self.resolve_lookups().await,
                Err(e) => Err(e),
            };
            if let Err(e) = step {
                // Hand out the good events first; the error comes next time.
                if self.pending.is_empty() {
                    return Err(e);
                }
                self.deferred = Some(e);
                break;
            }
        }
        let batch: Vec<TransactionEvent> = if self.pending.len() <= max {
            // Everything goes: the queue's buffer becomes the batch, with no
            // move per event (a queue only ever pushed to since it was empty
            // is contiguous from its start). The next one is sized like it,
            // with room for the few events a frame adds past `max`.
            let next = VecDeque::with_capacity(self.pending.len() + 8);
            Vec::from(std::mem::replace(&mut self.pending, next))
        } else {
            self.pending.drain(..max).collect()
        };
        for event in &batch {
            match event {
                TransactionEvent::Commit(c) => self.ack_limit = self.ack_limit.max(c.end_lsn),
                TransactionEvent::Change(c) if c.xid.is_none() && c.relation.is_none() => {
                    self.ack_limit = self.ack_limit.max(c.commit_lsn);
                }
                _ => {}
            }
        }
        self.events_delivered += batch.len() as u64;
        Ok(batch)
    }

    /// A snapshot cannot continue where it failed: stop streaming and drop the
    /// slot this run created, so the next start snapshots from a new one.
    async fn abandon_snapshot(&mut self, error: SourceError) -> SourceError {
        self.snapshot = None;
        self.pending.clear();
        if !self.slot.as_ref().is_some_and(|s| s.created) {
            return error;
        }
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.feed = None;
        drop_abandoned_slot(&self.config, &self.tls).await;
        error
    }

    fn process_frame(&mut self, frame: &Bytes) -> Result<()> {
        let (wal_start, message) = match self.decoder.decode_frame(frame) {
            Ok(FrameMessage::XLogData {
                wal_start, message, ..
            }) => (wal_start, message),
            Ok(_) => return Ok(()),
            Err(source) => {
                let lsn = frame
                    .get(1..9)
                    .and_then(|s| <[u8; 8]>::try_from(s).ok())
                    .map_or(Lsn::INVALID, |b| Lsn(u64::from_be_bytes(b)));
                return Err(AssembleError::Decode { lsn, source }.into());
            }
        };
        match &message {
            Message::Relation(r) => self.lookups.push_back(Lookup::Relation(r.oid)),
            Message::Type(t) => self.lookups.push_back(Lookup::Type(t.oid)),
            _ => {}
        }
        self.scratch.clear();
        self.assembler
            .process(wal_start, message, &mut self.scratch)?;
        let mut events = std::mem::take(&mut self.scratch);
        for event in events.drain(..) {
            self.admit(event);
        }
        self.scratch = events;
        Ok(())
    }

    /// After a reconnect the server replays from the acknowledged position:
    /// remember how far the open transaction got, forget decoder state.
    fn reconnected(&mut self) {
        if let Open::Tx { emitted, begin, .. } = self.open {
            self.partial = Some((begin.commit_lsn, emitted));
        }
        self.open = Open::None;
        self.assembler.reset();
        self.decoder.reset();
        tracing::info!(
            delivered_upto = %self.delivered_upto,
            partial = ?self.partial,
            "replication stream resumed; replayed events already delivered are dropped"
        );
    }

    /// Applies de-duplication, filters and renumbering to one assembled event.
    fn admit(&mut self, event: TransactionEvent) {
        if let Some(point) = self.catch_up {
            let at = match &event {
                TransactionEvent::Begin(begin) => Some(begin.commit_lsn),
                TransactionEvent::Change(c) if c.xid.is_none() && c.relation.is_none() => {
                    Some(c.commit_lsn)
                }
                _ => None,
            };
            if at.is_some_and(|at| at >= point) {
                // Caught up: the snapshot comes next, then this and what follows.
                tracing::info!(%point, "caught up with the snapshot's consistent point");
                self.catch_up = None;
                self.holding = true;
            }
        }
        match event {
            TransactionEvent::Begin(begin) => {
                if begin.commit_lsn <= self.delivered_upto {
                    self.open = Open::Skip;
                    return;
                }
                let skip = match self.partial.take() {
                    Some((lsn, count)) if lsn == begin.commit_lsn => count,
                    _ => 0,
                };
                if skip == 0 {
                    self.emit(TransactionEvent::Begin(begin));
                }
                self.open = Open::Tx {
                    emitted: 0,
                    skip,
                    begin,
                };
            }
            TransactionEvent::Change(change) => {
                if change.xid.is_none() && change.relation.is_none() {
                    // A non-transactional logical message.
                    if change.commit_lsn <= self.delivered_upto || is_catch_up_marker(&change) {
                        return;
                    }
                    self.delivered_upto = change.commit_lsn;
                    self.emit(TransactionEvent::Change(change));
                    return;
                }
                if matches!(self.open, Open::Skip) {
                    return;
                }
                let Some(mut change) = self.filter(change) else {
                    return;
                };
                if let Open::Tx { emitted, skip, .. } = &mut self.open {
                    let index = *emitted;
                    *emitted += 1;
                    if *skip > 0 {
                        *skip -= 1;
                        return;
                    }
                    change.index = index;
                    self.emit(TransactionEvent::Change(change));
                }
            }
            TransactionEvent::Commit(mut commit) => {
                match std::mem::replace(&mut self.open, Open::None) {
                    Open::Skip | Open::None => {}
                    Open::Tx { emitted, .. } => {
                        commit.event_count = emitted;
                        self.delivered_upto = commit.commit_lsn;
                        self.emit(TransactionEvent::Commit(commit));
                    }
                }
            }
            // Future event kinds pass through.
            other => self.emit(other),
        }
    }

    /// Hands an admitted event out, or holds it while a snapshot taken beside
    /// the slot is still to come.
    fn emit(&mut self, event: TransactionEvent) {
        if self.holding {
            self.held.push_back(event);
        } else {
            self.pending.push_back(event);
        }
    }

    /// Table filters, column filters and `skipped.operations`.
    fn filter(&mut self, mut change: ChangeEvent) -> Option<ChangeEvent> {
        if self
            .config
            .skipped_operations
            .skips_code(change.kind.op_code())
        {
            return None;
        }
        // Logical messages belong to no table.
        let Some(relation) = change.relation.as_ref() else {
            return Some(change);
        };
        // One lookup per change; a new version of the relation is judged again.
        let view = match self.views.entry(relation.oid) {
            Entry::Occupied(known) if Arc::ptr_eq(&known.get().relation, relation) => {
                known.into_mut()
            }
            entry => {
                let fresh = RelationView {
                    relation: Arc::clone(relation),
                    view: Self::view(&self.config.filters, relation),
                };
                match entry {
                    Entry::Occupied(mut stale) => {
                        stale.insert(fresh);
                        stale.into_mut()
                    }
                    Entry::Vacant(vacant) => vacant.insert(fresh),
                }
            }
        };
        match view.view.as_ref()? {
            None => Some(change),
            Some(projection) => {
                change.kind = project(change.kind, &projection.keep);
                change.relation = Some(Arc::clone(&projection.relation));
                Some(change)
            }
        }
    }

    /// What the filters make of a relation: `None` when excluded, `Some(None)`
    /// when all its columns are kept, `Some(Some(..))` for a projection.
    fn view(filters: &Filters, relation: &Relation) -> Option<Option<Projection>> {
        if !filters.includes_table(&relation.namespace, &relation.name) {
            return None;
        }
        if !filters.has_column_filter() {
            return Some(None);
        }
        let keep: Vec<bool> = relation
            .columns
            .iter()
            .map(|c| filters.includes_column(&relation.namespace, &relation.name, &c.name))
            .collect();
        if keep.iter().all(|&k| k) {
            return Some(None);
        }
        let mut projected = relation.clone();
        let mut flags = keep.iter();
        projected
            .columns
            .retain(|_| flags.next().copied().unwrap_or(false));
        Some(Some(Projection {
            relation: Arc::new(projected),
            keep,
        }))
    }

    /// Finishes catalog lookups owed for Relation and Type messages. Cancel-safe:
    /// a lookup leaves the queue only once done.
    ///
    /// A lost SQL session (a server restart, say) is opened again with the
    /// stream's reconnection policy: waits doubling from 100 ms up to
    /// `retriable.restart.connector.wait.ms`, at most `errors.max.retries`
    /// attempts in a row. While the server shuts down or starts up it refuses
    /// connections for a while; that is retried like a lost connection.
    async fn resolve_lookups(&mut self) -> Result<()> {
        let mut attempts = 0u32;
        while let Some(&lookup) = self.lookups.front() {
            match self.lookup(lookup).await {
                Ok(()) => {
                    self.lookups.pop_front();
                    attempts = 0;
                }
                Err(e) if e.is_transient() => {
                    if let Some(max) = self.config.errors_max_retries
                        && attempts >= max
                    {
                        return Err(SourceError::Closed(format!(
                            "gave up reopening the SQL session after {attempts} attempts \
                             (errors.max.retries = {max}): {e}"
                        )));
                    }
                    attempts += 1;
                    if attempts > 1 {
                        let delay =
                            stream::retry_delay(attempts - 1, self.config.reconnect_max_delay);
                        tokio::time::sleep(delay).await;
                    }
                    tracing::info!(error = %e, attempt = attempts, "reopening the SQL session");
                    match control::connect_with(&self.config, &self.tls, APPLICATION_NAME).await {
                        Ok(client) => self.control = client,
                        Err(e) if e.is_transient() => {
                            tracing::info!(error = %e, "the server does not take the SQL session yet");
                        }
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn lookup(&mut self, lookup: Lookup) -> Result<()> {
        match lookup {
            Lookup::Relation(oid) => {
                match catalog::table_metadata(&self.control, oid, self.server_version).await? {
                    Some(table) => {
                        let table = Arc::new(table);
                        self.learned.tables.push(Arc::clone(&table));
                        self.tables.insert(oid, table);
                    }
                    None => {
                        self.tables.remove(&oid);
                    }
                }
            }
            Lookup::Type(oid) => {
                if let Some(mut info) = catalog::type_info(&self.control, oid).await? {
                    // Keep the names the stream announced.
                    if let Some(known) = self.assembler.relations().type_info(oid) {
                        info.namespace.clone_from(&known.namespace);
                        info.name.clone_from(&known.name);
                    }
                    self.learned.types.push(info.clone());
                    self.assembler.relations_mut().register_type(info);
                }
            }
        }
        Ok(())
    }
}

/// Drops the slot of a snapshot that did not finish (best effort: a failure is
/// logged, and a caller passing [`PriorSnapshot::Incomplete`] next time gets the
/// same result).
async fn drop_abandoned_slot(config: &SourceConfig, tls: &TlsSetup) {
    let attempt = async {
        let mut conn = ReplicationConnection::connect_with(config, tls).await?;
        conn.drop_slot(&config.slot_name, true).await?;
        conn.close().await;
        Ok::<(), SourceError>(())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(30), attempt).await {
        Ok(Ok(())) => tracing::warn!(
            slot = %config.slot_name,
            "the snapshot did not finish; dropped its slot so the next start takes a new one"
        ),
        Ok(Err(e)) => tracing::warn!(
            slot = %config.slot_name,
            error = %e,
            "the snapshot did not finish and its slot could not be dropped; start next time \
             with PriorSnapshot::Incomplete"
        ),
        Err(_) => tracing::warn!(
            slot = %config.slot_name,
            "the snapshot did not finish and dropping its slot timed out; start next time \
             with PriorSnapshot::Incomplete"
        ),
    }
}

/// Keeps the columns marked in `keep` in every tuple of a change.
fn project(kind: ChangeKind, keep: &[bool]) -> ChangeKind {
    let cut = |tuple: &TupleData| {
        let columns: Vec<_> = tuple
            .iter()
            .zip(keep.iter().chain(std::iter::repeat(&true)))
            .filter(|(_, k)| **k)
            .map(|(c, _)| c)
            .collect();
        TupleData::from_columns(&columns)
    };
    let cut_old = |old: OldTuple| match old {
        OldTuple::Key(t) => OldTuple::Key(cut(&t)),
        OldTuple::Full(t) => OldTuple::Full(cut(&t)),
        other => other,
    };
    match kind {
        ChangeKind::Insert { new } => ChangeKind::Insert { new: cut(&new) },
        ChangeKind::Update { old, new } => ChangeKind::Update {
            old: old.map(cut_old),
            new: cut(&new),
        },
        ChangeKind::Delete { old } => ChangeKind::Delete { old: cut_old(old) },
        ChangeKind::Read { new, snapshot } => ChangeKind::Read {
            new: cut(&new),
            snapshot,
        },
        other => other,
    }
}

/// Protocol version and options for the server.
/// Prefix of the logical message marking where a slot catching up to a
/// snapshot taken beside it has reached the snapshot; never handed out.
pub(crate) const CATCH_UP_MARKER: &str = "tidewater.catch_up";

fn is_catch_up_marker(change: &ChangeEvent) -> bool {
    matches!(&change.kind, ChangeKind::Message { prefix, .. } if prefix == CATCH_UP_MARKER)
}

/// A temporary slot's name next to `slot`: `<slot>_tw<pid>`, within
/// PostgreSQL's 63 bytes (slot names are ASCII).
fn temporary_slot_name(slot: &str) -> String {
    let suffix = format!("_tw{}", std::process::id());
    let keep = 63usize.saturating_sub(suffix.len());
    let stem: String = slot.chars().take(keep).collect();
    format!("{stem}{suffix}")
}

fn start_options(config: &SourceConfig, server_version: u32) -> Result<StartOptions> {
    let highest = highest_protocol_version(server_version);
    let protocol_version = match config.protocol_version {
        Some(v) if v > highest => {
            return Err(SourceError::Prerequisite(format!(
                "pgoutput.protocol.version = {v}, but this PostgreSQL ({server_version}) \
                 supports at most {highest}"
            )));
        }
        Some(v) => v,
        None => highest,
    };
    if config.binary && (server_version < 140_000 || protocol_version < 2) {
        return Err(SourceError::Prerequisite(
            "pgoutput.binary = true needs PostgreSQL 14 or later and protocol version 2 or later"
                .to_owned(),
        ));
    }
    let mut options = StartOptions::new(config.publication_name.clone());
    options.protocol_version = protocol_version;
    options.messages = server_version >= 140_000;
    options.binary = config.binary;
    Ok(options)
}

impl ChangeSource for PostgresSource {
    type Error = SourceError;

    /// Cancel-safe: events are never lost when the future is dropped.
    async fn next_batch(&mut self) -> Result<Vec<TransactionEvent>> {
        let result = self.next().await;
        if let Err(e) = &result
            && !matches!(e, SourceError::Closed(_))
        {
            self.failed = true;
        }
        result
    }

    fn acknowledge(&mut self, flushed: Lsn) {
        let target = if flushed > self.ack_limit {
            tracing::warn!(
                %flushed,
                limit = %self.ack_limit,
                "acknowledged a position beyond what was delivered; using the delivered end"
            );
            self.ack_limit
        } else {
            flushed
        };
        self.shared
            .acknowledged
            .fetch_max(target.0, Ordering::AcqRel);
    }

    fn stats(&self) -> Option<SourceStats> {
        Some(PostgresSource::stats(self))
    }

    fn snapshot_progress(&self) -> Option<SnapshotProgress> {
        PostgresSource::snapshot_progress(self)
    }

    fn catalog_changes(&mut self) -> CatalogChanges {
        std::mem::take(&mut self.learned)
    }

    fn sql_config(&self) -> Option<&SourceConfig> {
        Some(&self.config)
    }

    fn close(self) -> impl Future<Output = Result<()>> + Send {
        PostgresSource::close(self)
    }
}

impl Drop for PostgresSource {
    fn drop(&mut self) {
        // The keeper task ends the stream cleanly on its own.
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn slot(wal_status: Option<&str>) -> SlotState {
        SlotState {
            confirmed_flush: Lsn(0x100),
            wal_status: wal_status.map(str::to_owned),
        }
    }

    #[test]
    fn plans_follow_the_snapshot_mode() {
        use PriorSnapshot::*;
        use SnapshotMode::*;
        let ok = slot(Some("reserved"));
        let lost = slot(Some("lost"));
        let p = |mode, prior, s: Option<&SlotState>| plan(mode, prior, s, "s");
        let stream = Plan {
            drop_slot: false,
            create_slot: false,
            snapshot: false,
            catch_up: false,
        };
        let create = Plan {
            create_slot: true,
            ..stream
        };
        let fresh = Plan {
            create_slot: true,
            snapshot: true,
            ..stream
        };
        let redo = Plan {
            drop_slot: true,
            ..fresh
        };
        let beside = Plan {
            snapshot: true,
            catch_up: true,
            ..stream
        };

        assert_eq!(p(Initial, Unknown, None).unwrap(), fresh);
        assert_eq!(p(Initial, Unknown, Some(&ok)).unwrap(), stream);
        assert_eq!(p(Initial, Completed, Some(&ok)).unwrap(), stream);
        assert_eq!(p(Initial, Incomplete, Some(&ok)).unwrap(), beside);
        assert!(p(Initial, Completed, None).is_err());
        assert!(p(Initial, Unknown, Some(&lost)).is_err());

        assert_eq!(p(WhenNeeded, Unknown, None).unwrap(), fresh);
        assert_eq!(p(WhenNeeded, Unknown, Some(&lost)).unwrap(), redo);
        assert_eq!(p(WhenNeeded, Completed, Some(&ok)).unwrap(), stream);
        assert_eq!(p(WhenNeeded, Incomplete, Some(&ok)).unwrap(), beside);

        assert_eq!(p(Always, Completed, Some(&ok)).unwrap(), beside);
        assert_eq!(p(Always, Completed, Some(&lost)).unwrap(), redo);
        assert_eq!(p(Always, Unknown, None).unwrap(), fresh);

        assert_eq!(p(NoData, Unknown, None).unwrap(), create);
        assert_eq!(p(NoData, Incomplete, Some(&ok)).unwrap(), stream);
        assert!(p(NoData, Unknown, Some(&lost)).is_err());

        assert!(p(InitialOnly, Unknown, None).unwrap().snapshot);
        assert!(!p(InitialOnly, Completed, None).unwrap().snapshot);
        assert!(!p(InitialOnly, Unknown, None).unwrap().create_slot);
    }

    #[test]
    fn temporary_slot_names_fit() {
        let name = temporary_slot_name(&"s".repeat(63));
        assert!(name.len() <= 63, "{name}");
        assert!(name.ends_with(&format!("_tw{}", std::process::id())));
        assert_eq!(
            temporary_slot_name("cdc"),
            format!("cdc_tw{}", std::process::id())
        );
    }

    #[test]
    fn projection_keeps_marked_columns() {
        use tidewater_pgoutput::Column;
        let tuple =
            TupleData::from_columns(&[Column::Text(b"1"), Column::Null, Column::Text(b"x")]);
        let kind = project(
            ChangeKind::Update {
                old: Some(OldTuple::Key(tuple.clone())),
                new: tuple,
            },
            &[true, false, true],
        );
        let ChangeKind::Update {
            old: Some(OldTuple::Key(old)),
            new,
        } = kind
        else {
            panic!("kind changed");
        };
        assert_eq!(
            new.iter().collect::<Vec<_>>(),
            [Column::Text(b"1"), Column::Text(b"x")]
        );
        assert_eq!(old.len(), 2);
    }
}
