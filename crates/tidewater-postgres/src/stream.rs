//! The running replication stream: whoever needs frames reads the socket.
//!
//! ```text
//!                     ┌─ read side ─► the consumer's next_batch reads, decodes and assembles
//!   server ─CopyData──┤               in place while it is asking for events (no hand-off);
//!                     │               lent to the keeper when it sits unused for 10 ms
//!                     └─ read side ─► keeper task: reads ahead into the backlog while the
//!                                     consumer is away (backlog + frames the consumer
//!                                     took from it ≤ max.queue.size)
//!   server ◄─ r ───── keeper task: status update every status.update.interval.ms and at once
//!                     when a keepalive asks; flush = acknowledged position only
//! ```
//!
//! The read side of the connection is parked in a [`Link`] shared by the
//! consumer ([`Feeder`]) and the keeper task. A consumer that keeps asking
//! reads the socket itself: a frame is decoded on the thread that read it,
//! with no queue, wake-up or thread hand-off per frame (such a hand-off cost
//! more CPU than decoding and assembling the frame). When the consumer stays
//! away for [`TAKEOVER_AFTER`], the keeper takes the read side and reads ahead
//! into a bounded backlog: keepalives keep being answered, the acknowledged
//! position keeps following idle WAL, and WAL keeps flowing while the
//! application is busy. The consumer drains the backlog before it asks for the
//! read side back. The consumer takes the whole backlog in one go (one lock
//! for many frames); frames it took and has not decoded yet still count
//! against `max.queue.size`, so the source never holds more than
//! `max.queue.size` frames read ahead, whether they sit in the backlog or in
//! the consumer's hands. When that bound is reached the keeper stops reading
//! (backpressure reaches the server through the socket) until the consumer has
//! worked some of them off; status updates keep flowing meanwhile, so the
//! server does not time the connection out. (Frames already decoded live on
//! in the events handed out, which share their bytes; those belong to the
//! caller.)
//!
//! Idle WAL: a keepalive's position says the server has sent everything
//! committed before it. When no transaction is open on the wire and the
//! application has acknowledged the end of everything received, nothing lies
//! between the acknowledged position and the keepalive's, so the acknowledged
//! position moves up to it. Without this, writes to unpublished tables would
//! hold WAL forever and a fast shutdown of the server would wait for the
//! source indefinitely (the walsender exits only once its client confirms all
//! it sent). A lost connection is re-established by the keeper with bounded,
//! doubling waits, resuming from the acknowledged position; the consumer is
//! told (`Feed::Reconnected`) so it can drop what it has already delivered.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use postgres_protocol::message::backend::Message as BackendMessage;
use tidewater_pgoutput::{Lsn, ReplicationFrame, StandbyStatusUpdate, unix_to_pg_micros};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::config::SourceConfig;
use crate::error::{Result, SourceError};
use crate::replication::{
    ReplicationConnection, ReplicationStream, StartOptions, log_notice, server_error,
};
use crate::tls::TlsSetup;
use crate::wire::{Backend, WireReader};

/// First wait before reconnecting; doubled per failed attempt up to the configured maximum.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);

/// How long the read side may sit unused before the keeper reads ahead in the
/// consumer's place (it looks this often, so it takes over after 10 to 20 ms).
pub(crate) const TAKEOVER_AFTER: Duration = Duration::from_millis(10);

/// What the consumer gets from the stream.
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

/// Counters shared by the readers, the keeper and the source.
///
/// `frames`, `bytes`, `last_received`, `server_wal_end` and `keepalives` are
/// written only by whoever holds the read side of the stream ([`StreamReader`]),
/// which passes between the consumer and the keeper under the link's lock, so
/// they are updated with plain stores; everyone else only reads them.
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

/// Everything the keeper needs to (re)connect.
pub(crate) struct StreamContext {
    pub(crate) config: Arc<SourceConfig>,
    pub(crate) tls: TlsSetup,
    pub(crate) slot: String,
    pub(crate) options: StartOptions,
    pub(crate) shared: Arc<Shared>,
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

fn read_u64(frame: &[u8], at: usize) -> Option<u64> {
    frame
        .get(at..at + 8)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_be_bytes)
}

