//! The sink stage: owns the [`Sink`], sends what the convert stage hands it,
//! polls the deliveries, feeds the delivery tracker and publishes the
//! position to acknowledge (to the source stage) and to store (to the offset
//! writer). A failed sink is replaced through the sink factory, when there is
//! one, and the records it had not delivered are sent again, in order.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tidewater_kafka::{ProducerRecord, Sink, SinkError};
use tidewater_pgoutput::Lsn;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::convert::Outgoing;
use crate::delivery::DeliveryTracker;
use crate::error::PipelineError;
use crate::metrics::{ErrorKind, Metrics, Queue};
use crate::offsets::SourceOffset;

/// Makes a new sink after a failure.
pub(super) type SinkFactory<K> =
    Box<dyn FnMut() -> Pin<Box<dyn Future<Output = Result<K, SinkError>> + Send>> + Send>;

/// How often deliveries are polled while records are outstanding (besides
/// [`Sink::progress`], for sinks that have it).
const POLL: Duration = Duration::from_millis(20);

/// With records outstanding, no delivery for this long and the convert stage
/// out of room, the sink is flushed (for sinks that only report deliveries on
/// `flush`; the others keep reporting while they are polled).
const STALL: Duration = Duration::from_millis(500);

/// With records outstanding and no delivery for this long, the sink is
/// flushed even though there is room (a quiet stream on such a sink).
const IDLE_FLUSH: Duration = Duration::from_secs(5);

/// The first pause before replacing a failed sink (Kafka Connect's).
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(300);

pub(super) struct SinkStage<K> {
    pub(super) sink: K,
    pub(super) factory: Option<SinkFactory<K>>,
    pub(super) tracker: DeliveryTracker,
    /// Records sent and not yet delivered (only kept with a factory).
    pub(super) retained: VecDeque<ProducerRecord>,
    /// `(end, bytes, permits)` of each hand-off still (partly) undelivered.
    pub(super) held: VecDeque<(u64, u64, Vec<OwnedSemaphorePermit>)>,
    pub(super) acks: watch::Sender<Lsn>,
    pub(super) offsets: watch::Sender<Option<SourceOffset>>,
    pub(super) published: Option<SourceOffset>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) stop: CancellationToken,
    pub(super) retry_timeout: Option<Duration>,
    pub(super) retry_delay_max: Duration,
    pub(super) resend_batch: usize,
    pub(super) shutdown_timeout: Duration,
    pub(super) room: Arc<Semaphore>,
    pub(super) max_records: usize,
    /// Room in `max.queue.size.in.bytes`, and its size.
    pub(super) bytes_room: Option<(Arc<Semaphore>, usize)>,
    pub(super) last_progress: Instant,
    pub(super) replacements: u32,
    /// When a shutdown began: the sink has until then to deliver.
    pub(super) stop_deadline: Option<Instant>,
}

/// What the sink stage reports when it ends.
pub(super) struct SinkEnd {
    pub(super) sent: u64,
    pub(super) delivered: u64,
    pub(super) position: Option<SourceOffset>,
    pub(super) replacements: u32,
    pub(super) error: Option<PipelineError>,
}

impl<K: Sink> SinkStage<K> {
    pub(super) async fn run(mut self, mut input: mpsc::Receiver<Outgoing>) -> SinkEnd {
        let mut sent = 0u64;
        let mut error = self.stream(&mut input, &mut sent).await.err();
        // Upstream stops on its own once this receiver is gone.
        input.close();
        if error.is_none() {
            error = self.drain().await.err();
        } else {
            self.stop.cancel();
            self.poll();
        }
        self.publish();
        SinkEnd {
            sent,
            delivered: self.tracker.delivered_count(),
            position: self.tracker.position().cloned(),
            replacements: self.replacements,
            error,
        }
    }

