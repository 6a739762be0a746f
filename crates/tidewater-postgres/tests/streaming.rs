//! The source against a real PostgreSQL: every operation and value type
//! arrives as the right event, with snapshot rows and streamed rows agreeing
//! value for value; TOAST, replica identities, ALTER TABLE mid-stream,
//! truncate, logical messages, filters, keepalives and status updates.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod common;

use std::time::Duration;

use common::{SharedCluster, config, fresh_db, unique};
use tidewater_pgoutput::value::{self, Format};
use tidewater_pgoutput::{
    ChangeEvent, ChangeKind, Column, Lsn, OldTuple, ReplicaIdentity, SnapshotMarker,
    TransactionEvent, TupleData,
};
use tidewater_postgres::{ChangeSource, PostgresSource, SNAPSHOT_XID, SourceConfig};
use tidewater_testkit::PgCluster;

static PG: SharedCluster =
    SharedCluster::new(|| PgCluster::builder().setting("wal_sender_timeout", "3s"));

const SCHEMA: &str = "
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE items (id int PRIMARY KEY, name text, big text, m mood);
ALTER TABLE items ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE fullrow (id int, v text);
ALTER TABLE fullrow REPLICA IDENTITY FULL;
CREATE TABLE nothing (id int PRIMARY KEY, v text);
ALTER TABLE nothing REPLICA IDENTITY NOTHING;
CREATE TABLE byindex (id int NOT NULL, code text NOT NULL, v text);
CREATE UNIQUE INDEX byindex_code ON byindex (code);
ALTER TABLE byindex REPLICA IDENTITY USING INDEX byindex_code;
CREATE TABLE alltypes (
    id int PRIMARY KEY,
    c_bool bool, c_int2 int2, c_int4 int4, c_int8 int8, c_oid oid,
    c_float4 float4, c_float8 float8, c_numeric numeric, c_numeric_ps numeric(12, 4), c_money money,
    c_text text, c_varchar varchar(10), c_bpchar char(5), c_name name, c_char \"char\", c_bytea bytea,
    c_date date, c_time time, c_timetz timetz, c_timestamp timestamp(6), c_timestamptz timestamptz,
    c_interval interval, c_uuid uuid, c_json json, c_jsonb jsonb, c_xml xml,
    c_bit bit(4), c_varbit varbit(8), c_inet inet, c_cidr cidr, c_macaddr macaddr, c_macaddr8 macaddr8,
    c_mood mood, c_posint posint,
    c_int4_arr int4[], c_text_arr text[], c_int4_2d int4[][], c_numeric_arr numeric[],
    c_bool_arr bool[], c_ts_arr timestamptz[], c_uuid_arr uuid[], c_mood_arr mood[]
);
CREATE TABLE alltypes_copy (LIKE alltypes INCLUDING ALL);
INSERT INTO alltypes VALUES (1,
    true, 32767, 2147483647, 9223372036854775807, 4294967295,
    'NaN', '-Infinity', 'NaN', 12345678.1234, 92233720368547758.07,
    'ünïcode ☃ \"quoted\" \\ back', 'abc', 'ab', 'a_name', 'x', '\\x00ff10',
    '2000-01-01', '24:00:00', '12:34:56.789+05:30', 'infinity', '-infinity',
    'P1Y2M3DT4H5M6.789S', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}', '{\"b\": null, \"a\": 1}',
    '<a>x</a>', B'1010', B'101', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03',
    '08:00:2b:01:02:03:04:05', 'happy', 7,
    '{1,NULL,3}', '{\"a b\",\"\",NULL,\"q\\\"x\"}', '{{1,2},{3,4}}', '{1.5,NaN}',
    '{t,f}', '{\"2020-01-01 00:00:00+00\"}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '{sad,ok}');
INSERT INTO alltypes VALUES (2,
    false, -32768, -2147483648, -9223372036854775808, 0,
    '1.5e-45', '2.2250738585072014e-308', '-0.000000000001', -99999999.9999, -1.5,
    '', 'x', 'abcde', '', '\\001', '',
    '4713-01-01 BC', '00:00:00', '00:00:00-15:59', '294276-12-31 23:59:59.999999', '1999-12-31 23:59:59.5-08',
    '-178000000 years', '00000000-0000-0000-0000-000000000000', 'null', '[]',
    '<!-- c -->', B'0000', B'', '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff',
    'ff:ff:ff:ff:ff:ff:ff:ff', 'sad', 1,
    '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}');
INSERT INTO alltypes (id) VALUES (3);
";

/// Reads batches until `done` holds for the events so far or `timeout` passes.
async fn collect(
    source: &mut PostgresSource,
    timeout: Duration,
    mut done: impl FnMut(&[TransactionEvent]) -> bool,
) -> Vec<TransactionEvent> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while !done(&events) {
        match tokio::time::timeout_at(deadline, source.next_batch()).await {
            Ok(batch) => {
                let batch = batch.unwrap();
                assert!(batch.len() <= source.config().max_batch_size);
                assert!(!batch.is_empty(), "the source finished unexpectedly");
                events.extend(batch);
            }
            Err(_) => panic!(
                "timed out after {} events; last: {:?}",
                events.len(),
                events.last()
            ),
        }
    }
    events
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

fn table_changes<'a>(events: &'a [TransactionEvent], table: &str) -> Vec<&'a ChangeEvent> {
    changes(events)
        .into_iter()
        .filter(|c| c.relation.as_ref().is_some_and(|r| r.name == table))
        .collect()
}

