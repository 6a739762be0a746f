//! Fault tests: the `postgres_to_kafka` example runs a connector file as its
//! own process against a real PostgreSQL and a real tansu broker while the
//! tests kill it, stop the broker, restart or cut off PostgreSQL; afterwards an
//! independent librdkafka consumer reads the topic back and
//! `faults_support::check` judges it against the workload's log and the
//! table. docs/reliability.md describes the guarantee and the figures.
//!
//! `TIDEWATER_SOAK=1` runs the long version (more rows and kills, the
//! 1,000,000-row transaction); `TIDEWATER_FAULT_SEED=<n>` repeats a run's
//! random choices.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]
#![allow(
    clippy::await_holding_lock,
    reason = "`serial()` keeps whole tests apart; each runs on its own runtime and thread"
)]

mod common;
mod faults_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use faults_support::check::{Report, Run, check};
use faults_support::workload::{Op, Tx, Workload};
use faults_support::{
    PipelineProcess, Rec, Rng, Setup, released_slot, scaled, serial, slot_state, start_broker,
    start_persistent_broker, start_pg, table_state, wait_confirmed, wal_insert_lsn,
};
use tokio::sync::Mutex;

/// A pipeline process under test, its runs so far, and a SQL session for
/// watching the slot.
struct Harness {
    setup: Setup,
    control: tokio_postgres::Client,
    runs: Vec<Run>,
    current: Option<(Run, PipelineProcess)>,
}

impl Harness {
    async fn new(setup: Setup) -> Harness {
        let control = setup.pg.connect(&setup.db).await.unwrap();
        Harness {
            setup,
            control,
            runs: Vec::new(),
            current: None,
        }
    }

    /// A new SQL session (after a server restart).
    async fn reconnect(&mut self) {
        self.control = self.setup.pg.connect(&self.setup.db).await.unwrap();
    }

    async fn start(&mut self) {
        assert!(self.current.is_none(), "a pipeline process is running");
        let resume = slot_state(&self.control, &self.setup.slot())
            .await
            .map(|(lsn, _)| lsn);
        let mut process = PipelineProcess::start(&self.setup.config);
        process.wait_ready(Duration::from_secs(60));
        let run = Run {
            started_ms: process.started_ms,
            ended_ms: i64::MAX,
            resume,
            confirmed_at_end: None,
            killed: false,
            label: "still running".to_owned(),
        };
        self.current = Some((run, process));
    }

    fn process(&mut self) -> &mut PipelineProcess {
        &mut self.current.as_mut().expect("a running pipeline").1
    }