impl WireState {
    fn observe(&mut self, frame: &[u8]) {
        match frame.get(MESSAGE_OFFSET) {
            Some(b'B') => self.in_transaction = true,
            Some(b'C') => {
                self.in_transaction = false;
                // Commit: tag, flags, commit LSN, end LSN.
                if let Some(end) = read_u64(frame, MESSAGE_OFFSET + 10) {
                    self.last_end = self.last_end.max(end);
                }
            }
            Some(b'M') if !self.in_transaction => {
                // Message: tag, flags, LSN, prefix. The source's own catch-up
                // marker is never handed out, so never acknowledged: it counts
                // as idle WAL.
                let prefix = frame.get(MESSAGE_OFFSET + 10..);
                let marker = crate::source::CATCH_UP_MARKER.as_bytes();
                if prefix.is_some_and(|p| p.starts_with(marker) && p.get(marker.len()) == Some(&0))
                {
                    return;
                }
                if let Some(lsn) = read_u64(frame, MESSAGE_OFFSET + 2) {
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

/// Adds to a counter only the holder of the read side writes (see [`Shared`]):
/// a plain load and store, no locked read-modify-write per frame.
fn add(counter: &AtomicU64, by: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(by),
        Ordering::Relaxed,
    );
}

/// Raises a position only the holder of the read side writes (see [`Shared`]).
fn raise(position: &AtomicU64, to: u64) {
    if to > position.load(Ordering::Relaxed) {
        position.store(to, Ordering::Relaxed);
    }
}

/// What a reader of the stream has to act on.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// An XLogData (`w`) frame.
    Data(Bytes),
    /// A keepalive asked for a status update at once.
    ReplyRequested,
}

/// The read side of a running stream and what its frames told so far.
/// Keepalives are handled while reading; only XLogData frames and requests
/// for a reply come out.
pub(crate) struct StreamReader {
    wire: WireReader,
    slot: Arc<str>,
    state: WireState,
    /// Whether anything arrived on this connection.
    received: bool,
}

impl StreamReader {
    fn new(wire: WireReader, slot: &str) -> StreamReader {
        StreamReader {
            wire,
            slot: Arc::from(slot),
            state: WireState::default(),
            received: false,
        }
    }

    fn context(&self) -> String {
        format!("streaming from slot {}", self.slot)
    }

    /// The next frame to act on, reading the socket when nothing complete is
    /// buffered. Cancel-safe.
    pub(crate) async fn next(&mut self, shared: &Shared) -> Result<Incoming> {
        loop {
            let message = match self.wire.read().await {
                Ok(message) => message,
                Err(e) => return Err(SourceError::io(self.context(), e)),
            };
            if let Some(incoming) = self.handle(message, shared)? {
                return Ok(incoming);
            }
        }
    }

    /// The next frame to act on among those buffered or already waiting in
    /// the socket; `None` when getting one needs to wait.
    pub(crate) fn next_ready(&mut self, shared: &Shared) -> Result<Option<Incoming>> {
        loop {
            let message = match self.wire.buffered() {
                Ok(Some(message)) => message,
                Ok(None) => match self.wire.fill_now() {
                    Ok(true) => continue,
                    Ok(false) => return Ok(None),
                    Err(e) => return Err(SourceError::io(self.context(), e)),
                },
                Err(e) => return Err(SourceError::io(self.context(), e)),
            };
            if let Some(incoming) = self.handle(message, shared)? {
                return Ok(Some(incoming));
            }
        }
    }

    fn handle(&mut self, message: Backend, shared: &Shared) -> Result<Option<Incoming>> {
        let frame = match message {
            Backend::CopyData(frame) => frame,
            // A walsender that shuts down ends the copy with CommandComplete.
            Backend::CopyDone | Backend::Message(BackendMessage::CommandComplete(_)) => {
                return Err(SourceError::Closed(
                    "the server ended the replication stream".to_owned(),
                ));
            }
            Backend::Message(BackendMessage::ErrorResponse(body)) => {
                return Err(server_error(body.fields(), self.context()).into());
            }
            Backend::Message(BackendMessage::NoticeResponse(body)) => {
                log_notice(body.fields());
                return Ok(None);
            }
            Backend::Message(BackendMessage::ParameterStatus(_)) => return Ok(None),
            _ => {
                return Err(SourceError::protocol(
                    self.context(),
                    "unexpected message during CopyBoth",
                ));
            }
        };
        self.received = true;
        match frame.first() {
            Some(b'w') => {
                if let (Some(start), Some(end)) = (read_u64(&frame, 1), read_u64(&frame, 9)) {
                    shared.last_received.store(start, Ordering::Relaxed);
                    raise(&shared.server_wal_end, end);
                }
                self.state.observe(&frame);
                add(&shared.frames, 1);
                add(&shared.bytes, frame.len() as u64);
                Ok(Some(Incoming::Data(frame)))
            }
            Some(b'k') => match ReplicationFrame::decode(&frame) {
                Ok(ReplicationFrame::PrimaryKeepalive(k)) => {
                    add(&shared.keepalives, 1);
                    raise(&shared.server_wal_end, k.wal_end.0);
                    self.state.advance_idle(shared, k.wal_end);
                    Ok(k.reply_requested.then_some(Incoming::ReplyRequested))
                }
                Ok(_) | Err(_) => Err(SourceError::protocol(
                    self.context(),
                    "a malformed keepalive frame",
                )),
            },
            other => Err(SourceError::protocol(
                self.context(),
                format!("unknown CopyData frame type {other:?}"),
            )),
        }
    }
}

/// What the consumer and the keeper share.
pub(crate) struct Link {
    state: Mutex<LinkState>,
    /// Wakes the keeper: the consumer wants the read side back, a keepalive
    /// asked for a reply, or the consumer's read failed.
    keeper: Notify,
    /// Wakes the consumer: the read side was parked, or the backlog grew.
    consumer: Notify,
    /// Frames the consumer took from the backlog and has not handed out yet;
    /// they count against `max.queue.size` with the backlog. Written only by
    /// the consumer (set under the lock when it takes the backlog, lowered
    /// as it hands frames out); the keeper may see a value that is a little
    /// high, never one that is too low.
    taken: AtomicUsize,
    /// The keeper stopped reading ahead because the bound was reached: the
    /// consumer wakes it once it has worked some frames off.
    stalled: AtomicBool,
}

/// What the consumer got from [`Link::claim`].
enum Claim {
    /// The backlog, moved into the consumer's hands.
    Backlog,
    /// The parked read side.
    Reader(StreamReader),
    /// The keeper has ended.
    Ended,
    /// The keeper has the read side, or none exists (reconnecting).
    Busy,
}

#[derive(Default)]
struct LinkState {
    /// The read side, when nobody is using it.
    reader: Option<StreamReader>,
    /// When the read side was parked.
    parked_at: Option<Instant>,
    /// What the keeper read ahead (and its markers), in order.
    backlog: VecDeque<Feed>,
    /// The consumer waits for the keeper to park the read side.
    wanted: bool,
    /// A keepalive read by the consumer asked for a reply.
    reply: bool,
    /// The consumer's read failed (whether anything had arrived on that
    /// connection): the keeper reconnects.
    failure: Option<(SourceError, bool)>,
    /// The keeper has ended: nothing comes after the backlog.
    ended: bool,
}

impl Link {
    fn lock(&self) -> MutexGuard<'_, LinkState> {
        // No code panics while holding the lock; recover the state if one did.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the consumer wants the read side, and whether a reply was
    /// asked for (the request is taken).
    fn requests(&self) -> (bool, bool) {
        let mut state = self.lock();
        (state.wanted, std::mem::take(&mut state.reply))
    }

    /// Takes a backlog, the parked read side, or registers that the consumer
    /// wants it.
    fn claim(&self, taken: &mut VecDeque<Feed>, wait: bool) -> Claim {
        let mut state = self.lock();
        if !state.backlog.is_empty() {
            std::mem::swap(taken, &mut state.backlog);
            self.taken.store(taken.len(), Ordering::Relaxed);
            return Claim::Backlog;
        }
        if let Some(reader) = state.reader.take() {
            state.wanted = false;
            state.parked_at = None;
            return Claim::Reader(reader);
        }
        if state.ended {
            return Claim::Ended;
        }
        if wait {
            state.wanted = true;
        }
        Claim::Busy
    }

    /// Parks the read side of a stream that just started. A stream without
    /// one cannot be read: the consumer is told it failed.
    fn start(&self, wire: Option<WireReader>, slot: &str) {
        match wire {
            Some(wire) => self.park(StreamReader::new(wire, slot)),
            None => {
                let mut state = self.lock();
                state.backlog.push_back(Feed::Failed(SourceError::protocol(
                    format!("streaming from slot {slot}"),
                    "the replication connection has no read side",
                )));
                state.ended = true;
                drop(state);
                self.consumer.notify_one();
            }
        }
    }

    /// Whether the keeper stopped reading ahead for want of room, as seen by
    /// the consumer after handing frames out.
    fn stalled(&self) -> bool {
        // Pairs with the keeper's fence: it sees the frames handed out, or
        // this sees that it stalled.
        fence(Ordering::SeqCst);
        self.stalled.load(Ordering::Relaxed)
    }

    fn park(&self, reader: StreamReader) {
        let mut state = self.lock();
        state.reader = Some(reader);
        state.parked_at = Some(Instant::now());
        drop(state);
        self.consumer.notify_one();
    }
}

/// The consumer's end of the stream.
pub(crate) struct Feeder {
    link: Arc<Link>,
    shared: Arc<Shared>,
    /// Items taken from the backlog in one go, handed out before anything else.
    taken: VecDeque<Feed>,
}

/// The read side while the consumer uses it; parked again when dropped (also
/// when the consumer's future is cancelled).
pub(crate) struct Lease {
    link: Arc<Link>,
    reader: Option<StreamReader>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            self.link.park(reader);
        } else if self.link.stalled() {
            // The keeper waits for room that frames handed out meanwhile made.
            self.link.keeper.notify_one();
        }
    }
}

impl Feeder {
    /// A lease to read with; it holds the read side only once
    /// [`next`](Self::next) needed it.
    pub(crate) fn lease(&self) -> Lease {
        Lease {
            link: Arc::clone(&self.link),
            reader: None,
        }
    }

