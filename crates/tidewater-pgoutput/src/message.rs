//! pgoutput messages (protocol versions 1 to 4): decoding and byte-exact encoding.
//!
//! ```text
//!  XLogData payload ──► Decoder::decode ──► Message::{Begin, Relation, Insert, ..., Commit}
//!                        (tracks Stream Start/Stop: inside a stream, data messages
//!                         carry a leading Int32 xid)
//! ```
//!
//! # References
//! PostgreSQL documentation, "Logical Replication Message Formats".

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::DecodeError;
use crate::lsn::Lsn;
use crate::reader::Reader;
use crate::tuple::TupleData;

/// One pgoutput message.
///
/// Data messages (`Relation`, `Type`, `Insert`, `Update`, `Delete`, `Truncate`,
/// `Message`) carry `xid: Some(..)` exactly when they were sent inside a
/// streamed transaction (between `StreamStart` and `StreamStop`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// `B`: start of a transaction.
    Begin(Begin),
    /// `C`: end of a transaction.
    Commit(Commit),
    /// `O`: the transaction came from another node (replication origin).
    Origin(Origin),
    /// `R`: description of a table.
    Relation(Relation),
    /// `Y`: description of a non-built-in data type.
    Type(TypeMessage),
    /// `I`: a row was inserted.
    Insert(Insert),
    /// `U`: a row was updated.
    Update(Update),
    /// `D`: a row was deleted.
    Delete(Delete),
    /// `T`: tables were truncated.
    Truncate(Truncate),
    /// `M`: a logical decoding message (`pg_logical_emit_message`).
    Message(LogicalMessage),
    /// `S`: start of a chunk of a streamed transaction (v2+).
    StreamStart(StreamStart),
    /// `E`: end of a chunk of a streamed transaction (v2+).
    StreamStop,
    /// `c`: commit of a streamed transaction (v2+).
    StreamCommit(StreamCommit),
    /// `A`: abort of a streamed (sub)transaction (v2+).
    StreamAbort(StreamAbort),
    /// `b`: start of a prepared transaction (v3+).
    BeginPrepare(BeginPrepare),
    /// `P`: a transaction was prepared (v3+).
    Prepare(Prepare),
    /// `K`: a prepared transaction was committed (v3+).
    CommitPrepared(CommitPrepared),
    /// `r`: a prepared transaction was rolled back (v3+).
    RollbackPrepared(RollbackPrepared),
    /// `p`: a streamed transaction was prepared (v3+).
    StreamPrepare(Prepare),
}

/// `B`: start of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begin {
    /// The final LSN of the transaction (the LSN of its commit record).
    pub final_lsn: Lsn,
    /// Commit timestamp: microseconds since 2000-01-01 00:00:00 UTC.
    pub commit_time: i64,
    /// Transaction id.
    pub xid: u32,
}

/// `C`: end of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    /// Flags (currently always 0).
    pub flags: u8,
    /// LSN of the commit record.
    pub commit_lsn: Lsn,
    /// End LSN of the transaction: where streaming resumes after it.
    pub end_lsn: Lsn,
    /// Commit timestamp: microseconds since 2000-01-01 00:00:00 UTC.
    pub commit_time: i64,
}

/// `O`: replication origin of the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// LSN of the commit on the origin server.
    pub commit_lsn: Lsn,
    /// Name of the origin.
    pub name: String,
}

/// Replica identity setting of a table, which decides what old values are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplicaIdentity {
    /// `d`: primary key columns.
    Default,
    /// `n`: nothing.
    Nothing,
    /// `f`: all columns.
    Full,
    /// `i`: the columns of a chosen unique index.
    Index,
}

impl ReplicaIdentity {
    /// The wire byte.
    pub fn to_byte(self) -> u8 {
        match self {
            ReplicaIdentity::Default => b'd',
            ReplicaIdentity::Nothing => b'n',
            ReplicaIdentity::Full => b'f',
            ReplicaIdentity::Index => b'i',
        }
    }

    /// Parses the wire byte.
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'd' => ReplicaIdentity::Default,
            b'n' => ReplicaIdentity::Nothing,
            b'f' => ReplicaIdentity::Full,
            b'i' => ReplicaIdentity::Index,
            _ => return None,
        })
    }
}

