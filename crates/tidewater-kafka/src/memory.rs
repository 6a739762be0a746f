//! [`MemorySink`]: records kept in memory, for tests and for embedding.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::error::{Result, SinkError};
use crate::local::LocalLog;
use crate::record::{Delivery, ProducerRecord, now_millis};
use crate::sink::Sink;

/// A record held by a [`MemorySink`], with the partition and offset it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The record as sent, with `partition` and `timestamp` filled in.
    pub record: ProducerRecord,
    /// Partition (the record's own, else the partitioner's choice).
    pub partition: i32,
    /// Offset within the partition, from 0.
    pub offset: i64,
}

impl StoredRecord {
    fn delivery(&self) -> Delivery {
        Delivery {
            topic: Arc::clone(&self.record.topic),
            partition: self.partition,
            offset: self.offset,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    log: LocalLog,
    records: Vec<StoredRecord>,
    /// Records `..acknowledged` are durable.
    acknowledged: usize,
    /// Deliveries `..reported` were returned.
    reported: usize,
    paused: bool,
    failure: Option<String>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    resumed: Notify,
}

/// A [`Sink`] that keeps every record in memory.
///
/// Partitions are chosen like the Kafka producer's (see [`crate::partitioner`]) among each
/// topic's partition count (1 unless set with [`set_partitions`](Self::set_partitions) or
/// [`with_default_partitions`](Self::with_default_partitions)); offsets count from 0 per
/// partition. Records are acknowledged as soon as they are sent, unless the sink is
/// [paused](Self::pause), which lets tests hold acknowledgements back or inject a failure with
/// [`fail`](Self::fail).
///
/// Clones share the same records, so a test can keep a handle while the sink is moved into a
/// pipeline.
///
/// ```
/// use tidewater_kafka::{MemorySink, ProducerRecord, Sink};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut sink = MemorySink::new().with_default_partitions(3);
/// let handle = sink.clone();
/// sink.send(vec![
///     ProducerRecord::new("orders").key("42").value("{\"id\":42}"),
///     ProducerRecord::new("orders").key("42").value("{\"id\":42,\"v\":2}"),
/// ])
/// .await?;
/// let deliveries = sink.flush().await?;
/// assert_eq!(deliveries.len(), 2);
/// // Same key, same partition, consecutive offsets.
/// assert_eq!(deliveries[0].partition, deliveries[1].partition);
/// assert_eq!((deliveries[0].offset, deliveries[1].offset), (0, 1));
/// assert_eq!(handle.records().len(), 2);
/// # Ok::<(), tidewater_kafka::SinkError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    shared: Arc<Shared>,
}

impl MemorySink {
    /// An empty sink; every topic has one partition.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every update is one step).
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets the partition count of topics without their own.
    pub fn with_default_partitions(self, partitions: i32) -> Self {
        self.state().log.set_default_partitions(partitions);
        self
    }

    /// Sets the partition count of `topic`.
    pub fn set_partitions(&self, topic: impl Into<Arc<str>>, partitions: i32) {
        self.state().log.set_partitions(topic.into(), partitions);
    }

    /// All records received, in send order.
    pub fn records(&self) -> Vec<StoredRecord> {
        self.state().records.clone()
    }

    /// The records received for `topic`, in send order.
    pub fn records_for(&self, topic: &str) -> Vec<StoredRecord> {
        self.state()
            .records
            .iter()
            .filter(|r| &*r.record.topic == topic)
            .cloned()
            .collect()
    }

    /// Holds acknowledgements back: records are accepted but not acknowledged, and `flush`
    /// waits until [`resume`](Self::resume).
    pub fn pause(&self) {
        self.state().paused = true;
    }

    /// Acknowledges everything received and lets waiting `flush` calls finish.
    pub fn resume(&self) {
        let mut state = self.state();
        state.paused = false;
        state.acknowledged = state.records.len();
        drop(state);
        self.shared.resumed.notify_waiters();
    }

    /// Fails the sink: records not yet acknowledged will never be, and `send` and `flush`
    /// return [`SinkError::Failed`] with `cause`.
    pub fn fail(&self, cause: impl Into<String>) {
        self.state().failure = Some(cause.into());
        self.shared.resumed.notify_waiters();
    }

