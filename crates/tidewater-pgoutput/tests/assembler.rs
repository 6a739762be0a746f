//! Transaction assembly: events, positions, relation versions and protocol errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use bytes::Bytes;
use std::sync::Arc;
use tidewater_pgoutput::*;

fn relation(oid: u32, name: &str, cols: &[&str]) -> Message {
    Message::Relation(Relation {
        xid: None,
        oid,
        namespace: "public".into(),
        name: name.into(),
        replica_identity: ReplicaIdentity::Default,
        columns: cols
            .iter()
            .enumerate()
            .map(|(i, c)| RelationColumn {
                flags: u8::from(i == 0),
                name: (*c).into(),
                type_oid: 23,
                type_modifier: -1,
            })
            .collect(),
    })
}

fn row(vals: &[&str]) -> TupleData {
    let cols: Vec<_> = vals.iter().map(|v| Column::Text(v.as_bytes())).collect();
    TupleData::from_columns(&cols)
}

fn begin(final_lsn: u64, xid: u32) -> Message {
    Message::Begin(Begin {
        final_lsn: Lsn(final_lsn),
        commit_time: 1_000,
        xid,
    })
}

fn commit(commit_lsn: u64, end_lsn: u64) -> Message {
    Message::Commit(Commit {
        flags: 0,
        commit_lsn: Lsn(commit_lsn),
        end_lsn: Lsn(end_lsn),
        commit_time: 1_000,
    })
}

fn run(msgs: Vec<Message>) -> Result<Vec<TransactionEvent>, AssembleError> {
    let mut asm = TransactionAssembler::new();
    let mut out = Vec::new();
    for (i, m) in msgs.into_iter().enumerate() {
        // Feed through the byte path to exercise the decoder too.
        asm.push(Lsn(0x100 + i as u64), &m.to_bytes(), &mut out)?;
    }
    Ok(out)
}

