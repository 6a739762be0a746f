//! The transactional outbox pattern with Debezium's outbox EventRouter.
//!
//! A service writes its business row and an event row in one transaction; the
//! event rows are captured from the `outbox` table and turned by the
//! `io.debezium.transforms.outbox.EventRouter` transform into events on
//! `outbox.event.<aggregatetype>`: key `aggregateid`, value the `payload`
//! (JSON expanded), headers `id` (the event id) and `eventType` (the `type`
//! column). The service deletes each event row in the same transaction, so the
//! outbox stays empty; the router ignores deletes.
//!
//! ```text
//! cargo run -q -p tidewater-examples --example outbox
//! cargo run -q -p tidewater-examples --example outbox -- --bootstrap-servers localhost:9092
//! ```
//!
//! Starts a throwaway PostgreSQL (as the quickstart does), places two orders
//! and registers a customer, prints the three routed events as indented JSON
//! on stdout (or produces them to Kafka with `--bootstrap-servers` and prints a
//! summary), then exits. Ctrl-C stops it early.

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
usage: outbox [--bootstrap-servers HOST:PORT]

Captures an outbox table on a throwaway PostgreSQL and routes its events with
Debezium's EventRouter to outbox.event.<aggregatetype>.";

const SCHEMA: &str = "\
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, total numeric(10,2) NOT NULL);
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE outbox (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    aggregatetype text NOT NULL,
    aggregateid text NOT NULL,
    type text NOT NULL,
    payload jsonb NOT NULL
);";

/// Each business change and its event, in one transaction.
const TRANSACTIONS: [&str; 3] = [
    "BEGIN;
     INSERT INTO customers VALUES (7, 'Ada');
     WITH e AS (INSERT INTO outbox (aggregatetype, aggregateid, type, payload)
                VALUES ('customer', '7', 'CustomerRegistered', '{\"id\": 7, \"name\": \"Ada\"}')
                RETURNING id)
     DELETE FROM outbox WHERE id IN (SELECT id FROM e);
     COMMIT;",
    "BEGIN;
     INSERT INTO orders VALUES (1, 7, 12.50);
     WITH e AS (INSERT INTO outbox (aggregatetype, aggregateid, type, payload)
                VALUES ('order', '1', 'OrderCreated',
                        '{\"id\": 1, \"customerId\": 7, \"total\": 12.50, \"lines\": [{\"sku\": \"tea\", \"qty\": 2}]}')
                RETURNING id)
     DELETE FROM outbox WHERE id IN (SELECT id FROM e);
     COMMIT;",
    "BEGIN;
     INSERT INTO orders VALUES (2, 7, 3.20);
     WITH e AS (INSERT INTO outbox (aggregatetype, aggregateid, type, payload)
                VALUES ('order', '2', 'OrderCreated',
                        '{\"id\": 2, \"customerId\": 7, \"total\": 3.20, \"lines\": [{\"sku\": \"cake\", \"qty\": 1}]}')
                RETURNING id)
     DELETE FROM outbox WHERE id IN (SELECT id FROM e);
     COMMIT;",
];

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
    db.sql(SCHEMA)?;

    let mut properties = db.connection_properties();
    for (key, value) in [
        ("name", "outbox-connector"),
        ("topic.prefix", "shop"),
        // Only the outbox is captured; the business tables are not.
        ("table.include.list", "public.outbox"),
        ("slot.name", "outbox"),
        ("publication.autocreate.mode", "filtered"),
        ("tombstones.on.delete", "false"),
        ("transforms", "outbox"),
        (
            "transforms.outbox.type",
            "io.debezium.transforms.outbox.EventRouter",
        ),
        (
            "transforms.outbox.table.fields.additional.placement",
            "type:header:eventType",
        ),
        ("transforms.outbox.table.expand.json.payload", "true"),
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
            let summary = stream(builder.sink(PrettySink::stdout()), &db).await?;
            eprintln!("[outbox] {} events routed", summary.records_delivered);
        }
        Some(brokers) => {
            let summary = stream(builder, &db).await?;
            println!(
                "produced {} events to Kafka at {brokers}: topics outbox.event.customer, outbox.event.order",
                summary.records_delivered
            );
        }
    }
    Ok(())
}

/// Starts the pipeline (the outbox is empty: the snapshot has nothing to read),
/// runs the transactions and waits until their events are delivered.
async fn stream<K: Sink + 'static>(
    builder: PipelineBuilder<PostgresSource, K, AnyOffsetStore>,
    db: &DemoDatabase,
) -> Result<RunSummary, Box<dyn Error>> {
    let pipeline = builder.build()?;
    let metrics = pipeline.metrics();
    let stop = pipeline.shutdown_token();
    let run = tokio::spawn(pipeline.run());

    // Streaming has begun once the (empty) snapshot is complete.
    let mut waited = Waited::TimedOut;
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline && !stop.is_cancelled() && !run.is_finished() {
        if metrics.snapshot().snapshot.is_some_and(|s| s.completed) {
            waited = Waited::Delivered;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if waited == Waited::Delivered {
        for sql in TRANSACTIONS {
            tokio::task::block_in_place(|| db.sql(sql))?;
        }
        let events = TRANSACTIONS.len() as u64;
        waited = wait_for_delivered(&metrics, events, &stop, || run.is_finished(), WAIT).await;
    }
    stop.cancel();
    let summary = run.await??;
    if waited == Waited::TimedOut {
        return Err(format!(
            "{} of {} events delivered within {WAIT:?}",
            summary.records_delivered,
            TRANSACTIONS.len()
        )
        .into());
    }
    Ok(summary)
}
