//! Property tests: every message and frame kind survives encode → decode
//! unchanged, and decoding arbitrary bytes never panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use bytes::Bytes;
use proptest::prelude::*;
use tidewater_pgoutput::*;

fn lsn() -> impl Strategy<Value = Lsn> {
    any::<u64>().prop_map(Lsn)
}

/// Strings as PostgreSQL names and gids can be: any UTF-8 without NUL.
fn cstring() -> impl Strategy<Value = String> {
    "[^\u{0}]{0,24}"
}

fn column() -> impl Strategy<Value = (u8, Vec<u8>)> {
    prop_oneof![
        Just((b'n', vec![])),
        Just((b'u', vec![])),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|v| (b't', v)),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|v| (b'b', v)),
    ]
}

fn tuple() -> impl Strategy<Value = TupleData> {
    proptest::collection::vec(column(), 0..12).prop_map(|cols| {
        let cols: Vec<Column<'_>> = cols
            .iter()
            .map(|(tag, data)| match tag {
                b'n' => Column::Null,
                b'u' => Column::UnchangedToast,
                b't' => Column::Text(data),
                _ => Column::Binary(data),
            })
            .collect();
        TupleData::from_columns(&cols)
    })
}

fn old_tuple() -> impl Strategy<Value = OldTuple> {
    prop_oneof![
        tuple().prop_map(OldTuple::Key),
        tuple().prop_map(OldTuple::Full)
    ]
}

fn replica_identity() -> impl Strategy<Value = ReplicaIdentity> {
    prop_oneof![
        Just(ReplicaIdentity::Default),
        Just(ReplicaIdentity::Nothing),
        Just(ReplicaIdentity::Full),
        Just(ReplicaIdentity::Index),
    ]
}

