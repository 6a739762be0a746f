//! Decoding throughput of a pgoutput replication stream.
//!
//! Every benchmark replays the same corpus ([`tidewater_benches::Corpus`]):
//! about 10,000 row changes of a 10-column mixed-type table plus some 8 KiB
//! documents, as XLogData frames. Each variant does the same work for every
//! frame: read the 25-byte XLogData header, decode the pgoutput message, and
//! walk every column of every tuple, summing the value lengths so that no
//! decoder can skip work by being lazy.
//!
//! * `tidewater/parse`: `ReplicationFrame::decode`, then `Decoder::decode` of
//!   the XLogData payload, then `TupleData::iter` over each tuple.
//! * `tidewater/parse+values`: the same, plus `value::decode` of every
//!   non-null column, typed by the OIDs of the cached `Relation`.
//! * `pg_walstream/parse`: the XLogData header read as `pg_walstream` reads it
//!   on its own stream path (a 25-byte check, three big-endian fields, a
//!   zero-copy `Bytes` slice of the body), then
//!   `LogicalReplicationParser::parse_wal_message_bytes` on the body, then a
//!   walk over `TupleData::columns`.
//!
//! Each is reported twice: in the `decode/bytes` group (throughput in corpus
//! bytes, headers included) and in the `decode/messages` group (throughput in
//! messages). The `decode-binary/*` groups replay the corpus with values in
//! binary format.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark driver over a fixture known to be valid"
)]

use std::hint::black_box;
use std::time::Duration;

use bytes::{Buf, Bytes};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pg_walstream::{LogicalReplicationMessage, LogicalReplicationParser};
use tidewater_benches::Corpus;
use tidewater_pgoutput::value::{self, Format};
use tidewater_pgoutput::{Column, Decoder, FrameMessage, Message, RelationCache, TupleData};

/// Sums the value lengths of a tuple's columns (a null or unchanged column counts 1).
#[inline]
fn touch_tidewater(tuple: &TupleData) -> usize {
    tuple
        .iter()
        .map(|c| match c {
            Column::Text(d) | Column::Binary(d) => d.len(),
            _ => 1,
        })
        .sum()
}

/// (a) Frame and message decoding with Tidewater; returns the touched length.
fn tidewater_parse(frames: &[Bytes]) -> usize {
    let mut decoder = Decoder::new();
    let mut touched = 0;
    for frame in frames {
        // One pass over the CopyData payload: header and message, no intermediate slice.
        let FrameMessage::XLogData { message, .. } = decoder.decode_frame(frame).expect("frame")
        else {
            unreachable!("the corpus holds XLogData frames only");
        };
        match &message {
            Message::Insert(m) => touched += touch_tidewater(&m.new),
            Message::Update(m) => {
                if let Some(old) = &m.old {
                    touched += touch_tidewater(old.tuple());
                }
                touched += touch_tidewater(&m.new);
            }
            Message::Delete(m) => touched += touch_tidewater(m.old.tuple()),
            _ => {}
        }
        black_box(&message);
    }
    touched
}

/// Decodes every non-null value of a tuple with the column types of its
/// cached relation; returns the touched length as [`touch_tidewater`] does.
#[inline]
fn decode_values(cache: &RelationCache, relation_oid: u32, tuple: &TupleData) -> usize {
    let relation = cache
        .relation(relation_oid)
        .expect("Relation before its rows");
    let mut touched = 0;
    for (column, value) in relation.columns.iter().zip(tuple.iter()) {
        let (format, raw) = match value {
            Column::Text(raw) => (Format::Text, raw),
            Column::Binary(raw) => (Format::Binary, raw),
            _ => {
                touched += 1;
                continue;
            }
        };
        let decoded = value::decode(format, column.type_oid, column.type_modifier, raw, cache)
            .expect("value");
        black_box(&decoded);
        touched += raw.len();
    }
    touched
}

