//! [`KafkaSink`]: the rskafka producer.

mod batch;
mod log;
mod sender;
mod tls;
mod tracker;
mod worker;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rskafka::BackoffConfig;
use rskafka::client::error::{Error as ClientError, ProtocolError};
use rskafka::client::{Client, ClientBuilder, Credentials, SaslConfig as WireSasl};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::config::{ProducerConfig, SaslMechanism};
use crate::error::{ConfigError, Result, SinkError};
use crate::partitioner::{StickyPartitioner, partition_for_key};
use crate::record::{Delivery, ProducerRecord, now_millis};
use crate::sink::Sink;
use sender::Router;
use tracker::{Completion, Tracker};
use worker::{BATCH_OVERHEAD, Counters, PartitionWorker, Queued, WorkerMsg};

pub use log::{LogRecord, TopicLog, TopicLogError};

/// How often a freshly created topic's metadata is polled until it shows up.
const TOPIC_POLL: Duration = Duration::from_millis(50);

/// How often `flush` checks, while waiting, that the partition tasks are alive.
const WORKER_CHECK: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct TopicState {
    partitions: i32,
    refreshed: Instant,
    sticky: StickyPartitioner,
}

#[derive(Debug)]
struct WorkerHandle {
    tx: UnboundedSender<WorkerMsg>,
    task: JoinHandle<()>,
}

/// Counters of a [`KafkaSink`]'s produce requests since it connected
/// ([`KafkaSink::stats`]).
///
/// A produce request carries at most one batch per partition, of every partition led by
/// the same broker that has one ready, so `records / requests` is the mean request the
/// broker received: with a steady stream it approaches the number of busy partitions times
/// `batch.size` divided by the record size; far below that, requests are paying for records
/// that `linger.ms` could have gathered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProducerStats {
    /// Produce requests sent, retries included (one request can carry several partitions'
    /// batches).
    pub requests: u64,
    /// Requests that failed as a whole or for at least one of their partitions (whose
    /// batches were retried, or failed the sink).
    pub failed_requests: u64,
    /// Records the broker acknowledged.
    pub records: u64,
    /// Their size as counted against `batch.size`
    /// ([`ProducerRecord::estimated_size`]).
    pub bytes: u64,
}

impl ProducerStats {
    /// Acknowledged records per successful request (0 before the first).
    pub fn records_per_request(&self) -> f64 {
        let succeeded = self.requests.saturating_sub(self.failed_requests);
        if succeeded == 0 {
            0.0
        } else {
            self.records as f64 / succeeded as f64
        }
    }
}

/// A [`Sink`] producing to Kafka with [rskafka](https://docs.rs/rskafka).
///
/// * One background task per partition batches records (`batch.size`, `linger.ms`), one
///   batch in flight per partition, so the partition's order is the send order even across
///   retries. One task per leader broker sends the batches that are ready, of every
///   partition, in one produce request (`acks=all`), one request in flight per broker.
/// * `buffer.memory` bounds the bytes queued or in flight; `send` waits for room (at most
///   `max.block.ms`).
/// * Retriable failures (connection loss, leader changes, timeouts, `NotEnoughReplicas`, …)
///   are retried with exponential backoff from `retry.backoff.ms` to `retry.backoff.max.ms`
///   until `delivery.timeout.ms`; other broker errors fail the sink at once with topic,
///   partition and the broker's error.
/// * Missing topics are created (`topic.creation.*`) unless disabled; partition counts are
///   re-read every `metadata.max.age.ms`.
///
/// Deliveries follow the [`Sink`] contract. Delivery is at least once: a request whose answer
/// was lost is sent again, which can write its records twice (in order).
///
/// Batches are encoded by this crate from the records' buffers, compressed or not: headers
/// are written in the order given, null values and repeated names included.
///
/// Needs a Tokio runtime (it spawns tasks); dropping the sink stops them, abandoning records
/// not yet delivered. Use [`close`](Self::close) to deliver them first.
#[derive(Debug)]
pub struct KafkaSink {
    config: Arc<ProducerConfig>,
    client: Arc<Client>,
    /// Hands encoded batches to one sender task per broker.
    router: Arc<Router>,
    topics: HashMap<Arc<str>, TopicState>,
    workers: HashMap<(Arc<str>, i32), WorkerHandle>,
    memory: Arc<Semaphore>,
    /// Records from this sequence number on are not produced (after a failure).
    halt_from: Arc<AtomicU64>,
    done_tx: UnboundedSender<Completion>,
    done_rx: UnboundedReceiver<Completion>,
    /// Deliveries in send order.
    tracker: Tracker,
    counters: Arc<Counters>,
}

