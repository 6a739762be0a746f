//! A one-million-row transaction streams through the source in bounded memory:
//! events are handed out as their messages arrive, never after buffering the
//! transaction. The only test in this binary, so the process's peak resident
//! memory measures the source alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod common;

use std::time::{Duration, Instant};

use common::{config, fresh_db, unique};
use tidewater_pgoutput::{ChangeKind, TransactionEvent};
use tidewater_postgres::{ChangeSource, PostgresSource};
use tidewater_testkit::PgCluster;

const ROWS: u64 = 1_000_000;
const PAD: usize = 200;

/// Peak resident set size of this process (`VmHWM`), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_row_transaction_streams_in_bounded_memory() {
    let pg = PgCluster::start().unwrap_or_else(|e| panic!("starting PostgreSQL for the test: {e}"));
    let db = fresh_db(&pg, "large");
    pg.psql_db(&db, "CREATE TABLE t (id int8 PRIMARY KEY, pad text);")
        .unwrap();
    let mut source = PostgresSource::start(config(
        &pg,
        &db,
        &[
            ("slot.name", &unique("large")),
            ("snapshot.mode", "no_data"),
        ],
    ))
    .await
    .unwrap();
    pg.psql_db(
        &db,
        &format!("INSERT INTO t SELECT g, repeat('x', {PAD}) FROM generate_series(1, {ROWS}) g"),
    )
    .unwrap();
    let payload = ROWS * PAD as u64;
    let baseline = peak_rss();

    let started = Instant::now();
    let mut rows = 0u64;
    let mut next_id = 1u64;
    let mut commit = None;
    let mut batches = 0u64;
    while commit.is_none() {
        let batch = tokio::time::timeout(Duration::from_secs(120), source.next_batch())
            .await
            .expect("a batch")
            .unwrap();
        batches += 1;
        assert!(batch.len() <= source.config().max_batch_size);
        for event in &batch {
            match event {
                TransactionEvent::Change(change) => {
                    let ChangeKind::Insert { new } = &change.kind else {
                        panic!("{change:?}");
                    };
                    let Some(tidewater_pgoutput::Column::Text(id)) = new.get(0) else {
                        panic!("{new:?}");
                    };
                    assert_eq!(std::str::from_utf8(id).unwrap(), next_id.to_string());
                    assert_eq!(change.index, next_id - 1);
                    next_id += 1;
                    rows += 1;
                }
                TransactionEvent::Commit(c) => commit = Some(*c),
                _ => {}
            }
        }
    }
    let elapsed = started.elapsed();
    let commit = commit.unwrap();
    assert_eq!(rows, ROWS);
    assert_eq!(commit.event_count, ROWS);
    source.acknowledge(commit.end_lsn);
    let growth = peak_rss().saturating_sub(baseline);
    eprintln!(
        "{ROWS} rows ({} MB of values) in {batches} batches, {:.1} s, peak memory grew {} MB",
        payload >> 20,
        elapsed.as_secs_f64(),
        growth >> 20
    );
    // Holding the transaction would take at least its values' size.
    assert!(
        growth < payload / 4,
        "peak memory grew by {} MB for a transaction of {} MB",
        growth >> 20,
        payload >> 20
    );
    source.close().await.unwrap();
}
