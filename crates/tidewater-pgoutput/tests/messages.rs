//! Message and frame decoding: hand-built wire bytes per message kind, error
//! cases, and encode/decode round trips.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use bytes::{BufMut, Bytes, BytesMut};
use tidewater_pgoutput::*;

/// Builds wire bytes field by field, independently of the crate's encoder.
#[derive(Default)]
struct Wire(BytesMut);

impl Wire {
    fn tag(mut self, t: u8) -> Self {
        self.0.put_u8(t);
        self
    }
    fn u8(mut self, v: u8) -> Self {
        self.0.put_u8(v);
        self
    }
    fn i16(mut self, v: i16) -> Self {
        self.0.put_i16(v);
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.put_u32(v);
        self
    }
    fn i32(mut self, v: i32) -> Self {
        self.0.put_i32(v);
        self
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.put_u64(v);
        self
    }
    fn i64(mut self, v: i64) -> Self {
        self.0.put_i64(v);
        self
    }
    fn cstr(mut self, s: &str) -> Self {
        self.0.put_slice(s.as_bytes());
        self.0.put_u8(0);
        self
    }
    fn raw(mut self, b: &[u8]) -> Self {
        self.0.put_slice(b);
        self
    }
    fn text(self, s: &str) -> Self {
        self.tag(b't').i32(s.len() as i32).raw(s.as_bytes())
    }
    fn bytes(self) -> Bytes {
        self.0.freeze()
    }
}

fn decode(b: &Bytes) -> Message {
    let msg = Message::decode(b, false).unwrap();
    assert_eq!(
        &msg.to_bytes(),
        b,
        "re-encoding {msg:?} must give the same bytes"
    );
    msg
}

fn decode_streamed(b: &Bytes) -> Message {
    let msg = Message::decode(b, true).unwrap();
    assert_eq!(
        &msg.to_bytes(),
        b,
        "re-encoding {msg:?} must give the same bytes"
    );
    msg
}

#[test]
fn begin_and_commit() {
    let b = Wire::default()
        .tag(b'B')
        .u64(0x1_0000_0040)
        .i64(-5)
        .u32(740)
        .bytes();
    assert_eq!(
        decode(&b),
        Message::Begin(Begin {
            final_lsn: Lsn(0x1_0000_0040),
            commit_time: -5,
            xid: 740
        })
    );
    let c = Wire::default()
        .tag(b'C')
        .u8(0)
        .u64(10)
        .u64(20)
        .i64(30)
        .bytes();
    assert_eq!(
        decode(&c),
        Message::Commit(Commit {
            flags: 0,
            commit_lsn: Lsn(10),
            end_lsn: Lsn(20),
            commit_time: 30
        })
    );
}

#[test]
fn origin() {
    let b = Wire::default().tag(b'O').u64(99).cstr("node_a").bytes();
    assert_eq!(
        decode(&b),
        Message::Origin(Origin {
            commit_lsn: Lsn(99),
            name: "node_a".into()
        })
    );
}

#[test]
fn relation_with_every_identity() {
    for (byte, ri) in [
        (b'd', ReplicaIdentity::Default),
        (b'n', ReplicaIdentity::Nothing),
        (b'f', ReplicaIdentity::Full),
        (b'i', ReplicaIdentity::Index),
    ] {
        let b = Wire::default()
            .tag(b'R')
            .u32(16385)
            .cstr("public")
            .cstr("ünïcode tbl")
            .u8(byte)
            .i16(2)
            .u8(1)
            .cstr("id")
            .u32(23)
            .i32(-1)
            .u8(0)
            .cstr("price")
            .u32(1700)
            .i32(((10 << 16) | 2) + 4)
            .bytes();
        let Message::Relation(r) = decode(&b) else {
            panic!()
        };
        assert_eq!(r.oid, 16385);
        assert_eq!(r.name, "ünïcode tbl");
        assert_eq!(r.replica_identity, ri);
        assert_eq!(r.columns.len(), 2);
        assert!(r.columns[0].is_key() && !r.columns[1].is_key());
        assert_eq!(r.columns[1].type_modifier, 655366);
    }
}