    /// Frames read ahead and not handed out yet: the backlog and what the
    /// consumer took from it.
    pub(crate) fn queued(&self) -> usize {
        self.taken.len() + self.link.lock().backlog.len()
    }

    /// The next item: from the backlog first, then straight from the socket.
    /// With `wait` false, `None` when nothing can be had without waiting.
    /// Cancel-safe.
    pub(crate) async fn next(&mut self, lease: &mut Lease, wait: bool) -> Option<Feed> {
        loop {
            if let Some(item) = self.taken.pop_front() {
                self.link.taken.store(self.taken.len(), Ordering::Relaxed);
                return Some(item);
            }
            let Some(reader) = lease.reader.as_mut() else {
                match self.link.claim(&mut self.taken, wait) {
                    Claim::Backlog => {}
                    Claim::Reader(reader) => lease.reader = Some(reader),
                    Claim::Ended => {
                        return Some(Feed::Failed(SourceError::Closed(
                            "the replication stream stopped".to_owned(),
                        )));
                    }
                    Claim::Busy if !wait => return None,
                    Claim::Busy => {
                        // The keeper reads ahead or reconnects: it was asked
                        // for the read side.
                        self.link.keeper.notify_one();
                        self.link.consumer.notified().await;
                    }
                }
                continue;
            };
            let step = if wait {
                reader.next(&self.shared).await.map(Some)
            } else {
                reader.next_ready(&self.shared)
            };
            match step {
                Ok(Some(Incoming::Data(frame))) => return Some(Feed::Frame(frame)),
                Ok(Some(Incoming::ReplyRequested)) => {
                    self.link.lock().reply = true;
                    self.link.keeper.notify_one();
                }
                Ok(None) => return None,
                Err(error) => {
                    let received = reader.received;
                    lease.reader = None;
                    self.link.lock().failure = Some((error, received));
                    self.link.keeper.notify_one();
                }
            }
        }
    }
}

/// Starts the keeper over a stream that is already in CopyBoth mode.
pub(crate) fn spawn(
    mut stream: ReplicationStream,
    context: StreamContext,
    stop: CancellationToken,
) -> (Feeder, JoinHandle<Result<()>>) {
    let link = Arc::new(Link {
        state: Mutex::new(LinkState::default()),
        keeper: Notify::new(),
        consumer: Notify::new(),
        taken: AtomicUsize::new(0),
        stalled: AtomicBool::new(false),
    });
    link.start(stream.take_reader(), stream.slot());
    let feeder = Feeder {
        link: Arc::clone(&link),
        shared: Arc::clone(&context.shared),
        taken: VecDeque::new(),
    };
    let task = tokio::spawn(Keeper::new(stream, context, link, stop).run());
    (feeder, task)
}

/// How reading ahead ended.
enum ReadAhead {
    /// The consumer took the read side back.
    Returned,
    /// Asked to stop; the read side is back with the keeper.
    Stopped(StreamReader),
    /// The stream failed; whether anything had arrived on this connection.
    Failed(SourceError, bool),
}

/// The keeper task: status updates, reading ahead, reconnecting, shutdown.
struct Keeper {
    stream: ReplicationStream,
    context: StreamContext,
    link: Arc<Link>,
    stop: CancellationToken,
    status: tokio::time::Interval,
    check: tokio::time::Interval,
    /// A status update failed: the connection is broken, reading it will end.
    broken: bool,
    /// Tells the consumer when the keeper is gone, however it ended.
    _ended: Ended,
}

/// Marks the link ended when dropped, so a consumer never waits for a keeper
/// that is gone (returned, failed or aborted).
struct Ended(Arc<Link>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.lock().ended = true;
        self.0.consumer.notify_one();
    }
}

