//! Delivery guarantees of the pipeline on a real PostgreSQL: the slot's
//! confirmed position never passes an undelivered record (a sink that holds
//! deliveries back and fails on purpose), nothing is lost across a graceful
//! restart, a huge transaction streams through bounded queues, offsets record
//! snapshot progress, and idle captured tables do not hold WAL back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod pipeline_common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pipeline_common::{self as common, Shared, json, payload};
use tidewater::connect::JsonConverterConfig;
use tidewater::envelope::EnvelopeConfig;
use tidewater::kafka::{Delivery, KafkaSink, MemorySink, ProducerRecord, Sink, SinkError};
use tidewater::metrics::Queue;
use tidewater::offsets::{FileOffsetStore, OffsetStore, SnapshotState};
use tidewater::pgoutput::Lsn;
use tidewater::{Pipeline, PipelineError, Position, RuntimeSettings};
use tidewater_testkit::{Broker, PgCluster};

static PG: Shared<PgCluster> = Shared::new(common::start_pg);
static BROKER: Shared<Broker> = Shared::new(common::start_broker);

const WAIT: Duration = Duration::from_secs(60);

fn plain() -> JsonConverterConfig {
    JsonConverterConfig {
        schemas_enable: false,
        ..JsonConverterConfig::default()
    }
}

/// What the gated sinks of one test saw: per sink instance, the positions of
/// the records sent to it in order and how many of them it reported delivered.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    instances: Vec<Instance>,
    /// Deliveries the newest instance may report, in total.
    allowed: usize,
    /// Fail the next `send`.
    fail_next_send: bool,
}

#[derive(Default)]
struct Instance {
    sent: Vec<Position>,
    reported: usize,
    records: Option<MemorySink>,
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sink(self: &Arc<Self>) -> GatedSink {
        let inner = MemorySink::new().with_default_partitions(3);
        let mut state = self.lock();
        state.instances.push(Instance {
            records: Some(inner.clone()),
            ..Instance::default()
        });
        state.allowed = 0;
        GatedSink {
            inner,
            gate: Arc::clone(self),
            id: state.instances.len() - 1,
            pending: VecDeque::new(),
            failed: false,
        }
    }

    fn allow(&self, n: usize) {
        self.lock().allowed = n;
    }

    /// The commit LSN of the earliest transaction with a record no sink
    /// reported delivered; `None` when everything sent was delivered.
    fn first_undelivered(&self) -> Option<Lsn> {
        let state = self.lock();
        let delivered: BTreeSet<Position> = state
            .instances
            .iter()
            .flat_map(|i| i.sent.iter().take(i.reported).copied())
            .collect();
        state
            .instances
            .iter()
            .flat_map(|i| i.sent.iter())
            .filter(|p| !delivered.contains(p))
            .map(|p| p.commit_lsn)
            .min()
    }

    fn sent(&self, instance: usize) -> usize {
        self.lock()
            .instances
            .get(instance)
            .map_or(0, |i| i.sent.len())
    }
}

/// A sink over [`MemorySink`] that reports deliveries only as far as the
/// gate allows, and fails when told to.
struct GatedSink {
    inner: MemorySink,
    gate: Arc<Gate>,
    id: usize,
    pending: VecDeque<Delivery>,
    failed: bool,
}

impl GatedSink {
    fn take(&mut self) -> Vec<Delivery> {
        self.pending.extend(self.inner.acknowledged());
        let mut state = self.gate.lock();
        let newest = state.instances.len() - 1 == self.id;
        let allowed = state.allowed;
        let instance = &mut state.instances[self.id];
        let limit = if newest { allowed } else { instance.reported };
        let n = limit
            .saturating_sub(instance.reported)
            .min(self.pending.len());
        instance.reported += n;
        self.pending.drain(..n).collect()
    }
}