#[test]
fn relation_zero_columns_and_catalog_namespace() {
    let b = Wire::default()
        .tag(b'R')
        .u32(1)
        .cstr("")
        .cstr("t")
        .u8(b'd')
        .i16(0)
        .bytes();
    let Message::Relation(r) = decode(&b) else {
        panic!()
    };
    assert!(r.columns.is_empty());
    assert_eq!(r.namespace, "");
}

#[test]
fn type_message() {
    let b = Wire::default()
        .tag(b'Y')
        .u32(16390)
        .cstr("public")
        .cstr("mood")
        .bytes();
    assert_eq!(
        decode(&b),
        Message::Type(TypeMessage {
            xid: None,
            oid: 16390,
            namespace: "public".into(),
            name: "mood".into()
        })
    );
}

#[test]
fn insert_with_every_column_kind() {
    let b = Wire::default()
        .tag(b'I')
        .u32(16385)
        .tag(b'N')
        .i16(5)
        .text("42")
        .tag(b'n')
        .tag(b'u')
        .tag(b'b')
        .i32(4)
        .raw(&[0, 0, 0, 7])
        .text("")
        .bytes();
    let Message::Insert(i) = decode(&b) else {
        panic!()
    };
    assert_eq!(i.xid, None);
    let cols: Vec<_> = i.new.iter().collect();
    assert_eq!(
        cols,
        [
            Column::Text(b"42"),
            Column::Null,
            Column::UnchangedToast,
            Column::Binary(&[0, 0, 0, 7]),
            Column::Text(b""),
        ]
    );
    // Column values are slices of the frame, not copies.
    let v = i.new.value_bytes(&cols[0]).unwrap();
    let range = b.as_ptr() as usize..b.as_ptr() as usize + b.len();
    assert!(range.contains(&(v.as_ptr() as usize)));
}

#[test]
fn update_without_old_with_key_and_with_full_row() {
    let none = Wire::default()
        .tag(b'U')
        .u32(5)
        .tag(b'N')
        .i16(1)
        .text("a")
        .bytes();
    let Message::Update(u) = decode(&none) else {
        panic!()
    };
    assert!(u.old.is_none());

    let key = Wire::default()
        .tag(b'U')
        .u32(5)
        .tag(b'K')
        .i16(2)
        .text("1")
        .tag(b'n')
        .tag(b'N')
        .i16(2)
        .text("2")
        .text("x")
        .bytes();
    let Message::Update(u) = decode(&key) else {
        panic!()
    };
    assert!(matches!(&u.old, Some(OldTuple::Key(t)) if t.get(0) == Some(Column::Text(b"1"))));
    assert_eq!(u.new.get(1), Some(Column::Text(b"x")));

    let full = Wire::default()
        .tag(b'U')
        .u32(5)
        .tag(b'O')
        .i16(1)
        .text("old")
        .tag(b'N')
        .i16(1)
        .text("new")
        .bytes();
    let Message::Update(u) = decode(&full) else {
        panic!()
    };
    assert!(matches!(&u.old, Some(OldTuple::Full(t)) if t.get(0) == Some(Column::Text(b"old"))));
}

#[test]
fn delete_with_key_and_full_row() {
    let k = Wire::default()
        .tag(b'D')
        .u32(5)
        .tag(b'K')
        .i16(1)
        .text("1")
        .bytes();
    assert!(matches!(
        decode(&k),
        Message::Delete(Delete {
            old: OldTuple::Key(_),
            ..
        })
    ));
    let o = Wire::default()
        .tag(b'D')
        .u32(5)
        .tag(b'O')
        .i16(1)
        .text("1")
        .bytes();
    assert!(matches!(
        decode(&o),
        Message::Delete(Delete {
            old: OldTuple::Full(_),
            ..
        })
    ));
    let bad = Wire::default()
        .tag(b'D')
        .u32(5)
        .tag(b'N')
        .i16(1)
        .text("1")
        .bytes();
    assert!(matches!(
        Message::decode(&bad, false),
        Err(DecodeError::UnknownTag {
            tag: b'N',
            offset: 5,
            ..
        })
    ));
}

