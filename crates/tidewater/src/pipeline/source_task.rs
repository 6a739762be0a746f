//! The source stage: owns the [`ChangeSource`], reads batches while there is
//! room in `max.queue.size`, applies acknowledgements from the sink stage as
//! they come, emits heartbeat ticks, and closes the source once the sink stage
//! has acknowledged everything it could.

use std::sync::Arc;
use std::time::Duration;

use tidewater_pgoutput::{Lsn, TransactionEvent};
use tidewater_postgres::{CatalogChanges, ChangeSource};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::convert::{SourceItem, permit_count};
use crate::error::PipelineError;
use crate::metrics::{ErrorKind, Metrics, Queue};

/// How often source statistics and snapshot progress are copied into the metrics.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

pub(super) struct SourceStage<S> {
    pub(super) source: S,
    pub(super) out: mpsc::Sender<SourceItem>,
    pub(super) room: Arc<Semaphore>,
    pub(super) max_queue: usize,
    pub(super) acks: watch::Receiver<Lsn>,
    pub(super) stop: CancellationToken,
    pub(super) heartbeat: Option<Duration>,
    pub(super) metrics: Arc<Metrics>,
}

/// What the source stage reports when it ends.
pub(super) struct SourceEnd {
    pub(super) events: u64,
    pub(super) finished: bool,
    pub(super) error: Option<PipelineError>,
}

impl<S: ChangeSource> SourceStage<S> {
    pub(super) async fn run(self) -> SourceEnd {
        let SourceStage {
            mut source,
            out,
            room,
            max_queue,
            mut acks,
            stop,
            heartbeat,
            metrics,
        } = self;
        let mut events = 0u64;
        let mut finished = false;
        let mut error = None;
        let mut pending: Option<(Vec<TransactionEvent>, CatalogChanges)> = None;
        let mut heartbeats = heartbeat.map(|every| {
            let mut i = tokio::time::interval_at(Instant::now() + every, every);
            i.set_missed_tick_behavior(MissedTickBehavior::Delay);
            i
        });
        let mut stats = tokio::time::interval(STATS_INTERVAL);
        stats.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut acks_open = true;

        // Reading.
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                changed = acks.changed(), if acks_open => {
                    if changed.is_err() {
                        // The sink stage ended: nothing more will be delivered.
                        acks_open = false;
                        break;
                    }
                    let lsn = *acks.borrow_and_update();
                    source.acknowledge(lsn);
                }
                _ = tick(&mut heartbeats) => {
                    match out.reserve().await {
                        Ok(slot) => slot.send(SourceItem::Heartbeat),
                        Err(_) => break,
                    }
                }
                _ = stats.tick() => publish_stats(&source, &metrics),
                ready = reserve(&room, &out, pending.as_ref().map_or(0, |p| p.0.len()), max_queue),
                    if pending.is_some() =>
                {
                    let Some((permit, slot)) = ready else { break };
                    if let Some((batch, catalog)) = pending.take() {
                        metrics.set_queue_depth(
                            Queue::Source,
                            max_queue.saturating_sub(room.available_permits()),
                        );
                        slot.send(SourceItem::Events {
                            events: batch,
                            catalog,
                            _permit: permit,
                        });
                    }
                }
                batch = source.next_batch(), if pending.is_none() => match batch {
                    Ok(batch) if batch.is_empty() => {
                        tracing::info!("the source has finished");
                        finished = true;
                        break;
                    }
                    Ok(batch) => {
                        events += batch.len() as u64;
                        let catalog = source.catalog_changes();
                        pending = Some((batch, catalog));
                    }
                    Err(e) => {
                        metrics.add_errors(ErrorKind::Source, 1);
                        tracing::error!(error = %e, "the source failed");
                        error = Some(PipelineError::Source { source: Box::new(e) });
                        stop.cancel();
                        break;
                    }
                },
            }
        }
        if let Some((batch, _)) = pending.take() {
            // Read but not handed on: never acknowledged, so read again after a restart.
            tracing::debug!(events = batch.len(), "dropping events read during shutdown");
        }
        // Let the convert stage drain, then keep acknowledging what the sink
        // delivers until the sink stage ends.
        drop(out);
        while acks_open {
            match acks.changed().await {
                Ok(()) => {
                    let lsn = *acks.borrow_and_update();
                    source.acknowledge(lsn);
                }
                Err(_) => acks_open = false,
            }
        }
        let last = *acks.borrow();
        source.acknowledge(last);
        publish_stats(&source, &metrics);
        if let Err(e) = source.close().await {
            tracing::warn!(error = %e, "closing the source failed");
            if error.is_none() && !finished && !stop.is_cancelled() {
                error = Some(PipelineError::Source {
                    source: Box::new(e),
                });
            }
        }
        SourceEnd {
            events,
            finished,
            error,
        }
    }
}

async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Waits for room for `n` events and for a slot in the channel; `None` when
/// the convert stage is gone.
async fn reserve<'a>(
    room: &Arc<Semaphore>,
    out: &'a mpsc::Sender<SourceItem>,
    n: usize,
    max_queue: usize,
) -> Option<(
    Option<tokio::sync::OwnedSemaphorePermit>,
    mpsc::Permit<'a, SourceItem>,
)> {
    let wanted = n.min(max_queue);
    let permit = if wanted == 0 {
        None
    } else {
        Some(
            Arc::clone(room)
                .acquire_many_owned(permit_count(wanted))
                .await
                .ok()?,
        )
    };
    let slot = out.reserve().await.ok()?;
    Some((permit, slot))
}

fn publish_stats<S: ChangeSource>(source: &S, metrics: &Metrics) {
    if let Some(stats) = source.stats() {
        metrics.set_source_stats(&stats);
    }
    if let Some(progress) = source.snapshot_progress() {
        metrics.set_snapshot_progress(&progress);
    }
}
