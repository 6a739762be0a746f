//! One task per partition: collects queued records into batches and produces them, one
//! request at a time, retrying until `delivery.timeout.ms`.
//!
//! ```text
//!  KafkaSink::send ──(seq, record, memory permit)──► channel ──► PartitionWorker
//!                                                                 │ batch: batch.size bytes
//!                                                                 │   or linger.ms elapsed
//!                                                                 │   or a flush marker
//!                                                                 ▼
//!                                           encoded once, handed to the leader's sender
//!                                           (sender.rs: one request for all partitions)
//!                                                                 │ retry with backoff on
//!                                                                 │ retriable errors, one
//!                                                                 │ batch in flight
//!                                                                 ▼
//!  KafkaSink::acknowledged / flush ◄──── completions (seqs, offsets | error) ◄──┘
//! ```
//!
//! Only one batch per partition is in flight, and a batch is retried until it
//! succeeds or fails for good before the next batch goes out, so records reach the partition
//! in the order they were sent. After a failure nothing more is produced anywhere (the
//! shared halt flag): the sink is failed and its caller resends from the last delivery.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rskafka::client::error::{Error as ClientError, ProtocolError, RequestError};
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::config::ProducerConfig;
use crate::error::SinkError;
use crate::record::{ProducerRecord, now_millis};

use super::batch;
use super::sender::Router;
use super::tracker::Completion;

/// Counters shared by a sink's partition tasks (see [`ProducerStats`](super::ProducerStats)).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) failed_requests: AtomicU64,
    pub(crate) records: AtomicU64,
    pub(crate) bytes: AtomicU64,
}

/// Fixed bytes of a record batch header, counted once per batch against `max.request.size`.
pub(crate) const BATCH_OVERHEAD: usize = 61;

/// A record waiting in a partition's queue.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) seq: u64,
    pub(crate) record: ProducerRecord,
    pub(crate) size: usize,
    pub(crate) enqueued: Instant,
}

/// What the sink sends a worker.
#[derive(Debug)]
pub(crate) enum WorkerMsg {
    /// Records of one `send` call for this partition, in order, with their share of
    /// `buffer.memory` (the sum of their sizes), returned batch by batch as they are done.
    Records {
        records: Vec<Queued>,
        memory: OwnedSemaphorePermit,
    },
    /// Send what is queued without waiting for `linger.ms`.
    Flush,
}

pub(crate) struct PartitionWorker {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: i32,
    pub(crate) router: Arc<Router>,
    pub(crate) config: Arc<ProducerConfig>,
    pub(crate) rx: UnboundedReceiver<WorkerMsg>,
    pub(crate) done: UnboundedSender<Completion>,
    /// Records from this sequence number on are not produced (set after a failure).
    pub(crate) halt_from: Arc<AtomicU64>,
    pub(crate) counters: Arc<Counters>,
    /// Records received and not yet in a batch, in send order.
    pub(crate) queue: VecDeque<Queued>,
    /// `buffer.memory` held by the records queued or in flight.
    pub(crate) memory: Option<OwnedSemaphorePermit>,
    /// A flush was asked for: batches go out without waiting for `linger.ms` until the
    /// queue is empty.
    pub(crate) flushing: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// Worth another attempt; `reconnect` drops the cached partition client.
    Retriable { reconnect: bool, message: String },
    /// Retrying cannot help.
    Fatal { code: String, message: String },
}

/// Descriptions of the broker errors a producer can meet, from the Kafka protocol's error
/// table (produce responses as rskafka decodes them carry no message of their own).
fn describe(code: ProtocolError) -> &'static str {
    match code {
        ProtocolError::MessageTooLarge => {
            "the request included a message larger than the max message size the server will accept"
        }
        ProtocolError::RecordListTooLarge => {
            "the request included a message batch larger than the configured segment size on the server"
        }
        ProtocolError::InvalidTopicException => {
            "the request attempted to perform an operation on an invalid topic"
        }
        ProtocolError::TopicAuthorizationFailed => "topic authorization failed",
        ProtocolError::ClusterAuthorizationFailed => "cluster authorization failed",
        ProtocolError::InvalidTimestamp => {
            "the timestamp of the message is out of acceptable range"
        }
        ProtocolError::InvalidRequiredAcks => {
            "produce request specified an invalid value for required acks"
        }
        ProtocolError::UnsupportedForMessageFormat => {
            "the message format version on the broker does not support the request"
        }
        ProtocolError::PolicyViolation => "request parameters do not satisfy the configured policy",
        ProtocolError::UnsupportedVersion => "the version of API is not supported",
        ProtocolError::CorruptMessage => {
            "the message contents does not match the message CRC or the message is otherwise corrupt"
        }
        ProtocolError::UnknownServerError => {
            "the server experienced an unexpected error when processing the request"
        }
        ProtocolError::SaslAuthenticationFailed => "SASL authentication failed",
        _ => "see the Kafka protocol's error codes",
    }
}

