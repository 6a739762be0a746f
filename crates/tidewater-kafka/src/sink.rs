//! The [`Sink`] trait: ordered sending, per-record deliveries in send order.

use std::future::Future;

use crate::error::Result;
use crate::record::{Delivery, ProducerRecord};

/// Where serialized records go: Kafka ([`KafkaSink`](crate::KafkaSink)), memory
/// ([`MemorySink`](crate::MemorySink)) or JSON lines ([`JsonLinesSink`](crate::JsonLinesSink)).
///
/// # Contract
///
/// * [`send`](Self::send) queues records in order. Records of one partition are written in the
///   order they were sent, retries included. `send` may wait for room (backpressure) but does
///   not wait for acknowledgements.
/// * Every record gets one [`Delivery`] (topic, partition, offset) once the destination has
///   it durably (for Kafka: acknowledged by all in-sync replicas). Deliveries are reported in
///   the order the records were sent, as the longest acknowledged prefix: a delivery is never
///   reported while an earlier record is still pending, and never for a record that failed.
///   Each delivery is reported once, by [`acknowledged`](Self::acknowledged) or by
///   [`flush`](Self::flush).
/// * An error fails the sink: later calls return [`SinkError::Failed`](crate::SinkError::Failed)
///   (or the error itself), and `acknowledged` still returns the deliveries of the records
///   before the failure, so a caller can acknowledge exactly what is durable and resend the
///   rest from a new sink. Delivery is at least once: a record whose acknowledgement was lost
///   (a broker restart mid-request) may be written twice, in order.
///
/// A caller that needs the deliveries regularly (to acknowledge its own source) calls
/// `acknowledged` between sends, and `flush` where it needs everything durable. Between
/// sends it can wait on [`progress`](Self::progress) instead of polling on a timer.
pub trait Sink: Send {
    /// Queues `records`, in order, returning once they are all accepted.
    fn send(&mut self, records: Vec<ProducerRecord>) -> impl Future<Output = Result<()>> + Send;

    /// The deliveries acknowledged since the previous call, in send order, without waiting.
    fn acknowledged(&mut self) -> Vec<Delivery>;

    /// Resolves when [`acknowledged`](Self::acknowledged) may have something new to return
    /// (a destination answered), so that a caller learns of deliveries as they happen. It
    /// may resolve with nothing new (call it again). Cancel safe.
    ///
    /// The default never resolves: sinks without it are polled by their callers.
    /// [`KafkaSink`](crate::KafkaSink) resolves on every produce answer.
    fn progress(&mut self) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }

    /// Waits until every record sent so far is acknowledged, and returns the deliveries not
    /// yet returned, in send order. Fails with the first delivery error.
    fn flush(&mut self) -> impl Future<Output = Result<Vec<Delivery>>> + Send;
}
