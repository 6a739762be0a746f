//! Fixtures shared by the throughput measurements (the `end_to_end` bench and
//! `tidewater-postgres`'s `source_throughput` example): the 10-column `orders` table, a
//! workload committed into it, and the CPU time of a process from `/proc`.

use std::time::Duration;

use crate::{PgCluster, Result};

/// Creates database `db` with the 10-column `orders` table (bigint key, integer, numeric,
/// two texts, timestamptz, date, double, boolean, smallint) and `publication` on it.
pub fn create_orders_table(pg: &PgCluster, db: &str, publication: &str) -> Result<()> {
    pg.create_database(db)?;
    pg.psql_db(
        db,
        &format!(
            "CREATE TABLE orders (
                id bigint PRIMARY KEY, customer_id integer NOT NULL, amount numeric(12,2),
                status text, note varchar(64), created_at timestamptz, due date,
                weight double precision, paid boolean, qty smallint);
             CREATE PUBLICATION {publication} FOR TABLE orders;"
        ),
    )
    .map(drop)
}

/// Inserts the orders `first..first + rows` into `db`'s `orders` table in transactions of
/// 10,000 rows, and returns the WAL end afterwards (`pg_current_wal_lsn()`).
pub fn insert_orders(pg: &PgCluster, db: &str, first: u64, rows: u64) -> Result<String> {
    let mut start = first;
    let end = first + rows;
    while start < end {
        let stop = (start + 10_000).min(end);
        pg.psql_db(
            db,
            &format!(
                "INSERT INTO orders SELECT g, (g % 1000)::int, (g % 100000) / 100.0,
                    CASE WHEN g % 3 = 0 THEN 'shipped' ELSE 'pending' END,
                    'order note number ' || g, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second',
                    '2024-01-01'::date + (g % 365)::int, g * 0.5, g % 2 = 0, (g % 100)::smallint
                 FROM generate_series({start}, {}) g",
                stop - 1
            ),
        )?;
        start = stop;
    }
    pg.psql_db(db, "SELECT pg_current_wal_lsn()")
}

/// A process's CPU time (user + system) and its state letter (`R`, `S`, `Z`, …), read
/// from `/proc/<pid>/stat` (`pid` may be `self`); `None` once the process is gone.
pub fn process_cpu_and_state(pid: &str) -> Option<(Duration, char)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: fields are counted after it.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on Linux.
    Some((Duration::from_millis((utime + stime) * 10), state))
}

/// A process's CPU time (user + system), see [`process_cpu_and_state`].
pub fn process_cpu(pid: &str) -> Option<Duration> {
    process_cpu_and_state(pid).map(|(cpu, _)| cpu)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn reads_this_process() {
        let (cpu, state) = process_cpu_and_state("self").unwrap();
        assert!(state.is_ascii_uppercase(), "{state}");
        // The calling thread is running while it reads its own stat.
        assert_eq!(process_cpu_and_state("thread-self").unwrap().1, 'R');
        // Burn some CPU: the reading grows.
        let mut x = 0u64;
        let t = std::time::Instant::now();
        while t.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(process_cpu("self").unwrap() > cpu);
        assert!(process_cpu("0").is_none(), "no process 0 in /proc");
    }
}