fn wire_sasl(config: &ProducerConfig) -> Option<WireSasl> {
    let sasl = config.sasl.as_ref()?;
    if !config.security_protocol.uses_sasl() {
        return None;
    }
    let credentials = Credentials::new(sasl.username.clone(), sasl.password.clone());
    Some(match sasl.mechanism {
        SaslMechanism::Plain => WireSasl::Plain(credentials),
        SaslMechanism::ScramSha256 => WireSasl::ScramSha256(credentials),
        SaslMechanism::ScramSha512 => WireSasl::ScramSha512(credentials),
    })
}

fn client_error_message(error: &ClientError) -> String {
    match error {
        ClientError::ServerError {
            protocol_error,
            error_message: Some(message),
            ..
        } => format!("{protocol_error:?}: {message}"),
        ClientError::ServerError { protocol_error, .. } => format!("{protocol_error:?}"),
        other => other.to_string(),
    }
}

/// Topic configs as `name=value, ...` for logs and error messages.
fn describe_configs<'a>(configs: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    configs
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl KafkaSink {
    /// Connects to `bootstrap.servers` (waiting at most `max.block.ms`) and returns a sink.
    ///
    /// Fails with [`SinkError::Config`] for an invalid configuration (also one without
    /// brokers) or unreadable TLS files, and with [`SinkError::Connect`] when no broker
    /// answers in time.
    pub async fn connect(config: ProducerConfig) -> Result<Self> {
        config.validate()?;
        if !config.has_brokers() {
            return Err(ConfigError::Missing {
                key: "bootstrap.servers".to_owned(),
                reason: "the Kafka sink needs at least one broker".to_owned(),
            }
            .into());
        }
        let brokers = config.bootstrap_servers.join(",");
        // rskafka retries connection failures inside each call; bound those retries by
        // request.timeout.ms so that the producer's own retry loop sees the cause.
        let backoff = BackoffConfig {
            init_backoff: config.retry_backoff.max(Duration::from_millis(1)),
            max_backoff: config
                .retry_backoff_max
                .max(config.retry_backoff)
                .max(Duration::from_millis(2)),
            base: 2.0,
            deadline: Some(config.request_timeout),
        };
        let mut builder = ClientBuilder::new(config.bootstrap_servers.clone())
            .client_id(config.client_id.as_str())
            .backoff_config(backoff);
        if config.security_protocol.uses_tls() {
            builder = builder.tls_config(tls::client_config(&config.tls)?);
        }
        if let Some(sasl) = wire_sasl(&config) {
            builder = builder.sasl_config(sasl);
        }
        let client = match tokio::time::timeout(config.max_block, builder.build()).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                return Err(SinkError::Connect {
                    brokers,
                    timeout: config.max_block,
                    message: client_error_message(&e),
                });
            }
            Err(_) => {
                return Err(SinkError::Connect {
                    brokers,
                    timeout: config.max_block,
                    message: "no metadata answer".to_owned(),
                });
            }
        };
        info!(brokers = %brokers, client_id = %config.client_id, "connected to Kafka");
        let memory = Arc::new(Semaphore::new(config.buffer_memory));
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let client = Arc::new(client);
        let counters: Arc<Counters> = Arc::default();
        let router = Arc::new(Router::new(
            Arc::clone(&client),
            Arc::clone(&counters),
            config.request_timeout,
            config.max_request_size,
            config.max_in_flight,
        ));
        Ok(Self {
            config: Arc::new(config),
            client,
            router,
            topics: HashMap::new(),
            workers: HashMap::new(),
            memory,
            halt_from: Arc::new(AtomicU64::new(u64::MAX)),
            done_tx,
            done_rx,
            tracker: Tracker::default(),
            counters,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// The produce requests made so far and the records they carried.
    pub fn stats(&self) -> ProducerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ProducerStats {
            requests: get(&self.counters.requests),
            failed_requests: get(&self.counters.failed_requests),
            records: get(&self.counters.records),
            bytes: get(&self.counters.bytes),
        }
    }

    /// The number of partitions of `topic`, creating the topic if it is missing and topic
    /// creation is enabled.
    pub async fn partitions(&mut self, topic: &str) -> Result<i32> {
        let topic: Arc<str> = Arc::from(topic);
        self.topic_state(&topic).await.map(|t| t.partitions)
    }

    /// Delivers everything sent, then stops the background tasks. Returns the deliveries not
    /// yet returned.
    pub async fn close(mut self) -> Result<Vec<Delivery>> {
        self.flush().await
    }

    /// Re-reads the partition counts of every known topic (and of `wanted`); returns
    /// `wanted`'s count if it exists.
    async fn refresh_metadata(
        &mut self,
        wanted: &Arc<str>,
        timeout: Duration,
    ) -> Result<Option<i32>> {
        let listed = tokio::time::timeout(timeout, self.client.list_topics())
            .await
            .map_err(|_| SinkError::Metadata {
                topic: Arc::clone(wanted),
                message: format!("no answer within {} ms", timeout.as_millis()),
            })?
            .map_err(|e| SinkError::Metadata {
                topic: Arc::clone(wanted),
                message: client_error_message(&e),
            })?;
        let now = Instant::now();
        let mut found = None;
        for t in listed {
            let count = i32::try_from(t.partitions.len()).unwrap_or(i32::MAX);
            if *t.name == **wanted {
                found = Some(count);
            }
            if let Some(state) = self.topics.get_mut(t.name.as_str()) {
                if state.partitions != count {
                    info!(topic = %t.name, from = state.partitions, to = count, "partition count changed");
                }
                state.partitions = count;
                state.refreshed = now;
            }
        }
        Ok(found.filter(|&n| n > 0))
    }

    async fn create_topic(&mut self, topic: &Arc<str>) -> Result<i32> {
        let settings = self.config.topic_creation.settings_for(topic).clone();
        let configs = describe_configs(&settings.configs);
        let creation_error = |message: String| SinkError::TopicCreation {
            topic: Arc::clone(topic),
            partitions: settings.partitions,
            replication_factor: settings.replication_factor,
            message: if configs.is_empty() {
                message
            } else {
                format!("{message} (topic configs: {configs})")
            },
        };
        let controller = self
            .client
            .controller_client()
            .map_err(|e| creation_error(client_error_message(&e)))?;
        let timeout_ms = i32::try_from(self.config.request_timeout.as_millis()).unwrap_or(i32::MAX);
        let created = tokio::time::timeout(
            self.config.max_block,
            controller.create_topic_with_configs(
                topic.to_string(),
                settings.partitions,
                settings.replication_factor,
                settings.configs.clone().into_iter().collect(),
                timeout_ms,
            ),
        )
        .await
        .map_err(|_| creation_error("no answer within max.block.ms".to_owned()))?;
        match created {
            Ok(()) => info!(
                topic = %topic,
                partitions = settings.partitions,
                replication_factor = settings.replication_factor,
                configs = %configs,
                "created topic"
            ),
            // Someone else created it meanwhile: fine.
            Err(ClientError::ServerError {
                protocol_error: ProtocolError::TopicAlreadyExists,
                ..
            }) => debug!(topic = %topic, "topic already exists"),
            Err(e) => return Err(creation_error(client_error_message(&e))),
        }
        // Wait until the metadata shows it.
        let deadline = Instant::now() + self.config.max_block;
        loop {
            if let Some(n) = self.refresh_metadata(topic, self.config.max_block).await? {
                return Ok(n);
            }
            if Instant::now() >= deadline {
                return Err(creation_error(
                    "created, but absent from metadata until max.block.ms".to_owned(),
                ));
            }
            tokio::time::sleep(TOPIC_POLL).await;
        }
    }

    async fn topic_state(&mut self, topic: &Arc<str>) -> Result<&mut TopicState> {
        let known = self.topics.get(topic).map(|t| t.refreshed.elapsed());
        match known {
            Some(age) if age < self.config.metadata_max_age => {}
            Some(_) => {
                // A periodic refresh: on failure (the cluster may be unreachable for a while)
                // keep producing with the last known count, and try again after another
                // metadata.max.age.ms. The wait is bounded by request.timeout.ms.
                match self
                    .refresh_metadata(topic, self.config.request_timeout)
                    .await
                {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        warn!(topic = %topic, "topic absent from metadata; keeping its last partition count");
                    }
                    Err(e) => {
                        warn!(error = %e, "metadata refresh failed; keeping the last partition counts")
                    }
                }
                if let Some(state) = self.topics.get_mut(topic) {
                    state.refreshed = Instant::now();
                }
            }
            None => {
                let partitions = match self.refresh_metadata(topic, self.config.max_block).await? {
                    Some(n) => n,
                    None if self.config.topic_creation.enabled => self.create_topic(topic).await?,
                    None => {
                        return Err(SinkError::UnknownTopic {
                            topic: Arc::clone(topic),
                        });
                    }
                };
                self.topics.insert(
                    Arc::clone(topic),
                    TopicState {
                        partitions,
                        refreshed: Instant::now(),
                        sticky: StickyPartitioner::new(),
                    },
                );
            }
        }
        self.topics
            .get_mut(topic)
            .ok_or_else(|| SinkError::UnknownTopic {
                topic: Arc::clone(topic),
            })
    }

    fn check_record(&self, record: &ProducerRecord, size: usize) -> Result<()> {
        let invalid = |reason: String| SinkError::InvalidRecord {
            topic: Arc::clone(&record.topic),
            reason,
        };
        if size + BATCH_OVERHEAD > self.config.max_request_size {
            return Err(SinkError::RecordTooLarge {
                topic: Arc::clone(&record.topic),
                size: size + BATCH_OVERHEAD,
                limit: self.config.max_request_size,
                limit_key: "max.request.size",
            });
        }
        if size > self.config.buffer_memory {
            return Err(SinkError::RecordTooLarge {
                topic: Arc::clone(&record.topic),
                size,
                limit: self.config.buffer_memory,
                limit_key: "buffer.memory",
            });
        }
        if let Some(ts) = record.timestamp
            && rskafka::chrono::DateTime::from_timestamp_millis(ts).is_none()
        {
            return Err(invalid(format!("timestamp {ts} is out of range")));
        }
        Ok(())
    }

    fn worker(&mut self, topic: &Arc<str>, partition: i32) -> &UnboundedSender<WorkerMsg> {
        let key = (Arc::clone(topic), partition);
        let handle = self.workers.entry(key).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let worker = PartitionWorker {
                topic: Arc::clone(topic),
                partition,
                router: Arc::clone(&self.router),
                config: Arc::clone(&self.config),
                rx,
                done: self.done_tx.clone(),
                halt_from: Arc::clone(&self.halt_from),
                counters: Arc::clone(&self.counters),
                queue: VecDeque::new(),
                memory: None,
                flushing: false,
            };
            WorkerHandle {
                tx,
                task: tokio::spawn(worker.run()),
            }
        });
        &handle.tx
    }

    /// Records a failure found while sending: nothing from the current record on is
    /// produced; records queued before it are still delivered.
    fn fail(&mut self, error: SinkError) -> SinkError {
        self.halt_from
            .fetch_min(self.tracker.next_seq(), Ordering::AcqRel);
        self.tracker.fail_next(&error);
        error
    }

    fn drain_completions(&mut self) {
        while let Ok(completion) = self.done_rx.try_recv() {
            self.tracker.apply(completion);
        }
    }

    /// The partition count of `topic`, from the call's cache when the previous record had
    /// the same topic (the metadata age is checked once per topic and call).
    async fn partitions_for(&mut self, topic: &Arc<str>, outbox: &mut Outbox) -> Result<i32> {
        if let Some((cached, partitions)) = &outbox.topic
            && (Arc::ptr_eq(cached, topic) || **cached == **topic)
        {
            return Ok(*partitions);
        }
        let partitions = self.topic_state(topic).await?.partitions;
        outbox.topic = Some((Arc::clone(topic), partitions));
        Ok(partitions)
    }

    async fn send_one(&mut self, mut record: ProducerRecord, outbox: &mut Outbox) -> Result<()> {
        let size = record.estimated_size();
        self.check_record(&record, size)?;
        if record.timestamp.is_none() {
            record.timestamp = Some(outbox.timestamp);
        }
        let partitions = self.partitions_for(&record.topic, outbox).await?;
        let partition = match (record.partition, &record.key) {
            (Some(p), _) if (0..partitions).contains(&p) => p,
            (Some(p), _) => {
                return Err(SinkError::InvalidPartition {
                    topic: Arc::clone(&record.topic),
                    partition: p,
                    partitions,
                });
            }
            (None, Some(key)) => partition_for_key(key, partitions),
            (None, None) => {
                let batch_size = self.config.batch_size;
                let state = self.topic_state(&record.topic).await?;
                state.sticky.next(size, state.partitions, batch_size)
            }
        };
        record.partition = Some(partition);

        // buffer.memory: wait for room, at most max.block.ms.
        let permits = u32::try_from(size).unwrap_or(u32::MAX);
        let permit = match Arc::clone(&self.memory).try_acquire_many_owned(permits) {
            Ok(permit) => permit,
            Err(TryAcquireError::NoPermits) => {
                // Only the partition tasks free memory: hand them what this call holds
                // before waiting.
                self.dispatch(outbox)?;
                let waited = Instant::now();
                let permit = match tokio::time::timeout(
                    self.config.max_block,
                    Arc::clone(&self.memory).acquire_many_owned(permits),
                )
                .await
                {
                    Ok(Ok(permit)) => permit,
                    Ok(Err(_)) | Err(_) => {
                        return Err(SinkError::BufferExhausted {
                            buffer_memory: self.config.buffer_memory,
                            size,
                            waited: waited.elapsed(),
                        });
                    }
                };
                outbox.enqueued = Instant::now();
                permit
            }
            Err(TryAcquireError::Closed) => {
                return Err(SinkError::Failed {
                    cause: "the sink is closed".to_owned(),
                });
            }
        };

        let queued = Queued {
            seq: self.tracker.push(),
            record,
            size,
            enqueued: outbox.enqueued,
        };
        outbox.add(partition, queued, permit);
        Ok(())
    }

    /// Hands the records grouped in `outbox` to their partition tasks.
    fn dispatch(&mut self, outbox: &mut Outbox) -> Result<()> {
        for group in outbox.groups.drain(..) {
            let Group {
                topic,
                partition,
                records,
                memory,
            } = group;
            let first = records.first().map(|q| q.seq);
            let sent = self
                .worker(&topic, partition)
                .send(WorkerMsg::Records { records, memory });
            if sent.is_err() {
                // Those records are registered: they and everything after fail.
                let error = SinkError::Failed {
                    cause: format!("the task producing to {topic}/{partition} stopped"),
                };
                if let Some(seq) = first {
                    self.halt_from.fetch_min(seq, Ordering::AcqRel);
                    self.tracker.fail_at(seq, &error);
                }
                return Err(error);
            }
        }
        Ok(())
    }
}