/// One column of a [`Relation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Flags: bit 1 marks a column of the replica identity key.
    pub flags: u8,
    /// Column name.
    pub name: String,
    /// Data type OID.
    pub type_oid: u32,
    /// Type modifier (`atttypmod`), -1 when none.
    pub type_modifier: i32,
}

impl RelationColumn {
    /// Whether the column is part of the replica identity key.
    pub fn is_key(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// `R`: description of a table, sent before its first change and after schema changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Transaction id, present inside a streamed transaction.
    pub xid: Option<u32>,
    /// Relation OID.
    pub oid: u32,
    /// Schema name; empty for `pg_catalog`.
    pub namespace: String,
    /// Table name.
    pub name: String,
    /// Replica identity setting.
    pub replica_identity: ReplicaIdentity,
    /// Columns in order (dropped and generated columns are not sent).
    pub columns: Vec<RelationColumn>,
}

/// `Y`: description of a non-built-in data type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMessage {
    /// Transaction id, present inside a streamed transaction.
    pub xid: Option<u32>,
    /// Type OID.
    pub oid: u32,
    /// Schema name; empty for `pg_catalog`.
    pub namespace: String,
    /// Type name.
    pub name: String,
}

/// `I`: an inserted row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insert {
    /// Transaction id, present inside a streamed transaction.
    pub xid: Option<u32>,
    /// Relation OID.
    pub relation_oid: u32,
    /// The new row.
    pub new: TupleData,
}

/// The old values sent with an update or delete.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OldTuple {
    /// `K`: the old replica identity key columns (other columns are null).
    Key(TupleData),
    /// `O`: the whole old row (`REPLICA IDENTITY FULL`).
    Full(TupleData),
}

impl OldTuple {
    /// The tuple, whichever kind.
    pub fn tuple(&self) -> &TupleData {
        match self {
            OldTuple::Key(t) | OldTuple::Full(t) => t,
        }
    }

    fn tag(&self) -> u8 {
        match self {
            OldTuple::Key(_) => b'K',
            OldTuple::Full(_) => b'O',
        }
    }
}

/// `U`: an updated row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// Transaction id, present inside a streamed transaction.
    pub xid: Option<u32>,
    /// Relation OID.
    pub relation_oid: u32,
    /// The old key or row, when the key changed or the identity is FULL.
    pub old: Option<OldTuple>,
    /// The new row.
    pub new: TupleData,
}

/// `D`: a deleted row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    /// Transaction id, present inside a streamed transaction.
    pub xid: Option<u32>,
    /// Relation OID.
    pub relation_oid: u32,
    /// The old key or row.
    pub old: OldTuple,
}

/// `T`: truncated tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncate {
    /// Transaction id, present inside a streamed transaction.
    pub xid: Option<u32>,
    /// Option bits: 1 = CASCADE, 2 = RESTART IDENTITY.
    pub options: u8,
    /// OIDs of the truncated relations.
    pub relation_oids: Vec<u32>,
}

impl Truncate {
    /// Option bit for `CASCADE`.
    pub const CASCADE: u8 = 1;
    /// Option bit for `RESTART IDENTITY`.
    pub const RESTART_IDENTITY: u8 = 2;

    /// Whether `CASCADE` was given.
    pub fn cascade(&self) -> bool {
        self.options & Self::CASCADE != 0
    }

    /// Whether `RESTART IDENTITY` was given.
    pub fn restart_identity(&self) -> bool {
        self.options & Self::RESTART_IDENTITY != 0
    }
}

/// `M`: a logical decoding message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalMessage {
    /// Transaction id, present inside a streamed transaction.
    pub xid: Option<u32>,
    /// Flags: bit 1 = transactional.
    pub flags: u8,
    /// LSN of the message.
    pub lsn: Lsn,
    /// Prefix given to `pg_logical_emit_message`.
    pub prefix: String,
    /// Content (zero-copy slice of the frame).
    pub content: Bytes,
}

