//! Snapshots against a real PostgreSQL: consistency with concurrent writes
//! (every row exactly once across snapshot and stream), markers, chunked reads,
//! progress, filters, and the snapshot modes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use common::{SharedCluster, config, fresh_db, unique};
use tidewater_pgoutput::{
    ChangeEvent, ChangeKind, Column, SnapshotMarker, TransactionEvent, TupleData,
};
use tidewater_postgres::{ChangeSource, PostgresSource, PriorSnapshot, SNAPSHOT_XID, SourceConfig};
use tidewater_testkit::PgCluster;

static PG: SharedCluster = SharedCluster::new(PgCluster::builder);

async fn next(source: &mut PostgresSource) -> Vec<TransactionEvent> {
    tokio::time::timeout(Duration::from_secs(30), source.next_batch())
        .await
        .expect("a batch within 30 s")
        .unwrap()
}

/// Reads until a non-transactional message with `prefix` arrives.
async fn until_message(source: &mut PostgresSource, prefix: &str) -> Vec<TransactionEvent> {
    let mut events = Vec::new();
    loop {
        let batch = next(source).await;
        assert!(!batch.is_empty(), "the source finished");
        let done = batch.iter().any(|e| {
            matches!(e, TransactionEvent::Change(ChangeEvent { kind: ChangeKind::Message { prefix: p, .. }, .. }) if p == prefix)
        });
        events.extend(batch);
        if done {
            return events;
        }
    }
}

fn text(tuple: &TupleData, i: usize) -> String {
    match tuple.get(i) {
        Some(Column::Text(t)) => String::from_utf8(t.to_vec()).unwrap(),
        other => panic!("column {i}: {other:?}"),
    }
}

fn int(tuple: &TupleData, i: usize) -> i32 {
    text(tuple, i).parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_concurrent_writes_deliver_every_row_exactly_once() {
    let pg = PG.get();
    let db = fresh_db(&pg, "snap_concurrent");
    pg.psql_db(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL);
         INSERT INTO t SELECT g, 0 FROM generate_series(1, 20000) g;",
    )
    .unwrap();

    // A writer that inserts new rows and updates and deletes old ones, one
    // transaction each, from before the slot exists until after the snapshot.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicI32::new(0));
    let writer = {
        let client = pg.connect(&db).await.unwrap();
        let stop = Arc::clone(&stop);
        let written = Arc::clone(&written);
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) || i < 300 {
                i += 1;
                let id = 20000 + i;
                client
                    .batch_execute(&format!("INSERT INTO t VALUES ({id}, 0)"))
                    .await
                    .unwrap();
                let old = (i * 37) % 20000 + 1;
                if i % 3 == 0 {
                    client
                        .batch_execute(&format!("UPDATE t SET v = v + 1 WHERE id = {old}"))
                        .await
                        .unwrap();
                }
                if i % 5 == 0 {
                    client
                        .batch_execute(&format!("DELETE FROM t WHERE id = {}", old + 1))
                        .await
                        .unwrap();
                }
                written.store(i, Ordering::Relaxed);
            }
        })
    };
    common::wait_for(Duration::from_secs(10), || {
        (written.load(Ordering::Relaxed) > 20).then_some(())
    })
    .unwrap();

    let cfg = config(
        &pg,
        &db,
        &[
            ("slot.name", &unique("snap")),
            ("snapshot.fetch.size", "700"),
            ("max.batch.size", "256"),
            ("max.queue.size", "512"),
            ("skipped.operations", "none"),
        ],
    );
    let mut source = PostgresSource::start(cfg).await.unwrap();
    // Read the snapshot slowly so that writes keep landing meanwhile.
    let mut model: BTreeMap<i32, i32> = BTreeMap::new();
    let mut seen: HashMap<i32, u32> = HashMap::new();
    let mut snapshot_done = false;
    let mut read_rows = 0;
    let mut apply = |events: &[TransactionEvent], model: &mut BTreeMap<i32, i32>| {
        for event in events {
            let TransactionEvent::Change(change) = event else {
                continue;
            };
            match &change.kind {
                ChangeKind::Read { new, .. } | ChangeKind::Insert { new } => {
                    let id = int(new, 0);
                    *seen.entry(id).or_default() += 1;
                    assert!(model.insert(id, int(new, 1)).is_none(), "row {id} twice");
                }
                ChangeKind::Update { new, .. } => {
                    let id = int(new, 0);
                    assert!(
                        model.insert(id, int(new, 1)).is_some(),
                        "update of unseen row {id}"
                    );
                }
                ChangeKind::Delete { old } => {
                    let id = int(old.tuple(), 0);
                    assert!(model.remove(&id).is_some(), "delete of unseen row {id}");
                }
                _ => {}
            }
        }
    };
    while !snapshot_done {
        let batch = next(&mut source).await;
        read_rows += batch
            .iter()
            .filter(|e| matches!(e, TransactionEvent::Change(c) if matches!(c.kind, ChangeKind::Read { .. })))
            .count();
        snapshot_done = batch
            .iter()
            .any(|e| matches!(e, TransactionEvent::Commit(c) if c.xid == SNAPSHOT_XID));
        apply(&batch, &mut model);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let during = written.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    pg.psql_db(&db, "SELECT pg_logical_emit_message(false, 'end', '')")
        .unwrap();
    let events = until_message(&mut source, "end").await;
    apply(&events, &mut model);

    let actual: BTreeMap<i32, i32> = pg
        .psql_db(&db, "SELECT id, v FROM t ORDER BY id")
        .unwrap()
        .lines()
        .map(|l| {
            let (id, v) = l.split_once('|').unwrap();
            (id.parse().unwrap(), v.parse().unwrap())
        })
        .collect();
    assert!(read_rows >= 20000, "{read_rows} snapshot rows");
    assert!(during > 60, "only {during} writes overlapped the snapshot");
    assert_eq!(model.len(), actual.len());
    assert_eq!(model, actual, "snapshot + stream reproduce the table");
    assert!(seen.values().all(|&n| n == 1), "every id exactly once");
    source.close().await.unwrap();
}

