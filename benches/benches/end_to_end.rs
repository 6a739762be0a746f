//! End to end: the same pre-generated WAL drained by `pg_recvlogical` (pgoutput to
//! /dev/null) and by Tidewater (to the local broker, and to a null sink).
//!
//! ```text
//! cargo bench -p tidewater-benches --bench end_to_end            # 1,000,000 row changes
//! TIDEWATER_E2E_ROWS=200000 cargo bench -p tidewater-benches --bench end_to_end
//! TIDEWATER_E2E_ROUNDS=1 TIDEWATER_E2E_PARTS=a,c0 cargo bench -p tidewater-benches --bench end_to_end
//! ```
//!
//! A harness of its own (not criterion's sampling loop): one measurement drains a
//! replication slot, and a slot can be drained once, so each run creates all its slots
//! before the workload, commits the workload, and then times each consumer from start
//! to the workload's end. The consumers, each on its own slot, in every round:
//!
//! * (a) `pg_recvlogical` with pgoutput (proto 1) to /dev/null, up to the end LSN;
//! * (c0) `PostgresSource` alone: change events decoded and assembled, acknowledged per
//!   commit, nothing built from them;
//! * (c) the `Pipeline` (source on the slot, Debezium's default envelope, Kafka's JSON
//!   converter for key and value, default runtime settings) to a null sink that
//!   acknowledges every record as soon as it is sent, with `schemas.enable` false and true;
//! * (b) the same to a tansu broker (memory storage, a fresh one per run) through
//!   `KafkaSink` with the producer's default settings, `schemas.enable` false and true.
//!
//! The pipeline's time ends when its metrics count every row delivered. For each run the
//! harness reports events/s, the ratio to (a) of the same round, and CPU time: ours (this
//! process, /proc/self/stat), the walsender's (/proc/<active_pid of the slot>/stat,
//! sampled every 10 ms until it exits), pg_recvlogical's and tansu's. `TIDEWATER_E2E_ROUNDS`
//! (default 3) repeats every consumer, interleaved, and the medians close the report;
//! `TIDEWATER_E2E_PARTS` (default `a,c0,c,b`; `c-off`, `c-on`, `b-off`, `b-on` for one
//! converter setting) picks the consumers. Every consumer reaches
//! PostgreSQL the same way: over the Unix socket, or with `TIDEWATER_E2E_SOCKET=tcp` over
//! TCP on 127.0.0.1 (over loopback TCP the walsender spends about twice the CPU per change).
//! Before the rounds, pg_recvlogical drains a warm-up slot (not counted): the first decoding
//! of fresh WAL costs the walsender more. `TIDEWATER_E2E_PRODUCER=key=value,...` adds
//! producer settings for (b), e.g. `batch.size=262144`. `TIDEWATER_E2E_WORKERS=n` runs
//! the source, the pipeline and the sink on a runtime of n worker threads (default: one per
//! core). Figures: docs/performance.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark harness"
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tidewater::connect::JsonConverterConfig;
use tidewater::envelope::EnvelopeConfig;
use tidewater::kafka::{Delivery, KafkaSink, ProducerConfig, ProducerRecord, Sink};
use tidewater::{Pipeline, RunSummary};
use tidewater_pgoutput::TransactionEvent;
use tidewater_postgres::{ChangeSource, PostgresSource, SourceConfig};
use tidewater_testkit::{Broker, PgCluster, throughput};

const DB: &str = "bench";
const PUBLICATION: &str = "bench_pub";