impl LogicalMessage {
    /// Whether the message was emitted as part of a transaction.
    pub fn transactional(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// `S`: start of a streamed chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStart {
    /// Transaction id.
    pub xid: u32,
    /// 1 for the first chunk of this transaction, else 0.
    pub first_segment: u8,
}

/// `c`: commit of a streamed transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamCommit {
    /// Transaction id.
    pub xid: u32,
    /// Flags (currently 0).
    pub flags: u8,
    /// LSN of the commit record.
    pub commit_lsn: Lsn,
    /// End LSN of the transaction.
    pub end_lsn: Lsn,
    /// Commit timestamp: microseconds since 2000-01-01 00:00:00 UTC.
    pub commit_time: i64,
}

/// `A`: abort of a streamed transaction or subtransaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamAbort {
    /// Transaction id of the top-level transaction.
    pub xid: u32,
    /// Transaction id of the aborted subtransaction (equal to `xid` for the top level).
    pub subxid: u32,
    /// Abort LSN and timestamp, sent by protocol 4 with `streaming 'parallel'`.
    pub abort: Option<AbortInfo>,
}

/// Position and time of a streamed abort (protocol 4, parallel streaming).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortInfo {
    /// LSN of the abort record.
    pub abort_lsn: Lsn,
    /// Abort timestamp: microseconds since 2000-01-01 00:00:00 UTC.
    pub abort_time: i64,
}

/// `b`: start of a prepared transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeginPrepare {
    /// LSN of the prepare record.
    pub prepare_lsn: Lsn,
    /// End LSN of the prepared transaction.
    pub end_lsn: Lsn,
    /// Prepare timestamp: microseconds since 2000-01-01 00:00:00 UTC.
    pub prepare_time: i64,
    /// Transaction id.
    pub xid: u32,
    /// Global identifier given to `PREPARE TRANSACTION`.
    pub gid: String,
}

/// `P` (Prepare) and `p` (Stream Prepare): a transaction was prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepare {
    /// Flags (currently 0).
    pub flags: u8,
    /// LSN of the prepare record.
    pub prepare_lsn: Lsn,
    /// End LSN of the prepared transaction.
    pub end_lsn: Lsn,
    /// Prepare timestamp: microseconds since 2000-01-01 00:00:00 UTC.
    pub prepare_time: i64,
    /// Transaction id.
    pub xid: u32,
    /// Global identifier.
    pub gid: String,
}

/// `K`: a prepared transaction was committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitPrepared {
    /// Flags (currently 0).
    pub flags: u8,
    /// LSN of the commit record.
    pub commit_lsn: Lsn,
    /// End LSN of the commit.
    pub end_lsn: Lsn,
    /// Commit timestamp: microseconds since 2000-01-01 00:00:00 UTC.
    pub commit_time: i64,
    /// Transaction id.
    pub xid: u32,
    /// Global identifier.
    pub gid: String,
}

/// `r`: a prepared transaction was rolled back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackPrepared {
    /// Flags (currently 0).
    pub flags: u8,
    /// End LSN of the prepared transaction.
    pub prepare_end_lsn: Lsn,
    /// End LSN of the rollback.
    pub rollback_end_lsn: Lsn,
    /// Prepare timestamp: microseconds since 2000-01-01 00:00:00 UTC.
    pub prepare_time: i64,
    /// Rollback timestamp: microseconds since 2000-01-01 00:00:00 UTC.
    pub rollback_time: i64,
    /// Transaction id.
    pub xid: u32,
    /// Global identifier.
    pub gid: String,
}

