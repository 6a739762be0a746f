//! Consistent snapshots: existing rows read as `Read` events.
//!
//! ```text
//!  CREATE_REPLICATION_SLOT … (SNAPSHOT 'export') ──► snapshot name + consistent point
//!        │
//!  snapshot session: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
//!                    SET TRANSACTION SNAPSHOT '<name>'        (before START_REPLICATION)
//!        │  per table: DECLARE cursor; FETCH snapshot.fetch.size … ; CLOSE
//!        ▼
//!  reader task ──chunks (bounded channel)──► PostgresSource::next_batch
//!  Begin(xid 0) · Read rows with snapshot markers · Commit(end = consistent point)
//! ```
//!
//! The rows are the simple query protocol's text values, produced by each
//! type's output function under the same session settings as the replication
//! stream (`DateStyle=ISO`, `TimeZone=UTC`, ...), so they decode exactly as
//! streamed text values do. Streaming starts at the slot's consistent point:
//! every change committed after the snapshot arrives once, through the stream.

use std::sync::{Arc, Mutex};

use tidewater_pgoutput::{
    ChangeEvent, ChangeKind, Column, Lsn, Relation, SnapshotMarker, TransactionBegin,
    TransactionCommit, TransactionEvent, TupleData,
};
use tokio::sync::mpsc;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::catalog::{self, PublishedTable, TableMetadata};
use crate::config::SourceConfig;
use crate::error::{Result, SourceError};
use crate::replication::{quote_identifier, quote_literal};
use crate::tls::TlsSetup;

/// The transaction id of the pseudo-transaction wrapping a snapshot's rows
/// (0 is PostgreSQL's invalid transaction id, never a real one).
pub const SNAPSHOT_XID: u32 = 0;

const CURSOR: &str = "tidewater_snapshot";

/// Progress of a snapshot, for metrics and progress displays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotProgress {
    /// Per table, in reading order.
    pub tables: Vec<TableProgress>,
    /// Rows read so far, all tables.
    pub rows_read: u64,
    /// Whether every table has been read.
    pub completed: bool,
}

/// Progress of one table of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableProgress {
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Rows read so far.
    pub rows_read: u64,
    /// The planner's estimate of the row count (`pg_class.reltuples`), when known.
    pub rows_estimated: Option<u64>,
    /// Whether the table has been read completely.
    pub done: bool,
}

/// A running snapshot: chunks of events arrive on `chunks`.
pub(crate) struct Snapshot {
    pub(crate) chunks: mpsc::Receiver<Result<Vec<TransactionEvent>>>,
    pub(crate) progress: Arc<Mutex<SnapshotProgress>>,
    pub(crate) tables: Vec<Arc<TableMetadata>>,
}

/// One table to read.
struct Table {
    metadata: Arc<TableMetadata>,
    relation: Arc<Relation>,
    select: String,
}

/// Opens the snapshot session, imports `snapshot_name` (when given), reads the
/// tables' metadata inside the snapshot, and starts the reader task. Returns
/// once the snapshot is imported, so the exporting replication connection may
/// move on.
pub(crate) async fn begin(
    config: &SourceConfig,
    tls: &TlsSetup,
    snapshot_name: Option<&str>,
    tables: Vec<PublishedTable>,
    lsn: Option<Lsn>,
    server_version: u32,
) -> Result<Snapshot> {
    let client = crate::control::connect_with(config, tls, "tidewater-snapshot").await?;
    let mut sql = String::from("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;");
    if let Some(name) = snapshot_name {
        sql.push_str(&format!(
            " SET TRANSACTION SNAPSHOT {};",
            quote_literal(name)
        ));
    }
    client
        .batch_execute(&sql)
        .await
        .map_err(|e| SourceError::control("opening the snapshot transaction", e))?;
    let lsn = match lsn {
        Some(lsn) => lsn,
        None => current_lsn(&client).await?,
    };

    let mut selected = Vec::with_capacity(tables.len());
    let mut progress = SnapshotProgress::default();
    for table in tables {
        if !config.filters.includes_table(&table.schema, &table.name) {
            continue;
        }
        // Dropped since it was listed: nothing to read.
        let Some(metadata) = catalog::table_metadata(&client, table.oid, server_version).await?
        else {
            continue;
        };
        let positions: Vec<usize> = metadata
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                table
                    .columns
                    .as_ref()
                    .is_none_or(|list| list.iter().any(|n| n == &c.name))
                    && config
                        .filters
                        .includes_column(&metadata.schema, &metadata.name, &c.name)
            })
            .map(|(i, _)| i)
            .collect();
        let columns = positions
            .iter()
            .filter_map(|&i| metadata.columns.get(i))
            .map(|c| quote_identifier(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let select = format!(
            "SELECT {columns} FROM {}.{}",
            quote_identifier(&metadata.schema),
            quote_identifier(&metadata.name)
        );
        let estimate = estimate_rows(&client, table.oid).await?;
        progress.tables.push(TableProgress {
            schema: metadata.schema.clone(),
            table: metadata.name.clone(),
            rows_read: 0,
            rows_estimated: estimate,
            done: false,
        });
        let relation = Arc::new(metadata.relation(&positions));
        selected.push(Table {
            metadata: Arc::new(metadata),
            relation,
            select,
        });
    }

    let progress = Arc::new(Mutex::new(progress));
    let (tx, rx) = mpsc::channel(1);
    let metadata = selected.iter().map(|t| Arc::clone(&t.metadata)).collect();
    let reader = Reader {
        client,
        tables: selected,
        fetch_size: config.snapshot_fetch_size,
        lsn,
        commit_time: crate::stream::now_pg_micros(),
        progress: Arc::clone(&progress),
        tx,
    };
    tokio::spawn(reader.run());
    Ok(Snapshot {
        chunks: rx,
        progress,
        tables: metadata,
    })
}

