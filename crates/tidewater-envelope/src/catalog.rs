//! What the builder cannot learn from the replication stream: primary keys,
//! nullability and defaults (from the catalog), and the time.

use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

/// Catalog facts about one table, supplied by the caller (the source reads
/// them from `pg_index` / `pg_attribute` / `pg_attrdef`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableInfo {
    /// Primary key column names in key order; `None` when the table has no
    /// primary key (the replica identity index is used instead, if any).
    pub primary_key: Option<Vec<String>>,
    /// Columns declared `NOT NULL`: their schemas are required, as Debezium's are.
    pub not_null: HashSet<String>,
    /// Column defaults as the text PostgreSQL prints for the constant (for
    /// example `0`, `abc`, `2024-01-01`): they become schema defaults.
    pub defaults: HashMap<String, String>,
}

/// Looks up [`TableInfo`] by schema and table name.
pub trait TableCatalog: Send + Sync {
    /// The table's facts, if known.
    fn table(&self, schema: &str, table: &str) -> Option<TableInfo>;
}

impl TableCatalog for HashMap<(String, String), TableInfo> {
    fn table(&self, schema: &str, table: &str) -> Option<TableInfo> {
        self.get(&(schema.to_string(), table.to_string())).cloned()
    }
}

/// The clock behind `ts_ms` / `ts_us` / `ts_ns` ("when the connector
/// processed the event") and heartbeats.
pub trait Clock: Send + Sync {
    /// Microseconds since 1970-01-01 UTC.
    fn now_micros(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that always says the same time (tests, replays).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_micros(&self) -> i64 {
        self.0
    }
}
