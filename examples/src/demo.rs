//! What the self-contained examples share: a throwaway PostgreSQL database and
//! waiting for a pipeline to deliver a workload's records.

use std::time::{Duration, Instant};

use tidewater::metrics::Metrics;
use tidewater_testkit::{PgCluster, TestkitError};
use tokio_util::sync::CancellationToken;

/// A PostgreSQL cluster with `wal_level=logical` in a temporary directory, on
/// a free loopback port, with one database; stopped and deleted when dropped.
///
/// It runs the system's PostgreSQL binaries (`scripts/setup.sh --postgres-only`
/// installs them), or those in `$TIDEWATER_PG_BIN`.
#[derive(Debug)]
pub struct DemoDatabase {
    cluster: PgCluster,
    db: String,
}

impl DemoDatabase {
    /// Starts a cluster and creates database `db` in it.
    pub fn start(db: &str) -> Result<DemoDatabase, TestkitError> {
        let cluster = PgCluster::start()?;
        cluster.create_database(db)?;
        eprintln!(
            "[demo] PostgreSQL {} on {}:{}, database {db} (a throwaway cluster in {})",
            cluster.server_version_num(),
            cluster.host(),
            cluster.port(),
            cluster.data_dir().display()
        );
        Ok(DemoDatabase {
            cluster,
            db: db.to_owned(),
        })
    }

    /// The connector keys reaching the database: `database.hostname`,
    /// `database.port`, `database.user`, `database.dbname`.
    pub fn connection_properties(&self) -> Vec<(String, String)> {
        vec![
            ("database.hostname".into(), self.cluster.host().to_owned()),
            ("database.port".into(), self.cluster.port().to_string()),
            ("database.user".into(), tidewater_testkit::ADMIN_USER.into()),
            ("database.dbname".into(), self.db.clone()),
        ]
    }

    /// Runs SQL (one statement or a script) in the database with `psql`.
    pub fn sql(&self, sql: &str) -> Result<String, TestkitError> {
        self.cluster.psql_db(&self.db, sql)
    }

    /// An async client of the database (as the `postgres` superuser, over the
    /// cluster's Unix socket). Must be called within a Tokio runtime.
    pub async fn connect(&self) -> Result<tokio_postgres::Client, TestkitError> {
        self.cluster.connect(&self.db).await
    }

    /// The cluster.
    pub fn cluster(&self) -> &PgCluster {
        &self.cluster
    }
}

/// How [`wait_for_delivered`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// The pipeline delivered the records.
    Delivered,
    /// The shutdown token was cancelled (Ctrl-C, SIGTERM) first.
    Stopped,
    /// The pipeline's run ended first (an error: await it to see which).
    Ended,
    /// Neither within the time allowed.
    TimedOut,
}

/// Waits until the pipeline reports at least `records` records delivered
/// (checking every 50 ms), unless `token` is cancelled, `ended` says the run
/// ended, or `timeout` passes.
pub async fn wait_for_delivered(
    metrics: &Metrics,
    records: u64,
    token: &CancellationToken,
    ended: impl Fn() -> bool,
    timeout: Duration,
) -> Waited {
    let deadline = Instant::now() + timeout;
    loop {
        if metrics.snapshot().records_delivered >= records {
            return Waited::Delivered;
        }
        if token.is_cancelled() {
            return Waited::Stopped;
        }
        if ended() {
            return Waited::Ended;
        }
        if Instant::now() >= deadline {
            return Waited::TimedOut;
        }
        tokio::select! {
            () = token.cancelled() => {}
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}