pub(crate) fn classify(error: &ClientError) -> Failure {
    let retriable = |reconnect: bool| Failure::Retriable {
        reconnect,
        message: error.to_string(),
    };
    match error {
        ClientError::Connection(_) | ClientError::RetryFailed(_) | ClientError::Timeout => {
            retriable(true)
        }
        ClientError::Request(request) => match request {
            RequestError::NoVersionMatch { .. }
            | RequestError::WriteError(_)
            | RequestError::WriteMessageError(_) => Failure::Fatal {
                code: "ClientRequestError".to_owned(),
                message: request.to_string(),
            },
            _ => retriable(true),
        },
        // "Could not find metadata for partition": stale metadata, or a partition that
        // is still being created.
        ClientError::InvalidResponse(_) => retriable(true),
        ClientError::ServerError {
            protocol_error,
            error_message,
            ..
        } => {
            let code = *protocol_error;
            match code {
                ProtocolError::NotLeaderOrFollower
                | ProtocolError::LeaderNotAvailable
                | ProtocolError::UnknownTopicOrPartition
                | ProtocolError::BrokerNotAvailable
                | ProtocolError::ReplicaNotAvailable
                | ProtocolError::NetworkException
                | ProtocolError::KafkaStorageError
                | ProtocolError::NotController => retriable(true),
                ProtocolError::RequestTimedOut
                | ProtocolError::NotEnoughReplicas
                | ProtocolError::NotEnoughReplicasAfterAppend
                | ProtocolError::CorruptMessage
                | ProtocolError::OffsetNotAvailable
                | ProtocolError::CoordinatorLoadInProgress
                | ProtocolError::CoordinatorNotAvailable
                | ProtocolError::NotCoordinator
                | ProtocolError::ConcurrentTransactions
                // Not retriable for the Java client, but brokers also return it for transient
                // trouble (tansu does when its storage is momentarily overloaded); retrying
                // within delivery.timeout.ms is safe here, since order is kept either way.
                | ProtocolError::UnknownServerError => retriable(false),
                _ => Failure::Fatal {
                    code: format!("{code:?}"),
                    message: error_message
                        .clone()
                        .unwrap_or_else(|| describe(code).to_owned()),
                },
            }
        }
        _ => retriable(true),
    }
}

impl PartitionWorker {
    pub(crate) async fn run(mut self) {
        loop {
            if self.queue.is_empty() {
                self.flushing = false;
                match self.rx.recv().await {
                    Some(msg) => self.take(msg),
                    None => return,
                }
                continue;
            }
            let mut batch = self.collect().await;
            // Records at or after a failure elsewhere are not produced: they will not be
            // reported, and the caller resends them.
            let halt_from = self.halt_from.load(Ordering::Acquire);
            let cut = batch.partition_point(|q| q.seq < halt_from);
            let halted = batch.split_off(cut);
            if !batch.is_empty() {
                let outcome = self.deliver(&batch).await;
                if outcome.is_err()
                    && let Some(first) = batch.first()
                {
                    self.halt_from.fetch_min(first.seq, Ordering::AcqRel);
                }
                self.report(batch, outcome);
            }
            if !halted.is_empty() {
                let error = self.halted_error();
                self.report(halted, Err(error));
            }
        }
    }

    /// Adds a message's records to the queue (or notes a flush).
    fn take(&mut self, msg: WorkerMsg) {
        match msg {
            WorkerMsg::Records { records, memory } => {
                self.queue.extend(records);
                match &mut self.memory {
                    Some(held) => held.merge(memory),
                    None => self.memory = Some(memory),
                }
            }
            WorkerMsg::Flush => self.flushing = true,
        }
    }

    fn halted_error(&self) -> SinkError {
        SinkError::Failed {
            cause: format!(
                "not produced to {}/{}: an earlier record failed",
                self.topic, self.partition
            ),
        }
    }

    /// Takes the next batch from the queue (which is not empty): up to `batch.size` bytes
    /// (never more than `max.request.size`), waiting for more records at most until
    /// `linger.ms` after the first was queued, or not at all once a flush was asked for.
    async fn collect(&mut self) -> Vec<Queued> {
        let batch_size = self.config.batch_size.max(1);
        let max_bytes = self
            .config
            .max_request_size
            .saturating_sub(BATCH_OVERHEAD)
            .max(1);
        let mut batch: Vec<Queued> = Vec::new();
        let mut bytes = 0usize;
        let mut linger: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
        loop {
            // Whatever is queued first.
            while let Some(next) = self.queue.front() {
                if bytes >= batch_size || (!batch.is_empty() && bytes + next.size > max_bytes) {
                    return batch;
                }
                bytes += next.size;
                if let Some(q) = self.queue.pop_front() {
                    batch.push(q);
                }
            }
            if bytes >= batch_size {
                return batch;
            }
            // Then whatever already arrived, without waiting.
            match self.rx.try_recv() {
                Ok(msg) => {
                    self.take(msg);
                    continue;
                }
                Err(TryRecvError::Disconnected) => return batch,
                Err(TryRecvError::Empty) if self.flushing => return batch,
                Err(TryRecvError::Empty) => {}
            }
            // Then wait for more until `linger.ms` after the batch's first record.
            let Some(first) = batch.first() else {
                return batch;
            };
            let sleep = linger.get_or_insert_with(|| {
                Box::pin(tokio::time::sleep_until(
                    first.enqueued + self.config.linger,
                ))
            });
            tokio::select! {
                biased;
                msg = self.rx.recv() => match msg {
                    Some(msg) => self.take(msg),
                    None => return batch,
                },
                () = sleep.as_mut() => return batch,
            }
        }
    }