fn changes(events: &[TransactionEvent]) -> Vec<&ChangeEvent> {
    events
        .iter()
        .filter_map(|e| match e {
            TransactionEvent::Change(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn a_transaction_becomes_begin_changes_commit() {
    let events = run(vec![
        begin(0x900, 42),
        relation(1, "a", &["id", "v"]),
        Message::Insert(Insert {
            xid: None,
            relation_oid: 1,
            new: row(&["1", "x"]),
        }),
        Message::Update(Update {
            xid: None,
            relation_oid: 1,
            old: None,
            new: row(&["1", "y"]),
        }),
        Message::Delete(Delete {
            xid: None,
            relation_oid: 1,
            old: OldTuple::Key(row(&["1"])),
        }),
        commit(0x900, 0x950),
    ])
    .unwrap();
    assert_eq!(events.len(), 5);
    assert_eq!(
        events[0],
        TransactionEvent::Begin(TransactionBegin {
            xid: 42,
            commit_lsn: Lsn(0x900),
            commit_time: 1_000
        })
    );
    let ch = changes(&events);
    assert_eq!(
        ch.iter().map(|c| c.kind.op_code()).collect::<String>(),
        "cud"
    );
    for (i, c) in ch.iter().enumerate() {
        assert_eq!(c.index, i as u64);
        assert_eq!(c.commit_lsn, Lsn(0x900));
        assert_eq!(c.xid, Some(42));
        assert_eq!(c.relation.as_ref().unwrap().name, "a");
    }
    assert_eq!(ch[0].lsn, Lsn(0x102));
    assert_eq!(
        events[4],
        TransactionEvent::Commit(TransactionCommit {
            xid: 42,
            commit_lsn: Lsn(0x900),
            end_lsn: Lsn(0x950),
            commit_time: 1_000,
            event_count: 3
        })
    );
}

#[test]
fn truncate_of_several_tables_is_one_event_per_table() {
    let events = run(vec![
        relation(1, "a", &["id"]),
        relation(2, "b", &["id"]),
        begin(0x500, 7),
        Message::Truncate(Truncate {
            xid: None,
            options: Truncate::CASCADE,
            relation_oids: vec![2, 1],
        }),
        commit(0x500, 0x510),
    ])
    .unwrap();
    let ch = changes(&events);
    assert_eq!(ch.len(), 2);
    assert_eq!(ch[0].relation.as_ref().unwrap().name, "b");
    assert_eq!(ch[1].relation.as_ref().unwrap().name, "a");
    assert_eq!(ch[1].index, 1);
    assert_eq!(
        ch[0].kind,
        ChangeKind::Truncate {
            cascade: true,
            restart_identity: false
        }
    );
}

#[test]
fn a_new_relation_message_replaces_the_old_version() {
    let mut asm = TransactionAssembler::new();
    let mut out = Vec::new();
    for m in [
        begin(0x10, 1),
        relation(1, "a", &["id"]),
        Message::Insert(Insert {
            xid: None,
            relation_oid: 1,
            new: row(&["1"]),
        }),
        relation(1, "a", &["id", "added"]),
        Message::Insert(Insert {
            xid: None,
            relation_oid: 1,
            new: row(&["2", "z"]),
        }),
        commit(0x10, 0x20),
    ] {
        asm.process(Lsn(1), m, &mut out).unwrap();
    }
    let ch = changes(&out);
    let (r1, r2) = (
        ch[0].relation.as_ref().unwrap(),
        ch[1].relation.as_ref().unwrap(),
    );
    assert_eq!(r1.columns.len(), 1);
    assert_eq!(r2.columns.len(), 2);
    assert!(!Arc::ptr_eq(r1, r2));
    assert!(Arc::ptr_eq(asm.relations().relation(1).unwrap(), r2));
}

#[test]
fn logical_messages_inside_and_outside_transactions() {
    let msg = |flags, lsn| {
        Message::Message(LogicalMessage {
            xid: None,
            flags,
            lsn: Lsn(lsn),
            prefix: "p".into(),
            content: Bytes::from_static(b"hello"),
        })
    };
    let events = run(vec![
        msg(0, 0x77),
        begin(0x99, 3),
        msg(1, 0x80),
        commit(0x99, 0xa0),
    ])
    .unwrap();
    let ch = changes(&events);
    assert_eq!(ch[0].xid, None);
    assert_eq!(ch[0].commit_lsn, Lsn(0x77));
    assert!(ch[0].relation.is_none());
    assert!(
        matches!(&ch[0].kind, ChangeKind::Message { transactional: false, prefix, .. } if prefix == "p")
    );
    assert_eq!(ch[1].xid, Some(3));
    assert_eq!(ch[1].commit_lsn, Lsn(0x99));
    assert!(matches!(
        &ch[1].kind,
        ChangeKind::Message {
            transactional: true,
            ..
        }
    ));
}

#[test]
fn type_messages_reach_the_cache_and_keep_registrations() {
    let mut asm = TransactionAssembler::new();
    asm.relations_mut().register_type(TypeInfo {
        oid: 5000,
        namespace: "public".into(),
        name: "mood".into(),
        kind: TypeKind::Enum {
            labels: vec!["sad".into(), "ok".into()],
        },
    });
    let mut out = Vec::new();
    let ty = Message::Type(TypeMessage {
        xid: None,
        oid: 5000,
        namespace: "s2".into(),
        name: "mood2".into(),
    });
    asm.process(Lsn(1), ty, &mut out).unwrap();
    let info = asm.relations().type_info(5000).unwrap();
    assert_eq!(info.name, "mood2");
    assert!(asm.relations().is_enum(5000));
    let ty = Message::Type(TypeMessage {
        xid: None,
        oid: 5001,
        namespace: "public".into(),
        name: "other".into(),
    });
    asm.process(Lsn(1), ty, &mut out).unwrap();
    assert_eq!(
        asm.relations().lookup_type(5001).unwrap().kind,
        TypeKind::Unknown
    );
    assert!(out.is_empty());
}

#[test]
fn protocol_violations_are_errors() {
    let ins = || {
        Message::Insert(Insert {
            xid: None,
            relation_oid: 1,
            new: row(&["1"]),
        })
    };
    let e = run(vec![begin(1, 1), ins()]).unwrap_err();
    assert!(
        matches!(
            e,
            AssembleError::UnknownRelation {
                oid: 1,
                message: "Insert",
                ..
            }
        ),
        "{e}"
    );
    let e = run(vec![relation(1, "a", &["id"]), ins()]).unwrap_err();
    assert!(
        matches!(
            e,
            AssembleError::OutOfSequence {
                reason: "change outside a transaction",
                ..
            }
        ),
        "{e}"
    );
    let e = run(vec![begin(1, 1), begin(2, 2)]).unwrap_err();
    assert!(matches!(e, AssembleError::OutOfSequence { .. }));
    let e = run(vec![commit(1, 2)]).unwrap_err();
    assert!(matches!(
        e,
        AssembleError::OutOfSequence {
            reason: "Commit without Begin",
            ..
        }
    ));
    let e = run(vec![begin(1, 1), commit(5, 6)]).unwrap_err();
    assert!(matches!(e, AssembleError::OutOfSequence { .. }));
    let e = run(vec![Message::StreamStart(StreamStart {
        xid: 1,
        first_segment: 1,
    })])
    .unwrap_err();
    assert!(matches!(
        e,
        AssembleError::Unsupported {
            message: "StreamStart",
            ..
        }
    ));
    assert!(e.to_string().contains("streaming 'off'"));
    let mut asm = TransactionAssembler::new();
    let e = asm
        .push(Lsn(0x42), &Bytes::from_static(b"Q"), &mut Vec::new())
        .unwrap_err();
    assert!(matches!(e, AssembleError::Decode { lsn: Lsn(0x42), .. }));
    assert!(e.to_string().contains("0/42"), "{e}");
}

#[test]
fn truncate_with_an_unknown_relation_emits_nothing() {
    let mut asm = TransactionAssembler::new();
    let mut out = Vec::new();
    asm.process(Lsn(1), relation(1, "a", &["id"]), &mut out)
        .unwrap();
    asm.process(Lsn(1), begin(9, 9), &mut out).unwrap();
    let t = Message::Truncate(Truncate {
        xid: None,
        options: 0,
        relation_oids: vec![1, 2],
    });
    assert!(asm.process(Lsn(2), t, &mut out).is_err());
    assert_eq!(out.len(), 1, "only the Begin");
}
