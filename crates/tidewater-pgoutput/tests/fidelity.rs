//! Fidelity against a real PostgreSQL: a workload that makes the server emit every
//! pgoutput message kind is captured with `pg_logical_slot_peek_binary_changes`
//! under protocol versions 1, 2 (streaming; binary), 3 (two-phase) and, on
//! PostgreSQL 16+, 4 (parallel streaming). For every captured message,
//! decoding then encoding must give back the server's bytes exactly; and the
//! values decoded from text and from binary columns must equal each other and
//! PostgreSQL's own text output for the rows the SQL inserted.
//!
//! The server is started by the test kit (PostgreSQL from PATH, Debian's
//! /usr/lib/postgresql, or `TIDEWATER_PG_BIN`); a missing server fails the test
//! with instructions, it never skips.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;
use tidewater_pgoutput::value::{self, Format, PgValue};
use tidewater_pgoutput::*;
use tidewater_testkit::{CAPTURE_SESSION, PgCluster};

const DB: &str = "fidelity";

struct Captured {
    lsn: Lsn,
    data: Bytes,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn capture(pg: &PgCluster, slot: &str, options: &[(&str, &str)]) -> Vec<Captured> {
    pg.peek_binary_changes(DB, slot, options)
        .unwrap()
        .into_iter()
        .map(|c| Captured {
            lsn: c.lsn.parse().unwrap(),
            data: Bytes::from(c.data),
        })
        .collect()
}

/// What a capture contained.
#[derive(Default, Debug)]
struct Seen {
    messages: BTreeMap<&'static str, usize>,
    column_kinds: BTreeSet<char>,
    old_kinds: BTreeSet<char>,
    truncate_options: BTreeSet<u8>,
    stream_abort_with_info: usize,
    relation_versions: HashMap<String, BTreeSet<usize>>,
    logical_messages: Vec<(bool, String, Vec<u8>)>,
    /// Decoded rows of `alltypes` (by id) and `items`, owned.
    rows: BTreeMap<(String, i64), Vec<(String, PgValue<'static>)>>,
}

/// Decodes every captured message, checks the byte-exact round trip of the
/// message and of an XLogData frame carrying it, and records what it saw.
fn decode_all(caps: &[Captured], types: &RelationCache) -> Seen {
    let mut seen = Seen::default();
    let mut decoder = Decoder::new();
    let mut cache = types.clone();
    for (i, cap) in caps.iter().enumerate() {
        let msg = decoder
            .decode(&cap.data)
            .unwrap_or_else(|e| panic!("message {i} at {}: {e}", cap.lsn));
        assert_eq!(
            msg.to_bytes(),
            cap.data,
            "message {i} ({}) at {} must re-encode exactly",
            msg.name(),
            cap.lsn
        );
        let frame = ReplicationFrame::XLogData(XLogData {
            wal_start: cap.lsn,
            wal_end: cap.lsn,
            send_time: 0,
            data: cap.data.clone(),
        });
        let frame_bytes = frame.to_bytes();
        assert_eq!(ReplicationFrame::decode(&frame_bytes).unwrap(), frame);

        *seen.messages.entry(msg.name()).or_default() += 1;
        cache.apply(&msg);
        let mut tuples: Vec<(u32, &TupleData, bool)> = Vec::new();
        match &msg {
            Message::Relation(r) => {
                seen.relation_versions
                    .entry(r.name.clone())
                    .or_default()
                    .insert(r.columns.len());
            }
            Message::Insert(m) => tuples.push((m.relation_oid, &m.new, true)),
            Message::Update(m) => {
                if let Some(old) = &m.old {
                    seen.old_kinds.insert(if matches!(old, OldTuple::Key(_)) {
                        'K'
                    } else {
                        'O'
                    });
                    tuples.push((m.relation_oid, old.tuple(), false));
                }
                tuples.push((m.relation_oid, &m.new, true));
            }
            Message::Delete(m) => {
                seen.old_kinds.insert(if matches!(m.old, OldTuple::Key(_)) {
                    'K'
                } else {
                    'O'
                });
                tuples.push((m.relation_oid, m.old.tuple(), false));
            }
            Message::Truncate(t) => {
                seen.truncate_options.insert(t.options);
            }
            Message::StreamAbort(a) if a.abort.is_some() => seen.stream_abort_with_info += 1,
            Message::Message(m) => seen.logical_messages.push((
                m.transactional(),
                m.prefix.clone(),
                m.content.to_vec(),
            )),
            _ => {}
        }
        for (oid, tuple, is_new) in tuples {
            let rel = cache
                .relation(oid)
                .unwrap_or_else(|| panic!("no Relation for {oid} before message {i}"))
                .clone();
            assert_eq!(
                tuple.len(),
                rel.columns.len(),
                "column count of {} in message {i}",
                rel.name
            );
            let mut decoded = Vec::new();
            for (col, meta) in tuple.iter().zip(&rel.columns) {
                seen.column_kinds.insert(char::from(col.tag()));
                let v = match col {
                    Column::Text(raw) => {
                        value::decode(Format::Text, meta.type_oid, meta.type_modifier, raw, &cache)
                    }
                    Column::Binary(raw) => value::decode(
                        Format::Binary,
                        meta.type_oid,
                        meta.type_modifier,
                        raw,
                        &cache,
                    ),
                    _ => Ok(PgValue::Null),
                }
                .unwrap_or_else(|e| panic!("{}.{} in message {i}: {e}", rel.name, meta.name))
                .into_owned();
                decoded.push((meta.name.clone(), v));
            }
            if is_new && (rel.name == "alltypes" || rel.name == "items") {
                let id = decoded[0].1.as_i64().unwrap();
                seen.rows.insert((rel.name.clone(), id), decoded);
            }
        }
    }
    seen
}

/// Registers enum types and arrays of them from the catalog, as the source does.
fn catalog_types(pg: &PgCluster) -> RelationCache {
    let mut cache = RelationCache::new();
    let out = pg
        .psql_db(DB, "SELECT t.oid, t.typname, t.typarray, (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid) FROM pg_type t WHERE t.typtype = 'e'")
        .unwrap();
    for line in out.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let (oid, name, array_oid): (u32, &str, u32) =
            (f[0].parse().unwrap(), f[1], f[2].parse().unwrap());
        let labels = f[3].split(',').map(str::to_owned).collect();
        cache.register_type(TypeInfo {
            oid,
            namespace: "public".into(),
            name: name.into(),
            kind: TypeKind::Enum { labels },
        });
        cache.register_type(TypeInfo {
            oid: array_oid,
            namespace: "public".into(),
            name: format!("_{name}"),
            kind: TypeKind::Array { element_oid: oid },
        });
    }
    cache
}

fn names(seen: &Seen) -> BTreeSet<&'static str> {
    seen.messages.keys().copied().collect()
}

