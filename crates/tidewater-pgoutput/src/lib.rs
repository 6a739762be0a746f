#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

mod assembler;
mod error;
mod event;
mod frame;
mod lsn;
mod message;
mod reader;
mod relation;
mod tuple;
mod types;
pub mod value;

pub use assembler::{AssembleError, TransactionAssembler};
pub use error::DecodeError;
pub use event::{
    ChangeEvent, ChangeKind, SnapshotMarker, TransactionBegin, TransactionCommit, TransactionEvent,
};
pub use frame::{
    PG_EPOCH_UNIX_MICROS, PrimaryKeepalive, ReplicationFrame, StandbyStatusUpdate, XLogData,
    pg_to_unix_micros, unix_to_pg_micros,
};
pub use lsn::{Lsn, ParseLsnError};
pub use message::{
    AbortInfo, Begin, BeginPrepare, Commit, CommitPrepared, Decoder, Delete, FrameMessage, Insert,
    LogicalMessage, Message, OldTuple, Origin, Prepare, Relation, RelationColumn, ReplicaIdentity,
    RollbackPrepared, StreamAbort, StreamCommit, StreamStart, Truncate, TypeMessage, Update,
    tag_name,
};
pub use relation::RelationCache;
pub use tuple::{Column, TupleData, TupleIter};
pub use types::{NoTypes, TypeInfo, TypeKind, TypeLookup};
