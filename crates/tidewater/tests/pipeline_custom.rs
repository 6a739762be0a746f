//! The pipeline with parts of the application's own: a source replaying
//! prepared transactions (as the architecture allows, for tests and replays)
//! and the in-memory sink. Checks the builder's validation, that the direct
//! JSON path and the record path write the same records, and that a source
//! that finishes ends the run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tidewater::connect::ConnectRecord;
use tidewater::envelope::EnvelopeConfig;
use tidewater::kafka::{MemorySink, StoredRecord};
use tidewater::pgoutput::{
    ChangeEvent, ChangeKind, Column, Lsn, Relation, RelationColumn, ReplicaIdentity,
    TransactionBegin, TransactionCommit, TransactionEvent, TupleData,
};
use tidewater::postgres::ChangeSource;
use tidewater::transforms::Transform;
use tidewater::{DeadLetterQueue, Pipeline, PipelineError, Position, RuntimeSettings};

/// Hands out prepared batches, then reports the end (an empty batch).
struct Replay {
    batches: VecDeque<Vec<TransactionEvent>>,
    acknowledged: Arc<std::sync::Mutex<Vec<Lsn>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("replay failed")]
struct ReplayError;

impl ChangeSource for Replay {
    type Error = ReplayError;

    async fn next_batch(&mut self) -> Result<Vec<TransactionEvent>, ReplayError> {
        Ok(self.batches.pop_front().unwrap_or_default())
    }

    fn acknowledge(&mut self, flushed: Lsn) {
        self.acknowledged.lock().unwrap().push(flushed);
    }
}

fn relation() -> Arc<Relation> {
    Arc::new(Relation {
        xid: None,
        oid: 16384,
        namespace: "public".into(),
        name: "t".into(),
        replica_identity: ReplicaIdentity::Default,
        columns: vec![
            RelationColumn {
                flags: 1,
                name: "id".into(),
                type_oid: 23,
                type_modifier: -1,
            },
            RelationColumn {
                flags: 0,
                name: "note".into(),
                type_oid: 25,
                type_modifier: -1,
            },
        ],
    })
}

/// Transaction `n` (commit at `0x1000 * n`) inserting `rows` rows, split into
/// batches of at most three events.
fn transactions(count: u64, rows: u64) -> VecDeque<Vec<TransactionEvent>> {
    let rel = relation();
    let mut events = Vec::new();
    let mut id = 0u64;
    for n in 1..=count {
        let commit_lsn = Lsn(0x1000 * n);
        events.push(TransactionEvent::Begin(TransactionBegin {
            xid: 100 + n as u32,
            commit_lsn,
            commit_time: 0,
        }));
        for index in 0..rows {
            id += 1;
            let id_text = id.to_string();
            let note = format!("note \"{id}\"");
            events.push(TransactionEvent::Change(ChangeEvent {
                kind: ChangeKind::Insert {
                    new: TupleData::from_columns(&[
                        Column::Text(id_text.as_bytes()),
                        Column::Text(note.as_bytes()),
                    ]),
                },
                relation: Some(Arc::clone(&rel)),
                lsn: Lsn(commit_lsn.0 - 0x100 + index),
                commit_lsn,
                xid: Some(100 + n as u32),
                commit_time: 0,
                index,
            }));
        }
        events.push(TransactionEvent::Commit(TransactionCommit {
            xid: 100 + n as u32,
            commit_lsn,
            end_lsn: Lsn(commit_lsn.0 + 0x10),
            commit_time: 0,
            event_count: rows,
        }));
    }
    events.chunks(3).map(<[_]>::to_vec).collect()
}

/// Leaves records unchanged (its presence forces the record path).
struct Identity;

impl Transform for Identity {
    fn apply(&self, record: ConnectRecord) -> tidewater::transforms::Result<Option<ConnectRecord>> {
        Ok(Some(record))
    }
}

/// Drops the records of odd ids.
struct DropOdd;

impl Transform for DropOdd {
    fn apply(&self, record: ConnectRecord) -> tidewater::transforms::Result<Option<ConnectRecord>> {
        let id = record
            .value
            .as_ref()
            .and_then(|v| v.as_struct())
            .and_then(|s| s.get("after"))
            .and_then(|a| a.as_struct())
            .and_then(|a| a.get("id"))
            .and_then(|id| id.as_i64());
        Ok(if id.is_some_and(|id| id % 2 == 1) {
            None
        } else {
            Some(record)
        })
    }
}

fn envelope() -> EnvelopeConfig {
    let mut config = EnvelopeConfig::new("app", "db");
    config.provide_transaction_metadata = true;
    config
}

async fn replay(
    transform: Option<Box<dyn Transform>>,
    count: u64,
    rows: u64,
) -> (Vec<StoredRecord>, tidewater::RunSummary, Vec<Lsn>) {
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::new()));
    let source = Replay {
        batches: transactions(count, rows),
        acknowledged: Arc::clone(&acknowledged),
    };
    let sink = MemorySink::new();
    let mut builder = Pipeline::builder()
        .source(source)
        .envelope(envelope())
        .sink(sink.clone());
    if let Some(t) = transform {
        builder = builder.transform("t", t);
    }
    let summary = tokio::time::timeout(Duration::from_secs(20), builder.build().unwrap().run())
        .await
        .expect("the run ends when the source does")
        .unwrap();
    let acks = acknowledged.lock().unwrap().clone();
    (sink.records(), summary, acks)
}

