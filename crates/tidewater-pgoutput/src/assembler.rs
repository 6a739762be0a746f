//! Transaction assembly for the non-streamed protocol path.
//!
//! ```text
//!  (wal_start, bytes) ──► Decoder ──► Message ──► RelationCache (Relation, Type)
//!                                         │
//!                                         └──► Begin / Change / Commit events, emitted
//!                                              as they arrive (nothing is buffered)
//! ```

use std::sync::Arc;

use bytes::Bytes;

use crate::error::DecodeError;
use crate::event::{
    ChangeEvent, ChangeKind, TransactionBegin, TransactionCommit, TransactionEvent,
};
use crate::lsn::Lsn;
use crate::message::{Decoder, Message, Relation};
use crate::relation::RelationCache;

/// Why a message could not be assembled into events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssembleError {
    /// The bytes are not a valid message.
    #[error("message at {lsn}: {source}")]
    Decode {
        /// WAL position of the message.
        lsn: Lsn,
        /// The decoding error.
        source: DecodeError,
    },
    /// A change names a relation for which no `Relation` message was seen.
    #[error(
        "{message} at {lsn}: unknown relation OID {oid} (no Relation message was received for it)"
    )]
    UnknownRelation {
        /// Message kind.
        message: &'static str,
        /// WAL position of the message.
        lsn: Lsn,
        /// The relation OID.
        oid: u32,
    },
    /// A message arrived where the protocol does not allow it.
    #[error("{message} at {lsn}: {reason}")]
    OutOfSequence {
        /// Message kind.
        message: &'static str,
        /// WAL position of the message.
        lsn: Lsn,
        /// What was expected.
        reason: &'static str,
    },
    /// Streamed or two-phase transactions reached the non-streamed assembler.
    #[error(
        "{message} at {lsn}: streamed and two-phase transactions are not assembled here; start replication with streaming 'off' and two_phase 'false'"
    )]
    Unsupported {
        /// Message kind.
        message: &'static str,
        /// WAL position of the message.
        lsn: Lsn,
    },
}

#[derive(Debug, Clone, Copy)]
struct OpenTransaction {
    begin: TransactionBegin,
    next_index: u64,
}

/// Turns pgoutput messages into [`TransactionEvent`]s.
///
/// Events are emitted as soon as their message is decoded; memory use does not
/// depend on transaction size. The commit LSN is known from `Begin`, so each
/// change carries its final position before the transaction ends.
///
/// ```
/// use tidewater_pgoutput::*;
/// let mut asm = TransactionAssembler::new();
/// let mut out = Vec::new();
/// let rel = Relation { xid: None, oid: 1, namespace: "public".into(), name: "t".into(),
///     replica_identity: ReplicaIdentity::Default,
///     columns: vec![RelationColumn { flags: 1, name: "id".into(), type_oid: 23, type_modifier: -1 }] };
/// let msgs = [
///     Message::Begin(Begin { final_lsn: Lsn(0x200), commit_time: 0, xid: 7 }),
///     Message::Relation(rel),
///     Message::Insert(Insert { xid: None, relation_oid: 1, new: TupleData::from_columns(&[Column::Text(b"1")]) }),
///     Message::Commit(Commit { flags: 0, commit_lsn: Lsn(0x200), end_lsn: Lsn(0x230), commit_time: 0 }),
/// ];
/// for (i, m) in msgs.into_iter().enumerate() {
///     asm.process(Lsn(0x100 + i as u64), m, &mut out)?;
/// }
/// assert!(matches!(&out[1], TransactionEvent::Change(c) if c.commit_lsn == Lsn(0x200) && c.index == 0));
/// assert!(matches!(&out[2], TransactionEvent::Commit(c) if c.end_lsn == Lsn(0x230) && c.event_count == 1));
/// # Ok::<(), AssembleError>(())
/// ```
#[derive(Debug, Default)]
pub struct TransactionAssembler {
    decoder: Decoder,
    relations: RelationCache,
    open: Option<OpenTransaction>,
}

impl TransactionAssembler {
    /// An assembler with an empty relation cache.
    pub fn new() -> Self {
        TransactionAssembler::default()
    }

    /// An assembler using an existing cache (for example with registered enum types).
    pub fn with_cache(relations: RelationCache) -> Self {
        TransactionAssembler {
            relations,
            ..TransactionAssembler::default()
        }
    }

    /// The relation cache.
    pub fn relations(&self) -> &RelationCache {
        &self.relations
    }

    /// The relation cache, for registering types.
    pub fn relations_mut(&mut self) -> &mut RelationCache {
        &mut self.relations
    }

    /// Whether a transaction is open (Begin seen, Commit not yet).
    pub fn in_transaction(&self) -> bool {
        self.open.is_some()
    }

    /// Forgets any open transaction and stream state (after a reconnect, the
    /// server resends from the last confirmed position). Relations are kept
    /// until the server resends them.
    pub fn reset(&mut self) {
        self.open = None;
        self.decoder.reset();
    }

    /// Decodes the pgoutput message of one XLogData frame starting at
    /// `wal_start` and appends the resulting events to `out`.
    pub fn push(
        &mut self,
        wal_start: Lsn,
        data: &Bytes,
        out: &mut Vec<TransactionEvent>,
    ) -> Result<(), AssembleError> {
        let message = self
            .decoder
            .decode(data)
            .map_err(|source| AssembleError::Decode {
                lsn: wal_start,
                source,
            })?;
        self.process(wal_start, message, out)
    }