/// The records of one `send` call, grouped by partition until they are handed to the
/// partition tasks (one channel message per partition and call rather than per record).
#[derive(Debug)]
struct Outbox {
    /// When the call queued its records (the start of `linger.ms` and
    /// `delivery.timeout.ms`).
    enqueued: Instant,
    /// The create timestamp of the call's records that have none (milliseconds since the
    /// Unix epoch), read once per call.
    timestamp: i64,
    groups: Vec<Group>,
    /// The previous record's topic and its partition count.
    topic: Option<(Arc<str>, i32)>,
}

#[derive(Debug)]
struct Group {
    topic: Arc<str>,
    partition: i32,
    records: Vec<Queued>,
    /// The records' share of `buffer.memory`.
    memory: OwnedSemaphorePermit,
}

impl Outbox {
    fn new() -> Self {
        Self {
            enqueued: Instant::now(),
            timestamp: now_millis(),
            groups: Vec::new(),
            topic: None,
        }
    }

    fn add(&mut self, partition: i32, queued: Queued, memory: OwnedSemaphorePermit) {
        let topic = &queued.record.topic;
        let found = self.groups.iter_mut().rev().find(|g| {
            g.partition == partition && (Arc::ptr_eq(&g.topic, topic) || *g.topic == **topic)
        });
        match found {
            Some(group) => {
                group.memory.merge(memory);
                group.records.push(queued);
            }
            None => self.groups.push(Group {
                topic: Arc::clone(topic),
                partition,
                records: vec![queued],
                memory,
            }),
        }
    }
}

