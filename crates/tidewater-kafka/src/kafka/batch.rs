//! Record batches (Kafka message format v2) written straight from [`ProducerRecord`]s.
//!
//! Keys, values and header values are copied once, from the records' [`Bytes`] into the
//! batch (or into the buffer a compressor reads); no per-record allocation. Headers are
//! written as given: in order, null values and repeated names included.
//!
//! Layout (all integers big-endian; "varint" is the zig-zag variable-length encoding):
//!
//! ```text
//! baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 = 2 | crc u32
//! | attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 | maxTimestamp i64
//! | producerId i64 | producerEpoch i16 | baseSequence i32 | recordCount i32 | records…
//! record: length varint | attributes i8 | timestampDelta varlong | offsetDelta varint
//!       | keyLength varint | key | valueLength varint | value | headerCount varint
//!       | (headerKeyLength varint | headerKey | headerValueLength varint | headerValue)*
//! ```
//!
//! The CRC-32C covers everything from `attributes` to the end.

use bytes::{BufMut, Bytes, BytesMut};

use crate::config::Compression;
use crate::record::ProducerRecord;

/// Bytes before the first record.
const HEADER_LEN: usize = 61;
/// Offset of the CRC field, and of the first byte it covers.
const CRC_AT: usize = 17;
const CRC_FROM: usize = 21;

/// Size of `v` as a zig-zag varint.
fn varint_len(v: i64) -> usize {
    let z = ((v << 1) ^ (v >> 63)) as u64;
    // 7 bits per byte, at least one byte.
    let bits = 64 - (z | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

fn put_varint(buf: &mut dyn BufMut, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.put_u8((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    buf.put_u8(z as u8);
}

/// Length of an optional byte string as written (`-1` for null) and its size with the
/// length prefix.
fn field_len(data: Option<&[u8]>) -> (i64, usize) {
    match data {
        Some(d) => {
            let len = d.len() as i64;
            (len, varint_len(len) + d.len())
        }
        None => (-1, varint_len(-1)),
    }
}

/// Size of a record's body (everything after its length prefix).
fn body_len(record: &ProducerRecord, timestamp_delta: i64, offset_delta: i64) -> usize {
    let mut n = 1 + varint_len(timestamp_delta) + varint_len(offset_delta);
    n += field_len(record.key.as_deref()).1;
    n += field_len(record.value.as_deref()).1;
    n += varint_len(record.headers.len() as i64);
    for h in &record.headers {
        n += varint_len(h.key.len() as i64) + h.key.len();
        n += field_len(h.value.as_deref()).1;
    }
    n
}

/// Encodes `records` (at least one; at most `i32::MAX`) as one uncompressed record batch.
/// Records without a timestamp get `now_ms`.
#[cfg(test)]
pub(crate) fn encode<'a, I>(records: I, now_ms: i64) -> Bytes
where
    I: IntoIterator<Item = &'a ProducerRecord>,
    I::IntoIter: Clone,
{
    match encode_compressed(records, now_ms, Compression::None) {
        Ok(bytes) => bytes,
        Err(e) => unreachable!("an uncompressed batch cannot fail: {e}"),
    }
}

/// Encodes `records` (at least one; at most `i32::MAX`) as one record batch, its records
/// compressed with `compression`. Records without a timestamp get `now_ms`. Fails only when
/// a compressor does.
pub(crate) fn encode_compressed<'a, I>(
    records: I,
    now_ms: i64,
    compression: Compression,
) -> std::io::Result<Bytes>
where
    I: IntoIterator<Item = &'a ProducerRecord>,
    I::IntoIter: Clone,
{
    let records = records.into_iter();
    let stamp = |r: &ProducerRecord| r.timestamp.unwrap_or(now_ms);
    let (mut count, mut size) = (0i64, HEADER_LEN);
    let mut first_ts: Option<i64> = None;
    let mut max_ts = i64::MIN;
    // Each record's body length, measured once: written as its length prefix below.
    let mut bodies: Vec<usize> = Vec::with_capacity(records.size_hint().0);
    for record in records.clone() {
        let ts = stamp(record);
        let base = *first_ts.get_or_insert(ts);
        max_ts = max_ts.max(ts);
        let body = body_len(record, ts.wrapping_sub(base), count);
        size += varint_len(body as i64) + body;
        bodies.push(body);
        count += 1;
    }
    let first_ts = first_ts.unwrap_or(now_ms);
    if count == 0 {
        max_ts = first_ts;
    }

    let codec: i16 = match compression {
        Compression::None => 0,
        Compression::Gzip => 1,
        Compression::Snappy => 2,
        Compression::Lz4 => 3,
        Compression::Zstd => 4,
    };
    let capacity = if codec == 0 {
        size
    } else {
        HEADER_LEN + size / 2
    };
    let mut buf = BytesMut::with_capacity(capacity);
    buf.put_i64(0); // baseOffset
    buf.put_i32(0); // batchLength: from the leader epoch on, filled in below
    buf.put_i32(-1); // partitionLeaderEpoch: none, the broker sets it
    buf.put_i8(2); // magic
    buf.put_u32(0); // crc, filled in below
    buf.put_i16(codec); // attributes: compression; create time, not transactional
    buf.put_i32((count - 1).max(0) as i32); // lastOffsetDelta
    buf.put_i64(first_ts);
    buf.put_i64(max_ts);
    buf.put_i64(-1); // producerId
    buf.put_i16(-1); // producerEpoch
    buf.put_i32(-1); // baseSequence
    buf.put_i32(count as i32);
    let write_records = |out: &mut dyn BufMut| {
        for ((offset_delta, record), body) in records.clone().enumerate().zip(&bodies) {
            let offset_delta = offset_delta as i64;
            let timestamp_delta = stamp(record).wrapping_sub(first_ts);
            put_varint(out, *body as i64);
            out.put_i8(0); // record attributes
            put_varint(out, timestamp_delta);
            put_varint(out, offset_delta);
            put_field(out, record.key.as_deref());
            put_field(out, record.value.as_deref());
            put_varint(out, record.headers.len() as i64);
            for h in &record.headers {
                put_field(out, Some(h.key.as_bytes()));
                put_field(out, h.value.as_deref());
            }
        }
    };
    if codec == 0 {
        write_records(&mut buf);
        debug_assert_eq!(buf.len(), size);
    } else {
        let mut raw: Vec<u8> = Vec::with_capacity(size - HEADER_LEN);
        write_records(&mut raw);
        compress(&raw, compression, &mut buf)?;
    }
    let batch_length = i32::try_from(buf.len() - 12).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a record batch of more than 2 GiB",
        )
    })?;
    if let Some(field) = buf.get_mut(8..12) {
        field.copy_from_slice(&batch_length.to_be_bytes());
    }
    let crc = crc32c::crc32c(buf.get(CRC_FROM..).unwrap_or_default());
    if let Some(field) = buf.get_mut(CRC_AT..CRC_FROM) {
        field.copy_from_slice(&crc.to_be_bytes());
    }
    Ok(buf.freeze())
}

