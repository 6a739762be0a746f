//! The example programs, run as a user runs them: built binaries, real
//! PostgreSQL (the test kit's, or the throwaway one an example starts itself),
//! a real broker (tansu) where Kafka is involved, and what was produced read
//! back with librdkafka.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Running, broker, json_documents, json_of, run};
use serde_json::{Value, json};
use tidewater_testkit::{ConsumedRecord, PgCluster, kafka_consume};

const WAIT: Duration = Duration::from_secs(90);

/// Reads `topic` from the beginning with librdkafka until `n` records arrived.
fn consume(bootstrap: &str, topic: &str, n: usize) -> Vec<ConsumedRecord> {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let records = kafka_consume(bootstrap, topic, n, left.max(Duration::from_secs(2)))
            .unwrap_or_else(|e| panic!("consuming {topic}: {e}"));
        if records.len() >= n || Instant::now() >= deadline {
            assert_eq!(records.len(), n, "{topic}: {records:?}");
            return records;
        }
    }
}

/// Records of several partitions in the order of their changes: by the
/// `tidewater.position` header (commit LSN, index in the transaction), then by
/// offset (a delete's tombstone shares its position and partition).
fn in_change_order(mut records: Vec<ConsumedRecord>) -> Vec<ConsumedRecord> {
    let position = |r: &ConsumedRecord| {
        let text = header(r, "tidewater.position").expect("a position header");
        let (lsn, index) = text.split_once('/').expect("<lsn>/<index>");
        (lsn.parse::<u64>().unwrap(), index.parse::<u64>().unwrap())
    };
    records.sort_by_key(|r| (position(r), r.partition, r.offset));
    records
}

fn header<'a>(record: &'a ConsumedRecord, name: &str) -> Option<&'a str> {
    record
        .headers
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.as_deref())
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// `op` of a Debezium envelope, or `tombstone` for a null value.
fn op(value: &Value) -> &str {
    if value.is_null() {
        "tombstone"
    } else {
        value["op"].as_str().unwrap_or("?")
    }
}

#[test]
fn quickstart_prints_the_snapshot_and_the_workload_as_debezium_events() {
    let done = run("quickstart", &[], WAIT);
    assert!(done.status.success(), "{done:?}");
    let docs = json_documents(&done.stdout);
    let ops: Vec<&str> = docs.iter().map(|d| op(&d["value"])).collect();
    assert_eq!(
        ops,
        ["r", "r", "c", "u", "c", "d", "tombstone"],
        "{docs:#?}"
    );
    let ids: Vec<i64> = docs
        .iter()
        .map(|d| d["key"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3, 1, 4, 2, 2]);
    assert!(docs.iter().all(|d| d["topic"] == "shop.public.orders"));
    let offsets: Vec<i64> = docs.iter().map(|d| d["offset"].as_i64().unwrap()).collect();
    assert_eq!(offsets, (0..7).collect::<Vec<_>>());

    // Debezium's envelope: snapshot markers, the row values, the delete's old key.
    let value = |i: usize| &docs[i]["value"];
    assert_eq!(value(0)["source"]["snapshot"], "first");
    assert_eq!(value(1)["source"]["snapshot"], "last");
    assert_eq!(value(2)["source"]["snapshot"], "false");
    assert_eq!(value(0)["source"]["connector"], "postgresql");
    assert_eq!(value(0)["source"]["table"], "orders");
    assert_eq!(
        value(0)["after"],
        json!({"id": 1, "customer": "Ada", "total": "12.50", "status": "new"})
    );
    assert_eq!(value(3)["after"]["total"], "15.00");
    assert_eq!(value(3)["after"]["status"], "paid");
    assert_eq!(value(4)["after"]["status"], "new", "the column default");
    assert_eq!(value(5)["before"]["id"], 2);
    assert!(value(5)["after"].is_null());
    // The update and the insert of one transaction share a commit position.
    let position = |i: usize| {
        let text = docs[i]["headers"]["tidewater.position"].as_str().unwrap();
        let (lsn, index) = text.split_once('/').unwrap();
        (lsn.parse::<u64>().unwrap(), index.parse::<u64>().unwrap())
    };
    assert_eq!(position(3).0, position(4).0);
    assert_eq!((position(3).1, position(4).1), (0, 1));
    // The envelope's fields in Debezium's order, as printed.
    let text = &done.stdout;
    let at = |field: &str| text.find(&format!("\"{field}\": ")).unwrap();
    assert!(at("before") < at("after") && at("after") < at("source") && at("source") < at("op"));
    assert!(
        done.stderr
            .contains("6 changes captured, 7 records printed"),
        "{}",
        done.stderr
    );
}

