//! A logged workload on `items (id bigint PRIMARY KEY, v bigint, note text)`:
//! every committed transaction is remembered with its xid, its row changes
//! in order and WAL positions around it, so the checker can compare what a
//! consumer read with what happened.

use std::collections::HashMap;

use tidewater::pgoutput::Lsn;

use super::Rng;

/// One row change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert { id: i64, v: i64 },
    Update { id: i64, v: i64 },
    Delete { id: i64 },
}

impl Op {
    pub fn id(self) -> i64 {
        match self {
            Op::Insert { id, .. } | Op::Update { id, .. } | Op::Delete { id } => id,
        }
    }
}

/// A committed transaction.
#[derive(Debug, Clone)]
pub struct Tx {
    /// Its transaction id (low 32 bits of `txid_current()`, as pgoutput has it).
    pub xid: u32,
    /// Its row changes on `items`, in statement order.
    pub ops: Vec<Op>,
    /// A WAL position at or before its commit record.
    pub before: Lsn,
    /// A WAL position at or after the end of its commit record.
    pub after: Lsn,
}

/// Transactions on one session, logged.
pub struct Workload {
    client: tokio_postgres::Client,
    rng: Rng,
    next_id: i64,
    live: Vec<i64>,
    slot_of: HashMap<i64, usize>,
    pub log: Vec<Tx>,
    last: Lsn,
    pub rows_written: u64,
}

const NOTE: &str = "a note long enough to look like a real column";

impl Workload {
    /// A workload on `client`, inserting ids from `first_id` on.
    pub async fn new(client: tokio_postgres::Client, rng: Rng, first_id: i64) -> Workload {
        let last = super::wal_insert_lsn(&client).await;
        Workload {
            client,
            rng,
            next_id: first_id,
            live: Vec::new(),
            slot_of: HashMap::new(),
            log: Vec::new(),
            last,
            rows_written: 0,
        }
    }

    pub fn client(&self) -> &tokio_postgres::Client {
        &self.client
    }

    /// Goes on with another session (after a server restart).
    pub async fn reconnect(&mut self, client: tokio_postgres::Client) {
        self.client = client;
        self.last = super::wal_insert_lsn(&self.client).await;
    }

    /// The next id an insert takes.
    pub fn next_id(&self) -> i64 {
        self.next_id
    }

    fn add_live(&mut self, id: i64) {
        self.slot_of.insert(id, self.live.len());
        self.live.push(id);
    }

    fn remove_live(&mut self, id: i64) {
        if let Some(i) = self.slot_of.remove(&id) {
            self.live.swap_remove(i);
            if let Some(&moved) = self.live.get(i) {
                self.slot_of.insert(moved, i);
            }
        }
    }

    fn pick_live(&mut self) -> Option<i64> {
        if self.live.is_empty() {
            return None;
        }
        let i = self.rng.range(0, self.live.len() as u64) as usize;
        Some(self.live[i])
    }

    async fn begin(&self) -> u32 {
        self.client.batch_execute("BEGIN").await.unwrap();
        let row = self
            .client
            .query_one("SELECT txid_current()", &[])
            .await
            .unwrap();
        (row.get::<_, i64>(0) & 0xffff_ffff) as u32
    }

    async fn commit(&mut self, xid: u32, ops: Vec<Op>) {
        self.client.batch_execute("COMMIT").await.unwrap();
        let after = super::wal_insert_lsn(&self.client).await;
        self.rows_written += ops.len() as u64;
        self.log.push(Tx {
            xid,
            ops,
            before: self.last,
            after,
        });
        self.last = after;
    }

    /// Inserts `count` rows in one statement (ids in ascending order).
    async fn insert_rows(&mut self, count: usize, ops: &mut Vec<Op>) {
        if count == 0 {
            return;
        }
        let ids: Vec<i64> = (self.next_id..self.next_id + count as i64).collect();
        self.next_id += count as i64;
        let vs: Vec<i64> = ids
            .iter()
            .map(|_| self.rng.range(0, 1_000_000) as i64)
            .collect();
        self.client
            .execute(
                "INSERT INTO items (id, v, note) SELECT i, v, $3 FROM unnest($1::bigint[], $2::bigint[]) AS t(i, v)",
                &[&ids, &vs, &NOTE],
            )
            .await
            .unwrap();
        for (&id, &v) in ids.iter().zip(&vs) {
            ops.push(Op::Insert { id, v });
            self.add_live(id);
        }
    }

