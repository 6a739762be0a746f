//! CopyData frames of the streaming replication protocol.
//!
//! Server to client: `w` XLogData (one pgoutput message) and `k` primary keepalive.
//! Client to server: `r` standby status update.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::DecodeError;
use crate::lsn::Lsn;
use crate::reader::Reader;

/// A CopyData payload sent by the server during logical replication.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplicationFrame {
    /// `w`: WAL data carrying one pgoutput message.
    XLogData(XLogData),
    /// `k`: keepalive, possibly asking for an immediate status update.
    PrimaryKeepalive(PrimaryKeepalive),
}

/// `w`: WAL data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XLogData {
    /// WAL position of the start of this data.
    pub wal_start: Lsn,
    /// The server's current end of WAL.
    pub wal_end: Lsn,
    /// Server clock at transmission: microseconds since 2000-01-01 00:00:00 UTC.
    pub send_time: i64,
    /// The pgoutput message (zero-copy slice of the frame).
    pub data: Bytes,
}

/// `k`: primary keepalive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrimaryKeepalive {
    /// The server's current end of WAL.
    pub wal_end: Lsn,
    /// Server clock at transmission: microseconds since 2000-01-01 00:00:00 UTC.
    pub send_time: i64,
    /// The server asks for a status update now (or it disconnects after `wal_sender_timeout`).
    pub reply_requested: bool,
}

/// `r`: standby status update, sent by the client.
///
/// Each position is, by the protocol's convention, the last WAL byte handled
/// plus one. Only `flushed` advances a logical slot's `confirmed_flush_lsn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandbyStatusUpdate {
    /// WAL received and written.
    pub written: Lsn,
    /// WAL durably handled: what the server may discard and where a restart resumes.
    pub flushed: Lsn,
    /// WAL applied.
    pub applied: Lsn,
    /// Client clock: microseconds since 2000-01-01 00:00:00 UTC.
    pub client_time: i64,
    /// Ask the server to reply immediately.
    pub reply_requested: bool,
}

impl ReplicationFrame {
    /// Decodes a CopyData payload; XLogData's message stays a slice of `frame`.
    pub fn decode(frame: &Bytes) -> Result<ReplicationFrame, DecodeError> {
        let Some(&tag) = frame.first() else {
            return Err(DecodeError::Empty {
                context: "replication frame",
            });
        };
        match tag {
            b'w' => {
                let mut r = Reader::at(frame, 0, 1, "XLogData");
                let wal_start = Lsn(r.u64("WAL start")?);
                let wal_end = Lsn(r.u64("WAL end")?);
                let send_time = r.i64("send time")?;
                Ok(ReplicationFrame::XLogData(XLogData {
                    wal_start,
                    wal_end,
                    send_time,
                    data: frame.slice(r.position()..),
                }))
            }
            b'k' => {
                let mut r = Reader::at(frame, 0, 1, "PrimaryKeepalive");
                let wal_end = Lsn(r.u64("WAL end")?);
                let send_time = r.i64("send time")?;
                let reply_requested = read_bool(&mut r, "reply requested")?;
                r.finish()?;
                Ok(ReplicationFrame::PrimaryKeepalive(PrimaryKeepalive {
                    wal_end,
                    send_time,
                    reply_requested,
                }))
            }
            other => Err(DecodeError::UnknownTag {
                context: "replication frame",
                tag: other,
                offset: 0,
            }),
        }
    }

    /// Encodes the frame exactly as the server sends it.
    pub fn encode(&self, out: &mut impl BufMut) {
        match self {
            ReplicationFrame::XLogData(x) => {
                out.put_u8(b'w');
                out.put_u64(x.wal_start.0);
                out.put_u64(x.wal_end.0);
                out.put_i64(x.send_time);
                out.put_slice(&x.data);
            }
            ReplicationFrame::PrimaryKeepalive(k) => {
                out.put_u8(b'k');
                out.put_u64(k.wal_end.0);
                out.put_i64(k.send_time);
                out.put_u8(u8::from(k.reply_requested));
            }
        }
    }

    /// Encodes the frame into new [`Bytes`].
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::new();
        self.encode(&mut buf);
        buf.freeze()
    }
}

impl StandbyStatusUpdate {
    /// Encoded size in bytes (tag included).
    pub const ENCODED_LEN: usize = 34;

    /// A status update reporting the same position as written, flushed and applied.
    pub fn at(position: Lsn, client_time: i64) -> Self {
        StandbyStatusUpdate {
            written: position,
            flushed: position,
            applied: position,
            client_time,
            reply_requested: false,
        }
    }

    /// Encodes the `r` message.
    pub fn encode(&self, out: &mut impl BufMut) {
        out.put_u8(b'r');
        out.put_u64(self.written.0);
        out.put_u64(self.flushed.0);
        out.put_u64(self.applied.0);
        out.put_i64(self.client_time);
        out.put_u8(u8::from(self.reply_requested));
    }

    /// Encodes into new [`Bytes`].
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(Self::ENCODED_LEN);
        self.encode(&mut buf);
        buf.freeze()
    }

    /// Decodes an `r` message (for test servers and proxies).
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(data, "StandbyStatusUpdate");
        let tag_offset = r.offset();
        let tag = r.u8("tag")?;
        if tag != b'r' {
            return Err(DecodeError::UnknownTag {
                context: "standby status update",
                tag,
                offset: tag_offset,
            });
        }
        let update = StandbyStatusUpdate {
            written: Lsn(r.u64("written LSN")?),
            flushed: Lsn(r.u64("flushed LSN")?),
            applied: Lsn(r.u64("applied LSN")?),
            client_time: r.i64("client time")?,
            reply_requested: read_bool(&mut r, "reply requested")?,
        };
        r.finish()?;
        Ok(update)
    }
}

fn read_bool(r: &mut Reader<'_>, field: &'static str) -> Result<bool, DecodeError> {
    let offset = r.position();
    match r.u8(field)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(r.invalid(field, offset, format!("{other} is not 0 or 1"))),
    }
}

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 UTC).
pub const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// Converts a PostgreSQL timestamp (µs since 2000-01-01 UTC) to µs since the Unix epoch.
pub fn pg_to_unix_micros(pg_micros: i64) -> i64 {
    pg_micros.saturating_add(PG_EPOCH_UNIX_MICROS)
}

/// Converts µs since the Unix epoch to a PostgreSQL timestamp (µs since 2000-01-01 UTC).
pub fn unix_to_pg_micros(unix_micros: i64) -> i64 {
    unix_micros.saturating_sub(PG_EPOCH_UNIX_MICROS)
}
