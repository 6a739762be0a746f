//! Choosing a partition, exactly as Kafka's Java producer does.
//!
//! * A record with an explicit partition goes there.
//! * A keyed record goes to `toPositive(murmur2(key)) % partitions`, where `murmur2` is the
//!   32-bit MurmurHash2 variant of Kafka's `org.apache.kafka.common.utils.Utils.murmur2` (seed
//!   `0x9747b28c`) and `toPositive(n)` is `n & 0x7fffffff`. This is the Java client's default
//!   (and Kafka Connect's), so a consumer sees each key in the partition a Debezium connector
//!   running in Kafka Connect would have chosen. librdkafka calls the same function
//!   `murmur2_random`.
//! * Records without a key are spread evenly by a *sticky* round robin
//!   ([`StickyPartitioner`]): they stay on one partition until `batch.size` bytes went there,
//!   then move to the next partition, so batches fill up and every partition gets the same
//!   share of bytes over time (the idea of Kafka's uniform sticky partitioner, KIP-794, made
//!   deterministic).

/// Kafka's murmur2 hash of `data` (`org.apache.kafka.common.utils.Utils.murmur2`).
///
/// ```
/// // Vectors from Kafka's own UtilsTest.testMurmur2.
/// assert_eq!(tidewater_kafka::partitioner::murmur2(b"21"), -973_932_308);
/// assert_eq!(tidewater_kafka::partitioner::murmur2(b"abc"), 479_470_107);
/// ```
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // Java computes `seed ^ length` on a 32-bit int; truncating the length is what it does.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "Java's int arithmetic on the length"
    )]
    let mut h = SEED ^ (data.len() as u32);

    let mut words = data.chunks_exact(4);
    for word in &mut words {
        let mut k = match word {
            [a, b, c, d] => u32::from_le_bytes([*a, *b, *c, *d]),
            _ => 0,
        };
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    // The tail, as Java's fall-through switch on `length % 4`.
    match *words.remainder() {
        [a, b, c] => {
            h ^= u32::from(c) << 16;
            h ^= u32::from(b) << 8;
            h ^= u32::from(a);
            h = h.wrapping_mul(M);
        }
        [a, b] => {
            h ^= u32::from(b) << 8;
            h ^= u32::from(a);
            h = h.wrapping_mul(M);
        }
        [a] => {
            h ^= u32::from(a);
            h = h.wrapping_mul(M);
        }
        _ => {}
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    i32::from_ne_bytes(h.to_ne_bytes())
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which would map `i32::MIN`
/// to itself).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition Kafka's default partitioner picks for `key` among `partitions` partitions:
/// `toPositive(murmur2(key)) % partitions`.
///
/// `partitions` must be positive; a zero or negative count yields partition 0.
///
/// ```
/// use tidewater_kafka::partitioner::partition_for_key;
/// // murmur2("foobar") = -790332482; & 0x7fffffff = 1357151166; % 10 = 6.
/// assert_eq!(partition_for_key(b"foobar", 10), 6);
/// ```
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    if partitions <= 0 {
        return 0;
    }
    to_positive(murmur2(key)) % partitions
}

/// Spreads records without a key: one partition at a time, moving on to the next one (round
/// robin) once `batch_size` bytes were assigned to the current one.
///
/// One instance per topic. Deterministic: the first partition is 0.
#[derive(Debug, Clone, Default)]
pub struct StickyPartitioner {
    current: i32,
    assigned: usize,
}

impl StickyPartitioner {
    /// A partitioner starting on partition 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The partition for a key-less record of `size` bytes, among `partitions` partitions,
    /// switching after `batch_size` bytes.
    pub fn next(&mut self, size: usize, partitions: i32, batch_size: usize) -> i32 {
        if partitions <= 0 {
            return 0;
        }
        if self.current >= partitions {
            // The partition count shrank (or the topic was recreated): start over.
            self.current = 0;
            self.assigned = 0;
        }
        let partition = self.current;
        self.assigned = self.assigned.saturating_add(size);
        if self.assigned >= batch_size.max(1) {
            self.assigned = 0;
            self.current = (self.current + 1) % partitions;
        }
        partition
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases of Kafka's `UtilsTest.testMurmur2`
    /// (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
    const KAFKA_UTILS_TEST: &[(&[u8], i32)] = &[
        (b"21", -973_932_308),
        (b"foobar", -790_332_482),
        (b"a-little-bit-long-string", -985_981_536),
        (b"a-little-bit-longer-string", -1_486_304_829),
        (
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        (b"abc", 479_470_107),
    ];

    #[test]
    fn murmur2_matches_kafka_utils_test() {
        for (input, expected) in KAFKA_UTILS_TEST {
            assert_eq!(
                murmur2(input),
                *expected,
                "murmur2({:?})",
                String::from_utf8_lossy(input)
            );
        }
    }

    /// More vectors of Kafka's `Utils.murmur2`, as listed in Akka's `Murmur2Spec` (checked
    /// there against Kafka's implementation); they add the one-byte tail the vectors above lack.
    const KAFKA_MURMUR2_MORE: &[(&[u8], i32)] = &[
        (b"1", -1_993_445_489),
        (b"12", 126_087_238),
        (b"123", -267_702_483),
        (b"1234", -1_614_185_708),
        (b"12345", -1_188_365_604),
    ];

    #[test]
    fn murmur2_matches_more_vectors() {
        for (input, expected) in KAFKA_MURMUR2_MORE {
            assert_eq!(murmur2(input), *expected);
        }
    }

    /// Every tail length (0 to 3 bytes after the last full word) is covered by the vectors.
    #[test]
    fn vectors_cover_every_tail_length() {
        let mut tails: Vec<usize> = KAFKA_UTILS_TEST
            .iter()
            .chain(KAFKA_MURMUR2_MORE)
            .map(|(k, _)| k.len() % 4)
            .collect();
        tails.sort_unstable();
        tails.dedup();
        assert_eq!(tails, [0, 1, 2, 3]);
    }

    #[test]
    fn partition_is_to_positive_modulo() {
        for (input, hash) in KAFKA_UTILS_TEST {
            for partitions in 1..=64 {
                let expected = (hash & 0x7fff_ffff) % partitions;
                assert_eq!(partition_for_key(input, partitions), expected);
            }
        }
        // Worked examples: murmur2("foobar") = -790332482; & 0x7fffffff = 1357151166.
        assert_eq!(to_positive(-790_332_482), 1_357_151_166);
        assert_eq!(partition_for_key(b"foobar", 6), 1_357_151_166 % 6);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(partition_for_key(b"anything", 0), 0);
    }

    #[test]
    fn empty_key_hashes_like_java() {
        // An empty (non-null) key is hashed too: seed ^ 0, then the final mix only.
        let h = murmur2(b"");
        let mut x: u32 = 0x9747_b28c;
        x ^= x >> 13;
        x = x.wrapping_mul(0x5bd1_e995);
        x ^= x >> 15;
        assert_eq!(h, i32::from_ne_bytes(x.to_ne_bytes()));
    }

    #[test]
    fn sticky_partitioner_spreads_evenly() {
        let mut sticky = StickyPartitioner::new();
        let mut counts = [0_usize; 4];
        for _ in 0..4000 {
            let p = sticky.next(100, 4, 1000);
            if let Some(c) = counts.get_mut(usize::try_from(p).unwrap_or(0)) {
                *c += 1;
            }
        }
        assert_eq!(counts, [1000; 4]);
        // Ten 100-byte records per partition before switching.
        let mut sticky = StickyPartitioner::new();
        let seq: Vec<i32> = (0..25).map(|_| sticky.next(100, 3, 1000)).collect();
        assert_eq!(seq.get(..10), Some(&[0; 10][..]));
        assert_eq!(seq.get(10..20), Some(&[1; 10][..]));
        assert_eq!(seq.get(20..), Some(&[2; 5][..]));
    }

    #[test]
    fn sticky_partitioner_survives_fewer_partitions() {
        let mut sticky = StickyPartitioner::new();
        for _ in 0..30 {
            sticky.next(100, 8, 100);
        }
        assert!(sticky.next(1, 2, 100) < 2);
    }
}
