//! Change events on the corpus's `orders` table, as the envelope and
//! transforms benchmarks feed them to `EnvelopeBuilder`, and what both
//! benchmarks need around them.
//!
//! Rows carry text-format values as PostgreSQL prints them (`DateStyle ISO`,
//! `TimeZone UTC`): `int4` id, `int8`, `text`, `varchar(255)`,
//! `numeric(12,2)`, `bool`, `timestamptz`, `date`, `uuid`, `jsonb`.
//! Event `i` commits in transaction `i / 20`, at its own LSN.

use std::sync::Arc;

use tidewater_envelope::{EnvelopeBuilder, EnvelopeConfig, EnvelopeError, FixedClock};
use tidewater_pgoutput::{
    ChangeEvent, ChangeKind, Column, Lsn, OldTuple, Relation, ReplicaIdentity, TupleData,
};

use crate::corpus::orders_relation;

/// Events per transaction.
const PER_TRANSACTION: usize = 20;

/// The text of row `i`'s ten columns.
pub fn row(i: usize) -> [String; 10] {
    [
        i.to_string(),
        (1_000_000 + i * 7).to_string(),
        format!("Customer number {}", i % 97),
        format!("customer{}@example.com", i % 89),
        format!("{}.{:02}", 10 + i % 500, i % 100),
        if i.is_multiple_of(3) { "t" } else { "f" }.to_string(),
        format!(
            "2024-03-{:02} 12:{:02}:{:02}.{:06}+00",
            1 + i % 28,
            i % 60,
            (i * 7) % 60,
            i * 13 % 1_000_000
        ),
        format!("2024-04-{:02}", 1 + i % 28),
        format!("a0eebc99-9c0b-4ef8-bb6d-{:012x}", i * 7919),
        format!(
            "{{\"color\": \"red\", \"size\": {}, \"gift\": false}}",
            i % 10
        ),
    ]
}

/// Row `i` as a text-format tuple.
pub fn tuple(i: usize) -> TupleData {
    let cols = row(i);
    let columns: Vec<Column<'_>> = cols.iter().map(|s| Column::Text(s.as_bytes())).collect();
    TupleData::from_columns(&columns)
}

/// The `orders` relation with a replica identity.
pub fn relation(replica_identity: ReplicaIdentity) -> Arc<Relation> {
    Arc::new(Relation {
        replica_identity,
        ..orders_relation()
    })
}

/// Event number `i` of a stream, of the given kind.
pub fn event(relation: &Arc<Relation>, i: usize, kind: ChangeKind) -> ChangeEvent {
    let i64 = u64::try_from(i).unwrap_or(u64::MAX);
    let per = PER_TRANSACTION as u64;
    ChangeEvent {
        kind,
        relation: Some(relation.clone()),
        lsn: Lsn(0x1_0000_0000 + i64 * 64),
        commit_lsn: Lsn(0x1_0000_0000 + (i64 / per + 1) * 64 * per),
        xid: Some(1000 + u32::try_from(i64 / per).unwrap_or(u32::MAX)),
        commit_time: 764_000_000_000_000 + i64::try_from(i).unwrap_or(i64::MAX),
        index: i64 % per,
    }
}

/// `n` inserts of rows `0..n` (replica identity `DEFAULT`).
pub fn inserts(n: usize) -> Vec<ChangeEvent> {
    let rel = relation(ReplicaIdentity::Default);
    (0..n)
        .map(|i| event(&rel, i, ChangeKind::Insert { new: tuple(i) }))
        .collect()
}

/// `n` changes with replica identity `FULL`, so that every path of a
/// Debezium record is taken: event `i` is a delete of row `i - 1` when
/// `i % 20 == 19`, else an update of row `i - 1` (old and new tuples) when
/// `i % 10 == 9`, else an insert of row `i`. A delete becomes two records
/// (the delete and its tombstone): 20 events make 21 records.
pub fn mixed(n: usize) -> Vec<ChangeEvent> {
    let rel = relation(ReplicaIdentity::Full);
    (0..n)
        .map(|i| {
            let kind = if i % 20 == 19 {
                ChangeKind::Delete {
                    old: OldTuple::Full(tuple(i - 1)),
                }
            } else if i % 10 == 9 {
                ChangeKind::Update {
                    old: Some(OldTuple::Full(tuple(i - 1))),
                    new: tuple(i - 1),
                }
            } else {
                ChangeKind::Insert { new: tuple(i) }
            };
            event(&rel, i, kind)
        })
        .collect()
}

/// The builder both benchmarks use: topic prefix `shop`, database `shopdb`,
/// a fixed clock (so `ts_ms` does not vary), every other setting default.
pub fn builder() -> Result<EnvelopeBuilder, EnvelopeError> {
    Ok(EnvelopeBuilder::new(EnvelopeConfig::new("shop", "shopdb"))?
        .with_clock(Arc::new(FixedClock(1_700_000_000_000_000))))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use tidewater_pgoutput::{ChangeKind, NoTypes, ReplicaIdentity};

    use super::{builder, inserts, mixed};

    #[test]
    fn mixed_events_take_every_path_and_build_records() {
        let events = mixed(40);
        let kind = |i: usize| match &events.get(i).unwrap().kind {
            ChangeKind::Insert { .. } => "insert",
            ChangeKind::Update { .. } => "update",
            ChangeKind::Delete { .. } => "delete",
            _ => "other",
        };
        assert_eq!(
            (kind(0), kind(9), kind(19), kind(29), kind(39)),
            ("insert", "update", "delete", "update", "delete")
        );
        let rel = events.first().and_then(|e| e.relation.clone()).unwrap();
        assert_eq!(rel.replica_identity, ReplicaIdentity::Full);
        let mut b = builder().unwrap();
        let mut records = Vec::new();
        for ev in &events {
            b.change(ev, &NoTypes, &mut records).unwrap();
        }
        // Two deletes, each followed by its tombstone.
        assert_eq!(records.len(), 42);
        assert_eq!(records.iter().filter(|r| r.value.is_none()).count(), 2);
        assert!(records.iter().all(|r| &*r.topic == "shop.public.orders"));
    }

    #[test]
    fn inserts_are_inserts_of_consecutive_rows() {
        let events = inserts(25);
        assert!(
            events
                .iter()
                .all(|e| matches!(e.kind, ChangeKind::Insert { .. }))
        );
        // 20 events per transaction.
        assert_eq!(events.get(19).and_then(|e| e.xid), Some(1000));
        assert_eq!(events.get(20).and_then(|e| e.xid), Some(1001));
    }
}
