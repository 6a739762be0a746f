//! Shared fixtures for the Tidewater benchmarks.
//!
//! [`corpus`] builds a replication stream (XLogData frames carrying pgoutput
//! messages) that every benchmark can replay: see [`corpus::Corpus::text`] and
//! [`corpus::Corpus::binary`]. [`orders`] builds change events on the
//! corpus's `orders` table for the benchmarks that start from events
//! (envelope, transforms).

pub mod corpus;
pub mod orders;

pub use corpus::{Corpus, CorpusSpec, MessageCounts, WireFormat};

/// The number in environment variable `name`, when it is set to one (how
/// a benchmark binary is told to run a fixed amount of work instead of
/// criterion's sampling).
pub fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.parse().ok()
}

/// Nanoseconds the calling thread has spent on a CPU
/// (`/proc/thread-self/schedstat`; 0 where it cannot be read). Benchmarks
/// report throughput by CPU time with it when the machine is shared.
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        reason = "test code"
    )]

    use tidewater_pgoutput::value::{self, Format, PgValue};
    use tidewater_pgoutput::{
        Column, Decoder, Message, OldTuple, RelationCache, ReplicationFrame, TupleData,
    };

    use crate::corpus::{Corpus, CorpusSpec, MessageCounts, WireFormat};

    /// Decodes the whole corpus and counts what it holds.
    fn decode_all(corpus: &Corpus) -> (MessageCounts, usize) {
        let mut decoder = Decoder::new();
        let mut counts = MessageCounts::default();
        let mut value_bytes = 0;
        let mut check_tuple = |t: &TupleData, ncols: usize| {
            assert_eq!(t.len(), ncols);
            for c in t.iter() {
                match (corpus.spec.format, c) {
                    (_, Column::Null) => {}
                    (WireFormat::Text, Column::Text(d))
                    | (WireFormat::Binary, Column::Binary(d)) => {
                        value_bytes += d.len();
                    }
                    (format, other) => panic!("{other:?} in a {format:?} corpus"),
                }
            }
        };
        let ncols = |oid| {
            corpus
                .relations
                .iter()
                .find(|r| r.oid == oid)
                .map(|r| r.columns.len())
                .expect("known relation")
        };
        for frame in &corpus.frames {
            let ReplicationFrame::XLogData(x) = ReplicationFrame::decode(frame).unwrap() else {
                panic!("not an XLogData frame");
            };
            match decoder.decode(&x.data).unwrap() {
                Message::Begin(_) => counts.begin += 1,
                Message::Commit(_) => counts.commit += 1,
                Message::Relation(r) => {
                    assert!(corpus.relations.contains(&r));
                    counts.relation += 1;
                }
                Message::Insert(i) => {
                    counts.insert += 1;
                    if i.relation_oid == crate::corpus::DOCUMENTS_OID {
                        counts.big_rows += 1;
                    }
                    check_tuple(&i.new, ncols(i.relation_oid));
                }
                Message::Update(u) => {
                    counts.update += 1;
                    match &u.old {
                        Some(OldTuple::Key(k)) => {
                            counts.update_with_old_key += 1;
                            check_tuple(k, ncols(u.relation_oid));
                        }
                        Some(other) => panic!("unexpected old tuple {other:?}"),
                        None => {}
                    }
                    check_tuple(&u.new, ncols(u.relation_oid));
                }
                other => panic!("unexpected message {other:?}"),
            }
        }
        (counts, value_bytes)
    }

    #[test]
    fn text_corpus_decodes_with_expected_counts() {
        let corpus = Corpus::text();
        let (counts, value_bytes) = decode_all(&corpus);
        assert_eq!(counts, corpus.counts);
        assert_eq!(counts.row_changes(), 10_000);
        assert_eq!(counts.big_rows, 100);
        assert_eq!(counts.relation, 2);
        assert_eq!(counts.begin, counts.commit);
        assert!(counts.update_with_old_key > 0);
        assert_eq!(corpus.message_count(), counts.total());
        assert!(value_bytes > 100 * 8 * 1024);
        // Roughly 2-4 MB: big enough to leave the caches, small enough to build quickly.
        assert!(
            (1_500_000..5_000_000).contains(&corpus.total_bytes()),
            "{}",
            corpus.total_bytes()
        );
    }

    #[test]
    fn binary_corpus_decodes_with_expected_counts() {
        let corpus = Corpus::binary();
        let (counts, _) = decode_all(&corpus);
        assert_eq!(counts, corpus.counts);
        assert_eq!(counts.row_changes(), 10_000);
        // Same generator, same shape: only the value encoding differs.
        assert_eq!(counts, Corpus::text().counts);
    }

    #[test]
    fn corpus_is_deterministic() {
        let spec = CorpusSpec {
            row_changes: 500,
            ..CorpusSpec::default()
        };
        assert_eq!(Corpus::build(spec).frames, Corpus::build(spec).frames);
    }

    /// Every value of the corpus decoded with the relation's column types.
    fn values(corpus: &Corpus) -> Vec<PgValue<'static>> {
        let mut decoder = Decoder::new();
        let mut cache = RelationCache::new();
        let mut out = Vec::new();
        let mut push = |cache: &RelationCache, oid: u32, tuple: &TupleData| {
            let relation = cache.relation(oid).expect("Relation before its rows");
            for (column, value) in relation.columns.iter().zip(tuple.iter()) {
                let decoded = match value {
                    Column::Text(raw) => value::decode(
                        Format::Text,
                        column.type_oid,
                        column.type_modifier,
                        raw,
                        cache,
                    ),
                    Column::Binary(raw) => value::decode(
                        Format::Binary,
                        column.type_oid,
                        column.type_modifier,
                        raw,
                        cache,
                    ),
                    _ => Ok(PgValue::Null),
                };
                let decoded =
                    decoded.unwrap_or_else(|e| panic!("{}.{}: {e}", relation.name, column.name));
                if let PgValue::Unknown { type_oid, .. } = decoded {
                    panic!(
                        "{}.{}: type {type_oid} not decoded",
                        relation.name, column.name
                    );
                }
                out.push(decoded.into_owned());
            }
        };
        for frame in &corpus.frames {
            let ReplicationFrame::XLogData(x) = ReplicationFrame::decode(frame).unwrap() else {
                panic!("not an XLogData frame");
            };
            let message = decoder.decode(&x.data).unwrap();
            cache.apply(&message);
            match &message {
                Message::Insert(i) => push(&cache, i.relation_oid, &i.new),
                Message::Update(u) => {
                    if let Some(old) = &u.old {
                        push(&cache, u.relation_oid, old.tuple());
                    }
                    push(&cache, u.relation_oid, &u.new);
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn text_and_binary_values_agree() {
        let spec = CorpusSpec {
            row_changes: 2_000,
            ..CorpusSpec::default()
        };
        let text = values(&Corpus::build(spec));
        let binary = values(&Corpus::build(CorpusSpec {
            format: WireFormat::Binary,
            ..spec
        }));
        assert_eq!(text.len(), binary.len());
        for (i, (t, b)) in text.iter().zip(&binary).enumerate() {
            assert_eq!(t, b, "value {i}");
        }
        assert!(text.iter().any(|v| matches!(v, PgValue::Numeric(_))));
        assert!(text.iter().any(|v| matches!(v, PgValue::TimestampTz(_))));
        assert!(text.iter().any(|v| matches!(v, PgValue::Uuid(_))));
        assert!(text.iter().any(|v| matches!(v, PgValue::Jsonb(_))));
    }

    #[test]
    fn text_values_look_like_postgres_output() {
        let corpus = Corpus::text();
        let mut decoder = Decoder::new();
        let first_insert = corpus
            .frames
            .iter()
            .find_map(|f| match ReplicationFrame::decode(f).ok()? {
                ReplicationFrame::XLogData(x) => match decoder.decode(&x.data).ok()? {
                    Message::Insert(i) if i.relation_oid == crate::corpus::ORDERS_OID => Some(i),
                    _ => None,
                },
                _ => None,
            })
            .unwrap();
        let cols: Vec<String> = first_insert
            .new
            .iter()
            .map(|c| String::from_utf8(c.data().unwrap().to_vec()).unwrap())
            .collect();
        assert_eq!(cols[0], "1");
        assert!(cols[4].contains('.') && cols[4].split('.').nth(1).unwrap().len() == 2);
        assert!(cols[5] == "t" || cols[5] == "f");
        assert!(
            cols[6].starts_with("2024-05-") && cols[6].ends_with("+00"),
            "{}",
            cols[6]
        );
        assert_eq!(cols[7].len(), 10);
        assert_eq!(cols[8].len(), 36);
        assert!(cols[9].starts_with(r#"{"qty": "#), "{}", cols[9]);
    }
}