    fn report(&mut self, batch: Vec<Queued>, outcome: Result<Vec<i64>, SinkError>) {
        let seqs = batch.iter().map(|q| q.seq).collect();
        let bytes: usize = batch.iter().map(|q| q.size).sum();
        let _ = self.done.send(Completion {
            topic: Arc::clone(&self.topic),
            partition: self.partition,
            seqs,
            outcome,
        });
        // The batch's memory is returned after its completion is queued.
        if let Some(held) = &mut self.memory {
            if bytes >= held.num_permits() {
                self.memory = None;
            } else {
                drop(held.split(bytes));
            }
        }
    }

    /// The batch as the broker gets it, encoded (and compressed) once for every attempt.
    fn encode(&self, batch: &[Queued]) -> Result<Bytes, SinkError> {
        batch::encode_compressed(
            batch.iter().map(|q| &q.record),
            now_millis(),
            self.config.compression,
        )
        .map_err(|e| SinkError::Broker {
            topic: Arc::clone(&self.topic),
            partition: self.partition,
            records: batch.len(),
            error: "CompressionFailed".to_owned(),
            message: format!("{} compression failed: {e}", self.config.compression),
        })
    }

    async fn deliver(&mut self, batch: &[Queued]) -> Result<Vec<i64>, SinkError> {
        let Some(first) = batch.first() else {
            return Ok(Vec::new());
        };
        let deadline = first.enqueued + self.config.delivery_timeout;
        let data = self.encode(batch)?;
        let mut backoff = self.config.retry_backoff;
        let mut attempts: u32 = 0;
        let mut last_error = String::from("no attempt made before the deadline");
        // The last error other than a timeout, which usually says more about the cause.
        let mut last_cause: Option<String> = None;
        loop {
            let now = Instant::now();
            if now >= deadline || attempts > self.config.retries {
                return Err(SinkError::DeliveryTimeout {
                    topic: Arc::clone(&self.topic),
                    partition: self.partition,
                    records: batch.len(),
                    attempts,
                    timeout: self.config.delivery_timeout,
                    last_error,
                });
            }
            attempts += 1;
            let limit = self.config.request_timeout.min(deadline - now);
            let attempt = self
                .router
                .produce(&self.topic, self.partition, data.clone());
            let failure = match tokio::time::timeout(limit, attempt).await {
                Ok(Ok(base_offset)) => {
                    let bytes: usize = batch.iter().map(|q| q.size).sum();
                    self.counters
                        .records
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    self.counters
                        .bytes
                        .fetch_add(bytes as u64, Ordering::Relaxed);
                    if attempts > 1 {
                        debug!(topic = %self.topic, partition = self.partition, attempts, "batch delivered after retries");
                    }
                    let offsets = (0..batch.len() as i64).map(|i| base_offset + i).collect();
                    return Ok(offsets);
                }
                Ok(Err(failure)) => {
                    if let Failure::Retriable { message, .. } = &failure {
                        last_cause = Some(message.clone());
                    }
                    failure
                }
                Err(_) => Failure::Retriable {
                    reconnect: true,
                    message: match &last_cause {
                        Some(cause) => format!(
                            "no answer within {} ms (earlier error: {cause})",
                            limit.as_millis()
                        ),
                        None => format!("no answer within {} ms", limit.as_millis()),
                    },
                },
            };
            match failure {
                Failure::Fatal { code, message } => {
                    return Err(SinkError::Broker {
                        topic: Arc::clone(&self.topic),
                        partition: self.partition,
                        records: batch.len(),
                        error: code,
                        message,
                    });
                }
                Failure::Retriable { reconnect, message } => {
                    warn!(
                        topic = %self.topic,
                        partition = self.partition,
                        attempt = attempts,
                        error = %message,
                        "produce failed; retrying"
                    );
                    last_error = message;
                    if reconnect {
                        self.router.forget_leaders(&self.topic);
                    }
                    let wait = backoff.min(deadline.saturating_duration_since(Instant::now()));
                    tokio::time::sleep(wait).await;
                    backoff = backoff
                        .saturating_mul(2)
                        .min(self.config.retry_backoff_max)
                        .max(Duration::from_millis(1));
                }
            }
        }
    }
}
