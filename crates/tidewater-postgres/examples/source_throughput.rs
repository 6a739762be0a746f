//! How fast `PostgresSource` drains a replication slot, next to `pg_recvlogical`
//! draining the same WAL, with wall time and CPU time of both ends.
//!
//! ```text
//! cargo run --release -p tidewater-postgres --example source_throughput
//! TIDEWATER_TP_ROWS=200000 TIDEWATER_TP_ROUNDS=3 \
//!   TIDEWATER_TP_VARIANTS=recv-unix,src-tcp,src-unix \
//!   cargo run --release -p tidewater-postgres --example source_throughput
//! ```
//!
//! Each round creates one slot per variant, commits the workload (rows of a
//! 10-column table in transactions of 10,000), drains a throwaway slot with
//! `pg_recvlogical` (the first decoding of fresh WAL costs the walsender more)
//! and then drains every slot to the workload's end, one variant after the
//! other (the order rotates per round).
//! The WAL is decoded by a walsender per slot; its CPU time is read from
//! `/proc/<pid>/stat` while it runs, ours from `/proc/self/stat`.
//!
//! Variants (comma-separated in `TIDEWATER_TP_VARIANTS`):
//!
//! | name | consumer | socket | options |
//! |---|---|---|---|
//! | `recv-unix` | `pg_recvlogical -f /dev/null` | Unix | `proto_version=1` |
//! | `recv-tcp` | `pg_recvlogical -f /dev/null` | TCP 127.0.0.1 | `proto_version=1` |
//! | `recv-unix-v3` | `pg_recvlogical -f /dev/null` | Unix | `proto_version=3, messages=true` (what the source asks for on PostgreSQL 15) |
//! | `src-tcp` | `PostgresSource` (batches drained, commits acknowledged) | TCP | defaults |
//! | `src-unix` | `PostgresSource` | Unix | defaults |
//! | `src-unix-v1` | `PostgresSource` | Unix | `pgoutput.protocol.version=1` |
//! | `src-unix-binary` | `PostgresSource` | Unix | `pgoutput.binary=true` |
//!
//! `TIDEWATER_TP_THREADS` sets the Tokio worker threads (default 2; 0 runs a
//! current-thread runtime). The source runs in a spawned task, as in a
//! pipeline; with `TIDEWATER_TP_BLOCK_ON` set it runs in `block_on` itself,
//! on a thread outside the runtime's workers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    reason = "benchmark harness"
)]

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tidewater_pgoutput::TransactionEvent;
use tidewater_postgres::{ChangeSource, PostgresSource, SourceConfig};
use tidewater_testkit::{PgCluster, throughput};

const DB: &str = "bench";
const PUBLICATION: &str = "bench_pub";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn schema(pg: &PgCluster) {
    throughput::create_orders_table(pg, DB, PUBLICATION).unwrap();
}

/// Inserts ids `first..first + rows` in transactions of 10,000; returns the WAL end.
fn workload(pg: &PgCluster, first: u64, rows: u64) -> String {
    throughput::insert_orders(pg, DB, first, rows).unwrap()
}

/// User + system CPU time of a process (or `self`), from /proc.
fn proc_cpu(pid: &str) -> Option<Duration> {
    throughput::process_cpu(pid)
}