impl Message {
    /// The message's name as used in logs and errors (`"Insert"`, `"StreamAbort"`, ...).
    pub fn name(&self) -> &'static str {
        tag_name(self.tag()).unwrap_or("Unknown")
    }

    /// The message's tag byte.
    pub fn tag(&self) -> u8 {
        match self {
            Message::Begin(_) => b'B',
            Message::Commit(_) => b'C',
            Message::Origin(_) => b'O',
            Message::Relation(_) => b'R',
            Message::Type(_) => b'Y',
            Message::Insert(_) => b'I',
            Message::Update(_) => b'U',
            Message::Delete(_) => b'D',
            Message::Truncate(_) => b'T',
            Message::Message(_) => b'M',
            Message::StreamStart(_) => b'S',
            Message::StreamStop => b'E',
            Message::StreamCommit(_) => b'c',
            Message::StreamAbort(_) => b'A',
            Message::BeginPrepare(_) => b'b',
            Message::Prepare(_) => b'P',
            Message::CommitPrepared(_) => b'K',
            Message::RollbackPrepared(_) => b'r',
            Message::StreamPrepare(_) => b'p',
        }
    }

    /// Decodes one message. `in_stream` says whether the message was sent
    /// between Stream Start and Stream Stop, where data messages carry an xid.
    /// Prefer [`Decoder`], which tracks that state.
    #[inline]
    pub fn decode(data: &Bytes, in_stream: bool) -> Result<Message, DecodeError> {
        Self::decode_at(data, 0, in_stream)
    }

    /// Decodes the message that starts at `start` in `data` and runs to its end
    /// (for example inside an XLogData frame, without slicing it out first).
    /// Error offsets are relative to `start`.
    pub fn decode_at(data: &Bytes, start: usize, in_stream: bool) -> Result<Message, DecodeError> {
        let Some(&tag) = data.get(start) else {
            return Err(DecodeError::Empty {
                context: "pgoutput message",
            });
        };
        let Some(name) = tag_name(tag) else {
            return Err(DecodeError::UnknownTag {
                context: "pgoutput message",
                tag,
                offset: 0,
            });
        };
        let mut r = Reader::at(data, start, start + 1, name);
        let xid = |r: &mut Reader<'_>| -> Result<Option<u32>, DecodeError> {
            if in_stream {
                r.u32("xid").map(Some)
            } else {
                Ok(None)
            }
        };
        let msg = match tag {
            b'B' => Message::Begin(Begin {
                final_lsn: Lsn(r.u64("final LSN")?),
                commit_time: r.i64("commit timestamp")?,
                xid: r.u32("xid")?,
            }),
            b'C' => Message::Commit(Commit {
                flags: r.u8("flags")?,
                commit_lsn: Lsn(r.u64("commit LSN")?),
                end_lsn: Lsn(r.u64("end LSN")?),
                commit_time: r.i64("commit timestamp")?,
            }),
            b'O' => Message::Origin(Origin {
                commit_lsn: Lsn(r.u64("origin commit LSN")?),
                name: r.cstr("origin name")?.to_owned(),
            }),
            b'R' => {
                let xid = xid(&mut r)?;
                let oid = r.u32("relation OID")?;
                let namespace = r.cstr("namespace")?.to_owned();
                let name = r.cstr("relation name")?.to_owned();
                let ri_offset = r.offset();
                let ri = r.u8("replica identity")?;
                let replica_identity =
                    ReplicaIdentity::from_byte(ri).ok_or(DecodeError::UnknownTag {
                        context: "Relation replica identity",
                        tag: ri,
                        offset: ri_offset,
                    })?;
                let n_offset = r.position();
                let ncols = r.i16("column count")?;
                let ncols = usize::try_from(ncols).map_err(|_| {
                    r.invalid("column count", n_offset, format!("{ncols} is negative"))
                })?;
                // Each column takes at least 10 bytes: never reserve more than the input can hold.
                let mut columns = Vec::with_capacity(ncols.min(r.remaining() / 10));
                for _ in 0..ncols {
                    columns.push(RelationColumn {
                        flags: r.u8("column flags")?,
                        name: r.cstr("column name")?.to_owned(),
                        type_oid: r.u32("column type OID")?,
                        type_modifier: r.i32("column type modifier")?,
                    });
                }
                Message::Relation(Relation {
                    xid,
                    oid,
                    namespace,
                    name,
                    replica_identity,
                    columns,
                })
            }
            b'Y' => Message::Type(TypeMessage {
                xid: xid(&mut r)?,
                oid: r.u32("type OID")?,
                namespace: r.cstr("namespace")?.to_owned(),
                name: r.cstr("type name")?.to_owned(),
            }),
            b'I' => {
                let xid = xid(&mut r)?;
                let relation_oid = r.u32("relation OID")?;
                expect_tag(&mut r, b'N', "new tuple marker")?;
                let new = TupleData::read(&mut r, data, "new tuple")?;
                Message::Insert(Insert {
                    xid,
                    relation_oid,
                    new,
                })
            }
            b'U' => {
                let xid = xid(&mut r)?;
                let relation_oid = r.u32("relation OID")?;
                let marker_offset = r.offset();
                let old = match r.u8("tuple marker")? {
                    b'K' => Some(OldTuple::Key(TupleData::read(&mut r, data, "old key")?)),
                    b'O' => Some(OldTuple::Full(TupleData::read(&mut r, data, "old row")?)),
                    b'N' => None,
                    other => {
                        return Err(DecodeError::UnknownTag {
                            context: "Update tuple marker",
                            tag: other,
                            offset: marker_offset,
                        });
                    }
                };
                if old.is_some() {
                    expect_tag(&mut r, b'N', "new tuple marker")?;
                }
                let new = TupleData::read(&mut r, data, "new tuple")?;
                Message::Update(Update {
                    xid,
                    relation_oid,
                    old,
                    new,
                })
            }
            b'D' => {
                let xid = xid(&mut r)?;
                let relation_oid = r.u32("relation OID")?;
                let marker_offset = r.offset();
                let old = match r.u8("tuple marker")? {
                    b'K' => OldTuple::Key(TupleData::read(&mut r, data, "old key")?),
                    b'O' => OldTuple::Full(TupleData::read(&mut r, data, "old row")?),
                    other => {
                        return Err(DecodeError::UnknownTag {
                            context: "Delete tuple marker",
                            tag: other,
                            offset: marker_offset,
                        });
                    }
                };
                Message::Delete(Delete {
                    xid,
                    relation_oid,
                    old,
                })
            }
            b'T' => {
                let xid = xid(&mut r)?;
                let n_offset = r.position();
                let n = r.u32("relation count")?;
                let options = r.u8("options")?;
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if r.remaining() / 4 < n {
                    return Err(r.invalid(
                        "relation count",
                        n_offset,
                        format!(
                            "{n} relations need {} bytes, {} remain",
                            n.saturating_mul(4),
                            r.remaining()
                        ),
                    ));
                }
                let mut relation_oids = Vec::with_capacity(n);
                for _ in 0..n {
                    relation_oids.push(r.u32("relation OID")?);
                }
                Message::Truncate(Truncate {
                    xid,
                    options,
                    relation_oids,
                })
            }
            b'M' => {
                let xid = xid(&mut r)?;
                let flags = r.u8("flags")?;
                let lsn = Lsn(r.u64("message LSN")?);
                let prefix = r.cstr("prefix")?.to_owned();
                let len = r.u32("content length")?;
                let content_start = r.position();
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                r.bytes(len, "content")?;
                Message::Message(LogicalMessage {
                    xid,
                    flags,
                    lsn,
                    prefix,
                    content: data.slice(content_start..content_start + len),
                })
            }
            b'S' => Message::StreamStart(StreamStart {
                xid: r.u32("xid")?,
                first_segment: r.u8("first segment")?,
            }),
            b'E' => Message::StreamStop,
            b'c' => Message::StreamCommit(StreamCommit {
                xid: r.u32("xid")?,
                flags: r.u8("flags")?,
                commit_lsn: Lsn(r.u64("commit LSN")?),
                end_lsn: Lsn(r.u64("end LSN")?),
                commit_time: r.i64("commit timestamp")?,
            }),
            b'A' => {
                let xid = r.u32("xid")?;
                let subxid = r.u32("subtransaction xid")?;
                // Protocol 4 with parallel streaming appends the abort LSN and time.
                let abort = if r.remaining() > 0 {
                    Some(AbortInfo {
                        abort_lsn: Lsn(r.u64("abort LSN")?),
                        abort_time: r.i64("abort timestamp")?,
                    })
                } else {
                    None
                };
                Message::StreamAbort(StreamAbort { xid, subxid, abort })
            }
            b'b' => Message::BeginPrepare(BeginPrepare {
                prepare_lsn: Lsn(r.u64("prepare LSN")?),
                end_lsn: Lsn(r.u64("end LSN")?),
                prepare_time: r.i64("prepare timestamp")?,
                xid: r.u32("xid")?,
                gid: r.cstr("gid")?.to_owned(),
            }),
            b'P' | b'p' => {
                let prepare = Prepare {
                    flags: r.u8("flags")?,
                    prepare_lsn: Lsn(r.u64("prepare LSN")?),
                    end_lsn: Lsn(r.u64("end LSN")?),
                    prepare_time: r.i64("prepare timestamp")?,
                    xid: r.u32("xid")?,
                    gid: r.cstr("gid")?.to_owned(),
                };
                if tag == b'P' {
                    Message::Prepare(prepare)
                } else {
                    Message::StreamPrepare(prepare)
                }
            }
            b'K' => Message::CommitPrepared(CommitPrepared {
                flags: r.u8("flags")?,
                commit_lsn: Lsn(r.u64("commit LSN")?),
                end_lsn: Lsn(r.u64("end LSN")?),
                commit_time: r.i64("commit timestamp")?,
                xid: r.u32("xid")?,
                gid: r.cstr("gid")?.to_owned(),
            }),
            b'r' => Message::RollbackPrepared(RollbackPrepared {
                flags: r.u8("flags")?,
                prepare_end_lsn: Lsn(r.u64("prepare end LSN")?),
                rollback_end_lsn: Lsn(r.u64("rollback end LSN")?),
                prepare_time: r.i64("prepare timestamp")?,
                rollback_time: r.i64("rollback timestamp")?,
                xid: r.u32("xid")?,
                gid: r.cstr("gid")?.to_owned(),
            }),
            _ => {
                return Err(DecodeError::UnknownTag {
                    context: "pgoutput message",
                    tag,
                    offset: 0,
                });
            }
        };
        r.finish()?;
        Ok(msg)
    }

    /// Encodes the message exactly as pgoutput sends it.
    pub fn encode(&self, out: &mut impl BufMut) {
        out.put_u8(self.tag());
        let put_xid = |out: &mut dyn BufMut, xid: Option<u32>| {
            if let Some(xid) = xid {
                out.put_u32(xid);
            }
        };
        match self {
            Message::Begin(m) => {
                out.put_u64(m.final_lsn.0);
                out.put_i64(m.commit_time);
                out.put_u32(m.xid);
            }
            Message::Commit(m) => {
                out.put_u8(m.flags);
                out.put_u64(m.commit_lsn.0);
                out.put_u64(m.end_lsn.0);
                out.put_i64(m.commit_time);
            }
            Message::Origin(m) => {
                out.put_u64(m.commit_lsn.0);
                put_cstr(out, &m.name);
            }
            Message::Relation(m) => {
                put_xid(out, m.xid);
                out.put_u32(m.oid);
                put_cstr(out, &m.namespace);
                put_cstr(out, &m.name);
                out.put_u8(m.replica_identity.to_byte());
                out.put_i16(i16::try_from(m.columns.len()).unwrap_or(i16::MAX));
                for c in m.columns.iter().take(i16::MAX as usize) {
                    out.put_u8(c.flags);
                    put_cstr(out, &c.name);
                    out.put_u32(c.type_oid);
                    out.put_i32(c.type_modifier);
                }
            }
            Message::Type(m) => {
                put_xid(out, m.xid);
                out.put_u32(m.oid);
                put_cstr(out, &m.namespace);
                put_cstr(out, &m.name);
            }
            Message::Insert(m) => {
                put_xid(out, m.xid);
                out.put_u32(m.relation_oid);
                out.put_u8(b'N');
                m.new.encode(out);
            }
            Message::Update(m) => {
                put_xid(out, m.xid);
                out.put_u32(m.relation_oid);
                if let Some(old) = &m.old {
                    out.put_u8(old.tag());
                    old.tuple().encode(out);
                }
                out.put_u8(b'N');
                m.new.encode(out);
            }
            Message::Delete(m) => {
                put_xid(out, m.xid);
                out.put_u32(m.relation_oid);
                out.put_u8(m.old.tag());
                m.old.tuple().encode(out);
            }
            Message::Truncate(m) => {
                put_xid(out, m.xid);
                out.put_u32(u32::try_from(m.relation_oids.len()).unwrap_or(u32::MAX));
                out.put_u8(m.options);
                for oid in &m.relation_oids {
                    out.put_u32(*oid);
                }
            }
            Message::Message(m) => {
                put_xid(out, m.xid);
                out.put_u8(m.flags);
                out.put_u64(m.lsn.0);
                put_cstr(out, &m.prefix);
                out.put_u32(u32::try_from(m.content.len()).unwrap_or(u32::MAX));
                out.put_slice(&m.content);
            }
            Message::StreamStart(m) => {
                out.put_u32(m.xid);
                out.put_u8(m.first_segment);
            }
            Message::StreamStop => {}
            Message::StreamCommit(m) => {
                out.put_u32(m.xid);
                out.put_u8(m.flags);
                out.put_u64(m.commit_lsn.0);
                out.put_u64(m.end_lsn.0);
                out.put_i64(m.commit_time);
            }
            Message::StreamAbort(m) => {
                out.put_u32(m.xid);
                out.put_u32(m.subxid);
                if let Some(a) = m.abort {
                    out.put_u64(a.abort_lsn.0);
                    out.put_i64(a.abort_time);
                }
            }
            Message::BeginPrepare(m) => {
                out.put_u64(m.prepare_lsn.0);
                out.put_u64(m.end_lsn.0);
                out.put_i64(m.prepare_time);
                out.put_u32(m.xid);
                put_cstr(out, &m.gid);
            }
            Message::Prepare(m) | Message::StreamPrepare(m) => {
                out.put_u8(m.flags);
                out.put_u64(m.prepare_lsn.0);
                out.put_u64(m.end_lsn.0);
                out.put_i64(m.prepare_time);
                out.put_u32(m.xid);
                put_cstr(out, &m.gid);
            }
            Message::CommitPrepared(m) => {
                out.put_u8(m.flags);
                out.put_u64(m.commit_lsn.0);
                out.put_u64(m.end_lsn.0);
                out.put_i64(m.commit_time);
                out.put_u32(m.xid);
                put_cstr(out, &m.gid);
            }
            Message::RollbackPrepared(m) => {
                out.put_u8(m.flags);
                out.put_u64(m.prepare_end_lsn.0);
                out.put_u64(m.rollback_end_lsn.0);
                out.put_i64(m.prepare_time);
                out.put_i64(m.rollback_time);
                out.put_u32(m.xid);
                put_cstr(out, &m.gid);
            }
        }
    }

    /// Encodes the message into new [`Bytes`].
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::new();
        self.encode(&mut buf);
        buf.freeze()
    }
}