    async fn update_row(&mut self, id: i64, ops: &mut Vec<Op>) {
        let v = self.rng.range(0, 1_000_000) as i64;
        let n = self
            .client
            .execute("UPDATE items SET v = $2 WHERE id = $1", &[&id, &v])
            .await
            .unwrap();
        assert_eq!(n, 1, "update of live id {id}");
        ops.push(Op::Update { id, v });
    }

    async fn delete_row(&mut self, id: i64, ops: &mut Vec<Op>) {
        let n = self
            .client
            .execute("DELETE FROM items WHERE id = $1", &[&id])
            .await
            .unwrap();
        assert_eq!(n, 1, "delete of live id {id}");
        ops.push(Op::Delete { id });
        self.remove_live(id);
    }

    /// One transaction of varying size: mostly small, sometimes a few
    /// thousand rows; inserts, then updates and deletes of random live rows
    /// (sometimes of rows inserted in the same transaction).
    pub async fn random_tx(&mut self) {
        let size = match self.rng.range(0, 100) {
            0..70 => self.rng.range(1, 20),
            70..96 => self.rng.range(20, 500),
            _ => self.rng.range(500, 3000),
        } as usize;
        self.tx_of(size).await;
    }

    /// A small transaction: 1 to 20 inserts, updates and deletes.
    pub async fn small_tx(&mut self) {
        let size = self.rng.range(1, 20) as usize;
        self.tx_of(size).await;
    }

    async fn tx_of(&mut self, size: usize) {
        let xid = self.begin().await;
        let mut ops = Vec::with_capacity(size + 8);
        self.insert_rows(size, &mut ops).await;
        for _ in 0..self.rng.range(0, 6) {
            if let Some(id) = self.pick_live() {
                self.update_row(id, &mut ops).await;
            }
        }
        for _ in 0..self.rng.range(0, 4) {
            if let Some(id) = self.pick_live() {
                self.delete_row(id, &mut ops).await;
            }
        }
        self.commit(xid, ops).await;
    }

    /// Inserts `count` rows in one transaction, generated by the server
    /// (`INSERT … SELECT generate_series`).
    pub async fn big_tx(&mut self, count: usize) {
        let xid = self.begin().await;
        let first = self.next_id;
        let last = first + count as i64 - 1;
        self.client
            .execute(
                "INSERT INTO items (id, v, note) SELECT g, g % 1000, $3 FROM generate_series($1::bigint, $2::bigint) AS g",
                &[&first, &last, &NOTE],
            )
            .await
            .unwrap();
        self.next_id = last + 1;
        let mut ops = Vec::with_capacity(count);
        for id in first..=last {
            ops.push(Op::Insert { id, v: id % 1000 });
            self.add_live(id);
        }
        self.commit(xid, ops).await;
    }

    /// Runs arbitrary SQL statements in one logged transaction; `ops` must
    /// say what they do to `items`, in order.
    pub async fn logged_tx(&mut self, statements: &[&str], ops: Vec<Op>) {
        let xid = self.begin().await;
        for statement in statements {
            self.client.batch_execute(statement).await.unwrap();
        }
        for op in &ops {
            match *op {
                Op::Insert { id, .. } => self.add_live(id),
                Op::Delete { id } => self.remove_live(id),
                Op::Update { .. } => {}
            }
            if let Op::Insert { id, .. } = op {
                self.next_id = self.next_id.max(id + 1);
            }
        }
        self.commit(xid, ops).await;
    }

    /// Records a transaction run elsewhere (another session).
    pub fn record(&mut self, tx: Tx) {
        for op in &tx.ops {
            match *op {
                Op::Insert { id, .. } => {
                    self.add_live(id);
                    self.next_id = self.next_id.max(id + 1);
                }
                Op::Delete { id } => self.remove_live(id),
                Op::Update { .. } => {}
            }
        }
        self.rows_written += tx.ops.len() as u64;
        self.log.push(tx);
    }

    /// Rows currently in the table, as the workload knows them.
    pub fn live_count(&self) -> usize {
        self.live.len()
    }
}