fn marker_of(change: &ChangeEvent) -> Option<(String, SnapshotMarker)> {
    match &change.kind {
        ChangeKind::Read { snapshot, .. } => {
            Some((change.relation.as_ref()?.name.clone(), *snapshot))
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markers_chunks_progress_and_filters() {
    let pg = PG.get();
    let db = fresh_db(&pg, "snap_markers");
    pg.psql_db(
        &db,
        "CREATE TABLE a (id int PRIMARY KEY, v text);
         INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 5) g;
         CREATE TABLE b (id int PRIMARY KEY);
         CREATE TABLE c (id int PRIMARY KEY, secret text, v bool);
         INSERT INTO c VALUES (1, 'hidden', true);
         CREATE TABLE d (id int PRIMARY KEY);
         INSERT INTO d SELECT g FROM generate_series(1, 3) g;
         CREATE TABLE skipped (id int PRIMARY KEY);
         INSERT INTO skipped VALUES (1);
         ANALYZE;",
    )
    .unwrap();
    let cfg = config(
        &pg,
        &db,
        &[
            ("slot.name", &unique("markers")),
            ("snapshot.fetch.size", "2"),
            ("max.batch.size", "3"),
            ("table.exclude.list", r"public\.skipped"),
            ("column.exclude.list", r"public\.c\.secret"),
        ],
    );
    let mut source = PostgresSource::start(cfg).await.unwrap();
    let mut events = Vec::new();
    while !matches!(events.last(), Some(TransactionEvent::Commit(c)) if c.xid == SNAPSHOT_XID) {
        let batch = next(&mut source).await;
        assert!(batch.len() <= 3);
        events.extend(batch);
    }
    let markers: Vec<(String, SnapshotMarker)> = events
        .iter()
        .filter_map(|e| match e {
            TransactionEvent::Change(c) => marker_of(c),
            _ => None,
        })
        .collect();
    use SnapshotMarker::*;
    let expected: Vec<(String, SnapshotMarker)> = [
        ("a", First),
        ("a", Middle),
        ("a", Middle),
        ("a", Middle),
        ("a", LastInDataCollection),
        ("c", FirstInDataCollection),
        ("d", FirstInDataCollection),
        ("d", Middle),
        ("d", Last),
    ]
    .into_iter()
    .map(|(t, m)| (t.to_owned(), m))
    .collect();
    assert_eq!(markers, expected);
    // Indexes count rows; the commit counts them all.
    let changes: Vec<&ChangeEvent> = events
        .iter()
        .filter_map(|e| match e {
            TransactionEvent::Change(c) => Some(c),
            _ => None,
        })
        .collect();
    assert!(changes.iter().enumerate().all(|(i, c)| c.index == i as u64));
    let TransactionEvent::Commit(commit) = events.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(commit.event_count, 9);
    assert_eq!(commit.end_lsn, source.slot().unwrap().start);
    // The column filter applies to snapshot rows and their relation.
    let c_row = changes
        .iter()
        .find(|c| c.relation.as_ref().unwrap().name == "c")
        .unwrap();
    let relation = c_row.relation.as_ref().unwrap();
    let names: Vec<&str> = relation.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "v"]);
    assert!(relation.columns[0].is_key());
    let ChangeKind::Read { new, .. } = &c_row.kind else {
        unreachable!()
    };
    assert_eq!(
        (text(new, 0), text(new, 1)),
        ("1".to_owned(), "t".to_owned())
    );
    // Metadata of snapshot tables is available.
    assert_eq!(source.table(relation.oid).unwrap().primary_key, ["id"]);

    let progress = source.snapshot_progress().unwrap();
    assert!(progress.completed);
    assert_eq!(progress.rows_read, 9);
    let tables: Vec<(&str, u64, Option<u64>, bool)> = progress
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.rows_read, t.rows_estimated, t.done))
        .collect();
    assert_eq!(
        tables,
        [
            ("a", 5, Some(5), true),
            ("b", 0, Some(0), true),
            ("c", 1, Some(1), true),
            ("d", 3, Some(3), true),
        ]
    );
    source.close().await.unwrap();
}

