//! Judges what an independent consumer read from the topic against what the
//! workload committed and what PostgreSQL's slot confirmed at each kill.
//!
//! The consumer rule under test (docs/reliability.md): per partition, keep a
//! record only when `(position, is_tombstone)` is greater than that of the last
//! record kept; everything else is a replay. The checker applies it and then
//! asks:
//!
//! * every dropped record is an exact replay (same key, same position, same
//!   change) of a kept one — otherwise a deduplicating consumer would lose it;
//! * a replay written by run `r` lies in the unacknowledged window: its commit
//!   LSN is at or after the slot's `confirmed_flush_lsn` when run `r` started
//!   (PostgreSQL resends exactly the transactions committed at or after it);
//! * every transaction committed after the final snapshot's consistent point
//!   arrived complete, each change at its index exactly as committed;
//! * whenever the slot had confirmed past a transaction at a kill, all of that
//!   transaction's records had been written before the kill (the
//!   "acknowledged but not written" loss);
//! * each delete is followed by its tombstone;
//! * the last record kept per id is the table's final state (a read, create
//!   or update with the final value; a delete + tombstone for deleted rows).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use serde_json::Value;
use tidewater::Position;
use tidewater::pgoutput::Lsn;

use super::Rec;
use super::workload::{Op, Tx};

/// One run of the pipeline process.
#[derive(Debug, Clone)]
pub struct Run {
    /// When it was started (ms since the epoch, before spawning).
    pub started_ms: i64,
    /// When it was gone (ms since the epoch, after it exited).
    pub ended_ms: i64,
    /// The slot's `confirmed_flush_lsn` when it started (`None`: no slot yet).
    pub resume: Option<Lsn>,
    /// The slot's `confirmed_flush_lsn` once it was gone.
    pub confirmed_at_end: Option<Lsn>,
    /// Ended by SIGKILL (else by SIGTERM, or still running at the end).
    pub killed: bool,
    /// What the test meant to hit with this kill.
    pub label: String,
}

/// What a record says.
#[derive(Debug, Clone)]
struct Ev {
    id: i64,
    tombstone: bool,
    op: char,
    /// `after.v` for reads, creates and updates.
    v: Option<i64>,
    xid: Option<u32>,
    /// The change, without processing timestamps, for comparing replays.
    content: String,
}

fn parse(rec: &Rec) -> Result<Ev, String> {
    let key: Value = serde_json::from_str(rec.key.as_deref().ok_or("a null key")?)
        .map_err(|e| format!("key is not JSON: {e}"))?;
    let id = key["id"].as_i64().ok_or_else(|| format!("key {key}"))?;
    let Some(value) = rec.value.as_deref() else {
        return Ok(Ev {
            id,
            tombstone: true,
            op: '-',
            v: None,
            xid: None,
            content: String::new(),
        });
    };
    let value: Value =
        serde_json::from_str(value).map_err(|e| format!("value is not JSON: {e}"))?;
    let op = value["op"]
        .as_str()
        .and_then(|s| s.chars().next())
        .ok_or_else(|| format!("no op in {value}"))?;
    let row = if op == 'd' {
        &value["before"]
    } else {
        &value["after"]
    };
    if row["id"].as_i64() != Some(id) {
        return Err(format!("key id {id} but row {row}"));
    }
    let xid = value["source"]["txId"].as_u64().map(|x| x as u32);
    let content = serde_json::json!({
        "op": value["op"], "before": value["before"], "after": value["after"],
        "lsn": value["source"]["lsn"], "txId": value["source"]["txId"],
    })
    .to_string();
    Ok(Ev {
        id,
        tombstone: false,
        op,
        v: if op == 'd' { None } else { row["v"].as_i64() },
        xid,
        content,
    })
}

/// Figures of one check.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub records: usize,
    pub kept: usize,
    /// Replays written by a later run than the original.
    pub duplicates: usize,
    /// Replays written by the run that wrote the original (a sink resend).
    pub duplicates_same_run: usize,
    pub snapshot_attempts: usize,
    pub snapshot_rows_final: usize,
    /// Rows of snapshots that were redone.
    pub snapshot_rows_superseded: usize,
    pub transactions_checked: usize,
    pub events_checked: usize,
    /// Transactions covered by the final snapshot that were (partly) streamed
    /// before it.
    pub transactions_superseded: usize,
    pub ids_checked: usize,
    /// Deleted ids no record of which ever reached the topic.
    pub ids_never_visible: usize,
    pub kills: usize,
    /// Kills after which records were in the topic but not confirmed to
    /// PostgreSQL (written, unacknowledged: the window).
    pub kills_with_unflushed_records: usize,
    /// The largest window at a kill (records).
    pub largest_window: usize,
    /// Per run: records written, replays written, label.
    pub runs: Vec<(usize, usize, String)>,
    /// Per run: records first written by it or an earlier run at or after
    /// the position the slot had confirmed when it ended (the window that a
    /// following run replays).
    pub window_at_end: Vec<usize>,
    pub problems: Vec<String>,
    /// Per xid: runs that wrote some of its records before it was complete
    /// (first run, completing run).
    written_by: HashMap<u32, (usize, usize)>,
}