    async fn stream(
        &mut self,
        input: &mut mpsc::Receiver<Outgoing>,
        sent: &mut u64,
    ) -> Result<(), PipelineError> {
        let stop = self.stop.clone();
        loop {
            let outstanding = self.tracker.pending() > 0;
            tokio::select! {
                biased;
                () = stop.cancelled(), if self.stop_deadline.is_none() => {
                    // Upstream stops reading; give the sink until the deadline.
                    self.stop_deadline = Some(Instant::now() + self.shutdown_timeout);
                }
                item = input.recv() => match item {
                    Some(outgoing) => {
                        *sent += outgoing.records.len() as u64;
                        self.send(outgoing).await?;
                    }
                    None => return Ok(()),
                },
                // Sinks that say when they have news (Kafka: every produce answer) are
                // polled right away, so room frees as soon as records are delivered.
                () = self.sink.progress(), if outstanding => {
                    self.poll();
                    if self.stop_deadline.is_some_and(|d| Instant::now() >= d) {
                        return Ok(());
                    }
                }
                () = tokio::time::sleep(POLL), if outstanding => {
                    self.poll();
                    if self.stop_deadline.is_some_and(|d| Instant::now() >= d) {
                        // The sink does not deliver: stop waiting for it (what
                        // is undelivered stays unacknowledged).
                        return Ok(());
                    }
                    let quiet = self.last_progress.elapsed();
                    if self.tracker.pending() > 0
                        && ((quiet >= STALL && self.starved()) || quiet >= IDLE_FLUSH)
                    {
                        self.flush_now().await?;
                    }
                }
            }
        }
    }

    /// Whether the convert stage may be waiting for room that only deliveries free.
    fn starved(&self) -> bool {
        let records = self.room.available_permits() < self.resend_batch.min(self.max_records);
        let bytes = self
            .bytes_room
            .as_ref()
            .is_some_and(|(room, max)| room.available_permits() < max / 2);
        records || bytes
    }

    async fn send(&mut self, outgoing: Outgoing) -> Result<(), PipelineError> {
        let Outgoing {
            records,
            marks,
            bytes,
            permits,
        } = outgoing;
        let base = self.tracker.sent(records.len());
        for (n, offset) in marks {
            self.tracker.mark(base + n as u64, offset);
        }
        self.held
            .push_back((base + records.len() as u64, bytes, permits));
        self.last_progress = Instant::now();
        if !records.is_empty() {
            if self.factory.is_some() {
                self.retained.extend(records.iter().cloned());
            }
            if let Err(e) = self.sink.send(records).await {
                self.recover(e).await?;
            }
        }
        self.poll();
        Ok(())
    }

    /// Takes the deliveries reported so far.
    fn poll(&mut self) {
        let n = self.sink.acknowledged().len();
        self.delivered(n);
    }

    fn delivered(&mut self, n: usize) {
        if n > 0 {
            self.tracker.delivered(n as u64);
            let drop_retained = n.min(self.retained.len());
            self.retained.drain(..drop_retained);
            self.last_progress = Instant::now();
        }
        let done = self.tracker.delivered_count();
        let mut bytes = 0u64;
        while let Some((end, _, _)) = self.held.front() {
            if *end > done {
                break;
            }
            if let Some((_, b, permits)) = self.held.pop_front() {
                bytes += b;
                drop(permits);
            }
        }
        if n > 0 {
            self.metrics.add_records_delivered(n as u64, bytes);
        }
        self.metrics.set_queue_depth(
            Queue::Sink,
            self.max_records
                .saturating_sub(self.room.available_permits()),
        );
        self.publish();
    }

    /// Hands a new position to the source stage and the offset writer.
    fn publish(&mut self) {
        let Some(position) = self.tracker.position() else {
            return;
        };
        if self.published.as_ref() == Some(position) {
            return;
        }
        let lsn = position.lsn;
        self.acks.send_if_modified(|current| {
            if lsn > *current {
                *current = lsn;
                true
            } else {
                false
            }
        });
        self.metrics.set_last_acknowledged(lsn);
        self.offsets.send_replace(Some(position.clone()));
        self.published = Some(position.clone());
    }

    /// Waits for every outstanding delivery (for sinks that report on flush).
    async fn flush_now(&mut self) -> Result<(), PipelineError> {
        let result = tokio::select! {
            result = self.sink.flush() => result,
            // Shutting down: stop waiting; the drain flushes with a deadline.
            () = self.stop.cancelled() => return Ok(()),
        };
        match result {
            Ok(deliveries) => {
                self.delivered(deliveries.len());
                Ok(())
            }
            Err(e) => self.recover(e).await,
        }
    }

