//! Positions against a real PostgreSQL: acknowledge then restart (the slot's
//! confirmed_flush_lsn is what was acknowledged; unacknowledged transactions
//! come again, acknowledged ones never), and a lost connection (walsender
//! terminated, server restarted) resumed without losing or repeating events.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{SharedCluster, config, fresh_db, unique};
use tidewater_pgoutput::{ChangeKind, Column, Lsn, TransactionEvent};
use tidewater_postgres::{ChangeSource, PostgresSource};
use tidewater_testkit::PgCluster;

static PG: SharedCluster = SharedCluster::new(PgCluster::builder);
/// Restarted by a test: not shared with the others.
static RESTARTED: SharedCluster = SharedCluster::new(PgCluster::builder);

async fn next(source: &mut PostgresSource) -> Vec<TransactionEvent> {
    tokio::time::timeout(Duration::from_secs(60), source.next_batch())
        .await
        .expect("a batch within 60 s")
        .unwrap()
}

fn confirmed_flush(pg: &PgCluster, slot: &str) -> Lsn {
    pg.psql(&format!(
        "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '{slot}'"
    ))
    .unwrap()
    .parse()
    .unwrap()
}

/// The first column of every inserted row, per transaction (in commit order),
/// checking that transactions are well formed along the way.
#[derive(Default)]
struct Transactions {
    done: Vec<(Lsn, Vec<i64>)>,
    open: Option<(Lsn, u64, Vec<i64>)>,
}

impl Transactions {
    fn apply(&mut self, events: &[TransactionEvent]) {
        for event in events {
            match event {
                TransactionEvent::Begin(b) => {
                    assert!(self.open.is_none(), "Begin inside a transaction");
                    self.open = Some((b.commit_lsn, 0, Vec::new()));
                }
                TransactionEvent::Change(c) => {
                    let (commit, next, ids) = self.open.as_mut().expect("a change outside");
                    assert_eq!(c.commit_lsn, *commit);
                    assert_eq!(c.index, *next, "indexes are contiguous");
                    *next += 1;
                    if let ChangeKind::Insert { new } = &c.kind
                        && let Some(Column::Text(t)) = new.get(0)
                    {
                        ids.push(std::str::from_utf8(t).unwrap().parse().unwrap());
                    }
                }
                TransactionEvent::Commit(c) => {
                    let (commit, count, ids) = self.open.take().expect("a commit outside");
                    assert_eq!((c.commit_lsn, c.event_count), (commit, count));
                    if let Some((last, _)) = self.done.last() {
                        assert!(*last < commit, "commits in order");
                    }
                    self.done.push((c.end_lsn, ids));
                }
                _ => {}
            }
        }
    }