#[test]
fn truncate_with_options() {
    let b = Wire::default()
        .tag(b'T')
        .u32(2)
        .u8(3)
        .u32(10)
        .u32(11)
        .bytes();
    let Message::Truncate(t) = decode(&b) else {
        panic!()
    };
    assert!(t.cascade() && t.restart_identity());
    assert_eq!(t.relation_oids, [10, 11]);
    // A count larger than the bytes that follow is rejected before allocating.
    let huge = Wire::default()
        .tag(b'T')
        .u32(u32::MAX)
        .u8(0)
        .u32(10)
        .bytes();
    assert!(matches!(
        Message::decode(&huge, false),
        Err(DecodeError::InvalidField {
            field: "relation count",
            ..
        })
    ));
}

#[test]
fn logical_messages_transactional_and_not() {
    for flags in [0u8, 1] {
        let b = Wire::default()
            .tag(b'M')
            .u8(flags)
            .u64(77)
            .cstr("audit")
            .u32(3)
            .raw(b"\x00\xffz")
            .bytes();
        let Message::Message(m) = decode(&b) else {
            panic!()
        };
        assert_eq!(m.transactional(), flags == 1);
        assert_eq!(m.prefix, "audit");
        assert_eq!(&m.content[..], b"\x00\xffz");
    }
}

#[test]
fn streaming_messages_and_xid_prefix() {
    let s = Wire::default().tag(b'S').u32(900).u8(1).bytes();
    assert_eq!(
        decode(&s),
        Message::StreamStart(StreamStart {
            xid: 900,
            first_segment: 1
        })
    );
    let e = Wire::default().tag(b'E').bytes();
    assert_eq!(decode(&e), Message::StreamStop);
    let c = Wire::default()
        .tag(b'c')
        .u32(900)
        .u8(0)
        .u64(1)
        .u64(2)
        .i64(3)
        .bytes();
    assert!(matches!(
        decode(&c),
        Message::StreamCommit(StreamCommit {
            xid: 900,
            end_lsn: Lsn(2),
            ..
        })
    ));
    let a = Wire::default().tag(b'A').u32(900).u32(901).bytes();
    assert_eq!(
        decode(&a),
        Message::StreamAbort(StreamAbort {
            xid: 900,
            subxid: 901,
            abort: None
        })
    );
    let a4 = Wire::default()
        .tag(b'A')
        .u32(900)
        .u32(900)
        .u64(55)
        .i64(66)
        .bytes();
    assert_eq!(
        decode(&a4),
        Message::StreamAbort(StreamAbort {
            xid: 900,
            subxid: 900,
            abort: Some(AbortInfo {
                abort_lsn: Lsn(55),
                abort_time: 66
            })
        })
    );
    let partial = Wire::default().tag(b'A').u32(900).u32(900).u32(1).bytes();
    assert!(Message::decode(&partial, false).is_err());

    // Inside a stream, data messages start with the xid.
    let ins = Wire::default()
        .tag(b'I')
        .u32(900)
        .u32(16385)
        .tag(b'N')
        .i16(1)
        .text("1")
        .bytes();
    let Message::Insert(i) = decode_streamed(&ins) else {
        panic!()
    };
    assert_eq!(i.xid, Some(900));
    assert_eq!(i.relation_oid, 16385);

    let mut d = Decoder::new();
    assert!(matches!(d.decode(&s).unwrap(), Message::StreamStart(_)));
    assert!(matches!(
        d.decode(&ins).unwrap(),
        Message::Insert(Insert { xid: Some(900), .. })
    ));
    d.decode(&e).unwrap();
    assert!(!d.in_stream());
    // Outside the stream the same bytes mean relation 900 and a bad marker.
    assert!(d.decode(&ins).is_err());
}