    /// After the last input: flush within the shutdown deadline.
    async fn drain(&mut self) -> Result<(), PipelineError> {
        let timeout = Instant::now() + self.shutdown_timeout;
        let deadline = self.stop_deadline.map_or(timeout, |d| d.min(timeout));
        loop {
            self.poll();
            if self.tracker.pending() == 0 {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, self.sink.flush()).await {
                Ok(Ok(deliveries)) => {
                    self.delivered(deliveries.len());
                    return Ok(());
                }
                Ok(Err(e)) => self.recover(e).await?,
                Err(_) => {
                    self.poll();
                    tracing::warn!(
                        undelivered = self.tracker.pending(),
                        timeout_ms = self.shutdown_timeout.as_millis() as u64,
                        "records not delivered within the shutdown timeout stay unacknowledged \
                         and are read again after a restart"
                    );
                    return Ok(());
                }
            }
        }
    }

    /// A failed sink: acknowledge what it delivered, then replace it and send
    /// the rest again, or give up.
    async fn recover(&mut self, error: SinkError) -> Result<(), PipelineError> {
        self.poll();
        self.metrics.add_errors(ErrorKind::Sink, 1);
        if self.factory.is_none() || permanent(&error) {
            tracing::error!(error = %error, "the sink failed");
            return Err(PipelineError::Sink {
                source: Box::new(error),
            });
        }
        tracing::warn!(
            error = %error,
            undelivered = self.tracker.pending(),
            "the sink failed; replacing it and sending the undelivered records again"
        );
        let started = Instant::now();
        let mut delay = FIRST_RETRY_DELAY.min(self.retry_delay_max);
        let mut attempts = 0u32;
        let mut last = error;
        loop {
            if let Some(timeout) = self.retry_timeout
                && started.elapsed() >= timeout
            {
                return Err(PipelineError::SinkRetriesExhausted {
                    attempts,
                    elapsed: started.elapsed(),
                    source: Box::new(last),
                });
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.stop.cancelled() => return Err(PipelineError::Sink { source: Box::new(last) }),
            }
            delay = (delay * 2).min(self.retry_delay_max);
            attempts += 1;
            let Some(factory) = self.factory.as_mut() else {
                return Err(PipelineError::Sink {
                    source: Box::new(last),
                });
            };
            match factory().await {
                Ok(sink) => {
                    self.sink = sink;
                    self.replacements += 1;
                    match self.resend().await {
                        Ok(()) => {
                            tracing::info!(
                                attempts,
                                resent = self.tracker.pending(),
                                "the sink was replaced"
                            );
                            return Ok(());
                        }
                        Err(e) => {
                            self.poll();
                            self.metrics.add_errors(ErrorKind::Sink, 1);
                            tracing::warn!(error = %e, attempts, "the replaced sink failed too");
                            if permanent(&e) {
                                return Err(PipelineError::Sink {
                                    source: Box::new(e),
                                });
                            }
                            last = e;
                        }
                    }
                }
                Err(e) => {
                    self.metrics.add_errors(ErrorKind::Sink, 1);
                    tracing::warn!(error = %e, attempts, "making a new sink failed");
                    if permanent(&e) {
                        return Err(PipelineError::Sink {
                            source: Box::new(e),
                        });
                    }
                    last = e;
                }
            }
        }
    }

    /// Sends the undelivered records to the new sink, in order.
    async fn resend(&mut self) -> Result<(), SinkError> {
        let records: Vec<ProducerRecord> = self.retained.iter().cloned().collect();
        for chunk in records.chunks(self.resend_batch.max(1)) {
            self.sink.send(chunk.to_vec()).await?;
            self.poll();
        }
        Ok(())
    }
}

/// Failures a new sink would meet again.
fn permanent(error: &SinkError) -> bool {
    matches!(
        error,
        SinkError::Config(_)
            | SinkError::RecordTooLarge { .. }
            | SinkError::InvalidRecord { .. }
            | SinkError::InvalidPartition { .. }
            | SinkError::UnknownTopic { .. }
            | SinkError::Broker { .. }
            | SinkError::Json { .. }
    )
}
