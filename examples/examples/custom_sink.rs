//! Your own destination: implementing `Sink` in a few lines.
//!
//! `FileSink` below appends one line per record to a file —
//! `<topic> TAB <key> TAB <value>` — and syncs the file before reporting the
//! records delivered, so the pipeline acknowledges to PostgreSQL only what is
//! on disk. The pipeline is the same as with Kafka; only `.sink(...)` differs.
//!
//! ```text
//! cargo run -q -p tidewater-examples --example custom_sink -- [--output changes.tsv]
//! ```
//!
//! Starts a throwaway PostgreSQL (as the quickstart does), snapshots a table of
//! three rows, inserts, updates and deletes one, appends the resulting records
//! to the file (default `changes.tsv` in the system's temporary directory) and
//! exits. Ctrl-C stops it early.
//!
//! The `Sink` contract, in short: `send` queues records in order; every record
//! gets one `Delivery` once the destination holds it durably, reported in send
//! order (by `acknowledged` without waiting, or by `flush`, which waits for all);
//! after an error, the sink reports only what was delivered before it.

use std::collections::HashMap;
use std::error::Error;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tidewater::kafka::{Delivery, ProducerRecord, Result as SinkResult, Sink, SinkError};
use tidewater::{ConnectorConfig, Pipeline};
use tidewater_examples::args::Args;
use tidewater_examples::demo::{DemoDatabase, Waited, wait_for_delivered};
use tidewater_examples::{error_text, stop_on_signals};

/// Appends records to a file as tab-separated lines.
struct FileSink {
    path: PathBuf,
    file: BufWriter<File>,
    /// The next line number per topic, reported as the record's offset.
    next: HashMap<Arc<str>, i64>,
    delivered: Vec<Delivery>,
}

impl FileSink {
    fn append_to(path: &Path) -> std::io::Result<FileSink> {
        let file = File::options().create(true).append(true).open(path)?;
        Ok(FileSink {
            path: path.to_owned(),
            file: BufWriter::new(file),
            next: HashMap::new(),
            delivered: Vec::new(),
        })
    }

    fn text(bytes: Option<&[u8]>) -> std::borrow::Cow<'_, str> {
        bytes.map_or("null".into(), String::from_utf8_lossy)
    }

    fn write(&mut self, records: &[ProducerRecord]) -> std::io::Result<Vec<Delivery>> {
        let mut written = Vec::with_capacity(records.len());
        for r in records {
            let (key, value) = (Self::text(r.key.as_deref()), Self::text(r.value.as_deref()));
            writeln!(self.file, "{}\t{key}\t{value}", r.topic)?;
            let offset = self.next.entry(Arc::clone(&r.topic)).or_insert(0);
            written.push(Delivery {
                topic: Arc::clone(&r.topic),
                partition: 0,
                offset: *offset,
            });
            *offset += 1;
        }
        // Durable before reported: flush the buffer and sync the file.
        self.file.flush()?;
        self.file.get_ref().sync_data()?;
        Ok(written)
    }
}

impl Sink for FileSink {
    async fn send(&mut self, records: Vec<ProducerRecord>) -> SinkResult<()> {
        let mut written = self.write(&records).map_err(|source| SinkError::Io {
            target: self.path.display().to_string(),
            source,
        })?;
        self.delivered.append(&mut written);
        Ok(())
    }

    fn acknowledged(&mut self) -> Vec<Delivery> {
        std::mem::take(&mut self.delivered)
    }

    async fn flush(&mut self) -> SinkResult<Vec<Delivery>> {
        Ok(std::mem::take(&mut self.delivered)) // `send` already synced everything.
    }
}

const USAGE: &str = "\
usage: custom_sink [--output FILE]

Captures a table on a throwaway PostgreSQL and appends its change events to FILE
(default: changes.tsv in the temporary directory) through a custom Sink.";

/// Snapshot: 3 reads; then a create, an update, a delete and its tombstone.
const RECORDS: u64 = 3 + 4;
const WAIT: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::from_env_or_exit(USAGE, &["output"]);
    let output = args
        .get("output")
        .map_or_else(|| std::env::temp_dir().join("changes.tsv"), PathBuf::from);
    match run(&output).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_text(&*e));
            ExitCode::FAILURE
        }
    }
}

async fn run(output: &Path) -> Result<(), Box<dyn Error>> {
    let stop = stop_on_signals();
    let db = tokio::task::block_in_place(|| DemoDatabase::start("shop"))?;
    if stop.is_cancelled() {
        return Ok(());
    }
    db.sql(
        "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
         INSERT INTO items VALUES (1, 'tea'), (2, 'cake'), (3, 'jam');",
    )?;
    let mut properties = db.connection_properties();
    for (key, value) in [
        ("topic.prefix", "shop"),
        ("table.include.list", "public.items"),
        ("publication.autocreate.mode", "filtered"),
        ("key.converter.schemas.enable", "false"),
        ("value.converter.schemas.enable", "false"),
    ] {
        properties.push((key.to_owned(), value.to_owned()));
    }
    let config = ConnectorConfig::from_properties(properties)?;

    let pipeline = Pipeline::from_config(&config)
        .await?
        .sink(FileSink::append_to(output)?) // the only line that differs from Kafka
        .shutdown_token(stop.clone())
        .build()?;
    let metrics = pipeline.metrics();
    let run = tokio::spawn(pipeline.run());

    let mut waited = wait_for_delivered(&metrics, 3, &stop, || run.is_finished(), WAIT).await;
    if waited == Waited::Delivered {
        tokio::task::block_in_place(|| {
            db.sql(
                "INSERT INTO items VALUES (4, 'bread');
                 UPDATE items SET name = 'green tea' WHERE id = 1;
                 DELETE FROM items WHERE id = 2;",
            )
        })?;
        waited = wait_for_delivered(&metrics, RECORDS, &stop, || run.is_finished(), WAIT).await;
    }
    stop.cancel();
    let summary = run.await??;
    if waited == Waited::TimedOut {
        return Err(format!(
            "{} of {RECORDS} records delivered within {WAIT:?}",
            summary.records_delivered
        )
        .into());
    }
    println!(
        "appended {} records to {}",
        summary.records_delivered,
        output.display()
    );
    Ok(())
}