fn put_cstr(out: &mut (impl BufMut + ?Sized), s: &str) {
    // A NUL inside the string cannot be represented; it ends the string on the wire.
    let bytes = s.as_bytes();
    let end = memchr::memchr(0, bytes).unwrap_or(bytes.len());
    out.put_slice(bytes.get(..end).unwrap_or_default());
    out.put_u8(0);
}

#[inline]
fn expect_tag(r: &mut Reader<'_>, want: u8, field: &'static str) -> Result<(), DecodeError> {
    let offset = r.offset();
    let got = r.u8(field)?;
    if got == want {
        Ok(())
    } else {
        Err(DecodeError::UnknownTag {
            context: field,
            tag: got,
            offset,
        })
    }
}

/// The message name for a tag byte, `None` for tags pgoutput does not define.
#[inline]
pub fn tag_name(tag: u8) -> Option<&'static str> {
    Some(match tag {
        b'B' => "Begin",
        b'C' => "Commit",
        b'O' => "Origin",
        b'R' => "Relation",
        b'Y' => "Type",
        b'I' => "Insert",
        b'U' => "Update",
        b'D' => "Delete",
        b'T' => "Truncate",
        b'M' => "Message",
        b'S' => "StreamStart",
        b'E' => "StreamStop",
        b'c' => "StreamCommit",
        b'A' => "StreamAbort",
        b'b' => "BeginPrepare",
        b'P' => "Prepare",
        b'K' => "CommitPrepared",
        b'r' => "RollbackPrepared",
        b'p' => "StreamPrepare",
        _ => return None,
    })
}