async fn current_lsn(client: &Client) -> Result<Lsn> {
    let row = client
        .query_one(
            "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
                     ELSE pg_current_wal_lsn() END)::text",
            &[],
        )
        .await
        .map_err(|e| SourceError::control("reading the current WAL position", e))?;
    let text: Option<String> = row
        .try_get(0)
        .map_err(|e| SourceError::control("reading the current WAL position", e))?;
    Ok(text.and_then(|t| t.parse().ok()).unwrap_or(Lsn::INVALID))
}

async fn estimate_rows(client: &Client, oid: u32) -> Result<Option<u64>> {
    let row = client
        .query_opt(
            "SELECT reltuples::float8 FROM pg_class WHERE oid = $1",
            &[&oid],
        )
        .await
        .map_err(|e| SourceError::control("reading a row estimate", e))?;
    let Some(row) = row else { return Ok(None) };
    let estimate: f64 = row
        .try_get(0)
        .map_err(|e| SourceError::control("reading a row estimate", e))?;
    // -1 means never vacuumed or analyzed (PostgreSQL 14+).
    Ok((estimate >= 0.0).then_some(estimate as u64))
}

/// A row waiting for its marker: whether it is the snapshot's last row is only
/// known once the next row arrives or every table is read.
struct Held {
    tuple: TupleData,
    relation: Arc<Relation>,
    table: usize,
    first_of_snapshot: bool,
    first_in_table: bool,
    last_in_table: bool,
}

/// Debezium's precedence: first, last, first in table, last in table, true.
fn marker(held: &Held, last_of_snapshot: bool) -> SnapshotMarker {
    if held.first_of_snapshot {
        SnapshotMarker::First
    } else if last_of_snapshot {
        SnapshotMarker::Last
    } else if held.first_in_table {
        SnapshotMarker::FirstInDataCollection
    } else if held.last_in_table {
        SnapshotMarker::LastInDataCollection
    } else {
        SnapshotMarker::Middle
    }
}

struct Reader {
    client: Client,
    tables: Vec<Table>,
    fetch_size: usize,
    lsn: Lsn,
    commit_time: i64,
    progress: Arc<Mutex<SnapshotProgress>>,
    tx: mpsc::Sender<Result<Vec<TransactionEvent>>>,
}

impl Reader {
    async fn run(self) {
        let tx = self.tx.clone();
        if let Err(e) = self.read().await {
            let _ = tx.send(Err(e)).await;
        }
    }

    fn event(&self, held: Held, last_of_snapshot: bool, index: u64) -> TransactionEvent {
        let snapshot = marker(&held, last_of_snapshot);
        TransactionEvent::Change(ChangeEvent {
            kind: ChangeKind::Read {
                new: held.tuple,
                snapshot,
            },
            relation: Some(held.relation),
            lsn: self.lsn,
            commit_lsn: self.lsn,
            xid: None,
            commit_time: self.commit_time,
            index,
        })
    }

    fn update_progress(&self, table: usize, rows: u64, done: bool) {
        let mut progress = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        progress.rows_read += rows;
        if let Some(t) = progress.tables.get_mut(table) {
            t.rows_read += rows;
            t.done |= done;
        }
    }