impl Sink for GatedSink {
    async fn send(&mut self, records: Vec<ProducerRecord>) -> Result<(), SinkError> {
        {
            let mut state = self.gate.lock();
            if self.failed || state.fail_next_send {
                state.fail_next_send = false;
                self.failed = true;
                return Err(SinkError::Failed {
                    cause: "failing on purpose".to_owned(),
                });
            }
            let positions = records.iter().map(|r| {
                r.headers
                    .iter()
                    .find(|h| h.key == tidewater::POSITION_HEADER)
                    .and_then(|h| h.value.as_deref())
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| v.parse::<Position>().ok())
                    .expect("position header")
            });
            state.instances[self.id].sent.extend(positions);
        }
        self.inner.send(records).await
    }

    fn acknowledged(&mut self) -> Vec<Delivery> {
        self.take()
    }

    async fn flush(&mut self) -> Result<Vec<Delivery>, SinkError> {
        let mut out = Vec::new();
        loop {
            if self.failed {
                return Err(SinkError::Failed {
                    cause: "failing on purpose".to_owned(),
                });
            }
            out.extend(self.take());
            let done = {
                let state = self.gate.lock();
                let instance = &state.instances[self.id];
                instance.reported == instance.sent.len()
            };
            if done {
                return Ok(out);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_confirmed_position_never_passes_an_undelivered_record() {
    let pg = PG.get();
    let db = common::fresh_db(&pg, "gate");
    let name = common::unique("gate");
    pg.psql_db(&db, "CREATE TABLE t (id int PRIMARY KEY);")
        .unwrap();
    let config = common::source_config(
        &pg,
        &db,
        &name,
        &[
            ("table.include.list", "public.t"),
            ("snapshot.mode", "no_data"),
        ],
    );
    let slot = config.slot_name.clone();
    let gate = Arc::new(Gate::default());
    let factory_gate = Arc::clone(&gate);
    let mut settings = RuntimeSettings::default();
    settings.retry_delay_max = Duration::from_millis(500);
    settings.retry_timeout = Some(Duration::from_secs(30));
    let pipeline = Pipeline::builder()
        .postgres(config)
        .envelope(EnvelopeConfig::new(name.as_str(), db.as_str()))
        .settings(settings)
        .sink(gate.sink())
        .sink_factory(move || {
            let gate = Arc::clone(&factory_gate);
            async move { Ok(gate.sink()) }
        })
        .build()
        .unwrap();
    let token = pipeline.shutdown_token();
    let run = tokio::spawn(pipeline.run());
    let client = pg.connect(&db).await.unwrap();
    common::eventually(WAIT, || async {
        let rows = client
            .query(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await
            .unwrap();
        (!rows.is_empty()).then_some(())
    })
    .await
    .expect("the slot");

    // Watch the slot all along: read its position first, then what is
    // undelivered, so a delivery in between can only loosen the bound.
    let violations = Arc::new(Mutex::new(Vec::new()));
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (gate, violations, watching) = (
            Arc::clone(&gate),
            Arc::clone(&violations),
            Arc::clone(&watching),
        );
        let client = pg.connect(&db).await.unwrap();
        let slot = slot.clone();
        tokio::spawn(async move {
            let mut checks = 0u32;
            while watching.load(Ordering::Relaxed) {
                let confirmed = common::confirmed_flush(&client, &slot).await;
                if let Some(bound) = gate.first_undelivered()
                    && confirmed > bound
                {
                    violations.lock().unwrap().push(format!(
                        "confirmed {confirmed} > undelivered commit {bound}"
                    ));
                }
                checks += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            checks
        })
    };

    // Ten transactions of three rows each.
    for tx in 0..10 {
        let first = tx * 3 + 1;
        client
            .batch_execute(&format!(
                "INSERT INTO t SELECT generate_series({first}, {})",
                first + 2
            ))
            .await
            .unwrap();
    }
    common::eventually(WAIT, || async { (gate.sent(0) == 30).then_some(()) })
        .await
        .expect("all 30 records sent");
    let commits: Vec<Lsn> = {
        let state = gate.lock();
        state.instances[0]
            .sent
            .chunks(3)
            .map(|c| c[0].commit_lsn)
            .collect()
    };
    let confirmed = || async { common::confirmed_flush(&client, &slot).await };
    let start = confirmed().await;
    assert!(start <= commits[0]);

    // Nothing, then part of the first transaction: the slot stays before it.
    for allowed in [0, 2] {
        gate.allow(allowed);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(confirmed().await <= commits[0]);
    }
    // The first transaction whole: the slot moves past its commit.
    gate.allow(3);
    common::eventually(WAIT, || async {
        (confirmed().await > commits[0]).then_some(())
    })
    .await
    .expect("the first transaction acknowledged");
    // Into the fourth: the first three acknowledged, the fourth not.
    gate.allow(10);
    common::eventually(WAIT, || async {
        (confirmed().await > commits[2]).then_some(())
    })
    .await
    .expect("three transactions acknowledged");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(confirmed().await <= commits[3]);

    // The sink fails: a new one gets the undelivered records again, in order.
    gate.lock().fail_next_send = true;
    client
        .batch_execute("INSERT INTO t SELECT generate_series(31, 33)")
        .await
        .unwrap();
    common::eventually(WAIT, || async { (gate.sent(1) == 23).then_some(()) })
        .await
        .expect("the replacement sink got the 20 undelivered records and 3 new ones");
    {
        let state = gate.lock();
        let resent: Vec<Position> = state.instances[1].sent.clone();
        assert_eq!(resent[..20], state.instances[0].sent[10..]);
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(confirmed().await <= commits[3]);
    gate.allow(23);
    let last_commit = gate.lock().instances[1].sent[22].commit_lsn;
    common::eventually(WAIT, || async {
        (confirmed().await > last_commit).then_some(())
    })
    .await
    .expect("everything acknowledged");

    token.cancel();
    let summary = run.await.unwrap().unwrap();
    watching.store(false, Ordering::Relaxed);
    let checks = watcher.await.unwrap();
    assert!(checks > 50, "{checks} checks");
    let violations = violations.lock().unwrap().clone();
    assert!(violations.is_empty(), "{violations:?}");
    assert_eq!(summary.sink_replacements, 1, "{summary:?}");

    // Every row reached a sink; duplicates only from the undelivered window.
    let mut ids = BTreeMap::<i64, usize>::new();
    for instance in &gate.lock().instances {
        for r in instance.records.as_ref().unwrap().records() {
            let id = payload(&json(r.record.value.as_deref()))["after"]["id"]
                .as_i64()
                .unwrap();
            *ids.entry(id).or_default() += 1;
        }
    }
    assert_eq!(
        ids.keys().copied().collect::<Vec<_>>(),
        (1..=33).collect::<Vec<_>>()
    );
    let twice: Vec<i64> = ids
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(twice, (11..=30).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_restart_loses_nothing() {
    let pg = PG.get();
    let broker = BROKER.get();
    let db = common::fresh_db(&pg, "restart");
    let name = common::unique("restart");
    pg.psql_db(&db, "CREATE TABLE t (id int PRIMARY KEY);")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let offsets_path = dir.path().join("offsets.json");
    let config = || {
        common::source_config(
            &pg,
            &db,
            &name,
            &[
                ("table.include.list", "public.t"),
                ("snapshot.mode", "no_data"),
            ],
        )
    };
    let slot = config().slot_name.clone();
    let bootstrap = broker.bootstrap();
    let mut settings = RuntimeSettings::default();
    settings.offset_flush_interval = Duration::from_millis(100);
    let pipeline = |settings: RuntimeSettings| {
        let config = config();
        let store = FileOffsetStore::new(&offsets_path, "restart", name.as_str());
        let bootstrap = bootstrap.clone();
        let envelope = EnvelopeConfig::new(name.as_str(), db.as_str());
        async move {
            Pipeline::builder()
                .postgres(config)
                .envelope(envelope)
                .key_converter(plain())
                .value_converter(plain())
                .settings(settings)
                .offset_store(store)
                .sink(
                    KafkaSink::connect(common::producer(&bootstrap))
                        .await
                        .unwrap(),
                )
                .build()
                .unwrap()
        }
    };

    let first = pipeline(settings.clone()).await;
    let (token, metrics) = (first.shutdown_token(), first.metrics());
    let run = tokio::spawn(first.run());
    let client = pg.connect(&db).await.unwrap();
    common::eventually(WAIT, || async {
        let rows = client
            .query(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await
            .unwrap();
        (!rows.is_empty()).then_some(())
    })
    .await
    .expect("the slot");
    // 3000 rows in transactions of ten, written while the pipeline restarts.
    let writer = {
        let client = pg.connect(&db).await.unwrap();
        tokio::spawn(async move {
            for tx in 0..300 {
                let first = tx * 10 + 1;
                client
                    .batch_execute(&format!(
                        "INSERT INTO t SELECT generate_series({first}, {})",
                        first + 9
                    ))
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        })
    };
    common::eventually(WAIT, || async {
        (metrics.snapshot().records_delivered >= 500).then_some(())
    })
    .await
    .expect("records flowing");
    token.cancel();
    let first_run = run.await.unwrap().unwrap();
    let acknowledged = first_run.acknowledged.expect("an acknowledged position");
    let stored = FileOffsetStore::new(&offsets_path, "restart", name.as_str())
        .load()
        .await
        .unwrap()
        .expect("an offset file");
    assert_eq!(stored.lsn, acknowledged);
    assert_eq!(first_run.records_delivered, first_run.records_sent);

    let second = pipeline(settings).await;
    let (token, metrics) = (second.shutdown_token(), second.metrics());
    let run = tokio::spawn(second.run());
    writer.await.unwrap();
    let total = first_run.records_delivered;
    common::eventually(WAIT, || async {
        (metrics.snapshot().records_delivered + total >= 3000).then_some(())
    })
    .await
    .expect("the rest delivered");
    token.cancel();
    let second_run = run.await.unwrap().unwrap();

    let n = (first_run.records_delivered + second_run.records_delivered) as usize;
    let records = common::consume(&broker.bootstrap(), &format!("{name}.public.t"), n, WAIT);
    let mut seen = BTreeMap::<i64, usize>::new();
    let first_count = first_run.records_delivered as usize;
    for (i, record) in records.iter().enumerate() {
        let id = json(record.value.as_deref())["after"]["id"]
            .as_i64()
            .unwrap();
        *seen.entry(id).or_default() += 1;
        if i >= first_count {
            // The second run starts after what the first acknowledged.
            let p = common::position(record);
            assert!(p.commit_lsn >= acknowledged, "{p} before {acknowledged}");
        }
    }
    assert_eq!(seen.len(), 3000);
    assert_eq!(seen.keys().next(), Some(&1));
    assert_eq!(seen.keys().last(), Some(&3000));
    // A graceful stop delivers and acknowledges everything read.
    assert!(
        seen.values().all(|&n| n == 1),
        "duplicates after a graceful stop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_transaction_streams_through_bounded_queues() {
    const ROWS: u64 = 200_000;
    const QUEUE: usize = 1000;
    let pg = PG.get();
    let broker = BROKER.get();
    let db = common::fresh_db(&pg, "huge");
    let name = common::unique("huge");
    pg.psql_db(&db, "CREATE TABLE big (id int PRIMARY KEY, pad text);")
        .unwrap();
    let config = common::source_config(
        &pg,
        &db,
        &name,
        &[
            ("table.include.list", "public.big"),
            ("snapshot.mode", "no_data"),
            ("max.queue.size", "1000"),
            ("max.batch.size", "200"),
        ],
    );
    let slot = config.slot_name.clone();
    let mut settings = RuntimeSettings::default();
    settings.max_queue_size = QUEUE;
    settings.max_batch_size = 200;
    settings.max_queue_size_in_bytes = 1 << 20;
    let pipeline = Pipeline::builder()
        .postgres(config)
        .envelope(EnvelopeConfig::new(name.as_str(), db.as_str()))
        .key_converter(plain())
        .value_converter(plain())
        .settings(settings)
        .sink(
            KafkaSink::connect(common::producer_with(&broker.bootstrap(), &[]))
                .await
                .unwrap(),
        )
        .build()
        .unwrap();
    let (token, metrics) = (pipeline.shutdown_token(), pipeline.metrics());
    let run = tokio::spawn(pipeline.run());
    let client = pg.connect(&db).await.unwrap();
    common::eventually(WAIT, || async {
        let rows = client
            .query(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await
            .unwrap();
        (!rows.is_empty()).then_some(())
    })
    .await
    .expect("the slot");

    let sampler = {
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let mut max = BTreeMap::<Queue, usize>::new();
            let mut streaming = false;
            loop {
                let s = metrics.snapshot();
                for (q, depth) in &s.queue_depths {
                    let m = max.entry(*q).or_default();
                    *m = (*m).max(*depth);
                }
                let seen = s.tables.get("public.big").map_or(0, |t| t.seen);
                // Records delivered while the transaction is still being read.
                streaming |= s.records_delivered > 0 && seen < ROWS;
                if s.records_delivered >= ROWS {
                    return (max, streaming);
                }

                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    client
        .batch_execute(&format!(
            "INSERT INTO big SELECT g, repeat('x', 40) FROM generate_series(1, {ROWS}) g"
        ))
        .await
        .unwrap();
    let (max, streaming) = tokio::time::timeout(Duration::from_secs(120), sampler)
        .await
        .expect("200,000 records delivered in time")
        .unwrap();
    token.cancel();
    let summary = run.await.unwrap().unwrap();
    assert_eq!(summary.records_delivered, ROWS, "{summary:?}");
    assert!(
        streaming,
        "nothing was delivered before the whole transaction was read"
    );
    for queue in [Queue::Source, Queue::Sink] {
        let depth = max.get(&queue).copied().unwrap_or(0);
        assert!(depth > 0, "{queue:?} never held anything: {max:?}");
        assert!(depth <= QUEUE, "{queue:?} held {depth} > {QUEUE}");
    }
    // librdkafka reads them all, the transaction's rows numbered in order.
    let read = common::count_topic(
        &broker.bootstrap(),
        &format!("{name}.public.big"),
        ROWS,
        Duration::from_secs(60),
    );
    assert_eq!(read.count, ROWS);
    let (first, first_position) = read.first.unwrap();
    let (last, last_position) = read.last.unwrap();
    assert_eq!(first["after"]["id"], 1);
    assert_eq!(last["after"]["id"], ROWS);
    assert_eq!(first_position.index, 0);
    assert_eq!(last_position.index, ROWS - 1);
    assert_eq!(first_position.commit_lsn, last_position.commit_lsn);
}

/// A sink that fails once it has taken `limit` records.
struct FailAfter {
    inner: MemorySink,
    limit: usize,
    taken: usize,
}

impl Sink for FailAfter {
    async fn send(&mut self, records: Vec<ProducerRecord>) -> Result<(), SinkError> {
        if self.taken + records.len() > self.limit {
            return Err(SinkError::Failed {
                cause: format!("refusing records past {}", self.limit),
            });
        }
        self.taken += records.len();
        self.inner.send(records).await
    }

    fn acknowledged(&mut self) -> Vec<Delivery> {
        self.inner.acknowledged()
    }

    async fn flush(&mut self) -> Result<Vec<Delivery>, SinkError> {
        self.inner.flush().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_keep_snapshot_progress_and_an_incomplete_snapshot_is_redone() {
    let pg = PG.get();
    let db = common::fresh_db(&pg, "offsets");
    let name = common::unique("offsets");
    pg.psql_db(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY);
         INSERT INTO t SELECT generate_series(1, 500);",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offsets.json");
    let store = || FileOffsetStore::new(&path, "offsets", name.as_str());
    let config = || {
        common::source_config(
            &pg,
            &db,
            &name,
            &[
                ("table.include.list", "public.t"),
                ("snapshot.fetch.size", "50"),
            ],
        )
    };
    let mut settings = RuntimeSettings::default();
    settings.max_batch_size = 50;
    settings.offset_flush_interval = Duration::from_millis(20);

    // The sink fails a fifth into the snapshot.
    let first = Pipeline::builder()
        .postgres(config())
        .envelope(EnvelopeConfig::new(name.as_str(), db.as_str()))
        .settings(settings.clone())
        .offset_store(store())
        .sink(FailAfter {
            inner: MemorySink::new(),
            limit: 100,
            taken: 0,
        })
        .build()
        .unwrap();
    let error = first.run().await.unwrap_err();
    assert!(matches!(error, PipelineError::Sink { .. }), "{error}");
    let offset = store().load().await.unwrap().expect("an offset");
    match offset.snapshot {
        SnapshotState::InProgress { rows_delivered } => {
            assert!(rows_delivered <= 100, "{rows_delivered}")
        }
        other => panic!("snapshot state {other:?}"),
    }

    // The next start takes the snapshot again, whole.
    let sink = MemorySink::new();
    let second = Pipeline::builder()
        .postgres(config())
        .envelope(EnvelopeConfig::new(name.as_str(), db.as_str()))
        .settings(settings)
        .offset_store(store())
        .sink(sink.clone())
        .build()
        .unwrap();
    let (token, metrics) = (second.shutdown_token(), second.metrics());
    let run = tokio::spawn(second.run());
    common::eventually(WAIT, || async {
        (metrics.snapshot().records_delivered >= 500).then_some(())
    })
    .await
    .expect("the snapshot redone");
    let completed = common::eventually(WAIT, || async {
        let o = store().load().await.unwrap()?;
        (o.snapshot == SnapshotState::Completed).then_some(o)
    })
    .await
    .expect("the snapshot recorded as completed");
    pg.psql_db(&db, "INSERT INTO t VALUES (501)").unwrap();
    common::eventually(WAIT, || async {
        (metrics.snapshot().records_delivered >= 501).then_some(())
    })
    .await
    .expect("streaming after the snapshot");
    token.cancel();
    let summary = run.await.unwrap().unwrap();
    let ids: BTreeSet<i64> = sink
        .records()
        .iter()
        .map(|r| {
            payload(&json(r.record.value.as_deref()))["after"]["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, (1..=501).collect());
    let last = store().load().await.unwrap().unwrap();
    assert_eq!(last.snapshot, SnapshotState::Completed);
    assert!(last.lsn > completed.lsn, "{last:?} after {completed:?}");
    assert!(last.lsn_commit.is_some() && last.tx_id.is_some() && last.ts_usec.is_some());
    assert_eq!(Some(last.lsn), summary.acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_run_and_idle_captured_tables_do_not_hold_the_slot() {
    let pg = PG.get();
    let db = common::fresh_db(&pg, "idle");
    let name = common::unique("idle");
    pg.psql_db(
        &db,
        "CREATE TABLE captured (id int PRIMARY KEY);
         CREATE TABLE other (id serial PRIMARY KEY, at timestamptz DEFAULT now());
         CREATE TABLE beats (at timestamptz DEFAULT now());
         INSERT INTO captured VALUES (1);",
    )
    .unwrap();
    let config = common::source_config(
        &pg,
        &db,
        &name,
        &[("table.include.list", "public.captured")],
    );
    let slot = config.slot_name.clone();
    let mut settings = RuntimeSettings::default();
    settings.heartbeat_interval = Some(Duration::from_millis(200));
    settings.heartbeat_action_query = Some("INSERT INTO beats DEFAULT VALUES".to_owned());
    let sink = MemorySink::new();
    let pipeline = Pipeline::builder()
        .postgres(config)
        .envelope(EnvelopeConfig::new(name.as_str(), db.as_str()))
        .settings(settings)
        .sink(sink.clone())
        .build()
        .unwrap();
    let (token, metrics) = (pipeline.shutdown_token(), pipeline.metrics());
    let run = tokio::spawn(pipeline.run());
    common::eventually(WAIT, || async {
        (metrics.snapshot().records_delivered >= 1).then_some(())
    })
    .await
    .expect("the snapshot row");
    let client = pg.connect(&db).await.unwrap();
    let start = common::confirmed_flush(&client, &slot).await;

    // Only a table outside the publication is written.
    let target: Lsn = {
        client
            .batch_execute("INSERT INTO other DEFAULT VALUES")
            .await
            .unwrap();
        let row = client
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .await
            .unwrap();
        row.get::<_, String>(0).parse().unwrap()
    };
    let advanced = common::eventually(Duration::from_secs(30), || async {
        client
            .batch_execute("INSERT INTO other DEFAULT VALUES")
            .await
            .unwrap();
        let confirmed = common::confirmed_flush(&client, &slot).await;
        (confirmed >= target).then_some(confirmed)
    })
    .await;
    assert!(
        advanced.is_some(),
        "confirmed_flush_lsn stayed at {} (started at {start}, target {target})",
        common::confirmed_flush(&client, &slot).await
    );
    let beats = common::eventually(Duration::from_secs(10), || async {
        let n: i64 = client
            .query_one("SELECT count(*) FROM beats", &[])
            .await
            .unwrap()
            .get(0);
        (n >= 2).then_some(n)
    })
    .await;
    token.cancel();
    let summary = run.await.unwrap().unwrap();
    assert!(
        beats.is_some(),
        "heartbeat.action.query did not run twice: {:?}",
        metrics.snapshot().errors
    );
    assert!(summary.heartbeats >= 2, "{summary:?}");
    let heartbeats = sink.records_for(&format!("__debezium-heartbeat.{name}"));
    assert_eq!(heartbeats.len() as u64, summary.heartbeats);
    assert!(
        heartbeats
            .iter()
            .all(|r| common::stored_position(r).is_none())
    );
    assert_eq!(
        sink.records_for(&format!("{name}.public.captured")).len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_gives_up_on_a_sink_that_never_delivers() {
    let pg = PG.get();
    let db = common::fresh_db(&pg, "stuck");
    let name = common::unique("stuck");
    pg.psql_db(&db, "CREATE TABLE t (id int PRIMARY KEY);")
        .unwrap();
    let config = common::source_config(
        &pg,
        &db,
        &name,
        &[
            ("table.include.list", "public.t"),
            ("snapshot.mode", "no_data"),
        ],
    );
    let slot = config.slot_name.clone();
    let mut settings = RuntimeSettings::default();
    // Room for only part of the rows: the convert stage ends up waiting.
    settings.max_queue_size = 100;
    settings.max_batch_size = 10;
    let sink = MemorySink::new();
    sink.pause();
    let pipeline = Pipeline::builder()
        .postgres(config)
        .envelope(EnvelopeConfig::new(name.as_str(), db.as_str()))
        .settings(settings)
        .sink(sink.clone())
        .shutdown_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let (token, metrics) = (pipeline.shutdown_token(), pipeline.metrics());
    let run = tokio::spawn(pipeline.run());
    let client = pg.connect(&db).await.unwrap();
    common::eventually(WAIT, || async {
        let rows = client
            .query(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await
            .unwrap();
        (!rows.is_empty()).then_some(())
    })
    .await
    .expect("the slot");
    let before = common::confirmed_flush(&client, &slot).await;
    client
        .batch_execute("INSERT INTO t SELECT generate_series(1, 500)")
        .await
        .unwrap();
    common::eventually(WAIT, || async {
        (metrics.snapshot().queue_depths.get(&Queue::Sink) == Some(&100)).then_some(())
    })
    .await
    .expect("the queue towards the sink fills up");
    let started = std::time::Instant::now();
    token.cancel();
    let summary = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the shutdown does not wait for the stuck sink")
        .unwrap()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(summary.records_delivered, 0, "{summary:?}");
    assert_eq!(summary.acknowledged, None);
    assert!(summary.records_sent >= 100, "{summary:?}");
    assert_eq!(common::confirmed_flush(&client, &slot).await, before);
}
