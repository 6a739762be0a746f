//! Support for the fault tests: the `postgres_to_kafka` example run as a
//! separate process (so it can be SIGKILLed), connector files, the slot's
//! confirmed position, a whole-topic reader on librdkafka, a logged
//! workload and the checker that judges what a consumer read.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers; a failed step fails the test, and not every test uses every helper"
)]

pub mod check;
pub mod workload;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use tidewater::Position;
use tidewater::pgoutput::Lsn;
use tidewater_testkit::{Broker, PgCluster};

/// `TIDEWATER_SOAK=1`: more rows, more kills, the 1,000,000-row transaction.
pub fn soak() -> bool {
    std::env::var("TIDEWATER_SOAK").is_ok_and(|v| v == "1")
}

/// One of two sizes, by mode.
pub fn scaled<T>(default: T, soak_value: T) -> T {
    if soak() { soak_value } else { default }
}

/// The fault tests run one at a time: each starts its own servers and a
/// pipeline process, and they measure timing and memory.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Milliseconds since the Unix epoch (the clock the producer stamps records with).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A small deterministic generator (xorshift64*), seeded from
/// `TIDEWATER_FAULT_SEED` or the clock; the seed is printed so a run can be
/// repeated.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn from_env(test: &str) -> Rng {
        let seed = std::env::var("TIDEWATER_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| now_ms() as u64 ^ u64::from(std::process::id()) << 32);
        eprintln!("[{test}] seed {seed} (TIDEWATER_FAULT_SEED={seed} repeats it)");
        Rng::new(seed)
    }

    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next() % (hi - lo)
        }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.range(lo, hi))
    }
}

/// The `postgres_to_kafka` example binary of this build (built once per test process,
/// see [`crate::common::example`]).
pub fn pipeline_binary() -> PathBuf {
    crate::common::example("postgres_to_kafka")
}

/// PostgreSQL for a fault test: keepalives every 1.5 s so idle positions are
/// confirmed quickly.
pub fn start_pg() -> PgCluster {
    PgCluster::builder()
        .setting("wal_sender_timeout", "3s")
        .setting("max_wal_size", "2GB")
        .start()
        .unwrap_or_else(|e| panic!("starting PostgreSQL for the fault test: {e}"))
}

/// A tansu broker in memory.
pub fn start_broker() -> Broker {
    Broker::start().unwrap_or_else(|e| panic!("starting the tansu broker for the fault test: {e}"))
}

/// A tansu broker on SQLite (survives a restart).
pub fn start_persistent_broker() -> Broker {
    Broker::start_persistent()
        .unwrap_or_else(|e| panic!("starting the SQLite tansu broker for the fault test: {e}"))
}

/// What a fault test runs the pipeline against.
pub struct Setup {
    pub pg: PgCluster,
    pub broker: Broker,
    pub db: String,
    pub name: String,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Setup {
    /// Database `db`, the given table DDL, and a connector file for `name`
    /// capturing `public.items` (JSON without schemas, position headers,
    /// `partitions` partitions per topic, file offsets) plus `extra`.
    pub fn new(
        pg: PgCluster,
        broker: Broker,
        name: &str,
        partitions: u32,
        extra: &[(&str, &str)],
    ) -> Setup {
        let db = format!("{name}_db");
        pg.create_database(&db).unwrap();
        pg.psql_db(
            &db,
            "CREATE TABLE items (id bigint PRIMARY KEY, v bigint NOT NULL, note text NOT NULL)",
        )
        .unwrap();
        let dir = tempfile::Builder::new()
            .prefix("tidewater-faults-")
            .tempdir()
            .unwrap();
        let offsets = dir.path().join("offsets.jsonl");
        let partitions = partitions.to_string();
        let mut config = Map::new();
        let mut set = |k: &str, v: &str| {
            config.insert(k.to_owned(), Value::String(v.to_owned()));
        };
        set(
            "connector.class",
            "io.debezium.connector.postgresql.PostgresConnector",
        );
        set("plugin.name", "pgoutput");
        set("database.hostname", pg.host());
        set("database.port", &pg.port().to_string());
        set("database.user", "postgres");
        set("database.dbname", &db);
        set("topic.prefix", name);
        set("slot.name", &format!("{name}_slot"));
        set("publication.name", &format!("{name}_pub"));
        set("publication.autocreate.mode", "filtered");
        set("table.include.list", "public.items");
        set("snapshot.mode", "initial");
        set("status.update.interval.ms", "1000");
        set(
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        );
        set("key.converter.schemas.enable", "false");
        set(
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        );
        set("value.converter.schemas.enable", "false");
        set("bootstrap.servers", &broker.bootstrap());
        set("topic.creation.default.partitions", &partitions);
        set("topic.creation.default.replication.factor", "1");
        if !extra.iter().any(|(k, _)| *k == "offset.storage.topic") {
            set(
                "offset.storage.file.filename",
                &offsets.display().to_string(),
            );
        }
        for (k, v) in extra {
            set(k, v);
        }
        let file = dir.path().join("connector.json");
        let doc = serde_json::json!({ "name": name, "config": config });
        std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
        Setup {
            pg,
            broker,
            db,
            name: name.to_owned(),
            dir,
            config: file,
        }
    }

    pub fn topic(&self) -> String {
        format!("{}.public.items", self.name)
    }

    pub fn slot(&self) -> String {
        format!("{}_slot", self.name)
    }

    /// The offset topic, when the connector stores its offsets in Kafka
    /// (`offset.storage.topic` among the extra keys) rather than in a file.
    pub fn offset_topic(&self) -> Option<String> {
        let text = std::fs::read_to_string(&self.config).ok()?;
        let doc: Value = serde_json::from_str(&text).ok()?;
        doc["config"]["offset.storage.topic"]
            .as_str()
            .map(str::to_owned)
    }

    /// Whether the stored offsets record a completed snapshot (Kafka Connect's
    /// format: `{"key": …, "value": {…, "snapshot_completed": true}}` in the
    /// file; the same value in the offset topic's last record, read by
    /// librdkafka).
    pub fn snapshot_completed(&self) -> bool {
        if let Some(topic) = self.offset_topic() {
            let Ok(records) = tidewater_testkit::kafka_consume(
                &self.broker.bootstrap(),
                &topic,
                100_000,
                Duration::from_secs(2),
            ) else {
                return false;
            };
            return records
                .iter()
                .rev()
                .find_map(|r| serde_json::from_slice::<Value>(r.value.as_deref()?).ok())
                .is_some_and(|v| v["snapshot_completed"] == Value::Bool(true));
        }
        let Ok(text) = std::fs::read_to_string(self.dir.path().join("offsets.jsonl")) else {
            return false;
        };
        text.lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Value>(l).ok())
            .is_some_and(|v| v["value"]["snapshot_completed"] == Value::Bool(true))
    }