#[test]
fn two_phase_messages() {
    let bp = Wire::default()
        .tag(b'b')
        .u64(1)
        .u64(2)
        .i64(3)
        .u32(4)
        .cstr("gid-1")
        .bytes();
    assert!(
        matches!(decode(&bp), Message::BeginPrepare(BeginPrepare { xid: 4, ref gid, .. }) if gid == "gid-1")
    );
    let p = Wire::default()
        .tag(b'P')
        .u8(0)
        .u64(1)
        .u64(2)
        .i64(3)
        .u32(4)
        .cstr("g")
        .bytes();
    assert!(matches!(decode(&p), Message::Prepare(_)));
    let sp = Wire::default()
        .tag(b'p')
        .u8(0)
        .u64(1)
        .u64(2)
        .i64(3)
        .u32(4)
        .cstr("g")
        .bytes();
    assert!(matches!(decode(&sp), Message::StreamPrepare(_)));
    let k = Wire::default()
        .tag(b'K')
        .u8(0)
        .u64(1)
        .u64(2)
        .i64(3)
        .u32(4)
        .cstr("g")
        .bytes();
    assert!(matches!(
        decode(&k),
        Message::CommitPrepared(CommitPrepared {
            commit_lsn: Lsn(1),
            ..
        })
    ));
    let r = Wire::default()
        .tag(b'r')
        .u8(0)
        .u64(1)
        .u64(2)
        .i64(3)
        .i64(4)
        .u32(5)
        .cstr("g")
        .bytes();
    assert_eq!(
        decode(&r),
        Message::RollbackPrepared(RollbackPrepared {
            flags: 0,
            prepare_end_lsn: Lsn(1),
            rollback_end_lsn: Lsn(2),
            prepare_time: 3,
            rollback_time: 4,
            xid: 5,
            gid: "g".into()
        })
    );
}

#[test]
fn errors_name_message_field_and_offset() {
    let err = Message::decode(&Bytes::from_static(b"Z"), false).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnknownTag {
            context: "pgoutput message",
            tag: b'Z',
            offset: 0
        }
    );
    assert!(err.to_string().contains("'Z'"), "{err}");

    let err = Message::decode(&Bytes::from_static(b"B\0\0"), false).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnexpectedEnd {
            message: "Begin",
            field: "final LSN",
            offset: 1,
            needed: 8,
            available: 2
        }
    );

    let trailing = Wire::default().tag(b'E').u8(0).bytes();
    assert_eq!(
        Message::decode(&trailing, false).unwrap_err(),
        DecodeError::TrailingBytes {
            message: "StreamStop",
            offset: 1,
            remaining: 1
        }
    );

    let unterminated = Wire::default().tag(b'O').u64(1).raw(b"abc").bytes();
    assert!(matches!(
        Message::decode(&unterminated, false).unwrap_err(),
        DecodeError::UnterminatedString {
            message: "Origin",
            field: "origin name",
            offset: 9
        }
    ));

    let bad_utf8 = Wire::default().tag(b'O').u64(1).raw(b"\xff\0").bytes();
    assert!(matches!(
        Message::decode(&bad_utf8, false).unwrap_err(),
        DecodeError::InvalidUtf8 { .. }
    ));

    let neg_len = Wire::default()
        .tag(b'I')
        .u32(1)
        .tag(b'N')
        .i16(1)
        .tag(b't')
        .i32(-2)
        .bytes();
    let err = Message::decode(&neg_len, false).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::InvalidColumn {
                message: "Insert",
                tuple: "new tuple",
                column: 0,
                offset: 8,
                ..
            }
        ),
        "{err:?}"
    );

    let short_col = Wire::default()
        .tag(b'I')
        .u32(1)
        .tag(b'N')
        .i16(2)
        .text("1")
        .tag(b't')
        .i32(100)
        .raw(b"x")
        .bytes();
    let err = Message::decode(&short_col, false).unwrap_err();
    assert!(
        matches!(err, DecodeError::InvalidColumn { column: 1, .. }),
        "{err:?}"
    );

    let bad_kind = Wire::default()
        .tag(b'I')
        .u32(1)
        .tag(b'N')
        .i16(1)
        .tag(b'x')
        .bytes();
    assert!(matches!(
        Message::decode(&bad_kind, false).unwrap_err(),
        DecodeError::UnknownTag {
            context: "TupleData column kind",
            tag: b'x',
            offset: 8
        }
    ));

    let neg_count = Wire::default().tag(b'I').u32(1).tag(b'N').i16(-1).bytes();
    assert!(matches!(
        Message::decode(&neg_count, false).unwrap_err(),
        DecodeError::InvalidField {
            field: "column count",
            ..
        }
    ));

    let bad_ri = Wire::default()
        .tag(b'R')
        .u32(1)
        .cstr("s")
        .cstr("t")
        .u8(b'z')
        .i16(0)
        .bytes();
    assert!(matches!(
        Message::decode(&bad_ri, false).unwrap_err(),
        DecodeError::UnknownTag {
            context: "Relation replica identity",
            tag: b'z',
            ..
        }
    ));

    assert_eq!(
        Message::decode(&Bytes::new(), false).unwrap_err(),
        DecodeError::Empty {
            context: "pgoutput message"
        }
    );
}