/// Starts a source, writes a row and a marker, and returns the rows of the
/// snapshot it took, if it took one.
async fn run_mode(
    pg: &PgCluster,
    db: &str,
    cfg: SourceConfig,
    prior: PriorSnapshot,
) -> (Option<usize>, PostgresSource) {
    let mut source = PostgresSource::start_with(cfg, prior).await.unwrap();
    let marker = unique("mark");
    pg.psql_db(
        db,
        &format!(
            "INSERT INTO t VALUES ((SELECT coalesce(max(id), 0) + 1 FROM t));
             SELECT pg_logical_emit_message(false, '{marker}', '')"
        ),
    )
    .unwrap();
    let events = until_message(&mut source, &marker).await;
    // A snapshot taken beside the kept slot comes after what the slot still
    // held (here the previous run's unacknowledged marker).
    let begin = events
        .iter()
        .position(|e| matches!(e, TransactionEvent::Begin(b) if b.xid == SNAPSHOT_XID));
    let snapshot = begin.map(|at| {
        events
            .iter()
            .skip(at)
            .take_while(|e| !matches!(e, TransactionEvent::Commit(c) if c.xid == SNAPSHOT_XID))
            .filter(|e| matches!(e, TransactionEvent::Change(_)))
            .count()
    });
    // Acknowledge everything delivered.
    if let Some(end) = events.iter().rev().find_map(|e| match e {
        TransactionEvent::Commit(c) => Some(c.end_lsn),
        _ => None,
    }) {
        source.acknowledge(end);
    }
    (snapshot, source)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_modes() {
    let pg = PG.get();
    let db = fresh_db(&pg, "snap_modes");
    pg.psql_db(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);",
    )
    .unwrap();
    let slot = unique("modes");
    let cfg = |mode: &str| config(&pg, &db, &[("slot.name", &slot), ("snapshot.mode", mode)]);

    // initial: the first run creates the slot and snapshots.
    let (snapshot, source) = run_mode(&pg, &db, cfg("initial"), PriorSnapshot::Unknown).await;
    assert_eq!(snapshot, Some(2));
    assert!(source.slot().unwrap().created);
    source.close().await.unwrap();
    // initial again: the slot exists, so stream only.
    let (snapshot, source) = run_mode(&pg, &db, cfg("initial"), PriorSnapshot::Unknown).await;
    assert_eq!(snapshot, None);
    assert!(!source.slot().unwrap().created);
    source.close().await.unwrap();
    // initial after a snapshot that did not finish: snapshot again, keeping the slot.
    let (snapshot, source) = run_mode(&pg, &db, cfg("initial"), PriorSnapshot::Incomplete).await;
    assert_eq!(snapshot, Some(4));
    assert!(!source.slot().unwrap().created);
    source.close().await.unwrap();
    // always: every start.
    let (snapshot, source) = run_mode(&pg, &db, cfg("always"), PriorSnapshot::Completed).await;
    assert_eq!(snapshot, Some(5));
    source.close().await.unwrap();
    // no_data: never.
    let (snapshot, source) = run_mode(&pg, &db, cfg("no_data"), PriorSnapshot::Incomplete).await;
    assert_eq!(snapshot, None);
    source.close().await.unwrap();
    // when_needed: only when the slot is missing.
    let (snapshot, source) = run_mode(&pg, &db, cfg("when_needed"), PriorSnapshot::Completed).await;
    assert_eq!(snapshot, None);
    source.close().await.unwrap();
    pg.psql_db(&db, &format!("SELECT pg_drop_replication_slot('{slot}')"))
        .unwrap();
    let (snapshot, source) = run_mode(&pg, &db, cfg("when_needed"), PriorSnapshot::Completed).await;
    assert_eq!(snapshot, Some(8));
    source.close().await.unwrap();
    // initial with a completed snapshot but no slot: changes were lost; say so.
    pg.psql_db(&db, &format!("SELECT pg_drop_replication_slot('{slot}')"))
        .unwrap();
    let err = PostgresSource::start_with(cfg("initial"), PriorSnapshot::Completed)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("when_needed"), "{err}");

    // initial_only: a snapshot without any slot, then the source is finished.
    let mut source = PostgresSource::start(cfg("initial_only")).await.unwrap();
    assert!(source.slot().is_none());
    let mut rows = 0;
    loop {
        let batch = next(&mut source).await;
        if batch.is_empty() {
            break;
        }
        rows += batch
            .iter()
            .filter(|e| matches!(e, TransactionEvent::Change(_)))
            .count();
    }
    assert_eq!(rows, 9);
    assert!(next(&mut source).await.is_empty());
    source.close().await.unwrap();
    let slots = pg
        .psql_db(
            &db,
            &format!("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}'"),
        )
        .unwrap();
    assert_eq!(slots, "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_snapshot_is_taken_again_from_a_new_slot() {
    let pg = PG.get();
    let db = fresh_db(&pg, "snap_interrupted");
    pg.psql_db(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY);
         INSERT INTO t SELECT g FROM generate_series(1, 5000) g;",
    )
    .unwrap();
    let slot = unique("interrupted");
    let cfg = config(
        &pg,
        &db,
        &[
            ("slot.name", &slot),
            ("snapshot.fetch.size", "100"),
            ("max.batch.size", "50"),
        ],
    );
    let mut source = PostgresSource::start(cfg.clone()).await.unwrap();
    let mut rows = 0;
    let mut killed = false;
    let error = loop {
        match tokio::time::timeout(Duration::from_secs(30), source.next_batch())
            .await
            .unwrap()
        {
            Ok(batch) => {
                rows += batch
                    .iter()
                    .filter(|e| matches!(e, TransactionEvent::Change(_)))
                    .count();
                if rows >= 1000 && !killed {
                    killed = true;
                    // The snapshot session dies half-way.
                    pg.psql(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = '{db}' AND application_name = 'tidewater-snapshot'"
                    ))
                    .unwrap();
                }
                assert!(rows < 5000, "the snapshot should not have finished");
            }
            Err(e) => break e,
        }
    };
    assert!(error.to_string().contains("snapshot"), "{error}");
    // The half-read snapshot is not trusted: its slot is gone ...
    let slots = pg
        .psql(&format!(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}'"
        ))
        .unwrap();
    assert_eq!(slots, "0");
    drop(source);
    // ... so the next start, knowing nothing, snapshots everything again.
    let mut source = PostgresSource::start(cfg).await.unwrap();
    assert!(source.slot().unwrap().created);
    let mut rows = 0;
    loop {
        let batch = next(&mut source).await;
        rows += batch
            .iter()
            .filter(|e| matches!(e, TransactionEvent::Change(_)))
            .count();
        if batch
            .iter()
            .any(|e| matches!(e, TransactionEvent::Commit(c) if c.xid == SNAPSHOT_XID))
        {
            break;
        }
    }
    assert_eq!(rows, 5000);
    source.close().await.unwrap();
}

