//! A pipeline exposing its metrics to Prometheus over HTTP.
//!
//! ```text
//! cargo run -q -p tidewater-examples --example metrics -- [--listen 127.0.0.1:9464] \
//!     [--bootstrap-servers HOST:PORT] > records.jsonl
//! curl http://127.0.0.1:9464/metrics
//! ```
//!
//! Starts a throwaway PostgreSQL (as the quickstart does) with a `readings`
//! table that gets a new row every 200 ms (and an update every fifth), and a
//! pipeline capturing it; records go to Kafka with `--bootstrap-servers`, else
//! to stdout as JSON lines. `GET /metrics` answers with `Metrics::render_prometheus`
//! (text format 0.0.4: per-table event counts, queue depths, lag in ms and in
//! WAL bytes, last acknowledged LSN, snapshot progress, errors). The HTTP
//! server is a minimal HTTP/1.1 responder on tokio's `TcpListener`, one request
//! per connection. Runs until Ctrl-C or SIGTERM.
//!
//! A Prometheus scrape configuration for it:
//!
//! ```yaml
//! scrape_configs:
//!   - job_name: tidewater
//!     static_configs: [{ targets: ["127.0.0.1:9464"] }]
//! ```

use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tidewater::metrics::Metrics;
use tidewater::{ConnectorConfig, Pipeline};
use tidewater_examples::args::Args;
use tidewater_examples::demo::DemoDatabase;
use tidewater_examples::{error_text, stop_on_signals};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const USAGE: &str = "\
usage: metrics [--listen ADDRESS:PORT] [--bootstrap-servers HOST:PORT]

Runs a pipeline on a throwaway PostgreSQL with a steady workload and serves its
Prometheus metrics at http://ADDRESS:PORT/metrics (default 127.0.0.1:9464).";

/// The longest request head read (request line and headers).
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::from_env_or_exit(USAGE, &["listen", "bootstrap-servers"]);
    let listen = args.get("listen").unwrap_or("127.0.0.1:9464");
    match run(listen, args.get("bootstrap-servers")).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_text(&*e));
            ExitCode::FAILURE
        }
    }
}

async fn run(listen: &str, brokers: Option<&str>) -> Result<(), Box<dyn Error>> {
    let stop = stop_on_signals();
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("listening on {listen}: {e}"))?;
    let db = tokio::task::block_in_place(|| DemoDatabase::start("plant"))?;
    if stop.is_cancelled() {
        return Ok(());
    }
    db.sql("CREATE TABLE readings (id bigserial PRIMARY KEY, sensor text NOT NULL, value double precision)")?;

    let mut properties = db.connection_properties();
    for (key, value) in [
        ("topic.prefix", "plant"),
        ("table.include.list", "public.readings"),
        ("publication.autocreate.mode", "filtered"),
        ("value.converter.schemas.enable", "false"),
    ] {
        properties.push((key.to_owned(), value.to_owned()));
    }
    if let Some(brokers) = brokers {
        properties.push(("bootstrap.servers".to_owned(), brokers.to_owned()));
    }
    let config = ConnectorConfig::from_properties(properties)?;
    let pipeline = Pipeline::from_config(&config)
        .await?
        .shutdown_token(stop.clone())
        .build()?;

    // The metrics are shared: the pipeline updates them, the HTTP server reads them.
    let metrics = pipeline.metrics();
    eprintln!(
        "[metrics] Prometheus metrics on http://{}/metrics (Ctrl-C stops)",
        listener.local_addr()?
    );
    let server = tokio::spawn(serve(listener, Arc::clone(&metrics)));

    let client = db.connect().await?;
    let workload = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            for n in 1_u64.. {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let sql = if n % 5 == 0 {
                    "UPDATE readings SET value = value + 1 WHERE id = (SELECT max(id) FROM readings)".to_owned()
                } else {
                    format!(
                        "INSERT INTO readings (sensor, value) VALUES ('s{}', {n}.5)",
                        n % 3
                    )
                };
                if let Err(e) = client.batch_execute(&sql).await {
                    eprintln!("[metrics] workload stopped: {e}");
                    break;
                }
            }
        }
    });

    let result = pipeline.run().await;
    stop.cancel();
    let _ = workload.await;
    server.abort();
    let summary = result?;
    eprintln!(
        "[metrics] stopped: {} records delivered in {:.1}s",
        summary.records_delivered,
        summary.elapsed.as_secs_f64()
    );
    Ok(())
}

/// Accepts connections and answers each on its own task.
async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let metrics = Arc::clone(&metrics);
                tokio::spawn(async move {
                    if let Err(e) = respond(stream, &metrics).await {
                        eprintln!("[metrics] answering a request failed: {e}");
                    }
                });
            }
            Err(e) => {
                eprintln!("[metrics] accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reads one request head and answers it: `GET /metrics` (or `HEAD`) with the
/// Prometheus text, anything else with 404 or 405. The connection is closed
/// after the answer.
async fn respond(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0_u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return answer(
                &mut stream,
                "431 Request Header Fields Too Large",
                "",
                false,
            )
            .await;
        }
        let n = match tokio::time::timeout(READ_TIMEOUT, stream.read(&mut buf)).await {
            Ok(read) => read?,
            Err(_) => return Ok(()), // too slow: just close
        };
        if n == 0 {
            return Ok(());
        }
        head.extend(buf.iter().take(n));
    }
    let head = String::from_utf8_lossy(&head);
    let mut request_line = head.lines().next().unwrap_or("").split(' ');
    let method = request_line.next().unwrap_or("");
    let target = request_line.next().unwrap_or("");
    let path = target.split('?').next().unwrap_or("");
    let head_only = method == "HEAD";
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let body = metrics.render_prometheus();
            answer(&mut stream, "200 OK", &body, head_only).await
        }
        (_, "/metrics") => answer(&mut stream, "405 Method Not Allowed", "", head_only).await,
        _ => answer(&mut stream, "404 Not Found", "try /metrics\n", head_only).await,
    }
}

async fn answer(
    stream: &mut TcpStream,
    status: &str,
    body: &str,
    head_only: bool,
) -> std::io::Result<()> {
    let content_type = if status.starts_with("200") {
        "text/plain; version=0.0.4; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    let allow = if status.starts_with("405") {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         {allow}Connection: close\r\n\r\n",
        body.len()
    );
    if !head_only {
        response.push_str(body);
    }
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