    fn ids(&self) -> Vec<i64> {
        self.done.iter().flat_map(|(_, ids)| ids.clone()).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledge_then_restart_resumes_right_after_the_acknowledged_position() {
    let pg = PG.get();
    let db = fresh_db(&pg, "resume_ack");
    pg.psql_db(&db, "CREATE TABLE t (id int8 PRIMARY KEY);")
        .unwrap();
    let slot = unique("ack");
    let cfg = config(
        &pg,
        &db,
        &[("slot.name", &slot), ("snapshot.mode", "no_data")],
    );

    let mut source = PostgresSource::start(cfg.clone()).await.unwrap();
    for i in 1..=5 {
        pg.psql_db(&db, &format!("INSERT INTO t VALUES ({i})"))
            .unwrap();
    }
    let mut txs = Transactions::default();
    while txs.done.len() < 5 {
        let batch = next(&mut source).await;
        txs.apply(&batch);
    }
    assert_eq!(txs.ids(), [1, 2, 3, 4, 5]);
    // Everything was received; only the first two transactions are durable.
    let acknowledged = txs.done[1].0;
    source.acknowledge(acknowledged);
    source.close().await.unwrap();
    assert_eq!(confirmed_flush(&pg, &slot), acknowledged);

    // The next run starts right after the acknowledged position: 3, 4 and 5
    // again (never acknowledged), then the new row; 1 and 2 never again.
    let mut source = PostgresSource::start(cfg.clone()).await.unwrap();
    assert_eq!(source.slot().unwrap().start, acknowledged);
    pg.psql_db(&db, "INSERT INTO t VALUES (6)").unwrap();
    let mut txs = Transactions::default();
    while txs.done.len() < 4 {
        let batch = next(&mut source).await;
        txs.apply(&batch);
    }
    assert_eq!(txs.ids(), [3, 4, 5, 6]);
    let last = txs.done[3].0;
    source.acknowledge(last);
    source.close().await.unwrap();
    // At least what was acknowledged; keepalives may have moved it over idle WAL.
    assert!(confirmed_flush(&pg, &slot) >= last);

    // Everything acknowledged: a third run sees only what is new.
    let mut source = PostgresSource::start(cfg).await.unwrap();
    pg.psql_db(&db, "INSERT INTO t VALUES (7)").unwrap();
    let mut txs = Transactions::default();
    while txs.done.is_empty() {
        let batch = next(&mut source).await;
        txs.apply(&batch);
    }
    assert_eq!(txs.ids(), [7]);
    source.close().await.unwrap();
}

/// Writes `count` transactions of `rows` rows each, ids from `first`, each row
/// padded to `pad` bytes.
fn write(pg: &PgCluster, db: &str, first: i64, count: i64, rows: i64, pad: usize) {
    let mut sql = String::new();
    for tx in 0..count {
        let start = first + tx * rows;
        sql.push_str(&format!(
            "INSERT INTO t SELECT g, repeat('x', {pad}) FROM generate_series({start}, {}) g;\n",
            start + rows - 1
        ));
    }
    pg.psql_db(db, &sql).unwrap();
}

fn walsender_pid(pg: &PgCluster, slot: &str) -> Option<i32> {
    pg.psql(&format!(
        "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '{slot}' AND active"
    ))
    .unwrap()
    .parse()
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_walsender_is_reconnected_without_loss_or_repeats() {
    let pg = PG.get();
    let db = fresh_db(&pg, "resume_kill");
    pg.psql_db(&db, "CREATE TABLE t (id int8 PRIMARY KEY, pad text);")
        .unwrap();
    let slot = unique("kill");
    let cfg = config(
        &pg,
        &db,
        &[
            ("slot.name", &slot),
            ("snapshot.mode", "no_data"),
            ("max.batch.size", "500"),
            ("max.queue.size", "1000"),
            ("retriable.restart.connector.wait.ms", "500"),
        ],
    );
    let mut source = PostgresSource::start(cfg).await.unwrap();
    // Transactions of about 8 MB, more than the socket buffers hold, so the
    // walsender is cut while it is sending one; small ones in between.
    write(&pg, &db, 1, 1, 20_000, 400);
    write(&pg, &db, 20_001, 3, 10, 10);
    write(&pg, &db, 20_031, 2, 20_000, 400);
    let total = 60_030;

    let mut txs = Transactions::default();
    let mut kills: Vec<Lsn> = Vec::new();
    let mut batches = 0;
    while txs.done.len() < 6 {
        let batch = next(&mut source).await;
        txs.apply(&batch);
        batches += 1;
        // Cut the connection once inside each big transaction, after part of
        // it was delivered.
        if let Some((commit, _, ids)) = &txs.open
            && ids.len() > 5_000
            && !kills.contains(commit)
            && let Some(pid) = walsender_pid(&pg, &slot)
        {
            pg.psql(&format!("SELECT pg_terminate_backend({pid})"))
                .unwrap();
            kills.push(*commit);
        }
        // Acknowledge now and then, as a runtime would.
        if batches % 7 == 0
            && let Some((end, _)) = txs.done.last()
        {
            source.acknowledge(*end);
        }
    }
    assert_eq!(kills.len(), 3, "one cut per big transaction");
    let ids = txs.ids();
    assert_eq!(ids.len(), total as usize);
    assert!(
        ids.iter().copied().eq(1..=total),
        "every row exactly once, in order"
    );
    // The last cut may be noticed only after everything was delivered.
    let reconnected = common::wait_for(Duration::from_secs(20), || {
        (source.stats().reconnects >= 3).then_some(())
    });
    assert!(reconnected.is_some(), "{:?}", source.stats());
    source.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_is_survived_with_backoff() {
    let pg = RESTARTED.get();
    let db = fresh_db(&pg, "resume_restart");
    pg.psql_db(&db, "CREATE TABLE t (id int8 PRIMARY KEY, pad text);")
        .unwrap();
    let slot = unique("restart");
    let cfg = config(
        &pg,
        &db,
        &[
            ("slot.name", &slot),
            ("snapshot.mode", "no_data"),
            ("retriable.restart.connector.wait.ms", "400"),
            ("status.update.interval.ms", "100"),
        ],
    );
    let mut source = PostgresSource::start(cfg).await.unwrap();
    write(&pg, &db, 1, 5, 10, 1);
    let mut txs = Transactions::default();
    while txs.done.len() < 5 {
        let batch = next(&mut source).await;
        txs.apply(&batch);
    }
    // A fast shutdown waits until the walsender's client confirms everything
    // sent: acknowledge it all, as a runtime does once its sink has it.
    let acknowledged = txs.done[4].0;
    source.acknowledge(acknowledged);
    common::wait_for(Duration::from_secs(10), || {
        (confirmed_flush(&pg, &slot) >= acknowledged).then_some(())
    })
    .expect("the acknowledgement reaches the server");

    pg.restart().unwrap();
    write(&pg, &db, 51, 2, 10, 1);
    while txs.done.len() < 7 {
        let batch = next(&mut source).await;
        txs.apply(&batch);
    }
    let ids = txs.ids();
    assert_eq!(
        ids,
        (1..=70).collect::<Vec<i64>>(),
        "nothing lost, nothing repeated"
    );
    assert!(source.stats().reconnects >= 1);
    let by_tx: BTreeMap<Lsn, usize> = txs.done.iter().map(|(l, ids)| (*l, ids.len())).collect();
    assert_eq!(by_tx.len(), 7);
    source.close().await.unwrap();
}
