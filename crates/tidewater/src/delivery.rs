//! Record positions and delivery tracking: which source position is done
//! once the sink has delivered which records.
//!
//! ```text
//!  records, numbered in send order:  1  2  3  4  5  6  7  8  9
//!  markers ("done when ≤ n are delivered"):   T1@3      T2@6  T3@6 (all filtered)  T4@9
//!  sink reports the longest delivered prefix: 7
//!  ─► T1, T2 and T3 are done: the position is T3's end LSN; T4 waits for 8 and 9
//! ```
//!
//! The [`Sink`](tidewater_kafka::Sink) contract reports deliveries in send
//! order as the longest acknowledged prefix across all partitions, so the
//! tracker is a counter and a queue of markers: no per-record state, no
//! per-partition bookkeeping, memory proportional to the markers in flight.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use tidewater_pgoutput::Lsn;

use crate::offsets::SourceOffset;

/// Where a record's event stands in the replication stream: the commit LSN of
/// its transaction and the event's index within the transaction.
///
/// Every record carries it in the [`POSITION_HEADER`](crate::POSITION_HEADER)
/// header as `<commit LSN as an unsigned decimal>/<index>` (Debezium's numeric
/// LSNs). Positions order the records of a replication stream, so a consumer
/// that remembers the highest position per topic and partition can drop the
/// records replayed after a restart. Snapshot records carry the snapshot's LSN
/// and a running row index.
///
/// ```
/// use tidewater::Position;
/// use tidewater::pgoutput::Lsn;
///
/// let p: Position = "24376920/3".parse()?;
/// assert_eq!(p, Position::new(Lsn(24_376_920), 3));
/// assert_eq!(p.to_string(), "24376920/3");
/// assert!(p < Position::new(Lsn(24_376_920), 4));
/// # Ok::<(), tidewater::ParsePositionError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// The commit LSN of the event's transaction (for a snapshot, the
    /// snapshot's LSN; for a message outside a transaction, its LSN).
    pub commit_lsn: Lsn,
    /// The event's index within its transaction, from 0.
    pub index: u64,
}

impl Position {
    /// A position.
    pub const fn new(commit_lsn: Lsn, index: u64) -> Self {
        Position { commit_lsn, index }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.commit_lsn.0, self.index)
    }
}

/// A [`Position`] header value that does not read as `<u64>/<u64>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid record position {text:?}: {reason}")]
#[non_exhaustive]
pub struct ParsePositionError {
    /// The text given.
    pub text: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl FromStr for Position {
    type Err = ParsePositionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParsePositionError {
            text: text.to_owned(),
            reason,
        };
        let (lsn, index) = text
            .split_once('/')
            .ok_or_else(|| err("expected <commit LSN>/<index>"))?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(lsn) {
            return Err(err("the commit LSN is not an unsigned decimal"));
        }
        if !digits(index) {
            return Err(err("the index is not an unsigned decimal"));
        }
        let lsn = lsn
            .parse::<u64>()
            .map_err(|_| err("the commit LSN does not fit 64 bits"))?;
        let index = index
            .parse::<u64>()
            .map_err(|_| err("the index does not fit 64 bits"))?;
        Ok(Position::new(Lsn(lsn), index))
    }
}

/// Turns in-order delivery counts into the last fully delivered source position.
///
/// Records get sequence numbers in send order ([`sent`](Self::sent)); a marker
/// ([`mark`](Self::mark)) says "once the first `n` records are delivered,
/// `offset` is done". [`delivered`](Self::delivered) advances the count and
/// completes the markers it covers.
#[derive(Debug, Default)]
pub(crate) struct DeliveryTracker {
    sent: u64,
    delivered: u64,
    marks: VecDeque<(u64, SourceOffset)>,
    position: Option<SourceOffset>,
}

impl DeliveryTracker {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Numbers `n` more records; returns how many were sent before them.
    pub(crate) fn sent(&mut self, n: usize) -> u64 {
        let base = self.sent;
        self.sent = self.sent.saturating_add(n as u64);
        base
    }

    /// `offset` is done once the first `upto` records are delivered. Markers
    /// come in stream order; `upto` is capped at what was sent.
    pub(crate) fn mark(&mut self, upto: u64, offset: SourceOffset) {
        let upto = upto.min(self.sent);
        if upto <= self.delivered && self.marks.is_empty() {
            self.position = Some(offset);
        } else {
            self.marks.push_back((upto, offset));
        }
    }