    /// Sends a chunk; `false` when the source is gone.
    async fn send(&self, chunk: Vec<TransactionEvent>) -> bool {
        self.tx.send(Ok(chunk)).await.is_ok()
    }

    async fn read(self) -> Result<()> {
        let begin = TransactionEvent::Begin(TransactionBegin {
            xid: SNAPSHOT_XID,
            commit_lsn: self.lsn,
            commit_time: self.commit_time,
        });
        if !self.send(vec![begin]).await {
            return Ok(());
        }
        let mut index: u64 = 0;
        let mut held: Option<Held> = None;
        let mut first_of_snapshot = true;
        let fetch = format!("FETCH FORWARD {} FROM {CURSOR}", self.fetch_size);
        for (t, table) in self.tables.iter().enumerate() {
            let context = format!(
                "reading {}.{} for the snapshot",
                table.metadata.schema, table.metadata.name
            );
            self.client
                .batch_execute(&format!(
                    "DECLARE {CURSOR} NO SCROLL CURSOR FOR {}",
                    table.select
                ))
                .await
                .map_err(|e| SourceError::control(context.clone(), e))?;
            let mut first_in_table = true;
            loop {
                let messages = self
                    .client
                    .simple_query(&fetch)
                    .await
                    .map_err(|e| SourceError::control(context.clone(), e))?;
                let mut chunk = Vec::with_capacity(messages.len());
                let mut rows: u64 = 0;
                for message in &messages {
                    let SimpleQueryMessage::Row(row) = message else {
                        continue;
                    };
                    let mut columns = Vec::with_capacity(row.len());
                    for i in 0..row.len() {
                        let value = row
                            .try_get(i)
                            .map_err(|e| SourceError::control(context.clone(), e))?;
                        columns.push(match value {
                            Some(text) => Column::Text(text.as_bytes()),
                            None => Column::Null,
                        });
                    }
                    let next = Held {
                        tuple: TupleData::from_columns(&columns),
                        relation: Arc::clone(&table.relation),
                        table: t,
                        first_of_snapshot,
                        first_in_table,
                        last_in_table: false,
                    };
                    first_of_snapshot = false;
                    first_in_table = false;
                    rows += 1;
                    if let Some(previous) = held.replace(next) {
                        chunk.push(self.event(previous, false, index));
                        index += 1;
                    }
                }
                drop(messages);
                let exhausted = rows < self.fetch_size as u64;
                if exhausted && let Some(h) = held.as_mut().filter(|h| h.table == t) {
                    h.last_in_table = true;
                }
                self.update_progress(t, rows, exhausted);
                if !chunk.is_empty() && !self.send(chunk).await {
                    return Ok(());
                }
                if exhausted {
                    break;
                }
            }
            self.client
                .batch_execute(&format!("CLOSE {CURSOR}"))
                .await
                .map_err(|e| SourceError::control(context, e))?;
        }
        let mut tail = Vec::with_capacity(2);
        if let Some(last) = held.take() {
            tail.push(self.event(last, true, index));
            index += 1;
        }
        tail.push(TransactionEvent::Commit(TransactionCommit {
            xid: SNAPSHOT_XID,
            commit_lsn: self.lsn,
            end_lsn: self.lsn,
            commit_time: self.commit_time,
            event_count: index,
        }));
        self.client
            .batch_execute("COMMIT")
            .await
            .map_err(|e| SourceError::control("ending the snapshot transaction", e))?;
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .completed = true;
        self.send(tail).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(first_of_snapshot: bool, first_in_table: bool, last_in_table: bool) -> Held {
        Held {
            tuple: TupleData::from_columns(&[]),
            relation: Arc::new(Relation {
                xid: None,
                oid: 1,
                namespace: "public".into(),
                name: "t".into(),
                replica_identity: tidewater_pgoutput::ReplicaIdentity::Default,
                columns: vec![],
            }),
            table: 0,
            first_of_snapshot,
            first_in_table,
            last_in_table,
        }
    }

    #[test]
    fn markers_follow_debezium_precedence() {
        assert_eq!(marker(&held(true, true, true), true), SnapshotMarker::First);
        assert_eq!(marker(&held(false, true, true), true), SnapshotMarker::Last);
        assert_eq!(
            marker(&held(false, true, true), false),
            SnapshotMarker::FirstInDataCollection
        );
        assert_eq!(
            marker(&held(false, false, true), false),
            SnapshotMarker::LastInDataCollection
        );
        assert_eq!(
            marker(&held(false, false, false), false),
            SnapshotMarker::Middle
        );
    }
}