fn expect_messages(seen: &Seen, expected: &[&str], what: &str) {
    let got = names(seen);
    for name in expected {
        assert!(
            got.contains(name),
            "{what}: expected {name} messages, saw {got:?}"
        );
    }
}

/// PostgreSQL's own text output (the type's output function, through `format('%s')`)
/// of every `alltypes` column, hex-encoded to survive psql.
fn sql_text_rows(pg: &PgCluster, columns: &[String]) -> BTreeMap<i64, Vec<Option<String>>> {
    let exprs: Vec<String> =
        columns
            .iter()
            .map(|c| format!("CASE WHEN {c} IS NULL THEN 'NULL' ELSE encode(convert_to(format('%s', {c}), 'UTF8'), 'hex') END"))
            .collect();
    let out = pg
        .psql_db(
            DB,
            &format!(
                "{CAPTURE_SESSION}SELECT id, {} FROM alltypes ORDER BY id",
                exprs.join(", ")
            ),
        )
        .unwrap();
    out.lines()
        .map(|line| {
            let mut f = line.split('|');
            let id: i64 = f.next().unwrap().parse().unwrap();
            let vals = f
                .map(|h| {
                    if h == "NULL" {
                        None
                    } else {
                        Some(String::from_utf8(unhex(h)).unwrap())
                    }
                })
                .collect();
            (id, vals)
        })
        .collect()
}