    /// Starts a pipeline process on the connector file and waits until it runs.
    pub fn start_pipeline(&self) -> PipelineProcess {
        let mut p = PipelineProcess::start(&self.config);
        p.wait_ready(Duration::from_secs(60));
        p
    }

    /// Reads the whole topic with librdkafka.
    pub fn read_topic(&self) -> Vec<Rec> {
        read_topic(
            &self.broker.bootstrap(),
            &self.topic(),
            Duration::from_secs(300),
        )
    }
}

/// One `[progress]` line of the example.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub changes: u64,
    pub delivered: u64,
    pub snapshot_running: bool,
    pub snapshot_done: bool,
    pub acknowledged: Lsn,
}

impl Progress {
    fn parse(line: &str) -> Option<Progress> {
        let rest = line.strip_prefix("[progress] ")?;
        let (_, rest) = rest.split_once("s: ")?;
        let (changes, rest) = rest.split_once(" changes, ")?;
        let (delivered, rest) = rest.split_once(" records delivered")?;
        let acknowledged = rest.split_once("acknowledged ")?.1.split_once(',')?.0;
        Some(Progress {
            changes: changes.parse().ok()?,
            delivered: delivered.parse().ok()?,
            snapshot_running: rest.contains("snapshot running"),
            snapshot_done: rest.contains("snapshot done"),
            acknowledged: acknowledged.parse().ok()?,
        })
    }
}

/// The pipeline process: `postgres_to_kafka --config FILE --progress-interval 0.1`.
pub struct PipelineProcess {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    /// When it was started (ms since the epoch, taken before spawning).
    pub started_ms: i64,
}