enum Wake {
    Stop,
    Status,
    Notified,
    Check,
}

impl Keeper {
    fn new(
        stream: ReplicationStream,
        context: StreamContext,
        link: Arc<Link>,
        stop: CancellationToken,
    ) -> Keeper {
        let every = context.config.status_update_interval;
        let mut status = tokio::time::interval_at(Instant::now() + every, every);
        status.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut check = tokio::time::interval_at(Instant::now() + TAKEOVER_AFTER, TAKEOVER_AFTER);
        check.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Keeper {
            stream,
            context,
            _ended: Ended(Arc::clone(&link)),
            link,
            stop,
            status,
            check,
            broken: false,
        }
    }

    async fn run(mut self) -> Result<()> {
        let mut attempts: u32 = 0;
        loop {
            let wake = tokio::select! {
                biased;
                () = self.stop.cancelled() => Wake::Stop,
                _ = self.status.tick() => Wake::Status,
                () = self.link.keeper.notified() => Wake::Notified,
                _ = self.check.tick() => Wake::Check,
            };
            let failure = match wake {
                Wake::Stop => {
                    let reader = self.link.lock().reader.take();
                    return self.shutdown(reader).await;
                }
                Wake::Status => self.status_update().await,
                Wake::Notified => {
                    let (reply, failure) = {
                        let mut state = self.link.lock();
                        (std::mem::take(&mut state.reply), state.failure.take())
                    };
                    match failure {
                        Some(failure) => Some(failure),
                        None if reply => self.status_update().await,
                        None => None,
                    }
                }
                Wake::Check => {
                    let reader = {
                        let mut state = self.link.lock();
                        let idle = state
                            .parked_at
                            .is_some_and(|at| self.broken || at.elapsed() >= TAKEOVER_AFTER);
                        if idle { state.reader.take() } else { None }
                    };
                    match reader {
                        Some(reader) if self.broken => Some((
                            SourceError::Closed("a status update failed".to_owned()),
                            reader.received,
                        )),
                        Some(reader) => {
                            let outcome = self.read_ahead(reader).await;
                            // Not reading ahead: no room to wake the keeper for.
                            self.link.stalled.store(false, Ordering::Relaxed);
                            match outcome {
                                ReadAhead::Returned => None,
                                ReadAhead::Stopped(reader) => {
                                    return self.shutdown(Some(reader)).await;
                                }
                                ReadAhead::Failed(error, received) => Some((error, received)),
                            }
                        }
                        None => None,
                    }
                }
            };
            if let Some((error, received)) = failure {
                if received {
                    attempts = 0;
                }
                if !self.recover(error, &mut attempts).await? {
                    return Ok(());
                }
            }
        }
    }