    /// SIGKILL; waits until the walsender let go of the slot.
    async fn kill(&mut self, label: &str) {
        let (mut run, process) = self.current.take().expect("a running pipeline");
        run.ended_ms = process.kill();
        run.killed = true;
        run.label = format!("SIGKILL {label}");
        run.confirmed_at_end = released_slot(&self.control, &self.setup.slot()).await;
        self.runs.push(run);
        // The next run's records must be stamped after this one's end.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    /// SIGTERM; waits for exit code 0 and for the slot to be released.
    async fn stop(&mut self) {
        let (mut run, process) = self.current.take().expect("a running pipeline");
        let (gone, _log) = process.stop(Duration::from_secs(60));
        run.ended_ms = gone;
        run.label = "SIGTERM (graceful)".to_owned();
        run.confirmed_at_end = released_slot(&self.control, &self.setup.slot()).await;
        self.runs.push(run);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    /// Records delivered by the running process so far.
    fn delivered(&mut self) -> u64 {
        self.process().progress().unwrap_or_default().delivered
    }

    /// Waits until the running process delivered at least `n` records.
    async fn wait_delivered(&mut self, what: &str, n: u64) {
        self.process()
            .wait_progress(what, Duration::from_secs(300), |p| p.delivered >= n)
            .await;
    }

    /// Waits until the offset file records the snapshot as completed (the
    /// pipeline stores that before it converts anything of the stream).
    async fn wait_snapshot_done(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(300);
        while !self.setup.snapshot_completed() {
            self.process().assert_running();
            assert!(
                Instant::now() < deadline,
                "no completed snapshot in the offset file after 300 s; last progress {:?}",
                self.process().progress()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until everything committed so far is delivered: the snapshot
    /// completed and the slot confirmed the current WAL position.
    async fn drain(&mut self) {
        let end = wal_insert_lsn(&self.control).await;
        self.wait_snapshot_done().await;
        let slot = self.setup.slot();
        let control = &self.control;
        let process = &mut self.current.as_mut().expect("a running pipeline").1;
        wait_confirmed(control, &slot, end, Duration::from_secs(300), process).await;
    }

    /// Stops the last run gracefully, reads the topic back with librdkafka
    /// and checks it against `log` and the table.
    async fn finish(self, test: &str, log: &[Tx], began: Instant) -> Report {
        self.finish_with_records(test, log, began).await.0
    }

    /// [`finish`](Self::finish), also returning the records read.
    async fn finish_with_records(
        mut self,
        test: &str,
        log: &[Tx],
        began: Instant,
    ) -> (Report, Vec<Rec>) {
        let t = Instant::now();
        if self.current.is_some() {
            self.drain().await;
            self.stop().await;
        }
        let drained = t.elapsed();
        let table = table_state(&self.control).await;
        let bootstrap = self.setup.broker.bootstrap();
        let topic = self.setup.topic();
        let records = tokio::task::spawn_blocking(move || {
            faults_support::read_topic(&bootstrap, &topic, Duration::from_secs(600))
        })
        .await
        .unwrap();
        let read = t.elapsed() - drained;
        let report = check(&records, &self.runs, log, &table);
        eprintln!(
            "[{test}] {:.0}s (last drain {:.1}s, reading back {:.1}s), {} transactions ({} row \
             changes) committed: {}",
            began.elapsed().as_secs_f64(),
            drained.as_secs_f64(),
            read.as_secs_f64(),
            log.len(),
            log.iter().map(|t| t.ops.len()).sum::<usize>(),
            report.summary()
        );
        report.assert_clean(test);
        (report, records)
    }
}

/// Crash loop: a workload inserts, updates and deletes while the pipeline
/// process is SIGKILLed at least 10 times (mid-snapshot, right after records
/// reached the topic, in the middle of a 50,000-row transaction) and
/// restarted each time with its file offsets. Nothing is lost, nothing is out
/// of order per key, and every replay lies in the unacknowledged window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_loses_nothing_and_replays_only_the_unacknowledged_window() {
    let _serial = serial();
    let began = Instant::now();
    let mut rng = Rng::from_env("crash_loop");
    let prepopulated = scaled(50_000, 200_000);
    let streamed = scaled(60_000, 400_000) as u64;
    let big = 50_000;
    let min_kills = scaled(12, 40);
    let big_kill_at = scaled(5, 15);

    let setup = Setup::new(start_pg(), start_broker(), "crash", 3, &[]);
    let mut workload = Workload::new(
        setup.pg.connect(&setup.db).await.unwrap(),
        Rng::new(rng.next()),
        1,
    )
    .await;
    workload.big_tx(prepopulated).await;
    let mut h = Harness::new(setup).await;

    // The workload: random transactions at about `rate` row changes a second
    // until the kills are over and at least `streamed` row changes were made,
    // the big transaction when asked, paused while `hold` is set.
    let hold = Arc::new(AtomicBool::new(false));
    let big_wanted = Arc::new(AtomicBool::new(false));
    let big_xid = Arc::new(AtomicU64::new(0));
    let kills_over = Arc::new(AtomicBool::new(false));
    let task = {
        let (hold, big_wanted, big_xid, kills_over) = (
            Arc::clone(&hold),
            Arc::clone(&big_wanted),
            Arc::clone(&big_xid),
            Arc::clone(&kills_over),
        );
        let mut pace = Rng::new(rng.next());
        let first = workload.rows_written;
        let rate = scaled(3_000.0, 6_000.0);
        tokio::spawn(async move {
            let mut began = Instant::now();
            let mut done = first;
            loop {
                if big_wanted.swap(false, Ordering::SeqCst) {
                    workload.big_tx(big).await;
                    let xid = workload.log.last().unwrap().xid;
                    big_xid.store(u64::from(xid), Ordering::SeqCst);
                    continue;
                }
                if hold.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    began = Instant::now();
                    done = workload.rows_written;
                    continue;
                }
                if kills_over.load(Ordering::SeqCst) && workload.rows_written >= first + streamed {
                    break;
                }
                workload.random_tx().await;
                // About `rate` row changes a second.
                let ahead =
                    (workload.rows_written - done) as f64 / rate - began.elapsed().as_secs_f64();
                let pause = Duration::from_secs_f64(ahead.max(0.0)) + pace.millis(0, 10);
                tokio::time::sleep(pause).await;
            }
            workload
        })
    };

    // Kill 1: in the middle of the initial snapshot.
    h.start().await;
    let tenth = (prepopulated / 10) as u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while h.delivered() < tenth && !h.setup.snapshot_completed() {
        h.process().assert_running();
        assert!(
            Instant::now() < deadline,
            "no snapshot records within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    h.kill(if h.setup.snapshot_completed() {
        "after the snapshot (meant mid-snapshot)"
    } else {
        "mid-snapshot"
    })
    .await;

    let mut big_kill_run = None;
    while h.runs.len() < min_kills {
        h.start().await;
        h.wait_snapshot_done().await;
        if h.runs.len() == big_kill_at {
            // Let the pipeline catch up, then commit the big transaction and
            // kill while its records are being written.
            hold.store(true, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            h.drain().await;
            let before = h.delivered();
            big_wanted.store(true, Ordering::SeqCst);
            h.wait_delivered("a quarter of the big transaction", before + big as u64 / 4)
                .await;
            big_kill_run = Some(h.runs.len());
            h.kill("mid-transaction (50,000 rows)").await;
            hold.store(false, Ordering::SeqCst);
            continue;
        }
        // A random moment, right after records reached the topic (before the
        // next status update confirms them to PostgreSQL).
        tokio::time::sleep(rng.millis(300, 2500)).await;
        let seen = h.delivered();
        let waited = Instant::now();
        let mut label = "at a random moment (nothing new to deliver)";
        while waited.elapsed() < Duration::from_secs(3) {
            if h.delivered() > seen {
                label = "right after records reached the topic";
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        h.kill(label).await;
    }
    kills_over.store(true, Ordering::SeqCst);
    let workload = task.await.unwrap();
    h.start().await;
    let report = h.finish("crash_loop", &workload.log, began).await;

    assert!(report.kills >= min_kills, "only {} kills", report.kills);
    assert!(
        report.kills_with_unflushed_records > 0,
        "no kill happened between the broker's acknowledgement and the slot's confirmation"
    );
    assert_eq!(
        report.snapshot_attempts, 2,
        "the first kill interrupts the snapshot, the second run completes it and no later \
         run takes it again"
    );
    let big_xid = big_xid.load(Ordering::SeqCst) as u32;
    let killed = big_kill_run.unwrap();
    let (first, complete) = report.written_by(big_xid).unwrap();
    assert!(
        first <= killed && complete > killed,
        "the kill in run {killed} did not cut the big transaction (written in runs \
         {first}..={complete})"
    );
}

/// A crash right after the snapshot's records and the first streamed records
/// reached the topic — long before the periodic offset write
/// (`offset.flush.interval.ms`, 60 s by default) — resumes streaming from
/// the slot: the finished snapshot is not taken again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_right_after_the_snapshot_does_not_take_it_again() {
    let _serial = serial();
    let began = Instant::now();
    let rng = Rng::from_env("after_snapshot");
    let setup = Setup::new(start_pg(), start_broker(), "aftersnap", 3, &[]);
    let mut workload = Workload::new(setup.pg.connect(&setup.db).await.unwrap(), rng, 1).await;
    workload.big_tx(5_000).await;
    let mut h = Harness::new(setup).await;

    h.start().await;
    h.wait_snapshot_done().await;
    let snapshot = h.delivered();
    for _ in 0..5 {
        workload.random_tx().await;
    }
    h.wait_delivered("streamed records", snapshot + 1).await;
    h.kill("right after the first streamed records").await;

    h.start().await;
    for _ in 0..5 {
        workload.random_tx().await;
    }
    let report = h.finish("after_snapshot", &workload.log, began).await;
    assert_eq!(report.snapshot_attempts, 1, "the snapshot was taken again");
    assert_eq!(report.snapshot_rows_final, 5_000);
}

/// The broker (SQLite storage) is stopped for 15 s (30 s in soak mode) while
/// changes stream, then started again: the pipeline holds (nothing delivered,
/// the slot not confirmed further), keeps running, reconnects, sends what
/// was not delivered again in order and goes on; nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_outage_blocks_the_pipeline_and_loses_nothing() {
    let _serial = serial();
    let began = Instant::now();
    let mut rng = Rng::from_env("broker_outage");
    let outage = Duration::from_secs(scaled(15, 30));
    let setup = Setup::new(
        start_pg(),
        start_persistent_broker(),
        "outage",
        3,
        &[
            ("errors.retry.delay.max.ms", "2000"),
            ("request.timeout.ms", "5000"),
            ("delivery.timeout.ms", "10000"),
        ],
    );
    let mut workload = Workload::new(
        setup.pg.connect(&setup.db).await.unwrap(),
        Rng::new(rng.next()),
        1,
    )
    .await;
    workload.big_tx(2_000).await;
    let mut h = Harness::new(setup).await;
    h.start().await;
    h.drain().await;

    let stop = Arc::new(AtomicBool::new(false));
    let task = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                workload.small_tx().await;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            workload
        })
    };
    tokio::time::sleep(rng.millis(3_000, 5_000)).await;

    let out = Instant::now();
    tokio::task::block_in_place(|| h.setup.broker.stop().unwrap());
    // Whatever was in flight settles; then nothing moves until the broker is back.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = h.delivered();
    let confirmed = slot_state(&h.control, &h.setup.slot()).await.unwrap().0;
    tokio::time::sleep(outage.saturating_sub(out.elapsed())).await;
    h.process().assert_running();
    assert_eq!(
        h.delivered(),
        held,
        "records were delivered while the broker was down"
    );
    assert_eq!(
        slot_state(&h.control, &h.setup.slot()).await.unwrap().0,
        confirmed,
        "the slot was confirmed further while the broker was down"
    );
    tokio::task::block_in_place(|| h.setup.broker.restart().unwrap());
    let down = out.elapsed();
    h.wait_delivered("deliveries after the outage", held + 1)
        .await;
    let resumed = out.elapsed();

    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    let workload = task.await.unwrap();
    let report = h.finish("broker_outage", &workload.log, began).await;
    eprintln!(
        "[broker_outage] broker down {:.1}s, first delivery {:.1}s after it went down; \
         {} records sent again by the replaced sink",
        down.as_secs_f64(),
        resumed.as_secs_f64(),
        report.duplicates_same_run
    );
    assert_eq!(report.kills, 0);
    assert_eq!(report.duplicates, 0);
}

/// PostgreSQL cuts the replication connection (`pg_terminate_backend` of the
/// walsender, also in the middle of a 20,000-row transaction) and restarts
/// while changes stream: the pipeline process reconnects and resumes on its
/// own; nothing is lost and nothing is delivered twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarts_and_terminated_walsenders_lose_nothing() {
    let _serial = serial();
    let began = Instant::now();
    let mut rng = Rng::from_env("postgres_faults");
    let setup = Setup::new(start_pg(), start_broker(), "pgfault", 3, &[]);
    let mut workload = Workload::new(
        setup.pg.connect(&setup.db).await.unwrap(),
        Rng::new(rng.next()),
        1,
    )
    .await;
    workload.big_tx(2_000).await;
    let mut h = Harness::new(setup).await;
    h.start().await;
    h.drain().await;