/// A snapshot taken again beside an existing slot (the earlier one was
/// interrupted): the slot is kept, and the changes it holds — made after the
/// interrupted snapshot, before the new one — come first, in commit order,
/// then the new snapshot, then what follows. Nothing the interrupted snapshot
/// showed is left without its delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_taken_again_keeps_the_slot_and_its_changes_come_first() {
    let pg = PG.get();
    let db = fresh_db(&pg, "snap_again");
    pg.psql_db(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL);
         INSERT INTO t SELECT g, 0 FROM generate_series(1, 10) g;",
    )
    .unwrap();
    let slot_name = unique("again");
    let cfg = || {
        config(
            &pg,
            &db,
            &[("slot.name", &slot_name), ("snapshot.fetch.size", "2")],
        )
    };

    // The first snapshot is read in part, never acknowledged.
    let mut first = PostgresSource::start_with(cfg(), PriorSnapshot::Unknown)
        .await
        .unwrap();
    let slot = first.slot().unwrap().clone();
    assert!(slot.created);
    assert!(!next(&mut first).await.is_empty());
    first.close().await.unwrap();

    // Meanwhile: a row the consumer may have seen goes, another arrives, one changes.
    pg.psql_db(
        &db,
        "DELETE FROM t WHERE id = 3; INSERT INTO t VALUES (11, 0); UPDATE t SET v = 1 WHERE id = 5;",
    )
    .unwrap();

    let mut second = PostgresSource::start_with(cfg(), PriorSnapshot::Incomplete)
        .await
        .unwrap();
    assert!(!second.slot().unwrap().created, "the slot was kept");
    assert_eq!(second.slot().unwrap().start, slot.start);
    let marker = unique("after");
    pg.psql_db(
        &db,
        &format!(
            "INSERT INTO t VALUES (12, 0);
             SELECT pg_logical_emit_message(false, '{marker}', '')"
        ),
    )
    .unwrap();
    let events = until_message(&mut second, &marker).await;

    // (op, id, commit LSN) in the order handed out.
    let seen: Vec<(char, i32, u64)> = events
        .iter()
        .filter_map(|e| match e {
            TransactionEvent::Change(c) if c.relation.is_some() => {
                let row = match &c.kind {
                    ChangeKind::Read { new, .. }
                    | ChangeKind::Insert { new }
                    | ChangeKind::Update { new, .. } => new.clone(),
                    ChangeKind::Delete { old } => old.tuple().clone(),
                    other => panic!("{other:?}"),
                };
                Some((c.kind.op_code(), int(&row, 0), c.commit_lsn.0))
            }
            _ => None,
        })
        .collect();
    let ops: Vec<(char, i32)> = seen.iter().map(|&(op, id, _)| (op, id)).collect();
    let reads: Vec<i32> = (1..=11).filter(|&id| id != 3).collect();
    let mut expected = vec![('d', 3), ('c', 11), ('u', 5)];
    expected.extend(reads.iter().map(|&id| ('r', id)));
    expected.push(('c', 12));
    let mut sorted_reads = ops.clone();
    if let Some(part) = sorted_reads.get_mut(3..3 + reads.len()) {
        part.sort_unstable();
    }
    assert_eq!(sorted_reads, expected, "{ops:?}");
    // Positions never go back: catch-up, snapshot, then the stream.
    assert!(
        seen.windows(2).all(|w| w[0].2 <= w[1].2),
        "positions go back: {seen:?}"
    );
    assert!(
        !events.iter().any(|e| matches!(
            e,
            TransactionEvent::Change(ChangeEvent { kind: ChangeKind::Message { prefix, .. }, .. })
                if prefix.starts_with("tidewater.")
        )),
        "the catch-up marker was handed out"
    );
    second.close().await.unwrap();
    // The temporary slot went with its session.
    let slots = pg
        .psql_db(
            &db,
            &format!(
                "SELECT string_agg(slot_name, ',') FROM pg_replication_slots WHERE slot_name LIKE '{}%'",
                slot.name
            ),
        )
        .unwrap();
    assert_eq!(slots, slot.name);
}