/// Samples the CPU time of the walsender serving `slot` until stopped; keeps the
/// last reading (the process is gone once the stream ends).
struct WalsenderWatch {
    done: Arc<AtomicBool>,
    cpu_ms: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl WalsenderWatch {
    fn start(pg: &PgCluster, slot: &str) -> WalsenderWatch {
        let done = Arc::new(AtomicBool::new(false));
        let cpu_ms = Arc::new(AtomicU64::new(0));
        let query =
            format!("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '{slot}'");
        let mut psql = pg.client_command("psql").unwrap();
        psql.args(["-X", "-At", "-d", DB, "-c", &query]);
        let (d, c) = (Arc::clone(&done), Arc::clone(&cpu_ms));
        let thread = std::thread::spawn(move || {
            let mut pid = String::new();
            while !d.load(Ordering::Acquire) {
                if pid.is_empty() {
                    let out = psql.stderr(Stdio::null()).output().unwrap();
                    pid = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                    if pid.is_empty() {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                }
                if let Some(cpu) = proc_cpu(&pid) {
                    c.store(cpu.as_millis() as u64, Ordering::Release);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        WalsenderWatch {
            done,
            cpu_ms,
            thread,
        }
    }

    fn finish(self) -> Duration {
        self.done.store(true, Ordering::Release);
        self.thread.join().unwrap();
        Duration::from_millis(self.cpu_ms.load(Ordering::Acquire))
    }
}

struct Outcome {
    wall: Duration,
    walsender: Duration,
    consumer: Duration,
}

/// Busy CPU time of the whole machine (all cores), from /proc/stat.
fn machine_busy() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or_default();
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let busy: u64 = ticks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    Duration::from_millis(busy * 10)
}

fn recvlogical(pg: &PgCluster, slot: &str, end_lsn: &str, tcp: bool, v3: bool) -> Outcome {
    let mut cmd = pg.client_command("pg_recvlogical").unwrap();
    if tcp {
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
    ]);
    if v3 {
        cmd.args(["-o", "proto_version=3", "-o", "messages=true"]);
    } else {
        cmd.args(["-o", "proto_version=1"]);
    }
    cmd.arg("-o")
        .arg(format!("publication_names={PUBLICATION}"))
        .args(["--endpos", end_lsn]);
    let watch = WalsenderWatch::start(pg, slot);
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    // Read the child's CPU time just before reaping it.
    let pid = child.id().to_string();
    let mut consumer = Duration::ZERO;
    let status = loop {
        if let Some(cpu) = proc_cpu(&pid) {
            consumer = cpu;
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = start.elapsed();
    assert!(status.success(), "pg_recvlogical failed: {status}");
    Outcome {
        wall,
        walsender: watch.finish(),
        consumer,
    }
}

fn source_config(pg: &PgCluster, slot: &str, unix: bool, extra: &[(&str, &str)]) -> SourceConfig {
    let host = if unix {
        pg.socket_dir().to_string_lossy().into_owned()
    } else {
        pg.host().to_owned()
    };
    let mut props = vec![
        ("database.hostname".to_owned(), host),
        ("database.port".to_owned(), pg.port().to_string()),
        ("database.user".to_owned(), "postgres".to_owned()),
        ("database.dbname".to_owned(), DB.to_owned()),
        ("slot.name".to_owned(), slot.to_owned()),
        ("publication.name".to_owned(), PUBLICATION.to_owned()),
        (
            "publication.autocreate.mode".to_owned(),
            "disabled".to_owned(),
        ),
        ("snapshot.mode".to_owned(), "no_data".to_owned()),
    ];
    props.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    SourceConfig::from_properties(props).unwrap()
}

fn source(pg: &PgCluster, slot: &str, rows: u64, config: SourceConfig) -> Outcome {
    let threads: usize = env_or("TIDEWATER_TP_THREADS", 2);
    let runtime = if threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .unwrap()
    };
    let watch = WalsenderWatch::start(pg, slot);
    // In a task of its own, as a pipeline runs it: a future run by `block_on`
    // itself sits on a thread outside the runtime's workers, so every wake-up
    // by the I/O driver would cross threads.
    let consume = async move {
        let mut source = PostgresSource::start(config).await.unwrap();
        let cpu_before = proc_cpu("self").unwrap();
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
        let wall = start.elapsed();
        let consumer = proc_cpu("self").unwrap().saturating_sub(cpu_before);
        assert_eq!(changes, rows, "every change arrived");
        source.close().await.unwrap();
        (wall, consumer)
    };
    let (wall, consumer) = if std::env::var_os("TIDEWATER_TP_BLOCK_ON").is_some() {
        runtime.block_on(consume)
    } else {
        runtime
            .block_on(async { tokio::spawn(consume).await })
            .unwrap()
    };
    Outcome {
        wall,
        walsender: watch.finish(),
        consumer,
    }
}

/// The replication stream read, decoded and assembled in one task, without the
/// source around it: what a single thread does with our framing.
fn raw(pg: &PgCluster, slot: &str, rows: u64, config: SourceConfig) -> Outcome {
    use tidewater_pgoutput::{Decoder, FrameMessage, Lsn, TransactionAssembler};
    use tidewater_postgres::{ReplicationConnection, StartOptions};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let watch = WalsenderWatch::start(pg, slot);
    let (wall, consumer) = runtime.block_on(async {
        let conn = ReplicationConnection::connect(&config).await.unwrap();
        let mut options = StartOptions::new(PUBLICATION);
        options.protocol_version = 3;
        options.messages = true;
        let mut stream = conn
            .start_replication(slot, Lsn(0), &options)
            .await
            .unwrap();
        let cpu_before = proc_cpu("self").unwrap();
        let start = Instant::now();
        let mut decoder = Decoder::new();
        let mut assembler = TransactionAssembler::new();
        let mut out = Vec::new();
        let mut changes = 0u64;
        'outer: while let Some(frame) = stream.next_frame().await.unwrap() {
            if let Ok(FrameMessage::XLogData {
                wal_start, message, ..
            }) = decoder.decode_frame(&frame)
            {
                out.clear();
                assembler.process(wal_start, message, &mut out).unwrap();
                for event in &out {
                    match event {
                        TransactionEvent::Change(_) => changes += 1,
                        TransactionEvent::Commit(_) if changes >= rows => break 'outer,
                        _ => {}
                    }
                }
            }
        }
        let wall = start.elapsed();
        let consumer = proc_cpu("self").unwrap().saturating_sub(cpu_before);
        assert_eq!(changes, rows, "every change arrived");
        (wall, consumer)
    });
    Outcome {
        wall,
        walsender: watch.finish(),
        consumer,
    }
}

fn run(pg: &PgCluster, variant: &str, slot: &str, end_lsn: &str, rows: u64) -> Outcome {
    match variant {
        "recv-unix" => recvlogical(pg, slot, end_lsn, false, false),
        "recv-tcp" => recvlogical(pg, slot, end_lsn, true, false),
        "recv-unix-v3" => recvlogical(pg, slot, end_lsn, false, true),
        "src-tcp" => source(pg, slot, rows, source_config(pg, slot, false, &[])),
        "src-unix" => source(pg, slot, rows, source_config(pg, slot, true, &[])),
        "src-unix-v1" => source(
            pg,
            slot,
            rows,
            source_config(pg, slot, true, &[("pgoutput.protocol.version", "1")]),
        ),
        "src-unix-binary" => source(
            pg,
            slot,
            rows,
            source_config(pg, slot, true, &[("pgoutput.binary", "true")]),
        ),
        "raw-unix" => raw(pg, slot, rows, source_config(pg, slot, true, &[])),
        "raw-tcp" => raw(pg, slot, rows, source_config(pg, slot, false, &[])),
        other => panic!("unknown variant {other}"),
    }
}

/// Per variant: events/s, walsender CPU seconds, consumer CPU seconds per round.
#[derive(Default)]
struct Samples {
    variant: String,
    rates: Vec<f64>,
    walsender: Vec<f64>,
    consumer: Vec<f64>,
}

fn median(values: &mut [f64]) -> f64 {
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
    let rows: u64 = env_or("TIDEWATER_TP_ROWS", 1_000_000);
    let rounds: usize = env_or("TIDEWATER_TP_ROUNDS", 3);
    let variants: Vec<String> = std::env::var("TIDEWATER_TP_VARIANTS")
        .unwrap_or_else(|_| "recv-unix,recv-tcp,src-tcp,src-unix".to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let pg = PgCluster::builder().start().unwrap();
    println!(
        "PostgreSQL {} ({}), {rows} rows per round, {rounds} rounds",
        pg.server_version_num(),
        pg.bin_dir().display()
    );
    schema(&pg);
    let mut results: Vec<Samples> = variants
        .iter()
        .map(|v| Samples {
            variant: v.clone(),
            ..Samples::default()
        })
        .collect();
    for round in 0..rounds {
        for (i, _) in variants.iter().enumerate() {
            pg.create_logical_slot(DB, &format!("tp_{round}_{i}"), false)
                .unwrap();
        }
        pg.create_logical_slot(DB, &format!("tp_{round}_warmup"), false)
            .unwrap();
        let end_lsn = workload(&pg, 1 + round as u64 * rows, rows);
        // The first decoding of fresh WAL costs the walsender more than later
        // ones: a throwaway drain first, so every measured consumer meets the
        // same state.
        let warmup = format!("tp_{round}_warmup");
        recvlogical(&pg, &warmup, &end_lsn, false, false);
        pg.psql_db(DB, &format!("SELECT pg_drop_replication_slot('{warmup}')"))
            .unwrap();
        for k in 0..variants.len() {
            let i = (k + round) % variants.len();
            let variant = &variants[i];
            let slot = format!("tp_{round}_{i}");
            let busy_before = machine_busy();
            let outcome = run(&pg, variant, &slot, &end_lsn, rows);
            let busy = machine_busy().saturating_sub(busy_before);
            let others = busy
                .saturating_sub(outcome.walsender)
                .saturating_sub(outcome.consumer);
            let rate = rows as f64 / outcome.wall.as_secs_f64();
            println!(
                "round {round} {variant:>16}: {:>7.2?} wall, {rate:>8.0} events/s, walsender CPU {:>6.2?}, consumer CPU {:>6.2?}, rest of the machine {:>6.2?}",
                outcome.wall, outcome.walsender, outcome.consumer, others
            );
            let entry = &mut results[i];
            entry.rates.push(rate);
            entry.walsender.push(outcome.walsender.as_secs_f64());
            entry.consumer.push(outcome.consumer.as_secs_f64());
            pg.psql_db(DB, &format!("SELECT pg_drop_replication_slot('{slot}')"))
                .unwrap();
        }
    }
    println!("\nmedians over {rounds} rounds ({rows} row changes each):");
    println!(
        "{:>16} {:>10} {:>14} {:>14} {:>12}",
        "variant", "events/s", "walsender CPU", "consumer CPU", "walsender %"
    );
    for samples in &mut results {
        let variant = &samples.variant;
        let rate = median(&mut samples.rates);
        let w = median(&mut samples.walsender);
        let c = median(&mut samples.consumer);
        let wall = rows as f64 / rate;
        println!(
            "{variant:>16} {rate:>10.0} {w:>13.2}s {c:>13.2}s {:>11.0}%",
            100.0 * w / wall
        );
    }
}