impl PipelineProcess {
    pub fn start(config: &Path) -> PipelineProcess {
        let started_ms = now_ms();
        let mut child = Command::new(pipeline_binary())
            .arg("--config")
            .arg(config)
            .args(["--progress-interval", "0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting postgres_to_kafka: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let into = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                into.lock().unwrap().push(line);
            }
        });
        PipelineProcess {
            child,
            lines,
            reader: Some(reader),
            started_ms,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it printed on stderr except progress lines (and the last of those).
    pub fn log(&self) -> String {
        let lines = self.lines.lock().unwrap();
        let mut out: Vec<&str> = lines
            .iter()
            .filter(|l| !l.starts_with("[progress]"))
            .map(String::as_str)
            .collect();
        if let Some(last) = lines.iter().rev().find(|l| l.starts_with("[progress]")) {
            out.push(last);
        }
        out.join("\n")
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the "capturing …" line.
    pub fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self
                .lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("capturing "))
            {
                return;
            }
            if let Some(status) = self.exited() {
                panic!(
                    "postgres_to_kafka exited ({status}) before running:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "postgres_to_kafka did not start within {timeout:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last progress line, if any yet.
    pub fn progress(&self) -> Option<Progress> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .rev()
            .find(|l| l.starts_with("[progress]"))
            .and_then(|l| Progress::parse(l))
    }

    /// Fails the test when the process has exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.exited() {
            panic!(
                "postgres_to_kafka exited unexpectedly ({status}):\n{}",
                self.log()
            );
        }
    }

    /// Waits until a progress line satisfies `done`; returns it.
    pub async fn wait_progress(
        &mut self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&Progress) -> bool,
    ) -> Progress {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(p) = self.progress().filter(|p| done(p)) {
                return p;
            }
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "waited {timeout:?} for {what}; last progress {:?}\n{}",
                self.progress(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Peak resident set size (VmHWM) in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmHWM in /proc/{}/status", self.pid()))
    }

    /// SIGKILL; returns when it is gone, with the time (ms since the epoch)
    /// after which it wrote nothing more.
    pub fn kill(mut self) -> i64 {
        self.assert_running();
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let killed = now_ms();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        killed
    }

    /// SIGTERM, then waits for a graceful exit (code 0); returns the time it
    /// was gone and its log.
    pub fn stop(mut self, timeout: Duration) -> (i64, String) {
        self.assert_running();
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM {}", self.pid());
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.exited() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "postgres_to_kafka did not stop within {timeout:?} after SIGTERM:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let gone = now_ms();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let log = self.log();
        assert!(
            status.success(),
            "postgres_to_kafka stopped with {status}:\n{log}"
        );
        (gone, log)
    }
}

impl Drop for PipelineProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The slot's `confirmed_flush_lsn` and whether a walsender holds it; `None`
/// when the slot does not exist.
pub async fn slot_state(client: &tokio_postgres::Client, slot: &str) -> Option<(Lsn, bool)> {
    let row = client
        .query_opt(
            "SELECT (confirmed_flush_lsn - '0/0'::pg_lsn)::text, active \
             FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .unwrap()?;
    let lsn: Option<String> = row.get(0);
    let lsn = lsn.map_or(Lsn::INVALID, |l| Lsn(l.parse().unwrap()));
    Some((lsn, row.get(1)))
}

/// Waits until no walsender holds the slot (after the process holding it
/// died) and returns its final `confirmed_flush_lsn` (`None`: no slot).
pub async fn released_slot(client: &tokio_postgres::Client, slot: &str) -> Option<Lsn> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match slot_state(client, slot).await {
            None => return None,
            Some((lsn, false)) => return Some(lsn),
            Some((_, true)) => {
                assert!(
                    Instant::now() < deadline,
                    "slot {slot} still active 30 s after its pipeline died"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// The server's current WAL insert position.
pub async fn wal_insert_lsn(client: &tokio_postgres::Client) -> Lsn {
    let row = client
        .query_one(
            "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text",
            &[],
        )
        .await
        .unwrap();
    Lsn(row.get::<_, String>(0).parse().unwrap())
}

/// Waits until the slot confirmed `lsn` (everything before it delivered).
pub async fn wait_confirmed(
    client: &tokio_postgres::Client,
    slot: &str,
    lsn: Lsn,
    timeout: Duration,
    pipeline: &mut PipelineProcess,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let state = slot_state(client, slot).await;
        if state.is_some_and(|(c, _)| c >= lsn) {
            return;
        }
        pipeline.assert_running();
        assert!(
            Instant::now() < deadline,
            "slot {slot} did not confirm {lsn} within {timeout:?} (at {state:?}); last progress {:?}",
            pipeline.progress()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A record read back by librdkafka.
#[derive(Debug, Clone)]
pub struct Rec {
    pub partition: i32,
    pub offset: i64,
    /// The producer's create timestamp (ms since the epoch).
    pub ts: i64,
    pub key: Option<String>,
    pub value: Option<String>,
    pub position: Option<Position>,
    /// Every header: name and value (`None` for a null value).
    pub headers: Vec<(String, Option<String>)>,
}

/// Reads every record of `topic` (up to the high watermarks taken first) with
/// librdkafka, in partition and offset order.
pub fn read_topic(bootstrap: &str, topic: &str, timeout: Duration) -> Vec<Rec> {
    let python = tidewater_testkit::python().unwrap_or_else(|e| panic!("{e}"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("faults_support")
        .join("read_topic.py");
    let output = Command::new(python)
        .arg(script)
        .args(["--bootstrap", bootstrap, "--topic", topic])
        .args(["--timeout", &timeout.as_secs().to_string()])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "reading {topic} with librdkafka failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["tt"], "create", "not a create timestamp: {line}");
            let position = v["h"].as_array().and_then(|h| {
                h.iter().rev().find_map(|pair| {
                    (pair[0] == tidewater::POSITION_HEADER)
                        .then(|| pair[1].as_str().unwrap().parse::<Position>().unwrap())
                })
            });
            Rec {
                partition: v["p"].as_i64().unwrap() as i32,
                offset: v["o"].as_i64().unwrap(),
                ts: v["ts"].as_i64().unwrap(),
                key: v["k"].as_str().map(str::to_owned),
                value: v["v"].as_str().map(str::to_owned),
                position,
                headers: v["h"]
                    .as_array()
                    .map(|h| {
                        h.iter()
                            .map(|pair| {
                                (
                                    pair[0].as_str().unwrap().to_owned(),
                                    pair[1].as_str().map(str::to_owned),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// The table's rows: id → v.
pub async fn table_state(client: &tokio_postgres::Client) -> std::collections::HashMap<i64, i64> {
    client
        .query("SELECT id, v FROM items", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1)))
        .collect()
}