    /// `n` more records were delivered, in send order. Returns whether the
    /// position moved. Counts beyond what was sent are ignored (a sink
    /// breaking its contract never makes the tracker run ahead).
    pub(crate) fn delivered(&mut self, n: u64) -> bool {
        let before = self.delivered;
        self.delivered = self.delivered.saturating_add(n).min(self.sent);
        if self.delivered != before.saturating_add(n) {
            tracing::warn!(
                reported = n,
                outstanding = self.sent - before,
                "the sink reported more deliveries than records sent; ignoring the excess"
            );
        }
        let mut moved = false;
        while let Some((upto, _)) = self.marks.front() {
            if *upto > self.delivered {
                break;
            }
            if let Some((_, offset)) = self.marks.pop_front() {
                self.position = Some(offset);
                moved = true;
            }
        }
        moved
    }

    /// The last offset whose records are all delivered.
    pub(crate) fn position(&self) -> Option<&SourceOffset> {
        self.position.as_ref()
    }

    /// Records sent and not yet delivered.
    pub(crate) fn pending(&self) -> u64 {
        self.sent - self.delivered
    }

    /// Records delivered so far.
    pub(crate) fn delivered_count(&self) -> u64 {
        self.delivered
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use proptest::prelude::*;

    use super::*;

    fn at(lsn: u64) -> SourceOffset {
        SourceOffset {
            lsn: Lsn(lsn),
            ..SourceOffset::default()
        }
    }

    #[test]
    fn markers_complete_in_order() {
        let mut t = DeliveryTracker::new();
        assert_eq!(t.sent(3), 0);
        t.mark(3, at(10));
        assert_eq!(t.sent(3), 3);
        t.mark(6, at(20));
        // A transaction whose records were all filtered.
        t.mark(6, at(30));
        t.sent(3);
        t.mark(9, at(40));
        assert!(!t.delivered(2));
        assert_eq!(t.position(), None);
        assert!(t.delivered(5));
        assert_eq!(t.position().unwrap().lsn, Lsn(30));
        assert_eq!(t.pending(), 2);
        assert!(t.delivered(2));
        assert_eq!(t.position().unwrap().lsn, Lsn(40));
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn a_marker_with_nothing_outstanding_is_done_at_once() {
        let mut t = DeliveryTracker::new();
        t.mark(0, at(5));
        assert_eq!(t.position().unwrap().lsn, Lsn(5));
        t.sent(1);
        t.mark(1, at(6));
        assert_eq!(t.position().unwrap().lsn, Lsn(5));
        t.delivered(1);
        t.mark(1, at(7));
        assert_eq!(t.position().unwrap().lsn, Lsn(7));
    }

    #[test]
    fn excess_deliveries_never_run_ahead() {
        let mut t = DeliveryTracker::new();
        t.sent(2);
        t.mark(2, at(1));
        t.sent(2);
        t.mark(4, at(2));
        t.delivered(10);
        assert_eq!(t.delivered_count(), 4);
        t.sent(1);
        t.mark(5, at(3));
        assert_eq!(t.position().unwrap().lsn, Lsn(2));
    }

    #[test]
    fn positions_parse_and_print() {
        let p = Position::new(Lsn(u64::MAX), 0);
        assert_eq!(p.to_string().parse::<Position>().unwrap(), p);
        for bad in [
            "", "1", "1/", "/1", "a/1", "1/b", "-1/1", "1/+1", "1/1/1", " 1/1",
        ] {
            assert!(bad.parse::<Position>().is_err(), "{bad:?}");
        }
        assert!("18446744073709551616/0".parse::<Position>().is_err());
    }

    proptest! {
        #[test]
        fn position_text_round_trips(lsn in any::<u64>(), index in any::<u64>()) {
            let p = Position::new(Lsn(lsn), index);
            prop_assert_eq!(p.to_string().parse::<Position>().unwrap(), p);
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,40}") {
            let _ = text.parse::<Position>();
        }

        /// Transactions of random sizes (some empty), delivered in random
        /// chunks: the position is always the last transaction whose records
        /// are all delivered, never one with an undelivered record.
        #[test]
        fn the_position_never_passes_an_undelivered_record(
            sizes in prop::collection::vec(0usize..6, 1..40),
            chunks in prop::collection::vec(0u64..8, 1..60),
        ) {
            let mut t = DeliveryTracker::new();
            // (records sent before the end of transaction i, i)
            let mut ends = Vec::new();
            for (i, size) in sizes.iter().enumerate() {
                let base = t.sent(*size);
                let end = base + *size as u64;
                t.mark(end, at(i as u64 + 1));
                ends.push(end);
            }
            let total: u64 = sizes.iter().map(|s| *s as u64).sum();
            let mut delivered = 0u64;
            for chunk in chunks {
                t.delivered(chunk);
                delivered = (delivered + chunk).min(total);
                let done = ends.iter().take_while(|&&e| e <= delivered).count();
                match t.position() {
                    None => prop_assert_eq!(done, 0),
                    Some(p) => prop_assert_eq!(p.lsn, Lsn(done as u64)),
                }
                prop_assert_eq!(t.pending(), total - delivered);
            }
        }
    }
}