    /// Processes one decoded message at WAL position `lsn`, appending events to `out`.
    pub fn process(
        &mut self,
        lsn: Lsn,
        message: Message,
        out: &mut Vec<TransactionEvent>,
    ) -> Result<(), AssembleError> {
        let name = message.name();
        match message {
            Message::Begin(b) => {
                if self.open.is_some() {
                    return Err(AssembleError::OutOfSequence {
                        message: name,
                        lsn,
                        reason: "Begin inside an open transaction",
                    });
                }
                let begin = TransactionBegin {
                    xid: b.xid,
                    commit_lsn: b.final_lsn,
                    commit_time: b.commit_time,
                };
                self.open = Some(OpenTransaction {
                    begin,
                    next_index: 0,
                });
                out.push(TransactionEvent::Begin(begin));
            }
            Message::Commit(c) => {
                let Some(open) = self.open.take() else {
                    return Err(AssembleError::OutOfSequence {
                        message: name,
                        lsn,
                        reason: "Commit without Begin",
                    });
                };
                if c.commit_lsn != open.begin.commit_lsn {
                    return Err(AssembleError::OutOfSequence {
                        message: name,
                        lsn,
                        reason: "commit LSN differs from the final LSN announced by Begin",
                    });
                }
                out.push(TransactionEvent::Commit(TransactionCommit {
                    xid: open.begin.xid,
                    commit_lsn: c.commit_lsn,
                    end_lsn: c.end_lsn,
                    commit_time: c.commit_time,
                    event_count: open.next_index,
                }));
            }
            Message::Origin(_) => {}
            Message::Relation(rel) => {
                self.relations.insert_relation(rel);
            }
            Message::Type(ty) => self.relations.apply_type(&ty),
            Message::Insert(m) => {
                let relation = self.relation(name, lsn, m.relation_oid)?;
                self.change(
                    name,
                    lsn,
                    Some(relation),
                    ChangeKind::Insert { new: m.new },
                    out,
                )?;
            }
            Message::Update(m) => {
                let relation = self.relation(name, lsn, m.relation_oid)?;
                let kind = ChangeKind::Update {
                    old: m.old,
                    new: m.new,
                };
                self.change(name, lsn, Some(relation), kind, out)?;
            }
            Message::Delete(m) => {
                let relation = self.relation(name, lsn, m.relation_oid)?;
                self.change(
                    name,
                    lsn,
                    Some(relation),
                    ChangeKind::Delete { old: m.old },
                    out,
                )?;
            }
            Message::Truncate(m) => {
                // Resolve every relation first so an error emits nothing.
                let relations = m
                    .relation_oids
                    .iter()
                    .map(|&oid| self.relation(name, lsn, oid))
                    .collect::<Result<Vec<_>, _>>()?;
                for relation in relations {
                    let kind = ChangeKind::Truncate {
                        cascade: m.cascade(),
                        restart_identity: m.restart_identity(),
                    };
                    self.change(name, lsn, Some(relation), kind, out)?;
                }
            }
            Message::Message(m) => {
                let kind = ChangeKind::Message {
                    transactional: m.transactional(),
                    prefix: m.prefix,
                    content: m.content,
                };
                if m.flags & 1 != 0 {
                    self.change(name, lsn, None, kind, out)?;
                } else {
                    out.push(TransactionEvent::Change(ChangeEvent {
                        kind,
                        relation: None,
                        lsn,
                        commit_lsn: m.lsn,
                        xid: None,
                        commit_time: 0,
                        index: 0,
                    }));
                }
            }
            Message::StreamStart(_)
            | Message::StreamStop
            | Message::StreamCommit(_)
            | Message::StreamAbort(_)
            | Message::BeginPrepare(_)
            | Message::Prepare(_)
            | Message::CommitPrepared(_)
            | Message::RollbackPrepared(_)
            | Message::StreamPrepare(_) => {
                // The decoder may have entered stream state on a Stream Start; the
                // message is rejected, so leave no state behind it.
                self.decoder.reset();
                return Err(AssembleError::Unsupported { message: name, lsn });
            }
        }
        Ok(())
    }

    fn relation(
        &self,
        message: &'static str,
        lsn: Lsn,
        oid: u32,
    ) -> Result<Arc<Relation>, AssembleError> {
        self.relations
            .relation(oid)
            .cloned()
            .ok_or(AssembleError::UnknownRelation { message, lsn, oid })
    }

    fn change(
        &mut self,
        message: &'static str,
        lsn: Lsn,
        relation: Option<Arc<Relation>>,
        kind: ChangeKind,
        out: &mut Vec<TransactionEvent>,
    ) -> Result<(), AssembleError> {
        let Some(open) = self.open.as_mut() else {
            return Err(AssembleError::OutOfSequence {
                message,
                lsn,
                reason: "change outside a transaction",
            });
        };
        let index = open.next_index;
        open.next_index += 1;
        out.push(TransactionEvent::Change(ChangeEvent {
            kind,
            relation,
            lsn,
            commit_lsn: open.begin.commit_lsn,
            xid: Some(open.begin.xid),
            commit_time: open.begin.commit_time,
            index,
        }));
        Ok(())
    }
}