/// Decodes a sequence of pgoutput messages, tracking whether it is inside a
/// streamed transaction chunk (where data messages carry an xid).
///
/// ```
/// use bytes::Bytes;
/// use tidewater_pgoutput::{Decoder, Message};
/// let mut decoder = Decoder::new();
/// // Stream Start for xid 740, then an Insert carrying that xid.
/// let start = Bytes::from_static(&[b'S', 0, 0, 2, 228, 1]);
/// assert!(matches!(decoder.decode(&start)?, Message::StreamStart(s) if s.xid == 740));
/// assert!(decoder.in_stream());
/// # Ok::<(), tidewater_pgoutput::DecodeError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    in_stream: bool,
}

impl Decoder {
    /// A decoder outside any stream.
    pub fn new() -> Self {
        Decoder::default()
    }

    /// Whether the last message was inside a Stream Start/Stop block.
    pub fn in_stream(&self) -> bool {
        self.in_stream
    }

    /// Decodes one message and updates the stream state.
    #[inline]
    pub fn decode(&mut self, data: &Bytes) -> Result<Message, DecodeError> {
        self.decode_at(data, 0)
    }

    /// Decodes the message starting at `start` in `data` (see [`Message::decode_at`])
    /// and updates the stream state.
    #[inline]
    pub fn decode_at(&mut self, data: &Bytes, start: usize) -> Result<Message, DecodeError> {
        let msg = Message::decode_at(data, start, self.in_stream)?;
        match msg {
            Message::StreamStart(_) => self.in_stream = true,
            Message::StreamStop => self.in_stream = false,
            _ => {}
        }
        Ok(msg)
    }