    // The workload runs in its own task; `hold` pauses it, `paused` says it
    // is paused, a client put in `replacement` replaces its session.
    let hold = Arc::new(AtomicBool::new(false));
    let paused = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let big_wanted = Arc::new(AtomicBool::new(false));
    let replacement: Arc<Mutex<Option<tokio_postgres::Client>>> = Arc::new(Mutex::new(None));
    let task = {
        let (hold, paused, stop, big_wanted, replacement) = (
            Arc::clone(&hold),
            Arc::clone(&paused),
            Arc::clone(&stop),
            Arc::clone(&big_wanted),
            Arc::clone(&replacement),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                if hold.load(Ordering::SeqCst) {
                    paused.store(true, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                paused.store(false, Ordering::SeqCst);
                if let Some(client) = replacement.lock().await.take() {
                    workload.reconnect(client).await;
                }
                if big_wanted.swap(false, Ordering::SeqCst) {
                    workload.big_tx(20_000).await;
                    continue;
                }
                workload.random_tx().await;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            workload
        })
    };
    let terminate = async |h: &Harness| -> bool {
        let rows = h
            .control
            .query(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots \
                 WHERE slot_name = $1 AND active_pid IS NOT NULL",
                &[&h.setup.slot()],
            )
            .await
            .unwrap();
        rows.first().is_some_and(|r| r.get::<_, bool>(0))
    };

    // Walsender terminated at random moments.
    let mut terminations = 0;
    for _ in 0..3 {
        tokio::time::sleep(rng.millis(1_000, 3_000)).await;
        let before = h.delivered();
        h.wait_delivered("records", before + 1).await;
        terminations += u32::from(terminate(&h).await);
    }
    // ... and in the middle of a 20,000-row transaction.
    let before = h.delivered();
    big_wanted.store(true, Ordering::SeqCst);
    h.wait_delivered("part of the big transaction", before + 5_000)
        .await;
    terminations += u32::from(terminate(&h).await);
    tokio::time::sleep(rng.millis(1_000, 3_000)).await;

    // A server restart (fast shutdown) while records stream; the workload
    // waits it out and reconnects.
    big_wanted.store(true, Ordering::SeqCst);
    let before = h.delivered();
    h.wait_delivered("part of the second big transaction", before + 5_000)
        .await;
    hold.store(true, Ordering::SeqCst);
    while !paused.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let restart = Instant::now();
    tokio::task::block_in_place(|| h.setup.pg.restart().unwrap());
    let restart_took = restart.elapsed();
    h.reconnect().await;
    *replacement.lock().await = Some(h.setup.pg.connect(&h.setup.db).await.unwrap());
    hold.store(false, Ordering::SeqCst);
    tokio::time::sleep(rng.millis(2_000, 4_000)).await;
    h.process().assert_running();

    stop.store(true, Ordering::SeqCst);
    let workload = task.await.unwrap();
    let report = h.finish("postgres_faults", &workload.log, began).await;
    eprintln!(
        "[postgres_faults] {terminations} walsenders terminated, 1 server restart ({:.1}s)",
        restart_took.as_secs_f64()
    );
    assert!(
        terminations >= 3,
        "only {terminations} walsenders were terminated"
    );
    assert_eq!(report.kills, 0);
    assert_eq!(
        (report.duplicates, report.duplicates_same_run),
        (0, 0),
        "the source drops what the server replays after a reconnect"
    );
}

/// Transactions that stress positions: rows sharing one LSN (`COPY` writes
/// multi-insert records), transactions whose first change shares its LSN with
/// BEGIN, interleaved concurrent transactions committing in another order
/// than they began, a multi-row `INSERT … SELECT`, many deletes with their
/// tombstones — each followed by a restart right after its records reached the
/// topic (SIGKILL before the slot is confirmed, or SIGTERM), on a topic with
/// four partitions. Every run replays exactly the records the slot had not
/// confirmed when the previous one ended, and nothing else; nothing is
/// skipped.
///
/// Unlike the other fault tests, this one keeps its offsets in a Kafka topic
/// (`offset.storage.topic`) and runs a transform (`InsertHeader`), so records
/// take the record path (envelope → `ConnectRecord` → transforms → converter)
/// instead of the direct JSON path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_right_after_commits_replay_exactly_the_unconfirmed_window() {
    let _serial = serial();
    let began = Instant::now();
    let rng = Rng::from_env("commit_restarts");
    let setup = Setup::new(
        start_pg(),
        start_broker(),
        "commits",
        4,
        &[
            ("offset.storage.topic", "commits-offsets"),
            ("transforms", "mark"),
            (
                "transforms.mark.type",
                "org.apache.kafka.connect.transforms.InsertHeader",
            ),
            ("transforms.mark.header", "tidewater.path"),
            ("transforms.mark.value.literal", "record"),
        ],
    );
    let mut w = Workload::new(setup.pg.connect(&setup.db).await.unwrap(), rng, 1).await;
    w.big_tx(1_000).await;
    let mut h = Harness::new(setup).await;
    h.start().await;
    h.drain().await;