impl Sink for KafkaSink {
    async fn send(&mut self, records: Vec<ProducerRecord>) -> Result<()> {
        self.drain_completions();
        self.tracker.check()?;
        let mut outbox = Outbox::new();
        let mut result = Ok(());
        for record in records {
            if let Err(error) = self.send_one(record, &mut outbox).await {
                result = Err(error);
                break;
            }
        }
        // The records queued before a failure still go out.
        match (self.dispatch(&mut outbox), result) {
            (Err(error), _) => Err(error),
            (Ok(()), Err(error)) => Err(self.fail(error)),
            (Ok(()), Ok(())) => Ok(()),
        }
    }

    fn acknowledged(&mut self) -> Vec<Delivery> {
        self.drain_completions();
        self.tracker.take_acknowledged()
    }

    /// Resolves when the acknowledged prefix can grow (answers of other partitions that
    /// complete records after a pending one are taken in without waking the caller), or
    /// when a batch failed.
    async fn progress(&mut self) {
        loop {
            if self.tracker.prefix_ready() {
                return;
            }
            // The channel stays open while the sink holds its sender: with nothing in
            // flight this waits, as it should.
            let Some(completion) = self.done_rx.recv().await else {
                return;
            };
            let failed = completion.outcome.is_err();
            self.tracker.apply(completion);
            if failed {
                return;
            }
        }
    }

    async fn flush(&mut self) -> Result<Vec<Delivery>> {
        for handle in self.workers.values() {
            let _ = handle.tx.send(WorkerMsg::Flush);
        }
        self.drain_completions();
        while self.tracker.awaiting() {
            // Workers only end when the sink drops them; one that ended earlier panicked,
            // and its records would never complete.
            let stopped = self
                .workers
                .iter()
                .find(|(_, handle)| handle.task.is_finished())
                .map(|((topic, partition), _)| format!("{topic}/{partition}"));
            if let Some(which) = stopped {
                let error = SinkError::Failed {
                    cause: format!("the task producing to {which} stopped unexpectedly"),
                };
                self.halt_from.store(0, Ordering::Release);
                return Err(self.fail(error));
            }
            match tokio::time::timeout(WORKER_CHECK, self.done_rx.recv()).await {
                Ok(Some(completion)) => self.tracker.apply(completion),
                Ok(None) => break,
                Err(_) => {}
            }
        }
        self.tracker.check()?;
        Ok(self.tracker.take_acknowledged())
    }
}

impl Drop for KafkaSink {
    fn drop(&mut self) {
        for handle in self.workers.values() {
            handle.task.abort();
        }
    }
}