fn without_timestamps(records: &[StoredRecord]) -> Vec<(String, Option<Vec<u8>>, Option<String>)> {
    // `ts_ms`/`ts_us`/`ts_ns` are the processing time: blank them out.
    records
        .iter()
        .map(|r| {
            (
                r.record.topic.to_string(),
                r.record.key.as_deref().map(<[u8]>::to_vec),
                r.record
                    .value
                    .as_deref()
                    .map(|v| blank_times(std::str::from_utf8(v).unwrap())),
            )
        })
        .collect()
}

/// Replaces the digits after `"ts_ms":`, `"ts_us":` and `"ts_ns":` with `0`.
fn blank_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = ["\"ts_ms\":", "\"ts_us\":", "\"ts_ns\":"]
        .iter()
        .filter_map(|k| rest.find(k).map(|i| i + k.len()))
        .min()
    {
        out.push_str(&rest[..i]);
        rest = rest[i..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('0');
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_direct_json_path_and_the_record_path_write_the_same_records() {
    let (direct, direct_summary, acks) = replay(None, 5, 4).await;
    let (records, record_summary, _) = replay(Some(Box::new(Identity)), 5, 4).await;
    assert!(direct_summary.direct_json);
    assert!(!record_summary.direct_json);
    assert!(direct_summary.source_finished);
    // 5 × (BEGIN + 4 rows + END).
    assert_eq!(direct.len(), 30);
    assert_eq!(without_timestamps(&direct), without_timestamps(&records));
    let positions = |rs: &[StoredRecord]| -> Vec<Option<Position>> {
        rs.iter()
            .map(|r| {
                r.record
                    .headers
                    .iter()
                    .find(|h| h.key == tidewater::POSITION_HEADER)
                    .and_then(|h| h.value.as_deref())
                    .map(|v| std::str::from_utf8(v).unwrap().parse().unwrap())
            })
            .collect()
    };
    assert_eq!(positions(&direct), positions(&records));
    // Data records carry their event's position; END records the one after the last event.
    let data: Vec<Position> = direct
        .iter()
        .zip(positions(&direct))
        .filter(|(r, _)| &*r.record.topic == "app.public.t")
        .map(|(_, p)| p.unwrap())
        .collect();
    assert_eq!(data[0], Position::new(Lsn(0x1000), 0));
    assert_eq!(data[19], Position::new(Lsn(0x5000), 3));
    // Transaction ends acknowledged (coalesced while deliveries arrive), never
    // backwards, the last one last; every acknowledged position is a commit's end.
    assert_eq!(acks.last(), Some(&Lsn(0x5010)));
    assert!(acks.windows(2).all(|w| w[0] <= w[1]), "{acks:?}");
    assert!(acks.iter().all(|a| a.0 % 0x1000 == 0x10), "{acks:?}");
    assert_eq!(direct_summary.acknowledged, Some(Lsn(0x5010)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_whose_records_were_all_dropped_are_acknowledged() {
    // One row per transaction: odd transactions lose their only record.
    let (records, summary, acks) = replay(Some(Box::new(DropOdd)), 4, 1).await;
    let data = records
        .iter()
        .filter(|r| &*r.record.topic == "app.public.t")
        .count();
    assert_eq!(data, 2);
    assert_eq!(summary.acknowledged, Some(Lsn(0x4010)));
    assert!(acks.contains(&Lsn(0x4010)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_reports_what_does_not_fit() {
    let source = || Replay {
        batches: VecDeque::new(),
        acknowledged: Arc::default(),
    };
    let what = |e: PipelineError| match e {
        PipelineError::Config { what, .. } => what,
        other => panic!("{other}"),
    };

    let missing = Pipeline::builder()
        .source(source())
        .sink(MemorySink::new())
        .build()
        .unwrap_err();
    assert_eq!(what(missing), "envelope");

    let mut settings = RuntimeSettings::default();
    settings.max_queue_size = 0;
    let e = Pipeline::builder()
        .source(source())
        .envelope(envelope())
        .settings(settings)
        .sink(MemorySink::new())
        .build()
        .unwrap_err();
    assert_eq!(what(e), "max.queue.size");

    let mut settings = RuntimeSettings::default();
    settings.dead_letter_queue = Some(DeadLetterQueue::new(" "));
    let e = Pipeline::builder()
        .source(source())
        .envelope(envelope())
        .settings(settings)
        .sink(MemorySink::new())
        .build()
        .unwrap_err();
    assert_eq!(what(e), "errors.deadletterqueue.topic.name");

    let mut settings = RuntimeSettings::default();
    settings.heartbeat_interval = Some(Duration::from_millis(100));
    settings.heartbeat_action_query = Some("SELECT 1".to_owned());
    let pipeline = Pipeline::builder()
        .source(source())
        .envelope(envelope())
        .settings(settings)
        .sink(MemorySink::new())
        .build()
        .unwrap();
    // A source without SQL access cannot run heartbeat.action.query.
    let e = pipeline.run().await.unwrap_err();
    assert_eq!(what(e), "heartbeat.action.query");
}
