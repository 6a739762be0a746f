//! One task per broker: gathers the batches the partition tasks hand it into produce
//! requests spanning several partitions.
//!
//! ```text
//!  PartitionWorker ─┐  (batch, reply)                      one request: every batch
//!  PartitionWorker ─┼──────────────► BrokerSender(leader) ───────────────────────────► broker
//!  PartitionWorker ─┘                  waits for the answer, replies per partition
//! ```
//!
//! At most `max.in.flight.requests.per.connection` requests are in flight per broker (1 by
//! default, as Kafka Connect sets it). While they are, the batches of other partitions
//! queue up, and the next request carries all of them: the broker gets one request where it
//! would get one per partition, as with the Java client. Each partition task has at most
//! one batch out, so a partition's batches reach the broker in order whatever the number
//! of requests in flight.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rskafka::client::Client;
use rskafka::client::broker_producer::{BrokerProducer, EncodedBatch};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tracing::debug;

use super::worker::{Counters, Failure, classify};

/// What a partition task hands a broker's sender.
struct Submit {
    batch: EncodedBatch,
    reply: oneshot::Sender<Result<i64, Failure>>,
}

/// Finds partition leaders and hands batches to the sender of the leader's broker.
#[derive(Debug)]
pub(crate) struct Router {
    settings: SenderSettings,
    /// Partition → leader, per topic, from the last metadata answer.
    leaders: Mutex<HashMap<Arc<str>, BTreeMap<i32, i32>>>,
    senders: Mutex<HashMap<i32, UnboundedSender<Submit>>>,
}

impl std::fmt::Debug for Submit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submit")
            .field("topic", &self.batch.topic)
            .field("partition", &self.batch.partition)
            .finish_non_exhaustive()
    }
}

impl Router {
    pub(crate) fn new(
        client: Arc<Client>,
        counters: Arc<Counters>,
        request_timeout: Duration,
        max_request_size: usize,
        max_in_flight: usize,
    ) -> Self {
        Self {
            settings: SenderSettings {
                client,
                counters,
                request_timeout,
                max_request_size,
                max_in_flight: max_in_flight.max(1),
            },
            leaders: Mutex::default(),
            senders: Mutex::default(),
        }
    }

    /// Produces one encoded batch to `topic`/`partition`: the offset of its first record,
    /// or why it failed (one attempt).
    pub(crate) async fn produce(
        &self,
        topic: &Arc<str>,
        partition: i32,
        data: Bytes,
    ) -> Result<i64, Failure> {
        let leader = self.leader(topic, partition).await?;
        let (reply, answer) = oneshot::channel();
        let submit = Submit {
            batch: EncodedBatch {
                topic: topic.to_string(),
                partition,
                data,
            },
            reply,
        };
        self.sender(leader)
            .send(submit)
            .map_err(|_| Failure::Retriable {
                reconnect: true,
                message: format!("the sender for broker {leader} stopped"),
            })?;
        answer.await.unwrap_or_else(|_| {
            Err(Failure::Retriable {
                reconnect: true,
                message: format!("the sender for broker {leader} stopped"),
            })
        })
    }

    /// Forgets `topic`'s leaders: the next batch asks the cluster again.
    pub(crate) fn forget_leaders(&self, topic: &str) {
        if let Ok(mut leaders) = self.leaders.lock() {
            leaders.remove(topic);
        }
    }

    async fn leader(&self, topic: &Arc<str>, partition: i32) -> Result<i32, Failure> {
        let cached = self
            .leaders
            .lock()
            .ok()
            .and_then(|l| l.get(topic).map(|m| m.get(&partition).copied()));
        let leader = match cached {
            Some(leader) => leader,
            None => {
                let map = self
                    .settings
                    .client
                    .partition_leaders(topic)
                    .await
                    .map_err(|e| classify(&e))?;
                let leader = map.get(&partition).copied();
                if let Ok(mut leaders) = self.leaders.lock() {
                    leaders.insert(Arc::clone(topic), map);
                }
                leader
            }
        };
        match leader {
            Some(id) if id >= 0 => Ok(id),
            Some(_) => {
                self.forget_leaders(topic);
                Err(Failure::Retriable {
                    reconnect: true,
                    message: format!("partition {topic}/{partition} has no leader right now"),
                })
            }
            None => {
                self.forget_leaders(topic);
                Err(Failure::Retriable {
                    reconnect: true,
                    message: format!("partition {topic}/{partition} is not in the metadata yet"),
                })
            }
        }
    }

    fn sender(&self, broker: i32) -> UnboundedSender<Submit> {
        let mut senders = match self.senders.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(tx) = senders.get(&broker)
            && !tx.is_closed()
        {
            return tx.clone();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run_sender(broker, rx, self.settings.clone()));
        senders.insert(broker, tx.clone());
        tx
    }
}

/// What a broker's sender needs besides its queue.
#[derive(Debug, Clone)]
struct SenderSettings {
    client: Arc<Client>,
    counters: Arc<Counters>,
    request_timeout: Duration,
    /// `max.request.size`: batches are added to a request while they fit (a request holds
    /// at least one batch, which the partition task already kept within the limit).
    max_request_size: usize,
    /// `max.in.flight.requests.per.connection` (at least 1).
    max_in_flight: usize,
}

