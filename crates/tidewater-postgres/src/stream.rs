//! The network task: owns the replication stream, answers keepalives, reports
//! the acknowledged position, and hands XLogData frames to the consumer through
//! a bounded queue. Decoding happens on the consumer's side.
//!
//! ```text
//!   server ──CopyData──► network task ──Feed::Frame (bounded, max.queue.size)──► PostgresSource
//!     ▲                    │  k: keepalive → status reply at once when asked       (decode, filter,
//!     │                    │  every status.update.interval.ms → status update       assemble)
//!     └── r: flush = acknowledged position only ◄──── acknowledge(lsn) ──────────────┘
//! ```
//!
//! A full queue stops the task from reading the socket (backpressure reaches the
//! server through TCP), but status updates keep flowing, so the server does not
//! time the connection out.
//!
//! Idle WAL: a keepalive's position says the server has sent everything
//! committed before it. When no transaction is open on the wire and the
//! application has acknowledged the end of everything received, nothing lies
//! between the acknowledged position and the keepalive's, so the acknowledged
//! position moves up to it. Without this, writes to unpublished tables would
//! hold WAL forever and a fast shutdown of the server would wait for the
//! source indefinitely (the walsender exits only once its client confirms all
//! it sent). A lost connection is re-established with bounded,
//! doubling waits, resuming from the acknowledged position; the consumer is told
//! (`Feed::Reconnected`) so it can drop what it has already delivered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tidewater_pgoutput::{Lsn, ReplicationFrame, StandbyStatusUpdate, unix_to_pg_micros};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::config::SourceConfig;
use crate::error::{Result, SourceError};
use crate::replication::{ReplicationConnection, ReplicationStream, StartOptions};
use crate::tls::TlsSetup;

/// First wait before reconnecting; doubled per failed attempt up to the configured maximum.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);

/// What the network task hands to the consumer.
#[derive(Debug)]
pub(crate) enum Feed {
    /// An XLogData (`w`) CopyData payload.
    Frame(Bytes),
    /// The connection was lost and re-established: the server replays from the
    /// acknowledged position, so what follows may repeat delivered events.
    Reconnected,
    /// The stream failed for good.
    Failed(SourceError),
}

/// Counters shared by the network task and the source.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The position the application acknowledged (never decreases).
    pub(crate) acknowledged: AtomicU64,
    /// The flush position last reported to the server.
    pub(crate) reported: AtomicU64,
    /// XLogData frames received.
    pub(crate) frames: AtomicU64,
    /// Bytes of XLogData frames received.
    pub(crate) bytes: AtomicU64,
    /// `wal_start` of the last XLogData frame.
    pub(crate) last_received: AtomicU64,
    /// The server's end of WAL, from the last frame or keepalive.
    pub(crate) server_wal_end: AtomicU64,
    /// Keepalives received.
    pub(crate) keepalives: AtomicU64,
    /// Successful reconnections.
    pub(crate) reconnects: AtomicU64,
    /// Times the acknowledged position moved over idle WAL.
    pub(crate) idle_advances: AtomicU64,
}

impl Shared {
    pub(crate) fn acknowledged(&self) -> Lsn {
        Lsn(self.acknowledged.load(Ordering::Acquire))
    }
}

/// Everything the task needs to (re)connect.
pub(crate) struct StreamContext {
    pub(crate) config: Arc<SourceConfig>,
    pub(crate) tls: TlsSetup,
    pub(crate) slot: String,
    pub(crate) options: StartOptions,
    pub(crate) shared: Arc<Shared>,
}

/// Starts the network task over a stream that is already in CopyBoth mode.
pub(crate) fn spawn(
    stream: ReplicationStream,
    context: StreamContext,
    feed: mpsc::Sender<Feed>,
    stop: CancellationToken,
) -> JoinHandle<Result<()>> {
    tokio::spawn(run(stream, context, feed, stop))
}

/// Where the wire stands, from the tags of XLogData messages: whether a
/// transaction is open and the end of the last one (or of the last
/// non-transactional message).
#[derive(Debug, Default)]
struct WireState {
    in_transaction: bool,
    last_end: u64,
}