impl Report {
    /// Runs (by index) in which transaction `xid` got its first and its last
    /// missing record written.
    pub fn written_by(&self, xid: u32) -> Option<(usize, usize)> {
        self.written_by.get(&xid).copied()
    }

    /// Fails the test with the problems found.
    pub fn assert_clean(&self, test: &str) {
        if self.problems.is_empty() {
            return;
        }
        let mut text = format!("{test}: {} problem(s)\n", self.problems.len());
        for p in self.problems.iter().take(25) {
            let _ = writeln!(text, "  - {p}");
        }
        let _ = writeln!(text, "{}", self.summary());
        panic!("{text}");
    }

    pub fn summary(&self) -> String {
        let mut s = format!(
            "records read {}, kept {}, replays {} (+{} resent within a run), snapshot attempts {}, \
             final snapshot rows {}, superseded snapshot rows {}, transactions checked {} \
             ({} events), superseded transactions {}, ids checked {} ({} never visible), kills {}, \
             kills with written-but-unconfirmed records {}, largest window {}",
            self.records,
            self.kept,
            self.duplicates,
            self.duplicates_same_run,
            self.snapshot_attempts,
            self.snapshot_rows_final,
            self.snapshot_rows_superseded,
            self.transactions_checked,
            self.events_checked,
            self.transactions_superseded,
            self.ids_checked,
            self.ids_never_visible,
            self.kills,
            self.kills_with_unflushed_records,
            self.largest_window,
        );
        for (i, (written, replays, label)) in self.runs.iter().enumerate() {
            let window = self.window_at_end.get(i).copied().unwrap_or(0);
            let _ = write!(
                s,
                "\n  run {i}: {written} records written, {replays} of them replays; ended by \
                 {label}; {window} records unconfirmed at its end"
            );
        }
        s
    }
}

