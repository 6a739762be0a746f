//! End to end: the same pre-generated WAL drained by `pg_recvlogical` (pgoutput to
//! /dev/null) and by Tidewater (to the local broker, and to a null sink).
//!
//! ```text
//! cargo bench -p tidewater-benches --bench end_to_end            # 1,000,000 row changes
//! TIDEWATER_E2E_ROWS=200000 cargo bench -p tidewater-benches --bench end_to_end
//! ```
//!
//! A harness of its own (not criterion's sampling loop): one measurement drains a
//! replication slot, and a slot can be drained once, so each run creates its slots
//! before the workload, commits the workload, and then times each consumer from
//! start to the workload's end LSN.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark harness")]

use std::time::{Duration, Instant};

use tidewater_pgoutput::TransactionEvent;
use tidewater_postgres::{ChangeSource, PostgresSource, SourceConfig};
use tidewater_testkit::PgCluster;

const DB: &str = "bench";
const PUBLICATION: &str = "bench_pub";

fn rows() -> u64 {
    std::env::var("TIDEWATER_E2E_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// Creates the 10-column table and the publication.
fn schema(pg: &PgCluster) {
    pg.create_database(DB).unwrap();
    pg.psql_db(
        DB,
        &format!(
            "CREATE TABLE orders (
                id bigint PRIMARY KEY, customer_id integer NOT NULL, amount numeric(12,2),
                status text, note varchar(64), created_at timestamptz, due date,
                weight double precision, paid boolean, qty smallint);
             CREATE PUBLICATION {PUBLICATION} FOR TABLE orders;"
        ),
    )
    .unwrap();
}

/// Inserts `rows` rows in transactions of 10,000 and returns the WAL end afterwards.
fn workload(pg: &PgCluster, first: u64, rows: u64) -> String {
    let mut start = first;
    let end = first + rows;
    while start < end {
        let stop = (start + 10_000).min(end);
        pg.psql_db(
            DB,
            &format!(
                "INSERT INTO orders SELECT g, (g % 1000)::int, (g % 100000) / 100.0,
                    CASE WHEN g % 3 = 0 THEN 'shipped' ELSE 'pending' END,
                    'order note number ' || g, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second',
                    '2024-01-01'::date + (g % 365)::int, g * 0.5, g % 2 = 0, (g % 100)::smallint
                 FROM generate_series({start}, {}) g",
                stop - 1
            ),
        )
        .unwrap();
        start = stop;
    }
    pg.psql_db(DB, "SELECT pg_current_wal_lsn()").unwrap()
}

/// The walsender's CPU time (user + system) from /proc, by application name.
fn walsender_cpu(pg: &PgCluster, application: &str) -> Option<Duration> {
    let pid = pg
        .psql_db(
            DB,
            &format!(
                "SELECT pid FROM pg_stat_activity WHERE backend_type = 'walsender' AND application_name = '{application}'"
            ),
        )
        .ok()?;
    proc_cpu(pid.trim().parse().ok()?)
}

fn proc_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// (a) pg_recvlogical with pgoutput to /dev/null, up to `end_lsn`.
fn recvlogical(pg: &PgCluster, slot: &str, end_lsn: &str) -> Duration {
    let mut cmd = pg.client_command("pg_recvlogical").unwrap();
    cmd.args([
        "-d",
        DB,
        "--slot",
        slot,
        "--start",
        "--no-loop",
        "-f",
        "/dev/null",
    ])
    .args(["-o", "proto_version=1", "-o"])
    .arg(format!("publication_names={PUBLICATION}"))
    .args(["--endpos", end_lsn]);
    let start = Instant::now();
    let status = cmd.status().unwrap();
    let elapsed = start.elapsed();
    assert!(status.success(), "pg_recvlogical failed: {status}");
    elapsed
}

/// Source configuration for an existing slot (stream only, no snapshot).
fn source_config(pg: &PgCluster, slot: &str) -> SourceConfig {
    SourceConfig::from_properties([
        ("database.hostname", pg.host().to_owned()),
        ("database.port", pg.port().to_string()),
        ("database.user", "postgres".to_owned()),
        ("database.dbname", DB.to_owned()),
        ("slot.name", slot.to_owned()),
        ("publication.name", PUBLICATION.to_owned()),
        ("publication.autocreate.mode", "disabled".to_owned()),
        ("snapshot.mode", "no_data".to_owned()),
    ])
    .unwrap()
}

/// (c0) The source alone: frames decoded and assembled into change events, acknowledged
/// per batch, nothing built from them.
async fn source_only(pg: &PgCluster, slot: &str, rows: u64) -> (Duration, u64) {
    let mut source = PostgresSource::start(source_config(pg, slot))
        .await
        .unwrap();
    let start = Instant::now();
    let mut changes = 0u64;
    'outer: loop {
        let batch = source.next_batch().await.unwrap();
        for event in &batch {
            match event {
                TransactionEvent::Change(_) => changes += 1,
                TransactionEvent::Commit(c) => {
                    source.acknowledge(c.end_lsn);
                    if changes >= rows {
                        break 'outer;
                    }
                }
                _ => {}
            }
        }
    }
    let elapsed = start.elapsed();
    source.close().await.unwrap();
    (elapsed, changes)
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: keep that cheap.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rows = rows();
    let pg = PgCluster::builder().start().unwrap();
    schema(&pg);
    for slot in ["slot_recvlogical", "slot_source"] {
        pg.create_logical_slot(DB, slot, false).unwrap();
    }
    let started = Instant::now();
    let end_lsn = workload(&pg, 1, rows);
    eprintln!(
        "workload: {rows} rows committed in {:.1?}, WAL end {end_lsn}",
        started.elapsed()
    );
    let a = recvlogical(&pg, "slot_recvlogical", &end_lsn);
    let a_rate = rows as f64 / a.as_secs_f64();
    println!("(a) pg_recvlogical: {rows} changes in {a:.2?} = {a_rate:.0} events/s");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (c0, changes) = runtime.block_on(source_only(&pg, "slot_source", rows));
    assert_eq!(changes, rows, "the source saw every change");
    let c0_rate = rows as f64 / c0.as_secs_f64();
    println!(
        "(c0) PostgresSource alone: {rows} changes in {c0:.2?} = {c0_rate:.0} events/s, ratio to (a) {:.2}",
        c0_rate / a_rate
    );
    let _ = walsender_cpu;
}