    // Each step commits, waits until its records reached the topic, then restarts.
    async fn restart_after(h: &mut Harness, before: u64, records: u64, kill: bool, what: &str) {
        h.wait_delivered(what, before + records).await;
        if kill {
            h.kill(&format!("right after {what}")).await;
        } else {
            h.stop().await;
        }
        h.start().await;
        h.drain().await;
    }

    // 1. COPY: 3,000 rows in multi-insert records (several rows per LSN).
    let first = w.next_id();
    let copy: Vec<String> = (first..first + 3_000)
        .map(|id| format!("{id}\t{}\tcopied", id % 97))
        .collect();
    let before = h.delivered();
    let copy_xid = copy_rows(&mut w, &h.setup, &copy).await;
    restart_after(&mut h, before, 3_000, true, "a COPY of 3,000 rows").await;

    // 2. Single-row transactions: each change shares its LSN with BEGIN.
    let before = h.delivered();
    for _ in 0..20 {
        let id = w.next_id();
        w.logged_tx(
            &[&format!("INSERT INTO items VALUES ({id}, 7, 'single')")],
            vec![Op::Insert { id, v: 7 }],
        )
        .await;
    }
    restart_after(&mut h, before, 20, true, "20 single-row transactions").await;

    // 3. Interleaved transactions on three sessions, committing C, A, B.
    let before = h.delivered();
    let n = interleaved(&mut w, &h.setup).await;
    restart_after(&mut h, before, n, false, "interleaved transactions").await;