/// Offset of the pgoutput message in an XLogData frame: tag, start, end, time.
const MESSAGE_OFFSET: usize = 25;

impl WireState {
    fn observe(&mut self, frame: &[u8]) {
        let read_u64 = |at: usize| {
            frame
                .get(at..at + 8)
                .and_then(|s| <[u8; 8]>::try_from(s).ok())
                .map(u64::from_be_bytes)
        };
        match frame.get(MESSAGE_OFFSET) {
            Some(b'B') => self.in_transaction = true,
            Some(b'C') => {
                self.in_transaction = false;
                // Commit: tag, flags, commit LSN, end LSN.
                if let Some(end) = read_u64(MESSAGE_OFFSET + 10) {
                    self.last_end = self.last_end.max(end);
                }
            }
            Some(b'M') if !self.in_transaction => {
                // Message: tag, flags, LSN.
                if let Some(lsn) = read_u64(MESSAGE_OFFSET + 2) {
                    self.last_end = self.last_end.max(lsn);
                }
            }
            _ => {}
        }
    }

    /// Moves the acknowledged position to a keepalive's `wal_end` when nothing
    /// received is unacknowledged.
    fn advance_idle(&self, shared: &Shared, wal_end: Lsn) {
        let acknowledged = shared.acknowledged.load(Ordering::Acquire);
        if !self.in_transaction && acknowledged >= self.last_end && wal_end.0 > acknowledged {
            shared.acknowledged.fetch_max(wal_end.0, Ordering::AcqRel);
            shared.idle_advances.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Why pumping ended.
enum PumpEnd {
    /// Asked to stop.
    Stopped,
    /// The consumer dropped its receiver.
    ConsumerGone,
    /// The stream failed; `received` says whether anything arrived before.
    Failed { error: SourceError, received: bool },
}

async fn run(
    mut stream: ReplicationStream,
    context: StreamContext,
    feed: mpsc::Sender<Feed>,
    stop: CancellationToken,
) -> Result<()> {
    let mut ticker = tokio::time::interval_at(
        Instant::now() + context.config.status_update_interval,
        context.config.status_update_interval,
    );
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut attempts: u32 = 0;
    let mut announce = false;
    loop {
        match pump(
            &mut stream,
            &context,
            &feed,
            &stop,
            &mut ticker,
            &mut announce,
        )
        .await
        {
            PumpEnd::Stopped | PumpEnd::ConsumerGone => return shutdown(stream, &context).await,
            PumpEnd::Failed { error, received } => {
                if received {
                    attempts = 0;
                }
                tracing::warn!(slot = %context.slot, %error, "replication stream failed");
                match reconnect(&context, &feed, &stop, error, &mut attempts).await {
                    Ok(Some(new_stream)) => {
                        stream = new_stream;
                        context.shared.reconnects.fetch_add(1, Ordering::Relaxed);
                        // Told to the consumer ahead of the new stream's first frame.
                        announce = true;
                    }
                    Ok(None) => return Ok(()),
                    Err(error) => {
                        let message = error.to_string();
                        let _ = feed.send(Feed::Failed(error)).await;
                        return Err(SourceError::Closed(message));
                    }
                }
            }
        }
    }
}

/// Reads frames into the queue until stopped or failed.
async fn pump(
    stream: &mut ReplicationStream,
    context: &StreamContext,
    feed: &mpsc::Sender<Feed>,
    stop: &CancellationToken,
    ticker: &mut tokio::time::Interval,
    announce: &mut bool,
) -> PumpEnd {
    let mut received = false;
    let mut wire = WireState::default();
    let failed = |error, received| PumpEnd::Failed { error, received };
    loop {
        // A free queue slot first: while the queue is full the socket is not read.
        let permit = tokio::select! {
            biased;
            () = stop.cancelled() => return PumpEnd::Stopped,
            _ = ticker.tick() => {
                if let Err(e) = send_status(stream, context).await {
                    return failed(e, received);
                }
                continue;
            }
            permit = feed.reserve() => match permit {
                Ok(permit) => permit,
                Err(_) => return PumpEnd::ConsumerGone,
            },
        };
        if *announce {
            permit.send(Feed::Reconnected);
            *announce = false;
            continue;
        }
        let frame = loop {
            let next = tokio::select! {
                biased;
                () = stop.cancelled() => return PumpEnd::Stopped,
                _ = ticker.tick() => {
                    if let Err(e) = send_status(stream, context).await {
                        return failed(e, received);
                    }
                    continue;
                }
                next = stream.next_frame() => next,
            };
            let frame = match next {
                Ok(Some(frame)) => frame,
                Ok(None) => {
                    return failed(
                        SourceError::Closed("the server ended the replication stream".to_owned()),
                        received,
                    );
                }
                Err(e) => return failed(e, received),
            };
            received = true;
            match frame.first() {
                Some(b'w') => break frame,
                Some(b'k') => match ReplicationFrame::decode(&frame) {
                    Ok(ReplicationFrame::PrimaryKeepalive(k)) => {
                        context.shared.keepalives.fetch_add(1, Ordering::Relaxed);
                        context
                            .shared
                            .server_wal_end
                            .fetch_max(k.wal_end.0, Ordering::Relaxed);
                        wire.advance_idle(&context.shared, k.wal_end);
                        if k.reply_requested
                            && let Err(e) = send_status(stream, context).await
                        {
                            return failed(e, received);
                        }
                    }
                    Ok(_) | Err(_) => {
                        return failed(
                            SourceError::protocol(
                                format!("streaming from slot {}", context.slot),
                                "a malformed keepalive frame",
                            ),
                            received,
                        );
                    }
                },
                other => {
                    return failed(
                        SourceError::protocol(
                            format!("streaming from slot {}", context.slot),
                            format!("unknown CopyData frame type {other:?}"),
                        ),
                        received,
                    );
                }
            }
        };
        let read_u64 = |range: std::ops::Range<usize>| {
            frame
                .get(range)
                .and_then(|s| <[u8; 8]>::try_from(s).ok())
                .map(u64::from_be_bytes)
        };
        if let (Some(start), Some(end)) = (read_u64(1..9), read_u64(9..17)) {
            let shared = &context.shared;
            shared.last_received.store(start, Ordering::Relaxed);
            shared.server_wal_end.fetch_max(end, Ordering::Relaxed);
        }
        wire.observe(&frame);
        context.shared.frames.fetch_add(1, Ordering::Relaxed);
        context
            .shared
            .bytes
            .fetch_add(frame.len() as u64, Ordering::Relaxed);
        permit.send(Feed::Frame(frame));
    }
}

/// Reports the acknowledged position as written, flushed and applied. Only
/// the flush position moves a logical slot; nothing beyond what the
/// application acknowledged is ever reported.
async fn send_status(stream: &mut ReplicationStream, context: &StreamContext) -> Result<()> {
    let acknowledged = context.shared.acknowledged();
    let status = StandbyStatusUpdate::at(acknowledged, now_pg_micros());
    stream.send_status(&status).await?;
    context
        .shared
        .reported
        .fetch_max(acknowledged.0, Ordering::Relaxed);
    Ok(())
}

/// The current time as PostgreSQL counts it (µs since 2000-01-01 UTC).
pub(crate) fn now_pg_micros() -> i64 {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    unix_to_pg_micros(unix)
}

/// Reconnects with doubling waits. `Ok(None)` when asked to stop meanwhile.
async fn reconnect(
    context: &StreamContext,
    feed: &mpsc::Sender<Feed>,
    stop: &CancellationToken,
    mut error: SourceError,
    attempts: &mut u32,
) -> Result<Option<ReplicationStream>> {
    loop {
        if !error.is_transient() {
            return Err(error);
        }
        if let Some(max) = context.config.errors_max_retries
            && *attempts >= max
        {
            return Err(SourceError::Closed(format!(
                "gave up after {attempts} reconnection attempts (errors.max.retries = {max}): {error}"
            )));
        }
        *attempts += 1;
        let delay = retry_delay(*attempts, context.config.reconnect_max_delay);
        tracing::info!(
            slot = %context.slot,
            attempt = *attempts,
            delay_ms = delay.as_millis() as u64,
            "reconnecting the replication stream"
        );
        tokio::select! {
            () = stop.cancelled() => return Ok(None),
            () = feed.closed() => return Ok(None),
            () = tokio::time::sleep(delay) => {}
        }
        let attempt = async {
            let connection =
                ReplicationConnection::connect_with(&context.config, &context.tls).await?;
            connection
                .start_replication(
                    &context.slot,
                    context.shared.acknowledged(),
                    &context.options,
                )
                .await
        };
        let outcome = tokio::select! {
            () = stop.cancelled() => return Ok(None),
            outcome = attempt => outcome,
        };
        match outcome {
            Ok(stream) => return Ok(Some(stream)),
            Err(e) => error = e,
        }
    }
}

/// 100 ms, 200 ms, 400 ms, ... capped at `max`.
pub(crate) fn retry_delay(attempt: u32, max: Duration) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    FIRST_RETRY_DELAY.saturating_mul(factor).min(max)
}

/// Reports the final acknowledged position and ends the stream with CopyDone;
/// drops the slot when configured to.
async fn shutdown(mut stream: ReplicationStream, context: &StreamContext) -> Result<()> {
    send_status(&mut stream, context).await?;
    let mut connection = stream.finish().await?;
    if context.config.slot_drop_on_stop {
        connection.drop_slot(&context.slot, true).await?;
    }
    connection.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidewater_pgoutput::{Begin, Commit, LogicalMessage, Message, XLogData};

    fn frame(message: Message) -> Bytes {
        ReplicationFrame::XLogData(XLogData {
            wal_start: Lsn(1),
            wal_end: Lsn(2),
            send_time: 0,
            data: message.to_bytes(),
        })
        .to_bytes()
    }

    #[test]
    fn idle_wal_is_acknowledged_only_when_nothing_is_outstanding() {
        let shared = Shared::default();
        shared.acknowledged.store(0x100, Ordering::Release);
        let mut wire = WireState::default();
        // Nothing received yet: the keepalive position is safe.
        wire.advance_idle(&shared, Lsn(0x200));
        assert_eq!(shared.acknowledged(), Lsn(0x200));

        wire.observe(&frame(Message::Begin(Begin {
            final_lsn: Lsn(0x300),
            commit_time: 0,
            xid: 1,
        })));
        wire.advance_idle(&shared, Lsn(0x400));
        assert_eq!(shared.acknowledged(), Lsn(0x200), "a transaction is open");
        wire.observe(&frame(Message::Commit(Commit {
            flags: 0,
            commit_lsn: Lsn(0x300),
            end_lsn: Lsn(0x330),
            commit_time: 0,
        })));
        wire.advance_idle(&shared, Lsn(0x400));
        assert_eq!(
            shared.acknowledged(),
            Lsn(0x200),
            "the commit is not acknowledged"
        );
        shared.acknowledged.fetch_max(0x330, Ordering::AcqRel);
        wire.advance_idle(&shared, Lsn(0x400));
        assert_eq!(shared.acknowledged(), Lsn(0x400));

        wire.observe(&frame(Message::Message(LogicalMessage {
            xid: None,
            flags: 0,
            lsn: Lsn(0x500),
            prefix: "p".into(),
            content: Bytes::new(),
        })));
        wire.advance_idle(&shared, Lsn(0x600));
        assert_eq!(
            shared.acknowledged(),
            Lsn(0x400),
            "the message is not acknowledged"
        );
        assert_eq!(shared.idle_advances.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn retry_delays_double_up_to_the_limit() {
        let max = Duration::from_secs(10);
        assert_eq!(retry_delay(1, max), Duration::from_millis(100));
        assert_eq!(retry_delay(2, max), Duration::from_millis(200));
        assert_eq!(retry_delay(5, max), Duration::from_millis(1600));
        assert_eq!(retry_delay(8, max), max);
        assert_eq!(retry_delay(u32::MAX, max), max);
        assert_eq!(
            retry_delay(3, Duration::from_millis(250)),
            Duration::from_millis(250)
        );
    }
}
