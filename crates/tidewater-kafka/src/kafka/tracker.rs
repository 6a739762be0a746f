//! Turns batch completions, which arrive per partition and in any order across partitions,
//! into deliveries in send order: the longest acknowledged prefix, stopping for good at the
//! first record that failed.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::error::{Result, SinkError};
use crate::record::Delivery;

/// The outcome of one batch of one partition.
#[derive(Debug)]
pub(crate) struct Completion {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: i32,
    /// Sequence numbers of the batch's records, in order.
    pub(crate) seqs: Vec<u64>,
    /// The offsets of the records, or why the batch failed.
    pub(crate) outcome: Result<Vec<i64>, SinkError>,
}

#[derive(Debug)]
enum Slot {
    Pending,
    Acknowledged(Delivery),
    Failed,
}

#[derive(Debug, Default)]
pub(crate) struct Tracker {
    /// Sequence number of `pending.front()`.
    first_seq: u64,
    /// Sequence number of the next record sent.
    next_seq: u64,
    /// One slot per record not yet reported, in send order.
    pending: VecDeque<Slot>,
    /// How many of `pending` are `Slot::Pending` (no outcome yet).
    unresolved: usize,
    /// The first record that failed; nothing from it on is reported.
    failed_seq: Option<u64>,
    /// The first error, not yet returned to the caller.
    error: Option<SinkError>,
    /// The first error as text, once returned (or recorded by `fail_next`).
    failure: Option<String>,
}

impl Tracker {
    /// The sequence number the next record gets.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Registers a record sent; returns its sequence number.
    pub(crate) fn push(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push_back(Slot::Pending);
        self.unresolved += 1;
        seq
    }