    fn failed(state: &State) -> Result<()> {
        match &state.failure {
            Some(cause) => Err(SinkError::Failed {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    fn take_acknowledged(state: &mut State) -> Vec<Delivery> {
        let deliveries = state
            .records
            .get(state.reported..state.acknowledged)
            .unwrap_or_default()
            .iter()
            .map(StoredRecord::delivery)
            .collect();
        state.reported = state.acknowledged;
        deliveries
    }
}

impl Sink for MemorySink {
    async fn send(&mut self, records: Vec<ProducerRecord>) -> Result<()> {
        let mut state = self.state();
        Self::failed(&state)?;
        for mut record in records {
            let (partition, offset) = state.log.assign(&record)?;
            record.partition = Some(partition);
            record.timestamp = Some(record.timestamp.unwrap_or_else(now_millis));
            state.records.push(StoredRecord {
                record,
                partition,
                offset,
            });
            if !state.paused {
                state.acknowledged = state.records.len();
            }
        }
        Ok(())
    }

    fn acknowledged(&mut self) -> Vec<Delivery> {
        Self::take_acknowledged(&mut self.state())
    }

    /// Resolves at once when deliveries wait to be taken, else at the next
    /// [`resume`](Self::resume) or [`fail`](Self::fail).
    async fn progress(&mut self) {
        let resumed = self.shared.resumed.notified();
        {
            let state = self.state();
            if state.acknowledged > state.reported {
                return;
            }
        }
        resumed.await;
    }

    async fn flush(&mut self) -> Result<Vec<Delivery>> {
        loop {
            // Register interest before checking, so a resume between the check and the wait
            // is not missed.
            let resumed = self.shared.resumed.notified();
            {
                let mut state = self.state();
                Self::failed(&state)?;
                if !state.paused {
                    state.acknowledged = state.records.len();
                    return Ok(Self::take_acknowledged(&mut state));
                }
            }
            resumed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use std::time::Duration;

    use super::*;
    use crate::partitioner::partition_for_key;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn partitions_offsets_and_timestamps() {
        rt().block_on(async {
            let mut sink = MemorySink::new().with_default_partitions(4);
            sink.set_partitions("one", 1);
            sink.send(vec![
                ProducerRecord::new("t").key("foobar").value("a"),
                ProducerRecord::new("t").key("foobar").value("b"),
                ProducerRecord::new("t").partition(3).timestamp(5),
                ProducerRecord::new("one").key("foobar"),
            ])
            .await
            .unwrap();
            let d = sink.acknowledged();
            let p = partition_for_key(b"foobar", 4);
            assert_eq!(
                d.iter()
                    .map(|d| (&*d.topic, d.partition, d.offset))
                    .collect::<Vec<_>>(),
                [("t", p, 0), ("t", p, 1), ("t", 3, 0), ("one", 0, 0)]
            );
            let records = sink.records();
            assert_eq!(records[2].record.timestamp, Some(5));
            assert!(records[0].record.timestamp.unwrap() > 1_600_000_000_000);
            assert_eq!(records[0].record.partition, Some(p));
            assert!(sink.acknowledged().is_empty());
            assert!(sink.flush().await.unwrap().is_empty());

            let err = sink
                .send(vec![ProducerRecord::new("one").partition(1)])
                .await
                .unwrap_err();
            assert!(matches!(
                err,
                SinkError::InvalidPartition { partitions: 1, .. }
            ));
        });
    }

    #[test]
    fn pause_holds_acknowledgements_until_resume() {
        rt().block_on(async {
            let mut sink = MemorySink::new();
            let handle = sink.clone();
            sink.send(vec![ProducerRecord::new("t").value("1")])
                .await
                .unwrap();
            handle.pause();
            sink.send(vec![ProducerRecord::new("t").value("2")])
                .await
                .unwrap();
            assert_eq!(sink.acknowledged().len(), 1);
            assert!(sink.acknowledged().is_empty());
            let resumer = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                handle.resume();
            });
            let rest = sink.flush().await.unwrap();
            assert_eq!(rest.len(), 1);
            assert_eq!(rest[0].offset, 1);
            resumer.await.unwrap();
        });
    }

    #[test]
    fn progress_resolves_on_news_only() {
        use std::future::Future;
        use std::task::{Context, Waker};

        rt().block_on(async {
            let mut cx = Context::from_waker(Waker::noop());
            let mut sink = MemorySink::new();
            let handle = sink.clone();
            handle.pause();
            sink.send(vec![ProducerRecord::new("t").value("1")])
                .await
                .unwrap();
            {
                let mut progress = std::pin::pin!(sink.progress());
                assert!(progress.as_mut().poll(&mut cx).is_pending(), "paused");
                handle.resume();
                assert!(progress.as_mut().poll(&mut cx).is_ready(), "resumed");
            }
            {
                let mut progress = std::pin::pin!(sink.progress());
                assert!(
                    progress.as_mut().poll(&mut cx).is_ready(),
                    "a delivery waits"
                );
            }
            assert_eq!(sink.acknowledged().len(), 1);
            let mut progress = std::pin::pin!(sink.progress());
            assert!(progress.as_mut().poll(&mut cx).is_pending(), "all taken");
        });
    }

    #[test]
    fn failure_keeps_the_acknowledged_prefix() {
        rt().block_on(async {
            let mut sink = MemorySink::new();
            sink.send(vec![ProducerRecord::new("t").value("1")])
                .await
                .unwrap();
            sink.pause();
            sink.send(vec![ProducerRecord::new("t").value("2")])
                .await
                .unwrap();
            sink.fail("disk on fire");
            assert!(matches!(
                sink.flush().await,
                Err(SinkError::Failed { cause }) if cause == "disk on fire"
            ));
            assert!(sink.send(vec![ProducerRecord::new("t")]).await.is_err());
            let d = sink.acknowledged();
            assert_eq!(d.len(), 1);
            assert_eq!(d[0].offset, 0);
        });
    }
}