#[test]
fn quickstart_produces_to_kafka_with_bootstrap_servers() {
    let broker = broker();
    let bootstrap = broker.bootstrap();
    let done = run("quickstart", &["--bootstrap-servers", &bootstrap], WAIT);
    assert!(done.status.success(), "{done:?}");
    assert!(
        done.stdout.contains(&format!(
            "produced 7 records (6 changes captured) to Kafka at {bootstrap}"
        )),
        "{}",
        done.stdout
    );
    let records = in_change_order(consume(&bootstrap, "shop.public.orders", 7));
    let values: Vec<Value> = records
        .iter()
        .map(|r| json_of(r.value.as_deref()))
        .collect();
    let ops: Vec<&str> = values.iter().map(op).collect();
    assert_eq!(ops, ["r", "r", "c", "u", "c", "d", "tombstone"]);
    let ids: Vec<i64> = records
        .iter()
        .map(|r| json_of(r.key.as_deref())["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3, 1, 4, 2, 2]);
    assert_eq!(values[2]["after"]["customer"], "Linus");
    assert!(
        records
            .iter()
            .all(|r| header(r, "tidewater.position").is_some())
    );
}

#[test]
fn quickstart_stops_cleanly_on_ctrl_c_and_removes_its_database() {
    let mut running = Running::start("quickstart", &[], &[], None);
    let line = running.wait_for_stderr_line("[demo] PostgreSQL", WAIT);
    let data_dir = PathBuf::from(
        line.rsplit_once("cluster in ")
            .unwrap()
            .1
            .trim_end_matches(')'),
    );
    assert!(data_dir.exists(), "{line}");
    running.signal("INT");
    let done = running.finish(WAIT);
    assert!(done.status.success(), "{done:?}");
    assert!(!data_dir.exists(), "{} is left behind", data_dir.display());
}

/// A database `inventory` with `public.customers` as the sample connector
/// expects it, with `rows` rows.
fn inventory(pg: &PgCluster, rows: u32) {
    pg.create_database("inventory").unwrap();
    pg.psql_db(
        "inventory",
        &format!(
            "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text);
             INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com'
             FROM generate_series(1, {rows}) g;"
        ),
    )
    .unwrap();
}

/// `examples/connector.json` pointed at `pg`, with `changes` applied to its
/// config (`null` removes a key), written to `dir`.
fn sample_connector(pg: &PgCluster, dir: &std::path::Path, changes: &[(&str, Value)]) -> PathBuf {
    let mut doc: Value = serde_json::from_str(include_str!("../connector.json")).unwrap();
    let config = doc["config"].as_object_mut().unwrap();
    config.insert("database.hostname".into(), pg.host().into());
    config.insert("database.port".into(), pg.port().to_string().into());
    for (key, value) in changes {
        if value.is_null() {
            config.remove(*key);
        } else {
            config.insert((*key).to_owned(), value.clone());
        }
    }
    let path = dir.join("connector.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    path
}

#[test]
fn postgres_to_kafka_runs_the_sample_connector_end_to_end() {
    let broker = broker();
    let bootstrap = broker.bootstrap();
    let pg = PgCluster::start().unwrap();
    inventory(&pg, 1000);
    let dir = tempfile::tempdir().unwrap();
    let offsets = dir.path().join("inventory.offsets");
    let connector = sample_connector(
        &pg,
        dir.path(),
        &[
            ("bootstrap.servers", bootstrap.as_str().into()),
            (
                "offset.storage.file.filename",
                offsets.display().to_string().into(),
            ),
        ],
    );
    let mut running = Running::start(
        "postgres_to_kafka",
        &[
            "--config",
            connector.to_str().unwrap(),
            "--progress-interval",
            "1",
        ],
        // The sample reads the password from ${env:PGPASSWORD}; the test cluster trusts loopback.
        &[("PGPASSWORD", "unused-by-trust-auth")],
        Some(dir.path()),
    );

    let topic = "inventory.public.customers";
    let snapshot = in_change_order(consume(&bootstrap, topic, 1000));
    let mut ids = BTreeSet::new();
    for record in &snapshot {
        let key = json_of(record.key.as_deref());
        let value = json_of(record.value.as_deref());
        let id = key["id"].as_i64().unwrap();
        assert_eq!(key, json!({ "id": id }));
        assert_eq!(
            value,
            json!({
                "id": id,
                "name": format!("customer {id}"),
                "email": format!("c{id}@example.com"),
                "__op": "r",
                "__deleted": "false",
            })
        );
        ids.insert(id);
    }
    assert_eq!(ids, (1..=1000).collect());

    pg.psql_db(
        "inventory",
        "INSERT INTO customers VALUES (1001, 'new customer', NULL);
         UPDATE customers SET email = 'five@example.com' WHERE id = 5;
         DELETE FROM customers WHERE id = 7;",
    )
    .unwrap();
    let all = in_change_order(consume(&bootstrap, topic, 1004));
    let changes: Vec<(Value, Value)> = all[1000..]
        .iter()
        .map(|r| (json_of(r.key.as_deref()), json_of(r.value.as_deref())))
        .collect();
    assert_eq!(
        changes[0],
        (
            json!({"id": 1001}),
            json!({"id": 1001, "name": "new customer", "email": null, "__op": "c", "__deleted": "false"})
        )
    );
    assert_eq!(
        changes[1],
        (
            json!({"id": 5}),
            json!({"id": 5, "name": "customer 5", "email": "five@example.com", "__op": "u", "__deleted": "false"})
        )
    );
    // The delete rewritten to the old row (the key columns: default replica identity)…
    assert_eq!(changes[2].0, json!({"id": 7}));
    assert_eq!(changes[2].1["id"], 7);
    assert_eq!(changes[2].1["__op"], "d");
    assert_eq!(changes[2].1["__deleted"], "true");
    // …and the tombstone kept.
    assert_eq!(changes[3].0, json!({"id": 7}));
    assert_eq!(all[1003].value, None);

    running.wait_for_stderr_line("[progress]", WAIT);
    running.signal("TERM");
    let done = running.finish(WAIT);
    assert!(done.status.success(), "{done:?}");
    let summary = done
        .stderr
        .lines()
        .find(|l| l.starts_with("[summary] stopped after"))
        .unwrap_or_else(|| panic!("no summary:\n{}", done.stderr));
    assert!(
        summary.contains("1004 records sent, 1004 delivered"),
        "{summary}"
    );
    assert!(
        done.stderr
            .lines()
            .any(|l| l.starts_with("[progress]") && l.contains("records delivered")),
        "{}",
        done.stderr
    );
    // The offset store of the configuration holds the delivered position.
    let stored = std::fs::read_to_string(&offsets).unwrap();
    assert!(stored.contains("lsn"), "{stored}");
    // The slot acknowledged what was delivered.
    let confirmed = pg
        .psql("SELECT confirmed_flush_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = 'inventory_cdc'")
        .unwrap();
    assert_eq!(confirmed, "t");
}

#[test]
fn postgres_to_kafka_reports_every_bad_key_and_touches_nothing() {
    let pg = PgCluster::builder()
        .setting("log_connections", "on")
        .start()
        .unwrap();
    inventory(&pg, 10);
    let dir = tempfile::tempdir().unwrap();
    let bad: [(&str, &str); 6] = [
        ("snapshot.mode", "sometimes"),
        ("tasks.max", "2"),
        ("transforms.unwrap.delete.handling.mode", "maybe"),
        ("decimal.handling.mode", "exact"),
        ("producer.override.linger.ms", "soon"),
        ("max.queue.size", "-5"),
    ];
    let mut changes: Vec<(&str, Value)> = bad.iter().map(|(k, v)| (*k, (*v).into())).collect();
    changes.push(("bootstrap.servers", Value::Null));
    let connector = sample_connector(&pg, dir.path(), &changes);
    let done = Running::start(
        "postgres_to_kafka",
        &["--config", connector.to_str().unwrap()],
        &[("PGPASSWORD", "unused")],
        Some(dir.path()),
    )
    .finish(WAIT);
    assert_eq!(done.status.code(), Some(2), "{done:?}");

    let errors: Vec<&str> = done
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), bad.len(), "{}", done.stderr);
    for (key, value) in bad {
        let lines: Vec<&&str> = errors
            .iter()
            .filter(|l| l.starts_with(&format!("error: {key}: ")))
            .collect();
        assert_eq!(lines.len(), 1, "{key}: {}", done.stderr);
        assert!(
            lines[0].ends_with(&format!("(got {value:?})")),
            "{}",
            lines[0]
        );
    }
    assert!(
        done.stderr.contains("6 problem(s) in ") && done.stderr.contains("nothing was started"),
        "{}",
        done.stderr
    );

    // Nothing was created, and nothing connected (the kit connects over the Unix socket only).
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_replication_slots")
            .unwrap(),
        "0"
    );
    assert_eq!(
        pg.psql_db("inventory", "SELECT count(*) FROM pg_publication")
            .unwrap(),
        "0"
    );
    let log = std::fs::read_to_string(pg.log_file()).unwrap();
    assert!(
        log.contains("connection received: host=[local]"),
        "connections are logged"
    );
    assert!(
        !log.contains("connection received: host=127.0.0.1"),
        "the example connected:\n{log}"
    );
    assert!(!dir.path().join("inventory-connector.offsets").exists());

    // A file that is not there, and no --config at all: exit code 2 too.
    let missing = run(
        "postgres_to_kafka",
        &["--config", "/nonexistent/connector.json"],
        WAIT,
    );
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    let missing_errors = missing
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .count();
    assert_eq!(missing_errors, 1, "{}", missing.stderr);
    assert!(missing.stderr.contains("/nonexistent/connector.json"));
    let usage = run("postgres_to_kafka", &[], WAIT);
    assert_eq!(usage.status.code(), Some(2), "{usage:?}");
    assert!(usage.stderr.contains("usage: postgres_to_kafka --config"));
}