    /// Sends a status update. A failure breaks the connection: when the read
    /// side is parked that is the failure to recover from; when the consumer
    /// holds it, the shut-down connection ends its read.
    async fn status_update(&mut self) -> Option<(SourceError, bool)> {
        if self.broken {
            return None;
        }
        let Err(error) = send_status(&mut self.stream, &self.context).await else {
            return None;
        };
        self.broken = true;
        self.stream.abort().await;
        let parked = self.link.lock().reader.take();
        parked.map(|reader| (error, reader.received))
    }

    /// Reads ahead into the backlog until the consumer wants the read side
    /// back, the keeper is stopped or the stream fails. The backlog and the
    /// frames the consumer took from it stay within `max.queue.size`.
    async fn read_ahead(&mut self, mut reader: StreamReader) -> ReadAhead {
        let limit = self.context.config.max_queue_size;
        let shared = Arc::clone(&self.context.shared);
        loop {
            // Said before looking, so that a consumer handing frames out
            // meanwhile either is seen here or sees this and wakes the keeper.
            self.link.stalled.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            let held = self.link.lock().backlog.len() + self.link.taken.load(Ordering::Relaxed);
            let room = held < limit;
            if room {
                self.link.stalled.store(false, Ordering::Relaxed);
            }
            tokio::select! {
                biased;
                () = self.stop.cancelled() => return ReadAhead::Stopped(reader),
                _ = self.status.tick() => {
                    if let Err(error) = send_status(&mut self.stream, &self.context).await {
                        return ReadAhead::Failed(error, reader.received);
                    }
                }
                () = self.link.keeper.notified() => {
                    let (wanted, reply) = self.link.requests();
                    if wanted {
                        self.link.stalled.store(false, Ordering::Relaxed);
                        self.link.park(reader);
                        return ReadAhead::Returned;
                    }
                    if reply
                        && let Err(error) = send_status(&mut self.stream, &self.context).await
                    {
                        return ReadAhead::Failed(error, reader.received);
                    }
                }
                incoming = reader.next(&shared), if room => match incoming {
                    Ok(Incoming::Data(frame)) => {
                        self.link.lock().backlog.push_back(Feed::Frame(frame));
                        self.link.consumer.notify_one();
                    }
                    Ok(Incoming::ReplyRequested) => {
                        if let Err(error) = send_status(&mut self.stream, &self.context).await {
                            return ReadAhead::Failed(error, reader.received);
                        }
                    }
                    Err(error) => return ReadAhead::Failed(error, reader.received),
                },
            }
        }
    }