fn text(tuple: &TupleData, i: usize) -> Option<String> {
    match tuple.get(i) {
        Some(Column::Text(t)) => Some(String::from_utf8(t.to_vec()).unwrap()),
        _ => None,
    }
}

fn has_message(events: &[TransactionEvent], prefix: &str) -> bool {
    changes(events)
        .iter()
        .any(|c| matches!(&c.kind, ChangeKind::Message { prefix: p, .. } if p == prefix))
}

/// Runs a script with psql: each statement commits on its own unless the
/// script groups them with BEGIN/COMMIT.
fn exec(pg: &PgCluster, db: &str, sql: &str) {
    pg.psql_db(db, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn stream_config(pg: &PgCluster, db: &str, extra: &[(&str, &str)]) -> SourceConfig {
    let slot = unique("slot");
    let mut props = vec![
        ("slot.name", slot.as_str()),
        ("skipped.operations", "none"),
        ("max.batch.size", "7"),
        ("max.queue.size", "16"),
    ];
    props.extend_from_slice(extra);
    config(pg, db, &props)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_and_type_arrives_as_the_right_event() {
    let pg = PG.get();
    let db = fresh_db(&pg, "stream_ops");
    pg.psql_db(&db, SCHEMA).unwrap();
    let client = pg.connect(&db).await.unwrap();

    let mut source = PostgresSource::start(stream_config(&pg, &db, &[]))
        .await
        .unwrap();
    let slot = source.slot().unwrap().clone();
    assert!(slot.created);

    // The snapshot: one pseudo-transaction with the three alltypes rows.
    let snapshot = collect(
        &mut source,
        Duration::from_secs(30),
        |e| matches!(e.last(), Some(TransactionEvent::Commit(c)) if c.xid == SNAPSHOT_XID),
    )
    .await;
    let TransactionEvent::Begin(begin) = &snapshot[0] else {
        panic!("the snapshot starts with Begin");
    };
    assert_eq!(begin.xid, SNAPSHOT_XID);
    assert_eq!(begin.commit_lsn, slot.start);
    let rows = table_changes(&snapshot, "alltypes");
    assert_eq!(rows.len(), 3);
    let markers: Vec<_> = rows
        .iter()
        .map(|c| match &c.kind {
            ChangeKind::Read { snapshot, .. } => *snapshot,
            other => panic!("snapshot rows are reads: {other:?}"),
        })
        .collect();
    assert_eq!(
        markers,
        [
            SnapshotMarker::First,
            SnapshotMarker::Middle,
            SnapshotMarker::Last
        ]
    );
    let progress = source.snapshot_progress().unwrap();
    assert!(progress.completed);
    assert_eq!(progress.rows_read, 3);

    // The stream: every operation.
    exec(
        &pg,
        &db,
        "INSERT INTO alltypes_copy SELECT * FROM alltypes ORDER BY id;
         INSERT INTO items VALUES (1, 'first', repeat('x', 5000), 'happy');
         UPDATE items SET name = 'renamed' WHERE id = 1;
         UPDATE items SET id = 2 WHERE id = 1;
         DELETE FROM items WHERE id = 2;
         INSERT INTO fullrow VALUES (1, 'a');
         UPDATE fullrow SET v = 'b';
         DELETE FROM fullrow;
         INSERT INTO nothing VALUES (1, 'n');
         INSERT INTO byindex VALUES (1, 'k1', 'v');
         UPDATE byindex SET v = 'w';
         UPDATE byindex SET code = 'k2';
         DELETE FROM byindex;
         BEGIN;
         SELECT pg_logical_emit_message(true, 'tx', 'in a transaction');
         INSERT INTO items VALUES (5, 'with message', NULL, 'ok');
         COMMIT;
         SELECT pg_logical_emit_message(false, 'notx', '\\x00ff'::bytea);
         ALTER TABLE items ADD COLUMN extra int;
         INSERT INTO items VALUES (3, 'after alter', NULL, 'sad', 42);
         TRUNCATE items, fullrow;
         SELECT pg_logical_emit_message(false, 'end', '');",
    );
    // REPLICA IDENTITY NOTHING: the server refuses updates of a published table.
    let err = client
        .batch_execute("UPDATE nothing SET v = 'm'")
        .await
        .unwrap_err();
    assert!(
        err.as_db_error()
            .unwrap()
            .message()
            .contains("does not have a replica identity"),
        "{err}"
    );

    let events = collect(&mut source, Duration::from_secs(30), |e| {
        has_message(e, "end")
    })
    .await;

    // Transactions are well formed: Begin, changes numbered from 0, Commit with the count.
    let mut open: Option<(u32, u64)> = None;
    for event in &events {
        match event {
            TransactionEvent::Begin(b) => {
                assert!(open.is_none());
                open = Some((b.xid, 0));
            }
            TransactionEvent::Change(c) if c.xid.is_some() => {
                let (xid, next) = open.as_mut().expect("a change inside a transaction");
                assert_eq!(c.xid, Some(*xid));
                assert_eq!(c.index, *next);
                *next += 1;
            }
            TransactionEvent::Change(_) => {}
            TransactionEvent::Commit(c) => {
                let (xid, count) = open.take().unwrap();
                assert_eq!((c.xid, c.event_count), (xid, count));
            }
            _ => {}
        }
    }

    // Every type: streamed text equals the snapshot's text (both from the output
    // functions under the same session settings) and decodes.
    let copies = table_changes(&events, "alltypes_copy");
    assert_eq!(copies.len(), 3);
    for (read, insert) in rows.iter().zip(&copies) {
        let (ChangeKind::Read { new: snap, .. }, ChangeKind::Insert { new: streamed }) =
            (&read.kind, &insert.kind)
        else {
            panic!("read then insert");
        };
        let relation = insert.relation.as_ref().unwrap();
        assert_eq!(snap.len(), streamed.len());
        for (i, column) in relation.columns.iter().enumerate() {
            assert_eq!(
                text(snap, i),
                text(streamed, i),
                "column {} differs between snapshot and stream",
                column.name
            );
            if let Some(raw) = text(streamed, i) {
                value::decode(
                    Format::Text,
                    column.type_oid,
                    column.type_modifier,
                    raw.as_bytes(),
                    source.relations(),
                )
                .unwrap_or_else(|e| panic!("column {}: {e}", column.name));
            }
        }
    }
    // Enum labels and the domain's base were registered for the decoder.
    let mood_oid = copies[0].relation.as_ref().unwrap().columns[33].type_oid;
    assert!(source.relations().is_enum(mood_oid));

    // items: insert, update with the TOASTed column unchanged, key change, delete.
    let items = table_changes(&events, "items");
    let kinds: Vec<char> = items.iter().map(|c| c.kind.op_code()).collect();
    assert_eq!(kinds, ['c', 'u', 'u', 'd', 'c', 'c', 't']);
    match &items[1].kind {
        ChangeKind::Update { old: None, new } => {
            assert_eq!(text(new, 1).as_deref(), Some("renamed"));
            assert_eq!(new.get(2), Some(Column::UnchangedToast));
        }
        other => panic!("update without key change: {other:?}"),
    }
    match &items[2].kind {
        ChangeKind::Update {
            old: Some(OldTuple::Key(old)),
            new,
        } => {
            assert_eq!(text(old, 0).as_deref(), Some("1"));
            assert_eq!(old.get(1), Some(Column::Null));
            assert_eq!(text(new, 0).as_deref(), Some("2"));
        }
        other => panic!("key change: {other:?}"),
    }
    assert!(matches!(
        &items[3].kind,
        ChangeKind::Delete {
            old: OldTuple::Key(_)
        }
    ));
    // ALTER TABLE mid-stream: the next change carries the new relation.
    let before = items[4].relation.as_ref().unwrap();
    let after = items[5].relation.as_ref().unwrap();
    assert_eq!(before.columns.len(), 4);
    assert_eq!(after.columns.len(), 5);
    assert_eq!(after.columns[4].name, "extra");
    match &items[5].kind {
        ChangeKind::Insert { new } => assert_eq!(text(new, 4).as_deref(), Some("42")),
        other => panic!("{other:?}"),
    }
    let metadata = source.table(after.oid).unwrap();
    assert_eq!(metadata.primary_key, ["id"]);
    assert_eq!(metadata.columns.len(), 5);
    assert_eq!(metadata.columns[3].type_name, "mood");
    // TRUNCATE of two tables: one event per table, in one transaction.
    let truncates: Vec<&ChangeEvent> = changes(&events)
        .into_iter()
        .filter(|c| matches!(c.kind, ChangeKind::Truncate { .. }))
        .collect();
    assert_eq!(truncates.len(), 2);
    assert_eq!(truncates[0].xid, truncates[1].xid);

    // REPLICA IDENTITY FULL: whole old rows.
    let full = table_changes(&events, "fullrow");
    assert_eq!(
        full[0].relation.as_ref().unwrap().replica_identity,
        ReplicaIdentity::Full
    );
    match &full[1].kind {
        ChangeKind::Update {
            old: Some(OldTuple::Full(old)),
            ..
        } => assert_eq!(text(old, 1).as_deref(), Some("a")),
        other => panic!("{other:?}"),
    }
    match &full[2].kind {
        ChangeKind::Delete {
            old: OldTuple::Full(old),
        } => assert_eq!(text(old, 1).as_deref(), Some("b")),
        other => panic!("{other:?}"),
    }
    // REPLICA IDENTITY NOTHING: inserts only.
    let nothing = table_changes(&events, "nothing");
    assert_eq!(nothing.len(), 1);
    assert_eq!(
        nothing[0].relation.as_ref().unwrap().replica_identity,
        ReplicaIdentity::Nothing
    );
    // REPLICA IDENTITY USING INDEX: the index columns are the key.
    let byindex = table_changes(&events, "byindex");
    let kinds: Vec<char> = byindex.iter().map(|c| c.kind.op_code()).collect();
    assert_eq!(kinds, ['c', 'u', 'u', 'd']);
    assert!(matches!(
        &byindex[1].kind,
        ChangeKind::Update { old: None, .. }
    ));
    match &byindex[2].kind {
        ChangeKind::Update {
            old: Some(OldTuple::Key(old)),
            ..
        } => {
            assert_eq!(old.get(0), Some(Column::Null));
            assert_eq!(text(old, 1).as_deref(), Some("k1"));
        }
        other => panic!("{other:?}"),
    }
    let meta = source
        .table(byindex[0].relation.as_ref().unwrap().oid)
        .unwrap();
    assert_eq!(meta.identity_index, ["code"]);
    assert_eq!(meta.key_columns(), ["code"]);

    // Logical messages, transactional and not.
    let messages: Vec<_> = changes(&events)
        .into_iter()
        .filter_map(|c| match &c.kind {
            ChangeKind::Message {
                transactional,
                prefix,
                content,
            } => Some((*transactional, prefix.clone(), content.to_vec(), c.xid)),
            _ => None,
        })
        .collect();
    assert_eq!(messages.len(), 3);
    assert!(messages[0].0);
    assert_eq!(messages[0].1, "tx");
    assert_eq!(messages[0].2, b"in a transaction");
    assert!(messages[0].3.is_some());
    assert_eq!(
        (
            messages[1].0,
            messages[1].1.as_str(),
            &messages[1].2[..],
            messages[1].3
        ),
        (false, "notx", &[0u8, 0xff][..], None)
    );

    // Commits come in increasing order.
    let commits: Vec<Lsn> = events
        .iter()
        .filter_map(|e| match e {
            TransactionEvent::Commit(c) => Some(c.end_lsn),
            _ => None,
        })
        .collect();
    assert!(commits.windows(2).all(|w| w[0] < w[1]));
    source.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_values_equal_the_snapshot_values() {
    let pg = PG.get();
    let db = fresh_db(&pg, "stream_binary");
    pg.psql_db(&db, SCHEMA).unwrap();
    let mut source = PostgresSource::start(stream_config(&pg, &db, &[("pgoutput.binary", "true")]))
        .await
        .unwrap();
    let snapshot = collect(
        &mut source,
        Duration::from_secs(30),
        |e| matches!(e.last(), Some(TransactionEvent::Commit(c)) if c.xid == SNAPSHOT_XID),
    )
    .await;
    exec(
        &pg,
        &db,
        "INSERT INTO alltypes_copy SELECT * FROM alltypes ORDER BY id;
         SELECT pg_logical_emit_message(false, 'end', '');",
    );
    let events = collect(&mut source, Duration::from_secs(30), |e| {
        has_message(e, "end")
    })
    .await;
    let rows = table_changes(&snapshot, "alltypes");
    let copies = table_changes(&events, "alltypes_copy");
    assert_eq!((rows.len(), copies.len()), (3, 3));
    let mut binary_columns = 0;
    for (read, insert) in rows.iter().zip(&copies) {
        let (ChangeKind::Read { new: snap, .. }, ChangeKind::Insert { new: streamed }) =
            (&read.kind, &insert.kind)
        else {
            panic!("read then insert");
        };
        let relation = insert.relation.as_ref().unwrap();
        for (i, column) in relation.columns.iter().enumerate() {
            let decode = |c: Column<'_>| match c {
                Column::Text(raw) => Some(
                    value::decode(
                        Format::Text,
                        column.type_oid,
                        column.type_modifier,
                        raw,
                        source.relations(),
                    )
                    .unwrap_or_else(|e| panic!("{}: {e}", column.name))
                    .into_owned(),
                ),
                Column::Binary(raw) => Some(
                    value::decode(
                        Format::Binary,
                        column.type_oid,
                        column.type_modifier,
                        raw,
                        source.relations(),
                    )
                    .unwrap_or_else(|e| panic!("{}: {e}", column.name))
                    .into_owned(),
                ),
                _ => None,
            };
            let streamed_column = streamed.get(i).unwrap();
            if matches!(streamed_column, Column::Binary(_)) {
                binary_columns += 1;
            }
            assert_eq!(
                decode(snap.get(i).unwrap()),
                decode(streamed_column),
                "column {}",
                column.name
            );
        }
    }
    assert!(binary_columns > 60, "only {binary_columns} binary columns");
    source.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_skipped_operations() {
    let pg = PG.get();
    let db = fresh_db(&pg, "stream_filters");
    pg.psql_db(
        &db,
        "CREATE TABLE a (id int PRIMARY KEY, secret text, v text);
         CREATE TABLE b (id int PRIMARY KEY);
         CREATE SCHEMA other; CREATE TABLE other.a (id int PRIMARY KEY);",
    )
    .unwrap();
    let mut source = PostgresSource::start(stream_config(
        &pg,
        &db,
        &[
            ("snapshot.mode", "no_data"),
            ("table.include.list", r"public\.a,other\..*"),
            ("column.exclude.list", r"public\.a\.secret"),
            ("skipped.operations", "d"),
        ],
    ))
    .await
    .unwrap();
    exec(
        &pg,
        &db,
        "BEGIN;
         INSERT INTO b VALUES (1);
         INSERT INTO a VALUES (1, 's', 'v');
         INSERT INTO b VALUES (2);
         DELETE FROM a;
         INSERT INTO other.a VALUES (1);
         UPDATE a SET v = 'w';
         COMMIT;
         INSERT INTO b VALUES (3);
         SELECT pg_logical_emit_message(false, 'end', '');",
    );
    let events = collect(&mut source, Duration::from_secs(30), |e| {
        has_message(e, "end")
    })
    .await;
    let found: Vec<(String, char, u64)> = changes(&events)
        .iter()
        .filter_map(|c| {
            let r = c.relation.as_ref()?;
            Some((
                format!("{}.{}", r.namespace, r.name),
                c.kind.op_code(),
                c.index,
            ))
        })
        .collect();
    assert_eq!(
        found,
        [
            ("public.a".to_owned(), 'c', 0),
            ("other.a".to_owned(), 'c', 1),
        ]
    );
    let commit = events
        .iter()
        .find_map(|e| match e {
            TransactionEvent::Commit(c) => Some(c),
            _ => None,
        })
        .unwrap();
    assert_eq!(commit.event_count, 2);
    let insert = changes(&events)[0];
    let relation = insert.relation.as_ref().unwrap();
    let names: Vec<&str> = relation.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "v"]);
    match &insert.kind {
        ChangeKind::Insert { new } => {
            assert_eq!(new.len(), 2);
            assert_eq!(text(new, 1).as_deref(), Some("v"));
        }
        other => panic!("{other:?}"),
    }
    // The transaction touching only b still ends with a Commit to acknowledge.
    let commits = events
        .iter()
        .filter(|e| matches!(e, TransactionEvent::Commit(_)))
        .count();
    assert_eq!(commits, 2);
    source.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_updates_report_only_the_acknowledged_position() {
    let pg = PG.get();
    let db = fresh_db(&pg, "stream_status");
    pg.psql_db(&db, "CREATE TABLE t (id int PRIMARY KEY);")
        .unwrap();
    let cfg = stream_config(
        &pg,
        &db,
        &[
            ("snapshot.mode", "no_data"),
            ("status.update.interval.ms", "100"),
        ],
    );
    let slot = cfg.slot_name.clone();
    let mut source = PostgresSource::start(cfg).await.unwrap();
    let start = source.slot().unwrap().start;
    for i in 0..3 {
        exec(&pg, &db, &format!("INSERT INTO t VALUES ({i})"));
    }
    let events = collect(&mut source, Duration::from_secs(30), |e| {
        e.iter()
            .filter(|e| matches!(e, TransactionEvent::Commit(_)))
            .count()
            == 3
    })
    .await;
    let ends: Vec<Lsn> = events
        .iter()
        .filter_map(|e| match e {
            TransactionEvent::Commit(c) => Some(c.end_lsn),
            _ => None,
        })
        .collect();
    let confirmed = || {
        pg.psql_db(
            &db,
            &format!(
                "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '{slot}'"
            ),
        )
        .unwrap()
        .parse::<Lsn>()
        .unwrap()
    };
    // Received but not acknowledged: the slot stays before the first commit,
    // through several status updates and keepalives (wal_sender_timeout is 3 s).
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert!(
        confirmed() >= start && confirmed() < ends[0],
        "{}",
        confirmed()
    );
    let stats = source.stats();
    assert_eq!(stats.reconnects, 0);
    assert!(stats.keepalives_received > 0);
    assert!(stats.reported < ends[0]);

    // Acknowledge the first transaction: the slot follows within a status interval.
    source.acknowledge(ends[0]);
    // Moving backwards is ignored; beyond what was delivered is clamped.
    source.acknowledge(start);
    assert_eq!(source.acknowledged(), ends[0]);
    let reached = common::wait_for(Duration::from_secs(10), || {
        (confirmed() == ends[0]).then_some(())
    });
    assert!(
        reached.is_some(),
        "confirmed_flush_lsn is {}, start {start}, ends {ends:?}, stats {:?}",
        confirmed(),
        source.stats()
    );
    source.acknowledge(Lsn(u64::MAX));
    assert_eq!(source.acknowledged(), ends[2]);
    // Everything received is acknowledged now: keepalives carry the position
    // further, over WAL that holds nothing for this source (here, writes in
    // another database).
    pg.psql("CREATE TABLE IF NOT EXISTS idle_churn (x int)")
        .unwrap();
    let idle = common::wait_for(Duration::from_secs(10), || {
        pg.psql("INSERT INTO idle_churn VALUES (1)").unwrap();
        (source.stats().idle_advances > 0).then_some(())
    });
    assert!(idle.is_some(), "{:?}", source.stats());
    assert!(source.acknowledged() > ends[2]);
    let acknowledged = source.acknowledged();
    source.close().await.unwrap();
    assert!(confirmed() >= acknowledged);
}

/// Ids of the inserted rows (first column, text) in the order received.
fn inserted_ids(events: &[TransactionEvent]) -> Vec<i64> {
    changes(events)
        .iter()
        .filter_map(|c| match &c.kind {
            ChangeKind::Insert { new } => text(new, 0).map(|t| t.parse().unwrap()),
            _ => None,
        })
        .collect()
}

fn confirmed_flush(pg: &PgCluster, db: &str, slot: &str) -> Lsn {
    pg.psql_db(
        db,
        &format!("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '{slot}'"),
    )
    .unwrap()
    .parse()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalives_asking_for_a_reply_are_answered_by_whoever_reads() {
    // wal_sender_timeout is 3 s: the walsender asks for a reply after 1.5 s
    // without one and drops the connection after 3 s; status updates are
    // due only every 10 s here, so only the answers keep it alive.
    let pg = PG.get();
    let db = fresh_db(&pg, "stream_reply");
    exec(&pg, &db, "CREATE TABLE t (id int8 PRIMARY KEY)");
    let socket_dir = pg.socket_dir().to_string_lossy().into_owned();
    let cfg = stream_config(
        &pg,
        &db,
        &[
            ("database.hostname", &socket_dir),
            ("snapshot.mode", "no_data"),
            ("max.batch.size", "500"),
            ("max.queue.size", "20000"),
        ],
    );
    let mut source = PostgresSource::start(cfg).await.unwrap();
    exec(&pg, &db, "INSERT INTO t VALUES (0)");
    let first = collect(&mut source, Duration::from_secs(30), |e| {
        e.iter().any(|e| matches!(e, TransactionEvent::Commit(_)))
    })
    .await;
    assert_eq!(inserted_ids(&first), [0]);

    // The application waits in next_batch on an idle stream: it reads the
    // keepalives itself and has the keeper answer them.
    let idle = tokio::time::timeout(Duration::from_secs(4), source.next_batch()).await;
    assert!(idle.is_err(), "nothing was written: {idle:?}");
    assert_eq!(source.stats().reconnects, 0, "{:?}", source.stats());

    // The application is away: the keeper reads ahead and answers.
    exec(
        &pg,
        &db,
        "INSERT INTO t SELECT g FROM generate_series(1, 2000) g;
         INSERT INTO t SELECT g FROM generate_series(2001, 4000) g;
         INSERT INTO t SELECT g FROM generate_series(4001, 6000) g;",
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let stats = source.stats();
    assert_eq!(stats.reconnects, 0, "{stats:?}");
    assert!(stats.keepalives_received > 0, "{stats:?}");
    // Begin, 2000 inserts and Commit per transaction, all read ahead (and a
    // Relation message when the server sends the table's again).
    assert!(
        (3 * 2002..=3 * 2002 + 3).contains(&stats.queued),
        "{stats:?}"
    );

    let rest = collect(&mut source, Duration::from_secs(30), |e| {
        e.iter()
            .filter(|e| matches!(e, TransactionEvent::Commit(_)))
            .count()
            == 3
    })
    .await;
    assert_eq!(inserted_ids(&rest), (1..=6000).collect::<Vec<i64>>());
    assert_eq!(source.stats().queued, 0);
    assert_eq!(source.stats().reconnects, 0);
    source.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_ahead_stops_at_max_queue_size_and_status_updates_go_on() {
    let pg = PG.get();
    let db = fresh_db(&pg, "stream_ahead");
    exec(&pg, &db, "CREATE TABLE t (id int8 PRIMARY KEY)");
    let cfg = stream_config(
        &pg,
        &db,
        &[
            ("snapshot.mode", "no_data"),
            ("max.batch.size", "100"),
            ("max.queue.size", "1000"),
            ("status.update.interval.ms", "200"),
        ],
    );
    let slot = cfg.slot_name.clone();
    let mut source = PostgresSource::start(cfg).await.unwrap();
    exec(&pg, &db, "INSERT INTO t VALUES (0)");
    exec(
        &pg,
        &db,
        "INSERT INTO t SELECT g FROM generate_series(1, 5000) g",
    );
    let first = collect(&mut source, Duration::from_secs(30), |e| {
        e.iter().any(|e| matches!(e, TransactionEvent::Commit(_)))
    })
    .await;
    let end = first
        .iter()
        .find_map(|e| match e {
            TransactionEvent::Commit(c) => Some(c.end_lsn),
            _ => None,
        })
        .unwrap();
    source.acknowledge(end);

    // Away for a while: the keeper reads ahead until max.queue.size frames are
    // held (the backlog and what the consumer took from it for its batches)
    // and keeps reporting the acknowledged position.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let queued = source.stats().queued;
    assert_eq!(queued, 1000, "{:?}", source.stats());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        source.stats().queued,
        queued,
        "read-ahead stopped at the bound"
    );
    let reported = common::wait_for(Duration::from_secs(10), || {
        (confirmed_flush(&pg, &db, &slot) >= end).then_some(())
    });
    assert!(reported.is_some(), "{:?}", source.stats());

    // One batch out of what was read ahead: the consumer took the backlog, so
    // the frames it still holds count against the bound; the keeper only
    // tops the total up again.
    let mut events = first;
    let batch = source.next_batch().await.unwrap();
    assert_eq!(batch.len(), 100);
    events.extend(batch);
    assert!(source.stats().queued <= 1000, "{:?}", source.stats());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(source.stats().queued, 1000, "{:?}", source.stats());

    events.extend(
        collect(&mut source, Duration::from_secs(30), |e| {
            e.iter()
                .filter(|e| matches!(e, TransactionEvent::Commit(_)))
                .count()
                == 1
        })
        .await,
    );
    assert_eq!(inserted_ids(&events), (0..=5000).collect::<Vec<i64>>());
    assert_eq!(source.stats().reconnects, 0);
    source.close().await.unwrap();
}