#[test]
fn outbox_routes_events_by_aggregate_type() {
    let broker = broker();
    let bootstrap = broker.bootstrap();
    let done = run("outbox", &["--bootstrap-servers", &bootstrap], WAIT);
    assert!(done.status.success(), "{done:?}");
    assert!(done.stdout.contains("produced 3 events"), "{}", done.stdout);

    let customers = consume(&bootstrap, "outbox.event.customer", 1);
    assert_eq!(json_of(customers[0].key.as_deref()), json!("7"));
    assert_eq!(
        json_of(customers[0].value.as_deref()),
        json!({"id": 7, "name": "Ada"})
    );
    assert_eq!(
        header(&customers[0], "eventType"),
        Some("CustomerRegistered")
    );

    let orders = in_change_order(consume(&bootstrap, "outbox.event.order", 2));
    let keys: Vec<Value> = orders.iter().map(|r| json_of(r.key.as_deref())).collect();
    assert_eq!(keys, [json!("1"), json!("2")]);
    let first = json_of(orders[0].value.as_deref());
    assert_eq!(first["id"], 1);
    assert_eq!(first["customerId"], 7);
    assert_eq!(first["lines"], json!([{"qty": 2, "sku": "tea"}]));
    let mut ids = BTreeSet::new();
    for record in customers.iter().chain(&orders) {
        let id = header(record, "id").expect("the event id header");
        assert_eq!(id.len(), 36, "a UUID: {id}");
        ids.insert(id.to_owned());
    }
    assert_eq!(ids.len(), 3, "distinct event ids");
    assert!(
        orders
            .iter()
            .all(|r| header(r, "eventType") == Some("OrderCreated"))
    );
}