    /// Reconnects after a failure. `Ok(true)` once streaming again, `Ok(false)`
    /// when asked to stop meanwhile; an error when giving up (the consumer
    /// is told through the backlog).
    async fn recover(&mut self, error: SourceError, attempts: &mut u32) -> Result<bool> {
        tracing::warn!(slot = %self.context.slot, %error, "replication stream failed");
        match reconnect(&self.context, &self.stop, error, attempts).await {
            Ok(Some(mut stream)) => {
                let reader = stream.take_reader();
                self.stream = stream;
                self.broken = false;
                self.context
                    .shared
                    .reconnects
                    .fetch_add(1, Ordering::Relaxed);
                // Told to the consumer ahead of the new stream's first frame.
                self.link.lock().backlog.push_back(Feed::Reconnected);
                self.link.start(reader, &self.context.slot);
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(error) => {
                let message = error.to_string();
                let mut state = self.link.lock();
                state.backlog.push_back(Feed::Failed(error));
                state.ended = true;
                drop(state);
                self.link.consumer.notify_one();
                Err(SourceError::Closed(message))
            }
        }
    }

    /// Reports the final acknowledged position and ends the stream with
    /// CopyDone; drops the slot when configured to. A connection that failed
    /// (no read side, or a failed status update) is just closed; it cannot
    /// drop the slot, which `slot.drop.on.stop` then learns from the error.
    async fn shutdown(mut self, reader: Option<StreamReader>) -> Result<()> {
        let reader = match reader {
            Some(reader) if !self.broken => reader,
            _ => {
                self.stream.abort().await;
                return if self.context.config.slot_drop_on_stop {
                    Err(SourceError::Closed(
                        "the replication connection failed before the slot could be dropped"
                            .to_owned(),
                    ))
                } else {
                    Ok(())
                };
            }
        };
        send_status(&mut self.stream, &self.context).await?;
        self.stream.put_reader(reader.wire);
        let mut connection = self.stream.finish().await?;
        if self.context.config.slot_drop_on_stop {
            connection.drop_slot(&self.context.slot, true).await?;
        }
        connection.close().await;
        Ok(())
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
    fn the_catch_up_marker_is_idle_wal() {
        let shared = Shared::default();
        shared.acknowledged.store(0x100, Ordering::Release);
        let mut wire = WireState::default();
        let message = |prefix: &str, lsn| {
            frame(Message::Message(LogicalMessage {
                xid: None,
                flags: 0,
                lsn: Lsn(lsn),
                prefix: prefix.into(),
                content: Bytes::new(),
            }))
        };
        // Never handed out, so never acknowledged: a keepalive passes it.
        wire.observe(&message(crate::source::CATCH_UP_MARKER, 0x200));
        wire.advance_idle(&shared, Lsn(0x300));
        assert_eq!(shared.acknowledged(), Lsn(0x300));
        // A prefix that only starts like it is an ordinary message.
        wire.observe(&message("tidewater.catch_up2", 0x400));
        wire.advance_idle(&shared, Lsn(0x500));
        assert_eq!(shared.acknowledged(), Lsn(0x300));
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