/// A data message, with the xid present or not.
fn data_message(xid: Option<u32>) -> BoxedStrategy<Message> {
    let rel_col = (any::<u8>(), cstring(), any::<u32>(), any::<i32>()).prop_map(
        |(flags, name, type_oid, type_modifier)| RelationColumn {
            flags,
            name,
            type_oid,
            type_modifier,
        },
    );
    prop_oneof![
        (
            any::<u32>(),
            cstring(),
            cstring(),
            replica_identity(),
            proptest::collection::vec(rel_col, 0..8)
        )
            .prop_map(move |(oid, namespace, name, replica_identity, columns)| {
                Message::Relation(Relation {
                    xid,
                    oid,
                    namespace,
                    name,
                    replica_identity,
                    columns,
                })
            }),
        (any::<u32>(), cstring(), cstring()).prop_map(move |(oid, namespace, name)| Message::Type(
            TypeMessage {
                xid,
                oid,
                namespace,
                name
            }
        )),
        (any::<u32>(), tuple()).prop_map(move |(relation_oid, new)| Message::Insert(Insert {
            xid,
            relation_oid,
            new
        })),
        (any::<u32>(), proptest::option::of(old_tuple()), tuple()).prop_map(
            move |(relation_oid, old, new)| Message::Update(Update {
                xid,
                relation_oid,
                old,
                new
            })
        ),
        (any::<u32>(), old_tuple()).prop_map(move |(relation_oid, old)| Message::Delete(Delete {
            xid,
            relation_oid,
            old
        })),
        (any::<u8>(), proptest::collection::vec(any::<u32>(), 0..6)).prop_map(
            move |(options, relation_oids)| Message::Truncate(Truncate {
                xid,
                options,
                relation_oids
            })
        ),
        (
            any::<u8>(),
            lsn(),
            cstring(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(move |(flags, lsn, prefix, content)| Message::Message(
                LogicalMessage {
                    xid,
                    flags,
                    lsn,
                    prefix,
                    content: Bytes::from(content)
                }
            )),
    ]
    .boxed()
}

fn control_message() -> impl Strategy<Value = Message> {
    let prepare = || {
        (
            any::<u8>(),
            lsn(),
            lsn(),
            any::<i64>(),
            any::<u32>(),
            cstring(),
        )
            .prop_map(
                |(flags, prepare_lsn, end_lsn, prepare_time, xid, gid)| Prepare {
                    flags,
                    prepare_lsn,
                    end_lsn,
                    prepare_time,
                    xid,
                    gid,
                },
            )
    };
    prop_oneof![
        (lsn(), any::<i64>(), any::<u32>()).prop_map(|(final_lsn, commit_time, xid)| {
            Message::Begin(Begin {
                final_lsn,
                commit_time,
                xid,
            })
        }),
        (any::<u8>(), lsn(), lsn(), any::<i64>()).prop_map(
            |(flags, commit_lsn, end_lsn, commit_time)| {
                Message::Commit(Commit {
                    flags,
                    commit_lsn,
                    end_lsn,
                    commit_time,
                })
            }
        ),
        (lsn(), cstring())
            .prop_map(|(commit_lsn, name)| Message::Origin(Origin { commit_lsn, name })),
        (any::<u32>(), any::<u8>()).prop_map(|(xid, first_segment)| Message::StreamStart(
            StreamStart { xid, first_segment }
        )),
        Just(Message::StreamStop),
        (any::<u32>(), any::<u8>(), lsn(), lsn(), any::<i64>()).prop_map(
            |(xid, flags, commit_lsn, end_lsn, commit_time)| {
                Message::StreamCommit(StreamCommit {
                    xid,
                    flags,
                    commit_lsn,
                    end_lsn,
                    commit_time,
                })
            }
        ),
        (
            any::<u32>(),
            any::<u32>(),
            proptest::option::of((lsn(), any::<i64>()))
        )
            .prop_map(|(xid, subxid, abort)| {
                Message::StreamAbort(StreamAbort {
                    xid,
                    subxid,
                    abort: abort.map(|(abort_lsn, abort_time)| AbortInfo {
                        abort_lsn,
                        abort_time,
                    }),
                })
            }),
        (lsn(), lsn(), any::<i64>(), any::<u32>(), cstring()).prop_map(
            |(prepare_lsn, end_lsn, prepare_time, xid, gid)| {
                Message::BeginPrepare(BeginPrepare {
                    prepare_lsn,
                    end_lsn,
                    prepare_time,
                    xid,
                    gid,
                })
            }
        ),
        prepare().prop_map(Message::Prepare),
        prepare().prop_map(Message::StreamPrepare),
        (
            any::<u8>(),
            lsn(),
            lsn(),
            any::<i64>(),
            any::<u32>(),
            cstring()
        )
            .prop_map(|(flags, commit_lsn, end_lsn, commit_time, xid, gid)| {
                Message::CommitPrepared(CommitPrepared {
                    flags,
                    commit_lsn,
                    end_lsn,
                    commit_time,
                    xid,
                    gid,
                })
            }),
        (
            any::<u8>(),
            lsn(),
            lsn(),
            any::<i64>(),
            any::<i64>(),
            any::<u32>(),
            cstring()
        )
            .prop_map(
                |(
                    flags,
                    prepare_end_lsn,
                    rollback_end_lsn,
                    prepare_time,
                    rollback_time,
                    xid,
                    gid,
                )| {
                    Message::RollbackPrepared(RollbackPrepared {
                        flags,
                        prepare_end_lsn,
                        rollback_end_lsn,
                        prepare_time,
                        rollback_time,
                        xid,
                        gid,
                    })
                }
            ),
    ]
}

fn any_message() -> impl Strategy<Value = (Message, bool)> {
    prop_oneof![
        control_message().prop_map(|m| (m, false)),
        data_message(None).prop_map(|m| (m, false)),
        any::<u32>()
            .prop_flat_map(|xid| data_message(Some(xid)))
            .prop_map(|m| (m, true)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn message_round_trip((msg, in_stream) in any_message()) {
        let bytes = msg.to_bytes();
        let decoded = Message::decode(&bytes, in_stream).unwrap();
        prop_assert_eq!(&decoded, &msg);
        prop_assert_eq!(tag_name(bytes[0]), Some(msg.name()));
        prop_assert_eq!(decoded.to_bytes(), bytes);
    }

    #[test]
    fn truncated_messages_are_errors((msg, in_stream) in any_message(), cut in any::<prop::sample::Index>()) {
        let bytes = msg.to_bytes();
        let cut = cut.index(bytes.len());
        let short = bytes.slice(..cut);
        // Every prefix is either an error or (for StreamAbort without v4 fields)
        // a different, shorter valid message; never a panic.
        if let Ok(m) = Message::decode(&short, in_stream) {
            prop_assert!(matches!(m, Message::StreamAbort(StreamAbort { abort: None, .. })), "{:?}", m);
        }
    }

    #[test]
    fn frame_round_trip(start in lsn(), end in lsn(), t in any::<i64>(), reply in any::<bool>(), (msg, in_stream) in any_message()) {
        let x = ReplicationFrame::XLogData(XLogData { wal_start: start, wal_end: end, send_time: t, data: msg.to_bytes() });
        prop_assert_eq!(ReplicationFrame::decode(&x.to_bytes()).unwrap(), x.clone());
        if !in_stream {
            let one_pass = Decoder::new().decode_frame(&x.to_bytes()).unwrap();
            prop_assert_eq!(one_pass, FrameMessage::XLogData { wal_start: start, wal_end: end, send_time: t, message: msg.clone() });
        }
        let k = ReplicationFrame::PrimaryKeepalive(PrimaryKeepalive { wal_end: end, send_time: t, reply_requested: reply });
        prop_assert_eq!(ReplicationFrame::decode(&k.to_bytes()).unwrap(), k);
        let s = StandbyStatusUpdate { written: start, flushed: end, applied: start, client_time: t, reply_requested: reply };
        prop_assert_eq!(StandbyStatusUpdate::decode(&s.to_bytes()).unwrap(), s);
    }

    #[test]
    fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256), in_stream in any::<bool>()) {
        let bytes = Bytes::from(data);
        let _ = Message::decode(&bytes, in_stream);
        let _ = ReplicationFrame::decode(&bytes);
        let _ = StandbyStatusUpdate::decode(&bytes);
    }

    #[test]
    fn decode_never_panics_on_valid_tags(tag in prop::sample::select(b"BCORYIUDTMSEcAbPKrp".to_vec()), rest in proptest::collection::vec(any::<u8>(), 0..128), in_stream in any::<bool>()) {
        let mut data = vec![tag];
        data.extend(rest);
        let bytes = Bytes::from(data);
        if let Ok(m) = Message::decode(&bytes, in_stream) {
            // Whatever decodes re-encodes to the same bytes.
            prop_assert_eq!(m.to_bytes(), bytes);
        }
    }

    #[test]
    fn tuple_iteration_matches_construction(cols in proptest::collection::vec(column(), 0..20)) {
        let built: Vec<Column<'_>> = cols.iter().map(|(tag, data)| match tag {
            b'n' => Column::Null,
            b'u' => Column::UnchangedToast,
            b't' => Column::Text(data),
            _ => Column::Binary(data),
        }).collect();
        let t = TupleData::from_columns(&built);
        prop_assert_eq!(t.len(), built.len());
        prop_assert_eq!(t.iter().collect::<Vec<_>>(), built.clone());
        prop_assert_eq!(t.encoded_len(), 2 + built.iter().map(Column::encoded_len).sum::<usize>());
    }
}