#[test]
fn custom_sink_appends_every_record_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("changes.tsv");
    let output_text = output.to_str().unwrap();
    let done = run("custom_sink", &["--output", output_text], WAIT);
    assert!(done.status.success(), "{done:?}");
    assert!(
        done.stdout
            .contains(&format!("appended 7 records to {output_text}")),
        "{}",
        done.stdout
    );
    let text = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 7, "{text}");
    assert!(
        lines
            .iter()
            .all(|l| l.len() == 3 && l[0] == "shop.public.items")
    );
    let ops: Vec<String> = lines
        .iter()
        .map(|l| match l[2] {
            "null" => "tombstone".to_owned(),
            v => op(&serde_json::from_str(v).unwrap()).to_owned(),
        })
        .collect();
    assert_eq!(ops, ["r", "r", "r", "c", "u", "d", "tombstone"]);
    let keys: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l[1]).unwrap())
        .collect();
    assert_eq!(keys[4], json!({"id": 1}));
    assert_eq!(keys[6], json!({"id": 2}));
    let update: Value = serde_json::from_str(lines[4][2]).unwrap();
    assert_eq!(update["after"]["name"], "green tea");
}

/// One HTTP/1.1 request; returns the status line, the headers and the body.
fn http(addr: &str, method: &str, path: &str) -> (String, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_owned(), headers.to_owned(), body.to_owned())
}