/// Appends `raw` compressed as Kafka's clients write each codec: gzip (level 6), a raw
/// Snappy block (which brokers and clients read besides the Java client's xerial framing),
/// an LZ4 frame with independent blocks, a zstd frame (level 3).
fn compress(raw: &[u8], compression: Compression, out: &mut BytesMut) -> std::io::Result<()> {
    use std::io::Write;
    let mut writer = out.writer();
    match compression {
        Compression::None => writer.write_all(raw),
        Compression::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(&mut writer, flate2::Compression::default());
            encoder.write_all(raw)?;
            encoder.finish().map(drop)
        }
        Compression::Snappy => {
            let compressed = snap::raw::Encoder::new()
                .compress_vec(raw)
                .map_err(std::io::Error::other)?;
            writer.write_all(&compressed)
        }
        Compression::Lz4 => {
            let mut encoder = lz4::EncoderBuilder::new()
                .block_mode(lz4::BlockMode::Independent)
                .build(&mut writer)?;
            encoder.write_all(raw)?;
            let (_, result) = encoder.finish();
            result
        }
        Compression::Zstd => {
            let compressed = zstd::bulk::compress(raw, 3)?;
            writer.write_all(&compressed)
        }
    }
}

fn put_field(buf: &mut dyn BufMut, data: Option<&[u8]>) {
    match data {
        Some(d) => {
            put_varint(buf, d.len() as i64);
            buf.put_slice(d);
        }
        None => put_varint(buf, -1),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use rskafka::client::broker_producer::encode_record_batch;
    use rskafka::client::partition::Compression as WireCompression;
    use rskafka::record::Record;

    use super::*;
    use crate::record::Header;

    #[test]
    fn varint_lengths_match_the_encoding() {
        for v in [
            0,
            1,
            -1,
            63,
            64,
            -64,
            -65,
            8191,
            8192,
            i32::MAX as i64,
            i64::MAX,
            i64::MIN,
        ] {
            let mut buf = BytesMut::new();
            put_varint(&mut buf, v);
            assert_eq!(buf.len(), varint_len(v), "{v}");
        }
    }

    #[test]
    fn a_known_record_encodes_as_kafka_documents_it() {
        // One record, key "k", value "v", no headers, timestamp 1000.
        let record = ProducerRecord::new("t").key("k").value("v").timestamp(1000);
        let bytes = encode([&record], 5);
        // Record: attributes 0, delta 0, offset 0, key len 1 (zig-zag 2) "k",
        // value len 1 "v", 0 headers: 8 bytes of body, length 8 (zig-zag 16).
        let record_bytes = [16u8, 0, 0, 0, 2, b'k', 2, b'v', 0];
        assert_eq!(bytes.len(), HEADER_LEN + record_bytes.len());
        assert_eq!(&bytes[HEADER_LEN..], &record_bytes);
        assert_eq!(&bytes[8..12], &((bytes.len() - 12) as i32).to_be_bytes());
        assert_eq!(bytes[16], 2, "magic");
        assert_eq!(&bytes[27..35], &1000i64.to_be_bytes(), "base timestamp");
        let crc = crc32c::crc32c(&bytes[CRC_FROM..]);
        assert_eq!(&bytes[CRC_AT..CRC_FROM], &crc.to_be_bytes());
    }

    fn record_strategy() -> impl Strategy<Value = ProducerRecord> {
        (
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
            proptest::collection::btree_map(
                "[a-z.]{1,12}",
                proptest::collection::vec(any::<u8>(), 0..20),
                0..4,
            ),
            0i64..4_000_000_000_000,
        )
            .prop_map(|(key, value, headers, ts)| {
                let mut r = ProducerRecord::new("t").timestamp(ts);
                r.key = key.map(Bytes::from);
                r.value = value.map(Bytes::from);
                r.headers = headers
                    .into_iter()
                    .map(|(k, v)| Header::new(k, v))
                    .collect();
                r
            })
    }

    fn to_rskafka(r: &ProducerRecord) -> Record {
        Record {
            key: r.key.as_ref().map(|k| k.to_vec()),
            value: r.value.as_ref().map(|v| v.to_vec()),
            headers: r
                .headers
                .iter()
                .map(|h| {
                    (
                        h.key.clone(),
                        h.value.as_ref().map(|v| v.to_vec()).unwrap_or_default(),
                    )
                })
                .collect::<BTreeMap<_, _>>(),
            timestamp: rskafka::chrono::DateTime::from_timestamp_millis(
                r.timestamp.unwrap_or_default(),
            )
            .unwrap_or_default(),
        }
    }

    proptest! {
        /// Our batches are byte for byte rskafka's (an independent encoder), apart from
        /// the partition leader epoch (-1 here, as the Java client writes; 0 there), which
        /// the broker overwrites and the CRC does not cover.
        #[test]
        fn batches_match_rskafkas_encoder(
            records in proptest::collection::vec(record_strategy(), 1..20)
        ) {
            let ours = encode(records.iter(), 0);
            let theirs = encode_record_batch(
                records.iter().map(to_rskafka).collect(),
                WireCompression::NoCompression,
            ).unwrap();
            let mut ours = ours.to_vec();
            ours[12..16].copy_from_slice(&0i32.to_be_bytes());
            prop_assert_eq!(ours, theirs.to_vec());
        }
    }

    fn decompress(data: &[u8], compression: Compression) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        match compression {
            Compression::None => out.extend_from_slice(data),
            Compression::Gzip => {
                flate2::read::GzDecoder::new(data)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Compression::Snappy => out = snap::raw::Decoder::new().decompress_vec(data).unwrap(),
            Compression::Lz4 => {
                lz4::Decoder::new(data)
                    .unwrap()
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Compression::Zstd => out = zstd::stream::decode_all(data).unwrap(),
        }
        out
    }

    proptest! {
        /// A compressed batch is the uncompressed one with its records compressed: the
        /// same header fields apart from the codec bits, the records section decompressing
        /// to the same bytes, a CRC over what was written, and a length that fits.
        #[test]
        fn compressed_batches_hold_the_same_records(
            records in proptest::collection::vec(record_strategy(), 1..20),
            codec in 1usize..5,
        ) {
            let compression = Compression::ALL[codec];
            let plain = encode(records.iter(), 0);
            let packed = encode_compressed(records.iter(), 0, compression).unwrap();
            prop_assert_eq!(
                i32::from_be_bytes(packed[8..12].try_into().unwrap()) as usize,
                packed.len() - 12
            );
            let crc = crc32c::crc32c(&packed[CRC_FROM..]);
            prop_assert_eq!(&packed[CRC_AT..CRC_FROM], &crc.to_be_bytes());
            let attributes = i16::from_be_bytes(packed[21..23].try_into().unwrap());
            prop_assert_eq!(attributes, codec as i16);
            prop_assert_eq!(&packed[23..HEADER_LEN], &plain[23..HEADER_LEN]);
            prop_assert_eq!(
                decompress(&packed[HEADER_LEN..], compression),
                plain[HEADER_LEN..].to_vec()
            );
        }
    }

    #[test]
    fn null_header_values_and_missing_timestamps() {
        let mut r = ProducerRecord::new("t").value("v");
        r.headers = vec![Header::null("a"), Header::new("a", "x")];
        let bytes = encode([&r], 1234);
        assert_eq!(
            &bytes[27..35],
            &1234i64.to_be_bytes(),
            "now is the timestamp"
        );
        // headers: count 2 (zig-zag 4); "a" null (len -1 = zig-zag 1); "a" "x".
        assert!(bytes.ends_with(&[4, 2, b'a', 1, 2, b'a', 2, b'x']));
    }
}