/// (b) Frame, message and value decoding with Tidewater; returns the touched length.
fn tidewater_parse_values(frames: &[Bytes]) -> usize {
    let mut decoder = Decoder::new();
    let mut cache = RelationCache::new();
    let mut touched = 0;
    for frame in frames {
        // One pass over the CopyData payload: header and message, no intermediate slice.
        let FrameMessage::XLogData { message, .. } = decoder.decode_frame(frame).expect("frame")
        else {
            unreachable!("the corpus holds XLogData frames only");
        };
        match &message {
            Message::Relation(_) | Message::Type(_) => {
                cache.apply(&message);
            }
            Message::Insert(m) => touched += decode_values(&cache, m.relation_oid, &m.new),
            Message::Update(m) => {
                if let Some(old) = &m.old {
                    touched += decode_values(&cache, m.relation_oid, old.tuple());
                }
                touched += decode_values(&cache, m.relation_oid, &m.new);
            }
            Message::Delete(m) => touched += decode_values(&cache, m.relation_oid, m.old.tuple()),
            _ => {}
        }
        black_box(&message);
    }
    touched
}

/// Sums the value lengths of a pg_walstream tuple, like [`touch_tidewater`].
#[inline]
fn touch_walstream(tuple: &pg_walstream::TupleData) -> usize {
    tuple
        .columns
        .iter()
        .map(|c| {
            if c.is_text() || c.is_binary() {
                c.as_bytes().len()
            } else {
                1
            }
        })
        .sum()
}

/// Reads an XLogData frame's header the way pg_walstream's stream does and
/// returns the body as a zero-copy slice.
#[inline]
fn walstream_xlogdata_body(frame: &Bytes) -> (u64, u64, i64, Bytes) {
    assert!(frame.len() >= 25 && frame[0] == b'w', "XLogData frame");
    let mut header = &frame[1..25];
    let wal_start = header.get_u64();
    let wal_end = header.get_u64();
    let send_time = header.get_i64();
    (wal_start, wal_end, send_time, frame.slice(25..))
}

/// (c) The same work with pg_walstream's parser; returns the touched length.
fn walstream_parse(frames: &[Bytes]) -> usize {
    // Protocol version 1, as the corpus is a non-streamed stream.
    let mut parser = LogicalReplicationParser::with_protocol_version(1);
    let mut touched = 0;
    for frame in frames {
        let (wal_start, wal_end, send_time, body) = walstream_xlogdata_body(frame);
        black_box((wal_start, wal_end, send_time));
        let message = parser.parse_wal_message_bytes(body).expect("message");
        match &message.message {
            LogicalReplicationMessage::Insert { tuple, .. } => touched += touch_walstream(tuple),
            LogicalReplicationMessage::Update {
                old_tuple,
                new_tuple,
                ..
            } => {
                if let Some(old) = old_tuple {
                    touched += touch_walstream(old);
                }
                touched += touch_walstream(new_tuple);
            }
            LogicalReplicationMessage::Delete { old_tuple, .. } => {
                touched += touch_walstream(old_tuple)
            }
            _ => {}
        }
        black_box(&message);
    }
    touched
}

/// Registers every variant for one corpus under `{prefix}/bytes` and `{prefix}/messages`.
fn bench_corpus(c: &mut Criterion, prefix: &str, corpus: &Corpus) {
    let frames = corpus.frames.as_slice();
    // Both decoders must see the same columns.
    let touched = tidewater_parse(frames);
    assert_eq!(touched, tidewater_parse_values(frames));
    assert_eq!(touched, walstream_parse(frames));

    let throughputs = [
        ("bytes", Throughput::Bytes(corpus.total_bytes() as u64)),
        (
            "messages",
            Throughput::Elements(corpus.message_count() as u64),
        ),
    ];
    for (unit, throughput) in throughputs {
        let mut group = c.benchmark_group(format!("{prefix}/{unit}"));
        group
            .throughput(throughput)
            .sample_size(30)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4));
        group.bench_function("tidewater/parse", |b| {
            b.iter(|| tidewater_parse(black_box(frames)))
        });
        group.bench_function("tidewater/parse+values", |b| {
            b.iter(|| tidewater_parse_values(black_box(frames)))
        });
        group.bench_function("pg_walstream/parse", |b| {
            b.iter(|| walstream_parse(black_box(frames)))
        });
        group.finish();
    }
}

fn decode(c: &mut Criterion) {
    let text = Corpus::text();
    eprintln!(
        "text corpus: {} frames, {} bytes, {:?}",
        text.message_count(),
        text.total_bytes(),
        text.counts
    );
    bench_corpus(c, "decode", &text);

    let binary = Corpus::binary();
    eprintln!(
        "binary corpus: {} frames, {} bytes, {:?}",
        binary.message_count(),
        binary.total_bytes(),
        binary.counts
    );
    bench_corpus(c, "decode-binary", &binary);
}

criterion_group!(benches, decode);
criterion_main!(benches);