    /// Decodes a whole CopyData payload: an XLogData frame's header and its
    /// pgoutput message in one pass (no intermediate slice of the payload), or a
    /// keepalive.
    ///
    /// ```
    /// use tidewater_pgoutput::*;
    /// let frame = ReplicationFrame::XLogData(XLogData {
    ///     wal_start: Lsn(16), wal_end: Lsn(32), send_time: 0, data: Message::StreamStop.to_bytes(),
    /// }).to_bytes();
    /// let mut decoder = Decoder::new();
    /// match decoder.decode_frame(&frame)? {
    ///     FrameMessage::XLogData { wal_start, message, .. } => {
    ///         assert_eq!((wal_start, message), (Lsn(16), Message::StreamStop));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), DecodeError>(())
    /// ```
    pub fn decode_frame(&mut self, frame: &Bytes) -> Result<FrameMessage, DecodeError> {
        match frame.first() {
            Some(b'w') => {
                let mut r = Reader::new(frame, "XLogData");
                r.u8("tag")?;
                let wal_start = Lsn(r.u64("WAL start")?);
                let wal_end = Lsn(r.u64("WAL end")?);
                let send_time = r.i64("send time")?;
                let message = self.decode_at(frame, r.position())?;
                Ok(FrameMessage::XLogData {
                    wal_start,
                    wal_end,
                    send_time,
                    message,
                })
            }
            _ => match crate::frame::ReplicationFrame::decode(frame)? {
                crate::frame::ReplicationFrame::PrimaryKeepalive(k) => {
                    Ok(FrameMessage::PrimaryKeepalive(k))
                }
                crate::frame::ReplicationFrame::XLogData(x) => Ok(FrameMessage::XLogData {
                    wal_start: x.wal_start,
                    wal_end: x.wal_end,
                    send_time: x.send_time,
                    message: self.decode(&x.data)?,
                }),
            },
        }
    }

    /// Forgets the stream state (after a reconnect).
    pub fn reset(&mut self) {
        self.in_stream = false;
    }
}

/// A CopyData payload decoded by [`Decoder::decode_frame`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameMessage {
    /// `w`: WAL data with its decoded pgoutput message.
    XLogData {
        /// WAL position of the start of this data.
        wal_start: Lsn,
        /// The server's current end of WAL.
        wal_end: Lsn,
        /// Server clock at transmission: microseconds since 2000-01-01 00:00:00 UTC.
        send_time: i64,
        /// The decoded message.
        message: Message,
    },
    /// `k`: a keepalive.
    PrimaryKeepalive(crate::frame::PrimaryKeepalive),
}
