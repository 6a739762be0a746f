//! Decodes the replication stream of a live, throwaway PostgreSQL database.
//!
//! Starts a PostgreSQL cluster with `wal_level=logical` in a temporary
//! directory (the test kit's `PgCluster`), creates a table, a publication and a
//! `pgoutput` slot, runs a small workload (insert, update, key change, delete,
//! truncate, a logical message), then reads what the server emitted and prints:
//!
//! 1. every pgoutput message as JSON (as `pgoutput_dump` does), and
//! 2. the change events assembled from them, one line each.
//!
//! ```text
//! cargo run -p tidewater-examples --example live_decode
//! ```
//!
//! PostgreSQL must be installed (`scripts/setup.sh` does it); `TIDEWATER_PG_BIN`
//! picks another version's bin directory.

use bytes::Bytes;
use tidewater_examples::dump::{Dumper, value_json};
use tidewater_pgoutput::value::{self, Format};
use tidewater_pgoutput::{ChangeKind, Column, Lsn, TransactionAssembler, TransactionEvent};
use tidewater_testkit::PgCluster;

const DB: &str = "shop";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pg = PgCluster::start()?;
    eprintln!(
        "PostgreSQL {} on 127.0.0.1:{} (data in {})",
        pg.server_version_num(),
        pg.port(),
        pg.data_dir().display()
    );
    pg.create_database(DB)?;
    pg.psql_db(
        DB,
        "CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, total numeric(10,2), placed_at timestamptz DEFAULT '2024-05-01 12:00:00+00', tags text[]);
         CREATE PUBLICATION shop_pub FOR ALL TABLES;",
    )?;
    pg.create_logical_slot(DB, "shop_slot", false)?;
    pg.psql_db(
        DB,
        "INSERT INTO orders (id, customer, total, tags) VALUES (1, 'Ada', 12.50, '{new,web}'), (2, 'Grace', 99.99, NULL);
         UPDATE orders SET total = 15.00 WHERE id = 1;
         UPDATE orders SET id = 20 WHERE id = 2;
         DELETE FROM orders WHERE id = 1;
         SELECT pg_logical_emit_message(true, 'audit', 'closing time');
         TRUNCATE orders;",
    )?;

    // The kit reads the slot with the session settings the text-format contract assumes.
    let captured = pg.peek_binary_changes(
        DB,
        "shop_slot",
        &[
            ("proto_version", "2"),
            ("publication_names", "shop_pub"),
            ("messages", "true"),
        ],
    )?;
    let mut frames = Vec::new();
    for c in captured {
        frames.push((c.lsn.parse::<Lsn>()?, Bytes::from(c.data)));
    }

    println!("# {} pgoutput messages", frames.len());
    let mut dumper = Dumper::new();
    for (lsn, data) in &frames {
        println!("{}", dumper.dump(Some(*lsn), None, data)?);
    }

    println!("# change events");
    let mut assembler = TransactionAssembler::new();
    let mut events = Vec::new();
    for (lsn, data) in &frames {
        assembler.push(*lsn, data, &mut events)?;
    }
    for event in &events {
        match event {
            TransactionEvent::Begin(b) => {
                println!("BEGIN xid={} commit_lsn={}", b.xid, b.commit_lsn)
            }
            TransactionEvent::Commit(c) => {
                println!(
                    "COMMIT xid={} end_lsn={} events={}",
                    c.xid, c.end_lsn, c.event_count
                )
            }
            TransactionEvent::Change(c) => {
                let table = c
                    .relation
                    .as_ref()
                    .map_or("-".to_owned(), |r| format!("{}.{}", r.namespace, r.name));
                let row = match &c.kind {
                    ChangeKind::Insert { new } | ChangeKind::Update { new, .. } => Some(new),
                    ChangeKind::Delete { old } => Some(old.tuple()),
                    _ => None,
                };
                let mut cols = Vec::new();
                match &c.kind {
                    ChangeKind::Message {
                        prefix,
                        content,
                        transactional,
                    } => cols.push(format!(
                        "prefix={prefix:?} content={:?} transactional={transactional}",
                        String::from_utf8_lossy(content)
                    )),
                    ChangeKind::Truncate {
                        cascade,
                        restart_identity,
                    } => cols.push(format!(
                        "cascade={cascade} restart_identity={restart_identity}"
                    )),
                    _ => {}
                }
                if let (Some(row), Some(rel)) = (row, &c.relation) {
                    for (col, meta) in row.iter().zip(&rel.columns) {
                        let shown = match col {
                            Column::Text(raw) => value::decode(
                                Format::Text,
                                meta.type_oid,
                                meta.type_modifier,
                                raw,
                                assembler.relations(),
                            )
                            .map(|v| value_json(&v).to_string())?,
                            Column::Binary(raw) => value::decode(
                                Format::Binary,
                                meta.type_oid,
                                meta.type_modifier,
                                raw,
                                assembler.relations(),
                            )
                            .map(|v| value_json(&v).to_string())?,
                            Column::Null => "NULL".to_owned(),
                            _ => "(unchanged)".to_owned(),
                        };
                        cols.push(format!("{}={shown}", meta.name));
                    }
                }
                println!(
                    "  op={} table={table} commit_lsn={} index={} {}",
                    c.kind.op_code(),
                    c.commit_lsn,
                    c.index,
                    cols.join(" ")
                );
            }
            _ => {}
        }
    }
    Ok(())
}