/// Checks `records` (in partition and offset order) against the runs, the
/// workload's log and the table's final rows.
pub fn check(records: &[Rec], runs: &[Run], log: &[Tx], table: &HashMap<i64, i64>) -> Report {
    let mut r = Report {
        records: records.len(),
        kills: runs.iter().filter(|run| run.killed).count(),
        runs: runs.iter().map(|run| (0, 0, run.label.clone())).collect(),
        ..Report::default()
    };
    let problems = &mut r.problems;
    let run_of = |ts: i64| runs.iter().rposition(|run| run.started_ms <= ts);

    // Per partition: the consumer's deduplication.
    struct Kept {
        partition: i32,
        position: Position,
        run: usize,
        ev: Ev,
    }
    let mut kept: Vec<Kept> = Vec::new();
    let mut by_slot: HashMap<(i32, Position, bool, i64), usize> = HashMap::new();
    let mut last: HashMap<i32, (Position, bool)> = HashMap::new();
    let mut partition_of: HashMap<i64, i32> = HashMap::new();
    // (xid, index) → earliest run that wrote it.
    let mut first_written: HashMap<(u32, u64), usize> = HashMap::new();
    // Records written by each killed run that its end did not confirm.
    let mut window: Vec<usize> = vec![0; runs.len()];

    for rec in records {
        let ev = match parse(rec) {
            Ok(ev) => ev,
            Err(e) => {
                problems.push(format!(
                    "partition {} offset {}: {e}",
                    rec.partition, rec.offset
                ));
                continue;
            }
        };
        let Some(position) = rec.position else {
            problems.push(format!(
                "partition {} offset {}: no position header",
                rec.partition, rec.offset
            ));
            continue;
        };
        let Some(run) = run_of(rec.ts) else {
            problems.push(format!(
                "partition {} offset {}: stamped {} before the first run started",
                rec.partition, rec.offset, rec.ts
            ));
            continue;
        };
        if rec.ts > runs[run].ended_ms {
            problems.push(format!(
                "partition {} offset {}: stamped {} after run {run} was gone ({})",
                rec.partition, rec.offset, rec.ts, runs[run].ended_ms
            ));
        }
        r.runs[run].0 += 1;
        if let Some(c) = runs[run].confirmed_at_end
            && runs[run].killed
            && ev.op != 'r'
            && position.commit_lsn >= c
        {
            window[run] += 1;
        }
        if let Some(p) = partition_of.insert(ev.id, rec.partition)
            && p != rec.partition
        {
            problems.push(format!(
                "id {} in partitions {p} and {}",
                ev.id, rec.partition
            ));
        }
        if let (Some(xid), false, true) = (ev.xid, ev.tombstone, ev.op != 'r') {
            let slot = first_written.entry((xid, position.index)).or_insert(run);
            *slot = (*slot).min(run);
        }

        let order = (position, ev.tombstone);
        let fresh = last.get(&rec.partition).is_none_or(|l| order > *l);
        if fresh {
            last.insert(rec.partition, order);
            by_slot.insert((rec.partition, position, ev.tombstone, ev.id), kept.len());
            kept.push(Kept {
                partition: rec.partition,
                position,
                run,
                ev,
            });
            continue;
        }
        // A replay: it must repeat a kept record exactly.
        let Some(&original) = by_slot.get(&(rec.partition, position, ev.tombstone, ev.id)) else {
            problems.push(format!(
                "partition {} offset {}: id {} at position {position} (tombstone: {}) comes after \
                 {:?} and repeats no earlier record: a consumer dropping replays would lose it",
                rec.partition,
                rec.offset,
                ev.id,
                ev.tombstone,
                last.get(&rec.partition)
            ));
            continue;
        };
        let orig = &kept[original];
        if orig.ev.content != ev.content {
            problems.push(format!(
                "partition {} offset {}: replay of position {position} differs: {} vs {}",
                rec.partition, rec.offset, ev.content, orig.ev.content
            ));
        }
        r.runs[run].1 += 1;
        if orig.run == run {
            r.duplicates_same_run += 1;
            continue;
        }
        r.duplicates += 1;
        match runs[run].resume {
            Some(resume) if position.commit_lsn >= resume => {}
            resume => problems.push(format!(
                "partition {} offset {}: run {run} replayed position {position} (id {}) although \
                 the slot had confirmed {resume:?} when it started: outside the unacknowledged \
                 window",
                rec.partition, rec.offset, ev.id
            )),
        }
    }
    r.kept = kept.len();
    r.window_at_end = runs
        .iter()
        .enumerate()
        .map(|(i, run)| match run.confirmed_at_end {
            Some(c) => kept
                .iter()
                .filter(|k| k.run <= i && k.ev.op != 'r' && k.position.commit_lsn >= c)
                .count(),
            None => 0,
        })
        .collect();
    r.kills_with_unflushed_records = window.iter().filter(|&&w| w > 0).count();
    r.largest_window = window.iter().copied().max().unwrap_or(0);

    // Snapshots.
    let mut snapshot_lsns: BTreeMap<Lsn, usize> = BTreeMap::new();
    for k in kept.iter().filter(|k| k.ev.op == 'r') {
        *snapshot_lsns.entry(k.position.commit_lsn).or_default() += 1;
    }
    let final_snapshot = snapshot_lsns
        .keys()
        .next_back()
        .copied()
        .unwrap_or(Lsn::INVALID);
    r.snapshot_attempts = snapshot_lsns.len();
    r.snapshot_rows_final = snapshot_lsns.get(&final_snapshot).copied().unwrap_or(0);
    r.snapshot_rows_superseded = snapshot_lsns
        .iter()
        .filter(|(l, _)| **l != final_snapshot)
        .map(|(_, n)| n)
        .sum();

    // Transactions against the log.
    let mut streamed: HashMap<u32, BTreeMap<u64, &Kept>> = HashMap::new();
    for k in kept.iter().filter(|k| !k.ev.tombstone && k.ev.op != 'r') {
        let Some(xid) = k.ev.xid else {
            problems.push(format!("id {}: a change without txId", k.ev.id));
            continue;
        };
        if streamed
            .entry(xid)
            .or_default()
            .insert(k.position.index, k)
            .is_some()
        {
            problems.push(format!(
                "xid {xid}: two kept records at index {}",
                k.position.index
            ));
        }
    }
    let mut commit_lsn_of: HashMap<u32, Lsn> = HashMap::new();
    let logged: HashSet<u32> = log.iter().map(|t| t.xid).collect();
    for xid in streamed.keys() {
        if !logged.contains(xid) {
            problems.push(format!(
                "records of xid {xid}, which the workload never committed"
            ));
        }
    }
    for tx in log {
        let n = tx.ops.len();
        let got = streamed.get(&tx.xid);
        let have = got.map_or(0, BTreeMap::len);
        if let Some(got) = got {
            let mut lsns = got.values().map(|k| k.position.commit_lsn);
            let lsn = lsns.next().unwrap_or(Lsn::INVALID);
            if lsns.any(|l| l != lsn) {
                problems.push(format!(
                    "xid {}: records with different commit LSNs",
                    tx.xid
                ));
            }
            commit_lsn_of.insert(tx.xid, lsn);
            for (&index, k) in got {
                let expected = tx.ops.get(index as usize);
                let matches = match expected {
                    Some(Op::Insert { id, v }) => {
                        k.ev.op == 'c' && k.ev.id == *id && k.ev.v == Some(*v)
                    }
                    Some(Op::Update { id, v }) => {
                        k.ev.op == 'u' && k.ev.id == *id && k.ev.v == Some(*v)
                    }
                    Some(Op::Delete { id }) => k.ev.op == 'd' && k.ev.id == *id,
                    None => false,
                };
                if !matches {
                    problems.push(format!(
                        "xid {} index {index}: expected {expected:?}, read {} of id {} (v {:?})",
                        tx.xid, k.ev.op, k.ev.id, k.ev.v
                    ));
                }
            }
            r.events_checked += have;
        }
        let after_snapshot = tx.before >= final_snapshot;
        let before_snapshot = tx.after <= final_snapshot;
        if have == n {
            r.transactions_checked += 1;
            if before_snapshot && n > 0 {
                r.transactions_superseded += 1;
            }
        } else if after_snapshot {
            problems.push(format!(
                "xid {} (committed after the snapshot at {final_snapshot}): {have} of its {n} \
                 changes reached the topic",
                tx.xid
            ));
        } else if have > 0 {
            // Streamed in part before the snapshot that replaced it was taken.
            r.transactions_superseded += 1;
        }
        // Written completely before the slot confirmed past it?
        if have == n && n > 0 {
            let runs_written: Vec<usize> = (0..n as u64)
                .filter_map(|i| first_written.get(&(tx.xid, i)).copied())
                .collect();
            let first = runs_written.iter().copied().min().unwrap_or(0);
            let complete = runs_written.iter().copied().max().unwrap_or(0);
            r.written_by.insert(tx.xid, (first, complete));
            let commit = commit_lsn_of.get(&tx.xid).copied().unwrap_or(Lsn::INVALID);
            for (i, run) in runs.iter().enumerate().take(complete) {
                if let Some(c) = run.confirmed_at_end
                    && c > commit
                {
                    problems.push(format!(
                        "xid {} (commit {commit}): the slot confirmed {c} when run {i} ended, \
                         but its records were complete only in run {complete}",
                        tx.xid
                    ));
                }
            }
        }
    }

    // Per id: tombstones and the final state.
    let mut per_id: HashMap<i64, Vec<&Kept>> = HashMap::new();
    for k in &kept {
        per_id.entry(k.ev.id).or_default().push(k);
    }
    for (id, list) in &per_id {
        for (i, k) in list.iter().enumerate() {
            if k.ev.op == 'd' {
                match list.get(i + 1) {
                    Some(t) if t.ev.tombstone && t.position == k.position => {}
                    other => problems.push(format!(
                        "id {id}: the delete at {} is followed by {:?}, not its tombstone",
                        k.position,
                        other.map(|o| (o.position, o.ev.op))
                    )),
                }
            }
            if k.ev.tombstone && !(i > 0 && list[i - 1].ev.op == 'd') {
                problems.push(format!(
                    "id {id}: a tombstone at {} without its delete",
                    k.position
                ));
            }
        }
    }
    let mut ids: HashSet<i64> = table.keys().copied().collect();
    for tx in log {
        ids.extend(tx.ops.iter().map(|op| op.id()));
    }
    ids.extend(per_id.keys().copied());
    r.ids_checked = ids.len();
    for id in ids {
        let list = per_id.get(&id).map(Vec::as_slice).unwrap_or_default();
        match (table.get(&id), list.last()) {
            (Some(v), Some(k)) if !k.ev.tombstone && k.ev.op != 'd' && k.ev.v == Some(*v) => {}
            (Some(v), last) => problems.push(format!(
                "id {id}: the table has v = {v}, the last record kept is {:?}",
                last.map(|k| (k.position, k.ev.op, k.ev.v, k.partition))
            )),
            (None, None) => r.ids_never_visible += 1,
            (None, Some(k)) if k.ev.tombstone => {}
            (None, Some(k)) => problems.push(format!(
                "id {id}: deleted from the table, but the last record kept is {} at {} (run {})",
                k.ev.op, k.position, k.run
            )),
        }
    }
    r
}
