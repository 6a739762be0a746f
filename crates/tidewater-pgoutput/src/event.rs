//! Change events: what downstream stages consume.

use std::sync::Arc;

use bytes::Bytes;

use crate::lsn::Lsn;
use crate::message::{OldTuple, Relation};
use crate::tuple::TupleData;

/// The operation of a [`ChangeEvent`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeKind {
    /// A row read by a snapshot (Debezium op `r`).
    Read {
        /// The row.
        new: TupleData,
        /// Where the row stands in the snapshot (Debezium's `source.snapshot`).
        snapshot: SnapshotMarker,
    },
    /// A row was inserted (op `c`).
    Insert {
        /// The new row.
        new: TupleData,
    },
    /// A row was updated (op `u`).
    Update {
        /// The old key or whole old row, when the server sent it.
        old: Option<OldTuple>,
        /// The new row.
        new: TupleData,
    },
    /// A row was deleted (op `d`).
    Delete {
        /// The old key or whole old row.
        old: OldTuple,
    },
    /// The table was truncated (op `t`); one event per truncated table.
    Truncate {
        /// Whether `CASCADE` was given.
        cascade: bool,
        /// Whether `RESTART IDENTITY` was given.
        restart_identity: bool,
    },
    /// A logical decoding message (op `m`).
    Message {
        /// Whether it was emitted inside a transaction.
        transactional: bool,
        /// The prefix.
        prefix: String,
        /// The content.
        content: Bytes,
    },
}

impl ChangeKind {
    /// The Debezium op code: `r`, `c`, `u`, `d`, `t` or `m`.
    pub fn op_code(&self) -> char {
        match self {
            ChangeKind::Read { .. } => 'r',
            ChangeKind::Insert { .. } => 'c',
            ChangeKind::Update { .. } => 'u',
            ChangeKind::Delete { .. } => 'd',
            ChangeKind::Truncate { .. } => 't',
            ChangeKind::Message { .. } => 'm',
        }
    }
}

/// Where a snapshot row stands in the snapshot: the value of Debezium's
/// `source.snapshot` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SnapshotMarker {
    /// The first row of the whole snapshot (`"first"`).
    First,
    /// The first row of a table, not the first of the snapshot (`"first_in_data_collection"`).
    FirstInDataCollection,
    /// Any other row (`"true"`).
    Middle,
    /// The last row of a table, not the last of the snapshot (`"last_in_data_collection"`).
    LastInDataCollection,
    /// The last row of the whole snapshot (`"last"`).
    Last,
}

impl SnapshotMarker {
    /// The string Debezium writes in `source.snapshot`.
    pub fn as_debezium_str(self) -> &'static str {
        match self {
            SnapshotMarker::First => "first",
            SnapshotMarker::FirstInDataCollection => "first_in_data_collection",
            SnapshotMarker::Middle => "true",
            SnapshotMarker::LastInDataCollection => "last_in_data_collection",
            SnapshotMarker::Last => "last",
        }
    }
}

/// One change, with its table and its position in the WAL.
///
/// Order events by `(commit_lsn, index)`: several changes can share an LSN,
/// and changes of concurrent transactions interleave in the WAL but are sent
/// in commit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    /// What happened.
    pub kind: ChangeKind,
    /// The table, as described by the last `Relation` message before the change.
    /// `None` for logical messages.
    pub relation: Option<Arc<Relation>>,
    /// WAL position of the change (the XLogData start of its message).
    pub lsn: Lsn,
    /// LSN of the transaction's commit record (for a non-transactional message,
    /// the message's own LSN).
    pub commit_lsn: Lsn,
    /// Transaction id; `None` for non-transactional messages.
    pub xid: Option<u32>,
    /// Commit time: microseconds since 2000-01-01 00:00:00 UTC.
    pub commit_time: i64,
    /// Zero-based position of the event within its transaction.
    pub index: u64,
}

/// Start of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionBegin {
    /// Transaction id.
    pub xid: u32,
    /// LSN of the commit record.
    pub commit_lsn: Lsn,
    /// Commit time: microseconds since 2000-01-01 00:00:00 UTC.
    pub commit_time: i64,
}

/// End of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionCommit {
    /// Transaction id.
    pub xid: u32,
    /// LSN of the commit record.
    pub commit_lsn: Lsn,
    /// End of the transaction: the position to acknowledge once all its events are durable.
    pub end_lsn: Lsn,
    /// Commit time: microseconds since 2000-01-01 00:00:00 UTC.
    pub commit_time: i64,
    /// Number of change events the transaction produced.
    pub event_count: u64,
}

/// What transaction assembly produces.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionEvent {
    /// A transaction started.
    Begin(TransactionBegin),
    /// A change.
    Change(ChangeEvent),
    /// A transaction ended.
    Commit(TransactionCommit),
}