fn rows() -> u64 {
    std::env::var("TIDEWATER_E2E_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn rounds() -> usize {
    std::env::var("TIDEWATER_E2E_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1)
}

fn parts() -> Vec<String> {
    std::env::var("TIDEWATER_E2E_PARTS")
        .unwrap_or_else(|_| "a,c0,c,b".to_owned())
        .split(',')
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Producer settings for (b) beyond `bootstrap.servers`, from `TIDEWATER_E2E_PRODUCER`
/// (`key=value,key=value`; default: none, the producer's defaults).
fn producer_overrides() -> Vec<(String, String)> {
    std::env::var("TIDEWATER_E2E_PRODUCER")
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Worker threads of the runtime the source, the pipeline and the sink run on
/// (`TIDEWATER_E2E_WORKERS`; default: Tokio's, one per core).
fn workers() -> Option<usize> {
    std::env::var("TIDEWATER_E2E_WORKERS").ok().map(|v| {
        v.parse()
            .expect("TIDEWATER_E2E_WORKERS: a number of threads")
    })
}

/// Whether the consumers connect over the Unix socket (`TIDEWATER_E2E_SOCKET`, default
/// `unix`) rather than TCP (`tcp`).
fn unix_socket() -> bool {
    std::env::var("TIDEWATER_E2E_SOCKET").map_or(true, |v| v != "tcp")
}

fn schema(pg: &PgCluster) {
    throughput::create_orders_table(pg, DB, PUBLICATION).unwrap();
}

/// Inserts `rows` rows in transactions of 10,000 and returns the WAL end afterwards.
fn workload(pg: &PgCluster, first: u64, rows: u64) -> String {
    throughput::insert_orders(pg, DB, first, rows).unwrap()
}

fn proc_stat(pid: u32) -> Option<(Duration, char)> {
    throughput::process_cpu_and_state(&pid.to_string())
}

fn proc_cpu(pid: u32) -> Option<Duration> {
    proc_stat(pid).map(|(cpu, _)| cpu)
}

fn own_cpu() -> Duration {
    proc_cpu(std::process::id()).unwrap()
}

/// The pid of the tansu process listening on `port`.
fn tansu_pid(port: u16) -> Option<u32> {
    let needle = format!("127.0.0.1:{port}");
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline);
            (cmdline.contains("tansu") && cmdline.contains(&needle)).then_some(pid)
        })
}

/// Follows the walsender serving `slot`: waits for the slot to become active, then reads
/// the walsender's CPU time every 10 ms until the process exits (or `stop`); returns the
/// last reading.
fn watch_walsender(
    pg: &PgCluster,
    slot: &str,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Option<Duration>> {
    let mut psql = pg.client_command("psql").unwrap();
    psql.args(["-X", "-At", "-d", DB, "-c"]).arg(format!(
        "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '{slot}'"
    ));
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let pid = loop {
            let out = psql.output().ok()?;
            if let Ok(pid) = String::from_utf8_lossy(&out.stdout).trim().parse::<u32>() {
                break pid;
            }
            if Instant::now() > deadline || stop.load(Ordering::Acquire) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let mut last = None;
        while let Some((cpu, state)) = proc_stat(pid) {
            last = Some(cpu);
            if state == 'Z' || stop.load(Ordering::Acquire) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        last
    })
}

/// CPU time spent by each component during one run.
#[derive(Debug, Default, Clone, Copy)]
struct Cpu {
    ours: Duration,
    walsender: Option<Duration>,
    /// pg_recvlogical's, for (a).
    client: Option<Duration>,
    tansu: Option<Duration>,
}

/// One consumer's run.
#[derive(Debug, Clone)]
struct Run {
    part: &'static str,
    elapsed: Duration,
    events: u64,
    cpu: Cpu,
    note: String,
}

impl Run {
    fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// (a) pg_recvlogical with pgoutput to /dev/null, up to `end_lsn`.
fn recvlogical(pg: &PgCluster, slot: &str, end_lsn: &str, rows: u64) -> Run {
    let mut cmd = pg.client_command("pg_recvlogical").unwrap();
    if !unix_socket() {
        cmd.env("PGHOST", pg.host());
    }
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
    let stop = Arc::new(AtomicBool::new(false));
    let walsender = watch_walsender(pg, slot, Arc::clone(&stop));
    let ours = own_cpu();
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    // Its CPU time is readable until it is reaped: read it while it runs, and once more
    // as a zombie.
    let mut client = Duration::ZERO;
    let status = loop {
        if let Some((cpu, state)) = proc_stat(pid) {
            client = cpu;
            if state == 'Z' {
                break child.wait().unwrap();
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let ours = own_cpu() - ours;
    assert!(status.success(), "pg_recvlogical failed: {status}");
    let walsender = walsender.join().unwrap();
    stop.store(true, Ordering::Release);
    Run {
        part: "a",
        elapsed,
        events: rows,
        cpu: Cpu {
            ours,
            walsender,
            client: Some(client),
            tansu: None,
        },
        note: String::new(),
    }
}

/// Source configuration for an existing slot (stream only, no snapshot).
fn source_config(pg: &PgCluster, slot: &str) -> SourceConfig {
    let host = if unix_socket() {
        pg.socket_dir().to_string_lossy().into_owned()
    } else {
        pg.host().to_owned()
    };
    SourceConfig::from_properties([
        ("database.hostname", host),
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

/// (c0) The source alone: frames decoded and assembled into change events, acknowledged per
/// batch, nothing built from them.
async fn source_only(pg: &PgCluster, slot: &str, rows: u64) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let walsender = watch_walsender(pg, slot, Arc::clone(&stop));
    let mut source = PostgresSource::start(source_config(pg, slot))
        .await
        .unwrap();
    let ours = own_cpu();
    let start = Instant::now();
    // In a task of its own, as the pipeline's source stage: a future run by `block_on`
    // sits outside the runtime's worker threads, and every wake-up by the I/O driver
    // would cross threads.
    let (source, changes) = tokio::spawn(async move {
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
        (source, changes)
    })
    .await
    .unwrap();
    let elapsed = start.elapsed();
    let ours = own_cpu() - ours;
    source.close().await.unwrap();
    let walsender = tokio::task::spawn_blocking(move || walsender.join().unwrap())
        .await
        .unwrap();
    stop.store(true, Ordering::Release);
    assert_eq!(changes, rows, "the source saw every change");
    Run {
        part: "c0",
        elapsed,
        events: changes,
        cpu: Cpu {
            ours,
            walsender,
            client: None,
            tansu: None,
        },
        note: String::new(),
    }
}

/// A sink that acknowledges every record as soon as it is sent (and drops it).
#[derive(Debug, Default)]
struct NullSink {
    acknowledged: Vec<Delivery>,
    next_offset: i64,
}

impl Sink for NullSink {
    async fn send(&mut self, records: Vec<ProducerRecord>) -> tidewater::kafka::Result<()> {
        for record in records {
            self.acknowledged.push(Delivery {
                topic: record.topic,
                partition: 0,
                offset: self.next_offset,
            });
            self.next_offset += 1;
        }
        Ok(())
    }

    fn acknowledged(&mut self) -> Vec<Delivery> {
        std::mem::take(&mut self.acknowledged)
    }

    async fn flush(&mut self) -> tidewater::kafka::Result<Vec<Delivery>> {
        Ok(std::mem::take(&mut self.acknowledged))
    }
}

fn json(schemas: bool) -> JsonConverterConfig {
    JsonConverterConfig {
        schemas_enable: schemas,
        ..JsonConverterConfig::default()
    }
}

/// Runs the pipeline from `slot` into `sink` until every row is delivered; returns the time
/// from the start of the run, our CPU time meanwhile, and the run's summary.
async fn pipeline<K: Sink + 'static>(
    pg: &PgCluster,
    slot: &str,
    schemas: bool,
    sink: K,
    rows: u64,
) -> (Duration, Cpu, RunSummary, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let walsender = watch_walsender(pg, slot, Arc::clone(&stop));
    let pipeline = Pipeline::builder()
        .postgres(source_config(pg, slot))
        .envelope(EnvelopeConfig::new(slot, DB))
        .key_converter(json(schemas))
        .value_converter(json(schemas))
        .sink(sink)
        .build()
        .unwrap();
    let (token, metrics) = (pipeline.shutdown_token(), pipeline.metrics());
    let ours = own_cpu();
    let start = Instant::now();
    let run = tokio::spawn(pipeline.run());
    let mut bytes = 0;
    loop {
        let snapshot = metrics.snapshot();
        if snapshot.records_delivered >= rows {
            bytes = snapshot.bytes_delivered.max(bytes);
            break;
        }
        assert!(
            !run.is_finished(),
            "the pipeline stopped early: {:?}",
            run.await
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = start.elapsed();
    let ours = own_cpu() - ours;
    token.cancel();
    let summary = run.await.unwrap().unwrap();
    let walsender = tokio::task::spawn_blocking(move || walsender.join().unwrap())
        .await
        .unwrap();
    stop.store(true, Ordering::Release);
    assert_eq!(summary.records_delivered, rows, "{summary:?}");
    let cpu = Cpu {
        ours,
        walsender,
        client: None,
        tansu: None,
    };
    (elapsed, cpu, summary, bytes)
}

/// (c) The pipeline to the null sink.
async fn to_null(pg: &PgCluster, slot: &str, schemas: bool, rows: u64) -> Run {
    let (elapsed, cpu, summary, bytes) =
        pipeline(pg, slot, schemas, NullSink::default(), rows).await;
    Run {
        part: if schemas { "c/schemas" } else { "c" },
        elapsed,
        events: rows,
        cpu,
        note: format!(
            "{} B/record, direct JSON {}",
            bytes / rows.max(1),
            summary.direct_json
        ),
    }
}

/// (b) The pipeline to a fresh tansu broker through `KafkaSink` (producer defaults).
async fn to_kafka(pg: &PgCluster, slot: &str, schemas: bool, rows: u64) -> Run {
    let broker = tokio::task::spawn_blocking(|| Broker::start().expect("tansu starts"))
        .await
        .unwrap();
    let tansu = tansu_pid(broker.port()).expect("the tansu process");
    let mut props = vec![("bootstrap.servers".to_owned(), broker.bootstrap())];
    props.extend(producer_overrides());
    let config = ProducerConfig::from_properties(props).unwrap();
    let sink = KafkaSink::connect(config).await.unwrap();
    let tansu_before = proc_cpu(tansu).unwrap();
    // The stats are read through a second handle: the pipeline owns the sink.
    let stats = StatsSink::new(sink);
    let handle = stats.handle();
    let (elapsed, mut cpu, summary, bytes) = pipeline(pg, slot, schemas, stats, rows).await;
    cpu.tansu = proc_cpu(tansu).map(|t| t - tansu_before);
    let s = handle.lock().unwrap().unwrap_or_default();
    drop(broker);
    Run {
        part: if schemas { "b/schemas" } else { "b" },
        elapsed,
        events: rows,
        cpu,
        note: format!(
            "{} B/record, direct JSON {}, {} produce requests, {:.1} records/request",
            bytes / rows.max(1),
            summary.direct_json,
            s.requests,
            s.records_per_request(),
        ),
    }
}

type StatsHandle = Arc<std::sync::Mutex<Option<tidewater::kafka::ProducerStats>>>;

/// `KafkaSink` with its request counters copied out after every call.
struct StatsSink {
    inner: KafkaSink,
    stats: StatsHandle,
}

impl StatsSink {
    fn new(inner: KafkaSink) -> Self {
        Self {
            inner,
            stats: Arc::default(),
        }
    }

    fn handle(&self) -> StatsHandle {
        Arc::clone(&self.stats)
    }

    fn publish(&self) {
        *self.stats.lock().unwrap() = Some(self.inner.stats());
    }
}

impl Sink for StatsSink {
    async fn send(&mut self, records: Vec<ProducerRecord>) -> tidewater::kafka::Result<()> {
        self.inner.send(records).await
    }

    fn acknowledged(&mut self) -> Vec<Delivery> {
        let acknowledged = self.inner.acknowledged();
        self.publish();
        acknowledged
    }

    async fn flush(&mut self) -> tidewater::kafka::Result<Vec<Delivery>> {
        let flushed = self.inner.flush().await;
        self.publish();
        flushed
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_owned(), |d| format!("{:.2}", d.as_secs_f64()))
}

fn report(run: &Run, a_rate: Option<f64>) {
    let ratio = a_rate.map_or_else(String::new, |a| {
        format!(", ratio to (a) {:.2}", run.rate() / a)
    });
    println!(
        "({}) {} events in {:.2?} = {:.0} events/s{ratio}; CPU s: ours {}, walsender {}, pg_recvlogical {}, tansu {}{}{}",
        run.part,
        run.events,
        run.elapsed,
        run.rate(),
        secs(Some(run.cpu.ours)),
        secs(run.cpu.walsender),
        secs(run.cpu.client),
        secs(run.cpu.tansu),
        if run.note.is_empty() { "" } else { "; " },
        run.note,
    );
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: keep that cheap.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rows = rows();
    let rounds = rounds();
    let parts = parts();
    // Per round: (a), (c0), (c) twice, (b) twice; and the warm-up.
    let slots_needed = 6 * rounds + 4;
    let pg = PgCluster::builder()
        .setting("max_replication_slots", slots_needed.to_string())
        .setting("max_wal_senders", slots_needed.to_string())
        .start()
        .unwrap();
    schema(&pg);
    let slot = |part: &str, round: usize| format!("e2e_{part}_{round}");
    // In the order of TIDEWATER_E2E_PARTS.
    let kinds: Vec<&str> = parts
        .iter()
        .flat_map(|part| match part.as_str() {
            "a" => vec!["recvlogical"],
            "c0" => vec!["source"],
            "c" => vec!["null_off", "null_on"],
            "b" => vec!["kafka_off", "kafka_on"],
            "c-off" => vec!["null_off"],
            "c-on" => vec!["null_on"],
            "b-off" => vec!["kafka_off"],
            "b-on" => vec!["kafka_on"],
            other => panic!(
                "unknown part {other} in TIDEWATER_E2E_PARTS (a, c0, c, b, c-off, c-on, b-off, b-on)"
            ),
        })
        .collect();
    pg.create_logical_slot(DB, "e2e_warmup", false).unwrap();
    for round in 0..rounds {
        for kind in &kinds {
            pg.create_logical_slot(DB, &slot(kind, round), false)
                .unwrap();
        }
    }
    let started = Instant::now();
    let end_lsn = workload(&pg, 1, rows);
    eprintln!(
        "workload: {rows} rows committed in {:.1?}, WAL end {end_lsn}; {rounds} round(s) of {kinds:?}",
        started.elapsed()
    );
    // The first decoding of fresh WAL costs the walsender more than later ones (about
    // twice the CPU per change here): a throwaway drain first, so every measured consumer
    // meets the same state.
    let warmup = recvlogical(&pg, "e2e_warmup", &end_lsn, rows);
    println!(
        "(warm-up) pg_recvlogical: {:.0} events/s, walsender {} s CPU; load average {}",
        warmup.rate(),
        secs(warmup.cpu.walsender),
        load_average()
    );
    // Named, so that profiles tell our threads from tansu's (also Tokio's).
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers() {
        builder.worker_threads(n);
    }
    let runtime = builder
        .thread_name("tidewater-rt")
        .enable_all()
        .build()
        .unwrap();

    let mut all: BTreeMap<&'static str, Vec<Run>> = BTreeMap::new();
    let mut ratios: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    for round in 0..rounds {
        println!("-- round {} (load average {})", round + 1, load_average());
        let mut a_rate = None;
        for kind in &kinds {
            let slot = slot(kind, round);
            let run = match *kind {
                "recvlogical" => recvlogical(&pg, &slot, &end_lsn, rows),
                "source" => runtime.block_on(source_only(&pg, &slot, rows)),
                "null_off" => runtime.block_on(to_null(&pg, &slot, false, rows)),
                "null_on" => runtime.block_on(to_null(&pg, &slot, true, rows)),
                "kafka_off" => runtime.block_on(to_kafka(&pg, &slot, false, rows)),
                "kafka_on" => runtime.block_on(to_kafka(&pg, &slot, true, rows)),
                other => unreachable!("{other}"),
            };
            if run.part == "a" {
                a_rate = Some(run.rate());
            } else if let Some(a) = a_rate {
                ratios.entry(run.part).or_default().push(run.rate() / a);
            }
            report(&run, a_rate);
            all.entry(run.part).or_default().push(run);
        }
    }
    println!(
        "-- medians over {rounds} round(s), {rows} row changes; load average {}",
        load_average()
    );
    for (part, runs) in &all {
        let rate = median(runs.iter().map(Run::rate).collect());
        let per_mevent = |f: &dyn Fn(&Run) -> Option<Duration>| {
            let v: Vec<f64> = runs
                .iter()
                .filter_map(|r| f(r).map(|d| d.as_secs_f64() * 1e6 / r.events as f64))
                .collect();
            if v.is_empty() {
                "-".to_owned()
            } else {
                format!("{:.2}", median(v))
            }
        };
        let ratio = ratios.get(part).map_or_else(String::new, |r| {
            format!(", ratio to (a) {:.2}", median(r.clone()))
        });
        println!(
            "({part}) {rate:.0} events/s{ratio}; CPU µs/event: ours {}, walsender {}, pg_recvlogical {}, tansu {}",
            per_mevent(&|r| Some(r.cpu.ours)),
            per_mevent(&|r| r.cpu.walsender),
            per_mevent(&|r| r.cpu.client),
            per_mevent(&|r| r.cpu.tansu),
        );
    }
}