    /// Fails with the first error (once), or with `Failed` after that.
    pub(crate) fn check(&mut self) -> Result<()> {
        if let Some(error) = self.error.take() {
            self.failure = Some(error.to_string());
            return Err(error);
        }
        match &self.failure {
            Some(cause) => Err(SinkError::Failed {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Records an error found while sending the next record (which is not registered): the
    /// records before it may still be delivered, none from it on.
    pub(crate) fn fail_next(&mut self, error: &SinkError) {
        self.fail_at(self.next_seq, error);
    }

    /// Records an error found while sending record `at` (registered or not): the records
    /// before it may still be delivered, none from it on.
    pub(crate) fn fail_at(&mut self, at: u64, error: &SinkError) {
        if self.failed_seq.is_none_or(|f| at < f) {
            self.failed_seq = Some(at);
        }
        if self.failure.is_none() {
            // The caller gets `error` itself; later calls get `Failed`.
            self.failure = Some(error.to_string());
            self.error = None;
        }
    }

    pub(crate) fn apply(&mut self, completion: Completion) {
        let offsets = completion.outcome.as_ref().ok();
        for (i, seq) in completion.seqs.iter().enumerate() {
            let index = seq
                .checked_sub(self.first_seq)
                .and_then(|i| usize::try_from(i).ok());
            if let Some(slot) = index.and_then(|i| self.pending.get_mut(i)) {
                if matches!(slot, Slot::Pending) {
                    self.unresolved -= 1;
                }
                *slot = match offsets.and_then(|offsets| offsets.get(i)) {
                    Some(&offset) => Slot::Acknowledged(Delivery {
                        topic: Arc::clone(&completion.topic),
                        partition: completion.partition,
                        offset,
                    }),
                    None => Slot::Failed,
                };
            }
        }
        if let Err(error) = completion.outcome {
            let first = completion
                .seqs
                .iter()
                .copied()
                .min()
                .unwrap_or(self.next_seq);
            if self.failed_seq.is_none_or(|f| first < f) {
                self.failed_seq = Some(first);
            }
            if self.failure.is_none() {
                // Keep the first real error; records halted because of it report `Failed`,
                // and those reports may arrive first.
                let halted = matches!(error, SinkError::Failed { .. });
                let replace = match &self.error {
                    None => true,
                    Some(SinkError::Failed { .. }) => !halted,
                    Some(_) => false,
                };
                if replace {
                    self.error = Some(error);
                }
            }
        }
    }

    /// The acknowledged prefix not yet returned.
    pub(crate) fn take_acknowledged(&mut self) -> Vec<Delivery> {
        let mut out = Vec::new();
        while self.failed_seq.is_none_or(|failed| self.first_seq < failed)
            && matches!(self.pending.front(), Some(Slot::Acknowledged(_)))
        {
            if let Some(Slot::Acknowledged(delivery)) = self.pending.pop_front() {
                out.push(delivery);
            }
            self.first_seq += 1;
        }
        out
    }

    /// Whether `take_acknowledged` would return something.
    pub(crate) fn prefix_ready(&self) -> bool {
        self.failed_seq.is_none_or(|failed| self.first_seq < failed)
            && matches!(self.pending.front(), Some(Slot::Acknowledged(_)))
    }

    /// Whether a record before the failure point (any record, without a failure) still
    /// awaits its outcome.
    pub(crate) fn awaiting(&self) -> bool {
        if self.unresolved == 0 {
            return false;
        }
        if self.failed_seq.is_none() {
            return true;
        }
        let limit = self.failed_seq.map_or(usize::MAX, |f| {
            usize::try_from(f.saturating_sub(self.first_seq)).unwrap_or(usize::MAX)
        });
        self.pending
            .iter()
            .take(limit)
            .any(|slot| matches!(slot, Slot::Pending))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use proptest::prelude::*;

    use super::*;

    fn done(partition: i32, seqs: &[u64], first_offset: i64) -> Completion {
        Completion {
            topic: Arc::from("t"),
            partition,
            seqs: seqs.to_vec(),
            outcome: Ok((0..seqs.len())
                .map(|i| first_offset + i64::try_from(i).unwrap())
                .collect()),
        }
    }

    fn failed(partition: i32, seqs: &[u64], error: SinkError) -> Completion {
        Completion {
            topic: Arc::from("t"),
            partition,
            seqs: seqs.to_vec(),
            outcome: Err(error),
        }
    }

    fn broker_error() -> SinkError {
        SinkError::Broker {
            topic: Arc::from("t"),
            partition: 1,
            records: 1,
            error: "MessageTooLarge".to_owned(),
            message: "too large".to_owned(),
        }
    }

    #[test]
    fn reports_in_send_order_whatever_the_completion_order() {
        let mut t = Tracker::default();
        for _ in 0..6 {
            t.push();
        }
        // Partition 1 (records 1, 3, 5) completes before partition 0 (0, 2, 4).
        t.apply(done(1, &[1, 3, 5], 10));
        assert!(t.take_acknowledged().is_empty());
        assert!(t.awaiting());
        t.apply(done(0, &[0, 2], 20));
        let got: Vec<(i32, i64)> = t
            .take_acknowledged()
            .iter()
            .map(|d| (d.partition, d.offset))
            .collect();
        assert_eq!(got, [(0, 20), (1, 10), (0, 21), (1, 11)]);
        t.apply(done(0, &[4], 22));
        assert_eq!(t.take_acknowledged().len(), 2);
        assert!(!t.awaiting());
        assert!(t.check().is_ok());
    }

    #[test]
    fn a_failure_stops_reporting_at_the_failed_record() {
        let mut t = Tracker::default();
        for _ in 0..4 {
            t.push();
        }
        t.apply(done(0, &[0, 2], 0));
        // Record 3 was halted because record 1 failed; its report comes first.
        t.apply(failed(
            0,
            &[3],
            SinkError::Failed {
                cause: "halted".to_owned(),
            },
        ));
        t.apply(failed(1, &[1], broker_error()));
        assert!(!t.awaiting());
        let got = t.take_acknowledged();
        assert_eq!(
            got.len(),
            1,
            "record 2 is acknowledged but after the failure"
        );
        // The real error wins over the halt report, once; then `Failed`.
        assert!(matches!(t.check(), Err(SinkError::Broker { .. })));
        assert!(
            matches!(t.check(), Err(SinkError::Failed { cause }) if cause.contains("MessageTooLarge"))
        );
        assert!(t.take_acknowledged().is_empty());
    }

    #[test]
    fn a_send_side_failure_lets_earlier_records_finish() {
        let mut t = Tracker::default();
        t.push();
        t.push();
        t.fail_next(&SinkError::UnknownTopic {
            topic: Arc::from("x"),
        });
        assert!(t.awaiting(), "records 0 and 1 are still in flight");
        t.apply(done(0, &[0, 1], 5));
        assert!(!t.awaiting());
        assert_eq!(t.take_acknowledged().len(), 2);
        assert!(matches!(t.check(), Err(SinkError::Failed { .. })));
    }

    /// `awaiting` computed the slow way: any slot without an outcome before the failure.
    fn awaiting_by_scan(t: &Tracker) -> bool {
        t.pending
            .iter()
            .enumerate()
            .filter(|(i, _)| t.failed_seq.is_none_or(|f| t.first_seq + (*i as u64) < f))
            .any(|(_, slot)| matches!(slot, Slot::Pending))
    }

    proptest! {
        /// Records spread over partitions, each partition completing its batches in order, the
        /// partitions interleaved arbitrarily, one batch possibly failing: what is reported is
        /// exactly the records before the first failed one, in send order.
        #[test]
        fn deliveries_are_the_acknowledged_prefix(
            partitions in proptest::collection::vec(0..4_i32, 1..60),
            batch in 1..5_usize,
            interleaving in proptest::collection::vec(0..4_usize, 0..200),
            fail_batch in proptest::option::of(0..30_usize),
        ) {
            let mut t = Tracker::default();
            let mut queues: Vec<Vec<Vec<u64>>> = vec![Vec::new(); 4];
            for (seq, p) in partitions.iter().enumerate() {
                assert_eq!(t.push(), seq as u64);
                let q = &mut queues[*p as usize];
                match q.last_mut() {
                    Some(b) if b.len() < batch => b.push(seq as u64),
                    _ => q.push(vec![seq as u64]),
                }
            }
            let mut batches: Vec<(i32, Vec<u64>)> = Vec::new();
            let mut cursors = [0_usize; 4];
            let mut order = interleaving.into_iter().chain((0..4).cycle().take(400));
            while cursors.iter().zip(&queues).any(|(c, q)| *c < q.len()) {
                let p = order.next().unwrap_or(0);
                if let Some(b) = queues[p].get(cursors[p]) {
                    batches.push((p as i32, b.clone()));
                    cursors[p] += 1;
                }
            }
            let mut reported = Vec::new();
            let mut offsets = [0_i64; 4];
            let mut first_failed: Option<u64> = None;
            for (i, (p, seqs)) in batches.into_iter().enumerate() {
                if Some(i) == fail_batch {
                    first_failed = Some(first_failed.map_or(seqs[0], |f| f.min(seqs[0])));
                    t.apply(failed(p, &seqs, broker_error()));
                } else {
                    let n = seqs.len() as i64;
                    t.apply(done(p, &seqs, offsets[p as usize]));
                    offsets[p as usize] += n;
                }
                let ready = t.prefix_ready();
                let taken = t.take_acknowledged();
                prop_assert_eq!(ready, !taken.is_empty());
                reported.extend(taken);
                prop_assert_eq!(t.awaiting(), awaiting_by_scan(&t));
            }
            prop_assert!(!t.awaiting());
            let expected = first_failed.map_or(partitions.len(), |f| f as usize);
            prop_assert_eq!(reported.len(), expected);
            // Offsets per partition are consecutive in the reported order.
            let mut next = [0_i64; 4];
            for (seq, d) in reported.iter().enumerate() {
                prop_assert_eq!(d.partition, partitions[seq]);
                prop_assert_eq!(d.offset, next[d.partition as usize]);
                next[d.partition as usize] += 1;
            }
            prop_assert_eq!(t.check().is_err(), first_failed.is_some());
        }
    }
}