/// The value of an unlabelled or labelled sample line `name value`.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_serves_prometheus_text_while_running() {
    let mut running = Running::start("metrics", &["--listen", "127.0.0.1:0"], &[], None);
    let line = running.wait_for_stderr_line("Prometheus metrics on http://", WAIT);
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();

    let seen = "tidewater_table_events_seen_total{table=\"public.readings\"}";
    let deadline = Instant::now() + WAIT;
    let body = loop {
        let (status, headers, body) = http(&addr, "GET", "/metrics");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(
            headers
                .to_ascii_lowercase()
                .contains("content-type: text/plain; version=0.0.4"),
            "{headers}"
        );
        assert!(
            headers.contains(&format!("Content-Length: {}", body.len())),
            "{headers}"
        );
        if sample(&body, seen).is_some_and(|n| n >= 5.0) {
            break body;
        }
        assert!(Instant::now() < deadline, "no events counted:\n{body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    // Every line is a comment or a sample `name[{labels}] value`.
    for line in body.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (name, value) = line.rsplit_once(' ').unwrap();
        assert!(name.starts_with("tidewater_"), "{line}");
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    assert!(sample(&body, "tidewater_records_delivered_total").is_some_and(|n| n >= 5.0));
    assert!(sample(&body, "tidewater_last_acknowledged_lsn").is_some());
    assert!(body.contains("# TYPE tidewater_table_events_seen_total counter"));

    assert_eq!(http(&addr, "GET", "/other").0, "HTTP/1.1 404 Not Found");
    let (status, headers, _) = http(&addr, "POST", "/metrics");
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    assert!(headers.contains("Allow: GET, HEAD"), "{headers}");
    let (status, _, body) = http(&addr, "HEAD", "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.is_empty());

    running.signal("TERM");
    let done = running.finish(WAIT);
    assert!(done.status.success(), "{done:?}");
    assert!(
        done.stderr.contains("[metrics] stopped:"),
        "{}",
        done.stderr
    );
}

#[test]
fn the_decoder_examples_still_run() {
    let done = run("live_decode", &[], WAIT);
    assert!(done.status.success(), "{done:?}");
    assert!(done.stdout.contains("# change events"), "{}", done.stdout);
    assert!(
        done.stdout.contains("op=d table=public.orders"),
        "{}",
        done.stdout
    );

    // pgoutput_dump reads `<lsn> <xid> <hex>` lines: a Begin message.
    let mut child = std::process::Command::new(common::example("pgoutput_dump"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("0/16B3748 740 42{:016x}{:016x}{:08x}\n", 0x16B_3748, 0, 740).as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["type"], "Begin");
    assert_eq!(doc["final_lsn"], "0/16B3748");
    assert_eq!(doc["xid"], 740);
}