#[test]
fn decoding_real_server_output_is_exact_for_every_protocol_version() {
    let pg = PgCluster::builder().logical_decoding_work_mem("64kB").start().expect(
        "a PostgreSQL server is needed: run scripts/setup.sh, or point TIDEWATER_PG_BIN at a PostgreSQL bin directory",
    );
    let version = pg.server_version_num();
    eprintln!("PostgreSQL server_version_num = {version}");
    pg.create_database(DB).unwrap();
    pg.psql_db(DB, include_str!("fixtures/schema.sql")).unwrap();
    pg.create_logical_slot(DB, "plain", false).unwrap();
    pg.create_logical_slot(DB, "twophase", true).unwrap();
    pg.psql_db(DB, include_str!("fixtures/workload.sql"))
        .unwrap();
    let types = catalog_types(&pg);

    let base = [("publication_names", "pub")];
    let data_messages = [
        "Begin", "Commit", "Origin", "Relation", "Type", "Insert", "Update", "Delete", "Truncate",
    ];

    // Protocol 1: no streaming, no messages, text columns.
    let v1 = decode_all(
        &capture(&pg, "plain", &[base[0], ("proto_version", "1")]),
        &types,
    );
    expect_messages(&v1, &data_messages, "v1");
    assert!(!names(&v1).contains("StreamStart"), "v1 must not stream");
    assert_eq!(
        v1.column_kinds,
        BTreeSet::from(['n', 't', 'u']),
        "v1 column kinds"
    );
    assert_eq!(v1.old_kinds, BTreeSet::from(['K', 'O']));
    assert_eq!(
        v1.truncate_options,
        BTreeSet::from([Truncate::CASCADE | Truncate::RESTART_IDENTITY])
    );
    assert_eq!(
        v1.relation_versions["items"],
        BTreeSet::from([5, 6]),
        "ALTER TABLE gives a second Relation"
    );

    // Protocol 2, streaming on, logical messages.
    let v2 = decode_all(
        &capture(
            &pg,
            "plain",
            &[
                base[0],
                ("proto_version", "2"),
                ("streaming", "on"),
                ("messages", "true"),
            ],
        ),
        &types,
    );
    expect_messages(&v2, &data_messages, "v2");
    expect_messages(
        &v2,
        &[
            "Message",
            "StreamStart",
            "StreamStop",
            "StreamCommit",
            "StreamAbort",
        ],
        "v2 streaming",
    );
    assert_eq!(v2.stream_abort_with_info, 0);
    assert_eq!(
        v2.logical_messages,
        [
            (true, "tx".to_owned(), b"in a transaction".to_vec()),
            (false, "notx".to_owned(), b"outside".to_vec()),
            (true, "bin".to_owned(), vec![0x00, 0xff, 0x0a]),
        ]
    );

    // Protocol 2, binary columns.
    let v2b = decode_all(
        &capture(
            &pg,
            "plain",
            &[
                base[0],
                ("proto_version", "2"),
                ("binary", "true"),
                ("messages", "true"),
            ],
        ),
        &types,
    );
    expect_messages(&v2b, &data_messages, "v2 binary");
    assert!(
        v2b.column_kinds.contains(&'b'),
        "binary mode sends b columns: {:?}",
        v2b.column_kinds
    );

    // Protocol 3, two-phase with streaming.
    let v3 = decode_all(
        &capture(
            &pg,
            "twophase",
            &[
                base[0],
                ("proto_version", "3"),
                ("streaming", "on"),
                ("two_phase", "true"),
                ("messages", "true"),
            ],
        ),
        &types,
    );
    expect_messages(
        &v3,
        &[
            "BeginPrepare",
            "Prepare",
            "CommitPrepared",
            "RollbackPrepared",
            "StreamPrepare",
            "StreamAbort",
        ],
        "v3",
    );

    // Protocol 4 (PostgreSQL 16+): parallel streaming sends the abort LSN and time.
    if version >= 160_000 {
        let v4 = decode_all(
            &capture(
                &pg,
                "twophase",
                &[
                    base[0],
                    ("proto_version", "4"),
                    ("streaming", "parallel"),
                    ("two_phase", "true"),
                    ("messages", "true"),
                ],
            ),
            &types,
        );
        expect_messages(
            &v4,
            &["StreamStart", "StreamAbort", "StreamPrepare", "Origin"],
            "v4",
        );
        assert!(
            v4.stream_abort_with_info > 0,
            "v4 parallel streaming must carry abort LSN and time"
        );
    } else {
        eprintln!(
            "protocol 4 needs PostgreSQL 16+; this server is {version}: run the suite with TIDEWATER_PG_BIN set to 16+ (scripts/test.sh does, with 18)"
        );
    }

    // Values: text and binary decoding agree, and both match PostgreSQL's text output.
    assert_eq!(v1.rows.len(), v2b.rows.len());
    for (key, text_row) in &v1.rows {
        let bin_row = &v2b.rows[key];
        for ((name, t), (_, b)) in text_row.iter().zip(bin_row) {
            assert_eq!(t, b, "{key:?}.{name}: text and binary decoding differ");
        }
    }
    let columns: Vec<String> = v1.rows[&("alltypes".to_owned(), 1)]
        .iter()
        .skip(1)
        .map(|(n, _)| n.clone())
        .collect();
    let sql_rows = sql_text_rows(&pg, &columns);
    assert_eq!(sql_rows.len(), 4);
    for (id, sql_vals) in &sql_rows {
        let decoded = &v2b.rows[&("alltypes".to_owned(), *id)];
        for ((name, v), sql) in decoded.iter().skip(1).zip(sql_vals) {
            let ours = if v.is_null() {
                None
            } else {
                let mut buf = Vec::new();
                value::encode_text(v, &mut buf);
                Some(String::from_utf8(buf).unwrap())
            };
            assert_eq!(
                &ours, sql,
                "alltypes id {id} column {name}: decoded binary value printed as text"
            );
        }
    }

    // And the values the SQL inserted, spelled out for a few columns.
    let row1: HashMap<&str, &PgValue<'_>> = v2b.rows[&("alltypes".to_owned(), 1)]
        .iter()
        .map(|(n, v)| (n.as_str(), v))
        .collect();
    assert_eq!(row1["c_int8"], &PgValue::Int8(i64::MAX));
    assert_eq!(row1["c_int2"], &PgValue::Int2(i16::MAX));
    assert_eq!(row1["c_bool"], &PgValue::Bool(true));
    assert!(matches!(row1["c_float4"], PgValue::Float4(f) if f.is_nan()));
    assert_eq!(row1["c_float8"], &PgValue::Float8(f64::NEG_INFINITY));
    assert_eq!(
        row1["c_text"].as_str(),
        Some("ünïcode ☃ \"quoted\" \\ back")
    );
    assert_eq!(row1["c_mood"], &PgValue::Enum("happy".into()));
    assert_eq!(row1["c_money"], &PgValue::Money(9_223_372_036_854_775_807));
    assert_eq!(
        row1["c_bytea"],
        &PgValue::Bytea(vec![0x00, 0xff, 0x10].into())
    );
    assert!(
        matches!(row1["c_numeric_ps"], PgValue::Numeric(n) if n.to_string() == "12345678.1234")
    );
    let PgValue::Array(arr) = row1["c_int4_arr"] else {
        panic!("c_int4_arr: {:?}", row1["c_int4_arr"])
    };
    assert_eq!(
        arr.elements(),
        &[PgValue::Int4(1), PgValue::Null, PgValue::Int4(3)]
    );
    let PgValue::Array(arr) = row1["c_text_arr"] else {
        panic!()
    };
    let texts: Vec<Option<&str>> = arr.elements().iter().map(|v| v.as_str()).collect();
    assert_eq!(
        texts,
        [
            Some("a b"),
            Some("c\"d"),
            Some("NULL"),
            None,
            Some(""),
            Some("ü")
        ]
    );
    let items1: HashMap<&str, &PgValue<'_>> = v1.rows[&("items".to_owned(), 1)]
        .iter()
        .map(|(n, v)| (n.as_str(), v))
        .collect();
    assert_eq!(items1["name"].as_str(), Some("renamed"));
}