/// How a request ended, for the sender's bookkeeping (the partitions have their answers).
enum Ended {
    Answered {
        throttle: Option<Duration>,
    },
    /// The connection failed or gave no answer in time: it is replaced, unless a newer
    /// one already was.
    ConnectionLost {
        generation: u64,
    },
}

/// The task of one broker: until every handle to its queue is gone, takes what is queued,
/// sends as much of it as fits in one request while fewer than `max_in_flight` requests are
/// out, and answers each partition.
async fn run_sender(broker: i32, mut rx: UnboundedReceiver<Submit>, settings: SenderSettings) {
    let mut producer: Option<(Arc<BrokerProducer>, u64)> = None;
    let mut generation = 0u64;
    let mut pending: Vec<Submit> = Vec::new();
    let mut in_flight: JoinSet<Ended> = JoinSet::new();
    loop {
        if pending.is_empty() && in_flight.is_empty() {
            match rx.recv().await {
                Some(first) => pending.push(first),
                None => return,
            }
            // The other partitions answered by the last request are usually about to hand
            // in their next batch: let them run before the request is closed.
            tokio::task::yield_now().await;
        }
        while let Ok(more) = rx.try_recv() {
            pending.push(more);
        }
        // A partition task that gave up waiting (its attempt timed out) has resent or
        // failed its batch by now; what it left here must not be written again.
        pending.retain(|s| !s.reply.is_closed());

        while in_flight.len() < settings.max_in_flight && !pending.is_empty() {
            let mut size = 0usize;
            let fits = pending
                .iter()
                .enumerate()
                .take_while(|(i, s)| {
                    size = size.saturating_add(s.batch.data.len());
                    *i == 0 || size <= settings.max_request_size
                })
                .count();
            let sending: Vec<Submit> = pending.drain(..fits).collect();
            let (connection, conn_generation) = match &producer {
                Some((p, g)) => (Arc::clone(p), *g),
                None => match settings.client.broker_producer(broker).await {
                    Ok(p) => {
                        generation += 1;
                        let p = Arc::new(p);
                        producer = Some((Arc::clone(&p), generation));
                        (p, generation)
                    }
                    Err(e) => {
                        let failure = classify(&e);
                        for submit in sending {
                            let _ = submit.reply.send(Err(failure.clone()));
                        }
                        continue;
                    }
                },
            };
            settings.counters.requests.fetch_add(1, Ordering::Relaxed);
            in_flight.spawn(send_request(
                broker,
                connection,
                conn_generation,
                sending,
                settings.clone(),
            ));
        }

        tokio::select! {
            Some(ended) = in_flight.join_next(), if !in_flight.is_empty() => match ended {
                Ok(Ended::Answered { throttle: Some(wait) }) => {
                    debug!(broker, ?wait, "the broker throttles produce requests");
                    tokio::time::sleep(wait).await;
                }
                Ok(Ended::Answered { throttle: None }) => {}
                Ok(Ended::ConnectionLost { generation: lost }) => {
                    if producer.as_ref().is_some_and(|(_, g)| *g == lost) {
                        producer = None;
                    }
                }
                // A request task that panicked or was cancelled dropped its replies: the
                // partitions learn that their batch is unanswered and retry.
                Err(_) => producer = None,
            },
            received = rx.recv(), if in_flight.len() < settings.max_in_flight => match received {
                Some(submit) => {
                    pending.push(submit);
                    tokio::task::yield_now().await;
                }
                None => return,
            },
        }
    }
}

/// Sends one request of `sending`'s batches and answers each partition.
async fn send_request(
    broker: i32,
    connection: Arc<BrokerProducer>,
    generation: u64,
    mut sending: Vec<Submit>,
    settings: SenderSettings,
) -> Ended {
    let timeout_ms = i32::try_from(settings.request_timeout.as_millis()).unwrap_or(i32::MAX);
    let batches: Vec<EncodedBatch> = sending.iter().map(|s| s.batch.clone()).collect();
    let counters = &settings.counters;
    let answer = tokio::time::timeout(
        settings.request_timeout,
        connection.produce(&batches, -1, timeout_ms),
    )
    .await;
    match answer {
        Ok(Ok(outcome)) => {
            if outcome.results.iter().any(Result::is_err) {
                counters.failed_requests.fetch_add(1, Ordering::Relaxed);
            }
            for (submit, result) in sending.drain(..).zip(outcome.results) {
                let _ = submit.reply.send(result.map_err(|e| classify(&e)));
            }
            // Any submit left without a result (the zip stopped early) learns it here.
            fail_all(
                &mut sending,
                "the broker's answer had no result for the batch",
            );
            Ended::Answered {
                throttle: outcome.throttle,
            }
        }
        Ok(Err(e)) => {
            counters.failed_requests.fetch_add(1, Ordering::Relaxed);
            let failure = classify(&e);
            for submit in sending {
                let _ = submit.reply.send(Err(failure.clone()));
            }
            Ended::ConnectionLost { generation }
        }
        Err(_) => {
            counters.failed_requests.fetch_add(1, Ordering::Relaxed);
            fail_all(
                &mut sending,
                &format!(
                    "no answer from broker {broker} within {} ms",
                    settings.request_timeout.as_millis()
                ),
            );
            Ended::ConnectionLost { generation }
        }
    }
}

fn fail_all(pending: &mut Vec<Submit>, message: &str) {
    for submit in pending.drain(..) {
        let _ = submit.reply.send(Err(Failure::Retriable {
            reconnect: true,
            message: message.to_owned(),
        }));
    }
}
