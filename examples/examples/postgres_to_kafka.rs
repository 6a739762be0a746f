//! The Kafka Connect workflow without Kafka Connect: runs the connector JSON you
//! would POST to Kafka Connect's REST API.
//!
//! ```text
//! PGPASSWORD=... cargo run -q -p tidewater-examples --example postgres_to_kafka -- \
//!     --config examples/connector.json [--progress-interval SECONDS]
//! ```
//!
//! `examples/connector.json` is a `pgoutput` connector for
//! `public.customers` of database `inventory` on `localhost:5432`, flattened by
//! Debezium's `ExtractNewRecordState` (`unwrap`: deletes rewritten with
//! `__deleted: "true"`, tombstones kept, `__op` added), producing to
//! `localhost:9092`, offsets in `inventory-connector.offsets`. Edit it, or bring
//! your own: `{"name": …, "config": {…}}` or the bare config map, with
//! Debezium's keys (docs/configuration.md lists them). Without
//! `bootstrap.servers` the records are written to stdout as JSON lines.
//!
//! The configuration is checked completely before anything connects: every
//! problem is printed on its own line (`error: <key>: <reason> (got "<value>")`)
//! and the program exits with code 2 without touching the database. Otherwise
//! it snapshots the captured tables, then streams until Ctrl-C or SIGTERM, which
//! stop it gracefully (in-flight records delivered and acknowledged). Progress
//! goes to stderr every `--progress-interval` seconds (default 10) as one line,
//! and a summary at the end. Exit code 0 after a graceful stop, 1 after a
//! failure.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tidewater::metrics::{Metrics, MetricsSnapshot};
use tidewater::{ConnectorConfig, Pipeline};
use tidewater_examples::args::Args;
use tidewater_examples::{error_text, stop_on_signals};

const USAGE: &str = "\
usage: postgres_to_kafka --config CONNECTOR.json [--progress-interval SECONDS]

Runs a Debezium PostgreSQL connector configuration (Kafka Connect connector JSON)
until Ctrl-C or SIGTERM. Exit codes: 0 stopped gracefully, 1 failed, 2 invalid
configuration (nothing was started).";

const INVALID: u8 = 2;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::from_env_or_exit(USAGE, &["config", "progress-interval"]);
    let Some(path) = args.get("config") else {
        eprintln!("error: --config is required\n\n{USAGE}");
        return ExitCode::from(INVALID);
    };
    let every = match args.parse_or("progress-interval", 10.0_f64) {
        Ok(seconds) if seconds > 0.0 && seconds.is_finite() => Duration::from_secs_f64(seconds),
        Ok(_) => {
            eprintln!("error: --progress-interval must be a positive number of seconds");
            return ExitCode::from(INVALID);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(INVALID);
        }
    };

    // 1. Read and check everything; nothing has connected anywhere yet.
    let config = match ConnectorConfig::from_json_file(path) {
        Ok(config) => config,
        Err(errors) => {
            for problem in errors.problems() {
                eprintln!("error: {problem}");
            }
            for warning in errors.warnings() {
                eprintln!("warning: {warning}");
            }
            eprintln!("{} problem(s) in {path}; nothing was started", errors.len());
            return ExitCode::from(INVALID);
        }
    };
    for warning in config.warnings() {
        eprintln!("warning: {warning}");
    }
    let producer = config.producer_config();
    let target = if producer.has_brokers() {
        format!("Kafka at {}", producer.bootstrap_servers.join(","))
    } else {
        "stdout (no bootstrap.servers)".to_owned()
    };

    // 2. The pipeline: offset store, sink and source as the configuration says. A
    //    signal stops it from here on (also while Kafka is being connected to).
    let stop = stop_on_signals();
    let built = tokio::select! {
        built = Pipeline::from_config(&config) => built,
        () = stop.cancelled() => {
            eprintln!("[{}] stopped before starting", config.name());
            return ExitCode::SUCCESS;
        }
    };
    let pipeline = match built {
        Ok(builder) => match builder.shutdown_token(stop).build() {
            Ok(pipeline) => pipeline,
            Err(e) => {
                eprintln!("error: {}", error_text(&e));
                return ExitCode::from(INVALID);
            }
        },
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            return ExitCode::FAILURE;
        }
    };
    let source = config.source_config();
    eprintln!(
        "[{}] capturing {}:{}/{} (slot {}), producing to {target}; Ctrl-C or SIGTERM stops",
        config.name(),
        source.hostname,
        source.port,
        source.dbname,
        source.slot_name,
    );

    // 3. Run until stopped, with a progress line every interval.
    let metrics = pipeline.metrics();
    let progress = tokio::spawn(report_progress(Arc::clone(&metrics), every));
    let result = pipeline.run().await;
    progress.abort();

    let last = metrics.snapshot();
    match result {
        Ok(summary) => {
            eprintln!(
                "[summary] stopped after {:.1}s: {} changes captured, {} records sent, {} delivered, \
                 {} dead-lettered, {} skipped; acknowledged up to {}",
                summary.elapsed.as_secs_f64(),
                last.total_events().seen,
                summary.records_sent,
                summary.records_delivered,
                summary.dead_lettered,
                summary.skipped,
                summary
                    .acknowledged
                    .map_or_else(|| "nothing".to_owned(), |l| l.to_string()),
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            eprintln!(
                "[summary] failed: {} changes captured, {} records delivered, acknowledged up to {}",
                last.total_events().seen,
                last.records_delivered,
                last.last_acknowledged,
            );
            ExitCode::FAILURE
        }
    }
}

/// Prints one line of metrics every `every`.
async fn report_progress(metrics: Arc<Metrics>, every: Duration) {
    let started = Instant::now();
    let mut previous = 0;
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let now = metrics.snapshot();
        eprintln!(
            "{}",
            progress_line(&now, started.elapsed(), previous, every)
        );
        previous = now.records_delivered;
    }
}

fn progress_line(m: &MetricsSnapshot, elapsed: Duration, previous: u64, every: Duration) -> String {
    let rate = m.records_delivered.saturating_sub(previous) as f64 / every.as_secs_f64();
    let snapshot = match &m.snapshot {
        None => "no snapshot".to_owned(),
        Some(s) if s.completed => format!("snapshot done ({} rows)", s.rows_read),
        Some(s) => format!("snapshot running ({} rows read)", s.rows_read),
    };
    let lag = m
        .lag_ms
        .map_or_else(|| "-".to_owned(), |ms| format!("{ms} ms"));
    let errors: u64 = m.errors.values().sum();
    format!(
        "[progress] {:.0}s: {} changes, {} records delivered ({rate:.0}/s), {snapshot}, lag {lag}, \
         acknowledged {}, errors {errors}",
        elapsed.as_secs_f64(),
        m.total_events().seen,
        m.records_delivered,
        m.last_acknowledged,
    )
}
