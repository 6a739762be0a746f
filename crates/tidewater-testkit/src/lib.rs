//! Test support for Tidewater: throwaway PostgreSQL clusters and Kafka-compatible brokers on
//! loopback, plus an independent Kafka client for cross-checks.
//!
//! Meant for other crates' integration tests (`[dev-dependencies] tidewater-testkit`). Every
//! server lives in its own temporary directory on a random 127.0.0.1 port and is stopped and
//! deleted when its handle drops, also when a test panics.
//!
//! * [`PgCluster`]: `initdb` + `pg_ctl` with logical replication enabled; SQL through `psql`,
//!   async clients through `tokio-postgres`, and pgoutput captures for golden tests
//!   ([`PgCluster::peek_binary_changes`]).
//! * [`Broker`]: a [tansu](https://crates.io/crates/tansu) broker, in memory or on SQLite.
//! * [`kafka_produce`] / [`kafka_consume`] / [`kafka_create_topic`] / [`kafka_list_topics`]:
//!   confluent-kafka (librdkafka) via `py/kafka_tool.py` in the repository's `.venv`.
//!
//! Missing tools make the calls fail with an install hint; nothing is skipped silently.
//! `scripts/setup.sh` installs everything. `TIDEWATER_PG_BIN` selects another PostgreSQL
//! (e.g. the PostgreSQL 18 that `scripts/setup.sh` unpacks under
//! `/var/cache/tidewater/pg/18/bin`).
//!
//! Starting servers is blocking and never enters an async runtime, so it works both in plain
//! `#[test]`s and in `#[tokio::test]`s.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use tidewater_testkit::{Broker, PgCluster, ProduceRecord, kafka_consume, kafka_produce};
//!
//! # async fn example() -> Result<(), tidewater_testkit::TestkitError> {
//! let pg = PgCluster::builder().logical_decoding_work_mem("64kB").start()?;
//! pg.psql(
//!     "CREATE TABLE t (id int PRIMARY KEY, note text);
//!      CREATE PUBLICATION pub FOR TABLE t;",
//! )?;
//! pg.create_logical_slot("postgres", "slot", false)?;
//! let client = pg.connect("postgres").await?;
//! client.execute("INSERT INTO t VALUES (1, 'hello')", &[]).await?;
//! let changes = pg.peek_binary_changes("postgres", "slot", &[("publication_names", "pub")])?;
//! assert_eq!(changes.first().and_then(|c| c.data.first()), Some(&b'B'));
//!
//! let broker = Broker::start()?;
//! kafka_produce(&broker.bootstrap(), &[ProduceRecord::new("topic").key("k").value("v")])?;
//! let records = kafka_consume(&broker.bootstrap(), "topic", 1, Duration::from_secs(10))?;
//! assert_eq!(records.len(), 1);
//! # Ok(())
//! # }
//! ```

mod broker;
mod error;
mod kafka_py;
mod pg;
pub mod throughput;
mod util;

pub use broker::{Broker, BrokerStorage, TANSU_ENV, TANSU_INSTALL, find_tansu};
pub use error::{Result, TestkitError};
pub use kafka_py::{
    ConsumedRecord, Delivery, PYTHON_ENV, ProduceRecord, kafka_consume, kafka_create_topic,
    kafka_list_topics, kafka_produce, kafka_tool_script, kafka_topic_configs, python, repo_root,
};
pub use pg::{
    ADMIN_USER, CAPTURE_SESSION, CapturedChange, PG_BIN_ENV, PgCluster, PgClusterBuilder,
};
