//! Quickstart: PostgreSQL change data capture in one command.
//!
//! Starts a throwaway PostgreSQL (`wal_level=logical`, in a temporary
//! directory, on loopback), creates an `orders` table with two rows and runs a
//! pipeline configured with Debezium's connector keys. Once the two rows are
//! snapshotted it inserts, updates and deletes; every Debezium change event is
//! printed as it streams, as indented JSON (topic, key, value with `before`,
//! `after`, `source`, `op`), on stdout. It exits once the workload's events are
//! delivered, or on Ctrl-C, and removes the database.
//!
//! ```text
//! bash scripts/run.sh                         # installs PostgreSQL when missing, then runs this
//! cargo run -q -p tidewater-examples --example quickstart
//! cargo run -q -p tidewater-examples --example quickstart -- --bootstrap-servers localhost:9092
//! ```
//!
//! With `--bootstrap-servers HOST:PORT` the events are produced to Kafka
//! instead (topic `shop.public.orders`, JSON without schemas) and a summary is
//! printed. PostgreSQL must be installed (`scripts/setup.sh --postgres-only`);
//! `TIDEWATER_PG_BIN` picks another version's `bin` directory.

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use tidewater::kafka::Sink;
use tidewater::offsets::AnyOffsetStore;
use tidewater::postgres::PostgresSource;
use tidewater::{ConnectorConfig, Pipeline, PipelineBuilder, RunSummary};
use tidewater_examples::args::Args;
use tidewater_examples::demo::{DemoDatabase, Waited, wait_for_delivered};
use tidewater_examples::pretty::PrettySink;
use tidewater_examples::{error_text, stop_on_signals};

const USAGE: &str = "\
usage: quickstart [--bootstrap-servers HOST:PORT]

Starts a throwaway PostgreSQL, captures an `orders` table and prints its change
events as Debezium writes them (or produces them to Kafka with --bootstrap-servers).";

/// The existing rows, read by the snapshot.
const ROWS: &str = "\
CREATE TABLE orders (
    id int PRIMARY KEY,
    customer text NOT NULL,
    total numeric(10,2),
    status text NOT NULL DEFAULT 'new'
);
INSERT INTO orders (id, customer, total) VALUES (1, 'Ada', 12.50), (2, 'Grace', 99.99);";

/// The workload after the snapshot: one statement (or transaction) at a time.
const WORKLOAD: [&str; 3] = [
    "INSERT INTO orders (id, customer, total) VALUES (3, 'Linus', 5.00)",
    "BEGIN; UPDATE orders SET total = 15.00, status = 'paid' WHERE id = 1; \
     INSERT INTO orders (id, customer, total) VALUES (4, 'Barbara', 42.00); COMMIT",
    "DELETE FROM orders WHERE id = 2",
];

/// Records: 2 snapshot reads; a create; an update and a create; a delete and its tombstone.
const SNAPSHOT_RECORDS: u64 = 2;
const ALL_RECORDS: u64 = SNAPSHOT_RECORDS + 5;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::from_env_or_exit(USAGE, &["bootstrap-servers"]);
    match run(args.get("bootstrap-servers")).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_text(&*e));
            ExitCode::FAILURE
        }
    }
}

async fn run(brokers: Option<&str>) -> Result<(), Box<dyn Error>> {
    let stop = stop_on_signals();
    let db = tokio::task::block_in_place(|| DemoDatabase::start("shop"))?;
    if stop.is_cancelled() {
        return Ok(());
    }
    db.sql(ROWS)?;

    // The keys of a Debezium connector JSON; `postgres_to_kafka` reads the same from a file.
    let mut properties = db.connection_properties();
    for (key, value) in [
        ("name", "quickstart"),
        ("topic.prefix", "shop"),
        ("table.include.list", "public.orders"),
        ("slot.name", "quickstart"),
        ("publication.autocreate.mode", "filtered"),
        ("decimal.handling.mode", "string"),
        ("key.converter.schemas.enable", "false"),
        ("value.converter.schemas.enable", "false"),
    ] {
        properties.push((key.to_owned(), value.to_owned()));
    }
    if let Some(brokers) = brokers {
        properties.push(("bootstrap.servers".to_owned(), brokers.to_owned()));
    }
    let config = ConnectorConfig::from_properties(properties)?;
    let builder = Pipeline::from_config(&config)
        .await?
        .shutdown_token(stop.clone());

    match brokers {
        None => {
            let (summary, changes) = stream(builder.sink(PrettySink::stdout()), &db).await?;
            eprintln!(
                "[quickstart] {changes} changes captured, {} records printed; PostgreSQL was told up to {} is handled",
                summary.records_delivered,
                summary
                    .acknowledged
                    .map_or_else(|| "nothing".to_owned(), |l| l.to_string())
            );
        }
        Some(brokers) => {
            let (summary, changes) = stream(builder, &db).await?;
            println!(
                "produced {} records ({changes} changes captured) to Kafka at {brokers}, topic shop.public.orders",
                summary.records_delivered
            );
            println!(
                "read them with: kafka-console-consumer.sh --bootstrap-server {brokers} \
                 --topic shop.public.orders --from-beginning --property print.key=true"
            );
        }
    }
    Ok(())
}

/// Runs the pipeline: waits for the snapshot, runs the workload, waits for its
/// records, then stops the pipeline (or stops early on a signal). Returns what
/// the run did and how many changes (rows read or changed) it captured.
async fn stream<K: Sink + 'static>(
    builder: PipelineBuilder<PostgresSource, K, AnyOffsetStore>,
    db: &DemoDatabase,
) -> Result<(RunSummary, u64), Box<dyn Error>> {
    let pipeline = builder.build()?;
    let metrics = pipeline.metrics();
    let stop = pipeline.shutdown_token();
    let run = tokio::spawn(pipeline.run());

    eprintln!("[quickstart] snapshot of the 2 existing rows:");
    let mut waited = wait_for_delivered(
        &metrics,
        SNAPSHOT_RECORDS,
        &stop,
        || run.is_finished(),
        WAIT,
    )
    .await;
    if waited == Waited::Delivered {
        for sql in WORKLOAD {
            eprintln!("[quickstart] SQL> {sql}");
            tokio::task::block_in_place(|| db.sql(sql))?;
        }
        waited = wait_for_delivered(&metrics, ALL_RECORDS, &stop, || run.is_finished(), WAIT).await;
    }
    stop.cancel();
    let summary = run.await??;
    if waited == Waited::TimedOut {
        return Err(format!(
            "the pipeline delivered {} of {ALL_RECORDS} records within {WAIT:?}",
            summary.records_delivered
        )
        .into());
    }
    Ok((summary, metrics.snapshot().total_events().seen))
}