#[test]
fn frames() {
    let w = Wire::default()
        .tag(b'w')
        .u64(1)
        .u64(2)
        .i64(3)
        .raw(b"E")
        .bytes();
    let ReplicationFrame::XLogData(x) = ReplicationFrame::decode(&w).unwrap() else {
        panic!()
    };
    assert_eq!((x.wal_start, x.wal_end, x.send_time), (Lsn(1), Lsn(2), 3));
    assert_eq!(&x.data[..], b"E");
    assert_eq!(ReplicationFrame::XLogData(x).to_bytes(), w);

    let k = Wire::default().tag(b'k').u64(9).i64(8).u8(1).bytes();
    let frame = ReplicationFrame::decode(&k).unwrap();
    assert_eq!(
        frame,
        ReplicationFrame::PrimaryKeepalive(PrimaryKeepalive {
            wal_end: Lsn(9),
            send_time: 8,
            reply_requested: true
        })
    );
    assert_eq!(frame.to_bytes(), k);
    let k2 = Wire::default().tag(b'k').u64(9).i64(8).u8(2).bytes();
    assert!(ReplicationFrame::decode(&k2).is_err());
    assert!(ReplicationFrame::decode(&Wire::default().tag(b'w').u64(1).bytes()).is_err());
    assert!(matches!(
        ReplicationFrame::decode(&Wire::default().tag(b'q').bytes()),
        Err(DecodeError::UnknownTag {
            context: "replication frame",
            tag: b'q',
            ..
        })
    ));

    let update = StandbyStatusUpdate {
        written: Lsn(3),
        flushed: Lsn(2),
        applied: Lsn(1),
        client_time: 123,
        reply_requested: false,
    };
    let expected = Wire::default()
        .tag(b'r')
        .u64(3)
        .u64(2)
        .u64(1)
        .i64(123)
        .u8(0)
        .bytes();
    assert_eq!(update.to_bytes(), expected);
    assert_eq!(expected.len(), StandbyStatusUpdate::ENCODED_LEN);
    assert_eq!(StandbyStatusUpdate::decode(&expected).unwrap(), update);
}

#[test]
fn timestamps_convert_between_epochs() {
    assert_eq!(pg_to_unix_micros(0), 946_684_800_000_000);
    assert_eq!(unix_to_pg_micros(946_684_800_000_000), 0);
    assert_eq!(pg_to_unix_micros(i64::MAX), i64::MAX);
}

#[test]
fn decode_frame_reads_header_and_message_in_one_pass() {
    let ins = Wire::default()
        .tag(b'I')
        .u32(7)
        .tag(b'N')
        .i16(1)
        .text("abc")
        .bytes();
    let frame = Wire::default()
        .tag(b'w')
        .u64(5)
        .u64(6)
        .i64(7)
        .raw(&ins)
        .bytes();
    let mut d = Decoder::new();
    let FrameMessage::XLogData {
        wal_start,
        wal_end,
        send_time,
        message,
    } = d.decode_frame(&frame).unwrap()
    else {
        panic!()
    };
    assert_eq!((wal_start, wal_end, send_time), (Lsn(5), Lsn(6), 7));
    assert_eq!(message, Message::decode(&ins, false).unwrap());
    // Error offsets stay relative to the message, not the frame.
    let bad = Wire::default()
        .tag(b'w')
        .u64(5)
        .u64(6)
        .i64(7)
        .tag(b'I')
        .u32(7)
        .tag(b'X')
        .bytes();
    assert_eq!(
        d.decode_frame(&bad).unwrap_err(),
        DecodeError::UnknownTag {
            context: "new tuple marker",
            tag: b'X',
            offset: 5
        }
    );
    let k = Wire::default().tag(b'k').u64(9).i64(8).u8(0).bytes();
    assert!(matches!(
        d.decode_frame(&k).unwrap(),
        FrameMessage::PrimaryKeepalive(_)
    ));
    assert!(
        d.decode_frame(&Wire::default().tag(b'w').u64(1).bytes())
            .is_err()
    );
    assert!(d.decode_frame(&Bytes::new()).is_err());
}