    // 4. A multi-row INSERT … SELECT of 20,000 rows, killed while its records
    //    are being written.
    let before = h.delivered();
    w.big_tx(20_000).await;
    let insert_select = w.log.last().unwrap().xid;
    h.wait_delivered("part of the INSERT … SELECT", before + 2_000)
        .await;
    let cut = h.runs.len();
    h.kill("in the middle of an INSERT … SELECT").await;
    h.start().await;
    h.drain().await;

    // 5. One statement deleting every seventh row: deletes and tombstones.
    let doomed: Vec<i64> = w
        .client()
        .query("SELECT id FROM items WHERE id % 7 = 0", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let before = h.delivered();
    w.logged_tx(
        &["DELETE FROM items WHERE id % 7 = 0"],
        doomed.iter().map(|&id| Op::Delete { id }).collect(),
    )
    .await;
    restart_after(
        &mut h,
        before,
        2 * doomed.len() as u64,
        true,
        "deletes and their tombstones",
    )
    .await;

    // 6. Updates of the same rows in consecutive transactions.
    let before = h.delivered();
    for round in 0..10 {
        w.logged_tx(
            &[&format!(
                "UPDATE items SET v = {round} WHERE id IN (1, 2, 3)"
            )],
            (1..=3).map(|id| Op::Update { id, v: round }).collect(),
        )
        .await;
    }
    restart_after(&mut h, before, 30, true, "10 updates of the same rows").await;

    let runs = h.runs.len();
    let (report, records) = h
        .finish_with_records("commit_restarts", &w.log, began)
        .await;
    for i in 0..runs {
        let replays = report.runs[i + 1].1;
        assert_eq!(
            replays,
            report.window_at_end[i],
            "run {} replayed {replays} records, but {} were unconfirmed when run {i} ended",
            i + 1,
            report.window_at_end[i]
        );
    }
    assert!(report.duplicates > 0, "no kill left records to replay");
    // Every record went through the transform chain (the record path).
    let unmarked = records
        .iter()
        .filter(|r| {
            !r.headers
                .iter()
                .any(|(k, v)| k == "tidewater.path" && v.as_deref() == Some("record"))
        })
        .count();
    assert_eq!(
        unmarked, 0,
        "records without the InsertHeader transform's header"
    );
    // The COPY's rows really shared LSNs (multi-insert WAL records).
    let copy_lsns: std::collections::HashSet<u64> = records
        .iter()
        .filter_map(|r| {
            let v: serde_json::Value = serde_json::from_str(r.value.as_deref()?).ok()?;
            (v["source"]["txId"].as_u64() == Some(u64::from(copy_xid)))
                .then(|| v["source"]["lsn"].as_u64())
                .flatten()
        })
        .collect();
    eprintln!(
        "[commit_restarts] the COPY's 3,000 rows are on {} distinct LSNs",
        copy_lsns.len()
    );
    assert!(
        !copy_lsns.is_empty() && copy_lsns.len() < 3_000,
        "the COPY's 3,000 rows have {} distinct LSNs",
        copy_lsns.len()
    );
    let (first, complete) = report.written_by(insert_select).unwrap();
    assert!(
        first == cut && complete > cut,
        "the kill in run {cut} did not cut the INSERT … SELECT (written in runs {first}..={complete})"
    );
}

/// Rows as `COPY … FROM STDIN` text lines (`id\tv\tnote`), logged; returns
/// the transaction's xid.
async fn copy_rows(w: &mut Workload, setup: &Setup, lines: &[String]) -> u32 {
    let ops: Vec<Op> = lines
        .iter()
        .map(|l| {
            let mut parts = l.split('\t');
            let id = parts.next().unwrap().parse().unwrap();
            let v = parts.next().unwrap().parse().unwrap();
            Op::Insert { id, v }
        })
        .collect();
    let data = lines.join("\n");
    let script = format!(
        "BEGIN;\nSELECT txid_current() % 4294967296;\nCOPY items (id, v, note) FROM STDIN;\n\
         {data}\n\\.\nCOMMIT;\n"
    );
    let before = wal_insert_lsn(w.client()).await;
    let out = tokio::task::block_in_place(|| setup.pg.psql_db(&setup.db, &script).unwrap());
    let xid: u32 = out
        .lines()
        .find_map(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no xid in psql's output: {out}"));
    let after = wal_insert_lsn(w.client()).await;
    w.record(Tx {
        xid,
        ops,
        before,
        after,
    });
    xid
}

/// Three sessions interleave: A inserts, B inserts, C inserts and commits, A
/// updates its rows and commits, B deletes one of its rows and commits.
/// Returns the records they produce.
async fn interleaved(w: &mut Workload, setup: &Setup) -> u64 {
    let a = setup.pg.connect(&setup.db).await.unwrap();
    let b = setup.pg.connect(&setup.db).await.unwrap();
    let c = setup.pg.connect(&setup.db).await.unwrap();
    let base = w.next_id();
    let xid = async |s: &tokio_postgres::Client| -> u32 {
        s.batch_execute("BEGIN").await.unwrap();
        let x: i64 = s
            .query_one("SELECT txid_current()", &[])
            .await
            .unwrap()
            .get(0);
        (x & 0xffff_ffff) as u32
    };
    let before = wal_insert_lsn(w.client()).await;
    let (xa, xb, xc) = (xid(&a).await, xid(&b).await, xid(&c).await);
    let mut ops_a = Vec::new();
    let mut ops_b = Vec::new();
    let mut ops_c = Vec::new();
    for i in 0..100 {
        let (ia, ib, ic) = (base + i, base + 100 + i, base + 200 + i);
        a.batch_execute(&format!("INSERT INTO items VALUES ({ia}, 1, 'a')"))
            .await
            .unwrap();
        b.batch_execute(&format!("INSERT INTO items VALUES ({ib}, 2, 'b')"))
            .await
            .unwrap();
        c.batch_execute(&format!("INSERT INTO items VALUES ({ic}, 3, 'c')"))
            .await
            .unwrap();
        ops_a.push(Op::Insert { id: ia, v: 1 });
        ops_b.push(Op::Insert { id: ib, v: 2 });
        ops_c.push(Op::Insert { id: ic, v: 3 });
    }
    c.batch_execute("COMMIT").await.unwrap();
    let after_c = wal_insert_lsn(w.client()).await;
    for i in 0..100 {
        a.batch_execute(&format!("UPDATE items SET v = 11 WHERE id = {}", base + i))
            .await
            .unwrap();
        ops_a.push(Op::Update {
            id: base + i,
            v: 11,
        });
    }
    a.batch_execute("COMMIT").await.unwrap();
    let after_a = wal_insert_lsn(w.client()).await;
    b.batch_execute(&format!("DELETE FROM items WHERE id = {}", base + 100))
        .await
        .unwrap();
    ops_b.push(Op::Delete { id: base + 100 });
    b.batch_execute("COMMIT").await.unwrap();
    let after_b = wal_insert_lsn(w.client()).await;
    for (xid, ops, after) in [
        (xc, ops_c, after_c),
        (xa, ops_a, after_a),
        (xb, ops_b, after_b),
    ] {
        w.record(Tx {
            xid,
            ops,
            before,
            after,
        });
    }
    // 300 inserts, 100 updates, a delete and its tombstone.
    402
}

/// A single transaction of 300,000 rows (1,000,000 in soak mode) through the
/// pipeline process: its peak resident memory (VmHWM) stays under 100 MB and
/// does not grow with the transaction's size (compared with a 100,000-row
/// transaction, which already fills the queues).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_transaction_runs_in_bounded_memory() {
    let _serial = serial();
    let began = Instant::now();
    let rows = scaled(300_000, 1_000_000);
    // Large enough to fill the pipeline's queues: the peak is reached.
    let small = 100_000;
    let rng = Rng::from_env("huge_transaction");
    let setup = Setup::new(start_pg(), start_broker(), "huge", 3, &[]);
    let mut w = Workload::new(setup.pg.connect(&setup.db).await.unwrap(), rng, 1).await;
    let mut h = Harness::new(setup).await;

    let mut peaks = Vec::new();
    for n in [small, rows] {
        h.start().await;
        h.drain().await;
        let before = h.delivered();
        let started = Instant::now();
        w.big_tx(n).await;
        h.wait_delivered("the transaction", before + n as u64).await;
        let took = started.elapsed();
        let peak = h.process().peak_rss_kib();
        eprintln!(
            "[huge_transaction] {n} rows in one transaction: delivered in {:.1}s, peak RSS {:.1} MiB",
            took.as_secs_f64(),
            peak as f64 / 1024.0
        );
        peaks.push(peak);
        h.stop().await;
    }
    let report = h.finish("huge_transaction", &w.log, began).await;
    assert_eq!(report.events_checked, small + rows);
    let (small_peak, peak) = (peaks[0], peaks[1]);
    assert!(
        peak < 100 * 1024,
        "peak RSS {} KiB with a {rows}-row transaction",
        peak
    );
    assert!(
        peak < small_peak + 10 * 1024,
        "peak RSS grew from {small_peak} KiB ({small} rows) to {peak} KiB ({rows} rows)"
    );
}
